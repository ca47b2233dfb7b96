"""Every location the pipeline reads or writes, in one place.

The layout follows cookiecutter-data-science: ``data/raw`` is immutable input (the pipeline never
writes there; only ``quarterstats generate`` fills it with the synthetic default), ``data/processed``
holds intermediate and person-level results that never leave ``data/``, and ``reports/`` holds what
may be published (aggregates after disclosure control only).

The working directory is, in this order: the ``workdir`` argument, the environment variable
``QUARTERSTATS_WORKDIR``, the repository root (when running from a checkout), the current directory.

Municipalities (registers are kept per municipality; a state or national run covers many):

* single layout (default): the working directory itself is the only municipality, key ``"default"``;
* several municipalities: ``<workdir>/municipalities/<key>/``, each a project folder with the layout
  above (``data/raw/register``, ``data/raw/boundaries``, ``data/raw/auxiliary``, ``data/processed``,
  ``reports``). A subfolder counts when it holds ``data/raw/register``; keys match
  ``[A-Za-z0-9_-]+`` (e.g. an AGS such as ``07312000``, or a slug). A working directory with both
  municipality folders and its own ``data/raw/register`` is ambiguous and raises an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from quarterstats.errors import InputError

WORKDIR_ENV = "QUARTERSTATS_WORKDIR"
DATE_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})$")
REGISTER_SUFFIXES = (".parquet", ".csv", ".csv.gz")
BOUNDARY_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".parquet")
#: Key of the only municipality of the single layout (the working directory itself).
DEFAULT_MUNICIPALITY = "default"
#: Folder below the working directory holding one project folder per municipality.
MUNICIPALITIES_FOLDER = "municipalities"
MUNICIPALITY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


def repository_root() -> Path | None:
    """The checkout this package lives in, if it is installed from one (editable install)."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file() and (candidate / "pipelines").is_dir():
        return candidate
    return None


def default_workdir() -> Path:
    env = os.environ.get(WORKDIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = repository_root()
    return root if root is not None else Path.cwd().resolve()


@dataclass(frozen=True)
class ProjectPaths:
    """All paths below one working directory (a city's project folder)."""

    workdir: Path

    @classmethod
    def from_workdir(cls, workdir: str | Path | None = None) -> "ProjectPaths":
        return cls(Path(workdir).expanduser().resolve() if workdir else default_workdir())

    # ---- municipalities ------------------------------------------------------------------------
    @property
    def municipalities_root(self) -> Path:
        return self.workdir / MUNICIPALITIES_FOLDER

    def _municipality_folders(self) -> list[Path]:
        """Subfolders of ``municipalities/`` holding ``data/raw/register`` (sorted by name)."""
        root = self.municipalities_root
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if _is_project_folder(p))

    def _has_municipality_folders(self) -> bool:
        root = self.municipalities_root
        return root.is_dir() and any(_is_project_folder(p) for p in root.iterdir())

    def _refuse_both_layouts(self, example: str) -> None:
        if self.raw_register.is_dir():
            raise InputError(
                f"both municipality folders ({self.municipalities_root}/<key>/data/raw/register, e.g. "
                f"{example!r}) and a register folder of the working directory itself ({self.raw_register}) "
                f"exist; keep one layout: move {self.workdir / 'data'} (and reports/) into "
                f"{self.municipalities_root}/<key>/, or remove the municipality folders",
                file=self.workdir,
            )

    def municipalities(self) -> list[str]:
        """Keys of the municipalities, sorted: ``["default"]`` in the single layout, else the names of the
        folders ``municipalities/<key>/`` that hold ``data/raw/register``."""
        folders = self._municipality_folders()
        if not folders:
            return [DEFAULT_MUNICIPALITY]
        self._refuse_both_layouts(folders[0].name)
        for folder in folders:
            check_municipality_key(folder.name, folder=folder)
        return [folder.name for folder in folders]

    def for_municipality(self, key: str) -> "ProjectPaths":
        """The project folder of one municipality: this one for ``"default"`` in the single layout, else
        ``municipalities/<key>/`` (which must hold ``data/raw/register``)."""
        check_municipality_key(key)
        folder = self.municipalities_root / key
        if _is_project_folder(folder):
            self._refuse_both_layouts(key)
            return ProjectPaths(folder)
        if key == DEFAULT_MUNICIPALITY and not self._has_municipality_folders():
            return self
        known = self.municipalities()
        listed = ", ".join(known[:10]) + (f", ... ({len(known)} in all)" if len(known) > 10 else "")
        raise InputError(
            f"unknown municipality {key!r}: no register folder {folder / 'data' / 'raw' / 'register'} "
            f"(municipalities here: {listed})",
            file=folder,
        )

    # ---- raw inputs (never written by the pipeline) -------------------------------------------
    @property
    def raw(self) -> Path:
        return self.workdir / "data" / "raw"

    @property
    def raw_register(self) -> Path:
        return self.raw / "register"

    @property
    def raw_boundaries(self) -> Path:
        return self.raw / "boundaries"

    @property
    def raw_auxiliary(self) -> Path:
        return self.raw / "auxiliary"

    @property
    def synthetic_truth(self) -> Path:
        """True histories of synthetic persons (tests and the recovery report only)."""
        return self.raw / "synthetic_truth"

    # ---- processed (person-level allowed; never published) ------------------------------------
    @property
    def processed(self) -> Path:
        return self.workdir / "data" / "processed"

    def register_accepted(self, reference_date: date | str) -> Path:
        return self.processed / "register" / f"{_iso(reference_date)}.parquet"

    def quarantine(self, reference_date: date | str) -> Path:
        return self.processed / "quarantine" / f"{_iso(reference_date)}.parquet"

    def quarantine_location(self, reference_date: date | str) -> Path:
        """Persons whose coordinates fall in no district."""
        return self.processed / "quarantine" / f"{_iso(reference_date)}.outside_districts.parquet"

    def ingest_report(self, reference_date: date | str) -> Path:
        return self.processed / "quarantine" / f"{_iso(reference_date)}.report.json"

    @property
    def boundaries(self) -> Path:
        return self.processed / "boundaries" / "districts.parquet"

    @property
    def district_neighbours(self) -> Path:
        """Queen contiguity of the districts (district_id, neighbour_id), computed once per run."""
        return self.processed / "boundaries" / "neighbours.parquet"

    @property
    def boundaries_report(self) -> Path:
        return self.processed / "boundaries" / "validation.json"

    def persons(self, reference_date: date | str) -> Path:
        return self.processed / "persons" / f"{_iso(reference_date)}.parquet"

    def indicators(self, reference_date: date | str) -> Path:
        return self.processed / "indicators" / f"{_iso(reference_date)}.parquet"

    def segregation(self, reference_date: date | str) -> Path:
        return self.processed / "segregation" / f"{_iso(reference_date)}.parquet"

    @property
    def indicator_time_series(self) -> Path:
        return self.processed / "indicators" / "time_series.parquet"

    @property
    def segregation_time_series(self) -> Path:
        return self.processed / "segregation" / "time_series.parquet"

    def migration_recovery(self, reference_date: date | str) -> Path:
        return self.processed / "migration_recovery" / f"{_iso(reference_date)}.parquet"

    @property
    def staging(self) -> Path:
        """Where a publication is built and checked before it replaces its folder under ``reports/``.

        Inside ``data/`` (so nothing unchecked is ever under ``reports/``) and below the working
        directory, like ``reports/``, so that moving a checked folder into place is a rename within one
        file system (:mod:`quarterstats.staging`)."""
        return self.processed / "staging"

    def staging_dir(self, reference_date: date | str) -> Path:
        """The folder in which ``reports/<date>/`` is built and checked."""
        return self.staging / _iso(reference_date)

    @property
    def staging_index(self) -> Path:
        """The folder in which ``reports/index.html`` and ``reports/zeitreihe.*`` are built."""
        return self.staging / "index"

    # ---- published -------------------------------------------------------------------------
    @property
    def reports(self) -> Path:
        return self.workdir / "reports"

    def report_dir(self, reference_date: date | str) -> Path:
        return self.reports / _iso(reference_date)

    def published(self, reference_date: date | str) -> Path:
        """The protected long indicator table of a date (what the report and the workbook show)."""
        return self.report_dir(reference_date) / "indikatoren.parquet"

    # ---- discovery ---------------------------------------------------------------------------
    def register_files(self) -> dict[date, Path]:
        """Register extracts found in ``data/raw/register``, keyed by reference date.

        A file is ``<YYYY-MM-DD>.parquet``, ``.csv`` or ``.csv.gz``; where several exist, Parquet wins.
        """
        found: dict[date, Path] = {}
        if not self.raw_register.is_dir():
            return found
        for path in sorted(self.raw_register.iterdir()):
            stem, _, suffix = path.name.partition(".")
            if f".{suffix.lower()}" not in REGISTER_SUFFIXES or not DATE_PATTERN.match(stem):
                continue
            try:
                day = date.fromisoformat(stem)
            except ValueError:
                continue
            if day not in found or suffix.lower() == "parquet":
                found[day] = path
        return dict(sorted(found.items()))

    def reference_dates(self) -> list[date]:
        return list(self.register_files())

    def register_file(self, reference_date: date | str) -> Path:
        day = _as_date(reference_date)
        files = self.register_files()
        if day not in files:
            raise FileNotFoundError(
                f"no register extract for reference date {day.isoformat()} in {self.raw_register} "
                f"(expected {day.isoformat()}.parquet, .csv or .csv.gz)"
            )
        return files[day]

    def boundary_file(self) -> Path:
        """The one district boundary file in ``data/raw/boundaries``."""
        if not self.raw_boundaries.is_dir():
            raise FileNotFoundError(f"no boundary folder {self.raw_boundaries}")
        candidates = sorted(
            p for p in self.raw_boundaries.iterdir() if p.suffix.lower() in BOUNDARY_SUFFIXES
        )
        if len(candidates) != 1:
            raise FileNotFoundError(
                f"expected exactly one district boundary file (.gpkg, .geojson, .shp or .parquet) in "
                f"{self.raw_boundaries}, found {len(candidates)}: {[p.name for p in candidates]}"
            )
        return candidates[0]

    def auxiliary_file(self, reference_date: date | str) -> Path | None:
        path = self.raw_auxiliary / f"{_iso(reference_date)}.csv"
        return path if path.is_file() else None

    def truth_file(self, reference_date: date | str) -> Path | None:
        path = self.synthetic_truth / f"{_iso(reference_date)}.parquet"
        return path if path.is_file() else None


def _is_project_folder(folder: Path) -> bool:
    return (folder / "data" / "raw" / "register").is_dir()


def check_municipality_key(key: str, *, folder: Path | None = None) -> str:
    """A municipality key is ``[A-Za-z0-9_-]+`` (an AGS like ``07312000`` or a slug); else InputError."""
    if not isinstance(key, str) or not MUNICIPALITY_KEY_PATTERN.match(key):
        raise InputError(
            f"not a valid municipality key: {key!r} (use letters, digits, '_' and '-' only, e.g. an AGS "
            "like 07312000 or a slug like kaiserslautern)",
            file=folder,
        )
    return key


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _iso(value: date | str) -> str:
    return _as_date(value).isoformat()
