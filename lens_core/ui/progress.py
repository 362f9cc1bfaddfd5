"""No silent waits: a progress bar that says what is being computed and how far it got, and placeholders that keep
a page from looking finished while its content is still coming."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lens_core.format import plural
from lens_core.runs.home import loading_preview, number_format
from lens_core.trackers import progress as reads
from lens_core.ui.cache import StepProgress


@contextlib.contextmanager
def steps(what: str, unit: str, units: str | None = None) -> Iterator[StepProgress]:
    """A progress bar reading "<what>: 40 / 200 rows" while the block runs (the block passes the yielded
    ``progress(done, total)`` to a computation that reports its steps), removed when it ends. On a cache hit the
    computation reports every step at once and the bar is never seen."""
    bar = st.progress(0.0, text=f"{what}…")

    def report(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{what}: {done:,} / {plural(total, unit, units)}")

    try:
        yield report
    finally:
        bar.empty()


def reserve(height: int, where: DeltaGenerator | None = None) -> DeltaGenerator:
    """A slot holding an animated skeleton of ``height`` pixels until the page draws into ``slot.container()``."""
    slot = (where or st).empty()
    slot.skeleton(height=height)
    return slot


@contextlib.contextmanager
def runs_loading(placeholder: DeltaGenerator) -> Iterator[None]:
    """Reads of runs tables in this block show their progress in ``placeholder`` ("4,000 runs read from the
    server… 12 s") and, once the first page of a long read has come, the newest runs read so far: something to
    look at before the last page arrives. Cleared at the end; nothing for reads shorter than a second."""
    shown: dict[str, Any] = {"slots": None, "preview": None}

    def draw(state: reads.LoadProgress) -> None:
        if shown["slots"] is None:
            box = placeholder.container()
            shown["slots"] = (box.empty(), box.empty())
        text, table = shown["slots"]
        text.info(state.text(), icon=":material/downloading:")
        if state.preview is not None and state.preview is not shown["preview"]:
            shown["preview"] = state.preview
            preview = loading_preview(state.preview)
            with table.container():
                st.caption(f"The newest {len(preview):,} runs, while the rest load (the full table, its filters "
                           "and charts follow):")
                st.dataframe(preview, hide_index=True, width="stretch", height=320, column_config={
                    "Started (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                    **{c: st.column_config.NumberColumn(format=number_format(preview[c], logged_text=False))
                       for c in preview.columns[3:] if pd.api.types.is_numeric_dtype(preview[c])}})

    try:
        with reads.reporting(draw):
            yield
    finally:
        if shown["slots"] is not None:
            placeholder.empty()
