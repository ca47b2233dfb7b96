"""Point-in-polygon join: each person in exactly one district; outside persons kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import ORIGIN, SIDE, cell_centre, grid_districts, shared_path
from quarterstats.boundaries import load_boundaries
from quarterstats.spatial import assign_districts, join_persons


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
