"""Tests for the cell key method: perturbation table, record and cell keys, perturbed counts."""

import hmac

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from quarterstats.disclosure import (
    cell_keys,
    perturb,
    perturbation_table,
    perturbed_table,
    record_keys,
)

PARAMS = [(2, 1.0, 0), (3, 0.7, 0), (5, 3.0, 2), (2, 2.5, 0), (4, 1.5, 1)]


# --- perturbation table -------------------------------------------------------------------


@pytest.mark.parametrize("D,V,js", PARAMS)
def test_ptable_rows_are_unbiased_distributions_with_variance_v(D, V, js):
    pt = perturbation_table(D, V, js)
    p, v = pt.probabilities, pt.values
    assert p.shape == (D + js + 2, 2 * D + 1)
    assert v.tolist() == list(range(-D, D + 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p >= 0).all()
    np.testing.assert_allclose(p @ v, 0.0, atol=1e-9)
    variances = p @ v.astype(float) ** 2
    reached = pt.variance_reached
    assert reached[1:].sum() >= 2  # at least the upper rows reach V
    np.testing.assert_allclose(variances[reached], V, atol=1e-9)
    assert reached[-1]  # the row used for all large counts always has the full support
    np.testing.assert_allclose(p[-1], p[-1][::-1], atol=1e-12)  # ... and is symmetric


@pytest.mark.parametrize("D,V,js", PARAMS)
def test_ptable_never_produces_negative_or_blocked_counts(D, V, js):
    pt = perturbation_table(D, V, js)
    i = np.arange(pt.n_rows)[:, None]
    target = i + pt.values[None, :]
    assert pt.probabilities[0].tolist() == [0.0] * D + [1.0] + [0.0] * D  # p(0|0) = 1
    assert (pt.probabilities[target < 0] == 0).all()
    assert (pt.probabilities[1:][(target[1:] >= 1) & (target[1:] <= js)] == 0).all()


def test_ptable_small_case_by_hand():
    # D = 1, V = 0.5: on {-1, 0, 1} mean 0 and variance 0.5 leave one distribution,
    # p = (1/4, 1/2, 1/4), for both i = 1 (count 0 reachable) and i >= 2.
    pt = perturbation_table(1, 0.5)
    np.testing.assert_allclose(pt.probabilities[1:], [[0.25, 0.5, 0.25]] * 2, atol=1e-12)


def test_ptable_unreachable_variance_falls_back_to_mean_zero():
    # D = 2, V = 2.5, i = 1: support {-1, 0, 1, 2}; the largest mean-zero variance is
    # 1 * 2 = 2 < 2.5, so the row keeps mean 0 and maximal entropy without the variance.
    pt = perturbation_table(2, 2.5)
    assert not pt.variance_reached[1] and pt.variance_reached[2]
    assert abs(pt.probabilities[1] @ pt.values) < 1e-9


def test_ptable_rows_have_maximum_entropy():
    pt = perturbation_table(2, 1.0)

    def entropy(p):
        p = p[p > 0]
        return -(p * np.log(p)).sum()

    for i, support in [(1, np.array([-1, 0, 1, 2])), (3, np.arange(-2, 3))]:
        ours = pt.probabilities[i][pt.probabilities[i] > 0]
        constraints = [
            {"type": "eq", "fun": lambda q: q.sum() - 1},
            {"type": "eq", "fun": lambda q, s=support: q @ s},
            {"type": "eq", "fun": lambda q, s=support: q @ s**2 - 1.0},
        ]
        start = np.full(len(support), 1 / len(support))
        res = minimize(
            lambda q: (q * np.log(q)).sum(),
            start,
            bounds=[(1e-12, 1)] * len(support),
            constraints=constraints,
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        assert res.success
        assert entropy(ours) >= entropy(res.x) - 1e-7
        np.testing.assert_allclose(ours, res.x, atol=1e-4)
    # maximum entropy under moment constraints means log p is quadratic in v (Gibbs form)
    coef = np.polyfit(pt.values, np.log(pt.probabilities[3]), 2)
    np.testing.assert_allclose(np.polyval(coef, pt.values), np.log(pt.probabilities[3]), atol=1e-9)


def test_ptable_intervals_partition_the_unit_interval():
    pt = perturbation_table(2, 1.0)
    frame = pt.to_frame()
    assert list(frame.columns) == ["i", "j", "p", "v", "p_int_lb", "p_int_ub"]
    for _, rows in frame.groupby("i"):
        assert rows["p_int_lb"].iloc[0] == 0.0 and rows["p_int_ub"].iloc[-1] == 1.0
        np.testing.assert_allclose(rows["p_int_lb"].iloc[1:], rows["p_int_ub"].iloc[:-1])
        np.testing.assert_allclose(rows["p_int_ub"] - rows["p_int_lb"], rows["p"], atol=1e-12)
    assert (frame["j"] == frame["i"] + frame["v"]).all()


def test_ptable_rejects_impossible_parameters():
    with pytest.raises(ValueError):
        perturbation_table(1, 0.5, js=2)  # i = 1 could only go down to 0: no mean-zero noise
    with pytest.raises(ValueError):
        perturbation_table(0, 1.0)
    with pytest.raises(ValueError):
        perturbation_table(2, -1.0)


# --- record keys and cell keys ------------------------------------------------------------


def test_record_keys_are_hmac_sha256_of_the_pseudonym():
    ids = pd.Series(["P001", "P002", "Ä-ü"])
    keys = record_keys(ids, "salt")
    for pid, key in zip(ids, keys):
        digest = hmac.digest(b"salt", pid.encode("utf-8"), "sha256")
        assert key == (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    assert ((keys >= 0) & (keys < 1)).all()
    long_salt = "x" * 100  # longer than the SHA-256 block: hashed first, as in RFC 2104
    expected = hmac.digest(long_salt.encode(), b"P001", "sha256")
    assert record_keys(pd.Series(["P001"]), long_salt)[0] == (
        int.from_bytes(expected[:8], "big") >> 11
    ) / 2**53


def test_record_keys_deterministic_per_id_and_salt():
    ids = pd.Series([f"P{i:06d}" for i in range(1000)])
    keys = record_keys(ids, "salt")
    assert np.array_equal(keys, record_keys(ids, "salt"))
    assert np.array_equal(keys[::-1], record_keys(ids[::-1], "salt"))  # no dependence on order
    assert not np.array_equal(keys, record_keys(ids, "other salt"))
    assert len(np.unique(keys)) == 1000
    assert 0.45 < keys.mean() < 0.55  # roughly uniform
    with pytest.raises(ValueError):
        record_keys(pd.Series(["P1", None]), "salt")
    with pytest.raises(ValueError):
        record_keys(ids, "")


def test_cell_keys_by_hand_and_order_independent():
    keys = np.array([0.25, 0.5, 0.75, 0.5])
    codes = np.array([0, 0, 1, 1])
    # group 0: 0.25 + 0.5 = 0.75; group 1: 0.75 + 0.5 = 1.25 -> 0.25; group 2 empty -> 0
    assert cell_keys(keys, codes, n_groups=3).tolist() == [0.75, 0.25, 0.0]
    rng = np.random.default_rng(1)
    many = rng.random(10_000)
    groups = rng.integers(0, 7, 10_000)
    order = rng.permutation(10_000)
    assert np.array_equal(cell_keys(many, groups), cell_keys(many[order], groups[order]))


# --- perturbation -------------------------------------------------------------------------


def test_perturb_by_hand():
    pt = perturbation_table(2, 1.0)
    # row i >= 2 (symmetric): intervals -2: [0, .0638), -1: [.0638, .3085), 0: [.3085, .6915),
    # +1: [.6915, .9362), +2: [.9362, 1)
    counts = np.array([5, 5, 5, 5, 5, 40])
    keys = np.array([0.0, 0.2, 0.5, 0.8, 0.99, 0.5])
    assert perturb(counts, keys, pt).tolist() == [3, 4, 5, 6, 7, 40]
    # row i = 1: -1 for keys below p(-1|1) = .398, i.e. a 1 may become 0
    assert perturb(np.array([1, 1]), np.array([0.1, 0.999]), pt).tolist() == [0, 3]


def test_perturb_keeps_zeros_non_negative_and_within_d():
    pt = perturbation_table(3, 1.5)
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 8, 50_000)
    keys = rng.random(50_000)
    out = perturb(counts, keys, pt)
    assert (out[counts == 0] == 0).all()
    assert (out >= 0).all()
    assert np.abs(out - counts).max() <= 3
    noise = (out - counts)[counts >= 3]  # full-support rows: mean 0, variance 1.5
    assert abs(noise.mean()) < 0.03 and abs(noise.var() - 1.5) < 0.05
    series = pd.Series([0, 4], index=["a", "b"], name="n")
    assert perturb(series, np.array([0.7, 0.5]), pt).index.tolist() == ["a", "b"]


@pytest.fixture(scope="module")
def persons():
    rng = np.random.default_rng(42)
    n = 4000
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:07d}" for i in range(n)],
            "district_id": rng.choice(["01", "02", "03", "04"], n),
            "sex": rng.choice(["m", "w"], n),
            "age": rng.integers(0, 100, n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )
    frame["keys"] = record_keys(frame["person_id"], "test-salt")
    return frame


def test_same_cell_gets_the_same_value_in_every_table(persons):
    keys = persons["keys"]
    by_district_sex = perturbed_table(keys, persons, ["district_id", "sex"]).set_index(
        ["district_id", "sex"]
    )["count"]
    by_sex_district = perturbed_table(keys, persons, ["sex", "district_id"]).set_index(
        ["district_id", "sex"]
    )["count"]
    women = persons[persons["sex"] == "w"]
    women_by_district = perturbed_table(keys, women, ["district_id"]).set_index("district_id")
    persons_age = persons.assign(all_ages=persons["age"] >= 0)
    with_constant = perturbed_table(keys, persons_age, ["district_id", "sex", "all_ages"])
    for district in ["01", "02", "03", "04"]:
        value = by_district_sex[(district, "w")]
        assert by_sex_district[(district, "w")] == value
        assert women_by_district.loc[district, "count"] == value
    assert with_constant["count"].tolist() == by_district_sex.tolist()


def test_perturbed_table_is_deterministic_and_salt_dependent(persons):
    first = perturbed_table(persons["keys"], persons, ["district_id", "sex"], keep_original=True)
    second = perturbed_table(persons["keys"], persons, ["district_id", "sex"], keep_original=True)
    pd.testing.assert_frame_equal(first, second)
    assert (first["original_count"] == persons.groupby(["district_id", "sex"]).size().values).all()
    assert (np.abs(first["count"] - first["original_count"]) <= 2).all()
    other = perturbed_table(
        record_keys(persons["person_id"], "another-salt"), persons, ["district_id", "sex", "age"]
    )
    same = perturbed_table(persons["keys"], persons, ["district_id", "sex", "age"])
    assert not other["count"].equals(same["count"])  # ~600 cells: some noise must differ
    assert "original_count" not in same.columns  # never handed out by default


def test_perturbed_table_grand_total_and_small_cells(persons):
    total = perturbed_table(persons["keys"], persons, [], keep_original=True)
    assert total["original_count"].tolist() == [len(persons)]
    assert abs(int(total["count"].iloc[0]) - len(persons)) <= 2
    fine = perturbed_table(persons["keys"], persons, ["district_id", "sex", "age"])
    assert (fine["count"] >= 0).all()
    assert fine.columns.tolist() == ["district_id", "sex", "age", "count"]


def test_perturbed_table_keeps_nulls_as_a_group():
    frame = pd.DataFrame({"d": ["02", None, "01", "02", None, "01", "01"]})
    keys = np.arange(1, 8) / 8  # exact binary fractions
    out = perturbed_table(keys, frame, ["d"], keep_original=True)
    # 01: 3/8 + 6/8 + 7/8 = 2 -> 0; 02: 1/8 + 4/8 = 5/8; null: 2/8 + 5/8 = 7/8
    assert out["original_count"].tolist() == [3, 2, 2]
    assert out["cell_key"].tolist() == [0.0, 0.625, 0.875]
    assert out["d"].isna().tolist() == [False, False, True]


def test_perturbed_table_aligns_key_series_and_checks_arrays(persons):
    shuffled = persons["keys"].sample(frac=1.0, random_state=0)  # same labels, other order
    a = perturbed_table(shuffled, persons, ["district_id"])
    b = perturbed_table(persons["keys"].to_numpy(), persons, ["district_id"])
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError):
        perturbed_table(persons["keys"].to_numpy()[:-1], persons, ["district_id"])
