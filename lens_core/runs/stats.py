"""Statistics for comparing groups of runs: group summaries, t confidence intervals, Welch's t-test, and the
aggregate of a group's metric series on a shared step grid. Free of Streamlit and Altair.

Conventions:

- the standard deviation is the sample one (``ddof=1``); a group of one run has none (NaN);
- a confidence interval is the t interval of the mean, ``mean ± t(1 - α/2, n - 1) · s / √n``
  (``scipy.stats.t.interval``); NaN below two values;
- the two-group test is Welch's (unequal variances), with the Welch–Satterthwaite degrees of freedom, as
  ``scipy.stats.ttest_ind(a, b, equal_var=False)``; the difference is ``mean(a) - mean(b)``;
- non-finite values (NaN, ±inf and MLflow's ±1.7977e308) are left out of every statistic and of N, by the one
  rule of :func:`lens_core.format.finite_only` (the tables that show the statistics say how many).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from lens_core.format import MISSING, MLFLOW_INF, finite_only

Aggregation = Literal["mean", "median", "min", "max"]
Spread = Literal["std", "minmax", "ci", "none"]
AGGREGATIONS: tuple[str, ...] = ("mean", "median", "min", "max")
SPREADS: tuple[str, ...] = ("std", "minmax", "ci", "none")
#: Groups with fewer runs than this get a warning in two-group comparisons.
MIN_GROUP_RUNS = 3


def _student_t() -> Any:  # scipy.stats.t, imported on first use: importing scipy.stats costs ~0.5 s
    from scipy.stats import t

    return t


def finite(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """The finite values, as float64 (:func:`lens_core.format.finite_only`: MLflow's ±1.7977e308 sentinel is
    dropped too)."""
    return finite_only(np.asarray(values, dtype="float64").ravel()).values.to_numpy()


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The t confidence interval of the mean; (NaN, NaN) below two finite values. A zero spread gives a
    zero-width interval (scipy returns NaN there; the mean is then known exactly)."""
    x = finite(values)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    mean = float(x.mean())
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    if sem == 0:
        return mean, mean
    half = float(_student_t().ppf(0.5 + confidence / 2, n - 1)) * sem
    return mean - half, mean + half


def summarize(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """``count, mean, median, std, min, max, ci_low, ci_high`` of the finite values (NaN where undefined)."""
    x = finite(values)
    n = len(x)
    low, high = t_interval(x, confidence)
    return {
        "count": n,
        "mean": float(x.mean()) if n else math.nan,
        "median": float(np.median(x)) if n else math.nan,
        "std": float(x.std(ddof=1)) if n > 1 else math.nan,
        "min": float(x.min()) if n else math.nan,
        "max": float(x.max()) if n else math.nan,
        "ci_low": low,
        "ci_high": high,
    }


def error_bounds(summary: Mapping[str, float], aggregation: str, spread: str) -> tuple[float, float, float]:
    """``(center, low, high)`` for a chart: the aggregate, and the spread around it. ``std`` is drawn around the
    aggregate (± one standard deviation), ``minmax`` from the smallest to the largest value, ``ci`` is the 95 %
    interval of the mean (whatever the aggregate), ``none`` collapses to the center."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    center = summary[aggregation]
    if spread == "std":
        std = summary["std"] if np.isfinite(summary["std"]) else 0.0
        return center, center - std, center + std
    if spread == "minmax":
        return center, summary["min"], summary["max"]
    if spread == "ci":
        if not np.isfinite(summary["ci_low"]):
            return center, center, center
        return center, summary["ci_low"], summary["ci_high"]
    if spread == "none":
        return center, center, center
    raise ValueError(f"unknown spread {spread!r}")


@dataclass(frozen=True)
class Welch:
    """Welch's two-sample comparison of ``a`` against ``b`` (difference = mean(a) - mean(b))."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float


def welch(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Welch:
    """Difference of means with its t interval on the Welch–Satterthwaite degrees of freedom, and Welch's
    t-test (two-sided). NaN where undefined: fewer than two finite values in a group, or no variance in either."""
    x, y = finite(a), finite(b)
    n_a, n_b = len(x), len(y)
    mean_a = float(x.mean()) if n_a else math.nan
    mean_b = float(y.mean()) if n_b else math.nan
    diff = mean_a - mean_b
    nan = math.nan
    if n_a < 2 or n_b < 2:
        return Welch(n_a, n_b, mean_a, mean_b, diff, nan, nan, nan, nan, nan)
    va, vb = float(x.var(ddof=1)) / n_a, float(y.var(ddof=1)) / n_b
    se2 = va + vb
    if se2 == 0:
        return Welch(n_a, n_b, mean_a, mean_b, diff, nan, nan, nan, nan, nan)
    df = se2**2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    se = math.sqrt(se2)
    t = diff / se
    p = float(2 * _student_t().sf(abs(t), df))
    half = float(_student_t().ppf(0.5 + confidence / 2, df)) * se
    return Welch(n_a, n_b, mean_a, mean_b, diff, diff - half, diff + half, t, df, p)


# ---- groups of runs ----------------------------------------------------------------------------------------------
def group_labels(runs: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """The group of each run (indexed like ``runs``) for the ``params.*`` columns ``by``: the param's value, or
    the values joined by `` · `` for several params; :data:`MISSING` for a param the run never logged."""
    if not by:
        raise ValueError("group by at least one param")
    parts = [runs[c].astype("object").where(runs[c].notna(), MISSING).astype("str") for c in by]
    label = parts[0]
    for part in parts[1:]:
        label = label + " · " + part
    return label.rename("group")


def group_order(groups: pd.Series) -> list[str]:
    """Groups in a stable, readable order: by name, numbers by value (``2 < 10``), :data:`MISSING` last."""

    def key(label: str) -> tuple:
        out = []
        for piece in label.split(" · "):
            try:
                out.append((piece == MISSING, 0, float(piece), ""))
            except ValueError:
                out.append((piece == MISSING, 1, 0.0, piece.lower()))
        return tuple(out)

    return sorted(dict.fromkeys(groups.astype(str)), key=key)


def group_table(values: pd.Series, groups: pd.Series, order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per group (``order``, default :func:`group_order`): ``group`` and :func:`summarize`'s columns
    of ``values`` (aligned with ``groups``)."""
    order = list(order) if order is not None else group_order(groups)
    v = pd.Series(np.asarray(values, dtype="float64"), index=groups.index)
    rows = [{"group": g, **summarize(v[groups == g].to_numpy())} for g in order]
    frame = pd.DataFrame(rows, columns=["group", "count", "mean", "median", "std", "min", "max", "ci_low", "ci_high"])
    return frame.astype({"count": "int64"})


# ---- grouped series ----------------------------------------------------------------------------------------------
def step_grid(xs: Sequence[np.ndarray], max_points: int = 1000) -> np.ndarray:
    """The shared x grid of a group's series: every distinct x the runs logged when there are at most
    ``max_points`` of them (histories that share steps are then aggregated exactly, step by step), else
    ``max_points`` evenly spaced points between the smallest and largest x."""
    every = np.unique(np.concatenate([np.asarray(x, dtype="float64") for x in xs])) if len(xs) else np.array([])
    every = every[np.isfinite(every)]
    if len(every) <= max_points:
        return every
    return np.linspace(every[0], every[-1], max_points)


def on_grid(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """One run's series at the grid points: linear interpolation between the run's own points, NaN outside its
    first and last x (no extrapolation). Non-finite points are left out; where a step was logged several times
    (repeated or restarted steps) the last value logged counts."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) < MLFLOW_INF)
    x, y = x[ok], y[ok]
    out = np.full(len(grid), np.nan)
    if not len(x):
        return out
    # last value logged at each x: reverse, take first occurrence of each x
    rev_x, rev_y = x[::-1], y[::-1]
    ux, first = np.unique(rev_x, return_index=True)
    uy = rev_y[first]
    inside = (grid >= ux[0]) & (grid <= ux[-1])
    out[inside] = np.interp(grid[inside], ux, uy)
    return out


def series_band(
    data: pd.DataFrame,
    groups: Mapping[str, str],
    aggregation: str = "mean",
    spread: str = "std",
    y: str = "value",
    x: str = "x",
    max_points: int = 1000,
) -> pd.DataFrame:
    """The aggregate line of each group with its band: ``group, x, center, low, high, n`` (``n`` = runs
    covering that x). ``data`` is one metric's chart data (``run_id`` and the ``x`` and ``y`` columns);
    ``groups`` maps run id to group. Each group gets its own grid (:func:`step_grid`); every run is put on it
    by :func:`on_grid`, so runs logged at different steps are aligned by linear interpolation and a run only
    counts where it has data."""
    frames = []
    if data.empty:
        return pd.DataFrame(columns=["group", "x", "center", "low", "high", "n"])
    data = data.assign(_group=data["run_id"].map(groups))
    for group, part in data.groupby("_group", sort=False):
        per_run = [(np.asarray(p[x], dtype="float64"), np.asarray(p[y], dtype="float64"))
                   for _, p in part.groupby("run_id", sort=False)]
        grid = step_grid([px for px, _ in per_run], max_points)
        if not len(grid):
            continue
        matrix = np.vstack([on_grid(px, py, grid) for px, py in per_run])
        center, low, high, n = _band(matrix, aggregation, spread)
        keep = n > 0
        frames.append(pd.DataFrame({"group": group, "x": grid[keep], "center": center[keep], "low": low[keep],
                                    "high": high[keep], "n": n[keep]}))
    if not frames:
        return pd.DataFrame(columns=["group", "x", "center", "low", "high", "n"])
    return pd.concat(frames, ignore_index=True).astype({"n": "int64"})


def _band(matrix: np.ndarray, aggregation: str, spread: str) -> tuple[np.ndarray, ...]:
    """Column-wise aggregate and spread of a runs × grid matrix holding NaN where a run has no value."""
    n = np.sum(np.isfinite(matrix), axis=0)
    safe = n > 0
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        mean = np.nanmean(matrix, axis=0)
        funcs = {"mean": lambda: mean, "median": lambda: np.nanmedian(matrix, axis=0),
                 "min": lambda: np.nanmin(matrix, axis=0), "max": lambda: np.nanmax(matrix, axis=0)}
        if aggregation not in funcs:
            raise ValueError(f"unknown aggregation {aggregation!r}")
        center = funcs[aggregation]()
        if spread == "std":
            std = np.where(n > 1, np.nanstd(matrix, axis=0, ddof=1), 0.0)
            low, high = center - std, center + std
        elif spread == "minmax":
            low, high = np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)
        elif spread == "ci":
            std = np.nanstd(matrix, axis=0, ddof=1)
            half = _student_t().ppf(0.975, np.maximum(n - 1, 1)) * std / np.sqrt(np.maximum(n, 1))
            half = np.where(n > 1, np.nan_to_num(half), 0.0)
            low, high = mean - half, mean + half
        elif spread == "none":
            low, high = center, center
        else:
            raise ValueError(f"unknown spread {spread!r}")
    center, low, high = (np.where(safe, a, np.nan) for a in (center, low, high))
    return center, low, high, n


class _quiet:
    """Silence numpy's "Mean of empty slice" / "All-NaN slice" warnings (columns where no run has data)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
