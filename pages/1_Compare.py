"""Compare runs: a compact table of the selected runs, one chart per metric, and the params that differ.

Which runs: ``?runs=id1,id2,…`` in the URL, else Home's selection (``st.session_state["lens.selected_runs"]``).
The resolved list is written back to the URL so the page can be shared; runs of the same experiment(s) can be
added or removed on the page. The logic lives in :mod:`lens_core.runs.compare` (runs, groups, tables),
:mod:`lens_core.runs.compare_metrics` (the charts' data) and :mod:`lens_core.runs.compare_charts` (their specs);
this file lays out the page, top to bottom: title (with *Copy link* and *Report*), the runs and the grouping (left
third), one chart per metric (the rest), the groups' statistics and a two-group test (when grouped), the trade-offs
(Pareto front), the runs' models and datasets, then the params diff. Its Streamlit parts beyond widget calls are in
:mod:`lens_core.ui.compare`. Every setting that changes what is shown is in the link (:mod:`lens_core.ui.links`).

Grouping: runs with the same values of the chosen params form a group, with one colour shared by the charts and
tables (:func:`lens_core.runs.colors.group_colors`). Single-value metrics become one bar per group (the aggregate of
the runs' latest values, an error bar for the spread, N in the label); series become one aggregate line per
group over a band, computed on a shared grid: the union of the steps the runs logged (capped at the points per
series, evenly spaced beyond), each run linearly interpolated between its own points and never extrapolated, so
a point's N counts only the runs covering it. Relative time is aligned the same way; wall time, meaningless across
runs, falls back to steps.

The metric charts are one Vega-Lite chart (:func:`lens_core.runs.compare_metrics.linked_figure`: rows of two
views, an odd one out alone on its row) sharing one hover selection on the run (or the group): hovering a run in
any chart highlights it in every chart, the others fade. The views are sized to the main panel, which a tiny component
measures in the browser (Vega-Lite cannot fit the views of a compound chart to its container): two to a row
when each keeps 300 px, else one. Clicking a run (ungrouped) opens its workflow page. Each chart's data (CSV)
and image (SVG, PNG, rendered on the server) are under *Export*; notes (runs lacking a metric, points not
drawn) are the charts' subtitles.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lens_core.format import MISSING, labels_by_id, plural
from lens_core.runs import stats
from lens_core.runs.colors import run_colors
from lens_core.runs.compare import (
    concat_runs,
    differing_params,
    group_runs,
    group_stats_table,
    groups_table,
    locate_runs,
    logged_params,
    md,
    non_finite_latest,
    params_diff,
    parse_run_ids,
    runs_table,
    small_groups,
    styled_params_diff,
    table_height,
    two_groups_table,
)
from lens_core.runs.compare_charts import PICK, SPREAD_TITLES, X_TITLES
from lens_core.runs.compare_metrics import ChartOptions, default_metrics, metric_names
from lens_core.runs.report import Report, ReportSection, render
from lens_core.trackers import Tracker
from lens_core.trackers.runs_table import INFO_COLUMNS
from lens_core.ui import cache as cached
from lens_core.ui import links, shell
from lens_core.ui.compare import (
    OPEN_RUN,
    TradeOffs,
    datasets_section,
    export_buttons,
    hold,
    models_section,
    open_picked_row,
    open_picked_run,
    panel_width,
    report_controls,
    section,
    trade_offs,
)

st.set_page_config(page_title="Compare runs · ExperimentLens", page_icon=":material/compare_arrows:", layout="wide",
                   initial_sidebar_state="collapsed")  # the charts need the width

STATE = st.session_state
X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}


def resolve_selection(tracker: Tracker) -> None:
    """Decide which runs to show when the page is opened (or its link changes), and put them in the run picker.
    A rerun caused by the page's own widgets keeps the picker as it is."""
    url = st.query_params.get("runs")
    home = tuple(STATE.get(shell.SELECTED_RUNS) or ())
    if url is not None:
        if url == STATE.get("compare.written") and "compare_runs" in STATE:
            return
        requested = parse_run_ids(url)
    elif home != STATE.get("compare.home"):
        requested = list(home)
    elif "compare_runs" in STATE:
        return
    else:  # back on the page from elsewhere: the last selection made here
        requested = list(STATE.get("compare.selection", home))
    STATE["compare.home"] = home
    located = locate_runs(tracker, requested, hints=STATE.get("compare.experiments", ()))  # faults: the page guard
    STATE["compare.unknown"] = list(located.missing)
    if located.experiment_ids:
        STATE["compare.experiments"] = list(located.experiment_ids)
    STATE["compare_runs"] = located.run_ids


def write_url(selected: list[str]) -> None:
    """The selection as a shareable link (``?runs=id1,id2``), remembered for coming back to the page."""
    if selected:
        STATE["compare.written"] = st.query_params["runs"] = ",".join(selected)
    else:
        STATE["compare.written"] = None
        st.query_params.pop("runs", None)
    STATE["compare.selection"] = selected


def pick_metrics(options: list[str], defaults: list[str]) -> list[str]:
    """The metric picker: follows the defaults until the user changes it, then keeps their choice."""
    if "compare_metrics" not in STATE or STATE["compare_metrics"] == STATE.get("compare.metric_defaults"):
        STATE["compare_metrics"] = defaults
    else:
        STATE["compare_metrics"] = [m for m in STATE["compare_metrics"] if m in options]
    STATE["compare.metric_defaults"] = defaults
    return st.multiselect(
        "Metrics", options, key="compare_metrics", label_visibility="collapsed", wrap=True,
        placeholder="Pick metrics to chart (by default up to 6 that all runs have)",
    )


# ---- which runs ------------------------------------------------------------------------------------------------
if target := STATE.pop(OPEN_RUN, None):
    st.switch_page(shell.RUN_PAGE, query_params={"run": target})
shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
experiments = {e.experiment_id: e for e in shell.experiments(tracker, notify=False)}  # runs tables warn
resolve_selection(tracker)
in_play = [e for e in STATE.get("compare.experiments", []) if e in experiments]
pool = concat_runs([shell.runs(tracker, e) for e in in_play]) if in_play else pd.DataFrame(columns=list(INFO_COLUMNS))
labels = labels_by_id(pool) if len(pool) else {}
STATE["compare_runs"] = [r for r in STATE.get("compare_runs", []) if r in labels]

shell.sidebar_header(tracker)

st.title("Compare runs")
if unknown := STATE.get("compare.unknown"):
    st.warning(
        f"{plural(len(unknown), 'run id')} from the link {'are' if len(unknown) > 1 else 'is'} not in this tracker "
        "(unknown or deleted): " + ", ".join(f"`{r}`" for r in unknown),
        icon=":material/warning:",
    )
if not len(pool):
    write_url([])
    st.info(
        "No runs to compare yet. Select runs in the runs table and press **Compare**, "
        "or open a link with `?runs=<run id>,<run id>`.",
        icon=":material/compare_arrows:",
    )
    st.page_link("Home.py", label="Back to the runs table", icon=":material/arrow_back:")
    st.stop()

header = st.container(horizontal=True, vertical_alignment="center", gap="medium")
link_notes = st.container()  # what of an opened link no longer applies: said once the widgets have read it
left, main = st.columns([1, 2], gap="large")
with left:
    st.subheader("Runs")
    selected: list[str] = st.multiselect(
        "Runs", pool["run_id"].tolist(), key="compare_runs", format_func=labels.__getitem__,
        placeholder="Add runs of " + (experiments[in_play[0]].name if len(in_play) == 1 else "these experiments"),
        label_visibility="collapsed", wrap=True,
    )
write_url(selected)
runs = pool.set_index("run_id").loc[selected].reset_index()
exp_ids = list(dict.fromkeys(runs["experiment_id"].astype(str))) if selected else in_play
with header:
    for e in exp_ids:
        st.page_link("Home.py", label=md(experiments[e].name), icon=":material/arrow_back:",
                     query_params={"experiment": e}, help="Back to this experiment's runs")
    st.caption(plural(len(selected), "run") + (f" from {len(exp_ids)} experiments" if len(exp_ids) > 1 else ""))
    st.space("stretch")
    tools = st.container(horizontal=True, gap="small", width="content")  # Copy link, Report: filled at the end
if not selected:
    main.info("No runs selected. Add runs to compare on the left.", icon=":material/compare_arrows:")
    st.stop()

colors = run_colors(selected)
differing = differing_params(runs)
logged = logged_params(runs)

# ---- left: grouping ----------------------------------------------------------------------------------------------
with left:
    group_options = differing + [c for c in logged if c not in differing]
    links.restore("compare_group", "group", options=group_options, multi=True, label="grouping param")
    hold("compare_group", [c for c in STATE.get("compare_group", []) if c in group_options])
    group_by: list[str] = st.multiselect(
        "Group by", group_options, key="compare_group", format_func=lambda c: c.removeprefix("params."),
        placeholder="Group runs by params (e.g. model) to aggregate seeds", wrap=True,
        help="Runs with the same values of these params form a group: charts then show one bar or line per "
        "group with its spread, and the groups' statistics and a two-group test appear below the charts.",
    )
    grouping = None
    links.restore("compare_agg", "agg", options=stats.AGGREGATIONS, label="aggregate")
    links.restore("compare_spread", "spread", options=stats.SPREADS, label="spread")
    hold("compare_agg", "mean")
    hold("compare_spread", "std")
    if group_by:
        with st.container(horizontal=True, gap="small"):
            aggregation = st.selectbox("Aggregate", stats.AGGREGATIONS, key="compare_agg", width=140)
            spread = st.selectbox("Spread", stats.SPREADS, key="compare_spread", format_func=SPREAD_TITLES.get,
                                  width=190, help="Error bars and bands. The 95 % CI is the t interval of the "
                                  "mean; ± std is drawn around the aggregate.")
        grouping = group_runs(runs, group_by, aggregation, spread)
        colors = {r: grouping.colors[g] for r, g in grouping.of.items()}  # runs wear their group's colour
        groups = groups_table(runs, grouping)
        st.dataframe(
            groups, hide_index=True, width="stretch", height=table_height(len(groups.data), 320),
            key="compare_groups_table",
            column_config={"color": st.column_config.TextColumn("", width=24),
                           "group": st.column_config.TextColumn(
                               " · ".join(c.removeprefix("params.") for c in group_by)),
                           "runs": st.column_config.NumberColumn("N", width=40, help="Runs in the group")},
        )

# ---- left: the selected runs -------------------------------------------------------------------------------------
with left:
    names = {e: experiments[e].name for e in exp_ids} if len(exp_ids) > 1 else None
    st.dataframe(
        runs_table(runs, labels, colors, differing, grouping, names), hide_index=True, width="stretch",
        height=table_height(len(selected), 600), key="compare_runs_table", selection_mode="single-row",
        on_select=lambda: open_picked_row("compare_runs_table", tuple(selected)),
        column_config={
            "color": st.column_config.TextColumn("", width=24),
            "run": st.column_config.TextColumn("Run"),
            "status": st.column_config.TextColumn("Status", width="small"),
        } | {c: st.column_config.TextColumn(c.removeprefix("params.")) for c in differing},
    )
    st.caption(
        f"{len(differing)} of {plural(len(logged), 'param')} differ between these runs; "
        "all are under *Params* below."
        if len(selected) > 1 else "Add runs above to compare them.",
        help="Tick a row (or click a run in a chart) to open the run's page.",
    )
    with st.expander("Open a run", icon=":material/open_in_new:", expanded=len(selected) <= 8):
        for run_id in selected:
            st.page_link(shell.RUN_PAGE, label=md(labels[run_id]), icon=":material/arrow_outward:",
                         query_params={"run": run_id})

# ---- main: one chart per metric ----------------------------------------------------------------------------------
POINTS = [250, 500, 1000, 2000, 5000]
VIEW_DEFAULTS = {"x": "step", "smooth": 0.0, "points": 1000, "log": False}
with main:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.subheader("Metrics", width="content")
        st.space("stretch")
        exports = st.popover("Export", icon=":material/download:", type="tertiary",
                             help="Each chart's data as CSV, and the chart as SVG or PNG")
    metrics = metric_names(runs)
    metric_defaults = default_metrics(runs)
    links.restore("compare_metrics", "metrics", options=metrics, multi=True, label="metric")
    picked = pick_metrics(metrics, metric_defaults)
    links.restore("compare_x", "x", options=list(X_TITLES), label="x axis")
    links.restore("compare_smoothing", "smooth", parse=lambda t: min(max(float(t), 0.0), 0.99), label="smoothing")
    links.restore("compare_points", "points", parse=int, options=POINTS, label="points per series")
    links.restore("compare_log", "log", parse=lambda t: {"1": True, "0": False}[t], label="log scale")
    for key, param in (("compare_x", "x"), ("compare_smoothing", "smooth"), ("compare_points", "points"),
                       ("compare_log", "log")):
        hold(key, VIEW_DEFAULTS[param])
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium", wrap=True):
        x_axis = st.segmented_control("X axis", list(X_TITLES), format_func=X_LABELS.get, required=True,
                                      key="compare_x", persist_state="session")
        smoothing = st.slider(
            "Smoothing", 0.0, 0.99, step=0.01, key="compare_smoothing", width=150, persist_state="session",
            help="Exponential moving average, debiased as in TensorBoard. The raw curve stays as a faint trace.",
        )
        max_points = st.select_slider(
            "Points per series", POINTS, key="compare_points", width=150, persist_state="session",
            help="Longer histories are downsampled on the server; each bucket keeps its minimum and maximum, "
            "so spikes and divergence stay visible.",
        )
        log_y = st.toggle("Log scale", key="compare_log", persist_state="session",
                          help="Series charts only. Points at or below zero cannot be drawn on a log scale.")
    options = ChartOptions(x=x_axis, smoothing=smoothing, log=log_y, max_points=max_points)
    if not metrics:
        st.info("These runs logged no metrics.", icon=":material/monitoring:")
    elif not picked:
        st.info("Pick one or more metrics to chart.", icon=":material/monitoring:")
    if not picked:
        exports.caption("No charts yet: pick metrics to chart.")
    drawn = None
    if picked:
        history = cached.history(tracker, tuple(selected), tuple(picked), max_points)
        drawn = cached.comparison_figure(history, runs, labels, colors, tuple(picked), options, tuple(group_by),
                                         grouping.aggregation if grouping else "mean",
                                         grouping.spread if grouping else "std", panel_width())
        with exports:
            for chart in drawn.metrics.charts:
                export_buttons(chart)
        if drawn.spec is not None:
            if grouping is None:
                st.vega_lite_chart(drawn.spec, width="content", theme=None, key="compare_charts",
                                   on_select=lambda: open_picked_run("compare_charts"), selection_mode=[PICK])
            else:
                st.vega_lite_chart(drawn.spec, width="content", theme=None)
        st.caption(drawn.metrics.hints, help=drawn.metrics.lacking)

# ---- groups: statistics and a two-group test ---------------------------------------------------------------------
statistics = test = None
if grouping and picked:
    st.divider()
    st.subheader("Groups")
    st.markdown("**Statistics per group**")
    statistics = group_stats_table(runs, grouping, picked)
    st.dataframe(
        statistics, hide_index=True, width="stretch", height=table_height(len(statistics.data), 500),
        key="compare_group_stats",
        column_config={"color": st.column_config.TextColumn("", width=24),
                       "metric": st.column_config.TextColumn("Metric"),
                       "group": st.column_config.TextColumn("Group"),
                       "count": st.column_config.NumberColumn("N", width=36, help="Runs with a finite latest value"),
                       "std": st.column_config.TextColumn("std", help="Sample standard deviation"),
                       "ci": st.column_config.TextColumn("95 % CI of the mean")},
    )
    infinite = non_finite_latest(runs, picked)
    st.caption("Latest value of each run; std is the sample standard deviation; the CI uses the t distribution."
               + (" Left out as non-finite: " + ", ".join(f"{plural(n, 'value')} of {md(k)}"
                                                         for k, n in infinite.items()) + "." if infinite else ""))
    st.markdown("**Two groups: difference of means**")
    order = list(grouping.order)
    if len(order) < 2:
        st.caption("Only one group: choose params whose values differ between the runs.")
    else:
        for name, param, default in (("compare_group_a", "ga", order[0]), ("compare_group_b", "gb", order[1])):
            links.restore(name, param, options=order, label="group")
            hold(name, STATE.get(name) if STATE.get(name) in order else default)
        group_a, group_b = STATE["compare_group_a"], STATE["compare_group_b"]
        if len(order) > 2:
            with st.container(horizontal=True, gap="small"):
                group_a = st.selectbox("Group A", order, key="compare_group_a", width=320)
                group_b = st.selectbox("Group B", order, key="compare_group_b", width=320)
        sizes = grouping.sizes()
        if group_a == group_b:
            st.info("Pick two different groups.", icon=":material/info:")
        else:
            test = two_groups_table(runs, grouping, group_a, group_b, picked)
            st.dataframe(
                test, hide_index=True, width="stretch", height=table_height(len(test.data), 500),
                key="compare_two_groups",
                column_config={
                    "A": st.column_config.TextColumn("mean A (N)", help=f"A = {group_a}: mean of the latest "
                                                     "values (N runs)"),
                    "B": st.column_config.TextColumn("mean B (N)", help=f"B = {group_b}: mean of the latest "
                                                     "values (N runs)"),
                    "ci": st.column_config.TextColumn("95 % CI", help="Welch–Satterthwaite degrees of freedom"),
                    "metric": st.column_config.TextColumn("Metric"),
                    "diff": st.column_config.TextColumn("A − B", help="Difference of the means"),
                    "p": st.column_config.TextColumn("p", help="Welch's two-sided t-test (bold below 0.05)",
                                                     width=64),
                },
            )
            if few := small_groups(grouping, (group_a, group_b)):
                st.warning("Fewer than 3 runs in " + " and ".join(f"{md(g)} ({plural(n, 'run')})"
                                                                   for g, n in few.items())
                           + ": the interval and the p-value are unreliable (undefined below 2).",
                           icon=":material/warning:")
            st.caption(f"A = {md(group_a)} ({plural(sizes[group_a], 'run')}), B = {md(group_b)} "
                       f"({plural(sizes[group_b], 'run')}); latest value of each run; Welch's t-test does not "
                       "assume equal variances.")

# ---- trade-offs: the Pareto front of two (or three) metrics ------------------------------------------------------
links.restore("compare_pareto", "tradeoffs", parse=lambda t: {"1": True, "0": False}[t], label="trade-offs")
hold("compare_pareto", False)
tradeoffs: TradeOffs | None = None
if section("Trade-offs", "Show the Pareto front", "compare_pareto",
           help="The runs no other run beats on both metrics at once"):
    tradeoffs = trade_offs(tracker, runs, labels, metrics, exp_ids[0] if len(exp_ids) == 1 else None)
else:
    st.caption("Which runs no other run beats on two metrics at once (say accuracy and latency). "
               "Turn on *Show the Pareto front*.")

# ---- the runs' models: ROC, confusion matrices, PDP of one feature -------------------------------------------------
for key, param in (("compare_models", "models"), ("compare_datasets", "data"), ("compare_all_params", "allparams")):
    links.restore(key, param, parse=lambda t: {"1": True, "0": False}[t], label="section")
    hold(key, False)
if section("Models", "Evaluate the runs' models", "compare_models",
           help="Loads each run's logged model and test data (a few seconds the first time)."):
    models_section(tracker, selected, labels, colors)
else:
    st.caption("ROC curves, confusion matrices and a feature's partial dependence of the selected runs' models, "
               "on shared charts. Turn on *Evaluate the runs' models*.")

# ---- the datasets the runs share: one column's distribution per run ----------------------------------------------
if section("Datasets", "Compare the runs' datasets", "compare_datasets",
           help="Reads the dataset inputs the runs logged (their files must be readable here)."):
    datasets_section(tracker, selected, labels, colors)
else:
    st.caption("Per-column distributions of a dataset several runs logged, overlaid by run (computed in DuckDB). "
               "Turn on *Compare the runs' datasets*.")

# ---- params diff -------------------------------------------------------------------------------------------------
show_all = section("Params", "Show all params", "compare_all_params", persist_state="session")
diff = params_diff(runs, labels, only_differing=not show_all)
if diff.empty:
    st.caption("These runs logged no params." if not logged else
               "Every param has the same value in all these runs. Turn on *Show all params* to see them.")
else:
    st.dataframe(
        styled_params_diff(diff, differing, highlight=show_all), width="stretch", height=table_height(len(diff), 600),
        column_config={"param": st.column_config.TextColumn("Param", pinned=True)},
    )
    st.caption(
        f"{len(differing)} of {plural(len(logged), 'param')} differ"
        + (" (highlighted)" if show_all and differing else "") + f" · {MISSING} not logged by that run"
    )

# ---- the view as a link, and as a report -------------------------------------------------------------------------
links.publish(
    {"group": group_by, "agg": STATE.get("compare_agg") if group_by else None,
     "spread": STATE.get("compare_spread") if group_by else None, "metrics": picked, "x": x_axis,
     "smooth": smoothing, "points": max_points, "log": log_y, "tradeoffs": STATE.get("compare_pareto"),
     "models": STATE.get("compare_models"), "data": STATE.get("compare_datasets"), "allparams": show_all,
     "ga": STATE.get("compare_group_a") if test is not None else None,
     "gb": STATE.get("compare_group_b") if test is not None else None}
    | (tradeoffs.picks if tradeoffs else {}),
    {"agg": "mean", "spread": "std", "metrics": metric_defaults, **VIEW_DEFAULTS, "tradeoffs": False,
     "models": False, "data": False, "allparams": False, "pc": "(none)"},
)
with link_notes:
    links.fallback_notes()


def build_report() -> str:
    """This view as one self-contained HTML file (built only when asked)."""
    sections = []
    if drawn is not None and drawn.metrics.figure is not None:
        sections.append(ReportSection("Metrics", drawn.metrics.figure, note=drawn.metrics.hints.replace("\\", "")))
    if statistics is not None:
        sections.append(ReportSection("Statistics per group", table=statistics))
    if test is not None:
        sections.append(ReportSection("Two groups: difference of means", table=test))
    if tradeoffs is not None:
        sections.append(ReportSection("Trade-offs", tradeoffs.chart.properties(width=640),
                                      note=tradeoffs.points.note or ""))
    sections.append(ReportSection("Params" + ("" if show_all else " that differ"), table=diff.reset_index()))
    names = ", ".join(experiments[e].name for e in exp_ids)
    return render(Report(title=f"Compare {plural(len(selected), 'run')} · {names}", tracker=tracker.display_uri,
                         link=links.current_link(), created=pd.Timestamp.now(tz="UTC"), sections=tuple(sections),
                         summary="Runs: " + ", ".join(labels[r] for r in selected)))


with tools:
    links.copy_link_button(key="compare_copy_link")
report_controls(tools, build_report, links.current_link())
