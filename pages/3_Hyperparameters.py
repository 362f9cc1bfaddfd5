"""Hyperparameter insights: which params drive a metric across an experiment's runs, how, and where to look next.

URL: ``?experiment=<id>&metric=<key>&rule=last|min|max``. Everything shown comes from a surrogate model fitted to
the finished runs; its cross-validated R² says how far to trust it.
"""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from lens_core.ui import cache as cached
from lens_core.insights import hyperparams as hp
from lens_core.runs.monitor import SUMMARY_RULES, apply_summary, preferred_metric
from lens_core.trackers.runs_table import columns_of
from lens_core.runs.summary import newest_experiment

st.set_page_config(page_title="Hyperparameters · ExperimentLens", page_icon=":material/tune:", layout="wide")
SELECTED = "lens.selected_runs"

cached.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = cached.tracker()
cached.sidebar_header(tracker)
experiments = cached.experiments(tracker, notify=False)  # the runs table warns, with its age
if not experiments:
    st.title("Hyperparameter insights")
    st.info("This tracker has no experiments yet.")
    st.stop()


def short(column: str) -> str:
    return column.split(".", 1)[1] if "." in column else column


# ---- what to explain: experiment, metric, summary rule, runs ------------------------------------------------------
by_id = {e.experiment_id: e for e in experiments}
wanted = st.query_params.get("experiment")
ids = list(by_id)
with st.sidebar:
    experiment_id = st.selectbox("Experiment", ids, format_func=lambda i: by_id[i].name, key="hp_experiment",
                                 index=ids.index(wanted if wanted in by_id else newest_experiment(experiments).experiment_id))
runs = cached.runs(tracker, experiment_id)
metrics = columns_of(runs, "metrics")
st.title("Hyperparameter insights")
st.caption(f"{by_id[experiment_id].name} · which params drive a metric, estimated by a surrogate model fitted to "
           "the finished runs")
if not metrics:
    st.info("The runs of this experiment log no metrics yet: there is nothing to explain.")
    st.stop()

wanted_metric = f"metrics.{st.query_params.get('metric', '')}"
default_metric = wanted_metric if wanted_metric in metrics else preferred_metric(metrics)
with st.sidebar:
    target = st.selectbox("Metric", metrics, index=metrics.index(default_metric), format_func=short, key="hp_metric")
    rule = st.segmented_control("Summary of its history", SUMMARY_RULES, key="hp_rule",
                                default=st.query_params.get("rule", "last") if st.query_params.get("rule") in SUMMARY_RULES else "last") or "last"
    selected = [r for r in st.session_state.get(SELECTED, []) if r in set(runs["run_id"])]
    only_selected = st.toggle(f"Only the {len(selected)} runs selected on Home", value=False, key="hp_only_selected",
                              disabled=len(selected) < hp.MIN_RUNS,
                              help=f"Needs at least {hp.MIN_RUNS} selected runs.")
st.query_params.update({"experiment": experiment_id, "metric": short(target), "rule": rule})

if rule != "last" and (extremes := cached.metric_extremes(tracker, experiment_id)) is not None:
    runs = apply_summary(runs, extremes, {target: rule})
if only_selected:
    runs = runs[runs["run_id"].isin(selected)]
training = runs[["run_id", "status", target, *columns_of(runs, "params")]]
try:
    s = cached.surrogate(training, target)
except hp.TooFewRunsError as exc:
    st.warning(str(exc), icon=":material/info:")
    st.stop()

# ---- trust ----------------------------------------------------------------------------------------------------
direction = "higher is better" if s.higher_is_better else "lower is better"
cols = st.columns(4)
cols[0].metric("Runs used", s.n_runs, help="Finished runs with a finite value of the metric.")
cols[1].metric("Params", len(s.params), help="Params that vary among those runs.")
cols[2].metric("Cross-validated R²", f"{s.cv_r2:.2f}", help=f"± {s.cv_r2_std:.2f} over the folds. 1 is perfect; "
               "0 means the params explain nothing the mean would not.")
cols[3].metric("Target", f"{short(target)} ({rule})", help=f"Assumed {direction}, guessed from the name.")
if s.cv_r2 < 0.3:
    st.warning("The surrogate predicts this metric poorly (cross-validated R² below 0.3): the params shown do not "
               "explain it well, so read what follows as hints, not findings.", icon=":material/warning:")

# ---- importance -----------------------------------------------------------------------------------------------
left, right = st.columns([3, 2])
importance = hp.param_importance(s)
importance["label"] = importance["param"].map(short)
with left:
    st.subheader("Which params matter")
    bars = alt.Chart(importance).mark_bar(color="#3b5bdb").encode(
        x=alt.X("importance:Q", title="Drop in R² when shuffled"),
        y=alt.Y("label:N", sort=None, title=None),
        tooltip=["label", alt.Tooltip("importance:Q", format=".3f"), alt.Tooltip("std:Q", format=".3f")],
    )
    errors = alt.Chart(importance).mark_errorbar(color="#1d2433").encode(
        x=alt.X("low:Q", title="Drop in R² when shuffled"), x2="high:Q", y=alt.Y("label:N", sort=None),
    ).transform_calculate(low="datum.importance - datum.std", high="datum.importance + datum.std")
    st.altair_chart((bars + errors).properties(height=28 * len(importance) + 40), width="stretch")
    st.caption("Permutation importance on the surrogate, with its spread over 10 shuffles.")
with right:
    st.subheader("Rank correlation")
    correlations = hp.rank_correlations(s)
    correlations["param"] = correlations["param"].map(short)
    st.dataframe(correlations, hide_index=True, width="stretch", placeholder="–", column_config={
        "spearman": st.column_config.NumberColumn("Spearman ρ", format="%.2f", help="Numeric params"),
        "eta": st.column_config.NumberColumn("η", format="%.2f", help="Categorical params: correlation ratio"),
    })

# ---- effect of one param ----------------------------------------------------------------------------------------
st.subheader("Effect of a param")
ranked = list(importance["param"])
param = st.selectbox("Param", ranked, format_func=short, key="hp_param")
pdp = hp.partial_dependence(s, param)
y_title = f"Predicted {short(target)}"
if param in s.categorical:
    chart = alt.Chart(pdp).mark_bar(color="#3b5bdb").encode(
        x=alt.X("value:N", title=short(param), sort=None), y=alt.Y("prediction:Q", title=y_title,
                                                                   scale=alt.Scale(zero=False)))
    st.altair_chart(chart.properties(height=280), width="stretch")
    st.caption("Partial dependence: the surrogate's average prediction with every run set to each value.")
else:
    values = s.X[param].dropna().astype(float)
    log = bool((values > 0).all() and values.max() / values.min() > 100)
    x = alt.X("value:Q", title=short(param), scale=alt.Scale(type="log" if log else "linear"))
    pdp_chart = alt.Chart(pdp).mark_line(point=True, color="#3b5bdb").encode(
        x=x, y=alt.Y("prediction:Q", title=y_title, scale=alt.Scale(zero=False)))
    runs_marks = alt.Chart(pd.DataFrame({"value": values, "y": s.y[values.index]})).mark_circle(
        color="#a3acb9", opacity=0.5).encode(x=x, y="y:Q", tooltip=["value", "y"])
    effects = hp.ale(s, param)
    effects["centre"] = (effects["low"] + effects["high"]) / 2
    ale_chart = alt.Chart(effects).mark_line(point=True, color="#e8590c").encode(
        x=alt.X("centre:Q", title=short(param), scale=alt.Scale(type="log" if log else "linear")),
        y=alt.Y("ale:Q", title=f"Effect on {short(target)} (ALE, centred)"),
        tooltip=[alt.Tooltip("low:Q", format=".4g"), alt.Tooltip("high:Q", format=".4g"), "count:Q",
                 alt.Tooltip("ale:Q", format=".4g")])
    a, b = st.columns(2)
    a.markdown("**Partial dependence** (line) and the runs (dots)")
    a.altair_chart((runs_marks + pdp_chart).properties(height=280), width="stretch")
    b.markdown("**Accumulated local effects**, robust to correlated params")
    b.altair_chart(ale_chart.properties(height=280), width="stretch")

if len(ranked) >= 2:
    st.subheader("Two params together")
    a, b = st.columns(2)
    first = a.selectbox("First", ranked, index=0, format_func=short, key="hp_first")
    second = b.selectbox("Second", [p for p in ranked if p != first], index=0, format_func=short, key="hp_second")
    grid = hp.partial_dependence_2d(s, first, second, points=10)
    # plain field names: Vega-Lite reads "params.lr" as a nested field
    grid = grid.rename(columns={first: "first", second: "second"}).astype({"first": str, "second": str})

    def order(column: str) -> list[str]:
        return [str(v) for v in hp.grid_of(s, column, 10)]

    heat = alt.Chart(grid).mark_rect().encode(
        x=alt.X("second:O", title=short(second), sort=order(second)),
        y=alt.Y("first:O", title=short(first), sort=list(reversed(order(first)))),
        color=alt.Color("prediction:Q", title=y_title,
                        scale=alt.Scale(scheme="viridis", reverse=not s.higher_is_better)),
        tooltip=[alt.Tooltip("first:N", title=short(first)), alt.Tooltip("second:N", title=short(second)),
                 alt.Tooltip("prediction:Q", format=".4g")],
    )
    st.altair_chart(heat.properties(height=320), width="stretch")

# ---- where to look next -------------------------------------------------------------------------------------------
st.subheader("Where to look next")
top = hp.suggestions(s, n=8)
if top.empty:
    st.info("Every combination of the observed values has been tried already.")
else:
    shown = top.replace({hp.MISSING: ""}).rename(columns={p: short(p) for p in s.params})
    shown = shown.rename(columns={"predicted": f"predicted {short(target)}"})
    st.dataframe(shown, hide_index=True, width="stretch", placeholder="", column_config={
        f"predicted {short(target)}": st.column_config.NumberColumn(format="%.4g")})
    best_seen = s.y.max() if s.higher_is_better else s.y.min()
    st.caption(f"Surrogate estimates for combinations of observed values no run has tried, best first "
               f"(best run so far: {best_seen:.4g}). An estimate, not a promise: confirm with real runs.")
