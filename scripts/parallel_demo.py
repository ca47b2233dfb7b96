"""Several municipality × reference-date partitions in parallel, with Dagster's own machinery.

What it does (everything in a temporary folder; the checkout's data/ and .dagster_home/ are not touched):

1. builds a work folder with a few small synthetic municipalities (``municipalities/<key>/data/raw``,
   ``quarterstats.synth.generate`` with a different seed each) and a copy of it for the comparison;
2. writes a DAGSTER_HOME whose dagster.yaml sets the run queue: at most ``--max-concurrent-runs`` runs
   at a time and at most one run per value of the tag ``quarterstats/municipality`` (every run of the
   pipeline's jobs carries it, see pipelines/jobs.py);
3. adds the dynamic partitions (municipalities, then dates in ascending order), starts
   ``dagster-daemon run -m pipelines.definitions`` in the background, materialises the district
   boundaries of every municipality (in process, like ``quarterstats run``);
4. submits all per-date runs with one ``dagster job backfill -j reference_date_job --partitions ...``
   (the CLI submits them in the partitions definition's order: municipality by municipality, dates
   ascending), waits for them, then materialises the time series and report index of every
   municipality (in process). With ``--queue-all`` the boundaries and the summaries go through the
   queue too: ``boundaries_job``, ``reference_date_job`` and ``municipality_summary_job`` are submitted
   one after the other without waiting, and the queue alone keeps each municipality's order;
5. prints a timeline (municipality, date, run queued/start/end, step processes from the event log) and
   checks: runs of different municipalities overlapped in time; runs of one municipality never
   overlapped and started in date order; the per-municipality limit let a later-submitted run of
   another municipality pass a queued run whose municipality was busy; within some run two steps ran at
   the same time in different processes; every file under data/processed and reports equals, byte for
   byte, that of a sequential ``quarterstats run`` on a copy of the same data;
6. prints the wall times (parallel vs sequential). The daemon is always stopped (``finally``).

Usage::

    .venv/bin/python scripts/parallel_demo.py                      # 3 municipalities × 2 dates, 300 persons
    .venv/bin/python scripts/parallel_demo.py --queue-all          # boundaries and summaries queued too
    .venv/bin/python scripts/parallel_demo.py --order dates        # one backfill per date (no idle tail)
    .venv/bin/python scripts/parallel_demo.py --without-municipality-limit   # control: expect failures
    .venv/bin/python scripts/parallel_demo.py --dates 3 --persons 2000 --json demo.json
    .venv/bin/python scripts/parallel_demo.py --keep /tmp/demo     # keep the folders for a look

Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

MUNICIPALITY_KEYS = ["synth-a", "synth-b", "synth-c", "synth-d", "synth-e", "synth-f"]
REFERENCE_DATES = [date(2022, 12, 31), date(2023, 12, 31), date(2024, 12, 31)]
BIN = Path(sys.executable).parent
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
JOBS = ("boundaries_job", "reference_date_job", "municipality_summary_job")
JOB_LABEL = {"boundaries_job": "boundaries", "reference_date_job": "", "municipality_summary_job": "summary"}

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  runs:
    max_concurrent_runs: {max_runs}
"""
MUNICIPALITY_LIMIT = """\
    tag_concurrency_limits:
      - key: quarterstats/municipality
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


@dataclass
class Step:
    key: str
    pid: int | None
    start: float
    end: float | None


@dataclass
class Run:
    run_id: str
    job: str
    municipality: str
    reference_date: str
    status: str
    created: float
    start: float | None
    end: float | None
    steps: list[Step] = field(default_factory=list)
    failure: str | None = None


@dataclass
class Outcome:
    municipalities: list[str]
    dates: list[str]
    persons: int
    max_concurrent_runs: int
    runs: list[Run]
    checks: dict[str, tuple[bool, str]]
    seconds: dict[str, float]
    load_average: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(passed for passed, _ in self.checks.values())


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------------- set-up
def build_workdir(workdir: Path, keys: list[str], dates: list[date], persons: int, seed: int) -> None:
    from quarterstats.synth import generate

    for index, key in enumerate(keys):
        generate(workdir / "municipalities" / key / "data" / "raw", persons=persons, seed=seed + index,
                 reference_dates=dates)


def copy_inputs(source: Path, target: Path) -> None:
    for folder in sorted((source / "municipalities").iterdir()):
        shutil.copytree(folder / "data" / "raw", target / "municipalities" / folder.name / "data" / "raw")


def start_daemon(env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("w", encoding="utf-8")
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "pipelines.definitions", "--log-level", "warning"],
        env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop_daemon(daemon: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to the daemon's own process group (its code server) if it lingers."""
    if daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(daemon.pid, signal.SIGKILL)  # the group the daemon leads (start_new_session=True)
    except (ProcessLookupError, PermissionError):
        pass
    daemon.wait()


def materialize(assets, key: str, instance, workdir: Path) -> None:
    import dagster as dg

    from pipelines.definitions import ASSETS
    from pipelines.resources import ProjectResource
    from pipelines.runner import QUIET_LOGS

    result = dg.materialize(ASSETS, selection=assets, partition_key=key, instance=instance,
                            resources={"project": ProjectResource(workdir=str(workdir))},
                            run_config=QUIET_LOGS, raise_on_error=False)
    if not result.success:
        raise RuntimeError(f"materialising {[a.key.to_user_string() for a in assets]} of {key} failed")


def submit_backfill(job: str, partitions: list[str], env: dict) -> None:
    command = [str(BIN / "dagster"), "job", "backfill", "-m", "pipelines.definitions", "-j", job,
               "--partitions", ",".join(partitions), "--noprompt"]
    say(f"  $ dagster job backfill -m pipelines.definitions -j {job} --partitions {','.join(partitions)} --noprompt")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dagster job backfill failed:\n{done.stdout}\n{done.stderr}")


# ------------------------------------------------------------------------------------ reading
def read_runs(instance, finished: dict[str, tuple[list[Step], str | None]] | None = None) -> list[Run]:
    """The runs of the pipeline's jobs; the steps of a finished run are read from the event log once
    (``finished`` keeps them between calls)."""
    finished = {} if finished is None else finished

    runs = []
    for record in instance.get_run_records(ascending=True):
        run = record.dagster_run
        if run.job_name not in JOBS:  # e.g. the in-process materialisations of the boundaries
            continue
        tags = run.tags
        item = Run(run.run_id, run.job_name, tags.get("quarterstats/municipality", "?"),
                   tags.get("dagster/partition/reference_date", "-"), run.status.value,
                   record.create_timestamp.timestamp(), record.start_time, record.end_time)
        if run.status.value in TERMINAL:
            if run.run_id not in finished:
                finished[run.run_id] = read_steps(instance, run.run_id)
            item.steps, item.failure = finished[run.run_id]
        runs.append(item)
    return runs


def read_steps(instance, run_id: str) -> tuple[list[Step], str | None]:
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    steps: dict[str, Step] = {}
    failure = None
    for entry in instance.all_logs(run_id, of_type=kinds):
        event = entry.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_START:
            steps[event.step_key] = Step(event.step_key, event.pid, entry.timestamp, None)
        elif event.step_key in steps:
            steps[event.step_key].end = entry.timestamp
            if event.event_type == dg.DagsterEventType.STEP_FAILURE and failure is None:
                data = event.event_specific_data
                user = getattr(data, "user_failure_data", None)
                failure = f"{event.step_key}: " + (user.description if user and user.description else
                                                   str(getattr(data, "error", None) and data.error.message))
    return sorted(steps.values(), key=lambda s: s.start), failure


def wait_for_runs(instance, expected: int, timeout: float, daemon: subprocess.Popen, log: Path) -> list[Run]:
    deadline = time.monotonic() + timeout
    last = None
    finished: dict[str, tuple[list[Step], str | None]] = {}
    while True:
        runs = read_runs(instance, finished)
        states = {}
        for run in runs:
            states[run.status] = states.get(run.status, 0) + 1
        summary = ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items()))
        if summary != last:
            say(f"  runs: {summary}")
            last = summary
        if len(runs) >= expected and all(run.status in TERMINAL for run in runs):
            return runs
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon stopped (exit {daemon.returncode}); log:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs not finished after {timeout:.0f} s ({summary}); daemon log:\n"
                               f"{log.read_text()[-3000:]}")
        time.sleep(0.5)


# ------------------------------------------------------------------------------------- checks
def overlaps(a: Run, b: Run) -> bool:
    return a.start < b.end and b.start < a.end


def check_runs(runs: list[Run], keys: list[str], dates: list[str], queue_all: bool,
               expect_skips: bool = True) -> dict[str, tuple[bool, str]]:
    checks: dict[str, tuple[bool, str]] = {}
    expected = {("reference_date_job", k, d) for k in keys for d in dates}
    if queue_all:
        expected |= {(job, k, "-") for job in ("boundaries_job", "municipality_summary_job") for k in keys}
    got = [(r.job, r.municipality, r.reference_date) for r in runs]
    failed = [f"{r.job} {r.municipality}|{r.reference_date}: {r.failure or r.status}" for r in runs
              if r.status != "SUCCESS"]
    checks["every_run_succeeded"] = (not failed and set(got) == expected and len(got) == len(expected),
                                     f"{sum(r.status == 'SUCCESS' for r in runs)} of {len(expected)} runs succeeded"
                                     + (f"; {'; '.join(failed)}" if failed else ""))
    done = [r for r in runs if r.start is not None and r.end is not None]
    per_date = [r for r in done if r.job == "reference_date_job"]
    across = [(a, b) for i, a in enumerate(per_date) for b in per_date[i + 1:]
              if a.municipality != b.municipality and overlaps(a, b)]
    checks["municipalities_ran_in_parallel"] = (
        bool(across), f"{len(across)} pair(s) of runs of different municipalities overlapped in time")
    within, order = [], []
    for key in keys:
        mine = sorted((r for r in done if r.municipality == key), key=lambda r: r.start)
        within += [(a, b) for i, a in enumerate(mine) for b in mine[i + 1:] if overlaps(a, b)]
        rank = {"boundaries_job": 0, "reference_date_job": 1, "municipality_summary_job": 2}
        started = [(rank[r.job], r.reference_date) for r in mine]
        if started != sorted(started):
            order.append(f"{key}: {', '.join(f'{r.job}:{r.reference_date}' for r in mine)}")
    checks["one_municipality_one_run_at_a_time"] = (
        not within, f"{len(within)} pair(s) of runs of the same municipality overlapped")
    checks["order_within_municipality"] = (
        not order, "; ".join(order) or ("every municipality: boundaries, then its dates in order, then its summary"
                                        if queue_all else "every municipality's dates started in date order"))

    def busy(key: str, moment: float) -> bool:
        return any(r.municipality == key and r.start <= moment < r.end for r in done)

    passed = [(x, y) for x in done for y in done
              if x.created < y.created and y.start < x.start and busy(x.municipality, y.start)]
    if expect_skips:  # submitted municipality by municipality: a busy municipality's next run must be passed
        checks["queue_skips_busy_municipality"] = (
            bool(passed), f"{len(passed)} time(s) a run passed an earlier-submitted run whose municipality was busy"
            + (f", e.g. {passed[0][1].municipality}|{passed[0][1].reference_date} before "
               f"{passed[0][0].municipality}|{passed[0][0].reference_date}" if passed else ""))
    parallel_steps = []
    for run in per_date:
        steps = [s for s in run.steps if s.end is not None]
        for i, a in enumerate(steps):
            for b in steps[i + 1:]:
                if a.pid != b.pid and a.start < b.end and b.start < a.end:
                    parallel_steps.append(f"{run.municipality}|{run.reference_date}: {a.key} ∥ {b.key}")
    checks["steps_ran_in_parallel_processes"] = (
        bool(parallel_steps), f"{len(parallel_steps)} pair(s) of steps overlapped in different processes"
        + (f", e.g. {parallel_steps[0]}" if parallel_steps else ""))
    return checks


def output_files(workdir: Path) -> dict[str, bytes]:
    files = {}
    for folder in sorted((workdir / "municipalities").iterdir()):
        for sub in ("data/processed", "reports"):
            for path in sorted((folder / sub).rglob("*")):
                if path.is_file():
                    files[str(path.relative_to(workdir))] = path.read_bytes()
    return files


def compare_outputs(parallel: Path, sequential: Path) -> tuple[bool, str]:
    a, b = output_files(parallel), output_files(sequential)
    indicators = [name for name in a if "/data/processed/indicators/" in name and name.endswith(".parquet")]
    differ = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
    same_indicators = all(a[name] == b.get(name) for name in indicators) and bool(indicators)
    text = (f"{len(a)} files (of which {len(indicators)} indicator tables) "
            + ("byte-identical" if not differ else f"differ in {len(differ)}: {', '.join(differ[:5])}"))
    return same_indicators and not differ, text


# ----------------------------------------------------------------------------------- printing
def print_timeline(runs: list[Run], width: int = 48) -> None:
    done = [r for r in runs if r.start is not None and r.end is not None]
    if not done:
        return
    t0 = min(r.created for r in runs)
    t1 = max(r.end for r in done)
    scale = width / max(t1 - t0, 1e-9)
    say("\nTimeline (seconds after the first submission; one row per run, █ = running, · = queued)")
    say(f"{'municipality':<13}{'run':<12}{'queued':>7}{'start':>7}{'end':>7}  {'':<{width}}  step processes")
    for run in sorted(done, key=lambda r: r.start):
        q, s, e = run.created - t0, run.start - t0, run.end - t0
        bar = [" "] * width
        for i in range(int(q * scale), min(width, int(s * scale))):
            bar[i] = "·"
        for i in range(int(s * scale), max(int(s * scale) + 1, min(width, int(e * scale)))):
            bar[i] = "█"
        steps = ", ".join(f"{st.key}@{st.pid}" for st in run.steps)
        what = JOB_LABEL[run.job] or run.reference_date
        say(f"{run.municipality:<13}{what:<12}{q:7.1f}{s:7.1f}{e:7.1f}  {''.join(bar)}  {steps}")
    for run in (r for r in done if r.job == "reference_date_job"):
        short = {"register_extract": "reg", "persons": "per", "migration_recovery": "mig", "indicators": "ind",
                 "publication": "pub"}
        parts = [f"{short.get(st.key, st.key)} {st.start - run.start:4.1f}-{(st.end or st.start) - run.start:4.1f}"
                 for st in run.steps]
        say(f"  steps of {run.municipality}|{run.reference_date} (s after run start, pid above): {'; '.join(parts)}")


# --------------------------------------------------------------------------------------- main
def run_demo(root: Path, *, municipalities: int, dates: int, persons: int, max_runs: int, seed: int,
             timeout: float, queue_all: bool = False, municipality_limit: bool = True,
             date_major: bool = False) -> Outcome:
    keys = MUNICIPALITY_KEYS[:municipalities]
    days = REFERENCE_DATES[:dates]
    day_keys = [d.isoformat() for d in days]
    workdir, sequential, home = root / "parallel", root / "sequential", root / "dagster_home"
    home.mkdir(parents=True)
    config = DAGSTER_YAML.format(max_runs=max_runs) + (MUNICIPALITY_LIMIT if municipality_limit else "")
    (home / "dagster.yaml").write_text(config, encoding="utf-8")
    env = dict(os.environ, DAGSTER_HOME=str(home), QUARTERSTATS_WORKDIR=str(workdir), MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1")
    # the queue runs max_runs runs at once: each gets its share of the cores (one core: no figure worker
    # processes started per publication step, which on a full machine would only compete with the other run)
    env.setdefault("QUARTERSTATS_THREADS", str(max(1, (os.cpu_count() or 1) // max_runs)))
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "QUARTERSTATS_WORKDIR", "MPLBACKEND")})
    seconds: dict[str, float] = {}

    say(f"Building {len(keys)} synthetic municipalities × {len(days)} reference dates ({persons} persons each) "
        f"in {root}")
    t = time.perf_counter()
    build_workdir(workdir, keys, days, persons, seed)
    copy_inputs(workdir, sequential)
    seconds["generate"] = time.perf_counter() - t

    import dagster as dg

    from pipelines.definitions import BOUNDARY_ASSETS, SUMMARY_ASSETS
    from pipelines.partitions import MUNICIPALITY, REFERENCE_DATE, partition_key

    instance = dg.DagsterInstance.get()
    queue = instance.get_concurrency_config().run_queue_config
    say(f"Instance {home}: {type(instance.run_coordinator).__name__}, max_concurrent_runs "
        f"{queue.max_concurrent_runs}, tag_concurrency_limits {queue.tag_concurrency_limits}")
    instance.add_dynamic_partitions(MUNICIPALITY, keys)
    instance.add_dynamic_partitions(REFERENCE_DATE, day_keys)

    log = root / "daemon.log"
    daemon = start_daemon(env, log)
    say(f"Started dagster-daemon (pid {daemon.pid}), log {log}")
    try:
        t_parallel = time.perf_counter()
        partitions = [str(partition_key(key, day)) for key in keys for day in day_keys]
        if queue_all:
            say("Submitting every run at once; the queue keeps each municipality's order:")
            submit_backfill("boundaries_job", keys, env)
            submit_backfill("reference_date_job", partitions, env)
            submit_backfill("municipality_summary_job", keys, env)
            runs = wait_for_runs(instance, len(partitions) + 2 * len(keys), timeout, daemon, log)
        else:
            for key in keys:
                materialize(BOUNDARY_ASSETS, key, instance, workdir)
            seconds["parallel_boundaries"] = time.perf_counter() - t_parallel
            say(f"District boundaries of {len(keys)} municipalities materialised in process "
                f"({seconds['parallel_boundaries']:.1f} s); submitting the per-date runs:")
            t_runs = time.perf_counter()
            if date_major:  # one backfill per date, earliest first: municipalities interleave in the queue
                for day in day_keys:
                    submit_backfill("reference_date_job", [str(partition_key(key, day)) for key in keys], env)
            else:
                submit_backfill("reference_date_job", partitions, env)
            runs = wait_for_runs(instance, len(partitions), timeout, daemon, log)
            seconds["parallel_runs"] = time.perf_counter() - t_runs
            t_summary = time.perf_counter()
            for key in keys:
                materialize(SUMMARY_ASSETS, key, instance, workdir)
            seconds["parallel_summaries"] = time.perf_counter() - t_summary
        seconds["parallel_total"] = time.perf_counter() - t_parallel
    finally:
        stop_daemon(daemon)
        say(f"Stopped dagster-daemon (exit {daemon.returncode})")

    print_timeline(runs)
    checks = check_runs(runs, keys, day_keys, queue_all, expect_skips=not date_major)

    load_parallel = os.getloadavg()[0]
    say(f"\nSequential reference: quarterstats run --workdir {sequential}")
    seq_env = dict(env, DAGSTER_HOME=str(root / "dagster_home_sequential"))
    seq_env.pop("QUARTERSTATS_WORKDIR")
    if "QUARTERSTATS_THREADS" not in os.environ:  # alone on the machine: the default share of the cores
        seq_env.pop("QUARTERSTATS_THREADS")
    t = time.perf_counter()
    done = subprocess.run([str(BIN / "quarterstats"), "run", "--workdir", str(sequential)], env=seq_env,
                          capture_output=True, text=True)
    seconds["sequential_total"] = time.perf_counter() - t
    say("\n".join("  " + line for line in done.stdout.splitlines()))
    if done.returncode != 0:
        say(done.stderr)
        checks["outputs_equal_sequential_run"] = (False, f"the sequential run failed (exit {done.returncode})")
    else:
        checks["outputs_equal_sequential_run"] = compare_outputs(workdir, sequential)
    load = {"after_parallel": load_parallel, "after_sequential": os.getloadavg()[0]}
    return Outcome(keys, day_keys, persons, max_runs, runs, checks, seconds, load)


def print_outcome(outcome: Outcome) -> None:
    s = outcome.seconds
    say("\nChecks")
    for name, (passed, text) in outcome.checks.items():
        say(f"  {'✓' if passed else '✗'} {name}: {text}")
    say("\nWall time (this machine, "
        f"{os.cpu_count()} cores, max_concurrent_runs {outcome.max_concurrent_runs})")
    detail = ("every run through the queue" if "parallel_runs" not in s else
              f"boundaries in process {s['parallel_boundaries']:.1f} s, queued per-date runs "
              f"{s['parallel_runs']:.1f} s, summaries in process {s['parallel_summaries']:.1f} s")
    say(f"  parallel (Dagster run queue): {s['parallel_total']:6.1f} s  ({detail})")
    say(f"  sequential (quarterstats run): {s['sequential_total']:5.1f} s  "
        f"(speed-up {s['sequential_total'] / s['parallel_total']:.2f}×)")
    load = outcome.load_average
    say(f"  1-minute load average after each phase: {load['after_parallel']:.2f}, {load['after_sequential']:.2f} "
        f"(the sequential run alone makes about 1; more means other processes competed for the cores)")
    say("ALL CHECKS PASSED" if outcome.ok else "SOME CHECKS FAILED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--municipalities", type=int, default=3, choices=range(2, len(MUNICIPALITY_KEYS) + 1),
                        help="number of synthetic municipalities (default 3)")
    parser.add_argument("--dates", type=int, default=2, choices=range(2, len(REFERENCE_DATES) + 1),
                        help="reference dates per municipality (default 2)")
    parser.add_argument("--persons", type=int, default=300, help="persons per municipality (default 300)")
    parser.add_argument("--max-concurrent-runs", type=int, default=2, help="the run queue's limit (default 2)")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the first municipality")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the runs (default 900)")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    parser.add_argument("--json", type=Path, help="write the timeline, checks and times as JSON")
    parser.add_argument("--queue-all", action="store_true",
                        help="submit boundaries and summaries through the run queue too, all at once")
    parser.add_argument("--order", choices=["municipalities", "dates"], default="municipalities",
                        help="submission order of the per-date runs: one backfill of all (municipality by "
                             "municipality, the default) or one backfill per date")
    parser.add_argument("--without-municipality-limit", action="store_true",
                        help="control experiment: no per-municipality limit in dagster.yaml (expect failures)")
    args = parser.parse_args(argv)

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        root, cleanup = args.keep.resolve(), None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="quarterstats-parallel-")
        root = Path(cleanup.name)
    try:
        outcome = run_demo(root, municipalities=args.municipalities, dates=args.dates, persons=args.persons,
                           max_runs=args.max_concurrent_runs, seed=args.seed, timeout=args.timeout,
                           queue_all=args.queue_all, municipality_limit=not args.without_municipality_limit,
                           date_major=args.order == "dates")
        print_outcome(outcome)
        if args.json:
            payload = asdict(outcome)
            payload["ok"] = outcome.ok
            args.json.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        return 0 if outcome.ok else 1
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    sys.exit(main())
