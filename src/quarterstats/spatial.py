"""Join persons to districts by their address coordinates (point in polygon).

Uses a shapely 2 ``STRtree`` over the district polygons and one bulk ``query(points,
predicate="intersects")``. A point on a shared border, or inside a tolerated overlap sliver, matches more
than one district; it is given to exactly one — the first in the boundary file's order — and counted as
``ambiguous``. Points in no district are returned separately (``outside``) so the caller can quarantine and
report them; nobody is dropped silently and nobody is counted twice. When too many lie outside, the
extract and the boundaries do not belong together: :func:`check_outside_share` stops the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from quarterstats.contract import MAX_OUTSIDE_SHARE
from quarterstats.errors import InputError


@dataclass
class DistrictAssignment:
    district_index: np.ndarray  # position of the district in the boundary frame, -1 where outside
    ambiguous: int  # points that touched more than one district

    @property
    def outside(self) -> np.ndarray:
        return self.district_index < 0


def assign_districts(x: np.ndarray, y: np.ndarray, districts: gpd.GeoDataFrame) -> DistrictAssignment:
    """Index of the district containing each point (x, y in the districts' CRS), -1 for none."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    points = shapely.points(x, y)
    polygons = districts.geometry.values
    shapely.prepare(polygons)
    tree = shapely.STRtree(polygons)
    point_idx, poly_idx = tree.query(points, predicate="intersects")
    result = np.full(len(x), -1, dtype=np.int64)
    if len(point_idx):
        # for each point keep the smallest polygon index (first district in file order)
        order = np.lexsort((poly_idx, point_idx))
        point_idx, poly_idx = point_idx[order], poly_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        result[point_idx[first]] = poly_idx[first]
        ambiguous = int(len(point_idx) - first.sum())
    else:
        ambiguous = 0
    return DistrictAssignment(result, ambiguous)


def join_persons(persons: pd.DataFrame, districts: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split persons into (with ``district_id``, outside every district, number of ambiguous points)."""
    assignment = assign_districts(persons["x"].to_numpy(), persons["y"].to_numpy(), districts)
    inside = ~assignment.outside
    ids = districts["district_id"].astype("string").to_numpy()
    joined = persons.loc[inside].copy()
    joined["district_id"] = pd.array(ids[assignment.district_index[inside]], dtype="string")
    outside = persons.loc[~inside].copy()
    return joined.reset_index(drop=True), outside.reset_index(drop=True), assignment.ambiguous


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
