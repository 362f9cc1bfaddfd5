"""Every page survives every tracker fault with a message and a way on (issue 14, point 3).

Faults found on the landed app, each a traceback or a hang: a sqlite store locked EXCLUSIVE by another process,
overwritten with garbage, truncated, emptied or deleted mid-session; an MLflow server that stops answering
mid-session (accepts, never answers); a URL answering a web page (a login proxy) or carrying ``?token=``. Each
case here: a message, no traceback, last good data where there was some, and the page usable once the fault is
gone. Timeouts are shortened (the same code paths, sooner); one test keeps the app's own bounds.
"""
from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from lens_core.errors import (
    LensError,
    NotMlflowApiError,
    StoreBusyError,
    StoreDamagedError,
    TrackerFaultError,
    TrackerUnreachableError,
)
from lens_core.trackers import faults
from tests.conftest import forward

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
RUN_PAGE, INSIGHTS_PAGE = "pages/2_Run.py", "pages/4_Model_insights.py"
COMPARE_PAGE, HYPERPARAMS_PAGE = "pages/1_Compare.py", "pages/3_Hyperparameters.py"
PAGES = ("Home.py", RUN_PAGE, COMPARE_PAGE, HYPERPARAMS_PAGE, INSIGHTS_PAGE)
WEB_PAGE = "answered with a web page, not the MLflow API"


# ---- helpers ------------------------------------------------------------------------------------------------------
def shown(at: AppTest) -> str:
    kinds = ("error", "warning", "info", "caption", "markdown", "title")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def retry_buttons(at: AppTest) -> list[str]:
    return [str(b.key) for b in at.button if b.label == "Retry"]


def session(monkeypatch, uri: str, tracker=None) -> AppTest:
    """One browser session on Home (not yet run); ``tracker`` replaces the app's own, so a test can seed it."""
    from lens_core.ui import cache as cached

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    if tracker is not None:
        monkeypatch.setattr(cached, "shared_tracker", lambda _uri: tracker)
    return AppTest.from_file(HOME, default_timeout=60)


def visit(at: AppTest, page: str, **query: str) -> AppTest:
    at.switch_page(page)
    at.query_params.clear()
    at.query_params.update(query)
    return at.run()


def query_for(page: str, ids: dict[str, str], pair: list[str]) -> dict[str, str]:
    return {"Home.py": {"experiment": ids["main"]}, RUN_PAGE: {"run": ids["first_run"]},
            COMPARE_PAGE: {"runs": ",".join(pair)}, HYPERPARAMS_PAGE: {"experiment": ids["main"]},
            INSIGHTS_PAGE: {"run": ids["first_run"]}}[page]


# ---- sqlite store faults ------------------------------------------------------------------------------------------
_LOCK_HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA locking_mode=EXCLUSIVE")
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Another process holds the store EXCLUSIVE (as a long training-job write would) until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", _LOCK_HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


@contextlib.contextmanager
def store_fault(path: Path, fault: str) -> Iterator[None]:
    """The store file ``path`` locked, overwritten with garbage, truncated, emptied or deleted for the block, then
    put back as it was."""
    original = path.read_bytes()
    if fault == "locked":
        with exclusive_lock(path):
            yield
        return
    if fault == "garbage":
        path.write_bytes((b"\x13\x37 this is no database " * (len(original) // 24 + 1))[: len(original)])
    elif fault == "truncated":
        path.write_bytes(original[: len(original) // 3])
    elif fault == "emptied":
        path.write_bytes(b"")
    elif fault == "deleted":
        path.unlink()
    try:
        yield
    finally:
        path.write_bytes(original)


EXPECTED = {  # what the page must say the store is
    "locked": "is busy: a training job",
    "garbage": "is not a SQLite database any more",
    "truncated": "is truncated",
    "emptied": "is empty (0 bytes)",
    "deleted": "is no longer there",
}


@pytest.fixture()
def quick_busy(monkeypatch) -> None:
    """A locked store is reported after ~0.3 s instead of the app's ~10 s of busy waits and retries."""
    from lens_core.trackers import sqlite_io

    monkeypatch.setattr(sqlite_io, "READ_BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(sqlite_io, "READ_RETRY_PAUSES_S", (0.05,))


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_tracker_translates_store_faults(sqlite_copy, quick_busy, fault):
    """Every read says what the store is — in words, never SQL — and reads again once the fault is gone."""
    uri, ids = sqlite_copy
    tracker = open_tracker(uri)
    path = Path(tracker.db_path)
    tracker.experiments()
    with store_fault(path, fault):
        reads = {
            "experiments": tracker.experiments,
            "runs": lambda: (tracker.forget(), tracker.runs(ids["main"]))[1],
            "run": lambda: tracker.run(ids["first_run"]),
            "history": lambda: tracker.metric_history([ids["first_run"]], None),
            "artifacts": lambda: tracker.artifacts(ids["first_run"]),
        }
        for name, read in reads.items():
            with pytest.raises(LensError) as caught:
                read()
            expected_type = StoreBusyError if fault == "locked" else StoreDamagedError
            assert isinstance(caught.value, expected_type), (name, caught.value)
            message = str(caught.value)
            assert EXPECTED[fault] in message, (name, message)
            assert "SELECT" not in message and "FROM" not in message, message
    assert len(tracker.runs(ids["main"])) == 14  # the fault is gone: fresh data


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_every_page_survives_a_store_fault(monkeypatch, sqlite_copy, quick_busy, fault):
    """The session read the store, then the file fails: every page says what the store is, keeps the last good
    data it has (experiments, runs table, the run), offers Retry, and shows fresh data once the file is back."""
    uri, ids = sqlite_copy
    tracker = open_tracker(uri)
    path = Path(tracker.db_path)
    at = session(monkeypatch, uri, tracker)
    visit(at, "Home.py", experiment=ids["main"])
    no_traceback(at)
    assert len(at.dataframe[0].value) == 14 and not at.warning and not at.error
    pair = tracker.runs(ids["main"])["run_id"].tolist()[:2]
    visit(at, RUN_PAGE, run=ids["first_run"])  # the run, read once: last good data for the Run page
    no_traceback(at)
    assert not at.error

    with store_fault(path, fault):
        for page in PAGES:
            began = time.monotonic()
            visit(at, page, **query_for(page, ids, pair))
            no_traceback(at)
            messages = "\n".join(str(m.value) for m in (*at.error, *at.warning, *at.info))
            assert EXPECTED[fault] in messages, (page, shown(at))
            assert retry_buttons(at), (page, shown(at))
            assert "SELECT" not in messages, messages
            assert time.monotonic() - began < 20, page
            if page == "Home.py":  # the last table read, still browsable, labelled
                assert len(at.dataframe[0].value) == 14
            if page == RUN_PAGE:  # the run read earlier, with its header and tree
                assert at.title and at.title[0].value.startswith("run-00"), shown(at)

        visit(at, "Home.py", experiment=ids["main"])
        at.button(key=retry_buttons(at)[0]).click().run()  # Retry while the fault lasts: the same message
        no_traceback(at)
        assert EXPECTED[fault] in "\n".join(str(w.value) for w in (*at.warning, *at.error))

    at.button(key=retry_buttons(at)[0]).click().run()  # the file is back: Retry shows fresh data, no notice
    no_traceback(at)
    assert not at.warning and not at.error, shown(at)
    assert len(at.dataframe[0].value) == 14
    for page in (RUN_PAGE, COMPARE_PAGE):
        visit(at, page, **query_for(page, ids, pair))
        no_traceback(at)
        assert not at.error and not any("could not be read" in w.value for w in at.warning), (page, shown(at))


def test_compare_offers_retry_when_the_store_fails_before_anything_was_read(monkeypatch, sqlite_copy):
    """Compare opened cold on a damaged store: a message and Retry (it had none), then the page once repaired."""
    uri, ids = sqlite_copy
    tracker = open_tracker(uri)
    path = Path(tracker.db_path)
    pair = tracker.runs(ids["main"])["run_id"].tolist()[:2]
    tracker.forget()
    tracker._last_experiments = None  # nothing read before: no last good data
    at = session(monkeypatch, uri, tracker)
    with store_fault(path, "garbage"):
        visit(at, COMPARE_PAGE, runs=",".join(pair))
        no_traceback(at)
        assert at.error and EXPECTED["garbage"] in at.error[0].value, shown(at)
        assert retry_buttons(at)
    at.button(key=retry_buttons(at)[0]).click().run()
    no_traceback(at)
    assert not at.error, shown(at)
    assert at.title[0].value == "Compare runs" and at.dataframe  # the runs table of the comparison


# ---- HTTP: a server that hangs, a web page instead of the API -----------------------------------------------------
class _Switch(http.server.BaseHTTPRequestHandler):
    """``server.mode``: "ok" forwards to ``server.upstream`` (a real ``mlflow server``); "hang" accepts and never
    answers (until the test ends); "html" answers every request 200 with a login page, as an SSO proxy does."""

    protocol_version = "HTTP/1.0"

    def _handle(self) -> None:
        server = self.server
        mode = server.mode  # type: ignore[attr-defined]
        if mode == "hang":
            server.stopping.wait(120)  # type: ignore[attr-defined]
            return
        if mode == "html":
            status, kind = 200, "text/html; charset=utf-8"
            payload = b"<!doctype html><html><head><title>Sign in</title></head><body>Log in</body></html>"
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = forward(server.upstream, self.path, self.command, body)  # type: ignore[attr-defined]
            kind = "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass

    do_GET = do_POST = do_PATCH = do_DELETE = _handle

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def switch() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Switch)
    server.daemon_threads = True
    server.upstream, server.mode, server.stopping = "", "html", threading.Event()  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.stopping.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture()
def black_hole() -> Iterator[str]:
    """A socket that accepts connections (the kernel completes them) and never answers: a stopped process."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture()
def quick_http(monkeypatch) -> None:
    """A hung server is declared stale after ~1 s instead of the app's 5 (probe) and 15 (request) seconds."""
    from lens_core.trackers import mlflow_client

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setattr(mlflow_client, "ALIVE_TIMEOUT_SECONDS", 1)
    monkeypatch.setattr(mlflow_client, "PROBE_TIMEOUT_SECONDS", 1)


def test_html_answering_url_on_every_page(monkeypatch, switch):
    """A login proxy answering 200 with a web page: every page says so, never "stopped answering", no traceback."""
    switch.mode = "html"
    for page in PAGES:
        at = session(monkeypatch, switch.url)
        visit(at, page, run="0" * 32, runs="0" * 32, experiment="1")
        no_traceback(at)
        assert at.error and WEB_PAGE in at.error[0].value, (page, shown(at))
        assert "login proxy" in at.error[0].value and "stopped answering" not in shown(at)


def test_token_in_the_url_is_explained(monkeypatch, switch):
    switch.mode = "html"
    with pytest.raises(NotMlflowApiError, match="query string") as caught:
        open_tracker(switch.url + "/?token=s3cret")
    assert "s3cret" not in str(caught.value)
    at = session(monkeypatch, switch.url + "/?token=s3cret")
    visit(at, "Home.py")
    no_traceback(at)
    assert at.error and "query string" in at.error[0].value and "MLFLOW_TRACKING_TOKEN" in at.error[0].value
    assert "s3cret" not in shown(at)


def test_hung_server_from_the_start_fails_fast(monkeypatch, black_hole, quick_http):
    began = time.monotonic()
    with pytest.raises(TrackerUnreachableError, match="did not answer within"):
        open_tracker(black_hole)
    assert time.monotonic() - began < 5


def test_hung_server_within_the_apps_own_bound(monkeypatch, own_server):
    """With the app's own settings (no test shortcuts), a server that stops answering between two page runs is
    declared stale within ~15 s on Home (it took ~90 s), and the last table stays browsable."""
    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    server, ids = own_server
    tracker = open_tracker(server.url, ttl_seconds=0)
    at = session(monkeypatch, server.url, tracker)
    visit(at, "Home.py", experiment=ids["main"])
    no_traceback(at)
    assert len(at.dataframe[0].value) == 14
    server.mode = "hang"
    time.sleep(2.1)  # the server has been quiet for a while: the next read asks it first
    began = time.monotonic()
    at.run()
    took = time.monotonic() - began
    no_traceback(at)
    assert took < 15, took
    assert any("stopped answering" in w.value for w in at.warning), shown(at)
    assert len(at.dataframe[0].value) == 14


@pytest.fixture()
def own_server(switch, mlflow_server, sqlite_store) -> tuple[http.server.ThreadingHTTPServer, dict[str, str]]:
    """The switchable server in front of the session's real ``mlflow server``, forwarding."""
    switch.upstream, switch.mode = mlflow_server, "ok"
    return switch, sqlite_store[1]


@pytest.mark.parametrize("fault", ["hang", "html"])
def test_every_page_when_the_server_fails_mid_session(monkeypatch, quick_http, own_server, fault):
    """The session read a real server, which then hangs (accepts, never answers) or starts answering a login page:
    every page keeps what it read (stale notice with the reason, Retry) or says what is wrong, within seconds, and
    every page works again once the server is back."""
    server, ids = own_server
    tracker = open_tracker(server.url, ttl_seconds=0)
    at = session(monkeypatch, server.url, tracker)
    visit(at, "Home.py", experiment=ids["main"])
    no_traceback(at)
    assert len(at.dataframe[0].value) == 14 and not at.warning
    pair = tracker.runs(ids["main"])["run_id"].tolist()[:2]
    visit(at, RUN_PAGE, run=ids["first_run"])
    no_traceback(at)

    server.mode = fault
    expected = "stopped answering" if fault == "hang" else WEB_PAGE
    for page in PAGES:
        began = time.monotonic()
        visit(at, page, **query_for(page, ids, pair))
        took = time.monotonic() - began
        no_traceback(at)
        messages = "\n".join(str(m.value) for m in (*at.error, *at.warning))
        assert expected in messages, (page, shown(at))
        if fault == "html":
            assert "stopped answering" not in messages
        assert retry_buttons(at), page
        assert took < 12, (page, took)  # one short wait per page run, not one per request
        if page == RUN_PAGE:
            assert at.title and at.title[0].value.startswith("run-00"), shown(at)  # the run read before

    server.mode = "ok"
    for page in PAGES:
        visit(at, page, **query_for(page, ids, pair))
        no_traceback(at)
        assert not at.error and not any("could not be read" in w.value or "did not answer" in w.value
                                        for w in at.warning), (page, shown(at))


def test_compare_offers_retry_when_the_server_is_down(monkeypatch, quick_http, black_hole):
    tracker_uri = black_hole
    at = session(monkeypatch, tracker_uri)
    visit(at, COMPARE_PAGE, runs="a" * 32)
    no_traceback(at)
    assert at.error and "did not answer" in at.error[0].value
    assert retry_buttons(at)


# ---- the translation itself ---------------------------------------------------------------------------------------
def test_messages_never_carry_sql_or_unnamed_paths(sqlite_copy):
    import sqlite3

    uri, _ = sqlite_copy
    tracker = open_tracker(uri)
    raw = sqlite3.OperationalError("near \"FROM\": syntax error\nquery: SELECT * FROM /srv/secret/mlflow.db")
    message = str(faults.translate(raw, tracker, "reading the runs"))
    assert "SELECT" not in message and "/srv/secret" not in message
    odd = KeyError("/var/lib/server/private/file.txt is broken")
    message = str(faults.translate(odd, tracker, "reading the runs"))
    assert isinstance(faults.translate(odd, tracker), TrackerFaultError)
    assert "/var/lib/server" not in message and "KeyError" in message


def test_a_page_run_waits_for_a_slow_fault_once(sqlite_copy):
    """Within one page run, a tracker that failed slowly fails again at once; the next page run tries again."""
    uri, ids = sqlite_copy
    tracker = open_tracker(uri)
    calls = []

    def hanging() -> list:
        calls.append(1)
        raise TimeoutError("timed out")

    tracker.experiments()
    tracker.__dict__["_load_runs"] = lambda experiment_id: hanging()
    tracker.forget()
    with faults.page_run() as run:
        with pytest.raises(TrackerUnreachableError):
            tracker.runs(ids["main"])
        with pytest.raises(TrackerUnreachableError):
            tracker.runs(ids["contract"])
        assert len(calls) == 1 and not run.stale
    with faults.page_run(), pytest.raises(TrackerUnreachableError):
        tracker.runs(ids["main"])
    assert len(calls) == 2


def test_run_falls_back_to_the_last_good_detail(sqlite_copy):
    uri, ids = sqlite_copy
    tracker = open_tracker(uri)
    good = tracker.run(ids["first_run"])
    path = Path(tracker.db_path)
    with store_fault(path, "deleted"), faults.page_run() as run:
        assert tracker.run(ids["first_run"]) == good
        assert run.stale and "is no longer there" in run.stale[0]
        with pytest.raises(StoreDamagedError):
            tracker.run(ids["running_run"])  # never read: nothing to fall back on
