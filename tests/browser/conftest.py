"""Browser tests: the real app served by `streamlit run`, driven by Debian's Chromium through Playwright."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
APP_DIR = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("LENS_SCREENSHOT_DIR", "/tmp/lens-screens"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        yield chromium
        chromium.close()


def start_app(uri: str, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`streamlit run Home.py` on a free port of 127.0.0.1 with this tracker (and extra environment); waits until
    it answers its health check."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=APP_DIR, env=dict(os.environ, MLFLOW_TRACKING_URI=uri, **env), stdout=log.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def serve_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """serve_app(tracking_uri) -> base URL of a running app on that tracker (one server per URI)."""
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}

    def serve(uri: str) -> str:
        if uri not in servers:
            servers[uri] = start_app(uri, tmp_path_factory.mktemp("streamlit") / "server.log")
        return servers[uri][1]

    yield serve
    for proc, _ in servers.values():
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def settle(page: object, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script and painting."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)  # type: ignore[attr-defined]


def screenshot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path
