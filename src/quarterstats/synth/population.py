"""Households and persons with migration histories, by origin group (vectorised builders).

A builder makes ``n`` households of one allocation unit (e.g. ``guest_worker_2``) in one of three modes:

* ``base`` — households living in the city at the first reference date, with their past (immigration,
  naturalisation, moves into the city and into the current address) drawn up to that date;
* ``abroad`` — households arriving from abroad on day ``ref`` (immigration year = arrival year);
* ``domestic`` — households moving in from another German municipality on day ``ref``, with their
  earlier history (e.g. a resettler family that came to Germany in 1993 and moves in now).

Every builder first draws a household *plan* (type, ages, number of children), expands it into persons
(:func:`expand`), sets the facts of the adults by group (country, generation, immigration year,
nationality, acquisition of German citizenship) and derives the children's facts from their parents
with :func:`child_citizenship` (German by descent if a parent was German at the birth; ius soli
``option`` for children born in Germany since 2000 to a foreign parent with 8 years of residence,
§4(3) StAG; co-naturalisation with a parent; resettler families' children born abroad as
``resettler``). Dates come last (:func:`assign_dates`).

Household types: single, couple, family (couple with children), single parent (the other parent living
elsewhere in the city — a separate one-person household — or outside the city) and shared flats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from . import codes as C
from . import params as P
from .state import Batch

SINGLE, COUPLE, FAMILY, SINGLE_PARENT, FLATSHARE = range(5)
ROLE_A, ROLE_B, ROLE_CHILD, ROLE_FLAT, ROLE_ABSENT = range(5)
BASE, ABROAD, DOMESTIC = "base", "abroad", "domestic"

_NEVER = 9999  # "German since" year of persons who are not German
_EX_YUGOSLAVIA = {C.CTY[c] for c in ("HRV", "SRB", "BIH", "MKD", "XKX")}


@dataclass
class Built:
    """A built batch plus what the date assignment needs."""

    batch: Batch
    role: np.ndarray  # per person
    ref: np.ndarray  # per person: day at which the ages hold (first reference date or arrival day)
    mode: str
    p_local: np.ndarray  # per person: probability that a German-born adult lives in the city since birth
    address_years: np.ndarray  # per household: mean years at the current address


# ---------------------------------------------------------------------------------------------------
# plans and expansion
# ---------------------------------------------------------------------------------------------------
def mixture(rng: np.random.Generator, spec, n: int) -> np.ndarray:
    """Ages (float years) from a mixture of uniform ranges ``[(lo, hi, weight), ...]``."""
    spec = np.asarray(spec, dtype=float)
    comp = rng.choice(len(spec), size=n, p=spec[:, 2] / spec[:, 2].sum())
    return spec[comp, 0] + rng.random(n) * (spec[comp, 1] - spec[comp, 0])


def choice(rng: np.random.Generator, options: dict, n: int) -> np.ndarray:
    keys = np.array(list(options))
    p = np.array(list(options.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


@dataclass
class Plan:
    kind: np.ndarray
    age_a: np.ndarray
    sex_a: np.ndarray
    age_b: np.ndarray
    n_kids: np.ndarray
    n_flat: np.ndarray
    absent_in_city: np.ndarray
    ref: np.ndarray  # day per household


def make_plan(rng, n, ref, kinds: dict, single_ages, couple_ages, family_ages, parent_ages,
              kids_family: dict, kids_single: dict, p_female_single=0.5, p_female_single_old=0.72,
              p_female_parent=0.88, p_absent_in_city=0.4, flat_sizes: dict | None = None,
              flat_ages=((19.5, 29.5, 1),), age_gap=(2.5, 3.5)) -> Plan:
    """Draw household types and ages (woman = adult A of couples and families)."""
    kind = choice(rng, kinds, n).astype(np.int8)
    age_a = np.empty(n)
    for k, spec in ((SINGLE, single_ages), (COUPLE, couple_ages), (FAMILY, family_ages),
                    (SINGLE_PARENT, parent_ages), (FLATSHARE, flat_ages)):
        m = kind == k
        if m.any():
            age_a[m] = mixture(rng, spec, int(m.sum()))
    sex_a = np.full(n, P.FEMALE, dtype=np.int8)
    single = kind == SINGLE
    p_w = np.where(age_a >= 70, p_female_single_old, p_female_single)
    sex_a[single] = np.where(rng.random(int(single.sum())) < p_w[single], P.FEMALE, P.MALE)
    flat = kind == FLATSHARE
    sex_a[flat] = np.where(rng.random(int(flat.sum())) < 0.5, P.FEMALE, P.MALE)
    parent = kind == SINGLE_PARENT
    sex_a[parent] = np.where(rng.random(int(parent.sum())) < p_female_parent, P.FEMALE, P.MALE)
    age_b = np.clip(age_a + rng.normal(age_gap[0], age_gap[1], n), 18.2, 99)
    n_kids = np.zeros(n, dtype=np.int64)
    if (kind == FAMILY).any():
        n_kids[kind == FAMILY] = choice(rng, kids_family, int((kind == FAMILY).sum()))
    if parent.any():
        n_kids[parent] = choice(rng, kids_single, int(parent.sum()))
    n_flat = np.zeros(n, dtype=np.int64)
    if flat.any():
        n_flat[flat] = choice(rng, flat_sizes or {1: 0.55, 2: 0.3, 3: 0.15}, int(flat.sum()))
    absent = parent & (rng.random(n) < p_absent_in_city)
    return Plan(kind, age_a, sex_a, age_b, n_kids, n_flat, absent, np.broadcast_to(ref, (n,)).astype(np.int64))


def expand(rng: np.random.Generator, plan: Plan, group: int) -> tuple[Batch, np.ndarray, np.ndarray]:
    """Persons of the planned households: A, B (partner), children, flatmates; plus one-person
    households of absent parents living elsewhere in the city. Returns (batch, role, ref per person)."""
    n = len(plan.kind)
    has_b = np.isin(plan.kind, (COUPLE, FAMILY))
    size = 1 + has_b + plan.n_kids + plan.n_flat
    start = np.cumsum(size) - size
    n_main = int(size.sum())
    absent_hh = np.flatnonzero(plan.absent_in_city)
    n_abs = len(absent_hh)
    batch = Batch(n_main + n_abs, n + n_abs)
    p = batch.p
    hh = np.repeat(np.arange(n), size)
    pos = np.arange(n_main) - start[hh]
    role = np.full(n_main + n_abs, ROLE_ABSENT, dtype=np.int8)
    r = np.where(pos == 0, ROLE_A,
                 np.where(has_b[hh] & (pos == 1), ROLE_B,
                          np.where(pos < 1 + has_b[hh] + plan.n_kids[hh], ROLE_CHILD, ROLE_FLAT)))
    role[:n_main] = r
    p["hh"][:n_main] = hh
    p["hh"][n_main:] = n + np.arange(n_abs)
    age = np.empty(n_main + n_abs)
    sex = np.empty(n_main + n_abs, dtype=np.int8)
    a_idx = start
    age[a_idx] = plan.age_a
    sex[a_idx] = plan.sex_a
    b_idx = start[has_b] + 1
    age[b_idx] = plan.age_b[has_b]
    sex[b_idx] = P.MALE
    # a few same-sex couples (sex of B = sex of A)
    same = rng.random(len(b_idx)) < 0.006
    same &= plan.kind[has_b] == COUPLE
    sex[b_idx[same]] = sex[a_idx[has_b][same]]
    p["partner"][a_idx[has_b]] = b_idx
    p["partner"][b_idx] = a_idx[has_b]
    # flatmates
    flat = r == ROLE_FLAT
    age[:n_main][flat] = 19.5 + rng.random(int(flat.sum())) * 10
    sex[:n_main][flat] = np.where(rng.random(int(flat.sum())) < 0.5, P.FEMALE, P.MALE)
    # children: ages from the age of adult A (their mother, or single father)
    kid = np.flatnonzero(r == ROLE_CHILD)
    kh = hh[kid]
    pa = plan.age_a[kh]
    female_a = plan.sex_a[kh] == P.FEMALE
    lo = np.maximum(np.where(female_a, 17.6, 19.0), pa - 25.5)
    hi = np.minimum(np.where(female_a, 43.5, 55.0), pa - 0.02)
    lo = np.minimum(lo, hi)
    age[kid] = pa - (lo + rng.random(len(kid)) * (hi - lo))
    sex[kid] = np.where(rng.random(len(kid)) < 0.487, P.FEMALE, P.MALE)
    a_of_kid = start[kh]
    b_of_kid = np.where(has_b[kh], start[kh] + 1, -1)
    p["mother"][kid] = np.where(female_a, a_of_kid, -1)
    p["father"][kid] = np.where(female_a, b_of_kid, a_of_kid)
    # partners B and absent parents (opposite sex of the single parent) old enough for the eldest child
    eldest = np.zeros(n)
    np.maximum.at(eldest, kh, age[kid])
    b_hh = np.flatnonzero(has_b)
    age[b_idx] = np.where(plan.n_kids[b_hh] > 0, np.maximum(age[b_idx], eldest[b_hh] + 18.5 + rng.random(len(b_idx))),
                          age[b_idx])
    if n_abs:
        abs_idx = n_main + np.arange(n_abs)
        a_age = plan.age_a[absent_hh]
        age[abs_idx] = np.maximum(a_age + rng.normal(2.0, 4.0, n_abs), eldest[absent_hh] + 19.0)
        sex[abs_idx] = np.where(plan.sex_a[absent_hh] == P.FEMALE, P.MALE, P.FEMALE)
        slot = np.full(n, -1)
        slot[absent_hh] = abs_idx
        kid_abs = slot[kh]
        has_abs = kid_abs >= 0
        p["father"][kid[has_abs & female_a]] = kid_abs[has_abs & female_a]
        p["mother"][kid[has_abs & ~female_a]] = kid_abs[has_abs & ~female_a]
    ref = np.concatenate([plan.ref[hh], plan.ref[absent_hh]])
    p["birth"][:] = (ref - np.floor(age * 365.25)).astype(np.int32)
    p["sex"][:] = sex
    p["group"][:] = group
    batch.h["group"][:] = group
    return batch, role, ref


# ---------------------------------------------------------------------------------------------------
# facts of adults
# ---------------------------------------------------------------------------------------------------
def birth_year(batch: Batch, idx=slice(None)) -> np.ndarray:
    return C.year_of(batch.p["birth"][idx])


def set_native(b: Batch, idx: np.ndarray, group: int | None = None) -> None:
    """German by descent, born in Germany, parents not immigrants."""
    p = b.p
    p["bc"][idx] = C.DEU
    p["nat1"][idx] = C.DEU
    p["nat2"][idx] = -1
    p["orig_nat"][idx] = -1
    p["acq"][idx] = P.ACQ["birth"]
    p["natur_year"][idx] = 0
    p["immig"][idx] = 0
    p["origin"][idx] = -1
    p["mother_imm"][idx] = False
    p["father_imm"][idx] = False
    if group is not None:
        p["group"][idx] = group


def native_variants(rng, b: Batch, idx: np.ndarray, ref_year: np.ndarray) -> None:
    """A few natives are Germans born abroad (3.5 % of those born 1952+), by declaration (0.5 % of
    those born 1960–1974) or adopted from abroad (0.3 % of those under 25)."""
    p = b.p
    by = birth_year(b, idx)
    u = rng.random(len(idx))
    abroad = (by >= 1952) & (u < 0.035)
    sel = idx[abroad]
    p["bc"][sel] = C.sample_countries(rng, P.GERMAN_ABROAD_BIRTH_COUNTRIES, len(sel))
    p["immig"][sel] = np.minimum(by[abroad] + rng.integers(0, 26, len(sel)), ref_year[abroad])
    p["origin"][sel] = p["bc"][sel]
    decl = (by >= 1960) & (by <= 1974) & (u >= 0.035) & (u < 0.040)
    p["acq"][idx[decl]] = P.ACQ["declaration"]
    adopted = (ref_year - by < 25) & (u >= 0.040) & (u < 0.043)
    sel = idx[adopted]
    p["acq"][sel] = P.ACQ["adoption"]
    p["bc"][sel] = C.sample_countries(rng, P.ADOPTION_BIRTH_COUNTRIES, len(sel))
    p["immig"][sel] = np.minimum(by[adopted] + rng.integers(0, 4, len(sel)), ref_year[adopted])
    p["origin"][sel] = p["bc"][sel]


def dual_probability(country: np.ndarray, base: float) -> np.ndarray:
    """Probability of keeping the nationality of origin on naturalisation."""
    return np.where(C.IS_EU[country], 0.75, np.where(C.NO_RELEASE[country], 0.75, base))


def set_immigrant(rng, b: Batch, idx: np.ndarray, country: np.ndarray, arrival: np.ndarray,
                  ref_year: np.ndarray, p_natur: np.ndarray | float, dual_base: float = 0.12) -> None:
    """Born abroad, first move-in from abroad in ``arrival``; naturalised with probability ``p_natur``
    when 8 years of residence have passed (naturalisation year drawn from then to the reference year)."""
    p = b.p
    country = np.asarray(country, dtype=np.int16)
    by = birth_year(b, idx)
    arrival = np.clip(np.asarray(arrival), by, ref_year).astype(np.int16)
    p["bc"][idx] = country
    p["orig_nat"][idx] = country
    p["nat1"][idx] = country
    p["nat2"][idx] = -1
    p["acq"][idx] = -1
    p["natur_year"][idx] = 0
    p["immig"][idx] = arrival
    p["origin"][idx] = country
    p["mother_imm"][idx] = False  # parents stayed abroad (irrelevant for immigrants)
    p["father_imm"][idx] = False
    earliest = np.maximum(arrival + 8, by + 16)
    eligible = earliest <= ref_year
    natur = eligible & (rng.random(len(idx)) < p_natur) & (country != C.XXX)
    sel = idx[natur]
    lo, hi = earliest[natur], ref_year[natur]
    year = lo + np.floor(rng.random(len(sel)) * (hi - lo + 1)).astype(int)
    p["natur_year"][sel] = year
    p["acq"][sel] = P.ACQ["naturalisation"]
    p["nat1"][sel] = C.DEU
    keep = (rng.random(len(sel)) < dual_probability(country[natur], dual_base)) & (country[natur] != C.XXA)
    p["nat2"][sel] = np.where(keep, country[natur], -1)


def set_second_generation(rng, b: Batch, idx: np.ndarray, country: np.ndarray, ref_year: np.ndarray,
                          p_natur: float, dual_base: float = 0.15, p_both_parents: float = 0.85) -> None:
    """Born in Germany to immigrant parents (not simulated): option for those born 1990+ (transitional
    §40b StAG), naturalisation from age 16, otherwise foreign."""
    p = b.p
    by = birth_year(b, idx)
    p["bc"][idx] = C.DEU
    p["orig_nat"][idx] = country
    p["nat1"][idx] = country
    p["nat2"][idx] = -1
    p["acq"][idx] = -1
    p["natur_year"][idx] = 0
    p["immig"][idx] = 0
    p["origin"][idx] = -1
    both = rng.random(len(idx)) < p_both_parents
    p["mother_imm"][idx] = True
    p["father_imm"][idx] = both
    u = rng.random(len(idx))
    option = (by >= 1990) & (u < 0.45)
    sel = idx[option]
    p["nat1"][sel] = C.DEU
    p["acq"][sel] = P.ACQ["option"]
    p["nat2"][sel] = country[option]
    natur = ~option & (u < np.where(by >= 1990, 0.75, p_natur)) & (by + 16 <= ref_year)
    sel = idx[natur]
    lo = np.maximum(by[natur] + 16, 1992)
    hi = np.maximum(ref_year[natur], lo)
    p["natur_year"][sel] = lo + np.floor(rng.random(len(sel)) * (hi - lo + 1)).astype(int)
    p["acq"][sel] = P.ACQ["naturalisation"]
    p["nat1"][sel] = C.DEU
    keep = rng.random(len(sel)) < dual_probability(country[natur], dual_base)
    p["nat2"][sel] = np.where(keep, country[natur], -1)


# ---------------------------------------------------------------------------------------------------
# children
# ---------------------------------------------------------------------------------------------------
def german_since(p: dict, idx: np.ndarray) -> np.ndarray:
    """Year since which each person is German (``_NEVER`` for foreigners)."""
    acq = p["acq"][idx]
    german = (p["nat1"][idx] == C.DEU) | (p["nat2"][idx] == C.DEU)
    by = C.year_of(p["birth"][idx])
    year = np.where(acq == P.ACQ["naturalisation"], p["natur_year"][idx],
                    np.where(acq == P.ACQ["resettler"], p["immig"][idx],
                             np.where(acq == P.ACQ["adoption"], p["immig"][idx], by)))
    return np.where(german, year, _NEVER)


def child_citizenship(rng, p: dict, kid: np.ndarray, born_abroad: np.ndarray, arrival: np.ndarray) -> None:
    """Facts of children from their parents (fields of ``p`` indexed by ``kid``; parents ``p['mother']``
    and ``p['father']`` are indices into the same arrays or -1)."""
    m, f = p["mother"][kid], p["father"][kid]
    hm, hf = m >= 0, f >= 0
    mi, fi = np.where(hm, m, 0), np.where(hf, f, 0)
    yb = C.year_of(p["birth"][kid])
    g_m = hm & (german_since(p, mi) <= yb)
    g_f = hf & (german_since(p, fi) <= yb)
    orig_m = np.where(hm, p["orig_nat"][mi], -1)
    orig_f = np.where(hf, p["orig_nat"][fi], -1)
    orig = np.where(orig_m >= 0, orig_m, orig_f)
    foreign_m = hm & ~g_m & (orig_m >= 0)
    foreign_f = hf & ~g_f & (orig_f >= 0)
    real = lambda c: (c >= 0) & (c != C.XXA) & (c != C.XXX)  # noqa: E731
    n = len(kid)
    u = rng.random((4, n))

    bc = np.full(n, C.DEU, dtype=np.int16)
    nat1 = np.full(n, C.DEU, dtype=np.int16)
    nat2 = np.full(n, -1, dtype=np.int16)
    acq = np.full(n, P.ACQ["birth"], dtype=np.int8)
    natur_year = np.zeros(n, dtype=np.int16)
    immig = np.zeros(n, dtype=np.int16)
    origin = np.full(n, -1, dtype=np.int16)

    # born abroad: birth country and immigration from the family
    bc_parent = np.where(hm & (p["bc"][mi] != C.DEU), p["bc"][mi],
                         np.where(hf & (p["bc"][fi] != C.DEU), p["bc"][fi], np.maximum(orig, 0)))
    bc = np.where(born_abroad, bc_parent, bc)
    immig = np.where(born_abroad, np.maximum(arrival, yb), 0).astype(np.int16)
    origin = np.where(born_abroad, bc, -1).astype(np.int16)

    german_parent = g_m | g_f
    resettler_family = born_abroad & (
        (hm & (p["acq"][mi] == P.ACQ["resettler"])) | (hf & (p["acq"][fi] == P.ACQ["resettler"])))
    # German by descent (a parent German at the birth), with the other parent's nationality
    other_foreign = np.where(g_m, foreign_f, foreign_m)
    other_orig = np.where(g_m, orig_f, orig_m)
    dual_parent_nat = np.where(g_m & (p["nat2"][mi] >= 0), p["nat2"][mi],
                               np.where(g_f & (p["nat2"][fi] >= 0), p["nat2"][fi], -1))
    nat2_desc = np.where(other_foreign & real(other_orig) & (u[0] < 0.6), other_orig,
                         np.where(real(dual_parent_nat) & (u[0] < 0.4), dual_parent_nat, -1))
    # ius soli (option), 2000 onwards
    resident_8 = ((hm & ((p["bc"][mi] == C.DEU) | ((p["immig"][mi] > 0) & (p["immig"][mi] <= yb - 8))))
                  | (hf & ((p["bc"][fi] == C.DEU) | ((p["immig"][fi] > 0) & (p["immig"][fi] <= yb - 8)))))
    option = ~born_abroad & ~german_parent & (yb >= 2000) & resident_8
    foreign = ~german_parent & ~option & ~resettler_family

    acq = np.where(resettler_family, P.ACQ["resettler"], acq).astype(np.int8)
    nat2 = np.where(resettler_family & real(orig) & (u[1] < 0.2), orig, nat2)
    nat2 = np.where(german_parent & ~resettler_family, nat2_desc, nat2)
    acq = np.where(option, P.ACQ["option"], acq).astype(np.int8)
    nat2 = np.where(option & real(orig), orig, nat2)
    nat1 = np.where(foreign, np.where(orig >= 0, orig, C.XXX), nat1)
    acq = np.where(foreign, -1, acq).astype(np.int8)
    # co-naturalisation with a parent naturalised while the child was a minor
    nat_m = np.where(hm & (p["acq"][mi] == P.ACQ["naturalisation"]), p["natur_year"][mi], 0)
    nat_f = np.where(hf & (p["acq"][fi] == P.ACQ["naturalisation"]), p["natur_year"][fi], 0)
    co_year = np.where((nat_m >= yb) & (nat_m - yb < 18), nat_m, np.where((nat_f >= yb) & (nat_f - yb < 18), nat_f, 0))
    co = foreign & (co_year > 0) & (u[2] < 0.9)
    parent_dual = np.where(nat_m > 0, p["nat2"][mi], p["nat2"][fi]) >= 0
    acq = np.where(co, P.ACQ["naturalisation"], acq).astype(np.int8)
    natur_year = np.where(co, co_year, 0).astype(np.int16)
    nat2 = np.where(co & parent_dual & real(nat1), nat1, nat2)
    nat1 = np.where(co, C.DEU, nat1)

    p["bc"][kid] = bc
    p["nat1"][kid] = nat1
    p["nat2"][kid] = nat2.astype(np.int16)
    p["orig_nat"][kid] = np.where(german_parent & ~resettler_family & (nat2 < 0), -1, orig).astype(np.int16)
    p["acq"][kid] = acq
    p["natur_year"][kid] = natur_year
    p["immig"][kid] = immig
    p["origin"][kid] = origin
    # immigrant status of parents that are not simulated (absent outside the city)
    mother_is_imm = hm & (p["bc"][mi] != C.DEU) & (p["immig"][mi] >= 1950)
    father_is_imm = hf & (p["bc"][fi] != C.DEU) & (p["immig"][fi] >= 1950)
    guess = np.where(mother_is_imm | father_is_imm, u[3] < 0.7, u[3] < 0.05)
    p["mother_imm"][kid] = np.where(hm, mother_is_imm, guess)
    p["father_imm"][kid] = np.where(hf, father_is_imm, guess)


# ---------------------------------------------------------------------------------------------------
# group builders
# ---------------------------------------------------------------------------------------------------
KIDS_FAMILY = {1: 0.45, 2: 0.41, 3: 0.11, 4: 0.03}
KIDS_SINGLE = {1: 0.62, 2: 0.3, 3: 0.08}
KIDS_LARGE = {1: 0.2, 2: 0.3, 3: 0.25, 4: 0.15, 5: 0.1}


def _ref_year(ref: np.ndarray) -> np.ndarray:
    return C.year_of(ref).astype(np.int64)


def _finish(rng, batch: Batch, role, ref, mode, p_local, address_years, arrival_day=None) -> Built:
    """Children's facts; arrival year for ``abroad``; returns the Built record."""
    p = batch.p
    kid = np.flatnonzero(role == ROLE_CHILD)
    if arrival_day is None:
        arrival_day = np.full(batch.n_households, np.iinfo(np.int32).min, dtype=np.int64)
    hh_arrival = arrival_day[p["hh"][kid]]
    born_abroad = p["birth"][kid] < hh_arrival
    child_citizenship(rng, p, kid, born_abroad, C.year_of(np.maximum(hh_arrival, p["birth"][kid])))
    if mode == ABROAD:
        year = C.year_of(ref)
        imm = p["bc"] != C.DEU
        p["immig"][imm] = year[imm]
        p["origin"][imm] = p["bc"][imm]
    return Built(batch, role, ref, mode, np.broadcast_to(np.asarray(p_local, dtype=float), (batch.n,)).copy(),
                 np.broadcast_to(np.asarray(address_years, dtype=float), (batch.n_households,)).copy())


def _adults(role):
    return np.flatnonzero(role != ROLE_CHILD)


def _mixed_partners(rng, b: Batch, role, p_mixed, ref_year_p) -> None:
    """Turn partner B of some couples into a foreign-born partner (foreign or naturalised)."""
    partner = np.flatnonzero((role == ROLE_B) & (rng.random(b.n) < p_mixed))
    if len(partner):
        by = birth_year(b, partner)
        country = C.sample_countries(rng, P.MIXED_PARTNER_COUNTRIES, len(partner))
        arrival = np.maximum(by + 18 + rng.integers(0, 12, len(partner)), 1965)
        set_immigrant(rng, b, partner, country, arrival, ref_year_p[partner], 0.4)
        b.p["group"][partner] = P.GRP["other_foreign"]


def build_german(rng, n, ref, mode=BASE) -> Built:
    if mode == BASE:
        plan = make_plan(
            rng, n, ref, {SINGLE: 0.41, COUPLE: 0.34, FAMILY: 0.18, SINGLE_PARENT: 0.07},
            single_ages=[(19, 30, 0.24), (30, 45, 0.15), (45, 65, 0.30), (65, 80, 0.20), (80, 96, 0.11)],
            couple_ages=[(21, 35, 0.12), (35, 50, 0.13), (50, 67, 0.42), (67, 80, 0.25), (80, 92, 0.08)],
            family_ages=[(24, 34, 0.2), (34, 45, 0.45), (45, 56, 0.35)],
            parent_ages=[(20, 34, 0.3), (34, 45, 0.45), (45, 58, 0.25)],
            kids_family=KIDS_FAMILY, kids_single=KIDS_SINGLE, p_absent_in_city=0.45)
    else:
        plan = make_plan(
            rng, n, ref, {SINGLE: 0.55, COUPLE: 0.2, FAMILY: 0.2, SINGLE_PARENT: 0.05},
            single_ages=[(19, 30, 0.55), (30, 50, 0.3), (50, 70, 0.1), (70, 95, 0.05)],
            couple_ages=[(22, 35, 0.5), (35, 55, 0.3), (55, 80, 0.2)],
            family_ages=[(25, 45, 1)], parent_ages=[(22, 48, 1)],
            kids_family=KIDS_FAMILY, kids_single=KIDS_SINGLE, p_absent_in_city=0.25)
    b, role, ref_p = expand(rng, plan, P.GRP["german"])
    ry = _ref_year(ref_p)
    adults = _adults(role)
    set_native(b, adults)
    native_variants(rng, b, adults, ry[adults])
    _mixed_partners(rng, b, role, 0.11, ry)
    # absent fathers of single-parent households: some foreign-born
    absent = np.flatnonzero((role == ROLE_ABSENT) & (rng.random(b.n) < 0.3))
    if len(absent):
        country = C.sample_countries(rng, P.MIXED_PARTNER_COUNTRIES, len(absent))
        by = birth_year(b, absent)
        set_immigrant(rng, b, absent, country, np.maximum(by + 18 + rng.integers(0, 12, len(absent)), 1965),
                      ry[absent], 0.35)
        b.p["group"][absent] = P.GRP["other_foreign"]
    return _finish(rng, b, role, ref_p, mode, 0.45 if mode == BASE else 0.0, 10.0 if mode == BASE else 0.0)


def build_german_flatshare(rng, n, ref, mode=BASE) -> Built:
    plan = make_plan(rng, n, ref, {FLATSHARE: 0.75, SINGLE: 0.25}, single_ages=[(19, 28, 1)],
                     couple_ages=[(20, 30, 1)], family_ages=[(25, 35, 1)], parent_ages=[(25, 35, 1)],
                     kids_family=KIDS_FAMILY, kids_single=KIDS_SINGLE, flat_ages=[(19.5, 27, 1)],
                     flat_sizes={1: 0.45, 2: 0.35, 3: 0.2})
    b, role, ref_p = expand(rng, plan, P.GRP["german"])
    ry = _ref_year(ref_p)
    adults = _adults(role)
    set_native(b, adults)
    native_variants(rng, b, adults, ry[adults])
    return _finish(rng, b, role, ref_p, mode, 0.15 if mode == BASE else 0.0, 1.5 if mode == BASE else 0.0)


def build_expellee(rng, n, ref, mode=BASE) -> Built:
    ry0 = int(C.year_of(np.asarray([np.min(ref)]))[0])
    ages = [(ry0 - 1944, ry0 - 1932, 0.7), (ry0 - 1932, ry0 - 1921, 0.3)]
    plan = make_plan(rng, n, ref, {SINGLE: 0.62, COUPLE: 0.38}, single_ages=ages, couple_ages=ages,
                     family_ages=ages, parent_ages=ages, kids_family=KIDS_FAMILY, kids_single=KIDS_SINGLE,
                     p_female_single=0.78, p_female_single_old=0.78, age_gap=(2.0, 2.0))
    b, role, ref_p = expand(rng, plan, P.GRP["expellee"])
    p = b.p
    adults = _adults(role)
    set_native(b, adults)
    by = birth_year(b, adults)
    expellee = (by <= 1944) & ((role[adults] != ROLE_B) | (rng.random(len(adults)) < 0.5))
    sel = adults[expellee]
    p["bc"][sel] = C.sample_countries(rng, P.EXPELLEE_BIRTH_COUNTRIES, len(sel))
    p["immig"][sel] = np.maximum(rng.integers(1945, 1950, len(sel)), by[expellee])
    p["origin"][sel] = p["bc"][sel]
    p["group"][adults[~expellee]] = P.GRP["german"]
    return _finish(rng, b, role, ref_p, mode, 0.0, 25.0)


def _arrival_years(rng, n, lo, hi, weights) -> np.ndarray:
    """Years ``lo..hi`` drawn with relative ``weights``."""
    years = np.arange(lo, hi + 1)
    w = np.asarray(weights, dtype=float)
    return years[rng.choice(len(years), size=n, p=w / w.sum())]


def build_guest_worker_1(rng, n, ref, mode=BASE) -> Built:
    ry0 = int(C.year_of(np.asarray([np.min(ref)]))[0])
    ages = [(ry0 - 1955, ry0 - 1935, 1.0)]
    plan = make_plan(rng, n, ref, {SINGLE: 0.45, COUPLE: 0.55}, single_ages=ages, couple_ages=ages,
                     family_ages=ages, parent_ages=ages, kids_family=KIDS_FAMILY, kids_single=KIDS_SINGLE,
                     p_female_single=0.6, p_female_single_old=0.6, age_gap=(3.0, 3.0))
    b, role, ref_p = expand(rng, plan, P.GRP["guest_worker"])
    ry = _ref_year(ref_p)
    hh_country = C.sample_countries(rng, P.GUEST_WORKER_COUNTRIES, b.n_households)
    hh_arrival = rng.integers(1960, 1976, b.n_households)
    adults = _adults(role)
    hh = b.p["hh"][adults]
    by = birth_year(b, adults)
    arrival = np.where(role[adults] == ROLE_A, hh_arrival[hh] + rng.integers(0, 7, len(adults)), hh_arrival[hh])
    arrival = np.maximum(arrival, by + 16)
    c = hh_country[hh]
    p_nat = np.where(c == C.CTY["TUR"], 0.35, np.where(np.isin(c, list(_EX_YUGOSLAVIA)) & ~C.IS_EU[c], 0.35, 0.15))
    set_immigrant(rng, b, adults, c, arrival, ry[adults], p_nat, dual_base=0.1)
    return _finish(rng, b, role, ref_p, mode, 0.0, 18.0)


def build_guest_worker_2(rng, n, ref, mode=BASE) -> Built:
    ry0 = int(C.year_of(np.asarray([np.min(ref)]))[0])
    plan = make_plan(
        rng, n, ref, {FAMILY: 0.45, COUPLE: 0.14, SINGLE: 0.3, SINGLE_PARENT: 0.11},
        single_ages=[(19, ry0 - 1962, 1)], couple_ages=[(22, ry0 - 1962, 1)],
        family_ages=[(24, 52, 1)], parent_ages=[(22, 52, 1)], kids_family={1: 0.3, 2: 0.42, 3: 0.2, 4: 0.08},
        kids_single=KIDS_SINGLE, p_absent_in_city=0.35)
    b, role, ref_p = expand(rng, plan, P.GRP["guest_worker"])
    p = b.p
    ry = _ref_year(ref_p)
    hh_country = C.sample_countries(rng, P.GUEST_WORKER_COUNTRIES, b.n_households)
    adults = _adults(role)
    c = hh_country[p["hh"][adults]]
    # partner B: second generation (45 %), marriage migrant (40 %), German native (15 %)
    u = rng.random(len(adults))
    is_b = role[adults] == ROLE_B
    migrant = is_b & (u < 0.40)
    native = is_b & (u >= 0.40) & (u < 0.55)
    second = ~migrant & ~native
    by = birth_year(b, adults)
    # second generation: 72 % born in Germany, the others came as children
    came_as_child = second & (rng.random(len(adults)) < 0.28)
    sel = second & ~came_as_child
    set_second_generation(rng, b, adults[sel], c[sel], ry[adults[sel]], p_natur=0.5)
    sel = second & came_as_child
    set_immigrant(rng, b, adults[sel], c[sel], np.clip(by[sel] + rng.integers(1, 15, int(sel.sum())), 1968, 1998),
                  ry[adults[sel]], 0.5, dual_base=0.15)
    sel = migrant
    set_immigrant(rng, b, adults[sel], c[sel], np.maximum(by[sel] + 18 + rng.integers(0, 10, int(sel.sum())), 1985),
                  ry[adults[sel]], 0.25, dual_base=0.1)
    set_native(b, adults[native], P.GRP["german"])
    return _finish(rng, b, role, ref_p, mode, 0.55 if mode == BASE else 0.0, 8.0 if mode == BASE else 0.0)


_RESETTLER_YEARS = (1988, 2005, [3, 5, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5])


def build_resettler(rng, n, ref, mode=BASE) -> Built:
    """Resettler households: elderly (born 1925–1958), families of the middle generation, and young adults
    born in Germany after their parents' arrival."""
    ry0 = int(C.year_of(np.asarray([np.min(ref)]))[0])
    sub = choice(rng, {0: 0.33, 1: 0.47, 2: 0.20} if mode == BASE else {1: 0.75, 2: 0.25}, n)
    parts = []
    for s, kinds, ages_single, ages_couple in (
        (0, {SINGLE: 0.45, COUPLE: 0.55}, [(ry0 - 1958, ry0 - 1925, 1)], [(ry0 - 1958, ry0 - 1928, 1)]),
        (1, {FAMILY: 0.5, COUPLE: 0.18, SINGLE: 0.22, SINGLE_PARENT: 0.10}, [(ry0 - 1987, ry0 - 1959, 1)],
         [(ry0 - 1987, ry0 - 1959, 1)]),
        (2, {SINGLE: 0.55, COUPLE: 0.30, FAMILY: 0.15}, [(max(18.5, ry0 - 1998), ry0 - 1989, 1)],
         [(max(18.5, ry0 - 1998), ry0 - 1989, 1)]),
    ):
        m = sub == s
        if not m.any():
            continue
        ref_s = np.broadcast_to(ref, (n,))[m]
        plan = make_plan(rng, int(m.sum()), ref_s, kinds, single_ages=ages_single, couple_ages=ages_couple,
                         family_ages=ages_couple, parent_ages=ages_couple, kids_family=KIDS_FAMILY,
                         kids_single=KIDS_SINGLE, p_female_single=0.55, p_female_single_old=0.75,
                         p_absent_in_city=0.3)
        b, role, ref_p = expand(rng, plan, P.GRP["resettler"])
        p = b.p
        ry = _ref_year(ref_p)
        hh_country = C.sample_countries(rng, P.RESETTLER_COUNTRIES, b.n_households)
        hh_arrival = np.minimum(_arrival_years(rng, b.n_households, *_RESETTLER_YEARS), ry0)
        adults = _adults(role)
        hh = p["hh"][adults]
        c = hh_country[hh]
        by = birth_year(b, adults)
        u = rng.random(len(adults))
        if s == 2:
            native_partner = (role[adults] == ROLE_B) & (u < 0.5)
            young = ~native_partner
            sel = adults[young]
            set_native(b, sel)
            p["orig_nat"][sel] = -1
            p["mother_imm"][sel] = True
            p["father_imm"][sel] = rng.random(len(sel)) < 0.88
            set_native(b, adults[native_partner], P.GRP["german"])
            arrival_day = None
        else:
            native_partner = (role[adults] == ROLE_B) & (u < 0.2)
            imm = ~native_partner
            arrival = np.maximum(hh_arrival[hh], by)
            set_immigrant(rng, b, adults[imm], c[imm], arrival[imm], ry[adults[imm]], 0.0)
            sel = adults[imm]
            v = rng.random(len(sel))
            res = v < 0.86
            p["acq"][sel[res]] = P.ACQ["resettler"]
            p["nat1"][sel[res]] = C.DEU
            keep = res & (rng.random(len(sel)) < np.where(np.isin(c[imm], [C.CTY["POL"], C.CTY["ROU"]]), 0.3, 0.2))
            p["nat2"][sel[keep]] = c[imm][keep]
            natur = (v >= 0.86) & (v < 0.93) & (arrival[imm] + 8 <= ry[sel])
            lo = arrival[imm][natur] + 8
            p["natur_year"][sel[natur]] = lo + np.floor(rng.random(int(natur.sum())) * (ry[sel[natur]] - lo + 1))
            p["acq"][sel[natur]] = P.ACQ["naturalisation"]
            p["nat1"][sel[natur]] = C.DEU
            set_native(b, adults[native_partner], P.GRP["german"])
            arrival_day = C.year_start(hh_arrival) + rng.integers(0, 365, b.n_households)
        built = _finish(rng, b, role, ref_p, mode, 0.6 if mode == BASE else 0.0, 12.0 if mode == BASE else 0.0,
                        arrival_day=arrival_day)
        parts.append(built)
    return _merge(parts, mode)


def _merge(parts: list[Built], mode: str) -> Built:
    batch = Batch.concat([b.batch for b in parts])
    return Built(batch, np.concatenate([b.role for b in parts]), np.concatenate([b.ref for b in parts]), mode,
                 np.concatenate([b.p_local for b in parts]), np.concatenate([b.address_years for b in parts]))


def _immigrant_households(rng, n, ref, mode, group, table, kinds, arrival_fn, p_natur, *, single_ages,
                          couple_ages, family_ages, parent_ages, kids_family=KIDS_FAMILY, kids_single=KIDS_SINGLE,
                          p_female_single=0.45, p_partner_same=0.85, p_partner_german=0.1, address_years=4.0,
                          flat_ages=((19.5, 29.5, 1),), p_absent_in_city=0.3, dual_base=0.15) -> Built:
    """Households of immigrants from one country table (partners mostly from the same country)."""
    plan = make_plan(rng, n, ref, kinds, single_ages=single_ages, couple_ages=couple_ages,
                     family_ages=family_ages, parent_ages=parent_ages, kids_family=kids_family,
                     kids_single=kids_single, p_female_single=p_female_single, p_absent_in_city=p_absent_in_city,
                     flat_ages=flat_ages)
    b, role, ref_p = expand(rng, plan, P.GRP[group])
    p = b.p
    ry = _ref_year(ref_p)
    hh_country = C.sample_countries(rng, table, b.n_households)
    ref_hh = np.empty(b.n_households, dtype=np.int64)
    ref_hh[p["hh"]] = ref_p
    if mode == ABROAD:
        hh_arrival = C.year_of(ref_hh).astype(np.int64)
    else:
        hh_arrival = arrival_fn(rng, b.n_households, C.year_of(ref_hh).astype(np.int64), hh_country)
    adults = _adults(role)
    hh = p["hh"][adults]
    c = hh_country[hh].copy()
    u = rng.random(len(adults))
    is_b = role[adults] == ROLE_B
    german = is_b & (u < p_partner_german)
    other = is_b & (u >= p_partner_german) & (u < 1 - p_partner_same)
    flat = role[adults] == ROLE_FLAT
    redraw = other | flat
    c[redraw] = C.sample_countries(rng, table, int(redraw.sum()))
    imm = ~german
    by = birth_year(b, adults)
    arrival = np.where(flat, ry[adults] - np.floor(rng.exponential(1.5, len(adults))), hh_arrival[hh])
    if mode == ABROAD:
        arrival = ry[adults]
    arrival = np.maximum(arrival, by)
    set_immigrant(rng, b, adults[imm], c[imm], arrival[imm], ry[adults[imm]], p_natur, dual_base=dual_base)
    set_native(b, adults[german], P.GRP["german"])
    arrival_day = C.year_start(hh_arrival) + rng.integers(0, 365, b.n_households)
    if mode == ABROAD:
        arrival_day = ref_hh
    arrival_day = np.minimum(arrival_day, ref_hh)
    return _finish(rng, b, role, ref_p, mode, 0.0, address_years if mode == BASE else 0.0, arrival_day=arrival_day)


_EU_START = {C.CTY[c]: y for c, y in (("POL", 2004), ("HUN", 2004), ("CZE", 2004), ("SVK", 2004), ("LTU", 2004),
                                       ("LVA", 2004), ("EST", 2004), ("SVN", 2004), ("ROU", 2007), ("BGR", 2007),
                                       ("HRV", 2013))}


def _eu_arrival(rng, n, ref_year, country):
    start = np.array([_EU_START.get(int(c), 1990) for c in country])
    y = ref_year - np.floor(rng.exponential(4.0, n)).astype(int)
    late = np.isin(country, [C.CTY["ROU"], C.CTY["BGR"]])
    y = np.where(late & (rng.random(n) < 0.5), ref_year - rng.integers(0, 4, n), y)
    return np.clip(y, start, ref_year)


def build_eu_mobility(rng, n, ref, mode=BASE) -> Built:
    return _immigrant_households(
        rng, n, ref, mode, "eu_mobility", P.EU_MOBILITY_COUNTRIES,
        {SINGLE: 0.44, COUPLE: 0.2, FAMILY: 0.28, SINGLE_PARENT: 0.05, FLATSHARE: 0.03}, _eu_arrival, 0.05,
        single_ages=[(19, 30, 0.45), (30, 45, 0.4), (45, 62, 0.15)], couple_ages=[(20, 35, 0.5), (35, 60, 0.5)],
        family_ages=[(23, 46, 1)], parent_ages=[(23, 46, 1)], p_female_single=0.4, address_years=3.0)


def _refugee_arrival(rng, n, ref_year, country):
    y = np.where(rng.random(n) < 0.12, 2014, np.where(rng.random(n) < 0.66, 2015, 2016))
    return np.minimum(y, ref_year)


def build_refugee(rng, n, ref, mode=BASE, group="refugee_2015") -> Built:
    table = P.REFUGEE_2015_COUNTRIES if group == "refugee_2015" else P.ASYLUM_COUNTRIES
    built = _immigrant_households(
        rng, n, ref, mode, group, table,
        {SINGLE: 0.48, FAMILY: 0.34, COUPLE: 0.05, SINGLE_PARENT: 0.08, FLATSHARE: 0.05}, _refugee_arrival, 0.0,
        single_ages=[(18, 25, 0.45), (25, 35, 0.35), (35, 60, 0.2)], couple_ages=[(20, 40, 1)],
        family_ages=[(22, 45, 1)], parent_ages=[(22, 45, 1)], kids_family=KIDS_LARGE,
        kids_single={1: 0.4, 2: 0.35, 3: 0.25}, p_female_single=0.15, p_partner_same=0.97,
        p_partner_german=0.0, address_years=0.8, flat_ages=((18.5, 30, 1),), p_absent_in_city=0.1)
    _stateless(rng, built.batch)
    return built


def _stateless(rng, b: Batch) -> None:
    """Stateless (XXA; e.g. Palestinians from Syria) and unknown (XXX) nationality, per household."""
    p = b.p
    hh_u = rng.random(b.n_households)
    u = hh_u[p["hh"]]
    foreign = p["acq"] < 0
    syr = p["orig_nat"] == C.CTY["SYR"]
    unclear = np.isin(p["orig_nat"], [C.CTY[c] for c in ("ERI", "SOM", "AFG", "IRQ")])
    xxa = foreign & syr & (u < 0.04)
    xxx = foreign & unclear & (u < 0.04)
    p["nat1"][xxa] = C.XXA
    p["nat1"][xxx] = C.XXX
    p["orig_nat"][xxa] = C.XXA
    p["orig_nat"][xxx] = C.XXX


def build_asylum(rng, n, ref, mode=ABROAD) -> Built:
    return build_refugee(rng, n, ref, mode, group="asylum")


def build_ukraine(rng, n, ref, mode=ABROAD) -> Built:
    """Refugees from Ukraine (2022 onwards): mostly women with children, older women, few men."""
    sub = choice(rng, {0: 0.62, 1: 0.24, 2: 0.14}, n)
    parts = []
    ref = np.broadcast_to(ref, (n,))
    for s, kinds, single_ages, p_female in (
        (0, {SINGLE_PARENT: 0.8, FAMILY: 0.2}, [(25, 50, 1)], 0.95),
        (1, {SINGLE: 1.0}, [(18, 40, 0.45), (40, 65, 0.3), (65, 88, 0.25)], 0.8),
        (2, {COUPLE: 1.0}, [(55, 80, 1)], 0.5),
    ):
        m = sub == s
        if not m.any():
            continue
        built = _immigrant_households(
            rng, int(m.sum()), ref[m], mode, "ukraine_2022", P.UKRAINE_COUNTRIES, kinds, None, 0.0,
            single_ages=single_ages, couple_ages=[(55, 80, 1)], family_ages=[(25, 48, 1)],
            parent_ages=[(24, 50, 1)], kids_family={1: 0.4, 2: 0.4, 3: 0.2}, kids_single={1: 0.55, 2: 0.35, 3: 0.1},
            p_female_single=p_female, p_partner_same=1.0, p_partner_german=0.0, p_absent_in_city=0.0)
        if s == 0:
            built.batch.p["sex"][built.role == ROLE_A] = P.FEMALE
        parts.append(built)
    return _merge(parts, mode)


def _student_arrival(rng, n, ref_year, country):
    return ref_year - np.floor(rng.exponential(1.8, n)).astype(int)


def build_student(rng, n, ref, mode=BASE) -> Built:
    built = _immigrant_households(
        rng, n, ref, mode, "student", P.STUDENT_COUNTRIES, {SINGLE: 0.55, FLATSHARE: 0.45}, _student_arrival, 0.0,
        single_ages=[(19, 24, 0.4), (24, 31, 0.6)], couple_ages=[(22, 30, 1)], family_ages=[(24, 32, 1)],
        parent_ages=[(24, 32, 1)], p_female_single=0.4, address_years=1.2, flat_ages=((19.5, 30, 1),))
    p = built.batch.p
    # students arrived as adults
    by = C.year_of(p["birth"])
    p["immig"][:] = np.maximum(p["immig"], by + 18)
    p["immig"][:] = np.minimum(p["immig"], C.year_of(built.ref))
    return built


def _other_arrival(rng, n, ref_year, country):
    y = ref_year - np.floor(rng.exponential(11.0, n)).astype(int)
    return np.clip(y, 1970, ref_year)


def build_other_foreign(rng, n, ref, mode=BASE) -> Built:
    built = _immigrant_households(
        rng, n, ref, mode, "other_foreign", P.OTHER_FOREIGN_COUNTRIES,
        {SINGLE: 0.40, COUPLE: 0.25, FAMILY: 0.28, SINGLE_PARENT: 0.07}, _other_arrival, 0.5,
        single_ages=[(20, 35, 0.45), (35, 60, 0.4), (60, 85, 0.15)], couple_ages=[(22, 40, 0.5), (40, 75, 0.5)],
        family_ages=[(24, 50, 1)], parent_ages=[(24, 50, 1)], p_partner_same=0.55, p_partner_german=0.38,
        address_years=5.0, dual_base=0.25)
    p = built.batch.p
    by = C.year_of(p["birth"])
    adult_imm = (built.role != ROLE_CHILD) & (p["immig"] > 0)
    p["immig"][adult_imm] = np.minimum(np.maximum(p["immig"][adult_imm], by[adult_imm] + 16),
                                       C.year_of(built.ref[adult_imm]))
    # a few stateless persons (e.g. Palestinians from Lebanon)
    xxa = (p["acq"] < 0) & (p["orig_nat"] == C.CTY["LBN"]) & (rng.random(built.batch.n) < 0.3)
    p["nat1"][xxa] = C.XXA
    p["orig_nat"][xxa] = C.XXA
    return built


def build_mh_domestic(rng, n, ref, mode=DOMESTIC) -> Built:
    """Households with a migration history moving in from another German municipality."""
    sub = choice(rng, {0: 0.35, 1: 0.35, 2: 0.2, 3: 0.1}, n)
    ref = np.broadcast_to(ref, (n,))
    parts = []
    for s, fn in ((0, build_guest_worker_2), (1, build_resettler), (2, build_other_foreign), (3, build_eu_mobility)):
        m = sub == s
        if m.any():
            parts.append(fn(rng, int(m.sum()), ref[m], DOMESTIC))
    return _merge(parts, DOMESTIC)


BUILDERS = {
    "german": build_german,
    "german_domestic": build_german,
    "german_flatshare": build_german_flatshare,
    "expellee": build_expellee,
    "guest_worker_1": build_guest_worker_1,
    "guest_worker_2": build_guest_worker_2,
    "resettler": build_resettler,
    "eu_mobility": build_eu_mobility,
    "refugee_2015": build_refugee,
    "refugee_2015_institution": build_refugee,
    "asylum": build_asylum,
    "ukraine_2022": build_ukraine,
    "student": build_student,
    "other_foreign": build_other_foreign,
    "mh_domestic": build_mh_domestic,
}
#: Mean household size of each unit (persons per household incl. absent parents), for sizing batches.
MEAN_SIZE = {
    "german": 1.95, "german_domestic": 1.7, "german_flatshare": 2.3, "expellee": 1.38, "guest_worker_1": 1.55,
    "guest_worker_2": 2.6, "resettler": 2.1, "eu_mobility": 2.0, "refugee_2015": 2.4, "refugee_2015_institution": 2.4,
    "asylum": 2.3, "ukraine_2022": 2.2, "student": 1.9, "other_foreign": 2.2, "mh_domestic": 2.3,
}


# ---------------------------------------------------------------------------------------------------
# dates and marital status
# ---------------------------------------------------------------------------------------------------
def assign_dates(rng, built: Built) -> None:
    """moved_in_city / moved_in_address consistent with the histories (never after ``ref``, never
    before birth; ``moved_in_address`` at least the month of birth)."""
    b, role = built.batch, built.role
    p = b.p
    ref = built.ref.astype(np.int64)
    birth = p["birth"].astype(np.int64)
    n, nh = b.n, b.n_households
    if built.mode != BASE:
        p["moved_city"][:] = ref
        p["moved_addr"][:] = ref
        return
    adult = role != ROLE_CHILD
    immigrant = p["immig"] > 0
    adult18 = np.asarray(C.add_years(birth, 18), dtype=np.int64)
    imm_lo = np.maximum(birth, C.year_start(np.maximum(p["immig"], 1900)).astype(np.int64))
    nat_lo = np.maximum(adult18, C.day(date(1960, 1, 1)))
    lower = np.where(immigrant, imm_lo, np.minimum(nat_lo, ref))
    first = np.zeros(nh, dtype=np.int64)
    is_first = np.r_[True, p["hh"][1:] != p["hh"][:-1]]
    first_idx = np.flatnonzero(is_first)
    first[p["hh"][first_idx]] = first_idx
    # the first member (A or absent parent) decides the household's move into the city
    a = first
    local = ~immigrant[a] & (rng.random(nh) < built.p_local[a])
    span = ref[a] - lower[a]
    gap = np.where(immigrant[a], rng.exponential(3.0 * 365.25, nh), rng.exponential(12.0 * 365.25, nh))
    city_a = np.where(immigrant[a], lower[a] + np.minimum(span, gap), ref[a] - np.minimum(span, gap))
    city_a = np.where(local, C.NO_DATE, city_a)
    # address: not before any adult could have arrived, nor before A moved to the city
    hh_lower = np.full(nh, np.iinfo(np.int64).min)
    np.maximum.at(hh_lower, p["hh"][adult], np.where(immigrant[adult], lower[adult], adult18[adult]))
    hh_lower = np.maximum(hh_lower, np.where(local, hh_lower, city_a))
    hh_lower = np.minimum(hh_lower, ref[a])
    dur = rng.exponential(built.address_years * 365.25)
    addr = np.maximum(ref[a] - dur, hh_lower).astype(np.int64)
    addr_p = addr[p["hh"]]
    # members
    city = np.full(n, C.NO_DATE, dtype=np.int64)
    city[a] = city_a
    other_adult = adult & ~is_first
    born_here = ~immigrant & (rng.random(n) < 0.4) & (city_a[p["hh"]] == C.NO_DATE)
    u = rng.random(n)
    own = lower + np.floor(u * np.maximum(addr_p - lower + 1, 1))
    city = np.where(other_adult, np.where(born_here, C.NO_DATE, np.minimum(own, addr_p)), city)
    kid = role == ROLE_CHILD
    ca = city_a[p["hh"]]
    kid_city = np.where((ca != C.NO_DATE) & (birth <= ca), ca,
                        np.where(immigrant, np.minimum(np.maximum(imm_lo, birth), ref), C.NO_DATE))
    city = np.where(kid, kid_city, city)
    city = np.where(city != C.NO_DATE, np.clip(city, birth, ref), C.NO_DATE)
    # immigrants must have a move-in date (they were not born here)
    city = np.where(immigrant & (city == C.NO_DATE), np.clip(imm_lo, birth, ref), city)
    addr_member = np.maximum(addr_p, C.month_start(birth).astype(np.int64))
    addr_member = np.maximum(addr_member, np.where(city != C.NO_DATE, city, addr_member))
    p["moved_city"][:] = city.astype(np.int32)
    p["moved_addr"][:] = np.minimum(addr_member, ref).astype(np.int32)


def assign_marital(rng, built: Built) -> None:
    """Marital status by household role, age and sex."""
    b, role = built.batch, built.role
    p = b.p
    age = (built.ref - p["birth"]) / 365.25
    n = b.n
    u = rng.random(n)
    m = np.full(n, P.MAR["ledig"], dtype=np.int8)
    partnered = p["partner"] >= 0
    pa = np.where(partnered, p["partner"], 0)
    same_sex = partnered & (p["sex"] == p["sex"][pa])
    couple_age = np.where(partnered, np.minimum(age, age[pa]), age)
    # couples: one draw per couple (the lower index decides)
    cu = np.where(partnered, u[np.minimum(np.arange(n), pa)], u)
    p_married = np.where(couple_age < 30, 0.45, np.where(couple_age < 45, 0.72, 0.88))
    m = np.where(partnered & (cu < p_married), P.MAR["verheiratet"], m)
    m = np.where(partnered & (cu >= p_married) & (cu < p_married + 0.25 * (1 - p_married)) & (couple_age > 35),
                 P.MAR["geschieden"], m)
    m = np.where(same_sex & (cu < 0.6), P.MAR["lebenspartnerschaft"], np.where(same_sex, P.MAR["verheiratet"], m))
    # single adults and single parents
    alone = ~partnered & (role != ROLE_CHILD) & (age >= 18)
    old_w = np.where(p["sex"] == P.FEMALE, 0.68, 0.45)
    cat = np.select(
        [age < 30, age < 50, age < 70],
        [np.where(u < 0.96, P.MAR["ledig"], P.MAR["verheiratet"]),
         np.where(u < 0.58, P.MAR["ledig"], np.where(u < 0.9, P.MAR["geschieden"],
                                                     np.where(u < 0.97, P.MAR["verheiratet"], P.MAR["verwitwet"]))),
         np.where(u < 0.28, P.MAR["ledig"], np.where(u < 0.66, P.MAR["geschieden"],
                                                     np.where(u < 0.86, P.MAR["verwitwet"], P.MAR["verheiratet"])))],
        np.where(u < old_w, P.MAR["verwitwet"], np.where(u < old_w + 0.12, P.MAR["geschieden"],
                                                         np.where(u < old_w + 0.22, P.MAR["ledig"],
                                                                  P.MAR["verheiratet"]))),
    )
    m = np.where(alone, cat, m)
    # adult children at home: nearly all single
    m = np.where((role == ROLE_CHILD) & (age >= 18) & (u < 0.03), P.MAR["verheiratet"], m)
    # unknown status for some immigrants (refugees more often)
    refugee = np.isin(p["group"], [P.GRP["refugee_2015"], P.GRP["asylum"], P.GRP["ukraine_2022"]])
    unknown = (age >= 16) & (p["immig"] > 0) & (rng.random(n) < np.where(refugee, 0.07, 0.01))
    m = np.where(unknown, P.MAR["unbekannt"], m)
    p["marital"][:] = m.astype(np.int8)


def assign_rare_sexes(rng, batch: Batch, ref: np.ndarray) -> None:
    """A handful of adults registered as ``d`` (divers) or ``x`` (no entry)."""
    p = batch.p
    adult = (ref - p["birth"]) >= 18 * 365.25
    u = rng.random(batch.n)
    p["sex"][adult & (u < P.SEX_DIVERSE_RATE)] = P.DIVERSE
    p["sex"][adult & (u >= P.SEX_DIVERSE_RATE) & (u < P.SEX_DIVERSE_RATE + P.SEX_NO_ENTRY_RATE)] = P.NO_ENTRY


def build(rng, unit: str, n_households: int, ref, mode: str) -> Built:
    """Households of one allocation unit with facts, dates and marital status."""
    fn = BUILDERS[unit]
    built = fn(rng, n_households, np.broadcast_to(np.asarray(ref, dtype=np.int64), (n_households,)), mode)
    assign_dates(rng, built)
    assign_marital(rng, built)
    assign_rare_sexes(rng, built.batch, built.ref)
    if unit == "refugee_2015_institution":
        built.batch.h["inst"][:] = True
    return built
