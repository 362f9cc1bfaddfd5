"""Evaluation of a model on a test split: ROC / PR per class, confusion matrix, per-class report, regression errors.

>>> ev = evaluate(model, X_test, y_test)          # doctest: +SKIP
>>> ev.roc          # class, fpr, tpr, threshold   (binary: the positive class; multiclass: each class, micro, macro)
>>> ev.auc          # class, roc_auc, average_precision
>>> ev.confusion    # actual, predicted, count, normalized (row-normalised: share of the actual class)
>>> ev.report       # class, precision, recall, f1, support
>>> ev.predictions  # actual, predicted, correct, proba_<class>… (classification) | actual, predicted, residual
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: ROC / PR curves are cut to about this many points for charts (extremes kept).
MAX_CURVE_POINTS = 400


@dataclass(frozen=True)
class Evaluation:
    task: str
    metrics: dict[str, float]
    predictions: pd.DataFrame
    classes: tuple[Any, ...] = ()
    roc: pd.DataFrame | None = None
    pr: pd.DataFrame | None = None
    auc: pd.DataFrame | None = None
    confusion: pd.DataFrame | None = None
    report: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def output_of(model: Any, X: pd.DataFrame, target: Any = None) -> np.ndarray:
    """The explained output: probability of ``target`` (default: the positive / last class) for classifiers,
    the prediction for regressors."""
    classes = getattr(model, "classes_", None)
    if classes is not None and hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        index = len(classes) - 1 if target is None else list(classes).index(target)
        return np.asarray(proba)[:, index]
    return np.asarray(model.predict(X), dtype=float).ravel()


def evaluate(model: Any, X: pd.DataFrame, y: pd.Series, *, threshold: float | None = None) -> Evaluation:
    """Evaluate ``model`` on ``(X, y)``. ``threshold`` (binary only) turns the positive-class probability into a
    label; default: the model's own ``predict`` (argmax)."""
    classes = getattr(model, "classes_", None)
    y = pd.Series(np.asarray(y).ravel(), name=getattr(y, "name", None) or "target")
    if classes is None or not hasattr(model, "predict_proba"):
        return _regression(model, X, y)
    classes = tuple(np.asarray(classes).tolist())
    proba = np.asarray(model.predict_proba(X))
    return classification_from_proba(y.to_numpy(), proba, classes, threshold=threshold)


def classification_from_proba(y: np.ndarray, proba: np.ndarray, classes: tuple[Any, ...], *,
                              threshold: float | None = None) -> Evaluation:
    """The whole classification evaluation from probabilities (cheap: the threshold slider recomputes it)."""
    from sklearn import metrics

    y = np.asarray(y)
    binary = len(classes) == 2
    if binary and threshold is not None:
        predicted = np.where(proba[:, 1] >= threshold, classes[1], classes[0])
    else:
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
    onehot = (y[:, None] == np.asarray(classes)[None, :]).astype(int)
    roc_parts, pr_parts, auc_rows = [], [], []
    curve_classes = [1] if binary else range(len(classes))
    for k in curve_classes:
        label = str(classes[k])
        if onehot[:, k].min() == onehot[:, k].max():  # class absent from the test set: no curve
            continue
        fpr, tpr, thr = metrics.roc_curve(onehot[:, k], proba[:, k])
        precision, recall, pthr = metrics.precision_recall_curve(onehot[:, k], proba[:, k])
        roc_parts.append(_thin(pd.DataFrame({"class": label, "fpr": fpr, "tpr": tpr, "threshold": thr})))
        pr_parts.append(_thin(pd.DataFrame({"class": label, "recall": recall, "precision": precision,
                                            "threshold": np.append(pthr, np.nan)})))
        auc_rows.append({"class": label, "roc_auc": metrics.auc(fpr, tpr),
                         "average_precision": metrics.average_precision_score(onehot[:, k], proba[:, k])})
    if not binary and roc_parts:
        fpr, tpr, thr = metrics.roc_curve(onehot.ravel(), proba.ravel())
        roc_parts.append(_thin(pd.DataFrame({"class": "micro", "fpr": fpr, "tpr": tpr, "threshold": thr})))
        grid = np.unique(np.concatenate([p["fpr"].to_numpy() for p in roc_parts[:-1]]))
        mean_tpr = np.mean([np.interp(grid, p["fpr"], p["tpr"]) for p in roc_parts[:-1]], axis=0)
        roc_parts.append(pd.DataFrame({"class": "macro", "fpr": grid, "tpr": mean_tpr, "threshold": np.nan}))
        per_class = list(auc_rows)
        auc_rows.append({"class": "micro", "roc_auc": metrics.roc_auc_score(onehot, proba, average="micro"),
                         "average_precision": metrics.average_precision_score(onehot, proba, average="micro")})
        auc_rows.append({"class": "macro", "roc_auc": float(np.mean([r["roc_auc"] for r in per_class])),
                         "average_precision": float(np.mean([r["average_precision"] for r in per_class]))})
    labels = list(classes)
    counts = metrics.confusion_matrix(y, predicted, labels=labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalized = counts / counts.sum(axis=1, keepdims=True)
    confusion = pd.DataFrame({
        "actual": np.repeat([str(c) for c in labels], len(labels)),
        "predicted": np.tile([str(c) for c in labels], len(labels)),
        "count": counts.ravel(),
        "normalized": np.nan_to_num(normalized.ravel()),
    })
    p, r, f, s = metrics.precision_recall_fscore_support(y, predicted, labels=labels, zero_division=0)
    report = pd.DataFrame({"class": [str(c) for c in labels], "precision": p, "recall": r, "f1": f, "support": s})
    scores = {"accuracy": float(metrics.accuracy_score(y, predicted)),
              "balanced_accuracy": float(metrics.balanced_accuracy_score(y, predicted)),
              "log_loss": float(metrics.log_loss(y, np.clip(proba, 1e-15, 1), labels=labels))}
    if binary:
        scores.update(precision=float(p[1]), recall=float(r[1]), f1=float(f[1]))
        if auc_rows:
            scores["roc_auc"] = float(auc_rows[0]["roc_auc"])
            scores["average_precision"] = float(auc_rows[0]["average_precision"])
    else:
        scores["f1_macro"] = float(np.mean(f))
        if auc_rows:
            scores["roc_auc_macro"] = float(auc_rows[-1]["roc_auc"])
    predictions = pd.DataFrame({"actual": y, "predicted": predicted, "correct": y == predicted})
    for k, c in enumerate(classes):
        predictions[f"proba_{c}"] = proba[:, k]
    predictions["confidence"] = proba.max(axis=1) if not binary else proba[:, 1]
    return Evaluation(
        task="binary" if binary else "multiclass", metrics=scores, predictions=predictions, classes=classes,
        roc=pd.concat(roc_parts, ignore_index=True) if roc_parts else None,
        pr=pd.concat(pr_parts, ignore_index=True) if pr_parts else None,
        auc=pd.DataFrame(auc_rows) if auc_rows else None, confusion=confusion, report=report,
        extra={"threshold": threshold},
    )


def _regression(model: Any, X: pd.DataFrame, y: pd.Series) -> Evaluation:
    from sklearn import metrics

    predicted = np.asarray(model.predict(X), dtype=float).ravel()
    actual = y.to_numpy(dtype=float)
    residual = actual - predicted
    scores = {"mae": float(metrics.mean_absolute_error(actual, predicted)),
              "rmse": float(np.sqrt(metrics.mean_squared_error(actual, predicted))),
              "r2": float(metrics.r2_score(actual, predicted)),
              "median_ae": float(metrics.median_absolute_error(actual, predicted)),
              "max_error": float(np.max(np.abs(residual))) if len(residual) else float("nan")}
    predictions = pd.DataFrame({"actual": actual, "predicted": predicted, "residual": residual,
                                "abs_error": np.abs(residual)})
    return Evaluation(task="regression", metrics=scores, predictions=predictions)


def _thin(curve: pd.DataFrame, limit: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """At most about ``limit`` points of a monotone curve, first and last kept."""
    if len(curve) <= limit:
        return curve
    keep = np.unique(np.linspace(0, len(curve) - 1, limit).round().astype(int))
    return curve.iloc[keep].reset_index(drop=True)
