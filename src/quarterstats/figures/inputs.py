"""Reading the protected inputs of the figures: values, flags, names and dates per district.

The figures only ever receive protected aggregate tables: the long
indicator table ``published`` of one date, the stacked ``series`` of all dates, the city-level
``segregation`` indices, the protected ``pyramid`` counts and the district polygons. This module turns
them into per-district arrays in the natural order of the district ids:

* status ``"ok"`` — a published value;
* status ``"suppressed"`` — flag ``"*"`` (suppressed for confidentiality): drawn hatched grey,
  "Wert gesperrt (Geheimhaltung)";
* status ``"missing"`` — no value for any other reason (flag ``"x"``, NaN, no row at all): "kein Wert".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
import geopandas as gpd
import numpy as np
import pandas as pd

from quarterstats.catalogue import CATALOGUE
from quarterstats.indicators.common import CITY_ID, natural_key

from .style import as_date

__all__ = [
    "CITY_ID",
    "OK",
    "MISSING",
    "SUPPRESSED",
    "IndicatorValues",
    "district_frame",
    "indicator_text",
    "indicator_values",
    "dates_up_to",
]

OK, SUPPRESSED, MISSING = "ok", "suppressed", "missing"
SUPPRESSED_FLAG = "*"
TARGET_CRS = "EPSG:25832"


@dataclass(frozen=True)
class IndicatorValues:
    """One indicator of one date for every district (arrays aligned with the district frame)."""

    indicator: str
    label_de: str
    unit: str
    definition_de: str
    district_ids: tuple[str, ...]
    values: np.ndarray  # float64, NaN where status != "ok"
    status: np.ndarray  # object: "ok" / "suppressed" / "missing"
    city_value: float
    city_status: str

    @property
    def n_ok(self) -> int:
        return int((self.status == OK).sum())


def indicator_text(indicator: str, table: pd.DataFrame | None = None) -> tuple[str, str, str]:
    """(German label, unit, German definition) of an indicator: the label and unit published with the
    table where present, else the catalogue's; the id itself as a last resort."""
    entry = CATALOGUE.get(indicator)
    label = entry.label_de if entry else indicator
    unit = entry.unit if entry else ""
    definition = entry.definition_de if entry else ""
    if table is not None and len(table) and "indicator" in table.columns:
        rows = table[table["indicator"] == indicator]
        if len(rows):
            if "label_de" in rows.columns and isinstance(rows["label_de"].iloc[0], str) and rows["label_de"].iloc[0]:
                label = rows["label_de"].iloc[0]
            if "unit" in rows.columns and isinstance(rows["unit"].iloc[0], str):
                unit = rows["unit"].iloc[0]
    return label, unit, definition


def district_frame(districts: gpd.GeoDataFrame, published: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """The districts in natural id order with columns district_id (str), name, geometry (EPSG:25832).

    The name comes from ``districts["name"]``, else from the published ``district_name``, else the id.
    A frame without a CRS is taken to be in EPSG:25832 already."""
    frame = districts.copy()
    if frame.crs is None:
        frame = frame.set_crs(TARGET_CRS)
    elif frame.crs.to_epsg() != 25832:
        frame = frame.to_crs(TARGET_CRS)
    frame["district_id"] = frame["district_id"].astype(str)
    names = frame["name"].astype(object) if "name" in frame.columns else pd.Series(None, index=frame.index,
                                                                                        dtype=object)
    if published is not None and "district_name" in published.columns:
        lookup = dict(zip(published["district_id"].astype(str), published["district_name"].astype(object)))
        names = names.where(names.notna(), frame["district_id"].map(lookup).astype(object))
    names = names.where(names.notna() & (names.astype(str).str.strip() != ""), frame["district_id"])
    frame["name"] = names.astype(str)
    order = sorted(range(len(frame)), key=lambda i: natural_key(frame["district_id"].iloc[i]))
    frame = frame.iloc[order].reset_index(drop=True)
    return gpd.GeoDataFrame(frame[["district_id", "name"]], geometry=frame.geometry.values, crs=TARGET_CRS)


def _status(value: float, flag) -> str:
    if isinstance(flag, str) and flag.strip() == SUPPRESSED_FLAG:
        return SUPPRESSED
    if np.isfinite(value):
        return OK
    return MISSING


def indicator_values(published: pd.DataFrame, indicator: str, district_ids) -> IndicatorValues:
    """Values and status of ``indicator`` for ``district_ids`` (in that order) and for the city."""
    ids = tuple(str(d) for d in district_ids)
    label, unit, definition = indicator_text(indicator, published)
    rows = published[published["indicator"] == indicator]
    keyed = rows.assign(_id=rows["district_id"].astype(str)).drop_duplicates("_id").set_index("_id")
    value = pd.to_numeric(keyed["value"], errors="coerce").astype("float64")
    flags = keyed["flag"] if "flag" in keyed.columns else pd.Series("", index=keyed.index)
    values = np.full(len(ids), np.nan)
    status = np.full(len(ids), MISSING, dtype=object)
    for i, d in enumerate(ids):
        if d in value.index:
            v = float(value.loc[d])
            status[i] = _status(v, flags.loc[d])
            values[i] = v if status[i] == OK else np.nan
    if CITY_ID in value.index:
        city_value = float(value.loc[CITY_ID])
        city_status = _status(city_value, flags.loc[CITY_ID])
        city_value = city_value if city_status == OK else np.nan
    else:
        city_value, city_status = np.nan, MISSING
    return IndicatorValues(indicator, label, unit, definition, ids, values, status, city_value, city_status)


def dates_up_to(table: pd.DataFrame, reference_date) -> tuple[pd.DataFrame, list[date]]:
    """Rows of ``table`` with ``reference_date`` on or before the given date (a report for a Stichtag
    shows the history up to it, so adding later dates never changes it) and the sorted dates kept."""
    if table is None or len(table) == 0 or "reference_date" not in table.columns:
        return (table if table is not None else pd.DataFrame()), []
    ref = as_date(reference_date)
    as_dates = table["reference_date"].map(as_date)
    kept = table[(as_dates <= ref).to_numpy()].copy()
    kept["reference_date"] = as_dates[(as_dates <= ref).to_numpy()].to_numpy()
    return kept, sorted(set(kept["reference_date"]))
