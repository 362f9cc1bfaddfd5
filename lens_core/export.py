"""Charts as files: Altair / Vega-Lite specs rendered to SVG or PNG on the server (vl-convert, no browser)."""
from __future__ import annotations

from typing import Any


def chart_svg(chart: Any) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json()).encode("utf-8")


def chart_png(chart: Any, *, scale: float = 2.0) -> bytes:
    import vl_convert

    return bytes(vl_convert.vegalite_to_png(chart.to_json(), scale=scale))
