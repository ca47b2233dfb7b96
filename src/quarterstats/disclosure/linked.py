"""What the published files give away *together*: values at published precision, and city-level indices
and values computed from several counts only where all of those counts are published.

Each table of a date passes its own audit (:mod:`.indicators`, :func:`quarterstats.publication.pyramid_table`);
an intruder reads all of them at once. This module closes the channels between them:

* **Precision** — :func:`at_published_precision` rounds every value of a long table to the decimals the
  tables print (:func:`published_decimals`), and :func:`segregation_at_published_precision` the city-level
  indices; the figures draw only such values, so no SVG coordinate is more precise than a table.
* **City-level indices** — a segregation index, Moran's I or a LISA class of a group is a function of the
  group's count in every district and of the residents. :func:`publishable_segregation` publishes it only
  where all these counts are published (then it is a function of published values and adds nothing);
  else it is suppressed. The same rule for the per-district values that are computed from several
  counts: the origin diversity of an area follows its origin-region counts, a LISA class the group's
  counts in all districts (:func:`hide_values_of_suppressed_inputs`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from quarterstats.catalogue import CATALOGUE, ORIGIN_REGIONS, SEGREGATION_GROUPS, Indicator, display_decimals

from quarterstats.signs import SUPPRESSED

CITY = "city"
#: The group id of the multigroup indices (all origin regions and the residents without MH).
MULTIGROUP = "origin_regions"
#: Decimals of the city-level indices in the report (D × 100 with one decimal, the others with three).
SEGREGATION_DECIMALS = {"seg_dissimilarity": 1}
SEGREGATION_DEFAULT_DECIMALS = 3
P_VALUE_DECIMALS = 3
#: Decimals a value is printed with in the workbook and the report, whichever is finer.
_DECIMALS_BY_KIND = {"count": 0, "share": 1, "ratio": 1, "rate": 1, "mean": 1, "index": 3, "score": 3}
_DECIMALS_BY_ID = {"household_size_mean": 2}
_REGION_COUNTS = tuple(f"origin_region_{code}" for code, _, _ in ORIGIN_REGIONS)


# ------------------------------------------------------------------------------------ precision
def published_decimals(indicator: str, kind: str) -> int | None:
    """Decimals with which the workbook and the report print a value (the finer of the two); None for
    class codes (published as they are)."""
    if indicator in CATALOGUE:
        return display_decimals(CATALOGUE[indicator])
    if kind == "class":
        return None
    if indicator in _DECIMALS_BY_ID:
        return _DECIMALS_BY_ID[indicator]
    if indicator.startswith("location_quotient_"):
        return 2
    return _DECIMALS_BY_KIND.get(kind, 3)


def at_published_precision(table: pd.DataFrame | None,
                           catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame | None:
    """Copy of a long table (``indicator``, ``value``, optionally ``change_previous``/``change_baseline``)
    with every value rounded to :func:`published_decimals`: what a figure may draw."""
    if table is None or len(table) == 0 or "indicator" not in table.columns:
        return table
    out = table.copy()
    indicators = out["indicator"].astype(str)
    kinds = out["kind"].astype(str) if "kind" in out.columns else \
        indicators.map(lambda i: catalogue[i].kind if i in catalogue else "index")
    decimals = pd.Series([published_decimals(i, k) for i, k in zip(indicators, kinds)], index=out.index)
    for column in ("value", "change_previous", "change_baseline"):
        if column not in out.columns:
            continue
        values = pd.to_numeric(out[column], errors="coerce").astype("float64")
        rounded = values.copy()
        for d in decimals.dropna().unique():
            rows = (decimals == d).to_numpy()
            rounded[rows] = np.round(values[rows].to_numpy(), int(d))
        out[column] = rounded
    return out


def segregation_at_published_precision(segregation: pd.DataFrame | None) -> pd.DataFrame | None:
    """Copy of a city-level index table (``index``, ``group``, ``value``, ``p_value``) rounded to the
    decimals of the report."""
    if segregation is None or len(segregation) == 0:
        return segregation
    out = segregation.copy()
    decimals = out["index"].astype(str).map(lambda i: SEGREGATION_DECIMALS.get(i, SEGREGATION_DEFAULT_DECIMALS))
    values = pd.to_numeric(out["value"], errors="coerce").astype("float64").to_numpy()
    out["value"] = [np.round(v, int(d)) for v, d in zip(values, decimals)]
    if "p_value" in out.columns:
        out["p_value"] = np.round(pd.to_numeric(out["p_value"], errors="coerce").astype("float64"), P_VALUE_DECIMALS)
    return out


# --------------------------------------------------------------------------- city-level indices
def segregation_inputs(group: str) -> tuple[str, ...]:
    """The count indicators a city-level index of ``group`` is computed from (in every district)."""
    if group == MULTIGROUP:  # origin regions of residents with MH + the residents without MH
        return ("pop", "with_mh", *_REGION_COUNTS)
    if group in ("foreign", "with_mh"):
        return ("pop", group)
    return ("pop", "origin_" + group)


def suppressed_inputs(published: pd.DataFrame) -> set[str]:
    """Count indicators with a suppressed (or missing) value in some area of one date's long table."""
    hidden = published["value"].isna() & (published["flag"].astype(str) == SUPPRESSED)
    return set(published.loc[hidden, "indicator"].astype(str))


def publishable_segregation(segregation: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """The city-level indices as they may be published: columns of ``segregation`` (``index``, ``group``,
    ``value``, ``p_value``, optionally ``reference_date``) and ``flag``.

    ``published``: the protected long table(s) of the same date(s) (``reference_date`` when several).
    An index of a group is published (rounded to the report's decimals) only where none of its input
    counts (:func:`segregation_inputs`) is suppressed in any area of its date; then it is a function of
    published values. Otherwise value and p-value are NaN and the flag is ``"*"``. This is the table the
    workbook and the report print and the figures draw."""
    out = segregation_at_published_precision(segregation).copy()
    by_date = "reference_date" in out.columns and "reference_date" in published.columns
    if by_date:
        hidden = {pd.Timestamp(d): suppressed_inputs(rows)
                  for d, rows in published.groupby("reference_date", sort=False)}
        dates = [pd.Timestamp(d) for d in out["reference_date"]]
        # a date without a published table: nothing is known to be publishable
        blocked = [None if d not in hidden else hidden[d] for d in dates]
    else:
        blocked = [suppressed_inputs(published)] * len(out)
    keep = np.array([b is not None and not (set(segregation_inputs(str(g))) & b)
                     for g, b in zip(out["group"], blocked)], dtype=bool)
    out["value"] = np.where(keep, out["value"], np.nan)
    if "p_value" in out.columns:
        out["p_value"] = np.where(keep, out["p_value"], np.nan)
    out["flag"] = pd.array(np.where(keep, "", SUPPRESSED), dtype="string")
    return out.reset_index(drop=True)


def hide_values_of_suppressed_inputs(published: pd.DataFrame) -> pd.DataFrame:
    """Copy of one date's protected long table (``district_id``, ``indicator``, ``value``,
    ``numerator``, ``denominator``, ``flag``) in which values computed from suppressed counts are
    suppressed as well: the origin diversity (Shannon, Simpson) of an area where one of its
    origin-region counts is suppressed, and the LISA classes of a group in every district where one of
    the group's counts (or the residents) is suppressed somewhere (a LISA class compares a district's
    share with its neighbours' and with permutations of all shares)."""
    out = published.copy()
    flag = out["flag"].astype("string").fillna("")
    indicator = out["indicator"].astype(str)
    hidden = out["value"].isna() & (flag == SUPPRESSED)
    regions_hidden = set(out.loc[hidden & indicator.isin(_REGION_COUNTS), "district_id"].astype(str))
    diversity = indicator.isin(["origin_diversity_shannon", "origin_diversity_simpson"]) & \
        out["district_id"].astype(str).isin(regions_hidden)
    blocked = suppressed_inputs(out)
    lisa = np.zeros(len(out), dtype=bool)
    for gid, _, _ in SEGREGATION_GROUPS:
        if set(segregation_inputs(gid)) & blocked:
            lisa |= (indicator == f"lisa_class_{gid}").to_numpy()
    hide = (diversity.to_numpy() | lisa) & out["value"].notna().to_numpy()
    columns = [c for c in ("value", "numerator", "denominator") if c in out.columns]
    out.loc[hide, columns] = np.nan
    flag = flag.to_numpy(dtype=object)
    flag[hide] = SUPPRESSED
    out["flag"] = pd.array(flag, dtype="string")
    return out

