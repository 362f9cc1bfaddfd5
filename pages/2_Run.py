"""Workflow page: one run — what it was, what it used, how it did among its siblings, and what the team thinks.

URL: ``?run=<run id>&item=<kind>:<name>`` (``item=metric:train/loss``, ``param:lr``, ``dataset:train``,
``artifact:plots/`` for a folder, ``artifact:plots/roc.png`` for a file). Without ``run`` the page offers a picker.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lens_core.ui import cache as cached
from lens_core.ui import explorer as explorer_ui
from lens_core.runs import workflow as wf
from lens_core.confine import dataset_path, dataset_roots, hide_paths
from lens_core.errors import ExperimentNotFoundError, LensError, RunNotFoundError
from lens_core.model import ArtifactRef, RunDetail

st.set_page_config(page_title="Run · ExperimentLens", page_icon=":material/science:", layout="wide")

APP_ROOT = Path(__file__).resolve().parent.parent
HOME_PAGE, RUN_PAGE, COMPARE_PAGE = "Home.py", "pages/2_Run.py", "pages/1_Compare.py"
INSIGHTS_PAGE = "pages/4_Model_insights.py"
USER_KEY = "lens.user_name"
THIS_RUN, OTHER_RUNS = "#ff4b4b", "#a3acb9"  # Streamlit's primary red for this run, a quiet grey for the rest
MAX_COMPARE_RUNS = 200  # run ids in a comparison link (the URL stays under ~7 kB)
MAX_CHILD_LINKS = 25
SMALL_SECTION = 6  # tree sections this short stay open; longer ones open when they hold the selection

cached.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = cached.tracker()


# ---- who is rating --------------------------------------------------------------------------------------------
def logged_in_user() -> str | None:
    """The signed-in user when Streamlit authentication is configured."""
    claims = {k: st.user.get(k) for k in ("is_logged_in", "name", "email", "sub")}
    return wf.rater_identity(claims)


def current_user() -> str | None:
    return logged_in_user() or (str(st.session_state.get(USER_KEY) or "").strip() or None)


cached.sidebar_header(tracker)
with st.sidebar:
    if (signed_in := logged_in_user()) is not None:
        st.caption(f":material/person: Rating as **{signed_in}**")
    else:
        st.text_input(
            "Your name",
            key=USER_KEY,
            placeholder="Who is rating?",
            help="Saved with your ratings and notes (tag `lens.rated_by`). Asked once per session.",
            persist_state="session",
        )


run_id = str(st.query_params.get("run") or "").strip()
if not run_id:
    st.title("Open a run")
    st.caption("Pick an experiment and one of its runs, or use **Open run** on the experiment page.")
    cached.run_picker(tracker, key="pick_")
    st.stop()

try:
    detail = tracker.run(run_id)
except RunNotFoundError as exc:
    st.title("Run not found")
    st.error(f"**This link names no run on this tracker.** {exc} It may have been deleted for good, or the "
             "link comes from another tracker. Pick a run instead:", icon=":material/search_off:")
    cached.run_picker(tracker, key="pick_")
    st.stop()

with st.sidebar:
    st.caption("Run id")
    st.code(detail.run_id, language=None, wrap_lines=True)

try:
    experiment = tracker.experiment(detail.experiment_id)
except ExperimentNotFoundError:
    experiment = None
try:
    runs = tracker.runs(detail.experiment_id) if experiment is not None else pd.DataFrame()
except LensError as exc:
    st.warning(f"The other runs of this experiment could not be read, so nothing is compared: {exc}")
    runs = pd.DataFrame()
run_names: dict[str, str] = dict(zip(runs["run_id"], runs["run_name"].fillna(""))) if len(runs) else {}
run_names[detail.run_id] = detail.run_name
run_statuses: dict[str, str] = dict(zip(runs["run_id"], runs["status"])) if len(runs) else {}


def run_label(rid: str) -> str:
    return run_names.get(rid) or rid[:8]


def link_to_run(rid: str, label: str, *, icon: str | None = None, item: wf.Item | None = None, **kw: object) -> None:
    query = {"run": rid} | ({"item": item.id} if item is not None else {})
    st.page_link(RUN_PAGE, label=label, icon=icon, query_params=query, **kw)


# ---- rating and note -----------------------------------------------------------------------------------------
def rating_key(rid: str) -> str:
    return f"lens.rating.{rid}"


def note_key(rid: str) -> str:
    return f"lens.note.{rid}"


def problem_key(rid: str) -> str:
    return f"lens.save_problem.{rid}"


NEEDS_NAME = "needs-name"


def pending_key(rid: str) -> str:
    return f"lens.save_pending.{rid}"


def save_feedback(rid: str, field: str | None = None) -> None:
    """Write what this user changed — the rating (``field="rating"``), the note (``"note"``), or what an earlier
    save left pending — as it is in the widgets: only the tags that changed, with who and when. The other field is
    taken from the tags as they are now, so a page opened before someone else rated never undoes their rating."""
    pending = set(st.session_state.pop(pending_key(rid), ()))
    fields = pending | {field} if field else pending or {"rating", "note"}
    stars = st.session_state.get(rating_key(rid))
    note = st.session_state.get(note_key(rid)) or ""
    who = current_user()
    if not who:
        st.session_state[problem_key(rid)] = NEEDS_NAME
        st.session_state[pending_key(rid)] = sorted(fields)
        return
    try:
        current = tracker.run(rid).tags  # the tags as they are now: another person may have just rated
        rating = None if stars is None else stars + 1
        changes = wf.rating_tags(
            current,
            rating=rating if "rating" in fields else wf.stored_rating(current),
            note=note if "note" in fields else str(current.get(wf.NOTE_TAG, "") or ""),
            who=who, now=dt.datetime.now(dt.UTC),
        )
        if changes:
            tracker.set_tags(rid, changes)
    except LensError as exc:
        st.session_state[problem_key(rid)] = str(exc)
        st.session_state[pending_key(rid)] = sorted(fields)
        return
    st.session_state.pop(problem_key(rid), None)
    if changes:
        st.session_state["lens.saved_message"] = "Rating saved" if wf.RATING_TAG in changes else "Note saved"


def rating_panel(run: RunDetail) -> None:
    rid = run.run_id
    if st.session_state.get(problem_key(rid)) == NEEDS_NAME and current_user():
        save_feedback(rid)  # the name the save was waiting for has been given
        run = tracker.run(rid)
    rating = wf.stored_rating(run.tags)
    with st.container(border=True):
        st.markdown("**Team rating**")
        st.feedback(
            "stars", key=rating_key(rid), default=None if rating is None else rating - 1,
            on_change=save_feedback, args=(rid, "rating"),
        )
        st.text_area(
            "Note", value=str(run.tags.get(wf.NOTE_TAG, "") or ""), key=note_key(rid), height=68,
            max_chars=wf.MAX_NOTE_CHARS, placeholder="A note for the team (saved when you leave the box)",
            on_change=save_feedback, args=(rid, "note"), label_visibility="collapsed",
        )
        problem = st.session_state.get(problem_key(rid))
        if problem == NEEDS_NAME:
            st.warning("**Enter your name in the sidebar to save.** Your rating and note are kept and saved as "
                       "soon as you do.", icon=":material/person_alert:")
        elif problem:
            st.error(f"**Not saved.** {problem}", icon=":material/error:")
            st.button("Try again", icon=":material/refresh:", on_click=save_feedback, args=(rid,), key=f"retry.{rid}")
        elif by := run.tags.get(wf.RATED_BY_TAG):
            when = pd.to_datetime(run.tags.get(wf.RATED_AT_TAG, ""), errors="coerce", utc=True)
            st.caption(f"Last rated by {by}" + ("" if pd.isna(when) else f" · {wf.format_time(when)}"))
        elif rating is not None or run.tags.get(wf.NOTE_TAG):
            st.caption("Rated before ExperimentLens recorded who rated and when.")
        else:
            st.caption("Not rated yet. Ratings and notes are saved as run tags any MLflow tool can read.")


# ---- header ---------------------------------------------------------------------------------------------------
def header(run: RunDetail) -> None:
    left, right = st.columns([0.7, 0.3], gap="large", vertical_alignment="top")
    with left:
        if experiment is not None:
            st.page_link(HOME_PAGE, label=f"{experiment.name}", icon=":material/arrow_back:",
                         query_params={"experiment": experiment.experiment_id}, help="Back to the experiment's runs")
        colour, icon = wf.status_style(run.status)
        st.title(f"{run.run_name or run.run_id[:8]} :{colour}-badge[{icon} {run.status.title()}]", anchor=False)
        now = pd.Timestamp.now(tz="UTC")
        seconds = wf.run_duration(run.start_time, run.end_time, now)
        ended = (f"ended {wf.format_time(run.end_time, run.start_time)}" if run.end_time is not None
                 else "still running" if run.status in ("RUNNING", "SCHEDULED") else "no end time")
        when = [
            f":material/schedule: started {wf.format_time(run.start_time)} · {ended}",
            f":material/timer: **{wf.format_duration(seconds)}**" + (" so far" if run.end_time is None else ""),
        ]
        who = [f":material/person: {run.user_id}"] if run.user_id else []
        if source := run.tags.get("mlflow.source.name"):
            commit = run.tags.get("mlflow.source.git.commit", "")
            who.append(f":material/code: `{source}`" + (f" @ `{commit[:8]}`" if commit else ""))
        st.markdown("  ·  ".join(when) + ("  \n" + "  ·  ".join(who) if who else ""))
        if (parent := run.parent_run_id) is not None:
            link_to_run(parent, f"Part of {run_label(parent)}", icon=":material/account_tree:",
                        help="The parent run this run is nested in")
        if run.lifecycle_stage == "deleted":
            st.warning("This run is deleted in the tracker (it can still be restored there); it is left out of "
                       "the experiment's rankings and distributions.", icon=":material/delete:")
    with right:
        rating_panel(run)


# ---- the tree -------------------------------------------------------------------------------------------------
def nav_key(kind: str) -> str:
    return f"nav.{detail.run_id}.{kind}"


def select_from(kind: str) -> None:
    if (value := st.session_state.get(nav_key(kind))) is not None:
        st.query_params["item"] = value


def section(kind: str, title: str, options: dict[str, str], selected: wf.Item | None, *, icon: str,
            expanded: bool, captions: list[str] | None = None) -> None:
    """One section of the tree: an expander holding a radio of ``{item id: label}``."""
    st.session_state[nav_key(kind)] = selected.id if selected is not None and selected.kind == kind else None
    with st.expander(title, expanded=expanded and bool(options), icon=icon):
        if not options:
            st.caption("None logged.")
            return
        st.radio(title, list(options), index=None, format_func=options.__getitem__, key=nav_key(kind),
                 on_change=select_from, args=(kind,), label_visibility="collapsed", captions=captions)


def short(value: str, limit: int = 28) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def tree_label(name: str, detail_text: str, width: int = 26) -> str:
    """``name · detail`` cut to fit one line of the tree (the name keeps at least two thirds)."""
    name = short(name, max(width * 2 // 3, width - len(detail_text) - 3))
    return f"{name} · :gray[{short(detail_text, max(width - len(name) - 3, 5))}]"


def tree(run: RunDetail, selected: wf.Item | None, listing: list[ArtifactRef] | None, folder: str,
         listing_error: str | None) -> None:
    params = {wf.Item("param", k).id: tree_label(k, v) for k, v in sorted(run.params.items())}
    metrics = {wf.Item("metric", k).id: tree_label(k, wf.format_number(v)) for k, v in sorted(run.metrics.items())}
    names = wf.dataset_item_names(run.inputs)
    datasets = {wf.Item("dataset", n).id: n for n in names}
    dataset_captions = [" · ".join(x for x in (d.context or "no context", d.digest) if x) for d in run.inputs]
    kind = selected.kind if selected is not None else None
    st.markdown("**Workflow details**")
    section("param", f"Params · {len(params)}", params, selected, icon=":material/tune:",
            expanded=kind == "param" or len(params) <= SMALL_SECTION)
    section("metric", f"Metrics · {len(metrics)}", metrics, selected, icon=":material/monitoring:",
            expanded=kind == "metric" or len(metrics) <= SMALL_SECTION)
    section("dataset", f"Datasets · {len(datasets)}", datasets, selected, icon=":material/dataset:",
            expanded=kind == "dataset" or len(datasets) <= SMALL_SECTION, captions=dataset_captions)

    artifacts: dict[str, str] = {}
    here = folder.rstrip("/") or "all artifacts"
    if folder or listing:  # an empty root is "None logged", not a folder to open
        artifacts[wf.Item("artifact", folder).id] = f":material/folder_open: **{here}**"
    if folder:
        artifacts[wf.Item("artifact", wf.parent_folder(folder)).id] = ":material/arrow_upward: up"
    for ref in listing or []:
        name = ref.path.rstrip("/").rsplit("/", 1)[-1]
        if ref.is_dir:
            artifacts[wf.Item("artifact", ref.path.rstrip("/") + "/").id] = f":material/folder: {name}"
        else:
            artifacts[wf.Item("artifact", ref.path).id] = f":material/draft: {tree_label(name, wf.format_bytes(ref.file_size), 23)}"
    artifact_selected = selected if kind == "artifact" and selected.id in artifacts else None
    count = "" if listing is None else f" · {len(listing)}" if not folder else ""
    if listing_error:
        with st.expander("Artifacts", expanded=True, icon=":material/folder:"):
            st.caption(listing_error)
    else:
        section("artifact", f"Artifacts{count}", artifacts, artifact_selected, icon=":material/folder:",
                expanded=kind == "artifact" or len(artifacts) <= SMALL_SECTION)

    children = list(run.child_run_ids)
    with st.expander(f"Child runs · {len(children)}", expanded=bool(children), icon=":material/account_tree:"):
        if not children:
            st.caption("This run has no nested runs.")
        else:
            st.graphviz_chart(wf.children_dot(
                (run.run_id, run.run_name, run.status),
                [(c, run_label(c), run_statuses.get(c, "")) for c in children],
            ), width="stretch")
        for child in children[:MAX_CHILD_LINKS]:
            _, status_icon = wf.status_style(run_statuses.get(child, ""))
            link_to_run(child, run_label(child), icon=status_icon)
        if len(children) > MAX_CHILD_LINKS:
            st.caption(f"… and {len(children) - MAX_CHILD_LINKS} more, listed on the experiment page.")

    st.markdown("**Model insights**")
    found = cached.insights_availability(tracker, run)
    with st.container(border=True):
        if found.ready:
            st.caption(f"Model: {found.model} · test data: {found.test_data}")
            st.page_link(INSIGHTS_PAGE, label="Open model insights", icon=":material/insights:",
                         query_params={"run": run.run_id})
        else:
            st.caption(f":material/info: {found.missing}" + ("" if getattr(found, "problem", None) else
                       " Log both with `lens_core.log_insights(model, X_test, y_test, X_train, y_train)` inside "
                       "the run to get evaluation and explanations here."))


# ---- right side: a param --------------------------------------------------------------------------------------
def show_param(run: RunDetail, name: str) -> None:
    value = run.params[name]
    dist = wf.param_distribution(runs, name, value)
    st.subheader(f":material/tune: {name}", anchor=False)
    cols = st.columns([2, 1, 1])
    if len(value) <= 24:
        cols[0].metric("Value", value)
    else:
        with cols[0]:
            st.caption("Value")
            st.code(value, language=None, wrap_lines=True)
    if dist.total:
        cols[1].metric("Runs with this value", f"{len(dist.same_value_run_ids)} of {dist.total}")
        cols[2].metric("Runs without this param", dist.missing)
    if dist.table.empty:
        st.info("No other run of this experiment is available to compare this value with.")
        return
    if len(dist.table) == 1:
        setters = int(dist.table["count"].iloc[0])
        st.info(f"Only this run sets {name}." if setters == 1 else
                f"All {setters} runs that set {name} use this value." + (
                    f" {plural(dist.missing, 'run')} of the experiment never set it." if dist.missing else ""),
                icon=":material/info:")
        compare_link(name, value, dist.same_value_run_ids)
        return
    st.markdown(f"**Distribution across the experiment's {dist.total} runs**")
    tooltip_count = alt.Tooltip("count:Q", title="runs")
    colour = alt.condition("datum.this", alt.value(THIS_RUN), alt.value(OTHER_RUNS))
    if dist.kind == "histogram":
        scale = alt.Scale(type="log") if dist.log_scale else alt.Scale(zero=False)
        chart = alt.Chart(dist.table).mark_bar(stroke="white", strokeWidth=0.5).encode(
            x=alt.X("bin_start:Q", title=name, scale=scale, bin="binned"),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title="runs"),
            color=colour,
            tooltip=[alt.Tooltip("bin_start:Q", title="from", format=".4g"),
                     alt.Tooltip("bin_end:Q", title="to", format=".4g"), tooltip_count],
        )
    else:
        chart = alt.Chart(dist.table).mark_bar(cornerRadiusEnd=3).encode(
            y=alt.Y("value:N", title=None, sort=list(dist.table["value"]), axis=alt.Axis(labelLimit=260)),
            x=alt.X("count:Q", title="runs", axis=alt.Axis(tickMinStep=1),
                    scale=alt.Scale(domain=[0, float(dist.table["count"].max()) * 1.12], nice=False)),
            color=colour,
            tooltip=[alt.Tooltip("value:N", title=name), tooltip_count],
        )
        chart = chart + chart.mark_text(align="left", dx=4, color="#6b7280").encode(text="count:Q", color=alt.value("#6b7280"))
    height = 260 if dist.kind == "histogram" else alt.Step(30)
    st.altair_chart(chart.properties(height=height), width="stretch")
    drawn = bool(dist.table["this"].any())
    st.caption((f":red[■] this run's value ({short(value, 40)})" if drawn else f"this run's value ({short(value, 40)}) is not drawn")
               + (f" · {plural(dist.unset_values, 'run')} logged it as None (not drawn)" if dist.unset_values else "")
               + (f" · {plural(dist.missing, 'run')} never set {name}" if dist.missing else "")
               + (" · log scale" if dist.log_scale else ""))
    if len(dist.same_value_run_ids) > 1:
        compare_link(name, value, dist.same_value_run_ids)
    else:
        st.caption("No other run of this experiment used this value.")


def compare_link(name: str, value: str, same: list[str]) -> None:
    """"Compare the n runs with this value" → the comparison page, when it is installed."""
    if len(same) > 1:
        label = f"Compare the {len(same)} runs with {name} = {short(value, 30)}"
        if (APP_ROOT / COMPARE_PAGE).is_file():
            ids = same[:MAX_COMPARE_RUNS]
            st.page_link(COMPARE_PAGE, label=label, icon=":material/compare_arrows:",
                         query_params={"runs": ",".join(ids)})
            if len(same) > MAX_COMPARE_RUNS:
                st.caption(f"The comparison opens with the {MAX_COMPARE_RUNS} most recent of them.")
        else:
            st.caption(f":material/compare_arrows: {label}: the comparison page is not installed yet.")


# ---- right side: a metric -------------------------------------------------------------------------------------
def show_metric(run: RunDetail, key: str) -> None:
    value = run.metrics.get(key)
    st.subheader(f":material/monitoring: {key}", anchor=False)
    standing = wf.metric_standing(runs, key, run.run_id, value)
    direction = wf.better_direction(key)
    cols = st.columns(5)
    cols[0].metric("Latest value", wf.format_number(value))
    if standing.value is not None and standing.count > 1:
        if direction is not None:
            cols[1].metric(f"Rank of {standing.count:,}", f"{standing.rank(direction):,}",
                           help=f"{direction.title()} is better, guessed from the name. 1 = best.")
        else:
            cols[1].metric(f"Rank of {standing.count:,}", wf.ordinal(standing.rank_highest),
                           help=f"Counted from the highest value ({wf.ordinal(standing.rank_lowest)} from the lowest). "
                                "Whether higher or lower is better cannot be told from the name.")
    else:
        cols[1].metric("Rank", "—", help="Ranks need a finite value on this run and on at least one other run.")
    cols[2].metric("Min", wf.format_number(standing.minimum))
    cols[3].metric("Mean", wf.format_number(standing.mean))
    cols[4].metric("Max", wf.format_number(standing.maximum))
    if direction is not None:
        st.caption(f":material/info: {direction.title()} is better, guessed from the name {key!r}; ranks count 1 as "
                   "the best run.")
    elif standing.count:
        st.caption(":material/info: Whether higher or lower is better cannot be told from the name: the rank counts "
                   "from the highest value.")

    try:
        history = tracker.metric_history([run.run_id], [key], max_points=2000)
    except LensError as exc:
        st.warning(f"The history of {key} could not be read: {exc}")
        history = pd.DataFrame(columns=["step", "timestamp", "value"])
    if len(history) > 1:
        axis = wf.history_axis(history)
        data = history.assign(time=pd.to_datetime(history["timestamp"], unit="ms", utc=True))[["step", "time", "value"]]
        x = (alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format="d")) if axis == "step"
             else alt.X("time:T", title="time (UTC)"))
        points = alt.OverlayMarkDef(color=THIS_RUN, size=40) if len(data) <= 60 else False
        line = alt.Chart(data).mark_line(color=THIS_RUN, strokeWidth=2, point=points).encode(
            x=x,
            y=alt.Y("value:Q", title=key, scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".5g"),
                     alt.Tooltip("time:T", format="%Y-%m-%d %H:%M:%S")],
        )
        st.markdown(f"**History** · {len(data)} points" + (" (downsampled, extremes kept)" if len(data) >= 2000 else ""))
        st.altair_chart(line.properties(height=280), width="stretch")
    elif len(history) == 1:
        st.caption(f"Logged once, at step {int(history['step'].iloc[0])}: no history to draw.")

    if standing.count < 2:
        st.caption("Fewer than two runs of this experiment have a finite value of this metric: nothing to rank.")
        return
    st.markdown(f"**Among the experiment's {standing.count} runs**"
                + (f" · {standing.missing} without a value" if standing.missing else ""))
    values = standing.values.assign(this=lambda f: f["run_id"] == run.run_id,
                                    jitter=lambda f: (np.arange(len(f)) * 0.618034) % 1)  # spread ties apart
    values.loc[values["this"], "jitter"] = 0.5
    strip = alt.Chart(values).mark_circle(size=90, opacity=0.75).encode(
        x=alt.X("value:Q", title=key, scale=alt.Scale(zero=False)),
        y=alt.Y("jitter:Q", axis=None, scale=alt.Scale(domain=[-0.15, 1.15])),
        color=alt.condition("datum.this", alt.value(THIS_RUN), alt.value(OTHER_RUNS)),
        size=alt.condition("datum.this", alt.value(260), alt.value(90)),
        order=alt.Order("this:O"),
        tooltip=[alt.Tooltip("run_name:N", title="run"), alt.Tooltip("value:Q", format=".5g")],
    )
    st.altair_chart(strip.properties(height=110), width="stretch")

    item = wf.Item("metric", key)
    if direction is not None:
        best, worst = standing.best_run_id(direction), standing.worst_run_id(direction)
        labels = ("Best", "Worst")
    else:
        best, worst = standing.highest_run_id, standing.lowest_run_id
        labels = ("Highest", "Lowest")
    values_by_run = dict(zip(values["run_id"], values["value"]))
    left, right = st.columns(2)
    for column, label, rid, icon in ((left, labels[0], best, ":material/trophy:"),
                                     (right, labels[1], worst, ":material/trending_down:")):
        with column:
            text = f"{label}: {run_label(rid)} ({wf.format_number(values_by_run.get(rid))})"
            if rid == run.run_id:
                st.markdown(f"{icon} {text} — this run")
            else:
                link_to_run(rid, text, icon=icon, item=item)


# ---- right side: an artifact ----------------------------------------------------------------------------------


def show_folder(run: RunDetail, folder: str, listing: list[ArtifactRef] | None) -> None:
    st.subheader(f":material/folder_open: {folder.rstrip('/') or 'Artifacts'}", anchor=False)
    if not listing:
        st.info("No artifacts here." if folder else "This run logged no artifacts.")
        return
    table = pd.DataFrame({
        "name": [r.path.rstrip("/").rsplit("/", 1)[-1] + ("/" if r.is_dir else "") for r in listing],
        "kind": ["folder" if r.is_dir else wf.artifact_kind(r.path).label for r in listing],
        "size": ["" if r.is_dir else wf.format_bytes(r.file_size) for r in listing],
    })
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 460))
    st.caption("Pick a file or folder in the tree on the left to open it.")


def show_artifact(run: RunDetail, path: str, ref: ArtifactRef | None) -> None:
    kind = wf.artifact_kind(path)
    name = path.rsplit("/", 1)[-1]
    st.subheader(f":material/draft: {name}", anchor=False)
    size = ref.file_size if ref is not None else None
    st.caption(" · ".join(x for x in (f"`{path}`", kind.label, wf.format_bytes(size)) if x))
    try:
        local = tracker.fetch_artifact(run.run_id, path)
    except LensError as exc:
        st.error(f"**Cannot open this artifact.** {exc}", icon=":material/error:")
        return
    size = local.stat().st_size if size is None else size
    preview = kind.kind
    if preview == "other" and size <= wf.TEXT_PREVIEW_BYTES * 4:
        with local.open("rb") as fh:
            if wf.looks_like_text(fh.read(8192)):
                preview = "text"
    if explorer_ui.is_table_file(local):  # CSV / TSV / Parquet, and JSON holding records: the data explorer
        explorer_ui.explore(local, key=f"explore.{run.run_id}.{path}")
    elif preview == "image":
        if size <= wf.IMAGE_PREVIEW_BYTES:
            st.image(str(local))
        else:
            st.info(f"This image is {wf.format_bytes(size)}: too large to draw here. Download it instead.")
    elif preview in ("markdown", "json", "yaml", "text"):
        with local.open("rb") as fh:
            raw = fh.read(wf.TEXT_PREVIEW_BYTES + 1)
        cut = len(raw) > wf.TEXT_PREVIEW_BYTES
        text = raw[: wf.TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace")
        if preview == "markdown":
            with st.container(border=True, height=min(120 + 22 * text.count("\n"), 560)):
                st.markdown(text)
        else:
            body = wf.pretty_json(text) if preview == "json" and not cut else text
            st.code(body, language=kind.language or None, line_numbers=body.count("\n") > 3, height=min(
                60 + 21 * body.count("\n"), 560), wrap_lines=preview == "text")
        if cut:
            st.caption(f"Showing the first {wf.format_bytes(wf.TEXT_PREVIEW_BYTES)} of {wf.format_bytes(size)}.")
    elif preview == "table":
        try:
            frame, total = cached.table_preview(str(local), (local.stat().st_mtime, size))
        except (ValueError, OSError) as exc:  # a malformed file is the artifact's problem, not the page's
            st.warning(f"This file could not be read as a table: {hide_paths(str(exc))}")
        else:
            st.dataframe(frame, width="stretch", height=min(38 + 35 * len(frame), 460))
            shown = plural(len(frame), "row") if total == len(frame) else (
                f"first {len(frame):,} of {total:,} rows" if total else f"first {len(frame):,} rows")
            st.caption(f"{shown} · {plural(frame.shape[1], 'column')}. The dataset explorer will open full tables.")
    else:
        st.info(f"No preview for this kind of file ({kind.label}, {wf.format_bytes(size)}). Download it to open it.",
                icon=":material/visibility_off:")
    st.download_button("Download", data=local.read_bytes if size <= 200 * 1024**2 else b"", file_name=name,
                       icon=":material/download:", on_click="ignore", disabled=size > 200 * 1024**2,
                       key=f"download.{path}")


# ---- right side: a dataset ------------------------------------------------------------------------------------
def show_dataset(run: RunDetail, name: str) -> None:
    dataset = run.inputs[wf.dataset_item_names(run.inputs).index(name)]
    profile = wf.dataset_profile(dataset)
    st.subheader(f":material/dataset: {dataset.name}", anchor=False)
    cols = st.columns(4)
    cols[0].metric("Context", dataset.context or "—", help="The mlflow.data.context input tag (training, test, …)")
    cols[1].metric("Digest", dataset.digest or "—")
    cols[2].metric("Rows", f"{profile['num_rows']:,}" if isinstance(profile.get("num_rows"), int) else "—")
    cols[3].metric("Source type", dataset.source_type or "—")
    st.markdown("**Source**")
    st.code(wf.dataset_source(dataset), language=None, wrap_lines=True)
    schema = wf.dataset_schema(dataset)
    if schema is not None:
        st.markdown(f"**Schema** · {len(schema)} columns")
        st.dataframe(schema, hide_index=True, width="stretch", height=min(38 + 35 * len(schema), 420),
                     column_config={"required": st.column_config.CheckboxColumn("required")})
    elif dataset.schema:
        st.markdown("**Schema**")
        st.code(wf.pretty_json(dataset.schema), language="json")
    else:
        st.caption("No schema was logged with this dataset.")
    extra = {k: v for k, v in profile.items() if k != "num_rows"}
    if extra:
        st.markdown("**Profile**")
        st.json(extra, expanded=1)
    from lens_core.errors import OutsideRootsError

    try:
        data = dataset_path(dataset.source, dataset_roots(tracker, run.artifact_uri))
    except OutsideRootsError as exc:  # the metadata above, and how an operator allows the folder
        st.info(str(exc), icon=":material/lock:")
        return
    if data is not None and explorer_ui.is_table_file(data):
        st.markdown("**Data**")
        explorer_ui.explore(data, key=f"explore.{run.run_id}.dataset.{name}")
    else:
        st.caption("MLflow keeps a dataset's metadata, not its data; the data opens here when the source is a "
                   "local CSV, TSV, Parquet or JSON file this app can read.")


# ---- the page -------------------------------------------------------------------------------------------------
header(detail)
if message := st.session_state.pop("lens.saved_message", None):
    st.toast(message, icon=":material/check:")

def list_artifacts(folder: str) -> tuple[list[ArtifactRef] | None, str | None]:
    try:
        return tracker.artifacts(detail.run_id, folder.rstrip("/")), None
    except LensError as exc:
        return None, f"The artifacts could not be listed: {exc}"


asked = str(st.query_params.get("item") or "")
requested = wf.parse_item(asked)
notice: str | None = None
if requested is not None and wf.item_exists(requested, detail):
    selected = requested
else:
    selected = wf.default_item(detail)
    if asked:
        notice = f"This run has no {asked!r}; showing {selected.kind} {selected.name or 'artifacts'!r} instead."
folder = wf.artifact_folder(selected)
listing, listing_error = list_artifacts(folder)
refs = {r.path: r for r in listing or []}
if selected.kind == "artifact" and not selected.is_folder and listing is not None:
    ref = refs.get(selected.name)
    if ref is not None and ref.is_dir:  # a folder named without its trailing "/"
        selected = wf.Item("artifact", selected.name + "/")
        folder = selected.name
        listing, listing_error = list_artifacts(folder)
        refs = {r.path: r for r in listing or []}
    elif ref is None:
        notice = f"This run has no artifact {selected.name!r}; showing its folder."
        selected = wf.Item("artifact", folder)

st.divider()
tree_column, view_column = st.columns([1.15, 3], gap="large")
with tree_column:
    tree(detail, selected, listing, folder, listing_error)
with view_column:
    if notice:
        st.warning(notice, icon=":material/link_off:")
    if selected.kind == "param":
        show_param(detail, selected.name)
    elif selected.kind == "metric":
        show_metric(detail, selected.name)
    elif selected.kind == "dataset":
        show_dataset(detail, selected.name)
    elif selected.is_folder:
        if listing_error:
            st.warning(listing_error)
        else:
            show_folder(detail, selected.name, listing)
    else:
        show_artifact(detail, selected.name, refs.get(selected.name))
