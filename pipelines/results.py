"""Turn a stage's plain-Python result into what Dagster shows (metadata, check results, failures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from pipelines.partitions import split_key
from pipelines.resources import ProjectResource
from quarterstats.errors import InputError
from quarterstats.safe_text import console_lines
from quarterstats.stages import StageResult


def run_stage(stage: Callable[..., StageResult], *args: Any) -> StageResult:
    """Call a stage; an unusable input becomes a ``dagster.Failure`` with the user-facing message."""
    try:
        return stage(*args)
    except (InputError, FileNotFoundError) as exc:
        shown = str(exc) if isinstance(exc, InputError) else console_lines(str(exc))  # InputError: inert already
        raise dg.Failure(
            description=shown,
            metadata=exc.as_dict() if isinstance(exc, InputError) else {"message": shown},
            allow_retries=False,
        ) from None


def run_partition_stage(
    stage: Callable[..., StageResult], context: dg.AssetExecutionContext, project: ProjectResource
) -> StageResult:
    """Run a stage for the asset's partition: ``stage(paths)`` for a per-municipality asset,
    ``stage(paths, reference_date)`` for a per-date one, with the municipality's project folder."""

    def call() -> StageResult:
        municipality, reference_date = split_key(context.partition_key)
        paths = project.paths.for_municipality(municipality)
        return stage(paths) if reference_date is None else stage(paths, reference_date)

    return run_stage(call)


def materialize_result(result: StageResult, *, asset_key: str | None = None) -> dg.MaterializeResult:
    metadata = {key: _metadata_value(value) for key, value in result.metadata.items()}
    metadata["outputs"] = dg.MetadataValue.json([str(p) for p in result.outputs])
    checks = [
        dg.AssetCheckResult(
            check_name=name,
            asset_key=asset_key,
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN if name in result.warnings else dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={"result": description},
        )
        for name, (passed, description) in result.checks.items()
    ]
    data_version = dg.DataVersion(result.data_version) if result.data_version else None
    return dg.MaterializeResult(metadata=metadata, check_results=checks, data_version=data_version)


def _metadata_value(value: Any):
    if isinstance(value, (dict, list)):
        return dg.MetadataValue.json(value)
    if value is None:
        return dg.MetadataValue.text("—")
    return value
