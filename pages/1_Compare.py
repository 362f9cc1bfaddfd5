"""Compare runs: a compact table of the selected runs, one chart per metric, and the params that differ.

Which runs: ``?runs=id1,id2,…`` in the URL, else Home's selection (``st.session_state["lens.selected_runs"]``).
The resolved list is written back to the URL so the page can be shared; runs of the same experiment(s) can be
added or removed on the page. The logic lives in :mod:`lens_core.compare`; this file lays out the page, top to
bottom: title, the runs (left third), one chart per metric (the rest), then the params diff.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from lens_core import cached
from lens_core.colors import run_colors
from lens_core.compare import (
    MISSING,
    SERIES,
    X_TITLES,
    bar_chart,
    chart_config,
    concat_runs,
    default_metrics,
    differing_params,
    drawable,
    export_frame,
    line_chart,
    locate_runs,
    logged_params,
    metric_kinds,
    metric_names,
    params_diff,
    parse_run_ids,
    run_labels,
    series_data,
    single_data,
)
from lens_core.errors import LensError
from lens_core.runs_table import INFO_COLUMNS
from lens_core.trackers import Tracker

st.set_page_config(page_title="Compare runs · ExperimentLens", page_icon=":material/compare_arrows:", layout="wide",
                   initial_sidebar_state="collapsed")  # the charts need the width

#: The workflow page, linked from every run name once it exists.
RUN_PAGE = "pages/2_Run.py"
HAS_RUN_PAGE = (Path(__file__).resolve().parent / Path(RUN_PAGE).name).is_file()
STATE = st.session_state
X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}
STATUS_STYLE = {"failed": "color: #c92a2a", "killed": "color: #c92a2a", "running": "color: #1c7ed6"}


def md(text: str) -> str:
    """Text shown literally inside Streamlit markdown (run names may hold `*`, `_`, `[`, `:`…)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~:$])", r"\\\1", text)


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
    try:
        located = locate_runs(tracker, requested, hints=STATE.get("compare.experiments", ()))
    except LensError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
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


def grid(keys: list[str]) -> list[list[str]]:
    """Charts two by two; an odd one out takes the whole row (line charts first, then bars, so a tall bar chart
    never sits beside a short line chart)."""
    return [keys[i : i + 2] for i in range(0, len(keys), 2)]


def run_link(run_id: str, label: str) -> None:
    st.page_link(RUN_PAGE, label=md(label), icon=":material/arrow_outward:", query_params={"run": run_id})


def metric_card(key: str, series: bool) -> None:
    """One metric's card: its name and CSV download, the chart (lines for a series, bars for single values) and
    a note on what is not drawn. Reads the page's selection (runs, labels, colours) and chart options."""
    if series:
        data = series_data(history, runs, labels, key, x=x_axis, smoothing=smoothing)
        shown, dropped = drawable(data, log_y, ("value", "smoothed"))
        chart = line_chart(shown, key, order, palette, x=x_axis, log=log_y, smoothed=smoothing > 0)
    else:
        data = single_data(runs, labels, key)
        shown, dropped = drawable(data)
        chart = bar_chart(shown, key, order, palette)
    export = export_frame(data, key, smoothed=series and smoothing > 0)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"**{md(key)}**")
        st.space("stretch")
        st.download_button(
            "CSV", export.to_csv(index=False).encode("utf-8"), file_name=re.sub(r"[^\w.-]+", "_", key) + ".csv",
            mime="text/csv", icon=":material/download:", type="tertiary", on_click="ignore", key=f"csv_{key}",
            help=f"This chart's data ({len(export)} rows)",
        )
    if len(shown):
        st.altair_chart(chart_config(chart), width="stretch", theme=None)
    else:
        st.caption("Nothing to draw: no finite value" + (" above zero." if series and log_y else "."))
    notes, lacking = [], [labels[r] for r in selected if r not in set(data["run_id"])]
    if lacking:
        notes.append(f"{len(lacking)} of {len(selected)} runs lack it")
    if dropped:
        why = "non-finite or ≤ 0 on a log scale" if series and log_y else "non-finite"
        notes.append(f"{dropped} {why} point{'s' if dropped > 1 else ''} not drawn")
    notes.append("metric history" if series else "latest value of each run")
    st.caption(" · ".join(notes), help=("Without it: " + ", ".join(lacking)) if lacking else None)


# ---- which runs ------------------------------------------------------------------------------------------------
tracker = cached.tracker()
experiments = {e.experiment_id: e for e in tracker.experiments()}
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

# ---- left: the selected runs -------------------------------------------------------------------------------------
with left:
    differing = differing_params(runs)
    table = pd.DataFrame({
        "color": "⬤",
        "run": order,
        "status": runs["status"].astype("str").str.lower().to_numpy(),
    })
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
    )
    st.caption(
        f"{len(differing)} of {len(logged_params(runs))} params differ between these runs; "
        "all are under *Params* below."
        if len(selected) > 1 else "Add runs above to compare them."
    )
    if HAS_RUN_PAGE:
        with st.expander("Open a run", icon=":material/open_in_new:", expanded=len(selected) <= 8):
            for run_id in selected:
                run_link(run_id, labels[run_id])

# ---- main: one chart per metric ----------------------------------------------------------------------------------
with main:
    st.subheader("Metrics")
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
    if picked:
        try:
            history = cached.history(tracker, tuple(selected), tuple(picked), max_points)
        except LensError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
        kinds = metric_kinds(history, picked)
        for row in grid([k for k in picked if kinds[k] == SERIES]) + grid([k for k in picked if kinds[k] != SERIES]):
            for cell, key in zip(st.columns(len(row), gap="medium"), row):
                with cell.container(border=True):
                    metric_card(key, series=kinds[key] == SERIES)

# ---- params diff -------------------------------------------------------------------------------------------------
st.divider()
head, toggle = st.columns([3, 1], vertical_alignment="bottom")
head.subheader("Params")
show_all = toggle.toggle("Show all params", key="compare_all_params", persist_state="session")
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
