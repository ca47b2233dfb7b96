"""Shared machinery of the indicator families: district coding, tallies, shares, the long table.

Every family computes arrays of length ``D + 1``: one entry per district (in natural order of
``district_id``) followed by the city total. Person-level tallies are ``numpy.bincount`` over an integer
district code per person; persons whose ``district_id`` is null or not among the districts get the extra
code ``D``: they count in the city total (computed from all persons, never by summing rounded district
values) but in no district.
"""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quarterstats import background
from quarterstats.catalogue import Indicator, IndicatorParameters
from quarterstats.links import arrow_text, factorize_text, is_text_categorical, parent_rows

CITY_ID = "city"
LONG_COLUMNS = ["district_id", "indicator", "value", "numerator", "denominator"]

#: Highest age of the register contract (ages are 0-120).
MAX_AGE = 120

_TOKEN = re.compile(r"(\d+)")


def natural_key(district_id: str) -> tuple:
    """Sort key for district ids in natural order ("2" < "10", "01" < "02" < "10a"); "city" sorts last."""
    s = str(district_id)
    if s == CITY_ID:
        return ((2, 0, ""),)
    parts = []
    for tok in _TOKEN.split(s):
        if not tok:
            continue
        parts.append((0, int(tok), tok) if tok.isdigit() else (1, 0, tok))
    return tuple(parts)


def sort_district_ids(ids: Iterable[str]) -> list[str]:
    """District ids in natural order ("city", if present, last)."""
    return sorted((str(i) for i in ids), key=natural_key)


@dataclass
class Values:
    """One indicator for all districts plus the city (arrays of length D + 1, float64)."""

    value: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray

    @classmethod
    def count(cls, counts: np.ndarray) -> "Values":
        """A count: value = numerator = the count, no denominator."""
        c = np.asarray(counts, dtype=np.float64)
        return cls(c, c.copy(), np.full_like(c, np.nan))

    @classmethod
    def ratio(cls, numerator: np.ndarray, denominator: np.ndarray, scale: float = 100.0) -> "Values":
        """value = scale × numerator / denominator; NaN where the denominator is 0 or missing."""
        num = np.asarray(numerator, dtype=np.float64)
        den = np.asarray(denominator, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(den > 0, scale * num / np.where(den > 0, den, 1.0), np.nan)
        return cls(val, num.copy(), den.copy())

    @classmethod
    def plain(cls, value: np.ndarray) -> "Values":
        """A value without numerator/denominator (scores, indices, classes)."""
        v = np.asarray(value, dtype=np.float64)
        return cls(v, np.full_like(v, np.nan), np.full_like(v, np.nan))


Results = dict[str, Values]


def add_count_share(results: Results, id: str, counts: np.ndarray, base: np.ndarray) -> None:
    """Add the count ``id`` and its percent share ``id_share`` (numerator = count, denominator = base)."""
    results[id] = Values.count(counts)
    results[f"{id}_share"] = Values.ratio(counts, base, 100.0)


def lookup(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position of each value in ``value_set`` (first occurrence), -1 where absent or null (hash join in
    Arrow C++: one hash table build, vectorised probes)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if values.type != value_set.type:
        values = pc.cast(values, value_set.type)
    pos = pc.fill_null(pc.index_in(values, value_set=value_set), -1)
    return np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)


def positions_in(series: pd.Series, value_set: pa.Array) -> np.ndarray:
    """:func:`lookup` of a text column: a Categorical is looked up once per category, then spread to
    its rows by the codes; other columns are converted to Arrow text and looked up row by row."""
    if is_text_categorical(series):
        categories = pa.array([str(c) for c in series.cat.categories], type=pa.large_string())
        return np.append(lookup(categories, value_set), -1)[series.cat.codes.to_numpy()]
    return lookup(arrow_text(series), value_set)


@dataclass
class DistrictCoder:
    """District ids in natural order and the mapping of per-row district ids to integer codes."""

    district_ids: tuple[str, ...]

    @classmethod
    def from_districts(cls, districts: pd.DataFrame) -> "DistrictCoder":
        if "district_id" not in districts.columns:
            raise ValueError("districts must have a 'district_id' column")
        ids = districts["district_id"]
        if ids.isna().any():
            raise ValueError("districts: district_id must not be null")
        ids = [str(i) for i in ids]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"districts: duplicate district_id {dup}")
        if CITY_ID in ids:
            raise ValueError(f"districts: '{CITY_ID}' is reserved for the city total")
        return cls(tuple(sort_district_ids(ids)))

    @property
    def n(self) -> int:
        return len(self.district_ids)

    @cached_property
    def index(self) -> pd.Index:
        return pd.Index(list(self.district_ids), dtype=object)

    @cached_property
    def _value_set(self) -> pa.Array:
        return pa.array(list(self.district_ids), type=pa.large_string())

    def codes(self, district_ids: pd.Series) -> np.ndarray:
        """Integer code per row: 0..D-1 for known districts, D for null/unknown ids."""
        pos = positions_in(district_ids, self._value_set)
        return np.where(pos < 0, self.n, pos).astype(np.int64)

    def tally(self, codes: np.ndarray, mask: np.ndarray | None = None,
              weights: np.ndarray | None = None) -> np.ndarray:
        """Per-district sums of ``weights`` (or counts) over rows where ``mask``; last entry: city total."""
        if mask is not None and weights is None:  # a count: select, then count (no float weights)
            bins = np.bincount(codes[np.asarray(mask, dtype=bool)], minlength=self.n + 1).astype(np.float64)
            return np.append(bins[: self.n], bins.sum())
        if mask is not None:
            weights = np.where(mask, weights, 0.0)
        bins = np.bincount(codes, weights=weights, minlength=self.n + 1).astype(np.float64)
        return np.append(bins[: self.n], bins.sum())


def flag(series: pd.Series, value: str) -> np.ndarray:
    """Boolean array ``series == value`` with missing values as False (str, object or Categorical)."""
    return (series == value).to_numpy(dtype=bool, na_value=False)


def bool_array(series: pd.Series) -> np.ndarray:
    """A boolean column as a numpy bool array (missing -> False)."""
    if series.dtype == bool:
        return series.to_numpy()
    return series.astype("boolean").to_numpy(dtype=bool, na_value=False)


def to_day(series: pd.Series) -> np.ndarray:
    """Dates (date32 as Python dates, datetime64 or Arrow dates) as ``datetime64[D]`` with NaT for missing."""
    return pd.to_datetime(series).to_numpy(dtype="datetime64[D]")


def years_before(reference_date: date, years: int) -> np.datetime64:
    """The same calendar day ``years`` years earlier (29 Feb -> 28 Feb) as ``datetime64[D]``."""
    ts = pd.Timestamp(reference_date) - pd.DateOffset(years=years)
    return np.datetime64(ts.date(), "D")


def match_previous(persons: pd.DataFrame, previous: pd.DataFrame) -> Future:
    """Where each of the previous date's persons is now: for each row of ``previous``, the row of
    ``persons`` with the same ``person_id`` (-1 = gone). One Arrow hash join of the two id columns
    (about 1.2 s at 4 million persons, in compiled code), so it runs in a worker thread
    (:func:`quarterstats.background.start`); ``.result()`` waits for it."""
    return background.start(lookup, arrow_text(previous["person_id"]), arrow_text(persons["person_id"]))


@dataclass
class PersonFrame:
    """The persons table of one reference date, prepared once for all families.

    ``person_id`` is assumed unique (the ingest contract quarantines duplicates); a duplicate would make
    links resolve to its first occurrence.
    """

    persons: pd.DataFrame
    coder: DistrictCoder
    reference_date: date
    params: IndicatorParameters
    codes: np.ndarray = field(init=False)
    age: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.codes = self.coder.codes(self.persons["district_id"])
        self.age = self.persons["age"].to_numpy(dtype=np.int64, na_value=-1)
        self._categories: dict[str, tuple[np.ndarray, pd.Index, dict]] = {}
        self._links: dict[str, np.ndarray] | None = None
        self._previous: Future | None = None  # the previous date's ids, being matched (resolve_links)

    def tally(self, mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        return self.coder.tally(self.codes, mask, weights)

    @cached_property
    def pop(self) -> np.ndarray:
        return self.tally()

    @cached_property
    def age_table(self) -> np.ndarray:
        """Persons by area (rows: districts, then city) × single year of age 0..MAX_AGE (one bincount)."""
        age = np.clip(self.age, 0, MAX_AGE)
        width = MAX_AGE + 1
        table = np.bincount(self.codes * width + age, minlength=(self.coder.n + 1) * width)
        table = table.reshape(self.coder.n + 1, width).astype(np.float64)
        table[-1] = table.sum(axis=0)
        return table

    def tally_ages(self, lower: int = 0, upper: int | None = None) -> np.ndarray:
        """Persons aged lower <= age < upper (upper None: open) per district and city."""
        return self.age_table[:, lower:upper].sum(axis=1)

    @cached_property
    def minor(self) -> np.ndarray:
        return self.age < self.params.minor_age_limit

    def categories(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """Cached factorisation of a categorical column: (codes with -1 for missing, distinct values)."""
        if column not in self._categories:
            series = self.persons[column]
            if pd.api.types.is_string_dtype(series.dtype) or is_text_categorical(series):
                codes, uniques = factorize_text(series)  # one Arrow hash pass, none for a Categorical
            else:
                codes, uniques = pd.factorize(series)
            values = pd.Index(np.asarray(uniques, dtype=object))
            self._categories[column] = (np.asarray(codes), values, {v: i for i, v in enumerate(values)})
        return self._categories[column][:2]

    def flag(self, column: str, value: str) -> np.ndarray:
        """``persons[column] == value`` (missing -> False), via the cached factorisation of the column."""
        codes, _ = self.categories(column)
        hit = self._categories[column][2].get(value)
        if hit is None:
            return np.zeros(len(codes), dtype=bool)
        return codes == hit

    def resolve_links(self, previous: pd.DataFrame | None = None, previous_match: Future | None = None) -> None:
        """Resolve the parent links of minors (``mother``, ``father``: row positions for the minors, -1 =
        no link or parent not in the extract) and, when given, the previous date's person_ids
        (``previous``: position now, -1 = gone). Parent links come from the ``mother_row``/``father_row``
        the ingest resolved, when they fit (:func:`quarterstats.links.parent_rows`); whatever is left is
        looked up in an Arrow hash join against this date's person_ids. The previous date's ids (a
        hash join of two whole tables, about 1.2 s at 4 million persons) are matched in a worker
        thread (:func:`match_previous`) while the caller goes on, unless the caller started that
        already (``previous_match``); ``links["previous"]`` waits for them."""
        minor_rows = np.flatnonzero(self.minor)
        links: dict[str, np.ndarray] = {"minor_rows": minor_rows}
        if previous_match is not None:
            self._previous = previous_match
        elif previous is not None:
            self._previous = match_previous(self.persons, previous)
        carried = parent_rows(self.persons)
        if carried is not None:
            links["mother"] = carried["mother_id"][minor_rows]
            links["father"] = carried["father_id"][minor_rows]
        else:
            probes = [arrow_text(self.persons[c].iloc[minor_rows]) for c in ("mother_id", "father_id")]
            positions = lookup(pa.concat_arrays(probes), arrow_text(self.persons["person_id"]))
            links["mother"], links["father"] = positions[: len(minor_rows)], positions[len(minor_rows):]
        self._links = links

    @property
    def links(self) -> dict[str, np.ndarray]:
        if self._links is None:
            self.resolve_links()
        if self._previous is not None:
            self._links["previous"] = self._previous.result()
            self._previous = None
        return self._links


def to_long(results: Mapping[str, Values], coder: DistrictCoder,
            catalogue: Mapping[str, Indicator]) -> pd.DataFrame:
    """The long table: one row per district (natural order, then "city") and indicator (catalogue order)."""
    unknown = [k for k in results if k not in catalogue]
    if unknown:
        raise KeyError(f"indicator ids not in the catalogue: {unknown}")
    ids = [k for k in catalogue if k in results]
    n_rows = coder.n + 1
    district = np.repeat(np.array(list(coder.district_ids) + [CITY_ID], dtype=object), len(ids))
    indicator = np.tile(np.array(ids, dtype=object), n_rows)

    def stack(attr: str) -> np.ndarray:
        if not ids:
            return np.empty(0)
        return np.stack([getattr(results[k], attr) for k in ids], axis=1).ravel().astype(np.float64)

    return pd.DataFrame({
        "district_id": pd.array(district, dtype="str"),
        "indicator": pd.array(indicator, dtype="str"),
        "value": stack("value"),
        "numerator": stack("numerator"),
        "denominator": stack("denominator"),
    })
