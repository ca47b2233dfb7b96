"""Stability and mobility indicators (family ``mobility``).

From one reference date (register move-in dates; ages in completed years; "t − n years" is the same
calendar day n years earlier):

* ``residence_5y`` (Wohndauer) = 100 × residents aged ≥ r with ``moved_in_address`` ≤ t − r years /
  residents aged ≥ r (r = ``residence_years``, default 5; persons without an address date are left out).
* ``moved_address_1y`` = 100 × residents aged ≥ m with t − m years < ``moved_in_address`` ≤ t / residents
  aged ≥ m (m = ``recent_move_years``, default 1). Children under m are left out of both: their address
  date is their birth, not a move.
* ``moved_city_1y`` likewise with ``moved_in_city`` (null = in the city since birth: not a move).

With the persons table of the previous reference date (``person_id`` a stable pseudonym):

* ``births`` = person_ids new since the previous date with ``moved_in_city`` null (in the city since birth);
  ``in_movers`` = the other new person_ids (moves into the city), counted in their current district.
* ``out_movers`` ("Abgänge") = person_ids of the previous date no longer present, counted in their previous
  district. The register extract cannot tell out-moves from deaths, so deaths are included.
* ``intra_city_in`` / ``intra_city_out`` = persons present at both dates whose district changed, counted
  in the new / old district; in the city row both are the number of persons who changed district.
* B = (pop at the previous date + pop now) / 2 per area (Destatis: mean population of the period).
  ``turnover`` = 1000 × (in + out) / B and ``net_migration`` = 1000 × (in − out) / B, where for a district
  in = in_movers + intra_city_in and out = out_movers + intra_city_out, and for the city
  in = in_movers and out = out_movers (moves within the city are no migration for the city).
  Births are not in-moves; deaths are in the departures (see above).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import PersonFrame, Results, Values, to_day, years_before


def compute_stock(frame: PersonFrame) -> Results:
    """Residence duration and recent moves from the move-in dates of one reference date."""
    p = frame.params
    persons = frame.persons
    age = frame.age
    ref = np.datetime64(frame.reference_date, "D")
    address = to_day(persons["moved_in_address"])
    city = to_day(persons["moved_in_city"])
    has_address = ~np.isnat(address)

    res: Results = {}
    r = p.residence_years
    base = (age >= r) & has_address
    long_stay = base & (address <= years_before(frame.reference_date, r))
    res["residence_5y"] = Values.ratio(frame.tally(long_stay), frame.tally(base), 100.0)

    m = p.recent_move_years
    cut = years_before(frame.reference_date, m)
    base = age >= m
    recent_address = base & has_address & (address > cut) & (address <= ref)
    res["moved_address_1y"] = Values.ratio(frame.tally(recent_address), frame.tally(base & has_address), 100.0)
    recent_city = base & (city > cut) & (city <= ref)  # NaT (since birth) compares False
    res["moved_city_1y"] = Values.ratio(frame.tally(recent_city), frame.tally(base), 100.0)
    return res


def compute_flows(frame: PersonFrame, previous: pd.DataFrame) -> Results:
    """Flows between the previous and the current reference date (stable person_id)."""
    coder = frame.coder
    prev_codes = coder.codes(previous["district_id"])
    if "previous" not in frame.links:
        frame.resolve_links(previous)
    position = frame.links["previous"]
    stayed = position >= 0

    present_before = np.zeros(len(frame.persons), dtype=bool)
    present_before[position[stayed]] = True
    new = ~present_before
    since_birth = frame.persons["moved_in_city"].isna().to_numpy()

    births = frame.tally(new & since_birth)
    in_movers = frame.tally(new & ~since_birth)
    out_movers = coder.tally(prev_codes, ~stayed)
    old = prev_codes[stayed]
    now = frame.codes[position[stayed]]
    changed = old != now
    intra_out = coder.tally(old, changed)
    intra_in = coder.tally(now, changed)

    inflow = in_movers + intra_in
    outflow = out_movers + intra_out
    inflow[-1], outflow[-1] = in_movers[-1], out_movers[-1]  # city: moves within the city do not count
    mean_pop = (coder.tally(prev_codes) + frame.pop) / 2.0

    res: Results = {
        "births": Values.count(births),
        "in_movers": Values.count(in_movers),
        "out_movers": Values.count(out_movers),
        "intra_city_in": Values.count(intra_in),
        "intra_city_out": Values.count(intra_out),
        "turnover": Values.ratio(inflow + outflow, mean_pop, 1000.0),
        "net_migration": Values.ratio(inflow - outflow, mean_pop, 1000.0),
    }
    return res
