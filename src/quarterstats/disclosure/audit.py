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

    def any_disclosed(self, mask: np.ndarray, min_count: int) -> bool:
        return bool(self.disclosed(mask, min_count))

    def _components(self, unknown: np.ndarray) -> list[np.ndarray]:
        """Suppressed cells linked through shared relations (row-major within a component)."""
        if len(unknown) == 0:
            return []
        incidence = (self.layout.relations[:, unknown] != 0).astype(np.int64)
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

    def disclosed(self, mask: np.ndarray, min_count: int) -> list[tuple[int, float, float]]:
        """(cell index, lower, upper) of the disclosed cells, in position order.

        Saves LPs: every LP solution is a feasible table, so a cell whose values over the
        solutions found so far already span an interval that is neither exact nor inside
        ``[1, min_count - 1]`` is safe and needs no LPs of its own. Disclosed cells always get
        both LPs, so their bounds are exact.
        """
        out = []
        for comp in self._components(np.flatnonzero(mask.ravel())):
            key = frozenset(comp.tolist())
            if key in self._cache:  # full intervals known
                lo, hi = self._cache[key]
                out.extend(
                    (int(k), float(a), float(b))
                    for k, a, b in zip(comp, lo, hi)
                    if _is_disclosed(float(a), float(b), min_count)
                )
                continue
            lower, upper = self._solve(comp, min_count)
            for j, k in enumerate(comp):
                if np.isnan(lower[j]) or np.isnan(upper[j]):
                    continue  # proven safe without LPs of its own
                if _is_disclosed(lower[j], upper[j], min_count):
                    out.append((int(k), float(lower[j]), float(upper[j])))
        return sorted(out)

    def _solve(
        self, comp: np.ndarray, min_count: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """LP bounds ``(lower, upper)`` for one component. With ``min_count`` given, cells proven
        safe by the LP solutions found along the way are skipped (their bounds stay NaN)."""
        rel = self.layout.relations
        rows = np.flatnonzero(np.any(rel[:, comp] != 0, axis=1))
        n = len(comp)
        if len(rows) == 0:
            return np.full(n, self.lower_bound), np.full(n, np.inf)
        known = np.ones(self.values.shape, dtype=bool)
        known[comp] = False
        a_eq = rel[np.ix_(rows, comp)]
        b_eq = -(rel[rows][:, known] @ self.values[known])
        bounds = [(self.lower_bound, None)] * n
        lower = np.full(n, np.nan)
        upper = np.full(n, np.nan)
        seen_lo = np.full(n, np.inf)
        seen_hi = np.full(n, -np.inf)

        def proven_safe(j: int) -> bool:
            if min_count is None:
                return False
            return not _is_disclosed(seen_lo[j], seen_hi[j], min_count)

        for j in range(n):
            if proven_safe(j):
                continue
            c = np.zeros(n)
            c[j] = 1.0
            lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if lo.status == 2:
                raise ValueError(
                    "no table fits the published values (not additive, or a suppressed cell "
                    "would have to be 0 although zeros are always published)"
                )
            if lo.status != 0:
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
        self._cache: dict[tuple, list[tuple[int, float, float]]] = {}

    def intervals(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lower = np.full(self.values.shape, np.nan)
        upper = np.full(self.values.shape, np.nan)
        for comp in self._components(np.flatnonzero(mask.ravel())):
            for k, lo, hi in self._bounds(comp, limit=np.inf):
                lower[k], upper[k] = lo, hi
        return lower, upper

    def disclosed(self, mask: np.ndarray, min_count: int) -> list[tuple[int, float, float]]:
        out = []
        for comp in self._components(np.flatnonzero(mask.ravel())):
            key = (frozenset(comp.tolist()), min_count)
            if key not in self._cache:
                self._cache[key] = [
                    (k, lo, hi)
                    for k, lo, hi in self._bounds(comp, limit=float(max(min_count, 1)))
                    if _is_disclosed(lo, hi, min_count)
                ]
            out.extend(self._cache[key])
        return sorted(out)

    def any_disclosed(self, mask: np.ndarray, min_count: int) -> bool:
        """Whether any suppressed cell is disclosed (stops at the first one found)."""
        limit = float(max(min_count, 1))
        for comp in self._components(np.flatnonzero(mask.ravel())):
            key = (frozenset(comp.tolist()), min_count)
            if key in self._cache:
                if self._cache[key]:
                    return True
                continue
            found = False
            for j in range(len(comp)):
                (_, lo, hi), = self._bounds(comp, limit, only=j)
                if _is_disclosed(lo, hi, min_count):
                    found = True
                    break
            if found:
                return True
            self._cache[key] = []  # every cell checked: the component is safe
        return False

    def _bounds(
        self, comp: np.ndarray, limit: float, only: int | None = None
    ) -> list[tuple[int, float, float]]:
        """(cell, lower, upper) for the cells of one component (or only its ``only``-th cell);
        flows stop at ``limit``."""
        x = self.values[comp].astype(float)
        slack = x - self.lower_bound
        if np.any(slack < 0):
            raise ValueError("a suppressed cell lies below the lower bound (a suppressed zero?)")
        if not self.active:
            return [(int(k), float(self.lower_bound), np.inf) for k in comp]
        u, w, sign = self.u[comp], self.w[comp], self.sign[comp]
        raise_cap = np.where(sign > 0, np.inf, slack)  # arc u -> w raises E
        lower_cap = np.where(sign > 0, slack, np.inf)  # arc w -> u lowers E
        arcs = [(int(a), int(b), float(cp)) for a, b, cp in zip(u, w, raise_cap)]
        arcs += [(int(b), int(a), float(cp)) for a, b, cp in zip(u, w, lower_cap)]
        n = len(comp)
        out = []
        for j, k in enumerate(comp):
            if only is not None and j != only:
                continue
            others = arcs[:j] + arcs[j + 1 : n + j] + arcs[n + j + 1 :]
            flow_wu = _max_flow(others, int(w[j]), int(u[j]), limit)  # back from w to u
            flow_uw = _max_flow(others, int(u[j]), int(w[j]), limit)
            inc, dec = (flow_wu, flow_uw) if sign[j] > 0 else (flow_uw, flow_wu)
            out.append((int(k), float(x[j] - min(dec, slack[j])), float(x[j] + inc)))
        return out


def _max_flow(arcs: list[tuple[int, int, float]], source: int, sink: int, limit: float) -> float:
    """Maximum flow from ``source`` to ``sink`` over the arcs ``(tail, head, capacity)``
    (``inf`` capacities allowed; Edmonds-Karp with breadth-first search on the residual graph),
    stopping once ``limit`` is reached. Returns ``inf`` for an unbounded flow. Plain Python: the
    graphs have a few dozen nodes, for which this beats any array-based solver call."""
    residual: dict[int, dict[int, float]] = {}
    for tail, head, cap in arcs:
        out = residual.setdefault(tail, {})
        out[head] = out.get(head, 0.0) + cap
        residual.setdefault(head, {}).setdefault(tail, 0.0)
    if source not in residual or sink not in residual:
        return 0.0
    flow = 0.0
    while flow < limit:
        parent = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            node = queue.popleft()
            for nxt, cap in residual[node].items():
                if cap > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            break
        path = []
        node = sink
        while node != source:
            path.append((parent[node], node))
            node = parent[node]
        push = min(min(residual[a][b] for a, b in path), limit - flow)
        if push == np.inf:
            return np.inf
        for a, b in path:
            residual[a][b] -= push
            residual[b][a] += push
        flow += push
    return flow
