"""Join persons to districts by their address coordinates (point in polygon).

Most points are decided by a grid: a cell inside exactly one district gives it that district, a cell
touching none leaves it outside. Only points in cells on a border are tested exactly, in a loop over
the districts (not the persons): each district tests the points inside its bounding box (binary search
on the x-sorted coordinates) with the vectorised, prepared ``shapely.intersects_xy`` — no point objects
are built, which is what makes the bulk ``STRtree.query(points)`` slow at a million persons (there the
points, not the polygons, get prepared).
A point on a shared border, or inside a tolerated overlap sliver, matches more
than one district; it is given to exactly one — the first in the boundary file's order — and counted as
``ambiguous``. Points in no district are returned separately (``outside``) so the caller can quarantine and
report them; nobody is dropped silently and nobody is counted twice. :func:`locate_persons` gives a point
in a gap between districts, or just outside the city's edge, to the nearest district and lists it
(``location.nearest_district``). When too many lie outside, the
extract and the boundaries do not belong together: :func:`check_outside_share` stops the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from quarterstats import background
from quarterstats.contract import MAX_OUTSIDE_SHARE
from quarterstats.errors import InputError
from quarterstats.links import PARENT_ROWS, keep_rows


@dataclass
class DistrictAssignment:
    district_index: np.ndarray  # position of the district in the boundary frame, -1 where outside
    ambiguous: int  # points that touched more than one district

    @property
    def outside(self) -> np.ndarray:
        return self.district_index < 0


#: Target number of grid cells over the districts' extent (cell side = sqrt(extent area / cells), at
#: least :data:`MIN_CELL_SIDE` metres): the base grid of :data:`GRID_CELLS`, but no more than one cell per
#: :data:`POINTS_PER_BASE_CELL` points (and at least :data:`MIN_GRID_CELLS`): building the grid costs time
#: per cell, which a small extract does not win back (100,000 persons in 18 districts: 18 ms with 25,000
#: cells, 8.8 % of the points left to the exact test, against 32 ms with 100,000 cells and 4.6 %). More
#: where there are many districts and many points: more districts mean more border and more points left
#: to the exact test (at 450 districts and 100,000 cells, 22 % of the points; with 450,000 cells, 11 %),
#: and a finer grid only pays off for millions of points. So: :data:`GRID_CELLS_PER_DISTRICT` per
#: district, but at most one cell per :data:`POINTS_PER_CELL` points. Over Kaiserslautern's extent (a
#: bounding box of 270 km²) about 50 m cells from 400,000 persons on, about 100 m with 100,000; for
#: Berlin (450 districts, 3.8 million persons) about 60 m, not 110 m.
GRID_CELLS = 100_000
MIN_GRID_CELLS = 1_000
POINTS_PER_BASE_CELL = 4
GRID_CELLS_PER_DISTRICT = 1_000
POINTS_PER_CELL = 8
MIN_CELL_SIDE = 25.0
#: Cells are classified by a box this much larger on every side (metres), so a point that floating-point
#: rounding puts into a neighbouring cell is still covered by its cell's classification.
CELL_MARGIN = 0.001

_NO_DISTRICT = -2  # cell touches no district: its points are outside
_EXACT = -1  # cell touches a border (or nothing was decided): its points are tested exactly


def assign_districts(x: np.ndarray, y: np.ndarray, districts: gpd.GeoDataFrame) -> DistrictAssignment:
    """Index of the district containing each point (x, y in the districts' CRS), -1 for none.

    "Containing" includes the boundary (``intersects``); a point matched by several districts goes to the
    first in file order and is counted in ``ambiguous`` (once per extra match).

    Two passes, with the same result as testing every point exactly (:func:`assign_districts_exactly`;
    a test compares both): a regular grid over the districts' extent is classified once per call —
    a cell lying in the interior of exactly one district and touching no other gives that district to
    all its points; a cell touching no district leaves its points outside — and only the points in the
    remaining cells (those on a border, a few percent) are tested exactly.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    polygons = [g if g is not None and not g.is_empty else None for g in districts.geometry.values]
    result = np.full(len(x), -1, dtype=np.int64)
    if not len(x) or all(p is None for p in polygons):
        return DistrictAssignment(result, 0)
    grid = _DistrictGrid(polygons, cells=grid_cells(sum(p is not None for p in polygons), len(x)))
    cell_owner = grid.classify_points(x, y)
    decided = cell_owner != _EXACT
    result[decided] = np.where(cell_owner[decided] == _NO_DISTRICT, -1, cell_owner[decided])
    rest = np.flatnonzero(~decided)
    exact = assign_districts_exactly(x[rest], y[rest], polygons)
    result[rest] = exact.district_index
    return DistrictAssignment(result, exact.ambiguous)


def grid_cells(districts: int, points: int) -> int:
    """Target number of grid cells for assigning ``points`` to ``districts`` (see :data:`GRID_CELLS`)."""
    base = max(MIN_GRID_CELLS, min(GRID_CELLS, points // POINTS_PER_BASE_CELL))
    return max(base, min(GRID_CELLS_PER_DISTRICT * districts, points // POINTS_PER_CELL))


class _DistrictGrid:
    """A regular grid over the districts' extent; each cell: the one district whose interior holds it
    (and no other district touches it), :data:`_NO_DISTRICT`, or :data:`_EXACT`.

    Without building cell geometries: the cells a district's boundary passes through (or comes within
    :data:`CELL_MARGIN` of) are its border cells (:meth:`_border_cells`). Any other cell lies wholly
    inside or wholly outside the district, which its centre decides (``shapely.intersects_xy``).
    """

    def __init__(self, polygons: list, cells: int = GRID_CELLS) -> None:
        index = np.array([i for i, p in enumerate(polygons) if p is not None], dtype=np.int64)
        geoms = np.array([polygons[i] for i in index], dtype=object)
        bounds = shapely.bounds(geoms)
        self.x0, self.y0 = bounds[:, 0].min(), bounds[:, 1].min()
        width, height = bounds[:, 2].max() - self.x0, bounds[:, 3].max() - self.y0
        self.side = max(MIN_CELL_SIDE, float(np.sqrt(max(width * height, 1.0) / cells)))
        self.nx = int(width // self.side) + 1
        self.ny = int(height // self.side) + 1
        n_cells = self.nx * self.ny
        # every (district, cell near its bounding box) pair at once: no loop over districts
        boxes = _CellBoxes(self, bounds)
        district, cell = boxes.pairs()
        shapely.prepare(geoms)
        centre_in = shapely.intersects_xy(geoms[district], self.x0 + (cell % self.nx + 0.5) * self.side,
                                          self.y0 + (cell // self.nx + 0.5) * self.side)
        border = np.zeros(len(cell), dtype=bool)
        border[boxes.position(*self._border_cells(geoms))] = True
        touching = np.bincount(cell[border | centre_in], minlength=n_cells)
        inside = ~border & centre_in
        inside_count = np.bincount(cell[inside], minlength=n_cells)
        owner = np.full(n_cells, _EXACT, dtype=np.int64)
        owner[cell[inside]] = index[district[inside]]  # used only where one district holds the cell
        self.owner = np.where(touching == 0, _NO_DISTRICT,
                              np.where((touching == 1) & (inside_count == 1), owner, _EXACT))

    def _border_cells(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(district position, column, row) of the cells each district's boundary (outer rings and holes)
        passes through or comes within :data:`CELL_MARGIN` of; a cell may be named more than once.

        The boundaries are split into straight pieces at most half a cell long; such a piece (widened by
        the margin) meets only the cells of its bounding box, at most 2 × 2, which are all named.
        """
        rings, ring_district = shapely.get_parts(shapely.segmentize(shapely.boundary(geoms), self.side / 2),
                                                 return_index=True)
        coords, ring = shapely.get_coordinates(rings, return_index=True)
        same_ring = ring[1:] == ring[:-1]
        a, b = coords[:-1][same_ring], coords[1:][same_ring]  # the pieces' end points
        district = np.tile(ring_district[ring[:-1][same_ring]], 4)
        lo = np.floor((np.minimum(a, b) - CELL_MARGIN - (self.x0, self.y0)) / self.side).astype(np.int64)
        hi = np.floor((np.maximum(a, b) + CELL_MARGIN - (self.x0, self.y0)) / self.side).astype(np.int64)
        cx = np.concatenate([lo[:, 0], lo[:, 0], hi[:, 0], hi[:, 0]])
        cy = np.concatenate([lo[:, 1], hi[:, 1], lo[:, 1], hi[:, 1]])
        keep = (cx >= 0) & (cx < self.nx) & (cy >= 0) & (cy < self.ny)
        return district[keep], cx[keep], cy[keep]

    def classify_points(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The cell decision for each point; points beyond the grid (or not finite) are outside."""
        with np.errstate(invalid="ignore"):
            fx, fy = np.floor((x - self.x0) / self.side), np.floor((y - self.y0) / self.side)
        # within the grid, or on its far edge (rounding): those go to the exact test
        on_grid = (fx >= -1) & (fy >= -1) & (fx <= self.nx) & (fy <= self.ny)
        inner = on_grid & (fx >= 0) & (fy >= 0) & (fx < self.nx) & (fy < self.ny)
        decision = np.full(len(x), _NO_DISTRICT, dtype=np.int64)
        decision[on_grid & ~inner] = _EXACT
        cell = (fy[inner] * self.nx + fx[inner]).astype(np.int64)
        decision[inner] = self.owner[cell]
        return decision


class _CellBoxes:
    """The cells overlapping each district's bounding box, one cell more on every side (clipped to the
    grid), as one flat list of (district position, cell number) pairs: districts in turn, each box row
    by row. A district's boundary lies in its box and :data:`CELL_MARGIN` is far below a cell side, so
    its border cells are all in the list (:meth:`position` finds them without a search)."""

    def __init__(self, grid: _DistrictGrid, bounds: np.ndarray) -> None:
        self.nx = grid.nx
        self.ix0 = np.maximum(((bounds[:, 0] - grid.x0) // grid.side).astype(np.int64) - 1, 0)
        ix1 = np.minimum(((bounds[:, 2] - grid.x0) // grid.side).astype(np.int64) + 2, grid.nx)
        self.iy0 = np.maximum(((bounds[:, 1] - grid.y0) // grid.side).astype(np.int64) - 1, 0)
        iy1 = np.minimum(((bounds[:, 3] - grid.y0) // grid.side).astype(np.int64) + 2, grid.ny)
        self.cols = ix1 - self.ix0
        self.sizes = self.cols * (iy1 - self.iy0)
        self.start = np.cumsum(self.sizes) - self.sizes

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(district position, cell number) of every pair, in list order."""
        district = np.repeat(np.arange(len(self.sizes)), self.sizes)
        offset = np.arange(self.sizes.sum()) - self.start[district]
        gx = self.ix0[district] + offset % self.cols[district]
        gy = self.iy0[district] + offset // self.cols[district]
        return district, gy * self.nx + gx

    def position(self, district: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        """Place in the list of the pair (district, cell at column ``cx``, row ``cy``) of its box."""
        return self.start[district] + (cy - self.iy0[district]) * self.cols[district] + cx - self.ix0[district]


def assign_districts_exactly(x: np.ndarray, y: np.ndarray, polygons) -> DistrictAssignment:
    """The reference assignment: every point tested exactly against each district whose bounding box
    holds it (binary search on the x-sorted points, then prepared ``shapely.intersects_xy``).

    The districts are taken in two halves, the second in a worker thread
    (:func:`quarterstats.background.start`; shapely's predicates run without Python's lock): a point's
    district is the first match of the first half, else of the second; the match counts add up."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    polygons = list(polygons)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    half = len(polygons) // 2
    second = background.start(_first_matches, x, y, order, xs, polygons, range(half, len(polygons)))
    result, matches = _first_matches(x, y, order, xs, polygons, range(half))
    result_2, matches_2 = second.result()
    result = np.where(result >= 0, result, result_2)
    matches += matches_2
    ambiguous = int((matches[matches > 1] - 1).sum())
    return DistrictAssignment(result, ambiguous)


def _first_matches(x: np.ndarray, y: np.ndarray, order: np.ndarray, xs: np.ndarray, polygons: list,
                   which: range) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the first of the districts ``which`` that contains it (-1: none) and how many do;
    ``order`` sorts the points by x, ``xs`` are the sorted x."""
    result = np.full(len(x), -1, dtype=np.int64)
    matches = np.zeros(len(x), dtype=np.int32)
    for i in which:  # loops over districts only
        polygon = polygons[i]
        if polygon is None or polygon.is_empty:
            continue
        minx, miny, maxx, maxy = polygon.bounds
        lo, hi = np.searchsorted(xs, minx, side="left"), np.searchsorted(xs, maxx, side="right")
        candidates = order[lo:hi]
        candidates = candidates[(y[candidates] >= miny) & (y[candidates] <= maxy)]
        if not len(candidates):
            continue
        shapely.prepare(polygon)
        hit = candidates[shapely.intersects_xy(polygon, x[candidates], y[candidates])]
        matches[hit] += 1
        result[hit] = np.where(result[hit] < 0, i, result[hit])
    return result, matches


@dataclass
class Location:
    """Persons joined to districts: ``joined`` (with ``district_id``), ``outside`` (in no district and too
    far from one), ``ambiguous`` points, and ``nearest``: the persons of ``joined`` that lay in no district
    but were given the nearest one (``person_id``, ``district_id``, ``distance_m``, ``in_gap``)."""

    joined: pd.DataFrame
    outside: pd.DataFrame
    ambiguous: int
    nearest: pd.DataFrame


def locate_persons(
    persons: pd.DataFrame, districts: gpd.GeoDataFrame, *, nearest_distance_m: float = 0.0
) -> Location:
    """Join persons to districts by point in polygon; persons in no district go to the nearest district
    when they lie in a gap between districts (inside the city's outline, whatever the distance) or at
    most ``nearest_distance_m`` outside its edge — ties to the first district in boundary order. The
    rest are ``outside``. With ``nearest_distance_m`` 0 and no gaps, this is the plain join."""
    x, y = persons["x"].to_numpy(dtype="float64"), persons["y"].to_numpy(dtype="float64")
    assignment = assign_districts(x, y, districts)
    index = assignment.district_index.copy()
    missing = np.flatnonzero(index < 0)
    nearest = pd.DataFrame({"person_id": pd.Series([], dtype=persons["person_id"].dtype),
                            "district_id": pd.Series([], dtype="str"),
                            "distance_m": pd.Series([], dtype="float64"), "in_gap": pd.Series([], dtype=bool)})
    if len(missing) and len(districts):
        from quarterstats.boundaries import city_outline

        geoms = np.asarray(districts.geometry.values, dtype=object)
        points = shapely.points(x[missing], y[missing])
        in_gap = shapely.intersects(city_outline(districts), points)
        tree = shapely.STRtree(geoms)
        (point_pos, district_pos), distance = tree.query_nearest(points, return_distance=True, all_matches=True)
        best = pd.DataFrame({"point": point_pos, "district": district_pos, "distance": distance})
        best = best.sort_values(["point", "district"], kind="stable").drop_duplicates("point")  # ties: file order
        best = best[in_gap[best["point"].to_numpy()] | (best["distance"].to_numpy() <= nearest_distance_m)]
        rows = missing[best["point"].to_numpy()]
        index[rows] = best["district"].to_numpy()
        nearest = pd.DataFrame({
            "person_id": persons["person_id"].to_numpy()[rows],
            "district_id": np.array([str(i) for i in districts["district_id"]], dtype=object)[
                best["district"].to_numpy()].astype(str),
            "distance_m": best["distance"].to_numpy().round(2),
            "in_gap": in_gap[best["point"].to_numpy()],
        })
    joined, outside = _split(persons, districts, index)
    return Location(joined, outside, assignment.ambiguous, nearest.reset_index(drop=True))


def join_persons(persons: pd.DataFrame, districts: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split persons into (with ``district_id``, outside every district, number of ambiguous points).

    Strictly point in polygon: no nearest-district rule (see :func:`locate_persons`)."""
    assignment = assign_districts(persons["x"].to_numpy(), persons["y"].to_numpy(), districts)
    joined, outside = _split(persons, districts, assignment.district_index)
    return joined, outside, assignment.ambiguous


def _split(persons: pd.DataFrame, districts: gpd.GeoDataFrame, index: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(persons with a district, with ``district_id``; persons without) by district position (-1: none)."""
    inside = index >= 0
    # a Categorical over all districts (in boundary order): a code per person, no 4-million-string column
    ids = pd.Index([str(i) for i in districts["district_id"]], dtype="str")
    district_id = pd.Categorical.from_codes(index[inside], categories=ids, validate=False)
    joined = keep_rows(persons, inside).assign(district_id=district_id)  # parent rows renumbered
    outside = persons.loc[~inside].drop(columns=[c for c in PARENT_ROWS.values() if c in persons.columns])
    return joined, outside.reset_index(drop=True)


def check_outside_share(
    outside: int,
    total: int,
    *,
    file: str | Path | None = None,
    boundaries_file: str | Path | None = None,
    max_share: float = MAX_OUTSIDE_SHARE,
) -> None:
    """Raise :class:`InputError` (rule ``location.outside_share``) when too many persons lie outside.

    ``outside / total > max_share`` (default :data:`quarterstats.contract.MAX_OUTSIDE_SHARE`, 10 %)
    means the extract and the boundaries do not belong together — the extract of another city, or
    boundaries (or coordinates) in a wrong CRS — and district figures would be meaningless, so the
    persons stage stops before it writes anything. A few persons outside (geocoding slips, addresses
    on the city limit) stay a row-level matter: quarantined as ``location.outside_districts``.
    ``total`` is the number of accepted persons that were joined; with none, there is nothing to judge.
    """
    if total <= 0:
        return
    share = outside / total
    if share > max_share:
        against = f" (boundaries: {boundaries_file})" if boundaries_file else ""
        raise InputError(
            f"{outside:,} of {total:,} accepted persons ({share:.1%}) lie outside every district{against}, "
            f"more than the tolerated {max_share:.0%}: an extract of another city, or coordinates or "
            "boundaries in a wrong CRS?",
            file=file, column="x", rule="location.outside_share",
        )
