"""Indicators and segregation indices over all reference dates."""

import dagster as dg

from pipelines.partitions import municipality_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import time_series_stage


@dg.asset(
    partitions_def=municipality_partitions, deps=["indicators"], group_name="indicators", kinds={"parquet"}
)
def indicator_time_series(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Every indicator of every reference date of the municipality in one long table (and the segregation
    indices)."""
    return materialize_result(run_partition_stage(time_series_stage, context, project))
