"""One stable colour per run, shared by every chart and table of a page.

How a run gets its colour: the run id is hashed (BLAKE2, so the same id gives the same slot in every process,
unlike Python's salted ``hash``) to a preferred colour among the first ten. :func:`run_colors` walks the
selection in sorted-id order and gives each run its preferred colour, or the next free one when another run
already holds it; once every colour is taken, colours start repeating. Therefore:

- the colours depend only on *which* runs are selected, never on their order, the page or the rerun;
- within a selection of up to 10 runs (20 beyond that) every run has a different colour;
- adding or removing a run leaves the other runs' colours alone unless they had been pushed off their
  preferred colour by a collision; a run alone on its preferred colour shows :func:`run_color`, the colour a
  page that shows a single run (the workflow page) should use.

The palettes are Tableau 10 (the default categorical palette of Tableau and Vega), then the same ten hues in
darker shades for selections of more than ten runs: darker rather than Tableau 20's pale tints, which vanish as
thin lines on a white background.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

#: Tableau 10: distinct hues of similar weight, readable on white.
PALETTE: tuple[str, ...] = (
    "#4e79a7",  # blue
    "#f28e2b",  # orange
    "#e15759",  # red
    "#76b7b2",  # teal
    "#59a14f",  # green
    "#edc948",  # yellow
    "#b07aa1",  # purple
    "#ff9da7",  # pink
    "#9c755f",  # brown
    "#bab0ac",  # grey
)
#: Used when more than ten runs are selected: Tableau 10 followed by darker shades of the same hues.
PALETTE_20: tuple[str, ...] = PALETTE + (
    "#1f4e79",
    "#b35900",
    "#9e1b32",
    "#2a7f7a",
    "#2e6b2a",
    "#a68a00",
    "#6d3d8f",
    "#c2467a",
    "#5c3d2e",
    "#5a5a5a",
)


def _slot(run_id: str, size: int) -> int:
    digest = hashlib.blake2b(str(run_id).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % size


def palette_for(n_runs: int) -> tuple[str, ...]:
    """The palette a selection of ``n_runs`` runs draws from."""
    return PALETTE if n_runs <= len(PALETTE) else PALETTE_20


def run_color(run_id: str) -> str:
    """The colour of a run shown on its own (its preferred slot in :data:`PALETTE`)."""
    return PALETTE[_slot(run_id, len(PALETTE))]


def run_colors(run_ids: Iterable[str]) -> dict[str, str]:
    """A colour for every run of a selection, keyed by run id (see the module docstring for the rules)."""
    ids = sorted({str(r) for r in run_ids})
    return _assign(ids, palette_for(len(ids)))


def _assign(ids: list[str], palette: tuple[str, ...]) -> dict[str, str]:
    size = len(palette)
    taken = [False] * size
    colors: dict[str, str] = {}
    for index, run_id in enumerate(ids):
        if index and index % size == 0:  # every slot used: start a new round, colours repeat
            taken = [False] * size
        slot = _slot(run_id, len(PALETTE)) % size  # the same preference whatever the palette: PALETTE_20 extends it
        while taken[slot]:
            slot = (slot + 1) % size
        taken[slot] = True
        colors[run_id] = palette[slot]
    return colors


def group_colors(groups: Iterable[str]) -> dict[str, str]:
    """A colour for every group of runs (keyed by the group's label), by the same rules as :func:`run_colors`
    (Tableau 10 without grey up to nine groups): a group keeps its colour while the grouping stays the same,
    whatever runs are added or removed, and the charts and tables of a page agree."""
    labels = sorted({str(g) for g in groups})
    if len(labels) <= len(GROUP_PALETTE):
        return _assign(labels, GROUP_PALETTE)
    return _assign(labels, palette_for(len(labels)))


#: Groups of up to nine draw from Tableau 10 without its grey, which reads as "disabled" for a whole group's
#: line and band.
GROUP_PALETTE: tuple[str, ...] = PALETTE[:9]
