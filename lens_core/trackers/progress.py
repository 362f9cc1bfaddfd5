"""Progress of long tracker reads, and how fresh a runs table is — in words a page can show.

A runs table read page by page (an ``mlflow server`` over HTTP) reports each page, and a heartbeat while a page is
on its way, to :class:`LoadProgress` — a thread-safe value kept per experiment on the tracker
(``tracker.progress(experiment_id)``) — and to the *sink* the calling code installed with :func:`reporting` (a
context variable, so each page run of each session has its own). A session that asks for a table another session
is already reading waits for that read and sees its progress too.

Pages show it with one line around their read (:func:`lens_core.ui.progress.runs_loading`, which also shows the
first page's runs, :attr:`LoadProgress.preview`, while the rest come)::

    with runs_loading(st.empty()):
        runs = shell.runs(tracker, experiment_id)

Nothing is shown for reads shorter than :data:`QUIET_SECONDS`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

#: Reads shorter than this show nothing.
QUIET_SECONDS = 1.0
#: A sink is called at most this often (plus once per page).
EVERY_SECONDS = 0.25

Sink = Callable[["LoadProgress"], None]
_sink: ContextVar[Sink | None] = ContextVar("lens_progress_sink", default=None)


@dataclass(frozen=True)
class LoadProgress:
    """Where a read of an experiment's runs stands."""

    experiment_id: str
    runs_read: int = 0
    pages: int = 0
    started: float = field(default_factory=time.monotonic)
    #: "reading" (a full read), "checking" (an incremental refresh), "loading" (the shared catalog).
    phase: str = "reading"
    #: Runs in the experiment when known (MLflow's API gives no count: usually None).
    total: int | None = None
    done: bool = False
    #: The runs of the first page of a full read (MLflow answers newest first), for a page to show while the rest
    #: comes; None before it arrives and for other reads.
    preview: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.runs_read / self.total)

    def text(self) -> str:
        took = f"{self.seconds:,.0f} s"
        if self.phase == "checking":
            return f"Checking the server for new and changed runs… {took}"
        if self.total:
            return f"{self.runs_read:,} of {self.total:,} runs read from the server… {took}"
        if self.runs_read:
            return f"{self.runs_read:,} runs read from the server… {took}"
        return f"Reading the runs from the server… {took}"


class ProgressBoard:
    """The reads in progress on one tracker, by experiment (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now: dict[str, LoadProgress] = {}

    def get(self, experiment_id: str) -> LoadProgress | None:
        with self._lock:
            return self._now.get(str(experiment_id))

    @contextmanager
    def reading(self, experiment_id: str, phase: str = "reading") -> Iterator[Callable[..., None]]:
        """Track one read; yields ``update(runs_read=…, pages=…)``, which also feeds the caller's sink."""
        key = str(experiment_id)
        state = LoadProgress(key, phase=phase)
        with self._lock:
            self._now[key] = state
        sink = _sink.get()
        shown = [0.0]

        def update(**changes: Any) -> None:
            nonlocal state
            state = replace(state, **changes)
            with self._lock:
                self._now[key] = state
            tell(sink, state, shown, force="pages" in changes)

        try:
            yield update
        finally:
            with self._lock:
                if self._now.get(key) is state:
                    del self._now[key]


def tell(sink: Sink | None, state: LoadProgress, shown: list[float], *, force: bool = False) -> None:
    """Pass ``state`` to ``sink`` once the read has taken :data:`QUIET_SECONDS`, at most every
    :data:`EVERY_SECONDS` unless ``force`` (a new page)."""
    if sink is None or state.seconds < QUIET_SECONDS:
        return
    now = time.monotonic()
    if not force and now - shown[0] < EVERY_SECONDS:
        return
    shown[0] = now
    try:
        sink(state)
    except Exception:  # noqa: BLE001 - a page that cannot draw progress must not fail the read
        pass


def current_sink() -> Sink | None:
    return _sink.get()


@contextmanager
def reporting(sink: Sink) -> Iterator[None]:
    """Reads made in this block (this thread / context) report their progress to ``sink``."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


# ---- freshness ----------------------------------------------------------------------------------------------------
def freshness(runs: pd.DataFrame, now: pd.Timestamp | None = None) -> str:
    """How fresh a runs table refreshed incrementally (HTTP) is, e.g. "checked 10 s ago · fully re-read 4 min
    ago"; "" for tables that are current whenever they are served (trackers with a change token) or that do not
    say."""
    checked = runs.attrs.get("lens.loaded_at")
    full = runs.attrs.get("lens.full_read_at")
    if checked is None or "lens.checked_epoch" not in runs.attrs:
        return ""
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    text = f"checked {ago(now - checked)}"
    if full is not None and (checked - full) >= pd.Timedelta(seconds=1):
        text += f" · fully re-read {ago(now - full)}"
    return text


def ago(delta: pd.Timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    if seconds < 2:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
