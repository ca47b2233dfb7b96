"""Cell suppression: primary suppression of small counts, secondary suppression, shares and rates.

Rules (docs/spec "Publishing without disclosing anyone"; the city's statistical yearbook and the
Federal Employment Agency mark suppressed cells with ``*``):

* primary: a count ``n`` with ``1 <= n < min_count`` (default 3: counts 1 and 2) is suppressed;
  zero stays zero (a zero reveals nothing about a person);
* secondary: where totals are published, further non-zero cells are suppressed until the LP audit
  (:mod:`quarterstats.disclosure.audit`) can neither recover any suppressed cell exactly nor pin
  it into ``[1, min_count - 1]``;
* shares/rates ``numerator / denominator`` are published only where ``denominator >=
  min_denominator`` (default 10) and the numerator is publishable.

Masks are boolean DataFrames aligned with the count table, True = suppressed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from .audit import FlowAuditor, TableAuditor, _layout

__all__ = [
    "SUPPRESSED_MARK",
    "primary_mask",
    "secondary_suppression",
    "suppression_mask",
    "suppress_rates",
    "apply_mask",
]

SUPPRESSED_MARK = "*"


def primary_mask(counts: pd.DataFrame, min_count: int = 3) -> pd.DataFrame:
    """True where ``1 <= count <= min_count - 1`` (primary suppression); zeros and NA stay False.

    Applies to every cell given, totals included (a total of 1 or 2 is a small count too).
    """
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    numeric = counts.apply(pd.to_numeric, errors="raise")
    small = (numeric >= 1) & (numeric < min_count)
    return small.fillna(False).astype(bool)


def secondary_suppression(
    counts: pd.DataFrame,
    primary: pd.DataFrame,
    *,
    row_total: bool,
    col_total: bool,
    min_count: int = 3,
    known_nonzero: bool = True,
    prune: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Complete a primary mask so that no suppressed cell can be derived from the published table.

    ``counts``: 2-D table of non-negative integer counts (rows = districts, optionally with the
    total row ``"city"``/the last row; columns = categories, optionally with the total column
    ``"total"``/the last column; rows and columns must add up to the totals). ``row_total`` /
    ``col_total`` say whether the total row / total column is published. Returns the full mask
    (primary | secondary).

    Algorithm (deterministic): take the first suppressed cell (row-major order) that is the only
    suppressed cell of one of its lines, else the first disclosed cell the audit (intruder's
    bounds, see :mod:`.audit`) reports; suppress a partner among the published non-zero cells of
    its lines (the rows/columns that add up to a total and contain it), preferring a line in which
    it is the only suppressed cell, then non-total cells, then the smallest value, then position;
    repeat until the audit finds nothing. Suppressing all non-zero cells is always safe (every
    scaled copy ``t * x``, ``t >= 1``, of the table then fits), so the loop ends. With
    ``prune=True`` every added cell is then tried for release, largest value first, and published
    again if the table stays safe without it. Zeros are never chosen. The information loss this
    minimises greedily is the suppressed value (small cells are hidden rather than large ones),
    not the number of suppressed cells.

    The loop computes the intruder's bounds as maximum flows (:class:`.audit.FlowAuditor`, exact
    for these tables and much faster); with ``verify=True`` the result is checked once more with
    the linear-programming audit (``scipy.optimize.linprog``), which then drives the loop should it
    find anything. ``known_nonzero``: see :func:`.audit.recoverable_cells`.
    """
    counts_arr = _count_array(counts)
    prim = _align_mask(primary, counts)
    if np.any(prim & (counts_arr == 0)):
        raise ValueError("primary mask marks a zero cell; zeros are never suppressed")
    layout = _layout(counts, row_total, col_total)
    if layout.relations.shape[0] and np.any(np.abs(layout.relations @ counts_arr.ravel()) > 0):
        raise ValueError(
            "counts are not additive: the inner cells do not add up to the totals "
            "(check row_total/col_total and where the total row/column sits)"
        )
    ctx = _Context.build(counts_arr, layout, min_count)
    flow = FlowAuditor(counts_arr, layout, known_nonzero)
    mask, added = _complete(prim.ravel().copy(), flow, ctx)
    if prune and added:
        mask = _prune(mask, added, flow, ctx)
    if verify:  # the LP audit must agree; if it ever did not, continue with the LP audit itself
        lp = TableAuditor(counts_arr, layout, known_nonzero)
        if lp.disclosed(mask.reshape(counts_arr.shape), min_count):
            mask, _ = _complete(mask, lp, ctx)
    return pd.DataFrame(mask.reshape(counts_arr.shape), index=counts.index, columns=counts.columns)


def suppression_mask(
    counts: pd.DataFrame, *, row_total: bool, col_total: bool, min_count: int = 3
) -> pd.DataFrame:
    """Primary and secondary suppression in one call: the mask to publish ``counts`` with."""
    return secondary_suppression(
        counts,
        primary_mask(counts, min_count),
        row_total=row_total,
        col_total=col_total,
        min_count=min_count,
    )


def suppress_rates(
    numerators, denominators, min_denominator: int = 10, num_mask=None, den_mask=None
):
    """Mask (True = do not publish) for shares/rates ``numerator / denominator``.

    A rate is suppressed where the denominator is missing or ``< min_denominator``, the numerator
    is missing, or the numerator is suppressed (``num_mask``: the full mask of the count table,
    primary and secondary). Optional ``den_mask``: also suppress where the denominator count is
    suppressed (else it could be recomputed as numerator / rate). Works element-wise on aligned
    Series or DataFrames (arrays are treated as Series); returns the same kind.
    """
    num = _numeric(numerators)
    den = _numeric(denominators)
    if num.shape != den.shape:
        raise ValueError("numerators and denominators must have the same shape")
    mask = (den.isna() | (den < min_denominator) | num.isna()).fillna(True).astype(bool)
    for extra in (num_mask, den_mask):
        if extra is not None:
            mask = mask | _mask_like(extra, mask)
    return mask


def apply_mask(df, mask):
    """Copy of ``df`` with the masked cells set to NA (integer columns become nullable ``Int64``,
    so published counts stay integers). The table writer prints NA as :data:`SUPPRESSED_MARK`."""
    m = _mask_like(mask, df)
    if isinstance(df, pd.Series):
        out = df.astype("Int64") if pd.api.types.is_integer_dtype(df.dtype) else df.copy()
        return out.mask(m)
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_integer_dtype(out[col].dtype):
            out[col] = out[col].astype("Int64")
    return out.mask(m)


# --------------------------------------------------------------------------------------------
# internals


class _Context(NamedTuple):
    shape: tuple[int, int]
    values: np.ndarray
    rel: np.ndarray  # lines x cells, True where the cell belongs to the line
    lines: csr_matrix  # the same as a sparse 0/1 matrix, for the per-round count of each line
    is_total: np.ndarray
    min_count: int

    @classmethod
    def build(cls, counts_arr: np.ndarray, layout, min_count: int) -> "_Context":
        rel = layout.relations != 0
        return cls(
            counts_arr.shape,
            counts_arr.ravel().astype(float),
            rel,
            csr_matrix(rel.astype(np.int64)),
            layout.is_total(),
            min_count,
        )


def _complete(mask: np.ndarray, auditor, ctx: _Context) -> tuple[np.ndarray, list[int]]:
    """Add partners until ``auditor`` finds no disclosed cell; returns (mask, added cells)."""
    values, rel, is_total = ctx.values, ctx.rel, ctx.is_total
    position = np.arange(mask.size)
    added: list[int] = []
    # Cells the audit found safe. Suppressing more cells only widens the intruder's intervals, so
    # they stay safe for the rest of the loop and are not audited again.
    safe = np.zeros(mask.size, dtype=bool)
    while True:
        # act first on a cell that is the only suppressed one in some line (recoverable by plain
        # subtraction, no audit needed); cells recovered through a chain of lines or through the
        # bounds usually follow from such a cell
        leaky = _leaky_cells(mask, ctx.lines)
        if leaky.size:
            cell = int(leaky[0])
        else:
            audited = mask & ~safe
            disclosed = auditor.disclosed(mask.reshape(ctx.shape), ctx.min_count, cells=audited)
            safe |= audited
            if not disclosed:
                return mask, added
            safe[[k for k, _, _ in disclosed]] = False
            cell = disclosed[0][0]
        choice = _choose_partner(cell, mask, values, rel, is_total, position)
        if choice is None:  # nothing left to suppress near it: fall back to any non-zero cell
            free = np.flatnonzero(~mask & (values > 0))
            if len(free) == 0:
                raise RuntimeError("secondary suppression failed: nothing left to suppress")
            order = np.lexsort((position[free], values[free], is_total[free]))
            choice = int(free[order[0]])
        mask = mask.copy()
        mask[choice] = True
        added.append(choice)


def _prune(mask: np.ndarray, added: list[int], auditor: FlowAuditor, ctx: _Context) -> np.ndarray:
    """Publish again every added cell (largest value first) whose release keeps the table safe."""
    releases = auditor.releases(mask.reshape(ctx.shape), ctx.min_count)
    for cell in sorted(set(added), key=lambda k: (-ctx.values[k], k)):
        trial = mask.copy()
        trial[cell] = False
        if _leaky_cells(trial, ctx.lines).size:
            continue
        if releases.release(cell):
            mask = trial
    return mask


def _leaky_cells(mask: np.ndarray, lines: csr_matrix) -> np.ndarray:
    """Suppressed cells (position order) that are the only suppressed cell of some line
    (``lines``: lines x cells, 1 where the cell belongs to the line)."""
    if lines.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    single = (lines @ mask.astype(np.int64)) == 1
    if not single.any():
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((lines.T @ single.astype(np.int64) > 0) & mask)


def _leaky_lines(cell, mask, rel):
    """Lines (relations) containing ``cell`` in which it is the only suppressed cell."""
    lines = np.flatnonzero(rel[:, cell])
    return lines[(rel[lines] & mask[None, :]).sum(axis=1) == 1]


def _choose_partner(cell, mask, values, rel, is_total, position):
    """Published non-zero cell to suppress next to ``cell`` (None if its lines have none left)."""
    lines = np.flatnonzero(rel[:, cell])
    if len(lines) == 0:
        return None
    for group in (_leaky_lines(cell, mask, rel), lines):
        if len(group) == 0:
            continue
        cand = np.flatnonzero(rel[group].any(axis=0) & ~mask & (values > 0))
        if len(cand):
            order = np.lexsort((position[cand], values[cand], is_total[cand]))
            return int(cand[order[0]])
    return None


def _numeric(x):
    if isinstance(x, pd.DataFrame):
        return x.apply(pd.to_numeric, errors="raise").astype("Float64")
    if not isinstance(x, pd.Series):
        x = pd.Series(np.asarray(x))
    return pd.to_numeric(x, errors="raise").astype("Float64")


def _mask_like(mask, like):
    """``mask`` as a boolean Series/DataFrame with the labels of ``like`` (NA counts as False).
    Pandas masks are aligned on labels and must cover all of ``like``; arrays by position."""
    if isinstance(mask, (pd.DataFrame, pd.Series)):
        if isinstance(like, pd.DataFrame) != isinstance(mask, pd.DataFrame):
            raise ValueError("mask and table must both be DataFrames or both be Series")
        m = mask.astype("boolean").fillna(False)
        if isinstance(like, pd.DataFrame):
            m = m.reindex(index=like.index, columns=like.columns)
        else:
            m = m.reindex(like.index)
        if m.isna().to_numpy().any():
            raise ValueError("mask does not cover every cell of the table")
        return m.astype(bool)
    arr = np.asarray(mask, dtype=bool)
    if arr.shape != like.shape:
        raise ValueError("mask must have the same shape as the table")
    if isinstance(like, pd.DataFrame):
        return pd.DataFrame(arr, index=like.index, columns=like.columns)
    return pd.Series(arr, index=like.index)


def _count_array(counts: pd.DataFrame) -> np.ndarray:
    if counts.isna().to_numpy().any():
        raise ValueError("counts must not contain NA")
    arr = counts.to_numpy(dtype=float)
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("counts must be non-negative integers")
    return arr.astype(np.int64)


def _align_mask(mask, counts: pd.DataFrame) -> np.ndarray:
    if isinstance(mask, pd.DataFrame):
        if not (mask.index.equals(counts.index) and mask.columns.equals(counts.columns)):
            raise ValueError("mask must have the same index and columns as counts")
        return mask.astype("boolean").fillna(False).to_numpy(dtype=bool)
    arr = np.asarray(mask, dtype=bool)
    if arr.shape != counts.shape:
        raise ValueError("mask must have the same shape as counts")
    return arr
