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
    for name in ("indikatoren.csv", "indikatoren.parquet", "tabellen.xlsx", "alterspyramide.csv", "bericht.html"):
        assert (folder / name).is_file(), name
    assert any((folder / "abbildungen").glob("*.png")) and any((folder / "abbildungen").glob("*.svg"))
    assert (paths.reports / "index.html").is_file() and (paths.reports / "zeitreihe.xlsx").is_file()
    published = pd.read_parquet(folder / "indikatoren.parquet")
    # D has 10 residents with 1 foreigner: that count is suppressed, and so is its share
    cell = published.set_index(["district_id", "indicator"])
    assert cell.loc[("D", "foreign"), "flag"] == "*" and pd.isna(cell.loc[("D", "foreign"), "value"])
    assert pd.isna(cell.loc[("D", "foreign_share"), "value"])
    assert cell.loc[("city", "pop"), "value"] == 400


def test_workbook_is_german_marked_and_traceable(published_project):
    folder = ProjectPaths.from_workdir(published_project).report_dir(REFERENCE_DATE)
    wb = load_workbook(folder / "tabellen.xlsx")
    assert {"Bevölkerung", "Migration", "Definitionen", "Herkunft"} <= set(wb.sheetnames)
    migration = wb["Migration"]
    header = [c.value for c in migration[1]]
    assert header[:2] == ["Bezirk", "Name"] and "Ausländer (Personen)" in header
    column = header.index("Ausländer (Personen)") + 1
    values = {migration.cell(row=r, column=1).value: migration.cell(row=r, column=column).value for r in range(2, 7)}
    assert values["D"] == "*" and values["city"] == 53
    provenance = {r[0].value: r[1].value for r in wb["Herkunft"].iter_rows(min_row=2)}
    assert provenance["Stichtag"] == REFERENCE_DATE.strftime("%d.%m.%Y")
    assert any(k.startswith("SHA-256 data/raw/register/") for k in provenance)
    definitions = [c.value for c in wb["Definitionen"][1]]
    assert "Definition" in definitions and "Formel" in definitions


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
