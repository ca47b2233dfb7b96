"""The interactive district map ``karte.html``: pick an indicator and a reference date, read each district's value.

One self-contained HTML file per publication, written beside the report (``reports/<date>/karte.html``,
that reference date) and over all published dates beside the index (``reports/karte.html``). It works offline and from ``file://``: no map tiles, no library, no network
access; the page holds

* the districts as **SVG paths**, projected and simplified here (EPSG:25832, north up, a view box
  :data:`VIEW_WIDTH` units wide). The polygons are simplified as one coverage
  (``shapely.coverage_simplify``, tolerance :data:`SIMPLIFY_UNITS` view units), so that neighbouring
  districts keep exactly one shared edge: no gaps or slivers appear between them. Where the polygons do
  not form a valid coverage (overlaps, gaps), each is simplified on its own with its topology preserved;
* the values as one JSON document in a ``<script type="application/json">`` block: per indicator (the
  catalogue group :data:`MAP_GROUP`) and reference date, the text each district's cell shows in the
  published tables (German format at the tables' precision, :func:`quarterstats.catalogue.display_decimals`;
  ``*`` suppressed for confidentiality, ``x`` not available, ``.`` unknown: :mod:`quarterstats.signs`)
  and its class. Only the protected, published long table (``indikatoren.parquet``) is read, and no
  value leaves at more than the tables' precision;
* the classes of the static maps (:func:`quarterstats.figures.maps.classify`: Fisher–Jenks, k = 5, per
  indicator and date) with their legend texts (:func:`quarterstats.figures.maps.class_labels`) and the
  colour-blind-safe sequential ColorBrewer ramp of the static maps
  (:func:`quarterstats.figures.style.sequential_colours`); suppressed districts hatched grey, districts
  without a value dotted white, as in the static maps;
* a small script of its own (``templates/webmap.js``, inline) that colours the districts, shows a
  district's name and value on hover, tap or keyboard focus, and fills the table of the selected
  indicator and date beside the map (sortable by each column).

Accessibility: every district is focusable (``tabindex``, ``role="img"``, an ``aria-label`` with its name
and value), the two selects carry labels, focus is clearly visible, a link skips the districts to the
table, and the table holds the same values as the map.

Delivered text stays text (:mod:`quarterstats.safe_text`): the page is rendered with autoescape and
:func:`~quarterstats.safe_text.html_text`; in the JSON every ``<``, ``>`` and ``&`` is written as a
``\\u`` escape (:func:`script_json`), so a district name cannot end the script block, and the script puts
names into the page only as text (``textContent``, ``setAttribute``), never as markup. A
Content-Security-Policy allows no script but the page's own (by its SHA-256 hash) and no network access.
The same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import geopandas as gpd
import markupsafe
import numpy as np
import pandas as pd
import shapely

from quarterstats import atomic
from quarterstats.catalogue import CATALOGUE, Indicator, display_decimals
from quarterstats.indicators.common import CITY_ID
from quarterstats.figures.inputs import district_frame
from quarterstats.figures.maps import class_labels, classify
from quarterstats.figures.style import (
    MISSING_FACE, NO_VALUE_DE, SUPPRESSED_DE, SUPPRESSED_FACE, format_date, sequential_colours,
)
from quarterstats.report import format_number
from quarterstats.safe_text import html_text
from quarterstats.signs import NOT_AVAILABLE, SUPPRESSED, UNKNOWN

__all__ = ["MAP_FILE", "MAP_GROUP", "MapGeometry", "district_paths", "map_data", "render_map_page",
           "script_json"]

#: File name of the map page, in a date's folder and in ``reports/``.
MAP_FILE = "karte.html"
#: Catalogue group of the indicators the map offers (in the order of the select).
MAP_GROUP = "interactive_map"
#: Width of the SVG view box; the height follows the city's extent.
VIEW_WIDTH = 1000.0
#: Simplification tolerance in view units (about one screen pixel at the page's usual size).
SIMPLIFY_UNITS = 0.8
#: Grid the coordinates are snapped to before the coverage is checked (metres; far below a pixel).
SNAP_METRES = 0.001
#: Decimals of the path coordinates (view units).
COORDINATE_DECIMALS = 1
#: Class codes of a district without a class (the legend's last entries).
CLASS_SUPPRESSED, CLASS_NOT_AVAILABLE, CLASS_UNKNOWN = -1, -2, -3

_TEMPLATE = "webmap.html.j2"
_SCRIPT = Path(__file__).with_name("templates") / "webmap.js"
_SIGN_CLASSES = {SUPPRESSED: CLASS_SUPPRESSED, NOT_AVAILABLE: CLASS_NOT_AVAILABLE, UNKNOWN: CLASS_UNKNOWN}
UNKNOWN_DE = "Zahlenwert unbekannt"


# ------------------------------------------------------------------------------------------ geometry
@dataclass(frozen=True)
class MapGeometry:
    """The districts as SVG paths (natural id order) in a view box ``width`` × ``height``."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    paths: tuple[str, ...]
    width: float
    height: float
    method: str  # "coverage" or "per_polygon": how the polygons were simplified


def _noded(geoms: np.ndarray) -> np.ndarray:
    """The polygons rebuilt from their boundaries noded together, so that neighbours have the same
    vertices along a shared edge (a delivery often has a vertex on one side only); each face goes to the
    first district that contains it, faces of no district (gaps) are left out."""
    lines = shapely.get_parts(shapely.union_all(shapely.boundary(geoms)))
    faces = shapely.get_parts(shapely.polygonize(lines))
    if faces.size == 0:
        return geoms
    points = shapely.point_on_surface(faces)
    hits = shapely.STRtree(geoms).query(points, predicate="within")  # (face, district) pairs
    owner = np.full(faces.size, -1)
    order = np.lexsort((hits[1], hits[0]))
    pairs = hits[:, order]
    first = np.r_[True, pairs[0, 1:] != pairs[0, :-1]]
    owner[pairs[0, first]] = pairs[1, first]
    rebuilt = np.array(geoms, dtype=object)
    owners, counts = np.unique(owner[owner >= 0], return_counts=True)
    single = owners[counts == 1]
    rebuilt[single] = faces[np.isin(owner, single)][np.argsort(owner[np.isin(owner, single)], kind="stable")]
    for district in owners[counts > 1]:  # loops over the districts cut into several faces
        rebuilt[district] = shapely.coverage_union_all(faces[owner == district])
    return rebuilt


def _simplify(geoms: np.ndarray, tolerance: float) -> tuple[np.ndarray, str]:
    """The polygons simplified as one coverage (shared edges stay shared), else one by one."""
    simplified, method = None, "per_polygon"
    if tolerance > 0 and len(geoms) > 1:
        # shared edges whose coordinates differ by rounding noise match once snapped to a millimetre
        # grid; vertices on one side only (T-junctions) need the noding
        for repair in (lambda g: shapely.set_precision(g, SNAP_METRES), _noded):
            if bool(shapely.coverage_is_valid(geoms)):
                break
            geoms = repair(geoms)
        if bool(shapely.coverage_is_valid(geoms)):
            simplified, method = shapely.coverage_simplify(geoms, tolerance), "coverage"
    if simplified is None:
        simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
    # a district that would vanish (smaller than the tolerance) keeps its own outline
    lost = shapely.is_empty(simplified) | (shapely.area(simplified) <= 0)
    simplified = np.where(lost, geoms, simplified)
    return simplified, method


def district_paths(districts: gpd.GeoDataFrame, width: float = VIEW_WIDTH,
                   tolerance_units: float = SIMPLIFY_UNITS) -> MapGeometry:
    """The districts projected into a view box ``width`` wide (north up) and simplified, as SVG path data
    ("M x y L … Z" per ring, absolute coordinates with :data:`COORDINATE_DECIMALS` decimals)."""
    frame = district_frame(districts)
    geoms = shapely.make_valid(frame.geometry.to_numpy())
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    extent = max(maxx - minx, maxy - miny)
    if not np.isfinite(extent) or extent <= 0:
        raise ValueError("the districts have no extent to draw")
    scale = width / (maxx - minx) if maxx > minx else width / extent
    simplified, method = _simplify(geoms, tolerance_units / scale)
    height = float(np.round((maxy - miny) * scale, COORDINATE_DECIMALS))

    # every ring of every district at once: coordinates, their ring and the ring's district
    parts, part_owner = shapely.get_parts(simplified, return_index=True)
    parts, inner = shapely.get_parts(parts, return_index=True)  # a collection from make_valid may nest
    part_owner = part_owner[inner]
    polygons = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON.value
    parts, part_owner = parts[polygons], part_owner[polygons]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of_point = shapely.get_coordinates(rings, return_index=True)
    ring_owner = part_owner[ring_part]
    x = np.round((coords[:, 0] - minx) * scale, COORDINATE_DECIMALS)
    y = np.round((maxy - coords[:, 1]) * scale, COORDINATE_DECIMALS)
    # a ring is closed: its last point repeats the first, "Z" draws that segment
    last_of_ring = np.r_[ring_of_point[1:] != ring_of_point[:-1], True]
    first_of_ring = np.r_[True, ring_of_point[1:] != ring_of_point[:-1]]
    keep = ~last_of_ring
    text = np.char.add(np.char.add(np.where(first_of_ring, "M", "L"), _numbers(x)), np.char.add(" ", _numbers(y)))
    text = np.where(np.r_[last_of_ring[1:], False] & keep, np.char.add(text, "Z"), text)
    owner_of_point = ring_owner[ring_of_point]
    paths = [""] * len(frame)
    kept_owner, kept_text = owner_of_point[keep], text[keep]
    starts = np.flatnonzero(np.r_[True, kept_owner[1:] != kept_owner[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], kept_owner.size]):  # loops over districts
        paths[int(kept_owner[start])] = "".join(kept_text[start:stop].tolist())
    return MapGeometry(tuple(frame["district_id"].tolist()), tuple(frame["name"].tolist()), tuple(paths),
                       float(width), height, method)


def _numbers(values: np.ndarray) -> np.ndarray:
    """Coordinates as short text: "12.5", "7" (no trailing ".0"), never "-0"."""
    text = np.char.mod(f"%.{COORDINATE_DECIMALS}f", values + 0.0)
    if COORDINATE_DECIMALS > 0:
        text = np.char.rstrip(np.char.rstrip(text, "0"), ".")
    return np.where(text == "-0", "0", text)


# ---------------------------------------------------------------------------------------------- values
def _indicators(series: pd.DataFrame, catalogue: Mapping[str, Indicator]) -> list[str]:
    groups = getattr(catalogue, "groups", CATALOGUE.groups)
    wanted = groups.get(MAP_GROUP) or groups["maps"]
    present = set(series["indicator"].astype(str))
    return [i for i in wanted if i in present and (i not in catalogue or catalogue[i].kind != "class")]


def _cell_texts(values: np.ndarray, flags: np.ndarray, decimals: int) -> list[str]:
    """The published cell of each value: German number at the tables' precision, else its sign."""
    return [flag if flag else (NOT_AVAILABLE if not np.isfinite(v) else format_number(v, decimals))
            for v, flag in zip(values.tolist(), flags.tolist())]  # loops over districts


def _one_map(values: np.ndarray, flags: np.ndarray, unit: str, decimals: int) -> dict[str, Any]:
    """Texts, classes and legend of one indicator at one date (districts in map order)."""
    ok = (flags == "") & np.isfinite(values)
    flags = np.where(~ok & (flags == ""), NOT_AVAILABLE, flags)
    codes = np.array([_SIGN_CLASSES.get(f, CLASS_NOT_AVAILABLE) for f in flags.tolist()], dtype=np.int64)
    legend: list[dict[str, Any]] = []
    classes = classify(values[ok])
    if classes is not None:
        codes[ok] = classes.yb
        colours = sequential_colours(classes.k)
        counts = classes.counts.tolist()
        legend = [{"label": label, "colour": colour, "n": int(n)}
                  for label, colour, n in zip(class_labels(classes, unit), colours, counts)]
        method = f"{classes.method_de}, {classes.k} {'Klasse' if classes.k == 1 else 'Klassen'}"
    else:
        method = "keine Klassen (kein Bezirk mit Wert)"
    return {"t": _cell_texts(values, flags, decimals), "c": codes.tolist(), "legend": legend, "method": method,
            "n": {"*": int((codes == CLASS_SUPPRESSED).sum()), "x": int((codes == CLASS_NOT_AVAILABLE).sum()),
                  ".": int((codes == CLASS_UNKNOWN).sum())}}


def map_data(series: pd.DataFrame, geometry: MapGeometry,
             catalogue: Mapping[str, Indicator] = CATALOGUE) -> dict[str, Any]:
    """The page's JSON document: districts, dates, indicators and per indicator and date the published
    texts, classes and legend (see module)."""
    table = series.assign(district_id=series["district_id"].astype(str), indicator=series["indicator"].astype(str),
                          reference_date=pd.to_datetime(series["reference_date"]).dt.date)
    indicators = _indicators(table, catalogue)
    dates = sorted(set(table["reference_date"]))
    table = table[table["indicator"].isin(indicators)]
    ids = list(geometry.ids)
    # one array of values and one of flags: indicator × date × area (the districts in map order, the city
    # last); an area without a row is "x"
    shape = (len(indicators), len(dates), len(ids) + 1)
    at = (pd.Index(indicators).get_indexer(table["indicator"]), pd.Index(dates).get_indexer(table["reference_date"]),
          pd.Index([*ids, CITY_ID]).get_indexer(table["district_id"]))
    known = at[2] >= 0
    at = tuple(a[known] for a in at)
    values = np.full(shape, np.nan)
    values[at] = pd.to_numeric(table["value"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)[known]
    flags = np.full(shape, NOT_AVAILABLE, dtype=object)
    flags[at] = (table["flag"].astype("string").fillna("").str.strip().to_numpy(dtype=object)[known]
                 if "flag" in table.columns else "")
    cells: dict[str, dict[str, Any]] = {}
    info = []
    for n, indicator in enumerate(indicators):
        entry = catalogue.get(indicator)
        rows = table[table["indicator"] == indicator]
        label = _last_text(rows, "label_de", entry.label_de if entry else indicator)
        unit = _last_text(rows, "unit", entry.unit if entry else "")
        decimals = display_decimals(entry) if entry is not None else 1
        decimals = 1 if decimals is None else decimals
        info.append({"id": indicator, "label": label, "unit": unit,
                     "definition": entry.definition_de if entry else ""})
        per_date = {}
        for m, day in enumerate(dates):
            one = _one_map(values[n, m, :-1], flags[n, m, :-1], unit, decimals)
            one["city"] = _cell_texts(values[n, m, -1:], flags[n, m, -1:], decimals)[0]
            per_date[day.isoformat()] = one
        cells[indicator] = per_date
    names = _names(table, geometry)
    return {
        "districts": [{"id": i, "name": n} for i, n in zip(ids, names)],
        "dates": [{"iso": d.isoformat(), "label": format_date(d)} for d in dates],
        "indicators": info,
        "cells": cells,
        "signs": {"*": {"label": SUPPRESSED_DE, "fill": SUPPRESSED_FACE},
                  "x": {"label": NO_VALUE_DE, "fill": MISSING_FACE},
                  ".": {"label": UNKNOWN_DE, "fill": MISSING_FACE}},
    }


def _last_text(rows: pd.DataFrame, column: str, default: str) -> str:
    """The column's text at the newest date (as published), else ``default``."""
    if column not in rows.columns or not rows[column].notna().any():
        return default
    return str(rows[column].dropna().iloc[-1])


def _names(table: pd.DataFrame, geometry: MapGeometry) -> list[str]:
    """Each district's name as published at the newest date, else the boundary file's."""
    if "district_name" not in table.columns or table.empty:
        return [str(html_text(n)) for n in geometry.names]
    newest = table.sort_values("reference_date", kind="stable").drop_duplicates("district_id", keep="last")
    lookup = newest.set_index("district_id")["district_name"]
    named = lookup.reindex(list(geometry.ids))
    return [str(html_text(n if isinstance(n, str) and n.strip() else fallback))
            for n, fallback in zip(named.tolist(), geometry.names)]


# -------------------------------------------------------------------------------------------- the page
#: Characters written as ``\\u`` escapes inside the JSON block: nothing can close the script element
#: (``</script``), open a comment (``<!--``) or be read as a character reference; U+2028/U+2029 for
#: older script parsers.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> markupsafe.Markup:
    """``data`` as JSON that can stand inside ``<script type="application/json">`` whatever its strings
    hold: ASCII only, ``<``, ``>`` and ``&`` as ``\\u`` escapes, no ``</`` anywhere."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=False, allow_nan=False)
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return markupsafe.Markup(text)


def _script() -> str:
    text = _SCRIPT.read_text(encoding="utf-8")
    if not text.isascii() or "</" in text:
        raise ValueError(f"{_SCRIPT.name} must be ASCII and hold no '</' (it is inlined in a script element)")
    return text


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def render_map_page(series: pd.DataFrame, districts: gpd.GeoDataFrame, target: Path, *,
                    city_name: str = "", source: str = "", links: Sequence[tuple[str, str]] = (),
                    catalogue: Mapping[str, Indicator] = CATALOGUE,
                    geometry: MapGeometry | None = None) -> Path:
    """Write the map page of the published ``series`` (the long tables of one or more reference dates,
    stacked) to ``target``.

    Args:
        series: published long tables (``reference_date, district_id, district_name, indicator, label_de,
            unit, value, flag``), after disclosure control.
        districts: the district polygons of the published tables (``district_id``, ``name``, geometry).
        target: the file to write (``reports/<date>/karte.html`` or ``reports/karte.html``).
        city_name, source: shown in the title and the source line.
        links: (relative href, German text) of pages to go back to (report, index).
        catalogue: the run's catalogue (its group :data:`MAP_GROUP` lists the indicators).
        geometry: the districts as paths, when already computed.
    """
    from quarterstats.report import _environment

    geometry = geometry or district_paths(districts)
    data = map_data(series, geometry, catalogue)
    if not data["indicators"] or not data["dates"]:
        raise ValueError("the map page needs at least one published indicator of its group and one date")
    script = _script()
    newest = data["dates"][-1]
    html = _environment().get_template(_TEMPLATE).render(
        city_name=city_name, source=source, links=[{"href": h, "text": t} for h, t in links],
        geometry=geometry, districts=data["districts"], dates=data["dates"], indicators=data["indicators"],
        newest=newest, data=script_json(data), script=markupsafe.Markup(script), csp=_csp(script),
        view_box=f"0 0 {_plain(geometry.width)} {_plain(geometry.height)}",
        suppressed_de=SUPPRESSED_DE, no_value_de=NO_VALUE_DE,
    )
    return atomic.write_text(html, Path(target))


def _plain(value: float) -> str:
    return _numbers(np.array([value]))[0]
