"""The model insights page through AppTest, on the demo store: a binary classifier with categorical features, a
multiclass classifier, a regressor, a regression pipeline with categorical features, and a run with nothing to
explain. The page is opened as the app opens it: Home.py first, then a switch to the page."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics
from streamlit.testing.v1 import AppTest

from lens_core import insights, open_tracker

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
PAGE = "pages/4_Model_insights.py"


def open_page(monkeypatch: pytest.MonkeyPatch, uri: str, **query: str) -> AppTest:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=120)
    at.query_params.update(query)
    at.switch_page(PAGE)
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def demo_run(uri: str, experiment: str, prefix: str) -> str:
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == experiment)
    runs = tracker.runs(exp.experiment_id)
    return runs[(runs.status == "FINISHED") & runs.run_name.str.startswith(prefix)].run_id.iloc[0]


def chart_rows(at: AppTest, *columns: str) -> list[list[dict]]:
    """The inline datasets of every Vega-Lite chart holding all ``columns``."""
    found = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        datasets = dict(spec.get("datasets", {}))
        for dataset in chart.proto.datasets:  # Streamlit ships data as Arrow next to the spec
            datasets[dataset.name] = pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
        for rows in datasets.values():
            if rows and all(c in rows[0] for c in columns):
                found.append(rows)
    return found


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def widget(at: AppTest, key: str):
    return next(w for w in [*at.slider, *at.selectbox, *at.toggle, *at.number_input, *at.multiselect]
                if w.key == key)


def test_binary_classifier_with_categorical_features(monkeypatch, demo_build):
    uri = demo_build["uri"]
    run_id = demo_run(uri, "churn-classification", "gbm-lr0.1-depth3")
    at = open_page(monkeypatch, uri, run=run_id)
    assert_clean(at)
    assert "gbm-lr0.1-depth3" in at.title[0].value and at.title[0].value.endswith("· model insights")
    assert run_id not in at.title[0].value  # the run's name, not its 32-character id
    assert [t.label for t in at.tabs][:4] == [":material/fact_check: Evaluation", ":material/public: Global explanations",
                                              ":material/person_search: Local explanation",
                                              ":material/table_rows: Instances"]
    inp = insights.load_inputs(open_tracker(uri), run_id)
    proba = inp.model.predict_proba(inp.X_test)[:, 1]
    auc = metrics.roc_auc_score(inp.y_test, proba)
    assert metric_values(at)["ROC AUC"] == f"{auc:.4g}"
    assert next(m for m in at.metric if m.label == "ROC AUC").help == format(auc, ",")  # the full value

    # the threshold slider moves the confusion matrix exactly as thresholding the probability does
    widget(at, "ins.threshold").set_value(0.3).run()
    assert_clean(at)
    expected = metrics.confusion_matrix(inp.y_test, (proba >= 0.3).astype(int))
    recall = metrics.recall_score(inp.y_test, (proba >= 0.3).astype(int))
    assert next(m for m in at.metric if m.label == "Recall").help == format(recall, ",")
    assert at.query_params["threshold"] == "0.3"
    misclassified = int(expected[0, 1] + expected[1, 0])

    # only the open tab is computed: the explanations come when their tab is opened
    assert len(at.get("vega_lite_chart")) == 3
    at = open_page(monkeypatch, uri, run=run_id, tab="global")
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 6  # importance, SHAP bars and summary, PDP, ALE, two-feature PDP
    assert any("one-hot columns summed back" in c.value for c in at.caption)

    # counterfactuals for a chosen row: every proposal really flips the model's prediction
    at = open_page(monkeypatch, uri, run=run_id, tab="local", row="7")
    assert widget(at, "ins.row").value == 7
    at.button(key="FormSubmitter:ins.cf_form-Find counterfactuals").click().run()
    assert_clean(at)
    assert any("counterfactual(s) reaching class" in c.value and "checked against the model" in c.value
               for c in at.caption), [c.value for c in at.caption]
    table = next(d.value for d in at.dataframe if any(str(c).startswith("CF ") for c in d.value.columns))
    predicted_now = inp.model.predict(inp.X_test.iloc[[7]])[0]
    assert table.loc["prediction", "original"] == str(predicted_now)
    assert all(table.loc["prediction", c] != str(predicted_now) for c in table.columns if c.startswith("CF "))

    # the misclassified filter
    at = open_page(monkeypatch, uri, run=run_id, tab="instances", threshold="0.3")
    assert any(f"{misclassified} of {len(inp.y_test)} test rows misclassified at threshold 0.30" in c.value
               for c in at.caption)
    widget(at, "ins.only_wrong").set_value(True).run()
    assert_clean(at)
    rows = next(d.value for d in at.dataframe if "correct" in d.value.columns and len(d.value) > 1)
    assert not rows["correct"].any() and len(rows) == misclassified


def test_multiclass_classifier(monkeypatch, demo_build):
    uri = demo_build["uri"]
    at = open_page(monkeypatch, uri, run=demo_run(uri, "wine-multiclass", "rf-depth3"))
    assert_clean(at)
    assert "ROC AUC (macro)" in metric_values(at) and not [s for s in at.slider if s.key == "ins.threshold"]
    roc = chart_rows(at, "fpr", "tpr", "curve")
    assert roc and {"micro", "macro"} <= {row["class"] for row in roc[0]}
    target = widget(at, "ins.target")
    assert target.options == ["0", "1", "2"]
    at = open_page(monkeypatch, uri, run=demo_run(uri, "wine-multiclass", "rf-depth3"), tab="global", **{"class": "0"})
    assert_clean(at)
    assert widget(at, "ins.target").value == 0
    assert any("P(class 0)" in json.dumps(json.loads(c.proto.spec)) for c in at.get("vega_lite_chart"))


def test_regressor(monkeypatch, demo_build):
    uri = demo_build["uri"]
    run_id = demo_run(uri, "diabetes-regression", "rf-depth8")
    at = open_page(monkeypatch, uri, run=run_id)
    assert_clean(at)
    inp = insights.load_inputs(open_tracker(uri), run_id)
    predicted = inp.model.predict(inp.X_test)
    values = {m.label: m.help for m in at.metric}
    assert values["R²"] == format(metrics.r2_score(inp.y_test, predicted), ",")
    assert values["RMSE"] == format(float(np.sqrt(metrics.mean_squared_error(inp.y_test, predicted))), ",")
    at = open_page(monkeypatch, uri, run=run_id, tab="instances")
    assert any("Largest errors first" in c.value for c in at.caption)


def test_regression_pipeline_with_categorical_features_and_a_map(monkeypatch, demo_build):
    uri = demo_build["uri"]
    run_id = demo_run(uri, "fleet-trajectories", "gbm-lr0.1")
    at = open_page(monkeypatch, uri, run=run_id, tab="instances")
    assert_clean(at)
    assert widget(at, "ins.scatter_x").value == "longitude" and widget(at, "ins.scatter_y").value == "latitude"
    import json

    (deck,) = at.get("deck_gl_json_chart")  # the error map, drawn by the dataset explorer's map component
    assert json.loads(deck.proto.json)["layers"]
    at = open_page(monkeypatch, uri, run=run_id, tab="global", pdp="district")
    assert_clean(at)
    assert any("Categorical features (vehicle_type, district)" in c.value for c in at.caption)
    assert widget(at, "ins.pdp_feature").value == "district"
    at = open_page(monkeypatch, uri, run=run_id, tab="local")
    low = widget(at, "ins.cf_low").value
    at.button(key="FormSubmitter:ins.cf_form-Find counterfactuals").click().run()
    assert_clean(at)
    assert low > 0
    assert any("counterfactual(s) reaching prediction in" in c.value for c in at.caption) or any(
        "Relax the search" in w.value for w in at.warning)


def test_a_run_without_model_says_what_to_log(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    run_id = open_tracker(uri).runs(ids["main"]).run_id.iloc[0]
    at = open_page(monkeypatch, uri, run=run_id)
    assert not at.exception
    assert "explainability/model.pkl" in at.warning[0].value
    assert "log_insights(model, X_test, y_test" in at.code[-1].value


def test_without_a_run_the_page_offers_a_picker(monkeypatch, demo_build):
    at = open_page(monkeypatch, demo_build["uri"])
    assert_clean(at)
    assert [s.label for s in at.selectbox][:2] == ["Experiment", "Run"]


def test_every_view_is_restored_from_its_link_and_stale_parts_fall_back(monkeypatch, demo_build):
    uri = demo_build["uri"]
    run_id = demo_run(uri, "churn-classification", "gbm-lr0.1-depth3")
    budgets = {"rows": "300", "perm_rows": "600", "repeats": "2", "shap_rows": "40", "kernel_rows": "10", "bins": "8"}
    at = open_page(monkeypatch, uri, run=run_id, tab="global", pdp="contract", ale="monthly_charges",
                   pair_a="monthly_charges", pair_b="contract", **budgets)
    assert_clean(at)
    assert (widget(at, "ins.pdp_feature").value, widget(at, "ins.ale_feature").value) == ("contract",
                                                                                       "monthly_charges")
    assert (widget(at, "ins.pdp2_a").value, widget(at, "ins.pdp2_b").value) == ("monthly_charges", "contract")
    assert [widget(at, f"ins.{k}").value for k in ("rows", "perm_rows", "repeats", "shap_rows", "kernel_rows",
                                                   "bins")] == [300, 600, 2, 40, 10, 8]
    assert any("Mean over 2 shuffles" in c.value for c in at.caption)
    assert all(at.query_params[k] == v for k, v in budgets.items())  # the link says what is shown
    at = open_page(monkeypatch, uri, run=run_id, tab="evaluation", threshold="0.7", normalise="1")
    assert widget(at, "ins.threshold").value == 0.7 and widget(at, "ins.normalise").value is True
    at = open_page(monkeypatch, uri, run=run_id, tab="instances", wrong="1", x="monthly_charges", y="tenure_months")
    assert widget(at, "ins.only_wrong").value is True
    assert (widget(at, "ins.scatter_x").value, widget(at, "ins.scatter_y").value) == ("monthly_charges",
                                                                                      "tenure_months")
    assert any(c.value.startswith("?") or "row" in c.value for c in at.code)  # the Copy link

    # stale or damaged parts: the default, and a note
    at = open_page(monkeypatch, uri, run=run_id, tab="nowhere", pdp="gone_feature", row="999999", threshold="2")
    assert_clean(at)
    notes = " ".join(i.value for i in at.info)
    assert "tab" in notes and "test row" in notes and "threshold" in notes
    assert at.tabs[0].label == ":material/fact_check: Evaluation"
    at = open_page(monkeypatch, uri, run=run_id, tab="global", pdp="gone_feature")
    assert "gone_feature" in " ".join(i.value for i in at.info)


def test_model_loading_messages_name_the_fix(monkeypatch, tmp_path):
    """A Git LFS pointer in place of the model, and a keras model without keras: what to run, not a traceback."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("x", artifact_location=str(tmp_path / "artifacts"))
    runs = {}
    for kind, files in {
        "lfs": {"MLmodel": "flavors:\n  sklearn:\n    pickled_model: model.pkl\n  python_function:\n"
                           "    loader_module: mlflow.sklearn\n",
                "model.pkl": "version https://git-lfs.github.com/spec/v1\noid sha256:ab12\nsize 5120\n"},
        "keras": {"MLmodel": "flavors:\n  keras:\n    keras_version: 3.4.1\n  python_function:\n"
                             "    loader_module: mlflow.keras\n", "requirements.txt": "mlflow==2.14\nkeras==3.4.1\n"},
    }.items():
        runs[kind] = client.create_run(experiment, run_name=f"{kind}-run").info.run_id
        folder = tmp_path / kind
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        client.log_artifacts(runs[kind], str(folder), "model")
    at = open_page(monkeypatch, uri, run=runs["lfs"])
    assert not at.exception
    assert "Git LFS pointer" in at.error[0].value and "invalid load key" not in at.error[0].value
    assert at.code[-1].value == "git lfs pull" and at.title[0].value.endswith("lfs-run · model insights")
    at = open_page(monkeypatch, uri, run=runs["keras"])
    assert not at.exception and "pip install keras==3.4.1" in at.error[0].value
    assert at.code[-1].value == "pip install keras==3.4.1"
