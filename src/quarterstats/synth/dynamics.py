"""Base population at the first reference date and the yearly steps between reference dates.

Base population: the persons of each allocation unit (``params.BASE_UNITS``, % of the city) are spread
over the districts by iterative proportional fitting of the propensity table
(``params.DISTRICT_PROPENSITY``) to the unit totals and the district populations (published figures,
scaled by ``persons / 100,751``). Households of a unit are drawn in random order and handed to the
districts until each district's share is full. About 1 % of the persons live in care homes (80+ living
alone) and about 1 % in refugee accommodation (no household id).

A step from day ``d0`` to ``d1`` (fraction ``f`` of a year; rates are per year) applies, in this order:
deaths (Gompertz mortality ``q = exp(a + b·age)``, women × 0.6), whole households moving out (by
group, for Germans by the age of the oldest member), young adults leaving the parental household (in
the city or out), separations of parents (the father moves to a household of his own or out), minors
left without an adult in their household moving out (to relatives), moves
within the city (households to another building: the same district or another one chosen by the
group's district propensity), refugees leaving accommodation, elderly moving into care homes, births
(women 18–45 in households; ``TFR × normal(age; 31, 5.5)``, × 1.35 living with a partner, × 0.35
alone), naturalisations, and new households moving
in from abroad or from other German municipalities (``params.INFLOWS_PER_100K``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from . import codes as C
from . import params as P
from . import population as pop
from .geography import Geography, sample_points
from .state import ACCOMMODATION, CARE_HOME, RESIDENTIAL, Batch, State


@dataclass
class World:
    """The state plus what the steps need: geography, scaled district populations, random generator."""

    state: State
    geo: Geography
    rng: np.random.Generator
    district_population: np.ndarray  # scaled targets (persons), index = district
    register_gaps: bool
    buildings_by_district: list = field(default_factory=list)  # residential building ids per district
    care_home: np.ndarray | None = None  # building id per district (nearest care home)
    accommodation: np.ndarray | None = None  # building id per district (nearest accommodation)

    @property
    def scale(self) -> float:
        return float(self.district_population.sum()) / 100_000.0


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------
def propensity(unit: str) -> np.ndarray:
    key = P.UNIT_PROPENSITY_KEY.get(unit, unit)
    ids = P.districts()["district_id"]
    return np.array([P.DISTRICT_PROPENSITY[d][key] for d in ids], dtype=float)


def fit_allocation(units: dict[str, float], district_population: np.ndarray) -> dict[str, np.ndarray]:
    """Persons per unit and district: IPF of propensity × district population to both margins."""
    names = list(units)
    total = district_population.sum()
    rows = np.array([units[u] / sum(units.values()) * total for u in names])
    ids = list(P.districts()["district_id"])
    m = np.array([propensity(u) for u in names]) * district_population[None, :]
    inst = names.index("refugee_2015_institution") if "refugee_2015_institution" in names else None
    if inst is not None:
        allowed = np.isin(ids, P.REFUGEE_ACCOMMODATION_DISTRICTS)
        m[inst, ~allowed] = 0.0
    for _ in range(200):
        m *= (rows / m.sum(axis=1))[:, None]
        m *= (district_population / m.sum(axis=0))[None, :]
    return {u: m[i] for i, u in enumerate(names)}


def _random_round(rng, x: float) -> int:
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def household_sizes(state: State) -> np.ndarray:
    present = state.p["present"]
    return np.bincount(state.p["hh"][present], minlength=state.n_households)


def oldest_age(state: State, at: int) -> np.ndarray:
    present = np.flatnonzero(state.p["present"])
    age = np.full(state.n_households, -1.0)
    np.maximum.at(age, state.p["hh"][present], (at - state.p["birth"][present]) / 365.25)
    return age


def pick_buildings(world: World, district: np.ndarray) -> np.ndarray:
    """A random residential building in each given district."""
    out = np.empty(len(district), dtype=np.int64)
    for d in np.unique(district):
        m = district == d
        pool = world.buildings_by_district[d]
        out[m] = pool[world.rng.integers(0, len(pool), int(m.sum()))]
    return out


def destination_districts(world: World, groups: np.ndarray, current: np.ndarray | None = None,
                          p_same: float = 0.0) -> np.ndarray:
    """District of a (new) address: the current one with probability ``p_same``, else drawn by the
    group's district propensity × district population."""
    rng = world.rng
    n = len(groups)
    out = np.empty(n, dtype=np.int64)
    for g in np.unique(groups):
        m = groups == g
        unit = P.GROUPS[g]
        w = propensity(unit if unit in P.UNIT_PROPENSITY_KEY else "german") * world.district_population
        out[m] = rng.choice(len(w), size=int(m.sum()), p=w / w.sum())
    if current is not None and p_same > 0:
        stay = rng.random(n) < p_same
        out = np.where(stay, current, out)
    return out


def _gaps_for_new(world: World, batch: Batch, ref: np.ndarray, mode: str) -> None:
    """Persistent register-gap draws of new persons (see ``params.GAP_*``)."""
    p = batch.p
    rng = world.rng
    n = batch.n
    if not world.register_gaps:
        for k in ("gap_bc", "gap_acq", "gap_mlink", "gap_flink"):
            p[k][:] = False
        return
    age = (ref - p["birth"]) / 365.25
    if mode == pop.BASE:
        city = p["moved_city"]
        moved = city != C.NO_DATE
        city_year = C.year_of(np.where(moved, city, 0))
        long_resident = (moved & (city_year < 1995)) | (~moved & (age >= 40))
        p_bc = (P.GAP_BIRTH_COUNTRY_BASE + P.GAP_BIRTH_COUNTRY_OLD * (age >= 65)
                + P.GAP_BIRTH_COUNTRY_LONG_RESIDENT * long_resident)
        # moved in from another German municipality: never immigrated, or immigrated before moving in
        domestic = moved & ((p["immig"] == 0) | (p["immig"] < city_year))
    else:
        p_bc = np.full(n, P.GAP_BIRTH_COUNTRY_NEW)
        domestic = np.full(n, mode == pop.DOMESTIC)
    p["gap_bc"][:] = rng.random(n) < p_bc
    p["gap_acq"][:] = rng.random(n) < np.where(domestic, P.GAP_ACQUISITION_DOMESTIC, P.GAP_ACQUISITION_OTHER)
    p["gap_mlink"][:] = rng.random(n) < P.GAP_PARENT_LINK
    p["gap_flink"][:] = rng.random(n) < P.GAP_PARENT_LINK


# ---------------------------------------------------------------------------------------------------
# base population
# ---------------------------------------------------------------------------------------------------
def _take_households(batch: Batch, keep_hh: np.ndarray) -> Batch:
    """Sub-batch of the kept households (links to dropped persons become -1)."""
    keep_p = keep_hh[batch.p["hh"]]
    new_p = np.cumsum(keep_p) - 1
    new_h = np.cumsum(keep_hh) - 1
    out = Batch(int(keep_p.sum()), int(keep_hh.sum()))
    for k, v in batch.p.items():
        v = v[keep_p]
        if k in ("mother", "father", "partner"):
            ok = v >= 0
            ok[ok] = keep_p[v[ok]]
            v = np.where(ok, new_p[np.where(v >= 0, v, 0)], -1)
        elif k == "hh":
            v = new_h[v]
        out.p[k] = v
    for k, v in batch.h.items():
        out.h[k] = v[keep_hh]
    return out


def build_base(world: World, d0: int) -> None:
    rng, geo, state = world.rng, world.geo, world.state
    alloc = fit_allocation(P.BASE_UNITS, world.district_population)
    batches = []
    for unit, per_district in alloc.items():
        total = per_district.sum()
        n_hh = int(np.ceil(total / pop.MEAN_SIZE[unit] * 1.25)) + 10
        built = pop.build(rng, unit, n_hh, d0, pop.BASE)
        b = built.batch
        size = np.bincount(b.p["hh"], minlength=b.n_households)
        order = rng.permutation(b.n_households)
        cum_before = np.cumsum(size[order]) - size[order]
        bounds = np.cumsum(per_district)
        district = np.searchsorted(bounds, cum_before + 0.5 * size[order], side="right")
        keep = np.zeros(b.n_households, dtype=bool)
        keep[order] = district < len(bounds)
        b.h["district"][order[district < len(bounds)]] = district[district < len(bounds)]
        sub = _take_households(b, keep)
        _gaps_for_new(world, sub, np.full(sub.n, d0), pop.BASE)
        batches.append(sub)
    batch = Batch.concat(batches)
    # buildings: residential pools per district, care homes and refugee accommodation
    n_hh_d = np.bincount(batch.h["district"], minlength=geo.n)
    per_building = P.districts()["households_per_building"].to_numpy(dtype=float)
    n_build = np.ceil(n_hh_d * 1.3 / per_building).astype(int) + 3
    dist_of_building = np.repeat(np.arange(geo.n), n_build)
    x, y = sample_points(geo, dist_of_building, rng)
    ids = state.add_buildings(x, y, dist_of_building, np.full(len(x), RESIDENTIAL))
    world.buildings_by_district = [ids[dist_of_building == d] for d in range(geo.n)]
    world.care_home = _special_buildings(world, P.CARE_HOME_DISTRICTS, CARE_HOME)
    world.accommodation = _special_buildings(world, P.REFUGEE_ACCOMMODATION_DISTRICTS, ACCOMMODATION)
    district = batch.h["district"].astype(np.int64)
    batch.h["building"][:] = pick_buildings(world, district)
    inst = batch.h["inst"]
    batch.h["building"][inst] = world.accommodation[district[inst]]
    state.append(batch)
    # care homes: persons 80+ living alone, about 0.8 % of the population
    sizes = household_sizes(state)
    age = (d0 - state.p["birth"]) / 365.25
    cand = np.flatnonzero((age >= 80) & (sizes[state.p["hh"]] == 1) & ~state.h["inst"][state.p["hh"]])
    p_care = min(0.9, 0.008 * state.n / max(len(cand), 1))
    move = cand[rng.random(len(cand)) < p_care]
    _into_care(world, state.p["hh"][move], d0 - rng.integers(0, 4 * 365, len(move)), move)


def _special_buildings(world: World, districts: tuple[str, ...], kind: int) -> np.ndarray:
    """One institution building in each listed district; every district maps to the nearest one."""
    geo = world.geo
    idx = np.array([geo.district_id.index(d) for d in districts])
    x, y = sample_points(geo, idx, world.rng)
    ids = world.state.add_buildings(x, y, idx, np.full(len(idx), kind))
    dist = np.hypot(geo.anchors[:, None, 0] - geo.anchors[None, idx, 0],
                    geo.anchors[:, None, 1] - geo.anchors[None, idx, 1])
    return ids[np.argmin(dist, axis=1)]


def _into_care(world: World, hh: np.ndarray, when: np.ndarray, persons: np.ndarray) -> None:
    state = world.state
    district = state.h["district"][hh].astype(np.int64)
    building = world.care_home[district]
    state.h["inst"][hh] = True
    state.h["building"][hh] = building
    state.h["district"][hh] = state.b["district"][building]
    state.p["moved_addr"][persons] = np.maximum(when, state.p["moved_addr"][persons])


# ---------------------------------------------------------------------------------------------------
# a step
# ---------------------------------------------------------------------------------------------------
def _annual(p_year: np.ndarray | float, f: float) -> np.ndarray:
    return 1.0 - (1.0 - np.clip(p_year, 0.0, 1.0)) ** f


def _new_households(world: World, members: np.ndarray, district: np.ndarray, when: np.ndarray) -> None:
    """Give each listed person a one-person household of their own at a new address."""
    state = world.state
    hh = state.add_households(pick_buildings(world, district), np.zeros(len(members), bool),
                              state.p["group"][members], district)
    state.p["hh"][members] = hh
    state.p["moved_addr"][members] = when


def step(world: World, d0: int, d1: int) -> None:
    state, rng = world.state, world.rng
    p, h = state.p, state.h
    f = (d1 - d0) / 365.25
    year = int(C.year_of(np.asarray([d1]))[0])
    mid = (d0 + d1) // 2

    def when(n):  # event days in (d0, d1]
        return C.uniform_days(rng, np.full(n, d0 + 1), np.full(n, d1))

    # 1. deaths
    alive = np.flatnonzero(p["present"])
    age = (mid - p["birth"][alive]) / 365.25
    q = np.minimum(0.6, np.exp(P.MORTALITY_A + P.MORTALITY_B * age))
    q = np.where(p["sex"][alive] == P.FEMALE, q * P.MORTALITY_FEMALE_FACTOR, q)
    q = np.where(age < 1, P.MORTALITY_INFANT, q)
    dead = alive[rng.random(len(alive)) < _annual(q, f)]
    p["present"][dead] = False
    p["alive"][dead] = False
    partner = p["partner"][dead]
    widow = partner[partner >= 0]
    widow = widow[p["present"][widow]]
    married = np.isin(p["marital"][widow], [P.MAR["verheiratet"], P.MAR["lebenspartnerschaft"]])
    p["marital"][widow[married]] = P.MAR["verwitwet"]
    p["partner"][widow] = -1
    p["partner"][dead] = -1

    # 2. whole households moving out
    sizes = household_sizes(state)
    live = np.flatnonzero(sizes > 0)
    oldest = oldest_age(state, mid)[live]
    grp = h["group"][live]
    p_out = np.zeros(len(live))
    for g, name in enumerate(P.GROUPS):
        m = grp == g
        if not m.any():
            continue
        if name in ("german",):
            rate = np.zeros(int(m.sum()))
            for lo, hi, r in P.OUT_MIGRATION_GERMAN_BY_AGE:
                rate = np.where((oldest[m] >= lo) & (oldest[m] < hi), r, rate)
        else:
            rate = np.full(int(m.sum()), P.OUT_MIGRATION[name])
        p_out[m] = rate
    building_kind = state.b["kind"][h["building"][live]]
    p_out = np.where(building_kind == CARE_HOME, 0.0, p_out)
    leaving = np.zeros(state.n_households, dtype=bool)
    leaving[live[rng.random(len(live)) < _annual(p_out, f)]] = True
    out = np.flatnonzero(p["present"] & leaving[p["hh"]])
    p["present"][out] = False

    # 3. young adults leaving the parental household
    cur = np.flatnonzero(p["present"])
    age = (mid - p["birth"][cur]) / 365.25
    m, fa = p["mother"][cur], p["father"][cur]
    with_parent = ((m >= 0) & p["present"][np.maximum(m, 0)] & (p["hh"][np.maximum(m, 0)] == p["hh"][cur])) | (
        (fa >= 0) & p["present"][np.maximum(fa, 0)] & (p["hh"][np.maximum(fa, 0)] == p["hh"][cur]))
    with_parent &= ~h["inst"][p["hh"][cur]]
    rate = np.zeros(len(cur))
    for lo, hi, r in P.LEAVE_PARENTS:
        rate = np.where((age >= lo) & (age < hi), r, rate)
    leavers = cur[with_parent & (rng.random(len(cur)) < _annual(rate, f))]
    gone = rng.random(len(leavers)) < P.LEAVE_PARENTS_OUT_SHARE
    p["present"][leavers[gone]] = False
    stay = leavers[~gone]
    district = destination_districts(world, np.full(len(stay), P.GRP["german"]),
                                     h["district"][p["hh"][stay]].astype(np.int64), 0.35)
    _new_households(world, stay, district, when(len(stay)))

    # 4. separations of parents with minor children: the father moves out
    cur = np.flatnonzero(p["present"])
    sizes = household_sizes(state)
    minors = np.zeros(state.n_households, dtype=bool)
    young = cur[(mid - p["birth"][cur]) < 18 * 365.25]
    minors[p["hh"][young]] = True
    partner = p["partner"][cur]
    is_father = (p["sex"][cur] == P.MALE) & (partner >= 0)
    pi = np.maximum(partner, 0)
    is_father &= (p["sex"][pi] == P.FEMALE) & p["present"][pi] & (p["hh"][pi] == p["hh"][cur])
    is_father &= minors[p["hh"][cur]] & ~h["inst"][p["hh"][cur]]
    fathers = cur[is_father & (rng.random(len(cur)) < _annual(P.SEPARATION, f))]
    mothers = p["partner"][fathers]
    divorce = rng.random(len(fathers)) < 0.5
    for who in (fathers, mothers):
        married = divorce & (p["marital"][who] == P.MAR["verheiratet"])
        p["marital"][who[married]] = P.MAR["geschieden"]
        p["partner"][who] = -1
    leave_city = rng.random(len(fathers)) < P.SEPARATION_FATHER_LEAVES_CITY
    p["present"][fathers[leave_city]] = False
    stay = fathers[~leave_city]
    district = destination_districts(world, p["group"][stay], h["district"][p["hh"][stay]].astype(np.int64), 0.5)
    _new_households(world, stay, district, when(len(stay)))

    # minors left without an adult in their household (parents died or moved away) move to relatives
    # outside the city
    cur = np.flatnonzero(p["present"])
    adult = (mid - p["birth"][cur]) >= 18 * 365.25
    has_adult = np.zeros(state.n_households, dtype=bool)
    has_adult[p["hh"][cur[adult]]] = True
    p["present"][cur[~has_adult[p["hh"][cur]]]] = False

    # 5. households moving within the city
    sizes = household_sizes(state)
    live = np.flatnonzero((sizes > 0) & ~h["inst"])
    oldest = oldest_age(state, mid)[live]
    rate = np.where(oldest < 35, P.WITHIN_MOVE_YOUNG, np.where(oldest >= 70, P.WITHIN_MOVE_OLD, P.WITHIN_MOVE))
    movers = live[rng.random(len(live)) < _annual(rate, f)]
    district = destination_districts(world, h["group"][movers], h["district"][movers].astype(np.int64),
                                     P.WITHIN_SAME_DISTRICT)
    h["building"][movers] = pick_buildings(world, district)
    h["district"][movers] = district
    day = np.zeros(state.n_households, dtype=np.int64)
    day[movers] = when(len(movers))
    moved = np.flatnonzero(p["present"] & (day[p["hh"]] > 0))
    p["moved_addr"][moved] = day[p["hh"][moved]]

    # 6. refugees leaving accommodation for a flat of their own
    sizes = household_sizes(state)
    kind = state.b["kind"][h["building"]]
    acc = np.flatnonzero((sizes > 0) & h["inst"] & (kind == ACCOMMODATION))
    exit_ = acc[rng.random(len(acc)) < _annual(P.ACCOMMODATION_EXIT, f)]
    district = destination_districts(world, h["group"][exit_], h["district"][exit_].astype(np.int64), 0.5)
    h["building"][exit_] = pick_buildings(world, district)
    h["district"][exit_] = district
    h["inst"][exit_] = False
    day = np.zeros(state.n_households, dtype=np.int64)
    day[exit_] = when(len(exit_))
    moved = np.flatnonzero(p["present"] & (day[p["hh"]] > 0))
    p["moved_addr"][moved] = day[p["hh"][moved]]

    # 7. elderly living alone moving into a care home
    sizes = household_sizes(state)
    cur = np.flatnonzero(p["present"])
    old = cur[((mid - p["birth"][cur]) >= 80 * 365.25) & (sizes[p["hh"][cur]] == 1) & ~h["inst"][p["hh"][cur]]]
    enter = old[rng.random(len(old)) < _annual(P.CARE_HOME_ENTRY, f)]
    _into_care(world, p["hh"][enter], when(len(enter)), enter)

    # 8. births
    _births(world, d0, d1, f)

    # 9. naturalisations
    _naturalisations(world, d0, d1, f, year)

    # 10. new households moving in
    _arrivals(world, d0, d1, f, year)


def _births(world: World, d0: int, d1: int, f: float) -> None:
    state, rng = world.state, world.rng
    p, h = state.p, state.h
    mid = (d0 + d1) // 2
    cur = np.flatnonzero(p["present"] & (p["sex"] == P.FEMALE) & ~h["inst"][p["hh"]])
    age = (mid - p["birth"][cur]) / 365.25
    fertile = (age >= 18) & (age < 46)
    women, age = cur[fertile], age[fertile]
    tfr = np.array([P.TFR_BY_GROUP[g] for g in P.GROUPS])[p["group"][women]]
    rate = tfr * np.exp(-0.5 * ((age - P.FERTILITY_MEAN_AGE) / P.FERTILITY_SD) ** 2) / (
        P.FERTILITY_SD * np.sqrt(2 * np.pi))
    partner = p["partner"][women]
    pi = np.maximum(partner, 0)
    together = (partner >= 0) & p["present"][pi] & (p["hh"][pi] == p["hh"][women])
    rate = rate * np.where(together, P.FERTILITY_PARTNERED, P.FERTILITY_ALONE)
    mothers = women[rng.random(len(women)) < rate * f]
    n = len(mothers)
    if n == 0:
        return
    birth = C.uniform_days(rng, np.full(n, d0 + 1), np.full(n, d1))
    partner = p["partner"][mothers]
    pi = np.maximum(partner, 0)
    has_father = (partner >= 0) & (p["sex"][pi] == P.MALE) & p["present"][pi] & (p["hh"][pi] == p["hh"][mothers])
    batch = Batch(n, 0)
    b = batch.p
    b["birth"][:] = birth
    b["sex"][:] = np.where(rng.random(n) < 0.487, P.FEMALE, P.MALE)
    b["group"][:] = p["group"][mothers]
    b["hh"][:] = 0
    b["marital"][:] = P.MAR["ledig"]
    b["moved_city"][:] = C.NO_DATE
    b["moved_addr"][:] = C.month_start(birth)
    b["partner"][:] = -1
    _gaps_for_new(world, batch, birth, "birth")
    if world.register_gaps:
        batch.p["gap_bc"][:] = rng.random(n) < P.GAP_BIRTH_COUNTRY_NEWBORN
        batch.p["gap_acq"][:] = rng.random(n) < P.GAP_ACQUISITION_NEWBORN
    pids = state.append(batch)
    p = state.p  # arrays were replaced by append
    p["hh"][pids] = p["hh"][mothers]
    p["mother"][pids] = mothers
    p["father"][pids] = np.where(has_father, partner, -1)
    pop.child_citizenship(rng, p, pids, np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64))


def _naturalisations(world: World, d0: int, d1: int, f: float, year: int) -> None:
    state, rng = world.state, world.rng
    p = state.p
    mid = (d0 + d1) // 2
    cur = np.flatnonzero(p["present"])
    foreign = (p["nat1"][cur] != C.DEU) & (p["nat2"][cur] != C.DEU) & (p["nat1"][cur] != C.XXX)
    age = (mid - p["birth"][cur]) / 365.25
    immig = p["immig"][cur].astype(int)
    grp = p["group"][cur]
    refugee = np.isin(grp, [P.GRP["refugee_2015"], P.GRP["asylum"]])
    years_needed = np.where(refugee & (year >= 2021), 6, 8)
    eligible = foreign & (age >= 16) & (((immig > 0) & (year - immig >= years_needed)) | (p["bc"][cur] == C.DEU))
    base = np.array([P.NATURALISATION_RATE.get(g, 0.02) for g in P.GROUPS])[grp]
    ref_rate = P.REFUGEE_NATURALISATION_BY_YEAR.get(year, 0.0 if year < 2021 else 0.10)
    rate = np.where(refugee, np.maximum(base, ref_rate), base)
    applicants = cur[eligible & (rng.random(len(cur)) < _annual(rate, f))]
    # minors in the same household with the same nationality are naturalised with them
    key = p["hh"][applicants].astype(np.int64) * 1000 + p["nat1"][applicants]
    minors = cur[foreign & (age < 16)]
    mkey = p["hh"][minors].astype(np.int64) * 1000 + p["nat1"][minors]
    with_parent = minors[np.isin(mkey, key)]
    persons = np.concatenate([applicants, with_parent])
    n = len(persons)
    day = C.uniform_days(rng, np.full(n, d0 + 1), np.full(n, d1))
    country = p["nat1"][persons].astype(np.int64)
    reform = day >= C.day(P.DUAL_NATIONALITY_REFORM)
    keep = reform | (rng.random(n) < pop.dual_probability(country, 0.12))
    keep &= (country != C.XXA) & (country != C.XXX)
    p["orig_nat"][persons] = country
    p["nat2"][persons] = np.where(keep, country, -1)
    p["nat1"][persons] = C.DEU
    p["acq"][persons] = P.ACQ["naturalisation"]
    p["natur_year"][persons] = year
    p["gap_acq"][persons] = False  # recorded by the city's own register


def _arrivals(world: World, d0: int, d1: int, f: float, year: int) -> None:
    state, rng = world.state, world.rng
    start_ukraine = C.day(date(2022, 2, 24))
    arrivals = []
    for unit, table in P.INFLOWS_PER_100K.items():
        rate = table.get(year, P.INFLOW_DEFAULT.get(unit, 0.0))
        persons = rate * world.scale * f
        n_hh = _random_round(rng, persons / pop.MEAN_SIZE[unit])
        if n_hh == 0:
            continue
        lo = d0 + 1
        if unit == "ukraine_2022":
            lo = max(lo, start_ukraine + 7)
            if lo > d1:
                continue
        ref = C.uniform_days(rng, np.full(n_hh, lo), np.full(n_hh, d1)).astype(np.int64)
        mode = pop.DOMESTIC if unit in ("german_domestic", "german_flatshare", "mh_domestic") else pop.ABROAD
        built = pop.build(rng, unit, n_hh, ref, mode)
        b = built.batch
        hh_group = b.h["group"]
        district = destination_districts(world, hh_group)
        if unit == "german_flatshare":
            w = propensity("german_flatshare") * world.district_population
            district = rng.choice(len(w), size=b.n_households, p=w / w.sum())
        b.h["district"][:] = district
        b.h["building"][:] = pick_buildings(world, district)
        p_inst = {"asylum": 0.4, "ukraine_2022": 0.15, "refugee_2015": 0.5}.get(unit, 0.0)
        inst = rng.random(b.n_households) < p_inst
        b.h["inst"][:] = inst
        b.h["building"][inst] = world.accommodation[district[inst]]
        b.h["district"][inst] = state.b["district"][b.h["building"][inst]]
        _gaps_for_new(world, b, built.ref, mode)
        arrivals.append(b)
    state.append(Batch.concat(arrivals))
