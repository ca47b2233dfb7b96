#!/usr/bin/env python
"""The intruder test of a publication: what can an outsider derive from all published files together?

Run from the repository root::

    .venv/bin/python scripts/intruder.py                                  # the project's reports/
    .venv/bin/python scripts/intruder.py --workdir /tmp/city              # another city's folder
    .venv/bin/python scripts/intruder.py --workdir /tmp/city --findings findings.csv --json summary.json
    .venv/bin/python scripts/intruder.py --without balance --without top_countries   # measure a channel

It reads only the machine CSV files under ``<workdir>/reports/`` (every reference date's
``indikatoren.csv``, ``alterspyramide.csv``, ``bezugslaender.csv`` and ``zeitreihe.csv``), never
``data/``. The parameters of the run (age groups and limits, ``min_count``) come from
``<workdir>/quarterstats.toml`` (or ``--settings``), the same file the run used; the report publishes
every one of them in its methods section. What the intruder does: ``quarterstats.disclosure.intruder``
and ``docs/disclosure.md`` ("The intruder test").

Prints what it read and found; exit code 0 when nothing is disclosed, 1 when something is, 2 when the
files cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from quarterstats.disclosure.intruder import CHANNELS, run_intruder, summary_lines
from quarterstats.errors import InputError
from quarterstats.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path.cwd(),
                        help="the project folder (default: the current folder); its reports/ are attacked")
    parser.add_argument("--reports", type=Path, default=None, help="the reports folder (default: WORKDIR/reports)")
    parser.add_argument("--settings", type=Path, default=None,
                        help="folder holding the run's quarterstats.toml (default: WORKDIR)")
    parser.add_argument("--without", action="append", default=[], choices=CHANNELS,
                        help="leave a kind of knowledge out (to measure what it adds); may be repeated")
    parser.add_argument("--findings", type=Path, default=None, help="write every finding to this CSV file")
    parser.add_argument("--json", type=Path, default=None, help="write the counts and timings to this JSON file")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings or args.workdir)
        reports = args.reports or args.workdir / "reports"
        if settings.disclosure.method != "suppression":
            print("note: the publication uses the cell key method; its counts do not add up, so the "
                  "relations the perturbed values contradict are left out")
        channels = [c for c in CHANNELS if c not in args.without]
        publication, result = run_intruder(reports, settings.indicators, min_count=settings.disclosure.min_count,
                                           channels=channels)
    except InputError as error:
        print(f"quarterstats intruder: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(publication, result):
        print(line)
    if args.findings is not None:
        result.findings.drop(columns=["spec"]).to_csv(args.findings, index=False)
    if args.json is not None:
        summary = {
            "dates": publication.dates, "channels": channels, "seconds": round(result.seconds, 2),
            "lps": result.lps, "targets": result.targets, "suppressed_targets": result.suppressed_targets,
            "suppressed_exact": result.count("suppressed", "exact"),
            "suppressed_small": result.count("suppressed", "small"),
            "hidden_exact": result.count("hidden", "exact"),
            "derived_small": result.count("derived"), "derived_exact": result.count("derived", "exact"),
            "relations_dropped": [list(d) for d in result.dropped],
        }
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if len(result.findings) else 0


if __name__ == "__main__":
    sys.exit(main())
