"""What leaves ``data/``: the protected long table, protected population pyramids, provenance, and the
check that nothing person-level reaches ``reports/``.

Every table built here has passed :mod:`quarterstats.disclosure`. The files are written by
:mod:`quarterstats.tables` (CSV, Parquet, Excel) and :mod:`quarterstats.gis` (GeoPackage, GeoJSON),
atomically and deterministically, so a rerun on the same input gives identical bytes.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quarterstats import atomic
from quarterstats.catalogue import CATALOGUE, Indicator
from quarterstats.disclosure import DisclosureConfig, secondary_suppression
from quarterstats.disclosure.indicators import CITY, SUPPRESSED
from quarterstats.tables import CITY_NAME_DE
from quarterstats.statistical_sex import is_female

SOURCE_DE = "Melderegister, anonymisierter statistischer Auszug"
SYNTHETIC_SOURCE_DE = SOURCE_DE + "; synthetische Daten (quarterstats generate)"
PUBLISHED_COLUMNS = [
    "reference_date", "district_id", "district_name", "indicator", "label_de", "unit", "kind", "value",
    "numerator", "denominator", "flag", "change_previous", "change_baseline",
]
#: Column names that must never appear in a published table (person-level identifiers and fields).
PERSON_LEVEL_COLUMNS = {
    "person_id", "household_id", "mother_id", "father_id", "x", "y", "birth_country", "nationality_1",
    "nationality_2", "moved_in_address", "moved_in_city", "german_acquisition", "immigration_year",
}


# -------------------------------------------------------------------------------------- provenance
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Provenance:
    reference_date: date
    source_de: str
    protection_de: str
    catalogue_version: str
    code_version: str
    input_hashes: Mapping[str, str]
    #: :meth:`quarterstats.settings.Settings.sha256` of the settings the tables were made with.
    settings_sha256: str = ""

    def rows_de(self) -> list[tuple[str, str]]:
        rows = [
            ("Stichtag", self.reference_date.strftime("%d.%m.%Y")),
            ("Quelle", self.source_de),
            ("Geheimhaltung", self.protection_de),
            ("Version des Indikatorenkatalogs", self.catalogue_version),
            ("Version von quarterstats", self.code_version),
        ]
        rows += [(f"SHA-256 {name}", digest) for name, digest in sorted(self.input_hashes.items())]
        if self.settings_sha256:
            rows.append(("SHA-256 der Einstellungen (quarterstats.toml, wirksame Werte)", self.settings_sha256))
        return rows


# ----------------------------------------------------------------------------------- the long table
def published_table(protected: pd.DataFrame, district_names: Mapping[str, str], reference_date: date,
                    catalogue: Mapping[str, Indicator] = CATALOGUE) -> pd.DataFrame:
    """The protected long table with labels, in the published column order."""
    out = protected.copy()
    out.insert(0, "reference_date", reference_date)
    out["district_name"] = out["district_id"].map(lambda d: CITY_NAME_DE if d == CITY else district_names.get(d, d))
    out["label_de"] = out["indicator"].map(lambda i: catalogue[i].label_de if i in catalogue else i)
    out["unit"] = out["indicator"].map(lambda i: catalogue[i].unit if i in catalogue else "")
    out["kind"] = out["indicator"].map(lambda i: catalogue[i].kind if i in catalogue else "")
    for column in ("change_previous", "change_baseline"):
        if column not in out.columns:
            out[column] = np.nan
    out = out[PUBLISHED_COLUMNS]
    for column in ("district_id", "district_name", "indicator", "label_de", "unit", "kind", "flag"):
        out[column] = out[column].astype("string")
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------------ pyramids
def _bands(width: int, top: int) -> tuple[np.ndarray, list[str]]:
    edges = list(range(0, top, width))
    labels = [f"{lo}–{lo + width - 1}" for lo in edges] + [f"{top}+"]
    return np.array(edges + [top]), labels


def _positions(district_id: pd.Series, districts: list[str]) -> np.ndarray:
    """Each person's position in ``districts`` (-1: not among them); a Categorical is looked up by its
    categories (450), not by its 4 million values."""
    if isinstance(district_id.dtype, pd.CategoricalDtype):
        by_category = pd.Index(districts).get_indexer(district_id.cat.categories.astype(str))
        codes = district_id.cat.codes.to_numpy()
        return np.where(codes >= 0, by_category[codes], -1)
    return pd.Index(districts).get_indexer(district_id.astype("string"))


#: Age bands of the pyramids: 5-year bands up to 90+ for the city, 10-year bands up to 80+ for districts.
CITY_BANDS = (5, 90)
DISTRICT_BANDS = (10, 80)


def pyramid_edges(area: str) -> np.ndarray:
    """Lower bounds of the pyramid's age bands of ``area`` (the last band is open)."""
    width, top = CITY_BANDS if area == CITY else DISTRICT_BANDS
    return _bands(width, top)[0]


def pyramid_table(persons: pd.DataFrame, district_order: list[str], config: DisclosureConfig,
                  extra: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Protected counts by area × age band × sex (m, w) × migration status, for the population pyramids.

    The city uses 5-year bands (…, 90+), districts 10-year bands (…, 80+). Sex is the statistical sex
    (:mod:`quarterstats.statistical_sex`): persons with sex d or x are too few to show on their own and
    are counted as men or women, so every resident is in the pyramid and the pyramid's cells add up to
    the published residents and age counts (leaving them out would let anyone count them, and their
    ages, by subtraction). Each area's table is protected as a table whose band totals are known
    (the age counts are published elsewhere): primary suppression below ``min_count`` and secondary
    suppression so that no suppressed cell follows from its band total. ``extra``: per area, bands × the
    four cells to suppress besides the small counts (the linked protection of
    :mod:`quarterstats.disclosure.linked`), completed the same way.
    """
    cells = [("m", "mit MH"), ("m", "ohne MH"), ("w", "mit MH"), ("w", "ohne MH")]
    keys = [f"{s}|{m}" for s, m in cells]
    # each person's cell: 2 * (statistical sex is w) + (without migration background), in ``cells`` order
    female = is_female(persons["person_id"], persons["sex"])
    cell = 2 * female.astype(np.int64) + ~persons["has_mh"].to_numpy(dtype=bool)
    ages = persons["age"].to_numpy()
    districts = [d for d in district_order if d != CITY]
    position = _positions(persons["district_id"], districts)  # -1: not shown
    # counts of every area at once: (area, band, cell), the city first
    city_edges, city_labels = _bands(*CITY_BANDS)
    district_edges, district_labels = _bands(*DISTRICT_BANDS)
    city_band = np.searchsorted(city_edges, ages, side="right") - 1
    district_band = np.searchsorted(district_edges, ages, side="right") - 1
    shown = position >= 0
    per_district = np.bincount(
        (position[shown] * len(district_labels) + district_band[shown]) * len(cells) + cell[shown],
        minlength=len(districts) * len(district_labels) * len(cells),
    ).reshape(len(districts), len(district_labels), len(cells))
    city = np.bincount(city_band * len(cells) + cell, minlength=len(city_labels) * len(cells))
    tables = [(CITY, city_labels, city.reshape(len(city_labels), len(cells)))]
    tables += [(d, district_labels, per_district[i]) for i, d in enumerate(districts)]
    parts = []
    for area, labels, counts in tables:
        wide = pd.DataFrame(counts, index=labels, columns=keys)
        wide["total"] = wide.sum(axis=1)
        primary = (wide >= 1) & (wide < config.min_count)
        if extra is not None and area in extra:
            primary[keys] = primary[keys].to_numpy() | (np.asarray(extra[area], dtype=bool) & (counts > 0))
        primary["total"] = False
        mask = secondary_suppression(wide, primary, row_total=False, col_total=True, min_count=config.min_count) \
            if primary.to_numpy().any() else primary
        hidden = mask[keys].to_numpy(dtype=bool).ravel()  # band by band, the cells in order
        parts.append(pd.DataFrame({
            "district_id": area,
            "age_band": np.repeat(labels, len(cells)),
            "age_band_order": np.repeat(np.arange(len(labels)), len(cells)),
            "sex": [s for s, _ in cells] * len(labels),
            "mh": [m for _, m in cells] * len(labels),
            "count": np.where(hidden, np.nan, counts.ravel().astype(float)),
            "flag": np.where(hidden, SUPPRESSED, ""),
        }))
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"district_id": "string", "age_band": "string", "sex": "string", "mh": "string",
                         "flag": "string"})


# ------------------------------------------------------------------------- nothing person-level leaks
_TOKEN = re.compile(rb"[A-Za-z0-9_\-]{6,}")


def person_level_findings(reports_root: Path, person_ids: Iterable[str], household_ids: Iterable[str] = (), *,
                          files: Iterable[Path] | None = None) -> list[str]:
    """Problems found under ``reports_root``: a table with a person-level column, or a file that contains
    a person or household pseudonym. Empty list = clean. ``files``: only these files (default: every file
    under ``reports_root``); :class:`LeakScan` checks a folder in parts with one set of pseudonyms."""
    scan = LeakScan(person_ids, household_ids)
    return scan.rest(reports_root) if files is None else scan.findings(files)


class LeakScan:
    """The person-level scan of :func:`person_level_findings`, able to check a folder in parts (files as
    they are written, the rest at the end). The pseudonyms are looked up in Arrow's compiled code: the
    tokens of a batch of files against all person and household ids in one ``is_in``, with no Python set
    or loop over millions of persons."""

    def __init__(self, person_ids: Iterable[str], household_ids: Iterable[str] = ()) -> None:
        self._sources = (person_ids, household_ids)
        self._ids: pa.Array | None = None  # built on first use
        self.found: dict[Path, list[str]] = {}

    def _pseudonyms(self) -> pa.Array:
        if self._ids is None:
            self._ids = pa.concat_arrays([_as_arrow_text(values) for values in self._sources])
        return self._ids

    def findings(self, files: Iterable[Path]) -> list[str]:
        """Findings in ``files`` (in the order given; folders and files checked before are skipped)."""
        scanned: dict[Path, tuple[list[str], set[bytes]]] = {}
        for path in files:
            path = Path(path)
            if path in self.found or path in scanned or not path.is_file():
                continue
            scanned[path] = self._file_findings(path)
        tokens = sorted(set().union(*(found_tokens for _, found_tokens in scanned.values())))
        hits: set[bytes] = set()
        if tokens:
            candidates = pa.array(tokens, type=pa.binary()).cast(pa.string())  # tokens are ASCII
            hits = set(pc.filter(candidates, pc.is_in(candidates, value_set=self._pseudonyms()))
                       .cast(pa.binary()).to_pylist())
        found = []
        for path, (column_findings, found_tokens) in scanned.items():
            in_file = found_tokens & hits
            if in_file:
                column_findings.append(f"{path}: contains {len(in_file)} pseudonym(s), e.g. "
                                       f"{sorted(in_file)[0].decode()}")
            self.found[path] = column_findings
            found += column_findings
        return found

    def rest(self, root: Path) -> list[str]:
        """Every finding in the files under ``root``, in path order: those not checked before are checked
        now."""
        files = sorted(Path(root).rglob("*"))
        self.findings(files)
        return [finding for path in files for finding in self.found.get(path, [])]

    @staticmethod
    def _file_findings(path: Path) -> tuple[list[str], set[bytes]]:
        """(person-level columns found, the file's tokens that could be a pseudonym)."""
        findings = []
        suffix = path.suffix.lower()
        frame = None
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            bad = set(frame.columns) & PERSON_LEVEL_COLUMNS
            if bad:
                findings.append(f"{path}: person-level column(s) {', '.join(sorted(bad))}")
        if suffix in (".gpkg", ".geojson"):
            frame = _read_gis_attributes(path)
            bad = set(frame.columns) & PERSON_LEVEL_COLUMNS
            if bad:
                findings.append(f"{path}: person-level column(s) {', '.join(sorted(bad))}")
        if suffix in (".csv", ".html", ".svg", ".json", ".geojson", ".txt", ".md", ".xml"):
            data = path.read_bytes()
            if suffix == ".geojson":
                data += b"\n" + frame.astype(str).to_csv(index=False).encode()
        elif suffix in (".gpkg", ".parquet"):
            data = frame.astype(str).to_csv(index=False).encode()
        elif suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                data = b"\n".join(z.read(n) for n in z.namelist())
        else:
            return findings, set()
        if suffix == ".csv":
            first = data.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff")
            header = re.split(r"[,;]", first)
            bad = set(h.strip() for h in header) & PERSON_LEVEL_COLUMNS
            if bad:
                findings.append(f"{path}: person-level column(s) {', '.join(sorted(bad))}")
        return findings, set(_TOKEN.findall(data))


def _as_arrow_text(values: Iterable) -> pa.Array:
    """``values`` as an Arrow string array, each as ``str(value)`` gives it (a string column as it is)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(values.cat.remove_unused_categories().cat.categories)  # each distinct value once
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        return array.cast(pa.string())
    series = pd.Series(values if isinstance(values, pd.Series) else list(values), dtype=object)
    return pa.array(series.astype(str).tolist(), type=pa.string())


def _read_gis_attributes(path: Path) -> pd.DataFrame:
    """The attribute table of every layer of a GeoPackage or GeoJSON file (no geometry)."""
    import pyogrio

    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    frames = [pyogrio.read_dataframe(path, layer=layer, read_geometry=False) for layer in layers]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
