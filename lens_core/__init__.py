"""ExperimentLens core: tracker adapters, runs catalog, queries and insights, importable without Streamlit.

Packages mirror the app: ``trackers`` (adapters and what they return), ``runs`` (the runs table, comparison and the
run page's logic), ``explorer`` (the data explorer), ``insights`` (model and hyperparameter insights), and ``ui``,
the only package that imports streamlit: its caches (``ui.cache``), the page shell (``ui.shell``: login, page guard,
notices, pickers, sidebar, page paths and shared session keys) and the explorer component (``ui.explorer``). Pages
lay widgets out and call into these; charts and computations live here, under unit tests.

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
from lens_core.model import ArtifactRef, DatasetInput, Experiment, LoggedModel, RunDetail
from lens_core.runs.pareto import pareto_front
from lens_core.trackers import Tracker, open_tracker


def log_insights(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - see lens_core.insights.inputs.log_insights
    """Log a model and its test (and training) split in the layout model insights read best; see
    :func:`lens_core.insights.inputs.log_insights`. Imported on use: it needs MLflow and scikit-learn."""
    from lens_core.insights.inputs import log_insights as log

    return log(*args, **kwargs)

__all__ = [
    "ArtifactNotFoundError",
    "ArtifactRef",
    "DatasetInput",
    "Experiment",
    "ExperimentNotFoundError",
    "LensError",
    "LoggedModel",
    "RunDetail",
    "RunNotFoundError",
    "Tracker",
    "TrackerAuthError",
    "TrackerNotFoundError",
    "TrackerUnreachableError",
    "TrackerWriteError",
    "UnknownTrackerSchemeError",
    "UnsupportedStoreError",
    "log_insights",
    "open_tracker",
    "pareto_front",
]
