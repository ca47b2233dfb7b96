"""The register rule against the synthetic generator's truth (issue: measurable undercount)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from quarterstats.boundaries import load_boundaries
from quarterstats.ingest import ingest_register
from quarterstats.migration import MigrationParameters, derive_migration, recovery_report
from quarterstats.spatial import join_persons
from quarterstats.synth import generate

DATES = [date(2016, 12, 31), date(2017, 12, 31)]


def _derive(raw, day, params):
    accepted = ingest_register(raw / "register" / f"{day}.parquet").accepted
    districts, _ = load_boundaries(raw / "boundaries" / "districts.gpkg")
    joined, outside, _ = join_persons(accepted, districts)
    assert len(outside) == 0
    derived = derive_migration(joined, day, params)
    return pd.concat([joined, derived], axis=1), accepted, pd.read_parquet(raw / "synthetic_truth" / f"{day}.parquet")


@pytest.fixture(scope="module")
def complete_register(tmp_path_factory):
    raw = tmp_path_factory.mktemp("complete") / "raw"
    generate(raw, persons=6_000, seed=7, reference_dates=DATES, register_gaps=False)
    return raw


@pytest.fixture(scope="module")
def gappy_register(tmp_path_factory):
    raw = tmp_path_factory.mktemp("gaps") / "raw"
    generate(raw, persons=6_000, seed=7, reference_dates=DATES, register_gaps=True)
    return raw


@pytest.mark.parametrize("day", DATES)
def test_complete_register_recovers_the_truth_exactly(complete_register, day):
    params = MigrationParameters(parent_same_household=False)
    persons, _, truth = _derive(complete_register, day, params)
    merged = persons.merge(truth, on="person_id", validate="one_to_one")
    assert len(merged) == len(truth) == len(persons)
    assert (merged["mh_status"] == merged["true_mh_status"]).all()
    assert (merged["has_mh"] == merged["true_has_mh"]).all()
    with_mh = merged[merged["has_mh"]]
    assert (with_mh["bezugsland"] == with_mh["true_bezugsland"]).all()


def test_register_gaps_cause_a_measured_undercount(gappy_register):
    day = DATES[1]
    params = MigrationParameters()
    persons, register, truth = _derive(gappy_register, day, params)
    report = recovery_report(persons, register, truth, params)
    mh = report[report["concept"] == "mh_status"].set_index("category")
    reasons = [c for c in report.columns if c.startswith("missed_")]
    # every miss has exactly one reason and the counts add up
    assert (mh["missed"] == mh[reasons].sum(axis=1)).all()
    assert (mh["recovered"] + mh["missed"] == mh["n_truth"]).all()
    # foreign nationals are read directly from the nationality: nothing to miss
    assert mh.loc["foreign", "recovered_share"] == 1.0
    # gaps make the register miss persons with personal and familial MH ...
    assert mh.loc["german_personal_mh", "missed"] > 0
    assert mh.loc["german_personal_mh", "missed_birth_country_gap"] + mh.loc["german_personal_mh", "missed_acquisition_gap"] > 0
    assert mh.loc["german_familial_mh", "missed"] > 0
    # ... so the register share with MH is below the truth, as municipal statisticians expect
    assert persons["has_mh"].mean() < truth["true_has_mh"].mean()
    eg = report[report["concept"] == "eg_status"].set_index("category")
    assert eg.loc["descendant", "missed"] > 0  # adults' parents are unknown to the register
