"""The model-insights charts (lens_core.insights.charts) and the tables beside them, on small generated data: the
Vega-Lite specs' marks, encodings and data rows — what is drawn from what, not how it looks in pixels."""
from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest

from lens_core.insights import charts
from lens_core.insights.counterfactual import Counterfactuals, comparison_table
from lens_core.insights.evaluation import classification_from_proba
from lens_core.insights.explain import PartialDependence, ShapResult
from lens_core.insights.instances import instance_table, instances_file


def layers(chart: alt.TopLevelMixin) -> list[dict[str, Any]]:
    """The views of a chart's spec (one for a single chart), each with its inline data rows as ``rows``."""
    spec = chart.to_dict()
    datasets = spec.get("datasets", {})
    views = spec.get("layer", [spec])
    for view in views:
        data = view.get("data") or spec.get("data") or {}
        view["rows"] = datasets.get(data.get("name"), data.get("values", []))
    return views


def mark(view: dict[str, Any]) -> str:
    return view["mark"] if isinstance(view["mark"], str) else view["mark"]["type"]


def binary_evaluation(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(y * 0.6 + rng.random(n) * 0.5, 0, 1)
    return classification_from_proba(y, np.column_stack([1 - p, p]), (0, 1))


def shap_result(rows: int = 6) -> ShapResult:
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"age": rng.integers(20, 70, rows), "plan": ["a", "b"] * (rows // 2),
                         "income": rng.random(rows) * 1000}, index=range(10, 10 + rows))
    values = pd.DataFrame({"age": rng.normal(0, 0.3, rows), "plan": rng.normal(0, 0.1, rows),
                           "income": rng.normal(0, 0.05, rows)}, index=data.index)
    base = 0.4
    return ShapResult(values, base, data, base + values.sum(axis=1).to_numpy(), "probability of class 1", "tree")


# ---- curves -------------------------------------------------------------------------------------------------------
def test_roc_of_one_model_draws_a_curve_per_class_over_the_chance_diagonal():
    evaluation = binary_evaluation()
    curves = charts.class_curves(evaluation.roc, evaluation.auc, "roc_auc")
    auc = evaluation.auc.set_index("class").loc["1", "roc_auc"]
    assert set(curves["curve"]) == {f"1 · {auc:.3f}"}
    chance, lines = layers(charts.roc_chart(curves, legend_title="class · AUC"))
    assert mark(chance) == "line" and chance["rows"] == [{"x": 0, "y": 0}, {"x": 1, "y": 1}]
    assert lines["mark"]["interpolate"] == "step-after"
    assert (lines["encoding"]["x"]["field"], lines["encoding"]["y"]["field"]) == ("fpr", "tpr")
    assert lines["encoding"]["color"]["field"] == "curve" and lines["encoding"]["color"]["title"] == "class · AUC"
    assert len(lines["rows"]) == len(curves)
    assert {t["field"] for t in lines["encoding"]["tooltip"]} == {"curve", "fpr", "tpr", "threshold"}


def test_runs_overlaid_wear_their_colours_in_the_page_order_and_name_their_auc():
    frame = pd.DataFrame({"run_id": ["b", "b", "a", "a"], "fpr": [0, 1, 0, 1], "tpr": [0, 1, 0, 1],
                          "threshold": [1.0, 0.0, 1.0, 0.0], "roc_auc": [0.75, 0.75, 0.9, 0.9]})
    curves = charts.run_curves(frame, ["a", "gone", "b"], {"a": "run A", "b": "run B"},
                               {"a": "#111111", "b": "#222222", "gone": "#333333"}, score=("roc_auc", "AUC"))
    assert curves.colors == {"run A · AUC 0.900": "#111111", "run B · AUC 0.750": "#222222"}
    _, lines = layers(charts.roc_chart(curves.frame, colors=curves.colors))
    color = lines["encoding"]["color"]
    assert color["scale"] == {"domain": ["run A · AUC 0.900", "run B · AUC 0.750"], "range": ["#111111", "#222222"]}
    assert color["legend"]["columns"] == 2  # short labels: two legend columns; run names are longer, one
    long = charts.run_curves(frame, ["a", "b"], {"a": "a-long-run-name-from-a-sweep", "b": "b"}, {"a": "#1", "b": "#2"})
    assert layers(charts.pdp_chart(long.frame.assign(value=1.0, average=0.5), feature="f", output="o",
                                   categorical=False, colors=long.colors))[0]["encoding"]["color"]["legend"]["columns"] == 1
    assert charts.roc_chart(curves.frame, colors=curves.colors).to_dict()["height"] == charts.HEIGHT

    many = pd.concat([frame.assign(run_id=f"run-{k}") for k in range(4)], ignore_index=True)
    names = {f"run-{k}": f"a-rather-long-run-name-{k}" for k in range(4)}
    overlaid = charts.run_curves(many, list(names), names, dict.fromkeys(names, "#444444"), score=("roc_auc", "AUC"))
    chart = charts.roc_chart(overlaid.frame, colors=overlaid.colors).to_dict()
    assert chart["layer"][1]["encoding"]["color"]["legend"]["columns"] == 1
    assert chart["height"] == charts.HEIGHT + 3 * charts.LEGEND_ROW  # four legend rows under the plot, not in it
    plain = charts.run_curves(frame, ["a", "b"], {"a": "run A"}, {"a": "#111111", "b": "#222222"})
    assert list(plain.colors) == ["run A", "b"]  # no score: the label alone; no label: the run id


def test_precision_recall_curves_are_drawn_on_a_zero_to_one_scale():
    evaluation = binary_evaluation()
    (lines,) = layers(charts.pr_chart(charts.class_curves(evaluation.pr, evaluation.auc, "average_precision")))
    assert (lines["encoding"]["x"]["field"], lines["encoding"]["y"]["field"]) == ("recall", "precision")
    assert lines["encoding"]["y"]["scale"]["domain"] == [0, 1]


# ---- confusion matrix ---------------------------------------------------------------------------------------------
@pytest.fixture
def matrix() -> pd.DataFrame:
    classes = ["lo", "mid", "hi"]  # not alphabetical: the class order must survive
    counts = np.array([[8, 1, 1], [2, 6, 2], [0, 3, 7]])
    return pd.DataFrame({"actual": np.repeat(classes, 3), "predicted": np.tile(classes, 3), "count": counts.ravel(),
                         "normalized": (counts / counts.sum(axis=1, keepdims=True)).ravel()})


def test_confusion_matrix_counts_in_class_order(matrix):
    heat, text = layers(charts.confusion_chart(matrix))
    assert mark(heat) == "rect" and mark(text) == "text"
    assert heat["encoding"]["x"]["sort"] == ["lo", "mid", "hi"] == heat["encoding"]["y"]["sort"]
    assert heat["encoding"]["color"]["field"] == "count" and text["encoding"]["text"]["format"] == "d"
    assert "datum.count > 4.0" in text["encoding"]["color"]["condition"]["test"]
    assert len(heat["rows"]) == 9


def test_normalised_confusion_matrices_share_one_colour_scale(matrix):
    heat, text = layers(charts.confusion_chart(matrix, normalised=True, height=180))
    assert heat["encoding"]["color"]["field"] == "normalized"
    assert heat["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert text["encoding"]["text"] == {"field": "normalized", "type": "quantitative", "format": ".0%"}
    assert charts.confusion_chart(matrix, height=180).to_dict()["height"] == 180


# ---- regression and errors ----------------------------------------------------------------------------------------
def regression_predictions(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    actual = rng.normal(10, 3, n)
    predicted = actual + rng.normal(0, 1, n)
    return pd.DataFrame({"actual": actual, "predicted": predicted, "residual": actual - predicted})


def test_predicted_vs_actual_over_the_identity_and_residuals_over_zero():
    predictions = regression_predictions(80)
    identity, points = layers(charts.predicted_vs_actual_chart(predictions))
    low = predictions[["actual", "predicted"]].min().min()
    high = predictions[["actual", "predicted"]].max().max()
    assert [r["x"] for r in identity["rows"]] == pytest.approx([low, high])
    assert (points["encoding"]["x"]["field"], points["encoding"]["y"]["field"]) == ("actual", "predicted")
    zero, residuals = layers(charts.residuals_chart(predictions))
    assert mark(zero) == "rule" and residuals["encoding"]["y"]["field"] == "residual"
    (histogram,) = layers(charts.residual_histogram(predictions))
    assert histogram["encoding"]["x"]["bin"] == {"maxbins": 40} and len(histogram["rows"]) == 80
    assert len(charts.sample_rows(predictions, 25)) == 25  # scatter plots ship a sample, the histogram every row
    assert len(charts.sample_rows(predictions, 100)) == 80


def test_errors_scatter_defaults_to_a_map_and_colours_by_correctness_or_residual():
    assert charts.errors_axes(["speed", "latitude", "longitude"]) == ("longitude", "latitude")
    assert charts.errors_axes(["speed", "weight"]) == ("speed", "weight")
    assert charts.errors_axes(["speed"]) == ("speed", "speed")
    table = pd.DataFrame({"actual": [1, 0], "predicted": [1, 1], "P(1)": [0.9, 0.6], "correct": [True, False],
                          "x": [0.1, 0.2], "y": [1.0, 2.0]})
    (view,) = layers(charts.errors_chart(table, "x", "y", classifier=True))
    assert view["encoding"]["color"]["field"] == "correct" and len(view["rows"]) == 2
    regression = table.drop(columns=["correct"]).assign(residual=[0.5, -0.5])
    (view,) = layers(charts.errors_chart(regression, "x", "y", classifier=False))
    assert view["encoding"]["color"]["field"] == "residual" and view["encoding"]["color"]["scale"]["domainMid"] == 0


# ---- global explanations ------------------------------------------------------------------------------------------
def test_permutation_importance_bars_with_one_standard_deviation_whiskers():
    importance = pd.DataFrame({"feature": ["age", "plan"], "importance": [0.2, 0.05], "std": [0.02, 0.01],
                               "metric": "roc_auc"})
    bars, whiskers = layers(charts.permutation_importance_chart(importance))
    assert bars["encoding"]["x"]["title"] == "Drop in roc_auc when shuffled"
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("low", "high")
    assert [v for r in whiskers["rows"] for v in (r["low"], r["high"])] == pytest.approx([0.18, 0.22, 0.04, 0.06])


def test_shap_bars_and_beeswarm():
    shap = shap_result()
    (bars,) = layers(charts.shap_importance_chart(shap))
    assert [r["feature"] for r in bars["rows"]] == list(shap.importance()["feature"])
    (swarm,) = layers(charts.shap_summary_chart(shap, top=2))
    top_two = list(shap.importance()["feature"])[:2]
    assert swarm["encoding"]["y"]["sort"] == top_two and {r["feature"] for r in swarm["rows"]} == set(top_two)
    assert swarm["encoding"]["yOffset"]["field"] == "jitter"
    assert all(r["value_rank"] == 0.5 for r in swarm["rows"] if r["feature"] == "plan")  # categories: grey


def test_pdp_of_one_model_draws_ice_lines_under_the_average():
    average = pd.DataFrame({"value": [1.0, 2.0, 3.0], "average": [0.2, 0.4, 0.5]})
    ice = pd.DataFrame({"row": [0, 0, 0, 1, 1, 1], "value": [1.0, 2.0, 3.0] * 2,
                        "prediction": [0.1, 0.3, 0.4, 0.3, 0.5, 0.6]})
    pdp = PartialDependence("age", False, "P(class 1)", average, ice)
    behind, curve = layers(charts.pdp_chart(pdp.average, feature=pdp.feature, output=pdp.output,
                                            categorical=pdp.categorical, ice=pdp.ice))
    assert mark(behind) == "line" and behind["encoding"]["detail"]["field"] == "row" and len(behind["rows"]) == 6
    assert curve["encoding"]["color"] == {"value": charts.POSITIVE} and curve["encoding"]["y"]["title"] == "P(class 1)"
    assert curve["encoding"]["x"]["type"] == "quantitative"


def test_pdp_of_a_categorical_feature_draws_points_over_ticks():
    average = pd.DataFrame({"value": ["a", "b"], "average": [0.2, 0.6]})
    ice = pd.DataFrame({"row": [0, 0], "value": ["a", "b"], "prediction": [0.1, 0.7]})
    ticks, points = layers(charts.pdp_chart(average, feature="plan", output="prediction", categorical=True, ice=ice))
    assert mark(ticks) == "tick" and mark(points) == "point"
    assert points["encoding"]["x"]["type"] == "nominal" and [r["value"] for r in points["rows"]] == ["a", "b"]


def test_pdp_of_several_runs_colours_each_run():
    frame = pd.DataFrame({"run_id": ["a", "a", "b", "b"], "value": [1.0, 2.0, 1.0, 2.0],
                          "average": [0.1, 0.2, 0.3, 0.5]})
    lines = charts.run_curves(frame, ["a", "b"], {"a": "run A", "b": "run B"}, {"a": "#111111", "b": "#222222"})
    (view,) = layers(charts.pdp_chart(lines.frame, feature="age", output="Average prediction", categorical=False,
                                      colors=lines.colors))
    assert view["encoding"]["color"]["scale"] == {"domain": ["run A", "run B"], "range": ["#111111", "#222222"]}
    assert view["mark"]["point"] is True and view["encoding"]["y"]["title"] == "Average prediction"


def test_two_feature_pdp_and_ale():
    grid = pd.DataFrame({"age": [20.0, 20.0, 30.0, 30.0], "plan": ["a", "b", "a", "b"], "average": [0.1, 0.2, 0.3, 0.4]})
    (heat,) = layers(charts.pdp_2d_chart(grid, ("age", "plan"), output="P(class 1)"))
    assert (heat["encoding"]["x"]["type"], heat["encoding"]["y"]["type"]) == ("ordinal", "nominal")
    assert [r["age"] for r in heat["rows"]] == ["20", "20", "30", "30"]
    effects = pd.DataFrame({"edge": [0.0, 1.0, 2.0], "ale": [-0.1, 0.0, 0.1], "lower": [np.nan, -0.05, 0.05],
                            "upper": [np.nan, 0.05, 0.15], "count": [0, 5, 5]})
    band, line = layers(charts.ale_chart(effects, feature="age", output="P(class 1)"))
    assert mark(band) == "area" and len(band["rows"]) == 2 and len(line["rows"]) == 3
    assert band["encoding"]["y"]["title"] == "Effect on P(class 1) (centred)"


# ---- local explanation --------------------------------------------------------------------------------------------
def test_waterfall_walks_from_the_base_value_to_the_rows_prediction():
    shap = shap_result()
    bars, rules = layers(charts.shap_waterfall_chart(shap, 12, top=2))
    assert len(bars["rows"]) == 3  # the two largest contributions and "1 other features"
    assert all((r["shap"] >= 0) == (r["direction"] == "raises") for r in bars["rows"])
    assert [r["x"] for r in rules["rows"]] == pytest.approx([shap.base_value, shap.prediction[2]])
    assert bars["rows"][-1]["end"] == pytest.approx(shap.prediction[2])


def test_counterfactuals_beside_the_original_show_only_what_changed():
    original = pd.DataFrame({"age": [40], "plan": ["a"], "income": [1200.0], "prediction": [0]})
    found = pd.DataFrame({"age": [40, 35], "plan": ["b", "a"], "income": [1200.0, 1500.5], "prediction": [1, 1]})
    diff = pd.DataFrame({"counterfactual": [1, 2, 2], "feature": ["plan", "age", "income"],
                         "original": ["a", "40", "1200.0"], "value": ["b", "35", "1500.5"]})
    table = comparison_table(Counterfactuals(original, found, diff, "class 1", "random"))
    assert list(table.index) == ["plan", "age", "income", "prediction"]
    assert table.to_dict("list") == {"original": ["a", "40", "1200", "0"], "CF 1": ["b", "·", "·", "1"],
                                     "CF 2": ["·", "35", "1500", "1"]}


def test_instance_table_puts_actual_and_predicted_in_front(tmp_path, monkeypatch):
    X = pd.DataFrame({"age": range(60), "plan": ["a", "b", "c"] * 20})
    evaluation = binary_evaluation()
    y = evaluation.predictions["actual"]
    table = instance_table(X, y, evaluation)
    assert list(table.columns) == ["actual", "predicted", "P(1)", "correct", "age", "plan"]
    assert table["correct"].tolist() == (table["actual"] == table["predicted"]).tolist()
    proba = np.full((60, 3), 0.2) + np.eye(3)[np.arange(60) % 3] * 0.4
    multiclass = classification_from_proba(np.arange(60) % 3, proba, (0, 1, 2))
    assert list(instance_table(X, pd.Series(np.arange(60) % 3), multiclass).columns)[:4] == [
        "actual", "predicted", "confidence", "correct"]

    monkeypatch.setenv("LENS_CACHE_DIR", str(tmp_path))
    path = instances_file("sqlite:///x.db", "run1", table)
    assert path.parent == tmp_path / "instances" and pd.read_parquet(path).shape == table.shape
    assert instances_file("sqlite:///x.db", "run1", table) == path  # same content: the same file
