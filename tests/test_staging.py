"""A publication is built in data/processed/staging, checked there and swapped in whole: whatever breaks on
the way leaves the previous reports/ byte for byte as it was, and nothing partial appears under reports/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import REFERENCE_DATE, make_small_project
from quarterstats import stages, staging
from quarterstats.paths import ProjectPaths
from quarterstats.settings import load_settings
from quarterstats.stages import publication_index_stage, publication_stage

NEW_NAME = "Neustadt an der Probe"


@pytest.fixture(scope="module")
def first_publication(tmp_path_factory):
    """A small project, published once by the whole pipeline."""
    from pipelines.runner import materialize_all

    root = make_small_project(tmp_path_factory.mktemp("published"))
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    outcome = materialize_all(root, progress=lambda _: None)
    assert outcome.ok, outcome.message
    return root


@pytest.fixture
def project(first_publication, tmp_path, monkeypatch):
    """A copy of the published project whose next publication would differ (another city name)."""
    monkeypatch.setenv("QUARTERSTATS_THREADS", "1")  # draw in this process, where the patches apply
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    root = tmp_path / "city"
    shutil.copytree(first_publication, root, ignore=shutil.ignore_patterns("dagster_home"))
    (root / "quarterstats.toml").write_text(f'[city]\nname = "{NEW_NAME}"\n', encoding="utf-8")
    paths = ProjectPaths.from_workdir(root)
    # the city name only labels the publication: the date's indicators stand as computed
    stages._record_settings(paths, REFERENCE_DATE, "indicators", load_settings(root))
    return paths


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_untouched(paths: ProjectPaths, before: dict[str, bytes]) -> None:
    after = snapshot(paths.reports)
    assert sorted(after) == sorted(before)  # no file more, none less
    changed = [name for name in before if after[name] != before[name]]
    assert not changed
    assert not list(paths.reports.glob(".*")) and not list(paths.reports.rglob("*.tmp"))


def test_a_publication_that_passes_replaces_the_previous_one(project):
    """The control for every test below: unbroken, the same call does change reports/<date>/."""
    before = snapshot(project.reports)
    result = publication_stage(project, REFERENCE_DATE)
    assert all(passed for passed, _ in result.checks.values()), result.checks
    assert result.metadata["published"] is True
    after = snapshot(project.reports)
    assert after[f"{REFERENCE_DATE}/bericht.html"] != before[f"{REFERENCE_DATE}/bericht.html"]
    assert NEW_NAME in (project.report_dir(REFERENCE_DATE) / "bericht.html").read_text(encoding="utf-8")
    assert set(after) == set(before)  # the same files, rewritten
    assert all(p.is_file() and project.reports in p.parents for p in result.outputs)
    assert not project.staging.exists() or not any(project.staging.iterdir())


def test_a_figure_that_fails_to_draw_leaves_the_previous_publication(project, monkeypatch):
    from quarterstats import figures

    before = snapshot(project.reports)

    def broken(build):
        raise ValueError("mathtext: unknown symbol")

    monkeypatch.setattr(figures, "_draw", broken)
    with pytest.raises(ValueError, match="mathtext"):
        publication_stage(project, REFERENCE_DATE)
    assert_untouched(project, before)
    assert not project.staging_dir(REFERENCE_DATE).exists()  # nothing of the failed build stays


def test_a_workbook_that_fails_to_write_leaves_the_previous_publication(project, monkeypatch):
    from quarterstats import tables

    before = snapshot(project.reports)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tables, "write_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        publication_stage(project, REFERENCE_DATE)
    assert_untouched(project, before)
    assert not project.staging_dir(REFERENCE_DATE).exists()


def test_a_failing_disclosure_check_is_reported_and_nothing_is_swapped_in(project, monkeypatch):
    from quarterstats.disclosure import indicators

    before = snapshot(project.reports)
    monkeypatch.setattr(indicators, "audit", lambda *args, **kwargs: [("A", "pop")])
    result = publication_stage(project, REFERENCE_DATE)
    passed, description = result.checks["published_counts_pass_disclosure"]
    assert not passed and "1 recoverable" in description
    assert result.metadata["published"] is False
    assert_untouched(project, before)
    # the build that failed stays for inspection in data/, not in reports/, until the next run
    staged = project.staging_dir(REFERENCE_DATE)
    assert (staged / "bericht.html").is_file() and project.processed in staged.parents
    assert all(staged in p.parents for p in result.outputs)


def test_a_person_level_column_in_a_staged_table_is_found_and_nothing_is_swapped_in(project, monkeypatch):
    from quarterstats import tables

    before = snapshot(project.reports)
    write_table_files = tables.write_table_files

    def with_person_column(frame, folder, stem):
        return write_table_files(frame.assign(person_id="pseudonym") if stem == "alterspyramide" else frame,
                                 folder, stem)

    monkeypatch.setattr(tables, "write_table_files", with_person_column)
    result = publication_stage(project, REFERENCE_DATE)
    passed, description = result.checks["reports_hold_no_person_level_rows"]
    assert not passed and "alterspyramide" in description and "person_id" in description
    assert_untouched(project, before)


def test_an_unexpected_file_in_the_staged_folder_fails_the_files_check(project, monkeypatch):
    from quarterstats import report

    before = snapshot(project.reports)
    render_report = report.render_report

    def with_stray_file(*args, **kwargs):
        path = render_report(*args, **kwargs)
        (path.parent / "notizen.txt").write_text("not for publication", encoding="utf-8")
        return path

    monkeypatch.setattr(report, "render_report", with_stray_file)
    result = publication_stage(project, REFERENCE_DATE)
    passed, description = result.checks["publication_files_complete"]
    assert not passed and "unexpected notizen.txt" in description
    assert_untouched(project, before)


def test_a_missing_district_profile_fails_the_files_check(project, monkeypatch):
    from quarterstats import profiles

    before = snapshot(project.reports)
    render_profiles = profiles.render_profiles
    dropped = []

    def without_one_district(*args, **kwargs):
        written = render_profiles(*args, **kwargs)
        dropped.append(written[-1])
        written[-1].unlink()
        return written[:-1]

    monkeypatch.setattr(profiles, "render_profiles", without_one_district)
    result = publication_stage(project, REFERENCE_DATE)
    passed, description = result.checks["publication_files_complete"]
    assert not passed and f"not written: profile/{dropped[0].name}" in description
    assert_untouched(project, before)


def test_a_failing_swap_leaves_the_previous_publication(project, monkeypatch):
    before = snapshot(project.reports)

    def broken(first, second):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(staging, "exchange", broken)
    with pytest.raises(OSError, match="Input/output"):
        publication_stage(project, REFERENCE_DATE)
    assert_untouched(project, before)
    assert not project.staging_dir(REFERENCE_DATE).exists()


def test_without_rename_exchange_two_renames_swap_the_folder(project, monkeypatch):
    monkeypatch.setattr(staging, "exchange", lambda first, second: False)  # e.g. a file system without it
    before = snapshot(project.reports)
    publication_stage(project, REFERENCE_DATE)
    after = snapshot(project.reports)
    assert set(after) == set(before) and after[f"{REFERENCE_DATE}/bericht.html"] != before[f"{REFERENCE_DATE}/bericht.html"]
    assert not any(project.staging.iterdir())


def test_a_failing_second_rename_puts_the_previous_folder_back(project, monkeypatch):
    monkeypatch.setattr(staging, "exchange", lambda first, second: False)
    before = snapshot(project.reports)
    calls = []
    rename = staging._rename

    def second_fails(source, target):
        calls.append(source)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        rename(source, target)

    monkeypatch.setattr(staging, "_rename", second_fails)
    with pytest.raises(OSError, match="No space"):
        publication_stage(project, REFERENCE_DATE)
    assert len(calls) == 2
    assert_untouched(project, before)


def test_rename_exchange_swaps_two_folders_in_one_step(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "x").write_text("a")
    (second / "x").write_text("b")
    if not staging.exchange(first, second):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (first / "x").read_text() == "b" and (second / "x").read_text() == "a"


def test_leftovers_of_a_killed_run_are_cleaned_or_put_back(project):
    before = snapshot(project.reports)
    target = project.report_dir(REFERENCE_DATE)
    staged = project.staging_dir(REFERENCE_DATE)
    # killed between the two renames of the fallback: the previous folder aside, a build in staging
    staged.parent.mkdir(parents=True, exist_ok=True)
    os.rename(target, staged.with_name(staged.name + ".previous"))
    staged.mkdir()
    (staged / "indikatoren.csv").write_text("half", encoding="utf-8")
    staging.recover_folder(staged, target)
    assert_untouched(project, before)
    assert not any(project.staging.iterdir())
    # killed while building: the next run starts from an empty staging folder and publishes whole
    staged.mkdir()
    (staged / "stray.png").write_bytes(b"half a figure")
    result = publication_stage(project, REFERENCE_DATE)
    assert result.checks["publication_files_complete"][0]
    assert not (target / "stray.png").exists() and not any(project.staging.iterdir())


def test_index_files_are_built_in_staging_and_moved_as_a_set(project, monkeypatch):
    from quarterstats import tables

    before = snapshot(project.reports)
    names = sorted(["index.html", "zeichenerklaerung.csv", "zeitreihe.xlsx"]
                   + [f"{stem}{kind}" for stem in ("zeitreihe", "zeitreihe_segregationsindizes")
                      for kind in (".csv", ".parquet", "_de.csv")])

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tables, "write_time_series_workbook", broken)
    with pytest.raises(OSError):
        publication_index_stage(project)
    assert_untouched(project, before)
    assert not project.staging_index.exists()
    monkeypatch.undo()
    monkeypatch.setenv("QUARTERSTATS_THREADS", "1")
    result = publication_index_stage(project)
    assert sorted(p.name for p in result.outputs) == names
    after = snapshot(project.reports)
    assert after["index.html"] != before["index.html"] and NEW_NAME in after["index.html"].decode("utf-8")
    assert not project.staging_index.exists()


def test_an_index_set_half_moved_by_a_killed_run_is_completed_by_the_next(project):
    reports = project.reports
    staged = project.staging_index
    staged.mkdir(parents=True)
    # a complete staged set whose journal was written, and of which one file had been moved
    for name, content in (("zeitreihe.csv", b"new csv"), ("zeitreihe.parquet", b"new parquet"),
                          ("zeitreihe.xlsx", b"new xlsx"), ("index.html", b"new index")):
        (staged / name).write_bytes(content)
    (staged / staging.JOURNAL).write_text("zeitreihe.csv\nzeitreihe.parquet\nzeitreihe.xlsx\nindex.html\n")
    os.replace(staged / "zeitreihe.csv", reports / "zeitreihe.csv")
    moved = staging.recover_files(staged, reports)
    assert moved == ["zeitreihe.parquet", "zeitreihe.xlsx", "index.html"]
    assert [(reports / n).read_bytes() for n in ("zeitreihe.csv", "zeitreihe.parquet", "zeitreihe.xlsx", "index.html")] \
        == [b"new csv", b"new parquet", b"new xlsx", b"new index"]
    assert not staged.exists()
    # without a journal the staged files are an unfinished build: removed, reports/ untouched
    before = snapshot(reports)
    staged.mkdir()
    (staged / "index.html").write_bytes(b"half")
    assert staging.recover_files(staged, reports) == []
    assert_untouched(project, before)


def test_a_failing_blocking_check_fails_the_run_and_swaps_nothing_in(project, monkeypatch):
    """Through Dagster and the command line: the check is reported as failed, the exit code says so."""
    from quarterstats.cli import main
    from quarterstats.disclosure import indicators
    from pipelines.runner import materialize_all

    before = snapshot(project.reports)
    monkeypatch.setattr(indicators, "audit", lambda *args, **kwargs: [("A", "pop")])
    outcome = materialize_all(project.workdir, progress=lambda _: None)
    assert not outcome.ok and outcome.failed_step == "published_counts_pass_disclosure"
    assert_untouched(project, before)
    assert main(["run", "--workdir", str(project.workdir)]) == 2
    assert_untouched(project, before)


def test_a_figure_error_in_a_full_run_fails_it_and_leaves_reports_alone(project, monkeypatch, capsys):
    from quarterstats import figures
    from quarterstats.cli import main

    before = snapshot(project.reports)

    def broken(build):
        raise ValueError("mathtext: unknown symbol")

    monkeypatch.setattr(figures, "_draw", broken)
    assert main(["run", "--workdir", str(project.workdir)]) == 2
    assert "mathtext: unknown symbol" in capsys.readouterr().err
    assert_untouched(project, before)
    assert not project.staging_dir(REFERENCE_DATE).exists()
