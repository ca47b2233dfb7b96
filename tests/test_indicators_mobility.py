"""Stability and mobility indicators between two hand-made reference dates (2023-12-31 -> 2024-12-31).

Previous date: 01: p1 p4 p6 p7 q1 p8 (6)   02: p2 q2 q3 r1 (4)
Current date:  01: p1 p2 p3 p4 p5 p6 p7 (7) 02: r1 p8 s1 s2 (4)
  births (new, in the city since birth): p5 (01), s2 (02)
  in-movers (new, with a move-in date): p3 (01), s1 (02)
  departures (gone; moved out or died): q1 (01), q2 q3 (02)
  within the city: p2 02 -> 01, p8 01 -> 02
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from quarterstats.indicators import compute_indicators
from quarterstats.indicators.common import years_before

from test_indicators_support import DISTRICTS, REF, approx, frame, person, values

NAN = math.nan
D = date


def current():
    return frame([
        person("p1", "01", 40, moved_in_address=D(2019, 12, 31), moved_in_city=D(2000, 5, 1)),  # exactly 5 y
        person("p2", "01", 30, moved_in_address=D(2020, 1, 1), moved_in_city=D(2020, 1, 1)),
        person("p3", "01", 25, moved_in_address=D(2024, 3, 1), moved_in_city=D(2024, 3, 1)),
        person("p4", "01", 4, moved_in_address=D(2020, 6, 1)),  # under 5: not in the Wohndauer base
        person("p5", "01", 0, moved_in_address=D(2024, 5, 1)),  # newborn: in no base
        person("p6", "01", 50, moved_in_address=D(2023, 12, 31), moved_in_city=D(1990, 1, 1)),  # exactly 1 y
        person("p7", "01", 60, moved_in_address=D(2024, 1, 1)),  # in the city since birth, new address
        person("r1", "02", 50, moved_in_address=D(2000, 1, 1)),
        person("p8", "02", 33, moved_in_address=D(2024, 2, 1), moved_in_city=D(2010, 1, 1)),
        person("s1", "02", 28, moved_in_address=D(2024, 6, 1), moved_in_city=D(2024, 6, 1)),
        person("s2", "02", 0, moved_in_address=D(2024, 8, 1)),
    ])


def previous():
    return frame([
        person("p1", "01", 39), person("p4", "01", 3), person("p6", "01", 49), person("p7", "01", 59),
        person("q1", "01", 90), person("p8", "01", 32),
        person("p2", "02", 29), person("q2", "02", 20), person("q3", "02", 21), person("r1", "02", 49),
    ])


@pytest.fixture(scope="module")
def table():
    return compute_indicators(current(), DISTRICTS, REF, previous_persons=previous())


def test_residence_duration(table):
    # base aged 5+: 01 p1 p2 p3 p6 p7 (5), at the address since <= 2019-12-31: p1 -> 20 %
    #               02 r1 p8 s1 (3), r1 -> 33.3 %; city 2 / 8
    assert values(table, "residence_5y") == approx({"01": 20.0, "02": 100 / 3, "10": NAN, "city": 25.0})
    assert values(table, "residence_5y", "denominator") == {"01": 5, "02": 3, "10": 0, "city": 8}


def test_recent_moves(table):
    # base aged 1+: 01 p1 p2 p3 p4 p6 p7 (6), 02 r1 p8 s1 (3)
    # new address after 2023-12-31: 01 p3 p7 (p6 moved in exactly a year ago: not within), 02 p8 s1
    assert values(table, "moved_address_1y") == approx({"01": 100 / 3, "02": 200 / 3, "10": NAN, "city": 400 / 9})
    # into the city after 2023-12-31: 01 p3, 02 s1
    assert values(table, "moved_city_1y") == approx({"01": 100 / 6, "02": 100 / 3, "10": NAN, "city": 200 / 9})


def test_flows(table):
    assert values(table, "births") == {"01": 1, "02": 1, "10": 0, "city": 2}
    assert values(table, "in_movers") == {"01": 1, "02": 1, "10": 0, "city": 2}
    assert values(table, "out_movers") == {"01": 1, "02": 2, "10": 0, "city": 3}
    assert values(table, "intra_city_in") == {"01": 1, "02": 1, "10": 0, "city": 2}
    assert values(table, "intra_city_out") == {"01": 1, "02": 1, "10": 0, "city": 2}


def test_balance_of_flows_equals_population_change(table):
    pop_before = {"01": 6, "02": 4, "10": 0, "city": 10}
    pop_now = values(table, "pop")
    for area in ("01", "02", "10"):
        change = (values(table, "births")[area] + values(table, "in_movers")[area]
                  + values(table, "intra_city_in")[area] - values(table, "out_movers")[area]
                  - values(table, "intra_city_out")[area])
        assert pop_now[area] - pop_before[area] == change
    city = values(table, "births")["city"] + values(table, "in_movers")["city"] - values(table, "out_movers")["city"]
    assert pop_now["city"] - pop_before["city"] == city


def test_turnover_and_net_migration(table):
    # mean residents B: 01 (6+7)/2, 02 (4+4)/2, 10 0 -> NaN, city (10+11)/2
    # 01: in 1 + 1 (within), out 1 + 1 (within): volume 4, net 0
    # 02: in 1 + 1, out 2 + 1: volume 5, net -1
    # city: in 2, out 3 (moves within the city are no migration): volume 5, net -1
    assert values(table, "turnover") == approx({"01": 4000 / 6.5, "02": 1250.0, "10": NAN, "city": 5000 / 10.5})
    assert values(table, "net_migration") == approx({"01": 0.0, "02": -250.0, "10": NAN, "city": -1000 / 10.5})
    assert values(table, "turnover", "denominator") == {"01": 6.5, "02": 4.0, "10": 0.0, "city": 10.5}
    assert values(table, "net_migration", "numerator") == {"01": 0, "02": -1, "10": 0, "city": -1}


def test_without_previous_date_no_flows():
    table = compute_indicators(current(), DISTRICTS, REF)
    emitted = set(table["indicator"])
    assert {"births", "in_movers", "out_movers", "intra_city_in", "intra_city_out", "turnover",
            "net_migration"}.isdisjoint(emitted)
    assert "residence_5y" in emitted
    with_previous = compute_indicators(current(), DISTRICTS, REF, previous_persons=previous())
    assert values(table, "residence_5y") == approx(values(with_previous, "residence_5y"))


def test_years_before_handles_leap_day():
    assert years_before(D(2024, 2, 29), 1) == np.datetime64("2023-02-28")
    assert years_before(D(2024, 12, 31), 5) == np.datetime64("2019-12-31")


def test_parameters_change_the_windows():
    from quarterstats.catalogue import IndicatorParameters

    params = IndicatorParameters(residence_years=4, recent_move_years=2)
    table = compute_indicators(current(), DISTRICTS, REF, params=params)
    # aged 4+ at the address since <= 2020-12-31: 01 p1 p2 p4 (of p1 p2 p3 p4 p6 p7) -> 50 %
    assert values(table, "residence_5y")["01"] == pytest.approx(50.0)
    # aged 2+, new address after 2022-12-31: 01 p3 p6 p7 (of p1 p2 p3 p4 p6 p7) -> 50 %
    assert values(table, "moved_address_1y")["01"] == pytest.approx(50.0)
