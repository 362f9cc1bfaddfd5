"""Where the app's configuration comes from: the environment, else ``.streamlit/secrets.toml``.

Read by the shell (the tracker URI, ``[auth]``, the ``[lens]`` allow-lists) and by the tracker cache (the
``[lens]`` options a tracker opens with), so it sits apart from both.
"""
from __future__ import annotations

import os

import streamlit as st


def configured_uri() -> str | None:
    """``MLFLOW_TRACKING_URI``, else ``tracking_uri`` in ``.streamlit/secrets.toml``, else None (the demo)."""
    if uri := os.environ.get("MLFLOW_TRACKING_URI", "").strip():
        return uri
    try:
        uri = str(st.secrets.get("tracking_uri", "")).strip()
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        uri = ""
    return uri or None


def secret_section(name: str) -> dict[str, object]:
    """One ``[name]`` table of secrets.toml, empty when there is none (or no secrets file at all)."""
    try:
        return dict(st.secrets.get(name, {}))
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}
