"""Population and age indicators on a hand-made persons table (values worked out in the comments)."""

from __future__ import annotations

import math

import pytest

from quarterstats.catalogue import IndicatorParameters, build_catalogue
from quarterstats.indicators import compute_indicators

from test_indicators_support import DISTRICTS, REF, approx, frame, person, values

NAN = math.nan


def persons():
    # District 01: ages 0 m, 5 w, 17 m, 20 w, 64 m, 70 w  (6 persons, 3 men, 3 women)
    # District 02: ages 19 m, 30 w, 65 d, 85 w            (4 persons, 1 man, 2 women, 1 divers: counted as a man)
    # District 10: nobody.
    return frame([
        person("a1", "01", 0, sex="m"), person("a2", "01", 5), person("a3", "01", 17, sex="m"),
        person("a4", "01", 20), person("a5", "01", 64, sex="m"), person("a6", "01", 70),
        person("b1", "02", 19, sex="m"), person("b2", "02", 30), person("b3", "02", 65, sex="d"),
        person("b4", "02", 85),
    ])


@pytest.fixture(scope="module")
def table():
    return compute_indicators(persons(), DISTRICTS, REF)


def test_population_and_density(table):
    assert values(table, "pop") == {"01": 6, "02": 4, "10": 0, "city": 10}
    # areas 2.0, 0.5, 4.0 km² -> 6/2, 4/0.5, 0/4; city 10 / 6.5
    assert values(table, "density") == approx({"01": 3.0, "02": 8.0, "10": 0.0, "city": 10 / 6.5})
    assert values(table, "density", "denominator") == approx({"01": 2.0, "02": 0.5, "10": 4.0, "city": 6.5})


def test_sex_ratio_counts_men_per_100_women(table):
    # 01: 3 m / 3 w; 02: 1 m, 2 w and b3 with sex d, whose statistical sex is m (the hash of "b3" is
    # even) -> 2 / 2; 10: no women -> NaN; city 5 / 5. Nobody is left out: men + women = pop.
    import pandas as pd

    from quarterstats.statistical_sex import is_female

    assert is_female(pd.Series(["b3"]), pd.Series(["d"])).tolist() == [False]
    assert values(table, "sex_ratio") == approx({"01": 100.0, "02": 100.0, "10": NAN, "city": 100.0})


def test_age_groups(table):
    assert values(table, "age_00_05") == {"01": 2, "02": 0, "10": 0, "city": 2}  # 0 and 5
    assert values(table, "age_15_17") == {"01": 1, "02": 0, "10": 0, "city": 1}  # 17
    assert values(table, "age_18_24") == {"01": 1, "02": 1, "10": 0, "city": 2}  # 20; 19
    assert values(table, "age_45_64") == {"01": 1, "02": 0, "10": 0, "city": 1}  # 64
    assert values(table, "age_65_79") == {"01": 1, "02": 1, "10": 0, "city": 2}  # 70; 65
    assert values(table, "age_80plus") == {"01": 0, "02": 1, "10": 0, "city": 1}  # 85
    assert values(table, "age_00_05_share") == approx({"01": 100 * 2 / 6, "02": 0.0, "10": NAN, "city": 20.0})
    assert values(table, "age_80plus_share", "denominator") == {"01": 6, "02": 4, "10": 0, "city": 10}
    shares = table[table["indicator"].str.match(r"^age_\d\d(_\d\d|plus)_share$") & (table["district_id"] == "01")]
    assert shares["value"].sum() == pytest.approx(100.0)


def test_minors_young_adults_and_mean_age(table):
    assert values(table, "minors_share") == approx({"01": 50.0, "02": 0.0, "10": NAN, "city": 30.0})
    # 18-29 inclusive: 20 in 01, 19 in 02 (30 is outside)
    assert values(table, "young_adults") == {"01": 1, "02": 1, "10": 0, "city": 2}
    # (0+5+17+20+64+70)/6, (19+30+65+85)/4, 375/10
    assert values(table, "mean_age") == approx({"01": 176 / 6, "02": 199 / 4, "10": NAN, "city": 37.5})
    assert values(table, "mean_age", "numerator") == {"01": 176, "02": 199, "10": 0, "city": 375}


def test_youth_and_old_age_ratio(table):
    # under 20 / 20-64: 01: {0,5,17} / {20,64} = 150; 02: {19} / {30} = 100; city 4 / 3
    assert values(table, "youth_ratio") == approx({"01": 150.0, "02": 100.0, "10": NAN, "city": 400 / 3})
    # 65+ / 20-64: 01: {70} / 2 = 50; 02: {65,85} / 1 = 200; city 3 / 3
    assert values(table, "old_age_ratio") == approx({"01": 50.0, "02": 200.0, "10": NAN, "city": 100.0})
    assert values(table, "old_age_ratio", "denominator") == {"01": 2, "02": 1, "10": 0, "city": 3}


def test_age_bounds_are_parameters():
    params = IndicatorParameters(age_group_lower_bounds=(0, 18, 65), youth_age_limit=18, old_age_limit=60)
    table = compute_indicators(persons(), DISTRICTS, REF, params=params)
    assert values(table, "age_00_17") == {"01": 3, "02": 0, "10": 0, "city": 3}
    assert values(table, "age_18_64") == {"01": 2, "02": 2, "10": 0, "city": 4}
    assert values(table, "age_65plus") == {"01": 1, "02": 2, "10": 0, "city": 3}
    assert "age_00_05" not in set(table["indicator"])
    assert set(table["indicator"]) <= set(build_catalogue(params))
    # old age now 60+: 01 {64,70} / {20} = 200
    assert values(table, "old_age_ratio")["01"] == pytest.approx(200.0)
    label = build_catalogue(params)["old_age_ratio"].definition_de
    assert "ab 60 Jahren" in label and "18 bis unter 60" in label


def test_unknown_area_makes_city_density_nan():
    districts = DISTRICTS.assign(area_km2=[0.5, None, 2.0])
    table = compute_indicators(persons(), districts, REF)
    assert values(table, "density") == approx({"01": 3.0, "02": 8.0, "10": NAN, "city": NAN})
