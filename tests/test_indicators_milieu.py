"""Milieu: z-scores, dimension scores, typology (4–6 synthetic districts, 300-resident rule) and the
social-status indicators from auxiliary figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import IndicatorParameters
from quarterstats.indicators import compute_indicators, milieu_types, type_label_de
from quarterstats.indicators.common import Values
from quarterstats.indicators.milieu import classify, compute, dimension_scores, zscores

from test_indicators_support import DISTRICTS, REF, approx, frame, mh, person, values

NAN = math.nan
PARAMS = IndicatorParameters()


def test_zscores_exclude_small_districts_from_mean_and_sd():
    # included 10, 20, 30: mean 20, population sd sqrt(200/3)
    z = zscores(np.array([10.0, 20.0, 30.0, 90.0]), np.array([True, True, True, False]))
    sd = math.sqrt(200 / 3)
    assert z == approx([-10 / sd, 0.0, 10 / sd, NAN])


def test_zscores_constant_values_are_zero():
    assert zscores(np.array([5.0, 5.0, NAN]), np.array([True, True, True])) == approx([0.0, 0.0, NAN])


# Five districts; the fifth has 100 residents (< 300) and is kept out.
POP = np.array([1000.0, 800.0, 600.0, 400.0, 100.0])
VALUES = {
    # ethnic: with_mh z = (-15, -5, 5, 15)/sqrt(125) = (-1.342, -0.447, 0.447, 1.342), same for minors,
    # foreign constant -> z 0; score = 2 z / 3
    "with_mh_share": np.array([10.0, 20.0, 30.0, 40.0, 90.0]),
    "with_mh_minors_share": np.array([20.0, 30.0, 40.0, 50.0, 0.0]),
    "foreign_share": np.array([5.0, 5.0, 5.0, 5.0, 50.0]),
    # age: old-age ratio z as above, young adults constant, minors reversed (sign -1) -> score = 2 z / 3
    "old_age_ratio": np.array([20.0, 30.0, 40.0, 50.0, 0.0]),
    "young_adults_share": np.array([10.0, 10.0, 10.0, 10.0, 0.0]),
    "minors_share": np.array([25.0, 20.0, 15.0, 10.0, 0.0]),
    # family: only one indicator, constant -> score 0 everywhere -> all medium
    "household_size_mean": np.array([2.0, 2.0, 2.0, 2.0, 1.0]),
    # stability: district 3 has no value -> no score; z over 50, 60, 70 = (-1.225, 0, 1.225)
    "residence_5y": np.array([50.0, 60.0, NAN, 70.0, 80.0]),
}
Z4 = np.array([-15.0, -5.0, 5.0, 15.0]) / math.sqrt(125)


def test_dimension_scores_by_hand():
    scores, included = dimension_scores(VALUES, POP, PARAMS)
    assert included.tolist() == [True, True, True, True, False]
    assert set(scores) == {"age", "family", "ethnic", "stability"}  # no social figures given
    assert scores["ethnic"] == approx(list(2 * Z4 / 3) + [NAN])
    assert scores["age"] == approx(list(2 * Z4 / 3) + [NAN])
    assert scores["family"] == approx([0.0, 0.0, 0.0, 0.0, NAN])
    s = math.sqrt(200 / 3)
    assert scores["stability"] == approx([-10 / s, 0.0, NAN, 10 / s, NAN])


def test_classes_at_half_a_standard_deviation():
    scores, included = dimension_scores(VALUES, POP, PARAMS)
    # ethnic scores (-0.894, -0.298, 0.298, 0.894): mean 0, sd 2/3 -> bounds ±1/3
    assert classify(scores["ethnic"], included, 0.5).tolist() == [1, 2, 2, 3, 0]
    # with a threshold of 0.25 SD (bounds ±1/6) the middle districts are classed too
    assert classify(scores["ethnic"], included, 0.25).tolist() == [1, 1, 3, 3, 0]
    assert classify(scores["family"], included, 0.5).tolist() == [2, 2, 2, 2, 0]  # sd 0: all medium
    assert classify(scores["stability"], included, 0.5).tolist() == [1, 2, 0, 3, 0]


def test_milieu_indicators_types_and_labels():
    results = {k: Values.plain(np.append(v, NAN)) for k, v in VALUES.items()}
    results["pop"] = Values.count(np.append(POP, POP.sum()))
    out = compute(results, 5, PARAMS)
    assert set(out) == {"milieu_age", "milieu_family", "milieu_ethnic", "milieu_stability", "milieu_type",
                        "milieu_excluded"}
    # digits: age, family, ethnic, stability, social (0 = not available)
    assert out["milieu_type"].value == approx([12110, 22220, 22200, 32330, NAN, NAN])
    assert out["milieu_excluded"].value == approx([0, 0, 0, 0, 1, NAN])
    assert np.isnan(out["milieu_ethnic"].value[-1])  # no city score
    assert type_label_de(12110) == "jung, niedriger Migrationsanteil, hohe Fluktuation"
    assert type_label_de(22220) == "durchschnittlich"
    assert type_label_de(32330) == "älter oder studentisch, hoher Migrationsanteil, stabil"
    assert type_label_de(31213) == "älter oder studentisch, kleine Haushalte, hohe Fluktuation, niedriger sozialer Status"
    with pytest.raises(ValueError):
        type_label_de(12345)


def test_types_stable_when_scores_are():
    """The rule depends only on the scores: shifting every indicator by a constant changes nothing."""
    results = {k: Values.plain(np.append(v, NAN)) for k, v in VALUES.items()}
    shifted = {k: Values.plain(np.append(v + 7.0, NAN)) for k, v in VALUES.items()}
    for r in (results, shifted):
        r["pop"] = Values.count(np.append(POP, POP.sum()))
    a, b = compute(results, 5, PARAMS), compute(shifted, 5, PARAMS)
    assert a["milieu_type"].value == approx(list(b["milieu_type"].value))


def synthetic_city() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Districts A 300, B 400, C 500 residents (10 %, 20 %, 30 % foreign), D 40 (all foreign), E empty."""
    rows = []
    for district, n, n_foreign in (("A", 300, 30), ("B", 400, 80), ("C", 500, 150), ("D", 40, 40)):
        for i in range(n):
            extra = mh("foreign", "SYR", "mena") if i < n_foreign else {}
            rows.append(person(f"{district}{i:03d}", district, 30, **extra))
    districts = pd.DataFrame({"district_id": list("ABCDE"), "name": list("ABCDE"), "area_km2": 1.0})
    return frame(rows), districts


def test_typology_end_to_end_with_300_resident_rule():
    persons, districts = synthetic_city()
    table = compute_indicators(persons, districts, REF)
    assert values(table, "milieu_excluded") == approx({"A": 0, "B": 0, "C": 0, "D": 1, "E": 1, "city": NAN})
    # ethnic = mean(z(with_mh_share), z(foreign_share)) over A, B, C only (shares 10, 20, 30; no minors)
    s = math.sqrt(200 / 3)
    assert values(table, "milieu_ethnic") == approx({"A": -10 / s, "B": 0.0, "C": 10 / s, "D": NAN, "E": NAN,
                                                     "city": NAN})
    # everyone is 30 and at the address since 2010: age and stability scores 0 (medium); no households
    assert values(table, "milieu_age") == approx({"A": 0.0, "B": 0.0, "C": 0.0, "D": NAN, "E": NAN, "city": NAN})
    assert values(table, "milieu_family") == approx({k: NAN for k in ["A", "B", "C", "D", "E", "city"]})
    types = milieu_types(table)
    assert types["district_id"].tolist() == list("ABCDE")
    assert types["type_code"].tolist()[:3] == [20120, 20220, 20320]
    assert types["type_code"].isna().tolist() == [False, False, False, True, True]
    assert types["label_de"].tolist() == [
        "niedriger Migrationsanteil", "durchschnittlich", "hoher Migrationsanteil",
        "nicht typisiert (zu wenige Einwohner)", "nicht typisiert (zu wenige Einwohner)",
    ]


def test_composite_min_population_is_a_parameter():
    persons, districts = synthetic_city()
    table = compute_indicators(persons, districts, REF, params=IndicatorParameters(composite_min_population=350))
    assert values(table, "milieu_excluded")["A"] == 1.0
    assert values(table, "milieu_ethnic") == approx({"A": NAN, "B": -1.0, "C": 1.0, "D": NAN, "E": NAN,
                                                     "city": NAN})


def test_social_status_indicators_from_auxiliary_figures():
    persons = frame([
        # 01: under 65: 5, 10, 20, 30, 40 (5); 15-64: 20, 30, 40 (3); under 15: 5, 10 (2)
        person("a", "01", 5), person("b", "01", 10), person("c", "01", 20), person("d", "01", 30),
        person("e", "01", 40), person("f", "01", 70),
        # 02: under 65: 16, 64 (2); 15-64: 16, 64 (2); under 15: none
        person("g", "02", 16), person("h", "02", 64), person("i", "02", 65),
    ])
    # ids as a CSV reader without dtype=str would give them (leading zeros lost); "10" has no row
    aux = pd.DataFrame({"district_id": [1, 2], "sgb2_recipients_under65": [1, 1], "unemployed": [1, 0],
                        "children_under15_in_sgb2": [1, 0]})
    table = compute_indicators(persons, DISTRICTS, REF, auxiliary=aux)
    assert values(table, "sgb2_rate") == approx({"01": 20.0, "02": 50.0, "10": NAN, "city": 200 / 7})
    assert values(table, "unemployment_rate") == approx({"01": 100 / 3, "02": 0.0, "10": NAN, "city": 20.0})
    assert values(table, "child_poverty") == approx({"01": 50.0, "02": NAN, "10": NAN, "city": 50.0})
    assert values(table, "sgb2_rate", "numerator") == approx({"01": 1, "02": 1, "10": NAN, "city": 2})
    assert "milieu_social" in set(table["indicator"])  # all NaN here: every district is under 300
    without = compute_indicators(persons, DISTRICTS, REF)
    assert {"sgb2_rate", "milieu_social"}.isdisjoint(set(without["indicator"]))


def test_auxiliary_missing_for_an_inhabited_district_leaves_city_nan():
    persons = frame([person("a", "01", 30), person("b", "02", 30)])
    aux = pd.DataFrame({"district_id": ["01"], "sgb2_recipients_under65": [1], "unemployed": [1],
                        "children_under15_in_sgb2": [0]})
    table = compute_indicators(persons, DISTRICTS, REF, auxiliary=aux)
    assert values(table, "sgb2_rate") == approx({"01": 100.0, "02": NAN, "10": NAN, "city": NAN})


def test_auxiliary_with_missing_column_is_rejected():
    persons = frame([person("a", "01", 30)])
    with pytest.raises(ValueError, match="unemployed"):
        compute_indicators(persons, DISTRICTS, REF, auxiliary=pd.DataFrame({"district_id": ["01"],
                                                                           "sgb2_recipients_under65": [1],
                                                                           "children_under15_in_sgb2": [0]}))
