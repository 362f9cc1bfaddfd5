"""First full render of Home (Streamlit AppTest run time) on a 10k-run store, beside mlflow.search_runs alone.

    python -m benchmarks.bench_home              # 10,000 runs
    python -m benchmarks.bench_home --runs 1000
    python -m benchmarks.bench_home --mlruns /tmp/lens-bench/mlruns-5000   # an mlruns folder (shared catalog off)

Each figure comes from a fresh Python process (imports excluded), on the same generated store, in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_tracker import store_for

ROOT = Path(__file__).resolve().parent.parent


def _child(kind: str, uri: str) -> dict[str, float]:
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from streamlit.testing.v1 import AppTest

    if kind == "mlflow":
        experiment_id = next(e.experiment_id for e in mlflow.MlflowClient().search_experiments() if e.name == "generated")
        started = time.perf_counter()
        rows = len(mlflow.search_runs(experiment_ids=[experiment_id]))
        return {"seconds": time.perf_counter() - started, "rows": rows}
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=300)
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    assert not at.exception, at.exception
    first = time.perf_counter()
    at.run()  # a rerun, as after any widget interaction
    return {"seconds": seconds, "rerun": time.perf_counter() - first, "rows": len(at.dataframe[0].value)}


def measure(kind: str, uri: str, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_home", "--child", kind, uri],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--mlruns", type=Path, help="an mlruns folder instead of the sqlite store (its runs table "
                        "read cold: shared catalog off, new cache folder)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    env = None
    if args.mlruns:
        uri = args.mlruns.resolve().as_uri()
        env = dict(os.environ, LENS_SHARED_CATALOG="0", MLFLOW_ALLOW_FILE_STORE="true",
                   LENS_CACHE_DIR=tempfile.mkdtemp(prefix="lens-bench-home-"))
    else:
        uri = store_for(args.runs)
    home, ref = measure("home", uri, env), measure("mlflow", uri, env)
    assert home["rows"] == ref["rows"], (home, ref)
    print(f"{args.mlruns or args.runs} ({ref['rows']:.0f} active runs), load average {os.getloadavg()[0]:.1f}")
    print(f"  Home first render (AppTest)   {home['seconds']:7.2f} s   rerun {home['rerun']:.2f} s")
    print(f"  mlflow.search_runs alone      {ref['seconds']:7.2f} s")
    print(f"  ratio                         {ref['seconds'] / home['seconds']:7.1f}×")


if __name__ == "__main__":
    main()
