"""Parallel coordinates, the chart: the Altair specification of :class:`~lens_core.runs.parcoords.axes.ParcoordsData`
(lines, axis rules, thinned tick labels, titles, colour legend, the brush). See :mod:`lens_core.runs.parcoords`."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from lens_core.format import format_number
from lens_core.runs.parcoords.axes import MISSING_LABEL, MISSING_Y, Axis, ParcoordsData
from lens_core.runs.parcoords.brush import BRUSH, _pair, brush_of

_Y_DOMAIN = (MISSING_Y - 0.05, 1.0)
_LABEL_GAP = 6  # px between an axis and the right end of its tick labels
_CHAR_WIDTH = 6.4  # px per character of an 11 px label (digits and most letters), for the label backgrounds


def chart(
    data: ParcoordsData,
    *,
    height: int = 360,
    width: int | None = None,
    brush: Mapping[str, Any] | None = None,
) -> alt.LayerChart:
    """The Altair chart: faded lines, highlighted lines on top, axis rules with tick labels, a continuous
    colour legend, the interval selection ``BRUSH`` and Vega's canvas renderer.

    ``width`` None fills the container (Streamlit's default); labels are truncated to the space between axes.
    ``brush``: a selection to draw as the brush's initial rectangle (same formats as
    :func:`filters_from_selection`). Streamlit keeps a keyed chart's selection when the chart is redrawn with
    new data (e.g. other ``highlight_ids``) but the browser forgets the rectangle; :func:`brush_seed` gives
    the value to pass so the rectangle and the filter stay in step.
    """
    n_axes = max(len(data.axes), 1)
    padding = 0.75  # room left of the first axis for its labels, in axis spacings
    step = f"(width / {n_axes - 1 + 2 * padding})"  # pixels between two axes, as a Vega expression
    x = alt.X("x:Q", scale=alt.Scale(domain=[-padding, n_axes - 1 + padding], nice=False, zero=False),
              axis=None, title=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=list(_Y_DOMAIN), nice=False, zero=False), axis=None, title=None)
    lines = data.lines
    n_high = int(lines["highlight"].sum()) // max(len(data.axes), 1)
    base_opacity = _opacity(data.shown)
    if 0 < n_high < data.shown:  # fade the others; the fewer highlighted runs, the bolder they are drawn
        faded, high_opacity = base_opacity * 0.3, min(0.95, max(_opacity(n_high) * 1.35, 0.35))
        high_stroke = 2.0 if n_high <= 100 else 1.5 if n_high <= 400 else 1.0
    else:  # nothing (or everything) highlighted: one look for all
        faded, high_opacity, high_stroke = base_opacity, base_opacity, 1.0
    if data.color is not None:
        # best runs dark (they are drawn last, on top), worst light; the palest yellow is left out
        scale = alt.Scale(scheme=alt.SchemeParams("viridis", extent=[0.0, 0.92]), reverse=data.higher_is_better,
                          type="log" if data.color_log else "linear")
        color: Any = alt.Color("color:Q", scale=scale, title=data.color_label, legend=alt.Legend(
            orient="right", gradientLength=max(80, height - 120), titleLimit=160, gradientOpacity=1.0))
    else:
        color = alt.value("#4c78a8")
    tooltip = [alt.Tooltip("run_name:N", title="run"), alt.Tooltip("axis:N"), alt.Tooltip("value:N")]
    has_color = lines["color"].notna() if data.color is not None else pd.Series(True, index=lines.index)

    init = brush_of(brush)
    bx, by = init.get("x"), init.get("y")
    value = ({"x": sorted(map(float, bx)), "y": sorted(map(float, by))}
             if _pair(bx) and _pair(by) else alt.Undefined)
    selection = alt.selection_interval(
        name=BRUSH, encodings=["x", "y"], value=value,
        mark=alt.BrushConfig(fill="#1f77b4", fillOpacity=0.08, stroke="#1f77b4", strokeOpacity=0.7),
    )
    rules = pd.DataFrame({"x": [float(i) for i in range(len(data.axes))] or [0.0], "y": 0.0, "y2": 1.0})
    layers: list[alt.Chart] = [
        alt.Chart(rules).mark_rule(color="#9a9a9a", strokeWidth=1).encode(x=x, y=y, y2="y2:Q").add_params(selection)
    ]
    for highlighted, opacity, stroke in ((False, faded, 1.0), (True, high_opacity, high_stroke)):
        for colored in (False, True):
            part = lines[(lines["highlight"] == highlighted) & (has_color == colored)]
            if len(part):
                layers.append(alt.Chart(part).mark_line(strokeWidth=stroke, opacity=opacity, strokeJoin="round")
                              .encode(x=x, y=y, detail="run_id:N", tooltip=tooltip,
                                      color=color if colored else alt.value("#b0b0b0")))

    ticks = _tick_frame(data.axes, height)
    if len(ticks):
        layers.append(alt.Chart(ticks[["x", "y"]]).mark_tick(orient="horizontal", size=6, thickness=1,
                                                             color="#9a9a9a").encode(x=x, y=y))
        missing = ticks[ticks["missing"]]
        if len(missing):
            layers.append(alt.Chart(missing[["x", "y"]]).mark_point(shape="circle", size=18, filled=True,
                                                                    color="#9a9a9a").encode(x=x, y=y))
        # tick labels on white boxes drawn over the lines: outlines alone left them unreadable where lines cross
        text = {"align": "right", "baseline": "middle", "dx": -_LABEL_GAP, "fontSize": 11,
                "limit": {"expr": f"max(30, {step} - 10)"}}
        layers += _label_backgrounds(ticks, x, y)
        for part, style in ((ticks[~ticks["missing"]], {"color": "#333333"}),
                            (missing, {"color": "#8a8a8a", "fontStyle": "italic"})):
            if len(part):
                layers.append(alt.Chart(part[["x", "y", "text"]]).mark_text(**(text | style))
                              .encode(x=x, y=y, text="text:N"))

    # axis titles on top, alternating between two rows when axes are less than 110 px apart
    crowded = f"({step} < 110)"
    for row in (0, 1):
        part = pd.DataFrame({"x": [float(i) for i in range(row, len(data.axes), 2)],
                             "title": [a.label for a in data.axes[row::2]], "y": 1.0})
        if len(part):
            layers.append(alt.Chart(part).mark_text(
                align="center", baseline="bottom", fontSize=12, fontWeight="bold", color="#262730",
                dy={"expr": f"{crowded} ? {-23 if row == 0 else -8} : -8"},
                limit={"expr": f"max(40, {step} * ({crowded} ? 1.9 : 0.95))"},
            ).encode(x=x, y=y, text="title:N"))

    props: dict[str, Any] = {"height": height, "usermeta": {"embedOptions": {"renderer": "canvas"}}}
    if width is not None:
        props["width"] = width
    # data.note (sampling, non-finite values) is the page's caption under the chart, not a title: said once
    return alt.layer(*layers).properties(**props).configure_view(stroke=None)


def _label_backgrounds(ticks: pd.DataFrame, x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """White boxes behind the tick labels, one layer per label length (a rect's pixel width is per mark)."""
    lengths = ticks["text"].str.len()
    layers = []
    for length in sorted(lengths.unique()):
        box = _CHAR_WIDTH * int(length) + 4
        layers.append(alt.Chart(ticks.loc[lengths == length, ["x", "y"]]).mark_rect(
            width=box, height=14, xOffset=-(_LABEL_GAP + box / 2 - 2), color="white", opacity=0.88, cornerRadius=2,
        ).encode(x=x, y=y))
    return layers


def chart_spec(data: ParcoordsData, *, height: int = 360, brush: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`chart` as the Vega-Lite dict ``st.vega_lite_chart`` draws, without Altair's schema validation (the
    spec is built here, always valid; validating it cost ~0.3 CPU-s per page view). Pages cache it by
    ``data.fingerprint`` and the brush, so a rerun that changes neither builds nothing."""
    with alt.data_transformers.disable_max_rows():  # Altair's 5,000-row guard: prepare() samples already
        return chart(data, height=height, brush=brush).to_dict(validate=False)


def _opacity(lines: int) -> float:
    """Line opacity for that many lines: 0.7 up to ~200, falling to 0.12 from ~7,000 (crossings stay visible)."""
    return float(np.clip(0.85 * math.sqrt(150 / max(lines, 1)), 0.12, 0.7))


def _tick_frame(axes: Sequence[Axis], height: int) -> pd.DataFrame:
    """Label positions per axis: categories, the few distinct values, or round numbers; thinned to ~14 px."""
    plot = max(height - 60, 60)
    gap = 14 / (plot / (_Y_DOMAIN[1] - _Y_DOMAIN[0]))
    rows: list[tuple[float, float, str, bool]] = []
    for i, axis in enumerate(axes):
        if axis.kind == "categorical":
            k = len(axis.categories)
            marks = [(i / (k - 1) if k > 1 else 0.5, _shorten(c) or '""') for i, c in enumerate(axis.categories)]
        elif not axis.high >= axis.low:
            marks = []
        elif axis.levels:
            pos = axis._scale(np.array(axis.levels))
            marks = [(float(p), format_number(v)) for p, v in zip(pos, axis.levels, strict=True)]
        else:
            values = _round_ticks(axis.low, axis.high, axis.log)
            marks = [(float(p), format_number(v))
                     for p, v in zip(axis._scale(np.array(values)), values, strict=True)]
        for y, text in _thin(marks, gap):
            rows.append((float(i), y, text, False))
        if axis.has_missing:
            rows.append((float(i), MISSING_Y, MISSING_LABEL, True))
    return pd.DataFrame(rows, columns=["x", "y", "text", "missing"])


def _thin(marks: list[tuple[float, str]], gap: float) -> list[tuple[float, str]]:
    """Drop labels closer than ``gap`` to the previous kept one, keeping both ends."""
    if len(marks) <= 2:
        return marks if len(marks) < 2 or marks[1][0] - marks[0][0] >= gap else marks[-1:]
    kept = [marks[0]]
    for y, text in marks[1:-1]:
        if y - kept[-1][0] >= gap and marks[-1][0] - y >= gap:
            kept.append((y, text))
    if marks[-1][0] - kept[-1][0] >= gap:
        kept.append(marks[-1])
    return kept


def _round_ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        lo, hi = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
        every = max(1, math.ceil((hi - lo + 1) / 7))
        return [10.0 ** e for e in range(lo, hi + 1, every)]
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]
    return ticks if len(ticks) >= 2 else [low, high]


def _shorten(text: str, limit: int = 13) -> str:
    """Middle ellipsis, so ``resnet50_pretrained_v1`` and ``…_v2`` stay apart (tooltips show the full value)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[-(limit - 1 - head):]
