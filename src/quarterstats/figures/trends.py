"""Development over the reference dates: district trends as small multiples and segregation over time.

* :func:`indicator_trends` — one panel per district with the district's values of one indicator over all
  reference dates up to the report's date (blue line) and the city total in every panel (grey reference
  line); all panels share the x and y scales (same limits and ticks) so that levels can be compared, and
  each panel is titled with the district's id and full name, wrapped to the panel width (never cut).
  Suppressed or unavailable values are gaps in the line. With more than :data:`MAX_TREND_PANELS` districts only the
  :data:`LARGEST_SHOWN` districts with most residents at the report date are shown (as for the pyramids).
* :func:`segregation_trend` — the dissimilarity index D × 100 (Duncan & Duncan 1955) for foreign
  nationals and residents with migration background, and the multigroup entropy index H over the origin
  regions (Reardon & Firebaugh 2002): two panels, because D × 100 (0–100) and H (0–1) have different
  scales; one panel when their ranges are comparable.

Both return None with fewer than two reference dates (no trend to show).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from quarterstats.indicators.common import natural_key

from . import style
from .inputs import CITY_ID, SUPPRESSED_FLAG, dates_up_to, district_frame, indicator_text, indicator_values
from .style import Drawn, format_number

__all__ = ["LARGEST_SHOWN", "MAX_TREND_PANELS", "indicator_trends", "segregation_trend"]

MAX_TREND_PANELS = 24
LARGEST_SHOWN = 12
DISTRICT_COLOUR = "#1f5f8b"
CITY_COLOUR = "#a0a0a0"
SEGREGATION_LINES = (
    ("seg_dissimilarity", "foreign", "Ausländer (D × 100)", "#d55e00"),
    ("seg_dissimilarity", "with_mh", "mit Migrationshintergrund (D × 100)", "#0072b2"),
    ("seg_multigroup_theil", "origin_regions", "Herkunftsregionen (Multigruppen-H)", "#009e73"),
)


def _x(d: date) -> float:
    """A date as a decimal year (31 Dec 2020 -> 2020.997), so that ticks can be years."""
    start = date(d.year, 1, 1)
    days = (date(d.year + 1, 1, 1) - start).days
    return d.year + ((d - start).days + 1) / days


def _year_axis(ax: Axes, dates: list[date], *, compact: bool) -> None:
    xs = [_x(d) for d in dates]
    span = xs[-1] - xs[0]
    right_pad = 0.04 if compact else 0.13  # room for the value written at the end of the line
    ax.set_xlim(xs[0] - 0.04 * span - 0.05, xs[-1] + right_pad * span + 0.05)
    if compact and len(dates) > 3:
        ticks = [dates[0], dates[-1]]
    else:
        step = max(1, math.ceil(len(dates) / 8))
        ticks = dates[::step] if dates[-1] in dates[::step] else dates[::step] + [dates[-1]]
    year_ends = all(t.month == 12 and t.day == 31 for t in dates)
    ax.set_xticks([_x(d) for d in ticks], [str(d.year) if year_ends else style.format_date(d) for d in ticks])
    if compact and len(ticks) == 2:  # keep the labels of neighbouring panels apart
        first, last = ax.get_xticklabels()
        first.set_horizontalalignment("left")
        last.set_horizontalalignment("right")
    if not compact:
        ax.set_xticks(xs, minor=True)
        ax.tick_params(axis="x", which="minor", length=1.5)


def _values_by_date(series: pd.DataFrame, indicator: str, area: str, dates: list[date]) -> np.ndarray:
    rows = series[(series["indicator"] == indicator) & (series["district_id"].astype(str) == area)]
    out = np.full(len(dates), np.nan)
    index = {d: i for i, d in enumerate(dates)}
    flags = rows["flag"].astype(str).str.strip() if "flag" in rows.columns else pd.Series("", index=rows.index)
    for d, v, f in zip(rows["reference_date"], pd.to_numeric(rows["value"], errors="coerce"), flags):
        if d in index and f != SUPPRESSED_FLAG and np.isfinite(v):
            out[index[d]] = float(v)
    return out


def indicator_trends(series: pd.DataFrame | None, published: pd.DataFrame | None, districts: gpd.GeoDataFrame,
                     indicator: str, meta: Mapping) -> Drawn | None:
    """Small multiples of ``indicator`` over the reference dates (None with fewer than two dates)."""
    if series is None or len(series) == 0:
        return None
    full, _ = dates_up_to(series, meta["reference_date"])
    table = full[full["indicator"] == indicator]
    dates = sorted(set(table["reference_date"]))
    if len(dates) < 2:
        return None
    frame = district_frame(districts, published if published is not None else table)
    ids = list(frame["district_id"])
    names = dict(zip(frame["district_id"], frame["name"]))
    label, unit, definition = indicator_text(indicator, table)
    selection_note = ""
    shown = ids
    if len(ids) > MAX_TREND_PANELS:
        latest = published if published is not None and len(published) else full[full["reference_date"] == dates[-1]]
        pop = indicator_values(latest, "pop", ids).values
        size = np.where(np.isfinite(pop), pop, -1.0)
        ranked = sorted(range(len(ids)), key=lambda i: (-size[i], natural_key(ids[i])))[:LARGEST_SHOWN]
        shown = sorted((ids[i] for i in ranked), key=natural_key)
        selection_note = (f" Wegen der großen Zahl der Bezirke ({len(ids)}) sind nur die {LARGEST_SHOWN} "
                          f"einwohnerstärksten Bezirke dargestellt.")
    city = _values_by_date(table, indicator, CITY_ID, dates)
    panels = {d: _values_by_date(table, indicator, d, dates) for d in shown}
    all_values = np.concatenate([city, *panels.values()]) if panels else city
    finite = all_values[np.isfinite(all_values)]
    top_value = float(finite.max()) if finite.size else 1.0
    ymax = top_value * 1.12 if top_value > 0 else 1.0
    yticks = [float(t) for t in MaxNLocator(nbins=4, steps=style.NICE_STEPS).tick_values(0, ymax) if 0 <= t <= ymax]
    n = len(shown)
    ncols = min(n, 3) if n <= 6 else (4 if n <= 16 else 5)
    width_pt = style.panel_width_pt(ncols, left_cm=_LEFT_CM, col_gap_cm=_GAP_CM)
    titles = [panel_title(f"{area} {names.get(area, area)}", width_pt) for area in shown]
    title = f"{label}: Entwicklung in den Bezirken"
    subtitle = (f"{meta.get('city_name') or 'Stadt'}, Stichtage {style.format_date(dates[0])} bis "
                f"{style.format_date(dates[-1])}; {'in ' + unit + '; ' if unit else ''}"
                f"gleiche Skala in allen Feldern")
    note = selection_note.strip() or None
    legend_cm = 0.6
    height_cm, boxes = style.panel_grid(
        n, ncols, [t.count("\n") + 1 for t in titles],
        header_cm=style.header_height_cm(title, subtitle) + legend_cm,
        footer_cm=style.source_height_cm(meta, note=note, dates=(dates[0], dates[-1])), panel_cm=_PANEL_CM,
        left_cm=_LEFT_CM, col_gap_cm=_GAP_CM, below_cm=0.6)
    fig = style.new_figure(16.0, height_cm)
    top = style.add_header(fig, title, subtitle)
    style.add_source_line(fig, meta, note=note, dates=(dates[0], dates[-1]))
    xs = np.array([_x(d) for d in dates])
    gaps = 0
    first_axes = None
    for k, (area, box) in enumerate(zip(shown, boxes)):
        ax = fig.add_axes(box, gid=f"trend_panel_{area}", sharey=first_axes)
        first_axes = first_axes or ax
        values = panels[area]
        gaps += int((~np.isfinite(values)).sum())
        ax.plot(xs, city, color=CITY_COLOUR, linewidth=1.1, zorder=2, gid=f"city_line_{area}")
        ax.plot(xs, values, color=DISTRICT_COLOUR, linewidth=1.3, marker="o", markersize=2.2, zorder=3,
                gid=f"district_line_{area}")
        ax.set_title(titles[k], fontsize=style.MIN_FONT_PT, loc="left", pad=3, linespacing=1.2)
        if not np.isfinite(values).any():
            suppressed = _any_suppressed(table, indicator, area)
            ax.text(0.5, 0.5, "Werte gesperrt" if suppressed else style.NO_VALUE_DE, transform=ax.transAxes,
                    ha="center", va="center", fontsize=style.MIN_FONT_PT, color="#666666", zorder=4,
                    bbox=dict(facecolor="white", edgecolor="none", pad=1.0))
        _year_axis(ax, dates, compact=True)
        ax.set_ylim(0, ymax)
        ax.set_yticks(yticks)
        ax.yaxis.set_major_formatter(style.german_formatter())
        ax.grid(axis="y")
        ax.set_axisbelow(True)
        if k % ncols:
            ax.tick_params(axis="y", labelleft=False)
    handles = [Line2D([], [], color=DISTRICT_COLOUR, linewidth=1.3, marker="o", markersize=2.2),
               Line2D([], [], color=CITY_COLOUR, linewidth=1.1)]
    fig.legend(handles, ["Bezirk", "Stadt insgesamt"], loc="upper left", ncol=2,
               bbox_to_anchor=(0.015, top + 0.004), handlelength=2.0, borderaxespad=0.0)
    gap_note = (" Lücken in einer Linie: Wert gesperrt (Geheimhaltung) oder nicht verfügbar." if gaps else "")
    caption = (
        f"{label} je Bezirk an den Stichtagen {style.format_date(dates[0])} bis {style.format_date(dates[-1])}"
        f"{' (' + definition.rstrip('.') + ')' if definition else ''}; Einheit: {unit or '–'}; graue Linie in "
        f"jedem Feld: Stadt insgesamt; gleiche y-Skala in allen Feldern.{selection_note}{gap_note} "
        f"{style.source_line(meta, (dates[0], dates[-1]))}."
    )
    return Drawn(fig, title, caption)


def _any_suppressed(table: pd.DataFrame, indicator: str, area: str) -> bool:
    rows = table[(table["indicator"] == indicator) & (table["district_id"].astype(str) == area)]
    return "flag" in rows.columns and bool((rows["flag"].astype(str).str.strip() == SUPPRESSED_FLAG).any())


#: Layout of the district panels (cm): room for the y tick labels, panel height, gap between columns.
_LEFT_CM, _PANEL_CM, _GAP_CM = 1.0, 2.3, 0.35


def panel_title(label: str, width_pt: float) -> str:
    """The full label of a panel, wrapped to the panel width (never cut)."""
    return style.wrap_to_width(label, width_pt, style.MIN_FONT_PT)


def segregation_trend(segregation: pd.DataFrame | None, meta: Mapping) -> Drawn | None:
    """D × 100 (foreign, with MH) and the multigroup H over the reference dates; None with < 2 dates."""
    if segregation is None or len(segregation) == 0:
        return None
    table, dates = dates_up_to(segregation, meta["reference_date"])
    if len(dates) < 2:
        return None
    lines = []
    for index, group, label, colour in SEGREGATION_LINES:
        rows = table[(table["index"] == index) & (table["group"] == group)]
        values = np.full(len(dates), np.nan)
        pos = {d: i for i, d in enumerate(dates)}
        for d, v in zip(rows["reference_date"], pd.to_numeric(rows["value"], errors="coerce")):
            values[pos[d]] = v
        lines.append((index, label, colour, values))
    d_max = max([np.nanmax(v) for i, _, _, v in lines if i == "seg_dissimilarity" and np.isfinite(v).any()] or [np.nan])
    h_max = max([np.nanmax(v) for i, _, _, v in lines if i != "seg_dissimilarity" and np.isfinite(v).any()] or [np.nan])
    one_panel = bool(np.isfinite(d_max) and np.isfinite(h_max) and h_max > 0 and 0.2 <= d_max / h_max <= 5)
    fig = style.new_figure(16.0, 9.5)
    title = "Segregation im Zeitverlauf"
    subtitle = (f"{meta.get('city_name') or 'Stadt'}, Stadt insgesamt, Stichtage {style.format_date(dates[0])} "
                f"bis {style.format_date(dates[-1])}")
    top = style.add_header(fig, title, subtitle)
    bottom = style.add_source_line(fig, meta, dates=(dates[0], dates[-1]))
    xs = np.array([_x(d) for d in dates])
    below = 1.6 / 9.5  # legend (two rows) and x tick labels: 1.6 cm
    if one_panel:
        axes = [fig.add_axes((0.08, bottom + below, 0.9, top - bottom - below - 0.05))]
        groups = [[0, 1, 2]]
        ylabels = ["Indexwert"]
    else:
        axes = [fig.add_axes((0.08, bottom + below, 0.38, top - bottom - below - 0.05)),
                fig.add_axes((0.59, bottom + below, 0.38, top - bottom - below - 0.05))]
        groups = [[0, 1], [2]]
        ylabels = ["Indexwert (0 bis 100)", "Indexwert (0 bis 1)"]
        axes[0].set_title("Dissimilaritätsindex D × 100", fontsize=7.5)
        axes[1].set_title("Multigruppen-Entropieindex H", fontsize=7.5)
    handles, labels = [], []
    for ax, members, ylabel in zip(axes, groups, ylabels):
        top_value = 0.0
        for m in members:
            index, label, colour, values = lines[m]
            ax.plot(xs, values, color=colour, linewidth=1.5, marker="o", markersize=3, gid=f"line_{index}_{m}")
            if np.isfinite(values).any():
                top_value = max(top_value, float(np.nanmax(values)))
                last = np.flatnonzero(np.isfinite(values))[-1]
                decimals = 1 if index == "seg_dissimilarity" else 3
                ax.annotate(format_number(values[last], decimals), (xs[last], values[last]), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=style.MIN_FONT_PT, color=colour)
            handles.append(Line2D([], [], color=colour, linewidth=1.5, marker="o", markersize=3))
            labels.append(label)
        if top_value == 0.0:
            ax.text(0.5, 0.5, style.NO_VALUE_DE, transform=ax.transAxes, ha="center", va="center", color="#777777")
        ax.set_ylim(0, top_value * 1.2 if top_value > 0 else 1.0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=style.NICE_STEPS))
        ax.yaxis.set_major_formatter(style.german_formatter())
        ax.set_ylabel(ylabel)
        _year_axis(ax, dates, compact=False)
        ax.grid(axis="y")
        ax.set_axisbelow(True)
    fig.legend(handles, labels, loc="lower left", ncol=2, bbox_to_anchor=(0.07, bottom + 0.005), borderaxespad=0.0)
    caption = (
        f"Segregationsindizes der Stadt an den Stichtagen {style.format_date(dates[0])} bis "
        f"{style.format_date(dates[-1])}: Dissimilaritätsindex D × 100 (Duncan & Duncan 1955) für Ausländer und "
        f"für Einwohner mit Migrationshintergrund, jeweils gegenüber der übrigen Bevölkerung (Anteil der Gruppe, "
        f"der umziehen müsste, damit sie gleich verteilt wäre), und Multigruppen-Entropieindex H über die "
        f"Herkunftsregionen (Reardon & Firebaugh 2002, 0 = gleichmäßige Mischung, 1 = vollständige Trennung)"
        f"{'; zwei Felder, weil die Skalen verschieden sind' if not one_panel else ''}. Auf Bezirksebene berechnet; "
        f"ein Index fehlt an Stichtagen, an denen eine Fallzahl, aus der er berechnet wird, gesperrt ist. {style.source_line(meta, (dates[0], dates[-1]))}."
    )
    return Drawn(fig, title, caption)
