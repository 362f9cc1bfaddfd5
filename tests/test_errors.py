"""Every bad input gets its own exception with a message that says what to do."""
from __future__ import annotations

import http.server
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest

from lens_core import (
    ArtifactNotFoundError,
    ExperimentNotFoundError,
    RunNotFoundError,
    TrackerAuthError,
    TrackerNotFoundError,
    TrackerUnreachableError,
    UnknownTrackerSchemeError,
    open_tracker,
)
from tests.conftest import free_port


def test_unknown_scheme():
    with pytest.raises(UnknownTrackerSchemeError, match="unknown scheme 'ftp'.*sqlite:"):
        open_tracker("ftp://example.org/mlflow")


def test_missing_sqlite_file(tmp_path):
    with pytest.raises(TrackerNotFoundError, match="No MLflow database"):
        open_tracker(f"sqlite:///{tmp_path / 'nope.db'}")


def test_missing_folder(tmp_path):
    with pytest.raises(TrackerNotFoundError, match="Nothing at"):
        open_tracker(str(tmp_path / "missing-mlruns"))


def test_folder_without_experiments(tmp_path):
    (tmp_path / "random").mkdir()
    with pytest.raises(TrackerNotFoundError, match="no MLflow experiments"):
        open_tracker(str(tmp_path))


@pytest.mark.parametrize("content", [b"not a database at all", None])
def test_file_that_is_not_an_mlflow_store(tmp_path, content):
    path = tmp_path / "store.db"
    if content is None:
        sqlite3.connect(path).execute("CREATE TABLE other (x)").connection.close()
    else:
        path.write_bytes(content * 100)
    with pytest.raises(TrackerNotFoundError, match="not an MLflow tracking database"):
        open_tracker(f"sqlite:///{path}")


def test_unreachable_server_fails_fast():
    started = time.monotonic()
    with pytest.raises(TrackerUnreachableError, match="did not answer"):
        open_tracker(f"http://127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 30  # not MLflow's default minutes of retries


class _FixedStatus(http.server.BaseHTTPRequestHandler):
    status = 401

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error_code": "UNAUTHENTICATED"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def fixed_status_server(request) -> Iterator[str]:
    handler = type("Handler", (_FixedStatus,), {"status": request.param})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("fixed_status_server", [401, 403], indirect=True)
def test_refused_credentials(fixed_status_server):
    with pytest.raises(TrackerAuthError, match="MLFLOW_TRACKING_USERNAME"):
        open_tracker(fixed_status_server)


@pytest.mark.parametrize("fixed_status_server", [404], indirect=True)
def test_server_that_is_not_mlflow(fixed_status_server):
    with pytest.raises(TrackerNotFoundError, match="not an MLflow tracking server"):
        open_tracker(fixed_status_server)


@pytest.mark.parametrize("kind", ["sqlite", "client", "mlruns"])
def test_unknown_experiment_and_run(kind, sqlite_store, mlruns_store):
    uri, _ = sqlite_store
    tracker = {
        "sqlite": lambda: open_tracker(uri),
        "client": lambda: open_tracker(uri, mode="client"),
        "mlruns": lambda: open_tracker(mlruns_store[0]),
    }[kind]()
    for bad in ("987654", "not-an-id"):
        with pytest.raises(ExperimentNotFoundError, match="No active experiment"):
            tracker.runs(bad)
    with pytest.raises(RunNotFoundError, match="No run with id|not a run id"):
        tracker.run("f" * 32)
    with pytest.raises(RunNotFoundError):
        tracker.artifacts("f" * 32)


def test_missing_artifact(sqlite_store):
    uri, ids = sqlite_store
    with pytest.raises(ArtifactNotFoundError, match="has no artifact"):
        open_tracker(uri).fetch_artifact(ids["first_run"], "notes/missing.txt")
    with pytest.raises(ArtifactNotFoundError, match="leaves the run's artifact folder"):
        open_tracker(uri).fetch_artifact(ids["first_run"], "../../mlflow.db")
