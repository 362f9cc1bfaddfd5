"""The Streamlit caches of ExperimentLens: ``st.cache_resource`` / ``st.cache_data`` wrappers around lens_core
calls, and nothing else (the page shell — login, the page guard, notices, pickers — is :mod:`lens_core.ui.shell`).

Trackers are shared resources (one per URI for every session); runs tables come from the tracker's own catalog,
which already skips unchanged experiments, so they need no second cache here. Wrappers that take a tracker key
their cache by its URI (the tracker itself is not hashed).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from lens_core.errors import LensError
from lens_core.insights.across import AcrossRuns
from lens_core.insights.counterfactual import CounterfactualRequest, Counterfactuals
from lens_core.insights.evaluation import Evaluation
from lens_core.insights.explain import PartialDependence, ShapResult
from lens_core.insights.inputs import Availability, InsightInputs
from lens_core.model import RunDetail
from lens_core.runs.compare_metrics import ChartOptions, MetricFigure
from lens_core.runs.summary import latest_metric_times
from lens_core.trackers import Tracker, open_tracker
from lens_core.ui.settings import secret_section

if TYPE_CHECKING:
    from lens_core.insights.hyperparams import NextSettings, Progress, Study
    from lens_core.runs.parcoords import ParcoordsData

#: ``progress(done, total)``: how a long computation below reports its steps to the page's progress bar (called
#: outside the cached functions: a cached function may not draw into the page's containers).
StepProgress = Callable[[int, int], None]


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


# ---- Home's parallel coordinates ---------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def parcoords_spec(fingerprint: str, brush_key: str, _data: ParcoordsData, _brush: Mapping[str, Any] | None
                   ) -> dict[str, Any]:
    """The parallel-coordinates spec of ``_data`` (``fingerprint``) with the brush ``_brush`` (``brush_key``: its
    JSON), built once: building and validating it was most of a warm Home view's CPU."""
    from lens_core.runs.parcoords import chart_spec

    return chart_spec(_data, brush=_brush)


# ---- hyperparameters: keyed by the training frame's digest (hyperparams.training_digest), computed once ----------
#: Studies kept (least recently used go first).
MAX_STUDIES = 16
_studies_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _studies() -> OrderedDict[tuple[str, str, tuple[str, ...]], Study]:
    return OrderedDict()


def hyperparams_study(digest: str, target: str, params: tuple[str, ...], training: pd.DataFrame,
                      progress: Progress) -> Study:
    """The surrogate, importance and correlations of these runs (``digest`` of ``training``), computed once and
    shared, not copied (a forest is big to pickle): callers must not modify it. Kept in a shared store rather than
    a ``st.cache_*`` function so that ``progress`` may draw while the work runs (Streamlit refuses elements drawn
    into outside containers from inside a cached function)."""
    from lens_core.insights.hyperparams import study  # scikit-learn loads with the first fit

    key = (digest, target, params)
    store = _studies()
    with _studies_lock:
        if (found := store.get(key)) is not None:
            store.move_to_end(key)
            return found
    result = study(training, target, params=list(params), progress=progress)
    with _studies_lock:
        store[key] = result
        while len(store) > MAX_STUDIES:
            store.popitem(last=False)
    return result


@st.cache_data(show_spinner=False, max_entries=64)
def hyperparams_next(digest: str, target: str, params: tuple[str, ...], direction: str, _study: Study
                     ) -> NextSettings:
    """Where to look next for the study of ``digest`` read with ``direction``."""
    from lens_core.insights.hyperparams import look_next, oriented

    return look_next(oriented(_study.surrogate, direction), n=8)  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=64)
def hyperparams_correlations(digest: str, target: str, params: tuple[str, ...], _training: pd.DataFrame
                             ) -> pd.DataFrame:
    """The rank correlations of these runs (``digest`` of ``_training``), without a surrogate."""
    from lens_core.insights.hyperparams import correlations

    return correlations(_training, target, list(params))


@st.cache_data(show_spinner=False, max_entries=128)
def hyperparams_effect(digest: str, target: str, params: tuple[str, ...], param: str, _study: Study
                       ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A param's partial dependence, and its accumulated local effects when it is numeric."""
    from lens_core.insights.hyperparams import ale, partial_dependence

    s = _study.surrogate
    return partial_dependence(s, param), (ale(s, param) if param in s.numeric else None)


@st.cache_data(show_spinner=False, max_entries=64)
def hyperparams_pair(digest: str, target: str, params: tuple[str, ...], first: str, second: str, points: int,
                     _study: Study) -> pd.DataFrame:
    """Two params' joint partial dependence."""
    from lens_core.insights.hyperparams import partial_dependence_2d

    return partial_dependence_2d(_study.surrogate, first, second, points=points)


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
    return _monitor_table(*_monitor_key(t, experiment_id, runs, rules, extremes), runs, extremes)


def _monitor_key(t: Tracker, experiment_id: str, runs: pd.DataFrame, rules: dict[str, str],
                 extremes: pd.DataFrame | None) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    if extremes is None:
        rules = dict.fromkeys(rules, "last")
    return t.uri, experiment_id, str(runs.attrs.get("lens.loaded_at", "")), tuple(sorted(rules.items()))


@st.cache_resource(show_spinner=False, max_entries=8)
def _grid_formats(uri: str, experiment_id: str, loaded_at: str, rules: tuple[tuple[str, str], ...],
                  _typed: pd.DataFrame) -> Mapping[str, str]:
    from lens_core.runs.home import NumberFormats

    return NumberFormats(_typed)


def grid_formats(t: Tracker, experiment_id: str, runs: pd.DataFrame, rules: dict[str, str],
                 extremes: pd.DataFrame | None, typed: pd.DataFrame) -> Mapping[str, str]:
    """The printf format of each numeric column of :func:`monitor_table`'s ``typed`` table, each computed once per
    catalog load and rule set (on 10k runs the digits search of every column took ~1 CPU-s a page view)."""
    return _grid_formats(*_monitor_key(t, experiment_id, runs, rules, extremes), typed)


# ---- model insights: a run's inputs, loaded once; results keyed by (tracker URI, run, test-data digest, options) --
@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def _insights_availability(_tracker: Tracker, uri: str, run_id: str, _run: RunDetail) -> Availability:
    from lens_core.insights.inputs import availability

    return availability(_tracker, _run)


def insights_availability(t: Tracker, run: RunDetail) -> Availability:
    """Whether a run has a model and test data for model insights (a minute-long cache: a few listings)."""
    return _insights_availability(t, t.uri, run.run_id, run)


@st.cache_resource(show_spinner=False, max_entries=8)
def _insight_inputs(_tracker: Tracker, uri: str, run_id: str) -> InsightInputs:
    from lens_core.insights.inputs import load_inputs

    return load_inputs(_tracker, run_id)


def insight_inputs(t: Tracker, run_id: str) -> InsightInputs:
    """A run's model and test / training split, loaded once and shared by all sessions (models are not copied)."""
    return _insight_inputs(t, t.uri, run_id)


# The results below take the loaded inputs unhashed (``_inputs``): (uri, run id, digest) is the key that names them.
@st.cache_data(show_spinner=False, max_entries=64)
def _probabilities(_inputs: InsightInputs, uri: str, run_id: str, digest: str) -> np.ndarray:
    return np.asarray(_inputs.model.predict_proba(_inputs.X_test))


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluation(_inputs: InsightInputs, uri: str, run_id: str, digest: str, threshold: float | None) -> Evaluation:
    from lens_core.insights import evaluation

    if _inputs.task == "regression":
        return evaluation.evaluate(_inputs.model, _inputs.X_test, _inputs.y_test)
    proba = _probabilities(_inputs, uri, run_id, digest)
    return evaluation.classification_from_proba(_inputs.y_test.to_numpy(), proba, _inputs.classes, threshold=threshold)


def evaluation(t: Tracker, inputs: InsightInputs, threshold: float | None = None) -> Evaluation:
    """The model's evaluation on its test data; a classifier's probabilities are computed once, so moving the
    decision ``threshold`` (binary) only re-derives the labels and scores."""
    return _evaluation(inputs, t.uri, inputs.run_id, inputs.digest, threshold)


def _report(progress: StepProgress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


@st.cache_data(show_spinner=False, max_entries=256)
def _importance_repeat(_inputs: InsightInputs, uri: str, run_id: str, digest: str, rows: int, repeat: int
                       ) -> tuple[np.ndarray, str]:
    from lens_core.insights import explain

    return explain.permutation_repeat(_inputs.model, _inputs.X_test, _inputs.y_test, repeat, max_rows=rows)


def permutation_importance(t: Tracker, inputs: InsightInputs, repeats: int, rows: int,
                           progress: StepProgress | None = None) -> pd.DataFrame:
    """:func:`lens_core.insights.explain.permutation_importance` on ``rows`` test rows, one cached repeat (every
    feature shuffled once) at a time; ``progress(done, total)`` after each repeat."""
    from lens_core.insights import explain

    drops, metric = [], ""
    for repeat in range(repeats):
        drop, metric = _importance_repeat(inputs, t.uri, inputs.run_id, inputs.digest, rows, repeat)
        drops.append(drop)
        _report(progress, repeat + 1, repeats)
    return explain.importance_table(list(inputs.X_test.columns), np.column_stack(drops), metric)


@st.cache_data(show_spinner=False, max_entries=64)
def _shap_plan(_inputs: InsightInputs, uri: str, run_id: str, digest: str, rows: int, agnostic_rows: int
               ) -> tuple[str, list[Any]]:
    from lens_core.insights import explain

    return explain.shap_plan(_inputs.model, _inputs.X_test, max_rows=rows, agnostic_rows=agnostic_rows,
                             background=_background(_inputs))


@st.cache_data(show_spinner=False, max_entries=512)
def _shap_batch(_inputs: InsightInputs, uri: str, run_id: str, digest: str, target: Any, method: str,
                rows: tuple[Any, ...]) -> ShapResult:
    from lens_core.insights import explain

    return explain.shap_values(_inputs.model, _inputs.X_test.loc[list(rows)], max_rows=None, agnostic_rows=None,
                               target=target, background=_background(_inputs),
                               method="auto" if method == "structured" else "kernel")


def _background(inputs: InsightInputs) -> pd.DataFrame:
    return inputs.X_train if inputs.X_train is not None else inputs.X_test


#: Rows explained per cached batch: the tree / linear explainers take ~50 rows a second on a forest, the
#: model-agnostic one a few seconds per row.
SHAP_BATCH_ROWS = {"structured": 50, "kernel": 4}


def shap_plan(t: Tracker, inputs: InsightInputs, rows: int, agnostic_rows: int) -> tuple[str, int]:
    """The explainer SHAP uses ("structured" or "kernel") and how many test rows it explains."""
    method, index = _shap_plan(inputs, t.uri, inputs.run_id, inputs.digest, rows, agnostic_rows)
    return method, len(index)


def shap_values(t: Tracker, inputs: InsightInputs, target: Any, rows: int, agnostic_rows: int,
                progress: StepProgress | None = None) -> ShapResult:
    """SHAP values of ``rows`` test rows (``agnostic_rows`` for models without a fast explainer) against the
    training data (else the test data), explained in cached batches; ``progress(rows done, rows)`` after each."""
    from lens_core.insights import explain

    method, index = _shap_plan(inputs, t.uri, inputs.run_id, inputs.digest, rows, agnostic_rows)
    size = SHAP_BATCH_ROWS[method]
    parts = []
    for start in range(0, len(index), size):
        batch = tuple(index[start:start + size])
        parts.append(_shap_batch(inputs, t.uri, inputs.run_id, inputs.digest, target, method, batch))
        _report(progress, min(start + size, len(index)), len(index))
    return explain.concat_shap(parts)


@st.cache_data(show_spinner=False, max_entries=64)
def _row_shap(_inputs: InsightInputs, uri: str, run_id: str, digest: str, row: int, target: Any) -> ShapResult:
    from lens_core.insights import explain

    background = _inputs.X_train if _inputs.X_train is not None else _inputs.X_test
    return explain.shap_values(_inputs.model, _inputs.X_test.iloc[[row]], target=target, background=background)


def row_shap(t: Tracker, inputs: InsightInputs, row: int, target: Any) -> ShapResult:
    """SHAP values of one test row (its position), for the local explanation."""
    return _row_shap(inputs, t.uri, inputs.run_id, inputs.digest, row, target)


#: Grid points per cached piece of a partial dependence (each piece is one predict call over rows × points).
PDP_CHUNK = 4
PDP_2D_CHUNK = 2  # values of the first feature (× its 10 partners)


@st.cache_data(show_spinner=False, max_entries=512)
def _pdp_part(_inputs: InsightInputs, uri: str, run_id: str, digest: str, feature: str, target: Any, rows: int,
              grid: tuple[Any, ...]) -> PartialDependence:
    from lens_core.insights import explain

    return explain.partial_dependence(_inputs.model, _inputs.X_test, feature, grid=list(grid), ice=True,
                                      target=target, max_rows=rows)


def pdp_grid_size(inputs: InsightInputs, feature: str, rows: int) -> int:
    """How many grid points the partial dependence of ``feature`` evaluates."""
    from lens_core.insights import explain

    return len(explain.pdp_grid(inputs.model, inputs.X_test, feature, max_rows=rows))


def partial_dependence(t: Tracker, inputs: InsightInputs, feature: str, target: Any, rows: int,
                       progress: StepProgress | None = None) -> PartialDependence:
    """One feature's partial dependence over ``rows`` test rows, with ICE curves, a few grid points per cached
    piece; ``progress(points done, points)`` after each."""
    from lens_core.insights import explain

    grid = explain.pdp_grid(inputs.model, inputs.X_test, feature, max_rows=rows).tolist()
    parts = []
    for start in range(0, len(grid), PDP_CHUNK):
        parts.append(_pdp_part(inputs, t.uri, inputs.run_id, inputs.digest, feature, target, rows,
                               tuple(grid[start:start + PDP_CHUNK])))
        _report(progress, min(start + PDP_CHUNK, len(grid)), len(grid))
    return explain.concat_partial_dependence(parts)


@st.cache_data(show_spinner=False, max_entries=512)
def _pdp_2d_part(_inputs: InsightInputs, uri: str, run_id: str, digest: str, features: tuple[str, str], target: Any,
                 first_values: tuple[Any, ...]) -> pd.DataFrame:
    from lens_core.insights import explain

    return explain.partial_dependence_2d(_inputs.model, _inputs.X_test, features, target=target,
                                         first_values=list(first_values))


def partial_dependence_2d(t: Tracker, inputs: InsightInputs, features: tuple[str, str], target: Any,
                          progress: StepProgress | None = None) -> pd.DataFrame:
    """The partial dependence of two features on a grid: ``<f1>, <f2>, average``, a few rows of the grid per cached
    piece; ``progress(first-feature values done, values)`` after each."""
    from lens_core.insights import explain

    grid = explain.pdp_grid(inputs.model, inputs.X_test, features[0], grid_resolution=10, max_rows=300).tolist()
    parts = []
    for start in range(0, len(grid), PDP_2D_CHUNK):
        parts.append(_pdp_2d_part(inputs, t.uri, inputs.run_id, inputs.digest, features, target,
                                  tuple(grid[start:start + PDP_2D_CHUNK])))
        _report(progress, min(start + PDP_2D_CHUNK, len(grid)), len(grid))
    return pd.concat(parts, ignore_index=True)


@st.cache_data(show_spinner=False, max_entries=128)
def _ale(_inputs: InsightInputs, uri: str, run_id: str, digest: str, feature: str, target: Any, bins: int
         ) -> pd.DataFrame:
    from lens_core.insights import explain

    return explain.ale(_inputs.model, _inputs.X_test, feature, bins=bins, target=target)


def ale(t: Tracker, inputs: InsightInputs, feature: str, target: Any, bins: int) -> pd.DataFrame:
    """A numeric feature's accumulated local effects in ``bins`` bins: ``edge, ale, lower, upper, count``."""
    return _ale(inputs, t.uri, inputs.run_id, inputs.digest, feature, target, bins)


@st.cache_data(show_spinner=False, max_entries=64)
def _counterfactuals(_inputs: InsightInputs, uri: str, run_id: str, digest: str, request: CounterfactualRequest
                     ) -> Counterfactuals:
    from lens_core.insights.counterfactual import counterfactuals

    return counterfactuals(_inputs.model, _inputs.X_train, _inputs.y_train, _inputs.X_test.iloc[[request.row]],
                           n=request.n, features_to_vary=list(request.vary) or None, desired=request.desired,
                           method=request.method)


def counterfactuals(t: Tracker, inputs: InsightInputs, request: CounterfactualRequest) -> Counterfactuals:
    """dice-ml's counterfactuals of one test row, each checked against the model (needs the training split)."""
    return _counterfactuals(inputs, t.uri, inputs.run_id, inputs.digest, request)


@st.cache_data(show_spinner="Evaluating the runs' models…", max_entries=32)
def _roc_across(_tracker: Tracker, uri: str, run_ids: tuple[str, ...]) -> AcrossRuns:
    from lens_core.insights import across

    return across.roc_across_runs(_tracker, run_ids, load=insight_inputs)


def roc_across_runs(t: Tracker, run_ids: tuple[str, ...]) -> AcrossRuns:
    """The ROC curve of each classifier run (see :mod:`lens_core.insights.across`)."""
    return _roc_across(t, t.uri, run_ids)


@st.cache_data(show_spinner="Evaluating the runs' models…", max_entries=32)
def _confusion_across(_tracker: Tracker, uri: str, run_ids: tuple[str, ...]) -> AcrossRuns:
    from lens_core.insights import across

    return across.confusion_across_runs(_tracker, run_ids, load=insight_inputs)


def confusion_across_runs(t: Tracker, run_ids: tuple[str, ...]) -> AcrossRuns:
    """The confusion matrix of each classifier run."""
    return _confusion_across(t, t.uri, run_ids)


@st.cache_data(show_spinner="Evaluating the runs' models…", max_entries=32)
def _pdp_across(_tracker: Tracker, uri: str, run_ids: tuple[str, ...], feature: str) -> AcrossRuns:
    from lens_core.insights import across

    return across.pdp_across_runs(_tracker, run_ids, feature, load=insight_inputs)


def pdp_across_runs(t: Tracker, run_ids: tuple[str, ...], feature: str) -> AcrossRuns:
    """One feature's partial dependence for each run, on a shared grid."""
    return _pdp_across(t, t.uri, run_ids, feature)


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


# ---- Compare: the metric charts, built once per view --------------------------------------------------------------
@dataclass(frozen=True)
class ComparisonFigure:
    """:class:`lens_core.runs.compare_metrics.MetricFigure` and its Vega-Lite spec as Streamlit sends it (datasets
    as Arrow bytes), ready for ``st.vega_lite_chart``: a rerun with the same view reuses both."""

    metrics: MetricFigure
    spec: dict[str, Any] | None


@st.cache_resource(ttl=600, max_entries=16, show_spinner="Drawing the metric charts…")
def comparison_figure(
    history: pd.DataFrame, runs: pd.DataFrame, labels: dict[str, str], colors: dict[str, str], keys: tuple[str, ...],
    options: ChartOptions, group_by: tuple[str, ...], aggregation: str, spread: str, panel_width: int,
) -> ComparisonFigure:
    """The Compare page's linked metric chart (hashed by content: new points draw anew). Building it in Altair
    and converting it costs about a second for six charts; a warm view or a rerun at the same width costs a
    lookup. A resource, not data: the spec is shared read-only (Streamlit copies it before changing it)."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec  # the spec st.altair_chart sends

    from lens_core.runs.compare import group_runs
    from lens_core.runs.compare_metrics import metric_figure

    grouping = group_runs(runs, group_by, aggregation, spread) if group_by else None  # type: ignore[arg-type]
    built = metric_figure(history, runs, labels, colors, keys, options, grouping, panel_width)
    spec = _convert_altair_to_vega_lite_spec(built.figure) if built.figure is not None else None
    return ComparisonFigure(built, spec)
