"""The interactive map karte.html (quarterstats.webmap): geometry, classes, published texts, inert names,
and — in a real headless Chromium — that choosing an indicator recolours the map, that hover, tap and
keyboard focus show a district's value, that a suppressed value shows as "*", and that hostile names stay
text. The browser tests skip where no Chromium is installed (Debian: apt-get install -y chromium)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cdp import Chromium, chromium_binary
from quarterstats.catalogue import CATALOGUE
from quarterstats.figures.maps import class_labels, classify
from quarterstats.figures.style import sequential_colours
from quarterstats.webmap import (
    CLASS_NOT_AVAILABLE, CLASS_SUPPRESSED, MAP_FILE, MAP_GROUP, district_paths, map_data, render_map_page,
    script_json,
)

ORIGIN = (410_000.0, 5_477_000.0)
SIDE = 1_000.0
DATES = (date(2023, 12, 31), date(2024, 12, 31))
#: Names that attack a page: markup, a script end inside the JSON, a comment opener, an entity, quotes,
#: a bidirectional override and a terminal escape.
HOSTILE = ("</script><script>window.__pwned=1</script>", "<img src=x onerror=\"window.__pwned=2\">",
           "<!--", "&amp; &lt;b&gt;", "\"' onfocus=window.__pwned=3 x='", "Nord\u202eSüd\x1b[31m")


def grid(n_cols: int, n_rows: int, names=None, wiggle: bool = False) -> gpd.GeoDataFrame:
    """Square districts (ids 01, 02, … row by row from the south-west); with ``wiggle`` the vertical
    edges are zigzag lines of many vertices, shared exactly by both neighbours."""
    ids, geoms = [], []
    width = max(2, len(str(n_cols * n_rows)))

    def xs(col: int, y0: float) -> list[tuple[float, float]]:  # the vertical edge at column line ``col``
        base = ORIGIN[0] + col * SIDE
        steps = np.linspace(y0, y0 + SIDE, 41)
        amp = 0.0 if not wiggle or col in (0, n_cols) else 8.0
        return [(base + amp * (1 if k % 2 else -1) * (0 < k < 40), y) for k, y in enumerate(steps)]

    for row in range(n_rows):
        for col in range(n_cols):
            y0 = ORIGIN[1] + row * SIDE
            left, right = xs(col, y0), xs(col + 1, y0)
            ring = [left[0], *right, *left[::-1][:-1]]
            geoms.append(shapely.Polygon(ring))
            ids.append(f"{len(ids) + 1:0{width}d}")
    names = list(names) if names is not None else [f"Bezirk {i}" for i in ids]
    return gpd.GeoDataFrame({"district_id": ids, "name": names[:len(ids)]}, geometry=geoms, crs="EPSG:25832")


def published(districts: gpd.GeoDataFrame, values: dict[str, list[float]], day: date,
              flags: dict[tuple[str, str], str] | None = None, city: dict[str, float] | None = None) -> pd.DataFrame:
    """A published long table (the columns of indikatoren.parquet the map reads)."""
    rows = []
    ids, names = districts["district_id"].tolist(), districts["name"].tolist()
    for indicator, column in values.items():
        entry = CATALOGUE[indicator]
        for district, name, value in [*zip(ids, names, column), ("city", "Stadt insgesamt", (city or {}).get(indicator))]:
            flag = (flags or {}).get((district, indicator), "")
            rows.append({"reference_date": day, "district_id": district, "district_name": name, "indicator": indicator,
                         "label_de": entry.label_de, "unit": entry.unit, "kind": entry.kind,
                         "value": np.nan if flag or value is None else float(value), "flag": flag})
    frame = pd.DataFrame(rows)
    for column in ("district_id", "district_name", "indicator", "label_de", "unit", "kind", "flag"):
        frame[column] = frame[column].astype("string")
    return frame


@pytest.fixture(scope="module")
def city():
    """Six districts (3 × 2), two dates, two indicators with opposite orders, one suppressed and one
    missing value, and hostile names."""
    districts = grid(3, 2, names=HOSTILE)
    first = published(districts, {"foreign_share": [5.04, 10.0, 15.0, 20.0, 25.0, 30.0],
                                  "pop": [3000, 2500, 2000, 1500, 1000, 500]}, DATES[0], city={"pop": 10_500})
    second = published(districts, {"foreign_share": [6.0, 11.0, 16.0, 21.0, 26.0, 31.0],
                                   "pop": [3100, 2400, 2100, 1400, 1100, 400]}, DATES[1],
                       flags={("02", "foreign_share"): "*", ("05", "foreign_share"): "x"},
                       city={"foreign_share": 18.46, "pop": 10_500})
    return districts, pd.concat([first, second], ignore_index=True)


@pytest.fixture(scope="module")
def page(city, tmp_path_factory) -> Path:
    districts, series = city
    target = tmp_path_factory.mktemp("karte") / MAP_FILE
    return render_map_page(series, districts, target, city_name="Teststadt", source="Testquelle",
                           links=[("index.html", "Alle Stichtage")])


# ------------------------------------------------------------------------------------------- geometry
def _path_points(d: str) -> list[list[tuple[float, float]]]:
    rings = []
    for ring in re.findall(r"M[^MZ]*Z", d):
        rings.append([tuple(map(float, p.split())) for p in re.findall(r"[ML]([-\d. ]+)", ring)])
    return rings


def test_paths_are_projected_north_up_into_the_view_box():
    districts = grid(3, 2)
    geometry = district_paths(districts, width=300)
    assert geometry.ids == ("01", "02", "03", "04", "05", "06") and geometry.height == 200.0
    first, last = _path_points(geometry.paths[0])[0], _path_points(geometry.paths[-1])[0]
    # 01 is the south-west square: bottom left of the picture (y grows downwards); 06 the north-east
    assert {(0.0, 200.0), (100.0, 100.0)} <= set(first) and {(300.0, 0.0), (200.0, 100.0)} <= set(last)
    for d in geometry.paths:
        for ring in _path_points(d):
            assert all(0 <= x <= 300 and 0 <= y <= 200 for x, y in ring)


def test_holes_and_multipolygons_become_rings_of_one_path():
    square = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 3 * SIDE, ORIGIN[1] + 3 * SIDE)
    hole = shapely.box(ORIGIN[0] + SIDE, ORIGIN[1] + SIDE, ORIGIN[0] + 2 * SIDE, ORIGIN[1] + 2 * SIDE)
    islands = shapely.MultiPolygon([hole, shapely.box(ORIGIN[0] + 3 * SIDE, ORIGIN[1], ORIGIN[0] + 4 * SIDE,
                                                      ORIGIN[1] + SIDE)])
    districts = gpd.GeoDataFrame({"district_id": ["1", "2"], "name": ["Ring", "Inseln"]},
                                 geometry=[square.difference(hole), islands], crs="EPSG:25832")
    geometry = district_paths(districts)
    assert geometry.paths[0].count("M") == 2 and geometry.paths[1].count("M") == 2
    assert geometry.method == "coverage"


def two_neighbours() -> gpd.GeoDataFrame:
    """Two 1 km districts whose shared edge is an irregular line of 81 vertices (a river, say)."""
    t = np.linspace(0.0, 1.0, 81)
    noise = np.random.default_rng(3).normal(0.0, 30.0, t.size) * ((t > 0) & (t < 1))
    edge = list(zip(ORIGIN[0] + SIDE + 120.0 * np.sin(3 * np.pi * t) + noise, ORIGIN[1] + SIDE * t))
    left = shapely.Polygon([ORIGIN, *edge, (ORIGIN[0], ORIGIN[1] + SIDE)])
    right = shapely.Polygon([*edge, (ORIGIN[0] + 2 * SIDE, ORIGIN[1] + SIDE), (ORIGIN[0] + 2 * SIDE, ORIGIN[1])])
    return gpd.GeoDataFrame({"district_id": ["1", "2"], "name": ["West", "Ost"]}, geometry=[left, right],
                            crs="EPSG:25832")


def test_simplification_keeps_shared_edges_shared():
    """Simplified as a coverage, two neighbours still share one edge (no gap, no overlap). Simplifying each
    polygon on its own, the naive way, opens gaps and overlaps between them."""
    districts = two_neighbours()
    tolerance = 20.0  # metres
    geoms = districts.geometry.to_numpy()
    naive = shapely.simplify(geoms, tolerance, preserve_topology=True)
    assert shapely.area(shapely.intersection(naive[0], naive[1])) > 100.0  # the attack on the picture: slivers
    assert shapely.area(shapely.union_all(geoms)) - shapely.area(shapely.union_all(naive)) > 100.0

    # the page's paths: the shared edge has the same vertices on both sides, far fewer than before
    geometry = district_paths(districts, width=200, tolerance_units=tolerance * 200 / (2 * SIDE))
    assert geometry.method == "coverage"
    west, east = (_path_points(d)[0] for d in geometry.paths)
    shared = set(west) & set(east)
    assert len(west) < 60 and 3 <= len(shared) < 60  # from 83 vertices of the delivered ring
    inner_west = {p for p in west if p[0] > 0.5}  # every vertex of West off its outer (x = 0) side ...
    assert inner_west - {(0.0, 0.0), (0.0, 100.0)} <= shared  # ... lies on East as well
    polygons = [shapely.Polygon(ring) for ring in (west, east)]
    assert shapely.area(shapely.intersection(*polygons)) < 1e-6  # no overlap, and no gap:
    assert abs(shapely.area(shapely.union_all(polygons)) - 200 * 100) < 1e-6


def test_boundaries_with_a_vertex_on_one_side_only_are_noded_first():
    """Real boundary files often have a vertex on one neighbour only (a T-junction): not a valid coverage
    as delivered; noded, it is, and the map still shares its edges."""
    big = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 2 * SIDE, ORIGIN[1] + 2 * SIDE)
    small = [shapely.box(ORIGIN[0] + 2 * SIDE, ORIGIN[1] + k * SIDE, ORIGIN[0] + 3 * SIDE, ORIGIN[1] + (k + 1) * SIDE)
             for k in (0, 1)]
    districts = gpd.GeoDataFrame({"district_id": ["1", "2", "3"], "name": ["A", "B", "C"]},
                                 geometry=[big, *small], crs="EPSG:25832")
    assert not shapely.coverage_is_valid(districts.geometry.to_numpy())
    geometry = district_paths(districts, width=300)
    assert geometry.method == "coverage"
    assert (200.0, 100.0) in set(_path_points(geometry.paths[0])[0])  # the junction is now on A too


def test_rounding_noise_on_a_shared_edge_is_snapped_away():
    """Coordinates of a shared edge that differ in the ninth decimal (a reprojection, an export) make
    no valid coverage as delivered; snapped to a millimetre they do, and the edge stays shared."""
    a = shapely.Polygon([ORIGIN, (ORIGIN[0] + SIDE, ORIGIN[1]), (ORIGIN[0] + SIDE + 3e-9, ORIGIN[1] + 500.0),
                         (ORIGIN[0] + SIDE, ORIGIN[1] + SIDE), (ORIGIN[0], ORIGIN[1] + SIDE)])
    b = shapely.Polygon([(ORIGIN[0] + SIDE, ORIGIN[1]), (ORIGIN[0] + 2 * SIDE, ORIGIN[1]),
                         (ORIGIN[0] + 2 * SIDE, ORIGIN[1] + SIDE), (ORIGIN[0] + SIDE, ORIGIN[1] + SIDE),
                         (ORIGIN[0] + SIDE - 3e-9, ORIGIN[1] + 500.0)])
    districts = gpd.GeoDataFrame({"district_id": ["1", "2"], "name": ["A", "B"]}, geometry=[a, b], crs="EPSG:25832")
    assert not shapely.coverage_is_valid(districts.geometry.to_numpy())
    geometry = district_paths(districts, width=200)
    assert geometry.method == "coverage"
    west, east = (set(_path_points(d)[0]) for d in geometry.paths)
    assert {(100.0, 0.0), (100.0, 100.0)} <= west & east


def test_a_district_smaller_than_the_tolerance_keeps_its_outline():
    tiny = shapely.box(ORIGIN[0] + 5_000, ORIGIN[1], ORIGIN[0] + 5_001, ORIGIN[1] + 1)
    big = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 5_000, ORIGIN[1] + 5_000)
    districts = gpd.GeoDataFrame({"district_id": ["1", "2"], "name": ["groß", "winzig"]}, geometry=[big, tiny],
                                 crs="EPSG:25832")
    geometry = district_paths(districts, tolerance_units=50.0)
    assert all(geometry.paths) and all(_path_points(d) for d in geometry.paths)


# --------------------------------------------------------------------------------------------- values
def test_classes_and_legend_are_those_of_the_static_maps(city):
    districts, series = city
    data = map_data(series, district_paths(districts))
    cells = data["cells"]["foreign_share"]["2024-12-31"]
    values = np.array([6.0, 16.0, 21.0, 31.0])  # 02 suppressed, 05 not available
    classes = classify(values)
    ok = [0, 2, 3, 5]
    assert [cells["c"][i] for i in ok] == classes.yb.tolist()
    assert cells["c"][1] == CLASS_SUPPRESSED and cells["c"][4] == CLASS_NOT_AVAILABLE
    assert [e["label"] for e in cells["legend"]] == class_labels(classes, "%")
    assert [e["colour"] for e in cells["legend"]] == sequential_colours(classes.k)
    assert [e["n"] for e in cells["legend"]] == classes.counts.tolist()
    assert cells["n"] == {"*": 1, "x": 1, ".": 0}


def test_values_are_the_published_cells_at_their_precision(city):
    districts, series = city
    data = map_data(series, district_paths(districts))
    first = data["cells"]["foreign_share"]["2023-12-31"]
    assert first["t"][0] == "5,0" and first["city"] == "x"  # 5.04 at one decimal; no city row value: x
    second = data["cells"]["foreign_share"]["2024-12-31"]
    assert second["t"] == ["6,0", "*", "16,0", "21,0", "x", "31,0"] and second["city"] == "18,5"
    assert data["cells"]["pop"]["2024-12-31"]["t"][0] == "3.100"
    assert [i["id"] for i in data["indicators"]] == [i for i in CATALOGUE.groups[MAP_GROUP]
                                                      if i in ("pop", "foreign_share")]
    assert [d["label"] for d in data["dates"]] == ["31.12.2023", "31.12.2024"]
    text = json.dumps(data)
    assert "5.04" not in text and "18.46" not in text  # nothing more precise than the tables


def test_a_district_without_a_row_is_not_available(city):
    districts, series = city
    data = map_data(series[series["district_id"] != "03"], district_paths(districts))
    assert data["cells"]["pop"]["2024-12-31"]["t"][2] == "x"
    assert data["cells"]["pop"]["2024-12-31"]["c"][2] == CLASS_NOT_AVAILABLE


# ------------------------------------------------------------------------------------------ the page
class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def test_script_json_keeps_hostile_names_inside_the_block():
    data = {"districts": [{"id": str(i), "name": name} for i, name in enumerate(HOSTILE)]}
    naive = json.dumps(data, ensure_ascii=False)
    assert "</script>" in naive and "<!--" in naive  # the attack: plain JSON would end the block
    safe = str(script_json(data))
    assert "</" not in safe and "<" not in safe and ">" not in safe and "&" not in safe and safe.isascii()
    assert json.loads(safe) == data


def test_page_holds_only_its_own_elements_and_names_as_text(page):
    html = page.read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(html)
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "kartendaten"}, {}]
    assert not any(tag == "img" for tag, _ in parsed.tags)
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on")]
    assert handlers == []
    data = json.loads(parsed.scripts[0])
    names = [d["name"] for d in data["districts"]]
    assert names[:5] == list(HOSTILE[:5]) and names[5] == "Nord\\u202eSüd\\x1b[31m"  # shown, not obeyed
    labels = [attrs["aria-label"] for tag, attrs in parsed.tags if tag == "path" and attrs.get("class") == "district"]
    assert labels[:5] == list(HOSTILE[:5])  # attribute values, unescaped by the parser: the names themselves
    assert "\u202e" not in html and "\x1b" not in html


def test_content_security_policy_allows_exactly_the_inline_script(page):
    html = page.read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(html)
    policy = next(attrs["content"] for tag, attrs in parsed.tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(parsed.scripts[1].encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy
    assert "http" not in html.replace("http-equiv", "").replace("http://www.w3.org/2000/svg", "")


def test_page_is_byte_identical_on_rerun(city, page, tmp_path):
    districts, series = city
    again = render_map_page(series, districts, tmp_path / MAP_FILE, city_name="Teststadt", source="Testquelle",
                            links=[("index.html", "Alle Stichtage")])
    assert again.read_bytes() == page.read_bytes()


def test_selects_are_labelled_and_districts_focusable(page):
    parsed = _Elements()
    parsed.feed(page.read_text(encoding="utf-8"))
    labels = {attrs.get("for") for tag, attrs in parsed.tags if tag == "label"}
    selects = {attrs["id"] for tag, attrs in parsed.tags if tag == "select"}
    assert selects == {"indikator", "stichtag"} and selects <= labels
    paths = [attrs for tag, attrs in parsed.tags if tag == "path" and attrs.get("class") == "district"]
    assert len(paths) == 6 and all(p["tabindex"] == "0" and p["role"] == "img" and p["aria-label"] for p in paths)


@pytest.mark.slow
def test_450_districts_stay_fast_and_small(tmp_path):
    """450 districts with zigzag edges, 9 dates, every indicator of the map's group."""
    districts = grid(30, 15, wiggle=True)
    rng = np.random.default_rng(7)
    indicators = [i for i in CATALOGUE.groups[MAP_GROUP] if CATALOGUE[i].kind != "class"]
    frames = []
    for year in range(2016, 2025):
        values = {i: rng.gamma(2.0, 10.0, len(districts)).round(3).tolist() for i in indicators}
        frames.append(published(districts, values, date(year, 12, 31)))
    series = pd.concat(frames, ignore_index=True)
    target = render_map_page(series, districts, tmp_path / MAP_FILE)
    size = target.stat().st_size  # its time: docs/performance.md
    assert size < 3_000_000


# ---------------------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium binary found (Debian: apt-get install -y chromium)")
    with Chromium(binary, tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


def _fills(browser) -> list[str]:
    return browser.evaluate("Array.from(document.querySelectorAll('path.district'), p => p.getAttribute('fill'))")


def _choose(browser, select: str, value: str) -> None:
    browser.evaluate(f"(() => {{ const s = document.getElementById({json.dumps(select)}); s.value = "
                     f"{json.dumps(value)}; s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()")


def _centre(browser, index: int) -> tuple[float, float]:
    return tuple(browser.evaluate(
        f"(() => {{ const r = document.querySelectorAll('path.district')[{index}].getBoundingClientRect(); "
        "return [r.left + r.width / 2, r.top + r.height / 2]; })()"))


def _tooltip(browser) -> dict:
    return browser.evaluate("(() => { const t = document.getElementById('tooltip'); return {hidden: t.hidden, "
                            "name: t.querySelector('.name').textContent, value: t.querySelector('.value').textContent};"
                            " })()")


@pytest.mark.slow
def test_choosing_another_indicator_recolours_the_map(browser, page):
    browser.open(page.as_uri())
    assert browser.evaluate("document.getElementById('stichtag').value") == "2024-12-31"
    # with the keyboard: the select of the indicator, arrow down to the next indicator
    assert browser.evaluate("document.getElementById('indikator').value") == "pop"
    people = _fills(browser)
    browser.evaluate("document.getElementById('indikator').focus()")
    browser.key("ArrowDown", "ArrowDown", 40)
    assert browser.evaluate("document.getElementById('indikator').value") == "foreign_share"
    assert _fills(browser) != people
    _choose(browser, "indikator", "foreign_share")
    shares = _fills(browser)
    _choose(browser, "indikator", "pop")
    people = _fills(browser)
    assert shares != people
    # foreign share grows from 01 to 06, the population shrinks: the darkest class swaps ends
    assert people[0] == sequential_colours(5)[-1] and shares[5] == sequential_colours(4)[-1]
    assert browser.evaluate("document.querySelector('#tabelle caption').textContent").startswith("Einwohner")
    _choose(browser, "stichtag", "2023-12-31")
    assert browser.evaluate("document.querySelector('#tabelle tbody').rows[5].cells[2].textContent") == "500"
    assert browser.exceptions() == []


@pytest.mark.slow
def test_hover_tap_and_keyboard_focus_show_the_value(browser, page):
    browser.open(page.as_uri())
    _choose(browser, "indikator", "pop")
    browser.mouse_move(*_centre(browser, 3))
    tip = _tooltip(browser)
    assert not tip["hidden"] and tip["name"] == HOSTILE[3] and tip["value"] == "1.400 Personen"
    browser.mouse_move(2, 2)
    assert _tooltip(browser)["hidden"]
    browser.tap(*_centre(browser, 0))
    assert _tooltip(browser)["value"] == "3.100 Personen"
    # keyboard: Tab from the date select passes the skip link and reaches the districts, in map order
    browser.evaluate("document.getElementById('stichtag').focus()")
    for _ in range(4):
        browser.key("Tab", "Tab", 9)
        if browser.evaluate("document.activeElement.tagName") == "path":
            break
    assert browser.evaluate("document.activeElement.getAttribute('data-index')") == "0"
    assert browser.evaluate("document.activeElement.matches(':focus-visible')")
    # the focused district's outline is drawn on top of its neighbours
    assert browser.evaluate("document.getElementById('hervorhebung').getAttribute('d') === "
                            "document.activeElement.getAttribute('d')")
    tip = _tooltip(browser)
    assert not tip["hidden"] and tip["name"] == HOSTILE[0] and tip["value"] == "3.100 Personen"
    assert browser.evaluate("document.activeElement.getAttribute('aria-label')") == f"{HOSTILE[0]}: 3.100 Personen"
    assert browser.evaluate("document.getElementById('auswahl').textContent") == f"{HOSTILE[0]}: 3.100 Personen"
    browser.key("Tab", "Tab", 9)
    assert _tooltip(browser)["name"] == HOSTILE[1]
    assert browser.exceptions() == []


@pytest.mark.slow
def test_a_suppressed_value_shows_as_star(browser, page):
    browser.open(page.as_uri())
    _choose(browser, "indikator", "foreign_share")
    browser.mouse_move(*_centre(browser, 1))
    assert _tooltip(browser)["value"] == "* \u2013 Wert gesperrt (Geheimhaltung)"
    assert browser.evaluate("document.querySelectorAll('path.district')[1].getAttribute('aria-label')") == \
        f"{HOSTILE[1]}: * \u2013 Wert gesperrt (Geheimhaltung)"
    assert _fills(browser)[1] == "url(#muster-gesperrt)" and _fills(browser)[4] == "url(#muster-ohne)"
    cells = browser.evaluate("Array.from(document.querySelector('#tabelle tbody').rows, r => r.cells[2].textContent)")
    assert cells == ["6,0", "*", "16,0", "21,0", "x", "31,0"]
    legend = browser.evaluate("document.getElementById('legende').textContent")
    assert "* Wert gesperrt (Geheimhaltung) (1)" in legend and "x kein Wert (1)" in legend


@pytest.mark.slow
def test_hostile_names_render_as_text(browser, page):
    browser.open(page.as_uri())
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    assert browser.evaluate("document.scripts.length") == 2 and browser.evaluate("document.images.length") == 0
    names = browser.evaluate("Array.from(document.querySelector('#tabelle tbody').rows, r => r.cells[1].textContent)")
    assert names[:5] == list(HOSTILE[:5])
    for i in range(6):
        browser.mouse_move(*_centre(browser, i))
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    assert browser.evaluate("document.querySelectorAll('#tooltip *').length") == 2  # only its two spans
    assert browser.exceptions() == []


@pytest.mark.slow
def test_table_sorts_by_value(browser, page):
    browser.open(page.as_uri())
    _choose(browser, "indikator", "foreign_share")
    browser.evaluate("document.querySelector('th[data-key=value] button').click()")
    cells = browser.evaluate("Array.from(document.querySelector('#tabelle tbody').rows, r => r.cells[2].textContent)")
    assert cells == ["6,0", "16,0", "21,0", "31,0", "*", "x"]  # signs last
    browser.evaluate("document.querySelector('th[data-key=value] button').click()")
    cells = browser.evaluate("Array.from(document.querySelector('#tabelle tbody').rows, r => r.cells[2].textContent)")
    assert cells[:4] == ["31,0", "21,0", "16,0", "6,0"]
    assert browser.evaluate("document.querySelector('th[data-key=value]').getAttribute('aria-sort')") == "descending"


@pytest.mark.slow
def test_without_escaping_and_policy_the_names_would_run_as_script(browser, city, tmp_path, monkeypatch):
    """The attack of the hostile names is real: with plain JSON in the data block a name ends the block and
    its script runs; the page's policy alone would still stop it (and the escaping alone, see above)."""
    import markupsafe

    from quarterstats import webmap

    districts, series = city
    monkeypatch.setattr(webmap, "script_json", lambda data: markupsafe.Markup(json.dumps(data, ensure_ascii=False)))
    with_policy = render_map_page(series, districts, tmp_path / "with_policy.html")
    monkeypatch.setattr(webmap, "_csp", lambda script: "default-src * 'unsafe-inline'")
    unprotected = render_map_page(series, districts, tmp_path / "unprotected.html")
    browser.open(unprotected.as_uri())
    assert browser.evaluate("window.__pwned") == 1  # the name's <script> ran
    browser.open(with_policy.as_uri())
    assert browser.evaluate("typeof window.__pwned") == "undefined"  # blocked by the Content-Security-Policy
