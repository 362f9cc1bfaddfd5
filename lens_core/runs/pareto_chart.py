"""The trade-off chart: every run on two metrics, the Pareto front highlighted and drawn as a staircase.

Pure pandas/numpy/Altair (no Streamlit). A page does::

    data = pareto_points(runs, "metrics.val_acc", "metrics.latency_ms", {"metrics.val_acc": "max",
                         "metrics.latency_ms": "min"})
    st.altair_chart(draw(data), on_select=open_picked_run, selection_mode=[PICK], key="pareto")
    if data.note:
        st.caption(data.note)        # "3 runs lack val_acc or latency_ms and are not shown."

(``pareto_chart(runs, x, y, directions)`` is ``draw(pareto_points(...))`` in one call.) A click selects the
nearest run's ``run_id`` in the point selection :data:`PICK`, read with :func:`picked_run` — the same name and
reader as the Compare charts, so one handler opens the run.

A third objective: give ``colour`` and a direction for it in ``directions``; the highlighted runs are then the
three-objective front, coloured by the third metric, and no staircase is drawn (a 3-D front is not a line in
two dimensions). A ``colour`` without a direction only colours the front's points.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from lens_core.format import axis_format, tooltip_format
from lens_core.runs.compare_charts import PICK, picked_run
from lens_core.runs.pareto import Goal, pareto_front, to_float

__all__ = ["PICK", "ParetoPoints", "draw", "pareto_chart", "pareto_points", "picked_run"]

#: Above this many runs the chart draws every front run and a fixed sample of the others (Vega's nearest-point
#: search and the browser slow down past ~20k points, as on the Compare charts).
MAX_POINTS = 20_000
FRONT_COLOUR = "#4e79a7"
DOMINATED_COLOUR = "#b0b0b0"
_PREFIXES = ("metrics.", "params.", "tags.")


@dataclass(frozen=True, slots=True)
class ParetoPoints:
    """What :func:`draw` draws.

    ``points``: one row per drawn run (front runs last, so they are drawn on top), columns ``run_id`` (str),
    ``label`` (str: the label column, else the run id), ``x``, ``y`` (float, finite), ``on_front`` (bool) and,
    with a ``colour`` column, ``colour`` (float, or str for a text column; NaN / None when the run lacks it).
    ``steps``: the staircase through the two-objective front, columns ``x``, ``y``, ``order``; empty with a
    third objective. ``total``: runs in the table; ``missing``: runs left out because they lack (or have a
    non-finite) ``x``, ``y`` or third objective; ``front``: runs on the front; ``shown``: runs drawn
    (``total - missing`` unless sampled above ``MAX_POINTS``).
    """

    points: pd.DataFrame
    steps: pd.DataFrame
    x: str
    y: str
    directions: Mapping[str, Goal]
    colour: str | None
    total: int
    missing: int
    front: int
    shown: int

    @property
    def note(self) -> str | None:
        """A caption when runs are left out or sampled, else None."""
        parts = []
        if self.missing:
            names = " or ".join(_short(c) for c in self.directions)
            parts.append(f"{self.missing:,} of {self.total:,} runs lack {names} and are not shown.")
        if self.shown < self.total - self.missing:
            parts.append(f"Showing {self.shown:,} of {self.total - self.missing:,} runs (every front run and a "
                         f"sample of the others).")
        return " ".join(parts) or None


def pareto_points(runs: pd.DataFrame, x: str, y: str, directions: Mapping[str, Goal], *,
                  label_column: str = "run_name", colour: str | None = None,
                  max_points: int = MAX_POINTS) -> ParetoPoints:
    """The runs to draw and the front's staircase. ``directions`` holds ``x`` and ``y`` (``"max"`` / ``"min"``)
    and, for a three-objective front, ``colour``; other entries are ignored. Raises ValueError as
    :func:`~lens_core.runs.pareto.pareto_front` does (also when ``directions`` lacks ``x`` or ``y``)."""
    for column in (x, y):
        if column not in directions:
            raise ValueError(f"No direction ('max' or 'min') given for {column!r}.")
    objectives = {c: directions[c] for c in dict.fromkeys([x, y, colour]) if c is not None and c in directions}
    on_front = pareto_front(runs, objectives).to_numpy()
    gains = np.column_stack([to_float(runs[c]) for c in objectives]) if len(runs) else np.empty((0, 2))
    complete = np.isfinite(gains).all(axis=1)

    ids = runs["run_id"].astype("str") if "run_id" in runs.columns else pd.Series(runs.index.astype("str"))
    ids = ids.to_numpy(dtype=object)
    labels = _labels(runs, label_column, ids)
    frame = pd.DataFrame({"run_id": ids, "label": labels, "x": to_float(runs[x]), "y": to_float(runs[y]),
                          "on_front": on_front})
    if colour is not None:
        frame["colour"] = _colour_values(runs[colour])
    frame = frame[complete]
    drawn = _sample(frame, max_points)
    points = pd.concat([drawn[~drawn["on_front"]], drawn[drawn["on_front"]]], ignore_index=True)
    two_d = len(objectives) == 2
    steps = _staircase(frame[frame["on_front"]], directions[x]) if two_d else _staircase(frame[:0], "max")
    return ParetoPoints(points=points, steps=steps, x=x, y=y, directions=objectives, colour=colour,
                        total=len(runs), missing=int((~complete).sum()), front=int(on_front.sum()),
                        shown=len(points))


def pareto_chart(runs: pd.DataFrame, x: str, y: str, directions: Mapping[str, Goal],
                 label_column: str = "run_name", colour: str | None = None, **size: int) -> alt.LayerChart:
    """:func:`draw` of :func:`pareto_points` in one call (``size``: ``height`` / ``width`` for :func:`draw`)."""
    return draw(pareto_points(runs, x, y, directions, label_column=label_column, colour=colour), **size)


def draw(data: ParetoPoints, *, height: int = 380, width: int | None = None) -> alt.LayerChart:
    """Layers, bottom to top: dominated runs (grey), the staircase (named ``"front_line"``), front runs
    (highlighted; coloured by ``colour`` when given), a ring on the picked run, and an invisible pointer layer
    carrying the tooltips and the click selection :data:`PICK` (nearest run, its ``run_id``)."""
    goal_x, goal_y = data.directions[data.x], data.directions[data.y]
    x = alt.X("x:Q", title=_axis_title(data.x, goal_x), scale=alt.Scale(zero=False, nice=True),
              axis=alt.Axis(format=axis_format(data.points["x"])))
    y = alt.Y("y:Q", title=_axis_title(data.y, goal_y), scale=alt.Scale(zero=False, nice=True),
              axis=alt.Axis(format=axis_format(data.points["y"])))
    tooltip = [alt.Tooltip("label:N", title="run"),
               alt.Tooltip("x:Q", title=_short(data.x), format=tooltip_format(data.points["x"])),
               alt.Tooltip("y:Q", title=_short(data.y), format=tooltip_format(data.points["y"]))]
    if data.colour is not None:
        kind = "Q" if pd.api.types.is_numeric_dtype(data.points["colour"]) else "N"
        tooltip.append(alt.Tooltip(f"colour:{kind}", title=_short(data.colour),
                                   **({"format": tooltip_format(data.points["colour"])} if kind == "Q" else {})))
    tooltip.append(alt.Tooltip("on_front:N", title="on the front"))

    points = data.points
    front = points[points["on_front"]]
    has_colour = front["colour"].notna() if data.colour is not None else pd.Series(False, index=front.index)
    pick = alt.selection_point(name=PICK, fields=["run_id"], on="click", nearest=True, clear=False, empty=False)
    layers: list[alt.Chart] = [
        alt.Chart(points[~points["on_front"]], name="dominated")
        .mark_circle(size=28, opacity=0.45, color=DOMINATED_COLOUR).encode(x=x, y=y),
    ]
    if len(data.steps):
        layers.append(alt.Chart(data.steps, name="front_line")
                      .mark_line(color=FRONT_COLOUR, strokeWidth=1.5, opacity=0.8)
                      .encode(x=x, y=y, order="order:Q"))
    layers.append(alt.Chart(front[~has_colour], name="front")
                  .mark_circle(size=70, opacity=0.95, color=FRONT_COLOUR, stroke="white", strokeWidth=0.8)
                  .encode(x=x, y=y))
    if has_colour.any():
        layers.append(alt.Chart(front[has_colour], name="front_coloured")
                      .mark_circle(size=70, opacity=0.95, stroke="white", strokeWidth=0.8)
                      .encode(x=x, y=y, color=_colour_encoding(front["colour"], data)))
    layers += [
        alt.Chart(points, name="picked").mark_point(size=180, color="black", strokeWidth=1.5, filled=False)
        .encode(x=x, y=y).transform_filter(pick),
        alt.Chart(points, name="pointer").mark_point(size=60, opacity=0, cursor="pointer")
        .encode(x=x, y=y, tooltip=tooltip).add_params(pick),
    ]
    props: dict[str, Any] = {"height": height, "usermeta": {"embedOptions": {"renderer": "canvas"}}}
    if width is not None:
        props["width"] = width
    return alt.layer(*layers).properties(**props)


def _labels(runs: pd.DataFrame, label_column: str, ids: np.ndarray) -> np.ndarray:
    """The label column as text, the run id where it is missing or blank."""
    if label_column not in runs.columns:
        return ids
    text = runs[label_column].astype("object").to_numpy()
    blank = pd.isna(text) | (pd.Series(text, dtype="object").astype("str").str.strip() == "").to_numpy()
    return np.where(blank, ids, text.astype("str"))


def _colour_values(cells: pd.Series) -> pd.Series:
    """Numbers when every present value parses as one (non-finite → NaN), else the values as text."""
    numbers = pd.Series(to_float(cells), index=cells.index)
    if numbers.notna().sum() == cells.notna().sum():
        return numbers.where(np.isfinite(numbers))
    return cells.astype("object").where(cells.notna(), None).map(lambda v: v if v is None else str(v))


def _colour_encoding(values: pd.Series, data: ParetoPoints) -> alt.Color:
    title = _short(data.colour or "")
    if pd.api.types.is_numeric_dtype(values):
        goal = data.directions.get(data.colour or "")
        # the best values dark: viridis runs dark → light, so a "min" objective keeps it and anything else
        # (a "max" objective, or a plain colour: higher values stand out) reverses it
        scale = alt.Scale(scheme=alt.SchemeParams("viridis", extent=[0.0, 0.92]), reverse=goal != "min")
        return alt.Color("colour:Q", scale=scale, title=title)
    return alt.Color("colour:N", title=title)


def _sample(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """Every front run and, above ``max_points``, a fixed sample of the others (the same on every rerun)."""
    if len(frame) <= max_points:
        return frame
    front, others = frame[frame["on_front"]], frame[~frame["on_front"]]
    room = max(max_points - len(front), 0)
    keep = np.sort(np.random.default_rng(0).choice(len(others), size=room, replace=False))
    return pd.concat([others.iloc[keep], front])


def _staircase(front: pd.DataFrame, goal_x: Goal) -> pd.DataFrame:
    """Vertices of the line through the front's points (sorted by x) along the edge of the region they dominate:
    between two neighbours it turns at the better x — vertical first when higher x is better, horizontal first
    when lower is."""
    corners = front[["x", "y"]].drop_duplicates().sort_values(["x", "y"]).to_numpy()
    vertices: list[tuple[float, float]] = []
    for i, (px, py) in enumerate(corners):
        if i:
            prev_x, prev_y = corners[i - 1]
            vertices.append((prev_x, py) if goal_x == "max" else (px, prev_y))
        vertices.append((px, py))
    steps = pd.DataFrame(vertices, columns=["x", "y"], dtype="float64")
    steps["order"] = np.arange(len(steps))
    return steps


def _axis_title(column: str, goal: Goal) -> str:
    return f"{_short(column)} ({'higher' if goal == 'max' else 'lower'} is better)"


def _short(column: str) -> str:
    for prefix in _PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix):]
    return column
