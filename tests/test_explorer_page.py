"""The data explorer inside the workflow page (AppTest, demo fleet data), and its charts and maps as data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from lens_core.explorer import maps
from lens_core.explorer import profile as pr
from lens_core.explorer import query as q
from lens_core.explorer import views as ex

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
RUN_PAGE = "pages/2_Run.py"


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]


def radio(at: AppTest, suffix: str):
    return next(r for r in at.radio if str(r.key).endswith(suffix))


def arrow_rows(payload: bytes) -> int:
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all().num_rows


def captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


@pytest.fixture(scope="module")
def fleet_run(demo_build) -> tuple[str, str]:
    uri = demo_build["uri"]
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == "fleet-trajectories")
    runs = tracker.runs(exp.experiment_id)
    return uri, runs.loc[runs["status"] == "FINISHED", "run_id"].iloc[-1]


def open_item(monkeypatch, fleet_run, item: str) -> AppTest:
    uri, run_id = fleet_run
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    at = AppTest.from_file(HOME, default_timeout=90)
    at.query_params.update(run=run_id, item=item)
    at.switch_page(RUN_PAGE)
    return at.run()


@pytest.mark.parametrize("item", ["artifact:data/trajectories.parquet", "artifact:data/trajectories.csv"])
def test_table_view(monkeypatch, fleet_run, item):
    at = open_item(monkeypatch, fleet_run, item)
    assert_clean(at)
    assert radio(at, ".view").options == ["Table", "Chart", "Map", "Columns"]
    table = at.dataframe[0].value
    assert table.shape == (50, 10) and list(table.columns[:3]) == ["vehicle_id", "vehicle_type", "timestamp"]
    assert "6,000 rows · 10 columns · page 1 of 120" in captions(at)
    assert "latitude / longitude" in captions(at)
    assert len(at.get("download_button")) >= 2  # the filtered CSV and the file itself

    # the column chooser, sorting and the next page
    at.multiselect(key=next(m.key for m in at.multiselect if str(m.key).endswith(".columns"))).set_value(
        ["vehicle_id", "speed_kmh"]).run()
    at.selectbox(key=next(s.key for s in at.selectbox if str(s.key).endswith(".sort"))).set_value("speed_kmh").run()
    at.toggle(key=next(t.key for t in at.toggle if str(t.key).endswith(".desc"))).set_value(True).run()
    at.number_input(key=next(n.key for n in at.number_input if str(n.key).endswith(".page"))).set_value(2).run()
    assert_clean(at)
    page = at.dataframe[0].value
    assert list(page.columns) == ["vehicle_id", "speed_kmh"] and page["speed_kmh"].is_monotonic_decreasing
    assert "page 2 of 120" in captions(at)


def test_filters_narrow_the_table(monkeypatch, fleet_run):
    at = open_item(monkeypatch, fleet_run, "artifact:data/trajectories.parquet")
    key = next(m.key for m in at.multiselect if str(m.key).endswith(".filter_on"))
    at.multiselect(key=key).set_value(["vehicle_type", "speed_kmh"]).run()
    at.multiselect(key=key.replace("filter_on", "filter.vehicle_type")).set_value(["bus"]).run()
    speed = at.slider(key=key.replace("filter_on", "filter.speed_kmh"))
    speed.set_value((30.0, speed.max)).run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table["vehicle_type"]) == {"bus"} and (table["speed_kmh"] >= 30).all()
    assert "(filtered from 6,000)" in captions(at)


def test_the_view_is_a_link_and_stale_parts_fall_back(monkeypatch, fleet_run):
    """Filters, chart picks and map picks go into ``?data=``; opening that link in a new session shows the same
    view; a link naming a column this file does not have falls back with a note."""
    at = open_item(monkeypatch, fleet_run, "artifact:data/trajectories.parquet")
    key = next(m.key for m in at.multiselect if str(m.key).endswith(".filter_on"))
    at.multiselect(key=key).set_value(["vehicle_type", "speed_kmh"]).run()
    at.multiselect(key=key.replace("filter_on", "filter.vehicle_type")).set_value(["bus"]).run()
    speed = at.slider(key=key.replace("filter_on", "filter.speed_kmh"))
    top = speed.max
    speed.set_value((30.0, top)).run()
    radio(at, ".view").set_value("Chart").run()
    radio(at, ".chart").set_value("Bar").run()
    at.selectbox(key=next(s.key for s in at.selectbox if str(s.key).endswith(".bar.agg"))).set_value("max").run()
    assert_clean(at)
    link = at.query_params["data"]
    assert link and at.query_params["item"] == "artifact:data/trajectories.parquet"

    uri, run_id = fleet_run
    again = AppTest.from_file(HOME, default_timeout=90)
    again.query_params.update(run=run_id, item="artifact:data/trajectories.parquet", data=link)
    again.switch_page(RUN_PAGE)
    again.run()
    assert_clean(again)
    assert radio(again, ".view").value == "Chart" and radio(again, ".chart").value == "Bar"
    assert next(s for s in again.selectbox if str(s.key).endswith(".bar.agg")).value == "max"
    assert next(m for m in again.multiselect if str(m.key).endswith(".filter.vehicle_type")).value == ["bus"]
    assert next(s for s in again.slider if str(s.key).endswith(".filter.speed_kmh")).value == (30.0, top)
    assert "(filtered" in captions(again) or "computed in DuckDB over the filtered" in captions(again)
    assert not again.info

    from lens_core.links import pack
    stale = AppTest.from_file(HOME, default_timeout=90)
    stale.query_params.update(run=run_id, item="artifact:data/trajectories.parquet",
                              data=pack({"view": "Chart", "chart": "Scatter", "sc.x": "no_such_column",
                                         "filter_on": ["speed_kmh", "gone"], "filter.speed_kmh": [-1e9, 5]}))
    stale.switch_page(RUN_PAGE)
    stale.run()
    assert not stale.exception and not stale.error
    assert radio(stale, ".chart").value == "Scatter"
    notes = " ".join(str(i.value) for i in stale.info)
    assert "no_such_column" in notes and "speed_kmh" in notes and "gone" in notes
    typed = AppTest.from_file(HOME, default_timeout=90)  # hand-edited: JSON's Infinity for a whole number
    typed.query_params.update(run=run_id, item="artifact:data/trajectories.parquet",
                              data='{"view":"Map","map":"Trajectories","tr.max":Infinity}')
    typed.switch_page(RUN_PAGE)
    typed.run()
    assert not typed.exception and not typed.error and radio(typed, ".map").value == "Trajectories"
    assert "at most" in " ".join(str(i.value) for i in typed.info)
    stale = AppTest.from_file(HOME, default_timeout=90)
    stale.query_params.update(run=run_id, item="artifact:data/trajectories.parquet", data="~not-a-packed-view")
    stale.switch_page(RUN_PAGE)
    stale.run()
    assert not stale.exception and "data view could not be read" in " ".join(str(i.value) for i in stale.info)


@pytest.mark.parametrize("kind", ["Scatter", "Line", "Bar", "Histogram", "Heatmap"])
def test_each_chart_renders(monkeypatch, fleet_run, kind):
    at = open_item(monkeypatch, fleet_run, "artifact:data/trajectories.parquet")
    radio(at, ".view").set_value("Chart").run()
    assert radio(at, ".chart").value == "Line"  # preset from the suggestions: a time column and numbers
    radio(at, ".chart").set_value(kind).run()
    assert_clean(at)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    rows = sum(arrow_rows(ds.data.data) for ds in charts[0].proto.datasets)
    assert 0 < rows <= 10_000
    assert "sent to the browser" in captions(at)
    if kind == "Scatter":
        assert "sample of 5,000 of 6,000 rows" in captions(at)  # the note whenever data is sampled


@pytest.mark.parametrize("kind,layer", [("Points", "ScatterplotLayer"), ("Density", "PolygonLayer"),
                                        ("Trajectories", "PathLayer")])
def test_each_map_renders_offline(monkeypatch, fleet_run, kind, layer):
    at = open_item(monkeypatch, fleet_run, "artifact:data/trajectories.parquet")
    radio(at, ".view").set_value("Map").run()
    radio(at, ".map").set_value(kind).run()
    assert_clean(at)
    decks = at.get("deck_gl_json_chart")
    assert len(decks) == 1
    spec = json.loads(decks[0].proto.json)
    types = [lay["@@type"] for lay in spec["layers"]]
    assert layer in types and "TextLayer" in types  # the data and the graticule's labels
    assert "mapStyle" not in spec or spec["mapStyle"] in (None, "", "__MAP_STYLE__")
    assert "carto" not in decks[0].proto.json.lower() and "mapbox://" not in decks[0].proto.json
    data = next(lay for lay in spec["layers"] if lay["@@type"] == layer and lay["id"] != "graticule")["data"]
    assert 0 < len(data) <= 10_000
    if kind == "Trajectories":
        assert len(data) == 20 and all(len(d["path"]) == 300 for d in data)  # one path per vehicle, every point
    assert "no basemap" in captions(at)


def test_dataset_input_opens_the_explorer(monkeypatch, fleet_run):
    at = open_item(monkeypatch, fleet_run, "dataset:fleet-trajectories")
    assert_clean(at)
    assert any("**Data**" in str(m.value) for m in at.markdown)
    assert "6,000 rows" in captions(at) and radio(at, ".view").options[-2] == "Map"


def test_columns_view(monkeypatch, fleet_run):
    at = open_item(monkeypatch, fleet_run, "artifact:data/trajectories.parquet")
    radio(at, ".view").set_value("Columns").run()
    assert_clean(at)
    summary = at.dataframe[0].value
    assert dict(zip(summary["column"], summary["kind"]))["timestamp"] == "datetime"


# ---- the explorer's data, without Streamlit -------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_fleet(tmp_path_factory) -> pr.Profile:
    rng = np.random.default_rng(7)
    n, vehicles = 60_000, 300
    frame = pd.DataFrame({
        "vehicle": np.repeat([f"v{i}" for i in range(vehicles)], n // vehicles),
        "t": np.tile(pd.date_range("2025-01-01", periods=n // vehicles, freq="min"), vehicles),
        "lat": 45 + rng.normal(0, 0.1, n), "lon": 7 + rng.normal(0, 0.1, n), "w": rng.uniform(0, 1, n),
        "kind": rng.choice(["a", "b"], n),
    })
    path = tmp_path_factory.mktemp("fleet") / "fleet.parquet"
    frame.to_parquet(path)
    return pr.profile(q.Source.of(path))


def test_big_data_is_capped_or_aggregated(big_fleet):
    p = big_fleet
    points = maps.points_data(p, "w")
    assert len(points.frame) == ex.POINT_CAP and "sample of 10,000 of 60,000" in points.notes[0]
    density = maps.density_data(p, "w", "sum", cells=50)
    assert len(density.frame) <= 50 * 50 and abs(density.frame["rows"].sum() - 60_000) < 1
    np.testing.assert_allclose(density.frame["value"].sum(), pd.read_parquet(p.source.path)["w"].sum(), rtol=1e-9)
    traj = maps.trajectory_data(p, "vehicle", "t", max_entities=100, max_vertices=5000)
    assert len(traj.frame) == 100 and traj.extra["vertices"] <= 5000
    assert any("100 vehicle values" in n for n in traj.notes) and any("simplified" in n for n in traj.notes)
    first = traj.frame["path"].iloc[0]
    assert len(first) >= 2
    line = ex.line_data(p, "t", ("w",))
    assert 0 < len(line.frame) <= ex.LINE_BUCKETS
    points = maps.points_data(p, "kind", ("vehicle",))
    deck, legend = maps.points_deck(points, p, "kind", ("vehicle",))
    assert set(legend["categories"]) == {"a", "b"}
    layers = json.loads(deck.to_json())["layers"]
    assert next(x for x in layers if x["id"] == "points")["radiusUnits"] == "pixels"
    assert layers[-1]["id"] == "graticule-labels"  # degree labels drawn over the data


def test_tooltips_escape_column_names(tmp_path: Path):
    frame = pd.DataFrame({"lat": [45.0, 45.1], "lon": [7.0, 7.1], "<b>x</b>.y": ["a", "b"]})
    path = tmp_path / "odd.csv"
    frame.to_csv(path, index=False)
    p = pr.profile(q.Source.of(path))
    cd = maps.points_data(p, "<b>x</b>.y", ("<b>x</b>.y",))
    deck, _ = maps.points_deck(cd, p, "<b>x</b>.y", ("<b>x</b>.y",))
    html = deck._tooltip["html"]  # the label escaped, the value a field of renamed data (t0), not the name
    assert "&lt;b&gt;x&lt;/b&gt;.y" in html and "<b>x</b>.y" not in html and "{t0}" in html
    layer = next(x for x in json.loads(deck.to_json())["layers"] if x["id"] == "points")
    assert set(layer["data"][0]) == {"lon", "lat", "rgba", "t0"}


# ---- the component alone, on awkward data ---------------------------------------------------------------------
def _explorer_script(path: str) -> None:
    from pathlib import Path

    from lens_core.ui import explorer as explorer_ui

    explorer_ui.explore(Path(path), key="x")


@pytest.fixture()
def awkward_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(9)
    n = 300
    frame = pd.DataFrame({
        'na"me; DROP TABLE t; --': rng.choice(["it's", 'say "hi"', "ünï ✓", "plain"], n),
        "with space": rng.normal(size=n),
        "when": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
        "free text": [f"row {i} {rng.random():.6f}" for i in range(n)],
        "empty": [None] * n,
        "n.a[0]": rng.integers(0, 5, n),
        "pickup_lat": 40.7 + rng.normal(0, 0.02, n), "pickup_lng": -74 + rng.normal(0, 0.02, n),
        "driver": rng.choice(["d1", "d2", "d3"], n),
    })
    path = tmp_path / "awk'ward \"file\".csv"
    frame.to_csv(path, index=False)
    return path


def test_component_on_awkward_names_and_values(awkward_csv: Path):
    at = AppTest.from_function(_explorer_script, args=(str(awkward_csv),), default_timeout=60).run()
    assert_clean(at)
    assert "300 rows · 9 columns" in captions(at)
    assert radio(at, ".view").options == ["Table", "Chart", "Map", "Columns"]  # pickup_lat / pickup_lng

    nasty = 'na"me; DROP TABLE t; --'
    at.multiselect(key="x.filter_on").set_value([nasty, "free text", "empty"]).run()
    at.multiselect(key=f"x.filter.{nasty}").set_value(['say "hi"']).run()
    at.text_input(key="x.filter.free text").input("row 1").run()
    at.selectbox(key="x.filter.empty.nulls").set_value("only empty").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table[nasty]) == {'say "hi"'} and table["free text"].str.contains("row 1").all() and len(table)

    for kind in ("Scatter", "Line", "Bar", "Histogram", "Heatmap"):
        radio(at, ".view").set_value("Chart").run()
        radio(at, ".chart").set_value(kind).run()
        assert_clean(at)
        assert len(at.get("vega_lite_chart")) == 1, kind
    for kind in ("Points", "Density", "Trajectories"):
        radio(at, ".view").set_value("Map").run()
        radio(at, ".map").set_value(kind).run()
        assert_clean(at)
        assert len(at.get("deck_gl_json_chart")) == 1, kind
    radio(at, ".view").set_value("Columns").run()
    assert_clean(at)
    kinds = dict(zip(at.dataframe[0].value["column"], at.dataframe[0].value["kind"]))
    assert kinds["when"].startswith("datetime") and kinds["free text"] == "text"


def test_component_on_a_file_that_is_not_a_table(tmp_path: Path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    at = AppTest.from_function(_explorer_script, args=(str(path),), default_timeout=60).run()
    assert not at.exception
    assert at.warning and "could not be read" in at.warning[0].value


def test_json_records_are_tables(tmp_path: Path):
    from lens_core.confine import dataset_path
    from lens_core.ui import explorer as explorer_ui

    (tmp_path / "records.json").write_text('[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]')
    (tmp_path / "lines.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (tmp_path / "config.json").write_text('{"lr": 0.1, "layers": [1, 2]}')
    assert explorer_ui.is_table_file(tmp_path / "records.json")
    assert explorer_ui.is_table_file(tmp_path / "lines.jsonl")
    assert not explorer_ui.is_table_file(tmp_path / "config.json")
    assert dataset_path((tmp_path / "records.json").as_uri(), [tmp_path]) == tmp_path / "records.json"
    assert dataset_path("s3://bucket/data.parquet", [tmp_path]) is None
    assert dataset_path(str(tmp_path / "missing.csv"), [tmp_path]) is None
    p = pr.profile(q.Source.of(tmp_path / "records.json"))
    assert p.rows == 2 and [c.name for c in p.columns] == ["a", "b"]


def test_a_redraw_reuses_the_entity_pick_until_the_file_changes(tmp_path: Path, monkeypatch):
    import os

    statements: list[str] = []
    real_sql = q.sql
    monkeypatch.setattr(q, "sql", lambda text, params=(), **kw: statements.append(text) or real_sql(text, params, **kw))

    def write(speed: float) -> None:
        frame = pd.DataFrame({"vehicle": np.repeat(["a", "b", "c"], [30, 20, 10]),
                              "t": pd.date_range("2025-01-01", periods=60, freq="min"),
                              "lat": np.linspace(45, 45.1, 60), "lon": np.linspace(7, 7.1 * speed, 60),
                              "kind": ["x", "y"] * 30})
        frame.to_parquet(path)

    path = tmp_path / "paths.parquet"
    write(1.0)
    p = pr.profile(q.Source.of(path))
    statements.clear()
    first = maps.trajectory_data(p, "vehicle", "t", max_entities=2)
    assert len(statements) == 2  # the pick, then the paths
    recoloured = maps.trajectory_data(p, "vehicle", "t", "kind", max_entities=2)
    assert len(statements) == 3  # the paths only
    assert first.frame["entity"].tolist() == recoloured.frame["entity"].tolist() == ["a", "b"]
    assert first.frame["path"].tolist() == recoloured.frame["path"].tolist()
    write(1.01)  # a new version of the file: picked and drawn again
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    changed = maps.trajectory_data(p, "vehicle", "t", max_entities=2)
    assert len(statements) == 5 and changed.frame["path"].tolist() != first.frame["path"].tolist()


# ---- wide files and remembered failures ------------------------------------------------------------------------
@pytest.fixture()
def wide_run(tmp_path: Path) -> tuple[str, str]:
    """A run whose artifact is a 50-row Parquet file with 10,000 columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("wide", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment_id, run_name="wide-features")
    values = np.random.default_rng(4).normal(size=(10_000, 50))
    pq.write_table(pa.Table.from_arrays(list(values), names=[f"f{i}" for i in range(10_000)]), tmp_path / "wide.parquet")
    client.log_artifact(run.info.run_id, str(tmp_path / "wide.parquet"), "data")
    client.set_terminated(run.info.run_id)
    return uri, run.info.run_id


def test_a_wide_file_is_profiled_on_a_column_budget(monkeypatch, wide_run):
    at = open_item(monkeypatch, wide_run, "artifact:data/wide.parquet")
    assert_clean(at)
    assert "50 rows · 10,000 columns" in captions(at)
    assert f"Profiled {pr.MAX_PROFILED_COLUMNS} of 10,000 columns" in captions(at)
    chooser = next(m for m in at.multiselect if str(m.key).endswith(".columns"))
    assert len(chooser.options) == 10_000 and at.dataframe[0].value.shape == (50, 40)
    chooser.set_value(["f0", "f9999"]).run()  # a column the profile left out is still one click away
    assert_clean(at)
    assert list(at.dataframe[0].value.columns) == ["f0", "f9999"]
    radio(at, ".view").set_value("Columns").run()
    assert_clean(at)
    columns = at.dataframe[0].value  # every column is listed; those past the budget say so
    assert len(columns) == 10_000
    assert (columns["kind"] == "not profiled").sum() == 10_000 - pr.MAX_PROFILED_COLUMNS


def test_a_failed_profile_is_remembered_with_a_retry(tmp_path: Path, monkeypatch):
    path = tmp_path / "slow.parquet"
    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_parquet(path)
    calls: list[str] = []
    real = pr.profile

    def too_slow(source, **kwargs):
        calls.append(source.path)
        raise q.QueryTimeoutError("The query was stopped after 30 s. Narrow it with filters, fewer groups or a sample.")

    monkeypatch.setattr(pr, "profile", too_slow)
    at = AppTest.from_function(_explorer_script, args=(str(path),), default_timeout=60).run()
    assert not at.exception and len(calls) == 1
    assert "took too long" in at.warning[0].value and "remembered for this version" in at.warning[0].value
    at.run()  # a rerun shows the remembered failure without profiling again
    assert not at.exception and len(calls) == 1 and "took too long" in at.warning[0].value
    monkeypatch.setattr(pr, "profile", real)
    at.button(key="x.retry_profile").click().run()  # Retry profiles again, and now it works
    assert_clean(at)
    assert "3 rows · 1 column" in captions(at) and at.dataframe
