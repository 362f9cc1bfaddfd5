"""The one metric-direction rule (lens_core.runs.direction): name heuristics and the experiment tag."""
from __future__ import annotations

import pytest

from lens_core.runs import direction as d

MIN, MAX = "min", "max"


@pytest.mark.parametrize(("metric", "expected"), [
    # sklearn's negated losses are greater-is-better
    ("neg_log_loss", MAX), ("neg_mean_squared_error", MAX), ("neg_root_mean_squared_error", MAX),
    ("test_neg_mean_absolute_error", MAX), ("val/neg_log_loss", MAX),
    # losses and errors, with path prefixes
    ("loss", MIN), ("eval_loss", MIN), ("train/loss", MIN), ("val.loss", MIN), ("valLoss", MIN),
    ("log_loss", MIN), ("logloss", MIN), ("val_logloss", MIN), ("nll", MIN), ("bpc", MIN),
    ("negative_log_likelihood", MIN), ("log_likelihood", MAX),
    ("error", MIN), ("errors", MIN), ("error_rate", MIN), ("mean_squared_error", MIN), ("top1_err", MIN),
    ("eval.top5err", MIN), ("val-err", MIN),
    ("mae", MIN), ("mse", MIN), ("rmse", MIN), ("test_rmse", MIN), ("valRMSE", MIN), ("mape", MIN),
    ("smape", MIN), ("wer", MIN), ("cer", MIN), ("fpr", MIN), ("fnr", MIN), ("brier", MIN),
    ("brier_score", MIN), ("perplexity", MIN), ("train/perplexity", MIN), ("false_negatives", MIN),
    # times, sizes, memory, cost
    ("latency_ms", MIN), ("p99_latency", MIN), ("training_time", MIN), ("time_s", MIN),
    ("inference_time_s", MIN), ("fit_duration", MIN), ("step_sec", MIN), ("predict_ms", MIN),
    ("runtime", MIN), ("cost", MIN), ("cost_usd", MIN), ("model_size", MIN), ("model_size_bytes", MIN),
    ("peak_memory", MIN), ("gpu_mem_mb", MIN), ("time_per_step", MIN), ("memory_per_sample", MIN),
    # throughputs are rates per time
    ("samples_per_sec", MAX), ("tokens/sec", MAX), ("it/s", MAX), ("bytes_per_second", MAX),
    # scores
    ("accuracy", MAX), ("val/accuracy", MAX), ("acc", MAX), ("test_roc_auc", MAX), ("roc_auc", MAX),
    ("f1", MAX), ("f1_macro", MAX), ("F1Score", MAX), ("r2", MAX), ("precision", MAX), ("recall", MAX),
    ("map", MAX), ("mAP", MAX), ("ndcg@10", MAX), ("bleu", MAX), ("rouge_l", MAX), ("accuracy_min", MAX),
    ("true_neg_rate", MAX), ("epoch", MAX),
])
def test_guess_direction(metric, expected):
    assert d.guess_direction(metric) == expected


@pytest.mark.parametrize("metric", ["val_loss", "test_accuracy", "neg_log_loss", "latency_ms"])
@pytest.mark.parametrize("prefix", ["", "val/", "test_", "eval.", "Train-", "metrics."])
def test_prefixes_do_not_matter(metric, prefix):
    assert d.guess_direction(prefix + metric) == d.guess_direction(metric)


def test_case_does_not_matter():
    assert d.guess_direction("VAL_LOSS") == d.guess_direction("Val_Loss") == MIN
    assert d.guess_direction("TEST_ACCURACY") == MAX


def test_words():
    assert d.metric_words("val/trainLoss_ms") == ["val", "train", "loss", "ms"]
    assert d.metric_words("eval.ROCAuc-top1") == ["eval", "roc", "auc", "top1"]


def test_source_says_whether_the_name_decided():
    assert d.resolve_direction("val_loss").source == "name"
    assert d.resolve_direction("test_roc_auc").source == "name"
    assert d.resolve_direction("epoch") == d.MetricDirection("epoch", MAX, "default")


def test_tag_key():
    assert d.direction_tag("val/loss") == "lens.direction.val/loss"
    assert d.direction_tag("metrics.val/loss") == "lens.direction.val/loss"


def test_directions_from_tags():
    tags = {"lens.direction.val_loss": "max", "lens.direction.acc": " MIN ", "lens.direction.odd": "sideways",
            "lens.direction.": "max", "mlflow.note.content": "x", "lens.direction.r2": "maximize"}
    assert d.directions_from_tags(tags) == {"val_loss": MAX, "acc": MIN, "r2": MAX}


def test_tag_wins_over_guess():
    tags = {"lens.direction.val_loss": "max", "lens.direction.odd": "sideways"}
    assert d.direction_for("val_loss", tags) == MAX
    assert d.direction_for("metrics.val_loss", tags) == MAX  # runs-table columns work too
    assert d.resolve_direction("val_loss", tags).source == "tag"
    assert d.direction_for("odd_loss", tags) == MIN  # an invalid tag falls back to the guess
    assert d.direction_for("val_loss", {}) == d.direction_for("val_loss") == MIN
    assert d.resolve_direction("val_loss", tags).higher_is_better


def test_round_trip_through_the_tag():
    for metric in ("val_loss", "eval.acc", "a/b-c d"):
        for direction in (MAX, MIN):
            assert d.direction_for(metric, {d.direction_tag(metric): direction}) == direction


def _direction_view(uri: str, experiment_id: str) -> None:
    import streamlit as st

    from lens_core import open_tracker
    from lens_core.ui.directions import direction_control

    st.write(direction_control(open_tracker(uri), experiment_id, "metrics.train/loss", key="dir"))


def test_a_direction_set_in_the_ui_is_saved_for_the_experiment(sqlite_store, tmp_path):
    import shutil

    from streamlit.testing.v1 import AppTest

    from lens_core import open_tracker

    uri, ids = sqlite_store
    shutil.copy(uri.removeprefix("sqlite:///"), tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    at = AppTest.from_function(_direction_view, args=(uri, ids["main"])).run()
    assert not at.exception and at.markdown[0].value == "min"  # a loss: lower is better, from its name
    at.get("button_group")[0].set_value("max").run()
    assert at.markdown[0].value == "max"
    assert open_tracker(uri).experiment(ids["main"]).tags["lens.direction.train/loss"] == "max"
    again = AppTest.from_function(_direction_view, args=(uri, ids["main"])).run()  # a teammate's session
    assert again.markdown[0].value == "max"
