"""Materialise the whole pipeline from the command line (``quarterstats run``).

Runs through Dagster (same assets, checks and run history as ``dagster dev``) in process: first the
unpartitioned assets, then every reference date in ascending order (dynamics need the previous date).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.definitions import ASSETS, PARTITIONED_ASSETS, SUMMARY_ASSETS, UNPARTITIONED_ASSETS
from pipelines.partitions import REFERENCE_DATE
from pipelines.resources import ProjectResource
from quarterstats.paths import ProjectPaths

DAGSTER_YAML = "telemetry:\n  enabled: false\n"
# The runner prints its own progress and failure messages; Dagster's console log would add tracebacks.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    ok: bool
    dates: list[str] = field(default_factory=list)
    failed_step: str | None = None
    message: str | None = None
    seconds: float = 0.0


def dagster_home(workdir: Path) -> Path:
    """The project's DAGSTER_HOME (git-ignored), with telemetry switched off."""
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
        if not evaluation.passed:
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


def materialize_all(
    workdir: str | Path | None = None,
    dates: Sequence[date] | None = None,
    progress: Callable[[str], None] = print,
) -> RunOutcome:
    paths = ProjectPaths.from_workdir(workdir)
    dagster_home(paths.workdir)
    instance = dg.DagsterInstance.get()
    available = paths.reference_dates()
    todo = sorted(dates) if dates else available
    missing = [d for d in todo if d not in available]
    if missing:
        return RunOutcome(False, message=f"no register extract for {', '.join(d.isoformat() for d in missing)} "
                          f"in {paths.raw_register}")
    if not todo:
        return RunOutcome(False, message=f"no register extracts found in {paths.raw_register} "
                          "(run `quarterstats generate` for the synthetic default)")
    keys = [d.isoformat() for d in todo]
    instance.add_dynamic_partitions(REFERENCE_DATE, [k for k in keys if not instance.has_dynamic_partition(REFERENCE_DATE, k)])
    resources = {"project": ProjectResource(workdir=str(paths.workdir))}
    started = time.perf_counter()

    def step(selection, partition_key: str | None, label: str) -> RunOutcome | None:
        t0 = time.perf_counter()
        result = dg.materialize(
            ASSETS, selection=selection, partition_key=partition_key, instance=instance,
            resources=resources, raise_on_error=False, run_config=QUIET_LOGS,
            tags={"quarterstats/source": "cli"},
        )
        failed_step, message = _failure(result)
        if not result.success or failed_step:
            progress(f"  ✗ {label}: {message}")
            return RunOutcome(False, keys, failed_step, message, time.perf_counter() - started)
        progress(f"  ✓ {label} ({time.perf_counter() - t0:.1f} s)")
        return None

    progress(f"quarterstats: {len(keys)} reference date(s) in {paths.workdir}")
    failed = step(UNPARTITIONED_ASSETS, None, "district boundaries")
    if failed:
        return failed
    for key in keys:
        failed = step(PARTITIONED_ASSETS, key, f"{key}: register → persons → migration → indicators → report")
        if failed:
            return failed
    failed = step(SUMMARY_ASSETS, None, "time series and index over all reference dates")
    if failed:
        return failed
    return RunOutcome(True, keys, seconds=time.perf_counter() - started)
