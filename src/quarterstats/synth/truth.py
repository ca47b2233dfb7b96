"""Synthetic truth: migration background and immigration history from the generator's true facts.

This is an implementation independent of ``quarterstats.migration`` (which derives the same concepts
from register fields): it works on the generator's own arrays, uses the true acquisition (never
``unknown``), the true birth country and the true parents — linked or not.

Migrationshintergrund (spec ``migration-background.md``, defaults; the register rule's concept applied to
complete, true facts), per person present at day ``at``:

* ``foreign`` — no ``DEU`` among the true nationalities;
* ``german_personal_mh`` — German and (acquisition by naturalisation, option, resettler status or
  adoption; or a second, non-German nationality; or born abroad, except Germans by birth born before
  1950 — WWII expellees);
* ``german_familial_mh`` — under 18, German, no personal feature, and a true parent who lives in the
  city at ``at`` (any household, institutions included) is foreign or has personal MH;
* ``german_no_mh`` — everyone else.

Bezugsland (the convention of ``quarterstats.migration``): foreign → ``nationality_1``; if that is
``XXA``/``XXX``, the first known, non-German of ``nationality_2`` and the birth country, else
``nationality_1`` itself; personal MH → the non-German nationality, else the birth country if not
``DEU``, else the country of the last move-in from abroad, else ``XXX``; familial → the mother's
Bezugsland if she lives in the city and is foreign or has personal MH, else the father's; null without
MH. ("Known" excludes ``XXA``/``XXX``; Germany is never a Bezugsland of a person with MH.)

Einwanderungsgeschichte (Destatis 2023): ``immigrant`` — born abroad and first moved to Germany in or
after 1950; ``descendant`` — born in Germany and both true parents immigrants; ``one_sided`` — exactly
one; ``none`` otherwise (known for adults too: the generator knows their parents' history).
"""

from __future__ import annotations

import numpy as np

from . import codes as C
from . import params as P
from .state import State

MH_STATUS = ("foreign", "german_personal_mh", "german_familial_mh", "german_no_mh")
EG_STATUS = ("immigrant", "descendant", "one_sided", "none")
PERSONAL_ACQUISITIONS = [P.ACQ[a] for a in ("naturalisation", "option", "resettler", "adoption")]
EXPELLEE_ACQUISITIONS = [P.ACQ["birth"], P.ACQ["unknown"]]
EXPELLEE_BIRTH_YEAR_BEFORE = 1950


def _known(code: np.ndarray) -> np.ndarray:
    return (code >= 0) & (code != C.XXA) & (code != C.XXX)


def mh_status(nat1, nat2, acq, bc, origin, birth_year, mother, father, mother_present, father_present,
              minor) -> tuple[np.ndarray, np.ndarray]:
    """MH status code (index into ``MH_STATUS``) and Bezugsland (country index, -1 none) of every row.

    ``mother``/``father`` index the same arrays (-1: none); ``*_present`` say whether that parent counts
    (lives in the city, and for the register rule is linked and, if required, in the same household).
    ``bc`` may be -1 (unknown: not born abroad).
    """
    german = (nat1 == C.DEU) | (nat2 == C.DEU)
    foreign = ~german
    other = np.where(nat1 == C.DEU, nat2, nat1)
    dual = german & (other >= 0) & (other != C.DEU)
    expellee = np.isin(acq, EXPELLEE_ACQUISITIONS) & (birth_year < EXPELLEE_BIRTH_YEAR_BEFORE)
    born_abroad = (bc >= 0) & (bc != C.DEU) & ~expellee
    personal = german & (np.isin(acq, PERSONAL_ACQUISITIONS) | dual | born_abroad)
    qualifies = foreign | personal
    mi, fi = np.maximum(mother, 0), np.maximum(father, 0)
    m_ok = (mother >= 0) & mother_present & qualifies[mi]
    f_ok = (father >= 0) & father_present & qualifies[fi]
    familial = german & ~personal & minor & (m_ok | f_ok)
    status = np.where(foreign, 0, np.where(personal, 1, np.where(familial, 2, 3))).astype(np.int8)

    abroad_bc = _known(bc) & (bc != C.DEU)
    fallback = np.where(_known(nat2) & (nat2 != C.DEU), nat2, np.where(abroad_bc, bc, nat1))
    bez_foreign = np.where(_known(nat1), nat1, fallback)
    bez_personal = np.where(_known(other) & (other != C.DEU), other, np.where(
        abroad_bc, bc, np.where(_known(origin) & (origin != C.DEU), origin, C.XXX)))
    own = np.where(foreign, bez_foreign, np.where(personal, bez_personal, -1))
    bez_familial = np.where(m_ok, own[mi], np.where(f_ok, own[fi], C.XXX))
    bezug = np.where(status == 2, bez_familial, own).astype(np.int16)
    return status, bezug


def truth_at(state: State, at: int) -> dict[str, np.ndarray]:
    """True MH status, Bezugsland and EG status of every person (arrays over all pids; meaningful for
    those present at day ``at``)."""
    p, present = state.p, state.p["present"]
    age = C.age_from_key(state.birth_key, at)
    mother, father = p["mother"], p["father"]
    status, bezug = mh_status(
        p["nat1"], p["nat2"], p["acq"], p["bc"], p["origin"], state.birth_key // 10000, mother, father,
        present[np.maximum(mother, 0)], present[np.maximum(father, 0)], age < 18,
    )
    immigrant = (p["bc"] != C.DEU) & (p["immig"] >= 1950)
    m_imm = np.where(mother >= 0, immigrant[np.maximum(mother, 0)], p["mother_imm"])
    f_imm = np.where(father >= 0, immigrant[np.maximum(father, 0)], p["father_imm"])
    born_de = p["bc"] == C.DEU
    eg = np.where(immigrant, 0, np.where(born_de & m_imm & f_imm, 1, np.where(born_de & (m_imm ^ f_imm), 2, 3)))
    return {"mh_status": status, "bezugsland": bezug, "eg_status": eg.astype(np.int8), "age": age}


def register_view(state: State, at: int, register_gaps: bool) -> dict[str, np.ndarray]:
    """Register fields as the extract shows them (gaps applied): acquisition (with ``unknown``), birth
    country (-1 where blanked) and linked parents (-1 where not linked)."""
    p, present = state.p, state.p["present"]
    age = C.age_from_key(state.birth_key, at)
    german = (p["nat1"] == C.DEU) | (p["nat2"] == C.DEU)
    acq = np.where(german, p["acq"], -1)
    bc = p["bc"]
    mother, father = p["mother"], p["father"]
    minor = age < 18
    m_link = minor & (mother >= 0) & present[np.maximum(mother, 0)]
    f_link = minor & (father >= 0) & present[np.maximum(father, 0)]
    if register_gaps:
        acq = np.where(german & p["gap_acq"], P.ACQ["unknown"], acq)
        bc = np.where(p["gap_bc"], -1, bc)
        m_link &= ~p["gap_mlink"]
        f_link &= ~p["gap_flink"]
    return {
        "age": age, "acq": acq.astype(np.int8), "bc": bc.astype(np.int16),
        "mother": np.where(m_link, mother, -1), "father": np.where(f_link, father, -1),
    }


def register_mh_share(state: State, at: int, reference_year: int, register_gaps: bool,
                      parent_same_household: bool = True) -> float:
    """Share of persons with MH by the register rule on the register view (quick cross-check; the
    project's derivation is ``quarterstats.migration``). Birth year is taken as ``year - age``."""
    p, h, present = state.p, state.h, state.p["present"]
    r = register_view(state, at, register_gaps)
    inst = h["inst"][p["hh"]]
    same_m = (p["hh"][np.maximum(r["mother"], 0)] == p["hh"]) & ~inst
    same_f = (p["hh"][np.maximum(r["father"], 0)] == p["hh"]) & ~inst
    if not parent_same_household:
        same_m = same_f = np.ones_like(inst)
    status, _ = mh_status(p["nat1"], p["nat2"], r["acq"], r["bc"], p["origin"], reference_year - r["age"],
                          r["mother"], r["father"], same_m, same_f, r["age"] < 18)
    return float((status[present] != 3).mean())
