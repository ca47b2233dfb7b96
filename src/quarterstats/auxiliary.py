"""The auxiliary-data contract (version ``AUXILIARY_CONTRACT_VERSION``): district figures from other
sources, ``data/raw/auxiliary/<YYYY-MM-DD>.csv``, that drive the social-status dimension.

One row per district: ``district_id`` and three counts — SGB II recipients under 65, unemployed persons,
children under 15 in SGB II (what :mod:`quarterstats.indicators.milieu` turns into ``sgb2_rate``,
``unemployment_rate`` and ``child_poverty``). Same form as the register contract
(:mod:`quarterstats.contract`):

* ``COLUMNS`` — name, type, required, may be empty, minimum;
* number formats as German offices write them: thousands dots (``1.234``) are removed; a count with a
  decimal part (``12,5``) is not a whole number and breaks ``<column>.type``;
* ``MISSING_MARKERS`` — the signs of official statistics (Zeichenerklärung) are read explicitly, never
  guessed: ``-``/``–`` "nichts vorhanden" is the count 0; ``.`` "unbekannt oder geheim zu halten",
  ``k.A.`` "keine Angabe", ``x`` "Tabellenfach gesperrt", ``…`` "Angabe fällt später an" are missing
  values. Each is counted per column (``markers`` in the report);
* ``ROW_RULES`` — a row that breaks one is quarantined with the rule id and message (the district then
  has no social-status figures);
* ``RESIDENT_RULES`` — a count larger than the district's residents of the reference group (a rate over
  100 %) is removed from the district and counted when the indicators are computed
  (:func:`check_against_residents`), since only then are the residents known;
* ``FILE_RULES`` — a file breaking one is unusable (exit 2): unreadable, an Excel workbook saved as
  ``.csv``, a required column missing, no rows, a district twice.

:func:`ingest_auxiliary` reads and checks a file; ``quarterstats validate`` uses it for files in an
``auxiliary`` folder (or with ``--contract auxiliary``); ``quarterstats contract --contract auxiliary``
exports :func:`table_schema`. Prose: ``docs/contract.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from quarterstats.contract import CSV_MISSING_MARKERS, ColumnSpec, Rule, RuleContext
from quarterstats.errors import InputError

AUXILIARY_CONTRACT_VERSION = "1.0.0"

COUNT_COLUMNS = ("sgb2_recipients_under65", "unemployed", "children_under15_in_sgb2")

COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("district_id", "string", True, False,
               "District id as in the boundary file (leading zeros as there)."),
    ColumnSpec("sgb2_recipients_under65", "integer", True, True,
               "Persons under 65 receiving SGB II benefits (Bürgergeld/Grundsicherung für Arbeitsuchende).",
               minimum=0),
    ColumnSpec("unemployed", "integer", True, True,
               "Registered unemployed persons (SGB II and SGB III), residents aged 15 to 64.", minimum=0),
    ColumnSpec("children_under15_in_sgb2", "integer", True, True,
               "Children under 15 in SGB II households.", minimum=0),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)

#: Signs of official statistics that stand for a count of zero ("nichts vorhanden").
ZERO_MARKERS = ("-", "–", "—")
#: Signs that stand for "no value" (read as missing, counted); the register's markers count too.
MISSING_MARKERS = ("k.A.", "k. A.", "keine Angabe", ".", "x", "X", "…", "...", "/")

#: Which residents bound each count (ages [from, to) of the district's residents at the reference date).
RESIDENT_GROUPS = {
    "sgb2_recipients_under65": (0, 65, "residents under 65"),
    "unemployed": (15, 65, "residents aged 15 to 64"),
    "children_under15_in_sgb2": (0, 15, "residents under 15"),
}


def _whole_not_negative(column: str):
    def check(frame: pd.DataFrame, ctx: RuleContext) -> pd.Series:
        return ~(frame[column] < 0).fillna(False)

    return check


def _district_unique(frame: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    ids = frame["district_id"]
    return ~ids.duplicated(keep=False) | ids.isna()


ROW_RULES: tuple[Rule, ...] = (
    Rule("district_id.required", "district_id", "district_id is empty",
         lambda frame, ctx: frame["district_id"].notna()),
    *(Rule(f"{c}.range", c, f"{c} is negative (a count is 0 or more)", _whole_not_negative(c))
      for c in COUNT_COLUMNS),
)
RULE_BY_ID = {r.id: r for r in ROW_RULES}

RESIDENT_RULES: dict[str, str] = {
    f"{column}.residents": f"{column} exceeds the district's {label} (a rate over 100 %); value removed"
    for column, (_, _, label) in RESIDENT_GROUPS.items()
}

FILE_RULES: dict[str, str] = {
    "file.readable": ("the file is delimited text (CSV, ';' or ',' separated, optionally gzip-compressed); an "
                      "Excel workbook saved under a .csv name is refused with the hint to export CSV"),
    "file.encoding": "UTF-8 or cp1252, not a mixture",
    "file.columns": f"every column is present, exactly once: {', '.join(COLUMN_NAMES)}",
    "file.rows": "the file has at least one data row",
    "file.duplicates": "each district_id occurs once",
}


@dataclass
class AuxiliaryResult:
    """What one auxiliary file gave: the accepted rows (typed), the quarantine (as delivered), counts."""

    file: Path
    reference_date: date | None
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    input_rows: int
    rule_counts: dict[str, int]
    markers: dict[str, int]
    extra_columns: list[str]
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
            "contract": "auxiliary",
            "file": str(self.file),
            "reference_date": self.reference_date.isoformat() if self.reference_date else None,
            "contract_version": AUXILIARY_CONTRACT_VERSION,
            "format": "csv",
            "encoding": self.encoding,
            "separator": self.separator,
            "input_rows": self.input_rows,
            "accepted_rows": self.accepted_rows,
            "quarantined_rows": self.quarantined_rows,
            "rows_accounted": self.input_rows == self.accepted_rows + self.quarantined_rows,
            "rule_counts": dict(sorted(self.rule_counts.items())),
            "link_repairs": {},
            "markers": dict(sorted(self.markers.items())),
            "warnings": {},
            "extra_columns": self.extra_columns,
            "notes": self.notes,
        }


def parse_counts(raw: pd.Series) -> tuple[pd.Series, pd.Series, dict[str, int]]:
    """(counts as Int64, type failures, marker counts ``{"zero": n, "missing": n}``) of a text column.

    Thousands dots are removed (``1.234`` → 1234: a count is whole, so the dot cannot be a decimal
    mark); a decimal comma or any other text is a type failure. Markers: see the module docstring."""
    text = raw.astype("string").str.strip()
    zero = text.isin(ZERO_MARKERS).fillna(False)
    missing = (text.isin(MISSING_MARKERS + CSV_MISSING_MARKERS) | text.isna()).fillna(True)
    delivered_missing = raw.isna() | (text == "")
    number_text = text.mask(zero | missing)
    grouped = number_text.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+").fillna(False)
    number_text = number_text.where(~grouped, number_text.str.replace(".", "", regex=False))
    plain = number_text.str.fullmatch(r"[+-]?\d+").fillna(False)
    values = pd.to_numeric(number_text.where(plain), errors="coerce").astype("Int64")
    values = values.mask(zero, 0)
    bad = (number_text.notna() & ~plain).astype(bool)
    markers = {"zero": int(zero.sum()), "missing": int((missing & ~delivered_missing).sum())}
    return values, bad, markers


def ingest_auxiliary(path: str | Path, reference_date: date | None = None, *, encoding: str | None = None,
                     separator: str | None = None) -> AuxiliaryResult:
    """Read and check one auxiliary file; raises :class:`InputError` only for an unusable file."""
    from quarterstats.ingest import read_raw

    path = Path(path)
    raw, detected = read_raw(path, encoding=encoding, separator=separator)
    if detected["format"] != "csv":
        raise InputError("auxiliary figures are delivered as CSV (<YYYY-MM-DD>.csv), not as Parquet",
                         file=path, rule="file.readable")
    missing = [c for c in COLUMN_NAMES if c not in raw.columns]
    if missing:
        raise InputError(f"required column(s) missing: {', '.join(missing)} (an auxiliary file has the columns "
                         f"{', '.join(COLUMN_NAMES)})", file=path, column=missing[0], rule="file.columns")
    bad_lines = detected.get("bad_lines", [])
    if len(raw) == 0:
        raise InputError("the file has a header but no data rows", file=path, rule="file.rows")
    typed = pd.DataFrame(index=raw.index)
    typed["district_id"] = raw["district_id"].astype("string").str.strip().replace("", pd.NA)
    failures = {}
    markers: dict[str, int] = {}
    for column in COUNT_COLUMNS:
        values, bad, found = parse_counts(raw[column])
        typed[column] = values
        failures[f"{column}.type"] = bad.to_numpy(dtype=bool)
        for kind, n in found.items():
            if n:
                markers[f"{column}.{kind}"] = n
    ctx = RuleContext(reference_date or date.today())
    for rule in ROW_RULES:
        failures[rule.id] = ~rule.predicate(typed, ctx).to_numpy(dtype=bool)
    duplicated = _district_unique(typed, ctx)
    if not duplicated.all():
        ids = sorted(set(typed.loc[~duplicated, "district_id"]))
        raise InputError(f"district_id occurs more than once: {', '.join(ids[:10])}",
                         file=path, column="district_id", rule="file.duplicates")
    failures = pd.DataFrame(failures, index=raw.index)
    bad_rows = failures.to_numpy().any(axis=1)
    rule_counts = {rule: n for rule in failures.columns if (n := int(failures[rule].sum()))}
    if bad_lines:
        rule_counts["row.fields"] = len(bad_lines)
    messages = {**{r.id: r.message for r in ROW_RULES},
                **{f"{c}.type": f"{c} is not a whole number (nor a marker such as k.A. or -)" for c in COUNT_COLUMNS}}
    quarantine = _quarantine(raw, failures, bad_rows, messages, bad_lines)
    accepted = typed.loc[~bad_rows].reset_index(drop=True)
    extra = [c for c in raw.columns if c not in COLUMN_NAMES]
    notes = list(detected.get("notes", []))
    if extra:
        notes.append(f"ignored columns not in the contract: {', '.join(map(str, extra))}")
    for key, n in sorted(markers.items()):
        column, kind = key.rsplit(".", 1)
        meaning = "read as 0 ('-': nichts vorhanden)" if kind == "zero" else "read as missing (k.A., ., x, …)"
        notes.append(f"{column}: {n} marker(s) {meaning}")
    result = AuxiliaryResult(path, reference_date, accepted, quarantine, len(raw) + len(bad_lines), rule_counts,
                             markers, extra, detected.get("encoding"), detected.get("separator"), notes)
    assert result.input_rows == result.accepted_rows + result.quarantined_rows
    return result


def _quarantine(raw: pd.DataFrame, failures: pd.DataFrame, bad_rows: np.ndarray, messages: dict[str, str],
                bad_lines: list[dict]) -> pd.DataFrame:
    """Quarantined rows as delivered (text): row number, first rule, its message, all rules, the columns.
    Loops over the bad rows only (a file has one row per district)."""
    names = np.asarray(failures.columns)
    records = []
    for row in np.flatnonzero(bad_rows):
        broken = list(names[failures.iloc[row].to_numpy(dtype=bool)])
        records.append({"row_number": int(row) + 1, "rule": broken[0], "message": messages[broken[0]],
                        "all_rules": "; ".join(broken),
                        **{c: None if raw[c].iloc[row] is None else str(raw[c].iloc[row]) for c in COLUMN_NAMES}})
    for line in bad_lines:
        records.append({"row_number": int(line["row"]), "rule": "row.fields",
                        "message": f"the line has more fields than the header: {line['saw']}, header has "
                                   f"{line['expected']}", "all_rules": "row.fields",
                        **{c: line["values"].get(c) for c in COLUMN_NAMES}})
    columns = ["row_number", "rule", "message", "all_rules", *COLUMN_NAMES]
    out = pd.DataFrame(records, columns=columns).astype({c: "string" for c in columns if c != "row_number"})
    out["row_number"] = out["row_number"].astype("int64")
    return out.sort_values("row_number", kind="stable").reset_index(drop=True)


def check_against_residents(auxiliary: pd.DataFrame, persons: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The auxiliary counts with every count above its district's residents of the reference group
    (:data:`RESIDENT_GROUPS`) removed, and how many were removed per rule (``<column>.residents``).

    Residents are counted from the persons table (district_id, age); a district the persons table does
    not know is left to the indicators (ignored there with a warning)."""
    out = auxiliary.copy()
    counts: dict[str, int] = {}
    ids = out["district_id"].astype("string").str.strip()
    age = persons["age"].to_numpy(dtype=float, na_value=np.nan)
    district = persons["district_id"].astype("string")
    for column, (low, high, _) in RESIDENT_GROUPS.items():
        in_group = (age >= low) & (age < high)
        residents = district[in_group].value_counts()
        known = ids.isin(residents.index).to_numpy(dtype=bool)
        bound = ids.map(residents).astype("Float64").fillna(0).to_numpy(dtype=float)
        values = pd.to_numeric(out[column], errors="coerce").astype("Float64")
        over = known & (values.to_numpy(dtype=float, na_value=np.nan) > bound)  # NaN compares False
        if over.any():
            counts[f"{column}.residents"] = int(over.sum())
            out[column] = values.mask(over)
    return out, counts


def table_schema() -> dict:
    """The auxiliary contract as a Frictionless Table Schema (like the register's)."""
    fields = []
    for spec in COLUMNS:
        constraints: dict = {"required": not spec.nullable}
        if spec.minimum is not None:
            constraints["minimum"] = int(spec.minimum)
        if spec.name == "district_id":
            constraints["unique"] = True
        fields.append({"name": spec.name, "type": "string" if spec.kind == "string" else "integer",
                       "description": spec.description, "constraints": constraints,
                       "x-present-in-file": "required"})
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "name": "auxiliary_district_figures",
        "title": "Bezirkswerte aus anderen Quellen (SGB II, Arbeitslose) / auxiliary district figures",
        "version": AUXILIARY_CONTRACT_VERSION,
        "fields": fields,
        "primaryKey": ["district_id"],
        "missingValues": list(dict.fromkeys(CSV_MISSING_MARKERS + MISSING_MARKERS)),
        "x-zero-markers": list(ZERO_MARKERS),
        "x-number-format": "whole numbers; thousands dots allowed (1.234); no decimal part",
        "x-row-rules": [{"id": r.id, "column": r.column, "message": r.message} for r in ROW_RULES],
        "x-resident-rules": [{"id": k, "rule": v} for k, v in RESIDENT_RULES.items()],
        "x-file-rules": [{"id": k, "rule": v} for k, v in FILE_RULES.items()],
        "x-csv-dialect": {"delimiter": ";", "encodings": ["utf-8", "cp1252"], "compression": ["none", "gzip"]},
    }


def schema_json() -> str:
    """:func:`table_schema` as committed in ``docs/auxiliary.schema.json``."""
    return json.dumps(table_schema(), indent=2, ensure_ascii=False) + "\n"


def rules_markdown() -> str:
    """The rule table of the auxiliary contract in ``docs/contract.md``."""
    lines = ["| rule id | column | what breaks it | consequence |", "|---|---|---|---|"]
    for column in COUNT_COLUMNS:
        lines.append(f"| `{column}.type` | `{column}` | value is not a whole number (nor a marker) | row quarantined |")
    for rule in ROW_RULES:
        lines.append(f"| `{rule.id}` | `{rule.column}` | {rule.message} | row quarantined |")
    for rule_id, text in RESIDENT_RULES.items():
        column = rule_id.split(".")[0]
        lines.append(f"| `{rule_id}` | `{column}` | {text.split(';')[0]} | value removed in the run, counted |")
    for rule_id, text in FILE_RULES.items():
        lines.append(f"| `{rule_id}` | — | breaks: {text} | file unusable: run stops, exit 2 |")
    return "\n".join(lines) + "\n"
