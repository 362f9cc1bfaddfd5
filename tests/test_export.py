"""Charts export to real SVG and PNG files on the server."""
from __future__ import annotations

import altair as alt
import pandas as pd

from lens_core.export import chart_png, chart_svg


def chart() -> alt.Chart:
    data = pd.DataFrame({"step": [0, 1, 2], "value": [1.0, 0.5, 0.25], "run": ["a", "a", "a"]})
    return alt.Chart(data).mark_line().encode(x="step:Q", y="value:Q", color="run:N").properties(title="loss")


def test_svg():
    svg = chart_svg(chart()).decode()
    assert svg.lstrip().startswith("<svg") and "loss" in svg


def test_png():
    png = chart_png(chart())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
