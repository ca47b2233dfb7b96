"""Persons of one reference date with their district and migration background (stays in data/)."""

import dagster as dg

from pipelines.partitions import municipality_date_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import persons_stage


@dg.asset(
    partitions_def=municipality_date_partitions,
    deps=["register_extract", "district_boundaries"],
    group_name="derive",
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "persons_all_accounted", asset="persons", blocking=True,
            description="Input rows = persons in districts + persons outside every district + quarantined.",
        )
    ],
)
def persons(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Person-level table: district_id by point in polygon, migration background and immigration history."""
    return materialize_result(run_partition_stage(persons_stage, context, project))
