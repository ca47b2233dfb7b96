"""The indicator catalogue: every published indicator defined once.

Each indicator is a frozen :class:`Indicator` with a stable snake_case id, German and English labels, unit,
numerator, denominator, formula, the minimum denominator below which it is not published, a one-sentence
definition in German and English, its source and its kind. Tables, figures, the Excel definitions sheet and
the methods section of the report are generated from this catalogue (:func:`catalogue_table`).

Age bounds and thresholds live in :class:`IndicatorParameters` (one place; cities differ). Labels, formulas
and the ids of the age-group indicators follow the parameters, so the catalogue is built by
:func:`build_catalogue`; :data:`CATALOGUE` is the catalogue for the default parameters.

The catalogue also declares the structure of every published number (:class:`Catalogue`): each
indicator's ``numerator_id``/``denominator_id`` (ids of count cells; a denominator that is not itself
published, such as the residents aged 1 and over, is a :class:`Cell` of its own), the :class:`Population`
each cell counts, the additive :class:`Relation` objects among the cells (derived from the parameters:
the age groups below ``minor_age_limit`` add up to the minors only where that limit is an age bound),
what a value gives back (``gives_back``), and named groups of featured indicators. Disclosure control,
tables, report and figures read this structure instead of keeping lists of their own.

Conventions
-----------
* ``kind == "count"``: ``value`` is the number of persons/households; numerator = value, no denominator.
* ``kind == "share"``: ``value`` in percent (numerator / denominator × 100), numerator and denominator counts
  alongside. Changes over time of a share (``change_previous``, ``change_baseline`` in
  :mod:`quarterstats.indicators.changes`) are differences in **percentage points** (Prozentpunkte), never
  relative changes; :attr:`Indicator.change_unit` says so for every indicator.
* ``kind == "ratio"`` / ``"rate"``: per 100 / per 1,000 or per km², numerator and denominator alongside.
* ``kind == "mean"``: numerator = sum, denominator = number of units.
* ``kind == "index"`` / ``"score"`` / ``"class"``: dimensionless; for classes a change over time is not
  defined (:attr:`Indicator.comparable_over_time` is False).

Sources: Destatis (Statistisches Bundesamt) definitions of population, age ratios and migration rates;
KOSIS-Verbund MigraPro and HHGen (Migrationshintergrund, generated households); Destatis 2023
(Einwanderungsgeschichte); Shevky & Bell 1955 (social area analysis); Senatsverwaltung Berlin, Monitoring
Soziale Stadtentwicklung (MSS) 2023; Duncan & Duncan 1955; Massey & Denton 1988; Theil 1972; White 1986;
Reardon & Firebaugh 2002; Moran 1950; Anselin 1995.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Mapping

import pandas as pd

from quarterstats.parameter_text import ParameterText, describe

__all__ = [
    "CATALOGUE",
    "CATALOGUE_VERSION",
    "Catalogue",
    "Cell",
    "DEFAULT_MIN_DENOMINATOR",
    "FAMILIES",
    "Indicator",
    "IndicatorParameters",
    "INDICATOR_PARAMETER_TEXTS",
    "KINDS",
    "MILIEU_DIMENSIONS",
    "MILIEU_DIMENSION_ORDER",
    "MILIEU_TYPOLOGY_DIMENSIONS",
    "ORIGIN_REGIONS",
    "Population",
    "Relation",
    "SEGREGATION_GROUPS",
    "age_group_id",
    "age_group_label_de",
    "age_groups",
    "build_catalogue",
    "catalogue_table",
    "display_decimals",
    "excel_number_format",
    "short_names_de",
    "SCALE_BY_UNIT",
]

#: Version of the catalogue (definitions, ids, formulas). Bump on any change of an id or a definition.
CATALOGUE_VERSION = "2.0.0"

#: Factor of a value ``scale × numerator / denominator`` by its unit (1 for any other unit): what a share or
#: ratio gives back is ``value × denominator / scale``.
SCALE_BY_UNIT = {"%": 100.0, "je 100": 100.0, "je 1.000": 1000.0}

#: Families in report order.
FAMILIES = ("population", "age", "migration", "households", "mobility", "milieu", "segregation")

#: Kinds of indicators.
KINDS = ("count", "share", "ratio", "rate", "mean", "index", "score", "class")

#: Default minimum denominator of shares and ratios (the disclosure default ``min_denominator``).
DEFAULT_MIN_DENOMINATOR = 10

#: Origin regions of the Bezugsland (code, German label, English label), in report order. The codes are
#: those of ``quarterstats/data/origin_regions.csv`` (country table owned by ``quarterstats.countries``);
#: EU membership is taken at the reference date there.
ORIGIN_REGIONS: tuple[tuple[str, str, str], ...] = (
    ("eu", "EU-Staaten", "EU member states"),
    ("other_europe", "übriges Europa", "other Europe"),
    ("former_soviet_union", "ehemalige Sowjetunion", "former Soviet Union"),
    ("turkey", "Türkei", "Turkey"),
    ("mena", "Naher Osten und Nordafrika", "Middle East and North Africa"),
    ("subsaharan_africa", "Afrika südlich der Sahara", "Sub-Saharan Africa"),
    ("rest_of_asia", "übriges Asien", "rest of Asia"),
    ("americas", "Amerika", "Americas"),
    ("oceania", "Ozeanien", "Oceania"),
    ("stateless_unknown", "staatenlos/ungeklärt", "stateless/unknown"),
)


#: Groups whose segregation is measured (each against the rest of the population): id, German, English.
SEGREGATION_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("foreign", "Ausländer", "foreign nationals"),
    ("with_mh", "mit Migrationshintergrund", "with migration background"),
) + tuple((f"region_{code}", f"Herkunftsregion {de}", f"origin region {en}") for code, de, en in ORIGIN_REGIONS)


#: The milieu dimensions, each meaning one thing (the one place of their definition): dimension ->
#: ((indicator id, sign), ...). A dimension score is the equal-weight mean of the signed z-values of its
#: indicators; sign −1 reverses an indicator. Every indicator exists on every reference date (none needs a
#: previous date), so a dimension means the same on every date. ``status`` needs the auxiliary figures;
#: a high status score means few benefit recipients (a high status index).
MILIEU_DIMENSIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "family": (("households_with_minors_share", 1), ("household_size_mean", 1),
               ("single_person_households_share", -1)),
    "seniors": (("old_age_ratio", 1),),
    "students": (("young_adults_share", 1),),
    "migration": (("with_mh_share", 1), ("with_mh_minors_share", 1), ("foreign_share", 1)),
    "mobility": (("moved_address_1y", 1), ("residence_5y", -1)),
    "status": (("sgb2_rate", -1), ("unemployment_rate", -1), ("child_poverty", -1)),
}
#: Order of the dimensions in tables and of the digits of the type code.
MILIEU_DIMENSION_ORDER = ("family", "seniors", "students", "migration", "mobility", "status")
#: The dimensions the district typology is formed from: the make-up of the population. The social status
#: is kept out of the typology and classified on its own (status and dynamics classes), so that a type
#: describes who lives in a district, not how well off it is.
MILIEU_TYPOLOGY_DIMENSIONS = ("family", "seniors", "students", "migration", "mobility")
#: German label, English label, what a high value means (German, English) and the source of each dimension.
_MILIEU_DIMENSION_TEXTS = {
    "family": ("Dimension Familien", "Family dimension", "hohe Werte: viele Haushalte mit Kindern, große Haushalte",
               "high: many households with children, large households", "Shevky & Bell 1955"),
    "seniors": ("Dimension Ältere", "Seniors dimension", "hohe Werte: viele Ältere im Verhältnis zum Erwerbsalter",
                "high: many older residents relative to working age", "Shevky & Bell 1955"),
    "students": ("Dimension junge Erwachsene", "Young-adults dimension",
                 "hohe Werte: viele junge Erwachsene (Ausbildung, Studium, Berufseinstieg)",
                 "high: many young adults (training, university, first jobs)", "Shevky & Bell 1955"),
    "migration": ("Dimension Migration", "Migration dimension",
                  "hohe Werte: viele Einwohner mit Migrationshintergrund und Ausländer",
                  "high: many residents with a migration background and foreign nationals", "Shevky & Bell 1955"),
    "mobility": ("Dimension Mobilität", "Mobility dimension",
                 "hohe Werte: viele Zuzüge an die Adresse, kurze Wohndauer",
                 "high: many recent moves to the address, short residence", "Berlin MSS 2023"),
    "status": ("Dimension sozialer Status", "Social-status dimension",
               "hohe Werte: wenige Empfänger von Sozialleistungen, hoher Statusindex (nur mit Zulieferdaten)",
               "high: few benefit recipients, high status index (auxiliary figures only)", "Berlin MSS 2023"),
}


@dataclass(frozen=True)
class IndicatorParameters:
    """Age bounds and thresholds of the indicators, with their defaults (one place, documented).

    Ages are completed years at the reference date. Upper bounds are exclusive unless said otherwise.

    Attributes:
        age_group_lower_bounds: lower bounds of the age groups; each group runs to the next bound
            (exclusive), the last is open. Default under 6, 6–14, 15–17, 18–24, 25–44, 45–64, 65–79, 80+
            (Destatis/KOSIS planning groups: day care, primary+lower secondary school, upper secondary, ...).
        youth_age_limit: Jugendquotient numerator "under 20" and lower bound of working age (Destatis: 20).
        old_age_limit: Altenquotient numerator "65 and older" and exclusive upper bound of working age
            (Destatis: 65); also the age of the "65+ living alone" indicator and of the SGB II base (under 65).
        minor_age_limit: minors are younger than this (18).
        young_adult_ages: inclusive band of young adults, the indicator of the young-adults ("students")
            milieu dimension in a university town (18–29).
        residence_years: Wohndauer threshold in years (5): residents aged at least this many years living at
            their address for at least this many years.
        recent_move_years: "moved within the last ... years" (1).
        composite_min_population: districts with fewer residents are kept out of the z-standardisation and
            get no composite (milieu) score (300, Berlin MSS practice and the disclosure rule).
        typology_threshold_sd: a type centre is described as above/below the average in a dimension when it
            lies more than this many standard deviations (of the dimension score across districts) above/below
            the mean, and as clearly above/below at twice this (0.5).
        typology_types: inclusive range of the number of district types (4–7: at most one type per colour
            of the colour-blind-safe palette of the maps); capped by the number of districts with milieu
            scores.
        typology_min_explained: the number of types is the smallest in ``typology_types`` whose types explain
            at least this share of the spread of the standardised dimension scores (between-type sum of
            squares / total sum of squares, 0.8); the largest when none does.
        status_high_sd: status class "hoch" above this many standard deviations of the status score above
            the mean (1.0, Berlin MSS).
        status_low_sd: status class "niedrig" more than this many standard deviations below the mean (1.0).
        status_very_low_sd: status class "sehr niedrig" more than this many standard deviations below the
            mean (1.5, Berlin MSS).
        dynamics_threshold_sd: dynamics class "positiv"/"negativ" where the change of the status score since
            the previous date lies more than this many standard deviations (of that change across districts)
            above/below its mean (1.0).
        top_countries_n: number of reference countries ranked per district (5).
        child_poverty_age_limit: child poverty counts children under this age (15, Berlin MSS).
        labour_force_ages: inclusive age band of the unemployment base (15–64, i.e. 15 to under 65).
        seed: seed for any randomised step. All current rules are deterministic (the typology's Ward
            clustering has no random start); the seed is kept so that a seeded step can be added without
            changing the API.
    """

    age_group_lower_bounds: tuple[int, ...] = (0, 6, 15, 18, 25, 45, 65, 80)
    youth_age_limit: int = 20
    old_age_limit: int = 65
    minor_age_limit: int = 18
    young_adult_ages: tuple[int, int] = (18, 29)
    residence_years: int = 5
    recent_move_years: int = 1
    composite_min_population: int = 300
    typology_threshold_sd: float = 0.5
    typology_types: tuple[int, int] = (4, 7)
    typology_min_explained: float = 0.8
    status_high_sd: float = 1.0
    status_low_sd: float = 1.0
    status_very_low_sd: float = 1.5
    dynamics_threshold_sd: float = 1.0
    top_countries_n: int = 5
    child_poverty_age_limit: int = 15
    labour_force_ages: tuple[int, int] = (15, 64)
    seed: int = 20161231

    def __post_init__(self) -> None:
        bounds = tuple(self.age_group_lower_bounds)
        if not bounds or bounds[0] != 0 or any(b >= c for b, c in zip(bounds, bounds[1:])):
            raise ValueError(
                "age_group_lower_bounds must start at 0 and increase strictly, "
                f"got {self.age_group_lower_bounds!r}"
            )
        if not 0 < self.youth_age_limit < self.old_age_limit:
            raise ValueError("need 0 < youth_age_limit < old_age_limit")
        lo, hi = self.young_adult_ages
        if not 0 <= lo <= hi:
            raise ValueError(f"young_adult_ages must be an inclusive band (lo <= hi), got {self.young_adult_ages!r}")
        lo, hi = self.labour_force_ages
        if not 0 <= lo <= hi:
            raise ValueError(f"labour_force_ages must be an inclusive band, got {self.labour_force_ages!r}")
        if self.residence_years < 1 or self.recent_move_years < 1:
            raise ValueError("residence_years and recent_move_years must be at least 1")
        if self.top_countries_n < 1:
            raise ValueError("top_countries_n must be at least 1")
        if self.typology_threshold_sd < 0:
            raise ValueError("typology_threshold_sd must not be negative")
        lo, hi = self.typology_types
        if not 2 <= lo <= hi:
            raise ValueError(f"typology_types must be a range (lo, hi) with 2 <= lo <= hi, got {self.typology_types!r}")
        if not 0 < self.typology_min_explained < 1:
            raise ValueError("typology_min_explained must lie between 0 and 1")
        if min(self.status_high_sd, self.status_low_sd, self.dynamics_threshold_sd) < 0:
            raise ValueError("status_high_sd, status_low_sd and dynamics_threshold_sd must not be negative")
        if self.status_very_low_sd < self.status_low_sd:
            raise ValueError("status_very_low_sd must be at least status_low_sd")


#: German name, meaning and unit of every :class:`IndicatorParameters` field (the report's methods section).
INDICATOR_PARAMETER_TEXTS = describe(IndicatorParameters, {
    "age_group_lower_bounds": ParameterText(
        "Altersgruppen", "Altersgruppen der Tabellen und Karten; jede Gruppe reicht bis unter die nächste "
        "Untergrenze, die letzte ist nach oben offen (Planungsgruppen: Kita, Grundschule und Sekundarstufe I, "
        "Sekundarstufe II, Ausbildung und Studium, Familiengründung, Erwerbsalter, junge Alte, Hochbetagte).",
        "Jahre", "age_groups"),
    "youth_age_limit": ParameterText(
        "Altersgrenze Jugendquotient", "Der Jugendquotient setzt die Einwohner unter diesem Alter ins "
        "Verhältnis zu den Einwohnern im erwerbsfähigen Alter; zugleich dessen Untergrenze.", "Jahre"),
    "old_age_limit": ParameterText(
        "Altersgrenze Altenquotient", "Einwohner ab diesem Alter zählen im Altenquotienten und bei den allein "
        "lebenden Älteren; das erwerbsfähige Alter und die Bezugsgruppe der SGB-II-Quote enden davor.", "Jahre"),
    "minor_age_limit": ParameterText(
        "Volljährigkeitsgrenze", "Minderjährig ist, wer jünger ist (Anteile unter Minderjährigen, Haushalte mit "
        "Minderjährigen).", "Jahre"),
    "young_adult_ages": ParameterText(
        "Junge Erwachsene", "Altersband der jungen Erwachsenen (in einer Universitätsstadt vor allem "
        "Studierende), Teil der Dimension Alter/Lebensphase; beide Grenzen eingeschlossen.", "Jahre", "range"),
    "residence_years": ParameterText(
        "Mindestwohndauer", "Einwohner mindestens dieses Alters, die seit mindestens so vielen Jahren an ihrer "
        "Adresse wohnen, zählen bei der Wohndauer.", "Jahre"),
    "recent_move_years": ParameterText(
        "Zeitraum der jüngsten Zuzüge", "Zuzüge an die Adresse und in die Stadt innerhalb dieses Zeitraums vor "
        "dem Stichtag.", "Jahre"),
    "composite_min_population": ParameterText(
        "Mindestgröße für Milieuwerte", "Bezirke mit weniger Einwohnern bleiben bei der Standardisierung außen "
        "vor und erhalten keine Milieuwerte und keinen Quartierstyp.", "Einwohner", "count"),
    "typology_threshold_sd": ParameterText(
        "Schwelle der Typbeschreibung", "Ein Quartierstyp liegt in einer Milieudimension über (unter) dem "
        "Durchschnitt, wenn sein Mittelpunkt um mehr als so viele Standardabweichungen über (unter) dem Mittelwert "
        "der Bezirke liegt, deutlich über (unter) ihm ab dem Doppelten.", "Standardabweichungen"),
    "typology_types": ParameterText(
        "Zahl der Quartierstypen", "Spanne, aus der die Zahl der Quartierstypen gewählt wird; höchstens so viele "
        "Typen wie Bezirke mit Milieuwerten; beide Grenzen eingeschlossen.", "Typen", "range"),
    "typology_min_explained": ParameterText(
        "Erklärte Streuung der Quartierstypen", "Gewählt wird die kleinste Zahl von Typen, deren Typen mindestens "
        "diesen Anteil der Streuung der standardisierten Dimensionswerte erklären (sonst die größte).", ""),
    "status_high_sd": ParameterText(
        "Schwelle Statusklasse hoch", "Statusklasse „hoch“, wenn der Statuswert um mehr als so viele "
        "Standardabweichungen über dem Mittelwert der Bezirke liegt.", "Standardabweichungen"),
    "status_low_sd": ParameterText(
        "Schwelle Statusklasse niedrig", "Statusklasse „niedrig“, wenn der Statuswert um mehr als so viele "
        "Standardabweichungen unter dem Mittelwert der Bezirke liegt.", "Standardabweichungen"),
    "status_very_low_sd": ParameterText(
        "Schwelle Statusklasse sehr niedrig", "Statusklasse „sehr niedrig“, wenn der Statuswert um mehr als so "
        "viele Standardabweichungen unter dem Mittelwert der Bezirke liegt.", "Standardabweichungen"),
    "dynamics_threshold_sd": ParameterText(
        "Schwelle der Dynamikklassen", "Dynamik „positiv“ („negativ“), wenn die Veränderung des Statuswerts zum "
        "vorigen Stichtag um mehr als so viele Standardabweichungen (der Veränderungen über die Bezirke) über "
        "(unter) ihrem Mittelwert liegt.", "Standardabweichungen"),
    "top_countries_n": ParameterText(
        "Zahl der häufigsten Bezugsländer", "So viele häufigste Bezugsländer werden je Bezirk ausgewiesen.",
        "Länder", "count"),
    "child_poverty_age_limit": ParameterText(
        "Altersgrenze Kinderarmut", "Kinderarmut zählt Kinder unter diesem Alter in SGB-II-Bedarfsgemeinschaften "
        "(nur mit Zulieferdaten).", "Jahre"),
    "labour_force_ages": ParameterText(
        "Erwerbsfähiges Alter (Arbeitslosenanteil)", "Bezugsbevölkerung des Arbeitslosenanteils; beide Grenzen "
        "eingeschlossen (nur mit Zulieferdaten).", "Jahre", "range"),
    "seed": ParameterText(
        "Startwert für Zufallsschritte", "Alle derzeitigen Regeln der Kennzahlen sind ohne Zufall (auch die "
        "Clusteranalyse der Quartierstypen); der Startwert hält einen künftigen Zufallsschritt reproduzierbar."),
})


@dataclass(frozen=True)
class Indicator:
    """One published indicator (see the module docstring for the conventions of each kind)."""

    id: str
    label_de: str
    label_en: str
    unit: str
    family: str
    numerator: str
    denominator: str | None
    formula: str
    min_denominator: int | None
    definition_de: str
    definition_en: str
    source: str
    kind: str
    #: False where a difference between two reference dates means nothing (classes, ranks).
    comparable_over_time: bool = True
    #: Declared structure (see :class:`Catalogue`): ids of the cells of the numerator and the denominator
    #: (a count's numerator is the count itself), ...
    numerator_id: str | None = None
    denominator_id: str | None = None
    #: ... the cells a value published to full precision gives back (a quotient of whole numbers gives both),
    gives_back: tuple[str, ...] = ()
    #: ... and whether the value is the district's quotient relative to the city's (location quotients).
    relative_to_city: bool = False
    #: Short German name (at most 31 characters, no ``[]:*?/\\``): sheet names and narrow headers. Set by
    #: :func:`build_catalogue` from :func:`short_names_de`; unique across the catalogue.
    short_de: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.id}: unknown family {self.family!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: unknown kind {self.kind!r}")

    @property
    def change_unit(self) -> str | None:
        """Unit of ``change_previous``/``change_baseline``: percentage points for percent values."""
        if not self.comparable_over_time:
            return None
        if self.unit == "%":
            return "Prozentpunkte"
        return self.unit


@dataclass(frozen=True)
class Population:
    """Whom a count cell counts: residents with main residence on the reference date, aged ``ages``
    ``[lo, hi)`` (``hi`` None: open), in ``households`` ``"all"``, ``"private"`` (a generated household) or
    ``"institutions"`` (no household), of statistical ``sex`` (``"m"``/``"w"``), with ``mh_status`` one of
    the listed values, ``has_mh``, origin region, immigration-history status, or a known move-in date to
    the address, where set. Cells that are not such a set of persons (households, moves, supplied
    figures, sums of ages, areas) declare no population."""

    ages: tuple[int, int | None] = (0, None)
    households: str = "all"
    sex: str | None = None
    mh_status: tuple[str, ...] = ()
    has_mh: bool | None = None
    origin_region: str | None = None
    eg_status: str | None = None
    address_known: bool = False

    def __post_init__(self) -> None:
        if self.households not in ("all", "private", "institutions"):
            raise ValueError(f"households must be all, private or institutions, not {self.households!r}")
        if self.sex not in (None, "m", "w"):
            raise ValueError(f"sex must be m, w or None, not {self.sex!r}")

    @property
    def age_only(self) -> bool:
        """True where the cell is all residents of an age band (nothing else restricts it)."""
        return self == Population(ages=self.ages)


@dataclass(frozen=True)
class Cell:
    """A count cell: a published count indicator or a numerator/denominator that is not one."""

    id: str
    label_de: str
    population: Population | None = None
    #: False for a cell that is a sum of values or an area rather than a number of persons or households.
    count: bool = True


@dataclass(frozen=True)
class Relation:
    """An additive relation among cells, per district and for the city: ``total = sum(parts)``."""

    name: str
    total: str
    parts: tuple[str, ...]

    @property
    def cells(self) -> tuple[str, ...]:
        return (*self.parts, self.total)


class Catalogue(dict):
    """The indicators (id -> :class:`Indicator`, report order) with their declared structure.

    ``params``: the parameters it was built with; ``cells``: every count cell (id -> :class:`Cell`) that
    an indicator's ``numerator_id``/``denominator_id``/``gives_back`` names; ``relations``: the additive
    relations among them (:class:`Relation`), derived from the parameters; ``groups``: named lists of
    indicator ids that reports, figures and workbooks feature (e.g. ``"time_series"``)."""

    params: IndicatorParameters
    cells: dict[str, Cell]
    relations: tuple[Relation, ...]
    groups: dict[str, tuple[str, ...]]

    def relations_of(self, cell_id: str) -> tuple[Relation, ...]:
        """The declared relations ``cell_id`` takes part in."""
        return tuple(r for r in self.relations if cell_id in r.cells)


# --------------------------------------------------------------------------------------------- age groups
def age_groups(params: IndicatorParameters) -> list[tuple[int, int | None]]:
    """Age groups as (lower, upper exclusive or None for the open last group)."""
    b = list(params.age_group_lower_bounds)
    return [(lo, hi) for lo, hi in zip(b, b[1:] + [None])]


def age_group_id(lower: int, upper: int | None) -> str:
    """Id of an age-group count, e.g. ``age_00_05`` (0 to under 6) or ``age_80plus``."""
    return f"age_{lower:02d}plus" if upper is None else f"age_{lower:02d}_{upper - 1:02d}"


def age_group_label_de(lower: int, upper: int | None) -> str:
    """German age band as in municipal tables: "unter 6 Jahren", "6 bis unter 15 Jahren", "ab 80 Jahren"."""
    if upper is None:
        return f"ab {lower} Jahren"
    if lower == 0:
        return f"unter {upper} Jahren"
    return f"{lower} bis unter {upper} Jahren"


def _age_group_label_en(lower: int, upper: int | None) -> str:
    if upper is None:
        return f"aged {lower}+"
    if lower == 0:
        return f"under {upper}"
    return f"aged {lower}–{upper - 1}"


# ------------------------------------------------------------------------------------------------ builder
class _Builder:
    def __init__(self) -> None:
        self.items: dict[str, Indicator] = {}

    def add(self, **kw) -> None:
        kw.setdefault("min_denominator", None)
        ind = Indicator(**kw)
        if ind.id in self.items:
            raise ValueError(f"duplicate indicator id {ind.id}")
        self.items[ind.id] = ind

    def count_share(
        self,
        id: str,
        family: str,
        label_de: str,
        label_en: str,
        share_label_de: str,
        share_label_en: str,
        numerator: str,
        denominator: str,
        definition_de: str,
        definition_en: str,
        share_definition_de: str,
        share_definition_en: str,
        source: str,
        unit: str = "Personen",
    ) -> None:
        """A count ``id`` and its percent share ``id_share``."""
        self.add(
            id=id, label_de=label_de, label_en=label_en, unit=unit, family=family, numerator=numerator,
            denominator=None, formula=numerator, definition_de=definition_de, definition_en=definition_en,
            source=source, kind="count",
        )
        self.add(
            id=f"{id}_share", label_de=share_label_de, label_en=share_label_en, unit="%", family=family,
            numerator=numerator, denominator=denominator, formula=f"100 × ({numerator}) / ({denominator})",
            min_denominator=DEFAULT_MIN_DENOMINATOR, definition_de=share_definition_de,
            definition_en=share_definition_en, source=source, kind="share",
        )


def build_catalogue(params: IndicatorParameters = IndicatorParameters()) -> Catalogue:
    """All indicators, in report order, with labels and formulas following ``params``."""
    p = params
    c = _Builder()
    minor = p.minor_age_limit
    ya_lo, ya_hi = p.young_adult_ages
    y, o = p.youth_age_limit, p.old_age_limit
    working = f"Einwohner von {y} bis unter {o} Jahren"
    working_en = f"residents aged {y}–{o - 1}"

    # ---------------------------------------------------------------------------------- population
    destatis = "Destatis"
    c.add(
        id="pop", label_de="Einwohner (Hauptwohnsitz)", label_en="Residents (main residence)", unit="Personen",
        family="population", numerator="Einwohner mit Hauptwohnsitz", denominator=None,
        formula="Zahl der Personen", source="Melderegister; Destatis", kind="count",
        definition_de="Zahl der Personen mit Hauptwohnsitz im Gebiet am Stichtag.",
        definition_en="Number of persons with their main residence in the area on the reference date.",
    )
    c.add(
        id="density", label_de="Bevölkerungsdichte", label_en="Population density", unit="Einw./km²",
        family="population", numerator="Einwohner", denominator="Fläche in km²", formula="Einwohner / Fläche (km²)",
        source=destatis, kind="ratio",
        definition_de="Einwohner je Quadratkilometer Gebietsfläche.",
        definition_en="Residents per square kilometre of area.",
    )
    c.add(
        id="sex_ratio", label_de="Geschlechterproportion", label_en="Sex ratio", unit="je 100",
        family="population", numerator="Männer", denominator="Frauen", formula="100 × Männer / Frauen",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source=destatis, kind="ratio",
        definition_de="Männer je 100 Frauen. Personen mit Geschlechtseintrag divers oder ohne Angabe sind, wie in der "
                      "amtlichen Statistik, zufällig (reproduzierbar je Person) Männern oder Frauen zugeordnet.",
        definition_en="Men per 100 women. Persons registered as diverse or without entry are assigned to men or "
                      "women at random (reproducibly per person), as in official statistics.",
    )

    # ----------------------------------------------------------------------------------------- age
    for lo, hi in age_groups(p):
        gid = age_group_id(lo, hi)
        band_de = age_group_label_de(lo, hi)
        band_de = f"von {band_de}" if lo > 0 and hi is not None else band_de  # "Einwohner von 6 bis unter 15"
        band_en = _age_group_label_en(lo, hi)
        c.count_share(
            gid, "age",
            label_de=f"Einwohner {band_de}", label_en=f"Residents {band_en}",
            share_label_de=f"Anteil Einwohner {band_de}", share_label_en=f"Share of residents {band_en}",
            numerator=f"Einwohner {band_de}", denominator="Einwohner",
            definition_de=f"Zahl der Einwohner im Alter {band_de}.",
            definition_en=f"Number of residents {band_en}.",
            share_definition_de=f"Einwohner {band_de} je 100 Einwohner.",
            share_definition_en=f"Residents {band_en} per 100 residents.",
            source=destatis,
        )
    c.count_share(
        "minors", "age",
        label_de=f"Minderjährige (unter {minor} Jahren)", label_en=f"Minors (under {minor})",
        share_label_de="Anteil Minderjährige", share_label_en="Share of minors",
        numerator=f"Einwohner unter {minor} Jahren", denominator="Einwohner",
        definition_de=f"Zahl der Einwohner unter {minor} Jahren.",
        definition_en=f"Number of residents under {minor}.",
        share_definition_de=f"Einwohner unter {minor} Jahren je 100 Einwohner.",
        share_definition_en=f"Residents under {minor} per 100 residents.",
        source=destatis,
    )
    c.count_share(
        "young_adults", "age",
        label_de=f"Junge Erwachsene ({ya_lo} bis {ya_hi} Jahre)", label_en=f"Young adults (aged {ya_lo}–{ya_hi})",
        share_label_de=f"Anteil junge Erwachsene ({ya_lo} bis {ya_hi} Jahre)",
        share_label_en=f"Share of young adults (aged {ya_lo}–{ya_hi})",
        numerator=f"Einwohner von {ya_lo} bis {ya_hi} Jahren", denominator="Einwohner",
        definition_de=f"Zahl der Einwohner von {ya_lo} bis einschließlich {ya_hi} Jahren (in einer Universitätsstadt vor allem Studierende).",
        definition_en=f"Number of residents aged {ya_lo} to {ya_hi} inclusive (mostly students in a university town).",
        share_definition_de=f"Einwohner von {ya_lo} bis einschließlich {ya_hi} Jahren je 100 Einwohner.",
        share_definition_en=f"Residents aged {ya_lo} to {ya_hi} inclusive per 100 residents.",
        source=destatis,
    )
    c.add(
        id="mean_age", label_de="Durchschnittsalter", label_en="Mean age", unit="Jahre", family="age",
        numerator="Summe der vollendeten Lebensjahre", denominator="Einwohner",
        formula="Σ Alter / Einwohner", min_denominator=DEFAULT_MIN_DENOMINATOR, source=destatis, kind="mean",
        definition_de="Arithmetisches Mittel der vollendeten Lebensjahre der Einwohner am Stichtag.",
        definition_en="Arithmetic mean of the residents' completed years of age on the reference date.",
    )
    c.add(
        id="youth_ratio", label_de="Jugendquotient", label_en="Youth dependency ratio", unit="je 100",
        family="age", numerator=f"Einwohner unter {y} Jahren", denominator=working,
        formula=f"100 × Einwohner unter {y} / {working}", min_denominator=DEFAULT_MIN_DENOMINATOR,
        source=destatis, kind="ratio",
        definition_de=f"Einwohner unter {y} Jahren je 100 {working}.",
        definition_en=f"Residents under {y} per 100 {working_en}.",
    )
    c.add(
        id="old_age_ratio", label_de="Altenquotient", label_en="Old-age dependency ratio", unit="je 100",
        family="age", numerator=f"Einwohner ab {o} Jahren", denominator=working,
        formula=f"100 × Einwohner ab {o} / {working}", min_denominator=DEFAULT_MIN_DENOMINATOR,
        source=destatis, kind="ratio",
        definition_de=f"Einwohner ab {o} Jahren je 100 {working}.",
        definition_en=f"Residents aged {o} and over per 100 {working_en}.",
    )

    # ----------------------------------------------------------------------------------- migration
    migrapro = "KOSIS MigraPro; Destatis (Migrationshintergrund)"
    eg_source = "Destatis 2023 (Einwanderungsgeschichte)"
    c.count_share(
        "foreign", "migration",
        label_de="Ausländer", label_en="Foreign nationals",
        share_label_de="Ausländeranteil", share_label_en="Share of foreign nationals",
        numerator="Ausländer", denominator="Einwohner",
        definition_de="Einwohner ohne deutsche Staatsangehörigkeit (einschließlich staatenlos und ungeklärt).",
        definition_en="Residents without German nationality (including stateless and unknown).",
        share_definition_de="Ausländer je 100 Einwohner.",
        share_definition_en="Foreign nationals per 100 residents.",
        source=migrapro,
    )
    c.count_share(
        "german_personal_mh", "migration",
        label_de="Deutsche mit persönlichem Migrationshintergrund",
        label_en="Germans with a personal migration background",
        share_label_de="Anteil Deutsche mit persönlichem Migrationshintergrund",
        share_label_en="Share of Germans with a personal migration background",
        numerator="Deutsche mit persönlichem Migrationsmerkmal", denominator="Einwohner",
        definition_de="Deutsche mit eigenem Migrationsmerkmal (Einbürgerung, Optionsregelung, Spätaussiedler, Adoption, zweite ausländische Staatsangehörigkeit oder Geburt im Ausland).",
        definition_en="Germans with a migration feature of their own (naturalisation, option, resettler, adoption, a second foreign nationality or birth abroad).",
        share_definition_de="Deutsche mit persönlichem Migrationshintergrund je 100 Einwohner.",
        share_definition_en="Germans with a personal migration background per 100 residents.",
        source=migrapro,
    )
    c.count_share(
        "german_familial_mh", "migration",
        label_de="Deutsche mit familiärem Migrationshintergrund",
        label_en="Germans with a familial migration background",
        share_label_de="Anteil Deutsche mit familiärem Migrationshintergrund",
        share_label_en="Share of Germans with a familial migration background",
        numerator="Deutsche mit familiärem Migrationshintergrund", denominator="Einwohner",
        definition_de=f"Deutsche unter {minor} Jahren ohne eigenes Migrationsmerkmal, von denen mindestens ein im Register verknüpfter Elternteil Ausländer ist oder einen persönlichen Migrationshintergrund hat.",
        definition_en=f"Germans under {minor} without a feature of their own with at least one linked parent who is foreign or has a personal migration background.",
        share_definition_de="Deutsche mit familiärem Migrationshintergrund je 100 Einwohner.",
        share_definition_en="Germans with a familial migration background per 100 residents.",
        source=migrapro,
    )
    c.count_share(
        "german_with_mh", "migration",
        label_de="Deutsche mit Migrationshintergrund", label_en="Germans with a migration background",
        share_label_de="Anteil Deutsche mit Migrationshintergrund",
        share_label_en="Share of Germans with a migration background",
        numerator="Deutsche mit persönlichem oder familiärem Migrationshintergrund", denominator="Einwohner",
        definition_de="Deutsche mit persönlichem oder familiärem Migrationshintergrund.",
        definition_en="Germans with a personal or familial migration background.",
        share_definition_de="Deutsche mit Migrationshintergrund je 100 Einwohner.",
        share_definition_en="Germans with a migration background per 100 residents.",
        source=migrapro,
    )
    c.count_share(
        "german_no_mh", "migration",
        label_de="Deutsche ohne Migrationshintergrund", label_en="Germans without a migration background",
        share_label_de="Anteil Deutsche ohne Migrationshintergrund",
        share_label_en="Share of Germans without a migration background",
        numerator="Deutsche ohne Migrationshintergrund", denominator="Einwohner",
        definition_de="Deutsche, für die das Register kein Migrationsmerkmal ausweist (Registerlücken führen zu einer Untererfassung des Migrationshintergrunds).",
        definition_en="Germans for whom the register shows no migration feature (register gaps make the migration background undercounted).",
        share_definition_de="Deutsche ohne Migrationshintergrund je 100 Einwohner.",
        share_definition_en="Germans without a migration background per 100 residents.",
        source=migrapro,
    )
    c.count_share(
        "with_mh", "migration",
        label_de="Einwohner mit Migrationshintergrund", label_en="Residents with a migration background",
        share_label_de="Anteil mit Migrationshintergrund", share_label_en="Share with a migration background",
        numerator="Ausländer + Deutsche mit Migrationshintergrund", denominator="Einwohner",
        definition_de="Ausländer und Deutsche mit persönlichem oder familiärem Migrationshintergrund.",
        definition_en="Foreign nationals and Germans with a personal or familial migration background.",
        share_definition_de="Einwohner mit Migrationshintergrund je 100 Einwohner.",
        share_definition_en="Residents with a migration background per 100 residents.",
        source=migrapro,
    )
    c.count_share(
        "with_mh_minors", "migration",
        label_de="Minderjährige mit Migrationshintergrund", label_en="Minors with a migration background",
        share_label_de="Anteil mit Migrationshintergrund unter Minderjährigen",
        share_label_en="Share with a migration background among minors",
        numerator=f"Einwohner unter {minor} Jahren mit Migrationshintergrund",
        denominator=f"Einwohner unter {minor} Jahren",
        definition_de=f"Einwohner unter {minor} Jahren mit Migrationshintergrund.",
        definition_en=f"Residents under {minor} with a migration background.",
        share_definition_de=f"Minderjährige mit Migrationshintergrund je 100 Einwohner unter {minor} Jahren (Kennzahl für Kita- und Schulplanung).",
        share_definition_en=f"Minors with a migration background per 100 residents under {minor} (the key indicator for schools and day care).",
        source=migrapro,
    )
    for code, lab_de, lab_en in ORIGIN_REGIONS:
        c.count_share(
            f"origin_region_{code}", "migration",
            label_de=f"Migrationshintergrund, Herkunftsregion {lab_de}",
            label_en=f"Migration background, origin region {lab_en}",
            share_label_de=f"Anteil mit Migrationshintergrund, Herkunftsregion {lab_de}",
            share_label_en=f"Share with a migration background, origin region {lab_en}",
            numerator=f"Einwohner mit Migrationshintergrund und Bezugsland in der Region {lab_de}",
            denominator="Einwohner",
            definition_de=f"Einwohner mit Migrationshintergrund, deren Bezugsland am Stichtag zur Region {lab_de} gehört.",
            definition_en=f"Residents with a migration background whose reference country belongs to the region {lab_en} on the reference date.",
            share_definition_de=f"Einwohner mit Migrationshintergrund aus der Region {lab_de} je 100 Einwohner.",
            share_definition_en=f"Residents with a migration background from the region {lab_en} per 100 residents.",
            source=migrapro,
        )
    for rank in range(1, p.top_countries_n + 1):
        c.add(
            id=f"top_country_{rank}", label_de=f"Bezugsland Rang {rank} (Personen)",
            label_en=f"Reference country rank {rank} (persons)", unit="Personen", family="migration",
            numerator=f"Einwohner mit Migrationshintergrund aus dem Bezugsland auf Rang {rank}", denominator=None,
            formula=f"Anzahl des Bezugslandes auf Rang {rank} der Häufigkeit (ohne XXX; Gleichstand: Ländercode alphabetisch)",
            source=migrapro, kind="count", comparable_over_time=False,
            definition_de=f"Zahl der Einwohner mit Migrationshintergrund aus dem Bezugsland auf Rang {rank} der Häufigkeit im Gebiet (das Land nennt die Tabelle der häufigsten Bezugsländer; 0, wenn es weniger Länder gibt).",
            definition_en=f"Number of residents with a migration background from the area's rank-{rank} reference country (country in the top-countries table; 0 when there are fewer countries).",
        )
    c.add(
        id="origin_diversity_shannon", label_de="Herkunftsvielfalt (Shannon-Index)",
        label_en="Origin diversity (Shannon index)", unit="Index", family="migration",
        numerator="Einwohner mit Migrationshintergrund je Bezugsland",
        denominator="Einwohner mit Migrationshintergrund und bekanntem Bezugsland",
        formula="H = −Σ_k p_k ln p_k, p_k = Anteil des Bezugslandes k", min_denominator=DEFAULT_MIN_DENOMINATOR,
        source="Shannon 1948", kind="index",
        definition_de="Shannon-Entropie (natürlicher Logarithmus) der Bezugsländer unter den Einwohnern mit Migrationshintergrund (ohne ungeklärtes Bezugsland XXX).",
        definition_en="Shannon entropy (natural log) of the reference countries among residents with a migration background (unknown country XXX left out).",
    )
    c.add(
        id="origin_diversity_simpson", label_de="Herkunftsvielfalt (Simpson-Index)",
        label_en="Origin diversity (Simpson index)", unit="Index", family="migration",
        numerator="Einwohner mit Migrationshintergrund je Bezugsland",
        denominator="Einwohner mit Migrationshintergrund und bekanntem Bezugsland",
        formula="D = 1 − Σ_k p_k²", min_denominator=DEFAULT_MIN_DENOMINATOR, source="Simpson 1949", kind="index",
        definition_de="Wahrscheinlichkeit, dass zwei zufällig gezogene Einwohner mit Migrationshintergrund verschiedene Bezugsländer haben (ohne ungeklärtes Bezugsland XXX).",
        definition_en="Probability that two randomly drawn residents with a migration background have different reference countries (unknown country XXX left out).",
    )
    c.count_share(
        "eg_immigrant", "migration",
        label_de="Eingewanderte (Einwanderungsgeschichte)", label_en="Immigrants (immigration history)",
        share_label_de="Anteil Eingewanderte", share_label_en="Share of immigrants",
        numerator="Seit 1950 nach Deutschland Eingewanderte", denominator="Einwohner",
        definition_de="Einwohner, die seit 1950 nach Deutschland eingewandert sind (erste Generation).",
        definition_en="Residents who immigrated into Germany since 1950 (first generation).",
        share_definition_de="Eingewanderte je 100 Einwohner.",
        share_definition_en="Immigrants per 100 residents.",
        source=eg_source,
    )
    c.count_share(
        "eg_descendant_minors", "migration",
        label_de="Minderjährige Nachkommen von Eingewanderten",
        label_en="Minor descendants of immigrants",
        share_label_de="Anteil Nachkommen von Eingewanderten unter Minderjährigen",
        share_label_en="Share of descendants of immigrants among minors",
        numerator=f"In Deutschland geborene Einwohner unter {minor} Jahren mit zwei eingewanderten Elternteilen",
        denominator=f"Einwohner unter {minor} Jahren",
        definition_de=f"In Deutschland geborene Einwohner unter {minor} Jahren, deren beide Elternteile eingewandert sind (nur über Elternverknüpfungen bestimmbar).",
        definition_en=f"Residents under {minor} born in Germany whose two parents both immigrated (derivable only through parent links).",
        share_definition_de=f"Minderjährige Nachkommen von Eingewanderten je 100 Einwohner unter {minor} Jahren.",
        share_definition_en=f"Minor descendants of immigrants per 100 residents under {minor}.",
        source=eg_source,
    )
    c.count_share(
        "eg_one_sided_minors", "migration",
        label_de="Minderjährige mit einseitiger Einwanderungsgeschichte",
        label_en="Minors with a one-sided immigration history",
        share_label_de="Anteil mit einseitiger Einwanderungsgeschichte unter Minderjährigen",
        share_label_en="Share with a one-sided immigration history among minors",
        numerator=f"In Deutschland geborene Einwohner unter {minor} Jahren mit genau einem eingewanderten Elternteil",
        denominator=f"Einwohner unter {minor} Jahren",
        definition_de=f"In Deutschland geborene Einwohner unter {minor} Jahren mit genau einem eingewanderten Elternteil (zählt nicht als Einwanderungsgeschichte).",
        definition_en=f"Residents under {minor} born in Germany with exactly one immigrant parent (not counted as an immigration history).",
        share_definition_de=f"Minderjährige mit einseitiger Einwanderungsgeschichte je 100 Einwohner unter {minor} Jahren.",
        share_definition_en=f"Minors with a one-sided immigration history per 100 residents under {minor}.",
        source=eg_source,
    )
    c.count_share(
        "eg_not_determinable", "migration",
        label_de="Einwanderungsgeschichte nicht bestimmbar", label_en="Immigration history not determinable",
        share_label_de="Anteil Einwanderungsgeschichte nicht bestimmbar",
        share_label_en="Share with immigration history not determinable",
        numerator="Einwohner ohne bestimmbare Einwanderungsgeschichte", denominator="Einwohner",
        definition_de="In Deutschland geborene Einwohner ohne Elternverknüpfung (vor allem Erwachsene), deren Einwanderungsgeschichte das Register nicht bestimmen kann; die Einwanderungsgeschichte wird für sie untererfasst.",
        definition_en="Residents born in Germany without parent links (mostly adults) whose immigration history the register cannot determine; it is undercounted for them.",
        share_definition_de="Einwohner ohne bestimmbare Einwanderungsgeschichte je 100 Einwohner.",
        share_definition_en="Residents whose immigration history is not determinable per 100 residents.",
        source=eg_source,
    )

    # ---------------------------------------------------------------------------------- households
    hhgen = "KOSIS HHGen (generierte Haushalte)"
    c.add(
        id="households", label_de="Haushalte", label_en="Households", unit="Haushalte", family="households",
        numerator="Haushalte (Haushaltskennung)", denominator=None, formula="Zahl der verschiedenen Haushaltskennungen",
        source=hhgen, kind="count",
        definition_de="Zahl der generierten Privathaushalte; ein Haushalt zählt im Gebiet, in dem die meisten seiner Mitglieder wohnen (Personen in Einrichtungen ausgenommen).",
        definition_en="Number of generated private households; a household counts in the area where most of its members live (persons in institutions excluded).",
    )
    c.add(
        id="household_size_mean", label_de="Durchschnittliche Haushaltsgröße", label_en="Mean household size",
        unit="Personen je Haushalt", family="households", numerator="Personen in Privathaushalten",
        denominator="Haushalte", formula="Personen in Privathaushalten / Haushalte",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source=hhgen, kind="mean",
        definition_de="Personen in Privathaushalten je Haushalt.",
        definition_en="Persons in private households per household.",
    )
    c.count_share(
        "single_person_households", "households",
        label_de="Einpersonenhaushalte", label_en="Single-person households",
        share_label_de="Anteil Einpersonenhaushalte", share_label_en="Share of single-person households",
        numerator="Haushalte mit einer Person", denominator="Haushalte",
        definition_de="Privathaushalte mit genau einer Person.",
        definition_en="Private households with exactly one member.",
        share_definition_de="Einpersonenhaushalte je 100 Haushalte.",
        share_definition_en="Single-person households per 100 households.",
        source=hhgen, unit="Haushalte",
    )
    c.count_share(
        "households_with_minors", "households",
        label_de="Haushalte mit Minderjährigen", label_en="Households with minors",
        share_label_de="Anteil Haushalte mit Minderjährigen", share_label_en="Share of households with minors",
        numerator=f"Haushalte mit mindestens einer Person unter {minor} Jahren", denominator="Haushalte",
        definition_de=f"Privathaushalte mit mindestens einer Person unter {minor} Jahren.",
        definition_en=f"Private households with at least one member under {minor}.",
        share_definition_de="Haushalte mit Minderjährigen je 100 Haushalte.",
        share_definition_en="Households with minors per 100 households.",
        source=hhgen, unit="Haushalte",
    )
    sp_def_de = (
        f"Haushalte mit Minderjährigen und genau einer Person ab {minor} Jahren, die im Register als Mutter "
        "oder Vater eines Minderjährigen desselben Haushalts verknüpft ist"
    )
    sp_def_en = (
        f"Households with minors and exactly one member aged {minor}+, who is linked in the register as mother "
        "or father of a minor in the same household"
    )
    c.count_share(
        "single_parent_households", "households",
        label_de="Alleinerziehendenhaushalte", label_en="Single-parent households",
        share_label_de="Anteil Alleinerziehende an Haushalten mit Minderjährigen",
        share_label_en="Share of single-parent households among households with minors",
        numerator="Alleinerziehendenhaushalte", denominator="Haushalte mit Minderjährigen",
        definition_de=sp_def_de + " (Haushalte mit volljährigen Kindern oder fehlender Elternverknüpfung zählen nicht).",
        definition_en=sp_def_en + " (households with adult children or a missing parent link do not count).",
        share_definition_de="Alleinerziehendenhaushalte je 100 Haushalte mit Minderjährigen.",
        share_definition_en="Single-parent households per 100 households with minors.",
        source=hhgen, unit="Haushalte",
    )
    c.count_share(
        "minors_single_parent", "households",
        label_de="Minderjährige bei Alleinerziehenden", label_en="Minors living with a single parent",
        share_label_de="Anteil Minderjährige bei Alleinerziehenden",
        share_label_en="Share of minors living with a single parent",
        numerator="Minderjährige in Alleinerziehendenhaushalten", denominator="Minderjährige in Privathaushalten",
        definition_de="Minderjährige, die in einem Alleinerziehendenhaushalt leben.",
        definition_en="Minors living in a single-parent household.",
        share_definition_de="Minderjährige in Alleinerziehendenhaushalten je 100 Minderjährige in Privathaushalten.",
        share_definition_en="Minors in single-parent households per 100 minors in private households.",
        source=hhgen,
    )
    c.count_share(
        "seniors_alone", "households",
        label_de=f"Alleinlebende ab {o} Jahren", label_en=f"Residents aged {o}+ living alone",
        share_label_de=f"Anteil Alleinlebende an Einwohnern ab {o} Jahren",
        share_label_en=f"Share living alone among residents aged {o}+",
        numerator=f"Personen ab {o} Jahren in Einpersonenhaushalten",
        denominator=f"Personen ab {o} Jahren in Privathaushalten",
        definition_de=f"Personen ab {o} Jahren, die allein in einem Privathaushalt leben.",
        definition_en=f"Persons aged {o}+ living alone in a private household.",
        share_definition_de=f"Alleinlebende ab {o} Jahren je 100 Personen ab {o} Jahren in Privathaushalten.",
        share_definition_en=f"Persons aged {o}+ living alone per 100 persons aged {o}+ in private households.",
        source=hhgen,
    )
    c.count_share(
        "households_with_mh", "households",
        label_de="Haushalte mit Migrationshintergrund", label_en="Households with a migration background",
        share_label_de="Anteil Haushalte mit Migrationshintergrund",
        share_label_en="Share of households with a migration background",
        numerator="Haushalte mit mindestens einem Mitglied mit Migrationshintergrund", denominator="Haushalte",
        definition_de="Privathaushalte mit mindestens einem Mitglied mit Migrationshintergrund.",
        definition_en="Private households with at least one member with a migration background.",
        share_definition_de="Haushalte mit Migrationshintergrund je 100 Haushalte.",
        share_definition_en="Households with a migration background per 100 households.",
        source=hhgen, unit="Haushalte",
    )
    c.add(
        id="persons_in_institutions", label_de="Personen in Einrichtungen",
        label_en="Persons in institutions", unit="Personen", family="households",
        numerator="Personen ohne Haushaltszuordnung (Haushaltskennung leer)", denominator=None,
        formula="Zahl der Personen ohne Haushaltskennung", source=hhgen, kind="count",
        definition_de="Einwohner ohne generierten Privathaushalt (Pflegeheime, Gemeinschaftsunterkünfte); sie bleiben bei den Haushaltskennzahlen unberücksichtigt.",
        definition_en="Residents without a generated private household (care homes, shared accommodation); they are left out of the household indicators.",
    )

    # ------------------------------------------------------------------------------------ mobility
    r, m = p.residence_years, p.recent_move_years
    wander = "Destatis (Wanderungsstatistik)"
    c.add(
        id="residence_5y", label_de=f"Wohndauer {r} Jahre und länger",
        label_en=f"Residence of {r} years or more at the address", unit="%", family="mobility",
        numerator=f"Einwohner ab {r} Jahren, seit mindestens {r} Jahren an der Adresse",
        denominator=f"Einwohner ab {r} Jahren",
        formula=f"100 × (Einzug an die Adresse ≤ Stichtag − {r} Jahre) / Einwohner ab {r} Jahren",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source="Melderegister; Berlin MSS 2023", kind="share",
        definition_de=f"Einwohner ab {r} Jahren, die seit mindestens {r} Jahren an ihrer Adresse wohnen, je 100 Einwohner ab {r} Jahren.",
        definition_en=f"Residents aged {r}+ living at their address for {r} years or more per 100 residents aged {r}+.",
    )
    move_base = f"Einwohner ab {m} Jahren" if m > 1 else "Einwohner ab 1 Jahr"
    within_de = "im letzten Jahr" if m == 1 else f"in den letzten {m} Jahren"
    within_en = "within the last year" if m == 1 else f"within the last {m} years"
    years_de = "1 Jahr" if m == 1 else f"{m} Jahre"
    c.add(
        id="moved_address_1y", label_de=f"Zuzug an die Adresse {within_de}",
        label_en=f"Moved into the address {within_en}", unit="%", family="mobility",
        numerator=f"{move_base} mit Einzug an die Adresse nach Stichtag − {years_de}", denominator=move_base,
        formula=f"100 × (Stichtag − {m} J. < Einzug an die Adresse ≤ Stichtag) / {move_base}",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source="Melderegister", kind="share",
        definition_de=f"{move_base}, die {within_de} an ihre Adresse gezogen sind, je 100 {move_base} (Neugeborene bleiben unberücksichtigt).",
        definition_en=f"Residents aged {m}+ who moved into their address {within_en} per 100 residents aged {m}+ (newborns left out).",
    )
    c.add(
        id="moved_city_1y", label_de=f"Zuzug in die Stadt {within_de}",
        label_en=f"Moved into the city {within_en}", unit="%", family="mobility",
        numerator=f"{move_base} mit Zuzug in die Stadt nach Stichtag − {years_de}", denominator=move_base,
        formula=f"100 × (Stichtag − {m} J. < Zuzug in die Stadt ≤ Stichtag) / {move_base}",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source="Melderegister", kind="share",
        definition_de=f"{move_base}, die {within_de} in die Stadt gezogen sind, je 100 {move_base}.",
        definition_en=f"Residents aged {m}+ who moved into the city {within_en} per 100 residents aged {m}+.",
    )
    flows = [
        ("births", "Geburten", "Births",
         "Personen, die seit dem vorigen Stichtag neu im Register sind und seit Geburt in der Stadt wohnen (kein Zuzugsdatum).",
         "Persons new in the register since the previous reference date who have lived in the city since birth (no move-in date)."),
        ("in_movers", "Zuzüge von außerhalb", "In-movers from outside the city",
         "Personen, die seit dem vorigen Stichtag neu im Register sind, ohne Geburten.",
         "Persons new in the register since the previous reference date, births excluded."),
        ("out_movers", "Abgänge (Fortzüge und Sterbefälle)", "Departures (out-moves and deaths)",
         "Personen des vorigen Stichtags, die nicht mehr im Register sind, gezählt im Gebiet des vorigen Stichtags; das Register unterscheidet Fortzüge nicht von Sterbefällen.",
         "Persons of the previous reference date no longer in the register, counted in their previous area; the register cannot tell out-moves from deaths."),
        ("intra_city_in", "Umzüge aus anderen Stadtbezirken", "Moves in from other districts",
         "Personen, die an beiden Stichtagen gemeldet sind und deren Stadtbezirk gewechselt hat, gezählt im neuen Bezirk (Stadtsumme: Zahl der Bezirkswechsel).",
         "Persons registered on both dates whose district changed, counted in the new district (city: number of district changes)."),
        ("intra_city_out", "Umzüge in andere Stadtbezirke", "Moves out to other districts",
         "Personen, die an beiden Stichtagen gemeldet sind und deren Stadtbezirk gewechselt hat, gezählt im alten Bezirk (Stadtsumme: Zahl der Bezirkswechsel).",
         "Persons registered on both dates whose district changed, counted in the old district (city: number of district changes)."),
    ]
    for fid, lde, len_, dde, den in flows:
        c.add(
            id=fid, label_de=lde, label_en=len_, unit="Personen", family="mobility", numerator=lde,
            denominator=None, formula="Abgleich der Personenkennungen (Pseudonyme) zwischen vorigem und aktuellem Stichtag",
            source=wander + "; Melderegister (stabile Pseudonyme)", kind="count", definition_de=dde,
            definition_en=den,
        )
    mean_pop = "mittlere Einwohnerzahl B = (Einwohner vorheriger + aktueller Stichtag) / 2"
    c.add(
        id="turnover", label_de="Mobilitätsziffer (Wanderungsvolumen je 1.000 Einwohner)",
        label_en="Turnover (migration volume per 1,000 residents)", unit="je 1.000", family="mobility",
        numerator="Zuzüge + Abgänge (Bezirke: einschließlich Umzüge über die Bezirksgrenze)", denominator=mean_pop,
        formula=("1000 × (Zuzüge + Abgänge) / B; Bezirke: Zuzüge = Zuzüge von außerhalb + Umzüge aus anderen "
                 "Stadtbezirken, Abgänge = Abgänge aus der Stadt + Umzüge in andere Stadtbezirke; Stadt: Zuzüge von "
                 "außerhalb + Abgänge aus der Stadt"),
        min_denominator=DEFAULT_MIN_DENOMINATOR, source=wander, kind="rate",
        definition_de="Summe der Zuzüge und Abgänge zwischen zwei Stichtagen je 1.000 Einwohner im Mittel beider Stichtage (Geburten nicht, Sterbefälle als Abgänge gezählt).",
        definition_en="In-moves plus departures between two reference dates per 1,000 mean residents (births not counted, deaths counted as departures).",
    )
    c.add(
        id="net_migration", label_de="Wanderungssaldo je 1.000 Einwohner",
        label_en="Net migration per 1,000 residents", unit="je 1.000", family="mobility",
        numerator="Zuzüge − Abgänge (Bezirke: einschließlich Umzüge über die Bezirksgrenze)", denominator=mean_pop,
        formula="1000 × (Zuzüge − Abgänge) / B (Zuzüge und Abgänge wie bei der Mobilitätsziffer)",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source=wander, kind="rate",
        definition_de="Zuzüge minus Abgänge zwischen zwei Stichtagen je 1.000 Einwohner im Mittel beider Stichtage; da das Register Sterbefälle nicht von Fortzügen trennt, enthalten die Abgänge die Sterbefälle.",
        definition_en="In-moves minus departures between two reference dates per 1,000 mean residents; departures include deaths, which the register cannot tell from out-moves.",
    )

    # -------------------------------------------------------------------------------------- milieu
    mss = "Berlin MSS 2023"
    c.add(
        id="sgb2_rate", label_de="SGB-II-Quote", label_en="SGB II benefit rate", unit="%", family="milieu",
        numerator="Leistungsberechtigte nach SGB II unter 65 Jahren (Zulieferung)", denominator=f"Einwohner unter {o} Jahren",
        formula=f"100 × SGB-II-Leistungsberechtigte / Einwohner unter {o}", min_denominator=DEFAULT_MIN_DENOMINATOR,
        source=mss + "; Bundesagentur für Arbeit", kind="share",
        definition_de=f"Leistungsberechtigte nach SGB II je 100 Einwohner unter {o} Jahren.",
        definition_en=f"SGB II benefit recipients per 100 residents under {o}.",
    )
    lf_lo, lf_hi = p.labour_force_ages
    c.add(
        id="unemployment_rate", label_de="Arbeitslosenanteil", label_en="Unemployment share", unit="%",
        family="milieu", numerator="Arbeitslose (SGB II und III, Zulieferung)",
        denominator=f"Einwohner von {lf_lo} bis {lf_hi} Jahren",
        formula=f"100 × Arbeitslose / Einwohner {lf_lo}–{lf_hi}", min_denominator=DEFAULT_MIN_DENOMINATOR,
        source=mss + "; Bundesagentur für Arbeit", kind="share",
        definition_de=f"Arbeitslose je 100 Einwohner von {lf_lo} bis einschließlich {lf_hi} Jahren.",
        definition_en=f"Unemployed persons per 100 residents aged {lf_lo} to {lf_hi}.",
    )
    k = p.child_poverty_age_limit
    c.add(
        id="child_poverty", label_de=f"Kinderarmut (SGB II, unter {k} Jahren)",
        label_en=f"Child poverty (SGB II, under {k})", unit="%", family="milieu",
        numerator=f"Kinder unter {k} Jahren in SGB-II-Bedarfsgemeinschaften (Zulieferung)",
        denominator=f"Einwohner unter {k} Jahren", formula=f"100 × Kinder in SGB II / Einwohner unter {k}",
        min_denominator=DEFAULT_MIN_DENOMINATOR, source=mss + "; Bundesagentur für Arbeit", kind="share",
        definition_de=f"Kinder unter {k} Jahren in SGB-II-Bedarfsgemeinschaften je 100 Einwohner unter {k} Jahren.",
        definition_en=f"Children under {k} in SGB II households per 100 residents under {k}.",
    )
    n_min = p.composite_min_population
    z_note_de = (
        f"z-Werte über die Bezirke mit mindestens {n_min} Einwohnern (Mittelwert und Standardabweichung ohne "
        "kleinere Bezirke, die keinen Wert erhalten); Dimensionswert = gleichgewichteter Mittelwert der z-Werte"
    )
    z_note_en = (
        f"z-scores across districts with at least {n_min} residents (mean and standard deviation without the "
        "smaller districts, which get no value); dimension score = equal-weight mean of the z-scores"
    )
    for dim in MILIEU_DIMENSION_ORDER:
        label_de, label_en, high_de, high_en, src = _MILIEU_DIMENSION_TEXTS[dim]
        parts = ", ".join(f"{'' if sign > 0 else '−'}z({c.items[i].label_de})"
                          for i, sign in MILIEU_DIMENSIONS[dim])
        c.add(
            id=f"milieu_{dim}", label_de=label_de, label_en=label_en, unit="z-Wert", family="milieu",
            numerator=parts, denominator=None, formula=f"Mittelwert von {parts}", min_denominator=n_min,
            source=src, kind="score", definition_de=f"{z_note_de}; {high_de}.", definition_en=f"{z_note_en}; {high_en}.",
        )
    t = p.typology_threshold_sd
    t_de, t2_de = (f"{v:g}".replace(".", ",") for v in (t, 2 * t))
    k_lo, k_hi = p.typology_types
    share_de = f"{p.typology_min_explained * 100:g}".replace(".", ",")
    dims_de = ", ".join(_MILIEU_DIMENSION_TEXTS[d][0].removeprefix("Dimension ") for d in MILIEU_TYPOLOGY_DIMENSIONS)
    c.add(
        id="milieu_type", label_de="Quartierstyp", label_en="District type", unit="Typ", family="milieu",
        numerator=f"Dimensionswerte {dims_de}", denominator=None,
        formula=(
            "Ward-Clusteranalyse der standardisierten Dimensionswerte am ersten Stichtag; Zahl der Typen: die "
            f"kleinste Zahl von {k_lo} bis {k_hi} (höchstens die Zahl der Bezirke), bei der die Typen mindestens "
            f"{share_de} % der Streuung erklären; jeder Bezirk erhält an jedem Stichtag den Typ mit dem "
            "nächstgelegenen Typmittelpunkt. Typcode = Ziffernfolge Familie, Ältere, junge Erwachsene, "
            f"Migration, Mobilität des Typmittelpunkts: 1 deutlich unter (< −{t2_de} SD), 2 unter (< −{t_de} SD), "
            f"3 nahe am Durchschnitt, 4 über (> {t_de} SD), 5 deutlich über dem Durchschnitt (> {t2_de} SD), "
            "0 nicht verfügbar"
        ),
        min_denominator=n_min, source="Ward 1963; Shevky & Bell 1955; " + mss, kind="class",
        comparable_over_time=False,
        definition_de=("Typ des Bezirks aus einer Clusteranalyse seiner Dimensionswerte, einmal am ersten Stichtag "
                       "gebildet und an späteren Stichtagen beibehalten; Name und Beschreibung nennen, worin der "
                       "Typmittelpunkt vom Stadtdurchschnitt abweicht."),
        definition_en=("The district's type from a cluster analysis of its dimension scores, formed once on the "
                       "first reference date and kept on later dates; name and description say where the type "
                       "centre differs from the city average."),
    )
    hi_sd, lo_sd, vlo_sd = (f"{v:g}".replace(".", ",") for v in (p.status_high_sd, p.status_low_sd,
                                                                   p.status_very_low_sd))
    c.add(
        id="milieu_status_class", label_de="Statusklasse", label_en="Status class", unit="Klasse", family="milieu",
        numerator="Dimensionswert sozialer Status", denominator=None,
        formula=(f"z = standardisierter Statuswert; 1 hoch (z > {hi_sd}), 2 mittel, 3 niedrig (z < −{lo_sd}), "
                 f"4 sehr niedrig (z < −{vlo_sd}) (nur mit Zulieferdaten)"),
        min_denominator=n_min, source=mss + " (Statusindex)", kind="class", comparable_over_time=False,
        definition_de=("Klasse des Statusindex wie im Monitoring Soziale Stadtentwicklung Berlin: Lage des "
                       "Statuswerts des Bezirks gegenüber dem Mittel der Bezirke in Standardabweichungen."),
        definition_en=("Class of the status index as in Berlin's social monitoring (MSS): position of the "
                       "district's status score against the mean of the districts in standard deviations."),
    )
    d_sd = f"{p.dynamics_threshold_sd:g}".replace(".", ",")
    c.add(
        id="milieu_dynamics_class", label_de="Dynamikklasse", label_en="Dynamics class", unit="Klasse",
        family="milieu", numerator="Veränderung des Dimensionswerts sozialer Status zum vorigen Stichtag",
        denominator=None,
        formula=(f"z = standardisierte Veränderung des Statuswerts; 1 positiv (z > {d_sd}), 2 stabil, "
                 f"3 negativ (z < −{d_sd}) (nur mit Zulieferdaten und vorigem Stichtag)"),
        min_denominator=n_min, source=mss + " (Dynamikindex)", kind="class", comparable_over_time=False,
        definition_de=("Klasse der Veränderung des Statuswerts gegenüber dem vorigen Stichtag, gemessen an der "
                       "Streuung dieser Veränderung über die Bezirke."),
        definition_en=("Class of the change of the status score since the previous reference date, measured "
                       "against the spread of that change across the districts."),
    )
    c.add(
        id="milieu_excluded", label_de=f"Ohne Milieuwerte (unter {n_min} Einwohner)",
        label_en=f"No milieu scores (under {n_min} residents)", unit="Kennzeichen", family="milieu",
        numerator="Einwohner", denominator=None, formula=f"1, wenn Einwohner < {n_min}, sonst 0",
        source="Berlin MSS 2023; Geheimhaltung", kind="class", comparable_over_time=False,
        definition_de=f"Kennzeichen 1 für Bezirke mit weniger als {n_min} Einwohnern, die nicht standardisiert werden und keine Milieuwerte, keinen Quartierstyp und keine Status- und Dynamikklasse erhalten.",
        definition_en=f"Flag 1 for districts with fewer than {n_min} residents, which are not standardised and get no milieu scores, type, status or dynamics class.",
    )

    # -------------------------------------------------------------------------------- segregation
    grp = "Gruppe (z. B. Ausländer, mit Migrationshintergrund, Herkunftsregion) gegen die übrige Bevölkerung"
    seg = [
        ("seg_dissimilarity", "Segregationsindex (Dissimilarität D)", "Index of dissimilarity D",
         "D = Σ_i t_i |p_i − P| / (2 T P (1 − P)); in Berichten × 100", "index", "Duncan & Duncan 1955",
         "Anteil der Gruppe, der umziehen müsste, damit sie in allen Bezirken gleich verteilt wäre (0 bis 100).",
         "Share of the group that would have to move for an even distribution across districts (0 to 100)."),
        ("seg_isolation", "Isolationsindex xPx", "Isolation index xPx", "xPx = Σ_i (x_i / X)(x_i / t_i)",
         "index", "Massey & Denton 1988",
         "Durchschnittlicher Anteil der eigenen Gruppe im Bezirk eines Gruppenmitglieds.",
         "Mean share of the own group in the district of a group member."),
        ("seg_exposure", "Kontaktindex xPy", "Exposure index xPy", "xPy = Σ_i (x_i / X)(y_i / t_i)",
         "index", "Massey & Denton 1988",
         "Durchschnittlicher Anteil der übrigen Bevölkerung im Bezirk eines Gruppenmitglieds.",
         "Mean share of the rest of the population in the district of a group member."),
        ("seg_theil", "Entropieindex (Theils H)", "Entropy index (Theil's H)",
         "H = Σ_i t_i (E − E_i) / (E T), E = Entropie der Stadt", "index", "Theil 1972; White 1986",
         "Relative Abnahme der Durchmischung (Entropie) in den Bezirken gegenüber der Stadt (0 bis 1).",
         "Relative reduction of diversity (entropy) in the districts compared with the city (0 to 1)."),
        ("seg_multigroup_theil", "Multigruppen-Entropieindex H", "Multigroup entropy index H",
         "H = Σ_i t_i (E − E_i) / (E T) über alle Herkunftsregionen", "index", "Reardon & Firebaugh 2002",
         "Entropieindex über alle Herkunftsgruppen zugleich (0 bis 1).",
         "Entropy index over all origin groups at once (0 to 1)."),
        ("seg_multigroup_dissimilarity", "Multigruppen-Dissimilaritätsindex", "Multigroup dissimilarity index",
         "D = Σ_i Σ_m t_i |π_im − π_m| / (2 T I), I = Σ_m π_m (1 − π_m)", "index", "Reardon & Firebaugh 2002",
         "Dissimilaritätsindex über alle Herkunftsgruppen zugleich (0 bis 1).",
         "Dissimilarity index over all origin groups at once (0 to 1)."),
        ("seg_gini", "Gini-Segregationsindex", "Gini segregation index",
         "G = Σ_i Σ_j t_i t_j |p_i − p_j| / (2 T² P (1 − P))", "index", "Massey & Denton 1988",
         "Mittlere absolute Differenz der Gruppenanteile zwischen allen Bezirkspaaren, normiert (0 bis 1).",
         "Mean absolute difference of group shares between all pairs of districts, normalised (0 to 1)."),
        ("moran_i", "Moran's I (räumliche Autokorrelation)", "Moran's I (spatial autocorrelation)",
         "I = (n / S0) zᵀWz / zᵀz, Queen-Nachbarschaft zeilenstandardisiert, Permutationstest mit festem Seed",
         "index", "Moran 1950; PySAL esda",
         "Maß dafür, ob benachbarte Bezirke ähnliche Gruppenanteile haben (positiv: räumliche Ballung).",
         "Whether neighbouring districts have similar group shares (positive: spatial clustering)."),
    ]
    for sid, lde, len_, formula, kind, src, dde, den in seg:
        c.add(
            id=sid, label_de=lde, label_en=len_, unit="Klasse" if kind == "class" else "Index",
            family="segregation",
            numerator="Einwohner je Herkunftsregion" if sid.startswith("seg_multigroup") else grp,
            denominator="Einwohner" if sid != "moran_i" else None,
            formula=formula, source=src, kind=kind, comparable_over_time=kind != "class",
            definition_de=dde, definition_en=den,
        )
    # Per district and group: location quotient and LISA class (ids carry the group, see SEGREGATION_GROUPS).
    for gid, glabel_de, glabel_en in SEGREGATION_GROUPS:
        c.add(
            id=f"location_quotient_{gid}", label_de=f"Lokalisationsquotient: {glabel_de}",
            label_en=f"Location quotient: {glabel_en}", unit="Index", family="segregation",
            numerator=f"Anteil {glabel_de} im Bezirk", denominator=f"Anteil {glabel_de} in der Stadt",
            formula="LQ_i = p_i / P", source="Isard 1960; PySAL segregation", kind="ratio",
            min_denominator=DEFAULT_MIN_DENOMINATOR,
            definition_de=f"Anteil der Gruppe „{glabel_de}“ im Bezirk im Verhältnis zu ihrem Anteil in der Stadt (1 = Stadtdurchschnitt).",
            definition_en=f"Share of the group '{glabel_en}' in the district relative to its city share (1 = city average).",
        )
        c.add(
            id=f"lisa_class_{gid}", label_de=f"LISA-Cluster: {glabel_de}", label_en=f"LISA cluster: {glabel_en}",
            unit="Klasse", family="segregation", numerator=f"Anteil {glabel_de} im Bezirk", denominator=None,
            formula="lokales Moran's I des Anteils, Queen-Nachbarschaft, Permutationstest (999, fester Seed), "
                    "α = 0,05; Code 1 Hoch-Hoch, 2 Niedrig-Niedrig, 3 Hoch-Niedrig, 4 Niedrig-Hoch, "
                    "0 nicht signifikant, −1 ohne Nachbarn",
            source="Anselin 1995; PySAL esda", kind="class", comparable_over_time=False,
            definition_de=f"Lokaler Clustertyp des Bezirks für den Anteil „{glabel_de}“ nach dem lokalen Moran's I.",
            definition_en=f"Local cluster type of the district for the share '{glabel_en}' by local Moran's I.",
        )
    short = short_names_de(p)
    items = {key: replace(ind, short_de=short.get(key, ind.label_de)) for key, ind in c.items.items()}
    return _with_structure(items, p)


def _age_cell_id(lower: int, upper: int | None, params: IndicatorParameters) -> str:
    """Id of the cell "residents aged [lower, upper)": the age group, minors or young adults where it is
    one of them, else ``pop_age_LL_UU`` / ``pop_age_LLplus``."""
    if (lower, upper) in age_groups(params):
        return age_group_id(lower, upper)
    if (lower, upper) == (0, params.minor_age_limit):
        return "minors"
    ya_lo, ya_hi = params.young_adult_ages
    if (lower, upper) == (ya_lo, ya_hi + 1):
        return "young_adults"
    return f"pop_{age_group_id(lower, upper)}"


def _with_structure(items: dict[str, Indicator], p: IndicatorParameters) -> Catalogue:
    """The catalogue with every indicator's cells, the additive relations and the featured groups."""
    from dataclasses import replace

    cells: dict[str, Cell] = {}

    def cell(cell_id: str, label_de: str, population: Population | None = None, count: bool = True) -> str:
        cells.setdefault(cell_id, Cell(cell_id, label_de, population, count))
        return cell_id

    def ages(lower: int, upper: int | None, **restriction) -> str:
        population = Population(ages=(lower, upper), **restriction)
        if population.age_only:
            cell_id = _age_cell_id(lower, upper, p)
        else:
            where = {"private": "_in_households", "institutions": "_in_institutions"}.get(population.households, "")
            base = {(0, None): "persons", (0, minor): "minors"}.get((lower, upper), age_group_id(lower, upper))
            cell_id = base + where + ("_address_known" if population.address_known else "")
        band = age_group_label_de(lower, upper) if (lower, upper) != (0, None) else "alle Altersjahre"
        return cell(cell_id, f"Einwohner {band}", population)

    minor, o, y = p.minor_age_limit, p.old_age_limit, p.youth_age_limit
    groups = age_groups(p)
    group_ids = [age_group_id(lo, hi) for lo, hi in groups]
    minors_ = Population(ages=(0, minor))
    count_population: dict[str, Population | None] = {
        "pop": Population(),
        **{gid: Population(ages=(lo, hi)) for gid, (lo, hi) in zip(group_ids, groups)},
        "minors": minors_,
        "young_adults": Population(ages=(p.young_adult_ages[0], p.young_adult_ages[1] + 1)),
        "foreign": Population(mh_status=("foreign",)),
        "german_personal_mh": Population(mh_status=("german_personal_mh",)),
        "german_familial_mh": Population(mh_status=("german_familial_mh",)),
        "german_with_mh": Population(mh_status=("german_personal_mh", "german_familial_mh")),
        "german_no_mh": Population(mh_status=("german_no_mh",)),
        "with_mh": Population(has_mh=True),
        "with_mh_minors": Population(ages=(0, minor), has_mh=True),
        **{f"origin_region_{code}": Population(has_mh=True, origin_region=code) for code, _, _ in ORIGIN_REGIONS},
        "eg_immigrant": Population(eg_status="immigrant"),
        "eg_descendant_minors": Population(ages=(0, minor), eg_status="descendant"),
        "eg_one_sided_minors": Population(ages=(0, minor), eg_status="one_sided"),
        "eg_not_determinable": Population(eg_status="not_determinable"),
        "persons_in_institutions": Population(households="institutions"),
    }
    structure: dict[str, tuple[str | None, str | None, tuple[str, ...], bool]] = {}
    for ind in items.values():
        if ind.kind == "count":
            cell(ind.id, ind.label_de, count_population.get(ind.id))
            structure[ind.id] = (ind.id, None, (ind.id,), False)

    households = "households"
    share_denominator = {
        "with_mh_minors": "minors", "eg_descendant_minors": "minors", "eg_one_sided_minors": "minors",
        "single_person_households": households, "households_with_minors": households,
        "households_with_mh": households, "single_parent_households": "households_with_minors",
        "minors_single_parent": ages(0, minor, households="private"),
        "seniors_alone": ages(o, None, households="private"),
    }
    for ind in items.values():
        twin = ind.id.removesuffix("_share")
        if ind.kind == "share" and twin != ind.id and twin in items:
            den = share_denominator.get(twin, "pop")
            structure[ind.id] = (twin, den, (twin, den), False)

    r, m = p.residence_years, p.recent_move_years
    lf_lo, lf_hi = p.labour_force_ages
    k = p.child_poverty_age_limit
    own = {
        "residence_5y": (cell("residence_long", items["residence_5y"].numerator), ages(r, None, address_known=True)),
        "moved_address_1y": (cell("moved_address_recent", items["moved_address_1y"].numerator),
                             ages(m, None, address_known=True)),
        "moved_city_1y": (cell("moved_city_recent", items["moved_city_1y"].numerator), ages(m, None)),
        "sgb2_rate": (cell("sgb2_recipients", items["sgb2_rate"].numerator), ages(0, o)),
        "unemployment_rate": (cell("unemployed", items["unemployment_rate"].numerator), ages(lf_lo, lf_hi + 1)),
        "child_poverty": (cell("children_in_sgb2", items["child_poverty"].numerator), ages(0, k)),
    }
    for key, (num, den) in own.items():
        structure[key] = (num, den, (num, den), False)

    youth, working, old = ages(0, y), ages(y, o), ages(o, None)
    men = cell("men", "Männer", Population(sex="m"))
    women = cell("women", "Frauen", Population(sex="w"))
    in_households = ages(0, None, households="private")
    flows = ("in_movers", "out_movers", "intra_city_in", "intra_city_out")
    mean_pop = cell("mean_pop", "mittlere Einwohnerzahl beider Stichtage", count=False)
    ratios = {
        "density": ("pop", cell("area_km2", "Fläche in km²", count=False), ("pop",)),
        "sex_ratio": (men, women, (men, women)),
        "mean_age": (cell("age_sum", "Summe der vollendeten Lebensjahre", count=False), "pop", ("pop",)),
        "youth_ratio": (youth, working, (youth, working, old)),
        "old_age_ratio": (old, working, (youth, working, old)),
        "household_size_mean": (in_households, households, (in_households, households)),
        "turnover": (cell("moves_volume", "Zuzüge + Abgänge"), mean_pop, ("pop", *flows)),
        "net_migration": (cell("moves_net", "Zuzüge − Abgänge", count=False), mean_pop, ("pop", *flows)),
    }
    for key, (num, den, back) in ratios.items():
        structure[key] = (num, den, back, False)
    known_country = cell("with_mh_known_country", items["origin_diversity_shannon"].denominator)
    for key in ("origin_diversity_shannon", "origin_diversity_simpson"):
        structure[key] = (None, known_country, (), False)
    for gid, _, _ in SEGREGATION_GROUPS:
        group = gid if gid in ("foreign", "with_mh") else f"origin_{gid}"
        structure[f"location_quotient_{gid}"] = (group, "pop", ("pop", group), True)

    items = {
        key: replace(ind, numerator_id=structure[key][0], denominator_id=structure[key][1],
                     gives_back=tuple(structure[key][2]), relative_to_city=structure[key][3])
        if key in structure and key in items else ind
        for key, ind in items.items()
    }
    relations = [
        Relation("mh_status", "pop", ("foreign", "german_personal_mh", "german_familial_mh", "german_no_mh")),
        Relation("german_with_mh", "german_with_mh", ("german_personal_mh", "german_familial_mh")),
        Relation("with_mh", "with_mh", ("foreign", "german_with_mh")),
        Relation("origin_regions", "with_mh", tuple(f"origin_region_{code}" for code, _, _ in ORIGIN_REGIONS)),
        Relation("age_groups", "pop", tuple(group_ids)),
    ]
    if minor in p.age_group_lower_bounds:  # else the minors cut an age group: see the disclosure's age cuts
        relations.append(Relation("minor_age_groups", "minors",
                                  tuple(g for g, (lo, hi) in zip(group_ids, groups) if hi is not None and hi <= minor)))
    relations += [
        Relation("sex", "pop", (men, women)),
        Relation("dependency_ages", "pop", (youth, working, old)),
        Relation("household_membership", "pop", (in_households, "persons_in_institutions")),
    ]
    catalogue = Catalogue(items)
    catalogue.params = p
    catalogue.cells = cells
    catalogue.relations = tuple(relations)
    old_groups = [f"{g}_share" for g, (lo, _) in zip(group_ids, groups) if lo >= o]
    catalogue.groups = {
        # the planners' time-series workbook (one sheet each)
        "time_series": (
            "pop", "foreign_share", "with_mh_share", "with_mh_minors_share", "german_with_mh_share",
            "minors_share", *old_groups, "youth_ratio", "old_age_ratio", "households",
            "single_person_households_share", "households_with_minors_share", "residence_5y", "turnover",
            "net_migration",
        ),
        # key figures of the report's summary (city total)
        "summary": ("pop", "foreign_share", "with_mh_share", "with_mh_minors_share", "households"),
        # key figures of a district's profile page (district, city, changes, trend line), in page order
        "profile": ("pop", "mean_age", "minors_share", "old_age_ratio", "foreign_share", "with_mh_share",
                    "with_mh_minors_share", "households", "household_size_mean", "single_person_households_share",
                    "households_with_minors_share", "residence_5y"),
        # segregation indices of the report: per group, and over all origin regions at once
        "two_group_indices": ("seg_dissimilarity", "seg_isolation", "seg_exposure", "seg_theil", "seg_gini",
                              "moran_i"),
        "multigroup_indices": ("seg_multigroup_theil", "seg_multigroup_dissimilarity"),
        # the report's district tables (columns), in report order
        "table_population": ("pop", "density", "mean_age", "youth_ratio", "old_age_ratio", "minors_share"),
        "table_age_groups": tuple(f"{g}_share" for g in group_ids),
        "table_migration": ("foreign_share", "german_personal_mh_share", "german_familial_mh_share",
                            "with_mh_share", "with_mh_minors_share"),
        "table_immigration_history": ("eg_immigrant_share", "eg_descendant_minors_share",
                                      "eg_one_sided_minors_share", "eg_not_determinable_share"),
        "table_origin_regions": tuple(f"origin_region_{code}_share" for code, _, _ in ORIGIN_REGIONS),
        "table_households": ("households", "household_size_mean", "single_person_households_share",
                             "households_with_minors_share", "single_parent_households_share",
                             "seniors_alone_share", "households_with_mh_share"),
        "table_mobility": ("residence_5y", "moved_address_1y", "moved_city_1y", "in_movers", "out_movers",
                           "turnover", "net_migration"),
        "table_milieu": tuple(f"milieu_{d}" for d in MILIEU_DIMENSION_ORDER),
        "table_milieu_classes": ("milieu_type", "milieu_status_class", "milieu_dynamics_class"),
        "table_segregation": ("location_quotient_foreign", "location_quotient_with_mh", "lisa_class_foreign",
                              "lisa_class_with_mh"),
        "table_location_quotients_regions": tuple(f"location_quotient_region_{code}" for code, _, _ in ORIGIN_REGIONS),
        # indicators drawn as district trends over all reference dates
        "trends": ("foreign_share", "with_mh_share"),
        # indicators mapped as choropleths, in report order
        "maps": ("density", "youth_ratio", "old_age_ratio", "foreign_share", "with_mh_share", "with_mh_minors_share",
                 "households_with_minors_share", "residence_5y"),
        # indicators offered by the interactive map (karte.html), in the order of its select: the maps'
        # indicators and further shares, ratios and means a planner looks up by district
        "interactive_map": ("pop", "density", "mean_age", "minors_share", "youth_ratio", "old_age_ratio",
                            "foreign_share", "with_mh_share", "with_mh_minors_share", "eg_immigrant_share",
                            "location_quotient_foreign", "households", "household_size_mean",
                            "single_person_households_share", "households_with_minors_share",
                            "seniors_alone_share", "residence_5y", "turnover"),
        # indicators whose change against the previous and the first date is mapped, in report order
        "change_maps": ("with_mh_share", "foreign_share", "minors_share", "old_age_ratio"),
    }
    return catalogue


# ------------------------------------------------------------------------------------- short names
#: Longest sheet name Excel accepts, and the characters it refuses in one.
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = frozenset("[]:*?/\\")

#: Short German names of the origin regions (whole words or standard abbreviations; ids as ORIGIN_REGIONS).
_REGION_SHORT_DE = {
    "eu": "EU-Staaten", "other_europe": "übriges Europa", "former_soviet_union": "ehem. Sowjetunion",
    "turkey": "Türkei", "mena": "Nahost und Nordafrika", "subsaharan_africa": "Afrika südl. Sahara",
    "rest_of_asia": "übriges Asien", "americas": "Amerika", "oceania": "Ozeanien",
    "stateless_unknown": "staatenlos, ungeklärt",
}


def short_names_de(params: IndicatorParameters = IndicatorParameters()) -> dict[str, str]:
    """Short German names of the indicators whose label is longer than a sheet name may be or holds a
    character a sheet name may not; every other indicator's short name is its label. Written as whole
    words and the usual abbreviations (MH = Migrationshintergrund, J. = Jahre, u. = unter), never cut."""
    p = params
    ya_lo, ya_hi = p.young_adult_ages
    o, m = p.old_age_limit, p.recent_move_years
    names = {
        "young_adults": f"Junge Erwachsene {ya_lo} bis {ya_hi} J.",
        "young_adults_share": f"Anteil junge Erw. {ya_lo} bis {ya_hi} J.",
        "german_personal_mh": "Deutsche mit pers. MH", "german_personal_mh_share": "Anteil Deutsche mit pers. MH",
        "german_familial_mh": "Deutsche mit fam. MH", "german_familial_mh_share": "Anteil Deutsche mit fam. MH",
        "german_with_mh": "Deutsche mit MH", "german_with_mh_share": "Anteil Deutsche mit MH",
        "german_no_mh": "Deutsche ohne MH", "german_no_mh_share": "Anteil Deutsche ohne MH",
        "with_mh": "Einwohner mit MH", "with_mh_share": "Anteil mit MH",
        "with_mh_minors": "Minderjährige mit MH", "with_mh_minors_share": "Anteil mit MH u. Minderjährigen",
        "origin_diversity_shannon": "Herkunftsvielfalt Shannon", "origin_diversity_simpson": "Herkunftsvielfalt Simpson",
        "eg_immigrant": "Eingewanderte",
        "eg_descendant_minors": "Nachkommen von Eingewanderten",
        "eg_descendant_minors_share": "Anteil Nachk. v. Eingewanderten",
        "eg_one_sided_minors": "Einseitige Einwand.-Geschichte",
        "eg_one_sided_minors_share": "Anteil einseit. Einwand.-Gesch.",
        "eg_not_determinable": "Einwand.-Gesch. unbestimmt",
        "eg_not_determinable_share": "Anteil Einwand.-Gesch. unbest.",
        "household_size_mean": "Durchschn. Haushaltsgröße",
        "households_with_minors_share": "Anteil Haushalte mit Minderj.",
        "single_parent_households_share": "Anteil Alleinerziehende",
        "minors_single_parent": "Minderj. bei Alleinerziehenden",
        "minors_single_parent_share": "Anteil Minderj. b. Alleinerz.",
        "seniors_alone": f"Alleinlebende ab {o} J.",
        "seniors_alone_share": f"Anteil Alleinlebende ab {o} J.",
        "households_with_mh": "Haushalte mit MH", "households_with_mh_share": "Anteil Haushalte mit MH",
        "residence_5y": f"Wohndauer {p.residence_years} J. und länger",
        "moved_address_1y": f"Zuzug an die Adresse ({m} J.)",
        "moved_city_1y": f"Zuzug in die Stadt ({m} J.)",
        "out_movers": "Abgänge", "intra_city_in": "Umzüge aus anderen Bezirken",
        "intra_city_out": "Umzüge in andere Bezirke",
        "turnover": "Mobilitätsziffer", "net_migration": "Wanderungssaldo je 1.000 Einw.",
        "child_poverty": f"Kinderarmut (SGB II, u. {p.child_poverty_age_limit} J.)",
        "milieu_excluded": "Ohne Milieuwerte",
        "seg_dissimilarity": "Dissimilaritätsindex D",
        "seg_multigroup_dissimilarity": "Multigruppen-Dissimilarität", "moran_i": "Moran's I",
        "minors": f"Minderjährige (u. {p.minor_age_limit} J.)",
    }
    for lo, hi in age_groups(p):
        band = f"ab {lo} J." if hi is None else f"unter {hi} J." if lo == 0 else f"{lo} bis u. {hi} J."
        names[age_group_id(lo, hi)] = f"Einwohner {band}"
        names[f"{age_group_id(lo, hi)}_share"] = f"Anteil {band}"
    for code, short in _REGION_SHORT_DE.items():
        names[f"origin_region_{code}"] = f"MH {short}"
        names[f"origin_region_{code}_share"] = f"Anteil MH {short}"
    groups = {"foreign": "Ausländer", "with_mh": "mit MH"} | {f"region_{c}": s for c, s in _REGION_SHORT_DE.items()}
    for gid, short in groups.items():
        names[f"location_quotient_{gid}"] = f"LQ {short}"
        names[f"lisa_class_{gid}"] = f"LISA {short}"
    return names


# --------------------------------------------------------------------------------- display formats
def display_decimals(indicator: Indicator) -> int | None:
    """Decimals a table shows of the indicator's value (None: a class, shown in words). The stored value
    is never rounded; this is only the display format."""
    if indicator.kind == "class":
        return None
    if indicator.id == "density" or indicator.kind == "count":
        return 0
    if indicator.id == "household_size_mean" or indicator.id.startswith("location_quotient_"):
        return 2
    if indicator.id == "seg_dissimilarity":
        return 1  # published × 100
    if indicator.kind == "index":
        return 3
    if indicator.kind == "score":
        return 2
    return 1


def excel_number_format(decimals: int | None) -> str:
    """Excel number format with thousands separator for ``decimals`` places (German display in a German
    Excel: "1.234,5"); "@" (text) for None."""
    if decimals is None:
        return "@"
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


#: The catalogue for the default :class:`IndicatorParameters`.
CATALOGUE: Catalogue = build_catalogue()


#: Fields of :class:`Indicator` that declare structure for the code, not definitions for readers.
_STRUCTURE_FIELDS = frozenset({"numerator_id", "denominator_id", "gives_back", "relative_to_city"})


def catalogue_table(catalogue: Mapping[str, Indicator] | None = None) -> pd.DataFrame:
    """The catalogue as a DataFrame (one row per indicator, catalogue order) for the report's methods
    section and the Excel definitions sheet; includes ``change_unit`` (percentage points for shares)."""
    cat = CATALOGUE if catalogue is None else catalogue
    cols = [f.name for f in fields(Indicator) if f.name not in _STRUCTURE_FIELDS] + ["change_unit"]
    rows = [{**{k: v for k, v in asdict(ind).items() if k not in _STRUCTURE_FIELDS}, "change_unit": ind.change_unit}
            for ind in cat.values()]
    table = pd.DataFrame(rows, columns=cols)
    table["min_denominator"] = table["min_denominator"].astype("Int64")
    return table
