"""The one number and label formatter (lens_core.format)."""
from __future__ import annotations

import math
import sqlite3
import sys

import numpy as np
import pandas as pd
import pytest

from lens_core import format as fmt


@pytest.mark.parametrize(("value", "text"), [
    (97531, "97,531"),  # a seed: %.4g read 97530
    (1_234_567_890, "1,234,567,890"),
    (np.int64(97531), "97,531"),
    (np.int32(-12), "-12"),
    (97531.0, "97,531"),  # a whole float from an integer param typed as float64
    (1_234_567_890.0, "1,234,567,890"),
    (float(2**53 - 1), "9,007,199,254,740,991"),
    (0, "0"),
    (-0.0, "0"),
    (12.0, "12"),
    (0.996123, "0.9961"),
    (0.5, "0.5"),
    (-0.25, "-0.25"),
    (3.14159, "3.142"),
    (0.99999, "0.99999"),  # never "1": a value that is not whole must not read whole
    (2.0000001, "2.0000001"),
    (123456.7, "123,456.7"),  # every integer digit, no "1.235e+05"
    (0.00012345, "0.0001234"),
    (1.5e-7, "1.5e-7"),
    (6.02214076e23, "6.022e23"),
    (math.inf, "∞"),
    (-math.inf, "−∞"),
    (1.7976931348623157e308, "∞"),  # MLflow's +inf sentinel
    (-1.7976931348623157e308, "−∞"),
    (math.nan, fmt.MISSING),
    (np.float32("nan"), fmt.MISSING),
    (None, fmt.MISSING),
    (pd.NA, fmt.MISSING),
    (True, "True"),
    (np.bool_(False), "False"),
    ("97531", "97531"),  # params are text, shown as logged
    ("1e-3", "1e-3"),
    ("0.10", "0.10"),
])
def test_format_number(value, text):
    assert fmt.format_number(value) == text


def test_digits_option():
    assert fmt.format_number(3.14159265, digits=6) == "3.14159"
    assert fmt.format_number(97531, digits=2) == "97,531"  # integers stay exact whatever the digits


@pytest.mark.parametrize("value", [10_001, 97_531, 1_000_000_007, 4_294_967_297, 2**53 - 1])
def test_integer_params_above_ten_thousand_and_a_billion_read_exactly(value):
    """Home typed numeric params as float64 and showed them with %.4g; every form reads back the same integer."""
    for form in (value, float(value), np.int64(value), np.float64(value)):
        assert int(fmt.format_number(form).replace(",", "")) == value
    assert fmt.column_printf(pd.Series([float(value), 3.0])) == "%d"


def test_distinct_labels_tell_values_apart():
    values = [0.99612, 0.99615, 0.99618, 0.99611, 0.9962]
    labels = fmt.distinct_labels(values)
    assert len(set(labels)) == len(values)
    assert labels[0] == "0.99612"
    assert fmt.distinct_labels([0.5, 0.25, 0.125]) == ["0.5", "0.25", "0.125"]  # no padding past the 4 digits


def test_distinct_labels_up_to_full_precision_and_non_finite():
    a = 0.1
    b = math.nextafter(a, 1.0)
    labels = fmt.distinct_labels([a, b, math.inf, math.nan, 3])
    assert labels[0] != labels[1] and float(labels[0]) == a and float(labels[1]) == b
    assert labels[2:] == ["∞", fmt.MISSING, "3"]
    assert fmt.distinct_labels([1.0, 1.0, 2.0]) == ["1", "1", "2"]  # equal values may share a label


def test_full_precision_reads_back_exactly():
    for value in (0.1, 0.996123456789, 123456.789, 1e-7, 97531.0):
        text = fmt.full_precision(value)
        assert float(text.replace(",", "")) == value
    assert fmt.full_precision(1.7976931348623157e308) == "∞"


def test_column_printf_keeps_every_integer_digit():
    assert fmt.column_printf([97531.5, 0.2]) == "%.6g"  # 97531.5, not 97532
    assert fmt.column_printf([0.99612, 0.99615]) == "%.5g"
    assert fmt.column_printf([math.nan, math.inf, 2.0]) == "%d"


@pytest.mark.parametrize(("values", "spec"), [
    ([10, 20, 60], ",~r"),  # ~g wrote "1e+1 … 6e+1" here (Vega gives it the tick step's precision)
    ([0.99612, 0.9962], ",~r"),
    ([1_000, 250_000], ",~r"),
    ([3e6, 4e9], "~s"),
    ([1e-5, 3e-5, 0.0], "~e"),
    ([math.nan, math.inf], ",~r"),
    ([1.7976931348623157e308, 5.0], ",~r"),  # the sentinel does not decide the axis
])
def test_axis_format(values, spec):
    assert fmt.axis_format(values) == spec


def test_axis_format_has_no_precision_so_vega_derives_it():
    for spec in (fmt.axis_format([1, 2]), fmt.axis_format([1e7]), fmt.axis_format([1e-6])):
        assert "." not in spec


def test_tooltip_format_shows_every_value_in_full():
    assert fmt.tooltip_format([97531]) == ",.5~g"
    assert fmt.tooltip_format([0.1, 0.996123]) == ",.6~g"
    assert fmt.tooltip_format([0.1 + 0.2]) == ",.17~g"
    assert fmt.tooltip_format([math.inf, math.nan]) == ",.1~g"


# ---- non-finite ----------------------------------------------------------------------------------------------
def test_sentinel_is_mlflows_largest_double():
    assert sys.float_info.max == fmt.MLFLOW_INF


def test_from_mlflow_sentinel_scalar_array_series():
    big = fmt.MLFLOW_INF
    assert fmt.from_mlflow_sentinel(big) == math.inf
    assert fmt.from_mlflow_sentinel(-big) == -math.inf
    assert fmt.from_mlflow_sentinel(1.5) == 1.5
    assert math.isnan(fmt.from_mlflow_sentinel(math.nan))
    array = np.array([big, -big, 2.0, np.nan, np.inf])
    out = fmt.from_mlflow_sentinel(array)
    assert out[:3].tolist() == [math.inf, -math.inf, 2.0] and np.isnan(out[3]) and out[4] == math.inf
    assert array[0] == big  # the input is not modified
    series = pd.Series([big, 0.5, -big], index=["a", "b", "c"])
    converted = fmt.from_mlflow_sentinel(series)
    assert converted.to_dict() == {"a": math.inf, "b": 0.5, "c": -math.inf}
    assert series["a"] == big


def test_sentinels_to_inf_on_chosen_columns():
    frame = pd.DataFrame({"run_id": ["r1", "r2"], "metrics.loss": [fmt.MLFLOW_INF, 0.2],
                          "metrics.acc": [-fmt.MLFLOW_INF, 0.9], "params.seed": ["1", "2"]})
    every = fmt.sentinels_to_inf(frame)
    assert every["metrics.loss"].tolist() == [math.inf, 0.2] and every["metrics.acc"].tolist() == [-math.inf, 0.9]
    assert every["params.seed"].tolist() == ["1", "2"]
    only = fmt.sentinels_to_inf(frame, ["metrics.loss", "params.seed", "absent"])
    assert only["metrics.loss"][0] == math.inf and only["metrics.acc"][0] == -fmt.MLFLOW_INF
    assert frame["metrics.loss"][0] == fmt.MLFLOW_INF  # a copy


def test_sentinel_as_mlflow_wrote_it(sqlite_store):
    """MLflow's SQL store saves a logged inf as the largest double; read raw, the rule turns it back."""
    uri, _ = sqlite_store
    with sqlite3.connect(uri.removeprefix("sqlite:///")) as con:
        (raw,) = con.execute("SELECT value FROM metrics WHERE key = 'weird'").fetchone()
    assert raw == fmt.MLFLOW_INF and not math.isinf(raw)
    assert fmt.from_mlflow_sentinel(raw) == math.inf
    assert fmt.format_number(raw) == "∞"


def test_finite_only_counts_what_it_drops():
    series = pd.Series([0.5, math.nan, math.inf, fmt.MLFLOW_INF, -fmt.MLFLOW_INF, 2.0], index=list("abcdef"))
    kept = fmt.finite_only(series)
    assert kept.values.to_dict() == {"a": 0.5, "f": 2.0}
    assert kept.dropped == 4
    values, dropped = fmt.finite_only([1.0, np.inf])
    assert values.tolist() == [1.0] and dropped == 1
    assert fmt.not_drawn_note(3) == "3 non-finite values not drawn"
    assert fmt.not_drawn_note(1) == "1 non-finite value not drawn"
    assert fmt.not_drawn_note(0) == ""


# ---- durations, times, counts, labels ------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"),
    (0.0002, "< 1 ms"),
    (0.42, "420 ms"),
    (0.9996, "1.0 s"),
    (4.2, "4.2 s"),
    (9.96, "10 s"),
    (42.4, "42 s"),
    (59.6, "1 min"),
    (190, "3 min 10 s"),
    (3599.7, "1 h"),
    (7499, "2 h 5 min"),
    (86399, "1 d"),
    (3 * 86400 + 4 * 3600 + 100, "3 d 4 h"),
    (400 * 86400, "400 d"),
    (-4.2, "-4.2 s"),
    (None, fmt.MISSING),
    (math.nan, fmt.MISSING),
])
def test_format_duration(seconds, text):
    assert fmt.format_duration(seconds) == text


def test_format_duration_never_reads_zero_minutes():
    for seconds in (0.01, 0.5, 1, 5, 29, 31):
        assert "0.0" not in fmt.format_duration(seconds) and "min" not in fmt.format_duration(seconds)


def test_format_bytes():
    assert [fmt.format_bytes(n) for n in (None, 0, 999, 1500, 3_200_000, 12 * 10**9, 5 * 10**12)] == [
        "", "0 B", "999 B", "1.5 kB", "3.2 MB", "12.0 GB", "5000.0 GB"]


def test_format_time():
    ts = pd.Timestamp("2023-11-14 22:13:05", tz="UTC")
    assert fmt.format_time(ts) == "Nov 14 2023, 22:13 UTC"
    assert fmt.format_time(ts, pd.Timestamp("2023-11-14 08:00")) == "22:13:05 UTC"
    assert fmt.format_time(pd.Timestamp("2023-11-14 23:13", tz="Europe/Berlin")) == "Nov 14 2023, 22:13 UTC"
    assert fmt.format_time(None) == fmt.format_time(pd.NaT) == fmt.MISSING


def test_plural():
    assert fmt.plural(1, "run") == "1 run"
    assert fmt.plural(2, "run") == "2 runs"
    assert fmt.plural(0, "run") == "0 runs"
    assert fmt.plural(1204, "run") == "1,204 runs"
    assert fmt.plural(np.int64(3), "entry", "entries") == "3 entries"


def test_run_label_name_else_short_id():
    rid = "0123456789abcdef0123456789abcdef"
    assert fmt.short_id(rid) == "01234567"
    assert fmt.run_label("baseline", rid) == "baseline"
    for unnamed in (None, "", "  ", math.nan):  # legacy runs have no name
        assert fmt.run_label(unnamed, rid) == "01234567"


def test_run_labels_unique():
    runs = pd.DataFrame({"run_id": ["aaaaaa11", "aaaaaa22", "bbbbbbbbcc", "cccccccc"],
                         "run_name": ["same", "same", None, "other"]})
    labels = fmt.labels_by_id(runs)
    assert labels == {"aaaaaa11": "same · aaaaaa11", "aaaaaa22": "same · aaaaaa22", "bbbbbbbbcc": "bbbbbbbb",
                      "cccccccc": "other"}


def test_no_streamlit_import():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(fmt))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                for a in (n.names if isinstance(n, ast.Import) else [ast.alias(n.module or "")])}
    assert "streamlit" not in imported
