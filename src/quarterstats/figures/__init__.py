"""Report figures (issue 5): maps, population pyramids, origin bars, trends — from protected tables only.

:func:`render_figures` draws every figure of one reference date from the protected aggregate inputs of
the publication interface (``published``, ``series``, ``segregation``, ``pyramid``, ``districts``,
``meta``) — the API takes no person-level data, and a table that looks person-level (a ``person_id``
column) is refused. Each figure is written as PNG (150 dpi, slides) and SVG (print) into
``out_dir / "abbildungen"`` and described by a :class:`FigureFile`; the list comes back in report order
(sections ``bevoelkerung``, ``migration``, ``haushalte``, ``mobilitaet``, ``milieu``, ``segregation``,
``zeitreihen``). Figures over time use the dates up to the report's reference date and are left out when
there is only one date.

Reruns on the same input give byte-identical files (fixed sizes and dpi, ``svg.hashsalt``, no dates or
software tags in the files, no randomness). The look is defined once in :mod:`.style`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import geopandas as gpd
import pandas as pd

from . import bars, maps, pyramids, style, trends
from .inputs import indicator_text
from .style import Drawn

__all__ = ["FIGURE_FOLDER", "SECTIONS", "FigureFile", "render_figures"]

#: Folder of the figure files inside a report folder.
FIGURE_FOLDER = "abbildungen"
#: Report sections in order.
SECTIONS = ("bevoelkerung", "migration", "haushalte", "mobilitaet", "milieu", "segregation", "zeitreihen")
#: Columns that only person-level data has; figures refuse tables carrying them.
_PERSON_LEVEL_COLUMNS = ("person_id", "household_id", "mother_id", "father_id", "x", "y")


@dataclass(frozen=True)
class FigureFile:
    """One rendered figure: files relative to the report folder and the German texts for the report."""

    id: str  # stable, e.g. "map_foreign_share"
    section: str  # report section id, one of SECTIONS
    title_de: str
    caption_de: str  # what is shown, classification method, unit, suppressed areas, source
    png: Path  # relative to the report folder, e.g. Path("abbildungen/map_foreign_share.png")
    svg: Path


def _refuse_person_level(name: str, table: pd.DataFrame | None) -> None:
    if table is None:
        return
    found = [c for c in _PERSON_LEVEL_COLUMNS if c in table.columns]
    if found:
        raise ValueError(
            f"render_figures: {name} has person-level column(s) {found}; figures take protected aggregate "
            "tables only"
        )


def _check_inputs(published: pd.DataFrame, districts: gpd.GeoDataFrame, meta: Mapping) -> None:
    missing = [c for c in ("district_id", "indicator", "value") if c not in published.columns]
    if missing:
        raise ValueError(f"render_figures: published lacks column(s) {missing}")
    if "district_id" not in districts.columns or not isinstance(districts, gpd.GeoDataFrame):
        raise ValueError("render_figures: districts must be a GeoDataFrame with a district_id column")
    if "reference_date" not in meta:
        raise ValueError("render_figures: meta lacks reference_date")


Builder = Callable[[], "Drawn | None"]


def _plan(published, series, segregation, pyramid, districts, meta) -> list[tuple[str, str, Builder]]:
    """(id, section, builder) in report order."""
    plan: list[tuple[str, str, Builder]] = [
        ("pyramid_city", "bevoelkerung", lambda: pyramids.city_pyramid(pyramid, meta)),
        ("pyramid_districts", "bevoelkerung", lambda: pyramids.district_pyramids(pyramid, published, districts, meta)),
    ]
    by_section: dict[str, list] = {}
    for indicator, section in maps.MAP_INDICATORS:
        by_section.setdefault(section, []).append(
            (f"map_{indicator}", section,
             lambda indicator=indicator: maps.choropleth_map(published, districts, indicator, meta)))
    plan += by_section.get("bevoelkerung", [])
    plan += by_section.get("migration", [])
    plan.append(("bars_origin_regions", "migration", lambda: bars.origin_region_bars(published, districts, meta)))
    plan += by_section.get("haushalte", [])
    plan += by_section.get("mobilitaet", [])
    plan.append(("map_milieu_type", "milieu", lambda: maps.milieu_map(published, districts, meta)))
    for group, indicator in (("foreign", "foreign_share"), ("with_mh", "with_mh_share")):
        label = indicator_text(indicator, published)[0]
        plan.append((f"map_lisa_{group}", "segregation",
                     lambda group=group, label=label: maps.lisa_map(published, districts, segregation, group, meta,
                                                                    indicator_label=label)))
    plan.append(("segregation_over_time", "segregation", lambda: trends.segregation_trend(segregation, meta)))
    for indicator in ("foreign_share", "with_mh_share"):
        plan.append((f"trend_{indicator}", "zeitreihen",
                     lambda indicator=indicator: trends.indicator_trends(series, published, districts, indicator,
                                                                         meta)))
    return plan


def render_figures(published: pd.DataFrame, series: pd.DataFrame | None, segregation: pd.DataFrame | None,
                   pyramid: pd.DataFrame | None, districts: gpd.GeoDataFrame, meta: Mapping,
                   out_dir: Path) -> list[FigureFile]:
    """Draw every report figure of one reference date and write PNG + SVG into ``out_dir/abbildungen``.

    Args:
        published: protected long indicator table of the date (publication interface, input 1).
        series: the same for all dates (input 2); trends are skipped with fewer than two dates up to
            ``meta["reference_date"]``. May be None.
        segregation: city-level indices of all dates (input 3); may be None (no Moran's I in the LISA
            subtitles, no segregation trend).
        pyramid: protected counts by area × age band × sex × migration status (input 4); may be None
            (no pyramids).
        districts: district polygons (district_id, name, geometry; reprojected to EPSG:25832 if needed).
        meta: reference_date, city_name, source, protection_de, code_version, ... (input 6).
        out_dir: the report folder of the date, e.g. ``reports/2024-12-31``.

    Returns:
        The figures written, in report order; figures without data (e.g. trends of a single date) are
        simply not in the list.
    """
    for name, table in (("published", published), ("series", series), ("segregation", segregation),
                        ("pyramid", pyramid), ("districts", districts)):
        _refuse_person_level(name, table)
    _check_inputs(published, districts, meta)
    folder = Path(out_dir) / FIGURE_FOLDER
    files: list[FigureFile] = []
    with style.house_style():
        for figure_id, section, build in _plan(published, series, segregation, pyramid, districts, meta):
            drawn = build()
            if drawn is None:
                continue
            png, svg = style.save_figure(drawn.figure, folder, figure_id)
            drawn.figure.clear()
            files.append(FigureFile(
                id=figure_id, section=section, title_de=drawn.title_de, caption_de=drawn.caption_de,
                png=Path(FIGURE_FOLDER) / png.name, svg=Path(FIGURE_FOLDER) / svg.name,
            ))
    return files
