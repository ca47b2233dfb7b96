"""Parameters of the synthetic Kaiserslautern-like register (one place for every number).

The district figures (names, codes, anchors, published areas and populations) come from
``src/quarterstats/data/synthetic_districts.csv``, itself taken from
``shared/data/kaiserslautern/districts.csv`` (Stadt Kaiserslautern); the areas of districts 01–09 and
their split of the Kernstadt population (78,501 on 2016-12-31) are plausible choices, not published
figures. All other numbers below are synthetic assumptions chosen to land near the published city-wide
anchors of the spec (about 17 % foreign nationals and 36 % with migration background in 2017/2018,
Syria then Ukraine the largest foreign groups in 2023, Kaiserslautern-West about 22 % foreign in 2023,
~9 births and ~11 deaths per 1,000, 6–8 % moving in and out and 8–10 % moving within per year).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

#: Reference dates of the embedded default: every 31 December from 2016 to 2024.
DEFAULT_REFERENCE_DATES: tuple[date, ...] = tuple(date(year, 12, 31) for year in range(2016, 2025))
DEFAULT_SEED = 20161231
DEFAULT_PERSONS = 100_000
CRS = "EPSG:25832"


@lru_cache(maxsize=1)
def districts() -> pd.DataFrame:
    """The 18 synthetic districts (package data): id, name, part, ortsbezirk, anchor, area target,
    population on 2016-12-31, settlement spread (``density_sigma_m``) and households per building."""
    with resources.files("quarterstats").joinpath("data/synthetic_districts.csv").open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, dtype={"district_id": str, "name": str, "part": str, "ortsbezirk": str})
    return table


# ---------------------------------------------------------------------------------------------------
# Vocabularies (codes written to the files)
# ---------------------------------------------------------------------------------------------------
SEXES = ("m", "w", "d", "x")
MALE, FEMALE, DIVERSE, NO_ENTRY = 0, 1, 2, 3
ACQUISITIONS = ("birth", "naturalisation", "option", "resettler", "adoption", "declaration", "unknown")
ACQ = {name: i for i, name in enumerate(ACQUISITIONS)}
MARITAL = ("ledig", "verheiratet", "verwitwet", "geschieden", "lebenspartnerschaft", "unbekannt")
MAR = {name: i for i, name in enumerate(MARITAL)}

#: Origin groups (the generator's labels written to ``origin_group`` of the truth).
GROUPS = (
    "german", "expellee", "guest_worker", "resettler", "eu_mobility", "refugee_2015", "asylum",
    "ukraine_2022", "student", "other_foreign",
)
GRP = {name: i for i, name in enumerate(GROUPS)}

# Country distributions by origin group (relative weights; ISO 3166-1 alpha-3, XKX = Kosovo).
GUEST_WORKER_COUNTRIES = {
    "TUR": 44, "ITA": 15, "GRC": 9, "ESP": 3, "PRT": 4, "HRV": 7, "SRB": 6, "BIH": 6, "MKD": 3, "XKX": 5,
}
RESETTLER_COUNTRIES = {"KAZ": 40, "RUS": 30, "UKR": 5, "KGZ": 7, "POL": 10, "ROU": 8}
EU_MOBILITY_COUNTRIES = {
    "POL": 18, "ROU": 22, "BGR": 20, "HUN": 6, "ITA": 5, "GRC": 4, "HRV": 5, "ESP": 3, "FRA": 3, "SVK": 2,
    "CZE": 2, "LTU": 1, "LVA": 1, "PRT": 2, "NLD": 1, "AUT": 1, "SVN": 0.5, "EST": 0.3, "IRL": 0.3,
    "BEL": 0.5, "LUX": 0.2, "DNK": 0.3, "SWE": 0.4, "FIN": 0.3, "CYP": 0.2, "MLT": 0.1,
}
REFUGEE_2015_COUNTRIES = {"SYR": 58, "AFG": 12, "IRQ": 12, "ERI": 7, "IRN": 5, "SOM": 3, "NGA": 3}
ASYLUM_COUNTRIES = {
    "SYR": 44, "AFG": 20, "TUR": 15, "IRQ": 9, "IRN": 5, "GEO": 3, "SOM": 3, "ERI": 3, "NGA": 2, "RUS": 2,
    "COL": 1, "VEN": 1, "YEM": 1,
}
UKRAINE_COUNTRIES = {"UKR": 1.0}
STUDENT_COUNTRIES = {
    "IND": 20, "CHN": 14, "CMR": 7, "TUN": 6, "MAR": 6, "PAK": 6, "EGY": 5, "IRN": 5, "IDN": 4, "VNM": 3,
    "BGD": 4, "NPL": 3, "JOR": 2, "COL": 2, "MEX": 2, "BRA": 2, "TUR": 2, "KOR": 2, "GHA": 1.5, "ETH": 1,
    "NGA": 1.5, "SYR": 2, "LBN": 1.5, "DZA": 1, "LKA": 1, "ECU": 0.5, "PER": 0.5, "TWN": 1, "THA": 1,
    "MYS": 1, "KEN": 1, "GEO": 1, "AZE": 0.5, "SEN": 0.5, "CIV": 0.5, "BEN": 0.3, "TGO": 0.3, "SDN": 0.5,
    "JPN": 0.5, "CHL": 0.4, "ARG": 0.4, "BOL": 0.3, "UZB": 0.4, "MNG": 0.3, "KGZ": 0.2, "PHL": 0.5,
}
OTHER_FOREIGN_COUNTRIES = {
    "USA": 10, "GBR": 4, "NLD": 2, "FRA": 4, "AUT": 3, "CHE": 1, "BEL": 1, "VNM": 4, "THA": 4, "PHL": 3,
    "BRA": 3, "RUS": 6, "UKR": 4, "KAZ": 2, "CHN": 2, "JPN": 1, "IND": 2, "LBN": 2, "MAR": 2, "TUN": 2,
    "DZA": 1, "EGY": 1, "GHA": 2, "CMR": 1, "TGO": 1, "KEN": 1, "ETH": 1, "ALB": 2, "MDA": 1, "GEO": 1,
    "ARM": 1, "AZE": 0.8, "BLR": 1, "LKA": 1, "PAK": 1, "BGD": 0.5, "IRN": 1, "JOR": 0.5, "PER": 0.5,
    "COL": 0.8, "MEX": 0.8, "ARG": 0.5, "CHL": 0.4, "CUB": 0.6, "DOM": 0.8, "CAN": 1, "AUS": 0.5,
    "NZL": 0.2, "ZAF": 0.5, "KOR": 0.8, "IDN": 0.6, "MYS": 0.3, "SGP": 0.1, "NPL": 0.3, "MNG": 0.3,
    "ISR": 0.4, "SWE": 0.4, "DNK": 0.3, "FIN": 0.3, "NOR": 0.2, "IRL": 0.3, "LUX": 0.2, "SVN": 0.3,
    "EST": 0.2, "ISL": 0.1, "MLT": 0.1, "CYP": 0.1, "MNE": 0.5, "SRB": 1, "BIH": 1, "MKD": 0.8,
    "XKX": 1, "HRV": 1, "TUR": 3, "ITA": 1.5, "ESP": 1, "PRT": 0.8, "GRC": 0.8, "POL": 2, "ROU": 1,
    "BGR": 0.8, "HUN": 0.6, "CZE": 0.5, "SVK": 0.4, "LTU": 0.3, "LVA": 0.3, "UZB": 0.5, "TKM": 0.2,
    "TJK": 0.2, "KGZ": 0.3, "AFG": 0.8, "IRQ": 0.8, "SYR": 0.8, "YEM": 0.2, "SAU": 0.1, "ARE": 0.1,
    "SDN": 0.3, "SEN": 0.4, "CIV": 0.3, "GIN": 0.3, "SLE": 0.2, "LBR": 0.2, "MLI": 0.2, "BFA": 0.2,
    "NER": 0.1, "COD": 0.3, "COG": 0.2, "AGO": 0.3, "MOZ": 0.1, "TZA": 0.2, "UGA": 0.2, "RWA": 0.1,
    "ZWE": 0.1, "NAM": 0.2, "MDG": 0.1, "MUS": 0.1, "BOL": 0.2, "ECU": 0.3, "VEN": 0.4, "PRY": 0.1,
    "URY": 0.1, "GTM": 0.1, "HND": 0.1, "NIC": 0.1, "CRI": 0.1, "PAN": 0.1, "JAM": 0.1, "HTI": 0.1,
    "TTO": 0.1, "LAO": 0.1, "KHM": 0.2, "MMR": 0.1, "TWN": 0.3, "HKG": 0.1, "PRK": 0.05, "FJI": 0.05,
}
#: Countries of the foreign partners of German natives (mixed couples).
MIXED_PARTNER_COUNTRIES = {
    "POL": 10, "RUS": 8, "TUR": 8, "THA": 6, "PHL": 4, "USA": 8, "ITA": 5, "FRA": 4, "GBR": 4, "UKR": 5,
    "KAZ": 4, "ROU": 4, "BRA": 4, "VNM": 2, "NLD": 3, "AUT": 3, "ESP": 2, "GRC": 2, "HRV": 2, "SRB": 2,
    "DOM": 2, "CUB": 1, "KEN": 1, "MAR": 2, "TUN": 2, "CHN": 2, "IND": 2, "HUN": 1, "CZE": 1, "BGR": 1,
}
#: Birth countries of Germans by descent born abroad (military and business families, returnees).
GERMAN_ABROAD_BIRTH_COUNTRIES = {
    "USA": 20, "AUT": 10, "CHE": 10, "FRA": 8, "GBR": 6, "NLD": 5, "BEL": 5, "ITA": 4, "ESP": 5, "CAN": 4,
    "BRA": 3, "ZAF": 2, "ARG": 2, "AUS": 2, "TUR": 3, "NAM": 2, "CHL": 1, "LUX": 2, "SWE": 1, "DNK": 1,
}
#: Birth countries of WWII expellees (former German territories, German minorities).
EXPELLEE_BIRTH_COUNTRIES = {"POL": 55, "CZE": 18, "RUS": 10, "ROU": 5, "HUN": 4, "SRB": 3, "SVK": 3, "HRV": 2}
#: Birth countries of children adopted from abroad.
ADOPTION_BIRTH_COUNTRIES = {
    "COL": 15, "ETH": 15, "RUS": 15, "IND": 10, "BRA": 10, "KOR": 5, "HTI": 5, "ROU": 10, "BGR": 5,
    "THA": 5, "VNM": 5,
}

#: EU member states (and the EFTA state CHE), whose nationals keep their nationality on naturalisation.
EU_CODES = frozenset(
    "AUT BEL BGR CYP CZE DNK EST FIN FRA GRC HRV HUN IRL ITA LTU LUX LVA MLT NLD POL PRT ROU SVK SVN ESP "
    "SWE GBR CHE".split()
)
#: States that do not release their nationals (multiple nationality kept on naturalisation).
NO_RELEASE_CODES = frozenset("SYR AFG ERI IRN MAR TUN DZA LBN IRQ ARG BRA MEX CUB YEM SOM NGA".split())

# ---------------------------------------------------------------------------------------------------
# Base population (first reference date): persons per allocation unit, % of the city
# ---------------------------------------------------------------------------------------------------
#: Allocation units of the base population and their share of all persons (sums to 100).
BASE_UNITS = {
    "german": 58.9,
    "german_flatshare": 2.0,
    "expellee": 2.4,
    "guest_worker_1": 2.2,
    "guest_worker_2": 7.6,
    "resettler": 14.2,
    "eu_mobility": 3.2,
    "refugee_2015": 2.6,
    "refugee_2015_institution": 0.9,
    "student": 1.4,
    "other_foreign": 4.6,
}

#: Relative propensity of each unit for each district (01..18), before fitting to the district
#: populations (iterative proportional fitting keeps the pattern and matches the margins).
_INNER = {"german": 0.8, "german_flatshare": 1.5, "expellee": 0.8, "guest_worker": 2.0, "resettler": 0.9,
          "eu_mobility": 2.3, "refugee": 2.2, "student": 1.0, "other_foreign": 1.6}
_OUTER = {"german": 1.3, "german_flatshare": 0.15, "expellee": 1.2, "guest_worker": 0.22, "resettler": 0.45,
          "eu_mobility": 0.22, "refugee": 0.12, "student": 0.03, "other_foreign": 0.35}
DISTRICT_PROPENSITY: dict[str, dict[str, float]] = {
    "01": _INNER,
    "02": {**_INNER, "guest_worker": 1.9, "student": 1.4},
    "03": {**_INNER, "guest_worker": 2.2, "refugee": 2.4, "student": 0.8},
    "04": {"german": 0.95, "german_flatshare": 1.0, "expellee": 1.0, "guest_worker": 1.3, "resettler": 0.9,
           "eu_mobility": 1.3, "refugee": 1.1, "student": 0.6, "other_foreign": 1.2},
    "05": {"german": 1.0, "german_flatshare": 0.6, "expellee": 1.2, "guest_worker": 1.0, "resettler": 1.3,
           "eu_mobility": 1.0, "refugee": 0.8, "student": 0.3, "other_foreign": 1.0},
    "06": {"german": 1.0, "german_flatshare": 0.8, "expellee": 1.1, "guest_worker": 1.1, "resettler": 1.1,
           "eu_mobility": 1.0, "refugee": 0.8, "student": 0.5, "other_foreign": 1.0},
    "07": {"german": 0.75, "german_flatshare": 9.0, "expellee": 0.8, "guest_worker": 0.7, "resettler": 0.8,
           "eu_mobility": 0.8, "refugee": 0.8, "student": 9.0, "other_foreign": 1.2},
    "08": {"german": 0.85, "german_flatshare": 0.5, "expellee": 1.0, "guest_worker": 1.0, "resettler": 2.6,
           "eu_mobility": 0.8, "refugee": 0.8, "student": 0.3, "other_foreign": 0.7},
    "09": {"german": 0.85, "german_flatshare": 0.4, "expellee": 0.9, "guest_worker": 1.5, "resettler": 2.2,
           "eu_mobility": 1.3, "refugee": 1.4, "student": 0.3, "other_foreign": 1.0},
    "10": {**_OUTER, "resettler": 0.9},
    "11": {**_OUTER, "other_foreign": 0.8, "refugee": 0.5},
    "12": _OUTER,
    "13": _OUTER,
    "14": {**_OUTER, "guest_worker": 0.12, "eu_mobility": 0.12},
    "15": _OUTER,
    "16": {**_OUTER, "resettler": 0.6},
    "17": {**_OUTER, "eu_mobility": 0.35},
    "18": _OUTER,
}
#: Which propensity column each allocation unit uses.
UNIT_PROPENSITY_KEY = {
    "german": "german", "german_flatshare": "german_flatshare", "expellee": "expellee",
    "guest_worker_1": "guest_worker", "guest_worker_2": "guest_worker", "resettler": "resettler",
    "eu_mobility": "eu_mobility", "refugee_2015": "refugee", "refugee_2015_institution": "refugee",
    "asylum": "refugee", "ukraine_2022": "refugee", "student": "student", "other_foreign": "other_foreign",
    "german_domestic": "german", "mh_domestic": "guest_worker",
}

#: Districts with refugee accommodation (institutions, no household) and with care homes.
REFUGEE_ACCOMMODATION_DISTRICTS = ("09", "03", "01", "11", "05")
CARE_HOME_DISTRICTS = ("01", "03", "04", "05", "06", "08", "09", "12", "16", "18")

# ---------------------------------------------------------------------------------------------------
# Yearly dynamics (per 100,000 inhabitants; scaled with the population)
# ---------------------------------------------------------------------------------------------------
#: New persons moving in per year and unit (abroad or from other German municipalities).
INFLOWS_PER_100K: dict[str, dict[int, float]] = {
    "german_domestic": {y: 2700.0 for y in range(2000, 2100)},
    "german_flatshare": {y: 450.0 for y in range(2000, 2100)},
    "mh_domestic": {y: 750.0 for y in range(2000, 2100)},
    "eu_mobility": {2017: 640, 2018: 660, 2019: 680, 2020: 520, 2021: 600, 2022: 640, 2023: 680, 2024: 660},
    "student": {2017: 460, 2018: 460, 2019: 460, 2020: 280, 2021: 360, 2022: 450, 2023: 460, 2024: 460},
    "refugee_2015": {2015: 2200, 2016: 900, 2017: 450},
    "asylum": {2018: 330, 2019: 300, 2020: 180, 2021: 280, 2022: 400, 2023: 520, 2024: 400},
    "ukraine_2022": {2022: 1700, 2023: 330, 2024: 200},
    "other_foreign": {y: 420.0 for y in range(2000, 2100)},
}
#: Fallback yearly inflow for years outside a unit's table (0: none).
INFLOW_DEFAULT = {"eu_mobility": 600, "student": 460, "asylum": 300}

#: Yearly probability that a whole household leaves the city, by group (household's first member).
OUT_MIGRATION = {
    "german": None,  # by age of the oldest member, see OUT_MIGRATION_GERMAN_BY_AGE
    "expellee": 0.008, "guest_worker": 0.04, "resettler": 0.035, "eu_mobility": 0.13, "refugee_2015": 0.04,
    "asylum": 0.06, "ukraine_2022": 0.11, "student": 0.28, "other_foreign": 0.09,
}
OUT_MIGRATION_GERMAN_BY_AGE = ((0, 25, 0.18), (25, 30, 0.14), (30, 45, 0.078), (45, 65, 0.032), (65, 200, 0.013))
#: Yearly probability that a household moves to another address in the city, and the share of those
#: moves that stay in the district.
WITHIN_MOVE = 0.072
WITHIN_MOVE_YOUNG = 0.14  # households whose oldest member is under 35
WITHIN_MOVE_OLD = 0.035  # households whose oldest member is 70 or older
WITHIN_SAME_DISTRICT = 0.55
#: Young adults (18–29) living with a parent: yearly probability of leaving the parental household,
#: and the share of leavers who leave the city.
LEAVE_PARENTS = ((18, 21, 0.08), (21, 25, 0.17), (25, 30, 0.2))
LEAVE_PARENTS_OUT_SHARE = 0.45
#: Couples with minor children: yearly probability of separating (the father moves out).
SEPARATION = 0.012
SEPARATION_FATHER_LEAVES_CITY = 0.3
#: Refugees in accommodation: yearly probability of moving into a flat of their own.
ACCOMMODATION_EXIT = 0.45
#: Persons 80+ living alone: yearly probability of moving into a care home.
CARE_HOME_ENTRY = 0.035

#: Mortality: Gompertz q(age) = exp(a + b·age) per year (men; women × factor), capped.
MORTALITY_A, MORTALITY_B, MORTALITY_FEMALE_FACTOR, MORTALITY_INFANT = -9.9, 0.088, 0.6, 0.003
#: Fertility: age-specific rates follow a normal curve (mean, sd) scaled to a total fertility rate;
#: women living with a partner × FERTILITY_PARTNERED, others × FERTILITY_ALONE.
FERTILITY_MEAN_AGE, FERTILITY_SD = 31.0, 5.5
FERTILITY_PARTNERED, FERTILITY_ALONE = 1.35, 0.35
TFR_BY_GROUP = {
    "german": 1.42, "expellee": 1.42, "guest_worker": 1.7, "resettler": 1.7, "eu_mobility": 1.7,
    "refugee_2015": 2.5, "asylum": 2.3, "ukraine_2022": 0.85, "student": 0.4, "other_foreign": 1.6,
}
#: Naturalisations per year among eligible foreigners (8 years of residence or born in Germany).
NATURALISATION_RATE = {
    "guest_worker": 0.017, "resettler": 0.05, "eu_mobility": 0.006, "other_foreign": 0.022,
    "refugee_2015": 0.02, "asylum": 0.02, "ukraine_2022": 0.01, "student": 0.01, "german": 0.02,
    "expellee": 0.02,
}
#: Syrian (and other 2015) refugees: rising naturalisations from 2021 (6 years with integration).
REFUGEE_NATURALISATION_BY_YEAR = {2021: 0.03, 2022: 0.05, 2023: 0.07, 2024: 0.09}
#: From 27 June 2024 (StAG reform) multiple nationality is accepted generally.
DUAL_NATIONALITY_REFORM = date(2024, 6, 27)

# ---------------------------------------------------------------------------------------------------
# Register gaps (only with register_gaps=True)
# ---------------------------------------------------------------------------------------------------
GAP_BIRTH_COUNTRY_BASE = 0.05
GAP_BIRTH_COUNTRY_OLD = 0.15  # added for persons 65+ at creation
GAP_BIRTH_COUNTRY_LONG_RESIDENT = 0.08  # added for persons in the city since before 1995 (or birth, 40+)
GAP_BIRTH_COUNTRY_NEW = 0.05  # new arrivals during the simulation
GAP_BIRTH_COUNTRY_NEWBORN = 0.01
GAP_ACQUISITION_DOMESTIC = 0.38  # Germans who moved in from another German municipality
GAP_ACQUISITION_OTHER = 0.10
GAP_ACQUISITION_NEWBORN = 0.02
GAP_PARENT_LINK = 0.04  # per parent, minors

#: Handful of persons with sex "d" (divers) and "x" (no entry), per person.
SEX_DIVERSE_RATE, SEX_NO_ENTRY_RATE = 5e-5, 1e-4

# ---------------------------------------------------------------------------------------------------
# Auxiliary district aggregates (SGB II, unemployment)
# ---------------------------------------------------------------------------------------------------
#: Relative risk of receiving SGB II / of unemployment by group (scaled to the city-wide targets).
SGB2_RISK = {
    "german": 1.0, "expellee": 0.6, "guest_worker": 2.0, "resettler": 1.6, "eu_mobility": 2.3,
    "refugee_2015": 7.0, "asylum": 5.0, "ukraine_2022": 8.0, "student": 0.3, "other_foreign": 1.9,
}
SGB2_RATE_UNDER65 = 0.12
UNEMPLOYMENT_RATE_15_64 = 0.08
CHILD_SGB2_RATE_UNDER15 = 0.20


def weights(table: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Codes and normalised probabilities of a weight table."""
    codes = np.array(list(table), dtype=object)
    p = np.array(list(table.values()), dtype=float)
    return codes, p / p.sum()
