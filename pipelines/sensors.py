"""Sensor: a new extract file in ``[municipalities/<key>/]data/raw/register`` becomes a partition and a run."""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import reference_date_job
from pipelines.partitions import (
    MUNICIPALITY, REFERENCE_DATE, municipality_partitions, partition_key, reference_date_partitions,
)
from quarterstats.paths import ProjectPaths


def discover(paths: ProjectPaths) -> list[tuple[str, str]]:
    """Every (municipality, reference date) with an extract, sorted by municipality, then date."""
    return [
        (key, day.isoformat())
        for key in paths.municipalities()
        for day in paths.for_municipality(key).reference_dates()
    ]


@dg.sensor(job=reference_date_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def new_register_extracts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Add the municipality and reference-date partitions of each new extract and request its run.

    A pair is new when its ``register_extract`` partition has not been materialised; its run key is the
    pair, so Dagster requests it once. Runs are requested per municipality in date order: with the run
    queue of docs/scaling.md (one run per municipality at a time, first in first out) a municipality's
    dates run one after the other, as the changes against the previous date need.
    """
    pairs = discover(ProjectPaths.from_workdir())
    instance = context.instance
    known_municipalities = set(instance.get_dynamic_partitions(MUNICIPALITY))
    known_dates = set(instance.get_dynamic_partitions(REFERENCE_DATE))
    materialised = instance.get_materialized_partitions(dg.AssetKey("register_extract"))
    new_municipalities = sorted({m for m, _ in pairs} - known_municipalities)
    new_dates = sorted({d for _, d in pairs} - known_dates)
    requests = []
    if new_municipalities:
        requests.append(municipality_partitions.build_add_request(new_municipalities))
    if new_dates:
        requests.append(reference_date_partitions.build_add_request(new_dates))
    runs = []
    for municipality, day in pairs:
        key = partition_key(municipality, day)
        if str(key) not in materialised:
            runs.append(dg.RunRequest(partition_key=key, run_key=str(key)))
    return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=requests)
