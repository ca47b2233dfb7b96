"""The pipeline's stages: one function per Dagster asset, each reading its inputs from files and writing
its own outputs atomically, returning the metadata the run shows.

This is the only layer that knows file locations (through :class:`~quarterstats.paths.ProjectPaths`);
the modules it calls (ingest, boundaries, spatial, migration, indicators, ...) work on data frames.
Every stage takes its parameters from the project's one :class:`~quarterstats.settings.Settings`
(``quarterstats.toml``, read by :func:`~quarterstats.settings.load_settings` where the caller passes
none) and records, per reference date, the hash of the settings its outputs were made with
(:func:`settings_record`), so that outputs made with other settings are never silently reused.
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
import numpy as np
import pandas as pd

from quarterstats import atomic, contract, staging
from quarterstats.boundaries import BoundaryParameters, load_boundaries
from quarterstats.disclosure.config import LEGAL_FLOOR
from quarterstats.errors import InputError
from quarterstats.ingest import ingest_register
from quarterstats.memory import use_system_memory_pool
from quarterstats.paths import ProjectPaths, version_key
from quarterstats.pseudonyms import PREVIOUS_COLUMNS, describe, identity_changes
from quarterstats.settings import Settings, load_settings
from quarterstats.spatial import Location, assign_districts, check_outside_share, locate_persons

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
    #: what Dagster records as the asset's data version (None: Dagster's default)
    data_version: str | None = None


def _date(reference_date: date | str) -> date:
    return reference_date if isinstance(reference_date, date) else date.fromisoformat(str(reference_date))


# ----------------------------------------------------------------------------------- settings
#: The per-date stages whose outputs depend on the settings, in the order they run.
SETTINGS_STAGES = ("persons", "indicators", "publication")


def _settings(paths: ProjectPaths, settings: Settings | None) -> Settings:
    return settings if settings is not None else load_settings(paths.workdir)


def settings_record(paths: ProjectPaths, day: date) -> dict[str, str]:
    """Stage → hash of the settings the stage's outputs of ``day`` were made with (empty: none recorded,
    e.g. outputs of a version without the record: they count as made with other settings)."""
    path = paths.settings_record(day)
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return {}
    return {stage: record[stage] for stage in SETTINGS_STAGES if isinstance(record.get(stage), str)}


def made_with(paths: ProjectPaths, day: date, stage: str, settings: Settings) -> bool:
    """Whether the outputs of ``stage`` for ``day`` were made with ``settings`` (and so were the earlier
    stages' outputs they were made from)."""
    return settings_record(paths, day).get(stage) == settings.sha256()


def _record_settings(paths: ProjectPaths, day: date, stage: str, settings: Settings) -> None:
    """Record that ``stage``'s outputs of ``day`` are made with ``settings``; the later stages' entries
    are dropped (their outputs were made from the outputs just replaced)."""
    position = SETTINGS_STAGES.index(stage)
    record = {s: h for s, h in settings_record(paths, day).items() if SETTINGS_STAGES.index(s) < position}
    record[stage] = settings.sha256()
    atomic.write_json({**record, "settings": settings.as_dict()}, paths.settings_record(day))


def _require_made_with(paths: ProjectPaths, day: date, stage: str, settings: Settings, needed_by: str) -> None:
    if not made_with(paths, day, stage, settings):
        raise InputError(
            f"the {stage} outputs of {day.isoformat()} were made with other settings than the present "
            f"{paths.settings_file.name} (settings SHA-256 {settings.sha256()[:12]}…), so {needed_by} would mix "
            f"parameters: run {day.isoformat()} again from its {stage} step (`quarterstats run` does)",
            file=paths.settings_record(day), rule="settings.changed",
        )


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
        "deliveries_not_used": delivery_lines(paths),
    }
    return StageResult(metadata, checks, [paths.register_accepted(day), paths.quarantine(day)])


def delivery_lines(paths: ProjectPaths) -> list[str]:
    """Entries of ``data/raw/register`` and ``data/raw/auxiliary`` the run does not use, and symbolic
    links it follows, one line each with the reason (paths relative to the working directory)."""
    return paths.register_inventory().lines() + paths.auxiliary_inventory().lines()


# --------------------------------------------------------------------------------- boundaries
def prepare_districts(
    source: Path, parameters: BoundaryParameters | None = None
) -> tuple[gpd.GeoDataFrame, object, dict[str, list[str]]]:
    """(districts in natural id order, validation report, queen contiguity) of a boundary file: what
    every reference date uses, computed once per run."""
    from quarterstats.autocorrelation import queen_neighbours

    districts, report = _sorted_districts(source, parameters)
    return districts, report, queen_neighbours(districts, "district_id")


def _sorted_districts(source: Path, parameters: BoundaryParameters | None) -> tuple[gpd.GeoDataFrame, object]:
    from quarterstats.indicators import natural_key

    districts, report = load_boundaries(source, parameters=parameters)
    ids = districts["district_id"].astype(str).tolist()
    districts = districts.iloc[sorted(range(len(ids)), key=lambda i: natural_key(ids[i]))].reset_index(drop=True)
    return districts, report


def series_version(paths: ProjectPaths, parameters: BoundaryParameters) -> date | None:
    """Valid-from date of the boundary version every reference date is evaluated on (the series
    geography): the newest version, or the one ``series_geography`` names; None in the one-file layout."""
    versions = paths.boundary_versions()
    if None in versions:
        return None
    if parameters.series_geography == "latest":
        return max(versions)
    wanted = date.fromisoformat(parameters.series_geography)
    if wanted not in versions:
        raise InputError(
            f"[boundaries] series_geography = {parameters.series_geography!r} names no boundary version "
            f"(versions: {', '.join(v.isoformat() for v in sorted(versions))})",
            file=paths.settings_file, column="series_geography", rule="boundaries.parameters",
        )
    return wanted


def boundaries_stage(paths: ProjectPaths, settings: Settings | None = None) -> StageResult:
    """Read, reproject to EPSG:25832, validate and repair every boundary version; the series geography's
    districts and queen contiguity for the persons, indicators and publication of every date."""
    from quarterstats.publication import sha256_file

    parameters = _settings(paths, settings).boundaries
    versions = paths.boundary_versions()
    series = series_version(paths, parameters)
    prepared = {v: _sorted_districts(source, parameters) for v, source in sorted(versions.items(), key=_version_order)}
    districts, report = prepared[series]
    from quarterstats.autocorrelation import queen_neighbours

    neighbours = queen_neighbours(districts, "district_id")
    for valid_from, (version_districts, _) in prepared.items():
        with atomic.atomic_path(paths.boundary_version_districts(valid_from)) as tmp:
            version_districts.to_parquet(tmp, index=False)
    target = paths.boundaries
    with atomic.atomic_path(target) as tmp:
        districts.to_parquet(tmp, index=False)
    pairs = [(district, n) for district, listed in neighbours.items() for n in listed]
    atomic.write_parquet(pd.DataFrame(pairs, columns=["district_id", "neighbour_id"], dtype="str"),
                         paths.district_neighbours)
    version_entries = {}
    for valid_from, (_, version_report) in prepared.items():
        entry = version_report.as_dict()
        entry["file"] = _delivered_name(versions[valid_from], paths)
        entry["sha256"] = sha256_file(versions[valid_from])
        entry["valid_from"] = valid_from.isoformat() if valid_from else None
        version_entries[version_key(valid_from)] = entry
    payload = {**version_entries[version_key(series)], "series_geography": version_key(series),
               "versions": version_entries}
    atomic.write_json(payload, paths.boundaries_report)
    checks = {
        "boundaries_valid": (
            all(r.ok for _, r in prepared.values()),
            "; ".join(f"{version_key(v)}: {_describe_repairs(r)}" for v, (_, r) in prepared.items()),
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
        "repairs": report.summary(),
        "boundary_versions": [version_key(v) for v in prepared],
        "series_geography": version_key(series),
    }
    outputs = [target, paths.district_neighbours, *(paths.boundary_version_districts(v) for v in prepared)]
    # Dagster's data version: a new or changed boundary version (or another series geography) changes it,
    # so every date's persons and what depends on them become stale
    data_version = _combined_hash({key: entry["sha256"] for key, entry in version_entries.items()},
                                  version_key(series), parameters)
    return StageResult(metadata, checks, outputs, data_version=data_version)


def _version_order(item) -> tuple:
    valid_from = item[0]
    return (valid_from is not None, valid_from or date.min)


def _combined_hash(hashes: dict[str, str], series: str, parameters: BoundaryParameters) -> str:
    import hashlib

    text = json.dumps({"files": hashes, "series": series, "parameters": parameters.as_table()}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _describe_repairs(report) -> str:
    if not report.ok:
        return "; ".join(report.problems)
    summary = report.summary()
    text = (
        f"{report.districts} districts, {report.total_area_km2:.2f} km²; overlaps {report.overlap_total_m2:,.2f} m² "
        f"and gaps {report.gap_total_m2:,.2f} m² as delivered (tolerance {report.overlap_tolerance_m2:,.1f} / "
        f"{report.gap_tolerance_m2:,.1f} m²); repaired: {summary['overlaps_repaired']} overlap(s), "
        f"{summary['slivers_repaired']} sliver(s); {summary['gaps_left']} wider gap(s) left "
        f"({summary['gap_left_m2']:,.1f} m²)"
    )
    if report.repaired_invalid:
        text += f"; repaired invalid geometry of {', '.join(report.repaired_invalid)}"
    return text


def boundary_geography(paths: ProjectPaths, day: date) -> dict:
    """The boundary versions of a date: ``in_force`` (valid at the date) and ``series`` (the series
    geography the date is evaluated on), each with its file; refuses districts prepared from other files
    than those now in ``data/raw/boundaries`` (the boundaries step must run first)."""
    in_force = paths.boundary_version(day)
    if not paths.boundaries_report.is_file():
        raise InputError("district boundaries have not been prepared yet (run the boundaries step first)",
                         file=paths.boundaries)
    prepared = json.loads(paths.boundaries_report.read_text(encoding="utf-8"))
    delivered = {version_key(v): _delivered_name(f, paths) for v, f in paths.boundary_versions().items()}
    known = {key: entry.get("file") for key, entry in prepared.get("versions", {}).items()}
    if delivered != known:
        raise InputError(
            f"the boundary versions in data/raw/boundaries ({', '.join(delivered)}) are not those prepared "
            f"({', '.join(known) or 'none'}): run the boundaries step first (quarterstats run does)",
            file=paths.raw_boundaries, rule="boundaries.versions",
        )
    series = prepared["series_geography"]
    return {
        "in_force": version_key(in_force), "in_force_file": delivered[version_key(in_force)],
        "series": series, "series_file": delivered[series],
        "series_sha256": prepared["versions"][series]["sha256"],
    }


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
    nearest_distance_m: float = 0.0,
    params=None,
) -> tuple[pd.DataFrame, Location]:
    """The persons table of one date from its accepted register rows, and where they were located
    (:class:`~quarterstats.spatial.Location`: outside, ambiguous, given the nearest district).

    District join (:func:`~quarterstats.spatial.locate_persons`: a person in a gap between districts, or
    up to ``nearest_distance_m`` outside the city's edge, goes to the nearest district), then migration
    background. ``check_outside`` gets the number of persons outside every district before the
    derivation (it may raise). ``timed(name, function, *args)`` runs each step (``join``, ``migration``,
    ``assemble``); ``scripts/benchmark.py`` passes a timer, so the benchmark measures exactly this code.
    Row order stays the extract's own (deterministic); sorting 20+ columns by person_id cost seconds.
    ``params``: the :class:`~quarterstats.migration.MigrationParameters` (default: the defaults).
    """
    from quarterstats.migration import MigrationParameters, derive_migration

    location = timed("join", locate_persons, accepted, districts, nearest_distance_m=nearest_distance_m)
    check_outside(len(location.outside))
    derived = timed("migration", derive_migration, location.joined, day, params or MigrationParameters())
    persons = timed("assemble", lambda: pd.concat([location.joined, derived], axis=1))
    return persons, location


def persons_stage(paths: ProjectPaths, reference_date: date | str, settings: Settings | None = None) -> StageResult:
    """Join accepted persons to the districts of the series geography and derive migration background;
    write the persons table (with ``district_id_in_force``: the district of the boundary version valid at
    the date), the persons set aside and those given the nearest district."""
    day = _date(reference_date)
    settings = _settings(paths, settings)
    parameters = settings.boundaries
    geography = boundary_geography(paths, day)
    accepted = pd.read_parquet(paths.register_accepted(day))
    districts = read_districts(paths)
    persons, location = build_persons(
        accepted, districts, day,
        check_outside=lambda n_outside: check_outside_share(
            n_outside, len(accepted), file=paths.register_file(day), boundaries_file=paths.boundary_file(day)),
        nearest_distance_m=parameters.nearest_distance_m,
        params=settings.migration,
    )
    outside, ambiguous, nearest = location.outside, location.ambiguous, location.nearest
    persons = persons.assign(district_id_in_force=_district_in_force(paths, persons, geography))
    atomic.write_parquet(persons, paths.persons(day))
    _record_settings(paths, day, "persons", settings)
    outside_table = outside.assign(rule="location.outside_districts",
                                   message="address coordinates lie in no district")
    atomic.write_parquet(outside_table, paths.quarantine_location(day))
    nearest_table = nearest.assign(rule="location.nearest_district", message=np.where(
        nearest["in_gap"], "address in a gap between districts: nearest district",
        "address just outside the city's edge: nearest district"))
    atomic.write_parquet(nearest_table, paths.location_report(day))
    atomic.write_json(geography, paths.geography(day))
    ingest_report = json.loads(paths.ingest_report(day).read_text(encoding="utf-8"))
    input_rows = ingest_report["input_rows"]
    quarantined = ingest_report["quarantined_rows"]
    accounted = input_rows == len(persons) + len(outside) + quarantined
    status_counts = persons["mh_status"].value_counts()
    status_counts = status_counts[status_counts > 0].rename(index=str).sort_index()  # no empty categories
    metadata = {
        "persons": len(persons),
        "outside_districts": len(outside),
        "nearest_district": len(nearest),
        "nearest_district_max_m": round(float(nearest["distance_m"].max()), 2) if len(nearest) else None,
        "ambiguous_points": ambiguous,
        "districts_with_persons": int(persons["district_id"].nunique()),
        "mh_status_counts": {str(k): int(v) for k, v in status_counts.items()},
        "share_with_mh": round(float(persons["has_mh"].mean()), 4) if len(persons) else None,
        "settings_sha256": settings.sha256(),
        "boundary_version": geography["in_force"],
        "series_geography": geography["series"],
    }
    checks = {
        "persons_all_accounted": (
            accounted,
            f"input {input_rows} = in districts {len(persons)} (of which {len(nearest)} by nearest district, "
            f"location.nearest_district) + outside {len(outside)} + quarantined {quarantined}",
        )
    }
    return StageResult(metadata, checks, [paths.persons(day), paths.quarantine_location(day),
                                          paths.location_report(day), paths.geography(day)])


def _district_in_force(paths: ProjectPaths, persons: pd.DataFrame, geography: dict) -> pd.Categorical:
    """Each person's district in the boundary version valid at the date (a Categorical; missing where the
    address lies in none of its districts). The series geography's own ids when it is that version."""
    if geography["in_force"] == geography["series"]:
        return persons["district_id"].array
    in_force = gpd.read_parquet(paths.boundary_version_districts(_valid_from(geography["in_force"])))
    assignment = assign_districts(persons["x"].to_numpy(), persons["y"].to_numpy(), in_force)
    ids = pd.Index([str(i) for i in in_force["district_id"]], dtype="str")
    return pd.Categorical.from_codes(assignment.district_index, categories=ids, validate=False)


def _valid_from(key: str) -> date | None:
    return None if key == "all" else date.fromisoformat(key)


def migration_recovery_stage(paths: ProjectPaths, reference_date: date | str,
                             settings: Settings | None = None) -> StageResult:
    """Recovered vs. missed persons per true category (the register undercount), where truth exists.

    Only the synthetic default has a truth (``data/raw/synthetic_truth``); for a real city the stage
    writes nothing and says so.
    """
    from quarterstats.migration import recovery_report

    day = _date(reference_date)
    settings = _settings(paths, settings)
    truth_path = paths.truth_file(day)
    if truth_path is None:
        return StageResult({"truth_available": False, "note": "no synthetic truth for this date: nothing to compare"})
    persons = pd.read_parquet(paths.persons(day))
    register = pd.read_parquet(paths.register_accepted(day))
    truth = pd.read_parquet(truth_path)
    report = recovery_report(persons, register, truth, settings.migration)
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
    params=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the long indicator table with changes, the city-level segregation table) of one date.

    Steps for ``timed`` (see :func:`build_persons`): ``match_previous`` (starts matching the previous
    date's person ids for the flows in a worker thread, :func:`quarterstats.indicators.match_previous`,
    so that it runs while the segregation and the other indicators are computed; with
    ``QUARTERSTATS_THREADS=1`` the matching itself), ``segregation`` (location quotients, LISA, city
    indices), ``indicators`` (every other family; waits for the matching), ``changes`` (both joined
    and sorted, then the changes). ``params``: the :class:`~quarterstats.catalogue.IndicatorParameters`
    (default: the defaults); the catalogue they give orders the table.
    """
    from quarterstats.catalogue import IndicatorParameters, build_catalogue
    from quarterstats.indicators import add_changes, compute_indicators, match_previous, sort_long
    from quarterstats.indicators.segregation import segregation_indicators

    params = params or IndicatorParameters()
    catalogue = build_catalogue(params)

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
                  previous_persons=previous_persons, auxiliary=auxiliary, previous_match=matching, params=params)

    def changes() -> pd.DataFrame:
        return add_changes(sort_long(pd.concat([table, local], ignore_index=True), catalogue), previous_table,
                           baseline_table, catalogue=catalogue)

    return timed("changes", changes), city


def indicators_stage(paths: ProjectPaths, reference_date: date | str, settings: Settings | None = None) -> StageResult:
    """The long indicator table of one date (all families, changes against the previous and the first
    date) and the city-level segregation table."""
    day = _date(reference_date)
    settings = _settings(paths, settings)
    require_earlier_outputs(paths, day, [paths.persons, paths.indicators], [paths.indicators],
                            settings=settings, stage="indicators")
    _require_made_with(paths, day, "persons", settings, f"the indicators of {day.isoformat()}")
    require_same_geography(paths, day)
    persons = pd.read_parquet(paths.persons(day))
    districts = read_districts(paths)
    previous = previous_date(paths, day)
    baseline = paths.reference_dates()[0]
    auxiliary, auxiliary_info = load_auxiliary(paths, day, persons)
    identity = None
    if previous is not None and paths.persons(previous).is_file():
        identity = identity_changes(persons, pd.read_parquet(paths.persons(previous), columns=list(PREVIOUS_COLUMNS)),
                                    day, previous)
    table, city = build_indicator_tables(
        persons, districts, day,
        previous_persons=read_previous_persons(paths, day),
        auxiliary=auxiliary,
        previous_table=_read_if_exists(paths.indicators(previous)) if previous else None,
        baseline_table=_read_if_exists(paths.indicators(baseline)) if baseline < day else None,
        neighbours=read_neighbours(paths, districts),
        params=settings.indicators,
    )
    atomic.write_parquet(table, paths.indicators(day))
    atomic.write_parquet(city, paths.segregation(day))
    _record_settings(paths, day, "indicators", settings)
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
        "settings_sha256": settings.sha256(),
        **auxiliary_info,
    }
    if identity is not None:
        metadata["pseudonym_changes"] = identity
        changed = identity["person_id.birth_year"] + identity["person_id.sex"]
        identity_check = (changed == 0, describe(identity, previous))
    else:
        identity_check = (True, "no previous reference date to compare pseudonyms with")
    removed = auxiliary_info.get("auxiliary_values_removed") or {}
    quarantined = auxiliary_info.get("auxiliary_quarantined") or 0
    if removed or quarantined:
        auxiliary_check = (False, f"auxiliary figures: {quarantined} row(s) quarantined"
                           + (f" ({', '.join(f'{r} ×{n}' for r, n in auxiliary_info['auxiliary_rule_counts'].items())})"
                              if quarantined else "")
                           + "; counts above the district's residents removed: "
                           + (", ".join(f"{rule} ×{n}" for rule, n in removed.items()) or "none"))
    else:
        auxiliary_check = (True, "auxiliary figures within the contract" if auxiliary is not None
                           else "no auxiliary figures for this date")
    checks = {"pseudonyms_keep_birth_year_and_sex": identity_check,
              "auxiliary_figures_within_contract": auxiliary_check}
    return StageResult(metadata, checks, [paths.indicators(day), paths.segregation(day)],
                       warnings=frozenset(checks))


def time_series_stage(paths: ProjectPaths, settings: Settings | None = None) -> StageResult:
    """All reference dates' indicator and segregation tables stacked (long, with reference_date)."""
    from quarterstats.catalogue import build_catalogue
    from quarterstats.indicators import time_series

    settings = _settings(paths, settings)
    dates, missing = finished_dates(paths, paths.indicators)
    tables = {d: pd.read_parquet(paths.indicators(d)) for d in dates}
    if not tables:
        raise InputError("no indicator tables yet: run the reference dates first", file=paths.processed / "indicators")
    series = time_series(tables, catalogue=build_catalogue(settings.indicators))
    series["reference_date"] = pd.to_datetime(series["reference_date"].astype(str)).dt.date
    atomic.write_parquet(series, paths.indicator_time_series)
    seg = pd.concat(
        [pd.read_parquet(paths.segregation(d)).assign(reference_date=d) for d in tables if paths.segregation(d).is_file()],
        ignore_index=True,
    )
    seg = seg[["reference_date", *[c for c in seg.columns if c != "reference_date"]]]
    atomic.write_parquet(seg, paths.segregation_time_series)
    metadata = {"reference_dates": [d.isoformat() for d in dates], "rows": len(series),
                "settings_sha256": settings.sha256()}
    other = [d for d in dates if not made_with(paths, d, "indicators", settings)]
    return _summary_result(metadata, "time_series_covers_every_reference_date", dates, missing, "indicator table",
                           [paths.indicator_time_series, paths.segregation_time_series], other_settings=other)


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
                    outputs: list[Path], other_settings: list[date] = ()) -> StageResult:
    """A summary stage's result: ``metadata`` plus the missing dates, and the coverage ``check``, which
    only warns (the summary of the finished dates is usable); it also fails for dates whose ``what``
    was made with other settings than the present ones (``other_settings``)."""
    total = len(finished) + len(missing)
    problems = []
    if missing:
        listed = ", ".join(d.isoformat() for d in missing)
        problems.append(f"{len(missing)} of {total} reference date(s) with an extract have no {what} yet and "
                        f"are left out: {listed}; run them (quarterstats run, or their partitions in Dagster)")
    if other_settings:
        listed = ", ".join(d.isoformat() for d in other_settings)
        problems.append(f"the {what} of {len(other_settings)} reference date(s) was made with other settings than "
                        f"the present quarterstats.toml: {listed}; run them again (quarterstats run does)")
    if problems:
        verdict = (False, "; ".join(problems))
    else:
        verdict = (True, f"all {total} reference date(s) with an extract are included")
    metadata = {**metadata, "missing_reference_dates": [d.isoformat() for d in missing],
                "other_settings_reference_dates": [d.isoformat() for d in other_settings]}
    return StageResult(metadata, {check: verdict}, outputs, warnings=frozenset({check}))


def _read_if_exists(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    return pd.read_parquet(path, columns=columns) if path.is_file() else None


# -------------------------------------------------------------------------------- publication
def provenance(paths: ProjectPaths, day: date, settings: Settings):
    """Where the published tables of ``day`` come from: source, protection, versions, the inputs' and the
    settings' hashes."""
    from quarterstats import __version__
    from quarterstats.catalogue import CATALOGUE_VERSION
    from quarterstats.publication import Provenance, sha256_file

    geography = _read_geography(paths, day)
    boundary_files = ({paths.workdir / geography["in_force_file"], paths.workdir / geography["series_file"]}
                      if geography else {paths.boundary_file(day)})
    inputs = [paths.register_file(day), *sorted(boundary_files)]
    auxiliary = paths.auxiliary_file(day)
    if auxiliary is not None:
        inputs.append(auxiliary)
    hashes = {_delivered_name(p, paths): sha256_file(p) for p in inputs}
    return Provenance(day, settings.city.source, settings.disclosure.describe_de(), CATALOGUE_VERSION, __version__,
                      hashes, settings.sha256())


def published_dates(paths: ProjectPaths) -> list[date]:
    return finished_dates(paths, paths.published)[0]


def publication_stage(paths: ProjectPaths, reference_date: date | str, settings: Settings | None = None) -> StageResult:
    """Protect the date's indicators and publish tables, figures and the report as reports/<date>/.

    The publication is built in ``data/processed/staging/<date>/``, checked there (the blocking checks
    ``reports_hold_no_person_level_rows``, ``published_counts_pass_disclosure`` and
    ``publication_files_complete``) and only when all pass swapped in for ``reports/<date>/``
    (:mod:`quarterstats.staging`). An error on the way, or a failing check, leaves the previous
    ``reports/<date>/`` exactly as it was; the failing checks are reported as usual.
    """
    from quarterstats.catalogue import build_catalogue
    from quarterstats.disclosure.indicators import audit, protect_indicators, published_changes
    from quarterstats.disclosure.linked import (
        build_linked_system, hide_values_of_suppressed_inputs, linked_disclosures, protect_linked,
        publishable_segregation,
    )
    from quarterstats.figures import prepare_workers, start_figures
    from quarterstats.gis import write_gis_files
    from quarterstats.indicators import district_types
    from quarterstats.parameter_text import parameter_table
    from quarterstats.profiles import profile_links, render_profiles
    from quarterstats.report import INDEX_FILE, REPORT_FILE
    from quarterstats.webmap import MAP_FILE, render_map_page
    from quarterstats.publication import LeakScan, published_table, pyramid_table
    from quarterstats.tables import (
        long_table, mark_unknown, pyramid_published, segregation_published, top_countries_published,
        write_legend_file, write_table_files, write_workbook,
    )

    day = _date(reference_date)
    settings = _settings(paths, settings)
    config, params = settings.disclosure, settings.indicators
    catalogue = build_catalogue(params)
    require_earlier_outputs(paths, day, [paths.published], [paths.published], settings=settings, stage="publication")
    _require_made_with(paths, day, "indicators", settings, f"the publication of {day.isoformat()}")
    prepare_workers()  # the figure workers start up while the tables are protected
    table = pd.read_parquet(paths.indicators(day))
    persons = pd.read_parquet(paths.persons(day))
    districts = read_districts(paths)
    names = dict(zip(districts["district_id"].astype(str), districts["name"].astype(str)))
    previous = previous_date(paths, day)
    residents_before = _previous_residents(paths, previous)
    linked = None
    if config.method == "suppression":  # every published number of the date together (disclosure/linked.py)
        linked = protect_linked(table, persons, config, catalogue, residents_before, order=_area_order(table))
        protection = linked.protection
    else:
        protection = protect_indicators(table, config, persons=persons, catalogue=catalogue, params=params)
    protection.published = hide_values_of_suppressed_inputs(protection.published)
    baseline = paths.reference_dates()[0]
    protected = published_changes(
        protection.published,
        _read_if_exists(paths.published(previous)) if previous else None,
        _read_if_exists(paths.published(baseline)) if baseline < day else None,
        catalogue=catalogue,
    )
    published = mark_unknown(published_table(protected, names, day, catalogue), table)
    order = list(dict.fromkeys(published["district_id"]))
    pyramid = linked.pyramid if linked is not None else pyramid_table(persons, order, config)
    report_dir = paths.report_dir(day)
    prov = provenance(paths, day, settings)
    earlier = [pd.read_parquet(paths.published(d)) for d in published_dates(paths) if d < day]
    series = pd.concat([*earlier, published], ignore_index=True)
    segregation = publishable_segregation(pd.concat(
        [pd.read_parquet(paths.segregation(d)).assign(reference_date=d)
         for d in paths.reference_dates() if d <= day and paths.segregation(d).is_file()],
        ignore_index=True,
    ), series)
    meta = {
        "reference_date": day, "city_name": settings.city.name, "source": settings.city.source,
        "protection_de": config.describe_de(), "catalogue_version": prov.catalogue_version,
        "code_version": prov.code_version, "input_hashes": dict(prov.input_hashes),
        "settings_sha256": prov.settings_sha256, "catalogue": catalogue,
        "migration_parameters": settings.migration,
        "indicator_parameters": params,
        # rendered here, so that the cell key salt never travels with the metadata (figure workers)
        "disclosure_parameters": parameter_table(config),
        # the register undercount, measured where the synthetic truth exists (migration_recovery)
        "migration_recovery": (_read_if_exists(paths.migration_recovery(day))
                               if paths.truth_file(day) is not None else None),
        "generated_from": f"quarterstats {prov.code_version}, Katalog {prov.catalogue_version}",
        "previous_reference_date": previous,
        "baseline_reference_date": baseline if baseline < day else None,
        "boundaries": _boundaries_meta(paths, day),
        "interactive_map": MAP_FILE,  # the interactive map, written beside the report
    }
    # Everything is built in a staging folder and checked there; only a publication that passes every
    # blocking check replaces reports/<date>/ (quarterstats.staging). Worker processes (if any) start
    # drawing the figures while the tables are written.
    staged = staging.fresh_folder(paths.staging_dir(day), report_dir)
    scan = LeakScan(persons["person_id"], persons["household_id"].dropna())
    try:
        with start_figures(published, series, segregation, pyramid, districts, meta) as drawing:
            indicators_long = long_table(published)
            pyramid_long = pyramid_published(pyramid, names)
            outputs = write_table_files(indicators_long, staged, "indikatoren")
            outputs += write_table_files(pyramid_long, staged, "alterspyramide")
            indices = segregation_published(segregation[segregation["reference_date"] == day], catalogue)
            outputs += write_table_files(indices, staged, "segregationsindizes")
            top = top_countries_published(persons, published, params.top_countries_n)
            outputs += write_table_files(top, staged, "bezugslaender")
            types = district_types(published, params.composite_min_population)
            outputs += write_table_files(types, staged, "quartierstypen")
            outputs.append(write_legend_file(staged))
            outputs.append(write_workbook(published, staged / "tabellen.xlsx", prov, segregation=indices, top=top,
                                          catalogue=catalogue))
            outputs += write_gis_files(published, districts, staged, catalogue=catalogue)
            outputs.append(render_map_page(published, districts, staged / MAP_FILE, city_name=settings.city.name,
                                           source=settings.city.source, catalogue=catalogue,
                                           links=[(REPORT_FILE, "Bericht"), (f"../{INDEX_FILE}", "Alle Stichtage")]))
            # what can be checked before the figures are done is checked here, while the workers draw
            # (work after drawing.finish has no worker beside it)
            scan.findings(outputs)
            recoverable = (audit(protection.counts, protection.count_mask, config, relations=protection.relations)
                           if config.method == "suppression" else [])
            if linked is not None:  # the linked audit of everything the staged tables publish together
                system = build_linked_system(persons, table, published, pyramid, catalogue, config.min_count,
                                             residents_before, linked.cache)
                recoverable = [*recoverable, *linked_disclosures(system)]
            figures = drawing.finish(staged)
        outputs += [staged / f.png for f in figures] + [staged / f.svg for f in figures]
        # the district profiles, from the published tables as written (indikatoren, alterspyramide)
        outputs += render_profiles(indicators_long, series, pyramid_long, meta, staged)
        outputs.append(_render_report(published, segregation, figures, meta, staged,
                                      profiles=profile_links(published)))
        checks = _publication_checks(staged, outputs, scan.rest(staged), len(recoverable), protection,
                                     published, config)
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
    below_floor = _counts_below(published, LEGAL_FLOOR)
    metadata = {
        "report_dir": _relative(report_dir if swapped else staged, paths),
        "published": swapped,
        "protection": config.method,
        "suppressed_cells": int((published["flag"] == "*").sum()),
        "published_cells": int(published["value"].notna().sum()),
        "figures": len(figures),
        "settings_sha256": prov.settings_sha256,
        "below_legal_floor_published": int(len(below_floor)),
    }
    if linked is not None:
        metadata["linked_protection"] = {k: linked.statistics[k] for k in ("seconds", "rounds", "withdrawn")}
    if not swapped:
        metadata["note"] = (f"a blocking check failed: {_relative(report_dir, paths)} was left as it was; the "
                            f"build that failed stays in {_relative(staged, paths)} until the next run")
    else:
        _record_settings(paths, day, "publication", settings)
    return StageResult(metadata, checks, outputs)


#: Tables every publication of a date holds, each as ``<stem>.parquet``, ``<stem>.csv`` and ``<stem>_de.csv``
#: (:func:`quarterstats.tables.write_table_files`) ...
PUBLICATION_TABLES = ("indikatoren", "alterspyramide", "segregationsindizes", "bezugslaender", "quartierstypen")
#: ... and these files (besides the figures, which depend on the data, and the district profiles, one per
#: district: :func:`quarterstats.profiles.profile_files`).
PUBLICATION_FILES = ("zeichenerklaerung.csv", "tabellen.xlsx", "bezirke.gpkg", "bezirke.geojson", "karte.html",
                     "bericht.html")


def _area_order(table: pd.DataFrame) -> list[str]:
    """The areas in the order of the published table (as :func:`publication_stage` passes them on)."""
    return list(dict.fromkeys(table["district_id"].astype(str)))


def _previous_residents(paths: ProjectPaths, previous: date | None):
    """The previous date's residents, published and true, for the population balance of the linked
    protection (None without a published previous date)."""
    from quarterstats.disclosure.linked import PreviousDate

    if previous is None or not paths.published(previous).is_file() or not paths.indicators(previous).is_file():
        return None
    return PreviousDate.from_tables(pd.read_parquet(paths.published(previous)), pd.read_parquet(paths.indicators(previous)))


def publication_files_check(staged: Path, outputs: list[Path], published: pd.DataFrame) -> tuple[bool, str]:
    """The check ``publication_files_complete`` of a staged publication: the folder holds exactly the
    files written (``outputs``), and they include every table, every fixed file and a profile for every
    district of ``published`` (and the profiles' overview)."""
    from quarterstats.profiles import profile_files

    complete, files = staging.staged_files_check(staged, outputs)
    required = [f"{stem}{kind}" for stem in PUBLICATION_TABLES for kind in (".parquet", ".csv", "_de.csv")]
    written = set(outputs)
    missing = [name for name in [*required, *PUBLICATION_FILES, *profile_files(published)]
               if staged / name not in written]
    if missing:
        listed = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        complete, files = False, f"not written: {listed}; {files}"
    return complete, files


def _publication_checks(staged: Path, outputs: list[Path], leaks: list[str], recoverable: int, protection,
                        published, config) -> dict[str, tuple[bool, str]]:
    """The blocking checks of a staged publication: no person-level content (``leaks``: the findings of
    :class:`quarterstats.publication.LeakScan` over every staged file), disclosure (``recoverable``
    suppressed cells found by the audit), exactly the expected files."""
    complete, files = publication_files_check(staged, outputs, published)
    return {
        "reports_hold_no_person_level_rows": (
            not leaks, "; ".join(leaks[:3]) or f"{len(outputs)} files checked: no person-level column, no pseudonym",
        ),
        "published_counts_pass_disclosure": disclosure_verdict(
            published, config, int(protection.count_mask.to_numpy().sum()), recoverable),
        "publication_files_complete": (complete, files),
    }


def _boundaries_meta(paths: ProjectPaths, day: date) -> dict | None:
    """The date's boundary versions, the repairs of its series geography and the persons given the
    nearest district: what the report's provenance shows."""
    geography = _read_geography(paths, day)
    if geography is None or not paths.boundaries_report.is_file():
        return None
    report = json.loads(paths.boundaries_report.read_text(encoding="utf-8"))
    nearest = paths.location_report(day)
    return {**geography, "repairs": report.get("summary", {}),
            "nearest_district": len(pd.read_parquet(nearest, columns=["rule"])) if nearest.is_file() else 0}


def _counts_below(published: pd.DataFrame, limit: int) -> pd.Series:
    counts = published.loc[published["kind"] == "count", "value"].dropna()
    return counts[(counts >= 1) & (counts < limit)]


def disclosure_verdict(published: pd.DataFrame, config, suppressed: int, recoverable: int) -> tuple[bool, str]:
    """The check ``published_counts_pass_disclosure`` of a published table: no suppressed cell recoverable,
    no count below ``min_count`` published (cell key: counts are perturbed instead), and no count below
    the legal floor unless the override is set; with the override it passes and says how many counts of
    1 or 2 were published."""
    small = _counts_below(published, config.min_count)
    below_floor = _counts_below(published, LEGAL_FLOOR)
    floor_ok = below_floor.empty or config.method == "cell_key" or config.allow_below_legal_floor
    override = (f"; OVERRIDE of the legal floor of {LEGAL_FLOOR} (allow_below_legal_floor, min_count = "
                f"{config.min_count}): {len(below_floor)} count(s) of 1 or 2 published"
                if config.below_legal_floor else "")
    passed = not recoverable and (small.empty or config.method == "cell_key") and floor_ok
    return passed, (f"{suppressed} count cells suppressed; {recoverable} recoverable, {len(small)} small counts "
                    f"published" + override)


def _render_report(published, segregation, figures, meta, report_dir, profiles=()) -> Path:
    from quarterstats.report import render_report

    return render_report(published, segregation, figures, meta, report_dir, profiles=profiles)


def publication_index_stage(paths: ProjectPaths, settings: Settings | None = None) -> StageResult:
    """Time-series tables and workbook over all published dates, and reports/index.html.

    The files are built in ``data/processed/staging/index/`` and then moved into ``reports/`` as a set,
    the index page last (:func:`quarterstats.staging.publish_files`); an error while building them leaves
    the previous set as it was, and a run killed while moving them is completed by the next run.
    """
    from quarterstats.catalogue import build_catalogue
    from quarterstats.profiles import OVERVIEW_FILE, PROFILE_DIR
    from quarterstats.report import INDEX_FILE, render_index
    from quarterstats.tables import (
        segregation_published, write_legend_file, write_table_files, write_time_series_workbook,
    )
    from quarterstats.webmap import MAP_FILE, render_map_page

    settings = _settings(paths, settings)
    catalogue = build_catalogue(settings.indicators)
    staging.recover_files(paths.staging_index, paths.reports)
    dates, missing = finished_dates(paths, paths.published)
    if not dates:
        raise InputError("nothing published yet: run the reference dates first", file=paths.reports)
    series = pd.concat([pd.read_parquet(paths.published(d)) for d in dates], ignore_index=True)
    segregation = segregation_published(pd.concat(
        [pd.read_parquet(paths.segregation(d)).assign(reference_date=d) for d in dates if paths.segregation(d).is_file()],
        ignore_index=True,
    ), catalogue)
    prov = provenance(paths, dates[-1], settings)
    key_indicators = list(catalogue.groups["time_series"])
    unknown = [i for i in key_indicators if i not in catalogue]
    if unknown:
        raise ValueError(f"the catalogue's time_series group names indicators it does not have: {unknown}")
    entries = []
    for d in dates:
        folder = paths.report_dir(d)
        files = sorted(p.name for p in folder.iterdir()
                       if p.is_file() and p.suffix in (".csv", ".parquet", ".xlsx", ".gpkg", ".geojson"))
        overview = folder / PROFILE_DIR / OVERVIEW_FILE
        entries.append({"reference_date": d, "report": f"{d.isoformat()}/bericht.html",
                        "files": [f"{d.isoformat()}/{name}" for name in files],
                        "profiles": f"{d.isoformat()}/{PROFILE_DIR}/{OVERVIEW_FILE}" if overview.is_file() else None})
    entries.append({"reference_date": None, "report": None,
                    "files": sorted([f"{stem}{kind}" for stem in ("zeitreihe", "zeitreihe_segregationsindizes")
                                     for kind in (".parquet", ".csv", "_de.csv")] + ["zeitreihe.xlsx", "zeichenerklaerung.csv"])})
    staged = paths.staging_index
    staged.mkdir(parents=True)
    try:
        outputs = write_table_files(series, staged, "zeitreihe")
        outputs += write_table_files(segregation, staged, "zeitreihe_segregationsindizes")
        outputs.append(write_legend_file(staged))
        outputs.append(write_time_series_workbook(series, staged / "zeitreihe.xlsx", prov, key_indicators,
                                                  segregation=segregation, catalogue=catalogue))
        outputs.append(render_map_page(series, read_districts(paths), staged / MAP_FILE, city_name=settings.city.name,
                                       source=settings.city.source, catalogue=catalogue,
                                       links=[(INDEX_FILE, "Alle Stichtage")]))
        outputs.append(render_index(staged, entries, city_name=settings.city.name, missing_dates=missing,
                                    map_page=MAP_FILE))
        names = [p.name for p in outputs if p.name != INDEX_FILE] + [INDEX_FILE]  # the page that links last
        staging.publish_files(staged, paths.reports, names)
    except BaseException:
        if not (staged / staging.JOURNAL).is_file():  # not yet complete: the previous set stays
            shutil.rmtree(staged, ignore_errors=True)
        raise
    outputs = [paths.reports / name for name in names]
    other = [d for d in dates if not made_with(paths, d, "publication", settings)]
    return _summary_result({"reference_dates": [d.isoformat() for d in dates], "settings_sha256": settings.sha256()},
                           "index_covers_every_reference_date", dates, missing, "published report", outputs,
                           other_settings=other)


def previous_date(paths: ProjectPaths, day: date) -> date | None:
    earlier = [d for d in paths.reference_dates() if d < day]
    return earlier[-1] if earlier else None


def require_earlier_outputs(paths: ProjectPaths, day: date, previous: list, baseline: list, *,
                            settings: Settings | None = None, stage: str | None = None) -> None:
    """Refuse to compute ``day`` while the previous or the first reference date (those with an extract)
    lacks the outputs ``day`` reads (``previous`` / ``baseline``: path functions such as
    ``paths.indicators``); otherwise flows and changes would silently depend on the order of runs.
    With ``settings`` and ``stage``, also while their ``stage`` outputs were made with other settings
    (changes between two parameter sets would be meaningless)."""
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
    if settings is not None and stage is not None:
        for earlier_day in dict.fromkeys(d for d, _ in needed):
            _require_made_with(paths, earlier_day, stage, settings, f"reference date {day.isoformat()}")


def require_same_geography(paths: ProjectPaths, day: date) -> None:
    """Refuse to compute ``day``'s changes and flows against a previous or first reference date whose
    persons were joined to another series geography (e.g. a boundary version added since): a series
    never mixes geographies silently; rerunning the earlier dates rebuilds them on this one."""
    own = _read_geography(paths, day)
    if own is None:
        raise InputError(f"the persons of {day.isoformat()} name no boundary geography: run its persons step first",
                         file=paths.geography(day))
    dates = paths.reference_dates()
    earlier = {d for d in (previous_date(paths, day), dates[0] if dates else None) if d is not None and d < day}
    for other in sorted(earlier):
        theirs = _read_geography(paths, other)
        if theirs is None or (theirs["series"], theirs["series_sha256"]) != (own["series"], own["series_sha256"]):
            was = f"boundaries {theirs['series']}" if theirs else "an unknown geography"
            raise InputError(
                f"reference date {other.isoformat()} was evaluated on {was}, {day.isoformat()} on boundaries "
                f"{own['series']} ({own['series_file']}): changes between them would mix two geographies; rerun "
                f"from {other.isoformat()} on (`quarterstats run` does) to rebuild the series on one geography",
                file=paths.geography(other), rule="boundaries.series_geography",
            )


def _read_geography(paths: ProjectPaths, day: date) -> dict | None:
    path = paths.geography(day)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_auxiliary(paths: ProjectPaths, day: date) -> pd.DataFrame | None:
    """The date's auxiliary district figures checked against their contract (:mod:`quarterstats.auxiliary`:
    quarantined rows left out, markers read), None without a file; an unusable file raises InputError."""
    from quarterstats.auxiliary import ingest_auxiliary

    path = paths.auxiliary_file(day)
    if path is None:
        return None
    return ingest_auxiliary(path, day).accepted


def load_auxiliary(paths: ProjectPaths, day: date, persons: pd.DataFrame) -> tuple[pd.DataFrame | None, dict]:
    """(auxiliary figures for the indicators, metadata): checked against the contract, then every count
    above its district's residents removed (:func:`quarterstats.auxiliary.check_against_residents`). The
    metadata counts quarantined rows, markers and removed values."""
    from quarterstats.auxiliary import check_against_residents, ingest_auxiliary

    path = paths.auxiliary_file(day)
    if path is None:
        return None, {}
    result = ingest_auxiliary(path, day)
    frame, removed = check_against_residents(result.accepted, persons)
    info = {
        "auxiliary_file": _relative(path, paths),
        "auxiliary_rows": result.input_rows,
        "auxiliary_quarantined": result.quarantined_rows,
        "auxiliary_rule_counts": dict(sorted(result.rule_counts.items())),
        "auxiliary_markers": dict(sorted(result.markers.items())),
        "auxiliary_values_removed": removed,
    }
    return frame, info


def _delivered_name(path: Path, paths: ProjectPaths) -> str:
    """A delivered file's path below the working directory as delivered (a symbolic link keeps its name)."""
    try:
        return Path(path).relative_to(paths.workdir).as_posix()
    except ValueError:
        return _relative(path, paths)


def _relative(path: Path, paths: ProjectPaths) -> str:
    """A path as metadata and reports show it: relative to the working directory, never absolute."""
    return paths.relative(path)
