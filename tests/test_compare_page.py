"""The comparison page through Streamlit's AppTest, on the reference sqlite store and the demo store."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from lens_core.format import labels_by_id

APP = Path(__file__).resolve().parent.parent
PAGE = "pages/1_Compare.py"


def compare(monkeypatch, uri: str, runs: list[str] | None = None, selected: list[str] | None = None,
            app: Path = APP) -> AppTest:
    """The page as a user reaches it: from Home, with ``?runs=`` and/or Home's selection in the session."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(str(app / "Home.py"), default_timeout=60)
    at.switch_page(PAGE)
    if runs is not None:
        at.query_params["runs"] = ",".join(runs)
    if selected is not None:
        at.session_state["lens.selected_runs"] = selected
    return at.run()


def charts(at: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Every chart on the page, the metric charts (views of one linked chart, row by row) first: its spec and
    its data."""
    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        datasets = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets}
        views = [view for row in spec["vconcat"] for view in row["hconcat"]] if "vconcat" in spec else [spec]
        in_order = list(datasets.values())  # Streamlit sends one dataset per view, in the spec's order
        for i, view in enumerate(views):
            frames = [datasets[n] for n in data_names(view) if n in datasets]
            frames = frames or ([in_order[i]] if len(in_order) == len(views) else in_order)
            out.append((view, pd.concat(frames) if frames else pd.DataFrame()))
    return out


def data_names(node: object) -> set[str]:
    """The named datasets a spec (or part of one) reads."""
    if isinstance(node, dict):
        found = {node["data"]["name"]} if isinstance(node.get("data"), dict) and "name" in node["data"] else set()
        return found.union(*(data_names(v) for k, v in node.items() if k != "data"))
    if isinstance(node, list):
        return set().union(*(data_names(v) for v in node))
    return set()


def metric_grid(at: AppTest) -> dict:
    """The spec of the one chart holding every metric chart."""
    return next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if "vconcat" in json.loads(c.proto.spec))


def subtitles(at: AppTest) -> str:
    return " ".join(str(view.get("title", {}).get("subtitle", "")) for view, _ in charts(at))


def color_domain(spec: dict) -> list[str]:
    return spec["layer"][0]["encoding"]["color"]["scale"]["domain"]


def page_links(at: AppTest) -> list[tuple[str, str]]:
    return [(link.proto.label, link.proto.query_string) for link in at.get("page_link")]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def reference(sqlite_store) -> tuple[str, pd.DataFrame]:
    uri, ids = sqlite_store
    return uri, open_tracker(uri).runs(ids["main"])


@pytest.fixture(scope="module")
def churn(demo_build) -> tuple[str, pd.DataFrame]:
    tracker = open_tracker(demo_build["uri"])
    experiment = next(e for e in tracker.experiments() if e.name == "churn-classification")
    return demo_build["uri"], tracker.runs(experiment.experiment_id)


def ids_named(table: pd.DataFrame, *names: str) -> list[str]:
    by_name = dict(zip(table["run_name"], table["run_id"]))
    return [by_name[n] for n in names]


# ---- rendering -----------------------------------------------------------------------------------------------
def test_two_reference_runs(monkeypatch, reference):
    uri, table = reference
    wanted = ids_named(table, "run-01", "run-04")
    at = compare(monkeypatch, uri, runs=wanted)
    assert_clean(at)
    assert at.title[0].value == "Compare runs"
    assert at.query_params["runs"] == ",".join(wanted)
    runs_table = at.dataframe[0].value
    assert runs_table["run"].tolist() == ["run-01", "run-04"]
    assert runs_table["status"].tolist() == ["finished", "finished"]
    assert "params.lr" in runs_table and "params.model" not in runs_table  # only the params that differ
    # eval.acc is NaN in run-04, so the one metric both runs have is train/loss: one line chart
    (spec, data), = charts(at)
    assert color_domain(spec) == ["run-01", "run-04"]
    assert set(data["run_id"]) == set(wanted) and set(data["run"]) == {"run-01", "run-04"}
    assert spec["layer"][0]["mark"]["type"] == "line"
    assert ("reference ü", f"experiment={table['experiment_id'].iloc[0]}") in page_links(at)


def test_params_diff_shows_only_the_rows_that_differ(monkeypatch, reference):
    uri, table = reference
    at = compare(monkeypatch, uri, runs=ids_named(table, "run-01", "run-04"))
    diff = at.dataframe[1].value
    assert list(diff.index) == ["lr"] and list(diff.columns) == ["run-01", "run-04"]
    assert diff.loc["lr"].tolist() == [str(0.1 / 2), str(0.1 / 5)]
    at.toggle(key="compare_all_params").set_value(True).run()
    assert_clean(at)
    diff = at.dataframe[1].value
    assert list(diff.index) == ["lr", "model"] and diff.loc["model"].tolist() == ["mlp", "mlp"]


def test_params_missing_in_a_run_differ_and_show_a_dash(monkeypatch, reference):
    uri, table = reference
    at = compare(monkeypatch, uri, runs=ids_named(table, "run-00", "run-05"))
    diff = at.dataframe[1].value
    assert set(diff.index) == {"depth", "lr", "model", "größe/学习率"}
    assert diff.loc["depth"].tolist() == ["2", "—"]


def test_every_reference_run(monkeypatch, reference):
    uri, table = reference
    wanted = table["run_id"].tolist()
    at = compare(monkeypatch, uri, runs=wanted)
    assert_clean(at)
    assert len(wanted) >= 14 and len(at.dataframe[0].value) == len(wanted)
    labels = labels_by_id(table)
    for spec, _ in charts(at):
        assert color_domain(spec) == [labels[r] for r in wanted]
    # single-value metrics as bars: NaN and inf are reported, not drawn
    at.multiselect(key="compare_metrics").set_value(["eval.acc", "weird", "train/loss"]).run()
    assert_clean(at)
    marks = [spec["layer"][0]["mark"]["type"] for spec, _ in charts(at)]
    assert marks == ["line", "bar"]  # series first; "weird" holds only inf: nothing to draw
    captions = " ".join(c.value for c in at.caption)
    assert "weird: nothing to draw, no finite value (1 non-finite point not drawn)" in captions
    assert f"3 of {len(wanted)} runs lack it" in subtitles(at)  # eval.acc: NaN in run-04, never logged by the children
    (_, bars) = charts(at)[1]
    assert len(bars) == len(wanted) - 3


@pytest.mark.parametrize("n", [2, 10, 34])
def test_demo_store(monkeypatch, churn, n):
    uri, table = churn
    wanted = table["run_id"].tolist()[:n]
    began = time.perf_counter()
    at = compare(monkeypatch, uri, runs=wanted)
    seconds = time.perf_counter() - began
    assert_clean(at)
    assert len(at.dataframe[0].value) == n
    found = charts(at)
    assert len(found) == 6 and seconds < 20
    labels = labels_by_id(table)
    kinds = set()
    for spec, data in found:
        assert color_domain(spec) == [labels[r] for r in wanted]
        assert set(data["run_id"]) <= set(wanted)
        kinds.add(spec["layer"][0]["mark"]["type"])
        if spec["layer"][0]["mark"]["type"] == "line":
            assert data.groupby("run_id").size().max() > 1
            assert len(set(data["run_id"])) >= min(n, 2)
    assert kinds == {"line", "bar"}
    buttons = at.get("download_button")
    assert [b.label for b in buttons].count("CSV") == 6  # one per chart …
    assert [b.label for b in buttons].count("SVG") == [b.label for b in buttons].count("PNG") == 6  # … and images


def test_series_options_reach_the_charts(monkeypatch, churn):
    uri, table = churn
    at = compare(monkeypatch, uri, runs=table["run_id"].tolist()[:3])
    at.button_group(key="compare_x").set_value("relative")
    at.slider(key="compare_smoothing").set_value(0.8)
    at.toggle(key="compare_log").set_value(True).run()
    assert_clean(at)
    lines = [spec for spec, _ in charts(at) if spec["layer"][0]["mark"]["type"] == "line"]
    assert lines
    for spec in lines:
        assert spec["layer"][1]["encoding"]["y"]["field"] == "smoothed"
        assert spec["layer"][1]["encoding"]["x"]["title"] == "minutes since run start"
        assert spec["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"


# ---- which runs ------------------------------------------------------------------------------------------------
def test_unknown_run_ids_are_named(monkeypatch, reference):
    uri, table = reference
    known = table["run_id"].tolist()[:2]
    at = compare(monkeypatch, uri, runs=[known[0], "0" * 32, known[1], "nonsense"])
    assert_clean(at)
    warning = at.warning[0].value
    assert "0" * 32 in warning and "nonsense" in warning and "2 run ids" in warning
    assert at.query_params["runs"] == ",".join(known)
    assert len(at.dataframe[0].value) == 2


def test_only_unknown_run_ids(monkeypatch, reference):
    uri, _ = reference
    at = compare(monkeypatch, uri, runs=["f" * 32])
    assert_clean(at)
    assert "f" * 32 in at.warning[0].value
    assert "No runs to compare" in at.info[0].value
    assert [label for label, _ in page_links(at)] == ["Back to the runs table"]
    assert "runs" not in at.query_params


def test_no_runs_at_all(monkeypatch, reference):
    uri, _ = reference
    at = compare(monkeypatch, uri)
    assert_clean(at)
    assert not at.warning
    assert "No runs to compare" in at.info[0].value
    assert at.get("page_link")[0].proto.page == "Home.py" or page_links(at)[0][0] == "Back to the runs table"


def test_home_selection_is_used_and_written_to_the_url(monkeypatch, reference):
    uri, table = reference
    wanted = table["run_id"].tolist()[3:6]
    at = compare(monkeypatch, uri, selected=wanted)
    assert_clean(at)
    assert len(at.dataframe[0].value) == 3
    assert at.query_params["runs"] == ",".join(wanted)


def test_the_url_wins_over_home_selection(monkeypatch, reference):
    uri, table = reference
    ids = table["run_id"].tolist()
    at = compare(monkeypatch, uri, runs=ids[:2], selected=ids[5:9])
    assert at.dataframe[0].value["run"].tolist() == table["run_name"].tolist()[:2]


def test_runs_can_be_added_and_removed(monkeypatch, reference):
    uri, table = reference
    ids = table["run_id"].tolist()
    at = compare(monkeypatch, uri, runs=ids[:3])
    picker = at.multiselect(key="compare_runs")
    assert picker.options == table["run_name"].tolist()  # every run of the experiment, by name
    picker.unselect(ids[1]).run()
    assert_clean(at)
    assert at.query_params["runs"] == f"{ids[0]},{ids[2]}"
    at.multiselect(key="compare_runs").select(ids[7]).run()
    assert at.query_params["runs"] == f"{ids[0]},{ids[2]},{ids[7]}"
    assert len(at.dataframe[0].value) == 3
    for spec, _ in charts(at):
        assert len(color_domain(spec)) == 3
    at.multiselect(key="compare_runs").set_value([]).run()
    assert_clean(at)
    assert "runs" not in at.query_params and "No runs selected" in at.info[0].value


def test_metric_choice_is_kept_while_runs_change(monkeypatch, reference):
    uri, table = reference
    ids = table["run_id"].tolist()
    at = compare(monkeypatch, uri, runs=ids[:3])
    at.multiselect(key="compare_metrics").set_value(["eval.acc"]).run()
    at.multiselect(key="compare_runs").select(ids[5]).run()
    assert_clean(at)
    assert at.multiselect(key="compare_metrics").value == ["eval.acc"]
    assert len(charts(at)) == 1


def test_runs_of_several_experiments(monkeypatch, demo_build, churn):
    uri, table = churn
    tracker = open_tracker(uri)
    wine = next(e for e in tracker.experiments() if e.name == "wine-multiclass")
    wine_run = tracker.runs(wine.experiment_id)["run_id"].iloc[0]
    at = compare(monkeypatch, uri, runs=[table["run_id"].iloc[0], wine_run])
    assert_clean(at)
    assert at.dataframe[0].value["experiment"].tolist() == ["churn-classification", "wine-multiclass"]
    assert {label for label, _ in page_links(at)} >= {"churn\\-classification", "wine\\-multiclass"}
    assert len(at.multiselect(key="compare_runs").options) == len(table) + len(tracker.runs(wine.experiment_id))


# ---- links to the workflow page ----------------------------------------------------------------------------------
def test_run_names_link_to_the_workflow_page(monkeypatch, reference):
    uri, table = reference
    wanted = table["run_id"].tolist()[:2]
    at = compare(monkeypatch, uri, runs=wanted)
    assert_clean(at)
    run_links = [q for _, q in page_links(at) if q.startswith("run=")]
    assert run_links == [f"run={r}" for r in wanted]


# ---- scale -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[str, pd.DataFrame, str]:
    """A generated store: 200+ runs with failed, diverged (NaN) and unicode-named runs, and one 20k-step history."""
    from benchmarks.generate_store import StoreSpec, generate_sqlite_store

    spec = StoreSpec(n_runs=215, n_params=6, n_metrics=3, n_steps=10, seed=4, long_history_steps=20_000)
    uri = generate_sqlite_store(tmp_path_factory.mktemp("gen-compare") / "mlflow.db", spec)
    tracker = open_tracker(uri)
    experiment = next(e for e in tracker.experiments() if e.name == "generated")
    table = tracker.runs(experiment.experiment_id)
    lengths = tracker.metric_history(table["run_id"]).groupby(["run_id", "key"]).size()
    (long_run, long_key) = lengths.idxmax()
    assert lengths.max() == 20_000
    return uri, table, long_run + "|" + long_key


def test_two_hundred_runs_with_a_long_history(monkeypatch, generated):
    uri, table, long = generated
    long_run, long_key = long.split("|")
    wanted = [long_run] + [r for r in table["run_id"] if r != long_run][:199]
    at = compare(monkeypatch, uri, runs=wanted)
    assert_clean(at)
    assert len(at.dataframe[0].value) == 200
    at.multiselect(key="compare_metrics").set_value([long_key]).run()
    assert_clean(at)
    (spec, data), = charts(at)
    assert len(color_domain(spec)) == 200
    per_run = data.groupby("run_id").size()
    assert per_run[long_run] <= 1000  # downsampled on the server, not in the browser
    assert at.dataframe[0].value["run"].is_unique


# ---- groups ------------------------------------------------------------------------------------------------------
def group_by(at: AppTest, *params: str) -> AppTest:
    at.multiselect(key="compare_group").set_value([f"params.{p}" for p in params]).run()
    assert_clean(at)
    return at


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_grouping_by_a_param_gives_aggregated_bars_with_n(monkeypatch, churn):
    import numpy as np

    from lens_core.runs import stats

    uri, table = churn
    at = group_by(compare(monkeypatch, uri, runs=table["run_id"].tolist()), "model")
    groups = stats.group_labels(table, ["params.model"])
    expected_n = groups.value_counts()
    assert frame_with(at, "runs").set_index("group")["runs"].to_dict() == expected_n.to_dict()
    found = charts(at)
    assert len(found) == 6
    bars = [(s, d) for s, d in found if s["layer"][0]["mark"]["type"] == "bar"]
    bands = [(s, d) for s, d in found if s["layer"][0]["mark"]["type"] == "area"]
    assert bars and bands and len(bars) + len(bands) == 6
    for _spec, data in bars:
        assert all(" · N=" in label for label in data["label"])
        assert set(data["group"]) <= set(expected_n.index)
    # the bars are the group means of the latest values, error bars ± std, as numpy computes them
    (spec, data), = [(s, d) for s, d in bars if any("accuracy" in t["title"] for t in s["layer"][0]["encoding"]
                                                    ["tooltip"] if t.get("field") == "center")]
    for _, row in data.iterrows():
        values = table.loc[(groups == row["group"]).to_numpy(), "metrics.accuracy"].dropna().to_numpy()
        assert row["count"] == len(values) and row["center"] == pytest.approx(values.mean())
        if len(values) > 1:
            assert row["high"] - row["center"] == pytest.approx(np.std(values, ddof=1))
    for _spec, data in bands:
        assert {"center", "low", "high", "n"} <= set(data.columns)
        assert (data["low"] <= data["center"] + 1e-12).all() and (data["center"] <= data["high"] + 1e-12).all()
    # the groups' statistics and the two-group comparison (five groups: the first two by default)
    statistics = frame_with(at, "ci")
    assert set(statistics["metric"]) == set(at.multiselect(key="compare_metrics").value)
    assert at.selectbox(key="compare_group_a").value == "GradientBoostingClassifier"
    assert at.selectbox(key="compare_group_b").value == "LogisticRegression"
    assert not at.warning  # 12 and 6 runs


def test_aggregate_and_spread_reach_the_bars(monkeypatch, churn):
    uri, table = churn
    at = group_by(compare(monkeypatch, uri, runs=table["run_id"].tolist()), "model")
    at.selectbox(key="compare_agg").set_value("median")
    at.selectbox(key="compare_spread").set_value("minmax").run()
    assert_clean(at)
    for spec, data in charts(at):
        if spec["layer"][0]["mark"]["type"] == "bar":
            assert (data["center"] == data["median"]).all()
            assert (data["low"] == data["min"]).all() and (data["high"] == data["max"]).all()
            assert "min–max" in spec["layer"][0]["encoding"]["x"]["title"]


def test_two_small_groups_get_a_welch_test_and_a_warning(monkeypatch, churn):
    from scipy import stats as sps

    uri, table = churn
    names = ["logreg-C1.0-s1", "logreg-C1.0-s2", "rf-depth6-s1", "rf-depth6-s2"]
    at = group_by(compare(monkeypatch, uri, runs=ids_named(table, *names)), "model")
    assert "compare_group_a" not in [s.key for s in at.selectbox]  # exactly two groups: no picker
    test = frame_with(at, "p")
    assert "Fewer than 3 runs" in at.warning[0].value
    by_name = table.set_index("run_name")
    row = test.set_index("metric").loc["roc_auc"]
    a = by_name.loc[names[:2], "metrics.roc_auc"].to_numpy()
    b = by_name.loc[names[2:], "metrics.roc_auc"].to_numpy()
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert row["p"] == f"{ref.pvalue:.3g}"  # shown with 3 significant digits
    assert row["diff"] == f"{a.mean() - b.mean():.4g}"
    assert row["ci"] == "[{:.4g}, {:.4g}]".format(*ref.confidence_interval(0.95))
    assert row["A"].endswith("(N=2)") and row["B"].endswith("(N=2)")


def test_grouping_by_two_params_and_two_hundred_runs(monkeypatch, generated):
    uri, table, _ = generated
    wanted = table["run_id"].tolist()[:200]
    at = group_by(compare(monkeypatch, uri, runs=wanted), "model_family", "batch_size")
    groups = frame_with(at, "runs")
    assert groups["runs"].sum() == 200 and groups["group"].str.contains(" · ").all()
    found = charts(at)
    assert found
    for spec, _data in found:
        assert spec["layer"][0]["mark"]["type"] in ("bar", "area")


def test_ungrouped_charts_open_a_run_on_click(monkeypatch, reference):
    uri, table = reference
    at = compare(monkeypatch, uri, runs=table["run_id"].tolist()[:3])
    for chart in at.get("vega_lite_chart"):
        assert list(chart.proto.selection_mode) == ["pick"]
        spec = json.loads(chart.proto.spec)
        assert "pick" in json.dumps(spec.get("params", [])) or "pick" in json.dumps(spec)


def test_models_of_the_runs_on_shared_charts(monkeypatch, demo_build):
    from lens_core import open_tracker

    tracker = open_tracker(demo_build["uri"])
    experiment = next(e for e in tracker.experiments() if e.name == "churn-classification")
    table = tracker.runs(experiment.experiment_id)
    finished = table[(table["status"] == "FINISHED") & table["run_name"].str.match(r"(logreg|rf)-")]
    failed = table[table["status"] == "FAILED"]
    ids = list(finished["run_id"][:3]) + list(failed["run_id"][:1])
    at = compare(monkeypatch, demo_build["uri"], ids)
    at.toggle(key="compare_models").set_value(True).run(timeout=120)
    assert not at.exception, at.exception
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("False positive rate" in s for s in specs) and any("Average prediction" in s for s in specs)
    assert sum("predicted" in s and "actual" in s for s in specs) == 3  # one confusion matrix per classifier
    assert any("without a usable classifier" in e.label for e in at.expander)  # the failed run has no model


def test_shared_dataset_distributions(monkeypatch, demo_build):
    from lens_core import open_tracker

    tracker = open_tracker(demo_build["uri"])
    experiment = next(e for e in tracker.experiments() if e.name == "churn-classification")
    table = tracker.runs(experiment.experiment_id)
    ids = list(table.loc[table["status"] == "FINISHED", "run_id"][:3])
    at = compare(monkeypatch, demo_build["uri"], ids)
    at.toggle(key="compare_datasets").set_value(True).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compare_dataset").value.startswith("churn-classification")
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert sum("share of rows" in s for s in specs) == 3  # one overlaid distribution per chosen column


# ---- every view is a link ----------------------------------------------------------------------------------------
def test_a_link_restores_every_view_setting(monkeypatch, reference):
    uri, table = reference
    wanted = ids_named(table, "run-00", "run-01", "run-02", "run-05", "run-06", "run-08")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(str(APP / "Home.py"), default_timeout=60)
    at.switch_page(PAGE)
    query = {"runs": ",".join(wanted), "group": "params.model", "agg": "median", "spread": "minmax",
             "metrics": "train/loss,eval.acc", "x": "relative", "smooth": "0.5", "points": "500", "log": "1",
             "tradeoffs": "1", "px": "eval.acc", "py": "train/loss", "allparams": "1", "ga": "logreg", "gb": "mlp"}
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert_clean(at)
    assert at.multiselect(key="compare_group").value == ["params.model"]
    assert at.selectbox(key="compare_agg").value == "median" and at.selectbox(key="compare_spread").value == "minmax"
    assert at.multiselect(key="compare_metrics").value == ["train/loss", "eval.acc"]
    assert at.button_group(key="compare_x").value == "relative"
    assert at.slider(key="compare_smoothing").value == 0.5 and at.select_slider(key="compare_points").value == 500
    assert at.toggle(key="compare_log").value and at.toggle(key="compare_all_params").value
    assert at.toggle(key="compare_pareto").value
    assert at.selectbox(key="compare_pareto_x").value == "eval.acc"
    assert at.selectbox(key="compare_pareto_y").value == "train/loss"
    assert at.session_state["compare_group_a"] == "logreg" and at.session_state["compare_group_b"] == "mlp"
    for key, value in query.items():  # the restored view is the view the link names
        assert at.query_params[key] == value, key
    at.button_group(key="compare_x").set_value("step").run()
    assert "x" not in at.query_params  # back to the default: out of the link


def test_stale_parts_of_a_link_fall_back_with_a_note(monkeypatch, reference):
    uri, table = reference
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(str(APP / "Home.py"), default_timeout=60)
    at.switch_page(PAGE)
    for key, value in {"runs": ",".join(ids_named(table, "run-01", "run-02")), "metrics": "gone,train/loss",
                       "group": "params.nope", "x": "sideways", "points": "lots", "tradeoffs": "1",
                       "px": "vanished"}.items():
        at.query_params[key] = value
    at.run()
    assert_clean(at)
    notes = " ".join(i.value for i in at.info)
    assert "gone no longer exist" in notes and "params.nope" in notes and "“sideways” no longer exists" in notes
    assert "points per series could not be read" in notes and "“vanished” no longer exists" in notes
    assert at.multiselect(key="compare_metrics").value == ["train/loss"]
    assert at.button_group(key="compare_x").value == "step" and at.select_slider(key="compare_points").value == 1000


def test_copy_link_holds_the_view(monkeypatch, reference):
    uri, table = reference
    at = compare(monkeypatch, uri, runs=ids_named(table, "run-01", "run-02"))
    at.toggle(key="compare_log").set_value(True).run()
    link = next(c.value for c in at.code if "runs=" in c.value)
    assert "log=1" in link and "runs=" in link


# ---- trade-offs --------------------------------------------------------------------------------------------------
def test_trade_offs_draw_the_front_list_it_and_keep_only_it(monkeypatch, churn):
    uri, table = churn
    wanted = table["run_id"].tolist()[:12]
    at = compare(monkeypatch, uri, runs=wanted)
    at.toggle(key="compare_pareto").set_value(True).run()
    assert_clean(at)
    x, y = at.selectbox(key="compare_pareto_x").value, at.selectbox(key="compare_pareto_y").value
    assert x != y and {x, y} <= set(at.multiselect(key="compare_metrics").options)
    pareto = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                  if any(layer.get("name") == "front_line" for layer in json.loads(c.proto.spec).get("layer", [])))
    assert [p["name"] for p in pareto["params"]] == ["pick"]  # a click opens the run
    front = next(d.value for d in at.dataframe if "run" in d.value.columns and x in d.value.columns)
    assert 1 <= len(front) < len(wanted)
    titles = [layer["encoding"]["x"]["title"] for layer in pareto["layer"] if "encoding" in layer][:1]
    assert titles and ("higher is better" in titles[0] or "lower is better" in titles[0])
    at.button(key="compare_pareto_only").click().run()
    assert_clean(at)
    assert len(at.multiselect(key="compare_runs").value) == len(front)
    assert at.query_params["runs"].count(",") == len(front) - 1


def test_trade_offs_with_a_third_objective(monkeypatch, churn):
    uri, table = churn
    at = compare(monkeypatch, uri, runs=table["run_id"].tolist()[:12])
    at.toggle(key="compare_pareto").set_value(True).run()
    options = at.selectbox(key="compare_pareto_c").options
    third = next(o for o in options if o not in ("(none)", at.selectbox(key="compare_pareto_x").value,
                                                 at.selectbox(key="compare_pareto_y").value))
    at.selectbox(key="compare_pareto_c").set_value(third).run()
    assert_clean(at)
    assert at.query_params["pc"] == third
    assert any(third in d.value.columns for d in at.dataframe)


# ---- issue 17: the numbers shown are the numbers logged ------------------------------------------------------------
@pytest.fixture(scope="module")
def odd_store(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    """Runs with the cases public stores have: integer params above 10⁴ and 10⁹, MLflow's inf sentinel, unnamed
    (legacy) runs, a sparse metric, histories logged at step 0 only, and latest values differing in the 5th
    digit."""
    import sqlite3

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    path = tmp_path_factory.mktemp("odd") / "mlflow.db"
    uri = f"sqlite:///{path}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("odd")
    t0 = 1_700_000_000_000
    names = []
    for i in range(5):
        run = client.create_run(experiment, start_time=t0 + i * 1000, run_name=f"odd-{i}")
        metrics = [Metric("auc", 0.99612 + i * 0.00001, t0, 0), Metric("loss", 0.5 - i / 100, t0, 0),
                   Metric("loss", 0.4 - i / 100, t0 + 10, 1), Metric("step0", 3.0 + i, t0, 0)]
        if i == 0:
            metrics += [Metric("loss", float("inf"), t0 + 20, 2), Metric("latency", float("inf"), t0, 0)]
        else:
            metrics.append(Metric("latency", 10.0 * i, t0, 0))
        if i == 4:
            metrics.append(Metric("sparse", 1.0, t0, 0))
        client.log_batch(run.info.run_id, metrics=metrics,
                         params=[Param("seed", str(97531 + i)), Param("rows", str(1_234_567_890 + i))])
        client.set_terminated(run.info.run_id, end_time=t0 + 60_000)
        names.append(run.info.run_id)
    with sqlite3.connect(path) as con:  # two legacy runs: no name at all
        con.executemany("UPDATE runs SET name = '' WHERE run_uuid = ?", [(r,) for r in names[3:]])
        con.executemany("DELETE FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'", [(r,) for r in names[3:]])
    from lens_core import open_tracker

    return uri, open_tracker(uri).runs(experiment)


def test_issue17_numbers_and_labels_on_compare(monkeypatch, odd_store):
    uri, table = odd_store
    wanted = table["run_id"].tolist()
    at = compare(monkeypatch, uri, runs=wanted)
    assert_clean(at)
    at.multiselect(key="compare_metrics").set_value(["auc", "latency", "loss", "sparse", "step0"])
    at.toggle(key="compare_all_params").set_value(True).run()
    assert_clean(at)
    labels = at.dataframe[0].value["run"].tolist()
    unnamed = [r for r, n in zip(table["run_id"], table["run_name"]) if not isinstance(n, str) or not n.strip()]
    assert len(unnamed) == 2 and all(r[:8] in labels for r in unnamed)  # legacy runs read their short id
    diff = next(d.value for d in at.dataframe if "Param" in str(d.proto) or "seed" in d.value.index)
    assert "97531" in diff.loc["seed"].tolist() and "1234567890" in diff.loc["rows"].tolist()  # exactly as logged
    views = {view["title"]["text"]: (view, data) for view, data in charts(at)}
    auc_view, auc_data = views["auc"]
    texts = next(layer for layer in auc_view["layer"] if layer["mark"]["type"] == "text")
    assert texts["encoding"]["text"]["field"] == "value_text"
    assert auc_data["value_text"].nunique() == 5  # five bars, five readable values (not five "0.9961")
    spec_text = json.dumps(metric_grid(at))
    assert '"format": "~g"' not in spec_text and '"format":"~g"' not in spec_text  # never "1e+1 … 6e+1"
    assert "1 non-finite point not drawn" in views["latency"][0]["title"]["subtitle"]
    assert "1 non-finite point not drawn" in views["loss"][0]["title"]["subtitle"]
    assert "4 of 5 runs lack it" in views["sparse"][0]["title"]["subtitle"]
    assert views["step0"][0]["layer"][0]["mark"]["type"] == "bar"  # one point per run: a readable bar, no time axis
    tooltip = next(t for layer in auc_view["layer"] for t in (layer.get("encoding", {}).get("tooltip") or [])
               if isinstance(t, dict) and t.get("field") == "value")
    assert tooltip["format"] == ",.5~g"  # 0.99612 … 0.99616 in full


def test_issue17_statistics_skip_infinite_values_and_say_so(monkeypatch, odd_store):
    uri, table = odd_store
    at = compare(monkeypatch, uri, runs=table["run_id"].tolist())
    at.multiselect(key="compare_metrics").set_value(["latency", "auc"]).run()
    at.multiselect(key="compare_group").set_value(["params.rows"]).run()
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Left out as non-finite: 1 value of latency" in captions


# ---- the report --------------------------------------------------------------------------------------------------
def test_report_is_made_only_when_asked_and_holds_the_view(monkeypatch, churn):
    uri, table = churn
    at = compare(monkeypatch, uri, runs=table["run_id"].tolist()[:6])
    assert not [b for b in at.get("download_button") if b.label == "Download report"]  # nothing built yet
    at.multiselect(key="compare_group").set_value([next(iter(at.multiselect(key="compare_group").options))]).run()
    at.toggle(key="compare_pareto").set_value(True).run()
    at.button(key="compare_report_prepare").click().run()
    assert_clean(at)
    assert [b for b in at.get("download_button") if b.label == "Download report"]
    html = at.session_state["compare.report"][1]
    assert html.count('data-lens-chart="') == 2  # the metric charts and the trade-offs
    assert "Statistics per group" in html and "Params" in html and "open the live view" in html
    assert "runs=" in at.session_state["compare.report"][0]
    at.toggle(key="compare_log").set_value(True).run()  # another view: the old report is not offered
    assert not [b for b in at.get("download_button") if b.label == "Download report"]
