"""District profiles (quarterstats.profiles): one page per district and date, from published tables only.

The inputs are published long tables of three reference dates built the way the publication stage builds
them (values, signs, changes from published values via ``published_changes``, class words via
``long_table``) and a published pyramid table; the pages are parsed back and compared with them.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quarterstats import profiles
from quarterstats.catalogue import CATALOGUE
from quarterstats.disclosure.indicators import published_changes
from quarterstats.profiles import (
    OVERVIEW_FILE, PROFILE_DIR, district_types_de, profile_file_name, profile_files, profile_links, render_profiles,
)
from quarterstats.publication import published_table
from quarterstats.report import format_number, render_index
from quarterstats.tables import long_table

DATES = [date(2022, 12, 31), date(2023, 12, 31), date(2024, 12, 31)]
DISTRICTS = [("01", "Innenstadt"), ("02", "Nord <Süd> & West"), ("03", "Kleindorf")]
NAMES = dict(DISTRICTS)
IDS = list(CATALOGUE.groups["profile"])
#: (district, indicator, date index) → sign: suppressed or not available cells
SIGNS = {("03", "foreign_share", 1): "*", ("03", "households_with_minors_share", 2): "*",
         ("02", "mean_age", 0): "*", ("03", "mean_age", 2): "x", ("city", "milieu_type", 0): "x",
         ("city", "milieu_type", 1): "x", ("city", "milieu_type", 2): "x", ("03", "milieu_type", 2): "x"}
TYPE_CODES = {"01": 32220, "02": 22222, "03": 12320}


def _value(indicator: str, position: int, k: int) -> float:
    """A value with more digits than printed, different per area and date."""
    base = {"pop": 2000.0, "households": 1000.0, "mean_age": 40.0, "household_size_mean": 2.0}.get(indicator, 20.0)
    if CATALOGUE[indicator].kind == "count":
        return float(round(base * (1 + position) + 37 * k - 11 * position * k))
    return base * (1 + 0.07 * position) + 0.4137 * k - 0.2391 * position * k + 0.01234


def _protected(k: int) -> pd.DataFrame:
    records = []
    for position, did in enumerate([d for d, _ in DISTRICTS] + ["city"]):
        for indicator in [*IDS, "milieu_type"]:
            flag = SIGNS.get((did, indicator, k), "")
            if indicator == "milieu_type":
                value = np.nan if flag else float(TYPE_CODES[did])
            else:
                value = np.nan if flag else _value(indicator, position, k)
            if did == "city" and indicator != "milieu_type" and CATALOGUE[indicator].kind == "count":
                value = float(sum(_value(indicator, p, k) for p in range(len(DISTRICTS))))
            records.append({"district_id": did, "indicator": indicator, "value": value, "numerator": np.nan,
                            "denominator": np.nan, "flag": flag})
    return pd.DataFrame.from_records(records).astype({"district_id": "string", "indicator": "string",
                                                      "flag": "string"})


def published_tables() -> list[pd.DataFrame]:
    """The published long tables (as ``indikatoren``) of the three dates, built as the pipeline does."""
    out: list[pd.DataFrame] = []
    for k, day in enumerate(DATES):
        protected = published_changes(_protected(k), out[k - 1] if k else None, out[0] if k else None)
        out.append(long_table(published_table(protected, NAMES, day)))
    return out


BANDS = ["0–9", "10–19", "20–29", "30–39", "40–49", "50–59", "60–69", "70–79", "80+"]
CELLS = [("m", "mit MH"), ("m", "ohne MH"), ("w", "mit MH"), ("w", "ohne MH")]
#: suppressed pyramid cells: (district, band, cell index)
HIDDEN = {("03", "80+", 0), ("03", "80+", 2), ("01", "0–9", 3)}


def pyramid_table() -> pd.DataFrame:
    rows = []
    for position, (did, name) in enumerate(DISTRICTS):
        for b, band in enumerate(BANDS):
            for c, (sex, mh) in enumerate(CELLS):
                hidden = (did, band, c) in HIDDEN
                rows.append({"district_id": did, "district_name": name, "age_band": band, "age_band_order": b,
                             "sex": sex, "mh": mh, "count": None if hidden else 10 + 7 * b + 3 * c + 5 * position,
                             "flag": "*" if hidden else ""})
    frame = pd.DataFrame(rows)
    return frame.astype({"district_id": "string", "district_name": "string", "age_band": "string", "sex": "string",
                         "mh": "string", "count": "Int64", "flag": "string"})


def meta() -> dict:
    return {"reference_date": DATES[-1], "city_name": "Kaiserslautern (synthetisch)",
            "source": "Melderegister; synthetische Daten", "protection_de": "Fallzahlen unter 3 gesperrt.",
            "catalogue_version": "1.0.0", "previous_reference_date": DATES[1], "baseline_reference_date": DATES[0]}


def render(folder: Path, tables: list[pd.DataFrame] | None = None, pyramid: pd.DataFrame | None = None,
           **meta_changes) -> list[Path]:
    tables = tables or published_tables()
    return render_profiles(tables[-1], pd.concat(tables, ignore_index=True),
                           pyramid_table() if pyramid is None else pyramid, {**meta(), **meta_changes}, folder)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("profiles")
    render(folder)
    return folder


# ------------------------------------------------------------------------------------------- parsing
class ProfilePage(HTMLParser):
    """Rows of the key-indicator table (by data-indicator: cell class → text), trend titles, pyramid
    bands (data-cells), links, the facts and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, dict[str, str]] = {}
        self.trends: dict[str, str] = {}
        self.bands: dict[str, list[str]] = {}
        self.marks = 0
        self.links: list[str] = []
        self.facts: dict[str, str] = {}
        self.polylines: dict[str, list[str]] = {}
        self.text: list[str] = []
        self._row: str | None = None
        self._cell: str | None = None
        self._buffer: list[str] = []
        self._title = False
        self._mark = False
        self._dt: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-indicator" in a:
            self._row = a["data-indicator"]
            self.rows[self._row] = {}
        elif tag == "td" and self._row is not None:
            self._cell, self._buffer = a.get("class", "").split()[-1], []
        elif tag == "title" and self._row is not None:
            self._title, self._buffer = True, []
        elif tag == "polyline" and self._row is not None:
            self.polylines.setdefault(self._row, []).append(a["points"])
        elif tag == "g" and "data-band" in a:
            self.bands[a["data-band"]] = a["data-cells"].split("|")
        elif tag == "text" and a.get("class") == "mark":
            self._mark, self._buffer = True, []
        elif tag == "a":
            self.links.append(a["href"])
        elif tag in ("dt", "dd"):
            self._in, self._buffer = tag, []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._row][self._cell] = "".join(self._buffer).strip()
            self._cell = None
        elif tag == "title" and self._title:
            self.trends[self._row] = "".join(self._buffer)
            self._title = False
        elif tag == "tr":
            self._row = None
        elif tag == "text" and self._mark:
            self.marks += "".join(self._buffer) == "*"
            self._mark = False
        elif tag == "dt" and self._in == "dt":
            self._dt, self._in = "".join(self._buffer).strip(), None
        elif tag == "dd" and self._in == "dd":
            self.facts[self._dt] = "".join(self._buffer).strip()
            self._in = None

    def handle_data(self, data):
        self._buffer.append(data)
        self.text.append(data)


def parse(path: Path) -> ProfilePage:
    page = ProfilePage()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def german_number(text: str) -> float:
    return float(text.replace("−", "-").replace("±", "").replace(".", "").replace(",", "."))


def decimals_of(text: str) -> int:
    return len(text.split(",")[1]) if "," in text else 0


def page_of(folder: Path, district_id: str) -> ProfilePage:
    return parse(folder / PROFILE_DIR / profile_file_name(district_id))


# ----------------------------------------------------------------------------------------------- tests
def test_a_profile_per_district_and_an_overview_linking_them(rendered):
    published = published_tables()[-1]
    expected = profile_files(published)
    assert expected[0] == f"{PROFILE_DIR}/{OVERVIEW_FILE}" and len(expected) == len(DISTRICTS) + 1
    found = sorted(p.relative_to(rendered).as_posix() for p in (rendered / PROFILE_DIR).iterdir())
    assert found == sorted(expected)
    overview = parse(rendered / PROFILE_DIR / OVERVIEW_FILE)
    assert [link for link in overview.links if link.endswith(".html") and not link.startswith("..")] == \
        [profile_file_name(d) for d, _ in DISTRICTS]
    assert [link["href"] for link in profile_links(published)] == [f"{PROFILE_DIR}/{profile_file_name(d)}"
                                                                    for d, _ in DISTRICTS]


def test_values_on_the_page_are_the_published_values(rendered):
    published = published_tables()[-1].set_index(["district_id", "indicator"])
    checked = 0
    for did, name in DISTRICTS:
        page = page_of(rendered, did)
        assert page.facts["Bezirksnummer"] == did
        assert set(page.rows) == set(IDS)
        for indicator, cells in page.rows.items():
            for column, area in (("district", did), ("city", "city")):
                row = published.loc[(area, indicator)]
                shown = cells[column]
                if row["flag"]:
                    assert shown == row["flag"], (did, indicator, column)
                    continue
                # the printed number is the published value, rounded to the printed digits
                assert german_number(shown) == pytest.approx(round(row["value"], decimals_of(shown)), abs=1e-9)
                checked += 1
        assert page.facts["Einwohner"] == format_number(published.loc[(did, "pop"), "value"])
    assert checked > 60


def test_suppressed_values_are_shown_as_star_with_the_legend(rendered):
    page = page_of(rendered, "03")
    assert page.rows["households_with_minors_share"]["district"] == "*"
    assert page.rows["mean_age"]["district"] == "x"
    text = "".join(page.text)
    assert "Zahlenwert aus Gründen der statistischen Geheimhaltung gesperrt" in text
    assert "Tabellenfach gesperrt, weil Aussage nicht sinnvoll" in text


def test_changes_are_computed_from_published_values_and_signed(rendered):
    tables = [t.set_index(["district_id", "indicator"]) for t in published_tables()]
    now, previous, first = tables[2], tables[1], tables[0]
    compared = 0
    for did, _ in DISTRICTS:
        page = page_of(rendered, did)
        for indicator, cells in page.rows.items():
            for column, before in (("change-previous", previous), ("change-baseline", first)):
                shown = cells[column]
                a, b = now.loc[(did, indicator)], before.loc[(did, indicator)]
                if a["flag"] == "*" or b["flag"] == "*":
                    assert shown == "*", (did, indicator, column)
                elif a["flag"] or b["flag"]:
                    assert shown == "x", (did, indicator, column)
                else:
                    assert shown[0] in "+−±"
                    change = a["value"] - b["value"]
                    assert german_number(shown) == pytest.approx(round(change, decimals_of(shown)), abs=1e-9)
                    compared += 1
    assert compared > 50
    # the earlier value is suppressed, the present one published: the change would give it back
    page = page_of(rendered, "03")
    assert page.rows["foreign_share"]["district"] != "*" and page.rows["foreign_share"]["change-previous"] == "*"
    assert page.rows["foreign_share"]["change-baseline"] not in ("*", "x")
    assert page_of(rendered, "02").rows["mean_age"]["change-baseline"] == "*"


def test_trend_lines_follow_the_published_series_with_gaps(rendered):
    tables = [t.set_index(["district_id", "indicator"]) for t in published_tables()]
    page = page_of(rendered, "03")
    title = page.trends["foreign_share"]
    for day, table in zip(("31.12.2022", "31.12.2023", "31.12.2024"), tables):
        row = table.loc[("03", "foreign_share")]
        assert f"{day}: {row['flag'] or format_number(row['value'], 1)}" in title
    # the suppressed middle value splits the line: two lone points, no polyline
    assert "foreign_share" not in page.polylines
    assert len(page.polylines["pop"]) == 1 and len(page.polylines["pop"][0].split()) == 3


def test_trend_lines_carry_no_more_precision_than_printed(tmp_path, monkeypatch):
    """Two series that print the same draw the same line; without the rounding they would not."""
    def variant(shift: float) -> list[pd.DataFrame]:
        tables = published_tables()
        middle = tables[1]  # 20.426 → 20.406: both print as 20,4
        rows = (middle["district_id"] == "01") & (middle["indicator"] == "with_mh_share")
        middle.loc[rows, "value"] = middle.loc[rows, "value"] + shift
        return tables

    def lines(folder: Path, tables: list[pd.DataFrame]) -> list[str]:
        render(folder, tables)
        return page_of(folder, "01").polylines["with_mh_share"]

    base, nudged = variant(0.0), variant(-0.02)  # below the printed one decimal
    assert lines(tmp_path / "a", base) == lines(tmp_path / "b", nudged)
    monkeypatch.setattr(profiles, "_at_printed_precision", lambda values, decimals: values)
    assert lines(tmp_path / "c", base) != lines(tmp_path / "d", nudged)


def test_pyramid_shows_the_published_counts_and_marks_suppressed_cells(rendered):
    pyramid = pyramid_table()
    for did, _ in DISTRICTS:
        page = page_of(rendered, did)
        assert list(page.bands) == BANDS[::-1]  # the oldest on top
        rows = pyramid[pyramid["district_id"] == did]
        for band, cells in page.bands.items():
            part = rows[rows["age_band"] == band]
            expected = ["*" if f == "*" else format_number(int(c)) for c, f in zip(part["count"], part["flag"])]
            assert cells == expected, (did, band)
        assert page.marks == sum(1 for d, band, c in HIDDEN if d == did)  # one mark per side with a gap
    assert page_of(rendered, "03").bands["80+"][0] == "*"


def test_district_type_is_read_from_the_published_label_column(rendered):
    published = published_tables()[-1]
    types = district_types_de(published)
    words = published.set_index(["district_id", "indicator"])["value_de"]
    assert types["01"] == words[("01", "milieu_type")] and types["01"]
    assert types["03"] == "x" and types["city"] == "x"
    assert page_of(rendered, "01").facts["Quartierstyp"] == types["01"]
    # the label column is what is shown: a relabelled published table shows the new words
    relabelled = published.copy()
    relabelled["value_de"] = relabelled["value_de"].mask(relabelled["indicator"] == "milieu_type", "Typ A")
    assert district_types_de(relabelled)["02"] == "Typ A"


def test_file_names_from_ids_are_safe_and_distinct():
    assert profile_file_name("01") == "01.html" and profile_file_name("kl-3_a") == "kl-3_a.html"
    hostile = ["=1+1", "+2", "-3", "@4", "$5$", "<i>6", "</svg>7", "../../etc/passwd", "\t9", "A", "a", "index",
               "CON", "con", "Straße", "x" * 300, "01/02", "..", ".", "", "01--0123456789ab"]
    names = [profile_file_name(i) for i in hostile]
    assert len(set(n.lower() for n in names)) == len(hostile)  # distinct even where case does not count
    for name in names:
        assert re.fullmatch(r"[a-z0-9_-]{1,40}\.html", name), name
        assert name.lower() not in ("index.html", "con.html")
    assert profile_file_name("a") == "a.html" and profile_file_name("A") != "a.html"
    # the naive name (the id itself) would leave the folder
    folder = Path("/srv/reports/2024-12-31/profile")
    assert not (folder / "../../etc/passwd.html").resolve().is_relative_to(folder)
    assert (folder / profile_file_name("../../etc/passwd")).resolve().parent == folder


def test_hostile_names_stay_text(tmp_path):
    tables = published_tables()
    name = "<script>alert(1)</script>\u202e"
    for table in tables:
        table["district_name"] = table["district_name"].mask(table["district_id"] == "02", name)
    render(tmp_path, tables)
    html = (tmp_path / PROFILE_DIR / profile_file_name("02")).read_text(encoding="utf-8")
    assert "<script" not in html and "\u202e" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\u202e" in html
    overview = (tmp_path / PROFILE_DIR / OVERVIEW_FILE).read_text(encoding="utf-8")
    assert "<script" not in overview and "&lt;script&gt;" in overview


def test_pages_are_self_contained_and_reruns_identical(rendered, tmp_path):
    render(tmp_path)
    for path in sorted((rendered / PROFILE_DIR).iterdir()):
        html = path.read_text(encoding="utf-8")
        assert "<script" not in html and "http://" not in html and "https://" not in html and "src=" not in html
        assert path.read_bytes() == (tmp_path / PROFILE_DIR / path.name).read_bytes()


def test_missing_profile_fails_the_completeness_check(tmp_path, monkeypatch):
    from quarterstats.stages import PUBLICATION_FILES, PUBLICATION_TABLES, publication_files_check

    published = published_tables()[-1]
    outputs = render(tmp_path)
    for stem in PUBLICATION_TABLES:
        for kind in (".parquet", ".csv", "_de.csv"):
            outputs.append(tmp_path / f"{stem}{kind}")
    outputs += [tmp_path / name for name in PUBLICATION_FILES]
    for path in outputs:
        if not path.exists():
            path.write_text("x")
    assert publication_files_check(tmp_path, outputs, published)[0]
    victim = tmp_path / PROFILE_DIR / profile_file_name("02")
    # deleted after writing: on the list, not in the folder
    victim.unlink()
    passed, text = publication_files_check(tmp_path, outputs, published)
    assert not passed and profile_file_name("02") in text
    # never written at all: neither on the list nor in the folder
    passed, text = publication_files_check(tmp_path, [p for p in outputs if p != victim], published)
    assert not passed and f"not written: {PROFILE_DIR}/{profile_file_name('02')}" in text
    # without the list of required profiles the folder and the list of written files agree: it would pass
    monkeypatch.setattr(profiles, "profile_files", lambda table: [])
    assert publication_files_check(tmp_path, [p for p in outputs if p != victim], published)[0]


def test_report_and_index_link_the_profiles(tmp_path):
    from test_report import DATE2, meta_for, segregation_table, write_figures
    from test_report import published_table as report_table

    from quarterstats.report import render_report

    links = profile_links(report_table(DATE2))
    page = render_report(report_table(DATE2), segregation_table(), write_figures(tmp_path), meta_for(DATE2),
                         tmp_path, profiles=links)
    html = page.read_text(encoding="utf-8")
    assert 'id="stadtteilprofile"' in html
    for link in links:
        assert f'href="{link["href"]}"' in html
    assert "Nord &amp; Süd &lt;West&gt;" in html
    plain = render_report(report_table(DATE2), segregation_table(), write_figures(tmp_path), meta_for(DATE2),
                          tmp_path).read_text(encoding="utf-8")
    assert 'id="stadtteilprofile"' not in plain
    index = render_index(tmp_path, [{"reference_date": DATE2, "report": "2024-12-31/bericht.html", "files": [],
                                     "profiles": f"2024-12-31/{PROFILE_DIR}/{OVERVIEW_FILE}"}])
    assert f'href="2024-12-31/{PROFILE_DIR}/{OVERVIEW_FILE}"' in index.read_text(encoding="utf-8")


@pytest.mark.slow
def test_450_districts_over_nine_dates(tmp_path):
    """The size of a large city (the time it takes is measured in docs/performance.md, not here)."""
    ids = [f"{k:03d}" for k in range(1, 451)]
    dates = [date(2016 + k, 12, 31) for k in range(9)]
    rng = np.random.default_rng(7)
    tables = []
    for k, day in enumerate(dates):
        frame = pd.DataFrame({
            "reference_date": day,
            "district_id": np.repeat(ids + ["city"], len(IDS)),
            "district_name": np.repeat([f"Bezirk {i}" for i in ids] + ["Stadt insgesamt"], len(IDS)),
            "indicator": IDS * (len(ids) + 1),
            "value": rng.uniform(1, 100, (len(ids) + 1) * len(IDS)),
            "flag": "",
        })
        frame["kind"] = frame["indicator"].map(lambda i: CATALOGUE[i].kind)
        frame["change_previous"] = frame["change_baseline"] = 0.5
        tables.append(frame)
    pyramid = pd.DataFrame([{"district_id": d, "age_band": band, "age_band_order": b, "sex": s, "mh": m,
                             "count": 10 + b, "flag": ""} for d in ids for b, band in enumerate(BANDS)
                            for s, m in CELLS])
    written = render_profiles(tables[-1], pd.concat(tables, ignore_index=True), pyramid,
                              {**meta(), "reference_date": dates[-1], "previous_reference_date": dates[-2],
                               "baseline_reference_date": dates[0]}, tmp_path)
    assert len(written) == 451 and len({p.name for p in written}) == 451
    page = page_of(tmp_path, "450")
    assert set(page.rows) == set(IDS)
    assert all(title.count("31.12.") == 9 for title in page.trends.values())
    assert all(len(points[0].split()) == 9 for points in page.polylines.values())


# ------------------------------------------------------------------------------------------- printing
def _chromium():
    from test_report import _chromium as find

    return find()


@pytest.mark.slow
def test_each_profile_prints_on_one_a4_page(tmp_path):
    from test_report import _run_chromium

    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary found (Debian: apt-get install -y chromium)")
    tables = published_tables()
    long_name = "Innenstadt-Nordwest mit Hauptbahnhof, Universitätsviertel und Alter Schlachthof am Kanal"
    for table in tables:
        table["district_name"] = table["district_name"].mask(table["district_id"] == "02", long_name)
        table["district_name"] = table["district_name"].mask(table["district_id"] == "01", "Langer Name " * 40)
    # the longest protection text there is: the legal floor lowered, with its reason
    from quarterstats.disclosure.config import DisclosureConfig

    protection = DisclosureConfig(min_count=2, allow_below_legal_floor=True, legal_floor_reason=(
        "Sondergenehmigung des Statistischen Landesamts für die Auswertung kleiner Fallzahlen")).describe_de()
    assert len(protection) > 800
    render(tmp_path, tables, protection_de=protection)
    for did in ("01", "02", "03"):
        page = tmp_path / PROFILE_DIR / profile_file_name(did)
        pdf = tmp_path / f"{did}.pdf"
        _run_chromium(binary, tmp_path / f"profile-{did}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                      page.resolve().as_uri())
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF")
        assert len(re.findall(rb"/Type\s*/Page(?![s\w])", data)) == 1, did


def test_pages_are_written_all_or_nothing(tmp_path):
    """atomic.write_texts: a failure before the moves leaves every earlier file as it was, and no
    temporary file; writing one file after the other would have replaced the first already."""
    from quarterstats import atomic

    first, second = tmp_path / "a.html", tmp_path / "b.html"
    first.write_text("alt"), second.write_text("alt")
    with pytest.raises(UnicodeEncodeError):
        atomic.write_texts({first: "neu", second: "kaputt \ud800"})
    assert first.read_text() == "alt" and second.read_text() == "alt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html"]
    with pytest.raises(UnicodeEncodeError):
        for path, text in {first: "neu", second: "kaputt \ud800"}.items():
            atomic.write_text(text, path)
    assert first.read_text() == "neu"
    assert atomic.write_texts({first: "eins", second: "zwei"}) == [first, second]
    assert (first.read_text(), second.read_text()) == ("eins", "zwei")


def test_the_profile_group_is_declared_in_every_catalogue():
    from quarterstats.catalogue import IndicatorParameters, build_catalogue

    for params in (IndicatorParameters(), IndicatorParameters(age_group_lower_bounds=(0, 3, 6, 10, 16, 18, 21, 30,
                                                                                        50, 60, 75))):
        catalogue = build_catalogue(params)
        group = catalogue.groups["profile"]
        assert group and all(i in catalogue for i in group)
        assert len(group) <= 12  # what one A4 page holds next to the pyramid
