"""Home's own logic (lens_core.runs.home) on a small table: offered columns, rules, filters, selection texts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens_core.runs import home
from lens_core.runs.home import TableOptions
from lens_core.runs.monitor import RangeFilter, ValuesFilter
from lens_core.runs.parcoords import AxisRange


@pytest.fixture()
def runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "run_name": ["r-a", "r-b", "r-c"],
            "metrics.acc": [0.9, 0.8, 0.7],
            "metrics.epochs": [10.0, 10.0, 10.0],
            "params.lr": [0.1, 0.01, 0.001],
            "params.seed": ["1", "1", "1"],
            "tags.team": ["x", "y", None],
            "tags.mlflow.user": ["u", "u", "v"],
        }
    )


def test_constant_columns_are_hidden_and_listed(runs):
    choice = home.column_choice(runs, TableOptions(hide_constant=True, show_system=False, summary_rule="last"))
    assert choice.offered == {"params": ("params.lr",), "metrics": ("metrics.acc",), "tags": ("tags.team",)}
    assert choice.hidden == ("metrics.epochs", "params.seed")
    assert choice.shown == 3


def test_every_column_offered_when_nothing_is_hidden(runs):
    choice = home.column_choice(runs, TableOptions(hide_constant=False, show_system=True, summary_rule="last"))
    assert choice.offered["tags"] == ("tags.team", "tags.mlflow.user")
    assert choice.hidden == () and choice.shown == 6


def test_summary_rules_default_with_exceptions():
    rules = home.summary_rules(["metrics.acc", "metrics.loss"], {"metrics.loss": "min"}, "last")
    assert rules == {"metrics.acc": "last", "metrics.loss": "min"}
    assert home.needs_histories(rules) and not home.needs_histories({"metrics.acc": "last"})


def test_column_help_names_the_group_and_the_rule():
    assert home.column_help("metrics.acc", {"metrics.acc": "max"}) == "Metric · max of history"
    assert home.column_help("metrics.loss", {}) == "Metric · last of history"
    assert home.column_help("params.lr", {}) == "Param"
    assert home.column_help("tags.team", {}) == "Tag"


def test_value_options_sorted_with_missing_last(runs):
    assert home.value_options(runs["tags.team"]) == ["x", "y", ""]
    assert home.value_options(pd.Series([3, 1, np.nan, 1])) == ["1.0", "3.0", ""]


def test_filters_caption_lists_filters_and_brushes():
    caption = home.filters_caption([ValuesFilter("params.opt", frozenset({"adam"}))],
                                   [AxisRange("metrics.acc", 0.5, 0.9)], 2, 14)
    assert caption.startswith("Filtered: opt ∈ {adam} · acc: ")
    assert caption.endswith("(brushed) — 2 of 14 runs")
    caption = home.filters_caption([RangeFilter("params.lr", 0.1, None)], [], 1, 3)
    assert caption == "Filtered: lr ∈ [0.1, ∞] — 1 of 3 runs"


def test_highlighted_runs_are_the_selection_else_the_filtered_ones(runs):
    assert home.highlighted(["b"], runs.iloc[:2], runs) == ["b"]
    assert home.highlighted([], runs.iloc[:2], runs) == ["a", "b"]
    assert home.highlighted([], runs, runs) == []


def test_selection_texts():
    names = {"a": "r-a", "b": "r-b", "c": "r-c", "d": "r-d"}
    assert home.selection_summary(["a", "b"], names) == "**2 selected** · r-a, r-b"
    assert home.selection_summary(["a", "b", "c", "d"], names) == "**4 selected** · r-a, r-b, r-c …"
    assert home.selection_summary(["0123456789"], {}) == "**1 selected** · 01234567"
    assert [home.compare_label(n) for n in (0, 1, 3)] == ["Compare runs", "Compare runs", "Compare 3 runs"]


def test_digest_is_short_stable_and_order_sensitive():
    assert home.digest(["a", "b"]) == home.digest(["a", "b"]) != home.digest(["b", "a"])
    assert len(home.digest([])) == 16
    assert home.short("params.lr") == "lr" and home.short("run_name") == "run_name"


def test_number_formats_come_from_every_run_so_a_filter_does_not_change_how_numbers_read():
    typed = pd.DataFrame({
        "run_id": ["a", "b", "c"],
        "params.seed": [97531.0, 3.0, 4.0],           # whole: exact
        "params.lr": [0.123456, 0.1, 0.2],             # logged as text: every digit as logged
        "metrics.acc": [0.99612, 0.99615, 0.5],        # distinct values read distinct
        "tags.note": ["x", "y", "z"],                  # text: no number format
    })
    formats = home.NumberFormats(typed)
    assert dict(formats) == {"params.seed": "%d", "params.lr": "%.6g", "metrics.acc": "%.5g"}
    assert formats.get("tags.note") is None and formats.get("run_id") is None
    narrowed = typed[typed["run_id"] != "b"]  # the run that needed the fifth digit is filtered out…
    assert home.number_format(narrowed["metrics.acc"], logged_text=False) == "%.4g"  # …the grid keeps "%.5g"


def test_the_loading_preview_shows_label_status_start_and_the_most_logged_metrics():
    runs = pd.DataFrame({
        "run_id": ["a1b2c3d4e5", "f6a7b8c9d0"], "run_name": ["first", None], "status": ["FINISHED", "RUNNING"],
        "start_time": pd.to_datetime([2, 1], unit="s", utc=True), "end_time": pd.to_datetime([9, None], unit="s", utc=True),
        "metrics.z_loss": [0.5, 0.4], "metrics.acc": [0.9, None], "metrics.rare": [None, None],
        "params.lr": ["0.1", "0.2"],
    })
    preview = home.loading_preview(runs, metrics=2)
    assert list(preview.columns) == ["Run", "Status", "Started (UTC)", "acc", "z_loss"]
    assert preview["Run"].tolist() == ["first", "f6a7b8c9"] and preview["z_loss"].tolist() == [0.5, 0.4]
