"""The intruder over every published file of every date (``quarterstats.disclosure.intruder``).

A small synthetic city with two reference dates goes through the real stages (register, persons,
indicators, publication, time series); the figures are left out to keep the test short — the intruder
reads the machine CSV files only. Every interval the intruder gives is checked against the true counts
(person level, which the intruder itself never reads): it must never claim what is false. The attacks
are shown to work on hand-built tables and on a copy of the real files with one secondary cell
published; what the intruder finds on the full publication is recorded.
"""

from __future__ import annotations

import functools
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import build_catalogue
from quarterstats.disclosure.intruder import CHANNELS, read_publication, run_intruder, summary_lines
from quarterstats.errors import InputError
from quarterstats.statistical_sex import is_female

DATES = (date(2023, 12, 31), date(2024, 12, 31))
PERSONS = 20_000
CATALOGUE = build_catalogue()


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """A generated city of 20,000 persons at two dates, published by the real stages (without figures)."""
    from quarterstats import figures, stages
    from quarterstats.paths import ProjectPaths
    from quarterstats.synth import generate

    root = tmp_path_factory.mktemp("intruder-city")
    generate(root / "data" / "raw", persons=PERSONS, reference_dates=list(DATES))
    paths = ProjectPaths.from_workdir(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "_plan", lambda *args: [])  # no figures: the intruder reads the tables
        patch.setenv("QUARTERSTATS_THREADS", "1")
        for result in [stages.boundaries_stage(paths)] + [
            stage(paths, day) for day in DATES
            for stage in (stages.ingest_stage, stages.persons_stage, stages.indicators_stage,
                          stages.publication_stage)
        ] + [stages.time_series_stage(paths), stages.publication_index_stage(paths)]:
            failed = [name for name, (passed, _) in result.checks.items()
                      if not passed and name not in result.warnings]
            assert failed == [], failed
    assert all((root / "reports" / day.isoformat() / "indikatoren.csv").is_file() for day in DATES)
    return root


@pytest.fixture(scope="module")
def full_attack(city):
    return run_intruder(city / "reports")


# ------------------------------------------------------------------------------- the truth
@functools.lru_cache(maxsize=8)
def _persons(root: Path, day: str) -> pd.DataFrame:
    """The person-level table of a date with the statistical sex (for the test's truth only)."""
    persons = pd.read_parquet(root / "data" / "processed" / "persons" / f"{day}.parquet")
    persons["female"] = np.asarray(is_female(persons["person_id"], persons["sex"]), dtype=bool)
    return persons


def _true_value(root: Path, row) -> float:
    """The true count of a finding, from the person-level data (for the test only)."""
    day, area, spec = row.reference_date, row.district_id, row.spec
    persons = _persons(root, day)
    where = np.ones(len(persons), dtype=bool) if area == "city" else \
        (persons["district_id"].astype(str) == area).to_numpy()
    if "lo" in spec:
        age = persons["age"].to_numpy()
        where = where & (age >= spec["lo"])
        if spec["hi"] is not None:
            where = where & (age < spec["hi"])
        if spec["sex"] is not None:
            female = persons["female"].to_numpy()
            where = where & (female if spec["sex"] == "w" else ~female)
        if spec["mh"] is not None:
            where = where & (persons["has_mh"].to_numpy(dtype=bool) == spec["mh"])
        return float(where.sum())
    if "country" in spec:
        return float((where & persons["has_mh"].to_numpy(dtype=bool)
                      & (persons["bezugsland"] == spec["country"]).to_numpy()).sum())
    table = pd.read_parquet(root / "data" / "processed" / "indicators" / f"{day}.parquet")
    table = table[table["district_id"].astype(str) == area].set_index("indicator")
    if "rank" in spec:
        return float(table.loc[f"top_country_{spec['rank']}", "value"])
    cell = spec["cell"]
    if cell in table.index and CATALOGUE[cell].kind == "count":
        return float(table.loc[cell, "value"])
    for ind in CATALOGUE.values():
        for key, column in ((ind.numerator_id, "numerator"), (ind.denominator_id, "denominator")):
            if key == cell and ind.id in table.index and pd.notna(table.loc[ind.id, column]):
                return float(table.loc[ind.id, column])
    raise AssertionError(f"no true value for {row.what}")


def _assert_true(root: Path, findings: pd.DataFrame) -> None:
    """Every interval holds the true count, and every exact value is the true one."""
    for row in findings.itertuples(index=False):
        truth = _true_value(root, row)
        assert row.lower - 1e-6 <= truth <= row.upper + 1e-6, (row.what, row.district_id, row.lower, row.upper, truth)
        if row.finding == "exact":
            assert row.value == truth


# ------------------------------------------------------------------------ hand-built tables
AGE_GROUPS = {"age_00_05": "", "age_06_14": "", "age_15_17": "5", "age_18_24": "10", "age_25_44": "30",
              "age_45_64": "30", "age_65_79": "15", "age_80plus": "8"}


def _publish(tmp_path: Path, cells: dict[str, tuple[str, str, str]]) -> Path:
    """A publication of one date: district 01 and the city (equal, as if the city had one district) with
    the given ``indicator: (kind, unit, value)``; an empty value of a count is suppressed (``*``)."""
    rows = []
    for area in ("01", "city"):
        for key, (kind, unit, value) in cells.items():
            numerator = value if kind == "count" else ""
            flag = "*" if value == "" else ""
            rows.append(("2024-12-31", area, key, kind, unit, value, numerator, "", flag))
    frame = pd.DataFrame(rows, columns=["reference_date", "district_id", "indicator", "kind", "unit", "value",
                                        "numerator", "denominator", "flag"])
    folder = tmp_path / "reports" / "2024-12-31"
    folder.mkdir(parents=True)
    frame.to_csv(folder / "indikatoren.csv", index=False)
    return tmp_path / "reports"


def _age_table(pop: str, **groups: str) -> dict[str, tuple[str, str, str]]:
    values = {**AGE_GROUPS, **groups}
    return {"pop": ("count", "Personen", pop), **{k: ("count", "Personen", v) for k, v in values.items()}}


def test_a_suppressed_cell_that_follows_from_its_row_total_is_recovered(tmp_path):
    # 100 − 5 − 10 − 30 − 30 − 15 − 8 = 2 residents under 15: with the 6–14-year-olds published (0) the
    # suppressed 0–5 cell is 2
    _, result = run_intruder(_publish(tmp_path / "a", _age_table("100", age_06_14="0")))
    found = result.findings[result.findings["kind"] == "suppressed"]
    assert set(zip(found["district_id"], found["what"], found["value"], found["finding"])) == {
        ("01", "age_00_05", 2.0, "exact"), ("city", "age_00_05", 2.0, "exact")}
    # both suppressed, 2 together: each is 1, since a * is never 0
    _, result = run_intruder(_publish(tmp_path / "b", _age_table("100")))
    assert set(result.findings["value"]) == {1.0} and len(result.findings) == 4
    # 20 together: neither follows
    _, result = run_intruder(_publish(tmp_path / "c", _age_table("118")))
    assert result.findings.empty


def test_a_mean_gives_its_numerator_back_at_the_precision_written(tmp_path):
    """Mean household size × households = persons in households; the residents minus them are the
    persons in institutions. Written to two decimals (2.32 = 116 / 50) the mean pins them (2); written
    to one (2.3) it leaves 1 to 5 open."""
    def cells(mean: str) -> dict[str, tuple[str, str, str]]:
        return {**_age_table("118", age_00_05="12", age_06_14="8"),
                "households": ("count", "Haushalte", "50"),
                "persons_in_institutions": ("count", "Personen", ""),
                "household_size_mean": ("mean", "Personen je Haushalt", mean)}

    _, fine = run_intruder(_publish(tmp_path / "fine", cells("2.32")))
    found = fine.findings[fine.findings["what"] == "persons_in_institutions"]
    assert list(found["value"]) == [2.0, 2.0] and set(found["finding"]) == {"exact"}
    _, coarse = run_intruder(_publish(tmp_path / "coarse", cells("2.3")))
    assert coarse.findings[coarse.findings["what"] == "persons_in_institutions"].empty
    # without the ratios the intruder knows nothing about them
    _, blind = run_intruder(_publish(tmp_path / "blind", cells("2.32")),
                            channels=[c for c in CHANNELS if c != "ratios"])
    assert blind.findings[blind.findings["what"] == "persons_in_institutions"].empty


def test_a_country_left_over_by_the_named_districts_is_found(tmp_path):
    """Türkei: 10 in the city, 8 named in district 01; district 02 has one country only (an empty rank),
    so the other 2 live in district 03, which names two other countries (3 and more) and not Türkei.
    Likewise 2 from Syrien. Without the top-country relations nothing follows."""
    folder = tmp_path / "reports" / "2024-12-31"
    folder.mkdir(parents=True)
    pops = {"01": "400", "02": "300", "03": "300", "city": "1000"}
    pd.DataFrame([("2024-12-31", area, "pop", "count", "Personen", pop, pop, "", "") for area, pop in pops.items()],
                 columns=["reference_date", "district_id", "indicator", "kind", "unit", "value", "numerator",
                          "denominator", "flag"]).to_csv(folder / "indikatoren.csv", index=False)
    ranks = [("01", 1, "TUR", 8), ("01", 2, "SYR", 6), ("02", 1, "POL", 5), ("02", 2, "", 0),
             ("03", 1, "ROU", 4), ("03", 2, "ITA", 3), ("city", 1, "TUR", 10), ("city", 2, "SYR", 8)]
    pd.DataFrame([("2024-12-31", area, rank, code, "", count, "") for area, rank, code, count in ranks],
                 columns=["reference_date", "district_id", "rank", "country_code", "name_flag", "count",
                          "flag"]).to_csv(folder / "bezugslaender.csv", index=False)
    _, result = run_intruder(tmp_path / "reports")
    assert set(zip(result.findings["district_id"], result.findings["what"], result.findings["value"])) == {
        ("03", "Personen aus TUR", 2.0), ("03", "Personen aus SYR", 2.0)}
    _, blind = run_intruder(tmp_path / "reports", channels=[c for c in CHANNELS if c != "top_countries"])
    assert blind.findings.empty


def test_bad_published_files_give_a_clear_message(tmp_path):
    with pytest.raises(InputError, match="no reports folder"):
        read_publication(tmp_path / "missing")
    folder = tmp_path / "reports" / "2024-12-31"
    folder.mkdir(parents=True)
    (folder / "indikatoren.csv").write_text("reference_date,district_id,indicator\n2024-12-31,01,pop\n",
                                            encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_publication(tmp_path / "reports")
    assert caught.value.column == "kind" and "indikatoren.csv" in caught.value.file
    (folder / "indikatoren.csv").write_text(
        "reference_date,district_id,indicator,kind,unit,value,numerator,denominator,flag\n"
        "2024-12-31,01,pop,count,Personen,zwölf,,,\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_publication(tmp_path / "reports")
    assert caught.value.column == "value" and "zwölf" in str(caught.value)
    (folder / "indikatoren.csv").write_text(
        "reference_date,district_id,indicator,kind,unit,value,numerator,denominator,flag\n"
        "2024-12-31,01,pop,count,Personen,12,12,,\n", encoding="utf-8")
    (folder / "bezugslaender.csv").write_text(
        "reference_date,district_id,rank,country_code,name_flag,count,flag\n2024-12-31,01,eins,TUR,,12,\n",
        encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_publication(tmp_path / "reports")
    assert caught.value.column == "rank" and "bezugslaender.csv" in caught.value.file


# ---------------------------------------------------------------- the real publication
def test_the_intruder_reads_only_the_published_files(city):
    publication = read_publication(city / "reports")
    assert publication.dates == [d.isoformat() for d in DATES]
    assert all(city / "reports" in p.parents for p in publication.files)
    assert {p.name for p in publication.files} >= {"indikatoren.csv", "alterspyramide.csv", "bezugslaender.csv",
                                                   "zeitreihe.csv"}
    assert len(publication.pyramids) and len(publication.countries)


def test_what_the_intruder_finds_is_true(city, full_attack):
    publication, result = full_attack
    assert result.infeasible == []
    assert result.findings.shape[0] > 0
    _assert_true(city, result.findings)


def test_unsuppressing_one_secondary_cell_lets_the_intruder_recover_a_primary_one(city, full_attack, tmp_path):
    """A copy of the real files of the last date where one secondary pyramid cell (suppressed, at least
    min_count) is published beside a primary one (1 or 2) in the same band: the intruder recovers the
    primary cell, which it cannot from the real files of both dates (so neither from those of one)."""
    _, base = full_attack
    base_exact = set(_keys(base.findings[(base.findings["kind"] == "suppressed") & (base.findings["finding"] == "exact")]))
    day = DATES[-1].isoformat()
    copy = tmp_path / "reports"
    (copy / day).mkdir(parents=True)
    for name in ("indikatoren.csv", "alterspyramide.csv", "bezugslaender.csv"):
        shutil.copy(city / "reports" / day / name, copy / day / name)
    persons = _persons(city, day)
    pyramid = pd.read_csv(copy / day / "alterspyramide.csv", dtype=str, keep_default_na=False)
    chosen = None
    for index, row in pyramid[pyramid["flag"] == "*"].iterrows():
        band = pyramid[(pyramid["district_id"] == row["district_id"]) & (pyramid["age_band"] == row["age_band"])
                       & (pyramid["flag"] == "*")]
        if len(band) != 2 or _pyramid_truth(persons, row) < 3:
            continue  # a secondary cell beside exactly one other suppressed cell
        other = pyramid.loc[band.index[band.index != index][0]]
        key = (day, row["district_id"], _pyramid_what(other))
        if key not in base_exact and _pyramid_truth(persons, other) < 3:
            pyramid.loc[index, ["count", "flag"]] = [str(int(_pyramid_truth(persons, row))), ""]
            pyramid.to_csv(copy / day / "alterspyramide.csv", index=False)
            chosen = key
            break
    assert chosen is not None, "no secondary pyramid cell beside an unrecovered primary one in the test city"
    _, after = run_intruder(copy)
    exact = set(_keys(after.findings[(after.findings["kind"] == "suppressed") & (after.findings["finding"] == "exact")]))
    assert chosen in exact
    _assert_true(city, after.findings)


def _pyramid_truth(persons: pd.DataFrame, row: pd.Series) -> float:
    band = str(row["age_band"])
    lo, hi = (int(band[:-1]), None) if band.endswith("+") else (int(band.split("–")[0]), int(band.split("–")[1]) + 1)
    age = persons["age"].to_numpy()
    female = persons["female"].to_numpy()
    where = (persons["district_id"].astype(str) == row["district_id"]).to_numpy() if row["district_id"] != "city" \
        else np.ones(len(persons), dtype=bool)
    where = where & (age >= lo) & ((age < hi) if hi is not None else True)
    where = where & (female if row["sex"] == "w" else ~female)
    where = where & (persons["has_mh"].to_numpy(dtype=bool) == (row["mh"] == "mit MH"))
    return float(where.sum())


def _pyramid_what(row: pd.Series) -> str:
    band = str(row["age_band"])
    return f"Alterspyramide {band} {row['sex']} {row['mh']}"


def _keys(findings: pd.DataFrame) -> list[tuple[str, str, str]]:
    return list(zip(findings["reference_date"], findings["district_id"], findings["what"]))


def test_nothing_is_recovered_or_derived_exactly_from_the_full_publication(full_attack):
    """Every published file of both dates together: no suppressed count comes back exactly and no count of
    1 … min_count − 1 follows exactly (the linked protection, disclosure/linked.py)."""
    publication, result = full_attack
    print("\n".join(summary_lines(publication, result)))
    assert result.count("suppressed", "exact") == 0
    assert result.count("derived", "exact") == 0


@pytest.mark.xfail(strict=False, reason=(
    "the linked protection guarantees that no count is recovered exactly; it does not yet keep a protection "
    "interval: some suppressed pyramid cells and derived counts can still be narrowed to 1 … min_count − 1 "
    "(the intruder's 'small' findings), which tells a reader that the count is small but not its value"))
def test_no_count_is_narrowed_to_a_small_interval(full_attack):
    publication, result = full_attack
    assert result.count("suppressed", "small") == 0
    assert result.count("derived") == 0
