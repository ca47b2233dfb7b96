"""Segregation family in the pipeline's tables: hand-computed D, LQ and the city table's shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import grid_districts
from quarterstats.catalogue import CATALOGUE
from quarterstats.indicators.segregation import LISA_CODES, group_counts, segregation_indicators


def persons_frame(spec: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """spec: district -> (residents, foreign); the foreign are Turkish nationals, the rest Germans without MH."""
    rows = []
    for district, (total, foreign) in spec.items():
        for k in range(total):
            is_foreign = k < foreign
            rows.append(dict(
                person_id=f"{district}{k}", district_id=district,
                mh_status="foreign" if is_foreign else "german_no_mh", has_mh=is_foreign,
                origin_region="turkey" if is_foreign else None,
            ))
    return pd.DataFrame(rows)


def test_hand_computed_dissimilarity_and_location_quotients():
    persons = persons_frame({"A": (10, 8), "B": (10, 2), "C": (10, 2), "D": (10, 0)})
    long, city = segregation_indicators(persons, grid_districts(), permutations=99)
    values = city.set_index(["index", "group"])["value"]
    # P = 12/40 = 0.3; D = Σ t_i |p_i − P| / (2 T P (1 − P)) = (5 + 1 + 1 + 3) / 16.8
    assert values[("seg_dissimilarity", "foreign")] == pytest.approx(100 * 10 / 16.8)
    # xPx = Σ (x_i/X)(x_i/t_i) = (8/12)(0.8) + 2 (2/12)(0.2) = 0.6
    assert values[("seg_isolation", "foreign")] == pytest.approx(0.6)
    assert values[("seg_exposure", "foreign")] == pytest.approx(0.4)
    # foreign, with MH and region Turkey are the same persons here
    assert values[("seg_dissimilarity", "region_turkey")] == pytest.approx(values[("seg_dissimilarity", "with_mh")])
    lq = long[long["indicator"] == "location_quotient_foreign"].set_index("district_id")
    assert lq["value"].to_dict() == pytest.approx({"A": 0.8 / 0.3, "B": 0.2 / 0.3, "C": 0.2 / 0.3, "D": 0.0})
    assert lq.loc["A", ["numerator", "denominator"]].tolist() == [8.0, 10.0]
    assert set(long["indicator"]) <= set(CATALOGUE)
    assert set(city["index"]) <= set(CATALOGUE)
    lisa = long[long["indicator"] == "lisa_class_foreign"]["value"]
    assert set(lisa) <= set(LISA_CODES.values())
    moran = city[city["index"] == "moran_i"]
    assert moran["p_value"].between(0, 1).all()


def test_empty_district_gets_no_local_rows_and_groups_without_members_are_skipped():
    persons = persons_frame({"A": (10, 8), "B": (10, 2), "C": (10, 2)})  # D empty
    long, city = segregation_indicators(persons, grid_districts(), permutations=99)
    assert "D" not in set(long["district_id"])
    assert "region_eu" not in set(city["group"])  # nobody from the EU
    counts = group_counts(persons, pd.Index(["A", "B", "C", "D"]))
    assert counts.loc["D"].sum() == 0 and counts.loc["A", "total"] == 10


def test_multigroup_includes_residents_without_mh():
    persons = persons_frame({"A": (10, 10), "B": (10, 0), "C": (10, 5), "D": (10, 5)})
    _, city = segregation_indicators(persons, grid_districts(), permutations=99)
    h = city.set_index("index").loc["seg_multigroup_theil", "value"]
    # two groups (no MH, Turkey) → equals the two-group Theil H of the foreign
    two = city.set_index(["index", "group"]).loc[("seg_theil", "foreign"), "value"]
    assert h == pytest.approx(two)
    assert np.isfinite(h)
