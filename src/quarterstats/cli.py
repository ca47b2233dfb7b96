"""Command line: ``quarterstats generate | validate | run | contract``.

Exit codes: 0 success; 1 ``validate`` found rows that break rules (the file is usable, they would be
quarantined); 2 unusable input (message names file, column and rule); 3 an internal error (a bug: the
message says so; ``--debug`` shows the traceback).
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

    val = sub.add_parser("validate", help="check one register extract against the contract")
    val.add_argument("file", type=Path)
    val.add_argument("--date", type=_date, help="reference date (default: from the file name)")
    val.add_argument("--encoding", help="CSV encoding (default: detect UTF-8 / cp1252)")
    val.add_argument("--separator", help="CSV separator (default: detect)")
    val.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    val.add_argument("--examples", type=int, default=3, help="example rows per rule (default 3)")

    run = sub.add_parser("run", help="materialise the whole pipeline for every (or the given) reference date")
    run.add_argument("--workdir", type=Path, help="project folder with data/raw/ (default: this checkout)")
    run.add_argument("--date", dest="dates", type=_date, action="append",
                     help="only these reference date(s), plus earlier ones they need that have no outputs yet")
    run.add_argument("--municipality", dest="municipalities", type=_municipality, action="append",
                     help="only this municipality (key of a folder municipalities/<key>/; repeatable; "
                          "default: all, or the working directory itself)")

    con = sub.add_parser("contract", help="export the register-extract contract (Frictionless Table Schema)")
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


def cmd_validate(args: argparse.Namespace) -> int:
    from quarterstats.ingest import example_rows, ingest_register

    try:
        result = ingest_register(args.file, args.date, encoding=args.encoding, separator=args.separator)
    except InputError as exc:
        if args.json:
            _say_json({"status": "unusable", "error": exc.as_dict()})
        else:
            _say(f"UNUSABLE {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    summary = result.summary()
    examples = example_rows(result, args.examples)
    status = "rows_broken" if result.quarantined_rows else "clean"
    if args.json:
        summary.update({"status": status, "examples": examples})
        _say_json(summary)
    else:
        _say(f"{args.file}: {result.input_rows} rows, {result.accepted_rows} accepted, "
              f"{result.quarantined_rows} would be quarantined (contract v{contract.CONTRACT_VERSION})")
        for rule, count in sorted(result.rule_counts.items(), key=lambda kv: (-kv[1], kv[0])):
            _say(f"  {rule}: {count} row(s)")
            for ex in examples.get(rule, []):
                _say(f"      row {ex['row_number']}: person_id={console_text(ex['person_id'])} "
                     f"{console_text(ex['column'])}={console_text(repr(ex['value']))}")
        for rule, count in sorted(result.link_repairs.items()):
            _say(f"  {rule}: {count} link(s) removed (row kept)")
        for note in result.notes:
            _say(f"  note: {note}")
        _say("OK: clean" if status == "clean" else "ROWS BREAK RULES (exit 1)")
    return EXIT_OK if status == "clean" else EXIT_ROWS


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


def cmd_contract(args: argparse.Namespace) -> int:
    text = contract.schema_json()
    if args.output:
        from quarterstats.atomic import write_text

        write_text(text, args.output)
        _say(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


COMMANDS = {"generate": cmd_generate, "validate": cmd_validate, "run": cmd_run, "contract": cmd_contract}


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
