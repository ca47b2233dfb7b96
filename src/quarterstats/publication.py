"""What leaves ``data/``: protected tables for researchers (CSV, Parquet) and planners (Excel), protected
population pyramids, provenance, and the check that nothing person-level reaches ``reports/``.

Every table written here has passed :mod:`quarterstats.disclosure`. Files are written atomically and
deterministically (fixed row order, no timestamps; Excel's zip entries and document properties are
normalised), so a rerun on the same input gives identical bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from quarterstats import atomic
from quarterstats.catalogue import CATALOGUE, FAMILIES, Indicator, catalogue_table
from quarterstats.disclosure import DisclosureConfig, secondary_suppression
from quarterstats.disclosure.indicators import CITY, NOT_AVAILABLE, SUPPRESSED
from quarterstats.safe_text import FORMULA_TRIGGERS, display_text, is_formula_like
from quarterstats.statistical_sex import is_female

CITY_NAME_DE = "Stadt insgesamt"
SOURCE_DE = "Melderegister, anonymisierter statistischer Auszug"
SYNTHETIC_SOURCE_DE = SOURCE_DE + "; synthetische Daten (quarterstats generate)"
PUBLISHED_COLUMNS = [
    "reference_date", "district_id", "district_name", "indicator", "label_de", "unit", "kind", "value",
    "numerator", "denominator", "flag", "change_previous", "change_baseline",
]
FAMILY_SHEETS_DE = {
    "population": "Bevölkerung", "age": "Alter", "migration": "Migration", "households": "Haushalte",
    "mobility": "Wohndauer und Mobilität", "milieu": "Milieus", "segregation": "Segregation",
}
#: Column names that must never appear in a published table (person-level identifiers and fields).
PERSON_LEVEL_COLUMNS = {
    "person_id", "household_id", "mother_id", "father_id", "x", "y", "birth_country", "nationality_1",
    "nationality_2", "moved_in_address", "moved_in_city", "german_acquisition", "immigration_year",
}
CONFIG_FILE = "quarterstats.toml"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ------------------------------------------------------------------------------------ configuration
def load_disclosure_config(workdir: Path) -> DisclosureConfig:
    """``[disclosure]`` of ``<workdir>/quarterstats.toml`` (method, min_count, min_denominator, ...);
    defaults where the file or a key is absent. The cell key salt comes from the environment only."""
    path = Path(workdir) / CONFIG_FILE
    if not path.is_file():
        return DisclosureConfig()
    with path.open("rb") as handle:
        settings = tomllib.load(handle).get("disclosure", {})
    allowed = {"method", "min_count", "min_denominator", "min_population_composite", "max_deviation", "variance"}
    unknown = set(settings) - allowed
    if unknown:
        from quarterstats.errors import InputError

        raise InputError(f"unknown settings {', '.join(sorted(unknown))} in [disclosure] (allowed: "
                         f"{', '.join(sorted(allowed))}; the cell key salt belongs in the environment)",
                         file=path, rule="config.disclosure")
    return DisclosureConfig(**settings)


# -------------------------------------------------------------------------------------- provenance
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Provenance:
    reference_date: date
    source_de: str
    protection_de: str
    catalogue_version: str
    code_version: str
    input_hashes: Mapping[str, str]

    def rows_de(self) -> list[tuple[str, str]]:
        rows = [
            ("Stichtag", self.reference_date.strftime("%d.%m.%Y")),
            ("Quelle", self.source_de),
            ("Geheimhaltung", self.protection_de),
            ("Version des Indikatorenkatalogs", self.catalogue_version),
            ("Version von quarterstats", self.code_version),
        ]
        rows += [(f"SHA-256 {name}", digest) for name, digest in sorted(self.input_hashes.items())]
        return rows


# ----------------------------------------------------------------------------------- the long table
def published_table(protected: pd.DataFrame, district_names: Mapping[str, str], reference_date: date,
                    catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """The protected long table with labels, in the published column order."""
    out = protected.copy()
    out.insert(0, "reference_date", reference_date)
    out["district_name"] = out["district_id"].map(lambda d: CITY_NAME_DE if d == CITY else district_names.get(d, d))
    out["label_de"] = out["indicator"].map(lambda i: catalogue[i].label_de if i in catalogue else i)
    out["unit"] = out["indicator"].map(lambda i: catalogue[i].unit if i in catalogue else "")
    out["kind"] = out["indicator"].map(lambda i: catalogue[i].kind if i in catalogue else "")
    for column in ("change_previous", "change_baseline"):
        if column not in out.columns:
            out[column] = np.nan
    out = out[PUBLISHED_COLUMNS]
    for column in ("district_id", "district_name", "indicator", "label_de", "unit", "kind", "flag"):
        out[column] = out[column].astype("string")
    return out.reset_index(drop=True)


def write_long_tables(published: pd.DataFrame, report_dir: Path, stem: str = "indikatoren") -> list[Path]:
    """Tidy long table for researchers: CSV (UTF-8, comma, point decimals) and Parquet. Text cells of
    the CSV that a spreadsheet would read as a formula get a leading ``'`` (:func:`_csv_text`)."""
    csv_path, parquet_path = report_dir / f"{stem}.csv", report_dir / f"{stem}.parquet"
    atomic.write_text(_csv_text(published).to_csv(index=False, lineterminator="\n", float_format="%.10g"), csv_path)
    atomic.write_parquet(published, parquet_path)
    return [csv_path, parquet_path]


def _csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that starts with a formula trigger prefixed with ``'`` (OWASP, as
    :func:`quarterstats.safe_text.spreadsheet_text`), column by column."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        text = values.where(values.map(type) == str) if values.dtype == object else values
        first = text.str[:1]
        trigger = first.isin(FORMULA_TRIGGERS).fillna(False).astype(bool)
        if trigger.any():
            out[column] = values.astype(object).where(~trigger, "'" + text.astype(object).where(trigger, ""))
    return out


# ------------------------------------------------------------------------------------------ pyramids
def _bands(width: int, top: int) -> tuple[np.ndarray, list[str]]:
    edges = list(range(0, top, width))
    labels = [f"{lo}–{lo + width - 1}" for lo in edges] + [f"{top}+"]
    return np.array(edges + [top]), labels


def _positions(district_id: pd.Series, districts: list[str]) -> np.ndarray:
    """Each person's position in ``districts`` (-1: not among them); a Categorical is looked up by its
    categories (450), not by its 4 million values."""
    if isinstance(district_id.dtype, pd.CategoricalDtype):
        by_category = pd.Index(districts).get_indexer(district_id.cat.categories.astype(str))
        codes = district_id.cat.codes.to_numpy()
        return np.where(codes >= 0, by_category[codes], -1)
    return pd.Index(districts).get_indexer(district_id.astype("string"))


def pyramid_table(persons: pd.DataFrame, district_order: list[str], config: DisclosureConfig) -> pd.DataFrame:
    """Protected counts by area × age band × sex (m, w) × migration status, for the population pyramids.

    The city uses 5-year bands (…, 90+), districts 10-year bands (…, 80+). Sex is the statistical sex
    (:mod:`quarterstats.statistical_sex`): persons with sex d or x are too few to show on their own and
    are counted as men or women, so every resident is in the pyramid and the pyramid's cells add up to
    the published residents and age counts (leaving them out would let anyone count them, and their
    ages, by subtraction). Each area's table is protected as a table whose band totals are known
    (the age counts are published elsewhere): primary suppression below ``min_count`` and secondary
    suppression so that no suppressed cell follows from its band total.
    """
    cells = [("m", "mit MH"), ("m", "ohne MH"), ("w", "mit MH"), ("w", "ohne MH")]
    keys = [f"{s}|{m}" for s, m in cells]
    # each person's cell: 2 * (statistical sex is w) + (without migration background), in ``cells`` order
    female = is_female(persons["person_id"], persons["sex"])
    cell = 2 * female.astype(np.int64) + ~persons["has_mh"].to_numpy(dtype=bool)
    ages = persons["age"].to_numpy()
    districts = [d for d in district_order if d != CITY]
    position = _positions(persons["district_id"], districts)  # -1: not shown
    # counts of every area at once: (area, band, cell), the city first
    city_edges, city_labels = _bands(5, 90)
    district_edges, district_labels = _bands(10, 80)
    city_band = np.searchsorted(city_edges, ages, side="right") - 1
    district_band = np.searchsorted(district_edges, ages, side="right") - 1
    shown = position >= 0
    per_district = np.bincount(
        (position[shown] * len(district_labels) + district_band[shown]) * len(cells) + cell[shown],
        minlength=len(districts) * len(district_labels) * len(cells),
    ).reshape(len(districts), len(district_labels), len(cells))
    city = np.bincount(city_band * len(cells) + cell, minlength=len(city_labels) * len(cells))
    tables = [(CITY, city_labels, city.reshape(len(city_labels), len(cells)))]
    tables += [(d, district_labels, per_district[i]) for i, d in enumerate(districts)]
    parts = []
    for area, labels, counts in tables:
        wide = pd.DataFrame(counts, index=labels, columns=keys)
        wide["total"] = wide.sum(axis=1)
        primary = (wide >= 1) & (wide < config.min_count)
        primary["total"] = False
        mask = secondary_suppression(wide, primary, row_total=False, col_total=True, min_count=config.min_count) \
            if primary.to_numpy().any() else primary
        hidden = mask[keys].to_numpy(dtype=bool).ravel()  # band by band, the cells in order
        parts.append(pd.DataFrame({
            "district_id": area,
            "age_band": np.repeat(labels, len(cells)),
            "age_band_order": np.repeat(np.arange(len(labels)), len(cells)),
            "sex": [s for s, _ in cells] * len(labels),
            "mh": [m for _, m in cells] * len(labels),
            "count": np.where(hidden, np.nan, counts.ravel().astype(float)),
            "flag": np.where(hidden, SUPPRESSED, ""),
        }))
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"district_id": "string", "age_band": "string", "sex": "string", "mh": "string",
                         "flag": "string"})


# --------------------------------------------------------------------------------------------- Excel
def _cell_text(value: float, flag: str, kind: str) -> float | str:
    if flag == SUPPRESSED:
        return SUPPRESSED
    if pd.isna(value):
        return NOT_AVAILABLE
    return round(float(value), 1 if kind in ("share", "ratio", "rate", "mean") else 3 if kind in ("index", "score") else 0) \
        if kind != "class" else int(value)


def _excel_sheets(published: pd.DataFrame, catalogue: Mapping[str, Indicator]) -> dict[str, pd.DataFrame]:
    sheets = {}
    districts = published[["district_id", "district_name"]].drop_duplicates()
    for family in FAMILIES:
        rows = published[published["indicator"].map(lambda i: catalogue[i].family if i in catalogue else None) == family]
        if rows.empty:
            continue
        indicators = list(dict.fromkeys(rows["indicator"]))
        frame = districts.rename(columns={"district_id": "Bezirk", "district_name": "Name"}).set_index("Bezirk")
        for indicator_id in indicators:
            ind = catalogue[indicator_id]
            part = rows[rows["indicator"] == indicator_id].set_index("district_id")
            header = f"{ind.label_de} ({ind.unit})"
            frame[header] = [
                _cell_text(part["value"].get(d, np.nan), part["flag"].get(d, NOT_AVAILABLE), ind.kind)
                for d in frame.index
            ]
        sheets[FAMILY_SHEETS_DE[family]] = frame.reset_index()
    return sheets


def write_excel(sheets: Mapping[str, pd.DataFrame], target: Path, *, notes_de: Iterable[str] = (),
                definitions: pd.DataFrame | None = None, provenance: Provenance | None = None,
                freeze: str = "C2") -> Path:
    """A workbook with one sheet per topic, German headers, a definitions and a provenance sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(name[:31])
        _append(ws, list(frame.columns))
        for row in frame.itertuples(index=False):
            _append(ws, list(row))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = freeze
        for i, column in enumerate(frame.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(max(10, len(str(column)) * 0.6), 40) if i > 2 else 28
        last = ws.max_row + 2
        for note in [f"{SUPPRESSED} = Wert gesperrt (Geheimhaltung); {NOT_AVAILABLE} = kein Wert (nicht vorhanden oder nicht berechenbar)", *notes_de]:
            _text_cells([ws.cell(row=last, column=1, value=display_text(note))])
            last += 1
    if definitions is not None:
        ws = wb.create_sheet("Definitionen")
        _append(ws, list(definitions.columns))
        for row in definitions.itertuples(index=False):
            _append(ws, ["" if pd.isna(v) else v for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
    if provenance is not None:
        ws = wb.create_sheet("Herkunft")
        _append(ws, ["Angabe", "Wert"])
        for row in provenance.rows_de():
            _append(ws, list(row))
        ws.column_dimensions["A"].width = 40
        ws.column_dimensions["B"].width = 80
    fixed = datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "quarterstats"
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic.write_bytes(_normalised_zip(buffer.getvalue()), target)
    return target


def _append(ws, values: list) -> None:
    """Append a row; its text cells stay text (:func:`_text_cells`)."""
    ws.append([display_text(v) if isinstance(v, str) else v for v in values])
    _text_cells(ws[ws.max_row])


def _text_cells(cells) -> None:
    """Text is stored as a string cell, never as a formula (openpyxl reads a text starting with ``=`` as
    one); formula-like text also gets Excel's "quote prefix" style, so that editing the cell keeps it text."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if is_formula_like(cell.value):
                cell.quotePrefix = True


def _normalised_zip(data: bytes) -> bytes:
    """Rewrite a zip (xlsx) with fixed entry times and order, so identical content gives identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def definitions_table(indicators: Iterable[str], catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    table = catalogue_table(catalogue)
    used = set(indicators)
    table = table[table["id"].isin(used)]
    columns = {
        "id": "Kennung", "label_de": "Indikator", "unit": "Einheit", "definition_de": "Definition",
        "formula": "Formel", "numerator": "Zähler", "denominator": "Nenner",
        "min_denominator": "Mindestnenner", "source": "Quelle", "change_unit": "Veränderung in",
    }
    return table[list(columns)].rename(columns=columns).reset_index(drop=True)


def write_workbook(published: pd.DataFrame, target: Path, provenance: Provenance,
                   catalogue: Mapping[str, Indicator] = CATALOGUE) -> Path:
    """The planners' workbook of one reference date."""
    notes = [f"Stichtag {provenance.reference_date.strftime('%d.%m.%Y')}; Quelle: {provenance.source_de}",
             f"Geheimhaltung: {provenance.protection_de}"]
    return write_excel(_excel_sheets(published, catalogue), target, notes_de=notes,
                       definitions=definitions_table(published["indicator"].unique(), catalogue),
                       provenance=provenance)


def write_time_series_workbook(series: pd.DataFrame, target: Path, provenance: Provenance,
                               indicators: Iterable[str], catalogue: Mapping[str, Indicator] = CATALOGUE) -> Path:
    """One sheet per key indicator: districts as rows, reference dates as columns (protected values)."""
    sheets = {}
    for indicator_id in indicators:
        rows = series[series["indicator"] == indicator_id]
        if rows.empty:
            continue
        ind = catalogue[indicator_id]
        rows = rows.assign(cell=[_cell_text(v, f, ind.kind) for v, f in zip(rows["value"], rows["flag"])],
                           date=rows["reference_date"].map(lambda d: d.strftime("%d.%m.%Y")))
        wide = rows.pivot(index=["district_id", "district_name"], columns="date", values="cell")
        order = list(dict.fromkeys(series["district_id"]))
        wide = wide.reindex(order, level=0)
        dates = list(dict.fromkeys(rows.sort_values("reference_date")["date"]))
        wide = wide[dates].reset_index().rename(columns={"district_id": "Bezirk", "district_name": "Name"})
        title = f"{ind.label_de}"[:31]
        sheets[re.sub(r"[\[\]\*\?/\\:]", "", title)] = wide
    return write_excel(sheets, target, notes_de=[f"Quelle: {provenance.source_de}",
                                                 f"Geheimhaltung: {provenance.protection_de}"],
                       definitions=definitions_table(indicators, catalogue), provenance=provenance)


# ------------------------------------------------------------------------- nothing person-level leaks
_TOKEN = re.compile(rb"[A-Za-z0-9_\-]{6,}")


def person_level_findings(reports_root: Path, person_ids: Iterable[str], household_ids: Iterable[str] = ()) -> list[str]:
    """Problems found under ``reports_root``: a table with a person-level column, or a file that contains
    a person or household pseudonym. Empty list = clean."""
    findings = []
    ids = {str(i).encode() for i in person_ids} | {str(i).encode() for i in household_ids}
    for path in sorted(Path(reports_root).rglob("*")):
        if not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            columns = set(pd.read_parquet(path).columns)
            bad = columns & PERSON_LEVEL_COLUMNS
            if bad:
                findings.append(f"{path}: person-level column(s) {', '.join(sorted(bad))}")
        if suffix in (".csv", ".html", ".svg", ".json", ".txt", ".md", ".xml"):
            data = path.read_bytes()
        elif suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                data = b"\n".join(z.read(n) for n in z.namelist())
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
            data = frame.astype(str).to_csv(index=False).encode()
        else:
            continue
        if suffix == ".csv":
            header = data.split(b"\n", 1)[0].decode("utf-8", "replace").split(",")
            bad = set(h.strip() for h in header) & PERSON_LEVEL_COLUMNS
            if bad:
                findings.append(f"{path}: person-level column(s) {', '.join(sorted(bad))}")
        hits = set(_TOKEN.findall(data)) & ids
        if hits:
            findings.append(f"{path}: contains {len(hits)} pseudonym(s), e.g. {sorted(hits)[0].decode()}")
    return findings
