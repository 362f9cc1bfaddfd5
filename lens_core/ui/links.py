"""Every view is a link: widget state to and from the query string, and a *Copy link* button.

A page names the widgets whose state changes what is shown. Before drawing each one it calls :func:`restore`
(the link's value seeds the widget, once per link: a value the user then changes is not overwritten); after the
widgets it calls :func:`publish` with the current values (defaults and empty values are left out, so links stay
short). A value from a link that no longer fits (a metric that is gone, an out-of-range number, a damaged packed
value) falls back to the default with a note from :func:`fallback_notes`, never an error.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from lens_core.links import pack, unpack

_SEEN = "lens.links.seen"  # param -> the URL text last restored from or published, this session
_NOTES = "lens.links.notes"


def _seen() -> dict[str, str | None]:
    return st.session_state.setdefault(_SEEN, {})


def note(text: str) -> None:
    """Add a sentence to the notes :func:`fallback_notes` shows (a part of the link that no longer applies)."""
    notes = st.session_state.setdefault(_NOTES, [])
    if text not in notes:
        notes.append(text)


def restore(key: str, param: str | None = None, *, options: Collection[Any] | None = None, multi: bool = False,
            packed: bool = False, parse: Callable[[str], Any] | None = None, label: str | None = None) -> None:
    """Seed ``st.session_state[key]`` from ``?param=`` when the link's value is new to this session.

    ``multi``: a list (packed, or comma-separated); ``packed``: any JSON value written by :func:`publish` with
    ``packed``; ``parse``: text to value (e.g. ``float``), raising ValueError when the text does not fit;
    ``options``: the values that exist now (others fall back, with a note naming ``label or param``).
    """
    _restore(key, param or key, options=options, multi=multi, packed=packed, parse=parse, label=label)
    if key in st.session_state:
        # Said again on every run: a rerun that starts before the browser has mounted the widget (a page that
        # measures itself after the first paint) would otherwise draw it at its default while the page uses this.
        st.session_state[key] = st.session_state[key]


def _restore(key: str, param: str, *, options: Collection[Any] | None, multi: bool, packed: bool,
             parse: Callable[[str], Any] | None, label: str | None) -> None:
    raw = st.query_params.get(param)
    seen = _seen()
    if raw is None or seen.get(param) == raw:
        return
    seen[param] = raw
    what = label or param
    try:
        if multi or packed:
            value = unpack(raw) if raw.startswith(("~", "[", "{", '"')) else (raw.split(",") if multi else raw)
            if value is None or (multi and not isinstance(value, list)):
                raise ValueError(raw)
        else:
            value = parse(raw) if parse else raw
    except (ValueError, TypeError):
        note(f"The link's {what} could not be read; showing the default.")
        return
    if options is not None:
        if multi:
            kept = [v for v in value if v in options]
            if len(kept) < len(value):
                gone = ", ".join(str(v) for v in value if v not in options)
                note(f"The link's {what} {gone} no longer exist{'s' if len(value) - len(kept) == 1 else ''} here.")
            value = kept
        elif value not in options:
            note(f"The link's {what} “{value}” no longer exists here; showing the default.")
            return
    st.session_state[key] = value


def restore_packed(param: str, *, label: str) -> dict[str, Any] | None:
    """The object packed into ``?param=`` when the link's text is new to this session, else None (also when it
    cannot be read, with a note naming ``label``). For a component that seeds many widgets from one parameter."""
    raw = st.query_params.get(param)
    seen = _seen()
    if raw is None or seen.get(param) == raw:
        return None
    seen[param] = raw
    value = unpack(raw)
    if not isinstance(value, dict):
        note(f"The link's {label} could not be read; showing the default.")
        return None
    return value


def publish(values: Mapping[str, Any], defaults: Mapping[str, Any] | None = None, *,
            packed: Collection[str] = ()) -> None:
    """Write the view's state into the URL: ``param -> value``; a value equal to its default, None or empty
    removes the parameter. Lists are comma-joined when that reads back the same, else packed (as are the params
    named in ``packed``)."""
    defaults = defaults or {}
    seen = _seen()
    for param, value in values.items():
        if value is None or value == defaults.get(param, None) or (isinstance(value, (list, tuple, dict, str))
                                                                   and len(value) == 0):
            text = None
        elif param in packed or isinstance(value, dict):
            text = pack(value)
        elif isinstance(value, (list, tuple)):
            items = [str(v) for v in value]
            plain = ",".join(items)
            text = plain if all("," not in i and not i.startswith(("~", "[", "{", '"')) for i in items) and plain \
                else pack(list(value))
        elif isinstance(value, bool):
            text = "1" if value else "0"
        else:
            text = str(value)
        if text is None:
            if param in st.query_params:
                del st.query_params[param]
        elif st.query_params.get(param) != text:
            st.query_params[param] = text
        seen[param] = text


def fallback_notes() -> None:
    """Say, once, which parts of an opened link no longer apply."""
    notes = st.session_state.pop(_NOTES, [])
    if notes:
        st.info(" ".join(notes), icon=":material/link_off:")


def current_link() -> str:
    """This view's URL: the browser's address with the query string as the page has set it now."""
    query = urlencode([(k, v) for k in st.query_params for v in st.query_params.get_all(k)])
    try:
        base = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser (AppTest, bare mode): a relative link
        base = ""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")) if base else f"?{query}"


def copy_link_button(*, key: str = "lens.copy_link") -> None:
    """A *Copy link* popover: the view's full link, with Streamlit's copy-to-clipboard icon."""
    with st.popover("Copy link", icon=":material/link:", key=key):
        st.caption("Anyone who can open ExperimentLens sees this view (filters, picks and settings included).")
        st.code(current_link(), language=None, wrap_lines=True)
