"""Comparing runs: the logic behind ``pages/1_Compare.py``, free of Streamlit.

Everything takes the wide runs table (rows of the selected runs, see :mod:`lens_core.runs_table`) and/or the
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
from lens_core.runs_table import columns_of

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
#: Above this many points a line chart drops its hover layer (Vega's nearest-point search grows with it).
HOVER_POINT_LIMIT = 20_000


def _color(labels: Sequence[str], colors: Sequence[str]) -> alt.Color:
    import altair as alt

    return alt.Color("run:N", scale=alt.Scale(domain=list(labels), range=list(colors)), legend=None)


def bar_step(n_runs: int) -> int:
    """Pixels per bar: 24 up to 30 runs, then thinner so a chart stays under ~750 px (6 px at least; below
    12 px names and values are left to the tooltip)."""
    return int(min(24, max(6, 720 // max(n_runs, 1))))


def bar_chart(data: pd.DataFrame, key: str, labels: Sequence[str], colors: Sequence[str]) -> alt.LayerChart:
    """A horizontal bar per run, largest value first, the value written at the end of each bar (the axis leaves
    room for it; negative bars grow to the left with their value on the left)."""
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
    base = alt.Chart(data).encode(
        y=alt.Y("run:N", sort=order, title=None,
                axis=alt.Axis(labelLimit=200, ticks=False, domain=False, labels=readable)),
        x=alt.X("value:Q", title=None, scale=scale,
                axis=alt.Axis(format="~g", tickCount=5, labelFlush=True)),
        tooltip=[alt.Tooltip("run:N", title="run"), alt.Tooltip("value:Q", title=key, format=".6g")],
    )
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.72}, cursor="pointer").encode(
        color=_color(labels, colors)
    ).add_params(_pick())
    text = base.mark_text(
        baseline="middle", fontSize=11, color="#4a5261",
        align=alt.expr("datum.value < 0 ? 'right' : 'left'"), dx=alt.expr("datum.value < 0 ? -4 : 4"),
    ).encode(text=alt.Text("value:Q", format=".4~g"))
    chart = bars + text if readable else bars
    return chart.properties(height=step * n + 30)


def line_chart(
    data: pd.DataFrame,
    key: str,
    labels: Sequence[str],
    colors: Sequence[str],
    x: XAxis = "step",
    log: bool = False,
    smoothed: bool = False,
) -> alt.LayerChart:
    """Metric against step or time, one line per run in logging order (restarted steps are drawn as logged).
    With smoothing, the raw curve stays as a faint trace under the smoothed one. Hovering a line brings it
    forward; runs with a single point show as dots."""
    import altair as alt

    x_type = "T" if x == "wall" else "Q"
    x_scale = alt.Scale(zero=True) if x == "relative" else alt.Scale()
    x_enc = alt.X(f"x:{x_type}", title=X_TITLES[x], scale=x_scale, axis=alt.Axis(tickCount=6, grid=False))
    y_scale = alt.Scale(type="log" if log else "linear", zero=False, nice=True)
    y_field = "smoothed" if smoothed else "value"
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
    y_enc = alt.Y(f"{y_field}:Q", title=None, scale=y_scale, axis=alt.Axis(format="~g", tickCount=5))
    layers: list[alt.Chart] = []
    if smoothed:
        layers.append(base.mark_line(strokeWidth=1, opacity=0.22).encode(y=alt.Y("value:Q", scale=y_scale)))
    hover = alt.selection_point(fields=["run_id"], on="pointerover", nearest=True, clear="pointerout", empty=True)
    interactive = len(data) <= HOVER_POINT_LIMIT
    line = base.mark_line(strokeWidth=1.8).encode(y=y_enc)
    if interactive:
        line = line.encode(
            opacity=alt.condition(hover, alt.value(1.0), alt.value(0.18)),
            strokeWidth=alt.condition(hover, alt.value(2.2), alt.value(1.4)),
        )
    else:
        line = line.encode(tooltip=tooltip[:1])
    layers.append(line)
    lone = base.transform_filter("datum.points == 1").mark_point(filled=True, size=46, opacity=1).encode(y=y_enc)
    layers.append(lone)
    if interactive:
        layers.append(
            base.mark_point(size=60, opacity=0, cursor="pointer").encode(y=y_enc, tooltip=tooltip)
            .add_params(hover, _pick(nearest=True))
        )
    return alt.layer(*layers).properties(height=250)


#: Name of the click selection every run-level chart carries (``on_select`` reads it to open the run's page).
PICK = "pick"


def _pick(nearest: bool = False):
    """A click on a run (a bar, or the nearest point of a line) selects its ``run_id``."""
    import altair as alt

    return alt.selection_point(name=PICK, fields=["run_id"], on="click", nearest=nearest, clear=False, empty=False)


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


# ---- grouped charts ----------------------------------------------------------------------------------------------
AGG_TITLES: dict[str, str] = {"mean": "mean", "median": "median", "min": "min", "max": "max"}
SPREAD_TITLES: dict[str, str] = {"std": "± 1 std", "minmax": "min–max", "ci": "95 % CI of the mean", "none": "none"}


def group_bar_data(
    runs: pd.DataFrame, groups: pd.Series, key: str, order: Sequence[str], aggregation: str, spread: str
) -> pd.DataFrame:
    """One single-value metric by group: ``group, label, count, mean, median, std, min, max, ci_low, ci_high``
    and the drawn ``center, low, high`` (aggregate and spread, see :func:`lens_core.stats.error_bounds`);
    ``label`` is ``group · N=…``. Groups whose runs have no finite value are left out."""
    from lens_core import stats

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
    data: pd.DataFrame, key: str, groups: Sequence[str], colors: Sequence[str], aggregation: str, spread: str
) -> alt.LayerChart:
    """A horizontal bar per group (in group order) with the aggregate, an error bar for the spread, and the
    value and N written beside it."""
    import altair as alt

    finite = data[["center", "low", "high"]].to_numpy(dtype="float64")
    finite = finite[np.isfinite(finite)]
    low, high = (min(0.0, finite.min()), max(0.0, finite.max())) if len(finite) else (0.0, 1.0)
    room = (high - low or 1.0) * 0.28
    domain = [low - room if low < 0 else 0.0, high + room if high > 0 or low == 0 else 0.0]
    scale = alt.Scale(domain=domain, nice=False) if np.isfinite(domain).all() else alt.Scale()
    labels = data["label"].tolist()
    step = 30
    y = alt.Y("label:N", sort=labels, title=None, axis=alt.Axis(labelLimit=220, ticks=False, domain=False))
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
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.66}, opacity=0.85).encode(
        x=alt.X("center:Q", title=f"{agg} · error bars: {SPREAD_TITLES[spread]}", scale=scale,
                axis=alt.Axis(format="~g", tickCount=5, labelFlush=True)),
        color=color,
    )
    layers = [bars]
    if spread != "none":
        layers.append(base.mark_rule(color="#3b4150", strokeWidth=1.4).encode(x="low:Q", x2="high:Q"))
        layers.append(base.mark_tick(color="#3b4150", thickness=1.4, size=10).encode(x="low:Q"))
        layers.append(base.mark_tick(color="#3b4150", thickness=1.4, size=10).encode(x="high:Q"))
    edge = "max(datum.center, datum.high)" if spread != "none" else "datum.center"
    start = "min(datum.center, datum.low)" if spread != "none" else "datum.center"
    text = base.transform_calculate(xtext=f"datum.center < 0 ? {start} : {edge}").mark_text(
        baseline="middle", fontSize=11, color="#4a5261",
        align=alt.expr("datum.center < 0 ? 'right' : 'left'"), dx=alt.expr("datum.center < 0 ? -5 : 5"),
    ).encode(x=alt.X("xtext:Q"), text=alt.Text("center:Q", format=".4~g"))
    layers.append(text)
    return alt.layer(*layers).properties(height=step * max(len(data), 1) + 40)


def group_line_chart(
    band: pd.DataFrame, key: str, groups: Sequence[str], colors: Sequence[str], x: XAxis = "step",
    log: bool = False, aggregation: str = "mean", spread: str = "std",
) -> alt.LayerChart:
    """The aggregate line of each group over a shaded band for the spread (``band`` from
    :func:`lens_core.stats.series_band`). Hovering a group brings it forward."""
    import altair as alt

    x_title = X_TITLES["relative" if x == "relative" else "step"]
    x_enc = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=x == "relative"), axis=alt.Axis(tickCount=6, grid=False))
    y_scale = alt.Scale(type="log" if log else "linear", zero=False, nice=True)
    color = alt.Color("group:N", scale=alt.Scale(domain=list(groups), range=list(colors)), legend=None)
    hover = alt.selection_point(fields=["group"], on="pointerover", nearest=True, clear="pointerout", empty=True)
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
            opacity=alt.condition(hover, alt.value(0.2), alt.value(0.06)),
        ))
    layers.append(base.mark_line(strokeWidth=2).encode(
        y=alt.Y("center:Q", title=None, scale=y_scale, axis=alt.Axis(format="~g", tickCount=5)),
        opacity=alt.condition(hover, alt.value(1.0), alt.value(0.3)),
    ))
    layers.append(base.mark_point(size=50, opacity=0).encode(y=alt.Y("center:Q", scale=y_scale), tooltip=tooltip)
                  .add_params(hover))
    return alt.layer(*layers).properties(height=250)


def chart_config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The look shared by every chart of the page (rendered with ``theme=None``: Streamlit's chart theme pads
    axis titles so much that short bar charts collapse): the app's font, quiet axes, no frame."""
    text = "#4a5261"
    return (
        chart.configure(font='"Source Sans", "Source Sans Pro", sans-serif')
        .configure_view(strokeWidth=0)
        .configure_axis(
            labelColor=text, titleColor=text, titleFontWeight="normal", labelFontSize=12, titleFontSize=12,
            gridColor="#eceff4", domainColor="#c9ced8", tickColor="#c9ced8", labelPadding=4,
        )
    )


# ---- group tables ------------------------------------------------------------------------------------------------
def _latest(runs: pd.DataFrame, key: str) -> np.ndarray:
    column = f"metrics.{key}"
    return (runs[column] if column in runs else pd.Series(np.nan, index=runs.index)).to_numpy(dtype="float64")


def group_stats(runs: pd.DataFrame, groups: pd.Series, order: Sequence[str], keys: Sequence[str]) -> pd.DataFrame:
    """Per metric and group, the statistics of the runs' latest values: ``metric, group, count, mean, median,
    std, min, max, ci_low, ci_high`` (``count`` = runs with a finite value)."""
    from lens_core import stats

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
    from lens_core import stats

    labels = groups.reset_index(drop=True).to_numpy()
    rows = []
    for key in keys:
        values = _latest(runs, key)
        w = stats.welch(values[labels == a], values[labels == b])
        rows.append({"metric": key, "n_a": w.n_a, "mean_a": w.mean_a, "n_b": w.n_b, "mean_b": w.mean_b,
                     "diff": w.diff, "ci_low": w.ci_low, "ci_high": w.ci_high, "df": w.df, "t": w.t, "p": w.p})
    columns = ["metric", "n_a", "mean_a", "n_b", "mean_b", "diff", "ci_low", "ci_high", "df", "t", "p"]
    return pd.DataFrame(rows, columns=columns)
