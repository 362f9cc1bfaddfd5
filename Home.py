"""ExperimentLens landing page: monitor an experiment — every run at a glance, filter, select, drill in."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lens_core.model import Experiment
from lens_core.runs import home, parcoords
from lens_core.runs.home import ColumnChoice, TableOptions, short
from lens_core.runs.monitor import (
    SUMMARY_RULES,
    RangeFilter,
    RunFilter,
    SummaryRule,
    TextFilter,
    ValuesFilter,
    display_table,
    filter_kind,
    filter_mask,
    preferred_metric,
)
from lens_core.runs.summary import Liveness, running_liveness, status_counts
from lens_core.trackers import (
    Tracker,
    progress,  # HTTP: progress of long reads, freshness of the table
)
from lens_core.trackers.runs_table import columns_of
from lens_core.ui import cache as cached
from lens_core.ui import shell

st.set_page_config(page_title="ExperimentLens", page_icon=":material/science:", layout="wide")

shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
experiments = shell.experiments(tracker, notify=False)  # the runs table warns, with its age

shell.sidebar_header(tracker)

if not experiments:
    st.title("No experiments yet")
    st.write(
        "Log a run to this tracker (`mlflow.start_run()`), or point ExperimentLens at another one "
        "with `MLFLOW_TRACKING_URI`."
    )
    st.stop()

# ---- sidebar: experiment and display options ------------------------------------------------------------------
with st.sidebar:
    experiment_id = shell.experiment_picker(experiments, key="home_experiment")
    st.markdown("**Table**")
    options = TableOptions(
        hide_constant=st.toggle("Hide constant columns", value=True, key="home_hide_constant",
                                help="Params, metrics and tags with the same value in every run."),
        show_system=st.toggle("Show MLflow system tags", value=False, key="home_system_tags",
                              help="Tags named mlflow.* (user, source, git commit, …)."),
        summary_rule=st.segmented_control(
            "Metric summary", SUMMARY_RULES, default="last", key="home_summary_rule",
            help="Which value of each metric's history the table shows. Min and max read the full histories.",
        ) or "last",
    )
    st.markdown("**Live refresh**")
    live = st.toggle("Refresh while runs are running", value=True, key="home_live")
    interval = st.number_input("Every (seconds)", min_value=2, max_value=600, value=10, step=1,
                               key="home_interval", disabled=not live)
wanted = st.query_params.get("experiment")
st.query_params["experiment"] = experiment_id
experiment = next(e for e in experiments if e.experiment_id == experiment_id)
if wanted is not None and wanted not in {e.experiment_id for e in experiments}:
    st.warning(f"The link asked for experiment {wanted!r}, which this tracker does not have; "
               f"showing {experiment.name}.")


def metric_rules(experiment_id: str, metrics: list[str], default: SummaryRule) -> dict[str, SummaryRule]:
    """The sidebar's rule, with per-metric exceptions edited in a small table."""
    with st.sidebar.expander("Per-metric summary"):
        editor = pd.DataFrame({"metric": [short(m) for m in metrics], "rule": default})
        edited = st.data_editor(
            editor, hide_index=True, width="stretch", key=f"home_rules_{experiment_id}_{default}",
            disabled=["metric"],
            column_config={"rule": st.column_config.SelectboxColumn("rule", options=SUMMARY_RULES, required=True)},
        )
    return {f"metrics.{m}": r for m, r in zip(edited["metric"], edited["rule"], strict=True)}


def header(experiment: Experiment, runs: pd.DataFrame) -> None:
    counts = status_counts(runs)
    st.title(experiment.name)
    cols = st.columns(4)
    cols[0].metric("Runs", counts.total)
    cols[1].metric("Finished", counts.finished)
    cols[2].metric("Failed or killed", counts.failed)
    cols[3].metric("Running", counts.running)
    if counts.total:
        st.progress(
            counts.progress,
            text=f"{counts.progress:.0%} of runs have ended · last update {counts.last_update:%b %d %Y, %H:%M} UTC",
        )


def column_picker(experiment_id: str, choice: ColumnChoice) -> list[str]:
    with st.expander(f"Columns · {choice.shown} shown", icon=":material/view_column:"):
        cols = st.columns(3)
        chosen: list[str] = []
        for col, (group, offered) in zip(cols, choice.offered.items(), strict=True):
            chosen += col.multiselect(
                group.capitalize(), offered, default=offered,
                key=f"home_cols_{experiment_id}_{group}_{home.digest(offered)}",  # new choices → fresh defaults
                format_func=short, placeholder="none",
            )
        if choice.hidden:
            st.caption(f"{len(choice.hidden)} constant columns hidden: " + ", ".join(map(short, choice.hidden)))
    return chosen


def filters_for(experiment_id: str, table: pd.DataFrame, columns: list[str]) -> list[RunFilter]:
    """Per-column filters chosen in a popover; the rows are filtered on the server."""
    filters: list[RunFilter] = []
    with st.popover("Filters", icon=":material/filter_list:"):
        chosen = st.multiselect("Filter on", ["run_name", "status", *columns], key=f"home_filter_cols_{experiment_id}",
                                format_func=short, placeholder="Choose columns")
        for column in chosen:
            values = table[column]
            kind = filter_kind(values)
            label = short(column)
            key = f"home_filter_{experiment_id}_{column}"
            if kind == "range":
                present = values.dropna()
                if present.empty:
                    st.caption(f"{label}: no values")
                    continue
                low, high = float(present.min()), float(present.max())
                if low == high:
                    st.caption(f"{label}: every run has {low:.4g}")
                    continue
                picked = st.slider(label, low, high, (low, high), key=key, format="%.4g")
                if picked != (low, high):
                    filters.append(RangeFilter(column, picked[0], picked[1]))
            elif kind == "values":
                picked = st.multiselect(label, home.value_options(values), key=key,
                                        format_func=lambda v: v or "(missing)", placeholder="any value")
                if picked:
                    filters.append(ValuesFilter(column, frozenset(picked)))
            elif text := st.text_input(label, key=key, placeholder="contains…"):
                filters.append(TextFilter(column, text))
    return filters


def column_config(table: pd.DataFrame, rules: dict[str, SummaryRule]) -> dict[str, object]:
    config: dict[str, object] = {
        "run_name": st.column_config.TextColumn("Run", pinned=True),
        "status": st.column_config.TextColumn("Status"),
        "rating": st.column_config.TextColumn("Rating", help="lens.rating tag, set on the run page", width=92),
        "start_time": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
        "duration_min": st.column_config.NumberColumn("Duration (min)", format="%.1f"),
    }
    for column in table.columns[6:]:
        help_text = home.column_help(column, rules)
        if pd.api.types.is_numeric_dtype(table[column]):
            config[column] = st.column_config.NumberColumn(short(column), format="%.4g", help=help_text)
        else:
            config[column] = st.column_config.TextColumn(short(column), help=help_text)
    return config


def selection_actions(experiment: Experiment, selected: list[str], names: dict[str, str],
                      visible: pd.DataFrame) -> None:
    cols = st.columns([3, 2, 2, 2])
    if selected:
        cols[0].markdown(home.selection_summary(selected, names))
    else:
        cols[0].caption("Select rows (click the left edge of a row) to open or compare runs.")
    cols[1].page_link(shell.RUN_PAGE, label="Open run", icon=":material/open_in_new:", disabled=len(selected) != 1,
                      query_params={"run": selected[0]} if len(selected) == 1 else None)
    cols[2].page_link(shell.COMPARE_PAGE, label=home.compare_label(len(selected)),
                      icon=":material/compare_arrows:", disabled=len(selected) < 2,
                      query_params={"runs": ",".join(selected)} if len(selected) > 1 else None)
    cols[3].download_button(
        "CSV of this view", lambda: visible.drop(columns=["run_id"]).to_csv(index=False).encode(),  # built on click
        icon=":material/download:", file_name=f"{experiment.name}-runs.csv", mime="text/csv", key="home_csv",
    )


def parcoords_choice(experiment_id: str, typed: pd.DataFrame) -> tuple[list[str], str | None]:
    """Axes and colour metric of the parallel-coordinates chart (the chosen metric is the last axis)."""
    head, link = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader("Parallel coordinates")
    link.page_link(shell.HYPERPARAMS_PAGE, label="Which params matter?", icon=":material/tune:",
                   query_params={"experiment": experiment_id})
    metrics = columns_of(typed, "metrics")
    params = [c for c in columns_of(typed, "params") if typed[c].nunique(dropna=False) > 1]
    left, right = st.columns([3, 1])
    axes = left.multiselect(
        "Axes", params, default=parcoords.default_axes(typed), key=f"home_pc_axes_{experiment_id}",
        format_func=short, placeholder="Choose params",
    )
    default_color = preferred_metric(metrics)
    color = right.selectbox(
        "Colour and last axis", metrics, index=metrics.index(default_color) if default_color else None,
        key=f"home_pc_color_{experiment_id}", format_func=short, placeholder="No metric",
    )
    return axes + ([color] if color else []), color


def monitor(t: Tracker, experiment: Experiment, options: TableOptions, exceptions: dict[str, SummaryRule],
            live: bool) -> None:
    """The experiment's header, runs grid and parallel coordinates: the fragment live refresh reruns."""
    experiment_id = experiment.experiment_id
    with progress.shown_in(st.empty()):  # a full re-read (every LENS_FULL_REFRESH_SECONDS) shows its progress
        runs = shell.runs(t, experiment_id, notify=False)  # the page run above already warned
    header(experiment, runs)
    if fresh := progress.freshness(runs):  # HTTP: "checked 10 s ago · fully re-read 4 min ago"
        st.caption(f":material/schedule: Runs {fresh}.")
    if runs.attrs.get("lens.stale_error"):
        st.caption(":material/cloud_off: The tracker is not answering: these runs are the last ones read.")
    if runs.empty:
        st.info("This experiment has no runs yet. Runs appear here as soon as they are logged.")
        return
    state = liveness(t, runs)
    if state.note:
        st.caption(f":material/bedtime: {state.note}")
    if live and not state.live and st.session_state.get("home_was_live"):
        st.session_state["home_was_live"] = False
        st.rerun()  # nothing runs (or changes) any more: stop the timer
    rules = home.summary_rules(columns_of(runs, "metrics"), exceptions, options.summary_rule)
    extremes = shell.metric_extremes(t, experiment_id) if home.needs_histories(rules) else None
    typed = cached.monitor_table(t, experiment_id, runs, rules, extremes)
    table_area, chart_area = st.container(), st.container()  # the chart sits under the table, its brush filters it
    with chart_area:
        pc_columns, color = parcoords_choice(experiment_id, typed)
    pc_key = f"home_pc_{experiment_id}_" + home.digest(pc_columns)
    brushed = parcoords.filters_from_selection(st.session_state.get(pc_key), parcoords.build_axes(typed, pc_columns))
    with table_area:
        left, right = st.columns([4, 1], vertical_alignment="top")
        with left:
            columns = column_picker(experiment_id, home.column_choice(typed, options))
        with right:
            filters = filters_for(experiment_id, typed, columns)
        filtered = typed[filter_mask(typed, filters) & parcoords.mask(typed, brushed)]
        if filters or brushed:
            st.caption(home.filters_caption(filters, brushed, len(filtered), len(typed)))
        if filtered.empty:
            st.info("No run passes these filters. Loosen them in **Filters**, or click the parallel-coordinates "
                    "chart outside its brush to clear it.", icon=":material/filter_alt_off:")
        selected = runs_grid(experiment, filtered, typed, columns, rules)
    with chart_area:
        if len(pc_columns) < 2:
            st.info("Choose at least two axes (params that vary, and a metric) to draw parallel coordinates.")
            return
        data = parcoords.prepare(typed, pc_columns, color, highlight_ids=home.highlighted(selected, filtered, typed))
        seed = parcoords.brush_seed(st.session_state.setdefault("home_pc_seed", {}), st.session_state.get(pc_key), data)
        st.altair_chart(parcoords.chart(data, brush=seed), on_select="rerun", key=pc_key, width="stretch")
        st.caption((data.note + " " if data.note else "")
                   + "Drag across axes to filter the table; click the chart to clear.")


def runs_grid(experiment: Experiment, filtered: pd.DataFrame, typed: pd.DataFrame, columns: list[str],
              rules: dict[str, SummaryRule]) -> list[str]:
    """The runs grid with its selection and actions; returns the selected run ids."""
    table = display_table(filtered, columns)
    selected_before = [r for r in st.session_state.get(shell.SELECTED_RUNS, []) if r in set(table["run_id"])]
    view_key = home.digest([experiment.experiment_id, *table["run_id"], *columns])  # a new view: a new grid
    st.subheader(f"Runs · {len(filtered)}" + (f" of {len(typed)}" if len(filtered) < len(typed) else ""))
    event = st.dataframe(
        table,
        column_config=column_config(table, rules),
        column_order=[c for c in table.columns if c != "run_id"],
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(table), 1), 560),
        placeholder="",
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": table.index[table["run_id"].isin(selected_before)].tolist()}},
        key=f"home_grid_{view_key}",
    )
    rows = event.selection.rows if event is not None else []
    selected = table["run_id"].iloc[rows].tolist()
    st.session_state[shell.SELECTED_RUNS] = selected
    selection_actions(experiment, selected, dict(zip(typed["run_id"], typed["run_name"], strict=True)), table)
    return selected


def liveness(t: Tracker, runs: pd.DataFrame) -> Liveness:
    """Running runs that changed within the last hour (live refresh waits for them) and those that look abandoned."""
    return running_liveness(runs, known=st.session_state.setdefault("home_activity", {}),
                            latest=lambda ids: cached.metric_times(t, runs, tuple(ids)))


with progress.shown_in(st.empty()):  # HTTP: "4,000 runs read from the server… 12 s" while a big experiment loads
    runs_now = shell.runs(tracker, experiment_id)
metrics_now = columns_of(runs_now, "metrics")
# sidebar widgets live outside the fragment
exceptions = metric_rules(experiment_id, metrics_now, options.summary_rule) if metrics_now else {}
refreshing = bool(live and liveness(tracker, runs_now).live)
st.session_state["home_was_live"] = refreshing
st.fragment(monitor, run_every=float(interval) if refreshing else None)(tracker, experiment, options, exceptions, live)
if refreshing:
    st.caption(f":material/autorenew: Refreshing every {interval} s while runs are running.")
