"""Shared fixtures: small, real MLflow stores written by MLflow's own client, and an `mlflow server`."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 reads mlruns folders only with this

from tests.stores import log_reference_runs  # noqa: E402


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Artifact cache and store copies go to a temp folder, never the user's ~/.cache."""
    monkeypatch.setenv("LENS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "lens-cache"))


@contextlib.contextmanager
def tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the block (mlflow.search_runs has no uri argument)."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A small sqlite store logged by MLflow itself: (uri, {"main": id, "empty": id})."""
    root = tmp_path_factory.mktemp("sqlite-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    ids = log_reference_runs(uri, root / "artifacts")
    return uri, ids


@pytest.fixture()
def sqlite_copy(sqlite_store: tuple[str, dict[str, str]], tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A private copy of the sqlite store for tests that write."""
    uri, ids = sqlite_store
    src = Path(uri.removeprefix("sqlite:///"))
    shutil.copy(src, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}", ids


@pytest.fixture(scope="session")
def mlruns_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The same runs in an mlruns folder written by MLflow's file store."""
    root = tmp_path_factory.mktemp("mlruns-store") / "mlruns"
    ids = log_reference_runs(root.as_uri(), None)
    return root, ids


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[object]:
    """A private PostgreSQL cluster (tests/postgres.py) for the session; skipped only where the server binaries
    are missing and this is not CI (CI installs Debian's postgresql)."""
    from tests.postgres import bin_dir, running_cluster

    if bin_dir() is None:
        reason = "PostgreSQL's initdb / pg_ctl are not installed (Debian: apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_store(postgres_cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The reference runs logged by MLflow itself into PostgreSQL: (uri, ids), as sqlite_store."""
    from tests.postgres import grant_reader

    uri = postgres_cluster.uri()
    ids = log_reference_runs(uri, tmp_path_factory.mktemp("postgres-store") / "artifacts")
    grant_reader(postgres_cluster)
    return uri, ids


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The embedded demo store, built once per test session through ``ensure_demo_store`` as the app does."""
    import mlflow

    from lens_core import demo

    folder = tmp_path_factory.mktemp("demo") / "store"
    calls: list[tuple[float, str]] = []
    global_before = (mlflow.get_tracking_uri(), mlflow.active_run())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LENS_DEMO_DIR", str(folder))
        began = time.perf_counter()
        uri = demo.ensure_demo_store(lambda fraction, message: calls.append((fraction, message)))
        seconds = time.perf_counter() - began
    return {"uri": uri, "folder": folder, "calls": calls, "seconds": seconds,
            "global_before": global_before, "global_after": (mlflow.get_tracking_uri(), mlflow.active_run())}


def forward(upstream: str, path: str, method: str, body: bytes) -> tuple[int, bytes]:
    """A test proxy's request passed on to the real server: its status and body (error statuses included)."""
    request = urllib.request.Request(upstream + path, data=body or None, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_mlflow(db: Path) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1 over the sqlite file ``db`` (artifacts beside it); yields its URL and
    stops it on exit."""
    root = db.parent
    port = free_port()
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
         "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"mlflow server did not start:\n{(root / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="session")
def mlflow_server(sqlite_store: tuple[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1 serving a copy of the sqlite store; yields its URL."""
    root = tmp_path_factory.mktemp("server")
    shutil.copy(sqlite_store[0].removeprefix("sqlite:///"), root / "mlflow.db")
    with serve_mlflow(root / "mlflow.db") as url:
        yield url


@pytest.fixture(scope="session")
def odd_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """Issue 17's oddities (tests/odd_store.py): (uri, {"odd": id, "grid": id})."""
    from tests.odd_store import log_odd_runs

    uri = f"sqlite:///{tmp_path_factory.mktemp('odd-store') / 'mlflow.db'}"
    return uri, log_odd_runs(uri)
