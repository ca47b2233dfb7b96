"""Tests of the synthetic register generator (``quarterstats.synth``).

Small populations (5,000–6,000 persons, two or three reference dates) keep the file fast; one test at
the default size (100,000 persons, 2016–2024) is marked slow.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from quarterstats.synth import generate
from quarterstats.synth import codes as C

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATES = [date(2016, 12, 31), date(2017, 12, 31), date(2018, 12, 31)]
REGISTER_SCHEMA = pa.schema([
    ("person_id", pa.string()), ("household_id", pa.string()), ("age", pa.int16()), ("sex", pa.string()),
    ("nationality_1", pa.string()), ("nationality_2", pa.string()), ("german_acquisition", pa.string()),
    ("birth_country", pa.string()), ("immigration_year", pa.int16()), ("origin_country", pa.string()),
    ("moved_in_city", pa.date32()), ("moved_in_address", pa.date32()), ("mother_id", pa.string()),
    ("father_id", pa.string()), ("marital_status", pa.string()), ("x", pa.float64()), ("y", pa.float64()),
])
TRUTH_SCHEMA = pa.schema([
    ("person_id", pa.string()), ("origin_group", pa.string()), ("true_birth_country", pa.string()),
    ("true_german_acquisition", pa.string()), ("true_nationality_1", pa.string()),
    ("true_nationality_2", pa.string()), ("true_immigration_year", pa.int16()), ("true_mother_id", pa.string()),
    ("true_father_id", pa.string()), ("true_mh_status", pa.string()), ("true_has_mh", pa.bool_()),
    ("true_bezugsland", pa.string()), ("true_eg_status", pa.string()), ("gap_birth_country", pa.bool_()),
    ("gap_acquisition", pa.bool_()), ("gap_parent_link", pa.bool_()),
])
INNER = ["01", "02", "03"]
WEST = "09"
ORTSBEZIRKE = [f"{i:02d}" for i in range(10, 19)]


# ---------------------------------------------------------------------------------------------------
# fixtures: a few small generated data sets, shared by the tests of this module
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gen_a(tmp_path_factory):
    raw = tmp_path_factory.mktemp("a") / "raw"
    summary = generate(raw, persons=6000, seed=11, reference_dates=DATES)
    return raw, summary


@pytest.fixture(scope="module")
def gen_nogaps(tmp_path_factory):
    raw = tmp_path_factory.mktemp("nogaps") / "raw"
    summary = generate(raw, persons=5000, seed=5, reference_dates=DATES[:2], register_gaps=False)
    return raw, summary


def read(raw: Path, kind: str, d: date) -> pd.DataFrame:
    return pd.read_parquet(raw / kind / f"{d.isoformat()}.parquet")


def with_districts(raw: Path, frame: pd.DataFrame) -> pd.DataFrame:
    districts = gpd.read_file(raw / "boundaries" / "districts.gpkg", layer="districts")
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=districts.crs)
    joined = gpd.sjoin(points, districts[["district_id", "geometry"]], how="left", predicate="within")
    assert joined.index.is_unique  # nobody in two districts
    out = frame.copy()
    out["district_id"] = joined["district_id"].to_numpy()
    return out


def is_foreign(r: pd.DataFrame) -> pd.Series:
    return (r["nationality_1"] != "DEU") & (r["nationality_2"].fillna("") != "DEU")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------------
# an independent register rule (spec migration-background.md), used to check the truth
# ---------------------------------------------------------------------------------------------------
def register_rule(r: pd.DataFrame, year: int, same_household: bool) -> tuple[pd.Series, pd.Series]:
    """MH status and Bezugsland from register columns (defaults; birth year = year - age)."""
    known = lambda s: s.notna() & ~s.isin(["XXA", "XXX"])  # noqa: E731
    nat2 = r["nationality_2"]
    german = (r["nationality_1"] == "DEU") | (nat2 == "DEU")
    other = r["nationality_1"].where(r["nationality_1"] != "DEU", nat2)
    dual = german & other.notna() & (other != "DEU")
    abroad = r["birth_country"].notna() & (r["birth_country"] != "DEU")
    expellee = r["german_acquisition"].isin(["birth", "unknown"]) & ((year - r["age"]) < 1950)
    personal = german & (r["german_acquisition"].isin(["naturalisation", "option", "resettler", "adoption"])
                         | dual | (abroad & ~expellee))
    foreign = ~german
    abroad_known = abroad & known(r["birth_country"])
    own = pd.Series(pd.NA, index=r.index, dtype=object)
    own[foreign] = r["nationality_1"].where(known(r["nationality_1"]), nat2.where(
        known(nat2) & (nat2 != "DEU"), r["birth_country"].where(abroad_known, r["nationality_1"])))[foreign]
    origin_known = known(r["origin_country"]) & (r["origin_country"] != "DEU")
    own[personal] = other.where(known(other) & (other != "DEU"), r["birth_country"].where(
        abroad_known, r["origin_country"].where(origin_known, "XXX")))[personal]
    by_id = pd.DataFrame({"q": foreign | personal, "own": own, "hh": r["household_id"]}).set_index(r["person_id"])
    status = pd.Series("german_no_mh", index=r.index, dtype=object)
    status[foreign] = "foreign"
    status[personal] = "german_personal_mh"
    parent_ok = {}
    for col in ("mother_id", "father_id"):
        linked = r[col].map(by_id["q"]).fillna(False).astype(bool)
        if same_household:
            linked &= r[col].map(by_id["hh"]).eq(r["household_id"]).fillna(False).astype(bool)
        parent_ok[col] = linked
    familial = german & ~personal & (r["age"] < 18) & (parent_ok["mother_id"] | parent_ok["father_id"])
    status[familial] = "german_familial_mh"
    bez = own.copy()
    bez[familial] = r["mother_id"].map(by_id["own"]).where(parent_ok["mother_id"], r["father_id"].map(by_id["own"]))[
        familial]
    bez[status == "german_no_mh"] = pd.NA
    return status, bez


# ---------------------------------------------------------------------------------------------------
# files, schema, reproducibility
# ---------------------------------------------------------------------------------------------------
def test_writes_every_file_with_the_contract_schema(gen_a):
    raw, summary = gen_a
    assert (raw / "boundaries" / "districts.gpkg").is_file()
    for d in DATES:
        for kind, suffix in (("register", "parquet"), ("synthetic_truth", "parquet"), ("auxiliary", "csv")):
            assert (raw / kind / f"{d.isoformat()}.{suffix}") in summary.files
        assert pq.read_schema(raw / "register" / f"{d.isoformat()}.parquet").remove_metadata() == REGISTER_SCHEMA
        assert pq.read_schema(raw / "synthetic_truth" / f"{d.isoformat()}.parquet").remove_metadata() == TRUTH_SCHEMA
    assert not list(raw.rglob("*.tmp"))
    assert set(summary.persons) == {d.isoformat() for d in DATES}
    assert summary.seconds > 0


def test_same_seed_gives_identical_bytes_and_another_seed_differs(gen_a, tmp_path):
    raw_a, _ = gen_a
    raw_b = tmp_path / "b"
    generate(raw_b, persons=6000, seed=11, reference_dates=DATES)
    for path in sorted(p for p in raw_a.rglob("*") if p.is_file()):
        assert digest(path) == digest(raw_b / path.relative_to(raw_a)), path.name
    raw_c = tmp_path / "c"
    generate(raw_c, persons=6000, seed=12, reference_dates=DATES[:1])
    for kind in ("register", "synthetic_truth"):
        name = f"{DATES[0].isoformat()}.parquet"
        assert digest(raw_a / kind / name) != digest(raw_c / kind / name)
    # the geography does not depend on the seed
    assert digest(raw_a / "boundaries" / "districts.gpkg") == digest(raw_c / "boundaries" / "districts.gpkg")


def test_register_rows_follow_the_contract(gen_a):
    raw, _ = gen_a
    countries = pytest.importorskip("quarterstats.countries")
    districts = gpd.read_file(raw / "boundaries" / "districts.gpkg", layer="districts")
    city = shapely.union_all(districts.geometry.to_numpy())
    for d in DATES:
        r = read(raw, "register", d)
        assert r["person_id"].is_unique
        assert r["person_id"].str.fullmatch(r"[0-9a-f]{12}").all()
        assert r["person_id"].is_monotonic_increasing
        assert r["age"].between(0, 120).all()
        assert set(r["sex"]) <= {"m", "w", "d", "x"}
        for col in ("nationality_1", "nationality_2", "birth_country", "origin_country"):
            codes = r[col].dropna()
            assert countries.is_known_code(codes).all(), col
        assert r["nationality_1"].notna().all()
        assert set(r["german_acquisition"].dropna()) <= {"birth", "naturalisation", "option", "resettler",
                                                        "adoption", "declaration", "unknown"}
        german = (r["nationality_1"] == "DEU") | (r["nationality_2"] == "DEU")
        assert r["german_acquisition"].notna().eq(german).all()  # null exactly for non-Germans
        assert set(r["marital_status"]) <= {"ledig", "verheiratet", "verwitwet", "geschieden",
                                            "lebenspartnerschaft", "unbekannt"}
        assert shapely.contains_xy(city, r["x"].to_numpy(), r["y"].to_numpy()).all()
        assert np.allclose(r["x"] * 10, np.round(r["x"] * 10)) and np.allclose(r["y"] * 10, np.round(r["y"] * 10))


def test_dates_are_consistent_with_histories(gen_a):
    raw, _ = gen_a
    for d in DATES:
        r = read(raw, "register", d)
        ref = pd.Timestamp(d)
        city = pd.to_datetime(r["moved_in_city"])
        addr = pd.to_datetime(r["moved_in_address"])
        earliest_birth = pd.to_datetime((d.year - r["age"] - 1).astype(str) + "-01-01")
        assert addr.notna().all()
        assert (addr <= ref).all() and (city.dropna() <= ref).all()
        assert (addr >= earliest_birth).all() and (city.dropna() >= earliest_birth[city.notna()]).all()
        assert (city.dropna() <= addr[city.notna()]).all()
        imm = r["immigration_year"].dropna()
        assert (imm <= d.year).all() and (imm >= (d.year - r["age"] - 1)[imm.index]).all()
        # immigrants were not born in the city, so they have a date of moving in
        born_abroad = r["birth_country"].notna() & (r["birth_country"] != "DEU")
        assert city[born_abroad & r["immigration_year"].notna()].notna().all()


def test_parent_links_only_for_minors_and_within_the_extract(gen_a):
    raw, _ = gen_a
    for d in DATES:
        r = read(raw, "register", d)
        age = r.set_index("person_id")["age"]
        for col in ("mother_id", "father_id"):
            linked = r[r[col].notna()]
            assert (linked["age"] < 18).all()
            assert linked[col].isin(r["person_id"]).all()
            assert (linked[col].map(age) - linked["age"] >= 12).all()  # contract link rule
        minors = r[r["age"] < 18]
        assert minors["mother_id"].notna().mean() > 0.85


def test_households_addresses_and_institutions(gen_a):
    raw, _ = gen_a
    r = read(raw, "register", DATES[0])
    institution_share = r["household_id"].isna().mean()
    assert 0.005 < institution_share < 0.03
    sizes = r.groupby("household_id").size()
    assert 1.7 < sizes.mean() < 2.4
    assert (sizes == 1).mean() > 0.3 and sizes.max() >= 5
    # buildings: several households at the same address; one address per household
    per_address = r.dropna(subset=["household_id"]).groupby(["x", "y"])["household_id"].nunique()
    assert (per_address > 1).mean() > 0.2
    assert (r.dropna(subset=["household_id"]).groupby("household_id")[["x", "y"]].nunique() == 1).all().all()
    # students: the international ones live mostly near the university (district 07)
    t = read(raw, "synthetic_truth", DATES[0])
    students = with_districts(raw, r[t["origin_group"] == "student"])
    assert (students["district_id"] == "07").mean() > 0.5


def test_person_ids_are_stable_and_people_age(gen_a):
    raw, _ = gen_a
    a = read(raw, "register", DATES[0]).set_index("person_id")
    b = read(raw, "register", DATES[1]).set_index("person_id")
    both = a.index.intersection(b.index)
    assert len(both) > 0.85 * len(a)
    assert (b.loc[both, "age"] - a.loc[both, "age"] == 1).all()
    assert (b.loc[both, "sex"] == a.loc[both, "sex"]).all()
    ta = read(raw, "synthetic_truth", DATES[0]).set_index("person_id")
    tb = read(raw, "synthetic_truth", DATES[1]).set_index("person_id")
    assert (ta.loc[both, "origin_group"] == tb.loc[both, "origin_group"]).all()
    assert (ta.loc[both, "true_birth_country"] == tb.loc[both, "true_birth_country"]).all()
    # some naturalisations every year
    naturalised = ta.loc[both, "true_german_acquisition"].isna() & (
        tb.loc[both, "true_german_acquisition"] == "naturalisation")
    assert naturalised.sum() > 0


def test_yearly_flows_are_plausible(gen_a):
    raw, summary = gen_a
    for prev, d in zip(DATES, DATES[1:]):
        a = read(raw, "register", prev)
        b = read(raw, "register", d)
        n = len(a)
        new = b[~b["person_id"].isin(a["person_id"])]
        births = new["moved_in_city"].isna()
        assert (new.loc[births, "age"] == 0).all()
        assert new.loc[births, "mother_id"].notna().mean() > 0.9
        gone = ~a["person_id"].isin(b["person_id"])
        kept = a[~gone].set_index("person_id")
        moved_within = (b.set_index("person_id").loc[kept.index, "moved_in_address"] != kept["moved_in_address"])
        flows = summary.flows[d.isoformat()]
        assert flows["births"] == births.sum()
        assert flows["moved_in"] == (~births).sum()
        assert flows["deaths"] + flows["moved_out"] == gone.sum()
        assert flows["moved_within"] == moved_within.sum()
        assert 5 <= 1000 * flows["births"] / n <= 14
        assert 6 <= 1000 * flows["deaths"] / n <= 16
        assert 0.05 <= flows["moved_in"] / n <= 0.095
        assert 0.045 <= flows["moved_out"] / n <= 0.09
        assert 0.07 <= flows["moved_within"] / n <= 0.11


# ---------------------------------------------------------------------------------------------------
# geography
# ---------------------------------------------------------------------------------------------------
def test_geography_is_a_clean_coverage_around_the_anchors(gen_a):
    raw, _ = gen_a
    districts = gpd.read_file(raw / "boundaries" / "districts.gpkg", layer="districts")
    assert districts.crs.to_epsg() == 25832
    assert list(districts["district_id"]) == [f"{i:02d}" for i in range(1, 19)]
    assert set(districts["part"]) == {"Kernstadt", "Ortsbezirk"}
    geoms = districts.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert (districts.geom_type == "Polygon").all()
    overlap = sum(shapely.intersection(geoms[i], geoms[j]).area
                  for i in range(len(geoms)) for j in range(i + 1, len(geoms)))
    assert overlap <= 1.0
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps inside the outline
    assert union.area == pytest.approx(shapely.area(geoms).sum(), rel=1e-6)
    assert union.area / 1e6 == pytest.approx(139.6, rel=0.005)


def test_geography_matches_the_published_figures():
    path = SHARED / "data" / "kaiserslautern" / "districts.csv"
    if not path.is_file():
        pytest.skip("../shared not available")
    published = pd.read_csv(path, dtype={"district_id": int})
    from quarterstats.synth.geography import build_geography

    geo = build_geography()
    areas = shapely.area(geo.polygons) / 1e6
    anchors_inside = shapely.contains_xy(geo.polygons, published["anchor_x_25832"], published["anchor_y_25832"])
    assert anchors_inside.all()
    outer = published["district_id"] >= 10
    assert np.allclose(areas[outer.to_numpy()], published.loc[outer, "area_km2"], rtol=0.10)
    kernstadt = 139.6 - published.loc[outer, "area_km2"].sum()
    assert areas[~outer.to_numpy()].sum() == pytest.approx(kernstadt, rel=0.02)
    assert np.allclose(areas, geo.target_area_m2 / 1e6, rtol=0.10)
    assert list(geo.name) == list(published["name"])


# ---------------------------------------------------------------------------------------------------
# truth and register gaps
# ---------------------------------------------------------------------------------------------------
def test_without_gaps_the_register_equals_the_truth(gen_nogaps):
    raw, _ = gen_nogaps
    for d in DATES[:2]:
        r = read(raw, "register", d)
        t = read(raw, "synthetic_truth", d)
        assert (r["person_id"] == t["person_id"]).all()
        pairs = {"birth_country": "true_birth_country", "german_acquisition": "true_german_acquisition",
                 "nationality_1": "true_nationality_1", "nationality_2": "true_nationality_2",
                 "immigration_year": "true_immigration_year"}
        for reg, true in pairs.items():
            pd.testing.assert_series_equal(r[reg], t[true], check_names=False)
        present = set(r["person_id"])
        minors = r["age"] < 18
        for reg, true in (("mother_id", "true_mother_id"), ("father_id", "true_father_id")):
            expected = t[true].where(t[true].isin(present) & minors)
            pd.testing.assert_series_equal(r[reg], expected, check_names=False)
        assert not t[["gap_birth_country", "gap_acquisition", "gap_parent_link"]].any().any()


def test_register_rule_without_gaps_recovers_the_true_status(gen_nogaps):
    raw, _ = gen_nogaps
    for d in DATES[:2]:
        r = read(raw, "register", d)
        t = read(raw, "synthetic_truth", d)
        status, bezugsland = register_rule(r, d.year, same_household=False)
        assert (status == t["true_mh_status"]).all()
        assert (bezugsland.fillna("-") == t["true_bezugsland"].fillna("-")).all()
        assert (t["true_has_mh"] == (t["true_mh_status"] != "german_no_mh")).all()
        # the same-household rule matters: some minors have a qualifying parent in another household
        same = register_rule(r, d.year, same_household=True)[0]
        assert ((status == "german_familial_mh") & (same == "german_no_mh")).sum() > 0
        # EG immigrants: born abroad, moved to Germany in 1950 or later
        immigrant = r["birth_country"].ne("DEU") & r["immigration_year"].ge(1950).fillna(False)
        assert (immigrant == (t["true_eg_status"] == "immigrant")).all()


def test_gaps_are_recorded_in_the_truth(gen_a):
    raw, _ = gen_a
    for d in DATES:
        r = read(raw, "register", d)
        t = read(raw, "synthetic_truth", d)
        assert (r["birth_country"].isna() == t["gap_birth_country"]).all()
        assert (r["german_acquisition"].eq("unknown").fillna(False) == t["gap_acquisition"]).all()
        assert 0.05 < t["gap_birth_country"].mean() < 0.15
        german = r["german_acquisition"].notna()
        assert 0.15 < t.loc[german, "gap_acquisition"].mean() < 0.35
        # acquisition lost more often for those who moved in (from another German municipality)
        moved_in = r["moved_in_city"].notna() & r["immigration_year"].isna()
        assert t.loc[german & moved_in, "gap_acquisition"].mean() > t.loc[german & ~moved_in, "gap_acquisition"].mean()
        # birth country missing more often for the old
        assert t.loc[r["age"] >= 65, "gap_birth_country"].mean() > t.loc[r["age"] < 30, "gap_birth_country"].mean()
        minors = r["age"] < 18
        assert 0.01 < t.loc[minors, "gap_parent_link"].mean() < 0.15
        # a link gap means: a true parent is in the extract but not linked
        gap = t["gap_parent_link"]
        present = set(r["person_id"])
        mother_missing = t["true_mother_id"].isin(present) & r["mother_id"].isna()
        father_missing = t["true_father_id"].isin(present) & r["father_id"].isna()
        assert (gap == (minors & (mother_missing | father_missing))).all()


def test_register_undercounts_migration_background(gen_a):
    raw, summary = gen_a
    for d in DATES:
        r = read(raw, "register", d)
        t = read(raw, "synthetic_truth", d)
        status, _ = register_rule(r, d.year, same_household=True)
        register_share = (status != "german_no_mh").mean()
        truth_share = t["true_has_mh"].mean()
        assert 0.0 < truth_share - register_share < 0.06
        assert summary.mh_share_register[d.isoformat()] == pytest.approx(register_share, abs=1e-12)
        assert summary.mh_share_truth[d.isoformat()] == pytest.approx(truth_share, abs=1e-12)
        assert summary.foreign_share[d.isoformat()] == pytest.approx(is_foreign(r).mean(), abs=1e-12)


def test_city_wide_shares_and_spatial_concentration(gen_a):
    raw, summary = gen_a
    for d in DATES[1:]:
        assert summary.foreign_share[d.isoformat()] == pytest.approx(0.17, abs=0.025)
        assert summary.mh_share_truth[d.isoformat()] == pytest.approx(0.39, abs=0.04)
    r = with_districts(raw, read(raw, "register", DATES[1]))
    assert r["district_id"].notna().all()
    share = is_foreign(r).groupby(r["district_id"]).mean()
    outer = is_foreign(r)[r["district_id"].isin(ORTSBEZIRKE)].mean()
    inner = is_foreign(r)[r["district_id"].isin(INNER)].mean()
    assert inner > 2 * outer and share[WEST] > 2 * outer
    assert outer < 0.09


def test_population_scales_with_persons(gen_a):
    raw, summary = gen_a
    r = with_districts(raw, read(raw, "register", DATES[0]))
    assert len(r) == pytest.approx(6000, rel=0.01)
    counts = r["district_id"].value_counts()
    published = {"09": 13000, "16": 3594, "14": 1162}
    for district, population in published.items():
        assert counts[district] == pytest.approx(population * 6000 / 100_751, rel=0.15)


def test_auxiliary_tables(gen_a):
    raw, _ = gen_a
    for d in DATES:
        text = (raw / "auxiliary" / f"{d.isoformat()}.csv").read_text(encoding="utf-8")
        assert text.splitlines()[0] == "district_id;sgb2_recipients_under65;unemployed;children_under15_in_sgb2"
        aux = pd.read_csv(raw / "auxiliary" / f"{d.isoformat()}.csv", sep=";", dtype={"district_id": str})
        assert list(aux["district_id"]) == [f"{i:02d}" for i in range(1, 19)]
        r = with_districts(raw, read(raw, "register", d))
        under65 = r[r["age"] < 65].groupby("district_id").size().reindex(aux["district_id"]).fillna(0).to_numpy()
        under15 = r[r["age"] < 15].groupby("district_id").size().reindex(aux["district_id"]).fillna(0).to_numpy()
        working = r[r["age"].between(15, 64)].groupby("district_id").size().reindex(aux["district_id"]).to_numpy()
        assert (aux["sgb2_recipients_under65"].to_numpy() < under65).all()
        assert (aux["children_under15_in_sgb2"].to_numpy() <= under15).all()
        assert aux["sgb2_recipients_under65"].sum() / under65.sum() == pytest.approx(0.12, abs=0.02)
        assert aux["unemployed"].sum() / working.sum() == pytest.approx(0.08, abs=0.02)
        assert aux["children_under15_in_sgb2"].sum() / under15.sum() == pytest.approx(0.20, abs=0.04)
        rate = aux.set_index("district_id")["sgb2_recipients_under65"] / pd.Series(under65, index=aux["district_id"])
        assert rate[INNER].mean() > rate[ORTSBEZIRKE].mean()


def test_later_and_mid_year_reference_dates(tmp_path):
    """A first date after 2016 is reached by unwritten yearly steps from the 2016 base population."""
    dates = [date(2022, 6, 30), date(2023, 3, 31)]
    summary = generate(tmp_path, persons=3000, seed=3, reference_dates=dates)
    assert sorted(p.name for p in (tmp_path / "register").iterdir()) == ["2022-06-30.parquet", "2023-03-31.parquet"]
    assert list(summary.flows) == ["2023-03-31"]
    r = read(tmp_path, "register", dates[0])
    assert (pd.to_datetime(r["moved_in_address"]) <= pd.Timestamp(dates[0])).all()
    assert (r["nationality_1"] == "UKR").sum() > 0  # arrivals of spring 2022
    later = read(tmp_path, "register", dates[1]).set_index("person_id")
    both = r.set_index("person_id").index.intersection(later.index)
    step = later.loc[both, "age"] - r.set_index("person_id").loc[both, "age"]
    assert set(step) <= {0, 1} and (step == 0).any() and (step == 1).any()


# ---------------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------------
def test_pseudonyms_are_unique_hex_and_sort_like_the_numbers():
    key = C.pseudonym_key(1, 1)
    values = C.mix48(np.arange(200_000), key)
    assert len(np.unique(values)) == 200_000
    ids = C.hex12(values).to_pylist()
    assert all(re.fullmatch(r"[0-9a-f]{12}", s) for s in ids[:100])
    assert ids[:3] == [format(int(v), "012x") for v in values[:3]]
    order = np.argsort(values)
    assert [ids[i] for i in order] == sorted(ids)
    assert not np.array_equal(values, C.mix48(np.arange(200_000), C.pseudonym_key(2, 1)))


def test_calendar_helpers():
    days = np.array([C.day(date(2000, 2, 29)), C.day(date(1950, 12, 31)), C.day(date(2016, 12, 31))])
    assert C.civil(days)[0].tolist() == [2000, 1950, 2016]
    assert C.civil(days)[1].tolist() == [2, 12, 12]
    assert C.civil(days)[2].tolist() == [29, 31, 31]
    assert C.completed_years(days, C.day(date(2016, 12, 31))).tolist() == [16, 66, 0]
    assert C.completed_years(days, C.day(date(2016, 2, 28))).tolist() == [15, 65, -1]
    assert C.month_start(days).tolist() == [C.day(date(2000, 2, 1)), C.day(date(1950, 12, 1)), C.day(date(2016, 12, 1))]
    assert C.Vocabulary(["ab", "c"]).strings(np.array([1, -1, 0])).to_pylist() == ["c", None, "ab"]


# ---------------------------------------------------------------------------------------------------
# the default size
# ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_size_matches_the_published_anchors(tmp_path):
    raw = tmp_path / "raw"
    summary = generate(raw)
    assert len(summary.persons) == 9
    assert summary.persons["2016-12-31"] == pytest.approx(100_000, rel=0.005)
    for year in (2017, 2018):
        assert summary.foreign_share[f"{year}-12-31"] == pytest.approx(0.17, abs=0.025)
        assert summary.mh_share_truth[f"{year}-12-31"] == pytest.approx(0.39, abs=0.04)
        assert summary.mh_share_register[f"{year}-12-31"] == pytest.approx(0.36, abs=0.03)
    assert 0.19 <= summary.foreign_share["2024-12-31"] <= 0.23
    r = read(raw, "register", date(2023, 12, 31))
    top = r.loc[is_foreign(r), "nationality_1"].value_counts()
    assert list(top.index[:2]) == ["SYR", "UKR"]
    assert {"TUR", "POL", "ROU", "BGR", "ITA"} <= set(top.index[:8])
    assert pd.concat([r["nationality_1"], r["nationality_2"]]).nunique() > 100
    assert 0 < (r["nationality_1"] == "XXA").sum() < 500 and 0 < (r["nationality_1"] == "XXX").sum() < 500
    assert 0 < (r["sex"] == "d").sum() < 50 and 0 < (r["sex"] == "x").sum() < 50
    ukr = r[r["nationality_1"] == "UKR"]
    assert (ukr["sex"] == "w").mean() > 0.6 and (ukr["immigration_year"] >= 2022).mean() > 0.8
    r = with_districts(raw, r)
    share = is_foreign(r).groupby(r["district_id"]).mean()
    assert share[WEST] == pytest.approx(0.22, abs=0.04)
    assert share[INNER].min() > share[WEST] - 0.02
    assert share[ORTSBEZIRKE].max() < 0.12
