"""Arrow's memory pool: the pipeline switches to the system allocator unless the environment chooses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import quarterstats.stages, pyarrow as pa; print(pa.default_memory_pool().backend_name)"


def _backend(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env_value is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = env_value
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_pipeline_processes_use_the_system_pool():
    assert _backend(None) == "system"


def test_the_environment_variable_wins():
    import pyarrow as pa

    if "mimalloc" not in pa.supported_memory_backends():
        pytest.skip("this pyarrow build has no mimalloc")
    assert _backend("mimalloc") == "mimalloc"
