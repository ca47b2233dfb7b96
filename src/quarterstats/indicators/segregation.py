"""Segregation family: city-level indices per group and per-district location quotients and LISA classes.

Groups (:data:`quarterstats.catalogue.SEGREGATION_GROUPS`), each against the rest of the population:
foreign nationals, residents with migration background, and each origin region of the Bezugsland.
The formulas live in :mod:`quarterstats.segregation` (checked against PySAL on the Sacramento tracts) and
:mod:`quarterstats.autocorrelation` (esda). Conventions here:

* the dissimilarity index D is stored ×100 (German reports give it in percent); the other indices on
  their natural 0–1 scale;
* the multigroup indices (Reardon & Firebaugh) use the origin regions of residents with migration
  background plus residents without migration background as one more group, so the units' totals are
  the district populations;
* Moran's I and LISA use queen contiguity of the district polygons (row-standardised), 999 permutations
  and a fixed seed; districts without residents are left out (their LISA class is missing), districts
  without neighbours are classed "island";
* location quotients are emitted for districts with residents; the city has no LQ or LISA row.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from quarterstats import autocorrelation, segregation
from quarterstats.catalogue import ORIGIN_REGIONS, SEGREGATION_GROUPS


from .common import LONG_COLUMNS, flag, positions_in

#: LISA classes as numbers in the long table (the catalogue's ``lisa_class_*`` formula lists them).
LISA_CODES = {"HH": 1, "LL": 2, "HL": 3, "LH": 4, "not_significant": 0, "island": -1}
#: German words of the LISA codes (the code list of the published tables).
LISA_LABELS_BY_CODE_DE = {code: autocorrelation.LISA_LABELS_DE[key] for key, code in LISA_CODES.items()}
MORAN_PERMUTATIONS = 999
MORAN_SEED = 12345
#: A district's LISA class is significant when its pseudo p-value is below this level (no correction for
#: testing every district; the report and the LISA maps say so).
LISA_ALPHA = 0.05
MULTIGROUP = "origin_regions"
SEGREGATION_COLUMNS = ["index", "group", "value", "p_value"]


def group_counts(persons: pd.DataFrame, district_ids: pd.Index) -> pd.DataFrame:
    """Residents per district (rows, in the given order): ``total``, each segregation group, ``no_mh``.

    Persons whose district is not in ``district_ids`` are not counted. One bincount per group over
    integer codes (district ids and origin regions are looked up once, in Arrow).
    """
    n = len(district_ids)
    codes = positions_in(persons["district_id"], pa.array([str(i) for i in district_ids], type=pa.large_string()))
    codes = np.where(codes < 0, n, codes)  # unknown district: an extra bin, dropped below
    region_codes = [code for code, _, _ in ORIGIN_REGIONS]
    region = positions_in(persons["origin_region"], pa.array(region_codes, type=pa.large_string()))
    region = np.where(region < 0, len(region_codes), region)  # no region: an extra column, dropped below

    def tally(mask: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(codes if mask is None else codes[mask], minlength=n + 1)[:n]

    has_mh = persons["has_mh"].to_numpy(dtype=bool)
    columns = {
        "total": tally(),
        "foreign": tally(flag(persons["mh_status"], "foreign")),
        "with_mh": tally(has_mh),
        "no_mh": tally(~has_mh),
    }
    with_mh_regions = np.bincount(  # districts × origin regions of residents with MH, in one pass
        (codes * (len(region_codes) + 1) + region)[has_mh], minlength=(n + 1) * (len(region_codes) + 1)
    ).reshape(n + 1, -1)
    for k, code in enumerate(region_codes):
        columns[f"region_{code}"] = with_mh_regions[:n, k]
    return pd.DataFrame(columns, index=district_ids)


def segregation_indicators(
    persons: pd.DataFrame,
    districts: gpd.GeoDataFrame,
    *,
    neighbours: dict[str, list[str]] | None = None,
    permutations: int = MORAN_PERMUTATIONS,
    seed: int = MORAN_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long rows per district: LQ and LISA per group; city table: index, group, value, p_value).

    ``neighbours``: the districts' queen contiguity (:func:`quarterstats.autocorrelation.queen_neighbours`
    of ``districts``), when already known — the pipeline computes it once per run with the boundaries;
    None: computed here from the polygons.
    """
    ids = pd.Index(districts["district_id"].astype("string"), name="district_id")
    counts = group_counts(persons, ids)
    populated = counts["total"].to_numpy() > 0
    if neighbours is None:
        neighbours = autocorrelation.queen_neighbours(districts.assign(district_id=ids.to_numpy()), "district_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands are classed "island", not warned about
        weights = autocorrelation.weights_from_neighbours(neighbours, [str(i) for i in ids[populated]])

    city = []
    total = counts["total"].to_numpy(dtype="float64")
    ta = total[populated]  # arrays in the weights' order (counts from bincounts: valid, no labels needed)
    indicators, values, numerators, denominators = [], [], [], []
    for gid, _, _ in SEGREGATION_GROUPS:
        group = counts[gid].to_numpy(dtype="float64")
        if group.sum() == 0:
            continue
        xa = group[populated]
        city += [
            ("seg_dissimilarity", gid, 100.0 * segregation.dissimilarity(xa, ta), np.nan),
            ("seg_isolation", gid, segregation.isolation(xa, ta), np.nan),
            ("seg_exposure", gid, segregation.exposure(xa, ta), np.nan),
            ("seg_theil", gid, segregation.entropy_theil(xa, ta), np.nan),
            ("seg_gini", gid, segregation.gini(xa, ta), np.nan),
        ]
        share = xa / ta
        moran = autocorrelation.global_moran(share, weights, permutations=permutations, seed=seed)
        city.append(("moran_i", gid, moran.I, moran.p_sim))
        _, _, classes = autocorrelation.local_moran_arrays(share, weights, permutations=permutations, seed=seed,
                                                          alpha=LISA_ALPHA)
        # the location quotients, then the LISA classes, of the populated districts
        indicators += [f"location_quotient_{gid}", f"lisa_class_{gid}"]
        values += [segregation.location_quotient(group, total)[populated],
                   np.array([LISA_CODES[c] for c in classes], dtype="float64")]
        numerators += [xa, np.full(ta.size, np.nan)]
        denominators += [ta, np.full(ta.size, np.nan)]
    if indicators:  # one frame for all groups
        long = pd.DataFrame({
            "district_id": np.tile(ids[populated].to_numpy(dtype=object), len(indicators)),
            "indicator": np.repeat(np.array(indicators, dtype=object), ta.size),
            "value": np.concatenate(values),
            "numerator": np.concatenate(numerators),
            "denominator": np.concatenate(denominators),
        })
    else:
        long = pd.DataFrame(columns=LONG_COLUMNS)
    multigroup = counts.loc[populated, ["no_mh"] + [f"region_{c}" for c, _, _ in ORIGIN_REGIONS]]
    multigroup = multigroup.loc[:, multigroup.sum() > 0]
    city += [
        ("seg_multigroup_theil", MULTIGROUP, segregation.multigroup_theil(multigroup.to_numpy()), np.nan),
        ("seg_multigroup_dissimilarity", MULTIGROUP, segregation.multigroup_dissimilarity(multigroup.to_numpy()), np.nan),
    ]
    long = long[LONG_COLUMNS].astype({"value": "float64", "numerator": "float64", "denominator": "float64"})
    long["district_id"] = long["district_id"].astype("string")
    long["indicator"] = long["indicator"].astype("str")
    table = pd.DataFrame(city, columns=SEGREGATION_COLUMNS).astype({"value": "float64", "p_value": "float64"})
    return long, table
