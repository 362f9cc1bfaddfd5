"""Parallel coordinates of a runs table: one vertical axis per chosen param or metric, one line per run.

Pure pandas/numpy/Altair (no Streamlit). A page does::

    columns = default_axes(runs) + ["metrics.val_acc"]
    data = prepare(runs, columns, "metrics.val_acc", highlight_ids=selected_ids)
    key = "parcoords-" + "|".join(columns)                 # other axes: a fresh brush
    seed = brush_seed(st.session_state.setdefault("parcoords-seed", {}), st.session_state.get(key), data)
    event = st.altair_chart(chart(data, brush=seed), on_select="rerun", key=key)
    brushed = runs[mask(runs, filters_from_selection(event, data.axes))]
    if data.note:
        st.caption(data.note)          # "Showing 2,000 of 9,800 runs (sample incl. selected and best) …"

Layout. Every axis is normalised to 0..1 on the server and the chart draws the folded long form (one row per
run and axis: x = axis position 0, 1, 2…, y = normalised value) as lines, so any mix of numeric and
categorical axes fits one Vega-Lite view:

- numeric axis (a metric, or a param whose non-missing values all parse as numbers, e.g. ``"1e-3"``):
  min–max, or log10 when the values are positive, span more than ``LOG_SPAN`` (3 decades) and a linear axis
  would squeeze half the runs into its bottom tenth.
- categorical axis (any other param, e.g. ``"adam"``, ``"True"``, or ``"None"``, which MLflow writes for a
  Python ``None`` and which usually is a real setting such as "no depth limit"): the distinct values evenly
  spaced bottom to top in natural order (numbers numerically, then text).
- missing values (param not logged, NaN metric; on numeric axes also ``nan``/``inf``) are not dropped: they
  sit on a "missing" slot below the axis (``MISSING_Y``), and a brush reaching that slot selects them.

Axis titles and tick labels are text marks (titles on top, in two rows when axes are close; value labels left
of each axis, thinned so they never overlap; a white outline keeps them readable over the lines).

Brushing. The chart carries one interval selection, ``"brush"``, over x and y. Streamlit 1.67
(``st.altair_chart(..., on_select="rerun", key=...)``, checked in headless Chromium) returns
``{"selection": {"brush": {"x": [x0, x1], "y": [y0, y1]}}}``: plain lists of floats, each sorted ascending
whichever way the user dragged, ``x`` in axis positions and ``y`` in normalised units, both clamped to the
plot's domain; ``{"selection": {"brush": {}}}`` before any brush and after a click clears it. Axes ``i`` with
``x0 <= i <= x1`` are brushed (none when the brush lies between two axes). One brush is one rectangle: the same
y band on every axis it covers. :func:`filters_from_selection` maps it to real values per axis and
:func:`mask` applies those to the full runs table, so a sampled chart still filters every run.

Scale. Above ``max_lines`` runs :func:`prepare` keeps a deterministic sample (the same runs on every rerun)
that always holds the highlighted runs and the best runs by the colour metric; the chart's title and
``ParcoordsData.note`` say so. Vega's canvas renderer is used (it keeps brushing fast with many lines).
"""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

BRUSH = "brush"  #: name of the interval selection parameter in the chart spec
MISSING_Y = -0.12  #: normalised position of the "missing" slot below every axis
MISSING_LABEL = "missing"
LOG_SPAN = 1e3  #: numeric axes of positive values with max/min above this use a log scale
MAX_LEVELS = 12  #: numeric axes with at most this many distinct values label each value
MAX_DEFAULT_CATEGORIES = 30  #: categorical params with more distinct values are not default axes
_Y_DOMAIN = (MISSING_Y - 0.05, 1.0)
_MISSING_TOLERANCE = 0.03  # a brush edge this close to the missing slot still takes it
_PREFIXES = ("params.", "metrics.", "tags.")
_LOWER_IS_BETTER = re.compile(
    r"loss|err|mse|mae|rmse|mape|smape|perplexity|latency|duration|time|cost|regret|brier|distance", re.IGNORECASE)
_ID_LIKE = re.compile(r"(seed|random_state|uuid|(^|[._])id|path|dir|file)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Axis:
    """One vertical axis.

    ``label``, the title drawn on top, is unique among the chart's axes (the column without its ``params.`` /
    ``metrics.`` prefix unless that collides). Numeric axes have ``low``/``high`` (the finite extremes; NaN
    when there are none), ``log`` and, when they have at most ``MAX_LEVELS`` distinct values, those values in
    ``levels``; categorical axes list ``categories`` bottom to top. ``has_missing``: some run sits on the
    missing slot.
    """

    column: str
    label: str
    kind: Literal["numeric", "categorical"]
    categories: tuple[str, ...] = ()
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    levels: tuple[float, ...] = ()
    has_missing: bool = False

    def position(self, values: pd.Series) -> np.ndarray:
        """Normalised y (0..1, or ``MISSING_Y``) of each value of this axis' column."""
        if self.kind == "categorical":
            index = {c: i for i, c in enumerate(self.categories)}
            codes = _as_text(values).map(index).to_numpy(dtype=float, na_value=np.nan)
            y = codes / (len(self.categories) - 1) if len(self.categories) > 1 else codes * 0 + 0.5
        else:
            y = self._scale(_as_number(values).to_numpy(dtype=float, na_value=np.nan))
        return np.where(np.isnan(y), MISSING_Y, y)

    def value_at(self, y: float) -> float:
        """Inverse of :meth:`position` for a numeric axis and ``0 <= y <= 1``."""
        if not self.high > self.low:
            return self.low
        if y <= 0:
            return self.low
        if y >= 1:
            return self.high
        if self.log:
            return float(10 ** (math.log10(self.low) + y * (math.log10(self.high) - math.log10(self.low))))
        return self.low + y * (self.high - self.low)

    def _scale(self, v: np.ndarray) -> np.ndarray:
        v = np.where(np.isfinite(v), v, np.nan)
        if not self.high > self.low:
            return np.where(np.isnan(v), np.nan, 0.5)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, hi = math.log10(self.low), math.log10(self.high)
                return np.clip((np.log10(v) - lo) / (hi - lo), 0.0, 1.0)
        return np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class AxisRange:
    """Runs whose numeric value lies in ``[low, high]`` (both None: no value range), or that are missing on
    this column when ``include_missing``."""

    column: str
    low: float | None
    high: float | None
    include_missing: bool = False

    def describe(self) -> str:
        parts = [] if self.low is None else [f"{_fmt(self.low)} – {_fmt(self.high)}"]
        parts += [MISSING_LABEL] if self.include_missing else []
        return f"{short_name(self.column)}: {' or '.join(parts) or 'nothing'}"


@dataclass(frozen=True, slots=True)
class AxisCategories:
    """Runs whose value is one of ``values``, or missing on this column when ``include_missing``."""

    column: str
    values: tuple[str, ...]
    include_missing: bool = False

    def describe(self) -> str:
        parts = list(self.values) + ([MISSING_LABEL] if self.include_missing else [])
        return f"{short_name(self.column)}: {', '.join(parts) or 'nothing'}"


Filter = AxisRange | AxisCategories


@dataclass(frozen=True, slots=True)
class ParcoordsData:
    """What :func:`chart` draws.

    ``lines``: one row per drawn run and axis; runs in drawing order (worst colour first, best last, then the
    highlighted runs), axes in chart order within a run. Columns: ``run_id`` (str), ``run_name`` (str, the run
    id when unnamed), ``axis`` (str, the axis label), ``x`` (float, the axis position 0, 1, …), ``y`` (float,
    0..1 or ``MISSING_Y``), ``value`` (str, the real value, shown in tooltips), ``color`` (float, the colour
    metric; NaN when the run lacks it or there is no colour metric), ``highlight`` (bool).
    ``color``: the colour metric column (None when not given or not in the table), on a log colour scale when
    ``color_log`` (same rule as a log axis); ``shown`` runs drawn of
    ``total``; ``sampled`` when ``shown < total``; ``highlighted``: highlighted runs among all ``total``;
    ``fingerprint``: changes whenever what the chart draws changes (see :func:`brush_seed`).
    """

    lines: pd.DataFrame
    axes: tuple[Axis, ...]
    color: str | None
    color_label: str | None
    color_log: bool
    higher_is_better: bool
    shown: int
    total: int
    sampled: bool
    highlighted: int
    fingerprint: str

    @property
    def note(self) -> str | None:
        """A caption for a sampled chart, e.g. "Showing 2,000 of 9,800 runs (sample incl. selected and best)"."""
        if not self.sampled:
            return None
        keeps = (["selected"] if self.highlighted else []) + (["best"] if self.color else [])
        incl = f" incl. {' and '.join(keeps)}" if keeps else ""
        return f"Showing {self.shown:,} of {self.total:,} runs (sample{incl}); a brush filters all runs."


def short_name(column: str) -> str:
    """``params.lr`` → ``lr``."""
    for prefix in _PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix):]
    return column


def metric_higher_is_better(column: str) -> bool:
    """Guess a metric's direction from its name: losses, errors, times and costs are lower-is-better."""
    return not _LOWER_IS_BETTER.search(short_name(column))


def default_axes(runs: pd.DataFrame, max_axes: int = 8) -> list[str]:
    """The params worth an axis, most varying first, at most ``max_axes``.

    A param varies when it takes at least two states among its values and "missing". Variation is the Shannon
    entropy of those states (so a param set differently on every run comes before a 3-way choice, and an even
    split before a lopsided one); ties go by name. Left out: constant params, categorical params with more
    than ``MAX_DEFAULT_CATEGORIES`` values, and categorical params unique per run (ids, paths). Params named
    like seeds, ids, paths or file names come after all others.
    """
    scored: list[tuple[bool, float, str]] = []
    for column in (c for c in runs.columns if c.startswith("params.")):
        values = runs[column]
        counts = values.value_counts(dropna=False)  # a column holds one type: no need to compare as text
        if len(counts) < 2:
            continue
        if not _is_numeric(values):
            n_cat = int(values.notna().any() and values.dropna().nunique())
            if n_cat > MAX_DEFAULT_CATEGORIES or (n_cat >= 5 and n_cat == values.notna().sum()):
                continue
        p = counts.to_numpy(dtype=float) / counts.sum()
        entropy = float(-(p * np.log2(p)).sum())
        scored.append((bool(_ID_LIKE.search(short_name(column))), -entropy, column))
    return [c for *_, c in sorted(scored)[:max_axes]]


def build_axes(runs: pd.DataFrame, columns: Sequence[str]) -> list[Axis]:
    """One :class:`Axis` per column (params, metrics or any other column of ``runs``), in order."""
    shorts = [short_name(c) for c in columns]
    axes = []
    for column, short in zip(columns, shorts, strict=True):
        label = short if shorts.count(short) == 1 else column
        values = runs[column] if column in runs else pd.Series(np.nan, index=runs.index, dtype=float)
        if _is_numeric(values):
            v = _as_number(values).to_numpy(dtype=float, na_value=np.nan)
            finite = v[np.isfinite(v)]
            low, high = (float(finite.min()), float(finite.max())) if len(finite) else (math.nan, math.nan)
            distinct = np.unique(finite)
            axes.append(Axis(
                column, label, "numeric", low=low, high=high, log=_wants_log(finite),
                levels=tuple(float(x) for x in distinct) if len(distinct) <= MAX_LEVELS else (),
                has_missing=bool(len(finite) < len(v)),
            ))
        else:
            text = _as_text(values)
            axes.append(Axis(
                column, label, "categorical", categories=tuple(sorted(text.dropna().unique(), key=_natural)),
                has_missing=bool(text.isna().any()),
            ))
    return axes


def prepare(
    runs: pd.DataFrame,
    axis_columns: Sequence[str],
    color_metric: str | None,
    *,
    highlight_ids: Collection[str] = (),
    max_lines: int = 2000,
    higher_is_better: bool | None = None,
) -> ParcoordsData:
    """Normalise, sample and fold ``runs`` for :func:`chart`.

    ``axis_columns``: in chart order (typically :func:`default_axes` plus a metric last). ``color_metric``:
    column colouring the lines (None: one colour). ``highlight_ids``: run ids drawn on top and opaque, the
    others faded (e.g. the runs selected or filtered in the table). Above ``max_lines`` runs a stable sample
    is drawn that always contains the highlighted runs (up to ``max_lines``) and the best ``max_lines // 20``
    runs by the colour metric (direction: ``higher_is_better``, else :func:`metric_higher_is_better`). Axes
    are built from all runs, so the scales and the brush do not depend on the sample.
    """
    axes = tuple(build_axes(runs, axis_columns))
    total = len(runs)
    colored = bool(color_metric) and color_metric in runs
    if higher_is_better is None:
        higher_is_better = metric_higher_is_better(color_metric) if color_metric else True
    run_ids = runs["run_id"].astype(str) if "run_id" in runs else pd.Series(runs.index.astype(str), index=runs.index)
    highlight = run_ids.isin(set(map(str, highlight_ids))).to_numpy()
    if colored:
        color = _as_number(runs[color_metric]).to_numpy(dtype=float, na_value=np.nan)
        color = np.where(np.isfinite(color), color, np.nan)
    else:
        color = np.full(total, np.nan)
    rank = _rank_best(color, higher_is_better)  # 0 = best; NaN colour last
    picked = _sample(run_ids, highlight, rank, int(np.isfinite(color).sum()), max_lines)
    # drawing order: plain runs, then best-coloured on top, then highlighted on top of all
    order = picked[np.lexsort((-rank[picked], highlight[picked]))]
    if "run_name" in runs:
        names = runs["run_name"].astype(object).where(runs["run_name"].notna(), run_ids).astype(str).to_numpy()
    else:
        names = run_ids.to_numpy(dtype=object)
    frames = []
    for i, axis in enumerate(axes):
        column = runs[axis.column] if axis.column in runs else pd.Series(np.nan, index=runs.index, dtype=float)
        sub = column.iloc[order]
        frames.append(pd.DataFrame({
            "run_id": run_ids.to_numpy(dtype=object)[order],
            "run_name": names[order],
            "axis": axis.label,
            "x": float(i),
            "y": axis.position(sub),
            "value": _display(axis, sub),
            "color": color[order],
            "highlight": highlight[order],
            "_run": np.arange(len(order)),
        }))
    if frames:
        lines = pd.concat(frames, ignore_index=True).sort_values("_run", kind="stable").drop(columns="_run")
        lines = lines.reset_index(drop=True)
    else:
        lines = pd.DataFrame({"run_id": [], "run_name": [], "axis": [], "x": [], "y": [], "value": [], "color": [],
                              "highlight": []}).astype({"x": float, "y": float, "color": float, "highlight": bool})
    for name in ("run_id", "run_name", "axis", "value"):
        lines[name] = lines[name].astype("str")
    digest = hashlib.blake2b(repr((axes, color_metric, higher_is_better)).encode(), digest_size=16)
    digest.update(pd.util.hash_pandas_object(lines, index=False).to_numpy().tobytes())
    return ParcoordsData(
        lines=lines,
        axes=axes,
        color=color_metric if colored else None,
        color_label=_color_label(color_metric, axes) if colored else None,
        color_log=_wants_log(color[np.isfinite(color)]),
        higher_is_better=higher_is_better,
        shown=len(order),
        total=total,
        sampled=len(order) < total,
        highlighted=int(highlight.sum()),
        fingerprint=digest.hexdigest(),
    )


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

    init = _brush_of(brush)
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
        text = {"align": "right", "baseline": "middle", "dx": -6, "fontSize": 11,
                "limit": {"expr": f"max(30, {step} - 10)"}}
        halo = {"stroke": "white", "strokeWidth": 3, "strokeOpacity": 0.9, "strokeJoin": "round", "color": "white"}
        for part, style in ((ticks[~ticks["missing"]], {"color": "#333333"}),
                            (missing, {"color": "#8a8a8a", "fontStyle": "italic"})):
            for extra in (halo, {}) if len(part) else ():  # a white outline under the text keeps it readable
                layers.append(alt.Chart(part[["x", "y", "text"]]).mark_text(**(text | style | extra))
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
    if data.note:
        props["title"] = alt.TitleParams(data.note, anchor="start", fontSize=11, fontWeight="normal",
                                         color="#8a8a8a", offset=8)
    return alt.layer(*layers).properties(**props).configure_view(stroke=None)


def brush_seed(memory: MutableMapping[str, Any], selection: Mapping[str, Any] | None,
               data: ParcoordsData) -> Mapping[str, Any] | None:
    """The ``brush`` to pass to :func:`chart` so a redraw keeps the user's rectangle on screen.

    ``memory``: a dict kept across reruns (e.g. ``st.session_state.setdefault("parcoords_seed", {})``);
    ``selection``: the chart's current state (``st.session_state[key]``); ``data``: this rerun's data.
    Returns the brush as it was when ``data`` last changed, so the spec only changes when the data does:
    a new brush costs no redraw, a redraw (new highlight, new runs) redraws the rectangle the selection
    still holds. Keep the chart's ``key`` tied to the axes (e.g. ``key=f"pc-{'|'.join(columns)}"``) so
    choosing other axes starts without a brush.
    """
    if memory.get("fingerprint") != data.fingerprint:
        memory["fingerprint"] = data.fingerprint
        memory["seed"] = dict(_brush_of(selection)) or None
    return memory.get("seed")


def filters_from_selection(selection: Mapping[str, Any] | None, axes: Sequence[Axis]) -> list[Filter]:
    """The filters a brush stands for, one per axis inside it, in axis order.

    ``selection``: what ``st.altair_chart(chart(data), on_select="rerun", key=...)`` returns (or
    ``st.session_state[key]``): ``{"selection": {"brush": {"x": [x0, x1], "y": [y0, y1]}}}``; its
    ``selection`` entry or the brush dict itself work too. ``x`` is in axis positions (axis ``i`` at
    ``i``), ``y`` in normalised units. No brush, or a brush between two axes, gives ``[]``. ``axes``:
    ``data.axes`` of the chart that was brushed. A numeric axis gives an :class:`AxisRange` in real units,
    a categorical one an :class:`AxisCategories` of the categories inside the band; either takes the missing
    runs when the band reaches the missing slot.
    """
    brush = _brush_of(selection)
    bx, by = brush.get("x"), brush.get("y")
    if not _pair(bx):
        return []
    x0, x1 = sorted(map(float, bx))
    lo, hi = sorted(map(float, by)) if _pair(by) else (-math.inf, math.inf)
    filters: list[Filter] = []
    for axis in axes[max(math.ceil(x0), 0): max(math.floor(x1) + 1, 0)]:
        take_missing = axis.has_missing and lo - _MISSING_TOLERANCE <= MISSING_Y <= hi + _MISSING_TOLERANCE
        if axis.kind == "categorical":
            k = len(axis.categories)
            inside = tuple(c for i, c in enumerate(axis.categories) if lo <= (i / (k - 1) if k > 1 else 0.5) <= hi)
            filters.append(AxisCategories(axis.column, inside, take_missing))
            continue
        a, b = max(lo, 0.0), min(hi, 1.0)
        low = high = None
        if axis.high > axis.low and a <= b:
            low, high = axis.value_at(a), axis.value_at(b)
        elif axis.high == axis.low and lo <= 0.5 <= hi:  # one value, drawn mid-height
            low = high = axis.low
        filters.append(AxisRange(axis.column, low, high, take_missing))
    return filters


def mask(runs: pd.DataFrame, filters: Sequence[Filter]) -> pd.Series:
    """Boolean Series over ``runs`` (same index): the runs passing every filter. A filter on a column that
    ``runs`` lacks sees every run as missing there."""
    keep = pd.Series(True, index=runs.index)
    for f in filters:
        column = runs[f.column] if f.column in runs else pd.Series(np.nan, index=runs.index, dtype=float)
        if isinstance(f, AxisRange):
            v = _as_number(column)
            v = v.where(np.isfinite(v))
            ok = (v >= f.low) & (v <= f.high) if f.low is not None and f.high is not None else False
            missing = v.isna()
        else:
            text = _as_text(column)
            ok = text.isin(list(f.values))
            missing = text.isna()
        keep &= pd.Series(ok, index=runs.index).fillna(False).astype(bool) | (missing & f.include_missing)
    return keep


# -- helpers ---------------------------------------------------------------------------------------------------

def _brush_of(selection: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not selection:
        return {}
    if "selection" in selection:
        selection = selection["selection"] or {}
    if BRUSH in selection:
        selection = selection[BRUSH] or {}
    return selection if isinstance(selection, Mapping) else {}


def _opacity(lines: int) -> float:
    """Line opacity for that many lines: 0.7 up to ~200, falling to 0.12 from ~7,000 (crossings stay visible)."""
    return float(np.clip(0.85 * math.sqrt(150 / max(lines, 1)), 0.12, 0.7))


def _wants_log(finite: np.ndarray) -> bool:
    """Positive values spanning more than ``LOG_SPAN`` whose median sits in the bottom tenth of the range."""
    if not len(finite):
        return False
    low, high = float(finite.min()), float(finite.max())
    return low > 0 and high / low > LOG_SPAN and float(np.median(finite)) - low < 0.1 * (high - low)


def _pair(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2


def _is_numeric(values: pd.Series) -> bool:
    """Numeric dtype (not bool), or text whose non-missing values all parse as numbers."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    present = values.dropna()
    return bool(len(present)) and bool(pd.to_numeric(present.astype(str), errors="coerce").notna().all())


def _as_number(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    return pd.to_numeric(values.astype(object).where(values.notna()).map(str, na_action="ignore"),
                         errors="coerce").astype(float)


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        return values
    return values.astype(object).where(values.notna()).map(str, na_action="ignore").astype("str")


def _natural(text: str) -> tuple[int, float, str]:
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text.casefold())
    return (0, number, text) if math.isfinite(number) else (1, 0.0, text.casefold())


def _fmt(v: float) -> str:
    if v is None or not math.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def _display(axis: Axis, values: pd.Series) -> np.ndarray:
    if axis.kind == "categorical":
        return _as_text(values).fillna(MISSING_LABEL).to_numpy(dtype=object)
    numbers = _as_number(values).to_numpy(dtype=float, na_value=np.nan)
    return np.array([_fmt(v) if not math.isnan(v) else MISSING_LABEL for v in numbers], dtype=object)


def _color_label(color_metric: str, axes: Sequence[Axis]) -> str:
    return next((a.label for a in axes if a.column == color_metric), short_name(color_metric))


def _rank_best(color: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """0 for the best run by colour, increasing; runs without a colour after all others."""
    key = np.where(np.isnan(color), np.inf, -color if higher_is_better else color)
    rank = np.empty(len(color), dtype=float)
    rank[np.argsort(key, kind="stable")] = np.arange(len(color))
    return rank


def _sample(run_ids: pd.Series, highlight: np.ndarray, rank: np.ndarray, n_colored: int, max_lines: int) -> np.ndarray:
    """Positions of the runs to draw: all when they fit; else the highlighted runs, the best by colour, then
    the rest in an order fixed by a hash of the run id (the same sample on every rerun)."""
    n = len(run_ids)
    if n <= max_lines:
        return np.arange(n)
    stable = np.argsort(pd.util.hash_array(run_ids.to_numpy(dtype=object)), kind="stable")
    best = np.argsort(rank, kind="stable")[: min(max(max_lines // 20, 1), n_colored)]
    candidates = np.concatenate([stable[highlight[stable]], best, stable])
    _, first = np.unique(candidates, return_index=True)
    return np.sort(candidates[np.sort(first)][:max_lines])


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
            marks = [(float(p), _fmt(v)) for p, v in zip(pos, axis.levels, strict=True)]
        else:
            values = _round_ticks(axis.low, axis.high, axis.log)
            marks = [(float(p), _fmt(v)) for p, v in zip(axis._scale(np.array(values)), values, strict=True)]
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
