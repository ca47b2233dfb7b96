"""Cell key method (Destatis, Zensus 2022): record keys, cell keys and perturbed counts.

Method (Destatis; Giessing 2016; R packages ``ptable``/``cellKey``):

1. every record (person) gets a fixed pseudo-random record key ``r`` in ``[0, 1)``;
2. a table cell's key is the fractional part of the sum of its records' keys,
   ``ck = frac(sum_{records in cell} r)``;
3. the perturbed count is ``n + v`` where ``v`` is the noise whose interval
   ``[p_int_lb, p_int_ub)`` in row ``min(n, i_max)`` of the perturbation table contains ``ck``
   (see :mod:`quarterstats.disclosure.ptable`).

Because a cell's noise depends only on the set of its records, the same cell gets the same noise
in every table it appears in, whatever the grouping; true zeros stay zero (row ``i = 0`` has
``p(0|0) = 1``) and perturbed counts are never negative.

Record keys here are derived, not drawn: ``r = first 53 bits of HMAC-SHA256(salt, person_id) /
2**53`` — deterministic (reruns reproduce the tables) and unpredictable without the secret salt.
Cell keys are summed exactly in 53-bit fixed point (integers modulo ``2**53``), so the key of a cell
does not depend on the order of its records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .ptable import PerturbationTable, perturbation_table

__all__ = ["record_keys", "cell_keys", "perturb", "perturbed_table"]

_BITS = 53
_SCALE = float(2**_BITS)
_MASK = np.uint64(2**_BITS - 1)


def record_keys(person_ids: pd.Series, salt: str) -> np.ndarray:
    """Record keys in ``[0, 1)``, one per id, in the order of ``person_ids``:

        r = (big-endian integer of the first 8 bytes of HMAC-SHA256(key=salt, msg=id) >> 11) / 2**53

    Both strings are UTF-8 encoded. HMAC (RFC 2104) is computed with the SHA-256 states of the two
    padded keys prepared once, so the per-id cost is two state copies (about 1 s per 1e6 ids in
    plain CPython; hashlib offers no batch interface). Raises on null ids or an empty salt.
    """
    if not isinstance(salt, str) or salt == "":
        raise ValueError("salt must be a non-empty string")
    ids = pd.Series(person_ids)
    if ids.isna().any():
        raise ValueError("person_ids must not contain nulls")
    if len(ids) == 0:
        return np.zeros(0, dtype=float)
    messages = pa.array(ids.astype(str)).cast(pa.binary()).to_pylist()

    key = salt.encode("utf-8")
    if len(key) > 64:  # SHA-256 block size
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def mac(msg: bytes, inner_copy=inner.copy, outer_copy=outer.copy) -> bytes:
        h = inner_copy()
        h.update(msg)
        o = outer_copy()
        o.update(h.digest())
        return o.digest()

    digests = np.frombuffer(b"".join([mac(m) for m in messages]), dtype=">u8").reshape(-1, 4)
    raw = digests[:, 0].astype(np.uint64)  # first 8 bytes of each 32-byte digest, big-endian
    return (raw >> np.uint64(64 - _BITS)).astype(np.float64) / _SCALE


def cell_keys(
    record_keys: np.ndarray, group_codes: np.ndarray, n_groups: int | None = None
) -> np.ndarray:
    """Cell keys ``ck[g] = frac(sum of the record keys with group_codes == g)``,
    ``g = 0 .. n_groups - 1``.

    Record keys are mapped to 53-bit integers (exact for keys from :func:`record_keys`) and summed
    modulo ``2**53``, so the result is exact and independent of record order. Groups without
    records get key 0. ``group_codes`` are non-negative integers (e.g. from ``pd.factorize`` or
    ``groupby(...).ngroup()``).
    """
    keys = np.asarray(record_keys, dtype=np.float64)
    codes = np.asarray(group_codes)
    if keys.shape != codes.shape or keys.ndim != 1:
        raise ValueError("record_keys and group_codes must be 1-D arrays of equal length")
    if np.any(~np.isfinite(keys)) or np.any(keys < 0) or np.any(keys >= 1):
        raise ValueError("record keys must lie in [0, 1)")
    if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0):
        raise ValueError("group_codes must be non-negative integers")
    if n_groups is None:
        n_groups = int(codes.max()) + 1 if codes.size else 0
    elif codes.size and codes.max() >= n_groups:
        raise ValueError("group_codes must be smaller than n_groups")
    fixed = np.floor(keys * _SCALE).astype(np.uint64)
    sums = np.zeros(n_groups, dtype=np.uint64)
    np.add.at(sums, codes.astype(np.intp), fixed)  # wraps modulo 2**64, a multiple of 2**53
    return (sums & _MASK).astype(np.float64) / _SCALE


def perturb(counts, cell_keys, ptable: PerturbationTable | None = None):
    """Perturbed counts ``counts + v`` with ``v`` looked up in ``ptable`` by (count, cell key).

    ``counts``: non-negative integers (ndarray or Series; a Series keeps its index). Zeros stay
    zero, results are >= 0 and differ from ``counts`` by at most ``D``. Default ptable: D=2, V=1.
    """
    if ptable is None:
        ptable = perturbation_table(2, 1.0)
    values = np.asarray(counts)
    noise = ptable.noise(values, cell_keys)
    out = values.astype(np.int64) + noise
    if isinstance(counts, pd.Series):
        return pd.Series(out, index=counts.index, name=counts.name)
    return out


def perturbed_table(
    keys,
    frame: pd.DataFrame,
    by: Sequence[str],
    ptable: PerturbationTable | None = None,
    *,
    keep_original: bool = False,
) -> pd.DataFrame:
    """Count the records of ``frame`` by the columns ``by`` and perturb the counts.

    ``keys``: record keys, either an array positionally aligned with ``frame`` or a Series
    aligned on ``frame.index``. Returns one row per observed combination of ``by`` (sorted, nulls
    kept as their own group) with the perturbed ``count``; combinations without records are true
    zeros and stay 0. ``by=[]`` gives the single grand-total cell. With ``keep_original=True`` the
    columns ``original_count`` and ``cell_key`` are added (internal use only, never publish them).
    """
    by = list(by)
    if isinstance(keys, pd.Series):
        aligned = keys.reindex(frame.index)
        if aligned.isna().any():
            raise ValueError("keys do not cover every row of frame")
        keys = aligned.to_numpy(dtype=np.float64)
    else:
        keys = np.asarray(keys, dtype=np.float64)
        if len(keys) != len(frame):
            raise ValueError("keys must have one entry per row of frame")
    if by:
        grouped = frame.groupby(by, dropna=False, observed=True, sort=True)
        codes = grouped.ngroup().to_numpy()
        sizes = grouped.size()
        result = sizes.index.to_frame(index=False)
        counts = sizes.to_numpy(dtype=np.int64)
    else:
        codes = np.zeros(len(frame), dtype=np.int64)
        result = pd.DataFrame(index=range(1))
        counts = np.array([len(frame)], dtype=np.int64)
    ck = cell_keys(keys, codes, n_groups=len(counts))
    result["count"] = perturb(counts, ck, ptable)
    if keep_original:
        result["original_count"] = counts
        result["cell_key"] = ck
    return result
