"""The Dagster wiring: definitions load, a partition materialises, checks block, reruns are identical."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import pandas as pd
import pytest

from conftest import REFERENCE_DATE, clean_rows, person, write_extract
from quarterstats.paths import ProjectPaths


@pytest.fixture(autouse=True)
def isolated_dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))


@pytest.fixture(scope="module")
def ran_small_project(tmp_path_factory):
    """(work folder, outcome) of one whole run of the small project, shared by the tests that read it;
    a test that runs again works on a copy."""
    import os

    from conftest import make_small_project
    from pipelines.runner import materialize_all

    root = make_small_project(tmp_path_factory.mktemp("ran"))
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(root.parent / "dagster_home_ran")
    try:
        outcome = materialize_all(root, progress=lambda _: None)
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before
    return root, outcome


def test_definitions_load():
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"register_extract", "district_boundaries", "persons", "indicators"} <= keys
    checks = {c.name for c in graph.asset_check_keys}
    assert {"register_rows_accounted", "register_quarantine_within_tolerance", "boundaries_valid",
            "persons_all_accounted", "time_series_covers_every_reference_date",
            "index_covers_every_reference_date"} <= checks


def test_partition_materialises_with_hand_computed_residents(ran_small_project):
    small_project, outcome = ran_small_project
    assert outcome.ok, outcome.message
    paths = ProjectPaths.from_workdir(small_project)
    persons = pd.read_parquet(paths.persons(REFERENCE_DATE))
    assert persons.groupby("district_id").size().to_dict() == {"A": 4, "B": 3, "C": 2, "D": 1}
    table = pd.read_parquet(paths.indicators(REFERENCE_DATE))
    assert list(table.columns[:5]) == ["district_id", "indicator", "value", "numerator", "denominator"]
    pop = table[table["indicator"] == "pop"].set_index("district_id")["value"].to_dict()
    assert pop == {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "city": 10.0}
    # every person-level output stays in data/
    assert not paths.reports.exists() or not any(p.suffix == ".parquet" and "persons" in p.name for p in paths.reports.rglob("*"))
    # the districts' contiguity is written once with the boundaries and read back by every date
    from quarterstats.autocorrelation import queen_neighbours
    from quarterstats.stages import read_districts, read_neighbours

    districts = read_districts(paths)
    assert read_neighbours(paths, districts) == queen_neighbours(districts, "district_id")
    assert read_neighbours(paths, districts)["A"] == ["B", "C", "D"]  # the 2 x 2 squares all touch
    # where the time went: Dagster's duration of every asset's step, within the run's wall time
    assert {"district_boundaries", "register_extract", "persons", "indicators", "publication",
            "indicator_time_series", "report_index"} <= set(outcome.step_seconds)
    assert all(s > 0 for s in outcome.step_seconds.values())
    assert sum(outcome.step_seconds.values()) < outcome.seconds
    report = outcome.time_report()
    assert report[0].startswith("Time per step") and any("publication" in line for line in report)
    assert report[-1].lstrip().startswith("Dagster")


def test_rerun_gives_byte_identical_tables(ran_small_project, tmp_path):
    import shutil

    from pipelines.runner import materialize_all

    ran, outcome = ran_small_project
    assert outcome.ok, outcome.message
    small_project = tmp_path / "city"
    shutil.copytree(ran, small_project)  # the first run's outputs, byte for byte
    paths = ProjectPaths.from_workdir(small_project)
    first = {p: p.read_bytes() for p in (paths.indicators(REFERENCE_DATE), paths.persons(REFERENCE_DATE),
                                         paths.quarantine(REFERENCE_DATE), paths.register_accepted(REFERENCE_DATE))}
    assert materialize_all(small_project, progress=lambda _: None).ok
    for path, data in first.items():
        assert path.read_bytes() == data, path


def test_outside_persons_are_quarantined_and_accounted(small_project):
    from pipelines.runner import materialize_all

    paths = ProjectPaths.from_workdir(small_project)
    rows = clean_rows() + [person("far", x=420_000.0, y=5_490_000.0)]
    rows += [person(f"g{i:03d}") for i in range(30)]
    write_extract(rows, paths.register_file(REFERENCE_DATE))
    assert materialize_all(small_project, progress=lambda _: None).ok
    outside = pd.read_parquet(paths.quarantine_location(REFERENCE_DATE))
    assert outside["person_id"].tolist() == ["far"]
    assert outside["rule"].tolist() == ["location.outside_districts"]
    assert len(pd.read_parquet(paths.persons(REFERENCE_DATE))) == len(rows) - 1


def test_unusable_extract_stops_with_its_message_and_writes_nothing_downstream(small_project):
    from pipelines.runner import materialize_all

    paths = ProjectPaths.from_workdir(small_project)
    bad = paths.raw_register / "2019-12-31.csv"  # before the good date: nothing earlier to run first
    bad.write_text("person_id;age\n1;2\n", encoding="utf-8")
    messages = []
    outcome = materialize_all(small_project, dates=[date(2019, 12, 31)], progress=messages.append)
    assert not outcome.ok
    assert "2019-12-31.csv" in outcome.message and "file.columns" in outcome.message
    assert "Traceback" not in outcome.message
    assert not paths.persons(date(2019, 12, 31)).exists()


def test_blocking_contract_check_stops_downstream(small_project):
    from pipelines.runner import materialize_all

    paths = ProjectPaths.from_workdir(small_project)
    day = date(2019, 12, 31)  # before the good date: nothing earlier to run first
    rows = [person(f"g{i:03d}", age=150) for i in range(3)] + [person(f"ok{i}") for i in range(20)]
    write_extract(rows, paths.raw_register / f"{day}.parquet")
    outcome = materialize_all(small_project, dates=[day], progress=lambda _: None)
    assert not outcome.ok
    assert outcome.failed_step == "register_quarantine_within_tolerance"
    assert "13.04%" in outcome.message
    assert paths.quarantine(day).exists()  # the asset wrote its own outputs ...
    assert not paths.persons(day).exists()  # ... but nothing downstream ran
    report = json.loads(paths.ingest_report(day).read_text())
    assert report["rule_counts"] == {"age.range": 3}


def test_run_for_another_workdir_leaves_the_checkout_alone(small_project, tmp_path):
    from quarterstats.cli import main

    assert main(["run", "--workdir", str(small_project)]) == 0
    assert (small_project / "data" / "processed" / "indicators" / f"{REFERENCE_DATE}.parquet").exists()
