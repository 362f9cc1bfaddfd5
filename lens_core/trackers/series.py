"""Metric series: the long history frame and extreme-preserving downsampling."""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns and dtypes of every metric history frame.
HISTORY_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "key": "str",
    "step": "int64",
    "timestamp": "int64",
    "value": "float64",
}


def downsample_minmax(history: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """Cap every (run_id, key) series at about ``max_points`` rows.

    Each series is cut into ``max_points // 2 - 1`` buckets of consecutive rows; a bucket keeps the rows holding
    its minimum and its maximum (in logging order), and every series keeps its first and last row. So spikes and
    divergence survive, unlike fixed-stride sampling. Series already short enough are returned untouched. Work is
    done on integer arrays (one bucket key per row), not by grouping the string columns.
    """
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    if history.empty:
        return history
    code = history.groupby(["run_id", "key"], sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    if len(starts) != code.max() + 1:  # a series is split across the frame: make each contiguous first
        history = history.iloc[np.argsort(code, kind="stable")].reset_index(drop=True)
        code = np.sort(code, kind="stable")
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    lengths = np.diff(np.r_[starts, len(code)])
    if lengths.max() <= max_points:
        return history
    sizes = np.repeat(lengths, lengths)
    position = np.arange(len(code)) - np.repeat(starts, lengths)
    n_buckets = max(1, max_points // 2 - 1)
    bucket = np.where(sizes > max_points, position * n_buckets // sizes, position)
    group = code.astype(np.int64) * (max_points + 1) + bucket
    values = history["value"].to_numpy(dtype=float)
    # NaN points must not win a bucket's minimum or maximum silently
    lowest = pd.Series(np.where(np.isnan(values), np.inf, values)).groupby(group, sort=False).idxmin().to_numpy()
    highest = pd.Series(np.where(np.isnan(values), -np.inf, values)).groupby(group, sort=False).idxmax().to_numpy()
    keep = (sizes <= max_points) | (position == 0) | (position == sizes - 1)
    keep[lowest] = True
    keep[highest] = True  # positions: the value Series above carry a RangeIndex
    return history[keep].reset_index(drop=True)
