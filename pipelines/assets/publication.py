"""What may be published: protected tables, figures and the report per date; the index over all dates."""

import dagster as dg

from pipelines.partitions import municipality_date_partitions, municipality_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import publication_index_stage, publication_stage


@dg.asset(
    partitions_def=municipality_date_partitions,
    deps=["indicators", "persons", "migration_recovery"],
    group_name="publish",
    kinds={"html", "excel", "csv"},
    check_specs=[
        dg.AssetCheckSpec(
            "reports_hold_no_person_level_rows", asset="publication", blocking=True,
            description="No file of the staged reports/<date>/ has a person-level column or a pseudonym.",
        ),
        dg.AssetCheckSpec(
            "published_counts_pass_disclosure", asset="publication", blocking=True,
            description="No small count is published (below the legal floor of 3 only with the documented "
                        "override, which it reports) and no suppressed cell can be recovered from the margins.",
        ),
        dg.AssetCheckSpec(
            "publication_files_complete", asset="publication", blocking=True,
            description="The staged publication holds exactly the expected files (tables, workbook, figures, "
                        "report) before it replaces reports/<date>/.",
        ),
    ],
)
def publication(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """reports/<date>/: tables (indikatoren, alterspyramide, segregationsindizes, bezugslaender: .parquet,
    .csv, _de.csv), tabellen.xlsx, bezirke.gpkg|geojson, figures, bericht.html (docs/published-files.md).

    Built and checked in data/processed/staging/<date>/ and swapped in only when every blocking check
    passes; a failing check is reported here and leaves the previous reports/<date>/ as it was."""
    return materialize_result(run_partition_stage(publication_stage, context, project))


@dg.asset(
    partitions_def=municipality_partitions,
    deps=["publication", "indicator_time_series"],
    group_name="publish",
    kinds={"html", "excel"},
    check_specs=[
        dg.AssetCheckSpec(
            "index_covers_every_reference_date", asset="report_index", blocking=False,
            description="Every reference date with a register extract has a published report in the index "
                        "and the time series, made with the present settings (warns; the index names the "
                        "missing dates).",
        ),
    ],
)
def report_index(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """reports/index.html and the time series of the published values and of the city-wide segregation
    indices (zeitreihe*.xlsx|csv|_de.csv|parquet), per municipality over all its dates."""
    return materialize_result(run_partition_stage(publication_index_stage, context, project))
