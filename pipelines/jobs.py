"""Jobs: one run per partition.

* ``reference_date_job``: everything for one municipality × reference date (the per-date assets with
  their checks; partitions ``municipality_date_partitions``, inferred from the assets).
* ``boundaries_job`` and ``municipality_summary_job``: per municipality (boundaries first, the time
  series and the report index after all its dates; ``municipality_partitions``).

Every run carries the tag ``quarterstats/municipality=<key>``: with the run queue's limit of one run per
value (first in, first out), a municipality's boundaries, dates and summary run one after the other in
the order they were submitted, while other municipalities run beside them.

Parallelism comes from Dagster itself: the run queue (``concurrency: runs:`` in the instance's
dagster.yaml, see docs/scaling.md) runs several partitions' runs at once, and within a run the
multiprocess executor runs independent steps (migration_recovery beside indicators) in separate
processes. Where the platform has ``forkserver`` (Linux, macOS), step processes are forked from a server
that has imported the pipeline once, instead of each step importing pandas, geopandas and the rest anew
(``spawn``, Dagster's default and the only choice on Windows).
"""

import multiprocessing

import dagster as dg

from pipelines.partitions import MUNICIPALITY_TAG, municipality_date_partitions, municipality_partitions, split_key

#: Modules the forkserver imports once per run (the stages import the heavy parts lazily).
PRELOAD_MODULES = [
    "pipelines.definitions", "quarterstats.ingest", "quarterstats.spatial", "quarterstats.migration",
    "quarterstats.indicators", "quarterstats.publication", "quarterstats.figures", "quarterstats.report",
]
START_METHOD = (
    {"forkserver": {"preload_modules": PRELOAD_MODULES}}
    if "forkserver" in multiprocessing.get_all_start_methods()
    else {"spawn": {}}
)
step_executor = dg.multiprocess_executor.configured({"start_method": START_METHOD}, name="multiprocess")


def _municipality_tag(partitions_def: dg.PartitionsDefinition) -> dg.PartitionedConfig:
    """No run config of its own; tags every run of a partition with its municipality (MUNICIPALITY_TAG)."""
    return dg.PartitionedConfig(
        partitions_def=partitions_def,
        run_config_for_partition_key_fn=lambda key: {},
        tags_for_partition_key_fn=lambda key: {MUNICIPALITY_TAG: split_key(key)[0]},
    )


reference_date_job = dg.define_asset_job(
    "reference_date_job",
    selection=dg.AssetSelection.assets(
        "register_extract", "persons", "migration_recovery", "indicators", "publication"
    ),
    executor_def=step_executor,
    config=_municipality_tag(municipality_date_partitions),
    description="Ingest, join, derive and compute indicators for one municipality and reference date.",
)
boundaries_job = dg.define_asset_job(
    "boundaries_job", selection=dg.AssetSelection.assets("district_boundaries"),
    config=_municipality_tag(municipality_partitions),
    description="Read and validate the district boundaries of one municipality.",
)
municipality_summary_job = dg.define_asset_job(
    "municipality_summary_job", selection=dg.AssetSelection.assets("indicator_time_series", "report_index"),
    executor_def=step_executor, config=_municipality_tag(municipality_partitions),
    description="Time series and report index of one municipality over all its reference dates.",
)
