"""The published tables without the pipeline: sheet names, number formats, words for codes, German CSV,
inert text, GIS determinism. Hand-made published tables on the conftest grid."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import REFERENCE_DATE, grid_districts
from quarterstats.catalogue import CATALOGUE, SHEET_NAME_FORBIDDEN, SHEET_NAME_MAX, build_catalogue, IndicatorParameters
from quarterstats.publication import Provenance, published_table

HYPERLINK = '=HYPERLINK("http://x","y")'


def _provenance(day: date = REFERENCE_DATE) -> Provenance:
    return Provenance(day, "Melderegister (Test)", "Zellsperrung", "1.0.0", "0.0", {"data/raw/x.parquet": "ab"})


def _published(names: dict[str, str] | None = None) -> pd.DataFrame:
    """A protected long table by hand: four districts and the city, a few indicators of several kinds."""
    ids = ["A", "B", "C", "D", "city"]
    rows = []
    values = {
        "pop": [180, 120, 90, 10, 400],
        "foreign": [40, 10, np.nan, np.nan, 53],
        "foreign_share": [100 * 40 / 180, 100 * 10 / 120, np.nan, np.nan, 100 * 53 / 400],
        "household_size_mean": [2.0238, 2.0, 1.5, np.nan, 1.9],
        "milieu_type": [52332.0, 33333.0, np.nan, np.nan, np.nan],
        "milieu_excluded": [0.0, 0.0, 1.0, 1.0, np.nan],
        "lisa_class_foreign": [1.0, 0.0, 2.0, -1.0, np.nan],
    }
    flags = {"foreign": ["", "", "*", "*", ""], "foreign_share": ["", "", "*", "*", ""],
             "household_size_mean": ["", "", "", "*", ""]}
    for indicator, column in values.items():
        for k, district in enumerate(ids):
            value = column[k]
            flag = flags.get(indicator, [""] * 5)[k] or ("x" if pd.isna(value) else "")
            rows.append((district, indicator, value, np.nan, np.nan, flag, np.nan, np.nan))
    protected = pd.DataFrame(rows, columns=["district_id", "indicator", "value", "numerator", "denominator", "flag",
                                            "change_previous", "change_baseline"])
    names = names or {d: f"Bezirk {d}" for d in "ABCD"}
    return published_table(protected, names, REFERENCE_DATE)


# ------------------------------------------------------------------------------------------ sheet names
def test_short_names_are_unique_valid_sheet_names():
    names = [ind.short_de for ind in CATALOGUE.values()]
    assert all(names) and len(set(names)) == len(names)
    too_long = [n for n in names if len(n) > SHEET_NAME_MAX]
    forbidden = [n for n in names if set(n) & SHEET_NAME_FORBIDDEN or n.startswith("'") or n.endswith("'")]
    assert too_long == [] and forbidden == []


def test_short_names_follow_the_parameters_and_stay_valid():
    catalogue = build_catalogue(IndicatorParameters(age_group_lower_bounds=(0, 3, 6, 10, 16, 18, 27, 45, 60, 65, 75),
                                                    old_age_limit=67, recent_move_years=2))
    names = [ind.short_de for ind in catalogue.values()]
    assert len(set(names)) == len(names) and max(map(len, names)) <= SHEET_NAME_MAX
    assert catalogue["age_10_15"].short_de == "Einwohner 10 bis u. 16 J."
    assert catalogue["seniors_alone_share"].short_de == "Anteil Alleinlebende ab 67 J."


def test_label_cut_to_31_characters_would_collide():
    """What went wrong before: the two migration-background shares shared their first 31 characters."""
    a, b = CATALOGUE["with_mh_share"], CATALOGUE["with_mh_minors_share"]
    assert a.label_de[:31] == b.label_de[:31]
    assert a.short_de != b.short_de


def test_writer_refuses_duplicate_or_invalid_sheet_names(tmp_path):
    from quarterstats.workbook import Column, Sheet, write_workbook_sheets

    frame = pd.DataFrame({"a": ["x"]})
    sheet = Sheet("Anteil mit MH", "t", "s", [Column("a", "A")], frame)
    kwargs = dict(definitions=pd.DataFrame({"a": []}), code_lists=pd.DataFrame({"a": []}), notes_de=[],
                  provenance_rows=[], footer_left="", footer_right="")
    with pytest.raises(ValueError, match="unique"):
        write_workbook_sheets(tmp_path / "x.xlsx", [sheet, sheet], **kwargs)
    with pytest.raises(ValueError, match="31"):
        write_workbook_sheets(tmp_path / "x.xlsx", [Sheet("A/B", "t", "s", [Column("a", "A")], frame)], **kwargs)


# ------------------------------------------------------------------------------------ cells and formats
def test_values_are_written_unrounded_with_a_display_format(tmp_path):
    from quarterstats.workbook import Column, Sheet, write_workbook_sheets

    frame = pd.DataFrame({"v": [2.0238, np.nan, 0.0], "s": ["", "*", ""]})
    sheet = Sheet("Test", "Titel", "Stichtag", [Column("v", "Wert", "#,##0.0", signs="s")], frame, freeze_columns=0)
    target = write_workbook_sheets(tmp_path / "t.xlsx", [sheet], definitions=pd.DataFrame({"a": []}),
                                   code_lists=pd.DataFrame({"a": []}), notes_de=[], provenance_rows=[],
                                   footer_left="Quelle: A & B", footer_right="31.12.2020")
    ws = load_workbook(target)["Test"]
    assert ws["A6"].value == 2.0238 and ws["A6"].number_format == "#,##0.0"
    assert ws["A7"].value == "*" and ws["A7"].data_type == "s"
    assert ws["A8"].value == 0 and ws["A8"].number_format == "#,##0.0"  # a true zero stays 0
    assert ws.auto_filter.ref == "A5:A8" and ws.print_title_rows == "$5:$5"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.oddFooter.left.text == "Quelle: A && B"  # "&" escaped in Excel's header/footer codes


def test_workbook_shows_words_for_codes_and_full_precision(tmp_path):
    from quarterstats.indicators import type_label_de
    from quarterstats.tables import write_workbook

    target = write_workbook(_published(), tmp_path / "tabellen.xlsx", _provenance())
    wb = load_workbook(target)
    milieu = wb["Milieus"]
    header = [c.value for c in milieu[5]]
    rows = list(milieu.iter_rows(min_row=6, values_only=True))
    types = [r[header.index("Quartierstyp")] for r in rows]
    assert types == [type_label_de(52332), "gemischt, nahe am Durchschnitt", "x", "x", "x"]
    assert type_label_de(52332) == "Familien, wenige Ältere"
    assert [r[header.index("Ohne Milieuwerte (unter 300 Einwohner)")] for r in rows] == \
        ["nein", "nein", "ja", "ja", "x"]
    lisa = wb["Segregation"]
    header = [c.value for c in lisa[5]]
    column = header.index("LISA-Cluster: Ausländer")
    assert [r[column] for r in lisa.iter_rows(min_row=6, values_only=True)] == \
        ["Hoch-Hoch", "nicht signifikant", "Niedrig-Niedrig", "ohne Nachbarn", "x"]
    assert [r[1] for r in lisa.iter_rows(min_row=6, values_only=True)][-1] == "Stadt insgesamt"
    households = wb["Haushalte"]
    assert households["C6"].value == 2.0238 and households["C6"].number_format == "#,##0.00"
    assert households["C9"].value == "*"
    codes = {(r[0], r[1]): r[2] for r in wb["Definitionen"].iter_rows(values_only=True) if r[0] and r[1]}
    assert codes[("LISA-Cluster", "1")] == "Hoch-Hoch" and codes[("Quartierstyp", "52332")].startswith(type_label_de(52332) + ": ")
    assert codes[("Ohne Milieuwerte", "1")] == "ja"


# ---------------------------------------------------------------------------------------- inert text
def test_formula_like_names_stay_inert_text_everywhere(tmp_path):
    from openpyxl import Workbook

    from quarterstats.tables import long_table, write_table_files, write_workbook

    # the attack: a plain openpyxl write turns the name into a live formula
    plain = Workbook()
    plain.active.append([HYPERLINK])
    assert plain.active["A1"].data_type == "f"

    published = _published({"A": HYPERLINK, "B": "Bezirk B", "C": "@SUM(1)", "D": "-2+3"})
    published["district_id"] = published["district_id"].replace({"B": "+1"}).astype("string")
    wb = load_workbook(write_workbook(published, tmp_path / "tabellen.xlsx", _provenance()))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value: c for c in cells if isinstance(c.value, str)}
    for text in (HYPERLINK, "+1", "@SUM(1)", "-2+3"):
        assert texts[text].data_type == "s" and texts[text].quotePrefix, text
    assert not texts["Bezirk B"].quotePrefix

    write_table_files(long_table(published), tmp_path, "indikatoren")
    machine = pd.read_csv(tmp_path / "indikatoren.csv", dtype=str)
    german = pd.read_csv(tmp_path / "indikatoren_de.csv", sep=";", encoding="utf-8-sig", dtype=str)
    for frame, name_column, id_column in ((machine, "district_name", "district_id"), (german, "Bezirk", "Bezirksnummer")):
        assert "'" + HYPERLINK in set(frame[name_column]) and HYPERLINK not in set(frame[name_column])
        assert "'+1" in set(frame[id_column]) and "'-2+3" in set(frame[name_column])
    # a control character XML cannot hold is shown, not a reason to fail the workbook
    named = _published({"A": "Nord\x07\x1b[31m", "B": "B", "C": "C", "D": "D"})
    sheet = load_workbook(write_workbook(named, tmp_path / "ctl.xlsx", _provenance()))["Bevölkerung"]
    assert sheet["B6"].value == "Nord\\x07\\x1b[31m"
    # the Parquet file keeps the text as delivered (it is not read by spreadsheets)
    assert HYPERLINK in set(pd.read_parquet(tmp_path / "indikatoren.parquet")["district_name"])


# ------------------------------------------------------------------------------------------ German CSV
def test_german_csv_by_hand(tmp_path):
    from quarterstats.tables import long_table, write_table_files

    write_table_files(long_table(_published()), tmp_path, "indikatoren")
    lines = (tmp_path / "indikatoren_de.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Stichtag;Bezirksnummer;Bezirk;Kennung;Indikator;Einheit;Art;Wert;Wert in Worten")
    assert any(line.startswith("31.12.2020;A;Bezirk A;household_size_mean;Durchschnittliche Haushaltsgröße;"
                               "Personen je Haushalt;Mittelwert;2,0238;") for line in lines)
    assert any(line.startswith("31.12.2020;;Stadt insgesamt;pop;") and ";400;" in line for line in lines)
    assert any(line.startswith("31.12.2020;C;Bezirk C;foreign;") and line.split(";")[11] == "*" for line in lines)
    milieu = [line for line in lines if ";milieu_type;" in line and line.split(";")[1] == "A"][0]
    assert milieu.split(";")[7:9] == ["52332", "Familien, wenige Ältere"]
    machine = pd.read_csv(tmp_path / "indikatoren.csv")
    german = pd.read_csv(tmp_path / "indikatoren_de.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert german["Wert"].to_numpy() == pytest.approx(machine["value"].to_numpy(), nan_ok=True)


# ------------------------------------------------------------------------------------------------ GIS
def test_gis_files_by_hand_and_deterministic(tmp_path, monkeypatch):
    import geopandas as gpd
    import pyogrio

    from quarterstats import gis

    published = _published()
    first = gis.write_gis_files(published, grid_districts(), tmp_path)
    gpkg, geojson = (p.read_bytes() for p in first)
    frame = gpd.read_file(tmp_path / "bezirke.gpkg")
    assert frame.crs.to_epsg() == 25832 and len(frame) == 4
    assert frame["pop"].tolist() == [180, 120, 90, 10]
    assert frame["household_size_mean"].tolist()[:3] == [2.0238, 2.0, 1.5]
    assert frame["foreign"].isna().tolist() == [False, False, True, True]
    assert frame["suppressed"].tolist() == ["", "", "foreign,foreign_share", "foreign,foreign_share,household_size_mean"]
    assert frame["milieu_type_de"].tolist()[:2] == ["Familien, wenige Ältere", "gemischt, nahe am Durchschnitt"]
    assert sqlite3.connect(tmp_path / "bezirke.gpkg").execute(
        "select last_change from gpkg_contents").fetchall() == [(gis.FIXED_GPKG_DATE,)]
    wgs = gpd.read_file(tmp_path / "bezirke.geojson")
    assert wgs.crs.to_epsg() == 4326 and wgs.total_bounds[0] == pytest.approx(7.77, abs=0.05)  # longitude first
    time.sleep(1.1)
    gis.write_gis_files(published, grid_districts(), tmp_path)
    assert (tmp_path / "bezirke.gpkg").read_bytes() == gpkg and (tmp_path / "bezirke.geojson").read_bytes() == geojson
    # without the fixed date GDAL stamps the time of the write, and the bytes change
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None  # restored after the write
    other = tmp_path / "plain"
    other.mkdir()
    frame.to_file(other / "a.gpkg", driver="GPKG")
    stamp = sqlite3.connect(other / "a.gpkg").execute("select last_change from gpkg_contents").fetchone()[0]
    assert stamp != gis.FIXED_GPKG_DATE and stamp.startswith(str(date.today().year))


# ------------------------------------------------------------------------------------- top countries
def test_top_country_names_withheld_where_they_would_disclose():
    """A: Turkey 40 (its region cell published) -> named. B: Turkey 12 published as a top count, but the
    region cell origin_region_turkey is suppressed there (say, secondarily): Turkey is the only country
    of its region, so naming it would give the suppressed cell back. C: Syria 2, count suppressed."""
    from quarterstats.tables import top_countries_published

    persons = pd.DataFrame({
        "district_id": ["A"] * 40 + ["B"] * 12 + ["C"] * 2,
        "age": 30, "has_mh": True,
        "bezugsland": ["TUR"] * 40 + ["TUR"] * 12 + ["SYR"] * 2,
    })
    rows = []
    for district, count, flag in (("A", 40, ""), ("B", 12, ""), ("C", np.nan, "*"), ("D", 0, ""), ("city", 54, "")):
        rows.append((district, "top_country_1", count, flag))
    rows += [("A", "origin_region_turkey", 40, ""), ("B", "origin_region_turkey", np.nan, "*"),
             ("C", "origin_region_mena", np.nan, "*"), ("D", "origin_region_turkey", 0, ""),
             ("city", "origin_region_turkey", 52, "")]
    protected = pd.DataFrame(rows, columns=["district_id", "indicator", "value", "flag"]).assign(
        numerator=np.nan, denominator=np.nan, change_previous=np.nan, change_baseline=np.nan)
    published = published_table(protected, {d: f"Bezirk {d}" for d in "ABCD"}, REFERENCE_DATE)
    top = top_countries_published(persons, published, 1).set_index("district_id")
    assert top.loc["A", ["country_name", "name_flag", "count"]].tolist() == ["Türkei", "", 40]
    assert pd.isna(top.loc["B", "country_name"]) and top.loc["B", "name_flag"] == "*" and top.loc["B", "count"] == 12
    assert pd.isna(top.loc["C", "country_name"]) and top.loc["C", "name_flag"] == "*" and pd.isna(top.loc["C", "count"])
    assert pd.isna(top.loc["D", "country_name"]) and top.loc["D", "name_flag"] == "" and top.loc["D", "count"] == 0
    assert top.loc["city", "country_name"] == "Türkei"


def test_missing_delivered_number_is_unknown_not_incomputable():
    from quarterstats.tables import mark_unknown

    published = _published()
    extra = pd.DataFrame({"district_id": ["A", "B", "C"], "indicator": "sgb2_rate", "value": [12.5, np.nan, np.nan],
                          "numerator": np.nan, "denominator": np.nan, "flag": ["", "x", "x"],
                          "change_previous": np.nan, "change_baseline": np.nan})
    published = pd.concat([published, published_table(extra, {}, REFERENCE_DATE)], ignore_index=True)
    # computed: B's delivery lacks the number (numerator NaN, 150 residents under 65); C has nobody under 65
    computed = pd.DataFrame({"district_id": ["A", "B", "C"], "indicator": "sgb2_rate", "value": [12.5, np.nan, np.nan],
                             "numerator": [20.0, np.nan, np.nan], "denominator": [160.0, 150.0, 0.0]})
    marked = mark_unknown(published, computed).set_index(["district_id", "indicator"])["flag"]
    assert marked[("A", "sgb2_rate")] == "" and marked[("B", "sgb2_rate")] == "." and marked[("C", "sgb2_rate")] == "x"
    assert marked[("C", "foreign")] == "*"  # other cells untouched
