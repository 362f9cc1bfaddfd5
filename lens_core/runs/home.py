"""Home's own logic beside :mod:`lens_core.runs.monitor`: which columns the runs grid offers, the per-metric summary
rules, the filters' choices and the texts around the selection.

Everything works on the runs table as Home shows it (:func:`lens_core.runs.monitor.with_typed_params`); the page only
wires widgets to these functions.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from lens_core.runs.monitor import RunFilter, SummaryRule, constant_columns, describe, system_tag
from lens_core.runs.parcoords import Filter as BrushFilter
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


def selection_summary(selected: Sequence[str], names: Mapping[str, str]) -> str:
    """``**2 selected** · run-a, run-b``: the first few run names (the id's start for an unnamed run)."""
    shown = ", ".join(names.get(r, r[:8]) for r in selected[:SHOWN_SELECTED])
    return f"**{len(selected)} selected** · {shown}" + (" …" if len(selected) > SHOWN_SELECTED else "")


def compare_label(selected: int) -> str:
    """The comparison link's label: ``Compare 3 runs``, or ``Compare runs`` until two are selected."""
    return f"Compare {selected} runs" if selected > 1 else "Compare runs"


def digest(parts: Sequence[str]) -> str:
    """A short stable digest of ``parts``, for widget keys that must change when what they show changes."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
