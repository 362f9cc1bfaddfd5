"""Home's own logic beside :mod:`lens_core.runs.monitor`: which columns the runs grid offers, the per-metric summary
rules, the filters' choices and the texts around the selection.

Everything works on the runs table as Home shows it (:func:`lens_core.runs.monitor.with_typed_params`); the page only
wires widgets to these functions.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lens_core.format import column_printf
from lens_core.runs.defaults import default_metric
from lens_core.runs.monitor import (
    SUMMARY_RULES,
    FilterKind,
    RunFilter,
    SummaryRule,
    constant_columns,
    describe,
    display_table,
    filter_kind,
    system_tag,
)
from lens_core.runs.parcoords import Filter as BrushFilter
from lens_core.runs.pareto_chart import ParetoPoints
from lens_core.trackers.runs_table import columns_of

#: The column groups of the runs grid, in their order on the page, with the word a column's tooltip starts with.
COLUMN_GROUPS = {"params": "Param", "metrics": "Metric", "tags": "Tag"}
#: Run names listed in the selection line before "…".
SHOWN_SELECTED = 3


@dataclass(frozen=True)
class TableOptions:
    """Home's sidebar choices for the runs grid."""

    hide_constant: bool  # params, metrics and tags with one value in every run
    show_system: bool  # tags named mlflow.*
    summary_rule: SummaryRule  # which value of a metric's history, unless a per-metric rule says otherwise


@dataclass(frozen=True)
class ColumnChoice:
    """The columns the grid offers, by group (``params``, ``metrics``, ``tags``), and the constant ones it hides."""

    offered: Mapping[str, tuple[str, ...]]
    hidden: tuple[str, ...]  # sorted

    @property
    def shown(self) -> int:
        return sum(len(columns) for columns in self.offered.values())


def column_choice(runs: pd.DataFrame, options: TableOptions) -> ColumnChoice:
    """The params, metrics and tags the grid offers: MLflow's system tags only when asked for, constant columns
    left out (and listed) when hidden."""
    groups = {group: columns_of(runs, group) for group in COLUMN_GROUPS}
    groups["tags"] = [c for c in groups["tags"] if options.show_system or not system_tag(c)]
    every = [c for columns in groups.values() for c in columns]
    hidden = set(constant_columns(runs, every)) if options.hide_constant else set()
    return ColumnChoice({g: tuple(c for c in columns if c not in hidden) for g, columns in groups.items()},
                        tuple(sorted(hidden)))


def flag(text: str) -> bool:
    """A switch as a link writes it ("1" / "0"); ValueError for anything else."""
    if text not in ("1", "0"):
        raise ValueError(text)
    return text == "1"


def short(column: str) -> str:
    """``params.lr`` → ``lr``; ``run_name`` stays as it is."""
    return column.split(".", 1)[-1]


def summary_rules(metrics: Sequence[str], exceptions: Mapping[str, SummaryRule],
                  default: SummaryRule) -> dict[str, SummaryRule]:
    """Each metric's summary rule: its exception if it has one, else the default."""
    return {m: exceptions.get(m, default) for m in metrics}


def needs_histories(rules: Mapping[str, SummaryRule]) -> bool:
    """Whether the rules read more than the last values (min / max need the metrics' full histories)."""
    return any(rule != "last" for rule in rules.values())


def column_help(column: str, rules: Mapping[str, SummaryRule]) -> str:
    """A grid column's tooltip: its group, and for a metric which value of its history it shows."""
    group = column.split(".", 1)[0]
    return COLUMN_GROUPS[group] + (f" · {rules.get(column, 'last')} of history" if group == "metrics" else "")


def value_options(values: pd.Series) -> list[str]:
    """The choices of a filter by values: the distinct values as text, sorted, and ``""`` for missing ones."""
    return sorted({str(v) for v in values.dropna()}) + ([""] if values.isna().any() else [])


def filters_caption(filters: Sequence[RunFilter], brushed: Sequence[BrushFilter], shown: int, total: int) -> str:
    """What filters the grid, e.g. ``Filtered: lr ∈ [0.01, 0.1] · acc ∈ [0.8, 0.9] (brushed) — 3 of 14 runs``."""
    described = [describe(f) for f in filters] + [f"{f.describe()} (brushed)" for f in brushed]
    return "Filtered: " + " · ".join(described) + f" — {shown} of {total} runs"


def highlighted(selected: Sequence[str], filtered: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """The runs the parallel-coordinates chart highlights: the selected ones, else those the filters keep (none
    when the filters keep every run)."""
    return list(selected) or (list(filtered["run_id"]) if len(filtered) < len(runs) else [])


def selection_summary(selected: Sequence[str], labels: Mapping[str, str]) -> str:
    """``**2 selected** · run-a, run-b``: the first few run labels (:func:`lens_core.format.labels_by_id`)."""
    shown = ", ".join(labels.get(r, r[:8]) for r in selected[:SHOWN_SELECTED])
    return f"**{len(selected)} selected** · {shown}" + (" …" if len(selected) > SHOWN_SELECTED else "")


def compare_label(selected: int) -> str:
    """The comparison link's label: ``Compare 3 runs``, or ``Compare runs`` until two are selected."""
    return f"Compare {selected} runs" if selected > 1 else "Compare runs"


def digest(parts: Sequence[str]) -> str:
    """A short stable digest of ``parts``, for widget keys that must change when what they show changes."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


# ---- number formats of the grid --------------------------------------------------------------------------------
def number_format(values: pd.Series, *, logged_text: bool) -> str:
    """The printf format of a numeric grid column (:func:`lens_core.format.column_printf`: integers exact).

    ``logged_text``: the column is a param MLflow stored as text and Home typed as a number; its format then has
    as many digits as it takes for every value to read as logged (``0.123456`` is not "0.1235")."""
    printf = column_printf(values)
    if not logged_text or printf == "%d":
        return printf
    finite = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    digits = int(printf[2:-1])
    while digits < 17 and any(float(f"%.{digits}g" % v) != v for v in finite):
        digits += 1
    return f"%.{digits}g"


class NumberFormats(Mapping[str, str]):
    """:func:`number_format` of each numeric param, metric and tag column of Home's typed runs table, from all of
    its runs (a filter narrows the rows, it does not change how a number reads), each computed when first asked
    for (on 10k runs a column's digits search takes ~25 ms, and a view shows a few of ~50 columns) and kept."""

    def __init__(self, typed: pd.DataFrame) -> None:
        self._typed = typed
        self._columns = [c for c in typed.columns if c.startswith(("params.", "metrics.", "tags."))
                         and pd.api.types.is_numeric_dtype(typed[c])]
        self._known: dict[str, str] = {}

    def __getitem__(self, column: str) -> str:
        if column not in self._known:
            if column not in self._columns:
                raise KeyError(column)
            # two sessions may compute the same column at once: both get the same text
            self._known[column] = number_format(self._typed[column], logged_text=column.startswith("params."))
        return self._known[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def loading_preview(runs: pd.DataFrame, metrics: int = 4) -> pd.DataFrame:
    """The runs read so far as a compact table to look at while the rest load: run label, status, start time
    and the ``metrics`` metrics most of them have (in name order), named as the grid names them."""
    by_count = sorted(columns_of(runs, "metrics"), key=lambda c: -int(runs[c].notna().sum()))
    shown = sorted(by_count[:metrics])
    table = display_table(runs, shown).drop(columns=["run_id", "rating", "duration"])
    return table.rename(columns={"run_name": "Run", "status": "Status", "start_time": "Started (UTC)",
                                 **{c: short(c) for c in shown}})


# ---- the view in the link: filters, shown columns, per-metric rules ---------------------------------------------
FilterValue = tuple[float, float] | list[str] | str  # a slider's range, the values picked, the text typed


def filters_for_link(values: Mapping[str, FilterValue]) -> dict[str, Any]:
    """The filter widgets' values as the link holds them (column → [low, high] / [values] / text)."""
    return {column: list(v) if isinstance(v, tuple | list) else v for column, v in values.items()}


@dataclass(frozen=True)
class LinkedFilters:
    """Filter widget values a link asked for that fit the table (column → value), and the columns it named that
    the table no longer has (or whose values no longer fit)."""

    values: Mapping[str, FilterValue]
    stale: tuple[str, ...]


def filters_from_link(linked: object, table: pd.DataFrame, columns: Sequence[str]) -> LinkedFilters:
    """Read a link's filters back against ``table``: ranges clamped to the values present, picked values kept
    when present, text as it is. ``columns``: the columns Filters offers."""
    if not isinstance(linked, Mapping):
        return LinkedFilters({}, ())
    values: dict[str, FilterValue] = {}
    stale: list[str] = []
    for column, value in linked.items():
        if column not in columns or column not in table:
            stale.append(str(column))
            continue
        read = _filter_value(filter_kind(table[column]), table[column], value)
        if read is None:
            stale.append(str(column))
        else:
            values[column] = read
    return LinkedFilters(values, tuple(stale))


def _filter_value(kind: FilterKind, present: pd.Series, value: object) -> FilterValue | None:
    if kind == "range":
        numbers = present.dropna()
        if (not isinstance(value, list) or len(value) != 2 or numbers.empty
                or not all(isinstance(v, int | float) for v in value)):
            return None
        low, high = float(numbers.min()), float(numbers.max())
        return (min(max(float(value[0]), low), high), max(min(float(value[1]), high), low))
    if kind == "values":
        if not isinstance(value, list):
            return None
        kept = [v for v in value if v in set(value_options(present))]
        return kept or None
    return value if isinstance(value, str) else None


def hidden_columns(choice: ColumnChoice, chosen: Sequence[str]) -> list[str]:
    """The offered columns a user took out of the grid (what the link stores: usually none, so links stay short)."""
    shown = set(chosen)
    return [c for columns in choice.offered.values() for c in columns if c not in shown]


def rule_exceptions(rules: Mapping[str, SummaryRule], default: SummaryRule) -> dict[str, SummaryRule]:
    """The per-metric rules that differ from the sidebar's (the link's ``rules``), by short metric name."""
    return {short(m): r for m, r in rules.items() if r != default}


def rules_from_link(linked: object, metrics: Sequence[str]) -> dict[str, SummaryRule]:
    """A link's per-metric rules (short name → rule) as metric column → rule, for the metrics that exist."""
    if not isinstance(linked, Mapping):
        return {}
    known = {short(m): m for m in metrics}
    return {known[name]: rule for name, rule in linked.items() if name in known and rule in SUMMARY_RULES}


# ---- trade-offs: the Pareto front of two (or three) metrics -------------------------------------------------------
def tradeoff_defaults(runs: pd.DataFrame, metrics: Sequence[str]) -> tuple[str | None, str | None]:
    """The two metrics a trade-off opens on: the metric most runs have, then the most complete of the others."""
    first = default_metric(runs, metrics)
    return first, default_metric(runs, [m for m in metrics if m != first])


def front_table(points: ParetoPoints) -> pd.DataFrame:
    """The front's runs as listed under the chart: ``run_id``, ``run`` (label) and the objectives by short name,
    best first on the x objective."""
    front = points.points[points.points["on_front"]]
    goal_x = points.directions[points.x]
    front = front.sort_values("x", ascending=goal_x == "min", kind="stable")
    table = pd.DataFrame({"run_id": front["run_id"], "run": front["label"], short(points.x): front["x"],
                          short(points.y): front["y"]})
    if points.colour is not None and "colour" in front:
        table[short(points.colour)] = front["colour"]
    return table.reset_index(drop=True)
