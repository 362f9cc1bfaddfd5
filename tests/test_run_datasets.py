"""A run's dataset inputs on the Run page: source, schema table and profile from MLflow's metadata."""
from __future__ import annotations

import json

from lens_core.model import DatasetInput
from lens_core.runs import run_datasets as rd


def test_dataset_metadata_helpers():
    schema = json.dumps({"mlflow_colspec": [{"type": "double", "name": "x", "required": True},
                                            {"type": "long", "name": "y", "required": False}]})
    ds = DatasetInput(name="train", digest="abc", source_type="local", source='{"uri": "/data/train.csv"}',
                      context="training", schema=schema, profile='{"num_rows": 2, "num_elements": 4}')
    assert rd.dataset_source(ds) == "/data/train.csv"
    table = rd.dataset_schema(ds)
    assert list(table["column"]) == ["x", "y"] and list(table["type"]) == ["double", "long"]
    assert list(table["required"]) == [True, False]
    assert rd.dataset_profile(ds) == {"num_rows": 2, "num_elements": 4}
    odd = DatasetInput(name="t", digest="", source_type="delta", source="not json", schema="{bad", profile="[1]")
    assert rd.dataset_source(odd) == "not json" and rd.dataset_schema(odd) is None and rd.dataset_profile(odd) == {}
    tensors = DatasetInput(name="t", digest="", source_type="x", source='{"table_name": "db.t"}',
                           schema=json.dumps({"mlflow_tensorspec": {"features": json.dumps(
                               [{"name": "img", "type": "tensor", "tensor-spec": {"dtype": "float32"}}])}}))
    assert rd.dataset_source(tensors) == "db.t" and list(rd.dataset_schema(tensors)["column"]) == ["img"]
