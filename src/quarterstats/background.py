"""Work that runs beside the caller, on the machine's second core.

The per-date core path is a chain of vectorised steps, most of them single-threaded (numpy, pandas,
shapely). A few long steps do not depend on what runs next to them and spend their time in compiled
code that releases Python's global interpreter lock (Arrow compute kernels, shapely's vectorised
predicates): matching this date's person ids against the previous date's while the other indicators
are counted, for instance. :func:`start` runs such a step in a worker thread; the caller collects the
result with ``future.result()``, which re-raises the step's exception, if any, in the caller.

Results do not depend on the threads: each task computes exactly what it would compute in the
caller, and the caller combines the results in a fixed order. What may go into a task: work on data
nobody changes meanwhile, with no process-wide side effects. ``warnings.catch_warnings`` (used by
the segregation step, and inside pandas) changes the filters of the whole process before Python 3.14,
so steps that use it stay in the caller's thread. ``QUARTERSTATS_THREADS=1`` runs every
task at once in the calling thread (for debugging, or where a scheduler gives one core per process).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future

__all__ = ["THREADS_VARIABLE", "enabled", "start"]

#: Environment variable: ``1`` (or ``0``) runs background tasks in the calling thread.
THREADS_VARIABLE = "QUARTERSTATS_THREADS"


def enabled() -> bool:
    """Whether :func:`start` uses a worker thread (not when ``QUARTERSTATS_THREADS`` is 0 or 1)."""
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return True
    try:
        return int(value) > 1
    except ValueError:
        raise ValueError(f"{THREADS_VARIABLE} must be a whole number, got {value!r}") from None


def start(function: Callable, *args, **kwargs) -> Future:
    """``function(*args, **kwargs)`` in a new worker thread (or now, see :func:`enabled`); returns its
    :class:`~concurrent.futures.Future`. A plain thread per task, no pool: nothing outlives the task,
    and nothing is inherited half-used by a forked process."""
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as exc:  # handed to the caller by future.result()
            future.set_exception(exc)

    if enabled():
        threading.Thread(target=run, name=f"quarterstats-{getattr(function, '__name__', 'task')}",
                         daemon=True).start()
    else:
        run()
    return future
