"""Pseudonyms across reference dates: does a person_id found again still describe the same person?

A statistical pseudonym is meant to follow one person from one reference date to the next (the flows,
the residence duration and the changes rely on it). If an office re-issues pseudonyms, or a delivery
mixes up rows, the same person_id comes back with another birth year or sex. Both are counted here as
warnings (the persons are kept; a change of the sex entry is legally possible, rare, and counted too):

* ``person_id.birth_year``: the age now differs from the age at the previous date plus the years
  passed by more than one year (completed ages may move by one year either way around the birthday);
* ``person_id.sex``: the sex entry differs.

Only counts leave this module: no pseudonym is printed or published.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from quarterstats.links import arrow_text

#: Columns of the previous date's persons table that :func:`identity_changes` reads.
PREVIOUS_COLUMNS = ("person_id", "age", "sex")
#: Years the age may differ from the expected one (completed ages, birthdays between the dates).
AGE_TOLERANCE = 1


def identity_changes(persons: pd.DataFrame, previous: pd.DataFrame, day: date, previous_day: date) -> dict[str, int]:
    """Counts of persons found again (``matched``) and of those whose birth year or sex changed.

    One Arrow hash join of the previous ids against this date's ids; vectorised comparisons after it."""
    current_ids = arrow_text(persons["person_id"])
    previous_ids = arrow_text(previous["person_id"])
    where = pc.index_in(previous_ids, value_set=current_ids)
    now = pc.fill_null(where, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    found = np.flatnonzero(now >= 0)
    rows = now[found]
    years = (day - previous_day).days / 365.2425
    age_now = persons["age"].to_numpy(dtype=float, na_value=np.nan)[rows]
    age_before = previous["age"].to_numpy(dtype=float, na_value=np.nan)[found]
    difference = age_now - age_before
    low, high = np.floor(years) - AGE_TOLERANCE, np.ceil(years) + AGE_TOLERANCE
    birth_year = (difference < low) | (difference > high)  # NaN compares False: not judged
    sex_now = persons["sex"].astype("string").to_numpy(dtype=object, na_value=None)[rows]
    sex_before = previous["sex"].astype("string").to_numpy(dtype=object, na_value=None)[found]
    known = (sex_now != None) & (sex_before != None)  # noqa: E711 (elementwise)
    sex = known & (sex_now != sex_before)
    return {"matched": int(len(found)), "person_id.birth_year": int(birth_year.sum()), "person_id.sex": int(sex.sum())}


def describe(counts: dict[str, int], previous_day: date) -> str:
    """One line for the run's console and metadata (counts only)."""
    return (f"{counts['person_id.birth_year']} of {counts['matched']} pseudonyms found again since "
            f"{previous_day.isoformat()} changed their birth year (more than ±{AGE_TOLERANCE} year), "
            f"{counts['person_id.sex']} their sex entry (persons kept; re-issued pseudonyms or mixed-up rows?)")
