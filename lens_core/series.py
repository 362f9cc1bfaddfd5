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

    Each series is cut into ``max_points // 2`` buckets of consecutive rows; a bucket keeps the rows holding its
    minimum and its maximum (in logging order), and every series keeps its first and last row. So spikes and
    divergence survive, unlike fixed-stride sampling. Series already short enough are returned untouched.
    """
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    if history.empty:
        return history
    sizes = history.groupby(["run_id", "key"], sort=False)["value"].transform("size").to_numpy()
    if sizes.max() <= max_points:
        return history
    position = history.groupby(["run_id", "key"], sort=False).cumcount().to_numpy()
    n_buckets = max(1, max_points // 2 - 1)
    bucket = np.where(sizes > max_points, position * n_buckets // np.maximum(sizes, 1), position)
    frame = history.assign(_bucket=bucket, _pos=position, _size=sizes)
    values = frame["value"].fillna(np.inf)  # NaN points must not win a bucket's minimum silently
    group = [frame["run_id"], frame["key"], frame["_bucket"]]
    is_min = values.groupby(group, sort=False).transform("idxmin") == frame.index
    is_max = frame["value"].fillna(-np.inf).groupby(group, sort=False).transform("idxmax") == frame.index
    keep = (sizes <= max_points) | is_min.to_numpy() | is_max.to_numpy() | (position == 0) | (position == sizes - 1)
    return history[keep].reset_index(drop=True)
