"""Concurrent users against a real app on 127.0.0.1: N browser sessions browse every page for a bounded time.

    python -m benchmarks.load_test                     # 1, 5 and 20 sessions, 120 s each, demo store
    python -m benchmarks.load_test --sessions 5 --seconds 30 --uri sqlite:////path/mlflow.db

Each session has its own browser context (its own Streamlit session) and cycles Home → Compare (3 runs) → Run →
Hyperparameters, and writes the rating of its own run. Prints sessions, page loads, errors (exceptions on a page or
JavaScript errors), the server's peak and per-minute memory, and checks that every session's rating landed on its
run alone. Also the server's CPU-seconds per page view and page views per minute, measured after each session has
been once round every page (warm: the views' computations are cached, as on a portal in use). Traffic goes to
127.0.0.1 only and stops by itself.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    total = 0
    for child in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{child}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except FileNotFoundError:
            pass
    return total / 2**20


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (clock ticks from /proc)."""
    ticks = 0
    for proc in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--uri", default=None, help="tracking URI (default: the demo store)")
    args = parser.parse_args(argv)
    for sessions in args.sessions:
        load(sessions, args.seconds, args.uri)


def load(sessions: int, seconds: float, uri: str | None) -> None:
    from playwright.sync_api import sync_playwright

    from lens_core import open_tracker

    if uri is None:
        from lens_core.demo import ensure_demo_store

        uri = ensure_demo_store()
    # the sessions rate runs: work on a copy so the store itself stays as it was
    scratch = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench")) / "load-test"
    scratch.mkdir(parents=True, exist_ok=True)
    if uri.startswith("sqlite:///"):
        import shutil

        shutil.copy(uri.removeprefix("sqlite:///"), scratch / "mlflow.db")
        uri = f"sqlite:///{scratch / 'mlflow.db'}"
    tracker = open_tracker(uri)
    experiment = max(tracker.experiments(), key=lambda e: len(tracker.runs(e.experiment_id)))
    run_ids = list(tracker.runs(experiment.experiment_id)["run_id"])

    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)

    memory: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not stop.is_set():
            memory.append((time.monotonic() - started, rss_mb(server.pid)))
            stop.wait(2)

    threading.Thread(target=sample, daemon=True).start()
    loads, errors = 0, []
    deadline = time.monotonic() + seconds
    warm_from: tuple[float, float, int] | None = None  # (time, server CPU, loads) once every session saw every page
    ready = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            pages = []
            for i in range(sessions):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.on("pageerror", lambda exc, i=i: errors.append(f"session {i}: {exc}"))
                pages.append(page)
            routes = [
                lambda i: f"{base}/?experiment={experiment.experiment_id}",
                lambda i: f"{base}/Compare?runs={','.join(run_ids[i % len(run_ids):][:3])}",
                lambda i: f"{base}/Run?run={run_ids[i % len(run_ids)]}",
                lambda i: f"{base}/Hyperparameters?experiment={experiment.experiment_id}",
            ]
            step = 0
            while time.monotonic() < deadline or warm_from is None:
                # every session starts its next page, then all are awaited: real concurrency on the server
                for i, page in enumerate(pages):
                    page.goto(routes[(step + i) % len(routes)](i), wait_until="commit")
                for i, page in enumerate(pages):
                    try:
                        page.wait_for_selector(ready, timeout=120_000)
                        page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=120_000)
                        loads += 1
                        if page.locator('[data-testid="stException"]').count():
                            errors.append(f"session {i}: exception on {page.url}")
                    except Exception as exc:  # a timeout is an error of the app under load, counted
                        errors.append(f"session {i}: {type(exc).__name__} on {page.url}")
                step += 1
                if step == len(routes):
                    warm_from = (time.monotonic(), cpu_seconds(server.pid), loads)
                    deadline = max(deadline, warm_from[0] + seconds / 2)  # at least half the time measured warm
            warm = (time.monotonic() - warm_from[0], cpu_seconds(server.pid) - warm_from[1], loads - warm_from[2])
            browser.close()
    finally:
        stop.set()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)

    # every session rates its own run through the tracker, all at once: every write must land on its run
    writers = [open_tracker(uri) for _ in range(sessions)]
    threads = [threading.Thread(target=w.set_tags, args=(run_ids[i % len(run_ids)], {f"lens.load.{i}": str(i)}))
               for i, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fresh = open_tracker(uri)
    lost = [i for i in range(sessions) if fresh.run(run_ids[i % len(run_ids)]).tags.get(f"lens.load.{i}") != str(i)]

    peak = max(m for _, m in memory)
    after_first_minute = [m for t, m in memory if t >= 60]
    print(f"sessions {sessions} · {seconds:.0f} s · page loads {loads} · errors {len(errors)}")
    for line in errors[:10]:
        print("  ", line)
    print(f"server memory: peak {peak:.0f} MB; after the first minute {min(after_first_minute, default=peak):.0f}–"
          f"{max(after_first_minute, default=peak):.0f} MB")
    took, cpu, views = warm
    print(f"warm: {views} page views in {took:.0f} s · {60 * views / took:.0f} page views a minute · server CPU "
          f"{cpu / max(views, 1):.2f} s a page view")
    print(f"concurrent rating writes: {sessions - len(lost)} of {sessions} landed")


if __name__ == "__main__":
    main()
