"""Pareto fronts of a runs table: the runs no other run beats on every chosen metric at once.

    objectives = {"metrics.val_acc": "max", "metrics.latency_ms": "min"}
    on_front = pareto_front(runs, objectives)        # bool Series aligned with runs.index
    best = front_order(runs, objectives)             # the front's rows along the first objective

A run *dominates* another when it is at least as good on every objective and strictly better on at least one.
The front is the runs no run dominates; runs with identical objective values do not dominate each other, so
duplicates are on the front together. A run missing an objective (NaN, None, text that is not a number) or with
an infinite value is never on the front, and never dominates anything.

How. Objectives are turned into "higher is better" numbers first (a ``"min"`` column is negated).
Two objectives: one sort and a running maximum, O(n log n) (~25 ms for 100k runs). Three or more: the values
are replaced by their per-column ranks (exact integer comparisons and sums), runs are sorted so that any run
that dominates another comes before it, and blocks of runs are checked against the front found so far with
numpy; fast when the front is small (random metrics: a few hundred runs of 100k), quadratic when nearly every
run is on the front (metrics that trade off exactly) — see ``benchmarks/bench_pareto.py``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

Goal = Literal["max", "min"]
#: Cells (block rows × front rows) compared at once in the three-objective check: bounds its memory (~16 MB of
#: booleans per comparison array) whatever the size of the front.
_BLOCK_CELLS = 1 << 22
_MAX_BLOCK = 2048


def pareto_front(runs: pd.DataFrame, objectives: Mapping[str, Goal]) -> pd.Series:
    """True for the runs on the Pareto front of ``objectives`` (column → ``"max"`` or ``"min"``, at least two),
    as a bool Series named ``"pareto_front"`` aligned with ``runs.index``.

    Non-numeric columns are read with ``pd.to_numeric`` (what does not parse counts as missing). Raises
    ValueError for fewer than two objectives, a column not in ``runs`` (or not unique) and a direction other than
    ``"max"`` / ``"min"``.

    >>> runs = pd.DataFrame({"acc": [0.9, 0.8, 0.95, 0.7], "ms": [30, 10, 80, 40]})
    >>> pareto_front(runs, {"acc": "max", "ms": "min"}).tolist()
    [True, True, True, False]
    """
    values = _gains(runs, objectives)
    on_front = np.zeros(len(runs), dtype=bool)
    complete = np.flatnonzero(np.isfinite(values).all(axis=1))
    if len(complete):
        kept = values[complete]
        on_front[complete] = _front_2d(kept) if kept.shape[1] == 2 else _front_nd(kept)
    return pd.Series(on_front, index=runs.index, name="pareto_front")


def front_order(runs: pd.DataFrame, objectives: Mapping[str, Goal]) -> pd.DataFrame:
    """The rows of ``runs`` on the front, sorted by the first objective's value (ascending, ties by the second),
    e.g. to draw the front as a line or list it; same columns and index labels as ``runs``."""
    front = runs[pareto_front(runs, objectives).to_numpy()]
    first, second = list(objectives)[:2]
    keys = pd.DataFrame({"a": to_float(front[first]), "b": to_float(front[second])}, index=front.index)
    return front.loc[keys.sort_values(["a", "b"], kind="stable").index]


def _gains(runs: pd.DataFrame, objectives: Mapping[str, Goal]) -> np.ndarray:
    """The objectives as an (n, k) float array where higher is better; NaN for missing or unparseable cells."""
    if len(objectives) < 2:
        raise ValueError(f"A Pareto front needs at least two objectives, got {len(objectives)}: {list(objectives)}.")
    columns = []
    for column, goal in objectives.items():
        if goal not in ("max", "min"):
            raise ValueError(f"Objective {column!r}: direction must be 'max' or 'min', not {goal!r}.")
        matches = int((runs.columns == column).sum())
        if matches != 1:
            raise ValueError(f"Objective {column!r} is not a column of the runs table." if not matches else
                             f"Objective {column!r} names {matches} columns of the runs table.")
        numbers = to_float(runs[column])
        columns.append(numbers if goal == "max" else -numbers)
    return np.column_stack(columns) if len(runs) else np.empty((0, len(objectives)))


def to_float(cells: pd.Series) -> np.ndarray:
    """A column as float64; text that is not a number, None and pd.NA become NaN."""
    if not pd.api.types.is_numeric_dtype(cells):
        cells = pd.to_numeric(cells, errors="coerce")
    return cells.to_numpy(dtype="float64", na_value=np.nan)


def _front_2d(gains: np.ndarray) -> np.ndarray:
    """Front of finite (n, 2) gains in O(n log n).

    Sorted by the first gain descending, then the second descending, a run is dominated exactly when a run
    with the same first gain has a higher second gain (the first of its group in this order), or a run with a
    strictly higher first gain (an earlier group) has a second gain at least as high.
    """
    a, b = gains[:, 0], gains[:, 1]
    order = np.lexsort((-b, -a))
    a, b = a[order], b[order]
    starts = np.r_[True, a[1:] != a[:-1]]  # first run of each group of equal first gains
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(a)), 0))
    best_b_so_far = np.maximum.accumulate(b)
    # the best second gain among strictly better first gains: the running maximum just before the group
    best_before = np.where(group_start > 0, best_b_so_far[group_start - 1], -np.inf)
    on_front = (b == b[group_start]) & (b > best_before)
    result = np.empty(len(a), dtype=bool)
    result[order] = on_front
    return result


def _front_nd(gains: np.ndarray) -> np.ndarray:
    """Front of finite (n, k ≥ 3) gains: sorted block-wise checks against the front found so far."""
    n, k = gains.shape
    # Ranks keep every comparison (a tie stays a tie) and make the sums exact integers: a run that dominates
    # another has a strictly higher rank sum, so sorted by it every run comes after all the runs that dominate it
    # (float sums could round two such runs to a tie). High sums first also finds the strongest runs early.
    ranks = np.column_stack([np.unique(gains[:, j], return_inverse=True)[1] for j in range(k)]).astype(np.int64)
    order = np.argsort(-ranks.sum(axis=1), kind="stable")
    ranked = ranks[order]
    front = np.empty((0, k), dtype=np.int64)
    on_front = np.zeros(n, dtype=bool)
    start = 0
    while start < n:
        # blocks grow with the runs done (a first big block would be checked against itself with no front yet to
        # weed it out) up to _MAX_BLOCK, and shrink as the front grows to keep block × front cells bounded
        size = int(min(_MAX_BLOCK, max(64, start), max(16, _BLOCK_CELLS // max(len(front), 1))))
        block = ranked[start:start + size]
        alive = ~_dominated_by(front, block)
        survivors = block[alive]
        # runs of this block dominated only by other runs of the block (earlier in order, or transitively)
        alive[alive] = ~_dominated_by(survivors, survivors)
        on_front[start:start + size] = alive
        front = np.concatenate([front, block[alive]])
        start += size
    result = np.empty(n, dtype=bool)
    result[order] = on_front
    return result


def _dominated_by(front: np.ndarray, block: np.ndarray) -> np.ndarray:
    """For each row of ``block``: does some row of ``front`` dominate it? Chunked so that at most
    ``_BLOCK_CELLS`` pairs are held at once."""
    dominated = np.zeros(len(block), dtype=bool)
    if not len(front) or not len(block):
        return dominated
    step = max(1, _BLOCK_CELLS // len(block))
    for begin in range(0, len(front), step):
        part = front[begin:begin + step]
        at_least = np.ones((len(part), len(block)), dtype=bool)
        better = np.zeros((len(part), len(block)), dtype=bool)
        for j in range(block.shape[1]):
            f, b = part[:, j, None], block[None, :, j]
            at_least &= f >= b
            better |= f > b
        dominated |= (at_least & better).any(axis=0)
    return dominated
