"""Credentials never reach a page or a message; artifact paths never leave the run's folder."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lens_core import ArtifactNotFoundError, TrackerUnreachableError, open_tracker
from lens_core.redact import redact
from tests.conftest import free_port

HOME = str(Path(__file__).resolve().parent.parent / "Home.py")
SECRET = "s3cret-Pa55"


def all_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "title", "subheader", "exception"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [e.proto.help for e in at.caption if hasattr(e.proto, "help")]
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://alice:pw@host:5000/x", "http://***@host:5000/x"),
        ("postgresql://u:p@db/mlflow", "postgresql://***@db/mlflow"),
        ("https://host/api?token=abc&x=1", "https://host/api?token=***&x=1"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
    ],
)
def test_redact(text, shown):
    assert redact(text) == shown


def test_unreachable_server_message_hides_the_password():
    with pytest.raises(TrackerUnreachableError) as caught:
        open_tracker(f"http://alice:{SECRET}@127.0.0.1:{free_port()}")
    assert SECRET not in str(caught.value) and "***@127.0.0.1" in str(caught.value)


@pytest.mark.parametrize("reachable", [True, False])
def test_pages_never_show_the_password(monkeypatch, request, reachable):
    if reachable:
        server = request.getfixturevalue("mlflow_server")  # no auth there: the credentials are simply ignored
        uri = server.replace("http://", f"http://alice:{SECRET}@")
    else:
        uri = f"http://alice:{SECRET}@127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=60).run()
    assert not at.exception
    assert SECRET not in all_text(at)
    assert SECRET not in repr(open_tracker(uri)) if reachable else True


@pytest.mark.parametrize("path", ["../../mlflow.db", "/etc/passwd", "notes/../../../x", "..\\..\\x"])
def test_artifact_paths_stay_inside_the_run(sqlite_store, mlruns_store, path):
    uri, ids = sqlite_store
    for tracker, run_id in ((open_tracker(uri), ids["first_run"]), (open_tracker(mlruns_store[0]), mlruns_store[1]["first_run"])):
        with pytest.raises(ArtifactNotFoundError):
            tracker.fetch_artifact(run_id, path)
        with pytest.raises(ArtifactNotFoundError):
            tracker.artifacts(run_id, path)


# ---- the hostile store: every local file read stays inside the store's own folders ------------------------------
# Anyone who can log a run controls its artifact folder and its dataset inputs' sources. The store below holds
# every trick found so far; no outside file's contents may reach the library's callers or a page.
import json  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402

from lens_core.access import is_allowed  # noqa: E402
from lens_core.confine import dataset_path, dataset_roots, hide_paths, literal_path  # noqa: E402
from lens_core.errors import LensError, OutsideRootsError  # noqa: E402
from lens_core.explorer import query as q  # noqa: E402

SECRET_TEXT = "TOPSECRET-FILE-7f3a"
SECRET_CSV = "TOPSECRET-CSV-91c2"
PASSWD = "root:x:0:0"
RUN_PAGE = "pages/2_Run.py"
HOSTILE_PATHS = ["../leak.txt", "../../outside/secret.txt", "/etc/passwd", "notes/../../secret.txt",
                 "..\\..\\secret.txt", "notes\\..\\..\\x", "..%2F..%2Fsecret.txt", "%2e%2e/%2e%2e/secret.txt",
                 "%252e%252e%252fsecret.txt", "C:/Windows/win.ini", "..", "../", "notes/\x00.txt"]
OUTSIDE_DATASETS = ("outside", "outside-uri", "dotdot", "linked")


class _Tripwire:
    """Unpickling it creates a file: proof that a model outside the run's folder was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _outside(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secret.txt").write_text(SECRET_TEXT)
    (folder / "private.csv").write_text(f"secret_col\n{SECRET_CSV}\n")
    (folder / "evil.pkl").write_bytes(pickle.dumps(_Tripwire(str(folder / "UNPICKLED"))))
    return folder


def _plant(artifacts: Path, outside: Path) -> None:
    """The run's artifact folder: ordinary files beside links out of it and a glob-named table."""
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "notes").mkdir(exist_ok=True)
    (artifacts / "notes" / "readme.txt").write_text("ordinary notes")
    (artifacts / "leak.txt").symlink_to(outside / "secret.txt")
    (artifacts / "passwd").symlink_to("/etc/passwd")
    (artifacts / "etcdir").symlink_to(outside)
    (artifacts / "*.csv").write_text("a\n1\n")  # DuckDB would read it as "every CSV here" …
    (artifacts / "private.csv").symlink_to(outside / "private.csv")  # … including this link out
    (artifacts / "model").mkdir(exist_ok=True)
    (artifacts / "model" / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n"
                                                  "    serialization_format: cloudpickle\n")
    (artifacts / "model" / "model.pkl").symlink_to(outside / "evil.pkl")


def _log_hostile_run(uri: str, artifact_location: str | None, local_dir: Path, outside: Path) -> tuple[str, str]:
    """One run with the planted artifacts and dataset inputs whose sources lead out of the store; returns
    (experiment id, run id). ``local_dir`` is a folder of the store (a link in it leads out; a table in it is fine)."""
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, InputTag

    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment(f"hostile-{os.getpid()}-{local_dir.name}", artifact_location=artifact_location)
    run = client.create_run(exp, run_name="hostile")
    rid = run.info.run_id
    (local_dir / "linked.csv").symlink_to(outside / "private.csv")
    (local_dir / "inside.csv").write_text("x,y\n1,2\n3,4\n")
    sources = {
        "outside": str(outside / "private.csv"),
        "outside-uri": (outside / "private.csv").as_uri(),
        "dotdot": f"{local_dir}/{os.path.relpath(outside / 'private.csv', local_dir)}",  # /store/../outside/…
        "linked": str(local_dir / "linked.csv"),
        "inside": str(local_dir / "inside.csv"),
    }
    client.log_inputs(rid, datasets=[
        DatasetInput(Dataset(name, f"d{i}", "local", json.dumps({"uri": source})),
                     tags=[InputTag("mlflow.data.context", "test" if name == "outside" else "training")])
        for i, (name, source) in enumerate(sources.items())
    ])
    client.log_metric(rid, "loss", 0.1)
    client.set_terminated(rid)
    from lens_core.paths import local_path_from_uri

    _plant(local_path_from_uri(client.get_run(rid).info.artifact_uri), outside)
    return exp, rid


@pytest.fixture(scope="module", params=["mlruns", "sqlite", pytest.param("http", marks=pytest.mark.server)])
def hostile(request, tmp_path_factory):
    """(kind, uri, run id, store folder, outside folder) for an mlruns folder, a sqlite store and a server."""
    kind = request.param
    outside = _outside(tmp_path_factory.mktemp("outside"))
    if kind == "mlruns":
        store = tmp_path_factory.mktemp("hostile-mlruns") / "mlruns"
        store.mkdir()
        uri = store.as_uri()
        exp, rid = _log_hostile_run(uri, None, store, outside)
        yield kind, str(store), rid, store, outside
    elif kind == "sqlite":
        store = tmp_path_factory.mktemp("hostile-sqlite")
        uri = f"sqlite:///{store / 'mlflow.db'}"
        exp, rid = _log_hostile_run(uri, (store / "artifacts").as_uri(), store, outside)
        yield kind, uri, rid, store, outside
    else:
        from mlflow import MlflowClient

        server = request.getfixturevalue("mlflow_server")
        store = tmp_path_factory.mktemp("hostile-http")  # the server's runs keep their artifacts here
        exp, rid = _log_hostile_run(server, (store / "artifacts").as_uri(), store, outside)
        yield kind, server, rid, store, outside
        MlflowClient(tracking_uri=server).delete_experiment(exp)  # the shared server's other tests never see it
    assert not (outside / "UNPICKLED").exists()


def _refused_quietly(exc: BaseException, *folders: Path) -> None:
    text = str(exc)
    for secret in (SECRET_TEXT, SECRET_CSV, PASSWD):
        assert secret not in text
    for folder in folders:
        assert str(folder) not in text and str(folder.resolve()) not in text, text


def test_symlinks_out_of_the_artifact_folder_are_refused(hostile):
    kind, uri, rid, store, outside = hostile
    tracker = open_tracker(uri)
    assert tracker.fetch_artifact(rid, "notes/readme.txt").read_text() == "ordinary notes"  # normal use
    for path in ("leak.txt", "passwd", "etcdir/secret.txt", "etcdir/private.csv", "private.csv", "etcdir",
                 "model"):
        with pytest.raises(OutsideRootsError, match="outside the run's folder") as caught:
            tracker.fetch_artifact(rid, path)
        _refused_quietly(caught.value, store, outside)
    with pytest.raises(OutsideRootsError, match="points outside the run's folder"):
        tracker.artifacts(rid, "etcdir")
    listed = {a.path: a for a in tracker.artifacts(rid)}
    assert {"leak.txt", "passwd", "etcdir", "private.csv", "*.csv", "notes", "model"} <= set(listed)
    for name in ("leak.txt", "passwd", "etcdir", "private.csv"):  # listed as the run has them, nothing of the target
        assert listed[name].file_size is None and not listed[name].is_dir


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_climbing_paths_are_refused_before_any_io(hostile, path, monkeypatch):
    kind, uri, rid, store, outside = hostile
    tracker = open_tracker(uri)

    def no_io(*args, **kwargs):
        raise AssertionError("the store was read before the path was checked")

    monkeypatch.setattr(tracker, "_artifact_root", no_io)
    for call in (tracker.fetch_artifact, tracker.artifacts):
        with pytest.raises(ArtifactNotFoundError, match="leaves the run's artifact folder") as caught:
            call(rid, path)
        _refused_quietly(caught.value, store, outside)


def test_a_glob_named_artifact_is_read_as_itself(hostile):
    kind, uri, rid, store, outside = hostile
    local = open_tracker(uri).fetch_artifact(rid, "*.csv")
    frame = q.run(q.QueryRequest(q.Source.of(local))).frame
    assert frame.to_dict("list") == {"a": [1]}  # not the link beside it, not every CSV of the folder


def test_dataset_sources_outside_the_store_are_refused(hostile, monkeypatch):
    kind, uri, rid, store, outside = hostile
    monkeypatch.delenv("LENS_DATA_ROOTS", raising=False)
    tracker = open_tracker(uri)
    detail = tracker.run(rid)
    roots = dataset_roots(tracker, detail.artifact_uri)
    by_name = {d.name: d for d in detail.inputs}
    for name in OUTSIDE_DATASETS:
        with pytest.raises(OutsideRootsError, match="data_roots") as caught:
            dataset_path(by_name[name].source, roots)
        _refused_quietly(caught.value, store, outside)
    if kind != "http":  # a table in the store's own folder opens as before (a server has no local store folder)
        assert dataset_path(by_name["inside"].source, roots).read_text().startswith("x,y")
    from lens_core.explorer.across import shared_datasets
    from lens_core.insights.inputs import availability

    assert dataset_path(by_name["outside"].source, roots, quiet=True) is None  # callers that only look for data
    assert set(shared_datasets([detail, detail], roots)) <= {"inside"}
    found = availability(tracker, detail)
    assert found.test_data is None  # the outside test set is not read, and the page says why and what to do
    assert "'outside' was skipped" in found.missing and "data_roots" in found.missing
    assert str(outside) not in found.missing
    # an operator allows the folder: the dataset opens
    allowed = open_tracker(uri, data_roots=[str(outside)])
    assert SECRET_CSV in dataset_path(by_name["outside"].source, dataset_roots(allowed, detail.artifact_uri)).read_text()
    monkeypatch.setenv("LENS_DATA_ROOTS", f"/nonexistent{os.pathsep}{outside}")
    assert dataset_path(by_name["dotdot"].source, dataset_roots(tracker, detail.artifact_uri)) is not None


def test_a_model_linking_out_of_its_folder_is_not_unpickled(hostile):
    kind, uri, rid, store, outside = hostile
    from lens_core.insights.inputs import load_model

    with pytest.raises(LensError):
        load_model(open_tracker(uri), rid)
    assert not (outside / "UNPICKLED").exists()


def test_tensorboard_runs_are_confined_too(tmp_path):
    from tests.stores import write_contract_logdir

    outside = _outside(tmp_path / "outside")
    logdir = tmp_path / "logs"
    write_contract_logdir(logdir)
    (logdir / "contract" / "alpha" / "leak.txt").symlink_to(outside / "secret.txt")
    tracker = open_tracker(f"tensorboard://{logdir}")
    runs = tracker.runs("contract")
    run_id = runs.loc[runs["run_name"].astype(str).str.endswith("alpha"), "run_id"].iloc[0]
    assert tracker.fetch_artifact(run_id, "notes.txt").read_text() == "notes of alpha"
    with pytest.raises(OutsideRootsError):
        tracker.fetch_artifact(run_id, "leak.txt")
    for path in HOSTILE_PATHS:
        with pytest.raises(ArtifactNotFoundError, match="leaves the run's artifact folder"):
            tracker.fetch_artifact(run_id, path)


# ---- on the pages ------------------------------------------------------------------------------------------------
def everything_on(at: AppTest) -> str:
    """Every element's protobuf as text (dataframes' Arrow bytes included) and every dataframe's values."""
    out: list[str] = []

    def walk(node) -> None:
        if (proto := getattr(node, "proto", None)) is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    out += [e.value.to_string() for e in at.dataframe]
    return "\n".join(out)


def test_run_page_shows_nothing_from_outside(hostile, monkeypatch):
    kind, uri, rid, store, outside = hostile
    monkeypatch.delenv("LENS_DATA_ROOTS", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=90)
    at.query_params.update({"run": rid, "item": "artifact:"})
    at.switch_page(RUN_PAGE)
    items = ["artifact:", "artifact:leak.txt", "artifact:passwd", "artifact:etcdir/", "artifact:etcdir/secret.txt",
             "artifact:etcdir/private.csv", "artifact:private.csv", "artifact:*.csv", "artifact:model/",
             "artifact:model/model.pkl", "artifact:../", "artifact:..%2F..%2Fsecret.txt", "artifact:..\\..\\secret.txt",
             "artifact:/etc/passwd"] + [f"dataset:{name}" for name in OUTSIDE_DATASETS]
    for item in items:
        at.query_params["item"] = item
        at.run()
        assert not at.exception, (item, [e.value for e in at.exception])
        page = everything_on(at)
        for secret in (SECRET_TEXT, SECRET_CSV, PASSWD):
            assert secret not in page, (item, secret)
        assert str(outside / "secret.txt") not in page and str(store / "artifacts") not in page, item
        if item in ("artifact:leak.txt", "artifact:passwd", "artifact:etcdir/secret.txt"):
            assert "points outside the run's folder" in all_text(at), item
        if item.startswith("dataset:"):
            assert "data_roots" in all_text(at) and "LENS_DATA_ROOTS" in all_text(at), item
    assert not (outside / "UNPICKLED").exists()


# ---- names DuckDB would read as patterns -------------------------------------------------------------------------
def test_duckdb_reads_file_names_literally(tmp_path):
    import pandas as pd

    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("*.csv", "[ab].csv", "{a,b}.csv", "?.csv"):
        (folder / name).write_text("v\n1\n")
    for name in ("a.csv", "b.csv", "x.csv"):
        (folder / name).write_text(f"v\n{SECRET_CSV}\n")
    pd.DataFrame({"v": [1]}).to_parquet(folder / "*.parquet")
    pd.DataFrame({"v": [SECRET_CSV]}).to_parquet(folder / "p.parquet")
    (folder / "*.json").write_text('[{"v": 1}]')
    (folder / "j.json").write_text(f'[{{"v": "{SECRET_CSV}"}}]')
    for name in ("*.csv", "[ab].csv", "{a,b}.csv", "?.csv", "*.parquet", "*.json"):
        source = q.Source.of(folder / name)
        assert q.run(q.QueryRequest(source)).frame["v"].astype(str).tolist() == ["1"], name
        assert q.count_rows(source) == 1
    assert literal_path(folder / "a.csv") == str(folder / "a.csv")  # ordinary names are passed as they are
    with pytest.raises(q.QueryError) as caught:  # a pattern that names no file is not expanded either
        q.run(q.QueryRequest(q.Source.of(folder / "*missing*.csv")))
    assert str(folder) not in str(caught.value)


def test_query_errors_name_files_not_folders(tmp_path):
    bad = tmp_path / "deep" / "broken.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"not parquet")
    with pytest.raises(q.QueryError) as caught:
        q.run(q.QueryRequest(q.Source.of(bad)))
    assert str(tmp_path) not in str(caught.value)
    assert hide_paths('No files found "/srv/team/x.csv" at http://h/a/b') == 'No files found "…/x.csv" at http://h/a/b'


def test_artifact_cache_entries_stay_in_their_slot(tmp_path):
    from lens_core.trackers.artifacts import ArtifactCache

    cache = ArtifactCache(tmp_path / "cache")
    first = cache.get("k", lambda dst: (dst / "f.txt").write_text("cached") and dst / "f.txt")
    slot = first.parent
    (slot / ".lens-entry").write_text(str(Path(os.path.relpath("/etc/passwd", slot))))  # a tampered marker
    again = cache.get("k", lambda dst: (dst / "f.txt").write_text("fresh") and dst / "f.txt")
    assert again.read_text() == "fresh"
    with pytest.raises(ArtifactNotFoundError):
        cache.get("k2", lambda dst: Path("/etc/passwd"))


# ---- login -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("verified", "allowed"), [(True, True), ("true", True), (None, True), (False, False),
                                                   ("false", False)])
def test_allow_list_needs_a_verified_address(verified, allowed):
    assert is_allowed("ann@example.com", [], ["example.com"], email_verified=verified) is allowed
    assert is_allowed("ann@example.com", [], [], email_verified=False)  # no list: login alone admits


@pytest.mark.parametrize("verified", [False, True])
def test_login_refuses_an_unverified_address(monkeypatch, sqlite_store, verified):
    from tests.test_access import AUTH

    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_store[0])
    at = AppTest.from_file(HOME, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.secrets["lens"] = {"allowed_domains": ["example.com"]}
    at.user = {"is_logged_in": True, "email": "eve@example.com", "email_verified": verified, "name": "Eve"}
    at.run()
    assert not at.exception
    if verified:
        assert not at.error and at.dataframe
    else:
        assert "not been verified" in at.error[0].value and not at.dataframe and not at.metric


def test_model_insights_page_loads_nothing_from_outside(hostile, monkeypatch):
    kind, uri, rid, store, outside = hostile
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=90)
    at.query_params["run"] = rid
    at.switch_page("pages/4_Model_insights.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = everything_on(at)
    assert SECRET_TEXT not in page and SECRET_CSV not in page
    assert not (outside / "UNPICKLED").exists()


def test_data_roots_from_secrets_open_the_dataset(hostile, monkeypatch):
    """``[lens] data_roots`` in secrets.toml reaches the tracker: the outside dataset then opens in the explorer."""
    kind, uri, rid, store, outside = hostile
    from lens_core.ui import cache as cached

    monkeypatch.delenv("LENS_DATA_ROOTS", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    def restart() -> None:  # the tracker is opened once per URI, with the options of that moment
        import streamlit as st

        cached.shared_tracker.clear()
        st.cache_data.clear()  # what was found with the former options (the run's insights availability)

    restart()
    try:
        at = AppTest.from_file(HOME, default_timeout=90)
        at.secrets["lens"] = {"data_roots": [str(outside)]}
        at.query_params.update({"run": rid, "item": "dataset:outside"})
        at.switch_page(RUN_PAGE)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert "data_roots" not in all_text(at)
        assert SECRET_CSV in everything_on(at)  # allowed by the operator: the explorer shows the table
    finally:
        restart()
