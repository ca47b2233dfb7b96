"""Cell key mode: every value beside perturbed counts is computed from them, so none gives a true count back."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import quarterstats.disclosure.indicators as protection
from quarterstats.catalogue import IndicatorParameters, build_catalogue
from quarterstats.disclosure import DisclosureConfig
from quarterstats.disclosure.indicators import SUPPRESSED, protect_indicators

from test_catalogue_structure import OTHER_PARAMS, districts_frame, full_table

CONFIG = DisclosureConfig(method="cell_key", salt="test-salt-not-secret", max_deviation=2, variance=1.0)
SCALE = {"%": 100.0, "je 100": 100.0, "je 1.000": 1000.0}
AREA = districts_frame().set_index("district_id")["area_km2"]


@pytest.fixture(scope="module", params=[IndicatorParameters(), OTHER_PARAMS], ids=["default", "other_bounds"])
def protected(request):
    params = request.param
    table, persons = full_table(params)
    catalogue = build_catalogue(params)
    result = protect_indicators(table, CONFIG, persons=persons, catalogue=catalogue, params=params)
    return catalogue, table, result, persons


def _wide(frame: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    return frame.pivot(index="district_id", columns="indicator", values=column)


def test_every_published_quotient_is_that_of_the_published_cells(protected):
    catalogue, _, result, _ = protected
    pub = result.published
    checked = 0
    for key, rows in pub.groupby("indicator"):
        ind = catalogue[key]
        if ind.kind not in ("share", "ratio", "rate", "mean"):
            continue
        shown = rows.dropna(subset=["value", "numerator", "denominator"]).set_index("district_id")
        if shown.empty:
            continue
        expected = SCALE.get(ind.unit, 1.0) * shown["numerator"] / shown["denominator"]
        if ind.relative_to_city:
            city = pub[pub["indicator"].isin([ind.numerator_id, ind.denominator_id]) & (pub["district_id"] == "city")]
            city = city.set_index("indicator")["value"]
            expected = expected / (city[ind.numerator_id] / city[ind.denominator_id])
        np.testing.assert_allclose(shown["value"], expected, rtol=1e-12, err_msg=key)
        checked += 1
    assert checked >= 20
    # the cells behind the ratios are the perturbed ones, the same wherever they are shown
    num, den = _wide(pub, "numerator"), _wide(pub, "denominator")
    working = catalogue["youth_ratio"].denominator_id
    np.testing.assert_array_equal(den["youth_ratio"], den["old_age_ratio"])
    np.testing.assert_array_equal(den["youth_ratio"], result.perturbed[working].reindex(den.index))
    np.testing.assert_array_equal(num["sex_ratio"], result.perturbed["men"].reindex(num.index))


def _sex_ratio_attack(published: pd.DataFrame) -> pd.DataFrame:
    """Men / women to 15 digits are a fraction p / q in lowest terms, men = k p and women = k q; the
    published (perturbed) residents, within max_deviation of men + women, give k. Also the density times
    the known area gives the residents it was computed from."""
    pub = _wide(published)
    rows = []
    for district, row in pub.iterrows():
        ratio = Fraction(row["sex_ratio"] / 100).limit_denominator(100_000)
        k = round(row["pop"] / (ratio.numerator + ratio.denominator))
        area = AREA.sum() if district == "city" else AREA[district]
        rows.append((district, k * ratio.numerator, k * ratio.denominator, round(row["density"] * area)))
    return pd.DataFrame(rows, columns=["district_id", "men", "women", "pop"]).set_index("district_id")


def test_no_true_count_comes_back_from_a_ratio_and_a_perturbed_count(protected, monkeypatch):
    catalogue, table, result, persons = protected
    perturbed = result.perturbed
    true = _wide(table)
    true_men = _wide(table, "numerator")["sex_ratio"]
    attack = _sex_ratio_attack(result.published)
    # what the attack finds is the perturbed cells, never more
    np.testing.assert_array_equal(attack["pop"], perturbed["pop"].reindex(attack.index))
    assert (attack["men"] + attack["women"] - perturbed["pop"].reindex(attack.index)).abs().max() <= 2 * CONFIG.max_deviation
    noisy = perturbed["pop"] != true["pop"].reindex(perturbed.index)
    assert noisy.any(), "the perturbation must change some residents for the test to mean anything"
    assert (attack.loc[noisy, "pop"] != true.loc[noisy[noisy].index, "pop"]).all()
    # turnover and net migration would need the true residents of two dates: suppressed where given
    flows = result.published[result.published["indicator"].isin(["turnover", "net_migration"])]
    assert (flows["flag"] == SUPPRESSED).all() and flows["value"].isna().all()
    # with the true values beside the perturbed counts (the rule left out) the attack gives the truth
    monkeypatch.setattr(protection, "_from_published_cells",
                        lambda ind, rows, num, den, *rest: (rows["value"].to_numpy(dtype=float), num, den, False,
                                                            np.zeros(len(rows), dtype=bool)))
    leaky = protect_indicators(table, CONFIG, persons=persons, catalogue=catalogue, params=catalogue.params)
    leaked = _sex_ratio_attack(leaky.published)
    np.testing.assert_array_equal(leaked["pop"], true["pop"].reindex(leaked.index))
    recovered_men = leaked.loc[noisy[noisy].index, "men"]
    assert (recovered_men == true_men.reindex(recovered_men.index)).all()

