"""Ingest one register extract: read, parse, apply the contract, quarantine bad rows.

Steps (each vectorised over the whole file):

1. read Parquet, or CSV as German offices deliver it (``;`` or ``,`` separated, UTF-8 or cp1252,
   ``,`` or ``.`` decimal mark, ISO or ``DD.MM.YYYY`` dates) — all values first as text;
2. file-level rules (:data:`quarterstats.contract.FILE_RULES`): a file that breaks one raises
   :class:`~quarterstats.errors.InputError` naming file, column and rule;
3. parse every column to its contract type; a value that does not parse breaks ``<column>.type``;
4. row rules (:data:`quarterstats.contract.ROW_RULES`); rows breaking any rule go to the quarantine with
   the first rule they broke (and all of them);
5. parent-link rules on the accepted rows: broken links are removed and counted.

Invariant: ``input_rows == accepted_rows + quarantined_rows``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quarterstats import contract
from quarterstats.errors import InputError

CSV_ENCODINGS = ("utf-8", "cp1252")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
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
            "extra_columns": self.extra_columns,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------------------- reading
def read_raw(path: Path, *, encoding: str | None = None, separator: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Read a file as delivered: Parquet keeps its Arrow types, CSV values are text (``None`` if empty)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path, rule="file.readable")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(
                f"not a readable Parquet file (truncated or corrupt?): {exc}", file=path, rule="file.readable"
            ) from None
        return table.to_pandas(date_as_object=False, types_mapper=_arrow_types_mapper), {"format": "parquet"}
    if suffix in (".csv", ".txt"):
        return _read_csv_as_text(path, encoding=encoding, separator=separator)
    raise InputError(
        f"unsupported file type '{suffix}' (use .parquet or .csv)", file=path, rule="file.readable"
    )


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
    candidates = (encoding,) if encoding else CSV_ENCODINGS
    for enc in candidates:
        try:
            text = raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.lstrip("\ufeff"), enc
    tried = ", ".join(candidates)
    raise InputError(f"cannot be decoded as {tried}", file=path, rule="file.encoding")


def _detect_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    sep, n = max(counts.items(), key=lambda kv: kv[1])
    return sep if n > 0 else ";"


def _read_csv_as_text(path: Path, *, encoding: str | None, separator: str | None) -> tuple[pd.DataFrame, dict]:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("the file is empty", file=path, rule="file.rows")
    text, used_encoding = _detect_encoding(raw, path, encoding)
    header = text.splitlines()[0] if text.splitlines() else ""
    sep = separator or _detect_separator(header)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
            skipinitialspace=True, engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(
            f"cannot be parsed as '{sep}'-separated text: {exc}", file=path, rule="file.readable"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.astype(object).where(frame.notna(), None)
    return frame, {"format": "csv", "encoding": used_encoding, "separator": sep}


# --------------------------------------------------------------------------------------- parsing
def _parse_strings(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if not (pd.api.types.is_string_dtype(raw.dtype) or raw.dtype == object):
        raw = raw.astype("string")  # e.g. numeric ids in a Parquet file
    values = raw.astype("string").str.strip()
    values = values.mask(values == "")
    return values, pd.Series(False, index=raw.index)


def _parse_integers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_integer_dtype(raw.dtype):
        return raw.astype("Int64"), pd.Series(False, index=raw.index)
    if pd.api.types.is_float_dtype(raw.dtype):
        whole = raw.notna() & (raw == raw.round())
        return raw.where(whole).round().astype("Int64"), (raw.notna() & ~whole).fillna(False).astype(bool)
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    whole = numbers.notna() & (numbers == np.floor(numbers.fillna(0)))
    bad = text.notna() & ~whole
    parsed = numbers.where(whole).astype("Float64").round().astype("Int64")
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
    bad = text.notna() & ~finite
    return numbers.where(finite), bad


def _parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw.astype("datetime64[s]"), pd.Series(False, index=raw.index)
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    iso = text.str.match(_ISO_DATE).fillna(False)
    german = text.str.match(_GERMAN_DATE).fillna(False)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    if german.any():
        parsed[german] = pd.to_datetime(text[german], format="%d.%m.%Y", errors="coerce")
    bad = text.notna() & parsed.isna()
    return parsed.astype("datetime64[s]"), bad


_PARSERS = {
    "string": _parse_strings,
    "integer": _parse_integers,
    "number": _parse_numbers,
    "date": _parse_dates,
}


def parse_columns(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame of the contract columns, and a boolean frame of ``<column>.type`` failures."""
    typed, type_failures = {}, {}
    for spec in contract.COLUMNS:
        if spec.name in raw.columns:
            values, bad = _PARSERS[spec.kind](raw[spec.name])
        else:  # optional column absent
            values = pd.Series(pd.NA, index=raw.index, dtype=spec.pandas_dtype)
            bad = pd.Series(False, index=raw.index)
        if spec.kind == "string" and spec.country_code:
            values = values.str.upper()
        typed[spec.name] = values
        type_failures[f"{spec.name}.type"] = bad.to_numpy(dtype=bool)
    return pd.DataFrame(typed, index=raw.index), pd.DataFrame(type_failures, index=raw.index)


# ------------------------------------------------------------------------------------ file rules
def check_file_rules(raw: pd.DataFrame, typed: pd.DataFrame | None, path: Path, reference_date: date) -> None:
    """Raise :class:`InputError` when the file as a whole breaks the contract."""
    if typed is None:
        missing = [c for c in contract.REQUIRED_COLUMNS if c not in raw.columns]
        if missing:
            present = ", ".join(map(str, raw.columns[:12]))
            raise InputError(
                f"required column(s) missing: {', '.join(missing)} (found: {present}"
                f"{', ...' if len(raw.columns) > 12 else ''}). Wrong separator or not a register extract?",
                file=path, column=missing[0], rule="file.columns",
            )
        if len(raw) == 0:
            raise InputError("the file has a header but no data rows", file=path, rule="file.rows")
        if contract.REFERENCE_DATE_COLUMN in raw.columns:
            stated, _ = _parse_dates(raw[contract.REFERENCE_DATE_COLUMN])
            wrong = stated.dt.date != reference_date
            if wrong.any():
                example = raw[contract.REFERENCE_DATE_COLUMN][wrong].iloc[0]
                raise InputError(
                    f"{int(wrong.sum())} row(s) state reference date {example}, the file name says "
                    f"{reference_date.isoformat()}: wrong file for this reference date",
                    file=path, column=contract.REFERENCE_DATE_COLUMN, rule="file.reference_date",
                )
        return
    ids = typed["person_id"]
    duplicated = ids.duplicated(keep=False) & ids.notna()
    if duplicated.mean() > contract.DUPLICATE_TOLERANCE:
        raise InputError(
            f"{int(duplicated.sum())} of {len(typed)} rows ({duplicated.mean():.2%}) share a person_id "
            f"(tolerance {contract.DUPLICATE_TOLERANCE:.1%}); e.g. '{ids[duplicated].iloc[0]}'",
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


# ------------------------------------------------------------------------------------ link rules
def repair_links(accepted: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Remove parent links that point to nobody, to the person itself, or to someone too young."""
    frame = accepted.copy()
    counts: dict[str, int] = {}
    age_by_id = pd.Series(frame["age"].to_numpy(), index=frame["person_id"].to_numpy())
    for column in ("mother_id", "father_id"):
        links = frame[column]
        present = links.notna()
        self_link = present & (links == frame["person_id"]).fillna(False)
        exists = links.isin(age_by_id.index)
        dangling = present & ~self_link & ~exists
        parent_age = links.map(age_by_id)
        too_young = present & ~self_link & exists & (
            (parent_age - frame["age"]) < contract.MIN_PARENT_AGE_GAP
        ).fillna(False)
        for rule_id, mask in (
            (f"{column}.self", self_link),
            (f"{column}.exists", dangling),
            (f"{column}.age_gap", too_young),
        ):
            n = int(mask.sum())
            if n:
                counts[rule_id] = n
        frame.loc[self_link | dangling | too_young, column] = pd.NA
    return frame, counts


# ------------------------------------------------------------------------------------ main entry
def ingest_register(
    path: str | Path,
    reference_date: date | None = None,
    *,
    encoding: str | None = None,
    separator: str | None = None,
    max_quarantine_share: float = contract.MAX_QUARANTINE_SHARE,
) -> IngestResult:
    """Read and validate one extract; never raises for bad rows, only for an unusable file."""
    path = Path(path)
    if reference_date is None:
        try:
            reference_date = date.fromisoformat(path.stem)
        except ValueError:
            raise InputError(
                "cannot tell the reference date: name the file <YYYY-MM-DD>.parquet|csv or give the date",
                file=path, rule="file.reference_date",
            ) from None
    raw, detected = read_raw(path, encoding=encoding, separator=separator)
    check_file_rules(raw, None, path, reference_date)
    typed, type_failures = parse_columns(raw)
    check_file_rules(raw, typed, path, reference_date)

    rule_failures = contract.evaluate_rules(typed, reference_date)
    # A value that did not parse is reported as a type failure, not as "empty" too.
    for spec in contract.COLUMNS:
        required_rule = f"{spec.name}.required"
        if required_rule in rule_failures:
            rule_failures[required_rule] &= ~type_failures[f"{spec.name}.type"]
    failures = pd.concat([type_failures, rule_failures], axis=1)
    broken = failures.to_numpy()
    bad_rows = broken.any(axis=1)
    rule_counts = {rule: int(n) for rule, n in zip(failures.columns, broken.sum(axis=0)) if n}

    quarantined_share = bad_rows.mean() if len(bad_rows) else 0.0
    if quarantined_share > max_quarantine_share:
        worst = max(rule_counts.items(), key=lambda kv: kv[1])
        column = worst[0].split(".")[0]
        raise InputError(
            f"{bad_rows.sum()} of {len(raw)} rows ({quarantined_share:.1%}) break row rules, more than the "
            f"tolerated {max_quarantine_share:.0%}; most often {worst[0]} ({worst[1]} rows): "
            f"{_rule_message(worst[0])}",
            file=path, column=column, rule="file.quarantine_share",
        )

    quarantine = _quarantine_table(raw, failures, bad_rows)
    accepted = typed.loc[~bad_rows].reset_index(drop=True)
    accepted["age"] = accepted["age"].astype("int16")
    accepted["immigration_year"] = accepted["immigration_year"].astype("Int16")
    accepted["x"] = accepted["x"].astype("float64")
    accepted["y"] = accepted["y"].astype("float64")
    accepted, link_repairs = repair_links(accepted)

    extra = [c for c in raw.columns if c not in contract.COLUMN_NAMES and c != contract.REFERENCE_DATE_COLUMN]
    notes = []
    if extra:
        notes.append(f"ignored columns not in the contract: {', '.join(map(str, extra))}")
    result = IngestResult(
        file=path, reference_date=reference_date, accepted=accepted, quarantine=quarantine,
        input_rows=len(raw), rule_counts=rule_counts, link_repairs=link_repairs, extra_columns=extra,
        file_format=detected["format"], encoding=detected.get("encoding"), separator=detected.get("separator"),
        notes=notes,
    )
    assert result.input_rows == result.accepted_rows + result.quarantined_rows
    return result


def _rule_message(rule_id: str) -> str:
    if rule_id in contract.RULE_BY_ID:
        return contract.RULE_BY_ID[rule_id].message
    if rule_id.endswith(".type"):
        spec = contract.COLUMN_BY_NAME[rule_id.split(".")[0]]
        return f"value is not a valid {spec.kind}"
    return rule_id


def _quarantine_table(raw: pd.DataFrame, failures: pd.DataFrame, bad_rows: np.ndarray) -> pd.DataFrame:
    """Quarantined rows as delivered (text), with their row number, first rule and all rules broken."""
    columns = [c for c in contract.COLUMN_NAMES if c in raw.columns]
    selected = raw.loc[bad_rows, columns].reset_index(drop=True)
    for c in columns:
        if pd.api.types.is_datetime64_any_dtype(selected[c].dtype):
            selected[c] = selected[c].dt.strftime("%Y-%m-%d")
    out = selected.astype("string")
    for c in contract.COLUMN_NAMES:
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="string")
    out = out[list(contract.COLUMN_NAMES)]
    broken = failures.to_numpy()[bad_rows]
    names = np.asarray(failures.columns)
    all_rules = ["; ".join(names[row]) for row in broken]  # loops over bad rows only
    first = [rules.split("; ")[0] for rules in all_rules]
    out.insert(0, "row_number", (np.flatnonzero(bad_rows) + 1).astype("int64"))
    out.insert(1, "rule", pd.Series(first, dtype="string"))
    out.insert(2, "message", pd.Series([_rule_message(r) for r in first], dtype="string"))
    out.insert(3, "all_rules", pd.Series(all_rules, dtype="string"))
    return out


def example_rows(result: IngestResult, per_rule: int = 3) -> dict[str, list[dict]]:
    """A few quarantined rows per broken rule (row number, person_id, the offending value)."""
    q = result.quarantine
    rules_per_row = q["all_rules"].str.split("; ")
    examples: dict[str, list[dict]] = {}
    for rule in sorted(result.rule_counts):
        column = rule.split(".")[0]
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
