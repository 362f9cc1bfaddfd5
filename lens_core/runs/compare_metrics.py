"""The comparison page's metric charts, free of Streamlit: which metrics the runs have and which are series, the
data each chart draws and exports (a run's history, smoothed; its latest value; a group's aggregate), and
:func:`metric_chart`, which puts one metric's data, chart, notes and export together for the page's linked view
(:func:`linked_figure`). The Altair specifications are in :mod:`lens_core.runs.compare_charts`.

The data come from the wide runs table (rows of the selected runs, see :mod:`lens_core.trackers.runs_table`) and the
long metric history (``run_id, key, step, timestamp, value``). A metric is a **series** for a selection when at
least one of the runs logged more than one point of it, otherwise it is **single-value** (one point per run,
charted as bars from the runs table's latest value).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from lens_core.format import distinct_labels, finite_only, not_drawn_note, plural
from lens_core.runs import stats
from lens_core.runs.compare import Grouping, latest_values, md
from lens_core.runs.compare_charts import (
    SPREAD_TITLES,
    X_TITLES,
    XAxis,
    bar_chart,
    cell_widths,
    chart_config,
    grid_columns,
    group_bar_chart,
    group_line_chart,
    line_chart,
    link_plan,
    linked_grid,
)
from lens_core.trackers.runs_table import columns_of

if TYPE_CHECKING:
    import altair as alt

SERIES: Literal["series"] = "series"
SINGLE: Literal["single"] = "single"
MetricKind = Literal["series", "single"]
#: How many metric charts the page opens with.
DEFAULT_METRIC_COUNT = 6
#: Metrics MLflow logs by itself; listed after the user's own.
SYSTEM_PREFIXES: tuple[str, ...] = ("system/",)


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
    data = pd.DataFrame({
        "run_id": runs["run_id"].astype(str).to_numpy(),
        "run": runs["run_id"].astype(str).map(labels).to_numpy(),
        "value": latest_values(runs, key),
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
    """The rows a chart can draw and how many were left out: finite values by the one rule of
    :func:`lens_core.format.finite_only` (±inf, NaN and MLflow's ±1.7977e308 sentinel are left out), and only
    positive ones on a log scale."""
    keep = np.ones(len(data), dtype=bool)
    for column in columns:
        values = data[column].reset_index(drop=True)
        finite = np.zeros(len(data), dtype=bool)
        finite[finite_only(values).values.index.to_numpy()] = True
        keep &= finite
        if log:
            keep &= values.to_numpy(dtype="float64") > 0
    return data[keep].reset_index(drop=True), int((~keep).sum())


def group_bar_data(
    runs: pd.DataFrame, groups: pd.Series, key: str, order: Sequence[str], aggregation: str, spread: str
) -> pd.DataFrame:
    """One single-value metric by group: ``group, label, count, mean, median, std, min, max, ci_low, ci_high``
    and the drawn ``center, low, high`` (aggregate and spread, see :func:`lens_core.runs.stats.error_bounds`);
    ``label`` is ``group · N=…``, ``value_text`` the aggregate and N as written beside the bar (digits enough to
    tell the groups apart). Groups whose runs have no finite value are left out."""
    table = stats.group_table(latest_values(runs, key), groups.reset_index(drop=True), order)
    table = table[table["count"] > 0].reset_index(drop=True)
    bounds = [stats.error_bounds(row, aggregation, spread) for row in table.to_dict("records")]
    table["center"] = [b[0] for b in bounds]
    table["low"] = [b[1] for b in bounds]
    table["high"] = [b[2] for b in bounds]
    table.insert(1, "label", [f"{g} · N={n}" for g, n in zip(table["group"], table["count"], strict=True)])
    table["value_text"] = [f"{text}  N={n}" for text, n in zip(distinct_labels(table["center"]), table["count"],
                                                                 strict=True)]
    return table


# ---- one chart per metric ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartOptions:
    """How the series are drawn: against ``x`` (step, minutes since the run started, or wall time), smoothed
    by an EMA of weight ``smoothing`` (0: off), on a ``log`` scale, downsampled to ``max_points`` per series."""

    x: XAxis = "step"
    smoothing: float = 0.0
    log: bool = False
    max_points: int = 1000


@dataclass(frozen=True)
class MetricChart:
    """One metric as the page charts it: ``make(width=…, subtitle=…, hover=…, listen=…, linked=…)`` builds its
    chart (see :func:`lens_core.runs.compare_charts.line_chart`), ``points`` how many rows it draws, ``notes``
    what the subtitle says, ``export`` its data as a CSV has it, ``lacking`` the labels of the runs without it,
    ``dropped_note`` the points left out (or "")."""

    key: str
    series: bool
    make: Callable[..., alt.TopLevelMixin]
    points: int
    notes: str
    export: pd.DataFrame
    lacking: tuple[str, ...]
    dropped_note: str


def metric_chart(
    key: str, *, series: bool, history: pd.DataFrame, runs: pd.DataFrame, labels: Mapping[str, str],
    colors: Mapping[str, str], options: ChartOptions = ChartOptions(), grouping: Grouping | None = None,
) -> MetricChart:
    """One metric's chart, notes and data: a line per run for a series (``history``), a bar per run for single
    values (the ``runs`` table's latest values); with a ``grouping``, one band or one bar per group. Runs are
    the rows of ``runs``, named by ``labels`` and coloured by ``colors`` (run id → colour) when ungrouped."""
    selected = runs["run_id"].astype(str).tolist()
    order, palette = [labels[r] for r in selected], [colors[r] for r in selected]
    if series:
        data = series_data(history, runs, labels, key, x=options.x, smoothing=options.smoothing)
        shown, dropped = drawable(data, options.log, ("value", "smoothed"))
        if grouping is not None:
            band = group_band(shown, grouping, options)
            make = partial(group_line_chart, band, key, list(grouping.order), grouping.palette, x=options.x,
                           log=options.log, aggregation=grouping.aggregation, spread=grouping.spread)
            x_title = X_TITLES["relative" if options.x == "relative" else "step"]
            export, shown = band.rename(columns={"center": grouping.aggregation, "x": x_title}), band
            kind = f"{grouping.aggregation} per group" + (
                f", band {SPREAD_TITLES[grouping.spread]}" if grouping.spread != "none" else "")
        else:
            make = partial(line_chart, shown, key, order, palette, x=options.x, log=options.log,
                           smoothed=options.smoothing > 0)
            export, kind = export_frame(data, key, smoothed=options.smoothing > 0), "metric history"
    else:
        data = single_data(runs, labels, key)
        shown, dropped = drawable(data)
        if grouping is not None:
            bars = group_bar_data(runs, grouping.labels, key, grouping.order, grouping.aggregation, grouping.spread)
            make = partial(group_bar_chart, bars, key, list(grouping.order), grouping.palette, grouping.aggregation,
                           grouping.spread)
            export = bars.drop(columns="label").rename(columns={"center": grouping.aggregation, "low": "error_low",
                                                                "high": "error_high"})
            shown, kind = bars, f"{grouping.aggregation} of the latest values"
        else:
            make = partial(bar_chart, shown, key, order, palette)
            export, kind = export_frame(data, key), "latest value of each run"
    having = set(data["run_id"])
    lacking = tuple(labels[r] for r in selected if r not in having)
    notes = [kind]
    if lacking:
        notes.append(f"{len(lacking):,} of {plural(len(selected), 'run')} lack it")
    dropped_note = (f"{not_drawn_note(dropped, 'point')} (non-finite, or ≤ 0 on the log scale)"
                    if series and options.log and dropped else not_drawn_note(dropped, "non-finite point"))
    if dropped_note:
        notes.append(dropped_note)
    return MetricChart(key, series, make, len(shown), " · ".join(notes), export, lacking, dropped_note)


def group_band(shown: pd.DataFrame, grouping: Grouping, options: ChartOptions) -> pd.DataFrame:
    """A series metric's band per group (:func:`lens_core.runs.stats.series_band` over the drawable points,
    aligned by step, or by minutes for relative time; wall time falls back to steps). On a log scale a band
    reaching zero or below is cut at the line."""
    x = shown["step"] if options.x != "relative" else shown["minutes"]
    band = stats.series_band(shown.assign(x=x), grouping.of, grouping.aggregation, grouping.spread,
                             y="smoothed" if options.smoothing else "value", max_points=options.max_points)
    if options.log:
        band = band[band["center"] > 0]
        band = band.assign(low=band["low"].where(band["low"] > 0, band["center"]))
    return band


def _rows(charts: list[MetricChart], per_row: int) -> list[list[MetricChart]]:
    return [charts[i : i + per_row] for i in range(0, len(charts), per_row)]


def linked_figure(charts: Sequence[MetricChart], panel_width: int, grouped: bool, pick: bool) -> alt.VConcatChart:
    """Every drawable metric in one Vega-Lite chart fitting a panel ``panel_width`` pixels wide: two to a row
    when each keeps :data:`~lens_core.runs.compare_charts.MIN_CELL_WIDTH`, series first, then bars (a tall bar
    chart never sits beside a short line chart), an odd one out alone on its row; the charts share one hover on
    the run (on the group when ``grouped``), within the point budgets of
    :func:`~lens_core.runs.compare_charts.link_plan`, and a click selection on the run when ``pick``."""
    per_row = grid_columns(panel_width)
    half, full = cell_widths(panel_width)
    drawn = [c for c in charts if c.points]
    rows = _rows([c for c in drawn if c.series], per_row) + _rows([c for c in drawn if not c.series], per_row)
    plan = iter(link_plan([c.points for row in rows for c in row]))
    built = []
    for row in rows:
        built.append([])
        for chart in row:
            hover, listen = next(plan)
            built[-1].append(chart.make(width=half if len(row) > 1 else full, subtitle=chart.notes, hover=hover,
                                        listen=listen, linked=True))
    return chart_config(linked_grid(built, field="group" if grouped else "run_id", pick=pick))


def metric_hints(charts: Sequence[MetricChart], grouping: Grouping | None, options: ChartOptions,
                 clickable: bool) -> tuple[str, str | None]:
    """The caption under the metric charts (markdown: how to use them, what bands and error bars show, which
    charts have nothing to draw) and its help: the runs lacking each metric (None when none do)."""
    hints = [f"Hover a {'group' if grouping else 'run'} in any chart to highlight it in all of them"]
    if clickable:
        hints.append("click a run to open it")
    if grouping is not None:
        spread = SPREAD_TITLES[grouping.spread]
        hints.append(f"bands: {spread} over the runs, aligned by "
                     f"{'relative time' if options.x == 'relative' else 'step'}; error bars: "
                     f"{spread} of the latest values")
    for chart in charts:
        if not chart.points:
            hints.append(f"{md(chart.key)}: nothing to draw, no finite value"
                         + (" above zero" if chart.series and options.log else "")
                         + (f" ({chart.dropped_note})" if chart.dropped_note else ""))
    lacking = [f"{c.key}: {', '.join(c.lacking)}" for c in charts if c.lacking]
    return " · ".join(hints) + ".", ("Runs without a metric — " + "; ".join(lacking)) if lacking else None


@dataclass(frozen=True)
class MetricFigure:
    """The page's metric charts: each metric's :class:`MetricChart` (notes, export), the one linked chart of the
    drawable ones (None when nothing is drawable), and the caption under it (:func:`metric_hints`)."""

    charts: tuple[MetricChart, ...]
    figure: alt.VConcatChart | None
    hints: str
    lacking: str | None


def metric_figure(
    history: pd.DataFrame, runs: pd.DataFrame, labels: Mapping[str, str], colors: Mapping[str, str],
    keys: Sequence[str], options: ChartOptions, grouping: Grouping | None, panel_width: int,
) -> MetricFigure:
    """Every picked metric (``keys``) charted as the page shows it, for a panel ``panel_width`` pixels wide: runs
    in ``colors`` (run id → colour) when ungrouped, groups in theirs; clickable runs when ungrouped."""
    kinds = metric_kinds(history, keys)
    charts = tuple(metric_chart(k, series=kinds[k] == SERIES, history=history, runs=runs, labels=labels,
                                colors=colors, options=options, grouping=grouping) for k in keys)
    clickable = grouping is None
    figure = (linked_figure(charts, panel_width, grouped=not clickable, pick=clickable)
              if any(c.points for c in charts) else None)
    hints, lacking = metric_hints(charts, grouping, options, clickable)
    return MetricFigure(charts, figure, hints, lacking)
