"""The pipeline's stages: one function per Dagster asset, each reading its inputs from files and writing
its own outputs atomically, returning the metadata the run shows.

This is the only layer that knows file locations (through :class:`~quarterstats.paths.ProjectPaths`);
the modules it calls (ingest, boundaries, spatial, migration, indicators, ...) work on data frames.
Dagster wiring lives in ``pipelines/``; these functions run without it too (tests, notebooks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from quarterstats import atomic, contract
from quarterstats.boundaries import load_boundaries
from quarterstats.errors import InputError
from quarterstats.ingest import ingest_register
from quarterstats.paths import ProjectPaths
from quarterstats.spatial import join_persons


@dataclass
class StageResult:
    """Metadata of one stage run, plus named checks (name -> (passed, description))."""

    metadata: dict
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)


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
def boundaries_stage(paths: ProjectPaths) -> StageResult:
    """Read, reproject to EPSG:25832 and validate the district boundaries."""
    source = paths.boundary_file()
    districts, report = load_boundaries(source)
    districts = districts.sort_values("district_id", key=district_sort_key, kind="stable").reset_index(drop=True)
    target = paths.boundaries
    with atomic.atomic_path(target) as tmp:
        districts.to_parquet(tmp, index=False)
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
    return StageResult(metadata, checks, [target])


def read_districts(paths: ProjectPaths) -> gpd.GeoDataFrame:
    if not paths.boundaries.is_file():
        raise InputError("district boundaries have not been prepared yet (run the boundaries step first)",
                         file=paths.boundaries)
    return gpd.read_parquet(paths.boundaries)


def district_sort_key(ids: pd.Series) -> pd.Series:
    """Natural order: numeric ids by number ("2" before "10"), then the rest alphabetically."""
    text = ids.astype("string").fillna("")
    numeric = pd.to_numeric(text, errors="coerce")
    key = pd.Series(("1" + text).to_numpy(dtype=object), index=ids.index, dtype=object)
    is_number = numeric.notna().to_numpy()
    key[is_number] = [f"0{v:030.9f}" for v in numeric[is_number]]  # loops over districts only
    return key


# ------------------------------------------------------------------------------------ persons
def persons_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """Join accepted persons to districts and derive migration background; write the persons table."""
    from quarterstats.migration import MigrationParameters, derive_migration

    day = _date(reference_date)
    accepted = pd.read_parquet(paths.register_accepted(day))
    districts = read_districts(paths)
    joined, outside, ambiguous = join_persons(accepted, districts)
    derived = derive_migration(joined, day, MigrationParameters())
    persons = pd.concat([joined, derived], axis=1)
    persons = persons.sort_values("person_id", kind="stable").reset_index(drop=True)
    atomic.write_parquet(persons, paths.persons(day))
    outside_table = outside.assign(rule="location.outside_districts",
                                   message="address coordinates lie in no district")
    atomic.write_parquet(outside_table, paths.quarantine_location(day))
    ingest_report = json.loads(paths.ingest_report(day).read_text(encoding="utf-8"))
    input_rows = ingest_report["input_rows"]
    quarantined = ingest_report["quarantined_rows"]
    accounted = input_rows == len(persons) + len(outside) + quarantined
    status_counts = persons["mh_status"].value_counts().sort_index()
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
def indicators_stage(paths: ProjectPaths, reference_date: date | str) -> StageResult:
    """The long indicator table of one date (all families, changes against the previous and the first
    date) and the city-level segregation table."""
    from quarterstats.indicators import add_changes, compute_indicators, sort_long
    from quarterstats.indicators.segregation import segregation_indicators

    day = _date(reference_date)
    persons = pd.read_parquet(paths.persons(day))
    districts = read_districts(paths)
    district_frame = pd.DataFrame(
        {
            "district_id": districts["district_id"].astype("string"),
            "name": districts["name"].astype("string"),
            "area_km2": districts.geometry.area.to_numpy() / 1e6,
        }
    )
    previous = previous_date(paths, day)
    previous_persons = _read_if_exists(paths.persons(previous)) if previous else None
    auxiliary = read_auxiliary(paths, day)
    table = compute_indicators(
        persons, district_frame, day, previous_persons=previous_persons, auxiliary=auxiliary
    )
    local, city = segregation_indicators(persons, districts)
    table = sort_long(pd.concat([table, local], ignore_index=True))
    baseline = paths.reference_dates()[0]
    table = add_changes(
        table,
        _read_if_exists(paths.indicators(previous)) if previous else None,
        _read_if_exists(paths.indicators(baseline)) if baseline < day else None,
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

    tables = {d: pd.read_parquet(paths.indicators(d)) for d in paths.reference_dates() if paths.indicators(d).is_file()}
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
    metadata = {"reference_dates": [d.isoformat() for d in sorted(tables)], "rows": len(series)}
    return StageResult(metadata, {}, [paths.indicator_time_series, paths.segregation_time_series])


def _read_if_exists(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def previous_date(paths: ProjectPaths, day: date) -> date | None:
    earlier = [d for d in paths.reference_dates() if d < day]
    return earlier[-1] if earlier else None


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
