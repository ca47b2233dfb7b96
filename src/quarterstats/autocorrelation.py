"""Spatial autocorrelation of a district share: global Moran's I and local Moran (LISA) classes.

Weights: queen contiguity (two districts are neighbours when their boundaries share at least one point),
row-standardised (``w_ij = 1 / number of neighbours of i``). Districts without any neighbour are
*islands*; :func:`queen_weights` warns about them, they keep no weight (their spatial lag is 0) and the
LISA class of an island is ``"island"``.

Districts with zero residents are left out of Moran (the share is undefined there):
:func:`queen_weights` takes the name of a population column and drops districts whose population is
0 or missing *before* building the weights, so they are not anybody's neighbour either. Values passed to
:func:`global_moran` / :func:`local_moran_classes` are aligned to the weights by district id; values for
districts that are not in the weights (the dropped ones) are ignored.

Formulas (Moran 1950; Cliff & Ord 1981; Anselin 1995), with ``z_i = y_i - mean(y)``, ``n`` districts and
``S0 = sum_ij w_ij``:

* global ``I = (n / S0) * (z' W z) / (z' z)``, expectation ``E[I] = -1 / (n - 1)``;
* local ``I_i = (n - 1) * z_i * sum_j w_ij z_j / (z' z)`` (esda's scaling).

Reference implementation: PySAL ``esda`` (``esda.Moran``, ``esda.Moran_Local``); the statistics are
computed by esda, this module fixes the weights, the seed, the exclusions and the class labels.
Rey, S. J. & Anselin, L. (2007). PySAL: A Python Library of Spatial Analytical Methods. The Review of
Regional Studies 37(1), 5-27. Anselin, L. (1995). Local indicators of spatial association — LISA.
Geographical Analysis 27(2), 93-115.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import esda
import numpy as np
import pandas as pd
from libpysal.weights import W, Queen

__all__ = [
    "LISA_CLASSES",
    "LISA_LABELS_DE",
    "MoranResult",
    "queen_weights",
    "queen_neighbours",
    "weights_from_neighbours",
    "global_moran",
    "local_moran_table",
    "local_moran_arrays",
    "local_moran_classes",
]

#: LISA classes returned by :func:`local_moran_classes`.
LISA_CLASSES = ("HH", "LL", "HL", "LH", "not_significant", "island")

#: German labels of the LISA classes, for maps and tables read by planners.
LISA_LABELS_DE = {
    "HH": "Hoch-Hoch",
    "LL": "Niedrig-Niedrig",
    "HL": "Hoch-Niedrig",
    "LH": "Niedrig-Hoch",
    "not_significant": "nicht signifikant",
    "island": "ohne Nachbarn",
}

# esda's quadrant codes (geoda_quads=False): 1 HH, 2 LH, 3 LL, 4 HL.
_QUADRANT_CLASS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I of one variable.

    Attributes
    ----------
    I : Moran's I, ``(n / S0) (z' W z) / (z' z)``.
    expected_I : ``E[I] = -1 / (n - 1)`` under no spatial autocorrelation.
    z : ``(I - E[I]) / sd_N(I)``, the analytical z-value under the normality assumption (esda ``z_norm``;
        does not depend on the seed).
    p_norm : two-sided analytical p-value of ``z`` (esda ``p_norm``).
    p_sim : permutation pseudo p-value (esda ``p_sim``): with ``m`` of the ``permutations`` random
        relabellings giving an I at least as large as the observed one, ``m`` is replaced by
        ``permutations - m`` when that is smaller (the tail on the side of the observed value), and
        ``p_sim = (m + 1) / (permutations + 1)``. NaN when ``permutations == 0``.
    z_sim : ``(I - mean(I_sim)) / sd(I_sim)`` from the permutations (esda ``z_sim``); NaN without them.
    n : number of districts in the weights (islands included).
    n_islands : districts without neighbours.
    permutations, seed : as used.
    """

    I: float  # noqa: E741 — the statistic's conventional name
    expected_I: float  # noqa: N815
    z: float
    p_norm: float
    p_sim: float
    z_sim: float
    n: int
    n_islands: int
    permutations: int
    seed: int | None


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _numpy_global_seed(seed: int | None) -> Iterator[None]:
    """Seed numpy's *global* RNG for the block and restore its previous state afterwards.

    ``esda.Moran`` (esda 2.9) has no ``seed`` argument and draws its permutations with
    ``np.random.permutation``; ``esda.Moran_Local`` takes a ``seed`` but applies it with
    ``np.random.seed``. Either way the global state is touched, so it is saved and restored here: the
    result depends only on ``seed`` and the caller's random state is left as it was.
    """
    state = np.random.get_state()
    try:
        if seed is not None:
            np.random.seed(seed)
        yield
    finally:
        np.random.set_state(state)


class _KeptTransformW(W):
    """A libpysal ``W`` that keeps its cached properties when its transform is set to the one it has.

    ``esda.Moran`` and ``esda.Moran_Local`` set ``w.transform = "r"`` on every call, and libpysal's
    setter empties the cache of the sparse matrix, ``S0``/``S1``/``S2``, the islands and the
    cardinalities even when the transform does not change: with 22 statistics per date at 450
    districts that rebuilt them 23 times (about 70 ms). Setting the same transform again changes
    no weight (libpysal takes the stored transformation), so here it is a no-op; any other value
    goes to libpysal's setter.
    """

    def _set_transform_keeping_cache(self, value="B"):
        if str(value).upper() != str(getattr(self, "_transform", "")).upper():
            W.set_transform(self, value)

    transform = property(W.get_transform, _set_transform_keeping_cache)


def _row_standardised(w: W) -> W:
    """``w`` itself when already row-standardised, else a row-standardised copy (esda would mutate it)."""
    if str(w.transform).lower() == "r":
        return w
    w = copy.deepcopy(w)
    w.silence_warnings = True
    w.transform = "r"
    return w


def _aligned_values(values, w: W) -> np.ndarray:
    """``values`` as float64 in ``w.id_order``.

    A Series is matched by label (its index converted to str, like the ids of :func:`queen_weights`);
    entries for ids not in ``w`` are ignored. Anything else must already be in ``w.id_order``.
    """
    ids = list(w.id_order)
    if isinstance(values, pd.Series):
        labels = values.index.astype(str)
        if labels.has_duplicates:
            dup = sorted(set(labels[labels.duplicated()]))
            raise ValueError(f"values has duplicate district ids {dup}")
        key = [str(i) for i in ids]
        position = labels.get_indexer(key)
        if (position < 0).any():
            missing = [key[k] for k in np.flatnonzero(position < 0)]
            raise ValueError(f"values has no entry for district(s) {missing} that are in the weights")
        arr = values.to_numpy(dtype="float64", na_value=np.nan)[position]
    else:
        arr = np.asarray(values, dtype="float64").ravel()
        if arr.size != len(ids):
            raise ValueError(f"values has {arr.size} entries but the weights have {len(ids)} districts")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"values are missing or not finite for district(s) {[ids[k] for k in np.flatnonzero(bad)]}; "
            "districts without residents must be left out of the weights (queen_weights(population_column=...))"
        )
    return arr


def _is_degenerate(y: np.ndarray, w: W) -> bool:
    """True when Moran's I is undefined: fewer than 3 districts, no neighbour pairs, or constant values.

    "Constant" allows for rounding (shares computed from different counts): range <= 1e-12 * max|y|.
    """
    if y.size < 3 or w.s0 == 0:
        return True
    return float(np.ptp(y)) <= 1e-12 * max(1.0, float(np.max(np.abs(y))))


# --------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------


def queen_weights(gdf, id_column: str, population_column: str | None = None) -> W:
    """Row-standardised queen contiguity weights of the districts in ``gdf``.

    Built with ``libpysal.weights.Queen.from_dataframe`` (shared vertex = neighbour); the ids of the
    weights are the values of ``id_column`` as strings, ``w.id_order`` follows the rows of ``gdf``.

    When ``population_column`` is given, districts whose population is 0 or missing are dropped first:
    they are not in the weights and not anybody's neighbour (this is how districts without residents
    are left out of Moran).

    Islands (districts without neighbours, e.g. an exclave or a district whose only neighbours were
    dropped) are listed in ``w.islands`` and reported with a :class:`UserWarning` naming them.
    """
    if id_column not in gdf.columns:
        raise ValueError(f"gdf has no id column '{id_column}'")
    frame = gdf
    if population_column is not None:
        if population_column not in gdf.columns:
            raise ValueError(f"gdf has no population column '{population_column}'")
        population = pd.to_numeric(gdf[population_column], errors="coerce")
        frame = gdf.loc[(population > 0).fillna(False).to_numpy(dtype=bool)]
    ids = frame[id_column]
    if ids.isna().any():
        raise ValueError(f"id column '{id_column}' has missing values")
    ids = ids.astype(str)
    if ids.duplicated().any():
        raise ValueError(f"id column '{id_column}' has duplicate ids {sorted(set(ids[ids.duplicated()]))}")
    if len(frame) == 0:
        raise ValueError("no districts left to build weights from (all without residents?)")

    return weights_from_neighbours(queen_neighbours(frame, id_column), list(ids))


def queen_neighbours(gdf, id_column: str) -> dict[str, list[str]]:
    """Queen contiguity of all districts in ``gdf`` (shared vertex = neighbour) as ``{id: [ids]}``.

    ``libpysal.weights.Queen.from_dataframe``; ids as strings, each neighbour list in the order of the
    rows of ``gdf``. Contiguity of two districts does not depend on the others, so the weights of any
    subset of districts are these lists restricted to the subset (:func:`weights_from_neighbours`):
    the pipeline builds them once per run from the boundaries, not once per date.
    """
    ids = gdf[id_column].astype(str)
    frame = gdf.assign(**{id_column: ids.to_numpy()})
    with warnings.catch_warnings():
        # libpysal's own connectivity warning is replaced by the one of weights_from_neighbours
        warnings.simplefilter("ignore", UserWarning)
        w = Queen.from_dataframe(frame, ids=id_column, use_index=False, silence_warnings=True)
    order = {district: k for k, district in enumerate(ids)}
    return {str(district): sorted((str(n) for n in w.neighbors.get(district, [])), key=order.__getitem__)
            for district in ids}


def weights_from_neighbours(neighbours: dict[str, list[str]], ids: list[str]) -> W:
    """Row-standardised weights of the districts ``ids`` (in that order) from contiguity lists, keeping
    only neighbours among ``ids``.

    Islands (districts without neighbours, e.g. an exclave or a district whose only neighbours were
    left out) are listed in ``w.islands`` and reported with a :class:`UserWarning` naming them.
    """
    ids = [str(i) for i in ids]
    kept = set(ids)
    unknown = [i for i in ids if i not in neighbours]
    if unknown:
        raise ValueError(f"no contiguity for district(s) {unknown}")
    lists = {i: [n for n in neighbours[i] if n in kept] for i in ids}
    w = _KeptTransformW(lists, id_order=ids, silence_warnings=True)
    w.transform = "r"
    if w.islands:
        warnings.warn(
            f"queen weights: {len(w.islands)} district(s) without neighbours (islands): "
            f"{list(w.islands)}; their spatial lag is 0 and their LISA class is 'island'",
            UserWarning,
            stacklevel=2,
        )
    return w


def global_moran(values, w: W, permutations: int = 999, seed: int | None = 12345) -> MoranResult:
    """Global Moran's I of ``values`` (e.g. a district share) under the weights ``w`` (esda.Moran).

    ``I = (n / S0) * (z' W z) / (z' z)`` with ``z = y - mean(y)``, ``W`` row-standardised (a W with
    another transform is row-standardised on a copy). ``values``: a Series indexed by district id
    (aligned to ``w``; extra ids ignored) or an array in ``w.id_order``; missing values raise.

    I and the analytical moments come from ``esda.Moran``; the permutation p-value is computed here from
    the same permutations esda would draw (:func:`_permuted_moran`), reproducibly: ``esda.Moran`` has no
    ``seed`` argument (esda 2.9), so numpy's global RNG is seeded with ``seed`` for the draws and
    restored afterwards (see :func:`_numpy_global_seed`). Islands stay in ``n`` and ``z' z`` but add nothing to ``z' W z``
    (esda's convention).

    Returns NaN statistics when I is undefined (fewer than 3 districts, no neighbour pairs, or all
    values equal).
    """
    if permutations < 0:
        raise ValueError(f"permutations must be >= 0, got {permutations}")
    y = _aligned_values(values, w)
    w = _row_standardised(w)
    n = int(y.size)
    n_islands = len(w.islands)
    if _is_degenerate(y, w):
        nan = float("nan")
        expected = -1.0 / (n - 1) if n > 1 else nan
        return MoranResult(nan, expected, nan, nan, nan, nan, n, n_islands, permutations, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        moran = esda.Moran(y, w, transformation="r", permutations=0)  # I and the analytical moments
    p_sim = z_sim = float("nan")
    if permutations:
        sim = _permuted_moran(moran.z, w, permutations, seed)
        larger = int((sim >= moran.I).sum())
        larger = min(larger, permutations - larger)
        p_sim = (larger + 1.0) / (permutations + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z_sim = float((moran.I - sim.sum() / permutations) / sim.std())
    return MoranResult(
        I=float(moran.I),
        expected_I=float(moran.EI),
        z=float(moran.z_norm),
        p_norm=float(moran.p_norm),
        p_sim=p_sim,
        z_sim=z_sim,
        n=n,
        n_islands=n_islands,
        permutations=permutations,
        seed=seed,
    )


def _permuted_moran(z: np.ndarray, w: W, permutations: int, seed: int | None) -> np.ndarray:
    """Moran's I of ``permutations`` random relabellings of ``z``: the reference distribution of p_sim.

    Draws exactly the permutations ``esda.Moran`` draws (``np.random.permutation(z)`` in turn, under the
    seeded global RNG, see :func:`_numpy_global_seed`) and applies the same formula
    ``I_k = (n / S0) (z_k' W z_k) / (z' z)``, but as one sparse-dense product for all permutations at
    once instead of one per permutation (esda's Python loop took 0.3 s for 11 groups × 999). The
    permuted values are laid out one column per permutation, so the product runs along the rows of
    ``W`` and ``z_k' (W z_k)`` is a column-wise dot product (``einsum``, no temporary): 2 instead of 9 ms
    at 450 districts. The test suite checks p_sim and z_sim against esda's own.
    """
    permuted = z[_relabellings(z.size, permutations, seed).T]  # districts × permutations
    lag = w.sparse.tocsr() @ permuted
    return z.size / w.s0 * np.einsum("ij,ij->j", permuted, lag) / (z * z).sum()


def _relabellings(n: int, permutations: int, seed: int | None) -> np.ndarray:
    """``permutations`` × ``n`` positions: row k is the k-th ``np.random.permutation`` esda.Moran
    draws after ``np.random.seed(seed)``. A permutation of an array and of ``arange(n)`` take the
    same random draws, so ``z[row]`` is esda's permuted ``z`` whatever the values; the draws depend
    only on ``(n, permutations, seed)`` and are made once for all indicators of a date
    (:func:`_cached_draws`). Stored column-major, so that the transpose (one column per permutation,
    as :func:`_permuted_moran` uses it) is contiguous."""
    def draw() -> np.ndarray:
        with _numpy_global_seed(seed):
            rows = np.stack([np.random.permutation(n) for _ in range(permutations)])  # loop over draws
        return np.ascontiguousarray(rows.T).T

    return _cached_draws(("relabel", n, permutations, seed), draw)


def _conditional_draws(max_cardinality: int, n: int, permutations: int, seed: int) -> np.ndarray:
    """esda's draws for the conditional randomisation of local statistics (``esda.crand``): a
    ``permutations`` × ``max_cardinality`` matrix of positions among the ``n - 1`` sites other than
    the one tested, sampled without replacement per row by esda's own ``vec_permutations`` (which
    seeds numpy's global RNG: restored afterwards). Made once per date, not once per indicator."""
    def draw() -> np.ndarray:
        with _numpy_global_seed(seed):
            return esda.crand.vec_permutations(max_cardinality, n, permutations, seed)

    return _cached_draws(("conditional", max_cardinality, n, permutations, seed), draw)


_DRAWS: dict[tuple, object] = {}
_MAX_CACHED_DRAWS = 8  # a few MB each at 450 districts and 999 permutations (the sites: 21 MB)


def _cached_draws(key: tuple, draw):
    """The draws for ``key`` (or what is derived from them alone, such as :func:`_conditional_sites`),
    made by ``draw()`` the first time (read-only, shared); without a seed (``key[-1] is None``) they
    are fresh random draws each time and never cached."""
    if key[-1] is None:
        return draw()
    if key not in _DRAWS:
        if len(_DRAWS) >= _MAX_CACHED_DRAWS:
            _DRAWS.pop(next(iter(_DRAWS)))
        draws = draw()
        if isinstance(draws, np.ndarray):
            draws.setflags(write=False)
        _DRAWS[key] = draws
    return _DRAWS[key]


def _adjacency(w: W) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, weights, island)`` of ``w``'s sparse matrix without its diagonal (esda randomises the
    other sites only; queen weights have no self weight anyway), and the islands as a mask in
    ``w.id_order``. Made once per weights object and kept on it for as long as its sparse matrix is the
    same object (libpysal rebuilds that matrix whenever the weights change): the 11 LISA tests of a
    date share it instead of copying the matrix and setting its diagonal 11 times."""
    sparse = w.sparse
    cached = getattr(w, "_quarterstats_adjacency", None)
    if cached is not None and cached[0] is sparse:
        return cached[1]
    with warnings.catch_warnings():  # setting the (absent) diagonal of a CSR matrix: harmless at this size
        warnings.simplefilter("ignore")
        adjacency = sparse.tocsr(copy=True)
        adjacency.setdiag(0)
        adjacency.eliminate_zeros()
    islands = {str(i) for i in w.islands}
    island = np.fromiter((str(i) in islands for i in w.id_order), dtype=bool, count=len(w.id_order))
    arrays = (adjacency.indptr, adjacency.data, island)
    for array in arrays:
        array.setflags(write=False)
    w._quarterstats_adjacency = (sparse, arrays)
    return arrays


def _local_moran_p_values(z: np.ndarray, observed: np.ndarray, w: W, permutations: int, seed: int) -> np.ndarray:
    """Folded pseudo p-value (:func:`_folded_p_values`) of each district's local Moran's I
    ``observed`` under ``permutations`` conditional randomisations, simulated exactly as
    ``esda.Moran_Local`` does (``esda.crand.crand`` with ``_moran_local_crand``; Anselin 1995):
    district i keeps its value ``z_i``; its ``c_i`` neighbours get the values of the sites named by
    the first ``c_i`` draws of each row of :func:`_conditional_draws`, counted among the sites other
    than i; then ``I_i = z_i (Σ_j w_ij z_rand_j) (n - 1) / z'z``. Same draws, same arithmetic, same
    order of operations as esda (the tests compare p-values for equality), but the districts are
    taken together by their number of neighbours instead of one at a time, which sites each district
    draws (:func:`_conditional_sites`) is worked out once for all indicators of a date, and each
    batch's simulations are compared with the observed values at once instead of being kept.
    Islands (no neighbours) get NaN."""
    n = z.size
    start, weights, _ = _adjacency(w)
    weights = weights.astype(z.dtype, copy=False)  # the kept array itself when the types agree
    scaling = (n - 1) / (z * z).sum()
    p_values = np.full(n, np.nan)
    for sites, drawn_sites in _conditional_sites(np.diff(start), permutations, seed):
        c = drawn_sites.shape[2]
        site_weights = weights[start[sites][:, None] + np.arange(c)]
        # one matrix-vector product per site, batched: the same BLAS call as esda's ``zrand @ weights_i``
        lag = np.matmul(z[drawn_sites], site_weights[:, :, None])[:, :, 0]
        p_values[sites] = _folded_p_values(observed[sites], z[sites][:, None] * lag * scaling)
    return p_values


def _conditional_sites(cardinality: np.ndarray, permutations: int, seed: int) -> list:
    """Which sites the conditional randomisation gives each district's neighbours, in batches:
    ``[(sites, drawn_sites), ...]`` where ``drawn_sites[k, p, j]`` is the site whose value the j-th
    neighbour of district ``sites[k]`` takes in permutation p. The draws of :func:`_conditional_draws`
    count the ``n - 1`` sites other than the district itself, so draws at or past it are shifted by one.
    Districts with the same number of neighbours ``c`` are batched (at most :data:`_MAX_BATCH` values
    per batch, so a batch stays in the CPU cache); islands are in no batch.

    Depends only on the neighbour counts, ``permutations`` and ``seed``, so it is made once per date
    and shared by the indicator groups (cached like the draws; at 450 districts and 999 permutations
    about 21 MB, and 8 instead of 21 ms per group)."""
    n = cardinality.size

    def make() -> list:
        draws = _conditional_draws(int(cardinality.max(initial=0)), n, permutations, seed)
        batches = []
        for c in np.unique(cardinality[cardinality > 0]):  # a loop over neighbour counts (a dozen at most)
            drawn = draws[None, :, :c]
            same = np.flatnonzero(cardinality == c)
            for sites in np.array_split(same, -(-len(same) * permutations * c // _MAX_BATCH)):
                drawn_sites = drawn + (drawn >= sites[:, None, None])  # the draws skip the site itself
                sites.setflags(write=False)
                drawn_sites.setflags(write=False)
                batches.append((sites, drawn_sites))
        return batches

    digest = hashlib.blake2b(np.ascontiguousarray(cardinality, dtype=np.int64).tobytes(), digest_size=16)
    return _cached_draws(("sites", n, digest.hexdigest(), permutations, seed), make)


#: Values gathered at once by :func:`_local_moran_p_values` (batches of :func:`_conditional_sites`):
#: about 1 MB, so a batch stays in the CPU cache.
_MAX_BATCH = 131_072


def _folded_p_values(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """esda's and GeoDa's pseudo p-value per row: ``m`` simulations at least as large as observed,
    ``m`` replaced by ``permutations - m`` when smaller, ``p = (m + 1) / (permutations + 1)``."""
    permutations = simulated.shape[1]
    larger = (simulated >= observed[:, None]).sum(axis=1)
    larger = np.minimum(larger, permutations - larger)
    return (larger + 1.0) / (permutations + 1.0)


def local_moran_table(
    values, w: W, permutations: int = 999, seed: int | None = 12345, alpha: float = 0.05
) -> pd.DataFrame:
    """Local Moran (LISA) per district: ``esda.Moran_Local``'s statistic and quadrants, and its
    conditional permutation test with esda's draws and arithmetic (:func:`_local_moran_p_values`).

    Columns (index = district ids in ``w.id_order``): ``local_i`` (``I_i = (n - 1) z_i (W z)_i / z'z``),
    ``p_sim`` (folded pseudo p-value from ``permutations`` conditional permutations: with ``m`` of them
    giving ``I_i`` at least as large as observed, ``m`` is replaced by ``permutations - m`` when smaller,
    and ``p = (m + 1) / (permutations + 1)`` — esda's and GeoDa's default; seeded with ``seed``, numpy's
    global RNG state is restored afterwards), ``lisa_class``:

    * ``"island"`` for districts without neighbours (whatever their p-value);
    * ``"not_significant"`` when ``p_sim >= alpha``;
    * else the quadrant of the Moran scatterplot: ``"HH"`` (value and neighbours' mean above the mean),
      ``"LL"`` (both below), ``"HL"`` (value above, neighbours below), ``"LH"`` (value below, neighbours
      above) — the same rule as esda's ``get_cluster_labels`` (``p_sim < alpha``).

    German labels: :data:`LISA_LABELS_DE`. When the statistic is undefined (fewer than 3 districts, no
    neighbour pairs, all values equal) every district is ``"not_significant"`` (or ``"island"``) with
    NaN ``local_i`` and ``p_sim``.
    """
    local_i, p_sim, classes = local_moran_arrays(values, w, permutations=permutations, seed=seed, alpha=alpha)
    return pd.DataFrame(
        {"local_i": local_i, "p_sim": p_sim, "lisa_class": pd.array(classes, dtype="str")},
        index=pd.Index([str(i) for i in w.id_order]),
    )


def local_moran_arrays(
    values, w: W, permutations: int = 999, seed: int | None = 12345, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The columns of :func:`local_moran_table` as arrays in ``w.id_order``: ``(local_i, p_sim,
    lisa_class)`` (the classes as an object array of :data:`LISA_CLASSES`). Same rules and values; for
    callers that test many groups on the same weights (the segregation family: 11 per date) and need
    no table per group."""
    if permutations < 1:
        raise ValueError(f"local Moran needs permutations >= 1 for its p-values, got {permutations}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    y = _aligned_values(values, w)
    w = _row_standardised(w)
    island = _adjacency(w)[2]

    if _is_degenerate(y, w):
        local_i = np.full(y.size, np.nan)
        p_sim = np.full(y.size, np.nan)
        classes = np.full(y.size, "not_significant", dtype=object)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            lisa = esda.Moran_Local(y, w, transformation="r", permutations=0)  # I_i and quadrants
        if seed is None:  # as esda: a seed drawn from numpy's global RNG
            seed = int(np.random.randint(12345, 12345000))
        local_i = np.asarray(lisa.Is, dtype="float64")
        p_sim = _local_moran_p_values(lisa.z, local_i, w, permutations, seed)
        quadrant = np.asarray(lisa.q)
        classes = np.full(y.size, "not_significant", dtype=object)
        significant = p_sim < alpha
        for code, label in _QUADRANT_CLASS.items():
            classes[significant & (quadrant == code)] = label
    classes[island] = "island"
    local_i = np.where(island, np.nan, local_i)  # lag 0 by construction: no local statistic
    p_sim = np.where(island, np.nan, p_sim)
    return local_i, p_sim, classes


def local_moran_classes(
    values, w: W, permutations: int = 999, seed: int | None = 12345, alpha: float = 0.05
) -> pd.Series:
    """LISA class per district: one of :data:`LISA_CLASSES` (see :func:`local_moran_table` for the rule).

    Index = district ids in ``w.id_order``; districts left out of the weights (no residents) are not in
    the result — reindex to the full district list if needed (they become NaN).
    """
    return local_moran_table(values, w, permutations=permutations, seed=seed, alpha=alpha)["lisa_class"]
