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
from quarterstats.safe_text import console_text

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

    def boundary_version_districts(self, valid_from: date | None) -> Path:
        """One boundary version's prepared districts (the reference dates it is in force for join them)."""
        return self.processed / "boundaries" / "versions" / f"{version_key(valid_from)}.parquet"

    def location_report(self, reference_date: date | str) -> Path:
        """Persons given the nearest district (in a gap, or just outside the city's edge)."""
        return self.processed / "quarantine" / f"{_iso(reference_date)}.nearest_district.parquet"

    def geography(self, reference_date: date | str) -> Path:
        """Which boundary versions a date's persons were joined to (in force, series geography)."""
        return self.processed / "persons" / f"{_iso(reference_date)}.geography.json"

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

    def settings_record(self, reference_date: date | str) -> Path:
        """Hash of the settings each per-date stage's outputs were made with (``stages.settings_record``)."""
        return self.processed / "settings" / f"{_iso(reference_date)}.json"

    @property
    def settings_file(self) -> Path:
        """The project's settings, ``quarterstats.toml`` (optional; :mod:`quarterstats.settings`)."""
        return self.workdir / "quarterstats.toml"

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
    def register_inventory(self, today: date | None = None) -> "Inventory":
        """Every entry of ``data/raw/register`` accounted for: the extracts by reference date, the entries
        not used (with the reason) and the refused ones (with the reason; see :func:`scan_deliveries`)."""
        return scan_deliveries(self.raw_register, self.workdir, REGISTER_KINDS, today=today)

    def register_files(self) -> dict[date, Path]:
        """Register extracts found in ``data/raw/register``, keyed by reference date.

        A file is ``<YYYY-MM-DD>.parquet``, ``.csv`` or ``.csv.gz``. Raises :class:`InputError` when an
        entry is refused (two files for one date, a date in the future or impossible, a name that looks
        like a delivery but is not exactly ``<YYYY-MM-DD>.<type>``, a symbolic link leaving the working
        directory, not a regular file); entries that are simply not deliveries are listed by
        :meth:`register_inventory`.
        """
        inventory = self.register_inventory()
        inventory.raise_if_refused()
        return inventory.files

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

    def boundary_versions(self) -> dict[date | None, Path]:
        """The boundary files of ``data/raw/boundaries``, keyed by the date from which each is valid.

        Either one file directly in the folder (key None: valid for all dates), or one file in each
        subfolder ``<YYYY-MM-DD>/`` (valid from that date until the next version). Both layouts at once,
        a folder with no or several boundary files, or a subfolder whose name is no date are refused.
        """
        if not self.raw_boundaries.is_dir():
            raise FileNotFoundError(f"no boundary folder {self.raw_boundaries}")
        direct = _boundary_candidates(self.raw_boundaries)
        folders = sorted(p for p in self.raw_boundaries.iterdir() if p.is_dir() and not p.name.startswith("."))
        if folders and direct:
            raise InputError(
                f"both a boundary file directly in the folder ({direct[0].name}) and version folders "
                f"({', '.join(p.name for p in folders)}); keep one layout: one file for all dates, or one "
                "file per <YYYY-MM-DD>/ folder (valid from that date)",
                file=self.raw_boundaries, rule="boundaries.versions",
            )
        if not folders:
            return {None: _one_boundary_file(self.raw_boundaries, direct)}
        versions: dict[date | None, Path] = {}
        for folder in folders:
            if not DATE_PATTERN.match(folder.name) or _parse_date(folder.name) is None:
                raise InputError(
                    f"boundary version folder {folder.name!r} is not a date (YYYY-MM-DD, the day from which "
                    "its boundaries are valid)", file=folder, rule="boundaries.versions",
                )
            versions[_parse_date(folder.name)] = _one_boundary_file(folder, _boundary_candidates(folder))
        return versions

    def boundary_version(self, reference_date: date | str) -> date | None:
        """Valid-from date of the boundary version in force at ``reference_date`` (the latest valid-from
        on or before it; None in the one-file layout). A date before the first version is refused."""
        day = _as_date(reference_date)
        versions = self.boundary_versions()
        if None in versions:
            return None
        in_force = [v for v in versions if v <= day]
        if not in_force:
            first = min(versions).isoformat()
            raise InputError(
                f"no boundary version is valid at the reference date {day.isoformat()}: the first is valid from "
                f"{first}; deliver the boundaries in force then as data/raw/boundaries/<YYYY-MM-DD>/<file> "
                f"with a date on or before {day.isoformat()}",
                file=self.raw_boundaries, rule="boundaries.versions",
            )
        return max(in_force)

    def boundary_file(self, reference_date: date | str | None = None) -> Path:
        """The boundary file in force at ``reference_date``; without a date, the newest version."""
        versions = self.boundary_versions()
        if reference_date is None:
            return versions[None] if None in versions else versions[max(versions)]
        return versions[self.boundary_version(reference_date)]

    def auxiliary_inventory(self, today: date | None = None) -> "Inventory":
        """Every entry of ``data/raw/auxiliary`` accounted for (``<YYYY-MM-DD>.csv``; a file for a date
        without a register extract is listed as not used)."""
        inventory = scan_deliveries(self.raw_auxiliary, self.workdir, AUXILIARY_KINDS, today=today)
        register = set(self.register_inventory(today).files)
        for day in [d for d in inventory.files if d not in register]:
            inventory.unused.append((self.relative(inventory.files.pop(day)),
                                     "no register extract for this reference date"))
        inventory.unused.sort()
        return inventory

    def auxiliary_file(self, reference_date: date | str) -> Path | None:
        """The auxiliary file of a date (``data/raw/auxiliary/<date>.csv``), None if there is none;
        :class:`InputError` if an entry for that date is refused (two files, a symbolic link leaving the
        working directory, ...: see :func:`scan_deliveries`)."""
        day = _as_date(reference_date)
        inventory = scan_deliveries(self.raw_auxiliary, self.workdir, AUXILIARY_KINDS)
        refused = [(name, why) for name, why in inventory.refused if Path(name).name.startswith(day.isoformat())]
        if refused:
            Inventory(self.raw_auxiliary, {}, [], refused, []).raise_if_refused()
        return inventory.files.get(day)

    def relative(self, path: Path) -> str:
        """``path`` relative to the working directory (what reports and metadata show); a path outside
        it is shown by its name only, so that no absolute server path is ever published."""
        return relative_to_workdir(path, self.workdir)

    def truth_file(self, reference_date: date | str) -> Path | None:
        path = self.synthetic_truth / f"{_iso(reference_date)}.parquet"
        return path if path.is_file() else None


# ---- deliveries --------------------------------------------------------------------------------
#: File types by the name's ending (lower case): the register accepts these...
REGISTER_KINDS = (".parquet", ".csv.gz", ".csv")
#: ... the auxiliary data this one.
AUXILIARY_KINDS = (".csv",)
#: A name that starts like a date: meant as a delivery, so a defect in it refuses the file.
_DATE_LIKE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4}|\d{8})")
_GERMAN_DATE_NAME = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


@dataclass
class Inventory:
    """The entries of a delivery folder: ``files`` used (by reference date), ``unused`` and ``refused``
    entries as (path relative to the working directory, reason), and ``links`` (symbolic links followed,
    as "link -> target", both relative)."""

    folder: Path
    files: dict[date, Path]
    unused: list[tuple[str, str]]
    refused: list[tuple[str, str]]
    links: list[str]

    def raise_if_refused(self) -> None:
        if self.refused:
            listed = "; ".join(f"{name}: {reason}" for name, reason in self.refused)
            raise InputError(f"{len(self.refused)} deliver{'y is' if len(self.refused) == 1 else 'ies are'} "
                             f"refused: {listed}", file=self.folder, rule="file.delivery")

    def lines(self) -> list[str]:
        """One line per entry not used, refused, or reached through a symbolic link (for consoles)."""
        return ([f"refused: {name} — {reason}" for name, reason in self.refused]
                + [f"not used: {name} — {reason}" for name, reason in self.unused]
                + [f"symbolic link followed: {link}" for link in self.links])


def relative_to_workdir(path: Path, workdir: Path) -> str:
    """``path`` relative to ``workdir`` (resolved); outside it, the name only (never an absolute path)."""
    try:
        return Path(path).resolve().relative_to(Path(workdir).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _shown(folder: Path, workdir: Path, name: str) -> str:
    where = relative_to_workdir(folder, workdir)
    return name if where in ("", ".") else f"{where}/{name}"


def _refusal(path: Path, workdir: Path) -> str | None:
    path = Path(path)
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a broken symbolic link (its target does not exist)" if path.is_symlink() else "cannot be opened"
    try:
        target.relative_to(Path(workdir).resolve())
    except ValueError:
        return ("a symbolic link to a file outside the working directory: copy the file into data/raw/ "
                "instead") if path.is_symlink() else "lies outside the working directory"
    if not target.is_file():
        return "not a regular file (a folder, device or pipe)"
    return None


def _kind(name: str, kinds: tuple[str, ...]) -> str | None:
    lower = name.lower()
    return next((kind for kind in kinds if lower.endswith(kind) and len(name) > len(kind)), None)


def scan_deliveries(folder: Path, workdir: Path, kinds: tuple[str, ...], *, today: date | None = None) -> Inventory:
    """Account for every entry of a delivery folder (names ``<YYYY-MM-DD><kind>``).

    Used: a regular file (or a symbolic link to one inside the working directory) named exactly so.
    Refused (the run stops; the reason names the fix): two files for one date, a date after ``today``,
    an impossible date (``2024-02-30``), a name that starts like a date but is not exactly
    ``<YYYY-MM-DD><kind>`` (``2021-02-19xyz.csv``, ``31.03.2024.csv``, ``2024-12-31.xlsx``), a symbolic
    link leaving the working directory, an entry that is not a regular file. Not used (listed with the
    reason): every other entry (``liesmich.txt``, hidden files, subfolders).
    """
    today = today or date.today()
    inventory = Inventory(folder, {}, [], [], [])
    if not folder.is_dir():
        return inventory
    by_date: dict[date, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        shown = _shown(path.parent, workdir, console_text(name))  # names are delivered text
        kind = _kind(name, kinds)
        stem = name[: -len(kind)] if kind else name
        date_like = _DATE_LIKE.match(name)
        if not date_like:
            what = "a folder (not searched)" if path.is_dir() and not path.is_symlink() else "not a delivery"
            inventory.unused.append((shown, f"{what}: deliveries are named <YYYY-MM-DD>{'|'.join(kinds)}"))
            continue
        problem = None
        day = None
        if kind is None:
            problem = (f"unsupported file type (deliver {', '.join(kinds)}; an Excel workbook: save the sheet "
                       "as 'CSV UTF-8')")
        elif not DATE_PATTERN.match(stem):
            german = _GERMAN_DATE_NAME.match(stem)
            if german:
                d, m, y = german.groups()
                problem = f"the date in the name is not YYYY-MM-DD: rename to {y}-{int(m):02d}-{int(d):02d}{kind}"
            else:
                problem = f"the name is not exactly <YYYY-MM-DD>{kind}"
        else:
            try:
                day = date.fromisoformat(stem)
            except ValueError:
                problem = "the date in the name does not exist"
            else:
                if day > today:
                    problem = f"reference date {day.isoformat()} lies in the future (today is {today.isoformat()})"
        if problem is None:
            problem = _refusal(path, workdir)
            if problem is None and path.is_symlink():
                inventory.links.append(f"{shown} -> {relative_to_workdir(path.resolve(), workdir)}")
        if problem:
            inventory.refused.append((shown, problem))
            continue
        by_date.setdefault(day, []).append(path)
    for day, found in sorted(by_date.items()):
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            inventory.refused.append((_shown(folder, workdir, console_text(found[0].name)),
                                      f"{len(found)} files for reference date {day.isoformat()} ({names}): keep one"))
        else:
            inventory.files[day] = found[0]
    return inventory


def _boundary_candidates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BOUNDARY_SUFFIXES)


def _one_boundary_file(folder: Path, candidates: list[Path]) -> Path:
    if len(candidates) != 1:
        raise FileNotFoundError(
            f"expected exactly one district boundary file (.gpkg, .geojson, .shp or .parquet) in "
            f"{folder}, found {len(candidates)}: {[p.name for p in candidates]}"
        )
    return candidates[0]


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def version_key(valid_from: date | None) -> str:
    """Name of a boundary version: its valid-from date, or ``all`` for the one-file layout."""
    return valid_from.isoformat() if valid_from else "all"


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
