"""The user documentation: links that work after a clone, the planners' section, the report's print stylesheet."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_no_document_points_outside_the_repository():
    offenders = [f"{p.relative_to(ROOT)}: {line.strip()}" for p in DOCS
                 for line in p.read_text(encoding="utf-8").splitlines() if "../shared" in line]
    assert offenders == []


def test_relative_links_resolve_after_a_clone():
    broken = []
    for doc in DOCS:
        for target in _LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#")[0]).resolve()
            if not path.exists() or ROOT not in path.parents:
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_readme_first_screen_is_what_it_is_then_the_two_commands():
    first_screen = (ROOT / "README.md").read_text(encoding="utf-8").split("\n---\n")[0]
    blocks = re.findall(r"```bash\n(.*?)```", first_screen, flags=re.S)
    assert len(blocks) == 1
    commands = [line for line in blocks[0].splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["bash scripts/bootstrap.sh pipeline",
                                                           "bash scripts/bootstrap.sh test"]
    assert first_screen.index("pipeline that turns") < first_screen.index("```bash")


def test_readme_has_the_planners_section_in_german():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Für Planerinnen und Planer", 1)[1].split("\n## ", 1)[0]
    for needed in ("Dauer", "docs/performance.md", "bericht.html", "tabellen.xlsx", "indikatoren.csv",
                   "zeitreihe.xlsx", "Als PDF speichern", "http://127.0.0.1:3000", "dagster dev"):
        assert needed in section, needed
    # every file the section names is one the pipeline writes (the names in reports/)
    from quarterstats.report import INDEX_FILE, REPORT_FILE

    assert f"reports/{INDEX_FILE}" in section and f"reports/<Stichtag>/{REPORT_FILE}" in section


def test_report_has_a_print_stylesheet():
    css = (ROOT / "src" / "quarterstats" / "templates" / "report.html.j2").read_text(encoding="utf-8")
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    media = css[css.index("@media print"):]
    for rule in (r"section\.chapter\s*\{[^}]*break-before:\s*page", r"thead\s*\{[^}]*table-header-group",
                 r"figure img\s*\{[^}]*max-height", r"\.screen-only\s*\{\s*display:\s*none"):
        assert re.search(rule, media), rule
