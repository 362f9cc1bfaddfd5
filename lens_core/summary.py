"""Experiment-level summaries of a runs table."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

import pandas as pd

from lens_core.model import Experiment


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
