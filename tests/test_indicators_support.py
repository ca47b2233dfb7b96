"""Builders for the hand-made persons tables of the indicator tests (imported by test_indicators_*.py),
plus tests of the builders themselves."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

REF = date(2024, 12, 31)
PREV = date(2023, 12, 31)

#: Three districts; "10" has no residents. Areas in km².
DISTRICTS = pd.DataFrame({
    "district_id": ["02", "10", "01"],  # deliberately not sorted
    "name": ["Zwei", "Zehn", "Eins"],
    "area_km2": [0.5, 4.0, 2.0],
})

STRING_COLUMNS = (
    "person_id", "household_id", "sex", "mother_id", "father_id", "district_id", "mh_status", "mh_features",
    "bezugsland", "origin_region", "eg_status",
)


def person(pid: str, district: str, age: int, **overrides) -> dict:
    """A German resident without MH, no household, at the address since 2010, in the city since birth."""
    row = dict(
        person_id=pid, household_id=None, age=age, sex="w", moved_in_city=None,
        moved_in_address=date(2010, 1, 1), mother_id=None, father_id=None, district_id=district,
        mh_status="german_no_mh", has_mh=False, mh_features="", bezugsland=None, origin_region=None,
        eg_status="none",
    )
    row.update(overrides)
    return row


def mh(status: str, country: str, region: str, **overrides) -> dict:
    """Overrides for a person with MH."""
    return dict(mh_status=status, has_mh=True, bezugsland=country, origin_region=region, **overrides)


def frame(rows: list[dict]) -> pd.DataFrame:
    """A persons table with the dtypes the pipeline produces (Arrow strings, int16 age, bool, dates)."""
    df = pd.DataFrame(rows)
    for col in STRING_COLUMNS:
        df[col] = pd.array(df[col].to_numpy(dtype=object), dtype="str")
    df["age"] = df["age"].astype("int16")
    df["has_mh"] = df["has_mh"].astype(bool)
    for col in ("moved_in_city", "moved_in_address"):
        df[col] = pd.Series(df[col].to_numpy(dtype=object), dtype=object)
    return df


def values(table: pd.DataFrame, indicator: str, column: str = "value") -> dict[str, float]:
    """{district_id: value} of one indicator in a long table."""
    rows = table[table["indicator"] == indicator]
    return dict(zip(rows["district_id"], rows[column]))


def approx(expected: dict[str, float]) -> dict:
    """pytest.approx for a {district: value} dict that treats NaN as equal to NaN."""
    return pytest.approx(expected, nan_ok=True, rel=1e-9, abs=1e-12)


def test_frame_has_pipeline_dtypes():
    df = frame([person("a", "01", 3), person("b", "02", 40, **mh("foreign", "TUR", "turkey"))])
    assert df["age"].dtype == np.int16
    assert df["has_mh"].dtype == bool
    assert pd.api.types.is_string_dtype(df["person_id"].dtype)
    assert df["bezugsland"].isna().tolist() == [True, False]


def test_values_reads_one_indicator():
    table = pd.DataFrame({"district_id": ["01", "city"], "indicator": ["pop", "pop"], "value": [1.0, 2.0]})
    assert values(table, "pop") == {"01": 1.0, "city": 2.0}
