"""Milieu indicators (family ``milieu``): dimension scores, a district typology, status and dynamics classes.

Method (Shevky & Bell 1955; Ward 1963; Senatsverwaltung Berlin, Monitoring Soziale Stadtentwicklung (MSS)
2023; Hamburg RISE):

1. **Dimensions** (defined once, in :data:`quarterstats.catalogue.MILIEU_DIMENSIONS`), each meaning one
   thing: family (households with children, household size, −single-person households), seniors (old-age
   ratio), young adults (share aged 18–29), migration (with MH, with MH among minors, foreign), mobility
   (moved to the address within a year, −residence of 5 years and more), and social status (−SGB II rate,
   −unemployment share, −child poverty; only with auxiliary figures). Each indicator is standardised across
   districts, z_i = (x_i − mean) / sd, mean and population sd (ddof = 0) over the districts with at least
   ``composite_min_population`` residents (default 300) and a value; smaller districts get no scores, no
   type and no class and are flagged (``milieu_excluded`` = 1). A dimension score is the equal-weight mean
   of the signed z-values available for the district.
2. **Typology** (:func:`fit_types`, :func:`assign_types`): the typology dimensions (all but status, which
   is classified on its own) are standardised once more (each dimension score to mean 0, sd 1 over the
   included districts) and grouped by Ward's hierarchical clustering (deterministic: no random start).
   The number of types is the smallest k in ``typology_types`` (default 4–7, at most the number of
   districts) whose types explain at least ``typology_min_explained`` (0.8) of the total sum of squares;
   the largest k where none does. The types are fitted on the **first reference date** and kept: on every
   date (the first too) each district gets the type whose centre is nearest (Euclidean, over the
   dimensions the district has). A type's code describes its centre: one digit per typology dimension
   (family, seniors, young adults, migration, mobility), 1 clearly below (< −2t sd), 2 below (< −t),
   3 near the average, 4 above (> t), 5 clearly above (> 2t), 0 not available (t =
   ``typology_threshold_sd``, 0.5). Clusters whose centres have the same code form one type. Name
   (:func:`type_label_de`) and one-sentence description (:func:`type_description_de`) are derived from the
   code, in neutral words about who lives there ("Familien, lange Wohndauer").
3. **Status and dynamics** (in the spirit of the MSS; only with auxiliary figures): the status score is
   standardised once more over the included districts; status class 1 hoch (z > ``status_high_sd``),
   2 mittel, 3 niedrig (z < −``status_low_sd``), 4 sehr niedrig (z < −``status_very_low_sd``). Dynamics:
   the change of the status score against the previous date, standardised over the districts with a
   change; 1 positiv (z > ``dynamics_threshold_sd``), 2 stabil, 3 negativ (z < −threshold). Without a
   previous date the dynamics class is not available.
4. **Publication**: the scores, types and classes are computed again from the published
   (disclosure-controlled) values (:func:`quarterstats.disclosure.indicators.protect_indicators`), the
   types fitted on the first date's published scores and the dynamics from published changes
   (:func:`quarterstats.indicators.changes.add_changes` calls :func:`classes_over_time`); the unprotected
   table in ``data/processed`` keeps those of the true values.

Social-status indicators (auxiliary district figures, columns district_id, sgb2_recipients_under65,
unemployed, children_under15_in_sgb2): ``sgb2_rate`` = 100 × recipients / pop under ``old_age_limit``;
``unemployment_rate`` = 100 × unemployed / pop aged ``labour_force_ages`` (inclusive); ``child_poverty`` =
100 × children in SGB II / pop under ``child_poverty_age_limit``. City numerators are the sums over the
districts (NaN when a district with residents has no figure).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage

from quarterstats.catalogue import (
    MILIEU_DIMENSION_ORDER as DIMENSION_ORDER, MILIEU_DIMENSIONS as DIMENSIONS,
    MILIEU_TYPOLOGY_DIMENSIONS as TYPOLOGY_DIMENSIONS, IndicatorParameters,
)

from quarterstats.signs import NOT_AVAILABLE as NOT_AVAILABLE_SIGN, SUPPRESSED

from .common import CITY_ID, DistrictCoder, PersonFrame, Results, Values

__all__ = [
    "CLASS_IDS", "DIMENSIONS", "DIMENSION_WORDS_DE", "DIMENSION_ORDER", "DYNAMICS_LABELS_DE", "LEVEL_WORDS_DE", "STATUS_LABELS_DE",
    "TYPOLOGY_DIMENSIONS", "TypeModel", "assign_types", "class_word_de", "classes_over_time", "classify_dynamics",
    "classify_status", "dimension_scores", "district_types", "fit_types", "milieu_types", "milieu_values",
    "type_code", "type_description_de", "type_digits", "type_label_de", "zscores",
]

#: Ids of the class indicators of the family (scores are ``milieu_<dimension>``).
CLASS_IDS = ("milieu_type", "milieu_status_class", "milieu_dynamics_class")
#: Levels of a type centre in a dimension (a digit of the type code).
CLEARLY_BELOW, BELOW, AVERAGE, ABOVE, CLEARLY_ABOVE, NOT_AVAILABLE = 1, 2, 3, 4, 5, 0
#: German words of the levels (code lists).
LEVEL_WORDS_DE = {CLEARLY_BELOW: "deutlich unter dem Durchschnitt", BELOW: "unter dem Durchschnitt",
                  AVERAGE: "nahe am Durchschnitt", ABOVE: "über dem Durchschnitt",
                  CLEARLY_ABOVE: "deutlich über dem Durchschnitt", NOT_AVAILABLE: "nicht verfügbar"}
#: Short neutral words for a type's name: (below, above) the average, per typology dimension. They say who
#: lives in a district, never how well off it is.
NAME_WORDS_DE: dict[str, tuple[str, str]] = {
    "family": ("kleine Haushalte", "Familien"),
    "seniors": ("wenige Ältere", "viele Ältere"),
    "students": ("wenige junge Erwachsene", "junge Erwachsene"),
    "migration": ("geringer Migrationsanteil", "hoher Migrationsanteil"),
    "mobility": ("lange Wohndauer", "viel Zuzug"),
}
#: What a low and a high score of every dimension means, in neutral words (methods text, table notes).
DIMENSION_WORDS_DE: dict[str, tuple[str, str]] = {
    **NAME_WORDS_DE,
    "status": ("mehr Bezug von Sozialleistungen", "weniger Bezug von Sozialleistungen"),
}
#: Phrases of a type's description: (below, above) the average, per typology dimension.
PHRASES_DE: dict[str, tuple[str, str]] = {
    "family": ("weniger Familien mit Kindern", "mehr Familien mit Kindern"),
    "seniors": ("weniger Ältere", "mehr Ältere"),
    "students": ("weniger junge Erwachsene", "mehr junge Erwachsene"),
    "migration": ("weniger Einwohner mit Migrationshintergrund", "mehr Einwohner mit Migrationshintergrund"),
    "mobility": ("weniger Zuzüge und längere Wohndauer", "mehr Zuzüge und kürzere Wohndauer"),
}
#: Name of a type whose centre is near the average in every dimension.
AVERAGE_NAME_DE = "gemischt, nahe am Durchschnitt"
#: Status classes (MSS order) and dynamics classes.
STATUS_LABELS_DE = {1: "hoch", 2: "mittel", 3: "niedrig", 4: "sehr niedrig"}
DYNAMICS_LABELS_DE = {1: "positiv", 2: "stabil", 3: "negativ"}
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


# ------------------------------------------------------------------------------------------ typology
@dataclass(frozen=True)
class TypeModel:
    """District types fitted on one date: the typology dimensions used, one centre per cluster (rows, in
    standardised units), each centre's type code, and the share of the spread the types explain."""

    dimensions: tuple[str, ...]
    centres: np.ndarray
    codes: tuple[int, ...]
    explained: float
    n_districts: int

    @property
    def types(self) -> tuple[int, ...]:
        """The distinct type codes, ascending."""
        return tuple(sorted(set(self.codes)))


def _standardised(scores: Mapping[str, np.ndarray], included: np.ndarray,
                  dimensions: tuple[str, ...]) -> np.ndarray:
    """Districts × dimensions: each dimension score standardised over the included districts."""
    return np.column_stack([zscores(scores[d], included) for d in dimensions])


def type_code(centre: np.ndarray, dimensions: tuple[str, ...], threshold_sd: float) -> int:
    """The code of a type centre: one digit per typology dimension (levels 1–5, 0 where not used)."""
    digits = []
    for dim in TYPOLOGY_DIMENSIONS:
        if dim not in dimensions:
            digits.append(NOT_AVAILABLE)
            continue
        c = float(centre[dimensions.index(dim)])
        level = (CLEARLY_BELOW if c < -2 * threshold_sd else BELOW if c < -threshold_sd
                 else CLEARLY_ABOVE if c > 2 * threshold_sd else ABOVE if c > threshold_sd else AVERAGE)
        digits.append(level)
    return int("".join(str(d) for d in digits))


def fit_types(scores: Mapping[str, np.ndarray], included: np.ndarray,
              params: IndicatorParameters = IndicatorParameters()) -> TypeModel | None:
    """Ward clustering of the standardised typology dimension scores of the included districts that have
    every dimension (see the module docstring); None without such a district."""
    inc = np.asarray(included, dtype=bool)
    dims = tuple(d for d in TYPOLOGY_DIMENSIONS if d in scores and np.isfinite(scores[d][inc]).any())
    if not dims:
        return None
    x_all = _standardised(scores, inc, dims)
    rows = inc & np.isfinite(x_all).all(axis=1)
    x = x_all[rows]
    n = len(x)
    if n == 0:
        return None
    lo, hi = params.typology_types
    k_hi = min(hi, n)
    k_lo = min(lo, k_hi)
    total = float(((x - x.mean(axis=0)) ** 2).sum())
    tree = linkage(x, method="ward") if n > 1 else None
    chosen = None
    for k in range(k_lo, k_hi + 1):
        labels = fcluster(tree, k, criterion="maxclust") if tree is not None else np.ones(1, dtype=int)
        centres = np.vstack([x[labels == c].mean(axis=0) for c in np.unique(labels)])
        within = float(sum(((x[labels == c] - centres[i]) ** 2).sum() for i, c in enumerate(np.unique(labels))))
        explained = 1.0 - within / total if total > 0 else 1.0
        chosen = (centres, explained)
        if explained >= params.typology_min_explained:
            break
    centres, explained = chosen
    codes = tuple(type_code(c, dims, params.typology_threshold_sd) for c in centres)
    return TypeModel(dims, centres, codes, explained, n)


def assign_types(model: TypeModel | None, scores: Mapping[str, np.ndarray], included: np.ndarray) -> np.ndarray:
    """Type code of each district: the code of the nearest centre (mean squared distance over the model's
    dimensions the district has, scores standardised over this date's included districts); NaN for
    districts not included, without any of those dimensions, or without a model."""
    inc = np.asarray(included, dtype=bool)
    out = np.full(inc.shape, np.nan)
    if model is None:
        return out
    present = [d for d in model.dimensions if d in scores]
    if not present:
        return out
    x = _standardised(scores, inc, tuple(present))
    centres = model.centres[:, [model.dimensions.index(d) for d in present]]
    diff = x[:, None, :] - centres[None, :, :]
    finite = np.isfinite(diff)
    count = finite.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.where(finite, diff ** 2, 0.0).sum(axis=2) / count
    has = inc & (count[:, 0] > 0)
    nearest = np.argmin(np.where(np.isfinite(distance), distance, np.inf), axis=1)
    out[has] = np.asarray(model.codes, dtype=np.float64)[nearest[has]]
    return out


def type_digits(code: int) -> dict[str, int]:
    """The level (0..5) of each typology dimension in a type code."""
    digits = f"{int(code):0{len(TYPOLOGY_DIMENSIONS)}d}"
    if len(digits) != len(TYPOLOGY_DIMENSIONS) or any(d not in "012345" for d in digits):
        raise ValueError(f"not a district type code: {code!r}")
    return {dim: int(d) for dim, d in zip(TYPOLOGY_DIMENSIONS, digits)}


def _deviations(code: int) -> list[tuple[str, int]]:
    """(dimension, level) of the dimensions off the average, strongest first, then in dimension order."""
    levels = [(dim, lv) for dim, lv in type_digits(code).items() if lv not in (AVERAGE, NOT_AVAILABLE)]
    return sorted(levels, key=lambda item: -abs(item[1] - AVERAGE))


def type_label_de(code: int) -> str:
    """Short neutral German name of a district type: its (up to) two strongest deviations from the
    average, e.g. "Familien, lange Wohndauer"; "gemischt, nahe am Durchschnitt" when there are none."""
    parts = [NAME_WORDS_DE[dim][lv > AVERAGE] for dim, lv in _deviations(code)[:2]]
    return ", ".join(parts) if parts else AVERAGE_NAME_DE


def type_description_de(code: int) -> str:
    """One plain German sentence describing a district type from its centre (every deviation, "deutlich"
    at twice the threshold), e.g. "Gegenüber dem Durchschnitt der Bezirke deutlich mehr Familien mit Kindern und
    weniger Ältere; sonst nahe am Durchschnitt." """
    deviations = _deviations(code)
    if not deviations:
        return "In allen Merkmalen nahe am Durchschnitt der Bezirke."
    parts = [("deutlich " if lv in (CLEARLY_BELOW, CLEARLY_ABOVE) else "") + PHRASES_DE[dim][lv > AVERAGE]
             for dim, lv in deviations]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " und " + parts[-1]
    rest = sum(1 for lv in type_digits(code).values() if lv == AVERAGE)
    return f"Gegenüber dem Durchschnitt der Bezirke {listed}" + ("; sonst nahe am Durchschnitt." if rest else ".")


# ------------------------------------------------------------------------------ status and dynamics
def classify_status(score: np.ndarray, included: np.ndarray,
                    params: IndicatorParameters = IndicatorParameters()) -> np.ndarray:
    """Status class per district (1 hoch, 2 mittel, 3 niedrig, 4 sehr niedrig; NaN without a score) from
    the status score standardised over the included districts."""
    z = zscores(score, included)
    out = np.where(np.isfinite(z), 2.0, np.nan)
    out[z > params.status_high_sd] = 1.0
    out[z < -params.status_low_sd] = 3.0
    out[z < -params.status_very_low_sd] = 4.0
    return out


def classify_dynamics(change: np.ndarray, included: np.ndarray,
                      params: IndicatorParameters = IndicatorParameters()) -> np.ndarray:
    """Dynamics class per district (1 positiv, 2 stabil, 3 negativ; NaN without a change) from the change
    of the status score standardised over the included districts with a change."""
    z = zscores(change, included)
    out = np.where(np.isfinite(z), 2.0, np.nan)
    out[z > params.dynamics_threshold_sd] = 1.0
    out[z < -params.dynamics_threshold_sd] = 3.0
    return out


# ----------------------------------------------------------------------------------------- compute
def milieu_values(district_values: Mapping[str, np.ndarray], population: np.ndarray,
                  params: IndicatorParameters = IndicatorParameters()) -> dict[str, np.ndarray]:
    """``milieu_<dimension>`` scores, ``milieu_type`` (types fitted on these values, as on a first
    reference date), ``milieu_status_class`` and ``milieu_dynamics_class`` (not available until a change
    is known: :func:`classes_over_time`) where a status score exists, and ``milieu_excluded``, per
    district (no city). The indicator stage uses the true values; the publication recomputes them from
    the published values (:func:`quarterstats.disclosure.indicators.protect_indicators`)."""
    scores, included = dimension_scores(district_values, population, params)
    out: dict[str, np.ndarray] = {f"milieu_{dim}": score for dim, score in scores.items()}
    out["milieu_type"] = assign_types(fit_types(scores, included, params), scores, included)
    if "status" in scores:
        out["milieu_status_class"] = classify_status(scores["status"], included, params)
        out["milieu_dynamics_class"] = np.full(included.shape, np.nan)
    out["milieu_excluded"] = (~included).astype(np.float64)
    return out


def compute(results: Results, n_districts: int, params: IndicatorParameters) -> Results:
    """Dimension scores, type, classes and exclusion flag from the already computed indicators (city: NaN)."""
    district_values = {
        i: results[i].value[:n_districts] for dims in DIMENSIONS.values() for i, _ in dims if i in results
    }
    population = results["pop"].value[:n_districts]
    return {key: Values.plain(np.append(values, np.nan))
            for key, values in milieu_values(district_values, population, params).items()}


def _wide_scores(table: pd.DataFrame, districts: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Dimension scores (dimension -> array over ``districts``) and the included mask of a long table."""
    rows = table[table["district_id"].isin(districts)]
    wide = rows[rows["indicator"].str.startswith("milieu_")].pivot(
        index="district_id", columns="indicator", values="value").reindex(districts)
    scores = {d: wide[f"milieu_{d}"].to_numpy(dtype=np.float64) for d in DIMENSION_ORDER
              if f"milieu_{d}" in wide.columns}
    excluded = (wide["milieu_excluded"].to_numpy(dtype=np.float64) if "milieu_excluded" in wide.columns
                else np.zeros(len(districts)))
    return scores, excluded == 0


def classes_over_time(table: pd.DataFrame, baseline: pd.DataFrame | None,
                      params: IndicatorParameters = IndicatorParameters()) -> pd.DataFrame:
    """The long table with the classes that depend on other dates set: ``milieu_type`` from the types
    fitted on ``baseline`` (the first reference date's table; this table itself where None) and
    ``milieu_dynamics_class`` from ``change_previous`` of ``milieu_status``; ``milieu_status_class``
    from the table's status scores (as :func:`milieu_values`). A table without milieu class rows
    (or without the ``milieu_excluded`` rows that say which districts are classified) comes back unchanged.
    Where a ``flag`` column exists, a class that gets a value loses its flag and a
    class without a value is marked not available."""
    ids = set(table["indicator"].unique())
    if "milieu_excluded" not in ids or not ids & set(CLASS_IDS):
        return table
    out = table.copy()
    districts = [d for d in out.loc[out["indicator"] == "milieu_excluded", "district_id"] if d != CITY_ID]
    scores, included = _wide_scores(out, districts)
    updates: dict[str, np.ndarray] = {}
    if "milieu_type" in ids:
        base = baseline if baseline is not None and "milieu_excluded" in set(baseline["indicator"]) else None
        base_districts = ([d for d in base.loc[base["indicator"] == "milieu_excluded", "district_id"]
                           if d != CITY_ID] if base is not None else districts)
        base_scores, base_included = _wide_scores(base, base_districts) if base is not None else (scores, included)
        updates["milieu_type"] = assign_types(fit_types(base_scores, base_included, params), scores, included)
    if "milieu_status_class" in ids and "status" in scores:
        updates["milieu_status_class"] = classify_status(scores["status"], included, params)
    if "milieu_dynamics_class" in ids and "change_previous" in out.columns:
        status = out[(out["indicator"] == "milieu_status")].set_index("district_id")["change_previous"]
        change = status.reindex(districts).to_numpy(dtype=np.float64)
        updates["milieu_dynamics_class"] = classify_dynamics(np.where(included, change, np.nan), included, params)
    for key, values in updates.items():
        rows = out.index[(out["indicator"] == key) & (out["district_id"] != CITY_ID)]
        new = pd.Series(values, index=districts).reindex(out.loc[rows, "district_id"]).to_numpy(dtype=np.float64)
        if "flag" in out.columns:
            old_flag = out.loc[rows, "flag"].astype("string").fillna("")
            new = np.where(old_flag.to_numpy(dtype=object) == SUPPRESSED, np.nan, new)
            flags = np.where(np.isnan(new), np.where(old_flag == SUPPRESSED, SUPPRESSED, NOT_AVAILABLE_SIGN), "")
            out.loc[rows, "flag"] = pd.array(flags, dtype=out["flag"].dtype)
        out.loc[rows, "value"] = new
    return out


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


def class_word_de(indicator: str, code: int) -> str | None:
    """German words for the code of a milieu class indicator (type name, status or dynamics class,
    exclusion flag); None for any other indicator. An unknown code is shown as the number."""
    if indicator == "milieu_type":
        try:
            return type_label_de(code)
        except ValueError:
            return str(code)
    words = {"milieu_status_class": STATUS_LABELS_DE, "milieu_dynamics_class": DYNAMICS_LABELS_DE,
             "milieu_excluded": EXCLUDED_LABELS_DE}.get(indicator)
    return None if words is None else words.get(code, str(code))


def milieu_types(indicators: pd.DataFrame) -> pd.DataFrame:
    """District types from a long indicator table: district_id, type_code (Int64, NA when not typed),
    label_de (the type's name, or "nicht typisiert (zu wenige Einwohner)" / "nicht typisiert"),
    description_de (the type in one sentence; NA when not typed). City row left out."""
    rows = indicators[(indicators["indicator"] == "milieu_type") & (indicators["district_id"] != CITY_ID)]
    codes = rows["value"].to_numpy(dtype=np.float64)
    excluded = indicators[indicators["indicator"] == "milieu_excluded"].set_index("district_id")["value"]
    labels, descriptions = [], []
    for district, code in zip(rows["district_id"], codes):
        if np.isfinite(code):
            labels.append(type_label_de(int(code)))
            descriptions.append(type_description_de(int(code)))
        elif excluded.get(district, 0.0) == 1.0:
            labels.append(f"{NOT_TYPED_LABEL_DE} (zu wenige Einwohner)")
            descriptions.append(None)
        else:
            labels.append(NOT_TYPED_LABEL_DE)
            descriptions.append(None)
    return pd.DataFrame({
        "district_id": pd.array(rows["district_id"].to_numpy(dtype=object), dtype="str"),
        "type_code": pd.array(np.where(np.isfinite(codes), codes, np.nan), dtype="Float64").astype("Int64"),
        "label_de": pd.array(labels, dtype="str"),
        "description_de": pd.array(descriptions, dtype="string"),
    })


def district_types(published: pd.DataFrame, min_population: int) -> pd.DataFrame:
    """The published table of district types and classes (``quartierstypen``), one row per district:
    reference_date (where the table has it), district_id, district_name (where the table has it), type_code, type_name_de, type_description_de,
    status_class, status_class_de, dynamics_class, dynamics_class_de and note_de — why a district is not
    typed or classified (fewer than ``min_population`` residents, no auxiliary figures, no previous date).
    Consumers (district pages, maps) read the type in words here instead of recomputing it."""
    rows = published[published["district_id"] != CITY_ID]
    wide = rows.pivot(index="district_id", columns="indicator", values="value")
    order = list(dict.fromkeys(rows["district_id"]))
    wide = wide.reindex(order)
    def column(key: str) -> np.ndarray:
        return wide[key].to_numpy(dtype=np.float64) if key in wide.columns else np.full(len(order), np.nan)
    codes, status, dynamics = column("milieu_type"), column("milieu_status_class"), column("milieu_dynamics_class")
    excluded = column("milieu_excluded") == 1.0
    has_status = "milieu_status_class" in wide.columns
    notes = []
    for i in range(len(order)):
        if excluded[i]:
            notes.append(f"nicht typisiert und nicht klassifiziert: weniger als {min_population} Einwohner")
            continue
        parts = [] if np.isfinite(codes[i]) else ["nicht typisiert: keine Milieuwerte veröffentlicht"]
        if not has_status:
            parts.append("keine Statusklasse: keine Zulieferdaten zum sozialen Status")
        elif not np.isfinite(status[i]):
            parts.append("keine Statusklasse: kein Statuswert veröffentlicht")
        elif not np.isfinite(dynamics[i]):
            parts.append("keine Dynamikklasse: kein Vergleich mit einem vorigen Stichtag")
        notes.append("; ".join(parts))
    def words(values: np.ndarray, mapping) -> pd.array:
        return pd.array([mapping(int(v)) if np.isfinite(v) else None for v in values], dtype="string")
    out = pd.DataFrame({"district_id": pd.array(order, dtype="string")})
    if "reference_date" in rows.columns:
        out.insert(0, "reference_date", rows["reference_date"].iloc[0] if len(rows) else None)
    if "district_name" in rows.columns:
        names = rows.drop_duplicates("district_id").set_index("district_id")["district_name"]
        out["district_name"] = pd.array(names.reindex(order).to_numpy(dtype=object), dtype="string")
    out["type_code"] = pd.array(np.where(np.isfinite(codes), codes, np.nan), dtype="Float64").astype("Int64")
    out["type_name_de"] = words(codes, type_label_de)
    out["type_description_de"] = words(codes, type_description_de)
    out["status_class"] = pd.array(status, dtype="Float64").astype("Int64")
    out["status_class_de"] = words(status, STATUS_LABELS_DE.get)
    out["dynamics_class"] = pd.array(dynamics, dtype="Float64").astype("Int64")
    out["dynamics_class_de"] = words(dynamics, DYNAMICS_LABELS_DE.get)
    out["note_de"] = pd.array(notes, dtype="string")
    return out
