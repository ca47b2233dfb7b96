"""Arrow's memory pool for pipeline processes.

pyarrow allocates its buffers from mimalloc by default. On the 2-core VMs this project is measured on,
that costs kernel time: a fresh process ingesting 1,000,000 register rows spent 1.6 s in the kernel
(page faults of freshly mapped memory) with mimalloc and 0.4 s with the C library's allocator, and the
whole per-date core path took 5.9 s instead of 4.4 s (``scripts/benchmark.py``, docs/performance.md).
The pipeline's entry points (``quarterstats`` CLI, the Dagster definitions, the benchmark) therefore
switch pyarrow to the system pool. ``ARROW_DEFAULT_MEMORY_POOL`` (Arrow's own setting: ``system``,
``jemalloc``, ``mimalloc``), when set, wins: measure before changing it.
"""

from __future__ import annotations

import os

import pyarrow as pa

ENVIRONMENT_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_memory_pool() -> str:
    """Make the C library's allocator pyarrow's default pool, unless the environment chooses one.

    Returns the backend now in use (``system``, ``mimalloc`` or ``jemalloc``). Idempotent; call it
    before the first large allocation.
    """
    if not os.environ.get(ENVIRONMENT_VARIABLE):
        pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name
