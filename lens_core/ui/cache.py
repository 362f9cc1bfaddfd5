"""The Streamlit caches of ExperimentLens: ``st.cache_resource`` / ``st.cache_data`` wrappers around lens_core
calls, and nothing else (the page shell — login, the page guard, notices, pickers — is :mod:`lens_core.ui.shell`).

Trackers are shared resources (one per URI for every session); runs tables come from the tracker's own catalog,
which already skips unchanged experiments, so they need no second cache here. Wrappers that take a tracker key
their cache by its URI (the tracker itself is not hashed).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lens_core.errors import LensError
from lens_core.runs.summary import latest_metric_times
from lens_core.trackers import Tracker, open_tracker
from lens_core.ui.settings import secret_section

if TYPE_CHECKING:
    from lens_core.insights.hyperparams import Surrogate


@st.cache_resource(show_spinner=False, max_entries=4)
def shared_tracker(uri: str | None) -> Tracker:
    """The tracker at ``uri`` (None: the demo store), opened once per URI with the ``[lens]`` options of
    secrets.toml at that moment and shared by every session."""
    # [lens] artifacts_destination / data_roots in secrets.toml: see the README's security section
    lens = secret_section("lens")
    return open_tracker(uri, artifacts_destination=lens.get("artifacts_destination") or None,  # type: ignore[arg-type]
                        data_roots=lens.get("data_roots") or None)  # type: ignore[arg-type]


@st.cache_data(ttl=15, max_entries=64, show_spinner="Loading metric histories…")
def _history(
    _tracker: Tracker, uri: str, run_ids: tuple[str, ...], keys: tuple[str, ...], max_points: int
) -> pd.DataFrame:
    return _tracker.metric_history(list(run_ids), list(keys), max_points=max_points)


def history(t: Tracker, run_ids: tuple[str, ...], keys: tuple[str, ...], max_points: int) -> pd.DataFrame:
    """Downsampled metric histories, cached briefly (keyed by the tracker's URI) so moving a slider does not read
    the tracker again."""
    return _history(t, t.uri, run_ids, keys, max_points)


@st.cache_data(show_spinner="Fitting the surrogate model…", max_entries=16)
def surrogate(training_runs: pd.DataFrame, target: str) -> Surrogate:
    """The hyperparameter surrogate for these runs and metric (hashed by content, so new runs refit)."""
    from lens_core.insights.hyperparams import fit_surrogate  # scikit-learn loads with the first fit

    return fit_surrogate(training_runs, target)


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def _metric_times(uri: str, loaded_at: str, run_ids: tuple[str, ...], _tracker: Tracker) -> dict[str, pd.Timestamp]:
    try:
        return latest_metric_times(_tracker, run_ids)
    except LensError:
        return {}  # the tracker is not answering: running runs are judged by their start times


def metric_times(t: Tracker, runs: pd.DataFrame, run_ids: tuple[str, ...]) -> dict[str, pd.Timestamp]:
    """The latest metric time of these runs of the runs table ``runs``, read once per load of that table."""
    return _metric_times(t.uri, str(runs.attrs.get("lens.loaded_at", "")), run_ids, t)


@st.cache_resource(show_spinner=False, max_entries=8)
def _monitor_table(uri: str, experiment_id: str, loaded_at: str, rules: tuple[tuple[str, str], ...],
                   _runs: pd.DataFrame, _extremes: pd.DataFrame | None) -> pd.DataFrame:
    from lens_core.runs.monitor import apply_summary, with_typed_params

    runs = _runs
    if _extremes is not None:
        runs = apply_summary(runs, _extremes, dict(rules))
    return with_typed_params(runs)


def monitor_table(t: Tracker, experiment_id: str, runs: pd.DataFrame, rules: dict[str, str],
                  extremes: pd.DataFrame | None) -> pd.DataFrame:
    """The runs table as Home shows it (summary rules applied, numeric params typed), computed once per catalog
    load and rule set and shared, not copied: callers must not modify it. Without ``extremes`` (not needed, or not
    available) every metric shows its last value."""
    loaded_at = str(runs.attrs.get("lens.loaded_at", ""))
    if extremes is None:
        rules = dict.fromkeys(rules, "last")
    return _monitor_table(t.uri, experiment_id, loaded_at, tuple(sorted(rules.items())), runs, extremes)


@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def _insights_availability(_tracker: Tracker, uri: str, run_id: str, _run: object) -> object:
    from lens_core.insights.inputs import availability

    return availability(_tracker, _run)


def insights_availability(t: Tracker, run: object) -> object:
    """Whether a run has a model and test data for model insights (a minute-long cache: a few listings)."""
    return _insights_availability(t, t.uri, run.run_id, run)  # type: ignore[attr-defined]


@st.cache_resource(show_spinner=False, max_entries=8)
def _insight_inputs(_tracker: Tracker, uri: str, run_id: str) -> object:
    from lens_core.insights.inputs import load_inputs

    return load_inputs(_tracker, run_id)


def insight_inputs(t: Tracker, run_id: str) -> object:
    """A run's model and test / training split, loaded once and shared by all sessions (models are not copied)."""
    return _insight_inputs(t, t.uri, run_id)


@st.cache_data(show_spinner="Evaluating the runs' models…", max_entries=32)
def _across(_tracker: Tracker, uri: str, kind: str, run_ids: tuple[str, ...], feature: str | None) -> object:
    from lens_core.insights import across

    def load(t: Tracker, run_id: str) -> object:
        return insight_inputs(t, run_id)

    if kind == "roc":
        return across.roc_across_runs(_tracker, run_ids, load=load)
    if kind == "confusion":
        return across.confusion_across_runs(_tracker, run_ids, load=load)
    return across.pdp_across_runs(_tracker, run_ids, feature or "", load=load)


def across_runs(t: Tracker, kind: str, run_ids: tuple[str, ...], feature: str | None = None) -> object:
    """ROC curves ("roc"), confusion matrices ("confusion") or one feature's PDP ("pdp") of several runs."""
    return _across(t, t.uri, kind, run_ids, feature)


def instances_file(uri: str, run_id: str, table: pd.DataFrame) -> object:
    """The model-insights instance table as a Parquet file the dataset explorer can query (one per content)."""
    import hashlib
    from pathlib import Path

    from lens_core.paths import cache_dir

    digest = hashlib.sha1(pd.util.hash_pandas_object(table, index=False).values.tobytes()).hexdigest()[:16]
    folder = cache_dir() / "instances"
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{hashlib.sha1(f'{uri}|{run_id}'.encode()).hexdigest()[:16]}-{digest}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        table.to_parquet(tmp, index=False)
        tmp.replace(path)
    return path


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def _shared_datasets(_tracker: Tracker, uri: str, run_ids: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    from lens_core.confine import dataset_roots
    from lens_core.explorer.across import shared_datasets

    return shared_datasets([_tracker.run(r) for r in run_ids], lambda run: dataset_roots(_tracker, run.artifact_uri))


def shared_datasets(t: Tracker, run_ids: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    """Datasets at least two of these runs logged with a readable source: name → {run_id: file}."""
    return _shared_datasets(t, t.uri, run_ids)


@st.cache_data(max_entries=32, show_spinner=False)
def dataset_columns(files: tuple[tuple[str, str], ...]) -> list[str]:
    from lens_core.explorer.across import common_columns

    return common_columns(dict(files))


@st.cache_data(max_entries=64, show_spinner="Computing distributions in DuckDB…")
def dataset_distribution(files: tuple[tuple[str, str], ...], column: str) -> pd.DataFrame:
    from lens_core.explorer.across import distribution

    return distribution(dict(files), column)
