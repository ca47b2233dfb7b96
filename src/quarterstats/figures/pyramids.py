"""Population pyramids by migration status: the city (5-year bands) and small multiples of the districts.

Input: the protected counts by area × age band × sex × migration status (publication interface, input 4).
Men are drawn to the left, women to the right, each bar stacked from the axis outwards: residents with a
migration background ("mit MH", dark shade) first, then those without ("ohne MH", light shade), so the
MH part can be read off the axis directly. The x axis shows absolute counts (persons). Suppressed cells
(count NaN, flag "*") are left empty — the next segment starts where the known ones end — and marked
with "*" at the end of the bar. Persons with sex "d"/"x" are too few to show and are not in the input.

The district page shows every district (10-year bands, one panel each, its own x scale so that the age
structure of small and large districts can be compared); with more than :data:`MAX_DISTRICT_PANELS`
districts only the city and the :data:`LARGEST_SHOWN` largest districts (by residents) are shown.
"""

from __future__ import annotations

import math
import re
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

__all__ = ["LARGEST_SHOWN", "MAX_DISTRICT_PANELS", "city_pyramid", "district_pyramids", "draw_pyramid"]

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


def draw_pyramid(ax: Axes, cells: pd.DataFrame, bands: list[str] | None = None, *, compact: bool = False,
                 key: str = "city") -> int:
    """Draw one pyramid into ``ax``; returns the number of suppressed cells (marked "*"). ``key`` makes
    the SVG ids of the artists unique within a page of several pyramids."""
    bands = bands if bands is not None else _bands(cells)
    counts, suppressed = _matrix(cells, bands)
    y = np.arange(len(bands))
    height = 0.84
    widest = 0.0
    n_suppressed = 0
    for sex, sign, _ in SEXES:
        left = np.zeros(len(bands))
        for mh in MH_ORDER:
            c = counts[(sex, mh)]
            ax.barh(y, sign * c, left=sign * left, height=height, color=MH_COLOURS[(sex, mh)], linewidth=0)
            left = left + c
        widest = max(widest, float(left.max()) if len(left) else 0.0)
        marks = suppressed[(sex, "mit MH")] | suppressed[(sex, "ohne MH")]
        n_suppressed += int(suppressed[(sex, "mit MH")].sum() + suppressed[(sex, "ohne MH")].sum())
        for i in np.flatnonzero(marks):
            ax.text(sign * left[i], y[i], " *" if sign > 0 else "* ", ha="left" if sign > 0 else "right",
                    va="center", fontsize=5.5 if compact else 6.5, color="#555555",
                    gid=f"suppressed_mark_{key}_{sex}_{i}")
    limit = widest * 1.12 if widest > 0 else 1.0
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-0.6, len(bands) + (0.9 if compact else 0.6))  # headroom for "Männer" / "Frauen"
    ax.set_yticks(y, bands)
    ax.axvline(0, color="#444444", linewidth=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=3 if compact else 6, symmetric=True, integer=True,
                                           steps=style.NICE_STEPS))
    ax.xaxis.set_major_formatter(style.german_formatter(absolute=True))
    ax.tick_params(axis="y", length=0, labelsize=5.5 if compact else 6.5)
    ax.tick_params(axis="x", labelsize=5.2 if compact else 6.5)
    ax.spines["left"].set_visible(False)
    for sex, sign, label in SEXES:
        ax.text(0.5 + sign * 0.47, 0.985, label, transform=ax.transAxes, ha="left" if sign < 0 else "right",
                va="top", fontsize=5.5 if compact else 7, color="#444444")
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
    ax = fig.add_axes((0.1, bottom + 0.13, 0.86, top - bottom - 0.15))
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


def _largest(published: pd.DataFrame | None, pyramid: pd.DataFrame, ids: list[str], n: int) -> list[str]:
    """The ``n`` districts with most residents (published ``pop``, else the sum of the pyramid cells)."""
    if published is not None and len(published):
        pop = indicator_values(published, "pop", ids).values
    else:
        pop = np.full(len(ids), np.nan)
    sums = pyramid.assign(_c=pd.to_numeric(pyramid["count"], errors="coerce")).groupby(
        pyramid["district_id"].astype(str))["_c"].sum()
    size = np.where(np.isfinite(pop), pop, [float(sums.get(d, 0.0)) for d in ids])
    ranked = sorted(range(len(ids)), key=lambda i: (-size[i], natural_key(ids[i])))
    return sorted((ids[i] for i in ranked[:n]), key=natural_key)


def district_pyramids(pyramid: pd.DataFrame | None, published: pd.DataFrame | None,
                      districts: gpd.GeoDataFrame, meta: Mapping) -> Drawn | None:
    """Small multiples: one pyramid per district (10-year bands); with more than 24 districts the city
    and the 12 largest districts. None without district rows."""
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
    district_cells = pyramid[area_ids != CITY_ID]
    bands = _bands(district_cells)
    n = len(shown)
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    row_cm = 4.0
    header_cm, footer_cm = 2.0, 2.6
    fig = style.new_figure(16.0, header_cm + footer_cm + nrows * row_cm)
    title = "Altersaufbau der Bezirke nach Migrationshintergrund"
    when = style.format_date(meta["reference_date"])
    subtitle = (f"{meta.get('city_name') or 'Stadt'}, Stichtag {when}; 10-Jahres-Altersgruppen, "
                f"Männer links, Frauen rechts; MH = Migrationshintergrund; eigene Skala je Bezirk")
    top = style.add_header(fig, title, subtitle)
    bottom = style.add_source_line(fig, meta, note=SEX_NOTE_DE + selection_note)
    legend_h = 0.9 / (header_cm + footer_cm + nrows * row_cm)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.subplots_adjust(left=0.07, right=0.985, top=top - 0.025, bottom=bottom + legend_h + 0.03,
                        hspace=0.5, wspace=0.12)
    n_sup = 0
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        area = shown[k]
        cells = pyramid[area_ids == area]
        if area == CITY_ID:
            cells = rebin(cells, bands)  # the city's 5-year bands in the districts' 10-year bands
        n_sup += draw_pyramid(ax, cells, bands, compact=True, key=area)
        label = "Stadt insgesamt" if area == CITY_ID else f"{area} {names.get(area, area)}"
        ax.set_title(_shorten(label, 25), fontsize=6.5, loc="left", pad=3)
        if k % ncols:
            ax.tick_params(axis="y", labelleft=False)
    handles, labels = _legend_handles(short=True)
    fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, bottom), handlelength=1.4,
               columnspacing=1.5, fontsize=6.3)
    caption = (
        f"Einwohner der {'ausgewählten ' if selection_note else ''}Bezirke nach 10-Jahres-Altersgruppen, Geschlecht "
        f"(Männer links, Frauen rechts) und Migrationshintergrund (dunkel: mit, hell: ohne), Stichtag {when}; "
        f"x-Achse: Personen (Anzahl), Skala je Bezirk verschieden.{selection_note} {SEX_NOTE_DE} "
        f"{_suppressed_note(n_sup)} {style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
