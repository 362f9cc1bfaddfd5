"""Stores whose runs record ``mlflow-artifacts:`` URIs (logged through an ``mlflow server`` that proxies artifacts,
then the database copied): read from the server's artifacts folder when it is here, else a message saying so."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from lens_core.errors import ArtifactNotFoundError, ArtifactsOnServerError
from lens_core.trackers.artifacts import artifacts_destinations, mlflow_artifacts_local

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
RUN_PAGE = "pages/2_Run.py"


@pytest.fixture(scope="module")
def proxied_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A sqlite store whose one run has ``mlflow-artifacts:/<exp>/<run>/artifacts`` as its artifact URI, as a
    server started with ``--artifacts-destination`` records it; the files in ``mlartifacts/`` beside the db."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("proxied")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("served", artifact_location="mlflow-artifacts:/7")
    run = client.create_run(exp, run_name="served-run")
    client.log_metric(run.info.run_id, "loss", 0.5)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).info.artifact_uri == f"mlflow-artifacts:/7/{run.info.run_id}/artifacts"
    folder = root / "mlartifacts" / "7" / run.info.run_id / "artifacts"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "readme.txt").write_text("kept by the server")
    (folder / "table.csv").write_text("a,b\n1,2\n3,4\n")
    return root, uri, run.info.run_id


def without_mlartifacts(proxied_store, tmp_path: Path) -> str:
    root, _, _ = proxied_store
    shutil.copy(root / "mlflow.db", tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_mapping_of_both_uri_forms(tmp_path):
    (tmp_path / "dest").mkdir()
    for uri in ("mlflow-artifacts:/1/abc/artifacts", "mlflow-artifacts://host:5000/1/abc/artifacts",
                "mlflow-artifacts:///1/abc/artifacts"):
        assert mlflow_artifacts_local(uri, [tmp_path / "missing", tmp_path / "dest"]) == tmp_path / "dest/1/abc/artifacts"
    assert mlflow_artifacts_local("mlflow-artifacts:/1/abc/artifacts", [tmp_path / "missing"]) is None
    with pytest.raises(ArtifactNotFoundError):
        mlflow_artifacts_local("mlflow-artifacts:/1/../../etc", [tmp_path / "dest"])


def test_files_beside_the_db_are_read(proxied_store):
    _, uri, run_id = proxied_store
    tracker = open_tracker(uri)
    assert [(a.path, a.is_dir) for a in tracker.artifacts(run_id)] == [("notes", True), ("table.csv", False)]
    assert [a.path for a in tracker.artifacts(run_id, "notes")] == ["notes/readme.txt"]
    assert tracker.fetch_artifact(run_id, "notes/readme.txt").read_text() == "kept by the server"


def test_configured_destination(proxied_store, tmp_path, monkeypatch):
    root, _, run_id = proxied_store
    (tmp_path / "copy").mkdir()
    uri = without_mlartifacts(proxied_store, tmp_path / "copy")
    elsewhere = tmp_path / "server-files"
    shutil.copytree(root / "mlartifacts", elsewhere)
    tracker = open_tracker(uri, artifacts_destination=str(elsewhere))
    assert tracker.fetch_artifact(run_id, "table.csv").read_text().startswith("a,b")
    assert artifacts_destinations(tracker, None) == [elsewhere]
    monkeypatch.setenv("LENS_ARTIFACTS_DESTINATION", str(elsewhere))  # the environment variable does the same
    assert open_tracker(uri).fetch_artifact(run_id, "notes/readme.txt").read_text() == "kept by the server"


def test_without_the_files_a_message_not_mlflows_advice(proxied_store, tmp_path, monkeypatch):
    _, _, run_id = proxied_store
    monkeypatch.delenv("LENS_ARTIFACTS_DESTINATION", raising=False)
    tracker = open_tracker(without_mlartifacts(proxied_store, tmp_path))
    for call in (lambda: tracker.artifacts(run_id), lambda: tracker.fetch_artifact(run_id, "table.csv")):
        with pytest.raises(ArtifactsOnServerError) as caught:
            call()
        text = str(caught.value)
        assert "kept by the MLflow server that logged this run" in text and "artifacts_destination" in text
        assert "localhost" not in text and "MLFLOW_TRACKING_URI" not in text


def test_mlruns_folder_reads_mlartifacts_beside_it(tmp_path):
    """An mlruns folder copied from a server machine: its runs' mlflow-artifacts: files beside it."""
    from mlflow import MlflowClient

    mlruns = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=mlruns.as_uri())
    exp = client.create_experiment("served", artifact_location="mlflow-artifacts:/3")
    run_id = client.create_run(exp).info.run_id
    folder = tmp_path / "mlartifacts" / "3" / run_id / "artifacts"
    folder.mkdir(parents=True)
    (folder / "x.txt").write_text("beside")
    assert open_tracker(mlruns).fetch_artifact(run_id, "x.txt").read_text() == "beside"


# ---- the Run page -----------------------------------------------------------------------------------------------
def open_run(monkeypatch, uri: str, run_id: str, item: str) -> AppTest:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params.update({"run": run_id, "item": item})
    at.switch_page(RUN_PAGE)
    return at.run()


def shown(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "code", "subheader"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    return "\n".join(parts)


def test_run_page_lists_and_opens_them(monkeypatch, proxied_store):
    _, uri, run_id = proxied_store
    at = open_run(monkeypatch, uri, run_id, "artifact:notes/readme.txt")
    assert not at.exception, [e.value for e in at.exception]
    assert "kept by the server" in shown(at)
    at.query_params["item"] = "artifact:"
    at.run()
    assert not at.exception
    assert not at.error
    listing = at.dataframe[0].value
    assert list(listing["name"]) == ["notes/", "table.csv"]


def test_run_page_without_them_says_where_they_are(monkeypatch, proxied_store, tmp_path):
    _, _, run_id = proxied_store
    monkeypatch.delenv("LENS_ARTIFACTS_DESTINATION", raising=False)
    uri = without_mlartifacts(proxied_store, tmp_path)
    for item in ("artifact:", "artifact:table.csv", "metric:loss"):
        at = open_run(monkeypatch, uri, run_id, item)
        assert not at.exception, [e.value for e in at.exception]
        text = shown(at)
        assert "kept by the MLflow server that logged this run" in text, text
        assert "localhost" not in text


def test_artifacts_destination_from_secrets(monkeypatch, proxied_store, tmp_path):
    """``[lens] artifacts_destination`` in secrets.toml reaches the tracker the pages use."""
    from lens_core.ui import cache as cached

    root, _, run_id = proxied_store
    monkeypatch.delenv("LENS_ARTIFACTS_DESTINATION", raising=False)
    uri = without_mlartifacts(proxied_store, tmp_path)
    elsewhere = tmp_path / "server-files"
    shutil.copytree(root / "mlartifacts", elsewhere)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    cached.shared_tracker.clear()  # the tracker is opened once per URI, with the options of that moment
    try:
        at = AppTest.from_file(HOME, default_timeout=60)
        at.secrets["lens"] = {"artifacts_destination": str(elsewhere)}
        at.query_params.update({"run": run_id, "item": "artifact:notes/readme.txt"})
        at.switch_page(RUN_PAGE)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert "kept by the server" in shown(at) and "kept by the MLflow server" not in shown(at)
    finally:
        cached.shared_tracker.clear()
