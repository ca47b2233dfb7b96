"""Layout of every report figure: every text inside the figure, no two texts overlapping, readable sizes,
shared scales of small multiples, colour-blind-safe palettes.

Each figure of the plan (:func:`quarterstats.figures._plan`) is drawn with its builder, its texts made
inert as :func:`quarterstats.figures.style.save_figure` does, and then drawn on an Agg canvas while
every text that is actually drawn is recorded (tick labels, legend texts, titles, annotations, map
labels, the source line). Its extent on the canvas (``Text.get_window_extent``) is what the saved PNG shows,
because figures are saved at their own size and dpi. Rules:

* inside the figure (:data:`EDGE_TOLERANCE_PX`);
* no two texts overlap by more than :data:`OVERLAP_TOLERANCE_PX` in both directions (the white halo under
  a map label is a copy of the label, ``gid`` ``halo_…``, and not a text of its own);
* font size at least :data:`MIN_FONT_PT` pt at the saved size (16 cm wide, 150 dpi: 7 pt is 14.6 px per em).

Panels of small multiples (district pyramids, district trends) must share their x and y limits and ticks.
Every categorical palette must keep a CIELAB distance of at least :data:`MIN_DELTA_E` between any two of
its colours for normal vision and under simulated deuteranopia and protanopia (Machado et al. 2009).

Cities: the 18 districts of the synthetic default (their real, long names; Voronoi cells of the anchor
points) and 450 Voronoi districts with long names, the published tables built by hand
(``test_figures.make_inputs``).
"""

from __future__ import annotations

import io
from importlib import resources
from unittest import mock

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from quarterstats import figures
from quarterstats.catalogue import ORIGIN_REGIONS
from quarterstats.figures import bars, maps, pyramids, style, trends

from test_figures import DATES, default_values, make_inputs

#: Smallest font size of any text, in pt at the saved size (figure width 16 cm, 150 dpi).
MIN_FONT_PT = 7.0
#: Two texts may share at most this many pixels (150 dpi) in x or in y: 1 px = 0,17 mm.
OVERLAP_TOLERANCE_PX = 1.0
#: A text may reach this far past the figure edge (anti-aliasing of the last glyph).
EDGE_TOLERANCE_PX = 0.5

LONG_NAMES = (
    "Innenstadt Nord/Kaiserberg", "Bännjerrück/Karl-Pfaff-Siedlung", "Grübentälchen/Volkspark",
    "Lämmchesberg/Uniwohnstadt", "Erzhütten/Wiesenthalerhof", "Schillerpromenade Nord-West",
    "Karl-Marx-Allee/Frankfurter Tor", "Siedlung am Wasserturm-Süd", "Gewerbegebiet Einsiedlerhof-Ost",
)


# ------------------------------------------------------------------------------------------ cities
def _voronoi(points: np.ndarray, outline) -> np.ndarray:
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline))
    tree = shapely.STRtree(cells)
    seed, cell = tree.query(shapely.points(points), predicate="intersects")
    order = np.full(len(points), -1)
    order[seed] = cell
    return shapely.intersection(cells[order], outline)


def eighteen_districts() -> gpd.GeoDataFrame:
    """The synthetic default's 18 districts: real names, Voronoi cells of the anchor points."""
    with resources.files("quarterstats").joinpath("data/synthetic_districts.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype={"district_id": str})
    points = table[["anchor_x", "anchor_y"]].to_numpy(dtype=np.float64)
    outline = shapely.MultiPoint(points).convex_hull.buffer(1_800.0)
    return gpd.GeoDataFrame({"district_id": table["district_id"], "name": table["name"]},
                            geometry=_voronoi(points, outline), crs="EPSG:25832")


def many_districts(n: int = 450) -> gpd.GeoDataFrame:
    """``n`` Voronoi districts in a 17 km circle, denser in the centre, each with a long name."""
    rng = np.random.default_rng(450)
    centre = np.array([798_800.0, 5_828_000.0])
    radius = 17_000.0 * np.sqrt(rng.uniform(0, 1, n)) ** 1.4
    angle = rng.uniform(0, 2 * np.pi, n)
    points = centre + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    outline = shapely.Point(*centre).buffer(17_500.0)
    ids = [f"{i + 1:03d}" for i in range(n)]
    names = [f"{LONG_NAMES[i % len(LONG_NAMES)]} {i // len(LONG_NAMES) + 1}" for i in range(n)]
    return gpd.GeoDataFrame({"district_id": ids, "name": names}, geometry=_voronoi(points, outline),
                            crs="EPSG:25832")


def city_inputs(districts: gpd.GeoDataFrame) -> tuple:
    n = len(districts)
    values = default_values(n)
    codes = (22222, 13322, 31122, 22312, 21232, 12220, 32111, 11111, 33333, 12321, 32123, 21112)
    values["milieu_type"] = [float(codes[(i * i) % len(codes)]) for i in range(n)]  # more types than colours
    suppressed = {(districts["district_id"].iloc[2], "with_mh_share"),
                  (districts["district_id"].iloc[5], "foreign_share")}
    return make_inputs(districts, values, dates=DATES, suppressed=suppressed, not_available=frozenset(),
                       pyramid_suppressed=frozenset({(districts["district_id"].iloc[1], "80+", "m", "mit MH")}))


# ---------------------------------------------------------------------------------------- measuring
def drawn_texts(fig) -> list[tuple[Text, object]]:
    """(text, window extent) of every text drawn on an Agg canvas of the figure's size and dpi."""
    recorded: dict[int, Text] = {}
    draw = Text.draw

    def recording_draw(self, renderer):
        draw(self, renderer)
        if self.get_visible() and self.get_text().strip():
            recorded[id(self)] = self

    canvas = FigureCanvasAgg(fig)
    with mock.patch.object(Text, "draw", recording_draw):
        canvas.draw()
    renderer = canvas.get_renderer()
    return [(t, t.get_window_extent(renderer)) for t in recorded.values()
            if not str(t.get_gid() or "").startswith("halo_")]


def _name(text: Text) -> str:
    return repr(text.get_text()[:40])


def layout_problems(fig) -> list[str]:
    """Every broken rule of the figure, in words (empty: the layout is fine)."""
    problems = []
    width, height = fig.bbox.width, fig.bbox.height
    texts = drawn_texts(fig)
    for text, box in texts:
        if (box.x0 < -EDGE_TOLERANCE_PX or box.y0 < -EDGE_TOLERANCE_PX or box.x1 > width + EDGE_TOLERANCE_PX
                or box.y1 > height + EDGE_TOLERANCE_PX):
            extent = tuple(round(v) for v in box.extents)
            problems.append(f"outside the figure: {_name(text)} {extent} in {width:.0f}×{height:.0f}")
        if text.get_fontsize() < MIN_FONT_PT - 1e-9:
            problems.append(f"font {text.get_fontsize():.1f} pt < {MIN_FONT_PT} pt: {_name(text)}")
    if texts:
        boxes = np.array([b.extents for _, b in texts])  # x0, y0, x1, y1
        dx = np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0])
        dy = np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1])
        hit = (dx > OVERLAP_TOLERANCE_PX) & (dy > OVERLAP_TOLERANCE_PX)
        for i, j in zip(*np.nonzero(np.triu(hit, k=1))):
            problems.append(f"overlap ({dx[i, j]:.1f}×{dy[i, j]:.1f} px): {_name(texts[i][0])} and "
                            f"{_name(texts[j][0])}")
    return problems


def draw_plan(inputs: tuple) -> dict[str, object]:
    """Every figure of the plan, drawn in the house style and made inert as the saved files are."""
    out = {}
    with style.house_style():
        for figure_id, _, build in figures._plan(*inputs):
            drawn = build()
            if drawn is None:
                continue
            style.make_text_inert(drawn.figure)
            out[figure_id] = drawn.figure
    return out


@pytest.fixture(scope="module", params=[18, pytest.param(450, marks=pytest.mark.slow)],
                ids=["18_districts", "450_districts"])
def city(request):
    districts = eighteen_districts() if request.param == 18 else many_districts(request.param)
    inputs = city_inputs(districts)
    with style.house_style():
        drawn = draw_plan(inputs)
        problems = {figure_id: layout_problems(fig) for figure_id, fig in drawn.items()}
    return inputs, drawn, problems


# ------------------------------------------------------------------------------------------ layout
def test_every_figure_of_the_plan_is_measured(city):
    _, drawn, _ = city
    assert len(drawn) == 17
    for figure_id, fig in drawn.items():
        assert fig.get_figwidth() == pytest.approx(16.0 / 2.54), figure_id  # the saved size: 16 cm
        assert fig.dpi == style.PNG_DPI


def test_every_text_fits_is_readable_and_overlaps_no_other(city):
    _, _, problems = city
    found = {figure_id: p for figure_id, p in problems.items() if p}
    assert not found, "\n".join(f"{figure_id}: {line}" for figure_id, p in found.items() for line in p[:12])


def test_the_check_finds_a_cut_off_name_and_a_collision():
    """The measurement can fail: a long district name set in one line runs off a panel of the pyramids
    page into its neighbour, and a text past the right edge is outside the figure."""
    districts = eighteen_districts()
    inputs = city_inputs(districts)
    published, series, segregation, pyramid, districts, meta = inputs
    with style.house_style():
        fig = pyramids.district_pyramids(pyramid, published, districts, meta).figure
        assert layout_problems(fig) == []
        with mock.patch.object(pyramids, "panel_title", lambda label, width_pt: label):
            unwrapped = pyramids.district_pyramids(pyramid, published, districts, meta).figure
        problems = layout_problems(unwrapped)
        assert any("overlap" in p and "Innenstadt Nord/Kaiserberg" in p for p in problems), problems
        fig.text(0.99, 0.5, "Bännjerrück/Karl-Pfaff-Siedlung", fontsize=8)
        assert any(p.startswith("outside the figure") for p in layout_problems(fig))


def test_full_names_are_never_cut(city):
    """District names appear whole (wrapped, never "…") in the panel titles and bar labels."""
    (published, series, segregation, pyramid, districts, meta), drawn, _ = city
    shown = []
    for figure_id in ("pyramid_districts", "bars_origin_regions", "trend_foreign_share"):
        texts = [" ".join(t.get_text().split()) for t, _ in drawn_texts(drawn[figure_id])]
        assert not any("…" in t for t in texts), figure_id
        shown += texts
    names = set(districts["name"])
    assert any(name in t for t in shown for name in names)


# ------------------------------------------------------------------------------------ shared scales
def _visible_axes(fig, gid_prefix: str):
    return [ax for ax in fig.axes if ax.get_visible() and str(ax.get_gid() or "").startswith(gid_prefix)]


def test_small_multiples_share_their_scales(city):
    _, drawn, _ = city
    for figure_id, prefix in (("pyramid_districts", "pyramid_panel"), ("trend_foreign_share", "trend_panel"),
                              ("trend_with_mh_share", "trend_panel")):
        panels = _visible_axes(drawn[figure_id], prefix)
        assert len(panels) >= 2, figure_id
        assert len({ax.get_xlim() for ax in panels}) == 1, figure_id
        assert len({ax.get_ylim() for ax in panels}) == 1, figure_id
        assert len({tuple(ax.get_xticks()) for ax in panels}) == 1, figure_id


def test_district_pyramids_compare_shares_on_one_scale():
    """A district ten times larger draws the same bars when its structure is the same (shares)."""
    districts = eighteen_districts()
    published, series, segregation, pyramid, districts, meta = city_inputs(districts)
    big = pyramid.assign(count=np.where(pyramid["district_id"] == "04", pyramid["count"] * 10, pyramid["count"]))
    with style.house_style():
        fig = pyramids.district_pyramids(big, None, districts, meta).figure
        panels = {ax.get_gid(): ax for ax in _visible_axes(fig, "pyramid_panel")}
        widths = {gid: sorted(round(abs(p.get_width()), 6) for p in ax.patches) for gid, ax in panels.items()}
    assert widths["pyramid_panel_04"] == widths["pyramid_panel_03"]


# ----------------------------------------------------------------------------------------- colours
#: Machado, Oliveira & Fernandes (2009), severity 1.0, for linear RGB.
MACHADO = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
#: Smallest CIE76 colour difference between two colours of one palette, for normal vision and under
#: each simulated deficiency (ΔE 12: clearly different side by side on a map or in a bar).
MIN_DELTA_E = 12.0


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])


def smallest_delta_e(colours) -> dict[str, tuple[float, tuple[str, str]]]:
    """Per vision (normal, deuteranopia, protanopia): the smallest ΔE among the colours and its pair."""
    rgb = _linear(np.array([to_rgb(c) for c in colours]))
    out = {}
    for vision, matrix in {"normal": np.eye(3), **MACHADO}.items():
        lab = _lab(np.clip(rgb @ matrix.T, 0.0, 1.0))
        d = np.sqrt(((lab[:, None, :] - lab[None, :, :]) ** 2).sum(axis=2))
        d[np.diag_indices(len(colours))] = np.inf
        i, j = np.unravel_index(np.argmin(d), d.shape)
        out[vision] = (float(d[i, j]), (colours[i], colours[j]))
    return out


def categorical_palettes() -> dict[str, list[str]]:
    """Every set of colours that tells categories apart in one figure (as drawn side by side)."""
    return {
        "milieu types (+ übrige)": [*style.categorical_colours(style.MAX_CATEGORICAL_COLOURS),
                                              style.OTHER_CATEGORY_COLOUR],
        "origin regions (+ übrige)": [*style.REGION_PALETTE, style.OTHER_CATEGORY_COLOUR],
        "pyramid sex × MH": list(style.MH_COLOURS.values()),
        "LISA clusters": [c for k, c in style.LISA_COLOURS.items() if k != "island"],
        "segregation lines": [colour for *_, colour in trends.SEGREGATION_LINES],
        "trend lines": [trends.DISTRICT_COLOUR, trends.CITY_COLOUR],
    }


@pytest.mark.parametrize("name", list(categorical_palettes()))
def test_categorical_palettes_stay_distinct_under_colour_blindness(name):
    colours = categorical_palettes()[name]
    assert len(colours) <= 9  # at most 8 colours for categories, plus the grey of "übrige"/"gesperrt"
    for vision, (delta, pair) in smallest_delta_e(colours).items():
        assert delta >= MIN_DELTA_E, f"{name}, {vision}: ΔE {delta:.1f} between {pair}"


def test_the_simulation_finds_red_green_confusion():
    """The check can fail: red and green that differ for normal vision merge under deuteranopia, and the
    former 11-colour set of the milieu map (ColorBrewer Set3) has such pairs."""
    red_green = smallest_delta_e(["#d62728", "#8c8c00"])
    assert red_green["normal"][0] > 30 and red_green["deuteranopia"][0] < MIN_DELTA_E
    set3 = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
            "#b3de69", "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f"]
    assert smallest_delta_e(set3)["deuteranopia"][0] < MIN_DELTA_E


def test_origin_region_bars_use_at_most_eight_colours(city):
    _, drawn, _ = city
    fig = drawn["bars_origin_regions"]
    faces = {tuple(np.round(p.get_facecolor(), 3)) for ax in fig.axes for p in ax.patches
             if p.get_width() > 0 and not p.get_hatch()}
    assert len(faces) <= 8, len(faces)
    legend_labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert len(legend_labels) <= 9
    assert len(ORIGIN_REGIONS) > len(style.REGION_PALETTE)  # so some regions are grouped


def test_sequential_colours_are_ordered_by_lightness():
    lab = _lab(_linear(np.array([to_rgb(c) for c in style.sequential_colours(5)])))
    assert np.all(np.diff(lab[:, 0]) < 0)  # light = low, dark = high


# ------------------------------------------------------------------------------------- reproducible
def test_layout_fixes_keep_reruns_byte_identical():
    districts = eighteen_districts()
    inputs = city_inputs(districts)
    outputs = []
    for _ in range(2):
        with style.house_style():
            drawn = bars.origin_region_bars(inputs[0], districts, inputs[5])
            png, svg = io.BytesIO(), io.BytesIO()
            style.save_figure(drawn.figure, png, svg)
        outputs.append((png.getvalue(), svg.getvalue()))
    assert outputs[0] == outputs[1]


def test_a_long_map_key_grows_the_figure_instead_of_running_off_it():
    """18 districts whose long names fit nowhere: all 18 are listed by number beside the milieu map, a
    key taller than the map. Without growing the figure the key runs over the source line and off it."""
    districts = eighteen_districts()
    districts["name"] = [f"{LONG_NAMES[i % len(LONG_NAMES)]} und Umgebung {i + 1}" for i in range(len(districts))]
    published, series, segregation, pyramid, districts, meta = city_inputs(districts)
    with style.house_style():
        drawn = maps.milieu_map(published, districts, meta)
        style.make_text_inert(drawn.figure)
        assert layout_problems(drawn.figure) == []
        notes = next(t for ax in drawn.figure.axes for t in ax.texts if t.get_gid() == "legend_notes").get_text()
        assert all(name.split()[0] in notes for name in districts["name"])  # every district in the key
        with mock.patch.object(maps, "_grow_legend_axes", lambda legend_ax, extra_in: None):
            fixed = maps.milieu_map(published, districts, meta)
        style.make_text_inert(fixed.figure)
        problems = layout_problems(fixed.figure)
    assert any(p.startswith("outside the figure") or "Quelle" in p for p in problems), problems


@pytest.mark.parametrize("limit", [0.01, 0.3, 1.0, 2.8, 5.6, 7.7, 11.5, 23.0, 60.0])
def test_pyramid_share_ticks_are_few_symmetric_and_clear_of_the_edges(limit):
    ticks = pyramids._share_ticks(limit)
    assert len(ticks) in (3, 5) and 0.0 in ticks
    assert ticks == [-t for t in reversed(ticks)]
    assert max(ticks) <= 0.9 * limit
