"""Country codes, German names and origin regions (package data ``data/countries.csv``).

The project owns its country table: every current ISO 3166-1 alpha-3 code (249), the codes German
registers use beyond ISO — ``XXA`` (staatenlos), ``XXX`` (ungeklärt/unbekannt), ``XKX`` (Kosovo) — and
historical codes a register may still carry: ``SUN`` (Sowjetunion), ``YUG`` (Jugoslawien), ``CSK``
(Tschechoslowakei), ``SCG`` (Serbien und Montenegro), ``ANT`` (Niederländische Antillen) and ``DDR``.

Columns of ``countries.csv``: ``code``, ``name_de`` (short names as in the Destatis
Staatsangehörigkeitsschlüssel / the Federal Foreign Office's list of state names where known; ISO
German names for dependent territories), ``name_en``, ``region`` (the region used when the country is
not an EU member at the reference date), ``eu_from`` and ``eu_until`` (ISO dates, both inclusive; empty
when never a member / still a member).

Origin region of a code at reference date ``d`` (:func:`origin_region`), first rule that applies:

1. ``region == "germany"`` (``DEU``, ``DDR``) → ``germany``: Germany is never a foreign origin;
2. ``eu_from <= d`` and (``eu_until`` empty or ``d <= eu_until``) → ``eu`` (EU membership at the
   reference date: founding members 1958-01-01; DNK/IRL/GBR 1973; GRC 1981; ESP/PRT 1986;
   AUT/FIN/SWE 1995; the ten of 2004-05-01; BGR/ROU 2007; HRV 2013-07-01; GBR until 2020-01-31).
   EU membership takes precedence over every other region: Estonia, Latvia and Lithuania are
   ``former_soviet_union`` before 2004-05-01 and ``eu`` from then on;
3. otherwise the table's ``region``: ``other_europe``, ``former_soviet_union``, ``turkey``, ``mena``
   (UN M49 Northern Africa incl. Sudan and Western Sahara, Western Asia without Turkey, Cyprus and the
   South Caucasus, plus Iran), ``subsaharan_africa``, ``rest_of_asia``, ``americas``, ``oceania``,
   ``stateless_unknown`` (``XXA``, ``XXX``, and Antarctica, which no one is from).

Codes not in the table map to ``stateless_unknown``; missing values stay missing. Overseas territories
keep their geographic region (e.g. Réunion → ``subsaharan_africa``), Åland follows Finland.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Iterable

import pandas as pd

#: Region of codes that are not foreign origins (DEU, DDR).
GERMANY_REGION = "germany"
#: Region of EU member states at the reference date.
EU_REGION = "eu"
#: Region of stateless persons, unknown codes and codes not in the table.
UNKNOWN_REGION = "stateless_unknown"


@lru_cache(maxsize=1)
def _countries() -> pd.DataFrame:
    with resources.files("quarterstats").joinpath("data/countries.csv").open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
    for column in ("eu_from", "eu_until"):
        table[column] = pd.to_datetime(table[column].replace("", None), format="%Y-%m-%d")
    return table.set_index("code", drop=False)


@lru_cache(maxsize=1)
def _regions() -> pd.DataFrame:
    with resources.files("quarterstats").joinpath("data/origin_regions.csv").open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, dtype={"code": str, "label_de": str, "label_en": str, "order": int})
    return table.sort_values("order").set_index("code", drop=False)


def load_countries() -> pd.DataFrame:
    """The country table (a copy): code, name_de, name_en, region, eu_from, eu_until (datetimes or NaT)."""
    return _countries().reset_index(drop=True).copy()


def load_origin_regions() -> pd.DataFrame:
    """The origin-region table (a copy), sorted by ``order``: code, label_de, label_en, order."""
    return _regions().reset_index(drop=True).copy()


def _as_series(codes: object) -> tuple[pd.Series, bool]:
    if isinstance(codes, pd.Series):
        return codes, False
    if isinstance(codes, str) or codes is None:
        return pd.Series([codes], dtype=object), True
    return pd.Series(list(codes), dtype=object), False


def _unwrap(result: pd.Series, scalar: bool):
    if not scalar:
        return result
    value = result.iloc[0]
    return None if pd.isna(value) else value


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """The codes of the country table."""
    return frozenset(_countries().index)


def is_known_code(codes: pd.Series | Iterable[str] | str):
    """True where the code is in the country table (exact, upper case); False for missing values.

    Accepts a Series (returns a bool Series with the same index), any iterable (bool Series with a
    default index) or a single string (bool).
    """
    series, scalar = _as_series(codes)
    known = series.isin(_countries().index).astype(bool)
    return bool(known.iloc[0]) if scalar else known


def country_name_de(codes: pd.Series | Iterable[str] | str):
    """German short name of each code; a code not in the table is returned unchanged, missing stays missing."""
    series, scalar = _as_series(codes)
    names = series.map(_countries()["name_de"])
    names = names.where(names.notna(), series).astype("str")
    return _unwrap(names, scalar)


def _as_timestamp(reference_date: date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(reference_date).normalize()


def eu_members(reference_date: date | str | pd.Timestamp) -> frozenset[str]:
    """Codes of the EU member states at ``reference_date`` (``eu_from <= d <= eu_until``), incl. DEU."""
    table = _countries()
    d = _as_timestamp(reference_date)
    member = (table["eu_from"] <= d) & (table["eu_until"].isna() | (d <= table["eu_until"]))
    return frozenset(table.index[member.to_numpy()])


def _region_map(reference_date: date | str | pd.Timestamp) -> pd.Series:
    table = _countries()
    regions = table["region"].copy()
    is_eu = regions.index.isin(list(eu_members(reference_date))) & (regions != GERMANY_REGION).to_numpy()
    regions[is_eu] = EU_REGION
    return regions


def origin_region(codes: pd.Series, reference_date: date | str | pd.Timestamp) -> pd.Series:
    """Origin region of each country code at ``reference_date`` (rules in the module docstring).

    Vectorised: one lookup in a ~260-row mapping. Missing codes stay missing (NaN); codes not in the
    table give ``stateless_unknown``. Returns a ``str`` Series with the index of ``codes``.
    """
    series, scalar = _as_series(codes)
    mapping = _region_map(reference_date)
    regions = series.map(mapping)
    regions = regions.where(regions.notna() | series.isna(), UNKNOWN_REGION).astype("str")
    return _unwrap(regions, scalar)


def region_order(include_germany: bool = False) -> list[str]:
    """Region codes in reporting order (``germany`` only when asked: it is never a foreign origin)."""
    codes = list(_regions()["code"])
    return codes if include_germany else [c for c in codes if c != GERMANY_REGION]


def region_labels_de(include_germany: bool = False) -> dict[str, str]:
    """German labels of the origin regions in reporting order, e.g. ``{"eu": "EU-Staaten", ...}``."""
    labels = _regions()["label_de"]
    return {code: labels[code] for code in region_order(include_germany)}
