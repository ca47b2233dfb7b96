"""Population pyramids by migration status: the city (5-year bands) and small multiples of the districts.

Input: the protected counts by area × age band × sex × migration status (publication interface, input 4).
Men are drawn to the left, women to the right, each bar stacked from the axis outwards: residents with a
migration background ("mit MH", dark shade) first, then those without ("ohne MH", light shade), so the
MH part can be read off the axis directly. The x axis shows absolute counts (persons). Suppressed cells
(count NaN, flag "*") are left empty — the next segment starts where the known ones end — and marked
with "*" at the end of the bar. Persons with sex "d"/"x" are too few to show and are not in the input.

The district page shows every district (10-year bands, one panel each). To compare the age structure of
small and large districts, the district panels show shares (per cent of the area's residents: the
published ``pop``, else the sum of its published cells) on one scale: every panel has the same x and y
limits and ticks. Panel titles carry the full district name, wrapped to the panel width (never cut).
With more than :data:`MAX_DISTRICT_PANELS` districts only the city and the :data:`LARGEST_SHOWN` largest
districts (by residents) are shown.
"""

from __future__ import annotations

import re
import math
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from quarterstats.indicators.common import natural_key

from . import style
from .inputs import CITY_ID, district_frame, indicator_values
from .style import MH_COLOURS, Drawn

__all__ = ["LARGEST_SHOWN", "MAX_DISTRICT_PANELS", "city_pyramid", "district_pyramids", "draw_pyramid", "panel_title"]

MAX_DISTRICT_PANELS = 24
LARGEST_SHOWN = 12
SEXES = (("m", -1, "Männer"), ("w", 1, "Frauen"))
MH_ORDER = ("mit MH", "ohne MH")
SEX_NOTE_DE = ("Personen mit Geschlechtseintrag „divers“ oder ohne Angabe sind, wie in der amtlichen Statistik, "
               "zufällig Männern oder Frauen zugeordnet.")


def _bands(cells: pd.DataFrame) -> list[str]:
    order = cells[["age_band", "age_band_order"]].drop_duplicates().sort_values("age_band_order", kind="stable")
    return [str(b) for b in order["age_band"].drop_duplicates()]


def _lower_bound(band: str) -> int | None:
    """Lower age of a band label such as "0–4", "80+", "85-89" (None when it has no leading number)."""
    match = re.match(r"\s*(\d+)", str(band))
    return int(match.group(1)) if match else None


def rebin(cells: pd.DataFrame, bands: list[str]) -> pd.DataFrame:
    """Cells regrouped into coarser ``bands`` (e.g. the city's 5-year bands into the districts' 10-year
    bands): each cell goes to the last band whose lower bound is at most the cell's lower bound; counts
    are summed, and a sum with a suppressed part keeps the known sum and the flag "*"."""
    lowers = [_lower_bound(b) for b in bands]
    if any(lo is None for lo in lowers):
        return cells
    target = []
    for band in cells["age_band"].astype(str):
        lo = _lower_bound(band)
        pos = max([i for i, b in enumerate(lowers) if lo is not None and b <= lo] or [0])
        target.append(pos)
    frame = cells.assign(
        _pos=target,
        _count=pd.to_numeric(cells["count"], errors="coerce"),
        _suppressed=(cells["flag"].astype(str).str.strip() == "*") if "flag" in cells.columns else False,
    )
    grouped = frame.groupby(["_pos", "sex", "mh"], sort=True).agg(
        count=("_count", lambda c: float(np.nansum(c))), suppressed=("_suppressed", "any")).reset_index()
    return pd.DataFrame({
        "district_id": cells["district_id"].iloc[0] if len(cells) else "",
        "age_band": [bands[i] for i in grouped["_pos"]],
        "age_band_order": grouped["_pos"].to_numpy(),
        "sex": grouped["sex"].to_numpy(),
        "mh": grouped["mh"].to_numpy(),
        "count": grouped["count"].to_numpy(),
        "flag": np.where(grouped["suppressed"].to_numpy(), "*", ""),
    })


def _matrix(cells: pd.DataFrame, bands: list[str]) -> tuple[dict, dict]:
    """(counts, suppressed) per (sex, mh): arrays over the bands (NaN / True where suppressed)."""
    counts, suppressed = {}, {}
    index = {b: i for i, b in enumerate(bands)}
    pos = cells["age_band"].astype(str).map(index).to_numpy()
    value = pd.to_numeric(cells["count"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    flag = cells["flag"].astype(str).str.strip().to_numpy() if "flag" in cells.columns else np.full(len(cells), "")
    sex = cells["sex"].astype(str).to_numpy()
    mh = cells["mh"].astype(str).to_numpy()
    for s, _, _ in SEXES:
        for m in MH_ORDER:
            sel = (sex == s) & (mh == m) & ~np.isnan(pos.astype(np.float64))
            c = np.zeros(len(bands))
            sup = np.zeros(len(bands), dtype=bool)
            p = pos[sel].astype(int)
            v = value[sel]
            c[p] = np.where(np.isfinite(v), v, 0.0)
            sup[p] = (flag[sel] == "*") | ~np.isfinite(v)
            counts[(s, m)], suppressed[(s, m)] = c, sup
    return counts, suppressed


def _widest(cells: pd.DataFrame, bands: list[str]) -> float:
    """The longest bar (men or women, both segments) of a pyramid."""
    counts, _ = _matrix(cells, bands)
    return max(float((counts[(sex, "mit MH")] + counts[(sex, "ohne MH")]).max(initial=0.0)) for sex, _, _ in SEXES)


def draw_pyramid(ax: Axes, cells: pd.DataFrame, bands: list[str] | None = None, *, compact: bool = False,
                 key: str = "city", limit: float | None = None) -> int:
    """Draw one pyramid into ``ax``; returns the number of suppressed cells (marked "*"). ``key`` makes
    the SVG ids of the artists unique within a page of several pyramids; ``limit`` is the half-width of
    the x axis (shared by the panels of a page), by default 1.15 × the longest bar."""
    bands = bands if bands is not None else _bands(cells)
    counts, suppressed = _matrix(cells, bands)
    y = np.arange(len(bands))
    height = 0.84
    n_suppressed = 0
    for sex, sign, _ in SEXES:
        left = np.zeros(len(bands))
        for mh in MH_ORDER:
            c = counts[(sex, mh)]
            ax.barh(y, sign * c, left=sign * left, height=height, color=MH_COLOURS[(sex, mh)], linewidth=0)
            left = left + c
        marks = suppressed[(sex, "mit MH")] | suppressed[(sex, "ohne MH")]
        n_suppressed += int(suppressed[(sex, "mit MH")].sum() + suppressed[(sex, "ohne MH")].sum())
        for i in np.flatnonzero(marks):
            ax.text(sign * left[i], y[i], " *" if sign > 0 else "* ", ha="left" if sign > 0 else "right",
                    va="center", fontsize=style.MIN_FONT_PT, color="#555555",
                    gid=f"suppressed_mark_{key}_{sex}_{i}")
    if limit is None:
        widest = _widest(cells, bands)
        limit = widest * 1.15 if widest > 0 else 1.0
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-0.6, len(bands) - 0.4 + (0 if compact else 1.0))  # headroom for "Männer" / "Frauen"
    ax.set_yticks(y, bands)
    ax.axvline(0, color="#444444", linewidth=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if compact else 6, symmetric=True, integer=not compact,
                                           steps=style.NICE_STEPS))
    ax.xaxis.set_major_formatter(style.german_formatter(absolute=True))
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    if not compact:  # the district panels say it in the subtitle and the legend
        for sex, sign, label in SEXES:
            ax.text(0.5 + sign * 0.47, 0.985, label, transform=ax.transAxes, ha="left" if sign < 0 else "right",
                    va="top", fontsize=7.5, color="#444444")
    return n_suppressed


def _legend_handles(short: bool = False) -> tuple[list[Patch], list[str]]:
    handles, labels = [], []
    for sex, _, label in SEXES:
        for mh in MH_ORDER:
            handles.append(Patch(facecolor=MH_COLOURS[(sex, mh)], linewidth=0))
            labels.append(f"{label} {mh if short else mh.replace('MH', 'Migrationshintergrund')}")
    return handles, labels


def _suppressed_note(n: int) -> str:
    if n == 0:
        return "Keine gesperrten Werte."
    return (f"{n} gesperrte {'Zelle' if n == 1 else 'Zellen'} (Geheimhaltung) sind leer gelassen und mit * markiert; "
            "die folgenden Segmente beginnen am Ende der bekannten Werte.")


def city_pyramid(pyramid: pd.DataFrame | None, meta: Mapping) -> Drawn | None:
    """Pyramid of the whole city (5-year bands) by sex and migration status; None without city rows."""
    if pyramid is None or len(pyramid) == 0:
        return None
    cells = pyramid[pyramid["district_id"].astype(str) == CITY_ID]
    if cells.empty:
        return None
    title = "Bevölkerung nach Alter, Geschlecht und Migrationshintergrund"
    when = style.format_date(meta["reference_date"])
    subtitle = f"{meta.get('city_name') or 'Stadt'}, Stadt insgesamt, Stichtag {when}"
    fig = style.new_figure(16.0, 13.0)
    top = style.add_header(fig, title, subtitle)
    bottom = style.add_source_line(fig, meta, note=SEX_NOTE_DE)
    below = 2.1 / 13.0  # legend (two rows), x tick labels and axis label: 2.1 cm
    ax = fig.add_axes((0.1, bottom + below, 0.86, top - bottom - below - 0.02))
    n_sup = draw_pyramid(ax, cells)
    ax.set_xlabel("Personen")
    ax.set_ylabel("Alter in Jahren")
    handles, labels = _legend_handles()
    fig.legend(handles, labels, loc="lower center", ncol=2, bbox_to_anchor=(0.53, bottom + 0.005),
           handlelength=1.6, columnspacing=2.0)
    caption = (
        f"Einwohner der Stadt nach 5-Jahres-Altersgruppen, Geschlecht (Männer links, Frauen rechts) und "
        f"Migrationshintergrund (dunkel: mit, hell: ohne), Stichtag {when}; x-Achse: Personen (Anzahl). "
        f"{SEX_NOTE_DE} {_suppressed_note(n_sup)} {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)


def _population(published: pd.DataFrame | None, pyramid: pd.DataFrame, ids: list[str]) -> np.ndarray:
    """Residents of each area: the published ``pop`` where it is a number, else the sum of the area's
    published pyramid cells (the city: ``CITY_ID``)."""
    pop = np.full(len(ids), np.nan)
    if published is not None and len(published):
        values = indicator_values(published, "pop", [i for i in ids if i != CITY_ID])
        by_id = dict(zip(values.district_ids, values.values))
        pop = np.array([values.city_value if i == CITY_ID else by_id[i] for i in ids], dtype=np.float64)
    sums = pyramid.assign(_c=pd.to_numeric(pyramid["count"], errors="coerce")).groupby(
        pyramid["district_id"].astype(str))["_c"].sum()
    return np.where(np.isfinite(pop) & (pop > 0), pop, [float(sums.get(d, 0.0)) for d in ids])


def _largest(published: pd.DataFrame | None, pyramid: pd.DataFrame, ids: list[str], n: int) -> list[str]:
    """The ``n`` districts with most residents (published ``pop``, else the sum of the pyramid cells)."""
    size = _population(published, pyramid, ids)
    ranked = sorted(range(len(ids)), key=lambda i: (-size[i], natural_key(ids[i])))
    return sorted((ids[i] for i in ranked[:n]), key=natural_key)


#: Font size of the panel titles (district id and full name).
PANEL_TITLE_PT = style.MIN_FONT_PT
_LEFT_CM, _PANEL_CM, _GAP_CM = 1.05, 3.0, 0.45


def panel_title(label: str, width_pt: float) -> str:
    """The full label of a panel, wrapped to the panel width (never cut)."""
    return style.wrap_to_width(label, width_pt, PANEL_TITLE_PT)


def _share_ticks(limit: float) -> list[float]:
    """Symmetric ticks, one or two on each side of 0: the step is the smallest of 1, 2, 5 × 10^k that is
    at least 0.35 × ``limit`` (so at most 5 labels share a narrow panel), and ticks stay within
    0.9 × ``limit``, clear of the panel edges where the labels of neighbouring panels meet."""
    if not limit > 0:
        return [0.0]
    power = 10.0 ** math.floor(math.log10(0.35 * limit))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= 0.35 * limit - 1e-12)
    n = max(1, int(math.floor(0.9 * limit / step + 1e-9)))
    return [float(k * step) for k in range(-n, n + 1)]


def district_pyramids(pyramid: pd.DataFrame | None, published: pd.DataFrame | None,
                      districts: gpd.GeoDataFrame, meta: Mapping) -> Drawn | None:
    """Small multiples: one pyramid per district (10-year bands, shares of the district's residents on one
    scale); with more than 24 districts the city and the 12 largest districts. None without district rows."""
    if pyramid is None or len(pyramid) == 0:
        return None
    frame = district_frame(districts, published)
    names = dict(zip(frame["district_id"], frame["name"]))
    area_ids = pyramid["district_id"].astype(str)
    ids = [d for d in frame["district_id"] if (area_ids == d).any()]
    if not ids:
        return None
    selection_note = ""
    if len(ids) > MAX_DISTRICT_PANELS:
        shown = ([CITY_ID] if (area_ids == CITY_ID).any() else []) + _largest(published, pyramid, ids, LARGEST_SHOWN)
        selection_note = (f" Wegen der großen Zahl der Bezirke ({len(ids)}) sind nur die Stadt insgesamt und die "
                          f"{LARGEST_SHOWN} einwohnerstärksten Bezirke dargestellt.")
    else:
        shown = ids
    bands = _bands(pyramid[area_ids != CITY_ID])
    population = dict(zip(shown, _population(published, pyramid, shown)))
    panels = {}
    for area in shown:
        cells = pyramid[area_ids == area]
        if area == CITY_ID:
            cells = rebin(cells, bands)  # the city's 5-year bands in the districts' 10-year bands
        total = population[area]
        counts = pd.to_numeric(cells["count"], errors="coerce")
        panels[area] = cells.assign(count=100.0 * counts / total if total > 0 else np.nan)
    widest = max(_widest(cells, bands) for cells in panels.values())
    limit = widest * 1.15 if widest > 0 else 1.0

    n = len(shown)
    ncols = min(n, 4) if n <= 8 else 5
    width_pt = style.panel_width_pt(ncols, left_cm=_LEFT_CM, col_gap_cm=_GAP_CM)
    titles = [panel_title("Stadt insgesamt" if area == CITY_ID else f"{area} {names.get(area, area)}", width_pt)
              for area in shown]
    title = "Altersaufbau der Bezirke nach Migrationshintergrund"
    when = style.format_date(meta["reference_date"])
    subtitle = (f"{meta.get('city_name') or 'Stadt'}, Stichtag {when}; 10-Jahres-Altersgruppen, "
                f"Männer links, Frauen rechts; Anteil an den Einwohnern des Bezirks in %, gleiche Skala "
                f"in allen Feldern; MH = Migrationshintergrund")
    note = SEX_NOTE_DE + selection_note
    legend_cm = 0.75
    height_cm, boxes = style.panel_grid(
        n, ncols, [t.count("\n") + 1 for t in titles], header_cm=style.header_height_cm(title, subtitle),
        footer_cm=style.source_height_cm(meta, note=note) + legend_cm, panel_cm=_PANEL_CM, left_cm=_LEFT_CM,
        col_gap_cm=_GAP_CM, title_pt=PANEL_TITLE_PT)
    fig = style.new_figure(16.0, height_cm)
    style.add_header(fig, title, subtitle)
    bottom = style.add_source_line(fig, meta, note=note)
    ticks = _share_ticks(limit)
    n_sup = 0
    for k, (area, box) in enumerate(zip(shown, boxes)):
        ax = fig.add_axes(box, gid=f"pyramid_panel_{area}")
        n_sup += draw_pyramid(ax, panels[area], bands, compact=True, key=area, limit=limit)
        ax.set_xticks(ticks)
        ax.set_title(titles[k], fontsize=PANEL_TITLE_PT, loc="left", pad=3, linespacing=1.2)
        if k % ncols:
            ax.tick_params(axis="y", labelleft=False)
    handles, labels = _legend_handles(short=True)
    fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, bottom), handlelength=1.4,
               columnspacing=1.5, borderaxespad=0.2)
    caption = (
        f"Einwohner der {'ausgewählten ' if selection_note else ''}Bezirke nach 10-Jahres-Altersgruppen, Geschlecht "
        f"(Männer links, Frauen rechts) und Migrationshintergrund (dunkel: mit, hell: ohne), Stichtag {when}; "
        f"x-Achse: Anteil an den Einwohnern des Bezirks in %, in allen Feldern dieselbe Skala.{selection_note} "
        f"{SEX_NOTE_DE} {_suppressed_note(n_sup)} {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)
