"""ExperimentLens over a real ``mlflow server`` against ``mlflow.search_runs`` through the same server.

    python -m benchmarks.bench_http                  # the 10k-run store (30 params × 15 metrics)
    python -m benchmarks.bench_http --runs 50000     # generated first if missing (takes a while)

Starts ``mlflow server`` on 127.0.0.1 (one worker, job execution off) over a private copy of a generated sqlite
store (the original is never written), with a private cache folder, then measures — each in a fresh process:

1. first load: ``open_tracker(url).runs()`` with an empty cache, then ``mlflow.search_runs`` (MLflow's own
   settings: 120 s request timeout), and checks the two tables are equal;
2. a new process on the shared cache: ``runs()`` served from the stored table plus the incremental query;
3. a live refresh: that process's table after 20 new finished runs and 5 new running runs were logged (and the
   store's own running runs re-read), then ``search_runs`` again, equality checked.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.generate_store import StoreSpec, generate_sqlite_store

STORE_DIR = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench"))


def _generated_id(uri: str) -> str:
    from mlflow import MlflowClient

    return next(e.experiment_id for e in MlflowClient(tracking_uri=uri).search_experiments()
                if e.name == StoreSpec().experiment_name)


def _same(mine, reference) -> bool:
    import pandas as pd

    from lens_core.format import sentinels_to_inf

    reference = sentinels_to_inf(reference, [c for c in reference.columns if c.startswith("metrics.")])
    if sorted(mine.columns) != sorted(["run_name", *reference.columns]):
        return False
    try:
        pd.testing.assert_frame_equal(mine.drop(columns="run_name")[reference.columns], reference)
    except AssertionError as exc:
        print(str(exc)[:500], file=sys.stderr)
        return False
    return True


def _search_runs(uri: str, experiment_id: str):
    import mlflow

    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        os.environ.pop(name, None)  # MLflow's own settings, not ExperimentLens's
    mlflow.set_tracking_uri(uri)
    began = time.perf_counter()
    table = mlflow.search_runs(experiment_ids=[experiment_id])
    return table, time.perf_counter() - began


def _log_changes(uri: str, experiment_id: str, template) -> list[str]:
    """20 new finished runs and 5 new running runs shaped like the store's."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=uri)
    params = [c.split(".", 1)[1] for c in template.columns if c.startswith("params.")]
    metrics = [c.split(".", 1)[1] for c in template.columns if c.startswith("metrics.")]
    now = int(time.time() * 1000)
    ids = []
    for i in range(25):
        run = client.create_run(experiment_id, run_name=f"bench-new-{i}")
        client.log_batch(run.info.run_id, params=[Param(p, str(i)) for p in params],
                         metrics=[Metric(m, 0.5 + i / 100, now, 0) for m in metrics])
        if i < 20:
            client.set_terminated(run.info.run_id, "FINISHED")
        ids.append(run.info.run_id)
    return ids


def _child(kind: str, uri: str) -> dict[str, object]:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow  # noqa: F401 - imports are not what we measure
    import pandas  # noqa: F401
    from mlflow.tracking.request_header.registry import resolve_request_headers

    from lens_core import open_tracker

    resolve_request_headers()  # MLflow's first request imports IPython for its Databricks check (~0.3 s): an import
    gc.collect()  # and the imports' objects out of the collector's way, as the app does after its first page
    gc.freeze()  # (lens_core.ui.shell): else the first full collection, ~0.1 s, lands in whatever is timed next

    experiment_id = _generated_id(uri)
    out: dict[str, object] = {}
    if kind == "first":
        began = time.perf_counter()
        tracker = open_tracker(uri)
        mine = tracker.runs(experiment_id)
        out["lens_s"] = time.perf_counter() - began
        out["runs"] = len(mine)
        out["pages"] = [(asked, got, round(took, 2), round(timeout, 1)) for asked, got, took, timeout in tracker.pages]
        reference, out["search_runs_s"] = _search_runs(uri, experiment_id)
        out["equal"] = _same(mine, reference)
    elif kind == "shared":
        began = time.perf_counter()
        tracker = open_tracker(uri)
        mine = tracker.runs(experiment_id)
        out["lens_s"] = time.perf_counter() - began
        out["runs"] = len(mine)
        out["full_read_before_start"] = bool(mine.attrs["lens.full_read_at"] < pandas.Timestamp.now(tz="UTC")
                                             - pandas.Timedelta(seconds=time.perf_counter() - began))
    elif kind == "refresh":
        tracker = open_tracker(uri, ttl_seconds=0)
        before = tracker.runs(experiment_id)  # from the shared catalog
        new_ids = _log_changes(uri, experiment_id, before)
        began = time.perf_counter()
        mine = tracker.runs(experiment_id)
        out["lens_s"] = time.perf_counter() - began
        out["refreshed_not_read"] = bool(mine.attrs["lens.full_read_at"] == before.attrs["lens.full_read_at"])
        out["new_seen"] = int(mine["run_id"].isin(new_ids).sum())
        out["running"] = int((mine["status"] == "RUNNING").sum())
        out["runs"] = len(mine)
        reference, out["search_runs_s"] = _search_runs(uri, experiment_id)
        out["equal"] = _same(mine, reference)
    return out


def _run_child(kind: str, uri: str, cache: Path) -> dict[str, object]:
    env = dict(os.environ, LENS_CACHE_DIR=str(cache), MLFLOW_DISABLE_TELEMETRY="true")
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_http", "--child", kind, uri], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(db: Path, root: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true")
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
         "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"mlflow server did not start:\n{(root / 'server.log').read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


def bench(n_runs: int) -> None:
    source = STORE_DIR / f"runs-{n_runs}.db"
    if not source.exists():
        STORE_DIR.mkdir(parents=True, exist_ok=True)
        generate_sqlite_store(source, StoreSpec(n_runs=n_runs))
    with tempfile.TemporaryDirectory(prefix="lens-bench-http-") as tmp:
        root = Path(tmp)
        shutil.copy(source, root / "mlflow.db")  # the server writes (new runs): never to the original
        cache = root / "cache"
        proc, url = _start_server(root / "mlflow.db", root)
        try:
            first = _run_child("first", url, cache)
            shared = _run_child("shared", url, cache)
            refresh = _run_child("refresh", url, cache)
        finally:
            _stop(proc)
    s1, s3 = float(first["search_runs_s"]), float(refresh["search_runs_s"])
    print(f"\n{n_runs:,}-run store over mlflow server (127.0.0.1, 1 worker), {first['runs']:,} active runs")
    print(f"  first load        lens {first['lens_s']:6.1f} s   search_runs {s1:6.1f} s   "
          f"{s1 / float(first['lens_s']):5.1f}×   equal: {first['equal']}")
    print(f"    pages (asked, got, s, timeout s): {first['pages']}")
    print(f"  new process, shared cache  lens {shared['lens_s']:6.2f} s   vs search_runs {s1:6.1f} s   "
          f"{s1 / float(shared['lens_s']):6.0f}×")
    print(f"  refresh (20 new + 5 running)  lens {refresh['lens_s']:6.2f} s   "
          f"search_runs {s3:6.1f} s   {s3 / float(refresh['lens_s']):6.0f}×   new runs seen {refresh['new_seen']}/25, "
          f"running {refresh['running']}, incremental: {refresh['refreshed_not_read']}, equal: {refresh['equal']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="*", default=[10000], help="store sizes")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    for n in args.runs:
        bench(n)


if __name__ == "__main__":
    main()
