"""Tracker faults in plain words, in one place.

Every public read and write of a :class:`~lens_core.trackers.base.Tracker` runs under :func:`translating`, so an
exception an adapter lets escape (sqlite3, ADBC, SQLAlchemy, requests, MLflow, OSError, …) reaches callers as a
:class:`~lens_core.errors.LensError` saying what happened and what to do: a busy store, a store file that was
deleted, emptied, truncated or overwritten, a URL answering a web page instead of MLflow's API, a server that
stopped answering. Messages never carry SQL text, nor paths the user did not name.

A *page run* (:func:`page_run`, entered by the Streamlit page guard) remembers, per tracker, a slow fault (a server
that does not answer, a store that stays locked): later calls in the same page run fail at once instead of waiting
again, and the next page run (a rerun, Retry) tries for real. It also collects why last good data was served, so the
page can say its data is stale.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lens_core.errors import (
    ArtifactNotFoundError,
    LensError,
    NotMlflowApiError,
    StoreBusyError,
    StoreDamagedError,
    TrackerAuthError,
    TrackerFaultError,
    TrackerUnreachableError,
    TrackerWriteError,
)
from lens_core.redact import redact

if TYPE_CHECKING:
    from lens_core.trackers.base import Tracker

#: The public tracker methods whose exceptions are translated, and what each is doing (for messages).
GUARDED: dict[str, str] = {
    "experiments": "listing the experiments",
    "runs": "reading the runs",
    "run": "reading a run",
    "logged_models": "reading a run's logged models",
    "metric_history": "reading metric histories",
    "metric_extremes": "reading metric minima and maxima",
    "artifacts": "listing artifacts",
    "fetch_artifact": "reading an artifact",
    "set_tags": "saving tags",
    "set_experiment_tags": "saving experiment tags",
}
#: Faults after which a tracker may serve the last data it read, labelled stale.
LAST_GOOD_ERRORS: tuple[type[LensError], ...] = (TrackerUnreachableError, TrackerAuthError, TrackerFaultError)
#: Faults that cost time (a timeout, a busy wait): within one page run they are not waited for twice.
SLOW_ERRORS: tuple[type[LensError], ...] = (TrackerUnreachableError, StoreBusyError)

WEB_PAGE = ("answered with a web page, not the MLflow API — is there a login proxy in front of it? Use the API URL "
            "or a token (MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD).")
BUSY = "the store is busy: a training job holds a write lock; try again in a moment."

_SQLITE_HEADER = b"SQLite format 3\x00"
_SQL = re.compile(r"(?is)\b(select|insert\s+into|update\s+\w+\s+set|delete\s+from|create\s+table|pragma)\b")
_ABS_PATH = re.compile(r"(?:(?<=[\s'\"(=])|^)(?:/[^\s'\"():;,]+)+|[A-Za-z]:\\[^\s'\"():;,]+")


# ---- page runs ----------------------------------------------------------------------------------------------------
@dataclass
class PageRun:
    """What one run of a page learnt about its trackers."""

    #: Why last good data was served (one message per serving).
    stale: list[str] = field(default_factory=list)
    #: Set when the page already told the user its data is stale (so the guard does not say it twice).
    notified: bool = False
    #: Slow faults seen, by ``id(tracker)``: later calls in this page run fail at once with the same message.
    failed: dict[int, LensError] = field(default_factory=dict)
    #: Called with the message each time last good data is served (the page guard shows a notice).
    on_stale: Callable[[str], None] | None = None
    #: Whether this page run is still the one running (the Streamlit boundary checks its script run).
    alive: Callable[[], bool] = lambda: True
    #: Who started it (the Streamlit page guard keeps its notice slot there).
    owner: object | None = None


_current: ContextVar[PageRun | None] = ContextVar("lens_page_run", default=None)


def start_page_run(run: PageRun) -> PageRun:
    """Make ``run`` the current page run of this context (a Streamlit script run has a context of its own)."""
    _current.set(run)
    return run


@contextmanager
def page_run() -> Iterator[PageRun]:
    """A page run for the block (nested blocks share the outer one): for code outside Streamlit and tests."""
    if (outer := current()) is not None:
        yield outer
        return
    run = PageRun()
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


def current() -> PageRun | None:
    run = _current.get()
    return run if run is not None and run.alive() else None


def note_stale(error: BaseException) -> None:
    """Last good data was served because of ``error``."""
    if (run := current()) is not None:
        run.stale.append(str(error))
        if run.on_stale is not None:
            run.on_stale(str(error))


# ---- translation --------------------------------------------------------------------------------------------------
@contextmanager
def translating(tracker: Tracker, what: str, *, fail_fast: bool = True) -> Iterator[None]:
    """Run a tracker call: every exception leaves as a LensError (see :func:`translate`). Within a page run, a
    tracker that already failed slowly fails again at once (``fail_fast``)."""
    run = current()
    if fail_fast and run is not None and (known := run.failed.get(id(tracker))) is not None:
        raise type(known)(*known.args)
    try:
        yield
    except LensError as exc:
        _remember(run, tracker, exc)
        raise
    except Exception as exc:
        fault = translate(exc, tracker, what)
        _remember(run, tracker, fault)
        raise fault from exc


def _remember(run: PageRun | None, tracker: Tracker, error: LensError) -> None:
    if run is not None and isinstance(error, SLOW_ERRORS):
        run.failed[id(tracker)] = error


def translate(exc: BaseException, tracker: Tracker | None = None, what: str = "reading the tracker") -> LensError:
    """``exc`` as a LensError: itself when it is one, else a classified fault, else a generic
    :class:`TrackerFaultError` (:class:`TrackerWriteError` for writes, :class:`ArtifactNotFoundError` for an
    artifact file that cannot be read)."""
    if isinstance(exc, LensError):
        return exc
    if (fault := classify(exc, tracker, what)) is not None:
        return fault
    where = _where(tracker)
    detail = f"{type(exc).__name__}" + (f": {text}" if (text := scrub(str(exc), tracker)) else "")
    if what in (GUARDED["set_tags"], GUARDED["set_experiment_tags"]):
        return TrackerWriteError(f"Could not save the tags to {where} ({detail}). Try again in a moment.")
    if isinstance(exc, OSError) and what in (GUARDED["artifacts"], GUARDED["fetch_artifact"]):
        reason = exc.strerror or type(exc).__name__
        return ArtifactNotFoundError(f"The artifact could not be read ({reason}). Check that the run's artifact "
                                     "folder is still there and readable, then try again.")
    return TrackerFaultError(f"{where} failed while {what} ({detail}). Try again; if it keeps failing, check that "
                             "the tracker is healthy.")


def classify(exc: BaseException, tracker: Tracker | None = None, what: str = "reading the tracker") -> LensError | None:
    """The fault ``exc`` stands for — a busy or damaged sqlite store, a server that stopped answering, refused
    the credentials or answered a web page — or None when it is none of these."""
    if isinstance(exc, LensError):
        return exc
    text = str(exc)
    low = text.lower()
    store = store_path(tracker)
    module = type(exc).__module__ or ""
    sqlite_error = isinstance(exc, sqlite3.Error) or module.startswith(("adbc_driver", "sqlalchemy")) or (
        "sqlite" in low) or (store is not None and module.startswith("mlflow"))
    if (sqlite_error or (store is not None and isinstance(exc, OSError))) and (
            fault := _sqlite_fault(low, store, sqlite_error)):
        return fault
    if _is_json_error(exc, low) and _is_http(tracker):
        return NotMlflowApiError(f"{_where(tracker)} {WEB_PAGE}")
    if _is_connection_error(exc):
        return TrackerUnreachableError(
            f"{_where(tracker)} stopped answering while {what} ({type(exc).__name__}). Check that it is running and "
            "reachable, then try again."
        )
    if module.startswith("mlflow"):
        return _mlflow_fault(exc, tracker, what, text)
    return None


def _mlflow_fault(exc: BaseException, tracker: Tracker | None, what: str, text: str) -> LensError | None:
    status = 0
    if hasattr(exc, "get_http_status_code") and type(exc).__name__ == "RestException":
        try:
            status = int(exc.get_http_status_code())  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            status = 0
    if status in (401, 403):
        return TrackerAuthError(
            f"{_where(tracker)} refused access (HTTP {status}). Set MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) to an account that can read this server."
        )
    if status >= 500:
        return TrackerUnreachableError(
            f"{_where(tracker)} stopped answering while {what} (HTTP {status}): {scrub(text, tracker)[:200]}")
    if "API request to" in text and ("failed" in text or "Max retries" in text or "timeout" in text.lower()):
        if found := re.search(r"too many (\d{3}) error responses", text):
            why = f"HTTP {found.group(1)}"
        elif "timeout" in text.lower() or "timed out" in text.lower():
            why = "no answer within the request timeout, MLFLOW_HTTP_REQUEST_TIMEOUT"
        elif "refused" in text.lower():
            why = "connection refused"
        else:
            why = scrub(text, tracker, limit=300)
        return TrackerUnreachableError(f"{_where(tracker)} stopped answering while {what} ({why}). Try again in a "
                                       "moment; check that the server is running and reachable.")
    return None


def _sqlite_fault(low: str, store: Path | None, sqlite_error: bool) -> LensError | None:
    if sqlite_error and ("database is locked" in low or "database is busy" in low or "sqlite_busy" in low
                         or "database table is locked" in low):
        return StoreBusyError(f"The store {store.name} is busy: {BUSY.split(': ', 1)[1]}" if store is not None
                              else BUSY[0].upper() + BUSY[1:])
    if store is not None and (damaged := store_file_fault(store)) is not None:
        return damaged
    if not sqlite_error:
        return None
    name = store.name if store is not None else "The sqlite store"
    if "file is not a database" in low or "not a database" in low:
        return StoreDamagedError(f"{name} is not a SQLite database any more: its content was replaced by something "
                                 "else. Restore it from a backup, or point the tracking URI at the real store.")
    if "malformed" in low:
        return StoreDamagedError(
            f"{name} is damaged (SQLite reports a malformed database image). Check it with "
            f"`sqlite3 {name} 'PRAGMA integrity_check'` and restore it from a backup.")
    if "no such table" in low:
        return StoreDamagedError(f"{name} is a SQLite database but no longer an MLflow store: its MLflow tables are "
                                 "missing. Point the tracking URI at the mlflow.db your jobs log to.")
    if "unable to open" in low or "failed to open" in low:
        return StoreDamagedError(f"{name} cannot be opened: check that this app may read the file and its folder.")
    if "disk i/o error" in low:
        return StoreDamagedError(f"Reading {name} failed with a disk I/O error: the file may be on a failing or "
                                 "disconnected disk, or was replaced while being read. Try again; if it keeps "
                                 "failing, check the disk.")
    return None


def store_file_fault(path: Path) -> StoreDamagedError | None:
    """What is wrong with a sqlite store file — gone, empty, not SQLite, truncated — or None when it looks whole.
    Reads its 100-byte header only."""
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return StoreDamagedError(f"{name} is no longer there ({path}) — was it moved or deleted? Restore it, or point "
                                 "the tracking URI at its new place.")
    except OSError:
        return None
    if size == 0:
        return StoreDamagedError(f"{name} is empty (0 bytes): it was emptied, or is being rewritten. Restore it "
                                 "from a backup, or point the tracking URI at the store your jobs log to.")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError:
        return None
    if not header.startswith(_SQLITE_HEADER):
        return StoreDamagedError(f"{name} is not a SQLite database any more: its content was replaced by something "
                                 "else. Restore it from a backup, or point the tracking URI at the real store.")
    if len(header) == 100:
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        valid = header[24:28] == header[92:96]  # the in-header size is trusted only when this matches
        if valid and pages and page_size * pages > size:
            return StoreDamagedError(
                f"{name} is truncated: {size:,} bytes of the {page_size * pages:,} its header declares (a copy that "
                "did not finish, or a full disk). Restore it from a backup.")
    elif size < 100:
        return StoreDamagedError(f"{name} is truncated ({size} bytes): restore it from a backup.")
    return None


# ---- helpers ------------------------------------------------------------------------------------------------------
def store_path(tracker: Tracker | None) -> Path | None:
    """The sqlite file behind a tracker, when there is one."""
    if tracker is None:
        return None
    path = getattr(tracker, "db_path", None)
    if isinstance(path, Path):
        return path
    uri = str(getattr(tracker, "uri", "") or "")
    if uri.startswith("sqlite:"):  # sqlite:////abs/path → /abs/path, sqlite:///relative.db → relative.db
        rest = uri.removeprefix("sqlite:")
        rest = rest[3:] if rest.startswith("///") else rest.removeprefix("//")
        return Path(rest.split("?")[0]) if rest else None
    return None


def _is_http(tracker: Tracker | None) -> bool:
    return str(getattr(tracker, "uri", "") or "").startswith(("http://", "https://"))


def _where(tracker: Tracker | None) -> str:
    if tracker is None:
        return "The tracker"
    shown = tracker.display_uri
    if _is_http(tracker):
        return f"The MLflow server at {shown}"
    if (store := store_path(tracker)) is not None:
        return f"The store {store.name}"
    return f"The tracker at {shown}"


def _is_json_error(exc: BaseException, low: str) -> bool:
    return isinstance(exc, json.JSONDecodeError) or "not in a valid json format" in low or (
        "is not a valid json" in low) or type(exc).__name__ == "JSONDecodeError"


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    module = type(exc).__module__ or ""
    if module.startswith(("requests", "urllib3")):
        names = {c.__name__ for c in type(exc).__mro__}
        return bool(names & {"ConnectionError", "Timeout", "TimeoutError", "ProtocolError", "MaxRetryError",
                             "NewConnectionError", "ReadTimeoutError", "RetryError", "ChunkedEncodingError"})
    return False


def scrub(text: str, tracker: Tracker | None = None, limit: int = 200) -> str:
    """The first line of an exception message without SQL and without absolute paths the user did not name
    (the store's own path, which they named, stays); "" when nothing safe is left."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = re.split(r"(?i)\bquery:|\[SQL:", first)[0].strip()
    if _SQL.search(first):
        return ""
    named = str(store_path(tracker) or "")

    def keep(match: re.Match[str]) -> str:
        return match.group(0) if named and match.group(0).startswith(named) else "…"

    first = _ABS_PATH.sub(keep, first)
    first = redact(first)
    return first[:limit] + ("…" if len(first) > limit else "")


def is_read_fault(exc: BaseException) -> bool:
    """Whether an exception that is no LensError comes from reading a tracker or an artifact (what the page guard
    turns into a message): file and database errors, HTTP and MLflow errors."""
    if isinstance(exc, (LensError, OSError, sqlite3.Error, json.JSONDecodeError)):
        return True
    module = type(exc).__module__ or ""
    if module.startswith(("mlflow", "requests", "urllib3", "adbc_driver", "sqlalchemy")):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if "/lens_core/trackers/" in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False
