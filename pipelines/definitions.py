"""Dagster definitions of quarterstats: `dagster dev` loads this module (see pyproject's [tool.dagster])."""

import dagster as dg

from pipelines.assets.boundaries import district_boundaries
from pipelines.assets.indicators import indicators
from pipelines.assets.migration_recovery import migration_recovery
from pipelines.assets.persons import persons
from pipelines.assets.publication import publication, report_index
from pipelines.assets.register import register_extract
from pipelines.assets.time_series import indicator_time_series
from pipelines.jobs import boundaries_job, municipality_summary_job, reference_date_job
from pipelines.resources import ProjectResource
from pipelines.sensors import new_register_extracts

#: Assets per municipality that do not depend on a reference date (materialised first).
BOUNDARY_ASSETS = [district_boundaries]
#: Assets materialised per municipality × reference date, in dependency order.
PER_DATE_ASSETS = [register_extract, persons, migration_recovery, indicators, publication]
#: Assets per municipality over all its reference dates (materialised last).
SUMMARY_ASSETS = [indicator_time_series, report_index]
ASSETS = [*BOUNDARY_ASSETS, *PER_DATE_ASSETS, *SUMMARY_ASSETS]

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[reference_date_job, boundaries_job, municipality_summary_job],
    sensors=[new_register_extracts],
    resources={"project": ProjectResource()},
)
