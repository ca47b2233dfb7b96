"""Indicators and segregation indices over all reference dates."""

import dagster as dg

from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_stage
from quarterstats.stages import time_series_stage


@dg.asset(deps=["indicators"], group_name="indicators", kinds={"parquet"})
def indicator_time_series(project: ProjectResource) -> dg.MaterializeResult:
    """Every indicator of every reference date in one long table (and the segregation indices)."""
    return materialize_result(run_stage(time_series_stage, project.paths))
