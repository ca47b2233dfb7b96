"""District maps: choropleths of key indicators, LISA cluster maps and the milieu typology map.

Choropleth classes (mapclassify, Rey, Arribas-Bel & Wolf 2020): natural breaks after Fisher (1958) and
Jenks (``mapclassify.FisherJenks``, k = 5 classes) over the districts with a published value; when there
are fewer than k distinct values, quantiles (``mapclassify.Quantiles``) with one class per distinct value,
empty classes dropped. Class i holds the values in (b_{i−1}, b_i], the first class [min, b_0]; the legend
writes them as "3,1 bis 8,2 %", "über 8,2 bis 12,5 %" (German decimal comma) with the number of districts.

Districts without a value are drawn hatched: suppressed for confidentiality (flag "*", grey "////",
"Wert gesperrt (Geheimhaltung)") or no value at all (white "....", "kein Wert"). Labels (7 pt, white halo):
with up to :data:`MAX_LABELLED_DISTRICTS` districts each district gets its (wrapped) name where it fits
inside the polygon, else its id, and the ids used are listed beside the map; with more districts only ids,
where they fit inside their district and clear of other ids (larger districts first), and the key refers
to the tables for the names. The key beside the map is wrapped to its column and never cut: when it is
taller than the map, the figure grows downwards. A scale bar in km sits below the city (EPSG:25832 is metric).

LISA maps show the local Moran classes of :mod:`quarterstats.autocorrelation` (Anselin 1995) in the GeoDa
colours with the global Moran's I and its permutation p-value from the segregation table in the subtitle;
the caption says what "hoch" and "niedrig" refer to (the unweighted mean of the district shares) and that
each district is tested on its own, without a correction for multiple testing
(:func:`quarterstats.methods_text.lisa_caveat_de`).
The typology map shows the district type of each district (:func:`quarterstats.indicators.type_label_de`)
in the colour-blind-safe house palette (Okabe & Ito, 7 colours; further types grouped as "übrige Typen"),
a type in the same colour on every date;
districts below the composite minimum population are hatched "nicht typisiert: zu wenige Einwohner".
Change maps (:func:`change_map`) show the published change of an indicator against the previous or the
first reference date in 5 classes symmetric around zero (ColorBrewer PuOr); "*" (hatched) where a value of
either date is suppressed, "x" where there is nothing to compare with.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.patheffects import Stroke
from shapely.ops import polylabel

from quarterstats.autocorrelation import LISA_LABELS_DE
from quarterstats.catalogue import CATALOGUE, SEGREGATION_GROUPS
from quarterstats.indicators import type_description_de, type_label_de
from quarterstats.indicators.segregation import LISA_ALPHA, MORAN_PERMUTATIONS
from quarterstats.indicators.common import natural_key
from quarterstats.methods_text import lisa_caveat_de

from . import style
from .inputs import MISSING, OK, SUPPRESSED, district_frame, indicator_values
from .style import Drawn, format_number

__all__ = [
    "FISHER_JENKS_K",
    "MAP_INDICATORS",
    "MAX_LABELLED_DISTRICTS",
    "Classification",
    "change_breaks",
    "change_classes",
    "change_map",
    "choropleth_map",
    "class_labels",
    "classify",
    "lisa_map",
    "milieu_map",
]

#: Report section of a map by the family of its indicator.
_SECTION_BY_FAMILY = {"population": "bevoelkerung", "age": "bevoelkerung", "migration": "migration",
                      "households": "haushalte", "mobility": "mobilitaet", "milieu": "milieu",
                      "segregation": "segregation"}
#: Indicators mapped as choropleths (the catalogue's group "maps"), in report order, with their report section.
MAP_INDICATORS: tuple[tuple[str, str], ...] = tuple(
    (key, _SECTION_BY_FAMILY[CATALOGUE[key].family]) for key in CATALOGUE.groups["maps"]
)
FISHER_JENKS_K = 5
#: Above this many districts the map carries no labels (a 450-cell grid would be unreadable).
MAX_LABELLED_DISTRICTS = 60
#: LISA value codes in the long table (see ``quarterstats.indicators.segregation.LISA_CODES``).
LISA_CODE_CLASS = {1: "HH", 2: "LL", 3: "HL", 4: "LH", 0: "not_significant", -1: "island"}
LISA_ORDER = ("HH", "LL", "HL", "LH", "not_significant", "island")

MAP_WIDTH_CM = 16.0
#: Height of the map area: the map's own height at the map width, kept between these bounds (cm).
MAP_AREA_MIN_CM, MAP_AREA_MAX_CM = 7.0, 11.5
_MAP_FRACTION = 0.61  # of the figure width
_HEADER_CM, _FOOTER_CM = 1.75, 0.95
_NAME_LINE_CHARS = 14
_LABEL_FONTSIZE = style.MIN_FONT_PT


# ------------------------------------------------------------------------------------ classification
@dataclass(frozen=True)
class Classification:
    """Classes of the published values: class i holds (bins[i−1], bins[i]], the first [lower, bins[0]]."""

    method_de: str
    lower: float
    bins: np.ndarray
    yb: np.ndarray  # class index of each classified value (same order as the input's finite values)

    @property
    def k(self) -> int:
        return len(self.bins)

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.yb, minlength=self.k)


def fisher_jenks_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper class bounds of Fisher–Jenks natural breaks of the sorted ``values`` (float64), exactly as
    mapclassify's ``_fisher_jenks_means`` computes them (the same float32 sums, the same choice among equal
    variances), with the inner loop over the class start vectorised: 450 districts take milliseconds
    instead of seconds without numba."""
    n = len(values)
    mat1 = np.zeros((n + 1, k + 1), dtype=np.int32)
    mat2 = np.zeros((n + 1, k + 1), dtype=np.float32)
    mat1[1, 1:] = 1
    mat2[2:, 1:] = np.inf
    v32 = np.asarray(values, dtype=np.float32)
    squares = v32 * v32
    sizes = np.arange(1, n + 1, dtype=np.float32)
    columns = np.arange(k - 1)
    offsets = np.arange(n)
    mat1[2:, 1] = 1
    for end in range(2, n + 1):
        # the last class holds the values end-m .. end-1 for m = 1 .. end, summed from the right as the loop
        # does (an accumulate adds in order, in float32)
        s1 = v32[end - 1::-1].cumsum(dtype=np.float32)
        s2 = squares[end - 1::-1].cumsum(dtype=np.float32)
        variance = s2 - (s1 * s1) / sizes[:end]
        before = end - 1 - offsets[:end - 1]  # the last value of the classes before (i4), m = 1 .. end - 1
        # one column per number of classes j = 2 .. k: the previous j - 1 classes end at "before"
        candidates = variance[:end - 1, None] + mat2[before, 1:k]
        last = end - 2 - candidates[::-1].argmin(axis=0)  # ">=" in the loop: the last minimum wins
        mat1[end, 2:] = before[last] + 1
        mat2[end, 2:] = candidates[last, columns]
        mat2[end, 1] = variance[end - 1]
    bounds = np.zeros(k + 1, dtype=np.float64)
    bounds[k] = values[n - 1]
    bounds[0] = values[0]
    last_index = n
    for count in range(k, 1, -1):
        pivot = mat1[last_index, count]
        bounds[count - 1] = values[int(pivot - 2)]
        last_index = int(pivot - 1)
    return np.delete(bounds, 0)


class FisherJenks(mapclassify.FisherJenks):
    """``mapclassify.FisherJenks`` with its bounds from :func:`fisher_jenks_bins` (same classes, fast)."""

    def _set_bins(self) -> None:
        self.bins = fisher_jenks_bins(np.sort(self.y).astype("f8"), self.k)


def classify(values: np.ndarray, k: int = FISHER_JENKS_K) -> Classification | None:
    """Fisher–Jenks classes of the finite ``values`` (k classes), or quantiles with one class per distinct
    value when there are fewer than ``k`` distinct values; None without any finite value."""
    y = np.asarray(values, dtype=np.float64)
    y = y[np.isfinite(y)]
    if y.size == 0:
        return None
    n_distinct = np.unique(y).size
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed")
        warnings.filterwarnings("ignore", message="Not enough unique values")
        if n_distinct >= k:
            fj = FisherJenks(y, k=k)
            return Classification("natürliche Brüche (Fisher-Jenks)", float(y.min()),
                                  np.asarray(fj.bins, dtype=np.float64), np.asarray(fj.yb, dtype=np.int64))
        q = mapclassify.Quantiles(y, k=n_distinct)
    bins = np.asarray(q.bins, dtype=np.float64)
    counts = np.bincount(np.searchsorted(bins, y, side="left"), minlength=bins.size)
    bins = bins[counts > 0]
    yb = np.searchsorted(bins, y, side="left").astype(np.int64)
    return Classification("Quantile", float(y.min()), bins, yb)


def _rounded_distinct(bounds: Sequence[float], decimals: int) -> bool:
    rounded = np.round(np.asarray(bounds, dtype=np.float64), decimals)
    return bool(np.all(np.diff(rounded) > 0))


def class_labels(classes: Classification, unit: str = "", decimals: int | None = None) -> list[str]:
    """German legend texts of the classes: "3,1 bis 8,2 %", "über 8,2 bis 12,5 %", … (a single class of
    one value: "12,0 %"). Decimals follow the unit and grow (up to 3) until the bounds stay distinct."""
    d = style.decimals_for_unit(unit) if decimals is None else decimals
    bounds = classes.bins.tolist()
    if classes.lower < bounds[0]:
        bounds.insert(0, classes.lower)
    while d < 3 and not _rounded_distinct(bounds, d):
        d += 1
    suffix = " %" if unit == "%" else ""
    labels = []
    for i, upper in enumerate(classes.bins):
        if i == 0:
            lo = classes.lower
            single = np.isclose(lo, upper)
            text = format_number(lo, d) if single else f"{format_number(lo, d)} bis {format_number(upper, d)}"
        else:
            text = f"über {format_number(classes.bins[i - 1], d)} bis {format_number(upper, d)}"
        labels.append(text + suffix)
    return labels


# ------------------------------------------------------------------------------------------ drawing
@dataclass(frozen=True)
class AreaStyle:
    """How districts of one legend entry are filled."""

    key: str
    label: str
    face: str
    hatch: str | None = None
    outline: str | None = None  # a dark outline (islands of the LISA map)


SUPPRESSED_STYLE = AreaStyle(SUPPRESSED, style.SUPPRESSED_DE, style.SUPPRESSED_FACE, style.SUPPRESSED_HATCH)
MISSING_STYLE = AreaStyle(MISSING, style.NO_VALUE_DE, style.MISSING_FACE, style.MISSING_HATCH)


def _legend_patch(s: AreaStyle) -> Patch:
    edge = style.HATCH_COLOUR if s.hatch else (s.outline or "#8a8a8a")
    return Patch(facecolor=s.face, hatch=s.hatch, edgecolor=edge, linewidth=0.5 if (s.hatch or s.outline) else 0.3)


def _map_figure(frame: gpd.GeoDataFrame, title: str, subtitle: str, meta: Mapping) -> tuple[Figure, Axes, Axes]:
    """Figure, map axes (left) and legend axes (right). The figure height follows the map's aspect
    ratio (deterministically, from the district bounds), so that wide cities leave no empty band."""
    minx, miny, maxx, maxy = frame.total_bounds
    width, height = (maxx - minx) * 1.04, (maxy - miny) * 1.11  # the margins set in _draw_areas
    map_width_cm = MAP_WIDTH_CM * _MAP_FRACTION
    map_height_cm = map_width_cm * height / width if width > 0 else MAP_AREA_MAX_CM
    area_cm = min(max(map_height_cm, MAP_AREA_MIN_CM), MAP_AREA_MAX_CM)
    fig = style.new_figure(MAP_WIDTH_CM, _HEADER_CM + area_cm + _FOOTER_CM)
    top = style.add_header(fig, title, subtitle)
    bottom = style.add_source_line(fig, meta)
    ax = fig.add_axes((0.01, bottom, _MAP_FRACTION, top - bottom))
    legend_ax = fig.add_axes((0.635, bottom, 0.355, top - bottom))
    legend_ax.set_axis_off()
    return fig, ax, legend_ax


def _draw_areas(ax: Axes, frame: gpd.GeoDataFrame, keys: np.ndarray, styles: Sequence[AreaStyle]) -> None:
    """Fill each group of districts (one geopandas plot per legend entry, gid ``areas_<key>``), then the
    district boundaries in white and the city outline in dark grey."""
    n = len(frame)
    boundary_width = 0.5 if n <= MAX_LABELLED_DISTRICTS else 0.15
    for s in styles:
        mask = keys == s.key
        if not mask.any():
            continue
        frame.loc[mask].plot(
            ax=ax, color=s.face, hatch=s.hatch, edgecolor=style.HATCH_COLOUR if s.hatch else "none",
            linewidth=0, gid=f"areas_{s.key}", zorder=1,
        )
    frame.boundary.plot(ax=ax, color="white", linewidth=boundary_width, zorder=2, gid="district_boundaries")
    for s in styles:
        mask = keys == s.key
        if s.outline and mask.any():
            frame.loc[mask].boundary.plot(ax=ax, color=s.outline, linewidth=0.6, zorder=3, gid=f"outline_{s.key}")
    outline = gpd.GeoSeries([shapely.union_all(frame.geometry.values)], crs=frame.crs).boundary
    outline.plot(ax=ax, color="#4d4d4d", linewidth=0.7, zorder=3, gid="city_outline")
    minx, miny, maxx, maxy = frame.total_bounds
    w, h = maxx - minx, maxy - miny
    ax.set_xlim(minx - 0.02 * w, maxx + 0.02 * w)
    ax.set_ylim(miny - 0.09 * h, maxy + 0.02 * h)
    ax.set_aspect("equal")
    ax.set_anchor("NW")
    ax.set_axis_off()


def _place_legend_axes(ax: Axes, legend_ax: Axes) -> None:
    """Move the legend next to the map's actual right edge (after the equal aspect shrank the map)."""
    ax.apply_aspect()
    pos = ax.get_position()
    lpos = legend_ax.get_position()
    left = min(pos.x1 + 0.03, 0.635)
    legend_ax.set_position((left, lpos.y0, 0.99 - left, lpos.height))


def _scale_bar(ax: Axes) -> None:
    """A two-segment black/white scale bar in km in the free strip below the city (lower left)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    nice = [50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
    target = width / 5
    length = max([v for v in nice if v <= target] or [nice[0]])
    height = (y1 - y0) * 0.011
    left, base = x0 + 0.03 * width, y0 + (y1 - y0) * 0.035
    for i, colour in enumerate(("#333333", "white")):
        ax.add_patch(Rectangle((left + i * length / 2, base), length / 2, height, facecolor=colour,
                               edgecolor="#333333", linewidth=0.5, zorder=5, gid=f"scale_bar_{i}"))
    for x in (0.0, length / 2, float(length)):
        text = f"{x / 1000:g}".replace(".", ",") + (" km" if x == length else "")
        ax.text(left + x, base - height * 0.6, text, ha="center", va="top", fontsize=style.MIN_FONT_PT, color="#333333",
                zorder=5)


def _wrap_name(name: str, width: int = _NAME_LINE_CHARS) -> str:
    """Break a district name into lines of at most ``width`` characters at spaces, "/" and "-"."""
    tokens = [t for t in re.split(r"(?<=[/\-])|(?= )", name) if t]
    lines: list[str] = []
    current = ""
    for tok in tokens:
        candidate = current + tok
        if current and len(candidate.strip()) > width:
            lines.append(current.strip())
            current = tok.lstrip()
        else:
            current = candidate
    if current.strip():
        lines.append(current.strip())
    return "\n".join(lines)


def _label_point(geom) -> tuple[float, float]:
    """Pole of inaccessibility of the largest part (polylabel): the label sits well inside the polygon."""
    if geom.geom_type == "MultiPolygon":
        geom = max(geom.geoms, key=lambda g: g.area)
    try:
        p = polylabel(geom, tolerance=max(1.0, np.sqrt(geom.area) / 100))
    except Exception:  # degenerate polygons: fall back to a point on the surface
        p = geom.representative_point()
    return p.x, p.y


def _label_districts(fig: Figure, ax: Axes, frame: gpd.GeoDataFrame) -> list[tuple[str, str]]:
    """Label the districts; returns the (id, name) pairs labelled by id (the key beside the map).

    Up to :data:`MAX_LABELLED_DISTRICTS` districts: each district gets its name (wrapped) where it fits
    inside the district, else its id. More districts: names would not fit, so only ids are drawn, and
    only where the id fits inside its district and clear of the ids already drawn (larger districts first,
    then by id); the key then refers to the tables for the names (:func:`_legend`). "Fits" means at least
    98 % of the label's box lies inside the district, at 7 pt."""
    renderer = style.renderer(fig)
    ax.apply_aspect()
    to_data = ax.transData.inverted()
    halo = [Stroke(linewidth=1.8, foreground="white")]
    many = len(frame) > MAX_LABELLED_DISTRICTS
    rows = list(zip(frame["district_id"], frame["name"], frame.geometry))
    if many:  # larger districts first: where ids compete for room, the larger district keeps its id
        areas = np.array([0.0 if g is None else g.area for _, _, g in rows])
        rows = [rows[i] for i in sorted(range(len(rows)), key=lambda i: (-areas[i], natural_key(rows[i][0])))]
    placed: list[tuple[float, float, float, float]] = []
    by_id = []
    for district_id, name, geom in rows:
        if geom is None or geom.is_empty:
            continue
        x, y = _label_point(geom)
        label = district_id if many else _wrap_name(name)
        text = ax.text(x, y, label, ha="center", va="center", fontsize=_LABEL_FONTSIZE, color="#1a1a1a",
                       zorder=7, linespacing=1.0, gid=f"label_{district_id}")
        fits = _fits(text, geom, renderer, to_data)
        if not fits and not many and name != district_id:
            label = district_id
            text.set_text(label)  # with few districts every district gets at least its id
            by_id.append((district_id, name))
        elif many:
            box = text.get_window_extent(renderer)
            clear = all(box.x1 < b[0] or box.x0 > b[2] or box.y1 < b[1] or box.y0 > b[3] for b in placed)
            if not (fits and clear):
                text.remove()
                continue
            placed.append((box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1))
            by_id.append((district_id, name))
        # the halo is a white stroke of a copy underneath, so the label itself stays text in the SVG
        ax.text(x, y, label, ha="center", va="center", fontsize=_LABEL_FONTSIZE, color="white", zorder=6,
                linespacing=1.0, path_effects=halo, gid=f"halo_{district_id}")
    if many:
        by_id.sort(key=lambda pair: natural_key(pair[0]))
    return by_id


def _fits(text, geom, renderer, to_data) -> bool:
    """Whether at least 98 % of the text's box lies inside ``geom``."""
    box = text.get_window_extent(renderer)
    (bx0, by0), (bx1, by1) = to_data.transform([(box.x0, box.y0), (box.x1, box.y1)])
    rect = shapely.box(bx0, by0, bx1, by1)
    return rect.area > 0 and shapely.intersection(geom, rect).area / rect.area >= 0.98


#: More district ids than this (or a map of more than MAX_LABELLED_DISTRICTS districts) are not listed
#: beside the map: the key refers to the tables, which list every district by id and name.
MAX_KEY_ENTRIES = 40


def _legend(legend_ax: Axes, styles: Sequence[AreaStyle], keys: np.ndarray, title: str,
            extra_lines: Sequence[str] = (), id_key: Sequence[tuple[str, str]] = ()) -> None:
    """Legend entries with the number of districts in brackets; afterwards free text lines (city value,
    method) and the key of the district ids used as labels.

    Every text is wrapped to the width of the legend column (never cut), in at least 7 pt. When the whole
    key is taller than the map, the figure grows downwards (:func:`_grow_legend_axes`), so that the key
    never runs over the source line or off the figure and every district of the key is listed."""
    fig = legend_ax.figure
    renderer = style.renderer(fig)
    width_pt = legend_ax.get_position().width * fig.get_figwidth() * 72
    fontsize = float(style.HOUSE_RC["legend.fontsize"])
    entry_pt = width_pt - (2.2 + 0.8) * fontsize - 4  # handle and the gap after it
    handles, labels = [], []
    for s in styles:
        n = int((keys == s.key).sum())
        if n == 0 and s.key in (SUPPRESSED, MISSING):
            continue  # explain hatches only where they occur
        handles.append(_legend_patch(s))
        labels.append(style.wrap_to_width(" ".join(f"{s.label} ({n})".split()), entry_pt, fontsize))
    title = style.wrap_to_width(title, width_pt - 2, float(style.HOUSE_RC["legend.title_fontsize"]),
                                at_slashes=False)
    legend = legend_ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 1.0), title=title,
                              alignment="left", handlelength=2.2, handleheight=1.4, borderaxespad=0.0,
                              labelspacing=0.45)
    legend.set_gid("map_legend")
    lines = [style.wrap_to_width(line, width_pt - 2, _NOTE_PT, at_slashes=False) if line else line
             for line in _joined_notes(extra_lines)]
    if id_key:
        lines.append("")
        if len(id_key) > MAX_KEY_ENTRIES or len(keys) > MAX_LABELLED_DISTRICTS:
            lines.append(style.wrap_to_width(
                f"Nummern in der Karte: Bezirksnummern, wo sie in den Bezirk passen ({len(id_key)} Bezirke); "
                f"die Namen zu den Nummern stehen in den Tabellen (tabellen.xlsx, indikatoren.csv).",
                width_pt - 2, _NOTE_PT, at_slashes=False))
        else:
            lines.append("Nummern in der Karte:")
            lines.extend(style.wrap_to_width(f"{i}  {n}", width_pt - 2, _NOTE_PT) for i, n in id_key)
    legend_pt = legend.get_window_extent(renderer).height * 72 / fig.dpi
    notes = "\n".join(lines)
    notes_pt = (notes.count("\n") + 1) * _NOTE_PT * 1.3 * 1.17 if lines else 0.0
    needed_pt = legend_pt + (0.03 * legend_ax.get_position().height * fig.get_figheight() * 72 + notes_pt
                             if lines else 0.0)
    available_pt = legend_ax.get_position().height * fig.get_figheight() * 72
    if needed_pt > available_pt:
        _grow_legend_axes(legend_ax, (needed_pt - available_pt) / 72 + 0.05)
    if lines:
        box = legend.get_window_extent(renderer).transformed(legend_ax.transAxes.inverted())
        gap = 6 / (legend_ax.get_position().height * fig.get_figheight() * 72)
        legend_ax.text(0.0, box.y0 - gap, notes, ha="left", va="top", fontsize=_NOTE_PT,
                       color="#333333", transform=legend_ax.transAxes, linespacing=1.3, gid="legend_notes")


_NOTE_PT = style.MIN_FONT_PT


def _joined_notes(lines: Sequence[str]) -> list[str]:
    """Free text lines of a legend as paragraphs: a line that continues the previous one (it starts with a
    space or a small letter, as the callers break their notes by hand) is joined to it, so that wrapping to
    the legend's width can reflow it."""
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line and (line[0].isspace() or line[0].islower()):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line)
    return out


def _grow_legend_axes(legend_ax: Axes, extra_in: float) -> None:
    """Make the figure ``extra_in`` inches taller below the map: texts and axes above the legend's bottom
    keep their distance from the top, the source line its distance from the bottom, the legend column
    grows by the difference; the map keeps its size (its labels were placed at that scale)."""
    fig = legend_ax.figure
    old = fig.get_figheight()
    new = old + extra_in
    fig.set_figheight(new)
    for text in fig.texts:
        x, y = text.get_position()
        top_anchored = text.get_gid() != "source_line"
        text.set_y((y * old + extra_in) / new if top_anchored else y * old / new)
    for ax in fig.axes:
        pos = ax.get_position(original=True)
        if ax is legend_ax:
            ax.set_position((pos.x0, pos.y0 * old / new, pos.width, (pos.height * old + extra_in) / new))
        else:
            ax.set_position((pos.x0, (pos.y0 * old + extra_in) / new, pos.width, pos.height * old / new))


def _areas_note(frame: gpd.GeoDataFrame, status: np.ndarray, what: str) -> str:
    """Caption sentence naming the districts with status ``what`` (suppressed / missing), or ""."""
    names = [str(n) for n, s in zip(frame["name"], status) if s == what]
    if not names:
        return ""
    shown = ", ".join(names) if len(names) <= 8 else f"{len(names)} Bezirke"
    label = style.SUPPRESSED_DE if what == SUPPRESSED else style.NO_VALUE_DE
    return f" {label}, schraffiert: {shown}."


def _subtitle(meta: Mapping, extra: str = "") -> str:
    city = meta.get("city_name") or "Stadt"
    text = f"{city}, Bezirke, Stichtag {style.format_date(meta['reference_date'])}"
    return f"{text} – {extra}" if extra else text


# ---------------------------------------------------------------------------------------- choropleth
def choropleth_map(published: pd.DataFrame, districts: gpd.GeoDataFrame, indicator: str, meta: Mapping) -> Drawn:
    """Choropleth of ``indicator`` (Fisher–Jenks, k = 5; hatched where suppressed or without value)."""
    frame = district_frame(districts, published)
    iv = indicator_values(published, indicator, frame["district_id"])
    classes = classify(iv.values)
    styles: list[AreaStyle] = []
    keys = np.where(iv.status == SUPPRESSED, SUPPRESSED, MISSING).astype(object)
    if classes is not None:
        colours = style.sequential_colours(classes.k)
        for i, (label, colour) in enumerate(zip(class_labels(classes, iv.unit), colours)):
            styles.append(AreaStyle(f"class_{i}", label, colour))
        keys[iv.status == OK] = [f"class_{c}" for c in classes.yb]
        method = f"{classes.method_de}, {classes.k} {'Klasse' if classes.k == 1 else 'Klassen'}"
    else:
        method = "keine Klassen (kein Bezirk mit Wert)"
    styles += [SUPPRESSED_STYLE, MISSING_STYLE]
    title = f"{iv.label_de} nach Bezirken"
    fig, ax, legend_ax = _map_figure(frame, title, _subtitle(meta), meta)
    _draw_areas(ax, frame, keys, styles)
    _place_legend_axes(ax, legend_ax)
    _scale_bar(ax)
    id_key = _label_districts(fig, ax, frame)
    unit_text = f"in {iv.unit}" if iv.unit else ""
    method_text = f"Klassen: {method}" if classes is not None else "kein Bezirk mit Wert"
    legend_title = f"{iv.label_de}{' ' + unit_text if unit_text else ''}\n{method_text}\n(Zahl der Bezirke)"
    if np.isfinite(iv.city_value):
        city_value = style.format_number(iv.city_value, style.decimals_for_unit(iv.unit))
        city_text = f"Stadt insgesamt: {city_value}{' ' + iv.unit if iv.unit else ''}"
    else:
        city_text = f"Stadt insgesamt: {style.SUPPRESSED_DE if iv.city_status == SUPPRESSED else style.NO_VALUE_DE}"
    _legend(legend_ax, styles, keys, _wrap_legend_title(legend_title), [city_text], id_key)
    n = len(frame)
    caption = (
        f"{iv.label_de} in den {n} Bezirken ({meta.get('city_name') or 'Stadt'}), Stichtag "
        f"{style.format_date(meta['reference_date'])}"
        f"{': ' + iv.definition_de.rstrip('.') if iv.definition_de else ''}. Einheit: {iv.unit or '–'}. "
        f"Klassenbildung: {method}; Klassengrenzen und Zahl der Bezirke je Klasse in der Legende."
        f"{_areas_note(frame, iv.status, SUPPRESSED)}{_areas_note(frame, iv.status, MISSING)}"
        f" {city_text}. {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)


def _wrap_legend_title(title: str, width: int = 40) -> str:
    import textwrap

    return "\n".join(textwrap.fill(line, width=width, break_on_hyphens=False) if line else line
                     for line in title.split("\n"))


# ----------------------------------------------------------------------------------------------- LISA
def _group_label_de(group: str) -> str:
    return {g: de for g, de, _ in SEGREGATION_GROUPS}.get(group, group)


def _moran_text(segregation: pd.DataFrame | None, group: str, reference_date) -> tuple[str, str]:
    """("Moran's I = 0,41; p = 0,003", caption part) of the group at the reference date, or a note."""
    if segregation is None or len(segregation) == 0:
        return "Moran's I: kein Wert", "Moran's I: kein Wert"
    ref = style.as_date(reference_date)
    rows = segregation[(segregation["index"] == "moran_i") & (segregation["group"] == group)]
    rows = rows[rows["reference_date"].map(style.as_date) == ref]
    if not rows.empty and "flag" in rows.columns and str(rows["flag"].iloc[0]) == "*":
        return "Moran's I: gesperrt", "Moran's I: gesperrt (Geheimhaltung, aus gesperrten Fallzahlen berechnet)"
    if rows.empty or not np.isfinite(float(rows["value"].iloc[0])):
        return "Moran's I: kein Wert", "Moran's I: kein Wert"
    moran = float(rows["value"].iloc[0])
    p = float(rows["p_value"].iloc[0]) if "p_value" in rows.columns else np.nan
    if not np.isfinite(p):
        p_text = "p: kein Wert"
    elif p < 0.001:
        p_text = "p < 0,001"
    else:
        p_text = f"p = {format_number(p, 3)}"
    text = f"Moran's I = {format_number(moran, 2)}; {p_text}"
    return text, f"{text} (Permutationstest)"


def lisa_map(published: pd.DataFrame, districts: gpd.GeoDataFrame, segregation: pd.DataFrame | None,
             group: str, meta: Mapping, *, indicator_label: str | None = None) -> Drawn:
    """LISA cluster map of the share of ``group`` (a SEGREGATION_GROUPS id, e.g. "foreign")."""
    frame = district_frame(districts, published)
    iv = indicator_values(published, f"lisa_class_{group}", frame["district_id"])
    keys = np.where(iv.status == SUPPRESSED, SUPPRESSED, MISSING).astype(object)
    for i, v in enumerate(iv.values):
        if iv.status[i] == OK and int(v) in LISA_CODE_CLASS:
            keys[i] = LISA_CODE_CLASS[int(v)]
    styles = [
        AreaStyle(k, LISA_LABELS_DE[k], style.LISA_COLOURS[k], outline="#333333" if k == "island" else None)
        for k in LISA_ORDER
    ]
    styles = [s for s in styles if s.key != "island" or (keys == "island").any()]
    styles += [SUPPRESSED_STYLE, MISSING_STYLE]
    share_label = indicator_label or f"Anteil {_group_label_de(group)}"
    moran, moran_caption = _moran_text(segregation, group, meta["reference_date"])
    title = f"Räumliche Cluster: {share_label}"
    fig, ax, legend_ax = _map_figure(frame, title, _subtitle(meta, moran), meta)
    _draw_areas(ax, frame, keys, styles)
    _place_legend_axes(ax, legend_ax)
    _scale_bar(ax)
    id_key = _label_districts(fig, ax, frame)
    level = f"{format_number(100 * LISA_ALPHA, 0 if (100 * LISA_ALPHA).is_integer() else 1)} %"
    legend_title = _wrap_legend_title(
        f"LISA-Cluster (lokales Moran's I)\n{share_label}\nSignifikanzniveau {level}\n(Zahl der Bezirke)")
    _legend(legend_ax, styles, keys, legend_title,
            ["Hoch-Hoch: hoher Anteil, Nachbarn hoch", "Niedrig-Niedrig: niedriger Anteil,",
             "   Nachbarn niedrig", "Hoch-Niedrig, Niedrig-Hoch: Ausreißer", "   gegenüber den Nachbarn"], id_key)
    caption = (
        f"Lokale räumliche Autokorrelation (LISA, Anselin 1995) des Merkmals „{share_label}“ in den "
        f"{len(frame)} Bezirken, Stichtag {style.format_date(meta['reference_date'])}: Queen-Nachbarschaft, "
        f"zeilenstandardisiert; Farben wie in GeoDa "
        f"(Hoch-Hoch rot, Niedrig-Niedrig blau, Hoch-Niedrig hellrot, Niedrig-Hoch hellblau, nicht "
        f"signifikant hellgrau, ohne Nachbarn weiß). {lisa_caveat_de(MORAN_PERMUTATIONS, LISA_ALPHA)} "
        f"Globaler Wert: {moran_caption}."
        f"{_areas_note(frame, iv.status, SUPPRESSED)}{_areas_note(frame, iv.status, MISSING)}"
        f" {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)


# --------------------------------------------------------------------------------------------- milieu
def _parameter(meta: Mapping, name: str, default: float) -> float:
    """An indicator parameter from ``meta["indicator_parameters"]`` (DataFrame name, value), else default."""
    params = meta.get("indicator_parameters")
    if isinstance(params, pd.DataFrame) and {"name", "value"} <= set(params.columns):
        hit = params[params["name"] == name]
        if len(hit):
            try:
                return float(hit["value"].iloc[0])
            except (TypeError, ValueError):
                pass
    return default


#: Colours of the district types: the house palette (Okabe & Ito, colour-blind safe, qualitative,
#: :data:`quarterstats.figures.style.OKABE_ITO`), one per type up to the default upper bound of
#: ``typology_types`` (7); further types (a wider range set by the user) are grouped as "übrige Typen".
TYPE_COLOURS: tuple[str, ...] = style.OKABE_ITO
#: ColorBrewer PuOr, 5 classes (colour-blind safe, diverging): orange for decreases, purple for increases,
#: near-white for changes around zero.
CHANGE_COLOURS = ("#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99")
NO_COMPARISON = "no_comparison"
NO_COMPARISON_STYLE = AreaStyle(NO_COMPARISON, "x kein Vergleich möglich", style.MISSING_FACE, "xxxx")
SUPPRESSED_CHANGE_STYLE = AreaStyle(SUPPRESSED, "* Veränderung gesperrt (Geheimhaltung)", style.SUPPRESSED_FACE,
                                    style.SUPPRESSED_HATCH)


def _type_label(code: int) -> str:
    """German name of a district type code ("Typ <code>" for a code the typology does not know)."""
    try:
        return type_label_de(code)
    except ValueError:
        return f"Typ {code}"


def _type_description(code: int) -> str:
    try:
        return type_description_de(code)
    except ValueError:
        return ""


def _type_codes_over_time(series: pd.DataFrame | None, reference_date) -> list[int]:
    """The type codes of every published date up to ``reference_date``: the colours follow this list, so
    a type keeps its colour from one date to the next (the types are fitted once, on the first date)."""
    if series is None or "reference_date" not in series.columns:
        return []
    ref = style.as_date(reference_date)
    rows = series[(series["indicator"] == "milieu_type") & (series["district_id"] != "city")]
    rows = rows[rows["reference_date"].map(style.as_date) <= ref]
    values = pd.to_numeric(rows["value"], errors="coerce").dropna()
    return sorted({int(round(v)) for v in values})


def milieu_map(published: pd.DataFrame, districts: gpd.GeoDataFrame, meta: Mapping,
               series: pd.DataFrame | None = None) -> Drawn:
    """Map of the district type of each district: one colour-blind-safe colour per type (:data:`TYPE_COLOURS`,
    the same type in the same colour on every date of ``series``; beyond 7 types the rarest are grouped), the type names with the number of
    districts in the legend, the description of every type in the caption; districts below the composite
    minimum population hatched."""
    frame = district_frame(districts, published)
    ids = frame["district_id"]
    types = indicator_values(published, "milieu_type", ids)
    excluded = indicator_values(published, "milieu_excluded", ids)
    pop = indicator_values(published, "pop", ids)
    min_pop = int(_parameter(meta, "composite_min_population", 300))
    too_small = (excluded.values == 1.0) | (np.isfinite(pop.values) & (pop.values < min_pop))
    codes = np.where(types.status == OK, types.values, np.nan)
    present = sorted({int(c) for c in codes[np.isfinite(codes)]})
    known = sorted(set(_type_codes_over_time(series, meta["reference_date"])) | set(present))
    if len(known) > len(TYPE_COLOURS):  # more types than colours: the most frequent of this date coloured
        counts = {c: int((codes == c).sum()) for c in present}
        known = sorted(sorted(present, key=lambda c: (-counts[c], c))[:len(TYPE_COLOURS) - 1])
    colour_of = dict(zip(known, TYPE_COLOURS))
    coloured = [c for c in present if c in colour_of]
    others = [c for c in present if c not in colour_of]
    styles = [AreaStyle(f"type_{c}", _wrap_legend_title(_type_label(c), 34), colour_of[c]) for c in coloured]
    if others:
        styles.append(AreaStyle("type_other", f"übrige Typen ({len(others)} Typen)", style.OTHER_CATEGORY_COLOUR))
    keys = np.full(len(frame), MISSING, dtype=object)
    for i, c in enumerate(codes):
        if np.isfinite(c):
            keys[i] = f"type_{int(c)}" if int(c) in colour_of else "type_other"
        elif too_small[i]:
            keys[i] = "too_small"
        elif types.status[i] == SUPPRESSED:
            keys[i] = SUPPRESSED
    too_small_style = AreaStyle("too_small", "nicht typisiert: zu wenige Einwohner", style.SUPPRESSED_FACE,
                                "\\\\\\\\\\")
    styles += [too_small_style, SUPPRESSED_STYLE, MISSING_STYLE]
    title = "Quartierstypen nach Bezirken"
    fig, ax, legend_ax = _map_figure(frame, title, _subtitle(meta), meta)
    _draw_areas(ax, frame, keys, styles)
    _place_legend_axes(ax, legend_ax)
    _scale_bar(ax)
    id_key = _label_districts(fig, ax, frame)
    legend_styles = [s for s in styles if s.key not in ("too_small",) or (keys == "too_small").any()]
    _legend(legend_ax, legend_styles, keys, "Quartierstyp\n(Zahl der Bezirke)",
            ["Typen am ersten Stichtag gebildet", "(Clusteranalyse nach Ward),", "danach beibehalten"], id_key)
    small_names = [n for n, k in zip(frame["name"], keys) if k == "too_small"]
    small_text = ""
    if small_names:
        shown = ", ".join(small_names) if len(small_names) <= 8 else f"{len(small_names)} Bezirke"
        small_text = f" Unter {min_pop} Einwohnern (nicht typisiert, schraffiert): {shown}."
    described = " ".join(f"„{_type_label(c)}“: {_type_description(c)}" for c in present)
    status_text = (" Status- und Dynamikklassen der Bezirke: Tabelle „quartierstypen“."
                   if (published["indicator"] == "milieu_status_class").any() else
                   " Zum sozialen Status liegen keine Zulieferdaten vor; Status- und Dynamikklassen entfallen.")
    caption = (
        f"Quartierstyp jedes Bezirks, Stichtag {style.format_date(meta['reference_date'])}: Gruppen von Bezirken "
        "mit ähnlichen Milieudimensionen (Familien, Ältere, junge Erwachsene, Migration, Mobilität), gebildet "
        "mit der hierarchischen Clusteranalyse nach Ward am ersten Stichtag; an jedem Stichtag erhält ein Bezirk "
        "den Typ mit dem nächstgelegenen Mittelpunkt. Der soziale Status gehört nicht dazu. "
        f"{described}{small_text}{status_text}"
        f"{_areas_note(frame, keys, SUPPRESSED)}"
        f"{_areas_note(frame, keys, MISSING)}"
        f"{' ' + str(len(others)) + ' weitere Typen sind als „übrige Typen“ grau zusammengefasst.' if others else ''}"
        f" Farben nach Okabe und Ito (für Farbfehlsichtige unterscheidbar). {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)


# ---------------------------------------------------------------------------------------- change maps
def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least ``x`` (> 0)."""
    exponent = np.floor(np.log10(x))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * 10 ** exponent >= x * (1 - 1e-12):
            return float(step * 10 ** exponent)
    return float(10 ** (exponent + 1))


def change_breaks(changes: np.ndarray) -> np.ndarray:
    """Bounds of the 5 change classes, symmetric around zero: −m, −3m/5, −m/5, m/5, 3m/5, m, with m the
    largest absolute change rounded up to 1, 2, 2,5 or 5 × 10^k (1 when every change is 0 or none is
    known). The middle class holds the changes near zero."""
    x = np.asarray(changes, dtype=np.float64)
    x = np.abs(x[np.isfinite(x)])
    m = _nice_ceiling(float(x.max())) if x.size and x.max() > 0 else 1.0
    return np.array([-m, -0.6 * m, -0.2 * m, 0.2 * m, 0.6 * m, m])


def change_classes(changes: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Class (0–4) of each change: by its absolute size (up to m/5, up to 3m/5, more) and its sign, so
    that a change and its negative fall in mirrored classes; −1 where the change is not known."""
    x = np.asarray(changes, dtype=np.float64)
    size = np.searchsorted(breaks[3:5], np.abs(np.nan_to_num(x)), side="left")
    out = 2 + np.sign(np.nan_to_num(x)).astype(np.int64) * size
    return np.where(np.isfinite(x), out, -1)


def _change_labels(breaks: np.ndarray, decimals: int) -> list[str]:
    b = [format_number(v, decimals) for v in breaks]
    return [f"{b[0]} bis unter {b[1]}", f"{b[1]} bis unter {b[2]}", f"{b[2]} bis {b[3]}",
            f"über {b[3]} bis {b[4]}", f"über {b[4]} bis {b[5]}"]


def _other_flags(series: pd.DataFrame | None, other_date, indicator: str, ids) -> np.ndarray:
    """The published flags of ``indicator`` at ``other_date`` for the districts ``ids`` ("" where none)."""
    out = np.full(len(ids), "", dtype=object)
    if series is None or other_date is None or "flag" not in series.columns:
        return out
    rows = series[(series["indicator"] == indicator)]
    rows = rows[rows["reference_date"].map(style.as_date) == style.as_date(other_date)]
    flags = rows.assign(_id=rows["district_id"].astype(str)).drop_duplicates("_id").set_index("_id")["flag"]
    flags = flags.reindex([str(i) for i in ids])
    return np.where(flags.isna(), "", flags.astype(object).fillna("")).astype(object)


def change_map(published: pd.DataFrame, series: pd.DataFrame | None, districts: gpd.GeoDataFrame,
               indicator: str, against: str, meta: Mapping) -> Drawn | None:
    """Map of the change of ``indicator`` against the previous (``against="previous"``) or the first
    (``"baseline"``) reference date, from the published changes: 5 classes symmetric around zero
    (:func:`change_breaks`), ColorBrewer PuOr (:data:`CHANGE_COLOURS`); hatched "*" where the value of
    either date is suppressed, "x" where there is nothing to compare with. None when the report has no
    such earlier date."""
    other = meta.get("previous_reference_date" if against == "previous" else "baseline_reference_date")
    if other is None:
        return None
    column = "change_previous" if against == "previous" else "change_baseline"
    frame = district_frame(districts, published)
    ids = frame["district_id"]
    iv = indicator_values(published, indicator, ids)
    rows = published[published["indicator"] == indicator]
    keyed = rows.assign(_id=rows["district_id"].astype(str)).drop_duplicates("_id").set_index("_id")
    change = pd.to_numeric(keyed[column], errors="coerce").reindex([str(i) for i in ids]).to_numpy(dtype=np.float64)
    city_change = float(pd.to_numeric(keyed[column], errors="coerce").get("city", np.nan)) if len(keyed) else np.nan
    other_flags = _other_flags(series, other, indicator, ids)
    suppressed = (iv.status == SUPPRESSED) | (other_flags == "*")
    breaks = change_breaks(change)
    classes = change_classes(change, breaks)
    keys = np.where(classes >= 0, np.array([f"class_{c}" for c in classes], dtype=object),
                    np.where(suppressed, SUPPRESSED, NO_COMPARISON)).astype(object)
    unit = CATALOGUE[indicator].change_unit if indicator in CATALOGUE else iv.unit
    unit = unit or ""
    decimals = max(style.decimals_for_unit(iv.unit), 1)
    labels = _change_labels(breaks, decimals)
    styles = [AreaStyle(f"class_{i}", label, colour) for i, (label, colour) in enumerate(zip(labels, CHANGE_COLOURS))]
    styles += [SUPPRESSED_CHANGE_STYLE, NO_COMPARISON_STYLE]
    since = style.format_date(other)
    what = "zum vorigen Stichtag" if against == "previous" else "zum ersten Stichtag"
    title = f"Veränderung {what}: {iv.label_de}"
    fig, ax, legend_ax = _map_figure(frame, title, _subtitle(meta, f"Veränderung seit {since}"), meta)
    _draw_areas(ax, frame, keys, styles)
    _place_legend_axes(ax, legend_ax)
    _scale_bar(ax)
    id_key = _label_districts(fig, ax, frame)
    legend_title = _wrap_legend_title(f"Veränderung seit {since}\n{iv.label_de}{' in ' + unit if unit else ''}\n"
                                      "Klassen symmetrisch um 0\n(Zahl der Bezirke)")
    if np.isfinite(city_change):
        city_text = f"Stadt insgesamt: {format_number(city_change, decimals, sign=True)}{' ' + unit if unit else ''}"
    else:
        city_text = "Stadt insgesamt: x (kein Vergleich möglich)"
    _legend(legend_ax, [s for s in styles if s.key.startswith("class_") or (keys == s.key).any()], keys,
            legend_title, [city_text], id_key)
    caption = (
        f"Veränderung des Merkmals „{iv.label_de}“ vom {since} bis zum "
        f"{style.format_date(meta['reference_date'])} in den {len(frame)} Bezirken"
        f"{' in ' + unit if unit else ''}, berechnet nur aus veröffentlichten Werten. Fünf Klassen symmetrisch um "
        "null (die mittlere Klasse: Veränderung nahe null), Farben ColorBrewer PuOr (orange: Abnahme, violett: "
        "Zunahme; für Farbfehlsichtige unterscheidbar). Schraffiert: * Veränderung gesperrt, weil ein Wert "
        "gesperrt ist; x kein Vergleich möglich (kein Wert an einem der Stichtage)."
        f"{_sign_note(frame, keys, SUPPRESSED, '*')}{_sign_note(frame, keys, NO_COMPARISON, 'x')}"
        f" {city_text}. {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)


def _sign_note(frame: gpd.GeoDataFrame, keys: np.ndarray, key: str, sign: str) -> str:
    names = [str(n) for n, k in zip(frame["name"], keys) if k == key]
    if not names:
        return ""
    shown = ", ".join(names) if len(names) <= 8 else f"{len(names)} Bezirke"
    return f" {sign}: {shown}."
