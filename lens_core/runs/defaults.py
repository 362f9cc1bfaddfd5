"""Defaults chosen from the data: which metric a page opens on."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lens_core.format import MLFLOW_INF


def default_metric(runs: pd.DataFrame, metric_columns: Sequence[str]) -> str | None:
    """The metric column most runs have a finite value of (a page should not open on a metric 7 of 30 runs
    logged); ties go to the metric logged most recently (the latest ``start_time`` among the runs that have it),
    then to the earlier column in ``metric_columns`` — so callers pass them in their order of preference.
    None when there is no candidate column.

    ``runs`` is the wide runs table (``lens_core.trackers.runs_table``); ``metric_columns`` are its ``metrics.<key>``
    columns (absent ones are skipped). MLflow's ±1.797e308 sentinel counts as non-finite."""
    candidates = [c for c in dict.fromkeys(metric_columns) if c in runs]
    if not candidates:
        return None
    starts = _start_times(runs)
    best: tuple[int, int, int] | None = None  # (count, latest start in ns, -position): larger is better
    chosen: str | None = None
    for position, column in enumerate(candidates):
        values = pd.to_numeric(runs[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        has = np.isfinite(values) & (np.abs(values) < MLFLOW_INF)
        latest = int(starts[has].max()) if has.any() else np.iinfo("int64").min
        key = (int(has.sum()), latest, -position)
        if best is None or key > best:
            best, chosen = key, column
    return chosen


def _start_times(runs: pd.DataFrame) -> np.ndarray:
    """Start times as int64 nanoseconds; runs without one sort as the oldest."""
    oldest = np.iinfo("int64").min
    if "start_time" not in runs:
        return np.full(len(runs), oldest, dtype="int64")
    times = pd.to_datetime(pd.Series(runs["start_time"]).reset_index(drop=True), utc=True, errors="coerce")
    epoch_ns = times.fillna(pd.Timestamp(0, tz="UTC")).dt.as_unit("ns").astype("int64").to_numpy()
    return np.where(times.isna().to_numpy(), oldest, epoch_ns)
