"""Materialise the whole pipeline from the command line (``quarterstats run``).

Runs through Dagster (same assets, checks and run history as ``dagster dev``) in process, one
municipality after the other (sorted by key): first its district boundaries, then every reference date
in ascending order (dynamics need the previous date), then its time series and report index. For runs
in parallel across partitions, use Dagster's run queue instead (docs/scaling.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.definitions import ASSETS, BOUNDARY_ASSETS, PER_DATE_ASSETS, SUMMARY_ASSETS
from pipelines.partitions import MUNICIPALITY, REFERENCE_DATE, partition_key
from pipelines.resources import ProjectResource
from quarterstats.errors import InputError
from quarterstats.paths import DEFAULT_MUNICIPALITY, ProjectPaths
from quarterstats.safe_text import console_lines, console_text
from quarterstats.settings import Settings, load_settings
from quarterstats.stages import made_with, settings_record

#: Written into a new DAGSTER_HOME: no telemetry, and Dagster's run queue (used by `dagster dev` and the
#: daemon, not by this in-process runner) runs one run per municipality at a time (docs/scaling.md).
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: quarterstats/municipality
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""
# The runner prints its own progress and failure messages; Dagster's console log would add tracebacks.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    ok: bool
    #: the run's partitions: reference dates in the single layout, "<municipality>|<date>" otherwise
    dates: list[str] = field(default_factory=list)
    failed_step: str | None = None
    message: str | None = None
    seconds: float = 0.0
    municipalities: list[str] = field(default_factory=list)
    #: seconds per Dagster step (asset), summed over all runs: where the time went
    step_seconds: dict[str, float] = field(default_factory=dict)

    def time_report(self) -> list[str]:
        """Lines saying where the run's time went: each step's share, then what Dagster itself took."""
        if not self.step_seconds or self.seconds <= 0:
            return []
        lines = ["Time per step (all reference dates):"]
        for name, seconds in sorted(self.step_seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {name:<24} {seconds:7.1f} s  {seconds / self.seconds:6.1%}")
        rest = self.seconds - sum(self.step_seconds.values())
        lines.append(f"  {'Dagster (runs, events)':<24} {rest:7.1f} s  {rest / self.seconds:6.1%}")
        return lines


def dagster_home(workdir: Path) -> Path:
    """The project's DAGSTER_HOME (git-ignored); a new one gets DAGSTER_YAML."""
    home = Path(os.environ.get("DAGSTER_HOME") or workdir / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _failure(result: dg.ExecuteInProcessResult) -> tuple[str | None, str | None]:
    """(failed check or step, the user-facing message) of a run; a failed check explains more."""
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity != dg.AssetCheckSeverity.WARN:
            return evaluation.check_name, evaluation.description
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.event_specific_data
            user = getattr(data, "user_failure_data", None)
            err = getattr(data, "error", None)
            while err is not None and err.cause is not None:  # the user code's own exception
                err = err.cause
            message = (user.description if user and user.description else None) or (
                err.message.strip() if err else "step failed"
            )
            return event.step_key, message
    return None, None


def processed(paths: ProjectPaths, day: date, settings: Settings | None = None) -> bool:
    """Whether a date's outputs that later dates read exist (persons, indicators, published table) and,
    with ``settings``, were made with them."""
    exist = all(p.is_file() for p in (paths.persons(day), paths.indicators(day), paths.published(day)))
    return exist and (settings is None or made_with(paths, day, "publication", settings))


def with_unprocessed_predecessors(paths: ProjectPaths, requested: Sequence[date],
                                  settings: Settings | None = None) -> list[date]:
    """The requested dates plus every earlier date they need that has no outputs yet (or, with
    ``settings``, outputs made with other settings).

    A date reads the outputs of its previous date (flows, changes against the previous date) and of
    the first date (changes against the baseline); the stages refuse to run without them. So
    ``--date 2024-12-31`` on a fresh folder runs 2016 ... 2024; on a folder where 2023 is done, only 2024.
    """
    available = paths.reference_dates()
    todo = set(requested)
    for index in range(len(available) - 1, 0, -1):  # from the latest down, so needs propagate
        day = available[index]
        if day not in todo:
            continue
        for needed in (available[index - 1], available[0]):
            if needed not in todo and not processed(paths, needed, settings):
                todo.add(needed)
    return sorted(todo)


def materialize_all(
    workdir: str | Path | None = None,
    dates: Sequence[date] | None = None,
    progress: Callable[[str], None] = print,
    municipalities: Sequence[str] | None = None,
) -> RunOutcome:
    """Materialise every (or the given) municipality, each: boundaries, its dates in order, summary.

    In the single layout (the working directory is the only municipality, key ``"default"``) the
    progress messages are those of a single city. Stops at the first failure. Every progress line and
    the outcome's message are inert (:func:`quarterstats.safe_text.console_lines`): they carry file
    names, check descriptions and error texts that may hold delivered text.
    """
    outcome = _materialize_all(workdir, dates, lambda message: progress(console_lines(message)), municipalities)
    if outcome.message is not None:
        outcome.message = console_lines(outcome.message)
    return outcome


def _materialize_all(workdir, dates, progress, municipalities) -> RunOutcome:
    paths = ProjectPaths.from_workdir(workdir)
    dagster_home(paths.workdir)
    instance = dg.DagsterInstance.get()
    try:
        available = paths.municipalities()
        unknown = sorted(set(municipalities or []) - set(available))
        if unknown:
            return RunOutcome(False, message=f"unknown municipality {', '.join(map(repr, unknown))}: no folder "
                              f"{paths.municipalities_root}/<key>/data/raw/register (municipalities here: "
                              f"{', '.join(available[:10])}{' ...' if len(available) > 10 else ''})")
        keys = sorted(set(municipalities)) if municipalities else available
        plans = [(key, paths.for_municipality(key)) for key in keys]
        # every municipality's settings are checked before anything runs
        settings = {key: load_settings(where.workdir) for key, where in plans}
    except InputError as exc:
        return RunOutcome(False, message=str(exc))
    single = keys == [DEFAULT_MUNICIPALITY] and plans[0][1] == paths
    todo: dict[str, list[date]] = {}
    for key, where in plans:
        try:
            found = where.reference_dates()
        except InputError as exc:
            return RunOutcome(False, message=str(exc), municipalities=keys)
        missing = [d for d in (dates or []) if d not in found]
        if missing:
            listed = ", ".join(d.isoformat() for d in sorted(missing))
            return RunOutcome(False, message=f"no register extract for {listed} in {where.raw_register}")
        if not found:
            return RunOutcome(False, message=f"no register extracts found in {where.raw_register}"
                              + (" (run `quarterstats generate` for the synthetic default)" if single else ""))
        todo[key] = with_unprocessed_predecessors(where, dates, settings[key]) if dates else found
    instance.add_dynamic_partitions(
        MUNICIPALITY, [k for k in keys if not instance.has_dynamic_partition(MUNICIPALITY, k)]
    )
    # dates ascending, so that Dagster's partition order (insertion order) is date order
    all_dates = sorted({d.isoformat() for days in todo.values() for d in days})
    instance.add_dynamic_partitions(
        REFERENCE_DATE, [d for d in all_dates if not instance.has_dynamic_partition(REFERENCE_DATE, d)]
    )
    resources = {"project": ProjectResource(workdir=str(paths.workdir))}
    started = time.perf_counter()
    planned = [d.isoformat() if single else f"{k}|{d.isoformat()}" for k in keys for d in todo[k]]
    step_seconds: dict[str, float] = {}

    def step(selection, partition: str, label: str, settings_hash: str) -> RunOutcome | None:
        t0 = time.perf_counter()
        result = dg.materialize(
            ASSETS, selection=selection, partition_key=partition, instance=instance,
            resources=resources, raise_on_error=False, run_config=QUIET_LOGS,
            tags={"quarterstats/source": "cli", "quarterstats/settings_sha256": settings_hash},
        )
        for name, seconds in _step_durations(result).items():
            step_seconds[name] = step_seconds.get(name, 0.0) + seconds
        failed_step, message = _failure(result)
        if not result.success or failed_step:
            progress(f"  ✗ {label}: {message}")
            return RunOutcome(False, planned, failed_step, message, time.perf_counter() - started, keys)
        progress(f"  ✓ {label} ({time.perf_counter() - t0:.1f} s)")
        for evaluation in result.get_asset_check_evaluations():  # checks that only warn
            if not evaluation.passed:
                progress(f"    ! {evaluation.check_name}: {evaluation.description}")
        return None

    if not single:
        progress(f"quarterstats: {len(keys)} municipalities in {paths.municipalities_root}")
    for key, where in plans:
        days = [d.isoformat() for d in todo[key]]
        if single:
            progress(f"quarterstats: {len(days)} reference date(s) in {where.workdir}")
        else:
            progress(f"{key}: {len(days)} reference date(s) in {where.workdir}")
        for line in settings_notes(where, settings[key]):
            progress(line)
        for line in where.register_inventory().lines() + where.auxiliary_inventory().lines():
            progress(f"  ! {line}")
        added = sorted(set(todo[key]) - set(dates or todo[key]))
        stale = [d for d in added if processed(where, d)]  # outputs exist, made with other settings
        for listed, why in (([d for d in added if d not in stale], "are missing"),
                            (stale, "were made with other settings")):
            if listed:
                progress(f"  (also {', '.join(d.isoformat() for d in listed)}: the requested date(s) need their "
                         f"outputs, which {why})")
        settings_hash = settings[key].sha256()
        failed = step(BOUNDARY_ASSETS, key, "district boundaries", settings_hash)
        if failed:
            return failed
        for day in days:
            failed = step(PER_DATE_ASSETS, partition_key(key, day),
                          f"{day}: register → persons → migration → indicators → report", settings_hash)
            if failed:
                return failed
        failed = step(SUMMARY_ASSETS, key, "time series and index over all reference dates", settings_hash)
        if failed:
            return failed
    return RunOutcome(True, planned, seconds=time.perf_counter() - started, municipalities=keys,
                      step_seconds=step_seconds)


def settings_notes(paths: ProjectPaths, settings: Settings) -> list[str]:
    """Console lines about the settings of one municipality: the override of the legal floor (a warning
    on every run), and that existing outputs were made with other settings (they are recomputed)."""
    lines = []
    config = settings.disclosure
    if config.below_legal_floor:
        lines.append(f"  ! WARNING: [disclosure] min_count = {config.min_count} in {paths.settings_file}: counts "
                     f"below the legal floor of 3 are PUBLISHED (allow_below_legal_floor; reason: "
                     f"{console_text(config.legal_floor_reason)}); the report and every workbook say so")
    recorded = {h for day in paths.reference_dates() for h in settings_record(paths, day).values()}
    if recorded - {settings.sha256()}:
        lines.append(f"  (settings SHA-256 {settings.sha256()[:12]}… differ from those of existing outputs: "
                     "the dates run now are computed again from the persons step)")
    return lines


def _step_durations(result: dg.ExecuteInProcessResult) -> dict[str, float]:
    """Seconds of each successful step of a run (Dagster's own step timing; an asset's checks are part
    of its step)."""
    durations: dict[str, float] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            durations[event.step_key] = durations.get(event.step_key, 0.0) + event.event_specific_data.duration_ms / 1000
    return durations
