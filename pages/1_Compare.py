"""Compare runs: a compact table of the selected runs, one chart per metric, and the params that differ.

Which runs: ``?runs=id1,id2,…`` in the URL, else Home's selection (``st.session_state["lens.selected_runs"]``).
The resolved list is written back to the URL so the page can be shared; runs of the same experiment(s) can be
added or removed on the page. The logic lives in :mod:`lens_core.runs.compare` (runs, groups, tables),
:mod:`lens_core.runs.compare_metrics` (the charts' data) and :mod:`lens_core.runs.compare_charts` (their specs);
this file lays out the page, top to bottom: title, the runs and the grouping (left third), one chart per metric (the rest),
the groups' statistics and a two-group test (when grouped), then the params diff.

Grouping: runs with the same values of the chosen params form a group, with one colour shared by the charts and
tables (:func:`lens_core.runs.colors.group_colors`). Single-value metrics become one bar per group (the aggregate of
the runs' latest values, an error bar for the spread, N in the label); series become one aggregate line per
group over a band, computed on a shared grid: the union of the steps the runs logged (capped at the points per
series, evenly spaced beyond), each run linearly interpolated between its own points and never extrapolated, so
a point's N counts only the runs covering it. Relative time is aligned the same way; wall time, meaningless across
runs, falls back to steps.

The metric charts are one Vega-Lite chart (:func:`lens_core.runs.compare_metrics.linked_figure`: rows of two
views, an odd one out alone on its row) sharing one hover selection on the run (or the group): hovering a run in any chart
highlights it in every chart, the others fade. The views are sized to the main panel, which a tiny component
measures in the browser (Vega-Lite cannot fit the views of a compound chart to its container): two to a row
when each keeps 300 px, else one. Clicking a run (ungrouped) opens its workflow page. Each chart's data (CSV)
and image (SVG, PNG, rendered on the server) are under *Export*; notes (runs lacking a metric, points not
drawn) are the charts' subtitles.
"""
from __future__ import annotations

import re
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

from lens_core.errors import LensError
from lens_core.insights import charts as insight_charts
from lens_core.export import chart_png, chart_svg
from lens_core.runs import stats
from lens_core.runs.colors import run_colors
from lens_core.runs.compare import (
    MISSING,
    concat_runs,
    differing_params,
    group_runs,
    group_stats_table,
    groups_table,
    locate_runs,
    logged_params,
    md,
    params_diff,
    parse_run_ids,
    run_labels,
    runs_table,
    small_groups,
    styled_params_diff,
    table_height,
    two_groups_table,
)
from lens_core.runs.compare_charts import (
    DEFAULT_PANEL_WIDTH,
    PICK,
    SPREAD_TITLES,
    X_TITLES,
    chart_config,
    distribution_chart,
    picked_run,
)
from lens_core.runs.compare_metrics import (
    SERIES,
    ChartOptions,
    MetricChart,
    default_metrics,
    linked_figure,
    metric_chart,
    metric_hints,
    metric_kinds,
    metric_names,
)
from lens_core.trackers import Tracker
from lens_core.trackers.runs_table import INFO_COLUMNS
from lens_core.ui import cache as cached
from lens_core.ui import shell

st.set_page_config(page_title="Compare runs · ExperimentLens", page_icon=":material/compare_arrows:", layout="wide",
                   initial_sidebar_state="collapsed")  # the charts need the width

STATE = st.session_state
X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
#: Width of a chart exported as SVG or PNG (pixels, y axis included).
EXPORT_WIDTH = 640
#: Measures the element's width in the browser and reports it (as ``width``) when it differs from
#: ``data.width`` by more than a few pixels: Vega-Lite cannot size the views of a compound chart to its
#: container, so the page sizes them itself.
WIDTH_METER_JS = """
export default function ({ parentElement, data, setStateValue }) {
  const known = (data && data.width) || 0;
  let timer = null;
  const measure = () => {
    const width = Math.round(parentElement.getBoundingClientRect().width);
    clearTimeout(timer);
    if (width > 0 && Math.abs(width - known) > 3) {
      timer = setTimeout(() => setStateValue("width", width), 150);
    }
  };
  const observer = new ResizeObserver(measure);
  observer.observe(parentElement);
  measure();
  return () => { observer.disconnect(); clearTimeout(timer); };
}
"""
width_meter = st.components.v2.component("experimentlens.panel_width", js=WIDTH_METER_JS, isolate_styles=False)


def section(title: str, toggle_label: str, key: str, **toggle_options: object) -> bool:
    """A divided section headed by its title, with a toggle on the right; returns the toggle's state."""
    st.divider()
    head, right = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader(title)
    return right.toggle(toggle_label, key=key, **toggle_options)


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


def open_picked_run(chart_key: str) -> None:
    """A click on a run in a chart: remember it; the next run of the script opens the run's workflow page."""
    if run_id := picked_run(STATE.get(chart_key)):
        STATE["compare.open_run"] = run_id


def open_picked_row(table_key: str, run_ids: tuple[str, ...]) -> None:
    """A row picked in the runs table: open that run's workflow page on the next run of the script."""
    try:
        rows = STATE[table_key]["selection"]["rows"]
    except (KeyError, TypeError):
        return
    if rows and 0 <= rows[0] < len(run_ids):
        STATE["compare.open_run"] = run_ids[rows[0]]


def export_buttons(chart: MetricChart) -> None:
    """A metric's CSV, SVG and PNG downloads (images rendered on the server only when clicked, without the
    hover, at a fixed width)."""
    stem = re.sub(r"[^\w.-]+", "_", chart.key)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(f"**{md(chart.key)}**", width="stretch")
        st.download_button(
            "CSV", chart.export.to_csv(index=False).encode("utf-8"), file_name=stem + ".csv",
            mime="text/csv", icon=":material/download:", type="tertiary", on_click="ignore", key=f"csv_{chart.key}",
            help=f"This chart's data ({len(chart.export)} rows)",
        )
        if chart.points:
            def figure() -> alt.TopLevelMixin:
                return chart_config(chart.make(width=EXPORT_WIDTH, subtitle=chart.notes, hover=False, listen=False))

            st.download_button("SVG", lambda: chart_svg(figure()), file_name=stem + ".svg", mime="image/svg+xml",
                               type="tertiary", on_click="ignore", key=f"svg_{chart.key}", help="This chart as SVG")
            st.download_button("PNG", lambda: chart_png(figure()), file_name=stem + ".png", mime="image/png",
                               type="tertiary", on_click="ignore", key=f"png_{chart.key}", help="This chart as PNG")


def panel_width() -> int:
    """The main panel's width in pixels as the browser lays it out, so the charts fill it: a tiny component
    measures it (and reports a change of more than a few pixels, which reruns the page); until then, the
    width at a 1400 px window."""
    known = int(STATE.get("compare.panel_width") or DEFAULT_PANEL_WIDTH)
    measured = width_meter(key="compare_panel_meter", data={"width": known}, default={"width": None},
                           on_width_change=lambda: None, height=1).width
    if isinstance(measured, (int, float)) and 200 <= measured <= 10_000:
        STATE["compare.panel_width"] = known = int(measured)
    return known


# ---- which runs ------------------------------------------------------------------------------------------------
if target := STATE.pop("compare.open_run", None):
    st.switch_page(shell.RUN_PAGE, query_params={"run": target})
shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
experiments = {e.experiment_id: e for e in shell.experiments(tracker, notify=False)}  # runs tables warn
resolve_selection(tracker)
in_play = [e for e in STATE.get("compare.experiments", []) if e in experiments]
pool = concat_runs([shell.runs(tracker, e) for e in in_play]) if in_play else pd.DataFrame(columns=list(INFO_COLUMNS))
labels = run_labels(pool)
STATE["compare_runs"] = [r for r in STATE.get("compare_runs", []) if r in labels]

shell.sidebar_header(tracker)

st.title("Compare runs")
if unknown := STATE.get("compare.unknown"):
    st.warning(
        f"{len(unknown)} run id{'s' if len(unknown) > 1 else ''} from the link "
        f"{'are' if len(unknown) > 1 else 'is'} not in this tracker (unknown or deleted): "
        + ", ".join(f"`{r}`" for r in unknown),
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
    st.caption(f"{len(selected)} run{'' if len(selected) == 1 else 's'}"
               + (f" from {len(exp_ids)} experiments" if len(exp_ids) > 1 else ""))
if not selected:
    main.info("No runs selected. Add runs to compare on the left.", icon=":material/compare_arrows:")
    st.stop()

colors = run_colors(selected)
differing = differing_params(runs)

# ---- left: grouping ----------------------------------------------------------------------------------------------
with left:
    group_options = differing + [c for c in logged_params(runs) if c not in differing]
    STATE["compare_group"] = [c for c in STATE.get("compare_group", []) if c in group_options]
    group_by: list[str] = st.multiselect(
        "Group by", group_options, key="compare_group", format_func=lambda c: c.removeprefix("params."),
        placeholder="Group runs by params (e.g. model) to aggregate seeds", wrap=True,
        help="Runs with the same values of these params form a group: charts then show one bar or line per "
        "group with its spread, and the groups' statistics and a two-group test appear below the charts.",
    )
    grouping = None
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
                           "group": st.column_config.TextColumn(" · ".join(c.removeprefix("params.") for c in group_by)),
                           "runs": st.column_config.NumberColumn("N", width=40, help="Runs in the group")},
        )

# ---- left: the selected runs -------------------------------------------------------------------------------------
with left:
    names = {e: experiments[e].name for e in exp_ids} if len(exp_ids) > 1 else None
    st.dataframe(
        runs_table(runs, labels, colors, differing, grouping, names), hide_index=True, width="stretch",
        height=table_height(len(selected), 600), key="compare_runs_table", selection_mode="single-row",
        on_select=partial(open_picked_row, "compare_runs_table", tuple(selected)),
        column_config={
            "color": st.column_config.TextColumn("", width=24),
            "run": st.column_config.TextColumn("Run"),
            "status": st.column_config.TextColumn("Status", width="small"),
        } | {c: st.column_config.TextColumn(c.removeprefix("params.")) for c in differing},
    )
    st.caption(
        f"{len(differing)} of {len(logged_params(runs))} params differ between these runs; "
        "all are under *Params* below."
        if len(selected) > 1 else "Add runs above to compare them.",
        help="Tick a row (or click a run in a chart) to open the run's page.",
    )
    with st.expander("Open a run", icon=":material/open_in_new:", expanded=len(selected) <= 8):
        for run_id in selected:
            st.page_link(shell.RUN_PAGE, label=md(labels[run_id]), icon=":material/arrow_outward:",
                         query_params={"run": run_id})

# ---- main: one chart per metric ----------------------------------------------------------------------------------
with main:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.subheader("Metrics", width="content")
        st.space("stretch")
        exports = st.popover("Export", icon=":material/download:", type="tertiary",
                             help="Each chart's data as CSV, and the chart as SVG or PNG")
    metrics = metric_names(runs)
    picked = pick_metrics(metrics, default_metrics(runs))
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium", wrap=True):
        x_axis = st.segmented_control(
            "X axis", list(X_TITLES), format_func=X_LABELS.get,
            default="step", required=True, key="compare_x", persist_state="session",
        )
        smoothing = st.slider(
            "Smoothing", 0.0, 0.99, 0.0, 0.01, key="compare_smoothing", persist_state="session", width=150,
            help="Exponential moving average, debiased as in TensorBoard. The raw curve stays as a faint trace.",
        )
        max_points = st.select_slider(
            "Points per series", [250, 500, 1000, 2000, 5000], value=1000, key="compare_points", width=150,
            persist_state="session",
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
    if picked:
        history = cached.history(tracker, tuple(selected), tuple(picked), max_points)
        kinds = metric_kinds(history, picked)
        metric_charts = [metric_chart(k, series=kinds[k] == SERIES, history=history, runs=runs, labels=labels,
                                      colors=colors, options=options,
                                      grouping=grouping) for k in picked]
        with exports:
            for chart in metric_charts:
                export_buttons(chart)
        clickable = grouping is None
        if any(c.points for c in metric_charts):
            figure = linked_figure(metric_charts, panel_width(), grouped=not clickable, pick=clickable)
            if clickable and figure.params is not alt.Undefined:
                st.altair_chart(figure, width="content", theme=None, key="compare_charts",
                                on_select=partial(open_picked_run, "compare_charts"), selection_mode=[PICK])
            else:
                st.altair_chart(figure, width="content", theme=None)
        hints, lacking = metric_hints(metric_charts, grouping, options, clickable)
        st.caption(hints, help=lacking)

# ---- groups: statistics and a two-group test ---------------------------------------------------------------------
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
    st.caption("Latest value of each run; std is the sample standard deviation; the CI uses the t distribution.")
    st.markdown("**Two groups: difference of means**")
    order = list(grouping.order)
    if len(order) < 2:
        st.caption("Only one group: choose params whose values differ between the runs.")
    else:
        if len(order) == 2:
            group_a, group_b = order
        else:
            for name, default in (("compare_group_a", order[0]), ("compare_group_b", order[1])):
                if STATE.get(name) not in order:
                    STATE[name] = default
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
                st.warning("Fewer than 3 runs in " + " and ".join(
                    f"{md(g)} ({n} run{'s' if n != 1 else ''})" for g, n in few.items()) + ": the interval and "
                    "the p-value are unreliable (undefined below 2).", icon=":material/warning:")
            st.caption(f"A = {md(group_a)} ({sizes[group_a]} runs), B = {md(group_b)} ({sizes[group_b]} runs); "
                       "latest value of each run; Welch's t-test does not assume equal variances.")

# ---- the runs' models: ROC, confusion matrices, PDP of one feature -------------------------------------------------
MAX_MODEL_RUNS = 12
with_models = section("Models", "Evaluate the runs' models", "compare_models",
                      help="Loads each run's logged model and test data (a few seconds the first time).")
if not with_models:
    st.caption("ROC curves, confusion matrices and a feature's partial dependence of the selected runs' models, "
               "on shared charts. Turn on *Evaluate the runs' models*.")
else:
    model_runs = tuple(selected[:MAX_MODEL_RUNS])
    if len(selected) > MAX_MODEL_RUNS:
        st.caption(f"The first {MAX_MODEL_RUNS} of {len(selected)} runs.")
    roc = cached.roc_across_runs(tracker, model_runs)
    confusion = cached.confusion_across_runs(tracker, model_runs)
    skipped = {**roc.skipped, **confusion.skipped}
    if skipped:
        with st.expander(f"{len(skipped)} run{'s' if len(skipped) > 1 else ''} without a usable classifier"):
            for run_id, why in skipped.items():
                st.caption(f"**{md(labels.get(run_id, run_id))}**: {why}")
    roc_col, pdp_col = st.columns(2)
    with roc_col:
        st.markdown("**ROC curves** (test data of each run)")
        if roc.frame.empty:
            st.caption("No classifier with test data among these runs.")
        else:
            curves = insight_charts.run_curves(roc.frame, selected, labels, colors, score=("roc_auc", "AUC"))
            st.altair_chart(insight_charts.roc_chart(curves.frame, colors=curves.colors), width="stretch")
    with pdp_col:
        st.markdown("**Partial dependence of one feature**")
        if not roc.loaded:  # regressors load too: skipped for the ROC curve, explained here
            st.caption("No run with a model and test data to explain.")
        else:
            features = list(cached.insight_inputs(tracker, roc.loaded[0]).X_test.columns)
            feature = st.selectbox("Feature", features, key="compare_pdp_feature")
            pdp = cached.pdp_across_runs(tracker, roc.loaded, feature)
            if pdp.frame.empty:
                st.caption(f"No run's model uses {feature}.")
            else:
                lines = insight_charts.run_curves(pdp.frame, selected, labels, colors)
                st.altair_chart(insight_charts.pdp_chart(
                    lines.frame, feature=feature, output="Average prediction",
                    categorical=not pd.api.types.is_numeric_dtype(pdp.frame["value"]), colors=lines.colors),
                    width="stretch")
    if not confusion.frame.empty:
        st.markdown("**Confusion matrices** (rows: actual, columns: predicted; share of each actual class)")
        runs_with = [r for r in selected if r in set(confusion.frame["run_id"])]
        per_row = 4
        for start in range(0, len(runs_with), per_row):
            for col, run_id in zip(st.columns(per_row), runs_with[start:start + per_row], strict=False):
                col.caption(md(labels[run_id]))
                col.altair_chart(insight_charts.confusion_chart(
                    confusion.frame[confusion.frame["run_id"] == run_id], normalised=True, height=180), width="stretch")


# ---- the datasets the runs share: one column's distribution per run ----------------------------------------------
with_data = section("Datasets", "Compare the runs' datasets", "compare_datasets",
                    help="Reads the dataset inputs the runs logged (their files must be readable here).")
if not with_data:
    st.caption("Per-column distributions of a dataset several runs logged, overlaid by run (computed in DuckDB). "
               "Turn on *Compare the runs' datasets*.")
else:
    shared = cached.shared_datasets(tracker, tuple(selected))
    if not shared:
        st.info("No dataset with a readable source is shared by two or more of these runs "
                "(`mlflow.log_input` keeps only metadata; the source file must exist on this machine).",
                icon=":material/dataset:")
    else:
        c1, c2 = st.columns([1, 2])
        name = c1.selectbox("Dataset", list(shared), format_func=lambda n: f"{n} · {len(shared[n])} runs",
                            key="compare_dataset")
        files = tuple(sorted((r, str(p)) for r, p in shared[name].items()))
        columns = cached.dataset_columns(files)
        picked_columns = c2.multiselect("Columns", columns, default=columns[:3], key=f"compare_dataset_cols_{name}")
        in_data = [r for r in selected if r in shared[name]]
        for column in picked_columns:
            try:
                distribution = cached.dataset_distribution(files, column)
            except LensError as exc:
                st.warning(f"{column}: {exc}", icon=":material/warning:")
                continue
            st.altair_chart(distribution_chart(distribution, column, labels, in_data, colors), width="stretch",
                            theme=None)
        st.caption("Numeric columns: shared bins over all runs' files; others: the 20 most frequent values.")

# ---- params diff -------------------------------------------------------------------------------------------------
show_all = section("Params", "Show all params", "compare_all_params", persist_state="session")
diff = params_diff(runs, labels, only_differing=not show_all)
if diff.empty:
    st.caption("These runs logged no params." if not logged_params(runs) else
               "Every param has the same value in all these runs. Turn on *Show all params* to see them.")
else:
    st.dataframe(
        styled_params_diff(diff, differing, highlight=show_all), width="stretch", height=table_height(len(diff), 600),
        column_config={"param": st.column_config.TextColumn("Param", pinned=True)},
    )
    st.caption(
        f"{len(differing)} of {len(logged_params(runs))} params differ"
        + (" (highlighted)" if show_all and differing else "") + f" · {MISSING} not logged by that run"
    )
