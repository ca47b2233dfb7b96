"""How well the register rule recovers the synthetic truth (the register undercount), per date."""

import dagster as dg

from pipelines.partitions import municipality_date_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import migration_recovery_stage


@dg.asset(
    partitions_def=municipality_date_partitions,
    deps=["persons"],
    group_name="derive",
    kinds={"parquet"},
)
def migration_recovery(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Per true MH/EG category: persons recovered by the register rule, and missed by reason (gaps)."""
    return materialize_result(run_partition_stage(migration_recovery_stage, context, project))
