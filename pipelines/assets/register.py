"""Ingest the register extract of one reference date under the data contract."""

import dagster as dg

from pipelines.partitions import municipality_date_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import ingest_stage


@dg.asset(
    partitions_def=municipality_date_partitions,
    group_name="ingest",
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "register_rows_accounted", asset="register_extract", blocking=True,
            description="Every input row is either accepted or quarantined.",
        ),
        dg.AssetCheckSpec(
            "register_quarantine_within_tolerance", asset="register_extract", blocking=True,
            description="The share of rows breaking the contract is within tolerance (file usable as a whole).",
        ),
    ],
)
def register_extract(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Register extract of the reference date, validated against the contract; bad rows quarantined."""
    return materialize_result(run_partition_stage(ingest_stage, context, project))
