"""Indicators and segregation indices over all reference dates."""

import dagster as dg

from pipelines.partitions import municipality_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import time_series_stage


@dg.asset(
    partitions_def=municipality_partitions, deps=["indicators"], group_name="indicators", kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "time_series_covers_every_reference_date", asset="indicator_time_series", blocking=False,
            description="Every reference date with a register extract has its indicator table in the time series, made with the present settings (warns: a failed or not yet run date drops out).",
        ),
    ],
)
def indicator_time_series(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Every indicator of every reference date of the municipality in one long table (and the segregation
    indices)."""
    return materialize_result(run_partition_stage(time_series_stage, context, project))
