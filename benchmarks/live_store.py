"""A live sqlite store: ExperimentLens reads and rates while MLflow training processes log to the same file.

    python -m benchmarks.live_store                       # 60 s with 2 loggers, then 60 s with 4
    python -m benchmarks.live_store --seconds 20 --loggers 3

In this process, app readers (experiments, runs table, one run, metric histories, with the catalog forgotten
before every read) and a rating writer (``lens.rating`` / ``lens.note`` tags through ``Tracker.set_tags``) work
the store the way Home, Compare and Run do; ``--loggers`` separate processes ``log_batch`` to it with MLflow's
client. Afterwards the file must pass ``PRAGMA integrity_check``, hold every rating the app reported saved and
every batch MLflow reported logged, and the app must have raised nothing but ``LensError`` subclasses (a "store
busy, try again" message is fine). ``tests/test_live_store.py`` runs the same harness for a few seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = "live"
METRICS = ("loss", "accuracy", "lr")
SEED_RUNS = 12


@dataclass(frozen=True)
class LiveStoreResult:
    """What a live-store session kept and what the app saw."""

    seconds: float
    loggers: int
    integrity: str
    reads: int
    rating_writes: int
    ratings_saved: int
    ratings_kept: int
    batches_logged: int
    batches_kept: int
    batches_refused: int
    app_errors: Counter[str] = field(default_factory=Counter)
    unexpected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (self.integrity == "ok" and self.ratings_kept == self.ratings_saved
                and self.batches_kept == self.batches_logged and not self.unexpected)

    def summary(self) -> str:
        errors = ", ".join(f"{name} ×{n}" for name, n in self.app_errors.most_common()) or "none"
        return (
            f"{self.seconds:.0f} s, {self.loggers} loggers: integrity {self.integrity} · {self.reads:,} app reads · "
            f"ratings kept {self.ratings_kept:,}/{self.ratings_saved:,} runs ({self.rating_writes:,} writes) · batches kept "
            f"{self.batches_kept:,}/{self.batches_logged:,} ({self.batches_refused:,} refused to MLflow's loggers) · "
            f"app errors: {errors} · unexpected: {len(self.unexpected)}"
        )


def create_store(db: Path) -> str:
    """A fresh MLflow sqlite store with one experiment and a few finished runs; returns the experiment id."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=(db.parent / "artifacts").as_uri())
    for i in range(SEED_RUNS):
        run = client.create_run(experiment_id, run_name=f"seed-{i}")
        client.log_param(run.info.run_id, "seed", str(i))
        client.log_metric(run.info.run_id, "loss", 1.0 / (i + 1))
        client.set_terminated(run.info.run_id)
    return experiment_id


def run_live_store(db: Path, experiment_id: str, *, seconds: float, loggers: int) -> LiveStoreResult:
    """Loggers in subprocesses, app readers and a rating writer in this process, for ``seconds``; then checks."""
    from lens_core import open_tracker
    from lens_core.errors import LensError

    ledger_dir = db.parent / "ledgers"
    ledger_dir.mkdir(exist_ok=True)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.live_store", "--logger", str(db), experiment_id, str(seconds),
             str(ledger_dir / f"logger-{n}.jsonl"), str(n)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for n in range(loggers)
    ]
    tracker = open_tracker(f"sqlite:///{db}")
    rated = [r for r in tracker.runs(experiment_id)["run_id"]][:SEED_RUNS]
    stop = threading.Event()
    reads = Counter[str]()
    errors = Counter[str]()
    unexpected: list[str] = []
    saved: dict[str, tuple[str, str]] = {}
    writes = Counter[str]()
    lock = threading.Lock()

    def guarded(name: str, call) -> None:
        try:
            call()
            with lock:
                reads[name] += 1
        except LensError as exc:
            with lock:
                errors[type(exc).__name__] += 1
        except Exception as exc:  # noqa: BLE001 - exactly what this harness looks for
            with lock:
                unexpected.append(f"{name}: {type(exc).__name__}: {exc}")

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            tracker.forget()
            guarded("experiments", tracker.experiments)
            table = None

            def runs() -> None:
                nonlocal table
                table = tracker.runs(experiment_id)

            guarded("runs", runs)
            if table is not None and len(table):
                ids = list(table["run_id"])
                one, some = rng.choice(ids), rng.sample(ids, min(20, len(ids)))
                guarded("run", lambda one=one: tracker.run(one))
                guarded("history", lambda some=some: tracker.metric_history(some, list(METRICS)))

    def rater() -> None:
        rng = random.Random(7)
        n = 0
        while not stop.is_set():
            n += 1
            run_id, rating, note = rng.choice(rated), str(rng.randint(1, 5)), f"write #{n}"
            try:
                tracker.set_tags(run_id, {"lens.rating": rating, "lens.note": note})
            except LensError as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                continue
            except Exception as exc:  # noqa: BLE001
                with lock:
                    unexpected.append(f"set_tags: {type(exc).__name__}: {exc}")
                continue
            writes["ok"] += 1
            saved[run_id] = (rating, note)  # last write wins: one rater thread, so its order is the file's
            time.sleep(0.02)

    threads = [threading.Thread(target=reader, args=(s,), daemon=True) for s in (1, 2)]
    threads.append(threading.Thread(target=rater, daemon=True))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    logger_failures = []
    for process in processes:
        _, stderr = process.communicate(timeout=seconds + 120)
        if process.returncode != 0:
            logger_failures.append(stderr[-2000:])
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started
    if logger_failures:
        raise RuntimeError("a logger process failed:\n" + "\n".join(logger_failures))
    return _check(db, ledger_dir, saved, writes["ok"], elapsed, loggers, sum(reads.values()), errors, unexpected)


def _check(db: Path, ledger_dir: Path, saved: dict[str, tuple[str, str]], rating_writes: int, elapsed: float, loggers: int,
           reads: int, errors: Counter[str], unexpected: list[str]) -> LiveStoreResult:
    tags: dict[tuple[str, str], str] = {}
    points: set[tuple[object, ...]] = set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
            integrity = "; ".join(r[0] for r in con.execute("PRAGMA integrity_check").fetchall())
            tags = {(run, key): value for run, key, value in con.execute(
                "SELECT run_uuid, key, value FROM tags WHERE key IN ('lens.rating', 'lens.note')")}
            points = set(con.execute("SELECT run_uuid, key, step, timestamp, value FROM metrics"))
    except sqlite3.DatabaseError as exc:  # what this harness exists to catch: the file is damaged
        integrity = f"FAILED ({exc})"
    ratings_kept = sum(
        tags.get((run, "lens.rating")) == rating and tags.get((run, "lens.note")) == note
        for run, (rating, note) in saved.items()
    )
    logged = kept = refused = 0
    for ledger in ledger_dir.glob("logger-*.jsonl"):
        for line in ledger.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("refused"):
                refused += 1
                continue
            logged += 1
            kept += all((entry["run"], key, entry["step"], entry["ts"], value) in points
                        for key, value in entry["metrics"].items())
    return LiveStoreResult(
        seconds=elapsed, loggers=loggers, integrity=integrity, reads=reads, rating_writes=rating_writes, ratings_saved=len(saved),
        ratings_kept=ratings_kept, batches_logged=logged, batches_kept=kept, batches_refused=refused,
        app_errors=errors, unexpected=tuple(unexpected),
    )


def _logger(db: str, experiment_id: str, seconds: float, ledger: str, number: int) -> None:
    """One training job: runs that log a batch of metrics per step (and a param and tag now and then), each
    batch recorded in the ledger once MLflow returned."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    rng = random.Random(number)
    deadline = time.monotonic() + seconds
    with open(ledger, "a", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            try:
                run_id = client.create_run(experiment_id, run_name=f"job-{number}").info.run_id
            except Exception:  # noqa: BLE001 - a refused write is MLflow's to report, not ours to count
                time.sleep(0.05)
                continue
            for step in range(rng.randint(5, 30)):
                if time.monotonic() >= deadline:
                    break
                ts = int(time.time() * 1000)
                values = {key: rng.random() * 10 ** rng.randint(-3, 3) for key in METRICS}
                params = [Param(f"p{step}", str(rng.random()))] if step % 7 == 0 else []
                tags = [RunTag("phase", f"step-{step}")] if step % 5 == 0 else []
                try:
                    client.log_batch(run_id, metrics=[Metric(k, v, ts, step) for k, v in values.items()],
                                     params=params, tags=tags)
                except Exception as exc:  # noqa: BLE001
                    out.write(json.dumps({"refused": f"{type(exc).__name__}: {exc}"[:200]}) + "\n")
                    continue
                out.write(json.dumps({"run": run_id, "step": step, "ts": ts, "metrics": values}) + "\n")
                out.flush()
            try:
                client.set_terminated(run_id)
            except Exception:  # noqa: BLE001, S110
                pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--loggers", type=int, nargs="*", default=[2, 4])
    parser.add_argument("--logger", nargs=5, metavar=("DB", "EXPERIMENT", "SECONDS", "LEDGER", "N"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.logger:
        db, experiment_id, seconds, ledger, number = args.logger
        _logger(db, experiment_id, float(seconds), ledger, int(number))
        return
    import tempfile

    for loggers in args.loggers:
        with tempfile.TemporaryDirectory(prefix="lens-live-") as tmp:
            db = Path(tmp) / "mlflow.db"
            experiment_id = create_store(db)
            result = run_live_store(db, experiment_id, seconds=args.seconds, loggers=loggers)
            print(result.summary(), flush=True)
            for line in result.unexpected[:10]:
                print("   unexpected:", line)
            if not result.ok:
                sys.exit(1)


if __name__ == "__main__":
    main()
