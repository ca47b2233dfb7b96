"""Which linear quantities follow exactly from published linear data: a null-space test in blocks.

The unknowns are the non-zero counts a reader does not see (atoms of persons, counts without a
population); every published number is a row ``a · x = b`` with a known ``b``. The true table ``x*``
is strictly positive in every unknown (an unknown whose true value is 0 is taken as known to the
reader: conservative, the reader only gets stronger). A quantity ``q · x`` is then **determined**
(exactly recoverable) if and only if ``q`` lies in the row space of the published rows: otherwise there
is a direction ``d`` with ``A d = 0`` and ``q · d ≠ 0``, and ``x* + t d`` fits every published value and
stays non-negative for small ``t`` of either sign, so ``q`` takes more than one value. (The linear
programs min/max ``q · x`` subject to ``A x = b, x ≥ 0`` give the same answer; the tests compare the
two on random systems.)

The unknowns fall into *blocks* (the districts, and the city's own unknowns) joined only by a few
*coupling* rows (city totals, which add the districts up). Write the rows of block ``b`` as ``P_b`` and
the coupling rows restricted to block ``b`` as ``R_b``. Then ``q = Σ_b λ_b P_b + y R`` has a solution if
and only if there is a ``y`` with ``y Rr_b = r_b(q)`` in every block, where ``r_b`` removes the part in
the row space of ``P_b`` (an orthogonal projection) and ``Rr_b = r_b(R_b)``: a Schur complement of the
block structure. Each block is reduced once (a singular value decomposition of a matrix of a few
hundred rows); the coupling system has only as many unknowns ``y`` as there are coupling rows, and a
quantity needs one projection per block it touches. Removing a published row (secondary suppression)
changes one block and the small coupling system; quantities found free stay free.

Numerics: orthogonal decompositions (singular value decomposition, Golub & Van Loan, *Matrix
Computations*, 4th ed., §2.4 and §5.5: rank by the singular values above ``10 · max(m, n) · ε · σ_max``,
row spaces and projections from the right singular vectors; the coupling system's symmetric
eigendecomposition, §8.1). The rows hold small integers, so the rank decisions are far from the
tolerance; a squared residual below ``TOLERANCE`` (relative) counts as *determined*, so a rounding
error can only make the protection stricter, never weaker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

#: Squared residual, relative to the squared norm of the quantity, below which it counts as lying in the
#: row space (determined): generous, so that rounding can only make the protection stricter.
TOLERANCE = 1e-8


def _row_basis(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U_r, S_r, Vt_r) of a thin SVD truncated to the numerical rank."""
    rows, cols = matrix.shape
    if rows == 0 or cols == 0:
        return np.zeros((rows, 0)), np.zeros(0), np.zeros((0, cols))
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((s > (s[0] if len(s) else 0.0) * max(rows, cols) * np.finfo(float).eps * 10).sum()) if len(s) else 0
    return u[:, :rank], s[:rank], vt[:rank]


def single_threaded():
    """A context in which BLAS/LAPACK run on one thread (enter it once around all the work: entering
    it costs milliseconds): the matrices here are small, and on a busy machine a multi-threaded
    decomposition of a 100 × 400 matrix took 50 times longer than on one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover (threadpoolctl comes with the pinned environment)
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


@dataclass
class _Block:
    local: np.ndarray  # local rows × unknowns of the block
    coupling: np.ndarray  # coupling rows × unknowns of the block
    active: np.ndarray = field(default=None)  # local rows that are published
    basis: tuple = ()  # (U, S, Vt) of the active local rows
    reduced: np.ndarray = field(default=None)  # coupling rows with the block's row space projected out
    gram: np.ndarray = field(default=None)  # reduced @ reduced.T (coupling rows × coupling rows)
    touch: np.ndarray = field(default=None)  # coupling rows with a non-zero entry in the block


class BlockSystem:
    """Published rows in blocks of unknowns, joined by coupling rows; see the module docstring.

    ``local``: per block a matrix (rows × the block's unknowns); ``coupling``: per block the coupling
    rows restricted to it (coupling rows × the block's unknowns; every block the same number of rows).
    Rows are switched off (suppressed) with :meth:`drop`.

    The coupling system ``y Rr_b = r_b`` (all ``b``) is solved in the least-squares sense through its
    normal equations ``G y = Σ_b Rr_b r_bᵀ`` with ``G = Σ_b Rr_b Rr_bᵀ`` (as many rows and columns as
    coupling rows; its pseudo-inverse from a symmetric eigendecomposition); the squared residual
    ``Σ_b |r_b|² − gᵀ G⁺ g`` is zero exactly where a ``y`` exists."""

    def __init__(self, local: Sequence[np.ndarray], coupling: Sequence[np.ndarray]):
        m = coupling[0].shape[0] if len(coupling) else 0
        self.m = m
        self.blocks = [_Block(np.asarray(a, dtype=float), np.asarray(c, dtype=float).reshape(m, np.asarray(a).shape[1]))
                       for a, c in zip(local, coupling)]
        for block in self.blocks:
            block.active = np.ones(block.local.shape[0], dtype=bool)
            block.touch = np.abs(block.coupling).sum(axis=1) > 0
        self.coupling_active = np.ones(m, dtype=bool)
        self.decompositions = 0
        for b in range(len(self.blocks)):
            self._reduce(b)
        self._couple()

    # ----------------------------------------------------------------------------- reductions
    def _reduce(self, b: int) -> None:
        block = self.blocks[b]
        block.basis = _row_basis(block.local[block.active])
        vt = block.basis[2]
        block.reduced = block.coupling - (block.coupling @ vt.T) @ vt if vt.shape[0] else block.coupling.copy()
        block.gram = block.reduced @ block.reduced.T
        self.decompositions += 1

    def _couple(self) -> None:
        self.gram = sum((block.gram for block in self.blocks), np.zeros((self.m, self.m)))
        self.mask, self.whiten = self._whiten(self.gram, self.coupling_active)

    def _whiten(self, gram: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = active.astype(float)
        if not self.m:
            return mask, np.zeros((0, 0))
        w, v = np.linalg.eigh(gram * np.outer(mask, mask))
        keep = w > max(w.max(), 1.0) * 1e-10
        return mask, v[:, keep] / np.sqrt(w[keep])  # G⁺ = whiten @ whiten.T

    def drop(self, local: Mapping[int, Sequence[int]], coupling: Sequence[int]) -> None:
        """Switch off published rows (suppressed): per block the local row positions, and coupling rows."""
        for b, rows in local.items():
            self.blocks[b].active[list(rows)] = False
            self._reduce(b)
        if len(coupling):
            self.coupling_active[list(coupling)] = False
        self._couple()

    # ------------------------------------------------------------------------------- the test
    def _residual(self, b: int, targets: np.ndarray) -> np.ndarray:
        vt = self.blocks[b].basis[2]
        return targets - (targets @ vt.T) @ vt if vt.shape[0] else targets.copy()

    def _unexplained(self, norm2: np.ndarray, g: np.ndarray) -> np.ndarray:
        h = (g * self.mask) @ self.whiten if self.whiten.size else np.zeros((len(g), 0))
        return norm2 - (h * h).sum(axis=1)

    def determined_local(self, b: int, targets: np.ndarray) -> np.ndarray:
        """Boolean per row of ``targets`` (quantities × the unknowns of block ``b``, zero elsewhere): True
        where the quantity follows exactly from the published rows."""
        targets = np.atleast_2d(np.asarray(targets, dtype=float))
        if targets.shape[0] == 0:
            return np.zeros(0, dtype=bool)
        scale = TOLERANCE * np.maximum((targets * targets).sum(axis=1), 1.0)
        r = self._residual(b, targets)
        norm2 = (r * r).sum(axis=1)
        g = r @ self.blocks[b].reduced.T
        return (norm2 <= scale) | (self._unexplained(norm2, g) <= scale)

    def determined(self, target: Mapping[int, np.ndarray]) -> bool:
        """Whether one quantity over several blocks (block → vector over its unknowns) is determined."""
        total = sum(float(np.dot(v, v)) for v in target.values())
        scale = TOLERANCE * max(total, 1.0)
        norm2, g = 0.0, np.zeros(self.m)
        for b, vector in target.items():
            r = self._residual(b, np.asarray(vector, dtype=float)[None, :])[0]
            norm2 += float(r @ r)
            g += self.blocks[b].reduced @ r
        return norm2 <= scale or float(self._unexplained(np.array([norm2]), g[None, :])[0]) <= scale

    def frees(self, target: Mapping[int, np.ndarray], block: int | None, row: int) -> bool:
        """Whether switching off one published row (local ``row`` of ``block``, or coupling row ``row``
        where ``block`` is None) leaves ``target`` undetermined; the system itself is not changed.

        A local row that the other rows of its block replace (leverage below 1) changes nothing. One
        they do not replace takes exactly one direction ``w = P⁺ e_row`` out of the block's row space
        (``w`` is orthogonal to every other row), so the residuals grow by their part along ``w``."""
        saved_mask, saved_whiten = self.mask, self.whiten
        if block is None:
            active = self.coupling_active.copy()
            active[row] = False
            self.mask, self.whiten = self._whiten(self.gram, active)
            try:
                return not self.determined(target)
            finally:
                self.mask, self.whiten = saved_mask, saved_whiten
        b = self.blocks[block]
        u, s, vt = b.basis
        positions = np.flatnonzero(b.active)
        k = int(np.searchsorted(positions, row))
        if k >= len(positions) or positions[k] != row or not len(s):
            return False
        if float(u[k] @ u[k]) < 1 - 1e-9:
            return False
        w = vt.T @ (u[k] / s)
        w /= np.linalg.norm(w)
        reduced = b.reduced + np.outer(b.coupling @ w, w)
        mask, whiten = self._whiten(self.gram - b.gram + reduced @ reduced.T, self.coupling_active)
        total = sum(float(np.dot(v, v)) for v in target.values())
        scale = TOLERANCE * max(total, 1.0)
        norm2, g = 0.0, np.zeros(self.m)
        for bb, vector in target.items():
            vector = np.asarray(vector, dtype=float)
            r = self._residual(bb, vector[None, :])[0]
            red = self.blocks[bb].reduced
            if bb == block:
                r = r + (vector @ w) * w
                red = reduced
            norm2 += float(r @ r)
            g += red @ r
        if norm2 <= scale:
            return False
        h = (g * mask) @ whiten if whiten.size else np.zeros(0)
        return norm2 - float(h @ h) > scale

    def certificate(self, target: Mapping[int, np.ndarray], others: bool = True
                    ) -> tuple[dict[int, np.ndarray], np.ndarray, dict[int, np.ndarray]]:
        """For a determined quantity: the published rows it is computed from (block → local row
        positions, coupling row positions), from the least-squares solution ``q = Σ λ_b P_b + y R``,
        and the local rows among them that no other row of their block can replace (leverage 1 in
        their block: the row is not a combination of the others, so every derivation uses it).
        ``others``: False to look at the blocks of the quantity only."""
        g = np.zeros(self.m)
        for b, vector in target.items():
            r = self._residual(b, np.asarray(vector, dtype=float)[None, :])[0]
            g += self.blocks[b].reduced @ r
        y = self.whiten @ (self.whiten.T @ (g * self.mask)) * self.mask if self.whiten.size else np.zeros(self.m)
        used = np.flatnonzero(np.abs(y) > 1e-6)
        local: dict[int, np.ndarray] = {}
        essential: dict[int, np.ndarray] = {}
        for b, block in enumerate(self.blocks):
            if b not in target and not (others and len(used) and block.touch[used].any()):
                continue
            q = np.asarray(target[b], dtype=float) if b in target else 0.0
            rest = q - y @ block.coupling if len(used) else q
            if not np.any(np.abs(rest) > 1e-9):
                continue
            u, s, vt = block.basis
            if not len(s):
                continue
            lam = u @ ((vt @ rest) / s)
            positions = np.flatnonzero(block.active)
            uses = np.abs(lam) > 1e-6
            if uses.any():
                local[b] = positions[uses]
                alone = uses & ((u * u).sum(axis=1) > 1 - 1e-9)
                if alone.any():
                    essential[b] = positions[alone]
        return local, used, essential
