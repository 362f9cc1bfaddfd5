"""Home in a real browser: the Arrow grid paints rows, the URL carries the experiment."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, settle


def test_home_renders_runs_grid(page, serve_app, sqlite_store):
    uri, ids = sqlite_store
    base = serve_app(uri)
    page.goto(f"{base}/?experiment={ids['main']}")
    settle(page)
    expect(page.get_by_role("heading", name="reference ü")).to_be_visible()
    expect(page.get_by_text("Runs · 14")).to_be_visible()
    grid = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stDataFrame"]')
    grid.wait_for(state="visible")
    box = grid.bounding_box()
    assert box is not None and box["height"] > 300  # 14 rows painted, not a collapsed frame
    # the grid paints on a canvas; its accessibility table tells how many rows it holds (header included)
    assert grid.locator('table[role="grid"]').get_attribute("aria-rowcount") == "15"
    screenshot(page, "home-reference")


def test_switching_experiment_in_browser_updates_url(page, serve_app, sqlite_store):
    uri, ids = sqlite_store
    page.goto(f"{serve_app(uri)}/?experiment={ids['main']}")
    settle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="empty").click()
    settle(page)
    page.wait_for_url(f"**experiment={ids['empty']}**")
    expect(page.get_by_text("This experiment has no runs yet")).to_be_visible(timeout=30_000)


def test_home_on_demo_store(page, serve_app, demo_build):
    page.goto(serve_app(demo_build["uri"]))
    settle(page)
    expect(page.get_by_role("heading", name="churn-classification")).to_be_visible()
    grid = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stDataFrame"]')
    assert grid.locator('table[role="grid"]').get_attribute("aria-rowcount") == "35"
    screenshot(page, "home-demo")


def test_home_on_generated_store(page, serve_app, tmp_path_factory):
    from benchmarks.generate_store import StoreSpec, generate_sqlite_store

    uri = generate_sqlite_store(tmp_path_factory.mktemp("gen") / "mlflow.db", StoreSpec(n_runs=400))
    page.goto(serve_app(uri))
    settle(page)
    expect(page.get_by_text("Runs · 392")).to_be_visible()  # 400 generated, 2 % deleted
    screenshot(page, "home-generated-400")


def test_live_refresh_shows_new_runs_without_reload(page, serve_app, sqlite_copy):
    from mlflow import MlflowClient

    uri, ids = sqlite_copy  # its RUNNING run started in 2023: stale, so a fresh one makes the page refresh itself
    client = MlflowClient(tracking_uri=uri)
    client.create_run(ids["main"], run_name="running-now")
    page.goto(f"{serve_app(uri)}/?experiment={ids['main']}")
    settle(page)
    interval = page.get_by_label("Every (seconds)")
    interval.fill("2")
    interval.press("Enter")
    settle(page)
    expect(page.get_by_text("Refreshing every 2 s")).to_be_visible()
    client.create_run(ids["main"], run_name="arrived-while-watching")
    expect(page.get_by_text("Runs · 16")).to_be_visible(timeout=20_000)


def test_select_two_rows_and_compare(page, serve_app, sqlite_store):
    uri, ids = sqlite_store
    page.goto(f"{serve_app(uri)}/?experiment={ids['main']}")
    settle(page)
    grid = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stDataFrame"]')
    box = grid.bounding_box()
    for row in (0, 1):  # the row-marker column on the grid's left edge; 35 px header, 35 px rows
        page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 * row + 17)
        settle(page)
    expect(page.get_by_text("2 selected")).to_be_visible()
    page.get_by_role("link", name="Compare 2 runs").click()
    page.wait_for_url("**/Compare?runs=*")
    settle(page)
    url = page.url
    linked = url.split("runs=", 1)[1].split("&")[0].replace("%2C", ",").split(",")
    from lens_core import open_tracker

    top_two = open_tracker(uri).runs(ids["main"])["run_id"][:2]  # the grid shows runs newest first
    assert sorted(linked) == sorted(top_two)
    screenshot(page, "compare-from-home")


def test_parallel_coordinates_drawn_and_brush_filters_table(page, serve_app, demo_build):
    page.goto(serve_app(demo_build["uri"]))
    settle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"] canvas').first
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 250
    # drag a band across the right half of the plot, top half of the axes
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.12)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.80, box["y"] + box["height"] * 0.55, steps=8)
    page.mouse.up()
    settle(page)
    expect(page.get_by_text("(brushed)")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("of 34", exact=False).first).to_be_visible()
    screenshot(page, "home-brushed")


def test_csv_export_of_the_filtered_view(page, serve_app, sqlite_store):
    uri, ids = sqlite_store
    page.goto(f"{serve_app(uri)}/?experiment={ids['main']}")
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV of this view").click()
    text = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert text[0].startswith("run_name,status,rating") and len(text) == 15  # header + 14 runs


def test_a_brushed_view_is_a_link(page, serve_app, demo_build):
    """Issue 19: the brush travels in the URL (packed) and a teammate opening it sees the same filtered table."""
    page.goto(serve_app(demo_build["uri"]))
    settle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"] canvas').first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.12)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.80, box["y"] + box["height"] * 0.55, steps=8)
    page.mouse.up()
    settle(page)
    caption = page.get_by_text("(brushed)")
    expect(caption).to_be_visible(timeout=20_000)
    shown = caption.inner_text()
    page.wait_for_url("**brush=**", timeout=20_000)
    other = page.context.new_page()
    other.goto(page.url)
    settle(other)
    expect(other.get_by_text("(brushed)")).to_have_text(shown, timeout=20_000)
    screenshot(other, "home-brush-from-link")
