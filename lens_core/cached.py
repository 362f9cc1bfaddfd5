"""The Streamlit boundary: the only lens_core module that imports streamlit.

Trackers are shared resources (one per URI for every session); runs tables come from the tracker's own catalog,
which already skips unchanged experiments, so they need no second cache here.
"""
from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from lens_core.errors import LensError
from lens_core.trackers import Tracker, open_tracker


def configured_uri() -> str | None:
    """``MLFLOW_TRACKING_URI``, else ``tracking_uri`` in ``.streamlit/secrets.toml``, else None (the demo)."""
    if uri := os.environ.get("MLFLOW_TRACKING_URI", "").strip():
        return uri
    try:
        uri = str(st.secrets.get("tracking_uri", "")).strip()
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        uri = ""
    return uri or None


@st.cache_resource(show_spinner=False, max_entries=4)
def _open(uri: str | None) -> Tracker:
    return open_tracker(uri)


def tracker() -> Tracker:
    """The configured tracker, building the demo store with a progress bar on first start. On a bad URI the
    page shows what is wrong and how to fix it, then stops."""
    uri = configured_uri()
    try:
        if uri is None:
            from lens_core.demo import demo_store_dir, ensure_demo_store

            if not (demo_store_dir() / "mlflow.db").is_file():
                bar = st.progress(0.0, text="Building the demo store (first start only, under a minute)…")
                ensure_demo_store(progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
                bar.empty()
        return _open(uri)
    except LensError as exc:
        st.error(f"**Cannot open the tracker.** {exc}", icon=":material/error:")
        st.info(
            "Set `MLFLOW_TRACKING_URI` or `tracking_uri` in `.streamlit/secrets.toml` "
            "(see the README, *Use your own tracker*). Unset both to open the built-in demo store."
        )
        st.stop()
        raise  # unreachable: st.stop() raises


def runs(t: Tracker, experiment_id: str) -> pd.DataFrame:
    """The runs table, or a message and a stop when the tracker fails."""
    try:
        return t.runs(experiment_id)
    except LensError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
        raise
