"""Milieu indicators (family ``milieu``): social area analysis and a transparent district typology.

Method (Shevky & Bell 1955; Senatsverwaltung Berlin, Monitoring Soziale Stadtentwicklung (MSS) 2023;
Hamburg RISE):

1. Standardise each dimension indicator across districts: z_i = (x_i − mean) / sd, where mean and sd
   (population sd, ddof = 0: the districts are the whole city, not a sample) are taken over the districts
   with at least ``composite_min_population`` residents (default 300) and a value. Smaller districts are
   kept out of the standardisation, get no z-values, no scores and no type, and are flagged
   (``milieu_excluded`` = 1). If all included districts have the same value, z = 0.
2. Dimension score = equal-weight mean of the signed z-values of its indicators (sign −1 reverses an
   indicator), over the indicators available for the district:

   ========== ====================================================================================
   age        +old_age_ratio, +young_adults_share (students), −minors_share
   family     +households_with_minors_share, +household_size_mean, −single_person_households_share
   ethnic     +with_mh_share, +with_mh_minors_share, +foreign_share
   stability  +residence_5y, −turnover (turnover only with a previous reference date)
   social     +sgb2_rate, +unemployment_rate, +child_poverty (only with auxiliary figures;
              a high score means low social status, as the MSS status index)
   ========== ====================================================================================

3. Typology: each dimension is classed *high* (3) when its score exceeds mean + t·sd of that score across
   the included districts, *low* (1) when below mean − t·sd, else *medium* (2) (t =
   ``typology_threshold_sd``, default 0.5; 0 = dimension not available). The type code lists the classes
   as digits in the order age, family, ethnic, stability, social (e.g. 13320: young, family, high
   migration share, average stability, no social-status data). The German label names the dimensions
   that are not medium, e.g. "jung, familiär, hoher Migrationsanteil"; all medium -> "durchschnittlich".
   The rule depends only on the scores, so a type stays the same across reference dates as long as the
   scores do. Dynamics (change of the scores) come from :func:`quarterstats.indicators.changes.add_changes`.
4. Publication: the scores and types are computed again from the published (disclosure-controlled)
   values, so that a suppressed value enters neither the standardisation nor a score
   (:func:`quarterstats.disclosure.indicators.protect_indicators`); the unprotected table in
   ``data/processed`` keeps the scores of the true values.

Social-status indicators (auxiliary district figures, columns district_id, sgb2_recipients_under65,
unemployed, children_under15_in_sgb2): ``sgb2_rate`` = 100 × recipients / pop under ``old_age_limit``;
``unemployment_rate`` = 100 × unemployed / pop aged ``labour_force_ages`` (inclusive); ``child_poverty`` =
100 × children in SGB II / pop under ``child_poverty_age_limit``. City numerators are the sums over the
districts (NaN when a district with residents has no figure).
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import pandas as pd

from quarterstats.catalogue import IndicatorParameters

from .common import CITY_ID, DistrictCoder, PersonFrame, Results, Values

DIMENSIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "age": (("old_age_ratio", 1), ("young_adults_share", 1), ("minors_share", -1)),
    "family": (
        ("households_with_minors_share", 1),
        ("household_size_mean", 1),
        ("single_person_households_share", -1),
    ),
    "ethnic": (("with_mh_share", 1), ("with_mh_minors_share", 1), ("foreign_share", 1)),
    "stability": (("residence_5y", 1), ("turnover", -1)),
    "social": (("sgb2_rate", 1), ("unemployment_rate", 1), ("child_poverty", 1)),
}
#: Order of the digits of the type code and of the parts of the label.
DIMENSION_ORDER = ("age", "family", "ethnic", "stability", "social")
LOW, MEDIUM, HIGH, NOT_AVAILABLE = 1, 2, 3, 0
#: German words for a dimension classed high (3) or low (1).
CLASS_LABELS_DE: dict[str, dict[int, str]] = {
    "age": {HIGH: "älter oder studentisch", LOW: "jung"},
    "family": {HIGH: "familiär", LOW: "kleine Haushalte"},
    "ethnic": {HIGH: "hoher Migrationsanteil", LOW: "niedriger Migrationsanteil"},
    "stability": {HIGH: "stabil", LOW: "hohe Fluktuation"},
    "social": {HIGH: "niedriger sozialer Status", LOW: "hoher sozialer Status"},
}
AVERAGE_LABEL_DE = "durchschnittlich"
#: Words for the ``milieu_excluded`` flag (1: fewer residents than ``composite_min_population``).
EXCLUDED_LABELS_DE = {1: "ja", 0: "nein"}
NOT_TYPED_LABEL_DE = "nicht typisiert"
AUXILIARY_COLUMNS = ("sgb2_recipients_under65", "unemployed", "children_under15_in_sgb2")
#: Indicators whose numerator is delivered (auxiliary figures); without a delivered number their value
#: is unknown (sign "."), not incomputable.
AUXILIARY_INDICATORS = ("sgb2_rate", "unemployment_rate", "child_poverty")


# ----------------------------------------------------------------------------------- standardisation
def zscores(values: np.ndarray, include: np.ndarray) -> np.ndarray:
    """z = (x − mean) / sd with mean and population sd (ddof=0) over ``include`` & finite values;
    NaN outside; 0 when the sd is 0."""
    x = np.asarray(values, dtype=np.float64)
    use = np.asarray(include, dtype=bool) & np.isfinite(x)
    z = np.full(x.shape, np.nan)
    if not use.any():
        return z
    mean = x[use].mean()
    sd = x[use].std(ddof=0)
    z[use] = (x[use] - mean) / sd if sd > 0 else 0.0
    return z


def dimension_scores(district_values: Mapping[str, np.ndarray], population: np.ndarray,
                     params: IndicatorParameters = IndicatorParameters()) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Scores per available dimension (arrays over districts) and the ``included`` mask.

    ``district_values``: indicator id -> values per district (no city entry). A dimension is computed
    when at least one of its indicators is given; its score is the mean of the available signed z-values.
    """
    pop = np.asarray(population, dtype=np.float64)
    included = pop >= params.composite_min_population
    scores: dict[str, np.ndarray] = {}
    for dim in DIMENSION_ORDER:
        parts = [sign * zscores(district_values[i], included)
                 for i, sign in DIMENSIONS[dim] if i in district_values]
        if not parts:
            continue
        stacked = np.vstack(parts)
        n = np.isfinite(stacked).sum(axis=0)
        total = np.where(np.isfinite(stacked), stacked, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[dim] = np.where(included & (n > 0), total / np.maximum(n, 1), np.nan)
    return scores, included


def classify(score: np.ndarray, included: np.ndarray, threshold_sd: float) -> np.ndarray:
    """3 (high) where score > mean + t·sd, 1 (low) where score < mean − t·sd, else 2; 0 without a score.
    Mean and population sd of the score over the included districts with a score."""
    s = np.asarray(score, dtype=np.float64)
    use = np.asarray(included, dtype=bool) & np.isfinite(s)
    classes = np.full(s.shape, NOT_AVAILABLE, dtype=np.int64)
    if not use.any():
        return classes
    mean, sd = s[use].mean(), s[use].std(ddof=0)
    classes[use] = MEDIUM
    if sd > 0:
        classes[use & (s > mean + threshold_sd * sd)] = HIGH
        classes[use & (s < mean - threshold_sd * sd)] = LOW
    return classes


def type_codes(classes: Mapping[str, np.ndarray], included: np.ndarray) -> np.ndarray:
    """Type code per district: digits (age, family, ethnic, stability, social) of the classes; NaN for
    excluded districts and districts without any classed dimension."""
    inc = np.asarray(included, dtype=bool)
    code = np.zeros(inc.shape, dtype=np.float64)
    any_class = np.zeros(inc.shape, dtype=bool)
    for pos, dim in enumerate(DIMENSION_ORDER):
        if dim in classes:
            c = np.asarray(classes[dim])
            code += c * 10 ** (len(DIMENSION_ORDER) - 1 - pos)
            any_class |= c > 0
    return np.where(inc & any_class, code, np.nan)


def type_digits(code: int) -> dict[str, int]:
    """The class (0..3) of each dimension in a type code."""
    digits = f"{int(code):0{len(DIMENSION_ORDER)}d}"
    if len(digits) != len(DIMENSION_ORDER) or any(d not in "0123" for d in digits):
        raise ValueError(f"not a milieu type code: {code!r}")
    return {dim: int(d) for dim, d in zip(DIMENSION_ORDER, digits)}


def type_label_de(code: int) -> str:
    """German label of a type code: the non-medium dimensions in order, or "durchschnittlich"."""
    parts = [CLASS_LABELS_DE[dim][c] for dim, c in type_digits(code).items() if c in (LOW, HIGH)]
    return ", ".join(parts) if parts else AVERAGE_LABEL_DE


# ----------------------------------------------------------------------------------------- compute
def milieu_values(district_values: Mapping[str, np.ndarray], population: np.ndarray,
                  params: IndicatorParameters = IndicatorParameters()) -> dict[str, np.ndarray]:
    """``milieu_<dimension>`` scores, ``milieu_type`` and ``milieu_excluded`` per district (no city) from
    the dimension indicators' values per district (:func:`dimension_scores`, :func:`classify`,
    :func:`type_codes`). The indicator stage uses the true values; the publication recomputes them from
    the published values (:func:`quarterstats.disclosure.indicators.protect_indicators`)."""
    scores, included = dimension_scores(district_values, population, params)
    out: dict[str, np.ndarray] = {}
    classes = {}
    for dim, score in scores.items():
        out[f"milieu_{dim}"] = score
        classes[dim] = classify(score, included, params.typology_threshold_sd)
    out["milieu_type"] = type_codes(classes, included)
    out["milieu_excluded"] = (~included).astype(np.float64)
    return out


def compute(results: Results, n_districts: int, params: IndicatorParameters) -> Results:
    """Dimension scores, type and exclusion flag from the already computed indicators (city row: NaN)."""
    district_values = {
        i: results[i].value[:n_districts] for dims in DIMENSIONS.values() for i, _ in dims if i in results
    }
    population = results["pop"].value[:n_districts]
    return {key: Values.plain(np.append(values, np.nan))
            for key, values in milieu_values(district_values, population, params).items()}


def compute_social(frame: PersonFrame, auxiliary: pd.DataFrame) -> Results:
    """Social-status indicators from auxiliary district figures (see module docstring)."""
    p = frame.params
    aux = align_auxiliary(auxiliary, frame.coder)
    pop = frame.pop

    def with_city(column: str) -> np.ndarray:
        v = aux[column]
        complete = np.isfinite(v) | (pop[:-1] == 0)
        return np.append(v, np.nansum(v) if complete.all() else np.nan)

    lf_lo, lf_hi = p.labour_force_ages
    return {
        "sgb2_rate": Values.ratio(with_city("sgb2_recipients_under65"), frame.tally_ages(0, p.old_age_limit)),
        "unemployment_rate": Values.ratio(with_city("unemployed"), frame.tally_ages(lf_lo, lf_hi + 1)),
        "child_poverty": Values.ratio(with_city("children_under15_in_sgb2"),
                                      frame.tally_ages(0, p.child_poverty_age_limit)),
    }


def align_auxiliary(auxiliary: pd.DataFrame, coder: DistrictCoder) -> dict[str, np.ndarray]:
    """Auxiliary columns as arrays in the coder's district order (NaN where a district has no row).

    District ids are matched as strings; ids that do not match but are integers match a district whose
    id has the same integer value ("1" -> "01", as when a CSV reader dropped leading zeros). A "city" row
    is ignored (the city is summed from the districts). Duplicate district rows are an error."""
    missing = [c for c in ("district_id", *AUXILIARY_COLUMNS) if c not in auxiliary.columns]
    if missing:
        raise ValueError(f"auxiliary figures: missing column(s) {missing}")
    ids = auxiliary["district_id"].astype(str).str.strip().to_numpy(dtype=object)
    pos = coder.index.get_indexer(ids)
    by_int = {int(d): i for i, d in enumerate(coder.district_ids) if d.isdigit()}
    for row in np.flatnonzero(pos < 0):
        if ids[row].isdigit() and int(ids[row]) in by_int:
            pos[row] = by_int[int(ids[row])]
    keep = pos >= 0
    dropped = sorted(set(ids[~keep]) - {CITY_ID})
    if dropped:
        warnings.warn(f"auxiliary figures: unknown district ids ignored: {dropped}", stacklevel=3)
    if len(set(pos[keep])) != keep.sum():
        raise ValueError("auxiliary figures: more than one row for a district")
    out = {}
    for column in AUXILIARY_COLUMNS:
        values = pd.to_numeric(auxiliary[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        arr = np.full(coder.n, np.nan)
        arr[pos[keep]] = values[keep]
        out[column] = arr
    return out


def milieu_types(indicators: pd.DataFrame) -> pd.DataFrame:
    """District types from a long indicator table: district_id, type_code (Int64, NA when not typed),
    label_de ("jung, familiär, hoher Migrationsanteil", "durchschnittlich", or "nicht typisiert" for
    districts below the minimum population or without scores). City row left out."""
    rows = indicators[(indicators["indicator"] == "milieu_type") & (indicators["district_id"] != CITY_ID)]
    codes = rows["value"].to_numpy(dtype=np.float64)
    excluded = indicators[indicators["indicator"] == "milieu_excluded"].set_index("district_id")["value"]
    labels = []
    for district, code in zip(rows["district_id"], codes):
        if np.isfinite(code):
            labels.append(type_label_de(int(code)))
        elif excluded.get(district, 0.0) == 1.0:
            labels.append(f"{NOT_TYPED_LABEL_DE} (zu wenige Einwohner)")
        else:
            labels.append(NOT_TYPED_LABEL_DE)
    return pd.DataFrame({
        "district_id": pd.array(rows["district_id"].to_numpy(dtype=object), dtype="str"),
        "type_code": pd.array(np.where(np.isfinite(codes), codes, np.nan), dtype="Float64").astype("Int64"),
        "label_de": pd.array(labels, dtype="str"),
    })
