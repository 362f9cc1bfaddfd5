"""The Run page's charts as Altair specifications: a param's distribution over the experiment, a metric's history,
and where the run's value stands among the other runs. This run is drawn in :data:`THIS_RUN`, the others in
:data:`OTHER_RUNS`."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens_core.format import axis_format, tooltip_format
from lens_core.runs.workflow import MetricHistory, MetricStanding, ParamDistribution

THIS_RUN, OTHER_RUNS = "#ff4b4b", "#a3acb9"  # Streamlit's primary red for this run, a quiet grey for the rest
COUNT_LABEL = "#6b7280"
#: A history with at most this many points shows each point as a dot.
MAX_DOTTED_POINTS = 60


def _this_or_others() -> alt.ColorValue:
    return alt.condition("datum.this", alt.value(THIS_RUN), alt.value(OTHER_RUNS))


def param_distribution_chart(dist: ParamDistribution) -> alt.Chart | alt.LayerChart:
    """A histogram (numeric params with many values, on a log scale when ``dist.log_scale``) or bars of counts
    per value (labelled with the count), the bar holding this run's value in red."""
    name = dist.param
    runs = alt.Tooltip("count:Q", title="runs")
    if dist.kind == "histogram":
        scale = alt.Scale(type="log") if dist.log_scale else alt.Scale(zero=False)
        edges = pd.concat([dist.table["bin_start"], dist.table["bin_end"]])
        return alt.Chart(dist.table).mark_bar(stroke="white", strokeWidth=0.5).encode(
            x=alt.X("bin_start:Q", title=name, scale=scale, bin="binned", axis=alt.Axis(format=axis_format(edges))),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title="runs"),
            color=_this_or_others(),
            tooltip=[alt.Tooltip("bin_start:Q", title="from", format=tooltip_format(edges)),
                     alt.Tooltip("bin_end:Q", title="to", format=tooltip_format(edges)), runs],
        ).properties(height=260)
    bars = alt.Chart(dist.table).mark_bar(cornerRadiusEnd=3).encode(
        y=alt.Y("value:N", title=None, sort=list(dist.table["value"]), axis=alt.Axis(labelLimit=260)),
        x=alt.X("count:Q", title="runs", axis=alt.Axis(tickMinStep=1),
                scale=alt.Scale(domain=[0, float(dist.table["count"].max()) * 1.12], nice=False)),
        color=_this_or_others(),
        tooltip=[alt.Tooltip("value:N", title=name), runs],
    )
    counts = bars.mark_text(align="left", dx=4, color=COUNT_LABEL).encode(text="count:Q", color=alt.value(COUNT_LABEL))
    return (bars + counts).properties(height=alt.Step(30))


def metric_history_chart(history: MetricHistory) -> alt.Chart:
    """One run's history of a metric (finite points) as a line against its steps, or against the order the points
    were logged when all share one step; dots when there are few points. Tooltips give the full value and time."""
    data = history.points
    if history.axis == "step":
        x = alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format=",d"))
    else:
        x = alt.X("order:Q", title=f"points in the order logged (all at step {history.step})",
                  axis=alt.Axis(tickMinStep=1, format=",d"))
    points = alt.OverlayMarkDef(color=THIS_RUN, size=40) if len(data) <= MAX_DOTTED_POINTS else False
    return alt.Chart(data).mark_line(color=THIS_RUN, strokeWidth=2, point=points).encode(
        x=x,
        y=alt.Y("value:Q", title=history.metric, scale=alt.Scale(zero=False),
                axis=alt.Axis(format=axis_format(data["value"]))),
        tooltip=[alt.Tooltip("step:Q", format=",d"), alt.Tooltip("value:Q", format=tooltip_format(data["value"])),
                 alt.Tooltip("time:T", title="logged (UTC)", format="%Y-%m-%d %H:%M:%S.%L")],
    ).properties(height=280)


def standing_values(standing: MetricStanding, run_id: str) -> pd.DataFrame:
    """``run_id, run, value, this, jitter``: the runs' finite values, spread vertically so ties stay apart
    (this run in the middle)."""
    values = standing.values.assign(this=lambda f: f["run_id"] == run_id,
                                    jitter=lambda f: (np.arange(len(f)) * 0.618034) % 1)
    values.loc[values["this"], "jitter"] = 0.5
    return values


def metric_strip_chart(standing: MetricStanding, run_id: str) -> alt.Chart:
    """Every run's value of the metric as a dot on one axis, this run's larger and red."""
    return alt.Chart(standing_values(standing, run_id)).mark_circle(size=90, opacity=0.75).encode(
        x=alt.X("value:Q", title=standing.metric, scale=alt.Scale(zero=False),
                axis=alt.Axis(format=axis_format(standing.values["value"]))),
        y=alt.Y("jitter:Q", axis=None, scale=alt.Scale(domain=[-0.15, 1.15])),
        color=_this_or_others(),
        size=alt.condition("datum.this", alt.value(260), alt.value(90)),
        order=alt.Order("this:O"),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("value:Q", format=tooltip_format(standing.values["value"]))],
    ).properties(height=110)
