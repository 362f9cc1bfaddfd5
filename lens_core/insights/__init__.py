"""Post-hoc analysis: plain functions returning tidy DataFrames or frozen dataclasses (caching is the app's job).

- :mod:`lens_core.insights.hyperparams`: which params drive a metric across runs (surrogate model, importance,
  PDP / ALE of params, where to look next).
- Model insights of one run, from its logged model and test data (pipelines with categorical columns included):

  - :mod:`lens_core.insights.inputs`: ``load_inputs(tracker, run_id)`` finds the model and test / training split
    (or raises ``InsightInputsError`` naming what is missing, with a snippet); ``log_insights(model, X_test,
    y_test, X_train, y_train)`` logs them in the layout read best.
  - :mod:`lens_core.insights.evaluation`: ``evaluate(model, X, y)`` (ROC / PR per class with AUC / AP, confusion
    matrix, per-class report; regression errors and residuals).
  - :mod:`lens_core.insights.explain`: ``permutation_importance``, ``partial_dependence`` (+ ICE),
    ``partial_dependence_2d``, ``ale`` (with a confidence band), ``shap_values``.
  - :mod:`lens_core.insights.counterfactual`: ``counterfactuals`` (dice-ml, every result re-checked) and
    ``comparison_table`` (the counterfactuals beside the original).
  - :mod:`lens_core.insights.instances`: ``instance_table`` (test rows with actual vs predicted) and
    ``instances_file`` (the same as Parquet, for the dataset explorer).
  - :mod:`lens_core.insights.across`: ``roc_across_runs``, ``confusion_across_runs``, ``pdp_across_runs`` (several
    runs on one chart, for the comparison page).
  - :mod:`lens_core.insights.charts`: the Altair charts of all of the above, shared by the model-insights and
    comparison pages (ROC, PR, confusion matrix, regression residuals, importance, SHAP, PDP / ICE, ALE, waterfall).

  They are importable from this package directly (``insights.evaluate``), loaded on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_inputs": "inputs", "log_insights": "inputs", "InsightInputs": "inputs", "availability": "inputs",
    "InsightInputsError": "inputs", "ModelLoadError": "inputs",
    "evaluate": "evaluation", "Evaluation": "evaluation", "output_of": "evaluation",
    "permutation_importance": "explain", "partial_dependence": "explain", "partial_dependence_2d": "explain",
    "ale": "explain", "shap_values": "explain", "ShapResult": "explain", "PartialDependence": "explain",
    "ExplanationError": "explain",
    "counterfactuals": "counterfactual", "Counterfactuals": "counterfactual",
    "NoCounterfactualsError": "counterfactual", "CounterfactualRequest": "counterfactual",
    "comparison_table": "counterfactual",
    "instance_table": "instances", "instances_file": "instances",
    "roc_across_runs": "across", "confusion_across_runs": "across", "pdp_across_runs": "across",
    "AcrossRuns": "across",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lens_core.insights' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lens_core.insights.{module}"), name)
