"""Runs tables kept on disk, shared by every app process (and replica) that uses the same cache folder.

Each experiment's runs table (and metric extremes) is one Parquet file under ``<cache>/catalog/``, named by a
digest of the tracker URI (credentials never reach a file name), the experiment and the kind of table. The
tracker's change token — the cheap probe that says whether the experiment may have changed (sqlite: the file's
and its WAL's size and time; mlruns: the run folders' stats) — is written into the same file's metadata, so a
table and the token it was read under are replaced together, atomically (write aside, then ``os.replace``). A
table is served only when the token a process takes *now* equals the stored one; otherwise the tracker is read
and the file replaced.

Adapters without a token (HTTP) validate a stored table differently: they refresh it incrementally
(:meth:`~lens_core.trackers.base.Tracker._refresh_runs`), so their files carry, instead of a token to compare, the
times of the last full read and of the last check (``lens.full_read_at`` / ``lens.checked_at``, epoch seconds) and
the ratings written through ExperimentLens since (``lens.tag_writes``); see :func:`read` and :func:`locked`.

Files are Parquet, never pickles: the cache folder may be shared, and reading it must not run code. Column
dtypes are stored beside the data and restored, so a table read back equals the one written.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lens_core.paths import cache_dir

#: Files kept at most; the least recently written go first (a 10k-run table is a few MB).
MAX_FILES = 256
_META_TOKEN = b"lens.token"
_META_DTYPES = b"lens.dtypes"
_META_VERSION = b"lens.version"
#: Bump when the runs table's layout changes, so tables written by older code are not served.
FORMAT_VERSION = b"1"
_prune_lock = threading.Lock()


def token_digest(token: Hashable) -> str:
    """A stable text for a change token (Python's ``hash`` differs between processes; ``repr`` of tuples of
    numbers and strings does not)."""
    return hashlib.sha256(repr(token).encode()).hexdigest()


def folder() -> Path:
    path = cache_dir() / "catalog"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_for(uri: str, experiment_id: str, kind: str) -> Path:
    tracker = hashlib.sha256(uri.encode()).hexdigest()[:24]
    experiment = hashlib.sha256(str(experiment_id).encode()).hexdigest()[:16]
    return folder() / f"{tracker}-{experiment}-{kind}.parquet"


def load(uri: str, experiment_id: str, kind: str, token: Hashable) -> pd.DataFrame | None:
    """The table stored for this tracker, experiment and kind if it was read under ``token``; else None (also
    when the file is missing, half-written by a crashed process or from another version)."""
    found = read(uri, experiment_id, kind, token)
    return None if found is None else found[0]


def read(uri: str, experiment_id: str, kind: str, token: Hashable) -> tuple[pd.DataFrame, dict[str, str]] | None:
    """Like :func:`load`, with the file's own ``lens.*`` metadata (besides token, dtypes and version) as text."""
    path = file_for(uri, experiment_id, kind)
    try:
        meta = pq.read_schema(path).metadata or {}
        if meta.get(_META_VERSION) != FORMAT_VERSION or meta.get(_META_TOKEN) != token_digest(token).encode():
            return None
        table = pq.read_table(path)
        frame = _restore(table, json.loads(meta[_META_DTYPES]))
    except (OSError, pa.ArrowException, ValueError, KeyError):
        return None
    return frame, _extra(meta)


def stored_meta(uri: str, experiment_id: str, kind: str, token: Hashable) -> dict[str, str] | None:
    """The ``lens.*`` metadata of the stored table (its schema only: cheap), None without a usable file."""
    try:
        meta = pq.read_schema(file_for(uri, experiment_id, kind)).metadata or {}
    except (OSError, pa.ArrowException, ValueError):
        return None
    if meta.get(_META_VERSION) != FORMAT_VERSION or meta.get(_META_TOKEN) != token_digest(token).encode():
        return None
    return _extra(meta)


def _extra(meta: Mapping[bytes, bytes]) -> dict[str, str]:
    own = (_META_TOKEN, _META_DTYPES, _META_VERSION)
    return {k.decode(): v.decode() for k, v in meta.items() if k.startswith(b"lens.") and k not in own}


@contextmanager
def locked(uri: str, experiment_id: str, kind: str) -> Iterator[None]:
    """Hold the stored table's lock for a read-modify-write (processes on this machine; where file locks are not
    available, no lock)."""
    path = file_for(uri, experiment_id, kind)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        handle = open(path.with_name(f".{path.name}.lock"), "a+b")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def save(uri: str, experiment_id: str, kind: str, token: Hashable, frame: pd.DataFrame,
         extra: Mapping[str, str] | None = None) -> None:
    """Store ``frame`` read under ``token`` (``extra``: more ``lens.*`` metadata, text); a failure to write only
    costs the next process a read."""
    path = file_for(uri, experiment_id, kind)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        table = pa.Table.from_pandas(_plain(frame), preserve_index=False)
        dtypes = {str(c): str(frame[c].dtype) for c in frame.columns}
        table = table.replace_schema_metadata({
            **{k.encode(): str(v).encode() for k, v in (extra or {}).items() if k.startswith("lens.")},
            _META_TOKEN: token_digest(token).encode(),
            _META_DTYPES: json.dumps(dtypes).encode(),
            _META_VERSION: FORMAT_VERSION,
        })
        pq.write_table(table, aside)
        os.replace(aside, path)  # readers see the old file or the new one, never half of one
    except (OSError, pa.ArrowException, ValueError, TypeError):
        aside.unlink(missing_ok=True)
        return
    _prune()


def read_note(uri: str, experiment_id: str, name: str) -> str | None:
    """A small text an adapter keeps beside an experiment's tables (what a fresh process must know to take the
    same change token); None when there is none."""
    try:
        return file_for(uri, experiment_id, name).with_suffix(".txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def save_note(uri: str, experiment_id: str, name: str, text: str) -> None:
    """Write a note atomically (a failure only costs the next process a read)."""
    path = file_for(uri, experiment_id, name).with_suffix(".txt")
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        aside.write_text(text, encoding="utf-8")
        os.replace(aside, path)
    except OSError:
        aside.unlink(missing_ok=True)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns Arrow stores as they are: object columns become strings (None kept)."""
    out = frame.copy()
    out.attrs = {}  # load times and stale notes belong to the process that read them
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(lambda v: v if v is None else str(v)).astype(object)
    return out


def _restore(table: pa.Table, dtypes: dict[str, str]) -> pd.DataFrame:
    frame = table.to_pandas()
    for name, dtype in dtypes.items():
        if name not in frame.columns:
            continue
        if dtype == "object":
            column = frame[name].astype(object)
            frame[name] = column.where(column.notna(), None)
        elif str(frame[name].dtype) != dtype:
            frame[name] = frame[name].astype(dtype)
    return frame


def _prune() -> None:
    """Keep the newest :data:`MAX_FILES` tables."""
    if not _prune_lock.acquire(blocking=False):
        return
    try:
        files = sorted(folder().glob("*.parquet"), key=lambda p: _mtime(p), reverse=True)
        for old in files[MAX_FILES:]:
            old.unlink(missing_ok=True)
            old.with_name(f".{old.name}.lock").unlink(missing_ok=True)
    finally:
        _prune_lock.release()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
