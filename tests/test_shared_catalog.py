"""The runs tables shared on disk by every process on one cache folder: served only under the current change
token, equal to what the tracker reads, never stale after another process (or MLflow) changed the store."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lens_core import open_tracker
from lens_core.trackers import shared_catalog
from lens_core.trackers.base import Tracker

READ_IN_ANOTHER_PROCESS = """
import json, sys
from lens_core import open_tracker
t = open_tracker(sys.argv[1])
runs = t.runs(sys.argv[2])
print(json.dumps({"runs": sorted(runs["run_id"]), "tags": sorted(c for c in runs.columns if c.startswith("tags."))}))
"""


def other_process(uri: str, experiment_id: str) -> dict[str, list[str]]:
    import json

    out = subprocess.run([sys.executable, "-c", READ_IN_ANOTHER_PROCESS, uri, experiment_id], check=True,
                         capture_output=True, text=True, env=dict(os.environ), timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def store(sqlite_store, tmp_path) -> tuple[str, str]:
    uri, ids = sqlite_store
    shutil.copy(uri.removeprefix("sqlite:///"), tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}", ids["main"]


def never_read(monkeypatch, tracker: Tracker) -> None:
    def refuse(experiment_id: str) -> pd.DataFrame:
        raise AssertionError("the tracker was read although the shared table was current")
    monkeypatch.setattr(tracker, "_load_runs", refuse)


@pytest.mark.parametrize("kind", ["sqlite", "mlruns"])
def test_a_table_read_back_equals_the_one_read_from_the_store(store, mlruns_store, tmp_path, monkeypatch, kind):
    if kind == "mlruns":  # its "main" experiment has a running run: see the next test
        shutil.copytree(mlruns_store[0], tmp_path / "mlruns")
        uri, experiment_id = str(tmp_path / "mlruns"), mlruns_store[1]["contract"]
    else:
        uri, experiment_id = store
    first = open_tracker(uri).runs(experiment_id)
    again = open_tracker(uri)  # a new process would start like this: nothing in memory
    never_read(monkeypatch, again)
    shared = again.runs(experiment_id)
    pd.testing.assert_frame_equal(shared, first)  # values, NaN, ±inf, None times, string dtypes
    assert kind == "mlruns" or (first["metrics.weird"] == float("inf")).any()
    pd.testing.assert_frame_equal(open_tracker(uri).metric_extremes(experiment_id),
                                  open_tracker(uri).metric_extremes(experiment_id))


def test_an_mlruns_experiment_with_running_runs_is_shared_and_its_running_runs_watched(mlruns_store, tmp_path,
                                                                                      monkeypatch):
    """A running run's metric files grow without touching its folder. The process that read the table names its
    running runs in a note beside it, so a fresh process watches their metric files too: it is served the stored
    table while nothing changed, and reads again once a point is appended."""
    import time

    shutil.copytree(mlruns_store[0], tmp_path / "mlruns")
    uri, experiment_id = str(tmp_path / "mlruns"), mlruns_store[1]["main"]
    reader = open_tracker(uri)
    first = reader.runs(experiment_id)
    running = first[first["status"] == "RUNNING"]
    assert len(running) and shared_catalog.file_for(reader.uri, experiment_id, "runs").exists()
    fresh = open_tracker(uri)
    never_read(monkeypatch, fresh)
    pd.testing.assert_frame_equal(fresh.runs(experiment_id), first)

    run_id = running["run_id"].iloc[0]
    key = next(c for c in running.columns if c.startswith("metrics.") and pd.notna(running[c].iloc[0]))[8:]
    [metric_file] = (tmp_path / "mlruns").glob(f"*/{run_id}/metrics/{key}")
    with metric_file.open("a") as f:  # as MLflow logs a point: the file grows, its folder does not change
        f.write(f"{int(time.time() * 1000) + 60_000} 123.5 999\n")
    assert open_tracker(uri).runs(experiment_id).set_index("run_id").loc[run_id, f"metrics.{key}"] == 123.5


def test_processes_on_one_cache_folder_see_each_others_changes(store):
    from mlflow import MlflowClient

    uri, experiment_id = store
    before = other_process(uri, experiment_id)  # process B reads and stores the table
    mine = open_tracker(uri)
    assert sorted(mine.runs(experiment_id)["run_id"]) == before["runs"]
    client = MlflowClient(uri)
    new = client.create_run(experiment_id, run_name="added-elsewhere").info.run_id
    client.set_tag(before["runs"][0], "reviewed", "yes")
    client.set_terminated(new)
    after = other_process(uri, experiment_id)  # B must not serve its stored table: the token changed
    assert after["runs"] == sorted([*before["runs"], new]) and "tags.reviewed" in after["tags"]
    fresh = open_tracker(uri).runs(experiment_id)  # ...nor may a new process here
    assert new in set(fresh["run_id"]) and "tags.reviewed" in fresh.columns
    assert new in set(mine.runs(experiment_id)["run_id"])


def test_a_damaged_or_foreign_file_is_read_again(store, monkeypatch):
    uri, experiment_id = store
    open_tracker(uri).runs(experiment_id)
    path = shared_catalog.file_for(uri, experiment_id, "runs")
    assert path.is_file()
    path.write_bytes(b"PAR1 not really parquet")
    table = open_tracker(uri).runs(experiment_id)  # read from the store, the file rewritten
    assert len(table) and shared_catalog.load(uri, experiment_id, "runs", open_tracker(uri).change_token(experiment_id)) is not None


def test_a_stale_token_is_never_served(store):
    uri, experiment_id = store
    t = open_tracker(uri)
    frame = t.runs(experiment_id)
    token = t.change_token(experiment_id)
    assert shared_catalog.load(uri, experiment_id, "runs", token) is not None
    assert shared_catalog.load(uri, experiment_id, "runs", ("another", token)) is None
    shared_catalog.save(uri, experiment_id, "runs", ("another",), frame.head(1))
    assert shared_catalog.load(uri, experiment_id, "runs", token) is None


def test_file_names_never_hold_the_uri_or_its_credentials(tmp_path):
    path = shared_catalog.file_for("https://alice:s3cret@mlflow.example.com", "7", "runs")
    assert "s3cret" not in str(path) and "alice" not in str(path) and "example" not in str(path)
    assert path.parent == shared_catalog.folder() and path.parent.is_relative_to(Path(os.environ["LENS_CACHE_DIR"]))


def test_the_shared_catalog_can_be_turned_off(store, monkeypatch):
    uri, experiment_id = store
    monkeypatch.setattr(Tracker, "shares_catalog", False)
    open_tracker(uri).runs(experiment_id)
    assert not shared_catalog.file_for(uri, experiment_id, "runs").exists()
