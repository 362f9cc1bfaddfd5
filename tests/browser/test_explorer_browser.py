"""The dataset explorer in a real browser, on the demo fleet data and on a 2,000,000-row parquet artifact.

A user opens a fleet run's Run page, opens ``data/`` then ``trajectories.parquet`` in the artifact tree, and
switches the explorer through the table, every chart type and every map type. For each view the test waits for the
rerun it triggers, checks what is painted (rows in the grid, coloured marks on the Vega canvas, coloured features on
the deck.gl canvas) and saves ``/tmp/lens-screens/explorer-<kind>.png`` (``explorer-large-<kind>.png`` for the
large file).

WebGL: with the session's flags (``--disable-gpu``, headless) WebGL still runs on SwiftShader, because Playwright
itself adds ``--enable-unsafe-swiftshader`` to every launch (the renderer reads "ANGLE (Google, Vulkan 1.3.0
(SwiftShader Device (Subzero)))" in Chromium 156); it draws deck.gl correctly, so no extra flag is needed.
:func:`webgl_renderer` reports it, and a blank map fails with that renderer in the message.
"""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from lens_core import open_tracker
from tests.browser.conftest import screenshot, settle

VIEWPORT = {"width": 1400, "height": 1000}
CHARTS = ("Scatter", "Line", "Bar", "Histogram", "Heatmap")
MAPS = ("Points", "Density", "Trajectories")
# the widget labels each chart kind shows: proof the chart on screen is the one asked for, not the previous one
CHART_CONTROLS = {
    "Scatter": {"x", "y", "colour"},
    "Line": {"x (time)", "y", "aggregate"},
    "Bar": {"group by", "aggregate"},
    "Histogram": {"column", "bins", "stack by"},
    "Heatmap": {"x", "y", "aggregate"},
}
MAP_CONTROLS = {
    "Points": {"colour by", "tooltip"},
    "Density": {"weight", "cells across"},
    "Trajectories": {"one path per", "ordered by", "colour by", "at most"},
}
# minimum coloured pixels in the chart / map crop (measured on the demo data: several times these)
MIN_COLOURED = {"Scatter": 10_000, "Line": 3000, "Bar": 10_000, "Histogram": 30_000, "Heatmap": 25_000,
                "Points": 30_000, "Density": 40_000, "Trajectories": 30_000}
LARGE_ROWS = 2_000_000


# ---- helpers ---------------------------------------------------------------------------------------------------
def pixels(png: bytes) -> tuple[int, int]:
    """(pixels that are not the white background, coloured pixels) in a PNG screenshot. Axes, grid lines, text and
    the grey graticule are grey and count only in the first; chart marks and map features are coloured."""
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
    inked = int((rgb.min(axis=-1) < 235).sum())
    coloured = int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 50).sum())
    return inked, coloured


def webgl_renderer(page) -> str:
    return page.evaluate("""() => {
        const canvas = document.createElement('canvas');
        const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
        if (!gl) return '';
        const info = gl.getExtension('WEBGL_debug_renderer_info');
        return String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    }""")


def watch_reruns(page) -> None:
    """Count the app's script runs from now on (a MutationObserver on stApp's script state)."""
    page.evaluate("""() => {
        window.__lensRuns = 0;
        if (window.__lensObserver) return;
        const app = document.querySelector('[data-testid="stApp"]');
        window.__lensObserver = new MutationObserver(records => {
            for (const r of records) if (app.getAttribute('data-test-script-state') === 'running' ||
                                         r.oldValue === 'running') { window.__lensRuns += 1; break; }
        });
        window.__lensObserver.observe(app, {attributes: true, attributeOldValue: true,
                                            attributeFilter: ['data-test-script-state']});
    }""")


def rerun(page, action, timeout_ms: int = 60_000) -> None:
    """Do ``action`` (a click), wait for the rerun it starts, then for the app to settle."""
    watch_reruns(page)
    action()
    page.wait_for_function("() => window.__lensRuns > 0", timeout=timeout_ms)
    settle(page, timeout_ms)


def option(scope, label: str):
    """The radio option labelled exactly ``label`` inside ``scope``."""
    return scope.locator('[data-testid="stRadio"] label').filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def pick(page, label: str) -> None:
    """Click the explorer's radio option ``label`` (a view, a chart kind or a map kind)."""
    target = option(view_column(page), label)
    expect(target).to_have_count(1)
    rerun(page, target.click)
    expect(target.locator("input")).to_be_checked()


def view_column(page):
    """The right-hand column of the Run page, where the explorer lives."""
    return page.locator('[data-testid="stColumn"]').filter(has=page.locator('[data-testid="stRadio"]').filter(
        has_text=re.compile(r"Table\s*Chart"))).first


def assert_no_error(page) -> None:
    """What a user must not see: an exception box, a traceback, an error or warning alert."""
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    alerts = page.locator('[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]')
    assert alerts.count() == 0, alerts.all_inner_texts()
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, body[:2000]


def widget_labels(page) -> set[str]:
    return {t.strip() for t in view_column(page).locator('[data-testid="stWidgetLabel"]:visible').all_inner_texts()}


def bring_explorer_to_top(page) -> None:
    """Scroll the file's heading to the top of the viewport: the explorer's controls and chart or map fit below."""
    view_column(page).locator('[data-testid="stHeading"]').first.evaluate(
        "el => el.scrollIntoView({block: 'start', behavior: 'instant'})")
    page.wait_for_timeout(150)


def wait_for_paint(page, element, minimum: int, timeout_s: float = 30) -> tuple[int, int]:
    """Screenshot ``element`` until it holds at least ``minimum`` coloured pixels; return (inked, coloured)."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = pixels(element.screenshot())
        if counts[1] >= minimum or time.monotonic() > deadline:
            return counts
        page.wait_for_timeout(250)


def open_artifact(page, base: str, run_id: str, folder: str, name: str) -> None:
    """As a user: the run's page, then the folder and the file in the artifact tree."""
    page.goto(f"{base}/Run?run={run_id}")
    settle(page, 120_000)
    page.wait_for_timeout(300)  # a rerun the first paint asks for (widths) starts within this: not during the click
    settle(page, 120_000)
    tree = page.locator('[data-testid="stExpander"]').filter(has_text=re.compile(r"^\s*\S*\s*Artifacts"))
    expect(tree).to_have_count(1)
    entry = tree.locator('[data-testid="stRadio"] label').filter(has_text=re.compile(rf"\b{re.escape(folder)}\s*$"))
    entry.scroll_into_view_if_needed()
    rerun(page, entry.click)
    page.wait_for_url(f"**item=artifact*{folder}*")
    tree = page.locator('[data-testid="stExpander"]').filter(has_text=re.compile(r"^\s*\S*\s*Artifacts"))
    entry = tree.locator('[data-testid="stRadio"] label').filter(has_text=name[:14])  # the tree cuts long names
    expect(entry).to_have_count(1)
    rerun(page, entry.click, 120_000)
    page.wait_for_url(f"**{name.replace('.', '*')}*")
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def explore_every_view(page, prefix: str, rows: int, columns: int) -> dict[str, tuple[float, int]]:
    """Table, the five charts and the three maps, each switched to through the UI; returns {view: (seconds,
    coloured pixels painted)}."""
    seconds: dict[str, tuple[float, int]] = {}
    column = view_column(page)
    expect(column).to_have_count(1)
    renderer = webgl_renderer(page)
    assert renderer, "no WebGL in this Chromium: deck.gl maps cannot be drawn"

    began = time.perf_counter()
    grid = column.locator('[data-testid="stDataFrame"]')
    expect(grid).to_have_count(1)
    expect(grid.locator('table[role="grid"]')).to_have_attribute("aria-rowcount", "51")  # 50 rows + the header
    pages = -(-rows // 50)
    expect(column.get_by_text(f"{rows:,} rows · {columns} columns · page 1 of {pages:,}")).to_be_visible()
    bring_explorer_to_top(page)
    inked, _ = pixels(grid.screenshot())
    assert inked > 15_000, f"the table grid looks empty ({inked} inked pixels)"
    assert_no_error(page)
    screenshot(page, f"{prefix}-table")
    seconds["table"] = (time.perf_counter() - began, inked)

    pick(page, "Chart")
    for kind in CHARTS:
        began = time.perf_counter()
        if not option(column, kind).locator("input").is_checked():
            pick(page, kind)
        assert CHART_CONTROLS[kind] <= widget_labels(page), (kind, widget_labels(page))
        if kind == "Heatmap":
            assert "x (time)" not in widget_labels(page) and "colour" not in widget_labels(page)
        chart = column.locator('[data-testid="stVegaLiteChart"]')
        expect(chart).to_have_count(1)
        canvas = chart.locator("canvas, svg.marks").first
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 100, (kind, box)
        bring_explorer_to_top(page)
        inked, coloured = wait_for_paint(page, canvas, MIN_COLOURED[kind])
        assert coloured >= MIN_COLOURED[kind], f"{kind}: {coloured} coloured pixels ({inked} inked)"
        expect(column.get_by_text("sent to the browser", exact=False)).to_be_visible()
        assert_no_error(page)
        screenshot(page, f"{prefix}-{kind.lower()}")
        seconds[kind.lower()] = (time.perf_counter() - began, coloured)

    pick(page, "Map")
    for kind in MAPS:
        began = time.perf_counter()
        if not option(column, kind).locator("input").is_checked():
            pick(page, kind)
        assert MAP_CONTROLS[kind] <= widget_labels(page), (kind, widget_labels(page))
        deck = column.locator('[data-testid="stDeckGlJsonChart"]')
        expect(deck).to_have_count(1)
        canvas = deck.locator("canvas").first
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 400, (kind, box)
        bring_explorer_to_top(page)
        inked, coloured = wait_for_paint(page, canvas, MIN_COLOURED[kind])
        assert coloured >= MIN_COLOURED[kind], (
            f"{kind} map: {coloured} coloured pixels ({inked} inked) with WebGL on {renderer!r}")
        expect(column.get_by_text("sent to the browser", exact=False)).to_be_visible()
        assert_no_error(page)
        screenshot(page, f"{prefix}-{kind.lower()}")
        seconds[kind.lower()] = (time.perf_counter() - began, coloured)
    return seconds


# ---- the demo fleet --------------------------------------------------------------------------------------------
def fleet_run(uri: str) -> str:
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == "fleet-trajectories")
    runs = tracker.runs(exp.experiment_id)
    return runs.loc[runs["status"] == "FINISHED", "run_id"].iloc[-1]


def test_explorer_views_paint_on_demo_fleet(page, serve_app, demo_build):
    page.set_viewport_size(VIEWPORT)
    open_artifact(page, serve_app(demo_build["uri"]), fleet_run(demo_build["uri"]), "data", "trajectories.parquet")
    seconds = explore_every_view(page, "explorer", rows=6_000, columns=10)
    print("seconds, pixels per view:", {k: (round(v, 1), n) for k, (v, n) in seconds.items()})


# ---- a 2,000,000-row artifact ------------------------------------------------------------------------------------
def write_large_parquet(path: Path, rows: int = LARGE_ROWS, vehicles: int = 500) -> None:
    """``rows`` GPS pings of ``vehicles`` vehicles doing random walks around Paris, one every 15 s (DuckDB)."""
    import duckdb

    duckdb.sql(f"""
    COPY (
      WITH base AS (
        SELECT i % {vehicles} AS v, i // {vehicles} AS step,
               hash(i) % 1000000 / 1e6 AS u1, hash(i + 7919) % 1000000 / 1e6 AS u2
        FROM range({rows}) t(i)
      ), walk AS (
        SELECT *, sum(u1 - 0.5) OVER w AS dn, sum(u2 - 0.5) OVER w AS de FROM base
        WINDOW w AS (PARTITION BY v ORDER BY step ROWS UNBOUNDED PRECEDING)
      )
      SELECT printf('V%03d', v) AS vehicle_id,
             ['bus', 'van', 'taxi', 'truck', 'bike'][v % 5 + 1] AS vehicle_type,
             TIMESTAMP '2025-06-03 06:00:00' + to_seconds(step * 15 + v % 60) AS timestamp,
             round(48.8566 + ((v * 37) % 100 - 50) / 2500.0 + dn * 0.0006, 6) AS latitude,
             round(2.3522 + ((v * 53) % 100 - 50) / 1700.0 + de * 0.0009, 6) AS longitude,
             round(10 + 50 * u1, 1) AS speed_kmh,
             round(1 - step / {rows // vehicles}.0 * 0.8, 3) AS fuel_level,
             ['centre', 'north', 'south', 'east', 'west'][(hash(v) % 5)::INT + 1] AS district
      FROM walk ORDER BY v, step
    ) TO '{path}' (FORMAT parquet)
    """)


@pytest.fixture(scope="module")
def large_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A small sqlite MLflow store whose one run logs ``data/pings.parquet`` (2,000,000 rows): (uri, run id)."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("large-explorer")
    data = root / "pings.parquet"
    write_large_parquet(data)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("large-fleet", artifact_location=(root / "artifacts").as_uri())
    run = client.create_run(exp, run_name="two-million-pings")
    client.log_artifact(run.info.run_id, str(data), "data")
    client.set_terminated(run.info.run_id)
    return uri, run.info.run_id


def test_explorer_views_paint_on_two_million_rows(page, serve_app, large_store):
    uri, run_id = large_store
    page.set_viewport_size(VIEWPORT)
    open_artifact(page, serve_app(uri), run_id, "data", "pings.parquet")
    seconds = explore_every_view(page, "explorer-large", rows=LARGE_ROWS, columns=8)
    print("seconds, pixels per view:", {k: (round(v, 1), n) for k, (v, n) in seconds.items()})
    assert max(v for v, _ in seconds.values()) < 20, seconds  # each view, on 2,000,000 rows
