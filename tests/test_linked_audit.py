"""Attacks across the published files of a date (and of two dates): each attack succeeds without its
rule and fails with it."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quarterstats import background, segregation
from quarterstats.disclosure.linked import (
    MULTIGROUP, at_published_precision, hide_values_of_suppressed_inputs, publishable_segregation,
    published_decimals,
)


# ------------------------------------------------------------------------------------------ figures
def _jittered(table: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The same table with every value moved within its published rounding interval: what a reader
    of the tables cannot tell apart from the original."""
    out = table.copy()
    kinds = out["kind"].astype(str) if "kind" in out.columns else pd.Series("index", index=out.index)
    for column in ("value", "change_previous", "change_baseline"):
        if column not in out.columns:
            continue
        values = pd.to_numeric(out[column], errors="coerce").to_numpy(dtype=float)
        step = np.array([np.nan if (d := published_decimals(i, k)) is None else 10.0 ** -d
                         for i, k in zip(out["indicator"].astype(str), kinds)])
        moved = np.round(values / step) * step + rng.uniform(-0.45, 0.45, len(values)) * step
        out[column] = np.where(np.isfinite(step) & np.isfinite(values), moved, values)
    return out


def _svgs(inputs, figure_ids) -> dict[str, bytes]:
    import quarterstats.figures as figures

    plan = {figure_id: build for figure_id, _, build in figures._plan(*inputs)}
    return {figure_id: figures._draw(plan[figure_id]).svg for figure_id in figure_ids}


def test_figures_carry_no_more_precision_than_the_tables(monkeypatch):
    """Every figure that draws values (maps, bars, trends, the segregation trend) gives the same SVG
    bytes for any values that print the same in the tables: no coordinate carries a digit more. Without
    the rounding the SVG paths tell the two apart (they held about 10 significant digits)."""
    import quarterstats.figures as figures
    from test_figures import six_inputs

    monkeypatch.setenv(background.THREADS_VARIABLE, "1")
    published, series, seg, pyramid, districts, meta = six_inputs()
    rng = np.random.default_rng(11)
    seg_jittered = seg.copy()
    step = np.where(seg["index"] == "seg_dissimilarity", 0.1, 0.001)
    seg_jittered["value"] = np.round(seg["value"] / step) * step + rng.uniform(-0.45, 0.45, len(seg)) * step
    other = (_jittered(published, rng), _jittered(series, rng), seg_jittered, pyramid, districts, meta)
    ids = ["map_foreign_share", "map_with_mh_share", "bars_origin_regions", "segregation_over_time",
           "trend_foreign_share"]
    original = (published, series, seg, pyramid, districts, meta)
    assert _svgs(original, ids) == _svgs(other, ids)
    # without the rule: the SVG of the same figure differs with digits the tables do not print
    monkeypatch.setattr(figures, "at_published_precision", lambda table: table)
    monkeypatch.setattr(figures, "segregation_at_published_precision", lambda table: table)
    before, after = _svgs(original, ids), _svgs(other, ids)
    # (maps draw classes, not coordinates: they stay the same either way)
    assert [i for i in ids if before[i] != after[i]] == ids[2:]


# ------------------------------------------------------------------------------- city-level indices
def _origin_city(hidden_value: tuple[int, ...]):
    """Eight districts; the origin region "mena" has small counts in three of them (suppressed, with
    the city total published so that only their sum is known)."""
    total = np.array([900, 750, 620, 480, 400, 310, 260, 150])
    mena = np.array([40, 33, 25, 18, 12, *hidden_value])
    return total, mena


def _long_table(total, mena, hidden: list[int]) -> pd.DataFrame:
    ids = [f"{i + 1:02d}" for i in range(len(total))]
    rows = []
    for did, t, x, i in zip(ids, total, mena, range(len(total))):
        rows.append(dict(district_id=did, indicator="pop", value=float(t), flag=""))
        rows.append(dict(district_id=did, indicator="with_mh", value=float(4 * x + 30), flag=""))
        suppressed = i in hidden
        rows.append(dict(district_id=did, indicator="origin_region_mena", value=np.nan if suppressed else float(x),
                         flag="*" if suppressed else ""))
        rows.append(dict(district_id=did, indicator="origin_diversity_shannon", value=0.5, flag=""))
        rows.append(dict(district_id=did, indicator="lisa_class_region_mena", value=0.0, flag=""))
        rows.append(dict(district_id=did, indicator="lisa_class_foreign", value=1.0, flag=""))
    rows.append(dict(district_id="city", indicator="origin_region_mena", value=float(mena.sum()), flag=""))
    rows.append(dict(district_id="city", indicator="pop", value=float(total.sum()), flag=""))
    frame = pd.DataFrame(rows)
    frame["numerator"] = np.nan
    frame["denominator"] = np.nan
    return frame


def _index_table(total, mena) -> pd.DataFrame:
    return pd.DataFrame([
        ("seg_dissimilarity", "region_mena", 100.0 * segregation.dissimilarity(mena, total), np.nan),
        ("seg_isolation", "region_mena", segregation.isolation(mena, total), np.nan),
        ("seg_theil", "region_mena", segregation.entropy_theil(mena, total), np.nan),
        ("seg_dissimilarity", "foreign", 31.2, np.nan),
    ], columns=["index", "group", "value", "p_value"])


def _tables_fitting(published_index: pd.DataFrame, published: pd.DataFrame, total,
                    decimals: bool = True) -> list[tuple[int, ...]]:
    """The intruder: every completion of the suppressed "mena" cells (each at least 1, adding up to the
    city total) whose indices give the published index values (rounded as the report prints them, or
    with ``decimals=False`` to 10 significant digits)."""
    districts = published[published["district_id"] != "city"]
    mena = districts[districts["indicator"] == "origin_region_mena"]["value"].to_numpy()
    hidden = np.flatnonzero(np.isnan(mena))
    city = published[(published["district_id"] == "city") & (published["indicator"] == "origin_region_mena")]
    rest = int(city["value"].iloc[0] - np.nansum(mena))
    shown = published_index[(published_index["group"] == "region_mena") & published_index["value"].notna()]
    fits = []
    for combo in itertools.product(range(1, rest + 1), repeat=len(hidden)):
        if sum(combo) != rest:
            continue
        trial = mena.copy()
        trial[hidden] = combo
        computed = _index_table(total, trial).set_index(["index", "group"])["value"]
        if all(_shown_as(computed[(r.index, r.group)], r.index, decimals) == r.value for r in shown.itertuples()):
            fits.append(combo)
    return fits


def _shown_as(value: float, index: str, decimals: bool) -> float:
    return round(value, 1 if index == "seg_dissimilarity" else 3) if decimals else float(f"{value:.10g}")


def test_city_indices_are_published_only_from_published_counts():
    """The indices of an origin region as an SVG carried them, with the suppressed cells' sum known from
    the city total, leave exactly one table: the suppressed 1s and 2s come back. The rule publishes an index
    only where all its input counts are published, so the intruder is left with every completion."""
    total, mena = _origin_city((2, 1, 3))
    published = _long_table(total, mena, hidden=[5, 6, 7])
    true_index = _index_table(total, mena)
    # without the rule: the indices as an SVG carried them (10 significant digits) fit one table only,
    # and the report's rounded ones already rule out 7 of the 10 completions
    svg = true_index.assign(value=[float(f"{v:.10g}") for v in true_index["value"]])
    assert _tables_fitting(svg, published, total, decimals=False) == [(2, 1, 3)]
    report = true_index.assign(value=[round(v, 1 if i == "seg_dissimilarity" else 3)
                                      for i, v in zip(true_index["index"], true_index["value"])])
    assert len(_tables_fitting(report, published, total)) == 3
    # with the rule: the indices of the group are suppressed, every completion fits
    protected = publishable_segregation(true_index, published)
    mena_rows = protected[protected["group"] == "region_mena"]
    assert mena_rows["value"].isna().all() and (mena_rows["flag"] == "*").all()
    assert len(_tables_fitting(protected, published, total)) == 10  # x + y + z = 6, each >= 1
    # an index whose inputs are all published stays (rounded as in the report)
    foreign = protected[protected["group"] == "foreign"]
    assert foreign["value"].tolist() == [31.2] and (foreign["flag"] == "").all()


def test_the_multigroup_indices_follow_every_origin_region():
    total, mena = _origin_city((2, 1, 3))
    published = _long_table(total, mena, hidden=[5, 6, 7])
    table = pd.DataFrame([("seg_multigroup_theil", MULTIGROUP, 0.081234, np.nan)],
                         columns=["index", "group", "value", "p_value"])
    assert publishable_segregation(table, published)["flag"].tolist() == ["*"]
    clear = _long_table(total, mena, hidden=[])
    out = publishable_segregation(table, clear)
    assert out["flag"].tolist() == [""] and out["value"].tolist() == [0.081]


def test_indices_of_each_date_follow_the_counts_of_that_date():
    total, mena = _origin_city((2, 1, 3))
    first = _long_table(total, mena, hidden=[5, 6, 7]).assign(reference_date=pd.Timestamp("2023-12-31"))
    second = _long_table(total, mena, hidden=[]).assign(reference_date=pd.Timestamp("2024-12-31"))
    index = pd.concat([_index_table(total, mena).assign(reference_date=pd.Timestamp(d))
                       for d in ("2023-12-31", "2024-12-31", "2025-12-31")], ignore_index=True)
    out = publishable_segregation(index, pd.concat([first, second], ignore_index=True))
    mena_flags = out[out["group"] == "region_mena"].groupby("reference_date")["flag"].agg(lambda f: "|".join(sorted(set(f.astype(str)))))
    assert list(mena_flags) == ["*", "", "*"]  # no published table of 2025: nothing is published


def test_diversity_and_lisa_classes_follow_their_counts():
    """The Shannon diversity of a district with its with-MH total and the other regions published pins
    a suppressed region count; a LISA class depends on the group's share in every district."""
    total, mena = _origin_city((2, 1, 3))
    out = hide_values_of_suppressed_inputs(_long_table(total, mena, hidden=[5, 6])).set_index(
        ["district_id", "indicator"])
    assert out.loc[("06", "origin_diversity_shannon"), "flag"] == "*"
    assert np.isnan(out.loc[("07", "origin_diversity_shannon"), "value"])
    assert out.loc[("08", "origin_diversity_shannon"), "value"] == 0.5  # its regions are all published
    lisa = out.xs("lisa_class_region_mena", level="indicator")
    assert lisa["value"].isna().all() and (lisa["flag"] == "*").all()
    assert (out.xs("lisa_class_foreign", level="indicator")["value"] == 1.0).all()


def test_precision_follows_the_printed_decimals():
    table = pd.DataFrame({"indicator": ["foreign_share", "pop", "household_size_mean", "milieu_seniors",
                                        "location_quotient_foreign", "milieu_type"],
                          "value": [12.3456, 1234.0, 2.0449, 0.123456, 1.23456, 3.0]})
    assert at_published_precision(table)["value"].tolist() == [12.3, 1234.0, 2.04, 0.12, 1.23, 3.0]


def test_the_published_index_table_keeps_the_sign_of_a_suppressed_index():
    from quarterstats.tables import segregation_published

    day = pd.Timestamp("2024-12-31")
    indices = pd.DataFrame({"reference_date": [day, day], "index": ["seg_dissimilarity", "seg_dissimilarity"],
                            "group": ["foreign", "region_mena"], "value": [23.7, np.nan], "p_value": [np.nan, np.nan],
                            "flag": ["", "*"]})
    assert segregation_published(indices)["flag"].tolist() == ["", "*"]
    without_flag = segregation_published(indices.drop(columns="flag"))
    assert without_flag["flag"].tolist() == ["", "x"]  # not computable: not a secret


# ------------------------------------------------------------- exactness: null space against an LP
def _random_blocks(rng: np.random.Generator, n_blocks: int = 3, size: int = 6, local: int = 4, coupling: int = 2):
    """A small system of 0/1 rows in blocks, with a coupling row over all blocks."""
    local_rows = [(rng.random((local, size)) < 0.4).astype(float) for _ in range(n_blocks)]
    coupling_rows = [(rng.random((coupling, size)) < 0.4).astype(float) for _ in range(n_blocks)]
    return local_rows, coupling_rows


def _lp_range(local_rows, coupling_rows, target: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """min and max of ``target · x`` over x ≥ 0 with every row at its true value (scipy HiGHS)."""
    from scipy.optimize import linprog
    from scipy.linalg import block_diag

    a = np.vstack([block_diag(*local_rows), np.hstack(coupling_rows)])
    b = a @ truth
    low = linprog(target, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    high = linprog(-target, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    return low.fun, (-high.fun if high.status == 0 else np.inf)  # status 3: unbounded above


def test_the_null_space_test_agrees_with_linear_programming_on_random_systems():
    """On random block systems with a strictly positive true table, a quantity is determined by the
    block null-space test exactly where the LP's minimum equals its maximum."""
    from quarterstats.disclosure.exactness import BlockSystem

    rng = np.random.default_rng(7)
    checked = {True: 0, False: 0}
    for _ in range(60):
        local_rows, coupling_rows = _random_blocks(rng, n_blocks=int(rng.integers(1, 4)))
        system = BlockSystem(local_rows, coupling_rows)
        n, size = len(local_rows), local_rows[0].shape[1]
        truth = rng.integers(1, 9, n * size).astype(float)
        for _ in range(6):
            target = np.zeros(n * size)
            target[rng.choice(n * size, int(rng.integers(1, 4)), replace=False)] = 1.0
            lo, hi = _lp_range(local_rows, coupling_rows, target, truth)
            parts = {b: target[b * size:(b + 1) * size] for b in range(n) if target[b * size:(b + 1) * size].any()}
            ours = system.determined(parts) if len(parts) > 1 else \
                bool(system.determined_local(*next(iter(parts.items())))[0])
            assert ours == (hi - lo < 1e-6), (lo, hi, ours)
            checked[ours] += 1
        # and after a row is switched off
        if local_rows[0].shape[0]:
            system.drop({0: [0]}, [])
            local_rows[0] = local_rows[0][1:]
            target = np.zeros(n * size)
            target[: size] = local_rows[0][0] if len(local_rows[0]) else 0
            target[0] += 1
            lo, hi = _lp_range(local_rows, coupling_rows, target, truth)
            assert bool(system.determined_local(0, target[:size])[0]) == (hi - lo < 1e-6)
    assert checked[True] > 20 and checked[False] > 20  # both answers occur


# ------------------------------------------- the channels between the tables of a date (and dates)
from quarterstats.catalogue import IndicatorParameters, build_catalogue  # noqa: E402
from quarterstats.disclosure import DisclosureConfig  # noqa: E402
from quarterstats.disclosure.indicators import protect_indicators  # noqa: E402
from quarterstats.disclosure.linked import (  # noqa: E402
    PreviousDate, build_linked_system, linked_disclosures, protect_linked,
)
from quarterstats.publication import published_table, pyramid_table  # noqa: E402

_COUNTRIES = {"eu": ["POL", "POL", "ITA", "ROU"], "turkey": ["TUR"], "mena": ["SYR", "IRQ"],
              "former_soviet_union": ["RUS", "KAZ"], "rest_of_asia": ["VNM", "CHN"]}


def _small_city():
    """Four districts (D small) with a few persons placed so that each channel exists: one
    18–19-year-old with migration background in C, one 5-year-old in C, one person from Poland in D
    (and more persons from other EU states there)."""
    from test_protection import DAY, districts_frame, random_persons

    from quarterstats.indicators import compute_indicators

    persons = random_persons(seed=5, sizes=(1200, 800, 400, 60))
    rng = np.random.default_rng(6)
    size = rng.integers(1, 6, len(persons))
    household = np.repeat(np.arange(len(persons)), size)[: len(persons)]
    persons["household_id"] = [f"H{d}{h:05d}" for d, h in zip(persons["district_id"], household)]
    region = persons["origin_region"].fillna("")
    persons["bezugsland"] = [rng.choice(_COUNTRIES[r]) if r else None for r in region]
    in_d = (persons["district_id"] == "D").to_numpy()
    eu_d = persons.index[in_d & (region == "eu").to_numpy()]
    persons.loc[eu_d, "bezugsland"] = "ITA"
    persons.loc[eu_d[0], "bezugsland"] = "POL"
    c_mh = persons.index[(persons["district_id"] == "C") & persons["has_mh"]]
    persons.loc[c_mh[persons.loc[c_mh, "age"].isin([18, 19]).to_numpy()], "age"] = 30
    persons.loc[c_mh[0], "age"] = 19
    c = persons.index[persons["district_id"] == "C"]
    persons.loc[c[persons.loc[c, "age"] == 5], "age"] = 40
    persons.loc[c[1], "age"] = 5
    persons["moved_in_address"] = persons["moved_in_address"].where(persons["age"] > 0, pd.Timestamp("2020-06-01"))
    return persons, compute_indicators(persons, districts_frame(), DAY)


_FLOWS = {"births": (20, 15, 10, 1), "in_movers": (100, 60, 30, 5), "out_movers": (90, 50, 25, 4),
          "intra_city_in": (10, 8, 6, 3), "intra_city_out": (9, 9, 6, 3)}


def _with_flows(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The date's table with births and moves (D has one birth), and the residents of the previous
    date that the population balance gives."""
    rows = []
    for indicator, values in _FLOWS.items():
        for district, value in zip("ABCD", values):
            rows.append(dict(district_id=district, indicator=indicator, value=float(value), numerator=float(value)))
        rows.append(dict(district_id="city", indicator=indicator, value=float(sum(values)),
                         numerator=float(sum(values))))
    out = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    pop = table[table["indicator"] == "pop"].set_index("district_id")["value"]
    flow = {k: pd.Series(list(v) + [sum(v)], index=[*"ABCD", "city"], dtype=float) for k, v in _FLOWS.items()}
    before = pop - flow["births"] - flow["in_movers"] + flow["out_movers"]
    inner = list("ABCD")
    before[inner] = before[inner] - flow["intra_city_in"][inner] + flow["intra_city_out"][inner]
    return out, before


def _publish(persons, table, config, catalogue, linked: bool, previous=None):
    """(published long table with labels, published pyramid table): per table (as before the linked
    protection) or with it."""
    from test_protection import DAY

    if linked:
        result = protect_linked(table, persons, config, catalogue, previous)
        protection, pyramid = result.protection, result.pyramid
    else:
        protection = protect_indicators(table, config, catalogue=catalogue, params=catalogue.params)
        pyramid = pyramid_table(persons, list(protection.counts.index), config)
    names = {d: d for d in "ABCD"}
    return published_table(protection.published, names, DAY, catalogue), pyramid


def _value(published: pd.DataFrame, area: str, indicator: str, column: str = "value") -> float:
    rows = published[(published["district_id"] == area) & (published["indicator"] == indicator)]
    return float(rows[column].iloc[0]) if len(rows) else np.nan


def _mh_18_19_from_the_pyramid(published, pyramid, area: str) -> float:
    """Pyramid bands 0–9 and 10–19 with MH (men and women) − the minors with MH."""
    cells = pyramid[(pyramid["district_id"] == area) & (pyramid["mh"] == "mit MH")
                    & pyramid["age_band"].isin(["0–9", "10–19"])]["count"]
    return float(cells.sum(min_count=4)) - _value(published, area, "with_mh_minors") if cells.notna().all() else np.nan


def _five_year_olds_from_a_denominator(published, area: str) -> float:
    """Residents under 6 − (residents − the residents aged 5 and over, the denominator of the share
    living at their address for 5 years): the 5-year-olds."""
    under_5 = _value(published, area, "pop") - _value(published, area, "residence_5y", "denominator")
    return _value(published, area, "age_00_05") - under_5


def _births_from_the_balance(published, before: pd.Series, area: str) -> float:
    terms = [_value(published, area, k) for k in ("pop", "in_movers", "out_movers", "intra_city_in", "intra_city_out")]
    pop, moved_in, moved_out, intra_in, intra_out = terms
    return pop - before[area] - moved_in + moved_out - intra_in + intra_out


def _country_from_the_city(published, persons, country: str, area: str) -> float:
    """The city's count of a named country − the named counts of the other districts."""
    from quarterstats.tables import top_countries_published

    top = top_countries_published(persons, published, 5)
    named = top[(top["country_code"] == country) & top["count"].notna()]
    city = named.loc[named["district_id"] == "city", "count"]
    others = named.loc[~named["district_id"].isin(["city", area]), "count"]
    listed = set(named["district_id"]) - {"city", area}
    if len(city) == 0 or listed != set("ABCD") - {area}:
        return np.nan
    return float(city.iloc[0] - others.sum())


@pytest.fixture(scope="module")
def small_city():
    return _small_city()


def test_each_channel_gives_a_small_count_back_from_the_per_table_protection(small_city):
    """Each table passes its own audit; together they give the small counts back: the channels
    (1)–(4) of docs/disclosure.md as attacks on the per-table protection."""
    persons, table = small_city
    config, catalogue = DisclosureConfig(), build_catalogue()
    table, before = _with_flows(table)
    published, pyramid = _publish(persons, table, config, catalogue, linked=False)
    assert _mh_18_19_from_the_pyramid(published, pyramid, "C") == 1  # (1)
    assert _five_year_olds_from_a_denominator(published, "C") == 1  # (2)
    assert _value(published, "D", "births") != _value(published, "D", "births")  # suppressed …
    assert _births_from_the_balance(published, before, "D") == 1  # (3) … and back across the dates
    assert _country_from_the_city(published, persons, "POL", "D") == 1  # (4)
    system = build_linked_system(persons, table, published, pyramid, catalogue, config.min_count,
                                 PreviousDate(before, before))
    found = linked_disclosures(system)
    assert ("C", ("age", 18, "mh", 1)) in found and ("D", ("country", "POL")) in found
    assert ("D", "births") in found


def test_the_linked_protection_closes_every_channel(small_city):
    persons, table = small_city
    config, catalogue = DisclosureConfig(), build_catalogue()
    table, before = _with_flows(table)
    previous = PreviousDate(before, before)
    published, pyramid = _publish(persons, table, config, catalogue, linked=True, previous=previous)
    assert not _mh_18_19_from_the_pyramid(published, pyramid, "C") == 1
    assert not _five_year_olds_from_a_denominator(published, "C") == 1
    assert not _births_from_the_balance(published, before, "D") == 1
    assert not _country_from_the_city(published, persons, "POL", "D") == 1
    system = build_linked_system(persons, table, published, pyramid, catalogue, config.min_count, previous)
    assert linked_disclosures(system) == []
    # nothing small is published, and the per-table audit still holds
    counts = published.loc[published["kind"] == "count", "value"].dropna()
    assert not ((counts >= 1) & (counts < config.min_count)).any()
    # most of the table stays published
    assert published["value"].notna().mean() > 0.6


def test_other_age_bounds_and_min_count_5_recover_nothing(small_city):
    """With other age groups (0, 3, 6, 10, 16, 18, 21, 30, 50, 60, 75) and min_count 5 the linked
    protection builds its atoms from that catalogue; the audit of the result finds nothing."""
    from test_protection import DAY, districts_frame

    from quarterstats.indicators import compute_indicators

    persons, _ = small_city
    params = IndicatorParameters(age_group_lower_bounds=(0, 3, 6, 10, 16, 18, 21, 30, 50, 60, 75))
    catalogue = build_catalogue(params)
    config = DisclosureConfig(min_count=5)
    table = compute_indicators(persons, districts_frame(), DAY, params=params)
    plain, plain_pyramid = _publish(persons, table, config, catalogue, linked=False)
    leaks = linked_disclosures(build_linked_system(persons, table, plain, plain_pyramid, catalogue, 5))
    assert leaks  # the per-table protection leaves channels open with these parameters too
    published, pyramid = _publish(persons, table, config, catalogue, linked=True)
    assert linked_disclosures(build_linked_system(persons, table, published, pyramid, catalogue, 5)) == []
    counts = published.loc[published["kind"] == "count", "value"].dropna()
    assert not ((counts >= 1) & (counts < 5)).any()


def test_a_district_of_two_persons_does_not_hide_the_others():
    """A district below the size at which anything is published (2 residents: every count of it is
    small): its counts are suppressed and none follows through the city, and the other districts keep
    their numbers."""
    from test_protection import DAY, districts_frame, random_persons

    from quarterstats.indicators import compute_indicators

    persons = random_persons(seed=9, sizes=(900, 700, 500, 2))
    table = compute_indicators(persons, districts_frame(), DAY)
    config, catalogue = DisclosureConfig(), build_catalogue()
    plain, _ = _publish(persons, table, config, catalogue, linked=False)
    result = protect_linked(table, persons, config, catalogue)
    assert result.statistics["unresolved"] == []
    published = published_table(result.protection.published, {d: d for d in "ABCD"}, DAY, catalogue)
    assert linked_disclosures(build_linked_system(persons, table, published, result.pyramid, catalogue,
                                                  config.min_count)) == []
    tiny = published[(published["district_id"] == "D") & (published["kind"] == "count")]
    assert not ((tiny["value"] >= 1) & (tiny["value"] < config.min_count)).any()
    others = published["district_id"].isin(["A", "B", "C"])
    before = plain["district_id"].isin(["A", "B", "C"])
    # (measured: 85 % of what the per-table protection publishes there)
    assert published.loc[others, "value"].notna().sum() >= 0.8 * plain.loc[before, "value"].notna().sum()
    assert result.statistics["last"]["tiny_districts"] == ["D"]
