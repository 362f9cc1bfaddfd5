"""Parallel coordinates of a runs table: one vertical axis per chosen param or metric, one line per run.

Pure pandas/numpy/Altair (no Streamlit), in three modules: :mod:`~lens_core.runs.parcoords.axes` (axes, scales,
sampling, :func:`prepare`), :mod:`~lens_core.runs.parcoords.brush` (brush → filters → runs) and
:mod:`~lens_core.runs.parcoords.chart` (the Altair spec); their public names are here. A page does::

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
from lens_core.runs.parcoords.axes import (
    LOG_SPAN,
    MAX_DEFAULT_CATEGORIES,
    MAX_LEVELS,
    MISSING_LABEL,
    MISSING_Y,
    Axis,
    ParcoordsData,
    build_axes,
    default_axes,
    prepare,
    short_name,
)
from lens_core.runs.parcoords.brush import (
    BRUSH,
    AxisCategories,
    AxisRange,
    Filter,
    brush_of,
    brush_seed,
    filters_from_selection,
    mask,
)
from lens_core.runs.parcoords.chart import chart, chart_spec

__all__ = [
    "BRUSH", "LOG_SPAN", "MAX_DEFAULT_CATEGORIES", "MAX_LEVELS", "MISSING_LABEL", "MISSING_Y", "Axis",
    "AxisCategories", "AxisRange", "Filter", "ParcoordsData", "brush_of", "brush_seed", "build_axes", "chart",
    "chart_spec", "default_axes", "filters_from_selection", "mask", "prepare", "short_name",
]
