"""An ``mlruns`` folder read cold by ExperimentLens beside ``mlflow.search_runs`` on the same folder.

    python -m benchmarks.bench_mlruns                        # 5,000 runs, MLflow 3 layout, 3 rounds
    python -m benchmarks.bench_mlruns --mlflow-major 1       # the legacy (MLflow 1.x) layout
    python -m benchmarks.bench_mlruns --drop-caches          # also with the OS page cache dropped (root only)

Every figure comes from a fresh Python process (imports excluded). "cold" is the first ``t.runs()`` of that process
with the shared on-disk catalog off (``LENS_SHARED_CATALOG=0``), so every run folder is read; "shared" is a new
process served by the shared catalog (the folder unchanged since another process read it: a stat probe and one
Parquet file); "warm" is a second call in the same process (stat probe only). Rounds alternate ExperimentLens and
MLflow so a busy machine weighs on both; medians are printed with the load average seen.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate_store import StoreSpec, generate_mlruns_store

ROOT = Path(__file__).resolve().parent.parent
STORE_DIR = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench"))


def _child(kind: str, uri: str) -> dict[str, float]:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    import mlflow  # imports are not what we measure
    import pandas  # noqa: F401

    from lens_core import open_tracker

    name = StoreSpec().experiment_name
    result: dict[str, float] = {}
    if kind == "mlflow":
        mlflow.set_tracking_uri(uri)
        started = time.perf_counter()
        experiment_id = next(e.experiment_id for e in mlflow.MlflowClient().search_experiments() if e.name == name)
        frame = mlflow.search_runs(experiment_ids=[experiment_id])
        result["cold_s"] = time.perf_counter() - started
    else:
        started = time.perf_counter()
        tracker = open_tracker(uri)
        experiment_id = next(e.experiment_id for e in tracker.experiments() if e.name == name)
        frame = tracker.runs(experiment_id)
        result["cold_s"] = time.perf_counter() - started
        started = time.perf_counter()
        tracker.runs(experiment_id)
        result["warm_s"] = time.perf_counter() - started
        started = time.perf_counter()
        tracker.metric_extremes(experiment_id)
        result["extremes_s"] = time.perf_counter() - started
    result["rows"] = len(frame)
    result["columns"] = frame.shape[1]
    return result


def measure(kind: str, uri: str, cache: str, shared: bool) -> dict[str, float]:
    env = dict(os.environ, LENS_CACHE_DIR=cache, LENS_SHARED_CATALOG="1" if shared else "0")
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_mlruns", "--child", kind, uri],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def drop_page_cache() -> bool:
    """Empty the OS page cache (needs root and a writable /proc/sys); False when that is not possible."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def warm_page_cache(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(directory, name), "rb") as f:
                f.read()


def store_for(n_runs: int, mlflow_major: int) -> Path:
    path = STORE_DIR / (f"mlruns-{n_runs}" if mlflow_major == 3 else f"mlruns-{n_runs}-v{mlflow_major}")
    if not path.exists():
        STORE_DIR.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate_mlruns_store(path, StoreSpec(n_runs=n_runs, seed=0), mlflow_major=mlflow_major)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def _span(results: list[dict[str, float]], key: str) -> str:
    values = sorted(r[key] for r in results)
    return f"{values[0]:.2f}–{values[-1]:.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def run_rounds(uri: str, root: Path, rounds: int, cold_os: bool) -> None:
    label = "OS page cache dropped before each" if cold_os else "OS page cache warm"
    lens, shared, ref, loads = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="lens-bench-cache-") as cache:
        for _ in range(rounds):
            for kind, into, share in (("lens", lens, False), ("mlflow", ref, False), ("lens", shared, True)):
                if cold_os:
                    drop_page_cache()
                else:
                    warm_page_cache(root)
                loads.append(os.getloadavg()[0])
                into.append(measure(kind, uri, cache, share))
    assert {r["rows"] for r in lens} == {r["rows"] for r in ref}, (lens, ref)
    rows = int(lens[0]["rows"])
    print(f"\n{root} ({rows} active runs, {int(lens[0]['columns'])} columns), {label}, {rounds} rounds, "
          f"load average {min(loads):.1f}–{max(loads):.1f}")
    print(f"  {'what':<52} {'median s':>9} {'range s':>12}")
    print(f"  {'t.runs(), new process, shared catalog off':<52} {_median(lens, 'cold_s'):>9.2f} {_span(lens, 'cold_s'):>12}")
    print(f"  {'mlflow.search_runs, new process':<52} {_median(ref, 'cold_s'):>9.2f} {_span(ref, 'cold_s'):>12}")
    print(f"  {'ratio (search_runs / t.runs)':<52} {_median(ref, 'cold_s') / _median(lens, 'cold_s'):>8.1f}× "
          f"{min(r['cold_s'] for r in ref) / max(r['cold_s'] for r in lens):>5.1f}–"
          f"{max(r['cold_s'] for r in ref) / min(r['cold_s'] for r in lens):.1f}×")
    print(f"  {'t.runs(), new process, served by the shared catalog':<52} {_median(shared, 'cold_s'):>9.2f} "
          f"{_span(shared, 'cold_s'):>12}")
    print(f"  {'ratio (search_runs / shared)':<52} {_median(ref, 'cold_s') / _median(shared, 'cold_s'):>8.1f}×")
    print(f"  {'t.runs() again, same process (unchanged)':<52} {_median(lens, 'warm_s'):>9.3f}")
    print(f"  {'metric_extremes after t.runs()':<52} {_median(lens, 'extremes_s'):>9.3f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--mlflow-major", type=int, choices=(1, 3), default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drop-caches", action="store_true", help="also measure with the OS page cache dropped")
    parser.add_argument("--path", type=Path, help="an existing mlruns folder instead of a generated one")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    root = args.path.resolve() if args.path else store_for(args.runs, args.mlflow_major)
    run_rounds(root.as_uri(), root, args.rounds, cold_os=False)
    if args.drop_caches:
        if drop_page_cache():
            run_rounds(root.as_uri(), root, args.rounds, cold_os=True)
        else:
            print("\nthe OS page cache cannot be dropped here (needs root and a writable /proc/sys/vm)")


if __name__ == "__main__":
    main()
