"""Shape of the long table: catalogue ids, deterministic order, empty districts, city total, errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import CATALOGUE, IndicatorParameters, build_catalogue
from quarterstats.indicators import LONG_COLUMNS, compute_indicators, natural_key, sort_district_ids

from test_indicators_support import DISTRICTS, REF, frame, mh, person, values


def persons():
    return frame([
        person("a1", "01", 35, household_id="H1", **mh("foreign", "TUR", "turkey", eg_status="immigrant")),
        person("a2", "01", 8, household_id="H1", mother_id="a1", moved_in_city=date(2020, 1, 1),
               **mh("german_familial_mh", "TUR", "turkey", eg_status="one_sided")),
        person("a3", "01", 70, household_id="H2", moved_in_address=date(2024, 6, 1)),
        person("b1", "02", 29, household_id="H3", sex="m", eg_status="not_determinable"),
        person("b2", "02", 81),
    ])


def previous():
    return frame([person("a1", "01", 34), person("b1", "01", 28), person("x", "02", 50)])


AUX = pd.DataFrame({"district_id": ["01", "02", "10"], "sgb2_recipients_under65": [1, 0, 0],
                    "unemployed": [1, 0, 0], "children_under15_in_sgb2": [1, 0, 0]})


@pytest.fixture(scope="module")
def table():
    return compute_indicators(persons(), DISTRICTS, REF, previous_persons=previous(), auxiliary=AUX)


def test_columns_and_dtypes(table):
    assert list(table.columns) == LONG_COLUMNS
    for col in ("value", "numerator", "denominator"):
        assert table[col].dtype == np.float64
    assert pd.api.types.is_string_dtype(table["district_id"].dtype)


def test_every_emitted_id_is_in_the_catalogue(table):
    assert set(table["indicator"]) <= set(CATALOGUE)
    # all families except segregation are present with a previous date and auxiliary figures
    families = {CATALOGUE[i].family for i in table["indicator"]}
    assert families == {"population", "age", "migration", "households", "mobility", "milieu"}
    expected = {i for i, ind in CATALOGUE.items() if ind.family != "segregation"}
    assert set(table["indicator"]) == expected


def test_rectangular_and_ordered(table):
    ids = [i for i in CATALOGUE if i in set(table["indicator"])]
    areas = ["01", "02", "10", "city"]  # districts given as 02, 10, 01: natural order, city last
    assert table["district_id"].tolist() == [a for a in areas for _ in ids]
    assert table["indicator"].tolist() == ids * len(areas)
    assert not table.duplicated(["district_id", "indicator"]).any()


def test_empty_district_has_zero_counts_and_nan_shares(table):
    empty = table[table["district_id"] == "10"].set_index("indicator")
    for ind_id, row in empty.iterrows():
        kind = CATALOGUE[ind_id].kind
        if kind == "count":
            assert row["value"] == 0, ind_id
        elif ind_id == "density":
            assert row["value"] == 0  # 0 residents on 4 km²
        elif ind_id == "milieu_excluded":
            assert row["value"] == 1
        else:
            assert np.isnan(row["value"]), ind_id


def test_city_is_computed_from_persons_not_from_districts():
    df = persons()
    df.loc[df["person_id"] == "b2", "district_id"] = "99"  # outside every listed district
    table = compute_indicators(df, DISTRICTS, REF)
    assert values(table, "pop") == {"01": 3, "02": 1, "10": 0, "city": 5}
    assert values(table, "age_80plus")["city"] == 1
    # the city mean age is over all 5 persons, not a mean of district means
    assert values(table, "mean_age")["city"] == pytest.approx((35 + 8 + 70 + 29 + 81) / 5)


def test_deterministic_and_independent_of_row_order(table):
    again = compute_indicators(persons(), DISTRICTS, REF, previous_persons=previous(), auxiliary=AUX)
    pd.testing.assert_frame_equal(table, again)
    shuffled = persons().sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = compute_indicators(shuffled, DISTRICTS.iloc[::-1], REF,
                               previous_persons=previous().iloc[::-1], auxiliary=AUX.iloc[::-1])
    pd.testing.assert_frame_equal(table, other)


def test_custom_parameters_emit_ids_of_their_catalogue():
    params = IndicatorParameters(age_group_lower_bounds=(0, 3, 10, 65), top_countries_n=2)
    table = compute_indicators(persons(), DISTRICTS, REF, params=params)
    catalogue = build_catalogue(params)
    assert set(table["indicator"]) <= set(catalogue)
    assert {"age_00_02", "age_03_09", "age_10_64", "age_65plus", "top_country_2"} <= set(table["indicator"])
    assert "top_country_3" not in set(table["indicator"])


def test_natural_order_of_district_ids():
    assert sort_district_ids(["10", "2", "1", "city", "1a"]) == ["1", "1a", "2", "10", "city"]
    assert sorted(["B2", "B10", "A3"], key=natural_key) == ["A3", "B2", "B10"]
    assert sort_district_ids(["18", "01", "09", "10"]) == ["01", "09", "10", "18"]


def test_input_errors_are_clear():
    with pytest.raises(ValueError, match="missing column.*mh_status"):
        compute_indicators(persons().drop(columns="mh_status"), DISTRICTS, REF)
    with pytest.raises(ValueError, match="duplicate district_id"):
        compute_indicators(persons(), pd.concat([DISTRICTS, DISTRICTS.iloc[:1]]), REF)
    with pytest.raises(ValueError, match="reserved"):
        compute_indicators(persons(), pd.DataFrame({"district_id": ["city"], "area_km2": [1.0]}), REF)
    with pytest.raises(ValueError, match="previous_persons"):
        compute_indicators(persons(), DISTRICTS, REF, previous_persons=pd.DataFrame({"person_id": ["a"]}))


def random_persons(n: int, seed: int) -> pd.DataFrame:
    """A random but valid persons table (households of ~2, 18 districts, ~18 % minors with links)."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("p", np.arange(n).astype(str)).astype(object)
    hh = rng.integers(0, n // 2, n)
    hh_district = rng.integers(1, 19, n // 2)
    age = rng.integers(0, 100, n)
    first = np.full(n // 2, -1)
    first[hh[::-1]] = np.arange(n)[::-1]
    mother = ids[first[hh]].copy()
    mother[age >= 18] = None
    status = rng.choice(["foreign", "german_personal_mh", "german_familial_mh", "german_no_mh"], n,
                        p=[0.17, 0.12, 0.07, 0.64])
    has_mh = status != "german_no_mh"
    country = rng.choice(np.array(["TUR", "SYR", "UKR", "POL", "ROU", "XXX"], dtype=object), n)
    country[~has_mh] = None
    region = rng.choice(np.array(["eu", "turkey", "mena", "other_europe"], dtype=object), n)
    region[~has_mh] = None
    days = pd.to_datetime(rng.integers(0, 20000, n), unit="D")
    city = pd.Series(days.date, dtype=object).where(rng.random(n) < 0.7, None)
    hh_ids = np.char.add("h", hh.astype(str)).astype(object)
    hh_ids[rng.random(n) < 0.015] = None
    return pd.DataFrame({
        "person_id": pd.array(ids, dtype="str"), "household_id": pd.array(hh_ids, dtype="str"),
        "age": age.astype(np.int16), "sex": pd.array(rng.choice(["m", "w"], n), dtype="str"),
        "moved_in_city": city, "moved_in_address": pd.Series(days.date, dtype=object),
        "mother_id": pd.array(mother, dtype="str"), "father_id": pd.array(np.full(n, None, dtype=object), dtype="str"),
        "district_id": pd.array(np.char.zfill(hh_district[hh].astype(str), 2), dtype="str"),
        "mh_status": pd.array(status, dtype="str"), "has_mh": has_mh, "mh_features": "",
        "bezugsland": pd.array(country, dtype="str"), "origin_region": pd.array(region, dtype="str"),
        "eg_status": pd.array(rng.choice(["immigrant", "none", "not_determinable"], n), dtype="str"),
    })


def test_random_table_consistency():
    """On 20,000 random persons: shares equal numerator/denominator, district counts add up to the city."""
    df = random_persons(20_000, seed=7)
    districts = pd.DataFrame({"district_id": [f"{i:02d}" for i in range(1, 20)], "area_km2": 1.0})
    table = compute_indicators(df, districts, REF, previous_persons=df.sample(frac=0.9, random_state=1))
    shares = table[table["indicator"].str.endswith("_share")]
    ok = shares["denominator"] > 0
    np.testing.assert_allclose(shares.loc[ok, "value"],
                               100 * shares.loc[ok, "numerator"] / shares.loc[ok, "denominator"])
    for ind in ("pop", "foreign", "with_mh", "households", "births", "out_movers", "age_80plus"):
        v = values(table, ind)
        assert sum(x for k, x in v.items() if k != "city") == v["city"], ind
    assert values(table, "pop")["19"] == 0
