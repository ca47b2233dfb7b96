"""District boundaries: read any declared CRS, work in EPSG:25832, validate and repair the coverage.

A boundary file holds one polygon per district with an id and a name. Real files are not perfectly clean:
Kaiserslautern's own Ortsbezirke overlap by 0.3 m² in total and leave a 0.09 m² hole; a city of a million
residents delivered 900 m² of overlaps and 750 gap slivers (1,300 m²) over 400 km². Validation therefore
judges overlaps and gaps **relative to the city's area** and repairs ordinary digitising noise by a fixed
rule (:class:`BoundaryParameters`, ``[boundaries]`` in ``quarterstats.toml``; docs/boundaries.md):

* the file declares its CRS (or the caller does), and the districts lie in Germany once reprojected to
  EPSG:25832 (else the declared CRS is wrong: e.g. a GeoJSON in metres without a ``crs`` member, which
  by definition means WGS84 degrees) — ``boundaries.crs``;
* a file with several layers names the one to use — ``boundaries.layers``; it has features —
  ``boundaries.rows``; an id (or name) column — ``boundaries.id``;
* every geometry is a non-empty (multi)polygon (``boundaries.geometry``); invalid ones are repaired with
  ``shapely.make_valid`` and reported (one it cannot turn into a polygon counts as empty); z coordinates
  are dropped;
* district ids are unique and present (``boundaries.duplicate_ids``);
* overlaps between districts: total area above ``max_overlap_share`` of the city's area is refused
  (``boundaries.overlaps``); below, each overlap stays with the district whose id comes first;
* gaps (holes in the union of all districts, not the outside): total area above ``max_gap_share`` is
  refused (``boundaries.gaps``); below, gaps narrower than ``sliver_width_m`` go to the neighbour with the
  longest shared border; wider ones stay open (persons there go to the nearest district,
  :mod:`quarterstats.spatial`).

Every refusal is one :class:`~quarterstats.errors.InputError` naming file, column and rule (for overlaps
and gaps also the worst offenders); every repair is listed in :class:`BoundaryValidation`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date
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


#: Defaults of :class:`BoundaryParameters`. Digitising noise of a real city (1 million residents, about
#: 400 km²) came to 900 m² of overlaps (2.3 millionths of its area) and 750 gap slivers of 1,300 m² (3.3
#: millionths): ten millionths leave room for that and still refuse a misplaced border (a 20 m strip
#: along 1 km of a 4 km² city is 5 thousandths).
MAX_OVERLAP_SHARE = 1e-5
MAX_GAP_SHARE = 1e-5
#: Gaps narrower than this (metres) are slivers: repaired, they go to a neighbour.
SLIVER_WIDTH_M = 2.0
#: Persons outside the city's outline but at most this far (metres) from a district go to the nearest one.
NEAREST_DISTANCE_M = 50.0
#: The geography the time series is built on: "latest" (the newest boundary version) or a version's
#: valid-from date (``YYYY-MM-DD``).
SERIES_GEOGRAPHY = "latest"
#: Width (metres) of the band around a sliver in which its neighbours' shared border is measured.
BORDER_BAND_M = 0.05
#: How many of the worst overlaps and gaps a message names.
WORST = 3
#: Rule of a bad ``[boundaries]`` table.
PARAMETERS_RULE = "boundaries.parameters"


@dataclass(frozen=True)
class BoundaryParameters:
    """How boundary files are judged and repaired (``[boundaries]`` in ``quarterstats.toml``).

    Attributes:
        max_overlap_share: total area of overlaps, as a share of the city's area (inside its outline), up
            to which a file is repaired (each overlap goes to one district); beyond it the file is refused
            (``boundaries.overlaps``).
        max_gap_share: total area of gaps (holes in the union of the districts), as a share of the city's
            area, up to which a file is accepted; beyond it the file is refused (``boundaries.gaps``).
        sliver_width_m: a gap narrower than this (metres) goes to the neighbour with the longest shared
            border; wider gaps stay gaps, and persons in them go to the nearest district.
        nearest_distance_m: persons outside the city's outline up to this distance (metres) from a district
            go to the nearest district (counted as ``location.nearest_district``); farther ones are set aside.
        series_geography: ``"latest"`` or a boundary version's valid-from date (YYYY-MM-DD): the geography
            every reference date is evaluated on, so that a time series never mixes geographies.
    """

    max_overlap_share: float = MAX_OVERLAP_SHARE
    max_gap_share: float = MAX_GAP_SHARE
    sliver_width_m: float = SLIVER_WIDTH_M
    nearest_distance_m: float = NEAREST_DISTANCE_M
    series_geography: str = SERIES_GEOGRAPHY

    def __post_init__(self) -> None:
        limits = {
            "max_overlap_share": (0.0, 0.01), "max_gap_share": (0.0, 0.01),
            "sliver_width_m": (0.0, 50.0), "nearest_distance_m": (0.0, 1000.0),
        }
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise InputError(
                    f"[boundaries] {name} = {value!r}: expected a number from {low:g} to {high:g}",
                    column=name, rule=PARAMETERS_RULE,
                )
        value = self.series_geography
        if isinstance(value, date):
            object.__setattr__(self, "series_geography", value.isoformat())
        elif not (value == "latest" or (isinstance(value, str) and _is_iso_date(value))):
            raise InputError(
                f"[boundaries] series_geography = {value!r}: expected \"latest\" or the valid-from date "
                "(YYYY-MM-DD) of a boundary version", column="series_geography", rule=PARAMETERS_RULE,
            )

    @classmethod
    def from_table(cls, table: dict, *, file: str | Path | None = None) -> "BoundaryParameters":
        """Parameters from a ``[boundaries]`` TOML table; unknown keys are refused."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise InputError(
                f"unknown key(s) in [boundaries]: {', '.join(unknown)} (known: {', '.join(known)})",
                file=file, column=unknown[0], rule=PARAMETERS_RULE,
            )
        try:
            return cls(**table)
        except InputError as exc:
            raise InputError(exc.message, file=file, column=exc.column, rule=exc.rule) from None

    def as_table(self) -> list[tuple[str, str]]:
        return [(f.name, str(getattr(self, f.name))) for f in fields(self)]


def read_boundary_parameters(workdir: str | Path) -> BoundaryParameters:
    """``[boundaries]`` of ``<workdir>/quarterstats.toml`` (defaults where it is absent), read and checked
    with every other section by :func:`quarterstats.settings.load_settings`."""
    from quarterstats.settings import load_settings

    return load_settings(workdir).boundaries


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


@dataclass
class BoundaryValidation:
    """What validation found and repaired; ``ok`` is False when the file is beyond repair.

    ``overlap_*`` and ``gap_*`` describe the file as delivered; ``repairs`` lists every repair (an overlap
    kept by one district, a sliver given to a neighbour); ``*_after_m2`` measure the repaired districts.
    """

    file: str
    source_crs: str
    districts: int
    total_area_km2: float
    id_column: str
    city_area_km2: float = 0.0
    repaired_invalid: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    overlap_pairs: list[dict] = field(default_factory=list)
    overlap_total_m2: float = 0.0
    gap_total_m2: float = 0.0
    gap_count: int = 0
    gaps: list[dict] = field(default_factory=list)
    overlap_tolerance_m2: float = 0.0
    gap_tolerance_m2: float = 0.0
    parameters: dict = field(default_factory=dict)
    repairs: list[dict] = field(default_factory=list)
    overlap_after_m2: float = 0.0
    gap_after_m2: float = 0.0

    @property
    def overlaps_repaired(self) -> int:
        return sum(r["repair"] == "overlap" for r in self.repairs)

    @property
    def slivers_repaired(self) -> int:
        return sum(r["repair"] == "sliver" for r in self.repairs)

    @property
    def gaps_left(self) -> int:
        """Gaps wider than the sliver width, left open (persons there go to the nearest district)."""
        return sum(g["to"] is None for g in self.gaps)

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
        city_m2 = self.city_area_km2 * 1e6
        if self.overlap_total_m2 > self.overlap_tolerance_m2:
            worst = sorted(self.overlap_pairs, key=lambda p: -p["area_m2"])[:WORST]
            found.append(
                f"rule boundaries.overlaps: districts overlap by {self.overlap_total_m2:,.1f} m² in total, "
                f"{self.overlap_total_m2 / city_m2:.2e} of the city's area (tolerance "
                f"{self.parameters.get('max_overlap_share', 0):g} = {self.overlap_tolerance_m2:,.1f} m²); largest: "
                + ", ".join(f"{p['a']} / {p['b']} ({p['area_m2']:,.1f} m²)" for p in worst)
            )
        if self.gap_total_m2 > self.gap_tolerance_m2:
            worst = sorted(self.gaps, key=lambda g: -g["area_m2"])[:WORST]
            found.append(
                f"rule boundaries.gaps: {self.gap_count} gap(s) between districts with {self.gap_total_m2:,.1f} m² "
                f"in total, {self.gap_total_m2 / city_m2:.2e} of the city's area (tolerance "
                f"{self.parameters.get('max_gap_share', 0):g} = {self.gap_tolerance_m2:,.1f} m²); largest: "
                + ", ".join(f"{g['area_m2']:,.1f} m² at {g['x']:,.0f} / {g['y']:,.0f}" for g in worst)
            )
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict:
        """The few numbers the run metadata and the report show."""
        return {
            "overlaps_repaired": self.overlaps_repaired,
            "overlap_repaired_m2": round(sum(r["area_m2"] for r in self.repairs if r["repair"] == "overlap"), 3),
            "slivers_repaired": self.slivers_repaired,
            "sliver_repaired_m2": round(sum(r["area_m2"] for r in self.repairs if r["repair"] == "sliver"), 3),
            "gaps_left": self.gaps_left,
            "gap_left_m2": round(sum(g["area_m2"] for g in self.gaps if g["to"] is None), 3),
            "repaired_invalid": len(self.repaired_invalid),
        }

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        out["problems"] = self.problems
        out["summary"] = self.summary()
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
    parameters: BoundaryParameters | None = None,
) -> tuple[gpd.GeoDataFrame, BoundaryValidation]:
    """Measure the coverage and repair what the parameters allow; return (districts, report).

    Invalid rings are repaired with ``shapely.make_valid`` (a geometry it cannot turn into a polygon counts
    as empty). When ids are unique and present, every geometry usable, and overlaps and gaps within the
    tolerances (``report.ok``), the slivers are repaired (:func:`repair_slivers`); otherwise the districts
    come back unrepaired and ``report.problems`` says why.
    """
    parameters = parameters or BoundaryParameters()
    gdf = districts.copy()
    ids = gdf["district_id"].astype("string")
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    polygonal = ~pd.isna(geoms)
    polygonal[polygonal] = np.isin(shapely.get_type_id(geoms[polygonal].astype(object)), [3, 6])  # (Multi)Polygon
    invalid = polygonal & ~shapely.is_empty(np.where(polygonal, geoms, None)) & ~shapely.is_valid(
        np.where(polygonal, geoms, None))
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = np.array([_polygonal(g) for g in shapely.make_valid(geoms[invalid])], dtype=object)
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs, index=gdf.index))
    empty_mask = ~polygonal | shapely.is_empty(np.where(polygonal, geoms, None))
    usable = gdf[~empty_mask]
    union = shapely.union_all(usable.geometry.values)
    holes = _holes(union)
    report = BoundaryValidation(
        file=str(file),
        source_crs=source_crs,
        districts=len(gdf),
        total_area_km2=float(gdf.geometry.area.sum() / 1e6),
        id_column=id_column,
        repaired_invalid=ids[invalid].fillna("<missing>").tolist(),
        empty=ids[empty_mask].fillna("<missing>").tolist(),
        duplicate_ids=sorted(ids[ids.duplicated(keep=False) | ids.isna()].fillna("<missing>").unique().tolist()),
        parameters=asdict(parameters),
    )
    city_m2 = float(union.area) + float(shapely.area(holes).sum())
    report.city_area_km2 = city_m2 / 1e6
    report.overlap_tolerance_m2 = parameters.max_overlap_share * city_m2
    report.gap_tolerance_m2 = parameters.max_gap_share * city_m2
    report.overlap_pairs, report.overlap_total_m2 = _overlaps(usable)
    report.gap_count, report.gap_total_m2 = len(holes), float(shapely.area(holes).sum())
    if report.ok:
        gdf, report.repairs, gaps = repair_slivers(gdf, holes, report.overlap_pairs, parameters.sliver_width_m)
        report.gaps = gaps
        report.overlap_after_m2 = _overlaps(gdf)[1]
        report.gap_after_m2 = float(shapely.area(_holes(shapely.union_all(gdf.geometry.values))).sum())
    else:
        report.gaps = [_gap_entry(h, None) for h in holes]
    gdf["area_km2"] = gdf.geometry.area / 1e6
    report.total_area_km2 = float(gdf["area_km2"].sum())
    return gdf, report


def repair_slivers(
    districts: gpd.GeoDataFrame, holes: np.ndarray, overlap_pairs: list[dict], sliver_width_m: float
) -> tuple[gpd.GeoDataFrame, list[dict], list[dict]]:
    """(repaired districts, the repairs, every gap with the district it went to or None).

    The rule, deterministic and independent of the file's order:

    * **overlap**: the area two districts share stays with the district whose id comes first in natural
      order ("2" before "10") and is cut out of the other one;
    * **sliver** (a gap — a hole in the union of the districts — narrower than ``sliver_width_m``: a
      negative buffer by half the width leaves nothing): it goes to the neighbour with the longest shared
      border (measured in a band of :data:`BORDER_BAND_M` around the gap), ties to the id first in natural
      order. Wider gaps stay open.
    """
    from quarterstats.indicators.common import natural_key

    gdf = districts.copy()
    ids = gdf["district_id"].astype(str).tolist()
    order = sorted(range(len(ids)), key=lambda i: natural_key(ids[i]))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    position = {district: i for i, district in enumerate(ids)}
    original = np.asarray(gdf.geometry.values, dtype=object)
    geoms = original.copy()
    repairs: list[dict] = []
    winners: dict[int, list[int]] = {}
    for pair in overlap_pairs:  # a loop over the overlapping pairs
        a, b = position[pair["a"]], position[pair["b"]]
        keep, lose = (a, b) if rank[a] < rank[b] else (b, a)
        winners.setdefault(lose, []).append(keep)
        repairs.append({"repair": "overlap", "area_m2": pair["area_m2"], "to": ids[keep], "from": ids[lose]})
    for lose, keep in winners.items():
        geoms[lose] = _polygonal(shapely.difference(original[lose], shapely.union_all(original[keep])))
    gaps = []
    if len(holes):
        narrow = shapely.is_empty(shapely.buffer(holes, -sliver_width_m / 2)) if sliver_width_m > 0 else np.zeros(
            len(holes), dtype=bool)
        band = shapely.buffer(holes, BORDER_BAND_M)
        tree = shapely.STRtree(geoms)
        left, right = tree.query(band, predicate="intersects")
        shared = np.round(shapely.area(shapely.intersection(geoms[right], band[left])) / BORDER_BAND_M, 3)
        chosen = pd.DataFrame({"gap": left, "district": right, "shared": shared, "rank": rank[right]})
        chosen = chosen.sort_values(["gap", "shared", "rank"], ascending=[True, False, True], kind="stable")
        to = chosen.drop_duplicates("gap").set_index("gap")["district"]
        merged: dict[int, list] = {}
        for g, hole in enumerate(holes):  # a loop over the gaps (hundreds at most), not persons
            target = int(to[g]) if narrow[g] and g in to.index else None
            gaps.append(_gap_entry(hole, ids[target] if target is not None else None))
            if target is not None:
                merged.setdefault(target, []).append(hole)
                entry = gaps[-1]
                repairs.append({"repair": "sliver", "area_m2": entry["area_m2"], "to": ids[target],
                                "x": entry["x"], "y": entry["y"]})
        for target, parts in merged.items():
            geoms[target] = _polygonal(shapely.union_all([geoms[target], *parts]))
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs, index=gdf.index))
    return gdf, repairs, gaps


def _gap_entry(hole, to: str | None) -> dict:
    point = shapely.point_on_surface(hole)
    return {"area_m2": round(float(hole.area), 3), "x": round(point.x, 1), "y": round(point.y, 1), "to": to}


def _polygonal(geom):
    if geom is None:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _overlaps(gdf: gpd.GeoDataFrame) -> tuple[list[dict], float]:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
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


def _holes(union) -> np.ndarray:
    """The holes of the union of all districts (gaps between them; not the outside), as polygons."""
    polygons = getattr(union, "geoms", [union])
    return np.array(
        [shapely.Polygon(ring) for poly in polygons if poly.geom_type == "Polygon" for ring in poly.interiors],
        dtype=object,
    )


def city_outline(districts: gpd.GeoDataFrame):
    """The area inside the city's outer edge: the union of the districts with its holes filled."""
    union = shapely.union_all(districts.geometry.values)
    polygons = getattr(union, "geoms", [union])
    return shapely.union_all([shapely.Polygon(p.exterior) for p in polygons if p.geom_type == "Polygon"])


def load_boundaries(
    path: str | Path, *, parameters: BoundaryParameters | None = None, **kwargs
) -> tuple[gpd.GeoDataFrame, BoundaryValidation]:
    """Read, validate and repair; raise :class:`InputError` when the file is not usable.

    Empty or non-polygon geometries (``boundaries.geometry``), missing or duplicate ids
    (``boundaries.duplicate_ids``) and overlaps or gaps beyond the tolerances (``boundaries.overlaps``,
    ``boundaries.gaps``, naming the worst offenders) stop here, each with one message.
    """
    gdf, source_crs, id_col = read_boundaries(path, **kwargs)
    gdf, report = validate_boundaries(gdf, file=path, source_crs=source_crs, id_column=id_col, parameters=parameters)
    if report.duplicate_ids:
        problems = [p for p in report.problems if p.startswith("duplicate")]
        raise InputError("; ".join(problems), file=path, column="district_id", rule="boundaries.duplicate_ids")
    if report.empty:
        problems = [p for p in report.problems if p.startswith("empty")]
        raise InputError("; ".join(problems), file=path, column="geometry", rule="boundaries.geometry")
    if not report.ok:
        rule = "boundaries.overlaps" if report.overlap_total_m2 > report.overlap_tolerance_m2 else "boundaries.gaps"
        message = "; ".join(p.removeprefix("rule ") for p in report.problems)
        raise InputError(
            f"{message}. Beyond digitising noise: correct the file, or raise max_overlap_share / max_gap_share "
            "in [boundaries] of quarterstats.toml if this is how the city's file is",
            file=path, column="geometry", rule=rule,
        )
    return gdf, report
