"""scripts/benchmark.py reads what `quarterstats run` prints: the parser follows the runner's format."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pipelines.runner import RunOutcome

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("quarterstats_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_end_to_end_reads_the_runs_time_per_step_and_its_total():
    benchmark = _benchmark()
    outcome = RunOutcome(True, seconds=20.0, step_seconds={"publication": 12.25, "persons": 3.5,
                                                           "district_boundaries": 1.0})
    output = "\n".join(["quarterstats: 2 reference date(s) in /tmp/city", "  ✓ district boundaries (1.1 s)",
                        "Finished 2 reference date(s) in 20.0 s.", "  reports:       /tmp/city/reports",
                        *outcome.time_report(), ""])
    steps = benchmark.parse_time_report(output)
    assert steps == {"publication": 12.2, "persons": 3.5, "district_boundaries": 1.0,
                     "Dagster (runs, events)": 3.2}
    assert benchmark._finished_seconds(output) == 20.0
    assert benchmark.parse_time_report("no table here") == {}
