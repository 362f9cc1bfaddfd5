"""Each page in a real browser: time to first meaningful content, time until the page is finished, and the
server's CPU-seconds per page view (cold: first visit; warm: the same view again in a new session).

    python -m benchmarks.bench_pages                       # the demo store and a generated 5k-run store
    python -m benchmarks.bench_pages --uri sqlite:////path/mlflow.db --runs 0

"First content" is the page's main content, not its frame: table rows on Home, the first drawn chart on Compare,
Hyperparameters and Model insights, the run's metrics on Run. "Finished" is Streamlit's script idle with no
skeleton left. The app runs on 127.0.0.1 with Debian's Chromium; nothing leaves the machine.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load_test import ROOT, cpu_seconds, free_port

#: What counts as the main content of each page (a CSS selector that appears when it is drawn).
CONTENT = {
    "Home": '[data-testid="stMainBlockContainer"] [data-testid="stDataFrame"] canvas',
    "Compare": '[data-testid="stVegaLiteChart"] svg .mark-line path, [data-testid="stVegaLiteChart"] canvas',
    "Run": '[data-testid="stMetric"], [data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg',
    # the rank correlations, drawn while the surrogate is fitted, or a chart
    "Hyperparameters": '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg, '
                       '[data-testid="stMainBlockContainer"] [data-testid="stDataFrame"] canvas',
    # a run without a logged model (the generated store's runs) gets a message saying what to log: its content
    "Model insights": '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg, '
                      '[data-testid="stMainBlockContainer"] [data-testid="stAlert"]',
}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@dataclass(frozen=True)
class PageTiming:
    page: str
    first_content_s: float | None  # None: the content never appeared within the limit
    finished_s: float
    server_cpu_s: float


def start_app(uri: str, script: Path = ROOT / "Home.py") -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=dict(os.environ, MLFLOW_TRACKING_URI=uri), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)
            return server, base
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the app did not start")


def routes(uri: str) -> dict[str, str]:
    """One representative view per page: the experiment with most runs, its three newest runs."""
    from lens_core import open_tracker

    tracker = open_tracker(uri)
    experiment = max(tracker.experiments(), key=lambda e: len(tracker.runs(e.experiment_id)))
    runs = tracker.runs(experiment.experiment_id)
    finished = runs[runs["status"] == "FINISHED"]["run_id"].tolist() or runs["run_id"].tolist()
    return {
        "Home": f"/?experiment={experiment.experiment_id}",
        "Compare": f"/Compare?runs={','.join(finished[:3])}",
        "Run": f"/Run?run={finished[0]}",
        "Hyperparameters": f"/Hyperparameters?experiment={experiment.experiment_id}",
        "Model insights": f"/Model_insights?run={finished[0]}",
    }


def visit(context: object, base: str, page_name: str, path: str, server_pid: int) -> PageTiming:
    """One page view in a new tab of ``context`` (a new Streamlit session; a context that has loaded the app
    before has Streamlit's scripts in its cache, as a returning user's browser does)."""
    page = context.new_page()  # type: ignore[attr-defined]
    cpu_before = cpu_seconds(server_pid)
    started = time.monotonic()
    page.goto(base + path, wait_until="commit")
    first: float | None = None
    try:
        page.wait_for_selector(CONTENT[page_name], state="attached", timeout=120_000)
        first = time.monotonic() - started
    except Exception:  # noqa: BLE001 - a page without its content is reported, not fatal
        pass
    page.wait_for_selector(IDLE, timeout=180_000)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=180_000)
    page.wait_for_timeout(300)  # a rerun the first paint asked for (width measurement) starts within this
    page.wait_for_selector(IDLE, timeout=180_000)
    finished = time.monotonic() - started
    cpu = cpu_seconds(server_pid) - cpu_before
    page.close()
    return PageTiming(page_name, first, finished, cpu)


#: The floor: Streamlit itself drawing a one-row table, no ExperimentLens code.
FLOOR_APP = "import pandas as pd\nimport streamlit as st\nst.title('floor')\nst.dataframe(pd.DataFrame({'a': [1]}))\n"


def measure_floor(folder: Path) -> tuple[PageTiming, PageTiming]:
    """Streamlit's own cost of a page view on this machine (browser start-up, scripts, websocket), measured like
    the pages: what no page of ExperimentLens can go below."""
    from playwright.sync_api import sync_playwright

    (folder / "floor").mkdir(exist_ok=True)  # a folder of its own: Streamlit watches the script's folder
    script = folder / "floor" / "floor_app.py"
    script.write_text(FLOOR_APP)
    server, base = start_app("", script)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            cold = visit(context, base, "Home", "/", server.pid)
            warm = visit(context, base, "Home", "/", server.pid)
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return cold, warm


def fmt(t: PageTiming) -> str:
    first = "never" if t.first_content_s is None else f"{t.first_content_s:.1f} s"
    return f"{first:>12}{t.finished_s:>8.1f} s{t.server_cpu_s:>10.2f} s"


def measure_store(uri: str, label: str) -> list[tuple[PageTiming, PageTiming]]:
    from playwright.sync_api import sync_playwright

    views = routes(uri)
    server, base = start_app(uri)
    out = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for name, path in views.items():
                # cold: a fresh browser (nothing cached) and the server's first computation of this view;
                # warm: the same view again in a new tab, as a teammate opening a shared link
                context = browser.new_context(viewport={"width": 1440, "height": 1000})
                cold = visit(context, base, name, path, server.pid)
                warm = visit(context, base, name, path, server.pid)
                context.close()
                out.append((cold, warm))
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    print(f"\n{label}")
    print(f"{'page':<16}{'first content':>15}{'finished':>10}{'server CPU':>12}   {'warm: first':>12}{'finished':>10}"
          f"{'server CPU':>12}")
    for cold, warm in out:
        print(f"{cold.page:<16}   {fmt(cold)}   {fmt(warm)}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=None, help="tracking URI (default: the demo store)")
    parser.add_argument("--runs", type=int, default=5_000, help="also a generated store of this many runs (0: no)")
    args = parser.parse_args(argv)
    if args.uri is None:
        from lens_core.demo import ensure_demo_store

        args.uri = ensure_demo_store()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    folder = Path(os.environ.get("LENS_BENCH_DIR", "/tmp/lens-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    cold, warm = measure_floor(folder)
    print(f"\n{'Streamlit alone':<16}   {fmt(cold)}   {fmt(warm)}   (a one-table page: the floor)")
    measure_store(args.uri, f"store: {args.uri.rsplit('/', 1)[-1] if args.uri.startswith('sqlite') else args.uri}")
    if args.runs:
        from benchmarks.generate_store import StoreSpec, generate_sqlite_store

        path = folder / f"pages-{args.runs}.db"
        uri = f"sqlite:///{path}" if path.exists() else generate_sqlite_store(path, StoreSpec(n_runs=args.runs))
        measure_store(uri, f"generated store: {args.runs:,} runs")


if __name__ == "__main__":
    main()
