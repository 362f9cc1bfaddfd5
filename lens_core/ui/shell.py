"""The page shell: what every ExperimentLens page is built on, apart from its own content.

The login (:func:`require_login`), the page guard (:func:`guard_page`), the configured tracker (:func:`tracker`),
reads that fall back on last good data with a notice (:func:`experiments`, :func:`runs`, :func:`metric_extremes`),
the experiment and run pickers, the sidebar header, the page paths and the session-state keys pages share.

Every page starts with :func:`guard_page`, the one page-level guard: a tracker or artifact read that fails anywhere
on the page (or in one of its fragments) ends the page run with a message and Retry under what was already drawn,
never a traceback; last good data served instead of a failed read is announced once, at the top of the page.
"""
from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Sequence

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lens_core.access import is_allowed
from lens_core.errors import (
    ArtifactNotFoundError,
    LensError,
    NotMlflowApiError,
    StoreBusyError,
    StoreDamagedError,
    TrackerAuthError,
    TrackerUnreachableError,
)
from lens_core.format import format_time, run_label
from lens_core.model import Experiment
from lens_core.runs.summary import newest_experiment, short_uri
from lens_core.trackers import Tracker, faults
from lens_core.ui import cache
from lens_core.ui.settings import configured_uri, secret_section

# ---- page paths (for st.page_link / st.switch_page) and the session state pages share ---------------------------
HOME_PAGE = "Home.py"
COMPARE_PAGE = "pages/1_Compare.py"
RUN_PAGE = "pages/2_Run.py"
HYPERPARAMS_PAGE = "pages/3_Hyperparameters.py"
INSIGHTS_PAGE = "pages/4_Model_insights.py"

#: Run ids selected in Home's runs grid; the comparison and hyperparameter pages start from them.
SELECTED_RUNS = "lens.selected_runs"


# ---- the page guard ----------------------------------------------------------------------------------------------
#: Bold first words of a fault's message on the page, by kind (the first match wins).
_HEADLINES: tuple[tuple[type[LensError], str], ...] = (
    (TrackerAuthError, "The tracker refused access."),
    (NotMlflowApiError, "This URL is not the MLflow API."),
    (StoreBusyError, "The store is busy."),
    (StoreDamagedError, "The store cannot be read."),
    (TrackerUnreachableError, "The tracker is not answering."),
    (ArtifactNotFoundError, "An artifact could not be read."),
)


class _PageGuard:
    """What the guard keeps for one page run: the notice slot at the top of the page and the Retry keys used."""

    def __init__(self) -> None:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        self.ctx = get_script_run_ctx()
        self.cursors = getattr(self.ctx, "cursors", None)
        self.slot = st.empty()  # stale notices go here, above everything the page draws
        self.notice: str | None = None  # "generic" or "specific" once the slot holds one
        self.notice_text = ""
        self.buttons = 0
        self.tracker: Tracker | None = None  # set by tracker(): faults are described with its store
        self.run = faults.start_page_run(faults.PageRun(on_stale=self.generic_notice, alive=self.alive, owner=self))

    def alive(self) -> bool:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        return ctx is not None and ctx is self.ctx and getattr(ctx, "cursors", None) is self.cursors

    def retry(self, where: str) -> None:
        self.buttons += 1
        st.button("Retry", icon=":material/refresh:", key=f"lens_retry_{where}_{self.buttons}")

    def generic_notice(self, error: str) -> None:
        if self.notice is None and self.alive():
            self.show_notice(f"**Showing data read earlier: the tracker could not be read just now.** {error}",
                             specific=False)

    def show_notice(self, text: str, *, specific: bool) -> None:
        with self.slot.container():
            st.warning(text, icon=":material/cloud_off:")
            self.retry("stale")
        self.notice, self.notice_text = "specific" if specific else "generic", text
        self.run.notified = True

    def fault(self, exc: Exception) -> None:
        """The message and Retry for a fault that ended the page run (or a fragment's run)."""
        what = faults.GUARDED["fetch_artifact"] if isinstance(exc, OSError) else "reading the tracker"
        fault = faults.translate(exc, self.tracker, what)
        headline = next((text for kind, text in _HEADLINES if isinstance(fault, kind)), "Cannot read the tracker.")
        if self.notice is not None and self.alive():  # one Retry: the error's, below; the notice keeps its text
            self.slot.warning(self.notice_text, icon=":material/cloud_off:")
        st.error(f"**{headline}** {fault}", icon=":material/error:")
        if not isinstance(fault, TrackerAuthError):  # new credentials need a restart, not a retry
            self.retry("fault")


def _guard() -> _PageGuard | None:
    """The guard of the running page run, if the page installed one."""
    guard = getattr(faults.current(), "owner", None)
    return guard if isinstance(guard, _PageGuard) else None


_frozen_at_modules = 0
_freezing = threading.Lock()


def _freeze_new_imports() -> None:
    """When a page run finds modules imported since the last time (a process's first pages: Streamlit, pandas,
    MLflow, scikit-learn — millions of objects), move every object alive out of the garbage collector's
    generations (``gc.freeze``, which takes no time): its full collections, which otherwise walk them all (~0.1
    CPU-s each, paid by whichever page view triggers one), then only look at what page runs allocate. No
    collection first: it would pause every thread of the process (requests in flight included) for as long; the
    few cycles left over by earlier runs at that moment are kept, once per batch of imports."""
    global _frozen_at_modules
    if len(sys.modules) <= _frozen_at_modules or not _freezing.acquire(blocking=False):
        return
    try:
        gc.freeze()
        _frozen_at_modules = len(sys.modules)
    finally:
        _freezing.release()


def guard_page() -> None:
    """The page-level guard; call it once, first thing after ``st.set_page_config``. From then on, in this page
    run and in its fragments' runs:

    - a LensError the page did not handle, or any other exception from reading a tracker or an artifact (see
      :func:`lens_core.trackers.faults.is_read_fault`), ends the run with the message (``st.error``) and Retry
      (none for refused credentials: they need a restart), below what was already drawn — no traceback;
    - last good data served instead of a failed read puts one notice with Retry at the top of the page;
    - a tracker that failed slowly (no answer, a busy store) fails at once for the rest of the page run.

    Streamlit's own control flow (``st.stop``, ``st.rerun``, ``st.switch_page``) never reaches it; other
    exceptions (bugs) still show Streamlit's traceback. It works through Streamlit's script-error handler, so the
    page body needs no ``with`` block and a fragment's failure stays inside the fragment.
    """
    page = _PageGuard()
    if page.ctx is None:  # bare mode (no script run): nothing to guard
        return
    _freeze_new_imports()

    def on_script_error(exc: Exception) -> bool:
        if not faults.is_read_fault(exc):
            return False  # a bug: Streamlit shows the traceback
        page.fault(exc)
        return True

    page.ctx.on_script_error = on_script_error


def _stale_notice(text: str) -> None:
    """A page's own notice that it shows last good data: in the guard's slot (replacing the generic one), else
    where the page is."""
    if (page := _guard()) is not None:
        page.show_notice(text, specific=True)
        return
    st.warning(text, icon=":material/cloud_off:")
    st.button("Retry", icon=":material/refresh:", key=f"lens_retry_stale_{abs(hash(text)) % 10**8}")


def _stale_reason(t: Tracker) -> str:
    return "the store could not be read" if faults.store_path(t) is not None else "the tracker did not answer"


# ---- login and the tracker ---------------------------------------------------------------------------------------
def require_login() -> None:
    """When ``[auth]`` is configured in secrets.toml, every page needs an OIDC login, and ``[lens]
    allowed_emails`` / ``allowed_domains`` restrict who gets in. Without ``[auth]`` the app is open."""
    if not secret_section("auth"):
        return
    if not st.user.get("is_logged_in", False):
        st.title(":material/science: ExperimentLens")
        st.write("This ExperimentLens portal is for signed-in team members.")
        st.button("Log in", icon=":material/login:", on_click=st.login, type="primary")
        st.stop()
    lens = secret_section("lens")
    email = st.user.get("email")
    lists = (lens.get("allowed_emails", []), lens.get("allowed_domains", []))
    verified = st.user.get("email_verified")  # when the provider sends it, an unverified address is not admitted
    if not is_allowed(email, *lists, email_verified=verified):
        why = ("has not been verified by your identity provider" if is_allowed(email, *lists)
               else "is not on this portal's allow-list")
        st.error(f"**{email or 'This account'} {why}.** Ask its administrator to add you, or log in with another "
                 "account.", icon=":material/block:")
        st.button("Log out", icon=":material/logout:", on_click=st.logout)
        st.stop()


def tracker() -> Tracker:
    """The configured tracker, building the demo store with a progress bar on first start. On a bad URI the
    page shows what is wrong and how to fix it, then stops. Pages behind a login check it first."""
    require_login()
    uri = configured_uri()
    try:
        if uri is None:
            from lens_core.demo import demo_store_dir, ensure_demo_store

            if not (demo_store_dir() / "mlflow.db").is_file():
                bar = st.progress(0.0, text="Building the demo store (first start only, under a minute)…")
                ensure_demo_store(progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
                bar.empty()
        opened = cache.shared_tracker(uri)
        if (page := _guard()) is not None:
            page.tracker = opened
        return opened
    except LensError as exc:
        st.error(f"**Cannot open the tracker.** {exc}", icon=":material/error:")
        if isinstance(exc, TrackerUnreachableError):  # a slow or restarting server may answer the next time
            st.button("Retry", icon=":material/refresh:", key="lens_retry_open")
        st.info(
            "Set `MLFLOW_TRACKING_URI` or `tracking_uri` in `.streamlit/secrets.toml` "
            "(see the README, *Use your own tracker*). Unset both to open the built-in demo store."
        )
        st.stop()
        raise  # unreachable: st.stop() raises


# ---- reads with last good data -----------------------------------------------------------------------------------
def experiments(t: Tracker, *, notify: bool = True) -> list[Experiment]:
    """The tracker's experiments. When the tracker fails after a successful read, the experiments read last, with
    a notice and Retry — ``notify=False`` on pages that read a runs table next, whose own notice says how old it
    is; when it never answered, the page guard's message and Retry."""
    found, error = t.experiments_or_last()
    if error is not None and notify:
        _stale_notice(f"**Showing the experiments read earlier: {_stale_reason(t)}.** {error}")
    return found


def runs(t: Tracker, experiment_id: str, *, notify: bool = True) -> pd.DataFrame:
    """The runs table (a failure goes to the page guard). When the tracker fails after a successful read, the last
    table stays browsable with a notice saying how old it is, and Retry (``notify=False`` for a second read in the
    same page run, which must not repeat them)."""
    frame = t.runs(experiment_id)
    if notify and (error := frame.attrs.get("lens.stale_error")):
        loaded = frame.attrs.get("lens.loaded_at")
        when = f"{loaded:%H:%M:%S} UTC" if loaded is not None else "earlier"
        _stale_notice(f"**Showing runs as of {when}: {_stale_reason(t)}.** {error}")
    return frame


def metric_extremes(t: Tracker, experiment_id: str) -> pd.DataFrame | None:
    """Min and max of every metric's history, or None with a warning when the tracker cannot give them (the
    caller then summarises by the last value)."""
    try:
        return t.metric_extremes(experiment_id)
    except LensError as exc:
        st.warning(f"**Min / max of the metric histories are unavailable: showing last values.** {exc}",
                   icon=":material/cloud_off:")
        return None


# ---- pickers and the sidebar ---------------------------------------------------------------------------------------
def experiment_picker(listed: Sequence[Experiment], *, key: str, where: DeltaGenerator | None = None) -> str:
    """The experiment selectbox (in ``where``, else where the page is): the experiment the URL's ``?experiment=``
    names when the tracker has it, else the newest one. Returns the chosen experiment's id."""
    by_id = {e.experiment_id: e for e in listed}
    wanted = st.query_params.get("experiment")
    ids = list(by_id)
    default = ids.index(wanted if wanted in by_id else newest_experiment(listed).experiment_id)
    return (where or st).selectbox("Experiment", ids, index=default, key=key,
                                   format_func=lambda i: f"{by_id[i].name}  ·  #{i}")


def run_picker(t: Tracker, *, key: str, finished_only: bool = False) -> None:
    """Experiment → run selectboxes (keys ``<key>experiment`` and ``<key>run``); choosing a run puts it in the URL
    (``?run=``, dropping ``item``), which opens it on the current page."""
    listed = experiments(t)
    if not listed:
        st.info("This tracker has no experiments yet. Log a run with `mlflow.start_run()` and it appears here.")
        return
    left, right = st.columns([2, 3])
    experiment_id = experiment_picker(listed, key=f"{key}experiment", where=left)
    table = runs(t, experiment_id)
    if finished_only:
        table = table[table["status"] == "FINISHED"]
    kind = "finished runs" if finished_only else "runs"
    if table.empty:
        right.selectbox("Run", [], placeholder=f"This experiment has no {kind} yet", disabled=True, key=f"{key}run")
        return
    labels = {
        r.run_id: f"{run_label(r.run_name, r.run_id)}  ·  {str(r.status).lower()}  ·  {format_time(r.start_time)}"
        for r in table[["run_id", "run_name", "status", "start_time"]].itertuples(index=False)
    }

    def open_picked() -> None:
        if picked := st.session_state.get(f"{key}run"):
            st.query_params["run"] = picked
            if "item" in st.query_params:
                del st.query_params["item"]

    right.selectbox("Run", list(labels), index=None, format_func=labels.__getitem__, key=f"{key}run",
                    placeholder=f"Choose one of {len(labels)} {kind}…", on_change=open_picked)


def sidebar_header(t: Tracker) -> None:
    """The brand and the tracker in use, at the top of every page's sidebar."""
    with st.sidebar:
        st.markdown("### :material/science: ExperimentLens")
        st.caption(f"Tracker · {t.kind} · `{short_uri(t.display_uri)}`", help=t.display_uri)
