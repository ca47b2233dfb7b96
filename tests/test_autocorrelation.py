"""Spatial autocorrelation: Moran's I by hand on small lattices, seeds, LISA classes, islands, Sacramento."""

from __future__ import annotations

import warnings
from pathlib import Path

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from quarterstats.autocorrelation import (
    LISA_CLASSES,
    LISA_LABELS_DE,
    MoranResult,
    global_moran,
    local_moran_classes,
    local_moran_table,
    queen_weights,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SACRAMENTO_SHP = SHARED / "data" / "sacramento" / "sacramentot2.shp"


def lattice(n_cols: int, n_rows: int, **columns) -> gpd.GeoDataFrame:
    """Unit squares, row-major; ids "r<row>c<col>"."""
    cells = [(r, c) for r in range(n_rows) for c in range(n_cols)]
    frame = gpd.GeoDataFrame(
        {
            "district_id": [f"r{r}c{c}" for r, c in cells],
            "row": [r for r, _ in cells],
            "col": [c for _, c in cells],
            **columns,
        },
        geometry=[box(c, r, c + 1, r + 1) for r, c in cells],
    )
    return frame


def dense_queen_lattice(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Row-standardised queen W of a lattice from the grid positions alone (no libpysal)."""
    r = frame["row"].to_numpy()
    c = frame["col"].to_numpy()
    adjacent = (np.abs(r[:, None] - r[None, :]) <= 1) & (np.abs(c[:, None] - c[None, :]) <= 1)
    np.fill_diagonal(adjacent, False)
    a = adjacent.astype(float)
    return a / a.sum(axis=1, keepdims=True)


def moran_by_formula(y: np.ndarray, w_dense: np.ndarray) -> float:
    """I = (n / S0) * (z' W z) / (z' z)."""
    z = y - y.mean()
    return len(y) / w_dense.sum() * (z @ w_dense @ z) / (z @ z)


# --- global Moran ----------------------------------------------------------------------------------


def test_two_by_two_by_hand():
    # every square touches the other three: w_ij = 1/3, S0 = 4; z = (-1.5, -0.5, 0.5, 1.5), z'z = 5,
    # (Wz)_i = (sum z - z_i)/3 = -z_i/3, so z'Wz = -5/3 and I = (4/4) * (-5/3) / 5 = -1/3
    frame = lattice(2, 2)
    w = queen_weights(frame, "district_id")
    result = global_moran(np.array([1.0, 2.0, 3.0, 4.0]), w, permutations=0)
    assert result.I == pytest.approx(-1 / 3, abs=1e-15)
    assert result.expected_I == pytest.approx(-1 / 3, abs=1e-15)
    assert result.n == 4 and result.n_islands == 0
    assert np.isnan(result.p_sim)


def test_three_by_three_equals_formula_and_esda():
    frame = lattice(3, 3)
    y = np.array([9.0, 7.0, 2.0, 8.0, 5.0, 1.0, 6.0, 3.0, 0.0])
    w = queen_weights(frame, "district_id")
    assert list(w.id_order) == list(frame["district_id"])
    assert w.cardinalities["r1c1"] == 8 and w.cardinalities["r0c0"] == 3 and w.cardinalities["r0c1"] == 5
    expected = moran_by_formula(y, dense_queen_lattice(frame))
    result = global_moran(y, w, permutations=99)
    assert result.I == pytest.approx(expected, abs=1e-14)
    assert result.I == pytest.approx(esda.Moran(y, w, permutations=0).I, abs=1e-15)
    assert result.expected_I == pytest.approx(-1 / 8, abs=1e-15)
    assert result.I > 0  # high values in the left columns


def test_values_are_matched_by_district_id():
    frame = lattice(3, 3)
    w = queen_weights(frame, "district_id")
    y = np.array([9.0, 7.0, 2.0, 8.0, 5.0, 1.0, 6.0, 3.0, 0.0])
    shuffled = pd.Series(y, index=frame["district_id"]).iloc[[4, 8, 0, 2, 6, 1, 3, 7, 5]]
    with_extra = pd.concat([shuffled, pd.Series([np.nan], index=["not_in_w"])])
    assert global_moran(with_extra, w, permutations=0).I == pytest.approx(
        global_moran(y, w, permutations=0).I, abs=1e-15
    )
    with pytest.raises(ValueError, match="no entry for district"):
        global_moran(shuffled.drop("r1c1"), w)
    with pytest.raises(ValueError, match="missing or not finite"):
        global_moran(shuffled.where(shuffled.index != "r0c0"), w)


def test_permutation_p_value_is_reproducible_and_leaves_global_rng_alone():
    frame = lattice(4, 4)
    y = np.random.default_rng(3).normal(size=16)
    w = queen_weights(frame, "district_id")
    np.random.seed(2024)
    state_before = np.random.get_state()[1].copy()
    first = global_moran(y, w, permutations=999, seed=7)
    assert np.array_equal(np.random.get_state()[1], state_before)
    second = global_moran(y, w, permutations=999, seed=7)
    assert first == second
    # the documented mechanism: esda.Moran under numpy's global seed
    np.random.seed(7)
    reference = esda.Moran(y, w, permutations=999)
    assert first.p_sim == reference.p_sim
    assert first.z_sim == pytest.approx(reference.z_sim, abs=1e-15)
    assert 1 / 1000 <= first.p_sim <= 0.5


@pytest.mark.parametrize("case", ["normal", "ties", "islands"])
def test_vectorised_permutations_equal_esda_draw_for_draw(case):
    """The permutation distribution is computed in one product; it must be esda's, draw for draw."""
    from quarterstats.autocorrelation import _permuted_moran

    frame = lattice(5, 5)
    rng = np.random.default_rng(11)
    if case == "ties":  # few distinct values: many permutations give exactly the observed I
        y = rng.integers(0, 3, size=25).astype(float)
    else:
        y = rng.normal(size=25)
    if case == "islands":  # a district far away has no neighbours
        frame = frame.copy()
        frame.loc[24, "geometry"] = box(50, 50, 51, 51)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        w = queen_weights(frame, "district_id")
    assert (case == "islands") == bool(w.islands)
    np.random.seed(5)
    reference = esda.Moran(y, w, permutations=499)
    ours = _permuted_moran(reference.z, w, 499, seed=5)
    np.testing.assert_allclose(ours, reference.sim, rtol=0, atol=1e-14)
    result = global_moran(y, w, permutations=499, seed=5)
    assert result.p_sim == reference.p_sim
    assert result.z_sim == pytest.approx(reference.z_sim, abs=1e-12)


def test_clustered_pattern_is_significant_with_hh_and_ll():
    # left three columns high, right three low, small deterministic noise
    frame = lattice(6, 6)
    noise = np.random.default_rng(0).uniform(-0.05, 0.05, size=36)
    y = np.where(frame["col"] < 3, 1.0, 0.0) + noise
    w = queen_weights(frame, "district_id")
    result = global_moran(y, w)
    assert result.I > 0.5
    assert result.p_sim == pytest.approx(1 / 1000)
    assert result.z > 3
    classes = local_moran_classes(y, w)
    high = (frame["col"] < 3).to_numpy()
    assert set(classes[high]) <= {"HH", "not_significant"}
    assert set(classes[~high]) <= {"LL", "not_significant"}
    assert (classes == "HH").sum() >= 6 and (classes == "LL").sum() >= 6
    # the cells far from the border are the clearest clusters
    assert classes["r2c0"] == "HH" and classes["r2c5"] == "LL"


def test_constant_values_give_nan_not_an_error():
    frame = lattice(3, 3)
    w = queen_weights(frame, "district_id")
    result = global_moran(np.full(9, 0.25), w)
    assert isinstance(result, MoranResult)
    assert np.isnan(result.I) and np.isnan(result.p_sim)
    assert set(local_moran_classes(np.full(9, 0.25), w)) == {"not_significant"}
    # equal shares from different counts differ only by rounding: still constant
    rounded = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9]) * 0.1 / np.array([1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert np.isnan(global_moran(rounded, w).I)


# --- local Moran, islands, exclusions --------------------------------------------------------------


def lattice_with_island() -> gpd.GeoDataFrame:
    frame = lattice(3, 3)
    island = gpd.GeoDataFrame(
        {"district_id": ["isle"], "row": [10], "col": [10]}, geometry=[box(10, 10, 11, 11)]
    )
    return pd.concat([frame, island], ignore_index=True)


def test_island_is_reported_and_classified():
    frame = lattice_with_island()
    with pytest.warns(UserWarning, match=r"islands\): \['isle'\]"):
        w = queen_weights(frame, "district_id")
    assert w.islands == ["isle"]
    y = np.array([9.0, 7.0, 2.0, 8.0, 5.0, 1.0, 6.0, 3.0, 0.0, 100.0])
    table = local_moran_table(y, w, permutations=99)
    assert table.loc["isle", "lisa_class"] == "island"
    assert np.isnan(table.loc["isle", "p_sim"])
    assert set(table["lisa_class"]) <= set(LISA_CLASSES)
    assert global_moran(y, w, permutations=0).n_islands == 1


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_local_moran_matches_esda_and_is_reproducible():
    frame = lattice(5, 5)
    y = np.random.default_rng(11).normal(size=25) + np.where(frame["row"] < 2, 2.0, 0.0)
    w = queen_weights(frame, "district_id")
    table = local_moran_table(y, w, permutations=499, seed=99)
    again = local_moran_table(y, w, permutations=499, seed=99)
    pd.testing.assert_frame_equal(table, again)
    lisa = esda.Moran_Local(y, w, permutations=499, seed=99)
    np.testing.assert_allclose(table["local_i"], lisa.Is, atol=1e-14)
    np.testing.assert_array_equal(table["p_sim"], lisa.p_sim)
    labels = {
        "High-High": "HH",
        "Low-Low": "LL",
        "High-Low": "HL",
        "Low-High": "LH",
        "Insignificant": "not_significant",
    }
    expected = [labels[label] for label in lisa.get_cluster_labels(0.05)]
    assert list(table["lisa_class"]) == expected
    # local I by hand: (n - 1) z_i (Wz)_i / z'z with z standardised as esda does (cancels in the ratio)
    z = y - y.mean()
    by_hand = (len(y) - 1) * z * (dense_queen_lattice(frame) @ z) / (z @ z)
    np.testing.assert_allclose(table["local_i"], by_hand, atol=1e-12)


def test_districts_without_residents_are_left_out():
    frame = lattice(3, 3, pop=[10, 10, 10, 10, 0, 10, 10, 10, 10])
    w = queen_weights(frame, "district_id", population_column="pop")
    assert "r1c1" not in w.id_order and w.n == 8
    assert "r1c1" not in w.neighbors["r0c0"]
    share = pd.Series([0.1, 0.2, 0.3, 0.4, np.nan, 0.6, 0.7, 0.8, 0.9], index=frame["district_id"])
    classes = local_moran_classes(share, w, permutations=99)
    assert list(classes.index) == [d for d in frame["district_id"] if d != "r1c1"]
    dense = dense_queen_lattice(frame.iloc[[0, 1, 2, 3, 5, 6, 7, 8]])
    # without the centre, corner r0c0 keeps r0c1 and r1c0 only
    assert (dense[0] > 0).sum() == 2
    expected = moran_by_formula(share.drop("r1c1").to_numpy(), dense)
    assert global_moran(share, w, permutations=0).I == pytest.approx(expected, abs=1e-14)


def test_german_labels_cover_every_class():
    assert set(LISA_LABELS_DE) == set(LISA_CLASSES)
    assert LISA_LABELS_DE["HH"] == "Hoch-Hoch" and LISA_LABELS_DE["island"] == "ohne Nachbarn"


def test_queen_weights_rejects_duplicate_ids():
    frame = lattice(2, 2)
    frame.loc[1, "district_id"] = "r0c0"
    with pytest.raises(ValueError, match="duplicate ids"):
        queen_weights(frame, "district_id")


def test_450_districts_999_permutations_give_a_pseudo_p_value_per_district():
    """450 districts with 999 permutations (the size of Berlin; its speed: scripts/benchmark.py): the
    pseudo p-values are multiples of 1/1000 in (0, 1], one class per district."""
    frame = lattice(18, 25)
    y = np.random.default_rng(5).random(450)
    w = queen_weights(frame, "district_id")
    result = global_moran(y, w, permutations=999)
    classes = local_moran_classes(y, w, permutations=999)
    p = float(result.p_sim)
    assert 0 < p <= 1 and abs(p * 1000 - round(p * 1000)) < 1e-9
    assert len(classes) == 450 and classes.notna().all()


# --- Sacramento (PySAL example data) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sacramento() -> gpd.GeoDataFrame:
    if not SACRAMENTO_SHP.exists():
        pytest.skip(f"{SACRAMENTO_SHP} not available")
    return gpd.read_file(SACRAMENTO_SHP)


def test_sacramento_global_moran_equals_esda_and_dense_numpy(sacramento):
    from libpysal.weights import Queen

    share = pd.Series(
        (sacramento["HISP_"] / sacramento["TOT_POP"]).to_numpy(), index=sacramento["FIPS"].astype(str)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no islands expected
        w = queen_weights(sacramento, "FIPS", population_column="TOT_POP")
    assert w.n == 403
    result = global_moran(share, w, permutations=99)

    reference_w = Queen.from_dataframe(sacramento, use_index=False, silence_warnings=True)
    reference_w.transform = "r"
    reference = esda.Moran(share.to_numpy(), reference_w, permutations=0)
    assert result.I == pytest.approx(reference.I, abs=1e-12)
    assert result.expected_I == pytest.approx(reference.EI, abs=1e-15)
    assert result.z == pytest.approx(reference.z_norm, abs=1e-9)

    # independent: queen adjacency from shapely (boundaries share a point), dense, row-standardised
    geoms = sacramento.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    adjacency = np.zeros((len(geoms), len(geoms)))
    adjacency[left, right] = 1.0
    np.fill_diagonal(adjacency, 0.0)
    dense = adjacency / adjacency.sum(axis=1, keepdims=True)
    assert result.I == pytest.approx(moran_by_formula(share.to_numpy(), dense), abs=1e-12)
    assert result.I > 0.3  # Hispanic share is spatially clustered


def test_weights_of_a_subset_from_the_full_contiguity_equal_queen_on_the_subset():
    """The pipeline computes queen contiguity once per run and restricts it to the districts with
    residents of each date; that must equal building the weights on those districts directly."""
    from quarterstats.autocorrelation import queen_neighbours, weights_from_neighbours

    frame = lattice(6, 5)
    rng = np.random.default_rng(8)
    frame["pop"] = np.where(rng.uniform(size=len(frame)) < 0.3, 0, 100)
    frame.loc[frame["district_id"].isin(["r0c1", "r1c0", "r1c1"]), "pop"] = 0  # r0c0 loses every neighbour
    frame.loc[frame["district_id"] == "r0c0", "pop"] = 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        direct = queen_weights(frame, "district_id", population_column="pop")
        populated = frame.loc[frame["pop"] > 0, "district_id"].tolist()
        restricted = weights_from_neighbours(queen_neighbours(frame, "district_id"), populated)
    assert restricted.id_order == direct.id_order
    assert {k: sorted(v) for k, v in restricted.neighbors.items()} == {k: sorted(v) for k, v in direct.neighbors.items()}
    assert "r0c0" in restricted.islands and sorted(restricted.islands) == sorted(direct.islands)
    np.testing.assert_array_equal(restricted.sparse.toarray(), direct.sparse.toarray())


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_local_moran_at_450_districts_with_ties_and_an_island_matches_esda():
    """The simulations are computed here (draws shared between calls): p-values equal esda's exactly,
    also where many districts share a value (ties between simulated and observed I), and an island."""
    frame = pd.concat([lattice(18, 25), gpd.GeoDataFrame(
        {"district_id": ["isle"], "row": [99], "col": [99]}, geometry=[box(90, 90, 91, 91)])], ignore_index=True)
    with pytest.warns(UserWarning, match="islands"):
        w = queen_weights(frame, "district_id")
    y = np.round(np.random.default_rng(3).random(451) * 4) / 4  # five distinct values: many ties
    y[:60] += 1.0  # a cluster
    for seed in (12345, 7):
        table = local_moran_table(y, w, permutations=999, seed=seed)
        lisa = esda.Moran_Local(y, w, permutations=999, seed=seed)
        keep = table.index != "isle"
        np.testing.assert_array_equal(table["p_sim"][keep], lisa.p_sim[keep])
        assert table.loc["isle", "lisa_class"] == "island"
    # the cached draws change nothing, and the caller's random state is left alone
    state = np.random.get_state()[1].copy()
    again = local_moran_table(y, w, permutations=999, seed=7)
    pd.testing.assert_frame_equal(table, again)
    assert (np.random.get_state()[1] == state).all()


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_shared_draws_are_per_weights_structure():
    """Which sites each district draws is cached per date; two contiguities of the same number of
    districts (18 x 25 and 9 x 50) must not share it: each still equals esda, in either order."""
    from quarterstats.autocorrelation import _conditional_sites

    y = np.random.default_rng(4).random(450)
    y[:40] += 0.5
    grids = [queen_weights(lattice(18, 25), "district_id"), queen_weights(lattice(9, 50), "district_id")]
    for w in grids + grids[::-1]:
        table = local_moran_table(y, w, permutations=199, seed=5)
        np.testing.assert_array_equal(table["p_sim"], esda.Moran_Local(y, w, permutations=199, seed=5).p_sim)
    cardinality = np.diff(grids[0].sparse.indptr)
    batches = _conditional_sites(cardinality, 199, 5)
    assert _conditional_sites(cardinality, 199, 5) is batches  # made once, shared
    assert sorted(np.concatenate([sites for sites, _ in batches]).tolist()) == list(range(450))
    for sites, drawn in batches:  # no district draws itself
        assert not drawn.flags.writeable and not (drawn == sites[:, None, None]).any()


def test_relabellings_are_the_permutations_esda_moran_draws():
    from quarterstats.autocorrelation import _relabellings

    z = np.random.default_rng(1).normal(size=40)
    rows = _relabellings(40, 25, 99)
    np.random.seed(99)
    expected = np.stack([np.random.permutation(z) for _ in range(25)])
    np.testing.assert_array_equal(z[rows], expected)
    assert _relabellings(40, 25, 99) is rows and not rows.flags.writeable  # made once, shared read-only


def test_adjacency_is_kept_per_weights_and_rebuilt_when_they_change():
    """The LISA tests of a date share one copy of the weights without diagonal; it follows the weights."""
    from quarterstats.autocorrelation import _adjacency

    w = queen_weights(lattice(3, 3), "district_id")
    start, weights, island = _adjacency(w)
    assert _adjacency(w)[1] is weights and not weights.flags.writeable  # kept, read-only
    np.testing.assert_array_equal(np.diff(start), [3, 5, 3, 5, 8, 5, 3, 5, 3])
    np.testing.assert_allclose(weights[:3], 1 / 3)
    assert not island.any()
    w.transform = "b"  # new weights: rebuilt from them
    np.testing.assert_array_equal(_adjacency(w)[1], 1.0)
    w.transform = "r"
    np.testing.assert_allclose(_adjacency(w)[1], weights)
