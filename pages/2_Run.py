"""Workflow page: one run — what it was, what it used, how it did among its siblings, and what the team thinks.

URL: ``?run=<run id>&item=<kind>:<name>`` (``item=metric:train/loss``, ``param:lr``, ``dataset:train``,
``artifact:plots/`` for a folder, ``artifact:plots/roc.png`` for a file) and, for a table, ``data`` (the data
explorer's view, packed: filters, columns, sort, chart and map picks). Without ``run`` the page offers a picker.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from lens_core.confine import dataset_path, dataset_roots
from lens_core.errors import ExperimentNotFoundError, LensError, OutsideRootsError, RunNotFoundError
from lens_core.format import format_bytes, format_number, format_time, full_precision, plural, run_label
from lens_core.model import ArtifactRef, Experiment, RunDetail
from lens_core.runs import run_artifacts as ra
from lens_core.runs import run_charts
from lens_core.runs import run_datasets as rd
from lens_core.runs import run_ratings as rr
from lens_core.runs import run_view as rv
from lens_core.runs import workflow as wf
from lens_core.trackers import Tracker
from lens_core.ui import cache as cached
from lens_core.ui import explorer as explorer_ui
from lens_core.ui import links, shell
from lens_core.ui.directions import direction_control
from lens_core.ui.shell import COMPARE_PAGE, HOME_PAGE, INSIGHTS_PAGE, RUN_PAGE
from lens_core.ui.tiles import Tile, tiles

st.set_page_config(page_title="Run · ExperimentLens", page_icon=":material/science:", layout="wide")

USER_KEY = "lens.user_name"
MAX_COMPARE_RUNS = 200  # run ids in a comparison link (the URL stays under ~7 kB)
MAX_CHILD_LINKS = 25
SMALL_SECTION = 6  # tree sections this short stay open; longer ones open when they hold the selection


# ---- who is rating --------------------------------------------------------------------------------------------
def logged_in_user() -> str | None:
    """The signed-in user when Streamlit authentication is configured."""
    claims = {k: st.user.get(k) for k in ("is_logged_in", "name", "email", "sub")}
    return rr.rater_identity(claims)


def current_user() -> str | None:
    return logged_in_user() or (str(st.session_state.get(USER_KEY) or "").strip() or None)


def link_to_run(rid: str, label: str, *, icon: str | None = None, item: wf.Item | None = None, **kw: object) -> None:
    query = {"run": rid} | ({"item": item.id} if item is not None else {})
    st.page_link(RUN_PAGE, label=label, icon=icon, query_params=query, **kw)


# ---- rating and note -----------------------------------------------------------------------------------------
NEEDS_NAME = "needs-name"


def rating_key(rid: str) -> str:
    return f"lens.rating.{rid}"


def note_key(rid: str) -> str:
    return f"lens.note.{rid}"


def problem_key(rid: str) -> str:
    return f"lens.save_problem.{rid}"


def pending_key(rid: str) -> str:
    return f"lens.save_pending.{rid}"


def save_feedback(tracker: Tracker, rid: str, field: str | None = None) -> None:
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
        changes = rr.rating_tags(
            current,
            rating=rating if "rating" in fields else rr.stored_rating(current),
            note=note if "note" in fields else str(current.get(rr.NOTE_TAG, "") or ""),
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
        st.session_state["lens.saved_message"] = "Rating saved" if rr.RATING_TAG in changes else "Note saved"


def rating_panel(tracker: Tracker, run: RunDetail) -> None:
    rid = run.run_id
    if st.session_state.get(problem_key(rid)) == NEEDS_NAME and current_user():
        save_feedback(tracker, rid)  # the name the save was waiting for has been given
        run = tracker.run(rid)
    rating = rr.stored_rating(run.tags)
    with st.container(border=True):
        st.markdown("**Team rating**")
        st.feedback("stars", key=rating_key(rid), default=None if rating is None else rating - 1,
                    on_change=save_feedback, args=(tracker, rid, "rating"))
        st.text_area(
            "Note", value=str(run.tags.get(rr.NOTE_TAG, "") or ""), key=note_key(rid), height=68,
            max_chars=rr.MAX_NOTE_CHARS, placeholder="A note for the team (saved when you leave the box)",
            on_change=save_feedback, args=(tracker, rid, "note"), label_visibility="collapsed",
        )
        problem = st.session_state.get(problem_key(rid))
        if problem == NEEDS_NAME:
            st.warning("**Enter your name in the sidebar to save.** Your rating and note are kept and saved as "
                       "soon as you do.", icon=":material/person_alert:")
        elif problem:
            st.error(f"**Not saved.** {problem}", icon=":material/error:")
            st.button("Try again", icon=":material/refresh:", on_click=save_feedback, args=(tracker, rid),
                      key=f"retry.{rid}")
        else:
            st.caption(rv.rating_caption(run.tags))


# ---- header ---------------------------------------------------------------------------------------------------
def header(tracker: Tracker, run: RunDetail, experiment: Experiment | None, siblings: rv.Siblings) -> None:
    left, right = st.columns([0.7, 0.3], gap="large", vertical_alignment="top")
    with left:
        if experiment is not None:
            st.page_link(HOME_PAGE, label=f"{experiment.name}", icon=":material/arrow_back:",
                         query_params={"experiment": experiment.experiment_id}, help="Back to the experiment's runs")
        colour, icon = wf.status_style(run.status)
        st.title(f"{run_label(run.run_name, run.run_id)} :{colour}-badge[{icon} {run.status.title()}]", anchor=False)
        st.markdown(rv.header_lines(run, pd.Timestamp.now(tz="UTC")))
        if (parent := run.parent_run_id) is not None:
            link_to_run(parent, f"Part of {siblings.label(parent)}", icon=":material/account_tree:",
                        help="The parent run this run is nested in")
        if run.lifecycle_stage == "deleted":
            st.warning("This run is deleted in the tracker (it can still be restored there); it is left out of "
                       "the experiment's rankings and distributions.", icon=":material/delete:")
    with right:
        rating_panel(tracker, run)


# ---- the tree -------------------------------------------------------------------------------------------------
def nav_key(rid: str, kind: str) -> str:
    return f"nav.{rid}.{kind}"


def select_from(key: str) -> None:
    if (value := st.session_state.get(key)) is not None:
        st.query_params["item"] = value
        st.query_params.pop("data", None)  # the data view belonged to the item left


def section(rid: str, kind: str, title: str, options: dict[str, str], selected: wf.Item | None, *, icon: str,
            expanded: bool, captions: list[str] | None = None) -> None:
    """One section of the tree: an expander holding a radio of ``{item id: label}``."""
    key = nav_key(rid, kind)
    st.session_state[key] = selected.id if selected is not None and selected.kind == kind else None
    with st.expander(title, expanded=expanded and bool(options), icon=icon):
        if not options:
            st.caption("None logged.")
            return
        st.radio(title, list(options), index=None, format_func=options.__getitem__, key=key,
                 on_change=select_from, args=(key,), label_visibility="collapsed", captions=captions)


def tree(tracker: Tracker, run: RunDetail, siblings: rv.Siblings, view: rv.Selection) -> None:
    params, metrics = rv.param_entries(run), rv.metric_entries(run)
    datasets, dataset_captions = rv.dataset_entries(run)
    kind = view.item.kind
    st.markdown("**Workflow details**")
    section(run.run_id, "param", f"Params · {len(params)}", params, view.item, icon=":material/tune:",
            expanded=kind == "param" or len(params) <= SMALL_SECTION)
    section(run.run_id, "metric", f"Metrics · {len(metrics)}", metrics, view.item, icon=":material/monitoring:",
            expanded=kind == "metric" or len(metrics) <= SMALL_SECTION)
    section(run.run_id, "dataset", f"Datasets · {len(datasets)}", datasets, view.item, icon=":material/dataset:",
            expanded=kind == "dataset" or len(datasets) <= SMALL_SECTION, captions=dataset_captions)
    artifacts = rv.artifact_entries(view.folder, view.listing)
    if view.listing_error:
        with st.expander("Artifacts", expanded=True, icon=":material/folder:"):
            st.caption(view.listing_error)
    else:
        count = f" · {len(view.listing)}" if view.listing is not None and not view.folder else ""
        shown = view.item if kind == "artifact" and view.item.id in artifacts else None
        section(run.run_id, "artifact", f"Artifacts{count}", artifacts, shown, icon=":material/folder:",
                expanded=kind == "artifact" or len(artifacts) <= SMALL_SECTION)

    children = list(run.child_run_ids)
    with st.expander(f"Child runs · {len(children)}", expanded=bool(children), icon=":material/account_tree:"):
        if not children:
            st.caption("This run has no nested runs.")
        else:
            st.graphviz_chart(wf.children_dot(
                (run.run_id, run.run_name, run.status),
                [(c, siblings.label(c), siblings.statuses.get(c, "")) for c in children],
            ), width="stretch")
        for child in children[:MAX_CHILD_LINKS]:
            _, status_icon = wf.status_style(siblings.statuses.get(child, ""))
            link_to_run(child, siblings.label(child), icon=status_icon)
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
            st.caption(f":material/info: {found.missing}" + ("" if found.problem else
                       " Log both with `lens_core.log_insights(model, X_test, y_test, X_train, y_train)` inside "
                       "the run to get evaluation and explanations here."))


# ---- right side: a param --------------------------------------------------------------------------------------
def show_param(run: RunDetail, siblings: rv.Siblings, name: str) -> None:
    value = run.params[name]
    dist = wf.param_distribution(siblings.runs, name, value)
    st.subheader(f":material/tune: {name}", anchor=False)
    long_value = len(value) > 40
    if long_value:
        st.caption("Value")
        st.code(value, language=None, wrap_lines=True)
    shown = [] if long_value else [Tile("Value", value, "As logged: MLflow keeps every param as text.")]
    if dist.total:
        shown += [Tile("Runs with this value", f"{len(dist.same_value_run_ids):,} of {dist.total:,}"),
                  Tile("Runs without this param", format_number(dist.missing))]
    tiles(shown)
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
    st.altair_chart(run_charts.param_distribution_chart(dist), width="stretch")
    drawn = bool(dist.table["this"].any())
    st.caption((f":red[■] this run's value ({rv.short(value, 40)})" if drawn
                else f"this run's value ({rv.short(value, 40)}) is not drawn")
               + (f" · {plural(dist.unset_values, 'run')} logged it as None (not drawn)" if dist.unset_values else "")
               + (f" · {plural(dist.missing, 'run')} never set {name}" if dist.missing else "")
               + (" · log scale" if dist.log_scale else ""))
    if len(dist.same_value_run_ids) > 1:
        compare_link(name, value, dist.same_value_run_ids)
    else:
        st.caption("No other run of this experiment used this value.")


def compare_link(name: str, value: str, same: list[str]) -> None:
    """"Compare the n runs with this value" → the comparison page."""
    if len(same) > 1:
        st.page_link(COMPARE_PAGE, label=f"Compare the {len(same)} runs with {name} = {rv.short(value, 30)}",
                     icon=":material/compare_arrows:", query_params={"runs": ",".join(same[:MAX_COMPARE_RUNS])})
        if len(same) > MAX_COMPARE_RUNS:
            st.caption(f"The comparison opens with the {MAX_COMPARE_RUNS} most recent of them.")


# ---- right side: a metric -------------------------------------------------------------------------------------
def show_metric(tracker: Tracker, run: RunDetail, siblings: rv.Siblings, key: str) -> None:
    value = run.metrics.get(key)
    st.subheader(f":material/monitoring: {key}", anchor=False)
    standing = wf.metric_standing(siblings.runs, key, run.run_id, value)
    direction = direction_control(tracker, run.experiment_id, key, key="run.direction")
    rank = rv.rank_summary(standing, direction)
    tiles([Tile("Latest value", format_number(standing.value), full_precision(standing.value)),
           Tile(rank.label, rank.value, rank.help),
           *(Tile(label, format_number(number), full_precision(number)) for label, number in
             (("Min", standing.minimum), ("Mean", standing.mean), ("Max", standing.maximum)))])
    if rank.caption:
        st.caption(rank.caption)

    try:
        raw = tracker.metric_history([run.run_id], [key], max_points=2000)
    except LensError as exc:
        st.warning(f"The history of {key} could not be read: {exc}")
        raw = pd.DataFrame(columns=["step", "timestamp", "value"])
    history = wf.metric_history(raw, key) if len(raw) else None
    dropped = f" · {plural(history.non_finite, 'non-finite value')} not drawn" if history and history.non_finite else ""
    if history is not None and len(history.points) > 1:
        st.markdown(f"**History** · {plural(len(history.points), 'point')}"
                    + (" (downsampled, extremes kept)" if len(raw) >= 2000 else "") + dropped)
        st.altair_chart(run_charts.metric_history_chart(history), width="stretch")
        if history.axis == "order":
            first, last = history.points["time"].iloc[0], history.points["time"].iloc[-1]
            st.caption(f"Every point was logged at step {history.step} (no `step=`), so they are drawn in the order "
                       f"logged: from {format_time(first)} to {format_time(last, first)}.")
    elif history is not None and history.single:
        point = history.points.iloc[0]
        st.markdown(f"**History** · logged once: **{format_number(point['value'])}** at step "
                    f"{format_number(int(point['step']))}, {format_time(point['time'])}{dropped}. Where it stands "
                    "among the other runs is drawn below.")
    elif history is not None:
        st.caption(f"Every logged value of {key} is ±inf or NaN: no history to draw.")

    if standing.count < 2:
        st.caption("Fewer than two runs of this experiment have a finite value of this metric: nothing to rank.")
        return
    st.markdown(f"**Among the experiment's {plural(standing.count, 'run')} with a finite value**")
    st.altair_chart(run_charts.metric_strip_chart(standing, run.run_id), width="stretch")
    ends = (("Best", standing.best_run_id(direction)), ("Worst", standing.worst_run_id(direction)))
    values_by_run = dict(zip(standing.values["run_id"], standing.values["value"]))
    for column, (label, rid), icon in zip(st.columns(2), ends, (":material/trophy:", ":material/trending_down:")):
        with column:
            text = f"{label}: {siblings.label(rid)} ({format_number(values_by_run.get(rid))})"
            if rid == run.run_id:
                st.markdown(f"{icon} {text} — this run")
            else:
                link_to_run(rid, text, icon=icon, item=wf.Item("metric", key))


# ---- right side: an artifact ----------------------------------------------------------------------------------
def show_folder(folder: str, listing: list[ArtifactRef] | None) -> None:
    st.subheader(f":material/folder_open: {folder.rstrip('/') or 'Artifacts'}", anchor=False)
    if not listing:
        st.info("No artifacts here." if folder else "This run logged no artifacts.")
        return
    table = rv.folder_table(listing)
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 460))
    st.caption("Pick a file or folder in the tree on the left to open it.")


def show_artifact(tracker: Tracker, run: RunDetail, path: str, ref: ArtifactRef | None) -> None:
    kind = ra.artifact_kind(path)
    name = path.rsplit("/", 1)[-1]
    st.subheader(f":material/draft: {name}", anchor=False)
    size = ref.file_size if ref is not None else None
    st.caption(" · ".join(x for x in (f"`{path}`", kind.label, format_bytes(size)) if x))
    try:
        local = tracker.fetch_artifact(run.run_id, path)
    except LensError as exc:
        st.error(f"**Cannot open this artifact.** {exc}", icon=":material/error:")
        return
    size = local.stat().st_size if size is None else size
    preview = rv.preview_kind(path, local, size)
    if explorer_ui.is_table_file(local):  # CSV / TSV / Parquet, and JSON holding records: the data explorer
        explorer_ui.explore(local, key=f"explore.{run.run_id}.{path}", link="data")
    elif preview == "image":
        if size <= ra.IMAGE_PREVIEW_BYTES:
            st.image(str(local))
        else:
            st.info(f"This image is {format_bytes(size)}: too large to draw here. Download it instead.")
    elif preview in ("markdown", "json", "yaml", "text"):
        text, cut = rv.read_text_preview(local)
        if preview == "markdown":
            with st.container(border=True, height=min(120 + 22 * text.count("\n"), 560)):
                st.markdown(text)
        else:
            body = ra.pretty_json(text) if preview == "json" and not cut else text
            st.code(body, language=kind.language or None, line_numbers=body.count("\n") > 3, height=min(
                60 + 21 * body.count("\n"), 560), wrap_lines=preview == "text")
        if cut:
            st.caption(f"Showing the first {format_bytes(ra.TEXT_PREVIEW_BYTES)} of {format_bytes(size)}.")
    else:
        st.info(f"No preview for this kind of file ({kind.label}, {format_bytes(size)}). Download it to open it.",
                icon=":material/visibility_off:")
    st.download_button("Download", data=local.read_bytes if size <= 200 * 1024**2 else b"", file_name=name,
                       icon=":material/download:", on_click="ignore", disabled=size > 200 * 1024**2,
                       key=f"download.{path}")


# ---- right side: a dataset ------------------------------------------------------------------------------------
def show_dataset(tracker: Tracker, run: RunDetail, name: str) -> None:
    dataset = run.inputs[wf.dataset_item_names(run.inputs).index(name)]
    profile = rd.dataset_profile(dataset)
    st.subheader(f":material/dataset: {dataset.name}", anchor=False)
    cols = st.columns(4)
    cols[0].metric("Context", dataset.context or "—", help="The mlflow.data.context input tag (training, test, …)")
    cols[1].metric("Digest", dataset.digest or "—")
    cols[2].metric("Rows", f"{profile['num_rows']:,}" if isinstance(profile.get("num_rows"), int) else "—")
    cols[3].metric("Source type", dataset.source_type or "—")
    st.markdown("**Source**")
    st.code(rd.dataset_source(dataset), language=None, wrap_lines=True)
    schema = rd.dataset_schema(dataset)
    if schema is not None:
        st.markdown(f"**Schema** · {len(schema)} columns")
        st.dataframe(schema, hide_index=True, width="stretch", height=min(38 + 35 * len(schema), 420),
                     column_config={"required": st.column_config.CheckboxColumn("required")})
    elif dataset.schema:
        st.markdown("**Schema**")
        st.code(ra.pretty_json(dataset.schema), language="json")
    else:
        st.caption("No schema was logged with this dataset.")
    if extra := {k: v for k, v in profile.items() if k != "num_rows"}:
        st.markdown("**Profile**")
        st.json(extra, expanded=1)
    try:
        data = dataset_path(dataset.source, dataset_roots(tracker, run.artifact_uri))
    except OutsideRootsError as exc:  # the metadata above, and how an operator allows the folder
        st.info(str(exc), icon=":material/lock:")
        return
    if data is not None and explorer_ui.is_table_file(data):
        st.markdown("**Data**")
        explorer_ui.explore(data, key=f"explore.{run.run_id}.dataset.{name}", link="data")
    else:
        st.caption("MLflow keeps a dataset's metadata, not its data; the data opens here when the source is a "
                   "local CSV, TSV, Parquet or JSON file this app can read.")


def list_artifacts(tracker: Tracker, run_id: str, folder: str) -> tuple[list[ArtifactRef] | None, str | None]:
    try:
        return tracker.artifacts(run_id, folder.rstrip("/")), None
    except LensError as exc:
        return None, f"The artifacts could not be listed: {exc}"


# ---- the page -------------------------------------------------------------------------------------------------
shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
shell.sidebar_header(tracker)
with st.sidebar:
    if (signed_in := logged_in_user()) is not None:
        st.caption(f":material/person: Rating as **{signed_in}**")
    else:
        st.text_input("Your name", key=USER_KEY, placeholder="Who is rating?", persist_state="session",
                      help="Saved with your ratings and notes (tag `lens.rated_by`). Asked once per session.")

run_id = str(st.query_params.get("run") or "").strip()
if not run_id:
    st.title("Open a run")
    st.caption("Pick an experiment and one of its runs, or use **Open run** on the experiment page.")
    shell.run_picker(tracker, key="pick_")
    st.stop()
try:
    detail = tracker.run(run_id)
except RunNotFoundError as exc:
    st.title("Run not found")
    st.error(f"**This link names no run on this tracker.** {exc} It may have been deleted for good, or the "
             "link comes from another tracker. Pick a run instead:", icon=":material/search_off:")
    shell.run_picker(tracker, key="pick_")
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
siblings = rv.Siblings.of(runs, detail)

header(tracker, detail, experiment, siblings)
if message := st.session_state.pop("lens.saved_message", None):
    st.toast(message, icon=":material/check:")
view = rv.select(detail, str(st.query_params.get("item") or ""),
              lambda folder: list_artifacts(tracker, detail.run_id, folder))
st.divider()
tree_column, view_column = st.columns([1.15, 3], gap="large")
with tree_column:
    tree(tracker, detail, siblings, view)
with view_column:
    if view.notice:
        st.warning(view.notice, icon=":material/link_off:")
    links.fallback_notes()
    links.copy_link_button(key="run.copy_link")
    if view.item.kind == "param":
        show_param(detail, siblings, view.item.name)
    elif view.item.kind == "metric":
        show_metric(tracker, detail, siblings, view.item.name)
    elif view.item.kind == "dataset":
        show_dataset(tracker, detail, view.item.name)
    elif view.item.is_folder:
        if view.listing_error:
            st.warning(view.listing_error)
        else:
            show_folder(view.item.name, view.listing)
    else:
        show_artifact(tracker, detail, view.item.name, view.refs.get(view.item.name))
