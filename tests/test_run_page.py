"""The workflow (run) page through Streamlit's AppTest, on the reference store, the demo store and a server.

The page is opened the way the app opens it: ``Home.py`` is the main script and the test switches to
``pages/2_Run.py``, so the page links it draws (to Home, to other runs, to the comparison page) resolve."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from lens_core.errors import TrackerWriteError
from lens_core.runs import workflow as wf

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
RUN_PAGE = "pages/2_Run.py"


def open_page(monkeypatch: pytest.MonkeyPatch, uri: str, user: str | None = None, **query: str) -> AppTest:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params.update(query)
    if user is not None:
        at.session_state["lens.user_name"] = user
    at.switch_page(RUN_PAGE)
    return at.run()


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def links(at: AppTest) -> dict[str, str]:
    """Page links on the page: label → query string."""
    return {link.proto.label: link.proto.query_string for link in at.get("page_link")}


def radio(at: AppTest, kind: str):
    return next(r for r in at.radio if str(r.key).endswith(f".{kind}"))


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ---- rendering ----------------------------------------------------------------------------------------------------
def test_reference_run_header_tree_and_default_metric(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"])
    assert_clean(at)
    assert at.title[0].value.startswith("run-00 ") and "Finished" in at.title[0].value
    header = texts(at.markdown)
    assert "started Nov 14 2023" in header and "**30 s**" in header
    assert ids["first_run"] in texts(at.code)  # the run id, copyable, in the sidebar

    # the tree: params with values, metrics, the dataset with its context, the artifact root, the children
    assert radio(at, "param").options == ["depth · :gray[2]", "lr · :gray[0.1]", "model · :gray[gbm]"]
    assert [o.split(" · ")[0] for o in radio(at, "metric").options] == ["eval.acc", "train/loss"]
    assert radio(at, "dataset").options == ["train"]
    assert any("notes" in o for o in radio(at, "artifact").options)
    child_links = {label: q for label, q in links(at).items() if label.startswith("child-")}
    assert set(child_links) == {"child-0", "child-1"} and all(q.startswith("run=") for q in child_links.values())
    assert links(at)["reference ü"] == f"experiment={ids['main']}"

    # nothing picked: the first metric, ranked among the experiment's runs (higher is better for "acc")
    assert radio(at, "metric").value == "metric:eval.acc"
    assert at.subheader[0].value.endswith("eval.acc")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Latest value"] == "0.5" and metrics["Rank of 11"] == "11"
    assert metrics["Min"] == "0.5" and metrics["Max"] == "0.61"
    best = next(label for label in links(at) if label.startswith("Best:"))
    assert "run-11" in best and "metric%3Aeval.acc" in links(at)[best]
    assert "Worst: run-00" in texts(at.markdown)  # this run is the worst: said, not linked
    assert at.feedback[0].value is None  # not rated


def test_nested_run_links_its_parent(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    child = open_tracker(uri).run(ids["first_run"]).child_run_ids[0]
    at = open_page(monkeypatch, uri, run=child)
    assert_clean(at)
    assert links(at)["Part of run-00"] == f"run={ids['first_run']}"


def test_running_and_deleted_runs(monkeypatch, sqlite_store):
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["running_run"])
    assert_clean(at)
    assert "Running" in at.title[0].value and "still running" in texts(at.markdown) and "so far" in texts(at.markdown)
    deleted = MlflowClient(uri).search_runs([ids["main"]], run_view_type=ViewType.DELETED_ONLY)[0]
    at = open_page(monkeypatch, uri, run=deleted.info.run_id)
    assert_clean(at)
    assert "deleted" in at.warning[0].value
    assert radio(at, "param").options == ["only_on_deleted · :gray[x]"]


def test_metric_history_chart(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="metric:train/loss")
    assert_clean(at)
    assert radio(at, "metric").value == "metric:train/loss"
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # history and standing
    assert "History" in texts(at.markdown) and "4 points" in texts(at.markdown)
    direction = at.button_group[0]
    assert direction.value == "min" and direction.label == "Better train/loss"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Latest value"] == "0.25" and metrics["Rank of 14"] == "12"


def test_param_distribution_and_compare_link(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="param:model")
    assert_clean(at)
    assert at.subheader[0].value.endswith("model")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Value"] == "gbm" and metrics["Runs with this value"] == "4 of 14"
    assert len(at.get("vega_lite_chart")) == 1
    label = "Compare the 4 runs with model = gbm"
    if (ROOT / "pages/1_Compare.py").is_file():
        query = links(at)[label]
        assert query.startswith("runs=") and query.count("%2C") == 3 and ids["first_run"] in query
    else:
        assert label in texts(at.caption)


def test_dataset_item(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="dataset:train")
    assert_clean(at)
    assert radio(at, "dataset").value == "dataset:train"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Context"] == "training" and metrics["Rows"] == "2" and metrics["Digest"] != "—"
    assert "train.csv" in texts(at.code)
    schema = at.dataframe[0].value
    assert list(schema["column"]) == ["x", "y"]


def test_artifacts_preview_text_and_csv(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="artifact:notes/readme.txt")
    assert_clean(at)
    assert "notes for run 0" in texts(at.code)
    assert radio(at, "artifact").value == "artifact:notes/readme.txt"
    assert len(at.download_button) == 1

    at.query_params["item"] = "artifact:data/table.csv"
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["a", "b"] and table.iloc[0].tolist() == [1, 2]
    assert "1 row · 2 columns" in texts(at.caption)


def test_browsing_artifact_folders_in_the_tree(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="artifact:")
    assert_clean(at)
    folders = radio(at, "artifact")
    assert folders.value == "artifact:"
    assert [o.split(":")[-1].strip() for o in folders.options] == ["**all artifacts**", "data", "notes"]
    folders.set_value("artifact:notes/").run()
    assert at.query_params["item"] == "artifact:notes/"
    listing = radio(at, "artifact")
    assert listing.value == "artifact:notes/" and len(listing.options) == 3  # the folder, up, readme.txt
    assert "readme.txt" in listing.options[2]
    assert list(at.dataframe[0].value["name"]) == ["readme.txt"]
    listing.set_value("artifact:notes/readme.txt").run()
    assert at.query_params["item"] == "artifact:notes/readme.txt"
    assert "notes for run 0" in texts(at.code)
    radio(at, "param").set_value("param:lr").run()  # another section takes the selection
    assert at.query_params["item"] == "param:lr" and radio(at, "artifact").value is None
    assert {m.label: m.value for m in at.metric}["Value"] == "0.1"


def test_unknown_item_falls_back_with_a_note(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="param:nope")
    assert not at.exception
    assert "param:nope" in at.warning[0].value and at.subheader[0].value.endswith("eval.acc")
    at = open_page(monkeypatch, uri, run=ids["first_run"], item="artifact:notes/gone.txt")
    assert "gone.txt" in at.warning[0].value and at.dataframe[0].value["name"].tolist() == ["readme.txt"]


@pytest.mark.parametrize("experiment", ["churn-classification", "wine-multiclass", "diabetes-regression",
                                        "fleet-trajectories"])
def test_demo_runs_render_every_item_kind(monkeypatch, demo_build, experiment):
    uri = demo_build["uri"]
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == experiment)
    runs = tracker.runs(exp.experiment_id)
    run_id = runs.loc[runs["status"] == "FINISHED", "run_id"].iloc[-1]
    at = open_page(monkeypatch, uri, run=run_id)
    assert_clean(at)
    detail = tracker.run(run_id)
    assert at.title[0].value.startswith(detail.run_name)
    items = ([f"param:{k}" for k in detail.params] + [f"metric:{k}" for k in detail.metrics]
             + [f"dataset:{n}" for n in wf.dataset_item_names(detail.inputs)] + ["artifact:"]
             + [f"artifact:{r.path}" + ("/" if r.is_dir else "") for r in tracker.artifacts(run_id)])
    assert len(radio(at, "param").options) == len(detail.params) and len(radio(at, "dataset").options) == len(detail.inputs) > 0
    folder = next(r.path for r in tracker.artifacts(run_id) if r.is_dir)
    items += [f"artifact:{r.path}" for r in tracker.artifacts(run_id, folder) if not r.is_dir]
    for item in items:
        at.query_params["item"] = item
        at.run()
        assert_clean(at)
        assert not at.warning, (item, [w.value for w in at.warning])
        assert at.subheader, item


def test_demo_sweep_parent_lists_children(monkeypatch, demo_build):
    uri = demo_build["uri"]
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == "churn-classification")
    runs = tracker.runs(exp.experiment_id)
    parent = runs.loc[runs["run_name"] == "gbm-lr-sweep", "run_id"].iloc[0]
    at = open_page(monkeypatch, uri, run=parent)
    assert_clean(at)
    children = tracker.run(parent).child_run_ids
    assert len(children) == 12
    assert sum(q.startswith("run=") and q.removeprefix("run=") in children for q in links(at).values()) == 12
    (dag,) = at.get("graphviz_chart")  # the nested runs as a DAG of tasks
    assert dag.proto.spec.count("->") == 12 and "gbm-lr-sweep" in dag.proto.spec


def test_demo_rating_and_note_show_from_tags(monkeypatch, demo_build):
    uri = demo_build["uri"]
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == "churn-classification")
    runs = tracker.runs(exp.experiment_id)
    rated = runs.loc[runs["tags.lens.rating"] == "5", "run_id"].iloc[0]
    at = open_page(monkeypatch, uri, run=rated)
    assert_clean(at)
    assert at.feedback[0].value == 4  # five stars
    assert at.text_area[0].value == tracker.run(rated).tags["lens.note"]


# ---- finding a run ----------------------------------------------------------------------------------------------
def test_unknown_run_id_explains_and_offers_the_picker(monkeypatch, sqlite_store):
    uri, _ = sqlite_store
    at = open_page(monkeypatch, uri, run="0123456789abcdef0123456789abcdef")
    assert not at.exception
    assert at.title[0].value == "Run not found"
    assert "0123456789abcdef0123456789abcdef" in at.error[0].value
    assert at.selectbox(key="pick_experiment") and at.selectbox(key="pick_run")


def test_no_run_id_opens_the_picker(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, experiment=ids["main"])
    assert not at.exception
    assert at.title[0].value == "Open a run"
    assert at.selectbox(key="pick_experiment").value == ids["main"]
    picker = at.selectbox(key="pick_run")
    assert picker.value is None and len(picker.options) == 14
    picker.select(ids["first_run"]).run()
    assert_clean(at)
    assert at.query_params["run"] == ids["first_run"]
    assert at.title[0].value.startswith("run-00")


def test_picker_on_an_empty_experiment(monkeypatch, sqlite_store):
    uri, ids = sqlite_store
    at = open_page(monkeypatch, uri, experiment=ids["empty"])
    assert not at.exception
    assert at.selectbox(key="pick_run").disabled


# ---- rating -------------------------------------------------------------------------------------------------------
@pytest.fixture()
def writes(monkeypatch):
    """Record every set_tags call the sqlite adapter makes (and still write)."""
    from lens_core.trackers.mlflow_sqlite import SqliteTracker

    calls: list[dict[str, str]] = []
    original = SqliteTracker.set_tags

    def recording(self, run_id, tags):
        calls.append(dict(tags))
        return original(self, run_id, tags)

    monkeypatch.setattr(SqliteTracker, "set_tags", recording)
    return calls


def test_rating_and_note_are_saved_as_tags(monkeypatch, sqlite_copy, writes):
    uri, ids = sqlite_copy
    rid = ids["first_run"]
    at = open_page(monkeypatch, uri, user="Ada", run=rid)
    assert_clean(at)
    at.feedback[0].set_value(2).run()  # three stars
    assert_clean(at)
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.rating"] == "3" and tags["lens.rated_by"] == "Ada"
    rated_at = datetime.fromisoformat(tags["lens.rated_at"])
    assert rated_at.tzinfo is not None and abs(datetime.now(UTC) - rated_at) < timedelta(minutes=2)
    assert "lens.note" not in tags and writes == [{k: tags[k] for k in ("lens.rating", "lens.rated_by", "lens.rated_at")}]
    assert any("Rating saved" in str(t.value) for t in at.toast)
    assert "Last rated by Ada" in texts(at.caption)

    at.text_area[0].input("Promising, check the learning rate").run()
    assert_clean(at)
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.note"] == "Promising, check the learning rate" and tags["lens.rating"] == "3"
    assert set(writes[-1]) == {"lens.note", "lens.rated_by", "lens.rated_at"}  # only what changed
    assert tags["team"] == "nlp"  # other tags untouched

    again = open_page(monkeypatch, uri, run=rid)  # a new session shows what is stored
    assert again.feedback[0].value == 2 and again.text_area[0].value == "Promising, check the learning rate"


def test_existing_rating_is_shown_and_can_be_changed(monkeypatch, sqlite_copy):
    uri, ids = sqlite_copy
    tracker = open_tracker(uri)
    rated = next(r for r in tracker.runs(ids["main"]).itertuples() if r.run_name == "run-01").run_id
    at = open_page(monkeypatch, uri, user="Bo", run=rated)
    assert at.feedback[0].value == 3 and at.text_area[0].value == "good baseline"
    assert "Rated before ExperimentLens recorded who rated" in texts(at.caption)
    at.feedback[0].set_value(4).run()
    tags = open_tracker(uri).run(rated).tags
    assert tags["lens.rating"] == "5" and tags["lens.note"] == "good baseline" and tags["lens.rated_by"] == "Bo"


def test_saving_needs_a_name(monkeypatch, sqlite_copy, writes):
    uri, ids = sqlite_copy
    rid = ids["first_run"]
    at = open_page(monkeypatch, uri, run=rid)
    at.feedback[0].set_value(4).run()
    assert not at.exception
    assert "Enter your name in the sidebar" in at.warning[0].value
    assert writes == [] and "lens.rating" not in open_tracker(uri).run(rid).tags
    assert at.feedback[0].value == 4  # the user's input is kept

    at.sidebar.text_input(key="lens.user_name").input("Cy").run()  # giving the name saves what was waiting
    assert_clean(at)
    assert not at.warning
    tags = open_tracker(uri).run(rid).tags
    assert tags["lens.rating"] == "5" and tags["lens.rated_by"] == "Cy"


def test_a_failed_save_says_so_and_keeps_the_input(monkeypatch, sqlite_copy):
    from lens_core.trackers.mlflow_sqlite import SqliteTracker

    uri, ids = sqlite_copy
    rid = ids["first_run"]

    def refuse(self, run_id, tags):
        raise TrackerWriteError("The store is read-only.")

    monkeypatch.setattr(SqliteTracker, "set_tags", refuse)
    at = open_page(monkeypatch, uri, user="Ada", run=rid)
    at.text_area[0].input("keep me").run()
    assert not at.exception
    assert "Not saved" in at.error[0].value and "read-only" in at.error[0].value
    assert at.text_area[0].value == "keep me"
    assert "lens.note" not in open_tracker(uri).run(rid).tags

    monkeypatch.undo()  # the store accepts writes again: "Try again" saves
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at.button(key=f"retry.{rid}").click().run()
    assert_clean(at)
    assert open_tracker(uri).run(rid).tags["lens.note"] == "keep me"


# ---- over HTTP ----------------------------------------------------------------------------------------------------
@pytest.mark.server
def test_run_page_over_an_mlflow_server(monkeypatch, mlflow_server, sqlite_store):
    _, ids = sqlite_store
    at = open_page(monkeypatch, mlflow_server, run=ids["first_run"], item="artifact:notes/readme.txt")
    assert_clean(at)
    assert at.title[0].value.startswith("run-00")
    assert "notes for run 0" in texts(at.code)
    at.query_params["item"] = "metric:train/loss"
    at.run()
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Rank of 14"] == "12"  # 11 runs have a lower final loss


def test_model_insights_entry(monkeypatch, demo_build, sqlite_store):
    tracker = open_tracker(demo_build["uri"])
    exp = next(e for e in tracker.experiments() if e.name == "churn-classification")
    runs = tracker.runs(exp.experiment_id)
    finished = runs.loc[runs["run_name"].str.startswith("logreg") & (runs["status"] == "FINISHED"), "run_id"].iloc[0]
    at = open_page(monkeypatch, demo_build["uri"], run=finished)
    assert_clean(at)
    link = next(p.proto for p in at.get("page_link") if p.proto.label == "Open model insights")
    assert link.query_string == f"run={finished}"
    uri, ids = sqlite_store  # the reference runs log neither a model nor test data
    at = open_page(monkeypatch, uri, run=ids["first_run"])
    assert_clean(at)
    assert any("This run has no logged model" in c.value and "no test data" in c.value for c in at.caption)


def test_rating_round_trip_to_mlflow_and_home(monkeypatch, demo_build, tmp_path):
    """Set stars on a demo run → the tag is on the tracker (read by MLflow's own client) → Home's table shows it."""
    import shutil

    from mlflow import MlflowClient

    store = tmp_path / "demo"
    shutil.copytree(demo_build["folder"], store)
    uri = f"sqlite:///{store / 'mlflow.db'}"
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == "diabetes-regression")
    run_id = tracker.runs(exp.experiment_id)["run_id"].iloc[0]
    at = open_page(monkeypatch, uri, user="Ada", run=run_id)
    assert_clean(at)
    at.feedback[0].set_value(3).run()  # four stars
    assert_clean(at)
    assert MlflowClient(tracking_uri=uri).get_run(run_id).data.tags["lens.rating"] == "4"
    home = AppTest.from_file(HOME, default_timeout=60)
    home.query_params["experiment"] = exp.experiment_id
    home.run()
    table = home.dataframe[0].value.set_index("run_id")
    assert table.loc[run_id, "rating"] == "★★★★☆"


# ---- issue 17 on a store with the oddities public stores have -------------------------------------------------------
@pytest.fixture(scope="module")
def odd_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """Five runs: two unnamed (legacy), one logging loss = +inf (MLflow stores its 1.8e308 sentinel), one without
    loss; integer params above 10⁴ and 10⁹; a metric logged at step 0 only, three times; rmse = 6.6043219."""
    import sqlite3

    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("odd") / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("odd", artifact_location=str(db.parent / "artifacts"))
    t0 = int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp() * 1000)
    ids: dict[str, str] = {"experiment": exp}
    for i, (name, loss) in enumerate([("alpha", 1.3), ("beta", 0.5), (None, 0.7), ("inf-run", float("inf")),
                                      (None, None)]):
        run = client.create_run(exp, run_name=name or f"legacy-{i}", start_time=t0 + i)
        rid = run.info.run_id
        ids[name or f"legacy-{i}"] = rid
        client.log_param(rid, "seed", str(97531 + i))
        client.log_param(rid, "size", "1234567890")
        if loss is not None:
            client.log_metric(rid, "loss", loss, timestamp=t0 + i, step=3)
        client.log_metric(rid, "rmse", 6.6043219 + i, timestamp=t0, step=0)
        for k, value in enumerate((0.2, 0.4, 0.3)):
            client.log_metric(rid, "score", value + i, timestamp=t0 + 5 * k, step=0)
        client.set_terminated(rid, end_time=t0 + 42_000)
    with sqlite3.connect(db) as con:  # legacy runs: no name at all
        legacy = [ids["legacy-2"], ids["legacy-4"]]
        con.executemany("UPDATE runs SET name = '' WHERE run_uuid = ?", [(r,) for r in legacy])
        con.executemany("DELETE FROM tags WHERE key = 'mlflow.runName' AND run_uuid = ?", [(r,) for r in legacy])
    return uri, ids


def test_infinite_values_are_left_out_and_counted_not_shown_as_numbers(monkeypatch, odd_store):
    uri, ids = odd_store
    at = open_page(monkeypatch, uri, run=ids["inf-run"], item="metric:loss")
    assert_clean(at)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Latest value"] == "∞" and tiles["Rank"] == "—"
    assert (tiles["Min"], tiles["Mean"], tiles["Max"]) == ("0.5", "0.8333", "1.3")
    assert "1 run logged ±inf or NaN and 1 run never logged it" in texts(at.caption)
    page = texts(at.markdown) + texts(at.caption) + "\n".join(links(at))
    assert "1.798" not in page and "e+308" not in page
    assert "Worst: alpha (1.3)" in "\n".join(links(at))  # loss: lower is better


def test_unnamed_runs_read_as_their_short_id_and_tiles_keep_full_values(monkeypatch, odd_store):
    uri, ids = odd_store
    at = open_page(monkeypatch, uri, run=ids["legacy-2"], item="metric:rmse")
    assert_clean(at)
    assert at.title[0].value.startswith(ids["legacy-2"][:8])
    tiles = {m.label: m for m in at.metric}
    assert tiles["Latest value"].value == "8.604" and tiles["Latest value"].help == "8.6043219"
    at = open_page(monkeypatch, uri, run=ids["legacy-2"], item="param:seed")
    assert {m.label: m.value for m in at.metric}["Value"] == "97533"


def test_a_history_logged_at_step_zero_is_drawn_in_the_order_logged(monkeypatch, odd_store):
    uri, ids = odd_store
    at = open_page(monkeypatch, uri, run=ids["alpha"], item="metric:score")
    assert_clean(at)
    history = at.get("vega_lite_chart")[0]
    assert '"field": "order"' in history.proto.spec and "all at step 0" in history.proto.spec
    assert "drawn in the order logged: from May 01 2024, 12:00 UTC to 12:00:00 UTC" in texts(at.caption)
    at = open_page(monkeypatch, uri, run=ids["alpha"], item="metric:rmse")  # once: the value and when, as text
    assert "logged once: **6.604** at step 0, May 01 2024, 12:00 UTC" in texts(at.markdown)


def test_the_view_is_restored_from_its_link_and_stale_items_fall_back(monkeypatch, odd_store):
    uri, ids = odd_store
    at = open_page(monkeypatch, uri, run=ids["beta"], item="param:size")
    assert_clean(at)
    assert radio(at, "param").value == "param:size" and at.subheader[0].value.endswith("size")
    assert {m.label: m.value for m in at.metric}["Value"] == "1234567890"
    assert any("item=param%3Asize" in c.value or "item=param:size" in c.value for c in at.code)  # the Copy link
    at = open_page(monkeypatch, uri, run=ids["beta"], item="metric:gone")
    assert_clean(at)
    assert "no 'metric:gone'" in at.warning[0].value and radio(at, "metric").value == "metric:loss"
