"""Model insights of several runs on one chart: ROC curves, confusion matrices and the PDP of one feature, per run.

Each function loads every run's inputs (``load`` defaults to :func:`lens_core.insights.inputs.load_inputs`; the
app passes its cached loader) and returns :class:`AcrossRuns`: one tidy frame with a ``run_id`` column, and the
runs it had to skip with the reason (no model, no test data, another task, a feature the run lacks), and the runs
whose model and test data loaded (skipped for their task or not).

>>> roc_across_runs(tracker, run_ids).frame      # doctest: +SKIP  run_id, class, fpr, tpr, threshold, roc_auc
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lens_core.errors import LensError
from lens_core.insights.evaluation import evaluate
from lens_core.insights.explain import feature_grid, partial_dependence
from lens_core.insights.inputs import InsightInputs, load_inputs

Loader = Callable[[Any, str], InsightInputs]


@dataclass(frozen=True)
class AcrossRuns:
    frame: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)  # run_id -> why
    loaded: tuple[str, ...] = ()  # the runs whose model and test data loaded, in the order asked


def _each(tracker: Any, run_ids: Sequence[str], load: Loader | None) -> tuple[list[InsightInputs], dict[str, str]]:
    load = load or load_inputs
    loaded, skipped = [], {}
    for run_id in dict.fromkeys(run_ids):
        try:
            loaded.append(load(tracker, run_id))
        except LensError as exc:
            skipped[run_id] = str(exc)
    return loaded, skipped


def roc_across_runs(tracker: Any, run_ids: Sequence[str], *, load: Loader | None = None) -> AcrossRuns:
    """ROC points of each classifier run (binary: the positive class; multiclass: the micro average):
    ``run_id, class, fpr, tpr, threshold, roc_auc``."""
    loaded, skipped = _each(tracker, run_ids, load)
    parts = []
    for inp in loaded:
        if inp.task == "regression":
            skipped[inp.run_id] = "a regressor: no ROC curve"
            continue
        ev = evaluate(inp.model, inp.X_test, inp.y_test)
        if ev.roc is None:
            skipped[inp.run_id] = "the test data holds a single class"
            continue
        wanted = str(inp.classes[1]) if inp.task == "binary" else "micro"
        auc = float(ev.auc.set_index("class").loc[wanted, "roc_auc"])
        parts.append(ev.roc[ev.roc["class"] == wanted].assign(run_id=inp.run_id, roc_auc=auc))
    columns = ["run_id", "class", "fpr", "tpr", "threshold", "roc_auc"]
    frame = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    return AcrossRuns(frame, skipped, tuple(inp.run_id for inp in loaded))


def confusion_across_runs(tracker: Any, run_ids: Sequence[str], *, load: Loader | None = None) -> AcrossRuns:
    """Confusion matrices side by side: ``run_id, actual, predicted, count, normalized``."""
    loaded, skipped = _each(tracker, run_ids, load)
    parts = []
    for inp in loaded:
        if inp.task == "regression":
            skipped[inp.run_id] = "a regressor: no confusion matrix"
            continue
        parts.append(evaluate(inp.model, inp.X_test, inp.y_test).confusion.assign(run_id=inp.run_id))
    columns = ["run_id", "actual", "predicted", "count", "normalized"]
    frame = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    return AcrossRuns(frame, skipped, tuple(inp.run_id for inp in loaded))


def pdp_across_runs(tracker: Any, run_ids: Sequence[str], feature: str, *, target: Any = None,
                    grid_resolution: int = 20, max_rows: int = 1000, load: Loader | None = None) -> AcrossRuns:
    """The partial dependence of ``feature`` for each run, on one grid (taken from the first run's test data, so
    the curves share their x values): ``run_id, value, average``."""
    loaded, skipped = _each(tracker, run_ids, load)
    usable = []
    for inp in loaded:
        if feature not in inp.X_test.columns:
            skipped[inp.run_id] = f"its model has no feature {feature!r}"
        else:
            usable.append(inp)
    parts = []
    grid = feature_grid(usable[0].X_test, feature, grid_resolution) if usable else None
    for inp in usable:
        pdp = partial_dependence(inp.model, inp.X_test, feature, grid=grid, target=target, max_rows=max_rows)
        parts.append(pdp.average.assign(run_id=inp.run_id))
    columns = ["run_id", "value", "average"]
    frame = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    return AcrossRuns(frame, skipped, tuple(inp.run_id for inp in loaded))
