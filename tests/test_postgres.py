"""MLflow stores in PostgreSQL read directly (issue 18, item 3): the same table as ``mlflow.search_runs``, through
read-only transactions, with faults in plain words. The contract suite (tests/test_contract.py) runs on the same
store; a private cluster is started once per session (tests/postgres.py)."""
from __future__ import annotations

import pandas as pd
import pytest

from lens_core import open_tracker
from lens_core.errors import TrackerUnreachableError, TrackerWriteError
from lens_core.trackers import faults
from lens_core.trackers.mlflow_postgres import PostgresTracker, client_uri, libpq_uri, where
from tests.postgres import running_cluster
from tests.stores import log_contract_runs
from tests.test_tracker_faults import no_traceback, session, shown
from tests.test_trackers import assert_same_as_mlflow, canonical, client_history, search_runs


@pytest.mark.parametrize("mode", ["auto", "client"])
def test_runs_equal_search_runs(postgres_store, mode):
    uri, ids = postgres_store
    tracker = open_tracker(uri, mode=mode)
    assert isinstance(tracker, PostgresTracker) and tracker.direct == (mode == "auto")
    mine = tracker.runs(ids["main"])
    assert_same_as_mlflow(mine, search_runs(uri, ids["main"]))
    assert len(mine) == 14 and "params.only_on_deleted" not in mine
    running = mine.set_index("run_id").loc[ids["running_run"]]
    assert running["status"] == "RUNNING" and pd.isna(running["end_time"])
    assert mine["metrics.eval.acc"].isna().sum() >= 1 and "params.größe/学习率" in mine
    assert mine.set_index("run_name").loc["run-06", "metrics.weird"] == float("inf")  # MLflow stored its ±max sentinel


def test_every_spelling_of_the_uri_is_read_directly(postgres_store):
    uri, ids = postgres_store
    rest = uri.split("://", 1)[1]
    for scheme in ("postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgres"):
        tracker = open_tracker(f"{scheme}://{rest}")
        assert isinstance(tracker, PostgresTracker) and tracker.direct, scheme
        assert len(tracker.runs(ids["main"])) == 14


def test_history_extremes_and_run_equal_the_client(postgres_store):
    uri, ids = postgres_store
    tracker = open_tracker(uri)
    run_ids = list(tracker.runs(ids["main"])["run_id"])
    expected = client_history(client_uri(uri), run_ids)
    for mode in ("direct", "client"):
        got = open_tracker(uri, mode=mode).metric_history(run_ids)
        pd.testing.assert_frame_equal(canonical(got), expected)
    extremes = tracker.metric_extremes(ids["main"]).set_index(["run_id", "key"])
    loss = expected[expected["key"] == "train/loss"].groupby("run_id")["value"]
    assert extremes.xs("train/loss", level="key")["min"].sort_index().tolist() == loss.min().sort_index().tolist()
    direct, client = tracker.run(ids["first_run"]), open_tracker(uri, mode="client").run(ids["first_run"])
    assert direct == client and len(direct.child_run_ids) == 2 and direct.inputs[0].context == "training"


def test_reads_cannot_write(postgres_store):
    """Even with a role that may write, the reader's transactions are read-only."""
    uri, ids = postgres_store
    tracker = open_tracker(uri)
    with pytest.raises(Exception, match="read-only transaction"):
        tracker._read(lambda s: s.rows("INSERT INTO tags (key, value, run_uuid) VALUES ('x', 'y', ?)",
                                       (ids["first_run"],)))
    assert "x" not in tracker.run(ids["first_run"]).tags
    assert tracker._read(lambda s: s.rows("SELECT current_setting('transaction_read_only')")) == [("on",)]


def test_a_read_only_role_reads_everything_and_says_why_it_cannot_rate(postgres_cluster, postgres_store):
    uri, ids = postgres_store
    reader = open_tracker(postgres_cluster.uri(reader=True))
    assert_same_as_mlflow(reader.runs(ids["main"]), search_runs(uri, ids["main"]))
    with pytest.raises(TrackerWriteError, match="may only read") as caught:
        reader.set_tags(ids["first_run"], {"lens.rating": "3"})
    assert "reader-pw" not in str(caught.value) and "INSERT INTO" not in str(caught.value)
    writer = open_tracker(uri)  # the tracking URI's own role: ratings go through MLflow's client
    writer.runs(ids["main"])
    writer.set_tags(ids["running_run"], {"lens.note": "checked ü"})
    assert writer.runs(ids["main"]).set_index("run_id").loc[ids["running_run"], "tags.lens.note"] == "checked ü"


def test_connection_settings():
    dsn = libpq_uri("postgresql+psycopg://u:p%40ss@db.example:6543/mlflow"
                    "?sslmode=require&options=-c%20search_path%3Dml")
    assert dsn.startswith("postgresql://u:p%40ss@db.example:6543/mlflow?")
    assert "sslmode=require" in dsn and "connect_timeout=5" in dsn
    assert "search_path%3Dml%20-c%20default_transaction_read_only%3Don" in dsn and "statement_timeout" in dsn
    assert where("postgresql://u:secret@db.example/mlflow") == "db.example:5432/mlflow"
    assert client_uri("postgresql://u@h/db").startswith(("postgresql+psycopg://", "postgresql://"))
    assert client_uri("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_a_stopped_server(monkeypatch, tmp_path):
    """Stopped mid-session: the last good table and run, labelled stale, with a message and no traceback (also on
    the Home page); a new connection says the server does not answer; back when the server is."""
    with running_cluster() as cluster:
        uri = cluster.uri()
        experiment_id = log_contract_runs(uri)
        tracker = open_tracker(uri, ttl_seconds=0)
        table = tracker.runs(experiment_id)
        run_id = table["run_id"][0]
        tracker.run(run_id)
        cluster.stop()

        with faults.page_run() as page:
            stale = tracker.runs(experiment_id)
            assert stale.attrs["lens.stale_error"] and len(stale) == 3
            assert tracker.run(run_id).run_id == run_id
        assert page.stale and "does not answer (connection refused)" in page.stale[0]
        with pytest.raises(TrackerUnreachableError) as caught:
            open_tracker(uri)
        message = str(caught.value)
        assert f"127.0.0.1:{cluster.port}/mlflow" in message and "Traceback" not in message
        assert "SELECT" not in message and "lens_admin" not in message

        at = session(monkeypatch, uri).run()
        no_traceback(at)
        assert "does not answer" in shown(at)

        cluster.start()
        assert tracker.runs(experiment_id).attrs.get("lens.stale_error") is None


def test_params_read_beside_shares_the_snapshot_and_falls_back(postgres_store, monkeypatch):
    """The params are read on a second connection in the first transaction's exported snapshot: a param logged
    between the two is not seen, as a single transaction would not see it; a server that will not export its
    snapshot gets one connection reading everything."""
    import mlflow

    from lens_core.trackers import mlflow_postgres

    uri, _ = postgres_store
    client = mlflow.MlflowClient(tracking_uri=client_uri(uri))
    experiment_id = client.create_experiment("snapshot-shared")
    first = client.create_run(experiment_id).info.run_id
    client.log_param(first, "alpha", "1")
    tracker = open_tracker(uri)
    monkeypatch.setattr(tracker, "shares_catalog", False)  # each read below from the store
    original = PostgresTracker._arrow_in_snapshot

    def write_first(self, *args):
        client.log_param(first, "late", "2")  # committed after the snapshot was taken
        return original(self, *args)

    monkeypatch.setattr(PostgresTracker, "_arrow_in_snapshot", write_first)
    runs = tracker.runs(experiment_id)
    assert "params.alpha" in runs and "params.late" not in runs
    monkeypatch.setattr(PostgresTracker, "_arrow_in_snapshot", original)
    assert runs_now(tracker, experiment_id)["params.late"].tolist() == ["2"]

    refused = mlflow_postgres._Session.rows

    def no_export(self, sql, params=()):
        if "pg_export_snapshot" in sql:
            raise RuntimeError("ERROR: cannot export a snapshot from a subtransaction")
        return refused(self, sql, params)

    monkeypatch.setattr(mlflow_postgres._Session, "rows", no_export)
    assert runs_now(tracker, experiment_id)[["params.alpha", "params.late"]].values.tolist() == [["1", "2"]]


def runs_now(tracker: PostgresTracker, experiment_id: str) -> pd.DataFrame:
    tracker.forget()
    return tracker.runs(experiment_id)
