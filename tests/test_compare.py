"""Unit tests of the comparison logic (lens_core.runs.compare) and run colours (lens_core.runs.colors)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lens_core.format import MISSING, labels_by_id
from lens_core.runs import compare as cmp
from lens_core.runs import compare_charts as charts
from lens_core.runs import compare_metrics as metrics
from lens_core.runs.colors import PALETTE, PALETTE_20, run_color, run_colors
from lens_core.trackers.series import HISTORY_COLUMNS


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    """A small wide runs table with the dtypes the trackers return (params as str, metrics as float)."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column.startswith("params."):
            frame[column] = frame[column].astype("str")
        elif column.startswith("metrics."):
            frame[column] = frame[column].astype("float64")
    return frame


def history_frame(rows: list[tuple[str, str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)).astype(HISTORY_COLUMNS)


@pytest.fixture()
def three_runs() -> pd.DataFrame:
    return runs_frame([
        {"run_id": "a" * 32, "run_name": "alpha", "status": "FINISHED",
         "start_time": pd.Timestamp("2026-01-01 10:00", tz="UTC"),
         "params.lr": "0.1", "params.model": "gbm", "params.seed": "1", "params.depth": "3",
         "metrics.loss": 0.5, "metrics.acc": 0.8, "metrics.system/cpu": 10.0, "metrics.only_a": 1.0},
        {"run_id": "b" * 32, "run_name": "beta", "status": "FAILED",
         "start_time": pd.Timestamp("2026-01-01 11:00", tz="UTC"),
         "params.lr": "0.01", "params.model": "gbm", "params.seed": "1", "params.depth": None,
         "metrics.loss": 0.4, "metrics.acc": 0.9, "metrics.system/cpu": 12.0, "metrics.only_a": None},
        {"run_id": "c" * 32, "run_name": "gamma", "status": "FINISHED",
         "start_time": pd.Timestamp("2026-01-01 12:00", tz="UTC"),
         "params.lr": "0.1", "params.model": "gbm", "params.seed": "1", "params.depth": "3",
         "metrics.loss": np.inf, "metrics.acc": np.nan, "metrics.system/cpu": 11.0, "metrics.only_a": None},
    ])


# ---- which runs --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, []),
        ("", []),
        ("a,b,c", ["a", "b", "c"]),
        (" a , b,,a , c ", ["a", "b", "c"]),
        ("a b\nc", ["a", "b", "c"]),
        (["a,b", "c", "a"], ["a", "b", "c"]),
    ],
)
def test_parse_run_ids(text, expected):
    assert cmp.parse_run_ids(text) == expected


def test_run_labels_are_the_shared_ones_unnamed_runs_read_their_short_id():
    frame = pd.DataFrame({
        "run_id": ["1234567890ab", "abcdef123456", "ffff00001111", "999999999999"],
        "run_name": ["sweep", "sweep", None, "  "],
    })
    labels = labels_by_id(frame)
    assert labels == {
        "1234567890ab": "sweep · 123456",
        "abcdef123456": "sweep · abcdef",
        "ffff00001111": "ffff0000",
        "999999999999": "99999999",
    }
    assert not hasattr(cmp, "run_labels")  # one label rule for every page


def test_locate_runs_in_order_reports_unknown_and_deleted(sqlite_store):
    from lens_core import open_tracker

    uri, ids = sqlite_store
    tracker = open_tracker(uri)
    table = tracker.runs(ids["main"])
    wanted = table["run_id"].tolist()[:3][::-1]
    deleted = _deleted_run_id(uri)
    located = cmp.locate_runs(tracker, [wanted[0], "f" * 32, wanted[1], "not-an-id", deleted, wanted[2], wanted[0]])
    assert located.run_ids == wanted
    assert located.missing == ("f" * 32, "not-an-id", deleted)
    assert located.experiment_ids == (ids["main"],)
    assert located.runs["run_name"].tolist() == table.set_index("run_id").loc[wanted, "run_name"].tolist()


def test_locate_runs_uses_hints_before_looking_runs_up(sqlite_store, monkeypatch):
    from lens_core import open_tracker

    uri, ids = sqlite_store
    tracker = open_tracker(uri)
    wanted = tracker.runs(ids["main"])["run_id"].tolist()[:5]
    monkeypatch.setattr(tracker, "run", lambda run_id: pytest.fail("no lookup expected"))
    assert cmp.locate_runs(tracker, wanted, hints=[ids["main"]]).run_ids == wanted


def test_locate_runs_across_experiments(demo_build):
    from lens_core import open_tracker

    tracker = open_tracker(demo_build["uri"])
    by_name = {e.name: e.experiment_id for e in tracker.experiments()}
    churn = tracker.runs(by_name["churn-classification"])["run_id"].tolist()[:2]
    wine = tracker.runs(by_name["wine-multiclass"])["run_id"].tolist()[:1]
    located = cmp.locate_runs(tracker, [churn[0], wine[0], churn[1]])
    assert located.run_ids == [churn[0], wine[0], churn[1]]
    assert located.experiment_ids == (by_name["churn-classification"], by_name["wine-multiclass"])
    assert located.missing == ()


def _deleted_run_id(uri: str) -> str:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("reference ü")
    deleted = client.search_runs([experiment.experiment_id], run_view_type=ViewType.DELETED_ONLY)
    return deleted[0].info.run_id


# ---- params ------------------------------------------------------------------------------------------------------
def test_differing_params_counts_a_missing_value_as_different(three_runs):
    assert cmp.differing_params(three_runs) == ["params.lr", "params.depth"]
    assert cmp.differing_params(three_runs.iloc[[0, 2]]) == []
    assert cmp.differing_params(three_runs.iloc[[0]]) == []


def test_params_diff_only_rows_that_differ(three_runs):
    labels = labels_by_id(three_runs)
    diff = cmp.params_diff(three_runs, labels)
    assert list(diff.columns) == ["alpha", "beta", "gamma"]
    assert sorted(diff.index) == ["depth", "lr"]
    assert diff.loc["depth"].tolist() == ["3", MISSING, "3"]
    assert diff.loc["lr"].tolist() == ["0.1", "0.01", "0.1"]


def test_params_diff_can_show_every_param(three_runs):
    diff = cmp.params_diff(three_runs, labels_by_id(three_runs), only_differing=False)
    assert sorted(diff.index) == ["depth", "lr", "model", "seed"]
    assert diff.loc["model"].tolist() == ["gbm"] * 3


def test_params_diff_of_identical_runs_is_empty(three_runs):
    runs = three_runs.iloc[[0, 2]]
    diff = cmp.params_diff(runs, labels_by_id(runs))
    assert diff.empty and list(diff.columns) == ["alpha", "gamma"]


def test_params_diff_skips_params_none_of_the_runs_logged(three_runs):
    runs = three_runs.assign(**{"params.other_experiment": pd.Series([None] * 3, dtype="str")})
    assert "other_experiment" not in cmp.params_diff(runs, labels_by_id(runs), only_differing=False).index


# ---- metrics -----------------------------------------------------------------------------------------------------
def test_metric_names_and_coverage(three_runs):
    coverage = metrics.metric_coverage(three_runs)
    assert coverage.to_dict() == {"acc": 2, "loss": 3, "only_a": 1, "system/cpu": 3}
    assert metrics.metric_names(three_runs) == ["acc", "loss", "only_a", "system/cpu"]


def test_default_metrics_are_those_every_run_has_system_last(three_runs):
    assert metrics.default_metrics(three_runs) == ["loss", "system/cpu"]
    assert metrics.default_metrics(three_runs, limit=1) == ["loss"]


def test_default_metrics_are_capped_at_six():
    frame = runs_frame([{"run_id": "a", "run_name": "a", **{f"metrics.m{i:02d}": 1.0 for i in range(10)}}])
    assert metrics.default_metrics(frame) == [f"m{i:02d}" for i in range(6)]


def test_default_metrics_fall_back_to_the_most_shared():
    frame = runs_frame([
        {"run_id": "a", "run_name": "a", "metrics.x": 1.0, "metrics.y": 1.0, "metrics.z": None},
        {"run_id": "b", "run_name": "b", "metrics.x": None, "metrics.y": 2.0, "metrics.z": 1.0},
        {"run_id": "c", "run_name": "c", "metrics.x": None, "metrics.y": None, "metrics.z": 1.0},
    ])
    assert metrics.default_metrics(frame) == ["y", "z", "x"]
    assert metrics.default_metrics(frame.iloc[:0]) == []


def test_metric_kinds_series_when_any_run_has_several_points():
    history = history_frame([
        ("a", "loss", 0, 1, 1.0), ("a", "loss", 1, 2, 0.5),
        ("b", "loss", 0, 1, 0.9),
        ("a", "acc", 0, 3, 0.8), ("b", "acc", 0, 3, 0.7),
        ("a", "repeat", 0, 3, 0.8), ("a", "repeat", 0, 4, 0.9),
    ])
    assert metrics.metric_kinds(history, ["loss", "acc", "repeat", "absent"]) == {
        "loss": metrics.SERIES, "acc": metrics.SINGLE, "repeat": metrics.SERIES, "absent": metrics.SINGLE
    }
    assert metrics.metric_kinds(history.iloc[:0], ["loss"]) == {"loss": metrics.SINGLE}


# ---- smoothing ---------------------------------------------------------------------------------------------------
def test_ema_matches_the_debiased_definition():
    values = np.array([1.0, 3.0, 2.0, 5.0])
    w = 0.6
    expected, acc = [], 0.0
    for i, v in enumerate(values, start=1):
        acc = w * acc + (1 - w) * v
        expected.append(acc / (1 - w**i))
    assert np.allclose(metrics.ema(values, w), expected)
    assert metrics.ema(values, w)[0] == 1.0  # debiased: the first point is not pulled towards zero


def test_ema_keeps_constants_and_zero_weight_is_identity():
    assert np.allclose(metrics.ema(np.full(50, 7.0), 0.95), 7.0)
    assert np.array_equal(metrics.ema([1.0, 2.0], 0.0), [1.0, 2.0])
    with pytest.raises(ValueError):
        metrics.ema([1.0], 1.0)


def test_ema_passes_non_finite_points_through():
    out = metrics.ema([1.0, np.nan, np.inf, 1.0], 0.5)
    assert out[0] == 1.0 and np.isnan(out[1]) and np.isinf(out[2]) and out[3] == pytest.approx(1.0)


def test_smooth_treats_each_series_on_its_own():
    history = history_frame([
        ("a", "loss", 0, 1, 10.0), ("a", "loss", 1, 2, 0.0),
        ("b", "loss", 0, 1, 100.0), ("b", "loss", 1, 2, 100.0),
    ])
    smoothed = metrics.smooth(history, 0.5)
    assert smoothed.iloc[2:].tolist() == [100.0, 100.0]
    assert smoothed.iloc[0] == 10.0 and 0 < smoothed.iloc[1] < 10


# ---- chart data --------------------------------------------------------------------------------------------------
def test_series_data_axes_and_run_labels(three_runs):
    start = int(pd.Timestamp("2026-01-01 10:00", tz="UTC").timestamp() * 1000)
    a, b = "a" * 32, "b" * 32
    history = history_frame([
        (a, "loss", 0, start + 60_000, 1.0), (a, "loss", 1, start + 180_000, 0.5),
        (b, "loss", 5, start + 3_600_000 + 30_000, 0.9),
        (a, "acc", 0, start, 0.1),
    ])
    labels = labels_by_id(three_runs)
    data = metrics.series_data(history, three_runs, labels, "loss", x="relative")
    assert data["run"].tolist() == ["alpha", "alpha", "beta"]
    assert data["minutes"].tolist() == [1.0, 3.0, 0.5]  # from each run's own start time
    assert data["x"].tolist() == data["minutes"].tolist()
    assert data["points"].tolist() == [2, 2, 1] and data["order"].tolist() == [0, 1, 0]
    assert metrics.series_data(history, three_runs, labels, "loss", x="step")["x"].tolist() == [0, 1, 5]
    wall = metrics.series_data(history, three_runs, labels, "loss", x="wall")["x"]
    assert wall.iloc[0] == pd.Timestamp("2026-01-01 10:01", tz="UTC")
    smoothed = metrics.series_data(history, three_runs, labels, "loss", smoothing=0.5)
    assert smoothed["smoothed"].tolist()[2] == 0.9 and smoothed["smoothed"].tolist()[1] != 0.5


def test_single_data_takes_the_latest_value_and_skips_runs_without_one(three_runs):
    data = metrics.single_data(three_runs, labels_by_id(three_runs), "acc")
    assert data.to_dict("list") == {"run_id": ["a" * 32, "b" * 32], "run": ["alpha", "beta"], "value": [0.8, 0.9]}
    assert metrics.single_data(three_runs, labels_by_id(three_runs), "nope").empty


def test_drawable_drops_non_finite_and_non_positive_on_log():
    biggest = np.finfo("float64").max
    data = pd.DataFrame({"value": [1.0, np.nan, np.inf, -1.0, 0.0, 2.0, biggest, -biggest]})
    shown, dropped = metrics.drawable(data)
    assert shown["value"].tolist() == [1.0, -1.0, 0.0, 2.0] and dropped == 4  # ±max double is MLflow's ±inf
    shown, dropped = metrics.drawable(data, log=True)
    assert shown["value"].tolist() == [1.0, 2.0] and dropped == 6


def test_export_frame_is_tidy(three_runs):
    history = history_frame([("a" * 32, "loss", 0, 1_767_261_600_000, 1.0)])
    labels = labels_by_id(three_runs)
    export = metrics.export_frame(metrics.series_data(history, three_runs, labels, "loss"), "loss")
    assert list(export.columns) == ["run_id", "run_name", "metric", "step", "timestamp", "minutes", "value"]
    assert export["timestamp"].iloc[0] == "2026-01-01T10:00:00.000000Z"
    data = metrics.series_data(history, three_runs, labels, "loss", smoothing=0.5)
    smoothed = metrics.export_frame(data, "loss", smoothed=True)
    assert "smoothed" in smoothed
    bars = metrics.export_frame(metrics.single_data(three_runs, labels, "acc"), "acc")
    assert list(bars.columns) == ["run_id", "run_name", "metric", "value"]


# ---- charts ------------------------------------------------------------------------------------------------------
def _spec(chart) -> dict:
    return json.loads(charts.chart_config(chart).to_json())


def nodes(spec: object):
    """Every mapping in a chart's spec (``chart.to_dict()``), depth first."""
    if isinstance(spec, dict):
        yield spec
        for value in spec.values():
            yield from nodes(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from nodes(value)


def _color_scales(spec: dict) -> list[dict]:
    return [n["scale"] for n in nodes(spec) if n.get("field") == "run" and "range" in n.get("scale", {})]


def hover_params(spec: dict) -> list[dict]:
    """The hover selections of a spec, wherever they are defined."""
    return [p for n in nodes(spec) for p in n.get("params", ()) or ()
            if isinstance(p, dict) and p.get("name") == charts.HOVER and "select" in p]


def test_bar_chart_spec_colours_every_run_and_leaves_room_for_labels(three_runs):
    labels = labels_by_id(three_runs)
    data = metrics.single_data(three_runs, labels, "acc")
    spec = _spec(charts.bar_chart(data, "acc", list(labels.values()), ["#111111", "#222222", "#333333"]))
    scales = _color_scales(spec)
    assert scales and scales[0] == {"domain": ["alpha", "beta", "gamma"], "range": ["#111111", "#222222", "#333333"]}
    x = spec["layer"][0]["encoding"]["x"]
    assert x["scale"]["domain"][0] == 0 and x["scale"]["domain"][1] > 0.9
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["beta", "alpha"]
    rows = next(iter(spec["datasets"].values()))
    assert {r["run"] for r in rows} == {"alpha", "beta"}


def test_bar_chart_of_huge_values_lets_vega_choose_the_axis():
    data = pd.DataFrame({"run_id": ["a", "b"], "run": ["a", "b"], "value": [1e308, -1e308]})
    spec = _spec(charts.bar_chart(data, "huge", ["a", "b"], ["#111111", "#222222"]))
    assert "domain" not in spec["layer"][0]["encoding"]["x"].get("scale", {})


def test_bar_chart_with_negative_values_grows_left():
    data = pd.DataFrame({"run_id": ["a", "b"], "run": ["a", "b"], "value": [-2.0, 1.0]})
    spec = _spec(charts.bar_chart(data, "delta", ["a", "b"], ["#111111", "#222222"]))
    low, high = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert low < -2 and high > 1


def test_line_chart_spec(three_runs):
    a, b = "a" * 32, "b" * 32
    history = history_frame([(a, "loss", s, 1000 * s, 1.0 / (s + 1)) for s in range(5)] + [(b, "loss", 0, 0, 0.3)])
    labels = labels_by_id(three_runs)
    data = metrics.series_data(history, three_runs, labels, "loss", smoothing=0.6)
    spec = _spec(charts.line_chart(data, "loss", list(labels.values()), ["#1", "#2", "#3"], log=True, smoothed=True))
    assert _color_scales(spec)[0]["domain"] == ["alpha", "beta", "gamma"]
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks.count("line") == 2  # faint raw trace under the smoothed line
    assert any(layer["encoding"]["y"]["field"] == "smoothed" for layer in spec["layer"])
    assert all(layer["encoding"]["y"]["scale"]["type"] == "log" for layer in spec["layer"])
    assert spec["layer"][0]["encoding"]["order"]["field"] == "order"  # drawn in logging order
    assert spec["params"][0]["select"]["on"] == "pointerover"  # hover highlight
    rows = next(iter(spec["datasets"].values()))
    assert {r["run"] for r in rows} == {"alpha", "beta"}


def test_line_chart_drops_the_hover_layer_for_huge_data(three_runs):
    n = charts.HOVER_POINT_LIMIT + 1
    data = pd.DataFrame({
        "run_id": "a", "run": "alpha", "step": np.arange(n), "timestamp": np.arange(n), "minutes": 0.0,
        "value": 1.0, "smoothed": 1.0, "order": np.arange(n), "points": n, "x": np.arange(n),
    })
    import altair as alt

    with alt.data_transformers.disable_max_rows():
        spec = charts.line_chart(data, "loss", ["alpha"], ["#1"]).to_dict()
    assert "params" not in spec and all("params" not in layer for layer in spec["layer"])


# ---- colours -----------------------------------------------------------------------------------------------------
IDS = [f"{i:032x}" for i in range(0, 4000, 97)]  # 42 ids


def test_colours_do_not_depend_on_order():
    assert run_colors(IDS[:8]) == run_colors(IDS[:8][::-1])


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_up_to_ten_runs_get_distinct_tableau_colours(n):
    colors = run_colors(IDS[:n])
    assert len(set(colors.values())) == n and set(colors.values()) <= set(PALETTE)


def test_up_to_twenty_runs_get_distinct_colours_then_they_repeat():
    assert len(set(run_colors(IDS[:20]).values())) == 20
    assert set(run_colors(IDS[:20]).values()) == set(PALETTE_20)
    assert set(run_colors(IDS[:42]).values()) == set(PALETTE_20)


def test_a_run_on_its_own_gets_its_preferred_colour():
    for run_id in IDS[:10]:
        assert run_colors([run_id]) == {run_id: run_color(run_id)}


def test_adding_a_run_keeps_the_colours_of_runs_that_did_not_collide():
    before = run_colors(IDS[:4])
    after = run_colors(IDS[:5])
    unmoved = [r for r in IDS[:4] if before[r] == run_color(r) and after[r] == run_color(r)]
    assert unmoved and all(before[r] == after[r] for r in unmoved)
    assert sum(before[r] == after[r] for r in IDS[:4]) >= 3


def test_colours_are_the_same_in_another_process():
    code = f"from lens_core.runs.colors import run_colors; import json; print(json.dumps(run_colors({IDS[:12]!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""}, cwd=str(_root()))
    assert json.loads(out.stdout) == run_colors(IDS[:12])


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def test_bars_get_thinner_for_many_runs_and_keep_names_while_readable():
    assert charts.bar_step(2) == 24 and charts.bar_step(30) == 24 and charts.bar_step(60) == 12 and charts.bar_step(500) == 6
    many = pd.DataFrame({"run_id": [f"r{i}" for i in range(200)], "run": [f"r{i}" for i in range(200)],
                         "value": np.arange(200.0)})
    spec = _spec(charts.bar_chart(many, "m", many["run"].tolist(), ["#111111"] * 200))
    assert spec["height"] == 6 * 200 + 30
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["bar", "point"]  # no value labels; the invisible points catch the pointer
    assert spec["layer"][0]["encoding"]["y"]["axis"]["labels"] is False
    few = _spec(charts.bar_chart(many.head(3), "m", many["run"].tolist()[:3], ["#111111"] * 3))
    assert few["layer"][0]["encoding"]["y"]["axis"]["labels"] is True and few["layer"][1]["mark"]["type"] == "text"


# ---- groups ------------------------------------------------------------------------------------------------------
@pytest.fixture()
def grouped_runs() -> tuple[pd.DataFrame, pd.Series]:
    from lens_core.runs import stats

    runs = runs_frame([
        {"run_id": f"r{i}", "run_name": f"r{i}", "params.model": model, "metrics.acc": acc, "metrics.loss": loss}
        for i, (model, acc, loss) in enumerate([
            ("gbm", 0.80, 0.5), ("gbm", 0.82, 0.4), ("gbm", 0.79, np.nan), ("mlp", 0.70, 0.9),
            ("mlp", 0.74, 0.7), ("mlp", 0.71, 0.8), ("mlp", np.inf, 0.6), ("rf", 0.9, 0.3),
        ])
    ])
    return runs, stats.group_labels(runs, ["params.model"])


def test_group_stats_and_two_groups_equal_scipy(grouped_runs):
    from scipy import stats as sps

    runs, groups = grouped_runs
    table = cmp.group_stats(runs, groups, ["gbm", "mlp", "rf"], ["acc", "loss"]).set_index(["metric", "group"])
    mlp = np.array([0.70, 0.74, 0.71])  # inf left out
    row = table.loc[("acc", "mlp")]
    assert row["count"] == 3 and row["mean"] == pytest.approx(mlp.mean())
    assert row["std"] == pytest.approx(np.std(mlp, ddof=1))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        sps.t.interval(0.95, 2, loc=mlp.mean(), scale=sps.sem(mlp)))
    assert table.loc[("loss", "gbm"), "count"] == 2 and np.isnan(table.loc[("acc", "rf"), "std"])
    test = cmp.two_groups(runs, groups, "gbm", "mlp", ["acc", "loss"]).set_index("metric")
    ref = sps.ttest_ind([0.80, 0.82, 0.79], mlp, equal_var=False)
    assert test.loc["acc", "p"] == pytest.approx(ref.pvalue) and test.loc["acc", "df"] == pytest.approx(ref.df)
    assert (test.loc["acc", "ci_low"], test.loc["acc", "ci_high"]) == pytest.approx(tuple(ref.confidence_interval()))
    assert test.loc["loss", "n_a"] == 2 and test.loc["loss", "n_b"] == 4


def test_group_bar_data_and_chart(grouped_runs):
    runs, groups = grouped_runs
    data = metrics.group_bar_data(runs, groups, "acc", ["gbm", "mlp", "rf"], "median", "minmax")
    assert data["label"].tolist() == ["gbm · N=3", "mlp · N=3", "rf · N=1"]
    assert data["center"].tolist() == [0.80, 0.71, 0.9]
    assert data["low"].tolist() == [0.79, 0.70, 0.9] and data["high"].tolist() == [0.82, 0.74, 0.9]
    spec = _spec(charts.group_bar_chart(data, "acc", ["gbm", "mlp", "rf"], ["#1", "#2", "#3"], "median", "minmax"))
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["bar", "rule", "tick", "tick", "text", "point"]  # the points catch the pointer
    assert spec["layer"][0]["encoding"]["color"]["scale"] == {"domain": ["gbm", "mlp", "rf"], "range": ["#1", "#2", "#3"]}
    assert spec["layer"][0]["encoding"]["y"]["sort"] == data["label"].tolist()
    none = _spec(charts.group_bar_chart(data, "acc", ["gbm", "mlp", "rf"], ["#1", "#2", "#3"], "mean", "none"))
    assert [layer["mark"]["type"] for layer in none["layer"]] == ["bar", "text", "point"]


def test_group_line_chart_draws_a_band_under_the_line():
    from lens_core.runs import stats

    data = pd.DataFrame({"run_id": ["a"] * 3 + ["b"] * 3, "x": [0, 1, 2] * 2, "value": [1.0, 2, 3, 3, 4, 5]})
    band = stats.series_band(data, {"a": "g", "b": "g"}, "mean", "ci")
    spec = _spec(charts.group_line_chart(band, "loss", ["g"], ["#1"], spread="ci"))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area", "line", "point"]
    assert spec["layer"][0]["encoding"]["y2"]["field"] == "high"


def test_picked_run_reads_the_click_selection():
    assert charts.picked_run({"selection": {"pick": [{"run_id": "abc"}]}}) == "abc"
    assert charts.picked_run({"selection": {"pick": []}}) is None
    assert charts.picked_run({"selection": {}}) is None and charts.picked_run(None) is None


def test_group_colours_are_stable_and_distinct():
    from lens_core.runs.colors import group_colors

    groups = ["gbm", "mlp", "rf", "logreg"]
    assert group_colors(groups) == group_colors(groups[::-1])
    assert len(set(group_colors(groups).values())) == 4


def test_up_to_nine_groups_never_get_grey():
    from lens_core.runs.colors import GROUP_PALETTE, group_colors

    for n in range(1, 10):
        labels = [f"group {i}" for i in range(n)] + ["0.05", "0.1", "0.3"][: max(0, 3 - n)]
        colors = group_colors(labels)
        assert len(set(colors.values())) == len(colors) and set(colors.values()) <= set(GROUP_PALETTE)
    assert len(set(group_colors([f"g{i}" for i in range(15)]).values())) == 15


# ---- one linked chart --------------------------------------------------------------------------------------------
def _uses_hover(node) -> bool:
    return '"param": "hover"' in json.dumps(node)


def test_linked_grid_shares_one_hover_and_one_pick_across_every_view(three_runs):
    a, b = "a" * 32, "b" * 32
    history = history_frame([(r, k, s, 1000 * s, 1.0 / (s + 1)) for r in (a, b) for k in ("loss", "acc")
                             for s in range(5)])
    labels = labels_by_id(three_runs)
    names, colors = list(labels.values()), ["#1", "#2", "#3"]
    half, full = charts.cell_widths(800)
    lines = [charts.line_chart(metrics.series_data(history, three_runs, labels, k), k, names, colors, width=half,
                            subtitle="metric history", linked=True) for k in ("loss", "acc")]
    bars = charts.bar_chart(metrics.single_data(three_runs, labels, "acc"), "acc", names, colors, width=full,
                         subtitle="latest value", linked=True)
    spec = charts.linked_grid([lines, [bars]]).to_dict()
    (hover,) = hover_params(spec)
    assert hover["select"]["fields"] == ["run_id"] and hover["select"]["on"] == "pointerover"
    views = [view for row in spec["vconcat"] for view in row["hconcat"]]
    assert len(views) == 3
    pointers = [layer["name"] for view in views for layer in view["layer"] if "name" in layer]
    assert sorted(hover["views"]) == sorted(pointers) and len(set(pointers)) == 3  # one pointer layer per view
    assert all(_uses_hover(view) for view in views)  # every chart fades the runs not hovered
    (pick,) = [p for p in spec["params"] if p["name"] == charts.PICK]
    assert pick["views"] == hover["views"]
    assert not any("params" in layer for view in views for layer in view["layer"])  # defined once, on top
    # a view's whole width: its title's limit (the plot plus the room kept for the y axis)
    widths = [view["title"]["limit"] if isinstance(view.get("title"), dict) else view["width"] for view in views]
    assert widths[0] + widths[1] + charts.COLUMN_GAP <= full + 1 and widths[2] <= full


def test_linked_grid_of_groups_hovers_the_group_and_picks_nothing():
    from lens_core.runs import stats

    data = pd.DataFrame({"run_id": ["a"] * 3 + ["b"] * 3, "x": [0, 1, 2] * 2, "value": [1.0, 2, 3, 3, 4, 5]})
    band = stats.series_band(data, {"a": "g", "b": "h"}, "mean", "std")
    chart = charts.group_line_chart(band, "loss", ["g", "h"], ["#1", "#2"], width=300, subtitle="mean", linked=True)
    spec = charts.linked_grid([[chart]], field="group", pick=False).to_dict()
    (hover,) = hover_params(spec)
    assert hover["select"]["fields"] == ["group"] and [p["name"] for p in spec["params"]] == [charts.HOVER]


def test_link_plan_keeps_the_hover_cheap():
    limit, per_chart = charts.LINKED_POINT_LIMIT, charts.HOVER_POINT_LIMIT
    assert charts.link_plan([100, 200]) == [(True, True), (True, True)]
    # a chart past the per-chart cap follows the hover without capturing it
    assert charts.link_plan([per_chart + 1, 10]) == [(True, False), (True, True)]
    # past the budget a chart is drawn plain; later small charts still fit
    big = limit // 2 + 1
    assert charts.link_plan([big, big, 10]) == [(True, big <= per_chart), (False, False), (True, True)]
    # nobody captures the pointer: nobody follows a selection that would be defined nowhere
    assert charts.link_plan([per_chart + 1]) == [(False, False)]


def test_panel_width_decides_charts_per_row():
    half, full = charts.cell_widths(795)
    assert 2 * half + charts.COLUMN_GAP <= full <= 795 and charts.grid_columns(795) == 2
    assert charts.grid_columns(520) == 1 and charts.grid_columns(1130) == 2


def test_standalone_charts_keep_their_own_hover(three_runs):
    labels = labels_by_id(three_runs)
    spec = _spec(charts.bar_chart(metrics.single_data(three_runs, labels, "acc"), "acc", list(labels.values()),
                               ["#1", "#2", "#3"]))
    assert {p["name"] for p in spec["params"]} == {charts.HOVER, charts.PICK}
    static = charts.bar_chart(metrics.single_data(three_runs, labels, "acc"), "acc", list(labels.values()),
                           ["#1", "#2", "#3"], hover=False, listen=False).to_dict()
    assert "params" not in json.dumps(static) and not _uses_hover(static)  # exports: no interaction at all
