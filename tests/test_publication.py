"""Published artefacts: workbook contents, leak check, byte-identical reruns of everything in reports/."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import REFERENCE_DATE, grid_districts, person, write_extract
from quarterstats.paths import ProjectPaths
from quarterstats.publication import person_level_findings


def _project(tmp_path):
    """A work folder with 400 persons over the four grid districts (some small cells)."""
    from conftest import cell_centre

    rows = []
    spec = {"A": (0, 0, 180, 40), "B": (1, 0, 120, 10), "C": (0, 1, 90, 2), "D": (1, 1, 10, 1)}
    for district, (col, row, n, foreign) in spec.items():
        x, y = cell_centre(col, row)
        for k in range(n):
            extra = dict(nationality_1="TUR", german_acquisition=None, birth_country="TUR",
                         origin_country="TUR") if k < foreign else {}
            rows.append(person(f"pseudo{district}{k:04d}", x=x, y=y, age=1 + (k * 7) % 89,
                               moved_in_address=date(2020, 1, 1),
                               household_id=f"haus{district}{k // 2:04d}", sex="mw"[k % 2], **extra))
    raw = tmp_path / "data" / "raw"
    write_extract(rows, raw / "register" / f"{REFERENCE_DATE}.parquet")
    (raw / "boundaries").mkdir(parents=True)
    grid_districts().to_file(raw / "boundaries" / "districts.gpkg", layer="districts", driver="GPKG")
    return tmp_path


@pytest.fixture(scope="module")
def published_project(tmp_path_factory):
    import os

    from pipelines.runner import materialize_all

    root = tmp_path_factory.mktemp("pub")
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    project = _project(root)
    outcome = materialize_all(project, progress=lambda _: None)
    assert outcome.ok, outcome.message
    return project


def test_reports_hold_the_expected_files(published_project):
    paths = ProjectPaths.from_workdir(published_project)
    folder = paths.report_dir(REFERENCE_DATE)
    for name in ("indikatoren.csv", "indikatoren.parquet", "indikatoren_de.csv", "tabellen.xlsx", "alterspyramide.csv",
                 "alterspyramide_de.csv", "segregationsindizes.csv", "bezugslaender.csv", "zeichenerklaerung.csv",
                 "bezirke.gpkg", "bezirke.geojson", "karte.html", "bericht.html"):
        assert (folder / name).is_file(), name
    assert any((folder / "abbildungen").glob("*.png")) and any((folder / "abbildungen").glob("*.svg"))
    assert (paths.reports / "index.html").is_file() and (paths.reports / "zeitreihe.xlsx").is_file()
    assert (paths.reports / "karte.html").is_file()
    published = pd.read_parquet(folder / "indikatoren.parquet")
    # D has 10 residents with 1 foreigner: that count is suppressed, and so is its share
    cell = published.set_index(["district_id", "indicator"])
    assert cell.loc[("D", "foreign"), "flag"] == "*" and pd.isna(cell.loc[("D", "foreign"), "value"])
    assert pd.isna(cell.loc[("D", "foreign_share"), "value"])
    assert cell.loc[("city", "pop"), "value"] == 400


def test_workbook_is_german_marked_and_traceable(published_project):
    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    wb = load_workbook(folder / "tabellen.xlsx")
    assert {"Bevölkerung", "Migration", "Erläuterungen", "Definitionen", "Herkunft"} <= set(wb.sheetnames)
    migration = wb["Migration"]
    assert migration["A1"].value == "Migration nach Bezirken"
    assert migration["A2"].value.startswith(f"Stichtag {REFERENCE_DATE.strftime('%d.%m.%Y')}")
    assert migration["A3"].value.startswith("Zeichen: * = ")
    header = [c.value for c in migration[5]]
    assert header[:2] == ["Bezirksnummer", "Bezirk"] and "Ausländer (Personen)" in header
    column = header.index("Ausländer (Personen)") + 1
    values = {migration.cell(row=r, column=2).value: migration.cell(row=r, column=column).value for r in range(6, 11)}
    assert values["Bezirk D"] == "*" and values["Stadt insgesamt"] == 53
    assert migration.cell(row=10, column=1).value is None  # the city row has no district number
    provenance = {r[0].value: r[1].value for r in wb["Herkunft"].iter_rows(min_row=2)}
    assert provenance["Stichtag"] == REFERENCE_DATE.strftime("%d.%m.%Y")
    assert any(k.startswith("SHA-256 data/raw/register/") for k in provenance)
    definitions = [c.value for c in wb["Definitionen"][2]]
    assert "Definition" in definitions and "Formel" in definitions and "Kurzname" in definitions


def test_leak_check_finds_planted_pseudonyms_and_columns(published_project, tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(ProjectPaths.from_workdir(published_project).reports, reports)
    persons = pd.read_parquet(ProjectPaths.from_workdir(published_project).persons(REFERENCE_DATE))
    assert person_level_findings(reports, persons["person_id"], persons["household_id"].dropna()) == []
    (reports / "leak.csv").write_text("district_id,value\nA,pseudoA0007\n", encoding="utf-8")
    persons.head(3)[["person_id", "age"]].to_parquet(reports / "rows.parquet")
    findings = person_level_findings(reports, persons["person_id"], persons["household_id"].dropna())
    assert any("leak.csv" in f and "pseudoA0007" in f for f in findings)
    assert any("rows.parquet" in f and "person_id" in f for f in findings)


def test_rerun_gives_identical_reports(published_project):
    from pipelines.runner import materialize_all

    paths = ProjectPaths.from_workdir(published_project)
    before = {p: p.read_bytes() for p in sorted(paths.reports.rglob("*")) if p.is_file()}
    assert materialize_all(published_project, progress=lambda _: None).ok
    after = {p: p.read_bytes() for p in sorted(paths.reports.rglob("*")) if p.is_file()}
    assert before.keys() == after.keys()
    changed = [str(p.relative_to(paths.reports)) for p in before if before[p] != after[p]]
    assert changed == []


def test_cell_key_mode_is_selected_by_configuration(published_project, tmp_path, monkeypatch):
    from pipelines.runner import materialize_all

    project = tmp_path / "ck"
    shutil.copytree(published_project / "data" / "raw", project / "data" / "raw")
    (project / "quarterstats.toml").write_text('[disclosure]\nmethod = "cell_key"\n', encoding="utf-8")
    monkeypatch.setenv("QUARTERSTATS_CELLKEY_SALT", "a-test-salt")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    assert materialize_all(project, progress=lambda _: None).ok
    published = pd.read_parquet(ProjectPaths.from_workdir(project).published(REFERENCE_DATE))
    pop = published.set_index(["district_id", "indicator"]).loc[("D", "pop"), "value"]
    assert abs(pop - 10) <= 2
    html = (ProjectPaths.from_workdir(project).report_dir(REFERENCE_DATE) / "bericht.html").read_text(encoding="utf-8")
    assert "Cell-Key" in html


def test_pyramid_counts_by_hand_with_band_totals_protected():
    """City in 5-year bands, districts in 10-year bands; sex d counted by statistical sex; cells below 3
    suppressed, and a second cell of the same band too, because the band totals are published elsewhere."""
    import numpy as np

    from quarterstats.disclosure import DisclosureConfig
    from quarterstats.publication import pyramid_table

    rows = (
        [("01", 12, "m", False)] * 5 + [("01", 14, "w", False)] * 4 + [("01", 17, "w", True)] * 6
        + [("01", 35, "m", True)] * 2  # a small cell alone in its band: its band partner goes too
        + [("01", 35, "m", False)] * 7 + [("01", 38, "w", False)] * 3
        + [("02", 85, "w", True)] * 3 + [("02", 97, "m", False)] * 4  # 80+ and 95+ (90+ in the city)
        + [("02", 40, "d", False)] * 9  # x1..x9: x1, x3, x5, x8 count as women, the other five as men
        + [("03", 40, "m", False)] * 8  # not among the districts shown: counted for the city only
    )
    persons = pd.DataFrame(rows, columns=["district_id", "age", "sex", "has_mh"])
    divers = (persons["sex"] == "d").to_numpy()
    persons.insert(0, "person_id", [f"p{i}" for i in range(len(persons))])
    persons.loc[divers, "person_id"] = [f"x{i}" for i in range(1, 10)]
    persons["district_id"] = persons["district_id"].astype("category")
    table = pyramid_table(persons, ["city", "01", "02"], DisclosureConfig(min_count=3))

    assert list(table["district_id"].unique()) == ["city", "01", "02"]
    assert (table.groupby("district_id", sort=False).size() == [19 * 4, 9 * 4, 9 * 4]).all()
    assert table[["sex", "mh"]].head(4).values.tolist() == [["m", "mit MH"], ["m", "ohne MH"], ["w", "mit MH"],
                                                           ["w", "ohne MH"]]

    def cells(area, band):
        part = table[(table["district_id"] == area) & (table["age_band"] == band)]
        return dict(zip(part["sex"] + "|" + part["mh"], zip(part["count"], part["flag"])))

    assert cells("01", "10–19") == {"m|mit MH": (0.0, ""), "m|ohne MH": (5.0, ""), "w|mit MH": (6.0, ""),
                                    "w|ohne MH": (4.0, "")}
    band_30 = cells("01", "30–39")
    assert band_30["m|mit MH"][1] == "*" and np.isnan(band_30["m|mit MH"][0])
    assert sum(flag == "*" for _, flag in band_30.values()) >= 2  # 2 could follow from the band total 12
    assert cells("02", "80+") == {"m|mit MH": (0.0, ""), "m|ohne MH": (4.0, ""), "w|mit MH": (3.0, ""),
                                  "w|ohne MH": (0.0, "")}
    assert cells("city", "90+")["m|ohne MH"] == (4.0, "") and cells("city", "85–89")["w|mit MH"] == (3.0, "")
    # every resident is in the pyramid: the nine of sex d as five men and four women
    assert cells("02", "40–49") == {"m|mit MH": (0.0, ""), "m|ohne MH": (5.0, ""), "w|mit MH": (0.0, ""),
                                    "w|ohne MH": (4.0, "")}
    assert cells("city", "40–44")["m|ohne MH"] == (8.0 + 5.0, "")  # district 03, and five of sex d
    district_02 = table[table["district_id"] == "02"]
    assert (district_02["flag"] == "").all() and district_02["count"].sum() == 3 + 4 + 9  # all its residents
    shown = table[table["flag"] == ""]
    assert ((shown["count"] == 0) | (shown["count"] >= 3)).all()  # no small count published


# ------------------------------------------------------------------------ the published tables, by hand
def _data_headers(wb) -> list[str]:
    """Header cells (row 5) of every data sheet of a workbook."""
    data = [n for n in wb.sheetnames if n not in ("Erläuterungen", "Definitionen", "Herkunft")]
    return [c.value for name in data for c in wb[name][5] if c.value is not None]


def test_every_published_indicator_is_in_the_workbook_exactly_once_under_its_full_label(published_project):
    from quarterstats.catalogue import CATALOGUE
    from quarterstats.tables import _unit_header

    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    published = pd.read_parquet(folder / "indikatoren.parquet")
    headers = _data_headers(load_workbook(folder / "tabellen.xlsx"))
    indicators = published["indicator"].unique()
    assert len(indicators) > 100
    counts = {i: headers.count(_unit_header(CATALOGUE[i])) for i in indicators}
    assert {i: n for i, n in counts.items() if n != 1} == {}
    assert all(CATALOGUE[i].label_de in _unit_header(CATALOGUE[i]) for i in indicators)
    # the city-wide indices are published too: each label once per group on their own sheet
    indices = pd.read_parquet(folder / "segregationsindizes.parquet")
    sheet = load_workbook(folder / "tabellen.xlsx")["Segregationsindizes"]
    shown = [(r[0], r[1]) for r in sheet.iter_rows(min_row=6, max_col=2, values_only=True)]
    assert sorted(shown) == sorted(zip(indices["index_label_de"], indices["group_label_de"]))
    assert set(indices["index"]) >= {"seg_dissimilarity", "moran_i"}


def test_workbook_cells_hold_full_precision_words_and_signs(published_project):
    from quarterstats.indicators.milieu import EXCLUDED_LABELS_DE

    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    published = pd.read_parquet(folder / "indikatoren.parquet").set_index(["district_id", "indicator"])
    wb = load_workbook(folder / "tabellen.xlsx")
    households = wb["Haushalte"]
    header = [c.value for c in households[5]]
    column = header.index("Durchschnittliche Haushaltsgröße (Personen je Haushalt)") + 1
    cell = households.cell(row=6, column=column)  # district A: 180 persons in 90 households of two
    assert cell.value == published.loc[("A", "household_size_mean"), "value"] == 2.0
    assert cell.number_format == "#,##0.00"
    share = wb["Migration"]
    header = [c.value for c in share[5]]
    cell = share.cell(row=6, column=header.index("Ausländeranteil (%)") + 1)
    assert cell.value == pytest.approx(100 * 40 / 180) and cell.number_format == "#,##0.0"  # not rounded
    milieu = wb["Milieus"]
    header = [c.value for c in milieu[5]]
    excluded = [milieu.cell(row=r, column=header.index("Ohne Milieuwerte (unter 300 Einwohner)") + 1).value
                for r in range(6, 10)]
    assert excluded == [EXCLUDED_LABELS_DE[1]] * 4  # every grid district is under 300 residents
    types = [milieu.cell(row=r, column=header.index("Quartierstyp") + 1).value for r in range(6, 11)]
    assert types == ["x"] * 5  # not typed: too small (districts), not defined (city)
    legend = [r for r in wb["Erläuterungen"].iter_rows(min_row=3, max_row=6, max_col=1, values_only=True)]
    assert [r[0] for r in legend] == ["*", "x", ".", "0"]


def test_top_countries_are_published_with_their_country(published_project):
    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    top = pd.read_parquet(folder / "bezugslaender.parquet").set_index(["district_id", "rank"])
    assert top.loc[("A", 1), ["country_code", "country_name", "count"]].tolist() == ["TUR", "Türkei", 40]
    assert top.loc[("city", 1), "count"] == 53 and top.loc[("city", 1), "country_name"] == "Türkei"
    # D has one person from Turkey: the count is suppressed, and so is the country
    assert top.loc[("D", 1), "flag"] == "*" and pd.isna(top.loc[("D", 1), "country_name"])
    assert top.loc[("D", 1), "name_flag"] == "*"
    assert pd.isna(top.loc[("D", 1), "count"]) and str(top["count"].dtype) == "Int64"
    # rank 2 does not exist anywhere (one country only): count 0, no country
    assert (top.xs(2, level="rank")["count"] == 0).all() and top.xs(2, level="rank")["country_name"].isna().all()
    sheet = load_workbook(folder / "tabellen.xlsx")["Bezugsländer"]
    header = [c.value for c in sheet[5]]
    assert header[2:4] == ["Bezugsland Rang 1: Staat", "Bezugsland Rang 1 (Personen)"]
    rank_1 = top.xs(1, level="rank").reindex(["A", "B", "C", "D", "city"])
    expected = rank_1["country_name"].where(rank_1["name_flag"] != "*", "*").tolist()
    assert expected[0] == expected[-1] == "Türkei" and expected[2:4] == ["*", "*"]
    assert [sheet.cell(row=r, column=3).value for r in range(6, 11)] == expected


def test_german_csv_parses_back_to_the_machine_table(published_project):
    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    raw = (folder / "indikatoren_de.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    german = pd.read_csv(folder / "indikatoren_de.csv", sep=";", decimal=",", encoding="utf-8-sig",
                         dtype={"Bezirksnummer": str})
    machine = pd.read_parquet(folder / "indikatoren.parquet")
    assert list(german.columns[:8]) == ["Stichtag", "Bezirksnummer", "Bezirk", "Kennung", "Indikator", "Einheit",
                                        "Art", "Wert"]
    assert (german["Stichtag"] == REFERENCE_DATE.strftime("%d.%m.%Y")).all()
    assert german["Wert"].to_numpy() == pytest.approx(machine["value"].to_numpy(dtype=float), nan_ok=True, rel=1e-12)
    assert german["Zeichen"].fillna("").tolist() == machine["flag"].fillna("").tolist()
    assert german.loc[german["Bezirk"] == "Stadt insgesamt", "Bezirksnummer"].isna().all()
    pyramid = pd.read_csv(folder / "alterspyramide_de.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert set(pyramid["Geschlecht"]) == {"männlich", "weiblich"} and "Bezirk" in pyramid.columns
    assert pd.api.types.is_integer_dtype(pd.read_parquet(folder / "alterspyramide.parquet")["count"])
    legend = pd.read_csv(folder / "zeichenerklaerung.csv", sep=";", encoding="utf-8-sig")
    assert legend["Zeichen"].tolist()[:4] == ["*", "x", ".", "0"]


def test_gis_files_hold_the_protected_values(published_project):
    import geopandas as gpd
    import json

    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    published = pd.read_parquet(folder / "indikatoren.parquet")
    gpkg = gpd.read_file(folder / "bezirke.gpkg")
    geojson = gpd.read_file(folder / "bezirke.geojson")
    assert gpkg.crs.to_epsg() == 25832 and geojson.crs.to_epsg() == 4326
    assert gpkg["district_id"].tolist() == geojson["district_id"].tolist() == ["A", "B", "C", "D"]
    assert "crs" not in json.loads((folder / "bezirke.geojson").read_text(encoding="utf-8"))  # RFC 7946
    districts = published[published["district_id"] != "city"]
    for frame in (gpkg, geojson):
        values = frame.set_index("district_id")
        for indicator in ("pop", "foreign", "foreign_share", "household_size_mean", "lisa_class_foreign"):
            expected = districts[districts["indicator"] == indicator].set_index("district_id")["value"]
            assert values[indicator].to_numpy(dtype=float) == pytest.approx(expected.to_numpy(dtype=float),
                                                                             nan_ok=True)
        assert "foreign" in values.loc["D", "suppressed"].split(",")
        assert "milieu_type" in values.loc["D", "not_available"].split(",")
    assert gpkg.geometry.area.round().tolist() == [1e6] * 4


def test_time_series_workbook_has_one_sheet_per_indicator_holding_it(published_project):
    from quarterstats.catalogue import CATALOGUE

    TIME_SERIES_INDICATORS = CATALOGUE.groups["time_series"]
    paths = ProjectPaths.from_workdir(published_project)
    wb = load_workbook(paths.reports / "zeitreihe.xlsx")
    published = pd.read_parquet(paths.published(REFERENCE_DATE)).set_index(["district_id", "indicator"])
    assert "with_mh_share" in TIME_SERIES_INDICATORS and "with_mh_minors_share" in TIME_SERIES_INDICATORS
    for indicator in TIME_SERIES_INDICATORS:
        ind = CATALOGUE[indicator]
        sheet = wb[ind.short_de]
        assert sheet["A1"].value.startswith(ind.label_de)
        city = sheet.cell(row=10, column=3).value  # city row, first date
        assert sheet.cell(row=10, column=2).value == "Stadt insgesamt"
        expected = published["value"].get(("city", indicator), float("nan"))  # flows: none at the first date
        assert (city == pytest.approx(expected)) if pd.notna(expected) else city == "x", indicator
    assert "Segregationsindizes" in wb.sheetnames
    series = pd.read_parquet(paths.reports / "zeitreihe_segregationsindizes.parquet")
    assert {"moran_i", "seg_dissimilarity"} <= set(series["index"]) and series["p_value"].notna().any()


def test_leak_scan_in_parts_checks_every_file_once_and_the_rest_at_the_end(published_project, tmp_path):
    from quarterstats.publication import LeakScan

    reports = tmp_path / "reports"
    shutil.copytree(ProjectPaths.from_workdir(published_project).reports, reports)
    persons = pd.read_parquet(ProjectPaths.from_workdir(published_project).persons(REFERENCE_DATE))
    scan = LeakScan(persons["person_id"], persons["household_id"].dropna())
    early = reports / "frueh.csv"
    early.write_text("district_id;value\nA;pseudoA0007\n", encoding="utf-8")
    assert [f for f in scan.findings([early]) if "pseudoA0007" in f]
    # written after the first part was checked: only the final pass over the folder can find it
    (reports / "spaet.svg").write_text("<svg><text>hausB0001</text></svg>", encoding="utf-8")
    findings = scan.rest(reports)
    assert [f for f in findings if "spaet.svg" in f and "hausB0001" in f]
    assert len([f for f in findings if "frueh.csv" in f]) == 1  # checked once, reported once
    assert findings == person_level_findings(reports, persons["person_id"], persons["household_id"].dropna())


def test_a_pseudonym_in_the_report_written_after_the_figures_blocks_the_publication(published_project, tmp_path,
                                                                                   monkeypatch):
    """The staged tables are scanned while the figures are drawn; the report comes later and is scanned
    by the final pass, which this plants a pseudonym for."""
    from quarterstats import report
    from quarterstats.stages import publication_stage

    root = tmp_path / "city"
    shutil.copytree(published_project, root, ignore=shutil.ignore_patterns("dagster_home"))
    monkeypatch.setenv("QUARTERSTATS_THREADS", "1")
    render_report = report.render_report

    def with_pseudonym(*args, **kwargs):
        path = render_report(*args, **kwargs)
        path.write_text(path.read_text(encoding="utf-8") + "<!-- pseudoC0001 -->", encoding="utf-8")
        return path

    monkeypatch.setattr(report, "render_report", with_pseudonym)
    paths = ProjectPaths.from_workdir(root)
    before = (paths.report_dir(REFERENCE_DATE) / "bericht.html").read_bytes()
    result = publication_stage(paths, REFERENCE_DATE)
    passed, description = result.checks["reports_hold_no_person_level_rows"]
    assert not passed and "bericht.html" in description and "pseudoC0001" in description
    assert result.metadata["published"] is False
    assert (paths.report_dir(REFERENCE_DATE) / "bericht.html").read_bytes() == before


def test_gis_and_workbook_files_are_scanned_for_person_level_data(published_project, tmp_path):
    import geopandas as gpd
    import shapely

    reports = tmp_path / "reports"
    shutil.copytree(ProjectPaths.from_workdir(published_project).reports, reports)
    persons = pd.read_parquet(ProjectPaths.from_workdir(published_project).persons(REFERENCE_DATE))
    leak = gpd.GeoDataFrame({"person_id": ["pseudoA0007"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:25832")
    leak.to_file(reports / "leak.gpkg", driver="GPKG")
    gpd.GeoDataFrame({"name": ["pseudoB0003"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326").to_file(
        reports / "leak.geojson", driver="GeoJSON")
    findings = person_level_findings(reports, persons["person_id"], persons["household_id"].dropna())
    assert any("leak.gpkg" in f and "person_id" in f for f in findings)
    assert any("leak.gpkg" in f and "pseudoA0007" in f for f in findings)
    assert any("leak.geojson" in f and "pseudoB0003" in f for f in findings)


def test_interactive_maps_show_the_published_cells_and_are_linked(published_project):
    """karte.html (beside the report and over all dates) holds the cells of indikatoren.parquet as the
    tables show them, "*" where suppressed; the report and the index link to it."""
    import json
    import re

    from quarterstats.report import format_number

    paths = ProjectPaths.from_workdir(published_project)
    folder = paths.report_dir(REFERENCE_DATE)
    published = pd.read_parquet(folder / "indikatoren.parquet").set_index(["district_id", "indicator"])
    for page in (folder / "karte.html", paths.reports / "karte.html"):
        html = page.read_text(encoding="utf-8")
        data = json.loads(re.search(r'<script type="application/json" id="kartendaten">(.*?)</script>', html,
                                    re.S).group(1))
        assert [d["id"] for d in data["districts"]] == ["A", "B", "C", "D"]
        assert [d["iso"] for d in data["dates"]] == [REFERENCE_DATE.isoformat()]
        cells = data["cells"]["foreign_share"][REFERENCE_DATE.isoformat()]
        for i, district in enumerate("ABCD"):
            row = published.loc[(district, "foreign_share")]
            expected = "*" if row["flag"] == "*" else format_number(row["value"], 1)
            assert cells["t"][i] == expected
        assert cells["t"][3] == "*"  # D: 1 foreigner among 10
        assert data["cells"]["pop"][REFERENCE_DATE.isoformat()]["city"] == "400"
    assert 'href="karte.html"' in (folder / "bericht.html").read_text(encoding="utf-8")
    assert 'href="karte.html"' in (paths.reports / "index.html").read_text(encoding="utf-8")
    assert 'href="bericht.html"' in (folder / "karte.html").read_text(encoding="utf-8")
