"""Statistical sex: the two categories every published table splits by sex.

The register knows four sex entries (§ 22 (3) PStG): ``m``, ``w``, ``d`` (divers) and ``x`` (no entry).
``d`` and ``x`` are rare, a handful of persons in a city. Shown on their own they would be cells of 1
or 2. Left out of the sex-split tables, they can be recovered by subtraction: the residents minus the
men and the women gives how many live in a district, and the age counts minus the pyramid's bands
gives their age. The statistical offices of the Federation and the Länder therefore publish two
categories and assign persons with ``d`` or ``x`` to ``m`` or ``w`` at random, wherever they cannot be
shown on their own for confidentiality. Then they are counted in every table but cannot be uncovered
by differencing (Statistikportal des Bundes und der Länder, "Drittes Geschlecht";
Statistisches Amt für Hamburg und Schleswig-Holstein, answer 200995 of 22 Oct 2020).

Here the assignment is random in the statistical sense but reproducible: a person with ``d`` or ``x``
counts as female when a keyed 64-bit hash (SipHash, :func:`pandas.util.hash_array`) of the person's
pseudonym is odd, otherwise as male. So

* a rerun gives byte-identical tables;
* one person has the same statistical sex in every table of a date and from one date to the next;
* about half go to each category, independent of any other attribute.

Persons with ``m`` or ``w`` keep it. Only the pseudonyms of the ``d``/``x`` persons are hashed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HASH_KEY", "is_female"]

#: Key of the hash that assigns ``d``/``x`` (16 characters, as pandas requires). Changing it changes
#: which of them count as women, and so the published sex-split tables.
HASH_KEY = "quarterstats-sex"


def is_female(person_id: pd.Series, sex: pd.Series) -> np.ndarray:
    """Boolean array: True where the statistical sex is female (``w``, or ``d``/``x`` assigned to
    women); False where it is male. ``sex`` must hold the contract's codes ``m``, ``w``, ``d``, ``x``
    (the ingest quarantines anything else); any other value raises ``ValueError``."""
    if len(person_id) != len(sex):
        raise ValueError(f"person_id and sex differ in length ({len(person_id)} != {len(sex)})")
    male = (sex == "m").to_numpy(dtype=bool, na_value=False)
    female = (sex == "w").to_numpy(dtype=bool, na_value=False)
    other = np.flatnonzero(~(male | female))
    if len(other) == 0:
        return female
    codes = sex.iloc[other]
    if not codes.isin(["d", "x"]).all():
        unknown = sorted({str(v) for v in codes[~codes.isin(["d", "x"])].unique()})
        raise ValueError(f"sex must be one of m, w, d, x; found {', '.join(unknown)}")
    ids = np.asarray(person_id.iloc[other].astype(str), dtype=object)
    hashed = pd.util.hash_array(ids, hash_key=HASH_KEY, categorize=False)
    female = female.copy()
    female[other] = (hashed & np.uint64(1)).astype(bool)
    return female
