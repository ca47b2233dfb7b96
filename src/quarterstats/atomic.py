"""Atomic, reproducible file writes.

Every output is first written to a temporary file in the target folder and then moved into place with
``os.replace`` (atomic on POSIX within one file system), so a crash or a failed step never leaves a
half-written file and the previous output stays intact until the new one is complete:

* the temporary file is named ``.<target name>.<pid>-<random>.tmp`` and removed when the block fails;
* before the move its content is flushed to disk (``fsync``), and the folder entry after it, so even a
  power cut leaves either the old or the new file, never an empty one;
* a process that is killed (``SIGKILL``) cannot clean up: the next write into the same folder removes
  temporary files whose process no longer runs (POSIX), so a rerun leaves no ``*.tmp`` behind;
* the result gets the usual permissions (``0o666`` minus the umask), like a file written directly.

Parquet files are written without volatile metadata, so the same table gives the same bytes on every
rerun.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_TEMP_NAME = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp$")


def _temp_path(target: Path) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files in ``folder`` left by processes that no longer run; return them.

    Only on POSIX, where ``os.kill(pid, 0)`` merely asks whether a process exists (on Windows it would
    end the process), and only files named by :func:`atomic_path`.
    """
    if os.name != "posix":
        return []
    removed = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:  # loops over the files of one output folder
        match = _TEMP_NAME.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _process_running(int(match.group(1))):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except FileNotFoundError:  # another process cleaned it up first
                pass
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where the platform cannot."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not support it for folders
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` when the block succeeds.

    The temporary file exists (empty) when the block starts; a writer that needs to create the file
    itself (GDAL) may delete it first. When the block raises, the temporary file is removed and
    ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent)
    tmp = _temp_path(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any file
    os.close(fd)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
        fsync_folder(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_parquet(frame: pd.DataFrame, target: str | Path) -> Path:
    """Write ``frame`` (index dropped) as Parquet, atomically and byte-reproducibly."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    return Path(target)


def write_text(text: str, target: str | Path, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_texts(texts: Mapping[Path, str], encoding: str = "utf-8") -> list[Path]:
    """Write many small text files with the guarantees of :func:`atomic_path` for each, faster: every
    file goes to its temporary file first, the temporary files are flushed to disk together (parallel
    ``fsync`` calls, which the file system commits in one go), then each is moved into place and each
    folder flushed once. A failure before the moves leaves every target as it was; the temporary files
    are removed. Returns the targets in the given order."""
    targets = [Path(t) for t in texts]
    folders = list(dict.fromkeys(t.parent for t in targets))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(folder)
    temporaries: list[Path] = []
    try:
        for target, text in zip(targets, texts.values()):
            tmp = _temp_path(target)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            temporaries.append(tmp)
            with os.fdopen(fd, "w", encoding=encoding) as handle:
                handle.write(text)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(_fsync_file, temporaries))
        for tmp, target in zip(temporaries, targets):
            os.replace(tmp, target)
    finally:
        for tmp in temporaries:
            if tmp.exists():
                tmp.unlink()
    for folder in folders:
        fsync_folder(folder)
    return targets


def write_bytes(data: bytes, target: str | Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_json(payload: Any, target: str | Path) -> Path:
    return write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n", target)
