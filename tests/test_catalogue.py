"""The indicator catalogue: completeness, consistency of each entry, parameters, the definitions table."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from quarterstats.catalogue import (
    CATALOGUE,
    CATALOGUE_VERSION,
    FAMILIES,
    KINDS,
    ORIGIN_REGIONS,
    Indicator,
    IndicatorParameters,
    age_group_id,
    age_group_label_de,
    age_groups,
    build_catalogue,
    catalogue_table,
)

UNITS = {"Personen", "Haushalte", "%", "je 100", "je 1.000", "Jahre", "Einw./km²", "Personen je Haushalt",
         "Index", "z-Wert", "Typ", "Kennzeichen", "Klasse"}

PIPELINE_MIGRATION_IDS = [
    "pop", "foreign", "german_personal_mh", "german_familial_mh", "with_mh", "with_mh_minors", "eg_immigrant",
    "eg_descendant_minors", "eg_one_sided_minors", "eg_not_determinable",
]
SEGREGATION_IDS = [
    "seg_dissimilarity", "seg_isolation", "seg_exposure", "seg_theil", "seg_multigroup_theil",
    "seg_multigroup_dissimilarity", "seg_gini", "moran_i",
    "location_quotient_foreign", "lisa_class_with_mh", "location_quotient_region_turkey", "lisa_class_region_eu",
]


def test_version_is_a_string():
    assert isinstance(CATALOGUE_VERSION, str) and re.fullmatch(r"\d+\.\d+\.\d+", CATALOGUE_VERSION)


def test_keys_are_ids_and_snake_case():
    for key, ind in CATALOGUE.items():
        assert key == ind.id
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", key), key


@pytest.mark.parametrize("ind", list(CATALOGUE.values()), ids=list(CATALOGUE))
def test_entry_is_complete_and_consistent(ind: Indicator):
    assert ind.family in FAMILIES and ind.kind in KINDS
    assert ind.unit in UNITS, ind.unit
    for text in (ind.label_de, ind.label_en, ind.numerator, ind.formula, ind.definition_de, ind.definition_en,
                 ind.source):
        assert text.strip(), ind.id
    assert ind.definition_de.endswith(".") and ind.definition_en.endswith(".")
    if ind.kind == "share":
        assert ind.unit == "%" and ind.denominator and ind.min_denominator
    if ind.kind == "count":
        assert ind.denominator is None and ind.min_denominator is None
        assert ind.unit in {"Personen", "Haushalte"}
    if ind.kind in ("ratio", "rate") and ind.family != "segregation":
        assert ind.denominator, ind.id
    if ind.kind == "class":
        assert not ind.comparable_over_time


def test_counts_have_share_versions_with_the_same_numerator():
    for key, ind in CATALOGUE.items():
        if key.endswith("_share") and key[: -len("_share")] in CATALOGUE:
            count = CATALOGUE[key[: -len("_share")]]
            assert count.kind == "count" and ind.numerator == count.numerator


def test_ids_the_pipeline_expects():
    for key in PIPELINE_MIGRATION_IDS:
        assert key in CATALOGUE
        if key != "pop":
            assert f"{key}_share" in CATALOGUE
    for code, _, _ in ORIGIN_REGIONS:
        assert f"origin_region_{code}" in CATALOGUE and f"origin_region_{code}_share" in CATALOGUE
    for rank in range(1, 6):
        assert f"top_country_{rank}" in CATALOGUE
    for key in SEGREGATION_IDS:
        assert CATALOGUE[key].family == "segregation"
    for key in ("density", "mean_age", "youth_ratio", "old_age_ratio", "sex_ratio", "origin_diversity_shannon",
                "origin_diversity_simpson", "households", "household_size_mean", "residence_5y", "turnover",
                "net_migration", "sgb2_rate", "unemployment_rate", "child_poverty", "milieu_type"):
        assert key in CATALOGUE


def test_families_in_report_order():
    order = [ind.family for ind in CATALOGUE.values()]
    assert order == sorted(order, key=FAMILIES.index)


def test_origin_regions_match_the_country_table():
    countries = pytest.importorskip("quarterstats.countries")
    if not hasattr(countries, "region_labels_de"):
        pytest.skip("quarterstats.countries has no region_labels_de")
    assert countries.region_labels_de() == {code: label for code, label, _ in ORIGIN_REGIONS}


def test_default_age_groups():
    groups = age_groups(IndicatorParameters())
    assert groups == [(0, 6), (6, 15), (15, 18), (18, 25), (25, 45), (45, 65), (65, 80), (80, None)]
    assert [age_group_id(lo, hi) for lo, hi in groups] == [
        "age_00_05", "age_06_14", "age_15_17", "age_18_24", "age_25_44", "age_45_64", "age_65_79", "age_80plus"]
    assert age_group_label_de(0, 6) == "unter 6 Jahren"
    assert age_group_label_de(6, 15) == "6 bis unter 15 Jahren"
    assert age_group_label_de(80, None) == "ab 80 Jahren"


def test_parameters_shape_the_catalogue():
    params = IndicatorParameters(young_adult_ages=(18, 26), top_countries_n=3, residence_years=10)
    cat = build_catalogue(params)
    assert "top_country_3" in cat and "top_country_4" not in cat
    assert "18 bis 26" in cat["young_adults"].label_de
    assert "10 Jahre" in cat["residence_5y"].label_de  # the id is stable, the label follows the parameter
    assert set(CATALOGUE) - set(cat) == {"top_country_4", "top_country_5"}


@pytest.mark.parametrize("kwargs", [
    dict(age_group_lower_bounds=(5, 10)),
    dict(age_group_lower_bounds=(0, 10, 10)),
    dict(youth_age_limit=70),
    dict(young_adult_ages=(30, 18)),
    dict(residence_years=0),
    dict(top_countries_n=0),
    dict(typology_threshold_sd=-1),
    dict(typology_types=(1, 8)),
    dict(typology_types=(6, 4)),
    dict(typology_min_explained=1.0),
    dict(status_very_low_sd=0.5),
    dict(dynamics_threshold_sd=-0.1),
])
def test_invalid_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        IndicatorParameters(**kwargs)


def test_dataclasses_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE["pop"].label_de = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        IndicatorParameters().seed = 1


def test_indicator_rejects_unknown_family_or_kind():
    base = dataclasses.asdict(CATALOGUE["pop"])
    with pytest.raises(ValueError, match="family"):
        Indicator(**{**base, "family": "weather"})
    with pytest.raises(ValueError, match="kind"):
        Indicator(**{**base, "kind": "guess"})


def test_catalogue_table():
    table = catalogue_table()
    assert len(table) == len(CATALOGUE)
    assert table["id"].tolist() == list(CATALOGUE)
    for col in ("id", "label_de", "label_en", "unit", "family", "numerator", "denominator", "formula",
                "min_denominator", "definition_de", "definition_en", "source", "kind", "change_unit"):
        assert col in table.columns
    share = table.set_index("id").loc["foreign_share"]
    assert share["change_unit"] == "Prozentpunkte" and share["min_denominator"] == 10
    assert table.set_index("id").loc["pop", "min_denominator"] is pd.NA
