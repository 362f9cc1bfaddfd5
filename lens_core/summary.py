"""Experiment-level summaries of a runs table."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


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
    times = pd.concat([runs["start_time"], runs["end_time"]]).dropna() if len(runs) else pd.Series(dtype=object)
    return StatusCounts(
        total=len(runs),
        finished=int((status == "FINISHED").sum()),
        failed=int(status.isin(["FAILED", "KILLED"]).sum()),
        running=int(status.isin(["RUNNING", "SCHEDULED"]).sum()),
        last_update=pd.Timestamp(times.max()) if len(times) else None,
    )
