"""The surrogate on experiments whose metric is a known function of two params."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens_core.insights import hyperparams as hp


def synthetic_runs(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """metric = 3·(lr−0.5)² (a bowl) + 1.5 if optimizer == "adam", plus noise; depth and seed are irrelevant."""
    rng = np.random.default_rng(seed)
    lr = rng.uniform(0, 1, n)
    optimizer = rng.choice(["adam", "sgd", "rmsprop"], n)
    depth = rng.integers(2, 10, n)
    noise = rng.normal(0, 0.05, n)
    loss = 3 * (lr - 0.5) ** 2 + np.where(optimizer == "adam", 0, 1.5) + noise
    return pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)],
        "status": "FINISHED",
        "metrics.val_loss": loss,
        "params.lr": [f"{v:.4f}" for v in lr],
        "params.optimizer": optimizer,
        "params.depth": depth.astype(str),
        "params.seed": rng.integers(0, 1000, n).astype(str),
        "params.constant": "x",
    })


@pytest.fixture(scope="module")
def surrogate() -> hp.Surrogate:
    return hp.fit_surrogate(synthetic_runs(), "metrics.val_loss")


def test_surrogate_is_trustworthy_and_knows_direction(surrogate):
    assert surrogate.cv_r2 > 0.8
    assert not surrogate.higher_is_better
    assert set(surrogate.params) == {"params.lr", "params.optimizer", "params.depth", "params.seed"}
    assert "params.optimizer" in surrogate.categorical and "params.lr" in surrogate.numeric


def test_the_two_driving_params_rank_on_top(surrogate):
    importance = hp.param_importance(surrogate)
    assert set(importance["param"][:2]) == {"params.lr", "params.optimizer"}
    assert (importance["importance"][2:] < 0.05).all()


def test_pdp_recovers_the_bowl(surrogate):
    pdp = hp.partial_dependence(surrogate, "params.lr")
    truth = 3 * (pdp["value"].astype(float) - 0.5) ** 2
    shape = pdp["prediction"] - pdp["prediction"].mean()
    assert np.max(np.abs(shape - (truth - truth.mean()))) < 0.25
    assert np.corrcoef(shape, truth)[0, 1] > 0.95
    categorical = hp.partial_dependence(surrogate, "params.optimizer").set_index("value")["prediction"]
    assert categorical["sgd"] - categorical["adam"] == pytest.approx(1.5, abs=0.3)


def test_partial_dependence_is_the_mean_prediction_with_the_param_imposed(surrogate):
    """Checked one setting at a time against the surrogate itself, for one and two params."""
    def by_hand(settings: dict) -> float:
        X = surrogate.X.copy()
        for column, value in settings.items():
            X[column] = value
        return float(np.mean(surrogate.predict(X)))

    pdp = hp.partial_dependence(surrogate, "params.lr")
    assert pdp["prediction"].tolist() == pytest.approx([by_hand({"params.lr": v}) for v in pdp["value"]])
    pair = hp.partial_dependence_2d(surrogate, "params.optimizer", "params.depth", points=4)
    assert len(pair) == 3 * 4
    assert pair["prediction"].tolist() == pytest.approx(
        [by_hand({"params.optimizer": a, "params.depth": b}) for a, b in zip(pair["params.optimizer"],
                                                                               pair["params.depth"])])


def test_an_id_like_param_is_drawn_at_its_most_frequent_values_only():
    """A categorical param with a value per run (thousands of settings) is evaluated at MAX_CATEGORIES values."""
    runs = synthetic_runs(n=300)
    runs["params.tag"] = [f"t{i % 100}" for i in range(300)]
    runs.loc[:20, "params.tag"] = "common"
    s = hp.fit_surrogate(runs, "metrics.val_loss")
    pdp = hp.partial_dependence(s, "params.tag")
    assert len(pdp) == hp.MAX_CATEGORIES and "common" in set(pdp["value"])


def test_ale_recovers_the_bowl(surrogate):
    effects = hp.ale(surrogate, "params.lr", bins=8)
    centres = (effects["low"] + effects["high"]) / 2
    assert effects["count"].sum() == surrogate.n_runs
    truth = 3 * (effects["high"] - 0.5) ** 2
    assert np.corrcoef(effects["ale"], truth)[0, 1] > 0.9
    assert centres.is_monotonic_increasing
    with pytest.raises(ValueError, match="categorical"):
        hp.ale(surrogate, "params.optimizer")


def test_rank_correlations(surrogate):
    table = hp.rank_correlations(surrogate).set_index("param")
    assert table.loc["params.optimizer", "eta"] > 0.8
    assert abs(table.loc["params.seed", "spearman"]) < 0.3
    assert (table["note"] == "").all()


def test_an_id_like_categorical_param_gets_no_eta_but_a_note():
    rng = np.random.default_rng(3)
    runs = pd.DataFrame({"run_id": [f"r{i}" for i in range(40)], "status": "FINISHED",
                         "params.tag": [f"job-{i}" for i in range(40)],
                         "params.opt": ["adam", "sgd"] * 20, "metrics.acc": rng.normal(size=40)})
    table = hp.correlations(runs, "metrics.acc").set_index("param")
    assert np.isnan(table.loc["params.tag", "eta"])  # it was 1.00: one run per value explains everything
    assert table.loc["params.tag", "note"] == "a value per run"
    assert 0 <= table.loc["params.opt", "eta"] < 1 and table.loc["params.opt", "note"] == ""


def test_two_param_pdp(surrogate):
    grid = hp.partial_dependence_2d(surrogate, "params.lr", "params.optimizer", points=6)
    assert set(grid.columns) == {"params.lr", "params.optimizer", "prediction"}
    best = grid.loc[grid["prediction"].idxmin()]
    assert best["params.optimizer"] == "adam" and abs(float(best["params.lr"]) - 0.5) < 0.25


def test_suggestions_are_untried_and_good(surrogate):
    top = hp.suggestions(surrogate, n=3)
    assert len(top) == 3 and (top["params.optimizer"] == "adam").all()
    assert top["predicted"].is_monotonic_increasing  # lower is better for a loss
    tried = set(map(tuple, surrogate.X.astype(object).itertuples(index=False)))
    assert not any(tuple(r) in tried for r in top[list(surrogate.params)].astype(object).itertuples(index=False))


def test_too_few_runs_is_refused_clearly():
    with pytest.raises(hp.TooFewRunsError, match="at least 12"):
        hp.fit_surrogate(synthetic_runs(n=8), "metrics.val_loss")
    runs = synthetic_runs(n=30).assign(**{"params.lr": "0.1", "params.optimizer": "adam", "params.depth": "3",
                                          "params.seed": "1"})
    with pytest.raises(hp.TooFewRunsError, match="No param varies"):
        hp.fit_surrogate(runs, "metrics.val_loss")


def test_params_missing_on_some_runs():
    runs = synthetic_runs(n=60)
    runs.loc[runs.index[:20], "params.depth"] = np.nan  # another model family without this param
    s = hp.fit_surrogate(runs, "metrics.val_loss")
    assert "params.depth" in s.numeric and s.X["params.depth"].isna().sum() == 20
    assert not hp.partial_dependence(s, "params.depth").empty


def test_suggestions_respect_model_families():
    runs = synthetic_runs(n=80)
    family_b = runs.index % 2 == 1
    runs.loc[family_b, "params.depth"] = np.nan  # family B never logs depth …
    runs.loc[~family_b, "params.optimizer"] = np.nan  # … family A never logs optimizer
    s = hp.fit_surrogate(runs, "metrics.val_loss")
    top = hp.suggestions(s, n=10)
    for row in top.to_dict("records"):
        has_depth = not np.isnan(row["params.depth"])
        has_optimizer = row["params.optimizer"] != hp.MISSING
        assert has_depth != has_optimizer  # never a setting that mixes the two families


def test_suggestions_use_observed_values_and_interpolations_are_listed_apart():
    runs = synthetic_runs(n=60)
    runs["params.lr"] = runs["params.lr"].astype(float).round(1).astype(str)  # 11 observed values
    s = hp.fit_surrogate(runs, "metrics.val_loss")
    upcoming = hp.look_next(s, n=8)
    assert set(upcoming.observed["params.lr"]) <= set(s.X["params.lr"])  # never 0.12 or 8.2 in this list
    assert set(upcoming.observed["params.depth"]) <= set(s.X["params.depth"])
    between = upcoming.interpolated
    assert not between.empty
    off_grid = np.logical_or.reduce([~between[p].isin(s.X[p]) for p in s.numeric])
    assert off_grid.all() and (between["params.depth"] % 1 == 0).all()  # integer params stay whole
    assert upcoming.untried is None or upcoming.untried > 0


def test_a_complete_grid_is_exhausted():
    import itertools

    rows = [{"run_id": f"r{i}", "status": "FINISHED", "params.a": str(a), "params.b": b,
             "metrics.loss": a + (b == "x")} for i, (a, b) in enumerate(itertools.product(range(6), ["x", "y"]))]
    s = hp.fit_surrogate(pd.DataFrame(rows), "metrics.loss")
    upcoming = hp.look_next(s)
    assert upcoming.exhausted and upcoming.combinations == 12 and upcoming.observed.empty


def test_direction_comes_from_the_shared_rule_and_can_be_overridden():
    runs = synthetic_runs(n=30).rename(columns={"metrics.val_loss": "metrics.neg_log_loss"})
    s = hp.fit_surrogate(runs, "metrics.neg_log_loss")
    assert s.higher_is_better  # sklearn's negated loss: higher is better, as on every page
    assert not hp.oriented(s, "min").higher_is_better and hp.oriented(s, "max") is s


def test_correlations_need_no_surrogate_and_equal_scipy(surrogate):
    """The page shows them before the fit: the same table as the fitted study's, ρ as scipy computes it."""
    from scipy.stats import spearmanr

    runs = synthetic_runs()
    quick = hp.correlations(runs, "metrics.val_loss")
    pd.testing.assert_frame_equal(quick, hp.rank_correlations(surrogate))
    rho = quick.set_index("param").loc["params.depth", "spearman"]  # integer values: ties, average ranks
    assert rho == pytest.approx(spearmanr(runs["params.depth"].astype(float), runs["metrics.val_loss"]).statistic)
