"""The hyperparameter page's charts and tables, drawn from a fitted :class:`~lens_core.insights.hyperparams.Surrogate`
and the frames :mod:`lens_core.insights.hyperparams` computes from it (importance, partial dependence, ALE,
suggestions).

Vega-Lite reads a dot in a field name as a nested field, so charts never encode ``params.lr`` directly: param names
travel as values, or as plain field names (``value``, ``first``, ``second``).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from lens_core.format import column_printf, format_number, tooltip_format
from lens_core.insights import hyperparams as hp

ACCENT = "#3b5bdb"  # the surrogate's estimates
RUNS = "#a3acb9"  # the runs themselves
EFFECT = "#e8590c"  # accumulated local effects
INK = "#1d2433"  # error bars
#: Values per param of the two-param partial dependence grid.
INTERACTION_POINTS = 10
#: A positive param whose values span more than this factor is drawn on a log axis.
LOG_SPAN = 100
EFFECT_HEIGHT = 280
BAR_HEIGHT = 30  # px per importance bar: every bar keeps its label
AXIS_HEIGHT = 64  # px of an x axis with labels and a title


def short(column: str) -> str:
    """``params.lr`` → ``lr``, ``metrics.val/loss`` → ``val/loss``."""
    return column.split(".", 1)[1] if "." in column else column


def importance_chart(importance: pd.DataFrame) -> alt.LayerChart:
    """Permutation importance (:func:`~lens_core.insights.hyperparams.param_importance`) as bars, most important
    first, with their spread over the shuffles as error bars; the short param name is the ``label`` field.

    Every bar is labelled: the band scale lists every param (Vega would otherwise drop labels it finds
    overlapping, which left 2 of 4 bars unnamed) and each bar gets ``BAR_HEIGHT`` px."""
    data = importance.assign(label=importance["param"].map(short))
    labels = list(data["label"])
    y = alt.Y("label:N", sort=labels, title=None, scale=alt.Scale(domain=labels),
              axis=alt.Axis(labelOverlap=False, labelLimit=260, labelFontSize=12))
    bars = alt.Chart(data).mark_bar(color=ACCENT).encode(
        x=alt.X("importance:Q", title="Drop in R² when shuffled"), y=y,
        tooltip=[alt.Tooltip("label:N", title="param"), alt.Tooltip("importance:Q", format=".3f"),
                 alt.Tooltip("std:Q", format=".3f")],
    )
    errors = alt.Chart(data).mark_errorbar(color=INK).encode(
        x=alt.X("low:Q", title="Drop in R² when shuffled"), x2="high:Q", y=y,
    ).transform_calculate(low="datum.importance - datum.std", high="datum.importance + datum.std")
    # Streamlit sizes charts with autosize "fit" / "padding": the height holds the x axis and its title too
    return (bars + errors).properties(height=BAR_HEIGHT * len(data) + AXIS_HEIGHT)


def correlations_table(correlations: pd.DataFrame) -> pd.DataFrame:
    """Rank correlations (:func:`~lens_core.insights.hyperparams.correlations`) with params by their short names;
    the note column only when some param has a note. A ρ that rounds to zero at the two decimals shown is zero (the
    table read "-0.00")."""
    rho = correlations["spearman"]
    table = correlations.assign(param=correlations["param"].map(short), spearman=rho.mask(rho.abs() < 0.005, 0.0))
    return table if (table["note"] != "").any() else table.drop(columns="note")


def log_axis(s: hp.Surrogate, param: str) -> bool:
    """Whether a numeric param reads better on a log axis: positive values spanning more than ``LOG_SPAN``×."""
    values = s.X[param].dropna().astype(float)
    return bool((values > 0).all() and values.max() / values.min() > LOG_SPAN)


def categorical_effect_chart(s: hp.Surrogate, param: str, pdp: pd.DataFrame) -> alt.Chart:
    """A categorical param's partial dependence (:func:`~lens_core.insights.hyperparams.partial_dependence`):
    one bar per value."""
    angle = 0 if len(pdp) <= 8 else -40  # few values read level; many would overlap
    return alt.Chart(pdp).mark_bar(color=ACCENT).encode(
        x=alt.X("value:N", title=short(param), sort=None, axis=alt.Axis(labelAngle=angle, labelLimit=160)),
        y=alt.Y("prediction:Q", title=f"Predicted {short(s.target)}", scale=alt.Scale(zero=False)),
    ).properties(height=EFFECT_HEIGHT)


def partial_dependence_chart(s: hp.Surrogate, param: str, pdp: pd.DataFrame) -> alt.LayerChart:
    """A numeric param's partial dependence (a line) over the runs' own values of the param and the target
    (dots)."""
    values = s.X[param].dropna().astype(float)
    x = alt.X("value:Q", title=short(param), scale=alt.Scale(type="log" if log_axis(s, param) else "linear"))
    line = alt.Chart(pdp).mark_line(point=True, color=ACCENT).encode(
        x=x, y=alt.Y("prediction:Q", title=f"Predicted {short(s.target)}", scale=alt.Scale(zero=False)))
    runs = alt.Chart(pd.DataFrame({"value": values, "y": s.y[values.index]})).mark_circle(
        color=RUNS, opacity=0.5).encode(x=x, y="y:Q", tooltip=["value", "y"])
    return (runs + line).properties(height=EFFECT_HEIGHT)


def ale_chart(s: hp.Surrogate, param: str, effects: pd.DataFrame) -> alt.Chart:
    """A numeric param's accumulated local effects (:func:`~lens_core.insights.hyperparams.ale`), one point per
    bin at its centre."""
    data = effects.assign(centre=(effects["low"] + effects["high"]) / 2)
    return alt.Chart(data).mark_line(point=True, color=EFFECT).encode(
        x=alt.X("centre:Q", title=short(param), scale=alt.Scale(type="log" if log_axis(s, param) else "linear")),
        y=alt.Y("ale:Q", title=f"Effect on {short(s.target)} (ALE, centred)"),
        tooltip=[alt.Tooltip("low:Q", format=tooltip_format(data["low"])),
                 alt.Tooltip("high:Q", format=tooltip_format(data["high"])), "count:Q",
                 alt.Tooltip("ale:Q", format=tooltip_format(data["ale"]))],
    ).properties(height=EFFECT_HEIGHT)


def interaction_chart(s: hp.Surrogate, first: str, second: str, grid: pd.DataFrame | None = None) -> alt.Chart:
    """Two params' joint partial dependence (``grid``: :func:`~lens_core.insights.hyperparams.partial_dependence_2d`
    with ``INTERACTION_POINTS``, computed here when not given) as a heatmap, ``first`` up the side, ``second``
    along the bottom, coloured so that the better predictions are the brighter."""
    if grid is None:
        grid = hp.partial_dependence_2d(s, first, second, points=INTERACTION_POINTS)
    grid = grid.rename(columns={first: "first", second: "second"})
    grid = grid.assign(first=grid["first"].map(format_number), second=grid["second"].map(format_number))

    def order(column: str) -> list[str]:  # values as the cells read them: depth 3, not "3.0"
        return [format_number(v) for v in hp.grid_of(s, column, INTERACTION_POINTS)]

    return alt.Chart(grid).mark_rect().encode(
        x=alt.X("second:O", title=short(second), sort=order(second),
                axis=alt.Axis(labelAngle=0 if len(order(second)) <= 8 else -40)),
        y=alt.Y("first:O", title=short(first), sort=list(reversed(order(first)))),
        color=alt.Color("prediction:Q", title=f"Predicted {short(s.target)}",
                        scale=alt.Scale(scheme="viridis", reverse=not s.higher_is_better)),
        tooltip=[alt.Tooltip("first:N", title=short(first)), alt.Tooltip("second:N", title=short(second)),
                 alt.Tooltip("prediction:Q", format=tooltip_format(grid["prediction"]))],
    ).properties(height=320)


def suggestions_table(s: hp.Surrogate, top: pd.DataFrame) -> pd.DataFrame:
    """Suggestions (:class:`~lens_core.insights.hyperparams.NextSettings`' lists) as shown: params by their short
    names, missing values blank, the estimate as ``predicted <metric>``."""
    shown = top.replace({hp.MISSING: ""}).rename(columns={p: short(p) for p in s.params})
    return shown.rename(columns={"predicted": predicted_column(s)})


def suggestion_formats(s: hp.Surrogate, table: pd.DataFrame) -> dict[str, str]:
    """printf formats for the numeric columns of :func:`suggestions_table`: integers exact (a seed of 97531 is
    not "97530"), other values with the digits that tell them apart."""
    return {column: column_printf(table[column]) for column in table.columns
            if pd.api.types.is_numeric_dtype(table[column])}


def predicted_column(s: hp.Surrogate) -> str:
    """The suggestions table's estimate column."""
    return f"predicted {short(s.target)}"


def best_seen(s: hp.Surrogate) -> float:
    """The best value of the target any run reached."""
    return float(s.y.max() if s.higher_is_better else s.y.min())
