"""District boundaries: read any declared CRS, work in EPSG:25832, validate the coverage.

A boundary file holds one polygon per district with an id and a name. Real files are not perfectly clean
(Kaiserslautern's own Ortsbezirke overlap by 0.3 m² in total and leave a 0.09 m² hole), so validation
tolerates what is negligible and reports what is not:

* the file declares its CRS (or the caller does), and the districts lie in Germany once reprojected to
  EPSG:25832 (else the declared CRS is wrong: e.g. a GeoJSON in metres without a ``crs`` member, which
  by definition means WGS84 degrees) — ``boundaries.crs``;
* a file with several layers names the one to use — ``boundaries.layers``; it has features —
  ``boundaries.rows``; an id (or name) column — ``boundaries.id``;
* every geometry is a non-empty (multi)polygon (``boundaries.geometry``); invalid ones are repaired with
  ``shapely.make_valid`` and reported; z coordinates are dropped;
* district ids are unique and present (``boundaries.duplicate_ids``);
* overlaps between districts: total area above ``overlap_tolerance_m2`` fails;
* gaps: holes in the union of all districts (not the outside) above ``gap_tolerance_m2`` fail.

The first four stop with :class:`~quarterstats.errors.InputError` (file, column, rule); overlaps and
gaps are findings of :class:`BoundaryValidation` that the pipeline's blocking check reports.

The point-in-polygon join (:mod:`quarterstats.spatial`) never assigns one person to two districts, so a
tolerated sliver cannot double-count anyone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from quarterstats.contract import UTM32_X_RANGE, UTM32_Y_RANGE
from quarterstats.errors import InputError

WORKING_CRS = "EPSG:25832"
#: Column names taken as the district id, in this order ("district_i": a Shapefile truncates names to 10 characters).
ID_COLUMN_CANDIDATES = (
    "district_id", "district_i", "id", "code", "bezirk_id", "stadtteil_id", "stat_bezirk", "nummer", "nr", "schluessel",
)
NAME_COLUMN_CANDIDATES = ("name", "district_name", "bezeichnung", "bezirk", "stadtteil", "ortsbezirk")
#: Total overlap area (m²) that counts as negligible digitising noise.
OVERLAP_TOLERANCE_M2 = 10.0
#: Total area (m²) of holes inside the city that counts as negligible.
GAP_TOLERANCE_M2 = 10.0


@dataclass
class BoundaryValidation:
    """What validation found; ``ok`` is False when anything beyond the tolerances was found."""

    file: str
    source_crs: str
    districts: int
    total_area_km2: float
    id_column: str
    repaired_invalid: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    overlap_pairs: list[dict] = field(default_factory=list)
    overlap_total_m2: float = 0.0
    gap_total_m2: float = 0.0
    gap_count: int = 0
    overlap_tolerance_m2: float = OVERLAP_TOLERANCE_M2
    gap_tolerance_m2: float = GAP_TOLERANCE_M2

    @property
    def problems(self) -> list[str]:
        found = []
        if self.empty:
            found.append(f"empty or non-polygon geometries for district(s) {', '.join(self.empty)}")
        if self.duplicate_ids:
            found.append(
                f"duplicate district ids {', '.join(self.duplicate_ids)}"
                + (" (<missing>: features without an id)" if "<missing>" in self.duplicate_ids else "")
            )
        if self.overlap_total_m2 > self.overlap_tolerance_m2:
            worst = max(self.overlap_pairs, key=lambda p: p["area_m2"])
            found.append(
                f"districts overlap by {self.overlap_total_m2:,.1f} m² in total (tolerance "
                f"{self.overlap_tolerance_m2:g} m²), most between {worst['a']} and {worst['b']} "
                f"({worst['area_m2']:,.1f} m²)"
            )
        if self.gap_total_m2 > self.gap_tolerance_m2:
            found.append(
                f"{self.gap_count} gap(s) between districts with {self.gap_total_m2:,.1f} m² in total "
                f"(tolerance {self.gap_tolerance_m2:g} m²)"
            )
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        out["problems"] = self.problems
        return out


def _pick_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    if wanted:
        return wanted if wanted in columns else None
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def read_boundaries(
    path: str | Path,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Read a GeoPackage, GeoJSON, Shapefile or GeoParquet; return (districts, source CRS, id column).

    The result has ``district_id`` (string), ``name`` and ``geometry`` in EPSG:25832 (2-D), plus any
    other attribute columns. A file without a declared CRS needs ``crs``; z coordinates are dropped; a
    file with several layers needs ``layer``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("boundary file not found", file=path, rule="boundaries.readable")
    try:
        if path.suffix.lower() == ".parquet":
            gdf = gpd.read_parquet(path)
        else:
            if layer is None:
                layer = _single_layer(path)
            gdf = gpd.read_file(path, layer=layer)
    except InputError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise many kinds; the user needs the file and the reason
        raise InputError(f"cannot be read as a boundary file: {exc}", file=path, rule="boundaries.readable") from None
    if len(gdf) == 0:
        raise InputError("the boundary file has no features", file=path, rule="boundaries.rows")
    if gdf.crs is None:
        if crs is None:
            raise InputError(
                "the boundary file declares no coordinate reference system; declare it (e.g. a .prj "
                "file, or --crs EPSG:25832)", file=path, column="geometry", rule="boundaries.crs",
            )
        gdf = gdf.set_crs(crs)
    source_crs = gdf.crs.to_string()
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    id_col = _pick_column(columns, id_column, ID_COLUMN_CANDIDATES)
    name_col = _pick_column(columns, name_column, NAME_COLUMN_CANDIDATES)
    if id_col is None and id_column:
        raise InputError(f"id column '{id_column}' not found (columns: {', '.join(columns)})",
                         file=path, column=id_column, rule="boundaries.id")
    if id_col is None:
        if name_col is None:
            raise InputError(
                f"no district id or name column found (looked for {', '.join(ID_COLUMN_CANDIDATES)}; "
                f"columns: {', '.join(columns)})", file=path, column="district_id", rule="boundaries.id",
            )
        id_col = name_col  # e.g. the city's Ortsbezirke file carries only names
    geometry = gdf.geometry
    if geometry.has_z.any():
        geometry = gpd.GeoSeries(shapely.force_2d(geometry.values), crs=gdf.crs, index=gdf.index)
    out = gpd.GeoDataFrame(
        {
            "district_id": gdf[id_col].map(_id_text).astype("string"),
            "name": (gdf[name_col] if name_col else gdf[id_col]).astype("string"),
        },
        geometry=geometry,
        crs=gdf.crs,
    )
    for extra in columns:
        if extra not in (id_col, name_col) and extra not in out.columns:
            out[extra] = gdf[extra].to_numpy()
    _check_declared_crs(out, path, source_crs)
    out = out.to_crs(WORKING_CRS)
    _check_in_germany(out, path, source_crs)
    return out.reset_index(drop=True), source_crs, id_col


def _single_layer(path: Path) -> str | None:
    """The only layer of a (multi-layer) source; InputError naming the layers when there are several."""
    import pyogrio

    layers = pyogrio.list_layers(path)
    spatial = [str(name) for name, kind in layers if kind is not None]
    if len(spatial) > 1:
        raise InputError(
            f"the file has {len(spatial)} layers ({', '.join(spatial)}); keep only the districts' layer or "
            "name it", file=path, rule="boundaries.layers",
        )
    return spatial[0] if spatial else None


def _check_declared_crs(gdf: gpd.GeoDataFrame, path: Path, source_crs: str) -> None:
    """A geographic CRS (degrees) with coordinates beyond ±180/±90 is a wrong declaration (metres)."""
    if not gdf.crs.is_geographic:
        return
    minx, miny, maxx, maxy = gdf.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            f"the file declares {source_crs} (degrees), but its coordinates reach {maxx:,.0f} / {maxy:,.0f}: "
            "they are metres. A GeoJSON without a 'crs' member counts as WGS84 degrees; declare the real CRS "
            "(e.g. EPSG:25832) or deliver a GeoPackage",
            file=path, column="geometry", rule="boundaries.crs",
        )


def _check_in_germany(gdf: gpd.GeoDataFrame, path: Path, source_crs: str) -> None:
    """After reprojection the districts must lie where EPSG:25832 coordinates of Germany lie."""
    minx, miny, maxx, maxy = gdf.total_bounds
    inside = (
        np.isfinite([minx, miny, maxx, maxy]).all()
        and UTM32_X_RANGE[0] <= minx <= maxx <= UTM32_X_RANGE[1]
        and UTM32_Y_RANGE[0] <= miny <= maxy <= UTM32_Y_RANGE[1]
    )
    if not inside:
        raise InputError(
            f"read as {source_crs}, the districts do not lie in Germany (EPSG:25832 bounds {minx:,.0f}, "
            f"{miny:,.0f} - {maxx:,.0f}, {maxy:,.0f}): the declared CRS is wrong (degrees declared as "
            "metres, or x and y swapped?)",
            file=path, column="geometry", rule="boundaries.crs",
        )


def _id_text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def validate_boundaries(
    districts: gpd.GeoDataFrame,
    *,
    file: str | Path = "",
    source_crs: str = "",
    id_column: str = "district_id",
    overlap_tolerance_m2: float = OVERLAP_TOLERANCE_M2,
    gap_tolerance_m2: float = GAP_TOLERANCE_M2,
) -> tuple[gpd.GeoDataFrame, BoundaryValidation]:
    """Repair what is safely repairable (invalid rings), measure the rest; return (districts, report)."""
    gdf = districts.copy()
    ids = gdf["district_id"].astype("string")
    geoms = gdf.geometry.values
    empty_mask = shapely.is_empty(geoms) | ~np.isin(
        shapely.get_type_id(geoms), [3, 6]  # Polygon, MultiPolygon
    ) | pd.isna(geoms)
    invalid = ~empty_mask & ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        # make_valid may return collections; keep only the polygonal parts
        repaired = np.array([_polygonal(g) for g in repaired], dtype=object)
        geoms = geoms.copy()
        geoms[invalid] = repaired
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs, index=gdf.index))
    report = BoundaryValidation(
        file=str(file),
        source_crs=source_crs,
        districts=len(gdf),
        total_area_km2=float(gdf.geometry.area.sum() / 1e6),
        id_column=id_column,
        repaired_invalid=ids[invalid].fillna("<missing>").tolist(),
        empty=ids[empty_mask].fillna("<missing>").tolist(),
        duplicate_ids=sorted(ids[ids.duplicated(keep=False) | ids.isna()].fillna("<missing>").unique().tolist()),
        overlap_tolerance_m2=overlap_tolerance_m2,
        gap_tolerance_m2=gap_tolerance_m2,
    )
    usable = gdf[~empty_mask]
    report.overlap_pairs, report.overlap_total_m2 = _overlaps(usable)
    report.gap_count, report.gap_total_m2 = _gaps(usable)
    gdf["area_km2"] = gdf.geometry.area / 1e6
    return gdf, report


def _polygonal(geom):
    if geom is None:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _overlaps(gdf: gpd.GeoDataFrame) -> tuple[list[dict], float]:
    geoms = gdf.geometry.values
    ids = gdf["district_id"].astype("string").fillna("<missing>").to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return [], 0.0
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    pairs = [
        {"a": str(ids[i]), "b": str(ids[j]), "area_m2": round(float(a), 3)}
        for i, j, a in zip(left, right, areas)
        if a > 0
    ]
    return pairs, float(areas.sum())


def _gaps(gdf: gpd.GeoDataFrame) -> tuple[int, float]:
    union = shapely.union_all(gdf.geometry.values)
    polygons = getattr(union, "geoms", [union])
    holes = [shapely.Polygon(ring) for poly in polygons if poly.geom_type == "Polygon" for ring in poly.interiors]
    return len(holes), float(sum(h.area for h in holes))


def load_boundaries(path: str | Path, **kwargs) -> tuple[gpd.GeoDataFrame, BoundaryValidation]:
    """Read and validate; raise :class:`InputError` when the coverage is not usable.

    Empty or non-polygon geometries (``boundaries.geometry``) and missing or duplicate ids
    (``boundaries.duplicate_ids``) stop here; overlaps and gaps beyond the tolerances are left to the
    caller (``report.ok`` / ``report.problems``), which the pipeline turns into a blocking check.
    """
    gdf, source_crs, id_col = read_boundaries(path, **kwargs)
    gdf, report = validate_boundaries(gdf, file=path, source_crs=source_crs, id_column=id_col)
    if report.duplicate_ids:
        problems = [p for p in report.problems if p.startswith("duplicate")]
        raise InputError("; ".join(problems), file=path, column="district_id", rule="boundaries.duplicate_ids")
    if report.empty:
        problems = [p for p in report.problems if p.startswith("empty")]
        raise InputError("; ".join(problems), file=path, column="geometry", rule="boundaries.geometry")
    return gdf, report
