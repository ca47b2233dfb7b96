"""The house style of every report figure: fonts, colours, German number formatting, title and source line.

One place for how figures look, so that maps, pyramids, bars and trends read as one report:

* font DejaVu Sans (ships with matplotlib, so every machine renders the same glyphs), :data:`MIN_FONT_PT`
  (7 pt) to 10,5 pt at the saved size (16 cm wide, 150 dpi), also tick labels, legends and the source line;
* texts are never cut: long names are wrapped to the room they have (:func:`wrap_to_width`, measured with
  the font), and a layout test measures every text of every figure (inside the figure, no overlaps);
* colour-blind-safe colours: categories in at most :data:`MAX_CATEGORICAL_COLOURS` colours of Okabe & Ito
  (2008) plus grey for grouped or missing categories, classes in ColorBrewer's sequential YlGnBu;
* SVG keeps text as text (``svg.fonttype = "none"``: searchable and editable in print workflows);
* reproducible files: ``svg.hashsalt`` fixed, SVG saved without a date, PNG without the software tag, fixed
  dpi and fixed figure sizes (matplotlib docs, ``Figure.savefig`` *metadata*);
* German numbers: decimal comma, thousands point, typographic minus (DIN 5008), e.g. ``1.234,5`` and
  ``−0,3``; dates as ``dd.mm.yyyy``;
* every figure carries a title, a subtitle (city and reference date) and at the bottom the source line
  "Quelle: <source>; Stichtag <dd.mm.yyyy>; Geheimhaltung: <short>; quarterstats <code version>".

Figures are built on a bare :class:`matplotlib.figure.Figure` (no pyplot, no global backend switch,
nothing left open in a figure manager); ``savefig`` picks the Agg and SVG writers by format.
"""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, Iterator, Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.ticker import Formatter, FuncFormatter

from quarterstats.safe_text import display_text
from quarterstats.signs import NOT_AVAILABLE

__all__ = [
    "CM",
    "FONT_FAMILY",
    "HOUSE_RC",
    "LISA_COLOURS",
    "MH_COLOURS",
    "MISSING_FACE",
    "MISSING_HATCH",
    "NO_VALUE_DE",
    "PNG_DPI",
    "MAX_CATEGORICAL_COLOURS",
    "MIN_FONT_PT",
    "OKABE_ITO",
    "OTHER_CATEGORY_COLOUR",
    "REGION_PALETTE",
    "SUPPRESSED_DE",
    "SUPPRESSED_FACE",
    "SUPPRESSED_HATCH",
    "TOO_SMALL_DE",
    "Drawn",
    "add_header",
    "header_height_cm",
    "panel_grid",
    "panel_width_pt",
    "source_height_cm",
    "add_source_line",
    "categorical_colours",
    "decimals_for_unit",
    "format_date",
    "format_number",
    "format_percent",
    "GermanTickFormatter",
    "NICE_STEPS",
    "german_formatter",
    "house_style",
    "make_text_inert",
    "text_width_pt",
    "wrap_to_width",
    "new_figure",
    "renderer",
    "protection_short_de",
    "save_figure",
    "sequential_colours",
    "source_line",
]

#: One centimetre in inches (figure sizes are given in cm: 16 cm is the text width of an A4 report).
CM = 1 / 2.54
#: Resolution of the PNG files (slides); the SVG files are vector graphics for print.
PNG_DPI = 150
FONT_FAMILY = "DejaVu Sans"
#: Smallest font size of any text in a figure, in pt at the saved size (7 pt = 14,6 px per em at 150 dpi).
MIN_FONT_PT = 7.0

#: rcParams applied while figures are drawn and saved (see :func:`house_style`).
HOUSE_RC: dict[str, object] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": 7.5,  # no text below MIN_FONT_PT
    "axes.titlesize": 8,
    "axes.titleweight": "normal",
    "axes.titlelocation": "left",
    "axes.labelsize": 7.5,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#666666",
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": True,
    "axes.formatter.use_locale": False,
    "axes.grid": False,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7.5,
    "legend.frameon": False,
    "text.color": "#222222",
    "hatch.linewidth": 0.6,
    "figure.dpi": PNG_DPI,
    "savefig.dpi": PNG_DPI,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "quarterstats",
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "path.simplify": True,
    # district names are data: "$\\alpha$ x" must be drawn as it is, not parsed (and maybe rejected) as mathtext
    "text.parse_math": False,
}

# ----------------------------------------------------------------------------------------------- colours
#: Sequential colour ramp of the choropleth classes (ColorBrewer YlGnBu, light = low).
SEQUENTIAL_CMAP = "YlGnBu"
#: Suppressed for confidentiality: grey, hatched "////".
SUPPRESSED_FACE = "#d4d4d4"
SUPPRESSED_HATCH = "/////"
#: No value (not available, all-NaN indicator, district missing from the table): white, hatched "....".
MISSING_FACE = "#ffffff"
MISSING_HATCH = "....."
HATCH_COLOUR = "#6f6f6f"
SUPPRESSED_DE = "Wert gesperrt (Geheimhaltung)"
NO_VALUE_DE = "kein Wert"
TOO_SMALL_DE = "zu klein für Milieuwerte"

#: LISA cluster colours as in GeoDa (Anselin): HH red, LL blue, HL light red, LH light blue,
#: not significant light grey, island white (drawn with an outline).
LISA_COLOURS: dict[str, str] = {
    "HH": "#ff0000",
    "LL": "#0000ff",
    "HL": "#f4ada8",
    "LH": "#a7adf9",
    "not_significant": "#eeeeee",
    "island": "#ffffff",
}

#: Population pyramid: (sex, migration status) -> colour; men blue, women orange-red, "mit MH" dark.
MH_COLOURS: dict[tuple[str, str], str] = {
    ("m", "mit MH"): "#1f5f8b",
    ("m", "ohne MH"): "#9cc3e0",
    ("w", "mit MH"): "#b5442b",
    ("w", "ohne MH"): "#f2b49b",
}

#: Qualitative colours (Okabe & Ito 2008, "Color Universal Design", without its black, so that labels
#: stay readable on every fill): distinguishable with deuteranopia, protanopia and tritanopia, and in
#: grey print by their lightness. Every figure that tells categories apart by colour uses these, at most
#: :data:`MAX_CATEGORICAL_COLOURS` of them; further categories are grouped (grey, "übrige …") or hatched.
OKABE_ITO: tuple[str, ...] = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")
MAX_CATEGORICAL_COLOURS = len(OKABE_ITO)
#: Grouped categories ("übrige Typen", "übrige Regionen"): a grey apart from every palette colour.
OTHER_CATEGORY_COLOUR = "#bdbdbd"
#: Origin regions (codes of :data:`quarterstats.catalogue.ORIGIN_REGIONS`): the largest regions of the
#: city get these colours in catalogue order, the others are grouped as "übrige Regionen"
#: (:data:`OTHER_CATEGORY_COLOUR`, see :mod:`.bars`).
REGION_PALETTE: tuple[str, ...] = OKABE_ITO


def sequential_colours(k: int) -> list[str]:
    """``k`` colours of the sequential ramp, light to dark (one class: the middle tone)."""
    cmap = matplotlib.colormaps[SEQUENTIAL_CMAP]
    if k <= 1:
        return [to_hex(cmap(0.5))]
    return [to_hex(cmap(x)) for x in np.linspace(0.12, 0.9, k)]


def categorical_colours(k: int) -> list[str]:
    """``k`` colour-blind-safe qualitative colours (at most :data:`MAX_CATEGORICAL_COLOURS`; callers group
    the rest as "übrige" in :data:`OTHER_CATEGORY_COLOUR`)."""
    if k > MAX_CATEGORICAL_COLOURS:
        raise ValueError(f"at most {MAX_CATEGORICAL_COLOURS} categorical colours, asked for {k}")
    return list(OKABE_ITO[:k])


# ------------------------------------------------------------------------------------------- numbers
_UNIT_DECIMALS = {"%": 1, "je 100": 1, "je 1.000": 1, "Einw./km²": 0, "Personen": 0, "Haushalte": 0,
                  "Jahre": 1, "Personen je Haushalt": 2, "Index": 2, "z-Wert": 2}


def decimals_for_unit(unit: str | None) -> int:
    """Default number of decimals of values in ``unit`` (1 for percentages and ratios, 0 for densities)."""
    return _UNIT_DECIMALS.get(unit or "", 1)


def format_number(x: float | None, decimals: int = 1, *, sign: bool = False) -> str:
    """German number: ``1234.56`` -> ``"1.234,6"``, ``-0.3`` -> ``"−0,3"`` (typographic minus).

    NaN/None -> ``"x"`` (DIN 55301: "–" would mean exactly zero). A value that rounds to zero is printed without a sign. ``sign=True`` prefixes
    positive values with ``+`` (changes).
    """
    if x is None:
        return NOT_AVAILABLE
    value = float(x)
    if not math.isfinite(value):
        return NOT_AVAILABLE
    text = f"{abs(value):,.{decimals}f}"
    text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    is_zero = float(text.replace(".", "").replace(",", ".")) == 0.0
    if value < 0 and not is_zero:
        return "\u2212" + text
    if sign and value > 0 and not is_zero:
        return "+" + text
    return text


def format_percent(x: float | None, decimals: int = 1) -> str:
    """German percentage with a space before the sign: ``12.34`` -> ``"12,3 %"``."""
    text = format_number(x, decimals)
    return text if text == NOT_AVAILABLE else f"{text} %"


class GermanTickFormatter(Formatter):
    """Tick labels as German numbers with as many decimals as the tick positions need (at most
    ``max_decimals``; 0,025 steps get three), ``absolute=True`` drops the sign (pyramids)."""

    def __init__(self, *, absolute: bool = False, suffix: str = "", max_decimals: int = 4) -> None:
        self.absolute = absolute
        self.suffix = suffix
        self.max_decimals = max_decimals
        self._tick_locs = np.zeros(0)

    def set_locs(self, locs) -> None:
        """Called by the axis with the tick positions before the labels are formatted."""
        self._tick_locs = np.asarray(locs, dtype=np.float64)

    def _decimals(self) -> int:
        locs = self._tick_locs[np.isfinite(self._tick_locs)]
        for d in range(self.max_decimals + 1):
            if np.all(np.abs(np.round(locs, d) - locs) < 1e-9 * np.maximum(1.0, np.abs(locs))):
                return d
        return self.max_decimals

    def __call__(self, x, pos=None) -> str:
        return format_number(abs(x) if self.absolute else x, self._decimals()) + self.suffix


def german_formatter(decimals: int | None = None, *, absolute: bool = False, suffix: str = ""):
    """A tick formatter writing German numbers: a fixed number of ``decimals``, or (None) as many as the
    tick positions need (:class:`GermanTickFormatter`)."""
    if decimals is None:
        return GermanTickFormatter(absolute=absolute, suffix=suffix)

    def fmt(x, _pos=None):
        return format_number(abs(x) if absolute else x, decimals) + suffix

    return FuncFormatter(fmt)


#: Tick steps of value axes: 1, 2, 5 and 10 times a power of ten.
NICE_STEPS = (1, 2, 5, 10)


def as_date(value) -> date:
    """A reference date from a date, datetime, Timestamp or ISO string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def format_date(value) -> str:
    """``2024-12-31`` -> ``"31.12.2024"``."""
    return as_date(value).strftime("%d.%m.%Y")


# ------------------------------------------------------------------------------------- source line
def protection_short_de(meta: Mapping) -> str:
    """Short name of the disclosure control for the source line.

    ``meta["protection_short_de"]`` when given; otherwise derived from ``meta["protection_de"]``:
    "Cell-Key-Methode" or "Zellsperrung (gesperrte Werte *)", else the sentence up to its first colon or
    semicolon (at most 60 characters).
    """
    short = meta.get("protection_short_de")
    if short:
        return str(short)
    text = str(meta.get("protection_de") or "").strip()
    if not text:
        return "keine Angabe"
    if re.search(r"cell[- ]key", text, flags=re.IGNORECASE):
        return "Cell-Key-Methode"
    if "Zellsperrung" in text or "gesperrt" in text:
        return "Zellsperrung (gesperrte Werte *)"
    first = re.split(r"[:;]", text)[0].strip().rstrip(".")
    return textwrap.shorten(first, width=60, placeholder=" …")


def source_line(meta: Mapping, dates: tuple | None = None) -> str:
    """"Quelle: <source>; Stichtag <dd.mm.yyyy>; Geheimhaltung: <short>; quarterstats <version>".

    ``dates=(first, last)`` for figures over several reference dates: "Stichtage <first> bis <last>".
    """
    source = meta.get("source") or "Melderegister"
    if dates is not None and as_date(dates[0]) != as_date(dates[1]):
        when = f"Stichtage {format_date(dates[0])} bis {format_date(dates[1])}"
    else:
        when = f"Stichtag {format_date(meta['reference_date'] if dates is None else dates[1])}"
    version = meta.get("code_version") or "unbekannt"
    return f"Quelle: {source}; {when}; Geheimhaltung: {protection_short_de(meta)}; quarterstats {version}"


# ------------------------------------------------------------------------------------------ figures
@dataclass
class Drawn:
    """A drawn figure with its German title and caption (before it is saved)."""

    figure: Figure
    title_de: str
    caption_de: str


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Apply :data:`HOUSE_RC` for the block (restores the caller's rcParams afterwards)."""
    with matplotlib.rc_context(HOUSE_RC):
        yield


def new_figure(width_cm: float, height_cm: float) -> Figure:
    """A white figure of a fixed size on matplotlib's base canvas.

    The base canvas never renders on ``draw_idle`` (geopandas calls it after every plot; an Agg canvas
    would render the whole figure each time); ``savefig`` switches to Agg/SVG for writing."""
    return Figure(figsize=(width_cm * CM, height_cm * CM), dpi=PNG_DPI)


def renderer(fig: Figure) -> RendererAgg:
    """An Agg renderer of the figure's size and dpi, to measure text and legend extents."""
    return RendererAgg(int(round(fig.bbox.width)), int(round(fig.bbox.height)), fig.dpi)


_MEASURING: RendererAgg | None = None
#: Where a line may break: before a space, after "/" and "-" (district names such as
#: "Innenstadt Nord/Kaiserberg" or "Bännjerrück/Karl-Pfaff-Siedlung").
_BREAKS = re.compile(r"(?<=[/\-])|(?= )")
_SPACES = re.compile(r"(?= )")


def text_width_pt(text: str, fontsize: float, *, weight: str = "normal") -> float:
    """Width in pt of the widest line of ``text`` as drawn (inert, in the house font) at ``fontsize``."""
    global _MEASURING
    if _MEASURING is None:
        _MEASURING = RendererAgg(8, 8, PNG_DPI)  # at the dpi of the PNG files (hinting depends on it)
    prop = FontProperties(family=[FONT_FAMILY], size=fontsize, weight=weight)
    return max(_MEASURING.get_text_width_height_descent(display_text(line), prop, ismath=False)[0]
               for line in str(text).split("\n")) * 72 / PNG_DPI


def wrap_to_width(text: str, width_pt: float, fontsize: float, *, weight: str = "normal",
                  at_slashes: bool = True) -> str:
    """``text`` broken into lines that each fit ``width_pt`` at ``fontsize``, measured with the house font.

    Lines break before spaces and (``at_slashes``) after "/" and "-"; nothing is ever cut off or replaced
    by "…": a single word wider than ``width_pt`` keeps a line of its own (the layout test would report
    it). Existing line breaks are kept."""
    pattern = _BREAKS if at_slashes else _SPACES
    out: list[str] = []
    for paragraph in str(text).split("\n"):
        current = ""
        for token in (t for t in pattern.split(paragraph) if t):
            candidate = current + token
            if current.strip() and text_width_pt(candidate.strip(), fontsize, weight=weight) > width_pt:
                out.append(current.strip())
                current = token.lstrip()
            else:
                current = candidate
        out.append(current.strip())
    return "\n".join(out)


def _wrap_to_width(text: str, fig: Figure, fontsize: float, width_fraction: float, *,
                   weight: str = "normal") -> str:
    """Wrap ``text`` at spaces so that it fits ``width_fraction`` of the figure width."""
    return wrap_to_width(text, fig.get_figwidth() * 72 * width_fraction, fontsize, weight=weight,
                         at_slashes=False)


#: Font size of the source line and of the note above it (the smallest text a figure has).
SOURCE_FONT_PT = MIN_FONT_PT


_TITLE_PT, _SUBTITLE_PT = 10.5, 7.5
_TOP, _BOTTOM, _LEFT = 0.985, 0.012, 0.02
_TEXT_WIDTH = 0.96  # of the figure width


def _header_block(width_in: float, title: str, subtitle: str | None) -> tuple[str, str | None, float, float]:
    """(wrapped title, wrapped subtitle, height of the title lines, height of the whole header) in pt."""
    width_pt = width_in * 72 * _TEXT_WIDTH
    title = wrap_to_width(title, width_pt, _TITLE_PT, weight="bold", at_slashes=False)
    title_pt = (title.count("\n") + 1) * 13.5
    height = title_pt
    if subtitle:
        subtitle = wrap_to_width(subtitle, width_pt, _SUBTITLE_PT, at_slashes=False)
        height += 2 + (subtitle.count("\n") + 1) * _SUBTITLE_PT * 1.2 * 1.17
    return title, subtitle, title_pt, height + 6


def _source_block(width_in: float, meta: Mapping, note: str | None, dates: tuple | None) -> tuple[str, float]:
    """(wrapped note and source line, height of the block including its gap above) in pt."""
    width_pt = width_in * 72 * _TEXT_WIDTH
    text = wrap_to_width(source_line(meta, dates), width_pt, SOURCE_FONT_PT, at_slashes=False)
    if note:
        text = wrap_to_width(note, width_pt, SOURCE_FONT_PT, at_slashes=False) + "\n" + text
    return text, (text.count("\n") + 1) * SOURCE_FONT_PT * 1.25 * 1.17 + 4


def header_height_cm(title: str, subtitle: str | None = None, width_cm: float = 16.0) -> float:
    """Height that :func:`add_header` takes at the top of a figure ``width_cm`` wide (for figures whose
    height is computed from their content)."""
    return _header_block(width_cm * CM, title, subtitle)[3] / 72 / CM + 0.4  # 0.4: the margin above (≤ 25 cm)


def source_height_cm(meta: Mapping, *, note: str | None = None, dates: tuple | None = None,
                     width_cm: float = 16.0) -> float:
    """Height that :func:`add_source_line` takes at the bottom of a figure ``width_cm`` wide."""
    return _source_block(width_cm * CM, meta, note, dates)[1] / 72 / CM + 0.35  # 0.35: the margin below


def add_header(fig: Figure, title: str, subtitle: str | None = None, *, top: float = _TOP,
               left: float = _LEFT) -> float:
    """Title (bold, 10.5 pt) and subtitle (7.5 pt, grey) at the top left, wrapped to the figure width;
    returns the y below them (figure fraction) where the plot area may start."""
    height_pt = fig.get_figheight() * 72
    title, subtitle, title_pt, block_pt = _header_block(fig.get_figwidth(), title, subtitle)
    fig.text(left, top, title, ha="left", va="top", fontsize=_TITLE_PT, fontweight="bold", color="#111111",
             gid="figure_title")
    if subtitle:
        fig.text(left, top - (title_pt + 2) / height_pt, subtitle, ha="left", va="top", fontsize=_SUBTITLE_PT,
                 color="#555555", gid="figure_subtitle", linespacing=1.2)
    return top - block_pt / height_pt


def add_source_line(fig: Figure, meta: Mapping, *, note: str | None = None, dates: tuple | None = None,
                    bottom: float = _BOTTOM, left: float = _LEFT) -> float:
    """Source line (and an optional note above it) at the bottom left in 7 pt grey, wrapped to the figure
    width; returns the y above the block (figure fraction), where the plot area may end."""
    height_pt = fig.get_figheight() * 72
    text, block_pt = _source_block(fig.get_figwidth(), meta, note, dates)
    fig.text(left, bottom, text, ha="left", va="bottom", fontsize=SOURCE_FONT_PT, color="#666666",
             linespacing=1.25, gid="source_line")
    return bottom + block_pt / height_pt


def panel_grid(n: int, ncols: int, title_lines: list[int], *, header_cm: float, footer_cm: float,
               panel_cm: float, left_cm: float, right_cm: float = 0.3, col_gap_cm: float = 0.35,
               below_cm: float = 0.75, width_cm: float = 16.0,
               title_pt: float = MIN_FONT_PT) -> tuple[float, list[tuple[float, float, float, float]]]:
    """Layout of ``n`` small-multiple panels in ``ncols`` columns, each with a title of ``title_lines[k]``
    lines above it and tick labels below (``below_cm``): (figure height in cm, axes boxes as figure
    fractions). Each row is as high as its longest title needs, so full names never run into a panel."""
    line_cm = title_pt * 1.2 * 1.17 / 72 / CM
    panel_w = (width_cm - left_cm - right_cm - (ncols - 1) * col_gap_cm) / ncols
    y = header_cm
    tops: list[float] = []
    for row in range(math.ceil(n / ncols)):
        lines = max(title_lines[row * ncols:(row + 1) * ncols] or [1])
        y += lines * line_cm + 0.12
        tops.append(y)
        y += panel_cm + below_cm
    height = y + footer_cm
    boxes = []
    for k in range(n):
        row, col = divmod(k, ncols)
        x0 = left_cm + col * (panel_w + col_gap_cm)
        boxes.append((x0 / width_cm, 1 - (tops[row] + panel_cm) / height, panel_w / width_cm, panel_cm / height))
    return height, boxes


def panel_width_pt(ncols: int, *, left_cm: float, right_cm: float = 0.3, col_gap_cm: float = 0.35,
                   width_cm: float = 16.0) -> float:
    """Width of one panel of :func:`panel_grid` in pt (the room of its title)."""
    return (width_cm - left_cm - right_cm - (ncols - 1) * col_gap_cm) / ncols * CM * 72


def make_text_inert(fig: Figure) -> None:
    """Every text of ``fig`` through :func:`quarterstats.safe_text.display_text`: the texts it holds
    (titles, labels, legends, annotations, captions) and the tick labels, which their formatter sets
    while the figure is drawn (so each formatter is wrapped). One place for all figures, applied by
    :func:`save_figure`, so that no text path can be forgotten."""
    for axes in fig.axes:
        for axis in (axes.xaxis, axes.yaxis):
            if not isinstance(axis.get_major_formatter(), _InertFormatter):
                axis.set_major_formatter(_InertFormatter(axis.get_major_formatter()))
            if not isinstance(axis.get_minor_formatter(), _InertFormatter):
                axis.set_minor_formatter(_InertFormatter(axis.get_minor_formatter()))
    for text in fig.findobj(Text):
        content = text.get_text()
        inert = display_text(content)
        if inert != content:
            text.set_text(inert)


class _InertFormatter(Formatter):
    """A tick formatter whose labels are those of ``inner``, made inert."""

    def __init__(self, inner: Formatter) -> None:
        self.inner = inner

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs) -> None:
        self.inner.set_locs(locs)

    def __call__(self, x, pos=None) -> str:
        return display_text(self.inner(x, pos))

    def format_ticks(self, values) -> list[str]:
        return [display_text(label) for label in self.inner.format_ticks(values)]

    def get_offset(self) -> str:
        return display_text(self.inner.get_offset())


def save_figure(fig: Figure, png: BinaryIO, svg: BinaryIO) -> None:
    """Write the figure as PNG (150 dpi) into ``png`` and as SVG into ``svg`` (binary file objects; the
    caller writes them to files, atomically).

    Reproducible bytes: PNG without the "Software" tag, SVG without a date (``svg.hashsalt`` is set by
    :func:`house_style`, which must be active). Every text is made inert first (:func:`make_text_inert`)."""
    make_text_inert(fig)
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None})
