"""Household indicators (family ``households``) from the generated households of the register.

Households are the distinct non-null ``household_id`` values (KOSIS HHGen style); persons with a null
``household_id`` (institutions: care homes, shared accommodation) are excluded from every household
indicator and counted separately as ``persons_in_institutions``.

Household-level indicators count each household once, in its *household district*: the district where
most of its members live (members of one household normally share an address; ties -> the district first
in natural order). Person-level indicators (minors with a single parent, 65+ living alone) count persons in
their own district. Formulas:

* ``households`` = number of households; ``household_size_mean`` = persons in households / households.
* ``single_person_households_share`` = 100 × households of size 1 / households.
* ``households_with_minors_share`` = 100 × households with ≥ 1 member under ``minor_age_limit`` / households.
* single-parent household (Alleinerziehendenhaushalt), defined from the register: a household with at least
  one minor and **exactly one adult member** (age ≥ ``minor_age_limit``), and that adult is linked
  (``mother_id`` or ``father_id`` of a minor of the same household) as a parent. Consequences, stated:
  a single parent living with an adult child, or whose link is missing in the register, does not count;
  a grandparent raising a grandchild does not count. ``single_parent_households_share`` = 100 × these /
  households with minors.
* ``minors_single_parent_share`` = 100 × minors living in a single-parent household / minors in households.
* ``seniors_alone_share`` = 100 × persons aged ≥ ``old_age_limit`` in single-person households / persons
  of that age in households.
* ``households_with_mh_share`` = 100 × households with ≥ 1 member with ``has_mh`` / households.
"""

from __future__ import annotations

import numpy as np

from quarterstats.links import text_codes

from .common import PersonFrame, Results, Values, add_count_share, bool_array


def compute(frame: PersonFrame) -> Results:
    """All household indicators for the districts and the city."""
    persons = frame.persons
    coder = frame.coder
    p = frame.params
    in_hh = persons["household_id"].notna().to_numpy()
    hcode = text_codes(persons["household_id"])  # -1 for persons in institutions
    rows = np.flatnonzero(in_hh)
    h = hcode[rows]
    n_hh = int(h.max()) + 1 if h.size else 0
    minor = frame.minor
    has_mh = bool_array(persons["has_mh"])

    size = np.bincount(h, minlength=n_hh)
    # a code whose household has nobody here (its members are all outside the city or quarantined) is
    # not a household: every household count below is taken over these only
    exists = size > 0
    n_minor = np.bincount(h, weights=minor[rows], minlength=n_hh)
    n_adult = size - n_minor
    n_mh = np.bincount(h, weights=has_mh[rows], minlength=n_hh)

    # Parents who live in the same household as a linked minor.
    parent_here = np.zeros(len(persons), dtype=bool)
    links = frame.links
    minor_rows = links["minor_rows"]
    for column in ("mother", "father"):
        pos = links[column]
        ok = (pos >= 0) & in_hh[minor_rows]
        ok[ok] = hcode[pos[ok]] == hcode[minor_rows[ok]]
        parent_here[pos[ok]] = True
    n_adult_parents = np.bincount(h, weights=(parent_here & ~minor)[rows], minlength=n_hh)
    with_minors = n_minor > 0
    single_parent = with_minors & (n_adult == 1) & (n_adult_parents == 1)

    hh_district = _household_district(h, frame.codes[rows], coder.n, n_hh)

    def per_household(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        return coder.tally(hh_district, exists if mask is None else exists & mask, weights)

    households = per_household()
    res: Results = {}
    res["households"] = Values.count(households)
    res["household_size_mean"] = Values.ratio(per_household(weights=size.astype(np.float64)), households, 1.0)
    add_count_share(res, "single_person_households", per_household(size == 1), households)
    hh_minors = per_household(with_minors)
    add_count_share(res, "households_with_minors", hh_minors, households)
    add_count_share(res, "single_parent_households", per_household(single_parent), hh_minors)

    person_single_parent = np.zeros(len(persons), dtype=bool)
    person_single_parent[rows] = single_parent[h]
    add_count_share(res, "minors_single_parent", frame.tally(person_single_parent & minor),
                    frame.tally(in_hh & minor))
    alone = np.zeros(len(persons), dtype=bool)
    alone[rows] = size[h] == 1
    senior = frame.age >= p.old_age_limit
    add_count_share(res, "seniors_alone", frame.tally(alone & senior), frame.tally(in_hh & senior))
    add_count_share(res, "households_with_mh", per_household(n_mh > 0), households)
    res["persons_in_institutions"] = Values.count(frame.tally(~in_hh))
    return res


def _household_district(h: np.ndarray, codes: np.ndarray, n_districts: int, n_hh: int) -> np.ndarray:
    """District code per household: the most frequent among its members, ties -> lowest code.

    Fast path: households whose members all share one district (the normal case) take it directly; only
    the rows of households spread over several districts are counted."""
    low = np.full(n_hh, n_districts + 1, dtype=np.int64)
    high = np.full(n_hh, -1, dtype=np.int64)
    np.minimum.at(low, h, codes)
    np.maximum.at(high, h, codes)
    district = low.copy()
    mixed = low < high  # (a code without members keeps low > high: not a household, see compute)
    if mixed.any():
        rows = mixed[h]
        width = n_districts + 1
        keys, counts = np.unique(h[rows] * width + codes[rows], return_counts=True)
        hh_of, d_of = keys // width, keys % width
        order = np.lexsort((d_of, -counts, hh_of))
        hh_sorted = hh_of[order]
        first = np.r_[True, hh_sorted[1:] != hh_sorted[:-1]]
        district[hh_sorted[first]] = d_of[order][first]
    return district
