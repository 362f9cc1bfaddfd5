"""Parallel coordinates, the brush: the interval selection a user drags over the axes as filters in real units
(:func:`filters_from_selection`), applied to the whole runs table (:func:`mask`), and the rectangle to redraw
after a rerun (:func:`brush_seed`). See :mod:`lens_core.runs.parcoords` for the selection's format."""
from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens_core.format import MLFLOW_INF, format_number
from lens_core.runs.parcoords.axes import (
    MISSING_LABEL,
    MISSING_Y,
    Axis,
    ParcoordsData,
    _as_number,
    _as_text,
    short_name,
)

BRUSH = "brush"  #: name of the interval selection parameter in the chart spec
_MISSING_TOLERANCE = 0.03  # a brush edge this close to the missing slot still takes it


@dataclass(frozen=True, slots=True)
class AxisRange:
    """Runs whose numeric value lies in ``[low, high]`` (both None: no value range), or that are missing on
    this column when ``include_missing``."""

    column: str
    low: float | None
    high: float | None
    include_missing: bool = False

    def describe(self) -> str:
        parts = [] if self.low is None else [f"{format_number(self.low)} – {format_number(self.high)}"]
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
        memory["seed"] = dict(brush_of(selection)) or None
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
    brush = brush_of(selection)
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
            v = v.where(np.isfinite(v) & (v.abs() < MLFLOW_INF))
            ok = (v >= f.low) & (v <= f.high) if f.low is not None and f.high is not None else False
            missing = v.isna()
        else:
            text = _as_text(column)
            ok = text.isin(list(f.values))
            missing = text.isna()
        keep &= pd.Series(ok, index=runs.index).fillna(False).astype(bool) | (missing & f.include_missing)
    return keep


# -- reading a selection ----------------------------------------------------------------------------------------

def brush_of(selection: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The brush rectangle (``{"x": [..], "y": [..]}``, or ``{}``) of a chart state, its ``selection`` entry or
    the rectangle itself."""
    if not selection:
        return {}
    if "selection" in selection:
        selection = selection["selection"] or {}
    if BRUSH in selection:
        selection = selection[BRUSH] or {}
    return selection if isinstance(selection, Mapping) else {}


def _pair(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
