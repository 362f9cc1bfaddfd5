"""Hyperparameter insights: which params drive a metric across an experiment's runs, how, and where to look next.

URL: ``?experiment=<id>&metric=<key>&rule=last|min|max``. Everything shown comes from a surrogate model fitted to
the finished runs; its cross-validated R² says how far to trust it.
"""
from __future__ import annotations

import streamlit as st

from lens_core.insights import hyperparams as hp
from lens_core.insights import hyperparams_charts as charts
from lens_core.insights.hyperparams_charts import short
from lens_core.runs.monitor import SUMMARY_RULES, apply_summary, preferred_metric
from lens_core.trackers.runs_table import columns_of
from lens_core.ui import cache as cached
from lens_core.ui import shell

st.set_page_config(page_title="Hyperparameters · ExperimentLens", page_icon=":material/tune:", layout="wide")

shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
shell.sidebar_header(tracker)
experiments = shell.experiments(tracker, notify=False)  # the runs table warns, with its age
if not experiments:
    st.title("Hyperparameter insights")
    st.info("This tracker has no experiments yet.")
    st.stop()

# ---- what to explain: experiment, metric, summary rule, runs ------------------------------------------------------
with st.sidebar:
    experiment_id = shell.experiment_picker(experiments, key="hp_experiment")
runs = shell.runs(tracker, experiment_id)
metrics = columns_of(runs, "metrics")
st.title("Hyperparameter insights")
st.caption(f"{next(e.name for e in experiments if e.experiment_id == experiment_id)} · which params drive a metric, "
           "estimated by a surrogate model fitted to the finished runs")
if not metrics:
    st.info("The runs of this experiment log no metrics yet: there is nothing to explain.")
    st.stop()

wanted_metric = f"metrics.{st.query_params.get('metric', '')}"
default_metric = wanted_metric if wanted_metric in metrics else preferred_metric(metrics)
with st.sidebar:
    target = st.selectbox("Metric", metrics, index=metrics.index(default_metric), format_func=short, key="hp_metric")
    wanted_rule = st.query_params.get("rule", "last")
    rule = st.segmented_control("Summary of its history", SUMMARY_RULES, key="hp_rule",
                                default=wanted_rule if wanted_rule in SUMMARY_RULES else "last") or "last"
    selected = [r for r in st.session_state.get(shell.SELECTED_RUNS, []) if r in set(runs["run_id"])]
    only_selected = st.toggle(f"Only the {len(selected)} runs selected on Home", value=False, key="hp_only_selected",
                              disabled=len(selected) < hp.MIN_RUNS,
                              help=f"Needs at least {hp.MIN_RUNS} selected runs.")
st.query_params.update({"experiment": experiment_id, "metric": short(target), "rule": rule})

if rule != "last" and (extremes := shell.metric_extremes(tracker, experiment_id)) is not None:
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
with left:
    st.subheader("Which params matter")
    st.altair_chart(charts.importance_chart(importance), width="stretch")
    st.caption("Permutation importance on the surrogate, with its spread over 10 shuffles.")
with right:
    st.subheader("Rank correlation")
    st.dataframe(charts.correlations_table(s), hide_index=True, width="stretch", placeholder="–", column_config={
        "spearman": st.column_config.NumberColumn("Spearman ρ", format="%.2f", help="Numeric params"),
        "eta": st.column_config.NumberColumn("η", format="%.2f", help="Categorical params: correlation ratio"),
    })

# ---- effect of one param ----------------------------------------------------------------------------------------
st.subheader("Effect of a param")
ranked = list(importance["param"])
param = st.selectbox("Param", ranked, format_func=short, key="hp_param")
pdp = hp.partial_dependence(s, param)
if param in s.categorical:
    st.altair_chart(charts.categorical_effect_chart(s, param, pdp), width="stretch")
    st.caption("Partial dependence: the surrogate's average prediction with every run set to each value.")
else:
    a, b = st.columns(2)
    a.markdown("**Partial dependence** (line) and the runs (dots)")
    a.altair_chart(charts.partial_dependence_chart(s, param, pdp), width="stretch")
    b.markdown("**Accumulated local effects**, robust to correlated params")
    b.altair_chart(charts.ale_chart(s, param, hp.ale(s, param)), width="stretch")

if len(ranked) >= 2:
    st.subheader("Two params together")
    a, b = st.columns(2)
    first = a.selectbox("First", ranked, index=0, format_func=short, key="hp_first")
    second = b.selectbox("Second", [p for p in ranked if p != first], index=0, format_func=short, key="hp_second")
    st.altair_chart(charts.interaction_chart(s, first, second), width="stretch")

# ---- where to look next -------------------------------------------------------------------------------------------
st.subheader("Where to look next")
top = hp.suggestions(s, n=8)
if top.empty:
    st.info("Every combination of the observed values has been tried already.")
else:
    st.dataframe(charts.suggestions_table(s, top), hide_index=True, width="stretch", placeholder="", column_config={
        charts.predicted_column(s): st.column_config.NumberColumn(format="%.4g")})
    st.caption(f"Surrogate estimates for combinations of observed values no run has tried, best first "
               f"(best run so far: {charts.best_seen(s):.4g}). An estimate, not a promise: confirm with real runs.")
