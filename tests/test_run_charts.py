"""The Run page's chart specifications: what each draws, in which colours."""
from __future__ import annotations

import pandas as pd

from lens_core.runs import run_charts
from lens_core.runs import workflow as wf


def _runs(values: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"run_id": list(values), "run_name": [f"n-{r}" for r in values],
                         "params.lr": list(values.values()), "metrics.loss": [float(i) for i in range(len(values))]})


def test_param_counts_are_bars_labelled_with_their_count():
    dist = wf.param_distribution(_runs({"a": "adam", "b": "sgd", "c": "adam"}), "lr", "adam")
    spec = run_charts.param_distribution_chart(dist).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "text"]
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["condition"]["value"] == run_charts.THIS_RUN and colour["value"] == run_charts.OTHER_RUNS
    assert spec["height"] == {"step": 30}


def test_many_numeric_values_are_a_histogram():
    values = {f"r{i}": str(0.001 * (i + 1)) for i in range(40)}
    dist = wf.param_distribution(_runs(values), "lr", values["r3"])
    spec = run_charts.param_distribution_chart(dist).to_dict()
    assert dist.kind == "histogram" and spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["bin"] == "binned" and spec["encoding"]["x2"]["field"] == "bin_end"


def test_history_against_steps_with_dots_when_short():
    history = pd.DataFrame({"step": [0, 1, 2], "timestamp": [1000, 2000, 3000], "value": [0.9, 0.5, 0.4]})
    spec = run_charts.metric_history_chart(wf.metric_history(history, "loss")).to_dict()
    assert spec["encoding"]["x"]["field"] == "step" and spec["encoding"]["y"]["title"] == "loss"
    assert spec["mark"]["point"]["color"] == run_charts.THIS_RUN
    assert "~g" not in spec["encoding"]["y"]["axis"]["format"]


def test_history_logged_at_step_zero_is_drawn_in_the_order_logged_not_against_time():
    history = pd.DataFrame({"step": [0] * 80, "timestamp": range(1000, 1080), "value": [0.5] * 80})
    spec = run_charts.metric_history_chart(wf.metric_history(history, "loss")).to_dict()
    assert spec["encoding"]["x"]["field"] == "order" and "step 0" in spec["encoding"]["x"]["title"]
    assert spec["mark"]["point"] is False


def test_strip_ticks_read_plainly_with_the_sentinel_left_out():
    runs = _runs({"a": "1", "b": "1", "c": "1"}).assign(**{"metrics.loss": [1.3, 0.5, 1.7976931348623157e308]})
    spec = run_charts.metric_strip_chart(wf.metric_standing(runs, "loss", "a"), "a").to_dict()
    assert spec["encoding"]["x"]["axis"]["format"] == ",~r"
    data = spec["datasets"][spec["data"]["name"]]
    assert sorted(d["value"] for d in data) == [0.5, 1.3] and {d["run"] for d in data} == {"n-a", "n-b"}


def test_strip_puts_this_run_in_the_middle_and_keeps_ties_apart():
    standing = wf.metric_standing(_runs({"a": "1", "b": "1", "c": "1", "d": "1"}).assign(**{"metrics.loss": 1.0}),
                                  "loss", "b")
    values = run_charts.standing_values(standing, "b")
    assert values.set_index("run_id").loc["b", "jitter"] == 0.5 and values["jitter"].nunique() == 4
    spec = run_charts.metric_strip_chart(standing, "b").to_dict()
    assert spec["encoding"]["x"]["title"] == "loss" and spec["mark"]["type"] == "circle"
