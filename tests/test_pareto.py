"""Pareto fronts: pareto_front against a brute-force check (ties, NaN / inf, 2–4 objectives, mixed directions),
edge cases and errors; the trade-off chart's spec."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lens_core.runs import pareto as pareto_module
from lens_core.runs.pareto import front_order, pareto_front
from lens_core.runs.pareto_chart import PICK, draw, pareto_chart, pareto_points, picked_run


def brute_force(runs: pd.DataFrame, objectives: dict[str, str]) -> np.ndarray:
    """The definition, pair by pair: a complete run is on the front unless some complete run is at least as good
    on every objective and strictly better on one."""
    gains = np.column_stack([pd.to_numeric(runs[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                             * (1 if goal == "max" else -1) for c, goal in objectives.items()])
    complete = np.isfinite(gains).all(axis=1)
    on_front = np.zeros(len(runs), dtype=bool)
    for i in np.flatnonzero(complete):
        others = gains[complete]
        dominated = ((others >= gains[i]).all(axis=1) & (others > gains[i]).any(axis=1)).any()
        on_front[i] = not dominated
    return on_front


def tied_runs(rng: np.random.Generator, n: int, k: int, levels: int = 5, holes: float = 0.1) -> pd.DataFrame:
    """``n`` runs with ``k`` integer metrics in ``0..levels-1`` (many ties and duplicates), some cells NaN,
    +inf or -inf."""
    values = rng.integers(0, levels, (n, k)).astype(float)
    holes_at = rng.random((n, k)) < holes
    values[holes_at] = rng.choice([np.nan, np.inf, -np.inf], holes_at.sum())
    return pd.DataFrame(values, columns=[f"m{j}" for j in range(k)])


def directions(rng: np.random.Generator, k: int) -> dict[str, str]:
    return {f"m{j}": str(rng.choice(["max", "min"])) for j in range(k)}


# -- pareto_front against brute force ----------------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3, 4])
def test_matches_brute_force_on_tied_data(k: int) -> None:
    rng = np.random.default_rng(k)
    for _ in range(150):
        n = int(rng.integers(0, 80))
        runs = tied_runs(rng, n, k, levels=int(rng.integers(1, 6)))
        objectives = directions(rng, k)
        np.testing.assert_array_equal(pareto_front(runs, objectives).to_numpy(), brute_force(runs, objectives))


@pytest.mark.parametrize("k", [2, 3])
def test_matches_brute_force_on_continuous_data(k: int) -> None:
    rng = np.random.default_rng(10 + k)
    for _ in range(20):
        runs = pd.DataFrame(rng.normal(size=(int(rng.integers(100, 600)), k)), columns=[f"m{j}" for j in range(k)])
        objectives = directions(rng, k)
        np.testing.assert_array_equal(pareto_front(runs, objectives).to_numpy(), brute_force(runs, objectives))


def test_three_objectives_across_many_blocks_and_a_large_front(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks and comparison chunks, and a front holding most runs (x + y + z constant: no run beats another
    on all three), exercise the block-wise checks."""
    monkeypatch.setattr(pareto_module, "_BLOCK_CELLS", 64)
    monkeypatch.setattr(pareto_module, "_MAX_BLOCK", 8)
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 30, 700), rng.integers(0, 30, 700)
    runs = pd.DataFrame({"a": a, "b": b, "c": 60 - a - b - rng.integers(0, 2, 700)})
    objectives = {"a": "max", "b": "max", "c": "max"}
    expected = brute_force(runs, objectives)
    assert expected.mean() > 0.4
    np.testing.assert_array_equal(pareto_front(runs, objectives).to_numpy(), expected)


cell = st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, np.nan, np.inf, -np.inf])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, cell), max_size=25), goals=st.tuples(*[st.sampled_from(["max", "min"])] * 3),
       k=st.sampled_from([2, 3]))
def test_matches_brute_force_hypothesis(rows: list[tuple[float, float, float]], goals: tuple[str, ...],
                                        k: int) -> None:
    runs = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=float)
    objectives = dict(zip(["a", "b", "c"][:k], goals[:k], strict=True))
    np.testing.assert_array_equal(pareto_front(runs, objectives).to_numpy(), brute_force(runs, objectives))


# -- edge cases ----------------------------------------------------------------------------------------------------

def test_example_mixed_directions() -> None:
    runs = pd.DataFrame({"acc": [0.9, 0.8, 0.95, 0.7, 0.9], "ms": [30, 10, 80, 40, 35]})
    assert pareto_front(runs, {"acc": "max", "ms": "min"}).tolist() == [True, True, True, False, False]
    assert pareto_front(runs, {"acc": "min", "ms": "max"}).tolist() == [False, False, True, True, False]


@pytest.mark.parametrize("k", [2, 3])
def test_duplicates_are_all_on_the_front(k: int) -> None:
    runs = pd.DataFrame([[1.0] * k, [1.0] * k, [0.0] * k, [1.0] * k], columns=list("abc")[:k])
    assert pareto_front(runs, dict.fromkeys(runs.columns, "max")).tolist() == [True, True, False, True]


def test_tie_on_the_first_objective() -> None:
    """Same first value: only the best second value of that group can be on the front, and only if no run with a
    better first value is at least as good on the second."""
    runs = pd.DataFrame({"a": [5, 5, 5, 4, 4, 3], "b": [1, 2, 2, 2, 3, 3]})
    assert pareto_front(runs, {"a": "max", "b": "max"}).tolist() == [False, True, True, False, True, False]


@pytest.mark.parametrize("k", [2, 3])
def test_single_run_and_empty_frame(k: int) -> None:
    columns = list("abc")[:k]
    objectives = dict.fromkeys(columns, "min")
    assert pareto_front(pd.DataFrame([[1.0] * k], columns=columns, index=["x"]), objectives).to_dict() == {"x": True}
    lacking = pd.DataFrame([[np.nan] + [1.0] * (k - 1)], columns=columns)
    assert pareto_front(lacking, objectives).tolist() == [False]
    empty = pareto_front(pd.DataFrame(columns=columns, dtype=float), objectives)
    assert empty.dtype == bool and empty.empty and empty.name == "pareto_front"


def test_index_alignment_with_a_shuffled_text_index() -> None:
    rng = np.random.default_rng(7)
    runs = tied_runs(rng, 60, 3)
    runs.index = pd.Index([f"run-{i}" for i in rng.permutation(1000)[:60]])
    objectives = {"m0": "max", "m1": "min", "m2": "max"}
    result = pareto_front(runs, objectives)
    assert result.index.equals(runs.index) and result.dtype == bool
    np.testing.assert_array_equal(result.to_numpy(), brute_force(runs, objectives))
    shuffled = runs.sample(frac=1.0, random_state=1)
    assert pareto_front(shuffled, objectives).equals(result.loc[shuffled.index])


def test_missing_and_non_numeric_values_are_never_on_the_front() -> None:
    runs = pd.DataFrame({
        "acc": pd.array(["0.9", "high", None, "0.95", "0.99"], dtype="str"),
        "ms": pd.array([10, 1, 1, pd.NA, 50], dtype="Int64"),
        "note": ["a", "b", "c", "d", "e"],
    })
    # "high" and None do not parse, pd.NA is missing: those runs neither count nor dominate run 0
    assert pareto_front(runs, {"acc": "max", "ms": "min"}).tolist() == [True, False, False, False, True]
    assert not pareto_front(runs.assign(ms=[np.inf, 1, 1, 1, 50]), {"acc": "max", "ms": "min"}).iloc[0]


def test_errors() -> None:
    runs = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(ValueError, match="at least two objectives"):
        pareto_front(runs, {"a": "max"})
    with pytest.raises(ValueError, match="at least two objectives"):
        pareto_front(runs, {})
    with pytest.raises(ValueError, match="'c' is not a column"):
        pareto_front(runs, {"a": "max", "c": "min"})
    with pytest.raises(ValueError, match="direction must be 'max' or 'min'"):
        pareto_front(runs, {"a": "max", "b": "lower"})
    twice = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "b", "b"])
    with pytest.raises(ValueError, match="names 2 columns"):
        pareto_front(twice, {"a": "max", "b": "min"})


def test_front_order_sorts_the_front_along_the_first_objective() -> None:
    runs = pd.DataFrame({"acc": [0.9, 0.8, 0.95, 0.7, np.nan], "ms": [30, 10, 80, 40, 1], "name": list("pqrst")},
                        index=[10, 11, 12, 13, 14])
    ordered = front_order(runs, {"acc": "max", "ms": "min"})
    assert ordered["name"].tolist() == ["q", "p", "r"] and ordered.index.tolist() == [11, 10, 12]
    assert list(ordered.columns) == list(runs.columns)


# -- the chart -----------------------------------------------------------------------------------------------------

def chart_runs(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    acc = rng.random(n)
    runs = pd.DataFrame({
        "run_id": [f"id{i:04d}" for i in range(n)],
        "run_name": [f"run {i}" if i % 7 else None for i in range(n)],
        "metrics.acc": acc,
        "metrics.ms": acc * 80 + rng.random(n) * 40,
        "metrics.size": rng.integers(1, 5, n).astype(float),
        "params.optimizer": rng.choice(["adam", "sgd"], n),
    })
    runs.loc[:3, "metrics.acc"] = np.nan
    runs.loc[4, "metrics.ms"] = np.inf
    return runs


GOALS = {"metrics.acc": "max", "metrics.ms": "min"}


def layers(chart) -> dict[str, dict]:
    spec = chart.to_dict()
    return {layer["name"]: {**layer, "values": spec["datasets"][layer["data"]["name"]]} for layer in spec["layer"]}


def test_chart_layers_front_and_missing_count() -> None:
    runs = chart_runs()
    data = pareto_points(runs, "metrics.acc", "metrics.ms", GOALS)
    drawn = layers(draw(data))
    assert list(drawn) == ["dominated", "front_line", "front", "picked", "pointer"]
    front = pareto_front(runs, GOALS)
    assert len(drawn["front"]["values"]) == front.sum() == data.front
    assert {p["run_id"] for p in drawn["front"]["values"]} == set(runs.loc[front, "run_id"])
    assert len(drawn["dominated"]["values"]) == len(runs) - 5 - front.sum()
    assert data.missing == 5 and data.total == len(runs) and data.shown == len(runs) - 5
    assert data.note == "5 of 300 runs lack acc or ms and are not shown."
    assert np.isfinite(data.points[["x", "y"]].to_numpy()).all()
    # unnamed runs are labelled by their id
    assert data.points.set_index("run_id").loc["id0007", "label"] == "id0007"


def test_chart_pick_selection_and_tooltips() -> None:
    chart = pareto_chart(chart_runs(), "metrics.acc", "metrics.ms", GOALS)
    (param,) = chart.to_dict()["params"]  # Altair lifts a layer's selection to the top, bound to its view
    assert param["name"] == PICK and param["views"] == ["pointer"]
    assert param["select"]["fields"] == ["run_id"] and param["select"]["on"] == "click"
    drawn = layers(chart)
    pointer = drawn["pointer"]
    assert len(pointer["values"]) == 295
    assert [t["title"] for t in pointer["encoding"]["tooltip"]] == ["run", "acc", "ms", "on the front"]
    assert drawn["picked"]["transform"] == [{"filter": {"param": PICK, "empty": False}}]  # no ring before a click
    assert picked_run({"selection": {PICK: [{"run_id": "id0042"}]}}) == "id0042"


@pytest.mark.parametrize("goal_x", ["max", "min"])
def test_staircase_follows_the_edge_of_the_dominated_region(goal_x: str) -> None:
    runs = pd.DataFrame({"run_id": list("abcd"), "x": [1.0, 2.0, 3.0, 2.0], "y": [5.0, 4.0, 1.0, 0.0]})
    goals = {"x": goal_x, "y": "max"}
    data = pareto_points(runs, "x", "y", goals)
    steps = list(data.steps[["x", "y"]].itertuples(index=False, name=None))
    if goal_x == "max":  # a, b, c on the front; vertical first
        assert steps == [(1, 5), (1, 4), (2, 4), (2, 1), (3, 1)]
    else:  # only a (lowest x, highest y)
        assert steps == [(1, 5)]
    assert data.steps["order"].tolist() == list(range(len(steps)))


def test_third_objective_as_colour() -> None:
    runs = chart_runs()
    goals = {**GOALS, "metrics.size": "min"}
    data = pareto_points(runs, "metrics.acc", "metrics.ms", goals, colour="metrics.size")
    drawn = layers(draw(data))
    assert "front_line" not in drawn and data.steps.empty
    assert len(drawn["front_coloured"]["values"]) == pareto_front(runs, goals).sum() == data.front
    assert drawn["front_coloured"]["encoding"]["color"]["field"] == "colour"
    assert data.front > pareto_front(runs, GOALS).sum()  # a third objective only adds runs to the front


def test_plain_colour_and_text_colour() -> None:
    runs = chart_runs()
    data = pareto_points(runs, "metrics.acc", "metrics.ms", {**GOALS, "params.optimizer": "max"},
                         colour="params.optimizer")
    # a text column cannot be an objective: every value fails to parse, so every run lacks it
    assert data.missing == len(runs) and data.points.empty
    data = pareto_points(runs, "metrics.acc", "metrics.ms", GOALS, colour="params.optimizer")
    drawn = layers(draw(data))
    assert drawn["front_coloured"]["encoding"]["color"]["type"] == "nominal"
    assert data.front == pareto_front(runs, GOALS).sum() and "front_line" in drawn


def test_large_tables_are_sampled_but_keep_the_front() -> None:
    runs = chart_runs(n=3000, seed=2)
    data = pareto_points(runs, "metrics.acc", "metrics.ms", GOALS, max_points=500)
    assert data.shown == 500 and data.points["on_front"].sum() == data.front
    assert data.note.endswith("Showing 500 of 2,995 runs (every front run and a sample of the others).")
    again = pareto_points(runs, "metrics.acc", "metrics.ms", GOALS, max_points=500)
    assert again.points["run_id"].tolist() == data.points["run_id"].tolist()


def test_chart_needs_directions_for_both_axes() -> None:
    with pytest.raises(ValueError, match="No direction"):
        pareto_points(chart_runs(), "metrics.acc", "metrics.ms", {"metrics.acc": "max"})


def test_chart_module_does_not_import_streamlit() -> None:
    import subprocess
    import sys

    code = ("import sys, lens_core.runs.pareto_chart; "
            "sys.exit(1 if any(m.split('.')[0] == 'streamlit' for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_chart_of_empty_and_single_run_tables() -> None:
    goals = {"a": "max", "b": "min"}
    empty = pareto_points(pd.DataFrame({"a": [], "b": []}, dtype=float), "a", "b", goals)
    assert (empty.front, empty.missing, empty.shown, empty.note) == (0, 0, 0, None)
    single = pareto_points(pd.DataFrame({"a": [1.0], "b": [2.0]}, index=["r1"]), "a", "b", goals)
    assert single.points["run_id"].tolist() == ["r1"] and single.front == 1  # no run_id column: the index
    for data in (empty, single):
        assert "layer" in draw(data).to_dict()
