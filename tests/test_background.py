"""Work beside the caller (quarterstats.background): results, errors, the switch, and that the steps
that use a worker thread give the same results with and without it."""

from __future__ import annotations

import threading

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
