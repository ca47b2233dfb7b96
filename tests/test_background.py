"""Work beside the caller (quarterstats.background): results, errors, the switch, worker processes, and
that the steps that use a worker thread give the same results with and without it."""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import types

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE_DATE, clean_rows, person, write_extract
from quarterstats import background, contract
from quarterstats.ingest import ingest_register, parse_columns, read_raw


def test_a_task_runs_in_a_worker_thread_and_returns_its_result():
    future = background.start(lambda a, b: (a + b, threading.current_thread()), 2, b=3)
    value, thread = future.result(timeout=10)
    assert value == 5 and thread is not threading.current_thread()


def test_the_task_s_exception_reaches_the_caller():
    def fails():
        raise KeyError("nobody")

    with pytest.raises(KeyError, match="nobody"):
        background.start(fails).result(timeout=10)


@pytest.mark.parametrize("value", ["1", "0"])
def test_one_thread_runs_the_task_at_once_in_the_caller(monkeypatch, value):
    monkeypatch.setenv(background.THREADS_VARIABLE, value)
    assert not background.enabled()
    future = background.start(threading.current_thread)
    assert future.done() and future.result() is threading.current_thread()


def test_an_unreadable_thread_setting_is_named(monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "many")
    with pytest.raises(ValueError, match="QUARTERSTATS_THREADS must be a whole number, got 'many'"):
        background.start(int)


def test_the_setting_is_the_number_of_cores_a_run_may_use(monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "3")
    assert background.cores() == 3 and background.enabled()
    assert background.worker_processes() == 2  # under pytest, whose main module is safe to import
    monkeypatch.setenv(background.THREADS_VARIABLE, "0")
    assert background.cores() == 1 and background.worker_processes() == 0
    monkeypatch.delenv(background.THREADS_VARIABLE)
    assert 1 <= background.cores() <= background.MAX_CORES
    assert background.cores() <= len(os.sched_getaffinity(0))


def test_a_task_runs_in_a_worker_process_and_returns_its_result(monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "2")
    assert background.submit(os.getpid).result(timeout=120) != os.getpid()
    assert background.submit(divmod, 7, 2).result(timeout=120) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        background.submit(divmod, 1, 0).result(timeout=120)


def test_one_core_runs_the_process_task_at_once_in_the_caller(monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "1")
    future = background.submit(os.getpid)
    assert future.done() and future.result() == os.getpid()
    failed = background.submit(divmod, 1, 0)
    assert failed.done() and isinstance(failed.exception(), ZeroDivisionError)


def _use_a_worker_process() -> None:
    assert background.submit(os.getpid).result(timeout=120) != os.getpid()


def test_a_process_that_used_worker_processes_ends(monkeypatch):
    """A process started by multiprocessing (as Dagster's multiprocess executor starts each step) waits
    for its children before it ends; the pool's idle workers must not keep it waiting."""
    import multiprocessing

    monkeypatch.setenv(background.THREADS_VARIABLE, "2")
    step = multiprocessing.get_context("spawn").Process(target=_use_a_worker_process)
    step.start()
    step.join(timeout=60)
    try:
        assert step.exitcode == 0, "the process did not end" if step.exitcode is None else step.exitcode
    finally:
        if step.is_alive():
            step.kill()


@pytest.mark.parametrize(("spec", "file", "safe"), [
    (types.SimpleNamespace(name="quarterstats.cli"), None, True),  # python -m quarterstats.cli
    (None, None, True),  # interactive, notebook
    (None, os.path.join(sysconfig.get_path("scripts"), "quarterstats"), True),  # an installed command
    (None, os.path.join(os.path.dirname(sys.executable), "dagster"), True),
    (None, "/home/planner/auswertung.py", False),  # a script by path: it may lack the __main__ guard
])
def test_worker_processes_only_under_a_main_module_safe_to_import(monkeypatch, spec, file, safe):
    main = types.ModuleType("__main__")
    main.__spec__ = spec
    if file is not None:
        main.__file__ = file
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setenv(background.THREADS_VARIABLE, "2")
    assert background._main_is_safe_to_import() is safe
    assert background.worker_processes() == (1 if safe else 0)


def _dirty_extract(path):
    """Duplicates, dangling and self links, a too young mother, a bad code: every thing the hash pass of
    the worker thread decides, beside rules the caller's thread decides."""
    rows = clean_rows() + [person(f"g{i:04d}", age=40) for i in range(3000)]
    rows += [
        person("g0001"),  # duplicate
        person("k1", age=5, mother_id="nobody"),
        person("k2", age=5, father_id="k2"),
        person("k3", age=30, mother_id="p04"),
        person("k4", age=8, mother_id="g0002", father_id="g0001"),  # father id duplicated
        person("b1", sex="q"),
    ]
    return write_extract(rows, path / f"{REFERENCE_DATE}.parquet")


def test_ingest_is_the_same_with_and_without_the_worker_thread(tmp_path, monkeypatch):
    path = _dirty_extract(tmp_path)
    threaded = ingest_register(path)
    monkeypatch.setenv(background.THREADS_VARIABLE, "1")
    single = ingest_register(path)
    assert threaded.rule_counts == single.rule_counts and threaded.link_repairs == single.link_repairs
    assert threaded.rule_counts["person_id.unique"] == 2 and threaded.rule_counts["sex.allowed"] == 1
    pd.testing.assert_frame_equal(threaded.accepted, single.accepted)
    pd.testing.assert_frame_equal(threaded.quarantine, single.quarantine)


def test_rules_wait_for_the_duplicates_last_and_keep_their_order(clean_extract):
    raw, _ = read_raw(clean_extract)
    frame, _ = parse_columns(raw)
    evaluated = []

    def duplicates():
        evaluated.append("unique")
        return np.arange(len(frame)) < 2  # say the first two rows share an id

    lazily = contract.evaluate_rules(frame, REFERENCE_DATE, duplicated_person_id=duplicates)
    known = contract.evaluate_rules(frame, REFERENCE_DATE, duplicated_person_id=np.arange(len(frame)) < 2)
    assert evaluated == ["unique"]
    assert list(lazily.columns) == [rule.id for rule in contract.ROW_RULES]
    pd.testing.assert_frame_equal(lazily, known)
    assert lazily["person_id.unique"].tolist() == [True, True] + [False] * (len(frame) - 2)


def test_flows_are_the_same_with_and_without_the_worker_thread(monkeypatch):
    """The previous date's ids are matched in a worker thread while the other indicators are counted."""
    from quarterstats.indicators import compute_indicators

    from test_indicators_mobility import DISTRICTS, REF, current, previous

    threaded = compute_indicators(current(), DISTRICTS, REF, previous_persons=previous())
    monkeypatch.setenv(background.THREADS_VARIABLE, "1")
    single = compute_indicators(current(), DISTRICTS, REF, previous_persons=previous())
    pd.testing.assert_frame_equal(threaded, single)
    births = threaded.set_index(["district_id", "indicator"]).loc[("city", "births"), "value"]
    assert births == 2  # p5 and s2, as counted by hand in test_indicators_mobility
