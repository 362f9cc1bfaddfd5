"""The readers against the generator's messy stores: MLflow 1.x and 3 layouts, git-stripped folders, foreign
artifact URIs, a 250k-point history, NaN metrics, sparse and unicode keys, several experiments."""
from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.generate_store import StoreSpec, generate_mlruns_store, generate_sqlite_store, plan_runs
from lens_core import open_tracker
from tests.test_trackers import assert_same_as_mlflow, canonical, client_history, search_runs

SPEC = StoreSpec(n_runs=120, n_params=8, n_metrics=4, n_steps=4, n_experiments=2, seed=3)
LONG = StoreSpec(n_runs=20, n_params=3, n_metrics=2, n_steps=3, seed=5, long_history_steps=250_000)


def experiment_ids(tracker) -> list[str]:
    return [e.experiment_id for e in tracker.experiments() if e.name != "Default"]


@pytest.fixture(scope="module")
def generated_sqlite(tmp_path_factory) -> str:
    return generate_sqlite_store(tmp_path_factory.mktemp("gen-sqlite") / "mlflow.db", SPEC)


@pytest.mark.parametrize("mode", ["direct", "client"])
def test_generated_sqlite_equals_search_runs(generated_sqlite, mode):
    tracker = open_tracker(generated_sqlite, mode=mode)
    ids = experiment_ids(tracker)
    assert len(ids) == 2
    for experiment_id in ids:
        assert_same_as_mlflow(tracker.runs(experiment_id), search_runs(generated_sqlite, experiment_id))


def test_generated_sqlite_history_equals_client(generated_sqlite):
    tracker = open_tracker(generated_sqlite)
    run_ids = list(tracker.runs(experiment_ids(tracker)[0])["run_id"][:40])
    pd.testing.assert_frame_equal(canonical(tracker.metric_history(run_ids)), client_history(generated_sqlite, run_ids))


@pytest.mark.parametrize("mlflow_major", [1, 3])
def test_generated_mlruns_equals_search_runs(tmp_path, mlflow_major):
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC, mlflow_major=mlflow_major)
    tracker = open_tracker(root)
    for experiment_id in experiment_ids(tracker):
        assert_same_as_mlflow(tracker.runs(experiment_id), search_runs(root.as_uri(), experiment_id))


@pytest.mark.parametrize("mlflow_major", [1, 3])
def test_git_stripped_foreign_mlruns_yields_every_run(tmp_path, mlflow_major):
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC, git_stripped=True, foreign_artifact_uris=True,
                                 mlflow_major=mlflow_major)
    expected = {r.run_id: r for r in plan_runs(SPEC) if r.lifecycle_stage == "active"}
    tracker = open_tracker(root)
    tables = [tracker.runs(e) for e in experiment_ids(tracker)]
    table = pd.concat(tables, ignore_index=True)
    assert set(table["run_id"]) == set(expected)
    history = tracker.metric_history(list(table["run_id"]))
    for run_id, plan in expected.items():
        detail = tracker.run(run_id)
        assert detail.params == plan.params
        logged = {key for key, points in plan.metrics.items() if points}
        assert set(history.loc[history["run_id"] == run_id, "key"]) == logged
        for artifact in tracker.artifacts(run_id):  # read from the run folder, whatever the recorded URI says
            if not artifact.is_dir:
                assert tracker.fetch_artifact(run_id, artifact.path).is_file()


@pytest.mark.parametrize("kind", ["sqlite", "mlruns"])
def test_long_history_and_downsampling(tmp_path, kind):
    if kind == "sqlite":
        uri = generate_sqlite_store(tmp_path / "mlflow.db", LONG)
    else:
        uri = str(generate_mlruns_store(tmp_path / "mlruns", LONG))
    tracker = open_tracker(uri)
    table = tracker.runs(experiment_ids(tracker)[0])
    full = tracker.metric_history(list(table["run_id"]))
    sizes = full.groupby(["run_id", "key"]).size()
    assert sizes.max() == 250_000
    (long_run, long_key) = sizes.idxmax()
    capped = tracker.metric_history([long_run], [long_key], max_points=1000)
    assert 500 <= len(capped) <= 1000
    series = full[(full["run_id"] == long_run) & (full["key"] == long_key)]
    assert capped["value"].max() == series["value"].max() and capped["value"].min() == series["value"].min()
