"""ExperimentLens's tracker layer against MLflow's client, measured in the same run on the same stores.

    python -m benchmarks.bench_tracker                # 1k and 10k runs (30 params × 15 metrics × 5 steps)
    python -m benchmarks.bench_tracker --runs 1000     # one size

Every measurement runs in a fresh Python process, so "cold" includes opening the store and "peak memory" is the
process's peak resident set above its size after imports. Prints a table and the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate_store import StoreSpec, generate_mlruns_store, generate_sqlite_store

STORE_DIR = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench"))
HISTORY_RUNS = 50


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generated(experiments: list) -> str:
    return next(e.experiment_id for e in experiments if e.name == StoreSpec().experiment_name)


def _child(kind: str, uri: str) -> dict[str, float]:
    """Runs inside the fresh process: time one cold and one warm call, report peak memory growth."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    import mlflow  # imports are not what we measure
    import pandas  # noqa: F401

    from lens_core import open_tracker

    baseline = _rss_mb()
    result: dict[str, float] = {}
    if kind in ("lens_runs", "mlflow_runs"):
        if kind == "lens_runs":
            tracker = None

            def call():
                nonlocal tracker
                tracker = tracker or open_tracker(uri)
                return tracker.runs(_generated(tracker.experiments()))
        else:
            mlflow.set_tracking_uri(uri)
            experiment_id = _generated(mlflow.MlflowClient().search_experiments())

            def call():
                return mlflow.search_runs(experiment_ids=[experiment_id])

        started = time.perf_counter()
        frame = call()
        result["cold_s"] = time.perf_counter() - started
        started = time.perf_counter()
        call()
        result["warm_s"] = time.perf_counter() - started
        result["rows"] = len(frame)
        result["columns"] = frame.shape[1]
    else:
        tracker = open_tracker(uri)
        table = tracker.runs(_generated(tracker.experiments()))
        run_ids = list(table["run_id"][:HISTORY_RUNS])
        key = next(c for c in table.columns if c.startswith("metrics.")).removeprefix("metrics.")
        baseline = _rss_mb()
        started = time.perf_counter()
        if kind == "lens_history":
            points = len(tracker.metric_history(run_ids, [key]))
        else:
            client = mlflow.MlflowClient(tracking_uri=uri)
            points = sum(len(client.get_metric_history(r, key)) for r in run_ids)
        result["cold_s"] = time.perf_counter() - started
        result["rows"] = points
    result["peak_mb"] = _peak_mb() - baseline
    return result


def measure(kind: str, uri: str, *, shared_catalog: Path | None = None) -> dict[str, float]:
    """One measurement in a fresh process. Cold means read from the store: the shared catalog of runs tables is
    off unless ``shared_catalog`` names a cache folder to use (a new process beside others that read before)."""
    env = dict(os.environ, LENS_SHARED_CATALOG="0") if shared_catalog is None else dict(
        os.environ, LENS_SHARED_CATALOG="1", LENS_CACHE_DIR=str(shared_catalog))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_tracker", "--child", kind, uri],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent, env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def store_for(n_runs: int, kind: str = "sqlite") -> str:
    spec = StoreSpec(n_runs=n_runs, n_params=30, n_metrics=15, n_steps=5, seed=0)
    path = STORE_DIR / (f"runs-{n_runs}.db" if kind == "sqlite" else f"mlruns-{n_runs}")
    if not path.exists():
        STORE_DIR.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if kind == "sqlite":
            generate_sqlite_store(path, spec)
        else:
            generate_mlruns_store(path, spec)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return f"sqlite:///{path}" if kind == "sqlite" else path.as_uri()


def compare_runs(label: str, uri: str) -> None:
    lens, ref = measure("lens_runs", uri), measure("mlflow_runs", uri)
    assert lens["rows"] == ref["rows"], (lens, ref)
    for name, r in (("t.runs()", lens), ("mlflow.search_runs", ref)):
        print(f"{label:>10} {name:<34} {r['cold_s']:>8.3f} {r['warm_s']:>9.4f} {r['peak_mb']:>8.0f}")
    print(
        f"{label:>10} {'ratio (mlflow / lens)':<34} {ref['cold_s'] / lens['cold_s']:>7.0f}× "
        f"{ref['warm_s'] / lens['warm_s']:>8.0f}× {ref['peak_mb'] / max(lens['peak_mb'], 1):>7.1f}×",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as cache:  # another process read the table first and shared it
        measure("lens_runs", uri, shared_catalog=Path(cache))
        shared = measure("lens_runs", uri, shared_catalog=Path(cache))
    print(f"{label:>10} {'t.runs(), new process, shared':<34} {shared['cold_s']:>8.3f}"
          f"   ({ref['cold_s'] / shared['cold_s']:.0f}× faster than search_runs)", flush=True)


def _warm_page_cache(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            path.read_bytes()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="*", default=[1000, 10000], help="sqlite store sizes")
    parser.add_argument("--mlruns", type=int, nargs="*", default=[4500], help="mlruns folder sizes")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    print(f"{'store':>10} {'what':<34} {'cold s':>8} {'warm s':>9} {'peak MB':>8}")
    for n_runs in args.runs:
        uri = store_for(n_runs)
        compare_runs(str(n_runs), uri)
        hist, loop = measure("lens_history", uri), measure("mlflow_history", uri)
        assert hist["rows"] == loop["rows"], (hist, loop)
        print(f"{n_runs:>10} {f'metric_history, {HISTORY_RUNS} runs':<34} {hist['cold_s']:>8.3f}")
        print(f"{n_runs:>10} {'get_metric_history loop':<34} {loop['cold_s']:>8.3f}")
        print(f"{n_runs:>10} {'ratio (mlflow / lens)':<34} {loop['cold_s'] / hist['cold_s']:>7.0f}×", flush=True)
    for n_runs in args.mlruns:
        uri = store_for(n_runs, "mlruns")
        _warm_page_cache(Path(uri.removeprefix("file://")))  # whoever reads first must not pay the disk alone
        compare_runs(f"mlruns {n_runs}", uri)


if __name__ == "__main__":
    main()
