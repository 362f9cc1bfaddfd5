"""Monitoring logic on small generated tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens_core.runs.monitor import (
    RangeFilter,
    TextFilter,
    ValuesFilter,
    apply_summary,
    constant_columns,
    describe,
    display_table,
    filter_kind,
    filter_mask,
    numeric_columns,
    stars,
    with_typed_params,
)


@pytest.fixture()
def runs() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "run_name": ["r-a", "r-b", "r-c", "r-d"],
            "experiment_id": "1",
            "status": ["FINISHED", "FAILED", "RUNNING", "FINISHED"],
            "artifact_uri": "x",
            "start_time": [t0, t0 + pd.Timedelta("1h"), t0 + pd.Timedelta("2h"), t0 + pd.Timedelta("3h")],
            "end_time": [t0 + pd.Timedelta("30min"), t0 + pd.Timedelta("90min"), pd.NaT, t0 + pd.Timedelta("4h")],
            "metrics.acc": [0.9, np.nan, 0.7, 0.8],
            "metrics.loss": [0.1, 0.5, 0.3, 0.2],
            "params.lr": ["0.1", "1e-3", "0.01", None],
            "params.optimizer": ["adam", "sgd", "adam", "adam"],
            "params.seed": ["1", "1", "1", "1"],
            "tags.lens.rating": ["4", None, "9", "x"],
            "tags.mlflow.user": "ann",
        }
    )


def test_numeric_params_get_typed_twins(runs):
    typed = with_typed_params(runs)
    assert typed["params.lr"].tolist()[:3] == [0.1, 0.001, 0.01] and np.isnan(typed["params.lr"].iloc[3])
    assert typed["params.optimizer"].dtype != "float64"
    assert set(numeric_columns(runs, ["params.lr", "params.optimizer", "params.seed"])) == {"params.lr", "params.seed"}
    assert numeric_columns(runs.assign(**{"params.x": ["1", "None", "2", "3"]}), ["params.x"]) == {}


def test_constant_columns_count_missing_as_a_value(runs):
    assert constant_columns(runs, ["params.seed", "params.lr", "params.optimizer", "tags.mlflow.user"]) == [
        "params.seed",
        "tags.mlflow.user",
    ]
    assert constant_columns(runs.assign(**{"params.z": [None, None, None, "1"]}), ["params.z"]) == []
    assert constant_columns(runs.iloc[:1], ["params.lr"]) == []  # one run: nothing to compare


def test_summary_rules_use_history_extremes(runs):
    extremes = pd.DataFrame(
        {"run_id": ["a", "b", "a"], "key": ["loss", "loss", "acc"], "min": [0.05, 0.4, 0.5], "max": [0.9, 2.0, 0.95]}
    )
    out = apply_summary(runs, extremes, {"metrics.loss": "min", "metrics.acc": "max"})
    assert out["metrics.loss"].tolist()[:2] == [0.05, 0.4] and np.isnan(out["metrics.loss"].iloc[2])
    assert out["metrics.acc"].iloc[0] == 0.95
    assert apply_summary(runs, extremes, {"metrics.loss": "last"}) is runs
    assert runs["metrics.loss"].iloc[0] == 0.1  # the input is untouched


def test_filters(runs):
    typed = with_typed_params(runs)
    assert filter_mask(typed, [RangeFilter("params.lr", 0.005, None)]).tolist() == [True, False, True, False]
    assert filter_mask(typed, [ValuesFilter("params.optimizer", frozenset({"sgd"}))]).tolist() == [False, True, False, False]
    assert filter_mask(typed, [ValuesFilter("params.lr", frozenset({""}))]).tolist() == [False, False, False, True]
    assert filter_mask(typed, [TextFilter("run_name", "R-C")]).tolist() == [False, False, True, False]
    both = [RangeFilter("metrics.loss", None, 0.25), ValuesFilter("params.optimizer", frozenset({"adam"}))]
    assert filter_mask(typed, both).tolist() == [True, False, False, True]
    assert filter_mask(typed, [RangeFilter("metrics.acc", 0.0, 1.0)]).tolist() == [True, False, True, True]
    assert filter_mask(typed, [TextFilter("params.gone", "x")]).all()
    assert describe(RangeFilter("params.lr", 0.001, None)) == "lr ∈ [0.001, ∞]"


def test_filter_kinds(runs):
    typed = with_typed_params(runs)
    assert filter_kind(typed["params.lr"]) == "range"
    assert filter_kind(typed["params.optimizer"]) == "values"
    assert filter_kind(pd.Series([f"note {i}" for i in range(100)])) == "text"


def test_display_table(runs):
    table = display_table(runs, ["metrics.acc", "params.lr"])
    assert list(table.columns) == ["run_id", "run_name", "status", "rating", "start_time", "duration",
                                   "metrics.acc", "params.lr"]
    assert table["status"].tolist()[:3] == ["🟢 Finished", "🔴 Failed", "🔵 Running"]
    assert table["rating"].tolist() == ["★★★★☆", "", "", ""]
    assert table["duration"].tolist() == ["30 min", "30 min", "—", "1 h"]


def test_seconds_long_runs_never_read_zero_minutes_and_unnamed_runs_show_their_short_id(runs):
    t0 = runs["start_time"]
    quick = runs.assign(end_time=t0 + pd.to_timedelta([2, 0.4, 59, 61], unit="s"), run_name=[None, "", "r-c", "r-d"],
                        run_id=["0123456789abcdef", "fedcba9876543210", "c", "d"])
    table = display_table(quick, [])
    assert table["duration"].tolist() == ["2.0 s", "400 ms", "59 s", "1 min 1 s"]
    assert table["run_name"].tolist() == ["01234567", "fedcba98", "r-c", "r-d"]


def test_integer_params_beyond_float_precision_stay_text():
    frame = pd.DataFrame({"params.big": ["12345678901234567", "2"], "params.seed": ["97531", "1234567890"]})
    typed = numeric_columns(frame, ["params.big", "params.seed"])
    assert list(typed) == ["params.seed"] and typed["params.seed"].tolist() == [97531.0, 1234567890.0]


@pytest.mark.parametrize(("value", "shown"), [("5", "★★★★★"), ("1", "★☆☆☆☆"), ("0", ""), ("3.0", "★★★☆☆"), (None, ""), ("", "")])
def test_stars(value, shown):
    assert stars(value) == shown


def test_display_table_when_no_run_has_ended(runs):
    running = runs.assign(end_time=[None] * len(runs))  # what search_runs gives when no run has ended
    table = display_table(running.astype({"end_time": object}), [])
    assert (table["duration"] == "—").all()


# ---- live refresh: running runs that still change ------------------------------------------------------------
def running_table(starts: dict[str, str | None], status: dict[str, str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": list(starts),
        "status": [(status or {}).get(r, "RUNNING") for r in starts],
        "start_time": pd.to_datetime(list(starts.values()), utc=True),
    })


def test_running_runs_split_into_live_and_stale_by_their_latest_activity():
    from lens_core.runs.summary import running_liveness

    now = pd.Timestamp("2026-03-01 12:00", tz="UTC")
    runs = running_table({"fresh": "2026-03-01 11:30", "long": "2026-03-01 06:00", "crashed": "2021-05-04 10:00",
                          "gone": "2022-01-01 00:00", "done": "2021-01-01 00:00", "nostart": None},
                         {"done": "FINISHED"})
    asked: list[list[str]] = []

    def latest(ids: list[str]) -> dict[str, pd.Timestamp]:
        asked.append(ids)  # a long job that logged a minute ago; the crashed one logged a day after it started
        return {"long": pd.Timestamp("2026-03-01 11:59", tz="UTC"), "crashed": pd.Timestamp("2021-05-05 09:00"),
                "unknown": now}

    known: dict[str, pd.Timestamp] = {}
    result = running_liveness(runs, latest=latest, known=known, now=now)
    assert set(result.live) == {"fresh", "long"} and set(result.stale) == {"crashed", "gone", "nostart"}
    assert asked == [["long", "gone", "crashed", "nostart"]]  # only runs quiet by their start time, newest first
    assert result.stale_since == pd.Timestamp("2022-01-01", tz="UTC")  # the newest activity of the stale runs
    assert result.note.startswith("3 runs are marked running but have not changed since Jan 01 2022, 00:00 UTC")
    assert "within the last hour" in result.note

    # the next refresh: the long job is known active, so only the quiet ones are looked up again
    running_liveness(runs, latest=latest, known=known, now=now + pd.Timedelta(minutes=1))
    assert asked[-1] == ["gone", "crashed", "nostart"]

    # without a lookup the start time alone decides; the window is a parameter
    plain = running_liveness(runs, now=now, window=pd.Timedelta(days=1))
    assert set(plain.live) == {"fresh", "long"} and plain.window == pd.Timedelta(days=1)
    assert "within the last 24 hours" in plain.note
    capped = running_liveness(runs, latest=latest, now=now, max_lookups=1)
    assert asked[-1] == ["long"] and set(capped.live) == {"fresh", "long"}


def test_liveness_notes_and_edge_cases():
    from lens_core.runs.summary import running_liveness

    now = pd.Timestamp("2026-03-01 12:00", tz="UTC")
    one = running_liveness(running_table({"old": "2020-02-03 04:05"}), now=now)
    assert one.live == () and one.note.startswith("1 run is marked running but has not changed since Feb 03 2020, "
                                                  "04:05 UTC")
    assert running_liveness(running_table({"new": "2026-03-01 11:59"}), now=now).note is None
    assert running_liveness(running_table({}), now=now) == running_liveness(running_table({}), now=now)
    assert running_liveness(pd.DataFrame(), now=now).live == ()
    missing = running_liveness(running_table({"x": None}), now=now.tz_localize(None))
    assert missing.stale == ("x",) and missing.stale_since is None and "since they were created" in missing.note


def test_latest_metric_times_from_the_history(sqlite_copy):
    from mlflow import MlflowClient

    from lens_core import open_tracker
    from lens_core.runs.summary import latest_metric_times

    uri, ids = sqlite_copy
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(ids["main"], run_name="logging")
    client.log_metric(run.info.run_id, "loss", 0.5, timestamp=1_800_000_000_000)
    client.log_metric(run.info.run_id, "acc", 0.9, timestamp=1_800_000_060_000)
    bare = client.create_run(ids["main"], run_name="bare")
    times = latest_metric_times(open_tracker(uri), [run.info.run_id, bare.info.run_id])
    assert times == {run.info.run_id: pd.Timestamp(1_800_000_060_000, unit="ms", tz="UTC")}
    assert latest_metric_times(open_tracker(uri), []) == {}
