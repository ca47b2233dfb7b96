"""Point-in-polygon join: each person in exactly one district; outside persons kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from conftest import ORIGIN, SIDE, cell_centre, grid_districts, shared_path
from quarterstats.boundaries import load_boundaries
from quarterstats.spatial import assign_districts, assign_districts_exactly, join_persons, locate_persons


def test_points_go_to_their_square():
    grid = grid_districts()
    pts = [cell_centre(0, 0), cell_centre(1, 0), cell_centre(0, 1), cell_centre(1, 1), cell_centre(1, 1, 3.0, -2.0)]
    x, y = np.array(pts).T
    result = assign_districts(x, y, grid)
    assert grid["district_id"].to_numpy()[result.district_index].tolist() == ["A", "B", "C", "D", "D"]
    assert result.ambiguous == 0


def test_border_points_are_assigned_once_and_counted():
    grid = grid_districts()
    border = (ORIGIN[0] + SIDE, ORIGIN[1] + 0.5 * SIDE)  # on the A|B border
    corner = (ORIGIN[0] + SIDE, ORIGIN[1] + SIDE)  # where all four meet
    x, y = np.array([border, corner]).T
    result = assign_districts(x, y, grid)
    assert result.district_index.tolist() == [0, 0]  # first district in file order
    assert result.ambiguous == 1 + 3


def test_outside_persons_are_returned_not_dropped():
    grid = grid_districts()
    persons = pd.DataFrame({"person_id": ["in", "out"], "x": [cell_centre(0, 0)[0], ORIGIN[0] - 500],
                            "y": [cell_centre(0, 0)[1], ORIGIN[1]]})
    joined, outside, ambiguous = join_persons(persons, grid)
    assert joined["person_id"].tolist() == ["in"] and joined["district_id"].tolist() == ["A"]
    assert outside["person_id"].tolist() == ["out"]
    assert len(joined) + len(outside) == len(persons)


def test_real_boundaries_assign_each_random_point_at_most_once():
    districts, _ = load_boundaries(shared_path("data", "kaiserslautern", "ortsbezirke_wgs84.geojson"))
    rng = np.random.default_rng(1)
    xmin, ymin, xmax, ymax = districts.total_bounds
    x = rng.uniform(xmin, xmax, 20_000)
    y = rng.uniform(ymin, ymax, 20_000)
    result = assign_districts(x, y, districts)
    inside = ~result.outside
    # brute-force reference with covers(): the count of matching polygons per point is ≥ 1 exactly where assigned
    import shapely

    pts = shapely.points(x, y)
    hits = np.column_stack([shapely.intersects(g, pts) for g in districts.geometry])
    assert (hits.any(axis=1) == inside).all()
    assert hits[np.arange(len(x))[inside], result.district_index[inside]].all()
    assert 0.4 < inside.mean() < 0.8


def _hard_points(districts, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points over the extent, plus every boundary vertex and points on boundary segments."""
    import shapely

    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = districts.total_bounds
    pad = 0.05 * (xmax - xmin)
    x = rng.uniform(xmin - pad, xmax + pad, n)
    y = rng.uniform(ymin - pad, ymax + pad, n)
    vertices = shapely.get_coordinates(districts.geometry.boundary.values)
    along = vertices[:-1] + rng.uniform(0, 1, (len(vertices) - 1, 1)) * np.diff(vertices, axis=0)
    x = np.concatenate([x, vertices[:, 0], along[:, 0]])
    y = np.concatenate([y, vertices[:, 1], along[:, 1]])
    return x, y


def test_grid_gives_the_exact_assignment_on_real_boundaries():
    districts, _ = load_boundaries(shared_path("data", "kaiserslautern", "ortsbezirke_wgs84.geojson"))
    x, y = _hard_points(districts, 200_000, seed=3)
    fast = assign_districts(x, y, districts)
    exact = assign_districts_exactly(x, y, list(districts.geometry.values))
    np.testing.assert_array_equal(fast.district_index, exact.district_index)
    assert fast.ambiguous == exact.ambiguous > 0  # vertices on shared borders are ambiguous


def test_grid_gives_the_exact_assignment_with_overlaps_holes_and_tiny_districts():
    frame = _tricky_frame()
    x, y = _hard_points(frame, 100_000, seed=4)
    cx, cy = cell_centre(1, 1)
    x = np.concatenate([x, cx + np.random.default_rng(5).uniform(-4, 4, 5_000)])
    y = np.concatenate([y, cy + np.random.default_rng(6).uniform(-4, 4, 5_000)])
    fast = assign_districts(x, y, frame)
    exact = assign_districts_exactly(x, y, list(frame.geometry.values))
    np.testing.assert_array_equal(fast.district_index, exact.district_index)
    assert fast.ambiguous == exact.ambiguous
    assert (fast.district_index == 4).sum() > 100 and (fast.district_index == -1).sum() > 100


def test_outside_share_up_to_the_tolerance_passes_and_beyond_it_stops():
    import pytest

    from quarterstats.errors import InputError
    from quarterstats.spatial import check_outside_share

    check_outside_share(10, 100, file="x.parquet")  # exactly 10 %: tolerated
    check_outside_share(0, 0)  # nobody accepted: nothing to judge
    with pytest.raises(InputError) as err:
        check_outside_share(11, 100, file="x.parquet", boundaries_file="districts.gpkg")
    assert (err.value.rule, err.value.column, err.value.file) == ("location.outside_share", "x", "x.parquet")
    assert "11 of 100" in err.value.message and "11.0%" in err.value.message
    assert "districts.gpkg" in err.value.message
    check_outside_share(50, 100, max_share=0.5)


def test_grid_cells_grow_with_districts_only_for_many_points():
    from quarterstats.spatial import GRID_CELLS, MIN_GRID_CELLS, grid_cells

    assert grid_cells(18, 4_000_000) == GRID_CELLS  # Kaiserslautern-sized: the base grid
    assert grid_cells(18, 1_000_000) == GRID_CELLS
    assert grid_cells(18, 100_000) == 25_000  # a small extract: a coarser base grid, one cell per 4 points
    assert grid_cells(450, 100_000) == 25_000  # few points: a finer grid would not pay off
    assert grid_cells(18, 1_000) == MIN_GRID_CELLS
    assert grid_cells(450, 4_000_000) == 450_000  # 1,000 cells per district
    assert grid_cells(450, 2_000_000) == 250_000  # at most one cell per 8 points


def test_finer_grid_for_many_districts_gives_the_exact_assignment(monkeypatch):
    import geopandas as gpd
    from shapely.geometry import box

    import quarterstats.spatial as spatial

    # 500 districts of 400 m x 400 m, and points crowded on their borders
    rng = np.random.default_rng(8)
    cols, rows, side = 25, 20, 400.0
    geoms = [box(ORIGIN[0] + c * side, ORIGIN[1] + r * side, ORIGIN[0] + (c + 1) * side, ORIGIN[1] + (r + 1) * side)
             for r in range(rows) for c in range(cols)]
    frame = gpd.GeoDataFrame({"district_id": [f"d{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:25832")
    x, y = _hard_points(frame, 60_000, seed=9)
    x = np.concatenate([x, ORIGIN[0] + np.round(rng.uniform(0, cols * side, 20_000) / side) * side])
    y = np.concatenate([y, ORIGIN[1] + rng.uniform(0, rows * side, 20_000)])
    # at this small size: a base grid of 10,000 cells (89 m), refined to one cell per point (31 m)
    monkeypatch.setattr(spatial, "GRID_CELLS", 10_000)
    monkeypatch.setattr(spatial, "POINTS_PER_CELL", 1)
    assert spatial.grid_cells(len(frame), len(x)) == len(x)
    fast = assign_districts(x, y, frame)
    exact = assign_districts_exactly(x, y, list(frame.geometry.values))
    np.testing.assert_array_equal(fast.district_index, exact.district_index)
    assert fast.ambiguous == exact.ambiguous > 0


@pytest.mark.parametrize("threads", ["2", "1"])
def test_exact_assignment_equals_a_brute_force_query(monkeypatch, threads):
    """The exact test takes the districts in two halves (the second in a worker thread); a point on the
    border between a district of each half must still go to the first in file order and be counted
    once as ambiguous. Reference: shapely's STRtree query of every point, independent of the code."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import box

    from quarterstats import background

    monkeypatch.setenv(background.THREADS_VARIABLE, threads)
    cols, rows, side = 10, 6, 400.0  # districts 0-29 in the first half, 30-59 in the second
    geoms = [box(ORIGIN[0] + c * side, ORIGIN[1] + r * side, ORIGIN[0] + (c + 1) * side, ORIGIN[1] + (r + 1) * side)
             for r in range(rows) for c in range(cols)]
    geoms[35] = geoms[35].union(geoms[25].buffer(-100.0))  # overlaps district 25 (first half)
    frame = gpd.GeoDataFrame({"district_id": [f"d{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:25832")
    x, y = _hard_points(frame, 20_000, seed=12)
    rng = np.random.default_rng(13)  # points on the line between rows 2 and 3: the halves' common border
    x = np.concatenate([x, ORIGIN[0] + rng.uniform(-50, cols * side + 50, 2_000)])
    y = np.concatenate([y, np.full(2_000, ORIGIN[1] + 3 * side)])
    exact = assign_districts_exactly(x, y, list(frame.geometry.values))

    point, polygon = shapely.STRtree(frame.geometry.values).query(shapely.points(x, y), predicate="intersects")
    first = np.full(len(x), len(geoms))
    np.minimum.at(first, point, polygon)
    expected = np.where(first == len(geoms), -1, first)
    counts = np.bincount(point, minlength=len(x))
    np.testing.assert_array_equal(exact.district_index, expected)
    assert exact.ambiguous == int((counts[counts > 1] - 1).sum()) > 2_000
    assert ((expected >= 0) & (expected < 30) & (counts > 1)).sum() > 1_000  # first-half wins on the common border
    fast = assign_districts(x, y, frame)
    np.testing.assert_array_equal(fast.district_index, expected)
    # the grid, built from both halves too, decides the inner cells of every district
    from quarterstats.spatial import _DistrictGrid

    grid = _DistrictGrid(list(frame.geometry.values), cells=10_000)
    assert set(np.unique(grid.owner[grid.owner >= 0])) == set(range(len(geoms)))


def _tricky_frame():
    """Squares A–D where B overlaps A, D has a hole, and a tiny district E sits in D's hole."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import box

    base = grid_districts()
    geoms = list(base.geometry.values)
    geoms[1] = geoms[1].union(box(ORIGIN[0] + SIDE - 7.3, ORIGIN[1], ORIGIN[0] + SIDE, ORIGIN[1] + SIDE))
    geoms[3] = geoms[3].difference(shapely.Point(cell_centre(1, 1)).buffer(SIDE / 5))
    tiny = shapely.Point(cell_centre(1, 1)).buffer(3.0)
    return gpd.GeoDataFrame({"district_id": ["A", "B", "C", "D", "E"]}, geometry=[*geoms, tiny], crs=base.crs)


@pytest.mark.parametrize("case", ["kaiserslautern", "tricky", "tricky_with_gap"])
@pytest.mark.parametrize("cells", [2_000, 40_000])
def test_grid_decides_only_cells_it_may_decide(case, cells):
    """Soundness of the grid, checked with real cell geometries: a cell given to district i lies (with
    its rounding margin) inside i and touches no other district; a cell given to nobody touches none.
    The list may hold a missing geometry: owners are positions in the list as given."""
    import shapely

    from quarterstats.spatial import _EXACT, _NO_DISTRICT, CELL_MARGIN, _DistrictGrid

    if case == "kaiserslautern":
        polygons = list(load_boundaries(shared_path("data", "kaiserslautern", "ortsbezirke_wgs84.geojson"))[0].geometry.values)
    else:
        polygons = list(_tricky_frame().geometry.values)
    if case == "tricky_with_gap":
        polygons.insert(2, None)
    grid = _DistrictGrid(polygons, cells=cells)
    col, row = np.divmod(np.arange(grid.nx * grid.ny), grid.nx)[::-1]
    margin = CELL_MARGIN / 2
    boxes = shapely.box(grid.x0 + col * grid.side - margin, grid.y0 + row * grid.side - margin,
                        grid.x0 + (col + 1) * grid.side + margin, grid.y0 + (row + 1) * grid.side + margin)
    present = [i for i, p in enumerate(polygons) if p is not None]
    cell, which = shapely.STRtree([polygons[i] for i in present]).query(boxes, predicate="intersects")
    touching = np.bincount(cell, minlength=len(boxes))
    toucher = np.full(len(boxes), -1)
    toucher[cell] = np.asarray(present)[which]

    owned = np.flatnonzero(grid.owner >= 0)
    assert (touching[owned] == 1).all() and (toucher[owned] == grid.owner[owned]).all()
    owners = np.asarray(polygons, dtype=object)[grid.owner[owned]]
    assert shapely.covers(owners, boxes[owned]).all()
    assert (touching[grid.owner == _NO_DISTRICT] == 0).all()
    assert set(np.unique(grid.owner)) <= set(present) | {_EXACT, _NO_DISTRICT}
    # and it decides most cells, or it would be of no use
    assert (grid.owner != _EXACT).mean() > (0.5 if cells > 2_000 else 0.3)


def test_persons_in_a_gap_or_just_outside_go_to_the_nearest_district_and_are_listed():
    grid = grid_districts()
    hole = shapely.box(ORIGIN[0] + 990, ORIGIN[1] + 400, ORIGIN[0] + 1010, ORIGIN[1] + 600)  # wide gap A | B
    grid = grid.set_geometry([g.difference(hole) for g in grid.geometry])
    persons = pd.DataFrame({
        "person_id": ["inA", "gapA", "gapTie", "edge", "far"],
        "x": [cell_centre(0, 0)[0], ORIGIN[0] + 993, ORIGIN[0] + 1000, ORIGIN[0] - 30, ORIGIN[0] - 500],
        "y": [cell_centre(0, 0)[1], ORIGIN[1] + 500, ORIGIN[1] + 500, ORIGIN[1] + 500, ORIGIN[1] + 500],
    })
    strict = join_persons(persons, grid)
    assert strict[1]["person_id"].tolist() == ["gapA", "gapTie", "edge", "far"]  # without the rule: all set aside
    location = locate_persons(persons, grid, nearest_distance_m=50.0)
    assert location.outside["person_id"].tolist() == ["far"]  # 500 m outside: beyond the distance
    assert dict(zip(location.joined["person_id"], location.joined["district_id"].astype(str))) == {
        "inA": "A", "gapA": "A", "gapTie": "A", "edge": "A"}  # the tie in the middle of the gap: first district
    nearest = location.nearest.set_index("person_id")
    assert nearest["distance_m"].to_dict() == {"gapA": 3.0, "gapTie": 10.0, "edge": 30.0}
    assert nearest["in_gap"].to_dict() == {"gapA": True, "gapTie": True, "edge": False}
    assert len(location.joined) + len(location.outside) == len(persons)
    # a gap person is placed whatever the distance; outside the edge only within it
    assert locate_persons(persons, grid, nearest_distance_m=0.0).outside["person_id"].tolist() == ["edge", "far"]
