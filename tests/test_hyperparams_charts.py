"""The hyperparameter page's charts and tables, on the synthetic bowl experiment's surrogate."""
from __future__ import annotations

import pandas as pd
import pytest

from lens_core.insights import hyperparams as hp
from lens_core.insights import hyperparams_charts as charts
from tests.test_hyperparams import synthetic_runs


@pytest.fixture(scope="module")
def surrogate() -> hp.Surrogate:
    return hp.fit_surrogate(synthetic_runs(n=60), "metrics.val_loss")


def test_importance_chart_labels_params_by_short_name(surrogate):
    importance = hp.param_importance(surrogate, n_repeats=3)
    spec = charts.importance_chart(importance).to_dict()
    assert spec["height"] == charts.BAR_HEIGHT * len(importance) + charts.AXIS_HEIGHT  # bars, then the x axis
    y = spec["layer"][0]["encoding"]["y"]
    assert y["axis"]["labelOverlap"] is False and y["scale"]["domain"] == list(importance["param"].str[7:])
    values = next(iter(spec["datasets"].values()))
    assert {row["label"] for row in values} == {"lr", "optimizer", "depth", "seed"}
    assert "label" not in importance  # the caller's frame is left as it was


def test_effect_charts_by_param_kind(surrogate):
    categorical = charts.categorical_effect_chart(surrogate, "params.optimizer",
                                                  hp.partial_dependence(surrogate, "params.optimizer")).to_dict()
    assert categorical["mark"]["type"] == "bar" and categorical["encoding"]["y"]["title"] == "Predicted val_loss"
    line = charts.partial_dependence_chart(surrogate, "params.lr", hp.partial_dependence(surrogate, "params.lr"))
    assert [layer["mark"]["type"] for layer in line.to_dict()["layer"]] == ["circle", "line"]
    effects = charts.ale_chart(surrogate, "params.lr", hp.ale(surrogate, "params.lr")).to_dict()
    assert effects["encoding"]["x"]["field"] == "centre"
    assert effects["encoding"]["y"]["title"] == "Effect on val_loss (ALE, centred)"


def test_log_axis_only_for_positive_values_spanning_two_decades():
    frame = pd.DataFrame({"params.lr": [1e-4, 1e-3, 1e-1], "params.depth": [2.0, 4.0, 8.0],
                          "params.shift": [-1.0, 1.0, 1000.0]})
    s = hp.Surrogate(None, "metrics.m", tuple(frame), (), frame, pd.Series([1.0, 2.0, 3.0]), 0.9, 0.0, True)
    assert charts.log_axis(s, "params.lr")
    assert not charts.log_axis(s, "params.depth") and not charts.log_axis(s, "params.shift")


def test_interaction_chart_uses_plain_field_names(surrogate):
    spec = charts.interaction_chart(surrogate, "params.lr", "params.optimizer").to_dict()
    assert spec["encoding"]["x"]["field"] == "second" and spec["encoding"]["y"]["field"] == "first"
    assert spec["encoding"]["color"]["scale"]["reverse"]  # lower is better: the low predictions are bright
    assert len(spec["encoding"]["x"]["sort"]) == 3  # the optimizer's values


def test_suggestions_table_and_best_run(surrogate):
    shown = charts.suggestions_table(surrogate, hp.suggestions(surrogate, n=3))
    assert "predicted val_loss" in shown and "lr" in shown and "params.lr" not in shown
    assert charts.predicted_column(surrogate) == "predicted val_loss"
    assert charts.best_seen(surrogate) == surrogate.y.min()
    assert set(charts.correlations_table(hp.rank_correlations(surrogate))["param"]) >= {"lr", "optimizer"}


def test_the_correlation_table_never_reads_minus_zero():
    import numpy as np

    table = charts.correlations_table(pd.DataFrame({
        "param": ["params.a", "params.b", "params.c"], "kind": ["numeric", "numeric", "categorical"],
        "spearman": [-0.001, -0.4, np.nan], "eta": [np.nan, np.nan, 0.3], "note": ["", "", ""]}))
    assert [f"{v:.2f}" for v in table["spearman"][:2]] == ["0.00", "-0.40"] and np.isnan(table["spearman"][2])
    assert list(table.columns) == ["param", "kind", "spearman", "eta"]  # no note: no note column
