"""The hyperparameter page through AppTest on the demo store and on a known synthetic experiment."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.test_hyperparams import synthetic_runs

HOME = str(Path(__file__).resolve().parent.parent / "Home.py")
PAGE = "pages/3_Hyperparameters.py"


def open_page(monkeypatch, uri: str, **query: str) -> AppTest:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=120)
    at.switch_page(PAGE)
    at.query_params.update(query)
    return at.run()


def test_demo_classification_experiment(monkeypatch, demo_build):
    at = open_page(monkeypatch, demo_build["uri"])
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Runs used"]) >= 25 and metrics["Target"].startswith("roc_auc")
    assert at.query_params["metric"] == "roc_auc"
    assert len(at.get("vega_lite_chart")) >= 3
    assert "Where to look next" in [h.value for h in at.subheader]


def test_known_function_ranks_its_params_first(monkeypatch, tmp_path):
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("bowl")
    for row in synthetic_runs(n=60).to_dict("records"):
        run = client.create_run(experiment_id)
        params = [Param(k.removeprefix("params."), str(v)) for k, v in row.items() if k.startswith("params.")]
        client.log_batch(run.info.run_id, metrics=[Metric("val_loss", float(row["metrics.val_loss"]), 0, 0)],
                         params=params)
        client.set_terminated(run.info.run_id)
    at = open_page(monkeypatch, uri, experiment=experiment_id, metric="val_loss")
    assert not at.exception
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0].proto  # the importance chart's data travels as Arrow
    rows = pa.ipc.open_stream(chart.datasets[0].data.data).read_all().to_pandas()
    assert set(rows["label"][:2]) == {"lr", "optimizer"}  # the two params the metric depends on
    assert float(next(m.value for m in at.metric if m.label == "Cross-validated R²")) > 0.7


def test_too_few_runs_message(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, experiment=ids["contract"])
    assert not at.exception
    assert "a surrogate needs at least 12" in at.warning[0].value


def test_min_rule_when_the_histories_cannot_be_read(monkeypatch, demo_build):
    from lens_core.errors import TrackerUnreachableError
    from lens_core.trackers.base import Tracker

    def refuse(self, experiment_id):
        raise TrackerUnreachableError("The tracker stopped answering while reading metric histories.")

    monkeypatch.setattr(Tracker, "metric_extremes", refuse)
    at = open_page(monkeypatch, demo_build["uri"], rule="min")
    assert not at.exception
    assert any("Min / max of the metric histories are unavailable" in w.value for w in at.warning)
    assert int({m.label: m.value for m in at.metric}["Runs used"]) >= 25  # explained on the last values
