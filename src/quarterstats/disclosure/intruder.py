"""An intruder who reads every published file of every reference date at once (and nothing else).

Each table passes its own disclosure audit when it is built; this module attacks the publication as a
whole, the way an outsider would: it reads only the machine-readable CSV files under a ``reports/``
folder (:func:`read_publication`) — the long indicator tables, the pyramids and the top reference
countries of every date, and the time series for dates whose folder is missing — never the
person-level data, and builds the linear system those numbers obey (:func:`build_model`):

* the additive relations the catalogue declares (``build_catalogue(params)``, with the parameters of
  the run), per area and date, and every count's districts adding up to the city;
* age *atoms*: per area and date, the residents of each age band between two consecutive age bounds
  that any published cell uses (age groups, pyramid bands, the youth, old-age and minor limits, the
  denominators aged 1+ and 5+, …), split by statistical sex and migration background. Every published
  cell of residents defined by age, sex and migration background only (the age groups, minors, young
  adults, men, women, with_mh, with_mh_minors, the residents aged 1+ of a denominator, the pyramids'
  cells, …) is the sum of its atoms, and the districts' atoms add up to the city's. Cells restricted
  further (foreign, an origin region, private households, a known address date) are at most the atoms
  of their age band;
* ratios, means, rates and location quotients give their numerator as the value × the denominator,
  within half a unit of the last digit written (``[v − h, v + h] × denominator / scale``), so whatever
  precision the files carry is what the intruder gets;
* the population balance across consecutive dates: residents now = residents before + births +
  in-movers + moves in from other districts − departures − moves out to other districts;
* top reference countries: a named country's count per district, the city's count the sum of the
  districts', and every country at most its origin region; where an area names fewer countries than it
  ranks, the others are 0; where it names all ranks, the others are at most the last rank's count.

A suppressed count is at least 1 (zeros are always published). For every suppressed count and for
every derived count (each age atom of an area, by migration background and by sex, and the count of a
country in an area that does not name it) :func:`attack` computes the interval the intruder can give
by linear programming (``scipy.optimize.linprog``, HiGHS, non-negativity, no integrality: the LP
relaxation is a weaker intruder, so whatever it finds is sound), decomposed into the connected
components of the system. A suppressed count is *recovered* where its interval holds one integer only;
a derived count is *small* where every integer of its interval lies in ``1 … min_count − 1``.

Cheap proofs first: every LP solution is a table that fits everything published, and a target seen at
values that make it safe (two integers apart and at 0 or ``min_count``; for a derived count, 0 or
``min_count``) needs no LP of its own. A few LPs with random objectives, then LPs that push all open
targets down together and up together (each capped at ``min_count``), settle most targets; each one
left is solved within its own area first (rows over that area's unknowns only: a relaxation, so an
exact result there is exact) and otherwise in its whole component.

A relation that the fully published values contradict (somewhere the definitions do not add up) is
dropped and named in :attr:`Model.dropped`, so a wrong assumption cannot make a false recovery.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, hstack, identity, vstack
from scipy.sparse.csgraph import connected_components

from quarterstats.catalogue import SCALE_BY_UNIT, Catalogue, IndicatorParameters, Population, build_catalogue
from quarterstats.indicators.common import CITY_ID as CITY
from quarterstats.errors import InputError
from quarterstats.signs import SUPPRESSED

__all__ = [
    "CHANNELS",
    "Attack",
    "Model",
    "Publication",
    "attack",
    "build_model",
    "read_publication",
    "run_intruder",
    "summary_lines",
]

#: The kinds of knowledge the model can use (all by default); leaving one out measures what it adds.
CHANNELS = ("relations", "districts", "atoms", "pyramids", "ratios", "balance", "top_countries")
SEXES = ("m", "w")
MH = (True, False)  # with, without migration background
MH_LABEL = {True: "mit MH", False: "ohne MH"}
_MH_OF_LABEL = {"mit MH": True, "ohne MH": False}
_EPS = 1e-6
_FLOWS_IN = ("births", "in_movers", "intra_city_in")
_FLOWS_OUT = ("out_movers", "intra_city_out")
_BAND = re.compile(r"^\s*(\d+)\s*[–-]\s*(\d+)\s*$")
_OPEN_BAND = re.compile(r"^\s*(\d+)\s*\+\s*$")


# ------------------------------------------------------------------------------------------ reading
@dataclass
class Publication:
    """What the published CSV files of a reports folder say, every reference date together.

    ``indicators``: ``reference_date`` (ISO text), ``district_id`` (``city`` for the city), ``indicator``,
    ``kind``, ``unit``, ``flag`` and for ``value``, ``numerator``, ``denominator`` the number (NaN where
    empty) and its half unit (``value_half`` …: half a unit of the last digit written).
    ``pyramids``: ``reference_date, district_id, lo, hi`` (age band, ``hi`` exclusive, NaN: open),
    ``sex``, ``mh`` (bool), ``count`` (NaN where suppressed), ``flag``.
    ``countries``: ``reference_date, district_id, rank, country_code, name_flag, count, flag``."""

    root: Path
    indicators: pd.DataFrame
    pyramids: pd.DataFrame
    countries: pd.DataFrame
    files: list[Path] = field(default_factory=list)

    @property
    def dates(self) -> list[str]:
        return sorted(self.indicators["reference_date"].unique())


def _number(text: str) -> tuple[float, float]:
    """A number as written and half a unit of its last digit written (NaN, NaN for an empty cell)."""
    text = text.strip()
    if not text:
        return np.nan, np.nan
    number = Decimal(text)  # InvalidOperation for text that is not a number
    if not number.is_finite():
        raise InvalidOperation(text)
    return float(number), 0.5 * 10.0 ** number.as_tuple().exponent


def _read_csv(path: Path, required: Iterable[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot be read as the machine CSV of the publication: {exc}", file=path,
                         rule="intruder.csv") from None
    for column in required:
        if column not in frame.columns:
            raise InputError("a column of the published table is missing", file=path, column=column,
                             rule="intruder.columns")
    return frame


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    values = np.full(len(frame), np.nan)
    halves = np.full(len(frame), np.nan)
    texts = frame[column].to_numpy(dtype=object)
    for text in np.unique(texts):  # few distinct texts per column; Decimal keeps the digits written
        try:
            number, half = _number(str(text))
        except InvalidOperation:
            raise InputError(f"not a number: {str(text)[:40]!r}", file=path, column=column,
                             rule="intruder.number") from None
        rows = texts == text
        values[rows], halves[rows] = number, half
    return values, halves


def _indicator_table(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    out = frame[["reference_date", "district_id", "indicator", "kind", "unit", "flag"]].copy()
    for column in ("value", "numerator", "denominator"):
        # classes are codes, not numbers: only their flag matters here
        numeric = frame[column].where(frame["kind"] != "class", "")
        out[column], out[f"{column}_half"] = _numbers(numeric.to_frame(column), column, path)
    return out


def _band(label: str, path: Path) -> tuple[int, float]:
    match = _BAND.match(label)
    if match:
        return int(match.group(1)), float(int(match.group(2)) + 1)
    match = _OPEN_BAND.match(label)
    if match:
        return int(match.group(1)), np.nan
    raise InputError(f"age band {label[:40]!r} is neither 'a–b' nor 'a+'", file=path, column="age_band",
                     rule="intruder.age_band")


def read_publication(reports: str | Path) -> Publication:
    """Read the machine CSV files of every reference date under ``reports`` (``<date>/indikatoren.csv``,
    ``alterspyramide.csv``, ``bezugslaender.csv``) and the time series ``zeitreihe.csv`` for any date
    without a folder. Raises :class:`InputError` naming the file and column for a file that does not
    read as the publication's format."""
    root = Path(reports)
    if not root.is_dir():
        raise InputError("no reports folder here", file=root, rule="intruder.folder")
    indicators, pyramids, countries, files = [], [], [], []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name))
    for folder in folders:
        path = folder / "indikatoren.csv"
        if not path.is_file():
            continue
        frame = _read_csv(path, ("reference_date", "district_id", "indicator", "kind", "unit", "value",
                                 "numerator", "denominator", "flag"))
        indicators.append(_indicator_table(frame, path))
        files.append(path)
        path = folder / "alterspyramide.csv"
        if path.is_file():
            frame = _read_csv(path, ("district_id", "age_band", "sex", "mh", "count", "flag"))
            bands = {label: _band(label, path) for label in frame["age_band"].unique()}
            count, _ = _numbers(frame, "count", path)
            mh = frame["mh"].map(_MH_OF_LABEL)
            if mh.isna().any():
                raise InputError("migration background must be 'mit MH' or 'ohne MH'", file=path, column="mh",
                                 rule="intruder.mh")
            pyramids.append(pd.DataFrame({
                "reference_date": folder.name, "district_id": frame["district_id"],
                "lo": frame["age_band"].map(lambda b: bands[b][0]).astype(int),
                "hi": frame["age_band"].map(lambda b: bands[b][1]).astype(float),
                "sex": frame["sex"], "mh": mh.astype(bool), "count": count, "flag": frame["flag"],
            }))
            files.append(path)
        path = folder / "bezugslaender.csv"
        if path.is_file():
            frame = _read_csv(path, ("reference_date", "district_id", "rank", "country_code", "name_flag",
                                     "count", "flag"))
            count, _ = _numbers(frame, "count", path)
            rank, _ = _numbers(frame, "rank", path)
            if np.isnan(rank).any() or (rank != np.round(rank)).any():
                raise InputError("a rank must be a whole number", file=path, column="rank", rule="intruder.rank")
            countries.append(pd.DataFrame({
                "reference_date": frame["reference_date"], "district_id": frame["district_id"],
                "rank": rank.astype(int), "country_code": frame["country_code"],
                "name_flag": frame["name_flag"], "count": count, "flag": frame["flag"],
            }))
            files.append(path)
    series = root / "zeitreihe.csv"
    if series.is_file():
        frame = _read_csv(series, ("reference_date", "district_id", "indicator", "kind", "unit", "value",
                                   "numerator", "denominator", "flag"))
        seen = {folder.name for folder in folders if (folder / "indikatoren.csv").is_file()}
        extra = frame[~frame["reference_date"].isin(seen)]
        if len(extra):
            indicators.append(_indicator_table(extra.reset_index(drop=True), series))
        files.append(series)
    if not indicators:
        raise InputError("no published indicator table (<date>/indikatoren.csv or zeitreihe.csv)", file=root,
                         rule="intruder.folder")
    empty_pyramid = pd.DataFrame(columns=["reference_date", "district_id", "lo", "hi", "sex", "mh", "count", "flag"])
    empty_countries = pd.DataFrame(columns=["reference_date", "district_id", "rank", "country_code", "name_flag",
                                            "count", "flag"])
    return Publication(
        root,
        pd.concat(indicators, ignore_index=True),
        pd.concat(pyramids, ignore_index=True) if pyramids else empty_pyramid,
        pd.concat(countries, ignore_index=True) if countries else empty_countries,
        files,
    )


# --------------------------------------------------------------------------------------- the model
@dataclass
class Target:
    """A count the intruder tries to pin, as ``coefficients`` of model variables. ``kind``:
    ``"suppressed"`` (a count published as ``*``; its unknown is at least 1, since zeros are published),
    ``"hidden"`` (the numerator or denominator of a value published as ``*``, not published elsewhere) or
    ``"derived"`` (never published as such)."""

    kind: str
    reference_date: str
    district_id: str
    what: str
    coefficients: dict[int, float]
    #: what is counted, for readers and checks: ``cell`` (a catalogue cell id), or ``lo``/``hi``/``sex``/``mh``
    #: (residents of an age band, ``hi`` exclusive or None), or ``country`` (a reference country), or
    #: ``rank`` (a top-country rank)
    spec: dict = field(default_factory=dict)


@dataclass
class Model:
    """The intruder's linear system: variables with bounds and rows ``lo ≤ a·x ≤ hi``."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    names: list[tuple] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    #: relations left out because the published values contradict them: (family, where)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    index: dict[tuple, int] = field(default_factory=dict)

    def var(self, key: tuple, lower: float = 0.0, upper: float = np.inf) -> int:
        if key not in self.index:
            self.index[key] = len(self.lower)
            self.lower.append(lower)
            self.upper.append(upper)
            self.names.append(key)
        return self.index[key]

    def fix(self, key: tuple, value: float) -> int:
        j = self.var(key)
        self.lower[j] = self.upper[j] = float(value)
        return j

    def at_least(self, j: int, value: float) -> None:
        self.lower[j] = max(self.lower[j], value)

    def add(self, coefficients: dict[int, float], lo: float, hi: float, family: str) -> None:
        coefficients = {j: c for j, c in coefficients.items() if c != 0.0}
        if coefficients:
            self.rows.append((coefficients, lo, hi, family))

    def fixed(self, j: int) -> bool:
        return self.lower[j] == self.upper[j]

    def row_holds(self, coefficients: dict[int, float], lo: float, hi: float) -> bool | None:
        """Whether a row holds where all its variables are published (None: some are not)."""
        if not all(self.fixed(j) for j in coefficients):
            return None
        total = sum(c * self.lower[j] for j, c in coefficients.items())
        return lo - 1e-6 <= total <= hi + 1e-6


def _expr(*terms: tuple[int, float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for j, c in terms:
        out[j] = out.get(j, 0.0) + c
    return out


def _atom_population(population: Population | None) -> bool:
    """True where a cell counts residents defined by age, statistical sex and migration background only."""
    return (population is not None and population.households == "all" and population.mh_status == ()
            and population.origin_region is None and population.eg_status is None and not population.address_known)


def _has_mh(population: Population) -> bool | None:
    """Migration background a population implies (None: either)."""
    if population.has_mh is not None:
        return population.has_mh
    if population.origin_region is not None:
        return True
    if population.mh_status:
        if set(population.mh_status) <= {"foreign", "german_personal_mh", "german_familial_mh"}:
            return True
        if set(population.mh_status) == {"german_no_mh"}:
            return False
    return None


class _Builder:
    """Builds the :class:`Model` of one publication (see :func:`build_model`)."""

    def __init__(self, publication: Publication, catalogue: Catalogue, channels: frozenset[str]):
        self.pub = publication
        self.cat = catalogue
        self.channels = channels
        self.model = Model()
        self.count_cells = {k for k, c in catalogue.cells.items() if c.count and not k.startswith("top_country_")}
        self.suppressed: set[tuple[str, str, str]] = set()
        self.hidden_parts: set[tuple[str, str, str]] = set()

    # cells ----------------------------------------------------------------------------------------
    def cell(self, day: str, area: str, key: str) -> int:
        return self.model.var(("cell", day, area, key))

    def known_cells(self) -> None:
        table = self.pub.indicators
        for row in table.itertuples(index=False):
            day, area, key, flag = row.reference_date, row.district_id, row.indicator, row.flag
            ind = self.cat.get(key)
            if ind is None or key.startswith("top_country_"):
                continue
            if ind.kind == "count" and key in self.count_cells:
                if not np.isnan(row.value):
                    self.model.fix(("cell", day, area, key), row.value)
                elif flag == SUPPRESSED:
                    self.suppressed.add((day, area, key))
                continue
            for cell_id, value in ((ind.numerator_id, row.numerator), (ind.denominator_id, row.denominator)):
                if cell_id in self.count_cells:
                    if not np.isnan(value):
                        self.model.fix(("cell", day, area, cell_id), value)
                    elif flag == SUPPRESSED:
                        self.hidden_parts.add((day, area, cell_id))

    def areas(self, day: str) -> list[str]:
        rows = self.pub.indicators[self.pub.indicators["reference_date"] == day]
        return list(dict.fromkeys(rows["district_id"]))

    # relations ------------------------------------------------------------------------------------
    def add_checked(self, rows: list[tuple[dict[int, float], float, float]], family: str, where: str) -> None:
        """Add rows of one relation family unless a fully published instance contradicts them."""
        for coefficients, lo, hi in rows:
            if self.model.row_holds(coefficients, lo, hi) is False:
                self.model.dropped.append((family, where))
                return
        for coefficients, lo, hi in rows:
            self.model.add(coefficients, lo, hi, family)

    def relations(self, day: str, areas: list[str]) -> None:
        if "relations" not in self.channels:
            return
        for relation in self.cat.relations:
            if not set(relation.cells) <= self.count_cells:
                continue
            rows = [(_expr((self.cell(day, a, relation.total), 1.0),
                           *((self.cell(day, a, p), -1.0) for p in relation.parts)), 0.0, 0.0) for a in areas]
            self.add_checked(rows, f"relation {relation.name}", day)
        # household subsets and the private-household part of a group: never more than the whole
        subsets = [("single_person_households", "households"), ("households_with_minors", "households"),
                   ("households_with_mh", "households"), ("single_parent_households", "households_with_minors")]
        for part, whole in subsets:
            if part in self.count_cells and whole in self.count_cells:
                for a in areas:
                    self.model.add(_expr((self.cell(day, a, whole), 1.0), (self.cell(day, a, part), -1.0)),
                                   0.0, np.inf, "households")

    def district_sums(self, day: str, areas: list[str]) -> None:
        if "districts" not in self.channels or CITY not in areas:
            return
        districts = [a for a in areas if a != CITY]
        for key in sorted(self.count_cells):
            row = _expr((self.cell(day, CITY, key), 1.0), *((self.cell(day, d, key), -1.0) for d in districts))
            self.add_checked([(row, 0.0, 0.0)], f"districts add up to the city ({key})", day)

    # atoms ----------------------------------------------------------------------------------------
    def bounds(self, day: str, areas: list[str]) -> dict[str, list[int]]:
        """Age bounds of the atoms per area: those of the catalogue's cells and of the area's pyramid.
        The districts' atoms are coarser than the city's (no 5-year bands); a district atom is split
        among the city's atoms only through the city's sum, which loses nothing (any split of totals
        that agree is feasible)."""
        common = {0}
        for cell in self.cat.cells.values():
            if cell.population is not None and cell.id in self.count_cells:
                lo, hi = cell.population.ages
                common.add(lo)
                if hi is not None:
                    common.add(hi)
        pyr = self.pub.pyramids[self.pub.pyramids["reference_date"] == day]
        out = {}
        for area in areas:
            rows = pyr[pyr["district_id"] == area] if area != CITY else pyr
            out[area] = sorted(common | {int(v) for v in rows["lo"].unique()} | {int(v) for v in rows["hi"].dropna().unique()})
        return out

    def atoms_of(self, day: str, area: str, bounds: dict[str, list[int]], lo: int, hi: float | None,
                 sex: str | None, mh: bool | None) -> list[int]:
        edges = bounds[area]
        top = None if hi is None or np.isnan(hi) else int(hi)
        return [self.model.var(("atom", day, area, a, s, m))
                for a in edges if a >= lo and (top is None or a < top)
                for s in SEXES if sex in (None, s) for m in MH if mh in (None, m)]

    def atoms(self, day: str, areas: list[str]) -> dict[str, list[int]]:
        if "atoms" not in self.channels:
            return {}
        bounds = self.bounds(day, areas)
        cells = {k: c.population for k, c in self.cat.cells.items()
                 if k in self.count_cells and c.population is not None}
        for area in areas:
            for key, population in cells.items():
                lo, hi = population.ages
                mh = _has_mh(population)
                atoms = self.atoms_of(day, area, bounds, lo, hi, population.sex, mh)
                cell = self.cell(day, area, key)
                row = _expr((cell, 1.0), *((j, -1.0) for j in atoms))
                if _atom_population(population):
                    self.model.add(row, 0.0, 0.0, "atoms")
                else:  # restricted further: at most the residents of its age band, sex and background
                    self.model.add(row, -np.inf, 0.0, "atoms")
        residents_add_up = ("districts add up to the city (pop)", day) not in self.model.dropped
        if "districts" in self.channels and CITY in areas and residents_add_up:
            districts = [a for a in areas if a != CITY]
            edges = sorted(set.intersection(*(set(bounds[d]) for d in districts))) if districts else []
            for lo, hi in zip(edges, edges[1:] + [None]):
                for s in SEXES:
                    for m in MH:
                        city = self.atoms_of(day, CITY, bounds, lo, hi, s, m)
                        parts = [self.atoms_of(day, d, bounds, lo, hi, s, m) for d in districts]
                        self.model.add(_expr(*((j, 1.0) for j in city),
                                             *((j, -1.0) for atoms in parts for j in atoms)),
                                       0.0, 0.0, "atoms add up to the city")
        return bounds

    def pyramids(self, day: str, bounds: dict[str, list[int]]) -> None:
        if "pyramids" not in self.channels or "atoms" not in self.channels:
            return
        pyr = self.pub.pyramids[self.pub.pyramids["reference_date"] == day]
        for row in pyr.itertuples(index=False):
            atoms = self.atoms_of(day, row.district_id, bounds, int(row.lo), row.hi, row.sex, bool(row.mh))
            hi = "+" if np.isnan(row.hi) else f"–{int(row.hi) - 1}"
            key = ("pyramid", day, row.district_id, int(row.lo), row.sex, bool(row.mh))
            if not np.isnan(row.count):
                self.model.add(_expr(*((j, 1.0) for j in atoms)), row.count, row.count, "pyramids")
                continue
            j = self.model.var(key)
            self.model.add(_expr((j, 1.0), *((a, -1.0) for a in atoms)), 0.0, 0.0, "pyramids")
            if row.flag == SUPPRESSED:
                self.model.at_least(j, 1.0)
                self.model.targets.append(Target(
                    "suppressed", day, row.district_id,
                    f"Alterspyramide {int(row.lo)}{hi} {row.sex} {MH_LABEL[bool(row.mh)]}", {j: 1.0},
                    {"lo": int(row.lo), "hi": None if np.isnan(row.hi) else int(row.hi), "sex": row.sex,
                     "mh": bool(row.mh)}))

    # ratios ---------------------------------------------------------------------------------------
    def quotient(self, numerator: dict[int, float], denominator: dict[int, float], value: float, half: float,
                 scale: float, family: str) -> None:
        """``numerator / denominator × scale`` lies in ``[value − half, value + half]`` (denominator > 0)."""
        low, high = (value - half) / scale, (value + half) / scale
        row_low = dict(numerator)
        row_high = dict(numerator)
        for j, c in denominator.items():
            row_low[j] = row_low.get(j, 0.0) - low * c
            row_high[j] = row_high.get(j, 0.0) - high * c
        self.model.add(row_low, 0.0, np.inf, family)
        self.model.add(row_high, -np.inf, 0.0, family)

    def ratios(self, day: str, previous: str | None) -> None:
        if "ratios" not in self.channels:
            return
        table = self.pub.indicators[self.pub.indicators["reference_date"] == day]
        kinds = ("ratio", "rate", "mean", "share")
        rows = table[table["kind"].isin(kinds) & table["value"].notna()]
        for row in rows.itertuples(index=False):
            ind = self.cat.get(row.indicator)
            if ind is None:
                continue
            scale = SCALE_BY_UNIT.get(row.unit, 1.0)
            num_id, den_id = ind.numerator_id, ind.denominator_id
            if row.indicator in ("turnover", "net_migration"):
                if previous is None:
                    continue
                area = row.district_id
                flows_in = [self.cell(day, area, k) for k in _FLOWS_IN[1:] if k in self.count_cells]
                flows_out = [self.cell(day, area, k) for k in _FLOWS_OUT if k in self.count_cells]
                if area == CITY:  # moves within the city are no migration for the city
                    flows_in = [self.cell(day, area, "in_movers")]
                    flows_out = [self.cell(day, area, "out_movers")]
                sign = 1.0 if row.indicator == "turnover" else -1.0
                numerator = _expr(*((j, 1.0) for j in flows_in), *((j, sign) for j in flows_out))
                denominator = _expr((self.cell(previous, area, "pop"), 0.5), (self.cell(day, area, "pop"), 0.5))
                self.quotient(numerator, denominator, row.value, row.value_half, scale, f"ratio {row.indicator}")
                continue
            if ind.relative_to_city:  # (group / residents) / (the city's group / the city's residents)
                if row.district_id == CITY:
                    continue
                group_city = self._city_value(day, num_id)
                pop_city = self._city_value(day, "pop")
                if not (group_city and pop_city):
                    continue
                scale = pop_city / group_city
            if num_id not in self.count_cells or den_id not in self.count_cells:
                continue
            if ind.kind == "share" and not np.isnan(row.numerator):
                continue  # numerator and denominator are published: the value adds nothing
            self.quotient({self.cell(day, row.district_id, num_id): 1.0},
                          {self.cell(day, row.district_id, den_id): 1.0}, row.value, row.value_half, scale,
                          f"ratio {row.indicator}")

    def _city_value(self, day: str, key: str) -> float | None:
        j = self.model.index.get(("cell", day, CITY, key))
        return self.model.lower[j] if j is not None and self.model.fixed(j) else None

    # across dates ---------------------------------------------------------------------------------
    def balance(self, day: str, previous: str, areas: list[str]) -> None:
        if "balance" not in self.channels:
            return
        table = self.pub.indicators[self.pub.indicators["reference_date"] == day]
        if not set(_FLOWS_IN + _FLOWS_OUT) <= set(table["indicator"]) or \
                not set(_FLOWS_IN + _FLOWS_OUT) <= self.count_cells:
            return
        rows = []
        for area in areas:
            rows.append((_expr((self.cell(day, area, "pop"), 1.0), (self.cell(previous, area, "pop"), -1.0),
                               *((self.cell(day, area, k), -1.0) for k in _FLOWS_IN),
                               *((self.cell(day, area, k), 1.0) for k in _FLOWS_OUT)), 0.0, 0.0))
        self.add_checked(rows, "population balance", f"{previous} → {day}")

    # top countries --------------------------------------------------------------------------------
    def top_countries(self, day: str, areas: list[str]) -> None:
        if "top_countries" not in self.channels:
            return
        from quarterstats.countries import origin_region

        top = self.pub.countries[self.pub.countries["reference_date"] == day]
        if top.empty:
            return
        named = top[(top["name_flag"] != SUPPRESSED) & (top["country_code"] != "")]
        codes = sorted(named["country_code"].unique())
        regions = dict(zip(codes, origin_region(pd.Series(codes), day)))
        country = {}  # (area, code) -> variable
        for area in areas:
            for code in codes:
                country[area, code] = self.model.var(("country", day, area, code))
        for area, rows in top.groupby("district_id", sort=False):
            rows = rows.sort_values("rank")
            counts = rows["count"].to_numpy(dtype=float)
            withheld = (rows["name_flag"] == SUPPRESSED).to_numpy()
            hidden = (rows["flag"] == SUPPRESSED).to_numpy()
            listed = set()
            for k, row in enumerate(rows.itertuples(index=False)):
                if hidden[k]:  # a suppressed count lies between its neighbours' ranks
                    j = self.model.var(("top", day, area, int(row.rank)), 1.0)
                    above = counts[k - 1] if k > 0 and not np.isnan(counts[k - 1]) else np.inf
                    below = counts[k + 1] if k + 1 < len(counts) and not np.isnan(counts[k + 1]) else 0.0
                    self.model.lower[j] = max(1.0, below)
                    self.model.upper[j] = above
                    self.model.targets.append(Target("suppressed", day, area, f"Bezugsland Rang {int(row.rank)}",
                                                     {j: 1.0}, {"rank": int(row.rank)}))
                if not withheld[k] and row.country_code in regions and not np.isnan(row.count):
                    self.model.fix(("country", day, area, row.country_code), row.count)
                    listed.add(row.country_code)
            # where every rank is named, a country not named has at most the last rank's count; where a rank
            # is empty (count 0, no country) the area has no further country
            empty = bool(((counts == 0) & ~withheld).any())
            last = counts[-1] if len(counts) and not np.isnan(counts[-1]) else np.inf
            cap = 0.0 if empty and not withheld.any() else (last if not withheld.any() else np.inf)
            if withheld.any():
                first = int(np.flatnonzero(withheld)[0])
                cap = counts[first - 1] if first > 0 and not np.isnan(counts[first - 1]) else np.inf
            for code in codes:
                if code not in listed:
                    j = country[area, code]
                    self.model.upper[j] = min(self.model.upper[j], cap)
                    if area != CITY:
                        self.model.targets.append(Target("derived", day, area, f"Personen aus {code}", {j: 1.0},
                                                                spec={"country": code}))
        for area in areas:  # the named countries of a region are part of the region
            for region in sorted(set(regions.values())):
                key = f"origin_region_{region}"
                if key not in self.count_cells:
                    continue
                members = [country[area, c] for c in codes if regions[c] == region]
                self.model.add(_expr((self.cell(day, area, key), 1.0), *((j, -1.0) for j in members)),
                               0.0, np.inf, "top countries ≤ origin region")
        if CITY in areas:
            districts = [a for a in areas if a != CITY]
            for code in codes:
                self.model.add(_expr((country[CITY, code], 1.0), *((country[d, code], -1.0) for d in districts)),
                               0.0, 0.0, "top countries add up to the city")

    # targets --------------------------------------------------------------------------------------
    def cell_targets(self) -> None:
        for day, area, key in sorted(self.suppressed):
            self.model.at_least(self.cell(day, area, key), 1.0)
            self.model.targets.append(Target("suppressed", day, area, key, {self.cell(day, area, key): 1.0},
                                             {"cell": key}))
        for day, area, key in sorted(self.hidden_parts - self.suppressed):
            j = self.cell(day, area, key)
            if not self.model.fixed(j):
                self.model.targets.append(Target("hidden", day, area, key, {j: 1.0}, spec={"cell": key}))

    def atom_targets(self, day: str, areas: list[str], bounds: dict[str, list[int]]) -> None:
        if not bounds:
            return
        defined = set()  # (area, lo, hi, sex, mh) of a published or suppressed cell: not derived
        for key, cell in self.cat.cells.items():
            if key in self.count_cells and _atom_population(cell.population):
                lo, hi = cell.population.ages
                defined |= {(a, lo, hi, cell.population.sex, _has_mh(cell.population)) for a in areas}
        pyr = self.pub.pyramids[self.pub.pyramids["reference_date"] == day]
        for row in pyr.itertuples(index=False):
            hi = None if np.isnan(row.hi) else int(row.hi)
            defined.add((row.district_id, int(row.lo), hi, row.sex, bool(row.mh)))
        for area in areas:
            edges = bounds[area]
            for a, lo in enumerate(edges):
                hi = edges[a + 1] if a + 1 < len(edges) else None
                band = f"{lo}+" if hi is None else (f"{lo}" if hi == lo + 1 else f"{lo}–{hi - 1}")
                for sex in (None, *SEXES):
                    for mh in (None, *MH):
                        if (area, lo, hi, sex, mh) in defined:
                            continue
                        atoms = self.atoms_of(day, area, bounds, lo, hi, sex, mh)
                        what = " ".join(["Einwohner", band, *([sex] if sex else []), *([MH_LABEL[mh]] if mh is not None else [])])
                        self.model.targets.append(Target("derived", day, area, what, {j: 1.0 for j in atoms},
                                                         spec={"lo": lo, "hi": hi, "sex": sex, "mh": mh}))


def build_model(publication: Publication, catalogue: Catalogue, channels: Iterable[str] = CHANNELS) -> Model:
    """The linear system an intruder knows from ``publication`` (see the module docstring), with the
    suppressed and derived counts as targets. ``catalogue``: ``build_catalogue(params)`` with the run's
    parameters. ``channels``: the kinds of knowledge used (:data:`CHANNELS`)."""
    unknown = set(channels) - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channels {sorted(unknown)}; known: {CHANNELS}")
    b = _Builder(publication, catalogue, frozenset(channels))
    b.known_cells()
    dates = publication.dates
    for i, day in enumerate(dates):
        areas = b.areas(day)
        for area in areas:  # every count cell of every area, so that relations and sums see them all
            for key in sorted(b.count_cells):
                b.cell(day, area, key)
        b.relations(day, areas)
        b.district_sums(day, areas)
        bounds = b.atoms(day, areas)
        b.pyramids(day, bounds)
        previous = dates[i - 1] if i > 0 else None
        b.ratios(day, previous)
        if previous is not None:
            b.balance(day, previous, areas)
        b.top_countries(day, areas)
        b.atom_targets(day, areas, bounds)
    b.cell_targets()
    return b.model


# ---------------------------------------------------------------------------------------- solving
@dataclass
class Attack:
    """What the intruder found: ``findings`` (one row per disclosed target: ``kind``, ``reference_date``,
    ``district_id``, ``what``, ``lower``, ``upper``, ``value`` where exact, ``finding`` ``"exact"`` or
    ``"small"``), the number of targets, LPs solved, variables and rows, components, the seconds taken
    and the relations dropped."""

    findings: pd.DataFrame
    targets: int
    suppressed_targets: int
    lps: int
    variables: int
    rows: int
    components: int
    seconds: float
    dropped: list[tuple[str, str]]
    infeasible: list[str]

    def count(self, kind: str, finding: str | None = None) -> int:
        rows = self.findings[self.findings["kind"] == kind]
        if finding is not None:
            rows = rows[rows["finding"] == finding]
        return int(len(rows))


def _classify(lower: float, upper: float, min_count: int, derived: bool) -> str | None:
    """``"exact"``, ``"small"`` or None (nothing disclosed) for a target's interval (see :func:`attack`)."""
    first, last = np.ceil(lower - _EPS), np.floor(upper + _EPS)
    if last < first:
        return None
    if derived:
        if first >= 1 and last <= min_count - 1:
            return "exact" if first == last else "small"
        return None
    if first == last and first >= 1:
        return "exact"
    if first >= 1 and last <= min_count - 1:
        return "small"
    return None


def _proven_safe(seen_lo: float, seen_hi: float, min_count: int, derived: bool) -> bool:
    """A target seen at these values in feasible tables cannot be disclosed."""
    if derived:  # some table has 0 or at least min_count there
        return seen_lo <= _EPS or seen_hi >= min_count - _EPS
    two_values = np.floor(seen_hi + _EPS) - np.ceil(seen_lo - _EPS) >= 1
    return bool(two_values and (seen_hi >= min_count - _EPS or seen_lo <= _EPS))


class _System:
    """The LP of some rows over some unknowns (``scipy.optimize.linprog``, HiGHS): ``lo ≤ A x ≤ hi``,
    rows with ``lo == hi`` as equations; other rows' unknowns count as free within their bounds."""

    def __init__(self, a: csr_matrix, lo: np.ndarray, hi: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray):
        sub = a[rows][:, cols]
        lo, hi = lo[rows], hi[rows]
        eq = lo == hi
        self.n = len(cols)
        self.a_eq, self.b_eq = sub[eq].tocsr(), lo[eq]
        le, ge = ~eq & np.isfinite(hi), ~eq & np.isfinite(lo)
        self.a_ub = vstack([sub[le], -sub[ge]]).tocsr()
        self.b_ub = np.concatenate([hi[le], -lo[ge]])
        self.bounds = [(l, None if np.isinf(u) else u) for l, u in zip(lower, upper)]

    def solve(self, objective: np.ndarray, *, a_ub=None, b_ub=None, a_eq=None, bounds=None):
        a_ub = self.a_ub if a_ub is None else a_ub
        b_ub = self.b_ub if b_ub is None else b_ub
        a_eq = self.a_eq if a_eq is None else a_eq
        return linprog(objective, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                       A_eq=a_eq if a_eq.shape[0] else None, b_eq=self.b_eq if a_eq.shape[0] else None,
                       bounds=self.bounds if bounds is None else bounds, method="highs")

    def solve_capped(self, targets: csr_matrix, offsets: np.ndarray, cap: float):
        """Maximise the sum of ``min(target, cap)`` over the rows of ``targets`` (``targets x + offsets``):
        one extra unknown ``z ≤ target``, ``0 ≤ z ≤ cap`` per target."""
        z = targets.shape[0]
        a_ub = vstack([hstack([self.a_ub, csr_matrix((self.a_ub.shape[0], z))]),
                       hstack([-targets, identity(z, format="csr")])]).tocsr()
        a_eq = hstack([self.a_eq, csr_matrix((self.a_eq.shape[0], z))]).tocsr()
        return self.solve(np.concatenate([np.zeros(self.n), -np.ones(z)]), a_ub=a_ub,
                          b_ub=np.concatenate([self.b_ub, offsets]), a_eq=a_eq,
                          bounds=self.bounds + [(0.0, cap)] * z)


def _rows_over_unknowns(model: Model, lower: np.ndarray, fixed: np.ndarray, position: np.ndarray,
                        n_free: int) -> tuple[csr_matrix, np.ndarray, np.ndarray, list[str]]:
    """The model's rows over its unknowns only (published values moved into the bounds): matrix, lower
    and upper bounds, and the families of rows that published values alone contradict."""
    r_idx, c_idx, vals, lo_b, hi_b, infeasible = [], [], [], [], [], []
    for coefficients, lo, hi, family in model.rows:
        const = sum(c * lower[j] for j, c in coefficients.items() if fixed[j])
        terms = [(position[j], c) for j, c in coefficients.items() if not fixed[j]]
        if not terms:
            if not lo - 1e-6 <= const <= hi + 1e-6:
                infeasible.append(family)
            continue
        k = len(lo_b)
        for col, c in terms:
            r_idx.append(k)
            c_idx.append(col)
            vals.append(c)
        lo_b.append(lo - const)
        hi_b.append(hi - const)
    a = csr_matrix(coo_matrix((vals, (r_idx, c_idx)), shape=(len(lo_b), n_free)))
    a.sort_indices()
    return a, np.asarray(lo_b, dtype=float), np.asarray(hi_b, dtype=float), infeasible


def attack(model: Model, *, min_count: int = 3, probes: int = 2, rounds: int = 8, seed: int = 0) -> Attack:
    """Solve for every target of ``model`` the interval an intruder can give (see the module docstring)."""
    started = time.perf_counter()
    n = len(model.lower)
    lower = np.asarray(model.lower, dtype=float)
    upper = np.asarray(model.upper, dtype=float)
    fixed = lower == upper
    free = np.flatnonzero(~fixed)
    position = np.full(n, -1)
    position[free] = np.arange(len(free))
    a, lo_b, hi_b, infeasible = _rows_over_unknowns(model, lower, fixed, position, len(free))
    m = a.shape[0]
    r_idx = np.repeat(np.arange(m), np.diff(a.indptr))
    c_idx = a.indices
    targets = model.targets
    # variables are connected by the rows and by the targets (a target over two parts is solved as one)
    t_free = [(i, position[j]) for i, t in enumerate(targets) for j in t.coefficients if not fixed[j]]
    t_i = np.asarray([i for i, _ in t_free], dtype=int)
    t_c = np.asarray([c for _, c in t_free], dtype=int)
    nodes = len(free) + m + len(targets)
    graph = csr_matrix(coo_matrix(
        (np.ones(len(r_idx) + len(t_free)),
         (np.concatenate([np.asarray(r_idx, dtype=int) + len(free), t_i + len(free) + m]),
          np.concatenate([np.asarray(c_idx, dtype=int), t_c]))),
        shape=(nodes, nodes)))
    n_comp, labels = connected_components(graph, directed=False)
    var_comp, row_comp = labels[:len(free)], labels[len(free):len(free) + m]

    seen_lo = np.full(len(targets), np.inf)
    seen_hi = np.full(len(targets), -np.inf)
    exact_lo = np.full(len(targets), np.nan)
    exact_hi = np.full(len(targets), np.nan)
    derived = np.array([t.kind == "derived" for t in targets])
    # a target over published variables only is known
    const = np.array([sum(c * lower[j] for j, c in t.coefficients.items() if fixed[j]) for t in targets])
    comp_of = np.full(len(targets), -1)
    t_rows, t_cols, t_vals = [], [], []
    for i, t in enumerate(targets):
        comps = {var_comp[position[j]] for j in t.coefficients if not fixed[j]}
        comp_of[i] = comps.pop() if comps else -1
        for j, c in t.coefficients.items():
            if not fixed[j]:
                t_rows.append(i)
                t_cols.append(position[j])
                t_vals.append(c)
    tmat = csr_matrix(coo_matrix((t_vals, (t_rows, t_cols)), shape=(len(targets), len(free))))
    known = comp_of < 0
    exact_lo[known] = exact_hi[known] = const[known]
    # the area (date, district) of every unknown: rows over one area's unknowns only form its local system
    area_codes: dict[tuple, int] = {}
    area_of = np.array([area_codes.setdefault(tuple(model.names[j][1:3]), len(area_codes)) for j in free], dtype=int)
    entries = r_idx
    row_min = np.full(m, np.iinfo(int).max)
    row_max = np.full(m, -1)
    np.minimum.at(row_min, entries, area_of[a.indices])
    np.maximum.at(row_max, entries, area_of[a.indices])
    row_area = np.where(row_min == row_max, row_min, -1)
    rng = np.random.default_rng(seed)
    lps = 0

    def interval(system: "_System", objective: np.ndarray, offset: float,
                 stop=None) -> tuple[float, float, np.ndarray | None]:
        """(min, max) of ``objective · x + offset``; (NaN, NaN) where ``stop(x)`` says a solution found on
        the way settles the question."""
        nonlocal lps
        out, point = [], None
        for sign in (1.0, -1.0):  # minimum, then maximum
            result = system.solve(sign * objective)
            lps += 1
            if result.status == 0:
                out.append(sign * result.fun + offset)
                point = result.x if point is None else point
            elif result.status == 3:  # unbounded
                out.append(-sign * np.inf)
            else:
                out.append(np.nan)
            if stop is not None and point is not None and stop(point):
                return np.nan, np.nan, point
        return out[0], out[1], point

    for comp in np.unique(comp_of[comp_of >= 0]):
        cols = np.flatnonzero(var_comp == comp)
        rows = np.flatnonzero(row_comp == comp)
        full = _System(a, lo_b, hi_b, rows, cols, lower[free[cols]], upper[free[cols]])
        mine = np.flatnonzero(comp_of == comp)
        tsub = tmat[mine][:, cols]

        def seen(x: np.ndarray) -> None:
            values = tsub @ x + const[mine]
            np.minimum.at(seen_lo, mine, values)
            np.maximum.at(seen_hi, mine, values)

        def open_targets() -> np.ndarray:
            return np.array([k for k, i in enumerate(mine)
                             if not _proven_safe(seen_lo[i], seen_hi[i], min_count, derived[i])], dtype=int)

        first = full.solve(np.zeros(len(cols)))
        lps += 1
        if first.status == 2:
            infeasible.append(f"component of {len(cols)} unknowns")
            continue
        if first.status == 0:
            seen(first.x)
        for _ in range(probes):
            result = full.solve(np.asarray(tsub.T @ rng.normal(size=len(mine))).ravel())
            lps += 1
            if result.status == 0:
                seen(result.x)
        # push all open targets down together, then up together (each capped at min_count, so that the LP
        # stays bounded and no single target takes all): most show a safe value on the way
        still = open_targets()
        for _ in range(rounds):
            if len(still) == 0:
                break
            before = len(still)
            result = full.solve(np.asarray(tsub[still].sum(axis=0)).ravel())
            lps += 1
            if result.status == 0:
                seen(result.x)
            still = open_targets()
            if len(still) == 0:
                break
            result = full.solve_capped(tsub[still], const[mine][still], float(min_count))
            lps += 1
            if result.status == 0:
                seen(result.x[:len(cols)])
            still = open_targets()
            if len(still) > 0.8 * before:
                break
        # each open target: first within its own area (a relaxation: what it discloses there is disclosed),
        # then, where that shows nothing or only a small interval, in the whole component
        local_systems: dict[int, _System] = {}
        col_area = area_of[cols]
        for k in open_targets():
            i = mine[k]
            if _proven_safe(seen_lo[i], seen_hi[i], min_count, derived[i]):
                continue
            objective = np.asarray(tsub[k].todense()).ravel()
            areas = np.unique(col_area[objective != 0])
            if len(areas) == 1:
                code = int(areas[0])
                if code not in local_systems:
                    local_cols = np.flatnonzero(col_area == code)
                    local_rows = rows[row_area[rows] == code]
                    local_systems[code] = _System(a, lo_b, hi_b, local_rows, cols[local_cols],
                                                  lower[free[cols[local_cols]]], upper[free[cols[local_cols]]])
                system = local_systems[code]
                picked = np.flatnonzero(col_area == code)
                low, high, _ = interval(system, objective[picked], const[i])
                if _classify(low, high, min_count, derived[i]) == "exact":
                    exact_lo[i], exact_hi[i] = low, high
                    continue
            def settled(x: np.ndarray, i: int = i) -> bool:
                seen(x)
                return _proven_safe(seen_lo[i], seen_hi[i], min_count, derived[i])

            exact_lo[i], exact_hi[i], _ = interval(full, objective, const[i], settled)
    rows_out = []
    for i, t in enumerate(targets):
        if np.isnan(exact_lo[i]) or np.isnan(exact_hi[i]):
            continue
        finding = _classify(exact_lo[i], exact_hi[i], min_count, t.kind == "derived")
        if finding is None:
            continue
        value = float(np.ceil(exact_lo[i] - _EPS)) if finding == "exact" else np.nan
        rows_out.append((t.kind, t.reference_date, t.district_id, t.what, float(exact_lo[i]), float(exact_hi[i]),
                         value, finding, dict(t.spec)))
    findings = pd.DataFrame(rows_out, columns=["kind", "reference_date", "district_id", "what", "lower", "upper",
                                               "value", "finding", "spec"])
    findings = findings.sort_values(["reference_date", "kind", "district_id", "what"], kind="stable")
    suppressed = sum(t.kind == "suppressed" for t in targets)
    return Attack(findings.reset_index(drop=True), len(targets), suppressed, lps, n, len(model.rows),
                  int(len(np.unique(comp_of[comp_of >= 0]))), time.perf_counter() - started, list(model.dropped),
                  infeasible)


# ------------------------------------------------------------------------------------------- entry
def run_intruder(reports: str | Path, params: IndicatorParameters = IndicatorParameters(), *, min_count: int = 3,
                 channels: Iterable[str] = CHANNELS, probes: int = 2) -> tuple[Publication, Attack]:
    """Read the publication under ``reports``, build the intruder's model with the catalogue of
    ``params`` and attack it."""
    publication = read_publication(reports)
    model = build_model(publication, build_catalogue(params), channels)
    return publication, attack(model, min_count=min_count, probes=probes)


def summary_lines(publication: Publication, result: Attack) -> list[str]:
    """The attack in a few lines: what was read, what was found."""
    lines = [
        f"read {len(publication.files)} published files, {len(publication.dates)} reference date(s): "
        f"{', '.join(publication.dates)}",
        f"model: {result.variables} unknowns and published cells, {result.rows} relations, "
        f"{result.components} component(s) with targets; {result.targets} targets "
        f"({result.suppressed_targets} suppressed counts); {result.lps} LPs in {result.seconds:.1f} s",
        f"suppressed counts recovered exactly: {result.count('suppressed', 'exact')}; "
        f"pinned into 1 … min_count − 1: {result.count('suppressed', 'small')}",
        f"numerators/denominators of suppressed values recovered exactly: {result.count('hidden', 'exact')}",
        f"derived counts of 1 … min_count − 1: {result.count('derived')} "
        f"(exactly: {result.count('derived', 'exact')})",
    ]
    for family, where in result.dropped:
        lines.append(f"relation left out (the published values contradict it): {family}, {where}")
    for what in result.infeasible:
        lines.append(f"no table fits the published values: {what}")
    if len(result.findings):
        groups = result.findings.assign(channel=result.findings["what"].str.replace(r"\d+(–\d+|\+)?", "#", regex=True))
        for (kind, channel), rows in groups.groupby(["kind", "channel"], sort=True):
            lines.append(f"  {kind:10s} {channel}: {len(rows)}")
    return lines
