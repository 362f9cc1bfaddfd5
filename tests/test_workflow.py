"""The workflow page's pure logic: items, metric standing, param distributions, artifacts, datasets, rating tags."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

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


# ---- metrics --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("train/loss", "lower"), ("val_loss", "lower"), ("test_log_loss", "lower"), ("logloss", "lower"),
        ("rmse", "lower"), ("eval/mae", "lower"), ("error_rate", "lower"), ("val-error", "lower"),
        ("eval.acc", "higher"), ("test_accuracy", "higher"), ("roc_auc", "higher"), ("f1_class_0", "higher"),
        ("r2", "higher"), ("best_roc_auc", "higher"),
        ("neg_mean_squared_error", "higher"), ("neg_log_loss", "higher"),
        ("weird", None), ("train_time_s", None), ("epoch", None),
    ],
)
def test_better_direction_guess(name, direction):
    assert wf.better_direction(name) == direction


def test_metric_standing_ranks_and_extremes():
    runs = runs_table(metrics__loss=[0.5, 0.2, np.nan, 0.9, 0.2, np.inf])
    s = wf.metric_standing(runs, "loss", "r0")
    assert s.value == 0.5 and s.count == 4 and s.missing == 2  # NaN and inf are not ranked
    assert (s.minimum, s.maximum) == (0.2, 0.9) and s.mean == pytest.approx(0.45)
    assert s.rank_lowest == 3 and s.rank_highest == 2
    assert s.rank("lower") == 3 and s.rank("higher") == 2
    assert s.lowest_run_id == "r1" and s.highest_run_id == "r3"  # first of a tie wins
    assert s.best_run_id("lower") == "r1" and s.worst_run_id("lower") == "r3"
    assert s.best_run_id("higher") == "r3" and s.worst_run_id("higher") == "r1"
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


def test_history_axis():
    steps = pd.DataFrame({"step": [0, 1, 2], "timestamp": [1, 2, 3], "value": [1.0, 2.0, 3.0]})
    assert wf.history_axis(steps) == "step"
    same_step = steps.assign(step=0)
    assert wf.history_axis(same_step) == "timestamp"
    assert wf.history_axis(steps.head(1)) == "step"


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
@pytest.mark.parametrize(
    ("path", "kind", "language"),
    [
        ("plots/roc.PNG", "image", None), ("a.jpeg", "image", None), ("README.md", "markdown", "markdown"),
        ("metrics.json", "json", "json"), ("conda.yaml", "yaml", "yaml"), ("model/MLmodel", "yaml", "yaml"),
        ("notes/readme.txt", "text", None), ("train.py", "text", "python"), ("data/table.csv", "table", None),
        ("x.parquet", "table", None), ("x.tsv", "table", None), ("model.pkl", "other", None),
        ("noextension", "other", None),
    ],
)
def test_artifact_kind(path, kind, language):
    found = wf.artifact_kind(path)
    assert (found.kind, found.language) == (kind, language) and found.label


def test_looks_like_text():
    assert wf.looks_like_text("héllo\nworld".encode())
    assert not wf.looks_like_text(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert wf.looks_like_text("ab€".encode()[:-1])  # a character cut by the sample's end
    assert not wf.looks_like_text(b"\xff\xfe plain")


def test_format_bytes_and_pretty_json():
    assert wf.format_bytes(None) == "" and wf.format_bytes(999) == "999 B"
    assert wf.format_bytes(28_004) == "28.0 kB" and wf.format_bytes(3_500_000) == "3.5 MB"
    assert wf.pretty_json('{"a":[1,2]}') == json.dumps({"a": [1, 2]}, indent=2)
    assert wf.pretty_json("not json") == "not json"


# ---- datasets ---------------------------------------------------------------------------------------------------
def test_dataset_metadata_helpers():
    schema = json.dumps({"mlflow_colspec": [{"type": "double", "name": "x", "required": True},
                                            {"type": "long", "name": "y", "required": False}]})
    ds = DatasetInput(name="train", digest="abc", source_type="local", source='{"uri": "/data/train.csv"}',
                      context="training", schema=schema, profile='{"num_rows": 2, "num_elements": 4}')
    assert wf.dataset_source(ds) == "/data/train.csv"
    table = wf.dataset_schema(ds)
    assert list(table["column"]) == ["x", "y"] and list(table["type"]) == ["double", "long"]
    assert list(table["required"]) == [True, False]
    assert wf.dataset_profile(ds) == {"num_rows": 2, "num_elements": 4}
    odd = DatasetInput(name="t", digest="", source_type="delta", source="not json", schema="{bad", profile="[1]")
    assert wf.dataset_source(odd) == "not json" and wf.dataset_schema(odd) is None and wf.dataset_profile(odd) == {}
    tensors = DatasetInput(name="t", digest="", source_type="x", source='{"table_name": "db.t"}',
                           schema=json.dumps({"mlflow_tensorspec": {"features": json.dumps(
                               [{"name": "img", "type": "tensor", "tensor-spec": {"dtype": "float32"}}])}}))
    assert wf.dataset_source(tensors) == "db.t" and list(wf.dataset_schema(tensors)["column"]) == ["img"]


# ---- header -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.35, "350 ms"), (4.2, "4.2 s"), (59.94, "59.9 s"), (200, "3 min 20 s"), (3725, "1 h 02 min"),
     (190_000, "2 d 4 h"), (None, "—"), (float("nan"), "—"), (-1, "—")],
)
def test_format_duration(seconds, text):
    assert wf.format_duration(seconds) == text


def test_run_duration_and_times():
    start = pd.Timestamp("2026-01-02 10:00:00", tz="UTC")
    assert wf.run_duration(start, start + pd.Timedelta(seconds=90)) == 90
    assert wf.run_duration(start, None, start + pd.Timedelta(minutes=5)) == 300  # still running
    assert wf.run_duration(None, start) is None and wf.run_duration(start, None) is None
    assert wf.format_time(start) == "Jan 02 2026, 10:00 UTC"
    assert wf.format_time(start + pd.Timedelta(seconds=30), start) == "10:00:30 UTC"
    assert wf.format_time(None) == "—"
    assert wf.status_style("FAILED")[0] == "red" and wf.status_style("weird")[0] == "gray"


def test_format_number_and_ordinal():
    assert wf.format_number(0.123456) == "0.1235" and wf.format_number(12345.6) == "12,346"
    assert wf.format_number(None) == "—" and wf.format_number(float("nan")) == "—"
    assert wf.format_number(float("inf")) == "∞" and wf.format_number(0.0) == "0"
    assert wf.format_number(1.5e-5) == "1.500e-05"
    assert [wf.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd"]


# ---- rating -----------------------------------------------------------------------------------------------------
NOW = datetime(2026, 11, 27, 14, 5, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(("text", "rating"), [("4", 4), ("4.0", 4), (" 5 ", 5), ("", None), ("0", None),
                                              ("6", None), ("3.5", None), ("good", None)])
def test_stored_rating(text, rating):
    assert wf.stored_rating({"lens.rating": text}) == rating
    assert wf.stored_rating({}) is None


def test_rating_tags_write_only_what_changed():
    current = {"lens.rating": "4", "lens.note": "good baseline", "team": "nlp"}
    assert wf.rating_tags(current, rating=4, note="good baseline", who="ada", now=NOW) == {}
    assert wf.rating_tags(current, rating=4, note=" good baseline \n", who="ada", now=NOW) == {}
    assert wf.rating_tags(current, rating=5, note="good baseline", who="ada", now=NOW) == {
        "lens.rating": "5", "lens.rated_by": "ada", "lens.rated_at": "2026-11-27T14:05:09Z"}
    assert wf.rating_tags(current, rating=4, note="better", who="bo", now=NOW) == {
        "lens.note": "better", "lens.rated_by": "bo", "lens.rated_at": "2026-11-27T14:05:09Z"}
    assert wf.rating_tags(current, rating=None, note="good baseline", who="ada", now=NOW)["lens.rating"] == ""
    assert wf.rating_tags({}, rating=None, note="", who="ada", now=NOW) == {}
    first = wf.rating_tags({}, rating=2, note="meh", who="ada", now=NOW)
    assert set(first) == {"lens.rating", "lens.note", "lens.rated_by", "lens.rated_at"}
    with pytest.raises(ValueError):
        wf.rating_tags({}, rating=6, note="", who="ada", now=NOW)


def test_rating_tags_cap_the_note_and_time_in_utc():
    tags = wf.rating_tags({}, rating=None, note="x" * 9000, who="ada", now=NOW)
    assert len(tags["lens.note"]) == wf.MAX_NOTE_CHARS
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert wf.iso_utc(paris) == "2026-11-27T14:05:09Z"
    assert wf.iso_utc(datetime(2026, 1, 1, 8, 0)) == "2026-01-01T08:00:00Z"
    assert datetime.fromisoformat(wf.iso_utc(NOW)) == NOW.replace(microsecond=0)


def test_rater_identity():
    assert wf.rater_identity({}) is None
    assert wf.rater_identity({"is_logged_in": False, "name": "Ada"}) is None
    assert wf.rater_identity({"is_logged_in": True, "name": "Ada L", "email": "ada@x.org"}) == "Ada L <ada@x.org>"
    assert wf.rater_identity({"is_logged_in": True, "email": "ada@x.org"}) == "ada@x.org"
    assert wf.rater_identity({"is_logged_in": True, "sub": "123"}) == "123"
    assert wf.rater_identity({"is_logged_in": True}) is None


def test_children_dot_escapes_names_and_caps_children():
    dot = wf.children_dot(("p1", 'sweep "a"', "FINISHED"),
                          [(f"c{i}", f"child\\{i}", "FAILED" if i == 0 else "FINISHED") for i in range(70)], limit=60)
    assert dot.startswith("digraph runs {") and dot.endswith("}")
    assert 'label="sweep \\"a\\""' in dot and 'label="child\\\\0"' in dot
    assert dot.count("->") == 61 and "… 10 more" in dot
    assert 'fillcolor="#ffe3e3"' in dot  # the failed child
