"""Disclosure control applied to the long indicator table: what may be published of one reference date.

Suppression mode (default; the city's statistical yearbook):

* Every published *count* is a cell: the value of a count indicator, and the numerator of a share (linked
  to its count twin, e.g. ``foreign_share`` ↔ ``foreign``) and its denominator (linked to the count it
  names: residents ``pop``, minors ``minors``, households ``households``; otherwise a cell of its own).
* Primary suppression: counts 1 … ``min_count`` − 1.
* Secondary suppression on every additive relation, iterated until no relation changes (tables that share
  cells are consistent): each count column over the districts adds up to the city (``"city"`` row); and
  the partitions :data:`RELATIONS` (migration status, age groups, origin regions … add up to residents or
  residents with MH). :func:`audit` shows that no suppressed cell can be derived in any relation.
* A share is published only where its numerator is published and its denominator is at least
  ``min_denominator`` (and published). Ratios, rates, means, indices and scores publish only their value:
  where the denominator is under ``min_denominator`` or the numerator is a small count (1 …
  ``min_count`` − 1) the value is suppressed. A quotient of two whole numbers published to 15 digits
  gives both of them back, so a ratio, mean or location quotient whose numerator or denominator takes
  part in the additive relations follows the cells it would give back (:data:`VALUE_FOLLOWS`; a
  location quotient its group count and the residents), and the two dependency ratios are also suppressed
  where the counts they split off an age group would be small (:func:`dependency_ratio_splits`).
* Milieu scores and types are recomputed from the *published* values (:func:`_milieu_from_published`):
  scores standardised over the districts with true values would carry the suppressed ones. Composite
  milieu scores of districts under ``min_population_composite`` residents are not published (flag "x", :mod:`quarterstats.signs`).
  LISA classes and the milieu type are published.
* Changes against earlier dates are computed from *published* values only (see
  :func:`published_changes`), so a suppressed earlier value cannot be recovered by difference.

Cell key mode (Destatis, Zensus 2022): person counts by category (:data:`PERSON_COUNTS`) are perturbed
with cell keys from the record keys of the persons in each cell (:mod:`.cellkey`); shares among them are
recomputed from the perturbed counts; all other counts (households, moves, top countries) and all other
indicators follow the suppression rules above. Zeros stay zero; the same cell gets the same noise in every
table and on every rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from quarterstats.catalogue import (
    CATALOGUE, ORIGIN_REGIONS, SEGREGATION_GROUPS, Indicator, IndicatorParameters, age_group_id, age_groups,
)
from quarterstats.signs import NOT_AVAILABLE, SUPPRESSED  # noqa: F401 (the flags of the published table)

from .audit import recoverable_cells
from .cellkey import cell_keys, perturb, record_keys
from .config import DisclosureConfig
from .ptable import perturbation_table
from .suppression import secondary_suppression

CITY = "city"
DENOMINATOR_COUNTS = {
    "Einwohner": "pop",
    "Einwohner unter 18 Jahren": "minors",
    "Haushalte": "households",
}
_AGE_GROUPS = age_groups(IndicatorParameters())
_AGE_IDS = [age_group_id(lo, hi) for lo, hi in _AGE_GROUPS]
#: Additive relations among count indicators: (total, parts) — all per district and for the city.
RELATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pop", ("foreign", "german_personal_mh", "german_familial_mh", "german_no_mh")),
    ("german_with_mh", ("german_personal_mh", "german_familial_mh")),
    ("with_mh", ("foreign", "german_with_mh")),
    ("with_mh", tuple(f"origin_region_{code}" for code, _, _ in ORIGIN_REGIONS)),
    ("pop", tuple(_AGE_IDS)),
    ("minors", tuple(_AGE_IDS[:3])),
)


#: Ratios and means whose value, a quotient of whole numbers, gives back counts that take part in the
#: additive relations: the value is suppressed wherever one of these cells is. The two dependency ratios
#: with the residents give the under-20s, the 20–64s and the 65+ exactly (solve U/W, O/W, U + W + O = pop),
#: and 65+ minus the 65–79s is the 80+ cell; the mean household size times the households is the residents
#: minus the persons in institutions; turnover and net migration give the in- and outflows; the sex ratio,
#: the mean age and the density give back the residents; a location quotient its group count.
VALUE_FOLLOWS: dict[str, tuple[str, ...]] = {
    "youth_ratio": ("pop", *_AGE_IDS),
    "old_age_ratio": ("pop", *_AGE_IDS),
    "household_size_mean": ("pop", "households", "persons_in_institutions"),
    "turnover": ("pop", "in_movers", "out_movers", "intra_city_in", "intra_city_out"),
    "net_migration": ("pop", "in_movers", "out_movers", "intra_city_in", "intra_city_out"),
    "sex_ratio": ("pop",),
    "mean_age": ("pop",),
    "density": ("pop",),
    # a location quotient LQ = (x / t) / (X / T): LQ × t × X / T gives back the group count x
    **{f"location_quotient_{gid}": ("pop", gid if gid in ("foreign", "with_mh") else "origin_" + gid)
       for gid, _, _ in SEGREGATION_GROUPS},
}
DEPENDENCY_RATIOS = ("youth_ratio", "old_age_ratio")


def dependency_ratio_splits(table: pd.DataFrame, params: IndicatorParameters = IndicatorParameters()) -> pd.DataFrame:
    """Areas × the parts into which the dependency ratios' age limits cut a published age group.

    The youth ratio's numerator is the residents under ``youth_age_limit`` (20), the old-age ratio's the
    residents from ``old_age_limit`` (65) on. Where a limit is not a bound of the age groups, that count
    and the groups wholly below the limit give the two parts of the group around it: with the default
    groups, 18–24 falls into ``age_18_19`` and ``age_20_24`` (65 is a bound: nothing is split). Columns:
    those parts (true counts, from the unprotected ``table``); none where nothing is split."""
    rows = table[table["indicator"].isin([*_AGE_IDS, "pop", *DEPENDENCY_RATIOS])]
    wide = rows.pivot(index="district_id", columns="indicator", values=["value", "numerator"])
    values, numerators = wide["value"], wide["numerator"]
    parts = {}
    for ratio, limit in (("youth_ratio", params.youth_age_limit), ("old_age_ratio", params.old_age_limit)):
        if ratio not in numerators.columns:
            continue
        below = numerators[ratio] if ratio == "youth_ratio" else values["pop"] - numerators[ratio]
        for (lo, hi), key in zip(_AGE_GROUPS, _AGE_IDS):
            if lo < limit and (hi is None or limit < hi):
                lower = [k for (_, upper), k in zip(_AGE_GROUPS, _AGE_IDS) if upper is not None and upper <= lo]
                if not {key, "pop", *lower} <= set(values.columns):
                    continue
                first = below - values[lower].sum(axis=1)
                parts[f"age_{lo:02d}_{limit - 1:02d}"] = first
                parts[age_group_id(limit, hi)] = values[key] - first
    return pd.DataFrame(parts, index=values.index)


def _person_count_rules(reference_age_limit: int = 18) -> dict[str, Callable[[pd.DataFrame], np.ndarray]]:
    """Membership of each person count (cell key mode): person frame → boolean mask."""
    def status(value: str):
        return lambda p: (p["mh_status"] == value).to_numpy(dtype=bool)

    def eg(value: str, minors_only: bool = False):
        if minors_only:
            return lambda p: ((p["eg_status"] == value) & (p["age"] < reference_age_limit)).to_numpy(dtype=bool)
        return lambda p: (p["eg_status"] == value).to_numpy(dtype=bool)

    rules: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
        "pop": lambda p: np.ones(len(p), dtype=bool),
        "minors": lambda p: (p["age"] < reference_age_limit).to_numpy(dtype=bool),
        "foreign": status("foreign"),
        "german_personal_mh": status("german_personal_mh"),
        "german_familial_mh": status("german_familial_mh"),
        "german_no_mh": status("german_no_mh"),
        "german_with_mh": lambda p: p["mh_status"].isin(["german_personal_mh", "german_familial_mh"]).to_numpy(dtype=bool),
        "with_mh": lambda p: p["has_mh"].to_numpy(dtype=bool),
        "with_mh_minors": lambda p: (p["has_mh"] & (p["age"] < reference_age_limit)).to_numpy(dtype=bool),
        "eg_immigrant": eg("immigrant"),
        "eg_descendant_minors": eg("descendant", True),
        "eg_one_sided_minors": eg("one_sided", True),
        "eg_not_determinable": eg("not_determinable"),
    }
    for (lo, hi), key in zip(_AGE_GROUPS, _AGE_IDS):
        rules[key] = (lambda lo, hi: lambda p: ((p["age"] >= lo) & ((p["age"] < hi) if hi else True)).to_numpy(dtype=bool))(lo, hi)
    for code, _, _ in ORIGIN_REGIONS:
        rules[f"origin_region_{code}"] = (lambda c: lambda p: (p["has_mh"] & (p["origin_region"] == c)).to_numpy(dtype=bool, na_value=False))(code)
    return rules


PERSON_COUNTS = tuple(_person_count_rules())


@dataclass
class ProtectionResult:
    published: pd.DataFrame  # the long table with value/numerator/denominator masked and a flag column
    count_mask: pd.DataFrame  # districts × count cells: True where suppressed
    counts: pd.DataFrame  # districts × count cells: the (possibly perturbed) counts behind the mask


def _cell_of(ind: Indicator | None, indicator_id: str, available: set[str]) -> tuple[str | None, str | None]:
    """(numerator cell, denominator cell) keys of a share."""
    twin = indicator_id.removesuffix("_share")
    num = twin if twin != indicator_id and twin in available else f"{indicator_id}#num"
    den_label = ind.denominator if ind else None
    den = DENOMINATOR_COUNTS.get(den_label or "", f"{indicator_id}#den")
    if den not in available and not den.endswith("#den"):
        den = f"{indicator_id}#den"
    return num, den


def count_cells(table: pd.DataFrame, catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """Districts (and "city") × count cells, from the long table."""
    kinds = table["indicator"].map(lambda i: catalogue[i].kind if i in catalogue else "index")
    counts = table[kinds == "count"]
    wide = counts.pivot(index="district_id", columns="indicator", values="value")
    available = set(wide.columns)
    extra = {}
    shares = table[kinds == "share"]
    for indicator_id, rows in shares.groupby("indicator", sort=False):
        num, den = _cell_of(catalogue.get(indicator_id), indicator_id, available)
        series = rows.set_index("district_id")
        if num not in available:
            extra[num] = series["numerator"]
        if den not in available:
            extra[den] = series["denominator"]
    if extra:
        wide = pd.concat([wide, pd.DataFrame(extra)], axis=1)
    order = [d for d in table["district_id"].drop_duplicates() if d != CITY] + [CITY]
    wide = wide.reindex(order)
    return wide.loc[:, wide.notna().any()].fillna(0.0)


def _relation_tables(wide: pd.DataFrame) -> list[tuple[list[str], bool]]:
    """(columns, has total column) of every additive table: relations and each column alone."""
    tables = []
    for total, parts in RELATIONS:
        present = [p for p in parts if p in wide.columns]
        if total in wide.columns and len(present) == len(parts):
            if np.allclose(wide[present].sum(axis=1), wide[total]):
                tables.append((present + [total], True))
    districts = wide.drop(index=CITY)
    for column in wide.columns:
        # Only where the districts add up to the city (not e.g. in-movers, which for districts include
        # moves between districts) can a suppressed district be recovered by subtraction.
        if np.isclose(districts[column].sum(), wide.loc[CITY, column]):
            tables.append(([column], False))
    return tables


def suppress_counts(wide: pd.DataFrame, config: DisclosureConfig) -> pd.DataFrame:
    """Primary and secondary suppression over all additive tables, iterated to a fixpoint."""
    values = wide.to_numpy()
    mask = pd.DataFrame((values >= 1) & (values < config.min_count), index=wide.index, columns=wide.columns)
    tables = _relation_tables(wide)
    # A table whose mask is the one it was last completed to is safe as it is (the completion of a
    # safe mask adds nothing), so later rounds of the fixpoint only revisit tables that changed.
    completed: dict[int, np.ndarray] = {}
    for _ in range(50):
        changed = False
        for number, (columns, has_total) in enumerate(tables):
            sub = wide[columns].copy()
            if has_total:
                sub = sub.rename(columns={columns[-1]: "total"})
            sub_mask = mask[columns].set_axis(sub.columns, axis=1)
            current = sub_mask.to_numpy()
            if not current.any():
                continue
            if number in completed and np.array_equal(completed[number], current):
                continue
            full = secondary_suppression(sub.round().astype("int64"), sub_mask, row_total=True,
                                         col_total=has_total, min_count=config.min_count)
            completed[number] = full.to_numpy()
            new = full.set_axis(columns, axis=1)
            if (new & ~mask[columns]).to_numpy().any():
                mask[columns] = mask[columns] | new
                changed = True
        if not changed:
            return mask
    raise RuntimeError("secondary suppression did not converge")  # pragma: no cover (bounded by cells)


def audit(wide: pd.DataFrame, mask: pd.DataFrame, config: DisclosureConfig) -> list[tuple]:
    """Every (table columns, cell) an intruder could recover from the published cells and margins."""
    found = []
    for columns, has_total in _relation_tables(wide):
        sub = wide[columns].copy().astype(float)
        if has_total:
            sub = sub.rename(columns={columns[-1]: "total"})
        m = mask[columns].to_numpy()
        published = sub.mask(m)
        if not m.any():
            continue
        for cell in recoverable_cells(published, row_total=True, col_total=has_total, min_count=config.min_count):
            found.append((tuple(columns), cell))
    return found


def perturbed_person_counts(persons: pd.DataFrame, district_order: list[str], config: DisclosureConfig) -> pd.DataFrame:
    """Cell key method: districts (+ city) × :data:`PERSON_COUNTS`, perturbed."""
    keys = record_keys(persons["person_id"].astype(str), config.salt)
    ptable = perturbation_table(config.max_deviation, config.variance)
    district = pd.Categorical(persons["district_id"].astype("string"), categories=[d for d in district_order if d != CITY])
    codes = np.asarray(district.codes)
    n = len(district.categories)
    out = {}
    for key, rule in _person_count_rules().items():
        member = rule(persons)
        group = np.where(member & (codes >= 0), codes, n)  # n = not in the cell
        counts = np.bincount(group, minlength=n + 1)[:n]
        ck = cell_keys(keys, group, n + 1)[:n]
        city_count = int(member.sum())
        city_key = cell_keys(keys[member], np.zeros(city_count, dtype=np.int64), 1) if city_count else np.zeros(1)
        values = perturb(np.append(counts, city_count), np.append(ck, city_key[:1]), ptable)
        out[key] = values
    return pd.DataFrame(out, index=[*district.categories, CITY]).astype(float)


def protect_indicators(
    table: pd.DataFrame,
    config: DisclosureConfig,
    *,
    persons: pd.DataFrame | None = None,
    catalogue: Mapping[str, Indicator] = CATALOGUE,
    params: IndicatorParameters = IndicatorParameters(),
) -> ProtectionResult:
    """The long indicator table with everything that may not be published masked (NaN) and flagged.

    ``params``: those the table was computed with (the milieu scores are recomputed with them)."""
    wide = count_cells(table, catalogue)
    if config.method == "cell_key":
        if persons is None:
            raise ValueError("the cell key method needs the persons table (record keys per person)")
        perturbed = perturbed_person_counts(persons, list(wide.index), config)
        for column in perturbed.columns.intersection(wide.columns):
            wide[column] = perturbed[column].reindex(wide.index).fillna(0.0)
        other = [c for c in wide.columns if c not in perturbed.columns]
        mask = pd.DataFrame(False, index=wide.index, columns=wide.columns)
        if other:
            mask[other] = suppress_counts(wide[other], config)
    else:
        mask = suppress_counts(wide, config)

    out = table.copy()
    for column in ("value", "numerator", "denominator"):
        out[column] = out[column].astype("float64")
    flag = np.where(out["value"].isna(), NOT_AVAILABLE, "").astype(object)
    available = set(wide.columns)
    splits = dependency_ratio_splits(table, params)

    def cell(district: pd.Series, key: str | None) -> tuple[np.ndarray, np.ndarray]:
        """(value, suppressed) of a count cell for each row's district."""
        if key is None or key not in wide.columns:
            return np.full(len(district), np.nan), np.zeros(len(district), dtype=bool)
        return (wide[key].reindex(district).to_numpy(copy=True),
                mask[key].reindex(district).fillna(False).to_numpy(dtype=bool, copy=True))

    for indicator_id, idx in out.groupby("indicator", sort=False).groups.items():
        rows = out.loc[idx]
        ind = catalogue.get(indicator_id)
        kind = ind.kind if ind else "index"
        districts = rows["district_id"]
        hide = np.zeros(len(rows), dtype=bool)
        if kind == "count":
            value, hide = cell(districts, indicator_id)
            out.loc[idx, "value"] = np.where(rows["value"].isna(), np.nan, value)
            out.loc[idx, "numerator"] = out.loc[idx, "value"]
        elif kind == "share":
            num_key, den_key = _cell_of(ind, indicator_id, available)
            num, num_hidden = cell(districts, num_key)
            den, den_hidden = cell(districts, den_key)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(den > 0, 100.0 * num / den, np.nan)
            if config.method == "cell_key" and num_key in PERSON_COUNTS and den_key in PERSON_COUNTS:
                out.loc[idx, "value"] = np.where(rows["value"].isna(), np.nan, share)
            out.loc[idx, "numerator"] = num
            out.loc[idx, "denominator"] = den
            min_den = (ind.min_denominator if ind and ind.min_denominator else config.min_denominator)
            hide = num_hidden | den_hidden | (den < max(min_den, config.min_denominator))
        else:
            numerator = rows["numerator"].to_numpy(dtype=float)
            denominator = rows["denominator"].to_numpy(dtype=float)
            hide = np.zeros(len(rows), dtype=bool)
            # The catalogue says where numerator and denominator are counts of persons or households
            # (a minimum denominator is set); a density's area or a score's z-values are not.
            min_den = ind.min_denominator if ind else None
            if min_den is not None and kind in ("ratio", "rate", "mean", "index"):
                small_num = (numerator >= 1) & (numerator < config.min_count)
                small_den = denominator < max(min_den, config.min_denominator)
                hide = np.nan_to_num(small_num, nan=False).astype(bool) | np.nan_to_num(small_den, nan=False).astype(bool)
            for key in VALUE_FOLLOWS.get(indicator_id, ()):
                hide |= cell(districts, key)[1]
            if indicator_id in DEPENDENCY_RATIOS:
                small = (splits >= 1) & (splits < config.min_count)
                hide |= small.any(axis=1).reindex(districts).fillna(False).to_numpy(dtype=bool)
            if kind in ("score",) or indicator_id == "milieu_type":
                pop, _ = cell(districts, "pop")
                too_small = np.nan_to_num(pop < config.min_population_composite, nan=True).astype(bool)
                out.loc[idx[too_small & (districts != CITY).to_numpy()], "value"] = np.nan
            out.loc[idx, "numerator"] = np.nan  # only the value of these kinds is published
            out.loc[idx, "denominator"] = np.nan
        hide = np.asarray(hide, dtype=bool) & out.loc[idx, "value"].notna().to_numpy()
        out.loc[idx[hide], ["value", "numerator", "denominator"]] = np.nan
        flag[out.index.get_indexer(idx[hide])] = SUPPRESSED
    _milieu_from_published(out, table, flag, params)
    flag = np.where((flag == "") & out["value"].isna().to_numpy(), NOT_AVAILABLE, flag)
    out["flag"] = pd.array(flag, dtype="string")
    for column in ("change_previous", "change_baseline"):
        if column in out.columns:
            out[column] = np.nan  # recomputed from published values: published_changes()
    return ProtectionResult(out, mask, wide)


def _milieu_from_published(out: pd.DataFrame, table: pd.DataFrame, flag: np.ndarray,
                           params: IndicatorParameters) -> None:
    """Recompute the milieu scores and types of ``out`` from its published values (in place).

    A score standardises its indicators over all districts, so a score computed from true values carries
    the suppressed ones: the mean and sd of the standardisation, solved from the published districts,
    give them back (on the default run, the family score gave the suppressed mean household size of two
    districts, and with it the persons in institutions). From the published values, a suppressed value
    is left out of the standardisation and of its district's score (the score is the mean of the
    indicators available, as for missing ones); a score with none left is suppressed. Which districts are
    included (at least ``composite_min_population`` residents) does not change; rows already masked
    (districts too small) stay masked."""
    from quarterstats.indicators.milieu import DIMENSIONS, milieu_values

    keys = [k for k in out["indicator"].unique() if k.startswith("milieu_") and k != "milieu_excluded"]
    if not keys:
        return
    districts = [d for d in out["district_id"].drop_duplicates() if d != CITY]
    published = out[out["district_id"] != CITY].pivot(index="district_id", columns="indicator", values="value")
    published = published.reindex(districts)
    components = {i: published[i].to_numpy(dtype=float) for dims in DIMENSIONS.values() for i, _ in dims
                  if i in published.columns}
    pop = table[table["indicator"] == "pop"].set_index("district_id")["value"].reindex(districts)
    recomputed = milieu_values(components, pop.to_numpy(dtype=float), params)
    for key in keys:
        rows = out.index[(out["indicator"] == key) & (out["district_id"] != CITY)]
        if key not in recomputed:  # no indicator of the dimension is published anywhere
            new = np.full(len(rows), np.nan)
        else:
            new = pd.Series(recomputed[key], index=districts).reindex(out.loc[rows, "district_id"]).to_numpy()
        shown = out.loc[rows, "value"].notna().to_numpy()
        out.loc[rows, "value"] = np.where(shown, new, np.nan)
        flag[out.index.get_indexer(rows[shown & np.isnan(new)])] = SUPPRESSED


def published_changes(current: pd.DataFrame, previous: pd.DataFrame | None, baseline: pd.DataFrame | None,
                      catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """Changes against earlier dates from published values only (NaN where either side is suppressed)."""
    from quarterstats.indicators import add_changes

    columns = [c for c in current.columns if c not in ("change_previous", "change_baseline")]
    return add_changes(current[columns], previous, baseline, catalogue=catalogue)
