"""Comparing runs, free of Streamlit: which runs (from a link), their labels, the params that differ, groups of
runs and the tables the comparison page shows (runs, groups, statistics per group, two groups, params diff).

Everything takes the wide runs table (rows of the selected runs, see :mod:`lens_core.trackers.runs_table`) and
returns plain DataFrames, or pandas Stylers of display text for the page's tables. The metric charts are built by
:mod:`lens_core.runs.compare_metrics` (data) and :mod:`lens_core.runs.compare_charts` (Altair specifications).

Terms used throughout:

- a run's **label** is :func:`lens_core.format.labels_by_id`'s: its run name, else its short id, made unique
  within the selection (``name · 1a2b3c``) so it can head a column and name a colour in a chart legend;
- a **group** is the runs sharing the values of the params grouped by (:class:`Grouping`), named by those values.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lens_core.errors import ExperimentNotFoundError, RunNotFoundError
from lens_core.format import MISSING, distinct_labels, format_number
from lens_core.runs import stats
from lens_core.runs.colors import group_colors
from lens_core.trackers.runs_table import columns_of

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

    from lens_core.trackers.base import Tracker

#: A run's status as table text is coloured: red when it ended badly, blue while running.
STATUS_STYLE = {"failed": "color: #c92a2a", "killed": "color: #c92a2a", "running": "color: #1c7ed6"}
#: The coloured dot heading a table row with the colour of its run or group in the charts.
DOT = "⬤"


def md(text: str) -> str:
    """Text shown literally inside Streamlit markdown (run names may hold `*`, `_`, `[`, `:`…)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~:$])", r"\\\1", text)


def table_height(rows: int, cap: int) -> int:
    """Pixels for a table of this many rows (header included), at most ``cap``: short tables without a scrollbar."""
    return min(38 + 35 * rows, cap)


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



def param_text(runs: pd.DataFrame, column: str) -> np.ndarray:
    """A ``params.*`` column as table text, :data:`MISSING` where a run never logged it."""
    return runs[column].astype("object").where(runs[column].notna(), MISSING).astype("str").to_numpy()


def styled_params_diff(diff: pd.DataFrame, differing: Sequence[str], highlight: bool) -> Styler:
    """:func:`params_diff` for display: :data:`MISSING` greyed, and (``highlight``, when every param is shown)
    the rows of the ``differing`` params (``params.*`` names) on a pale yellow."""
    differs = {c.removeprefix("params.") for c in differing}
    return diff.style.apply(
        lambda row: ["background-color: #fff4d6" if row.name in differs and highlight else ""] * len(row), axis=1
    ).map(lambda v: "color: #9aa1ad" if v == MISSING else "")


# ---- groups ------------------------------------------------------------------------------------------------------
def latest_values(runs: pd.DataFrame, key: str) -> np.ndarray:
    """A metric's latest value in each run (the runs table's ``metrics.<key>``; NaN where a run lacks it)."""
    column = f"metrics.{key}"
    return (runs[column] if column in runs else pd.Series(np.nan, index=runs.index)).to_numpy(dtype="float64")


@dataclass(frozen=True, eq=False)
class Grouping:
    """The selected runs grouped by the values of ``params`` (``params.*`` columns): ``labels`` the group of
    each of ``run_ids`` (a Series aligned with them, indexed from 0), ``order`` the groups in display order,
    ``colors`` group → colour, and how the charts aggregate a group (``aggregation``) and draw its
    ``spread``."""

    params: tuple[str, ...]
    run_ids: tuple[str, ...]
    labels: pd.Series
    order: tuple[str, ...]
    colors: Mapping[str, str]
    aggregation: stats.Aggregation = "mean"
    spread: stats.Spread = "std"

    @property
    def of(self) -> dict[str, str]:
        """Run id → its group."""
        return dict(zip(self.run_ids, self.labels))

    @property
    def palette(self) -> list[str]:
        """The groups' colours, in :attr:`order`."""
        return [self.colors[g] for g in self.order]

    def sizes(self) -> dict[str, int]:
        """Runs per group, in :attr:`order`."""
        counts = self.labels.value_counts()
        return {g: int(counts.get(g, 0)) for g in self.order}


def group_runs(runs: pd.DataFrame, params: Sequence[str], aggregation: stats.Aggregation = "mean",
               spread: stats.Spread = "std") -> Grouping:
    """The runs (rows of the runs table) grouped by ``params``: groups named and ordered as
    :func:`lens_core.runs.stats.group_labels` and :func:`~lens_core.runs.stats.group_order` do, coloured by
    :func:`lens_core.runs.colors.group_colors`."""
    labels = stats.group_labels(runs.reset_index(drop=True), list(params))
    order = tuple(stats.group_order(labels))
    return Grouping(tuple(params), tuple(runs["run_id"].astype(str)), labels, order, group_colors(order),
                    aggregation, spread)


def group_stats(runs: pd.DataFrame, groups: pd.Series, order: Sequence[str], keys: Sequence[str]) -> pd.DataFrame:
    """Per metric and group, the statistics of the runs' latest values: ``metric, group, count, mean, median,
    std, min, max, ci_low, ci_high`` (``count`` = runs with a finite value)."""
    frames = []
    for key in keys:
        table = stats.group_table(latest_values(runs, key), groups.reset_index(drop=True), order)
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
    labels = groups.reset_index(drop=True).to_numpy()
    rows = []
    for key in keys:
        values = latest_values(runs, key)
        w = stats.welch(values[labels == a], values[labels == b])
        rows.append({"metric": key, "n_a": w.n_a, "mean_a": w.mean_a, "n_b": w.n_b, "mean_b": w.mean_b,
                     "diff": w.diff, "ci_low": w.ci_low, "ci_high": w.ci_high, "df": w.df, "t": w.t, "p": w.p})
    columns = ["metric", "n_a", "mean_a", "n_b", "mean_b", "diff", "ci_low", "ci_high", "df", "t", "p"]
    return pd.DataFrame(rows, columns=columns)


# ---- the page's tables -------------------------------------------------------------------------------------------
def _dotted(table: pd.DataFrame, colors: Sequence[str], **column_styles: Sequence[str]) -> Styler:
    """``table`` with its :data:`DOT` column painted in ``colors`` (one per row) and other columns styled by
    ``column_styles`` (CSS per row)."""
    css = pd.DataFrame("", index=table.index, columns=table.columns)
    css["color"] = [f"color: {c}" for c in colors]
    for column, styles in column_styles.items():
        css[column] = list(styles)
    return table.style.apply(lambda _: css, axis=None)


def runs_table(
    runs: pd.DataFrame, labels: Mapping[str, str], colors: Mapping[str, str], differing: Sequence[str],
    grouping: Grouping | None = None, experiments: Mapping[str, str] | None = None,
) -> Styler:
    """The selected runs as the page lists them: ``color`` (a dot in the run's colour), ``run`` (its label),
    ``status`` (lower case, coloured by :data:`STATUS_STYLE`), ``group`` when grouped, ``experiment`` (its
    name, from ``experiments``: id → name, when given) and the ``differing`` params as text."""
    ids = runs["run_id"].astype(str).tolist()
    table = pd.DataFrame({"color": DOT, "run": [labels[r] for r in ids],
                          "status": runs["status"].astype("str").str.lower().to_numpy()})
    if grouping is not None:
        table.insert(2, "group", [grouping.of[r] for r in ids])
    if experiments is not None:
        table["experiment"] = [experiments[e] for e in runs["experiment_id"].astype(str)]
    for column in differing:
        table[column] = param_text(runs, column)
    return _dotted(table, [colors[r] for r in ids], status=table["status"].map(STATUS_STYLE).fillna("").tolist())


def groups_table(runs: pd.DataFrame, grouping: Grouping) -> Styler:
    """The groups: ``color`` (a dot in the group's colour), ``group``, ``runs`` (how many), and, grouped by
    several params, each param's value (a column per param, named without ``params.``)."""
    sizes = grouping.sizes()
    table = pd.DataFrame({"color": DOT, "group": list(grouping.order), "runs": [sizes[g] for g in grouping.order]})
    members = grouping.labels.to_numpy()
    if len(grouping.params) > 1:  # the values each group stands for, one column per param
        for column in grouping.params:
            text = param_text(runs, column)
            table[column.removeprefix("params.")] = [text[members == g][0] for g in grouping.order]
    return _dotted(table, grouping.palette)


def _interval(lows: Iterable[float], highs: Iterable[float]) -> list[str]:
    return [f"[{format_number(lo)}, {format_number(hi)}]" if np.isfinite(lo) else MISSING
            for lo, hi in zip(lows, highs, strict=True)]


def _readable(values: pd.Series, metrics: pd.Series) -> list[str]:
    """Statistics as text with the digits shared within each metric's rows, so that groups whose values differ
    only in the 5th digit do not read the same (:func:`lens_core.format.distinct_labels`)."""
    text = pd.Series(MISSING, index=values.index, dtype="object")
    for rows in values.groupby(metrics.to_numpy(), sort=False).groups.values():
        text[rows] = distinct_labels(values[rows].tolist())
    return text.tolist()


def non_finite_latest(runs: pd.DataFrame, keys: Sequence[str]) -> dict[str, int]:
    """Per metric, the runs whose latest value is ±inf (MLflow's sentinel reads as ±inf): left out of the
    statistics, which say so. Metrics without any are not listed."""
    counts = {key: int(np.isinf(latest_values(runs, key)).sum()) for key in keys}
    return {key: n for key, n in counts.items() if n}


def group_stats_table(runs: pd.DataFrame, grouping: Grouping, keys: Sequence[str]) -> Styler:
    """:func:`group_stats` as text (:func:`lens_core.format.distinct_labels` within a metric), one row per metric
    and group that has a finite value of it: ``color, metric, group, count, mean, std, min, max, ci`` (the 95 %
    CI as ``[low, high]``)."""
    table = group_stats(runs, grouping.labels, grouping.order, keys)
    table = table[table["count"] > 0].reset_index(drop=True)  # a group without the metric: no row
    shown = table.assign(color=DOT, ci=_interval(table["ci_low"], table["ci_high"]),
                         **{c: _readable(table[c], table["metric"]) for c in ("mean", "std", "min", "max")})
    shown = shown[["color", "metric", "group", "count", "mean", "std", "min", "max", "ci"]]
    return _dotted(shown, [grouping.colors[g] for g in shown["group"]])


def two_groups_table(runs: pd.DataFrame, grouping: Grouping, a: str, b: str, keys: Sequence[str]) -> Styler:
    """:func:`two_groups` as text: ``metric``, ``A`` and ``B`` (``mean (N=…)``, digits enough to tell A from B),
    ``diff``, ``ci``, and ``p`` (3 significant digits, bold below 0.05)."""
    test = two_groups(runs, grouping.labels, a, b, keys)

    def mean_n(means: list[str], sizes: pd.Series) -> list[str]:
        return [f"{m} (N={n})" if n else f"{MISSING} (N=0)" for m, n in zip(means, sizes, strict=True)]

    pairs = [distinct_labels([ma, mb]) for ma, mb in zip(test["mean_a"], test["mean_b"], strict=True)]
    shown = pd.DataFrame({"metric": test["metric"], "A": mean_n([p[0] for p in pairs], test["n_a"]),
                          "B": mean_n([p[1] for p in pairs], test["n_b"]), "diff": test["diff"].map(format_number),
                          "ci": _interval(test["ci_low"], test["ci_high"]),
                          "p": test["p"].map(lambda p: format_number(p, digits=3))})
    css = pd.DataFrame("", index=shown.index, columns=shown.columns)
    css["p"] = np.where(test["p"].fillna(1) < 0.05, "font-weight: 600", "")
    return shown.style.apply(lambda _: css, axis=None)


def small_groups(grouping: Grouping, groups: Sequence[str]) -> dict[str, int]:
    """Those of ``groups`` with fewer than :data:`lens_core.runs.stats.MIN_GROUP_RUNS` runs (too few for a
    reliable interval or p-value), with their sizes."""
    sizes = grouping.sizes()
    return {g: sizes[g] for g in groups if sizes[g] < stats.MIN_GROUP_RUNS}
