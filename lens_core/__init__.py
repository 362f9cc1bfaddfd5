"""ExperimentLens core: tracker adapters, runs catalog, queries and insights, importable without Streamlit.

>>> from lens_core import open_tracker
>>> t = open_tracker()                      # doctest: +SKIP  (the embedded demo store)
>>> t.runs(t.experiments()[0].experiment_id)  # doctest: +SKIP
"""
from lens_core.errors import (
    ArtifactNotFoundError,
    ExperimentNotFoundError,
    LensError,
    RunNotFoundError,
    TrackerAuthError,
    TrackerNotFoundError,
    TrackerUnreachableError,
    TrackerWriteError,
    UnknownTrackerSchemeError,
    UnsupportedStoreError,
)
from lens_core.model import ArtifactRef, DatasetInput, Experiment, RunDetail
from lens_core.trackers import Tracker, open_tracker

__all__ = [
    "ArtifactNotFoundError",
    "ArtifactRef",
    "DatasetInput",
    "Experiment",
    "ExperimentNotFoundError",
    "LensError",
    "RunDetail",
    "RunNotFoundError",
    "Tracker",
    "TrackerAuthError",
    "TrackerNotFoundError",
    "TrackerUnreachableError",
    "TrackerWriteError",
    "UnknownTrackerSchemeError",
    "UnsupportedStoreError",
    "open_tracker",
]
