"""The HTML report and the index page (quarterstats.report).

Inputs are small protected tables built by hand (4 districts, 2 reference dates) and tiny matplotlib
figures; expected cell texts are written out by hand (German number format, "*" suppressed, "x" not
available).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from quarterstats.catalogue import CATALOGUE, ORIGIN_REGIONS, IndicatorParameters
from quarterstats.migration import MigrationParameters
from quarterstats.report import format_change, format_date_de, format_number, render_index, render_report

try:  # written by the figures helper; a stand-in with the interface's fields until it exists
    from quarterstats.figures import FigureFile
except ImportError:  # pragma: no cover - depends on the state of the tree
    @dataclass(frozen=True)
    class FigureFile:  # type: ignore[no-redef]
        id: str
        section: str
        title_de: str
        caption_de: str
        png: Path
        svg: Path


DATE1, DATE2 = date(2023, 12, 31), date(2024, 12, 31)
DISTRICTS = [("01", "Innenstadt"), ("02", "Nord & Süd <West>"), ("03", "Kleindorf"), ("04", "Am Bahnhof")]
AREAS = [d for d, _ in DISTRICTS] + ["city"]
NAN = float("nan")
S = "*"   # suppressed
NA = "x"  # not available (DIN 55301: "x" would mean exactly zero)


def _rows(day: date) -> dict[str, list]:
    """indicator -> five entries (01, 02, 03, 04, city): a value, or (NaN, flag)."""
    later = day == DATE2
    rows = {
        "pop": [1234, 5678, 250, 12345, 19507 if later else 19384],
        "density": [2345.6, 1234.4, 98.7, 4321.0, 1500.2],
        "foreign_share": [12.345, 8.0, S, 20.05, 15.64 if later else 15.2],
        "german_personal_mh_share": [10.0, 9.5, 4.0, 12.0, 10.8],
        "german_familial_mh_share": [3.0, 2.5, S, 4.0, 3.3],
        "with_mh_share": [30.0, 25.55, 10.0, 40.04, 35.2],
        "with_mh_minors_share": [45.0, 38.0, S, 55.0, 50.1],
        "mean_age": [42.34, 44.0, 51.25, 38.1, 41.0],
        "youth_ratio": [30.1, 32.0, 25.0, 28.0, 29.5],
        "old_age_ratio": [35.0, 40.0, 60.0, 25.0, 33.3],
        "households": [600, 2800, 120, 6100, 9620 if later else 9600],
        "household_size_mean": [2.056, 2.0, 2.08, 1.9, 1.98],
        "single_person_households_share": [40.0, 42.0, 30.0, 50.0, 46.0],
        "households_with_minors_share": [20.0, 22.0, 25.0, 15.0, 18.0],
        "single_parent_households_share": [18.0, 15.0, S, 25.0, 21.0],
        "residence_5y": [55.0, 60.0, 75.0, 45.0, 52.0],
        "turnover": [120.0, 95.5, 80.0, 150.0, 110.0] if later else [NA] * 5,
        "milieu_seniors": [0.5, -0.25, NA, -1.2, NA],
        "milieu_migration": [0.1, -0.9, NA, 1.4, NA],
        "milieu_type": [35333, 33333, NA, 31353, NA],
        "location_quotient_foreign": [0.79, 0.51, S, 1.28, 1.0],
        "lisa_class_foreign": [1, 0, -1, 2, NA],
    }
    for k, (code, _, _) in enumerate(ORIGIN_REGIONS):
        rows[f"origin_region_{code}_share"] = [1.0 + k, 0.5 * k, S, 2.0 + k, 1.5 + k]
    for lo in ("00_05", "06_14", "15_17", "18_24", "25_44", "45_64", "65_79", "80plus"):
        rows[f"age_{lo}_share"] = [12.5, 12.5, 12.5, 12.5, 12.5]
    return rows


#: City changes against the previous date (DATE2 only): pop +123 persons, foreign share +0.44 pp, ...
CHANGES = {"pop": 123.0, "foreign_share": 0.44, "with_mh_share": -0.04, "with_mh_minors_share": 1.26,
           "households": 20.0}


def published_table(day: date) -> pd.DataFrame:
    records = []
    for ind, values in _rows(day).items():
        cat = CATALOGUE[ind]
        for (did, name), v in zip(DISTRICTS + [("city", "Stadt insgesamt")], values):
            flag = v if isinstance(v, str) else ""
            value = NAN if flag else float(v)
            change = CHANGES.get(ind, NAN) if (day == DATE2 and did == "city") else NAN
            records.append({
                "reference_date": day, "district_id": did, "district_name": name, "indicator": ind,
                "label_de": cat.label_de, "unit": cat.unit, "kind": cat.kind, "value": value,
                "numerator": NAN, "denominator": NAN, "flag": flag, "change_previous": change,
                "change_baseline": change,
            })
    return pd.DataFrame.from_records(records)


def segregation_table() -> pd.DataFrame:
    rows = []
    for day, shift in ((DATE1, 0.0), (DATE2, 1.0)):
        for group in ("foreign", "with_mh"):
            for index, value in (("seg_dissimilarity", 34.52 + shift), ("seg_isolation", 0.2346),
                                 ("seg_exposure", 0.7654), ("seg_theil", 0.0812), ("seg_gini", 0.4567),
                                 ("moran_i", 0.3121)):
                rows.append({"reference_date": day, "index": index, "group": group, "value": value,
                             "p_value": 0.012 if index == "moran_i" else NAN})
        for index in ("seg_multigroup_theil", "seg_multigroup_dissimilarity"):
            rows.append({"reference_date": day, "index": index, "group": "origin_regions", "value": 0.0456,
                         "p_value": NAN})
    return pd.DataFrame(rows)


def meta_for(day: date) -> dict:
    return {
        "reference_date": day,
        "city_name": "Kaiserslautern (synthetisch)",
        "source": "Melderegister, anonymisierter statistischer Auszug; synthetische Daten",
        "protection_de": "Fallzahlen unter 3 sind gesperrt (*), dazu Sekundärsperrungen; Anteile ab Nenner 10.",
        "catalogue_version": "1.0.0",
        "code_version": "0.1.0+test",
        "input_hashes": {"register/2024-12-31.parquet": "ab" * 32, "boundaries/districts.gpkg": "cd" * 32},
        "migration_parameters": MigrationParameters(personal_acquisitions=("naturalisation", "option")),
        "indicator_parameters": IndicatorParameters(),
        "generated_from": "Testdaten",
    }


def write_figures(report_dir: Path) -> list[FigureFile]:
    """Two tiny matplotlib figures saved reproducibly (PNG and SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "quarterstats"
    figures = []
    for fid, section, title in (("map_foreign_share", "migration", "Ausländeranteil nach Stadtbezirken"),
                                ("bar_pop", "bevoelkerung", "Einwohner nach Stadtbezirken")):
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.bar([d for d, _ in DISTRICTS], [1234, 5678, 250, 12345])
        ax.set_title(title)
        png, svg = Path("abbildungen") / f"{fid}.png", Path("abbildungen") / f"{fid}.svg"
        (report_dir / "abbildungen").mkdir(parents=True, exist_ok=True)
        fig.savefig(report_dir / png, dpi=72, metadata={"Software": None})
        fig.savefig(report_dir / svg, metadata={"Date": None})
        plt.close(fig)
        figures.append(FigureFile(id=fid, section=section, title_de=title,
                                  caption_de=f"{title}; Klassen nach Fisher-Jenks; Quelle: Melderegister.",
                                  png=png, svg=svg))
    return figures


def build_report(report_dir: Path, day: date = DATE2, tables=None) -> Path:
    figures = write_figures(report_dir)
    return render_report(published_table(day), segregation_table(), figures, meta_for(day), report_dir,
                         tables=tables)


# ------------------------------------------------------------------------------------------- parsing
class Page(HTMLParser):
    """Collects tags with attributes, tables (header and body cell texts) and headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.tables: list[dict] = []
        self.headings: list[str] = []
        self._table = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False
        self._heading: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = {"caption": "", "head": [], "body": [], "classes": a.get("class", "")}
        elif tag == "caption":
            self._caption = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "h2":
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).replace("\u00ad", "").replace("\u200b", "").strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table["head" if self._in_head else "body"].append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "caption" and self._caption is not None:
            self._table["caption"] = "".join(self._caption).strip()
            self._caption = None
        elif tag == "table":
            self.tables.append(self._table)
            self._table = None
        elif tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        for buf in (self._cell, self._heading, self._caption):
            if buf is not None:
                buf.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def table_by_caption(page: Page, text: str) -> dict:
    found = [t for t in page.tables if text in t["caption"]]
    assert len(found) == 1, [t["caption"] for t in page.tables]
    return found[0]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return build_report(tmp_path_factory.mktemp("report") / "2024-12-31")


# ---------------------------------------------------------------------------------------- formatting
@pytest.mark.parametrize("value, decimals, signed, expected", [
    (12345.678, 1, False, "12.345,7"),
    (1234567, 0, False, "1.234.567"),
    (-0.5, 1, False, "−0,5"),
    (-0.04, 1, False, "0,0"),          # rounds to zero: no "−0,0"
    (0.44, 1, True, "+0,4"),
    (-1234, 0, True, "−1.234"),
    (0.0, 1, True, "±0,0"),
    (NAN, 1, False, "x"),
    (None, 0, False, "x"),
])
def test_format_number(value, decimals, signed, expected):
    assert format_number(value, decimals, signed=signed) == expected


def test_format_change_and_date():
    assert format_change(0.44, 1, "Prozentpunkte") == "+0,4 Prozentpunkte"
    assert format_change(NAN, 0, "Personen") == "x"
    assert format_date_de(date(2024, 12, 31)) == "31.12.2024"
    assert format_date_de("2017-01-05") == "05.01.2017"


# --------------------------------------------------------------------------------------- self-contained
def test_report_is_self_contained(rendered):
    page = parse(rendered)
    imgs = [a for tag, a in page.tags if tag == "img"]
    assert len(imgs) == 2
    for a in imgs:
        assert a["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(a["src"].split(",", 1)[1]).startswith(b"\x89PNG")
        assert a["alt"].endswith("Quelle: Melderegister.")
    for tag, a in page.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed")
        for name, value in a.items():
            if name in ("src", "href", "srcset", "data", "action", "poster") and value:
                assert not re.match(r"(https?:)?//", value), (tag, name, value)
                assert ":" not in value.split("/")[0] or value.startswith("data:"), (tag, name, value)
    text = rendered.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert "@import" not in text and "url(" not in text
    for table in page.tables:
        assert table["head"] and table["head"][0], table["caption"]


def test_every_table_has_header_cells(rendered):
    text = rendered.read_text(encoding="utf-8")
    assert text.count("<table") == text.count("<thead>") > 5


def test_sections_in_order(rendered):
    assert parse(rendered).headings == [
        "Das Wichtigste in Kürze", "Bevölkerung und Alter", "Migration", "Haushalte", "Wohndauer und Mobilität",
        "Milieus", "Segregation", "Methoden und Definitionen", "Herkunft der Daten",
    ]


def test_title_block_and_provenance(rendered):
    text = rendered.read_text(encoding="utf-8")
    assert "Stichtag <time datetime=\"2024-12-31\">31.12.2024</time>" in text
    assert "Fallzahlen unter 3 sind gesperrt (*)" in text
    page = parse(rendered)
    hashes = table_by_caption(page, "Prüfsummen")
    assert hashes["body"] == [["boundaries/districts.gpkg", "cd" * 32], ["register/2024-12-31.parquet", "ab" * 32]]
    assert "0.1.0+test" in text and "Version 1.0.0" in text


# ------------------------------------------------------------------------------------------ tables
def test_population_table_values(rendered):
    table = table_by_caption(parse(rendered), "Einwohner, Dichte und Altersstruktur")
    assert table["head"][0][:4] == ["Nr.", "Stadtbezirk", "Einwohner (Hauptwohnsitz)Personen",
                                    "BevölkerungsdichteEinw./km²"]
    body = table["body"]
    assert [r[0] for r in body] == ["01", "02", "03", "04", ""]
    assert body[0][:5] == ["01", "Innenstadt", "1.234", "2.346", "42,3"]
    assert body[1][1] == "Nord & Süd <West>"  # escaped in the file, decoded by the parser
    assert body[-1][:3] == ["", "Stadt insgesamt", "19.507"]


def test_suppressed_and_unavailable_cells(rendered):
    page = parse(rendered)
    mig = table_by_caption(page, "Ausländer und Einwohner mit Migrationshintergrund")
    assert mig["head"][0][2] == "Ausländeranteilin %"
    # 01: 12.345 % -> one decimal; 03 suppressed; 04: 40.04 -> "40,0"
    assert mig["body"][0][2] == "12,3"
    assert mig["body"][2][2] == "*"
    assert mig["body"][3][5] == "40,0"
    mob = table_by_caption(page, "Wohndauer und Wanderungen")
    assert [r[-1] for r in mob["body"]] == ["120,0", "95,5", "80,0", "150,0", "110,0"]
    milieu = table_by_caption(page, "Milieudimensionen")
    assert milieu["body"][0][2:] == ["0,50", "0,10"]
    assert milieu["body"][1][2:] == ["−0,25", "−0,90"]
    assert milieu["body"][2][2:] == ["x", "x"]  # under 300 residents
    types = table_by_caption(page, "Quartierstyp, Status- und Dynamikklasse")
    assert [r[2:] for r in types["body"]] == [["viele Ältere"], ["gemischt, nahe am Durchschnitt"], ["x"],
                                              ["wenige Ältere, hoher Migrationsanteil"], ["x"]]
    assert "Zeichenerklärung" in rendered.read_text(encoding="utf-8")


def test_wide_tables_move_common_label_prefix_into_title(rendered):
    page = parse(rendered)
    regions = table_by_caption(page, "nach Herkunftsregion (Anteil")
    assert regions["head"][0][2] == "EU-Staatenin %"
    assert len(regions["head"][0]) == 2 + len(ORIGIN_REGIONS)
    ages = table_by_caption(page, "nach Altersgruppen")
    assert ages["head"][0][2] == "unter 6 Jahrenin %"


def test_segregation_tables(rendered):
    page = parse(rendered)
    seg = table_by_caption(page, "Segregationsindizes der Stadt")
    assert seg["head"][0][0] == "Gruppe"
    assert seg["head"][0][-1] == "p-WertMoran's I"
    # DATE2 rows only: D = 35.52 -> "35,5" (×100, one decimal); three decimals elsewhere
    assert seg["body"][0] == ["Ausländer", "35,5", "0,235", "0,765", "0,081", "0,457", "0,312", "0,012"]
    assert seg["body"][1][0] == "mit Migrationshintergrund"
    lisa = table_by_caption(page, "LISA-Cluster nach Stadtbezirken")
    assert [r[-1] for r in lisa["body"] if r[-1]] == ["Hoch-Hoch", "nicht signifikant", "ohne Nachbarn",
                                                       "Niedrig-Niedrig", "x"]
    assert [r[2] for r in lisa["body"]] == ["0,79", "0,51", "*", "1,28", "1,00"]
    multi = table_by_caption(page, "Multigruppen")
    assert [r[1] for r in multi["body"]] == ["0,046", "0,046"]


def test_absent_indicators_give_no_columns(rendered):
    # milieu_family/students/mobility/status and sex_ratio are not in the published table
    page = parse(rendered)
    milieu = table_by_caption(page, "Milieudimensionen")
    assert len(milieu["head"][0]) == 2 + 2
    text = rendered.read_text(encoding="utf-8")
    assert "Geschlechterproportion" not in text


# ---------------------------------------------------------------------------------------- summary
def test_summary_key_figures_and_changes(rendered):
    text = rendered.read_text(encoding="utf-8")
    summary = text.split('id="zusammenfassung"')[1].split("</section>")[0]
    for expected in ("19.507", "+123 Personen", "15,6", "+0,4 Prozentpunkte", "±0,0 Prozentpunkte",
                     "+1,3 Prozentpunkte", "9.620", "+20 Haushalte", "gegenüber dem vorigen Stichtag"):
        assert expected in summary, expected
    assert "hatten 19.507 Einwohner ihren Hauptwohnsitz in Kaiserslautern (synthetisch)" in summary
    # highest/lowest MH share among districts: 04 (40.0 %) and 03 (10.0 %)
    assert "Am Bahnhof (40,0 %)" in summary and "Kleindorf (10,0 %)" in summary


def test_first_date_has_no_changes(tmp_path):
    path = build_report(tmp_path / "2023-12-31", day=DATE1)
    summary = path.read_text(encoding="utf-8").split('id="zusammenfassung"')[1].split("</section>")[0]
    assert "Prozentpunkte" not in summary.replace("Veränderungen von Anteilen in Prozentpunkten", "")
    mob = table_by_caption(parse(path), "Wohndauer und Wanderungen")
    assert [r[-1] for r in mob["body"]] == ["x"] * 5


# ---------------------------------------------------------------------------------------- methods
def test_methods_only_for_indicators_in_report(rendered):
    page = parse(rendered)
    methods = table_by_caption(page, "Definitionen der Kennzahlen")
    labels = [r[0] for r in methods["body"]]
    assert "Ausländeranteil" in labels
    assert "Segregationsindex (Dissimilarität D)" in labels
    assert "Quartierstyp" in labels
    assert "Geschlechterproportion" not in labels and "Dimension sozialer Status" not in labels
    row = next(r for r in methods["body"] if r[0] == "Ausländeranteil")
    assert row[1:] == [CATALOGUE["foreign_share"].definition_de, CATALOGUE["foreign_share"].formula, "%", "10",
                       CATALOGUE["foreign_share"].source]
    assert ["Migration"] in methods["body"]  # family group rows
    # parameters by their German names, values in German (the rules the report was made with)
    params = {r[0]: r[1] for r in table_by_caption(page, "Parameter der Ableitung")["body"]}
    assert params["Familiärer Migrationshintergrund nur mit Elternteil im selben Haushalt"] == "ja"
    assert params["Erwerbsarten mit eigenem Migrationshintergrund"] == "Einbürgerung, Optionsregelung"
    assert params["Altersgrenze des familiären Migrationshintergrunds"] == "18 Jahre"
    ind = {r[0]: r[1] for r in table_by_caption(page, "Altersgrenzen")["body"]}
    assert ind["Altersgrenze Altenquotient"] == "65 Jahre"
    assert ind["Schwelle der Typbeschreibung"] == "0,5 Standardabweichungen"
    assert ind["Zahl der Quartierstypen"] == "4 bis 7 Typen"
    assert ind["Junge Erwachsene"] == "18 bis 29 Jahre"


# -------------------------------------------------------------------------------------- escaping etc.
def test_text_is_escaped(rendered):
    text = rendered.read_text(encoding="utf-8")
    assert "Nord &amp; Süd &lt;West&gt;" in text
    assert "<West>" not in text


def test_byte_identical_on_rerun(tmp_path):
    a = build_report(tmp_path / "a" / "2024-12-31")
    b = build_report(tmp_path / "b" / "2024-12-31")
    first = a.read_bytes()
    assert first == b.read_bytes()
    build_report(tmp_path / "a" / "2024-12-31")
    assert a.read_bytes() == first
    assert str(tmp_path).encode() not in first


def test_extra_tables(tmp_path):
    top = pd.DataFrame({"Stadtbezirk": ["Innenstadt", "Kleindorf"], "Bezugsland": ["Türkei", "Polen"],
                        "Personen": [1234.0, NAN], "flag": ["", "*"]})
    top.attrs.update(section="migration", title_de="Häufigste Bezugsländer")
    other = pd.DataFrame({"Merkmal": ["a"], "Anteil": [12.345]})
    path = build_report(tmp_path / "r", tables={"top": top, "Sonstiges": other})
    page = parse(path)
    t = table_by_caption(page, "Häufigste Bezugsländer")
    assert t["head"][0] == ["Stadtbezirk", "Bezugsland", "Personen"]
    assert t["body"] == [["Innenstadt", "Türkei", "1.234"], ["Kleindorf", "Polen", "*"]]
    assert table_by_caption(page, "Sonstiges")["body"] == [["a", "12,3"]]
    assert page.headings[-3] == "Weitere Tabellen"


def test_invalid_inputs_raise(tmp_path):
    figures = write_figures(tmp_path)
    bad = [FigureFile(id="x", section="unbekannt", title_de="x", caption_de="x", png=figures[0].png,
                      svg=figures[0].svg)]
    with pytest.raises(ValueError, match="unknown section"):
        render_report(published_table(DATE2), segregation_table(), bad, meta_for(DATE2), tmp_path)
    missing = [FigureFile(id="y", section="migration", title_de="y", caption_de="y", png=Path("abbildungen/y.png"),
                          svg=Path("abbildungen/y.svg"))]
    with pytest.raises(FileNotFoundError):
        render_report(published_table(DATE2), segregation_table(), missing, meta_for(DATE2), tmp_path)
    mixed = pd.concat([published_table(DATE1), published_table(DATE2)])
    with pytest.raises(ValueError, match="reference dates"):
        render_report(mixed, segregation_table(), [], meta_for(DATE2), tmp_path)


# ------------------------------------------------------------------------------------------- index
def test_index_page(tmp_path):
    entries = [
        {"reference_date": DATE1, "report": "2023-12-31/bericht.html",
         "files": ["2023-12-31/tabellen.csv", "2023-12-31/tabellen.xlsx"]},
        {"reference_date": "2024-12-31", "report": "2024-12-31/bericht.html",
         "files": ["2024-12-31/tabellen.csv", "2024-12-31/tabellen.parquet", "2024-12-31/tabellen.xlsx"]},
    ]
    path = render_index(tmp_path, entries, series_files=["zeitreihen.xlsx"], city_name="Kaiserslautern")
    assert path == tmp_path / "index.html"
    page = parse(path)
    hrefs = [a["href"] for tag, a in page.tags if tag == "a"]
    assert hrefs == ["2024-12-31/bericht.html", "2024-12-31/tabellen.csv", "2024-12-31/tabellen.parquet",
                     "2024-12-31/tabellen.xlsx", "2023-12-31/bericht.html", "2023-12-31/tabellen.csv",
                     "2023-12-31/tabellen.xlsx", "zeitreihen.xlsx"]
    dates = table_by_caption(page, "je Stichtag")
    assert [r[0] for r in dates["body"]] == ["31.12.2024", "31.12.2023"]
    assert dates["body"][0][1:] == ["Bericht (HTML)", "Tabellen CSV·Parquet·Excel"]
    assert dates["body"][1][2] == "Tabellen CSV·Excel"
    assert table_by_caption(page, "Zeitreihen")["body"] == [["Zeitreihen", "Excel"]]
    first = path.read_bytes()
    assert render_index(tmp_path, entries, series_files=["zeitreihen.xlsx"],
                        city_name="Kaiserslautern").read_bytes() == first
    with pytest.raises(ValueError):
        render_index(tmp_path, [{"reference_date": DATE1, "report": "/etc/passwd", "files": []}])


def test_index_names_reference_dates_that_are_not_published_yet(tmp_path):
    entries = [{"reference_date": DATE1, "report": "2023-12-31/bericht.html", "files": []}]
    complete = render_index(tmp_path, entries).read_text(encoding="utf-8")
    assert "Noch nicht veröffentlicht" not in complete
    one = render_index(tmp_path, entries, missing_dates=[date(2024, 12, 31)]).read_text(encoding="utf-8")
    assert "<strong>Noch nicht veröffentlicht:</strong> 31.12.2024. Für diesen Stichtag" in one
    assert "er fehlt auch in den Zeitreihen" in one
    two = render_index(tmp_path, entries, missing_dates=["2025-12-31", date(2024, 12, 31)]).read_text(encoding="utf-8")
    assert "31.12.2024, 31.12.2025. Für diese Stichtage" in two and "sie fehlen auch" in two


def test_report_and_index_link_the_interactive_map_only_when_there_is_one(tmp_path):
    entries = [{"reference_date": DATE1, "report": "2023-12-31/bericht.html", "files": []}]
    without = render_index(tmp_path, entries).read_text(encoding="utf-8")
    assert "karte.html" not in without and "Interaktive Karte" not in without
    index = parse(render_index(tmp_path, entries, map_page="karte.html"))
    assert [a["href"] for tag, a in index.tags if tag == "a"][0] == "karte.html"
    with pytest.raises(ValueError):
        render_index(tmp_path, entries, map_page="../karte.html")
    report_dir = tmp_path / "bericht"
    figures = write_figures(report_dir)
    plain = render_report(published_table(DATE2), segregation_table(), figures, meta_for(DATE2), report_dir)
    assert "karte.html" not in plain.read_text(encoding="utf-8")
    linked = render_report(published_table(DATE2), segregation_table(), figures,
                           {**meta_for(DATE2), "interactive_map": "karte.html"}, report_dir)
    html = linked.read_text(encoding="utf-8")
    assert html.count('href="karte.html"') == 1 and "<script" not in html  # the report itself stays script-free


# ------------------------------------------------------------------------------------------ browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run_chromium(binary: str, profile: Path, *args: str) -> None:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    subprocess.run(cmd, check=False, timeout=90, capture_output=True,
                   env={**os.environ, "HOME": str(profile)})


@pytest.mark.slow
def test_renders_in_headless_chromium(rendered, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary found (Debian: apt-get install -y chromium)")
    url = rendered.resolve().as_uri()
    shot, pdf = tmp_path / "shot.png", tmp_path / "r.pdf"
    _run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2000", url)
    _run_chromium(binary, tmp_path / "profile-pdf", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url)
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert pdf.is_file() and pdf.stat().st_size > 20_000
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert pages >= 9  # title page + summary + 7 chapters (page break before each), methods, provenance
