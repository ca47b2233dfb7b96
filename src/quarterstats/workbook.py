"""Excel workbooks a statistics office can hand out: one data table per sheet, German conventions.

Every data sheet has a title area (what, Stichtag, unit, the sign legend in one line), one header row,
the data with an autofilter, and nothing underneath (notes would be picked up by filters and pivot
tables): the legend and the notes are on the sheet "Erläuterungen", the definitions and code lists on
"Definitionen", the provenance on "Herkunft". Values are written unrounded; each numeric column carries
an Excel number format (``#,##0``, ``#,##0.0``, ...) that a German Excel shows as "1.234,5". Cells
without a number hold the sign of :mod:`quarterstats.signs` as text. Print setup: landscape, fit to
page width, header rows repeated, header/footer with title, source, Stichtag and page number.

Text from the inputs (district names and ids, country names) is inert: every text cell is written as a
string cell, never as a formula, and text a spreadsheet would read as a formula gets Excel's quote
prefix (:func:`quarterstats.safe_text.is_formula_like`).

The workbook is streamed (openpyxl ``write_only``) and its zip normalised (fixed entry times and
document properties), so the same content gives the same bytes on every run.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from quarterstats import atomic
from quarterstats.safe_text import display_text, is_formula_like
from quarterstats.signs import LEGEND_DE, legend_line_de

__all__ = ["PER_ROW", "Column", "Sheet", "normalised_zip", "write_workbook_sheets"]

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: ``Column.number_format`` of a column whose format differs by row (frame column ``<key>__format``).
PER_ROW = "per-row"
#: Rows above the header row: title, Stichtag/unit, legend, blank.
TITLE_ROWS = 4


@dataclass(frozen=True)
class Column:
    """One column of a data sheet: ``key`` in the frame, the German header, and how its cells look.

    ``number_format`` None: a text column. Otherwise a numeric column (:data:`PER_ROW`: the format of
    each row is in the frame column ``<key>__format``); ``signs`` (optional) names the frame column
    holding each row's sign ("*", "x") where the value is missing."""

    key: str
    header: str
    number_format: str | None = None
    signs: str | None = None
    width: float | None = None


@dataclass
class Sheet:
    """A data sheet: ``frame`` holds one column per :class:`Column` (plus the sign columns)."""

    name: str
    title: str
    subtitle: str
    columns: Sequence[Column]
    frame: pd.DataFrame
    freeze_columns: int = 2
    autofilter: bool = True


def _storable(text: str) -> str:
    """``text`` as an inert cell text (:func:`quarterstats.safe_text.display_text`): control characters
    (which XML 1.0 cannot hold, so openpyxl would refuse the whole workbook) and bidirectional overrides
    shown as ``\\xNN`` / ``\\uNNNN``; line breaks kept."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", display_text(text))


def _text_cell(ws, value: str, *, bold: bool = False, wrap: bool = False):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    stored = _storable(value)
    cell = WriteOnlyCell(ws, value=stored)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    if is_formula_like(stored):
        cell.quotePrefix = True
    if bold:
        cell.font = Font(bold=True)
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def _number_cell(ws, value: float, number_format: str):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value))
    cell.number_format = number_format
    return cell


def _sign_cell(ws, sign: str):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment

    cell = WriteOnlyCell(ws, value=sign)
    cell.data_type = "s"
    cell.alignment = Alignment(horizontal="right")
    return cell


def _rows(ws, sheet: Sheet):
    """The data rows as lists of cells (column by column vectorised, then zipped into rows)."""
    n = len(sheet.frame)
    columns = []
    for column in sheet.columns:
        values = sheet.frame[column.key]
        if column.number_format is None:
            texts = values.astype("string").fillna("").tolist()
            columns.append([_text_cell(ws, t) if t else None for t in texts])
            continue
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        signs = (sheet.frame[column.signs].astype("string").fillna("").tolist() if column.signs
                 else [""] * n)
        formats = (sheet.frame[f"{column.key}__format"].tolist() if column.number_format == PER_ROW
                   else [column.number_format] * n)
        cells = []
        for number, sign, number_format in zip(numbers, signs, formats):
            if np.isnan(number):
                cells.append(_sign_cell(ws, sign) if sign else None)
            else:
                cells.append(_number_cell(ws, number, number_format))
        columns.append(cells)
    return [list(row) for row in zip(*columns)] if columns else []


def _print_setup(ws, title: str, footer_left: str, footer_right: str, header_row: int) -> None:
    def escape(text: str) -> str:
        return text.replace("&", "&&")

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}" if header_row else None
    ws.oddHeader.center.text = escape(title)
    ws.oddFooter.left.text = escape(footer_left)
    ws.oddFooter.right.text = escape(footer_right) + " – Seite &P von &N"


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _write_data_sheet(wb, sheet: Sheet, footer_left: str, footer_right: str) -> None:
    ws = wb.create_sheet(sheet.name)
    header_row = TITLE_ROWS + 1
    for i, column in enumerate(sheet.columns, start=1):
        width = column.width or (min(max(12.0, len(column.header) * 0.55), 40.0) if column.number_format
                                 else 28.0)
        ws.column_dimensions[_column_letter(i)].width = width
    if sheet.freeze_columns is not None:
        ws.freeze_panes = f"{_column_letter(sheet.freeze_columns + 1)}{header_row + 1}"
    last_row = header_row + len(sheet.frame)
    if sheet.autofilter and sheet.columns:
        ws.auto_filter.ref = f"A{header_row}:{_column_letter(len(sheet.columns))}{last_row}"
    _print_setup(ws, sheet.title, footer_left, footer_right, header_row)
    ws.append([_text_cell(ws, sheet.title, bold=True)])
    ws.append([_text_cell(ws, sheet.subtitle)])
    ws.append([_text_cell(ws, legend_line_de() + " (Erläuterungen: Blatt „Erläuterungen“)")])
    ws.append([])
    ws.append([_text_cell(ws, c.header, bold=True, wrap=True) for c in sheet.columns])
    for row in _rows(ws, sheet):
        ws.append(row)


def _write_plain_sheet(wb, name: str, blocks: Sequence[tuple[str | None, pd.DataFrame]], widths: Sequence[float],
                       footer_left: str, footer_right: str, *, autofilter_first: bool = True) -> None:
    """A sheet of text tables one below the other (definitions, notes, provenance); the first block
    gets the autofilter."""
    ws = wb.create_sheet(name)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[_column_letter(i)].width = width
    first = blocks[0][1] if blocks else None
    header_row = 2 if blocks and blocks[0][0] else 1
    if autofilter_first and first is not None and len(first.columns):
        ws.auto_filter.ref = f"A{header_row}:{_column_letter(len(first.columns))}{header_row + len(first)}"
        ws.freeze_panes = f"A{header_row + 1}"
    _print_setup(ws, name, footer_left, footer_right, header_row if autofilter_first else 0)
    for k, (heading, frame) in enumerate(blocks):
        if k:
            ws.append([])
        if heading:
            ws.append([_text_cell(ws, heading, bold=True)])
        ws.append([_text_cell(ws, str(c), bold=True) for c in frame.columns])
        texts = frame.astype("string").fillna("")
        for row in texts.itertuples(index=False):
            ws.append([_text_cell(ws, v, wrap=len(v) > 60) if v else None for v in row])


def legend_table_de() -> pd.DataFrame:
    return pd.DataFrame(list(LEGEND_DE), columns=["Zeichen", "Bedeutung"])


def write_workbook_sheets(target: Path, sheets: Sequence[Sheet], *, definitions: pd.DataFrame,
                          code_lists: pd.DataFrame, notes_de: Sequence[tuple[str, str]],
                          provenance_rows: Sequence[tuple[str, str]], footer_left: str,
                          footer_right: str) -> Path:
    """Write the data ``sheets`` and the sheets "Erläuterungen", "Definitionen" (indicator definitions
    and the code lists) and "Herkunft" to ``target`` (atomically, normalised zip)."""
    from openpyxl import Workbook

    names = [s.name for s in sheets]
    bad = [n for n in names if len(n) > 31 or re.search(r"[\[\]:*?/\\]", n)]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"sheet names must be unique, at most 31 characters and free of []:*?/\\ ; got {names}")
    wb = Workbook(write_only=True)
    for sheet in sheets:
        _write_data_sheet(wb, sheet, footer_left, footer_right)
    contents = pd.DataFrame(
        [(s.name, s.title) for s in sheets]
        + [("Erläuterungen", "Zeichenerklärung, Hinweise, Inhalt"),
           ("Definitionen", "Definitionen der Indikatoren und Schlüsselverzeichnisse"),
           ("Herkunft", "Stichtag, Quelle, Geheimhaltung, Versionen, Prüfsummen der Eingabedateien")],
        columns=["Blatt", "Inhalt"],
    )
    notes = pd.DataFrame(list(notes_de), columns=["Hinweis", "Text"])
    _write_plain_sheet(wb, "Erläuterungen", [("Zeichenerklärung", legend_table_de()), ("Hinweise", notes),
                                             ("Inhalt", contents)], [16, 110], footer_left, footer_right)
    _write_plain_sheet(wb, "Definitionen", [("Indikatoren", definitions), ("Schlüsselverzeichnisse", code_lists)],
                       [30, 40, 40, 60, 50, 30, 30, 14, 30, 16, 20], footer_left, footer_right)
    _write_plain_sheet(wb, "Herkunft", [(None, pd.DataFrame(list(provenance_rows), columns=["Angabe", "Wert"]))],
                       [40, 80], footer_left, footer_right, autofilter_first=False)
    fixed = datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "quarterstats"
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic.write_bytes(normalised_zip(buffer.getvalue()), target)
    return target


def normalised_zip(data: bytes) -> bytes:
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
