"""Shared fixtures: a small hand-made register extract and a 2×2 grid of square districts."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from quarterstats import contract

#: The shared reference material next to the checkout (``../shared``); QUARTERSTATS_SHARED points elsewhere
#: (e.g. from a git worktree one level deeper).
SHARED = Path(os.environ.get("QUARTERSTATS_SHARED") or Path(__file__).resolve().parents[2] / "shared")
REFERENCE_DATE = date(2020, 12, 31)
ORIGIN = (410_000.0, 5_477_000.0)  # EPSG:25832, Kaiserslautern
SIDE = 1_000.0

REGISTER_SCHEMA = contract.arrow_schema()


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared not available ({path})")
    return path


def cell_centre(col: int, row: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    return ORIGIN[0] + (col + 0.5) * SIDE + dx, ORIGIN[1] + (row + 0.5) * SIDE + dy


def grid_districts() -> gpd.GeoDataFrame:
    """Four 1 km squares: A (0,0), B (1,0), C (0,1), D (1,1) — area 1 km² each."""
    ids, geoms = [], []
    for name, (col, row) in {"A": (0, 0), "B": (1, 0), "C": (0, 1), "D": (1, 1)}.items():
        x0, y0 = ORIGIN[0] + col * SIDE, ORIGIN[1] + row * SIDE
        ids.append(name)
        geoms.append(shapely.box(x0, y0, x0 + SIDE, y0 + SIDE))
    return gpd.GeoDataFrame({"district_id": ids, "name": [f"Bezirk {i}" for i in ids]}, geometry=geoms,
                            crs="EPSG:25832")


def person(pid: str, **overrides) -> dict:
    """A valid German adult without migration features in district A."""
    x, y = cell_centre(0, 0)
    row = dict(
        person_id=pid, household_id=f"H{pid}", age=40, sex="w", nationality_1="DEU", nationality_2=None,
        german_acquisition="birth", birth_country="DEU", immigration_year=None, origin_country=None,
        moved_in_city=None, moved_in_address=date(2015, 3, 1), mother_id=None, father_id=None,
        marital_status="ledig", x=x, y=y,
    )
    row.update(overrides)
    return row


def clean_rows() -> list[dict]:
    """Ten persons: 4 in A, 3 in B, 2 in C, 1 in D; one family with a child in A."""
    b, c, d = cell_centre(1, 0), cell_centre(0, 1), cell_centre(1, 1)  # A is person()'s default
    return [
        person("p01"),
        person("p02", sex="m", household_id="Hfam", age=38, nationality_1="TUR", german_acquisition=None,
               birth_country="TUR", immigration_year=2005, origin_country="TUR", moved_in_city=date(2005, 6, 1)),
        person("p03", household_id="Hfam", age=36),
        person("p04", household_id="Hfam", age=7, mother_id="p03", father_id="p02", moved_in_address=date(2013, 5, 1)),
        person("p05", x=b[0], y=b[1], age=70, sex="m", marital_status="verwitwet"),
        person("p06", x=b[0], y=b[1], age=25, nationality_1="SYR", german_acquisition=None, birth_country="SYR",
               immigration_year=2015, origin_country="SYR", moved_in_city=date(2016, 1, 10)),
        person("p07", x=b[0], y=b[1], age=52, sex="d"),
        person("p08", x=c[0], y=c[1], age=19, household_id=None),
        person("p09", x=c[0], y=c[1], age=33, nationality_2="POL"),
        person("p10", x=d[0], y=d[1], age=88, sex="w", marital_status="verwitwet"),
    ]


def write_extract(rows: list[dict], path: Path) -> Path:
    table = pa.Table.from_pylist(rows, schema=REGISTER_SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_csv(rows: list[dict], path: Path, *, sep: str = ";", decimal: str = ",", encoding: str = "utf-8",
              german_dates: bool = False) -> Path:
    frame = pd.DataFrame(rows)
    for col in ("moved_in_city", "moved_in_address"):
        frame[col] = frame[col].map(
            lambda d: "" if d is None else (d.strftime("%d.%m.%Y") if german_dates else d.isoformat())
        )
    for col in ("x", "y"):
        frame[col] = frame[col].map(lambda v: f"{v:.1f}".replace(".", decimal))
    frame["immigration_year"] = frame["immigration_year"].map(lambda v: "" if v is None or pd.isna(v) else str(int(v)))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=sep, index=False, encoding=encoding)
    return path


@pytest.fixture
def clean_extract(tmp_path: Path) -> Path:
    return write_extract(clean_rows(), tmp_path / "register" / f"{REFERENCE_DATE.isoformat()}.parquet")


def make_small_project(root: Path, rows: list[dict] | None = None) -> Path:
    """Fill ``root/data/raw`` with an extract (default: the clean rows) and the grid boundaries."""
    raw = root / "data" / "raw"
    write_extract(clean_rows() if rows is None else rows, raw / "register" / f"{REFERENCE_DATE.isoformat()}.parquet")
    (raw / "boundaries").mkdir(parents=True, exist_ok=True)
    grid_districts().to_file(raw / "boundaries" / "districts.gpkg", layer="districts", driver="GPKG")
    return root


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A work folder with the clean extract and the grid boundaries in data/raw/."""
    return make_small_project(tmp_path)
