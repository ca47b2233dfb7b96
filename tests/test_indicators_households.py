"""Household indicators on hand-made households (values worked out in the comments).

District 01:
  H1  a1 (35, MH) + a2 (8, mother a1) + a3 (3, mother a1)      single parent: one adult, linked
  H2  b1 (40) + b2 (38) + b3 (10, mother b2, father b1)         couple with a child
  H3  c1 (70)                                                   senior living alone
  H4  d1 (45) + d2 (12, mother e1 who lives in H5)               one adult, but not the linked parent
  H5  e1 (44)                                                   single person
  --  f1 (85, no household)                                     institution
  h3 (32) is a member of H8 registered in district 01
District 02:
  H6  g1 (67, MH) + g2 (70)                                     senior couple
  H7  k1 (66, MH)                                               senior living alone
  H8  h1 (30) + h2 (5, father h1) (+ h3 in 01)                  counted in 02 (2 of its 3 members)
"""

from __future__ import annotations

import math

import pytest

from quarterstats.indicators import compute_indicators

from test_indicators_support import DISTRICTS, REF, approx, frame, person, values

NAN = math.nan


def rows():
    return [
        person("a1", "01", 35, household_id="H1", has_mh=True, mh_status="foreign", bezugsland="TUR",
               origin_region="turkey"),
        person("a2", "01", 8, household_id="H1", mother_id="a1"),
        person("a3", "01", 3, household_id="H1", mother_id="a1"),
        person("b1", "01", 40, household_id="H2"),
        person("b2", "01", 38, household_id="H2"),
        person("b3", "01", 10, household_id="H2", mother_id="b2", father_id="b1"),
        person("c1", "01", 70, household_id="H3"),
        person("d1", "01", 45, household_id="H4"),
        person("d2", "01", 12, household_id="H4", mother_id="e1"),
        person("e1", "01", 44, household_id="H5"),
        person("f1", "01", 85),
        person("h3", "01", 32, household_id="H8"),
        person("g1", "02", 67, household_id="H6", has_mh=True, mh_status="foreign", bezugsland="ITA",
               origin_region="eu"),
        person("g2", "02", 70, household_id="H6"),
        person("k1", "02", 66, household_id="H7", has_mh=True, mh_status="foreign", bezugsland="ITA",
               origin_region="eu"),
        person("h1", "02", 30, household_id="H8"),
        person("h2", "02", 5, household_id="H8", father_id="h1"),
    ]


@pytest.fixture(scope="module")
def table():
    return compute_indicators(frame(rows()), DISTRICTS, REF)


def test_households_and_mean_size(table):
    # 01: H1..H5 with 3+3+1+2+1 = 10 members; 02: H6, H7, H8 with 2+1+3 = 6 (h3 counts with H8 in 02)
    assert values(table, "households") == {"01": 5, "02": 3, "10": 0, "city": 8}
    assert values(table, "household_size_mean") == approx({"01": 2.0, "02": 2.0, "10": NAN, "city": 2.0})
    assert values(table, "household_size_mean", "numerator") == {"01": 10, "02": 6, "10": 0, "city": 16}
    assert values(table, "persons_in_institutions") == {"01": 1, "02": 0, "10": 0, "city": 1}


def test_single_person_households(table):
    # 01: H3, H5 of 5; 02: H7 of 3; city 3 of 8
    assert values(table, "single_person_households_share") == approx(
        {"01": 40.0, "02": 100 / 3, "10": NAN, "city": 37.5})


def test_households_with_minors(table):
    # 01: H1, H2, H4 of 5; 02: H8 of 3; city 4 of 8
    assert values(table, "households_with_minors") == {"01": 3, "02": 1, "10": 0, "city": 4}
    assert values(table, "households_with_minors_share") == approx({"01": 60.0, "02": 100 / 3, "10": NAN, "city": 50.0})


def test_single_parent_households(table):
    # only H1: H2 and H8 have two adults, in H4 the one adult is not the linked parent
    assert values(table, "single_parent_households") == {"01": 1, "02": 0, "10": 0, "city": 1}
    assert values(table, "single_parent_households_share") == approx(
        {"01": 100 / 3, "02": 0.0, "10": NAN, "city": 25.0})
    assert values(table, "single_parent_households_share", "denominator") == {"01": 3, "02": 1, "10": 0, "city": 4}


def test_minors_with_a_single_parent(table):
    # minors in households: 01 a2 a3 b3 d2, 02 h2; with a single parent: a2, a3
    assert values(table, "minors_single_parent") == {"01": 2, "02": 0, "10": 0, "city": 2}
    assert values(table, "minors_single_parent_share") == approx({"01": 50.0, "02": 0.0, "10": NAN, "city": 40.0})


def test_seniors_living_alone(table):
    # 65+ in households: 01 c1 (alone; f1 is in an institution), 02 g1 g2 k1 (k1 alone)
    assert values(table, "seniors_alone_share") == approx({"01": 100.0, "02": 100 / 3, "10": NAN, "city": 50.0})
    assert values(table, "seniors_alone_share", "denominator") == {"01": 1, "02": 3, "10": 0, "city": 4}


def test_households_with_mh(table):
    # 01: H1; 02: H6, H7
    assert values(table, "households_with_mh_share") == approx({"01": 20.0, "02": 200 / 3, "10": NAN, "city": 37.5})


def test_single_parent_rule_edge_cases():
    df = frame([
        # mother with an adult son and a minor: two adults -> not a single-parent household (documented)
        person("m1", "01", 45, household_id="S1"), person("s1", "01", 19, household_id="S1"),
        person("s2", "01", 9, household_id="S1", mother_id="m1"),
        # father linked, link of the second parent points to a person not in the extract
        person("f1", "01", 50, household_id="S2"),
        person("s3", "01", 11, household_id="S2", father_id="f1", mother_id="not-registered"),
        # the only adult is a grandparent without a link -> not a single parent
        person("g1", "01", 68, household_id="S3"), person("s4", "01", 6, household_id="S3"),
        # teenage mother (16) with a baby alone: no adult -> not counted
        person("t1", "02", 16, household_id="S4"), person("t2", "02", 0, household_id="S4", mother_id="t1"),
    ])
    table = compute_indicators(df, DISTRICTS, REF)
    assert values(table, "single_parent_households") == {"01": 1, "02": 0, "10": 0, "city": 1}  # only S2
    assert values(table, "minors_single_parent") == {"01": 1, "02": 0, "10": 0, "city": 1}  # s3


def test_no_households_at_all():
    df = frame([person("x", "01", 30), person("y", "02", 80)])
    table = compute_indicators(df, DISTRICTS, REF)
    assert values(table, "households") == {"01": 0, "02": 0, "10": 0, "city": 0}
    assert values(table, "household_size_mean") == approx({"01": NAN, "02": NAN, "10": NAN, "city": NAN})
    assert values(table, "persons_in_institutions") == {"01": 1, "02": 1, "10": 0, "city": 2}


def test_parent_rows_carried_from_the_ingest_give_the_same_table(table, monkeypatch):
    """A persons table with ``mother_row``/``father_row`` (as the pipeline writes it) needs no id lookup
    for the parent links and gives the same indicators; rows that do not fit are ignored."""
    import pandas as pd

    from quarterstats.links import PersonLinks

    persons = frame(rows())
    links = PersonLinks.of(persons)
    carried = persons.assign(mother_row=links.mother_row, father_row=links.father_row)
    pd.testing.assert_frame_equal(compute_indicators(carried, DISTRICTS, REF), table)
    wrong = carried.assign(mother_row=carried["mother_row"].where(carried["mother_row"] < 0, 0))
    pd.testing.assert_frame_equal(compute_indicators(wrong, DISTRICTS, REF), table)

    from quarterstats.catalogue import IndicatorParameters
    from quarterstats.indicators import common

    expected = common.PersonFrame(persons, common.DistrictCoder.from_districts(DISTRICTS), REF,
                                  IndicatorParameters()).links
    frame_carried = common.PersonFrame(carried, common.DistrictCoder.from_districts(DISTRICTS), REF,
                                       IndicatorParameters())

    def no_lookup(*args, **kwargs):
        raise AssertionError("parent links looked up although carried")

    monkeypatch.setattr(common, "lookup", no_lookup)
    assert {k: v.tolist() for k, v in frame_carried.links.items()} == {k: v.tolist() for k, v in expected.items()}


def test_household_ids_as_a_categorical_with_unused_ids_give_the_same_table(table):
    """As the pipeline reads them: household ids as a Categorical whose categories include households
    nobody here belongs to (members all outside the city or quarantined) and are not in row order.
    Those are not households: every household indicator is as with plain text ids."""
    import pandas as pd

    persons = frame(rows())
    ids = persons["household_id"].astype(object)
    unused = ["H0-gone", "H9-gone", "Hx-quarantined"]
    categories = pd.Index(sorted(set(ids.dropna()) | set(unused), reverse=True), dtype="str")
    categorical = persons.assign(household_id=pd.Categorical(ids, categories=categories))
    assert set(unused) <= set(categorical["household_id"].cat.categories)
    pd.testing.assert_frame_equal(compute_indicators(categorical, DISTRICTS, REF), table)


def test_unused_household_ids_when_no_household_spans_two_districts():
    import pandas as pd

    persons = frame([person("x", "01", 30, household_id="H1"), person("y", "02", 80, household_id="H2")])
    ids = persons["household_id"].astype(object)
    persons["household_id"] = pd.Categorical(ids, categories=pd.Index(["H0", "H1", "H2"], dtype="str"))
    table = compute_indicators(persons, DISTRICTS, REF)
    assert values(table, "households") == {"01": 1, "02": 1, "10": 0, "city": 2}
