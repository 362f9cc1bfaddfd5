"""The embedded demo store, built once for the module through ``ensure_demo_store`` as the app does (~20 s).

Everything is read back through an ``MlflowClient`` with an explicit URI, never the fluent API's global state.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lens_core import demo
from lens_core.errors import LensError

EXPERIMENTS = {"churn-classification", "wine-multiclass", "diabetes-regression", "fleet-trajectories"}


@pytest.fixture(scope="module")
def built(demo_build: dict[str, Any]) -> dict[str, Any]:
    return demo_build


@pytest.fixture(scope="module")
def client(built: dict[str, Any]) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=built["uri"])


def runs_of(client: Any, experiment: str) -> list[Any]:
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([experiment_id], max_results=1000, order_by=["attributes.start_time ASC"])


def run_named(client: Any, experiment: str, name: str) -> Any:
    return next(run for run in runs_of(client, experiment) if run.info.run_name == name)


def download(client: Any, run: Any, path: str, tmp_path: Path) -> Path:
    return Path(client.download_artifacts(run.info.run_id, path, str(tmp_path)))


def load_model(built: dict[str, Any], run: Any) -> Any:
    """Load ``runs:/<id>/model`` with the global tracking URI pointed at the demo store for the call only.

    MLflow 3.17 resolves that URI through the run's logged model with the *global* tracking URI, whatever
    ``tracking_uri`` says (``ModelsArtifactRepository._get_model_uri_infos``), so an explicit URI is not enough.
    """
    import mlflow.sklearn
    from mlflow.tracking._tracking_service import utils

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "_tracking_uri", built["uri"])
        return mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")


# --------------------------------------------------------------------------------------------------- the store


def test_uri_is_the_demo_dir_and_every_stored_path_points_there(built: dict[str, Any], client: Any) -> None:
    folder: Path = built["folder"]
    assert built["uri"] == f"sqlite:///{folder / 'mlflow.db'}"
    assert not list(folder.parent.glob(".store.building-*"))
    with contextlib.closing(sqlite3.connect(folder / "mlflow.db")) as con:
        assert ".building-" not in "\n".join(con.iterdump())
    assert not [p for p in folder.rglob("MLmodel") if ".building-" in p.read_text()]
    for name in EXPERIMENTS:
        assert client.get_experiment_by_name(name).artifact_location.startswith(str(folder / "artifacts"))


def test_global_mlflow_state_is_left_alone(built: dict[str, Any]) -> None:
    assert built["global_after"] == built["global_before"]


def test_the_four_experiments_and_nothing_else(client: Any) -> None:
    assert {e.name for e in client.search_experiments()} == EXPERIMENTS


def test_progress_goes_run_by_run_up_to_one(built: dict[str, Any]) -> None:
    fractions = [fraction for fraction, _ in built["calls"]]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    run_messages = [message for _, message in built["calls"] if ": run " in message]
    assert len(run_messages) == sum(plan.run_count for plan in demo._experiment_plans())
    assert "churn-classification: run 12/34 (mlp-32-a0.0001-s2)" in run_messages


def test_second_call_reuses_the_store(built: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENS_DEMO_DIR", str(built["folder"]))
    db = built["folder"] / "mlflow.db"
    mtime = db.stat().st_mtime_ns
    calls: list[float] = []
    assert demo.ensure_demo_store(lambda fraction, message: calls.append(fraction)) == built["uri"]
    assert db.stat().st_mtime_ns == mtime and calls == []


def test_runs_are_timestamped_in_the_order_they_ran(client: Any) -> None:
    now_ms = time.time() * 1000
    for plan in demo._experiment_plans():
        expected = [name for session in plan.sessions
                    for name in ([session.sweep] if session.sweep else []) + [spec.name for spec in session.runs]]
        runs = runs_of(client, plan.name)
        assert [run.info.run_name for run in runs] == expected
        assert all(run.info.start_time < run.info.end_time < now_ms for run in runs)


# ------------------------------------------------------------------------------------------------------- churn


def test_churn_grid(client: Any) -> None:
    runs = runs_of(client, "churn-classification")
    assert len(runs) >= 30
    assert len({run.data.tags["model_family"] for run in runs}) >= 3
    failed = [run for run in runs if run.info.status == "FAILED"]
    assert len(failed) == 3
    assert all("mlflow.note.content" in run.data.tags and not run.outputs.model_outputs for run in failed)
    trained = [run for run in runs if run.info.status == "FINISHED" and "n_trials" not in run.data.params]
    for run in trained:
        assert {"accuracy", "roc_auc", "f1", "log_loss", "train_time_s"} <= run.data.metrics.keys()
        assert {"model", "seed", "test_size"} <= run.data.params.keys()
        assert len(run.outputs.model_outputs) == 1
    assert max(run.data.metrics["roc_auc"] for run in trained) > 0.75


def test_churn_sweep_parent_has_children(client: Any) -> None:
    runs = runs_of(client, "churn-classification")
    parent = next(run for run in runs if run.info.run_name == "gbm-lr-sweep")
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) >= 2
    assert all(parent.info.start_time < child.info.start_time < child.info.end_time < parent.info.end_time
               for child in children)
    assert parent.data.metrics["best_roc_auc"] == max(child.data.metrics["roc_auc"] for child in children)


def test_churn_histories(client: Any) -> None:
    gbm = run_named(client, "churn-classification", "gbm-lr0.1-depth3-s1")
    history = client.get_metric_history(gbm.info.run_id, "test_log_loss")
    assert [point.step for point in history] == list(range(1, 151))
    assert all(gbm.info.start_time <= point.timestamp <= gbm.info.end_time for point in history)
    mlp = run_named(client, "churn-classification", "mlp-32-a0.01-s1")
    assert len(client.get_metric_history(mlp.info.run_id, "loss")) == 40
    rf = run_named(client, "churn-classification", "rf-depth6-s1")
    assert [point.step for point in client.get_metric_history(rf.info.run_id, "test_roc_auc")] == [20, 40, 60, 80, 100]
    collapsed = run_named(client, "churn-classification", "mlp-sgd-lr2.0-s1")
    assert len(client.get_metric_history(collapsed.info.run_id, "loss")) > 1


def test_ratings_and_notes(client: Any) -> None:
    rated = [run for run in runs_of(client, "churn-classification") if "lens.rating" in run.data.tags]
    assert len(rated) >= 2
    assert all(run.data.tags["lens.rating"] in set("12345") and run.data.tags["lens.note"] for run in rated)


def test_churn_dataset_inputs(client: Any) -> None:
    run = run_named(client, "churn-classification", "logreg-C1.0-s1")
    inputs = {tag.value: item.dataset for item in run.inputs.dataset_inputs for tag in item.tags
              if tag.key == "mlflow.data.context"}
    assert inputs.keys() == {"training", "test"}
    for dataset in inputs.values():
        source = Path(json.loads(dataset.source)["uri"])
        assert source.exists() and "churned" in pd.read_csv(source, nrows=1).columns


def test_churn_model_predicts_on_the_saved_test_split(built: dict[str, Any], client: Any, tmp_path: Path) -> None:
    run = run_named(client, "churn-classification", "gbm-lr0.1-depth3-s1")
    X_test = pd.read_csv(download(client, run, "explainability/X_test.csv", tmp_path))
    y_test = pd.read_csv(download(client, run, "explainability/Y_test.csv", tmp_path))["churned"]
    X_train = pd.read_csv(download(client, run, "explainability/X_train.csv", tmp_path))
    assert {"plan", "region", "payment_method", "tenure_months", "monthly_charges"} <= set(X_test.columns)
    assert len(X_train) <= 500 and len(X_test) == len(y_test) == 500
    model = load_model(built, run)
    assert model.predict_proba(X_test).shape == (500, 2)
    assert (model.predict(X_test) == y_test).mean() == pytest.approx(run.data.metrics["accuracy"])


# ------------------------------------------------------------------------------------------ the other experiments


def test_wine_model_predicts_three_classes(built: dict[str, Any], client: Any, tmp_path: Path) -> None:
    runs = runs_of(client, "wine-multiclass")
    assert len(runs) == 6 and all(run.info.status == "FINISHED" for run in runs)
    run = run_named(client, "wine-multiclass", "rf-depth8")
    assert {"f1_macro", "f1_class_0", "f1_class_1", "f1_class_2"} <= run.data.metrics.keys()
    X_test = pd.read_csv(download(client, run, "explainability/X_test.csv", tmp_path))
    assert set(load_model(built, run).predict(X_test)) == {0, 1, 2}


def test_diabetes_regression(client: Any) -> None:
    runs = runs_of(client, "diabetes-regression")
    assert len(runs) == 8
    assert all({"rmse", "mae", "r2"} <= run.data.metrics.keys() for run in runs)
    gbm = run_named(client, "diabetes-regression", "gbm-lr0.3-depth3")
    assert len(client.get_metric_history(gbm.info.run_id, "test_rmse")) == 150


def test_fleet_trajectories(client: Any, tmp_path: Path) -> None:
    runs = runs_of(client, "fleet-trajectories")
    assert len(runs) == 4
    run = runs[0]
    points = pd.read_parquet(download(client, run, "data/trajectories.parquet", tmp_path))
    assert {"vehicle_id", "timestamp", "latitude", "longitude", "speed_kmh", "delay_min"} <= set(points.columns)
    assert points["vehicle_id"].nunique() == 20 and len(points) >= 3000
    assert pd.api.types.is_datetime64_any_dtype(points["timestamp"])
    assert points["latitude"].between(48.6, 49.1).all() and points["longitude"].between(2.0, 2.7).all()
    as_csv = pd.read_csv(download(client, run, "data/trajectories.csv", tmp_path))
    assert pd.to_datetime(as_csv["timestamp"], format="ISO8601").equals(points["timestamp"].astype("datetime64[us]"))
    [training] = run.inputs.dataset_inputs
    assert [tag.value for tag in training.tags if tag.key == "mlflow.data.context"] == ["training"]
    assert training.dataset.name == "fleet-trajectories"


# ------------------------------------------------------------------------------------------ locking, publishing


def fake_builder(builds: list[Path], fail: bool = False) -> Any:
    """A quick stand-in for build_demo_store that stores its own path, as MLflow stores absolute paths."""
    def build(target: Path, progress: Any = None) -> Path:
        builds.append(target)
        time.sleep(0.3)
        target.mkdir(parents=True)
        with contextlib.closing(sqlite3.connect(target / "mlflow.db")) as con, con:
            con.execute("CREATE TABLE paths (path TEXT)")
            con.execute("INSERT INTO paths VALUES (?)", (str(target / "artifacts"),))
        if fail:
            raise RuntimeError("build failed")
        return target / "mlflow.db"
    return build


def test_concurrent_sessions_build_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []
    monkeypatch.setattr(demo, "build_demo_store", fake_builder(builds))
    monkeypatch.setenv("LENS_DEMO_DIR", str(tmp_path / "demo"))
    uris: list[str] = []
    threads = [threading.Thread(target=lambda: uris.append(demo.ensure_demo_store())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and uris == [f"sqlite:///{tmp_path / 'demo' / 'mlflow.db'}"] * 4
    with contextlib.closing(sqlite3.connect(tmp_path / "demo" / "mlflow.db")) as con:
        assert con.execute("SELECT path FROM paths").fetchall() == [(str(tmp_path / "demo" / "artifacts"),)]


def test_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []
    monkeypatch.setattr(demo, "build_demo_store", fake_builder(builds, fail=True))
    monkeypatch.setenv("LENS_DEMO_DIR", str(tmp_path / "demo"))
    with pytest.raises(RuntimeError):
        demo.ensure_demo_store()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.lock"]


def test_refuses_a_foreign_non_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    monkeypatch.setenv("LENS_DEMO_DIR", str(tmp_path / "demo"))
    with pytest.raises(LensError, match="LENS_DEMO_DIR"):
        demo.ensure_demo_store()


def test_default_location_is_versioned_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENS_DEMO_DIR", raising=False)
    monkeypatch.setenv("LENS_CACHE_DIR", str(tmp_path))
    assert demo.demo_store_dir() == tmp_path / f"demo-v{demo.DEMO_VERSION}"
