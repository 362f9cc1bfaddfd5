"""Distributions of a shared dataset across runs, on shared bins, with awkward column names."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lens_core.confine import dataset_path
from lens_core.explorer.across import common_columns, distribution, shared_datasets
from lens_core.model import DatasetInput, RunDetail

ODD = 'speed "km/h"; DROP TABLE x'


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    out = {}
    for i, (centre, fmt) in enumerate(((10.0, "csv"), (20.0, "parquet"))):
        frame = pd.DataFrame({ODD: rng.normal(centre, 1, 500), "kind": rng.choice(["a", "b", "c"], 500, p=[0.6, 0.3, 0.1] if i == 0 else [0.1, 0.3, 0.6]), "only_here": 1})
        if i == 1:
            frame = frame.drop(columns="only_here")
        path = tmp_path / f"run{i}.{fmt}"
        frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
        out[f"r{i}"] = path
    return out


def test_numeric_column_binned_on_shared_edges(files):
    dist = distribution(files, ODD, bins=20)
    width = (dist["end"] - dist["value"]).round(9).unique()
    assert len(width) == 1  # one bin width for both runs …
    steps = (dist["value"] - dist["value"].min()) / width[0]
    assert np.allclose(steps, steps.round())  # … on one grid of edges
    assert dist.groupby("run_id")["share"].sum().round(9).tolist() == [1.0, 1.0]
    centre = dist.assign(mid=(dist["value"] + dist["end"]) / 2).groupby("run_id").apply(
        lambda f: np.average(f["mid"], weights=f["count"]), include_groups=False)
    assert abs(centre["r0"] - 10) < 0.5 and abs(centre["r1"] - 20) < 0.5


def test_categorical_column_counted(files):
    dist = distribution(files, "kind").set_index(["run_id", "value"])["share"]
    assert dist[("r0", "a")] > 0.5 and dist[("r1", "c")] > 0.5


def test_common_columns_and_shared_datasets(files, tmp_path):
    assert common_columns(files) == [ODD, "kind"]

    def detail(run_id: str, source: str) -> RunDetail:
        return RunDetail(run_id, "1", run_id, "FINISHED", None, None, "", "", "active", {}, {}, {},
                         inputs=(DatasetInput("train", "d", "local", source),))

    details = [detail("r0", json.dumps({"uri": str(files["r0"])})), detail("r1", json.dumps({"uri": files["r1"].as_uri()})),
               detail("r2", json.dumps({"uri": "/nowhere/else.csv"}))]
    assert shared_datasets(details, [tmp_path]) == {"train": {"r0": files["r0"], "r1": files["r1"]}}
    assert shared_datasets(details, lambda run: [tmp_path]) == shared_datasets(details, [tmp_path])
    assert shared_datasets(details, [tmp_path / "elsewhere"]) == {}  # outside the allowed folders: not read
    assert dataset_path("not json", [tmp_path], quiet=True) is None
