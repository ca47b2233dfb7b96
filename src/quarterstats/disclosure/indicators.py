"""Disclosure control applied to the long indicator table: what may be published of one reference date.

The structure protected here is the one the catalogue declares (:func:`quarterstats.catalogue.build_catalogue`
with the run's parameters): every indicator's numerator and denominator cells, the additive
:class:`~quarterstats.catalogue.Relation` objects among the cells, and the cells a value gives back.
Nothing is reconstructed from labels or fixed at import.

Suppression mode (default; the city's statistical yearbook):

* Every published *count* is a cell: the value of a count indicator, and the numerator and the
  denominator of a share (the cells its ``numerator_id``/``denominator_id`` name, e.g. ``foreign_share``
  → ``foreign`` / ``pop``; a denominator that is not itself published, such as the residents aged 1 and
  over, is a declared cell of its own).
* Primary suppression: counts 1 … ``min_count`` − 1, and counts whose age band cuts a published age group
  where a part of that group would be small (:func:`age_cut_parts`: the young adults 18–29 with the age
  group 25–44 give the 25–29-year-olds).
* Secondary suppression on every additive relation, iterated until no relation changes (tables that share
  cells are consistent): each count column over the districts adds up to the city (``"city"`` row); and
  the declared relations (migration status, age groups, age groups below the minor age limit, origin
  regions …). :func:`audit` shows that no suppressed cell can be derived in any relation.
* A share is published only where its numerator is published and its denominator is at least
  ``min_denominator`` (and published). Ratios, rates, means, indices and scores publish only their value:
  where the denominator is under ``min_denominator`` or the numerator is a small count (1 …
  ``min_count`` − 1) the value is suppressed. A quotient of two whole numbers published to 15 digits
  gives both of them back, so a value follows the cells it gives back (``Indicator.gives_back``), the
  cells declared in a relation with them, and the age groups their age band overlaps
  (:func:`value_follows`); where such a cell cuts an age group into a small part, the value is
  suppressed too.
* Milieu scores and types are recomputed from the *published* values (:func:`_milieu_from_published`):
  scores standardised over the districts with true values would carry the suppressed ones. Composite
  milieu scores of districts under ``min_population_composite`` residents are not published (flag "x", :mod:`quarterstats.signs`).
  LISA classes and the milieu type are published.
* Changes against earlier dates are computed from *published* values only (see
  :func:`published_changes`), so a suppressed earlier value cannot be recovered by difference.

Cell key mode (Destatis, Zensus 2022): every cell that declares a population of persons (residents by
age, sex, migration status, origin region, household membership …) is perturbed with cell keys from the
record keys of the persons in it (:mod:`.cellkey`); every share, ratio, mean and rate beside them is
computed from the published (perturbed) cells, and ratios of two perturbed cells publish them as
numerator and denominator; a value that would need a true count of a perturbed cell (turnover and net
migration: the mean residents of two dates) is suppressed. All other counts (households, moves, top
countries) follow the suppression rules above. Zeros stay zero; the same cell gets the same noise in
every table and on every rerun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from quarterstats.catalogue import (
    CATALOGUE, SCALE_BY_UNIT, Catalogue, Indicator, IndicatorParameters, Population, Relation, age_group_id, age_groups,
    build_catalogue,
)
from quarterstats.indicators.common import CITY_ID as CITY
from quarterstats.signs import NOT_AVAILABLE, SUPPRESSED  # noqa: F401 (the flags of the published table)

from .audit import RecoveredCell, TableAuditor, TableLayout, recoverable_cells
from .cellkey import cell_keys, perturb, record_keys
from .config import DisclosureConfig
from .ptable import perturbation_table
from .suppression import secondary_suppression

#: Scale of a value ``scale × numerator / denominator`` by its unit (else 1).


def structure_of(catalogue: Mapping[str, Indicator] | None, params: IndicatorParameters) -> Catalogue:
    """The catalogue with its declared structure for ``params``: ``catalogue`` itself when it is one
    (it must have been built with ``params``), else ``build_catalogue(params)`` restricted to the
    indicators of ``catalogue`` (a plain mapping of indicators)."""
    if isinstance(catalogue, Catalogue):
        if catalogue.params != params:
            raise ValueError("the catalogue was built with other parameters than those passed (params)")
        return catalogue
    built = build_catalogue(params)
    if catalogue is None:
        return built
    chosen = Catalogue({k: v for k, v in catalogue.items()})
    chosen.params, chosen.cells, chosen.relations, chosen.groups = (
        built.params, built.cells, built.relations, built.groups)
    return chosen


def _kind(catalogue: Mapping[str, Indicator], indicator_id: str) -> str:
    ind = catalogue.get(indicator_id)
    return ind.kind if ind else "index"


def _share_cells(ind: Indicator) -> tuple[str, str]:
    if ind.numerator_id is None or ind.denominator_id is None:
        raise ValueError(f"share {ind.id} declares no numerator/denominator cell in the catalogue")
    return ind.numerator_id, ind.denominator_id


def count_cells(table: pd.DataFrame, catalogue: Mapping[str, Indicator]) -> pd.DataFrame:
    """Districts (and "city") × count cells, from the long table: the count indicators and the declared
    numerator and denominator cells of the shares."""
    kinds = table["indicator"].map(lambda i: _kind(catalogue, i))
    counts = table[kinds == "count"]
    wide = counts.pivot(index="district_id", columns="indicator", values="value")
    available = set(wide.columns)
    extra = {}
    shares = table[kinds == "share"]
    for indicator_id, rows in shares.groupby("indicator", sort=False):
        series = rows.set_index("district_id")
        for key, column in zip(_share_cells(catalogue[indicator_id]), ("numerator", "denominator")):
            if key not in available and key not in extra:
                extra[key] = series[column]
    if extra:
        wide = pd.concat([wide, pd.DataFrame(extra)], axis=1)
    order = [d for d in table["district_id"].drop_duplicates() if d != CITY] + [CITY]
    wide = wide.reindex(order)
    return wide.loc[:, wide.notna().any()].fillna(0.0)


def structure_cells(table: pd.DataFrame, catalogue: Mapping[str, Indicator],
                    counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Districts (and "city") × every declared cell the long table holds: :func:`count_cells` (or
    ``counts``, when the caller has them) and the numerators and denominators of the other indicators
    (NaN where an area has none)."""
    wide = count_cells(table, catalogue) if counts is None else counts
    extra = {}
    declared = {k for k, ind in catalogue.items() if ind.kind not in ("count", "share")
                and (ind.numerator_id or ind.denominator_id)}
    for indicator_id, rows in table[table["indicator"].isin(declared)].groupby("indicator", sort=False):
        ind = catalogue[indicator_id]
        series = rows.set_index("district_id")
        for key, column in ((ind.numerator_id, "numerator"), (ind.denominator_id, "denominator")):
            if key and key not in wide.columns and key not in extra and series[column].notna().any():
                extra[key] = series[column]
    if extra:
        wide = pd.concat([wide, pd.DataFrame(extra).reindex(wide.index)], axis=1)
    return wide


def age_cut_parts(cells: pd.DataFrame, catalogue: Catalogue) -> dict[str, pd.DataFrame]:
    """Cell id → areas × the parts of an age group that the cell's age band cuts off (true counts).

    A cell of all residents aged [a, b) whose bounds are not both bounds of the age groups, minus the
    groups wholly inside it, gives the part of the group around a cut; with one cut, that group minus the
    part gives the other part. With the default groups the youth ratio's under-20s give the 18–19- and
    the 20–24-year-olds of the group 18–24, the young adults 18–29 the 25–29- and 30–44-year-olds.
    ``cells``: :func:`structure_cells` of the unprotected table."""
    groups = age_groups(catalogue.params)
    bounds = set(catalogue.params.age_group_lower_bounds)
    ids = [age_group_id(lo, hi) for lo, hi in groups]
    out: dict[str, pd.DataFrame] = {}
    for key, cell in catalogue.cells.items():
        population = cell.population
        if key not in cells.columns or population is None or not population.age_only:
            continue
        lo, hi = population.ages
        cut_lo, cut_hi = lo not in bounds, hi is not None and hi not in bounds
        if not (cut_lo or cut_hi) or not set(ids) <= set(cells.columns):
            continue
        inside = [g for g, (a, b) in zip(ids, groups) if a >= lo and (hi is None or (b is not None and b <= hi))]
        revealed = cells[key] - cells[inside].sum(axis=1)
        if cut_lo and cut_hi:
            out[key] = pd.DataFrame({f"{key}#cut": revealed})
            continue
        limit = lo if cut_lo else hi
        (a, b), around = next(((a, b), g) for g, (a, b) in zip(ids, groups) if a < limit and (b is None or limit < b))
        part, rest = (age_group_id(limit, b), age_group_id(a, limit)) if cut_lo else (
            age_group_id(a, limit), age_group_id(limit, b))
        out[key] = pd.DataFrame({part: revealed, rest: cells[around] - revealed})
    return out


def value_follows(ind: Indicator, catalogue: Catalogue, available: set[str] | pd.Index) -> tuple[str, ...]:
    """Cells (of ``available``) whose suppression a published value must follow: the published cells it
    gives back, and for a given-back cell that is not published itself, the cells of every declared
    relation it takes part in and the age groups its age band overlaps."""
    available = set(available)
    groups = age_groups(catalogue.params)
    out: dict[str, None] = {}
    for key in ind.gives_back:
        if key in available:  # a published cell: the value must not show it where it is suppressed
            out[key] = None
            continue
        # a cell not published itself: known from the value, it recovers the others of its relations
        related = [c for r in catalogue.relations_of(key) for c in r.cells]
        cell = catalogue.cells.get(key)
        if cell is not None and cell.population is not None and cell.population.age_only:
            lo, hi = cell.population.ages
            related += [age_group_id(a, b) for a, b in groups
                        if (hi is None or a < hi) and (b is None or lo < b)]
        out.update((c, None) for c in related if c in available)
    return tuple(out)


def _relation_tables(wide: pd.DataFrame, relations: Sequence[Relation]) -> tuple[list[tuple[list[str], bool]], list[Relation]]:
    """(columns, has total column) of every additive table — the relations whose cells are all in
    ``wide`` and add up there, and each column alone where its districts add up to the city — and the
    relations used."""
    tables, used = [], []
    for relation in relations:
        if all(c in wide.columns for c in relation.cells):
            parts = list(relation.parts)
            if np.allclose(wide[parts].sum(axis=1), wide[relation.total]):
                tables.append((parts + [relation.total], True))
                used.append(relation)
    # Only where the districts add up to the city (not e.g. in-movers, which for districts include
    # moves between districts) can a suppressed district be recovered by subtraction.
    values = wide.to_numpy(dtype=float)
    city = wide.index.get_loc(CITY)
    adds_up = np.isclose(np.delete(values, city, axis=0).sum(axis=0), values[city])
    tables += [([column], False) for column, ok in zip(wide.columns, adds_up) if ok]
    return tables, used


def relations_used(wide: pd.DataFrame, relations: Sequence[Relation]) -> list[Relation]:
    """The declared relations the suppression and the audit apply to ``wide`` (all cells present, additive)."""
    return _relation_tables(wide, relations)[1]


def nested_groups(relations: Sequence[Relation]) -> list[tuple[Relation, ...]]:
    """The relations that share cells, in groups of two or more (declaration order): the minors are a
    part of the residents' age groups and the total of their own; the residents with a migration
    background are a part of one relation and the total of another."""
    groups: list[list[Relation]] = []
    for relation in relations:
        linked = [g for g in groups if any(set(relation.cells) & set(r.cells) for r in g)]
        merged = [relation]
        for g in linked:
            groups.remove(g)
            merged = g + merged
        groups.append(merged)
    order = {r: i for i, r in enumerate(relations)}
    return [tuple(sorted(g, key=order.__getitem__)) for g in groups if len(g) > 1]


def _group_layout(group: Sequence[Relation]) -> tuple[list[str], TableLayout]:
    columns = list(dict.fromkeys(c for r in group for c in r.cells))
    position = {c: j for j, c in enumerate(columns)}
    lines = np.zeros((len(group), len(columns)))
    for i, relation in enumerate(group):
        lines[i, [position[p] for p in relation.parts]] = 1.0
        lines[i, position[relation.total]] = -1.0
    return columns, TableLayout((1, len(columns)), None, None, lines)


def nested_disclosures(wide: pd.DataFrame, mask: pd.DataFrame, groups: Sequence[Sequence[Relation]],
                       min_count: int, cache: dict | None = None) -> list[tuple[list[str], RecoveredCell]]:
    """Suppressed cells an intruder recovers (or pins into ``[1, min_count - 1]``) from the relations of
    one area taken together, where they share cells: the minors minus their published age groups and
    the residents minus all published age groups together give a suppressed adult group although
    each relation alone keeps two cells suppressed. The per-relation tables (:func:`audit`) see each
    relation alone; this LP audit solves each area's relations of a group at once.

    Only areas with a suppressed cell in two or more relations of a group are solved (where the
    relations share no suppressed cell, their equations are independent and each is audited alone).
    ``cache``: results by group, area and suppressed cells, kept between calls."""
    found = []
    cache = {} if cache is None else cache
    for number, group in enumerate(groups):
        columns, layout = _group_layout(group)
        hidden = mask[columns].to_numpy(dtype=bool)
        values = wide[columns].to_numpy(dtype=float)
        shared = (layout.relations != 0).sum(axis=0) >= 2
        for r in np.flatnonzero((hidden & shared).any(axis=1)):
            key = (number, wide.index[r], hidden[r].tobytes())
            if key not in cache:
                auditor = TableAuditor(values[r], layout)
                cache[key] = [(columns, RecoveredCell(wide.index[r], columns[k], lo, hi))
                              for k, lo, hi in auditor.disclosed(hidden[r][None, :], min_count)]
            found += cache[key]
    return found


def suppress_counts(wide: pd.DataFrame, config: DisclosureConfig, *, relations: Sequence[Relation],
                    primary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Primary and secondary suppression over all additive tables, iterated to a fixpoint.

    ``relations``: the declared relations (``catalogue.relations``, plus any a caller adds); a relation
    whose cells are not all in ``wide`` is left out. ``primary``: cells to suppress besides the small
    counts (True = suppress; zeros are never suppressed). Relations that share cells are also audited
    together for each area (:func:`nested_disclosures`); where that finds a cell, a published cell of
    its relations in that area (non-total, smallest first) is suppressed too and the tables are
    completed again."""
    tables, used = _relation_tables(wide, relations)
    return _suppress(wide, config, tables, used, primary)


def _suppress(wide: pd.DataFrame, config: DisclosureConfig, tables, used: Sequence[Relation],
              primary: pd.DataFrame | None) -> pd.DataFrame:
    values = wide.to_numpy()
    mask = pd.DataFrame((values >= 1) & (values < config.min_count), index=wide.index, columns=wide.columns)
    if primary is not None:
        mask |= primary.reindex(index=wide.index, columns=wide.columns, fill_value=False).astype(bool) & (wide != 0)
    groups = nested_groups(used)
    # A table whose mask is the one it was last completed to is safe as it is (the completion of a
    # safe mask adds nothing), so later rounds of the fixpoint only revisit tables that changed.
    completed: dict[int, np.ndarray] = {}
    nested_cache: dict = {}
    for _ in range(wide.size + 1):  # every round suppresses at least one more cell
        _complete_tables(wide, mask, tables, completed, config)
        found = nested_disclosures(wide, mask, groups, config.min_count, nested_cache)
        if not found:
            return mask
        done = set()
        for columns, cell in found:
            if cell.row in done:
                continue
            done.add(cell.row)
            group = next(g for g in groups if cell.col in {c for r in g for c in r.cells})
            # a published cell of a relation with it, else of any relation of the group
            related = [c for r in group if cell.col in r.cells for c in r.cells]
            related = list(dict.fromkeys([*related, *(c for r in group for c in r.cells)]))
            totals = {r.total for r in group}
            row = wide.loc[cell.row]
            candidates = [c for c in related if not mask.loc[cell.row, c] and row[c] > 0]
            if not candidates:  # pragma: no cover (with every cell suppressed nothing is bounded)
                raise RuntimeError(f"no cell left to suppress beside {cell.col} in {cell.row}")
            partner = min(candidates, key=lambda c: (c not in columns_of(cell.col, group), c in totals, row[c],
                                                     related.index(c)))
            mask.loc[cell.row, partner] = True
    raise RuntimeError("secondary suppression did not converge")  # pragma: no cover (bounded by cells)


def columns_of(column: str, group: Sequence[Relation]) -> set[str]:
    """The cells that share a relation of ``group`` with ``column``."""
    return {c for r in group if column in r.cells for c in r.cells}


def _complete_tables(wide: pd.DataFrame, mask: pd.DataFrame, tables, completed: dict[int, np.ndarray],
                     config: DisclosureConfig) -> None:
    """Complete every additive table's mask (in place), iterated until no table changes."""
    position = {c: j for j, c in enumerate(wide.columns)}
    values = wide.to_numpy(dtype=float).round().astype(np.int64)
    hidden = mask.to_numpy(dtype=bool, copy=True)
    for _ in range(50):
        changed = False
        for number, (columns, has_total) in enumerate(tables):
            cols = [position[c] for c in columns]
            current = hidden[:, cols]
            if not current.any():
                continue
            if number in completed and np.array_equal(completed[number], current):
                continue
            labels = [*columns[:-1], "total"] if has_total else list(columns)
            sub = pd.DataFrame(values[:, cols], index=wide.index, columns=labels)
            full = secondary_suppression(sub, pd.DataFrame(current, index=wide.index, columns=labels),
                                         row_total=True, col_total=has_total, min_count=config.min_count)
            new = full.to_numpy(dtype=bool)
            completed[number] = new
            if (new & ~current).any():
                hidden[:, cols] = current | new
                changed = True
        if not changed:
            mask.iloc[:, :] = hidden
            return
    raise RuntimeError("secondary suppression did not converge")  # pragma: no cover (bounded by cells)


def audit(wide: pd.DataFrame, mask: pd.DataFrame, config: DisclosureConfig, *,
          relations: Sequence[Relation]) -> list[tuple]:
    """Every (table columns, cell) an intruder could recover from the published cells and margins: in
    each declared relation and each column over the districts, and in each area's relations that
    share cells taken together (:func:`nested_disclosures`)."""
    found = []
    tables, used = _relation_tables(wide, relations)
    for columns, has_total in tables:
        sub = wide[columns].copy().astype(float)
        if has_total:
            sub = sub.rename(columns={columns[-1]: "total"})
        m = mask[columns].to_numpy()
        published = sub.mask(m)
        if not m.any():
            continue
        for cell in recoverable_cells(published, row_total=True, col_total=has_total, min_count=config.min_count):
            found.append((tuple(columns), cell))
    found += [(tuple(columns), cell) for columns, cell in
              nested_disclosures(wide, mask, nested_groups(used), config.min_count)]
    return found


def population_members(population: Population, persons: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the persons a declared population counts (vectorised)."""
    age = persons["age"].to_numpy(dtype=np.float64, na_value=np.nan)
    lo, hi = population.ages
    member = age >= lo
    if hi is not None:
        member &= age < hi
    if population.households != "all":
        in_household = persons["household_id"].notna().to_numpy()
        member &= in_household if population.households == "private" else ~in_household
    if population.sex is not None:
        from quarterstats.statistical_sex import is_female

        female = np.asarray(is_female(persons["person_id"], persons["sex"]), dtype=bool)
        member &= female if population.sex == "w" else ~female
    if population.mh_status:
        member &= persons["mh_status"].isin(population.mh_status).to_numpy(dtype=bool)
    if population.has_mh is not None:
        has_mh = persons["has_mh"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        member &= has_mh if population.has_mh else ~has_mh
    if population.origin_region is not None:
        member &= (persons["origin_region"] == population.origin_region).to_numpy(dtype=bool, na_value=False)
    if population.eg_status is not None:
        member &= (persons["eg_status"] == population.eg_status).to_numpy(dtype=bool, na_value=False)
    if population.address_known:
        member &= persons["moved_in_address"].notna().to_numpy()
    return member


class _CellLookup:
    """(published value, suppressed) of a cell for each row's district: the perturbed value where the cell
    is perturbed, else the count and its mask (NaN / False where the key is not a cell)."""

    def __init__(self, wide: pd.DataFrame, mask: pd.DataFrame, perturbed: pd.DataFrame):
        self.index = wide.index
        self.values = wide.to_numpy(dtype=float)
        self.hidden = mask.reindex(columns=wide.columns).to_numpy(dtype=bool)
        self.columns = {c: j for j, c in enumerate(wide.columns)}
        self.perturbed = perturbed.reindex(wide.index).to_numpy(dtype=float)
        self.perturbed_columns = {c: j for j, c in enumerate(perturbed.columns)}

    def positions(self, district: pd.Series) -> np.ndarray:
        """Row positions of the districts (-1 where not a row), for :meth:`__call__`."""
        return self.index.get_indexer(district)

    def __call__(self, district: pd.Series | np.ndarray, key: str | None) -> tuple[np.ndarray, np.ndarray]:
        """``district``: the districts, or their :meth:`positions`."""
        n = len(district)
        if key in self.perturbed_columns:
            source, j, hidden = self.perturbed, self.perturbed_columns[key], None
        elif key in self.columns:
            source, j, hidden = self.values, self.columns[key], self.hidden
        else:
            return np.full(n, np.nan), np.zeros(n, dtype=bool)
        rows = district if isinstance(district, np.ndarray) else self.positions(district)
        found = rows >= 0
        value = np.where(found, source[rows, j], np.nan)
        suppressed = np.zeros(n, dtype=bool) if hidden is None else found & hidden[rows, j]
        return value, suppressed


@dataclass
class ProtectionResult:
    published: pd.DataFrame  # the long table with value/numerator/denominator masked and a flag column
    count_mask: pd.DataFrame  # districts × count cells: True where suppressed
    counts: pd.DataFrame  # districts × count cells: the (possibly perturbed) counts behind the mask
    #: the declared relations the suppression applied (and :func:`audit` checks)
    relations: tuple[Relation, ...] = field(default_factory=tuple)
    #: cell key mode: districts × the perturbed cells (else empty)
    perturbed: pd.DataFrame = field(default_factory=pd.DataFrame)


def perturbed_person_counts(persons: pd.DataFrame, district_order: list[str], config: DisclosureConfig,
                            populations: Mapping[str, Population]) -> pd.DataFrame:
    """Cell key method: districts (+ city) × the cells of ``populations`` (cell id → population), perturbed."""
    keys = record_keys(persons["person_id"].astype(str), config.salt)
    ptable = perturbation_table(config.max_deviation, config.variance)
    district = pd.Categorical(persons["district_id"].astype("string"), categories=[d for d in district_order if d != CITY])
    codes = np.asarray(district.codes)
    n = len(district.categories)
    out = {}
    for key, population in populations.items():
        member = population_members(population, persons)
        group = np.where(member & (codes >= 0), codes, n)  # n = not in the cell
        counts = np.bincount(group, minlength=n + 1)[:n]
        ck = cell_keys(keys, group, n + 1)[:n]
        city_count = int(member.sum())
        city_key = cell_keys(keys[member], np.zeros(city_count, dtype=np.int64), 1) if city_count else np.zeros(1)
        out[key] = perturb(np.append(counts, city_count), np.append(ck, city_key[:1]), ptable)
    return pd.DataFrame(out, index=[*district.categories, CITY]).astype(float)


def protect_indicators(
    table: pd.DataFrame,
    config: DisclosureConfig,
    *,
    persons: pd.DataFrame | None = None,
    catalogue: Mapping[str, Indicator] | None = None,
    params: IndicatorParameters = IndicatorParameters(),
    relations: Sequence[Relation] = (),
    extra_mask: pd.DataFrame | None = None,
) -> ProtectionResult:
    """The long indicator table with everything that may not be published masked (NaN) and flagged.

    ``params``: those the table was computed with; the catalogue's structure (cells, relations, what a
    value gives back) and the milieu scores follow them. ``catalogue``: ``build_catalogue(params)``
    (the default) or one built with the same parameters. ``relations``: additive relations to protect
    besides the catalogue's. ``extra_mask``: areas × count cells to suppress besides the small counts
    (True = suppress; the linked protection of :mod:`.linked` passes the cells it needs hidden), completed
    by the same secondary suppression."""
    from quarterstats.indicators.milieu import CLASS_IDS as MILIEU_CLASS_IDS

    cat = structure_of(catalogue, params)
    all_relations = (*cat.relations, *relations)
    wide = count_cells(table, cat)
    cells = structure_cells(table, cat, wide)
    perturbed = pd.DataFrame(index=wide.index)
    if config.method == "cell_key":
        if persons is None:
            raise ValueError("the cell key method needs the persons table (record keys per person)")
        populations = {k: c.population for k, c in cat.cells.items()
                       if c.population is not None and k in cells.columns}
        perturbed = perturbed_person_counts(persons, list(wide.index), config, populations).reindex(wide.index)
    cuts = {k: v for k, v in age_cut_parts(cells, cat).items() if k not in perturbed.columns}
    small_cut = {k: ((v >= 1) & (v < config.min_count)).any(axis=1) for k, v in cuts.items()}
    primary = pd.DataFrame({k: small_cut[k] for k in small_cut if k in wide.columns}, index=wide.index)
    primary = primary.reindex(columns=wide.columns, fill_value=False).fillna(False).astype(bool)
    if extra_mask is not None:
        primary |= extra_mask.reindex(index=wide.index, columns=wide.columns, fill_value=False).fillna(False).astype(bool)
    for column in perturbed.columns.intersection(wide.columns):
        wide[column] = perturbed[column].fillna(0.0)
    other = [c for c in wide.columns if c not in perturbed.columns]
    mask = pd.DataFrame(False, index=wide.index, columns=wide.columns)
    used: list[Relation] = []
    if other:
        tables, used = _relation_tables(wide[other], all_relations)
        mask[other] = _suppress(wide[other], config, tables, used, primary[other])

    out = table.copy()
    for column in ("value", "numerator", "denominator"):
        out[column] = out[column].astype("float64")
    flag = np.where(out["value"].isna(), NOT_AVAILABLE, "").astype(object)
    available = set(wide.columns)
    cell_key = config.method == "cell_key"

    cell = _CellLookup(wide, mask, perturbed)

    def cut_small(district: pd.Series, keys) -> np.ndarray:
        hide = np.zeros(len(district), dtype=bool)
        for key in keys:
            if key in small_cut:
                hide |= small_cut[key].reindex(district).fillna(False).to_numpy(dtype=bool)
        return hide

    for indicator_id, idx in out.groupby("indicator", sort=False).groups.items():
        rows = out.loc[idx]
        ind = cat.get(indicator_id)
        kind = ind.kind if ind else "index"
        districts = rows["district_id"]
        at = cell.positions(districts)
        hide = np.zeros(len(rows), dtype=bool)
        if kind == "count":
            value, hide = cell(at, indicator_id)
            out.loc[idx, "value"] = np.where(rows["value"].isna(), np.nan, value)
            out.loc[idx, "numerator"] = out.loc[idx, "value"]
        elif kind == "share":
            num_key, den_key = _share_cells(ind)
            num, num_hidden = cell(at, num_key)
            den, den_hidden = cell(at, den_key)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(den > 0, 100.0 * num / den, np.nan)
            if cell_key and (num_key in perturbed.columns or den_key in perturbed.columns):
                out.loc[idx, "value"] = np.where(rows["value"].isna(), np.nan, share)
            out.loc[idx, "numerator"] = num
            out.loc[idx, "denominator"] = den
            min_den = (ind.min_denominator if ind and ind.min_denominator else config.min_denominator)
            hide = num_hidden | den_hidden | (den < max(min_den, config.min_denominator))
        else:
            numerator = rows["numerator"].to_numpy(dtype=float)
            denominator = rows["denominator"].to_numpy(dtype=float)
            publish_cells = False
            if cell_key and ind is not None:
                value, numerator, denominator, publish_cells, impossible = _from_published_cells(
                    ind, rows, numerator, denominator, cell, perturbed, wide, cat)
                out.loc[idx, "value"] = value
                hide |= impossible
            # The catalogue says where numerator and denominator are counts of persons or households
            # (a minimum denominator is set); a density's area or a score's z-values are not.
            min_den = ind.min_denominator if ind else None
            if min_den is not None and kind in ("ratio", "rate", "mean", "index"):
                small_num = (numerator >= 1) & (numerator < config.min_count)
                small_den = denominator < max(min_den, config.min_denominator)
                hide |= np.nan_to_num(small_num, nan=False).astype(bool) | np.nan_to_num(small_den, nan=False).astype(bool)
            if ind is not None:
                for key in value_follows(ind, cat, available):
                    hide |= cell(at, key)[1]
                hide |= cut_small(districts, ind.gives_back)
            if kind in ("score",) or indicator_id in MILIEU_CLASS_IDS:
                pop, _ = cell(at, "pop")
                too_small = np.nan_to_num(pop < config.min_population_composite, nan=True).astype(bool)
                out.loc[idx[too_small & (districts != CITY).to_numpy()], "value"] = np.nan
            # only the value of these kinds is published (in cell key mode also perturbed numerators
            # and denominators it was computed from)
            out.loc[idx, "numerator"] = numerator if publish_cells else np.nan
            out.loc[idx, "denominator"] = denominator if publish_cells else np.nan
        hide = np.asarray(hide, dtype=bool) & out.loc[idx, "value"].notna().to_numpy()
        out.loc[idx[hide], ["value", "numerator", "denominator"]] = np.nan
        flag[out.index.get_indexer(idx[hide])] = SUPPRESSED
    _milieu_from_published(out, table, flag, params)
    flag = np.where((flag == "") & out["value"].isna().to_numpy(), NOT_AVAILABLE, flag)
    out["flag"] = pd.array(flag, dtype="string")
    for column in ("change_previous", "change_baseline"):
        if column in out.columns:
            out[column] = np.nan  # recomputed from published values: published_changes()
    return ProtectionResult(out, mask, wide, tuple(used), perturbed)


def _from_published_cells(ind: Indicator, rows: pd.DataFrame, numerator: np.ndarray, denominator: np.ndarray,
                          cell, perturbed: pd.DataFrame, wide: pd.DataFrame, cat: Catalogue):
    """Cell key mode: a ratio, mean or rate computed from the published cells.

    Returns (value, numerator, denominator, publish them, suppress): where the numerator or denominator cell
    is perturbed the value is recomputed as ``scale × numerator / denominator`` from the published
    cells (a location quotient relative to the city's); where it gives back a perturbed cell it cannot
    be computed from, it is suppressed."""
    districts = rows["district_id"]
    keys = (ind.numerator_id, ind.denominator_id)
    touched = [k for k in keys if k in perturbed.columns]
    suppress = np.zeros(len(rows), dtype=bool)
    rows_value = rows["value"].to_numpy(dtype=float)
    if not touched:
        if any(k in perturbed.columns for k in ind.gives_back):
            suppress[:] = True
        return rows_value, numerator, denominator, False, suppress
    num = cell(districts, ind.numerator_id)[0] if ind.numerator_id in perturbed.columns or ind.numerator_id in wide.columns else numerator
    den = cell(districts, ind.denominator_id)[0] if ind.denominator_id in perturbed.columns or ind.denominator_id in wide.columns else denominator
    scale = SCALE_BY_UNIT.get(ind.unit, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, scale * num / den, np.nan)
        if ind.relative_to_city:
            city_num = cell(pd.Series([CITY]), ind.numerator_id)[0][0]
            city_den = cell(pd.Series([CITY]), ind.denominator_id)[0][0]
            value = value / (city_num / city_den) if city_num > 0 and city_den > 0 else np.full(len(rows), np.nan)
    counts = all(k in perturbed.columns or (k in wide.columns and cat.cells.get(k) and cat.cells[k].count)
                 for k in keys)
    return np.where(np.isnan(rows_value), np.nan, value), num, den, counts, suppress


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
    (districts too small) stay masked. The types are fitted here on this date's published scores and
    the dynamics class is left empty: :func:`published_changes` sets both from the first date's published
    scores and the published change of the status score
    (:func:`quarterstats.indicators.milieu.classes_over_time`)."""
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
        if key == "milieu_dynamics_class":  # no change known yet: not available, not suppressed
            out.loc[rows, "value"] = np.nan
            continue
        out.loc[rows, "value"] = np.where(shown, new, np.nan)
        flag[out.index.get_indexer(rows[shown & np.isnan(new)])] = SUPPRESSED


def published_changes(current: pd.DataFrame, previous: pd.DataFrame | None, baseline: pd.DataFrame | None,
                      catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """Changes against earlier dates from published values only (NaN where either side is suppressed)."""
    from quarterstats.indicators import add_changes

    columns = [c for c in current.columns if c not in ("change_previous", "change_baseline")]
    return add_changes(current[columns], previous, baseline, catalogue=catalogue)
