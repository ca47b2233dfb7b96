"""Changes against the previous and the baseline reference date, and time series.

``change_previous`` = value(t) − value(previous date) and ``change_baseline`` = value(t) − value(first
date), matched on (district_id, indicator): absolute differences, so for percent shares the change is in
**percentage points** (catalogue: :attr:`quarterstats.catalogue.Indicator.change_unit`). Where a difference
means nothing — classes (``milieu_type``, ``lisa_class_<group>``, ``milieu_excluded``) and ranked counts
(``top_country_<k>``, whose country may differ between dates), i.e. ``comparable_over_time`` is False — the
change is NaN. The changes of the milieu dimension scores (``milieu_<dimension>``) are produced here like
any other indicator; scores are relative positions among the districts of each date.

The milieu classes that depend on other dates are set here too
(:func:`quarterstats.indicators.milieu.classes_over_time`): the district types, fitted once on the first
reference date (``baseline``; the table itself when it is the first) and assigned to every later date by
the nearest type centre, and the dynamics class from the change of the status score against the previous
date.
"""

from __future__ import annotations

from datetime import date
from typing import Mapping

import numpy as np
import pandas as pd

from quarterstats.catalogue import CATALOGUE, Indicator, IndicatorParameters

from .common import natural_key
from .milieu import classes_over_time

KEY = ["district_id", "indicator"]


def add_changes(current: pd.DataFrame, previous: pd.DataFrame | None = None,
                baseline: pd.DataFrame | None = None, *,
                catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """The long table ``current`` with columns ``change_previous`` and ``change_baseline`` (NaN where the
    other date has no value for the district/indicator, where no table is given, or where the indicator
    is not comparable over time). Ids missing from ``catalogue`` are treated as comparable. The milieu
    types and dynamics classes are set from ``baseline`` and the changes (module docstring), with the
    parameters the catalogue was built with."""
    out = current.copy()
    others = [("change_previous", previous), ("change_baseline", baseline)]
    given = [(column, other) for column, other in others if other is not None]
    keys, indicators = _row_keys([out] + [other for _, other in given])
    key_of = {column: pd.Index(k) for (column, _), k in zip(given, keys[1:])}
    # judged once per indicator id, not once per row (60,000 rows at 450 districts)
    flags = np.array([catalogue[i].comparable_over_time if i in catalogue else True for i in indicators], dtype=bool)
    comparable = flags[keys[0] % max(len(indicators), 1)]
    value = out["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    for column, other in others:
        if other is None:
            out[column] = np.full(len(out), np.nan)
            continue
        if key_of[column].has_duplicates:
            raise ValueError(f"{column}: the other table has duplicate (district_id, indicator) rows")
        position = key_of[column].get_indexer(keys[0])  # -1: the other date has no such row
        other_value = other["value"].to_numpy(dtype=np.float64, na_value=np.nan)
        before = np.where(position >= 0, other_value[np.maximum(position, 0)], np.nan) if len(other) else np.nan
        out[column] = np.where(comparable, value - before, np.nan)
    return classes_over_time(out, baseline, getattr(catalogue, "params", None) or IndicatorParameters())


def _row_keys(tables: list[pd.DataFrame]) -> tuple[list[np.ndarray], list[str]]:
    """One integer key per row of each table, equal in all tables for the same ``(district_id,
    indicator)``: ``district code * number of indicators + indicator code``, with the codes of the
    distinct ids of all tables together (a hash lookup of integers instead of two strings); and the
    indicator ids in code order (``key % number of indicators`` is a row's indicator code)."""
    sizes = np.cumsum([len(t) for t in tables])[:-1]
    codes = {}
    for column in KEY:
        values = pd.concat([t[column].astype("string[pyarrow]") for t in tables], ignore_index=True)
        codes[column] = pd.factorize(values, use_na_sentinel=False)
    indicators = [str(i) for i in codes["indicator"][1]]
    keys = codes["district_id"][0].astype(np.int64) * max(len(indicators), 1) + codes["indicator"][0]
    return np.split(keys, sizes), indicators


def sort_long(table: pd.DataFrame, catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """Rows in the deterministic order: district natural order ("city" last), then catalogue order
    (ids not in the catalogue after, alphabetically). The ranks are worked out once per distinct
    district and indicator (factorised), not looked up once per row."""
    order = {k: i for i, k in enumerate(catalogue)}
    d_codes, d_ids = pd.factorize(table["district_id"], use_na_sentinel=False)
    i_codes, i_ids = pd.factorize(table["indicator"], use_na_sentinel=False)
    d_rank = np.empty(len(d_ids), dtype=np.int64)
    d_rank[sorted(range(len(d_ids)), key=lambda k: natural_key(d_ids[k]))] = np.arange(len(d_ids))
    names = [str(i) for i in i_ids]
    unknown = sorted(set(names) - set(order))
    i_rank = {**order, **{k: len(order) + j for j, k in enumerate(unknown)}}
    i_rank = np.array([i_rank[k] for k in names], dtype=np.int64)
    return table.iloc[np.lexsort((i_rank[i_codes], d_rank[d_codes]))].reset_index(drop=True)


def time_series(tables: Mapping[date, pd.DataFrame], *,
                catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """All dates' long tables stacked with a leading ``reference_date`` column (``datetime.date``
    objects, like the keys), ordered by date, then district, then catalogue order."""
    parts = []
    for ref in sorted(tables):
        t = sort_long(tables[ref], catalogue)
        t.insert(0, "reference_date", pd.Series([ref] * len(t), dtype=object))
        parts.append(t)
    if not parts:
        return pd.DataFrame(columns=["reference_date", *KEY, "value", "numerator", "denominator"])
    return pd.concat(parts, ignore_index=True)
