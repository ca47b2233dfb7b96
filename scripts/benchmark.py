#!/usr/bin/env python
"""Performance benchmark of the per-date core path: prints figures, asserts nothing.

Run from the repository root::

    .venv/bin/python scripts/benchmark.py                       # 100k, 1M, 4M persons x 18, 450 districts
    .venv/bin/python scripts/benchmark.py --sizes 100000 1000000 --districts 18
    .venv/bin/python scripts/benchmark.py --sizes 4000000 --districts 450 --json bench.json
    .venv/bin/python scripts/benchmark.py --sizes 1000000 --districts 450 --profile   # cProfile hotspots

What it does (details and measured figures: ``docs/performance.md``):

1. Builds its own test data, deterministically (``--seed``), in a scratch folder (``--out``, default a
   temporary directory that is removed afterwards) laid out like a project work folder
   (``data/raw/register/<date>.parquet``, ``data/raw/boundaries/districts.gpkg``,
   ``data/raw/auxiliary/<date>.csv``) so the real pipeline could run on it too
   (``QUARTERSTATS_WORKDIR=<folder> quarterstats ...``). It never writes into the repository's ``data/``.
   Geography: a Voronoi tessellation of seeded points, clipped to a star-shaped city outline with 720
   vertices, edges densified to 25 m and displaced by a smooth field (so boundaries wiggle and have
   hundreds of vertices, like real ones, while neighbours still share their edges exactly). 450 districts:
   890 km² around Berlin (EPSG:25832 x≈798 800, y≈5 828 000); other counts: 140 km² around Kaiserslautern.
   Register: exactly the contract columns and Arrow types; households of 1-6 persons sharing coordinates,
   ≈1 % in institutions (no household), ≈20 % minors linked to parents in the same household, ≈17 %
   foreign, naturalised and resettled Germans, option children, dual nationals, pre-1950 expellees,
   ≈25 % missing birth countries, 0.05 % rows that break a contract rule (quarantine), 0.1 % of minors
   with a dangling parent link (link repair), 0.03 % of households outside the city. A previous
   reference date (one year earlier: the same persons minus births and in-movers of the year, with
   household moves, plus ≈7 % who left since) lets the indicators compute the flows as well.
2. Measures each of the following in a fresh subprocess (peak memory is that process's; imports are
   done and timed before the measurement starts; just before each run every input file is read once,
   so that all measurements start from a warm OS page cache, see ``warm_page_cache``):

   * ``floor``: ``pyarrow.parquet.read_table`` of the extract;
   * ``naive``: what an analyst would write — ``pd.read_parquet`` + ``gpd.read_file`` (districts) +
     ``gpd.points_from_xy`` + ``gpd.sjoin(points, districts, predicate="within")`` + counts per district
     (``groupby("district_id").size()``) and two crosstabs (by sex, by foreign yes/no);
   * ``core``: exactly the code of ``quarterstats.stages`` (no Dagster, no intermediate files):
     ``ingest_register`` -> ``stages.prepare_districts`` (load, validate, natural sort, queen contiguity; once per run,
     reported apart, not in the per-date total) -> ``stages.build_persons`` (steps ``join``, ``migration``, ``assemble``) ->
     ``stages.read_previous_persons`` -> ``stages.build_indicator_tables`` (steps ``match_previous``,
     which starts matching the previous date's person ids in a worker thread, ``segregation``,
     ``indicators`` with previous persons and auxiliary district figures, ``changes`` against the
     previous date's indicator table). Where the core path uses a second thread
     (``quarterstats.background``), its work runs during the steps that follow; with
     ``QUARTERSTATS_THREADS=1`` it is done in the step that starts it. The stage functions take the benchmark's timer, so what is measured cannot
     drift from what the pipeline runs. The previous date's persons and indicator tables are prepared
     beforehand by the same calls (untimed). The stages' own file writes/reads between the steps are
     timed afterwards as ``io`` (informational, not in the core total). Like the pipeline's processes,
     the core process uses the system allocator for Arrow (``quarterstats.memory``).

   Per-step peak RSS: ``/proc/self/clear_refs`` is reset before each step and ``VmHWM`` read after it,
   so a step's peak is the process's high-water mark during that step (Linux). Wall times are the best
   of ``--repeat`` runs (the run with the lowest total). The runs go in rounds of floor, naive and
   core, so that a slow phase of a shared VM slows all three alike, and each round's own core/naive
   ratio is printed too (at 100,000 persons both take about 0.3 s, and which is faster can depend on
   the minute more than on the code); CPU time (all threads) and the 1-minute load
   average are recorded beside them, because other processes may share the machine. Every core run
   records a fingerprint of the quarterstats source it imported (git HEAD, local changes, hash).
3. Prints a table (size, districts, step, wall seconds, persons/s, peak RSS MB), the ratios core/naive
   and core/floor, and the targets of the issue as met / not met; ``--json FILE`` writes all figures.

The figures depend on the machine; the script never fails because a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

REFERENCE_DATE = date(2024, 12, 31)
PREVIOUS_DATE = date(2023, 12, 31)
GENERATOR_VERSION = 3  # bump when the generated data change (invalidates cached data in --out)
ID_MODULUS = 10**10
ID_MULTIPLIER = 7_474_119_133  # coprime with 10**10: i -> (i * m + c) mod 10**10 is a bijection
PERSON_BLOCK = 500_000_000  # person/household numbers of the "departed" block start here
DANGLING_BASE = 900_000_000  # parent links to these numbers name nobody

# ------------------------------------------------------------------------------------------------
# vocabularies (codes are indices into these tuples; -1 = null)

SEX = ("m", "w", "d", "x")
ACQ = ("birth", "naturalisation", "option", "resettler", "adoption", "declaration", "unknown")
MARITAL = ("ledig", "verheiratet", "verwitwet", "geschieden", "lebenspartnerschaft", "unbekannt")
#: (code, weight) of the nationality of foreign / naturalised households (roughly a big German city).
ORIGIN_WEIGHTS = (
    ("TUR", 14), ("POL", 8), ("SYR", 8), ("UKR", 8), ("ROU", 5), ("ITA", 5), ("BGR", 4), ("RUS", 4),
    ("HRV", 3), ("GRC", 3), ("AFG", 3), ("IRQ", 3), ("SRB", 3), ("VNM", 3), ("USA", 2), ("FRA", 2),
    ("ESP", 2), ("IND", 3), ("CHN", 2), ("GBR", 2), ("BIH", 2), ("XKX", 2), ("IRN", 2), ("LBN", 2),
    ("EGY", 1), ("NGA", 1), ("ERI", 1), ("AUT", 1), ("NLD", 1), ("PRT", 1), ("MAR", 1), ("XXA", 1),
    ("XXX", 0.5),
)
RESETTLER_WEIGHTS = (("KAZ", 5), ("RUS", 4), ("POL", 3), ("ROU", 1), ("UKR", 1))
EXPELLEE_WEIGHTS = (("POL", 6), ("CZE", 3), ("RUS", 1), ("ROU", 1))
COUNTRIES = tuple(dict.fromkeys(
    ["DEU"] + [c for c, _ in ORIGIN_WEIGHTS + RESETTLER_WEIGHTS + EXPELLEE_WEIGHTS] + ["ZZZ"]
))  # "ZZZ" is no country: used only for the deliberately broken rows
C = {code: i for i, code in enumerate(COUNTRIES)}

#: Household types: single, couple, single parent, couple with children, flat share.
HOUSEHOLD_TYPE_P = (0.45, 0.26, 0.07, 0.15, 0.07)
NULL_DAY = np.iinfo(np.int32).min


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _weights(pairs) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array([C[c] for c, _ in pairs], dtype=np.int16)
    w = np.array([w for _, w in pairs], dtype=float)
    return codes, w / w.sum()


def _sample_rows(rng: np.random.Generator, cls: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One category per row from the probability row ``probs[cls]`` (vectorised inverse CDF)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(cls))
    return (u[:, None] >= cum[cls]).sum(axis=1)


# ------------------------------------------------------------------------------------------------
# geography


@dataclass(frozen=True)
class CityShape:
    name: str
    centre: tuple[float, float]
    area_km2: float


BERLIN = CityShape("Berlin-like", (798_800.0, 5_828_000.0), 890.0)
KAISERSLAUTERN = CityShape("Kaiserslautern-like", (410_800.0, 5_477_100.0), 140.0)


def city_for(districts: int) -> CityShape:
    return BERLIN if districts >= 100 else KAISERSLAUTERN


def make_geography(n_districts: int, seed: int):
    """(districts GeoDataFrame in EPSG:25832, city polygon, seed points) — deterministic in ``seed``."""
    import geopandas as gpd
    import shapely

    shape = city_for(n_districts)
    rng = np.random.default_rng([seed, n_districts, 1])
    cx, cy = shape.centre
    # star-shaped outline: radius with a few smooth harmonics plus fine noise, scaled to the target area
    k = 720
    theta = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
    radius = np.ones(k)
    for harmonic in (2, 3, 5, 7):
        radius += rng.uniform(0.02, 0.08) * np.sin(harmonic * theta + rng.uniform(0, 2 * np.pi))
    radius += rng.normal(0.0, 0.004, k)
    ring = np.column_stack([np.cos(theta) * radius, np.sin(theta) * radius])
    unit = shapely.Polygon(ring)
    scale = np.sqrt(shape.area_km2 * 1e6 / unit.area)
    city = shapely.Polygon(np.column_stack([cx + ring[:, 0] * scale, cy + ring[:, 1] * scale]))
    # district seeds: denser towards the centre (inner districts are smaller)
    seeds = _points_in(rng, city, n_districts, centre=shape.centre, spread=0.45 * scale, uniform_share=0.5)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=city))
    # assign each cell to its seed (deterministic order: the seed order)
    tree = shapely.STRtree(cells)
    seed_idx, cell_idx = tree.query(shapely.points(seeds), predicate="intersects")
    order = np.full(n_districts, -1)
    order[seed_idx] = cell_idx
    cells = shapely.intersection(cells[order], city)
    # densify (25 m) and displace with a smooth field: shared edges stay shared (same input coordinates)
    cells = shapely.segmentize(cells, 25.0)
    phase = rng.uniform(0, 2 * np.pi, 4)

    def wiggle(coords: np.ndarray) -> np.ndarray:
        x, y = coords[:, 0], coords[:, 1]
        dx = 25.0 * np.sin(x / 230.0 + phase[0]) * np.cos(y / 310.0 + phase[1])
        dy = 25.0 * np.sin(y / 270.0 + phase[2]) * np.cos(x / 190.0 + phase[3])
        return np.column_stack([x + dx, y + dy])

    cells = shapely.transform(cells, wiggle)
    city = shapely.transform(shapely.segmentize(city, 25.0), wiggle)
    # district ids in a north-west to south-east reading order, zero-padded ("001".."450", "01".."18")
    rep = shapely.get_coordinates(shapely.point_on_surface(cells))
    band = np.floor((rep[:, 1].max() - rep[:, 1]) / (scale * 0.25)).astype(int)
    ranked = np.lexsort((rep[:, 0], band))
    width = max(2, len(str(n_districts)))
    ids = np.empty(n_districts, dtype=object)
    ids[ranked] = [f"{i + 1:0{width}d}" for i in range(n_districts)]
    frame = gpd.GeoDataFrame(
        {"district_id": ids, "name": [f"Bezirk {i}" for i in ids]}, geometry=cells, crs="EPSG:25832"
    ).sort_values("district_id").reset_index(drop=True)
    return frame, city, seeds


def _points_in(rng, polygon, k: int, *, centre, spread: float, uniform_share: float) -> np.ndarray:
    """``k`` points inside ``polygon``: a share uniform, the rest normal around ``centre`` (rejection)."""
    import shapely

    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    out, have = [], 0
    while have < k:  # loops over batches, not persons
        m = max(64, int((k - have) * 1.6))
        uniform = rng.random(m) < uniform_share
        x = np.where(uniform, rng.uniform(minx, maxx, m), rng.normal(centre[0], spread, m))
        y = np.where(uniform, rng.uniform(miny, maxy, m), rng.normal(centre[1], spread, m))
        inside = shapely.contains_xy(polygon, x, y)
        out.append(np.column_stack([x[inside], y[inside]]))
        have += int(inside.sum())
    return np.concatenate(out)[:k]


def _household_points(rng, city, seeds: np.ndarray, k: int) -> np.ndarray:
    """Household locations: clustered around the district seeds (70 %) and uniform (30 %), in the city."""
    import shapely

    minx, miny, maxx, maxy = city.bounds
    sigma = 0.35 * np.sqrt(city.area / len(seeds))
    shapely.prepare(city)
    out, have = [], 0
    while have < k:
        m = max(64, int((k - have) * 1.5))
        clustered = rng.random(m) < 0.7
        s = seeds[rng.integers(0, len(seeds), m)]
        x = np.where(clustered, s[:, 0] + rng.normal(0, sigma, m), rng.uniform(minx, maxx, m))
        y = np.where(clustered, s[:, 1] + rng.normal(0, sigma, m), rng.uniform(miny, maxy, m))
        inside = shapely.contains_xy(city, x, y)
        out.append(np.column_stack([x[inside], y[inside]]))
        have += int(inside.sum())
    return np.round(np.concatenate(out)[:k], 1)  # decimetres, as registers deliver them


# ------------------------------------------------------------------------------------------------
# register extract


def _adult_ages(rng, k: int) -> np.ndarray:
    a = np.arange(18, 101)
    w = np.exp(-0.5 * ((a - 34) / 12.0) ** 2) + 0.85 * np.exp(-0.5 * ((a - 60) / 15.0) ** 2)
    w = np.where(a >= 85, w * np.exp(-(a - 85) / 5.0), w)
    return rng.choice(a, size=k, p=w / w.sum()).astype(np.int16)


def generate_population(n: int, reference_date: date, seed: int, block: int, city, seeds) -> dict:
    """Columns of ``n`` persons as numpy arrays (codes / numbers; see :func:`to_arrow`), plus helpers.

    Vectorised: households are drawn first, persons are their members (``np.repeat``); every attribute is
    drawn per household or per person with array operations.
    """
    rng = np.random.default_rng([seed, block, n])
    ref = _days(reference_date)
    year = reference_date.year
    n_inst = int(round(0.01 * n))
    n_hh_persons = n - n_inst

    # ---- households ------------------------------------------------------------------------------
    h_est = int(n_hh_persons / 1.8) + 16
    htype = rng.choice(5, size=h_est, p=HOUSEHOLD_TYPE_P).astype(np.int8)
    adults = np.select([htype == 0, htype == 1, htype == 2, htype == 3], [1, 2, 1, 2], rng.integers(2, 5, h_est))
    kids = np.select(
        [htype == 2, htype == 3],
        [1 + (rng.random(h_est) < 0.5), rng.choice([1, 2, 3, 4], size=h_est, p=[0.4, 0.4, 0.15, 0.05])],
        0,
    )
    size = adults + kids
    cum = np.cumsum(size)
    while cum[-1] < n_hh_persons:  # (never in practice: h_est has 3 % slack)
        htype, adults, kids, size = (np.concatenate([a, a]) for a in (htype, adults, kids, size))
        cum = np.cumsum(size)
    n_h = int(np.searchsorted(cum, n_hh_persons) + 1)
    htype, adults, kids, size = htype[:n_h], adults[:n_h], kids[:n_h], size[:n_h].copy()
    size[-1] -= cum[n_h - 1] - n_hh_persons
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    hh = np.repeat(np.arange(n_h), size)
    rank = np.arange(n_hh_persons) - start[hh]
    adult = rank < adults[hh]
    child = ~adult
    ht = htype[hh]

    # household group: 0 native German, 1 naturalised, 2 resettler, 3 foreign
    hgroup = rng.choice(4, size=n_h, p=[0.73, 0.07, 0.03, 0.17])
    o_codes, o_p = _weights(ORIGIN_WEIGHTS)
    r_codes, r_p = _weights(RESETTLER_WEIGHTS)
    hcountry = np.where(hgroup == 2, rng.choice(r_codes, n_h, p=r_p), rng.choice(o_codes, n_h, p=o_p))
    hmove = ref - np.minimum((rng.exponential(9.0, n_h) * 365.25).astype(np.int32), 80 * 365)
    mixed = (hgroup == 0) & (adults >= 2) & (rng.random(n_h) < 0.08)  # partner of another nationality
    partner_country = rng.choice(o_codes, n_h, p=o_p)
    hxy = _household_points(rng, city, seeds, n_h)
    outside = rng.random(n_h) < 0.0003
    if outside.any():  # a few households geocoded just outside the city (quarantined by location)
        minx, miny, maxx, maxy = city.bounds
        hxy[outside, 0] = maxx + rng.uniform(200, 2000, int(outside.sum()))

    # ---- ages, sex, links --------------------------------------------------------------------------
    age = _adult_ages(rng, n_hh_persons)
    parent_age = rng.integers(22, 51, n_h)
    with_kids = (htype == 2) | (htype == 3)
    first = rank == 0
    second = rank == 1
    age = np.where(first & with_kids[hh], parent_age[hh], age)
    partner_age = np.clip(age[np.maximum(np.arange(n_hh_persons) - 1, 0)] + rng.normal(2.0, 4.0, n_hh_persons), 18, 100)
    age = np.where(second & ((ht == 1) | (ht == 3)), partner_age.astype(np.int16), age)
    lo = np.maximum(0, parent_age[hh] - 45)
    hi = np.minimum(17, parent_age[hh] - 16)
    age = np.where(child, rng.integers(lo, hi + 1), age).astype(np.int16)

    sex = _sample_rows(rng, np.zeros(n_hh_persons, dtype=int), np.array([[0.4965, 0.4965, 0.002, 0.005]]))
    single_father = (htype == 2) & (rng.random(n_h) < 0.12)
    sex = np.where(first & ((ht == 3) | ((ht == 2) & ~single_father[hh])), 1, sex)
    sex = np.where(first & single_father[hh], 0, sex)
    sex = np.where(second & (ht == 3), 0, sex)

    pid = np.arange(n_hh_persons, dtype=np.int64)
    mother = np.where(child & ~single_father[hh], start[hh], -1)
    father = np.where(child & (ht == 3), start[hh] + 1, np.where(child & single_father[hh], start[hh], -1))
    father = np.where(rng.random(n_hh_persons) < 0.08, -1, father)  # father registered elsewhere
    dangling = child & (rng.random(n_hh_persons) < 0.001)
    mother = np.where(dangling, DANGLING_BASE + pid, mother)

    # ---- nationality, acquisition, birth country, immigration ----------------------------------------
    g = hgroup[hh]
    hc = hcountry[hh]
    birth_year = year - age.astype(np.int32)
    u = rng.random(n_hh_persons)
    nat1 = np.full(n_hh_persons, C["DEU"], dtype=np.int16)
    nat2 = np.full(n_hh_persons, -1, dtype=np.int16)
    acq = np.zeros(n_hh_persons, dtype=np.int16)  # birth
    bc = np.full(n_hh_persons, C["DEU"], dtype=np.int16)
    immigrant = np.zeros(n_hh_persons, dtype=bool)

    foreign_partner = mixed[hh] & second
    born_abroad_child = child & (rng.random(n_hh_persons) < 0.45)
    # foreign households: adults and children born abroad are foreign; children born here: 40 % option Germans
    f = (g == 3) & (adult | born_abroad_child)
    f_child_here = (g == 3) & child & ~born_abroad_child
    option = f_child_here & (u < 0.4)
    nat1 = np.where(f | (f_child_here & ~option), hc, nat1)
    nat1 = np.where(foreign_partner, partner_country[hh], nat1)
    nat2 = np.where(option, hc, nat2)
    acq = np.where(option, ACQ.index("option"), acq)
    bc = np.where(f, hc, np.where(foreign_partner, partner_country[hh], bc))
    immigrant |= f | foreign_partner
    # naturalised households: adults naturalised (35 % keep the old nationality), children born here
    nat_adult = (g == 1) & adult
    acq = np.where(nat_adult, ACQ.index("naturalisation"), acq)
    nat2 = np.where(nat_adult & (u < 0.35), hc, nat2)
    bc = np.where(nat_adult, hc, bc)
    immigrant |= nat_adult
    # resettler households
    res_adult = (g == 2) & adult
    acq = np.where(res_adult, ACQ.index("resettler"), acq)
    bc = np.where(res_adult, hc, bc)
    immigrant |= res_adult
    # children of mixed couples: 50 % dual nationals
    mixed_child = mixed[hh] & child & (u < 0.5)
    nat2 = np.where(mixed_child, partner_country[hh], nat2)
    # native Germans born before 1950 abroad (expellees), a few Germans by declaration / adoption / unknown
    e_codes, e_p = _weights(EXPELLEE_WEIGHTS)
    expellee = (g == 0) & ~foreign_partner & (birth_year < 1950) & (rng.random(n_hh_persons) < 0.25)
    bc = np.where(expellee, rng.choice(e_codes, n_hh_persons, p=e_p), bc)
    german = nat1 == C["DEU"]
    v = rng.random(n_hh_persons)
    acq = np.where(german & (acq == 0) & (v < 0.02), ACQ.index("unknown"), acq)
    acq = np.where(german & (acq == 0) & (v > 0.997), ACQ.index("declaration"), acq)
    acq = np.where(german & (acq == 0) & (v > 0.9965) & (v <= 0.997), ACQ.index("adoption"), acq)
    acq = np.where(german, acq, -1)
    nat2 = np.where(~german & (nat2 < 0) & (rng.random(n_hh_persons) < 0.02), C["TUR"], nat2)
    nat2 = np.where(nat2 == nat1, -1, nat2)
    bc = np.where(rng.random(n_hh_persons) < 0.25, -1, bc)  # birth country often missing

    imm_lo = np.maximum(birth_year, 1960)
    imm = imm_lo + np.floor(rng.random(n_hh_persons) ** 0.6 * (year - imm_lo + 1)).astype(np.int32)
    imm = np.where(immigrant, np.minimum(imm, year), -1).astype(np.int16)
    origin = np.where(immigrant, np.where(nat1 != C["DEU"], nat1, hc), -1).astype(np.int16)

    # ---- dates -----------------------------------------------------------------------------------
    birth_day = (ref - age.astype(np.int64) * 365.25 - rng.integers(0, 365, n_hh_persons)).astype(np.int64)
    jan1 = np.array([_days(date(y, 1, 1)) for y in range(1900, year + 1)], dtype=np.int64)
    imm_day = jan1[np.clip(imm.astype(np.int64) - 1900, 0, len(jan1) - 1)] + rng.integers(0, 365, n_hh_persons)
    later = rng.random(n_hh_persons) < 0.3
    imm_day = imm_day + np.where(later, (rng.exponential(3.0, n_hh_persons) * 365.25).astype(np.int64), 0)
    native_since_birth = rng.random(n_hh_persons) < np.where(child, 0.7, 0.35)
    native_day = ref - (rng.exponential(12.0, n_hh_persons) * 365.25).astype(np.int64)
    mic = np.where(immigrant, imm_day, np.where(native_since_birth, NULL_DAY, native_day))
    mic = np.where(mic == NULL_DAY, mic, np.clip(mic, birth_day, ref))
    mia = np.maximum(hmove[hh], np.where(mic == NULL_DAY, birth_day, mic))
    mia = np.minimum(mia, ref)

    # ---- marital status ------------------------------------------------------------------------------
    couple = (ht == 1) | (ht == 3)
    cls = np.select([child, couple & (rank < 2), age < 30, age < 60], [0, 1, 2, 3], 4)
    probs = np.array([
        [1.0, 0, 0, 0, 0, 0],
        [0.22, 0.71, 0.0, 0.05, 0.015, 0.005],
        [0.95, 0.03, 0.0, 0.015, 0.002, 0.003],
        [0.55, 0.10, 0.05, 0.29, 0.007, 0.003],
        [0.15, 0.25, 0.40, 0.19, 0.005, 0.005],
    ])
    marital = _sample_rows(rng, cls, probs)

    cols = dict(
        pid=pid, household=hh.astype(np.int64), age=age, sex=sex, nat1=nat1, nat2=nat2, acq=acq, bc=bc,
        imm=imm, origin=origin, mic=mic, mia=mia, mother=mother.astype(np.int64),
        father=father.astype(np.int64), marital=marital, x=hxy[hh, 0], y=hxy[hh, 1],
        hmove=hmove[hh], birth_day=birth_day,
    )
    inst = _institutions(rng, n_inst, n_hh_persons, n_h, ref, year, city, seeds)
    cols = {k: np.concatenate([cols[k], inst[k]]) for k in cols}
    _break_rows(rng, cols, ref)
    cols["block"] = block
    return cols


def _institutions(rng, k: int, pid0: int, hh0: int, ref: int, year: int, city, seeds) -> dict:
    """Persons without a household: students' halls and care homes, many per address."""
    if k == 0:
        return {name: np.zeros(0, dtype=dt) for name, dt in (
            ("pid", np.int64), ("household", np.int64), ("age", np.int16), ("sex", np.int64),
            ("nat1", np.int16), ("nat2", np.int16), ("acq", np.int16), ("bc", np.int16), ("imm", np.int16),
            ("origin", np.int16), ("mic", np.int64), ("mia", np.int64), ("mother", np.int64),
            ("father", np.int64), ("marital", np.int64), ("x", np.float64), ("y", np.float64),
            ("hmove", np.int64), ("birth_day", np.int64))}
    sites = _household_points(rng, city, seeds, max(1, k // 150))
    site = rng.integers(0, len(sites), k)
    student = rng.random(k) < 0.5
    age = np.where(student, rng.integers(19, 28, k), rng.integers(75, 100, k)).astype(np.int16)
    o_codes, o_p = _weights(ORIGIN_WEIGHTS)
    foreign = rng.random(k) < 0.2
    nat1 = np.where(foreign, rng.choice(o_codes, k, p=o_p), C["DEU"]).astype(np.int16)
    birth_day = (ref - age.astype(np.int64) * 365.25 - rng.integers(0, 365, k)).astype(np.int64)
    mia = ref - np.minimum((rng.exponential(2.0, k) * 365.25).astype(np.int64), age.astype(np.int64) * 365)
    imm = np.where(foreign, np.minimum(year, year - rng.integers(0, 6, k)), -1).astype(np.int16)
    return dict(
        pid=pid0 + np.arange(k, dtype=np.int64), household=np.full(k, -1, dtype=np.int64), age=age,
        sex=rng.integers(0, 2, k), nat1=nat1, nat2=np.full(k, -1, dtype=np.int16),
        acq=np.where(foreign, -1, 0).astype(np.int16), bc=np.where(foreign, nat1, C["DEU"]).astype(np.int16),
        imm=imm, origin=np.where(foreign, nat1, -1).astype(np.int16),
        mic=np.where(foreign, mia, NULL_DAY).astype(np.int64), mia=mia, mother=np.full(k, -1, dtype=np.int64),
        father=np.full(k, -1, dtype=np.int64), marital=np.where(student, 0, 2), x=sites[site, 0],
        y=sites[site, 1], hmove=mia, birth_day=birth_day,
    )


def _break_rows(rng, cols: dict, ref: int) -> None:
    """0.05 % of rows break one contract rule each (unknown country code, age 125, future address date)."""
    n = len(cols["pid"])
    k = int(round(0.0005 * n))
    if k == 0:
        return
    rows = rng.choice(n, size=k, replace=False)
    kind = np.arange(k) % 3
    cols["nat1"][rows[kind == 0]] = C["ZZZ"]
    cols["age"][rows[kind == 1]] = 125
    cols["mia"][rows[kind == 2]] = ref + 30


def derive_previous(current: dict, departed: dict, previous_date: date, seed: int, city, seeds) -> dict:
    """The extract one year earlier: current persons minus the year's births and in-movers, ages - 1,
    households that moved since then at their old address, plus persons who have left since."""
    rng = np.random.default_rng([seed, 99])
    prev = _days(previous_date)
    mic, age = current["mic"], current["age"]
    keep = ~((mic != NULL_DAY) & (mic > prev)) & ~((mic == NULL_DAY) & (age <= 0))
    cols = {k: v[keep] for k, v in current.items() if isinstance(v, np.ndarray)}
    cols["age"] = np.where(cols["age"] > 0, cols["age"] - 1, 0).astype(np.int16)
    moved = cols["mia"] > prev
    # households that moved within the city: previous address elsewhere in the city
    hh_key = np.where(cols["household"] >= 0, cols["household"], -2 - np.arange(len(moved)))
    uniq, inverse = np.unique(hh_key, return_inverse=True)
    slot = np.full(len(uniq), -1)
    moved_h = np.unique(inverse[moved])
    slot[moved_h] = np.arange(len(moved_h))
    old_xy = _household_points(rng, city, seeds, max(1, len(moved_h)))
    where = np.maximum(slot[inverse], 0)
    cols["x"] = np.where(moved, old_xy[where, 0], cols["x"])
    cols["y"] = np.where(moved, old_xy[where, 1], cols["y"])
    lo = np.where(cols["mic"] == NULL_DAY, cols["birth_day"], cols["mic"])
    lo = np.minimum(lo, prev)
    old_day = lo + np.floor(rng.random(len(lo)) * (prev - lo + 1)).astype(np.int64)
    cols["mia"] = np.where(moved, old_day, cols["mia"])
    cols["imm"] = np.where(cols["imm"] > previous_date.year, -1, cols["imm"]).astype(np.int16)
    return {k: np.concatenate([cols[k], departed[k]]) for k in cols}


def _ids(prefix: str, numbers: np.ndarray):
    """Pseudonyms ``<prefix><10 digits>`` (a bijection of the number), null for -1 (Arrow kernels)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = numbers < 0
    a = np.where(mask, 0, numbers).astype(np.int64) % ID_MODULUS
    hi, lo = divmod(ID_MULTIPLIER, 100_000)  # (a * m) mod M without int64 overflow: all terms < 1e15
    scrambled = ((a * hi % ID_MODULUS) * 100_000 + a * lo + 12_345) % ID_MODULUS
    text = pc.utf8_lpad(pc.cast(pa.array(scrambled, mask=mask), pa.string()), 10, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _coded(codes: np.ndarray, vocabulary: tuple[str, ...]):
    import pyarrow as pa

    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(vocabulary, pa.string())).cast(pa.string())


def register_schema():
    """The extract's Arrow schema, from the contract (string / int16 / float64 / date32)."""
    import pyarrow as pa

    from quarterstats import contract

    kinds = {"string": pa.string(), "integer": pa.int16(), "number": pa.float64(), "date": pa.date32()}
    return pa.schema([(c.name, kinds[c.kind]) for c in contract.COLUMNS])


def to_arrow(cols: dict):
    """The columns as an Arrow table with exactly the contract's columns and types."""
    import pyarrow as pa

    base = PERSON_BLOCK * np.asarray(cols["block"], dtype=np.int64)  # scalar, or one per row

    def number(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        return np.where(values < 0, -1, np.where(values >= DANGLING_BASE, values, values + base))

    def day(values: np.ndarray):
        values = np.asarray(values, dtype=np.int64)
        return pa.array(values.astype(np.int32), mask=values == NULL_DAY).cast(pa.date32())

    def small(values: np.ndarray):
        values = np.asarray(values)
        return pa.array(values.astype(np.int16), mask=values < 0)

    arrays = {
        "person_id": _ids("P", number(cols["pid"])),
        "household_id": _ids("H", number(cols["household"])),
        "age": pa.array(cols["age"].astype(np.int16)),
        "sex": _coded(cols["sex"], SEX),
        "nationality_1": _coded(cols["nat1"], COUNTRIES),
        "nationality_2": _coded(cols["nat2"], COUNTRIES),
        "german_acquisition": _coded(cols["acq"], ACQ),
        "birth_country": _coded(cols["bc"], COUNTRIES),
        "immigration_year": small(cols["imm"]),
        "origin_country": _coded(cols["origin"], COUNTRIES),
        "moved_in_city": day(cols["mic"]),
        "moved_in_address": day(cols["mia"]),
        "mother_id": _ids("P", number(cols["mother"])),
        "father_id": _ids("P", number(cols["father"])),
        "marital_status": _coded(cols["marital"], MARITAL),
        "x": pa.array(cols["x"].astype(np.float64)),
        "y": pa.array(cols["y"].astype(np.float64)),
    }
    schema = register_schema()
    return pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)


def auxiliary_frame(district_ids, persons_per_district: np.ndarray, seed: int):
    """Plausible auxiliary district figures (SGB II recipients, unemployed, children in SGB II)."""
    import pandas as pd

    rng = np.random.default_rng([seed, 7])
    pop = np.asarray(persons_per_district, dtype=float)
    rate = rng.uniform(0.03, 0.22, len(pop))
    return pd.DataFrame({
        "district_id": list(district_ids),
        "sgb2_recipients_under65": np.round(pop * 0.8 * rate).astype(int),
        "unemployed": np.round(pop * 0.65 * rate * 0.45).astype(int),
        "children_under15_in_sgb2": np.round(pop * 0.13 * rate * 1.6).astype(int),
    })


def build_dataset(folder: Path, n: int, n_districts: int, seed: int, log) -> dict:
    """Write the scratch project (extracts for two dates, boundaries, auxiliary figures); reuse it when
    a manifest with the same parameters is already there."""
    import pyarrow.parquet as pq

    manifest_path = folder / "manifest.json"
    wanted = {"generator_version": GENERATOR_VERSION, "persons": n, "districts": n_districts, "seed": seed}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if {k: manifest.get(k) for k in wanted} == wanted:
            log(f"  reusing data in {folder}")
            return manifest
    if folder.exists():
        shutil.rmtree(folder)
    raw = folder / "data" / "raw"
    for sub in ("register", "boundaries", "auxiliary"):
        (raw / sub).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    districts, city, seeds = make_geography(n_districts, seed)
    districts.to_file(raw / "boundaries" / "districts.gpkg", layer="districts", driver="GPKG")
    t1 = time.perf_counter()
    current = generate_population(n, REFERENCE_DATE, seed, 0, city, seeds)
    t2 = time.perf_counter()
    table = to_arrow(current)
    pq.write_table(table, raw / "register" / f"{REFERENCE_DATE.isoformat()}.parquet")
    t3 = time.perf_counter()
    departed = generate_population(int(round(0.07 * n)), PREVIOUS_DATE, seed, 1, city, seeds)
    previous = derive_previous(current, departed, PREVIOUS_DATE, seed, city, seeds)
    previous["block"] = np.concatenate([np.zeros(len(previous["pid"]) - len(departed["pid"]), dtype=np.int64),
                                        np.ones(len(departed["pid"]), dtype=np.int64)])
    pq.write_table(to_arrow(previous), raw / "register" / f"{PREVIOUS_DATE.isoformat()}.parquet")
    t4 = time.perf_counter()
    # auxiliary figures per district, from the persons' locations
    from quarterstats.spatial import assign_districts

    district_index = assign_districts(current["x"], current["y"], districts).district_index
    per_district = np.bincount(district_index + 1, minlength=len(districts) + 1)[1:]
    for day in (PREVIOUS_DATE, REFERENCE_DATE):
        auxiliary_frame(districts["district_id"], per_district, seed + day.year).to_csv(
            raw / "auxiliary" / f"{day.isoformat()}.csv", sep=";", index=False)
    manifest = dict(
        wanted, city=city_for(n_districts).name, city_area_km2=round(city.area / 1e6, 1),
        reference_date=REFERENCE_DATE.isoformat(), previous_date=PREVIOUS_DATE.isoformat(),
        rows_current=table.num_rows, rows_previous=len(previous["pid"]),
        extract_mb=round((raw / "register" / f"{REFERENCE_DATE.isoformat()}.parquet").stat().st_size / 1e6, 1),
        generation_seconds={"geography": round(t1 - t0, 2), "persons": round(t2 - t1, 2),
                            "arrow_and_write": round(t3 - t2, 2), "previous_date": round(t4 - t3, 2)},
    )
    manifest_path.write_text(json.dumps(manifest, indent=2))
    log(f"  generated {n:,} persons, {n_districts} districts in {t4 - t0:.1f} s "
        f"(persons {t2 - t1:.1f} s, arrow+write {t3 - t2:.1f} s) -> {folder}")
    return manifest


# ------------------------------------------------------------------------------------------------
# measurement workers (run in a fresh interpreter: `benchmark.py --worker KIND --folder DIR`)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class StepTimer:
    """Wall time and peak RSS (VmHWM after resetting it) of each step."""

    def __init__(self) -> None:
        self.steps: dict[str, dict] = {}
        self.resettable = _reset_peak()
        self.baseline_mb = _rss_kib("VmRSS") / 1024

    def run(self, name: str, fn, *args, **kwargs):
        _reset_peak()
        load = os.getloadavg()[0]
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - t0
        self.steps[name] = {
            "seconds": seconds,
            "cpu_seconds": time.process_time() - c0,  # all threads of this process
            "load_average_1min": load,
            "peak_rss_mb": _rss_kib("VmHWM") / 1024,
            "rss_after_mb": _rss_kib("VmRSS") / 1024,
        }
        return result


def code_fingerprint() -> dict:
    """What code was measured: git HEAD, whether src/ had local changes, and a hash of the loaded
    quarterstats modules' source (others may be editing the tree while the benchmark runs)."""
    import hashlib

    repo = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in sorted(m for m in sys.modules if m.split(".")[0] == "quarterstats"):
        file = getattr(sys.modules[name], "__file__", None)
        if file and file.endswith(".py"):
            digest.update(name.encode())
            digest.update(Path(file).read_bytes())
    info = {"modules_sha256": digest.hexdigest()[:12]}
    try:
        info["git_head"] = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "src"],
                                 capture_output=True, text=True, timeout=10).stdout.splitlines()
        info["src_changes"] = len(changed)
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _worker(kind: str, folder: Path, profile: Path | None) -> dict:
    t_import = time.perf_counter()
    extract = folder / "data" / "raw" / "register" / f"{REFERENCE_DATE.isoformat()}.parquet"
    boundary_file = folder / "data" / "raw" / "boundaries" / "districts.gpkg"
    out: dict = {"kind": kind}
    if kind == "floor":
        import pyarrow.dataset  # noqa: F401  (read_table imports it lazily on first use: 0.35 s)
        import pyarrow.parquet as pq

        out["import_seconds"] = time.perf_counter() - t_import
        timer = StepTimer()
        table = timer.run("read_table", pq.read_table, extract)
        out["rows"] = table.num_rows
    elif kind == "naive":
        import geopandas as gpd
        import pandas as pd

        out["import_seconds"] = time.perf_counter() - t_import
        timer = StepTimer()
        persons = timer.run("read_parquet", pd.read_parquet, extract)
        districts = timer.run("read_districts", gpd.read_file, boundary_file)

        def make_points():
            return gpd.GeoDataFrame(persons, geometry=gpd.points_from_xy(persons["x"], persons["y"]),
                                    crs=districts.crs)

        points = timer.run("points_from_xy", make_points)
        joined = timer.run("sjoin", gpd.sjoin, points, districts[["district_id", "geometry"]],
                           how="inner", predicate="within")

        def counts():
            total = joined.groupby("district_id").size()
            by_sex = pd.crosstab(joined["district_id"], joined["sex"])
            foreign = joined["nationality_1"].ne("DEU") & joined["nationality_2"].ne("DEU")
            by_foreign = pd.crosstab(joined["district_id"], foreign.rename("foreign"))
            return total, by_sex, by_foreign

        total, _, _ = timer.run("groupby_crosstab", counts)
        out["rows"] = len(persons)
        out["persons_in_districts"] = int(total.sum())
    elif kind in ("core", "prepare_previous"):
        import pandas as pd

        from quarterstats import atomic
        from quarterstats.ingest import ingest_register
        from quarterstats.paths import ProjectPaths
        from quarterstats.stages import (
            build_indicator_tables, build_persons, prepare_districts, read_auxiliary, read_previous_persons,
        )
        import quarterstats.autocorrelation  # noqa: F401  (imported lazily by the stages: esda, libpysal)
        import quarterstats.indicators.segregation  # noqa: F401

        paths = ProjectPaths(folder)
        out["import_seconds"] = time.perf_counter() - t_import
        out["code_fingerprint"] = code_fingerprint()
        out["arrow_memory_pool"] = __import__("pyarrow").default_memory_pool().backend_name
        day = PREVIOUS_DATE if kind == "prepare_previous" else REFERENCE_DATE
        extract = paths.register_file(day)
        timer = StepTimer()
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()

        # --- ingest_stage (without its writes)
        result = timer.run("ingest", ingest_register, extract, day, max_quarantine_share=1.0)

        # --- boundaries_stage (once per run): load, validate, natural order, queen contiguity
        districts, report, neighbours = timer.run("boundaries", prepare_districts, boundary_file)

        # --- persons_stage: the stage's own composition, each step timed (join, migration, assemble)
        persons, location = build_persons(result.accepted, districts, day, timed=timer.run)
        outside, ambiguous = location.outside, location.ambiguous
        out.update(
            rows=result.input_rows, accepted=result.accepted_rows, quarantined=result.quarantined_rows,
            outside=len(outside), ambiguous=ambiguous, persons=len(persons), districts=len(districts),
            boundaries_ok=report.ok, link_repairs=result.link_repairs,
            share_foreign=round(float((persons["mh_status"] == "foreign").mean()), 4),
            share_has_mh=round(float(persons["has_mh"].mean()), 4),
            share_minors=round(float((persons["age"] < 18).mean()), 4),
        )

        # --- indicators_stage: as the stage reads the previous date and composes the tables
        auxiliary = read_auxiliary(paths, day)
        previous_persons = previous_table = None
        if kind == "core":
            previous_persons = timer.run("read_previous", read_previous_persons, paths, day)
            previous_table = pd.read_parquet(paths.indicators(PREVIOUS_DATE))  # small
        table, city = build_indicator_tables(
            persons, districts, day, previous_persons=previous_persons, auxiliary=auxiliary,
            previous_table=previous_table, baseline_table=previous_table, neighbours=neighbours, timed=timer.run,
        )
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        out["indicator_rows"] = len(table)
        out["indicators"] = int(table["indicator"].nunique())
        del previous_persons

        if kind == "prepare_previous":
            atomic.write_parquet(persons, paths.persons(day))
            atomic.write_parquet(table, paths.indicators(day))
        else:
            def pipeline_io():  # what the stages write and read back between the steps above
                scratch = folder / "io_scratch"
                atomic.write_parquet(result.accepted, scratch / "accepted.parquet")
                atomic.write_parquet(result.quarantine, scratch / "quarantine.parquet")
                pd.read_parquet(scratch / "accepted.parquet")
                atomic.write_parquet(persons, scratch / "persons.parquet")
                atomic.write_parquet(outside, scratch / "outside.parquet")
                pd.read_parquet(scratch / "persons.parquet")
                atomic.write_parquet(table, scratch / "indicators.parquet")
                atomic.write_parquet(city, scratch / "segregation.parquet")
                shutil.rmtree(scratch)

            timer.run("io", pipeline_io)
    else:
        raise ValueError(kind)
    out["steps"] = timer.steps
    out["baseline_rss_mb"] = timer.baseline_mb
    out["peak_resettable"] = timer.resettable
    out["peak_rss_mb"] = max([timer.baseline_mb] + [s["peak_rss_mb"] for s in timer.steps.values()])
    return out


def run_worker(kind: str, folder: Path, profile: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--folder", str(folder)]
    if profile is not None:
        cmd += ["--profile-file", str(profile)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# orchestration and report

CORE_STEPS = ("ingest", "join", "migration", "assemble", "read_previous", "match_previous", "segregation",
              "indicators", "changes")


def _best(runs: list[dict], total) -> dict:
    return min(runs, key=total)


def _core_total(run: dict) -> float:
    return sum(run["steps"][s]["seconds"] for s in CORE_STEPS if s in run["steps"])


def _total(run: dict) -> float:
    return sum(s["seconds"] for s in run["steps"].values())


def warm_page_cache(folder: Path) -> int:
    """Read every input file once, so that each measurement starts with the files in the OS page cache.

    On this kind of VM the kernel reclaims page cache eagerly; without this, whether a 4M extract came
    from memory or from disk changed the floor alone from 0.2 s to 10 s between runs. Returns bytes read.
    """
    total = 0
    for path in sorted((folder / "data").rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 24):
                    total += len(chunk)
    return total


def measure(folder: Path, repeat: int, log) -> dict:
    """``repeat`` rounds of floor, naive and core, each in a fresh process; the best run of each is
    reported. The rounds interleave the three (not all floors, then all naives, then all cores), so
    that a slow minute of a shared machine hits the three alike; ``paired_core_over_naive`` keeps each
    round's own ratio."""
    log("  preparing the previous date's persons table (not timed)")
    prep = run_worker("prepare_previous", folder)
    results = {"prepare_previous": {k: v for k, v in prep.items() if k != "steps"}}
    kinds = (("floor", _total), ("naive", _total), ("core", _core_total))
    runs: dict[str, list[dict]] = {kind: [] for kind, _ in kinds}
    for i in range(repeat):
        for kind, total in kinds:
            warm_page_cache(folder)
            run = run_worker(kind, folder)
            runs[kind].append(run)
            log(f"  round {i + 1}/{repeat} {kind:<6}: {total(run):6.2f} s, peak {run['peak_rss_mb']:,.0f} MB")
    for kind, total in kinds:
        best = _best(runs[kind], total)
        best["total_seconds"] = total(best)
        best["all_totals"] = [round(total(r), 3) for r in runs[kind]]
        results[kind] = best
    results["core_runs"] = [{"code_fingerprint": r.get("code_fingerprint"), "total_seconds": _core_total(r)}
                            for r in runs["core"]]
    results["paired_core_over_naive"] = [round(_core_total(c) / _total(n), 3)
                                         for c, n in zip(runs["core"], runs["naive"])]
    return results


def summarise(n: int, d: int, manifest: dict, res: dict) -> dict:
    floor, naive, core = res["floor"], res["naive"], res["core"]
    core_total = core["total_seconds"]
    core_with_boundaries = core_total + core["steps"]["boundaries"]["seconds"]
    core_peak = max(core["steps"][s]["peak_rss_mb"] for s in CORE_STEPS + ("boundaries",) if s in core["steps"])
    summary = {
        "persons": n, "districts": d, "city": manifest["city"],
        "floor_seconds": floor["total_seconds"], "naive_seconds": naive["total_seconds"],
        "core_seconds": core_total, "core_with_boundaries_seconds": core_with_boundaries,
        "core_peak_rss_mb": core_peak, "naive_peak_rss_mb": naive["peak_rss_mb"],
        "floor_peak_rss_mb": floor["peak_rss_mb"],
        "core_over_naive": core_total / naive["total_seconds"],
        "core_over_floor": core_total / floor["total_seconds"],
        "paired_core_over_naive": res["paired_core_over_naive"],
        "targets": {},
        "code": core.get("code_fingerprint"),
        "code_changed_between_runs": len({json.dumps(r.get("code_fingerprint"), sort_keys=True)
                                          for r in res["core_runs"]}) > 1,
        "missing_api": core.get("missing_api"),
    }
    t = summary["targets"]
    t["core faster than naive join-and-count"] = core_total < naive["total_seconds"]
    if n == 1_000_000:
        t["1M persons: core < 3 s"] = core_total < 3.0
        t["1M persons: peak < 3 GB"] = core_peak < 3 * 1024
    if n == 4_000_000:
        t["4M persons: core < 10 s"] = core_total < 10.0
    return summary


def print_table(n: int, d: int, res: dict, summary: dict) -> None:
    rows = []

    def add(label, seconds, peak, cpu=None):
        rate = f"{n / seconds:,.0f}" if seconds > 0 else "-"
        rows.append((f"{n:,}", str(d), label, f"{seconds:.3f}", rate, f"{peak:,.0f}" if peak else "",
                     "" if cpu is None else f"{cpu:.2f}"))

    def cpu_of(run, names=None):
        return sum(s["cpu_seconds"] for k, s in run["steps"].items() if names is None or k in names)

    add("floor: pyarrow read_table", res["floor"]["total_seconds"], res["floor"]["peak_rss_mb"], cpu_of(res["floor"]))
    for name, s in res["naive"]["steps"].items():
        add(f"  naive.{name}", s["seconds"], s["peak_rss_mb"], s["cpu_seconds"])
    add("naive: total", res["naive"]["total_seconds"], res["naive"]["peak_rss_mb"], cpu_of(res["naive"]))
    for name in ("ingest", "boundaries") + CORE_STEPS[1:]:
        s = res["core"]["steps"].get(name)
        if s is None:
            rows.append((f"{n:,}", str(d), f"  core.{name}: not available", "", "", "", ""))
            continue
        note = " (once per run, not in total)" if name == "boundaries" else ""
        add(f"  core.{name}{note}", s["seconds"], s["peak_rss_mb"], s["cpu_seconds"])
    add("core: total per date", summary["core_seconds"], summary["core_peak_rss_mb"], cpu_of(res["core"], CORE_STEPS))
    io = res["core"]["steps"].get("io")
    if io:
        add("  (pipeline file io, not in total)", io["seconds"], io["peak_rss_mb"], io["cpu_seconds"])
    header = ("persons", "districts", "step", "wall s", "persons/s", "peak RSS MB", "cpu s")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(7)]
    fmt = "  ".join(f"{{:{'<' if i == 2 else '>'}{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*r))
    loads = [s["load_average_1min"] for r in ("floor", "naive", "core") for s in res[r]["steps"].values()]
    print(f"1-min load average during the steps: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs "
          "(cpu s = process CPU time, all threads; above wall s means parallel, below means waiting)")
    print(f"core/naive = {summary['core_over_naive']:.2f}   core/floor = {summary['core_over_floor']:.1f}   "
          f"(core incl. boundaries: {summary['core_with_boundaries_seconds']:.2f} s; interpreter+imports "
          f"baseline {res['core']['baseline_rss_mb']:,.0f} MB)")
    paired = summary["paired_core_over_naive"]
    print(f"core/naive round by round (each round: floor, naive, core in turn): "
          f"{', '.join(f'{r:.2f}' for r in paired)}; median {statistics.median(paired):.2f}, "
          f"core faster in {sum(r < 1 for r in paired)} of {len(paired)} rounds")
    print(f"measured code: {summary['code']}"
          + ("  WARNING: the code changed between the repeated runs" if summary["code_changed_between_runs"] else ""))
    if summary["missing_api"]:
        print(f"  not measured (API missing): {summary['missing_api']}")
    for target, met in summary["targets"].items():
        print(f"  target {target}: {'MET' if met else 'NOT MET'}")
    print()


def profile_core(folder: Path, top: int) -> dict:
    import pstats

    prof = folder / "core.prof"
    run_worker("core", folder, profile=prof)
    stats = pstats.Stats(str(prof))
    stats.sort_stats("tottime")
    entries = []
    for func, (cc, nc, tt, ct, callers) in stats.stats.items():
        entries.append({"file": func[0], "line": func[1], "function": func[2], "calls": nc,
                        "tottime": tt, "cumtime": ct})
    out = {}
    for key in ("tottime", "cumtime"):
        best = sorted(entries, key=lambda e: e[key], reverse=True)[:top]
        out[key] = best
        print(f"top {top} by {key} (core path incl. boundaries, under cProfile):")
        print(f"  {'tottime':>7} {'cumtime':>7} {'calls':>9}  file:line function")
        for e in best:
            where = _short(e["file"])
            print(f"  {e['tottime']:7.3f} {e['cumtime']:7.3f} {e['calls']:>9}  {where}:{e['line']} {e['function']}")
        print()
    return out


def _short(path: str) -> str:
    for marker in ("/src/quarterstats/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1] if marker == "/site-packages/" else "quarterstats/" + path.split(marker, 1)[1]
    return path


# ------------------------------------------------------------------------------------------------
# end to end: the commands users run (`quarterstats generate` + `quarterstats run`), beside the naive count

#: A Berlin-size city: persons and districts of the end-to-end run (one reference date).
BERLIN_PERSONS = 3_760_000
BERLIN_DISTRICTS = 447
#: Targets of the end-to-end runs (wall seconds; the run over the naive join-and-count).
E2E_DEFAULT_TARGET_SECONDS = 60.0
E2E_BERLIN_TARGET_SECONDS = 60.0
E2E_BERLIN_TARGET_RATIO = 3.0


def _quarterstats_command() -> list[str]:
    """The installed ``quarterstats`` command of this interpreter's environment (so that worker processes
    are allowed, as for a user), else ``python -m quarterstats.cli``."""
    command = Path(sys.executable).parent / "quarterstats"
    return [str(command)] if command.is_file() else [sys.executable, "-m", "quarterstats.cli"]


def run_command(args: list[str], workdir: Path) -> dict:
    """Run one ``quarterstats`` command on ``workdir`` (its own DAGSTER_HOME inside it); wall seconds,
    CPU seconds of the process and its children, peak RSS of the largest process, and the output."""
    import resource

    env = dict(os.environ, DAGSTER_HOME=str(workdir / ".dagster_home"), MPLBACKEND="Agg")
    log_path = workdir / f"{args[0]}.log"
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(_quarterstats_command() + args + ["--workdir", str(workdir)], stdout=log_file,
                                stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # the rusage of this child (and the children it waited for)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    output = log_path.read_text(encoding="utf-8")
    if proc.returncode != 0:
        raise RuntimeError(f"quarterstats {args[0]} failed ({proc.returncode}):\n{output[-4000:]}")
    return {"command": f"quarterstats {' '.join(args)}", "seconds": seconds,
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "load_average_1min": load, "load_average_after": os.getloadavg()[0],
            "steps": parse_time_report(output), "run_seconds": _finished_seconds(output), "output": output}


def _finished_seconds(output: str) -> float | None:
    """The seconds ``quarterstats run`` reports for its Dagster runs ("Finished ... in X s."): the wall time
    without the process start, the imports and the loading of the definitions."""
    import re

    found = re.findall(r"^Finished .* in ([0-9.]+) s\.$", output, flags=re.MULTILINE)
    return float(found[-1]) if found else None


def parse_time_report(output: str) -> dict[str, float]:
    """Seconds per step from the table ``quarterstats run`` prints at the end ("Time per step ...")."""
    steps: dict[str, float] = {}
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Time per step")]
    for line in lines[starts[-1] + 1:] if starts else []:
        parts = line.strip().rsplit(None, 3)  # name (may contain blanks), seconds, "s", share
        if len(parts) != 4 or parts[2] != "s":
            break
        steps[parts[0]] = float(parts[1])
    return steps


def _print_run(run: dict, indent: str = "  ") -> None:
    print(f"{indent}{run['command']}: {run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU, "
          f"peak {run['peak_rss_mb']:,.0f} MB, load {run['load_average_1min']:.1f} -> {run['load_average_after']:.1f}")
    total = run["seconds"]
    for name, seconds in sorted(run["steps"].items(), key=lambda kv: -kv[1]):
        print(f"{indent}  {name:<24} {seconds:7.1f} s  {seconds / total:6.1%}")
    if run.get("run_seconds") is not None:
        start = total - run["run_seconds"]
        print(f"{indent}  {'start (imports, Dagster)':<24} {start:7.1f} s  {start / total:6.1%}")


def end_to_end_default(folder: Path, persons: int | None, log) -> dict:
    """The README's pipeline command on a fresh synthetic default: ``quarterstats generate`` (all nine
    reference dates) and ``quarterstats run`` in the scratch folder ``folder``."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    generate_args = ["generate"] + (["--persons", str(persons)] if persons else [])
    log(f"end to end, synthetic default{f' ({persons:,} persons)' if persons else ''}: {folder}")
    generate = run_command(generate_args, folder)
    log(f"  generate: {generate['seconds']:.1f} s")
    run = run_command(["run"], folder)
    log(f"  run: {run['seconds']:.1f} s")
    return {"generate": generate, "run": run, "seconds": generate["seconds"] + run["seconds"],
            "reference_dates": len(list((folder / "data" / "raw" / "register").glob("*.parquet")))}


def end_to_end_berlin(folder: Path, seed: int, log) -> dict:
    """``quarterstats run`` on a Berlin-size city with one reference date, and the naive join-and-count on
    the same extract and boundary file, each after the files were read once (warm page cache)."""
    data = folder / f"n{BERLIN_PERSONS}_d{BERLIN_DISTRICTS}"
    log(f"end to end, Berlin size ({BERLIN_PERSONS:,} persons, {BERLIN_DISTRICTS} districts, one date)")
    manifest = build_dataset(data, BERLIN_PERSONS, BERLIN_DISTRICTS, seed, log)
    # a project folder with only the reference date's files (hard links: no copies of the extract)
    work = folder / "berlin_run"
    if work.exists():
        shutil.rmtree(work)
    for sub, name in (("register", f"{REFERENCE_DATE.isoformat()}.parquet"), ("boundaries", "districts.gpkg"),
                      ("auxiliary", f"{REFERENCE_DATE.isoformat()}.csv")):
        target = work / "data" / "raw" / sub / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(data / "data" / "raw" / sub / name, target)
    warm_page_cache(data)
    naive = run_worker("naive", data)
    log(f"  naive join-and-count: {_total(naive):.1f} s")
    warm_page_cache(work)
    run = run_command(["run"], work)
    log(f"  run: {run['seconds']:.1f} s")
    return {"dataset": manifest, "naive": naive, "naive_seconds": _total(naive), "run": run,
            "run_over_naive": run["seconds"] / _total(naive)}


def end_to_end(scratch: Path, which: str, persons: int | None, seed: int, log) -> dict:
    """Both end-to-end measurements (or one, ``which``); prints figures and targets, asserts nothing."""
    out: dict = {}
    if which in ("all", "default"):
        out["default"] = end_to_end_default(scratch / "default_run", persons, log)
    if which in ("all", "berlin"):
        out["berlin"] = end_to_end_berlin(scratch, seed, log)
    print(f"machine: {os.cpu_count()} CPUs, 1-min load average now {os.getloadavg()[0]:.1f}")
    default = out.get("default")
    if default:
        print(f"README pipeline (synthetic default, {default['reference_dates']} reference dates): "
              f"{default['seconds']:.1f} s wall")
        _print_run(default["generate"])
        _print_run(default["run"])
        if persons is None:
            met = default["seconds"] <= E2E_DEFAULT_TARGET_SECONDS
            print(f"  target README pipeline <= {E2E_DEFAULT_TARGET_SECONDS:.0f} s: {'MET' if met else 'NOT MET'}")
    berlin = out.get("berlin")
    if berlin:
        naive = berlin["naive"]
        print(f"Berlin size ({BERLIN_PERSONS:,} persons, {BERLIN_DISTRICTS} districts, one reference date):")
        print(f"  naive join-and-count (geopandas read + sjoin + groupby): {berlin['naive_seconds']:.1f} s, "
              f"peak {naive['peak_rss_mb']:,.0f} MB ("
              + ", ".join(f"{k} {v['seconds']:.1f}" for k, v in naive["steps"].items()) + ")")
        _print_run(berlin["run"])
        ratio = berlin["run_over_naive"]
        print(f"  run / naive = {ratio:.2f}")
        print(f"  target run <= {E2E_BERLIN_TARGET_SECONDS:.0f} s: "
              f"{'MET' if berlin['run']['seconds'] <= E2E_BERLIN_TARGET_SECONDS else 'NOT MET'}; "
              f"target run <= {E2E_BERLIN_TARGET_RATIO:.0f} x naive: "
              f"{'MET' if ratio <= E2E_BERLIN_TARGET_RATIO else 'NOT MET'}")
    for entry in out.values():  # the JSON keeps the figures, not the whole console output
        for key in ("generate", "run"):
            if key in entry:
                entry[key]["output_tail"] = entry[key].pop("output")[-3000:]
    return out


def profile_publication(workdir: Path, day: date | None, top: int) -> dict:
    """The publication step of one reference date (default: the last) of a project folder that has been
    run, under cProfile, in one process (``QUARTERSTATS_THREADS=1``: the figures are drawn in the caller,
    so the profile sees them). It publishes that date again; its files come out byte-identical."""
    import cProfile
    import pstats

    os.environ["QUARTERSTATS_THREADS"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    from quarterstats.paths import ProjectPaths
    from quarterstats.stages import publication_stage

    paths = ProjectPaths.from_workdir(workdir)
    day = day or paths.reference_dates()[-1]
    publication_stage(paths, day)  # once unprofiled: imports, font cache
    profiler = cProfile.Profile(time.process_time)  # CPU seconds: steadier than wall time on a shared machine
    t0, c0 = time.perf_counter(), time.process_time()
    profiler.enable()
    publication_stage(paths, day)
    profiler.disable()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"publication of {day.isoformat()} in {workdir}: {seconds:.2f} s wall, {cpu:.2f} s CPU under cProfile "
          f"(one process; load {os.getloadavg()[0]:.1f}); the profile counts CPU seconds")
    stats = pstats.Stats(profiler)
    entries = [{"file": f[0], "line": f[1], "function": f[2], "calls": nc, "tottime": tt, "cumtime": ct}
               for f, (cc, nc, tt, ct, callers) in stats.stats.items()]
    out = {"seconds": seconds, "cpu_seconds": cpu}
    for key in ("cumtime", "tottime"):
        best = sorted(entries, key=lambda e: e[key], reverse=True)[:top]
        out[key] = best
        print(f"top {top} by {key}:")
        print(f"  {'tottime':>7} {'cumtime':>7} {'calls':>9}  file:line function")
        for e in best:
            print(f"  {e['tottime']:7.3f} {e['cumtime']:7.3f} {e['calls']:>9}  {_short(e['file'])}:{e['line']} "
                  f"{e['function']}")
        print()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--districts", type=int, nargs="+", default=[18, 450])
    parser.add_argument("--out", type=Path, default=None,
                        help="scratch folder for the generated data (kept, reused); default: a temp dir")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best is reported")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", type=Path, default=None, help="also write all figures to this JSON file")
    parser.add_argument("--profile", action="store_true",
                        help="after measuring, run the core path once under cProfile and print the hotspots")
    parser.add_argument("--top", type=int, default=25, help="hotspots to print with --profile")
    parser.add_argument("--generate-only", action="store_true", help="only build the data (needs --out)")
    parser.add_argument("--end-to-end", nargs="?", const="all", choices=("all", "default", "berlin"),
                        help="time the commands users run instead of the core path: the README pipeline "
                             "(`quarterstats generate` + `quarterstats run` on the synthetic default) and "
                             "`quarterstats run` on a Berlin-size city beside the naive join-and-count")
    parser.add_argument("--profile-publication", type=Path, metavar="WORKDIR",
                        help="profile the publication step of a project folder that has been run (cProfile, "
                             "one process) and print the hotspots (--top); --date picks the date")
    parser.add_argument("--date", type=date.fromisoformat, default=None,
                        help="reference date for --profile-publication (default: the last)")
    parser.add_argument("--e2e-persons", type=int, default=None,
                        help="persons of the synthetic default in --end-to-end (default: the generator's)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(_worker(args.worker, args.folder, args.profile_file)))
        return 0
    if args.profile_publication:
        result = profile_publication(args.profile_publication, args.date, args.top)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str))
        return 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.generate_only and args.out is None:
        parser.error("--generate-only needs --out (a temporary folder would be removed at the end)")
    scratch = args.out or Path(tempfile.mkdtemp(prefix="quarterstats-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    repo_data = (Path(__file__).resolve().parents[1] / "data").resolve()
    if scratch.resolve() == repo_data or repo_data in scratch.resolve().parents:
        parser.error("--out must not be inside the repository's data/ folder")
    machine = {
        "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        # QUARTERSTATS_THREADS=1: the core path without its worker thread (quarterstats.background)
        "quarterstats_threads": os.environ.get("QUARTERSTATS_THREADS", "default (a worker thread)"),
    }
    try:
        import geopandas
        import pandas
        import pyarrow
        import shapely

        machine["versions"] = {"pandas": pandas.__version__, "pyarrow": pyarrow.__version__,
                               "geopandas": geopandas.__version__, "shapely": shapely.__version__,
                               "numpy": np.__version__}
    except ImportError:
        pass
    log(f"machine: {machine['cpus']} CPUs, {machine['platform']}, load {machine['load_average_at_start']}, "
        f"QUARTERSTATS_THREADS: {machine['quarterstats_threads']}")
    report = {"machine": machine, "runs": []}
    if args.end_to_end:
        try:
            report["end_to_end"] = end_to_end(scratch, args.end_to_end, args.e2e_persons, args.seed, log)
        finally:
            if args.out is None:
                shutil.rmtree(scratch, ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        return 0
    try:
        for n in args.sizes:
            for d in args.districts:
                folder = scratch / f"n{n}_d{d}"
                log(f"{n:,} persons, {d} districts")
                manifest = build_dataset(folder, n, d, args.seed, log)
                if args.generate_only:
                    continue
                res = measure(folder, args.repeat, log)
                summary = summarise(n, d, manifest, res)
                print_table(n, d, res, summary)
                sys.stdout.flush()
                entry = {"summary": summary, "dataset": manifest, "measurements": res}
                if args.profile:
                    entry["profile"] = profile_core(folder, args.top)
                report["runs"].append(entry)
                if args.json:
                    args.json.write_text(json.dumps(report, indent=2, default=str))
    finally:
        if args.out is None:
            shutil.rmtree(scratch, ignore_errors=True)
    if report["runs"]:
        print("summary: persons districts | floor s | naive s | core s (per date) | core peak MB | "
              "core/naive (best; median of the rounds) | core/floor | targets")
        for run in report["runs"]:
            s = run["summary"]
            targets = ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in s["targets"].items())
            print(f"  {s['persons']:>9,} {s['districts']:>4} | {s['floor_seconds']:6.2f} | {s['naive_seconds']:7.2f} | "
                  f"{s['core_seconds']:7.2f} | {s['core_peak_rss_mb']:8,.0f} | {s['core_over_naive']:5.2f}; "
                  f"{statistics.median(s['paired_core_over_naive']):5.2f} | "
                  f"{s['core_over_floor']:6.1f} | {targets}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
