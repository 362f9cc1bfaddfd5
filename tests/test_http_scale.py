"""HTTP at any size (issue 18, item 1): adaptive pages, incremental refresh, the shared catalog for HTTP, progress.

Small stores and real ``mlflow server`` processes: the session's read-only server for equality with
``mlflow.search_runs``, and a private, writable one (this module's) for refresh tests, each in its own experiment.
"""
from __future__ import annotations

import http.server
import shutil
import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest

from lens_core import open_tracker
from lens_core.errors import TrackerUnreachableError
from lens_core.trackers import http_runs, mlflow_client, progress, shared_catalog
from lens_core.trackers.base import INCREMENTAL
from lens_core.trackers.http_runs import AdaptivePager, merge_runs
from tests.conftest import forward, serve_mlflow
from tests.test_trackers import assert_same_as_mlflow, search_runs


# ---- a private, writable mlflow server ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def writable_server(sqlite_store, tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("http-scale-server")
    shutil.copy(sqlite_store[0].removeprefix("sqlite:///"), root / "mlflow.db")
    with serve_mlflow(root / "mlflow.db") as url:
        yield url


@pytest.fixture()
def experiment(writable_server, request) -> tuple[str, str, object]:
    """A fresh experiment on the writable server with three finished runs and one running: (url, id, client)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=writable_server)
    experiment_id = client.create_experiment(f"scale-{request.node.name}-{time.monotonic_ns()}")
    now = int(time.time() * 1000)
    for i, status in enumerate(["FINISHED", "FINISHED", "FAILED", "RUNNING"]):
        run = client.create_run(experiment_id, start_time=now - (10 - i) * 60_000, run_name=f"r{i}")
        client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.0 / (i + 1), now, 0)],
                         params=[Param("lr", str(0.1 * (i + 1)))])
        if status != "RUNNING":
            client.set_terminated(run.info.run_id, status, end_time=now - (9 - i) * 60_000)
    return writable_server, experiment_id, client


def no_full_read(monkeypatch, tracker) -> None:
    def refuse(experiment_id: str) -> pd.DataFrame:
        raise AssertionError("a full read was not expected")

    monkeypatch.setattr(tracker, "_load_runs", refuse)


# ---- adaptive pages -----------------------------------------------------------------------------------------------
def test_pager_grows_while_fast_and_shrinks_after_a_slow_page():
    pager = AdaptivePager(15.0, first=500, target=3.0)
    assert pager.timeout() == 15.0  # nothing known yet: the configured timeout
    pager.record(500, 500, 0.5)  # 1 ms a run: room to grow, at most twice as much
    assert pager.size == 1000
    pager.record(1000, 1000, 1.0)
    assert pager.size == 2000
    pager.record(2000, 2000, 12.0)  # the server slowed down (6 ms a run after smoothing): shrink to fit ~3 s
    assert pager.size < 1000
    pager.size = 20_000  # a page expected to take far longer than 15 s gets a timeout that fits it
    expected = pager.expected_seconds()
    assert expected is not None and expected > 15
    assert pager.timeout() >= 4 * expected
    pager.timed_out()
    assert pager.size == 5_000 and pager.base_timeout == 30.0


def test_tiny_adaptive_pages_still_equal_search_runs(monkeypatch, mlflow_server, sqlite_store):
    _, ids = sqlite_store
    monkeypatch.setattr(http_runs, "FIRST_PAGE_RUNS", 2)
    monkeypatch.setattr(http_runs, "SMALLEST_PAGE_RUNS", 1)
    monkeypatch.setattr(http_runs, "LARGEST_PAGE_RUNS", 3)
    monkeypatch.setenv("LENS_SHARED_CATALOG", "0")
    tracker = open_tracker(mlflow_server)
    tracker.shares_catalog = False
    mine = tracker.runs(ids["main"])
    assert len(tracker.pages) >= 5 and max(asked for asked, *_ in tracker.pages) <= 3
    assert_same_as_mlflow(mine, search_runs(mlflow_server, ids["main"]))
    assert list(mine.dropna(subset=["metrics.weird"])["metrics.weird"]) == [float("inf")]  # the sentinel, as inf


def test_a_page_that_times_out_is_asked_again_smaller(monkeypatch, mlflow_server, sqlite_store):
    """The server is alive (answers the probe) but the first page takes longer than its timeout: asked again,
    smaller and with a longer timeout, instead of failing."""
    _, ids = sqlite_store
    proxy = _SlowFirstSearch.start(mlflow_server, delay=2.5)
    try:
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
        tracker = open_tracker(proxy.url)
        tracker.shares_catalog = False
        mine = tracker.runs(ids["main"])
        assert proxy.searches >= 2
        assert_same_as_mlflow(mine, search_runs(mlflow_server, ids["main"]))
    finally:
        proxy.stop()


def test_a_hung_server_still_fails_fast(monkeypatch, mlflow_server, sqlite_store):
    """A server that stops answering mid-read: the timed-out page is not retried against a dead server (the probe
    fails within its own bound) and the read fails in seconds."""
    _, ids = sqlite_store
    proxy = _SlowFirstSearch.start(mlflow_server, delay=60.0, hang_after_first=True)
    try:
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
        monkeypatch.setattr(mlflow_client, "ALIVE_TIMEOUT_SECONDS", 1)
        tracker = open_tracker(proxy.url)
        tracker.shares_catalog = False
        began = time.monotonic()
        with pytest.raises(TrackerUnreachableError, match="stopped answering"):
            tracker.runs(ids["main"])
        assert time.monotonic() - began < 8
    finally:
        proxy.stop()


class _SlowFirstSearch(http.server.BaseHTTPRequestHandler):
    """Forwards to a real server; the first ``runs/search`` waits ``delay`` seconds first. With
    ``hang_after_first``, every request after that first search hangs (a server that stopped answering)."""

    protocol_version = "HTTP/1.0"

    @classmethod
    def start(cls, upstream: str, *, delay: float, hang_after_first: bool = False) -> http.server.ThreadingHTTPServer:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), cls)
        server.daemon_threads = True
        server.upstream, server.delay, server.hang_after_first = upstream, delay, hang_after_first  # type: ignore[attr-defined]
        server.searches, server.stopping = 0, threading.Event()  # type: ignore[attr-defined]
        server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
        server.stop = lambda: (server.stopping.set(), server.shutdown(), server.server_close())  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _handle(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "runs/search" in self.path:
            server.searches += 1  # type: ignore[attr-defined]
            if server.searches == 1:  # type: ignore[attr-defined]
                server.stopping.wait(server.delay)  # type: ignore[attr-defined]
            elif server.hang_after_first:  # type: ignore[attr-defined]
                server.stopping.wait(120)  # type: ignore[attr-defined]
                return
        elif server.hang_after_first and server.searches:  # type: ignore[attr-defined]
            server.stopping.wait(120)  # type: ignore[attr-defined]
            return
        status, payload = forward(server.upstream, self.path, self.command, body)  # type: ignore[attr-defined]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass

    do_GET = do_POST = _handle

    def log_message(self, *args: object) -> None:
        pass


# ---- incremental refresh ------------------------------------------------------------------------------------------
def test_refresh_picks_up_new_finished_and_rated_runs_without_a_full_read(monkeypatch, experiment):
    from mlflow.entities import Metric

    url, experiment_id, client = experiment
    tracker = open_tracker(url, ttl_seconds=0)
    first = tracker.runs(experiment_id)
    assert len(first) == 4 and (first["status"] == "RUNNING").sum() == 1
    full_read_at = first.attrs["lens.full_read_at"]
    no_full_read(monkeypatch, tracker)

    running = first.loc[first["status"] == "RUNNING", "run_id"].iloc[0]
    finished = first.loc[first["run_name"] == "r0", "run_id"].iloc[0]
    new = client.create_run(experiment_id, run_name="new")
    client.log_batch(new.info.run_id, metrics=[Metric("acc", 0.9, int(time.time() * 1000), 0)])
    client.log_batch(running, metrics=[Metric("loss", 0.01, int(time.time() * 1000), 1)])
    client.set_terminated(running, "FINISHED")
    tracker.set_tags(finished, {"lens.rating": "5"})  # a rating through ExperimentLens

    second = tracker.runs(experiment_id)
    assert second.attrs["lens.full_read_at"] == full_read_at  # refreshed, not re-read
    assert second.attrs["lens.loaded_at"] > first.attrs["lens.loaded_at"]
    rows = second.set_index("run_name")
    assert len(second) == 5 and rows.loc["new", "status"] == "RUNNING" and rows.loc["new", "metrics.acc"] == 0.9
    assert rows.loc["r3", "status"] == "FINISHED" and rows.loc["r3", "metrics.loss"] == 0.01
    assert rows.loc["r0", "tags.lens.rating"] == "5"
    assert_same_as_mlflow(second, search_runs(url, experiment_id))


def test_a_rating_appears_at_once_and_a_deleted_running_run_goes(monkeypatch, experiment):
    url, experiment_id, client = experiment
    tracker = open_tracker(url)  # the app's own ttl: the table is not re-checked in this test
    first = tracker.runs(experiment_id)
    finished = first.loc[first["run_name"] == "r1", "run_id"].iloc[0]
    tracker.set_tags(finished, {"lens.rating": "3", "lens.note": "ok"})
    rated = tracker.runs(experiment_id)
    assert rated.set_index("run_id").loc[finished, "tags.lens.rating"] == "3"
    assert rated.attrs["lens.loaded_at"] == first.attrs["lens.loaded_at"]  # no read: the table in memory

    running = first.loc[first["status"] == "RUNNING", "run_id"].iloc[0]
    client.delete_run(running)
    fresh = open_tracker(url, ttl_seconds=0)
    fresh.shares_catalog = False
    fresh.runs(experiment_id)
    tracker._ttl_seconds = 0
    no_full_read(monkeypatch, tracker)
    gone = tracker.runs(experiment_id)
    assert running not in set(gone["run_id"]) and len(gone) == 3
    assert_same_as_mlflow(gone, search_runs(url, experiment_id))


def test_edits_by_other_tools_wait_for_the_full_re_read(experiment):
    """A tag set on a finished run by another tool is not something the incremental query can see; after
    ``full_refresh_seconds`` the table is read again in full and shows it."""
    url, experiment_id, client = experiment
    tracker = open_tracker(url, ttl_seconds=0, full_refresh_seconds=3600)
    first = tracker.runs(experiment_id)
    finished = first.loc[first["run_name"] == "r0", "run_id"].iloc[0]
    client.set_tag(finished, "team", "vision")
    assert "tags.team" not in tracker.runs(experiment_id)  # not a change the incremental query finds
    tracker.full_refresh_seconds = 0
    again = tracker.runs(experiment_id)
    assert again.set_index("run_id").loc[finished, "tags.team"] == "vision"
    assert again.attrs["lens.full_read_at"] > first.attrs["lens.full_read_at"]
    assert_same_as_mlflow(again, search_runs(url, experiment_id))


def test_full_refresh_seconds_from_the_environment(monkeypatch, experiment):
    url, *_ = experiment
    monkeypatch.setenv("LENS_FULL_REFRESH_SECONDS", "42")
    assert open_tracker(url).full_refresh_seconds == 42
    assert open_tracker(url, full_refresh_seconds=7).full_refresh_seconds == 7


# ---- the shared catalog over HTTP ---------------------------------------------------------------------------------
def test_a_new_process_loads_the_stored_table_and_refreshes_it(monkeypatch, experiment):
    from mlflow.entities import Metric

    url, experiment_id, client = experiment
    first = open_tracker(url, ttl_seconds=0)
    table = first.runs(experiment_id)
    assert shared_catalog.stored_meta(url, experiment_id, "runs", INCREMENTAL) is not None

    new = client.create_run(experiment_id, run_name="while-away")
    client.log_batch(new.info.run_id, metrics=[Metric("loss", 0.5, int(time.time() * 1000), 0)])
    client.set_terminated(new.info.run_id, "FINISHED")
    fresh = open_tracker(url, ttl_seconds=0)  # a new process on the same cache folder
    no_full_read(monkeypatch, fresh)
    served = fresh.runs(experiment_id)
    assert "while-away" in set(served["run_name"]) and len(served) == len(table) + 1
    assert served.attrs["lens.full_read_at"] == table.attrs["lens.full_read_at"]
    assert_same_as_mlflow(served, search_runs(url, experiment_id))

    # a rating written by one process reaches the other through the stored table
    rated = table.loc[table["run_name"] == "r2", "run_id"].iloc[0]
    first.set_tags(rated, {"lens.rating": "4"})
    assert fresh.runs(experiment_id).set_index("run_id").loc[rated, "tags.lens.rating"] == "4"

    # past the full re-read interval, a stored table is not trusted: read in full
    stale = open_tracker(url, ttl_seconds=0, full_refresh_seconds=0)
    reads = []
    original = stale._load_runs
    monkeypatch.setattr(stale, "_load_runs", lambda e: reads.append(e) or original(e))
    again = stale.runs(experiment_id)
    assert reads == [experiment_id]
    assert again.set_index("run_id").loc[rated, "tags.lens.rating"] == "4"


def test_a_rating_written_during_a_full_read_survives_it(monkeypatch, experiment):
    """Process B rates a run while process A's full read is under way (its page with that run already read):
    A's stored table still shows the rating."""
    url, experiment_id, _ = experiment
    a, b = open_tracker(url, ttl_seconds=0), open_tracker(url, ttl_seconds=0)
    table = b.runs(experiment_id)
    run_id = table["run_id"].iloc[0]
    original = a._load_runs

    def read_then_rating(e: str) -> pd.DataFrame:
        frame = original(e)
        b.set_tags(run_id, {"lens.rating": "2"})  # lands after A read that run
        return frame

    monkeypatch.setattr(a, "_load_runs", read_then_rating)
    a.full_refresh_seconds = 0
    assert a.runs(experiment_id).set_index("run_id").loc[run_id, "tags.lens.rating"] == "2"
    c = open_tracker(url, ttl_seconds=0)
    no_full_read(monkeypatch, c)
    assert c.runs(experiment_id).set_index("run_id").loc[run_id, "tags.lens.rating"] == "2"


# ---- progress and freshness ---------------------------------------------------------------------------------------
def test_progress_is_reported_while_pages_arrive(monkeypatch, mlflow_server, sqlite_store):
    _, ids = sqlite_store
    monkeypatch.setattr(http_runs, "FIRST_PAGE_RUNS", 3)
    monkeypatch.setattr(http_runs, "LARGEST_PAGE_RUNS", 3)
    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)
    tracker = open_tracker(mlflow_server)
    tracker.shares_catalog = False
    seen: list[progress.LoadProgress] = []
    with progress.reporting(seen.append):
        runs = tracker.runs(ids["main"])
    counts = [s.runs_read for s in seen if s.runs_read]
    assert counts and counts == sorted(counts) and counts[-1] == len(runs) and len(runs) > 3
    assert f"{len(runs):,} runs read from the server" in seen[-1].text()
    previews = [s.preview for s in seen if s.preview is not None]
    assert previews and all(p is previews[0] for p in previews)  # the first page's runs, drawn once
    assert set(previews[0]["run_id"]) == set(runs["run_id"].iloc[:3])  # MLflow answers newest first
    assert tracker.progress(ids["main"]) is None


def test_freshness_says_when_the_table_was_checked_and_fully_read():
    now = pd.Timestamp("2026-01-01 12:00:00", tz="UTC")
    frame = pd.DataFrame({"run_id": ["a"]})
    frame.attrs["lens.loaded_at"] = now
    assert progress.freshness(frame, now) == ""  # a table with a change token is current when served
    frame.attrs["lens.checked_epoch"] = 0.0
    frame.attrs["lens.loaded_at"] = now - pd.Timedelta(seconds=10)
    frame.attrs["lens.full_read_at"] = now - pd.Timedelta(minutes=4)
    assert progress.freshness(frame, now) == "checked 10 s ago · fully re-read 4 min ago"
    frame.attrs["lens.full_read_at"] = frame.attrs["lens.loaded_at"]
    assert progress.freshness(frame, now) == "checked 10 s ago"


def test_merge_keeps_the_layout_of_a_full_read(mlflow_server, sqlite_store):
    """Laying the newest runs over a table without them gives back the full table, column order and dtypes."""
    _, ids = sqlite_store
    tracker = open_tracker(mlflow_server)
    tracker.shares_catalog = False
    full = tracker.runs(ids["main"])
    older, newer = full.iloc[4:].reset_index(drop=True), full.iloc[:4].reset_index(drop=True)
    older = older.dropna(axis=1, how="all")
    merged = merge_runs(older, newer.dropna(axis=1, how="all"))
    pd.testing.assert_frame_equal(merged, full[merged.columns])
    assert set(merged.columns) == set(full.dropna(axis=1, how="all").columns)


def test_home_says_how_fresh_an_http_table_is(monkeypatch, experiment):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    url, experiment_id, _ = experiment
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "Home.py"), default_timeout=60)
    at.query_params["experiment"] = experiment_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(str(c.value).startswith(":material/schedule: Runs checked") for c in at.caption), [
        c.value for c in at.caption]
    assert len(at.dataframe[0].value) == 4


def test_refreshing_running_runs_in_place_equals_a_rebuild(mlflow_server, sqlite_store):
    """The in-place path (running runs re-read, nothing added) and the rebuild give the same table."""
    _, ids = sqlite_store
    tracker = open_tracker(mlflow_server)
    tracker.shares_catalog = False
    full = tracker.runs(ids["main"])
    update = full.iloc[[1, 3]].reset_index(drop=True).copy()
    metric = next(c for c in full.columns if c.startswith("metrics."))
    update[metric] = [0.25, float("nan")]
    update = update.drop(columns=[c for c in update.columns if c.startswith("tags.") and update[c].isna().all()])
    fast = http_runs._replace_rows(full, update, [])
    assert fast is not None
    slow = merge_runs(full.iloc[[i for i in range(len(full)) if i not in (1, 3)]].reset_index(drop=True), update)
    pd.testing.assert_frame_equal(fast, slow[fast.columns])
    assert fast[metric].iloc[1] == 0.25 and pd.isna(fast[metric].iloc[3])
