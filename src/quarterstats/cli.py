"""Command line: ``quarterstats generate | validate | run | settings | contract``.

Exit codes: 0 success (``validate``: the file is clean); 1 ``validate`` found rows that break rules or
would be repaired (the file is usable; rows would be quarantined, parent links removed); 2 unusable
input (message names file, column and rule); 3 an internal error (a bug: the message says so;
``--debug`` shows the traceback). ``validate --json`` prints one JSON object whose shape is the same for
every outcome: ``docs/validate-result.schema.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from quarterstats import contract
from quarterstats.errors import InputError
from quarterstats.paths import ProjectPaths
from quarterstats.safe_text import console_lines, console_text

EXIT_OK, EXIT_ROWS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3
CONTRACTS = ("register", "auxiliary")
#: Version of the ``validate --json`` output (``docs/validate-result.schema.json``).
VALIDATE_RESULT_VERSION = "1.0.0"
STATUS_EXIT = {"clean": EXIT_OK, "repaired": EXIT_ROWS, "rows_broken": EXIT_ROWS, "unusable": EXIT_UNUSABLE}


def _say(*parts: object, file=None, flush: bool = False) -> None:
    """Print a message, inert: everything the command prints goes through here, so file names, column
    values and district names from a delivery (in our messages, in the runner's progress, in exception
    texts) reach the terminal with control characters and bidirectional overrides escaped
    (:func:`quarterstats.safe_text.console_lines`)."""
    print(console_lines(" ".join(str(p) for p in parts)), file=file or sys.stdout, flush=flush)


def _say_json(payload: object) -> None:
    """Print ``payload`` as JSON (UTF-8, indented) with the characters a terminal would act on written
    as JSON escapes: the same JSON for a program, inert for a person reading it."""
    text = json.dumps(payload, ensure_ascii=False, indent=2, default=str)
    # json.dumps escapes control characters inside strings already; the line breaks left are its indentation
    sys.stdout.write("".join(_json_escape(c) if c != "\n" and console_text(c) != c else c for c in text) + "\n")


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _municipality(text: str) -> str:
    from quarterstats.paths import MUNICIPALITY_KEY_PATTERN

    if not MUNICIPALITY_KEY_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"not a municipality key (letters, digits, '_' and '-'): {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quarterstats",
        description="District-level socio-demographic indicators from anonymised register extracts.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write the synthetic Kaiserslautern-like default into data/raw/")
    gen.add_argument("--workdir", type=Path, help="project folder (default: this checkout)")
    gen.add_argument("--persons", type=_positive, default=100_000, help="residents on the first date (default 100000)")
    gen.add_argument("--seed", type=int, default=20161231, help="random seed (default 20161231)")
    gen.add_argument("--date", dest="dates", type=_date, action="append",
                     help="reference date(s) to write (default: every 31 Dec 2016..2024)")

    val = sub.add_parser("validate", help="check a register extract or auxiliary file (or a delivery folder) "
                                          "against its contract")
    val.add_argument("file", type=Path, help="a file, or a folder such as data/raw/register (every file in it)")
    val.add_argument("--contract", choices=CONTRACTS,
                     help="which contract (default: auxiliary for files in a folder named 'auxiliary', else register)")
    val.add_argument("--date", type=_date, help="reference date (default: from the file name)")
    val.add_argument("--encoding", help="CSV encoding (default: detect UTF-8 / cp1252)")
    val.add_argument("--separator", help="CSV separator (default: detect)")
    val.add_argument("--json", action="store_true", help="machine-readable report on stdout "
                                                         "(docs/validate-result.schema.json)")
    val.add_argument("--examples", type=int, default=3, help="example rows per rule (default 3)")
    val.add_argument("--show-values", action="store_true",
                     help="show delivered values and pseudonyms in examples and messages (default: hidden, so "
                          "that CI logs carry none)")

    run = sub.add_parser("run", help="materialise the whole pipeline for every (or the given) reference date")
    run.add_argument("--workdir", type=Path, help="project folder with data/raw/ (default: this checkout)")
    run.add_argument("--date", dest="dates", type=_date, action="append",
                     help="only these reference date(s), plus earlier ones they need that have no outputs yet")
    run.add_argument("--municipality", dest="municipalities", type=_municipality, action="append",
                     help="only this municipality (key of a folder municipalities/<key>/; repeatable; "
                          "default: all, or the working directory itself)")

    st = sub.add_parser("settings", help="check quarterstats.toml and show the effective settings and their hash")
    st.add_argument("--workdir", type=Path, help="project folder (default: this checkout)")
    st.add_argument("--reference", action="store_true",
                    help="print the reference of every section and key (docs/settings.md) instead")

    con = sub.add_parser("contract", help="export a contract as a Frictionless Table Schema")
    con.add_argument("--contract", choices=CONTRACTS, default="register",
                     help="register extract (default) or auxiliary district figures")
    con.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    return parser


def cmd_generate(args: argparse.Namespace) -> int:
    from quarterstats.synth import generate

    paths = ProjectPaths.from_workdir(args.workdir)
    _say(f"Generating the synthetic default ({args.persons:,} persons, seed {args.seed}) into {paths.raw}")
    summary = generate(
        paths.raw, persons=args.persons, seed=args.seed, reference_dates=args.dates,
        progress=lambda msg: _say(f"  {msg}", flush=True),
    )
    _say(f"Done in {summary.seconds:.1f} s: {len(summary.files)} files in {paths.raw}")
    return EXIT_OK


def _contract_of(path: Path, chosen: str | None) -> str:
    if chosen:
        return chosen
    return "auxiliary" if any(part.lower() == "auxiliary" for part in path.parent.parts[-2:]) else "register"


def _empty_result(path: Path, contract_name: str) -> dict:
    """The validate result with every key present (one shape for every outcome)."""
    from quarterstats import auxiliary

    version = auxiliary.AUXILIARY_CONTRACT_VERSION if contract_name == "auxiliary" else contract.CONTRACT_VERSION
    return {
        "result_version": VALIDATE_RESULT_VERSION, "status": "unusable", "exit_code": EXIT_UNUSABLE,
        "contract": contract_name, "contract_version": version, "file": str(path), "reference_date": None,
        "format": None, "encoding": None, "separator": None, "input_rows": None, "accepted_rows": None,
        "quarantined_rows": None, "rows_accounted": None, "rule_counts": {}, "link_repairs": {}, "markers": {},
        "warnings": {}, "extra_columns": [], "notes": [], "examples": {}, "values_shown": False, "error": None,
    }


def validate_file(path: Path, contract_name: str, *, reference_date: date | None = None,
                  encoding: str | None = None, separator: str | None = None, examples: int = 3) -> dict:
    """Validate one file; the result as ``validate --json`` prints it (never raises for bad input)."""
    from quarterstats.auxiliary import ingest_auxiliary
    from quarterstats.ingest import example_rows, ingest_register, reference_date_from_name
    from quarterstats.safe_text import values_shown

    out = _empty_result(path, contract_name)
    out["values_shown"] = values_shown()
    try:
        if contract_name == "auxiliary":
            day = reference_date or reference_date_from_name(path)
            result = ingest_auxiliary(path, day, encoding=encoding, separator=separator)
            found = []
        else:
            result = ingest_register(path, reference_date, encoding=encoding, separator=separator)
            found = example_rows(result, examples)
    except InputError as exc:
        out["error"] = exc.as_dict()
        return out
    out.update({k: v for k, v in result.summary().items() if k in out})
    if contract_name == "auxiliary":
        found = _auxiliary_examples(result, examples)
    out["examples"] = {rule: [_masked(e) for e in rows] for rule, rows in found.items()}
    status = "rows_broken" if result.quarantined_rows else "repaired" if out["link_repairs"] else "clean"
    out.update(status=status, exit_code=STATUS_EXIT[status])
    return out


def _auxiliary_examples(result, per_rule: int) -> dict[str, list[dict]]:
    import pandas as pd

    q = result.quarantine
    examples = {}
    for rule in sorted(result.rule_counts):
        column = rule.split(".")[0]
        hits = q[q["all_rules"].str.split("; ").map(lambda rules, r=rule: r in rules)].head(per_rule)
        examples[rule] = [{"row_number": int(row["row_number"]), "person_id": None, "column": column,
                           "value": None if column not in q.columns or pd.isna(row[column]) else str(row[column])}
                          for _, row in hits.iterrows()]  # a few rows per rule
    return examples


def _masked(example: dict) -> dict:
    """An example row with its pseudonym and value hidden unless values are shown (``--show-values``)."""
    from quarterstats.safe_text import console_text, values_shown

    def shown(value):
        if value is None or value != value:  # missing (None or NaN/NA)
            return None
        return console_text(value) if values_shown() else "<hidden>"

    return {**example, "person_id": shown(example.get("person_id")), "value": shown(example.get("value"))}


def _print_result(result: dict) -> None:
    path = result["file"]
    if result["status"] == "unusable":
        error = result["error"]
        _say(f"UNUSABLE {InputError(error['message'], file=error['file'], column=error['column'], rule=error['rule'])}",
              file=sys.stderr)
        return
    _say(f"{path}: {result['input_rows']} rows, {result['accepted_rows']} accepted, "
          f"{result['quarantined_rows']} would be quarantined ({result['contract']} contract "
          f"v{result['contract_version']})")
    for rule, count in sorted(result["rule_counts"].items(), key=lambda kv: (-kv[1], kv[0])):
        _say(f"  {rule}: {count} row(s)")
        for ex in result["examples"].get(rule, []):
            who = f" person_id={ex['person_id']}" if ex["person_id"] is not None else ""
            _say(f"      row {ex['row_number']}:{who} {ex['column']}={ex['value']!r}")
    for rule, count in sorted(result["link_repairs"].items()):
        _say(f"  {rule}: {count} link(s) removed (row kept)")
    for rule, count in sorted(result["warnings"].items()):
        _say(f"  warning {rule}: {count}")
    for note in result["notes"]:
        _say(f"  note: {note}")
    if not result["values_shown"] and result["examples"]:
        _say("  (values and pseudonyms hidden; --show-values shows them)")
    _say({"clean": "OK: clean", "repaired": "REPAIRED: parent links would be removed (exit 1)",
           "rows_broken": "ROWS BREAK RULES (exit 1)"}[result["status"]])


def validate_folder(folder: Path, contract_name: str | None, args: argparse.Namespace) -> dict:
    """Every delivery of a folder validated, and every other entry named with the reason."""
    from quarterstats.paths import AUXILIARY_KINDS, REGISTER_KINDS, scan_deliveries

    name = _contract_of(folder / "x", contract_name)
    # the working directory: the current one when the folder lies in it (a CI checkout), else the folder
    workdir = Path.cwd() if folder.resolve().is_relative_to(Path.cwd().resolve()) else folder.resolve()
    inventory = scan_deliveries(folder, workdir, AUXILIARY_KINDS if name == "auxiliary" else REGISTER_KINDS)
    files = [validate_file(path, name, encoding=args.encoding, separator=args.separator, examples=args.examples)
             for path in inventory.files.values()]
    worst = max([f["exit_code"] for f in files] + ([EXIT_UNUSABLE] if inventory.refused or not files else [EXIT_OK]))
    status = {EXIT_OK: "clean", EXIT_ROWS: "rows_broken", EXIT_UNUSABLE: "unusable"}[worst]
    if worst == EXIT_ROWS and all(f["status"] in ("clean", "repaired") for f in files):
        status = "repaired"
    return {
        "result_version": VALIDATE_RESULT_VERSION, "status": status, "exit_code": worst, "contract": name,
        "folder": str(folder), "files": files,
        "refused": [{"path": p, "reason": r} for p, r in inventory.refused],
        "not_used": [{"path": p, "reason": r} for p, r in inventory.unused],
    }


def cmd_validate(args: argparse.Namespace) -> int:
    from quarterstats.safe_text import reset_show_values, show_values

    token = show_values(args.show_values)
    try:
        if args.file.is_dir():
            result = validate_folder(args.file, args.contract, args)
            if args.json:
                _say_json(result)
            else:
                for item in result["files"]:
                    _print_result(item)
                for item in result["refused"]:
                    _say(f"REFUSED {item['path']}: {item['reason']}", file=sys.stderr)
                for item in result["not_used"]:
                    _say(f"not used: {item['path']}: {item['reason']}")
                if not result["files"]:
                    _say(f"UNUSABLE {args.file}: no delivery found", file=sys.stderr)
            return result["exit_code"]
        result = validate_file(args.file, _contract_of(args.file, args.contract), reference_date=args.date,
                               encoding=args.encoding, separator=args.separator, examples=args.examples)
        if args.json:
            _say_json(result)
        else:
            _print_result(result)
        return result["exit_code"]
    finally:
        reset_show_values(token)


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import materialize_all

    paths = ProjectPaths.from_workdir(args.workdir)
    outcome = materialize_all(paths.workdir, args.dates, progress=lambda msg: _say(msg, flush=True),
                              municipalities=args.municipalities)
    if not outcome.ok:
        _say(f"quarterstats run stopped: {outcome.message}", file=sys.stderr)
        return EXIT_UNUSABLE
    if [paths.for_municipality(key) for key in outcome.municipalities] != [paths]:  # several municipalities
        _say(f"Finished {len(outcome.dates)} municipality × reference-date partition(s) of "
              f"{len(outcome.municipalities)} municipalities in {outcome.seconds:.1f} s.")
        _say(f"  each in {paths.municipalities_root}/<key>/: data/processed/ (indicators, persons — never "
              "published —, quarantine) and reports/")
    else:
        _say(f"Finished {len(outcome.dates)} reference date(s) in {outcome.seconds:.1f} s.")
        _say(f"  indicators:    {paths.processed / 'indicators'}")
        _say(f"  person level:  {paths.processed / 'persons'} (stays in data/, never published)")
        _say(f"  quarantine:    {paths.processed / 'quarantine'}")
        if paths.reports.is_dir() and any(paths.reports.iterdir()):
            _say(f"  reports:       {paths.reports}")
    for line in outcome.time_report():
        _say(line)
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    """The effective settings of a project folder as TOML (every key, defaults filled in) and their hash;
    exit 2 with the message of :func:`quarterstats.settings.load_settings` for a file it refuses."""
    from quarterstats.settings import load_settings, reference_markdown, settings_toml

    if args.reference:
        sys.stdout.write(reference_markdown())
        return EXIT_OK
    paths = ProjectPaths.from_workdir(args.workdir)
    settings = load_settings(paths.workdir)
    state = "found" if paths.settings_file.is_file() else "absent: every default"
    _say(f"# {paths.settings_file} ({state})")
    _say(f"# effective settings, SHA-256 {settings.sha256()}")
    if settings.disclosure.below_legal_floor:
        _say(f"# WARNING: min_count = {settings.disclosure.min_count}: counts below the legal floor of 3 are published")
    sys.stdout.write(settings_toml(settings))
    return EXIT_OK


def cmd_contract(args: argparse.Namespace) -> int:
    from quarterstats import auxiliary

    text = auxiliary.schema_json() if args.contract == "auxiliary" else contract.schema_json()
    if args.output:
        from quarterstats.atomic import write_text

        write_text(text, args.output)
        _say(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


COMMANDS = {"generate": cmd_generate, "validate": cmd_validate, "run": cmd_run, "settings": cmd_settings,
            "contract": cmd_contract}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        _say(f"quarterstats: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        _say("quarterstats: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so plainly
        if args.debug:
            raise
        _say(f"quarterstats: internal error ({type(exc).__name__}: {exc}). This is a bug; rerun with "
              "--debug for the traceback and report it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
