"""Publishing as a whole: everything for ``reports/`` is built in a staging folder, checked there, and
only then moved into place.

A reference date's publication (``reports/<date>/``: tables, workbook, figures, report) is written into
``data/processed/staging/<date>/`` (:attr:`quarterstats.paths.ProjectPaths.staging`). The publication
stage checks that folder — disclosure, the person-level scan, exactly the expected files — and only
when every blocking check passes does :func:`replace_folder` put it in place of ``reports/<date>/``:

* no ``reports/<date>/`` yet: one ``rename(2)``; the folder appears complete or not at all;
* otherwise: ``renameat2(..., RENAME_EXCHANGE)`` (Linux ≥ 3.15, glibc ≥ 2.28, called through
  ``ctypes``) swaps the two folders in one atomic step; a reader sees the old folder or the new one,
  never a mix, and never no folder. The old one, now in the staging folder, is then removed;
* where the kernel, the C library or the file system cannot exchange (another system, some network
  file systems): two renames — the old folder aside into the staging area, the new one into place. In
  between (microseconds) ``reports/<date>/`` is missing, never mixed; if the second rename fails, the
  old folder is renamed back. A run killed between the two is repaired by the next run
  (:func:`recover_folder` renames the old folder back before anything else).

Whatever fails before the swap — drawing, writing, a blocking check, an error in the swap itself —
``reports/<date>/`` stays exactly as it was, and nothing unchecked is ever under ``reports/``. Staging
lives in ``data/`` (never published) on the same file system as ``reports/`` (both below the working
directory), so a rename is enough; if an administrator mounts them apart, the swap stops with a clear
message instead of copying.

The files over all dates (``reports/index.html``, ``reports/zeitreihe.*``) sit beside the date folders,
so they cannot be swapped as one folder; :func:`publish_files` moves them with a roll-forward journal:
once the staged set is complete, a marker naming it is written, then each file is renamed into place
(each rename atomic), the index page last, and the marker removed. A run killed in between leaves the
marker, and the next run first finishes the renames (:func:`recover_files`), so after any crash the
set is either all old or — once recovered — all new.

Only one run per municipality writes at a time (Dagster's run queue, ``docs/scaling.md``); the staging
folders have fixed names, so leftovers of a killed run are found and removed by the next one.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path

from quarterstats import atomic
from quarterstats.errors import InputError

__all__ = [
    "JOURNAL", "exchange", "fresh_folder", "publish_files", "recover_files", "recover_folder",
    "replace_folder", "staged_files_check",
]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
#: Marker of a staged set of files that is complete and checked: the next run finishes moving it.
JOURNAL = ".publish"


def _load_renameat2():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):  # not Linux, or a C library without renameat2 (glibc < 2.28)
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _load_renameat2()


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (``renameat2`` with ``RENAME_EXCHANGE``).

    Returns False, having changed nothing, where the C library, the kernel or the file system cannot;
    raises ``OSError`` for any other failure (then nothing changed either)."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _aside(staged: Path) -> Path:
    """Where the previous folder waits during the two-rename swap (beside ``staged``)."""
    return staged.with_name(staged.name + ".previous")


def _rename(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise InputError(
                f"{source.parent} and {target.parent} are on different file systems, so a checked "
                "publication cannot be moved into place in one step; keep data/ and reports/ of the "
                "working directory on one file system", file=target, rule="publication.staging",
            ) from None
        raise


def recover_folder(staged: Path, target: Path) -> None:
    """Repair what a killed run left: the previous folder renamed aside but not back (it is checked, so
    it goes back to ``target``); then remove every leftover of the staging (an unfinished build, an
    exchanged-out old folder)."""
    aside = _aside(staged)
    if aside.is_dir() and not target.exists():
        _rename(aside, target)
        atomic.fsync_folder(target.parent)
    _remove(aside)
    _remove(staged)


def fresh_folder(staged: Path, target: Path) -> Path:
    """An empty staging folder ``staged`` for a new build of ``target``, after :func:`recover_folder`."""
    recover_folder(staged, target)
    staged.mkdir(parents=True)
    return staged


def replace_folder(staged: Path, target: Path) -> None:
    """Put the checked folder ``staged`` in place of ``target`` (see the module docstring); the previous
    ``target``, if any, is removed afterwards. When this raises, ``target`` is as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = _aside(staged)
    _remove(aside)
    if not target.exists():
        _rename(staged, target)
    elif exchange(staged, target):
        atomic.fsync_folder(target.parent)
        shutil.rmtree(staged)  # the previous publication, now in the staging area
    else:
        _rename(target, aside)
        try:
            _rename(staged, target)
        except BaseException:
            os.rename(aside, target)
            raise
        atomic.fsync_folder(target.parent)
        shutil.rmtree(aside)
    atomic.fsync_folder(target.parent)
    atomic.fsync_folder(staged.parent)


def staged_files_check(folder: Path, expected: list[Path]) -> tuple[bool, str]:
    """Whether ``folder`` holds exactly the ``expected`` files (paths inside it): nothing missing, nothing
    else (a stray temporary file, a figure of an earlier build). (passed, description)."""
    folder = Path(folder)
    wanted = {Path(p).relative_to(folder).as_posix() for p in expected}
    found = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    missing, extra = sorted(wanted - found), sorted(found - wanted)
    if not missing and not extra:
        return True, f"exactly the {len(wanted)} expected files"
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    if extra:
        parts.append(f"unexpected {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}")
    return False, "; ".join(parts)


def recover_files(staged: Path, target: Path) -> list[str]:
    """Finish moving a staged set of files whose journal says it was complete (a run killed while
    moving it); remove an unfinished build. Returns the names moved."""
    journal = staged / JOURNAL
    moved: list[str] = []
    if journal.is_file():
        for name in journal.read_text(encoding="utf-8").split("\n"):
            if name and (staged / name).is_file():
                os.replace(staged / name, target / name)
                moved.append(name)
        atomic.fsync_folder(target)
    _remove(staged)
    return moved


def publish_files(staged: Path, target: Path, names: list[str]) -> None:
    """Move the checked files ``names`` from ``staged`` into ``target``, in the given order (put the
    page that links to the others last); roll-forward journal as in the module docstring."""

    stray = sorted({p.name for p in staged.iterdir()} - set(names) - {JOURNAL})
    if stray:
        raise RuntimeError(f"staged files not to be published: {', '.join(stray)}")
    target.mkdir(parents=True, exist_ok=True)
    atomic.write_text("\n".join(names) + "\n", staged / JOURNAL)
    for name in names:
        _rename(staged / name, target / name)
    atomic.fsync_folder(target)
    _remove(staged)
