"""The comparison page in a real browser: clicking a run in a chart or ticking it in the runs table opens its
workflow page; grouping paints bars with N and bands."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lens_core import open_tracker
from tests.browser.conftest import screenshot, settle


@pytest.fixture(scope="module")
def churn_ids(demo_build) -> list[tuple[str, str]]:
    tracker = open_tracker(demo_build["uri"])
    experiment = next(e for e in tracker.experiments() if e.name == "churn-classification")
    table = tracker.runs(experiment.experiment_id)
    return list(zip(table["run_id"], table["run_name"]))


def open_compare(page, serve_app, demo_build, ids: list[str]) -> None:
    page.goto(f"{serve_app(demo_build['uri'])}/Compare?runs=" + ",".join(ids))
    settle(page)
    page.wait_for_timeout(1000)  # Vega paints after the script settles


def bar_chart(page):
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    for i in range(charts.count()):
        if "rect mark" in charts.nth(i).inner_html():
            return charts.nth(i)
    raise AssertionError("no bar chart on the page")


def test_clicking_a_bar_opens_the_run(page, serve_app, demo_build, churn_ids):
    runs = [r for r in churn_ids if r[1].startswith("logreg")][:4]
    open_compare(page, serve_app, demo_build, [r for r, _ in runs])
    chart = bar_chart(page)
    bar = chart.locator('path[aria-roledescription="bar"]').first
    name = bar.get_attribute("aria-label")
    bar.click()
    page.wait_for_url("**/Run?run=*", timeout=30_000)
    settle(page)
    run_id = page.url.split("run=")[1]
    clicked = dict(runs)[run_id]
    assert clicked in (name or "")  # the bar's own run, by its aria label
    expect(page.locator("h1").first).to_contain_text(clicked)


def test_clicking_a_line_opens_the_run(page, serve_app, demo_build, churn_ids):
    runs = [r for r in churn_ids if r[1].startswith("mlp-64x32")][:3]
    open_compare(page, serve_app, demo_build, [r for r, _ in runs])
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    assert "line mark" in chart.inner_html()
    box = chart.bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.35
    page.mouse.move(x, y)
    page.mouse.click(x, y)  # the nearest point of any line is picked
    page.wait_for_url("**/Run?run=*", timeout=30_000)
    assert page.url.split("run=")[1] in dict(runs)


def test_ticking_a_row_opens_the_run(page, serve_app, demo_build, churn_ids):
    runs = churn_ids[26:30]
    open_compare(page, serve_app, demo_build, [r for r, _ in runs])
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.move(box["x"] + 14, box["y"] + 35 + 35 + 17)
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 35 + 17)  # the second row's selection box
    page.wait_for_url("**/Run?run=*", timeout=30_000)
    assert page.url.split("run=")[1] == runs[1][0]


def test_grouped_page_paints_bars_with_n(page, serve_app, demo_build, churn_ids):
    open_compare(page, serve_app, demo_build, [r for r, _ in churn_ids])
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Group by").first.click()
    page.keyboard.type("model")
    page.get_by_role("option", name="model", exact=True).click()
    page.keyboard.press("Escape")
    settle(page)
    page.wait_for_timeout(1000)
    chart = bar_chart(page)
    assert "N=12" in chart.inner_html()  # GradientBoostingClassifier · N=12, an axis label
    assert "area mark" in page.locator('[data-testid="stVegaLiteChart"]').first.inner_html()
    expect(page.get_by_text("Two groups: difference of means")).to_be_visible()
    screenshot(page, "compare-grouped")


def test_chart_downloads_as_svg_and_png(page, serve_app, demo_build, churn_ids):
    open_compare(page, serve_app, demo_build, [r for r, _ in churn_ids[:3]])
    with page.expect_download() as svg:
        page.get_by_role("button", name="SVG").first.click()
    assert open(svg.value.path(), encoding="utf-8").read().lstrip().startswith("<svg")
    with page.expect_download() as png:
        page.get_by_role("button", name="PNG").first.click()
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
