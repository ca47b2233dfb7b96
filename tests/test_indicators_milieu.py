"""Milieu: z-scores, dimension scores, the Ward typology (deterministic, stable across dates, neutral names),
status and dynamics classes on hand-made districts, the published table of types, the change-map classes
(symmetric around zero), the 300-resident rule and the social-status indicators from auxiliary figures."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import CATALOGUE, IndicatorParameters
from quarterstats.indicators import compute_indicators, district_types, milieu_types, type_description_de, type_label_de
from quarterstats.indicators.common import Values
from quarterstats.indicators.milieu import (
    DIMENSIONS, assign_types, classes_over_time, classify_status, compute, dimension_scores, fit_types, type_code,
    type_digits, zscores,
)

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
    # migration: with_mh z = (-15, -5, 5, 15)/sqrt(125) = (-1.342, -0.447, 0.447, 1.342), same for minors,
    # foreign constant -> z 0; score = 2 z / 3
    "with_mh_share": np.array([10.0, 20.0, 30.0, 40.0, 90.0]),
    "with_mh_minors_share": np.array([20.0, 30.0, 40.0, 50.0, 0.0]),
    "foreign_share": np.array([5.0, 5.0, 5.0, 5.0, 50.0]),
    # seniors: the old-age ratio alone; young adults alone
    "old_age_ratio": np.array([20.0, 30.0, 40.0, 50.0, 0.0]),
    "young_adults_share": np.array([10.0, 10.0, 10.0, 10.0, 0.0]),
    # family: only one indicator, constant -> score 0 everywhere
    "household_size_mean": np.array([2.0, 2.0, 2.0, 2.0, 1.0]),
    # mobility: residence reversed (sign -1); district 3 has no value -> no score; z over 50, 60, 70
    "residence_5y": np.array([50.0, 60.0, NAN, 70.0, 80.0]),
}
Z4 = np.array([-15.0, -5.0, 5.0, 15.0]) / math.sqrt(125)


def test_dimension_scores_by_hand():
    scores, included = dimension_scores(VALUES, POP, PARAMS)
    assert included.tolist() == [True, True, True, True, False]
    assert set(scores) == {"family", "seniors", "students", "migration", "mobility"}  # no social figures
    assert scores["migration"] == approx(list(2 * Z4 / 3) + [NAN])
    assert scores["seniors"] == approx(list(Z4) + [NAN])
    assert scores["students"] == approx([0.0, 0.0, 0.0, 0.0, NAN])
    assert scores["family"] == approx([0.0, 0.0, 0.0, 0.0, NAN])
    s = math.sqrt(200 / 3)
    assert scores["mobility"] == approx([10 / s, 0.0, NAN, -10 / s, NAN])  # long residence: low mobility


def test_each_dimension_has_one_meaning():
    """Seniors and young adults are separate dimensions: an old district and a student district no longer
    share a high score of one "age" dimension."""
    assert DIMENSIONS["seniors"] == (("old_age_ratio", 1),)
    assert DIMENSIONS["students"] == (("young_adults_share", 1),)
    values = {"old_age_ratio": np.array([60.0, 20.0, 30.0]), "young_adults_share": np.array([5.0, 40.0, 10.0])}
    scores, _ = dimension_scores(values, np.array([1000.0, 1000.0, 1000.0]))
    assert scores["seniors"][0] > 0 > scores["seniors"][1]
    assert scores["students"][1] > 0 > scores["students"][0]
    # every indicator of every dimension is defined in the catalogue, and no dimension needs a previous date
    for parts in DIMENSIONS.values():
        for indicator, _ in parts:
            assert indicator in CATALOGUE and indicator not in ("turnover", "net_migration")


# Twelve districts in four clear groups of three (typology scores: family, seniors, students, migration,
# mobility), rounded small noise around the group centres.
GROUPS = [
    [2.03, -0.92, 0.03, -0.13, -0.91], [2.04, -1.05, 0.06, 0.04, -0.97], [2.0, -0.95, -0.07, -0.02, -1.05],
    [-0.94, 2.0, -1.03, -1.08, -1.03], [-1.0, 1.97, -0.87, -0.9, -1.27], [-1.19, 1.98, -1.04, -0.98, -0.98],
    [0.21, -1.11, -0.04, 2.2, 2.06], [0.07, -1.05, -0.16, 2.02, 2.01], [-0.12, -1.07, -0.01, 1.91, 1.99],
    [-0.99, -1.0, 1.95, 0.06, 1.09], [-0.97, -1.08, 2.07, -0.05, 1.09], [-1.11, -0.91, 2.0, -0.12, 0.97],
]
TYPOLOGY = ("family", "seniors", "students", "migration", "mobility")


def group_scores(rows) -> dict[str, np.ndarray]:
    x = np.asarray(rows, dtype=float)
    return {d: x[:, i] for i, d in enumerate(TYPOLOGY)}


def test_clustering_is_deterministic_and_finds_the_groups():
    scores, included = group_scores(GROUPS), np.ones(12, dtype=bool)
    a, b = fit_types(scores, included, PARAMS), fit_types(scores, included, PARAMS)
    assert a.codes == b.codes and np.array_equal(a.centres, b.centres) and a.explained == b.explained
    # four types are the smallest number in 4..7 explaining 80 % (they explain almost all)
    assert len(a.types) == 4 and a.explained > 0.99
    types = assign_types(a, scores, included)
    assert types.tolist() == [52332.0] * 3 + [25111.0] * 3 + [32355.0] * 3 + [22534.0] * 3
    assert type_label_de(52332) == "Familien, wenige Ältere"
    assert type_label_de(32355) == "hoher Migrationsanteil, viel Zuzug"
    assert type_label_de(22534) == "junge Erwachsene, kleine Haushalte"


def test_number_of_types_follows_the_documented_rule():
    scores, included = group_scores(GROUPS), np.ones(12, dtype=bool)
    # a range above the four groups: the smallest k of the range (5) already explains 80 %
    assert len(fit_types(scores, included, IndicatorParameters(typology_types=(5, 8))).codes) == 5
    # capped by the number of districts: 3 districts give at most 3 clusters
    three = {d: v[[0, 3, 6]] for d, v in scores.items()}
    assert len(fit_types(three, np.ones(3, dtype=bool), PARAMS).codes) == 3
    # an unreachable share takes the largest k of the range
    model = fit_types(scores, included, IndicatorParameters(typology_types=(4, 6), typology_min_explained=0.9999))
    assert len(model.codes) == 6


def test_types_stable_across_two_dates():
    """The types are fitted on the first date and kept: a second date whose scores barely change gets the
    same types; one where a group drifts towards another keeps the first date's type codes, while a fit on
    the second date alone would have made other types."""
    first = long_scores(GROUPS)
    noise = np.round(np.random.default_rng(7).normal(0, 0.05, (12, 5)), 3)
    second = long_scores((np.asarray(GROUPS) + noise).tolist())
    t1 = classes_over_time(first, None, PARAMS)
    t2 = classes_over_time(second, first, PARAMS)
    assert types_of(t2) == types_of(t1)
    drifted = np.asarray(GROUPS)
    drifted[9:] = drifted[9:] * 0.3  # the young-adult group moves to the average
    third = long_scores(drifted.tolist())
    kept = types_of(classes_over_time(third, first, PARAMS))
    alone = types_of(classes_over_time(third, None, PARAMS))
    first_codes = set(types_of(t1).values())
    assert set(kept.values()) <= first_codes
    assert not set(alone.values()) <= first_codes  # refitting on the later date alone changes the types


def long_scores(rows, status=None, change=None, pop=None) -> pd.DataFrame:
    """A long table of milieu rows for districts D01… (scores, excluded flag, type and status classes)."""
    x = np.asarray(rows, dtype=float)
    n = len(x)
    ids = [f"D{i + 1:02d}" for i in range(n)]
    pop = np.full(n, 1000.0) if pop is None else np.asarray(pop, dtype=float)
    records = []
    for i, d in enumerate(ids):
        for j, dim in enumerate(TYPOLOGY):
            records.append((d, f"milieu_{dim}", x[i, j] if pop[i] >= 300 else NAN, NAN))
        if status is not None:
            records.append((d, "milieu_status", status[i] if pop[i] >= 300 else NAN,
                            change[i] if change is not None and pop[i] >= 300 else NAN))
            records.append((d, "milieu_status_class", NAN, NAN))
            records.append((d, "milieu_dynamics_class", NAN, NAN))
        records.append((d, "milieu_type", NAN, NAN))
        records.append((d, "milieu_excluded", float(pop[i] < 300), NAN))
    return pd.DataFrame(records, columns=["district_id", "indicator", "value", "change_previous"])


def types_of(table: pd.DataFrame) -> dict[str, float]:
    rows = table[table["indicator"] == "milieu_type"]
    return dict(zip(rows["district_id"], rows["value"]))


def test_names_and_descriptions_are_neutral():
    assert type_label_de(33333) == "gemischt, nahe am Durchschnitt"
    assert type_description_de(33333) == "In allen Merkmalen nahe am Durchschnitt der Bezirke."
    assert type_description_de(52332) == ("Gegenüber dem Durchschnitt der Bezirke deutlich mehr Familien mit "
                                         "Kindern, weniger Ältere und weniger Zuzüge und längere Wohndauer; sonst "
                                         "nahe am Durchschnitt.")
    with pytest.raises(ValueError):
        type_label_de(12346)
    codes = [int("".join(d)) for d in itertools.product("12345", repeat=5)]
    texts = " ".join(type_label_de(c) + " " + type_description_de(c) for c in codes).lower()
    for word in ("status", "sozial", "problem", "benachteilig", "brennpunkt", "arm", "schwach", "prekär"):
        assert word not in texts
    # the code describes the centre: 5 clearly above, 4 above, 3 near, 2 below, 1 clearly below
    t = PARAMS.typology_threshold_sd
    centre = np.array([2.5 * t, 1.5 * t, 0.0, -1.5 * t, -2.5 * t])
    assert type_code(centre, TYPOLOGY, t) == 54321


# Status and dynamics: seven districts, the seventh with 100 residents (not classified). Status scores of
# the six others: mean 0, population sd sqrt(30.5/6) = 2.2546, z = 1.331, 0.444 (×3), −1.109, −1.552.
STATUS = [3.0, 1.0, 1.0, 1.0, -2.5, -3.5, 9.0]
# changes of the status score: mean 0, sd sqrt(0.5/6) = 0.2887, z = 1.732, 0 (×4), −1.732
CHANGE = [0.5, 0.0, 0.0, 0.0, 0.0, -0.5, 5.0]
POP7 = [1000, 900, 800, 700, 600, 500, 100]


def test_status_and_dynamics_classes_by_hand():
    scores = [[0.0] * 5] * 7
    table = long_scores(scores, status=STATUS, change=CHANGE, pop=POP7)
    included = np.array(POP7) >= 300
    status = np.where(included, STATUS, NAN)
    assert classify_status(status, included, PARAMS) == approx([1, 2, 2, 2, 3, 4, NAN])
    out = classes_over_time(table, None, PARAMS)
    dynamics = out[out["indicator"] == "milieu_dynamics_class"]["value"].tolist()
    assert dynamics == approx([1, 2, 2, 2, 2, 3, NAN])
    # thresholds are parameters: at 2 sd no district is "hoch", at 1.8 sd no dynamics is "positiv"
    strict = IndicatorParameters(status_high_sd=2.0, dynamics_threshold_sd=1.8)
    assert classify_status(status, included, strict)[0] == 2
    out = classes_over_time(table, None, strict)
    assert out[out["indicator"] == "milieu_dynamics_class"]["value"].tolist() == approx([2] * 6 + [NAN])


def test_district_types_table_names_types_and_reasons():
    table = classes_over_time(long_scores(GROUPS[:6] + [[0.0] * 5], pop=[1000] * 6 + [100]), None, PARAMS)
    table["reference_date"] = "2024-12-31"
    out = district_types(table, 300)
    assert out["district_id"].tolist() == [f"D{i:02d}" for i in range(1, 8)]
    assert out["type_name_de"].tolist()[0] == type_label_de(int(out["type_code"].iloc[0]))
    assert out["type_description_de"].iloc[0].startswith("Gegenüber dem Durchschnitt der Bezirke")
    assert out["type_code"].isna().tolist() == [False] * 6 + [True]
    assert out["note_de"].iloc[6] == "nicht typisiert und nicht klassifiziert: weniger als 300 Einwohner"
    assert out["note_de"].iloc[0] == "keine Statusklasse: keine Zulieferdaten zum sozialen Status"
    with_status = classes_over_time(long_scores(GROUPS[:6] + [[0.0] * 5], status=STATUS, pop=POP7), None, PARAMS)
    notes = district_types(with_status, 300)["note_de"].tolist()
    assert notes[0] == "keine Dynamikklasse: kein Vergleich mit einem vorigen Stichtag"
    assert district_types(with_status, 300)["status_class_de"].tolist()[:6] == [
        "hoch", "mittel", "mittel", "mittel", "niedrig", "sehr niedrig"]


def test_change_map_classes_are_symmetric_around_zero():
    from quarterstats.figures.maps import change_breaks, change_classes

    changes = np.array([-3.7, -1.0, -0.2, 0.0, 0.5, 2.2, NAN])
    breaks = change_breaks(changes)
    assert breaks.tolist() == approx([-5.0, -3.0, -1.0, 1.0, 3.0, 5.0])  # m = 3,7 rounded up to 5
    assert breaks == approx(list(-breaks[::-1]))
    classes = change_classes(changes, breaks)
    assert classes.tolist() == [0, 2, 2, 2, 2, 3, -1]
    # a change and its negative fall in mirrored classes, also on a class bound
    mirrored = change_classes(-changes, breaks)
    assert [4 - c if c >= 0 else c for c in classes] == mirrored.tolist()
    assert change_classes(np.array([1.0, -1.0, 3.0, -3.0]), breaks).tolist() == [2, 2, 3, 1]
    assert change_breaks(np.array([0.0, NAN])).tolist() == approx([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])


def test_milieu_indicators_types_and_labels():
    results = {k: Values.plain(np.append(v, NAN)) for k, v in VALUES.items()}
    results["pop"] = Values.count(np.append(POP, POP.sum()))
    out = compute(results, 5, PARAMS)
    assert set(out) == {"milieu_family", "milieu_seniors", "milieu_students", "milieu_migration",
                        "milieu_mobility", "milieu_type", "milieu_excluded"}
    types = out["milieu_type"].value
    assert np.isfinite(types[:4]).all() and np.isnan(types[4:]).all()  # excluded district and city
    assert out["milieu_excluded"].value == approx([0, 0, 0, 0, 1, NAN])
    assert np.isnan(out["milieu_migration"].value[-1])  # no city score
    # four included districts, at most four types; every code is a valid type code
    assert len(set(types[:4])) <= 4
    for code in types[:4]:
        type_digits(int(code))


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
    # migration = mean(z(with_mh_share), z(foreign_share)) over A, B, C only (shares 10, 20, 30; no minors)
    s = math.sqrt(200 / 3)
    assert values(table, "milieu_migration") == approx({"A": -10 / s, "B": 0.0, "C": 10 / s, "D": NAN, "E": NAN,
                                                        "city": NAN})
    # everyone is 30 and at the address since 2010: seniors, young adults and mobility 0; no households
    assert values(table, "milieu_seniors") == approx({"A": 0.0, "B": 0.0, "C": 0.0, "D": NAN, "E": NAN,
                                                      "city": NAN})
    assert values(table, "milieu_family") == approx({k: NAN for k in ["A", "B", "C", "D", "E", "city"]})
    types = milieu_types(table)
    assert types["district_id"].tolist() == list("ABCDE")
    # three districts: three types (capped); migration standardised −1,22, 0, 1,22; family not available (0)
    assert types["type_code"].tolist()[:3] == [3313, 3333, 3353]
    assert types["type_code"].isna().tolist() == [False, False, False, True, True]
    assert types["label_de"].tolist() == [
        "geringer Migrationsanteil", "gemischt, nahe am Durchschnitt", "hoher Migrationsanteil",
        "nicht typisiert (zu wenige Einwohner)", "nicht typisiert (zu wenige Einwohner)",
    ]
    assert types["description_de"].tolist()[1] == "In allen Merkmalen nahe am Durchschnitt der Bezirke."


def test_composite_min_population_is_a_parameter():
    persons, districts = synthetic_city()
    table = compute_indicators(persons, districts, REF, params=IndicatorParameters(composite_min_population=350))
    assert values(table, "milieu_excluded")["A"] == 1.0
    assert values(table, "milieu_migration") == approx({"A": NAN, "B": -1.0, "C": 1.0, "D": NAN, "E": NAN,
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
    assert "milieu_status" in set(table["indicator"])  # all NaN here: every district is under 300
    without = compute_indicators(persons, DISTRICTS, REF)
    assert {"sgb2_rate", "milieu_status", "milieu_status_class"}.isdisjoint(set(without["indicator"]))


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


def test_published_changes_keep_the_first_dates_types_and_set_flags():
    """In the publication the types come from the first date's published scores and the dynamics from the
    published change; a class that gets a value loses the "x", a suppressed one stays "*"."""
    from quarterstats.disclosure.indicators import published_changes

    def published(rows, status):
        table = long_scores(rows, status=status, pop=POP7).drop(columns="change_previous")
        table["flag"] = pd.array(np.where(table["value"].isna(), "x", ""), dtype="string")
        return table

    rows = GROUPS[:6] + [[0.0] * 5]
    first = classes_over_time(published(rows, STATUS), None, PARAMS)
    drifted = np.asarray(rows)
    drifted[3:6] *= 0.3
    later = published(drifted.tolist(), [s + c for s, c in zip(STATUS, CHANGE)])
    later.loc[(later["indicator"] == "milieu_type") & (later["district_id"] == "D02"), ["value", "flag"]] = [NAN, "*"]
    out = published_changes(later, first, first)
    types = out[out["indicator"] == "milieu_type"].set_index("district_id")
    first_codes = set(first.loc[first["indicator"] == "milieu_type", "value"].dropna())
    assert set(types["value"].dropna()) <= first_codes
    assert types.loc["D02", "flag"] == "*" and np.isnan(types.loc["D02", "value"])
    assert types.loc["D07", "flag"] == "x"  # too small
    dynamics = out[out["indicator"] == "milieu_dynamics_class"].set_index("district_id")
    assert dynamics["value"].tolist() == approx([1, 2, 2, 2, 2, 3, NAN])
    assert dynamics["flag"].tolist() == ["", "", "", "", "", "", "x"]
