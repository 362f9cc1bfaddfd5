"""The comparison page's charts as Altair specifications, free of Streamlit: a bar per run or group
(:func:`bar_chart`, :func:`group_bar_chart`), a line per run or a band per group (:func:`line_chart`,
:func:`group_line_chart`), every metric chart in one linked Vega-Lite view (:func:`linked_grid`), a dataset
column's distribution per run (:func:`distribution_chart`) and the look they share (:func:`chart_config`).

The charts take the frames of :mod:`lens_core.runs.compare_metrics` (``run, value``; the history's ``x, value,
smoothed``; a group's ``center, low, high``). Altair is imported inside the functions that draw.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from lens_core.format import axis_format, distinct_labels, format_number, tooltip_format

if TYPE_CHECKING:
    import altair as alt

XAxis = Literal["step", "relative", "wall"]
X_TITLES: dict[str, str] = {"step": "step", "relative": "minutes since run start", "wall": "time (UTC)"}
AGG_TITLES: dict[str, str] = {"mean": "mean", "median": "median", "min": "min", "max": "max"}
SPREAD_TITLES: dict[str, str] = {"std": "± 1 std", "minmax": "min–max", "ci": "95 % CI of the mean", "none": "none"}


# ---- charts ------------------------------------------------------------------------------------------------------
#: Name of the hover selection the metric charts share: in the page's one compound chart, hovering a run (or a
#: group) in any view highlights it in every view.
HOVER = "hover"
#: Name of the click selection every run-level chart carries (``on_select`` reads it to open the run's page).
PICK = "pick"
#: Above this many points a line chart drops its pointer layer (Vega's nearest-point search grows with it); its
#: lines still follow a run hovered in another chart.
HOVER_POINT_LIMIT = 20_000
#: Points, over all the linked charts, whose marks follow the hover: each hover repaints all of them, so charts
#: past this budget are drawn without the highlight.
LINKED_POINT_LIMIT = 60_000
#: Pixels between the two charts of a row and between rows of the linked chart.
COLUMN_GAP, ROW_GAP = 36, 28
#: Narrowest chart (y axis included) worth drawing two to a row; a narrower panel gets one chart per row.
MIN_CELL_WIDTH = 300
#: The chart's own padding; ``right`` leaves room for the last x label, which overhangs the plot.
PADDING = {"left": 2, "top": 4, "right": 14, "bottom": 6}
#: The width the charts take when the page has not measured its panel yet (a 1400 px window).
DEFAULT_PANEL_WIDTH = 795


def _color(labels: Sequence[str], colors: Sequence[str]) -> alt.Color:
    import altair as alt

    return alt.Color("run:N", scale=alt.Scale(domain=list(labels), range=list(colors)), legend=None)


def _hover(field: str = "run_id"):
    """The pointer over a run (or group): the nearest point of the view. One definition for every view, so the
    views of a compound chart share one selection."""
    import altair as alt

    return alt.selection_point(name=HOVER, fields=[field], on="pointerover", nearest=True, clear="pointerout",
                               empty=True)


def _pick():
    """A click on a run (the nearest point of a line, anywhere on a bar's row) selects its ``run_id``."""
    import altair as alt

    return alt.selection_point(name=PICK, fields=["run_id"], on="click", nearest=True, clear=False, empty=False)


#: The name marking a chart's pointer layer for :func:`linked_grid` (Altair renames it uniquely in a row).
POINTER = "pointer"


def _pointer(layer, linked: bool, *params):
    """The layer that captures the pointer (invisible points: Vega finds the nearest): on its own it carries the
    selections; in a linked grid it is only named, and the grid defines the selections once for all of them."""
    return layer.properties(name=POINTER) if linked else layer.add_params(*params)


def _interaction(points: int, hover: bool | None, listen: bool | None) -> tuple[bool, bool]:
    """Whether a chart's marks follow the hover and whether it carries the pointer layer. By default (a chart
    on its own) both, up to :data:`HOVER_POINT_LIMIT` points; a linked chart may follow a hover it does not
    capture itself."""
    small = points <= HOVER_POINT_LIMIT
    listen = small if listen is None else (listen and small)
    return (listen if hover is None else hover), listen


def _text_width(text: str, size: float = 12) -> float:
    """Rough width in pixels of a label in the app's font (Source Sans averages ~0.55 em per character)."""
    return 0.56 * size * len(text)


def _number_label(value: float) -> str:
    """About how an axis writes a tick near ``value`` (:func:`lens_core.format.axis_format` leaves the precision
    to the tick step: three significant digits is a fair guess for the widest label)."""
    return format_number(float(f"{value:.3g}"), digits=3) if np.isfinite(value) else ""


def _value_axis_width(values: np.ndarray, log: bool = False) -> int:
    """Pixels for a numeric y axis (labels, ticks and padding), from the extremes of the values."""
    values = values[np.isfinite(values)]
    if not len(values):
        return 40
    low, high = float(values.min()), float(values.max())
    samples = [low, high, (low + high) / 2, high - (high - low) / 10]
    if log and low > 0:
        samples += [10.0 ** np.floor(np.log10(low))]
    return int(min(84, max(30, max(_text_width(_number_label(v)) for v in samples) + 12)))


def _band_axis_width(labels: Iterable[str], limit: int) -> int:
    """Pixels for a y axis of names (bars): the longest name, at most ``limit``."""
    longest = max((_text_width(str(label)) for label in labels), default=0.0)
    return int(min(limit, longest) + 10)


def _title(key: str, subtitle: str | None, width: int | None) -> alt.Title:
    import altair as alt

    extra = {"limit": width} if width else {}
    return alt.Title(key, subtitle=subtitle or "", anchor="start", frame="bounds", **extra)


def _frame(chart, key: str, subtitle: str | None, width: int | None, axis: int):
    """A chart's title, and its plot width: ``width`` is the whole chart's, y axis (``axis`` px) included."""
    props = {"title": _title(key, subtitle, width)} if subtitle is not None or width else {}
    if width:
        props["width"] = max(width - axis, 60)
    return chart.properties(**props)


#: Widest run or group name beside a bar (longer ones end in "…", whole in the tooltip): every row of the
#: linked grid lines its plots up with the widest such axis, so it also bounds the indent of the line charts.
BAND_LABEL_PX = 150


def bar_step(n_runs: int) -> int:
    """Pixels per bar: 24 up to 30 runs, then thinner so a chart stays under ~750 px (6 px at least; below
    12 px names and values are left to the tooltip)."""
    return int(min(24, max(6, 720 // max(n_runs, 1))))


def bar_chart(
    data: pd.DataFrame, key: str, labels: Sequence[str], colors: Sequence[str], *,
    width: int | None = None, subtitle: str | None = None, hover: bool | None = None, listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """A horizontal bar per run, largest value first, the value written at the end of each bar (the axis leaves
    room for it; negative bars grow to the left with their value on the left). Pointing anywhere on a bar's row
    hovers (and a click picks) its run; when the hover is on, the other runs' bars fade.

    ``width`` (pixels, the names included) and ``subtitle`` place the chart in the page's grid (see
    :func:`linked_grid`); ``hover``, ``listen`` and ``linked`` as for :func:`line_chart`."""
    import altair as alt

    order = data.sort_values("value", ascending=False, kind="stable")["run"].tolist()
    values = data["value"].to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    low, high = (min(0.0, values.min()), max(0.0, values.max())) if len(values) else (0.0, 1.0)
    with np.errstate(over="ignore"):
        room = (high - low or 1.0) * 0.2  # space for the value labels
        domain = [low - room if low < 0 else 0.0, high + room if high > 0 or low == 0 else 0.0]
    scale = alt.Scale(domain=domain, nice=False) if np.isfinite(domain).all() else alt.Scale()
    n = max(data["run"].nunique(), 1)
    step = bar_step(n)
    readable = step >= 12  # room for a run name and a value beside each bar
    hover, listen = _interaction(len(data), hover, listen)
    axis = _band_axis_width(order, BAND_LABEL_PX) if readable else 8
    tooltip = [alt.Tooltip("run:N", title="run"), alt.Tooltip("value:Q", title=key, format=tooltip_format(values))]
    data = data.assign(value_text=distinct_labels(data["value"]))  # five bars never all read "0.9961"
    base = alt.Chart(data).encode(
        y=alt.Y("run:N", sort=order, title=None,
                axis=alt.Axis(labelLimit=BAND_LABEL_PX, ticks=False, domain=False, labels=readable,
                              **({"minExtent": axis - 4, "maxExtent": axis - 4} if width else {}))),
        x=alt.X("value:Q", title=None, scale=scale,
                axis=alt.Axis(format=axis_format(values), tickCount=5, labelFlush=True)),
        tooltip=tooltip,
    )
    faded = {"opacity": alt.condition(_hover(), alt.value(1.0), alt.value(0.25))} if hover else {}
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.72}, cursor="pointer").encode(
        color=_color(labels, colors), **faded)
    layers = [bars]
    if readable:
        layers.append(base.mark_text(
            baseline="middle", fontSize=11, color="#4a5261",
            align=alt.expr("datum.value < 0 ? 'right' : 'left'"), dx=alt.expr("datum.value < 0 ? -4 : 4"),
        ).encode(text=alt.Text("value_text:N"), **faded))
    if listen:  # last, so its nearest-point cells lie over the bars: one horizontal strip per row
        layers.append(_pointer(base.mark_point(opacity=0, cursor="pointer").encode(x=alt.value(0)), linked,
                               _hover(), _pick()))
    chart = alt.layer(*layers) if len(layers) > 1 else layers[0]
    return _frame(chart, key, subtitle, width, axis).properties(height=step * n + 30)


def line_chart(
    data: pd.DataFrame,
    key: str,
    labels: Sequence[str],
    colors: Sequence[str],
    x: XAxis = "step",
    log: bool = False,
    smoothed: bool = False,
    *,
    width: int | None = None,
    subtitle: str | None = None,
    hover: bool | None = None,
    listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """Metric against step or time, one line per run in logging order (restarted steps are drawn as logged).
    With smoothing, the raw curve stays as a faint trace under the smoothed one. Hovering a line brings it
    forward (and fades the others); a click picks its run; runs with a single point show as dots.

    ``listen``: the chart carries the pointer layer (the :data:`HOVER` and :data:`PICK` selections on the
    nearest point), never above :data:`HOVER_POINT_LIMIT` points. ``hover``: its lines follow the
    :data:`HOVER` selection, which must then be defined here or in a chart it is concatenated with. Both
    default to the chart on its own: interactive while small enough. ``linked``: the chart goes into
    :func:`linked_grid`, whose shared selections listen in its pointer layer (it defines none itself).
    ``width`` (pixels, y axis included) and ``subtitle`` place it in the page's grid (see
    :func:`linked_grid`)."""
    import altair as alt

    x_type = "T" if x == "wall" else "Q"
    x_scale = alt.Scale(zero=True) if x == "relative" else alt.Scale()
    steps = {"tickMinStep": 1} if x == "step" else {}  # no tick between two steps
    x_enc = alt.X(f"x:{x_type}", title=X_TITLES[x], scale=x_scale, axis=alt.Axis(tickCount=6, grid=False, **steps))
    y_scale = alt.Scale(type="log" if log else "linear", zero=False, nice=True)
    y_field = "smoothed" if smoothed else "value"
    hover, listen = _interaction(len(data), hover, listen)
    axis = _value_axis_width(data[y_field].to_numpy(dtype="float64"), log)
    extent = {"minExtent": axis - 4, "maxExtent": axis - 4} if width else {}
    tooltip = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip("step:Q", title="step", format=","),
        alt.Tooltip("minutes:Q", title="minutes", format=",.2~f"),  # derived here, not a logged number
        alt.Tooltip("value:Q", title=key, format=tooltip_format(data["value"])),
    ]
    if smoothed:
        tooltip.append(alt.Tooltip("smoothed:Q", title="smoothed", format=tooltip_format(data["smoothed"])))
    color = _color(labels, colors)
    base = alt.Chart(data).encode(x=x_enc, color=color, detail="run_id:N", order=alt.Order("order:Q"))
    y_format = axis_format(data[y_field].to_numpy(dtype="float64"))
    y_enc = alt.Y(f"{y_field}:Q", title=None, scale=y_scale, axis=alt.Axis(format=y_format, tickCount=5, **extent))
    hovered = _hover()
    layers: list[alt.Chart] = []
    if smoothed:
        raw = base.mark_line(strokeWidth=1, opacity=0.22).encode(y=alt.Y("value:Q", scale=y_scale))
        if hover:
            raw = raw.encode(opacity=alt.condition(hovered, alt.value(0.22), alt.value(0.06)))
        layers.append(raw)
    line = base.mark_line(strokeWidth=1.8).encode(y=y_enc)
    if hover:
        line = line.encode(
            opacity=alt.condition(hovered, alt.value(1.0), alt.value(0.18)),
            strokeWidth=alt.condition(hovered, alt.value(2.2), alt.value(1.4)),
        )
    if not listen:
        line = line.encode(tooltip=tooltip[:1])
    layers.append(line)
    lone = base.transform_filter("datum.points == 1").mark_point(filled=True, size=46, opacity=1).encode(y=y_enc)
    if hover:
        lone = lone.encode(opacity=alt.condition(hovered, alt.value(1.0), alt.value(0.25)))
    layers.append(lone)
    if listen:
        layers.append(_pointer(base.mark_point(size=60, opacity=0, cursor="pointer").encode(y=y_enc, tooltip=tooltip),
                               linked, hovered, _pick()))
    return _frame(alt.layer(*layers), key, subtitle, width, axis).properties(height=250)


def picked_run(event: object) -> str | None:
    """The run id a click selected, from ``st.altair_chart(..., on_select=...)``'s state (or None)."""
    try:
        points = event["selection"][PICK]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for point in points or ():
        if isinstance(point, Mapping) and point.get("run_id"):
            return str(point["run_id"])
    return None


# ---- one linked chart --------------------------------------------------------------------------------------------
def grid_columns(panel_width: int) -> int:
    """Charts per row for a panel this wide (pixels): two while each keeps :data:`MIN_CELL_WIDTH`."""
    return 2 if cell_widths(panel_width)[0] >= MIN_CELL_WIDTH else 1


def cell_widths(panel_width: int) -> tuple[int, int]:
    """The width (pixels, y axis included) of a chart sharing a row, and of a chart alone on its row, so that
    the rows of :func:`linked_grid` fill a panel this wide without overflowing it."""
    full = int(panel_width) - PADDING["left"] - PADDING["right"] - 6  # 6: rounding and the panel's own borders
    return (full - COLUMN_GAP) // 2, full


def link_plan(points: Sequence[int]) -> list[tuple[bool, bool]]:
    """For charts of these many points each, in page order: ``(hover, listen)`` as :func:`line_chart` takes
    them. Charts follow the shared hover while the points following it stay within
    :data:`LINKED_POINT_LIMIT` (a chart past the budget is skipped, the next ones may still fit) and listen
    while also under :data:`HOVER_POINT_LIMIT`. When no chart would listen, none follows the hover: the
    selection would be defined nowhere."""
    total, plan = 0, []
    for n in points:
        linked = total + n <= LINKED_POINT_LIMIT
        total += n if linked else 0
        plan.append((linked, linked and n <= HOVER_POINT_LIMIT))
    if not any(listen for _, listen in plan):
        return [(False, False)] * len(plan)
    return plan


def linked_grid(
    rows: Sequence[Sequence[alt.TopLevelMixin]], field: str = "run_id", pick: bool = True,
) -> alt.VConcatChart:
    """The metric charts as one Vega-Lite view: rows (``hconcat``, one or two charts each) stacked
    (``vconcat``), with one :data:`HOVER` selection on ``field`` (and one :data:`PICK` click selection when
    ``pick``) listening in the pointer layers of the charts built with ``linked=True``: a run hovered in any
    chart is highlighted in all of them, whose marks test that one selection. Every row is an ``hconcat``,
    even of one chart, so Streamlit leaves the widths set by :func:`cell_widths` alone (it stretches only the
    plain children of a ``vconcat``)."""
    import altair as alt

    count = iter(range(10**6))
    stacked = [alt.hconcat(*(_pointer_named(chart, next(count)) for chart in row), spacing=COLUMN_GAP)
               for row in _left_aligned(rows)]
    # Altair renames the named layers of a row by position when it builds it: read the names back
    pointers = [layer.name for row in stacked for chart in row.hconcat for layer in getattr(chart, "layer", [])
                if isinstance(layer.name, str)]
    grid = alt.vconcat(*stacked, spacing=ROW_GAP).properties(
        padding=PADDING, autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    if pointers:
        params = [_hover(field)] + ([_pick()] if pick else [])
        grid.params = [alt.TopLevelSelectionParameter(name=p.name, select=p.param.select, views=pointers)
                       for p in params]
    return grid


def _reserved_axis(chart) -> int:
    """The pixels a chart placed by :func:`_frame` keeps for its y axis: its whole width (the title's limit)
    less its plot width."""
    limit = getattr(getattr(chart, "title", None), "limit", None)
    width = getattr(chart, "width", None)
    return int(limit - width) if isinstance(limit, (int, float)) and isinstance(width, (int, float)) else 0


def _left_aligned(rows: Sequence[Sequence[alt.TopLevelMixin]]) -> list[list[alt.TopLevelMixin]]:
    """Vega lines up the plots of stacked rows on the widest y axis of their first charts (bar charts' run
    names, mostly): a row whose first chart has a narrower axis is pushed right by the difference, so its
    plots give up as much width, shared between them (every row then spans the same width), and its first
    title moves back to the left edge."""
    widest = max((_reserved_axis(row[0]) for row in rows if row), default=0)
    aligned = []
    for row in rows:
        row = list(row)
        shift = widest - _reserved_axis(row[0])
        if shift > 0 and all(isinstance(getattr(c, "width", None), (int, float)) for c in row):
            cuts = [shift // len(row) + (1 if i < shift % len(row) else 0) for i in range(len(row))]
            row = [c.properties(width=max(int(c.width) - cut, 60)) for c, cut in zip(row, cuts)]
            title = getattr(row[0], "title", None)
            if title is not None and hasattr(title, "copy"):
                title = title.copy()
                title.dx = -shift
                row[0] = row[0].properties(title=title)
        aligned.append(row)
    return aligned


def _pointer_named(chart, index: int):
    """The chart with its pointer layer named uniquely in the grid (no ``_<digits>`` ending: Altair would
    strip it)."""
    layers = getattr(chart, "layer", None)
    if not layers:
        return chart
    chart = chart.copy(deep=False)
    chart.layer = [layer.properties(name=f"{POINTER}{index}x") if getattr(layer, "name", None) == POINTER else layer
                   for layer in layers]
    return chart


# ---- grouped charts ----------------------------------------------------------------------------------------------
def group_bar_chart(
    data: pd.DataFrame, key: str, groups: Sequence[str], colors: Sequence[str], aggregation: str, spread: str, *,
    width: int | None = None, subtitle: str | None = None, hover: bool | None = None, listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """A horizontal bar per group (in group order) with the aggregate, an error bar for the spread, and the
    value and N written beside it. Pointing anywhere on a group's row hovers the group (the :data:`HOVER`
    selection on ``group``); ``width``, ``subtitle``, ``hover``, ``listen``, ``linked`` as for
    :func:`line_chart`."""
    import altair as alt

    finite = data[["center", "low", "high"]].to_numpy(dtype="float64")
    finite = finite[np.isfinite(finite)]
    low, high = (min(0.0, finite.min()), max(0.0, finite.max())) if len(finite) else (0.0, 1.0)
    room = (high - low or 1.0) * 0.28
    domain = [low - room if low < 0 else 0.0, high + room if high > 0 or low == 0 else 0.0]
    scale = alt.Scale(domain=domain, nice=False) if np.isfinite(domain).all() else alt.Scale()
    labels = data["label"].tolist()
    step = 30
    hover, listen = _interaction(len(data), hover, listen)
    axis = _band_axis_width(labels, BAND_LABEL_PX)
    y = alt.Y("label:N", sort=labels, title=None,
              axis=alt.Axis(labelLimit=BAND_LABEL_PX, ticks=False, domain=False,
                            **({"minExtent": axis - 4, "maxExtent": axis - 4} if width else {})))
    agg = AGG_TITLES[aggregation]
    tooltip = [
        alt.Tooltip("group:N", title="group"), alt.Tooltip("count:Q", title="N (runs)"),
        alt.Tooltip("center:Q", title=f"{agg} of {key}", format=tooltip_format(data["center"])),
        alt.Tooltip("std:Q", title="std", format=tooltip_format(data["std"])),
        alt.Tooltip("min:Q", title="min", format=tooltip_format(data["min"])),
        alt.Tooltip("max:Q", title="max", format=tooltip_format(data["max"])),
        alt.Tooltip("ci_low:Q", title="95 % CI low", format=tooltip_format(data["ci_low"])),
        alt.Tooltip("ci_high:Q", title="95 % CI high", format=tooltip_format(data["ci_high"])),
    ]
    base = alt.Chart(data).encode(y=y, tooltip=tooltip)
    color = alt.Color("group:N", scale=alt.Scale(domain=list(groups), range=list(colors)), legend=None)
    hovered = _hover("group")
    faded = {"opacity": alt.condition(hovered, alt.value(1.0), alt.value(0.25))} if hover else {}
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.66}, opacity=0.85).encode(
        x=alt.X("center:Q", title=f"{agg} · error bars: {SPREAD_TITLES[spread]}", scale=scale,
                axis=alt.Axis(format=axis_format(finite), tickCount=5, labelFlush=True)),
        color=color,
        **({"opacity": alt.condition(hovered, alt.value(0.85), alt.value(0.22))} if hover else {}),
    )
    layers = [bars]
    if spread != "none":
        layers.append(base.mark_rule(color="#3b4150", strokeWidth=1.4).encode(x="low:Q", x2="high:Q", **faded))
        layers.append(base.mark_tick(color="#3b4150", thickness=1.4, size=10).encode(x="low:Q", **faded))
        layers.append(base.mark_tick(color="#3b4150", thickness=1.4, size=10).encode(x="high:Q", **faded))
    edge = "max(datum.center, datum.high)" if spread != "none" else "datum.center"
    start = "min(datum.center, datum.low)" if spread != "none" else "datum.center"
    # the value and N beside the bar: N stays readable when a long group name is cut short on the axis
    text = base.transform_calculate(
        xtext=f"datum.center < 0 ? {start} : {edge}",
    ).mark_text(
        baseline="middle", fontSize=11, color="#4a5261",
        align=alt.expr("datum.center < 0 ? 'right' : 'left'"), dx=alt.expr("datum.center < 0 ? -5 : 5"),
    ).encode(x=alt.X("xtext:Q"), text=alt.Text("value_text:N"), **faded)
    layers.append(text)
    if listen:  # last: its nearest-point cells lie over the bars, one horizontal strip per group
        layers.append(_pointer(base.mark_point(opacity=0).encode(x=alt.value(0)), linked, hovered))
    chart = _frame(alt.layer(*layers), key, subtitle, width, axis)
    return chart.properties(height=step * max(len(data), 1) + 40)


def group_line_chart(
    band: pd.DataFrame, key: str, groups: Sequence[str], colors: Sequence[str], x: XAxis = "step",
    log: bool = False, aggregation: str = "mean", spread: str = "std", *,
    width: int | None = None, subtitle: str | None = None, hover: bool | None = None, listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """The aggregate line of each group over a shaded band for the spread (``band`` from
    :func:`lens_core.runs.stats.series_band`). Hovering a group brings it forward (the :data:`HOVER` selection on
    ``group``); ``width``, ``subtitle``, ``hover``, ``listen``, ``linked`` as for :func:`line_chart`."""
    import altair as alt

    x_title = X_TITLES["relative" if x == "relative" else "step"]
    steps = {"tickMinStep": 1} if x != "relative" else {}
    x_enc = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=x == "relative"),
                  axis=alt.Axis(tickCount=6, grid=False, **steps))
    y_scale = alt.Scale(type="log" if log else "linear", zero=False, nice=True)
    color = alt.Color("group:N", scale=alt.Scale(domain=list(groups), range=list(colors)), legend=None)
    hover, listen = _interaction(len(band), hover, listen)
    hovered = _hover("group")
    axis = _value_axis_width(band[["center", "low", "high"]].to_numpy(dtype="float64").ravel(), log)
    extent = {"minExtent": axis - 4, "maxExtent": axis - 4} if width else {}
    base = alt.Chart(band).encode(x=x_enc, color=color)
    tooltip = [
        alt.Tooltip("group:N", title="group"), alt.Tooltip("x:Q", title=x_title, format=",.6~g"),
        alt.Tooltip("center:Q", title=f"{AGG_TITLES[aggregation]} of {key}", format=tooltip_format(band["center"])),
        alt.Tooltip("low:Q", title="band low", format=tooltip_format(band["low"])),
        alt.Tooltip("high:Q", title="band high", format=tooltip_format(band["high"])),
        alt.Tooltip("n:Q", title="N (runs)"),
    ]
    layers = []
    if spread != "none":
        layers.append(base.mark_area(opacity=0.16, line=False).encode(
            y=alt.Y("low:Q", scale=y_scale, title=None), y2="high:Q",
            **({"opacity": alt.condition(hovered, alt.value(0.2), alt.value(0.06))} if hover else {}),
        ))
    layers.append(base.mark_line(strokeWidth=2).encode(
        y=alt.Y("center:Q", title=None, scale=y_scale,
                axis=alt.Axis(format=axis_format(band[["center", "low", "high"]].to_numpy(dtype="float64").ravel()),
                              tickCount=5, **extent)),
        **({"opacity": alt.condition(hovered, alt.value(1.0), alt.value(0.3))} if hover else {}),
    ))
    point = base.mark_point(size=50, opacity=0).encode(y=alt.Y("center:Q", scale=y_scale), tooltip=tooltip)
    layers.append(_pointer(point, linked, hovered) if listen else point)
    return _frame(alt.layer(*layers), key, subtitle, width, axis).properties(height=250)


def chart_config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The look shared by every chart of the page (rendered with ``theme=None``: Streamlit's chart theme pads
    axis titles so much that short bar charts collapse): the app's font, quiet axes, no frame, titles on the
    left with the notes under them. Set as one ``config`` on a shallow copy: Altair's ``configure_*`` methods
    deep-copy the whole compound chart each (half a second for the page's linked chart)."""
    import altair as alt

    text = "#4a5261"
    configured = chart.copy(deep=False)
    configured.config = alt.Config(
        font='"Source Sans", "Source Sans Pro", sans-serif',
        view=alt.ViewConfig(strokeWidth=0),
        axis=alt.AxisConfig(
            labelColor=text, titleColor=text, titleFontWeight="normal", labelFontSize=12, titleFontSize=12,
            gridColor="#eceff4", domainColor="#c9ced8", tickColor="#c9ced8", labelPadding=4,
        ),
        title=alt.TitleConfig(fontSize=14, fontWeight=600, color="#31333f", subtitleFontSize=12,
                              subtitleColor="#808495", subtitlePadding=3, offset=10, anchor="start"),
    )
    return configured


# ---- datasets the runs share -------------------------------------------------------------------------------------
def distribution_chart(
    distribution: pd.DataFrame, column: str, labels: Mapping[str, str], run_ids: Sequence[str],
    colors: Mapping[str, str],
) -> alt.Chart:
    """One dataset column's distribution in each run's file, overlaid: ``distribution`` as
    :func:`lens_core.explorer.across.distribution` returns it (``run_id, value, end, count, share``). Binned
    (numeric) columns are step lines over the shared bins; others, a bar per value and run. Runs are named by
    ``labels`` and coloured by ``colors``; the legend lists ``run_ids`` in order."""
    import altair as alt

    data = distribution.assign(run=distribution["run_id"].map(labels))
    colour = alt.Color("run:N", title=None, scale=alt.Scale(domain=[labels[r] for r in run_ids],
                                                            range=[colors[r] for r in run_ids]),
                       legend=alt.Legend(orient="bottom", columns=2, labelLimit=280))
    share = alt.Y("share:Q", title="share of rows", axis=alt.Axis(format="%"))
    if data["end"].notna().any():
        chart = alt.Chart(data).mark_line(interpolate="step-after", strokeWidth=2).encode(
            x=alt.X("value:Q", title=column), y=share, color=colour,
            tooltip=["run", alt.Tooltip("value:Q", format=tooltip_format(data["value"])),
                     alt.Tooltip("count:Q", format=","), alt.Tooltip("share:Q", format=".1%")])
    else:
        chart = alt.Chart(data).mark_bar().encode(
            x=alt.X("value:N", title=column, sort="-y"), xOffset="run:N", y=share, color=colour,
            tooltip=["run", "value", "count:Q", alt.Tooltip("share:Q", format=".1%")])
    return chart.properties(height=240, title=column)
