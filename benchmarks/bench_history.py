"""Metric histories for the comparison page: ExperimentLens beside MLflow's client, in the same process.

    python -m benchmarks.bench_history                  # 50 runs × 1 metric × 10k steps
    python -m benchmarks.bench_history --steps 100000   # longer histories

Generates (once, under ``$LENS_BENCH_DIR``, default /tmp/lens-bench) a sqlite store of 50 runs with one metric of
``--steps`` points each, then times, on the same runs and metric:

- ``MlflowClient.get_metric_history`` called once per run (what a script or MLflow's own compare view does);
- ``tracker.metric_history(run_ids, [key])`` (all points) and ``tracker.metric_history(..., max_points=1000)``
  (what the comparison page requests: downsampled on the server, keeping each bucket's minimum and maximum).

Each is timed ``--repeat`` times after one warm-up call; the best time is reported. Also reported: the number of
points the page sends to the browser for that chart (after downsampling) against the number stored.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from benchmarks.generate_store import StoreSpec, generate_sqlite_store  # noqa: E402

STORE_DIR = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench"))


def store(n_runs: int, steps: int) -> str:
    path = STORE_DIR / f"history-{n_runs}x{steps}.db"
    if path.exists():
        return f"sqlite:///{path}"
    spec = StoreSpec(n_runs=n_runs, n_params=4, n_metrics=1, n_steps=steps, seed=11)
    began = time.perf_counter()
    uri = generate_sqlite_store(path, spec)
    print(f"generated {path} in {time.perf_counter() - began:.1f} s")
    return uri


def best(fn, repeat: int) -> tuple[float, object]:
    result = fn()  # warm-up: imports, connections, page cache
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--max-points", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from mlflow import MlflowClient

    from lens_core import open_tracker

    uri = store(args.runs, args.steps)
    tracker = open_tracker(uri)
    experiment = next(e for e in tracker.experiments() if e.name == StoreSpec().experiment_name)
    table = tracker.runs(experiment.experiment_id)
    key = "train/loss"  # the generator's first metric
    run_ids = table["run_id"].tolist()[: args.runs]  # every active run, as a user would select them
    client = MlflowClient(tracking_uri=uri)

    loop_s, loop = best(lambda: [client.get_metric_history(r, key) for r in run_ids], args.repeat)
    full_s, full = best(lambda: tracker.metric_history(run_ids, [key]), args.repeat)
    down_s, down = best(lambda: tracker.metric_history(run_ids, [key], max_points=args.max_points), args.repeat)
    stored = sum(len(h) for h in loop)
    assert len(full) == stored, (len(full), stored)
    per_run = down.groupby("run_id").size()

    print(f"\nstore: {uri}")
    print(f"{len(run_ids)} runs ({len(per_run)} logged {key!r}), {stored:,} points stored "
          f"(longest series {full.groupby('run_id').size().max():,})\n")
    rows = [
        ("MlflowClient.get_metric_history loop", loop_s, stored),
        ("t.metric_history(run_ids, [key])", full_s, len(full)),
        (f"t.metric_history(..., max_points={args.max_points})", down_s, len(down)),
    ]
    print(f"{'call':<46} {'best of ' + str(args.repeat):>10} {'vs loop':>9} {'points':>10}")
    for name, seconds, points in rows:
        print(f"{name:<46} {seconds:>9.3f}s {loop_s / seconds:>8.1f}× {points:>10,}")
    print(f"\nsent to the browser: {len(down):,} points for {len(per_run)} series "
          f"(at most {per_run.max():,} per series; {len(down) / max(stored, 1):.1%} of the stored points)")


if __name__ == "__main__":
    main()
