"""Which params drive a metric: a surrogate model from an experiment's params to one metric, and what it says.

The surrogate is a random forest (robust at a few dozen runs, handles params missing on some runs, needs no
scaling) fed with numeric params as numbers and categorical params as ordinal codes. Its cross-validated R² is
reported with every result, so users know how far to trust importance, PDP/ALE and suggestions.

>>> s = fit_surrogate(runs, "metrics.roc_auc")        # doctest: +SKIP
>>> param_importance(s)                                # doctest: +SKIP  param, importance, std
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens_core.errors import LensError
from lens_core.format import MLFLOW_INF
from lens_core.runs.direction import Direction, guess_direction
from lens_core.runs.monitor import numeric_columns
from lens_core.trackers.runs_table import columns_of

#: Fewer finished runs with the metric than this, and a surrogate says nothing trustworthy.
MIN_RUNS = 12
MISSING = "(missing)"
#: Interpolated values of a positive param whose observed values span more than this factor are geometric means.
GEOMETRIC_SPAN = 100
#: ``progress(fraction done, what is being done)``: how long computations say where they are.
Progress = Callable[[float, str], None]


def _silent(fraction: float, text: str) -> None:
    """The default progress report: nothing."""


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


def oriented(s: Surrogate, direction: Direction) -> Surrogate:
    """The same surrogate read with ``direction`` (the experiment's rule for its metric: the fit does not depend on
    it, only which predictions count as better)."""
    wanted = direction == "max"
    return s if s.higher_is_better == wanted else dataclasses.replace(s, higher_is_better=wanted)


def training_frame(
    runs: pd.DataFrame, target: str, params: list[str] | None = None
) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    """Finished runs with a finite ``target``; params that vary among them, split into numeric and categorical."""
    values = pd.to_numeric(runs[target], errors="coerce")
    usable = runs[(runs["status"] == "FINISHED") & np.isfinite(values) & (values.abs() < MLFLOW_INF)]
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
                  direction: Direction | None = None, random_state: int = 0,
                  progress: Progress = _silent) -> Surrogate:
    """Fit the surrogate and its cross-validated R² (k-fold, k ≤ 5). Raises TooFewRunsError with what is missing.

    ``direction``: whether the metric is better high or low (default: :func:`~lens_core.runs.direction.
    guess_direction`; pages pass the experiment's rule). ``progress`` hears of each fold and the final fit."""
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold
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
        ("forest", forest(len(y), random_state)),
    ])
    columns = numeric + categorical
    folds = KFold(n_splits=min(5 if len(y) <= BIG_STUDY else 3, len(y) // 3), shuffle=True,
                  random_state=random_state)
    n_folds = folds.get_n_splits()
    scores = []
    for fold, (train, test) in enumerate(folds.split(X)):  # fold by fold (not cross_val_score): progress per fold
        progress(fold / (n_folds + 1), f"Cross-validating on {len(y):,} runs: fold {fold + 1} of {n_folds}")
        fitted = clone(model).fit(X[columns].iloc[train], y.iloc[train])
        scores.append(r2_score(y.iloc[test], fitted.predict(X[columns].iloc[test])))
    progress(n_folds / (n_folds + 1), f"Fitting the surrogate on all {len(y):,} runs")
    model.fit(X[columns], y)
    progress(1.0, "Surrogate fitted")
    wanted = direction or guess_direction(target)
    return Surrogate(model, target, tuple(numeric), tuple(categorical), X[columns], y,
                     float(np.mean(scores)), float(np.std(scores)), wanted == "max")


#: Above this many runs the surrogate is a smaller forest on bootstrap samples of this size, cross-validated on 3
#: folds, and importance is measured on ``IMPORTANCE_ROWS`` runs with 5 shuffles: a 5,000-run sweep with 30
#: params took minutes with the small-study settings and takes ~20 s with these.
BIG_STUDY = 2_000
IMPORTANCE_ROWS = 1_000


def forest(n_runs: int, random_state: int = 0) -> Any:
    """The surrogate's forest for ``n_runs`` runs (see ``BIG_STUDY``)."""
    from sklearn.ensemble import RandomForestRegressor

    big = n_runs > BIG_STUDY
    return RandomForestRegressor(n_estimators=100 if big else 150, min_samples_leaf=2,
                                 max_samples=BIG_STUDY if big else None, random_state=random_state, n_jobs=1)


def importance_shuffles(n_runs: int, n_repeats: int = 10) -> int:
    """How many shuffles :func:`param_importance` makes per param for ``n_runs`` runs."""
    return min(n_repeats, 5) if n_runs > BIG_STUDY else n_repeats


@dataclass(frozen=True)
class Study:
    """What the Hyperparameters page shows before a user picks a param: the surrogate and the params' permutation
    importance (:func:`param_importance`). The rank correlations need no surrogate: :func:`correlations`."""

    surrogate: Surrogate
    importance: pd.DataFrame


def study(runs: pd.DataFrame, target: str, *, params: list[str] | None = None, direction: Direction | None = None,
          progress: Progress = _silent) -> Study:
    """Fit the surrogate (:func:`fit_surrogate`), then its importance, telling ``progress`` what is being done
    (fits take most of the time, importance the rest)."""
    s = fit_surrogate(runs, target, params=params, direction=direction,
                      progress=lambda done, text: progress(0.7 * done, text))
    importance = param_importance(s, progress=lambda done, text: progress(0.7 + 0.3 * done, text))
    return Study(s, importance)


def training_digest(runs: pd.DataFrame) -> str:
    """A short digest of a training frame's content (cache keys: new runs or values give a new digest)."""
    import hashlib

    digest = hashlib.blake2b(",".join(map(str, runs.columns)).encode(), digest_size=16)
    digest.update(pd.util.hash_pandas_object(runs, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def param_importance(s: Surrogate, *, n_repeats: int = 10, random_state: int = 0,
                     progress: Progress = _silent) -> pd.DataFrame:
    """Permutation importance on the surrogate: ``param, importance, std`` (drop in R² when a param is shuffled,
    over ``n_repeats`` shuffles), most important first. ``progress`` hears of each param."""
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(random_state)
    X, y = s.X, s.y
    if len(X) > BIG_STUDY:  # a fixed sample, fewer shuffles (see BIG_STUDY)
        chosen = np.sort(rng.choice(len(X), IMPORTANCE_ROWS, replace=False))
        X, y = X.iloc[chosen].reset_index(drop=True), y.iloc[chosen].reset_index(drop=True)
    n_repeats = importance_shuffles(len(s.X), n_repeats)
    baseline = r2_score(y, s.predict(X))
    rows = []
    for i, param in enumerate(s.params):
        progress(i / len(s.params), f"Shuffling param {i + 1} of {len(s.params)} ({param.split('.', 1)[-1]})")
        shuffled = X.copy()
        drops = []
        for _ in range(n_repeats):
            shuffled[param] = X[param].to_numpy()[rng.permutation(len(X))]
            drops.append(baseline - r2_score(y, s.predict(shuffled)))
        rows.append((param, float(np.mean(drops)), float(np.std(drops))))
    progress(1.0, "Importance done")
    frame = pd.DataFrame(rows, columns=["param", "importance", "std"])
    return frame.sort_values("importance", ascending=False, ignore_index=True)


def rank_correlations(s: Surrogate) -> pd.DataFrame:
    """``param, kind, spearman, eta, note``: Spearman's ρ for numeric params, the correlation ratio η for
    categorical ones; none for a categorical param with more values than half the runs (an id-like param: η of
    groups of one run is 1 whatever the param does), its note saying so."""
    return _rank_correlations(s.X, s.y, s.numeric, s.categorical)


def correlations(runs: pd.DataFrame, target: str, params: list[str] | None = None) -> pd.DataFrame:
    """:func:`rank_correlations` straight from the runs, without a surrogate (milliseconds: a page shows them
    while the surrogate is fitted)."""
    X, y, numeric, categorical = training_frame(runs, target, params)
    return _rank_correlations(X, y, numeric, categorical)


def _rank_correlations(X: pd.DataFrame, y: pd.Series, numeric: Sequence[str], categorical: Sequence[str]
                       ) -> pd.DataFrame:
    rows = []
    for p in numeric:
        present = X[p].notna()
        varies = present.sum() > 2 and X.loc[present, p].nunique() > 1 and y[present].nunique() > 1
        # Spearman's ρ is Pearson's r of the (average) ranks; computed so, it needs no scipy import
        rho = X.loc[present, p].rank().corr(y[present].rank()) if varies else np.nan
        rows.append((p, "numeric", float(rho), np.nan, ""))
    for p in categorical:
        groups = y.groupby(X[p])
        if groups.ngroups > len(y) / 2:  # η of groups of one run is 1 whatever the param does
            rows.append((p, "categorical", np.nan, np.nan,
                         "a value per run" if groups.ngroups == len(y) else "few runs per value"))
            continue
        between = (groups.size() * (groups.mean() - y.mean()) ** 2).sum()
        total = ((y - y.mean()) ** 2).sum()
        rows.append((p, "categorical", np.nan, float(np.sqrt(between / total)) if total > 0 else np.nan, ""))
    return pd.DataFrame(rows, columns=["param", "kind", "spearman", "eta", "note"])


#: Categories a categorical param's partial dependence shows at most: the most frequent ones (an id-like param
#: with a value per run would otherwise ask the surrogate for thousands of settings).
MAX_CATEGORIES = 30
#: Runs the partial dependence averages over: a fixed sample of this many when there are more (the average of
#: thousands of predictions moves by far less than the chart can show).
PD_ROWS = 500


def grid_of(s: Surrogate, param: str, points: int = 20) -> np.ndarray:
    """Values to evaluate a param at: its ``MAX_CATEGORIES`` most frequent categories (in order), or quantiles of
    its observed numeric values."""
    values = s.X[param].dropna()
    if param in s.categorical:
        frequent = values.value_counts().index[:MAX_CATEGORIES]
        return np.array(sorted(frequent), dtype=object)
    unique = np.unique(values.to_numpy(dtype=float))
    if len(unique) <= points:
        return unique
    return np.unique(np.quantile(unique, np.linspace(0, 1, points)))


def _averaged_over(s: Surrogate, settings: pd.DataFrame) -> np.ndarray:
    """The surrogate's mean prediction over (a sample of) the runs with each row of ``settings`` imposed: one
    predict call over len(settings) × rows."""
    base = s.X if len(s.X) <= PD_ROWS else s.X.sample(n=PD_ROWS, random_state=0)
    n = len(base)
    X = pd.concat([base] * len(settings), ignore_index=True)
    for column in settings.columns:
        X[column] = np.repeat(settings[column].to_numpy(dtype=object if column in s.categorical else float), n)
    return np.asarray(s.predict(X), dtype=float).reshape(len(settings), n).mean(axis=1)


def partial_dependence(s: Surrogate, param: str, *, grid: np.ndarray | None = None) -> pd.DataFrame:
    """``value, prediction``: the surrogate's average prediction with ``param`` set to each grid value."""
    grid = grid_of(s, param) if grid is None else grid
    predictions = _averaged_over(s, pd.DataFrame({param: grid}))
    return pd.DataFrame({"value": grid, "prediction": predictions.astype(float)})


def partial_dependence_2d(s: Surrogate, first: str, second: str, *, points: int = 12) -> pd.DataFrame:
    """``<first>, <second>, prediction`` over the product of both params' grids."""
    pairs = pd.DataFrame(list(itertools.product(grid_of(s, first, points), grid_of(s, second, points))),
                         columns=[first, second])
    return pairs.assign(prediction=_averaged_over(s, pairs))


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


#: Param patterns ("families": the set of params a run logged) searched for suggestions, the most common first.
MAX_FAMILIES = 50


@dataclass(frozen=True)
class NextSettings:
    """Where to look next (:func:`look_next`).

    ``observed``: the best predicted combinations of values runs used, that no run tried; ``interpolated``: the
    best with at least one numeric param set between two values runs used (labelled apart: the surrogate has seen
    nothing there). Both have one column per param and ``predicted``, best first. ``combinations``: how many
    combinations of the observed values exist (over the model families); ``untried``: how many of them no run has
    tried, None when there are too many to enumerate (then ``observed`` comes from a sample of them).
    """

    observed: pd.DataFrame
    interpolated: pd.DataFrame
    combinations: int
    untried: int | None

    @property
    def exhausted(self) -> bool:
        """Every combination of the observed values has been run: the grid is complete."""
        return self.untried == 0


def look_next(s: Surrogate, *, n: int = 5, max_candidates: int = 20_000, random_state: int = 0) -> NextSettings:
    """The best predicted settings no run has tried (a surrogate estimate, not a promise).

    Runs of different model families log different params, so candidates are built per *family*: the set of
    params a run logged; the params a family never logs stay missing. Observed candidates combine only values
    its runs used (every combination when they number at most a share of ``max_candidates``, else a sample);
    interpolated ones also take, for numeric params, the midpoints between neighbouring used values (geometric
    for positive values spanning more than ``GEOMETRIC_SPAN``×, whole numbers for integer params)."""
    rng = np.random.default_rng(random_state)
    logged = s.X.notna() & (s.X != MISSING)
    pattern = pd.Series([row.tobytes() for row in logged.to_numpy()], index=s.X.index)
    families = sorted(pattern.groupby(pattern, sort=False).groups.values(), key=len, reverse=True)[:MAX_FAMILIES]
    budget = max(1, max_candidates // len(families))
    observed_parts, between_parts = [], []
    combinations, enumerated = 0, True
    for index in families:
        members, family = s.X.loc[index], logged.loc[index[0]]
        present = [p for p in s.params if family[p]]
        grids = [_used_values(members[p], p in s.categorical) for p in present]
        size = math.prod(len(g) for g in grids)  # exact: a numpy product overflows on big sweeps
        combinations += size
        enumerated &= size <= budget
        observed_parts.append(_complete(_combine(grids, present, budget, rng), s))
        wider = [g if p in s.categorical else _with_midpoints(g) for p, g in zip(present, grids, strict=True)]
        if any(len(w) > len(g) for w, g in zip(wider, grids, strict=True)):
            between_parts.append(_complete(_combine(wider, present, budget, rng), s))
    tried = {_key(row) for row in s.X.itertuples(index=False)}
    observed = _untried(observed_parts, tried)
    observed_keys = tried | {_key(row) for row in observed.itertuples(index=False)}
    between = _untried(between_parts, observed_keys) if between_parts else observed.iloc[:0]
    off_grid = np.zeros(len(between), dtype=bool)  # at least one value no run used (a sample may hold none)
    for p in s.numeric:
        off_grid |= (~between[p].isin(s.X[p].dropna().unique()) & between[p].notna()).to_numpy()
    between = between[off_grid]
    return NextSettings(_best(s, observed, n), _best(s, between, n), combinations,
                        len(observed) if enumerated else None)


def suggestions(s: Surrogate, *, n: int = 5, max_candidates: int = 20_000, random_state: int = 0) -> pd.DataFrame:
    """The best predicted untried combinations of observed values (:attr:`NextSettings.observed`)."""
    return look_next(s, n=n, max_candidates=max_candidates, random_state=random_state).observed


def _used_values(values: pd.Series, categorical: bool) -> np.ndarray:
    if categorical:
        return np.array(sorted(values.unique()), dtype=object)
    return np.unique(values.to_numpy(dtype=float))


def _with_midpoints(used: np.ndarray) -> np.ndarray:
    """``used`` and a value between each pair of neighbours (geometric, whole, as :func:`look_next` says)."""
    if len(used) < 2:
        return used
    low, high = used[:-1], used[1:]
    geometric = bool(used[0] > 0 and used[-1] / used[0] > GEOMETRIC_SPAN)
    middle = np.sqrt(low * high) if geometric else (low + high) / 2
    if all(float(v).is_integer() for v in used):
        middle = np.round(middle)
    return np.unique(np.concatenate([used, middle]))


def _combine(grids: list[np.ndarray], columns: list[str], budget: int, rng: np.random.Generator) -> pd.DataFrame:
    """Every combination of the grids' values, or ``budget`` random ones when there are more."""
    if math.prod(len(g) for g in grids) <= budget:
        combos = list(itertools.product(*grids))
    else:
        combos = [tuple(g[rng.integers(len(g))] for g in grids) for _ in range(budget)]
    return pd.DataFrame(combos, columns=columns)


def _complete(part: pd.DataFrame, s: Surrogate) -> pd.DataFrame:
    """``part`` with every param of ``s`` (those its family never logs missing), in the surrogate's order."""
    for p in s.params:
        if p not in part:
            part[p] = MISSING if p in s.categorical else np.nan
    part = part[list(s.params)]
    return part.astype({p: float for p in s.numeric})


def _untried(parts: list[pd.DataFrame], tried: set[tuple[Any, ...]]) -> pd.DataFrame:
    candidates = pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)
    return candidates[[_key(row) not in tried for row in candidates.itertuples(index=False)]].reset_index(drop=True)


def _best(s: Surrogate, candidates: pd.DataFrame, n: int) -> pd.DataFrame:
    if candidates.empty:
        return candidates.assign(predicted=pd.Series(dtype=float))
    out = candidates.assign(predicted=s.predict(candidates))
    return out.sort_values("predicted", ascending=not s.higher_is_better).head(n).reset_index(drop=True)


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A hashable form of a settings row in which every missing value compares equal."""
    return tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in row)
