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
    from lens_core import open_tracker
    from lens_core.runs.defaults import default_metric
    from lens_core.trackers.runs_table import columns_of

    at = open_page(monkeypatch, demo_build["uri"])
    assert not at.exception
    tracker = open_tracker(demo_build["uri"])
    runs = tracker.runs(at.selectbox(key="hp_experiment").value)
    expected = default_metric(runs, columns_of(runs, "metrics")).removeprefix("metrics.")  # the most complete
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Runs used"]) >= 25 and metrics["Target"].startswith(expected)
    assert "metric" not in at.query_params  # the default stays out of the link
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


# ---- issue 17: defaults from completeness, observed suggestions, a complete grid; issue 19: the view is the link ---
def test_odd_store_opens_on_a_complete_metric_and_suggests_only_values_tried(monkeypatch, odd_store):
    from tests.odd_store import COMPLETE

    uri, ids = odd_store
    at = open_page(monkeypatch, uri, experiment=ids["odd"])
    assert not at.exception
    target = at.selectbox(key="hp_metric").value.removeprefix("metrics.")
    assert target in COMPLETE and target != "test_auc"  # 9 metrics every run has; test_auc only 7 of 30
    assert not any("Only the 0 runs" in t.label for t in at.toggle)
    assert any("Select at least 12 runs on Home" in c.value for c in at.caption)
    suggested = at.dataframe[1].value
    assert set(suggested["lr"].dropna()) <= {0.01, 0.03, 0.1} and set(suggested["depth"].dropna()) <= {3, 5, 8}
    assert any("Between the values tried" in m.value for m in at.markdown)


def test_a_complete_grid_says_so(monkeypatch, odd_store):
    uri, ids = odd_store
    at = open_page(monkeypatch, uri, experiment=ids["grid"])
    assert not at.exception
    assert any("The grid is complete" in s.value and "12 combinations" in s.value for s in at.success)


def test_hyperparameters_restore_their_view_from_a_link(monkeypatch, odd_store):
    uri, ids = odd_store
    at = open_page(monkeypatch, uri, experiment=ids["odd"], metric="latency_ms", rule="max",
                   params="params.lr,params.depth,params.optimizer", param="depth", first="optimizer",
                   second="lr")
    assert not at.exception
    assert at.selectbox(key="hp_metric").value == "metrics.latency_ms"
    assert at.segmented_control(key="hp_rule").value == "max"
    assert at.multiselect(key="hp_params").value == ["params.lr", "params.depth", "params.optimizer"]
    assert at.selectbox(key="hp_param").value == "params.depth"
    assert (at.selectbox(key="hp_first").value, at.selectbox(key="hp_second").value) == ("params.optimizer",
                                                                                          "params.lr")
    assert at.segmented_control(key=f"hp_direction.{ids['odd']}.latency_ms").value == "min"  # the shared rule
    at = open_page(monkeypatch, uri, experiment=ids["odd"], metric="gone", param="nothing")
    assert not at.exception
    assert any("“metrics.gone” no longer exists" in i.value for i in at.info)
