"""Parallel coordinates: axis choice and kinds, normalisation, sampling, brush → filters → mask, chart spec."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lens_core.runs import parcoords as pc
from lens_core.runs.parcoords import MISSING_Y, AxisCategories, AxisRange
from lens_core.runs.parcoords.axes import _as_number


def text(values: list[object]) -> pd.Series:
    """A params column as the runs table holds it: pandas' str dtype, NaN for missing."""
    return pd.Series(pd.array([None if v is None else str(v) for v in values], dtype="str"))


def table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lr = 10 ** rng.uniform(-5, -1, n)
    acc = rng.uniform(0.5, 0.95, n)
    acc[:5] = np.nan
    return pd.DataFrame({
        "run_id": [f"{i:08x}" for i in rng.permutation(10 * n)[:n]],
        "run_name": [f"run-{i}" for i in range(n)],
        "metrics.acc": acc,
        "metrics.loss": 1 - np.nan_to_num(acc, nan=0.5),
        "params.lr": text([f"{v:.3e}" for v in lr]),
        "params.optimizer": text(rng.choice(["sgd", "adam", "adamw", "rmsprop"], n)),
        "params.depth": text(rng.choice([2, 4, 8, 16], n)),
        "params.max_depth": text(rng.choice(["3", "10", "None"], n)),
        "params.dropout": text([None if i % 4 == 0 else round(v, 2) for i, v in enumerate(rng.uniform(0, .5, n))]),
        "params.epochs": text([20] * n),
        "params.unused": text([None] * n),
    })


def brush_event(x: list[float], y: list[float]) -> object:
    """The value st.altair_chart(on_select="rerun") returns, built by Streamlit's own deserializer from the JSON
    its frontend sends for an interval selection on this chart (format checked in headless Chromium)."""
    from streamlit.elements.vega_charts import VegaLiteStateSerde

    return VegaLiteStateSerde(["brush"]).deserialize(json.dumps({"selection": {"brush": {"x": x, "y": y}}}))


# -- default axes and axis kinds --------------------------------------------------------------------------------

def test_default_axes_most_varying_first_without_constant_params() -> None:
    runs = table()
    axes = pc.default_axes(runs)
    assert axes[:2] == ["params.lr", "params.dropout"]  # unique per run first, then ~50 values + missing
    assert axes[2:4] == ["params.optimizer", "params.depth"] or axes[2:4] == ["params.depth", "params.optimizer"]
    assert axes[-1] == "params.max_depth"  # 3 values: the least varying
    assert "params.epochs" not in axes and "params.unused" not in axes
    assert pc.default_axes(runs, max_axes=2) == axes[:2]


def test_default_axes_rules() -> None:
    n = 40
    runs = pd.DataFrame({
        "run_id": [str(i) for i in range(n)],
        "params.seed": text(range(n)),  # varies most, but seeds go last
        "params.output_dir": text([f"/tmp/run{i}" for i in range(n)]),  # unique text per run: an id, left out
        "params.flag": text(["on" if i < 10 else None for i in range(n)]),  # one value + missing: varies
        "params.even": text(["a", "b"] * (n // 2)),
        "params.skewed": text(["a"] * (n - 2) + ["b", "b"]),
        "params.many": text([f"c{i % 35}" for i in range(n)]),  # too many categories for a readable axis
        "params.const": text(["x"] * n),
    })
    assert pc.default_axes(runs) == ["params.even", "params.flag", "params.skewed", "params.seed"]
    assert pc.default_axes(runs.drop(columns=[c for c in runs if c.startswith("params.")])) == []


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1e-3", "0.01", "1E-5", None], "numeric"),
        (["3", "10", "-2.5", " 7 "], "numeric"),
        (["3", "10", "None"], "categorical"),  # MLflow writes a Python None as "None": a real setting
        (["True", "False"], "categorical"),
        (["adam", None, "sgd"], "categorical"),
        ([None, None], "categorical"),
    ],
)
def test_axis_kind(values: list[object], kind: str) -> None:
    runs = pd.DataFrame({"run_id": [str(i) for i in range(len(values))], "params.p": text(values)})
    [axis] = pc.build_axes(runs, ["params.p"])
    assert axis.kind == kind
    assert axis.has_missing == any(v is None for v in values)


def test_axis_details() -> None:
    runs = table()
    lr, maxd, acc, depth = pc.build_axes(runs, ["params.lr", "params.max_depth", "metrics.acc", "params.depth"])
    assert (lr.kind, lr.log, lr.label) == ("numeric", True, "lr")
    assert maxd.categories == ("3", "10", "None")  # natural order: numbers numerically, then text
    assert (acc.kind, acc.log, acc.has_missing, acc.label) == ("numeric", False, True, "acc")
    assert depth.levels == (2.0, 4.0, 8.0, 16.0) and not depth.log  # 3 decades not exceeded
    seeds = pd.DataFrame({"run_id": ["a", "b", "c", "d"], "params.seed": text([1, 4000, 7000, 9999])})
    assert not pc.build_axes(seeds, ["params.seed"])[0].log  # > 3 decades but evenly spread: linear
    clash = pd.DataFrame({"run_id": ["a"], "params.loss": text(["l1"]), "metrics.loss": [0.1]})
    assert [a.label for a in pc.build_axes(clash, ["params.loss", "metrics.loss"])] == ["params.loss", "metrics.loss"]


# -- normalisation ----------------------------------------------------------------------------------------------

def test_normalisation_bounds_and_positions() -> None:
    runs = table()
    columns = ["params.lr", "params.optimizer", "params.dropout", "params.depth", "metrics.acc"]
    data = pc.prepare(runs, columns, "metrics.acc")
    lines = data.lines
    assert list(lines.columns) == ["run_id", "run_name", "axis", "x", "y", "value", "color", "highlight"]
    assert len(lines) == len(runs) * len(columns)
    assert ((lines["y"].between(0, 1)) | (lines["y"] == MISSING_Y)).all()
    for i, axis in enumerate(data.axes):
        ys = lines.loc[lines["axis"] == axis.label, "y"]
        present = ys[ys != MISSING_Y]
        assert present.min() == 0 and present.max() == 1, axis.label
        assert (lines.loc[lines["axis"] == axis.label, "x"] == i).all()
    by_run = lines.set_index(["run_id", "axis"])
    runs_by_id = runs.set_index("run_id")
    lr = data.axes[0]
    for run_id in runs["run_id"][:20]:  # log axis: the geometric middle maps to 0.5
        v = float(runs_by_id.loc[run_id, "params.lr"])
        expected = (math.log10(v) - math.log10(lr.low)) / (math.log10(lr.high) - math.log10(lr.low))
        assert by_run.loc[(run_id, "lr"), "y"] == pytest.approx(expected)
    opt = lines[lines["axis"] == "optimizer"]
    assert sorted(opt["y"].unique()) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    missing_dropout = runs.loc[runs["params.dropout"].isna(), "run_id"]
    assert (by_run.loc[[(r, "dropout") for r in missing_dropout], "y"] == MISSING_Y).all()
    assert (by_run.loc[[(r, "dropout") for r in missing_dropout], "value"] == "missing").all()
    assert lines["color"].isna().sum() == 5 * len(columns)


def test_value_at_inverts_position() -> None:
    runs = table()
    for axis in pc.build_axes(runs, ["params.lr", "params.dropout", "metrics.acc"]):
        values = _as_number(runs[axis.column]).dropna()
        y = axis.position(values)
        back = np.array([axis.value_at(v) for v in y])
        np.testing.assert_allclose(back, values.to_numpy(), rtol=1e-9)


# -- sampling and drawing order ---------------------------------------------------------------------------------

@pytest.mark.parametrize("higher_is_better", [True, False])
def test_sample_keeps_highlighted_and_best(higher_is_better: bool) -> None:
    runs = table(5000, seed=3)
    highlight = set(runs["run_id"].sample(40, random_state=1))
    data = pc.prepare(runs, ["params.lr", "params.optimizer", "metrics.acc"], "metrics.acc",
                      highlight_ids=highlight, max_lines=500, higher_is_better=higher_is_better)
    assert (data.shown, data.total, data.sampled, data.highlighted) == (500, 5000, True, 40)
    assert data.note == "Showing 500 of 5,000 runs (sample incl. selected and best); a brush filters all runs."
    drawn = set(data.lines["run_id"])
    assert len(drawn) == 500 and highlight <= drawn
    best = runs.sort_values("metrics.acc", ascending=not higher_is_better, na_position="last")["run_id"][:25]
    assert set(best) <= drawn
    # highlighted runs drawn last (on top), flagged; the best of the rest just before them
    order = list(dict.fromkeys(data.lines["run_id"]))
    assert set(order[-40:]) == highlight
    assert data.lines.groupby("run_id")["highlight"].first().sum() == 40
    assert order[-41] == best.iloc[0] or best.iloc[0] in highlight
    # the same sample on every rerun and whatever the row order
    again = pc.prepare(runs.sample(frac=1, random_state=7), ["params.lr", "params.optimizer", "metrics.acc"],
                       "metrics.acc", highlight_ids=highlight, max_lines=500, higher_is_better=higher_is_better)
    assert set(again.lines["run_id"]) == drawn


def test_no_sample_below_threshold_and_the_direction_is_the_callers() -> None:
    runs = table(300)
    data = pc.prepare(runs, ["params.lr"], "metrics.loss", higher_is_better=False)
    assert (data.shown, data.total, data.sampled, data.note) == (300, 300, False, None)
    assert not data.higher_is_better and pc.prepare(runs, ["params.lr"], "metrics.loss").higher_is_better


def test_non_finite_values_stay_off_the_axes_and_are_counted() -> None:
    """MLflow's ±1.8e308 sentinel (or ±inf) must not stretch an axis to 1.8e308."""
    runs = table(30).assign(**{"metrics.loss": [float("inf"), -1.7976931348623157e308] + [0.5 + i / 100 for i in
                                                                                            range(28)]})
    data = pc.prepare(runs, ["params.lr", "metrics.loss"], "metrics.loss", higher_is_better=False)
    loss = data.axes[1]
    assert (loss.low, loss.high, loss.non_finite, loss.has_missing) == (0.5, 0.77, 2, True)
    assert "2 non-finite value" in data.note and "(loss)" in data.note and "missing slot" in data.note
    tips = data.lines[data.lines["axis"] == "loss"]["value"].tolist()
    assert "∞" in tips and "−∞" in tips
    texts = json.dumps(pc.chart(data).to_dict()["datasets"])
    assert "e+308" not in texts and "1.8e308" not in texts


def test_integer_values_read_exactly_in_ticks_and_tooltips() -> None:
    runs = table(12).assign(**{"params.seed": [97531 + i for i in range(12)],
                               "params.rows": ["1234567890", "20"] * 6})
    data = pc.prepare(runs, ["params.seed", "params.rows"], None)
    assert "97,531" in data.lines["value"].tolist() and "1234567890" in data.lines["value"].tolist()
    ticks = json.dumps(pc.chart(data).to_dict()["datasets"])
    assert "97530" not in ticks and "9.753e" not in ticks


# -- brush → filters → mask -------------------------------------------------------------------------------------

def test_filters_from_streamlit_selection() -> None:
    runs = table()
    data = pc.prepare(runs, ["params.lr", "params.optimizer", "params.dropout", "metrics.acc"], "metrics.acc")
    lr, opt, dropout, acc = data.axes
    assert opt.categories == ("adam", "adamw", "rmsprop", "sgd")  # at y = 0, 1/3, 2/3, 1
    event = brush_event([-0.3, 2.2], [0.5, 1])  # lr, optimizer and dropout, upper half (y clamped at 1: an int)
    assert event["selection"]["brush"]["x"] == [-0.3, 2.2]
    filters = pc.filters_from_selection(event, data.axes)
    assert filters == [
        AxisRange("params.lr", pytest.approx(math.sqrt(lr.low * lr.high)), lr.high, False),  # log: geometric mid
        AxisCategories("params.optimizer", ("rmsprop", "sgd"), False),
        AxisRange("params.dropout", pytest.approx((dropout.low + dropout.high) / 2), dropout.high, False),
    ]
    # the same brush given as the selection entry, the brush dict, or read back from session state
    assert pc.filters_from_selection(event["selection"], data.axes) == filters
    assert pc.filters_from_selection({"x": [-0.3, 2.2], "y": [1, 0.5]}, data.axes) == filters
    # a band reaching the missing slot takes the missing runs
    low = pc.filters_from_selection(brush_event([2.9, 3.1], [MISSING_Y - 0.05, 0.0]), data.axes)
    assert low == [AxisRange("metrics.acc", acc.low, acc.low, True)]
    only_missing = pc.filters_from_selection(brush_event([1.8, 2.2], [-0.15, -0.1]), data.axes)
    assert only_missing == [AxisRange("params.dropout", None, None, True)]
    assert only_missing[0].describe() == "dropout: missing"
    # no brush, a cleared brush, a brush between two axes
    assert pc.filters_from_selection(None, data.axes) == []
    assert pc.filters_from_selection({"selection": {"brush": {}}}, data.axes) == []
    assert pc.filters_from_selection(brush_event([1.2, 1.8], [0, 1]), data.axes) == []


def test_mask_selects_the_runs_under_the_brush() -> None:
    runs = table(500, seed=5)
    columns = ["params.lr", "params.optimizer", "params.dropout", "params.max_depth", "metrics.acc"]
    data = pc.prepare(runs, columns, "metrics.acc")
    y = data.lines.pivot(index="run_id", columns="x", values="y").reindex(runs["run_id"])
    rng = np.random.default_rng(0)
    for _ in range(40):
        x0, x1 = sorted(rng.uniform(-0.7, 4.7, 2))
        lo, hi = sorted(rng.uniform(MISSING_Y - 0.05, 1.0, 2))
        filters = pc.filters_from_selection(brush_event([x0, x1], [lo, hi]), data.axes)
        inside = [i for i in range(len(columns)) if x0 <= i <= x1]
        assert [f.column for f in filters] == [columns[i] for i in inside]
        expected = np.ones(len(runs), dtype=bool)
        for i in inside:
            yi = y[float(i)].to_numpy()
            missing = yi == MISSING_Y
            near_missing = lo - 0.03 <= MISSING_Y <= hi + 0.03
            expected &= np.where(missing, near_missing, (yi >= lo - 1e-9) & (yi <= hi + 1e-9))
        got = pc.mask(runs, filters)
        assert got.index.equals(runs.index) and got.dtype == bool
        np.testing.assert_array_equal(got.to_numpy(), expected)


def test_mask_filters() -> None:
    runs = table()
    acc = runs["metrics.acc"]
    both = pc.mask(runs, [AxisRange("metrics.acc", 0.6, 0.8), AxisCategories("params.optimizer", ("sgd", "adam"))])
    expected = acc.between(0.6, 0.8) & runs["params.optimizer"].isin(["sgd", "adam"])
    assert both.equals(expected) and 0 < both.sum() < len(runs)
    assert pc.mask(runs, [AxisRange("metrics.acc", None, None, True)]).equals(acc.isna())
    assert pc.mask(runs, [AxisRange("params.lr", 1e-4, 1e-3)]).equals(
        runs["params.lr"].astype(float).between(1e-4, 1e-3))
    assert pc.mask(runs, [AxisCategories("params.max_depth", ("None",))]).equals(runs["params.max_depth"] == "None")
    assert pc.mask(runs, [AxisCategories("params.dropout", (), True)]).equals(runs["params.dropout"].isna())
    assert pc.mask(runs, []).all()
    assert not pc.mask(runs, [AxisRange("params.gone", 0, 1)]).any()  # a column the table lacks: all missing
    assert pc.mask(runs, [AxisRange("params.gone", 0, 1, True)]).all()
    assert AxisRange("params.lr", 1e-4, 0.0031).describe() == "lr: 0.0001 – 0.0031"
    assert AxisCategories("params.opt", ("a", "b"), True).describe() == "opt: a, b, missing"


# -- chart spec -------------------------------------------------------------------------------------------------

def test_chart_spec() -> None:
    runs = table(300)
    data = pc.prepare(runs, ["params.lr", "params.optimizer", "metrics.acc"], "metrics.acc",
                      highlight_ids=runs["run_id"][:3], max_lines=100)
    spec = pc.chart(data, height=300).to_dict()
    [param] = spec["params"]
    assert param["name"] == pc.BRUSH == "brush"
    assert param["select"]["type"] == "interval" and param["select"]["encodings"] == ["x", "y"]
    assert "value" not in param
    assert spec["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    assert spec["height"] == 300 and "width" not in spec
    assert "title" not in spec  # the note is the page's caption, said once
    assert data.note.startswith("Showing 100 of 300 runs")
    boxes = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rect"]
    texts_at = [i for i, layer in enumerate(spec["layer"]) if layer["mark"]["type"] == "text"]
    lines_at = [i for i, layer in enumerate(spec["layer"]) if layer["mark"]["type"] == "line"]
    assert boxes and max(lines_at) < min(texts_at)  # labels on white boxes, above every line
    colors = [layer["encoding"]["color"] for layer in spec["layer"] if "field" in layer["encoding"].get("color", {})]
    assert colors and colors[0]["type"] == "quantitative" and colors[0]["title"] == "acc"
    texts = json.dumps(spec["datasets"])
    for label in ("lr", "optimizer", "acc", "adamw", "missing", "0.001"):
        assert f'"{label}"' in texts
    lines = [layer for layer in spec["layer"] if layer["mark"]["type"] == "line"]
    plain = [layer["mark"]["opacity"] for layer in lines if layer["mark"]["strokeWidth"] == 1.0]
    bold = [layer["mark"]["opacity"] for layer in lines if layer["mark"]["strokeWidth"] == 2.0]
    assert plain and bold and max(plain) < 0.3 < min(bold)  # highlighted runs stand out, the others fade
    everyone = pc.prepare(runs, ["params.lr"], "metrics.acc", highlight_ids=runs["run_id"])
    opacities = {layer["mark"]["opacity"] for layer in pc.chart(everyone).to_dict()["layer"]
                 if layer["mark"]["type"] == "line"}
    assert len(opacities) == 1  # everything highlighted: nothing to fade
    seeded = pc.chart(data, brush={"selection": {"brush": {"x": [0.5, 1.5], "y": [0.2, 0.6]}}}).to_dict()
    assert seeded["params"][0]["value"] == {"x": [0.5, 1.5], "y": [0.2, 0.6]}


def test_brush_seed_changes_only_with_the_data() -> None:
    runs = table(100)
    memory: dict[str, object] = {}
    first = pc.prepare(runs, ["params.lr", "metrics.acc"], "metrics.acc")
    brush1 = {"selection": {"brush": {"x": [0.5, 1.2], "y": [0.1, 0.4]}}}
    brush2 = {"selection": {"brush": {"x": [-0.2, 0.3], "y": [0.0, 0.9]}}}
    assert pc.brush_seed(memory, None, first) is None
    assert pc.brush_seed(memory, brush1, first) is None  # a new brush on the same chart: no redraw
    same = pc.prepare(runs, ["params.lr", "metrics.acc"], "metrics.acc")
    assert same.fingerprint == first.fingerprint
    highlighted = pc.prepare(runs, ["params.lr", "metrics.acc"], "metrics.acc", highlight_ids=runs["run_id"][:2])
    assert highlighted.fingerprint != first.fingerprint
    assert pc.brush_seed(memory, brush1, highlighted) == brush1["selection"]["brush"]  # redrawn: keep it
    assert pc.brush_seed(memory, brush2, highlighted) == brush1["selection"]["brush"]  # unchanged spec
    assert pc.brush_seed(memory, {"selection": {"brush": {}}}, first) is None  # redrawn, brush cleared


# -- degenerate tables ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("frame", "columns", "color"),
    [
        (table(1), ["params.lr", "params.optimizer", "metrics.acc"], "metrics.acc"),  # one run, NaN metric
        (table(30).assign(**{"metrics.acc": np.nan}), ["params.lr", "metrics.acc"], "metrics.acc"),  # all NaN
        (table(30), [], "metrics.acc"),  # no axes
        (table(30), ["params.epochs", "params.unused"], None),  # constant and all-missing params, no colour
        (table(30), ["params.lr", "params.not_there"], "metrics.not_there"),
        (table(0), ["params.lr"], "metrics.acc"),
        (pd.DataFrame({"run_id": ["a", "b"]}), [], None),  # no params at all
    ],
)
def test_degenerate_inputs_do_not_crash(frame: pd.DataFrame, columns: list[str], color: str | None) -> None:
    data = pc.prepare(frame, columns, color, highlight_ids=frame["run_id"][:1], max_lines=20)
    assert data.shown == min(len(frame), 20) and data.sampled == (len(frame) > 20)
    assert len(data.lines) == data.shown * len(columns)
    assert ((data.lines["y"].between(0, 1)) | (data.lines["y"] == MISSING_Y)).all()
    spec = pc.chart(data).to_dict()
    assert spec["params"][0]["name"] == "brush"
    filters = pc.filters_from_selection(brush_event([-1, 5], [-0.2, 1]), data.axes)
    assert len(filters) == len(columns)
    assert pc.mask(frame, filters).sum() == len(frame)  # a brush over everything keeps every run
    assert pc.default_axes(frame) == [c for c in pc.default_axes(frame) if c.startswith("params.")]


def test_chart_spec_is_the_chart_as_a_dict_for_any_size() -> None:
    data = pc.prepare(table(3000), ["params.lr", "params.optimizer", "metrics.acc"], "metrics.acc", max_lines=3000)
    spec = pc.chart_spec(data)
    assert len(data.lines) > 5000 and spec["params"][0]["name"] == pc.BRUSH
    assert sum(len(rows) for rows in spec["datasets"].values()) >= len(data.lines)
