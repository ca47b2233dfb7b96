"""The HTML report per reference date (``reports/<date>/bericht.html``) and the index page (``reports/index.html``).

Everything here works on *protected* tables only: the long indicator table
of one date after disclosure control, the city-level segregation indices, the figure files written by
:mod:`quarterstats.figures` and the run's metadata. Person-level data is never read.

The report is one self-contained, German, printable HTML file:

* figures are embedded as **PNG data URIs** (``<img src="data:image/png;base64,...">``) with the caption as
  alt text. PNG rather than inline SVG because a PNG renders identically in every browser, mail client,
  intranet CMS and word processor a planner may paste the report into; inline matplotlib SVGs would put
  several documents' ``id`` attributes (clip paths, markers) into one DOM, where duplicates are invalid
  and can clash; and a raster image keeps the file's size predictable for detailed maps. The SVG of every
  figure stays next to the report (``abbildungen/*.svg``) for print and slides; the caption links to it
  with a relative link (no network access).
* CSS inline, system fonts only, no JavaScript, no external resources; a print stylesheet (A4, a page
  break before every chapter, table headers repeated on each page, rows and figures kept whole).
* numbers in German format (thousands dot, decimal comma, one decimal for percentages); ``*`` marks a
  value suppressed for confidentiality and ``x`` a value not available or not meaningful (DIN 55301, where
  ``–`` means exactly zero), as in the downloads (:mod:`quarterstats.signs`; Zeichenerklärung under every
  table).
* a methods chapter in German prose (:mod:`quarterstats.methods_text`): Migrationshintergrund and
  Einwanderungsgeschichte as the run derived them, the register undercount measured on the synthetic truth,
  how to read the LISA clusters and the milieu dimensions, the disclosure rules, and every parameter by its
  German name (:mod:`quarterstats.parameter_text`); the LISA and milieu tables carry a short reading aid.
* no timestamp anywhere: the same inputs give byte-identical files (the reference date and the input
  hashes are the provenance).

Number formats per catalogue kind (see :data:`quarterstats.catalogue.KINDS`): counts without decimals;
shares, ratios, rates and means with one decimal (density none, mean household size two); indices,
location quotients and z scores with two; classes as German labels (milieu types via
:func:`quarterstats.indicators.milieu.class_word_de`, LISA classes via
:data:`quarterstats.autocorrelation.LISA_LABELS_DE`). Segregation indices: D (×100) one decimal, all other
indices, Moran's I and its pseudo p-value three.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import numbers
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence
from urllib.parse import quote

import jinja2
import pandas as pd

from quarterstats import atomic
from quarterstats.autocorrelation import LISA_LABELS_DE
from quarterstats.catalogue import CATALOGUE, ORIGIN_REGIONS, SEGREGATION_GROUPS, Indicator, catalogue_table
from quarterstats.indicators import natural_key
from quarterstats.indicators.milieu import class_word_de
from quarterstats.methods_text import (
    immigration_history_section, lisa_caveat_de, lisa_section, migration_background_section, milieu_classes_note_de,
    milieu_note_de, milieu_section, register_undercount_section,
)
from quarterstats.migration import MigrationParameters
from quarterstats.parameter_text import parameter_rows
from quarterstats.safe_text import html_text
from quarterstats.signs import NOT_AVAILABLE, SUPPRESSED

if TYPE_CHECKING:  # the figures module is written by another helper; only its attributes are used here
    from quarterstats.figures import FigureFile

__all__ = [
    "REPORT_FILE",
    "INDEX_FILE",
    "SECTIONS",
    "DISTRICT_TABLES",
    "render_report",
    "render_index",
    "format_number",
    "format_change",
    "format_date_de",
]

REPORT_FILE = "bericht.html"
INDEX_FILE = "index.html"
CITY_ID = "city"

#: Report chapters with figures: section id of :class:`FigureFile` → German heading, in report order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("bevoelkerung", "Bevölkerung und Alter"),
    ("migration", "Migration"),
    ("haushalte", "Haushalte"),
    ("mobilitaet", "Wohndauer und Mobilität"),
    ("milieu", "Milieus"),
    ("segregation", "Segregation"),
    ("veraenderungen", "Veränderungen"),
    ("zeitreihen", "Zeitreihen"),
)
_SECTION_TITLES = dict(SECTIONS)
_APPENDIX = ("anhang", "Weitere Tabellen")


@dataclass(frozen=True)
class DistrictTableSpec:
    """One district table of a chapter: German title, the catalogue group of its indicator ids (columns;
    groups follow the indicator parameters, e.g. the age groups), and an optional common prefix of the
    indicators' ``label_de`` that is moved into the title (so wide tables stay readable)."""

    title_de: str
    group: str
    strip_prefix: str = ""
    #: a reading aid under the table (German)
    note_de: str = ""

    def ids(self, catalogue: Mapping[str, Indicator]) -> tuple[str, ...]:
        return _group(catalogue, self.group)


#: District tables per chapter (columns only where the indicator is in the published table).
DISTRICT_TABLES: dict[str, tuple[DistrictTableSpec, ...]] = {
    "bevoelkerung": (
        DistrictTableSpec("Einwohner, Dichte und Altersstruktur nach Stadtbezirken", "table_population"),
        DistrictTableSpec("Einwohner nach Altersgruppen (Anteil an allen Einwohnern)", "table_age_groups",
                          strip_prefix="Anteil Einwohner "),
    ),
    "migration": (
        DistrictTableSpec("Ausländer und Einwohner mit Migrationshintergrund nach Stadtbezirken", "table_migration"),
        DistrictTableSpec("Einwanderungsgeschichte nach Stadtbezirken", "table_immigration_history"),
        DistrictTableSpec("Einwohner mit Migrationshintergrund nach Herkunftsregion (Anteil an allen Einwohnern)",
                          "table_origin_regions", strip_prefix="Anteil mit Migrationshintergrund, Herkunftsregion "),
    ),
    "haushalte": (
        DistrictTableSpec("Haushalte nach Stadtbezirken", "table_households"),
    ),
    "mobilitaet": (
        DistrictTableSpec("Wohndauer und Wanderungen nach Stadtbezirken", "table_mobility"),
    ),
    "milieu": (
        DistrictTableSpec("Milieudimensionen (z-Werte) nach Stadtbezirken", "table_milieu",
                          note_de=milieu_note_de()),
        DistrictTableSpec("Quartierstyp, Status- und Dynamikklasse nach Stadtbezirken", "table_milieu_classes",
                          note_de=milieu_classes_note_de()),
    ),
    "segregation": (
        DistrictTableSpec("Lokalisationsquotienten und LISA-Cluster nach Stadtbezirken", "table_segregation",
                          note_de=lisa_caveat_de()),
        DistrictTableSpec("Lokalisationsquotienten nach Herkunftsregion", "table_location_quotients_regions",
                          strip_prefix="Lokalisationsquotient: Herkunftsregion "),
    ),
}

#: Key figures of the summary (city total), in order (the catalogue's group "summary").
SUMMARY_INDICATORS = CATALOGUE.groups["summary"]

#: Segregation indices: two-group indices (per group) and multigroup indices (group "origin_regions"),
#: as the catalogue groups them.
TWO_GROUP_INDICES = CATALOGUE.groups["two_group_indices"]
MULTIGROUP_INDICES = CATALOGUE.groups["multigroup_indices"]
MULTIGROUP_ID = "origin_regions"

def _group(catalogue: Mapping[str, Indicator], name: str) -> tuple[str, ...]:
    """A featured group of indicator ids of ``catalogue`` (of the default catalogue for a plain mapping)."""
    return getattr(catalogue, "groups", CATALOGUE.groups)[name]


#: LISA codes of the published table → keys of LISA_LABELS_DE (publication interface).
_LISA_CODES = {1: "HH", 2: "LL", 3: "HL", 4: "LH", 0: "not_significant", -1: "island"}

_DECIMALS_BY_KIND = {"count": 0, "share": 1, "ratio": 1, "rate": 1, "mean": 1, "index": 2, "score": 2}
_DECIMALS_BY_ID = {"density": 0, "household_size_mean": 2}
_SEG_DECIMALS = {"seg_dissimilarity": 1}
_SEG_DEFAULT_DECIMALS = 3

#: Units not worth a header line (the cell text says it).
_SILENT_UNITS = {"Typ", "Klasse", "Kennzeichen", ""}

#: Soft hyphens in long compounds of column headers (Chromium on Linux has no German hyphenation).
_SOFT_HYPHENS = {
    "Migrationshintergrund": "Migrations\u00adhinter\u00adgrund",
    "Einpersonenhaushalte": "Einpersonen\u00adhaushalte",
    "Alleinerziehende": "Allein\u00aderziehende",
    "Minderjährigen": "Minder\u00adjährigen",
    "Minderjährige": "Minder\u00adjährige",
    "Lokalisationsquotient": "Lokalisations\u00adquotient",
    "Bevölkerungsdichte": "Bevölkerungs\u00addichte",
    "Durchschnittsalter": "Durchschnitts\u00adalter",
    "Haushaltsgröße": "Haushalts\u00adgröße",
    "Mobilitätsziffer": "Mobilitäts\u00adziffer",
    "Wanderungsvolumen": "Wanderungs\u00advolumen",
    "Wanderungssaldo": "Wanderungs\u00adsaldo",
    "Staatsangehörigkeit": "Staats\u00adangehörigkeit",
    "Herkunftsregion": "Herkunfts\u00adregion",
    "Lebensphase": "Lebens\u00adphase",
    "Familienstatus": "Familien\u00adstatus",
    "Quartierstyp": "Quartiers\u00adtyp",
    "Ausländeranteil": "Ausländer\u00adanteil",
    "Alleinlebende": "Allein\u00adlebende",
}

#: The signs of the report's tables (DIN 55301 as German yearbooks use it; the same as the downloads':
#: :mod:`quarterstats.signs`). "–" would mean "exactly nothing" there, so a missing value is "x".
LEGEND_DE = (
    (SUPPRESSED, "Zahlenwert aus Gründen der statistischen Geheimhaltung gesperrt."),
    (NOT_AVAILABLE, "Tabellenfach gesperrt, weil Aussage nicht sinnvoll oder nicht berechenbar (z. B. Bezirk zu "
                    "klein für einen zusammengesetzten Index, Nenner zu klein oder kein vorheriger Stichtag)."),
)

_TEMPLATES = Path(__file__).with_name("templates")


# ------------------------------------------------------------------------------------------ formatting
def format_number(value: float | int | None, decimals: int = 0, *, signed: bool = False) -> str:
    """German number format: thousands dot, decimal comma, minus sign "−"; "x" for None/NaN (DIN 55301).

    ``format_number(12345.678, 1) == "12.345,7"``; ``signed=True`` prefixes "+" (and "±" for zero), as
    for changes. A value that rounds to zero is shown without a sign (never "−0,0").
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_AVAILABLE
    x = float(value)
    if math.isnan(x):
        return NOT_AVAILABLE
    text = f"{abs(x):,.{decimals}f}".replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    is_zero = float(text.replace(".", "").replace(",", ".")) == 0.0
    if is_zero:
        return f"±{text}" if signed else text
    if x < 0:
        return f"−{text}"
    return f"+{text}" if signed else text


def format_change(value: float | None, decimals: int, unit: str | None) -> str:
    """A change with sign and unit, e.g. ``"+0,4 Prozentpunkte"`` or ``"−1.234 Personen"``."""
    text = format_number(value, decimals, signed=True)
    if text == NOT_AVAILABLE or not unit:
        return text
    return f"{text} {unit}"


def format_date_de(value: date | datetime | str) -> str:
    """German date "31.12.2024"."""
    d = _as_date(value)
    return f"{d.day:02d}.{d.month:02d}.{d.year:04d}"


def _as_date(value: Any) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _decimals(indicator: str, kind: str) -> int:
    if indicator in _DECIMALS_BY_ID:
        return _DECIMALS_BY_ID[indicator]
    if indicator.startswith("location_quotient_"):
        return 2
    return _DECIMALS_BY_KIND.get(kind, 1)


def _class_label(indicator: str, value: float) -> str:
    code = int(round(value))
    if indicator.startswith("lisa_class_"):
        key = _LISA_CODES.get(code)
        return LISA_LABELS_DE[key] if key else str(code)
    word = class_word_de(indicator, code)
    return str(code) if word is None else word


def _cell(indicator: str, kind: str, value: float, flag: str) -> dict[str, str]:
    """Display text and CSS class of one table cell (flag first: "*" suppressed, "x" not available)."""
    flag = "" if flag is None or (isinstance(flag, float) and math.isnan(flag)) else str(flag)
    cls = "text" if kind == "class" else "flag"  # class columns are left-aligned text
    if flag == "*":
        return {"text": "*", "cls": cls}
    if flag or value is None or pd.isna(value):
        return {"text": NOT_AVAILABLE, "cls": cls}
    if kind == "class":
        return {"text": _class_label(indicator, float(value)), "cls": "text"}
    return {"text": format_number(float(value), _decimals(indicator, kind)), "cls": "num"}


def _hyphenate(text: str) -> str:
    """Soft hyphens in long compounds and a break opportunity after "/" (headers of narrow columns)."""
    for word, soft in _SOFT_HYPHENS.items():
        text = text.replace(word, soft)
    return text.replace("/", "/\u200b")


def _unit_de(unit: str) -> str:
    return "" if unit in _SILENT_UNITS else ("in %" if unit == "%" else unit)


def _format_parameter(value: Any) -> str:
    """A parameter value for the methods section (German decimals, "ja"/"nein", tuples as lists)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_AVAILABLE
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):g}".replace(".", ",")
    if isinstance(value, (tuple, list)):
        return ", ".join(_format_parameter(v) for v in value)
    return str(value)


# ------------------------------------------------------------------------------------ table builders
def _indicator_info(published: pd.DataFrame, catalogue: Mapping[str, Indicator]) -> dict[str, dict[str, str]]:
    """label_de, unit and kind per indicator: from the published table, else from the catalogue."""
    info: dict[str, dict[str, str]] = {}
    cols = [c for c in ("indicator", "label_de", "unit", "kind") if c in published.columns]
    for row in published[cols].drop_duplicates("indicator").itertuples(index=False):
        info[row.indicator] = {c: getattr(row, c) for c in cols[1:]}
    for ind_id, entry in info.items():
        cat = catalogue.get(ind_id)
        for field in ("label_de", "unit", "kind"):
            if not isinstance(entry.get(field), str):
                entry[field] = getattr(cat, field) if cat is not None else (ind_id if field == "label_de" else "")
    return info


def _areas(published: pd.DataFrame) -> list[tuple[str, str]]:
    """(district_id, district_name) in natural order, the city total last."""
    names: dict[str, str] = {}
    has_names = "district_name" in published.columns
    for row in published[["district_id"] + (["district_name"] if has_names else [])].itertuples(index=False):
        did = str(row.district_id)
        name = row.district_name if has_names and isinstance(row.district_name, str) else ""
        names.setdefault(did, name or ("Stadt insgesamt" if did == CITY_ID else did))
    return [(d, names[d]) for d in sorted(names, key=natural_key)]


def _district_table(spec: DistrictTableSpec, catalogue: Mapping[str, Indicator],
                    info: Mapping[str, Mapping[str, str]], lookup: Mapping[tuple[str, str], tuple[float, str]],
                    areas: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    ids = [i for i in spec.ids(catalogue) if i in info]
    if not ids:
        return None
    headers = []
    for i in ids:
        label = info[i]["label_de"]
        if spec.strip_prefix and label.startswith(spec.strip_prefix):
            label = label[len(spec.strip_prefix):]
        headers.append({"label": _hyphenate(label), "unit": _unit_de(info[i]["unit"]),
                        "cls": "text" if info[i]["kind"] == "class" else "num"})
    rows = []
    for did, name in areas:
        cells = []
        for i in ids:
            value, flag = lookup.get((did, i), (float("nan"), NOT_AVAILABLE))
            cells.append(_cell(i, info[i]["kind"], value, flag))
        rows.append({"id": "" if did == CITY_ID else did, "name": name, "total": did == CITY_ID, "cells": cells})
    return {"title": spec.title_de, "headers": headers, "rows": rows, "legend": True, "indicators": ids,
            "lead": ["Nr.", "Stadtbezirk"], "no_id": False, "notes": [spec.note_de] if spec.note_de else []}


def _segregation_tables(segregation: pd.DataFrame | None, reference_date: date,
                        catalogue: Mapping[str, Indicator]) -> tuple[list[dict[str, Any]], list[str]]:
    """The city-level segregation indices of the reference date: per group, and multigroup."""
    if segregation is None or segregation.empty:
        return [], []
    seg = segregation.copy()
    if "reference_date" in seg.columns:
        seg = seg[[_as_date(d) == reference_date for d in seg["reference_date"]]]
    if seg.empty:
        return [], []
    values: dict[tuple[str, str], tuple[float, float]] = {}
    suppressed: set[tuple[str, str]] = set()  # flag "*": computed from a suppressed count
    for row in seg.itertuples(index=False):
        p = getattr(row, "p_value", float("nan"))
        values[(str(row.group), str(row.index))] = (row.value, p)
        if str(getattr(row, "flag", "") or "") == "*":
            suppressed.add((str(row.group), str(row.index)))

    def text(key: tuple[str, str], number: float, decimals: int) -> str:
        return "*" if key in suppressed else format_number(number, decimals)

    present = {ix for _, ix in values}
    used: list[str] = []

    def label(ix: str) -> str:
        return catalogue[ix].label_de if ix in catalogue else ix

    tables = []
    cols = [ix for ix in TWO_GROUP_INDICES if ix in present]
    group_labels = [(gid, de) for gid, de, _ in SEGREGATION_GROUPS]
    extra = sorted({g for g, _ in values} - {g for g, _ in group_labels} - {MULTIGROUP_ID})
    group_labels += [(g, g) for g in extra]
    groups = [(gid, de) for gid, de in group_labels if any((gid, ix) in values for ix in cols)]
    if cols and groups:
        headers = []
        for ix in cols:
            unit = "×100" if ix == "seg_dissimilarity" else ""
            headers.append({"label": _hyphenate(label(ix)), "unit": unit, "cls": "num"})
            if ix == "moran_i":
                headers.append({"label": "p-Wert", "unit": "Moran's I", "cls": "num"})
        rows = []
        for gid, de in groups:
            cells = []
            for ix in cols:
                v, p = values.get((gid, ix), (float("nan"), float("nan")))
                cells.append({"text": text((gid, ix), v, _SEG_DECIMALS.get(ix, _SEG_DEFAULT_DECIMALS)), "cls": "num"})
                if ix == "moran_i":
                    cells.append({"text": text((gid, ix), p, 3), "cls": "num"})
            rows.append({"id": "", "name": de, "total": False, "cells": cells})
        tables.append({
            "title": "Segregationsindizes der Stadt (jede Gruppe gegen die übrige Bevölkerung)",
            "headers": headers, "rows": rows, "legend": False, "lead": ["Gruppe"], "no_id": True,
            "notes": [
                "Dissimilaritätsindex D × 100: Anteil der Gruppe in Prozent, der umziehen müsste, damit sie in "
                "allen Bezirken gleich verteilt wäre. Isolations-, Kontakt-, Entropie- und Gini-Index zwischen 0 "
                "und 1.",
                "Moran's I: räumliche Autokorrelation des Gruppenanteils (Queen-Nachbarschaft, "
                "zeilenstandardisiert); p-Wert: Pseudo-p-Wert des Permutationstests mit festem Startwert. "
                "Ein Index wird nur veröffentlicht, wenn alle Fallzahlen, aus denen er berechnet wird (die Gruppe "
                "und die Einwohner in jedem Bezirk), veröffentlicht sind; sonst * gesperrt (er gäbe gesperrte "
                "Fallzahlen zurück); x nicht verfügbar.",
            ],
        })
        used += cols
    multi = [ix for ix in MULTIGROUP_INDICES if (MULTIGROUP_ID, ix) in values]
    if multi:
        rows = [{"id": "", "name": label(ix), "total": False,
                 "cells": [{"text": text((MULTIGROUP_ID, ix), values[(MULTIGROUP_ID, ix)][0], _SEG_DEFAULT_DECIMALS),
                            "cls": "num"}]} for ix in multi]
        tables.append({
            "title": "Multigruppen-Segregation über alle Herkunftsregionen",
            "headers": [{"label": "Wert", "unit": "0 bis 1", "cls": "num"}], "rows": rows, "legend": False,
            "lead": ["Index"], "no_id": True,
            "notes": ["Reardon & Firebaugh 2002: Entmischung der Herkunftsregionen (Bezugsland) zugleich; "
                      "0 = in allen Bezirken gleiche Zusammensetzung; * gesperrt, wo eine Fallzahl einer Herkunftsregion "
                      "gesperrt ist."],
        })
        used += multi
    return tables, used


def _extra_table(key: str, frame: pd.DataFrame) -> dict[str, Any]:
    """An additional table passed in ``tables``: German column names as given; see :func:`render_report`."""
    decimals = dict(frame.attrs.get("decimals", {}))
    flags = frame["flag"] if "flag" in frame.columns else None
    shown = [c for c in frame.columns if c != "flag"]
    headers = []
    kinds = {}
    for c in shown:
        col = frame[c]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric and c not in decimals:
            finite = col.dropna()
            decimals[c] = 0 if finite.empty or bool((finite == finite.round()).all()) else 1
        kinds[c] = numeric
        headers.append({"label": _hyphenate(str(c)), "unit": "", "cls": "num" if numeric else "text"})
    rows = []
    for pos in range(len(frame)):
        flag = "" if flags is None else flags.iloc[pos]
        flag = flag if isinstance(flag, str) else ""
        cells = []
        for c in shown:
            v = frame[c].iloc[pos]
            if kinds[c]:
                if pd.isna(v):
                    cells.append({"text": "*" if flag == "*" else NOT_AVAILABLE, "cls": "flag"})
                else:
                    cells.append({"text": format_number(float(v), int(decimals[c])), "cls": "num"})
            else:
                cells.append({"text": NOT_AVAILABLE if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v),
                              "cls": "text"})
        rows.append({"id": "", "name": "", "total": False, "cells": cells})
    notes = [frame.attrs["note_de"]] if frame.attrs.get("note_de") else []
    return {"title": str(frame.attrs.get("title_de", key)), "headers": headers, "rows": rows, "legend": True,
            "lead": [], "no_id": True, "notes": notes}


def _summary(lookup: Mapping[tuple[str, str], tuple[float, str]], changes: Mapping[tuple[str, str], tuple[float, float]],
             info: Mapping[str, Mapping[str, str]], catalogue: Mapping[str, Indicator], meta: Mapping[str, Any],
             areas: Sequence[tuple[str, str]]) -> dict[str, Any]:
    previous = meta.get("previous_reference_date")
    baseline = meta.get("baseline_reference_date")
    prev_label = f"gegenüber {format_date_de(previous)}" if previous else "gegenüber dem vorigen Stichtag"
    base_label = f"gegenüber {format_date_de(baseline)}" if baseline else "gegenüber dem ersten Stichtag"
    cards = []
    for ind in _group(catalogue, "summary"):
        if ind not in info:
            continue
        kind, unit = info[ind]["kind"], info[ind]["unit"]
        value, flag = lookup.get((CITY_ID, ind), (float("nan"), NOT_AVAILABLE))
        cell = _cell(ind, kind, value, flag)
        cat = catalogue.get(ind)
        change_unit = cat.change_unit if cat is not None else unit
        if change_unit == "%":
            change_unit = "Prozentpunkte"
        d = _decimals(ind, kind)
        ch_prev, ch_base = changes.get((CITY_ID, ind), (float("nan"), float("nan")))
        cards.append({
            "label": info[ind]["label_de"],
            "value": cell["text"],
            "unit": "%" if unit == "%" else unit,
            "change_previous": format_change(ch_prev, d, change_unit) if flag != "*" else "*",
            "change_baseline": format_change(ch_base, d, change_unit) if flag != "*" else "*",
        })
    sentences = []

    def city(ind: str) -> float | None:
        v, f = lookup.get((CITY_ID, ind), (float("nan"), NOT_AVAILABLE))
        return None if f or pd.isna(v) else float(v)

    pop, fs, mh, mhm = (city(i) for i in ("pop", "foreign_share", "with_mh_share", "with_mh_minors_share"))
    city_name = meta.get("city_name", "der Stadt")
    when = format_date_de(meta["reference_date"])
    if pop is not None:
        sentences.append(f"Am {when} hatten {format_number(pop)} Einwohner ihren Hauptwohnsitz in {city_name}.")
    if fs is not None and mh is not None:
        sentences.append(f"{format_number(fs, 1)} % der Einwohner waren Ausländer, {format_number(mh, 1)} % hatten "
                         "einen Migrationshintergrund (Ausländer und Deutsche mit Migrationshintergrund)"
                         + (f"; unter den Minderjährigen waren es {format_number(mhm, 1)} %." if mhm is not None
                            else "."))
    if "with_mh_share" in info:
        ranked = []
        for did, name in areas:
            if did == CITY_ID:
                continue
            v, f = lookup.get((did, "with_mh_share"), (float("nan"), NOT_AVAILABLE))
            if not f and not pd.isna(v):
                ranked.append((float(v), natural_key(did), name))
        if len(ranked) >= 2:
            hi = max(ranked, key=lambda t: t[0])  # first district in natural order on ties
            lo = min(ranked, key=lambda t: t[0])
            sentences.append(
                f"Den höchsten Anteil mit Migrationshintergrund hatte der Stadtbezirk {hi[2]} "
                f"({format_number(hi[0], 1)} %), den niedrigsten der Stadtbezirk {lo[2]} ({format_number(lo[0], 1)} %).")
    any_base = any(c["change_baseline"] not in (NOT_AVAILABLE, "*") for c in cards)
    return {"cards": cards, "sentences": sentences, "previous_label": prev_label, "baseline_label": base_label,
            "show_baseline": any_base}


def _parameter_rows(params: Any) -> list[dict[str, str]]:
    """German rows (name, value, description) of a parameter dataclass, or of a table that is already German
    (columns ``name``, ``value``, ``description_de``)."""
    if params is None:
        return []
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return parameter_rows(params)
    frame = pd.DataFrame(params)
    out = []
    for pos in range(len(frame)):
        row = frame.iloc[pos]
        desc = row.get("description_de", "")
        out.append({"name": str(row["name"]), "value": _format_parameter(row["value"]),
                    "description": "" if desc is None or (not isinstance(desc, str) and pd.isna(desc)) else str(desc)})
    return out


def _methods(catalogue: Mapping[str, Indicator], used: Iterable[str], meta: Mapping[str, Any],
             lookup: Mapping[tuple[str, str], tuple[float, str]], n_districts: int) -> dict[str, Any]:
    used_set = set(used)
    table = catalogue_table(catalogue)
    table = table[table["id"].isin(used_set)]
    family_de = {"population": "Bevölkerung", "age": "Alter", "migration": "Migration", "households": "Haushalte",
                 "mobility": "Wohndauer und Mobilität", "milieu": "Milieus", "segregation": "Segregation"}
    groups = []
    for family, part in table.groupby("family", sort=False):
        rows = []
        for r in part.itertuples(index=False):
            md = r.min_denominator
            rows.append({
                "label": r.label_de, "definition": r.definition_de, "formula": r.formula,
                "unit": r.unit, "min_denominator": NOT_AVAILABLE if pd.isna(md) else format_number(int(md)),
                "source": r.source,
                "change_unit": r.change_unit if isinstance(r.change_unit, str) else NOT_AVAILABLE,
            })
        groups.append({"title": family_de.get(family, family), "rows": rows})

    # prose sections, each where the report shows what it explains
    migration = meta.get("migration_parameters")
    rules = migration if isinstance(migration, MigrationParameters) else MigrationParameters()
    sections = []
    families = {catalogue[i].family for i in used_set if i in catalogue}
    if "migration" in families:
        value, flag = lookup.get((CITY_ID, "eg_not_determinable_share"), (float("nan"), NOT_AVAILABLE))
        share = None if flag or pd.isna(value) else float(value)
        sections += [migration_background_section(rules), immigration_history_section(rules, share),
                     register_undercount_section(meta.get("migration_recovery"))]
    if any(i.startswith("lisa_class_") for i in used_set):
        sections.append(lisa_section(n_districts))
    if any(i.startswith("milieu_") for i in used_set):
        sections.append(milieu_section(catalogue))

    return {
        "groups": groups,
        "sections": sections,
        "migration_parameters": _parameter_rows(migration),
        "indicator_parameters": _parameter_rows(meta.get("indicator_parameters")),
        "disclosure_parameters": _parameter_rows(meta.get("disclosure_parameters")),
    }


def _figure(fig: Any, report_dir: Path, number: int) -> dict[str, Any]:
    png = report_dir / Path(fig.png)
    if not png.is_file():
        raise FileNotFoundError(f"figure {fig.id!r}: PNG {png} not found (paths are relative to the report folder)")
    data = png.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"figure {fig.id!r}: {png} is not a PNG file")
    svg = getattr(fig, "svg", None)
    svg_href = None
    if svg is not None and (report_dir / Path(svg)).is_file():
        svg_href = quote(Path(svg).as_posix())
    return {
        "id": f"abb-{fig.id}", "number": number, "title": fig.title_de, "caption": fig.caption_de,
        "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"), "svg_href": svg_href,
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,  # every text is escaped (labels, captions, parameters come from outside)
        finalize=html_text,  # and control / bidi-override characters in it shown as \x1b, \u202e
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# ------------------------------------------------------------------------------------------- public API
def render_report(published: pd.DataFrame, segregation: pd.DataFrame | None, figures: Sequence["FigureFile"],
                  meta: Mapping[str, Any], report_dir: Path,
                  tables: Mapping[str, pd.DataFrame] | None = None,
                  profiles: Sequence[Mapping[str, str]] = ()) -> Path:
    """Write the self-contained HTML report of one reference date to ``report_dir/bericht.html``.

    Args:
        published: the protected long indicator table of the date (publication interface §1).
        segregation: city-level segregation indices (all dates; rows of ``meta["reference_date"]`` are used).
        figures: figure files (PNG/SVG paths relative to ``report_dir``), placed in their ``section`` in the
            given order; a section id outside :data:`SECTIONS` raises ``ValueError``.
        meta: run metadata (publication interface §6). Optional extra keys: ``previous_reference_date`` and
            ``baseline_reference_date`` (dates named in the summary); ``migration_parameters``
            (:class:`~quarterstats.migration.MigrationParameters`: the rules the methods prose describes;
            default: the defaults), ``indicator_parameters`` and ``disclosure_parameters`` (a parameter
            dataclass, rendered from its German texts in :mod:`quarterstats.parameter_text`, or a table
            that is already German: name, value, description_de); ``migration_recovery`` (the recovery
            report of :func:`quarterstats.migration.recovery_report` where a synthetic truth exists: the
            measured register undercount); ``catalogue`` (mapping id → Indicator when non-default
            indicator parameters were used); ``interactive_map`` (relative path of the interactive map
            page beside the report, :mod:`quarterstats.webmap`: linked from the title page).
        report_dir: the report folder ``reports/<date>/`` (created if missing).
        tables: optional further tables, title → DataFrame with German column names, shown as given
            (numbers German-formatted; a ``flag`` column marks NaN cells "*" or "x"). ``frame.attrs`` may set
            ``section`` (a section id; default: an appendix "Weitere Tabellen"), ``title_de``, ``note_de``
            and ``decimals`` (column → decimals).
        profiles: the district profiles (:func:`quarterstats.profiles.profile_links`: ``id``, ``name``,
            ``href`` relative to ``report_dir``), listed in a chapter "Stadtteilprofile"; none: no chapter.

    Returns:
        Path of the written ``bericht.html``. Rerunning with the same inputs gives the same bytes.
    """
    report_dir = Path(report_dir)
    reference_date = _as_date(meta["reference_date"])
    catalogue: Mapping[str, Indicator] = meta.get("catalogue") or CATALOGUE
    if "reference_date" in published.columns and len(published):
        dates = {_as_date(d) for d in published["reference_date"].unique()}
        if dates != {reference_date}:
            raise ValueError(f"published holds reference dates {sorted(dates)}, expected only {reference_date}")
    keys = published[["district_id", "indicator"]].astype(str)
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].iloc[0].tolist()
        raise ValueError(f"published has duplicate rows for district/indicator {dup}")
    known = {s for s, _ in SECTIONS}
    for fig in figures:
        if fig.section not in known:
            raise ValueError(f"figure {fig.id!r}: unknown section {fig.section!r} (one of {sorted(known)})")

    info = _indicator_info(published, catalogue)
    areas = _areas(published)
    flags = published["flag"] if "flag" in published.columns else pd.Series("", index=published.index)
    lookup: dict[tuple[str, str], tuple[float, str]] = {}
    changes: dict[tuple[str, str], tuple[float, float]] = {}
    ch_prev = published["change_previous"] if "change_previous" in published.columns else None
    ch_base = published["change_baseline"] if "change_baseline" in published.columns else None
    n = len(published)
    nan_list = [float("nan")] * n
    for did, ind, value, flag, prev, base in zip(
            keys["district_id"].tolist(), keys["indicator"].tolist(), published["value"].astype(float).tolist(),
            flags.tolist(), nan_list if ch_prev is None else ch_prev.astype(float).tolist(),
            nan_list if ch_base is None else ch_base.astype(float).tolist()):
        lookup[(did, ind)] = (value, flag if isinstance(flag, str) else "")
        changes[(did, ind)] = (prev, base)

    used: list[str] = [i for i in _group(catalogue, "summary") if i in info]
    extra_tables = {}
    for key, frame in (tables or {}).items():
        section = frame.attrs.get("section", _APPENDIX[0])
        if section not in known and section != _APPENDIX[0]:
            raise ValueError(f"table {key!r}: unknown section {section!r}")
        extra_tables.setdefault(section, []).append(_extra_table(key, frame))

    chapters = []
    fig_no = tab_no = 0
    for section, title in SECTIONS + (_APPENDIX,):
        section_tables = []
        for spec in DISTRICT_TABLES.get(section, ()):
            table = _district_table(spec, catalogue, info, lookup, areas)
            if table is not None:
                section_tables.append(table)
                used += table["indicators"]
        if section == "segregation":
            seg_tables, seg_used = _segregation_tables(segregation, reference_date, catalogue)
            section_tables = seg_tables + section_tables
            used += seg_used
        section_tables += extra_tables.get(section, [])
        section_figures = []
        for fig in figures:
            if fig.section == section:
                fig_no += 1
                section_figures.append(_figure(fig, report_dir, fig_no))
        for table in section_tables:
            tab_no += 1
            table["number"] = tab_no
            table["anchor"] = f"tab-{tab_no}"
        if section_tables or section_figures:
            chapters.append({"id": section, "title": title, "tables": section_tables, "figures": section_figures})

    hashes = meta.get("input_hashes") or {}
    context = {
        "city_name": meta.get("city_name", ""),
        "reference_date": format_date_de(reference_date),
        "reference_date_iso": reference_date.isoformat(),
        "source": meta.get("source", ""),
        "protection": meta.get("protection_de", ""),
        "catalogue_version": meta.get("catalogue_version", ""),
        "code_version": meta.get("code_version", ""),
        "generated_from": meta.get("generated_from", ""),
        "settings_sha256": meta.get("settings_sha256", ""),
        "input_hashes": [{"file": k, "sha256": hashes[k]} for k in sorted(hashes)],
        "boundaries": boundaries_de(meta.get("boundaries")),
        "summary": _summary(lookup, changes, info, catalogue, meta, areas),
        "chapters": chapters,
        "methods": _methods(catalogue, dict.fromkeys(used), meta, lookup,
                            sum(1 for did, _ in areas if did != CITY_ID)),
        "legend": LEGEND_DE,
        "profiles": list(profiles),
        "interactive_map": meta.get("interactive_map"),
    }
    html = _environment().get_template("report.html.j2").render(**context)
    return atomic.write_text(html, report_dir / REPORT_FILE)


def boundaries_de(info: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The boundary version of a date and the repairs of the series geography, in German words.

    ``info``: ``in_force`` / ``series`` (a version's valid-from date or ``all``), their files, and
    ``repairs`` (:meth:`quarterstats.boundaries.BoundaryValidation.summary`)."""
    if not info:
        return None

    def version(key: str, file: str) -> str:
        return f"{file} (gültig ab {format_date_de(key)})" if key != "all" else f"{file} (für alle Stichtage)"

    text = version(info["in_force"], info["in_force_file"])
    if info["series"] != info["in_force"]:
        text += (f"; ausgewertet auf dem Gebietsstand {version(info['series'], info['series_file'])}: die Personen "
                 "sind über ihre Adresskoordinaten den Bezirken dieses Gebietsstands zugeordnet, damit die "
                 "Zeitreihe auf einem Gebietsstand vergleichbar bleibt")
    r = info.get("repairs") or {}
    parts = []
    if r.get("overlaps_repaired"):
        parts.append(f"{_count_de(r['overlaps_repaired'], 'Überlappung', 'Überlappungen')} "
                     f"({format_number(r['overlap_repaired_m2'], 1)} m²) "
                     "dem Bezirk mit der niedrigeren Kennung zugeschlagen")
    if r.get("slivers_repaired"):
        parts.append(f"{_count_de(r['slivers_repaired'], 'schmale Lücke', 'schmale Lücken')} "
                     f"({format_number(r['sliver_repaired_m2'], 1)} m²) "
                     "dem Nachbarbezirk mit der längsten gemeinsamen Grenze zugeschlagen")
    if r.get("gaps_left"):
        parts.append(f"{_count_de(r['gaps_left'], 'breitere Lücke', 'breitere Lücken')} "
                     f"({format_number(r['gap_left_m2'], 1)} m²) offen "
                     "gelassen; Adressen darin zählen zum nächstgelegenen Bezirk")
    if r.get("repaired_invalid"):
        parts.append(f"{_count_de(r['repaired_invalid'], 'ungültige Geometrie', 'ungültige Geometrien')} repariert")
    nearest = info.get("nearest_district")
    if nearest:
        parts.append(f"{_count_de(nearest, 'Person', 'Personen')} mit Adresse in einer Lücke oder knapp außerhalb der "
                     "Stadtgrenze dem nächstgelegenen Bezirk zugeordnet")
    return {"version": text, "repairs": "; ".join(parts) + "." if parts else "keine"}


def _count_de(n: int, singular: str, plural: str) -> str:
    return f"{format_number(n)} {singular if n == 1 else plural}"


_FILE_KINDS = {".csv": "CSV", ".parquet": "Parquet", ".xlsx": "Excel", ".xls": "Excel", ".html": "HTML",
               ".png": "PNG", ".svg": "SVG", ".pdf": "PDF", ".json": "JSON", ".gpkg": "GeoPackage",
               ".geojson": "GeoJSON"}


#: German titles of the published files by stem (file names are ASCII; the index shows words).
FILE_TITLES_DE = {
    "alterspyramide": "Alterspyramide", "bezirke": "Bezirke mit Werten (GIS)", "bezugslaender": "Bezugsländer",
    "indikatoren": "Indikatoren", "quartierstypen": "Quartierstypen", "segregationsindizes": "Segregationsindizes", "tabellen": "Tabellen",
    "zeichenerklaerung": "Zeichenerklärung", "zeitreihe": "Zeitreihe",
    "zeitreihe_segregationsindizes": "Zeitreihe der Segregationsindizes",
}

#: Suffix of the Excel-ready German CSV beside each machine CSV (``indikatoren_de.csv``).
_GERMAN_CSV = "_de"


def _link(path: str | Path) -> dict[str, str]:
    posix = PurePosixPath(Path(path).as_posix())
    if posix.is_absolute() or ".." in posix.parts:
        raise ValueError(f"index links must be relative paths inside the reports folder, got {path!s}")
    kind = _FILE_KINDS.get(posix.suffix.lower(), posix.suffix.lstrip(".").upper() or "Datei")
    if posix.suffix.lower() == ".csv" and posix.stem.endswith(_GERMAN_CSV):
        kind = "CSV (Excel, deutsch)"
    return {"href": quote(str(posix)), "name": posix.name, "kind": kind}


def _file_groups(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Files grouped by folder and stem, in order of first appearance: one line "indikatoren: CSV · Parquet";
    the German CSV (``<stem>_de.csv``) joins its stem's line, and the line is named in words."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        link = _link(path)
        posix = PurePosixPath(Path(path).as_posix())
        stem = posix.stem.removesuffix(_GERMAN_CSV) if posix.suffix.lower() == ".csv" else posix.stem
        name = FILE_TITLES_DE.get(stem) or stem.replace("_", " ")
        groups.setdefault((str(posix.parent), stem), {"name": name[:1].upper() + name[1:], "links": []})[
            "links"].append(link)
    return list(groups.values())


def render_index(reports_root: Path, entries: list[dict], *, series_files: Sequence[str | Path] = (),
                 city_name: str | None = None, missing_dates: Sequence[date | str] = (),
                 map_page: str | Path | None = None) -> Path:
    """Write ``reports_root/index.html``: one row per reference date (newest first) with links to the report
    and the table files, plus the time-series files (e.g. the Excel workbook).

    Args:
        reports_root: the ``reports/`` folder.
        entries: dicts with ``reference_date`` (date or ISO string), ``report`` (path of the HTML report
            relative to ``reports_root``, may be None), ``files`` (relative paths of CSV/Parquet/Excel
            tables) and optionally ``profiles`` (the overview of the district profiles, relative path). An entry whose ``reference_date`` is None lists date-independent files (time series).
        series_files: further time-series files (relative paths), e.g. the time-series workbook.
        city_name: shown in the title when given.
        missing_dates: reference dates that have an extract but no published report yet; the index
            names them, so that nobody takes the time series for complete.
        map_page: the interactive map over all dates (:mod:`quarterstats.webmap`, relative path), linked
            at the top when given.
    """
    reports_root = Path(reports_root)
    dated, series_paths = [], list(series_files)
    for entry in entries:
        if entry.get("reference_date") is None:
            series_paths += list(entry.get("files", ()))
            if entry.get("report"):
                series_paths.append(entry["report"])
            continue
        d = _as_date(entry["reference_date"])
        dated.append({
            "date": d, "date_de": format_date_de(d), "iso": d.isoformat(),
            "report": _link(entry["report"]) if entry.get("report") else None,
            "files": _file_groups(entry.get("files", ())),
            "profiles": _link(entry["profiles"]) if entry.get("profiles") else None,
        })
    series = _file_groups(series_paths)
    if len({e["date"] for e in dated}) != len(dated):
        raise ValueError("render_index: a reference date appears twice in entries")
    dated.sort(key=lambda e: e["date"], reverse=True)
    html = _environment().get_template("index.html.j2").render(
        city_name=city_name or "", entries=dated, series=series, legend=LEGEND_DE,
        map_page=_link(map_page) if map_page else None,
        missing=[format_date_de(_as_date(d)) for d in sorted(_as_date(d) for d in missing_dates)])
    return atomic.write_text(html, reports_root / INDEX_FILE)
