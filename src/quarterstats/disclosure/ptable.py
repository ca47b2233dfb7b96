"""Perturbation tables for the cell key method (maximum-entropy construction).

A perturbation table ("ptable") gives, for an original cell count ``i``, the probabilities
``p(v | i)`` of adding the noise ``v`` with ``-D <= v <= D``. Following Giessing (2016) and the
R package ``ptable`` (Enderle, Giessing, Tent 2018; used by Destatis for the Zensus 2022), each row
is the distribution of maximum entropy

    maximise   H(p) = - sum_v p(v|i) * log p(v|i)
    subject to sum_v p(v|i)       = 1
               sum_v v   p(v|i)   = 0          (unbiased noise)
               sum_v v^2 p(v|i)   = V          (fixed noise variance)
               p(v|i) = 0  where i + v < 0     (no negative counts)
               p(v|i) = 0  where 1 <= i + v <= js   (blocked small target counts, js >= 0)

and row ``i = 0`` is fixed to ``p(0|0) = 1`` (true zeros stay zero). Rows exist for
``i = 0 .. D + js + 1``; the last row has the full support ``[-D, D]`` and applies to every
larger count. (For ``js = 0`` the R package stops at ``i = D``, which already has the full
support; rows ``D`` and ``D + 1`` are then identical here.)

Solution method: the maximum-entropy distribution under moment constraints has the Gibbs form
``p(v) ∝ exp(a v + b v^2)``; ``(a, b)`` minimise the convex dual
``log sum_v exp(a v + b v^2) - b V`` (its gradient is the moment residual ``(E v, E v^2 - V)``),
solved with ``scipy.optimize.minimize`` (trust-region, exact Hessian) and polished by Newton steps,
so the constraints hold to ~1e-14. Where ``V`` is not reachable on a row's support (it must lie
strictly between the smallest and largest variance a mean-zero distribution on that support can
have), the variance constraint is relaxed as in the R package's default (``optim = 1``, variance as
an inequality): the row is the maximum-entropy distribution with mean 0 alone, and
``variance_reached[i]`` is False. The R package's optional monotony condition (``mono``) and the
rounding of the interval bounds to 8 digits are not reproduced.

The cumulative intervals ``[p_int_lb, p_int_ub)`` partition ``[0, 1)`` in the order
``v = -D .. D``; a cell key ``k`` selects the noise ``v`` whose interval contains ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize

__all__ = ["PerturbationTable", "perturbation_table"]

_TOL = 1e-9  # validation tolerance for mean and variance


@dataclass(frozen=True, eq=False)
class PerturbationTable:
    """Transition probabilities ``p(v | i)`` and their cumulative intervals.

    ``probabilities[i, v + D]`` is ``p(v | i)`` for ``i = 0 .. n_rows - 1``; the last row applies
    to all counts ``>= n_rows - 1``. ``variance_reached[i]`` says whether row ``i`` has variance V.
    Arrays are read-only.
    """

    max_deviation: int
    variance: float
    js: int
    probabilities: np.ndarray
    variance_reached: np.ndarray

    @property
    def values(self) -> np.ndarray:
        """Noise values ``-D .. D`` (the columns of ``probabilities``)."""
        return np.arange(-self.max_deviation, self.max_deviation + 1)

    @property
    def n_rows(self) -> int:
        return self.probabilities.shape[0]

    @property
    def upper(self) -> np.ndarray:
        """Cumulative upper interval bounds per row (``p_int_ub``); the last entry is exactly 1."""
        return _cumulative_upper(self.probabilities)

    @property
    def lower(self) -> np.ndarray:
        """Cumulative lower interval bounds per row (``p_int_lb``)."""
        up = self.upper
        return np.concatenate([np.zeros((up.shape[0], 1)), up[:, :-1]], axis=1)

    def row_means(self) -> np.ndarray:
        return self.probabilities @ self.values

    def row_variances(self) -> np.ndarray:
        return self.probabilities @ (self.values.astype(float) ** 2) - self.row_means() ** 2

    def noise(self, counts, cell_keys) -> np.ndarray:
        """Noise ``v`` for each (count, cell key): the interval of row ``min(count, n_rows-1)``
        with ``p_int_lb <= key < p_int_ub``. Vectorised; counts must be non-negative integers."""
        counts = np.asarray(counts)
        keys = np.asarray(cell_keys, dtype=float)
        if counts.shape != keys.shape:
            raise ValueError("counts and cell_keys must have the same shape")
        if counts.size == 0:
            return np.zeros(counts.shape, dtype=np.int64)
        if not np.issubdtype(counts.dtype, np.integer):
            if not np.all(np.isfinite(counts)) or not np.all(counts == np.round(counts)):
                raise ValueError("counts must be integers")
            counts = counts.astype(np.int64)
        if np.any(counts < 0):
            raise ValueError("counts must be non-negative")
        if np.any(~np.isfinite(keys)) or np.any(keys < 0) or np.any(keys >= 1):
            raise ValueError("cell keys must lie in [0, 1)")
        rows = np.minimum(counts, self.n_rows - 1).ravel()
        upper = self.upper[rows]  # (n, 2D+1)
        idx = (upper <= keys.ravel()[:, None]).sum(axis=1)
        return self.values[idx].reshape(counts.shape).astype(np.int64)

    def to_frame(self) -> pd.DataFrame:
        """Long table in the layout of the R package: i, j (= i + v), p, v, p_int_lb, p_int_ub
        (one row per allowed transition; the last ``i`` applies to all larger counts)."""
        D = self.max_deviation
        support = _support_masks(D, self.js, self.n_rows)
        ii, kk = np.nonzero(support)
        v = kk - D
        return pd.DataFrame(
            {
                "i": ii.astype(np.int64),
                "j": (ii + v).astype(np.int64),
                "p": self.probabilities[ii, kk],
                "v": v.astype(np.int64),
                "p_int_lb": self.lower[ii, kk],
                "p_int_ub": self.upper[ii, kk],
            }
        )

    def validate(self, tol: float = _TOL) -> None:
        """Raise ``ValueError`` unless: rows sum to 1, p >= 0, no transition to a negative or
        blocked count, p(0|0) = 1, every row has mean 0 and rows with ``variance_reached`` have
        variance V (all within ``tol``), and the intervals end at exactly 1."""
        p = self.probabilities
        D = self.max_deviation
        support = _support_masks(D, self.js, self.n_rows)
        problems = []
        if np.any(p < 0):
            problems.append("negative probabilities")
        if np.any(np.abs(p.sum(axis=1) - 1) > tol):
            problems.append("rows do not sum to 1")
        if np.any(p[~support] != 0):
            problems.append("mass on forbidden transitions (negative or blocked counts)")
        if p[0, D] != 1.0:
            problems.append("p(0|0) != 1")
        if np.any(np.abs(self.row_means()) > tol):
            problems.append("row means differ from 0")
        var = self.row_variances()
        reached = self.variance_reached.copy()
        reached[0] = False  # row 0 is fixed, variance 0 by definition
        if np.any(np.abs(var[reached] - self.variance) > tol):
            problems.append("row variances differ from V")
        if np.any(self.upper[:, -1] != 1.0) or np.any(np.diff(self.upper, axis=1) < 0):
            problems.append("cumulative intervals malformed")
        if problems:
            raise ValueError("invalid perturbation table: " + "; ".join(problems))


def perturbation_table(D: int = 2, V: float = 1.0, js: int = 0) -> PerturbationTable:
    """Build and validate the maximum-entropy perturbation table for max deviation ``D``,
    variance ``V`` and small-count blocking threshold ``js`` (see module docstring).

    Example: ``perturbation_table(2, 1.0)`` has rows i = 0..3; row 3 (all counts >= 3) is the
    symmetric distribution on -2..2 with variance 1. Results are cached (tables are read-only).
    """
    if isinstance(D, bool) or int(D) != D or D < 1:
        raise ValueError("D (max_deviation) must be a positive integer")
    if isinstance(js, bool) or int(js) != js or js < 0:
        raise ValueError("js must be a non-negative integer")
    if not np.isfinite(V) or V <= 0:
        raise ValueError("V (variance) must be positive")
    return _build(int(D), float(V), int(js))


@lru_cache(maxsize=32)
def _build(D: int, V: float, js: int) -> PerturbationTable:
    n_rows = D + js + 2
    support = _support_masks(D, js, n_rows)
    values = np.arange(-D, D + 1)
    probs = np.zeros((n_rows, 2 * D + 1))
    reached = np.zeros(n_rows, dtype=bool)
    probs[0, D] = 1.0
    for i in range(1, n_rows):
        v = values[support[i]]
        p, ok = _max_entropy_row(v.astype(float), V, i)
        probs[i, support[i]] = p
        reached[i] = ok
    probs.setflags(write=False)
    reached.setflags(write=False)
    table = PerturbationTable(D, V, js, probs, reached)
    table.validate()
    return table


def _support_masks(D: int, js: int, n_rows: int) -> np.ndarray:
    """Allowed transitions: ``support[i, v + D]`` iff ``i + v >= 0`` and not ``1 <= i+v <= js``;
    row 0 only ``v = 0``."""
    i = np.arange(n_rows)[:, None]
    j = i + np.arange(-D, D + 1)[None, :]
    support = (j >= 0) & ~((j >= 1) & (j <= js))
    support[0] = False
    support[0, D] = True
    return support


def _cumulative_upper(probs: np.ndarray) -> np.ndarray:
    up = np.minimum(np.cumsum(probs, axis=1), 1.0)
    # from the last positive entry on, the bound is exactly 1 (keys < 1 never fall beyond it)
    last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    cols = np.arange(probs.shape[1])[None, :]
    up[cols >= last[:, None]] = 1.0
    return up


def _gibbs(lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    z = lam[0] * v + lam[1] * v * v
    w = np.exp(z - z.max())
    return w / w.sum()


def _max_entropy_row(v: np.ndarray, V: float, i: int) -> tuple[np.ndarray, bool]:
    """Maximum-entropy p on support ``v`` with mean 0 and variance V (if reachable)."""
    if len(v) == 1:
        if v[0] != 0:
            raise ValueError(f"row i={i}: no mean-zero perturbation possible on support {v}")
        return np.ones(1), False
    neg, pos = v[v < 0], v[v > 0]
    if len(neg) == 0 or len(pos) == 0:
        raise ValueError(
            f"row i={i}: no mean-zero perturbation possible on support {v.astype(int)} "
            "(choose a larger D or a smaller js)"
        )
    v_max = -neg.min() * pos.max()  # two-point distribution on the extremes
    v_min = 0.0 if np.any(v == 0) else -neg.max() * pos.min()
    margin = 1e-9 * max(1.0, V)
    if v_min + margin < V < v_max - margin:
        return _solve_mean_variance(v, V, i), True
    return _solve_mean_only(v), False


def _solve_mean_variance(v: np.ndarray, V: float, i: int) -> np.ndarray:
    v2 = v * v

    def dual(lam):
        z = lam[0] * v + lam[1] * v2
        zmax = z.max()
        w = np.exp(z - zmax)
        s = w.sum()
        p = w / s
        grad = np.array([p @ v, p @ v2 - V])
        return np.log(s) + zmax - lam[1] * V, grad

    def hess(lam):
        p = _gibbs(lam, v)
        m1, m2 = p @ v, p @ v2
        return np.array(
            [
                [p @ (v * v) - m1 * m1, p @ (v * v2) - m1 * m2],
                [p @ (v * v2) - m1 * m2, p @ (v2 * v2) - m2 * m2],
            ]
        )

    res = minimize(
        dual, np.zeros(2), jac=True, hess=hess, method="trust-exact", options={"gtol": 1e-13}
    )
    lam = res.x
    for _ in range(20):  # Newton polish on the moment equations
        _, g = dual(lam)
        if np.max(np.abs(g)) < 1e-15:
            break
        lam = lam - np.linalg.solve(hess(lam), g)
    p = _gibbs(lam, v)
    if abs(p @ v) > 1e-11 or abs(p @ v2 - V) > 1e-11:
        raise ValueError(f"row i={i}: maximum-entropy optimisation did not converge")
    return p


def _solve_mean_only(v: np.ndarray) -> np.ndarray:
    def mean(a):
        return _gibbs(np.array([a, 0.0]), v) @ v

    lo, hi = -1.0, 1.0
    while mean(lo) > 0:
        lo *= 2
    while mean(hi) < 0:
        hi *= 2
    a = brentq(mean, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return _gibbs(np.array([a, 0.0]), v)
