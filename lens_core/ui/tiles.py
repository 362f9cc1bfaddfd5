"""Number tiles that never cut their value: ``st.metric`` tiles sized to their content in a row that wraps, so
"6.6043" is never drawn "6.604…" in a narrow column; the full value sits in the tile's help."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile: its label, the value as shown (already formatted) and the help under its (?) icon."""

    label: str
    value: str
    help: str | None = None


def tiles(shown: Sequence[Tile]) -> None:
    """The tiles in one row, wrapping onto the next line when the page is narrow."""
    if not shown:
        return
    with st.container(horizontal=True, gap="medium"):
        for tile in shown:
            st.metric(tile.label, tile.value, help=tile.help or None, width="content")
