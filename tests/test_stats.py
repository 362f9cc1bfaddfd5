"""Group statistics (lens_core.runs.stats) against scipy.stats."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from lens_core.runs import stats

RNG = np.random.default_rng(7)
SAMPLES = [
    (RNG.normal(0.8, 0.05, 5), RNG.normal(0.75, 0.1, 9)),
    (RNG.normal(10, 3, 3), RNG.normal(12, 0.5, 4)),
    (np.array([1.0, 2.0]), np.array([3.0, 5.0, 4.0])),
    (RNG.lognormal(0, 1, 40), RNG.lognormal(0.3, 2, 25)),
]


@pytest.mark.parametrize(("a", "b"), SAMPLES)
def test_summary_equals_numpy_and_scipy(a, b):
    s = stats.summarize(a)
    assert s["count"] == len(a)
    assert s["mean"] == pytest.approx(np.mean(a))
    assert s["std"] == pytest.approx(np.std(a, ddof=1))
    assert s["median"] == pytest.approx(np.median(a))
    assert (s["min"], s["max"]) == (a.min(), a.max())
    low, high = sps.t.interval(0.95, len(a) - 1, loc=np.mean(a), scale=sps.sem(a))
    assert (s["ci_low"], s["ci_high"]) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_t_interval_equals_scipy(confidence):
    a = SAMPLES[0][1]
    expected = sps.t.interval(confidence, len(a) - 1, loc=np.mean(a), scale=sps.sem(a))
    assert stats.t_interval(a, confidence) == pytest.approx(expected)


@pytest.mark.parametrize(("a", "b"), SAMPLES)
def test_welch_equals_scipy(a, b):
    w = stats.welch(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert w.t == pytest.approx(ref.statistic)
    assert w.p == pytest.approx(ref.pvalue)
    assert w.df == pytest.approx(ref.df)
    assert w.diff == pytest.approx(np.mean(a) - np.mean(b))
    ci = ref.confidence_interval(0.95)
    assert (w.ci_low, w.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert (w.n_a, w.n_b) == (len(a), len(b))


def test_non_finite_values_are_left_out_of_every_statistic():
    a = np.array([1.0, np.nan, 2.0, np.inf, 3.0, -np.finfo("float64").max])
    s = stats.summarize(a)
    assert s["count"] == 3 and s["mean"] == 2.0 and s["max"] == 3.0
    w = stats.welch(a, [4.0, 5.0, 7.0, np.nan])
    ref = sps.ttest_ind([1.0, 2.0, 3.0], [4.0, 5.0, 7.0], equal_var=False)
    assert (w.n_a, w.n_b) == (3, 3) and w.p == pytest.approx(ref.pvalue)


def test_undefined_statistics_are_nan_not_errors():
    one = stats.summarize([5.0])
    assert one["count"] == 1 and one["mean"] == 5.0 and math.isnan(one["std"]) and math.isnan(one["ci_low"])
    empty = stats.summarize([])
    assert empty["count"] == 0 and math.isnan(empty["mean"])
    assert math.isnan(stats.welch([1.0], [2.0, 3.0]).p)
    assert math.isnan(stats.welch([1.0, 1.0], [2.0, 2.0]).p)  # no variance at all: no test
    assert stats.t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_error_bounds():
    s = stats.summarize([1.0, 2.0, 3.0, 10.0])
    assert stats.error_bounds(s, "mean", "std") == pytest.approx((4.0, 4.0 - s["std"], 4.0 + s["std"]))
    assert stats.error_bounds(s, "median", "minmax") == (2.5, 1.0, 10.0)
    assert stats.error_bounds(s, "max", "ci") == (10.0, s["ci_low"], s["ci_high"])
    assert stats.error_bounds(stats.summarize([3.0]), "mean", "ci") == (3.0, 3.0, 3.0)
    with pytest.raises(ValueError):
        stats.error_bounds(s, "mode", "std")


def test_group_labels_and_order():
    runs = pd.DataFrame({
        "params.model": pd.Series(["mlp", "gbm", None, "mlp"], dtype="str"),
        "params.lr": pd.Series(["10", "2", "2", "0.5"], dtype="str"),
    })
    assert stats.group_labels(runs, ["params.model"]).tolist() == ["mlp", "gbm", "—", "mlp"]
    both = stats.group_labels(runs, ["params.model", "params.lr"])
    assert both.tolist() == ["mlp · 10", "gbm · 2", "— · 2", "mlp · 0.5"]
    assert stats.group_order(stats.group_labels(runs, ["params.lr"])) == ["0.5", "2", "10"]
    assert stats.group_order(both) == ["gbm · 2", "mlp · 0.5", "mlp · 10", "— · 2"]


def test_group_table_matches_per_group_summaries():
    groups = pd.Series(["b", "a", "b", "a", "a"])
    values = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    table = stats.group_table(values, groups)
    assert table["group"].tolist() == ["a", "b"] and table["count"].tolist() == [2, 2]
    assert table["mean"].tolist() == [3.0, 2.0]
    assert table.loc[0, "std"] == pytest.approx(np.std([2.0, 4.0], ddof=1))


# ---- grouped series ----------------------------------------------------------------------------------------------
def test_on_grid_interpolates_inside_and_never_extrapolates():
    grid = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    out = stats.on_grid(np.array([1.0, 3.0]), np.array([10.0, 30.0]), grid)
    assert np.isnan(out[0]) and np.isnan(out[4]) and out[1:4].tolist() == [10.0, 20.0, 30.0]
    # a restarted step keeps the value logged last; NaN points are skipped
    out = stats.on_grid(np.array([0.0, 1.0, 2.0, 1.0, 2.0]), np.array([5.0, 9.0, 9.0, 4.0, np.nan]), grid[:3])
    assert out.tolist() == [5.0, 4.0, 9.0]


def test_step_grid_is_exact_when_small_and_even_when_large():
    assert stats.step_grid([np.array([0, 2, 4]), np.array([1, 2])]).tolist() == [0.0, 1.0, 2.0, 4.0]
    big = stats.step_grid([np.arange(0, 10_000), np.arange(5, 20_000, 3)], max_points=500)
    assert len(big) == 500 and big[0] == 0 and big[-1] == 19_997


@pytest.mark.parametrize("spread", ["std", "minmax", "ci", "none"])
def test_series_band_of_runs_sharing_steps_is_the_pointwise_statistic(spread):
    steps = np.arange(6)
    values = {"r1": steps * 1.0, "r2": steps * 2.0 + 1, "r3": steps * 0.5 - 1, "s1": steps * 0.0 + 7}
    data = pd.concat([pd.DataFrame({"run_id": r, "x": steps, "value": v}) for r, v in values.items()])
    groups = {"r1": "A", "r2": "A", "r3": "A", "s1": "B"}
    band = stats.series_band(data, groups, "mean", spread)
    a = band[band["group"] == "A"]
    matrix = np.vstack([values["r1"], values["r2"], values["r3"]])
    assert a["n"].tolist() == [3] * 6
    assert np.allclose(a["center"], matrix.mean(axis=0))
    for i in range(6):
        s = stats.summarize(matrix[:, i])
        _, low, high = stats.error_bounds(s, "mean", spread)
        assert a["low"].iloc[i] == pytest.approx(low) and a["high"].iloc[i] == pytest.approx(high)
    b = band[band["group"] == "B"]
    assert b["center"].tolist() == [7.0] * 6 and b["n"].tolist() == [1] * 6
    assert b["low"].tolist() == [7.0] * 6  # one run: no spread


def test_series_band_aligns_runs_with_different_steps():
    data = pd.DataFrame({
        "run_id": ["r1"] * 3 + ["r2"] * 2,
        "x": [0, 10, 20, 0, 5],
        "value": [0.0, 10.0, 20.0, 1.0, 2.0],
    })
    band = stats.series_band(data, {"r1": "A", "r2": "A"}, "median", "minmax")
    assert band["x"].tolist() == [0, 5, 10, 20]
    assert band["n"].tolist() == [2, 2, 1, 1]  # r2 stops at step 5: not extrapolated
    assert band["center"].tolist() == [0.5, 3.5, 10.0, 20.0]
    assert band["low"].tolist() == [0.0, 2.0, 10.0, 20.0] and band["high"].tolist() == [1.0, 5.0, 10.0, 20.0]
