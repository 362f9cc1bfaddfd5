"""ExperimentLens landing page: monitor an experiment — every run at a glance, filter, select, drill in.

Every view is a link: ``?experiment=&constant=&system=&rule=&rules=&hide=&filter=&view=&axes=&color=&brush=&px=&py=
&pz=`` (defaults left out; packed values behind ``~``), restored on open with a note for what no longer applies.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from lens_core.format import format_number, labels_by_id, plural
from lens_core.model import Experiment
from lens_core.runs import home, parcoords, pareto_chart
from lens_core.runs.defaults import default_metric
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
)
from lens_core.runs.summary import Liveness, running_liveness, status_counts
from lens_core.trackers import (
    Tracker,
    progress,  # HTTP: progress of long reads, freshness of the table
)
from lens_core.trackers.runs_table import columns_of
from lens_core.ui import cache as cached
from lens_core.ui import links, shell
from lens_core.ui.directions import direction_control
from lens_core.ui.progress import runs_loading

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

VIEWS = {"parcoords": "Parallel coordinates", "tradeoffs": "Trade-offs"}


def initial(key: str, value: Any) -> Any:
    """A widget's default, or None once its key holds a value (a link's, or the user's): Streamlit warns when a
    widget gets both."""
    return None if key in st.session_state else value


# ---- sidebar: experiment and display options ------------------------------------------------------------------
with st.sidebar:
    experiment_id = shell.experiment_picker(experiments, key="home_experiment")
    links.restore("home_hide_constant", "constant", parse=home.flag, label="hide-constant setting")
    links.restore("home_system_tags", "system", parse=home.flag, label="system-tags setting")
    links.restore("home_summary_rule", "rule", options=SUMMARY_RULES, label="summary rule")
    st.markdown("**Table**")
    options = TableOptions(
        hide_constant=st.toggle("Hide constant columns", value=initial("home_hide_constant", True) or False,
                                key="home_hide_constant",
                                help="Params, metrics and tags with the same value in every run."),
        show_system=st.toggle("Show MLflow system tags", value=False, key="home_system_tags",
                              help="Tags named mlflow.* (user, source, git commit, …)."),
        summary_rule=st.segmented_control(
            "Metric summary", SUMMARY_RULES, default=initial("home_summary_rule", "last"), key="home_summary_rule",
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
links.publish({"constant": options.hide_constant, "system": options.show_system, "rule": options.summary_rule},
              {"constant": True, "system": False, "rule": "last"})


def metric_rules(experiment_id: str, metrics: list[str], default: SummaryRule) -> dict[str, SummaryRule]:
    """The sidebar's rule, with per-metric exceptions edited in a small table (a link's exceptions seed it)."""
    links.restore("home_rules_link", "rules", packed=True, label="per-metric rules")
    linked = home.rules_from_link(st.session_state.get("home_rules_link"), metrics)
    with st.sidebar.expander("Per-metric summary", expanded=bool(linked)):
        editor = pd.DataFrame({"metric": [short(m) for m in metrics],
                               "rule": [linked.get(m, default) for m in metrics]})
        edited = st.data_editor(
            editor, hide_index=True, width="stretch", disabled=["metric"],
            key=f"home_rules_{experiment_id}_{default}_{home.digest(sorted(f'{k}={v}' for k, v in linked.items()))}",
            column_config={"rule": st.column_config.SelectboxColumn("rule", options=SUMMARY_RULES, required=True)},
        )
    rules = {f"metrics.{m}": r for m, r in zip(edited["metric"], edited["rule"], strict=True)}
    links.publish({"rules": home.rule_exceptions(rules, default)}, packed=("rules",))
    return rules


def header(experiment: Experiment, runs: pd.DataFrame) -> st.delta_generator.DeltaGenerator:
    """Title, counts and progress; returns the slot for the Copy link button (filled once the link is final)."""
    counts = status_counts(runs)
    title, link_slot = st.columns([5, 1], vertical_alignment="bottom")
    title.title(experiment.name)
    cols = st.columns(4)
    cols[0].metric("Runs", format_number(counts.total))
    cols[1].metric("Finished", format_number(counts.finished))
    cols[2].metric("Failed or killed", format_number(counts.failed))
    cols[3].metric("Running", format_number(counts.running))
    if counts.total:
        st.progress(
            counts.progress,
            text=f"{counts.progress:.0%} of runs have ended · last update {counts.last_update:%b %d %Y, %H:%M} UTC",
        )
    return link_slot.empty()


def column_picker(experiment_id: str, choice: ColumnChoice) -> list[str]:
    links.restore("home_hide_link", "hide", multi=True, label="hidden columns")
    hidden = set(st.session_state.pop("home_hide_link", None) or ())
    with st.expander(f"Columns · {choice.shown} shown", icon=":material/view_column:"):
        cols = st.columns(3)
        chosen: list[str] = []
        for col, (group, offered) in zip(cols, choice.offered.items(), strict=True):
            key = f"home_cols_{experiment_id}_{group}_{home.digest(offered)}"  # new choices → fresh defaults
            if hidden:
                st.session_state[key] = [c for c in offered if c not in hidden]
            chosen += col.multiselect(group.capitalize(), offered, default=initial(key, offered), key=key,
                                      format_func=short, placeholder="none")
        if choice.hidden:
            st.caption(f"{len(choice.hidden)} constant columns hidden: " + ", ".join(map(short, choice.hidden)))
    links.publish({"hide": home.hidden_columns(choice, chosen)}, packed=("hide",))
    return chosen


def filters_for(experiment_id: str, table: pd.DataFrame, columns: list[str], formats: Mapping[str, str]
                ) -> list[RunFilter]:
    """Per-column filters chosen in a popover; the rows are filtered on the server."""
    offered = ["run_name", "status", *columns]
    links.restore("home_filter_link", "filter", packed=True, label="filters")
    if (linked := st.session_state.pop("home_filter_link", None)) is not None:
        restored = home.filters_from_link(linked, table, offered)
        st.session_state[f"home_filter_cols_{experiment_id}"] = list(restored.values)
        for column, value in restored.values.items():
            st.session_state[f"home_filter_{experiment_id}_{column}"] = value
        if restored.stale:
            st.info(f"The link's filters on {', '.join(map(short, restored.stale))} no longer apply here.",
                    icon=":material/link_off:")
    filters: list[RunFilter] = []
    values: dict[str, Any] = {}
    with st.popover("Filters", icon=":material/filter_list:"):
        chosen = st.multiselect("Filter on", offered, key=f"home_filter_cols_{experiment_id}",
                                format_func=short, placeholder="Choose columns")
        for column in chosen:
            present = table[column]
            kind = filter_kind(present)
            label = short(column)
            key = f"home_filter_{experiment_id}_{column}"
            if kind == "range":
                numbers = present.dropna()
                if numbers.empty:
                    st.caption(f"{label}: no values")
                    continue
                low, high = float(numbers.min()), float(numbers.max())
                if low == high:
                    st.caption(f"{label}: every run has {format_number(low)}")
                    continue
                picked = st.slider(label, low, high, initial(key, (low, high)), key=key,
                                   format=formats.get(column) or home.number_format(numbers, logged_text=False))
                if picked != (low, high):
                    filters.append(RangeFilter(column, picked[0], picked[1]))
                    values[column] = picked
            elif kind == "values":
                picked = st.multiselect(label, home.value_options(present), key=key,
                                        format_func=lambda v: v or "(missing)", placeholder="any value")
                if picked:
                    filters.append(ValuesFilter(column, frozenset(picked)))
                    values[column] = picked
            elif text := st.text_input(label, key=key, placeholder="contains…"):
                filters.append(TextFilter(column, text))
                values[column] = text
    links.publish({"filter": home.filters_for_link(values)}, packed=("filter",))
    return filters


def column_config(table: pd.DataFrame, rules: dict[str, SummaryRule], formats: Mapping[str, str]
                  ) -> dict[str, object]:
    config: dict[str, object] = {
        "run_name": st.column_config.TextColumn("Run", pinned=True, help="The run's name, else its id's start"),
        "status": st.column_config.TextColumn("Status"),
        "rating": st.column_config.TextColumn("Rating", help="lens.rating tag, set on the run page", width=92),
        "start_time": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
        "duration": st.column_config.TextColumn("Duration", help="From start to end; — while running"),
    }
    for column in table.columns[6:]:
        help_text = home.column_help(column, rules)
        if pd.api.types.is_numeric_dtype(table[column]):
            number = formats.get(column) or home.number_format(table[column], logged_text=False)
            config[column] = st.column_config.NumberColumn(short(column), format=number, help=help_text)
        else:
            config[column] = st.column_config.TextColumn(short(column), help=help_text)
    return config


def run_actions(selected: list[str], labels: Mapping[str, str]) -> list[Any]:
    """The selection line, Open run and Compare links; returns the remaining columns of the row."""
    cols = st.columns([3, 2, 2, 2])
    if selected:
        cols[0].markdown(home.selection_summary(selected, labels))
    else:
        cols[0].caption("Select rows (click the left edge of a row) to open or compare runs.")
    cols[1].page_link(shell.RUN_PAGE, label="Open run", icon=":material/open_in_new:", disabled=len(selected) != 1,
                      query_params={"run": selected[0]} if len(selected) == 1 else None)
    cols[2].page_link(shell.COMPARE_PAGE, label=home.compare_label(len(selected)),
                      icon=":material/compare_arrows:", disabled=len(selected) < 2,
                      query_params={"runs": ",".join(selected)} if len(selected) > 1 else None)
    return cols[3:]


def metric_choice(label: str, metrics: list[str], default: str | None, key: str, param: str,
                  where: Any, **extra: Any) -> str | None:
    """A metric picker whose choice is in the link (``param``); a gone metric falls back with a note."""
    links.restore(key, param, options=metrics, label=label.lower())
    index = metrics.index(default) if default in metrics and key not in st.session_state else None
    return where.selectbox(label, metrics, index=index, key=key, format_func=short, **extra)


def parcoords_choice(experiment_id: str, typed: pd.DataFrame) -> tuple[list[str], str | None, bool]:
    """Axes, colour metric and its direction of the parallel-coordinates chart (the metric is the last axis)."""
    metrics = columns_of(typed, "metrics")
    params = [c for c in columns_of(typed, "params") if typed[c].nunique(dropna=False) > 1]
    default_axes = parcoords.default_axes(typed)
    left, mid, right = st.columns([3, 1.6, 2.1], vertical_alignment="bottom")  # the direction switch needs ~250 px
    links.restore(f"home_pc_axes_{experiment_id}", "axes", options=params, multi=True, label="axes")
    key = f"home_pc_axes_{experiment_id}"
    axes = left.multiselect("Axes", params, default=initial(key, default_axes), key=key, format_func=short,
                            placeholder="Choose params")
    default_color = default_metric(typed, metrics)
    color = metric_choice("Colour and last axis", metrics, default_color, f"home_pc_color_{experiment_id}",
                          "color", mid, placeholder="No metric")
    with right:
        higher = direction_control(tracker, experiment_id, color, key="home_pc_direction") == "max" if color else True
    links.publish({"axes": axes, "color": color}, {"axes": default_axes, "color": default_color})
    return axes + ([color] if color else []), color, higher


def linked_brush(pc_key: str, columns: list[str]) -> Mapping[str, Any] | None:
    """The brush in force: the user's, else the link's (for these axes) until the user brushes."""
    links.restore("home_pc_link_brush", "brush", packed=True, label="brush")
    own = parcoords.brush_of(st.session_state.get(pc_key))
    linked = st.session_state.get("home_pc_link_brush")
    if own or not isinstance(linked, Mapping):
        st.session_state.pop("home_pc_link_brush", None)
        return st.session_state.get(pc_key)
    if linked.get("axes") != columns:
        st.session_state.pop("home_pc_link_brush", None)
        st.info("The link's brush was drawn on other axes; showing no brush.", icon=":material/link_off:")
        return None
    return {"selection": {parcoords.BRUSH: {"x": linked.get("x"), "y": linked.get("y")}}}


def tradeoffs(t: Tracker, experiment_id: str, runs: pd.DataFrame, labels: Mapping[str, str]) -> None:
    """Two metrics at once: every run, the Pareto front highlighted and listed (→ open or compare its runs)."""
    metrics = columns_of(runs, "metrics")
    if len(metrics) < 2:
        st.info("Trade-offs need two metrics; the runs shown log fewer.")
        return
    first, second = home.tradeoff_defaults(runs, metrics)
    a, b, c = st.columns(3)
    x = metric_choice("X objective", metrics, first, f"home_px_{experiment_id}", "px", a)
    y = metric_choice("Y objective", metrics, second, f"home_py_{experiment_id}", "py", b)
    z = metric_choice("Third objective (colour)", [m for m in metrics if m not in (x, y)], None,
                      f"home_pz_{experiment_id}", "pz", c, placeholder="None: two objectives")
    links.publish({"px": x, "py": y, "pz": z}, {"px": first, "py": second})
    if x is None or y is None or x == y:
        st.info("Pick two different metrics.")
        return
    goals = {}
    for metric, where in ((x, a), (y, b), (z, c)):
        if metric is not None:
            with where:
                goals[metric] = direction_control(t, experiment_id, metric, key="home_tradeoff_direction")
    wanted = [x, y] + ([z] if z else [])
    points = pareto_chart.pareto_points(runs[["run_id", *wanted]].assign(label=runs["run_id"].map(labels)),
                                        x, y, goals, label_column="label", colour=z)
    event = st.altair_chart(pareto_chart.draw(points), on_select="rerun", selection_mode=[pareto_chart.PICK],
                            key=f"home_pareto_{experiment_id}_{home.digest(wanted)}", width="stretch")
    objectives = "three objectives" if z else "both objectives"
    st.caption(f"{plural(points.front, 'run')} on the front of {format_number(points.shown)}: no other run is at "
               f"least as good on {objectives} and better on one. " + (points.note or ""))
    front = home.front_table(points)
    listed = st.dataframe(front, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                          column_order=[c for c in front.columns if c != "run_id"],
                          key=f"home_front_{experiment_id}_{home.digest([*wanted, *front['run_id']])}",
                          column_config={c: st.column_config.NumberColumn(format=home.number_format(
                              front[c], logged_text=False)) for c in front.columns[2:]
                              if pd.api.types.is_numeric_dtype(front[c])})
    chosen = front["run_id"].iloc[listed.selection.rows].tolist() if listed is not None else []
    picked = pareto_chart.picked_run(event)
    run_actions(chosen or ([picked] if picked else []), labels)


def monitor(t: Tracker, experiment: Experiment, options: TableOptions, exceptions: dict[str, SummaryRule],
            live: bool) -> None:
    """The experiment's header, runs grid and parallel coordinates: the fragment live refresh reruns."""
    experiment_id = experiment.experiment_id
    with runs_loading(st.empty()):  # a full re-read (every LENS_FULL_REFRESH_SECONDS) shows its progress
        runs = shell.runs(t, experiment_id, notify=False)  # the page run above already warned
    link_slot = header(experiment, runs)
    if fresh := progress.freshness(runs):  # HTTP: "checked 10 s ago · fully re-read 4 min ago"
        st.caption(f":material/schedule: Runs {fresh}.")
    notes = st.container()  # what of an opened link no longer applies: said once every widget has read it
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
    formats = cached.grid_formats(t, experiment_id, runs, rules, extremes, typed)  # from every run, filtered or not
    labels = labels_by_id(typed)
    table_area, chart_area = st.container(), st.container()  # the chart sits under the table, its brush filters it
    pc_columns: list[str] = []
    with chart_area:
        head, hp_link = st.columns([3, 1], vertical_alignment="bottom")
        links.restore("home_view", "view", options=list(VIEWS), label="chart")
        view = head.segmented_control("Chart", list(VIEWS), format_func=VIEWS.__getitem__,
                                      default=initial("home_view", "parcoords"),
                                      key="home_view", label_visibility="collapsed") or "parcoords"
        hp_link.page_link(shell.HYPERPARAMS_PAGE, label="Which params matter?", icon=":material/tune:",
                          query_params={"experiment": experiment_id})
        links.publish({"view": view}, {"view": "parcoords"})
        if view == "parcoords":
            pc_columns, color, higher = parcoords_choice(experiment_id, typed)
    brushed: list[parcoords.Filter] = []
    brush = None
    if view == "parcoords":
        pc_key = f"home_pc_{experiment_id}_" + home.digest(pc_columns)
        brush = linked_brush(pc_key, pc_columns)
        brushed = parcoords.filters_from_selection(brush, parcoords.build_axes(typed, pc_columns))
    with table_area:
        left, right = st.columns([4, 1], vertical_alignment="top")
        with left:
            columns = column_picker(experiment_id, home.column_choice(typed, options))
        with right:
            filters = filters_for(experiment_id, typed, columns, formats)
        filtered = typed[filter_mask(typed, filters) & parcoords.mask(typed, brushed)]
        if filters or brushed:
            st.caption(home.filters_caption(filters, brushed, len(filtered), len(typed)))
        if filtered.empty:
            st.info("No run passes these filters. Loosen them in **Filters**, or click the parallel-coordinates "
                    "chart outside its brush to clear it.", icon=":material/filter_alt_off:")
        selected = runs_grid(experiment, filtered, typed, columns, rules, formats, labels)
    with chart_area:
        if view == "tradeoffs":
            tradeoffs(t, experiment_id, filtered, labels)
        elif len(pc_columns) < 2:
            st.info("Choose at least two axes (params that vary, and a metric) to draw parallel coordinates.")
        else:
            data = parcoords.prepare(typed, pc_columns, color, higher_is_better=higher,
                                     highlight_ids=home.highlighted(selected, filtered, typed))
            seed = parcoords.brush_seed(st.session_state.setdefault("home_pc_seed", {}), brush, data)
            spec = cached.parcoords_spec(data.fingerprint, json.dumps(seed, sort_keys=True), data, seed)
            st.vega_lite_chart(spec, on_select="rerun", key=pc_key, width="stretch")
            st.caption((data.note + " " if data.note else "")
                       + "Drag across axes to filter the table; click the chart to clear.")
    shown = parcoords.brush_of(brush) if view == "parcoords" else {}
    links.publish({"brush": {"axes": pc_columns, **shown} if shown else None}, packed=("brush",))
    with notes:
        links.fallback_notes()
    with link_slot:
        links.copy_link_button(key="home_copy_link")


def runs_grid(experiment: Experiment, filtered: pd.DataFrame, typed: pd.DataFrame, columns: list[str],
              rules: dict[str, SummaryRule], formats: Mapping[str, str], labels: Mapping[str, str]) -> list[str]:
    """The runs grid with its selection and actions; returns the selected run ids."""
    table = display_table(filtered, columns)
    selected_before = [r for r in st.session_state.get(shell.SELECTED_RUNS, []) if r in set(table["run_id"])]
    view_key = home.digest([experiment.experiment_id, *table["run_id"], *columns])  # a new view: a new grid
    st.subheader(f"Runs · {len(filtered):,}" + (f" of {len(typed):,}" if len(filtered) < len(typed) else ""))
    event = st.dataframe(
        table,
        column_config=column_config(table, rules, formats),
        column_order=[c for c in table.columns if c != "run_id"],
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(table), 1), 560),
        placeholder="—",
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": table.index[table["run_id"].isin(selected_before)].tolist()}},
        key=f"home_grid_{view_key}",
    )
    rows = event.selection.rows if event is not None else []
    selected = table["run_id"].iloc[rows].tolist()
    st.session_state[shell.SELECTED_RUNS] = selected
    [csv] = run_actions(selected, labels)
    csv.download_button(
        "CSV of this view", lambda: table.drop(columns=["run_id"]).to_csv(index=False).encode(),  # built on click
        icon=":material/download:", file_name=f"{experiment.name}-runs.csv", mime="text/csv", key="home_csv",
    )
    return selected


def liveness(t: Tracker, runs: pd.DataFrame) -> Liveness:
    """Running runs that changed within the last hour (live refresh waits for them) and those that look abandoned."""
    return running_liveness(runs, known=st.session_state.setdefault("home_activity", {}),
                            latest=lambda ids: cached.metric_times(t, runs, tuple(ids)))


with runs_loading(st.empty()):  # HTTP: "4,000 runs read from the server… 12 s", then the newest runs, while it loads
    runs_now = shell.runs(tracker, experiment_id)
metrics_now = columns_of(runs_now, "metrics")
# sidebar widgets live outside the fragment
exceptions = metric_rules(experiment_id, metrics_now, options.summary_rule) if metrics_now else {}
refreshing = bool(live and liveness(tracker, runs_now).live)
st.session_state["home_was_live"] = refreshing
st.fragment(monitor, run_every=float(interval) if refreshing else None)(tracker, experiment, options, exceptions, live)
if refreshing:
    st.caption(f":material/autorenew: Refreshing every {interval} s while runs are running.")
