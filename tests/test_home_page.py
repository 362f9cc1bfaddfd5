"""Home page through Streamlit's AppTest: real stores, bad URIs, empty trackers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
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
    assert not any(c.startswith("tags.mlflow.") for c in table.columns) and "tags.team" in table
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


def grid(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def test_constant_columns_hidden_by_default(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = home(monkeypatch, uri, experiment=ids["main"])
    assert "tags.mlflow.runName" not in grid(at)  # system tags hidden
    assert "tags.project" not in grid(at)  # the same on every run
    assert "metrics.weird" in grid(at) and "params.lr" in grid(at)
    at.toggle(key="home_system_tags").set_value(True).run()
    assert "tags.mlflow.runName" in grid(at)
    at.toggle(key="home_hide_constant").set_value(False).run()
    assert not at.exception
    assert "tags.project" in grid(at)


def test_summary_rule_switches_to_history_extremes(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = home(monkeypatch, uri, experiment=ids["main"])
    last = grid(at).set_index("run_name")["metrics.train/loss"]
    at.segmented_control(key="home_summary_rule").set_value("max").run()
    assert not at.exception
    highest = grid(at).set_index("run_name")["metrics.train/loss"]
    assert last["run-02"] == pytest.approx(1 / 6) and highest["run-02"] == pytest.approx(0.9)  # restarted steps
    assert highest["run-05"] == pytest.approx(1 / 6) and last["run-05"] == pytest.approx(1 / 9)


def test_filters_narrow_the_table(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = home(monkeypatch, uri, experiment=ids["main"])
    at.multiselect(key=f"home_filter_cols_{ids['main']}").set_value(["params.model", "status"]).run()
    at.multiselect(key=f"home_filter_{ids['main']}_params.model").set_value(["gbm"]).run()
    assert not at.exception
    assert set(grid(at)["params.model"]) == {"gbm"} and len(grid(at)) == 4
    assert any("model ∈ {gbm}" in c.value for c in at.caption)


def test_selection_links_to_run_and_compare_pages(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params["experiment"] = ids["main"]
    at.session_state["lens.selected_runs"] = [ids["first_run"], ids["running_run"]]
    at.run()
    assert not at.exception
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    assert not links["Compare 2 runs"].disabled
    from urllib.parse import parse_qs

    linked = parse_qs(links["Compare 2 runs"].query_string)["runs"][0].split(",")
    assert sorted(linked) == sorted([ids["first_run"], ids["running_run"]])
    assert links["Open run"].disabled


def test_demo_store_renders(monkeypatch, demo_build):
    at = home(monkeypatch, demo_build["uri"])
    assert not at.exception
    table = grid(at)
    assert len(table) == 34 and table["rating"].str.contains("★").sum() >= 4
    assert "params.model" in table or "params.model_family" in table or any(c.startswith("params.") for c in table)


def test_generated_10k_store_renders(monkeypatch, tmp_path_factory):
    from benchmarks.generate_store import StoreSpec, generate_sqlite_store

    uri = generate_sqlite_store(tmp_path_factory.mktemp("gen10k") / "mlflow.db", StoreSpec(n_runs=10_000))
    at = home(monkeypatch, uri)
    assert not at.exception
    assert len(grid(at)) == 9_800
    assert {m.label: m.value for m in at.metric}["Running"] == "100"
    # its 100 running runs started in 2023 and have not changed since: no live refresh for them
    assert not any("Refreshing every" in c.value for c in at.caption)
    assert any("100 runs are marked running but have not changed since" in c.value for c in at.caption)


def test_runs_without_params_or_metrics(monkeypatch, tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'bare.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("bare")
    for name in ("a", "b"):
        client.create_run(experiment_id, run_name=name)
    at = home(monkeypatch, uri, experiment=experiment_id)
    assert not at.exception
    assert len(grid(at)) == 2
    assert any("at least two axes" in i.value for i in at.info)


# ---- live refresh stops for abandoned runs -----------------------------------------------------------------------
def abandoned_store(tmp_path: Path) -> tuple[str, str, object]:
    """Two runs left RUNNING in 2021 (their jobs crashed) and a finished one."""
    import sqlite3

    from mlflow import MlflowClient

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("crashed sweep")
    old = []
    for name in ("crashed-a", "crashed-b"):
        run = client.create_run(experiment_id, run_name=name)
        client.log_metric(run.info.run_id, "loss", 0.5, timestamp=1_620_123_000_000, step=0)  # May 2021
        old.append(run.info.run_id)
    done = client.create_run(experiment_id, run_name="done")
    client.set_terminated(done.info.run_id)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE runs SET start_time = ? WHERE run_uuid IN (?, ?)", (1_620_120_000_000, *old))
    return uri, experiment_id, client


def captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def test_runs_left_running_for_years_do_not_keep_home_refreshing(monkeypatch, tmp_path):
    uri, experiment_id, _ = abandoned_store(tmp_path)
    at = home(monkeypatch, uri, experiment=experiment_id)
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Running"] == "2"
    assert "Refreshing every" not in captions(at)
    assert "2 runs are marked running but have not changed since May 04 2021, 10:10 UTC" in captions(at)


@pytest.mark.parametrize("how", ["started now", "logging now"])
def test_a_run_that_changes_switches_live_refresh_on(monkeypatch, tmp_path, how):
    import sqlite3
    import time

    uri, experiment_id, client = abandoned_store(tmp_path)
    run = client.create_run(experiment_id, run_name="live")
    if how == "logging now":  # a long job: started three hours ago, logged a point just now
        client.log_metric(run.info.run_id, "loss", 0.1, timestamp=int(time.time() * 1000), step=5)
        with sqlite3.connect(tmp_path / "mlflow.db") as con:
            con.execute("UPDATE runs SET start_time = ? WHERE run_uuid = ?",
                        (int(time.time() * 1000) - 3 * 3_600_000, run.info.run_id))
    at = home(monkeypatch, uri, experiment=experiment_id)
    assert not at.exception, [e.value for e in at.exception]
    assert "Refreshing every 10 s" in captions(at)
    assert "2 runs are marked running but have not changed since" in captions(at)  # the abandoned ones, still named


# ---- issue 17: the numbers shown are the numbers logged; issue 19: the view is the link -----------------------------
def column_formats(at: AppTest) -> dict[str, dict]:
    import json

    return {name: config.get("type_config", {}) for name, config in json.loads(at.dataframe[0].proto.columns).items()}


def test_odd_store_reads_as_logged(monkeypatch, odd_store):
    from tests.odd_store import BIG_ID, COMPLETE, UNNAMED

    uri, ids = odd_store
    at = home(monkeypatch, uri, experiment=ids["odd"])
    assert not at.exception
    table = grid(at)
    formats = column_formats(at)
    assert formats["params.seed"]["format"] == "%d" and formats["params.rows"]["format"] == "%d"  # not %.4g
    assert 97531.0 in set(table["params.seed"]) and 1_234_567_890.0 in set(table["params.rows"])
    assert str(BIG_ID) in set(table["params.big_id"])  # beyond 2**53: the logged text, not a float neighbour
    unnamed = table["run_name"].str.fullmatch(r"[0-9a-f]{8}")
    assert unnamed.sum() == len(UNNAMED) and (table["run_name"] != "").all()  # the short id, never blank
    assert set(table["duration"]) <= {"2.0 s", "3.0 s", "4.0 s", "5.0 s"}  # never "0.0 min"
    assert at.selectbox(key=f"home_pc_color_{ids['odd']}").value.removeprefix("metrics.") in COMPLETE  # not test_auc


def test_parallel_coordinates_skip_the_infinite_sentinel_and_caption_once(monkeypatch, odd_store):
    uri, ids = odd_store
    at = home(monkeypatch, uri, experiment=ids["odd"], axes="params.lr,params.depth", color="metrics.val_loss")
    assert not at.exception
    import json

    [chart] = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    captions = [c.value for c in at.caption if "Drag across axes" in c.value]
    assert len(captions) == 1 and "2 non-finite values not drawn" in captions[0]
    assert "title" not in spec and len(spec["layer"]) > 3
    ticks = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert ticks and "308" not in chart.proto.spec
    assert at.query_params["color"] == "metrics.val_loss"


def test_home_restores_its_view_from_a_link(monkeypatch, odd_store):
    from lens_core.links import pack

    uri, ids = odd_store
    e = ids["odd"]
    at = home(monkeypatch, uri, experiment=e, constant="0", system="1", rule="max", rules=pack({"acc": "min"}),
              hide="params.rows,metrics.f1", filter=pack({"params.optimizer": ["adam"], "params.lr": [0.02, 0.2]}),
              axes="params.lr,params.optimizer", color="metrics.gone")
    assert not at.exception
    assert at.toggle(key="home_hide_constant").value is False and at.toggle(key="home_system_tags").value is True
    assert at.segmented_control(key="home_summary_rule").value == "max"
    assert "params.rows" not in grid(at) and "metrics.f1" not in grid(at) and "params.seed" in grid(at)
    assert set(grid(at)["params.optimizer"]) == {"adam"} and grid(at)["params.lr"].min() > 0.02
    assert at.multiselect(key=f"home_pc_axes_{e}").value == ["params.lr", "params.optimizer"]
    assert any("“metrics.gone” no longer exists" in i.value for i in at.info)  # a stale colour falls back
    assert any("Filtered: " in c.value for c in at.caption)
    assert at.query_params["filter"] and at.query_params["rule"] == "max" and "color" not in at.query_params
    from lens_core.links import unpack

    assert unpack(at.query_params["rules"]) == {"acc": "min"}  # the per-metric rule the link carried


def test_trade_offs_show_the_front_and_list_its_runs(monkeypatch, odd_store):
    uri, ids = odd_store
    e = ids["odd"]
    at = home(monkeypatch, uri, experiment=e, view="tradeoffs", px="metrics.acc", py="metrics.latency_ms")
    assert not at.exception
    assert at.segmented_control(key="home_view").value == "tradeoffs"
    front = at.dataframe[1].value
    assert {"run", "acc", "latency_ms"} <= set(front.columns) and 1 <= len(front) < 30
    assert any("on the front of 30" in c.value for c in at.caption)
    at.selectbox(key=f"home_pz_{e}").select("metrics.throughput").run()
    assert not at.exception and "throughput" in at.dataframe[1].value
    assert at.query_params["pz"] == "metrics.throughput" and at.query_params["view"] == "tradeoffs"
