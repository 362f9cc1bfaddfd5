"""ExperimentLens landing page: pick an experiment, see its runs."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lens_core import cached
from lens_core.runs_table import columns_of
from lens_core.summary import newest_experiment, short_uri, status_counts

st.set_page_config(page_title="ExperimentLens", page_icon=":material/science:", layout="wide")

tracker = cached.tracker()
experiments = tracker.experiments()

with st.sidebar:
    st.markdown("### :material/science: ExperimentLens")
    st.caption(f"Tracker · {tracker.kind} · `{short_uri(tracker.uri)}`", help=tracker.uri)
    if not experiments:
        st.warning("This tracker has no active experiments yet.")

if not experiments:
    st.title("No experiments yet")
    st.write(
        "Log a run to this tracker (`mlflow.start_run()`), or point ExperimentLens at another one "
        "with `MLFLOW_TRACKING_URI`."
    )
    st.stop()

by_id = {e.experiment_id: e for e in experiments}
wanted = st.query_params.get("experiment")
ids = list(by_id)
default = ids.index(wanted if wanted in by_id else newest_experiment(experiments).experiment_id)
with st.sidebar:
    experiment_id = st.selectbox(
        "Experiment", ids, index=default, format_func=lambda i: f"{by_id[i].name}  ·  #{i}", key="home_experiment"
    )
st.query_params["experiment"] = experiment_id
experiment = by_id[experiment_id]
if wanted is not None and wanted not in by_id:
    st.warning(f"The link asked for experiment {wanted!r}, which this tracker does not have; showing {experiment.name}.")

runs = cached.runs(tracker, experiment_id)
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

if runs.empty:
    st.info("This experiment has no runs yet. Runs appear here as soon as they are logged.")
    st.stop()

params, metrics = columns_of(runs, "params"), columns_of(runs, "metrics")
table = runs[["run_name", "status", "start_time"] + params + metrics].copy()
table[params] = table[params].fillna("")  # a param a run never logged is blank, not "None"
table.insert(3, "duration_s", (runs["end_time"] - runs["start_time"]).dt.total_seconds() if len(runs) else None)
column_config: dict[str, object] = {
    "run_name": st.column_config.TextColumn("Run", pinned=True),
    "status": st.column_config.TextColumn("Status"),
    "start_time": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm"),
    "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.1f"),
}
column_config |= {c: st.column_config.TextColumn(c.removeprefix("params.")) for c in params}
column_config |= {c: st.column_config.NumberColumn(c.removeprefix("metrics."), format="%.4g") for c in metrics}
st.subheader(f"Runs · {len(runs)}")
st.dataframe(table, column_config=column_config, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 640))
st.caption(f"{len(params)} params · {len(metrics)} metrics · loaded {pd.Timestamp.now():%H:%M:%S}")
