"""Model insights in a real browser: the charts paint, and a row picked in the Instances grid becomes the row the
local explanation explains (a grid selection cannot be simulated in AppTest)."""
from __future__ import annotations

from playwright.sync_api import expect

from lens_core import open_tracker
from tests.browser.conftest import screenshot, settle


def churn_run(uri: str) -> str:
    tracker = open_tracker(uri)
    exp = next(e for e in tracker.experiments() if e.name == "churn-classification")
    runs = tracker.runs(exp.experiment_id)
    return runs[(runs.status == "FINISHED") & runs.run_name.str.startswith("gbm-lr0.1-depth3")].run_id.iloc[0]


def test_insights_paint_and_a_picked_row_is_explained(page, serve_app, demo_build):
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.goto(f"{serve_app(demo_build['uri'])}/Model_insights?run={churn_run(demo_build['uri'])}")
    settle(page, 120_000)
    expect(page.get_by_text("Confusion matrix")).to_be_visible()
    charts = page.locator('[data-testid="stVegaLiteChart"]:visible')
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    screenshot(page, "insights-evaluation")

    page.get_by_role("tab", name="Instances").click()
    grid = page.locator('[data-testid="stDataFrame"]:visible').first
    grid.wait_for(state="visible")
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * 2 + 17)  # the selection box of the third row
    settle(page)
    expect(page.get_by_text("Row 2 selected")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Local explanation").click()
    expect(page.get_by_role("spinbutton", name="Test row")).to_have_value("2")
    expect(page.get_by_text("SHAP waterfall")).to_be_visible()
    screenshot(page, "insights-local")
