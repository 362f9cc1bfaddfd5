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
