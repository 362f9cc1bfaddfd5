"""Which params drive a metric: a surrogate model from an experiment's params to one metric, and what it says.

The surrogate is a random forest (robust at a few dozen runs, handles params missing on some runs, needs no
scaling) fed with numeric params as numbers and categorical params as ordinal codes. Its cross-validated R² is
reported with every result, so users know how far to trust importance, PDP/ALE and suggestions.

>>> s = fit_surrogate(runs, "metrics.roc_auc")        # doctest: +SKIP
>>> param_importance(s)                                # doctest: +SKIP  param, importance, std
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens_core.errors import LensError
from lens_core.runs.monitor import numeric_columns
from lens_core.trackers.runs_table import columns_of

#: Fewer finished runs with the metric than this, and a surrogate says nothing trustworthy.
MIN_RUNS = 12
MISSING = "(missing)"
_LOWER_IS_BETTER = ("loss", "error", "rmse", "mae", "mse", "perplexity", "time")


class TooFewRunsError(LensError):
    """Not enough runs to fit a surrogate."""


@dataclass(frozen=True)
class Surrogate:
    """A fitted surrogate. ``X`` has one column per param (numeric as float, categorical as str), ``y`` the metric."""

    model: Any
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    X: pd.DataFrame
    y: pd.Series
    cv_r2: float
    cv_r2_std: float
    higher_is_better: bool

    @property
    def params(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @property
    def n_runs(self) -> int:
        return len(self.y)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict(X[list(self.params)])


def higher_is_better(metric: str) -> bool:
    name = metric.removeprefix("metrics.").lower()
    return not any(word in name for word in _LOWER_IS_BETTER)


def training_frame(
    runs: pd.DataFrame, target: str, params: list[str] | None = None
) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    """Finished runs with a finite ``target``; params that vary among them, split into numeric and categorical."""
    usable = runs[(runs["status"] == "FINISHED") & np.isfinite(pd.to_numeric(runs[target], errors="coerce"))]
    candidates = params if params is not None else columns_of(usable, "params")
    varying = [p for p in candidates if p in usable and usable[p].nunique(dropna=False) > 1]
    typed = numeric_columns(usable, varying)
    numeric = [p for p in varying if p in typed]
    categorical = [p for p in varying if p not in typed]
    X = pd.DataFrame(index=usable.index)
    for p in numeric:
        X[p] = typed[p]
    for p in categorical:
        X[p] = usable[p].astype(object).where(usable[p].notna(), MISSING).astype(str)
    return X.reset_index(drop=True), usable[target].astype(float).reset_index(drop=True), numeric, categorical


def fit_surrogate(runs: pd.DataFrame, target: str, *, params: list[str] | None = None,
                  random_state: int = 0) -> Surrogate:
    """Fit the surrogate and its cross-validated R² (k-fold, k ≤ 5). Raises TooFewRunsError with what is missing."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    X, y, numeric, categorical = training_frame(runs, target, params)
    name = target.removeprefix("metrics.")
    if len(y) < MIN_RUNS:
        raise TooFewRunsError(
            f"Only {len(y)} finished runs have a value for {name}; a surrogate needs at least {MIN_RUNS}. "
            "Pick a metric more runs logged, or run more of the sweep."
        )
    if not numeric and not categorical:
        raise TooFewRunsError(f"No param varies among the {len(y)} finished runs with {name}: nothing to explain.")
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    model = Pipeline([
        ("encode", ColumnTransformer([("categorical", encoder, categorical)], remainder="passthrough",
                                     verbose_feature_names_out=False)),
        ("forest", RandomForestRegressor(n_estimators=300, min_samples_leaf=2, random_state=random_state, n_jobs=1)),
    ])
    columns = numeric + categorical
    folds = KFold(n_splits=min(5, len(y) // 3), shuffle=True, random_state=random_state)
    scores = cross_val_score(model, X[columns], y, cv=folds, scoring="r2")
    model.fit(X[columns], y)
    return Surrogate(model, target, tuple(numeric), tuple(categorical), X[columns], y,
                     float(np.mean(scores)), float(np.std(scores)), higher_is_better(target))


def param_importance(s: Surrogate, *, n_repeats: int = 10, random_state: int = 0) -> pd.DataFrame:
    """Permutation importance on the surrogate: ``param, importance, std`` (drop in R² when a param is shuffled),
    most important first."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(s.model, s.X, s.y, n_repeats=n_repeats, random_state=random_state, scoring="r2")
    frame = pd.DataFrame({"param": list(s.params), "importance": result.importances_mean, "std": result.importances_std})
    return frame.sort_values("importance", ascending=False, ignore_index=True)


def rank_correlations(s: Surrogate) -> pd.DataFrame:
    """``param, kind, spearman, eta``: Spearman's ρ for numeric params, the correlation ratio η for categorical."""
    from scipy.stats import spearmanr

    rows = []
    for p in s.numeric:
        present = s.X[p].notna()
        varies = present.sum() > 2 and s.X.loc[present, p].nunique() > 1 and s.y[present].nunique() > 1
        rho = spearmanr(s.X.loc[present, p], s.y[present]).statistic if varies else np.nan
        rows.append((p, "numeric", float(rho), np.nan))
    for p in s.categorical:
        groups = s.y.groupby(s.X[p])
        between = (groups.size() * (groups.mean() - s.y.mean()) ** 2).sum()
        total = ((s.y - s.y.mean()) ** 2).sum()
        rows.append((p, "categorical", np.nan, float(np.sqrt(between / total)) if total > 0 else np.nan))
    return pd.DataFrame(rows, columns=["param", "kind", "spearman", "eta"])


def grid_of(s: Surrogate, param: str, points: int = 20) -> np.ndarray:
    """Values to evaluate a param at: its categories, or quantiles of its observed numeric values."""
    values = s.X[param].dropna()
    if param in s.categorical:
        return np.array(sorted(values.unique()), dtype=object)
    unique = np.unique(values.to_numpy(dtype=float))
    if len(unique) <= points:
        return unique
    return np.unique(np.quantile(unique, np.linspace(0, 1, points)))


def partial_dependence(s: Surrogate, param: str, *, grid: np.ndarray | None = None) -> pd.DataFrame:
    """``value, prediction``: the surrogate's average prediction with ``param`` set to each grid value."""
    grid = grid_of(s, param) if grid is None else grid
    predictions = []
    for value in grid:
        X = s.X.copy()
        X[param] = value
        predictions.append(float(np.mean(s.predict(X))))
    return pd.DataFrame({"value": grid, "prediction": predictions})


def partial_dependence_2d(s: Surrogate, first: str, second: str, *, points: int = 12) -> pd.DataFrame:
    """``<first>, <second>, prediction`` over the product of both params' grids."""
    rows = []
    for a, b in itertools.product(grid_of(s, first, points), grid_of(s, second, points)):
        X = s.X.copy()
        X[first], X[second] = a, b
        rows.append((a, b, float(np.mean(s.predict(X)))))
    return pd.DataFrame(rows, columns=[first, second, "prediction"])


def ale(s: Surrogate, param: str, *, bins: int = 10) -> pd.DataFrame:
    """First-order accumulated local effects of a numeric param: ``low, high, ale, count`` per quantile bin,
    centred so the count-weighted mean effect is zero. Unlike PDP it only evaluates runs inside each bin, so
    correlated params do not produce effects for settings no run had."""
    if param not in s.numeric:
        raise ValueError(f"ALE needs a numeric param; {param} is categorical (use its partial dependence).")
    present = s.X[param].notna()
    values = s.X.loc[present, param].to_numpy(dtype=float)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return pd.DataFrame(columns=["low", "high", "ale", "count"])
    which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    X = s.X[present].reset_index(drop=True)
    effects, counts = [], []
    for b in range(len(edges) - 1):
        members = X[which == b]
        counts.append(len(members))
        if members.empty:
            effects.append(0.0)
            continue
        low, high = members.copy(), members.copy()
        low[param], high[param] = edges[b], edges[b + 1]
        effects.append(float(np.mean(s.predict(high) - s.predict(low))))
    accumulated = np.cumsum(effects)
    counts_arr = np.array(counts, dtype=float)
    centred = accumulated - np.sum(accumulated * counts_arr) / counts_arr.sum()
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "ale": centred, "count": counts})


def suggestions(s: Surrogate, *, n: int = 5, per_param: int = 6, max_candidates: int = 20_000,
                random_state: int = 0) -> pd.DataFrame:
    """The best predicted settings among combinations not yet tried (a surrogate estimate, not a promise).

    Runs of different model families log different params, so candidates are built per *family*: the set of
    params a run logged. Within a family, candidates are the product of the values its runs used (categories,
    or ``per_param`` quantiles of a numeric param), sampled down to a share of ``max_candidates``; the params
    the family never logs stay missing. Combinations some run already had are left out."""
    rng = np.random.default_rng(random_state)
    logged = s.X.notna() & (s.X != MISSING)
    families = logged.drop_duplicates()
    budget = max(1, max_candidates // len(families))
    parts = []
    for _, family in families.iterrows():
        members = s.X[(logged == family).all(axis=1)]
        present = [p for p in s.params if family[p]]
        grids = [_member_grid(members[p], p in s.categorical, per_param) for p in present]
        total = float(np.prod([len(g) for g in grids]))
        if total <= budget:
            combos = list(itertools.product(*grids))
        else:
            combos = [tuple(g[rng.integers(len(g))] for g in grids) for _ in range(budget)]
        part = pd.DataFrame(combos, columns=present)
        for p in s.params:
            if p not in present:
                part[p] = MISSING if p in s.categorical else np.nan
        parts.append(part[list(s.params)])
    candidates = pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)
    for p in s.numeric:
        candidates[p] = candidates[p].astype(float)
    tried = {_key(row) for row in s.X.itertuples(index=False)}
    fresh = candidates[[_key(row) not in tried for row in candidates.itertuples(index=False)]]
    if fresh.empty:
        return fresh.assign(predicted=pd.Series(dtype=float))
    out = fresh.assign(predicted=s.predict(fresh)).sort_values("predicted", ascending=not s.higher_is_better)
    return out.head(n).reset_index(drop=True)


def _member_grid(values: pd.Series, categorical: bool, points: int) -> np.ndarray:
    if categorical:
        return np.array(sorted(values.unique()), dtype=object)
    unique = np.unique(values.to_numpy(dtype=float))
    return unique if len(unique) <= points else np.unique(np.quantile(unique, np.linspace(0, 1, points)))


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A hashable form of a settings row in which every missing value compares equal."""
    return tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in row)
