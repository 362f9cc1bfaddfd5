"""Pareto fronts: ``pareto_front`` on 10k and 100k generated runs with 2 and 3 objectives, beside a brute-force
pair-by-pair check on 5k runs (goal: 100k runs, 2 objectives, well under a second).

    python -m benchmarks.bench_pareto [--repeat 3]

Metrics are uniform random (a small front, as real sweeps give: a few dozen runs), and, as the worst case,
"trade-off" metrics where no run beats another (x + y + z constant: every run is on the front). Times are the
median of ``--repeat`` runs in this process; the front size is printed beside each.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from lens_core.runs.pareto import pareto_front


def random_runs(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).random((n, k)), columns=[f"m{j}" for j in range(k)])


def trade_off_runs(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    """Every run on the front: the metrics sum to a constant, so improving one costs another."""
    values = np.random.default_rng(seed).random((n, k))
    values[:, -1] = -values[:, :-1].sum(axis=1)
    return pd.DataFrame(values, columns=[f"m{j}" for j in range(k)])


def brute_force(runs: pd.DataFrame) -> np.ndarray:
    """The definition, one run against all others at a time (numpy per row): O(n²)."""
    gains = runs.to_numpy(dtype=float)
    return np.array([not ((gains >= row).all(axis=1) & (gains > row).any(axis=1)).any() for row in gains])


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"{'runs':>8} {'objectives':>10} {'metrics':>10} {'front':>8} {'seconds':>9}")
    cases = [(n, k, "random", random_runs) for k in (2, 3) for n in (10_000, 100_000)]
    cases += [(100_000, 2, "trade-off", trade_off_runs), (10_000, 3, "trade-off", trade_off_runs)]
    for n, k, kind, make in cases:
        runs = make(n, k)
        seconds, front = timed(lambda runs=runs, k=k: pareto_front(runs, dict.fromkeys(runs.columns, "max")),
                               args.repeat)
        print(f"{n:>8,} {k:>10} {kind:>10} {int(front.sum()):>8,} {seconds:>9.3f}")  # type: ignore[union-attr]

    print("\nagainst brute force (5,000 random runs)")
    for k in (2, 3):
        runs = random_runs(5_000, k, seed=1)
        fast, front = timed(lambda runs=runs: pareto_front(runs, dict.fromkeys(runs.columns, "max")), args.repeat)
        slow, expected = timed(lambda runs=runs: brute_force(runs), 1)
        assert np.array_equal(front.to_numpy(), expected)  # type: ignore[union-attr]
        print(f"{k} objectives: pareto_front {fast * 1e3:.1f} ms, brute force {slow * 1e3:.0f} ms, "
              f"{slow / fast:,.0f}× faster (same front)")


if __name__ == "__main__":
    main()
