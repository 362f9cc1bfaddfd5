"""The generated stores must read back through MLflow itself, messiness included.

ExperimentLens's readers are checked against these stores, so a store that MLflow would not have
written (or could not read) would make every later comparison meaningless.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.tracking._tracking_service.utils import _use_tracking_uri

from benchmarks.generate_store import (
    FOREIGN_ARTIFACT_ROOTS,
    RUN_STATUS_CODES,
    MetricPoint,
    RunPlan,
    StoreSpec,
    generate_mlruns_store,
    generate_sqlite_store,
    main,
    plan_runs,
)

SPEC = StoreSpec(
    n_runs=40, n_params=4, n_metrics=3, n_steps=3, n_experiments=2, long_history_steps=1000
)


@pytest.fixture(scope="module")
def plans() -> list[RunPlan]:
    return list(plan_runs(SPEC))


@pytest.fixture(scope="module")
def active(plans: list[RunPlan]) -> dict[str, RunPlan]:
    return {run.run_id: run for run in plans if run.lifecycle_stage == "active"}


@pytest.fixture(scope="module")
def sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return generate_sqlite_store(tmp_path_factory.mktemp("sqlite") / "mlflow.db", SPEC)


@pytest.fixture
def allow_file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow 3 refuses the file backend unless asked; users still have mlruns folders to read."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


@pytest.fixture
def search_runs() -> Iterator[Callable[[str], pd.DataFrame]]:
    """mlflow.search_runs over every experiment of a store.

    search_runs only reads the global tracking URI, and set_tracking_uri also exports it as
    MLFLOW_TRACKING_URI: both are restored so that no test leaks its store to the next.
    """
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")

    def search(tracking_uri: str) -> pd.DataFrame:
        experiment_ids = [e.experiment_id for e in MlflowClient(tracking_uri).search_experiments()]
        with _use_tracking_uri(tracking_uri):
            return mlflow.search_runs(experiment_ids=experiment_ids)

    yield search
    if saved_env is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved_env


def _same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _history(client: MlflowClient, run_id: str, key: str) -> list[MetricPoint]:
    return [
        MetricPoint(m.timestamp, m.value, m.step) for m in client.get_metric_history(run_id, key)
    ]


def _assert_same_points(read: list[MetricPoint], planned: list[MetricPoint]) -> None:
    assert [(p.timestamp, p.step) for p in read] == [(p.timestamp, p.step) for p in planned]
    assert all(_same_value(r.value, p.value) for r, p in zip(read, planned, strict=True))


def _empty_dirs(root: Path) -> list[str]:
    return [
        dirpath for dirpath, dirnames, filenames in os.walk(root) if not dirnames and not filenames
    ]


# --- the plan itself: the messiness the stores must carry -----------------------------------------


def test_plan_has_the_messiness_of_real_stores(
    plans: list[RunPlan], active: dict[str, RunPlan]
) -> None:
    statuses = {run.status for run in active.values()}
    assert {"FINISHED", "FAILED", "KILLED", "RUNNING"} <= statuses
    assert all(run.end_time is None for run in active.values() if run.status == "RUNNING")
    assert any(run.lifecycle_stage == "deleted" and run.deleted_time for run in plans)
    assert any(not run.params for run in active.values()), (
        "a run that crashed before logging params"
    )
    assert any(not run.has_artifacts for run in active.values())
    assert len({run.start_time for run in plans}) == len(plans)
    histories = [
        [p.step for p in points] for run in active.values() for points in run.metrics.values()
    ]
    assert any(len(set(steps)) < len(steps) for steps in histories), "repeated steps"
    assert any(steps != sorted(steps) for steps in histories), "training resumed from a checkpoint"
    assert max(len(steps) for steps in histories) == SPEC.long_history_steps


def test_generation_is_deterministic(sqlite_uri: str, tmp_path: Path) -> None:
    again = generate_sqlite_store(tmp_path / "again.db", SPEC)
    other_seed = generate_sqlite_store(tmp_path / "other.db", replace(SPEC, seed=1))
    assert _table_dump(sqlite_uri) == _table_dump(again)
    assert _table_dump(sqlite_uri)["params"] != _table_dump(other_seed)["params"]


def _table_dump(uri: str) -> dict[str, list[tuple]]:
    """Every run row and value, minus artifact_uri, which names the store's own folder."""
    queries = {
        "runs": "SELECT run_uuid, name, user_id, status, start_time, end_time, lifecycle_stage,"
        " deleted_time, experiment_id FROM runs",
        "params": "SELECT * FROM params",
        "tags": "SELECT * FROM tags",
        "metrics": "SELECT * FROM metrics",
        "latest_metrics": "SELECT * FROM latest_metrics",
    }
    with sqlite3.connect(uri.removeprefix("sqlite:///")) as con:
        return {
            table: sorted(con.execute(sql).fetchall(), key=repr) for table, sql in queries.items()
        }


# --- SQLite -------------------------------------------------------------------------------------


def test_sqlite_store_lists_every_active_run(
    sqlite_uri: str, active: dict[str, RunPlan], plans: list[RunPlan], search_runs
) -> None:
    runs = search_runs(sqlite_uri)
    assert sorted(runs["run_id"]) == sorted(active)
    deleted = MlflowClient(sqlite_uri).search_runs(
        [e.experiment_id for e in MlflowClient(sqlite_uri).search_experiments()],
        run_view_type=ViewType.DELETED_ONLY,
    )
    assert sorted(r.info.run_id for r in deleted) == sorted(
        r.run_id for r in plans if r.deleted_time
    )


def test_sqlite_store_carries_nan_running_sparse_and_unicode(sqlite_uri: str, search_runs) -> None:
    runs = search_runs(sqlite_uri)
    running = runs[runs["status"] == "RUNNING"]
    assert len(running) and running["end_time"].isna().all()
    assert runs.filter(like="metrics.").isna().any().any(), "NaN metrics"
    for column in (
        "params.学习率",
        "params.größe",
        "params.optimizer/name",
        "tags.数据集",
        "tags.env/host",
    ):
        assert column in runs.columns
    assert runs["params.größe"].isna().any() and runs["params.größe"].notna().any(), "sparse params"
    assert {"metrics.train/loss", "metrics.eval.acc"} <= set(runs.columns)
    assert set(runs["params.model_family"].dropna()) == {"tree", "linear"}


def test_sqlite_latest_metrics_are_the_history_maxima(
    sqlite_uri: str, active: dict[str, RunPlan]
) -> None:
    """MLflow's rule: latest = greatest (step, timestamp, value), not always the last point."""
    client = MlflowClient(sqlite_uri)
    for run_id, planned in active.items():
        latest = client.get_run(run_id).data.metrics
        assert set(latest) == set(planned.metrics)
        for key, value in latest.items():
            history = _history(client, run_id, key)
            _assert_same_points(history, planned.metrics[key])
            newest = max(
                history,
                key=lambda p: (p.step, p.timestamp, 0.0 if math.isnan(p.value) else p.value),
            )
            assert _same_value(value, newest.value), (run_id, key)


# --- mlruns -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mlflow_major", [3, 1])
def test_mlruns_store_reads_back_through_mlflow(
    tmp_path: Path,
    active: dict[str, RunPlan],
    mlflow_major: int,
    allow_file_store: None,
    search_runs,
) -> None:
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC, mlflow_major=mlflow_major)
    assert sorted(search_runs(root.as_uri())["run_id"]) == sorted(active)
    client = MlflowClient(root.as_uri())
    for run_id, planned in active.items():
        run = client.get_run(run_id)
        assert run.data.params == planned.params
        assert run.info.status == planned.status and run.info.end_time == planned.end_time
        for key, points in planned.metrics.items():
            _assert_same_points(_history(client, run_id, key), points)
        artifacts = [a.path for a in client.list_artifacts(run_id)]
        assert artifacts == (["data", "notes.txt"] if planned.has_artifacts else [])


def test_mlruns_meta_yaml_by_mlflow_version(tmp_path: Path, plans: list[RunPlan]) -> None:
    v3 = generate_mlruns_store(tmp_path / "v3", SPEC)
    v1 = generate_mlruns_store(tmp_path / "v1", SPEC, mlflow_major=1)
    run = next(r for r in plans if r.deleted_time)
    meta3 = yaml.safe_load(next(v3.glob(f"*/{run.run_id}/meta.yaml")).read_text(encoding="utf-8"))
    meta1 = yaml.safe_load(next(v1.glob(f"*/{run.run_id}/meta.yaml")).read_text(encoding="utf-8"))
    assert meta3["run_name"] == run.name and meta3["deleted_time"] == run.deleted_time
    assert meta3["status"] == RUN_STATUS_CODES[run.status] and meta3["lifecycle_stage"] == "deleted"
    assert meta1["name"] == "" and meta1["run_uuid"] == run.run_id
    assert "run_name" not in meta1 and "deleted_time" not in meta1
    metric_lines = [
        line
        for f in v1.glob("*/*/metrics/**/*")
        if f.is_file()
        for line in f.read_text().splitlines()
    ]
    assert any(len(line.split()) == 2 for line in metric_lines), "MLflow 0.x lines without a step"


def test_git_stripped_store_has_no_empty_folders(
    tmp_path: Path, active: dict[str, RunPlan], allow_file_store: None, search_runs
) -> None:
    full = generate_mlruns_store(tmp_path / "full", SPEC)
    stripped = generate_mlruns_store(tmp_path / "stripped", SPEC, git_stripped=True)
    assert _empty_dirs(full) and not _empty_dirs(stripped)
    assert not (stripped / ".trash").exists()
    crashed = next(r for r in active.values() if not r.params)
    (crashed_dir,) = stripped.glob(f"*/{crashed.run_id}")
    assert sorted(p.name for p in crashed_dir.iterdir()) == ["meta.yaml", "tags"]
    no_artifacts = next(r for r in active.values() if r.params and not r.has_artifacts)
    (run_dir,) = stripped.glob(f"*/{no_artifacts.run_id}")
    assert not (run_dir / "artifacts").exists() and (run_dir / "params").is_dir()
    assert sorted(search_runs(stripped.as_uri())["run_id"]) == sorted(active)


def test_foreign_artifact_uris(tmp_path: Path, allow_file_store: None, search_runs) -> None:
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC, foreign_artifact_uris=True)
    uris = search_runs(root.as_uri())["artifact_uri"]
    for foreign_root in FOREIGN_ARTIFACT_ROOTS:
        assert any(uri.startswith(foreign_root + "/") for uri in uris), foreign_root
    assert all(uri.endswith("/artifacts") for uri in uris)
    assert not any(uri.startswith(root.as_uri()) for uri in uris)


def test_cli_writes_an_mlruns_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cli"
    argv = ["mlruns", str(target), "--runs", "5", "--params", "2", "--metrics", "1", "--steps", "2"]
    main([*argv, "--git-stripped"])
    assert "5 runs generated" in capsys.readouterr().out
    assert len(list(target.glob("*/*/meta.yaml"))) == 5 and not _empty_dirs(target)
