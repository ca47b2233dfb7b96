"""Migration indicators (family ``migration``) from the persons table's migration columns.

The persons table carries, per person, ``mh_status`` (foreign, german_personal_mh, german_familial_mh,
german_no_mh), ``has_mh``, ``bezugsland``, ``origin_region`` and ``eg_status`` (derived by
``quarterstats.migration``: KOSIS MigraPro-style register rule and the Destatis 2023 concept
"Einwanderungsgeschichte"). Formulas:

* counts of each MH status, ``german_with_mh`` = personal + familial, ``with_mh`` = ``has_mh``; shares =
  100 × count / pop; ``with_mh_minors_share`` = 100 × minors with MH / minors.
* ``origin_region_<code>`` = residents with MH whose ``origin_region`` is ``code`` (codes of
  :data:`quarterstats.catalogue.ORIGIN_REGIONS`); share of pop.
* ``top_country_<k>`` = count of the k-th most frequent ``bezugsland`` among residents with MH in the area,
  ``XXX`` (MH but no country determinable) left out, ties broken by the alphabetical country code; 0 when
  the area has fewer than k countries. The countries themselves: :func:`top_countries`.
* ``origin_diversity_shannon`` H = −Σ_k p_k ln p_k and ``origin_diversity_simpson`` 1 − Σ_k p_k² over the
  same country counts (Shannon 1948; Simpson 1949); denominator = residents with MH and a known country.
* EG: ``eg_immigrant`` (share of pop), ``eg_descendant_minors`` and ``eg_one_sided_minors`` (minors only,
  share of minors), ``eg_not_determinable`` (share of pop: the register's blind spot, stated, not hidden).
"""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pandas as pd

from quarterstats.catalogue import ORIGIN_REGIONS, IndicatorParameters
from quarterstats.links import factorize_text

from .common import CITY_ID, DistrictCoder, PersonFrame, Results, Values, add_count_share, bool_array, flag

UNKNOWN_COUNTRY = "XXX"


def compute(frame: PersonFrame) -> Results:
    """All migration indicators for the districts and the city."""
    persons = frame.persons
    pop = frame.pop
    minor = frame.minor
    minors = frame.tally_ages(0, frame.params.minor_age_limit)
    has_mh = bool_array(persons["has_mh"])
    personal = frame.flag("mh_status", "german_personal_mh")
    familial = frame.flag("mh_status", "german_familial_mh")

    res: Results = {}
    add_count_share(res, "foreign", frame.tally(frame.flag("mh_status", "foreign")), pop)
    add_count_share(res, "german_personal_mh", frame.tally(personal), pop)
    add_count_share(res, "german_familial_mh", frame.tally(familial), pop)
    add_count_share(res, "german_with_mh", frame.tally(personal | familial), pop)
    add_count_share(res, "german_no_mh", frame.tally(frame.flag("mh_status", "german_no_mh")), pop)
    add_count_share(res, "with_mh", frame.tally(has_mh), pop)
    add_count_share(res, "with_mh_minors", frame.tally(has_mh & minor), minors)

    known = {code for code, _, _ in ORIGIN_REGIONS}
    region_codes, region_values = frame.categories("origin_region")
    present = set(region_values[np.unique(region_codes[has_mh & (region_codes >= 0)])])
    unexpected = sorted(present - known)
    if unexpected:
        warnings.warn(
            f"origin_region codes not in the catalogue are not published as regions: {unexpected}",
            stacklevel=3,
        )
    for code, _, _ in ORIGIN_REGIONS:
        add_count_share(res, f"origin_region_{code}", frame.tally(has_mh & frame.flag("origin_region", code)), pop)

    matrix, _ = country_matrix(frame)
    n = frame.params.top_countries_n
    top_counts, _ = _top(matrix, n)
    for k in range(n):
        res[f"top_country_{k + 1}"] = Values.count(top_counts[:, k])

    total = matrix.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = matrix / np.where(total > 0, total, 1.0)[:, None]
        plogp = np.where(prob > 0, prob * np.log(np.where(prob > 0, prob, 1.0)), 0.0)
    shannon = np.where(total > 0, -plogp.sum(axis=1), np.nan)
    simpson = np.where(total > 0, 1.0 - (prob**2).sum(axis=1), np.nan)
    nan = np.full(total.shape, np.nan)
    res["origin_diversity_shannon"] = Values(shannon, nan.copy(), total.copy())
    res["origin_diversity_simpson"] = Values(simpson, nan.copy(), total.copy())

    eg = "eg_status"
    add_count_share(res, "eg_immigrant", frame.tally(frame.flag(eg, "immigrant")), pop)
    add_count_share(res, "eg_descendant_minors", frame.tally(frame.flag(eg, "descendant") & minor), minors)
    add_count_share(res, "eg_one_sided_minors", frame.tally(frame.flag(eg, "one_sided") & minor), minors)
    add_count_share(res, "eg_not_determinable", frame.tally(frame.flag(eg, "not_determinable")), pop)
    return res


def country_matrix(frame: PersonFrame) -> tuple[np.ndarray, np.ndarray]:
    """Counts of residents with MH by area (rows: districts, then city) × Bezugsland (columns, sorted
    alphabetically), ``XXX`` and missing countries left out. Returns (matrix, country codes)."""
    persons = frame.persons
    country = persons["bezugsland"]
    mask = bool_array(persons["has_mh"]) & country.notna().to_numpy() & ~flag(country, UNKNOWN_COUNTRY)
    codes_c, uniques = factorize_text(country[mask])
    # countries in alphabetical order (tie-breaking of the ranks), whatever order they appeared in
    alphabetical = np.argsort(np.asarray(uniques, dtype=object), kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[alphabetical] = np.arange(len(uniques))
    codes_c = rank[codes_c]
    uniques = [uniques[i] for i in alphabetical]
    k = len(uniques)
    n = frame.coder.n
    if k == 0:
        return np.zeros((n + 1, 0), dtype=np.int64), np.array([], dtype=object)
    flat = frame.codes[mask] * k + codes_c
    mat = np.bincount(flat, minlength=(n + 1) * k).reshape(n + 1, k)
    mat[n] = mat.sum(axis=0)  # last row: the city, all persons (also those outside the listed districts)
    return mat, np.asarray(uniques, dtype=object)


def _top(matrix: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row the n largest counts (ties: lower column = alphabetical code first) and their columns;
    counts padded with 0 and columns with -1 where there are fewer than n non-zero countries."""
    rows, k = matrix.shape
    counts = np.zeros((rows, n), dtype=np.float64)
    cols = np.full((rows, n), -1, dtype=np.int64)
    if k:
        order = np.argsort(-matrix, axis=1, kind="stable")[:, :n]
        top = np.take_along_axis(matrix, order, axis=1)
        m = order.shape[1]
        counts[:, :m] = top
        cols[:, :m] = np.where(top > 0, order, -1)
    return counts, cols


def top_countries(persons: pd.DataFrame, n: int = 5, districts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The n most frequent reference countries (Bezugsland) among residents with MH per district and for
    the city: columns district_id, rank (1..n), country (ISO alpha-3 or XXA), count.

    Rule as for the ``top_country_<k>`` indicators: ``XXX`` left out, ties by country code; a district
    gets only as many ranks as it has countries. ``districts`` (optional, column district_id) fixes the
    districts and their order; by default the districts present in ``persons``.
    """
    ids = persons["district_id"].dropna().unique() if districts is None else districts["district_id"]
    coder = DistrictCoder.from_districts(pd.DataFrame({"district_id": [str(i) for i in ids]}))
    frame = PersonFrame(persons, coder, date.min, IndicatorParameters(top_countries_n=n))
    matrix, uniques = country_matrix(frame)
    counts, cols = _top(matrix, n)
    area_ids = np.array(list(coder.district_ids) + [CITY_ID], dtype=object)
    r, k = np.nonzero(cols >= 0)
    return pd.DataFrame({
        "district_id": pd.array(area_ids[r], dtype="str"),
        "rank": (k + 1).astype(np.int64),
        "country": pd.array(uniques[cols[r, k]] if len(r) else np.array([], dtype=object), dtype="str"),
        "count": counts[r, k].astype(np.int64),
    })
