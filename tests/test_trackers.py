"""The tracker layer returns exactly what MLflow returns, through every read path."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lens_core import RunNotFoundError, open_tracker
from lens_core.format import from_mlflow_sentinel, sentinels_to_inf
from lens_core.trackers.runs_table import INFO_COLUMNS
from tests.conftest import tracking_uri


def search_runs(uri: str, experiment_id: str) -> pd.DataFrame:
    """``mlflow.search_runs`` with MLflow's ±max-double sentinels read as ±inf, the one change our table makes."""
    import mlflow

    with tracking_uri(uri):
        reference = mlflow.search_runs(experiment_ids=[experiment_id])
    return sentinels_to_inf(reference, [c for c in reference.columns if c.startswith("metrics.")])


def assert_same_as_mlflow(mine: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert list(mine.columns[: len(INFO_COLUMNS)]) == list(INFO_COLUMNS)
    assert sorted(mine.columns) == sorted(["run_name", *reference.columns])
    pd.testing.assert_frame_equal(mine.drop(columns="run_name")[reference.columns], reference)


def client_history(uri: str, run_ids: list[str]) -> pd.DataFrame:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    rows = [
        (rid, m.key, m.step, m.timestamp, from_mlflow_sentinel(m.value))
        for rid in run_ids
        for key in client.get_run(rid).data.metrics
        for m in client.get_metric_history(rid, key)
    ]
    return canonical(pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"]))


def canonical(history: pd.DataFrame) -> pd.DataFrame:
    return (
        history.astype({"run_id": "str", "key": "str", "step": "int64", "timestamp": "int64", "value": "float64"})
        .sort_values(["run_id", "key", "timestamp", "step", "value"])
        .reset_index(drop=True)
    )


@pytest.mark.parametrize("mode", ["auto", "direct", "client"])
def test_sqlite_runs_equal_search_runs(sqlite_store, mode):
    uri, ids = sqlite_store
    tracker = open_tracker(uri, mode=mode)
    assert tracker.direct == (mode != "client")
    mine = tracker.runs(ids["main"])
    assert_same_as_mlflow(mine, search_runs(uri, ids["main"]))
    assert len(mine) == 14  # 12 runs + 2 children; the deleted ones are excluded
    assert "params.only_on_deleted" not in mine
    running = mine.set_index("run_id").loc[ids["running_run"]]
    assert running["status"] == "RUNNING" and pd.isna(running["end_time"])
    assert mine["metrics.eval.acc"].isna().sum() >= 1
    assert "params.größe/学习率" in mine and "naïve 学习" in set(mine["run_name"])


def test_empty_experiment_matches_search_runs(sqlite_store):
    uri, ids = sqlite_store
    mine = open_tracker(uri).runs(ids["empty"])
    assert mine.empty
    assert list(mine.columns) == list(INFO_COLUMNS)


def test_experiments_list_only_active(sqlite_store, mlruns_store):
    uri, ids = sqlite_store
    for tracker in (open_tracker(uri), open_tracker(uri, mode="client"), open_tracker(mlruns_store[0])):
        names = {e.name for e in tracker.experiments()}
        assert {"Default", "reference ü", "empty"} <= names
        assert "deleted experiment" not in names


def test_sqlite_history_equals_client(sqlite_store):
    uri, ids = sqlite_store
    tracker = open_tracker(uri)
    run_ids = list(tracker.runs(ids["main"])["run_id"])
    expected = client_history(uri, run_ids)
    for mode in ("direct", "client"):
        got = open_tracker(uri, mode=mode).metric_history(run_ids)
        assert list(got.columns) == ["run_id", "key", "step", "timestamp", "value"]
        pd.testing.assert_frame_equal(canonical(got), expected)
    only_loss = tracker.metric_history(run_ids[:3], ["train/loss"])
    assert set(only_loss["key"]) == {"train/loss"} and list(dict.fromkeys(only_loss["run_id"])) == run_ids[:3]


def test_run_detail(sqlite_store):
    uri, ids = sqlite_store
    for mode in ("direct", "client"):
        detail = open_tracker(uri, mode=mode).run(ids["first_run"])
        assert detail.run_name == "run-00" and detail.status == "FINISHED"
        assert detail.params["model"] == "gbm" and detail.params["depth"] == "2"
        assert len(detail.child_run_ids) == 2
        assert [d.name for d in detail.inputs] == ["train"] and detail.inputs[0].context == "training"
        assert detail.metrics["train/loss"] == pytest.approx(0.25)


def test_artifacts_list_and_fetch(sqlite_store):
    uri, ids = sqlite_store
    tracker = open_tracker(uri)
    top = tracker.artifacts(ids["first_run"])
    assert [(a.path, a.is_dir) for a in top] == [("data", True), ("notes", True)]
    assert [a.path for a in tracker.artifacts(ids["first_run"], "notes")] == ["notes/readme.txt"]
    assert tracker.fetch_artifact(ids["first_run"], "notes/readme.txt").read_text() == "notes for run 0"


def test_mlruns_folder_equals_search_runs(mlruns_store):
    root, ids = mlruns_store
    tracker = open_tracker(root)
    assert tracker.kind == "mlruns"
    mine = tracker.runs(ids["main"])
    assert_same_as_mlflow(mine, search_runs(root.as_uri(), ids["main"]))
    assert open_tracker(root.as_uri()).runs(ids["main"]).shape == mine.shape
    expected = client_history(root.as_uri(), list(mine["run_id"]))
    pd.testing.assert_frame_equal(canonical(tracker.metric_history(list(mine["run_id"]))), expected)


def _strip_like_git(root: Path) -> None:
    """git keeps no empty folders; remove them bottom-up."""
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def _point_artifacts_elsewhere(root: Path) -> None:
    foreign = [
        "file:///C:/Users/some%20one/proj/mlruns/{e}/{r}/artifacts",
        "/home/someone/proj/mlruns/{e}/{r}/artifacts",
        "file:./mlruns/{e}/{r}/artifacts",
        "mlflow-artifacts:/{e}/{r}/artifacts",
    ]
    metas = sorted(p for p in root.glob("*/*/meta.yaml") if p.parent.name not in ("tags", "datasets"))
    for i, meta in enumerate(metas):
        text = meta.read_text()
        lines = [
            f"artifact_uri: {foreign[i % 4].format(e=meta.parent.parent.name, r=meta.parent.name)}"
            if line.startswith("artifact_uri:") else line
            for line in text.splitlines()
        ]
        meta.write_text("\n".join(lines) + "\n")


def test_mlruns_from_git_with_foreign_artifact_uris(mlruns_store, tmp_path):
    root, ids = mlruns_store
    copy = tmp_path / "checkout" / "mlruns"
    shutil.copytree(root, copy)
    _strip_like_git(copy)
    _point_artifacts_elsewhere(copy)
    assert not (copy / ids["main"] / ids["running_run"] / "artifacts").exists()  # git dropped it
    tracker = open_tracker(copy)
    table = tracker.runs(ids["main"])
    assert len(table) == 14
    assert table["artifact_uri"].str.contains("C:/Users|/home/someone|mlflow-artifacts|file:./", regex=True).all()
    history = tracker.metric_history(list(table["run_id"]))
    assert set(history["run_id"]) == set(table["run_id"])  # every run has a history
    for run_id in table["run_id"]:
        detail = tracker.run(run_id)  # MLflow's get_run fails here for runs that lost their empty folders
        assert detail.params or detail.metrics
    assert tracker.fetch_artifact(ids["first_run"], "notes/readme.txt").read_text() == "notes for run 0"
    assert tracker.artifacts(ids["running_run"]) == []


def test_http_server_equals_search_runs(mlflow_server, sqlite_store):
    uri, ids = sqlite_store
    tracker = open_tracker(mlflow_server)
    assert tracker.kind == "http"
    mine = tracker.runs(ids["main"])
    reference = search_runs(mlflow_server, ids["main"])
    assert_same_as_mlflow(mine, reference)
    run_ids = list(mine["run_id"])
    pd.testing.assert_frame_equal(canonical(tracker.metric_history(run_ids)), client_history(mlflow_server, run_ids))
    assert tracker.run(ids["first_run"]).child_run_ids
    with pytest.raises(RunNotFoundError):
        tracker.run("0" * 32)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _old_store(path: Path, revision: str) -> Path:
    """An MLflow store at an older schema revision, with one run written the way old MLflow wrote it."""
    import sqlalchemy
    from alembic import command
    from mlflow.store.db.utils import _get_alembic_config
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

    url = f"sqlite:///{path}"
    engine = sqlalchemy.create_engine(url)
    InitialBase.metadata.create_all(engine)
    engine.dispose()
    command.upgrade(_get_alembic_config(url), revision)
    import sqlite3

    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
                    "VALUES (0, 'Default', '/tmp/a/0', 'active'), (1, 'old team', '/tmp/a/1', 'active')")
        con.execute("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
                    "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES "
                    "('a' || hex(randomblob(15)), 'old-run', 'LOCAL', 'x.py', '', 'ann', 'FINISHED', 1600000000000, "
                    "1600000060000, '', 'active', '/tmp/a/1/r/artifacts', 1)")
        run_id = con.execute("SELECT run_uuid FROM runs").fetchone()[0]
        con.execute("INSERT INTO params VALUES ('lr', '0.1', ?)", (run_id,))
        con.execute("INSERT INTO tags VALUES ('mlflow.runName', 'old-run', ?)", (run_id,))
        if con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'latest_metrics'").fetchone()[0]:
            con.execute("INSERT INTO latest_metrics VALUES ('acc', 0.9, 1600000001000, 3, 0, ?)", (run_id,))
        con.execute("INSERT INTO metrics (key, value, timestamp, run_uuid, step) VALUES ('acc', 0.9, 1600000001000, ?, 3)",
                    (run_id,))
    return path


@pytest.mark.parametrize(("revision", "direct"), [("7f2a7d5fae7d", True), ("451aebb31d03", False)])
def test_older_schema_is_never_migrated(tmp_path, revision, direct):
    db = _old_store(tmp_path / "mlflow.db", revision)
    before = _digest(db)
    tracker = open_tracker(f"sqlite:///{db}")
    assert tracker.direct is direct
    table = tracker.runs("1")
    assert table.loc[0, "run_name"] == "old-run" and table.loc[0, "params.lr"] == "0.1"
    assert table.loc[0, "metrics.acc"] == pytest.approx(0.9)
    assert tracker.metric_history(list(table["run_id"]))["value"].tolist() == [0.9]
    assert _digest(db) == before


def test_set_tags_round_trip(sqlite_copy, mlruns_store, tmp_path):
    uri, ids = sqlite_copy
    mlruns = tmp_path / "mlruns"
    shutil.copytree(mlruns_store[0], mlruns)
    for tracker, experiment_id in ((open_tracker(uri), ids["main"]), (open_tracker(mlruns), mlruns_store[1]["main"])):
        run_id = tracker.runs(experiment_id)["run_id"].iloc[0]
        tracker.set_tags(run_id, {"lens.rating": "5", "lens.note": "ünïcode note"})
        tracker.set_tags(run_id, {"lens.rating": "2"})  # last write wins, the note stays
        assert tracker.run(run_id).tags["lens.rating"] == "2"
        assert tracker.run(run_id).tags["lens.note"] == "ünïcode note"
        row = tracker.runs(experiment_id).set_index("run_id").loc[run_id]
        assert row["tags.lens.rating"] == "2"


def test_metric_extremes_equal_history_aggregates(sqlite_store, mlruns_store):
    uri, ids = sqlite_store
    for tracker, experiment_id in (
        (open_tracker(uri), ids["main"]),
        (open_tracker(uri, mode="client"), ids["main"]),
        (open_tracker(mlruns_store[0]), mlruns_store[1]["main"]),
    ):
        run_ids = list(tracker.runs(experiment_id)["run_id"])
        history = tracker.metric_history(run_ids)
        expected = history.groupby(["run_id", "key"])["value"].agg(["min", "max"]).reset_index()
        got = tracker.metric_extremes(experiment_id)
        merged = expected.merge(got, on=["run_id", "key"], suffixes=("", "_got"), how="outer", validate="1:1")
        assert len(merged) == len(expected) == len(got)
        pd.testing.assert_series_equal(merged["min"], merged["min_got"], check_names=False)
        pd.testing.assert_series_equal(merged["max"], merged["max_got"], check_names=False)


def test_concurrent_tag_writes_all_land(sqlite_copy):
    """20 sessions rating at once: every write lands, the last write per run wins, nothing else is touched."""
    import threading

    uri, ids = sqlite_copy
    run_ids = list(open_tracker(uri).runs(ids["main"])["run_id"])
    trackers = [open_tracker(uri) for _ in range(20)]  # one per session
    barrier = threading.Barrier(20)

    def rate(i: int) -> None:
        barrier.wait()
        trackers[i].set_tags(run_ids[i % len(run_ids)], {"lens.rating": str(i % 5 + 1), f"lens.by.{i}": "x"})

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = open_tracker(uri)
    for i in range(20):
        assert fresh.run(run_ids[i % len(run_ids)]).tags[f"lens.by.{i}"] == "x"
    assert fresh.run(ids["first_run"]).tags["team"] == "nlp"


@pytest.mark.parametrize("kind", ["sqlite-direct", "sqlite-client", "mlruns"])
def test_mlflow_inf_sentinel_reads_as_inf_everywhere(sqlite_store, mlruns_store, kind):
    """MLflow stores a logged ±inf as ±1.7976931348623157e308; every read of every adapter gives ±inf back."""
    import sqlite3

    if kind == "mlruns":
        root, ids = mlruns_store
        tracker = open_tracker(root)
    else:
        uri, ids = sqlite_store
        tracker = open_tracker(uri, mode=kind.split("-")[1])
        with sqlite3.connect(uri.removeprefix("sqlite:///")) as con:  # what MLflow wrote: the sentinel, not inf
            assert con.execute("SELECT value FROM metrics WHERE key = 'weird'").fetchone()[0] == 1.7976931348623157e308
    runs = tracker.runs(ids["main"])
    weird = runs.dropna(subset=["metrics.weird"])
    assert list(weird["metrics.weird"]) == [float("inf")]
    run_id = weird["run_id"].iloc[0]
    assert tracker.run(run_id).metrics["weird"] == float("inf")
    assert list(tracker.metric_history([run_id], ["weird"])["value"]) == [float("inf")]
    extremes = tracker.metric_extremes(ids["main"]).query("key == 'weird'")
    assert list(extremes["min"]) == [float("inf")] and list(extremes["max"]) == [float("inf")]
