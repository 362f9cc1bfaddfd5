"""A 1,000-run TensorBoard logdir through the tracker: cold read, warm reload (no event file re-parsed), and the
catalog hit, beside TensorBoard's own EventAccumulator reading every run (what TensorBoard does on start).

    python -m benchmarks.bench_tensorboard            # 1,000 runs × 100 steps
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from tests.stores import write_tensorboard_logdir

STORE_DIR = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    logdir = STORE_DIR / f"tb-{args.runs}x{args.steps}"
    if not logdir.exists():
        started = time.perf_counter()
        write_tensorboard_logdir(logdir, args.runs, n_steps=args.steps)
        print(f"generated {logdir} in {time.perf_counter() - started:.1f} s")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lens_core import open_tracker

    started = time.perf_counter()
    points = 0
    for run_dir in sorted({p.parent for p in logdir.rglob("events.out.tfevents.*")}):
        accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
        accumulator.Reload()
        tags = accumulator.Tags()
        points += sum(len(accumulator.Scalars(tag)) for tag in tags["scalars"])
        points += sum(len(accumulator.Tensors(tag)) for tag in tags["tensors"])
    reference = time.perf_counter() - started

    tracker = open_tracker(logdir)
    experiments = [e.experiment_id for e in tracker.experiments()]
    started = time.perf_counter()
    rows = sum(len(tracker.runs(e)) for e in experiments)
    cold = time.perf_counter() - started
    tracker.forget()
    started = time.perf_counter()
    sum(len(tracker.runs(e)) for e in experiments)
    reparse_free = time.perf_counter() - started
    started = time.perf_counter()
    sum(len(tracker.runs(e)) for e in experiments)
    catalog = time.perf_counter() - started
    print(f"{rows} runs, {points} scalar points")
    print(f"  TensorBoard EventAccumulator, every run   {reference:7.2f} s")
    print(f"  t.runs(), cold                             {cold:7.2f} s   ({reference / cold:.1f}×)")
    print(f"  t.runs() after forget(): no file re-parsed {reparse_free:7.2f} s   ({reference / reparse_free:.0f}×)")
    print(f"  t.runs(), unchanged (catalog + stat probe) {catalog:7.3f} s   ({reference / catalog:.0f}×)")


if __name__ == "__main__":
    main()
