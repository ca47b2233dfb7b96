"""Integer-coded vocabularies of the generator: countries, pseudonyms and dates.

Inside the generator every categorical fact is a small integer (an index into a vocabulary) and every
date an ``int32`` day number since 1970-01-01, so that the population can be updated with vectorised
numpy operations; strings are made only when a file is written.

Pseudonyms: ``person_id`` and ``household_id`` are 12 lower-case hex characters of a keyed 48-bit
permutation of the internal running number (``mix48``: xor with a seed-derived key, then three rounds of
multiply-by-odd-constant and xor-shift modulo 2^48). Every step is a bijection on 48-bit integers, so
distinct running numbers always get distinct pseudonyms, and the hex strings sort like the integers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from . import params as P

NO_DATE = np.iinfo(np.int32).min  # sentinel of a missing date (e.g. moved_in_city = since birth)
EPOCH = date(1970, 1, 1).toordinal()
_MASK48 = np.uint64((1 << 48) - 1)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _all_country_codes() -> tuple[str, ...]:
    codes = {"DEU", "XXA", "XXX"}
    for table in (
        P.GUEST_WORKER_COUNTRIES, P.RESETTLER_COUNTRIES, P.EU_MOBILITY_COUNTRIES, P.REFUGEE_2015_COUNTRIES,
        P.ASYLUM_COUNTRIES, P.UKRAINE_COUNTRIES, P.STUDENT_COUNTRIES, P.OTHER_FOREIGN_COUNTRIES,
        P.MIXED_PARTNER_COUNTRIES, P.GERMAN_ABROAD_BIRTH_COUNTRIES, P.EXPELLEE_BIRTH_COUNTRIES,
        P.ADOPTION_BIRTH_COUNTRIES,
    ):
        codes.update(table)
    return tuple(sorted(codes))


COUNTRIES: tuple[str, ...] = _all_country_codes()
CTY = {code: i for i, code in enumerate(COUNTRIES)}
DEU, XXA, XXX = CTY["DEU"], CTY["XXA"], CTY["XXX"]
IS_EU = np.array([c in P.EU_CODES for c in COUNTRIES])
NO_RELEASE = np.array([c in P.NO_RELEASE_CODES for c in COUNTRIES])


def sample_countries(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    """``n`` country indices drawn from a weight table."""
    codes, p = P.weights(table)
    idx = np.array([CTY[c] for c in codes], dtype=np.int16)
    return idx[rng.choice(len(codes), size=n, p=p)]


# ---- dates -----------------------------------------------------------------------------------------
def day(d: date) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return d.toordinal() - EPOCH


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers — integer arithmetic of H. Hinnant's ``civil_from_days``
    (proleptic Gregorian calendar), much faster than numpy datetime conversions."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def year_start(year: np.ndarray | int) -> np.ndarray:
    """Day number of 1 January of each year."""
    return (np.asarray(year).astype("int64") - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(
        np.int64).astype(np.int32)


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return civil(days)[0].astype(np.int32)


def month_start(days: np.ndarray) -> np.ndarray:
    """First day of the month of each day number."""
    days = np.asarray(days, dtype=np.int64)
    return (days - civil(days)[2] + 1).astype(np.int32)


def completed_years(birth: np.ndarray, at: int) -> np.ndarray:
    """Age in completed years at day ``at`` of persons born on day ``birth`` (a person born on
    29 February has birthdays on 1 March in other years)."""
    by, bm, bd = civil(birth)
    ry, rm, rd = (int(v[0]) for v in civil(np.asarray([at])))
    return ((ry * 10000 + rm * 100 + rd - (by * 10000 + bm * 100 + bd)) // 10000).astype(np.int32)


def date_key(days: np.ndarray) -> np.ndarray:
    """``year·10000 + month·100 + day`` of day numbers (ages are differences of keys // 10000)."""
    y, m, d = civil(days)
    return (y * 10000 + m * 100 + d).astype(np.int32)


def age_from_key(birth_key: np.ndarray, at: int) -> np.ndarray:
    """Completed years at day ``at`` from birth keys (see :func:`date_key`)."""
    return ((int(date_key(np.asarray([at]))[0]) - birth_key) // 10000).astype(np.int32)


def add_years(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Approximately ``years`` years after each day (365.25 days a year; used for bounds only)."""
    return (np.asarray(days, dtype=np.int64) + np.round(np.asarray(years) * 365.25)).astype(np.int32)


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniformly drawn day in [lo, hi] (element-wise, hi >= lo enforced)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    return (lo + np.floor(rng.random(np.broadcast(lo, hi).shape) * (hi - lo + 1))).astype(np.int32)


# ---- pseudonyms -----------------------------------------------------------------------------------
def pseudonym_key(seed: int, purpose: int) -> np.uint64:
    """A 48-bit key derived from the seed (``purpose`` separates persons from households)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFF, purpose, 0x51A7])
    return np.uint64(int(rng.integers(0, 1 << 48)))


def mix48(values: np.ndarray, key: np.uint64) -> np.ndarray:
    """Keyed bijection of 48-bit integers (see module docstring)."""
    x = (np.asarray(values).astype(np.uint64) ^ key) & _MASK48
    with np.errstate(over="ignore"):
        for mult, shift in ((0x9E3779B97F4B, 23), (0xC2B2AE3D27D5, 21), (0x27D4EB2F1657, 24)):
            x = (x * np.uint64(mult)) & _MASK48
            x = x ^ (x >> np.uint64(shift))
    return x


_HEX_PAIRS = np.array([[_HEX[i >> 4], _HEX[i & 15]] for i in range(256)], dtype=np.uint8)


def hex12_bytes(values: np.ndarray) -> np.ndarray:
    """(n, 12) uint8 array of the 12 lower-case hex characters of 48-bit integers."""
    v = np.ascontiguousarray(np.asarray(values, dtype=np.uint64).astype(">u8"))
    octets = v.view(np.uint8).reshape(-1, 8)[:, 2:]
    return _HEX_PAIRS[octets].reshape(-1, 12)


def strings_from_bytes(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """Arrow string array from fixed-width rows of ``chars`` ((n, w) uint8, or a 1-D array of ``S<w>``
    items); null where not ``valid``."""
    chars = np.ascontiguousarray(chars)
    if chars.ndim == 1:
        chars = chars.view(np.uint8).reshape(len(chars), -1)
    n, width = chars.shape
    offsets = np.arange(0, width * n + 1, width, dtype=np.int32)
    validity = None
    null_count = 0
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        null_count = int(n - valid.sum())
        if null_count:
            validity = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars), validity, null_count)


class Vocabulary:
    """Fast integer code → Arrow string conversion for a small vocabulary."""

    def __init__(self, words):
        encoded = [w.encode("utf-8") for w in words]
        self.width = max(len(w) for w in encoded)
        self.chars = np.array(encoded, dtype=f"S{self.width}")
        self.fixed = all(len(w) == self.width for w in encoded)
        self.dictionary = pa.array(list(words), type=pa.string())

    def strings(self, codes: np.ndarray) -> pa.StringArray:
        """Strings of the codes; negative codes become null."""
        codes = np.asarray(codes)
        valid = codes >= 0
        safe = np.where(valid, codes, 0)
        if self.fixed:  # e.g. country codes: one gather of fixed-width bytes
            return strings_from_bytes(self.chars[safe], None if valid.all() else valid)
        indices = pa.array(safe.astype(np.int32), type=pa.int32(), mask=None if valid.all() else ~valid)
        return pa.DictionaryArray.from_arrays(indices, self.dictionary).dictionary_decode()


def hex12(values: np.ndarray) -> pa.StringArray:
    """12-character lower-case hex strings of 48-bit integers, as an Arrow string array."""
    return strings_from_bytes(hex12_bytes(values))
