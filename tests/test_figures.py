"""Report figures (quarterstats.figures): files, reproducibility, legends, hatches, German labels.

All inputs are small protected aggregate tables built by hand here: square districts in EPSG:25832,
two reference dates, a few suppressed cells. No person-level data is involved (the API takes none).
"""

from __future__ import annotations

import inspect
import struct
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import pytest
import shapely

from quarterstats import background
from quarterstats.catalogue import CATALOGUE, ORIGIN_REGIONS
from quarterstats.figures import FigureFile, render_figures, start_figures
from quarterstats.figures import bars, maps, pyramids, style, trends

ORIGIN = (410_000.0, 5_477_000.0)
DATES = (date(2023, 12, 31), date(2024, 12, 31))
NAMES = ("Altstadt", "Bännjerrück", "Grübentälchen", "Mölschbach", "Südstadt", "Weißenfeld")
SOURCE = "Melderegister, anonymisierter statistischer Auszug; synthetische Daten"

#: District values of the later date (the earlier date: each value minus 1). NaN + flag "*" = suppressed.
VALUES = {
    "pop": [1000, 2000, 250, 1500, 3000, 800],
    "foreign_share": [5.0, 10.0, 11.0, 20.0, 30.0, 40.0],
    "with_mh_share": [20.0, 25.0, np.nan, 40.0, 50.0, 60.0],  # district 03 suppressed
    "with_mh_minors_share": [np.nan] * 6,  # not available anywhere ("x")
    "youth_ratio": [25.0, 30.0, 31.0, 28.0, 35.0, 22.0],
    "old_age_ratio": [30.0, 28.0, 45.0, 33.0, 25.0, 40.0],
    "residence_5y": [55.0, 60.0, 70.0, 50.0, 45.0, 65.0],
    "households_with_minors_share": [18.0, 22.0, 15.0, 20.0, 25.0, 17.0],
    "density": [1000.0, 2000.0, 250.0, 1500.0, 3000.0, 800.0],
    "milieu_type": [33333.0, 52332.0, np.nan, 25111.0, 52332.0, 32355.0],
    "milieu_excluded": [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    "lisa_class_foreign": [2.0, 2.0, 0.0, 0.0, 1.0, 1.0],
    "lisa_class_with_mh": [2.0, 0.0, 0.0, 4.0, 1.0, 3.0],
}
CITY = {"pop": 8550, "foreign_share": 19.3, "with_mh_share": 41.0, "density": 1425.0, "youth_ratio": 29.0,
        "old_age_ratio": 31.0, "residence_5y": 56.0, "households_with_minors_share": 20.0}
SUPPRESSED = {("03", "with_mh_share")}
NOT_AVAILABLE = {"with_mh_minors_share"}


# ------------------------------------------------------------------------------------------ builders
def grid_districts(n_cols: int, n_rows: int, side: float = 1_000.0, names=None) -> gpd.GeoDataFrame:
    n = n_cols * n_rows
    width = max(2, len(str(n)))
    ids = [f"{i + 1:0{width}d}" for i in range(n)]
    geoms = [shapely.box(ORIGIN[0] + c * side, ORIGIN[1] + r * side, ORIGIN[0] + (c + 1) * side,
                         ORIGIN[1] + (r + 1) * side) for r in range(n_rows) for c in range(n_cols)]
    names = list(names) if names is not None else [f"Bezirk {i}" for i in ids]
    return gpd.GeoDataFrame({"district_id": ids, "name": names}, geometry=geoms, crs="EPSG:25832")


def default_values(n: int) -> dict[str, list[float]]:
    """Deterministic values for any number of districts (large grids)."""
    k = np.arange(n, dtype=np.float64)
    return {
        "pop": (500 + (k * 37) % 2500).tolist(),
        "foreign_share": (5 + 30 * (0.5 + 0.5 * np.sin(k / 7))).tolist(),
        "with_mh_share": (20 + 40 * (0.5 + 0.5 * np.cos(k / 9))).tolist(),
        "with_mh_minors_share": (30 + (k * 13) % 40).tolist(),
        "youth_ratio": (20 + (k * 7) % 20).tolist(),
        "old_age_ratio": (20 + (k * 11) % 30).tolist(),
        "residence_5y": (40 + (k * 5) % 35).tolist(),
        "households_with_minors_share": (10 + (k * 3) % 20).tolist(),
        "density": (500 + (k * 97) % 5000).tolist(),
        "milieu_type": [float((33333, 52332, 25111, 32355, 22534, 41355, 31545)[i % 7]) for i in range(n)],
        "milieu_excluded": [0.0] * n,
        "lisa_class_foreign": [float((0, 0, 1, 2, 3, 4, 0)[i % 7]) for i in range(n)],
        "lisa_class_with_mh": [float((0, 1, 0, 2, 0, 4, 3)[i % 7]) for i in range(n)],
    }


def long_table(districts: gpd.GeoDataFrame, values: dict, city: dict, ref: date, shift: float,
               suppressed=frozenset(), not_available=frozenset()) -> pd.DataFrame:
    rows = []
    ids = list(districts["district_id"])
    names = dict(zip(ids, districts["name"]))
    region_codes = [code for code, _, _ in ORIGIN_REGIONS]
    region_weights = np.array([0.3, 0.15, 0.15, 0.12, 0.1, 0.06, 0.05, 0.03, 0.01, 0.03])
    all_values = dict(values)
    for j, code in enumerate(region_codes):  # composition among residents with MH, shifted per district
        shares = [region_weights[(j + i) % len(region_codes)] * (v if np.isfinite(v) else 40.0)
                  for i, v in enumerate(values["with_mh_share"])]
        all_values[f"origin_region_{code}_share"] = shares
    for indicator, vals in all_values.items():
        entry = CATALOGUE[indicator]
        area_values = [(d, v) for d, v in zip(ids, vals)]
        if indicator in city:
            area_values.append(("city", city[indicator]))
        for did, v in area_values:
            v = float(v)
            flag = ""
            shifted = v - shift if entry.comparable_over_time else v
            if (did, indicator) in suppressed:
                shifted, flag = np.nan, "*"
            elif indicator in not_available or not np.isfinite(v):
                shifted, flag = np.nan, "x"
            rows.append(dict(
                reference_date=ref, district_id=did, district_name=names.get(did, "Stadt insgesamt"),
                indicator=indicator, label_de=entry.label_de, unit=entry.unit, kind=entry.kind, value=shifted,
                numerator=np.nan, denominator=np.nan, flag=flag, change_previous=np.nan,
                change_baseline=np.nan,
            ))
    return pd.DataFrame(rows)


def pyramid_table(ids: list[str], suppressed_cells=frozenset()) -> pd.DataFrame:
    rows = []
    for area in [*ids, "city"]:
        if area == "city":
            bands = [f"{a}–{a + 4}" for a in range(0, 90, 5)] + ["90+"]
        else:
            bands = [f"{a}–{a + 9}" for a in range(0, 80, 10)] + ["80+"]
        for order, band in enumerate(bands):
            for sex in ("m", "w"):
                for mh, base in (("mit MH", 20), ("ohne MH", 50)):
                    count = float(base + 3 * order + (5 if sex == "w" else 0))
                    flag = ""
                    if (area, band, sex, mh) in suppressed_cells:
                        count, flag = np.nan, "*"
                    rows.append(dict(district_id=area, age_band=band, age_band_order=order, sex=sex, mh=mh,
                                     count=count, flag=flag))
    return pd.DataFrame(rows)


def segregation_table(dates) -> pd.DataFrame:
    rows = []
    for t, d in enumerate(dates):
        rows += [
            dict(reference_date=d, index="seg_dissimilarity", group="foreign", value=30.0 + t, p_value=np.nan),
            dict(reference_date=d, index="seg_dissimilarity", group="with_mh", value=25.0 + t, p_value=np.nan),
            dict(reference_date=d, index="seg_multigroup_theil", group="origin_regions", value=0.08 + 0.01 * t,
                 p_value=np.nan),
            dict(reference_date=d, index="moran_i", group="foreign", value=0.41, p_value=0.003),
            dict(reference_date=d, index="moran_i", group="with_mh", value=-0.12, p_value=0.2),
        ]
    return pd.DataFrame(rows)


def make_meta(ref: date) -> dict:
    return dict(
        reference_date=ref, city_name="Teststadt (synthetisch)", source=SOURCE,
        protection_de="Geheimhaltung durch Zellsperrung: Fallzahlen von 1 und 2 werden nicht ausgewiesen.",
        catalogue_version="1.0.0", code_version="0.1.0-test", input_hashes={"x.parquet": "0" * 64},
        migration_parameters=pd.DataFrame(columns=["name", "value", "description_de"]),
        indicator_parameters=pd.DataFrame({"name": ["composite_min_population"], "value": [300]}),
        generated_from="Handtabellen im Test",
    )


def make_inputs(districts: gpd.GeoDataFrame, values: dict, dates=DATES, suppressed=SUPPRESSED,
                not_available=NOT_AVAILABLE, pyramid_suppressed=frozenset()):
    city = CITY if values is VALUES else {"pop": float(np.sum(values["pop"])), "foreign_share": 18.0,
                                          "with_mh_share": 40.0}
    tables = [long_table(districts, values, city, d, shift=len(dates) - 1 - t, suppressed=suppressed,
                         not_available=not_available) for t, d in enumerate(dates)]
    series = pd.concat(tables, ignore_index=True)
    published = tables[-1]
    pyramid = pyramid_table(list(districts["district_id"]), pyramid_suppressed)
    return published, series, segregation_table(dates), pyramid, districts, make_meta(dates[-1])


SIX = grid_districts(3, 2, names=NAMES)
PYRAMID_SUPPRESSED = frozenset({("02", "80+", "m", "mit MH"), ("city", "90+", "w", "mit MH")})
EXPECTED_IDS = [
    "pyramid_city", "pyramid_districts", "map_density", "map_youth_ratio", "map_old_age_ratio",
    "map_foreign_share", "map_with_mh_share", "map_with_mh_minors_share", "bars_origin_regions",
    "map_households_with_minors_share", "map_residence_5y", "map_milieu_type", "map_lisa_foreign",
    "map_lisa_with_mh", "segregation_over_time", "trend_foreign_share", "trend_with_mh_share",
]


def six_inputs():
    return make_inputs(SIX, VALUES, pyramid_suppressed=PYRAMID_SUPPRESSED)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, list[FigureFile]]:
    """Every figure, drawn in this process alone (tests compare the worker processes' bytes with it)."""
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(background.THREADS_VARIABLE, "1")
        return out, render_figures(*six_inputs(), out)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_text(path: Path) -> str:
    """All text content of an SVG (text elements; SVG text is kept as text)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return "\n".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))


def flat(text: str) -> str:
    """Whitespace (line breaks of wrapped labels) collapsed to single spaces."""
    return " ".join(text.split())


def legend_texts(drawn: style.Drawn) -> tuple[str, list[str]]:
    """(title, entry labels) of the map legend."""
    legends = [ax.get_legend() for ax in drawn.figure.axes if ax.get_legend() is not None]
    assert len(legends) == 1
    legend = legends[0]
    return legend.get_title().get_text(), [t.get_text() for t in legend.get_texts()]


def collection(drawn: style.Drawn, gid: str):
    found = [c for ax in drawn.figure.axes for c in ax.collections if c.get_gid() == gid]
    return found[0] if found else None


# --------------------------------------------------------------------------------------------- files
def test_every_figure_is_written_in_report_order(rendered):
    out, files = rendered
    assert [f.id for f in files] == EXPECTED_IDS
    sections = [f.section for f in files]
    assert sections == sorted(sections, key=["bevoelkerung", "migration", "haushalte", "mobilitaet", "milieu",
                                             "segregation", "zeitreihen"].index)
    for f in files:
        assert f.png == Path("abbildungen") / f"{f.id}.png" and f.svg == Path("abbildungen") / f"{f.id}.svg"
        width, height = png_size(out / f.png)
        assert width == int(16 / 2.54 * 150)  # 16 cm at 150 dpi
        assert height > 300
        root = ET.parse(out / f.svg).getroot()  # a valid SVG document with unique element ids
        assert root.tag.endswith("svg")
        ids = [el.get("id") for el in root.iter() if el.get("id")]
        assert len(ids) == len(set(ids)), f.svg
        assert f.title_de and f.caption_de.endswith(".")
        assert "Quelle: " + SOURCE in f.caption_de


def test_rerun_gives_identical_bytes(rendered, tmp_path):
    out, files = rendered
    again = render_figures(*six_inputs(), tmp_path)
    assert again == files
    for f in files:
        for rel in (f.png, f.svg):
            assert (tmp_path / rel).read_bytes() == (out / rel).read_bytes(), rel


def _same_files(files, here: Path, there: Path) -> None:
    for f in files:
        for rel in (f.png, f.svg):
            assert (here / rel).read_bytes() == (there / rel).read_bytes(), rel


def test_worker_processes_draw_the_same_bytes_as_the_caller(tmp_path, monkeypatch, rendered):
    alone, files = rendered
    monkeypatch.setenv(background.THREADS_VARIABLE, "3")  # two worker processes beside the caller
    assert background.worker_processes() == 2
    assert render_figures(*six_inputs(), tmp_path) == files
    _same_files(files, alone, tmp_path)
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_worker_gets_the_inputs_of_a_date_once(monkeypatch, rendered):
    """The inputs travel pickled once per worker and date; later figures of the date name them only."""
    import pickle

    import quarterstats.figures as figures

    monkeypatch.setattr(figures, "_CACHED_BUILDERS", None)  # as in a new worker process
    out, files = rendered
    inputs = six_inputs()
    assert figures.draw_with_cached_inputs("date-1", None, "map_density") is None  # asks for the inputs
    (first,) = figures.draw_with_cached_inputs("date-1", pickle.dumps(inputs), "map_density")
    (second,) = figures.draw_with_cached_inputs("date-1", None, "bars_origin_regions")  # kept
    assert figures.draw_with_cached_inputs("date-2", None, "map_density") is None  # another date
    expected = {f.id: f for f in files}
    assert first.title_de == expected["map_density"].title_de
    assert first.png == (out / expected["map_density"].png).read_bytes()
    assert second.svg == (out / expected["bars_origin_regions"].svg).read_bytes()


def _failed_task(error: BaseException):
    def submit(function, *args):
        future = Future()
        future.set_exception(error)
        return future

    return submit


def test_the_caller_draws_what_a_dead_worker_would_have_drawn(tmp_path, monkeypatch, rendered):
    out, files = rendered
    monkeypatch.setenv(background.THREADS_VARIABLE, "2")
    discarded = []
    monkeypatch.setattr(background, "submit", _failed_task(BrokenProcessPool("killed")))
    monkeypatch.setattr(background, "discard_pool", lambda: discarded.append(True))
    assert render_figures(*six_inputs(), tmp_path) == files
    _same_files(files, out, tmp_path)
    assert discarded  # the next figures go to a new pool


def test_a_drawing_error_in_a_worker_reaches_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "2")
    monkeypatch.setattr(background, "submit", _failed_task(ValueError("no such district")))
    with pytest.raises(ValueError, match="no such district"):
        render_figures(*six_inputs(), tmp_path)


def test_a_failed_drawing_leaves_the_previous_figures_intact(tmp_path, monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "1")  # the failure below is patched into this process
    two = grid_districts(2, 1, names=("Nord", "Süd"))
    values = {k: v[:2] for k, v in VALUES.items()}
    files = render_figures(*make_inputs(two, values, dates=DATES[1:]), tmp_path)
    before = {p: p.read_bytes() for p in (tmp_path / "abbildungen").iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(trends, "indicator_trends", broken)  # the last figures of the list
    changed = {**values, "foreign_share": [7.0, 10.0]}  # a new map with a new legend
    with pytest.raises(RuntimeError, match="disk full"):
        render_figures(*make_inputs(two, changed, dates=DATES[1:]), tmp_path)
    assert {p: p.read_bytes() for p in (tmp_path / "abbildungen").iterdir()} == before  # nothing half-new
    assert len(before) == 2 * len(files)


def test_an_error_before_finish_stops_the_workers_after_their_current_figure(monkeypatch):
    monkeypatch.setenv(background.THREADS_VARIABLE, "2")
    with pytest.raises(RuntimeError, match="workbook"):
        with start_figures(*six_inputs()) as drawing:
            raise RuntimeError("workbook could not be written")
    assert not drawing._todo
    for feeder in drawing._feeders:
        feeder.result(timeout=120)


def test_svg_keeps_german_labels_and_the_source_line(rendered):
    out, _ = rendered
    text = flat(svg_text(out / "abbildungen" / "map_foreign_share.svg"))
    assert "Ausländeranteil nach Bezirken" in text
    assert "Bännjerrück" in text and "Grübentälchen" in text  # names fit into 1 km squares
    assert "Klassen: natürliche Brüche (Fisher-Jenks), 5 Klassen" in text
    assert "über 5,0 bis 11,0 % (2)" in text
    assert ("Quelle: " + SOURCE + "; Stichtag 31.12.2024; Geheimhaltung: Zellsperrung (gesperrte Werte *); "
            "quarterstats 0.1.0-test") in text
    pyramid = flat(svg_text(out / "abbildungen" / "pyramid_city.svg"))
    assert "Bevölkerung nach Alter, Geschlecht und Migrationshintergrund" in pyramid
    assert "Männer" in pyramid and "Frauen" in pyramid and "Alter in Jahren" in pyramid
    lisa = flat(svg_text(out / "abbildungen" / "map_lisa_foreign.svg"))
    assert "Moran's I = 0,41; p = 0,003" in lisa
    assert "Hoch-Hoch (2)" in lisa and "Niedrig-Niedrig (2)" in lisa
    seg = flat(svg_text(out / "abbildungen" / "segregation_over_time.svg"))
    assert "31,0" in seg and "0,090" in seg  # last values written at the line ends, decimal comma
    bars_text = flat(svg_text(out / "abbildungen" / "bars_origin_regions.svg"))
    assert "ehemalige Sowjetunion" in bars_text and "Stadt insgesamt" in bars_text
    # ten regions, seven colours: the smallest regions are drawn as one grey "übrige Regionen", named in the caption
    assert "übrige Regionen" in bars_text and "Türkei" not in bars_text
    caption = next(f.caption_de for f in rendered[1] if f.id == "bars_origin_regions")
    assert "„übrige Regionen“: Türkei, Naher Osten und Nordafrika, Afrika südlich der Sahara" in caption
    assert "kein Wert" in bars_text  # the fixture publishes no origin regions for the city: empty bar, said so


# ------------------------------------------------------------------------------------- classification
@pytest.mark.filterwarnings("ignore:Numba not installed")
def test_fisher_jenks_bounds_appear_in_the_legend():
    published, *_, districts, meta = six_inputs()
    with style.house_style():
        drawn = maps.choropleth_map(published, districts, "foreign_share", meta)
    title, labels = legend_texts(drawn)
    assert "Fisher-Jenks" in title and "5 Klassen" in title and "in %" in title
    bins = mapclassify.FisherJenks(np.array(VALUES["foreign_share"]), k=5).bins
    for b in bins:
        assert any(style.format_number(b, 1) in label for label in labels), b
    # by hand: the two closest values 10 and 11 share a class, every other value is a class of its own
    assert labels[:5] == ["5,0 % (1)", "über 5,0 bis 11,0 % (2)", "über 11,0 bis 20,0 % (1)",
                          "über 20,0 bis 30,0 % (1)", "über 30,0 bis 40,0 % (1)"]
    assert "Stadt insgesamt: 19,3 %" in drawn.caption_de


def test_fewer_distinct_values_fall_back_to_quantiles():
    c = maps.classify(np.array([1.0, 1.0, 2.0, 2.0, 3.0, np.nan]))
    assert c.method_de == "Quantile"
    # three distinct values -> three quantile classes: upper bounds at the 1/3, 2/3 and 3/3 quantiles
    assert c.bins.tolist() == pytest.approx([4 / 3, 2.0, 3.0]) and c.counts.tolist() == [2, 2, 1]
    assert maps.class_labels(c, "%") == ["1,0 bis 1,3 %", "über 1,3 bis 2,0 %", "über 2,0 bis 3,0 %"]
    single = maps.classify(np.array([7.0, 7.0]))
    assert single.k == 1 and maps.class_labels(single, "je 100") == ["7,0"]
    assert maps.classify(np.array([np.nan, np.nan])) is None


def test_class_bounds_get_more_decimals_when_rounding_would_merge_them():
    c = maps.Classification("Quantile", 0.01, np.array([0.02, 0.04]), np.array([0, 1]))
    assert maps.class_labels(c, "%") == ["0,01 bis 0,02 %", "über 0,02 bis 0,04 %"]


# ----------------------------------------------------------------------------------- hatches, no value
def test_suppressed_district_is_hatched_and_explained():
    published, *_, districts, meta = six_inputs()
    with style.house_style():
        drawn = maps.choropleth_map(published, districts, "with_mh_share", meta)
    hatched = collection(drawn, "areas_suppressed")
    assert hatched is not None and hatched.get_hatch() == style.SUPPRESSED_HATCH
    assert len(hatched.get_paths()) == 1  # district 03 only
    _, labels = legend_texts(drawn)
    assert "Wert gesperrt (Geheimhaltung) (1)" in labels
    assert not any(label.startswith("kein Wert") for label in labels)
    assert "Grübentälchen" in drawn.caption_de  # the suppressed district is named


def test_all_nan_indicator_draws_every_district_as_kein_wert():
    published, *_, districts, meta = six_inputs()
    with style.house_style():
        drawn = maps.choropleth_map(published, districts, "with_mh_minors_share", meta)
    missing = collection(drawn, "areas_missing")
    assert missing is not None and missing.get_hatch() == style.MISSING_HATCH
    assert len(missing.get_paths()) == 6
    title, labels = legend_texts(drawn)
    assert labels == ["kein Wert (6)"] and "kein Bezirk mit Wert" in title


def test_milieu_map_hatches_small_districts():
    published, *_, districts, meta = six_inputs()
    with style.house_style():
        drawn = maps.milieu_map(published, districts, meta)
    small = collection(drawn, "areas_too_small")
    assert small is not None and small.get_hatch() and len(small.get_paths()) == 1
    _, labels = legend_texts(drawn)
    labels = [label.replace("\n", " ") for label in labels]
    assert "nicht typisiert: zu wenige Einwohner (1)" in labels
    assert "Familien, wenige Ältere (2)" in labels  # type 52332 in two districts
    assert "gemischt, nahe am Durchschnitt (1)" in labels
    for word in ("status", "problem", "benachteilig"):
        assert word not in " ".join(labels).lower()
    assert "niedriger sozialer status" not in drawn.caption_de.lower()
    # the hand-made tables have no status classes: the caption says the auxiliary figures are missing
    assert "Zum sozialen Status liegen keine Zulieferdaten vor" in drawn.caption_de
    # every type is described in the caption
    assert "„Familien, wenige Ältere“: Gegenüber dem Durchschnitt der Bezirke deutlich mehr Familien" in drawn.caption_de


def test_typology_map_colours_are_colour_blind_safe_and_stable_over_dates():
    from matplotlib.colors import to_hex

    published, series, *_, districts, meta = six_inputs()
    assert maps.TYPE_COLOURS == style.OKABE_ITO and len(set(maps.TYPE_COLOURS)) == len(maps.TYPE_COLOURS)
    earlier_date = min(series["reference_date"])
    earlier = (series["reference_date"] == earlier_date) & (series["indicator"] == "milieu_type")
    series = series.copy()
    # the types are fitted on the first date: it has every type, a later date may lack one (22534 here)
    series.loc[earlier & (series["district_id"] == "05"), "value"] = 22534.0

    def colour(table, reference_date, with_series, code) -> str:
        with style.house_style():
            drawn = maps.milieu_map(table, districts, {**meta, "reference_date": reference_date},
                                    series if with_series else None)
        return to_hex(collection(drawn, f"areas_type_{code}").get_facecolor()[0])

    # with all dates the codes 22534, 25111, 32355, 33333, 52332 are known: 52332 is the fifth colour
    later = colour(published, meta["reference_date"], True, 52332)
    assert later == maps.TYPE_COLOURS[4].lower()
    first = colour(series[series["reference_date"] == earlier_date], earlier_date, True, 52332)
    assert first == later
    # without the other dates the colour would follow this date's codes only (the fourth colour)
    assert colour(published, meta["reference_date"], False, 52332) == maps.TYPE_COLOURS[3].lower()


def test_change_map_symmetric_classes_and_signs():
    from matplotlib.colors import to_hex

    published, series, *_, districts, meta = six_inputs()
    previous = min(series["reference_date"])
    published = published.copy()
    rows = published["indicator"] == "foreign_share"
    change = {"01": -3.7, "02": 0.5, "03": np.nan, "04": 2.2, "05": -0.2, "06": np.nan, "city": 0.3}
    published.loc[rows, "change_previous"] = published.loc[rows, "district_id"].map(change)
    # district 03: suppressed at the previous date ("*"); district 06: no value then ("x")
    series = series.copy()
    at_previous = (series["reference_date"] == previous) & (series["indicator"] == "foreign_share")
    series.loc[at_previous & (series["district_id"] == "03"), ["value", "flag"]] = [np.nan, "*"]
    series.loc[at_previous & (series["district_id"] == "06"), ["value", "flag"]] = [np.nan, "x"]
    meta = {**meta, "previous_reference_date": previous, "baseline_reference_date": previous}
    with style.house_style():
        drawn = maps.change_map(published, series, districts, "foreign_share", "previous", meta)
        assert maps.change_map(published, series, districts, "foreign_share", "previous",
                               {**meta, "previous_reference_date": None}) is None
    title, labels = legend_texts(drawn)
    title, labels = flat(title), [flat(label) for label in labels]
    assert labels[:5] == ["−5,0 bis unter −3,0 (1)", "−3,0 bis unter −1,0 (0)", "−1,0 bis 1,0 (2)",
                          "über 1,0 bis 3,0 (1)", "über 3,0 bis 5,0 (0)"]
    assert "* Veränderung gesperrt (Geheimhaltung) (1)" in labels and "x kein Vergleich möglich (1)" in labels
    assert "Prozentpunkte" in title and "symmetrisch um 0" in title
    assert collection(drawn, "areas_suppressed").get_hatch() == style.SUPPRESSED_HATCH
    assert collection(drawn, "areas_no_comparison").get_hatch() == "xxxx"
    assert to_hex(collection(drawn, "areas_class_0").get_facecolor()[0]) == maps.CHANGE_COLOURS[0]
    assert "* : " not in drawn.caption_de and "*: Grübentälchen" in drawn.caption_de
    assert "x: Weißenfeld" in drawn.caption_de


def test_svg_draws_the_hatch_pattern(rendered):
    out, _ = rendered
    svg = (out / "abbildungen" / "map_with_mh_share.svg").read_text(encoding="utf-8")
    assert '<g id="areas_suppressed">' in svg
    assert "<pattern" in svg and "fill: url(#h" in svg


# ----------------------------------------------------------------------------------- pyramids, bars
def test_pyramid_leaves_suppressed_cells_empty_and_marks_them():
    _, _, _, pyramid, _, _ = six_inputs()
    from matplotlib.figure import Figure

    with style.house_style():
        fig = Figure()
        ax = fig.add_subplot()
        cells = pyramid[pyramid["district_id"] == "02"]
        n = pyramids.draw_pyramid(ax, cells)
    assert n == 1
    assert [t.get_text().strip() for t in ax.texts if (t.get_gid() or "").startswith("suppressed_mark")] == ["*"]
    # containers: men with MH, men without, women with, women without. Band 80+ (order 8) of men with MH
    # is suppressed: empty, and the "ohne MH" segment starts at the axis
    assert ax.containers[0].patches[8].get_width() == 0.0
    assert ax.containers[1].patches[8].get_x() == 0.0 and ax.containers[1].patches[8].get_width() == -(50 + 24)
    assert ax.containers[0].patches[0].get_width() == -20.0


def test_region_composition_by_hand():
    shares = np.array([[10.0, 5.0, 5.0], [10.0, np.nan, 5.0], [np.nan, np.nan, np.nan], [10.0, np.nan, 5.0]])
    status = np.array([["ok"] * 3, ["ok", "suppressed", "ok"], ["missing"] * 3, ["ok", "missing", "ok"]],
                      dtype=object)
    pct, rest = bars.region_composition(shares, status, np.array([21.0, 20.0, 30.0, 20.0]))
    assert pct[0].tolist() == [50.0, 25.0, 25.0] and rest[0] == 0.0  # complete: normalised to the sum
    assert pct[1].tolist() == [50.0, 0.0, 25.0] and rest[1] == 25.0  # suppressed region: hatched rest
    assert pct[2].tolist() == [0.0, 0.0, 0.0] and rest[2] == 0.0  # nothing published: empty bar
    assert pct[3].tolist() == [50.0, 0.0, 25.0] and rest[3] == 0.0  # missing (not suppressed): no hatch


def test_city_five_year_bands_regrouped_into_ten_year_bands():
    bands = [f"{a}–{a + 4}" for a in range(0, 90, 5)] + ["90+"]
    city = pd.DataFrame({"district_id": "city", "age_band": bands, "age_band_order": range(len(bands)),
                         "sex": "w", "mh": "mit MH", "count": [float(i + 1) for i in range(len(bands))],
                         "flag": ""})
    city.loc[18, ["count", "flag"]] = [np.nan, "*"]  # 90+ suppressed
    coarse = pyramids.rebin(city, [f"{a}–{a + 9}" for a in range(0, 80, 10)] + ["80+"])
    assert coarse["age_band"].tolist()[:2] == ["0–9", "10–19"] and coarse["age_band"].iloc[-1] == "80+"
    assert coarse["count"].tolist() == [3.0, 7.0, 11.0, 15.0, 19.0, 23.0, 27.0, 31.0, 17.0 + 18.0]
    assert coarse["flag"].tolist() == [""] * 8 + ["*"]  # 80+ holds a suppressed part


# -------------------------------------------------------------------------------------- edge cases
def test_two_districts_and_a_single_reference_date(tmp_path):
    """Both edge cases in one run: every figure but the trends, which need two dates and are left out."""
    two = grid_districts(2, 1, names=("Nord", "Süd"))
    values = {k: v[:2] for k, v in VALUES.items()}
    inputs = make_inputs(two, values, dates=DATES[1:], suppressed=frozenset(), not_available=frozenset())
    files = render_figures(*inputs, tmp_path)
    assert [f.id for f in files] == [i for i in EXPECTED_IDS
                                     if not i.startswith("trend_") and i != "segregation_over_time"]
    assert not (tmp_path / "abbildungen" / "trend_foreign_share.png").exists()
    assert "Quantile" in svg_text(tmp_path / "abbildungen" / "map_foreign_share.svg")  # 2 values < 5 classes


def test_trends_of_two_districts_and_only_dates_up_to_the_report_date():
    two = grid_districts(2, 1, names=("Nord", "Süd"))
    values = {k: v[:2] for k, v in VALUES.items()}
    published, series, segregation, _, districts, meta = make_inputs(two, values)
    with style.house_style():
        drawn = trends.indicator_trends(series, published, districts, "foreign_share", meta)
        lines = [line for ax in drawn.figure.axes for line in ax.lines]
        assert sorted(line.get_gid() for line in lines) == ["city_line_01", "city_line_02", "district_line_01",
                                                            "district_line_02"]
        district_01 = next(line for line in lines if line.get_gid() == "district_line_01")
        assert district_01.get_ydata().tolist() == [4.0, 5.0]  # 5 % at the later date, 1 point less before
        # a report for the earlier date has no history: the later date is not part of it
        earlier = {**meta, "reference_date": DATES[0]}
        assert trends.indicator_trends(series, published, districts, "foreign_share", earlier) is None
        assert trends.segregation_trend(segregation, earlier) is None
        assert trends.segregation_trend(segregation, meta) is not None


def test_figures_take_no_person_level_data():
    params = list(inspect.signature(render_figures).parameters)
    assert params == ["published", "series", "segregation", "pyramid", "districts", "meta", "out_dir"]
    published, series, segregation, pyramid, districts, meta = six_inputs()
    persons = published.assign(person_id="p1")
    with pytest.raises(ValueError, match="person-level"):
        render_figures(persons, series, segregation, pyramid, districts, meta, Path("unused"))


@pytest.mark.slow
def test_450_districts_render(tmp_path):
    grid = grid_districts(25, 18, side=200.0)
    inputs = make_inputs(grid, default_values(450), suppressed={("007", "foreign_share")},
                         not_available=frozenset())
    files = render_figures(*inputs, tmp_path)  # its time: scripts/benchmark.py
    assert [f.id for f in files] == EXPECTED_IDS
    text = svg_text(tmp_path / "abbildungen" / "map_foreign_share.svg")
    assert "Bezirk 001" not in text  # no labels on a 450-district map
    captions = {f.id: f.caption_de for f in files}
    assert "12 einwohnerstärksten Bezirke" in captions["pyramid_districts"]
    assert "12 einwohnerstärksten Bezirke" in captions["trend_foreign_share"]
    assert "40 Bezirke mit den meisten Einwohnern mit Migrationshintergrund" in captions["bars_origin_regions"]


# ------------------------------------------------------------------------------------------- style
def test_german_number_and_date_formatting():
    assert style.format_number(1234.56, 1) == "1.234,6"
    assert style.format_number(-0.3, 1) == "\u22120,3"
    assert style.format_number(-0.04, 1) == "0,0"
    assert style.format_number(2.5, 1, sign=True) == "+2,5"
    assert style.format_number(float("nan")) == "x"  # DIN 55301: "–" would mean exactly zero
    assert style.format_percent(12.34) == "12,3 %"
    assert style.format_date(date(2024, 12, 31)) == "31.12.2024"


def test_source_line_and_short_protection():
    meta = make_meta(date(2024, 12, 31))
    assert style.source_line(meta) == (f"Quelle: {SOURCE}; Stichtag 31.12.2024; Geheimhaltung: Zellsperrung "
                                       "(gesperrte Werte *); quarterstats 0.1.0-test")
    cell_key = {**meta, "protection_de": "Geheimhaltung nach der Cell-Key-Methode (wie im Zensus 2022): …"}
    assert "Geheimhaltung: Cell-Key-Methode;" in style.source_line(cell_key)
    assert "Stichtage 31.12.2023 bis 31.12.2024" in style.source_line(meta, DATES)


def test_tick_labels_get_the_decimals_the_ticks_need():
    fmt = style.GermanTickFormatter()
    fmt.set_locs([0.0, 0.025, 0.05])
    assert [fmt(x) for x in (0.0, 0.025, 0.05)] == ["0,000", "0,025", "0,050"]
    fmt.set_locs([0.0, 1000.0, 2000.0])
    assert fmt(2000.0) == "2.000"
    absolute = style.GermanTickFormatter(absolute=True)
    absolute.set_locs([-250.0, 0.0, 250.0])
    assert absolute(-250.0) == "250"


def test_fast_fisher_jenks_gives_mapclassifys_classes():
    """The vectorised Fisher–Jenks of the maps gives exactly mapclassify's bounds and classes (ties,
    repeated values and small k included), also at 450 districts."""
    import warnings

    rng = np.random.default_rng(11)
    checked = 0
    for trial in range(60):
        n = int(rng.integers(5, 70))
        y = rng.gamma(2.0, 5.0, n)
        if trial % 3 == 0:
            y = np.round(y)  # ties
        if trial % 5 == 0:
            y = np.round(y / 3) * 3  # few distinct values
        for k in (5, 3, 2):
            if np.unique(y).size < k:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reference = mapclassify.FisherJenks(y, k=k)
                fast = maps.FisherJenks(y, k=k)  # mapclassify warns about numba; the bounds do not use it
            assert fast.bins.tolist() == reference.bins.tolist() and fast.yb.tolist() == reference.yb.tolist()
            checked += 1
    assert checked > 100
    y = rng.gamma(2.0, 5.0, 450)  # the size of a Berlin-size city (its speed: docs/performance.md)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = mapclassify.FisherJenks(y, k=5)
    assert maps.fisher_jenks_bins(np.sort(y), 5).tolist() == reference.bins.tolist()


def test_change_maps_are_planned_against_previous_and_first_date():
    from quarterstats.figures import _plan

    published, series, segregation, pyramid, districts, meta = six_inputs()
    group = CATALOGUE.groups["change_maps"]
    ids = [i for i, section, _ in _plan(published, series, segregation, pyramid, districts, meta)
           if section == "veraenderungen"]
    assert ids == [f"change_previous_{g}" for g in group]  # no earlier dates: the builders draw nothing
    later = {**meta, "previous_reference_date": date(2023, 12, 31), "baseline_reference_date": date(2022, 12, 31)}
    ids = [i for i, section, _ in _plan(published, series, segregation, pyramid, districts, later)
           if section == "veraenderungen"]
    assert ids == [f"change_{a}_{g}" for g in group for a in ("previous", "baseline")]
    same = {**later, "baseline_reference_date": date(2023, 12, 31)}  # the previous date is the first
    ids = [i for i, section, _ in _plan(published, series, segregation, pyramid, districts, same)
           if section == "veraenderungen"]
    assert ids == [f"change_previous_{g}" for g in group]


def test_typology_map_groups_types_beyond_the_palette():
    """Only a user's wider ``typology_types`` makes more types than the 7 colours: the most frequent keep
    their colour, the rest are grouped grey as "übrige Typen"."""
    districts = grid_districts(4, 3)
    values = default_values(12)
    codes = (33333, 52332, 25111, 32355, 22534, 41355, 31545, 15212, 33343)
    values["milieu_type"] = [float(codes[i % len(codes)]) for i in range(12)]  # 9 types, three of them twice
    published, *_, districts, meta = make_inputs(districts, values, suppressed=frozenset(),
                                                 not_available=frozenset())
    with style.house_style():
        drawn = maps.milieu_map(published, districts, meta)
    _, labels = legend_texts(drawn)
    labels = [label.replace("\n", " ") for label in labels]
    assert "übrige Typen (3 Typen) (3)" in labels
    assert len([label for label in labels if not label.startswith("übrige")]) == 6
    assert "Familien, wenige Ältere (2)" in labels  # a type of two districts keeps its colour
