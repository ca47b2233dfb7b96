"""Audit of a suppressed table: can an intruder recover a suppressed cell from what is published?

Model: the standard intruder of cell suppression (as in the audit step of tau-ARGUS; Hundepool et
al., *Statistical Disclosure Control*, Wiley 2012, on tabular data). The published table is a 2-D
table of non-negative integer counts whose rows add up to a published total column and/or whose
columns add up to a published total row. Every suppressed cell (totals included) is an unknown
``x``. For each unknown ``x_k`` the intruder solves two linear programmes
(``scipy.optimize.linprog``, HiGHS)

    lower_k = min x_k,   upper_k = max x_k
    subject to  sum(inner cells of a line) = total of that line   (every additive row/column)
                published cells fixed at their values
                x >= 1   (a suppressed cell is never 0, because zeros are always published)
                         [x >= 0 with known_nonzero=False: plain non-negativity]

Two shortcuts give the same answer with fewer LPs: unknowns that share a single line get the LP
optimum in closed form, and a cell already seen at values that make it safe in some LP solutions
(each is a feasible table) needs no LPs of its own.

``known_nonzero=True`` (default) is stricter than plain non-negativity and matches the publication
rule: since a zero is never suppressed, a ``*`` tells the intruder the cell is at least 1 (two
hidden cells summing to 2 are then both exactly 1).

A cell is **disclosed** when

* it is recoverable: its feasible interval holds at most one integer, i.e.
  ``floor(upper) - ceil(lower) < 1`` (for these tables the LP bounds are integers, so this equals
  ``upper - lower < 1``), or
* its interval lies entirely within ``[1, min_count - 1]``: the intruder learns that a small count
  (1 or 2 by default) sits there (interval protection).

Which row/column holds the totals: with ``row_total=True`` the total row is the row labelled
``"city"`` if there is one, else the last row; with ``col_total=True`` the total column is the one
labelled ``"total"`` if there is one, else the last column.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "RecoveredCell",
    "TOTAL_ROW_LABEL",
    "TOTAL_COLUMN_LABEL",
    "feasible_intervals",
    "recoverable_cells",
]

TOTAL_ROW_LABEL = "city"
TOTAL_COLUMN_LABEL = "total"
_EPS = 1e-6  # tolerance when rounding LP bounds to integers
_NO_TABLE_FITS = ("no table fits the published values (not additive, or a suppressed cell would have "
                  "to be 0 although zeros are always published)")


class RecoveredCell(NamedTuple):
    """A disclosed suppressed cell: its labels and the intruder's feasible interval."""

    row: Hashable
    col: Hashable
    lower: float
    upper: float

    @property
    def exact(self) -> bool:
        """True when the value is determined (at most one integer in the interval)."""
        return _is_exact(self.lower, self.upper)


def feasible_intervals(
    published: pd.DataFrame, row_total: bool, col_total: bool, *, known_nonzero: bool = True
) -> pd.DataFrame:
    """Feasible interval of every suppressed (NA) cell: columns ``row, col, lower, upper``
    (``upper`` is ``inf`` when unbounded), in row-major position order."""
    values, mask = _published_arrays(published)
    auditor = TableAuditor(values, _layout(published, row_total, col_total), known_nonzero)
    auditor.check_published_relations(mask)
    lower, upper = auditor.intervals(mask)
    idx = np.flatnonzero(mask.ravel())
    n_cols = published.shape[1]
    return pd.DataFrame(
        {
            "row": [published.index[k // n_cols] for k in idx],
            "col": [published.columns[k % n_cols] for k in idx],
            "lower": lower[idx],
            "upper": upper[idx],
        }
    )


def recoverable_cells(
    published: pd.DataFrame,
    row_total: bool,
    col_total: bool,
    *,
    min_count: int = 3,
    known_nonzero: bool = True,
) -> list[RecoveredCell]:
    """Suppressed (NA) cells of ``published`` that an intruder can recover exactly or pin into
    ``[1, min_count - 1]`` (see module docstring); empty list = the table is safe.

    Returns ``(row, col, lower, upper)`` tuples in row-major position order. Raises ``ValueError``
    when the published values contradict the totals (the table is not additive).
    """
    values, mask = _published_arrays(published)
    auditor = TableAuditor(values, _layout(published, row_total, col_total), known_nonzero)
    auditor.check_published_relations(mask)
    n_cols = published.shape[1]
    return [
        RecoveredCell(published.index[k // n_cols], published.columns[k % n_cols], lo, hi)
        for k, lo, hi in auditor.disclosed(mask, min_count)
    ]


# --------------------------------------------------------------------------------------------
# internals shared with suppression.py


class TableLayout(NamedTuple):
    shape: tuple[int, int]
    total_row: int | None
    total_col: int | None
    relations: np.ndarray  # (n_relations, n_cells): +1 inner cell, -1 the line's total, 0 else

    def is_total(self) -> np.ndarray:
        """Boolean (n_cells,) marking cells in the total row or total column."""
        n_rows, n_cols = self.shape
        grid = np.zeros(self.shape, dtype=bool)
        if self.total_row is not None:
            grid[self.total_row, :] = True
        if self.total_col is not None:
            grid[:, self.total_col] = True
        return grid.ravel()


def _layout(frame: pd.DataFrame, row_total: bool, col_total: bool) -> TableLayout:
    n_rows, n_cols = frame.shape
    if n_rows == 0 or n_cols == 0:
        raise ValueError("empty table")
    total_row = total_col = None
    if row_total:
        total_row = _total_position(frame.index, TOTAL_ROW_LABEL, "row")
    if col_total:
        total_col = _total_position(frame.columns, TOTAL_COLUMN_LABEL, "column")
    rel = []
    cell = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    if total_col is not None:  # every row adds up to its entry in the total column
        for r in range(n_rows):
            m = np.zeros(n_rows * n_cols)
            m[cell[r]] = 1.0
            m[cell[r, total_col]] = -1.0
            rel.append(m)
    if total_row is not None:  # every column adds up to its entry in the total row
        for c in range(n_cols):
            m = np.zeros(n_rows * n_cols)
            m[cell[:, c]] = 1.0
            m[cell[total_row, c]] = -1.0
            rel.append(m)
    relations = np.array(rel) if rel else np.zeros((0, n_rows * n_cols))
    return TableLayout((n_rows, n_cols), total_row, total_col, relations)


def _total_position(labels: pd.Index, preferred: str, what: str) -> int:
    if len(labels) < 2:
        raise ValueError(f"a table with a total {what} needs at least two {what}s")
    hits = np.flatnonzero(labels == preferred)
    if len(hits) > 1:
        raise ValueError(f"more than one {what} labelled {preferred!r}")
    return int(hits[0]) if len(hits) else len(labels) - 1


def _published_arrays(published: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    mask = published.isna().to_numpy()
    try:
        values = published.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise ValueError("published table must be numeric (NA for suppressed cells)") from err
    if np.any(values[~mask] < 0):
        raise ValueError("counts must be non-negative")
    return np.where(mask, 0.0, values), mask


def _is_exact(lower: float, upper: float) -> bool:
    return bool(np.floor(upper + _EPS) - np.ceil(lower - _EPS) < 1)


class _Auditor:
    """Shared part of the two audits: decision rule and connected components of unknowns."""

    values: np.ndarray
    layout: TableLayout

    def intervals(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def disclosed(self, mask: np.ndarray, min_count: int) -> list[tuple[int, float, float]]:
        """(cell index, lower, upper) of the disclosed cells, in position order."""
        lower, upper = self.intervals(mask)
        out = []
        for k in np.flatnonzero(mask.ravel()):
            if _is_disclosed(float(lower[k]), float(upper[k]), min_count):
                out.append((int(k), float(lower[k]), float(upper[k])))
        return out

    def _components(self, unknown: np.ndarray) -> list[np.ndarray]:
        """Suppressed cells linked through shared relations (row-major within a component)."""
        if len(unknown) == 0:
            return []
        incidence = csr_matrix((self.layout.relations[:, unknown] != 0).astype(np.int64))
        adjacency = incidence.T @ incidence
        n, labels = connected_components(adjacency, directed=False)
        return [unknown[labels == c] for c in range(n)]


def _is_disclosed(lower: float, upper: float, min_count: int) -> bool:
    small = np.ceil(lower - _EPS) >= 1 and np.floor(upper + _EPS) <= min_count - 1
    return _is_exact(lower, upper) or bool(small)


class TableAuditor(_Auditor):
    """LP audit of one table (``scipy.optimize.linprog``); caches per connected component.

    ``values``: all cell values (those of suppressed cells are never read). A component's
    intervals depend only on its set of suppressed cells (the published cells of its relations are
    all the others), so they can be cached across masks.
    """

    def __init__(self, values: np.ndarray, layout: TableLayout, known_nonzero: bool = True):
        self.values = np.asarray(values, dtype=float).ravel()
        self.layout = layout
        self.lower_bound = 1.0 if known_nonzero else 0.0
        self._cache: dict[frozenset, tuple[np.ndarray, np.ndarray]] = {}

    def check_published_relations(self, mask: np.ndarray) -> None:
        rel = self.layout.relations
        if rel.shape[0] == 0:
            return
        unknown = mask.ravel()
        complete = ~np.any(rel[:, unknown] != 0, axis=1)
        residual = rel[complete] @ np.where(unknown, 0.0, self.values)
        if np.any(np.abs(residual) > 1e-9):
            raise ValueError(
                "the table is not additive: published cells do not add up to the totals"
            )

    def intervals(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arrays (n_cells,) of lower/upper bounds; NaN for published cells."""
        unknown = np.flatnonzero(mask.ravel())
        lower = np.full(self.values.shape, np.nan)
        upper = np.full(self.values.shape, np.nan)
        for comp in self._components(unknown):
            key = frozenset(comp.tolist())
            if key not in self._cache:
                self._cache[key] = self._solve(comp)
            lower[comp], upper[comp] = self._cache[key]
        return lower, upper

    def disclosed(
        self, mask: np.ndarray, min_count: int, cells: np.ndarray | None = None
    ) -> list[tuple[int, float, float]]:
        """(cell index, lower, upper) of the disclosed cells, in position order; with ``cells``
        (boolean, one per table cell) only those suppressed cells are checked.

        Saves LPs: every LP solution is a feasible table, so a cell whose values over the
        solutions found so far already span an interval that is neither exact nor inside
        ``[1, min_count - 1]`` is safe and needs no LPs of its own. A few LPs that move many cells
        at once come first (see :meth:`_solve`). Disclosed cells always get both LPs, so their
        bounds are exact. Cells that share a single line get their bounds in closed form.
        """
        out = []
        for comp in self._components(np.flatnonzero(mask.ravel())):
            key = frozenset(comp.tolist())
            if key in self._cache:  # full intervals known
                lo, hi = self._cache[key]
                out.extend(
                    (int(k), float(a), float(b))
                    for k, a, b in zip(comp, lo, hi)
                    if (cells is None or cells[k]) and _is_disclosed(float(a), float(b), min_count)
                )
                continue
            if cells is not None and not cells[comp].any():
                continue
            lower, upper = self._solve(comp, min_count, None if cells is None else cells[comp])
            for j, k in enumerate(comp):
                if np.isnan(lower[j]) or np.isnan(upper[j]):
                    continue  # proven safe without LPs of its own
                if _is_disclosed(lower[j], upper[j], min_count):
                    out.append((int(k), float(lower[j]), float(upper[j])))
        return sorted(out)

    def _solve(
        self, comp: np.ndarray, min_count: int | None = None, wanted: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """LP bounds ``(lower, upper)`` for one component. With ``min_count`` given, cells proven
        safe by the LP solutions found along the way are skipped (their bounds stay NaN), and so
        are the cells that ``wanted`` (boolean, one per cell of ``comp``) leaves out."""
        rel = self.layout.relations
        rows = np.flatnonzero(np.any(rel[:, comp] != 0, axis=1))
        n = len(comp)
        if len(rows) == 0:
            return np.full(n, self.lower_bound), np.full(n, np.inf)
        if len(rows) == 1:  # one line: the optimum of every LP in closed form
            return self._one_line(comp, int(rows[0]))
        known = np.ones(self.values.shape, dtype=bool)
        known[comp] = False
        a_eq = csr_matrix(rel[np.ix_(rows, comp)])
        b_eq = -(rel[rows][:, known] @ self.values[known])
        bounds = [(self.lower_bound, None)] * n
        lower = np.full(n, np.nan)
        upper = np.full(n, np.nan)
        seen_lo = np.full(n, np.inf)
        seen_hi = np.full(n, -np.inf)

        def proven_safe(j: int) -> bool:
            if min_count is None:
                return False
            if wanted is not None and not wanted[j]:
                return True
            return not _is_disclosed(seen_lo[j], seen_hi[j], min_count)

        def solve(c: np.ndarray):
            result = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if result.status == 2:
                raise ValueError(_NO_TABLE_FITS)
            if result.status not in (0, 3):
                raise RuntimeError(f"linprog failed: {result.message}")
            return result

        if min_count is not None and n > 2:
            # Tables in bulk first: push the cells not yet proven safe up and down together along a
            # few fixed sign patterns (all +1, then alternating in blocks of 1, 2, 4, 8 cells; the
            # sum of all unknowns of a line is fixed, so the patterns must mix signs). On a large
            # safe table a few such LPs prove most cells safe; only the rest get LPs of their own.
            pending = np.array([j for j in range(n) if not proven_safe(j)], dtype=np.int64)
            for block in (0, 1, 2, 4, 8):
                if len(pending) == 0:
                    break
                place = np.arange(len(pending))
                pattern = np.ones(len(pending)) if block == 0 else 1.0 - 2.0 * ((place // block) % 2)
                for direction in (-1.0, 1.0):
                    c = np.zeros(n)
                    c[pending] = direction * pattern
                    result = solve(c)
                    if result.status == 0:
                        seen_lo, seen_hi = np.minimum(seen_lo, result.x), np.maximum(seen_hi, result.x)
                pending = pending[np.array([not proven_safe(j) for j in pending], dtype=bool)]

        for j in range(n):
            if proven_safe(j):
                continue
            c = np.zeros(n)
            c[j] = 1.0
            lo = solve(c)
            if lo.status != 0:  # a cell bounded below cannot fall without limit
                raise RuntimeError(f"linprog failed: {lo.message}")
            lower[j] = lo.fun
            seen_lo, seen_hi = np.minimum(seen_lo, lo.x), np.maximum(seen_hi, lo.x)
            if proven_safe(j):
                continue
            hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if hi.status == 3:
                upper[j] = np.inf
            elif hi.status == 0:
                upper[j] = -hi.fun
                seen_lo, seen_hi = np.minimum(seen_lo, hi.x), np.maximum(seen_hi, hi.x)
            else:
                raise RuntimeError(f"linprog failed: {hi.message}")
        return lower, upper

    def _one_line(self, comp: np.ndarray, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Bounds when the unknowns share a single line ``sum(a_i x_i) = b`` (``a_i = +1`` for
        inner cells, ``-1`` for the line's total), ``x_i >= l`` (the lower bound), as the LPs would
        find them: for a cell with ``a_j = +1``, ``x_j = b - sum(+1 others) + sum(-1 others)``, so
        its minimum is ``l`` if another ``+1`` cell can rise without limit, else
        ``max(l, b + l * #(-1 others))``, and its maximum is unbounded if a ``-1`` cell can rise,
        else ``b - l * #(+1 others)``; the same with the signs swapped (and ``-b``) for ``a_j = -1``.
        """
        rel = self.layout.relations[row]
        a = rel[comp]
        known = np.ones(self.values.shape, dtype=bool)
        known[comp] = False
        b = -(rel[known] @ self.values[known])
        lb = float(self.lower_bound)
        plus = a > 0
        same = np.where(plus, np.count_nonzero(plus), np.count_nonzero(~plus)) - 1  # others, same sign
        other = len(comp) - 1 - same  # others of the opposite sign
        rhs = np.where(plus, b, -b)
        lower = np.where(same > 0, lb, np.maximum(lb, rhs + lb * other))
        upper = np.where(other > 0, np.inf, rhs - lb * same)
        if np.any(upper < lower - _EPS):
            raise ValueError(_NO_TABLE_FITS)
        return lower.astype(float), upper.astype(float)


class FlowAuditor(_Auditor):
    """The same bounds as :class:`TableAuditor`, computed as maximum flows (needs the true counts).

    With the totals negated, a 2-D table with margins has all its lines summing to zero: put
    ``E[r, c] = s * x[r, c]`` with ``s = -1`` for cells of exactly one published total line
    (total column or total row) and ``+1`` otherwise (inner cells, grand total). A feasible change
    ``d`` of the suppressed cells keeps every line sum at zero, i.e. it is a circulation on the
    bipartite graph row-node -> column-node with one arc pair per suppressed cell (lines that are
    not constrained collapse into one node). Raising ``E`` is unlimited; lowering it is limited by
    ``x - lower_bound`` (the other way round for ``s = -1``). By max-flow/min-cut, the largest
    increase (decrease) of ``x_k`` is the maximum flow between the two ends of cell k's arc in the
    graph without that cell (a decrease also capped by ``x_k - lower_bound``). The bounds are
    integers and equal the LP bounds. ``disclosed`` only needs to know whether the flows reach
    ``min_count``, so it stops augmenting there (the reported bounds of disclosed cells are exact).

    Three facts keep the secondary suppression fast on tables with thousands of suppressed cells:

    * suppressing a further cell only widens every interval (each feasible table stays feasible
      with the new unknown at its true value), so a cell found safe stays safe while cells are
      added: ``disclosed(..., cells=...)`` checks only the cells that may still be disclosed;
    * a flow that stays below the limit is bounded by a minimum cut; an added cell changes it only
      if one of its arcs leaves that cut, so ``disclosed`` keeps the bounds of cells that are still
      disclosed from one call to the next and computes them again only then;
    * publishing a suppressed cell again only removes its arcs, so a cell whose flows did not pass
      through it keeps its flows: :meth:`releases` recomputes only those that did.
    """

    def __init__(self, values: np.ndarray, layout: TableLayout, known_nonzero: bool = True):
        self.values = np.asarray(values, dtype=np.int64).ravel()
        self.layout = layout
        self.lower_bound = 1 if known_nonzero else 0
        n_rows, n_cols = layout.shape
        has_rows = layout.total_col is not None  # rows add up to the total column
        has_cols = layout.total_row is not None  # columns add up to the total row
        self.active = has_rows or has_cols
        r, c = np.divmod(np.arange(n_rows * n_cols), n_cols)
        n_row_nodes = n_rows if has_rows else 1
        self.u = r if has_rows else np.zeros_like(r)
        self.w = n_row_nodes + (c if has_cols else np.zeros_like(c))
        self.n_nodes = n_row_nodes + (n_cols if has_cols else 1)
        in_total_col = has_rows & (c == layout.total_col)
        in_total_row = has_cols & (r == layout.total_row)
        self.sign = np.where(in_total_col ^ in_total_row, -1, 1)
        # each cell's arc capacities (used for suppressed cells): u -> w raises E, w -> u lowers it
        slack = self.values - float(self.lower_bound)
        self.up = np.where(self.sign > 0, np.inf, slack)
        self.down = np.where(self.sign > 0, slack, np.inf)
        # bounds kept by ``disclosed`` while the masks only grow: cell -> (lower, upper, cuts,
        # number of added cells already checked against the cuts)
        self._kept: dict[int, tuple[float, float, list[set[int]], int]] = {}
        self._added: list[int] = []
        self._last: np.ndarray | None = None
        self._last_min_count: int | None = None

    def intervals(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lower = np.full(self.values.shape, np.nan)
        upper = np.full(self.values.shape, np.nan)
        graph = _FlowGraph(self, np.flatnonzero(mask.ravel()))
        for j, k in enumerate(graph.cells):
            lower[k], upper[k], _, _ = graph.bounds(j, np.inf)
        return lower, upper

    def disclosed(
        self, mask: np.ndarray, min_count: int, cells: np.ndarray | None = None
    ) -> list[tuple[int, float, float]]:
        """(cell index, lower, upper) of the disclosed cells, in position order; with ``cells``
        (boolean, one per table cell) only those suppressed cells are checked.

        While successive calls only add suppressed cells, a cell's bounds are kept with the
        minimum cuts of its flows that stayed below the limit, and computed again only when an
        added cell has an arc leaving such a cut (else the cut still bounds the flow, which cannot
        shrink in a larger graph)."""
        limit = float(max(min_count, 1))
        flat = mask.ravel()
        added = self._follow(flat, min_count)
        graph = None
        out = []
        for k in np.flatnonzero(flat).tolist():
            if cells is not None and not cells[k]:
                continue
            kept = self._kept.get(k)
            if kept is None or self._crossed(kept[2], added[kept[3]:]):
                if graph is None:
                    graph = _FlowGraph(self, np.flatnonzero(flat))
                    position = {cell: j for j, cell in enumerate(graph.cells)}
                lo, hi, _, cuts = graph.bounds(position[k], limit)
                kept = (lo, hi, cuts, len(added))
            else:
                kept = (*kept[:3], len(added))
            self._kept[k] = kept
            if _is_disclosed(kept[0], kept[1], min_count):
                out.append((k, kept[0], kept[1]))
        return out

    def _follow(self, flat: np.ndarray, min_count: int) -> list[int]:
        """The cells suppressed since the kept bounds began, in order; forgets the kept bounds
        when ``flat`` is not a superset of the previous mask or ``min_count`` changed."""
        if self._last is None or min_count != self._last_min_count or np.any(self._last & ~flat):
            self._kept, self._added = {}, []
        else:
            self._added.extend(np.flatnonzero(flat & ~self._last).tolist())
        self._last, self._last_min_count = flat.copy(), min_count
        return self._added

    def _crossed(self, cuts: list[set[int]], added: list[int]) -> bool:
        """Whether an added cell has an arc with capacity leaving one of the cuts."""
        for c in added:
            u, w, up, down = int(self.u[c]), int(self.w[c]), self.up[c], self.down[c]
            for cut in cuts:
                if (u in cut and w not in cut and up > 0) or (w in cut and u not in cut and down > 0):
                    return True
        return False

    def releases(self, mask: np.ndarray, min_count: int) -> "_Releases":
        """Try publishing suppressed cells of the safe ``mask`` again, one at a time (see
        :class:`_Releases`)."""
        return _Releases(self, mask, min_count)


class _FlowGraph:
    """Residual graph of the suppressed cells of one mask (the arcs of :class:`FlowAuditor`).

    Cell ``j`` (position in ``cells``) is one arc pair between node ``u[j]`` and node ``w[j]``:
    ``u -> w`` with capacity ``up[j]`` (raising ``E``) and ``w -> u`` with ``down[j]``. A flow is
    kept as the net amount ``phi[j]`` sent from ``u`` to ``w``: residual capacities are
    ``up - phi`` forward and ``down + phi`` backward. Flows are plain Python (breadth-first
    augmenting paths, Edmonds-Karp): the augmentations stop at a small limit, and the graphs have a
    few hundred nodes, for which this beats building arrays for a compiled solver per flow.
    """

    def __init__(self, auditor: FlowAuditor, cells: np.ndarray):
        self.cells = [int(k) for k in cells]
        self.active = auditor.active
        self.lower_bound = float(auditor.lower_bound)
        x = auditor.values[cells].astype(float)
        slack = x - auditor.lower_bound
        if np.any(slack < 0):
            raise ValueError("a suppressed cell lies below the lower bound (a suppressed zero?)")
        sign = auditor.sign[cells]
        self.x = x.tolist()
        self.slack = slack.tolist()
        self.positive = (sign > 0).tolist()
        self.u = auditor.u[cells].tolist()
        self.w = auditor.w[cells].tolist()
        self.up = auditor.up[cells].tolist()
        self.down = auditor.down[cells].tolist()
        self.alive = [True] * len(self.cells)
        self.adjacent: dict[int, list[tuple[int, int, bool]]] = {}
        for j, (a, b) in enumerate(zip(self.u, self.w)):
            self.adjacent.setdefault(a, []).append((j, b, True))
            self.adjacent.setdefault(b, []).append((j, a, False))

    def bounds(self, j: int, limit: float) -> tuple[float, float, set[int], list[set[int]]]:
        """(lower, upper, positions whose arcs carry the flows, source sides of the minimum cuts
        of the flows that stayed below ``limit``) of cell ``j``; flows stop at ``limit``."""
        if not self.active:
            return self.lower_bound, np.inf, set(), []
        flow_wu, used_wu, cut_wu = self.max_flow(self.w[j], self.u[j], limit, j)  # back from w to u
        flow_uw, used_uw, cut_uw = self.max_flow(self.u[j], self.w[j], limit, j)
        inc, dec = (flow_wu, flow_uw) if self.positive[j] else (flow_uw, flow_wu)
        x = self.x[j]
        cuts = [cut for cut in (cut_wu, cut_uw) if cut is not None]
        return x - min(dec, self.slack[j]), x + inc, used_wu | used_uw, cuts

    def max_flow(
        self, source: int, sink: int, limit: float, skip: int
    ) -> tuple[float, set[int], set[int] | None]:
        """Maximum flow from ``source`` to ``sink`` without the arcs of ``skip`` and of released
        cells, stopping once ``limit`` is reached (``inf`` for an unbounded flow); the positions
        with a non-zero flow; and, if the flow stayed below ``limit``, the nodes still reachable
        from ``source`` (the source side of a minimum cut), else None."""
        adjacent, alive, up, down = self.adjacent, self.alive, self.up, self.down
        phi: dict[int, float] = {}
        flow = 0.0
        while flow < limit:
            parent = {source: None}
            queue = deque([source])
            while queue and sink not in parent:
                node = queue.popleft()
                for j, other, forward in adjacent.get(node, ()):
                    if other in parent or j == skip or not alive[j]:
                        continue
                    p = phi.get(j, 0.0)
                    if (up[j] - p if forward else down[j] + p) > 0:
                        parent[other] = (node, j, forward)
                        queue.append(other)
            if sink not in parent:
                return flow, {j for j, p in phi.items() if p != 0}, set(parent)
            path = []
            push = limit - flow
            node = sink
            while node != source:
                node, j, forward = parent[node]
                p = phi.get(j, 0.0)
                push = min(push, up[j] - p if forward else down[j] + p)
                path.append((j, forward))
            if push == np.inf:
                return np.inf, {j for j, p in phi.items() if p != 0} | {j for j, _ in path}, None
            for j, forward in path:
                phi[j] = phi.get(j, 0.0) + (push if forward else -push)
            flow += push
        return flow, {j for j, p in phi.items() if p != 0}, None


class _Releases:
    """Publishing suppressed cells of a safe mask again, one at a time, keeping it safe.

    Every cell's flows are computed once; :meth:`release` then recomputes only the cells whose
    flows passed through the released cell (any other cell keeps a flow that avoids it, and the
    graph without the cell cannot carry more). The mask is safe before and after each call.
    """

    def __init__(self, auditor: FlowAuditor, mask: np.ndarray, min_count: int):
        self.min_count = min_count
        self.limit = float(max(min_count, 1))
        self.graph = _FlowGraph(auditor, np.flatnonzero(mask.ravel()))
        self.position = {k: j for j, k in enumerate(self.graph.cells)}
        self.used: list[set[int]] = [set() for _ in self.graph.cells]  # positions each cell's flows use
        self.users: dict[int, set[int]] = {}  # position -> cells whose flows use it
        for j in range(len(self.graph.cells)):
            lo, hi, used, _ = self.graph.bounds(j, self.limit)
            if _is_disclosed(lo, hi, min_count):
                raise ValueError("the mask to release cells from is not safe")
            self._remember(j, used)

    def _remember(self, j: int, used: set[int]) -> None:
        self.used[j] = used
        for i in used:
            self.users.setdefault(i, set()).add(j)

    def release(self, cell: int) -> bool:
        """Publish ``cell`` (a table cell index) if every other suppressed cell stays safe."""
        graph = self.graph
        c = self.position[cell]
        graph.alive[c] = False
        affected = sorted(j for j in self.users.get(c, ()) if graph.alive[j])
        results = {}
        for j in affected:
            lo, hi, used, _ = graph.bounds(j, self.limit)
            if _is_disclosed(lo, hi, self.min_count):
                graph.alive[c] = True
                return False
            results[j] = used
        for j, used in results.items():
            for i in self.used[j]:
                self.users[i].discard(j)
            self._remember(j, used)
        return True
