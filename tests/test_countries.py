"""Tests of the country table (package data) and quarterstats.countries."""

from __future__ import annotations

from datetime import date
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from quarterstats.countries import (
    country_name_de,
    eu_members,
    is_known_code,
    load_countries,
    load_origin_regions,
    origin_region,
    region_labels_de,
    region_order,
)

REQUIRED_REGIONS = {
    "eu", "other_europe", "former_soviet_union", "turkey", "mena", "subsaharan_africa", "rest_of_asia",
    "americas", "oceania", "stateless_unknown",
}
NON_ISO_CODES = {"XXA", "XXX", "XKX", "SUN", "YUG", "CSK", "DDR", "SCG", "ANT"}


@pytest.fixture(scope="module")
def raw_table() -> pd.DataFrame:
    """countries.csv as text, exactly as shipped."""
    with resources.files("quarterstats").joinpath("data/countries.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def test_table_columns_and_codes(raw_table):
    assert list(raw_table.columns) == ["code", "name_de", "name_en", "region", "eu_from", "eu_until"]
    assert raw_table["code"].is_unique
    assert raw_table["code"].str.fullmatch(r"[A-Z]{3}").all()
    assert (raw_table["name_de"].str.len() > 0).all() and (raw_table["name_en"].str.len() > 0).all()
    # every current ISO 3166-1 code (249) plus the register's own and historical codes
    assert NON_ISO_CODES <= set(raw_table["code"])
    assert len(raw_table) == 249 + len(NON_ISO_CODES)


def test_every_region_valid_and_dates_parse(raw_table):
    regions = load_origin_regions()
    assert REQUIRED_REGIONS <= set(regions["code"])
    assert set(raw_table["region"]) <= set(regions["code"]) - {"eu"}  # eu only ever comes from the dates
    for column in ("eu_from", "eu_until"):
        filled = raw_table[column] != ""
        parsed = pd.to_datetime(raw_table.loc[filled, column], format="%Y-%m-%d")
        assert parsed.notna().all()
    table = load_countries()
    assert (table["eu_until"].isna() | (table["eu_from"] < table["eu_until"])).all()
    assert not (table["eu_from"].isna() & table["eu_until"].notna()).any()


def test_origin_regions_table():
    regions = load_origin_regions()
    assert list(regions.columns) == ["code", "label_de", "label_en", "order"]
    assert regions["order"].is_unique and regions["order"].is_monotonic_increasing
    assert region_order()[0] == "eu" and region_order()[-1] == "stateless_unknown"
    assert "germany" not in region_order() and region_order(include_germany=True)[0] == "germany"
    labels = region_labels_de()
    assert list(labels) == region_order()
    assert labels["mena"] == "Naher Osten und Nordafrika"


@pytest.mark.parametrize(
    "code, region",
    [
        ("TUR", "turkey"), ("SYR", "mena"), ("IRN", "mena"), ("MAR", "mena"), ("ERI", "subsaharan_africa"),
        ("AFG", "rest_of_asia"), ("VNM", "rest_of_asia"), ("RUS", "former_soviet_union"),
        ("KAZ", "former_soviet_union"), ("SUN", "former_soviet_union"), ("UKR", "former_soviet_union"),
        ("SRB", "other_europe"), ("XKX", "other_europe"), ("YUG", "other_europe"), ("CSK", "other_europe"),
        ("CHE", "other_europe"), ("USA", "americas"), ("BRA", "americas"), ("AUS", "oceania"),
        ("XXA", "stateless_unknown"), ("XXX", "stateless_unknown"), ("DEU", "germany"), ("DDR", "germany"),
        ("ITA", "eu"), ("POL", "eu"), ("HRV", "eu"), ("GBR", "other_europe"), ("LTU", "eu"),
    ],
)
def test_region_of_selected_codes_in_2024(code, region):
    assert origin_region(code, date(2024, 12, 31)) == region


@pytest.mark.parametrize(
    "code, day, region",
    [
        ("HRV", date(2013, 6, 30), "other_europe"),
        ("HRV", date(2013, 7, 1), "eu"),
        ("GBR", date(2020, 1, 31), "eu"),
        ("GBR", date(2020, 2, 1), "other_europe"),
        ("GBR", date(1972, 12, 31), "other_europe"),
        ("EST", date(2004, 4, 30), "former_soviet_union"),  # Baltic states: FSU until accession ...
        ("EST", date(2004, 5, 1), "eu"),  # ... then EU membership takes precedence
        ("POL", date(2004, 4, 30), "other_europe"),
        ("ROU", date(2006, 12, 31), "other_europe"),
        ("ROU", date(2007, 1, 1), "eu"),
        ("FRA", date(1958, 1, 1), "eu"),
        ("DEU", date(2024, 12, 31), "germany"),  # never a foreign origin, although a member
    ],
)
def test_eu_membership_at_reference_date(code, day, region):
    assert origin_region(pd.Series([code]), day).tolist() == [region]


def test_eu_member_counts():
    def sovereign(d):
        return eu_members(d) - {"ALA"}  # Åland follows Finland

    assert len(sovereign(date(2024, 12, 31))) == 27
    assert len(sovereign(date(2019, 12, 31))) == 28
    assert len(sovereign(date(2013, 6, 30))) == 27
    assert len(sovereign(date(1995, 1, 1))) == 15
    assert len(sovereign(date(1957, 12, 31))) == 0


def test_origin_region_vectorised_keeps_index_and_missing():
    codes = pd.Series(["TUR", None, "QQQ", "ITA"], index=[5, 6, 7, 8], dtype="str")
    regions = origin_region(codes, date(2024, 12, 31))
    assert regions.index.tolist() == [5, 6, 7, 8]
    assert regions.dtype == "str"
    assert regions.isna().tolist() == [False, True, False, False]
    assert regions[[5, 7, 8]].tolist() == ["turkey", "stateless_unknown", "eu"]  # unknown code -> stateless_unknown


def test_country_name_de():
    assert country_name_de("TUR") == "Türkei"
    assert country_name_de("XXA") == "Staatenlos"
    assert country_name_de("XKX") == "Kosovo"
    assert country_name_de(pd.Series(["SYR", "QQQ", None])).tolist()[:2] == ["Syrien", "QQQ"]
    assert pd.isna(country_name_de(pd.Series(["SYR", None])).iloc[1])


def test_is_known_code():
    assert is_known_code("DEU") and is_known_code("XXX") and is_known_code("SUN")
    assert not is_known_code("deu") and not is_known_code("QQQ") and not is_known_code(None)
    result = is_known_code(pd.Series(["POL", "ZZZ", None], index=["a", "b", "c"]))
    assert result.tolist() == [True, False, False] and result.index.tolist() == ["a", "b", "c"]
    assert np.asarray(is_known_code(["UKR", "XKX"])).all()


def test_region_codes_agree_with_the_indicator_catalogue():
    catalogue = pytest.importorskip("quarterstats.catalogue")
    assert [code for code, _, _ in catalogue.ORIGIN_REGIONS] == region_order()
