"""Model insights: evaluation and explanations of one run's logged model on its test data, computed on demand.

URL: ``?run=<run id>``. Everything is computed after training from what the run logged (see
:mod:`lens_core.insights.inputs`); results are cached per (tracker, run, test-data digest, method, options) and
shared by every session. Without ``run`` the page offers a picker.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lens_core import insights
from lens_core.ui import cache as cached
from lens_core.ui import explorer as explorer_ui
from lens_core.ui import shell
from lens_core.errors import LensError, RunNotFoundError
from lens_core.insights import explain as ex
from lens_core.insights.inputs import InsightInputs, InsightInputsError
from lens_core.explorer.profile import geo_role

st.set_page_config(page_title="Model insights · ExperimentLens", page_icon=":material/insights:", layout="wide")

POSITIVE, NEGATIVE, NEUTRAL = "#ff4b4b", "#1c83e1", "#a3acb9"
CHART_HEIGHT = 300

shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
shell.sidebar_header(tracker)


# ---- caches (keyed by plain ids; candidates for lens_core.ui.cache) -------------------------------------------------
def _inputs(run_id: str) -> InsightInputs:
    return cached.insight_inputs(tracker, run_id)  # type: ignore[return-value]


@st.cache_data(show_spinner=False, max_entries=64)
def cached_probabilities(uri: str, run_id: str, digest: str) -> np.ndarray | None:
    inp = _inputs(run_id)
    return None if inp.task == "regression" else np.asarray(inp.model.predict_proba(inp.X_test))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_evaluation(uri: str, run_id: str, digest: str, threshold: float | None) -> insights.Evaluation:
    inp = _inputs(run_id)
    if inp.task == "regression":
        return insights.evaluate(inp.model, inp.X_test, inp.y_test)
    proba = cached_probabilities(uri, run_id, digest)
    from lens_core.insights.evaluation import classification_from_proba

    return classification_from_proba(inp.y_test.to_numpy(), proba, inp.classes, threshold=threshold)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_importance(uri: str, run_id: str, digest: str, repeats: int, rows: int) -> pd.DataFrame:
    inp = _inputs(run_id)
    return insights.permutation_importance(inp.model, inp.X_test, inp.y_test, n_repeats=repeats, max_rows=rows)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_shap(uri: str, run_id: str, digest: str, target: Any, rows: int | None,
                agnostic_rows: int = ex.SHAP_AGNOSTIC_ROWS) -> insights.ShapResult:
    inp = _inputs(run_id)
    return insights.shap_values(inp.model, inp.X_test, max_rows=rows, target=target, agnostic_rows=agnostic_rows,
                                background=inp.X_train if inp.X_train is not None else None)


@st.cache_data(show_spinner=False, max_entries=128)
def cached_pdp(uri: str, run_id: str, digest: str, feature: str, target: Any, rows: int) -> insights.PartialDependence:
    inp = _inputs(run_id)
    return insights.partial_dependence(inp.model, inp.X_test, feature, ice=True, target=target, max_rows=rows)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_pdp_2d(uri: str, run_id: str, digest: str, f1: str, f2: str, target: Any) -> pd.DataFrame:
    inp = _inputs(run_id)
    return insights.partial_dependence_2d(inp.model, inp.X_test, (f1, f2), target=target)


@st.cache_data(show_spinner=False, max_entries=128)
def cached_ale(uri: str, run_id: str, digest: str, feature: str, target: Any, bins: int) -> pd.DataFrame:
    inp = _inputs(run_id)
    return insights.ale(inp.model, inp.X_test, feature, bins=bins, target=target)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_counterfactuals(uri: str, run_id: str, digest: str, row: int, n: int, vary: tuple[str, ...],
                           desired: Any, method: str) -> insights.Counterfactuals:
    inp = _inputs(run_id)
    return insights.counterfactuals(inp.model, inp.X_train, inp.y_train, inp.X_test.iloc[[row]], n=n,
                                    features_to_vary=list(vary) or None, desired=desired, method=method)


# ---- which run ----------------------------------------------------------------------------------------------------
run_id = str(st.query_params.get("run") or "").strip()
if not run_id:
    st.title(":material/insights: Model insights")
    st.caption("Evaluation and explanations computed from a run's logged model and test data.")
    shell.run_picker(tracker, key="ins.pick_", finished_only=True)
    st.stop()

try:
    detail = tracker.run(run_id)
except RunNotFoundError as exc:  # other faults: the page guard's message and Retry
    st.title(":material/insights: Model insights")
    st.error(str(exc), icon=":material/error:")
    shell.run_picker(tracker, key="ins.pick_", finished_only=True)
    st.stop()

st.title(f":material/insights: {detail.run_name or run_id} · model insights")
st.page_link(shell.RUN_PAGE, label="Back to the run", icon=":material/arrow_back:", query_params={"run": run_id})

try:
    with st.spinner("Loading the model and test data…"):
        inp = _inputs(run_id)
except InsightInputsError as exc:
    st.warning(f"**No model insights for this run yet.** {exc}", icon=":material/info:")
    st.markdown("Log the model and its test split in the layout ExperimentLens reads best:")
    st.code(exc.snippet, language="python" if "import" in exc.snippet else "bash")
    st.stop()

uri, digest = tracker.uri, inp.digest
kind = {"binary": "binary classifier", "multiclass": f"{len(inp.classes)}-class classifier",
        "regression": "regressor"}[inp.task]
estimator = inp.model.steps[-1][1] if hasattr(inp.model, "steps") else inp.model
st.caption(f"{type(estimator).__name__} · {kind} · target `{inp.target}` · {len(inp.X_test):,} test rows × "
           f"{inp.X_test.shape[1]} features")
with st.expander("Where the model and data come from", icon=":material/source:"):
    st.markdown("\n".join(f"- **{part}**: {text}" for part, text in inp.source.items()))
    st.caption("Loading a logged model unpickles it, which runs code: only point ExperimentLens at trackers you "
               "trust.")

features = list(inp.X_test.columns)
numeric = [c for c in features if not ex.is_categorical(inp.X_test[c])]
classifier = inp.task != "regression"

# ---- budgets and the explained output -----------------------------------------------------------------------------
with st.sidebar:
    st.markdown("**Model insights**")
    target = None
    if inp.task == "multiclass":
        target = st.selectbox("Explain the probability of class", list(inp.classes), index=len(inp.classes) - 1,
                              key="ins.target")
    elif inp.task == "binary":
        st.caption(f"Explanations show the probability of class **{inp.classes[1]}**.")
    with st.expander("Budgets", icon=":material/speed:"):
        explain_rows = st.number_input("Rows for PDP / ICE", 50, 20_000, ex.PDP_ROWS, step=100, key="ins.rows")
        perm_rows = st.number_input("Rows for permutation importance", 100, 50_000, ex.PERMUTATION_ROWS, step=500,
                                    key="ins.perm_rows")
        repeats = st.slider("Permutation repeats", 1, 20, 5, key="ins.repeats")
        shap_rows = st.number_input("Rows for SHAP (tree / linear models)", 20, 10_000, ex.SHAP_TREE_ROWS, step=50,
                                    key="ins.shap_rows")
        kernel_rows = st.number_input("Rows for SHAP (other models)", 5, 500, ex.SHAP_AGNOSTIC_ROWS, step=5,
                                      key="ins.kernel_rows",
                                      help="The model-agnostic explainer costs ~200 × 30 predictions per row.")
        bins = st.slider("ALE bins", 5, 50, 20, key="ins.bins")

tab_eval, tab_global, tab_local, tab_rows = st.tabs(
    [":material/fact_check: Evaluation", ":material/public: Global explanations",
     ":material/person_search: Local explanation", ":material/table_rows: Instances"])


def quiet_axis_chart(chart: alt.Chart) -> alt.Chart:
    return chart.configure_view(strokeWidth=0).configure_axis(grid=True, gridOpacity=0.4)


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """One section failing (an odd model, a library error) shows a warning instead of taking the page down."""
    try:
        yield
    except LensError as exc:
        st.info(str(exc), icon=":material/info:")
    except Exception as exc:  # noqa: BLE001
        st.warning(f"{what} could not be computed: {type(exc).__name__}: {exc}", icon=":material/warning:")


def fmt(value: Any) -> str:
    """Numbers as people read them: integers without ".0", floats to 4 significant digits."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{float(value):.4g}"


def metric_tiles(scores: dict[str, float], names: dict[str, str]) -> None:
    shown = [(label, scores[key]) for key, label in names.items() if key in scores]
    for column, (label, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(label, f"{value:.3f}")


# ---- evaluation ---------------------------------------------------------------------------------------------------
with tab_eval:
    threshold = None
    if inp.task == "binary":
        threshold = st.slider(f"Decision threshold on P(class {inp.classes[1]})", 0.0, 1.0, 0.5, 0.01,
                              key="ins.threshold",
                              help="Rows at or above it are predicted positive. Moves the matrix and the scores.")
    try:
        evaluation = cached_evaluation(uri, run_id, digest, threshold)
    except Exception as exc:  # noqa: BLE001 - without predictions nothing else can be shown
        st.error(f"The model could not score its test data: {type(exc).__name__}: {exc}", icon=":material/error:")
        st.stop()
    if classifier:
        metric_tiles(evaluation.metrics, {"accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy",
                                          "precision": "Precision", "recall": "Recall", "f1": "F1",
                                          "f1_macro": "F1 (macro)", "roc_auc": "ROC AUC",
                                          "roc_auc_macro": "ROC AUC (macro)", "log_loss": "Log loss"})
        left, middle, right = st.columns(3)
        if evaluation.roc is not None:
            auc = evaluation.auc.set_index("class")
            roc = evaluation.roc.assign(curve=lambda d: d["class"].map(
                lambda c: f"{c} · {auc.loc[c, 'roc_auc']:.3f}"))
            diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
                strokeDash=[4, 4], color=NEUTRAL).encode(x="x", y="y")
            lines = alt.Chart(roc).mark_line(interpolate="step-after").encode(
                x=alt.X("fpr:Q", title="False positive rate"), y=alt.Y("tpr:Q", title="True positive rate"),
                color=alt.Color("curve:N", title="class · AUC", legend=alt.Legend(orient="bottom", columns=2, labelLimit=140)),
                tooltip=["curve", alt.Tooltip("fpr:Q", format=".3f"), alt.Tooltip("tpr:Q", format=".3f"),
                         alt.Tooltip("threshold:Q", format=".3f")])
            left.markdown("**ROC curve**")
            left.altair_chart(quiet_axis_chart(diagonal + lines).properties(height=CHART_HEIGHT),
                              width="stretch")
            pr = evaluation.pr.assign(curve=lambda d: d["class"].map(
                lambda c: f"{c} · {auc.loc[c, 'average_precision']:.3f}"))
            middle.markdown("**Precision–recall curve**")
            middle.altair_chart(quiet_axis_chart(alt.Chart(pr).mark_line(interpolate="step-after").encode(
                x=alt.X("recall:Q", title="Recall"), y=alt.Y("precision:Q", title="Precision",
                                                               scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("curve:N", title="class · AP", legend=alt.Legend(orient="bottom", columns=2, labelLimit=140)),
                tooltip=["curve", alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("precision:Q", format=".3f"),
                         alt.Tooltip("threshold:Q", format=".3f")],
            )).properties(height=CHART_HEIGHT), width="stretch")
        normalise = right.toggle("Normalise by actual class", value=False, key="ins.normalise")
        value = "normalized" if normalise else "count"
        confusion = evaluation.confusion
        order = [str(c) for c in inp.classes]
        base = alt.Chart(confusion).encode(
            x=alt.X("predicted:N", sort=order, title="Predicted", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("actual:N", sort=order, title="Actual"))
        heat = base.mark_rect().encode(color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues"), legend=None),
                                       tooltip=["actual", "predicted", "count",
                                                alt.Tooltip("normalized:Q", format=".1%")])
        text = base.mark_text(fontSize=13).encode(
            text=alt.Text(f"{value}:Q", format=".0%" if normalise else "d"),
            color=alt.condition(f"datum.{value} > {confusion[value].max() / 2}", alt.value("white"),
                                alt.value("#262730")))
        right.markdown("**Confusion matrix**")
        right.altair_chart(quiet_axis_chart(heat + text).properties(height=CHART_HEIGHT - 40),
                           width="stretch")
        st.markdown("**Per-class report**")
        st.dataframe(evaluation.report, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")})
    else:
        metric_tiles(evaluation.metrics, {"mae": "MAE", "rmse": "RMSE", "r2": "R²", "median_ae": "Median AE",
                                          "max_error": "Max error"})
        predictions = evaluation.predictions
        shown = predictions.sample(n=min(len(predictions), 5000), random_state=0)
        left, middle, right = st.columns(3)
        low, high = float(predictions[["actual", "predicted"]].min().min()), float(
            predictions[["actual", "predicted"]].max().max())
        identity = alt.Chart(pd.DataFrame({"x": [low, high], "y": [low, high]})).mark_line(
            strokeDash=[4, 4], color=NEUTRAL).encode(x="x", y="y")
        left.markdown("**Predicted vs actual**")
        left.altair_chart(quiet_axis_chart(identity + alt.Chart(shown).mark_circle(size=28, opacity=0.55).encode(
            x=alt.X("actual:Q", title="Actual", scale=alt.Scale(zero=False)),
            y=alt.Y("predicted:Q", title="Predicted", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip(c, format=".3f") for c in ("actual", "predicted", "residual")],
        )).properties(height=CHART_HEIGHT), width="stretch")
        middle.markdown("**Residuals vs predicted**")
        zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(y="y")
        middle.altair_chart(quiet_axis_chart(zero + alt.Chart(shown).mark_circle(size=28, opacity=0.55).encode(
            x=alt.X("predicted:Q", title="Predicted", scale=alt.Scale(zero=False)),
            y=alt.Y("residual:Q", title="Residual (actual − predicted)"),
            tooltip=[alt.Tooltip(c, format=".3f") for c in ("actual", "predicted", "residual")],
        )).properties(height=CHART_HEIGHT), width="stretch")
        right.markdown("**Residual distribution**")
        right.altair_chart(quiet_axis_chart(alt.Chart(predictions).mark_bar(color=NEGATIVE).encode(
            x=alt.X("residual:Q", bin=alt.Bin(maxbins=40), title="Residual"), y=alt.Y("count()", title="Rows"),
        )).properties(height=CHART_HEIGHT), width="stretch")
    if len(evaluation.predictions) > 5000 and not classifier:
        st.caption("Scatter plots show a random 5,000 rows.")

# ---- global explanations ------------------------------------------------------------------------------------------
def two_feature_pdp() -> None:
    c1, c2, _ = st.columns([1, 1, 2])
    ranked = list(importance["feature"]) or features
    f1 = c1.selectbox("First feature", features, index=features.index(ranked[0]), key="ins.pdp2_a")
    others = [f for f in features if f != f1]
    second = next((f for f in ranked if f != f1), others[0])
    f2 = c2.selectbox("Second feature", others, index=others.index(second), key="ins.pdp2_b")
    grid = cached_pdp_2d(uri, run_id, digest, f1, f2, target)
    kinds = {f: ("N" if ex.is_categorical(inp.X_test[f]) else "O") for f in (f1, f2)}
    shown = grid.assign(**{f: grid[f].map(lambda v: f"{v:.4g}" if isinstance(v, float) else str(v))
                           for f in (f1, f2)})
    st.altair_chart(quiet_axis_chart(alt.Chart(shown).mark_rect().encode(
        x=alt.X(f"{f1}:{kinds[f1]}", sort=None, title=f1, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y(f"{f2}:{kinds[f2]}", sort=None, title=f2),
        color=alt.Color("average:Q", scale=alt.Scale(scheme="redblue", reverse=True), title=output_label),
        tooltip=[f1, f2, alt.Tooltip("average:Q", format=".4f")],
    )).properties(height=CHART_HEIGHT), width="stretch")


output_label = ex.output_label(inp.model, target)
importance = pd.DataFrame({"feature": pd.Series(dtype=str), "importance": pd.Series(dtype=float),
                           "std": pd.Series(dtype=float), "metric": pd.Series(dtype=str)})
with tab_global:
    left, right = st.columns(2)
    with left, guard("Permutation importance"):
        st.markdown("**Permutation importance**")
        with st.spinner("Shuffling each feature…"):
            importance = cached_importance(uri, run_id, digest, int(repeats), int(perm_rows))
        metric_name = importance["metric"].iloc[0]
        importance = importance.assign(low=lambda d: d.importance - d["std"], high=lambda d: d.importance + d["std"])
        bars = alt.Chart(importance).mark_bar(color=NEGATIVE).encode(
            x=alt.X("importance:Q", title=f"Drop in {metric_name} when shuffled"),
            y=alt.Y("feature:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
            tooltip=["feature", alt.Tooltip("importance:Q", format=".4f"), alt.Tooltip("std:Q", format=".4f")])
        errors = alt.Chart(importance).mark_rule(color="#262730").encode(x="low:Q", x2="high:Q",
                                                                          y=alt.Y("feature:N", sort=None))
        st.altair_chart(quiet_axis_chart((bars + errors).properties(height=alt.Step(22))),
                        width="stretch")
        st.caption(f"Mean over {int(repeats)} shuffles; the whisker is ± one standard deviation.")
    with right:
        st.markdown("**SHAP: mean |contribution|**")
        try:
            with st.spinner("Computing SHAP values…"):
                shap_result = cached_shap(uri, run_id, digest, target, int(shap_rows), int(kernel_rows))
        except Exception as exc:  # noqa: BLE001 - an explainer failing must not take the page down
            shap_result = None
            st.warning(f"SHAP values could not be computed: {type(exc).__name__}: {exc}", icon=":material/warning:")
        if shap_result is not None:
            mean_abs = shap_result.importance()
            st.altair_chart(quiet_axis_chart(alt.Chart(mean_abs).mark_bar(color=POSITIVE).encode(
                x=alt.X("mean_abs_shap:Q", title=f"Mean |SHAP| ({shap_result.output})"),
                y=alt.Y("feature:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
                tooltip=["feature", alt.Tooltip("mean_abs_shap:Q", format=".4f")],
            ).properties(height=alt.Step(22))), width="stretch")
            how = ("one-hot columns summed back into their feature" if shap_result.method != "kernel" else
                   "model-agnostic, categories encoded as numbers; raise the sample in a notebook for more rows")
            st.caption(f"{shap_result.method.capitalize()} explainer on {len(shap_result.values):,} test rows; {how}.")
    if shap_result is not None:
        st.markdown("**SHAP summary** (each dot a row; colour: the feature's value, low → high)")
        long = shap_result.long()
        order = list(mean_abs["feature"])
        long = long[long.feature.isin(order[:15])].assign(value_rank=lambda d: d["value_rank"].fillna(0.5))
        swarm = alt.Chart(long).mark_circle(size=22, opacity=0.7).encode(
            x=alt.X("shap:Q", title=f"SHAP value ({shap_result.output})"),
            y=alt.Y("feature:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
            yOffset=alt.YOffset("jitter:Q"),
            color=alt.Color("value_rank:Q", scale=alt.Scale(range=[NEGATIVE, "#d6d6d6", POSITIVE]),
                            legend=alt.Legend(title="value", format=".0%", orient="right")),
            tooltip=["feature", "value", alt.Tooltip("shap:Q", format=".4f")],
        ).transform_calculate(jitter="random()").properties(height=alt.Step(34))
        st.altair_chart(quiet_axis_chart(swarm), width="stretch")
        st.caption("Categorical features have no order: their dots are grey.")

    st.divider()
    left, right = st.columns(2)
    default_feature = str(importance["feature"].iloc[0]) if len(importance) else features[0]
    with left, guard("The partial dependence"):
        st.markdown("**Partial dependence with ICE**")
        pdp_feature = st.selectbox("Feature", features, index=features.index(default_feature), key="ins.pdp_feature")
        pdp = cached_pdp(uri, run_id, digest, pdp_feature, target, int(explain_rows))
        if pdp.categorical:
            points = pdp.average.assign(value=lambda d: d["value"].astype(str))
            chart = alt.Chart(pdp.ice.assign(value=lambda d: d["value"].astype(str))).mark_tick(
                color=NEUTRAL, opacity=0.4).encode(x=alt.X("value:N", title=pdp_feature, axis=alt.Axis(labelAngle=0)),
                                                   y=alt.Y("prediction:Q", title=pdp.output))
            chart = chart + alt.Chart(points).mark_point(filled=True, size=90, color=POSITIVE).encode(
                x="value:N", y="average:Q", tooltip=["value", alt.Tooltip("average:Q", format=".4f")])
        else:
            chart = alt.Chart(pdp.ice).mark_line(color=NEUTRAL, opacity=0.25, strokeWidth=1).encode(
                x=alt.X("value:Q", title=pdp_feature, scale=alt.Scale(zero=False)),
                y=alt.Y("prediction:Q", title=pdp.output), detail="row:N")
            chart = chart + alt.Chart(pdp.average).mark_line(color=POSITIVE, strokeWidth=3).encode(
                x="value:Q", y="average:Q", tooltip=[alt.Tooltip("value:Q", format=".4g"),
                                                     alt.Tooltip("average:Q", format=".4f")])
        st.altair_chart(quiet_axis_chart(chart).properties(height=CHART_HEIGHT), width="stretch")
        st.caption(f"Red: the average over {min(len(inp.X_test), int(explain_rows)):,} rows; grey: individual rows "
                   f"(ICE, {pdp.ice['row'].nunique()} shown).")
    with right, guard("ALE"):
        st.markdown("**Accumulated local effects**")
        if not numeric:
            st.info("ALE needs a numeric feature and this model has none.")
        else:
            ale_feature = st.selectbox("Numeric feature", numeric,
                                       index=numeric.index(default_feature) if default_feature in numeric else 0,
                                       key="ins.ale_feature")
            try:
                effects = cached_ale(uri, run_id, digest, ale_feature, target, int(bins))
            except ex.ExplanationError as exc:
                st.info(str(exc), icon=":material/info:")
            else:
                band = alt.Chart(effects.dropna(subset=["lower"])).mark_area(color=POSITIVE, opacity=0.18).encode(
                    x=alt.X("edge:Q", title=ale_feature, scale=alt.Scale(zero=False)),
                    y=alt.Y("lower:Q", title=f"Effect on {output_label} (centred)"), y2="upper:Q")
                line = alt.Chart(effects).mark_line(color=POSITIVE, strokeWidth=3, point=True).encode(
                    x="edge:Q", y="ale:Q", tooltip=[alt.Tooltip("edge:Q", format=".4g"),
                                                    alt.Tooltip("ale:Q", format=".4f"), "count"])
                st.altair_chart(quiet_axis_chart(band + line).properties(height=CHART_HEIGHT),
                                width="stretch")
                st.caption("Shaded: 95% confidence band of each bin's local effect. Bins at quantiles.")
        categorical = [c for c in features if c not in numeric]
        if categorical:
            st.caption(f"Categorical features ({', '.join(categorical)}) have no order to accumulate along: use the "
                       "partial dependence plot for them.")

    st.markdown("**Two-feature partial dependence**")
    if len(features) < 2:
        st.info("The model has a single feature.")
    else:
        with guard("The two-feature partial dependence"):
            two_feature_pdp()

# ---- instances ----------------------------------------------------------------------------------------------------
table = inp.X_test.copy()
table.insert(0, "actual", inp.y_test.to_numpy())
if classifier:
    table.insert(1, "predicted", evaluation.predictions["predicted"].to_numpy())
    if inp.task == "binary":
        table.insert(2, f"P({inp.classes[1]})", evaluation.predictions[f"proba_{inp.classes[1]}"].to_numpy())
    else:
        table.insert(2, "confidence", evaluation.predictions["confidence"].to_numpy())
    table.insert(3, "correct", evaluation.predictions["correct"].to_numpy())
else:
    table.insert(1, "predicted", evaluation.predictions["predicted"].to_numpy())
    table.insert(2, "residual", evaluation.predictions["residual"].to_numpy())

with tab_rows:
    if classifier:
        only_wrong = st.toggle("Only misclassified rows", value=False, key="ins.only_wrong")
        shown = table[~table["correct"]] if only_wrong else table
        st.caption(f"{int((~table['correct']).sum()):,} of {len(table):,} test rows misclassified"
                   + (f" at threshold {threshold:.2f}" if threshold is not None else "") + ".")
    else:
        shown = table.reindex(table["residual"].abs().sort_values(ascending=False).index)
        st.caption("Largest errors first.")
    event = st.dataframe(shown, key="ins.rows_table", on_select="rerun", selection_mode="single-row", height=320,
                         column_config={"correct": st.column_config.CheckboxColumn("correct")})
    if event and event.selection and event.selection.rows:
        picked_row = int(shown.index[event.selection.rows[0]])
        if st.session_state.get("ins.picked") != picked_row:  # a new pick moves the local explanation to it
            st.session_state["ins.picked"] = st.session_state["ins.row"] = picked_row
        st.caption(f"Row {picked_row} selected: see the *Local explanation* tab.")
    if len(numeric) >= 1:
        st.markdown("**Where the errors are**")
        c1, c2, _ = st.columns([1, 1, 2])
        lat_lon = [c for c in numeric if geo_role(c)]
        x_default = next((c for c in lat_lon if geo_role(c) == "lon"), numeric[0])
        y_choices = [c for c in numeric if c != x_default] or numeric
        y_default = next((c for c in lat_lon if geo_role(c) == "lat"), y_choices[0])
        fx = c1.selectbox("x", numeric, index=numeric.index(x_default), key="ins.scatter_x")
        fy = c2.selectbox("y", numeric, index=numeric.index(y_default) if y_default in numeric else 0,
                          key="ins.scatter_y")
        points = table.sample(n=min(len(table), 5000), random_state=0)
        colour = (alt.Color("correct:N", scale=alt.Scale(domain=[True, False], range=[NEUTRAL, POSITIVE]),
                            title="correct") if classifier else
                  alt.Color("residual:Q", scale=alt.Scale(scheme="redblue", domainMid=0), title="residual"))
        st.altair_chart(quiet_axis_chart(alt.Chart(points).mark_circle(size=30, opacity=0.7).encode(
            x=alt.X(f"{fx}:Q", scale=alt.Scale(zero=False)), y=alt.Y(f"{fy}:Q", scale=alt.Scale(zero=False)),
            color=colour, tooltip=list(points.columns[:4]) + [fx, fy],
        )).properties(height=CHART_HEIGHT + 60), width="stretch")
        if lat_lon:
            st.markdown("**Error map**")
            st.caption("Longitude / latitude detected: the test rows on a map through the dataset explorer — colour "
                       "by `" + ("correct" if classifier else "residual") + "`, or weight the density by it.")
            errors_file = cached.instances_file(tracker.uri, run_id, table)
            st.session_state.setdefault(f"ins.map.{run_id}.view", "Map")
            explorer_ui.explore(errors_file, key=f"ins.map.{run_id}")

# ---- local explanation --------------------------------------------------------------------------------------------
with tab_local:
    row = int(st.number_input("Test row", 0, len(inp.X_test) - 1, key="ins.row",
                              help="Pick a row here or select it in the Instances tab."))
    record = table.loc[[row]]
    st.dataframe(record, hide_index=True)
    left, right = st.columns([1, 1])
    with left:
        st.markdown("**SHAP waterfall**")
        try:
            local = insights.shap_values(inp.model, inp.X_test.iloc[[row]], target=target,
                                         background=inp.X_train if inp.X_train is not None else inp.X_test)
        except Exception as exc:  # noqa: BLE001
            local = None
            st.warning(f"SHAP values could not be computed: {type(exc).__name__}: {exc}", icon=":material/warning:")
        if local is not None:
            steps = local.waterfall(row, top=10)
            steps["direction"] = np.where(steps["shap"] >= 0, "raises", "lowers")
            steps["low"] = steps[["start", "end"]].min(axis=1)
            steps["high"] = steps[["start", "end"]].max(axis=1)
            bars = alt.Chart(steps).mark_bar().encode(
                y=alt.Y("feature:N", sort=None, title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
                x=alt.X("low:Q", title=local.output, scale=alt.Scale(zero=False)), x2="high:Q",
                color=alt.Color("direction:N", scale=alt.Scale(domain=["raises", "lowers"],
                                                                range=[POSITIVE, NEGATIVE]), title=None,
                                legend=alt.Legend(orient="bottom")),
                tooltip=["feature", alt.Tooltip("shap:Q", format="+.4f"), alt.Tooltip("end:Q", format=".4f")])
            rules = alt.Chart(pd.DataFrame({"x": [local.base_value, float(local.prediction[0])],
                                            "what": ["base value", "this row"]})).mark_rule(
                strokeDash=[4, 4], color="#262730").encode(x="x:Q", tooltip=["what", alt.Tooltip("x:Q", format=".4f")])
            st.altair_chart(quiet_axis_chart((bars + rules).properties(height=alt.Step(28))),
                            width="stretch")
            st.caption(f"From the base value {local.base_value:.4f} (average over the background) to "
                       f"{float(local.prediction[0]):.4f} for this row ({local.output}; {local.method} explainer).")
    with right:
        st.markdown("**Counterfactuals**")
        if inp.X_train is None:
            st.info("Counterfactuals search the training data: log explainability/X_train.csv and Y_train.csv "
                    "(`log_insights(..., X_train=X_train, y_train=y_train)`).", icon=":material/info:")
        else:
            with st.form("ins.cf_form", border=False):
                c1, c2 = st.columns(2)
                n_cf = c1.slider("How many", 1, 6, 3, key="ins.cf_n")
                method = c2.selectbox("Search", ["random", "genetic", "kdtree"], key="ins.cf_method",
                                      help="dice-ml's method: random is fastest, kdtree returns training rows.")
                vary = st.multiselect("Features that may change (none chosen: all)", features, key="ins.cf_vary")
                current = table.loc[row, "predicted"]
                if inp.task == "binary":
                    desired: Any = "opposite"
                    st.caption(f"Desired: the other class than the predicted **{current}**.")
                elif inp.task == "multiclass":
                    options = [c for c in inp.classes if c != current]
                    desired = st.selectbox("Desired class", options, key="ins.cf_class")
                else:
                    spread = float(inp.y_test.std()) or 1.0
                    d1, d2 = st.columns(2)
                    lo = d1.number_input("Desired prediction from", value=round(float(current) + 0.5 * spread, 3),
                                         key="ins.cf_low")
                    hi = d2.number_input("to", value=round(float(current) + 1.5 * spread, 3), key="ins.cf_high")
                    desired = (float(lo), float(hi))
                submitted = st.form_submit_button("Find counterfactuals", icon=":material/search:")
            request = (row, n_cf, tuple(vary), desired, method)
            if submitted:
                st.session_state["ins.cf_request"] = request
            if st.session_state.get("ins.cf_request") == request:
                try:
                    with st.spinner("Searching counterfactuals with dice-ml…"):
                        cf = cached_counterfactuals(uri, run_id, digest, *request)
                except LensError as exc:
                    st.warning(str(exc), icon=":material/search_off:")
                except Exception as exc:  # noqa: BLE001 - dice-ml fails in many ways on unusual models
                    st.warning(f"dice-ml failed: {type(exc).__name__}: {exc}. Try another search method or fewer "
                               "features to vary.", icon=":material/search_off:")
                else:
                    changed = list(dict.fromkeys(cf.diff["feature"]))
                    shown_rows = changed + ["prediction"]
                    wide = pd.DataFrame({"original": [fmt(cf.original.at[0, c]) for c in shown_rows]},
                                        index=shown_rows)
                    for k, cf_row in cf.counterfactuals.iterrows():
                        wide[f"CF {k + 1}"] = [
                            (fmt(cf_row[c]) if fmt(cf_row[c]) != fmt(cf.original.at[0, c]) else "·")
                            if c != "prediction" else fmt(cf_row[c]) for c in shown_rows]
                    st.dataframe(wide, column_config={"_index": st.column_config.TextColumn("feature")})
                    note = f" ({cf.dropped} proposal(s) dropped: the model did not confirm them)" if cf.dropped else ""
                    st.caption(f"{len(cf.counterfactuals)} counterfactual(s) reaching {cf.desired}, each checked "
                               f"against the model{note}. '·' = unchanged.")
