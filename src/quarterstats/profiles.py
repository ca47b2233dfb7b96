"""Stadtteilprofile: one printable page per district and reference date, and an overview linking them.

``reports/<date>/profile/<name>.html`` holds, for one district: its name and number, residents, its type
in words, the key indicators of the catalogue group ``profile`` (district value, city value, change
against the previous and the first reference date, a small trend line over all published dates) and
the district's population pyramid; ``reports/<date>/profile/index.html`` lists every profile. The
report (a district list) and the index page link to them.

Everything comes from *published* tables only: the date's protected long table (``indikatoren``, with
the class words ``value_de``), the published long tables of the earlier dates (the trend lines) and
the protected pyramid table (``alterspyramide``). So a profile can show nothing that the downloads do
not already show:

* values and changes are the published ones (the change is the published ``change_previous`` /
  ``change_baseline``, computed from published values); a cell without a number carries its sign —
  ``*`` suppressed, also where the earlier value of a change is suppressed, ``x`` no value, ``.``
  unknown — and the legend stands on the page;
* the trend lines are drawn from the published values *rounded as the page shows them*, so the
  drawing carries no more precision than the printed numbers; each district's line on its own scale,
  but never finer than a minimum range (:func:`_min_span`), so changes below it stay flat; a suppressed
  or missing value leaves a gap in the line;
* the pyramid is drawn from the published counts; a suppressed cell is left out of its bar and marked
  ``*`` at the bar's end.

Pages are self-contained (inline CSS, the charts as inline SVG built by the template from numbers, no
script, no external resource, relative links only) and print as one A4 page each. All text goes
through the report's Jinja environment (autoescape plus :func:`quarterstats.safe_text.html_text`), so
district names and ids from a delivery stay text. File names are derived from the ids
(:func:`profile_file_name`): a plain lower-case id is used as it is, any other id becomes an ASCII
slug plus a hash of the id, so that no delivered id can name a path, collide on a case-insensitive
file system or be reserved on Windows.

Speed: the data are prepared as arrays for all districts at once, and one compiled template renders
every page (a few milliseconds of CPU a page); no figure library is involved. The pages are written as
one batch (:func:`quarterstats.atomic.write_texts`).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from quarterstats import atomic
from quarterstats.catalogue import CATALOGUE, Indicator
from quarterstats.report import (
    CITY_ID, INDEX_FILE, REPORT_FILE, _areas, _as_date, _cell, _decimals, _environment, _unit_de, format_date_de,
    format_number,
)
from quarterstats.signs import LEGEND_DE, NOT_AVAILABLE, SUPPRESSED, UNKNOWN

__all__ = [
    "OVERVIEW_FILE", "PROFILE_DIR", "PROFILE_GROUP", "district_types_de", "profile_file_name", "profile_files",
    "profile_links", "render_profiles",
]

#: Folder of the profiles inside ``reports/<date>/``, and the overview page in it.
PROFILE_DIR = "profile"
OVERVIEW_FILE = "index.html"
#: Catalogue group of the key indicators a profile shows, in page order.
PROFILE_GROUP = "profile"
#: The published indicator that holds a district's type, and the column with its words.
TYPE_INDICATOR = "milieu_type"
TYPE_LABEL_COLUMN = "value_de"
#: The residents (shown in the page head as well).
RESIDENTS = "pop"

_SIGNS = (SUPPRESSED, NOT_AVAILABLE, UNKNOWN)
#: The legend of a profile: the three signs of the published tables (without the note on zero).
_LEGEND = tuple((sign, text) for sign, text in LEGEND_DE if sign in _SIGNS)

# ------------------------------------------------------------------------------------------ file names
_PLAIN_ID = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_PLAIN_MAX = 40
#: Names a file may not have on Windows (whatever the extension), and the overview's own name.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10)),
             Path(OVERVIEW_FILE).stem}


def profile_file_name(district_id: str) -> str:
    """The file name of a district's profile (inside :data:`PROFILE_DIR`).

    A plain id (lower-case ASCII letters and digits, single ``-``/``_`` between them, at most 40
    characters, not a reserved name) is used as it is: ``"01"`` → ``"01.html"``. Any other id gives
    an ASCII slug and the first 12 hex digits of its SHA-256, joined by ``--`` (which a plain id cannot
    contain, so the two kinds never meet): ``"=1+1"`` → ``"1-1--<hash>.html"``. Different ids give
    different names, also on case-insensitive file systems.
    """
    text = str(district_id)
    if len(text) <= _PLAIN_MAX and _PLAIN_ID.fullmatch(text) and text not in _RESERVED:
        return f"{text}.html"
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:24].strip("-") or "bezirk"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}--{digest}.html"


def _district_ids(published: pd.DataFrame) -> list[tuple[str, str]]:
    """(district_id, name) of the districts (no city), in the report's natural order."""
    return [(did, name) for did, name in _areas(published) if did != CITY_ID]


def _file_names(districts: Sequence[tuple[str, str]]) -> list[str]:
    names = [profile_file_name(did) for did, _ in districts]
    if len(set(names)) != len(names):  # only if two ids differ in nothing but their hash: never seen
        raise ValueError("two district ids give the same profile file name")
    return names


def profile_files(published: pd.DataFrame) -> list[str]:
    """The files a publication of ``published`` must hold for its profiles, relative to the date's
    folder: the overview and one page per district (what ``publication_files_complete`` requires)."""
    names = _file_names(_district_ids(published))
    return [f"{PROFILE_DIR}/{OVERVIEW_FILE}", *(f"{PROFILE_DIR}/{name}" for name in names)]


def profile_links(published: pd.DataFrame) -> list[dict[str, str]]:
    """The district list of the report: number, name and the relative link of each profile."""
    districts = _district_ids(published)
    return [{"id": did, "name": name, "href": quote(f"{PROFILE_DIR}/{file}")}
            for (did, name), file in zip(districts, _file_names(districts))]


# --------------------------------------------------------------------------------------- district type
def district_types_de(published: pd.DataFrame) -> pd.Series:
    """A district's type in words, read from the published long table: the words column
    (:data:`TYPE_LABEL_COLUMN`) of the type indicator (:data:`TYPE_INDICATOR`); where there are none,
    the row's sign (``*``, ``x``, ``.``) or ``x``. Indexed by district id (the city included)."""
    rows = published[published["indicator"].astype(str) == TYPE_INDICATOR]
    words = (rows[TYPE_LABEL_COLUMN] if TYPE_LABEL_COLUMN in rows.columns
             else pd.Series(pd.NA, index=rows.index, dtype="string")).astype("string")
    flags = rows["flag"].astype("string").fillna("") if "flag" in rows.columns else pd.Series("", index=rows.index)
    text = words.where(words.notna() & (flags == ""), flags.where(flags.isin(_SIGNS), NOT_AVAILABLE))
    return pd.Series(text.to_numpy(dtype=object), index=rows["district_id"].astype(str).to_numpy())


# ----------------------------------------------------------------------------------------- data prep
def _at_printed_precision(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """``values`` (areas × indicators × dates) rounded as printed: to each indicator's ``decimals``."""
    scale = (10.0 ** decimals.astype(float))[None, :, None]
    return np.round(values * scale) / scale


def _flag_text(flags: np.ndarray) -> np.ndarray:
    return np.where(pd.isna(flags), "", flags).astype(str)


def _wide(frame: pd.DataFrame, column: str, rows: Sequence[str], columns: Sequence[Any], index: str = "district_id",
          by: str | list[str] = "indicator") -> np.ndarray:
    """``frame[column]`` as an array rows × columns (NaN / None where a row is missing)."""
    table = frame.pivot(index=index, columns=by, values=column)
    return table.reindex(index=list(rows), columns=columns).to_numpy()


def _dates(series: pd.DataFrame, day: date) -> list[date]:
    dates = sorted({_as_date(d) for d in series["reference_date"].unique()} | {day})
    return [d for d in dates if d <= day]


#: Size of a trend line (SVG user units = CSS pixels) and its inner margin.
_SPARK_W, _SPARK_H, _SPARK_PAD = 112.0, 26.0, 3.5


def _spark_points(values: np.ndarray, min_span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (dates) and y (districts × dates) of the trend lines of one indicator: each district on its own
    scale, but never finer than ``min_span`` for the full height, so that a change below the printed
    precision does not look like a swing (a line that moves less stays near the middle)."""
    n = values.shape[1]
    x = (np.linspace(_SPARK_PAD, _SPARK_W - _SPARK_PAD, n) if n > 1 else np.array([_SPARK_W / 2]))
    present = ~np.isnan(values)
    with np.errstate(all="ignore"):
        lo = np.where(present, values, np.inf).min(axis=1, keepdims=True)
        hi = np.where(present, values, -np.inf).max(axis=1, keepdims=True)
        span = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
        full = np.maximum(span, min_span)
        bottom = lo - (full - span) / 2
        y = (_SPARK_H - _SPARK_PAD) - (values - bottom) * ((_SPARK_H - 2 * _SPARK_PAD) / full)
    return x, np.where(present, y, np.nan)


def _min_span(values: np.ndarray, unit: str, decimals: int) -> np.ndarray:
    """Per district (rows of ``values``), the smallest range its trend line spreads over the full height:
    2 percentage points for shares, else 4 % of the district's largest value, and at least five steps
    of the last printed digit."""
    floor = 5 * 10.0 ** -decimals
    if unit == "%":
        return np.full((values.shape[0], 1), max(2.0, floor))
    top = np.where(np.isnan(values), 0.0, np.abs(values)).max(axis=1, keepdims=True) if values.size else \
        np.zeros((values.shape[0], 1))
    return np.maximum(0.04 * top, floor)


def _segments(x: np.ndarray, y: np.ndarray) -> tuple[list[str], list[tuple[str, str]]]:
    """Polylines (``"x,y x,y"``) of the runs of present values, and single points (no neighbour)."""
    lines, dots = [], []
    run: list[str] = []
    for xi, yi in zip(x.tolist(), y.tolist()):
        if math.isnan(yi):
            if len(run) == 1:
                dots.append(tuple(run[0].split(",")))
            elif run:
                lines.append(" ".join(run))
            run = []
            continue
        run.append(f"{xi:.1f},{yi:.1f}")
    if len(run) == 1:
        dots.append(tuple(run[0].split(",")))
    elif run:
        lines.append(" ".join(run))
    return lines, dots


def _last_point(x: np.ndarray, y: np.ndarray) -> tuple[str, str] | None:
    if not len(y) or math.isnan(y[-1]):
        return None
    return f"{x[-1]:.1f}", f"{y[-1]:.1f}"


# ----------------------------------------------------------------------------------------- pyramid
#: Cells of a pyramid band, in drawing order from the axis outwards: (sex, migration background).
_PYRAMID_CELLS = (("m", "mit MH"), ("m", "ohne MH"), ("w", "mit MH"), ("w", "ohne MH"))
_PYR_BAR, _PYR_GAP, _PYR_TOP, _PYR_AXIS, _PYR_SIDE, _PYR_MARK = 13.0, 3.0, 16.0, 46.0, 150.0, 12.0
_PYR_W = 2 * _PYR_SIDE + _PYR_AXIS


def _pyramid_arrays(pyramid: pd.DataFrame, districts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Band labels (youngest first) and, per district × band × cell (:data:`_PYRAMID_CELLS`), the published
    count (NaN where none) and whether the cell is suppressed."""
    rows = pyramid[pyramid["district_id"].astype(str).isin(set(districts))]
    bands = (rows[["age_band_order", "age_band"]].drop_duplicates("age_band_order").sort_values("age_band_order"))
    labels = bands["age_band"].astype(str).tolist()
    counts = np.full((len(districts), len(labels), len(_PYRAMID_CELLS)), np.nan)
    hidden = np.zeros(counts.shape, dtype=bool)
    if rows.empty:
        return labels, counts, hidden
    d = pd.Index(list(districts)).get_indexer(rows["district_id"].astype(str))
    b = pd.Index(bands["age_band_order"].tolist()).get_indexer(rows["age_band_order"])
    cell_keys = rows["sex"].astype(str) + "|" + rows["mh"].astype(str)
    c = pd.Index([f"{s}|{m}" for s, m in _PYRAMID_CELLS]).get_indexer(cell_keys)
    ok = c >= 0
    counts[d[ok], b[ok], c[ok]] = pd.to_numeric(rows["count"], errors="coerce").to_numpy(dtype=float,
                                                                                        na_value=np.nan)[ok]
    hidden[d[ok], b[ok], c[ok]] = (rows["flag"].astype("string").fillna("") == SUPPRESSED).to_numpy()[ok]
    return labels, counts, hidden


def _count_text(value: float, hidden: bool) -> str:
    if hidden:
        return SUPPRESSED
    return NOT_AVAILABLE if math.isnan(value) else format_number(value)


def _pyramid(labels: Sequence[str], counts: np.ndarray, hidden: np.ndarray) -> dict[str, Any] | None:
    """The pyramid of one district (counts, hidden: band × cell) as shapes for the template: the oldest
    band on top, men left, women right, with migration background next to the axis."""
    if not labels:
        return None
    shown = np.nan_to_num(counts)
    sides = np.stack([shown[:, 0] + shown[:, 1], shown[:, 2] + shown[:, 3]], axis=1)
    top = float(sides.max()) if sides.size else 0.0
    scale = (_PYR_SIDE - _PYR_MARK) / top if top > 0 else 0.0
    left_axis, right_axis = _PYR_SIDE, _PYR_SIDE + _PYR_AXIS
    bands = []
    n = len(labels)
    for row in range(n):
        k = n - 1 - row  # oldest first
        band = labels[k]
        y = _PYR_TOP + row * (_PYR_BAR + _PYR_GAP)
        rects, marks = [], []
        for side, (first, second) in enumerate(((0, 1), (2, 3))):
            inner, outer = shown[k, first] * scale, shown[k, second] * scale
            if side == 0:
                spans = ((left_axis - inner, inner, "mh"), (left_axis - inner - outer, outer, "ohne"))
                end = left_axis - inner - outer
            else:
                spans = ((right_axis, inner, "mh"), (right_axis + inner, outer, "ohne"))
                end = right_axis + inner + outer
            for x, width, cls in spans:
                if width > 0:
                    rects.append({"x": f"{x:.1f}", "w": f"{width:.1f}", "cls": cls})
            if hidden[k, first] or hidden[k, second]:
                marks.append({"x": f"{end - 2 if side == 0 else end + 2:.1f}", "anchor": "end" if side == 0 else "start"})
        title = (f"{band} Jahre – Männer: mit Migrationshintergrund {_count_text(counts[k, 0], hidden[k, 0])}, "
                 f"ohne {_count_text(counts[k, 1], hidden[k, 1])}; Frauen: mit Migrationshintergrund "
                 f"{_count_text(counts[k, 2], hidden[k, 2])}, ohne {_count_text(counts[k, 3], hidden[k, 3])}")
        bands.append({"label": band, "y": f"{y:.1f}", "text_y": f"{y + _PYR_BAR - 3:.1f}", "rects": rects,
                      "marks": marks, "title": title,
                      "cells": [_count_text(counts[k, c], hidden[k, c]) for c in range(len(_PYRAMID_CELLS))]})
    height = _PYR_TOP + n * (_PYR_BAR + _PYR_GAP)
    return {"bands": bands, "width": f"{_PYR_W:.0f}", "height": f"{height:.0f}", "bar": f"{_PYR_BAR:.0f}",
            "left": f"{left_axis - 4:.0f}", "right": f"{right_axis + 4:.0f}", "axis": f"{_PYR_SIDE + _PYR_AXIS / 2:.0f}",
            "any_hidden": bool(hidden.any())}


# ------------------------------------------------------------------------------------------ public API
def render_profiles(published: pd.DataFrame, series: pd.DataFrame, pyramid: pd.DataFrame, meta: Mapping[str, Any],
                    report_dir: Path) -> list[Path]:
    """Write the profile of every district of ``published`` and the overview into
    ``report_dir/profile/``; returns the written paths (overview first, then the districts in order).

    Args:
        published: the date's protected long table as published (``indikatoren``: with ``value_de``, the
            class words; without it the district type shows its sign only).
        series: the published long tables of all dates up to the reference date, stacked (column
            ``reference_date``; the date's own rows may be included or not): the trend lines.
        pyramid: the published pyramid table (``alterspyramide``).
        meta: as for :func:`quarterstats.report.render_report`: ``reference_date``, ``city_name``,
            ``source``, ``protection_de``, ``catalogue`` (a non-default catalogue),
            ``previous_reference_date``, ``baseline_reference_date``, ``catalogue_version``.
        report_dir: the date's folder (``reports/<date>/`` or its staging folder).
    """
    day = _as_date(meta["reference_date"])
    catalogue: Mapping[str, Indicator] = meta.get("catalogue") or CATALOGUE
    groups = getattr(catalogue, "groups", None)
    if groups is not None:  # a whole catalogue: its group must name its own indicators
        if PROFILE_GROUP not in groups:
            raise ValueError(f"the catalogue has no group {PROFILE_GROUP!r} (the key indicators of a profile)")
        unknown = [i for i in groups[PROFILE_GROUP] if i not in catalogue]
        if unknown:
            raise ValueError(f"the catalogue's {PROFILE_GROUP} group names indicators it does not have: {unknown}")
    present = set(published["indicator"].astype(str))
    ids = [i for i in (groups or CATALOGUE.groups)[PROFILE_GROUP] if i in present and i in catalogue]
    districts = _district_ids(published)
    district_ids = [did for did, _ in districts]
    files = _file_names(districts)
    areas = [*district_ids, CITY_ID]

    current = published[published["indicator"].astype(str).isin(ids)].astype({"district_id": str, "indicator": str})
    value = _wide(current, "value", areas, ids).astype(float)
    flag = _flag_text(_wide(current, "flag", areas, ids))
    missing_row = pd.isna(_wide(current.assign(_row=1.0), "_row", areas, ids))
    flag = np.where(missing_row, NOT_AVAILABLE, flag)
    changes = {column: (_wide(current, column, areas, ids).astype(float) if column in current.columns
                        else np.full(value.shape, np.nan)) for column in ("change_previous", "change_baseline")}

    # the published time series of the key indicators (earlier dates from their published tables)
    earlier = series[series["indicator"].astype(str).isin(ids)].astype({"district_id": str, "indicator": str})
    earlier = earlier.assign(reference_date=[_as_date(d) for d in earlier["reference_date"]])
    earlier = earlier[earlier["reference_date"] < day]
    stacked = pd.concat([earlier, current.assign(reference_date=day)], ignore_index=True)
    dates = _dates(stacked, day)
    columns = pd.MultiIndex.from_product([ids, dates], names=["indicator", "reference_date"])
    by = ["indicator", "reference_date"]
    trend = _wide(stacked, "value", areas, columns, by=by).astype(float).reshape(len(areas), len(ids), len(dates))
    trend_flag = _flag_text(_wide(stacked, "flag", areas, columns, by=by)).reshape(len(areas), len(ids), len(dates))
    trend_flag = np.where(np.isnan(trend) & (trend_flag == ""), NOT_AVAILABLE, trend_flag)
    info = {i: catalogue[i] for i in ids}
    decimals = np.array([_decimals(i, info[i].kind) for i in ids])
    trend = _at_printed_precision(trend, decimals)  # the trend lines carry what the page prints, no more

    def earlier_flag(when: date | None) -> np.ndarray:
        if when is None or _as_date(when) not in dates:
            return np.full(value.shape, "", dtype=object)
        return trend_flag[:, :, dates.index(_as_date(when))]

    previous, baseline = meta.get("previous_reference_date"), meta.get("baseline_reference_date")
    before = {"change_previous": earlier_flag(previous), "change_baseline": earlier_flag(baseline)}

    spark = [_spark_points(trend[:-1, j, :], _min_span(trend[:-1, j, :], info[i].unit, int(decimals[j])))
             for j, i in enumerate(ids)]

    types = district_types_de(published)
    labels, counts, hidden = _pyramid_arrays(pyramid, district_ids)
    date_labels = [format_date_de(d) for d in dates]
    city_row = len(areas) - 1
    env = _environment()
    page = env.get_template("profile.html.j2")
    common = {
        "city_name": meta.get("city_name", ""),
        "reference_date": format_date_de(day),
        "reference_date_iso": day.isoformat(),
        "previous_label": format_date_de(previous) if previous else "",
        "baseline_label": format_date_de(baseline) if baseline else "",
        "first_date": date_labels[0], "source": meta.get("source", ""), "protection": meta.get("protection_de", ""),
        "catalogue_version": meta.get("catalogue_version", ""), "legend": _LEGEND,
        "spark_w": f"{_SPARK_W:.0f}", "spark_h": f"{_SPARK_H:.0f}", "show_trend": len(dates) > 1,
    }

    def text(row: int, j: int) -> str:
        f = flag[row, j]
        return f if f in _SIGNS else _cell(ids[j], info[ids[j]].kind, value[row, j], "")["text"]

    def change_text(row: int, j: int, column: str) -> str:
        if flag[row, j] == SUPPRESSED or before[column][row, j] == SUPPRESSED:
            return SUPPRESSED
        v = changes[column][row, j]
        return NOT_AVAILABLE if math.isnan(v) else format_number(v, int(decimals[j]), signed=True)

    pages: dict[Path, str] = {}
    overview_rows = []
    folder = Path(report_dir) / PROFILE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    pop_col = ids.index(RESIDENTS) if RESIDENTS in ids else None
    for row, ((did, name), file) in enumerate(zip(districts, files)):
        indicators = []
        for j, ind in enumerate(ids):
            x, y_district = spark[j]
            lines, dots = _segments(x, y_district[row])
            values = [f"{label}: {_trend_text(trend[row, j, t], trend_flag[row, j, t], int(decimals[j]))}"
                      for t, label in enumerate(date_labels)]
            unit = _unit_de(info[ind].unit)
            indicators.append({
                "id": ind, "label": info[ind].label_de, "unit": unit,
                "district": text(row, j), "city": text(city_row, j),
                "change_previous": change_text(row, j, "change_previous"),
                "change_baseline": change_text(row, j, "change_baseline"),
                "lines": lines, "dots": dots,
                "last": _last_point(x, y_district[row]),
                "trend_title": f"{info[ind].label_de}, {name}: " + "; ".join(values),
            })
        residents = indicators[pop_col]["district"] if pop_col is not None else NOT_AVAILABLE
        district_type = types.get(did, NOT_AVAILABLE)
        html = page.render(**common, district_id=did, district_name=name, residents=residents,
                           district_type=district_type, indicators=indicators,
                           pyramid=_pyramid(labels, counts[row], hidden[row]),
                           overview_href=OVERVIEW_FILE, report_href=f"../{REPORT_FILE}")
        pages[folder / file] = html
        overview_rows.append({"id": did, "name": name, "href": quote(file), "residents": residents,
                              "type": district_type})
    overview = env.get_template("profile_overview.html.j2").render(
        **common, rows=overview_rows, report_href=f"../{REPORT_FILE}", index_href=f"../../{INDEX_FILE}")
    return atomic.write_texts({folder / OVERVIEW_FILE: overview, **pages})


def _trend_text(value: float, flag: str, decimals: int) -> str:
    if flag in _SIGNS:
        return flag
    return NOT_AVAILABLE if math.isnan(value) else format_number(value, decimals)
