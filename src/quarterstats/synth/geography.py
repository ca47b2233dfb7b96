"""Synthetic district polygons laid out around the anchor points of the 18 Kaiserslautern districts.

The real boundary file is never read: only the anchor points, names and area figures of
``data/synthetic_districts.csv`` (from ``shared/data/kaiserslautern/districts.csv``) are used.

1. City outline: the convex hull of the anchors, buffered by ``b`` and given a smooth, fixed
   "wobble" (radial factor ``1 + Σ a_k sin(kθ + φ_k)`` around the hull centroid); ``b`` is found by
   bisection so that the outline has the official city area (139.6 km²).
2. Districts: an additively weighted Voronoi assignment of a 50 m raster of the outline, i.e. cell ``x``
   goes to ``argmin_i |x − a_i| − w_i``. The weights ``w`` maximise the concave semi-discrete optimal
   transport dual ``Σ_x min_i(|x − a_i| − w_i)·A_cell + Σ_i w_i·T_i`` (L-BFGS; gradient ``T_i − area_i``),
   so every district gets its target area ``T_i`` (Aurenhammer, Hoffmann & Aronov 1998, "Minkowski-type
   theorems and least-squares clustering", Algorithmica 20). With the distance cost (not its square)
   each cell is star-shaped with respect to its anchor: if ``x`` belongs to ``i``, so does every point
   between ``x`` and ``a_i`` — hence every anchor lies inside its own district. Raster pieces cut off
   from the anchor's component are handed to their neighbours.
3. Polygons: the raster cells of a district are unioned, every raster vertex on a boundary is kept
   (``segmentize`` + ``set_precision``) so neighbours share identical edges, and
   ``shapely.coverage_simplify`` smooths the stairs while keeping a gap- and overlap-free coverage.

The layout does not depend on the generator's seed (the same city for every seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from scipy import ndimage
from scipy.optimize import minimize

from . import params as P

CITY_AREA_KM2 = 139.6
CELL_M = 50.0
SIMPLIFY_TOLERANCE_M = 50.0
_WOBBLE = ((2, 0.05), (3, 0.05), (5, 0.03), (7, 0.02), (11, 0.012), (17, 0.008))
_WOBBLE_SEED = 7


@dataclass(frozen=True)
class Geography:
    """The synthetic districts: attributes (index i = row of ``params.districts()``), polygons, raster."""

    district_id: tuple[str, ...]
    name: tuple[str, ...]
    part: tuple[str, ...]
    ortsbezirk: tuple[str, ...]
    anchors: np.ndarray  # (n, 2) EPSG:25832
    target_area_m2: np.ndarray
    polygons: np.ndarray  # shapely Polygons, EPSG:25832
    grid: np.ndarray  # (ny, nx) district index per 50 m cell, -1 outside
    origin: tuple[float, float]  # lower-left corner of the raster
    cell: float

    @property
    def n(self) -> int:
        return len(self.district_id)

    def frame(self):
        """The districts as a GeoDataFrame (district_id, name, part, ortsbezirk, geometry)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {
                "district_id": list(self.district_id),
                "name": list(self.name),
                "part": list(self.part),
                "ortsbezirk": list(self.ortsbezirk),
            },
            geometry=list(self.polygons),
            crs=P.CRS,
        )


def _outline(anchors: np.ndarray) -> shapely.Polygon:
    hull = shapely.convex_hull(shapely.multipoints(anchors))
    centre = np.array(hull.centroid.coords[0])
    phases = np.random.default_rng(_WOBBLE_SEED).uniform(0, 2 * np.pi, len(_WOBBLE))

    def shape(buffer: float) -> shapely.Polygon:
        ring = shapely.get_coordinates(shapely.segmentize(hull.buffer(buffer, quad_segs=32).exterior, 100.0))
        theta = np.arctan2(ring[:, 1] - centre[1], ring[:, 0] - centre[0])
        factor = 1.0 + sum(a * np.sin(k * theta + ph) for (k, a), ph in zip(_WOBBLE, phases))
        return shapely.Polygon(centre + (ring - centre) * factor[:, None])

    lo, hi = 0.0, 10_000.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if shape(mid).area < CITY_AREA_KM2 * 1e6:
            lo = mid
        else:
            hi = mid
    return shape(lo)


def _assign(anchors: np.ndarray, targets: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Additively weighted Voronoi labels of the points with areas proportional to ``targets``."""
    dist = np.hypot(px[None, :] - anchors[:, 0, None], py[None, :] - anchors[:, 1, None]).astype(np.float32)
    share = targets / targets.sum() * len(px)  # target in cells
    n, cols = len(anchors), np.arange(len(px))

    def negative_dual(w: np.ndarray) -> tuple[float, np.ndarray]:
        cost = dist - w.astype(np.float32)[:, None]
        lab = np.argmin(cost, axis=0)
        value = cost[lab, cols].astype(np.float64).sum() + (w * share).sum()
        count = np.bincount(lab, minlength=n)
        return -value / len(px), -(share - count) / len(px)

    result = minimize(negative_dual, np.zeros(n), jac=True, method="L-BFGS-B",
                      options={"maxiter": 2000, "gtol": 1e-12, "ftol": 1e-15})
    return np.argmin(dist - result.x.astype(np.float32)[:, None], axis=0)


def _keep_anchor_components(grid: np.ndarray, anchor_cells: np.ndarray) -> np.ndarray:
    """Hand raster pieces that are not connected to their district's anchor to neighbouring districts."""
    grid = grid.copy()
    for _ in range(10):
        changed = False
        for i, (r, c) in enumerate(anchor_cells):
            comp, count = ndimage.label(grid == i)
            if count > 1:
                grid[(comp > 0) & (comp != comp[r, c])] = -2
                changed = True
        while (grid == -2).any():
            hole = grid == -2
            fill = np.full(grid.shape, -2)
            for shift in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                neighbour = np.roll(grid, shift, axis=(0, 1))
                take = hole & (neighbour >= 0) & (fill == -2)
                fill[take] = neighbour[take]
            grid[hole & (fill >= 0)] = fill[hole & (fill >= 0)]
        if not changed:
            break
    return grid


def _polygonise(grid: np.ndarray, n: int) -> list:
    """Polygons (in cell units) of each label, with a vertex at every raster corner on the boundary."""
    ny, nx = grid.shape
    padded = np.full((ny, nx + 2), -1)
    padded[:, 1:-1] = grid
    rows, cols = np.nonzero(padded[:, 1:] != padded[:, :-1])
    labels = padded[rows, cols + 1]
    next_cols = np.r_[cols[1:], 0]
    same_row = np.r_[rows[1:] == rows[:-1], False]
    run = same_row & (labels >= 0)
    boxes = shapely.box(cols[run], rows[run], next_cols[run], rows[run] + 1)
    run_labels = labels[run]
    polygons = [shapely.union_all(boxes[run_labels == i]) for i in range(n)]
    return list(shapely.set_precision(shapely.segmentize(np.array(polygons), 1.0), 1.0))


@lru_cache(maxsize=1)
def build_geography() -> Geography:
    """Lay out the 18 synthetic districts (deterministic; cached)."""
    table = P.districts()
    anchors = table[["anchor_x", "anchor_y"]].to_numpy(dtype=float)
    targets = table["area_km2"].to_numpy(dtype=float) * 1e6
    outline = _outline(anchors)
    minx, miny, maxx, maxy = outline.bounds
    x0, y0 = np.floor(minx / CELL_M) * CELL_M - CELL_M, np.floor(miny / CELL_M) * CELL_M - CELL_M
    nx, ny = int(np.ceil((maxx - x0) / CELL_M)) + 2, int(np.ceil((maxy - y0) / CELL_M)) + 2
    xc, yc = np.meshgrid(x0 + (np.arange(nx) + 0.5) * CELL_M, y0 + (np.arange(ny) + 0.5) * CELL_M)
    inside = shapely.contains_xy(outline, xc, yc)
    labels = _assign(anchors, targets, xc[inside], yc[inside])
    grid = np.full((ny, nx), -1, dtype=np.int32)
    grid[inside] = labels
    anchor_cells = np.c_[((anchors[:, 1] - y0) // CELL_M), ((anchors[:, 0] - x0) // CELL_M)].astype(int)
    grid = _keep_anchor_components(grid, anchor_cells)
    cell_polys = _polygonise(grid, len(table))
    metric = shapely.transform(np.array(cell_polys), lambda c: c * CELL_M + np.array([x0, y0]))
    polygons = shapely.coverage_simplify(metric, SIMPLIFY_TOLERANCE_M)
    polygons = shapely.set_precision(polygons, 0.01)
    geo = Geography(
        district_id=tuple(table["district_id"]),
        name=tuple(table["name"]),
        part=tuple(table["part"]),
        ortsbezirk=tuple(table["ortsbezirk"]),
        anchors=anchors,
        target_area_m2=targets,
        polygons=polygons,
        grid=grid,
        origin=(float(x0), float(y0)),
        cell=CELL_M,
    )
    problems = check_geography(geo)
    if problems:
        raise RuntimeError("synthetic geography failed its checks: " + "; ".join(problems))
    return geo


def check_geography(geo: Geography, area_tolerance: float = 0.10, overlap_m2: float = 1.0) -> list[str]:
    """Problems of the layout (empty when clean): validity, overlaps, gaps, anchors, areas."""
    problems = []
    polys = geo.polygons
    if not shapely.is_valid(polys).all():
        problems.append("invalid polygon")
    if any(p.geom_type != "Polygon" for p in polys):
        problems.append("district of several parts")
    union = shapely.union_all(polys)
    overlap = float(shapely.area(polys).sum() - union.area)
    if overlap > overlap_m2:
        problems.append(f"overlaps of {overlap:.1f} m²")
    if union.geom_type != "Polygon" or len(union.interiors) > 0:
        problems.append("gaps inside the city outline")
    inside = shapely.contains_xy(polys, geo.anchors[:, 0], geo.anchors[:, 1])
    if not inside.all():
        problems.append("anchor outside its district: " + ", ".join(np.array(geo.district_id)[~inside]))
    ratio = shapely.area(polys) / geo.target_area_m2
    off = np.abs(ratio - 1) > area_tolerance
    if off.any():
        problems.append("area off target: " + ", ".join(np.array(geo.district_id)[off]))
    return problems


def sample_points(geo: Geography, district: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random address points inside the given districts (index per point), rounded to 0.1 m.

    Settlement is concentrated around each anchor: a raster cell of district ``i`` is drawn with weight
    ``exp(−d²/2σ_i²) + 0.002`` (``d`` distance to the anchor, ``σ_i`` = ``density_sigma_m``), the point
    uniformly inside the cell, and points that fall outside the (simplified) polygon, or within 2 m of
    its boundary, are drawn again.
    """
    district = np.asarray(district)
    x = np.empty(len(district))
    y = np.empty(len(district))
    sigma = P.districts()["density_sigma_m"].to_numpy(dtype=float)
    x0, y0 = geo.origin
    for i in np.unique(district):
        rows, cols = np.nonzero(geo.grid == i)
        cx, cy = x0 + (cols + 0.5) * geo.cell, y0 + (rows + 0.5) * geo.cell
        d2 = (cx - geo.anchors[i, 0]) ** 2 + (cy - geo.anchors[i, 1]) ** 2
        w = np.exp(-0.5 * d2 / sigma[i] ** 2) + 0.002
        w /= w.sum()
        core = shapely.buffer(geo.polygons[i], -2.0)
        shapely.prepare(core)
        todo = np.flatnonzero(district == i)
        for _ in range(100):
            if len(todo) == 0:
                break
            pick = rng.choice(len(w), size=len(todo), p=w)
            px = np.round(cx[pick] + (rng.random(len(todo)) - 0.5) * geo.cell, 1)
            py = np.round(cy[pick] + (rng.random(len(todo)) - 0.5) * geo.cell, 1)
            ok = shapely.contains_xy(core, px, py)
            x[todo[ok]], y[todo[ok]] = px[ok], py[ok]
            todo = todo[~ok]
        if len(todo):
            raise RuntimeError(f"could not place points in district {geo.district_id[i]}")
    return x, y


def write_boundaries(geo: Geography, target: Path) -> Path:
    """Write the districts as GeoPackage layer ``districts`` (EPSG:25832), atomically
    (:func:`quarterstats.atomic.atomic_path`: a temporary file in the target folder, then ``os.replace``).

    GDAL stamps ``gpkg_contents.last_change`` with the current time; it is fixed through the GDAL
    configuration option ``OGR_CURRENT_DATE`` (set for the write and restored afterwards) so reruns
    give the same bytes.
    """
    import warnings

    import pyogrio

    from quarterstats.atomic import atomic_path

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    try:
        with atomic_path(target) as tmp, warnings.catch_warnings():
            # the temporary name ends in .tmp, not .gpkg; the driver is given explicitly
            warnings.filterwarnings("ignore", message="The filename extension should be", category=RuntimeWarning)
            tmp.unlink()
            geo.frame().to_file(tmp, layer="districts", driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return Path(target)
