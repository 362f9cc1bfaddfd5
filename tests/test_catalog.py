"""The local catalog: an unchanged experiment is read once; new runs, progressing runs and tag edits show up."""
from __future__ import annotations

import shutil

import pytest

from lens_core import open_tracker


def count_loads(tracker, monkeypatch) -> list[str]:
    calls: list[str] = []
    original = tracker._load_runs

    def counting(experiment_id: str):
        calls.append(experiment_id)
        return original(experiment_id)

    monkeypatch.setattr(tracker, "_load_runs", counting)
    return calls


@pytest.fixture(params=["sqlite", "mlruns"])
def writable_store(request, sqlite_copy, mlruns_store, tmp_path):
    """(tracker uri, experiment id, mlflow client uri) of a private store copy."""
    if request.param == "sqlite":
        uri, ids = sqlite_copy
        return uri, ids["main"], uri
    root = tmp_path / "mlruns"
    shutil.copytree(mlruns_store[0], root)
    return str(root), mlruns_store[1]["main"], root.as_uri()


def test_unchanged_experiment_is_not_read_again(writable_store, monkeypatch):
    uri, experiment_id, _ = writable_store
    tracker = open_tracker(uri)
    calls = count_loads(tracker, monkeypatch)
    first = tracker.runs(experiment_id)
    second = tracker.runs(experiment_id)
    assert calls == [experiment_id]
    assert first.equals(second)
    second.loc[0, "status"] = "EDITED"  # callers get copies: the catalog stays intact
    assert tracker.runs(experiment_id).loc[0, "status"] != "EDITED"


def test_catalog_picks_up_new_runs_metrics_and_tags(writable_store, monkeypatch):
    from mlflow import MlflowClient

    uri, experiment_id, client_uri = writable_store
    tracker = open_tracker(uri)
    before = tracker.runs(experiment_id)
    client = MlflowClient(tracking_uri=client_uri)

    new = client.create_run(experiment_id, run_name="late arrival")
    client.log_metric(new.info.run_id, "train/loss", 0.5, step=0)
    after_new = tracker.runs(experiment_id)
    assert len(after_new) == len(before) + 1 and "late arrival" in set(after_new["run_name"])

    client.log_metric(new.info.run_id, "train/loss", 0.1, step=1)  # a RUNNING run progresses
    row = tracker.runs(experiment_id).set_index("run_id").loc[new.info.run_id]
    assert row["metrics.train/loss"] == pytest.approx(0.1) and row["status"] == "RUNNING"

    old_id = before["run_id"].iloc[-1]
    client.set_tag(old_id, "team", "changed")  # a tag edit on an old run
    assert tracker.runs(experiment_id).set_index("run_id").loc[old_id, "tags.team"] == "changed"


def test_catalog_without_change_token_uses_ttl(sqlite_store, monkeypatch):
    uri, ids = sqlite_store
    tracker = open_tracker(uri, ttl_seconds=3600)
    monkeypatch.setattr(tracker, "change_token", lambda experiment_id: None)  # as over HTTP
    calls = count_loads(tracker, monkeypatch)
    tracker.runs(ids["main"])
    tracker.runs(ids["main"])
    assert calls == [ids["main"]]
    tracker.forget()
    tracker.runs(ids["main"])
    assert len(calls) == 2


def test_unreachable_tracker_serves_the_last_table_labelled_stale(sqlite_store, monkeypatch):
    from lens_core import TrackerUnreachableError

    uri, ids = sqlite_store
    tracker = open_tracker(uri, ttl_seconds=0)
    monkeypatch.setattr(tracker, "change_token", lambda experiment_id: None)  # as over HTTP
    fresh = tracker.runs(ids["main"])
    assert "lens.stale_error" not in fresh.attrs

    def down(experiment_id):
        raise TrackerUnreachableError("The MLflow server at http://***@host stopped answering")

    monkeypatch.setattr(tracker, "_load_runs", down)
    monkeypatch.setattr(tracker, "_check_experiment", lambda experiment_id: None)
    stale = tracker.runs(ids["main"])
    assert stale.attrs["lens.stale_error"].startswith("The MLflow server") and len(stale) == len(fresh)
    with pytest.raises(TrackerUnreachableError):
        tracker.runs(ids["empty"])  # nothing cached: the error goes through


def test_home_shows_stale_data_with_retry(sqlite_store, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from lens_core import TrackerUnreachableError
    from lens_core.ui import cache as cached

    uri, ids = sqlite_store
    tracker = open_tracker(uri, ttl_seconds=0)
    monkeypatch.setattr(tracker, "change_token", lambda experiment_id: None)
    tracker.runs(ids["main"])

    def down(experiment_id):
        raise TrackerUnreachableError("The MLflow server stopped answering while reading runs.")

    monkeypatch.setattr(tracker, "_load_runs", down)
    monkeypatch.setattr(cached, "shared_tracker", lambda uri: tracker)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "Home.py"), default_timeout=60)
    at.query_params["experiment"] = ids["main"]
    at.run()
    assert not at.exception
    assert any("Showing runs as of" in w.value for w in at.warning)
    assert len(at.dataframe[0].value) == 14
    assert any(b.label == "Retry" for b in at.button)
