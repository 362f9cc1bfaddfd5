"""Model insights against independent references: sklearn.metrics, sklearn.inspection, PyALE, SHAP additivity,
the model itself for counterfactuals; and the inputs a run provides (demo store, log_insights, missing pieces)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lens_core import insights, open_tracker
from lens_core.insights import explain

warnings.filterwarnings("ignore")


def frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """Mixed numeric / text features with binary, 3-class and continuous targets."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "tenure": rng.integers(1, 72, n),
        "charges": np.round(rng.normal(60, 20, n), 2),
        "plan": rng.choice(["basic", "standard", "premium"], n),
        "region": rng.choice(["north", "south", "east"], n),
    })
    logit = -0.05 * X.tenure + 0.03 * (X.charges - 60) + 1.0 * (X.plan == "premium") + 0.5 * (X.region == "south")
    y_bin = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit - 1))).astype(int), name="churned")
    y_multi = pd.Series(np.digitize(logit + rng.normal(0, 0.5, n), [-2.0, -0.5]), name="segment")
    y_reg = pd.Series(3 * X.tenure + 0.5 * X.charges + 10 * (X.plan == "basic") + rng.normal(0, 5, n), name="value")
    return X, y_bin, y_multi, y_reg


def pipeline(estimator) -> Pipeline:
    pre = ColumnTransformer([("num", StandardScaler(), ["tenure", "charges"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["plan", "region"])])
    return Pipeline([("preprocess", pre), ("model", estimator)])


@pytest.fixture(scope="module")
def data():
    return frame()


@pytest.fixture(scope="module")
def binary(data):
    X, y, _, _ = data
    return pipeline(GradientBoostingClassifier(n_estimators=40, max_depth=2, random_state=0)).fit(X, y)


@pytest.fixture(scope="module")
def forest(data):
    X, y, _, _ = data
    return pipeline(RandomForestClassifier(n_estimators=30, max_depth=5, random_state=0)).fit(X, y)


@pytest.fixture(scope="module")
def multiclass(data):
    X, _, y, _ = data
    return pipeline(LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture(scope="module")
def regressor(data):
    X, _, _, y = data
    return pipeline(RandomForestRegressor(n_estimators=30, max_depth=6, random_state=0)).fit(X, y)


# ------------------------------------------------------------------------------------------------------ evaluation
def test_binary_evaluation_equals_sklearn(binary, data):
    X, y, _, _ = data
    ev = insights.evaluate(binary, X, y)
    proba = binary.predict_proba(X)[:, 1]
    assert ev.task == "binary"
    assert ev.metrics["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, proba))
    assert ev.metrics["average_precision"] == pytest.approx(metrics.average_precision_score(y, proba))
    counts = ev.confusion.pivot(index="actual", columns="predicted", values="count").to_numpy()
    np.testing.assert_array_equal(counts, metrics.confusion_matrix(y, binary.predict(X)))
    normalized = ev.confusion.pivot(index="actual", columns="predicted", values="normalized").to_numpy()
    np.testing.assert_allclose(normalized, metrics.confusion_matrix(y, binary.predict(X), normalize="true"))
    p, r, f, s = metrics.precision_recall_fscore_support(y, binary.predict(X))
    np.testing.assert_allclose(ev.report[["precision", "recall", "f1"]].to_numpy().T, [p, r, f])
    np.testing.assert_array_equal(ev.report["support"], s)
    # the threshold moves the matrix exactly as thresholding the probability does
    at = insights.evaluate(binary, X, y, threshold=0.3)
    counts = at.confusion.pivot(index="actual", columns="predicted", values="count").to_numpy()
    np.testing.assert_array_equal(counts, metrics.confusion_matrix(y, (proba >= 0.3).astype(int)))
    assert at.metrics["recall"] == pytest.approx(metrics.recall_score(y, (proba >= 0.3).astype(int)))
    assert set(ev.roc.columns) >= {"class", "fpr", "tpr", "threshold"} and ev.roc.fpr.between(0, 1).all()


def test_multiclass_evaluation_equals_sklearn(multiclass, data):
    X, _, y, _ = data
    ev = insights.evaluate(multiclass, X, y)
    proba = multiclass.predict_proba(X)
    auc = ev.auc.set_index("class")["roc_auc"]
    assert auc["macro"] == pytest.approx(metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    onehot = pd.get_dummies(y).to_numpy().astype(int)
    assert auc["micro"] == pytest.approx(metrics.roc_auc_score(onehot, proba, average="micro"))
    for k in range(3):
        assert auc[str(k)] == pytest.approx(metrics.roc_auc_score(onehot[:, k], proba[:, k]))
    counts = ev.confusion.pivot(index="actual", columns="predicted", values="count").to_numpy()
    np.testing.assert_array_equal(counts, metrics.confusion_matrix(y, multiclass.predict(X)))
    assert {"micro", "macro"} <= set(ev.roc["class"])
    assert ev.metrics["f1_macro"] == pytest.approx(metrics.f1_score(y, multiclass.predict(X), average="macro"))


def test_regression_evaluation_equals_sklearn(regressor, data):
    X, _, _, y = data
    ev = insights.evaluate(regressor, X, y)
    predicted = regressor.predict(X)
    assert ev.metrics["mae"] == pytest.approx(metrics.mean_absolute_error(y, predicted))
    assert ev.metrics["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, predicted)))
    assert ev.metrics["r2"] == pytest.approx(metrics.r2_score(y, predicted))
    np.testing.assert_allclose(ev.predictions["residual"], y - predicted)


# ---------------------------------------------------------------------------------------------- global explanations
def test_permutation_importance_finds_the_signal(regressor, data):
    X, _, _, y = data
    result = insights.permutation_importance(regressor, X, y, n_repeats=3)
    assert list(result.columns) == ["feature", "importance", "std", "metric"]
    assert result.feature.iloc[0] == "tenure" and set(result.feature) == set(X.columns)
    assert (result["std"] >= 0).all()


@pytest.mark.parametrize("feature", ["tenure", "charges", "plan"])
def test_partial_dependence_equals_brute_force_and_sklearn(binary, data, feature):
    from sklearn.inspection import partial_dependence as sk_pd

    X, _, _, _ = data
    pdp = insights.partial_dependence(binary, X, feature, ice=True, max_rows=None, ice_rows=len(X))
    grid = pdp.average["value"].to_numpy()
    brute = [binary.predict_proba(X.assign(**{feature: v}))[:, 1].mean() for v in grid]
    np.testing.assert_allclose(pdp.average["average"], brute, rtol=1e-10)
    as_float = X.astype({feature: float}) if feature == "tenure" else X  # sklearn refuses integer columns
    reference = sk_pd(binary, as_float, [feature], custom_values={feature: grid}, method="brute", kind="both",
                      categorical_features=[feature] if feature == "plan" else None)
    np.testing.assert_allclose(pdp.average["average"], reference["average"][0], rtol=1e-10)
    ice = pdp.ice.pivot(index="row", columns="value", values="prediction")
    np.testing.assert_allclose(ice[grid].to_numpy(), reference["individual"][0], rtol=1e-10)
    assert pdp.categorical == (feature == "plan")


def test_partial_dependence_2d_equals_brute_force(regressor, data):
    X = data[0]
    grid = insights.partial_dependence_2d(regressor, X, ("tenure", "plan"), grid_resolution=5, max_rows=None)
    row = grid.iloc[7]
    expected = regressor.predict(X.assign(tenure=row["tenure"], plan=row["plan"])).mean()
    assert row["average"] == pytest.approx(expected)
    assert len(grid) == 5 * 3


def test_ale_equals_pyale_on_the_same_bins(binary, data):
    PyALE = pytest.importorskip("PyALE")
    from PyALE._src.ALE_1D import aleplot_1D_continuous

    X = data[0]

    class Positive:  # PyALE explains model.predict: give it the explained output
        def predict(self, frame):
            return binary.predict_proba(frame)[:, 1]

    reference = aleplot_1D_continuous(X, Positive(), "charges", grid_size=10, include_CI=True, C=0.95)
    ours = insights.ale(binary, X, "charges", edges=reference.index.to_numpy(), max_rows=None)
    np.testing.assert_allclose(ours["edge"], reference.index.to_numpy())
    np.testing.assert_allclose(ours["ale"], reference["eff"], atol=1e-12)
    np.testing.assert_array_equal(ours["count"], reference["size"].astype(int))
    np.testing.assert_allclose(ours["lower"].iloc[1:], reference["lowerCI_95%"].iloc[1:], atol=1e-12)
    np.testing.assert_allclose(ours["upper"].iloc[1:], reference["upperCI_95%"].iloc[1:], atol=1e-12)
    assert PyALE  # the module imported


def test_ale_refuses_categorical_features_clearly(binary, data):
    with pytest.raises(explain.ExplanationError, match="categorical.*partial dependence"):
        insights.ale(binary, data[0], "plan")


# ------------------------------------------------------------------------------------------------------------ SHAP
def test_tree_shap_on_a_categorical_pipeline_adds_up_to_the_margin(binary, data):
    X = data[0]
    result = insights.shap_values(binary, X, max_rows=100)
    assert result.method == "tree" and list(result.values.columns) == list(X.columns)  # one-hot summed back
    margin = binary.decision_function(result.data)
    np.testing.assert_allclose(result.base_value + result.values.sum(axis=1), margin, atol=1e-6)
    assert result.output.startswith("log-odds")
    imp = result.importance()
    assert list(imp.columns) == ["feature", "mean_abs_shap"] and imp.mean_abs_shap.is_monotonic_decreasing
    row = result.values.index[0]
    waterfall = result.waterfall(row, top=2)
    assert waterfall["end"].iloc[-1] == pytest.approx(margin[0])


def test_forest_shap_adds_up_to_the_probability(forest, regressor, data):
    X = data[0]
    result = insights.shap_values(forest, X, max_rows=80)
    np.testing.assert_allclose(result.base_value + result.values.sum(axis=1),
                               forest.predict_proba(result.data)[:, 1], atol=1e-6)
    assert result.output == "probability of class 1"
    reg = insights.shap_values(regressor, X, max_rows=80)
    np.testing.assert_allclose(reg.base_value + reg.values.sum(axis=1), regressor.predict(reg.data), atol=1e-6)


def test_linear_and_model_agnostic_shap_add_up(multiclass, data):
    X, y, _, _ = data
    result = insights.shap_values(multiclass, X, max_rows=50, target=2)
    assert result.method == "linear"
    np.testing.assert_allclose(result.base_value + result.values.sum(axis=1),
                               multiclass.decision_function(result.data)[:, 2], atol=1e-6)
    mlp = pipeline(MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0)).fit(X, y)
    agnostic = insights.shap_values(mlp, X, agnostic_rows=5, nsamples=60, background_rows=10)
    assert agnostic.method == "kernel" and list(agnostic.values.columns) == list(X.columns)
    np.testing.assert_allclose(agnostic.base_value + agnostic.values.sum(axis=1),
                               mlp.predict_proba(agnostic.data)[:, 1], atol=1e-6)


# ------------------------------------------------------------------------------------------------- counterfactuals
def test_every_counterfactual_gets_the_desired_class(binary, data):
    X, y, _, _ = data
    instance = X.iloc[[5]]
    cf = insights.counterfactuals(binary, X, y, instance, n=3)
    assert 1 <= len(cf.counterfactuals) <= 3
    original = binary.predict(instance)[0]
    predicted = binary.predict(cf.counterfactuals[list(X.columns)])
    assert (predicted != original).all() and (cf.counterfactuals["prediction"] == predicted).all()
    assert set(cf.diff.columns) == {"counterfactual", "feature", "original", "value"} and not cf.diff.empty
    fixed = insights.counterfactuals(binary, X, y, instance, n=2, features_to_vary=["tenure", "plan"])
    assert set(fixed.diff.feature) <= {"tenure", "plan"}
    assert (binary.predict(fixed.counterfactuals[list(X.columns)]) != original).all()


def test_regression_counterfactuals_land_in_the_range_or_say_what_to_relax(regressor, data):
    X, _, _, y = data
    instance = X.iloc[[0]]
    now = regressor.predict(instance)[0]
    cf = insights.counterfactuals(regressor, X, y, instance, n=2, desired=(now + 20, now + 60))
    predicted = regressor.predict(cf.counterfactuals[list(X.columns)])
    assert ((predicted >= now + 20) & (predicted <= now + 60)).all()
    with pytest.raises(insights.NoCounterfactualsError, match="Relax"):
        insights.counterfactuals(regressor, X, y, instance, n=2, desired=(1e6, 2e6), features_to_vary=["region"])


# ---------------------------------------------------------------------------------------------------------- inputs
def _demo_run(tracker, experiment: str, prefix: str) -> str:
    exp = next(e for e in tracker.experiments() if e.name == experiment)
    runs = tracker.runs(exp.experiment_id)
    return runs[(runs.status == "FINISHED") & runs.run_name.str.startswith(prefix)].run_id.iloc[0]


@pytest.mark.parametrize("experiment, prefix, task, target", [
    ("churn-classification", "gbm-lr0.1-depth3", "binary", "churned"),
    ("wine-multiclass", "rf-depth3", "multiclass", "cultivar"),
    ("diabetes-regression", "ridge", "regression", "progression"),
    ("fleet-trajectories", "rf", "regression", "delay_min"),
])
def test_load_inputs_from_the_demo_store(demo_build, experiment, prefix, task, target):
    tracker = open_tracker(demo_build["uri"])
    inp = insights.load_inputs(tracker, _demo_run(tracker, experiment, prefix))
    assert inp.task == task and inp.target == target
    assert len(inp.X_test) == len(inp.y_test) > 0 and inp.X_train is not None
    assert list(inp.X_train.columns) == list(inp.X_test.columns)
    assert inp.source["model"].startswith("logged model m-")
    inp.model.predict(inp.X_test.head())


def test_missing_inputs_name_what_to_log(sqlite_store):
    uri, ids = sqlite_store
    tracker = open_tracker(uri)
    run_id = tracker.runs(ids["main"]).run_id.iloc[0]
    with pytest.raises(insights.InsightInputsError) as caught:
        insights.load_inputs(tracker, run_id)
    assert caught.value.missing == ("model",) and "log_insights(" in caught.value.snippet
    assert "explainability/model.pkl" in str(caught.value)


def test_log_insights_round_trip(tmp_path, binary, data):
    from mlflow import MlflowClient

    X, y, _, _ = data
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("x", artifact_location=str(tmp_path / "artifacts"))
    run_id = client.create_run(experiment).info.run_id
    insights.log_insights(binary, X[300:], y[300:], X[:300], y[:300], run_id=run_id, tracking_uri=uri)
    inp = insights.load_inputs(open_tracker(uri), run_id)
    assert inp.task == "binary" and inp.source["model"] == "artifact explainability/model.pkl"
    pd.testing.assert_frame_equal(inp.X_test, X[300:].reset_index(drop=True), check_dtype=False)
    assert len(inp.X_train) == 300
    np.testing.assert_array_equal(inp.model.predict(inp.X_test), binary.predict(X[300:]))


def test_partial_dependence_equals_pdpbox_on_the_same_grid(binary, data):
    pdp_module = pytest.importorskip("pdpbox.pdp")
    X = data[0]
    ours = insights.partial_dependence(binary, X, "charges", ice=True, max_rows=None, ice_rows=len(X))
    grid = ours.average["value"].to_numpy()
    iso = pdp_module.PDPIsolate(model=binary, df=X.copy(), model_features=list(X.columns), feature="charges",
                                feature_name="charges", n_classes=2, cust_grid_points=grid)
    np.testing.assert_allclose(iso.feature_info.grids, grid)
    np.testing.assert_allclose(ours.average["average"], iso.results[0].pdp, rtol=1e-10)
    ice = ours.ice.pivot(index="row", columns="value", values="prediction")[grid].to_numpy()
    np.testing.assert_allclose(ice, np.asarray(iso.results[0].ice_lines), rtol=1e-10)


def test_a_model_logged_in_the_run_artifacts_mlflow_2_style(tmp_path, regressor, data):
    """MLflow 2 kept the model folder (with its MLmodel file) among the run's artifacts."""
    import mlflow.sklearn
    from mlflow import MlflowClient

    X, _, _, y = data
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("x", artifact_location=str(tmp_path / "artifacts"))
    run_id = client.create_run(experiment).info.run_id
    mlflow.sklearn.save_model(regressor, str(tmp_path / "saved"), serialization_format="cloudpickle",
                              pip_requirements=["scikit-learn"])
    client.log_artifacts(run_id, str(tmp_path / "saved"), "sk_model")
    folder = tmp_path / "split"
    folder.mkdir()
    X.to_csv(folder / "X_test.csv", index=False)
    y.to_frame().to_csv(folder / "Y_test.csv", index=False)
    client.log_artifacts(run_id, str(folder), "explainability")
    inp = insights.load_inputs(open_tracker(uri), run_id)
    assert inp.source["model"] == "model artifact sk_model/" and inp.task == "regression" and inp.X_train is None
    np.testing.assert_allclose(inp.model.predict(inp.X_test), regressor.predict(X))


def test_insights_across_runs_of_the_demo_store(demo_build):
    tracker = open_tracker(demo_build["uri"])
    exp = next(e for e in tracker.experiments() if e.name == "churn-classification")
    runs = tracker.runs(exp.experiment_id)
    finished = list(runs[runs.status == "FINISHED"].run_id[:3])
    failed = runs[runs.status == "FAILED"].run_id.iloc[0]
    roc = insights.roc_across_runs(tracker, [*finished, failed])
    assert set(roc.frame.run_id) == set(finished) and failed in roc.skipped
    for run_id, curve in roc.frame.groupby("run_id"):
        inp = insights.load_inputs(tracker, run_id)
        expected = metrics.roc_auc_score(inp.y_test, inp.model.predict_proba(inp.X_test)[:, 1])
        assert curve.roc_auc.iloc[0] == pytest.approx(expected)
    confusion = insights.confusion_across_runs(tracker, finished).frame
    assert confusion.groupby("run_id")["count"].sum().eq(500).all()
    pdp = insights.pdp_across_runs(tracker, finished, "tenure_months").frame
    assert pdp.groupby("run_id").value.apply(tuple).nunique() == 1  # one shared grid


def test_partial_dependence_2d_equals_pdpbox(regressor, data):
    pdp_module = pytest.importorskip("pdpbox.pdp")
    X = data[0]
    ours = insights.partial_dependence_2d(regressor, X, ("tenure", "charges"), grid_resolution=5, max_rows=None)
    grids = [np.unique(ours["tenure"]), np.unique(ours["charges"])]
    interact = pdp_module.PDPInteract(model=regressor, df=X.copy(), model_features=list(X.columns),
                                      features=["tenure", "charges"], feature_names=["tenure", "charges"],
                                      n_classes=0, cust_grid_points=grids)
    np.testing.assert_allclose(interact.feature_grid_combos, ours[["tenure", "charges"]].to_numpy())
    np.testing.assert_allclose(ours["average"], interact.results[0].pdp, rtol=1e-10)


def test_a_model_whose_library_is_missing_names_the_package(tmp_path):
    from lens_core.insights.inputs import ModelLoadError, _load_mlflow_model

    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: lens_missing_flavor_pkg\n    python_version: 3.11.7\n"
        "  lens_missing_flavor_pkg:\n    code: null\n")
    with pytest.raises(ModelLoadError, match="pip install lens_missing_flavor_pkg") as caught:
        _load_mlflow_model(tmp_path, "logged model m-1")
    assert caught.value.missing == ("package lens_missing_flavor_pkg",)


def test_an_mlflow_3_logged_model_in_an_mlruns_folder(tmp_path, binary, data):
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput

    X, y, _, _ = data
    root = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=root.as_uri())
    experiment = client.create_experiment("e")
    run_id = client.create_run(experiment).info.run_id
    logged = client.create_logged_model(experiment, name="model", source_run_id=run_id)
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    mlflow.sklearn.save_model(binary, str(tmp_path / "saved"), serialization_format="cloudpickle",
                              pip_requirements=["scikit-learn"])
    client.log_model_artifacts(logged.model_id, str(tmp_path / "saved"))
    (tmp_path / "split").mkdir()
    X.to_csv(tmp_path / "split" / "X_test.csv", index=False)
    y.to_frame().to_csv(tmp_path / "split" / "Y_test.csv", index=False)
    client.log_artifacts(run_id, str(tmp_path / "split"), "explainability")
    inp = insights.load_inputs(open_tracker(str(root)), run_id)
    assert inp.source["model"] == f"logged model {logged.model_id}" and inp.task == "binary"
    np.testing.assert_array_equal(inp.model.predict(X), binary.predict(X))


# ---- model-loading messages (issue 17): generated stores, no real keras or LFS needed --------------------------------
LFS_POINTER = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1048576\n")


def _run_with_folders(tmp_path, folders: dict[str, dict[str, str]], data=None):
    """A run whose artifacts are ``{folder: {file: text}}`` (plus X_test / Y_test when ``data`` is given)."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("x", artifact_location=str(tmp_path / "artifacts"))
    run_id = client.create_run(experiment).info.run_id
    for folder, files in folders.items():
        local = tmp_path / "src" / folder
        local.mkdir(parents=True)
        for name, text in files.items():
            (local / name).write_text(text)
        client.log_artifacts(run_id, str(local), folder)
    if data is not None:
        X, y = data
        split = tmp_path / "split"
        split.mkdir()
        X.to_csv(split / "X_test.csv", index=False)
        y.to_frame().to_csv(split / "Y_test.csv", index=False)
        client.log_artifacts(run_id, str(split), "explainability")
    return open_tracker(uri), run_id


SKLEARN_MLMODEL = ("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n"
                   "  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n")


def test_a_model_that_is_a_git_lfs_pointer_says_so_and_what_to_do(tmp_path, data):
    from lens_core.insights.inputs import ModelLoadError, availability, load_model

    X, y, _, _ = data
    tracker, run_id = _run_with_folders(tmp_path, {"model": {"MLmodel": SKLEARN_MLMODEL, "model.pkl": LFS_POINTER}},
                                        (X, y))
    with pytest.raises(ModelLoadError, match="git lfs pull") as caught:
        load_model(tracker, run_id)
    assert "Git LFS pointer" in str(caught.value) and "invalid load key" not in str(caught.value)
    assert caught.value.snippet == "git lfs pull"
    found = availability(tracker, tracker.run(run_id))
    assert not found.ready and "git lfs pull" in found.problem


def test_a_pickled_model_that_is_a_git_lfs_pointer_says_so(tmp_path, data):
    from lens_core.insights.inputs import ModelLoadError, availability, load_model

    X, y, _, _ = data
    tracker, run_id = _run_with_folders(tmp_path, {"explainability": {"model.pkl": LFS_POINTER}}, (X, y))
    with pytest.raises(ModelLoadError, match="Git LFS pointer.*git lfs pull"):
        load_model(tracker, run_id)
    assert "git lfs pull" in availability(tracker, tracker.run(run_id)).problem


def test_an_explainer_folder_next_to_the_model_does_not_stop_it(tmp_path, regressor, data):
    import mlflow.sklearn

    from lens_core.insights.inputs import availability

    X, _, _, y = data
    saved = tmp_path / "saved"
    mlflow.sklearn.save_model(regressor, str(saved), serialization_format="cloudpickle",
                              pip_requirements=["scikit-learn"])
    explainer = {"MLmodel": "flavors:\n  python_function:\n    loader_module: mlflow.shap\n  shap:\n"
                            "    shap_version: 0.45.0\n    underlying_model_flavor: sklearn\n"}
    files = {p.name: p.read_text() for p in saved.iterdir() if p.suffix != ".pkl"}
    tracker, run_id = _run_with_folders(tmp_path, {"explainer": explainer, "model": files}, (X, y))
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=tracker.uri).log_artifact(run_id, str(saved / "model.pkl"), "model")
    inp = insights.load_inputs(tracker, run_id)
    assert inp.source["model"] == "model artifact model/"
    np.testing.assert_allclose(inp.model.predict(inp.X_test), regressor.predict(X))
    found = availability(tracker, tracker.run(run_id))
    assert found.ready and found.model == "model artifact model/"


@pytest.mark.parametrize(("files", "install"), [
    ({"requirements.txt": "mlflow==2.14.1\nkeras==3.4.1\nnumpy<2\n"}, "pip install keras==3.4.1"),
    ({"conda.yaml": "dependencies:\n- python=3.11\n- pip:\n  - mlflow==2.14.1\n  - keras==3.4.1\n"},
     "pip install keras==3.4.1"),
    ({}, "pip install keras"),  # no requirements logged: the package, without a version
])
def test_a_keras_model_names_the_exact_package_and_version(tmp_path, data, files, install):
    from lens_core.insights.inputs import ModelLoadError, availability, load_model

    X, y, _, _ = data
    mlmodel = ("flavors:\n  keras:\n    keras_version: 3.4.1\n    save_format: keras\n    data: data\n"
               "  python_function:\n    loader_module: mlflow.keras\n    data: data\n")
    tracker, run_id = _run_with_folders(tmp_path, {"model": {"MLmodel": mlmodel, **files}}, (X, y))
    with pytest.raises(ModelLoadError) as caught:
        load_model(tracker, run_id)
    assert f"`{install}`" in str(caught.value) and caught.value.snippet == install
    assert "'keras'" in str(caught.value) and "keras flavor" in str(caught.value)
    assert install in availability(tracker, tracker.run(run_id)).problem


# ---- explanations in parts, so the page can show progress (issue 19) --------------------------------------------------
def test_shap_in_batches_equals_shap_at_once(binary, data):
    from lens_core.insights.explain import concat_shap, shap_plan

    X = data[0]
    whole = insights.shap_values(binary, X, max_rows=60, background=X)
    method, rows = shap_plan(binary, X, max_rows=60, background=X)
    assert method == "structured" and rows == list(whole.values.index)
    parts = [insights.shap_values(binary, X.loc[rows[i:i + 25]], max_rows=None, background=X) for i in range(0, 60, 25)]
    joined = concat_shap(parts)
    pd.testing.assert_frame_equal(joined.values, whole.values)
    np.testing.assert_allclose(joined.prediction, whole.prediction)
    assert joined.base_value == whole.base_value and joined.output == whole.output


def test_partial_dependence_in_pieces_of_its_grid_equals_at_once(binary, regressor, data):
    from lens_core.insights.explain import concat_partial_dependence, pdp_grid

    X = data[0]
    whole = insights.partial_dependence(binary, X, "charges", ice=True, max_rows=200)
    grid = pdp_grid(binary, X, "charges", max_rows=200)
    parts = [insights.partial_dependence(binary, X, "charges", grid=grid[i:i + 4], ice=True, max_rows=200)
             for i in range(0, len(grid), 4)]
    joined = concat_partial_dependence(parts)
    pd.testing.assert_frame_equal(joined.average, whole.average)
    pd.testing.assert_frame_equal(joined.ice.sort_values(["value", "row"]).reset_index(drop=True),
                                  whole.ice.sort_values(["value", "row"]).reset_index(drop=True))
    two = insights.partial_dependence_2d(regressor, X, ("tenure", "charges"))
    g1 = pdp_grid(regressor, X, "tenure", grid_resolution=10, max_rows=300)
    pieces = pd.concat([insights.partial_dependence_2d(regressor, X, ("tenure", "charges"), first_values=g1[i:i + 2])
                        for i in range(0, len(g1), 2)], ignore_index=True)
    pd.testing.assert_frame_equal(pieces, two)


def test_permutation_importance_repeat_by_repeat(regressor, data):
    from lens_core.insights.explain import importance_table, permutation_repeat

    X, _, _, y = data
    repeats = [permutation_repeat(regressor, X, y, r, max_rows=200) for r in range(3)]
    table = importance_table(list(X.columns), np.column_stack([d for d, _ in repeats]), repeats[0][1])
    assert table["metric"].iloc[0] == "r2" and table["feature"].iloc[0] == "tenure"
    first = insights.permutation_importance(regressor, X, y, n_repeats=1, random_state=0, max_rows=200)
    np.testing.assert_allclose(first.set_index("feature").loc[list(X.columns), "importance"], repeats[0][0])
