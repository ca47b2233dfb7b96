"""Segregation indices: hand-computed small cases, validation, and PySAL's values on the Sacramento tracts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quarterstats.segregation import (
    MULTIGROUP_LABEL,
    dissimilarity,
    entropy_theil,
    exposure,
    gini,
    isolation,
    location_quotient,
    multigroup_dissimilarity,
    multigroup_theil,
    segregation_table,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SACRAMENTO_DBF = SHARED / "data" / "sacramento" / "sacramentot2.dbf"

TWO_GROUP = [dissimilarity, isolation, exposure, entropy_theil, gini]


def h(p: float) -> float:
    """Binary entropy in nats, 0 ln 0 = 0."""
    return -sum(q * math.log(q) for q in (p, 1 - p) if q > 0)


# --- two units, 100 residents each, 80 and 20 group members: P = 0.5 ------------------------------
X2, T2 = [80, 20], [100, 100]


def test_two_units_by_hand():
    # D = (100*|0.8-0.5| + 100*|0.2-0.5|) / (2*200*0.5*0.5) = 60/100
    assert dissimilarity(X2, T2) == pytest.approx(0.6, abs=1e-15)
    # xPx = (80/100)(80/100) + (20/100)(20/100) = 0.64 + 0.04
    assert isolation(X2, T2) == pytest.approx(0.68, abs=1e-15)
    # xPy = (80/100)(20/100) + (20/100)(80/100)
    assert exposure(X2, T2) == pytest.approx(0.32, abs=1e-15)
    # G = 2*100*100*0.6 / (2*200^2*0.25)
    assert gini(X2, T2) == pytest.approx(0.6, abs=1e-15)
    # H = sum t_i (E - E_i) / (E T) with E = ln 2 and E_1 = E_2 = h(0.8)
    assert entropy_theil(X2, T2) == pytest.approx(1 - h(0.8) / math.log(2), abs=1e-15)
    assert entropy_theil(X2, T2) == pytest.approx(0.2780719051126377, abs=1e-12)


# --- three unequal units, unsorted shares: T = 100, X = 30, P = 0.3, p = 0.2, 0.5, 0.25 -----------
X3, T3 = [10, 15, 5], [50, 30, 20]


def test_three_units_by_hand():
    # D = (50*0.1 + 30*0.2 + 20*0.05) / (2*100*0.21) = 12/42
    assert dissimilarity(X3, T3) == pytest.approx(12 / 42, abs=1e-15)
    # xPx = (10/30)(0.2) + (15/30)(0.5) + (5/30)(0.25) = 43/120
    assert isolation(X3, T3) == pytest.approx(43 / 120, abs=1e-15)
    assert exposure(X3, T3) == pytest.approx(1 - 43 / 120, abs=1e-15)
    # pairs i<j: 50*30*0.3 + 50*20*0.05 + 30*20*0.25 = 650; G = 2*650 / (2*100^2*0.21) = 13/42
    assert gini(X3, T3) == pytest.approx(13 / 42, abs=1e-15)
    big_e = h(0.3)
    expected_h = (50 * (big_e - h(0.2)) + 30 * (big_e - h(0.5)) + 20 * (big_e - h(0.25))) / (big_e * 100)
    assert entropy_theil(X3, T3) == pytest.approx(expected_h, abs=1e-15)


def test_gini_does_not_depend_on_unit_order():
    order = [2, 0, 1]
    assert gini([X3[k] for k in order], [T3[k] for k in order]) == pytest.approx(13 / 42, abs=1e-15)


def test_perfect_segregation_gives_one():
    x, t = [10, 0, 5], [10, 30, 5]  # group only in units 1 and 3, which hold nobody else
    assert dissimilarity(x, t) == pytest.approx(1.0, abs=1e-15)
    assert entropy_theil(x, t) == pytest.approx(1.0, abs=1e-15)
    assert gini(x, t) == pytest.approx(1.0, abs=1e-15)
    assert isolation(x, t) == pytest.approx(1.0, abs=1e-15)
    assert exposure(x, t) == pytest.approx(0.0, abs=1e-15)


def test_even_distribution_gives_zero():
    x, t = [2, 4, 6], [10, 20, 30]  # 20 % everywhere
    assert dissimilarity(x, t) == pytest.approx(0.0, abs=1e-15)
    assert entropy_theil(x, t) == pytest.approx(0.0, abs=1e-15)
    assert gini(x, t) == pytest.approx(0.0, abs=1e-15)
    assert isolation(x, t) == pytest.approx(0.2, abs=1e-15)  # = P
    assert exposure(x, t) == pytest.approx(0.8, abs=1e-15)
    np.testing.assert_allclose(location_quotient(x, t), [1.0, 1.0, 1.0], atol=1e-15)


@pytest.mark.parametrize("func", TWO_GROUP)
def test_units_without_residents_are_dropped(func):
    assert func([10, 0, 15, 5], [50, 0, 30, 20]) == pytest.approx(func(X3, T3), abs=1e-15)


@pytest.mark.parametrize("func", TWO_GROUP)
def test_returns_plain_float(func):
    assert type(func(np.array(X3, dtype="int32"), pd.Series(T3, dtype="Int64"))) is float


def test_location_quotient_by_hand():
    # P = 30/100; LQ = p_i / P = 0.2/0.3, 0.5/0.3, NaN (nobody there), 0.25/0.3
    x = pd.Series([10, 15, 0, 5], index=["01", "02", "03", "04"])
    t = pd.Series([50, 30, 0, 20], index=["01", "02", "03", "04"])
    lq = location_quotient(x, t)
    assert list(lq.index) == ["01", "02", "03", "04"]
    np.testing.assert_allclose(lq.to_numpy(), [2 / 3, 5 / 3, np.nan, 5 / 6], rtol=1e-15)


@pytest.mark.parametrize("func", [dissimilarity, entropy_theil, gini])
def test_undefined_when_group_empty_or_everyone(func):
    assert math.isnan(func([0, 0], [10, 20]))
    assert math.isnan(func([10, 20], [10, 20]))


@pytest.mark.parametrize("func", [isolation, exposure])
def test_exposure_indices_undefined_for_empty_group(func):
    assert math.isnan(func([0, 0], [10, 20]))


@pytest.mark.parametrize("func", [*TWO_GROUP, location_quotient])
def test_group_larger_than_total_is_rejected(func):
    x = pd.Series([5, 12], index=["07", "08"])
    t = pd.Series([10, 10], index=["07", "08"])
    with pytest.raises(ValueError, match=r"group count exceeds the total population in 1 unit\(s\): \['08'\]"):
        func(x, t)


@pytest.mark.parametrize(
    ("x", "t", "message"),
    [
        ([1, -1], [5, 5], "negative"),
        ([1, np.nan], [5, 5], "missing or non-finite"),
        ([1, 2, 3], [5, 5], "one count per unit"),
        ([[1, 2]], [[5, 5]], "one-dimensional"),
    ],
)
def test_invalid_counts_are_rejected(x, t, message):
    with pytest.raises(ValueError, match=message):
        dissimilarity(x, t)


# --- multigroup ------------------------------------------------------------------------------------


def test_multigroup_with_two_groups_equals_two_group_indices():
    counts = np.array([[80, 20], [20, 80]])
    assert multigroup_theil(counts) == pytest.approx(entropy_theil(X2, T2), abs=1e-15)
    assert multigroup_dissimilarity(counts) == pytest.approx(0.6, abs=1e-15)


def test_multigroup_three_groups_by_hand():
    # unit 1: 10 A, 0 B, 10 C; unit 2: 0 A, 20 B, 0 C. T = 40, pi_k = (1/4, 1/2, 1/4)
    counts = pd.DataFrame({"A": [10, 0], "B": [0, 20], "C": [10, 0]})
    # E = 1.5 ln 2, E_1 = ln 2, E_2 = 0: H = (20*0.5 ln2 + 20*1.5 ln2) / (40*1.5 ln2) = 2/3
    assert multigroup_theil(counts) == pytest.approx(2 / 3, abs=1e-15)
    # I = 3/16 + 1/4 + 3/16 = 5/8; sum_i t_i sum_k |pi_ik - pi_k| = 20*1 + 20*1; D = 40 / (2*40*5/8)
    assert multigroup_dissimilarity(counts) == pytest.approx(0.8, abs=1e-15)


def test_multigroup_extremes_and_empty_units():
    perfect = np.array([[5, 0, 0], [0, 7, 0], [0, 0, 9], [0, 0, 0]])  # last unit empty: dropped
    assert multigroup_theil(perfect) == pytest.approx(1.0, abs=1e-15)
    assert multigroup_dissimilarity(perfect) == pytest.approx(1.0, abs=1e-15)
    even = np.array([[1, 2, 3], [2, 4, 6], [10, 20, 30]])
    assert multigroup_theil(even) == pytest.approx(0.0, abs=1e-15)
    assert multigroup_dissimilarity(even) == pytest.approx(0.0, abs=1e-15)
    assert math.isnan(multigroup_theil(np.array([[5, 0], [3, 0]])))  # a single group present


def test_multigroup_rejects_bad_input():
    with pytest.raises(ValueError, match="negative"):
        multigroup_theil(np.array([[1, -1], [2, 2]]))
    with pytest.raises(ValueError, match="at least two groups"):
        multigroup_dissimilarity(np.array([[1], [2]]))


# --- table -----------------------------------------------------------------------------------------


def _district_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pop": [50, 30, 20, 0],
            "foreign": [10, 15, 5, 0],
            "eu": [4, 2, 1, 0],
            "non_eu": [6, 13, 4, 0],
        },
        index=pd.Index(["01", "02", "03", "04"], name="district_id"),
    )


def test_segregation_table_rows_and_values():
    counts = _district_counts()
    groups = {"foreign": "foreign", "EU": "eu", "non-EU": "non_eu"}
    table = segregation_table(counts, groups, "pop", multigroup=["EU", "non-EU"])
    assert list(table.columns) == ["index", "group", "value"]
    assert len(table) == 3 * 5 + 2
    indexed = table.set_index(["index", "group"])["value"]
    assert indexed[("dissimilarity", "foreign")] == pytest.approx(12 / 42, abs=1e-15)
    assert indexed[("gini", "foreign")] == pytest.approx(13 / 42, abs=1e-15)
    assert indexed[("isolation", "EU")] == isolation(counts["eu"], counts["pop"])
    expected_mg = multigroup_theil(counts[["eu", "non_eu"]])
    assert indexed[("multigroup_theil", MULTIGROUP_LABEL)] == expected_mg
    assert indexed[("multigroup_dissimilarity", MULTIGROUP_LABEL)] == multigroup_dissimilarity(
        counts[["eu", "non_eu"]]
    )
    assert table["value"].dtype == "float64"


def test_segregation_table_multigroup_options():
    counts = _district_counts()
    no_mg = segregation_table(counts, {"EU": "eu", "non-EU": "non_eu"}, "pop", multigroup=[])
    assert MULTIGROUP_LABEL not in set(no_mg["group"])
    default = segregation_table(counts, {"EU": "eu", "non-EU": "non_eu"}, "pop")
    assert set(default.loc[default["group"] == MULTIGROUP_LABEL, "index"]) == {
        "multigroup_theil",
        "multigroup_dissimilarity",
    }
    # foreign = eu + non_eu overlaps them: in unit 02, 15 + 2 + 13 = 30 residents counted of 25
    with pytest.raises(ValueError, match=r"overlap.*\['02'\]|\['02'\].*overlap"):
        segregation_table(
            counts.assign(pop=[50, 25, 20, 0]),
            {"foreign": "foreign", "EU": "eu", "non-EU": "non_eu"},
            "pop",
        )
    with pytest.raises(ValueError, match="no column"):
        segregation_table(counts, {"x": "missing"}, "pop")


# --- PySAL reference values (../shared/data/sacramento/SOURCES.md) ---------------------------------


@pytest.fixture(scope="module")
def sacramento() -> pd.DataFrame:
    if not SACRAMENTO_DBF.exists():
        pytest.skip(f"{SACRAMENTO_DBF} not available")
    pyogrio = pytest.importorskip("pyogrio")
    return pyogrio.read_dataframe(SACRAMENTO_DBF, read_geometry=False)


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        (dissimilarity, 0.32184656076566864),
        (isolation, 0.2319615486459151),
        (exposure, 0.7680384513540848),
        (entropy_theil, 0.09626774479970557),
        (gini, 0.43506510676886234),
    ],
)
def test_sacramento_two_group_matches_pysal(sacramento, func, expected):
    assert len(sacramento) == 403
    assert func(sacramento["HISP_"], sacramento["TOT_POP"]) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("func", "expected"),
    [(multigroup_theil, 0.1710160297858887), (multigroup_dissimilarity, 0.41340872573177806)],
)
def test_sacramento_multigroup_matches_pysal(sacramento, func, expected):
    counts = sacramento[["WHITE_", "BLACK_", "ASIAN_", "HISP_"]]
    assert func(counts) == pytest.approx(expected, abs=1e-9)


def test_sacramento_table_matches_functions(sacramento):
    table = segregation_table(
        sacramento,
        {"hispanic": "HISP_", "white": "WHITE_", "black": "BLACK_", "asian": "ASIAN_"},
        "TOT_POP",
    )
    indexed = table.set_index(["index", "group"])["value"]
    assert indexed[("dissimilarity", "hispanic")] == pytest.approx(0.32184656076566864, abs=1e-9)
    assert indexed[("multigroup_theil", MULTIGROUP_LABEL)] == pytest.approx(0.1710160297858887, abs=1e-9)
