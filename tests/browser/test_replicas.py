"""Two app processes on one cache folder (replicas behind a load balancer): each serves the runs table the other
changed — a rating saved through one replica, a run a training job added — never its own stale copy."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import settle, start_app


@pytest.fixture
def replicas(sqlite_store, tmp_path) -> Iterator[tuple[str, dict[str, str], str, str, Path]]:
    uri, ids = sqlite_store
    shutil.copy(uri.removeprefix("sqlite:///"), tmp_path / "mlflow.db")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cache = tmp_path / "shared-cache"
    procs = [start_app(store, tmp_path / f"replica-{n}.log", LENS_CACHE_DIR=str(cache)) for n in "ab"]
    yield store, ids, procs[0][1], procs[1][1], cache
    for proc, _ in procs:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


def exported_rows(page) -> list[str]:
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV of this view").click()
    return open(download.value.path(), encoding="utf-8").read().splitlines()


def test_two_replicas_serve_what_the_other_changed(page, replicas):
    from mlflow import MlflowClient

    store, ids, replica_a, replica_b, cache = replicas
    for base in (replica_a, replica_b):  # both read the table; the first stores it for the other
        page.goto(f"{base}/?experiment={ids['main']}")
        settle(page)
        expect(page.get_by_text("Runs · 14")).to_be_visible()
    assert list((cache / "catalog").glob("*-runs.parquet"))

    rated = "run-05"  # rated through replica B, as a teammate would
    run_id = next(r for r, n in zip(*_ids_and_names(store, ids["main"]), strict=True) if n == rated)
    page.goto(f"{replica_b}/Run?run={run_id}")
    settle(page)
    page.get_by_placeholder("Who is rating?").fill("Ada")
    page.get_by_placeholder("Who is rating?").press("Enter")
    settle(page)
    page.locator('[data-testid="stFeedback"] button').nth(3).click()  # four stars
    settle(page)
    expect(page.get_by_text("Last rated by Ada")).to_be_visible(timeout=20_000)

    MlflowClient(store).create_run(ids["main"], run_name="added-by-a-training-job")  # and a job logs a run

    page.goto(f"{replica_a}/?experiment={ids['main']}")  # replica A must not serve its stored table
    settle(page)
    expect(page.get_by_text("Runs · 15")).to_be_visible(timeout=20_000)
    rows = exported_rows(page)
    header = rows[0].split(",")
    ratings = {line.split(",")[header.index("run_name")]: line.split(",")[header.index("rating")] for line in rows[1:]}
    assert ratings[rated] == "★★★★☆" and "added-by-a-training-job" in ratings


def _ids_and_names(store: str, experiment_id: str) -> tuple[list[str], list[str]]:
    from lens_core import open_tracker

    runs = open_tracker(store).runs(experiment_id)
    return list(runs["run_id"]), list(runs["run_name"])
