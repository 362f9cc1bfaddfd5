"""Local DuckDB copies ("extracts") of big dataset files, so explorer queries scan DuckDB's own storage.

Every query over a file decodes its Parquet pages or parses its CSV again: over a 10M-row file a chart reading three
columns costs three to five times a one-column scan. DuckDB's own columnar storage scans several times faster, so a
big file is copied once, in a background thread, into a DuckDB database file in the cache, and queries switch to the
copy when it is ready. Until then, and whenever a copy cannot be made, they read the file: nothing waits on a copy.

A copy is keyed by the file's real path, size, modification time and format (a changed file gets a new copy), is
written to a partial file renamed into place when complete, is attached read-only, and the copies together stay
under a size limit (least recently used go first).

Settings (environment): ``LENS_EXTRACTS=0`` turns copies off; ``LENS_EXTRACT_MIN_MB`` (default 32) is the smallest
file copied; ``LENS_EXTRACT_CACHE_MB`` (default 4096) bounds all copies together.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Literal

from lens_core.explorer.sources import Source, connection, file_sql
from lens_core.paths import cache_dir

Status = Literal["off", "small", "pending", "building", "ready", "failed"]

#: Bumped when the way copies are made changes (old copies are then ignored and evicted).
VERSION = 1
#: Memory a copy may use while it is written (DuckDB spills the rest to its file).
BUILD_MEMORY = "256MB"
#: Partial files older than this are left over from a stopped process.
STALE_PARTIAL_SECONDS = 3600

log = logging.getLogger(__name__)

_lock = threading.Lock()
_builds: dict[str, threading.Thread] = {}
_failed: dict[str, str] = {}
_attached: dict[str, str] = {}  # key -> the alias it is attached under


def enabled() -> bool:
    return os.environ.get("LENS_EXTRACTS", "1").strip().lower() not in ("0", "false", "no", "off")


def min_bytes() -> int:
    return int(float(os.environ.get("LENS_EXTRACT_MIN_MB", "32")) * 1024**2)


def limit_bytes() -> int:
    return int(float(os.environ.get("LENS_EXTRACT_CACHE_MB", "4096")) * 1024**2)


def root() -> Path:
    folder = cache_dir() / "extracts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def key(source: Source) -> str | None:
    """The copy's key, or None when the file is missing or too small to be worth a copy."""
    try:
        stat = os.stat(source.path)
    except OSError:
        return None
    if stat.st_size < min_bytes():
        return None
    identity = f"{VERSION}|{os.path.realpath(source.path)}|{stat.st_size}|{stat.st_mtime_ns}|{source.format}"
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def _path(k: str) -> Path:
    return root() / f"{k}.duckdb"


def status(source: Source) -> Status:
    """Where the copy of a file stands (for a note on the page)."""
    if not enabled():
        return "off"
    k = key(source)
    if k is None:
        return "small"
    with _lock:
        if k in _builds:
            return "building"
        if k in _failed:
            return "failed"
    try:
        return "ready" if _path(k).is_file() else "pending"
    except OSError:
        return "failed"


def table_sql(source: Source) -> str | None:
    """The SQL name of the file's copy when it is ready; otherwise None, starting the copy if there is none yet."""
    if not enabled():
        return None
    k = key(source)
    if k is None:
        return None
    try:
        path = _path(k)
    except OSError:  # no writable cache folder: read the file
        return None
    with _lock:
        if k in _attached:
            return f"{_attached[k]}.main.data"
        if k in _failed or k in _builds:
            return None
        if not path.is_file():
            thread = threading.Thread(target=_build, args=(source, k), name=f"lens-extract-{k[:8]}", daemon=True)
            _builds[k] = thread
            thread.start()
            return None
        alias = f"lens_extract_{k}"
        try:  # the path is this module's own (cache folder + hex key), written as a literal: ATTACH takes no parameter
            literal = str(path).replace("'", "''")
            connection().execute(f"ATTACH '{literal}' AS {alias} (READ_ONLY)")
        except Exception as exc:  # a copy DuckDB cannot open: read the file instead, and drop the copy
            _failed[k] = str(exc)
            log.warning("dataset copy %s is unreadable, reading the file instead: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        _attached[k] = alias
    try:
        os.utime(path)  # least recently used goes first
    except OSError:
        pass
    return f"{alias}.main.data"


def wait(source: Source, timeout: float = 600.0) -> Status:
    """Wait until the file's copy is built (starting it if needed); its status then."""
    table_sql(source)
    k = key(source)
    with _lock:
        thread = _builds.get(k) if k else None
    if thread is not None:
        thread.join(timeout)
    table_sql(source)  # attaches it
    return status(source)


def _build(source: Source, k: str) -> None:
    import duckdb

    final = _path(k)
    partial = root() / f"{k}.{os.getpid()}.{threading.get_ident()}.partial"
    began = time.perf_counter()
    try:
        src, params = file_sql(source)
        con = duckdb.connect(str(partial), config={"memory_limit": BUILD_MEMORY, "preserve_insertion_order": True})
        try:
            con.execute(f"CREATE TABLE data AS SELECT * FROM {src}", params)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(partial, final)
        log.info("dataset copy of %s built in %.1f s", Path(source.path).name, time.perf_counter() - began)
        _evict(keep=final)
    except Exception as exc:  # unreadable or vanished file, full disk: queries keep reading the file
        with _lock:
            _failed[k] = str(exc)
        log.warning("no dataset copy of %s: %s", Path(source.path).name, exc)
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            leftover.unlink(missing_ok=True)
        with _lock:
            _builds.pop(k, None)


def _evict(keep: Path) -> None:
    """Delete the least recently used copies until all fit the limit; copies in use are detached first."""
    now = time.time()
    for leftover in root().glob("*.partial*"):
        try:
            if now - leftover.stat().st_mtime > STALE_PARTIAL_SECONDS:
                leftover.unlink(missing_ok=True)
        except OSError:
            pass
    copies = []
    for path in root().glob("*.duckdb"):
        try:
            stat = path.stat()
        except OSError:
            continue
        copies.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in copies)
    for _, size, path in sorted(copies):
        if total <= limit_bytes():
            break
        if path == keep:
            continue
        k = path.stem
        with _lock:
            alias = _attached.get(k)
            if alias is not None:
                try:
                    connection().execute(f"DETACH {alias}")
                except Exception:  # in use by a running query: keep it this time
                    continue
                _attached.pop(k, None)
        path.unlink(missing_ok=True)
        total -= size
