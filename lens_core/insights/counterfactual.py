"""Counterfactuals with dice-ml: small changes to one instance that give the prediction the user asks for.

Every counterfactual dice-ml returns is checked against the model again: only those that really get the desired
prediction are kept (``dropped`` counts the others).

>>> cf = counterfactuals(model, X_train, y_train, X_test.iloc[[3]], n=3)  # doctest: +SKIP
>>> cf.counterfactuals   # the features + "prediction", one row per counterfactual
>>> cf.diff              # counterfactual, feature, original, value: only the changed cells
>>> comparison_table(cf)  # original, CF 1, CF 2, …: the changed features and the prediction, as text
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens_core.errors import LensError
from lens_core.insights.explain import is_categorical

OUTCOME = "__lens_outcome__"


class NoCounterfactualsError(LensError):
    """dice-ml found no counterfactual with the desired prediction; the message says what to relax."""


@dataclass(frozen=True)
class Counterfactuals:
    original: pd.DataFrame  # one row: the features + prediction
    counterfactuals: pd.DataFrame  # features + prediction
    diff: pd.DataFrame  # counterfactual, feature, original, value
    desired: str
    method: str
    dropped: int = 0


@dataclass(frozen=True)
class CounterfactualRequest:
    """What the user asked for: ``n`` counterfactuals of test row ``row`` (its position) changing only ``vary``
    (empty: any feature), reaching ``desired`` (see :func:`counterfactuals`), found by dice-ml's ``method``."""

    row: int
    n: int
    vary: tuple[str, ...]
    desired: Any
    method: str


def _prediction(model: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(X)).ravel()


def counterfactuals(model: Any, X_train: pd.DataFrame, y_train: pd.Series, instance: pd.DataFrame, *, n: int = 3,
                    features_to_vary: list[str] | None = None, desired: Any = "opposite", method: str = "random",
                    random_state: int = 0, max_train_rows: int = 2000) -> Counterfactuals:
    """``n`` counterfactuals of the one-row frame ``instance``.

    ``desired``: for classifiers ``"opposite"`` (binary) or a class label; for regressors a ``(low, high)`` range.
    ``features_to_vary``: the columns that may change (default: all). ``method``: dice-ml's "random", "genetic" or
    "kdtree"."""
    import dice_ml

    instance = instance.iloc[[0]].reset_index(drop=True)
    columns = list(instance.columns)
    X_train = X_train[columns].reset_index(drop=True)
    y_train = pd.Series(np.asarray(y_train).ravel())
    if len(X_train) > max_train_rows:
        keep = X_train.sample(n=max_train_rows, random_state=random_state).index
        X_train, y_train = X_train.loc[keep].reset_index(drop=True), y_train.loc[keep].reset_index(drop=True)
    classes = getattr(model, "classes_", None)
    classifier = classes is not None and hasattr(model, "predict_proba")
    continuous = [c for c in columns if not is_categorical(X_train[c])]
    frame = X_train.assign(**{OUTCOME: y_train.to_numpy()})
    data = dice_ml.Data(dataframe=frame, continuous_features=continuous, outcome_name=OUTCOME)
    backend = dice_ml.Model(model=model, backend="sklearn", model_type="classifier" if classifier else "regressor")
    explainer = dice_ml.Dice(data, backend, method=method)
    original_prediction = _prediction(model, instance)[0]
    kwargs: dict[str, Any] = {"total_CFs": n, "features_to_vary": features_to_vary or "all"}
    if method == "random":
        kwargs["random_seed"] = random_state
    if classifier:
        if desired == "opposite" and len(classes) != 2:
            raise LensError("'opposite' only applies to binary classifiers: choose the desired class.")
        if desired == "opposite":
            target = classes[1] if original_prediction == classes[0] else classes[0]
        else:
            target = desired
        if target == original_prediction:
            raise LensError(f"The model already predicts {target!r} for this instance: choose another class.")
        kwargs["desired_class"] = int(list(classes).index(target)) if len(classes) > 2 else "opposite"
        def check(predicted: np.ndarray) -> np.ndarray:
            return predicted == target
        desired_text = f"class {target}"
    else:
        low, high = sorted(float(v) for v in desired)
        kwargs["desired_range"] = [low, high]
        def check(predicted: np.ndarray) -> np.ndarray:
            return (predicted >= low) & (predicted <= high)
        desired_text = f"prediction in [{low:g}, {high:g}]"
    relax = ("Relax the search: allow more features to vary, ask for fewer counterfactuals"
             + (", widen the desired range" if not classifier else "") + " or try another method.")
    try:
        result = explainer.generate_counterfactuals(instance, **kwargs)
    except Exception as exc:
        raise NoCounterfactualsError(f"No counterfactual with {desired_text} found ({exc}). {relax}") from exc
    found = result.cf_examples_list[0].final_cfs_df
    if found is None or found.empty:
        raise NoCounterfactualsError(f"No counterfactual with {desired_text} found. {relax}")
    found = found[columns].reset_index(drop=True)
    for c in columns:  # dice-ml hands back numbers as objects / floats: restore the training dtypes
        found[c] = found[c].astype(X_train[c].dtype) if not is_categorical(X_train[c]) else found[c].astype(str)
    predicted = _prediction(model, found)
    ok = np.asarray(check(predicted), dtype=bool)
    dropped = int((~ok).sum())
    found = found[ok].reset_index(drop=True).assign(prediction=predicted[ok])
    if found.empty:
        raise NoCounterfactualsError(
            f"dice-ml proposed {dropped} counterfactual(s) but none gets {desired_text} from the model. {relax}")
    original = instance.assign(prediction=original_prediction)
    diff_rows = []
    for k, row in found.iterrows():
        for c in columns:
            before, after = instance.at[0, c], row[c]
            same = (before == after) if is_categorical(X_train[c]) else np.isclose(float(before), float(after))
            if not same:
                diff_rows.append({"counterfactual": k + 1, "feature": c, "original": str(before),
                                  "value": str(after)})
    diff = pd.DataFrame(diff_rows, columns=["counterfactual", "feature", "original", "value"])
    return Counterfactuals(original, found, diff, desired_text, method, dropped)


def _fmt(value: Any) -> str:
    """Numbers as people read them: integers without ".0", floats to 4 significant digits."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{float(value):.4g}"


def comparison_table(found: Counterfactuals) -> pd.DataFrame:
    """The counterfactuals side by side with the original, as text: one row per changed feature and the
    prediction, columns ``original, CF 1, CF 2, …``; a feature a counterfactual leaves unchanged reads "·"."""
    shown = [*dict.fromkeys(found.diff["feature"]), "prediction"]
    original = {c: _fmt(found.original.at[0, c]) for c in shown}
    table = pd.DataFrame({"original": list(original.values())}, index=shown)
    for k, row in found.counterfactuals.iterrows():
        cells = {c: _fmt(row[c]) for c in shown}
        table[f"CF {k + 1}"] = [cell if c == "prediction" or cell != original[c] else "·" for c, cell in cells.items()]
    return table
