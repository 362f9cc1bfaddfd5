"""The test rows as the Instances tab shows them: the features with the actual and predicted values side by side,
and the same table as a Parquet file the dataset explorer can query (the error map)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from lens_core.insights.evaluation import Evaluation
from lens_core.paths import cache_dir


def instance_table(X: pd.DataFrame, y: pd.Series, evaluation: Evaluation) -> pd.DataFrame:
    """``X`` with, in front: ``actual, predicted`` then, for classifiers, ``P(<positive class>)`` (binary) or
    ``confidence`` (multiclass) and ``correct``; for regressors ``residual``. Same index as ``X``."""
    table = X.copy()
    predictions = evaluation.predictions
    table.insert(0, "actual", y.to_numpy())
    table.insert(1, "predicted", predictions["predicted"].to_numpy())
    if evaluation.task == "regression":
        table.insert(2, "residual", predictions["residual"].to_numpy())
        return table
    if evaluation.task == "binary":
        positive = evaluation.classes[1]
        table.insert(2, f"P({positive})", predictions[f"proba_{positive}"].to_numpy())
    else:
        table.insert(2, "confidence", predictions["confidence"].to_numpy())
    table.insert(3, "correct", predictions["correct"].to_numpy())
    return table


def instances_file(uri: str, run_id: str, table: pd.DataFrame) -> Path:
    """``table`` as a Parquet file in the cache folder, one per (tracker, run, content): written once, atomically."""
    digest = hashlib.sha1(pd.util.hash_pandas_object(table, index=False).values.tobytes()).hexdigest()[:16]
    folder = cache_dir() / "instances"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha1(f'{uri}|{run_id}'.encode()).hexdigest()[:16]}-{digest}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        table.to_parquet(tmp, index=False)
        tmp.replace(path)
    return path
