"""Migration indicators on a hand-made persons table (values worked out in the comments)."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

from quarterstats.indicators import compute_indicators, top_countries

from test_indicators_support import DISTRICTS, REF, approx, frame, mh, person, values

NAN = math.nan


def rows():
    return [
        # district 01: 8 persons, minors a2 (10), a4 (8), a5 (5), a7 (12)
        person("a1", "01", 40, eg_status="immigrant", **mh("foreign", "TUR", "turkey")),
        person("a2", "01", 10, eg_status="immigrant", **mh("foreign", "TUR", "turkey")),
        person("a3", "01", 35, eg_status="immigrant", **mh("german_personal_mh", "SYR", "mena")),
        person("a4", "01", 8, eg_status="one_sided", **mh("german_familial_mh", "SYR", "mena")),
        person("a5", "01", 5, eg_status="descendant", **mh("german_familial_mh", "POL", "eu")),
        person("a6", "01", 50, eg_status="not_determinable"),
        person("a7", "01", 12, eg_status="none"),
        person("a8", "01", 30, eg_status="immigrant", **mh("foreign", "XXX", "stateless_unknown")),
        # district 02: 4 persons, minor b2 (3)
        person("b1", "02", 20, eg_status="immigrant", **mh("foreign", "UKR", "other_europe")),
        person("b2", "02", 3, eg_status="descendant", **mh("german_familial_mh", "UKR", "other_europe")),
        person("b3", "02", 70, eg_status="not_determinable"),
        person("b4", "02", 45, eg_status="immigrant", **mh("german_personal_mh", "POL", "eu")),
    ]


@pytest.fixture(scope="module")
def table():
    return compute_indicators(frame(rows()), DISTRICTS, REF)


def test_mh_status_counts_and_shares(table):
    # 01: foreign a1 a2 a8 = 3/8; personal a3 = 1/8; familial a4 a5 = 2/8; no MH a6 a7 = 2/8
    # 02: foreign b1, personal b4, familial b2, no MH b3 -> 1/4 each; city 4, 2, 3, 3 of 12
    assert values(table, "foreign") == {"01": 3, "02": 1, "10": 0, "city": 4}
    assert values(table, "foreign_share") == approx({"01": 37.5, "02": 25.0, "10": NAN, "city": 100 / 3})
    assert values(table, "german_personal_mh_share") == approx({"01": 12.5, "02": 25.0, "10": NAN, "city": 50 / 3})
    assert values(table, "german_familial_mh") == {"01": 2, "02": 1, "10": 0, "city": 3}
    assert values(table, "german_with_mh_share") == approx({"01": 37.5, "02": 50.0, "10": NAN, "city": 500 / 12})
    assert values(table, "german_no_mh") == {"01": 2, "02": 1, "10": 0, "city": 3}
    assert values(table, "with_mh_share") == approx({"01": 75.0, "02": 75.0, "10": NAN, "city": 75.0})
    assert values(table, "with_mh_share", "numerator") == {"01": 6, "02": 3, "10": 0, "city": 9}


def test_mh_among_minors(table):
    # minors with MH: 01 a2 a4 a5 of a2 a4 a5 a7 = 3/4; 02 b2 of b2 = 1/1; city 4/5
    assert values(table, "with_mh_minors") == {"01": 3, "02": 1, "10": 0, "city": 4}
    assert values(table, "with_mh_minors_share") == approx({"01": 75.0, "02": 100.0, "10": NAN, "city": 80.0})
    assert values(table, "with_mh_minors_share", "denominator") == {"01": 4, "02": 1, "10": 0, "city": 5}


def test_origin_regions(table):
    assert values(table, "origin_region_turkey") == {"01": 2, "02": 0, "10": 0, "city": 2}
    assert values(table, "origin_region_mena_share") == approx({"01": 25.0, "02": 0.0, "10": NAN, "city": 100 / 6})
    assert values(table, "origin_region_eu") == {"01": 1, "02": 1, "10": 0, "city": 2}
    assert values(table, "origin_region_other_europe_share") == approx(
        {"01": 0.0, "02": 50.0, "10": NAN, "city": 100 / 6})
    assert values(table, "origin_region_stateless_unknown") == {"01": 1, "02": 0, "10": 0, "city": 1}
    assert values(table, "origin_region_oceania") == {"01": 0, "02": 0, "10": 0, "city": 0}


def test_top_country_counts(table):
    # 01 (XXX left out): SYR 2, TUR 2 (tie -> alphabetical), POL 1; 02: UKR 2, POL 1;
    # city: POL, SYR, TUR, UKR 2 each, no 5th country -> 0
    assert values(table, "top_country_1") == {"01": 2, "02": 2, "10": 0, "city": 2}
    assert values(table, "top_country_3") == {"01": 1, "02": 0, "10": 0, "city": 2}
    assert values(table, "top_country_5") == {"01": 0, "02": 0, "10": 0, "city": 0}


def test_top_countries_table():
    top = top_countries(frame(rows()), n=5, districts=DISTRICTS)
    assert list(top.columns) == ["district_id", "rank", "country", "count"]
    got = [tuple(r) for r in top.itertuples(index=False)]
    assert got == [
        ("01", 1, "SYR", 2), ("01", 2, "TUR", 2), ("01", 3, "POL", 1),
        ("02", 1, "UKR", 2), ("02", 2, "POL", 1),
        ("city", 1, "POL", 2), ("city", 2, "SYR", 2), ("city", 3, "TUR", 2), ("city", 4, "UKR", 2),
    ]
    two = top_countries(frame(rows()), n=2)  # districts taken from the persons
    assert two[two["district_id"] == "city"]["country"].tolist() == ["POL", "SYR"]
    assert set(two["district_id"]) == {"01", "02", "city"}


def test_origin_diversity(table):
    # 01: p = (SYR .4, TUR .4, POL .2): H = -(2·.4 ln .4 + .2 ln .2), Simpson 1 - (.16+.16+.04)
    # 02: p = (2/3, 1/3); city: 4 countries, 2 each: H = ln 4, Simpson 0.75
    h01 = -(2 * 0.4 * math.log(0.4) + 0.2 * math.log(0.2))
    h02 = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert values(table, "origin_diversity_shannon") == approx({"01": h01, "02": h02, "10": NAN, "city": math.log(4)})
    assert values(table, "origin_diversity_simpson") == approx({"01": 0.64, "02": 4 / 9, "10": NAN, "city": 0.75})
    assert values(table, "origin_diversity_simpson", "denominator") == {"01": 5, "02": 3, "10": 0, "city": 8}


def test_einwanderungsgeschichte(table):
    # immigrants: 01 a1 a2 a3 a8 = 4/8, 02 b1 b4 = 2/4; descendants among minors: 01 a5 = 1/4, 02 b2 = 1/1
    assert values(table, "eg_immigrant_share") == approx({"01": 50.0, "02": 50.0, "10": NAN, "city": 50.0})
    assert values(table, "eg_descendant_minors_share") == approx({"01": 25.0, "02": 100.0, "10": NAN, "city": 40.0})
    assert values(table, "eg_one_sided_minors") == {"01": 1, "02": 0, "10": 0, "city": 1}
    assert values(table, "eg_not_determinable") == {"01": 1, "02": 1, "10": 0, "city": 2}
    assert values(table, "eg_not_determinable_share") == approx({"01": 12.5, "02": 25.0, "10": NAN, "city": 100 / 6})


def test_categorical_columns_give_the_same_table(table):
    """quarterstats.migration may return Categoricals (with categories in a non-alphabetical order)."""
    df = frame(rows())
    for col in ("mh_status", "eg_status", "origin_region"):
        df[col] = df[col].astype("category")
    df["bezugsland"] = pd.Categorical(df["bezugsland"], categories=["UKR", "TUR", "SYR", "POL", "XXX"])
    pd.testing.assert_frame_equal(compute_indicators(df, DISTRICTS, REF), table)


def test_unknown_region_code_warns_and_is_not_published():
    df = frame(rows()[:2] + [person("z", "01", 30, **mh("foreign", "ATA", "antarctica"))])
    with pytest.warns(UserWarning, match="antarctica"):
        table = compute_indicators(df, DISTRICTS, REF)
    assert not table["indicator"].str.contains("antarctica").any()
    assert values(table, "with_mh")["01"] == 3


def test_no_warning_for_known_regions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compute_indicators(frame(rows()), DISTRICTS, REF)


def test_with_derived_migration_columns():
    """End to end with quarterstats.migration on a tiny register (skipped if that module is absent)."""
    migration = pytest.importorskip("quarterstats.migration")
    register = pd.DataFrame([
        dict(person_id="m", household_id="h", age=36, sex="w", nationality_1="ITA", nationality_2=None,
             german_acquisition=None, birth_country="ITA", immigration_year=2005, origin_country="ITA",
             moved_in_city=None, moved_in_address=None, mother_id=None, father_id=None, marital_status="ledig"),
        dict(person_id="k", household_id="h", age=7, sex="m", nationality_1="DEU", nationality_2=None,
             german_acquisition="birth", birth_country="DEU", immigration_year=None, origin_country=None,
             moved_in_city=None, moved_in_address=None, mother_id="m", father_id=None, marital_status="ledig"),
        dict(person_id="g", household_id="g", age=50, sex="m", nationality_1="DEU", nationality_2=None,
             german_acquisition="birth", birth_country="DEU", immigration_year=None, origin_country=None,
             moved_in_city=None, moved_in_address=None, mother_id=None, father_id=None, marital_status="ledig"),
    ])
    derived = migration.derive_migration(register, REF)
    persons = pd.concat([register, derived], axis=1).assign(district_id="01")
    table = compute_indicators(persons, DISTRICTS, REF)
    # mother foreign (ITA), child familial MH via the mother in the same household, 50-year-old no MH
    assert values(table, "foreign")["01"] == 1
    assert values(table, "german_familial_mh")["01"] == 1
    assert values(table, "with_mh_minors_share")["01"] == pytest.approx(100.0)
    assert values(table, "origin_region_eu")["01"] == 2
    assert values(table, "top_country_1")["01"] == 2
