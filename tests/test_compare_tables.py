"""The comparison page's pieces in the library: groups of runs, the page's tables as display text, each metric's
chart with its notes and export, the linked view, and the shared-dataset distribution chart."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lens_core.format import MISSING, labels_by_id
from lens_core.runs import compare as cmp
from lens_core.runs import compare_charts as charts
from lens_core.runs import compare_metrics as metrics
from lens_core.runs.colors import run_colors
from tests.test_compare import history_frame, runs_frame


@pytest.fixture()
def runs() -> pd.DataFrame:
    """Six runs of two models and two seeds (one run without acc), one of another experiment."""
    rows = [("gbm", "1", 0.80, "FINISHED"), ("gbm", "2", 0.82, "FAILED"), ("gbm", "3", np.nan, "RUNNING"),
            ("mlp", "1", 0.70, "FINISHED"), ("mlp", "2", 0.74, "KILLED"), ("mlp", "3", 0.71, "FINISHED")]
    return runs_frame([
        {"run_id": f"run{i}", "run_name": f"{model}-s{seed}", "status": status, "experiment_id": "1" if i else "2",
         "params.model": model, "params.seed": seed, "params.lr": "0.1", "metrics.acc": acc}
        for i, (model, seed, acc, status) in enumerate(rows)
    ])


def spec_of(chart) -> dict:
    return json.loads(chart.to_json())


# ---- text and sizes ----------------------------------------------------------------------------------------------
def test_md_escapes_markdown():
    assert cmp.md("a_b*[c]:d") == r"a\_b\*\[c\]\:d"


def test_table_height_grows_with_rows_up_to_the_cap():
    assert cmp.table_height(1, 500) == 73 and cmp.table_height(100, 500) == 500


# ---- groups ------------------------------------------------------------------------------------------------------
def test_group_runs_names_orders_and_colours_the_groups(runs):
    grouping = cmp.group_runs(runs, ["params.model"], "median", "ci")
    assert grouping.order == ("gbm", "mlp") and grouping.sizes() == {"gbm": 3, "mlp": 3}
    assert grouping.of["run0"] == "gbm" and grouping.of["run5"] == "mlp"
    assert grouping.palette == [grouping.colors["gbm"], grouping.colors["mlp"]]
    assert (grouping.aggregation, grouping.spread) == ("median", "ci")
    assert cmp.small_groups(grouping, ["gbm", "mlp"]) == {}
    two = cmp.group_runs(runs.head(3), ["params.model", "params.seed"])
    assert two.order == ("gbm · 1", "gbm · 2", "gbm · 3") and cmp.small_groups(two, ["gbm · 1"]) == {"gbm · 1": 1}


def test_groups_table_lists_sizes_and_each_params_value(runs):
    one = cmp.groups_table(runs, cmp.group_runs(runs, ["params.model"]))
    assert one.data.to_dict("list") == {"color": ["⬤", "⬤"], "group": ["gbm", "mlp"], "runs": [3, 3]}
    grouping = cmp.group_runs(runs, ["params.model", "params.seed"])
    two = cmp.groups_table(runs, grouping)
    assert list(two.data.columns) == ["color", "group", "runs", "model", "seed"]
    assert two.data.iloc[0][["model", "seed"]].tolist() == ["gbm", "1"]
    css = two._compute().ctx  # the dot wears the group's colour
    assert ("color", grouping.colors["gbm · 1"]) in css[(0, 0)]


def test_runs_table_shows_status_group_experiment_and_differing_params(runs):
    labels = labels_by_id(runs)
    grouping = cmp.group_runs(runs, ["params.model"])
    differing = cmp.differing_params(runs)
    assert differing == ["params.model", "params.seed"]
    table = cmp.runs_table(runs, labels, run_colors(runs["run_id"]), differing, grouping, {"1": "one", "2": "two"})
    frame = table.data
    assert list(frame.columns) == ["color", "run", "group", "status", "experiment", "params.model", "params.seed"]
    assert frame["status"].tolist()[:3] == ["finished", "failed", "running"]
    assert frame["experiment"].tolist()[:2] == ["two", "one"] and frame["group"].tolist()[3] == "mlp"
    css = table._compute().ctx
    assert ("color", "#c92a2a") in css[(1, 3)] and ("color", "#1c7ed6") in css[(2, 3)] and not css.get((0, 3))
    plain = cmp.runs_table(runs, labels, run_colors(runs["run_id"]), []).data
    assert list(plain.columns) == ["color", "run", "status"]


def test_group_stats_table_is_text_and_skips_groups_without_the_metric(runs):
    grouping = cmp.group_runs(runs, ["params.seed"])
    frame = cmp.group_stats_table(runs, grouping, ["acc", "absent"]).data
    assert list(frame.columns) == ["color", "metric", "group", "count", "mean", "std", "min", "max", "ci"]
    assert set(frame["metric"]) == {"acc"}
    seed3 = frame.set_index("group").loc["3"]
    assert seed3["count"] == 1 and seed3["mean"] == "0.71" and seed3["std"] == MISSING
    assert seed3["ci"] == MISSING
    seed1 = frame.set_index("group").loc["1"]
    assert seed1["mean"] == "0.75" and seed1["ci"].startswith("[") and seed1["ci"].endswith("]")


def test_two_groups_table_writes_means_with_n_and_bolds_small_p(runs):
    wide = pd.concat([runs] * 3, ignore_index=True).assign(run_id=[f"r{i}" for i in range(18)])
    grouping = cmp.group_runs(wide, ["params.model"])
    table = cmp.two_groups_table(wide, grouping, "gbm", "mlp", ["acc", "absent"])
    frame = table.data.set_index("metric")
    assert frame.loc["acc", "A"] == "0.81 (N=6)" and frame.loc["acc", "B"] == "0.7167 (N=9)"
    assert frame.loc["absent", "A"] == f"{MISSING} (N=0)" and frame.loc["absent", "p"] == MISSING
    assert float(frame.loc["acc", "p"]) < 0.05
    assert ("font-weight", "600") in table._compute().ctx[(0, 5)]


def test_styled_params_diff_greys_missing_values_and_highlights_differing_rows():
    table = runs_frame([{"run_id": "a", "run_name": "a", "params.x": "1", "params.y": "1"},
                        {"run_id": "b", "run_name": "b", "params.x": "2", "params.y": None}])
    diff = cmp.params_diff(table, {"a": "a", "b": "b"}, only_differing=False)
    css = cmp.styled_params_diff(diff, cmp.differing_params(table), highlight=True)._compute().ctx
    assert ("background-color", "#fff4d6") in css[(0, 0)] and ("color", "#9aa1ad") in css[(1, 1)]
    quiet = cmp.styled_params_diff(diff, cmp.differing_params(table), highlight=False)._compute().ctx
    assert not any(("background-color", "#fff4d6") in v for v in quiet.values())


# ---- one chart per metric ----------------------------------------------------------------------------------------
@pytest.fixture()
def history() -> pd.DataFrame:
    return history_frame([(f"run{i}", "loss", step, 1_000 * step, 1.0 / (step + i + 1))
                          for i in range(6) for step in range(4)])


def test_metric_chart_of_single_values_by_run_and_by_group(runs):
    labels, colors = labels_by_id(runs), run_colors(runs["run_id"])
    chart = metrics.metric_chart("acc", series=False, history=pd.DataFrame(), runs=runs, labels=labels, colors=colors)
    assert chart.points == 5 and chart.lacking == ("gbm-s3",) and not chart.series
    assert chart.notes == "latest value of each run · 1 of 6 runs lack it"
    assert list(chart.export.columns) == ["run_id", "run_name", "metric", "value"]
    assert spec_of(chart.make())["layer"][0]["mark"]["type"] == "bar"
    grouping = cmp.group_runs(runs, ["params.model"], "median", "minmax")
    grouped = metrics.metric_chart("acc", series=False, history=pd.DataFrame(), runs=runs, labels=labels,
                                   colors=colors, grouping=grouping)
    assert grouped.points == 2 and grouped.notes.startswith("median of the latest values")
    assert {"median", "error_low", "error_high"} <= set(grouped.export.columns)


def test_metric_chart_of_a_series_smoothed_on_a_log_scale_and_by_group(runs, history):
    labels, colors = labels_by_id(runs), run_colors(runs["run_id"])
    options = metrics.ChartOptions(x="relative", smoothing=0.5, log=True)
    chart = metrics.metric_chart("loss", series=True, history=history, runs=runs, labels=labels, colors=colors,
                                 options=options)
    assert chart.series and chart.points == 24 and chart.notes == "metric history" and not chart.lacking
    assert "smoothed" in chart.export.columns
    grouping = cmp.group_runs(runs, ["params.model"])
    band = metrics.metric_chart("loss", series=True, history=history, runs=runs, labels=labels, colors=colors,
                                options=options, grouping=grouping)
    assert band.notes == "mean per group, band ± 1 std" and set(band.export["group"]) == {"gbm", "mlp"}
    assert "minutes since run start" in band.export.columns
    assert (band.export["low"] > 0).all()  # cut at the line on a log scale


def test_metric_chart_notes_points_it_cannot_draw(runs):
    history = history_frame([("run0", "loss", s, s, v) for s, v in enumerate([1.0, -1.0, np.nan])])
    chart = metrics.metric_chart("loss", series=True, history=history, runs=runs, labels=labels_by_id(runs),
                                 colors=run_colors(runs["run_id"]), options=metrics.ChartOptions(log=True))
    assert chart.points == 1 and chart.dropped_note == "2 points not drawn (non-finite, or ≤ 0 on the log scale)"
    assert "5 of 6 runs lack it" in chart.notes


def test_linked_figure_puts_series_first_and_picks_only_ungrouped(runs, history):
    labels, colors = labels_by_id(runs), run_colors(runs["run_id"])
    made = [metrics.metric_chart(k, series=k == "loss", history=history, runs=runs, labels=labels, colors=colors)
            for k in ("acc", "loss")]
    spec = spec_of(metrics.linked_figure(made, 1200, grouped=False, pick=True))
    rows = [[view["title"]["text"] for view in row["hconcat"]] for row in spec["vconcat"]]
    assert rows == [["loss", "acc"]] or rows == [["loss"], ["acc"]]
    assert {p["name"] for p in spec["params"]} == {charts.HOVER, charts.PICK}
    narrow = spec_of(metrics.linked_figure(made, 500, grouped=True, pick=False))
    assert [len(row["hconcat"]) for row in narrow["vconcat"]] == [1, 1]
    assert {p["name"] for p in narrow["params"]} == {charts.HOVER}


def test_metric_hints_say_what_the_charts_show_and_who_lacks_a_metric(runs, history):
    labels, colors = labels_by_id(runs), run_colors(runs["run_id"])
    made = [metrics.metric_chart(k, series=k == "loss", history=history, runs=runs, labels=labels, colors=colors)
            for k in ("acc", "loss", "nothing_here")]
    caption, lacking = metrics.metric_hints(made, None, metrics.ChartOptions(), clickable=True)
    assert caption.startswith("Hover a run in any chart") and "click a run to open it" in caption
    assert r"nothing\_here: nothing to draw" in caption and caption.endswith(".")
    assert lacking is not None and "acc: gbm-s3" in lacking
    grouping = cmp.group_runs(runs, ["params.model"], spread="ci")
    caption, _ = metrics.metric_hints(made[:2], grouping, metrics.ChartOptions(x="relative"), clickable=False)
    assert "Hover a group" in caption and "aligned by relative time" in caption and "click" not in caption
    assert metrics.metric_hints(made[1:2], None, metrics.ChartOptions(), clickable=True)[1] is None


# ---- datasets the runs share -------------------------------------------------------------------------------------
def test_distribution_chart_lines_for_bins_and_bars_for_values():
    labels, colors = {"a": "alpha", "b": "beta"}, {"a": "#111111", "b": "#222222"}
    binned = pd.DataFrame({"run_id": ["a", "a", "b"], "value": [0.0, 1.0, 0.0], "end": [1.0, 2.0, 1.0],
                           "count": [3, 1, 4], "share": [0.75, 0.25, 1.0]})
    spec = spec_of(charts.distribution_chart(binned, "age", labels, ["a", "b"], colors))
    assert spec["mark"]["type"] == "line" and spec["title"] == "age"
    assert spec["encoding"]["color"]["scale"] == {"domain": ["alpha", "beta"], "range": ["#111111", "#222222"]}
    counted = binned.assign(value=["x", "y", "x"], end=None)
    bars = spec_of(charts.distribution_chart(counted, "plan", labels, ["a", "b"], colors))
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["xOffset"]["field"] == "run"
