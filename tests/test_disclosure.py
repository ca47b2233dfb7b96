"""Tests for cell suppression, its LP audit and the disclosure configuration.

Expected values are worked out by hand in the comments next to each table.
"""

import numpy as np
import pandas as pd
import pytest

from quarterstats.disclosure import (
    DEFAULT_CELLKEY_SALT,
    SALT_ENV_VAR,
    SUPPRESSED_MARK,
    DisclosureConfig,
    apply_mask,
    feasible_intervals,
    primary_mask,
    recoverable_cells,
    secondary_suppression,
    suppress_rates,
    suppression_mask,
)
from quarterstats.disclosure.audit import FlowAuditor, TableAuditor, _layout


def table(rows: dict[str, list[int]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def random_table(rng, n_rows, n_cols, *, row_total=True, col_total=True, lam=3.0):
    """Small Poisson counts with ~20 % structural zeros, margins appended."""
    inner = rng.poisson(lam, size=(n_rows, n_cols)) * (rng.random((n_rows, n_cols)) > 0.2)
    df = pd.DataFrame(
        inner,
        index=[f"{i + 1:02d}" for i in range(n_rows)],
        columns=[f"c{j}" for j in range(n_cols)],
    )
    if col_total:
        df["total"] = df.sum(axis=1)
    if row_total:
        df.loc["city"] = df.sum(axis=0)
    return df


# --- primary suppression ------------------------------------------------------------------


def test_primary_mask_suppresses_one_and_two_but_not_zero():
    counts = table({"01": [0, 1, 2, 3], "city": [0, 1, 2, 3]}, ["a", "b", "c", "total"])
    mask = primary_mask(counts)
    assert mask.loc["01"].tolist() == [False, True, True, False]
    assert mask.loc["city"].tolist() == [False, True, True, False]  # totals are counts too
    assert primary_mask(counts, min_count=4).loc["01", "total"]
    assert mask.dtypes.eq(bool).all()


def test_apply_mask_sets_na_keeps_integers_and_marker_is_star():
    counts = table({"01": [1, 7], "02": [5, 8]}, ["a", "b"])
    published = apply_mask(counts, primary_mask(counts))
    assert published.dtypes.tolist() == ["Int64", "Int64"]
    assert published.isna().to_numpy().tolist() == [[True, False], [False, False]]
    assert published.loc["02", "b"] == 8
    assert counts.loc["01", "a"] == 1  # input untouched
    assert SUPPRESSED_MARK == "*"


def test_apply_mask_rejects_a_mask_that_does_not_cover_the_table():
    counts = table({"01": [1, 7], "02": [5, 8]}, ["a", "b"])
    with pytest.raises(ValueError):
        apply_mask(counts, primary_mask(counts).loc[["01"]])


# --- secondary suppression, hand-made tables ----------------------------------------------


def test_single_primary_in_a_row_with_total_gets_the_smallest_partner():
    # 01: 1 | 4 | 6 || 11. Alone, the 1 is 11 - 4 - 6. The smallest non-zero partner is the 4;
    # then a + b = 5 with a, b >= 1, so a lies in [1, 4]: neither exact nor inside [1, 2].
    counts = table({"01": [1, 4, 6, 11]}, ["a", "b", "c", "total"])
    primary = primary_mask(counts)
    assert recoverable_cells(apply_mask(counts, primary), row_total=False, col_total=True) == [
        ("01", "a", 1.0, 1.0)
    ]
    mask = secondary_suppression(counts, primary, row_total=False, col_total=True)
    assert mask.loc["01"].tolist() == [True, True, False, False]
    published = apply_mask(counts, mask)
    assert recoverable_cells(published, row_total=False, col_total=True) == []
    intervals = feasible_intervals(published, row_total=False, col_total=True)
    assert intervals[["lower", "upper"]].to_numpy().tolist() == [[1.0, 4.0], [1.0, 4.0]]


def test_two_by_two_table_with_both_margins_needs_a_full_rectangle():
    #        a   b | total        a single primary (the 1) needs partners in its row AND column,
    # 01     1   7 |  8           and those need partners again: the whole inner 2x2 block.
    # 02     5   8 | 13           Then x11 + x12 = 8, x11 + x21 = 6, x21 + x22 = 13, all >= 1:
    # city   6  15 | 21           x11 in [1, 5] (x21 = 6 - x11 >= 1).
    counts = table({"01": [1, 7, 8], "02": [5, 8, 13], "city": [6, 15, 21]}, ["a", "b", "total"])
    mask = suppression_mask(counts, row_total=True, col_total=True)
    expected = [[True, True, False], [True, True, False], [False, False, False]]
    assert mask.to_numpy().tolist() == expected
    published = apply_mask(counts, mask)
    assert recoverable_cells(published, row_total=True, col_total=True) == []
    first = feasible_intervals(published, row_total=True, col_total=True).iloc[0]
    assert (first["row"], first["col"], first["lower"], first["upper"]) == ("01", "a", 1.0, 5.0)


def test_primary_only_pattern_is_found_by_the_audit():
    counts = table({"01": [1, 7, 8], "02": [5, 8, 13], "city": [6, 15, 21]}, ["a", "b", "total"])
    found = recoverable_cells(apply_mask(counts, primary_mask(counts)), True, True)
    assert [(c.row, c.col, c.lower, c.upper, c.exact) for c in found] == [("01", "a", 1, 1, True)]


def test_a_total_cell_may_need_secondary_suppression():
    # One district: the city row repeats it, so hiding (01, b) forces hiding (city, b) as well
    # (column b would give it away), and the grand total stays published.
    counts = table({"01": [1, 5, 6], "city": [1, 5, 6]}, ["a", "b", "total"])
    mask = suppression_mask(counts, row_total=True, col_total=True)
    assert mask.to_numpy().tolist() == [[True, True, False], [True, True, False]]
    published = apply_mask(counts, mask)
    assert recoverable_cells(published, row_total=True, col_total=True) == []
    assert feasible_intervals(published, True, True)["upper"].tolist() == [5.0] * 4


def test_zeros_are_never_chosen_as_partners():
    # 01: 2 | 0 | 9 || 11 -> the zero is skipped, the 9 becomes the partner.
    counts = table({"01": [2, 0, 9, 11]}, ["a", "b", "c", "total"])
    mask = suppression_mask(counts, row_total=False, col_total=True)
    assert mask.loc["01"].tolist() == [True, False, True, False]


def test_ties_are_broken_by_position():
    counts = table({"01": [1, 4, 4, 9]}, ["a", "b", "c", "total"])
    mask = suppression_mask(counts, row_total=False, col_total=True)
    assert mask.loc["01"].tolist() == [True, True, False, False]


def test_two_small_cells_protecting_each_other_are_not_enough():
    # 01: 1 | 1 | 7 || 9. Hiding both 1s leaves a + b = 2; since a hidden cell is never 0
    # (zeros are always published), a = b = 1. The 7 has to go as well.
    counts = table({"01": [1, 1, 7, 9]}, ["a", "b", "c", "total"])
    published = apply_mask(counts, primary_mask(counts))
    found = recoverable_cells(published, row_total=False, col_total=True)
    assert [(c.col, c.lower, c.upper) for c in found] == [("a", 1, 1), ("b", 1, 1)]
    # under plain non-negativity a, b lie in [0, 2]: not flagged (the weaker model)
    assert recoverable_cells(published, row_total=False, col_total=True, known_nonzero=False) == []
    mask = secondary_suppression(counts, primary_mask(counts), row_total=False, col_total=True)
    assert mask.loc["01"].tolist() == [True, True, True, False]


def test_interval_inside_small_range_is_reported():
    # a + b = 33 - 30 = 3 with a, b >= 1: a, b in [1, 2] -> "a small count sits here"
    published = pd.DataFrame(
        {"a": [pd.NA], "b": [pd.NA], "c": [30], "total": [33]}, index=["01"], dtype="Int64"
    )
    found = recoverable_cells(published, row_total=False, col_total=True)
    assert [(c.col, c.lower, c.upper, c.exact) for c in found] == [
        ("a", 1.0, 2.0, False),
        ("b", 1.0, 2.0, False),
    ]


def test_without_published_totals_nothing_needs_secondary_suppression():
    counts = table({"01": [1, 4], "02": [2, 9]}, ["a", "b"])
    primary = primary_mask(counts)
    mask = secondary_suppression(counts, primary, row_total=False, col_total=False)
    assert mask.equals(primary)
    assert recoverable_cells(apply_mask(counts, mask), False, False) == []


def test_city_row_is_found_by_label_wherever_it_sits():
    counts = table({"01": [1, 7, 8], "02": [5, 8, 13], "city": [6, 15, 21]}, ["a", "b", "total"])
    reordered = counts.loc[["city", "01", "02"]]
    mask = suppression_mask(reordered, row_total=True, col_total=True)
    assert mask.loc[["01", "02", "city"]].to_numpy().tolist() == [
        [True, True, False],
        [True, True, False],
        [False, False, False],
    ]


def test_non_additive_tables_and_suppressed_zeros_are_rejected():
    counts = table({"01": [1, 7, 9], "city": [1, 7, 9]}, ["a", "b", "total"])  # 1 + 7 != 9
    with pytest.raises(ValueError, match="additive"):
        suppression_mask(counts, row_total=True, col_total=True)
    counts = table({"01": [0, 7, 7]}, ["a", "b", "total"])
    primary = pd.DataFrame([[True, False, False]], index=counts.index, columns=counts.columns)
    with pytest.raises(ValueError, match="zero"):
        secondary_suppression(counts, primary, row_total=False, col_total=True)


def test_secondary_suppression_is_deterministic():
    rng = np.random.default_rng(7)
    counts = random_table(rng, 6, 5)
    first = suppression_mask(counts, row_total=True, col_total=True)
    second = suppression_mask(counts.copy(), row_total=True, col_total=True)
    assert first.equals(second)


# --- secondary suppression, random tables -------------------------------------------------


def check_safe(counts, mask, row_total, col_total):
    primary = primary_mask(counts)
    values = counts.to_numpy()
    assert (mask.to_numpy() | ~primary.to_numpy()).all(), "primary cells must stay suppressed"
    assert not (mask.to_numpy() & (values == 0)).any(), "zeros must never be suppressed"
    published = apply_mask(counts, mask)
    assert recoverable_cells(published, row_total, col_total) == []


def test_random_tables_never_leave_a_recoverable_cell():
    rng = np.random.default_rng(2024)
    n_primary = n_secondary = 0
    for _ in range(50):
        counts = random_table(rng, 6, 5)
        primary = primary_mask(counts)
        # verify=False: the independent LP audit below is the check
        mask = secondary_suppression(counts, primary, row_total=True, col_total=True, verify=False)
        check_safe(counts, mask, True, True)
        n_primary += int(primary.to_numpy().sum())
        n_secondary += int((mask.to_numpy() & ~primary.to_numpy()).sum())
    assert n_primary > 100 and n_secondary > 0  # the tables did exercise the algorithm


@pytest.mark.parametrize("row_total,col_total", [(True, False), (False, True)])
def test_random_tables_with_one_margin(row_total, col_total):
    rng = np.random.default_rng(11)
    for _ in range(6):
        counts = random_table(rng, 5, 4, row_total=row_total, col_total=col_total)
        mask = secondary_suppression(
            counts, primary_mask(counts), row_total=row_total, col_total=col_total, verify=False
        )
        check_safe(counts, mask, row_total, col_total)


def test_flow_bounds_equal_lp_bounds():
    rng = np.random.default_rng(5)
    layouts = [(True, True), (True, False), (False, True)]
    for trial in range(12):
        row_total, col_total = layouts[trial % 3]
        counts = random_table(rng, 4, 3, row_total=row_total, col_total=col_total)
        values = counts.to_numpy()
        mask = (rng.random(values.shape) < 0.4) & (values > 0)
        layout = _layout(counts, row_total, col_total)
        for known_nonzero in (True, False):
            lp = TableAuditor(values, layout, known_nonzero).intervals(mask)
            flow = FlowAuditor(values, layout, known_nonzero).intervals(mask)
            for a, b in zip(lp, flow):
                np.testing.assert_allclose(a, b, atol=1e-6)


def test_one_line_bounds_equal_linprog():
    """The closed form for unknowns that share one line is what the two LPs per cell give."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(3)
    layouts = [(True, False), (False, True), (True, True)]
    checked = 0
    for trial in range(90):
        row_total, col_total = layouts[trial % 3]
        counts = random_table(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)), row_total=row_total,
                              col_total=col_total, lam=2.0)
        values = counts.to_numpy(dtype=float)
        mask = (rng.random(values.shape) < 0.3) & (values > 0)
        layout = _layout(counts, row_total, col_total)
        rel = layout.relations
        for known_nonzero in (True, False):
            auditor = TableAuditor(values, layout, known_nonzero)
            for comp in auditor._components(np.flatnonzero(mask.ravel())):
                rows = np.flatnonzero(np.any(rel[:, comp] != 0, axis=1))
                if len(rows) != 1:
                    continue
                lower, upper = auditor._one_line(comp, int(rows[0]))
                known = np.ones(values.size, dtype=bool)
                known[comp] = False
                a_eq, b_eq = rel[np.ix_(rows, comp)], -(rel[rows][:, known] @ values.ravel()[known])
                bounds = [(auditor.lower_bound, None)] * len(comp)
                for j in range(len(comp)):
                    c = np.zeros(len(comp))
                    c[j] = 1.0
                    low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
                    high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
                    assert lower[j] == pytest.approx(low.fun)
                    assert upper[j] == (np.inf if high.status == 3 else pytest.approx(-high.fun))
                    checked += 1
    assert checked > 150


def test_audit_finds_what_two_lps_per_cell_find():
    """The audit's shortcuts (closed form for one line, cells proven safe by LP solutions in bulk)
    report the same disclosed cells as two plain LPs for every suppressed cell."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(8)
    layouts = [(True, True), (True, False), (False, True)]
    disclosed = safe = 0
    for trial in range(45):
        row_total, col_total = layouts[trial % 3]
        counts = random_table(rng, int(rng.integers(3, 9)), int(rng.integers(2, 6)), row_total=row_total,
                              col_total=col_total, lam=float(rng.choice([1.0, 2.0, 4.0])))
        values = counts.to_numpy(dtype=float)
        mask = (rng.random(values.shape) < float(rng.choice([0.2, 0.5]))) & (values > 0)
        layout = _layout(counts, row_total, col_total)
        rel = layout.relations
        found = {(c.row, c.col) for c in recoverable_cells(counts.mask(mask), row_total, col_total)}
        unknown = np.flatnonzero(mask.ravel())
        a_eq = rel[:, unknown]
        b_eq = -(rel[:, ~mask.ravel()] @ values.ravel()[~mask.ravel()])
        expected = set()
        for j, k in enumerate(unknown):
            c = np.zeros(len(unknown))
            c[j] = 1.0
            low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=[(1, None)] * len(unknown), method="highs")
            high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=[(1, None)] * len(unknown), method="highs")
            lo, hi = round(low.fun), (np.inf if high.status == 3 else round(-high.fun))
            if hi - lo < 1 or hi <= 2:
                expected.add((counts.index[k // values.shape[1]], counts.columns[k % values.shape[1]]))
        assert found == expected
        disclosed += len(expected)
        safe += len(unknown) - len(expected)
    assert disclosed > 30 and safe > 100


def _plain_suppression(counts, row_total, col_total, prune):
    """The secondary suppression written plainly: every loop round audits every suppressed cell,
    and every pruning trial audits the whole table (the reference for the incremental version)."""
    from quarterstats.disclosure.suppression import _choose_partner, _Context

    def leaky_cells(mask, rel):  # suppressed cells alone in some line, over the dense relations
        alone = rel[(rel & mask[None, :]).sum(axis=1) == 1]
        return np.flatnonzero(alone.any(axis=0) & mask)

    values = counts.to_numpy()
    layout = _layout(counts, row_total, col_total)
    ctx = _Context.build(values, layout, 3)
    mask = primary_mask(counts).to_numpy().ravel()
    position = np.arange(mask.size)
    added, audited = [], 0
    while True:
        leaky = leaky_cells(mask, ctx.rel)
        if leaky.size:
            cell = int(leaky[0])
        else:
            # a new auditor each round: nothing kept from the previous round
            disclosed = FlowAuditor(values, layout).disclosed(mask.reshape(values.shape), 3)
            if not disclosed:
                break
            audited += 1
            cell = disclosed[0][0]
        choice = _choose_partner(cell, mask, ctx.values, ctx.rel, ctx.is_total, position)
        if choice is None:  # nothing left near it: the smallest published non-zero cell
            free = np.flatnonzero(~mask & (ctx.values > 0))
            choice = int(free[np.lexsort((position[free], ctx.values[free], ctx.is_total[free]))[0]])
        mask = mask.copy()
        mask[choice] = True
        added.append(choice)
    released = 0
    if prune:
        for cell in sorted(set(added), key=lambda k: (-ctx.values[k], k)):
            trial = mask.copy()
            trial[cell] = False
            # a new auditor per trial, the whole table audited
            if not leaky_cells(trial, ctx.rel).size and not FlowAuditor(values, layout).disclosed(trial.reshape(values.shape), 3):
                mask = trial
                released += 1
    return mask.reshape(values.shape), audited, released


def test_incremental_suppression_equals_the_plain_loops():
    """Skipping cells already found safe while cells are added, keeping the bounds of disclosed
    cells whose minimum cuts no added cell crosses, and recomputing only the flows through a
    released cell while pruning, give the masks of the plain loops."""
    rng = np.random.default_rng(17)
    audited = released = 0
    shapes = [(6, 5), (12, 4), (24, 5)]
    for trial in range(15):
        n_rows, n_cols = shapes[trial % 3]
        counts = random_table(rng, n_rows, n_cols, lam=float(rng.choice([1.0, 1.5, 2.5])))
        for prune in (True, False):
            expected, hits, freed = _plain_suppression(counts, True, True, prune)
            got = secondary_suppression(counts, primary_mask(counts), row_total=True, col_total=True,
                                        prune=prune, verify=False)
            np.testing.assert_array_equal(got.to_numpy(), expected)
            audited += hits
            released += freed
    assert audited > 20 and released > 20  # the audit and the pruning were both exercised


def test_releases_refuse_a_mask_that_is_not_safe():
    counts = table({"a": [1, 5, 6], "b": [4, 4, 8], "city": [5, 9, 14]}, ["x", "y", "total"])
    mask = primary_mask(counts).to_numpy()  # one suppressed cell alone in its row: recoverable
    auditor = FlowAuditor(counts.to_numpy(), _layout(counts, True, True))
    with pytest.raises(ValueError, match="not safe"):
        auditor.releases(mask, 3)


# --- shares and rates ---------------------------------------------------------------------


def test_rates_need_min_denominator_and_publishable_numerator():
    numerators = pd.Series([1, 5, 4, 0, 7, 6], index=list("abcdef"))
    denominators = pd.Series([20, 9, 10, 15, None, 40], index=list("abcdef"))
    num_mask = primary_mask(numerators.to_frame()).iloc[:, 0]
    mask = suppress_rates(numerators, denominators, 10, num_mask)
    # a: numerator 1 suppressed; b: 9 < 10; c: 10 ok; d: 0 / 15 ok; e: no denominator; f ok
    assert mask.tolist() == [True, True, False, False, True, False]
    den_mask = pd.Series([False] * 5 + [True], index=list("abcdef"))
    assert suppress_rates(numerators, denominators, 10, num_mask, den_mask)["f"]


def test_rates_on_dataframes():
    num = table({"01": [3, 4], "02": [8, 1]}, ["x", "y"])
    den = table({"01": [30, 8], "02": [12, 50]}, ["x", "y"])
    mask = suppress_rates(num, den, min_denominator=10, num_mask=primary_mask(num))
    assert mask.to_numpy().tolist() == [[False, True], [False, True]]


# --- configuration ------------------------------------------------------------------------


def test_config_defaults_and_german_description(monkeypatch):
    monkeypatch.delenv(SALT_ENV_VAR, raising=False)
    cfg = DisclosureConfig()
    assert (cfg.method, cfg.min_count, cfg.min_denominator) == ("suppression", 3, 10)
    assert (cfg.min_population_composite, cfg.max_deviation, cfg.variance) == (300, 2, 1.0)
    assert cfg.uses_default_salt
    text = cfg.describe_de()
    assert "1 und 2" in text and "„*“" in text and "10" in text and "300" in text
    assert DEFAULT_CELLKEY_SALT not in text and DEFAULT_CELLKEY_SALT not in repr(cfg)


def test_config_reads_salt_from_environment(monkeypatch):
    monkeypatch.setenv(SALT_ENV_VAR, "s3cret")
    cfg = DisclosureConfig(method="cell_key")
    assert cfg.salt == "s3cret" and not cfg.uses_default_salt
    text = cfg.describe_de()
    assert "Cell-Key" in text and "±2" in text and "Varianz 1,0" in text
    assert "s3cret" not in text and "s3cret" not in repr(cfg)


def test_config_warns_about_default_salt_and_validates(monkeypatch):
    monkeypatch.delenv(SALT_ENV_VAR, raising=False)
    with pytest.warns(UserWarning, match=SALT_ENV_VAR):
        DisclosureConfig(method="cell_key")
    with pytest.raises(ValueError):
        DisclosureConfig(method="rounding")
    with pytest.raises(ValueError):
        DisclosureConfig(min_count=0)
    with pytest.raises(ValueError):
        DisclosureConfig(variance=0.0)
