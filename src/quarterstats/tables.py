"""The published tables: machine files for researchers, German files for Excel users, workbooks for planners.

Each table is written three ways (:func:`write_table_files`):

* ``<stem>.parquet`` — typed (counts as nullable Int64 where a count may be suppressed), English snake_case
  columns, the raw text;
* ``<stem>.csv`` — the same for any tool: UTF-8 without BOM, ``,`` separator, point decimals, ISO dates;
* ``<stem>_de.csv`` — for a German Excel's double-click: UTF-8 with BOM, ``;`` separator, decimal comma,
  German headers, dates as 31.12.2024, codes in words where the table has codes.

Every text cell of both CSV files goes through :func:`quarterstats.safe_text.spreadsheet_text` (OWASP:
text starting with ``= + - @`` is prefixed with ``'``). Missing values are empty in the CSV files; the
column ``flag``/``Zeichen`` gives the reason with the signs of :mod:`quarterstats.signs`, whose legend
``zeichenerklaerung.csv`` lies beside the German files.

The workbooks (:func:`write_workbook`, :func:`write_time_series_workbook`) are built here from the same
frames and written by :mod:`quarterstats.workbook`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from quarterstats import atomic
from quarterstats.catalogue import (
    CATALOGUE, FAMILIES, SEGREGATION_GROUPS, Indicator, catalogue_table, display_decimals, excel_number_format,
)
from quarterstats.safe_text import spreadsheet_text
from quarterstats.signs import LEGEND_DE, NOT_AVAILABLE, SUPPRESSED, UNKNOWN
from quarterstats.workbook import PER_ROW, Column, Sheet, write_workbook_sheets

__all__ = [
    "CITY_NAME_DE", "HEADERS_DE", "class_words_de", "code_lists_de", "german_frame", "indicator_sheets",
    "integer_counts", "long_table", "mark_unknown", "pyramid_published", "segregation_published",
    "time_series_sheets", "top_countries_published", "write_legend_file", "write_table_files",
    "write_time_series_workbook", "write_workbook",
]

CITY = "city"
CITY_NAME_DE = "Stadt insgesamt"
FAMILY_SHEETS_DE = {
    "population": "Bevölkerung", "age": "Alter", "migration": "Migration", "households": "Haushalte",
    "mobility": "Wohndauer und Mobilität", "milieu": "Milieus", "segregation": "Segregation",
}
KIND_DE = {
    "count": "Anzahl", "share": "Anteil", "ratio": "Verhältniszahl", "rate": "Ziffer", "mean": "Mittelwert",
    "index": "Index", "score": "Punktwert", "class": "Klasse",
}
#: Group of the multigroup segregation indices (all origin regions at once).
MULTIGROUP = "origin_regions"
GROUP_LABELS_DE = {gid: label for gid, label, _ in SEGREGATION_GROUPS} | {MULTIGROUP: "alle Herkunftsregionen"}
TOP_COUNTRY_PREFIX = "top_country_"
LEGEND_FILE = "zeichenerklaerung.csv"

#: German headers of the published tables' columns (machine name -> German), for the ``_de.csv`` files.
HEADERS_DE = {
    "reference_date": "Stichtag", "district_id": "Bezirksnummer", "district_name": "Bezirk",
    "indicator": "Kennung", "label_de": "Indikator", "unit": "Einheit", "kind": "Art", "value": "Wert",
    "value_de": "Wert in Worten", "numerator": "Zähler", "denominator": "Nenner", "flag": "Zeichen",
    "change_previous": "Veränderung zum vorigen Stichtag", "change_baseline": "Veränderung zum ersten Stichtag",
    "age_band": "Altersgruppe", "age_band_order": "Reihenfolge", "sex": "Geschlecht", "mh": "Migrationshintergrund",
    "count": "Anzahl", "index": "Kennung", "index_label_de": "Index", "group": "Gruppenkennung",
    "group_label_de": "Gruppe", "p_value": "p-Wert", "rank": "Rang", "country_code": "Staatenschlüssel",
    "country_name": "Bezugsland", "name_flag": "Zeichen Bezugsland",
    "type_code": "Typcode", "type_name_de": "Quartierstyp", "type_description_de": "Beschreibung des Typs",
    "status_class": "Statusklasse (Schlüssel)", "status_class_de": "Statusklasse",
    "dynamics_class": "Dynamikklasse (Schlüssel)", "dynamics_class_de": "Dynamikklasse", "note_de": "Hinweis",
}
#: Words for the codes of the pyramid table (German files only).
SEX_DE = {"m": "männlich", "w": "weiblich"}
MH_DE = {"mit MH": "mit Migrationshintergrund", "ohne MH": "ohne Migrationshintergrund"}


# ----------------------------------------------------------------------------------------- code lists
def class_words_de(indicator: str, codes: pd.Series) -> pd.Series:
    """German words for the codes of a class indicator (milieu type, status and dynamics class, LISA class,
    exclusion flag); NA where the code is missing. The words are declared where the classes are defined."""
    from quarterstats.indicators.milieu import class_word_de
    from quarterstats.indicators.segregation import LISA_LABELS_BY_CODE_DE

    numbers = pd.to_numeric(codes, errors="coerce")
    present = numbers.dropna().round().astype(int)
    if indicator.startswith("lisa_class_"):
        words = LISA_LABELS_BY_CODE_DE
    else:
        words = {code: class_word_de(indicator, code) for code in present.unique()}
        words = {code: word for code, word in words.items() if word is not None}
    out = pd.Series(pd.NA, index=codes.index, dtype="string")
    out[present.index] = present.map(lambda c: words.get(c, str(c))).astype("string")
    return out


def code_lists_de(milieu_codes: Iterable[float] = ()) -> pd.DataFrame:
    """The code lists of the class indicators (Merkmal, Schlüssel, Bedeutung) for the definitions sheet:
    the LISA classes, the exclusion flag, the status and dynamics classes, the levels of the digits of the
    type code and the district types that occur (``milieu_codes``) with their description."""
    from quarterstats.indicators.milieu import (
        DYNAMICS_LABELS_DE, EXCLUDED_LABELS_DE, LEVEL_WORDS_DE, STATUS_LABELS_DE, TYPOLOGY_DIMENSIONS,
        type_description_de, type_label_de,
    )
    from quarterstats.indicators.segregation import LISA_LABELS_BY_CODE_DE

    rows = [("LISA-Cluster", str(code), word) for code, word in LISA_LABELS_BY_CODE_DE.items()]
    rows += [("Ohne Milieuwerte", str(code), word) for code, word in EXCLUDED_LABELS_DE.items()]
    rows += [("Statusklasse", str(code), word) for code, word in STATUS_LABELS_DE.items()]
    rows += [("Dynamikklasse", str(code), word) for code, word in DYNAMICS_LABELS_DE.items()]
    for pos, dim in enumerate(TYPOLOGY_DIMENSIONS, start=1):
        dimension = CATALOGUE[f"milieu_{dim}"].label_de
        for code, word in sorted(LEVEL_WORDS_DE.items()):
            rows.append((f"Quartierstyp, {pos}. Ziffer ({dimension})", str(code), word))
    for code in sorted({int(round(c)) for c in milieu_codes if pd.notna(c)}):
        rows.append(("Quartierstyp", f"{code:0{len(TYPOLOGY_DIMENSIONS)}d}",
                     f"{type_label_de(code)}: {type_description_de(code)}"))
    return pd.DataFrame(rows, columns=["Merkmal", "Schlüssel", "Bedeutung"])


# ------------------------------------------------------------------------------------------ CSV files
def _csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns made inert for spreadsheets (OWASP); other columns as they are."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(spreadsheet_text, na_action="ignore")
    return out


def _dates_de(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        sample = out[column].dropna()
        if len(sample) and isinstance(sample.iloc[0], date):
            out[column] = pd.to_datetime(out[column]).dt.strftime("%d.%m.%Y")
    return out


def german_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as its German CSV shows it: dates German, codes in words, German headers."""
    out = _dates_de(frame)
    if "sex" in out.columns:
        out["sex"] = out["sex"].map(lambda s: SEX_DE.get(s, s), na_action="ignore")
    if "mh" in out.columns:
        out["mh"] = out["mh"].map(lambda s: MH_DE.get(s, s), na_action="ignore")
    if "kind" in out.columns:
        out["kind"] = out["kind"].map(lambda s: KIND_DE.get(s, s), na_action="ignore")
    if "district_id" in out.columns:
        out["district_id"] = out["district_id"].where(out["district_id"] != CITY, "")
    return out.rename(columns=HEADERS_DE)


def write_table_files(frame: pd.DataFrame, folder: Path, stem: str) -> list[Path]:
    """``<stem>.parquet``, ``<stem>.csv`` (machine) and ``<stem>_de.csv`` (German Excel) of ``frame``."""
    parquet, csv, csv_de = folder / f"{stem}.parquet", folder / f"{stem}.csv", folder / f"{stem}_de.csv"
    atomic.write_parquet(frame, parquet)
    atomic.write_text(_csv_text(frame).to_csv(index=False, lineterminator="\n", float_format="%.15g"), csv)
    german = _csv_text(german_frame(frame))
    atomic.write_text("\ufeff" + german.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n",
                                               float_format="%.15g"), csv_de)
    return [parquet, csv, csv_de]


def write_legend_file(folder: Path) -> Path:
    """``zeichenerklaerung.csv``: the signs of the tables (German CSV conventions)."""
    target = folder / LEGEND_FILE
    legend = pd.DataFrame(list(LEGEND_DE) + [("(leer)", "in den CSV-Dateien: kein Zahlenwert; der Grund steht "
                                                          "in der Spalte „Zeichen“")],
                          columns=["Zeichen", "Bedeutung"])
    atomic.write_text("\ufeff" + legend.to_csv(index=False, sep=";", lineterminator="\r\n"), target)
    return target


# ------------------------------------------------------------------------------------ table contents
def long_table(published: pd.DataFrame) -> pd.DataFrame:
    """The published long table with the class codes also in words (``value_de``)."""
    out = published.copy()
    words = pd.Series(pd.NA, index=out.index, dtype="string")
    classes = out["kind"] == "class"
    for indicator, idx in out[classes].groupby("indicator", sort=False).groups.items():
        words[idx] = class_words_de(indicator, out.loc[idx, "value"])
    out.insert(out.columns.get_loc("value") + 1, "value_de", words)
    return out


def mark_unknown(published: pd.DataFrame, computed: pd.DataFrame) -> pd.DataFrame:
    """Sign "." instead of "x" where a value is missing because the delivered number is missing: an
    indicator of :data:`~quarterstats.indicators.milieu.AUXILIARY_INDICATORS` whose computed row
    (``computed``: the unprotected indicator table) has no numerator but a positive denominator."""
    from quarterstats.indicators.milieu import AUXILIARY_INDICATORS

    rows = computed[computed["indicator"].isin(AUXILIARY_INDICATORS)]
    missing = rows[rows["numerator"].isna() & (rows["denominator"] > 0)]
    if missing.empty:
        return published
    keys = pd.MultiIndex.from_frame(missing[["district_id", "indicator"]].astype(str))
    cells = pd.MultiIndex.from_frame(published[["district_id", "indicator"]].astype(str))
    hit = cells.isin(keys) & published["flag"].eq(NOT_AVAILABLE).fillna(False).to_numpy(dtype=bool)
    out = published.copy()
    out["flag"] = out["flag"].mask(hit, UNKNOWN)
    return out


def integer_counts(frame: pd.DataFrame, column: str = "count") -> pd.DataFrame:
    """``column`` as nullable Int64 (suppressed counts stay missing)."""
    out = frame.copy()
    out[column] = pd.array(pd.to_numeric(out[column]).round(), dtype="Int64")
    return out


def pyramid_published(pyramid: pd.DataFrame, district_names: Mapping[str, str]) -> pd.DataFrame:
    """The protected pyramid with district names and whole-number counts."""
    out = integer_counts(pyramid)
    names = out["district_id"].map(lambda d: CITY_NAME_DE if d == CITY else district_names.get(d, d))
    out.insert(1, "district_name", names.astype("string"))
    return out


def segregation_published(segregation: pd.DataFrame, catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """City-wide segregation indices and Moran's I (value, p-value) with German labels, one row per
    reference date × index × group. ``segregation`` has ``reference_date, index, group, value, p_value``."""
    out = segregation[["reference_date", "index", "group", "value", "p_value"]].copy()
    out["reference_date"] = pd.to_datetime(out["reference_date"].astype(str)).dt.date
    out.insert(2, "index_label_de", out["index"].map(lambda i: catalogue[i].label_de if i in catalogue else i))
    out.insert(4, "group_label_de", out["group"].map(lambda g: GROUP_LABELS_DE.get(g, g)))
    # a value suppressed upstream (disclosure.linked.publishable_segregation: "*") keeps its sign
    incoming = segregation["flag"].astype("string").fillna("").to_numpy() if "flag" in segregation.columns else ""
    out["flag"] = np.where(out["value"].isna(), np.where(incoming == SUPPRESSED, SUPPRESSED, NOT_AVAILABLE), "")
    for column in ("index", "index_label_de", "group", "group_label_de", "flag"):
        out[column] = out[column].astype("string")
    return out.sort_values(["reference_date"], kind="stable").reset_index(drop=True)


def top_countries_published(persons: pd.DataFrame, published: pd.DataFrame, n: int) -> pd.DataFrame:
    """The published ``top_country_<k>`` counts with their country (code, German name).

    A country is named only where naming it discloses nothing the protection hides (``name_flag`` "*"
    where it is withheld):

    * not where its count is suppressed — the name would say that one or two persons of that country
      live in the district;
    * not where the count of the country's origin region (``origin_region_<region>``) is suppressed in
      that district — a region of one country (Türkei) has exactly the country's count, and an area
      whose countries are all listed gives each region's count as the sum of its listed countries.

    Ranks beyond the area's number of countries have the count 0 and no country (``name_flag`` empty).
    """
    from quarterstats.countries import country_name_de, origin_region
    from quarterstats.indicators import top_countries

    rows = published[published["indicator"].str.startswith(TOP_COUNTRY_PREFIX)].copy()
    rows["rank"] = rows["indicator"].str.removeprefix(TOP_COUNTRY_PREFIX).astype(int)
    rows = rows[rows["rank"] <= n]
    districts = pd.DataFrame({"district_id": [d for d in dict.fromkeys(published["district_id"]) if d != CITY]})
    top = top_countries(persons, n=n, districts=districts)
    top["district_id"] = top["district_id"].astype("string")
    merged = rows.merge(top[["district_id", "rank", "country"]], on=["district_id", "rank"], how="left")
    day = merged["reference_date"].iloc[0] if len(merged) else date.min
    region = pd.Series(np.asarray(origin_region(merged["country"].fillna("XXX"), day), dtype=object),
                       index=merged.index)
    region_flags = published[published["indicator"].str.startswith("origin_region_")
                             & ~published["indicator"].str.endswith("_share")]
    region_flags = region_flags.set_index(["district_id", "indicator"])["flag"]
    keys = pd.MultiIndex.from_arrays([merged["district_id"].astype(str), "origin_region_" + region])
    region_suppressed = region_flags.reindex(keys).eq("*").fillna(False).to_numpy(dtype=bool)
    has_country = merged["country"].notna().to_numpy() & (merged["value"].fillna(1) > 0).to_numpy()
    withheld = has_country & (merged["flag"].eq("*").fillna(False).to_numpy(dtype=bool) | region_suppressed)
    shown = has_country & ~withheld
    code = merged["country"].where(shown)
    names = pd.Series(np.asarray(country_name_de(code.fillna("XXX")), dtype=object), index=merged.index)
    return pd.DataFrame({
        "reference_date": merged["reference_date"],
        "district_id": merged["district_id"].astype("string"),
        "district_name": merged["district_name"].astype("string"),
        "rank": merged["rank"].astype("int64"),
        "country_code": code.astype("string"),
        "country_name": names.where(shown).astype("string"),
        "name_flag": pd.array(np.where(withheld, "*", ""), dtype="string"),
        "count": pd.array(merged["value"].round(), dtype="Int64"),
        "flag": merged["flag"].astype("string"),
    })


# --------------------------------------------------------------------------------------- workbooks
def _unit_header(ind: Indicator) -> str:
    """The full label with the unit in brackets (unless a class, or the label already names the unit)."""
    if ind.kind == "class" or ind.label_de.endswith(f"({ind.unit})"):
        return ind.label_de
    return f"{ind.label_de} ({ind.unit})"


def _id_columns() -> list[Column]:
    return [Column("district_id", "Bezirksnummer", width=14), Column("district_name", "Bezirk", width=28)]


def _area_frame(published: pd.DataFrame) -> pd.DataFrame:
    areas = published[["district_id", "district_name"]].drop_duplicates("district_id").reset_index(drop=True)
    areas["district_id"] = areas["district_id"].where(areas["district_id"] != CITY, "")
    return areas


def _wide(published: pd.DataFrame, indicators: Sequence[str],
          catalogue: Mapping[str, Indicator]) -> tuple[pd.DataFrame, list[Column]]:
    """Districts (rows, table order) × indicators: value columns (words for classes) and sign columns
    ``<id>__sign`` ("*", "x" or empty); an indicator without rows is "x" throughout."""
    order = list(dict.fromkeys(published["district_id"]))
    rows = published[published["indicator"].isin(indicators)]
    values = rows.pivot(index="district_id", columns="indicator", values="value") \
        .reindex(index=order, columns=list(indicators)).astype("float64")
    signs = rows.pivot(index="district_id", columns="indicator", values="flag") \
        .reindex(index=order, columns=list(indicators)).astype(object)
    signs = signs.where(signs.notna(), NOT_AVAILABLE).to_numpy(dtype=object)
    areas = _area_frame(published)
    data: dict[str, object] = {"district_id": areas["district_id"].to_numpy(), "district_name": areas["district_name"].to_numpy()}
    columns = []
    for k, indicator in enumerate(indicators):
        ind = catalogue[indicator]
        data[f"{indicator}__sign"] = signs[:, k]
        if ind.kind == "class":
            words = class_words_de(indicator, values[indicator]).to_numpy(dtype=object, na_value=None)
            data[indicator] = np.where(pd.isna(words), signs[:, k], words)
            columns.append(Column(indicator, _unit_header(ind), width=30))
        else:
            data[indicator] = values[indicator].to_numpy()
            columns.append(Column(indicator, _unit_header(ind), excel_number_format(display_decimals(ind)),
                                  signs=f"{indicator}__sign"))
    return pd.DataFrame(data), columns


def _date_de(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def indicator_sheets(published: pd.DataFrame, reference_date: date, source_de: str,
                     top: pd.DataFrame | None = None, catalogue: Mapping[str, Indicator] = CATALOGUE) -> list[Sheet]:
    """One sheet per family (the top-country counts on a sheet of their own, beside their countries)."""
    sheets = []
    present = list(dict.fromkeys(published["indicator"]))
    subtitle = f"Stichtag {_date_de(reference_date)}; Einheit im Spaltenkopf; Quelle: {source_de}"
    for family in FAMILIES:
        indicators = [i for i in present if i in catalogue and catalogue[i].family == family
                      and not i.startswith(TOP_COUNTRY_PREFIX)]
        if not indicators:
            continue
        frame, columns = _wide(published, indicators, catalogue)
        name = FAMILY_SHEETS_DE[family]
        sheets.append(Sheet(name, f"{name} nach Bezirken", subtitle, _id_columns() + columns, frame))
    ranks = [i for i in present if i.startswith(TOP_COUNTRY_PREFIX) and i in catalogue]
    if ranks:
        frame, value_columns = _wide(published, ranks, catalogue)
        columns = _id_columns()
        for indicator, value_column in zip(ranks, value_columns):
            rank = int(indicator.removeprefix(TOP_COUNTRY_PREFIX))
            country = pd.Series(pd.NA, index=frame.index, dtype="string")
            if top is not None:  # the name, or "*" where it is withheld
                of_rank = top[top["rank"] == rank].set_index("district_id")
                ids = published[["district_id"]].drop_duplicates()["district_id"].reset_index(drop=True)
                withheld = ids.map(of_rank["name_flag"]).eq("*").fillna(False).to_numpy(dtype=bool)
                country = ids.map(of_rank["country_name"]).astype("string").mask(withheld, "*")
            frame[f"{indicator}__country"] = country.fillna("")
            columns += [Column(f"{indicator}__country", f"Bezugsland Rang {rank}: Staat", width=24), value_column]
        sheets.append(Sheet("Bezugsländer", "Häufigste Bezugsländer der Einwohner mit Migrationshintergrund",
                            subtitle + "; Personen mit Migrationshintergrund aus dem Bezugsland", columns, frame))
    return sheets


def segregation_sheet(segregation: pd.DataFrame, subtitle: str) -> Sheet:
    """City-wide indices of one date: index, group, value, p-value (Moran's I only)."""
    frame = segregation.reset_index(drop=True).copy()
    frame["value_format"] = frame["index"].map(
        lambda i: excel_number_format(display_decimals(CATALOGUE[i])) if i in CATALOGUE else "0.000")
    frame["value_sign"] = frame["flag"].fillna("")
    frame["p_sign"] = np.where(frame["p_value"].isna(), NOT_AVAILABLE, "")
    columns = [Column("index_label_de", "Index", width=40), Column("group_label_de", "Gruppe", width=40),
               Column("value", "Wert", PER_ROW, signs="value_sign", width=12),
               Column("p_value", "p-Wert (Permutationstest)", "0.000", signs="p_sign", width=14)]
    return Sheet("Segregationsindizes", "Segregationsindizes und Moran's I der Stadt", subtitle, columns,
                 frame.assign(value__format=frame["value_format"]), freeze_columns=2)


def definitions_table(indicators: Iterable[str], catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    table = catalogue_table(catalogue)
    table = table[table["id"].isin(set(indicators))]
    columns = {
        "id": "Kennung", "label_de": "Indikator", "short_de": "Kurzname", "unit": "Einheit",
        "definition_de": "Definition", "formula": "Formel", "numerator": "Zähler", "denominator": "Nenner",
        "min_denominator": "Mindestnenner", "source": "Quelle", "change_unit": "Veränderung in",
    }
    return table[list(columns)].rename(columns=columns).reset_index(drop=True)


def _notes_de(provenance, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    return [
        ("Quelle", provenance.source_de),
        ("Geheimhaltung", provenance.protection_de),
        ("Zahlen", "Werte sind ungerundet gespeichert; die Anzeige rundet nach dem Zahlenformat der Spalte."),
        ("Stadt insgesamt", "Die Zeile „Stadt insgesamt“ hat keine Bezirksnummer; sie zählt alle Einwohner."),
        *extra,
    ]


def write_workbook(published: pd.DataFrame, target: Path, provenance, *, segregation: pd.DataFrame | None = None,
                   top: pd.DataFrame | None = None, catalogue: Mapping[str, Indicator] = CATALOGUE) -> Path:
    """The planners' workbook of one reference date (``tabellen.xlsx``)."""
    day = provenance.reference_date
    sheets = indicator_sheets(published, day, provenance.source_de, top, catalogue)
    indicators = list(published["indicator"].unique())
    if segregation is not None and len(segregation):
        sheets.append(segregation_sheet(segregation, f"Stichtag {_date_de(day)}; Quelle: {provenance.source_de}"))
        indicators += list(segregation["index"].unique())
    milieu = published.loc[published["indicator"] == "milieu_type", "value"]
    return write_workbook_sheets(
        target, sheets, definitions=definitions_table(indicators, catalogue), code_lists=code_lists_de(milieu),
        notes_de=_notes_de(provenance, [("Stichtag", _date_de(day))]), provenance_rows=provenance.rows_de(),
        footer_left=f"Quelle: {provenance.source_de}", footer_right=f"Stichtag {_date_de(day)}",
    )


def time_series_sheets(series: pd.DataFrame, indicators: Iterable[str], source_de: str,
                       catalogue: Mapping[str, Indicator] = CATALOGUE) -> list[Sheet]:
    """One sheet per indicator, named by its short name: districts × reference dates (every date of
    ``series``; "x" where the indicator has no value, e.g. flows at the first date)."""
    sheets = []
    order = list(dict.fromkeys(series["district_id"]))
    dates = sorted(series["reference_date"].unique())
    for indicator in indicators:
        ind = catalogue[indicator]
        rows = series[series["indicator"] == indicator]  # none at all: e.g. flows with a single date ("x")
        values = rows.pivot(index="district_id", columns="reference_date", values="value") \
            .reindex(index=order, columns=dates)
        flags = rows.pivot(index="district_id", columns="reference_date", values="flag") \
            .reindex(index=order, columns=dates)
        names = series[["district_id", "district_name"]].drop_duplicates("district_id", keep="last")
        frame = pd.DataFrame({"district_id": order}).merge(names, on="district_id", how="left")
        frame["district_id"] = frame["district_id"].where(frame["district_id"] != CITY, "")
        columns = _id_columns()
        number_format = excel_number_format(display_decimals(ind))
        for k, day in enumerate(dates):
            frame[f"d{k}"] = values[day].to_numpy(dtype=float)
            frame[f"d{k}__sign"] = flags[day].astype("string").fillna(NOT_AVAILABLE).replace("", pd.NA) \
                .fillna("").to_numpy()
            columns.append(Column(f"d{k}", _date_de(day), number_format, signs=f"d{k}__sign", width=12))
        subtitle = (f"Einheit: {ind.unit}; Stichtage {_date_de(dates[0])} bis {_date_de(dates[-1])}; "
                    f"Quelle: {source_de}")
        sheets.append(Sheet(ind.short_de, _unit_header(ind), subtitle, columns, frame))
    return sheets


def segregation_time_series_sheet(segregation: pd.DataFrame, source_de: str) -> Sheet:
    """City-wide indices over time: rows index × group (Moran's I also its p-value), columns dates."""
    frame = segregation.copy()
    moran_p = frame[frame["index"] == "moran_i"].assign(
        value=lambda f: f["p_value"], index_label_de=lambda f: f["index_label_de"] + ", p-Wert",
        index=lambda f: f["index"] + "__p")
    frame = pd.concat([frame, moran_p], ignore_index=True)
    keys = frame[["index", "group", "index_label_de", "group_label_de"]].drop_duplicates(["index", "group"])
    dates = sorted(frame["reference_date"].unique())
    wide = frame.pivot(index=["index", "group"], columns="reference_date", values="value")
    out = keys.reset_index(drop=True)
    out["value__format"] = out["index"].map(
        lambda i: "0.000" if i.endswith("__p") or i not in CATALOGUE else excel_number_format(display_decimals(CATALOGUE[i])))
    columns = [Column("index_label_de", "Index", width=40), Column("group_label_de", "Gruppe", width=36)]
    for k, day in enumerate(dates):
        values = wide[day].reindex(pd.MultiIndex.from_frame(out[["index", "group"]])).to_numpy(dtype=float)
        out[f"d{k}"] = values
        out[f"d{k}__sign"] = np.where(np.isnan(values), NOT_AVAILABLE, "")
        out[f"d{k}__format"] = out["value__format"]
        columns.append(Column(f"d{k}", _date_de(day), PER_ROW, signs=f"d{k}__sign", width=12))
    subtitle = (f"Stichtage {_date_de(dates[0])} bis {_date_de(dates[-1])}; Dissimilarität × 100, übrige Indizes "
                f"0 bis 1; Quelle: {source_de}")
    return Sheet("Segregationsindizes", "Segregationsindizes und Moran's I der Stadt im Zeitverlauf", subtitle,
                 columns, out)


def write_time_series_workbook(series: pd.DataFrame, target: Path, provenance, indicators: Iterable[str], *,
                               segregation: pd.DataFrame | None = None,
                               catalogue: Mapping[str, Indicator] = CATALOGUE) -> Path:
    """``zeitreihe.xlsx``: one sheet per key indicator (districts × dates) and the city-wide indices."""
    indicators = list(indicators)
    sheets = time_series_sheets(series, indicators, provenance.source_de, catalogue)
    if segregation is not None and len(segregation):
        sheets.append(segregation_time_series_sheet(segregation, provenance.source_de))
        indicators += list(segregation["index"].unique())
    dates = sorted(series["reference_date"].unique())
    span = f"Stichtage {_date_de(dates[0])} bis {_date_de(dates[-1])}"
    return write_workbook_sheets(
        target, sheets, definitions=definitions_table(indicators, catalogue), code_lists=code_lists_de(),
        notes_de=_notes_de(provenance, [("Zeitraum", span)]), provenance_rows=provenance.rows_de(),
        footer_left=f"Quelle: {provenance.source_de}", footer_right=span,
    )

