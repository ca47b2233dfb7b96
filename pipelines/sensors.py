"""Sensor: a new extract file in data/raw/register becomes a partition and a run."""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import reference_date_job
from pipelines.partitions import REFERENCE_DATE, reference_date_partitions
from quarterstats.paths import ProjectPaths


@dg.sensor(job=reference_date_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def new_register_extracts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Add a reference-date partition for each new extract file and request its run."""
    found = [d.isoformat() for d in ProjectPaths.from_workdir().reference_dates()]
    known = set(context.instance.get_dynamic_partitions(REFERENCE_DATE))
    new = [key for key in found if key not in known]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=key) for key in new],
        dynamic_partitions_requests=[reference_date_partitions.build_add_request(new)] if new else [],
    )
