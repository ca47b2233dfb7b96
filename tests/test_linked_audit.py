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
