"""Parallel coordinates, the axes: which columns make good axes, each axis' scale (numeric, log or categorical,
with a slot for missing values), and :func:`prepare`, the folded lines a chart draws (sampled above
``max_lines`` runs). See :mod:`lens_core.runs.parcoords` for the whole picture."""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lens_core.format import MLFLOW_INF, format_number, not_drawn_note

MISSING_Y = -0.12  #: normalised position of the "missing" slot below every axis
MISSING_LABEL = "missing"
LOG_SPAN = 1e3  #: numeric axes of positive values with max/min above this use a log scale
MAX_LEVELS = 12  #: numeric axes with at most this many distinct values label each value
MAX_DEFAULT_CATEGORIES = 30  #: categorical params with more distinct values are not default axes
_PREFIXES = ("params.", "metrics.", "tags.")
_ID_LIKE = re.compile(r"(seed|random_state|uuid|(^|[._])id|path|dir|file)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Axis:
    """One vertical axis.

    ``label``, the title drawn on top, is unique among the chart's axes (the column without its ``params.`` /
    ``metrics.`` prefix unless that collides). Numeric axes have ``low``/``high`` (the finite extremes; NaN
    when there are none), ``log`` and, when they have at most ``MAX_LEVELS`` distinct values, those values in
    ``levels``; categorical axes list ``categories`` bottom to top. ``has_missing``: some run sits on the
    missing slot; ``non_finite``: how many of those hold ±inf (or MLflow's ±1.8e308 sentinel) rather than
    nothing — they are not drawn on the axis (which spans the finite values only) but on the missing slot.
    """

    column: str
    label: str
    kind: Literal["numeric", "categorical"]
    categories: tuple[str, ...] = ()
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    levels: tuple[float, ...] = ()
    has_missing: bool = False
    non_finite: int = 0

    def position(self, values: pd.Series) -> np.ndarray:
        """Normalised y (0..1, or ``MISSING_Y``) of each value of this axis' column."""
        if self.kind == "categorical":
            index = {c: i for i, c in enumerate(self.categories)}
            codes = _as_text(values).map(index).to_numpy(dtype=float, na_value=np.nan)
            y = codes / (len(self.categories) - 1) if len(self.categories) > 1 else codes * 0 + 0.5
        else:
            y = self._scale(_as_number(values).to_numpy(dtype=float, na_value=np.nan))
        return np.where(np.isnan(y), MISSING_Y, y)

    def value_at(self, y: float) -> float:
        """Inverse of :meth:`position` for a numeric axis and ``0 <= y <= 1``."""
        if not self.high > self.low:
            return self.low
        if y <= 0:
            return self.low
        if y >= 1:
            return self.high
        if self.log:
            return float(10 ** (math.log10(self.low) + y * (math.log10(self.high) - math.log10(self.low))))
        return self.low + y * (self.high - self.low)

    def _scale(self, v: np.ndarray) -> np.ndarray:
        v = np.where(_finite(v), v, np.nan)
        if not self.high > self.low:
            return np.where(np.isnan(v), np.nan, 0.5)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, hi = math.log10(self.low), math.log10(self.high)
                return np.clip((np.log10(v) - lo) / (hi - lo), 0.0, 1.0)
        return np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class ParcoordsData:
    """What :func:`chart` draws.

    ``lines``: one row per drawn run and axis; runs in drawing order (worst colour first, best last, then the
    highlighted runs), axes in chart order within a run. Columns: ``run_id`` (str), ``run_name`` (str, the run
    id when unnamed), ``axis`` (str, the axis label), ``x`` (float, the axis position 0, 1, …), ``y`` (float,
    0..1 or ``MISSING_Y``), ``value`` (str, the real value, shown in tooltips), ``color`` (float, the colour
    metric; NaN when the run lacks it or there is no colour metric), ``highlight`` (bool).
    ``color``: the colour metric column (None when not given or not in the table), on a log colour scale when
    ``color_log`` (same rule as a log axis); ``shown`` runs drawn of
    ``total``; ``sampled`` when ``shown < total``; ``highlighted``: highlighted runs among all ``total``;
    ``fingerprint``: changes whenever what the chart draws changes (see :func:`brush_seed`).
    """

    lines: pd.DataFrame
    axes: tuple[Axis, ...]
    color: str | None
    color_label: str | None
    color_log: bool
    higher_is_better: bool
    shown: int
    total: int
    sampled: bool
    highlighted: int
    fingerprint: str

    @property
    def non_finite(self) -> int:
        """Non-finite values (±inf) among the axes' values: drawn on the missing slot, not on the axes."""
        return sum(axis.non_finite for axis in self.axes)

    @property
    def note(self) -> str | None:
        """A caption for a sampled chart, e.g. "Showing 2,000 of 9,800 runs (sample incl. selected and best)",
        and for non-finite values ("2 non-finite values (±∞) not drawn on their axes: they sit on the missing
        slot")."""
        parts = []
        if self.sampled:
            keeps = (["selected"] if self.highlighted else []) + (["best"] if self.color else [])
            incl = f" incl. {' and '.join(keeps)}" if keeps else ""
            parts.append(f"Showing {self.shown:,} of {self.total:,} runs (sample{incl}); a brush filters all runs.")
        if self.non_finite:
            axes = [a.label for a in self.axes if a.non_finite]
            parts.append(f"{not_drawn_note(self.non_finite)} on {'its axis' if len(axes) == 1 else 'the axes'} "
                         f"({', '.join(axes)}): ±∞ sits on the missing slot.")
        return " ".join(parts) or None

def short_name(column: str) -> str:
    """``params.lr`` → ``lr``."""
    for prefix in _PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix):]
    return column


def default_axes(runs: pd.DataFrame, max_axes: int = 8) -> list[str]:
    """The params worth an axis, most varying first, at most ``max_axes``.

    A param varies when it takes at least two states among its values and "missing". Variation is the Shannon
    entropy of those states (so a param set differently on every run comes before a 3-way choice, and an even
    split before a lopsided one); ties go by name. Left out: constant params, categorical params with more
    than ``MAX_DEFAULT_CATEGORIES`` values, and categorical params unique per run (ids, paths). Params named
    like seeds, ids, paths or file names come after all others.
    """
    scored: list[tuple[bool, float, str]] = []
    for column in (c for c in runs.columns if c.startswith("params.")):
        values = runs[column]
        counts = values.value_counts(dropna=False)  # a column holds one type: no need to compare as text
        if len(counts) < 2:
            continue
        if not _is_numeric(values):
            n_cat = int(values.notna().any() and values.dropna().nunique())
            if n_cat > MAX_DEFAULT_CATEGORIES or (n_cat >= 5 and n_cat == values.notna().sum()):
                continue
        p = counts.to_numpy(dtype=float) / counts.sum()
        entropy = float(-(p * np.log2(p)).sum())
        scored.append((bool(_ID_LIKE.search(short_name(column))), -entropy, column))
    return [c for *_, c in sorted(scored)[:max_axes]]


def build_axes(runs: pd.DataFrame, columns: Sequence[str]) -> list[Axis]:
    """One :class:`Axis` per column (params, metrics or any other column of ``runs``), in order."""
    shorts = [short_name(c) for c in columns]
    axes = []
    for column, short in zip(columns, shorts, strict=True):
        label = short if shorts.count(short) == 1 else column
        values = runs[column] if column in runs else pd.Series(np.nan, index=runs.index, dtype=float)
        if _is_numeric(values):
            v = _as_number(values).to_numpy(dtype=float, na_value=np.nan)
            finite = v[_finite(v)]
            low, high = (float(finite.min()), float(finite.max())) if len(finite) else (math.nan, math.nan)
            distinct = np.unique(finite)
            axes.append(Axis(
                column, label, "numeric", low=low, high=high, log=_wants_log(finite),
                levels=tuple(float(x) for x in distinct) if len(distinct) <= MAX_LEVELS else (),
                has_missing=bool(len(finite) < len(v)), non_finite=int((~np.isnan(v) & ~_finite(v)).sum()),
            ))
        else:
            text = _as_text(values)
            axes.append(Axis(
                column, label, "categorical", categories=tuple(sorted(text.dropna().unique(), key=_natural)),
                has_missing=bool(text.isna().any()),
            ))
    return axes


def prepare(
    runs: pd.DataFrame,
    axis_columns: Sequence[str],
    color_metric: str | None,
    *,
    highlight_ids: Collection[str] = (),
    max_lines: int = 2000,
    higher_is_better: bool = True,
) -> ParcoordsData:
    """Normalise, sample and fold ``runs`` for :func:`chart`.

    ``axis_columns``: in chart order (typically :func:`default_axes` plus a metric last). ``color_metric``:
    column colouring the lines (None: one colour). ``highlight_ids``: run ids drawn on top and opaque, the
    others faded (e.g. the runs selected or filtered in the table). Above ``max_lines`` runs a stable sample
    is drawn that always contains the highlighted runs (up to ``max_lines``) and the best ``max_lines // 20``
    runs by the colour metric (direction: ``higher_is_better``; pages take it from
    :mod:`lens_core.runs.direction`, the one rule every page uses). Axes are built from all runs, so the scales
    and the brush do not depend on the sample.
    """
    axes = tuple(build_axes(runs, axis_columns))
    total = len(runs)
    colored = bool(color_metric) and color_metric in runs
    run_ids = runs["run_id"].astype(str) if "run_id" in runs else pd.Series(runs.index.astype(str), index=runs.index)
    highlight = run_ids.isin(set(map(str, highlight_ids))).to_numpy()
    if colored:
        color = _as_number(runs[color_metric]).to_numpy(dtype=float, na_value=np.nan)
        color = np.where(_finite(color), color, np.nan)
    else:
        color = np.full(total, np.nan)
    rank = _rank_best(color, higher_is_better)  # 0 = best; NaN colour last
    picked = _sample(run_ids, highlight, rank, int(_finite(color).sum()), max_lines)
    # drawing order: plain runs, then best-coloured on top, then highlighted on top of all
    order = picked[np.lexsort((-rank[picked], highlight[picked]))]
    if "run_name" in runs:
        names = runs["run_name"].astype(object).where(runs["run_name"].notna(), run_ids).astype(str).to_numpy()
    else:
        names = run_ids.to_numpy(dtype=object)
    frames = []
    for i, axis in enumerate(axes):
        column = runs[axis.column] if axis.column in runs else pd.Series(np.nan, index=runs.index, dtype=float)
        sub = column.iloc[order]
        frames.append(pd.DataFrame({
            "run_id": run_ids.to_numpy(dtype=object)[order],
            "run_name": names[order],
            "axis": axis.label,
            "x": float(i),
            "y": axis.position(sub),
            "value": _display(axis, sub),
            "color": color[order],
            "highlight": highlight[order],
            "_run": np.arange(len(order)),
        }))
    if frames:
        lines = pd.concat(frames, ignore_index=True).sort_values("_run", kind="stable").drop(columns="_run")
        lines = lines.reset_index(drop=True)
    else:
        lines = pd.DataFrame({"run_id": [], "run_name": [], "axis": [], "x": [], "y": [], "value": [], "color": [],
                              "highlight": []}).astype({"x": float, "y": float, "color": float, "highlight": bool})
    for name in ("run_id", "run_name", "axis", "value"):
        lines[name] = lines[name].astype("str")
    digest = hashlib.blake2b(repr((axes, color_metric, higher_is_better)).encode(), digest_size=16)
    digest.update(pd.util.hash_pandas_object(lines, index=False).to_numpy().tobytes())
    return ParcoordsData(
        lines=lines,
        axes=axes,
        color=color_metric if colored else None,
        color_label=_color_label(color_metric, axes) if colored else None,
        color_log=_wants_log(color[_finite(color)]),
        higher_is_better=higher_is_better,
        shown=len(order),
        total=total,
        sampled=len(order) < total,
        highlighted=int(highlight.sum()),
        fingerprint=digest.hexdigest(),
    )


# -- helpers ---------------------------------------------------------------------------------------------------

def _finite(values: np.ndarray) -> np.ndarray:
    """Finite and not MLflow's ±1.8e308 infinity sentinel (an axis spanning to 1.8e308 shows nothing)."""
    return np.isfinite(values) & (np.abs(values) < MLFLOW_INF)


def _wants_log(finite: np.ndarray) -> bool:
    """Positive values spanning more than ``LOG_SPAN`` whose median sits in the bottom tenth of the range."""
    if not len(finite):
        return False
    low, high = float(finite.min()), float(finite.max())
    return low > 0 and high / low > LOG_SPAN and float(np.median(finite)) - low < 0.1 * (high - low)


def _is_numeric(values: pd.Series) -> bool:
    """Numeric dtype (not bool), or text whose non-missing values all parse as numbers."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    present = values.dropna()
    return bool(len(present)) and bool(pd.to_numeric(present.astype(str), errors="coerce").notna().all())


def _as_number(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    return pd.to_numeric(values.astype(object).where(values.notna()).map(str, na_action="ignore"),
                         errors="coerce").astype(float)


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        return values
    return values.astype(object).where(values.notna()).map(str, na_action="ignore").astype("str")


def _natural(text: str) -> tuple[int, float, str]:
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text.casefold())
    return (0, number, text) if math.isfinite(number) else (1, 0.0, text.casefold())


def _display(axis: Axis, values: pd.Series) -> np.ndarray:
    """Tooltip values: the text a param was logged as; numbers exactly (``format_number``: "97,531", "∞")."""
    if axis.kind == "categorical" or not pd.api.types.is_numeric_dtype(values):
        return _as_text(values).fillna(MISSING_LABEL).to_numpy(dtype=object)
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    return np.array([format_number(v) if not math.isnan(v) else MISSING_LABEL for v in numbers], dtype=object)


def _color_label(color_metric: str, axes: Sequence[Axis]) -> str:
    return next((a.label for a in axes if a.column == color_metric), short_name(color_metric))


def _rank_best(color: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """0 for the best run by colour, increasing; runs without a colour after all others."""
    key = np.where(np.isnan(color), np.inf, -color if higher_is_better else color)
    rank = np.empty(len(color), dtype=float)
    rank[np.argsort(key, kind="stable")] = np.arange(len(color))
    return rank


def _sample(run_ids: pd.Series, highlight: np.ndarray, rank: np.ndarray, n_colored: int, max_lines: int) -> np.ndarray:
    """Positions of the runs to draw: all when they fit; else the highlighted runs, the best by colour, then
    the rest in an order fixed by a hash of the run id (the same sample on every rerun)."""
    n = len(run_ids)
    if n <= max_lines:
        return np.arange(n)
    stable = np.argsort(pd.util.hash_array(run_ids.to_numpy(dtype=object)), kind="stable")
    best = np.argsort(rank, kind="stable")[: min(max(max_lines // 20, 1), n_colored)]
    candidates = np.concatenate([stable[highlight[stable]], best, stable])
    _, first = np.unique(candidates, return_index=True)
    return np.sort(candidates[np.sort(first)][:max_lines])
