"""Boundary versions valid from a date, and the time series rebuilt on one geography across a reform
(Berlin's forecast areas before and after the 2021 LOR reform)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import geopandas as gpd
import pandas as pd
import pytest

from conftest import grid_districts, person, shared_path, write_extract
from pipelines.results import materialize_result
from quarterstats import stages
from quarterstats.settings import load_settings
from quarterstats.errors import InputError
from quarterstats.paths import ProjectPaths
from quarterstats.report import boundaries_de

OLD, NEW = "forecast-areas-until-2020.geojson", "forecast-areas-from-2021.geojson"
OLD_FROM, NEW_FROM = date(2001, 1, 1), date(2021, 1, 1)
DAY_OLD, DAY_NEW = date(2020, 12, 31), date(2021, 12, 31)


def _grid_file(folder: Path, name: str = "districts.gpkg") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    grid_districts().to_file(folder / name, driver="GPKG")
    return folder / name


def test_one_file_is_valid_for_all_dates(tmp_path):
    paths = ProjectPaths(tmp_path)
    file = _grid_file(paths.raw_boundaries)
    assert paths.boundary_versions() == {None: file}
    assert paths.boundary_version("1990-01-01") is None and paths.boundary_file(date(2030, 1, 1)) == file


def test_each_date_uses_the_version_in_force(tmp_path):
    paths = ProjectPaths(tmp_path)
    first = _grid_file(paths.raw_boundaries / "2019-01-01")
    second = _grid_file(paths.raw_boundaries / "2021-01-01", "neu.gpkg")
    assert paths.boundary_versions() == {date(2019, 1, 1): first, date(2021, 1, 1): second}
    assert paths.boundary_file("2020-12-31") == first
    assert paths.boundary_file("2021-01-01") == second  # valid from its first day
    assert paths.boundary_file() == second  # without a date: the newest
    with pytest.raises(InputError) as err:
        paths.boundary_version("2018-12-31")
    assert err.value.rule == "boundaries.versions" and "first is valid from 2019-01-01" in err.value.message


@pytest.mark.parametrize("layout", ["both", "not-a-date", "two-files"])
def test_unclear_version_layouts_are_refused(tmp_path, layout):
    paths = ProjectPaths(tmp_path)
    _grid_file(paths.raw_boundaries / "2019-01-01")
    if layout == "both":
        _grid_file(paths.raw_boundaries)
        with pytest.raises(InputError, match="keep one layout"):
            paths.boundary_versions()
    elif layout == "not-a-date":
        _grid_file(paths.raw_boundaries / "2021-13-01")
        with pytest.raises(InputError, match="is not a date"):
            paths.boundary_versions()
    else:
        _grid_file(paths.raw_boundaries / "2019-01-01", "zweite.gpkg")
        with pytest.raises(FileNotFoundError, match="exactly one"):
            paths.boundary_versions()


# ============================================================================ the Berlin reform
def _berlin_project(root: Path, versions: dict[date, str]) -> ProjectPaths:
    """A project with Berlin's forecast areas as boundary versions (linked, not copied) and two extracts of
    persons placed by coordinates: a point inside every old and every new forecast area."""
    paths = ProjectPaths(root)
    for valid_from, name in versions.items():
        folder = paths.raw_boundaries / valid_from.isoformat()
        folder.mkdir(parents=True)
        (folder / name).symlink_to(shared_path("data", "berlin_lor", name))
    points = _points(OLD) + _points(NEW)
    foreign = dict(nationality_1="SYR", german_acquisition=None, birth_country="SYR", immigration_year=2015,
                   origin_country="SYR", moved_in_city=date(2016, 1, 10))
    rows = [person(f"p{i:03d}", household_id=f"H{i:03d}", x=x, y=y, **(foreign if i % 3 == 1 else {}))
            for i, (x, y) in enumerate(points)]
    write_extract(rows, paths.raw_register / f"{DAY_OLD.isoformat()}.parquet")
    moved = [dict(r, x=rows[0]["x"], y=rows[0]["y"]) if i % 10 == 0 else r for i, r in enumerate(rows)]
    write_extract(moved, paths.raw_register / f"{DAY_NEW.isoformat()}.parquet")
    return paths


def _points(name: str) -> list[tuple[float, float]]:
    areas = gpd.read_file(shared_path("data", "berlin_lor", name)).to_crs("EPSG:25832")
    centre = areas.geometry.representative_point()
    return list(zip(centre.x.round(1), centre.y.round(1)))


def _expected(paths: ProjectPaths, day: date, name: str) -> dict[str, int]:
    """Persons per forecast area of one version, by an independent spatial join (geopandas)."""
    extract = pd.read_parquet(paths.raw_register / f"{day.isoformat()}.parquet")
    points = gpd.GeoDataFrame(extract, geometry=gpd.points_from_xy(extract["x"], extract["y"]), crs="EPSG:25832")
    areas = gpd.read_file(shared_path("data", "berlin_lor", name)).to_crs("EPSG:25832")
    joined = gpd.sjoin(points, areas[["id", "geometry"]], predicate="within")
    assert joined["person_id"].is_unique and len(joined) == len(extract)  # representative points lie inside
    return joined["id"].astype(str).value_counts().sort_index().to_dict()


def _run(paths: ProjectPaths, days: list[date]) -> dict[date, stages.StageResult]:
    results = {}
    for day in days:
        stages.ingest_stage(paths, day)
    stages.boundaries_stage(paths)
    for day in days:
        results[day] = stages.persons_stage(paths, day)
        stages.indicators_stage(paths, day)
    return results


def _pop(table: pd.DataFrame) -> dict[str, int]:
    pop = table[(table["indicator"] == "pop") & (table["district_id"] != "city")]
    return {str(k): int(v) for k, v in zip(pop["district_id"], pop["value"]) if v > 0}


def test_berlin_reform_each_date_uses_its_version_and_the_series_is_rebuilt_on_the_new(tmp_path):
    paths = _berlin_project(tmp_path, {OLD_FROM: OLD, NEW_FROM: NEW})
    results = _run(paths, [DAY_OLD, DAY_NEW])
    assert results[DAY_OLD].metadata["boundary_version"] == "2001-01-01"
    assert results[DAY_NEW].metadata["boundary_version"] == "2021-01-01"
    assert {r.metadata["series_geography"] for r in results.values()} == {"2021-01-01"}
    for day in (DAY_OLD, DAY_NEW):
        persons = pd.read_parquet(paths.persons(day))
        assert results[day].metadata["outside_districts"] == 0 and results[day].metadata["nearest_district"] == 0
        # the series geography: the new forecast areas at both dates, exact counts
        series = persons["district_id"].astype(str).value_counts()
        assert series[series > 0].sort_index().to_dict() == _expected(paths, day, NEW)
        assert _pop(pd.read_parquet(paths.indicators(day))) == _expected(paths, day, NEW)
        # the version in force: the old areas before the reform
        in_force = persons["district_id_in_force"].astype(str).value_counts()
        assert in_force[in_force > 0].sort_index().to_dict() == _expected(paths, day, OLD if day == DAY_OLD else NEW)
    # the time series and its changes stay on one geography: 58 areas at both dates
    stages.time_series_stage(paths)
    series = pd.read_parquet(paths.indicator_time_series)
    ids = series.loc[series["district_id"] != "city"].groupby("reference_date")["district_id"].agg(set)
    assert len(ids) == 2 and ids.iloc[0] == ids.iloc[1] and len(ids.iloc[0]) == 58
    new_table = pd.read_parquet(paths.indicators(DAY_NEW))
    old_counts, new_counts = _expected(paths, DAY_OLD, NEW), _expected(paths, DAY_NEW, NEW)
    pop = new_table[(new_table["indicator"] == "pop") & (new_table["district_id"] != "city")]
    changes = {str(k): int(v) for k, v in zip(pop["district_id"], pop["change_previous"])}
    assert changes == {k: new_counts.get(k, 0) - old_counts.get(k, 0) for k in changes}
    # what the date's report names: its version and the geography it was evaluated on
    meta = stages._boundaries_meta(paths, DAY_OLD)
    text = boundaries_de(meta)["version"]
    assert "2001-01-01/forecast-areas-until-2020.geojson (gültig ab 01.01.2001)" in text
    assert "ausgewertet auf dem Gebietsstand" in text and "gültig ab 01.01.2021" in text
    assert stages.provenance(paths, DAY_OLD, load_settings(tmp_path)).input_hashes.keys() >= {
        "data/raw/boundaries/2001-01-01/" + OLD, "data/raw/boundaries/2021-01-01/" + NEW}


def test_series_on_a_chosen_older_geography(tmp_path):
    paths = _berlin_project(tmp_path, {OLD_FROM: OLD, NEW_FROM: NEW})
    (tmp_path / "quarterstats.toml").write_text('[boundaries]\nseries_geography = "2001-01-01"\n', encoding="utf-8")
    stages.ingest_stage(paths, DAY_NEW)
    stages.boundaries_stage(paths)
    result = stages.persons_stage(paths, DAY_NEW)
    assert (result.metadata["boundary_version"], result.metadata["series_geography"]) == ("2021-01-01", "2001-01-01")
    persons = pd.read_parquet(paths.persons(DAY_NEW))
    counts = persons["district_id"].astype(str).value_counts()
    assert counts[counts > 0].sort_index().to_dict() == _expected(paths, DAY_NEW, OLD)
    (tmp_path / "quarterstats.toml").write_text('[boundaries]\nseries_geography = "2020-01-01"\n', encoding="utf-8")
    with pytest.raises(InputError, match="names no boundary version"):
        stages.boundaries_stage(paths)


def test_a_date_before_the_first_version_is_refused(tmp_path):
    paths = _berlin_project(tmp_path, {NEW_FROM: NEW})
    stages.ingest_stage(paths, DAY_OLD)
    stages.boundaries_stage(paths)
    with pytest.raises(InputError) as err:
        stages.persons_stage(paths, DAY_OLD)
    assert err.value.rule == "boundaries.versions" and "2020-12-31" in err.value.message


def test_changes_against_a_date_on_another_geography_are_refused(tmp_path, monkeypatch):
    """A new boundary version arrives after the first date was evaluated: the second date alone would
    compare areas of two geographies. The guard stops it; without it the mix goes through silently."""
    paths = _berlin_project(tmp_path, {OLD_FROM: OLD})
    _run(paths, [DAY_OLD])
    before = stages.boundaries_stage(paths).data_version
    folder = paths.raw_boundaries / NEW_FROM.isoformat()
    folder.mkdir()
    (folder / NEW).symlink_to(shared_path("data", "berlin_lor", NEW))
    stages.ingest_stage(paths, DAY_NEW)
    with pytest.raises(InputError, match="run the boundaries step first"):  # persons against stale districts
        stages.persons_stage(paths, DAY_NEW)
    # Dagster sees a new data version of district_boundaries: every date's persons become stale
    after = stages.boundaries_stage(paths)
    assert after.data_version != before
    assert materialize_result(after).data_version == dg.DataVersion(after.data_version)
    stages.persons_stage(paths, DAY_NEW)
    with pytest.raises(InputError) as err:
        stages.indicators_stage(paths, DAY_NEW)
    assert err.value.rule == "boundaries.series_geography" and "rerun from 2020-12-31" in err.value.message
    monkeypatch.setattr(stages, "require_same_geography", lambda paths, day: None)
    stages.indicators_stage(paths, DAY_NEW)  # the attack: changes against another geography, no word said
    previous = set(pd.read_parquet(paths.indicators(DAY_OLD))["district_id"])
    assert previous != set(pd.read_parquet(paths.indicators(DAY_NEW))["district_id"])
    # rerunning the earlier date rebuilds it on the new geography: the series is consistent again
    monkeypatch.undo()
    _run(paths, [DAY_OLD, DAY_NEW])
    assert set(pd.read_parquet(paths.indicators(DAY_OLD))["district_id"]) == set(
        pd.read_parquet(paths.indicators(DAY_NEW))["district_id"])


def test_the_report_names_version_and_repairs_in_german():
    info = {"in_force": "all", "in_force_file": "data/raw/boundaries/bezirke.gpkg", "series": "all",
            "series_file": "data/raw/boundaries/bezirke.gpkg", "nearest_district": 3,
            "repairs": {"overlaps_repaired": 2, "overlap_repaired_m2": 1234.5, "slivers_repaired": 750,
                        "sliver_repaired_m2": 1300.0, "gaps_left": 0, "gap_left_m2": 0.0, "repaired_invalid": 0}}
    text = boundaries_de(info)
    assert text["version"] == "data/raw/boundaries/bezirke.gpkg (für alle Stichtage)"
    assert "2 Überlappungen (1.234,5 m²) dem Bezirk mit der niedrigeren Kennung" in text["repairs"]
    assert "750 schmale Lücken (1.300,0 m²)" in text["repairs"] and "3 Personen" in text["repairs"]
    assert boundaries_de({**info, "repairs": {}, "nearest_district": 0})["repairs"] == "keine"
    one = boundaries_de({**info, "repairs": {"slivers_repaired": 1, "sliver_repaired_m2": 0.09}, "nearest_district": 1})
    assert one["repairs"].startswith("1 schmale Lücke (0,1 m²) dem Nachbarbezirk") and "; 1 Person mit" in one["repairs"]
    assert boundaries_de(None) is None
