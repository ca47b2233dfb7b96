"""Origin regions per district: horizontal 100 % stacked bars among the residents with migration background.

The catalogue's ``origin_region_<code>_share`` is a share of *all* residents (residents with MH from the
region per 100 residents). The bars show the composition of the residents *with* MH:

    s_r = 100 × origin_region_<r>_share / Σ_q origin_region_<q>_share          (every region published)
    s_r = 100 × origin_region_<r>_share / with_mh_share                          (some region suppressed)

In the second case the part not covered by the published regions, 100 − Σ s_r (at least 0), is drawn
hatched grey as "gesperrt (Geheimhaltung)"; an area without any published region gets an empty bar.
Districts are sorted by ``with_mh_share`` (highest on top), the city total is the first bar; the share with
MH is written at the right end of each bar. With more than :data:`MAX_BARS` districts only the
:data:`MAX_BARS` districts with the most residents with MH are shown (said in the caption).

Colours: at most :data:`quarterstats.figures.style.MAX_CATEGORICAL_COLOURS` colour-blind-safe colours
(Okabe–Ito). With more regions than colours, the regions with the largest share of the city's residents
with MH keep a colour (in catalogue order) and the others are drawn together in grey as "übrige Regionen"
(named in the caption): 10 regions become 7 coloured + 1 grey. Bar labels
are the districts' ids and full names, wrapped to the room left of the bars (never cut); a bar with a
label of two lines gets the room of two.
"""

from __future__ import annotations

from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from quarterstats.catalogue import ORIGIN_REGIONS
from quarterstats.indicators.common import natural_key

from . import style
from .inputs import OK, SUPPRESSED, district_frame, indicator_values
from .style import Drawn

__all__ = ["MAX_BARS", "origin_region_bars", "region_composition", "region_groups", "wrap_bar_label"]

MAX_BARS = 40
_AXES_LEFT = 0.34  # of the figure width: the room of the bar labels
_BAR_CM = 0.42  # one line of a bar label
_EXTRA_LINE = 0.75  # each further line of a label, in bar slots
_LEGEND_COLUMNS = 3


def wrap_bar_label(label: str, width_pt: float) -> str:
    """A district's id and full name, wrapped to ``width_pt`` (never cut)."""
    return style.wrap_to_width(label, width_pt, style.MIN_FONT_PT)


def region_groups(city_pct: np.ndarray, district_pct: np.ndarray) -> tuple[list[int], list[int]]:
    """(kept, grouped) column indices of the regions: all kept when there are at most
    ``MAX_CATEGORICAL_COLOURS`` regions, else the ``MAX_CATEGORICAL_COLOURS`` largest (by the city's
    composition, where it is not known by the sum over the districts; ties in catalogue order), in
    catalogue order, and the others grouped."""
    n = len(city_pct)
    limit = style.MAX_CATEGORICAL_COLOURS
    if n <= limit:
        return list(range(n)), []
    size = np.where(np.isfinite(city_pct) & (np.nansum(city_pct) > 0), city_pct, district_pct)
    ranked = sorted(range(n), key=lambda j: (-float(np.nan_to_num(size[j])), j))
    kept = sorted(ranked[:limit])
    return kept, [j for j in range(n) if j not in kept]


def region_composition(region_shares: np.ndarray, region_status: np.ndarray, with_mh_share: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Composition in percent of the residents with MH (see module docstring).

    Args:
        region_shares: (n, R) ``origin_region_<code>_share`` values (NaN where not published).
        region_status: (n, R) "ok" / "suppressed" / "missing" per region share.
        with_mh_share: (n,) ``with_mh_share`` (NaN where not published).

    Returns:
        (n, R) percentages (0 where unknown) and (n,) the rest hidden by suppression, drawn hatched (0 when
        no region of the row is suppressed). Rows without any published region or without a usable
        denominator are all zero (an empty bar).
    """
    ok = region_status == OK
    shares = np.where(ok, region_shares, 0.0)
    complete = ok.all(axis=1)
    any_suppressed = (region_status == SUPPRESSED).any(axis=1)
    known_sum = shares.sum(axis=1)
    mh = np.asarray(with_mh_share, dtype=np.float64)
    denominator = np.where(complete & (known_sum > 0), known_sum, np.where(np.isfinite(mh), mh, np.nan))
    usable = np.isfinite(denominator) & (denominator > 0) & (complete | any_suppressed | ok.any(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(usable[:, None], 100.0 * shares / np.where(usable, denominator, 1.0)[:, None], 0.0)
    rest = np.where(usable & any_suppressed, np.clip(100.0 - pct.sum(axis=1), 0.0, 100.0), 0.0)
    return pct, rest


def origin_region_bars(published: pd.DataFrame, districts: gpd.GeoDataFrame, meta: Mapping) -> Drawn | None:
    """Stacked bars of the origin regions per district; None when no origin-region share is published."""
    if not published["indicator"].astype(str).str.startswith("origin_region_").any():
        return None
    frame = district_frame(districts, published)
    ids = list(frame["district_id"])
    names = dict(zip(frame["district_id"], frame["name"]))
    mh = indicator_values(published, "with_mh_share", ids)
    regions = [indicator_values(published, f"origin_region_{code}_share", ids) for code, _, _ in ORIGIN_REGIONS]

    # districts shown: all, or the MAX_BARS with the most residents with MH
    selection_note = ""
    order = list(range(len(ids)))
    if len(ids) > MAX_BARS:
        count = indicator_values(published, "with_mh", ids).values
        pop = indicator_values(published, "pop", ids).values
        size = np.where(np.isfinite(count), count, pop * mh.values / 100.0)
        size = np.where(np.isfinite(size), size, -1.0)
        order = sorted(order, key=lambda i: (-size[i], natural_key(ids[i])))[:MAX_BARS]
        selection_note = (f" Wegen der großen Zahl der Bezirke ({len(ids)}) sind die {MAX_BARS} Bezirke mit den "
                          f"meisten Einwohnern mit Migrationshintergrund dargestellt.")
    share_sort = np.where(np.isfinite(mh.values), mh.values, -np.inf)
    order = sorted(order, key=lambda i: (-share_sort[i], natural_key(ids[i])))

    values = np.column_stack([r.values for r in regions])
    status = np.column_stack([r.status for r in regions])
    city_values = np.array([[r.city_value for r in regions]])
    city_status = np.array([[r.city_status for r in regions]], dtype=object)
    pct, rest = region_composition(values[order], status[order], mh.values[order])
    city_pct, city_rest = region_composition(city_values, city_status, np.array([mh.city_value]))
    pct = np.vstack([city_pct, pct])
    rest = np.concatenate([city_rest, rest])
    kept, grouped = region_groups(city_pct[0], pct[1:].sum(axis=0))
    region_labels = [label_de for _, label_de, _ in ORIGIN_REGIONS]
    columns = [(region_labels[j], colour, pct[:, j]) for j, colour in zip(kept, style.REGION_PALETTE)]
    if grouped:
        columns.append(("übrige Regionen", style.OTHER_CATEGORY_COLOUR, pct[:, grouped].sum(axis=1)))
    mh_values = np.concatenate([[mh.city_value], mh.values[order]])
    mh_status = np.concatenate([[mh.city_status], mh.status[order]])

    label_pt = (_AXES_LEFT - 0.02) * 16.0 * style.CM * 72 - 4
    labels = ["Stadt insgesamt"] + [wrap_bar_label(f"{ids[i]} {names[ids[i]]}", label_pt) for i in order]
    n_bars = len(labels)
    slots = 1.0 + _EXTRA_LINE * np.array([lab.count("\n") for lab in labels], dtype=np.float64)
    y = np.concatenate([[0.0], np.cumsum((slots[:-1] + slots[1:]) / 2)])
    y[1:] += 0.6  # a gap between the city and the districts
    title = "Herkunftsregionen der Einwohner mit Migrationshintergrund"
    when = style.format_date(meta["reference_date"])
    subtitle = (f"{meta.get('city_name') or 'Stadt'}, Stichtag {when}; Anteile an den Einwohnern mit "
                f"Migrationshintergrund, Bezirke nach ihrem Anteil mit Migrationshintergrund sortiert")
    note = selection_note.strip() or None
    n_entries = len(columns) + int((rest > 0).any())
    legend_cm = 0.5 + 0.42 * -(-n_entries // _LEGEND_COLUMNS)
    below_cm = legend_cm + 1.05  # x tick labels and axis label
    header_cm = style.header_height_cm(title, subtitle) + 0.75  # "Anteil mit MH" above the first bar
    span = y[-1] + slots[-1] / 2 + slots[0] / 2 + 0.2
    footer_cm = style.source_height_cm(meta, note=note)
    height_cm = header_cm + _BAR_CM * span + below_cm + footer_cm
    fig = style.new_figure(16.0, height_cm)
    style.add_header(fig, title, subtitle)
    bottom = style.add_source_line(fig, meta, note=note)
    ax = fig.add_axes((_AXES_LEFT, (footer_cm + below_cm) / height_cm, 0.56, _BAR_CM * span / height_cm))
    left = np.zeros(n_bars)
    handles, handle_labels = [], []
    for label_de, colour, widths in columns:
        ax.barh(y, widths, left=left, height=0.78, color=colour, linewidth=0)
        left += widths
        handles.append(Patch(facecolor=colour, linewidth=0))
        handle_labels.append(label_de)
    if (rest > 0).any():
        ax.barh(y, rest, left=left, height=0.78, color=style.SUPPRESSED_FACE, hatch=style.SUPPRESSED_HATCH,
                edgecolor=style.HATCH_COLOUR, linewidth=0)
        handles.append(Patch(facecolor=style.SUPPRESSED_FACE, hatch=style.SUPPRESSED_HATCH,
                             edgecolor=style.HATCH_COLOUR, linewidth=0.4))
        handle_labels.append(style.SUPPRESSED_DE)
    for yi, total in zip(y, pct.sum(axis=1) + rest):
        if total == 0:  # nothing published for this area: say so instead of an unexplained gap
            ax.text(1.0, yi, style.NO_VALUE_DE, va="center", ha="left", fontsize=style.MIN_FONT_PT, color="#666666")
    for yi, v, s in zip(y, mh_values, mh_status):
        text = style.format_percent(v) if s == OK else ("*" if s == SUPPRESSED else style.NOT_AVAILABLE)
        ax.text(101.5, yi, text, va="center", ha="left", fontsize=style.MIN_FONT_PT, color="#333333")
    ax.text(101.5, -slots[0] / 2 - 0.2, "Anteil\nmit MH", va="bottom", ha="left", fontsize=style.MIN_FONT_PT,
            color="#555555", linespacing=1.1)
    ax.set_yticks(y, labels)
    ax.tick_params(axis="y", length=0)
    for tick in ax.get_yticklabels():
        tick.set_linespacing(1.05)
    ax.get_yticklabels()[0].set_fontweight("bold")
    ax.set_ylim(y[-1] + slots[-1] / 2 + 0.1, -slots[0] / 2 - 0.1)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.xaxis.set_major_formatter(style.german_formatter(0, suffix=" %"))
    ax.set_xlabel("Anteil an den Einwohnern mit Migrationshintergrund in %")
    ax.spines["left"].set_visible(False)
    ax.grid(axis="x", color="white", linewidth=0.6)
    ax.set_axisbelow(False)
    fig.legend(handles, handle_labels, loc="lower left", ncol=_LEGEND_COLUMNS, bbox_to_anchor=(0.02, bottom),
               handlelength=1.3, columnspacing=1.5, title="Herkunftsregion (Bezugsland)", alignment="left",
               borderaxespad=0.0)
    grouped_note = (f" „übrige Regionen“: {', '.join(region_labels[j] for j in grouped)} (zusammengefasst, "
                    f"weil höchstens {style.MAX_CATEGORICAL_COLOURS} Farben unterscheidbar bleiben)."
                    if grouped else "")
    n_rest = int((rest[1:] > 0).sum())
    rest_note = (f" In {n_rest} {'Bezirk' if n_rest == 1 else 'Bezirken'} ist mindestens eine Region gesperrt; "
                 f"der nicht ausgewiesene Rest ist grau schraffiert." if n_rest else "")
    caption = (
        f"Zusammensetzung der Einwohner mit Migrationshintergrund nach der Herkunftsregion ihres Bezugslandes "
        f"(100 % je Balken), Stadt insgesamt und Bezirke, Stichtag {when}; Bezirke nach dem Anteil mit "
        f"Migrationshintergrund an allen Einwohnern sortiert (rechts am Balken).{grouped_note}{selection_note}"
        f"{rest_note} "
        f"{style.source_line(meta)}."
    )
    return Drawn(fig, title, caption)
