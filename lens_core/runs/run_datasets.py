"""A run's dataset inputs on the Run page: where the data lives, its MLflow schema as a table and its profile."""
from __future__ import annotations

import json

import pandas as pd

from lens_core.confine import source_location
from lens_core.model import DatasetInput


def dataset_source(dataset: DatasetInput) -> str:
    """Where the data lives (:func:`lens_core.confine.source_location`), or the source's raw text."""
    return source_location(dataset.source) or dataset.source


def dataset_schema(dataset: DatasetInput) -> pd.DataFrame | None:
    """The columns of an MLflow schema (``mlflow_colspec`` or ``mlflow_tensorspec``) as a table ``column,
    type, required``; None when the schema is empty or in another shape."""
    try:
        schema = json.loads(dataset.schema) if dataset.schema else None
    except ValueError:
        return None
    if not isinstance(schema, dict):
        return None
    spec = schema.get("mlflow_colspec")
    if isinstance(spec, str):  # some writers double-encode
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = None
    if isinstance(spec, list) and all(isinstance(c, dict) for c in spec):
        return pd.DataFrame({
            "column": [str(c.get("name", f"#{i}")) for i, c in enumerate(spec)],
            "type": [str(c.get("type", "")) for c in spec],
            "required": [bool(c.get("required", True)) for c in spec],
        })
    tensors = schema.get("mlflow_tensorspec")
    if isinstance(tensors, dict):
        features = tensors.get("features")
        if isinstance(features, str):
            try:
                features = json.loads(features)
            except ValueError:
                features = None
        if isinstance(features, list):
            return pd.DataFrame({
                "column": [str(f.get("name", f"#{i}")) for i, f in enumerate(features)],
                "type": [f"{f.get('type', '')} {f.get('tensor-spec', '')}".strip() for f in features],
                "required": [True] * len(features),
            })
    return None


def dataset_profile(dataset: DatasetInput) -> dict[str, object]:
    """MLflow's profile (``{"num_rows": …, "num_elements": …}``) as a dict; empty when absent or unreadable."""
    try:
        profile = json.loads(dataset.profile) if dataset.profile else {}
    except ValueError:
        return {}
    return profile if isinstance(profile, dict) else {}
