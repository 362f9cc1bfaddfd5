"""Altair charts of model insights, shared by the model-insights page (one run) and the comparison page (several
runs overlaid, each in the colour it wears on that page).

Every function takes the tidy frames of :mod:`lens_core.insights.evaluation`, :mod:`~lens_core.insights.explain`
or :mod:`~lens_core.insights.across` and returns a finished chart — the quiet look (no frame, light grid) and its
height — for ``st.altair_chart(chart, width="stretch")``. Charts that overlay curves (ROC, PR, partial dependence)
take a ``curve`` column, the legend label, and optionally ``colors``: curve label → colour, in legend order;
:func:`class_curves` and :func:`run_curves` build them. Scatter plots ship at most :data:`SCATTER_POINTS` rows.

>>> roc_chart(class_curves(ev.roc, ev.auc, "roc_auc"), legend_title="class · AUC")   # doctest: +SKIP
>>> runs = run_curves(across.frame, selected, labels, colors, score=("roc_auc", "AUC"))  # doctest: +SKIP
>>> roc_chart(runs.frame, colors=runs.colors)                                         # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import altair as alt
import pandas as pd

from lens_core.explorer.profile import geo_role
from lens_core.insights.explain import ShapResult, is_categorical

#: Raises the output / the explained curve; lowers it; context (chance lines, ICE, correct rows).
POSITIVE, NEGATIVE, NEUTRAL = "#ff4b4b", "#1c83e1", "#a3acb9"
INK = "#262730"  # text and rules on a light background
HEIGHT = 300
LEGEND_ROW = 18  # px per row of a legend under a chart
#: Rows a scatter plot ships at most (a random sample beyond).
SCATTER_POINTS = 5000

Figure = TypeVar("Figure", alt.Chart, alt.LayerChart)


def quiet(chart: Figure) -> Figure:
    """The look of every insights chart: no frame, a light grid."""
    return chart.configure_view(strokeWidth=0).configure_axis(grid=True, gridOpacity=0.4)


def sample_rows(frame: pd.DataFrame, limit: int = SCATTER_POINTS) -> pd.DataFrame:
    """At most ``limit`` rows of ``frame``, a random (reproducible) sample beyond."""
    return frame if len(frame) <= limit else frame.sample(n=limit, random_state=0)


def _number(field: str, fmt: str = ".3f") -> alt.Tooltip:
    return alt.Tooltip(f"{field}:Q", format=fmt)


# ---- curves: which line is which ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunCurves:
    """Curves of several runs: ``frame`` with a ``curve`` column (the run's label), ``colors`` curve → colour."""

    frame: pd.DataFrame
    colors: dict[str, str]


def class_curves(curves: pd.DataFrame, scores: pd.DataFrame, score: str) -> pd.DataFrame:
    """Per-class curves (:attr:`Evaluation.roc` / ``.pr``) labelled ``"<class> · <score>"``; ``score`` is a column
    of ``scores`` (:attr:`Evaluation.auc`): ``roc_auc`` or ``average_precision``."""
    by_class = scores.set_index("class")[score]
    return curves.assign(curve=curves["class"].map(lambda c: f"{c} · {by_class[c]:.3f}"))


def run_curves(frame: pd.DataFrame, runs: Sequence[str], labels: Mapping[str, str], colors: Mapping[str, str],
               score: tuple[str, str] | None = None) -> RunCurves:
    """Curves of several runs (a ``run_id`` column), labelled by run — ``"<label> · AUC 0.873"`` when ``score`` is
    (column, name) — in the order of ``runs``, each run in its colour from ``colors`` (run id → colour)."""
    curve = frame["run_id"].map(lambda r: labels.get(r, r))
    if score:
        curve = curve + f" · {score[1]} " + frame[score[0]].map("{:.3f}".format)
    labelled = frame.assign(curve=curve)
    first = labelled.drop_duplicates("run_id").set_index("run_id")["curve"]
    shown = {first[r]: colors[r] for r in runs if r in first.index}
    return RunCurves(labelled, shown)


def _curve_names(curves: pd.DataFrame, colors: Mapping[str, str] | None) -> list[str]:
    return list(colors) if colors else list(dict.fromkeys(curves["curve"]))


def _legend_columns(names: Sequence[str]) -> int:
    """Long labels (run names) get one legend column, short ones (classes) two."""
    return 1 if max(map(len, names), default=0) > 24 else 2


def _legend_room(curves: pd.DataFrame, colors: Mapping[str, str] | None) -> int:
    """Height for the legend rows under a chart beyond the first: Streamlit fits the whole chart, legend included,
    in its height, so a long legend would otherwise squash the plot."""
    names = _curve_names(curves, colors)
    rows = -(-len(names) // _legend_columns(names))
    return LEGEND_ROW * max(rows - 1, 0)


def _curve_color(curves: pd.DataFrame, colors: Mapping[str, str] | None, title: str | None) -> alt.Color:
    names = _curve_names(curves, colors)
    wide = _legend_columns(names) == 1
    legend = alt.Legend(orient="bottom", columns=_legend_columns(names), labelLimit=320 if wide else 140)
    scale = alt.Scale(domain=names, range=list(colors.values())) if colors else alt.Scale()
    return alt.Color("curve:N", title=title, sort=names, scale=scale, legend=legend)


def _step_curves(curves: pd.DataFrame, x: tuple[str, str], y: tuple[str, str], colors: Mapping[str, str] | None,
                 legend_title: str | None) -> alt.Chart:
    """Curves through (``x``, ``y``) points — each (field, title) — in steps, as ROC / PR curves are."""
    return alt.Chart(curves).mark_line(interpolate="step-after").encode(
        x=alt.X(f"{x[0]}:Q", title=x[1]), y=alt.Y(f"{y[0]}:Q", title=y[1], scale=alt.Scale(domain=[0, 1])),
        color=_curve_color(curves, colors, legend_title),
        tooltip=["curve:N", _number(x[0]), _number(y[0]), _number("threshold")])


# ---- evaluation: classifiers --------------------------------------------------------------------------------------
def roc_chart(curves: pd.DataFrame, *, colors: Mapping[str, str] | None = None, legend_title: str | None = None,
              height: int = HEIGHT) -> alt.LayerChart:
    """ROC curves over the chance diagonal: ``curve, fpr, tpr, threshold``, one line per ``curve``."""
    chance = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
        strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q", y="y:Q")
    lines = _step_curves(curves, ("fpr", "False positive rate"), ("tpr", "True positive rate"), colors, legend_title)
    return quiet((chance + lines).properties(height=height + _legend_room(curves, colors)))


def pr_chart(curves: pd.DataFrame, *, colors: Mapping[str, str] | None = None, legend_title: str | None = None,
             height: int = HEIGHT) -> alt.Chart:
    """Precision–recall curves: ``curve, recall, precision, threshold``, one line per ``curve``."""
    lines = _step_curves(curves, ("recall", "Recall"), ("precision", "Precision"), colors, legend_title)
    return quiet(lines.properties(height=height + _legend_room(curves, colors)))


def confusion_chart(matrix: pd.DataFrame, *, normalised: bool = False, height: int = HEIGHT - 40) -> alt.LayerChart:
    """A confusion matrix (``actual, predicted, count, normalized``; classes in the frame's order) as a heat map
    with the numbers: counts, or with ``normalised`` each actual class's share, coloured on a fixed 0–100 % scale
    so that matrices side by side compare."""
    order = list(dict.fromkeys(matrix["actual"].astype(str)))
    matrix = matrix.astype({"actual": str, "predicted": str})
    value = "normalized" if normalised else "count"
    scale = alt.Scale(scheme="blues", domain=[0, 1]) if normalised else alt.Scale(scheme="blues")
    middle = 0.5 if normalised else matrix["count"].max() / 2
    base = alt.Chart(matrix).encode(x=alt.X("predicted:N", sort=order, title="Predicted", axis=alt.Axis(labelAngle=0)),
                                    y=alt.Y("actual:N", sort=order, title="Actual"))
    heat = base.mark_rect().encode(color=alt.Color(f"{value}:Q", scale=scale, legend=None),
                                   tooltip=["actual", "predicted", "count", _number("normalized", ".1%")])
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text(f"{value}:Q", format=".0%" if normalised else "d"),
        color=alt.condition(f"datum.{value} > {middle}", alt.value("white"), alt.value(INK)))
    return quiet((heat + text).properties(height=height))


# ---- evaluation: regressors ---------------------------------------------------------------------------------------
def _residual_points(predictions: pd.DataFrame, x: alt.X, y: alt.Y) -> alt.Chart:
    return alt.Chart(sample_rows(predictions)).mark_circle(size=28, opacity=0.55).encode(
        x=x, y=y, tooltip=[_number(c) for c in ("actual", "predicted", "residual")])


def predicted_vs_actual_chart(predictions: pd.DataFrame, *, height: int = HEIGHT) -> alt.LayerChart:
    """Each test row's prediction against its actual value (``actual, predicted, residual``), over the identity."""
    low = float(predictions[["actual", "predicted"]].min().min())
    high = float(predictions[["actual", "predicted"]].max().max())
    identity = alt.Chart(pd.DataFrame({"x": [low, high], "y": [low, high]})).mark_line(
        strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q", y="y:Q")
    points = _residual_points(predictions, alt.X("actual:Q", title="Actual", scale=alt.Scale(zero=False)),
                              alt.Y("predicted:Q", title="Predicted", scale=alt.Scale(zero=False)))
    return quiet((identity + points).properties(height=height))


def residuals_chart(predictions: pd.DataFrame, *, height: int = HEIGHT) -> alt.LayerChart:
    """Residuals (actual − predicted) against the prediction, over the zero line."""
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(y="y:Q")
    points = _residual_points(predictions, alt.X("predicted:Q", title="Predicted", scale=alt.Scale(zero=False)),
                              alt.Y("residual:Q", title="Residual (actual − predicted)"))
    return quiet((zero + points).properties(height=height))


def residual_histogram(predictions: pd.DataFrame, *, height: int = HEIGHT) -> alt.Chart:
    """The distribution of the residuals (every row; binned in the browser into at most 40 bars)."""
    return quiet(alt.Chart(predictions[["residual"]]).mark_bar(color=NEGATIVE).encode(
        x=alt.X("residual:Q", bin=alt.Bin(maxbins=40), title="Residual"), y=alt.Y("count()", title="Rows"),
    ).properties(height=height))


def errors_axes(numeric: Sequence[str]) -> tuple[str, str]:
    """Default axes of :func:`errors_chart`: longitude / latitude when the features have them, else the first
    numeric features."""
    x = next((c for c in numeric if geo_role(c) == "lon"), numeric[0])
    others = [c for c in numeric if c != x] or list(numeric)
    return x, next((c for c in numeric if geo_role(c) == "lat"), others[0])


def errors_chart(instances: pd.DataFrame, x: str, y: str, *, classifier: bool, height: int = HEIGHT + 60) -> alt.Chart:
    """The test rows (:func:`lens_core.insights.instances.instance_table`) on two numeric features, coloured by
    ``correct`` (classifiers: misclassified rows stand out) or by ``residual`` (regressors, diverging at 0)."""
    points = sample_rows(instances)
    colour = (alt.Color("correct:N", scale=alt.Scale(domain=[True, False], range=[NEUTRAL, POSITIVE]),
                        title="correct") if classifier else
              alt.Color("residual:Q", scale=alt.Scale(scheme="redblue", domainMid=0), title="residual"))
    return quiet(alt.Chart(points).mark_circle(size=30, opacity=0.7).encode(
        x=alt.X(f"{x}:Q", scale=alt.Scale(zero=False)), y=alt.Y(f"{y}:Q", scale=alt.Scale(zero=False)),
        color=colour, tooltip=list(points.columns[:4]) + [x, y],
    ).properties(height=height))


# ---- global explanations ------------------------------------------------------------------------------------------
def _feature_axis(sort: Sequence[str] | None = None) -> alt.Y:
    return alt.Y("feature:N", sort=sort, title=None, axis=alt.Axis(labelOverlap=False))


def permutation_importance_chart(importance: pd.DataFrame) -> alt.LayerChart:
    """Permutation importance (``feature, importance, std, metric``, largest first) as bars with a ± one standard
    deviation whisker."""
    metric = importance["metric"].iloc[0] if len(importance) else "score"
    spread = importance.assign(low=importance["importance"] - importance["std"],
                               high=importance["importance"] + importance["std"])
    bars = alt.Chart(spread).mark_bar(color=NEGATIVE).encode(
        x=alt.X("importance:Q", title=f"Drop in {metric} when shuffled"), y=_feature_axis(),
        tooltip=["feature", _number("importance", ".4f"), _number("std", ".4f")])
    whiskers = alt.Chart(spread).mark_rule(color=INK).encode(x="low:Q", x2="high:Q", y=alt.Y("feature:N", sort=None))
    return quiet((bars + whiskers).properties(height=alt.Step(22)))


def shap_importance_chart(shap: ShapResult) -> alt.Chart:
    """Mean |SHAP| per feature, largest first."""
    return quiet(alt.Chart(shap.importance()).mark_bar(color=POSITIVE).encode(
        x=alt.X("mean_abs_shap:Q", title=f"Mean |SHAP| ({shap.output})"), y=_feature_axis(),
        tooltip=["feature", _number("mean_abs_shap", ".4f")],
    ).properties(height=alt.Step(22)))


def shap_summary_chart(shap: ShapResult, *, top: int = 15) -> alt.Chart:
    """The beeswarm: one dot per row and feature (the ``top`` features by mean |SHAP|), jittered in the band,
    coloured by the value's rank within its feature (categories have no order: grey)."""
    order = list(shap.importance()["feature"])[:top]
    long = shap.long()
    long = long[long["feature"].isin(order)].assign(value_rank=lambda d: d["value_rank"].fillna(0.5))
    return quiet(alt.Chart(long).mark_circle(size=22, opacity=0.7).encode(
        x=alt.X("shap:Q", title=f"SHAP value ({shap.output})"), y=_feature_axis(order),
        yOffset=alt.YOffset("jitter:Q"),
        color=alt.Color("value_rank:Q", scale=alt.Scale(range=[NEGATIVE, "#d6d6d6", POSITIVE]),
                        legend=alt.Legend(title="value", format=".0%", orient="right")),
        tooltip=["feature", "value", _number("shap", ".4f")],
    ).transform_calculate(jitter="random()").properties(height=alt.Step(34)))


def pdp_chart(average: pd.DataFrame, *, feature: str, output: str, categorical: bool,
              ice: pd.DataFrame | None = None, colors: Mapping[str, str] | None = None,
              height: int = HEIGHT) -> alt.LayerChart:
    """Partial dependence: ``average`` (``value, average``, plus ``curve`` when several runs overlay, coloured by
    ``colors``; else one red curve) over the grey individual curves ``ice`` (``row, value, prediction``). A numeric
    feature draws lines, a categorical one points over ticks."""
    several = "curve" in average.columns
    kind = "N" if categorical else "Q"
    x = alt.X(f"value:{kind}", title=feature, axis=alt.Axis(labelAngle=0) if categorical else alt.Axis(),
              scale=alt.Scale() if categorical else alt.Scale(zero=False))

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=output, scale=alt.Scale(zero=False))

    shown = average.assign(value=average["value"].astype(str)) if categorical else average
    color = _curve_color(shown, colors, None) if several else alt.value(POSITIVE)
    tooltip: list[Any] = (["curve:N"] if several else []) + ["value", _number("average", ".4f")]
    mark = (alt.Chart(shown).mark_point(filled=True, size=90) if categorical else
            alt.Chart(shown).mark_line(strokeWidth=2 if several else 3, point=several))
    layers = [mark.encode(x=x, y=y("average"), color=color, tooltip=tooltip)]
    if ice is not None:
        rows = alt.Chart(ice.assign(value=ice["value"].astype(str)) if categorical else ice)
        behind = (rows.mark_tick(color=NEUTRAL, opacity=0.4).encode(x=x, y=y("prediction")) if categorical else
                  rows.mark_line(color=NEUTRAL, opacity=0.25, strokeWidth=1).encode(x=x, y=y("prediction"),
                                                                                     detail="row:N"))
        layers.insert(0, behind)
    room = _legend_room(average, colors) if several else 0
    return quiet(alt.layer(*layers).properties(height=height + room))


def pdp_2d_chart(grid: pd.DataFrame, features: tuple[str, str], *, output: str, height: int = HEIGHT) -> alt.Chart:
    """Two-feature partial dependence (``<f1>, <f2>, average``) as a heat map, red where the output is high."""
    f1, f2 = features
    kinds = {f: "N" if is_categorical(grid[f]) else "O" for f in features}
    shown = grid.assign(**{f: grid[f].map(lambda v: f"{v:.4g}" if isinstance(v, float) else str(v))
                           for f in features})
    return quiet(alt.Chart(shown).mark_rect().encode(
        x=alt.X(f"{f1}:{kinds[f1]}", sort=None, title=f1, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y(f"{f2}:{kinds[f2]}", sort=None, title=f2),
        color=alt.Color("average:Q", scale=alt.Scale(scheme="redblue", reverse=True), title=output),
        tooltip=[f1, f2, _number("average", ".4f")],
    ).properties(height=height))


def ale_chart(effects: pd.DataFrame, *, feature: str, output: str, height: int = HEIGHT) -> alt.LayerChart:
    """Accumulated local effects (``edge, ale, lower, upper, count``) with the confidence band."""
    band = alt.Chart(effects.dropna(subset=["lower"])).mark_area(color=POSITIVE, opacity=0.18).encode(
        x=alt.X("edge:Q", title=feature, scale=alt.Scale(zero=False)),
        y=alt.Y("lower:Q", title=f"Effect on {output} (centred)"), y2="upper:Q")
    line = alt.Chart(effects).mark_line(color=POSITIVE, strokeWidth=3,
                                        point=alt.OverlayMarkDef(color=POSITIVE)).encode(
        x="edge:Q", y="ale:Q", tooltip=[_number("edge", ".4g"), _number("ale", ".4f"), "count"])
    return quiet((band + line).properties(height=height))


# ---- local explanation --------------------------------------------------------------------------------------------
def shap_waterfall_chart(shap: ShapResult, row: Any, *, top: int = 10) -> alt.LayerChart:
    """One row's SHAP contributions from the base value to its prediction (:meth:`ShapResult.waterfall`): red bars
    raise the output, blue ones lower it; dashed rules at the base value and the row's prediction."""
    steps = shap.waterfall(row, top=top)
    steps = steps.assign(direction=(steps["shap"] >= 0).map({True: "raises", False: "lowers"}),
                         low=steps[["start", "end"]].min(axis=1), high=steps[["start", "end"]].max(axis=1))
    bars = alt.Chart(steps).mark_bar().encode(
        y=alt.Y("feature:N", sort=None, title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        x=alt.X("low:Q", title=shap.output, scale=alt.Scale(zero=False)), x2="high:Q",
        color=alt.Color("direction:N", scale=alt.Scale(domain=["raises", "lowers"], range=[POSITIVE, NEGATIVE]),
                        title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["feature", _number("shap", "+.4f"), _number("end", ".4f")])
    position = list(shap.data.index).index(row)
    marks = pd.DataFrame({"x": [shap.base_value, float(shap.prediction[position])], "what": ["base value", "this row"]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 4], color=INK).encode(
        x="x:Q", tooltip=["what", _number("x", ".4f")])
    return quiet((bars + rules).properties(height=alt.Step(28)))
