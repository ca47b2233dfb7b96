"""Report figures: maps, population pyramids, origin bars, trends — from protected tables only.

:func:`render_figures` draws every figure of one reference date from the protected aggregate inputs of
the publication interface (``published``, ``series``, ``segregation``, ``pyramid``, ``districts``,
``meta``) — the API takes no person-level data, and a table that looks person-level (a ``person_id``
column) is refused. Each figure is written as PNG (150 dpi, slides) and SVG (print) into
``out_dir / "abbildungen"`` and described by a :class:`FigureFile`; the list comes back in report order
(sections ``bevoelkerung``, ``migration``, ``haushalte``, ``mobilitaet``, ``milieu``, ``segregation``,
``veraenderungen`` (change maps of the catalogue group ``change_maps`` against the previous and the first
date), ``zeitreihen``). Figures over time use the dates up to the report's reference date and are left out when
there is only one date.

Every value is drawn as the tables print it (:func:`quarterstats.disclosure.linked.at_published_precision`,
city-level indices with the report's decimals), so no coordinate in an SVG is more precise than a table.

Reruns on the same input give byte-identical files (fixed sizes and dpi, ``svg.hashsalt``, no dates or
software tags in the files, no randomness). The look is defined once in :mod:`.style`. Each file is
written atomically (:mod:`quarterstats.atomic`).

Drawing is Python work that holds the interpreter lock, so on a machine with more than one core the
figures are drawn by the caller and by worker processes at once (:func:`quarterstats.background.submit`).
:func:`start_figures` hands figures to the workers from the end of the list, one at a time, from the
moment the inputs are ready, so the workers draw while the caller still writes its tables;
:meth:`FigureDrawing.finish` then draws from the start of the list in the caller until the two meet, and
writes every file. Each figure is drawn by the same code from the same tables wherever it is drawn, and
all files are written by the caller, so the files do not depend on who drew them. If a worker process
dies, the caller draws what it would have drawn.
"""

from __future__ import annotations

import io
import pickle
import secrets
import threading
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import geopandas as gpd
import pandas as pd

from quarterstats import atomic, background
from quarterstats.catalogue import CATALOGUE
from quarterstats.disclosure.linked import at_published_precision, segregation_at_published_precision

from . import bars, maps, pyramids, style, trends
from .inputs import indicator_text
from .style import Drawn

__all__ = ["FIGURE_FOLDER", "SECTIONS", "FigureDrawing", "FigureFile", "prepare_workers", "render_figures",
           "start_figures"]

#: Folder of the figure files inside a report folder.
FIGURE_FOLDER = "abbildungen"
#: Report sections in order.
SECTIONS = ("bevoelkerung", "migration", "haushalte", "mobilitaet", "milieu", "segregation", "veraenderungen",
            "zeitreihen")
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
    # a figure carries no more precision than the tables: every value as the tables print it
    published, series = at_published_precision(published), at_published_precision(series)
    segregation = segregation_at_published_precision(segregation)
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
    plan.append(("map_milieu_type", "milieu", lambda: maps.milieu_map(published, districts, meta, series)))
    for indicator in CATALOGUE.groups["change_maps"]:
        for against in ("previous", "baseline"):
            if against == "baseline" and meta.get("baseline_reference_date") == meta.get("previous_reference_date"):
                continue  # the previous date is the first: the same map twice
            plan.append((f"change_{against}_{indicator}", "veraenderungen",
                         lambda indicator=indicator, against=against: maps.change_map(
                             published, series, districts, indicator, against, meta)))
    for group, indicator in (("foreign", "foreign_share"), ("with_mh", "with_mh_share")):
        label = indicator_text(indicator, published)[0]
        plan.append((f"map_lisa_{group}", "segregation",
                     lambda group=group, label=label: maps.lisa_map(published, districts, segregation, group, meta,
                                                                    indicator_label=label)))
    plan.append(("segregation_over_time", "segregation", lambda: trends.segregation_trend(segregation, meta)))
    for indicator in CATALOGUE.groups["trends"]:
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
    with start_figures(published, series, segregation, pyramid, districts, meta) as drawing:
        return drawing.finish(out_dir)


def prepare_workers() -> None:
    """Start the worker processes now (if there are any and they are not running yet) and let each load
    the drawing code and the fonts, so that this is done while the caller still protects the tables
    (:func:`start_figures` comes later). A worker process lives as long as its caller, so a run over many
    reference dates pays this once."""
    for _ in range(background.worker_processes()):
        background.submit(_warm_up)


def _warm_up() -> None:
    """In a worker process: what the first figure would otherwise pay (imports are done by unpickling
    this function; matplotlib loads its fonts on the first text it measures)."""
    with style.house_style():
        figure = style.new_figure(2.0, 1.0)
        figure.text(0.5, 0.5, "Ä 1,0", fontweight="bold")
        figure.text(0.5, 0.2, "Ä 1,0")
        figure.savefig(io.BytesIO(), format="png")
        figure.savefig(io.BytesIO(), format="svg")


def start_figures(published: pd.DataFrame, series: pd.DataFrame | None, segregation: pd.DataFrame | None,
                  pyramid: pd.DataFrame | None, districts: gpd.GeoDataFrame,
                  meta: Mapping) -> "FigureDrawing":
    """Check the inputs (as :func:`render_figures`) and let the worker processes start drawing; the caller
    may do other work before :meth:`FigureDrawing.finish`. Use it as a context manager, so that an error
    in between stops the workers after their current figure."""
    for name, table in (("published", published), ("series", series), ("segregation", segregation),
                        ("pyramid", pyramid), ("districts", districts)):
        _refuse_person_level(name, table)
    _check_inputs(published, districts, meta)
    return FigureDrawing((published, series, segregation, pyramid, districts, meta))


class FigureDrawing:
    """The figures of one date being drawn: workers take them from the end of the plan, the caller (in
    :meth:`finish`) from the start. A figure is taken by exactly one side, under a lock."""

    def __init__(self, inputs: tuple) -> None:
        self.inputs = inputs
        plan = _plan(*inputs)
        self.planned = [(figure_id, section) for figure_id, section, _ in plan]
        self._builders = {figure_id: build for figure_id, _, build in plan}
        self._todo = deque(figure_id for figure_id, _ in self.planned)
        self._lock = threading.Lock()
        self._drawn: dict[str, Rendered | None] = {}
        self._token = secrets.token_hex(8)  # names these inputs in the workers' cache
        self._pickled: bytes | None = None
        self._pickling = threading.Lock()  # not self._lock: the caller must not wait to take a figure
        self._feeders = [background.start(self._feed_worker) for _ in range(background.worker_processes())]

    def __enter__(self) -> "FigureDrawing":
        return self

    def __exit__(self, *exc) -> None:
        self.abandon()

    def _take(self, from_end: bool) -> str | None:
        with self._lock:
            if not self._todo:
                return None
            return self._todo.pop() if from_end else self._todo.popleft()

    def _feed_worker(self) -> None:
        """Runs in a thread of the caller's process: hands one figure at a time to a worker process and
        waits for it (no drawing in this thread: matplotlib's settings are process-wide)."""
        while (figure_id := self._take(from_end=True)) is not None:
            try:
                result = background.submit(draw_with_cached_inputs, self._token, None, figure_id).result()
                while result is None:  # that worker has not got the inputs yet
                    result = background.submit(draw_with_cached_inputs, self._token, self._inputs_pickled(),
                                               figure_id).result()
                (rendered,) = result
            except BrokenProcessPool:  # the worker died: give the figure back to the caller
                background.discard_pool()
                with self._lock:
                    self._todo.append(figure_id)
                return
            except BaseException:  # an error of the drawing code: nobody draws on, the caller raises it
                self.abandon()
                raise
            self._drawn[figure_id] = rendered

    def _inputs_pickled(self) -> bytes:
        """The inputs, pickled once per date and sent to each worker process once (they can be large:
        the published tables of all dates at 450 districts are about 100 MB)."""
        with self._pickling:
            if self._pickled is None:
                self._pickled = pickle.dumps(self.inputs, protocol=pickle.HIGHEST_PROTOCOL)
            return self._pickled

    def abandon(self) -> None:
        """Take every figure not yet started off the list (the workers stop after their current one)."""
        with self._lock:
            self._todo.clear()

    def finish(self, out_dir: Path) -> list[FigureFile]:
        """Draw in the caller what no worker has taken, wait for the workers, write every figure into
        ``out_dir/abbildungen`` (atomically) and return them in report order."""
        while True:
            while (figure_id := self._take(from_end=False)) is not None:
                self._drawn[figure_id] = _draw(self._builders[figure_id])
            for feeder in self._feeders:
                feeder.result()  # an error of the drawing code in a worker is raised here
            if not self._todo:  # a worker that died may have given one back meanwhile
                break
        folder = Path(out_dir) / FIGURE_FOLDER
        if any(figure is not None for figure in self._drawn.values()):
            folder.mkdir(parents=True, exist_ok=True)
        files: list[FigureFile] = []
        for figure_id, section in self.planned:
            figure = self._drawn[figure_id]
            if figure is None:
                continue
            png = atomic.write_bytes(figure.png, folder / f"{figure_id}.png")
            svg = atomic.write_bytes(figure.svg, folder / f"{figure_id}.svg")
            files.append(FigureFile(
                id=figure_id, section=section, title_de=figure.title_de, caption_de=figure.caption_de,
                png=Path(FIGURE_FOLDER) / png.name, svg=Path(FIGURE_FOLDER) / svg.name,
            ))
        return files


@dataclass(frozen=True)
class Rendered:
    """A drawn figure as file contents, ready to be written (what a worker process hands back)."""

    title_de: str
    caption_de: str
    png: bytes
    svg: bytes


#: In a worker process: (token, figure builders) of the date whose figures it draws (see
#: :func:`draw_with_cached_inputs`).
_CACHED_BUILDERS: tuple[str, dict[str, Builder]] | None = None


def draw_with_cached_inputs(token: str, pickled: bytes | None, figure_id: str) -> tuple[Rendered | None] | None:
    """In a worker process: draw one figure from the inputs named ``token``, kept from an earlier task
    of the same date or unpickled from ``pickled``. Returns a one-element tuple (its element is None for
    a figure without data), or None if the worker does not have the inputs and none were sent (the
    caller then sends them). Module level, so that it can be pickled."""
    global _CACHED_BUILDERS
    if _CACHED_BUILDERS is None or _CACHED_BUILDERS[0] != token:
        if pickled is None:
            return None
        _CACHED_BUILDERS = (token, {figure_id: build for figure_id, _, build in _plan(*pickle.loads(pickled))})
    return (_draw(_CACHED_BUILDERS[1][figure_id]),)


def _draw(build: Builder) -> Rendered | None:
    """Draw one figure of the plan in the house style and save it as PNG and SVG bytes (None: no data)."""
    with style.house_style():
        drawn = build()
        if drawn is None:
            return None
        png, svg = io.BytesIO(), io.BytesIO()
        style.save_figure(drawn.figure, png, svg)
        drawn.figure.clear()
    return Rendered(drawn.title_de, drawn.caption_de, png.getvalue(), svg.getvalue())
