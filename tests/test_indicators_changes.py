"""Changes against the previous and the baseline date, and time series."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from quarterstats.catalogue import CATALOGUE
from quarterstats.indicators import add_changes, compute_indicators, time_series

from test_indicators_support import DISTRICTS, approx, frame, mh, person

NAN = math.nan


def long(rows):
    return pd.DataFrame(rows, columns=["district_id", "indicator", "value"]).assign(numerator=NAN,
                                                                                   denominator=NAN)


CURRENT = long([
    ("01", "pop", 110.0), ("01", "foreign_share", 12.5), ("01", "milieu_type", 12110.0),
    ("01", "top_country_1", 5.0), ("01", "milieu_seniors", 0.3), ("city", "pop", 200.0),
])
PREVIOUS = long([
    ("01", "pop", 100.0), ("01", "foreign_share", 10.0), ("01", "milieu_type", 22220.0),
    ("01", "top_country_1", 3.0), ("01", "milieu_seniors", 0.1),
])
BASELINE = long([("01", "pop", 90.0), ("city", "pop", 150.0), ("01", "foreign_share", 15.0)])


def test_changes_against_previous_and_baseline():
    out = add_changes(CURRENT, PREVIOUS, BASELINE)
    assert out[["district_id", "indicator", "value"]].equals(CURRENT[["district_id", "indicator", "value"]])
    # pop +10, share +2.5 percentage points, classes and ranks: no change, city missing before: NaN,
    # milieu dynamics: score 0.1 -> 0.3
    assert out["change_previous"].tolist() == approx([10.0, 2.5, NAN, NAN, 0.2, NAN])
    assert out["change_baseline"].tolist() == approx([20.0, -2.5, NAN, NAN, NAN, 50.0])


def test_changes_without_other_tables_are_nan():
    out = add_changes(CURRENT, None, None)
    assert out["change_previous"].isna().all() and out["change_baseline"].isna().all()
    assert out["change_previous"].dtype == "float64"


def test_change_units_in_the_catalogue():
    assert CATALOGUE["foreign_share"].change_unit == "Prozentpunkte"
    assert CATALOGUE["pop"].change_unit == "Personen"
    assert CATALOGUE["milieu_seniors"].change_unit == "z-Wert"
    assert CATALOGUE["milieu_type"].change_unit is None
    assert CATALOGUE["top_country_1"].change_unit is None


def test_duplicate_rows_in_the_other_table_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        add_changes(CURRENT, pd.concat([PREVIOUS, PREVIOUS]), None)


def test_time_series_orders_by_date_and_keeps_rows():
    d1, d2 = date(2023, 12, 31), date(2024, 12, 31)
    shuffled = CURRENT.iloc[::-1].reset_index(drop=True)
    ts = time_series({d2: shuffled, d1: PREVIOUS})
    assert list(ts.columns[:3]) == ["reference_date", "district_id", "indicator"]
    assert ts["reference_date"].tolist() == [d1] * len(PREVIOUS) + [d2] * len(CURRENT)
    # within a date: district natural order (city last), then catalogue order
    assert ts[ts["reference_date"] == d2]["indicator"].tolist() == [
        "pop", "foreign_share", "top_country_1", "milieu_seniors", "milieu_type", "pop"]
    assert ts[ts["reference_date"] == d2]["district_id"].tolist()[-1] == "city"
    assert time_series({}).empty


def test_changes_on_computed_tables():
    ref1, ref2 = date(2023, 12, 31), date(2024, 12, 31)
    before = frame([person("a", "01", 30), person("b", "01", 40), person("c", "02", 50)])
    after = frame([person("a", "01", 31), person("b", "01", 41, **mh("foreign", "TUR", "turkey")),
                   person("d", "02", 20)])
    t1 = compute_indicators(before, DISTRICTS, ref1)
    t2 = compute_indicators(after, DISTRICTS, ref2, previous_persons=before)
    out = add_changes(t2, t1, t1)
    row = out[(out["district_id"] == "01") & (out["indicator"] == "foreign_share")]
    assert row["change_previous"].item() == pytest.approx(50.0)  # 0 % -> 50 %: +50 percentage points
    flows = out[out["indicator"] == "turnover"]
    assert flows["change_previous"].isna().all()  # no turnover at the first date
    assert out[(out["district_id"] == "10") & (out["indicator"] == "pop")]["change_previous"].item() == 0.0
