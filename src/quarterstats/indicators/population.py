"""Population and age indicators (families ``population`` and ``age``).

Formulas (Destatis definitions; ages in completed years at the reference date):

* ``pop`` = number of persons with main residence; ``density`` = pop / area_km2 (city: all persons / sum of
  the district areas).
* ``sex_ratio`` = 100 × men / women by statistical sex (:mod:`quarterstats.statistical_sex`: ``d`` and
  ``x`` are assigned to ``m`` or ``w``, as in official statistics, so that men + women = pop and nobody
  with ``d`` or ``x`` can be counted by subtraction).
* age groups ``age_LL_UU`` (count) and ``age_LL_UU_share`` = 100 × count / pop for the groups of
  ``IndicatorParameters.age_group_lower_bounds``; ``minors`` (< minor_age_limit) and ``young_adults``
  (inclusive band ``young_adult_ages``) with their shares.
* ``mean_age`` = Σ age / pop (numerator = sum of ages).
* ``youth_ratio`` (Jugendquotient) = 100 × pop under 20 / pop 20–64;
  ``old_age_ratio`` (Altenquotient) = 100 × pop 65+ / pop 20–64 (bounds ``youth_age_limit``,
  ``old_age_limit``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quarterstats.catalogue import age_group_id, age_groups
from quarterstats.statistical_sex import is_female

from .common import PersonFrame, Results, Values, add_count_share


def compute(frame: PersonFrame, area_km2: np.ndarray) -> Results:
    """Population and age indicators; ``area_km2``: district areas in the coder's order (length D)."""
    p = frame.params
    pop = frame.pop
    res: Results = {}
    res["pop"] = Values.count(pop)

    area = np.asarray(area_km2, dtype=np.float64)
    city_area = area.sum() if area.size and np.isfinite(area).all() else np.nan  # NaN if any area is unknown
    area_all = np.append(area, city_area)
    res["density"] = Values.ratio(pop, area_all, 1.0)

    female = is_female(frame.persons["person_id"], frame.persons["sex"])
    res["sex_ratio"] = Values.ratio(frame.tally(~female), frame.tally(female), 100.0)

    for lo, hi in age_groups(p):
        add_count_share(res, age_group_id(lo, hi), frame.tally_ages(lo, hi), pop)
    add_count_share(res, "minors", frame.tally_ages(0, p.minor_age_limit), pop)
    ya_lo, ya_hi = p.young_adult_ages
    add_count_share(res, "young_adults", frame.tally_ages(ya_lo, ya_hi + 1), pop)

    years = np.arange(frame.age_table.shape[1], dtype=np.float64)
    res["mean_age"] = Values.ratio(frame.age_table @ years, pop, 1.0)
    working = frame.tally_ages(p.youth_age_limit, p.old_age_limit)
    res["youth_ratio"] = Values.ratio(frame.tally_ages(0, p.youth_age_limit), working, 100.0)
    res["old_age_ratio"] = Values.ratio(frame.tally_ages(p.old_age_limit), working, 100.0)
    return res


def district_areas(districts: pd.DataFrame, district_ids: tuple[str, ...]) -> np.ndarray:
    """Areas (km²) in the order of ``district_ids``; NaN where missing (``area_km2`` column optional)."""
    if "area_km2" not in districts.columns:
        return np.full(len(district_ids), np.nan)
    areas = pd.Series(
        pd.to_numeric(districts["area_km2"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
        index=districts["district_id"].astype(str).to_numpy(),
    )
    return areas.reindex(list(district_ids)).to_numpy(dtype=np.float64)
