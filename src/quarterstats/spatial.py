"""Join persons to districts by their address coordinates (point in polygon).

A loop over the districts (not the persons): each district tests only the points inside its bounding box
(found by binary search on the x-sorted coordinates) with the vectorised, prepared
``shapely.intersects_xy`` — no point objects are built, which is what makes the bulk
``STRtree.query(points)`` slow at a million persons (there the points, not the polygons, get prepared).
A point on a shared border, or inside a tolerated overlap sliver, matches more
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
    """Index of the district containing each point (x, y in the districts' CRS), -1 for none.

    "Containing" includes the boundary (``intersects``); a point matched by several districts goes to the
    first in file order and is counted in ``ambiguous`` (once per extra match).
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    result = np.full(len(x), -1, dtype=np.int64)
    matches = np.zeros(len(x), dtype=np.int32)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    for i, polygon in enumerate(districts.geometry.values):  # loops over districts only
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
    ambiguous = int((matches[matches > 1] - 1).sum())
    return DistrictAssignment(result, ambiguous)


def join_persons(persons: pd.DataFrame, districts: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split persons into (with ``district_id``, outside every district, number of ambiguous points)."""
    assignment = assign_districts(persons["x"].to_numpy(), persons["y"].to_numpy(), districts)
    inside = ~assignment.outside
    ids = districts["district_id"].astype("string").to_numpy()
    joined = persons.loc[inside].assign(
        district_id=pd.array(ids[assignment.district_index[inside]], dtype="string")
    )
    outside = persons.loc[~inside]
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
