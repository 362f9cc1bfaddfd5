"""Compare runs: a compact table of the selected runs, one chart per metric, and the params that differ.

Which runs: ``?runs=id1,id2,…`` in the URL, else Home's selection (``st.session_state["lens.selected_runs"]``).
The resolved list is written back to the URL so the page can be shared; runs of the same experiment(s) can be
added or removed on the page. The logic lives in :mod:`lens_core.runs.compare` and :mod:`lens_core.runs.stats`; this file
lays out the page, top to bottom: title, the runs and the grouping (left third), one chart per metric (the rest),
the groups' statistics and a two-group test (when grouped), then the params diff.

Grouping: runs with the same values of the chosen params form a group, with one colour shared by the charts and
tables (:func:`lens_core.runs.colors.group_colors`). Single-value metrics become one bar per group (the aggregate of
the runs' latest values, an error bar for the spread, N in the label); series become one aggregate line per
group over a band, computed on a shared grid: the union of the steps the runs logged (capped at the points per
series, evenly spaced beyond), each run linearly interpolated between its own points and never extrapolated, so
a point's N counts only the runs covering it. Relative time is aligned the same way; wall time, meaningless across
runs, falls back to steps.

The metric charts are one Vega-Lite chart (:func:`lens_core.runs.compare.linked_grid`: rows of two views, an odd
one out alone on its row) sharing one hover selection on the run (or the group): hovering a run in any chart
highlights it in every chart, the others fade. The views are sized to the main panel, which a tiny component
measures in the browser (Vega-Lite cannot fit the views of a compound chart to its container): two to a row
when each keeps 300 px, else one. Clicking a run (ungrouped) opens its workflow page. Each chart's data (CSV)
and image (SVG, PNG, rendered on the server) are under *Export*; notes (runs lacking a metric, points not
drawn) are the charts' subtitles.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import altair as alt
import pandas as pd
import streamlit as st

from lens_core.ui import cache as cached
from lens_core.runs import stats
from lens_core.runs.colors import group_colors, run_colors
from lens_core.runs.compare import (
    DEFAULT_PANEL_WIDTH,
    MISSING,
    PICK,
    SERIES,
    SPREAD_TITLES,
    X_TITLES,
    bar_chart,
    cell_widths,
    chart_config,
    concat_runs,
    default_metrics,
    differing_params,
    drawable,
    export_frame,
    group_bar_chart,
    group_bar_data,
    group_line_chart,
    group_stats,
    grid_columns,
    line_chart,
    link_plan,
    linked_grid,
    locate_runs,
    logged_params,
    metric_kinds,
    metric_names,
    params_diff,
    parse_run_ids,
    picked_run,
    run_labels,
    series_data,
    single_data,
    two_groups,
)
from lens_core.errors import LensError
from lens_core.export import chart_png, chart_svg
from lens_core.trackers.runs_table import INFO_COLUMNS
from lens_core.trackers import Tracker

st.set_page_config(page_title="Compare runs · ExperimentLens", page_icon=":material/compare_arrows:", layout="wide",
                   initial_sidebar_state="collapsed")  # the charts need the width

#: The workflow page, linked from every run name.
RUN_PAGE = "pages/2_Run.py"
STATE = st.session_state
X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
STATUS_STYLE = {"failed": "color: #c92a2a", "killed": "color: #c92a2a", "running": "color: #1c7ed6"}
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


def md(text: str) -> str:
    """Text shown literally inside Streamlit markdown (run names may hold `*`, `_`, `[`, `:`…)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~:$])", r"\\\1", text)


def num(value: float, digits: int = 4) -> str:
    """A statistic as table text: 4 significant digits, :data:`MISSING` when undefined."""
    return f"{value:.{digits}g}" if isinstance(value, (int, float)) and np.isfinite(value) else MISSING


def resolve_selection(tracker: Tracker) -> None:
    """Decide which runs to show when the page is opened (or its link changes), and put them in the run picker.
    A rerun caused by the page's own widgets keeps the picker as it is."""
    url = st.query_params.get("runs")
    home = tuple(STATE.get("lens.selected_runs") or ())
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


def grid(items: list, per_row: int = 2) -> list[list]:
    """Charts ``per_row`` to a row; an odd one out takes the whole row (the page lays out line charts first,
    then bars, so a tall bar chart never sits beside a short line chart)."""
    return [items[i : i + per_row] for i in range(0, len(items), per_row)]


def run_link(run_id: str, label: str) -> None:
    st.page_link(RUN_PAGE, label=md(label), icon=":material/arrow_outward:", query_params={"run": run_id})


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


@dataclass(frozen=True)
class MetricChart:
    """One metric as the page charts it: ``make(width=…, subtitle=…, hover=…, listen=…, linked=…)`` builds its
    chart (see :func:`lens_core.runs.compare.line_chart`), ``points`` how many rows it draws, ``notes`` what the
    subtitle says, ``export`` its data as a CSV has it, ``lacking`` the labels of the runs without it."""

    key: str
    make: Callable[..., alt.TopLevelMixin]
    points: int
    notes: str
    export: pd.DataFrame
    lacking: list[str]
    dropped_note: str


def metric_chart(key: str, series: bool) -> MetricChart:
    """One metric's chart, notes and data (lines for a series, bars for single values; by group when
    grouped), from the page's selection (runs, labels, colours, groups) and chart options."""
    if series:
        data = series_data(history, runs, labels, key, x=x_axis, smoothing=smoothing)
        shown, dropped = drawable(data, log_y, ("value", "smoothed"))
        if grouped:
            band = stats.series_band(shown.assign(x=shown["step"] if x_axis != "relative" else shown["minutes"]),
                                     group_of, aggregation, spread, y="smoothed" if smoothing else "value",
                                     max_points=max_points)
            if log_y:  # a band reaching zero or below is cut at the line on a log scale
                band = band[band["center"] > 0]
                band = band.assign(low=band["low"].where(band["low"] > 0, band["center"]))
            make = partial(group_line_chart, band, key, group_list, group_palette, x=x_axis, log=log_y,
                           aggregation=aggregation, spread=spread)
            export, shown = band.rename(columns={"center": aggregation, "x": X_TITLES[
                "relative" if x_axis == "relative" else "step"]}), band
            kind = f"{aggregation} per group" + (f", band {SPREAD_TITLES[spread]}" if spread != "none" else "")
        else:
            make = partial(line_chart, shown, key, order, palette, x=x_axis, log=log_y, smoothed=smoothing > 0)
            export, kind = export_frame(data, key, smoothed=smoothing > 0), "metric history"
    else:
        data = single_data(runs, labels, key)
        shown, dropped = drawable(data)
        if grouped:
            bars = group_bar_data(runs, group_series, key, group_list, aggregation, spread)
            make = partial(group_bar_chart, bars, key, list(group_list), group_palette, aggregation, spread)
            export = bars.drop(columns="label").rename(columns={"center": aggregation, "low": "error_low",
                                                                "high": "error_high"})
            shown, kind = bars, f"{aggregation} of the latest values"
        else:
            make = partial(bar_chart, shown, key, order, palette)
            export, kind = export_frame(data, key), "latest value of each run"
    lacking = [labels[r] for r in selected if r not in set(data["run_id"])]
    notes = [kind]
    if lacking:
        notes.append(f"{len(lacking)} of {len(selected)} runs lack it")
    dropped_note = ""
    if dropped:
        why = "non-finite or ≤ 0 on a log scale" if series and log_y else "non-finite"
        dropped_note = f"{dropped} {why} point{'s' if dropped > 1 else ''} not drawn"
        notes.append(dropped_note)
    return MetricChart(key, make, len(shown), " · ".join(notes), export, lacking, dropped_note)


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


def linked_charts(charts: list[MetricChart]) -> None:
    """Every drawable metric in one Vega-Lite chart, two to a row when the panel is wide enough (series first,
    then bars; an odd one out takes the whole row), sharing one hover: a run (or group) hovered in any chart
    is highlighted in all of them; a click on a run opens its page."""
    width = panel_width()
    per_row = grid_columns(width)
    half, full = cell_widths(width)
    drawn = [c for c in charts if c.points]
    rows = grid([c for c in drawn if c.key in series_keys], per_row) + grid(
        [c for c in drawn if c.key not in series_keys], per_row)
    plan = iter(link_plan([c.points for row in rows for c in row]))
    built = []
    for row in rows:
        built.append([])
        for chart in row:
            hover, listen = next(plan)
            built[-1].append(chart.make(width=half if len(row) > 1 else full, subtitle=chart.notes, hover=hover,
                                        listen=listen, linked=True))
    clickable = not grouped
    figure = chart_config(linked_grid(built, field="group" if grouped else "run_id", pick=clickable))
    if clickable and figure.params is not alt.Undefined:
        st.altair_chart(figure, width="content", theme=None, key="compare_charts",
                        on_select=partial(open_picked_run, "compare_charts"), selection_mode=[PICK])
    else:
        st.altair_chart(figure, width="content", theme=None)

# ---- which runs ------------------------------------------------------------------------------------------------
if target := STATE.pop("compare.open_run", None):
    st.switch_page(RUN_PAGE, query_params={"run": target})
cached.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = cached.tracker()
experiments = {e.experiment_id: e for e in cached.experiments(tracker, notify=False)}  # runs tables warn
resolve_selection(tracker)
in_play = [e for e in STATE.get("compare.experiments", []) if e in experiments]
pool = concat_runs([cached.runs(tracker, e) for e in in_play]) if in_play else pd.DataFrame(columns=list(INFO_COLUMNS))
labels = run_labels(pool)
STATE["compare_runs"] = [r for r in STATE.get("compare_runs", []) if r in labels]

cached.sidebar_header(tracker)

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
order = [labels[r] for r in selected]
palette = [colors[r] for r in selected]
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
    grouped = bool(group_by)
    aggregation, spread = "mean", "std"
    if grouped:
        with st.container(horizontal=True, gap="small"):
            aggregation = st.selectbox("Aggregate", stats.AGGREGATIONS, key="compare_agg", width=140)
            spread = st.selectbox("Spread", stats.SPREADS, key="compare_spread", format_func=SPREAD_TITLES.get,
                                  width=190, help="Error bars and bands. The 95 % CI is the t interval of the "
                                  "mean; ± std is drawn around the aggregate.")
        group_series = stats.group_labels(runs.reset_index(drop=True), group_by)
        group_list = stats.group_order(group_series)
        group_color = group_colors(group_list)
        group_palette = [group_color[g] for g in group_list]
        group_of = dict(zip(runs["run_id"].astype(str), group_series))
        colors = {r: group_color[group_of[r]] for r in selected}  # runs wear their group's colour
        counts = group_series.value_counts()
        groups_table = pd.DataFrame({"color": "⬤", "group": group_list, "runs": [int(counts[g]) for g in group_list]})
        for column in group_by:  # the values each group stands for, one column per param
            groups_table[column.removeprefix("params.")] = [
                runs[column].astype("object").where(runs[column].notna(), MISSING).astype("str")
                .to_numpy()[(group_series == g).to_numpy()][0] for g in group_list
            ]
        if len(group_by) == 1:
            groups_table = groups_table.drop(columns=group_by[0].removeprefix("params."))
        group_dots = pd.DataFrame("", index=groups_table.index, columns=groups_table.columns)
        group_dots["color"] = [f"color: {c}" for c in group_palette]
        st.dataframe(
            groups_table.style.apply(lambda _: group_dots, axis=None), hide_index=True, width="stretch",
            height=min(38 + 35 * len(groups_table), 320), key="compare_groups_table",
            column_config={"color": st.column_config.TextColumn("", width=24),
                           "group": st.column_config.TextColumn(" · ".join(c.removeprefix("params.") for c in group_by)),
                           "runs": st.column_config.NumberColumn("N", width=40, help="Runs in the group")},
        )

# ---- left: the selected runs -------------------------------------------------------------------------------------
with left:
    table = pd.DataFrame({
        "color": "⬤",
        "run": order,
        "status": runs["status"].astype("str").str.lower().to_numpy(),
    })
    if grouped:
        table.insert(2, "group", [group_of[r] for r in selected])
    if len(exp_ids) > 1:
        table["experiment"] = [experiments[e].name for e in runs["experiment_id"].astype(str)]
    for column in differing:
        table[column] = runs[column].astype("object").where(runs[column].notna(), MISSING).astype("str").to_numpy()
    dots = pd.DataFrame("", index=table.index, columns=table.columns)
    dots["color"] = [f"color: {colors[r]}" for r in selected]
    dots["status"] = table["status"].map(STATUS_STYLE).fillna("")
    st.dataframe(
        table.style.apply(lambda _: dots, axis=None), hide_index=True, width="stretch",
        height=min(38 + 35 * len(table), 600),
        column_config={
            "color": st.column_config.TextColumn("", width=24),
            "run": st.column_config.TextColumn("Run"),
            "status": st.column_config.TextColumn("Status", width="small"),
        } | {c: st.column_config.TextColumn(c.removeprefix("params.")) for c in differing},
        key="compare_runs_table", selection_mode="single-row",
        on_select=partial(open_picked_row, "compare_runs_table", tuple(selected)),
    )
    st.caption(
        f"{len(differing)} of {len(logged_params(runs))} params differ between these runs; "
        "all are under *Params* below."
        if len(selected) > 1 else "Add runs above to compare them.",
        help="Tick a row (or click a run in a chart) to open the run's page.",
    )
    with st.expander("Open a run", icon=":material/open_in_new:", expanded=len(selected) <= 8):
        for run_id in selected:
            run_link(run_id, labels[run_id])

# ---- main: one chart per metric ----------------------------------------------------------------------------------
with main:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.subheader("Metrics", width="content")
        st.space("stretch")
        exports = st.popover("Export", icon=":material/download:", type="tertiary",
                             help="Each chart's data as CSV, and the chart as SVG or PNG")
    names = metric_names(runs)
    picked = pick_metrics(names, default_metrics(runs))
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
    if not names:
        st.info("These runs logged no metrics.", icon=":material/monitoring:")
    elif not picked:
        st.info("Pick one or more metrics to chart.", icon=":material/monitoring:")
    if not picked:
        exports.caption("No charts yet: pick metrics to chart.")
    if picked:
        history = cached.history(tracker, tuple(selected), tuple(picked), max_points)
        kinds = metric_kinds(history, picked)
        series_keys = {k for k in picked if kinds[k] == SERIES}
        metric_charts = [metric_chart(k, series=k in series_keys) for k in picked]
        with exports:
            for chart in metric_charts:
                export_buttons(chart)
        if any(c.points for c in metric_charts):
            linked_charts(metric_charts)
        hints = [f"Hover a {'group' if grouped else 'run'} in any chart to highlight it in all of them"]
        if not grouped:
            hints.append("click a run to open it")
        if grouped:
            hints.append(f"bands: {SPREAD_TITLES[spread]} over the runs, aligned by "
                         f"{'relative time' if x_axis == 'relative' else 'step'}; error bars: "
                         f"{SPREAD_TITLES[spread]} of the latest values")
        empty = [c for c in metric_charts if not c.points]
        hints += [f"{md(c.key)}: nothing to draw, no finite value" + (" above zero" if c.key in series_keys and log_y
                  else "") + (f" ({c.dropped_note})" if c.dropped_note else "") for c in empty]
        lacking = [f"{c.key}: {', '.join(c.lacking)}" for c in metric_charts if c.lacking]
        st.caption(" · ".join(hints) + ".", help=("Runs without a metric — " + "; ".join(lacking)) if lacking else None)

# ---- groups: statistics and a two-group test ---------------------------------------------------------------------
if grouped and picked:
    st.divider()
    st.subheader("Groups")
    stat_cols, test_cols = st.container(), st.container()  # stacked: both tables need the width
    with stat_cols:
        st.markdown("**Statistics per group**")
        gstats = group_stats(runs, group_series, group_list, picked)
        gstats = gstats[gstats["count"] > 0].reset_index(drop=True)  # a group without the metric: no row
        shown_stats = gstats.assign(
            color="⬤", ci=[f"[{num(lo)}, {num(hi)}]" if np.isfinite(lo) else MISSING
                           for lo, hi in zip(gstats["ci_low"], gstats["ci_high"])],
            **{c: gstats[c].map(num) for c in ("mean", "std", "min", "max")},
        )[["color", "metric", "group", "count", "mean", "std", "min", "max", "ci"]]
        stat_dots = pd.DataFrame("", index=shown_stats.index, columns=shown_stats.columns)
        stat_dots["color"] = [f"color: {group_color[g]}" for g in shown_stats["group"]]
        st.dataframe(
            shown_stats.style.apply(lambda _: stat_dots, axis=None),
            hide_index=True, width="stretch", height=min(38 + 35 * len(shown_stats), 500), key="compare_group_stats",
            column_config={"color": st.column_config.TextColumn("", width=24),
                           "metric": st.column_config.TextColumn("Metric"),
                           "group": st.column_config.TextColumn("Group"),
                           "count": st.column_config.NumberColumn("N", width=36, help="Runs with a finite latest value"),
                           "std": st.column_config.TextColumn("std", help="Sample standard deviation"),
                           "ci": st.column_config.TextColumn("95 % CI of the mean")},
        )
        st.caption("Latest value of each run; std is the sample standard deviation; the CI uses the t distribution.")
    with test_cols:
        st.markdown("**Two groups: difference of means**")
        if len(group_list) < 2:
            st.caption("Only one group: choose params whose values differ between the runs.")
        else:
            if len(group_list) == 2:
                group_a, group_b = group_list
            else:
                for name, default in (("compare_group_a", group_list[0]), ("compare_group_b", group_list[1])):
                    if STATE.get(name) not in group_list:
                        STATE[name] = default
                with st.container(horizontal=True, gap="small"):
                    group_a = st.selectbox("Group A", group_list, key="compare_group_a", width=320)
                    group_b = st.selectbox("Group B", group_list, key="compare_group_b", width=320)
            sizes = {g: int((group_series == g).sum()) for g in (group_a, group_b)}
            if group_a == group_b:
                st.info("Pick two different groups.", icon=":material/info:")
            else:
                test = two_groups(runs, group_series, group_a, group_b, picked)
                shown_test = pd.DataFrame({
                    "metric": test["metric"],
                    "A": [f"{m:.4g} (N={n})" if n else "— (N=0)" for m, n in zip(test["mean_a"], test["n_a"])],
                    "B": [f"{m:.4g} (N={n})" if n else "— (N=0)" for m, n in zip(test["mean_b"], test["n_b"])],
                    "diff": test["diff"].map(num),
                    "ci": [f"[{num(lo)}, {num(hi)}]" if np.isfinite(lo) else MISSING
                           for lo, hi in zip(test["ci_low"], test["ci_high"])],
                    "p": test["p"].map(lambda p: num(p, 3)),
                })
                strong = pd.DataFrame("", index=shown_test.index, columns=shown_test.columns)
                strong["p"] = np.where(test["p"].fillna(1) < 0.05, "font-weight: 600", "")
                st.dataframe(
                    shown_test.style.apply(lambda _: strong, axis=None),
                    hide_index=True, width="stretch", height=min(38 + 35 * len(shown_test), 500),
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
                few = [f"{md(g)} ({n} run{'s' if n != 1 else ''})" for g, n in sizes.items()
                       if n < stats.MIN_GROUP_RUNS]
                if few:
                    st.warning("Fewer than 3 runs in " + " and ".join(few) + ": the interval and the p-value "
                               "are unreliable (undefined below 2).", icon=":material/warning:")
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
    roc = cached.across_runs(tracker, "roc", model_runs)
    confusion = cached.across_runs(tracker, "confusion", model_runs)
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
            curves = roc.frame.assign(run=roc.frame["run_id"].map(labels),
                                      legend=lambda f: f["run"] + " · AUC " + f["roc_auc"].map("{:.3f}".format))
            legend_order = [x for r in selected for x in curves.loc[curves["run_id"] == r, "legend"].unique()]
            roc_chart = alt.Chart(curves).mark_line(interpolate="step-after").encode(
                x=alt.X("fpr:Q", title="False positive rate"), y=alt.Y("tpr:Q", title="True positive rate"),
                color=alt.Color("legend:N", title=None, sort=legend_order,
                                scale=alt.Scale(domain=legend_order,
                                                range=[colors[r] for r in selected if r in set(curves["run_id"])]),
                                legend=alt.Legend(orient="bottom", columns=1, labelLimit=320)),
                tooltip=["run", alt.Tooltip("roc_auc:Q", format=".3f")],
            )
            diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
                strokeDash=[4, 4], color="#adb5bd").encode(x="x:Q", y="y:Q")
            st.altair_chart((diagonal + roc_chart).properties(height=320), width="stretch", theme=None)
    with pdp_col:
        st.markdown("**Partial dependence of one feature**")
        usable = [r for r in model_runs if r not in skipped or "regressor" in skipped.get(r, "")]
        features: list[str] = []
        for run_id in usable:
            try:
                features = list(cached.insight_inputs(tracker, run_id).X_test.columns)
                break
            except LensError:
                continue
        if not features:
            st.caption("No run with a model and test data to explain.")
        else:
            feature = st.selectbox("Feature", features, key="compare_pdp_feature")
            pdp = cached.across_runs(tracker, "pdp", tuple(usable), feature)
            if pdp.frame.empty:
                st.caption(f"No run's model uses {feature}.")
            else:
                lines = pdp.frame.assign(run=pdp.frame["run_id"].map(labels))
                numeric = pd.api.types.is_numeric_dtype(lines["value"])
                shown_runs = [r for r in selected if r in set(lines["run_id"])]
                mark = alt.Chart(lines).mark_line(point=True) if numeric else alt.Chart(lines).mark_point(filled=True, size=80)
                pdp_chart = mark.encode(
                    x=alt.X("value:Q" if numeric else "value:N", title=feature),
                    y=alt.Y("average:Q", title="Average prediction", scale=alt.Scale(zero=False)),
                    color=alt.Color("run:N", title=None, scale=alt.Scale(domain=[labels[r] for r in shown_runs],
                                                                       range=[colors[r] for r in shown_runs]),
                                    legend=alt.Legend(orient="bottom", columns=1, labelLimit=320)),
                    tooltip=["run", "value", alt.Tooltip("average:Q", format=".4f")],
                )
                st.altair_chart(pdp_chart.properties(height=320), width="stretch", theme=None)
    if not confusion.frame.empty:
        st.markdown("**Confusion matrices** (rows: actual, columns: predicted; share of each actual class)")
        matrices = confusion.frame.assign(run=confusion.frame["run_id"].map(labels)).astype(
            {"actual": str, "predicted": str})
        per_row = 4
        runs_with = [r for r in selected if r in set(matrices["run_id"])]
        for start in range(0, len(runs_with), per_row):
            cols = st.columns(per_row)
            for col, run_id in zip(cols, runs_with[start:start + per_row], strict=False):
                one = matrices[matrices["run_id"] == run_id]
                base = alt.Chart(one).encode(x=alt.X("predicted:N", title="predicted"),
                                             y=alt.Y("actual:N", title="actual"))
                heat = base.mark_rect().encode(color=alt.Color("normalized:Q", legend=None,
                                                               scale=alt.Scale(scheme="blues", domain=[0, 1])))
                text = base.mark_text(fontSize=11).encode(
                    text=alt.Text("count:Q"),
                    color=alt.condition("datum.normalized > 0.5", alt.value("white"), alt.value("#1d2433")))
                col.caption(md(labels[run_id]))
                col.altair_chart((heat + text).properties(height=180), width="stretch", theme=None)

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
        files = shared[name]
        columns = cached.dataset_columns(tuple(sorted((r, str(p)) for r, p in files.items())))
        picked_columns = c2.multiselect("Columns", columns, default=columns[:3], key=f"compare_dataset_cols_{name}")
        in_data = [r for r in selected if r in files]
        domain, range_ = [labels[r] for r in in_data], [colors[r] for r in in_data]
        for column in picked_columns:
            try:
                dist = cached.dataset_distribution(tuple(sorted((r, str(p)) for r, p in files.items())), column)
            except LensError as exc:
                st.warning(f"{column}: {exc}", icon=":material/warning:")
                continue
            dist = dist.assign(run=dist["run_id"].map(labels))
            colour = alt.Color("run:N", title=None, scale=alt.Scale(domain=domain, range=range_),
                               legend=alt.Legend(orient="bottom", columns=2, labelLimit=280))
            if dist["end"].notna().any():
                chart = alt.Chart(dist).mark_line(interpolate="step-after", strokeWidth=2).encode(
                    x=alt.X("value:Q", title=column), y=alt.Y("share:Q", title="share of rows", axis=alt.Axis(format="%")),
                    color=colour, tooltip=["run", alt.Tooltip("value:Q", format=".4g"), "count:Q",
                                           alt.Tooltip("share:Q", format=".1%")])
            else:
                chart = alt.Chart(dist).mark_bar().encode(
                    x=alt.X("value:N", title=column, sort="-y"), xOffset="run:N",
                    y=alt.Y("share:Q", title="share of rows", axis=alt.Axis(format="%")),
                    color=colour, tooltip=["run", "value", "count:Q", alt.Tooltip("share:Q", format=".1%")])
            st.altair_chart(chart.properties(height=240, title=column), width="stretch", theme=None)
        st.caption("Numeric columns: shared bins over all runs' files; others: the 20 most frequent values.")

# ---- params diff -------------------------------------------------------------------------------------------------
show_all = section("Params", "Show all params", "compare_all_params", persist_state="session")
diff = params_diff(runs, labels, only_differing=not show_all)
if diff.empty:
    st.caption("These runs logged no params." if not logged_params(runs) else
               "Every param has the same value in all these runs. Turn on *Show all params* to see them.")
else:
    differs = {c.removeprefix("params.") for c in differing}
    styled = diff.style.apply(
        lambda row: ["background-color: #fff4d6" if row.name in differs and show_all else ""] * len(row), axis=1
    ).map(lambda v: "color: #9aa1ad" if v == MISSING else "")
    st.dataframe(
        styled, width="stretch", height=min(38 + 35 * len(diff), 600),
        column_config={"param": st.column_config.TextColumn("Param", pinned=True)},
    )
    st.caption(
        f"{len(differs)} of {len(logged_params(runs))} params differ"
        + (" (highlighted)" if show_all and differs else "") + f" · {MISSING} not logged by that run"
    )
