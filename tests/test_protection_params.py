"""Protection with other age bounds and min_count = 5: the structure protected is the declared one.

A city whose age groups, youth limit and minimum count differ from the defaults is computed, protected and
audited; the relations applied are those the catalogue derives from its parameters. With the hard-coded
structure of old (minors = the first three age groups) the minors give a suppressed age group back.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import Catalogue, Relation, age_group_id, age_groups, build_catalogue
from quarterstats.disclosure import DisclosureConfig
from quarterstats.disclosure.indicators import SUPPRESSED, audit, protect_indicators
from quarterstats.indicators import compute_indicators

from test_catalogue_structure import DAY, OTHER_PARAMS, city_persons, districts_frame

CONFIG = DisclosureConfig(min_count=5)
#: District D: persons per age group of OTHER_PARAMS (16–17: 3, primary-suppressed with min_count 5;
#: 60–74: six aged 60–64 and one aged 65–74, so the old-age limit 65 cuts a person off the group).
D_AGES = {(0, 3): 6, (3, 6): 6, (6, 10): 6, (10, 16): 6, (16, 18): 3, (18, 21): 5, (21, 30): 7, (30, 50): 7,
          (50, 60): 7, (60, 65): 6, (65, 75): 1, (75, 95): 7}


def persons_with_small_d() -> pd.DataFrame:
    persons = city_persons(sizes=(900, 600, 300, sum(D_AGES.values())))
    d = persons.index[persons["district_id"] == "D"]
    persons.loc[d, "age"] = np.concatenate([np.arange(lo, hi)[np.arange(n) % (hi - lo)] for (lo, hi), n in D_AGES.items()]).astype("int16")
    return persons


@pytest.fixture(scope="module")
def table():
    return compute_indicators(persons_with_small_d(), districts_frame(), DAY, params=OTHER_PARAMS)


def _minor_groups(params) -> list[str]:
    return [age_group_id(lo, hi) for lo, hi in age_groups(params) if hi is not None and hi <= params.minor_age_limit]


def minors_attack(published: pd.DataFrame, truth: pd.DataFrame, params) -> list[tuple[str, str, float]]:
    """An intruder who knows the published age bounds: the minors minus the published age groups below
    the minor age limit are the suppressed minor groups; the residents minus all published age groups,
    minus that, the suppressed adult groups. Where one group is left, it is recovered. Returns the
    (district, group, value) recovered that equal the true count."""
    pub = published.pivot(index="district_id", columns="indicator", values="value")
    true = truth.pivot(index="district_id", columns="indicator", values="value")
    minor = _minor_groups(params)
    adult = [age_group_id(lo, hi) for lo, hi in age_groups(params) if age_group_id(lo, hi) not in minor]
    found = []
    for district, row in pub.iterrows():
        if np.isnan(row["minors"]) or np.isnan(row["pop"]):
            continue
        hidden_minor = [g for g in minor if np.isnan(row[g])]
        hidden_adult = [g for g in adult if np.isnan(row[g])]
        minor_sum = row["minors"] - row[minor].sum()  # NaN counts as 0 in the sums
        adult_sum = row["pop"] - row["minors"] - row[adult].sum()
        for hidden, value in ((hidden_minor, minor_sum), (hidden_adult, adult_sum)):
            if len(hidden) == 1 and value == true.loc[district, hidden[0]]:
                found.append((district, hidden[0], value))
    return found


def test_nothing_recoverable_and_no_small_count_with_other_bounds(table):
    catalogue = build_catalogue(OTHER_PARAMS)
    result = protect_indicators(table, CONFIG, catalogue=catalogue, params=OTHER_PARAMS)
    pub = result.published
    kinds = pub["indicator"].map(lambda i: catalogue[i].kind)
    counts = pd.concat([pub.loc[kinds == "count", "value"], pub.loc[kinds == "share", "numerator"],
                        pub.loc[kinds == "share", "denominator"]]).dropna()
    assert not ((counts >= 1) & (counts < CONFIG.min_count)).any()
    assert audit(result.counts, result.count_mask, CONFIG, relations=catalogue.relations) == []
    # the relations applied are the declared ones, the minors over the five groups under 18 among them
    assert [r.name for r in result.relations] == ["mh_status", "german_with_mh", "with_mh", "origin_regions",
                                                  "age_groups", "minor_age_groups"]
    assert result.relations == catalogue.relations[:6]
    assert result.relations[-1].parts == tuple(_minor_groups(OTHER_PARAMS))
    flags = pub.set_index(["district_id", "indicator"])["flag"]
    assert flags[("D", "age_16_17")] == SUPPRESSED
    assert minors_attack(pub, table, OTHER_PARAMS) == []


def test_the_old_hard_coded_minors_would_give_an_age_group_back(table):
    """With minors = the first three age groups (the structure once fixed in the code), the relation does
    not add up and is dropped: the minors and the residents then give a suppressed age group of D back."""
    catalogue = build_catalogue(OTHER_PARAMS)
    old = Catalogue(catalogue)
    old.params, old.cells, old.groups = catalogue.params, catalogue.cells, catalogue.groups
    first_three = tuple(age_group_id(lo, hi) for lo, hi in age_groups(OTHER_PARAMS)[:3])
    old.relations = tuple(Relation(r.name, r.total, first_three) if r.name == "minor_age_groups" else r
                          for r in catalogue.relations)
    result = protect_indicators(table, CONFIG, catalogue=old, params=OTHER_PARAMS)
    assert "minor_age_groups" not in [r.name for r in result.relations]
    # the audit of the structure it was given sees nothing, yet the intruder recovers a cell ...
    assert audit(result.counts, result.count_mask, CONFIG, relations=old.relations) == []
    leaked = minors_attack(result.published, table, OTHER_PARAMS)
    assert "D" in {d for d, _, _ in leaked}
    # ... as does the audit of the declared structure
    found = audit(result.counts, result.count_mask, CONFIG, relations=catalogue.relations)
    assert {(cell.row, cell.col) for _, cell in found} >= {(d, g) for d, g, _ in leaked}


def _old_age_attack(published: pd.DataFrame) -> dict[str, float]:
    """Residents, youth ratio U/W and old-age ratio O/W give O, the residents from 65; minus the published
    75+ group that is the 65–74-year-olds, a part of the published group 60–74."""
    pub = published.pivot(index="district_id", columns="indicator", values="value")
    out = {}
    for district, row in pub.iterrows():
        pop, youth, old = row["pop"], row["youth_ratio"], row["old_age_ratio"]
        if not np.isnan([pop, youth, old, row["age_75plus"]]).any():
            out[district] = round(pop / (1 + youth / 100 + old / 100) * old / 100) - row["age_75plus"]
    return out


def test_dependency_ratios_follow_the_cut_of_the_declared_age_groups(table):
    catalogue = build_catalogue(OTHER_PARAMS)
    result = protect_indicators(table, CONFIG, catalogue=catalogue, params=OTHER_PARAMS)
    flags = result.published.set_index(["district_id", "indicator"])["flag"]
    assert flags[("D", "youth_ratio")] == flags[("D", "old_age_ratio")] == SUPPRESSED
    assert "D" not in _old_age_attack(result.published)
    assert flags[("A", "old_age_ratio")] == ""
    # without what the ratios give back, D's single 65–74-year-old comes back
    blind = {k: dataclasses.replace(v, gives_back=()) for k, v in catalogue.items()}
    leaked = protect_indicators(table, CONFIG, catalogue=blind, params=OTHER_PARAMS).published
    assert _old_age_attack(leaked)["D"] == 1


def test_a_catalogue_of_other_parameters_is_refused(table):
    with pytest.raises(ValueError, match="other parameters"):
        protect_indicators(table, CONFIG, catalogue=build_catalogue(), params=OTHER_PARAMS)


def test_a_denominator_with_another_age_limit_does_not_give_the_infants_back(monkeypatch):
    """``moved_city_1y`` counts among the residents aged 1 and over: published beside the residents, its
    denominator gives the infants. Where they are 1 or 2 (district D has one), the denominator cell is
    suppressed, and the share with it."""
    import quarterstats.disclosure.indicators as protection

    persons = city_persons()
    in_d = persons.index[persons["district_id"] == "D"]
    ages = persons.loc[in_d, "age"]
    persons.loc[in_d[ages == 0], "age"] = 1
    persons.loc[in_d[ages > 60][:1], "age"] = 0  # D has one infant; its age group 0–5 stays published
    table = compute_indicators(persons, districts_frame(), DAY)
    truth = table.set_index(["district_id", "indicator"])
    assert truth.loc[("D", "pop"), "value"] - truth.loc[("D", "moved_city_1y"), "denominator"] == 1

    def infants_recovered(published: pd.DataFrame) -> list[str]:
        pub = published.set_index(["district_id", "indicator"])
        return [d for d in "ABCD" if pub.loc[(d, "pop"), "value"] - pub.loc[(d, "moved_city_1y"), "denominator"] == 1]

    result = protect_indicators(table, DisclosureConfig(), params=build_catalogue().params)
    flags = result.published.set_index(["district_id", "indicator"])["flag"]
    assert flags[("D", "moved_city_1y")] == SUPPRESSED and flags[("D", "age_00_05")] == ""
    assert infants_recovered(result.published) == []
    monkeypatch.setattr(protection, "age_cut_parts", lambda cells, catalogue: {})
    assert infants_recovered(protect_indicators(table, DisclosureConfig()).published) == ["D"]
