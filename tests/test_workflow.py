"""The Run page's pure logic: items, metric standing and history, param distributions, status, children."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens_core.model import DatasetInput, RunDetail
from lens_core.runs import workflow as wf


def detail(**kw) -> RunDetail:
    base = {"run_id": "r1", "experiment_id": "1", "run_name": "run", "status": "FINISHED", "start_time": None,
            "end_time": None, "user_id": "u", "artifact_uri": "", "lifecycle_stage": "active", "params": {},
            "metrics": {}, "tags": {}}
    return RunDetail(**(base | kw))


def runs_table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "run_name": [f"run-{i}" for i in range(n)]})
    for name, values in columns.items():
        frame[name.replace("__", ".")] = values
    return frame


# ---- items ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("param:lr", wf.Item("param", "lr")),
        ("metric:train/loss", wf.Item("metric", "train/loss")),
        ("metric:a:b", wf.Item("metric", "a:b")),  # only the first colon separates
        ("artifact:", wf.Item("artifact", "")),
        ("artifact:plots/", wf.Item("artifact", "plots/")),
        ("dataset:train", wf.Item("dataset", "train")),
        ("param:", None),
        ("lr", None),
        ("tag:x", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_item(text, expected):
    assert wf.parse_item(text) == expected
    if expected is not None:
        assert wf.parse_item(expected.id) == expected


def test_folder_items_and_their_folders():
    assert wf.Item("artifact", "").is_folder and wf.Item("artifact", "a/b/").is_folder
    assert not wf.Item("artifact", "a/b.txt").is_folder and not wf.Item("param", "").is_folder
    assert wf.artifact_folder(wf.Item("artifact", "a/b/c.txt")) == "a/b/"
    assert wf.artifact_folder(wf.Item("artifact", "c.txt")) == ""
    assert wf.artifact_folder(wf.Item("artifact", "a/")) == "a/"
    assert wf.artifact_folder(wf.Item("metric", "loss")) == "" and wf.artifact_folder(None) == ""
    assert wf.parent_folder("a/b/") == "a/" and wf.parent_folder("a/") == ""


def test_default_item_prefers_metrics_then_params():
    assert wf.default_item(detail(metrics={"z": 1.0, "b": 2.0}, params={"a": "1"})) == wf.Item("metric", "b")
    assert wf.default_item(detail(params={"lr": "1", "depth": "2"})) == wf.Item("param", "depth")
    ds = DatasetInput(name="train", digest="d", source_type="local", source="{}")
    assert wf.default_item(detail(inputs=(ds,))) == wf.Item("dataset", "train")
    assert wf.default_item(detail()) == wf.Item("artifact", "")


def test_item_exists():
    run = detail(params={"lr": "0.1"}, metrics={"loss": 1.0})
    assert wf.item_exists(wf.Item("param", "lr"), run) and not wf.item_exists(wf.Item("param", "loss"), run)
    assert wf.item_exists(wf.Item("metric", "loss"), run) and not wf.item_exists(wf.Item("dataset", "x"), run)
    assert wf.item_exists(wf.Item("artifact", "anything.txt"), run)


def test_dataset_item_names_disambiguate_repeats():
    def ds(name, context):
        return DatasetInput(name=name, digest="d", source_type="local", source="{}", context=context)

    inputs = [ds("train", "training"), ds("train", "evaluation"), ds("test", "test"), ds("train", "training")]
    assert wf.dataset_item_names(inputs) == ["train@training", "train@evaluation", "test", "train@training#2"]


# ---- metrics ------------------------------------------------------------------------------------------------
def test_metric_standing_ranks_and_extremes():
    runs = runs_table(metrics__loss=[0.5, 0.2, np.nan, 0.9, 0.2, np.inf])
    s = wf.metric_standing(runs, "loss", "r0")
    assert s.value == 0.5 and s.count == 4 and s.missing == 1 and s.non_finite == 1  # NaN and inf are not ranked
    assert (s.minimum, s.maximum) == (0.2, 0.9) and s.mean == pytest.approx(0.45)
    assert s.rank_lowest == 3 and s.rank_highest == 2
    assert s.rank("min") == 3 and s.rank("max") == 2
    assert s.lowest_run_id == "r1" and s.highest_run_id == "r3"  # first of a tie wins
    assert s.best_run_id("min") == "r1" and s.worst_run_id("min") == "r3"
    assert s.best_run_id("max") == "r3" and s.worst_run_id("max") == "r1"
    assert list(s.values["run_id"]) == ["r0", "r1", "r3", "r4"]
    tied = wf.metric_standing(runs, "loss", "r4")
    assert tied.rank_lowest == 1 and tied.rank_highest == 3  # ties share the better rank


def test_metric_standing_without_a_value_or_column():
    runs = runs_table(metrics__loss=[np.nan, 0.3])
    s = wf.metric_standing(runs, "loss", "r0")
    assert s.value is None and s.rank_lowest is None and s.count == 1
    missing = wf.metric_standing(runs, "acc", "r0", value=0.7)
    assert missing.count == 0 and missing.value == 0.7 and missing.minimum is None
    deleted = wf.metric_standing(runs, "loss", "gone", value=0.1)  # a run not in the table ranks by its own value
    assert deleted.value == 0.1 and deleted.rank_lowest == 1
    assert wf.metric_standing(pd.DataFrame(), "loss", "r0").count == 0


def test_mlflow_inf_sentinel_is_left_out_of_the_statistics_and_counted():
    runs = runs_table(metrics__loss=[1.3, 0.5, 1.7976931348623157e308, -1.7976931348623157e308, 0.7])
    s = wf.metric_standing(runs, "loss", "r2")
    assert s.value == float("inf") and not s.own_is_finite and s.rank("min") is None
    assert (s.count, s.non_finite, s.missing) == (3, 2, 0)
    assert (s.minimum, s.maximum) == (0.5, 1.3) and s.mean == pytest.approx(2.5 / 3)
    assert list(s.values["run"]) == ["run-0", "run-1", "run-4"]


def test_unnamed_runs_are_labelled_by_their_short_id():
    runs = runs_table(metrics__acc=[0.1, 0.2]).assign(run_id=["a" * 32, "b" * 32], run_name=[None, ""])
    assert list(wf.metric_standing(runs, "acc", "a" * 32).values["run"]) == ["aaaaaaaa", "bbbbbbbb"]


def test_history_against_steps_or_in_the_order_logged():
    steps = pd.DataFrame({"step": [2, 0, 1], "timestamp": [3, 1, 2], "value": [3.0, 1.0, float("inf")]})
    h = wf.metric_history(steps, "loss")
    assert h.axis == "step" and list(h.points["step"]) == [0, 2] and h.non_finite == 1
    step_zero = pd.DataFrame({"step": [0, 0, 0], "timestamp": [1_700_000_000_005, 1_700_000_000_001,
                                                                1_700_000_000_003], "value": [3.0, 1.0, 2.0]})
    h = wf.metric_history(step_zero, "loss")
    assert h.axis == "order" and h.step == 0 and list(h.points["value"]) == [1.0, 2.0, 3.0]
    assert list(h.points["order"]) == [1, 2, 3]
    once = wf.metric_history(step_zero.head(1), "loss")
    assert once.single and once.axis == "step"


# ---- params ---------------------------------------------------------------------------------------------------
def test_param_distribution_counts_categorical_values():
    runs = runs_table(params__model=["gbm", "mlp", "gbm", None, "logreg", "gbm"])
    dist = wf.param_distribution(runs, "model", "mlp")
    assert dist.kind == "counts" and not dist.numeric
    assert dist.total == 6 and dist.missing == 1 and dist.same_value_run_ids == ["r1"]
    assert list(dist.table["value"]) == ["gbm", "logreg", "mlp"]  # most frequent first, then by name
    assert list(dist.table["count"]) == [3, 1, 1]
    assert list(dist.table["this"]) == [False, False, True]


def test_param_distribution_orders_few_numbers_numerically():
    runs = runs_table(params__depth=["10", "2", "3", "2"])
    dist = wf.param_distribution(runs, "depth", "2")
    assert dist.kind == "counts" and dist.numeric
    assert list(dist.table["value"]) == ["2", "3", "10"]
    assert dist.same_value_run_ids == ["r1", "r3"]


def test_param_distribution_histogram_for_many_numbers():
    values = [str(v) for v in np.linspace(0, 1, 40)]
    runs = runs_table(params__dropout=values)
    dist = wf.param_distribution(runs, "dropout", values[5])
    assert dist.kind == "histogram" and not dist.log_scale
    assert dist.table["count"].sum() == 40 and dist.table["this"].sum() == 1
    row = dist.table[dist.table["this"]].iloc[0]
    assert row.bin_start <= float(values[5]) <= row.bin_end
    last = wf.param_distribution(runs, "dropout", values[-1])  # the maximum falls in the last bin
    assert bool(last.table["this"].iloc[-1])


def test_param_distribution_histogram_when_values_are_mostly_unique():
    values = [str(0.1 / (i + 1)) for i in range(12)] + [None, None]
    dist = wf.param_distribution(runs_table(params__lr=values), "lr", "0.1")
    assert dist.kind == "histogram" and dist.missing == 2 and dist.table["count"].sum() == 12
    assert len(dist.table) == 7 and bool(dist.table["this"].iloc[-1])  # 2·√12 bins; 0.1 is the largest value


def test_param_distribution_sets_none_aside():
    values = [str(v) for v in np.linspace(1, 2, 30)] + ["None"] * 5 + [None]
    dist = wf.param_distribution(runs_table(params__alpha=values), "alpha", "None")
    assert dist.kind == "histogram" and dist.unset_values == 5 and dist.missing == 1
    assert dist.table["count"].sum() == 30 and not dist.table["this"].any()
    assert len(dist.same_value_run_ids) == 5
    few = wf.param_distribution(runs_table(params__depth=["3", "None", "10", "3"]), "depth", "3")
    assert few.kind == "counts" and list(few.table["value"]) == ["3", "10", "None"]


def test_param_distribution_log_bins_for_learning_rates():
    values = [str(10.0 ** -e) for e in np.linspace(1, 6, 30)]
    dist = wf.param_distribution(runs_table(params__lr=values), "lr", values[0])
    assert dist.kind == "histogram" and dist.log_scale and dist.table["count"].sum() == 30
    assert dist.table["bin_start"].iloc[0] == pytest.approx(1e-6) and dist.table["bin_end"].iloc[-1] == pytest.approx(0.1)


def test_param_distribution_groups_rare_categories():
    values = [f"v{i:02d}" for i in range(50)] + ["v00"]
    dist = wf.param_distribution(runs_table(params__name=values), "name", "v49")
    assert len(dist.table) == wf.MAX_CATEGORIES + 1
    assert dist.table["value"].iloc[-1].startswith("… ") and dist.table["count"].sum() == 51
    assert "v49" in set(dist.table["value"]) and dist.table["this"].sum() == 1


def test_param_distribution_without_the_param():
    dist = wf.param_distribution(runs_table(params__a=["1"]), "b", "x")
    assert dist.table.empty and dist.same_value_run_ids == []


# ---- artifacts --------------------------------------------------------------------------------------------------
# ---- header -----------------------------------------------------------------------------------------------------
def test_run_duration_and_times():
    start = pd.Timestamp("2026-01-02 10:00:00", tz="UTC")
    assert wf.run_duration(start, start + pd.Timedelta(seconds=90)) == 90
    assert wf.run_duration(start, None, start + pd.Timedelta(minutes=5)) == 300  # still running
    assert wf.run_duration(None, start) is None and wf.run_duration(start, None) is None
    assert wf.status_style("FAILED")[0] == "red" and wf.status_style("weird")[0] == "gray"


def test_children_dot_escapes_names_and_caps_children():
    dot = wf.children_dot(("p1", 'sweep "a"', "FINISHED"),
                          [(f"c{i}", f"child\\{i}", "FAILED" if i == 0 else "FINISHED") for i in range(70)], limit=60)
    assert dot.startswith("digraph runs {") and dot.endswith("}")
    assert 'label="sweep \\"a\\""' in dot and 'label="child\\\\0"' in dot
    assert dot.count("->") == 61 and "… 10 more" in dot
    assert 'fillcolor="#ffe3e3"' in dot  # the failed child
