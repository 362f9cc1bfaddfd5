"""One contract, every adapter: MLflow sqlite (direct and client fallback), MLflow in PostgreSQL (read directly),
MLflow over HTTP, an mlruns folder and a TensorBoard logdir return the same logical runs through the same
interface."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from lens_core import ExperimentNotFoundError, RunNotFoundError, Tracker, open_tracker
from lens_core.trackers.runs_table import INFO_COLUMNS
from tests.stores import CONTRACT_MODELS, CONTRACT_RUNS, write_contract_logdir

ADAPTERS = ["sqlite-direct", "sqlite-client", "postgres", "http", "mlruns", "tensorboard"]


@dataclass
class Contract:
    tracker: Tracker
    experiment_id: str
    writable: Tracker  # the same kind of store, a private copy for tests that write

    def ids(self) -> dict[str, str]:
        runs = self.tracker.runs(self.experiment_id)
        return dict(zip(runs["run_name"], runs["run_id"], strict=True))


@pytest.fixture(scope="session")
def contract_logdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tb-contract")
    write_contract_logdir(root)
    return root


@pytest.fixture(params=ADAPTERS)
def contract(request, sqlite_store, mlruns_store, contract_logdir, tmp_path) -> Contract:
    kind = request.param
    if kind.startswith("sqlite"):
        uri, ids = sqlite_store
        mode = kind.split("-")[1]
        shutil.copy(uri.removeprefix("sqlite:///"), tmp_path / "mlflow.db")
        return Contract(open_tracker(uri, mode=mode), ids["contract"],
                        open_tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", mode=mode))
    if kind == "postgres":
        uri, ids = request.getfixturevalue("postgres_store")
        tracker = open_tracker(uri)
        return Contract(tracker, ids["contract"], tracker)  # one database for the session; writes go to it
    if kind == "http":
        server = request.getfixturevalue("mlflow_server")
        tracker = open_tracker(server)
        return Contract(tracker, sqlite_store[1]["contract"], tracker)  # the server serves its own copy
    if kind == "mlruns":
        root, ids = mlruns_store
        shutil.copytree(root, tmp_path / "mlruns")
        return Contract(open_tracker(root), ids["contract"], open_tracker(tmp_path / "mlruns"))
    shutil.copytree(contract_logdir, tmp_path / "logdir")
    return Contract(open_tracker(contract_logdir), "contract", open_tracker(tmp_path / "logdir"))


def test_experiments(contract):
    assert "contract" in {e.name for e in contract.tracker.experiments()}
    assert contract.tracker.experiment(contract.experiment_id).name == "contract"


def test_runs_table(contract):
    runs = contract.tracker.runs(contract.experiment_id)
    assert list(runs.columns[: len(INFO_COLUMNS)]) == list(INFO_COLUMNS)
    assert set(runs["run_name"]) == {name for name, *_ in CONTRACT_RUNS}
    assert list(runs["run_name"]) == ["gamma", "beta", "alpha"]  # newest first
    assert (runs["status"] == "FINISHED").all()
    assert str(runs["start_time"].dtype) == "datetime64[us, UTC]"
    rows = runs.set_index("run_name")
    for name, params, losses, acc in CONTRACT_RUNS:
        assert rows.loc[name, "params.lr"] == params["lr"] and rows.loc[name, "params.optimizer"] == params["optimizer"]
        assert rows.loc[name, "metrics.loss"] == pytest.approx(losses[-1], rel=1e-6)
        assert rows.loc[name, "metrics.acc"] == pytest.approx(acc, rel=1e-6)
    assert runs["metrics.loss"].dtype == "float64" and pd.api.types.is_string_dtype(runs["params.lr"])


def test_metric_history(contract):
    ids = contract.ids()
    history = contract.tracker.metric_history(list(ids.values()))
    assert list(history.columns) == ["run_id", "key", "step", "timestamp", "value"]
    for name, _, losses, acc in CONTRACT_RUNS:
        loss = history[(history["run_id"] == ids[name]) & (history["key"] == "loss")]
        assert loss["step"].tolist() == list(range(len(losses)))
        assert loss["value"].tolist() == pytest.approx(list(losses), rel=1e-6)
        acc_points = history[(history["run_id"] == ids[name]) & (history["key"] == "acc")]
        assert acc_points["value"].tolist() == pytest.approx([acc], rel=1e-6)
    capped = contract.tracker.metric_history([ids["alpha"]], ["loss"], max_points=4)
    assert len(capped) <= 4 and capped["value"].max() == pytest.approx(0.9, rel=1e-6)
    assert capped["value"].min() == pytest.approx(0.15, rel=1e-6)


def test_metric_extremes(contract):
    ids = contract.ids()
    extremes = contract.tracker.metric_extremes(contract.experiment_id).set_index(["run_id", "key"])
    for name, _, losses, _ in CONTRACT_RUNS:
        assert extremes.loc[(ids[name], "loss"), "min"] == pytest.approx(min(losses), rel=1e-6)
        assert extremes.loc[(ids[name], "loss"), "max"] == pytest.approx(max(losses), rel=1e-6)


def test_run_detail_agrees_with_table(contract):
    runs = contract.tracker.runs(contract.experiment_id).set_index("run_id")
    for run_id, row in runs.iterrows():
        detail = contract.tracker.run(run_id)
        assert detail.run_name == row["run_name"] and detail.status == row["status"]
        assert detail.params == {k.removeprefix("params."): v for k, v in row.items()
                                 if k.startswith("params.") and isinstance(v, str)}
        assert detail.metrics["loss"] == pytest.approx(row["metrics.loss"])


def test_artifacts(contract):
    run_id = contract.ids()["alpha"]
    refs = contract.tracker.artifacts(run_id)
    assert "notes.txt" in {r.path for r in refs}
    assert contract.tracker.fetch_artifact(run_id, "notes.txt").read_text() == "notes of alpha"


def test_logged_models(contract):
    tracker = contract.tracker
    for name, run_id in contract.ids().items():
        models = tracker.logged_models(run_id)
        expected = () if tracker.kind == "tensorboard" else CONTRACT_MODELS[name]  # TensorBoard keeps no models
        assert tuple(m.name for m in models) == expected
        assert all(m.model_id.startswith("m-") and m.artifact_location for m in models)
    assert tracker.logged_models("0123456789abcdef0123456789abcdef") == ()
    assert getattr(type(tracker).logged_models, "__lens_guarded__", False)  # faults come out as LensErrors


def test_tags_round_trip(contract):
    tracker = contract.writable
    run_id = dict(zip(*[tracker.runs(contract.experiment_id)[c] for c in ("run_name", "run_id")], strict=True))["beta"]
    tracker.set_tags(run_id, {"lens.rating": "4", "lens.note": "stable ü"})
    tracker.set_tags(run_id, {"lens.rating": "5"})
    assert tracker.run(run_id).tags["lens.rating"] == "5" and tracker.run(run_id).tags["lens.note"] == "stable ü"
    row = tracker.runs(contract.experiment_id).set_index("run_id").loc[run_id]
    assert row["tags.lens.rating"] == "5"


def test_experiment_tags_round_trip(contract):
    """A metric's direction is kept as an experiment tag any MLflow tool can read."""
    tracker = contract.writable
    tracker.set_experiment_tags(contract.experiment_id, {"lens.direction.loss": "max", "lens.note": "ü"})
    tracker.set_experiment_tags(contract.experiment_id, {"lens.direction.loss": "min"})
    tags = tracker.experiment(contract.experiment_id).tags
    assert tags["lens.direction.loss"] == "min" and tags["lens.note"] == "ü"
    with pytest.raises(ExperimentNotFoundError):
        tracker.set_experiment_tags("no-such-experiment", {"lens.direction.loss": "min"})


def test_unknown_ids(contract):
    with pytest.raises(ExperimentNotFoundError):
        contract.tracker.runs("no-such-experiment")
    with pytest.raises(RunNotFoundError):
        contract.tracker.run("0123456789abcdef0123456789abcdef")


def test_unchanged_experiment_is_served_from_the_catalog(contract, monkeypatch):
    tracker = contract.tracker
    tracker.runs(contract.experiment_id)
    monkeypatch.setattr(tracker, "_load_runs", lambda experiment_id: pytest.fail("read again"))
    tracker.runs(contract.experiment_id)
