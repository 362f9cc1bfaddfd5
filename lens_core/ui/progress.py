"""No silent waits: a progress bar that says what is being computed and how far it got, and placeholders that keep
a page from looking finished while its content is still coming."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lens_core.format import plural
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
