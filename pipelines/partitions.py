"""Partitions: one per reference date (Stichtag) found in ``data/raw/register``.

Reference dates are dynamic partitions: ``quarterstats run`` and the ``new_register_extracts`` sensor
add a partition for every extract file that appears.
"""

from __future__ import annotations

import dagster as dg

REFERENCE_DATE = "reference_date"
reference_date_partitions = dg.DynamicPartitionsDefinition(name=REFERENCE_DATE)
