"""Values passed between layers: small frozen dataclasses.

The wide runs table is a pandas DataFrame documented in :mod:`lens_core.trackers.runs_table`; metric histories are long
DataFrames with the columns ``run_id, key, step, timestamp, value``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str = ""
    creation_time: pd.Timestamp | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset a run logged with ``mlflow.log_input``: MLflow keeps only this metadata, not the data."""

    name: str
    digest: str
    source_type: str
    source: str  # JSON text as MLflow stores it, e.g. '{"uri": "/data/train.csv"}'
    context: str = ""  # "training", "test", "evaluation", … (the mlflow.data.context input tag)
    schema: str = ""
    profile: str = ""


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """An MLflow 3 logged model a run produced (``mlflow.<flavor>.log_model`` in MLflow 3). MLflow keeps it outside
    the run's artifacts, in its own folder: ``artifact_location`` (a URI or a local path) holds the ``MLmodel``
    file."""

    model_id: str  # "m-…"; ``models:/<model_id>`` names it
    name: str  # the name given at logging, e.g. "model"
    artifact_location: str


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    path: str  # relative to the run's artifact root, "/"-separated
    is_dir: bool
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class RunDetail:
    run_id: str
    experiment_id: str
    run_name: str
    status: str  # RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time: pd.Timestamp | None
    end_time: pd.Timestamp | None
    user_id: str
    artifact_uri: str
    lifecycle_stage: str
    params: Mapping[str, str]
    metrics: Mapping[str, float]  # latest value of each metric
    tags: Mapping[str, str]
    inputs: tuple[DatasetInput, ...] = ()
    child_run_ids: tuple[str, ...] = ()

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get("mlflow.parentRunId")
