"""Global and local explanations of a fitted model over the user's own columns (categorical columns included).

Every function takes the model as logged (a Pipeline with its preprocessing is fine) and the raw feature frame.
For classifiers the explained output is the probability of ``target`` (default: the positive / last class).

>>> permutation_importance(model, X, y)             # doctest: +SKIP  feature, importance, std, metric
>>> partial_dependence(model, X, "tenure", ice=True)  # doctest: +SKIP  .average; .ice: row, value, prediction
>>> partial_dependence_2d(model, X, ("a", "b"))     # doctest: +SKIP  a, b, average
>>> ale(model, X, "tenure", bins=20)                # doctest: +SKIP  edge, ale, lower, upper, count
>>> shap_values(model, X, max_rows=500)             # doctest: +SKIP  ShapResult(values, base_value, data, …)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens_core.errors import LensError
from lens_core.insights.evaluation import output_of

#: Row budgets: defaults that keep each computation to a few seconds on 2 cores for a 200-tree forest.
PDP_ROWS = 1000
ICE_ROWS = 100
ALE_ROWS = 5000
PERMUTATION_ROWS = 2000
SHAP_TREE_ROWS = 200
SHAP_AGNOSTIC_ROWS = 40


class ExplanationError(LensError):
    """An explanation cannot be computed for this feature / model; the message says what to do instead."""


def is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _sample(X: pd.DataFrame, rows: int | None, random_state: int = 0) -> pd.DataFrame:
    if rows is None or len(X) <= rows:
        return X
    return X.sample(n=rows, random_state=random_state)


def output_label(model: Any, target: Any) -> str:
    """What the explanations explain: \"P(class k)\" or \"prediction\"."""
    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict_proba"):
        return "prediction"
    return f"P(class {classes[-1] if target is None else target})"


# ------------------------------------------------------------------------------------------ permutation importance


def permutation_importance(model: Any, X: pd.DataFrame, y: pd.Series, *, n_repeats: int = 5, random_state: int = 0,
                           max_rows: int | None = PERMUTATION_ROWS, scoring: str | None = None) -> pd.DataFrame:
    """Drop in score when one column is shuffled: ``feature, importance, std, metric`` (largest first).

    Default score: ROC AUC (binary), accuracy (multiclass), R² (regression)."""
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    X = X.reset_index(drop=True)
    y = pd.Series(np.asarray(y).ravel())
    X = _sample(X, max_rows, random_state)
    y = y.loc[X.index]
    if scoring is None:
        classes = getattr(model, "classes_", None)
        if classes is None or not hasattr(model, "predict_proba"):
            scoring = "r2"
        else:
            scoring = "roc_auc" if len(classes) == 2 else "accuracy"
    result = sk_permutation_importance(model, X, np.asarray(y), n_repeats=n_repeats, random_state=random_state,
                                       scoring=scoring, n_jobs=1)
    return importance_table(list(X.columns), result.importances, scoring)


def importance_table(features: list[str], importances: np.ndarray, metric: str) -> pd.DataFrame:
    """``feature, importance, std, metric`` (largest first) from a features × repeats array of score drops, as
    :func:`permutation_importance` returns it; repeats computed apart (one per call, for progress) join here."""
    importances = np.asarray(importances, dtype=float).reshape(len(features), -1)
    frame = pd.DataFrame({"feature": features, "importance": importances.mean(axis=1),
                          "std": importances.std(axis=1), "metric": metric})
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def permutation_repeat(model: Any, X: pd.DataFrame, y: pd.Series, repeat: int, *, random_state: int = 0,
                       max_rows: int | None = PERMUTATION_ROWS) -> tuple[np.ndarray, str]:
    """One repeat of :func:`permutation_importance` (its own seed ``random_state + repeat``): the score drop per
    feature and the score's name. ``importance_table`` joins repeats."""
    one = permutation_importance(model, X, y, n_repeats=1, random_state=random_state + repeat, max_rows=max_rows)
    drops = one.set_index("feature").loc[list(X.columns), "importance"].to_numpy()
    return drops, str(one["metric"].iloc[0])


# ---------------------------------------------------------------------------------------------- partial dependence


@dataclass(frozen=True)
class PartialDependence:
    """``average``: value, average. ``ice``: row, value, prediction (None unless asked)."""

    feature: str
    categorical: bool
    output: str
    average: pd.DataFrame
    ice: pd.DataFrame | None = None


def feature_grid(X: pd.DataFrame, feature: str, grid_resolution: int = 20,
                 percentiles: tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
    """scikit-learn's grid: the unique values when fewer than ``grid_resolution``, else evenly spaced between the
    percentiles. Categories: every category present."""
    values = X[feature].dropna()
    unique = np.unique(values.to_numpy())
    if is_categorical(X[feature]) or len(unique) < grid_resolution:
        return unique
    low, high = np.quantile(values.to_numpy(dtype=float), percentiles)
    return np.linspace(low, high, grid_resolution)


def _stacked(X: pd.DataFrame, assignments: dict[str, np.ndarray]) -> pd.DataFrame:
    """Copies of ``X``, one per grid point, with the features set to that point (one frame, one predict call)."""
    n_points = len(next(iter(assignments.values())))
    stacked = pd.DataFrame({c: np.tile(X[c].to_numpy(), n_points) for c in X.columns})
    for column, values in assignments.items():
        stacked[column] = np.repeat(values, len(X))
    return stacked


def partial_dependence(model: Any, X: pd.DataFrame, feature: str, *, grid: Any = None, grid_resolution: int = 20,
                       ice: bool = False, target: Any = None, max_rows: int | None = PDP_ROWS,
                       ice_rows: int = ICE_ROWS, random_state: int = 0) -> PartialDependence:
    """Brute-force partial dependence: the average model output over ``X`` with ``feature`` set to each grid
    value (and, with ``ice=True``, the per-row curves of ``ice_rows`` of those rows)."""
    X = _sample(X, max_rows, random_state).reset_index(drop=True)
    grid = feature_grid(X, feature, grid_resolution) if grid is None else np.asarray(grid)
    output = output_of(model, _stacked(X, {feature: grid}), target).reshape(len(grid), len(X))
    average = pd.DataFrame({"value": grid, "average": output.mean(axis=1)})
    lines = None
    if ice:
        rows = np.arange(len(X)) if len(X) <= ice_rows else np.random.default_rng(random_state).choice(
            len(X), ice_rows, replace=False)
        lines = pd.DataFrame({"row": np.tile(rows, len(grid)), "value": np.repeat(grid, len(rows)),
                              "prediction": output[:, rows].ravel()})
    return PartialDependence(feature, is_categorical(X[feature]), output_label(model, target), average, lines)


def pdp_grid(model: Any, X: pd.DataFrame, feature: str, *, grid_resolution: int = 20, max_rows: int | None = PDP_ROWS,
             random_state: int = 0) -> np.ndarray:
    """The grid :func:`partial_dependence` uses for ``feature`` on the same rows (to compute it in parts)."""
    return feature_grid(_sample(X, max_rows, random_state).reset_index(drop=True), feature, grid_resolution)


def concat_partial_dependence(parts: list[PartialDependence]) -> PartialDependence:
    """One partial dependence from parts computed on consecutive pieces of one grid (same rows)."""
    first = parts[0]
    ice = None if first.ice is None else pd.concat([p.ice for p in parts if p.ice is not None], ignore_index=True)
    return PartialDependence(first.feature, first.categorical, first.output,
                             pd.concat([p.average for p in parts], ignore_index=True), ice)


def partial_dependence_2d(model: Any, X: pd.DataFrame, features: tuple[str, str], *, grid_resolution: int = 10,
                          target: Any = None, max_rows: int | None = 300, random_state: int = 0,
                          first_values: Any = None) -> pd.DataFrame:
    """Average output over a grid of two features: columns ``<f1>, <f2>, average``. ``first_values``: only these
    values of the first feature's grid (to compute the grid in parts)."""
    f1, f2 = features
    if f1 == f2:
        raise ExplanationError("A two-feature partial dependence needs two different features.")
    X = _sample(X, max_rows, random_state).reset_index(drop=True)
    g1, g2 = feature_grid(X, f1, grid_resolution), feature_grid(X, f2, grid_resolution)
    if first_values is not None:
        g1 = np.asarray(first_values)
    a, b = np.repeat(g1, len(g2)), np.tile(g2, len(g1))
    output = output_of(model, _stacked(X, {f1: a, f2: b}), target).reshape(len(a), len(X))
    return pd.DataFrame({f1: a, f2: b, "average": output.mean(axis=1)})


# ------------------------------------------------------------------------------------------------------------- ALE


def ale_edges(values: pd.Series, bins: int) -> np.ndarray:
    """Bin edges at the quantiles of the feature (duplicates merged)."""
    return np.unique(np.quantile(values.to_numpy(dtype=float), np.linspace(0, 1, bins + 1), method="inverted_cdf"))


def ale(model: Any, X: pd.DataFrame, feature: str, *, bins: int = 20, edges: Any = None, target: Any = None,
        confidence: float = 0.95, max_rows: int | None = ALE_ROWS, random_state: int = 0) -> pd.DataFrame:
    """First-order accumulated local effects of a numeric feature: ``edge, ale, lower, upper, count``.

    Bins are ``(edge[k-1], edge[k]]`` (the first includes its lower edge). Per bin, the mean change of the output
    when the feature moves from the bin's lower to its upper edge, accumulated and centred so the count-weighted
    mean effect is 0. ``lower`` / ``upper``: a ``confidence`` t-interval of each bin's mean change around the
    accumulated effect. The first row is the lowest edge (count 0)."""
    from scipy.stats import t as student_t

    if is_categorical(X[feature]):
        raise ExplanationError(
            f"ALE needs an ordered (numeric) feature and {feature!r} is categorical: its categories have no order "
            "to accumulate along. Use the partial dependence plot for it."
        )
    X = _sample(X, max_rows, random_state).reset_index(drop=True)
    x = X[feature].to_numpy(dtype=float)
    edges = ale_edges(X[feature], bins) if edges is None else np.unique(np.asarray(edges, dtype=float))
    if len(edges) < 2:
        raise ExplanationError(f"{feature!r} takes a single value in this data: it has no effect to show.")
    index = np.clip(np.searchsorted(edges, x, side="left") - 1, 0, len(edges) - 2)
    low = X.assign(**{feature: edges[index]})
    high = X.assign(**{feature: edges[index + 1]})
    both = output_of(model, pd.concat([low, high], ignore_index=True), target)
    delta = both[len(X):] - both[: len(X)]
    k = len(edges) - 1
    counts = np.bincount(index, minlength=k)
    sums = np.bincount(index, weights=delta, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        squares = np.bincount(index, weights=delta**2, minlength=k)
        variance = np.where(counts > 1, (squares - counts * means**2) / np.maximum(counts - 1, 1), np.nan)
        half = student_t.ppf(1 - (1 - confidence) / 2, np.maximum(counts - 1, 1)) * np.sqrt(
            np.clip(variance, 0, None) / np.maximum(counts, 1))
    accumulated = np.concatenate([[0.0], np.cumsum(means)])
    centre = np.sum((accumulated[1:] + accumulated[:-1]) / 2 * counts) / counts.sum()
    effect = accumulated - centre
    half = np.concatenate([[np.nan], half])
    return pd.DataFrame({"edge": edges, "ale": effect, "lower": effect - half, "upper": effect + half,
                         "count": np.concatenate([[0], counts]).astype(int)})


# ------------------------------------------------------------------------------------------------------------ SHAP


@dataclass(frozen=True)
class ShapResult:
    """SHAP values per explained row and user column. ``base_value + values.sum(axis=1) == prediction`` in the
    ``output`` space ("probability of class 1", "log-odds of class 1", "prediction")."""

    values: pd.DataFrame
    base_value: float
    data: pd.DataFrame
    prediction: np.ndarray
    output: str
    method: str  # "tree" | "linear" | "kernel"

    def importance(self) -> pd.DataFrame:
        """``feature, mean_abs_shap`` (largest first)."""
        mean_abs = self.values.abs().mean()
        return (pd.DataFrame({"feature": mean_abs.index, "mean_abs_shap": mean_abs.to_numpy()})
                .sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True))

    def long(self) -> pd.DataFrame:
        """``row, feature, shap, value, value_rank`` (value_rank: 0..1 within the feature, NaN for categories)."""
        parts = []
        for column in self.values.columns:
            data = self.data[column]
            rank = data.rank(pct=True) if not is_categorical(data) else pd.Series(np.nan, index=data.index)
            parts.append(pd.DataFrame({"row": self.data.index, "feature": column,
                                       "shap": self.values[column].to_numpy(), "value": data.astype(str).to_numpy(),
                                       "value_rank": rank.to_numpy()}))
        return pd.concat(parts, ignore_index=True)

    def waterfall(self, row: Any, top: int = 10) -> pd.DataFrame:
        """One row's contributions: ``feature, value, shap, start, end`` from the base value to the prediction,
        the ``top`` largest by |SHAP| then one "other features" bar."""
        contributions = self.values.loc[row]
        order = contributions.abs().sort_values(ascending=False).index
        shown = list(order[:top])
        rows = [(f"{f} = {_fmt(self.data.loc[row, f])}", float(contributions[f])) for f in shown]
        rest = float(contributions[list(order[top:])].sum()) if len(order) > top else 0.0
        if len(order) > top:
            rows.append((f"{len(order) - top} other features", rest))
        start = self.base_value
        out = []
        for label, value in rows:
            out.append({"feature": label, "shap": value, "start": start, "end": start + value})
            start += value
        return pd.DataFrame(out)


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def shap_values(model: Any, X: pd.DataFrame, *, max_rows: int | None = SHAP_TREE_ROWS,
                agnostic_rows: int | None = SHAP_AGNOSTIC_ROWS, background: pd.DataFrame | None = None,
                target: Any = None, method: str = "auto", random_state: int = 0,
                background_rows: int = 100, nsamples: int = 200) -> ShapResult:
    """SHAP values over the user's columns.

    ``method="auto"``: for a Pipeline (or bare model) whose last step is a tree ensemble, shap's TreeExplainer on
    that step over the transformed features, exact and fast; a linear last step gets LinearExplainer; either way
    the columns one user column produced (one-hot) are summed back into it. Anything else: KernelExplainer on a
    sample (categories encoded as numbers and decoded inside the prediction function).

    ``max_rows`` caps the rows explained by the fast structured explainers, ``agnostic_rows`` those explained by
    KernelExplainer (each costs ``nsamples`` × ``background_rows`` predictions)."""
    import shap  # noqa: F401 - heavy, imported on use

    classes = getattr(model, "classes_", None)
    classifier = classes is not None and hasattr(model, "predict_proba")
    class_index = (len(classes) - 1 if target is None else list(classes).index(target)) if classifier else None
    background = X if background is None else background
    if method in ("auto", "tree", "linear"):
        result = _shap_structured(model, _sample(X, max_rows, random_state), _sample(background, background_rows,
                                  random_state), class_index, classes, method)
        if result is not None:
            return result
        if method != "auto":
            raise ExplanationError(f"The {method} explainer does not apply to this model; use method='auto'.")
    return _shap_kernel(model, _sample(X, agnostic_rows, random_state), _sample(background, min(background_rows, 30),
                        random_state), class_index, classes, nsamples)


def shap_plan(model: Any, X: pd.DataFrame, *, max_rows: int | None = SHAP_TREE_ROWS,
              agnostic_rows: int | None = SHAP_AGNOSTIC_ROWS, background: pd.DataFrame | None = None,
              random_state: int = 0) -> tuple[str, list[Any]]:
    """The explainer :func:`shap_values` uses for this model ("structured": tree or linear; else "kernel") and the
    index labels of the rows of ``X`` it explains, so the rows can be explained in batches (each row's values do
    not depend on the other rows) and progress shown. Tries the structured explainer on one row."""
    background = X if background is None else background
    classes = getattr(model, "classes_", None)
    class_index = len(classes) - 1 if classes is not None and hasattr(model, "predict_proba") else None
    try:
        probe = _shap_structured(model, X.iloc[:1], _sample(background, 20, random_state), class_index, classes,
                                 "auto")
    except Exception:  # noqa: BLE001 - whatever fails here, the model-agnostic explainer is the answer
        probe = None
    if probe is not None:
        return "structured", list(_sample(X, max_rows, random_state).index)
    return "kernel", list(_sample(X, agnostic_rows, random_state).index)


def concat_shap(parts: list[ShapResult]) -> ShapResult:
    """One :class:`ShapResult` from batches of rows explained apart (same model, background and output)."""
    first = parts[0]
    return ShapResult(pd.concat([p.values for p in parts]), first.base_value, pd.concat([p.data for p in parts]),
                      np.concatenate([p.prediction for p in parts]), first.output, first.method)


def _split_pipeline(model: Any) -> tuple[Any, Any]:
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model[:-1], model.steps[-1][1]
    return None, model


def _column_groups(pre: Any, columns: list[str], n_out: int) -> list[str] | None:
    """For each transformed column, the user column it comes from; None when the mapping is not a partition."""
    if pre is None:
        return list(columns) if n_out == len(columns) else None
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    last = pre.steps[-1][1] if isinstance(pre, Pipeline) else pre
    if isinstance(pre, Pipeline) and len(pre.steps) > 1:
        return None  # chained preprocessing: only a single ColumnTransformer / elementwise step is mapped
    if not isinstance(last, ColumnTransformer):
        return list(columns) if n_out == len(columns) else None
    owners: list[str] = []
    names_in = list(getattr(last, "feature_names_in_", columns))
    for _name, transformer, cols in last.transformers_:
        if transformer == "drop":
            continue
        if isinstance(cols, slice) or (len(cols) and not isinstance(cols[0], str)):
            cols = list(np.asarray(names_in)[cols])
        cols = list(cols)
        if not cols:
            continue
        if transformer == "passthrough":
            owners.extend(cols)
            continue
        try:
            out_names = list(transformer.get_feature_names_out(cols))
        except Exception:  # noqa: BLE001
            return None
        if len(out_names) == len(cols):
            owners.extend(cols)
        elif len(cols) == 1:
            owners.extend(cols * len(out_names))
        else:
            for out in out_names:
                match = max((c for c in cols if str(out).startswith(f"{c}_")), key=len, default=None)
                if match is None:
                    return None
                owners.append(match)
    return owners if len(owners) == n_out else None


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=float)


def _pick_class(values: Any, base: Any, class_index: int | None, n_classes: int | None) -> tuple[np.ndarray, float]:
    values = np.asarray(values)
    base = np.atleast_1d(np.asarray(base, dtype=float))
    if values.ndim == 3:  # rows × features × outputs
        index = class_index if values.shape[2] > 1 else 0
        return values[:, :, index], float(base[index if len(base) > 1 else 0])
    return values, float(base[0])


def _shap_structured(model: Any, X: pd.DataFrame, background: pd.DataFrame, class_index: int | None,
                     classes: Any, method: str) -> ShapResult | None:
    import shap

    pre, step = _split_pipeline(model)
    columns = list(X.columns)
    try:
        Z = _dense(pre.transform(X)) if pre is not None else X.to_numpy(dtype=float)
        Zb = _dense(pre.transform(background)) if pre is not None else background.to_numpy(dtype=float)
    except Exception:  # noqa: BLE001 - e.g. text columns without a preprocessor
        return None
    owners = _column_groups(pre, columns, Z.shape[1])
    if owners is None:
        return None
    explainer = None
    kind = ""
    if method in ("auto", "tree"):
        try:
            explainer, kind = shap.TreeExplainer(step), "tree"
        except Exception:  # noqa: BLE001 - not a tree model
            explainer = None
    if explainer is None and method in ("auto", "linear") and hasattr(step, "coef_"):
        try:
            explainer, kind = shap.LinearExplainer(step, shap.maskers.Independent(Zb, max_samples=len(Zb))), "linear"
        except Exception:  # noqa: BLE001
            explainer = None
    if explainer is None:
        return None
    try:
        raw = explainer.shap_values(Z, check_additivity=False) if kind == "tree" else explainer.shap_values(Z)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(raw, list):
        raw = np.stack(raw, axis=-1)
    values, base = _pick_class(raw, explainer.expected_value, class_index, None if classes is None else len(classes))
    grouped = pd.DataFrame(values, index=X.index).T.groupby(np.asarray(owners), sort=False).sum().T
    grouped = grouped[[c for c in columns if c in grouped.columns]]
    grouped.index = X.index
    prediction = base + grouped.sum(axis=1).to_numpy()
    if class_index is None:
        output = "prediction"
    else:
        probability = np.asarray(model.predict_proba(X))[:, class_index]
        label = classes[class_index]
        output = (f"probability of class {label}" if np.allclose(prediction, probability, atol=1e-6)
                  else f"log-odds of class {label}")
    return ShapResult(grouped, base, X, prediction, output, kind)


def _shap_kernel(model: Any, X: pd.DataFrame, background: pd.DataFrame, class_index: int | None, classes: Any,
                 nsamples: int) -> ShapResult:
    import shap

    columns = list(X.columns)
    categories = {c: pd.Index(pd.concat([X[c], background[c]]).astype(str).unique())
                  for c in columns if is_categorical(X[c])}

    def encode(frame: pd.DataFrame) -> np.ndarray:
        out = frame.copy()
        for c, cats in categories.items():
            out[c] = cats.get_indexer(frame[c].astype(str))
        return out.to_numpy(dtype=float)

    def predict(Z: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(Z, columns=columns)
        for c, cats in categories.items():
            frame[c] = cats[np.clip(np.rint(frame[c]).astype(int), 0, len(cats) - 1)]
        for c in columns:
            if c not in categories:
                frame[c] = frame[c].astype(X[c].dtype) if pd.api.types.is_float_dtype(X[c]) else frame[c]
        target = None if class_index is None else classes[class_index]
        return output_of(model, frame, target)

    explainer = shap.KernelExplainer(predict, encode(background))
    values = np.asarray(explainer.shap_values(encode(X), nsamples=nsamples, silent=True))
    base = float(np.atleast_1d(explainer.expected_value)[0])
    frame = pd.DataFrame(values, index=X.index, columns=columns)
    output = "prediction" if class_index is None else f"probability of class {classes[class_index]}"
    return ShapResult(frame, base, X, base + values.sum(axis=1), output, "kernel")
