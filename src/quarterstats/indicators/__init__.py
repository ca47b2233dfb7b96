"""District indicators from the persons table: the entry point :func:`compute_indicators`.

One module per family: :mod:`.population` (population and age), :mod:`.migration`, :mod:`.households`,
:mod:`.mobility`, :mod:`.milieu` (social area analysis and typology), :mod:`.changes` (changes against
earlier dates, time series). Every indicator is defined in :mod:`quarterstats.catalogue`; the segregation
indices are computed by :mod:`quarterstats.segregation` / :mod:`quarterstats.autocorrelation`.

The long table has one row per area and indicator: district_id (districts in natural order, then the
city total "city", computed from all persons), indicator (catalogue order), value, numerator, denominator
(float64; NaN where not applicable). Districts without residents appear with 0 counts and NaN shares.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import date

import pandas as pd

from quarterstats.catalogue import IndicatorParameters, build_catalogue

from . import households, migration, milieu, mobility, population
from .changes import add_changes, sort_long, time_series
from .common import (CITY_ID, LONG_COLUMNS, DistrictCoder, PersonFrame, match_previous, natural_key,
                     sort_district_ids, to_long)
from .migration import top_countries
from .milieu import district_types, milieu_types, type_description_de, type_label_de

__all__ = [
    "CITY_ID",
    "LONG_COLUMNS",
    "REQUIRED_PERSON_COLUMNS",
    "add_changes",
    "compute_indicators",
    "district_types",
    "match_previous",
    "milieu_types",
    "natural_key",
    "sort_district_ids",
    "sort_long",
    "time_series",
    "top_countries",
    "type_description_de",
    "type_label_de",
]

#: Columns of the persons table the indicators read (common ground §3).
REQUIRED_PERSON_COLUMNS = (
    "person_id", "household_id", "age", "sex", "moved_in_city", "moved_in_address", "mother_id", "father_id",
    "district_id", "mh_status", "has_mh", "bezugsland", "origin_region", "eg_status",
)
_REQUIRED_PREVIOUS_COLUMNS = ("person_id", "district_id")


def compute_indicators(persons: pd.DataFrame, districts: pd.DataFrame, reference_date: date, *,
                       previous_persons: pd.DataFrame | None = None,
                       auxiliary: pd.DataFrame | None = None,
                       params: IndicatorParameters = IndicatorParameters(),
                       previous_match: Future | None = None) -> pd.DataFrame:
    """All non-segregation indicators of one reference date as a long table.

    Args:
        persons: the persons table of ``reference_date`` (one row per person, unique ``person_id``).
        districts: every district (columns district_id, name, area_km2), including districts without
            residents; ``area_km2`` feeds the density.
        reference_date: the Stichtag (move-in dates are compared with it).
        previous_persons: the persons table of the previous reference date; enables the flows
            (births, in/out/intra-city movers, turnover, net migration) and the turnover part of the
            stability dimension. Without it these indicators are not emitted.
        auxiliary: district figures (district_id, sgb2_recipients_under65, unemployed,
            children_under15_in_sgb2); enables sgb2_rate, unemployment_rate, child_poverty and the
            social-status dimension. Without it they are not emitted.
        params: age bounds and thresholds.
        previous_match: :func:`~quarterstats.indicators.common.match_previous` of ``persons`` and
            ``previous_persons``, when the caller started it earlier so that it runs beside other work
            (:func:`quarterstats.stages.build_indicator_tables` computes the segregation meanwhile);
            None: started here.

    Returns:
        DataFrame with columns district_id, indicator, value, numerator, denominator; every indicator id is
        in ``build_catalogue(params)``; rows ordered by district (natural order, "city" last), then
        catalogue order.
    """
    _require(persons, REQUIRED_PERSON_COLUMNS, "persons")
    if previous_persons is not None:
        _require(previous_persons, _REQUIRED_PREVIOUS_COLUMNS, "previous_persons")
    catalogue = build_catalogue(params)
    coder = DistrictCoder.from_districts(districts)
    frame = PersonFrame(persons, coder, reference_date, params)
    frame.resolve_links(previous_persons, previous_match)  # the previous date's ids: matched in a thread

    results = {}  # (the long table is in catalogue order, whatever the order here)
    results.update(population.compute(frame, population.district_areas(districts, coder.district_ids)))
    results.update(migration.compute(frame))
    results.update(households.compute(frame))
    results.update(mobility.compute_stock(frame))
    if auxiliary is not None:
        results.update(milieu.compute_social(frame, auxiliary))
    if previous_persons is not None:  # last, so the matching of the previous date's ids has had time
        results.update(mobility.compute_flows(frame, previous_persons))
    results.update(milieu.compute(results, coder.n, params))
    return to_long(results, coder, catalogue)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}")
