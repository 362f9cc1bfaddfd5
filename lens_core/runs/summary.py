"""Experiment-level summaries of a runs table."""
from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

import pandas as pd

from lens_core.model import Experiment

#: Statuses of runs that have not ended.
RUNNING_STATUSES = ("RUNNING", "SCHEDULED")
#: A run marked running that has shown no activity for this long is taken for abandoned (a crashed job never ends
#: its run): live refresh does not wait for it.
LIVE_WINDOW = pd.Timedelta(hours=1)
#: Running runs whose latest metric time is looked up at most (the most recently started first); older ones are
#: judged by their start time alone.
MAX_ACTIVITY_LOOKUPS = 50


@dataclass(frozen=True, slots=True)
class StatusCounts:
    total: int
    finished: int
    failed: int  # FAILED and KILLED
    running: int  # RUNNING and SCHEDULED
    last_update: pd.Timestamp | None  # latest start or end time

    @property
    def progress(self) -> float:
        """Share of runs that have ended, finished or failed."""
        return (self.finished + self.failed) / self.total if self.total else 0.0


def status_counts(runs: pd.DataFrame) -> StatusCounts:
    status = runs["status"] if len(runs) else pd.Series(dtype=str)
    times = (
        pd.concat([pd.to_datetime(runs[c], utc=True) for c in ("start_time", "end_time")]).dropna()
        if len(runs)
        else pd.Series(dtype=object)
    )
    return StatusCounts(
        total=len(runs),
        finished=int((status == "FINISHED").sum()),
        failed=int(status.isin(["FAILED", "KILLED"]).sum()),
        running=int(status.isin(["RUNNING", "SCHEDULED"]).sum()),
        last_update=pd.Timestamp(times.max()) if len(times) else None,
    )


def newest_experiment(experiments: Sequence[Experiment]) -> Experiment:
    """The experiment a user most likely works on: the most recently created one other than MLflow's
    automatic "Default" (unless it is the only one)."""
    candidates = [e for e in experiments if not (e.experiment_id == "0" and e.name == "Default")] or list(experiments)
    return max(
        candidates,
        key=lambda e: (e.creation_time is not None, e.creation_time or pd.Timestamp(0, tz="UTC"),
                       len(e.experiment_id), e.experiment_id),
    )


def short_uri(uri: str) -> str:
    """A tracker URI short enough for a sidebar: the file name of a local store, the host of a server."""
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        return parsed.hostname + (f":{parsed.port}" if parsed.port else "") if parsed.hostname else uri
    return PurePosixPath(parsed.path or uri).name or uri


# ---- live or abandoned: which running runs still change ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Liveness:
    """The runs marked running, split by whether they changed within ``window``."""

    live: tuple[str, ...]  # changed within the window (or started within it)
    stale: tuple[str, ...]  # marked running, quiet for longer than the window
    stale_since: pd.Timestamp | None  # the newest activity among the stale runs (UTC), None when they show none
    window: pd.Timedelta = LIVE_WINDOW

    @property
    def note(self) -> str | None:
        """What to tell the user about the stale runs, None when there are none."""
        n = len(self.stale)
        if not n:
            return None
        runs = "1 run is" if n == 1 else f"{n:,} runs are"
        changed = "has not changed" if n == 1 else "have not changed"
        since = (f"since {self.stale_since:%b %d %Y, %H:%M} UTC" if self.stale_since is not None
                 else "since they were created")
        return (f"{runs} marked running but {changed} {since}: a job that crashed or was killed never ends its run. "
                f"Live refresh waits only for runs that changed within the last {_span(self.window)}.")


def _span(window: pd.Timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def running_liveness(
    runs: pd.DataFrame,
    *,
    latest: Callable[[list[str]], Mapping[str, pd.Timestamp]] | None = None,
    known: MutableMapping[str, pd.Timestamp] | None = None,
    now: pd.Timestamp | None = None,
    window: pd.Timedelta = LIVE_WINDOW,
    max_lookups: int = MAX_ACTIVITY_LOOKUPS,
) -> Liveness:
    """Split the running runs of a runs table into live and stale ones.

    A run's latest activity is the newest of its start time, what ``known`` remembers for it and — for runs that
    look quiet otherwise, at most ``max_lookups`` of them, the most recently started first — the latest metric
    time ``latest(run_ids)`` returns (see :func:`latest_metric_times`). The runs table itself has no last-change
    time, so without ``latest`` this is the start time. ``known`` (run id → activity) is updated with what was
    found, so a run seen active is not looked up again until it has been quiet for a whole window."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    known = {} if known is None else known
    if runs.empty or "status" not in runs:
        return Liveness((), (), None, window)
    running = runs.loc[runs["status"].isin(RUNNING_STATUSES)]
    starts = pd.to_datetime(running["start_time"], utc=True) if "start_time" in running else pd.Series(
        pd.NaT, index=running.index, dtype="datetime64[us, UTC]")
    activity: dict[str, pd.Timestamp | None] = {}
    for run_id, start in zip(running["run_id"].astype(str), starts, strict=True):
        seen = [t for t in (None if pd.isna(start) else pd.Timestamp(start), known.get(run_id)) if t is not None]
        activity[run_id] = max(seen) if seen else None
    horizon = now - window

    def quiet(run_id: str) -> bool:
        return activity[run_id] is None or activity[run_id] < horizon

    if latest is not None:
        ask = sorted((r for r in activity if quiet(r)),
                     key=lambda r: activity[r] or pd.Timestamp.min.tz_localize("UTC"),
                     reverse=True)[:max(0, max_lookups)]
        if ask:
            for run_id, when in latest(ask).items():
                if when is None or pd.isna(when) or run_id not in activity:
                    continue
                when = pd.Timestamp(when)
                when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
                if activity[run_id] is None or when > activity[run_id]:
                    activity[run_id] = when
    for run_id, when in activity.items():
        if when is not None:
            known[run_id] = when
    live = tuple(r for r in activity if not quiet(r))
    stale = tuple(r for r in activity if quiet(r))
    times = [activity[r] for r in stale if activity[r] is not None]
    return Liveness(live, stale, max(times) if times else None, window)


def latest_metric_times(tracker: object, run_ids: Sequence[str]) -> dict[str, pd.Timestamp]:
    """The time of each run's latest metric point (UTC), from its metric history; runs without metrics are
    left out. ``tracker`` is a :class:`lens_core.trackers.Tracker`."""
    if not run_ids:
        return {}
    history = tracker.metric_history(list(run_ids))  # type: ignore[attr-defined]
    if history.empty:
        return {}
    newest = history.groupby("run_id", sort=False)["timestamp"].max().dropna()
    times = pd.to_datetime(newest.astype("int64"), unit="ms", utc=True)
    return {str(run_id): pd.Timestamp(when) for run_id, when in times.items()}
