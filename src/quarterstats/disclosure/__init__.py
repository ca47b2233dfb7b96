"""Disclosure control for published tables (pure functions, no I/O).

Two protection modes (see docs/spec "Publishing without disclosing anyone"):

* cell suppression — :func:`primary_mask`, :func:`secondary_suppression` (audited with
  :func:`recoverable_cells`), :func:`suppress_rates`, :func:`apply_mask`;
* cell key method (Destatis, Zensus 2022) — :func:`perturbation_table`, :func:`record_keys`,
  :func:`cell_keys`, :func:`perturb`, :func:`perturbed_table`.

:class:`DisclosureConfig` holds the parameters and describes them in German for the report.
"""

from .audit import (
    TOTAL_COLUMN_LABEL,
    TOTAL_ROW_LABEL,
    RecoveredCell,
    feasible_intervals,
    recoverable_cells,
)
from .cellkey import cell_keys, perturb, perturbed_table, record_keys
from .config import DEFAULT_CELLKEY_SALT, SALT_ENV_VAR, DisclosureConfig
from .ptable import PerturbationTable, perturbation_table
from .suppression import (
    SUPPRESSED_MARK,
    apply_mask,
    primary_mask,
    secondary_suppression,
    suppress_rates,
    suppression_mask,
)

__all__ = [
    "DisclosureConfig",
    "DEFAULT_CELLKEY_SALT",
    "SALT_ENV_VAR",
    "SUPPRESSED_MARK",
    "TOTAL_ROW_LABEL",
    "TOTAL_COLUMN_LABEL",
    "primary_mask",
    "secondary_suppression",
    "suppression_mask",
    "suppress_rates",
    "apply_mask",
    "RecoveredCell",
    "recoverable_cells",
    "feasible_intervals",
    "PerturbationTable",
    "perturbation_table",
    "record_keys",
    "cell_keys",
    "perturb",
    "perturbed_table",
]
