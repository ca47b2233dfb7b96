"""The structure the catalogue declares holds on computed tables, for the default and for other parameters.

Every relation adds up (per district and for the city), every declared numerator/denominator id is a cell
of the computed table, every indicator's numerator and denominator columns equal the declared cells, and
every cell that declares a population counts exactly those persons.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import IndicatorParameters, build_catalogue
from quarterstats.disclosure.indicators import population_members, structure_cells
from quarterstats.indicators import compute_indicators

DAY = date(2020, 12, 31)
REGIONS = ["eu", "turkey", "mena", "former_soviet_union", "rest_of_asia"]
OTHER_PARAMS = IndicatorParameters(
    age_group_lower_bounds=(0, 3, 6, 10, 16, 18, 21, 30, 50, 60, 75), youth_age_limit=21, minor_age_limit=18,
)


def city_persons(seed: int = 11, sizes=(900, 600, 300, 60)) -> pd.DataFrame:
    """Persons over districts A–D with households of 1–5 persons, a few in institutions, all four sex
    entries, migration and immigration-history statuses, move-in dates (some unknown)."""
    rng = np.random.default_rng(seed)
    parts = []
    for district, n in zip("ABCD", sizes):
        status = rng.choice(["foreign", "german_personal_mh", "german_familial_mh", "german_no_mh"], n,
                            p=[0.18, 0.12, 0.06, 0.64])
        has_mh = status != "german_no_mh"
        region = np.where(has_mh, rng.choice(REGIONS, n, p=[0.4, 0.25, 0.2, 0.1, 0.05]), None)
        age = rng.integers(0, 95, n).astype("int16")
        size = rng.integers(1, 6, n)
        household = np.repeat(np.arange(n), size)[:n]
        household_id = pd.Series([f"H{district}{h:05d}" for h in household], dtype=object)
        household_id[rng.random(n) < 0.03] = None
        address = pd.to_datetime("2014-01-01") + pd.to_timedelta(rng.integers(0, 2555, n), "D")
        address = pd.Series(address).where(rng.random(n) > 0.02)
        city = pd.Series(address).where(rng.random(n) > 0.4)
        eg = np.where(age < 18, rng.choice(["descendant", "one_sided", "none"], n),
                      rng.choice(["immigrant", "none", "not_determinable"], n))
        parts.append(pd.DataFrame({
            "person_id": [f"{district}{i:05d}" for i in range(n)],
            "household_id": household_id,
            "age": age,
            "sex": rng.choice(["m", "w", "d", "x"], n, p=[0.49, 0.49, 0.01, 0.01]),
            "moved_in_city": city, "moved_in_address": address,
            "mother_id": None, "father_id": None,
            "district_id": district, "mh_status": status, "has_mh": has_mh,
            "bezugsland": np.where(has_mh, rng.choice(["TUR", "POL", "SYR"], n), None), "origin_region": region,
            "eg_status": eg,
        }))
    return pd.concat(parts, ignore_index=True)


def districts_frame() -> pd.DataFrame:
    return pd.DataFrame({"district_id": list("ABCD"), "name": list("ABCD"), "area_km2": [1.0, 2.0, 0.5, 0.25]})


def full_table(params: IndicatorParameters) -> tuple[pd.DataFrame, pd.DataFrame]:
    persons = city_persons()
    previous = city_persons(seed=12).sample(frac=0.9, random_state=1)
    auxiliary = pd.DataFrame({"district_id": list("ABCD"), "sgb2_recipients_under65": [80, 50, 20, 4],
                              "unemployed": [40, 30, 10, 2], "children_under15_in_sgb2": [20, 10, 5, 1]})
    table = compute_indicators(persons, districts_frame(), DAY, previous_persons=previous, auxiliary=auxiliary,
                               params=params)
    return table, persons


@pytest.fixture(scope="module", params=[IndicatorParameters(), OTHER_PARAMS], ids=["default", "other_bounds"])
def computed(request):
    params = request.param
    table, persons = full_table(params)
    catalogue = build_catalogue(params)
    return catalogue, table, persons, structure_cells(table, catalogue)


def test_every_relation_holds_per_district_and_for_the_city(computed):
    catalogue, _, _, cells = computed
    assert {r.name for r in catalogue.relations} >= {"mh_status", "origin_regions", "age_groups", "minor_age_groups"}
    for relation in catalogue.relations:
        missing = [c for c in relation.cells if c not in cells.columns]
        assert not missing, f"{relation.name}: cells {missing} are not in the computed table"
        total = cells[list(relation.parts)].sum(axis=1)
        np.testing.assert_allclose(total, cells[relation.total], err_msg=relation.name)
        assert (cells[relation.total].drop("city") > 0).all()


def test_minor_relation_follows_the_parameters(computed):
    catalogue, _, _, _ = computed
    minors = next(r for r in catalogue.relations if r.name == "minor_age_groups")
    expected = {IndicatorParameters(): ("age_00_05", "age_06_14", "age_15_17"),
                OTHER_PARAMS: ("age_00_02", "age_03_05", "age_06_09", "age_10_15", "age_16_17")}[catalogue.params]
    assert minors.parts == expected


def test_declared_ids_are_cells_and_the_columns_equal_them(computed):
    catalogue, table, _, cells = computed
    rows = table.set_index("district_id")
    present = set(table["indicator"])
    for key, ind in catalogue.items():
        for cell_id in (ind.numerator_id, ind.denominator_id, *ind.gives_back):
            if cell_id is not None:
                assert cell_id in catalogue.cells, f"{key}: {cell_id} is not a declared cell"
        if key not in present:
            continue
        own = rows[rows["indicator"] == key]
        for cell_id, column in ((ind.numerator_id, "numerator"), (ind.denominator_id, "denominator")):
            if cell_id is None or ind.kind == "count" and column == "denominator":
                continue
            assert cell_id in cells.columns, f"{key}: {column} cell {cell_id} is not in the computed table"
            shown = own[column].dropna()
            np.testing.assert_allclose(shown, cells.loc[shown.index, cell_id], err_msg=f"{key} {column}")
    shares = [k for k, ind in catalogue.items() if ind.kind == "share" and k in present]
    assert shares and all(catalogue[k].numerator_id and catalogue[k].denominator_id for k in shares)


def test_declared_populations_count_their_persons(computed):
    catalogue, _, persons, cells = computed
    checked = 0
    for key, cell in catalogue.cells.items():
        if cell.population is None or key not in cells.columns:
            continue
        member = population_members(cell.population, persons)
        by_district = pd.Series(member).groupby(persons["district_id"].to_numpy()).sum()
        expected = pd.concat([by_district, pd.Series({"city": member.sum()})])
        np.testing.assert_array_equal(cells[key].reindex(expected.index).to_numpy(), expected.to_numpy(), err_msg=key)
        checked += 1
    assert checked >= 40


def test_featured_groups_name_catalogue_indicators(computed):
    catalogue, _, _, _ = computed
    for name, ids in catalogue.groups.items():
        assert ids and set(ids) <= set(catalogue), name
    old = [i for i in catalogue.groups["time_series"] if i.startswith("age_")]
    assert old == {IndicatorParameters(): ["age_65_79_share", "age_80plus_share"],
                   OTHER_PARAMS: ["age_75plus_share"]}[catalogue.params]
