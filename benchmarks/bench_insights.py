"""Model insights on a 10k-row test set with a 200-tree random forest inside a categorical Pipeline.

``python -m benchmarks.bench_insights [--rows 10000] [--trees 200]`` times each insights function with the page's
default budgets, then the cached reopen (the same call through ``st.cache_data``, as the page makes it).
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "tenure": rng.integers(1, 72, rows).astype(float),
        "charges": rng.normal(60, 20, rows).round(2),
        "calls": rng.poisson(1.5, rows).astype(float),
        "usage": rng.gamma(2.0, 8.0, rows).round(1),
        "age": rng.integers(18, 80, rows).astype(float),
        "plan": rng.choice(["basic", "standard", "premium"], rows),
        "contract": rng.choice(["monthly", "one-year", "two-year"], rows),
        "region": rng.choice(["north", "south", "east", "west", "central"], rows),
    })
    logit = (-0.04 * X.tenure + 0.02 * (X.charges - 60) + 0.4 * X.calls + 1.1 * (X.contract == "monthly")
             + 0.8 * ((X.plan == "premium") & (X.calls >= 2)) - 0.5)
    y = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int), name="churned")
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="test rows (training uses the same number)")
    parser.add_argument("--trees", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from lens_core import insights

    X, y = make_data(2 * args.rows)
    X_train, y_train, X_test, y_test = X[: args.rows], y[: args.rows], X[args.rows:], y[args.rows:]
    X_test, y_test = X_test.reset_index(drop=True), y_test.reset_index(drop=True)
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    pre = ColumnTransformer([("num", StandardScaler(), numeric),
                             ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                              [c for c in X.columns if c not in numeric])])
    model = Pipeline([("preprocess", pre), ("model", RandomForestClassifier(
        n_estimators=args.trees, max_depth=10, min_samples_leaf=5, n_jobs=1, random_state=0))])
    began = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"fit: {time.perf_counter() - began:.1f} s ({args.trees} trees, {args.rows:,} rows)\n")

    import streamlit as st

    began = time.perf_counter()
    import dice_ml  # noqa: F401
    import shap  # noqa: F401

    print(f"import shap + dice_ml (once per process): {time.perf_counter() - began:.1f} s\n")

    calls = {
        "evaluate (ROC, PR, confusion, report)": lambda: insights.evaluate(model, X_test, y_test),
        "permutation_importance (5 repeats, 2,000 rows)": lambda: insights.permutation_importance(
            model, X_test, y_test),
        "shap_values (tree, 200 rows)": lambda: insights.shap_values(model, X_test, background=X_train),
        "partial_dependence + ICE (1,000 rows × 20 grid)": lambda: insights.partial_dependence(
            model, X_test, "tenure", ice=True),
        "partial_dependence_2d (300 rows × 10×10 grid)": lambda: insights.partial_dependence_2d(
            model, X_test, ("tenure", "plan")),
        "ale (20 bins, 5,000 rows)": lambda: insights.ale(model, X_test, "charges"),
        "counterfactuals (dice-ml random, 3)": lambda: insights.counterfactuals(
            model, X_train, y_train, X_test.iloc[[0]], n=3),
    }
    print("| method | first call | cached reopen |\n|---|---|---|")
    for name, call in calls.items():
        cached = st.cache_data(show_spinner=False)(lambda key, call=call: call())
        began = time.perf_counter()
        cached(name)
        first = time.perf_counter() - began
        began = time.perf_counter()
        cached(name)
        again = time.perf_counter() - began
        print(f"| {name} | {first:.2f} s | {again * 1000:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
