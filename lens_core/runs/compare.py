"""Comparing runs: the logic behind ``pages/1_Compare.py``, free of Streamlit.

Everything takes the wide runs table (rows of the selected runs, see :mod:`lens_core.trackers.runs_table`) and/or the
long metric history (``run_id, key, step, timestamp, value``) and returns plain DataFrames, lists, or Altair
charts (Altair is imported only by the chart functions).

Terms used throughout:

- a run's **label** is its run name, made unique within the selection (``name · 1a2b3c``) so it can head a column
  and name a colour in a chart legend;
- a metric is a **series** for a selection when at least one of the runs logged more than one point of it,
  otherwise it is **single-value** (one point per run, charted as bars from the runs table's latest value).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from lens_core.errors import ExperimentNotFoundError, RunNotFoundError
from lens_core.trackers.runs_table import columns_of

if TYPE_CHECKING:
    import altair as alt

    from lens_core.trackers.base import Tracker

SERIES: Literal["series"] = "series"
SINGLE: Literal["single"] = "single"
MetricKind = Literal["series", "single"]
XAxis = Literal["step", "relative", "wall"]
#: How a param a run never logged shows in tables.
MISSING = "—"
#: How many metric charts the page opens with.
DEFAULT_METRIC_COUNT = 6
#: Metrics MLflow logs by itself; listed after the user's own.
SYSTEM_PREFIXES: tuple[str, ...] = ("system/",)
X_TITLES: dict[str, str] = {"step": "step", "relative": "minutes since run start", "wall": "time (UTC)"}


# ---- which runs --------------------------------------------------------------------------------------------------
def parse_run_ids(text: str | Iterable[str] | None) -> list[str]:
    """Run ids from a ``?runs=`` value ("id1,id2", spaces and repeated params tolerated), deduplicated in order."""
    if text is None:
        return []
    parts = [text] if isinstance(text, str) else list(text)
    ids = (piece.strip() for part in parts for piece in re.split(r"[,\s]+", str(part)))
    return list(dict.fromkeys(i for i in ids if i))


@dataclass(frozen=True)
class Located:
    """Where the requested runs are: their rows (in the order asked), the ids no experiment has, and the
    experiments holding the found runs (in order of first appearance)."""

    runs: pd.DataFrame
    missing: tuple[str, ...]
    experiment_ids: tuple[str, ...]

    @property
    def run_ids(self) -> list[str]:
        return self.runs["run_id"].tolist()


def locate_runs(tracker: Tracker, run_ids: Sequence[str], hints: Iterable[str] = ()) -> Located:
    """Find runs by id across experiments. The runs tables of the ``hints`` experiments are searched first, then
    each remaining id is looked up once (``tracker.run``) to learn its experiment, whose whole table is then
    loaded, so the usual case (every run from one experiment) costs one lookup. Unknown ids, deleted runs and
    runs of deleted experiments are reported in ``missing``, never raised. Repeated ids count once."""
    run_ids = list(dict.fromkeys(str(r) for r in run_ids))
    tables: dict[str, pd.DataFrame] = {}
    home: dict[str, str] = {}

    def load(experiment_id: str) -> None:
        if experiment_id in tables:
            return
        try:
            table = tracker.runs(experiment_id)
        except ExperimentNotFoundError:
            table = None
        tables[experiment_id] = table
        if table is not None:
            home.update(dict.fromkeys(table["run_id"].astype(str), experiment_id))

    for experiment_id in hints:
        load(str(experiment_id))
    for run_id in run_ids:
        if run_id in home:
            continue
        try:
            detail = tracker.run(run_id)
        except RunNotFoundError:
            continue
        load(str(detail.experiment_id))
    found = [r for r in run_ids if r in home]
    experiments = tuple(dict.fromkeys(home[r] for r in found))
    if found:
        pool = concat_runs([tables[e] for e in experiments])
        rows = pool.set_index("run_id").loc[found].reset_index()
    else:
        rows = pd.DataFrame({"run_id": pd.Series(dtype="str"), "run_name": pd.Series(dtype="str")})
    return Located(rows, tuple(r for r in run_ids if r not in home), experiments)


def concat_runs(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Runs tables of several experiments as one (columns are the union; a run lacks what it never logged)."""
    tables = [t for t in tables if t is not None]
    if len(tables) == 1:
        return tables[0]
    return pd.concat(tables, ignore_index=True, sort=False)


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """A unique, readable label per run id: the run name; ``name · <id prefix>`` when names collide; the id
    prefix for unnamed runs."""
    ids = runs["run_id"].astype(str).tolist()
    names = [str(n).strip() if isinstance(n, str) and n.strip() else "" for n in runs["run_name"].tolist()]
    names = [n or f"run {i[:8]}" for n, i in zip(names, ids)]
    groups: dict[str, list[str]] = {}
    for run_id, name in zip(ids, names):
        groups.setdefault(name, []).append(run_id)
    labels: dict[str, str] = {}
    for name, members in groups.items():
        if len(members) == 1:
            labels[members[0]] = name
            continue
        width = 6  # the shortest id prefix (6 or more characters) that tells these runs apart
        while width < max(map(len, members)) and len({m[:width] for m in members}) < len(members):
            width += 2
        labels.update({m: f"{name} · {m[:width]}" for m in members})
    if len(set(labels.values())) < len(labels):  # a run literally named like another's label
        labels = {r: f"{labels[r]} · {r}" for r in ids}
    return labels


# ---- params ------------------------------------------------------------------------------------------------------
def logged_params(runs: pd.DataFrame) -> list[str]:
    """``params.*`` columns at least one of these runs logged."""
    return [c for c in columns_of(runs, "params") if runs[c].notna().any()]


def differing_params(runs: pd.DataFrame) -> list[str]:
    """``params.*`` columns whose value is not the same for every run (a param some runs lack differs).
    Values are compared as the strings MLflow stores."""
    if len(runs) < 2:
        return []
    return [c for c in logged_params(runs) if runs[c].nunique(dropna=False) > 1]


def params_diff(runs: pd.DataFrame, labels: Mapping[str, str], only_differing: bool = True) -> pd.DataFrame:
    """Params as rows (named without the ``params.`` prefix), runs as columns (headed by their labels, in the
    order of ``runs``); a param a run never logged shows :data:`MISSING`."""
    columns = differing_params(runs) if only_differing else logged_params(runs)
    header = [labels[r] for r in runs["run_id"].astype(str)]
    if not columns:
        return pd.DataFrame(columns=header, index=pd.Index([], name="param"), dtype="str")
    values = runs[columns].astype("object").where(runs[columns].notna(), MISSING).to_numpy().T
    index = pd.Index([c.removeprefix("params.") for c in columns], name="param")
    frame = pd.DataFrame(values, columns=header, index=index)
    return frame.astype("str")


# ---- metrics -----------------------------------------------------------------------------------------------------
def metric_coverage(runs: pd.DataFrame) -> pd.Series:
    """For each metric (name without prefix) some of these runs have a value of, how many runs have one."""
    cols = columns_of(runs, "metrics")
    counts = runs[cols].notna().sum() if cols else pd.Series(dtype="int64")
    counts.index = [c.removeprefix("metrics.") for c in counts.index]
    return counts[counts > 0].astype("int64")


def _rank(key: str) -> tuple[bool, str]:
    return key.startswith(SYSTEM_PREFIXES), key.lower()


def metric_names(runs: pd.DataFrame) -> list[str]:
    """Every metric these runs have a value of: the user's own first, then system metrics, by name."""
    return sorted(metric_coverage(runs).index, key=_rank)


def default_metrics(runs: pd.DataFrame, limit: int = DEFAULT_METRIC_COUNT) -> list[str]:
    """Up to ``limit`` metrics every run has, by name (system metrics last). When the runs share none, the
    metrics the most runs have, so the page never opens empty."""
    coverage = metric_coverage(runs)
    if coverage.empty:
        return []
    shared = sorted((k for k, n in coverage.items() if n == len(runs)), key=_rank)
    if shared:
        return shared[:limit]
    return sorted(coverage.index, key=lambda k: (-coverage[k], *_rank(k)))[:limit]


def metric_kinds(history: pd.DataFrame, keys: Iterable[str]) -> dict[str, MetricKind]:
    """``series`` for keys some run logged more than one point of, else ``single``."""
    longest = history.groupby(["key", "run_id"]).size().groupby(level="key").max() if len(history) else pd.Series()
    return {k: SERIES if longest.get(k, 0) > 1 else SINGLE for k in keys}


def ema(values: Sequence[float] | np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing (the first points are not pulled towards 0).
    ``weight`` in [0, 1): 0 returns the values. Non-finite points are passed through and do not enter the
    average, so one NaN or inf does not wipe out the rest of the curve."""
    if not 0 <= weight < 1:
        raise ValueError("weight must be in [0, 1)")
    values = np.asarray(values, dtype="float64")
    out = values.copy()
    if weight == 0:
        return out
    last, count = 0.0, 0
    for i, v in enumerate(values.tolist()):
        if not np.isfinite(v):
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out[i] = last / (1 - weight**count)
    return out


def smooth(history: pd.DataFrame, weight: float) -> pd.Series:
    """EMA of each (run, key) series in logging order, aligned with ``history``."""
    if history.empty:
        return pd.Series(dtype="float64", index=history.index)
    return history.groupby(["run_id", "key"], sort=False)["value"].transform(lambda s: ema(s.to_numpy(), weight))


def series_data(
    history: pd.DataFrame,
    runs: pd.DataFrame,
    labels: Mapping[str, str],
    key: str,
    x: XAxis = "step",
    smoothing: float = 0.0,
) -> pd.DataFrame:
    """One metric's history ready to chart and export: ``run_id, run, step, timestamp, minutes, value,
    smoothed, order, points`` (``minutes`` since the run started, ``order`` = logging order, ``points`` =
    length of the run's series) plus ``x`` for the chosen axis."""
    part = history[history["key"] == key].reset_index(drop=True)
    data = part[["run_id", "step", "timestamp", "value"]].copy()
    data.insert(1, "run", data["run_id"].map(labels).astype("str"))
    starts = _start_ms(runs).reindex(data["run_id"]).to_numpy()
    first = data.groupby("run_id")["timestamp"].transform("min").to_numpy(dtype="float64")
    origin = np.where(np.isnan(starts), first, np.fmin(starts, first))
    data["minutes"] = (data["timestamp"].to_numpy(dtype="float64") - origin) / 60_000
    data["smoothed"] = smooth(part, smoothing).to_numpy() if smoothing else data["value"]
    data["order"] = data.groupby("run_id").cumcount()
    data["points"] = data.groupby("run_id")["run_id"].transform("size")
    if x == "step":
        data["x"] = data["step"]
    elif x == "relative":
        data["x"] = data["minutes"]
    else:
        data["x"] = pd.to_datetime(data["timestamp"], unit="ms", utc=True)
    return data


def _start_ms(runs: pd.DataFrame) -> pd.Series:
    if "start_time" not in runs:
        return pd.Series(np.nan, index=runs["run_id"].astype(str).to_numpy())
    start = pd.to_datetime(runs["start_time"], utc=True)
    ms = (start - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(milliseconds=1)
    return pd.Series(ms.to_numpy(dtype="float64"), index=runs["run_id"].astype(str).to_numpy())


def single_data(runs: pd.DataFrame, labels: Mapping[str, str], key: str) -> pd.DataFrame:
    """One single-value metric: ``run_id, run, value`` (the runs table's latest value), one row per run that
    has it, in selection order."""
    column = f"metrics.{key}"
    values = runs[column] if column in runs else pd.Series(np.nan, index=runs.index)
    data = pd.DataFrame({
        "run_id": runs["run_id"].astype(str).to_numpy(),
        "run": runs["run_id"].astype(str).map(labels).to_numpy(),
        "value": values.to_numpy(dtype="float64"),
    })
    return data[data["value"].notna()].reset_index(drop=True)


def export_frame(data: pd.DataFrame, key: str, smoothed: bool = False) -> pd.DataFrame:
    """A chart's data as users want it in a CSV: ``run_id, run_name, metric`` then the values (for series:
    ``step, timestamp`` in ISO UTC, ``minutes`` since the run started, ``value``, and ``smoothed`` when
    smoothing is on)."""
    out = data.rename(columns={"run": "run_name"})
    out.insert(2, "metric", key)
    if "timestamp" in out:
        out["timestamp"] = pd.to_datetime(out["timestamp"], unit="ms", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if not smoothed:
            out = out.drop(columns="smoothed", errors="ignore")
    first = ["run_id", "run_name", "metric", "step", "timestamp", "minutes", "value", "smoothed"]
    return out[[c for c in first if c in out]]


def drawable(data: pd.DataFrame, log: bool = False, columns: Sequence[str] = ("value",)) -> tuple[pd.DataFrame, int]:
    """The rows a chart can draw and how many were left out: finite values (MLflow's SQL stores save ±inf as
    ±1.7977e308, the largest double, which counts as infinite here), and only positive ones on a log scale."""
    keep = np.ones(len(data), dtype=bool)
    for column in columns:
        values = data[column].to_numpy(dtype="float64")
        keep &= np.isfinite(values) & (np.abs(values) < np.finfo("float64").max)
        if log:
            keep &= values > 0
    return data[keep].reset_index(drop=True), int((~keep).sum())


# ---- charts ------------------------------------------------------------------------------------------------------
#: Name of the hover selection the metric charts share: in the page's one compound chart, hovering a run (or a
#: group) in any view highlights it in every view.
HOVER = "hover"
#: Name of the click selection every run-level chart carries (``on_select`` reads it to open the run's page).
PICK = "pick"
#: Above this many points a line chart drops its pointer layer (Vega's nearest-point search grows with it); its
#: lines still follow a run hovered in another chart.
HOVER_POINT_LIMIT = 20_000
#: Points, over all the linked charts, whose marks follow the hover: each hover repaints all of them, so charts
#: past this budget are drawn without the highlight.
LINKED_POINT_LIMIT = 60_000
#: Pixels between the two charts of a row and between rows of the linked chart.
COLUMN_GAP, ROW_GAP = 36, 28
#: Narrowest chart (y axis included) worth drawing two to a row; a narrower panel gets one chart per row.
MIN_CELL_WIDTH = 300
#: The chart's own padding; ``right`` leaves room for the last x label, which overhangs the plot.
PADDING = {"left": 2, "top": 4, "right": 14, "bottom": 6}
#: The width the charts take when the page has not measured its panel yet (a 1400 px window).
DEFAULT_PANEL_WIDTH = 795


def _color(labels: Sequence[str], colors: Sequence[str]) -> alt.Color:
    import altair as alt

    return alt.Color("run:N", scale=alt.Scale(domain=list(labels), range=list(colors)), legend=None)


def _hover(field: str = "run_id"):
    """The pointer over a run (or group): the nearest point of the view. One definition for every view, so the
    views of a compound chart share one selection."""
    import altair as alt

    return alt.selection_point(name=HOVER, fields=[field], on="pointerover", nearest=True, clear="pointerout",
                               empty=True)


def _pick():
    """A click on a run (the nearest point of a line, anywhere on a bar's row) selects its ``run_id``."""
    import altair as alt

    return alt.selection_point(name=PICK, fields=["run_id"], on="click", nearest=True, clear=False, empty=False)


#: The name marking a chart's pointer layer for :func:`linked_grid` (Altair renames it uniquely in a row).
POINTER = "pointer"


def _pointer(layer, linked: bool, *params):
    """The layer that captures the pointer (invisible points: Vega finds the nearest): on its own it carries the
    selections; in a linked grid it is only named, and the grid defines the selections once for all of them."""
    return layer.properties(name=POINTER) if linked else layer.add_params(*params)


def _interaction(points: int, hover: bool | None, listen: bool | None) -> tuple[bool, bool]:
    """Whether a chart's marks follow the hover and whether it carries the pointer layer. By default (a chart
    on its own) both, up to :data:`HOVER_POINT_LIMIT` points; a linked chart may follow a hover it does not
    capture itself."""
    small = points <= HOVER_POINT_LIMIT
    listen = small if listen is None else (listen and small)
    return (listen if hover is None else hover), listen


def _text_width(text: str, size: float = 12) -> float:
    """Rough width in pixels of a label in the app's font (Source Sans averages ~0.55 em per character)."""
    return 0.56 * size * len(text)


def _number_label(value: float) -> str:
    """About how d3's ``~g`` writes a tick near ``value``."""
    if not np.isfinite(value):
        return ""
    text = f"{float(f'{value:.3g}'):.6g}"
    return text.replace("e+0", "e+").replace("e-0", "e-")


def _value_axis_width(values: np.ndarray, log: bool = False) -> int:
    """Pixels for a numeric y axis (labels, ticks and padding), from the extremes of the values."""
    values = values[np.isfinite(values)]
    if not len(values):
        return 40
    low, high = float(values.min()), float(values.max())
    samples = [low, high, (low + high) / 2, high - (high - low) / 10]
    if log and low > 0:
        samples += [10.0 ** np.floor(np.log10(low))]
    return int(min(84, max(30, max(_text_width(_number_label(v)) for v in samples) + 12)))


def _value_format(values: np.ndarray) -> str:
    """A value axis' d3 format: ``~r`` (Vega gives it the ticks' precision: "10", "0.44") unless values are huge or
    tiny, where ``~g``'s exponent is shorter (it writes 10 as "1e+1" at one significant digit)."""
    values = np.abs(values[np.isfinite(values) & (values != 0)])
    return "~r" if not len(values) or (values.min() >= 1e-4 and values.max() < 1e6) else "~g"


def _band_axis_width(labels: Iterable[str], limit: int) -> int:
    """Pixels for a y axis of names (bars): the longest name, at most ``limit``."""
    longest = max((_text_width(str(label)) for label in labels), default=0.0)
    return int(min(limit, longest) + 10)


def _title(key: str, subtitle: str | None, width: int | None) -> alt.Title:
    import altair as alt

    extra = {"limit": width} if width else {}
    return alt.Title(key, subtitle=subtitle or "", anchor="start", frame="bounds", **extra)


def _frame(chart, key: str, subtitle: str | None, width: int | None, axis: int):
    """A chart's title, and its plot width: ``width`` is the whole chart's, y axis (``axis`` px) included."""
    props = {"title": _title(key, subtitle, width)} if subtitle is not None or width else {}
    if width:
        props["width"] = max(width - axis, 60)
    return chart.properties(**props)


#: Widest run or group name beside a bar (longer ones end in "…", whole in the tooltip): every row of the
#: linked grid lines its plots up with the widest such axis, so it also bounds the indent of the line charts.
BAND_LABEL_PX = 150


def bar_step(n_runs: int) -> int:
    """Pixels per bar: 24 up to 30 runs, then thinner so a chart stays under ~750 px (6 px at least; below
    12 px names and values are left to the tooltip)."""
    return int(min(24, max(6, 720 // max(n_runs, 1))))


def bar_chart(
    data: pd.DataFrame, key: str, labels: Sequence[str], colors: Sequence[str], *,
    width: int | None = None, subtitle: str | None = None, hover: bool | None = None, listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """A horizontal bar per run, largest value first, the value written at the end of each bar (the axis leaves
    room for it; negative bars grow to the left with their value on the left). Pointing anywhere on a bar's row
    hovers (and a click picks) its run; when the hover is on, the other runs' bars fade.

    ``width`` (pixels, the names included) and ``subtitle`` place the chart in the page's grid (see
    :func:`linked_grid`); ``hover``, ``listen`` and ``linked`` as for :func:`line_chart`."""
    import altair as alt

    order = data.sort_values("value", ascending=False, kind="stable")["run"].tolist()
    values = data["value"].to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    low, high = (min(0.0, values.min()), max(0.0, values.max())) if len(values) else (0.0, 1.0)
    with np.errstate(over="ignore"):
        room = (high - low or 1.0) * 0.2  # space for the value labels
        domain = [low - room if low < 0 else 0.0, high + room if high > 0 or low == 0 else 0.0]
    scale = alt.Scale(domain=domain, nice=False) if np.isfinite(domain).all() else alt.Scale()
    n = max(data["run"].nunique(), 1)
    step = bar_step(n)
    readable = step >= 12  # room for a run name and a value beside each bar
    hover, listen = _interaction(len(data), hover, listen)
    axis = _band_axis_width(order, BAND_LABEL_PX) if readable else 8
    tooltip = [alt.Tooltip("run:N", title="run"), alt.Tooltip("value:Q", title=key, format=".6g")]
    base = alt.Chart(data).encode(
        y=alt.Y("run:N", sort=order, title=None,
                axis=alt.Axis(labelLimit=BAND_LABEL_PX, ticks=False, domain=False, labels=readable,
                              **({"minExtent": axis - 4, "maxExtent": axis - 4} if width else {}))),
        x=alt.X("value:Q", title=None, scale=scale,
                axis=alt.Axis(format="~g", tickCount=5, labelFlush=True)),
        tooltip=tooltip,
    )
    faded = {"opacity": alt.condition(_hover(), alt.value(1.0), alt.value(0.25))} if hover else {}
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.72}, cursor="pointer").encode(
        color=_color(labels, colors), **faded)
    layers = [bars]
    if readable:
        layers.append(base.mark_text(
            baseline="middle", fontSize=11, color="#4a5261",
            align=alt.expr("datum.value < 0 ? 'right' : 'left'"), dx=alt.expr("datum.value < 0 ? -4 : 4"),
        ).encode(text=alt.Text("value:Q", format=".4~g"), **faded))
    if listen:  # last, so its nearest-point cells lie over the bars: one horizontal strip per row
        layers.append(_pointer(base.mark_point(opacity=0, cursor="pointer").encode(x=alt.value(0)), linked,
                               _hover(), _pick()))
    chart = alt.layer(*layers) if len(layers) > 1 else layers[0]
    return _frame(chart, key, subtitle, width, axis).properties(height=step * n + 30)


def line_chart(
    data: pd.DataFrame,
    key: str,
    labels: Sequence[str],
    colors: Sequence[str],
    x: XAxis = "step",
    log: bool = False,
    smoothed: bool = False,
    *,
    width: int | None = None,
    subtitle: str | None = None,
    hover: bool | None = None,
    listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """Metric against step or time, one line per run in logging order (restarted steps are drawn as logged).
    With smoothing, the raw curve stays as a faint trace under the smoothed one. Hovering a line brings it
    forward (and fades the others); a click picks its run; runs with a single point show as dots.

    ``listen``: the chart carries the pointer layer (the :data:`HOVER` and :data:`PICK` selections on the
    nearest point), never above :data:`HOVER_POINT_LIMIT` points. ``hover``: its lines follow the
    :data:`HOVER` selection, which must then be defined here or in a chart it is concatenated with. Both
    default to the chart on its own: interactive while small enough. ``linked``: the chart goes into
    :func:`linked_grid`, whose shared selections listen in its pointer layer (it defines none itself).
    ``width`` (pixels, y axis included) and ``subtitle`` place it in the page's grid (see
    :func:`linked_grid`)."""
    import altair as alt

    x_type = "T" if x == "wall" else "Q"
    x_scale = alt.Scale(zero=True) if x == "relative" else alt.Scale()
    steps = {"tickMinStep": 1} if x == "step" else {}  # no tick between two steps
    x_enc = alt.X(f"x:{x_type}", title=X_TITLES[x], scale=x_scale, axis=alt.Axis(tickCount=6, grid=False, **steps))
    y_scale = alt.Scale(type="log" if log else "linear", zero=False, nice=True)
    y_field = "smoothed" if smoothed else "value"
    hover, listen = _interaction(len(data), hover, listen)
    axis = _value_axis_width(data[y_field].to_numpy(dtype="float64"), log)
    extent = {"minExtent": axis - 4, "maxExtent": axis - 4} if width else {}
    tooltip = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip("step:Q", title="step"),
        alt.Tooltip("minutes:Q", title="minutes", format=".1f"),
        alt.Tooltip("value:Q", title=key, format=".6g"),
    ]
    if smoothed:
        tooltip.append(alt.Tooltip("smoothed:Q", title="smoothed", format=".6g"))
    color = _color(labels, colors)
    base = alt.Chart(data).encode(x=x_enc, color=color, detail="run_id:N", order=alt.Order("order:Q"))
    y_format = _value_format(data[y_field].to_numpy(dtype="float64"))
    y_enc = alt.Y(f"{y_field}:Q", title=None, scale=y_scale, axis=alt.Axis(format=y_format, tickCount=5, **extent))
    hovered = _hover()
    layers: list[alt.Chart] = []
    if smoothed:
        raw = base.mark_line(strokeWidth=1, opacity=0.22).encode(y=alt.Y("value:Q", scale=y_scale))
        if hover:
            raw = raw.encode(opacity=alt.condition(hovered, alt.value(0.22), alt.value(0.06)))
        layers.append(raw)
    line = base.mark_line(strokeWidth=1.8).encode(y=y_enc)
    if hover:
        line = line.encode(
            opacity=alt.condition(hovered, alt.value(1.0), alt.value(0.18)),
            strokeWidth=alt.condition(hovered, alt.value(2.2), alt.value(1.4)),
        )
    if not listen:
        line = line.encode(tooltip=tooltip[:1])
    layers.append(line)
    lone = base.transform_filter("datum.points == 1").mark_point(filled=True, size=46, opacity=1).encode(y=y_enc)
    if hover:
        lone = lone.encode(opacity=alt.condition(hovered, alt.value(1.0), alt.value(0.25)))
    layers.append(lone)
    if listen:
        layers.append(_pointer(base.mark_point(size=60, opacity=0, cursor="pointer").encode(y=y_enc, tooltip=tooltip),
                               linked, hovered, _pick()))
    return _frame(alt.layer(*layers), key, subtitle, width, axis).properties(height=250)


def picked_run(event: object) -> str | None:
    """The run id a click selected, from ``st.altair_chart(..., on_select=...)``'s state (or None)."""
    try:
        points = event["selection"][PICK]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for point in points or ():
        if isinstance(point, Mapping) and point.get("run_id"):
            return str(point["run_id"])
    return None


# ---- one linked chart --------------------------------------------------------------------------------------------
def grid_columns(panel_width: int) -> int:
    """Charts per row for a panel this wide (pixels): two while each keeps :data:`MIN_CELL_WIDTH`."""
    return 2 if cell_widths(panel_width)[0] >= MIN_CELL_WIDTH else 1


def cell_widths(panel_width: int) -> tuple[int, int]:
    """The width (pixels, y axis included) of a chart sharing a row, and of a chart alone on its row, so that
    the rows of :func:`linked_grid` fill a panel this wide without overflowing it."""
    full = int(panel_width) - PADDING["left"] - PADDING["right"] - 6  # 6: rounding and the panel's own borders
    return (full - COLUMN_GAP) // 2, full


def link_plan(points: Sequence[int]) -> list[tuple[bool, bool]]:
    """For charts of these many points each, in page order: ``(hover, listen)`` as :func:`line_chart` takes
    them. Charts follow the shared hover while the points following it stay within
    :data:`LINKED_POINT_LIMIT` (a chart past the budget is skipped, the next ones may still fit) and listen
    while also under :data:`HOVER_POINT_LIMIT`. When no chart would listen, none follows the hover: the
    selection would be defined nowhere."""
    total, plan = 0, []
    for n in points:
        linked = total + n <= LINKED_POINT_LIMIT
        total += n if linked else 0
        plan.append((linked, linked and n <= HOVER_POINT_LIMIT))
    if not any(listen for _, listen in plan):
        return [(False, False)] * len(plan)
    return plan


def linked_grid(
    rows: Sequence[Sequence[alt.TopLevelMixin]], field: str = "run_id", pick: bool = True,
) -> alt.VConcatChart:
    """The metric charts as one Vega-Lite view: rows (``hconcat``, one or two charts each) stacked
    (``vconcat``), with one :data:`HOVER` selection on ``field`` (and one :data:`PICK` click selection when
    ``pick``) listening in the pointer layers of the charts built with ``linked=True``: a run hovered in any
    chart is highlighted in all of them, whose marks test that one selection. Every row is an ``hconcat``,
    even of one chart, so Streamlit leaves the widths set by :func:`cell_widths` alone (it stretches only the
    plain children of a ``vconcat``)."""
    import altair as alt

    count = iter(range(10**6))
    stacked = [alt.hconcat(*(_pointer_named(chart, next(count)) for chart in row), spacing=COLUMN_GAP)
               for row in _left_aligned(rows)]
    # Altair renames the named layers of a row by position when it builds it: read the names back
    pointers = [layer.name for row in stacked for chart in row.hconcat for layer in getattr(chart, "layer", [])
                if isinstance(layer.name, str)]
    grid = alt.vconcat(*stacked, spacing=ROW_GAP).properties(
        padding=PADDING, autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    if pointers:
        params = [_hover(field)] + ([_pick()] if pick else [])
        grid.params = [alt.TopLevelSelectionParameter(name=p.name, select=p.param.select, views=pointers)
                       for p in params]
    return grid


def _reserved_axis(chart) -> int:
    """The pixels a chart placed by :func:`_frame` keeps for its y axis: its whole width (the title's limit)
    less its plot width."""
    limit = getattr(getattr(chart, "title", None), "limit", None)
    width = getattr(chart, "width", None)
    return int(limit - width) if isinstance(limit, (int, float)) and isinstance(width, (int, float)) else 0


def _left_aligned(rows: Sequence[Sequence[alt.TopLevelMixin]]) -> list[list[alt.TopLevelMixin]]:
    """Vega lines up the plots of stacked rows on the widest y axis of their first charts (bar charts' run
    names, mostly): a row whose first chart has a narrower axis is pushed right by the difference, so its
    plots give up as much width, shared between them (every row then spans the same width), and its first
    title moves back to the left edge."""
    widest = max((_reserved_axis(row[0]) for row in rows if row), default=0)
    aligned = []
    for row in rows:
        row = list(row)
        shift = widest - _reserved_axis(row[0])
        if shift > 0 and all(isinstance(getattr(c, "width", None), (int, float)) for c in row):
            cuts = [shift // len(row) + (1 if i < shift % len(row) else 0) for i in range(len(row))]
            row = [c.properties(width=max(int(c.width) - cut, 60)) for c, cut in zip(row, cuts)]
            title = getattr(row[0], "title", None)
            if title is not None and hasattr(title, "copy"):
                title = title.copy()
                title.dx = -shift
                row[0] = row[0].properties(title=title)
        aligned.append(row)
    return aligned


def _pointer_named(chart, index: int):
    """The chart with its pointer layer named uniquely in the grid (no ``_<digits>`` ending: Altair would
    strip it)."""
    layers = getattr(chart, "layer", None)
    if not layers:
        return chart
    chart = chart.copy(deep=False)
    chart.layer = [layer.properties(name=f"{POINTER}{index}x") if getattr(layer, "name", None) == POINTER else layer
                   for layer in layers]
    return chart


# ---- grouped charts ----------------------------------------------------------------------------------------------
AGG_TITLES: dict[str, str] = {"mean": "mean", "median": "median", "min": "min", "max": "max"}
SPREAD_TITLES: dict[str, str] = {"std": "± 1 std", "minmax": "min–max", "ci": "95 % CI of the mean", "none": "none"}


def group_bar_data(
    runs: pd.DataFrame, groups: pd.Series, key: str, order: Sequence[str], aggregation: str, spread: str
) -> pd.DataFrame:
    """One single-value metric by group: ``group, label, count, mean, median, std, min, max, ci_low, ci_high``
    and the drawn ``center, low, high`` (aggregate and spread, see :func:`lens_core.runs.stats.error_bounds`);
    ``label`` is ``group · N=…``. Groups whose runs have no finite value are left out."""
    from lens_core.runs import stats

    column = f"metrics.{key}"
    values = runs[column] if column in runs else pd.Series(np.nan, index=runs.index)
    table = stats.group_table(values.to_numpy(dtype="float64"), groups.reset_index(drop=True), order)
    table = table[table["count"] > 0].reset_index(drop=True)
    bounds = [stats.error_bounds(row, aggregation, spread) for row in table.to_dict("records")]
    table["center"] = [b[0] for b in bounds]
    table["low"] = [b[1] for b in bounds]
    table["high"] = [b[2] for b in bounds]
    table.insert(1, "label", [f"{g} · N={n}" for g, n in zip(table["group"], table["count"])])
    return table


def group_bar_chart(
    data: pd.DataFrame, key: str, groups: Sequence[str], colors: Sequence[str], aggregation: str, spread: str, *,
    width: int | None = None, subtitle: str | None = None, hover: bool | None = None, listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """A horizontal bar per group (in group order) with the aggregate, an error bar for the spread, and the
    value and N written beside it. Pointing anywhere on a group's row hovers the group (the :data:`HOVER`
    selection on ``group``); ``width``, ``subtitle``, ``hover``, ``listen``, ``linked`` as for
    :func:`line_chart`."""
    import altair as alt

    finite = data[["center", "low", "high"]].to_numpy(dtype="float64")
    finite = finite[np.isfinite(finite)]
    low, high = (min(0.0, finite.min()), max(0.0, finite.max())) if len(finite) else (0.0, 1.0)
    room = (high - low or 1.0) * 0.28
    domain = [low - room if low < 0 else 0.0, high + room if high > 0 or low == 0 else 0.0]
    scale = alt.Scale(domain=domain, nice=False) if np.isfinite(domain).all() else alt.Scale()
    labels = data["label"].tolist()
    step = 30
    hover, listen = _interaction(len(data), hover, listen)
    axis = _band_axis_width(labels, BAND_LABEL_PX)
    y = alt.Y("label:N", sort=labels, title=None,
              axis=alt.Axis(labelLimit=BAND_LABEL_PX, ticks=False, domain=False,
                            **({"minExtent": axis - 4, "maxExtent": axis - 4} if width else {})))
    agg = AGG_TITLES[aggregation]
    tooltip = [
        alt.Tooltip("group:N", title="group"), alt.Tooltip("count:Q", title="N (runs)"),
        alt.Tooltip("center:Q", title=f"{agg} of {key}", format=".6g"),
        alt.Tooltip("std:Q", title="std", format=".4g"),
        alt.Tooltip("min:Q", title="min", format=".6g"), alt.Tooltip("max:Q", title="max", format=".6g"),
        alt.Tooltip("ci_low:Q", title="95 % CI low", format=".6g"),
        alt.Tooltip("ci_high:Q", title="95 % CI high", format=".6g"),
    ]
    base = alt.Chart(data).encode(y=y, tooltip=tooltip)
    color = alt.Color("group:N", scale=alt.Scale(domain=list(groups), range=list(colors)), legend=None)
    hovered = _hover("group")
    faded = {"opacity": alt.condition(hovered, alt.value(1.0), alt.value(0.25))} if hover else {}
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.66}, opacity=0.85).encode(
        x=alt.X("center:Q", title=f"{agg} · error bars: {SPREAD_TITLES[spread]}", scale=scale,
                axis=alt.Axis(format="~g", tickCount=5, labelFlush=True)),
        color=color,
        **({"opacity": alt.condition(hovered, alt.value(0.85), alt.value(0.22))} if hover else {}),
    )
    layers = [bars]
    if spread != "none":
        layers.append(base.mark_rule(color="#3b4150", strokeWidth=1.4).encode(x="low:Q", x2="high:Q", **faded))
        layers.append(base.mark_tick(color="#3b4150", thickness=1.4, size=10).encode(x="low:Q", **faded))
        layers.append(base.mark_tick(color="#3b4150", thickness=1.4, size=10).encode(x="high:Q", **faded))
    edge = "max(datum.center, datum.high)" if spread != "none" else "datum.center"
    start = "min(datum.center, datum.low)" if spread != "none" else "datum.center"
    # the value and N beside the bar: N stays readable when a long group name is cut short on the axis
    text = base.transform_calculate(
        xtext=f"datum.center < 0 ? {start} : {edge}",
        value_text="format(datum.center, '.4~g') + '  N=' + datum.count",
    ).mark_text(
        baseline="middle", fontSize=11, color="#4a5261",
        align=alt.expr("datum.center < 0 ? 'right' : 'left'"), dx=alt.expr("datum.center < 0 ? -5 : 5"),
    ).encode(x=alt.X("xtext:Q"), text=alt.Text("value_text:N"), **faded)
    layers.append(text)
    if listen:  # last: its nearest-point cells lie over the bars, one horizontal strip per group
        layers.append(_pointer(base.mark_point(opacity=0).encode(x=alt.value(0)), linked, hovered))
    chart = _frame(alt.layer(*layers), key, subtitle, width, axis)
    return chart.properties(height=step * max(len(data), 1) + 40)


def group_line_chart(
    band: pd.DataFrame, key: str, groups: Sequence[str], colors: Sequence[str], x: XAxis = "step",
    log: bool = False, aggregation: str = "mean", spread: str = "std", *,
    width: int | None = None, subtitle: str | None = None, hover: bool | None = None, listen: bool | None = None,
    linked: bool = False,
) -> alt.LayerChart:
    """The aggregate line of each group over a shaded band for the spread (``band`` from
    :func:`lens_core.runs.stats.series_band`). Hovering a group brings it forward (the :data:`HOVER` selection on
    ``group``); ``width``, ``subtitle``, ``hover``, ``listen``, ``linked`` as for :func:`line_chart`."""
    import altair as alt

    x_title = X_TITLES["relative" if x == "relative" else "step"]
    steps = {"tickMinStep": 1} if x != "relative" else {}
    x_enc = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=x == "relative"),
                  axis=alt.Axis(tickCount=6, grid=False, **steps))
    y_scale = alt.Scale(type="log" if log else "linear", zero=False, nice=True)
    color = alt.Color("group:N", scale=alt.Scale(domain=list(groups), range=list(colors)), legend=None)
    hover, listen = _interaction(len(band), hover, listen)
    hovered = _hover("group")
    axis = _value_axis_width(band[["center", "low", "high"]].to_numpy(dtype="float64").ravel(), log)
    extent = {"minExtent": axis - 4, "maxExtent": axis - 4} if width else {}
    base = alt.Chart(band).encode(x=x_enc, color=color)
    tooltip = [
        alt.Tooltip("group:N", title="group"), alt.Tooltip("x:Q", title=x_title, format=".6~g"),
        alt.Tooltip("center:Q", title=f"{AGG_TITLES[aggregation]} of {key}", format=".6g"),
        alt.Tooltip("low:Q", title="band low", format=".6g"), alt.Tooltip("high:Q", title="band high", format=".6g"),
        alt.Tooltip("n:Q", title="N (runs)"),
    ]
    layers = []
    if spread != "none":
        layers.append(base.mark_area(opacity=0.16, line=False).encode(
            y=alt.Y("low:Q", scale=y_scale, title=None), y2="high:Q",
            **({"opacity": alt.condition(hovered, alt.value(0.2), alt.value(0.06))} if hover else {}),
        ))
    layers.append(base.mark_line(strokeWidth=2).encode(
        y=alt.Y("center:Q", title=None, scale=y_scale,
                axis=alt.Axis(format=_value_format(band[["center", "low", "high"]].to_numpy(dtype="float64").ravel()),
                              tickCount=5, **extent)),
        **({"opacity": alt.condition(hovered, alt.value(1.0), alt.value(0.3))} if hover else {}),
    ))
    point = base.mark_point(size=50, opacity=0).encode(y=alt.Y("center:Q", scale=y_scale), tooltip=tooltip)
    layers.append(_pointer(point, linked, hovered) if listen else point)
    return _frame(alt.layer(*layers), key, subtitle, width, axis).properties(height=250)


def chart_config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The look shared by every chart of the page (rendered with ``theme=None``: Streamlit's chart theme pads
    axis titles so much that short bar charts collapse): the app's font, quiet axes, no frame, titles on the
    left with the notes under them."""
    text = "#4a5261"
    return (
        chart.configure(font='"Source Sans", "Source Sans Pro", sans-serif')
        .configure_view(strokeWidth=0)
        .configure_axis(
            labelColor=text, titleColor=text, titleFontWeight="normal", labelFontSize=12, titleFontSize=12,
            gridColor="#eceff4", domainColor="#c9ced8", tickColor="#c9ced8", labelPadding=4,
        )
        .configure_title(fontSize=14, fontWeight=600, color="#31333f", subtitleFontSize=12, subtitleColor="#808495",
                         subtitlePadding=3, offset=10, anchor="start")
    )


# ---- group tables ------------------------------------------------------------------------------------------------
def _latest(runs: pd.DataFrame, key: str) -> np.ndarray:
    column = f"metrics.{key}"
    return (runs[column] if column in runs else pd.Series(np.nan, index=runs.index)).to_numpy(dtype="float64")


def group_stats(runs: pd.DataFrame, groups: pd.Series, order: Sequence[str], keys: Sequence[str]) -> pd.DataFrame:
    """Per metric and group, the statistics of the runs' latest values: ``metric, group, count, mean, median,
    std, min, max, ci_low, ci_high`` (``count`` = runs with a finite value)."""
    from lens_core.runs import stats

    frames = []
    for key in keys:
        table = stats.group_table(_latest(runs, key), groups.reset_index(drop=True), order)
        table.insert(0, "metric", key)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=["metric", "group", "count", "mean", "median", "std", "min", "max",
                                     "ci_low", "ci_high"])
    return pd.concat(frames, ignore_index=True)


def two_groups(runs: pd.DataFrame, groups: pd.Series, a: str, b: str, keys: Sequence[str]) -> pd.DataFrame:
    """Group ``a`` against group ``b`` on each metric's latest values: ``metric, n_a, mean_a, n_b, mean_b,
    diff`` (mean a − mean b), ``ci_low, ci_high`` (its 95 % interval, Welch–Satterthwaite df), ``df, t, p``
    (Welch's two-sided t-test)."""
    from lens_core.runs import stats

    labels = groups.reset_index(drop=True).to_numpy()
    rows = []
    for key in keys:
        values = _latest(runs, key)
        w = stats.welch(values[labels == a], values[labels == b])
        rows.append({"metric": key, "n_a": w.n_a, "mean_a": w.mean_a, "n_b": w.n_b, "mean_b": w.mean_b,
                     "diff": w.diff, "ci_low": w.ci_low, "ci_high": w.ci_high, "df": w.df, "t": w.t, "p": w.p})
    columns = ["metric", "n_a", "mean_a", "n_b", "mean_b", "diff", "ci_low", "ci_high", "df", "t", "p"]
    return pd.DataFrame(rows, columns=columns)
