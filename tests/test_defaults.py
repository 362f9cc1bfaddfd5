"""Defaults from completeness (lens_core.runs.defaults)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lens_core.format import MLFLOW_INF
from lens_core.runs.defaults import default_metric


def runs_table(start_times: list[str | None], **metrics: list[float]) -> pd.DataFrame:
    """A minimal wide runs table: run_id, start_time (UTC, newest first as MLflow sorts) and metrics.<key>."""
    n = len(start_times)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(n)],
                          "start_time": pd.to_datetime(start_times, utc=True).as_unit("us")})
    return frame.assign(**{f"metrics.{k}": np.asarray(v, dtype="float64") for k, v in metrics.items()})


def test_the_metric_most_runs_have():
    """A sparse metric (7 of 30 runs) is not the default when others exist on every run."""
    n = 30
    sparse = [0.9 if i < 7 else np.nan for i in range(n)]
    runs = runs_table([f"2024-01-{1 + i % 28:02d}" for i in range(n)], auc=sparse, loss=[0.5] * n,
                      accuracy=[0.8] * (n - 1) + [np.nan])
    assert default_metric(runs, ["metrics.auc", "metrics.accuracy", "metrics.loss"]) == "metrics.loss"


def test_non_finite_values_do_not_count():
    runs = runs_table(["2024-01-03", "2024-01-02", "2024-01-01"], a=[MLFLOW_INF, np.inf, 1.0], b=[np.nan, 1.0, 2.0])
    assert default_metric(runs, ["metrics.a", "metrics.b"]) == "metrics.b"


def test_ties_go_to_the_most_recently_logged():
    runs = runs_table(["2024-03-01", "2024-02-01", "2024-01-01"], old=[np.nan, 1.0, 1.0], new=[1.0, np.nan, 1.0])
    assert default_metric(runs, ["metrics.old", "metrics.new"]) == "metrics.new"


def test_then_to_the_column_order():
    runs = runs_table(["2024-01-02", None], b=[1.0, 2.0], a=[1.0, 2.0])
    assert default_metric(runs, ["metrics.b", "metrics.a"]) == "metrics.b"
    assert default_metric(runs, ["metrics.a", "metrics.b"]) == "metrics.a"
    no_times = runs.drop(columns="start_time")
    assert default_metric(no_times, ["metrics.a", "metrics.b"]) == "metrics.a"


def test_nothing_to_choose():
    runs = runs_table(["2024-01-01"], a=[1.0])
    assert default_metric(runs, []) is None
    assert default_metric(runs, ["metrics.absent"]) is None
    assert default_metric(runs.iloc[:0], ["metrics.a"]) == "metrics.a"  # an empty table still has its columns
