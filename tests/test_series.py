"""The extreme-preserving downsampler (lens_core.trackers.series.downsample_minmax), directly and through
Tracker.metric_history(max_points=...)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens_core.trackers.series import HISTORY_COLUMNS, downsample_minmax

N = 100_000


def spiky(run_id: str, key: str, n: int, seed: int) -> pd.DataFrame:
    """A noisy decaying curve with single-point spikes up and down, a NaN, and a restarted step range."""
    rng = np.random.default_rng(seed)
    values = np.exp(-np.arange(n) / (n / 5)) + rng.normal(0, 0.01, n)
    spikes = rng.choice(n, 25, replace=False)
    values[spikes[:12]] += rng.uniform(5, 50, 12)
    values[spikes[12:24]] -= rng.uniform(5, 50, 12)
    values[spikes[24]] = np.nan
    steps = np.arange(n)
    steps[n // 2:] -= 1000  # training resumed from a checkpoint: steps go back
    return pd.DataFrame({"run_id": run_id, "key": key, "step": steps, "timestamp": 1_700_000_000_000 + np.arange(n),
                         "value": values}).astype(HISTORY_COLUMNS)


def check(full: pd.DataFrame, small: pd.DataFrame, max_points: int) -> None:
    for (run_id, key), series in full.groupby(["run_id", "key"]):
        kept = small[(small["run_id"] == run_id) & (small["key"] == key)]
        assert len(kept) <= max_points
        assert kept["value"].max() == series["value"].max()
        assert kept["value"].min() == series["value"].min()
        # every spike (beyond the curve's range) stays visible: within one bucket of it a point at least as
        # extreme is kept (two spikes the same way in one bucket show as the larger one)
        if len(series) > max_points:
            width = int(np.ceil(len(series) / max(1, max_points // 2 - 1)))
            at = series["timestamp"].to_numpy()
            for _, row in series[series["value"].abs() > 2].iterrows():
                near = kept[(kept["timestamp"] - row["timestamp"]).abs() <= width * (at[1] - at[0])]
                assert (near["value"] >= row["value"]).any() if row["value"] > 0 else (near["value"] <= row["value"]).any()
        # first and last points, and logging order, are kept
        assert kept["timestamp"].iloc[0] == series["timestamp"].iloc[0]
        assert kept["timestamp"].iloc[-1] == series["timestamp"].iloc[-1]
        assert kept["timestamp"].is_monotonic_increasing


@pytest.mark.parametrize("max_points", [250, 1000, 5000])
def test_downsample_keeps_every_series_extremes_within_the_budget(max_points):
    full = pd.concat([spiky("r1", "loss", N, 1), spiky("r1", "acc", N // 3, 2), spiky("r2", "loss", 700, 3)],
                     ignore_index=True)
    small = downsample_minmax(full, max_points)
    check(full, small, max_points)
    short = small[small["run_id"] == "r2"]
    assert len(short) == (700 if max_points >= 700 else len(short))  # short series are untouched


def test_downsample_rejects_a_tiny_budget_and_passes_short_input_through():
    with pytest.raises(ValueError):
        downsample_minmax(spiky("r", "k", 40, 0), 3)
    frame = spiky("r", "k", 40, 0)
    assert downsample_minmax(frame, 40) is frame


@pytest.fixture(scope="module")
def long_store(tmp_path_factory):
    """A generated sqlite store whose longest history holds 100k steps, with spikes written into it."""
    import sqlite3

    from benchmarks.generate_store import StoreSpec, generate_sqlite_store
    from lens_core import open_tracker

    path = tmp_path_factory.mktemp("long-series") / "mlflow.db"
    uri = generate_sqlite_store(path, StoreSpec(n_runs=6, n_params=3, n_metrics=2, n_steps=50, seed=3,
                                                long_history_steps=N))
    tracker = open_tracker(uri)
    experiment = next(e for e in tracker.experiments() if e.name == "generated")
    ids = tracker.runs(experiment.experiment_id)["run_id"].tolist()
    lengths = tracker.metric_history(ids).groupby(["run_id", "key"]).size()
    long_run, long_key = lengths.idxmax()
    with sqlite3.connect(path) as con:  # spikes at a few steps of the long series
        for step, value in ((1234, 1e6), (56_789, -1e6), (99_000, 3e5)):
            con.execute("UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = ? AND step = ?",
                        (value, long_run, long_key, step))
    return uri, ids, long_run, long_key


@pytest.mark.parametrize("max_points", [500, 1000])
def test_metric_history_downsamples_on_the_server(long_store, max_points):
    from lens_core import open_tracker

    uri, ids, long_run, long_key = long_store
    tracker = open_tracker(uri)
    full = tracker.metric_history(ids)
    assert full.groupby(["run_id", "key"]).size().max() == N
    small = tracker.metric_history(ids, max_points=max_points)
    check(full, small, max_points)
    series = small[(small["run_id"] == long_run) & (small["key"] == long_key)]
    assert {1e6, -1e6, 3e5} <= set(series["value"])
    assert series["value"].max() == 1e6 and series["value"].min() == -1e6
