"""The long indicator table per reference date."""

import dagster as dg

from pipelines.partitions import municipality_date_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import indicators_stage


@dg.asset(
    partitions_def=municipality_date_partitions,
    deps=["persons", "district_boundaries"],
    group_name="indicators",
    kinds={"parquet"},
)
def indicators(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Every catalogue indicator per district and for the city (district_id "city")."""
    return materialize_result(run_partition_stage(indicators_stage, context, project))
