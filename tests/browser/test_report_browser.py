"""The comparison report opened from disk in Chromium, offline: every chart is drawn."""
from __future__ import annotations

from lens_core.runs.report import render
from tests.browser.conftest import screenshot
from tests.test_report import sample_report


def test_report_opens_from_disk_with_every_chart_drawn(page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render(sample_report()), encoding="utf-8")
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_())
    page.goto(path.as_uri())
    for chart in ("#chart-0", "#chart-2"):
        page.wait_for_selector(f"{chart} svg .mark-line, {chart} svg .mark-rect", timeout=30_000)
    assert page.locator(".chart svg.marks").count() == 2  # Vega's drawing, not the menu's icon
    assert "could not be drawn" not in page.inner_text("body")
    screenshot(page, "report-offline")
