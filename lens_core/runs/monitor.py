"""The monitoring view's logic: typed params, constant columns, metric summary rules, filters, display labels.

Everything here works on the wide runs table (:mod:`lens_core.trackers.runs_table`) and returns new frames; the
page only wires widgets to these functions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from lens_core.format import INFINITY, NEGATIVE_INFINITY, format_duration, format_number, labels_by_id
from lens_core.trackers.runs_table import columns_of

SummaryRule = Literal["last", "min", "max"]
SUMMARY_RULES: tuple[SummaryRule, ...] = ("last", "min", "max")
#: A column with at most this many distinct values is filtered by picking values; above, by text or range.
MAX_CATEGORIES = 40

STATUS_LABELS = {
    "FINISHED": "🟢 Finished",
    "RUNNING": "🔵 Running",
    "SCHEDULED": "🕒 Scheduled",
    "FAILED": "🔴 Failed",
    "KILLED": "⚫ Killed",
}
RATING_TAG = "tags.lens.rating"
#: Integers from here up are not exact as float64: a param holding one stays text, as logged.
EXACT_INTEGER_LIMIT = 2**53


def numeric_columns(frame: pd.DataFrame, columns: Iterable[str]) -> dict[str, pd.Series]:
    """Typed twins of string columns whose every present value parses as a number (params are strings) that a
    float64 holds exactly — a seed or id beyond 2**53 would read as a neighbour, so such a column stays text."""
    out = {}
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            continue
        present = values.notna()
        if not present.any():
            continue
        parsed = pd.to_numeric(values.where(present), errors="coerce").astype("float64")
        if parsed[present].notna().all() and not (parsed.abs() >= EXACT_INTEGER_LIMIT).any():
            out[column] = parsed
    return out


def with_typed_params(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs table with numeric params as float columns, so they sort, filter and format as numbers."""
    typed = numeric_columns(runs, columns_of(runs, "params"))
    return runs.assign(**typed) if typed else runs


def constant_columns(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """Columns holding one value for every run (missing counts as a value: a param set on some runs varies)."""
    if len(frame) <= 1:
        return []
    return [c for c in columns if frame[c].nunique(dropna=False) <= 1]


def system_tag(column: str) -> bool:
    return column.startswith("tags.mlflow.")


def apply_summary(
    runs: pd.DataFrame, extremes: pd.DataFrame | None, rules: Mapping[str, SummaryRule]
) -> pd.DataFrame:
    """Replace ``metrics.<key>`` (MLflow's last value) by the history's min or max where a rule asks for it.

    ``rules`` maps metric column names to a rule; ``extremes`` is ``Tracker.metric_extremes``' frame."""
    wanted = {c: r for c, r in rules.items() if r != "last" and c in runs}
    if not wanted or extremes is None:
        return runs
    out = runs.copy()
    for column, rule in wanted.items():
        key = column.removeprefix("metrics.")
        values = extremes.loc[extremes["key"] == key].set_index("run_id")[rule]
        out[column] = out["run_id"].map(values).astype("float64")
    return out


# ---- filters -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RangeFilter:
    """Keep runs whose value lies in [low, high]; a bound of None is open. Missing values never match."""

    column: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class ValuesFilter:
    """Keep runs whose value is one of ``values`` ("" stands for missing)."""

    column: str
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class TextFilter:
    """Keep runs whose value contains ``text``, ignoring case."""

    column: str
    text: str


RunFilter = RangeFilter | ValuesFilter | TextFilter
FilterKind = Literal["range", "values", "text"]


def filter_kind(values: pd.Series) -> FilterKind:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "range"
    if values.nunique(dropna=True) <= MAX_CATEGORIES:
        return "values"
    return "text"


def filter_mask(frame: pd.DataFrame, filters: Sequence[RunFilter]) -> pd.Series:
    """Rows of ``frame`` that pass every filter (filters on absent columns are ignored)."""
    keep = pd.Series(True, index=frame.index)
    for f in filters:
        if f.column not in frame:
            continue
        values = frame[f.column]
        if isinstance(f, RangeFilter):
            numbers = pd.to_numeric(values, errors="coerce")
            if f.low is not None:
                keep &= numbers >= f.low
            if f.high is not None:
                keep &= numbers <= f.high
        elif isinstance(f, ValuesFilter):
            keep &= values.astype(object).where(values.notna(), "").astype(str).isin(f.values)
        else:
            keep &= values.astype(str).str.contains(f.text, case=False, regex=False) & values.notna()
    return keep.fillna(False).astype(bool)


def describe(f: RunFilter) -> str:
    """A short human description, e.g. ``lr ∈ [0.001, 0.1]``."""
    name = f.column.split(".", 1)[-1]
    if isinstance(f, RangeFilter):
        low = NEGATIVE_INFINITY if f.low is None else format_number(f.low)
        high = INFINITY if f.high is None else format_number(f.high)
        return f"{name} ∈ [{low}, {high}]"
    if isinstance(f, ValuesFilter):
        shown = sorted(v or "(missing)" for v in f.values)
        return f"{name} ∈ {{{', '.join(shown[:4])}{', …' if len(shown) > 4 else ''}}}"
    return f"{name} contains “{f.text}”"


# ---- display -------------------------------------------------------------------------------------------------
def stars(rating: object) -> str:
    """``"4"`` → ``"★★★★☆"``; anything that is not a rating 1–5 → ``""``."""
    try:
        value = int(float(str(rating)))
    except ValueError:
        return ""
    return "★" * value + "☆" * (5 - value) if 1 <= value <= 5 else ""


def durations(runs: pd.DataFrame) -> pd.Series:
    """Each run's duration in seconds (NaN while it runs)."""
    # end_time is a column of None when no run has ended yet (as in mlflow.search_runs): coerce both
    end, start = (pd.to_datetime(runs[c], utc=True) for c in ("end_time", "start_time"))
    return (end - start).dt.total_seconds().astype("float64") if len(runs) else pd.Series(dtype="float64")


def display_table(runs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The frame the grid shows: run label (name, else short id), status label, rating, start, duration as text
    ("42 s", "3 min 10 s"; "—" while running), then ``columns``."""
    rating = runs[RATING_TAG].map(stars) if RATING_TAG in runs else pd.Series("", index=runs.index)
    labels = labels_by_id(runs) if len(runs) else {}
    table = pd.DataFrame(
        {
            "run_id": runs["run_id"],
            "run_name": runs["run_id"].astype(str).map(labels),
            "status": runs["status"].map(lambda s: STATUS_LABELS.get(s, s)),
            "rating": rating,
            "start_time": runs["start_time"],
            "duration": durations(runs).map(format_duration).to_numpy(dtype=object) if len(runs) else [],
        },
        index=runs.index,
    )
    return pd.concat([table, runs[list(columns)]], axis=1).reset_index(drop=True)
