"""Ingest one register extract: read, parse, apply the contract, quarantine bad rows.

Steps (each vectorised over the whole file):

1. read Parquet, or CSV as German offices deliver it (``;`` or ``,`` separated, UTF-8 or cp1252,
   ``,`` or ``.`` decimal mark, ISO or ``DD.MM.YYYY`` dates, optionally gzip-compressed) — all values
   first as text; column names are compared ignoring case and surrounding spaces; a CSV line with more
   fields than the header is set aside (``row.fields``) instead of stopping the file;
2. file-level rules (:data:`quarterstats.contract.FILE_RULES`): a file that breaks one raises
   :class:`~quarterstats.errors.InputError` naming file, column and rule;
3. parse every column to its contract type; a value that does not parse breaks ``<column>.type``;
4. row rules (:data:`quarterstats.contract.ROW_RULES`); rows breaking any rule go to the quarantine with
   the first rule they broke (and all of them);
5. parent-link rules on the accepted rows: broken links are removed and counted; households of minors
   only are counted as a warning (:data:`quarterstats.contract.WARNING_RULES`). The accepted rows carry
   the resolved links as two derived columns, ``mother_row`` and ``father_row``
   (:data:`quarterstats.links.PARENT_ROWS`), so later steps need not hash the ids again.

Invariant: ``input_rows == accepted_rows + quarantined_rows`` (skipped CSV lines are quarantined rows).
The catalogue of bad inputs and what each gets: ``docs/bad-inputs.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from quarterstats import background, contract
from quarterstats.errors import InputError
from quarterstats.links import PARENT_ROWS, PersonLinks, arrow_text, categorical_from_codes, text_codes
from quarterstats.safe_text import console_text, delivered_value

CSV_ENCODINGS = ("utf-8", "cp1252")


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what a compressed delivery may expand to, checked before (Parquet: from its footer) or
    while (gzip: streamed) it is expanded, so that a small file cannot fill the memory ("zip bomb").

    A file is refused (``file.size``) when it expands to more than ``max_expanded_bytes``, or to more than
    ``ratio_from_bytes`` and more than ``max_ratio`` times its size on disk (register CSV compresses about
    5-10 fold, Parquet about 2-5 fold), or when a Parquet file declares more than ``max_rows`` rows.
    """

    max_expanded_bytes: int = 16 * 1024**3
    max_ratio: float = 100.0
    ratio_from_bytes: int = 64 * 1024**2
    max_rows: int = 50_000_000

    def check(self, expanded: int, stored: int, path: Path, what: str) -> None:
        too_large = expanded > self.max_expanded_bytes
        too_dense = expanded > self.ratio_from_bytes and expanded > self.max_ratio * max(stored, 1)
        if too_large or too_dense:
            limit = (f"the limit of {self.max_expanded_bytes:,} bytes" if too_large
                     else f"{self.max_ratio:.0f} times its {stored:,} bytes on disk")
            raise InputError(
                f"{what} expands to more than {expanded:,} bytes, beyond {limit}: refused before reading it "
                "whole (a damaged or deliberately crafted file?)".replace(",", "."),
                file=path, rule="file.size",
            )


READ_LIMITS = ReadLimits()
_GZIP_CHUNK = 1024 * 1024
#: ISO date, optionally with a time of day (dropped); anything else after the date makes it no date.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_GERMAN_DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")


@dataclass
class IngestResult:
    """What one extract gave: typed accepted rows, quarantined rows (as delivered), and the counts."""

    file: Path
    reference_date: date
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    input_rows: int
    rule_counts: dict[str, int]
    link_repairs: dict[str, int]
    extra_columns: list[str]
    file_format: str
    encoding: str | None = None
    separator: str | None = None
    notes: list[str] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def accepted_rows(self) -> int:
        return len(self.accepted)

    @property
    def quarantined_rows(self) -> int:
        return len(self.quarantine)

    def summary(self) -> dict:
        return {
            "file": str(self.file),
            "reference_date": self.reference_date.isoformat(),
            "contract_version": contract.CONTRACT_VERSION,
            "format": self.file_format,
            "encoding": self.encoding,
            "separator": self.separator,
            "input_rows": self.input_rows,
            "accepted_rows": self.accepted_rows,
            "quarantined_rows": self.quarantined_rows,
            "rows_accounted": self.input_rows == self.accepted_rows + self.quarantined_rows,
            "rule_counts": dict(sorted(self.rule_counts.items())),
            "link_repairs": dict(sorted(self.link_repairs.items())),
            "warnings": dict(sorted(self.warnings.items())),
            "extra_columns": self.extra_columns,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------------------- reading
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx, .ods and other ZIP containers
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_BAD_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
# UTF-8 umlauts/ß read as cp1252 ("Ã¤" for "ä"): a sign of a file that mixes both encodings.
_MOJIBAKE = re.compile("Ã[¤¶¼Ÿ„–œ©¨]")


def register_suffix(path: Path) -> str | None:
    """The declared kind of a register file from its name: ``parquet``, ``csv``, ``csv.gz`` or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        return "parquet"
    if suffixes[-2:] in ([".csv", ".gz"], [".txt", ".gz"]):
        return "csv.gz"
    if suffixes[-1:] in ([".csv"], [".txt"]):
        return "csv"
    return None


def reference_date_from_name(path: Path, today: date | None = None) -> date:
    """``2024-12-31.parquet`` / ``.csv`` / ``.csv.gz`` -> 2024-12-31; InputError otherwise.

    The name before the file type must be exactly a real ``YYYY-MM-DD`` date (``2021-02-19xyz``,
    ``20210219`` and ``2024-02-30`` are refused) not after ``today``."""
    from quarterstats.paths import DATE_PATTERN

    name = Path(path).name
    stem = name.split(".", 1)[0]
    try:
        if not DATE_PATTERN.match(stem):
            raise ValueError(stem)
        day = date.fromisoformat(stem)
    except ValueError:
        raise InputError(
            "cannot tell the reference date: name the file <YYYY-MM-DD>.parquet|csv (a real date, nothing "
            "else before the file type) or give the date",
            file=path, rule="file.reference_date",
        ) from None
    today = today or date.today()
    if day > today:
        raise InputError(f"reference date {day.isoformat()} lies in the future (today is {today.isoformat()})",
                         file=path, rule="file.reference_date")
    return day


def read_raw(path: Path, *, encoding: str | None = None, separator: str | None = None,
             limits: ReadLimits = READ_LIMITS) -> tuple[pd.DataFrame, dict]:
    """Read a file as delivered: Parquet keeps its Arrow types, CSV values are text (``None`` if empty).

    The content decides what the file is, and must match the name: a Parquet file starts with ``PAR1``,
    an Excel workbook (ZIP or OLE2 container) is refused with a hint to export CSV, gzip-compressed
    text is decompressed (``.csv.gz``, or a ``.csv`` that is compressed). Column names are normalised
    (surrounding spaces and a byte-order mark removed, lower case); a name that then occurs twice makes
    the file unusable (``file.columns``).

    Returns the frame and what was detected: ``format``, ``encoding``, ``separator``, ``notes`` and, for
    CSV, ``bad_lines`` (lines with more fields than the header, quarantined by ``row.fields``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path, rule="file.readable")
    kind = register_suffix(path)
    if kind is None:
        raise InputError(
            f"unsupported file type '{''.join(path.suffixes) or path.name}' (use .parquet, .csv or .csv.gz)",
            file=path, rule="file.readable",
        )
    with open(path, "rb") as handle:
        head = handle.read(8)
    _refuse_spreadsheets(head, path)
    if kind == "parquet":
        if not head:
            raise InputError("the file is empty", file=path, rule="file.rows")
        if not head.startswith(_PARQUET_MAGIC):
            what = "gzip-compressed data" if head.startswith(_GZIP_MAGIC) else "text (a CSV renamed to .parquet?)"
            raise InputError(
                f"not a Parquet file: it does not start with the Parquet marker PAR1 but looks like {what}",
                file=path, rule="file.readable",
            )
        return _read_parquet(path, limits)
    if head.startswith(_PARQUET_MAGIC):
        raise InputError(
            f"this is a Parquet file named '{path.name}': rename it to {path.name.split('.', 1)[0]}.parquet",
            file=path, rule="file.readable",
        )
    raw = path.read_bytes()
    notes = []
    if raw.startswith(_GZIP_MAGIC):
        raw = gunzip_bounded(raw, path, limits)
        _refuse_spreadsheets(raw[:8], path)
        notes.append("gzip-compressed file decompressed")
    elif kind == "csv.gz":
        raise InputError("named .gz but not gzip-compressed", file=path, rule="file.readable")
    frame, meta = _read_csv_as_text(raw, path, encoding=encoding, separator=separator)
    meta["notes"] = notes + meta["notes"]
    return frame, meta


def gunzip_bounded(data: bytes, path: Path, limits: ReadLimits = READ_LIMITS) -> bytes:
    """gzip ``data`` decompressed in chunks (several members, as ``gzip.decompress``), refused as soon as
    the output passes ``limits`` (:class:`ReadLimits`): memory stays bounded by the limit, whatever the
    file claims."""
    out = bytearray()
    rest = data
    try:
        while rest:
            stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
            pending = rest
            while pending and not stream.eof:
                out += stream.decompress(pending, _GZIP_CHUNK)
                pending = stream.unconsumed_tail
                limits.check(len(out), len(data), path, "the gzip-compressed file")
            if not stream.eof:
                raise EOFError("compressed data ended before the end-of-stream marker")
            rest = stream.unused_data.lstrip(b"\x00")
            if rest and not rest.startswith(_GZIP_MAGIC):
                raise OSError("trailing garbage after the compressed data")
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"gzip-compressed, but cannot be decompressed (truncated?): {exc}",
                         file=path, rule="file.readable") from None
    return bytes(out)


def _refuse_spreadsheets(head: bytes, path: Path) -> None:
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE2_MAGIC):
        if head.startswith(_ZIP_MAGIC):
            kind = "an Excel workbook (.xlsx) or other ZIP archive"
        else:
            kind = "an Excel 97-2003 workbook (.xls)"
        raise InputError(
            f"this is {kind}, not a CSV or Parquet file: save the sheet as 'CSV UTF-8 (durch Trennzeichen "
            "getrennt)' and deliver that", file=path, rule="file.readable",
        )


def _read_parquet(path: Path, limits: ReadLimits = READ_LIMITS) -> tuple[pd.DataFrame, dict]:
    """A Parquet extract as a frame; the categorical columns
    (:attr:`~quarterstats.contract.ColumnSpec.categorical`: codes, household ids) stored as text are read
    as Arrow dictionaries and come as pandas Categoricals of the values as delivered (converting 4 million
    strings per column, and hashing them again in every later step, cost seconds)."""
    try:
        names = list(pq.read_schema(path).names)
        columns, notes = _normalise_header(names, path)
        with pq.ParquetFile(path) as parquet:
            metadata = parquet.metadata
            if metadata.num_rows > limits.max_rows:
                raise InputError(
                    f"declares {metadata.num_rows:,} rows, more than {limits.max_rows:,} (a damaged or crafted "
                    "file?): refused before reading it".replace(",", "."), file=path, rule="file.size")
            expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
            limits.check(expanded, path.stat().st_size, path, "the Parquet file")
            schema = parquet.schema_arrow
            dictionary_columns = [
                original for original, name in zip(names, columns)
                if name in _CATEGORICAL_COLUMNS and _is_text(schema.field(original).type)
            ]
        with pq.ParquetFile(path, read_dictionary=dictionary_columns) as parquet:
            table = parquet.read()
    except InputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(
            f"not a readable Parquet file (truncated or corrupt?): {exc}", file=path, rule="file.readable"
        ) from None
    # the columns are renamed, so pandas metadata (index, original names) no longer applies
    table = table.rename_columns(columns).replace_schema_metadata(None)
    try:
        plain = [name for name in columns if not pa.types.is_dictionary(table.schema.field(name).type)]
        # the dictionaries (household ids: millions of distinct values at 4 M persons, 0.4-0.9 s to
        # unify) are converted in a worker thread while the other columns are
        coded = background.start(lambda: {name: _categorical(table.column(name))
                                          for name in columns if name not in plain})
        frame = table.select(plain).to_pandas(date_as_object=False, types_mapper=_arrow_types_mapper)
        categoricals = coded.result()
        for position, name in enumerate(columns):
            if name in categoricals:
                frame.insert(position, name, categoricals[name])
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InputError(f"has column types that cannot be read as a table: {exc}", file=path,
                         rule="file.readable") from None
    return frame, {"format": "parquet", "notes": notes, "bad_lines": []}


_CATEGORICAL_COLUMNS = frozenset(spec.name for spec in contract.COLUMNS if spec.categorical)


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """An Arrow dictionary column (one dictionary per row group) as one pandas Categorical: the
    dictionaries are unified and the indices concatenated; a null index is a missing value. (Parquet
    cannot store a null inside a dictionary, and Arrow cannot unify such dictionaries.)"""
    if column.num_chunks == 0:
        return pd.Categorical.from_codes(np.zeros(0, dtype=np.int64), categories=pd.Index([], dtype="str"))
    unified = column.unify_dictionaries()
    dictionary = unified.chunk(0).dictionary
    indices = pa.chunked_array([chunk.indices for chunk in unified.chunks], type=unified.type.index_type)
    indices = indices.combine_chunks()
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    codes = indices.to_numpy(zero_copy_only=False)  # Arrow's (32-bit) indices: pandas narrows them further
    categories = pd.Index(dictionary.to_pandas(), dtype="str")  # Arrow-backed: no Python string per value
    return categorical_from_codes(codes, categories)


def _normalise_header(names: list, path: Path) -> tuple[list[str], list[str]]:
    """Column names without surrounding spaces/BOM, in lower case; InputError when one occurs twice."""
    normalised = []
    for i, name in enumerate(names):
        text = str(name).replace("\ufeff", "").strip().lower()
        normalised.append(text or f"unnamed_{i + 1}")
    seen: dict[str, list[str]] = {}
    for original, name in zip(names, normalised):
        seen.setdefault(name, []).append(str(original))
    for name, originals in seen.items():
        if len(originals) > 1:
            spelled = ", ".join(f"'{console_text(o, 40)}'" for o in originals)
            raise InputError(
                f"column '{name}' occurs {len(originals)} times in the header (as {spelled}); names are "
                "compared ignoring case and surrounding spaces: keep one",
                file=path, column=name, rule="file.columns",
            )
    changed = [f"'{o}' -> '{n}'" for o, n in zip(names, normalised)
               if str(o).replace("\ufeff", "") != n and n in contract.COLUMN_NAMES]
    notes = [f"column names normalised (case, spaces): {', '.join(changed)}"] if changed else []
    return normalised, notes


def _arrow_types_mapper(arrow_type: pa.DataType):
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    return None


def _detect_encoding(raw: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    if b"\x00" in raw[:4096]:
        raise InputError(
            "contains NUL bytes: not a text file in UTF-8 or cp1252 (UTF-16 export?)",
            file=path, rule="file.encoding",
        )
    if encoding:
        try:
            return raw.decode(encoding).lstrip("\ufeff"), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot be decoded as {encoding}: {exc}", file=path, rule="file.encoding") from None
    try:
        return raw.decode("utf-8").lstrip("\ufeff"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(
            "cannot be decoded as utf-8 or cp1252 (another encoding? export as UTF-8)",
            file=path, rule="file.encoding",
        ) from None
    mojibake = _MOJIBAKE.search(text)
    if mojibake:
        line_bad = raw.count(b"\n", 0, first_bad) + 1
        line_utf8 = text.count("\n", 0, mojibake.start()) + 1
        raise InputError(
            f"mixes encodings: line {line_utf8} holds UTF-8 text, line {line_bad} is not UTF-8 "
            "(cp1252?); export the whole file in one encoding (UTF-8)",
            file=path, rule="file.encoding",
        )
    return text.lstrip("\ufeff"), "cp1252"


def _detect_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    sep, n = max(counts.items(), key=lambda kv: kv[1])
    return sep if n > 0 else ";"


def _read_csv_as_text(
    raw: bytes, path: Path, *, encoding: str | None, separator: str | None
) -> tuple[pd.DataFrame, dict]:
    if not raw.strip():
        raise InputError("the file is empty", file=path, rule="file.rows")
    text, used_encoding = _detect_encoding(raw, path, encoding)
    head = text[:65536].splitlines()  # the header is near the top; the whole text is split only for bad lines
    header_at = next((i for i, line in enumerate(head) if line.strip()), None)
    if header_at is None:
        raise InputError("the file is empty (blank lines only)", file=path, rule="file.rows")
    notes = []
    hint = re.fullmatch(r"\s*sep=(.)\s*", head[header_at])
    if hint:  # Excel's "sep=;" first line
        notes.append(f"Excel separator line 'sep={hint.group(1)}' skipped")
        header_at = next((i for i in range(header_at + 1, len(head)) if head[i].strip()), None)
        if header_at is None:
            raise InputError("the file has no header after the 'sep=' line", file=path, rule="file.rows")
    sep = separator or (hint.group(1) if hint else None) or _detect_separator(head[header_at])
    header_tokens = next(csv.reader([head[header_at]], delimiter=sep, skipinitialspace=True))
    names, header_notes = _normalise_header(header_tokens, path)
    notes += header_notes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                na_values=list(contract.CSV_MISSING_MARKERS), skipinitialspace=True, engine="c",
                skiprows=header_at, index_col=False, on_bad_lines="warn",
            )
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise InputError(
                f"cannot be parsed as '{sep}'-separated text: {exc}", file=path, rule="file.readable"
            ) from None
    if len(frame.columns) == len(names):
        frame.columns = names
    else:  # e.g. a quoted line break in the header: take pandas' reading of it
        frame.columns, _ = _normalise_header(list(frame.columns), path)
    frame = frame.astype(object).where(frame.notna(), None)
    bad_lines = _skipped_lines(caught, text, header_at, sep, list(frame.columns))
    return frame, {"format": "csv", "encoding": used_encoding, "separator": sep, "notes": notes,
                   "bad_lines": bad_lines}


def _skipped_lines(caught, text: str, header_at: int, sep: str, names: list[str]) -> list[dict]:
    """Lines pandas skipped for having too many fields: data row number, field counts, values as split.

    pandas numbers the lines of the whole text from 1 (lines before the header included); a data row's
    number is its line number minus the header's (exact unless a quoted value spans lines or blank
    lines lie between the rows). Loops over the skipped lines only.
    """
    found = []
    lines = text.splitlines() if caught else []
    for warning in caught:
        for match in _BAD_LINE.finditer(str(warning.message)):
            line_no, expected, saw = (int(g) for g in match.groups())
            line = lines[line_no - 1] if line_no - 1 < len(lines) else ""
            values = next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
            found.append({
                "row": line_no - 1 - header_at, "expected": expected, "saw": saw,
                "values": {name: (v.strip() or None) for name, v in zip(names, values)},
            })
    return sorted(found, key=lambda item: item["row"])


# --------------------------------------------------------------------------------------- parsing
#: Whole numbers beyond this magnitude are not ages or years: reported as a type failure.
_MAX_WHOLE = 1e9


def _parse_strings(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if not (pd.api.types.is_string_dtype(raw.dtype) or raw.dtype == object):
        raw = raw.astype("string")  # e.g. numeric ids in a Parquet file
    values = raw.astype("string").str.strip()
    empty = values == ""
    if empty.any():  # masking copies the column: only when there is something to mask
        values = values.mask(empty)
    return values, pd.Series(False, index=raw.index)


def _parse_categorical(raw: pd.Series, *, case: str | None = None) -> tuple[pd.Series, pd.Series]:
    """A categorical column as a Categorical: surrounding spaces removed, empty as missing, and for codes
    ``case`` ``"upper"`` (country codes) or ``"lower"`` (enumerations), each done once per distinct
    value as delivered. Values that become equal (``tur``, `` TUR``) share one category. Never a type
    failure: any text is a candidate value, judged by the column's rules."""
    delivered = _as_categorical(raw)
    text = pa.array(delivered.categories.astype("str").array)  # (no missing: categories never are)
    normal = pc.utf8_trim_whitespace(text)
    if case == "upper":
        normal = pc.utf8_upper(normal)
    elif case == "lower":
        normal = pc.utf8_lower(normal)
    empty = pc.equal(normal, "")
    if len(text) == 0 or (pc.all(pc.equal(normal, text)).as_py() and not pc.any(empty).as_py()):
        # already normalised (the usual case): keep the categories as they are, no second hash pass
        return pd.Series(delivered, index=raw.index, copy=False), pd.Series(False, index=raw.index)
    new_code, normalised = pd.factorize(pd.Series(pc.if_else(empty, None, normal).to_pandas(), dtype="string"))
    codes = np.append(new_code, -1)[delivered.codes]  # a missing value (code -1) stays missing
    values = categorical_from_codes(codes, pd.Index(normalised, dtype="str"))
    return pd.Series(values, index=raw.index), pd.Series(False, index=raw.index)


def _as_categorical(raw: pd.Series) -> pd.Categorical:
    """The column's values as text in a Categorical (one hash pass unless it is one already)."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        categorical = raw.array
        if pd.api.types.is_string_dtype(categorical.categories.dtype):
            return categorical
        return categorical.rename_categories(categorical.categories.astype(str))
    codes, uniques = pd.factorize(raw.astype("string"))  # numeric codes in a Parquet file become text too
    return categorical_from_codes(codes, pd.Index(uniques, dtype="str"))


def _whole(numbers: pd.Series) -> pd.Series:
    """True where a (Float64) value is a finite whole number of plausible magnitude."""
    filled = numbers.fillna(0).to_numpy(dtype=float)
    ok = np.isfinite(filled) & (np.abs(filled) < _MAX_WHOLE)
    ok &= np.floor(np.where(ok, filled, 0)) == np.where(ok, filled, 0)
    return pd.Series(ok, index=numbers.index) & numbers.notna()


def _parse_integers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_integer_dtype(raw.dtype):
        return raw.astype("Int64"), pd.Series(False, index=raw.index)
    if pd.api.types.is_float_dtype(raw.dtype):
        numbers = raw.astype("Float64")
        whole = _whole(numbers)
        return numbers.where(whole).round().astype("Int64"), (numbers.notna() & ~whole).astype(bool)
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype("Float64")
    whole = _whole(numbers)
    bad = (text.notna() & ~whole).astype(bool)
    parsed = numbers.where(whole).round().astype("Int64")
    return parsed, bad


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        numbers = raw.astype("Float64")
        finite = numbers.notna() & np.isfinite(numbers.fillna(0).to_numpy(dtype=float))
        return numbers.where(finite), (numbers.notna() & ~finite).astype(bool)
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    # German style "405974,5" or "5.477.302,5": drop thousands dots where a comma is the decimal mark.
    has_comma = text.str.contains(",", regex=False).fillna(False)
    text = text.where(~has_comma, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text, errors="coerce").astype("Float64")
    finite = numbers.notna() & np.isfinite(numbers.fillna(0).to_numpy(dtype=float))
    bad = (text.notna() & ~finite).astype(bool)
    return numbers.where(finite), bad


def _parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates as ``datetime64[s]`` at midnight; time parts are dropped, time zones read as German time."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = raw
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("Europe/Berlin").dt.tz_localize(None)
        return values.dt.floor("D").astype("datetime64[s]"), pd.Series(False, index=raw.index)
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    iso = text.str.match(_ISO_DATE).fillna(False)
    german = text.str.match(_GERMAN_DATE).fillna(False)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    if german.any():
        parsed[german] = pd.to_datetime(text[german], format="%d.%m.%Y", errors="coerce")
    bad = (text.notna() & parsed.isna()).astype(bool)
    return parsed.astype("datetime64[s]"), bad


_PARSERS = {
    "string": _parse_strings,
    "integer": _parse_integers,
    "number": _parse_numbers,
    "date": _parse_dates,
}


def parse_columns(raw: pd.DataFrame, names: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame of the contract columns (or of those in ``names``, in contract order), and a boolean
    frame of ``<column>.type`` failures.

    Code columns (country codes and the enumerations ``sex``, ``german_acquisition``,
    ``marital_status``) and ``household_id`` become pandas Categoricals; codes are normalised before the
    rules see them:
    country codes to upper case (``tur`` -> ``TUR``), enumerations to lower case (``M`` -> ``m``,
    ``Ledig`` -> ``ledig``), once per distinct value. The quarantine keeps the values as delivered.
    """
    wanted = contract.COLUMN_NAMES if names is None else set(names)
    typed, type_failures = {}, {}
    for spec in (spec for spec in contract.COLUMNS if spec.name in wanted):
        if spec.name in raw.columns and spec.categorical:
            case = ("upper" if spec.country_code else "lower") if spec.is_code else None
            values, bad = _parse_categorical(raw[spec.name], case=case)
        elif spec.name in raw.columns:
            values, bad = _PARSERS[spec.kind](raw[spec.name])
        else:  # optional column absent
            values = pd.Series(pd.NA, index=raw.index, dtype=spec.pandas_dtype)
            bad = pd.Series(False, index=raw.index)
            if spec.categorical:
                values = values.cat.set_categories(pd.Index([], dtype="str"))
        typed[spec.name] = values
        type_failures[f"{spec.name}.type"] = bad.to_numpy(dtype=bool)
    return pd.DataFrame(typed, index=raw.index), pd.DataFrame(type_failures, index=raw.index)


# ------------------------------------------------------------------------------------ file rules
def check_file_rules(
    raw: pd.DataFrame,
    typed: pd.DataFrame | None,
    path: Path,
    reference_date: date,
    *,
    duplicated: np.ndarray | None = None,
) -> None:
    """Raise :class:`InputError` when the file as a whole breaks the contract.

    Called twice: on the raw frame (``typed`` None: columns, rows, empty columns, reference_date
    column) and on the typed frame (duplicates, extract of a later date). ``duplicated`` may give the
    rows whose non-empty ``person_id`` occurs more than once (the row rule ``person_id.unique``'s
    failures, the same mask), so that it is not computed twice.
    """
    if typed is None:
        missing = [c for c in contract.REQUIRED_COLUMNS if c not in raw.columns]
        if missing:
            present = ", ".join(console_text(c, 40) for c in raw.columns[:12])
            raise InputError(
                f"required column(s) missing: {', '.join(missing)} (found: {present}"
                f"{', ...' if len(raw.columns) > 12 else ''}). Wrong separator or not a register extract?",
                file=path, column=missing[0], rule="file.columns",
            )
        if len(raw) == 0:
            raise InputError("the file has a header but no data rows", file=path, rule="file.rows")
        for spec in contract.COLUMNS:
            if spec.required and not spec.nullable and raw[spec.name].isna().all():
                raise InputError(
                    f"column '{spec.name}' is present but empty in every one of the {len(raw)} rows",
                    file=path, column=spec.name, rule="file.columns",
                )
        if contract.REFERENCE_DATE_COLUMN in raw.columns:
            stated, _ = _parse_dates(raw[contract.REFERENCE_DATE_COLUMN])
            wrong = (stated.dt.date != reference_date) | stated.isna()
            if wrong.any():
                example = raw[contract.REFERENCE_DATE_COLUMN][wrong].iloc[0]
                raise InputError(
                    f"{int(wrong.sum())} row(s) state reference date '{console_text(example, 40)}', the file name "
                    f"says {reference_date.isoformat()}: wrong file for this reference date",
                    file=path, column=contract.REFERENCE_DATE_COLUMN, rule="file.reference_date",
                )
        return
    ids = typed["person_id"]
    if duplicated is None:
        duplicated = ids.duplicated(keep=False) & ids.notna()
    else:
        duplicated = pd.Series(np.asarray(duplicated, dtype=bool), index=typed.index)
    if duplicated.mean() > contract.DUPLICATE_TOLERANCE:
        raise InputError(
            f"{int(duplicated.sum())} of {len(typed)} rows ({duplicated.mean():.2%}) share a person_id "
            f"(tolerance {contract.DUPLICATE_TOLERANCE:.1%}); e.g. {delivered_value(ids[duplicated].iloc[0])}",
            file=path, column="person_id", rule="file.duplicates",
        )
    future = (typed["moved_in_address"] > pd.Timestamp(reference_date)).fillna(False)
    if future.mean() > contract.FUTURE_DATE_TOLERANCE:
        latest = typed["moved_in_address"].max()
        raise InputError(
            f"{future.mean():.1%} of rows moved into their address after {reference_date.isoformat()} "
            f"(latest {latest.date().isoformat()}): the extract seems to be for a later reference date",
            file=path, column="moved_in_address", rule="file.reference_date",
        )


# ------------------------------------------------------------------------------------ id format
#: An id as a spreadsheet writes a number it has read: ``1.0``, ``42.00`` or ``1.23457E+11`` (Excel's
#: scientific form: one digit, upper-case E, a sign and a two- or three-digit exponent, so that hex
#: pseudonyms such as ``1805881704e3`` are not mistaken for it).
SPREADSHEET_NUMBER = r"^[+-]?[0-9]+[.,]0+$|^[+-]?[0-9](?:[.,][0-9]+)?E[+-][0-9]{2,3}$"


def check_id_format(raw: pd.DataFrame, path: Path) -> None:
    """Refuse ids that went through a spreadsheet (``file.id_format``).

    Ids are text, compared exactly as delivered. A spreadsheet that reads them as numbers writes
    ``1.0`` for ``1``, ``1.23457E+11`` for a long id, and drops leading zeros: then a mother's id no
    longer equals her child's ``mother_id`` and every parent link would be removed as dangling,
    silently changing the familial migration background of all minors. Signs, each refusing the file:

    * an id column stored as floating-point numbers (Parquet);
    * an id written as a spreadsheet number (:data:`SPREADSHEET_NUMBER`) in any id column.

    Links that match a person only after normalising are checked by :func:`check_link_normalisation`.
    """
    for column in PersonLinks.COLUMNS:
        if column not in raw.columns:
            continue
        values = raw[column]
        if pd.api.types.is_float_dtype(values.dtype):
            raise InputError(
                f"ids are stored as floating-point numbers ({values.dtype}), so '1' and '1.0' can no longer "
                "be told apart and leading zeros are lost: store person_id, mother_id and father_id as text "
                "(a spreadsheet or a data-frame tool turned them into numbers)",
                file=path, column=column, rule="file.id_format",
            )
        text = arrow_text(values)
        if not _has_any_byte(text, b".,E"):  # the usual case, at memory speed: no regex pass needed
            continue
        numeric = pc.match_substring_regex(text, SPREADSHEET_NUMBER)
        hits = int(pc.sum(numeric).as_py() or 0)
        if hits:
            example = text.filter(numeric)[0].as_py()
            raise InputError(
                f"{hits} id(s) look like numbers written by a spreadsheet (e.g. {delivered_value(example)}): "
                "the ids went through Excel or a similar program, which turns '1' into '1.0' and drops "
                "leading zeros, so parent links no longer match. Export the ids as text, exactly as in the "
                "register",
                file=path, column=column, rule="file.id_format",
            )


def _has_any_byte(text: pa.Array, characters: bytes) -> bool:
    """Whether any value of a text array may contain one of ``characters`` (ASCII): a scan of the data
    buffer (which may hold bytes of values sliced away: a superset, so False is certain)."""
    data = text.buffers()[2]
    if data is None or data.size == 0:
        return False
    chars = np.frombuffer(data, dtype=np.uint8)
    return any(bool((chars == c).any()) for c in characters)


#: An id that is a number as a spreadsheet may have rewritten it: digits, optionally ``.0``.
_NUMERIC_ID = r"^[0-9]+(?:[.,]0+)?$"


def _normalised_ids(text: pa.Array) -> pa.Array:
    """Numeric ids (:data:`_NUMERIC_ID`) without a ``.0`` end (leading zeros: ``utf8_ltrim``)."""
    return pc.replace_substring_regex(text, r"^([0-9]+)[.,]0+$", r"\1")


def check_link_normalisation(typed: pd.DataFrame, links: PersonLinks, path: Path) -> None:
    """Refuse a file whose dangling parent links match a person_id once leading zeros and ``.0`` are
    removed on both sides (``0042`` vs ``42``): a sign that one column went through a spreadsheet.

    Only dangling links that are numbers can have been changed so (none in a file of hex pseudonyms).
    Their forms without ``.0`` and leading zeros are padded with 0 to 0..w zeros (w: the longest id's
    length), and the person ids are looked up in that small set: one hash pass over the ids, no
    transformation of a million ids."""
    ids = None
    for column, rows in (("mother_id", links.mother_row), ("father_id", links.father_row)):
        dangling = np.flatnonzero(typed[column].notna().to_numpy(dtype=bool) & (rows < 0))
        if not len(dangling):
            continue
        named = arrow_text(typed[column]).take(pa.array(dangling))
        named = named.filter(pc.match_substring_regex(named, _NUMERIC_ID))  # only numbers can have changed
        if not len(named):
            continue
        core = pc.utf8_ltrim(_normalised_ids(named), "0")
        if ids is None:
            ids = arrow_text(typed["person_id"])
            width = int(pc.max(pc.utf8_length(ids)).as_py() or 0)
        distinct = pc.unique(core)
        padded = pa.concat_arrays([pc.binary_join_element_wise(pa.scalar("0" * zeros, pa.large_string()), distinct,
                                                               pa.scalar("", pa.large_string()))
                                   for zeros in range(max(width - 1, 0) + 1)])
        found = ids.filter(pc.fill_null(pc.is_in(ids, value_set=padded), False))
        matched = pc.is_in(core, value_set=pc.unique(pc.utf8_ltrim(found, "0")))
        hits = int(pc.sum(matched).as_py() or 0)
        if hits:
            raise InputError(
                f"{hits} {column} link(s) name no person_id as delivered, but match one once leading zeros "
                "or a trailing '.0' are removed: the ids lost their exact form in a spreadsheet in some "
                "columns but not in others. Export person_id, mother_id and father_id as text, exactly as "
                "in the register",
                file=path, column=column, rule="file.id_format",
            )


# ------------------------------------------------------------------------------------ link rules
def repair_links(
    accepted: pd.DataFrame, positions: dict[str, np.ndarray] | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Remove parent links that point to nobody, to the person itself, or to someone too young.

    "Too young" (``<column>.age_gap``): the parent is not at least ``MIN_PARENT_AGE_GAP`` (12) years
    older than the child. This also breaks every cycle of parent links (A parent of B, B parent of A;
    or longer): along a cycle the ages would have to rise by 12 years per link and come back to where
    they started, which is impossible, so at least one link of every cycle fails the rule. Links are
    judged on the file as delivered, in one pass, so the result does not depend on the row order.

    ``positions``: the linked persons' row positions in ``accepted`` per link column (-1: nobody), if
    already known (:meth:`PersonLinks.positions_among`); else found here.

    The links as kept are added as the :data:`~quarterstats.links.PARENT_ROWS` columns (``mother_row``,
    ``father_row``: the parent's row, -1 for none), so that later steps need not resolve them again.
    """
    frame = accepted.copy(deep=False)  # copy-on-write: the columns replaced below never touch ``accepted``
    counts: dict[str, int] = {}
    ages = frame["age"].to_numpy(dtype=np.int64)
    if positions is None:  # position of each linked person in this extract, -1 where there is none
        links = PersonLinks.of(frame)
        positions = {"mother_id": links.mother_row, "father_id": links.father_row}
    for column in ("mother_id", "father_id"):
        # judged on the rows with a link only (most persons are adults without one)
        child = np.flatnonzero(frame[column].notna().to_numpy(dtype=bool))
        parent = np.asarray(positions[column])[child]
        exists = parent >= 0
        self_link = exists & (parent == child)
        dangling = ~exists
        parent_age = ages[np.where(exists, parent, 0)]
        too_young = exists & ~self_link & ((parent_age - ages[child]) < contract.MIN_PARENT_AGE_GAP)
        for rule_id, mask in (
            (f"{column}.self", self_link),
            (f"{column}.exists", dangling),
            (f"{column}.age_gap", too_young),
        ):
            n = int(mask.sum())
            if n:
                counts[rule_id] = n
        remove = self_link | dangling | too_young
        position = np.full(len(frame), -1, dtype=np.int64)
        position[child[~remove]] = parent[~remove]
        if remove.any():
            removed = np.zeros(len(frame), dtype=bool)
            removed[child[remove]] = True
            frame[column] = frame[column].mask(removed)
        frame[PARENT_ROWS[column]] = position
    return frame, counts


def household_warnings(accepted: pd.DataFrame) -> dict[str, int]:
    """Counts of :data:`quarterstats.contract.WARNING_RULES` findings (rows are kept).

    ``household_id.minors_only``: number of households whose members are all under 18.
    """
    # integer household codes (from the Categorical; empty ids get no code): a household is minors-only
    # when none of its members is 18 or older, i.e. its oldest member is under 18
    codes = text_codes(accepted["household_id"])  # a household id no row has gets no member: not counted
    in_household = codes >= 0
    index = np.maximum(codes, 0)
    age = accepted["age"].to_numpy(dtype=float, na_value=np.nan)
    known = in_household & ~np.isnan(age)  # a missing age is skipped, as by a group maximum
    n_households = int(codes.max()) + 1 if len(codes) else 0
    has_known = np.zeros(n_households, dtype=bool)
    has_known[index[known]] = True
    has_adult = np.zeros(n_households, dtype=bool)
    has_adult[index[known & (age >= 18)]] = True
    minors_only = int((has_known & ~has_adult).sum())
    return {"household_id.minors_only": minors_only} if minors_only else {}


# ------------------------------------------------------------------------------------ main entry
def ingest_register(
    path: str | Path,
    reference_date: date | None = None,
    *,
    encoding: str | None = None,
    separator: str | None = None,
    max_quarantine_share: float = contract.MAX_QUARANTINE_SHARE,
    limits: ReadLimits = READ_LIMITS,
) -> IngestResult:
    """Read and validate one extract; never raises for bad rows, only for an unusable file.
    ``limits``: bounds on decompression (:class:`ReadLimits`)."""
    path = Path(path)
    if reference_date is None:
        reference_date = reference_date_from_name(path)
    raw, detected = read_raw(path, encoding=encoding, separator=separator, limits=limits)
    bad_lines = detected.get("bad_lines", [])
    check_file_rules(raw, None, path, reference_date)
    check_id_format(raw, path)
    # one hash pass over the ids finds duplicates and parent rows, in a worker thread while the other
    # columns are parsed and the other rules run
    ids, id_failures = parse_columns(raw, PersonLinks.COLUMNS)
    pending_links = background.start(PersonLinks.of, ids)
    others, other_failures = parse_columns(raw, [c for c in contract.COLUMN_NAMES if c not in PersonLinks.COLUMNS])
    typed = pd.concat([ids, others], axis=1)[list(contract.COLUMN_NAMES)]
    type_failures = pd.concat([id_failures, other_failures], axis=1)[[f"{c}.type" for c in contract.COLUMN_NAMES]]
    # the row rules first (they never raise), so that the file rule reuses person_id.unique's mask
    rule_failures = contract.evaluate_rules(typed, reference_date,
                                            duplicated_person_id=lambda: pending_links.result().duplicated)
    links = pending_links.result()
    check_file_rules(raw, typed, path, reference_date,
                     duplicated=rule_failures["person_id.unique"].to_numpy(dtype=bool))
    check_link_normalisation(typed, links, path)

    # A value that did not parse is reported as a type failure, not as "empty" too.
    for spec in contract.COLUMNS:
        required_rule = f"{spec.name}.required"
        if required_rule in rule_failures:
            rule_failures[required_rule] &= ~type_failures[f"{spec.name}.type"]
    failures = pd.concat([type_failures, rule_failures], axis=1)
    # column by column: a rows × rules matrix of 1M × 50 booleans costs more than the rules themselves
    columns = {rule: failures[rule].to_numpy(dtype=bool) for rule in failures.columns}
    bad_rows = np.zeros(len(raw), dtype=bool)
    for broken in columns.values():  # in place: stacking 50 columns first would copy them all
        bad_rows |= broken
    rule_counts = {rule: n for rule, broken in columns.items() if (n := int(np.count_nonzero(broken)))}
    if bad_lines:
        rule_counts["row.fields"] = len(bad_lines)

    input_rows = len(raw) + len(bad_lines)
    quarantined = int(bad_rows.sum()) + len(bad_lines)
    quarantined_share = quarantined / input_rows if input_rows else 0.0
    if quarantined_share > max_quarantine_share:
        worst = max(rule_counts.items(), key=lambda kv: kv[1])
        column = contract.RULE_BY_ID[worst[0]].column if worst[0] in contract.RULE_BY_ID else worst[0].split(".")[0]
        raise InputError(
            f"{quarantined} of {input_rows} rows ({quarantined_share:.1%}) break row rules, more than the "
            f"tolerated {max_quarantine_share:.0%}; most often {worst[0]} ({worst[1]} rows): "
            f"{_rule_message(worst[0])}",
            file=path, column=None if column == "row" else column, rule="file.quarantine_share",
        )

    row_numbers = _row_numbers(len(raw), bad_lines)
    quarantine = _quarantine_table(raw, failures, bad_rows, row_numbers, bad_lines)
    accepted = (typed.loc[~bad_rows] if bad_rows.any() else typed).reset_index(drop=True)
    accepted["age"] = accepted["age"].astype("int16")
    accepted["immigration_year"] = accepted["immigration_year"].astype("Int16")
    accepted["x"] = accepted["x"].astype("float64")
    accepted["y"] = accepted["y"].astype("float64")
    accepted, link_repairs = repair_links(accepted, links.positions_among(~bad_rows))
    warning_counts = household_warnings(accepted)

    extra = [c for c in raw.columns if c not in contract.COLUMN_NAMES and c != contract.REFERENCE_DATE_COLUMN]
    notes = list(detected.get("notes", []))
    if extra:
        notes.append(f"ignored columns not in the contract: {', '.join(map(str, extra))}")
    for rule_id, count in warning_counts.items():
        rule = next(r for r in contract.WARNING_RULES if r.id == rule_id)
        notes.append(f"{rule_id}: {count} household(s): {rule.message}; rows kept")
    result = IngestResult(
        file=path, reference_date=reference_date, accepted=accepted, quarantine=quarantine,
        input_rows=input_rows, rule_counts=rule_counts, link_repairs=link_repairs, extra_columns=extra,
        file_format=detected["format"], encoding=detected.get("encoding"), separator=detected.get("separator"),
        notes=notes, warnings=warning_counts,
    )
    assert result.input_rows == result.accepted_rows + result.quarantined_rows
    return result


def _row_numbers(parsed_rows: int, bad_lines: list[dict]) -> np.ndarray:
    """1-based data row number of each parsed row, counting the skipped (too many fields) lines too."""
    positions = np.arange(1, parsed_rows + 1, dtype=np.int64)
    if not bad_lines:
        return positions
    skipped = np.array([b["row"] for b in bad_lines], dtype=np.int64)
    # a parsed row moves down by the number of skipped rows before it
    shifted = skipped - np.arange(len(skipped))
    return positions + np.searchsorted(shifted, positions, side="right")


def _rule_message(rule_id: str) -> str:
    if rule_id in contract.RULE_BY_ID:
        return contract.RULE_BY_ID[rule_id].message
    if rule_id in contract.STRUCTURE_RULES:
        return contract.STRUCTURE_RULES[rule_id]
    if rule_id.endswith(".type"):
        spec = contract.COLUMN_BY_NAME[rule_id.split(".")[0]]
        return f"value is not a valid {spec.kind}"
    return rule_id


def _quarantine_table(
    raw: pd.DataFrame,
    failures: pd.DataFrame,
    bad_rows: np.ndarray,
    row_numbers: np.ndarray,
    bad_lines: list[dict] = (),
) -> pd.DataFrame:
    """Quarantined rows as delivered (text), with their row number, first rule and all rules broken.

    Lines with more fields than the header (``row.fields``) come with their values as split, in header
    order; the table is sorted by row number.
    """
    rows = np.flatnonzero(bad_rows)
    out = pd.DataFrame({c: _delivered_text(raw[c], rows) for c in contract.COLUMN_NAMES if c in raw.columns})
    for c in contract.COLUMN_NAMES:
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="string")
    out = out[list(contract.COLUMN_NAMES)]
    broken = failures.loc[bad_rows].to_numpy(dtype=bool)
    names = np.asarray(failures.columns)
    all_rules = ["; ".join(names[row]) for row in broken]  # loops over bad rows only
    first = [rules.split("; ")[0] for rules in all_rules]
    out.insert(0, "row_number", row_numbers[bad_rows].astype("int64"))
    out.insert(1, "rule", pd.Series(first, dtype="string"))
    out.insert(2, "message", pd.Series([_rule_message(r) for r in first], dtype="string"))
    out.insert(3, "all_rules", pd.Series(all_rules, dtype="string"))
    if bad_lines:
        structural = pd.DataFrame(
            [
                {
                    "row_number": b["row"], "rule": "row.fields",
                    "message": f"{contract.STRUCTURE_RULES['row.fields']}: {b['saw']} fields, header has "
                               f"{b['expected']}",
                    "all_rules": "row.fields",
                    **{c: b["values"].get(c) for c in contract.COLUMN_NAMES},
                }
                for b in bad_lines  # loops over the skipped lines only
            ],
            columns=out.columns,
        )
        structural = structural.astype({c: "string" for c in out.columns if c != "row_number"})
        structural["row_number"] = structural["row_number"].astype("int64")
        out = pd.concat([out, structural], ignore_index=True)
        out = out.sort_values("row_number", kind="stable").reset_index(drop=True)
    return out


def _delivered_text(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """The values at ``rows`` as text (``string``), as delivered; dates as ``YYYY-MM-DD``. Of a
    Categorical only these rows' values are converted, not its categories (a household id column has
    one per household)."""
    values = column.iloc[rows].reset_index(drop=True)
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        categories = values.cat.categories
        if not len(categories):
            return pd.Series(pd.NA, index=values.index, dtype="string")
        text = pd.Series(categories.take(np.maximum(codes, 0)), dtype="string")
        return text.mask(codes < 0)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = values.dt.strftime("%Y-%m-%d")
    return values.astype("string")


def example_rows(result: IngestResult, per_rule: int = 3) -> dict[str, list[dict]]:
    """A few quarantined rows per broken rule (row number, person_id, the offending value)."""
    q = result.quarantine
    rules_per_row = q["all_rules"].str.split("; ")
    examples: dict[str, list[dict]] = {}
    for rule in sorted(result.rule_counts):
        column = rule.split(".")[0]
        if rule in contract.RULE_BY_ID:
            column = contract.RULE_BY_ID[rule].column
        column = column if column in q.columns else "x"
        hits = q[rules_per_row.map(lambda rules, r=rule: r in rules)].head(per_rule)
        examples[rule] = [
            {"row_number": int(row.row_number), "person_id": _text(row.person_id),
             "column": column, "value": _text(getattr(row, column))}
            for row in hits.itertuples(index=False)
        ]
    return examples


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)
