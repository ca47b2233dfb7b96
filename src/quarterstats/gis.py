"""GIS downloads: the districts with their published (protected) values, ready for QGIS and open-data portals.

Per reference date two files of the same wide table (one row per district, no city row):

* ``bezirke.gpkg`` — GeoPackage, layer ``bezirke``, EPSG:25832 (the pipeline's CRS);
* ``bezirke.geojson`` — GeoJSON after RFC 7946: WGS 84 longitude/latitude, 7 decimals, no ``crs`` member.

Columns: ``district_id``, ``district_name``, ``reference_date`` (ISO), then one column per published
indicator named by its catalogue id (``foreign_share``, ``lisa_class_foreign``, ...; the ids and their
definitions are on the sheet "Definitionen" of ``tabellen.xlsx`` and in ``docs/published-files.md``):
counts as integers, everything else as floating point, unrounded. Class indicators also get their words in
``<id>_de``. A value that is not published is null; why is in three columns listing indicator ids
(comma-separated): ``suppressed`` (``*``, statistical confidentiality), ``not_available`` (``x``, no value
computable) and ``unknown`` (``.``, a delivered number is missing). The protected values are exactly
those of ``indikatoren.parquet``.

Reruns give identical bytes: GDAL stamps a GeoPackage's ``gpkg_contents.last_change`` with the current time
unless ``OGR_CURRENT_DATE`` is set, so the write sets it to a fixed instant (restored afterwards); row and
column order are fixed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from quarterstats import atomic
from quarterstats.catalogue import CATALOGUE, Indicator
from quarterstats.signs import NOT_AVAILABLE, SUPPRESSED, UNKNOWN

__all__ = ["FIXED_GPKG_DATE", "GEOJSON_CRS", "GPKG_CRS", "districts_wide", "write_gis_files"]

GPKG_CRS = "EPSG:25832"
GEOJSON_CRS = "EPSG:4326"
LAYER = "bezirke"
#: What GDAL writes as the GeoPackage's "last change" (instead of the time of the run).
FIXED_GPKG_DATE = "2000-01-01T00:00:00.000Z"
CITY = "city"


def districts_wide(published: pd.DataFrame, districts: gpd.GeoDataFrame,
                   catalogue: Mapping[str, Indicator] = CATALOGUE) -> gpd.GeoDataFrame:
    """The districts (geometry, boundary order) with one column per published indicator (see module)."""
    from quarterstats.tables import class_words_de

    rows = published[published["district_id"] != CITY]
    indicators = list(dict.fromkeys(rows["indicator"]))
    ids = districts["district_id"].astype(str).tolist()
    values = rows.pivot(index="district_id", columns="indicator", values="value").reindex(index=ids, columns=indicators)
    flags = rows.pivot(index="district_id", columns="indicator", values="flag").reindex(index=ids, columns=indicators)
    flags = flags.astype("string").fillna(NOT_AVAILABLE)
    names = rows.drop_duplicates("district_id").set_index("district_id")["district_name"]
    day = rows["reference_date"].iloc[0] if len(rows) else None
    columns: dict[str, object] = {
        "district_id": pd.array(ids, dtype="string"),
        "district_name": pd.array(names.reindex(ids).fillna(districts["name"].astype(str).set_axis(ids)).tolist(),
                                  dtype="string"),
        "reference_date": pd.array([day.isoformat() if day is not None else None] * len(ids), dtype="string"),
    }
    for indicator in indicators:
        kind = catalogue[indicator].kind if indicator in catalogue else "index"
        column = values[indicator]
        if kind == "count":
            columns[indicator] = pd.array(column.round().to_numpy(), dtype="Int64")
        else:
            columns[indicator] = column.to_numpy(dtype=float)
        if kind == "class":
            columns[f"{indicator}_de"] = class_words_de(indicator, column).reset_index(drop=True).array

    def listed(sign: str) -> pd.array:
        hit = (flags == sign).to_numpy(dtype=bool, na_value=False)
        joined = [",".join(np.asarray(indicators, dtype=object)[row]) for row in hit]  # loops over districts
        return pd.array(joined, dtype="string")

    columns["suppressed"] = listed(SUPPRESSED)
    columns["not_available"] = listed(NOT_AVAILABLE)
    columns["unknown"] = listed(UNKNOWN)
    frame = pd.DataFrame(columns)
    return gpd.GeoDataFrame(frame, geometry=districts.geometry.to_crs(GPKG_CRS).to_numpy(), crs=GPKG_CRS)


def _write_gpkg(frame: gpd.GeoDataFrame, target: Path) -> None:
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    try:
        # GDAL wants the .gpkg extension: write in a private folder, then replace the target atomically
        with tempfile.TemporaryDirectory(dir=target.parent) as folder:
            scratch = Path(folder) / target.name
            pyogrio.write_dataframe(frame, scratch, layer=LAYER, driver="GPKG")
            atomic.write_bytes(scratch.read_bytes(), target)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _write_geojson(frame: gpd.GeoDataFrame, target: Path) -> None:
    import pyogrio

    with atomic.atomic_path(target) as tmp:
        pyogrio.write_dataframe(frame.to_crs(GEOJSON_CRS), tmp, driver="GeoJSON", layer=LAYER,
                                layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})


def write_gis_files(published: pd.DataFrame, districts: gpd.GeoDataFrame, folder: Path,
                    stem: str = "bezirke", catalogue: Mapping[str, Indicator] = CATALOGUE) -> list[Path]:
    """``<stem>.gpkg`` (EPSG:25832) and ``<stem>.geojson`` (RFC 7946) of the published values."""
    frame = districts_wide(published, districts, catalogue)
    gpkg, geojson = folder / f"{stem}.gpkg", folder / f"{stem}.geojson"
    _write_gpkg(frame, gpkg)
    _write_geojson(frame, geojson)
    return [gpkg, geojson]
