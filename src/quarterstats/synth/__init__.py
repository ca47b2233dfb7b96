"""Seeded generator of synthetic register extracts for a Kaiserslautern-like city (the embedded default).

:func:`generate` writes, below ``raw_dir``:

* ``boundaries/districts.gpkg`` — 18 synthetic district polygons (layer ``districts``, EPSG:25832);
* ``register/<YYYY-MM-DD>.parquet`` — one register extract per reference date (contract columns);
* ``synthetic_truth/<YYYY-MM-DD>.parquet`` — each person's true facts, MH/EG status and register gaps;
* ``auxiliary/<YYYY-MM-DD>.csv`` — district aggregates (SGB II, unemployment).

Same inputs and seed give byte-identical files. Modules: ``geography`` (polygons), ``population``
(households and migration histories by origin group), ``dynamics`` (base population and yearly steps),
``register`` (gaps and extract), ``truth`` (true MH/EG), ``auxiliary``, ``params`` (every number).
Sources: ``shared/spec/register-extract.md`` ("The embedded default"), ``migration-background.md`` and
``shared/data/kaiserslautern/`` (district names, anchors, areas, populations).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from quarterstats.atomic import write_text

from . import codes as C
from . import params as P
from .auxiliary import auxiliary_frame, to_csv_text
from .dynamics import World, build_base, step
from .geography import build_geography, write_boundaries
from .register import Keys, snapshot_tables, write_table
from .state import State
from .truth import register_mh_share, truth_at

__all__ = ["GenerationSummary", "generate", "DEFAULT_REFERENCE_DATES"]
DEFAULT_REFERENCE_DATES = P.DEFAULT_REFERENCE_DATES
#: The date the base population represents (its mix of origin groups and histories).
BASE_DATE = date(2016, 12, 31)


@dataclass
class GenerationSummary:
    """What :func:`generate` wrote and the headline figures per reference date (ISO date keys).

    ``foreign_share``: no German nationality. ``mh_share_register``: migration background by the
    register rule with its default parameters (``parent_same_household=True``, birth year = year − age)
    on the register as written, gaps included — a quick cross-check computed inside the generator, not
    by ``quarterstats.migration``. ``mh_share_truth``: the same concept on the true facts (the truth
    files' ``true_has_mh``). ``flows``: births, deaths, moved_in, moved_out and moved_within since the
    previous requested date (persons; moved_within = present at both dates with a new
    ``moved_in_address``). ``seconds``: wall-clock time of the whole call.
    """

    raw_dir: Path
    seed: int
    files: list[Path] = field(default_factory=list)
    persons: dict[str, int] = field(default_factory=dict)
    foreign_share: dict[str, float] = field(default_factory=dict)
    mh_share_register: dict[str, float] = field(default_factory=dict)
    mh_share_truth: dict[str, float] = field(default_factory=dict)
    flows: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0


def generate(raw_dir: Path, *, persons: int = P.DEFAULT_PERSONS, seed: int = P.DEFAULT_SEED,
             reference_dates: Sequence[date] | None = None, register_gaps: bool = True,
             progress: Callable[[str], None] | None = None) -> GenerationSummary:
    """Generate the synthetic default below ``raw_dir`` (folders are created; files written atomically).

    ``persons`` scales every district's published population (100,751 in total) proportionally.
    ``reference_dates`` default to every 31 December 2016–2024; any distinct dates work. The population
    is built as of 2016-12-31 (or the first date, if earlier — the mix is then still that of 2016) and
    simulated forward in yearly steps to the first requested date and from one requested date to the
    next; files are written for the requested dates only. ``register_gaps=False`` writes a register
    equal to the truth fields (no blanked birth country, no ``unknown`` acquisition, every parent in the
    city linked for minors).
    """
    started = time.perf_counter()
    say = progress or (lambda message: None)
    raw_dir = Path(raw_dir)
    dates = sorted(reference_dates) if reference_dates is not None else list(DEFAULT_REFERENCE_DATES)
    if not dates:
        raise ValueError("reference_dates is empty")
    if len(set(dates)) != len(dates):
        raise ValueError("reference_dates contains a date twice")
    if persons < 100:
        raise ValueError("persons must be at least 100")
    summary = GenerationSummary(raw_dir=raw_dir, seed=seed)

    say("geography: laying out 18 districts")
    geo = build_geography()
    summary.files.append(write_boundaries(geo, raw_dir / "boundaries" / "districts.gpkg"))

    population = P.districts()["population_2016"].to_numpy(dtype=float)
    population = population * persons / population.sum()
    world = World(State(), geo, np.random.default_rng(seed), population, register_gaps)
    keys = Keys(seed)
    base = min(dates[0], BASE_DATE)
    burn_in = [date(y, 12, 31) for y in range(base.year + 1, dates[0].year + 1) if date(y, 12, 31) < dates[0]]
    say(f"{base}: base population")
    build_base(world, C.day(base))
    current = base
    for d in burn_in:
        say(f"{d}: one step (not written)")
        step(world, C.day(current), C.day(d))
        current = d

    # Parquet files are written by a background thread while the next step is simulated (pyarrow
    # releases the GIL while encoding); what is written does not depend on the timing.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth-writer") as writer:
        pending = []
        for i, d in enumerate(dates):
            previous = None
            if d != current:
                say(f"{d}: one step of births, deaths and moves")
                previous = (world.state.p["present"].copy(), world.state.p["moved_addr"].copy())
                step(world, C.day(current), C.day(d))
                current = d
            iso = d.isoformat()
            at = C.day(d)
            register, truth = snapshot_tables(world.state, at, keys, register_gaps)
            pending.append(writer.submit(write_table, register, raw_dir / "register" / f"{iso}.parquet"))
            pending.append(writer.submit(write_table, truth, raw_dir / "synthetic_truth" / f"{iso}.parquet"))
            aux_text = to_csv_text(_auxiliary(world, at, seed))
            pending.append(writer.submit(write_text, aux_text, raw_dir / "auxiliary" / f"{iso}.csv"))
            _summarise(summary, world, at, d, previous if i > 0 else None, register_gaps)
            say(f"{d}: {summary.persons[iso]:,} persons, {summary.foreign_share[iso]:.1%} foreign, "
                f"{summary.mh_share_register[iso]:.1%} with MH (register rule)")
        summary.files.extend(future.result() for future in pending)
    summary.seconds = time.perf_counter() - started
    return summary


def _auxiliary(world: World, at: int, seed: int):
    """District aggregates of the residents at day ``at`` (own random stream per date)."""
    state = world.state
    idx = np.flatnonzero(state.p["present"])
    district = state.b["district"][state.h["building"][state.p["hh"][idx]]].astype(np.int64)
    age = C.age_from_key(state.birth_key[idx], at)
    rng = np.random.default_rng([seed, at, 0xA0C])
    return auxiliary_frame(world.geo.district_id, district, age, state.p["group"][idx].astype(np.int64), rng)


def _summarise(summary: GenerationSummary, world: World, at: int, d: date, previous, register_gaps: bool) -> None:
    p = world.state.p
    present = p["present"]
    iso = d.isoformat()
    n = int(present.sum())
    summary.persons[iso] = n
    foreign = (p["nat1"] != C.DEU) & (p["nat2"] != C.DEU)
    summary.foreign_share[iso] = float(foreign[present].mean())
    truth = truth_at(world.state, at)
    summary.mh_share_truth[iso] = float((truth["mh_status"][present] != 3).mean())
    summary.mh_share_register[iso] = register_mh_share(world.state, at, d.year, register_gaps)
    if previous is not None:
        before_present, before_addr = previous
        n_before = len(before_present)
        new = np.zeros(len(present), dtype=bool)
        new[n_before:] = present[n_before:]
        born = new & (p["moved_city"] == C.NO_DATE)
        gone = np.zeros(len(present), dtype=bool)
        gone[:n_before] = before_present & ~present[:n_before]
        stayed = np.zeros(len(present), dtype=bool)
        stayed[:n_before] = before_present & present[:n_before]
        within = stayed.copy()
        within[:n_before] &= p["moved_addr"][:n_before] != before_addr
        summary.flows[iso] = {
            "births": int(born.sum()),
            "deaths": int((gone & ~p["alive"]).sum()),
            "moved_in": int((new & ~born).sum()),
            "moved_out": int((gone & p["alive"]).sum()),
            "moved_within": int(within.sum()),
        }
