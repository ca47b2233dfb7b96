"""The register-extract contract (version ``CONTRACT_VERSION``) as code.

One row per person with main residence in the city at the reference date. The contract consists of

* ``COLUMNS`` — name, type, whether the column must be present and may be empty, allowed values;
* ``ROW_RULES`` — every rule a single row must satisfy, each with a stable id (``<column>.<rule>``), the
  column it concerns and a message. A row that breaks one is quarantined with that id;
* ``STRUCTURE_RULES`` — rules on a CSV line itself (more fields than the header); quarantined too;
* ``LINK_RULES`` — rules on parent links; a broken link is removed (the person stays) and counted;
* ``WARNING_RULES`` — plausible but unusual findings (a household of minors only): counted, rows kept;
* file-level rules (``FILE_RULES``), checked in :mod:`quarterstats.ingest` (and, for
  ``location.outside_share``, :func:`quarterstats.spatial.check_outside_share`), that make a file unusable
  as a whole (missing column, no rows, too many duplicates or bad rows, wrong reference date, ...).

Every bad input the project is tested against, and what it gets: ``docs/bad-inputs.md``.

:func:`pandera_schema` builds the pandera ``DataFrameSchema`` from these definitions (so the rules are
written once) and :func:`table_schema` exports a Frictionless Table Schema (JSON) that a data owner's CI
can use without this package. Prose: ``docs/contract.md``; source: ``../shared/spec/register-extract.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import numpy as np
import pandas as pd

CONTRACT_VERSION = "1.0.0"

SEX_CODES = ("m", "w", "d", "x")
ACQUISITION_CODES = (
    "birth",
    "naturalisation",
    "option",
    "resettler",
    "adoption",
    "declaration",
    "unknown",
)
MARITAL_STATUS_CODES = (
    "ledig",
    "verheiratet",
    "verwitwet",
    "geschieden",
    "lebenspartnerschaft",
    "unbekannt",
)
MAX_AGE = 120
EARLIEST_IMMIGRATION_YEAR = 1900
EARLIEST_MOVE_DATE = date(1900, 1, 1)
#: Texts a CSV export may use for "no value"; read as empty (Parquet files carry real nulls).
CSV_MISSING_MARKERS = ("", "NULL", "null", "NA", "N/A", "n/a", "NaN", "nan", "None", "#NV", "#N/A")

# Plausible EPSG:25832 (ETRS89 / UTM 32N) coordinates for anywhere in Germany, generously widened
# (Germany's easternmost points lie in zone 33 but are commonly given in extended zone 32).
UTM32_X_RANGE = (200_000.0, 1_000_000.0)
UTM32_Y_RANGE = (5_200_000.0, 6_200_000.0)

#: Share of rows that may have a duplicated ``person_id`` before the file counts as unusable.
DUPLICATE_TOLERANCE = 0.001
#: Share of rows that may be quarantined before the file counts as unusable (the blocking check).
MAX_QUARANTINE_SHARE = 0.05
#: Share of rows whose ``moved_in_address`` lies after the reference date before the file is taken to be
#: the extract of a later date.
FUTURE_DATE_TOLERANCE = 0.01
#: Share of accepted persons whose coordinates lie in no district before the extract and the boundaries
#: are taken not to belong together (another city's extract, or boundaries in a wrong declared CRS).
MAX_OUTSIDE_SHARE = 0.10


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the extract."""

    name: str
    kind: str  # "string" | "integer" | "number" | "date"
    required: bool  # must be present in the file
    nullable: bool  # may be empty in a row
    description: str
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    country_code: bool = False
    shared: bool = False  # one value for several rows (household ids): parsed as a Categorical

    @property
    def is_code(self) -> bool:
        """A text column of codes from a short list (countries, enumerations); case-normalised."""
        return self.kind == "string" and (self.country_code or self.allowed is not None)

    @property
    def categorical(self) -> bool:
        """Parsed as a pandas Categorical: code columns, so that normalising and checking happen once per
        distinct value, and shared ids, so that grouping by them hashes the text once per extract."""
        return self.kind == "string" and (self.is_code or self.shared)

    @property
    def pandas_dtype(self) -> str:
        if self.categorical:
            return "category"
        return {
            "string": "string",
            "integer": "Int64",
            "number": "Float64",
            "date": "datetime64[s]",
        }[self.kind]


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("person_id", "string", True, False,
               "Statistical pseudonym, unique within a file; stable across reference dates where the office keeps it so."),
    ColumnSpec("household_id", "string", True, True,
               "Generated household (KOSIS HHGen style); empty for persons in institutions.", shared=True),
    ColumnSpec("age", "integer", True, False, "Completed years at the reference date.", minimum=0, maximum=MAX_AGE),
    ColumnSpec("sex", "string", True, False, "m, w, d (divers), x (no entry).", allowed=SEX_CODES),
    ColumnSpec("nationality_1", "string", True, False,
               "First nationality, ISO 3166-1 alpha-3; XXA stateless, XXX unknown; DEU for Germans.",
               country_code=True),
    ColumnSpec("nationality_2", "string", True, True, "Second nationality, same codes.", country_code=True),
    ColumnSpec("german_acquisition", "string", True, True,
               "How German citizenship was acquired; empty for non-Germans.", allowed=ACQUISITION_CODES),
    ColumnSpec("birth_country", "string", True, True, "Country of birth, ISO alpha-3; often missing.",
               country_code=True),
    ColumnSpec("immigration_year", "integer", True, True,
               "Year of the first move-in from abroad; empty if never.",
               minimum=EARLIEST_IMMIGRATION_YEAR),
    ColumnSpec("origin_country", "string", True, True, "Country of the last move-in from abroad.",
               country_code=True),
    ColumnSpec("moved_in_city", "date", True, True, "Date of moving into the city; empty: since birth."),
    ColumnSpec("moved_in_address", "date", True, False, "Date of moving into the current address."),
    ColumnSpec("mother_id", "string", True, True, "person_id of the mother (minors, registered in the city)."),
    ColumnSpec("father_id", "string", True, True, "person_id of the father (minors, registered in the city)."),
    ColumnSpec("marital_status", "string", False, True, "Marital status.", allowed=MARITAL_STATUS_CODES),
    ColumnSpec("x", "number", True, False, "Easting in EPSG:25832 (metres).",
               minimum=UTM32_X_RANGE[0], maximum=UTM32_X_RANGE[1]),
    ColumnSpec("y", "number", True, False, "Northing in EPSG:25832 (metres).",
               minimum=UTM32_Y_RANGE[0], maximum=UTM32_Y_RANGE[1]),
)
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)
#: Optional column a city may add; when present every row must carry the file's reference date.
REFERENCE_DATE_COLUMN = "reference_date"


@dataclass(frozen=True)
class RuleContext:
    reference_date: date
    #: Rows whose non-empty ``person_id`` occurs more than once, when the caller already knows them (the
    #: ingest finds them in the same hash pass that resolves the parent links): the mask, or a function
    #: returning it (called when the rule is evaluated, last; e.g. waiting for a worker thread);
    #: None: the rule finds them.
    duplicated_person_id: np.ndarray | Callable[[], np.ndarray] | None = field(default=None, compare=False, repr=False)

    @property
    def reference_timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.reference_date)


Predicate = Callable[[pd.DataFrame, RuleContext], pd.Series]


@dataclass(frozen=True)
class Rule:
    """A row rule: ``predicate`` returns True for rows that satisfy it (vectorised over the frame)."""

    id: str
    column: str
    message: str
    predicate: Predicate = field(repr=False, compare=False)


def _known_country(values: pd.Series) -> pd.Series:
    from quarterstats.countries import is_known_code, known_codes

    if isinstance(values.dtype, pd.CategoricalDtype):  # judged once per distinct code; missing is fine
        codes = known_codes()
        known = np.array([code in codes for code in values.cat.categories], dtype=bool)
        return pd.Series(np.append(known, True)[values.cat.codes.to_numpy()], index=values.index)
    present = values.notna()
    ok = pd.Series(True, index=values.index)
    if present.any():
        ok[present] = np.asarray(is_known_code(values[present]), dtype=bool)
    return ok


def _not_null(column: str) -> Predicate:
    return lambda df, ctx: df[column].notna()


def _in_set(column: str, allowed: tuple[str, ...]) -> Predicate:
    return lambda df, ctx: df[column].isna() | df[column].isin(allowed)


def _in_range(column: str, lo: float | None, hi: float | None) -> Predicate:
    def check(df: pd.DataFrame, ctx: RuleContext) -> pd.Series:
        values = df[column]
        ok = pd.Series(True, index=df.index)
        if lo is not None:
            ok &= ~(values < lo).fillna(False)
        if hi is not None:
            ok &= ~(values > hi).fillna(False)
        return ok

    return check


def _country(column: str) -> Predicate:
    return lambda df, ctx: _known_country(df[column])


def _not_after_reference(column: str) -> Predicate:
    return lambda df, ctx: ~(df[column] > ctx.reference_timestamp).fillna(False)


def earliest_birth_year(age: pd.Series, reference_date: date) -> pd.Series:
    """Earliest birth year compatible with the completed ``age`` at ``reference_date``.

    On 31 December the birth year is exactly ``year - age``; on any other date it is ``year - age`` or
    ``year - age - 1``, so the earliest possible one, ``year - age - 1``, is taken (lenient).
    """
    last_day = reference_date.month == 12 and reference_date.day == 31
    return reference_date.year - age - (0 if last_day else 1)


def _ages(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(age, valid)``: the ages as plain floats (NaN for missing; masked Int64 arithmetic on millions
    of rows costs ten times as much) and where they are valid (judged by the age rules)."""
    age = df["age"].to_numpy(dtype=float, na_value=np.nan)
    return age, (age >= 0) & (age <= MAX_AGE)


def _birth_year_lower_bound(df: pd.DataFrame, ctx: RuleContext) -> np.ndarray:
    """Earliest birth year where the age is valid, NaN where it is not."""
    age, valid_age = _ages(df)
    return np.where(valid_age, earliest_birth_year(age, ctx.reference_date), np.nan)


def _birth_year_start(df: pd.DataFrame, ctx: RuleContext, unit: str) -> np.ndarray:
    """1 January of the earliest birth year (:func:`earliest_birth_year`) as ``datetime64[unit]``, NaT
    where the age is not valid: looked up in a table of the 0..MAX_AGE possible ages, because converting
    millions of dates to calendar years costs ten times as much as comparing them."""
    age, valid_age = _ages(df)
    years = earliest_birth_year(np.arange(MAX_AGE + 1), ctx.reference_date)
    starts = (years - 1970).astype("datetime64[Y]").astype(f"datetime64[{unit}]")
    starts = np.append(starts, np.datetime64("NaT", unit))  # the entry for an invalid age
    return starts[np.where(valid_age, age, MAX_AGE + 1).astype(np.int64)]


def _immigration_year_plausible(df: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    year = df["immigration_year"].to_numpy(dtype=float, na_value=np.nan)
    too_late = year > ctx.reference_date.year  # a missing year (NaN) compares False: no finding
    before_birth = year < _birth_year_lower_bound(df, ctx)
    return pd.Series(~(too_late | before_birth), index=df.index)


def _not_before_birth(column: str) -> Predicate:
    """The date's year is not before the earliest possible birth year (see :func:`earliest_birth_year`)."""

    def check(df: pd.DataFrame, ctx: RuleContext) -> pd.Series:
        values = df[column]
        if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":  # numpy datetime64, as parsed:
            # the year is before Y exactly when the date is before 1 January Y
            dates = values.to_numpy()
            before = dates < _birth_year_start(df, ctx, np.datetime_data(dates.dtype)[0])  # NaT: False
        else:
            before = values.dt.year.to_numpy(dtype=float, na_value=np.nan) < _birth_year_lower_bound(df, ctx)
        return pd.Series(~before, index=df.index)

    return check


def _unique_person_id(df: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """True where ``person_id`` occurs once in the file (or is empty: judged by ``person_id.required``).

    Fast path for Arrow-backed text: when the number of distinct non-empty ids equals the number of
    non-empty ids (one Arrow hash pass), no id is duplicated and every row satisfies the rule; only
    otherwise are the duplicated rows marked with pandas' ``duplicated(keep=False)``.
    """
    if ctx.duplicated_person_id is not None:
        known = ctx.duplicated_person_id
        return pd.Series(~np.asarray(known() if callable(known) else known, dtype=bool), index=df.index)
    ids = df["person_id"]
    if getattr(ids.dtype, "storage", None) == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(ids.array)  # zero-copy for Arrow-backed strings (Array or ChunkedArray)
        present = len(values) - values.null_count
        distinct = len(pc.unique(values)) - (1 if values.null_count else 0)
        if distinct == present:
            return pd.Series(True, index=df.index)
    return ~ids.duplicated(keep=False) | ids.isna()


def _coordinates_in_utm32(df: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    x, y = df["x"], df["y"]
    ok = x.between(*UTM32_X_RANGE) & y.between(*UTM32_Y_RANGE)
    return ok.fillna(True)  # missing coordinates are reported by x.required / y.required


ROW_RULES: tuple[Rule, ...] = (
    Rule("person_id.required", "person_id", "person_id is empty", _not_null("person_id")),
    Rule("person_id.unique", "person_id", "person_id occurs more than once in the file", _unique_person_id),
    Rule("age.required", "age", "age is empty", _not_null("age")),
    Rule("age.range", "age", f"age must be a whole number from 0 to {MAX_AGE}", _in_range("age", 0, MAX_AGE)),
    Rule("sex.required", "sex", "sex is empty", _not_null("sex")),
    Rule("sex.allowed", "sex", f"sex must be one of {', '.join(SEX_CODES)}", _in_set("sex", SEX_CODES)),
    Rule("nationality_1.required", "nationality_1", "nationality_1 is empty", _not_null("nationality_1")),
    Rule("nationality_1.code", "nationality_1",
         "nationality_1 is not an ISO 3166-1 alpha-3 code (or XXA/XXX) of the country table",
         _country("nationality_1")),
    Rule("nationality_2.code", "nationality_2", "nationality_2 is not a known country code",
         _country("nationality_2")),
    Rule("german_acquisition.allowed", "german_acquisition",
         f"german_acquisition must be one of {', '.join(ACQUISITION_CODES)}",
         _in_set("german_acquisition", ACQUISITION_CODES)),
    Rule("birth_country.code", "birth_country", "birth_country is not a known country code",
         _country("birth_country")),
    Rule("immigration_year.plausible", "immigration_year",
         "immigration_year lies after the reference date or before the person's birth",
         _immigration_year_plausible),
    Rule("immigration_year.range", "immigration_year", f"immigration_year before {EARLIEST_IMMIGRATION_YEAR}",
         _in_range("immigration_year", EARLIEST_IMMIGRATION_YEAR, None)),
    Rule("origin_country.code", "origin_country", "origin_country is not a known country code",
         _country("origin_country")),
    Rule("moved_in_city.not_future", "moved_in_city", "moved_in_city lies after the reference date",
         _not_after_reference("moved_in_city")),
    Rule("moved_in_city.before_birth", "moved_in_city", "moved_in_city lies before the person's birth year",
         _not_before_birth("moved_in_city")),
    Rule("moved_in_address.required", "moved_in_address", "moved_in_address is empty",
         _not_null("moved_in_address")),
    Rule("moved_in_address.not_future", "moved_in_address", "moved_in_address lies after the reference date",
         _not_after_reference("moved_in_address")),
    Rule("moved_in_address.before_birth", "moved_in_address",
         "moved_in_address lies before the person's birth year", _not_before_birth("moved_in_address")),
    Rule("marital_status.allowed", "marital_status",
         f"marital_status must be one of {', '.join(MARITAL_STATUS_CODES)}",
         _in_set("marital_status", MARITAL_STATUS_CODES)),
    Rule("x.required", "x", "x coordinate is empty", _not_null("x")),
    Rule("y.required", "y", "y coordinate is empty", _not_null("y")),
    Rule("coordinates.crs", "x",
         "coordinates are not plausible EPSG:25832 metres for Germany "
         "(degrees instead of metres, or x and y swapped?)", _coordinates_in_utm32),
)
RULE_BY_ID = {r.id: r for r in ROW_RULES}


@dataclass(frozen=True)
class LinkRule:
    id: str
    column: str
    message: str


LINK_RULES: tuple[LinkRule, ...] = (
    LinkRule("mother_id.self", "mother_id", "a person is linked as their own mother; link removed"),
    LinkRule("father_id.self", "father_id", "a person is linked as their own father; link removed"),
    LinkRule("mother_id.exists", "mother_id",
             "mother_id names no (accepted) person of this extract; link removed"),
    LinkRule("father_id.exists", "father_id",
             "father_id names no (accepted) person of this extract; link removed"),
    LinkRule("mother_id.age_gap", "mother_id",
             "the linked mother is not at least 12 years older than the child (or the links form a cycle); "
             "link removed"),
    LinkRule("father_id.age_gap", "father_id",
             "the linked father is not at least 12 years older than the child (or the links form a cycle); "
             "link removed"),
)
MIN_PARENT_AGE_GAP = 12

#: Rules on the text structure of a CSV file; a line that breaks one is quarantined (values as split).
STRUCTURE_RULES: dict[str, str] = {
    "row.fields": "the line has more fields than the header (a separator inside an unquoted value?)",
}


@dataclass(frozen=True)
class WarningRule:
    """A finding that is plausible but unusual: the rows are kept and the finding is counted."""

    id: str
    column: str
    message: str


WARNING_RULES: tuple[WarningRule, ...] = (
    WarningRule("household_id.minors_only", "household_id",
                "every member of the household is under 18 (possible, e.g. siblings; check the household "
                "generation)"),
)

FILE_RULES: dict[str, str] = {
    "file.readable": (
        "the file can be read as Parquet, or as delimited text (CSV, optionally gzip-compressed); its "
        "content matches its name (no Excel workbook, no Parquet file named .csv)"
    ),
    "file.delivery": (
        "every delivery is a regular file inside the working directory named exactly <YYYY-MM-DD>.<type> "
        "with a real date not after today, one file per date (a symbolic link is followed only within the "
        "working directory); other entries of the folder are listed as not used"
    ),
    "file.size": (
        "a compressed file (gzip, Parquet) does not expand beyond the read limits (more than 100 times its "
        "size and over 64 MiB, over 16 GiB, or over 50 million rows)"
    ),
    "file.encoding": "a CSV file is UTF-8 or cp1252 (Windows-1252 / Latin-1 family), not a mixture",
    "file.columns": (
        f"every required column is present, exactly once, and not empty in every row: "
        f"{', '.join(REQUIRED_COLUMNS)} (column names are compared ignoring case and surrounding spaces)"
    ),
    "file.rows": "the file has at least one data row",
    "file.id_format": (
        "ids are text exactly as in the register: no id column stored as floating-point numbers, no id "
        "written as a spreadsheet number ('1.0', '1.23457E+11'), no parent link that matches a person_id "
        "only after removing leading zeros or a trailing '.0' (signs of a spreadsheet round trip)"
    ),
    "file.duplicates": f"at most {DUPLICATE_TOLERANCE:.1%} of rows share a person_id",
    "file.reference_date": (
        "the file belongs to its reference date: a reference_date column, if present, equals the date "
        f"in the file name, and at most {FUTURE_DATE_TOLERANCE:.0%} of rows moved in after that date"
    ),
    "file.quarantine_share": f"at most {MAX_QUARANTINE_SHARE:.0%} of rows break row rules",
    "location.outside_share": (
        f"at most {MAX_OUTSIDE_SHARE:.0%} of accepted persons lie outside every district (else: the extract "
        "of another city, or boundaries in a wrongly declared CRS)"
    ),
}


def evaluate_rules(
    frame: pd.DataFrame, reference_date: date, *, duplicated_person_id: np.ndarray | None = None
) -> pd.DataFrame:
    """Evaluate every row rule; a boolean frame (rows × rule ids), True where the row BREAKS the rule.

    ``duplicated_person_id``: the rows ``person_id.unique`` rejects, if already known, or a function
    that returns them (see :class:`RuleContext`); that rule is then evaluated after the others, so
    that a function waiting for another thread waits as little as possible. The columns are in the
    order of :data:`ROW_RULES` either way."""
    ctx = RuleContext(reference_date, duplicated_person_id)
    deferred = callable(duplicated_person_id)
    order = sorted(ROW_RULES, key=lambda rule: deferred and rule.predicate is _unique_person_id)  # stable
    broken = {rule.id: ~rule.predicate(frame, ctx).to_numpy(dtype=bool) for rule in order}
    return pd.DataFrame({rule.id: broken[rule.id] for rule in ROW_RULES}, index=frame.index)


def pandera_schema(reference_date: date | None = None):
    """The contract as a pandera ``DataFrameSchema`` over the parsed (typed) extract.

    Built from ``COLUMNS`` and ``ROW_RULES``: each rule becomes a named, vectorised pandera check, so a
    data owner who prefers pandera sees the same rule ids as the quarantine. Rules that depend on the
    reference date are included when it is given.
    """
    import pandera.pandas as pa

    ctx = RuleContext(reference_date or date.today())
    columns = {}
    for spec in COLUMNS:
        columns[spec.name] = pa.Column(
            spec.pandas_dtype, nullable=True, required=spec.required, coerce=False,
            description=spec.description,
        )
    checks = [
        pa.Check(
            (lambda rule: lambda df: rule.predicate(df, ctx))(rule),
            name=rule.id,
            error=rule.message,
        )
        for rule in ROW_RULES
    ]
    return pa.DataFrameSchema(
        columns, checks=checks, strict=False, name=f"register_extract_v{CONTRACT_VERSION}",
        metadata={"contract_version": CONTRACT_VERSION},
    )


#: Arrow types of the preferred Parquet form of the extract (what the synthetic generator writes).
ARROW_TYPES = {"string": "string", "integer": "int16", "number": "float64", "date": "date32"}


def arrow_schema():
    """The extract's columns as a ``pyarrow.Schema`` in the preferred Parquet types."""
    import pyarrow as pa

    return pa.schema([(c.name, getattr(pa, ARROW_TYPES[c.kind])()) for c in COLUMNS])


def rules_markdown() -> str:
    """The rule tables of ``docs/contract.md`` (generated here so the prose cannot drift from the code)."""
    lines = ["| rule id | column | what breaks it | consequence |", "|---|---|---|---|"]
    for spec in COLUMNS:
        if spec.kind == "string":
            continue  # any text is a valid string
        kind = {"integer": "whole number", "number": "number", "date": "date (YYYY-MM-DD or DD.MM.YYYY)"}[spec.kind]
        lines.append(f"| `{spec.name}.type` | `{spec.name}` | value is not a valid {kind} | row quarantined |")
    for rule in ROW_RULES:
        lines.append(f"| `{rule.id}` | `{rule.column}` | {rule.message} | row quarantined |")
    for rule_id, text in STRUCTURE_RULES.items():
        lines.append(f"| `{rule_id}` | — | {text} | row quarantined |")
    for rule in LINK_RULES:
        lines.append(f"| `{rule.id}` | `{rule.column}` | {rule.message.split(';')[0]} | link removed, row kept, counted |")
    for rule in WARNING_RULES:
        lines.append(f"| `{rule.id}` | `{rule.column}` | {rule.message} | rows kept, counted as a warning |")
    for rule_id, text in FILE_RULES.items():
        lines.append(f"| `{rule_id}` | — | breaks: {text} | file unusable: run stops, exit 2 |")
    return "\n".join(lines) + "\n"


def schema_json() -> str:
    """:func:`table_schema` as the text committed in ``docs/register-extract.schema.json``."""
    import json

    return json.dumps(table_schema(), indent=2, ensure_ascii=False) + "\n"


def table_schema() -> dict:
    """The contract as a Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/)."""
    type_map = {"string": "string", "integer": "integer", "number": "number", "date": "date"}
    fields = []
    for spec in COLUMNS:
        constraints: dict = {"required": not spec.nullable}
        if spec.allowed:
            constraints["enum"] = list(spec.allowed)
        if spec.minimum is not None:
            constraints["minimum"] = spec.minimum if spec.kind == "number" else int(spec.minimum)
        if spec.maximum is not None:
            constraints["maximum"] = spec.maximum if spec.kind == "number" else int(spec.maximum)
        if spec.country_code:
            constraints["pattern"] = "^[A-Z]{3}$"
        if spec.name == "person_id":
            constraints["unique"] = True
        fields.append(
            {
                "name": spec.name,
                "type": type_map[spec.kind],
                "description": spec.description,
                "constraints": constraints,
                "x-present-in-file": "required" if spec.required else "optional",
            }
        )
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "name": "register_extract",
        "title": "Anonymisierter statistischer Melderegisterauszug / anonymised register extract",
        "version": CONTRACT_VERSION,
        "fields": fields,
        "primaryKey": ["person_id"],
        "foreignKeys": [
            {"fields": ["mother_id"], "reference": {"resource": "", "fields": ["person_id"]}},
            {"fields": ["father_id"], "reference": {"resource": "", "fields": ["person_id"]}},
        ],
        "missingValues": list(CSV_MISSING_MARKERS),
        "x-row-rules": [{"id": r.id, "column": r.column, "message": r.message} for r in ROW_RULES],
        "x-structure-rules": [{"id": k, "rule": v} for k, v in STRUCTURE_RULES.items()],
        "x-link-rules": [{"id": r.id, "column": r.column, "message": r.message} for r in LINK_RULES],
        "x-warning-rules": [{"id": r.id, "column": r.column, "message": r.message} for r in WARNING_RULES],
        "x-file-rules": [{"id": k, "rule": v} for k, v in FILE_RULES.items()],
        "x-csv-dialect": {
            "delimiter": ";", "encodings": ["utf-8", "cp1252"], "decimalChar": [",", "."],
            "headerCase": "ignored (names are lower-cased and stripped)", "compression": ["none", "gzip"],
        },
    }
