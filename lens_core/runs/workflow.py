"""The Run page's logic, free of Streamlit: what a run's tree holds, where a metric stands among the experiment's
runs, how its history is drawn, how a param is distributed, and the run's status and children. Artifacts, datasets
and ratings have their own modules (:mod:`run_artifacts`, :mod:`run_datasets`, :mod:`run_ratings`).

Everything here takes plain values (a :class:`~lens_core.model.RunDetail`, the wide runs table, tag mappings)
and returns plain values, so the page only lays them out.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

import numpy as np
import pandas as pd

from lens_core.format import finite_only, from_mlflow_sentinel, labels_by_id, run_label, short_id
from lens_core.model import DatasetInput, RunDetail
from lens_core.runs.direction import Direction

# ---- tree items -------------------------------------------------------------------------------------------------
#: The kinds of item the tree offers, in the order the tree shows them.
ITEM_KINDS: tuple[str, ...] = ("param", "metric", "dataset", "artifact")
ItemKind = Literal["param", "metric", "dataset", "artifact"]


@dataclass(frozen=True, slots=True)
class Item:
    """One selectable tree item, written in the URL as ``kind:name`` (``?item=param:lr``).

    Artifacts use their path; a folder ends with ``/`` and the artifact root is the empty path
    (``artifact:``, ``artifact:plots/``, ``artifact:plots/roc.png``)."""

    kind: ItemKind
    name: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_folder(self) -> bool:
        return self.kind == "artifact" and (self.name == "" or self.name.endswith("/"))


def parse_item(text: str | None) -> Item | None:
    """``"param:lr"`` → ``Item("param", "lr")``; None for anything that is not ``<known kind>:<name>``."""
    if not text or ":" not in text:
        return None
    kind, name = text.split(":", 1)
    if kind not in ITEM_KINDS or (not name and kind != "artifact"):
        return None
    return Item(kind, name)  # type: ignore[arg-type]


def dataset_item_names(inputs: Sequence[DatasetInput]) -> list[str]:
    """A stable, readable name per dataset input: its name, with ``@context`` when a name repeats
    (``train@training``, ``train@evaluation``), and ``#n`` when even that repeats."""
    counts: dict[str, int] = {}
    for d in inputs:
        counts[d.name] = counts.get(d.name, 0) + 1
    names: list[str] = []
    for d in inputs:
        name = d.name if counts[d.name] == 1 else f"{d.name}@{d.context or 'no context'}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}#{n}", n + 1
        names.append(name)
    return names


def default_item(detail: RunDetail) -> Item:
    """What the page shows before anything is picked: the first metric, else the first param, else the
    first dataset, else the artifact root."""
    if detail.metrics:
        return Item("metric", min(detail.metrics))
    if detail.params:
        return Item("param", min(detail.params))
    if detail.inputs:
        return Item("dataset", dataset_item_names(detail.inputs)[0])
    return Item("artifact", "")


def item_exists(item: Item, detail: RunDetail) -> bool:
    """Whether the run has this param, metric or dataset (artifacts are checked when listed)."""
    if item.kind == "param":
        return item.name in detail.params
    if item.kind == "metric":
        return item.name in detail.metrics
    if item.kind == "dataset":
        return item.name in dataset_item_names(detail.inputs)
    return True


def artifact_folder(item: Item | None) -> str:
    """The folder the tree lists for a selection: the folder itself, a file's folder, else the root ("")."""
    if item is None or item.kind != "artifact":
        return ""
    if item.is_folder:
        return item.name
    parent = str(PurePosixPath(item.name).parent)
    return "" if parent in ("", ".") else f"{parent}/"


def parent_folder(folder: str) -> str:
    """``"a/b/"`` → ``"a/"``, ``"a/"`` → ``""``."""
    parent = str(PurePosixPath(folder.rstrip("/")).parent)
    return "" if parent in ("", ".") else f"{parent}/"


@dataclass(frozen=True, slots=True)
class MetricStanding:
    """Where one run's latest value of a metric stands among the experiment's runs. Statistics, ranks and the strip
    chart use finite values only; ``non_finite`` says how many runs were left out for logging ±inf (or NaN)."""

    metric: str
    value: float | None  # this run's latest value (±inf included), None when it has none
    count: int  # runs with a finite value
    missing: int  # runs of the experiment that never logged the metric
    non_finite: int = 0  # runs whose value is ±inf or NaN: left out of the statistics, ranks and chart
    minimum: float | None = None
    mean: float | None = None
    maximum: float | None = None
    lowest_run_id: str | None = None
    highest_run_id: str | None = None
    rank_lowest: int | None = None  # 1 = this run has the lowest value (ties share a rank)
    rank_highest: int | None = None  # 1 = this run has the highest value
    values: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["run_id", "run", "value"]))

    def rank(self, direction: Direction) -> int | None:
        return self.rank_lowest if direction == "min" else self.rank_highest

    def best_run_id(self, direction: Direction) -> str | None:
        return self.lowest_run_id if direction == "min" else self.highest_run_id

    def worst_run_id(self, direction: Direction) -> str | None:
        return self.highest_run_id if direction == "min" else self.lowest_run_id

    @property
    def own_is_finite(self) -> bool:
        return self.value is not None and math.isfinite(self.value)


def metric_standing(runs: pd.DataFrame, metric: str, run_id: str, value: float | None = None) -> MetricStanding:
    """Rank, min / mean / max and the extreme runs of ``metrics.<metric>`` in a wide runs table, over finite values
    (MLflow's ±1.8e308 sentinel counts as infinite).

    ``value`` is this run's own latest value (from its RunDetail); it is used when the run is not in the table
    (a deleted run), so the rank still says where it would stand. ``values`` holds ``run_id, run, value`` of the
    finite runs, ``run`` being :func:`lens_core.format.run_label`."""
    column = f"metrics.{metric}"
    own_value = None if value is None else float(from_mlflow_sentinel(float(value)))
    if column not in runs or runs.empty:
        own = None if own_value is not None and math.isnan(own_value) else own_value
        return MetricStanding(metric, own, 0, len(runs))
    raw = pd.to_numeric(runs[column], errors="coerce").astype(float).reset_index(drop=True)
    finite = finite_only(raw)
    missing = int(raw.isna().sum())  # the wide table holds NaN where a run never logged the metric
    labels = labels_by_id(runs) if "run_name" in runs else {}
    ids = runs["run_id"].astype(str).reset_index(drop=True)
    table = pd.DataFrame({"run_id": ids[finite.values.index].to_numpy(),
                          "value": finite.values.to_numpy()})
    table["run"] = table["run_id"].map(lambda r: labels.get(r) or short_id(r))
    table = table[["run_id", "run", "value"]]
    mine = raw[ids == run_id]
    own = float(from_mlflow_sentinel(float(mine.iloc[0]))) if len(mine) and pd.notna(mine.iloc[0]) else own_value
    if own is not None and math.isnan(own):
        own = None
    base = MetricStanding(metric, own, len(table), missing, finite.dropped - missing, values=table)
    if table.empty:
        return base
    values = table["value"].to_numpy()
    rank_lowest = rank_highest = None
    if own is not None and math.isfinite(own):
        rank_lowest = int((values < own).sum()) + 1
        rank_highest = int((values > own).sum()) + 1
    return MetricStanding(
        metric=metric, value=own, count=base.count, missing=base.missing, non_finite=base.non_finite,
        minimum=float(values.min()), mean=float(values.mean()), maximum=float(values.max()),
        lowest_run_id=str(table.loc[int(np.argmin(values)), "run_id"]),
        highest_run_id=str(table.loc[int(np.argmax(values)), "run_id"]),
        rank_lowest=rank_lowest, rank_highest=rank_highest, values=table,
    )


# ---- a metric's history ------------------------------------------------------------------------------------------
HistoryAxis = Literal["step", "order"]


@dataclass(frozen=True, slots=True)
class MetricHistory:
    """A run's history of one metric, ready to draw: ``points`` (``step, time, order, value``: finite values only,
    ``order`` 1, 2, … as logged), the x axis to draw them on, and how many points were left out as ±inf / NaN.

    ``axis`` is "step", or "order" when every point has the same step (``log_metric`` without ``step=`` logs at
    step 0): a time axis over points milliseconds apart is unreadable, the order they were logged in is not."""

    metric: str
    points: pd.DataFrame
    axis: HistoryAxis
    non_finite: int
    step: int | None = None  # the one step every point has, when ``axis`` is "order"

    @property
    def single(self) -> bool:
        """One finite point: a value and when it was logged, nothing to draw a line through."""
        return len(self.points) == 1


def metric_history(history: pd.DataFrame, metric: str) -> MetricHistory:
    """``step, timestamp, value`` rows (timestamp in epoch ms, as trackers return them) as a :class:`MetricHistory`."""
    ordered = history.sort_values(["step", "timestamp"], kind="stable").reset_index(drop=True) \
        if history["step"].nunique() > 1 else history.sort_values("timestamp", kind="stable").reset_index(drop=True)
    finite = finite_only(pd.to_numeric(ordered["value"], errors="coerce"))
    kept = ordered.loc[finite.values.index]
    points = pd.DataFrame({
        "step": kept["step"].astype("int64").to_numpy(),
        "time": pd.to_datetime(kept["timestamp"], unit="ms", utc=True).to_numpy(),
        "order": np.arange(1, len(kept) + 1),
        "value": finite.values.to_numpy(),
    })
    one_step = len(points) > 1 and points["step"].nunique() == 1
    return MetricHistory(metric, points, "order" if one_step else "step", finite.dropped,
                         int(points["step"].iloc[0]) if one_step else None)


# ---- params -------------------------------------------------------------------------------------------------
#: A numeric param with more distinct values than this is drawn as a histogram, otherwise as counts per value
#: (unless most of its values are unique: a bar of height 1 per run says nothing).
HISTOGRAM_MIN_DISTINCT = 12
#: At most this many bars in a categorical distribution; the rarest values are grouped.
MAX_CATEGORIES = 30


@dataclass(frozen=True, slots=True)
class ParamDistribution:
    """How a param is distributed over an experiment's runs.

    ``kind`` is "histogram" (``table``: ``bin_start, bin_end, count, this``) or "counts" (``table``:
    ``value, count, this``, in the order to draw them; a last row ``label`` "… n other values" groups rare ones).
    ``this`` marks the bar holding this run's value."""

    param: str
    value: str
    kind: Literal["histogram", "counts"]
    table: pd.DataFrame
    numeric: bool
    total: int  # runs in the experiment
    missing: int  # runs that never set the param
    same_value_run_ids: list[str]
    log_scale: bool = False
    unset_values: int = 0  # runs whose value reads "None", "null", "NaN" or "": left out of a histogram


#: Strings MLflow users log for "no value" (``mlflow.log_param("x", None)`` stores "None").
_NULL_LIKE = {"none", "null", "nan", ""}


def _as_numbers(values: pd.Series) -> pd.Series | None:
    numbers = pd.to_numeric(values, errors="coerce")
    if len(values) == 0 or numbers.isna().any() or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        return None
    return numbers.astype(float)


def param_distribution(runs: pd.DataFrame, param: str, value: str) -> ParamDistribution:
    column = f"params.{param}"
    total = len(runs)
    if column not in runs or runs.empty:
        empty = pd.DataFrame({"value": pd.Series(dtype=str), "count": pd.Series(dtype=int),
                              "this": pd.Series(dtype=bool)})
        return ParamDistribution(param, value, "counts", empty, False, total, total, [])
    strings = runs[column]
    present = strings.notna()
    values = strings[present].astype(str)
    same = runs.loc[present & (strings.astype(str) == value), "run_id"].astype(str).tolist()
    unset = values.str.strip().str.lower().isin(_NULL_LIKE)
    numbers = _as_numbers(values[~unset]) if (~unset).any() else None
    numeric = numbers is not None
    missing = total - len(values)
    distinct = values[~unset].nunique()
    mostly_unique = distinct > 6 and distinct > len(values) / 2
    if numeric and (distinct > HISTOGRAM_MIN_DISTINCT or mostly_unique):
        own = float(value) if _as_numbers(pd.Series([value])) is not None else None
        bins = int(min(20, max(5, round(2 * math.sqrt(len(numbers))))))
        table, log_scale = _histogram(numbers.to_numpy(), own, bins)
        return ParamDistribution(param, value, "histogram", table, True, total, missing, same, log_scale,
                                 int(unset.sum()))
    counts = values.value_counts(sort=False).rename_axis("value").reset_index(name="count")
    counts["value"] = counts["value"].astype(str)
    if numeric:  # numbers in order, "None" and the like last
        keys = pd.to_numeric(counts["value"], errors="coerce").astype(float)
        counts = counts.assign(_key=keys).sort_values(["_key", "value"], na_position="last").drop(columns="_key")
    else:
        counts = counts.sort_values(["count", "value"], ascending=[False, True], kind="stable")
    counts = counts.reset_index(drop=True)
    if len(counts) > MAX_CATEGORIES:
        own = counts.index[counts["value"] == value]
        keep = counts.nlargest(MAX_CATEGORIES - 1, "count", keep="first").index.union(own)
        rest = counts.drop(index=keep)
        counts = counts.loc[sorted(keep)]
        other = pd.DataFrame({"value": [f"… {len(rest)} other values"], "count": [int(rest["count"].sum())]})
        counts = pd.concat([counts, other], ignore_index=True)
    counts["count"] = counts["count"].astype(int)
    counts["this"] = counts["value"] == value
    return ParamDistribution(param, value, "counts", counts.reset_index(drop=True), numeric, total, missing, same)


def _histogram(numbers: np.ndarray, own: float | None, bins: int = 20) -> tuple[pd.DataFrame, bool]:
    lo, hi = float(numbers.min()), float(numbers.max())
    log_scale = lo > 0 and hi / lo >= 1000  # learning rates, regularisation strengths
    if log_scale:
        edges = np.logspace(np.log10(lo), np.log10(hi), bins + 1)
        edges[0], edges[-1] = lo, hi
    else:
        edges = np.histogram_bin_edges(numbers, bins=bins)
    counts, edges = np.histogram(numbers, bins=edges)
    this = np.zeros(len(counts), dtype=bool)
    if own is not None and edges[0] <= own <= edges[-1]:
        index = min(int(np.searchsorted(edges, own, side="right")) - 1, len(counts) - 1)
        this[max(index, 0)] = True
    table = pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "count": counts.astype(int), "this": this})
    return table, log_scale


# ---- run header ---------------------------------------------------------------------------------------------
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "FINISHED": ("green", ":material/check_circle:"),
    "RUNNING": ("blue", ":material/autorenew:"),
    "SCHEDULED": ("violet", ":material/schedule:"),
    "FAILED": ("red", ":material/error:"),
    "KILLED": ("orange", ":material/cancel:"),
}


def status_style(status: str) -> tuple[str, str]:
    """Badge colour and icon of a run status."""
    return STATUS_STYLE.get(str(status).upper(), ("gray", ":material/help:"))


def run_duration(start: pd.Timestamp | None, end: pd.Timestamp | None, now: pd.Timestamp | None = None) -> float | None:
    """Seconds from start to end, or to ``now`` while the run has no end; None without a start."""
    if start is None or pd.isna(start):
        return None
    stop = end if end is not None and not pd.isna(end) else now
    if stop is None:
        return None
    return (pd.Timestamp(stop) - pd.Timestamp(start)).total_seconds()



#: Node fill of a run status in the child-run DAG.
DAG_FILL = {"FINISHED": "#d3f9d8", "FAILED": "#ffe3e3", "KILLED": "#e9ecef", "RUNNING": "#dbe4ff",
            "SCHEDULED": "#fff3bf"}


def children_dot(parent: tuple[str, str, str], children: Sequence[tuple[str, str, str]], *, limit: int = 60) -> str:
    """Graphviz DOT of a run and its nested runs, ``(run_id, name, status)`` each: the parent fans out to its
    children as tasks, each node filled by status. Names are escaped; beyond ``limit`` children one "… n more"
    node stands for the rest."""

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'

    def node(run_id: str, name: str, status: str, shape: str) -> str:
        fill = DAG_FILL.get(status.upper(), "#f1f3f5")
        label = quoted(run_label(name, run_id))
        return (f"  {quoted(run_id)} [label={label}, shape={shape}, style=\"rounded,filled\", "
                f"fillcolor=\"{fill}\", tooltip={quoted(f'{name} · {status.lower()}')}];")

    lines = ["digraph runs {", "  rankdir=LR; bgcolor=transparent;",
             '  node [fontname="Helvetica", fontsize=11, color="#adb5bd"]; edge [color="#868e96"];',
             node(*parent, shape="box")]
    for run_id, name, status in children[:limit]:
        lines.append(node(run_id, name, status, shape="box"))
        lines.append(f"  {quoted(parent[0])} -> {quoted(run_id)};")
    if len(children) > limit:
        lines.append(f'  more [label="… {len(children) - limit} more", shape=plaintext];')
        lines.append(f"  {quoted(parent[0])} -> more;")
    lines.append("}")
    return "\n".join(lines)
