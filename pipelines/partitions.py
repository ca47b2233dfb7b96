"""Partitions: municipality × reference date (Stichtag).

Registers are kept per municipality, so a state or national run partitions by municipality and by
reference date. Both are dynamic partitions: ``quarterstats run`` and the ``new_register_extracts``
sensor add a municipality key for every municipality folder (``"default"`` in the single layout, see
``quarterstats.paths``) and a reference-date key for every extract file that appears.

* per-date assets (register_extract, persons, migration_recovery, indicators, publication):
  ``municipality_date_partitions``, keys like ``MultiPartitionKey({"municipality": "07312000",
  "reference_date": "2024-12-31"})`` (as a string ``"07312000|2024-12-31"``: dimensions sorted by name);
* per-municipality assets (district_boundaries, indicator_time_series, report_index):
  ``municipality_partitions``. Between the two kinds Dagster infers ``MultiToSingleDimensionPartitionMapping``
  on the municipality dimension (the one dimension whose definition equals the single one):
  persons(m|d) depends on district_boundaries(m), and the time series of m on the per-date assets of m
  only, all its dates (tests/test_municipalities.py pins this). Declaring the mapping explicitly would
  do the same but prints a BetaWarning on every load in Dagster 1.13, hence inference.

The reference-date dimension is shared by all municipalities: a (municipality, date) pair without an
extract is simply never materialised (and fails with the extract-not-found message if asked to).
"""

from __future__ import annotations

import dagster as dg

MUNICIPALITY = "municipality"
REFERENCE_DATE = "reference_date"
#: Run tag naming the municipality of every run of the three jobs (boundaries, per date, summary). The
#: instance's run queue allows one run per value at a time (docs/scaling.md). Dagster's own
#: ``dagster/partition/municipality`` exists only on runs of the multi-partitioned job, and Dagster reads
#: ``dagster/partition/*`` tags to rebuild multi-partition keys, so it cannot be set on the others.
MUNICIPALITY_TAG = "quarterstats/municipality"
municipality_partitions = dg.DynamicPartitionsDefinition(name=MUNICIPALITY)
reference_date_partitions = dg.DynamicPartitionsDefinition(name=REFERENCE_DATE)
municipality_date_partitions = dg.MultiPartitionsDefinition(
    {MUNICIPALITY: municipality_partitions, REFERENCE_DATE: reference_date_partitions}
)


def partition_key(municipality: str, reference_date: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({MUNICIPALITY: municipality, REFERENCE_DATE: reference_date})


def split_key(key: str) -> tuple[str, str | None]:
    """(municipality, reference date or None) of a partition key of either partitions definition."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims[MUNICIPALITY], dims[REFERENCE_DATE]
    if "|" in key:  # a multi key as a plain string
        dims = municipality_date_partitions.get_partition_key_from_str(key).keys_by_dimension
        return dims[MUNICIPALITY], dims[REFERENCE_DATE]
    return key, None


