"""What the published files give away *together*: values at published precision, and city-level indices
and values computed from several counts only where all of those counts are published.

Each table of a date passes its own audit (:mod:`.indicators`, :func:`quarterstats.publication.pyramid_table`);
an intruder reads all of them at once. This module closes the channels between them:

* **Precision** — :func:`at_published_precision` rounds every value of a long table to the decimals the
  tables print (:func:`published_decimals`), and :func:`segregation_at_published_precision` the city-level
  indices; the figures draw only such values, so no SVG coordinate is more precise than a table.
* **City-level indices** — a segregation index, Moran's I or a LISA class of a group is a function of the
  group's count in every district and of the residents. :func:`publishable_segregation` publishes it only
  where all these counts are published (then it is a function of published values and adds nothing);
  else it is suppressed. The same rule for the per-district values that are computed from several
  counts: the origin diversity of an area follows its origin-region counts, a LISA class the group's
  counts in all districts (:func:`hide_values_of_suppressed_inputs`).
"""

from __future__ import annotations

import time
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from quarterstats.catalogue import (
    CATALOGUE, ORIGIN_REGIONS, SEGREGATION_GROUPS, Catalogue, Indicator, Population, display_decimals,
)
from quarterstats.indicators.common import CITY_ID as CITY

from quarterstats.signs import SUPPRESSED

#: The group id of the multigroup indices (all origin regions and the residents without MH).
MULTIGROUP = "origin_regions"
#: Decimals of the city-level indices in the report (D × 100 with one decimal, the others with three).
SEGREGATION_DECIMALS = {"seg_dissimilarity": 1}
SEGREGATION_DEFAULT_DECIMALS = 3
P_VALUE_DECIMALS = 3
#: Decimals a value is printed with in the workbook and the report, whichever is finer.
_DECIMALS_BY_KIND = {"count": 0, "share": 1, "ratio": 1, "rate": 1, "mean": 1, "index": 3, "score": 3}
_DECIMALS_BY_ID = {"household_size_mean": 2}
_REGION_COUNTS = tuple(f"origin_region_{code}" for code, _, _ in ORIGIN_REGIONS)


# ------------------------------------------------------------------------------------ precision
def published_decimals(indicator: str, kind: str) -> int | None:
    """Decimals with which the workbook and the report print a value (the finer of the two); None for
    class codes (published as they are)."""
    if indicator in CATALOGUE:
        return display_decimals(CATALOGUE[indicator])
    if kind == "class":
        return None
    if indicator in _DECIMALS_BY_ID:
        return _DECIMALS_BY_ID[indicator]
    if indicator.startswith("location_quotient_"):
        return 2
    return _DECIMALS_BY_KIND.get(kind, 3)


def at_published_precision(table: pd.DataFrame | None,
                           catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame | None:
    """Copy of a long table (``indicator``, ``value``, optionally ``change_previous``/``change_baseline``)
    with every value rounded to :func:`published_decimals`: what a figure may draw."""
    if table is None or len(table) == 0 or "indicator" not in table.columns:
        return table
    out = table.copy()
    indicators = out["indicator"].astype(str)
    kinds = out["kind"].astype(str) if "kind" in out.columns else \
        indicators.map(lambda i: catalogue[i].kind if i in catalogue else "index")
    decimals = pd.Series([published_decimals(i, k) for i, k in zip(indicators, kinds)], index=out.index)
    for column in ("value", "change_previous", "change_baseline"):
        if column not in out.columns:
            continue
        values = pd.to_numeric(out[column], errors="coerce").astype("float64")
        rounded = values.copy()
        for d in decimals.dropna().unique():
            rows = (decimals == d).to_numpy()
            rounded[rows] = np.round(values[rows].to_numpy(), int(d))
        out[column] = rounded
    return out


def segregation_at_published_precision(segregation: pd.DataFrame | None) -> pd.DataFrame | None:
    """Copy of a city-level index table (``index``, ``group``, ``value``, ``p_value``) rounded to the
    decimals of the report."""
    if segregation is None or len(segregation) == 0:
        return segregation
    out = segregation.copy()
    decimals = out["index"].astype(str).map(lambda i: SEGREGATION_DECIMALS.get(i, SEGREGATION_DEFAULT_DECIMALS))
    values = pd.to_numeric(out["value"], errors="coerce").astype("float64").to_numpy()
    out["value"] = [np.round(v, int(d)) for v, d in zip(values, decimals)]
    if "p_value" in out.columns:
        out["p_value"] = np.round(pd.to_numeric(out["p_value"], errors="coerce").astype("float64"), P_VALUE_DECIMALS)
    return out


# --------------------------------------------------------------------------- city-level indices
def segregation_inputs(group: str) -> tuple[str, ...]:
    """The count indicators a city-level index of ``group`` is computed from (in every district)."""
    if group == MULTIGROUP:  # origin regions of residents with MH + the residents without MH
        return ("pop", "with_mh", *_REGION_COUNTS)
    if group in ("foreign", "with_mh"):
        return ("pop", group)
    return ("pop", "origin_" + group)


def suppressed_inputs(published: pd.DataFrame) -> set[str]:
    """Count indicators with a suppressed (or missing) value in some area of one date's long table."""
    hidden = published["value"].isna() & (published["flag"].astype(str) == SUPPRESSED)
    return set(published.loc[hidden, "indicator"].astype(str))


def publishable_segregation(segregation: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """The city-level indices as they may be published: columns of ``segregation`` (``index``, ``group``,
    ``value``, ``p_value``, optionally ``reference_date``) and ``flag``.

    ``published``: the protected long table(s) of the same date(s) (``reference_date`` when several).
    An index of a group is published (rounded to the report's decimals) only where none of its input
    counts (:func:`segregation_inputs`) is suppressed in any area of its date; then it is a function of
    published values. Otherwise value and p-value are NaN and the flag is ``"*"``. This is the table the
    workbook and the report print and the figures draw."""
    out = segregation_at_published_precision(segregation).copy()
    by_date = "reference_date" in out.columns and "reference_date" in published.columns
    if by_date:
        hidden = {pd.Timestamp(d): suppressed_inputs(rows)
                  for d, rows in published.groupby("reference_date", sort=False)}
        dates = [pd.Timestamp(d) for d in out["reference_date"]]
        # a date without a published table: nothing is known to be publishable
        blocked = [None if d not in hidden else hidden[d] for d in dates]
    else:
        blocked = [suppressed_inputs(published)] * len(out)
    keep = np.array([b is not None and not (set(segregation_inputs(str(g))) & b)
                     for g, b in zip(out["group"], blocked)], dtype=bool)
    out["value"] = np.where(keep, out["value"], np.nan)
    if "p_value" in out.columns:
        out["p_value"] = np.where(keep, out["p_value"], np.nan)
    out["flag"] = pd.array(np.where(keep, "", SUPPRESSED), dtype="string")
    return out.reset_index(drop=True)


def hide_values_of_suppressed_inputs(published: pd.DataFrame) -> pd.DataFrame:
    """Copy of one date's protected long table (``district_id``, ``indicator``, ``value``,
    ``numerator``, ``denominator``, ``flag``) in which values computed from suppressed counts are
    suppressed as well: the origin diversity (Shannon, Simpson) of an area where one of its
    origin-region counts is suppressed, and the LISA classes of a group in every district where one of
    the group's counts (or the residents) is suppressed somewhere (a LISA class compares a district's
    share with its neighbours' and with permutations of all shares)."""
    out = published.copy()
    flag = out["flag"].astype("string").fillna("")
    indicator = out["indicator"].astype(str)
    hidden = out["value"].isna() & (flag == SUPPRESSED)
    regions_hidden = set(out.loc[hidden & indicator.isin(_REGION_COUNTS), "district_id"].astype(str))
    diversity = indicator.isin(["origin_diversity_shannon", "origin_diversity_simpson"]) & \
        out["district_id"].astype(str).isin(regions_hidden)
    blocked = suppressed_inputs(out)
    lisa = np.zeros(len(out), dtype=bool)
    for gid, _, _ in SEGREGATION_GROUPS:
        if set(segregation_inputs(gid)) & blocked:
            lisa |= (indicator == f"lisa_class_{gid}").to_numpy()
    hide = (diversity.to_numpy() | lisa) & out["value"].notna().to_numpy()
    columns = [c for c in ("value", "numerator", "denominator") if c in out.columns]
    out.loc[hide, columns] = np.nan
    flag = flag.to_numpy(dtype=object)
    flag[hide] = SUPPRESSED
    out["flag"] = pd.array(flag, dtype="string")
    return out



# ------------------------------------------------------------------------------ the linked system
#: What suppressing a published source costs the reader, cheapest first: a ratio's or mean's value (its
#: counts are published elsewhere or not at all), a share, a pyramid cell, a count, the residents.
SOURCE_COST = {"value": 0, "share": 1, "pyramid": 2, "count": 3, "top": 3}
RESIDENTS_COST = 4
#: Rows tried (cheapest first) for one that frees a target when no single row is essential to it.
TRIES = 4
#: Sources that are published already (the previous date) or are identities, never suppressed here.
FIXED = "fixed"


class PreviousDate(NamedTuple):
    """The residents of the previous reference date per area: as published (NaN where suppressed) and true."""

    published: pd.Series
    true: pd.Series

    @classmethod
    def from_tables(cls, published: pd.DataFrame, table: pd.DataFrame) -> "PreviousDate":
        """From the previous date's published long table and its unprotected indicator table."""
        def residents(frame: pd.DataFrame) -> pd.Series:
            rows = frame[frame["indicator"].astype(str) == "pop"]
            return pd.Series(pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float),
                             index=rows["district_id"].astype(str).to_numpy())
        return cls(residents(published), residents(table))


class _Atoms:
    """The persons of a date counted in atoms: area × age atom × household/institution × statistical sex
    × migration status × origin (region, or the country where a top-country count names it) ×
    immigration history × known address. The age atoms are cut at every age bound of a declared cell
    and of the pyramids. Only atoms with persons exist (an empty atom is a zero the reader knows)."""

    def __init__(self, persons: pd.DataFrame, districts: list[str], catalogue: Catalogue,
                 countries: Sequence[str]):
        from quarterstats.publication import _positions, pyramid_edges
        from quarterstats.statistical_sex import is_female

        bounds = {0}
        for cell in catalogue.cells.values():
            if cell.population is not None:
                lo, hi = cell.population.ages
                bounds.add(int(lo))
                if hi is not None:
                    bounds.add(int(hi))
        bounds |= {int(b) for b in pyramid_edges(CITY)} | {int(b) for b in pyramid_edges(districts[0] if districts else "")}
        self.bounds = np.array(sorted(bounds))
        n = len(persons)
        position = _positions(persons["district_id"], districts)
        self.outside = bool((position < 0).any())
        block = np.where(position >= 0, position, len(districts))
        age = np.searchsorted(self.bounds, persons["age"].to_numpy(dtype=np.int64), side="right") - 1
        female = np.asarray(is_female(persons["person_id"], persons["sex"]), dtype=np.int64)
        household = persons["household_id"].notna().to_numpy().astype(np.int64)
        address = persons["moved_in_address"].notna().to_numpy().astype(np.int64)
        has_mh = persons["has_mh"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        def codes(column: str) -> np.ndarray:  # category codes (missing: -1), without strings per person
            if column not in persons.columns:
                return np.full(n, -1, dtype=np.int64), pd.Index([])
            values = persons[column]
            if not isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype("category")
            return values.cat.codes.to_numpy().astype(np.int64), values.cat.categories

        country_codes, country_names = codes("bezugsland")
        wanted = np.flatnonzero(pd.Index(country_names.astype(str)).isin(list(countries)))
        named = np.isin(country_codes, wanted) & has_mh
        region_codes = codes("origin_region")[0]
        origin = np.where(named, country_codes, -2 - region_codes)  # a named country, else the region
        columns = [block, age, household, female, has_mh.astype(np.int64), codes("mh_status")[0], origin,
                   codes("eg_status")[0], address]
        # one integer key per person (mixed radix over the columns), then its unique values
        key = np.zeros(n, dtype=np.int64)
        for column in columns:
            shifted = column - column.min() if n else column
            key = key * (int(shifted.max()) + 1 if n else 1) + shifted
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        self.block = block[first]
        self.count = counts.astype(float)
        reps = persons.iloc[first].reset_index(drop=True)
        reps["age"] = self.bounds[age[first]]  # ages of the atom (all bounds are atom bounds)
        self.representatives = reps
        names = np.asarray(country_names.astype(str), dtype=object)
        self.country = np.where(country_codes[first] >= 0, names[np.maximum(country_codes[first], 0)] if len(names)
                                else "", "")
        self.named = named[first]
        self._countries: dict[str, np.ndarray] = {}

    def members(self, population: Population) -> np.ndarray:
        from .indicators import population_members

        cache = self.__dict__.setdefault("_members", {})
        if population not in cache:
            cache[population] = population_members(population, self.representatives)
        return cache[population]

    def of_country(self, code: str) -> np.ndarray:
        if code not in self._countries:
            self._countries[code] = self.named & (self.country == code)
        return self._countries[code]


class _Row(NamedTuple):
    key: tuple  # (area, what)
    vector: dict  # block -> vector over the block's unknowns
    providers: tuple  # sources that publish it (FIXED for identities)


class LinkedSystem:
    """One date's published numbers as linear rows over the atoms and the counts without a population
    (households, moves, births, the previous date's residents), in blocks per district; the city's
    numbers couple the blocks (the city is the sum of its districts). See :func:`build_linked_system`."""

    def __init__(self, areas: list[str], blocks: int):
        self.areas = areas
        self.n_blocks = blocks
        self.unknown_values: list[list[float]] = [[] for _ in range(blocks)]
        self.unknown_names: list[list[tuple]] = [[] for _ in range(blocks)]
        self.rows: dict[tuple, _Row] = {}
        self.sources: dict[tuple, float] = {}  # source -> cost (published sources only)
        self.source_value: dict[tuple, float] = {}
        self.targets: list[tuple[tuple, dict, str]] = []  # (name, vector, kind: "suppressed"/"derived")
        self.target_values: list[float] = []
        self.dropped: list[str] = []
        self.tiny: list[str] = []  # districts below the size at which anything is published

    def add_unknowns(self, block: int, names: list[tuple], values: np.ndarray) -> int:
        start = len(self.unknown_values[block])
        self.unknown_names[block] += names
        self.unknown_values[block] += [float(v) for v in values]
        return start

    def size(self, block: int) -> int:
        return len(self.unknown_values[block])

    def value(self, vector: dict) -> float:
        return float(sum(np.dot(v, np.asarray(self.unknown_values[b])[: len(v)]) for b, v in vector.items()))

    def add_row(self, key: tuple, vector: dict, source: tuple, cost: float, value: float = 0.0) -> None:
        if not vector:
            return
        if key in self.rows:
            row = self.rows[key]
            if source not in row.providers:
                self.rows[key] = row._replace(providers=row.providers + (source,))
        else:
            self.rows[key] = _Row(key, vector, (source,))
        if source[0] != FIXED:
            self.sources[source] = cost
            self.source_value[source] = value

    def add_target(self, name: tuple, vector: dict, kind: str) -> None:
        if vector:
            self.targets.append((name, vector, kind))


def _pad(vector: dict, system: LinkedSystem) -> dict:
    return {b: np.concatenate([v, np.zeros(system.size(b) - len(v))]) for b, v in vector.items()}


def build_linked_system(persons: pd.DataFrame, table: pd.DataFrame, published: pd.DataFrame,
                        pyramid: pd.DataFrame, catalogue: Catalogue, min_count: int,
                        previous: PreviousDate | None = None, cache: dict | None = None) -> LinkedSystem:
    """The linked system of one date, from the catalogue's declared cells.

    ``table``: the unprotected long table (true values); ``published``: the protected long table
    (``value`` NaN and ``flag`` "*" where suppressed); ``pyramid``: the published pyramid table
    (:func:`quarterstats.publication.pyramid_table`); ``previous``: the previous date's residents;
    ``cache``: a dict kept between calls on the same persons and table (what does not depend on what
    is published: the top countries, the cells' true values, the atoms).

    Unknowns: per district the atoms of its persons (:class:`_Atoms`) and the counts the catalogue
    declares without a population (households, moves, births, …, and the previous date's residents);
    a cell with a :class:`~quarterstats.catalogue.Population` is the sum of its atoms, the city's cells
    the sums over the districts (a count without a population where its districts add up to the city,
    else a city unknown of its own). Rows (what a reader has): every published count, a share's
    numerator and denominator, the cells a published ratio, mean or index gives back
    (``Indicator.gives_back``), every published pyramid cell, every published top-country count
    whose country is named, the previous date's published residents and the population balance
    (residents now = before + births + in-movers − out-movers, for districts ± moves between districts),
    wherever it holds on the true values. Targets: every suppressed count, pyramid cell and earlier
    residents' count (none may follow exactly), and the derived counts that are never published —
    every declared cell with a population, each age atom in total, by sex and by migration background
    (the pyramids' characteristics), the differences of nested declared cells (residents − residents
    aged 1+ = the infants), the persons of each named country — where they are 1 … ``min_count`` − 1."""
    from quarterstats.indicators import top_countries

    areas = list(dict.fromkeys(published["district_id"].astype(str)))
    districts = [a for a in areas if a != CITY]
    areas = districts + [CITY]
    n_top = catalogue.params.top_countries_n
    cache = {} if cache is None else cache
    if "top" not in cache:
        cache["top"] = top_countries(persons, n=n_top, districts=pd.DataFrame({"district_id": districts})) \
            if n_top else pd.DataFrame(columns=["district_id", "rank", "country", "count"])
    top = cache["top"]
    top_country = {(str(a), int(k)): str(c) for a, k, c in zip(top["district_id"], top["rank"], top["country"])}
    shown = published.assign(district_id=published["district_id"].astype(str), indicator=published["indicator"].astype(str))
    value_of = shown.set_index(["district_id", "indicator"])["value"]
    flag_of = shown.set_index(["district_id", "indicator"])["flag"].astype("string").fillna("")

    def is_published(area: str, indicator: str) -> bool:
        return pd.notna(value_of.get((area, indicator), np.nan))

    region_of = {}
    if "bezugsland" in persons.columns and len(top):
        pairs = persons.loc[persons["bezugsland"].isin(list(set(top["country"]))), ["bezugsland", "origin_region"]]
        region_of = dict(zip(pairs["bezugsland"].astype(str), pairs["origin_region"].astype(str)))

    def top_named(area: str, rank: int) -> str | None:
        """The country a published top-country count names (as :func:`quarterstats.tables.top_countries_published`:
        not where the count or the count of its origin region is suppressed)."""
        country = top_country.get((area, rank))
        if country is None or not is_published(area, f"top_country_{rank}"):
            return None
        region = region_of.get(country)
        return None if flag_of.get((area, f"origin_region_{region}"), "") == SUPPRESSED else country

    named = {(a, k): top_named(a, k) for a in areas for k in range(1, n_top + 1)}
    countries = sorted({c for c in named.values() if c})
    if ("atoms", tuple(countries)) not in cache:
        cache[("atoms", tuple(countries))] = _Atoms(persons, districts, catalogue, countries)
    atoms = cache[("atoms", tuple(countries))]
    n_person_blocks = len(districts) + (1 if atoms.outside else 0)
    city_block = n_person_blocks
    system = LinkedSystem(areas, n_person_blocks + 1)
    for b in range(n_person_blocks):
        idx = np.flatnonzero(atoms.block == b)
        system.add_unknowns(b, [("atom", int(j)) for j in idx], atoms.count[idx])
    system.atoms = atoms
    # atoms are sorted by block: each block's atoms are one slice
    edges = np.searchsorted(atoms.block, np.arange(n_person_blocks + 1))
    atom_index = [slice(int(edges[b]), int(edges[b + 1])) for b in range(n_person_blocks)]

    def atom_vector(area: str, member: np.ndarray) -> dict:
        blocks = range(n_person_blocks) if area == CITY else [districts.index(area)]
        out = {}
        for b in blocks:
            v = member[atom_index[b]].astype(float)
            if v.any():
                out[b] = v
        return out

    # cells: a population's atoms, or an unknown of its own
    from .indicators import structure_cells

    if "cells" not in cache:
        cache["cells"] = structure_cells(table, catalogue).reindex(areas)
    cells = cache["cells"]
    vectors: dict[tuple[str, str], dict] = {}
    standalone: dict[tuple[str, int], int] = {}
    members = {key: atoms.members(cell.population) for key, cell in catalogue.cells.items()
               if cell.population is not None and cell.count}
    for key, cell in catalogue.cells.items():
        if not cell.count or key not in cells.columns:
            continue
        true = cells[key].to_numpy(dtype=float)
        if key in members:
            sums = {a: atom_vector(a, members[key]) for a in areas}
            if all(np.isnan(t) or abs(system.value(sums[a]) - t) < 0.5 for a, t in zip(areas, true)):
                for a in areas:
                    vectors[(a, key)] = sums[a]
                continue
            system.dropped.append(f"{key}: the table's counts are not the counts of its population")
        district_values = np.nan_to_num(true[:-1])
        for i, a in enumerate(districts):
            if district_values[i] != 0:
                start = system.add_unknowns(i, [("cell", a, key)], [district_values[i]])
                vectors[(a, key)] = {i: start}
        if np.isnan(true[-1]) or true[-1] == 0:
            continue
        if np.isclose(district_values.sum(), true[-1]):
            vectors[(CITY, key)] = {i: vectors[(a, key)][i] for i, a in enumerate(districts) if (a, key) in vectors}
        else:
            vectors[(CITY, key)] = {city_block: system.add_unknowns(city_block, [("cell", CITY, key)], [true[-1]])}
    # the previous date's residents
    if previous is not None:
        before = previous.true.reindex(areas)
        for i, a in enumerate(districts):
            if pd.notna(before[a]) and before[a] != 0:
                vectors[(a, "#previous_pop")] = {i: system.add_unknowns(i, [("previous", a)], [before[a]])}
        if pd.notna(before[CITY]) and before[CITY] != 0:
            if np.isclose(before[districts].sum(), before[CITY]):
                vectors[(CITY, "#previous_pop")] = {i: vectors[(a, "#previous_pop")][i]
                                                    for i, a in enumerate(districts) if (a, "#previous_pop") in vectors}
            else:
                vectors[(CITY, "#previous_pop")] = {
                    city_block: system.add_unknowns(city_block, [("previous", CITY)], [before[CITY]])}

    def dense(vector: dict, sign: float = 1.0) -> dict:
        out = {}
        for b, v in vector.items():
            if isinstance(v, (int, np.integer)):
                e = np.zeros(v + 1)
                e[v] = 1.0
                v = e
            out[b] = sign * np.asarray(v, dtype=float)
        return out

    def combine(*terms: tuple[dict, float]) -> dict:
        out: dict = {}
        for vector, sign in terms:
            for b, v in dense(vector, sign).items():
                size = system.size(b)
                acc = out.setdefault(b, np.zeros(size))
                acc[: len(v)] += v
        return {b: v for b, v in out.items() if np.any(v != 0)}

    def cell_vector(area: str, key: str) -> dict | None:
        vector = vectors.get((area, key))
        return None if vector is None else combine((vector, 1.0))

    # ------------------------------------------------------------------ rows: what is published
    for (area, indicator), value in value_of.items():
        if area not in areas or pd.isna(value):
            continue
        ind = catalogue.get(indicator)
        if ind is None:
            continue
        if indicator.startswith("top_country_") and ind.kind == "count":
            country = named.get((area, int(indicator.rsplit("_", 1)[1])))
            if country:
                vector = atom_vector(area, atoms.of_country(country))
                system.add_row((area, ("country", country)), _pad(vector, system), ("top", area, indicator),
                               SOURCE_COST["top"], float(value))
            continue
        if ind.kind == "count":
            cells_given = [indicator]
            source, cost = ("count", area, indicator), RESIDENTS_COST if indicator == "pop" else SOURCE_COST["count"]
        elif ind.kind == "share":
            cells_given = [c for c in (ind.numerator_id, ind.denominator_id) if c]
            source, cost = ("share", area, indicator), SOURCE_COST["share"]
        else:
            cells_given = list(ind.gives_back)
            source, cost = ("value", area, indicator), SOURCE_COST["value"]
        for key in cells_given:
            vector = cell_vector(area, key)
            if vector:
                system.add_row((area, key), vector, source, cost, float(value))
    # pyramid cells
    from quarterstats.publication import pyramid_edges

    sex_code = {"m": 0, "w": 1}
    for area, rows in pyramid.groupby(pyramid["district_id"].astype(str), sort=False):
        if area not in areas:
            continue
        edges = pyramid_edges(area)
        for band, sex, mh, count, flag in zip(rows["age_band_order"], rows["sex"].astype(str), rows["mh"].astype(str),
                                              rows["count"], rows["flag"].astype("string").fillna("")):
            lo = int(edges[band])
            hi = int(edges[band + 1]) if band + 1 < len(edges) else None
            population = Population(ages=(lo, hi), sex=str(sex), has_mh=(mh == "mit MH"))
            vector = atom_vector(area, atoms.members(population))
            name = (area, ("pyramid", int(band), sex, mh))
            if pd.notna(count):
                system.add_row(name, vector, ("pyramid", area, int(band), sex, mh), SOURCE_COST["pyramid"], float(count))
            elif flag == SUPPRESSED:
                system.add_target(name, vector, "suppressed")
    # the previous date's residents and the population balance
    if previous is not None:
        flows = ("births", "in_movers", "out_movers", "intra_city_in", "intra_city_out")
        for a in areas:
            prior = vectors.get((a, "#previous_pop"))
            if prior is None:
                continue
            if pd.notna(previous.published.get(a, np.nan)):
                system.add_row((a, "#previous_pop"), combine((prior, 1.0)), (FIXED, "previous", a), np.inf)
            else:
                system.add_target((a, "#previous_pop"), combine((prior, 1.0)), "suppressed")
            used = flows if a != CITY else flows[:3]
            if not all((a, f) in vectors or cells.get(f) is not None and cells.loc[a, f] == 0
                       for f in used) or (a, "pop") not in vectors:
                continue
            signs = {"births": -1.0, "in_movers": -1.0, "out_movers": 1.0, "intra_city_in": -1.0, "intra_city_out": 1.0}
            terms = [(vectors[(a, "pop")], 1.0), (prior, -1.0)] + [(vectors[(a, f)], signs[f]) for f in used
                                                                     if (a, f) in vectors]
            balance = combine(*terms)
            if abs(system.value(balance)) > 0.5:
                system.dropped.append(f"{a}: the population balance does not hold")
                continue
            system.add_row((a, "#balance"), balance, (FIXED, "balance", a), np.inf)
    # ------------------------------------------------------------------------------ targets
    for (area, indicator), flag in flag_of.items():
        ind = catalogue.get(indicator)
        if area in areas and ind is not None and ind.kind == "count" and flag == SUPPRESSED \
                and not indicator.startswith("top_country_"):
            vector = cell_vector(area, indicator)
            if vector:
                system.add_target((area, indicator), vector, "suppressed")
    _derived_targets(system, atoms, atom_index, members, vectors, areas, districts, countries, min_count)
    # pad every vector to the final block sizes
    for key, row in list(system.rows.items()):
        system.rows[key] = row._replace(vector=_pad(row.vector, system))
    system.targets = [(name, _pad(vector, system), kind) for name, vector, kind in system.targets]
    system.target_values = [system.value(vector) for _, vector, _ in system.targets]
    return system


def _derived_targets(system: LinkedSystem, atoms: _Atoms, atom_index: list[np.ndarray], members: dict,
                     vectors: dict, areas: list[str], districts: list[str], countries: list[str],
                     min_count: int) -> None:
    """Add the derived counts of 1 … ``min_count`` − 1 as targets (see :func:`build_linked_system`); the
    values are counted for every area at once, vectors are built for the small ones only.

    A district of fewer than ``min_count`` residents publishes no count but its zeros: every count of
    it is small and suppressed, and every derived count of it is small; all stay targets (the
    districts are listed in ``system.tiny`` and in the statistics)."""
    reps = atoms.representatives
    n_blocks = len(atom_index)
    age_atom = np.searchsorted(atoms.bounds, reps["age"].to_numpy(dtype=np.int64), side="right") - 1
    # every derived count as a membership over the atoms: declared cells, nested differences, age atoms
    # by one other characteristic, named countries
    memberships: dict[tuple, np.ndarray] = {}
    for key, member in members.items():
        memberships[(key,)] = member.astype(np.int8)
    keys = list(members)
    for k1 in keys:
        for k2 in keys:
            if k1 != k2 and np.all(members[k1] <= members[k2]) and not np.array_equal(members[k1], members[k2]):
                memberships[(f"{k2} - {k1}",)] = (members[k2] & ~members[k1]).astype(np.int8)
    splits = {"": np.zeros(len(reps), dtype=np.int64),
              "sex": _female(reps).astype(np.int64),
              "mh": reps["has_mh"].astype("boolean").fillna(False).to_numpy(dtype=np.int64)}
    for name, split in splits.items():
        for age in np.unique(age_atom):
            for value in np.unique(split):
                member = (age_atom == age) & (split == value)
                if member.any():
                    memberships[("age", int(atoms.bounds[age]), name, int(value))] = member.astype(np.int8)
    for country in countries:
        memberships[("country", country)] = atoms.of_country(country).astype(np.int8)
    names = list(memberships)
    matrix = np.vstack([memberships[n] for n in names])  # derived × atoms (int8; atoms sorted by block)
    per_block = np.zeros((len(names), n_blocks))
    for b in range(n_blocks):
        per_block[:, b] = matrix[:, atom_index[b]] @ atoms.count[atom_index[b]]
    matrix_float = lambda i, b: matrix[i, atom_index[b]].astype(float)  # noqa: E731
    city = per_block.sum(axis=1)
    small = lambda v: (v >= 1) & (v < min_count)  # noqa: E731
    residents = per_block[names.index(("pop",))] if ("pop",) in memberships else per_block.sum(axis=0)
    for b, area in enumerate(districts):
        if residents[b] < min_count:  # below the size at which anything is published: see below
            system.tiny.append(area)
        for i in np.flatnonzero(small(per_block[:, b])):
            system.add_target((area, names[i]), {b: matrix_float(i, b)}, "derived")
    for i in np.flatnonzero(small(city)):
        system.add_target((CITY, names[i]), {b: matrix_float(i, b) for b in range(n_blocks)
                                             if matrix[i, atom_index[b]].any()}, "derived")


def _female(frame: pd.DataFrame) -> np.ndarray:
    from quarterstats.statistical_sex import is_female

    return np.asarray(is_female(frame["person_id"], frame["sex"]), dtype=bool)


def _row_cost(system: LinkedSystem, row: _Row, active: set) -> tuple:
    providers = [p for p in row.providers if p in active]
    area = row.key[0]
    return (max(system.sources[p] for p in providers), len(providers), area == CITY,
            max(system.source_value.get(p, 0.0) for p in providers), str(row.key))


def complete_linked(system: LinkedSystem, min_count: int, *, max_rounds: int = 500) -> tuple[set, dict]:
    """Secondary suppression against the whole linked system.

    While a target (a suppressed cell, or a derived count of 1 … ``min_count`` − 1) is determined by
    the published rows (:class:`.exactness.BlockSystem`), one published row of its derivation (the rows
    of the least-squares certificate) is withdrawn by suppressing every number that publishes it. The
    row is the cheapest (:data:`SOURCE_COST`: a ratio's value, a share, a pyramid cell, a count, the
    residents last; then district before city, the smallest value) among those whose withdrawal frees
    the target, tried in this order: rows of the target's own area that no other row of the area
    replaces, such rows of other areas, any row of the derivation (:data:`TRIES` of each); where none
    frees it alone, the cheapest of the first non-empty kind, and the target is tested again. A count
    or pyramid cell withdrawn becomes a suppressed cell that must not follow either. Each withdrawal
    updates the system at once (one block and the small coupling system) and the next target is tested
    against it; withdrawing rows only frees quantities, so a target found free is not tested again. A
    target with no published row left to withdraw (only the earlier date's residents and the identities
    remain) is listed as ``unresolved``. Returns (the sources to suppress, statistics)."""
    from .exactness import single_threaded

    with single_threaded():
        return _complete(system, min_count, max_rounds)


def _assemble(system: LinkedSystem):
    """The :class:`.exactness.BlockSystem` of a linked system: rows of one block are local, rows over
    several blocks (the city's) couple them. Returns (blocks, local row keys per block, coupling row
    keys, row key → (block or None, position))."""
    from .exactness import BlockSystem

    n_blocks = system.n_blocks
    sizes = [system.size(b) for b in range(n_blocks)]
    keys = list(system.rows)
    local_rows: list[list[tuple]] = [[] for _ in range(n_blocks)]
    coupling_rows: list[tuple] = []
    for key in keys:
        touched = [b for b, v in system.rows[key].vector.items() if np.any(v != 0)]
        if len(touched) == 1:
            local_rows[touched[0]].append(key)
        elif touched:
            coupling_rows.append(key)
    local = [np.array([system.rows[k].vector[b] for k in local_rows[b]]).reshape(len(local_rows[b]), sizes[b])
             for b in range(n_blocks)]
    coupling = [np.array([system.rows[k].vector.get(b, np.zeros(sizes[b])) for k in coupling_rows]
                         ).reshape(len(coupling_rows), sizes[b]) for b in range(n_blocks)]
    where = {k: (b, i) for b in range(n_blocks) for i, k in enumerate(local_rows[b])}
    where.update({k: (None, i) for i, k in enumerate(coupling_rows)})
    return BlockSystem(local, coupling), local_rows, coupling_rows, where


def _determined(blocks, targets: Sequence[tuple], pending: Sequence[int]) -> list[int]:
    """The targets (positions in ``targets``) among ``pending`` that the published rows determine."""
    determined = []
    single: dict[int, list[int]] = {}
    for t in pending:
        vector = targets[t][1]
        touched = [b for b, v in vector.items() if np.any(v != 0)]
        if len(touched) == 1:
            single.setdefault(touched[0], []).append(t)
        elif blocks.determined({b: vector[b] for b in touched}):
            determined.append(t)
    for b, ts in single.items():
        hit = blocks.determined_local(b, np.array([targets[t][1][b] for t in ts]))
        determined += [t for t, h in zip(ts, hit) if h]
    return sorted(determined)


def linked_disclosures(system: LinkedSystem) -> list[tuple]:
    """The audit: names of the targets of ``system`` (suppressed cells, derived counts of 1 …
    ``min_count`` − 1) that follow exactly from what it publishes. Empty = nothing recoverable."""
    from .exactness import single_threaded

    with single_threaded():
        blocks = _assemble(system)[0]
        return [system.targets[t][0] for t in _determined(blocks, system.targets, range(len(system.targets)))]


def _complete(system: LinkedSystem, min_count: int, max_rounds: int) -> tuple[set, dict]:
    keys = list(system.rows)
    started = time.perf_counter()
    blocks, local_rows, coupling_rows, where = _assemble(system)
    sizes = [system.size(b) for b in range(system.n_blocks)]
    active = set(system.sources)  # published sources
    by_source: dict[tuple, list[tuple]] = {}
    for key in keys:
        for p in system.rows[key].providers:
            by_source.setdefault(p, []).append(key)
    row_active = {k: True for k in keys}
    pending = list(range(len(system.targets)))
    targets = list(system.targets)
    suppressed: set = set()
    unresolved: list = []
    costs: dict = {}
    trace: list = []
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        determined = _determined(blocks, targets, pending)
        if not determined:
            pending = []
            break
        pending = sorted(determined)
        changed = False
        for t in pending:
            vector = targets[t][1]
            support = {b: v for b, v in vector.items() if np.any(v != 0)}
            if changed and not _determined(blocks, targets, [t]):
                continue  # freed by a row withdrawn for an earlier target
            cert_local, cert_coupling, cert_essential = blocks.certificate(support)
            used = [local_rows[b][i] for b, rows in cert_local.items() for i in rows] + \
                [coupling_rows[i] for i in cert_coupling]

            def removable(keys):
                return [k for k in keys if row_active[k] and all(p[0] != FIXED for p in system.rows[k].providers)]

            for k in removable(used):
                if k not in costs:
                    costs[k] = _row_cost(system, system.rows[k], active)
            own = removable([local_rows[b][i] for b, rows in cert_essential.items() if b in support for i in rows])
            other = removable([local_rows[b][i] for b, rows in cert_essential.items() if b not in support for i in rows])
            candidates = removable(used)
            if not candidates:
                unresolved.append(targets[t][0])
                continue
            essential = bool(own)
            # the cheapest row whose withdrawal frees it: rows its own area cannot replace first, then
            # those of other areas, then any row of the derivation; else the cheapest of the first kind
            tries: list = []
            for group in (own, other, candidates):
                tries += [k for k in sorted(group, key=costs.__getitem__) if k not in tries][:TRIES]
            choice = next((k for k in tries if blocks.frees(support, *where[k])), None)
            if choice is None:
                choice = min(own or other or candidates, key=costs.__getitem__)
            trace.append((targets[t][0], targets[t][2], choice, round(system.value(vector)), essential))
            drop_local: dict[int, list[int]] = {}
            drop_coupling: list[int] = []
            for source in [p for p in system.rows[choice].providers if p in active]:
                active.discard(source)
                suppressed.add(source)
                for key in by_source[source]:
                    costs.pop(key, None)
                    if row_active[key] and not any(p in active or p[0] == FIXED for p in system.rows[key].providers):
                        row_active[key] = False
                        b, i = where[key]
                        if b is None:
                            drop_coupling.append(i)
                        else:
                            drop_local.setdefault(b, []).append(i)
                if source[0] in ("count", "pyramid"):  # now a "*" cell: it must not follow either
                    for key in by_source[source]:
                        targets.append((key, system.rows[key].vector, "suppressed"))
                        pending.append(len(targets) - 1)
            blocks.drop(drop_local, drop_coupling)  # at once: the next target is tested against it
            changed = True
        done = set(unresolved)
        pending = [t for t in dict.fromkeys(pending) if targets[t][0] not in done]
    else:  # pragma: no cover (every round withdraws a row)
        raise RuntimeError("linked suppression did not converge")
    stats = {"rounds": rounds, "seconds_completion": round(time.perf_counter() - started, 2),
             "unknowns": int(sum(sizes)), "rows": len(keys), "coupling_rows": len(coupling_rows),
             "targets": len(system.targets), "withdrawn": len(suppressed),
             "decompositions": blocks.decompositions, "unresolved": [str(u) for u in unresolved],
             "dropped_relations": list(system.dropped), "trace": trace, "tiny_districts": list(system.tiny)}
    return suppressed, stats


class LinkedProtection(NamedTuple):
    """One date's protection completed against everything published of it together."""

    protection: object  # :class:`.indicators.ProtectionResult`, ``published`` with the withdrawn values hidden
    pyramid: pd.DataFrame  # the published pyramid table (:func:`quarterstats.publication.pyramid_table`)
    statistics: dict
    #: what :func:`build_linked_system` keeps between calls on the same date (for the publication's audit)
    cache: dict


def protect_linked(table: pd.DataFrame, persons: pd.DataFrame, config, catalogue: Catalogue,
                   previous: PreviousDate | None = None, *, order: Sequence[str] | None = None,
                   max_rounds: int = 20) -> LinkedProtection:
    """The protection of one date (suppression mode) completed against the linked system.

    Each round protects the indicator table (:func:`.indicators.protect_indicators`, with the counts the
    linked completion withdrew as further primary cells) and the pyramids
    (:func:`quarterstats.publication.pyramid_table`, likewise), builds the linked system of what they
    publish (:func:`build_linked_system`, with the previous date's residents and the population
    balance) and completes it (:func:`complete_linked`). Withdrawn shares, ratios and means are hidden
    in the published table; withdrawn counts and pyramid cells go back to the per-table protection,
    whose secondary suppression completes their tables, and the next round checks the result. The
    rounds end when the linked completion withdraws no count and no pyramid cell. ``order``: the areas
    in the order of the pyramid table (default: that of the indicator table's counts)."""
    from quarterstats.publication import pyramid_table

    from .indicators import protect_indicators

    start = time.perf_counter()
    cache: dict = {}
    extra_counts: pd.DataFrame | None = None
    extra_pyramid: dict[str, np.ndarray] = {}
    hidden: set[tuple[str, str]] = set()
    rounds: list[dict] = []
    for _ in range(max_rounds):
        protection = protect_indicators(table, config, catalogue=catalogue, params=catalogue.params,
                                        extra_mask=extra_counts)
        protection.published = hide_values(protection.published, sorted(hidden))
        pyramid = pyramid_table(persons, list(order or protection.counts.index), config, extra=extra_pyramid)
        built = time.perf_counter()
        system = build_linked_system(persons, table, protection.published, pyramid, catalogue, config.min_count,
                                     previous, cache)
        sources, stats = complete_linked(system, config.min_count)
        stats["seconds_build"] = round(time.perf_counter() - built, 2) - stats["seconds_completion"]
        rounds.append(stats)
        hidden |= {(s[1], s[2]) for s in sources if s[0] in ("share", "value")}
        counts = [s for s in sources if s[0] in ("count", "top")]
        cells = [s for s in sources if s[0] == "pyramid"]
        protection.published = hide_values(protection.published, sorted(hidden))
        if not counts and not cells:
            break
        if extra_counts is None:
            extra_counts = pd.DataFrame(False, index=protection.counts.index, columns=protection.counts.columns)
        for _, area, key in counts:
            extra_counts.loc[area, key] = True
        for _, area, band, sex, mh in cells:
            edges = len(pyramid[pyramid["district_id"].astype(str) == area]) // 4
            mask = extra_pyramid.setdefault(area, np.zeros((edges, 4), dtype=bool))
            mask[band, 2 * (sex == "w") + (mh == "ohne MH")] = True
    statistics = {
        "seconds": round(time.perf_counter() - start, 2), "rounds": len(rounds),
        "withdrawn": sum(r["withdrawn"] for r in rounds), "unresolved": rounds[-1]["unresolved"],
        "dropped_relations": rounds[-1]["dropped_relations"], "last": rounds[-1],
        "trace": [step for r in rounds for step in r["trace"]],
    }
    return LinkedProtection(protection, pyramid, statistics, cache)


def hide_values(published: pd.DataFrame, hidden: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Copy of a protected long table with the given (area, indicator) values suppressed ("*")."""
    out = published.copy()
    if not len(hidden):
        return out
    keys = pd.MultiIndex.from_frame(out[["district_id", "indicator"]].astype(str))
    hide = keys.isin(pd.MultiIndex.from_tuples(list(hidden))) & out["value"].notna().to_numpy()
    columns = [c for c in ("value", "numerator", "denominator") if c in out.columns]
    out.loc[hide, columns] = np.nan
    flag = out["flag"].astype("string").fillna("").to_numpy(dtype=object)
    flag[hide] = SUPPRESSED
    out["flag"] = pd.array(flag, dtype="string")
    return out
