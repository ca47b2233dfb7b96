"""Residential segregation indices over per-unit counts (units = districts, tracts, ...).

Notation (Massey & Denton 1988), for unit ``i`` of ``n`` units:

* ``t_i`` total population, ``x_i`` members of the group, ``y_i = t_i - x_i`` the rest of the population;
* ``p_i = x_i / t_i`` the group share in the unit;
* ``T = sum t_i``, ``X = sum x_i``, ``P = X / T`` the group share in the whole area.

Conventions shared by every function here:

* Units whose total is 0 are dropped before an index is computed (they hold nobody, so they carry no
  weight in any of the formulas; dropping them only avoids ``0 / 0`` in ``p_i``). The location quotient is
  the exception: it is per unit and is NaN for such units.
* Counts must be finite and non-negative, and the group count may not exceed the total in any unit;
  otherwise :class:`ValueError` is raised naming the offending units.
* An index that is undefined because the group is empty or is the whole population (``P`` in {0, 1}),
  or because no unit has residents, is returned as NaN (no exception: the pipeline computes indices for
  every group and every reference date, and a missing group must not stop it).
* Indices are returned as plain Python floats.

The formulas follow the PySAL ``segregation`` package (Cortes, Rey & Knaap), which is the reference
implementation for this project; ``tests/test_segregation.py`` reproduces its published values on the
Sacramento tracts to 1e-9 (see ``../shared/data/sacramento/SOURCES.md``).

References
----------
Duncan, O. D. & Duncan, B. (1955). A methodological analysis of segregation indexes. American Sociological
    Review 20(2), 210-217.
Massey, D. S. & Denton, N. A. (1988). The dimensions of residential segregation. Social Forces 67(2),
    281-315.
Theil, H. (1972). Statistical Decomposition Analysis. Amsterdam: North-Holland.
White, M. J. (1986). Segregation and diversity measures in population distribution. Population Index
    52(2), 198-221.
Isard, W. (1960). Methods of Regional Analysis. Cambridge, MA: MIT Press.
Sakoda, J. M. (1981). A generalized index of dissimilarity. Demography 18(2), 245-250.
Reardon, S. F. & Firebaugh, G. (2002). Measures of multigroup segregation. Sociological Methodology 32,
    33-67.
PySAL segregation documentation: https://pysal.org/segregation/ (modules ``singlegroup`` and
    ``multigroup``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import xlogy

__all__ = [
    "MULTIGROUP_LABEL",
    "TWO_GROUP_INDICES",
    "MULTIGROUP_INDICES",
    "dissimilarity",
    "isolation",
    "exposure",
    "entropy_theil",
    "gini",
    "location_quotient",
    "multigroup_theil",
    "multigroup_dissimilarity",
    "segregation_table",
]

#: Value of the ``group`` column for the multigroup indices in :func:`segregation_table`.
MULTIGROUP_LABEL = "multigroup"


# --------------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------------


def _unit_labels(obj, positions: np.ndarray) -> list:
    """Labels of the units at ``positions``: the index labels for a Series, else the positions."""
    if isinstance(obj, (pd.Series, pd.DataFrame)):
        return list(obj.index[positions])
    return [int(p) for p in positions]


def _as_count_vector(values, name: str) -> np.ndarray:
    """A 1-D float64 array of finite, non-negative counts (pandas NA counts as invalid)."""
    if isinstance(values, (pd.Series, pd.Index)):
        arr = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        arr = np.asarray(values, dtype="float64")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one count per unit), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} has missing or non-finite counts in unit(s) {_unit_labels(values, np.flatnonzero(bad))}"
        )
    neg = arr < 0
    if neg.any():
        raise ValueError(f"{name} has negative counts in unit(s) {_unit_labels(values, np.flatnonzero(neg))}")
    return arr


def _group_and_total(group, total) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(x, t)`` arrays with units of total 0 dropped."""
    x = _as_count_vector(group, "group")
    t = _as_count_vector(total, "total")
    if x.shape != t.shape:
        raise ValueError(f"group and total must have one count per unit each, got {x.size} and {t.size} units")
    over = x > t
    if over.any():
        labels = _unit_labels(group, np.flatnonzero(over))
        raise ValueError(
            f"group count exceeds the total population in {len(labels)} unit(s): {labels}; "
            "the group must be a subset of the total in every unit"
        )
    keep = t > 0
    return x[keep], t[keep]


def _group_share(x: np.ndarray, t: np.ndarray) -> float | None:
    """Overall share ``P = X / T``; None when the index is undefined (no residents, ``P`` in {0, 1})."""
    total = t.sum()
    if total <= 0:
        return None
    share = x.sum() / total
    if share <= 0 or share >= 1:
        return None
    return float(share)


def _as_count_matrix(counts) -> np.ndarray:
    """A 2-D float64 array (units x groups) of finite, non-negative counts, units with no one dropped."""
    if isinstance(counts, pd.DataFrame):
        arr = counts.to_numpy(dtype="float64", na_value=np.nan)
    else:
        arr = np.asarray(counts, dtype="float64")
    if arr.ndim != 2:
        raise ValueError(f"counts must be two-dimensional (units x groups), got shape {arr.shape}")
    if arr.shape[1] < 2:
        raise ValueError(f"a multigroup index needs at least two groups, got {arr.shape[1]}")
    bad_rows = (~np.isfinite(arr)).any(axis=1)
    if bad_rows.any():
        raise ValueError(
            f"counts has missing or non-finite values in unit(s) {_unit_labels(counts, np.flatnonzero(bad_rows))}"
        )
    neg_rows = (arr < 0).any(axis=1)
    if neg_rows.any():
        raise ValueError(f"counts has negative values in unit(s) {_unit_labels(counts, np.flatnonzero(neg_rows))}")
    return arr[arr.sum(axis=1) > 0]


def _binary_entropy(p: np.ndarray | float) -> np.ndarray | float:
    """``h(p) = p ln(1/p) + (1 - p) ln(1/(1 - p))`` with ``0 ln 0 = 0``."""
    return -xlogy(p, p) - xlogy(1.0 - p, 1.0 - p)


# --------------------------------------------------------------------------------------------------
# two-group indices (group against the rest of the population)
# --------------------------------------------------------------------------------------------------


def dissimilarity(group, total) -> float:
    """Index of dissimilarity (Duncan & Duncan 1955; Massey & Denton 1988, evenness).

    ``D = sum_i t_i |p_i - P| / (2 T P (1 - P))``

    equivalently ``1/2 sum_i |x_i / X - y_i / Y|``: the share of the group (or of the rest) that would have
    to move to another unit for every unit to have the overall share ``P``. Returned on the 0-1 scale;
    German reports show it multiplied by 100 ("Segregationsindex" 0-100) — do that when presenting, not
    here. Same formula as PySAL ``segregation.singlegroup.Dissim``.

    Units with total 0 are dropped. NaN when ``P`` is 0 or 1.
    """
    x, t = _group_and_total(group, total)
    share = _group_share(x, t)
    if share is None:
        return float("nan")
    big_t = t.sum()
    return float(np.sum(t * np.abs(x / t - share)) / (2.0 * big_t * share * (1.0 - share)))


def isolation(group, total) -> float:
    """Isolation index xPx (Massey & Denton 1988, exposure dimension; Lieberson's P*).

    ``xPx = sum_i (x_i / X) (x_i / t_i)``

    the group share in the unit of the average group member (0-1; its floor is ``P``, so compare it with
    ``P``). Same formula as PySAL ``segregation.singlegroup.Isolation``.

    Units with total 0 are dropped. NaN when the group is empty (``X = 0``).
    """
    x, t = _group_and_total(group, total)
    big_x = x.sum()
    if big_x <= 0:
        return float("nan")
    return float(np.sum((x / big_x) * (x / t)))


def exposure(group, total) -> float:
    """Exposure (interaction) index xPy of the group to the rest of the population (Massey & Denton 1988).

    ``xPy = sum_i (x_i / X) (y_i / t_i)`` with ``y_i = t_i - x_i``

    the share of non-members in the unit of the average group member (0-1). With ``y = t - x`` it equals
    ``1 - xPx``. Same formula as PySAL ``segregation.singlegroup.Interaction``.

    Units with total 0 are dropped. NaN when the group is empty (``X = 0``).
    """
    x, t = _group_and_total(group, total)
    big_x = x.sum()
    if big_x <= 0:
        return float("nan")
    return float(np.sum((x / big_x) * ((t - x) / t)))


def entropy_theil(group, total) -> float:
    """Two-group entropy (information theory) index H (Theil 1972; White 1986; Massey & Denton 1988).

    ``E = P ln(1/P) + (1 - P) ln(1/(1 - P))`` (entropy of the whole area),
    ``E_i`` the same with ``p_i`` (``0 ln 0 = 0``),

    ``H = sum_i t_i (E - E_i) / (E T)``

    0 = every unit has the overall mix, 1 = every unit holds only group members or only non-members.
    The logarithm base cancels. Same formula as PySAL ``segregation.singlegroup.Entropy``.

    Units with total 0 are dropped. NaN when ``P`` is 0 or 1 (``E = 0``).
    """
    x, t = _group_and_total(group, total)
    share = _group_share(x, t)
    if share is None:
        return float("nan")
    big_e = _binary_entropy(share)
    e_i = _binary_entropy(x / t)
    return float(np.sum(t * (big_e - e_i)) / (big_e * t.sum()))


def gini(group, total) -> float:
    """Gini segregation index (Massey & Denton 1988, evenness).

    ``G = sum_i sum_j t_i t_j |p_i - p_j| / (2 T^2 P (1 - P))``

    the mean absolute difference of unit shares over all pairs of residents, normalised to 0-1. Same
    formula as PySAL ``segregation.singlegroup.Gini``. Computed in O(n log n): with units sorted by
    ``p``, ``sum_{i<j} t_i t_j (p_j - p_i) = sum_j t_j (p_j C_j - S_j)`` where ``C_j`` and ``S_j`` are the
    sums of ``t`` and ``t p`` over the units before ``j``; the double sum is twice that.

    Units with total 0 are dropped. NaN when ``P`` is 0 or 1.
    """
    x, t = _group_and_total(group, total)
    share = _group_share(x, t)
    if share is None:
        return float("nan")
    p = x / t
    order = np.argsort(p, kind="stable")
    p_sorted, t_sorted = p[order], t[order]
    cum_t_before = np.cumsum(t_sorted) - t_sorted
    cum_tp_before = np.cumsum(t_sorted * p_sorted) - t_sorted * p_sorted
    half_sum = np.sum(t_sorted * (p_sorted * cum_t_before - cum_tp_before))
    big_t = t.sum()
    return float(half_sum / (big_t * big_t * share * (1.0 - share)))


def location_quotient(group, total):
    """Location quotient per unit (Isard, Methods of Regional Analysis, 1960; PySAL
    ``segregation.local.MultiLocationQuotient`` gives the same per group).

    ``LQ_i = p_i / P = (x_i / t_i) / (X / T)``

    1 = the unit has the overall share, 2 = twice the overall share. ``P`` is taken over all units.
    NaN where ``t_i = 0``; all NaN when the group is empty (``X = 0``).

    Returns a float64 array, or a Series with the index of ``group`` when ``group`` is a Series.
    """
    x = _as_count_vector(group, "group")
    t = _as_count_vector(total, "total")
    if x.shape != t.shape:
        raise ValueError(f"group and total must have one count per unit each, got {x.size} and {t.size} units")
    over = x > t
    if over.any():
        labels = _unit_labels(group, np.flatnonzero(over))
        raise ValueError(
            f"group count exceeds the total population in {len(labels)} unit(s): {labels}; "
            "the group must be a subset of the total in every unit"
        )
    big_t, big_x = t.sum(), x.sum()
    lq = np.full(x.shape, np.nan)
    if big_t > 0 and big_x > 0:
        populated = t > 0
        lq[populated] = (x[populated] / t[populated]) / (big_x / big_t)
    if isinstance(group, pd.Series):
        return pd.Series(lq, index=group.index, name="location_quotient")
    return lq


# --------------------------------------------------------------------------------------------------
# multigroup indices
# --------------------------------------------------------------------------------------------------


def _multigroup_totals(counts_2d) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(counts units x groups, unit totals t_i, overall group shares pi_k, grand total T) of a multigroup
    count table; None when nobody is counted."""
    c = _as_count_matrix(counts_2d)
    big_t = c.sum()
    if big_t <= 0:
        return None
    return c, c.sum(axis=1), c.sum(axis=0) / big_t, big_t


def multigroup_theil(counts_2d) -> float:
    """Multigroup information theory index H (Theil 1972; Reardon & Firebaugh 2002).

    For units ``i`` and mutually exclusive groups ``k``: ``t_i = sum_k c_ik`` (the unit total is the sum
    of the groups given, as in PySAL), ``pi_ik = c_ik / t_i``, ``pi_k = sum_i c_ik / T``,

    ``E = -sum_k pi_k ln pi_k``, ``E_i = -sum_k pi_ik ln pi_ik``,

    ``H = sum_i t_i (E - E_i) / (T E) = sum_i sum_k t_i pi_ik ln(pi_ik / pi_k) / (T E)``

    0 = every unit has the overall mix, 1 = every unit holds a single group. Same formula as PySAL
    ``segregation.multigroup.MultiInformationTheory``.

    ``counts_2d``: array or DataFrame, units x groups. Units with no one in any group are dropped.
    NaN when fewer than two groups have members (``E = 0``).
    """
    totals = _multigroup_totals(counts_2d)
    if totals is None:
        return float("nan")
    c, t, pi_k, big_t = totals
    big_e = -np.sum(xlogy(pi_k, pi_k))
    if big_e <= 0:
        return float("nan")
    pi_ik = c / t[:, None]
    e_i = -np.sum(xlogy(pi_ik, pi_ik), axis=1)
    return float(np.sum(t * (big_e - e_i)) / (big_t * big_e))


def multigroup_dissimilarity(counts_2d) -> float:
    """Multigroup (generalised) dissimilarity index (Sakoda 1981; Reardon & Firebaugh 2002).

    With ``t_i``, ``pi_ik``, ``pi_k`` as in :func:`multigroup_theil` (unit total = sum of the groups given)
    and the interaction index ``I = sum_k pi_k (1 - pi_k)``:

    ``D = sum_i sum_k t_i |pi_ik - pi_k| / (2 T I)``

    0-1; reduces to Duncan's D for two groups. Same formula as PySAL
    ``segregation.multigroup.MultiDissim``.

    ``counts_2d``: array or DataFrame, units x groups. Units with no one in any group are dropped.
    NaN when fewer than two groups have members (``I = 0``).
    """
    totals = _multigroup_totals(counts_2d)
    if totals is None:
        return float("nan")
    c, t, pi_k, big_t = totals
    interaction = np.sum(pi_k * (1.0 - pi_k))
    if interaction <= 0:
        return float("nan")
    pi_ik = c / t[:, None]
    return float(np.sum(t[:, None] * np.abs(pi_ik - pi_k)) / (2.0 * big_t * interaction))


# --------------------------------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------------------------------

#: Two-group indices reported per group by :func:`segregation_table`, in output order.
TWO_GROUP_INDICES = {
    "dissimilarity": dissimilarity,
    "isolation": isolation,
    "exposure": exposure,
    "entropy_theil": entropy_theil,
    "gini": gini,
}

#: Multigroup indices reported by :func:`segregation_table`, in output order.
MULTIGROUP_INDICES = {
    "multigroup_theil": multigroup_theil,
    "multigroup_dissimilarity": multigroup_dissimilarity,
}


def segregation_table(
    counts: pd.DataFrame,
    groups: Mapping[str, str],
    total: str,
    multigroup: Sequence[str] | None = None,
) -> pd.DataFrame:
    """All segregation indices of one area as a long table with columns ``index, group, value``.

    ``counts``: one row per unit (district), no total row; ``groups`` maps a group label (used in the
    output) to the column of ``counts`` holding that group's count per unit; ``total`` is the column with
    the total population per unit.

    Rows, in this order:

    * for each group (in the order of ``groups``) the two-group indices of the group against the rest of
      the population (``total - group``): ``dissimilarity`` (0-1; ×100 in reports), ``isolation``,
      ``exposure``, ``entropy_theil``, ``gini``;
    * ``multigroup_theil`` and ``multigroup_dissimilarity`` with group ``"multigroup"``
      (:data:`MULTIGROUP_LABEL`), computed over the groups labelled in ``multigroup`` (default: all of
      ``groups``; pass an empty sequence to leave them out). Those groups must be mutually exclusive
      (e.g. the origin regions); the unit total of the multigroup indices is their sum, as in PySAL, so
      it is not ``total`` unless the groups exhaust the population. If their sum exceeds ``total`` in a
      unit the groups certainly overlap and :class:`ValueError` is raised.

    Units with total 0 are dropped (see the module docstring). Values are floats, NaN where an index is
    undefined (e.g. an empty group).
    """
    missing = [col for col in [total, *groups.values()] if col not in counts.columns]
    if missing:
        raise ValueError(f"counts has no column(s) {missing}; columns are {list(counts.columns)}")
    if multigroup is None:
        multigroup = list(groups)
    unknown = [label for label in multigroup if label not in groups]
    if unknown:
        raise ValueError(f"multigroup names unknown group label(s) {unknown}; known are {list(groups)}")

    total_counts = counts[total]
    rows: list[tuple[str, str, float]] = []
    for label, column in groups.items():
        for index_name, func in TWO_GROUP_INDICES.items():
            rows.append((index_name, label, func(counts[column], total_counts)))

    if len(multigroup) > 0:
        if len(multigroup) < 2:
            raise ValueError(f"multigroup indices need at least two groups, got {list(multigroup)}")
        columns = [groups[label] for label in multigroup]
        group_counts = counts[columns]
        row_sum = group_counts.to_numpy(dtype="float64", na_value=np.nan).sum(axis=1)
        total_arr = _as_count_vector(total_counts, "total")
        overlap = row_sum > total_arr
        if overlap.any():
            labels = list(counts.index[overlap])
            raise ValueError(
                f"the multigroup groups {list(multigroup)} add up to more than '{total}' in unit(s) "
                f"{labels}: they overlap; pass multigroup= with mutually exclusive groups"
            )
        populated = total_arr > 0
        for index_name, func in MULTIGROUP_INDICES.items():
            rows.append((index_name, MULTIGROUP_LABEL, func(group_counts[populated])))

    table = pd.DataFrame(rows, columns=["index", "group", "value"])
    return table.astype({"index": "str", "group": "str", "value": "float64"})
