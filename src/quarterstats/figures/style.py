"""The house style of every report figure: fonts, colours, German number formatting, title and source line.

One place for how figures look, so that maps, pyramids, bars and trends read as one report:

* font DejaVu Sans (ships with matplotlib, so every machine renders the same glyphs), 6–11 pt;
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
    "REGION_COLOURS",
    "SUPPRESSED_DE",
    "SUPPRESSED_FACE",
    "SUPPRESSED_HATCH",
    "TOO_SMALL_DE",
    "Drawn",
    "add_header",
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

#: rcParams applied while figures are drawn and saved (see :func:`house_style`).
HOUSE_RC: dict[str, object] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": 7.5,
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
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "legend.fontsize": 6.5,
    "legend.title_fontsize": 7,
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

#: Origin regions (codes of :data:`quarterstats.catalogue.ORIGIN_REGIONS`), colour-blind-safe palette
#: (Okabe–Ito plus two muted tones); stateless/unknown in grey.
REGION_COLOURS: dict[str, str] = {
    "eu": "#0072b2",
    "other_europe": "#56b4e9",
    "former_soviet_union": "#009e73",
    "turkey": "#d55e00",
    "mena": "#e69f00",
    "subsaharan_africa": "#cc79a7",
    "rest_of_asia": "#f0e442",
    "americas": "#8c6d31",
    "oceania": "#7f7fbf",
    "stateless_unknown": "#9a9a9a",
}

#: Qualitative colours for categorical maps (milieu types): ColorBrewer Set3 without its grey.
_CATEGORICAL = (
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f",
)
OTHER_CATEGORY_COLOUR = "#bdbdbd"


def sequential_colours(k: int) -> list[str]:
    """``k`` colours of the sequential ramp, light to dark (one class: the middle tone)."""
    cmap = matplotlib.colormaps[SEQUENTIAL_CMAP]
    if k <= 1:
        return [to_hex(cmap(0.5))]
    return [to_hex(cmap(x)) for x in np.linspace(0.12, 0.9, k)]


def categorical_colours(k: int) -> list[str]:
    """``k`` distinguishable qualitative colours (at most 11; callers group the rest as "übrige")."""
    if k > len(_CATEGORICAL):
        raise ValueError(f"at most {len(_CATEGORICAL)} categorical colours, asked for {k}")
    return list(_CATEGORICAL[:k])


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


def _wrap_to_width(text: str, fig: Figure, fontsize: float, width_fraction: float) -> str:
    """Wrap ``text`` so that it fits ``width_fraction`` of the figure width (DejaVu Sans ≈ 0.55 em/char)."""
    width_pt = fig.get_figwidth() * 72 * width_fraction
    chars = max(20, int(width_pt / (0.55 * fontsize)))
    return "\n".join(textwrap.wrap(text, width=chars, break_on_hyphens=False)) or text


def add_header(fig: Figure, title: str, subtitle: str | None = None, *, top: float = 0.985,
               left: float = 0.02) -> float:
    """Title (bold, 10.5 pt) and subtitle (7.5 pt, grey) at the top left; returns the y below them
    (figure fraction) where the plot area may start."""
    height_pt = fig.get_figheight() * 72
    title = _wrap_to_width(title, fig, 10.5, 0.96)
    fig.text(left, top, title, ha="left", va="top", fontsize=10.5, fontweight="bold", color="#111111",
             gid="figure_title")
    y = top - (title.count("\n") + 1) * 13.5 / height_pt
    if subtitle:
        subtitle = _wrap_to_width(subtitle, fig, 7.5, 0.96)
        fig.text(left, y - 2 / height_pt, subtitle, ha="left", va="top", fontsize=7.5, color="#555555",
                 gid="figure_subtitle")
        y -= 2 / height_pt + (subtitle.count("\n") + 1) * 10 / height_pt
    return y - 6 / height_pt


def add_source_line(fig: Figure, meta: Mapping, *, note: str | None = None, dates: tuple | None = None,
                    bottom: float = 0.012, left: float = 0.02) -> float:
    """Source line (and an optional note above it) at the bottom left in 5.5 pt grey; returns the y above
    the block (figure fraction), where the plot area may end."""
    height_pt = fig.get_figheight() * 72
    text = _wrap_to_width(source_line(meta, dates), fig, 5.5, 0.96)
    if note:
        text = _wrap_to_width(note, fig, 5.5, 0.96) + "\n" + text
    fig.text(left, bottom, text, ha="left", va="bottom", fontsize=5.5, color="#666666", linespacing=1.3,
             gid="source_line")
    return bottom + (text.count("\n") + 1) * 5.5 * 1.3 / height_pt + 4 / height_pt


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
