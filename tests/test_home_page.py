"""Home page through Streamlit's AppTest: real stores, bad URIs, empty trackers."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

HOME = str(Path(__file__).resolve().parent.parent / "Home.py")


def home(monkeypatch: pytest.MonkeyPatch, uri: str, **query: str) -> AppTest:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params.update(query)
    return at.run()


def test_home_shows_experiment_runs(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = home(monkeypatch, uri, experiment=ids["main"])
    assert not at.exception
    assert at.title[0].value == "reference ü"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "14" and metrics["Failed or killed"] == "2" and metrics["Running"] == "1"
    table = at.dataframe[0].value
    assert len(table) == 14 and "params.lr" in table and "metrics.train/loss" in table
    assert not any(c.startswith("tags.") for c in table.columns)
    assert at.query_params["experiment"] == ids["main"]


def test_switching_experiment_updates_url(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = home(monkeypatch, uri, experiment=ids["main"])
    at.selectbox(key="home_experiment").select(ids["empty"]).run()
    assert not at.exception
    assert at.query_params["experiment"] == ids["empty"]
    assert "no runs yet" in at.info[0].value


def test_unknown_experiment_in_link(monkeypatch, sqlite_store):
    uri, _ = sqlite_store
    at = home(monkeypatch, uri, experiment="424242")
    assert not at.exception
    assert "424242" in at.warning[0].value


@pytest.mark.parametrize(
    ("uri", "message"),
    [("sqlite:////no/such/mlflow.db", "No MLflow database"), ("ftp://somewhere", "unknown scheme")],
)
def test_bad_tracker_uri_explains(monkeypatch, uri, message):
    at = home(monkeypatch, uri)
    assert not at.exception
    assert message in at.error[0].value
    assert "MLFLOW_TRACKING_URI" in at.info[0].value


def test_tracker_without_experiments(monkeypatch, tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.delete_experiment(client.get_experiment_by_name("Default").experiment_id)
    at = home(monkeypatch, uri)
    assert not at.exception
    assert at.title[0].value == "No experiments yet"


def test_no_configuration_opens_the_demo_store(monkeypatch, demo_build):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("LENS_DEMO_DIR", str(demo_build["folder"]))
    at = AppTest.from_file(HOME, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "churn-classification"
    assert {m.label: m.value for m in at.metric}["Runs"] == "34"
    assert len(at.dataframe[0].value) == 34
