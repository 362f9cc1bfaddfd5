"""Monitoring logic on small generated tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens_core.monitor import (
    RangeFilter,
    TextFilter,
    ValuesFilter,
    apply_summary,
    constant_columns,
    describe,
    display_table,
    filter_kind,
    filter_mask,
    numeric_columns,
    stars,
    with_typed_params,
)


@pytest.fixture()
def runs() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "run_name": ["r-a", "r-b", "r-c", "r-d"],
            "experiment_id": "1",
            "status": ["FINISHED", "FAILED", "RUNNING", "FINISHED"],
            "artifact_uri": "x",
            "start_time": [t0, t0 + pd.Timedelta("1h"), t0 + pd.Timedelta("2h"), t0 + pd.Timedelta("3h")],
            "end_time": [t0 + pd.Timedelta("30min"), t0 + pd.Timedelta("90min"), pd.NaT, t0 + pd.Timedelta("4h")],
            "metrics.acc": [0.9, np.nan, 0.7, 0.8],
            "metrics.loss": [0.1, 0.5, 0.3, 0.2],
            "params.lr": ["0.1", "1e-3", "0.01", None],
            "params.optimizer": ["adam", "sgd", "adam", "adam"],
            "params.seed": ["1", "1", "1", "1"],
            "tags.lens.rating": ["4", None, "9", "x"],
            "tags.mlflow.user": "ann",
        }
    )


def test_numeric_params_get_typed_twins(runs):
    typed = with_typed_params(runs)
    assert typed["params.lr"].tolist()[:3] == [0.1, 0.001, 0.01] and np.isnan(typed["params.lr"].iloc[3])
    assert typed["params.optimizer"].dtype != "float64"
    assert set(numeric_columns(runs, ["params.lr", "params.optimizer", "params.seed"])) == {"params.lr", "params.seed"}
    assert numeric_columns(runs.assign(**{"params.x": ["1", "None", "2", "3"]}), ["params.x"]) == {}


def test_constant_columns_count_missing_as_a_value(runs):
    assert constant_columns(runs, ["params.seed", "params.lr", "params.optimizer", "tags.mlflow.user"]) == [
        "params.seed",
        "tags.mlflow.user",
    ]
    assert constant_columns(runs.assign(**{"params.z": [None, None, None, "1"]}), ["params.z"]) == []
    assert constant_columns(runs.iloc[:1], ["params.lr"]) == []  # one run: nothing to compare


def test_summary_rules_use_history_extremes(runs):
    extremes = pd.DataFrame(
        {"run_id": ["a", "b", "a"], "key": ["loss", "loss", "acc"], "min": [0.05, 0.4, 0.5], "max": [0.9, 2.0, 0.95]}
    )
    out = apply_summary(runs, extremes, {"metrics.loss": "min", "metrics.acc": "max"})
    assert out["metrics.loss"].tolist()[:2] == [0.05, 0.4] and np.isnan(out["metrics.loss"].iloc[2])
    assert out["metrics.acc"].iloc[0] == 0.95
    assert apply_summary(runs, extremes, {"metrics.loss": "last"}) is runs
    assert runs["metrics.loss"].iloc[0] == 0.1  # the input is untouched


def test_filters(runs):
    typed = with_typed_params(runs)
    assert filter_mask(typed, [RangeFilter("params.lr", 0.005, None)]).tolist() == [True, False, True, False]
    assert filter_mask(typed, [ValuesFilter("params.optimizer", frozenset({"sgd"}))]).tolist() == [False, True, False, False]
    assert filter_mask(typed, [ValuesFilter("params.lr", frozenset({""}))]).tolist() == [False, False, False, True]
    assert filter_mask(typed, [TextFilter("run_name", "R-C")]).tolist() == [False, False, True, False]
    both = [RangeFilter("metrics.loss", None, 0.25), ValuesFilter("params.optimizer", frozenset({"adam"}))]
    assert filter_mask(typed, both).tolist() == [True, False, False, True]
    assert filter_mask(typed, [RangeFilter("metrics.acc", 0.0, 1.0)]).tolist() == [True, False, True, True]
    assert filter_mask(typed, [TextFilter("params.gone", "x")]).all()
    assert describe(RangeFilter("params.lr", 0.001, None)) == "lr ∈ [0.001, ∞]"


def test_filter_kinds(runs):
    typed = with_typed_params(runs)
    assert filter_kind(typed["params.lr"]) == "range"
    assert filter_kind(typed["params.optimizer"]) == "values"
    assert filter_kind(pd.Series([f"note {i}" for i in range(100)])) == "text"


def test_display_table(runs):
    table = display_table(runs, ["metrics.acc", "params.lr"])
    assert list(table.columns) == ["run_id", "run_name", "status", "rating", "start_time", "duration_min",
                                   "metrics.acc", "params.lr"]
    assert table["status"].tolist()[:3] == ["🟢 Finished", "🔴 Failed", "🔵 Running"]
    assert table["rating"].tolist() == ["★★★★☆", "", "", ""]
    assert table["duration_min"].iloc[0] == 30 and np.isnan(table["duration_min"].iloc[2])


@pytest.mark.parametrize(("value", "shown"), [("5", "★★★★★"), ("1", "★☆☆☆☆"), ("0", ""), ("3.0", "★★★☆☆"), (None, ""), ("", "")])
def test_stars(value, shown):
    assert stars(value) == shown


def test_display_table_when_no_run_has_ended(runs):
    running = runs.assign(end_time=[None] * len(runs))  # what search_runs gives when no run has ended
    table = display_table(running.astype({"end_time": object}), [])
    assert table["duration_min"].isna().all()
