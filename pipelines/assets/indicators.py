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
    check_specs=[
        dg.AssetCheckSpec(
            "pseudonyms_keep_birth_year_and_sex", asset="indicators",
            description="Pseudonyms found again since the previous date keep their birth year (±1) and sex "
                        "(warns with counts; no pseudonym shown).",
        ),
        dg.AssetCheckSpec(
            "auxiliary_figures_within_contract", asset="indicators",
            description="The auxiliary district figures break no row rule and no count exceeds the district's "
                        "residents (warns with counts).",
        ),
    ],
)
def indicators(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Every catalogue indicator per district and for the city (district_id "city")."""
    return materialize_result(run_partition_stage(indicators_stage, context, project))
