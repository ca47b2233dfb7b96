"""Migration background (Migrationshintergrund, MH) and immigration history (Einwanderungsgeschichte, EG).

Source: ``shared/spec/migration-background.md``. The MH rule follows the register procedure of German
municipal statistics (KOSIS MigraPro; categories as published by the Amt für Statistik Berlin-Brandenburg
for the Berlin register statistics), the Bezugsland convention of the Zensus 2011, and the EG concept of
Destatis (Mikrozensus, since 2023). Every choice is a field of :class:`MigrationParameters`.

**Migrationshintergrund**, per person, first rule that applies:

1. ``foreign``: no German nationality among ``nationality_1``/``nationality_2`` (German = a code in
   ``german_codes``: ``DEU``, and ``DDR`` should a register still carry it). ``XXA``/``XXX`` are foreign.
2. ``german_personal_mh``: German with any personal feature —
   an acquisition in ``personal_acquisitions`` (feature named after it: ``naturalisation``, ``option``,
   ``resettler``, ``adoption``); ``dual``: the other nationality is a known non-German country code
   (a second nationality ``XXA``/``XXX`` is not a feature); ``born_abroad``: ``birth_country`` known
   (not null, not ``XXA``/``XXX``) and not German, except (expellee rule) an acquisition in
   ``expellee_acquisitions`` (``birth``, ``unknown``; a missing acquisition of a German counts as
   ``unknown``) with birth year < ``expellee_birth_year_before``.
3. ``german_familial_mh``: German, no personal feature, ``age < minor_age_limit`` and at least one
   linked parent that is ``foreign`` or ``german_personal_mh`` (familial MH is not passed on). A link
   counts when ``mother_id``/``father_id`` is the ``person_id`` of another row of the same extract (a
   link to a missing person or to oneself is no link). With ``parent_same_household`` the parent must
   have the child's (non-null) ``household_id``: persons in institutions get no familial MH then.
4. ``german_no_mh``: everyone else. ``has_mh = mh_status != "german_no_mh"``.

``declaration`` acquisition is not a personal feature: the spec does not list it, and declarations
mostly gave citizenship by descent from a German parent (e.g. children of German mothers born
1953-1974, Art. 3 RuStAÄndG 1974; §5 StAG). The expellee rule does not apply to it (spec: birth and
unknown only). Birth year = ``year(reference_date) - age``: exact for 31 December; for other reference
dates it assumes the birthday of that year has passed (the later of the two possible years).

``mh_features``: the fired features sorted alphabetically and joined by ``|`` — ``foreign`` for foreign
persons, the personal features for personal MH, ``parent`` for familial MH, ``""`` otherwise.

**Bezugsland** (reference country): foreign → ``nationality_1``; if that is ``XXA``/``XXX``, the first
known (not ``XXA``/``XXX``, not German) of ``nationality_2``, ``birth_country``, else ``nationality_1``
itself (``XXA`` stays stateless; ``XXX`` when nationality_1 is missing). Personal MH → the non-German
nationality (first or second) if known, else ``birth_country`` if known and not German (also when only
the expellee rule kept it from firing), else ``origin_country`` if known and not German, else ``XXX``.
Familial MH → the Bezugsland of the first qualifying parent in ``familial_bezugsland_parent_order``
(mother, else father: Zensus 2011).
No MH → missing. ``origin_region`` = :func:`quarterstats.countries.origin_region` of the Bezugsland at
the reference date (EU membership first).

**Einwanderungsgeschichte** (Destatis 2023):

* ``immigrant``: ``immigration_year >= eg_immigration_year_from``; where ``immigration_year`` is null:
  born abroad (``birth_country`` known and not German) in or after ``expellee_birth_year_before``.
  A person with neither (no immigration year, birth country null/``XXX``) is not an immigrant.
* a non-immigrant born abroad (expellee, or immigrated before 1950) → ``none``;
* a non-immigrant born in Germany, or whose birth country is unknown (taken as born in Germany),
  is classified from the linked parents' immigrant status (links as above, regardless of household
  unless ``eg_parent_same_household``): both parents linked → ``descendant`` (both immigrants),
  ``one_sided`` (exactly one), ``none`` (neither); one parent linked → ``not_determinable`` (default
  ``eg_single_parent="not_determinable"``: the spec derives descendants only where both links exist) or,
  with ``"assume_same"``, the missing parent is assumed to share the linked one's status
  (``descendant``/``none``); no parent linked → ``not_determinable`` (adults: the register keeps no
  parent links, so their EG is understated; the count is reported, never folded into ``none``).

Output dtypes: ``mh_status``, ``eg_status``, ``mh_features``, ``bezugsland`` and ``origin_region`` are
plain pandas ``str`` columns (missing = NaN for the last two); ``has_mh`` is ``bool``. The fixed
category orders are :data:`MH_STATUS_ORDER` and :data:`EG_STATUS_ORDER`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np
import pandas as pd

from quarterstats.countries import origin_region
from quarterstats.links import PersonLinks, factorize_text, parent_rows, text_codes
from quarterstats.parameter_text import ParameterText, describe, parameter_table

MH_STATUS_ORDER: tuple[str, ...] = ("foreign", "german_personal_mh", "german_familial_mh", "german_no_mh")
EG_STATUS_ORDER: tuple[str, ...] = ("immigrant", "descendant", "one_sided", "none", "not_determinable")

MH_STATUS_LABELS_DE: dict[str, str] = {
    "foreign": "Ausländerinnen und Ausländer",
    "german_personal_mh": "Deutsche mit eigenem Migrationshintergrund",
    "german_familial_mh": "Deutsche mit familiärem Migrationshintergrund",
    "german_no_mh": "Deutsche ohne Migrationshintergrund",
}
EG_STATUS_LABELS_DE: dict[str, str] = {
    "immigrant": "Eingewanderte",
    "descendant": "Nachkommen von Eingewanderten",
    "one_sided": "Einseitige Einwanderungsgeschichte",
    "none": "Ohne Einwanderungsgeschichte",
    "not_determinable": "Einwanderungsgeschichte nicht bestimmbar",
}
FEATURE_LABELS_DE: dict[str, str] = {
    "foreign": "ausländische Staatsangehörigkeit",
    "naturalisation": "Einbürgerung",
    "option": "Optionsregelung (Geburtsortprinzip)",
    "resettler": "(Spät-)Aussiedler/-in",
    "adoption": "Adoption",
    "dual": "zweite, ausländische Staatsangehörigkeit",
    "born_abroad": "Geburt im Ausland",
    "parent": "Elternteil mit Migrationshintergrund",
}

#: Columns of the register extract that :func:`derive_migration` reads.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "person_id", "household_id", "age", "nationality_1", "nationality_2", "german_acquisition",
    "birth_country", "immigration_year", "origin_country", "mother_id", "father_id",
)
OUTPUT_COLUMNS: tuple[str, ...] = ("mh_status", "has_mh", "mh_features", "bezugsland", "origin_region", "eg_status")

_UNKNOWN_COUNTRY = "XXX"
_NOT_A_COUNTRY = ("XXA", "XXX")  # codes that name no country of reference (stateless, unknown)
_PARENTS = ("mother", "father")
_EG_SINGLE_PARENT_RULES = ("not_determinable", "assume_same")


@dataclass(frozen=True)
class MigrationParameters:
    """Every choice of the MH/EG derivation, with the spec's defaults (``migration-background.md``)."""

    #: Familial MH only below this age (completed years); spec default 18 (minors); equal to [indicators] minor_age_limit.
    minor_age_limit: int = 18
    #: Expellee rule: a German by an acquisition in ``expellee_acquisitions`` born abroad before this
    #: year is not counted as born abroad (Destatis excludes WWII expellees). Also the EG birth cut-off.
    expellee_birth_year_before: int = 1950
    #: Acquisitions the expellee rule applies to (a German's missing acquisition counts as ``unknown``).
    expellee_acquisitions: tuple[str, ...] = ("birth", "unknown")
    #: Acquisitions of German citizenship that are personal MH features on their own.
    personal_acquisitions: tuple[str, ...] = ("naturalisation", "option", "resettler", "adoption")
    #: Familial MH requires the parent to share the child's household_id (Berlin: registered at the
    #: parent's address). False: any linked parent in the extract counts (the truth definition).
    parent_same_household: bool = True
    #: Whose Bezugsland a child with familial MH gets: the first parent in this order that has MH.
    familial_bezugsland_parent_order: tuple[str, str] = ("mother", "father")
    #: EG immigrant: immigrated (first move-in from abroad) in or after this year.
    eg_immigration_year_from: int = 1950
    #: EG of descendants: count only parents in the child's household (default: any linked parent).
    eg_parent_same_household: bool = False
    #: EG with exactly one linked parent: "not_determinable" (default) or "assume_same" (the missing
    #: parent is assumed to share the linked parent's immigrant status).
    eg_single_parent: str = "not_determinable"
    #: Country codes that mean Germany (nationality, birth and origin country).
    german_codes: tuple[str, ...] = ("DEU", "DDR")

    def __post_init__(self) -> None:
        if sorted(self.familial_bezugsland_parent_order) != sorted(_PARENTS):
            raise ValueError("familial_bezugsland_parent_order must be ('mother', 'father') in some order, "
                             f"got {self.familial_bezugsland_parent_order!r}")
        if self.eg_single_parent not in _EG_SINGLE_PARENT_RULES:
            raise ValueError(f"eg_single_parent must be one of {_EG_SINGLE_PARENT_RULES}, got {self.eg_single_parent!r}")
        if self.minor_age_limit < 0:
            raise ValueError("minor_age_limit must not be negative")


#: German names of the ways German citizenship is acquired (register codes of ``german_acquisition``).
ACQUISITIONS_DE: dict[str, str] = {
    "birth": "Geburt",
    "naturalisation": "Einbürgerung",
    "option": "Optionsregelung",
    "resettler": "(Spät-)Aussiedlung",
    "adoption": "Adoption",
    "declaration": "Erklärung",
    "unknown": "unbekannt",
}
PARENTS_DE: dict[str, str] = {"mother": "Mutter", "father": "Vater"}

#: German name, meaning and unit of every :class:`MigrationParameters` field (the report's methods section).
MIGRATION_PARAMETER_TEXTS = describe(MigrationParameters, {
    "minor_age_limit": ParameterText(
        "Altersgrenze des familiären Migrationshintergrunds",
        "Einen familiären Migrationshintergrund erhalten nur Personen unter diesem Alter (Minderjährige): "
        "nur für sie verknüpft das Melderegister die Eltern.", "Jahre"),
    "expellee_birth_year_before": ParameterText(
        "Stichjahr der Vertriebenenregel",
        "Deutsche durch Geburt oder mit unbekannter Erwerbsart, die vor diesem Jahr im Ausland geboren wurden, "
        "zählen nicht als im Ausland geboren (Vertriebene des Zweiten Weltkriegs); zugleich gilt als "
        "eingewandert, wer ohne bekanntes Zuzugsjahr in oder nach diesem Jahr im Ausland geboren wurde.",
        form="year"),
    "expellee_acquisitions": ParameterText(
        "Erwerbsarten der Vertriebenenregel",
        "Erwerbsarten der deutschen Staatsangehörigkeit, für die die Vertriebenenregel gilt (fehlt die "
        "Erwerbsart bei einer oder einem Deutschen, gilt sie als unbekannt).",
        form="choices", choices_de=ACQUISITIONS_DE),
    "personal_acquisitions": ParameterText(
        "Erwerbsarten mit eigenem Migrationshintergrund",
        "Wer die deutsche Staatsangehörigkeit auf einem dieser Wege erworben hat, hat einen eigenen "
        "Migrationshintergrund.", form="choices", choices_de=ACQUISITIONS_DE),
    "parent_same_household": ParameterText(
        "Familiärer Migrationshintergrund nur mit Elternteil im selben Haushalt",
        "Der Elternteil, von dem sich der familiäre Migrationshintergrund ableitet, muss im selben Haushalt "
        "gemeldet sein wie das Kind (Berliner Praxis); Kinder in Einrichtungen erhalten dann keinen.",
        form="flag"),
    "familial_bezugsland_parent_order": ParameterText(
        "Bezugsland bei familiärem Migrationshintergrund",
        "Das Bezugsland kommt vom ersten Elternteil dieser Reihenfolge, der einen Migrationshintergrund hat "
        "(Zensus 2011).", form="choices", choices_de=PARENTS_DE, joiner=" vor "),
    "eg_immigration_year_from": ParameterText(
        "Stichjahr der Einwanderung",
        "Als eingewandert (Einwanderungsgeschichte) gilt, wer in oder nach diesem Jahr aus dem Ausland "
        "zugezogen ist.", form="year"),
    "eg_parent_same_household": ParameterText(
        "Einwanderungsgeschichte nur aus Eltern im selben Haushalt",
        "Für die Einwanderungsgeschichte der Kinder zählen nur Eltern, die im selben Haushalt gemeldet sind; "
        "sonst jeder verknüpfte Elternteil.", form="flag"),
    "eg_single_parent": ParameterText(
        "Einwanderungsgeschichte bei nur einem verknüpften Elternteil",
        "Ist nur ein Elternteil verknüpft, ist die Einwanderungsgeschichte entweder nicht bestimmbar oder wird "
        "wie beim verknüpften Elternteil angenommen.", form="choice",
        choices_de={"not_determinable": "nicht bestimmbar", "assume_same": "wie der verknüpfte Elternteil"}),
    "german_codes": ParameterText(
        "Schlüssel für Deutschland",
        "Länderschlüssel, die bei Staatsangehörigkeit, Geburtsland und Herkunftsland als Deutschland gelten.",
        form="codes", choices_de={"DEU": "Deutschland", "DDR": "Deutsche Demokratische Republik"}),
})


def parameters_table(params: MigrationParameters = MigrationParameters()) -> pd.DataFrame:
    """The parameters in German for the report's methods section: columns name, value, description_de."""
    return parameter_table(params)


# --------------------------------------------------------------------------------------------------
# helpers (positional numpy arrays; no loops over persons)


def _encode(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, dictionary): ``dictionary[codes]`` is the column, code -1 = missing (one hash pass, or
    none for a Categorical: :func:`quarterstats.links.factorize_text`)."""
    codes, values = factorize_text(series)
    return codes, np.asarray(values, dtype=object)


def _lookup(table: np.ndarray, codes: np.ndarray, missing) -> np.ndarray:
    """``table[codes]`` with ``missing`` for code -1 (a per-category property spread to the rows)."""
    return np.append(table, np.asarray([missing], dtype=table.dtype))[codes]


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(dtype="float64", na_value=np.nan)


def _isin(series: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    return series.isin(list(values)).to_numpy(dtype=bool)


def _check_columns(register: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in register.columns]
    if missing:
        raise KeyError(f"register is missing column(s) {missing} needed for the migration derivation")
    if register["person_id"].isna().any():
        raise ValueError("register has rows without person_id")


def _link_positions(register: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row position of each person's mother and father; -1 for no link, a link to a person missing from
    the extract, or a link to oneself. Taken from the ``mother_row``/``father_row`` the ingest wrote
    when they fit the table (:func:`quarterstats.links.parent_rows`), else found in one hash pass
    (:class:`quarterstats.links.PersonLinks`)."""
    found = parent_rows(register)
    if found is None:
        links = PersonLinks.of(register)
        if links.duplicated.any():
            duplicates = int(links.duplicated.sum() - len(np.unique(register["person_id"][links.duplicated])))
            raise ValueError(f"register has {duplicates} duplicate person_id values; "
                             "the migration derivation needs unique ids")
        found = {"mother_id": links.mother_row, "father_id": links.father_row}
    rows = np.arange(len(register))
    return {parent: np.where(found[link] == rows, -1, found[link])
            for parent, link in zip(_PARENTS, ("mother_id", "father_id"))}


def _take(values: np.ndarray, positions: np.ndarray, fill) -> np.ndarray:
    """``values[positions]`` with ``fill`` where ``positions == -1``."""
    if len(values) == 0:
        return np.full(len(positions), fill, dtype=values.dtype if fill is not None else object)
    dtype = np.where(True, values[:1], fill).dtype  # the type np.where(found, values[...], fill) would have
    found = np.flatnonzero(positions >= 0)  # mostly few (parent links are minors'): gather only those
    result = np.full(len(positions), fill, dtype=dtype)
    result[found] = values[positions[found]]
    return result


def _first_available(candidates: list[tuple[np.ndarray, np.ndarray]], fallback: np.ndarray) -> np.ndarray:
    """Per row the value of the first (usable, value) pair whose mask is true, else ``fallback``."""
    result = fallback.copy()
    for usable, value in reversed(candidates):
        result = np.where(usable, value, result)
    return result


def _join_features(flags: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, list[str]]:
    """'|'-joined sorted names of the true flags, as (code per row, labels): a bit code per row indexes
    the table of all 2^k labels (``labels[code]`` is the row's text)."""
    names = sorted(flags)
    code = np.zeros(n, dtype=np.int32)  # k flags: 2^k labels, k is about 8
    for bit, name in enumerate(names):
        code |= flags[name].astype(np.int32) << bit
    labels = ["|".join(nm for bit, nm in enumerate(names) if c >> bit & 1) for c in range(2 ** len(names))]
    return code, labels


def _from_codes(codes: np.ndarray, categories, index: pd.Index) -> pd.Series:
    """A Categorical Series from integer codes into ``categories`` (-1 = missing): no string per row, and
    later steps factorise it without hashing (:func:`quarterstats.links.factorize_text`)."""
    categories = pd.Index([str(c) for c in categories], dtype="str")
    return pd.Series(pd.Categorical.from_codes(np.asarray(codes), categories=categories, validate=False), index=index)


# --------------------------------------------------------------------------------------------------


def _derive_arrays(register: pd.DataFrame, reference_date: date, params: MigrationParameters) -> dict:
    """All per-person results as positional arrays (integer codes for categories), for
    :func:`derive_migration`. No loops over persons; strings are dictionary-encoded once per column.
    """
    _check_columns(register)
    n = len(register)
    year = pd.Timestamp(reference_date).year

    # ---- one code space for all country columns ("XXX" always included)
    encoded = {c: _encode(register[c]) for c in ("nationality_1", "nationality_2", "birth_country", "origin_country")}
    countries = pd.Index(sorted(set().union(*(set(d) for _, d in encoded.values())) | {_UNKNOWN_COUNTRY}))
    country = {}
    for column, (codes, dictionary) in encoded.items():
        mapping = countries.get_indexer(dictionary) if len(dictionary) else np.zeros(0, dtype=np.int64)
        country[column] = _lookup(mapping.astype(np.int32), codes, -1)  # int32: half the memory traffic of int64
    is_german_code = np.isin(countries, list(params.german_codes))
    is_country = ~np.isin(countries, list(_NOT_A_COUNTRY))  # names a country of reference
    xxx = int(countries.get_loc(_UNKNOWN_COUNTRY))

    nat1, nat2 = country["nationality_1"], country["nationality_2"]
    birth, origin = country["birth_country"], country["origin_country"]
    nat1_german, nat2_german = _lookup(is_german_code, nat1, False), _lookup(is_german_code, nat2, False)
    german = nat1_german | nat2_german
    foreign = ~german

    age = _floats(register["age"])
    birth_year = year - age  # NaN age: every comparison below is False

    acq_codes, acq_dictionary = _encode(register["german_acquisition"])

    def acquisition_in(values: tuple[str, ...]) -> np.ndarray:  # a German's missing acquisition = unknown
        return _lookup(np.isin(acq_dictionary, list(values)), acq_codes, "unknown" in values)

    # ---- personal features (Germans only)
    flags: dict[str, np.ndarray] = {}
    for acq in params.personal_acquisitions:
        flags[acq] = german & acquisition_in((acq,))
    other_nat = np.where(nat1_german, nat2, nat1)  # the nationality in the other slot
    other_nat_country = (other_nat >= 0) & _lookup(is_country & ~is_german_code, other_nat, False)
    flags["dual"] = german & other_nat_country
    born_abroad_any = _lookup(is_country & ~is_german_code, birth, False)
    expellee = acquisition_in(params.expellee_acquisitions) & (birth_year < params.expellee_birth_year_before)
    flags["born_abroad"] = german & born_abroad_any & ~expellee
    personal = np.zeros(n, dtype=bool)
    for flag in flags.values():
        personal |= flag
    own_mh = foreign | personal  # the MH a parent can pass on

    # ---- parent links
    links = _link_positions(register)
    household = text_codes(register["household_id"])  # compared only: no order needed (millions of ids)
    same_household = {
        parent: (pos >= 0) & (household >= 0) & (_take(household, pos, -2) == household)
        for parent, pos in links.items()
    }

    # ---- familial MH
    minor = age < params.minor_age_limit
    parent_qualifies = {}
    for parent, pos in links.items():
        qualifies = _take(own_mh, pos, False).astype(bool)
        if params.parent_same_household:
            qualifies &= same_household[parent]
        parent_qualifies[parent] = qualifies
    familial = german & ~personal & minor & (parent_qualifies["mother"] | parent_qualifies["father"])
    mh_code = np.select([foreign, personal, familial], [0, 1, 2], default=3)

    # ---- Bezugsland (codes into `countries`)
    unknown = np.full(n, xxx, dtype=np.int32)
    nat1_country = _lookup(is_country, nat1, False)
    nat2_country = _lookup(is_country & ~is_german_code, nat2, False)
    origin_known = _lookup(is_country & ~is_german_code, origin, False)
    foreign_bezug = _first_available(
        [(nat1_country, nat1), (nat2_country, nat2), (born_abroad_any, birth)], np.where(nat1 >= 0, nat1, unknown),
    )
    personal_bezug = _first_available(
        [(other_nat_country, other_nat), (born_abroad_any, birth), (origin_known, origin)], unknown,
    )
    own_bezug = np.where(foreign, foreign_bezug, np.where(personal, personal_bezug, -1))
    familial_bezug = _first_available(
        [(parent_qualifies[p], _take(own_bezug, links[p], -1)) for p in params.familial_bezugsland_parent_order],
        unknown,
    )
    bezugsland = np.where(familial, familial_bezug, own_bezug)

    # ---- Einwanderungsgeschichte
    immigration_year = _floats(register["immigration_year"])
    immigrant = (immigration_year >= params.eg_immigration_year_from) | (
        np.isnan(immigration_year) & born_abroad_any & (birth_year >= params.expellee_birth_year_before)
    )
    eg_linked = {p: (links[p] >= 0) & (same_household[p] if params.eg_parent_same_household else True) for p in _PARENTS}
    n_linked = eg_linked["mother"].astype(np.int8) + eg_linked["father"].astype(np.int8)
    n_immigrant_parents = sum(
        (eg_linked[p] & _take(immigrant, links[p], False).astype(bool)).astype(np.int8) for p in _PARENTS
    )
    eg = {name: k for k, name in enumerate(EG_STATUS_ORDER)}
    if params.eg_single_parent == "assume_same":
        single = np.where(n_immigrant_parents == 1, eg["descendant"], eg["none"])
    else:
        single = eg["not_determinable"]
    from_parents = np.select(
        [n_linked == 2, n_linked == 1],
        [np.select([n_immigrant_parents == 2, n_immigrant_parents == 1], [eg["descendant"], eg["one_sided"]],
                   eg["none"]), single],
        default=eg["not_determinable"],
    )
    eg_code = np.where(immigrant, eg["immigrant"], np.where(born_abroad_any, eg["none"], from_parents))

    return {
        "mh_code": mh_code,
        "has_mh": foreign | personal | familial,
        "features": _join_features({**flags, "foreign": foreign, "parent": familial}, n),
        "bezugsland": bezugsland,
        "countries": countries,
        "eg_code": eg_code,
        "links": links,
        "household": household,
    }


def derive_migration(
    register: pd.DataFrame,
    reference_date: date,
    params: MigrationParameters = MigrationParameters(),
) -> pd.DataFrame:
    """MH status, features, Bezugsland, origin region and EG status per person (rules: module docstring).

    ``register``: register extract columns (:data:`REQUIRED_COLUMNS`; others ignored), unique
    ``person_id``. Returns a DataFrame with ``register``'s index and :data:`OUTPUT_COLUMNS`: ``has_mh``
    bool, the others Categoricals of text (the full vocabulary as categories: a code per person, not a
    string).
    Vectorised: parent links are resolved with one index lookup per parent column.
    """
    arrays = _derive_arrays(register, reference_date, params)
    index = register.index
    countries = arrays["countries"]
    region_of_country = origin_region(pd.Series(countries, dtype=object), reference_date).to_numpy(dtype=object)
    regions = pd.Index(sorted(set(region_of_country)))
    region_code = _lookup(regions.get_indexer(region_of_country).astype(np.int64), arrays["bezugsland"], -1)
    return pd.DataFrame(
        {
            "mh_status": _from_codes(arrays["mh_code"], MH_STATUS_ORDER, index),
            "has_mh": pd.Series(arrays["has_mh"], index=index, dtype=bool),
            "mh_features": _from_codes(*arrays["features"], index),
            "bezugsland": _from_codes(arrays["bezugsland"], countries, index),
            "origin_region": _from_codes(region_code, regions, index),
            "eg_status": _from_codes(arrays["eg_code"], EG_STATUS_ORDER, index),
        },
        index=index,
    )


# --------------------------------------------------------------------------------------------------
# validation against the generator's truth

RECOVERY_REASONS: tuple[str, ...] = (
    "not_in_extract",
    "birth_country_gap",
    "acquisition_gap",
    "parent_link_missing",
    "parent_other_household",
    "parent_register_gap",
    "other",
)
#: German names of :data:`RECOVERY_REASONS` (the methods section of the report).
RECOVERY_REASONS_DE: dict[str, str] = {
    "not_in_extract": "nicht im Registerauszug",
    "birth_country_gap": "Geburtsland im Register nicht eingetragen",
    "acquisition_gap": "Erwerbsart der Staatsangehörigkeit im Register unbekannt",
    "parent_link_missing": "Elternteil nicht verknüpft",
    "parent_other_household": "Elternteil in einem anderen Haushalt gemeldet",
    "parent_register_gap": "Registerlücke beim Elternteil",
    "other": "sonstige Gründe",
}


def _truth_flag(truth: pd.DataFrame, column: str) -> np.ndarray:
    if column not in truth.columns:
        return np.zeros(len(truth), dtype=bool)
    return truth[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def recovery_report(
    derived: pd.DataFrame,
    register: pd.DataFrame,
    truth: pd.DataFrame,
    params: MigrationParameters = MigrationParameters(),
) -> pd.DataFrame:
    """How many persons of each true MH and EG category the register rule recovers, and why it misses.

    ``derived``: output of :func:`derive_migration` for ``register`` (same index; or with a
    ``person_id`` column); ``truth``: the generator's truth table (common ground §2), joined on
    ``person_id``. ``params``: the parameters the derivation used (for the household reason).

    One row per (``concept`` in {mh_status, eg_status}, ``category``) plus a ``total`` row per concept:
    ``n_truth`` (persons with that true category), ``n_derived`` (persons the register rule puts there),
    ``recovered`` (true and derived category equal), ``missed = n_truth - recovered``,
    ``wrongly_assigned = n_derived - recovered``, ``recovered_share = recovered / n_truth`` and
    ``missed_<reason>``: each missed person is counted once, under the first reason that holds, in
    the order of :data:`RECOVERY_REASONS`:

    * ``not_in_extract``: in truth but not in the (accepted) register;
    * ``birth_country_gap``: own birth country blanked (``gap_birth_country``) and truly abroad;
    * ``acquisition_gap`` (MH only: EG does not read the acquisition): own acquisition replaced by
      ``unknown`` (``gap_acquisition``) and the true one was not ``birth``/``unknown`` (so the gap
      changed the rule's input);
    * ``parent_link_missing``: ``gap_parent_link``, or a true parent living in the city (for EG: any
      true parent) is not linked; for EG also every derived ``not_determinable``;
    * ``parent_other_household``: with ``parent_same_household`` (MH) / ``eg_parent_same_household``
      (EG) on, a linked parent lives in another household;
    * ``parent_register_gap``: a true parent in the city has a birth-country gap or (MH) an acquisition
      gap as above;
    * ``other``: none of these.
    """
    for column in ("person_id", "true_mh_status", "true_eg_status"):
        if column not in truth.columns:
            raise KeyError(f"truth is missing column {column!r}")
    _check_columns(register)
    links = _link_positions(register)  # also checks that person_id is unique
    pid = register["person_id"].astype(object).to_numpy()
    register_index = pd.Index(pid)
    truth = truth.reset_index(drop=True)
    t_pid = truth["person_id"].astype(object).to_numpy()
    n_truth = len(truth)
    pos_in_register = register_index.get_indexer(t_pid)

    derived_pid = derived["person_id"] if "person_id" in derived.columns else register.loc[derived.index, "person_id"]
    derived_index = pd.Index(derived_pid.astype(object).to_numpy())
    pos_in_derived = derived_index.get_indexer(t_pid)
    in_extract = (pos_in_register >= 0) & (pos_in_derived >= 0)
    reg_row = np.where(pos_in_register >= 0, pos_in_register, -1)
    # derived MH status per register row, to know whether a linked parent passes MH on
    derived_mh_of_register = _take(derived["mh_status"].astype(object).to_numpy(), derived_index.get_indexer(pid), None)
    own_mh_of_register = np.isin(derived_mh_of_register.astype(str), ["foreign", "german_personal_mh"])

    # Own gaps that changed the rule's input.
    german_codes = params.german_codes
    missing = pd.Series(None, index=truth.index, dtype=object)
    true_birth = truth["true_birth_country"] if "true_birth_country" in truth.columns else missing
    true_acq = truth["true_german_acquisition"] if "true_german_acquisition" in truth.columns else missing
    truly_abroad = true_birth.notna().to_numpy() & ~_isin(true_birth, german_codes) & ~_isin(true_birth, _NOT_A_COUNTRY)
    acq_informative = true_acq.notna().to_numpy() & ~_isin(true_acq, params.expellee_acquisitions)
    birth_gap = _truth_flag(truth, "gap_birth_country") & truly_abroad
    acq_gap = _truth_flag(truth, "gap_acquisition") & acq_informative
    own_gap = {"mh": birth_gap | acq_gap, "eg": birth_gap}  # EG does not read the acquisition

    # Register links of each truth person (positions in the register) against the true parents.
    household_code = text_codes(register["household_id"])  # compared only (millions of ids)
    child_household = _take(household_code, reg_row, -1)
    truth_index = pd.Index(t_pid)
    parent_not_linked = {"mh": _truth_flag(truth, "gap_parent_link"), "eg": _truth_flag(truth, "gap_parent_link")}
    parent_gap = {"mh": np.zeros(n_truth, dtype=bool), "eg": np.zeros(n_truth, dtype=bool)}
    other_household = {"mh": np.zeros(n_truth, dtype=bool), "eg": np.zeros(n_truth, dtype=bool)}
    for parent in _PARENTS:
        linked_pos = _take(links[parent], reg_row, -1)
        linked_id = _take(pid, linked_pos, None)
        column = f"true_{parent}_id"
        true_id = truth[column].astype(object) if column in truth.columns else missing
        true_id = true_id.where(true_id.notna(), None).to_numpy(dtype=object)
        has_true = true_id != None  # noqa: E711 (element-wise on an object array)
        not_linked = has_true & (linked_id != true_id)
        parent_truth_pos = truth_index.get_indexer(true_id)
        parent_in_city = parent_truth_pos >= 0
        parent_not_linked["mh"] |= not_linked & parent_in_city
        parent_not_linked["eg"] |= not_linked
        for key in parent_gap:
            parent_gap[key] |= parent_in_city & _take(own_gap[key], parent_truth_pos, False).astype(bool)
        elsewhere = (linked_pos >= 0) & ((child_household < 0) | (_take(household_code, linked_pos, -1) != child_household))
        other_household["mh"] |= elsewhere & _take(own_mh_of_register, linked_pos, False).astype(bool)
        other_household["eg"] |= elsewhere

    rows = []
    concepts = (
        ("mh_status", "true_mh_status", MH_STATUS_ORDER, params.parent_same_household, "mh"),
        ("eg_status", "true_eg_status", EG_STATUS_ORDER, params.eg_parent_same_household, "eg"),
    )
    for concept, truth_column, order, household_rule, key in concepts:
        true_status = truth[truth_column].astype(object).to_numpy()
        derived_values = derived[concept].astype(object).to_numpy()
        derived_status = np.where(in_extract, _take(derived_values, pos_in_derived, None), None)
        recovered = in_extract & (derived_status == true_status)
        missed = ~recovered
        reasons = {
            "not_in_extract": ~in_extract,
            "birth_country_gap": birth_gap,
            "acquisition_gap": acq_gap & (key == "mh"),
            "parent_link_missing": parent_not_linked[key] | ((derived_status == "not_determinable") & (key == "eg")),
            "parent_other_household": other_household[key] & household_rule,
            "parent_register_gap": parent_gap[key],
            "other": np.ones(n_truth, dtype=bool),
        }
        reason = np.select([missed & reasons[r] for r in RECOVERY_REASONS], list(RECOVERY_REASONS), default="")
        extra = pd.Series(true_status).dropna()
        categories = list(order) + sorted(set(extra[~extra.isin(order)]))
        all_derived = derived_values
        for category in categories + ["total"]:
            in_cat = np.ones(n_truth, dtype=bool) if category == "total" else true_status == category
            n_derived = len(all_derived) if category == "total" else int((all_derived == category).sum())
            row = {
                "concept": concept,
                "category": category,
                "n_truth": int(in_cat.sum()),
                "n_derived": n_derived,
                "recovered": int((in_cat & recovered).sum()),
            }
            row["missed"] = row["n_truth"] - row["recovered"]
            row["wrongly_assigned"] = row["n_derived"] - row["recovered"]
            row["recovered_share"] = row["recovered"] / row["n_truth"] if row["n_truth"] else np.nan
            for r in RECOVERY_REASONS:
                row[f"missed_{r}"] = int((in_cat & (reason == r)).sum())
            rows.append(row)
    return pd.DataFrame(rows)
