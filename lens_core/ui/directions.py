"""Which way is better for a metric, on every page: the experiment's tag ``lens.direction.<metric>`` when someone
set it, else the one name rule (:mod:`lens_core.runs.direction`); and the control that sets it for the whole
team (an experiment tag any MLflow tool can read)."""
from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from lens_core.errors import LensError
from lens_core.runs.direction import Direction, direction_tag, resolve_direction
from lens_core.trackers import Tracker

_LABELS: dict[Direction, str] = {"max": "Higher is better", "min": "Lower is better"}


def _experiment_tags(tracker: Tracker, experiment_id: str | None) -> dict[str, str]:
    if experiment_id is None:
        return {}
    try:
        return dict(tracker.experiment(experiment_id).tags)
    except LensError:  # a page can still draw with guessed directions
        return {}


def directions(tracker: Tracker, experiment_id: str | None, metrics: Iterable[str]) -> dict[str, Direction]:
    """``metric -> "max" | "min"`` for the metrics of one experiment (names with or without ``metrics.``)."""
    tags = _experiment_tags(tracker, experiment_id)
    return {m: resolve_direction(m, tags).direction for m in metrics}


def direction_control(tracker: Tracker, experiment_id: str | None, metric: str, *, key: str) -> Direction:
    """A two-way switch for one metric's direction, saved for the experiment when changed; returns the direction
    in force. Without an experiment (runs of several) it only says what the name suggests."""
    tags = _experiment_tags(tracker, experiment_id)
    resolved = resolve_direction(metric, tags)
    name = metric.removeprefix("metrics.")
    if experiment_id is None:
        st.caption(f"{_LABELS[resolved.direction]} for {name} (from its name).")
        return resolved.direction
    widget_key = f"{key}.{experiment_id}.{name}"
    picked = st.segmented_control(
        f"Better {name}", list(_LABELS), format_func=_LABELS.__getitem__, default=resolved.direction,
        key=widget_key, help=("Set for this experiment (tag `" + direction_tag(name) + "`); everyone sees it."
                              if resolved.source == "tag" else
                              "Guessed from the metric's name. Change it to set it for this experiment: it is saved "
                              f"as the experiment tag `{direction_tag(name)}`, which every page and teammate uses."),
    )
    if picked is None or picked == resolved.direction:
        return resolved.direction
    try:
        tracker.set_experiment_tags(experiment_id, {direction_tag(name): picked})
    except LensError as exc:
        st.warning(f"**Not saved for the team.** {exc} The page uses your choice until you leave it.",
                   icon=":material/error:")
    return picked
