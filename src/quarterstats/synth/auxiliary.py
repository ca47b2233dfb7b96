"""Synthetic district aggregates from "other sources" (``data/raw/auxiliary/<date>.csv``).

German office style: ``;``-separated, UTF-8, one row per district with
``district_id;sgb2_recipients_under65;unemployed;children_under15_in_sgb2``.

Each resident has a relative risk by origin group (``params.SGB2_RISK``: higher for refugees and recent
immigrants, low for students); the expected count of a district is the sum of its residents' risks,
scaled so that the city-wide rates meet the targets (SGB II about 12 % of residents under 65,
unemployment about 8 % of residents 15–64, child poverty about 20 % of children under 15; risk of
children × 1.5). Counts are binomial draws with the district's rate (capped at 90 %), so recipients stay
below residents under 65 and children in SGB II at most the residents under 15.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as P


def auxiliary_frame(district_ids: tuple[str, ...], district: np.ndarray, age: np.ndarray, group: np.ndarray,
                    rng: np.random.Generator) -> pd.DataFrame:
    """Aggregates per district of the residents (district index, age, group index per person)."""
    n = len(district_ids)
    risk = np.array([P.SGB2_RISK[g] for g in P.GROUPS])[group]

    def count(mask: np.ndarray, weight: np.ndarray, target_rate: float) -> np.ndarray:
        residents = np.bincount(district[mask], minlength=n)
        expected = np.bincount(district[mask], weights=weight[mask], minlength=n)
        scale = target_rate * residents.sum() / max(expected.sum(), 1e-9)
        rate = np.clip(np.divide(expected * scale, residents, out=np.zeros(n), where=residents > 0), 0, 0.9)
        return rng.binomial(residents, rate)

    under65 = age < 65
    child_weight = np.where(age < 15, risk * 1.5, risk)
    return pd.DataFrame({
        "district_id": list(district_ids),
        "sgb2_recipients_under65": count(under65, child_weight, P.SGB2_RATE_UNDER65),
        "unemployed": count((age >= 15) & (age < 65), risk, P.UNEMPLOYMENT_RATE_15_64),
        "children_under15_in_sgb2": count(age < 15, risk, P.CHILD_SGB2_RATE_UNDER15),
    })


def to_csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(sep=";", index=False, lineterminator="\n")
