"""The pipeline's stages: one function per Dagster asset, each reading its inputs from files and writing
its own outputs atomically, returning the metadata the run shows.

This is the only layer that knows file locations (through :class:`~quarterstats.paths.ProjectPaths`);
the modules it calls (ingest, boundaries, spatial, migration, indicators, ...) work on data frames.
Dagster wiring lives in ``pipelines/``; these functions run without it too (tests, notebooks).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from quarterstats import atomic, contract, staging
from quarterstats.boundaries import load_boundaries
from quarterstats.errors import InputError
from quarterstats.ingest import ingest_register
from quarterstats.memory import use_system_memory_pool
from quarterstats.paths import ProjectPaths
from quarterstats.spatial import check_outside_share, join_persons

# Every pipeline process (CLI, Dagster step) runs the stages: pick Arrow's pool before they allocate.
use_system_memory_pool()


@dataclass
class StageResult:
    """Metadata of one stage run, plus named checks (name -> (passed, description)); the checks named in
    ``warnings`` only warn when they fail (the outputs are usable, but the user should know)."""

    metadata: dict
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    warnings: frozenset[str] = frozenset()


def _date(reference_date: date | str) -> date:
    return reference_date if isinstance(reference_date, date) else date.fromisoformat(str(reference_date))


# ----------------------------------------------------------------------------------- register
def ingest_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """Read and validate the extract; write accepted rows, the quarantine and a JSON report."""
    day = _date(reference_date)
    source = paths.register_file(day)
    result = ingest_register(source, day, max_quarantine_share=1.0)
    atomic.write_parquet(result.accepted, paths.register_accepted(day))
    atomic.write_parquet(result.quarantine, paths.quarantine(day))
    summary = result.summary()
    summary["file"] = _relative(source, paths)
    atomic.write_json(summary, paths.ingest_report(day))
    share = result.quarantined_rows / result.input_rows
    accounted = summary["rows_accounted"]
    checks = {
        "register_rows_accounted": (
            accounted,
            f"input {result.input_rows} = accepted {result.accepted_rows} + quarantined "
            f"{result.quarantined_rows}" if accounted else "rows lost between input and output",
        ),
        "register_quarantine_within_tolerance": (
            share <= contract.MAX_QUARANTINE_SHARE,
            f"{share:.2%} of rows quarantined (tolerance {contract.MAX_QUARANTINE_SHARE:.0%})"
            + (f"; most often: {max(result.rule_counts, key=result.rule_counts.get)}" if result.rule_counts else ""),
        ),
    }
    metadata = {
        "source_file": summary["file"],
        "format": result.file_format,
        "input_rows": result.input_rows,
        "accepted_rows": result.accepted_rows,
        "quarantined_rows": result.quarantined_rows,
        "quarantine_share": round(share, 6),
        "rule_counts": summary["rule_counts"],
        "link_repairs": summary["link_repairs"],
        "contract_version": contract.CONTRACT_VERSION,
    }
    return StageResult(metadata, checks, [paths.register_accepted(day), paths.quarantine(day)])


# --------------------------------------------------------------------------------- boundaries
def prepare_districts(source: Path) -> tuple[gpd.GeoDataFrame, object, dict[str, list[str]]]:
    """(districts in natural id order, validation report, queen contiguity) of a boundary file: what
    every reference date uses, computed once per run."""
    from quarterstats.autocorrelation import queen_neighbours
    from quarterstats.indicators import natural_key

    districts, report = load_boundaries(source)
    ids = districts["district_id"].astype(str).tolist()
    districts = districts.iloc[sorted(range(len(ids)), key=lambda i: natural_key(ids[i]))].reset_index(drop=True)
    return districts, report, queen_neighbours(districts, "district_id")


def boundaries_stage(paths: ProjectPaths) -> StageResult:
    """Read, reproject to EPSG:25832 and validate the district boundaries; their queen contiguity."""
    source = paths.boundary_file()
    districts, report, neighbours = prepare_districts(source)
    target = paths.boundaries
    with atomic.atomic_path(target) as tmp:
        districts.to_parquet(tmp, index=False)
    pairs = [(district, n) for district, listed in neighbours.items() for n in listed]
    atomic.write_parquet(pd.DataFrame(pairs, columns=["district_id", "neighbour_id"], dtype="str"),
                         paths.district_neighbours)
    payload = report.as_dict()
    payload["file"] = _relative(source, paths)
    atomic.write_json(payload, paths.boundaries_report)
    checks = {
        "boundaries_valid": (
            report.ok,
            "; ".join(report.problems)
            or (
                f"{report.districts} districts, {report.total_area_km2:.2f} km², overlaps "
                f"{report.overlap_total_m2:.2f} m², gaps {report.gap_total_m2:.2f} m² (within tolerance)"
                + (f"; repaired invalid geometry of {', '.join(report.repaired_invalid)}" if report.repaired_invalid else "")
            ),
        )
    }
    metadata = {
        "source_file": payload["file"],
        "source_crs": report.source_crs,
        "districts": report.districts,
        "total_area_km2": round(report.total_area_km2, 3),
        "overlap_total_m2": round(report.overlap_total_m2, 3),
        "gap_total_m2": round(report.gap_total_m2, 3),
        "repaired_invalid": report.repaired_invalid,
    }
    return StageResult(metadata, checks, [target, paths.district_neighbours])


def read_neighbours(paths: ProjectPaths, districts: gpd.GeoDataFrame) -> dict[str, list[str]] | None:
    """The districts' queen contiguity written by the boundaries stage; None when it is missing (e.g. a
    processed folder from before it was written) or belongs to other districts."""
    if not paths.district_neighbours.is_file():
        return None
    pairs = pd.read_parquet(paths.district_neighbours)
    ids = [str(i) for i in districts["district_id"]]
    neighbours: dict[str, list[str]] = {i: [] for i in ids}
    for district, neighbour in zip(pairs["district_id"], pairs["neighbour_id"]):  # loops over pairs
        if district not in neighbours:
            return None
        neighbours[district].append(neighbour)
    return neighbours


def read_districts(paths: ProjectPaths) -> gpd.GeoDataFrame:
    if not paths.boundaries.is_file():
        raise InputError("district boundaries have not been prepared yet (run the boundaries step first)",
                         file=paths.boundaries)
    return gpd.read_parquet(paths.boundaries)


# ------------------------------------------------------------------------------------ persons
def _untimed(name: str, function: Callable, *args, **kwargs):
    return function(*args, **kwargs)


def build_persons(
    accepted: pd.DataFrame,
    districts: gpd.GeoDataFrame,
    day: date,
    *,
    check_outside: Callable[[int], None] = lambda n_outside: None,
    timed: Callable = _untimed,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The persons table of one date from its accepted register rows: (persons, outside, ambiguous).

    District join, then migration background. ``check_outside`` gets the number of persons outside
    every district before the derivation (it may raise). ``timed(name, function, *args)`` runs each step
    (``join``, ``migration``, ``assemble``); ``scripts/benchmark.py`` passes a timer, so the benchmark
    measures exactly this code. Row order stays the extract's own (deterministic); sorting 20+ columns
    by person_id cost seconds.
    """
    from quarterstats.migration import MigrationParameters, derive_migration

    joined, outside, ambiguous = timed("join", join_persons, accepted, districts)
    check_outside(len(outside))
    derived = timed("migration", derive_migration, joined, day, MigrationParameters())
    persons = timed("assemble", lambda: pd.concat([joined, derived], axis=1))
    return persons, outside, ambiguous


def persons_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """Join accepted persons to districts and derive migration background; write the persons table."""
    day = _date(reference_date)
    accepted = pd.read_parquet(paths.register_accepted(day))
    districts = read_districts(paths)
    persons, outside, ambiguous = build_persons(
        accepted, districts, day,
        check_outside=lambda n_outside: check_outside_share(
            n_outside, len(accepted), file=paths.register_file(day), boundaries_file=paths.boundary_file()),
    )
    atomic.write_parquet(persons, paths.persons(day))
    outside_table = outside.assign(rule="location.outside_districts",
                                   message="address coordinates lie in no district")
    atomic.write_parquet(outside_table, paths.quarantine_location(day))
    ingest_report = json.loads(paths.ingest_report(day).read_text(encoding="utf-8"))
    input_rows = ingest_report["input_rows"]
    quarantined = ingest_report["quarantined_rows"]
    accounted = input_rows == len(persons) + len(outside) + quarantined
    status_counts = persons["mh_status"].value_counts()
    status_counts = status_counts[status_counts > 0].rename(index=str).sort_index()  # no empty categories
    metadata = {
        "persons": len(persons),
        "outside_districts": len(outside),
        "ambiguous_points": ambiguous,
        "districts_with_persons": int(persons["district_id"].nunique()),
        "mh_status_counts": {str(k): int(v) for k, v in status_counts.items()},
        "share_with_mh": round(float(persons["has_mh"].mean()), 4) if len(persons) else None,
    }
    checks = {
        "persons_all_accounted": (
            accounted,
            f"input {input_rows} = in districts {len(persons)} + outside {len(outside)} + quarantined {quarantined}",
        )
    }
    return StageResult(metadata, checks, [paths.persons(day), paths.quarantine_location(day)])


def migration_recovery_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """Recovered vs. missed persons per true category (the register undercount), where truth exists.

    Only the synthetic default has a truth (``data/raw/synthetic_truth``); for a real city the stage
    writes nothing and says so.
    """
    from quarterstats.migration import MigrationParameters, recovery_report

    day = _date(reference_date)
    truth_path = paths.truth_file(day)
    if truth_path is None:
        return StageResult({"truth_available": False, "note": "no synthetic truth for this date: nothing to compare"})
    persons = pd.read_parquet(paths.persons(day))
    register = pd.read_parquet(paths.register_accepted(day))
    truth = pd.read_parquet(truth_path)
    report = recovery_report(persons, register, truth, MigrationParameters())
    atomic.write_parquet(report, paths.migration_recovery(day))
    totals = report[report["category"] == "total"].set_index("concept")
    metadata = {
        "truth_available": True,
        "persons_in_truth": int(len(truth)),
        "mh_recovered_share": round(float(totals.loc["mh_status", "recovered_share"]), 4),
        "eg_recovered_share": round(float(totals.loc["eg_status", "recovered_share"]), 4),
        "mh_missed_by_reason": {
            c.removeprefix("missed_"): int(totals.loc["mh_status", c])
            for c in report.columns if c.startswith("missed_")
        },
    }
    return StageResult(metadata, {}, [paths.migration_recovery(day)])


# --------------------------------------------------------------------------------- indicators
def read_previous_persons(paths: ProjectPaths, day: date) -> pd.DataFrame | None:
    """The previous date's persons, with the two columns the flows need (person_id, district_id)."""
    previous = previous_date(paths, day)
    return _read_if_exists(paths.persons(previous), columns=["person_id", "district_id"]) if previous else None


def build_indicator_tables(
    persons: pd.DataFrame,
    districts: gpd.GeoDataFrame,
    day: date,
    *,
    previous_persons: pd.DataFrame | None = None,
    auxiliary: pd.DataFrame | None = None,
    previous_table: pd.DataFrame | None = None,
    baseline_table: pd.DataFrame | None = None,
    neighbours: dict[str, list[str]] | None = None,
    timed: Callable = _untimed,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the long indicator table with changes, the city-level segregation table) of one date.

    Steps for ``timed`` (see :func:`build_persons`): ``match_previous`` (starts matching the previous
    date's person ids for the flows in a worker thread, :func:`quarterstats.indicators.match_previous`,
    so that it runs while the segregation and the other indicators are computed; with
    ``QUARTERSTATS_THREADS=1`` the matching itself), ``segregation`` (location quotients, LISA, city
    indices), ``indicators`` (every other family; waits for the matching), ``changes`` (both joined
    and sorted, then the changes).
    """
    from quarterstats.indicators import add_changes, compute_indicators, match_previous, sort_long
    from quarterstats.indicators.segregation import segregation_indicators

    district_frame = pd.DataFrame(
        {
            "district_id": districts["district_id"].astype("string"),
            "name": districts["name"].astype("string"),
            "area_km2": districts.geometry.area.to_numpy() / 1e6,
        }
    )
    matching = None
    if previous_persons is not None:  # (a step of its own: without the worker thread it runs here)
        matching = timed("match_previous", match_previous, persons, previous_persons)
    local, city = timed("segregation", segregation_indicators, persons, districts, neighbours=neighbours)
    table = timed("indicators", compute_indicators, persons, district_frame, day,
                  previous_persons=previous_persons, auxiliary=auxiliary, previous_match=matching)

    def changes() -> pd.DataFrame:
        return add_changes(sort_long(pd.concat([table, local], ignore_index=True)), previous_table, baseline_table)

    return timed("changes", changes), city


def indicators_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """The long indicator table of one date (all families, changes against the previous and the first
    date) and the city-level segregation table."""
    day = _date(reference_date)
    require_earlier_outputs(paths, day, [paths.persons, paths.indicators], [paths.indicators])
    persons = pd.read_parquet(paths.persons(day))
    districts = read_districts(paths)
    previous = previous_date(paths, day)
    baseline = paths.reference_dates()[0]
    auxiliary = read_auxiliary(paths, day)
    table, city = build_indicator_tables(
        persons, districts, day,
        previous_persons=read_previous_persons(paths, day),
        auxiliary=auxiliary,
        previous_table=_read_if_exists(paths.indicators(previous)) if previous else None,
        baseline_table=_read_if_exists(paths.indicators(baseline)) if baseline < day else None,
        neighbours=read_neighbours(paths, districts),
    )
    atomic.write_parquet(table, paths.indicators(day))
    atomic.write_parquet(city, paths.segregation(day))
    pop = table[table["indicator"] == "pop"].set_index("district_id")["value"]
    dissimilarity = city[city["index"] == "seg_dissimilarity"].set_index("group")["value"]
    moran = city[city["index"] == "moran_i"].set_index("group")
    metadata = {
        "rows": len(table),
        "indicators": int(table["indicator"].nunique()),
        "districts": int(table.loc[table["district_id"] != "city", "district_id"].nunique()),
        "city_population": int(pop.get("city", 0)),
        "dissimilarity_foreign_x100": round(float(dissimilarity.get("foreign", float("nan"))), 2),
        "moran_i_foreign": round(float(moran["value"].get("foreign", float("nan"))), 4),
        "moran_p_foreign": round(float(moran["p_value"].get("foreign", float("nan"))), 4),
        "previous_reference_date": previous.isoformat() if previous else None,
        "baseline_reference_date": baseline.isoformat(),
        "auxiliary_data": auxiliary is not None,
    }
    return StageResult(metadata, {}, [paths.indicators(day), paths.segregation(day)])


def time_series_stage(paths: ProjectPaths) -> StageResult:
    """All reference dates' indicator and segregation tables stacked (long, with reference_date)."""
    from quarterstats.indicators import time_series

    dates, missing = finished_dates(paths, paths.indicators)
    tables = {d: pd.read_parquet(paths.indicators(d)) for d in dates}
    if not tables:
        raise InputError("no indicator tables yet: run the reference dates first", file=paths.processed / "indicators")
    series = time_series(tables)
    series["reference_date"] = pd.to_datetime(series["reference_date"].astype(str)).dt.date
    atomic.write_parquet(series, paths.indicator_time_series)
    seg = pd.concat(
        [pd.read_parquet(paths.segregation(d)).assign(reference_date=d) for d in tables if paths.segregation(d).is_file()],
        ignore_index=True,
    )
    seg = seg[["reference_date", *[c for c in seg.columns if c != "reference_date"]]]
    atomic.write_parquet(seg, paths.segregation_time_series)
    metadata = {"reference_dates": [d.isoformat() for d in dates], "rows": len(series)}
    return _summary_result(metadata, "time_series_covers_every_reference_date", dates, missing, "indicator table",
                           [paths.indicator_time_series, paths.segregation_time_series])


def finished_dates(paths: ProjectPaths, output: Callable[[date], Path]) -> tuple[list[date], list[date]]:
    """(finished, missing): the reference dates with an extract in ``data/raw/register`` whose ``output``
    (e.g. ``paths.indicators``) exists, and those whose output is missing. The summaries over all dates
    take the finished ones; the missing ones are named (:func:`_summary_result`), since in Dagster a
    failed or not yet run partition would otherwise drop out of the time series without a word."""
    finished, missing = [], []
    for day in paths.reference_dates():
        (finished if output(day).is_file() else missing).append(day)
    return finished, missing


def _summary_result(metadata: dict, check: str, finished: list[date], missing: list[date], what: str,
                    outputs: list[Path]) -> StageResult:
    """A summary stage's result: ``metadata`` plus the missing dates, and the coverage ``check``, which
    only warns (the summary of the finished dates is usable)."""
    total = len(finished) + len(missing)
    if missing:
        listed = ", ".join(d.isoformat() for d in missing)
        verdict = (False, f"{len(missing)} of {total} reference date(s) with an extract have no {what} yet and "
                          f"are left out: {listed}; run them (quarterstats run, or their partitions in Dagster)")
    else:
        verdict = (True, f"all {total} reference date(s) with an extract are included")
    metadata = {**metadata, "missing_reference_dates": [d.isoformat() for d in missing]}
    return StageResult(metadata, {check: verdict}, outputs, warnings=frozenset({check}))


def _read_if_exists(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    return pd.read_parquet(path, columns=columns) if path.is_file() else None


# -------------------------------------------------------------------------------- publication
def publication_settings(paths: ProjectPaths) -> dict:
    """City name and source line for published artefacts (``[city]`` in quarterstats.toml, else defaults)."""
    import tomllib

    from quarterstats.publication import CONFIG_FILE, SOURCE_DE, SYNTHETIC_SOURCE_DE

    synthetic = paths.synthetic_truth.is_dir()
    settings = {"name": "Kaiserslautern (synthetisch)" if synthetic else "Stadt",
                "source": SYNTHETIC_SOURCE_DE if synthetic else SOURCE_DE}
    config = paths.workdir / CONFIG_FILE
    if config.is_file():
        with config.open("rb") as handle:
            settings.update(tomllib.load(handle).get("city", {}))
    return settings


def provenance(paths: ProjectPaths, day: date, protection_de: str, source_de: str):
    from quarterstats import __version__
    from quarterstats.catalogue import CATALOGUE_VERSION
    from quarterstats.publication import Provenance, sha256_file

    inputs = [paths.register_file(day), paths.boundary_file()]
    auxiliary = paths.auxiliary_file(day)
    if auxiliary is not None:
        inputs.append(auxiliary)
    hashes = {_relative(p, paths): sha256_file(p) for p in inputs}
    return Provenance(day, source_de, protection_de, CATALOGUE_VERSION, __version__, hashes)


def published_dates(paths: ProjectPaths) -> list[date]:
    return finished_dates(paths, paths.published)[0]


def publication_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """Protect the date's indicators and publish tables, figures and the report as reports/<date>/.

    The publication is built in ``data/processed/staging/<date>/``, checked there (the blocking checks
    ``reports_hold_no_person_level_rows``, ``published_counts_pass_disclosure`` and
    ``publication_files_complete``) and only when all pass swapped in for ``reports/<date>/``
    (:mod:`quarterstats.staging`). An error on the way, or a failing check, leaves the previous
    ``reports/<date>/`` exactly as it was; the failing checks are reported as usual.
    """
    from quarterstats.disclosure.indicators import protect_indicators, published_changes
    from quarterstats.figures import start_figures
    from quarterstats.migration import MigrationParameters, parameters_table
    from quarterstats.publication import (
        load_disclosure_config, published_table, pyramid_table, write_long_tables, write_workbook,
    )

    day = _date(reference_date)
    require_earlier_outputs(paths, day, [paths.published], [paths.published])
    config = load_disclosure_config(paths.workdir)
    settings = publication_settings(paths)
    table = pd.read_parquet(paths.indicators(day))
    persons = pd.read_parquet(paths.persons(day))
    districts = read_districts(paths)
    names = dict(zip(districts["district_id"].astype(str), districts["name"].astype(str)))
    protection = protect_indicators(table, config, persons=persons if config.method == "cell_key" else None)
    previous = previous_date(paths, day)
    baseline = paths.reference_dates()[0]
    protected = published_changes(
        protection.published,
        _read_if_exists(paths.published(previous)) if previous else None,
        _read_if_exists(paths.published(baseline)) if baseline < day else None,
    )
    published = published_table(protected, names, day)
    order = list(dict.fromkeys(published["district_id"]))
    pyramid = pyramid_table(persons, order, config)
    report_dir = paths.report_dir(day)
    prov = provenance(paths, day, config.describe_de(), settings["source"])
    earlier = [pd.read_parquet(paths.published(d)) for d in published_dates(paths) if d < day]
    series = pd.concat([*earlier, published], ignore_index=True)
    segregation = pd.concat(
        [pd.read_parquet(paths.segregation(d)).assign(reference_date=d)
         for d in paths.reference_dates() if d <= day and paths.segregation(d).is_file()],
        ignore_index=True,
    )
    meta = {
        "reference_date": day, "city_name": settings["name"], "source": settings["source"],
        "protection_de": config.describe_de(), "catalogue_version": prov.catalogue_version,
        "code_version": prov.code_version, "input_hashes": dict(prov.input_hashes),
        "migration_parameters": parameters_table(MigrationParameters()),
        "indicator_parameters": _indicator_parameters_table(),
        "generated_from": f"quarterstats {prov.code_version}, Katalog {prov.catalogue_version}",
        "previous_reference_date": previous,
        "baseline_reference_date": baseline if baseline < day else None,
    }
    # Everything is built in a staging folder and checked there; only a publication that passes every
    # blocking check replaces reports/<date>/ (quarterstats.staging). Worker processes (if any) start
    # drawing the figures while the tables are written.
    staged = staging.fresh_folder(paths.staging_dir(day), report_dir)
    try:
        with start_figures(published, series, segregation, pyramid, districts, meta) as drawing:
            outputs = write_long_tables(published, staged)
            outputs += write_long_tables(pyramid, staged, stem="alterspyramide")
            outputs.append(write_workbook(published, staged / "tabellen.xlsx", prov))
            figures = drawing.finish(staged)
        outputs += [staged / f.png for f in figures] + [staged / f.svg for f in figures]
        outputs.append(_render_report(published, segregation, figures, meta, staged))
        checks = _publication_checks(staged, outputs, persons, protection, published, config)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)  # nothing of a failed build stays behind
        raise
    swapped = all(passed for passed, _ in checks.values())
    if swapped:
        try:
            staging.replace_folder(staged, report_dir)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        outputs = [report_dir / p.relative_to(staged) for p in outputs]
    metadata = {
        "report_dir": _relative(report_dir if swapped else staged, paths),
        "published": swapped,
        "protection": config.method,
        "suppressed_cells": int((published["flag"] == "*").sum()),
        "published_cells": int(published["value"].notna().sum()),
        "figures": len(figures),
    }
    if not swapped:
        metadata["note"] = (f"a blocking check failed: {_relative(report_dir, paths)} was left as it was; the "
                            f"build that failed stays in {_relative(staged, paths)} until the next run")
    return StageResult(metadata, checks, outputs)


#: Files every publication of a date holds (besides the figures, which depend on the data).
PUBLICATION_FILES = ("indikatoren.csv", "indikatoren.parquet", "alterspyramide.csv", "alterspyramide.parquet",
                     "tabellen.xlsx", "bericht.html")


def _publication_checks(staged: Path, outputs: list[Path], persons: pd.DataFrame, protection, published,
                        config) -> dict[str, tuple[bool, str]]:
    """The blocking checks of a staged publication: no person-level content, disclosure, exactly the
    expected files."""
    from quarterstats.disclosure.indicators import audit
    from quarterstats.publication import person_level_findings

    leaks = person_level_findings(staged, persons["person_id"], persons["household_id"].dropna())
    recoverable = audit(protection.counts, protection.count_mask, config) if config.method == "suppression" else []
    kinds = published["kind"]
    counts = published.loc[kinds == "count", "value"].dropna()
    small = counts[(counts >= 1) & (counts < config.min_count)]
    complete, files = staging.staged_files_check(staged, outputs)
    missing = [name for name in PUBLICATION_FILES if staged / name not in outputs]
    if missing:
        complete, files = False, f"not written: {', '.join(missing)}; {files}"
    return {
        "reports_hold_no_person_level_rows": (
            not leaks, "; ".join(leaks[:3]) or f"{len(outputs)} files checked: no person-level column, no pseudonym",
        ),
        "published_counts_pass_disclosure": (
            not recoverable and (small.empty or config.method == "cell_key"),
            f"{int(protection.count_mask.to_numpy().sum())} count cells suppressed; "
            f"{len(recoverable)} recoverable, {len(small)} small counts published",
        ),
        "publication_files_complete": (complete, files),
    }


def _indicator_parameters_table() -> pd.DataFrame:
    from dataclasses import fields

    from quarterstats.catalogue import IndicatorParameters

    params = IndicatorParameters()
    return pd.DataFrame([(f.name, str(getattr(params, f.name))) for f in fields(params)], columns=["name", "value"])


def _render_report(published, segregation, figures, meta, report_dir) -> Path:
    from quarterstats.report import render_report

    return render_report(published, segregation, figures, meta, report_dir)


def publication_index_stage(paths: ProjectPaths) -> StageResult:
    """Time-series tables and workbook over all published dates, and reports/index.html.

    The four files are built in ``data/processed/staging/index/`` and then moved into ``reports/`` as a
    set, the index page last (:func:`quarterstats.staging.publish_files`); an error while building them
    leaves the previous set as it was, and a run killed while moving them is completed by the next run.
    """
    from quarterstats.catalogue import CATALOGUE
    from quarterstats.publication import load_disclosure_config, write_long_tables, write_time_series_workbook
    from quarterstats.report import INDEX_FILE, render_index

    staging.recover_files(paths.staging_index, paths.reports)
    dates, missing = finished_dates(paths, paths.published)
    if not dates:
        raise InputError("nothing published yet: run the reference dates first", file=paths.reports)
    series = pd.concat([pd.read_parquet(paths.published(d)) for d in dates], ignore_index=True)
    settings = publication_settings(paths)
    last = dates[-1]
    prov = provenance(paths, last, load_disclosure_config(paths.workdir).describe_de(), settings["source"])
    key_indicators = [i for i in TIME_SERIES_INDICATORS if i in CATALOGUE]
    entries = []
    for d in dates:
        folder = paths.report_dir(d)
        files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix in (".csv", ".parquet", ".xlsx"))
        entries.append({"reference_date": d, "report": f"{d.isoformat()}/bericht.html",
                        "files": [f"{d.isoformat()}/{name}" for name in files]})
    entries.append({"reference_date": None, "report": None,
                    "files": ["zeitreihe.xlsx", "zeitreihe.csv", "zeitreihe.parquet"]})
    staged = paths.staging_index
    staged.mkdir(parents=True)
    try:
        outputs = write_long_tables(series, staged, stem="zeitreihe")
        outputs.append(write_time_series_workbook(series, staged / "zeitreihe.xlsx", prov, key_indicators))
        outputs.append(render_index(staged, entries, city_name=settings["name"], missing_dates=missing))
        names = [p.name for p in outputs if p.name != INDEX_FILE] + [INDEX_FILE]  # the page that links last
        staging.publish_files(staged, paths.reports, names)
    except BaseException:
        if not (staged / staging.JOURNAL).is_file():  # not yet complete: the previous set stays
            shutil.rmtree(staged, ignore_errors=True)
        raise
    outputs = [paths.reports / name for name in names]
    return _summary_result({"reference_dates": [d.isoformat() for d in dates]}, "index_covers_every_reference_date",
                           dates, missing, "published report", outputs)


#: Indicators of the planners' time-series workbook (one sheet each).
TIME_SERIES_INDICATORS = (
    "pop", "foreign_share", "with_mh_share", "with_mh_minors_share", "german_with_mh_share", "minors_share",
    "age_65_79_share", "age_80plus_share", "youth_ratio", "old_age_ratio", "households",
    "single_person_households_share", "households_with_minors_share", "residence_5y", "turnover",
    "net_migration",
)


def previous_date(paths: ProjectPaths, day: date) -> date | None:
    earlier = [d for d in paths.reference_dates() if d < day]
    return earlier[-1] if earlier else None


def require_earlier_outputs(paths: ProjectPaths, day: date, previous: list, baseline: list) -> None:
    """Refuse to compute ``day`` while the previous or the first reference date (those with an extract)
    lacks the outputs ``day`` reads (``previous`` / ``baseline``: path functions such as
    ``paths.indicators``); otherwise flows and changes would silently depend on the order of runs."""
    dates = paths.reference_dates()
    earlier = previous_date(paths, day)
    needed = [(earlier, f) for f in previous] if earlier else []
    needed += [(dates[0], f) for f in baseline] if dates and dates[0] < day else []
    missing = [(d, f(d)) for d, f in needed if not f(d).is_file()]
    if missing:
        first = min(d for d, _ in missing).isoformat()
        raise InputError(
            f"reference date {day.isoformat()} needs outputs of the earlier reference date {first}, which are "
            f"missing ({', '.join(dict.fromkeys(_relative(p, paths) for _, p in missing))}): materialise "
            f"{first} first (`quarterstats run` does; in Dagster, run the earlier partition before this one)"
        )


def read_auxiliary(paths: ProjectPaths, day: date) -> pd.DataFrame | None:
    path = paths.auxiliary_file(day)
    if path is None:
        return None
    frame = pd.read_csv(path, sep=None, engine="python", dtype={"district_id": str})
    frame["district_id"] = frame["district_id"].astype("string")
    return frame


def _relative(path: Path, paths: ProjectPaths) -> str:
    try:
        return str(Path(path).resolve().relative_to(paths.workdir))
    except ValueError:
        return str(path)
