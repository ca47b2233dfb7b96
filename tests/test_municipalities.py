"""Municipality × reference-date partitions: folder layout, Dagster partitions and mappings, the order of
dates within a municipality, the sensor, and runs over several municipalities."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from conftest import REFERENCE_DATE, clean_rows, make_small_project, write_extract
from quarterstats.errors import InputError
from quarterstats.paths import DEFAULT_MUNICIPALITY, ProjectPaths

EARLIER = date(2019, 12, 31)  # the date before conftest's REFERENCE_DATE (2020-12-31)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))


def register_folder(root: Path, key: str | None = None) -> Path:
    base = root if key is None else root / "municipalities" / key
    folder = base / "data" / "raw" / "register"
    folder.mkdir(parents=True)
    return folder


def two_municipalities(root: Path) -> Path:
    """a: the ten clean persons; b: the first six of them (A 4, B 2). One date each (2020-12-31)."""
    make_small_project(root / "municipalities" / "a")
    make_small_project(root / "municipalities" / "b", clean_rows()[:6])
    return root


# ---------------------------------------------------------------------------------- layout
def test_single_layout_is_the_default_municipality(tmp_path):
    register_folder(tmp_path)
    paths = ProjectPaths.from_workdir(tmp_path)
    assert paths.municipalities() == [DEFAULT_MUNICIPALITY] == ["default"]
    assert paths.for_municipality("default") == paths
    assert ProjectPaths.from_workdir(tmp_path / "empty").municipalities() == ["default"]  # nothing there yet


def test_several_municipalities_are_the_folders_with_a_register(tmp_path):
    register_folder(tmp_path, "07312000")
    register_folder(tmp_path, "kaiserslautern-sued")
    (tmp_path / "municipalities" / "notes").mkdir()  # no data/raw/register: not a municipality
    paths = ProjectPaths.from_workdir(tmp_path)
    assert paths.municipalities() == ["07312000", "kaiserslautern-sued"]
    one = paths.for_municipality("07312000")
    assert one.workdir == tmp_path.resolve() / "municipalities" / "07312000"
    assert one.raw_register == one.workdir / "data" / "raw" / "register"
    assert one.indicators(REFERENCE_DATE) == one.workdir / "data/processed/indicators/2020-12-31.parquet"
    assert one.report_dir(REFERENCE_DATE) == one.workdir / "reports" / "2020-12-31"
    with pytest.raises(InputError, match="unknown municipality 'default'") as err:
        paths.for_municipality("default")
    assert "municipalities/default/data/raw/register" in str(err.value)
    with pytest.raises(InputError, match="unknown municipality 'notes'"):
        paths.for_municipality("notes")


def test_both_layouts_at_once_is_an_error(tmp_path):
    register_folder(tmp_path)
    register_folder(tmp_path, "a")
    paths = ProjectPaths.from_workdir(tmp_path)
    for call in (paths.municipalities, lambda: paths.for_municipality("a")):
        with pytest.raises(InputError, match="both municipality folders") as err:
            call()
        assert str(tmp_path / "data" / "raw" / "register") in str(err.value)


@pytest.mark.parametrize("key", ["a b", "../a", "ä", "", "a/b"])
def test_bad_municipality_keys_are_refused(tmp_path, key):
    register_folder(tmp_path, "a")
    with pytest.raises(InputError, match="not a valid municipality key"):
        ProjectPaths.from_workdir(tmp_path).for_municipality(key)


def test_a_badly_named_municipality_folder_is_named_in_the_error(tmp_path):
    register_folder(tmp_path, "Kaiserslautern Süd")
    with pytest.raises(InputError, match="not a valid municipality key") as err:
        ProjectPaths.from_workdir(tmp_path).municipalities()
    assert "Kaiserslautern Süd" in str(err.value)


# ----------------------------------------------------------------------- Dagster definitions
def test_definitions_use_municipality_date_partitions():
    from pipelines.definitions import defs
    from pipelines.partitions import municipality_date_partitions, municipality_partitions

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    for key in ("register_extract", "persons", "migration_recovery", "indicators", "publication"):
        assert graph.get(dg.AssetKey(key)).partitions_def == municipality_date_partitions, key
    for key in ("district_boundaries", "indicator_time_series", "report_index"):
        assert graph.get(dg.AssetKey(key)).partitions_def == municipality_partitions, key
    assert municipality_date_partitions.partition_dimension_names == ["municipality", "reference_date"]
    job = defs.resolve_job_def("reference_date_job")
    assert job.partitions_def == municipality_date_partitions
    tags = job.get_tags_for_partition_key(dg.MultiPartitionKey({"municipality": "a", "reference_date": "2020-12-31"}),
                                          selected_asset_keys=None)
    assert tags["quarterstats/municipality"] == "a"  # the tag the run queue limits per value
    assert tags["dagster/partition/reference_date"] == "2020-12-31"
    for name in ("boundaries_job", "municipality_summary_job"):
        job = defs.resolve_job_def(name)
        assert job.partitions_def == municipality_partitions
        assert job.get_tags_for_partition_key("a", selected_asset_keys=None)["quarterstats/municipality"] == "a"


def test_partition_mappings_stay_within_one_municipality():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("municipality", ["a", "b"])
    instance.add_dynamic_partitions("reference_date", ["2019-12-31", "2020-12-31"])
    key = dg.AssetKey
    assert isinstance(graph.get_partition_mapping(key("persons"), key("district_boundaries")),
                      dg.MultiToSingleDimensionPartitionMapping)
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        b_2020 = dg.MultiPartitionKey({"municipality": "b", "reference_date": "2020-12-31"})
        boundaries = graph.get_parent_partition_keys_for_child(b_2020, key("district_boundaries"), key("persons"))
        assert set(boundaries.partitions_subset.get_partition_keys()) == {"b"}
        per_date = graph.get_parent_partition_keys_for_child(b_2020, key("persons"), key("indicators"))
        assert set(per_date.partitions_subset.get_partition_keys()) == {"b|2020-12-31"}
        series = graph.get_parent_partition_keys_for_child("b", key("indicators"), key("indicator_time_series"))
        assert set(series.partitions_subset.get_partition_keys()) == {"b|2019-12-31", "b|2020-12-31"}
        published = graph.get_parent_partition_keys_for_child("a", key("publication"), key("report_index"))
        assert set(published.partitions_subset.get_partition_keys()) == {"a|2019-12-31", "a|2020-12-31"}
        children = graph.get_child_partition_keys_of_parent("a", key("district_boundaries"), key("persons"))
        assert sorted(children) == ["a|2019-12-31", "a|2020-12-31"]


# ------------------------------------------------------------------------------------ sensor
def test_sensor_adds_both_partitions_and_requests_new_pairs_once(tmp_path, monkeypatch):
    from pipelines.sensors import new_register_extracts

    make_small_project(tmp_path / "municipalities" / "b")
    make_small_project(tmp_path / "municipalities" / "a")
    write_extract(clean_rows(), tmp_path / "municipalities" / "a" / "data/raw/register" / f"{EARLIER}.parquet")
    monkeypatch.setenv("QUARTERSTATS_WORKDIR", str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()

    result = new_register_extracts(dg.build_sensor_context(instance=instance))
    assert [str(r.partition_key) for r in result.run_requests] == ["a|2019-12-31", "a|2020-12-31", "b|2020-12-31"]
    assert [r.run_key for r in result.run_requests] == ["a|2019-12-31", "a|2020-12-31", "b|2020-12-31"]
    assert isinstance(result.run_requests[0].partition_key, dg.MultiPartitionKey)
    added = {r.partitions_def_name: list(r.partition_keys) for r in result.dynamic_partitions_requests}
    assert added == {"municipality": ["a", "b"], "reference_date": ["2019-12-31", "2020-12-31"]}
    # as the daemon resolves a request: the run gets the municipality tag the run queue limits on
    from pipelines.definitions import defs

    resolved = result.run_requests[2].with_resolved_tags_and_config(
        defs.resolve_job_def("reference_date_job"), result.dynamic_partitions_requests, instance
    )
    assert resolved.tags["quarterstats/municipality"] == "b" and resolved.tags["dagster/partition"] == "b|2020-12-31"

    # once the partitions exist and a pair's extract is materialised, only the other pairs are requested
    for name, keys in added.items():
        instance.add_dynamic_partitions(name, keys)
    instance.report_runless_asset_event(dg.AssetMaterialization("register_extract", partition="a|2019-12-31"))
    again = new_register_extracts(dg.build_sensor_context(instance=instance))
    assert [str(r.partition_key) for r in again.run_requests] == ["a|2020-12-31", "b|2020-12-31"]
    assert again.dynamic_partitions_requests == []


# ------------------------------------------------------------------ order within a municipality
def test_a_later_date_refuses_to_run_before_the_earlier_one(small_project):
    """2019 has an extract but no outputs: indicators and publication of 2020 stop with a clear error."""
    from quarterstats.stages import boundaries_stage, indicators_stage, ingest_stage, persons_stage, publication_stage

    paths = ProjectPaths.from_workdir(small_project)
    write_extract(clean_rows(), paths.raw_register / f"{EARLIER}.parquet")
    boundaries_stage(paths)
    ingest_stage(paths, REFERENCE_DATE)
    persons_stage(paths, REFERENCE_DATE)  # per-date steps that do not look back still run
    for stage in (indicators_stage, publication_stage):
        with pytest.raises(InputError) as err:
            stage(paths, REFERENCE_DATE)
        message = str(err.value)
        assert "reference date 2020-12-31 needs outputs of the earlier reference date 2019-12-31" in message
        assert "materialise 2019-12-31 first" in message
    assert not paths.indicators(REFERENCE_DATE).exists()


LATER = date(2021, 12, 31)


def test_time_series_names_the_reference_dates_it_leaves_out(small_project):
    """A date with an extract but no indicator table (failed, or not run yet) drops out of the time
    series: the stage says so in a check that warns, and in its metadata."""
    from quarterstats.stages import boundaries_stage, indicators_stage, ingest_stage, persons_stage, time_series_stage

    paths = ProjectPaths.from_workdir(small_project)
    boundaries_stage(paths)
    for stage in (ingest_stage, persons_stage, indicators_stage):
        stage(paths, REFERENCE_DATE)
    complete = time_series_stage(paths)
    assert complete.checks["time_series_covers_every_reference_date"][0] is True
    assert complete.metadata["missing_reference_dates"] == []
    write_extract(clean_rows(), paths.raw_register / f"{LATER}.parquet")
    partial = time_series_stage(paths)
    passed, description = partial.checks["time_series_covers_every_reference_date"]
    assert passed is False and "time_series_covers_every_reference_date" in partial.warnings
    assert "1 of 2 reference date(s) with an extract have no indicator table yet" in description
    assert "2021-12-31" in description and partial.metadata["missing_reference_dates"] == ["2021-12-31"]
    assert partial.metadata["reference_dates"] == ["2020-12-31"]


@pytest.mark.slow
def test_run_of_one_date_warns_that_the_summaries_leave_out_the_others(small_project, capsys):
    """`quarterstats run --date` runs that date and the summaries; a later date not run yet is named
    (a warning, not a failure) on the console, in Dagster's check and on the index page."""
    from quarterstats.cli import main

    paths = ProjectPaths.from_workdir(small_project)
    write_extract(clean_rows(), paths.raw_register / f"{LATER}.parquet")
    assert main(["run", "--workdir", str(small_project), "--date", REFERENCE_DATE.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "! time_series_covers_every_reference_date: 1 of 2 reference date(s)" in out
    assert "! index_covers_every_reference_date: 1 of 2 reference date(s)" in out and "2021-12-31" in out
    index = (paths.reports / "index.html").read_text(encoding="utf-8")
    assert "<strong>Noch nicht veröffentlicht:</strong> 31.12.2021." in index
    instance = dg.DagsterInstance.get()
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("report_index"), "index_covers_every_reference_date")]
    )
    evaluation = next(iter(record.values())).event.dagster_event.event_specific_data
    assert evaluation.passed is False and evaluation.severity == dg.AssetCheckSeverity.WARN


def test_earlier_outputs_are_required_for_the_previous_and_the_first_date(tmp_path):
    from quarterstats.stages import require_earlier_outputs

    paths = ProjectPaths.from_workdir(tmp_path)
    days = [date(2018, 12, 31), EARLIER, REFERENCE_DATE]
    for day in days:
        write_extract(clean_rows(), paths.raw_register / f"{day}.parquet")
    require_earlier_outputs(paths, days[0], [paths.indicators], [paths.indicators])  # the first date: nothing before
    for day in days[:2]:
        paths.indicators(day).parent.mkdir(parents=True, exist_ok=True)
        paths.indicators(day).write_bytes(b"stand-in")
    require_earlier_outputs(paths, REFERENCE_DATE, [paths.indicators], [paths.indicators])
    paths.indicators(days[0]).unlink()  # the first date's table is gone: changes against it would be empty
    with pytest.raises(InputError, match="earlier reference date 2018-12-31"):
        require_earlier_outputs(paths, REFERENCE_DATE, [paths.indicators], [paths.indicators])
    require_earlier_outputs(paths, REFERENCE_DATE, [paths.indicators], [])  # previous only: fine


def test_dagster_run_of_a_later_partition_fails_clearly(small_project):
    """Through Dagster (as the UI or the queue would run it): the step fails with the user message."""
    from pipelines.definitions import ASSETS, BOUNDARY_ASSETS, PER_DATE_ASSETS
    from pipelines.partitions import partition_key
    from pipelines.resources import ProjectResource
    from pipelines.runner import QUIET_LOGS, _failure

    write_extract(clean_rows(), small_project / "data/raw/register" / f"{EARLIER}.parquet")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("municipality", ["default"])
    instance.add_dynamic_partitions("reference_date", [EARLIER.isoformat(), REFERENCE_DATE.isoformat()])
    resources = {"project": ProjectResource(workdir=str(small_project))}
    common = dict(instance=instance, resources=resources, raise_on_error=False, run_config=QUIET_LOGS)
    assert dg.materialize(ASSETS, selection=BOUNDARY_ASSETS, partition_key="default", **common).success
    result = dg.materialize(ASSETS, selection=PER_DATE_ASSETS,
                            partition_key=partition_key("default", REFERENCE_DATE.isoformat()), **common)
    step, message = _failure(result)
    assert not result.success and step == "indicators"
    assert "2020-12-31" in message and "materialise 2019-12-31 first" in message and "Traceback" not in message


# ----------------------------------------------------------------------------------- runner
def test_run_refuses_an_unknown_municipality_and_a_mixed_layout(tmp_path, capsys):
    from quarterstats.cli import main

    two_municipalities(tmp_path)
    assert main(["run", "--workdir", str(tmp_path), "--municipality", "c"]) == 2
    err = capsys.readouterr().err
    assert "unknown municipality 'c'" in err and "a, b" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:  # argparse refuses a malformed key
        main(["run", "--workdir", str(tmp_path), "--municipality", "no such"])
    assert exit_.value.code == 2 and "not a municipality key" in capsys.readouterr().err
    register_folder(tmp_path)
    assert main(["run", "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "both municipality folders" in err and "Traceback" not in err


@pytest.mark.slow
def test_sequential_run_gives_each_municipality_its_own_outputs(tmp_path, capsys):
    """`--municipality b` runs b only; a plain run then does a and b, each into its own folder."""
    from pipelines.runner import materialize_all
    from quarterstats.cli import main

    root = two_municipalities(tmp_path / "state")
    a, b = (ProjectPaths.from_workdir(root).for_municipality(k) for k in ("a", "b"))
    assert main(["run", "--workdir", str(root), "--municipality", "b"]) == 0
    out = capsys.readouterr().out
    assert "1 municipalities" in out and "b: 1 reference date(s)" in out and "a: " not in out
    assert b.indicators(REFERENCE_DATE).is_file() and not a.processed.exists()

    messages = []
    outcome = materialize_all(root, progress=messages.append)
    assert outcome.ok, outcome.message
    assert outcome.municipalities == ["a", "b"] and outcome.dates == ["a|2020-12-31", "b|2020-12-31"]
    assert messages[0].startswith("quarterstats: 2 municipalities") and messages[1].startswith("a: 1 reference")
    expected_pop = {"a": {"A": 4, "B": 3, "C": 2, "D": 1, "city": 10}, "b": {"A": 4, "B": 2, "C": 0, "D": 0, "city": 6}}
    for paths, expected in ((a, expected_pop["a"]), (b, expected_pop["b"])):
        pop = pd.read_parquet(paths.indicators(REFERENCE_DATE)).query("indicator == 'pop'")
        assert pop.set_index("district_id")["value"].to_dict() == expected
        assert (paths.reports / "index.html").is_file() and paths.published(REFERENCE_DATE).is_file()
        assert paths.indicator_time_series.is_file()
    assert not (root / "data").exists() and not (root / "reports").exists()  # nothing mixed into the top
    instance = dg.DagsterInstance.get()
    assert instance.get_materialized_partitions(dg.AssetKey("indicators")) == {"a|2020-12-31", "b|2020-12-31"}
    assert instance.get_materialized_partitions(dg.AssetKey("report_index")) == {"a", "b"}


@pytest.mark.slow
def test_run_of_a_later_date_includes_the_earlier_unprocessed_one(small_project, capsys):
    from quarterstats.cli import main

    paths = ProjectPaths.from_workdir(small_project)
    write_extract(clean_rows(), paths.raw_register / f"{EARLIER}.parquet")
    assert main(["run", "--workdir", str(small_project), "--date", REFERENCE_DATE.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "(also 2019-12-31: the requested date(s) need their outputs, which are missing)" in out
    assert paths.indicators(EARLIER).is_file() and paths.published(REFERENCE_DATE).is_file()
    # now 2019 is done: asking for 2020 again runs 2020 only
    assert main(["run", "--workdir", str(small_project), "--date", REFERENCE_DATE.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "1 reference date(s)" in out and "also" not in out


@pytest.mark.slow
def test_parallel_demo_runs_partitions_in_parallel_through_the_run_queue(tmp_path):
    """scripts/parallel_demo.py at its smallest size: 2 municipalities × 2 dates, 100 persons each."""
    import json

    report = tmp_path / "demo.json"
    env = dict(os.environ)
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "parallel_demo.py"), "--municipalities", "2", "--dates", "2",
         "--persons", "100", "--json", str(report)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    outcome = json.loads(report.read_text(encoding="utf-8"))
    failed = {name: text for name, (passed, text) in outcome["checks"].items() if not passed}
    assert failed == {}, done.stdout[-3000:]
    assert set(outcome["checks"]) == {
        "every_run_succeeded", "municipalities_ran_in_parallel", "one_municipality_one_run_at_a_time",
        "order_within_municipality", "queue_skips_busy_municipality", "steps_ran_in_parallel_processes",
        "outputs_equal_sequential_run",
    }
    assert done.returncode == 0 and "ALL CHECKS PASSED" in done.stdout


def test_the_checkouts_dagster_home_keeps_one_run_per_municipality():
    """`dagster dev` in the checkout uses .dagster_home/dagster.yaml: it must carry the same run-queue
    limit as the DAGSTER_HOME the runner writes, or a backfill could run two dates of one municipality
    at once."""
    from pipelines.runner import DAGSTER_YAML

    tracked = Path(__file__).resolve().parents[1] / ".dagster_home" / "dagster.yaml"
    assert tracked.read_text(encoding="utf-8") == DAGSTER_YAML
