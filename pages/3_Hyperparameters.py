"""Hyperparameter insights: which params drive a metric across an experiment's runs, how, and where to look next.

URL: ``?experiment=<id>&metric=<key>&rule=last|min|max&params=<a,b>&param=<p>&first=<p>&second=<p>`` (defaults left
out). Everything shown comes from a surrogate model fitted to the finished runs; its cross-validated R² says how
far to trust it.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from lens_core.format import format_number, plural
from lens_core.insights import hyperparams as hp
from lens_core.insights import hyperparams_charts as charts
from lens_core.insights.hyperparams_charts import short
from lens_core.runs.defaults import default_metric
from lens_core.runs.monitor import SUMMARY_RULES, apply_summary
from lens_core.trackers.runs_table import columns_of
from lens_core.ui import cache as cached
from lens_core.ui import links, shell
from lens_core.ui.directions import direction_control

st.set_page_config(page_title="Hyperparameters · ExperimentLens", page_icon=":material/tune:", layout="wide")

shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
shell.sidebar_header(tracker)
experiments = shell.experiments(tracker, notify=False)  # the runs table warns, with its age
if not experiments:
    st.title("Hyperparameter insights")
    st.info("This tracker has no experiments yet.")
    st.stop()


def initial(key: str, value: Any) -> Any:
    """A widget's default, or None once its key holds a value (a link's or the user's)."""
    return None if key in st.session_state else value


def picker(label: str, options: list[str], default: str | None, key: str, param: str, where: Any = st) -> str:
    """A selectbox whose choice is in the link by its short name; a value that no longer exists falls back with a
    note."""
    prefix = options[0].split(".", 1)[0] + "."  # "metrics." or "params."
    links.restore(key, param, options=options, parse=lambda text: prefix + text, label=label.lower())
    index = 0 if key in st.session_state or default not in options else options.index(default)
    return where.selectbox(label, options, index=index, format_func=short, key=key)


def correlation_table(correlations: pd.DataFrame) -> None:
    st.subheader("Rank correlation")
    st.dataframe(charts.correlations_table(correlations), hide_index=True, width="stretch", placeholder="–",
                 column_config={
                     "spearman": st.column_config.NumberColumn("Spearman ρ", format="%.2f", help="Numeric params"),
                     "eta": st.column_config.NumberColumn("η", format="%.2f",
                                                          help="Categorical params: correlation ratio"),
                     "note": st.column_config.TextColumn(
                         "Note", width="medium", help="η is left out when most runs have a value of their own: "
                         "groups of one run give η = 1 whatever the param does")})


def progress_reporter(slot: Any) -> hp.Progress:
    """A progress bar in ``slot``, drawn on the first report (a cached result reports nothing: no flash)."""
    bar: list[Any] = []

    def report(done: float, text: str) -> None:
        if not bar:
            bar.append(slot.progress(0.0))
        bar[0].progress(min(max(done, 0.0), 1.0), text=f":material/model_training: {text}…")

    return report


# ---- what to explain: experiment, metric, its direction, summary rule, params, runs -----------------------------
with st.sidebar:
    experiment_id = shell.experiment_picker(experiments, key="hp_experiment")
runs = shell.runs(tracker, experiment_id)
metrics = columns_of(runs, "metrics")
title, link_slot = st.columns([5, 1], vertical_alignment="bottom")
title.title("Hyperparameter insights")
st.caption(f"{next(e.name for e in experiments if e.experiment_id == experiment_id)} · which params drive a metric, "
           "estimated by a surrogate model fitted to the finished runs")
notes = st.container()  # what of an opened link no longer applies, said once the widgets have read it
if not metrics:
    st.info("The runs of this experiment log no metrics yet: there is nothing to explain.")
    st.stop()

target_default = default_metric(runs, metrics)
varying = [p for p in columns_of(runs, "params") if runs[p].nunique(dropna=False) > 1]
with st.sidebar:
    target = picker("Metric", metrics, target_default, "hp_metric", "metric")
    direction = direction_control(tracker, experiment_id, target, key="hp_direction")
    links.restore("hp_rule", "rule", options=SUMMARY_RULES, label="summary rule")
    rule = st.segmented_control("Summary of its history", SUMMARY_RULES, key="hp_rule",
                                default=initial("hp_rule", "last")) or "last"
    links.restore("hp_params", "params", options=varying, multi=True, label="params")
    chosen = st.multiselect("Params", varying, default=initial("hp_params", varying), key="hp_params",
                            format_func=short, placeholder="Choose params",
                            help="The params the surrogate learns from (all that vary, unless you leave some out).")
    selected = [r for r in st.session_state.get(shell.SELECTED_RUNS, []) if r in set(runs["run_id"])]
    only_selected = len(selected) >= hp.MIN_RUNS and st.toggle(
        f"Only the {len(selected)} runs selected on Home", value=False, key="hp_only_selected")
    if len(selected) < hp.MIN_RUNS:
        st.caption(f"Select at least {hp.MIN_RUNS} runs on Home to explain only those."
                   + (f" ({plural(len(selected), 'run')} selected now.)" if selected else ""))

if rule != "last" and (extremes := shell.metric_extremes(tracker, experiment_id)) is not None:
    runs = apply_summary(runs, extremes, {target: rule})
if only_selected:
    runs = runs[runs["run_id"].isin(selected)]
if not chosen:
    st.info("Choose at least one param in the sidebar: the surrogate explains the metric by the params chosen.")
    st.stop()
training = runs[["run_id", "status", target, *chosen]]
digest, key_params = hp.training_digest(training), tuple(chosen)
# Drawn before the surrogate is fitted (seconds, more on big sweeps): the rank correlations need no model, so the
# page has content at once; the surrogate's figures and importance fill their places when the fit is done.
trust_area = st.container()
left, right = st.columns([3, 2])
with right:
    correlation_table(cached.hyperparams_correlations(digest, target, key_params, training))
with left:
    st.subheader("Which params matter")
    working = st.empty()  # where progress shows while the surrogate is fitted
try:
    study = cached.hyperparams_study(digest, target, key_params, training, progress_reporter(working))
except hp.TooFewRunsError as exc:
    working.empty()
    st.warning(str(exc), icon=":material/info:")
    with notes:
        links.fallback_notes()
    links.publish({"metric": short(target), "rule": rule, "params": chosen},
                  {"metric": short(target_default or ""), "rule": "last", "params": varying})
    st.stop()
s = hp.oriented(study.surrogate, direction)
working.empty()

# ---- trust ----------------------------------------------------------------------------------------------------
better = "higher is better" if s.higher_is_better else "lower is better"
with trust_area:
    cols = st.columns(4)
    cols[0].metric("Runs used", format_number(s.n_runs), help="Finished runs with a finite value of the metric.")
    cols[1].metric("Params", len(s.params), help="Params that vary among those runs.")
    cols[2].metric("Cross-validated R²", f"{s.cv_r2:.2f}", help=f"± {s.cv_r2_std:.2f} over the folds. 1 is perfect; "
                   "0 means the params explain nothing the mean would not.")
    cols[3].metric("Target", f"{short(target)} ({rule})", help=f"{better.capitalize()} (set in the sidebar).")
    if s.cv_r2 < 0.3:
        st.warning("The surrogate predicts this metric poorly (cross-validated R² below 0.3): the params shown do not "
                   "explain it well, so read what follows as hints, not findings.", icon=":material/warning:")

# ---- importance -----------------------------------------------------------------------------------------------
with left:
    st.altair_chart(charts.importance_chart(study.importance), width="stretch")
    sample = f" on a sample of {hp.IMPORTANCE_ROWS:,} runs" if s.n_runs > hp.BIG_STUDY else ""
    st.caption(f"Permutation importance on the surrogate{sample}, with its spread over "
               f"{hp.importance_shuffles(s.n_runs)} shuffles.")

# ---- effect of one param ----------------------------------------------------------------------------------------
st.subheader("Effect of a param")
ranked = list(study.importance["param"])
param = picker("Param", ranked, ranked[0], "hp_param", "param")
pdp, effects = cached.hyperparams_effect(digest, target, key_params, param, study)
if effects is None:
    st.altair_chart(charts.categorical_effect_chart(s, param, pdp), width="stretch")
    values = s.X[param].nunique()
    shown = f" Its {len(pdp)} most frequent of {values:,} values." if values > len(pdp) else ""
    st.caption("Partial dependence: the surrogate's average prediction with every run set to each value." + shown)
else:
    a, b = st.columns(2)
    a.markdown("**Partial dependence** (line) and the runs (dots)")
    a.altair_chart(charts.partial_dependence_chart(s, param, pdp), width="stretch")
    b.markdown("**Accumulated local effects**, robust to correlated params")
    b.altair_chart(charts.ale_chart(s, param, effects), width="stretch")

first = second = None
if len(ranked) >= 2:
    st.subheader("Two params together")
    a, b = st.columns(2)
    first = picker("First", ranked, ranked[0], "hp_first", "first", a)
    others = [p for p in ranked if p != first]
    second = picker("Second", others, others[0], "hp_second", "second", b)
    grid = cached.hyperparams_pair(digest, target, key_params, first, second, charts.INTERACTION_POINTS, study)
    st.altair_chart(charts.interaction_chart(s, first, second, grid), width="stretch")

# ---- where to look next -------------------------------------------------------------------------------------------
st.subheader("Where to look next")
upcoming = cached.hyperparams_next(digest, target, key_params, direction, study)
best = format_number(charts.best_seen(s))
if upcoming.exhausted:
    st.success(f"The grid is complete: every one of the {format_number(upcoming.combinations)} combinations of the "
               f"values the runs used has been run. Best run so far: {best}.", icon=":material/done_all:")
elif not upcoming.observed.empty:
    table = charts.suggestions_table(s, upcoming.observed)
    st.dataframe(table, hide_index=True, width="stretch", placeholder="", column_config={
        c: st.column_config.NumberColumn(format=f) for c, f in charts.suggestion_formats(s, table).items()})
    untried = ("" if upcoming.untried is None else
               f" ({format_number(upcoming.untried)} of {format_number(upcoming.combinations)} untried)")
    st.caption(f"Surrogate estimates for combinations of values the runs used that no run has tried{untried}, best "
               f"first (best run so far: {best}). An estimate, not a promise: confirm with real runs.")
if not upcoming.interpolated.empty:
    st.markdown("**Between the values tried** · interpolated, the surrogate has seen no run there")
    table = charts.suggestions_table(s, upcoming.interpolated)
    st.dataframe(table, hide_index=True, width="stretch", placeholder="", column_config={
        c: st.column_config.NumberColumn(format=f) for c, f in charts.suggestion_formats(s, table).items()})
    st.caption("Numeric params set midway between neighbouring values the runs used (geometric midpoints on wide "
               "ranges, whole numbers for integer params). A forest predicts flat between its training points: "
               "treat these as directions to explore.")

links.publish({"metric": short(target), "rule": rule, "params": chosen, "param": short(param),
               "first": first and short(first), "second": second and short(second)},
              {"metric": short(target_default or ""), "rule": "last", "params": varying, "param": short(ranked[0]),
               "first": short(ranked[0]), "second": short(ranked[1]) if len(ranked) > 1 else None})
with notes:
    links.fallback_notes()
with link_slot:
    links.copy_link_button(key="hp_copy_link")
