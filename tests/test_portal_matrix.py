"""The team-portal bad-input and fault matrix at page level (issue 10), beside tests/test_bad_inputs.py: models the
app cannot load, a 10M-row dataset, a 50k-run experiment, a slow or failing tracker, refused credentials, two
sessions side by side, runs without params or metrics, and awkward datasets. Each case: a clear message on the
page, no traceback, and nothing written to the store or its artifacts."""
from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from tests.conftest import forward

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
RUN_PAGE, INSIGHTS_PAGE = "pages/2_Run.py", "pages/4_Model_insights.py"
COMPARE_PAGE, HYPERPARAMS_PAGE = "pages/1_Compare.py", "pages/3_Hyperparameters.py"


# ---- helpers ------------------------------------------------------------------------------------------------------
def app(monkeypatch, uri: str, script: str | None = None, *, timeout: float = 90, **query: str) -> AppTest:
    """An AppTest on ``script`` (Home when None) with the tracker at ``uri``, not yet run."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=timeout)
    if script is not None:
        at.switch_page(script)
    at.query_params.update(query)
    return at


def shown(at: AppTest) -> str:
    """Every message, caption and markdown text on the page."""
    kinds = ("error", "warning", "info", "success", "caption", "markdown", "title", "subheader")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def snapshot(*roots: Path, hash_below: int = 8 * 1024**2) -> dict[str, tuple]:
    """Every file under ``roots``: size, mtime and (below ``hash_below`` bytes) a sha256 of its content. Equal
    snapshots before and after a page run mean nothing was written, created or removed there."""
    out: dict[str, tuple] = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*"))
        for path in files:
            stat = path.stat()
            if path.is_dir():
                out[str(path)] = ("dir",)
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.st_size < hash_below else ""
            out[str(path)] = (stat.st_size, stat.st_mtime_ns, digest)
    return out


def button_labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


@pytest.fixture()
def own_cache(tmp_path, monkeypatch) -> Path:
    """A cache folder of the test's own, outside the store, so the store snapshot sees only the store."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LENS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def matrix_store(tmp_path_factory) -> tuple[str, Path]:
    """One sqlite store for this module's read-only cases (MLflow's schema migrations cost seconds per store):
    (uri, folder holding the db and every artifact). Fixtures add their own experiment to it."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("matrix") / "store"
    root.mkdir()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()  # creates the schema
    return uri, root


def new_experiment(store: tuple[str, Path], name: str) -> tuple[str, str, Path]:
    """A new experiment in the module's store: (uri, experiment id, store folder)."""
    from mlflow import MlflowClient

    uri, root = store
    location = (root / "artifacts" / hashlib.sha1(name.encode()).hexdigest()[:8]).as_uri()
    return uri, MlflowClient(tracking_uri=uri).create_experiment(name, artifact_location=location), root


# ---- 1. models the app cannot load -------------------------------------------------------------------------------
H2O_MLMODEL = """\
artifact_path: model
flavors:
  h2o:
    data: model.h2o
    h2o_version: 3.46.0.1
model_uuid: 0f0e0d0c0b0a09080706050403020100
mlflow_version: 3.17.2
"""
MISSING_LOADER_MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    loader_module: lens_no_such_loader_module
    python_version: 3.11.7
  lens_no_such_loader_module:
    code: null
mlflow_version: 3.17.2
"""


@pytest.fixture(scope="module")
def unloadable_models(tmp_path_factory, matrix_store) -> tuple[str, dict[str, str], Path]:
    """Runs with test data and a model the app cannot load: an MLflow 3 logged model whose only flavor is h2o
    ("h2o"), and an MLflow 2 style model folder whose pyfunc loader module is not installed ("loader")."""
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput

    tmp_path = tmp_path_factory.mktemp("unloadable")
    uri, experiment_id, root = new_experiment(matrix_store, "unloadable models")
    client = MlflowClient(tracking_uri=uri)
    split = tmp_path / "split"
    split.mkdir()
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)}).to_csv(split / "X_test.csv", index=False)
    pd.DataFrame({"target": rng.integers(0, 2, 30)}).to_csv(split / "Y_test.csv", index=False)
    runs = {}
    for kind, mlmodel in (("h2o", H2O_MLMODEL), ("loader", MISSING_LOADER_MLMODEL)):
        run_id = client.create_run(experiment_id, run_name=f"unloadable-{kind}").info.run_id
        model = tmp_path / f"model-{kind}"
        model.mkdir()
        (model / "MLmodel").write_text(mlmodel)
        (model / "model.h2o").write_bytes(b"\x00not a real model")
        if kind == "h2o":
            logged = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
            client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
            client.log_model_artifacts(logged.model_id, str(model))
        else:
            client.log_artifacts(run_id, str(model), "model")
        client.log_artifacts(run_id, str(split), "explainability")
        client.log_param(run_id, "family", kind)
        client.set_terminated(run_id)
        runs[kind] = run_id
    return uri, runs, root


@pytest.mark.parametrize(("kind", "words"), [("h2o", "h2o"), ("loader", "lens_no_such_loader_module")])
def test_unsupported_model_flavor(monkeypatch, own_cache, unloadable_models, kind, words):
    uri, runs, root = unloadable_models
    before = snapshot(root)
    at = app(monkeypatch, uri, INSIGHTS_PAGE, run=runs[kind]).run()
    no_traceback(at)
    messages = " ".join(w.value for w in at.warning) + " ".join(e.value for e in at.error)
    assert words in messages, shown(at)
    assert "could not be loaded" in messages or "pip install" in messages or "cannot load" in messages

    at = app(monkeypatch, uri, RUN_PAGE, run=runs[kind]).run()
    no_traceback(at)
    assert words in shown(at), shown(at)  # the run page says it too, before anyone opens the insights page
    assert snapshot(root) == before


# ---- 4 and 5. a slow tracker, one that stops answering, refused credentials ----------------------------------------
class _Proxy(http.server.BaseHTTPRequestHandler):
    """Forwards to ``server.upstream`` while ``server.mode`` is "ok"; "hang" holds every request for
    ``server.hang_seconds`` before answering 503; a number answers that HTTP status (401, 403, …)."""

    protocol_version = "HTTP/1.0"

    def _handle(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.requests += 1  # type: ignore[attr-defined]
        mode = server.mode  # type: ignore[attr-defined]
        if mode == "hang":
            server.stopping.wait(server.hang_seconds)  # type: ignore[attr-defined]
            mode = 503
        if mode == "ok":
            status, payload = forward(server.upstream, self.path, self.command, body)  # type: ignore[attr-defined]
        else:
            status = int(mode)
            payload = b'{"error_code": "%s", "message": "proxy says %d"}' % (
                b"UNAUTHENTICATED" if status == 401 else b"PERMISSION_DENIED" if status == 403 else b"INTERNAL_ERROR",
                status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up waiting
            pass

    do_GET = do_POST = do_PATCH = do_DELETE = _handle

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def proxy(request) -> Iterator[http.server.ThreadingHTTPServer]:
    """A tracking server on 127.0.0.1 whose behaviour a test switches: forwarding to the session's
    ``mlflow server`` ("ok", needs that fixture), hanging ("hang"), or refusing (401 / 403)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.daemon_threads = True
    server.upstream, server.mode, server.hang_seconds = "", "hang", 30.0  # type: ignore[attr-defined]
    server.requests, server.stopping = 0, threading.Event()  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture()
def quick_http(monkeypatch) -> None:
    """MLflow's HTTP client as a page should use it against a slow server: a short timeout and no retries."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")


def test_slow_tracker_times_out_with_a_message_and_retry(monkeypatch, own_cache, proxy):
    from lens_core.trackers import mlflow_client

    monkeypatch.setattr(mlflow_client, "PROBE_TIMEOUT_SECONDS", 2)  # 5 s in the app: the same path, sooner
    PROBE_TIMEOUT_SECONDS = mlflow_client.PROBE_TIMEOUT_SECONDS
    began = time.monotonic()
    at = app(monkeypatch, proxy.url).run()
    took = time.monotonic() - began
    no_traceback(at)
    assert took < PROBE_TIMEOUT_SECONDS + 15  # the probe's timeout, not MLflow's minutes of retries
    assert "did not answer within" in at.error[0].value and "Cannot open the tracker" in at.error[0].value
    assert "Retry" in button_labels(at)
    proxy.hang_seconds = 0.0  # the server recovers …
    proxy.mode = 503
    at.button(key=next(b.key for b in at.button if b.label == "Retry")).click().run()
    no_traceback(at)
    assert at.error  # … into another failure: still a message, never a traceback


def _retry(at: AppTest) -> AppTest:
    return at.button(key=next(b.key for b in at.button if b.label == "Retry")).click().run()


@pytest.mark.parametrize("failure", ["hang", 503, 401, 403])
def test_tracker_that_stops_answering_keeps_cached_runs_browsable(monkeypatch, own_cache, quick_http, proxy,
                                                                 mlflow_server, sqlite_store, failure):
    from lens_core.ui import cache as cached

    _, ids = sqlite_store
    proxy.upstream, proxy.mode, proxy.hang_seconds = mlflow_server, "ok", 8.0
    tracker = open_tracker(proxy.url, ttl_seconds=0)  # every page run asks the server again
    monkeypatch.setattr(cached, "shared_tracker", lambda uri: tracker)
    at = app(monkeypatch, proxy.url, experiment=ids["main"]).run()
    no_traceback(at)
    assert len(at.dataframe[0].value) == 14 and not at.warning

    proxy.mode = failure  # the server hangs, fails, or starts refusing the credentials
    began = time.monotonic()
    at.run()
    took = time.monotonic() - began
    no_traceback(at)
    assert took < 30, took  # the request timeout (1 s here), a few requests, no retry storm
    warnings = "\n".join(w.value for w in at.warning)
    assert "Showing runs as of" in warnings and "the tracker did not answer" in warnings, warnings
    assert len(at.warning) == 1 and button_labels(at).count("Retry") == 1  # one notice, with its age, one retry
    expected = {"hang": "stopped answering", 503: "503", 401: "HTTP 401", 403: "HTTP 403"}[failure]
    assert expected in warnings, warnings
    assert len(at.dataframe[0].value) == 14  # the last table read, still browsable …
    assert any("last ones read" in c.value for c in at.caption)  # … and labelled as such
    assert "Retry" in button_labels(at)

    at.query_params["run"] = ids["first_run"]
    at.switch_page(RUN_PAGE).run()  # a page that needs the server now
    no_traceback(at)
    assert at.error and ("stopped answering" if failure in ("hang", 503) else expected) in at.error[0].value
    if failure in ("hang", 503):
        assert "Retry" in button_labels(at)

    proxy.mode = "ok"  # the server is back: retry brings fresh data, and the warnings go
    at.switch_page("Home.py")
    at.query_params.clear()
    at.query_params["experiment"] = ids["main"]
    at.run()
    no_traceback(at)
    assert not at.warning and len(at.dataframe[0].value) == 14


@pytest.mark.parametrize("script", [HYPERPARAMS_PAGE, COMPARE_PAGE])
def test_other_pages_when_the_tracker_stops_answering(monkeypatch, own_cache, quick_http, proxy, mlflow_server,
                                                      sqlite_store, script):
    from lens_core.ui import cache as cached

    _, ids = sqlite_store
    proxy.upstream, proxy.mode, proxy.hang_seconds = mlflow_server, "ok", 8.0
    tracker = open_tracker(proxy.url, ttl_seconds=0)
    monkeypatch.setattr(cached, "shared_tracker", lambda uri: tracker)
    first_two = open_tracker(sqlite_store[0]).runs(ids["main"])["run_id"].tolist()[:2]
    at = app(monkeypatch, proxy.url, script, experiment=ids["main"], runs=",".join(first_two)).run()
    no_traceback(at)
    assert not any("did not answer" in w.value for w in at.warning), shown(at)
    proxy.mode = "hang"
    at.run()
    no_traceback(at)
    assert any("did not answer" in w.value for w in at.warning), shown(at)
    assert "Retry" in button_labels(at)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_on_every_page(monkeypatch, own_cache, proxy, status):
    proxy.mode = status
    for script in (None, RUN_PAGE, INSIGHTS_PAGE, HYPERPARAMS_PAGE, COMPARE_PAGE):
        at = app(monkeypatch, proxy.url, script, timeout=60).run()
        no_traceback(at)
        assert at.error, script
        message = at.error[0].value
        assert f"refused access (HTTP {status})" in message and "MLFLOW_TRACKING_USERNAME" in message, message
        assert "Retry" not in button_labels(at)  # new credentials need a restart, not a retry
        assert not at.dataframe and not at.metric


# ---- 2. a 10,000,000-row dataset ----------------------------------------------------------------------------------
BIG_ROWS = 10_000_000


@pytest.fixture(scope="module")
def big_dataset(matrix_store) -> tuple[str, str, Path]:
    """A run whose artifact data/big.parquet holds 10M rows (numbers, categories, lat / lon, a timestamp), written
    by DuckDB straight into the run's artifact folder: (uri, run id, store folder)."""
    import duckdb
    from mlflow import MlflowClient

    from lens_core.paths import local_path_from_uri

    uri, experiment_id, root = new_experiment(matrix_store, "ten million rows")
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(experiment_id, run_name="big data")
    client.log_param(run.info.run_id, "rows", str(BIG_ROWS))
    client.set_terminated(run.info.run_id)
    folder = local_path_from_uri(run.info.artifact_uri) / "data"
    folder.mkdir(parents=True)
    target = str(folder / "big.parquet").replace("'", "''")
    duckdb.sql(f"""COPY (SELECT i AS id,
        (i % 1000) / 10.0 + ((i * 7919) % 1000) / 1000.0 AS value,
        ((i * 104729) % 100000) / 1000.0 AS speed,
        ['car', 'bus', 'bike', 'truck', 'tram'][(i % 5) + 1] AS kind,
        'v' || (i % 200)::VARCHAR AS vehicle,
        45.0 + ((i * 7901) % 100000) / 1e6 AS lat,
        7.0 + ((i * 6247) % 100000) / 1e6 AS lon,
        TIMESTAMP '2025-01-01' + to_seconds(i) AS ts
      FROM range({BIG_ROWS}) t(i)) TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    return uri, run.info.run_id, root


def _radio(at: AppTest, suffix: str):
    return next(r for r in at.radio if str(r.key).endswith(suffix))


def test_ten_million_rows_in_the_explorer(monkeypatch, own_cache, big_dataset):
    uri, run_id, root = big_dataset
    before = snapshot(root)
    began = time.monotonic()
    at = app(monkeypatch, uri, RUN_PAGE, timeout=240, run=run_id, item="artifact:data/big.parquet").run()
    first = time.monotonic() - began
    no_traceback(at)
    assert not at.error and not at.warning, shown(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "10,000,000 rows · 8 columns · page 1 of 200,000" in captions  # a page of rows, with the total
    assert "local copy" in captions  # a big file is copied for faster queries, and the page says so
    assert at.dataframe[0].value.shape == (50, 8)

    _radio(at, ".view").set_value("Chart").run()
    _radio(at, ".chart").set_value("Scatter").run()
    no_traceback(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "sample of 5,000 of" in captions and "10,000,000 rows" in captions, captions  # capped, and said so
    rows = sum(_arrow_rows(ds.data.data) for ds in at.get("vega_lite_chart")[0].proto.datasets)
    assert 0 < rows <= 5_000

    _radio(at, ".view").set_value("Map").run()
    no_traceback(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "sample of 10,000 of" in captions and "10,000 points sent to the browser" in captions, captions
    total = time.monotonic() - began
    print(f"10M rows: first render {first:.1f} s, table + scatter + map {total:.1f} s")
    assert snapshot(root) == before  # the store and the 10M-row artifact are untouched


def _arrow_rows(payload: bytes) -> int:
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all().num_rows


# ---- 3. an experiment with 50,000 runs ----------------------------------------------------------------------------
FIFTY_K = 50_000


@pytest.fixture(scope="module")
def fifty_k_runs(tmp_path_factory) -> tuple[str, Path, float]:
    """One experiment of 50,000 active runs (51,020 generated, 2 % of them deleted), with 10 params, 5 metrics and
    one history point per metric: MLflow's schema, rows bulk-inserted by benchmarks/generate_store.py, without the
    ~70k small artifact files the generator also writes (Home never reads artifacts). The default shape (30 params,
    15 metrics, 5 steps, artifacts) took ~65 s and 1.3 GB on 2 cores; this one ~13-17 s and 230 MB."""
    import benchmarks.generate_store as generator

    folder = tmp_path_factory.mktemp("fifty-k")
    began = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator, "_write_artifacts", lambda *args, **kwargs: None)
        uri = generator.generate_sqlite_store(
            folder / "mlflow.db", generator.StoreSpec(n_runs=51_020, n_params=10, n_metrics=5, n_steps=1))
    return uri, folder, time.monotonic() - began


def test_home_on_an_experiment_with_fifty_thousand_runs(monkeypatch, own_cache, fifty_k_runs):
    uri, folder, generated = fifty_k_runs
    def fingerprint() -> dict[str, tuple]:  # the database by content, anything beside it by size and mtime
        return snapshot(folder, hash_below=0) | snapshot(folder / "mlflow.db", hash_below=2 * 1024**3)

    before = fingerprint()
    began = time.monotonic()
    at = app(monkeypatch, uri, timeout=180).run()
    took = time.monotonic() - began
    no_traceback(at)
    assert not at.error and not at.warning, shown(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == f"{FIFTY_K:,}"
    assert len(at.dataframe[0].value) == FIFTY_K
    assert f"Showing 2,000 of {FIFTY_K:,} runs" in "\n".join(c.value for c in at.caption)  # parcoords is sampled
    began = time.monotonic()
    at.run()  # a rerun is served from the catalog
    rerun = time.monotonic() - began
    no_traceback(at)
    print(f"50k runs: generated in {generated:.1f} s, Home {took:.1f} s, rerun {rerun:.1f} s")
    assert fingerprint() == before


# ---- 6. two sessions side by side ---------------------------------------------------------------------------------
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "lens",
        "client_secret": "secret", "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"}
ANN = {"is_logged_in": True, "email": "ann@example.com", "name": "Ann"}
BOB = {"is_logged_in": True, "email": "bob@example.com", "name": "Bob"}
EVE = {"is_logged_in": True, "email": "eve@elsewhere.org", "name": "Eve"}


def session(monkeypatch, uri: str, user: dict | None, script: str | None = None, **query: str) -> AppTest:
    """One browser session of the portal: login configured, ``user`` signed in (None: nobody)."""
    at = app(monkeypatch, uri, script, timeout=60, **query)
    at.secrets["auth"] = AUTH
    at.secrets["lens"] = {"allowed_emails": ["ann@example.com"], "allowed_domains": ["example.com"]}
    at.user = dict(user) if user is not None else {"is_logged_in": False}
    return at


def test_two_sessions_share_stored_ratings_and_nothing_else(monkeypatch, own_cache, sqlite_copy):
    uri, ids = sqlite_copy
    rid = ids["first_run"]
    runs = open_tracker(uri).runs(ids["main"])
    picked = runs["run_id"].tolist()[2:5]
    a = session(monkeypatch, uri, ANN, RUN_PAGE, run=rid).run()
    b = session(monkeypatch, uri, BOB, RUN_PAGE, run=rid).run()
    for at, name in ((a, "Ann"), (b, "Bob")):
        no_traceback(at)
        assert f"Rating as **{name} <" in shown(at)
        assert at.feedback[0].value is None and at.text_area[0].value == ""

    a.feedback[0].set_value(3).run()  # Ann: four stars and a note
    a.text_area[0].input("Ann's note: 'quotes'; DROP TABLE tags; --").run()
    no_traceback(a)
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.rating"] == "4" and tags["lens.rated_by"] == "Ann <ann@example.com>"
    assert tags["lens.note"] == "Ann's note: 'quotes'; DROP TABLE tags; --"

    b.run()  # Bob's open page: his own identity and form state, none of Ann's session
    no_traceback(b)
    assert "Rating as **Bob <" in shown(b) and "Rating as **Ann" not in shown(b)
    assert b.text_area[0].value == "" and b.feedback[0].value is None  # his own (empty) form, not Ann's input
    assert "lens.saved_message" not in b.session_state

    reloaded = session(monkeypatch, uri, BOB, RUN_PAGE, run=rid).run()  # Bob reloads: the stored tags show
    no_traceback(reloaded)
    assert reloaded.feedback[0].value == 3 and reloaded.text_area[0].value == tags["lens.note"]
    assert "Last rated by Ann <ann@example.com>" in shown(reloaded) and "Rating as **Bob <" in shown(reloaded)

    reloaded.feedback[0].set_value(1).run()  # Bob re-rates: his name, Ann's note kept
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.rating"] == "2" and tags["lens.rated_by"] == "Bob <bob@example.com>"
    assert tags["lens.note"] == "Ann's note: 'quotes'; DROP TABLE tags; --"
    a.run()
    assert "Rating as **Ann <" in shown(a)

    # run selections stay in their session: Ann's selection opens her comparison, Bob's comparison is empty
    a.session_state["lens.selected_runs"] = picked
    a.switch_page(COMPARE_PAGE)
    a.query_params.clear()
    a.run()
    b.switch_page(COMPARE_PAGE)
    b.query_params.clear()
    b.run()
    no_traceback(a)
    no_traceback(b)
    assert a.query_params["runs"] == ",".join(picked)
    assert "runs" not in b.query_params and "lens.selected_runs" not in b.session_state
    assert any("No runs to compare" in i.value for i in b.info), shown(b)


def test_a_page_opened_before_someone_rated_does_not_undo_their_rating(monkeypatch, own_cache, sqlite_copy):
    uri, ids = sqlite_copy
    rid = ids["first_run"]
    a = session(monkeypatch, uri, ANN, RUN_PAGE, run=rid).run()
    b = session(monkeypatch, uri, BOB, RUN_PAGE, run=rid).run()  # Bob's page is open before Ann rates
    a.feedback[0].set_value(4).run()
    a.text_area[0].input("Ann: best so far").run()
    b.text_area[0].input("Bob: agreed").run()  # Bob writes a note on his older page and never touches the stars
    no_traceback(b)
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.note"] == "Bob: agreed" and tags["lens.rated_by"] == "Bob <bob@example.com>"
    assert tags["lens.rating"] == "5"  # Ann's five stars stay
    c = session(monkeypatch, uri, EVE | {"email": "cy@example.com", "name": "Cy"}, RUN_PAGE, run=rid).run()
    a.feedback[0].set_value(1).run()  # Ann changes her stars; Cy, on an older page, rates: Bob's note stays
    c.feedback[0].set_value(2).run()
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.rating"] == "3" and tags["lens.note"] == "Bob: agreed" and tags["lens.rated_by"].startswith("Cy")


def test_login_and_allow_list_are_checked_per_session(monkeypatch, own_cache, sqlite_store):
    uri, ids = sqlite_store
    for _ in range(2):  # interleaved, so a cached answer for one session would show in the next
        for user, allowed in ((ANN, True), (EVE, False), (None, False), (BOB, True)):
            at = session(monkeypatch, uri, user, experiment=ids["main"]).run()
            no_traceback(at)
            if allowed:
                assert len(at.dataframe[0].value) == 14 and not at.error
            else:
                assert not at.dataframe and not at.metric
                if user is None:
                    assert button_labels(at) == ["Log in"]
                else:
                    assert "eve@elsewhere.org is not on this portal's allow-list" in at.error[0].value
    for user, allowed in ((EVE, False), (ANN, True)):  # a page other than Home, straight from a link
        at = session(monkeypatch, uri, user, RUN_PAGE, run=ids["first_run"]).run()
        no_traceback(at)
        assert bool(at.feedback) is allowed and ("allow-list" in shown(at)) is not allowed


# ---- 7. runs without params or metrics; all-NaN, 1,000-column and awkwardly named data ------------------------------
NASTY = 'na"me\'; DROP TABLE runs; --'  # a column name in a data file
ODD_PARAM = "select: DROP TABLE runs -- größe/学习"  # MLflow's client refuses quotes and ';' in names


@pytest.fixture(scope="module")
def awkward_store(tmp_path_factory, matrix_store) -> tuple[str, dict[str, str], Path]:
    """Bare runs (no params, metrics, tags or artifacts), runs whose params, tags and values are unicode, quoted
    and SQL-like, and a run with awkward table artifacts: all-NaN columns, 1,000 columns, nasty names."""
    from mlflow import MlflowClient
    from mlflow.entities import Param, RunTag

    tmp = tmp_path_factory.mktemp("awkward")
    uri, bare, root = new_experiment(matrix_store, "bare runs")
    client = MlflowClient(tracking_uri=uri)
    ids = {"bare_experiment": bare}
    for name in ("bare-a", "bare-b"):
        ids[name] = client.create_run(bare, run_name=name).info.run_id
        client.set_terminated(ids[name])
    odd = client.create_experiment("odd names ü \"q\"", artifact_location=(root / "odd").as_uri())
    ids["odd_experiment"] = odd
    values = ["it's", 'say "hi"', "ünï ✓ 学习", "'; DELETE FROM tags; --"]
    for i in range(8):
        run_id = client.create_run(odd, run_name=f"odd-{i} ✓").info.run_id
        client.log_batch(run_id, params=[Param(ODD_PARAM, values[i % 4]), Param("größe", str(i))],
                         tags=[RunTag("notiz: x", values[(i + 1) % 4])])
        client.log_metric(run_id, "loss/π", 1.0 / (i + 1))
        client.set_terminated(run_id)
        ids.setdefault("odd_run", run_id)
    rng = np.random.default_rng(3)
    files = tmp / "files"
    files.mkdir()
    n = 200
    pd.DataFrame({"all_nan": [np.nan] * n, "all_none_text": pd.Series([None] * n, dtype="object"),
                  "x": rng.normal(size=n), "when": pd.date_range("2025-01-01", periods=n, freq="h")}
                 ).to_parquet(files / "nan.parquet")
    wide = pd.DataFrame(rng.normal(size=(n, 1000)), columns=[f"c{i:04d}" for i in range(1000)])
    wide.to_parquet(files / "wide.parquet")
    pd.DataFrame({NASTY: rng.choice(values, n), "with space": rng.normal(size=n), "ünï ✓": rng.integers(0, 5, n),
                  "pickup_lat": 40.7 + rng.normal(0, 0.02, n), "pickup_lng": -74 + rng.normal(0, 0.02, n)}
                 ).to_csv(files / "awk'ward \"name\".csv", index=False)
    ids["data_run"] = client.create_run(odd, run_name="data").info.run_id
    client.log_artifacts(ids["data_run"], str(files), "data")
    client.set_terminated(ids["data_run"])
    return uri, ids, root


@pytest.mark.parametrize("script", [RUN_PAGE, INSIGHTS_PAGE, HYPERPARAMS_PAGE, COMPARE_PAGE, None])
def test_runs_without_params_or_metrics_on_every_page(monkeypatch, own_cache, awkward_store, script):
    uri, ids, root = awkward_store
    before = snapshot(root)
    query = {"experiment": ids["bare_experiment"]}
    if script in (RUN_PAGE, INSIGHTS_PAGE):
        query["run"] = ids["bare-a"]
    if script == COMPARE_PAGE:
        query["runs"] = f"{ids['bare-a']},{ids['bare-b']}"
    at = app(monkeypatch, uri, script, **query).run()
    no_traceback(at)
    assert not at.error, shown(at)
    text = shown(at)
    expected = {
        RUN_PAGE: "None logged.",
        INSIGHTS_PAGE: "No model insights for this run yet",
        HYPERPARAMS_PAGE: "",
        COMPARE_PAGE: "",
        None: "at least two axes",
    }[script]
    assert expected in text, text
    if script == RUN_PAGE:
        assert "This run logged no artifacts." in text
    if script in (HYPERPARAMS_PAGE, COMPARE_PAGE):
        assert at.info or at.warning, text  # a message saying what is missing, not an empty page
    assert snapshot(root) == before


def test_odd_param_names_and_values_in_the_runs_table(monkeypatch, own_cache, awkward_store):
    uri, ids, root = awkward_store
    before = snapshot(root)
    experiment = ids["odd_experiment"]
    at = app(monkeypatch, uri, experiment=experiment).run()
    no_traceback(at)
    table = at.dataframe[0].value
    assert len(table) == 9 and f"params.{ODD_PARAM}" in table.columns and "params.größe" in table.columns
    column = f"params.{ODD_PARAM}"
    at.multiselect(key=f"home_filter_cols_{experiment}").set_value([column]).run()
    at.multiselect(key=f"home_filter_{experiment}_{column}").set_value(["'; DELETE FROM tags; --", 'say "hi"']).run()
    no_traceback(at)
    assert len(at.dataframe[0].value) == 4
    assert "4 of 9 runs" in "\n".join(c.value for c in at.caption)
    assert snapshot(root) == before


def _open_data(monkeypatch, uri: str, run_id: str, name: str) -> AppTest:
    return app(monkeypatch, uri, RUN_PAGE, timeout=120, run=run_id, item=f"artifact:data/{name}").run()


def _key(at: AppTest, kind: str, suffix: str) -> str:
    return next(w.key for w in getattr(at, kind) if str(w.key).endswith(suffix))


def _views(at: AppTest) -> None:
    """Every view and chart of the explorer renders without a traceback or an error."""
    for chart in ("Scatter", "Line", "Bar", "Histogram", "Heatmap"):
        _radio(at, ".view").set_value("Chart").run()
        _radio(at, ".chart").set_value(chart).run()
        no_traceback(at)
        assert not at.error, (chart, shown(at))
    _radio(at, ".view").set_value("Columns").run()
    no_traceback(at)


def test_all_nan_columns_in_the_explorer(monkeypatch, own_cache, awkward_store):
    uri, ids, root = awkward_store
    before = snapshot(root)
    at = _open_data(monkeypatch, uri, ids["data_run"], "nan.parquet")
    no_traceback(at)
    assert "200 rows · 4 columns" in "\n".join(c.value for c in at.caption)
    at.multiselect(key=_key(at, "multiselect", ".filter_on")).set_value(["all_nan", "all_none_text"]).run()
    no_traceback(at)
    assert not at.error, shown(at)
    _views(at)
    assert snapshot(root) == before


def test_thousand_columns_in_the_explorer(monkeypatch, own_cache, awkward_store):
    uri, ids, root = awkward_store
    before = snapshot(root)
    at = _open_data(monkeypatch, uri, ids["data_run"], "wide.parquet")
    no_traceback(at)
    assert "200 rows · 1,000 columns" in "\n".join(c.value for c in at.caption)
    assert 0 < at.dataframe[0].value.shape[1] <= 1000
    _views(at)
    assert len(at.dataframe[0].value) == 1000  # the Columns view lists every column
    assert snapshot(root) == before


def test_awkward_names_and_filter_values_in_the_explorer(monkeypatch, own_cache, awkward_store):
    uri, ids, root = awkward_store
    before = snapshot(root)
    at = _open_data(monkeypatch, uri, ids["data_run"], "awk'ward \"name\".csv")
    no_traceback(at)
    assert "200 rows · 5 columns" in "\n".join(c.value for c in at.caption)
    filter_on = _key(at, "multiselect", ".filter_on")
    at.multiselect(key=filter_on).set_value([NASTY]).run()
    at.multiselect(key=filter_on.replace("filter_on", f"filter.{NASTY}")).set_value(["'; DELETE FROM tags; --"]).run()
    no_traceback(at)
    table = at.dataframe[0].value
    assert len(table) and set(table[NASTY]) == {"'; DELETE FROM tags; --"}
    _views(at)
    _radio(at, ".view").set_value("Map").run()
    no_traceback(at)
    assert len(at.get("deck_gl_json_chart")) == 1
    assert snapshot(root) == before
