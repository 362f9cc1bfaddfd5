"""The comparison page in a real browser: clicking a run in a chart or ticking it in the runs table opens its
workflow page; hovering a run in one chart highlights it in the others; grouping paints bars with N and bands."""
from __future__ import annotations

import time

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Error as PlaywrightError
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
    page.wait_for_timeout(1000)  # the panel's width is measured (a rerun if it differs), then Vega paints
    settle(page)
    page.wait_for_timeout(500)


def bar_chart(page, containing: str = "rect mark", timeout: float = 30.0):
    """The first Vega chart whose markup holds ``containing``, waited for: on a loaded machine a rerun (grouping,
    the width measurement) can repaint the charts seconds after the page first looks settled."""
    deadline = time.monotonic() + timeout
    while True:
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        for i in range(charts.count()):
            try:
                if containing in charts.nth(i).inner_html(timeout=2_000):
                    return charts.nth(i)
            except PlaywrightError:  # the chart was replaced while we read it
                continue
        if time.monotonic() > deadline:
            raise AssertionError(f"no chart with {containing!r} on the page")
        page.wait_for_timeout(500)


def test_clicking_a_bar_opens_the_run(page, serve_app, demo_build, churn_ids):
    runs = [r for r in churn_ids if r[1].startswith("logreg")][:4]
    open_compare(page, serve_app, demo_build, [r for r, _ in runs])
    chart = bar_chart(page)
    bar = chart.locator('path[aria-roledescription="bar"]').first
    name = bar.get_attribute("aria-label")
    page.mouse.wheel(0, bar.bounding_box()["y"] - 300)  # the bar rows sit below the line charts
    page.wait_for_timeout(300)
    box = bar.bounding_box()  # the pointer layer over the bars picks the run of the row pointed at
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
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
    box = chart.bounding_box()  # the first line chart: the top left of the linked chart
    x, y = box["x"] + box["width"] * 0.25, box["y"] + 150
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
    bar_chart(page, "N=12")  # GradientBoostingClassifier · N=12, an axis label of the grouped bars
    assert "area mark" in page.locator('[data-testid="stVegaLiteChart"]').first.inner_html()
    expect(page.get_by_text("Two groups: difference of means")).to_be_visible()
    screenshot(page, "compare-grouped")


def test_hovering_a_run_in_one_chart_highlights_it_in_the_others(page, serve_app, demo_build, churn_ids, tmp_path):
    runs = [r for r in churn_ids if r[1].startswith("mlp-64x32")][:3]
    open_compare(page, serve_app, demo_build, [r for r, _ in runs])
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    box = chart.bounding_box()
    # the linked chart holds the metric charts two to a row: the second chart is the top right quarter
    second = {"x": box["x"] + box["width"] * 0.55, "y": box["y"] + 40, "width": box["width"] * 0.43,
              "height": 240}

    def shot(name: str) -> Image.Image:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), clip=second)
        return Image.open(path).convert("L")

    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)  # off the lines
    page.wait_for_timeout(300)
    before = shot("before")
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + 150)  # a line of the first chart
    page.wait_for_timeout(500)
    after = shot("after")
    changed = sum(1 for value in ImageChops.difference(before, after).getdata() if value > 40)
    assert changed > 200, f"the second chart did not change on hover ({changed} pixels)"
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)  # leaving clears the hover
    page.wait_for_timeout(500)
    cleared = sum(1 for value in ImageChops.difference(before, shot("cleared")).getdata() if value > 40)
    assert cleared < changed / 4


def test_chart_downloads_as_svg_and_png(page, serve_app, demo_build, churn_ids):
    open_compare(page, serve_app, demo_build, [r for r, _ in churn_ids[:3]])
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as svg:
        page.get_by_role("button", name="SVG", exact=True).first.click()
    assert open(svg.value.path(), encoding="utf-8").read().lstrip().startswith("<svg")
    with page.expect_download() as png:
        page.get_by_role("button", name="PNG", exact=True).first.click()
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_report_downloaded_from_the_page_opens_offline_with_every_chart(page, serve_app, demo_build, churn_ids,
                                                                       tmp_path, browser):
    ids = [r for r, name in churn_ids][:6]
    open_compare(page, serve_app, demo_build, [*ids[:-1], f"{ids[-1]}&tradeoffs=1"])
    page.get_by_role("button", name="Report", exact=True).click()
    download_button = page.get_by_role("button", name="Download report")
    download_button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        download_button.click()
    path = tmp_path / "report.html"
    download.value.save_as(path)
    offline = browser.new_context(offline=True, viewport={"width": 1400, "height": 1600})
    report = offline.new_page()
    fetched: list[str] = []
    report.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                 else (fetched.append(route.request.url), route.abort()))
    report.goto(path.as_uri())
    charts = report.locator(".chart")
    assert charts.count() == 2  # the metric charts and the trade-offs
    for i in range(charts.count()):
        charts.nth(i).locator("svg.marks").wait_for(timeout=30_000)
    assert "could not be drawn" not in report.inner_text("body") and not fetched
    assert "open the live view" in report.inner_text("body")
    report.screenshot(path=str(screenshot(page, "compare-report-page").with_name("compare-report-offline.png")),
                      full_page=True)
    offline.close()
