"""Model insights: evaluation and explanations of one run's logged model on its test data, computed on demand.

URL: ``?run=<run id>``. Everything is computed after training from what the run logged (see
:mod:`lens_core.insights.inputs`); results are cached per (tracker, run, test-data digest, method, options) and
shared by every session (:mod:`lens_core.ui.cache`), the charts are :mod:`lens_core.insights.charts`. Without
``run`` the page offers a picker.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lens_core.errors import LensError, RunNotFoundError
from lens_core.explorer.profile import geo_role
from lens_core.insights import charts, explain
from lens_core.insights.counterfactual import CounterfactualRequest, comparison_table
from lens_core.insights.inputs import InsightInputsError
from lens_core.insights.instances import instance_table, instances_file
from lens_core.ui import cache as cached
from lens_core.ui import explorer as explorer_ui
from lens_core.ui import shell

st.set_page_config(page_title="Model insights · ExperimentLens", page_icon=":material/insights:", layout="wide")


shell.guard_page()  # tracker faults anywhere below: a message and Retry, never a traceback
tracker = shell.tracker()
shell.sidebar_header(tracker)


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """One section failing (an odd model, a library error) shows a warning instead of taking the page down."""
    try:
        yield
    except LensError as exc:
        st.info(str(exc), icon=":material/info:")
    except Exception as exc:  # noqa: BLE001
        st.warning(f"{what} could not be computed: {type(exc).__name__}: {exc}", icon=":material/warning:")


def metric_tiles(scores: dict[str, float], names: dict[str, str]) -> None:
    shown = [(label, scores[key]) for key, label in names.items() if key in scores]
    for column, (label, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(label, f"{value:.3f}")


def chart_in(where: DeltaGenerator, title: str, chart: alt.TopLevelMixin) -> None:
    """A titled chart in a column."""
    where.markdown(f"**{title}**")
    where.altair_chart(chart, width="stretch")


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
        inp = cached.insight_inputs(tracker, run_id)
except InsightInputsError as exc:
    st.warning(f"**No model insights for this run yet.** {exc}", icon=":material/info:")
    st.markdown("Log the model and its test split in the layout ExperimentLens reads best:")
    st.code(exc.snippet, language="python" if "import" in exc.snippet else "bash")
    st.stop()

st.caption(inp.summary)
with st.expander("Where the model and data come from", icon=":material/source:"):
    st.markdown("\n".join(f"- **{part}**: {text}" for part, text in inp.source.items()))
    st.caption("Loading a logged model unpickles it, which runs code: only point ExperimentLens at trackers you "
               "trust.")

features = list(inp.X_test.columns)
numeric = [c for c in features if not explain.is_categorical(inp.X_test[c])]
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
        explain_rows = int(st.number_input("Rows for PDP / ICE", 50, 20_000, explain.PDP_ROWS, step=100,
                                           key="ins.rows"))
        perm_rows = int(st.number_input("Rows for permutation importance", 100, 50_000, explain.PERMUTATION_ROWS,
                                        step=500, key="ins.perm_rows"))
        repeats = int(st.slider("Permutation repeats", 1, 20, 5, key="ins.repeats"))
        shap_rows = int(st.number_input("Rows for SHAP (tree / linear models)", 20, 10_000, explain.SHAP_TREE_ROWS,
                                        step=50, key="ins.shap_rows"))
        kernel_rows = int(st.number_input("Rows for SHAP (other models)", 5, 500, explain.SHAP_AGNOSTIC_ROWS, step=5,
                                          key="ins.kernel_rows",
                                          help="The model-agnostic explainer costs ~200 × 30 predictions per row."))
        bins = int(st.slider("ALE bins", 5, 50, 20, key="ins.bins"))

tab_eval, tab_global, tab_local, tab_rows = st.tabs(
    [":material/fact_check: Evaluation", ":material/public: Global explanations",
     ":material/person_search: Local explanation", ":material/table_rows: Instances"])

# ---- evaluation ---------------------------------------------------------------------------------------------------
with tab_eval:
    threshold = None
    if inp.task == "binary":
        threshold = st.slider(f"Decision threshold on P(class {inp.classes[1]})", 0.0, 1.0, 0.5, 0.01,
                              key="ins.threshold",
                              help="Rows at or above it are predicted positive. Moves the matrix and the scores.")
    try:
        evaluation = cached.evaluation(tracker, inp, threshold)
    except Exception as exc:  # noqa: BLE001 - without predictions nothing else can be shown
        st.error(f"The model could not score its test data: {type(exc).__name__}: {exc}", icon=":material/error:")
        st.stop()
    if classifier:
        metric_tiles(evaluation.metrics, {"accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy",
                                          "precision": "Precision", "recall": "Recall", "f1": "F1",
                                          "f1_macro": "F1 (macro)", "roc_auc": "ROC AUC",
                                          "roc_auc_macro": "ROC AUC (macro)", "log_loss": "Log loss"})
        left, middle, right = st.columns(3)
        if evaluation.roc is not None and evaluation.pr is not None and evaluation.auc is not None:
            chart_in(left, "ROC curve", charts.roc_chart(charts.class_curves(evaluation.roc, evaluation.auc, "roc_auc"),
                                                         legend_title="class · AUC"))
            chart_in(middle, "Precision–recall curve", charts.pr_chart(
                charts.class_curves(evaluation.pr, evaluation.auc, "average_precision"), legend_title="class · AP"))
        normalise = right.toggle("Normalise by actual class", value=False, key="ins.normalise")
        chart_in(right, "Confusion matrix", charts.confusion_chart(evaluation.confusion, normalised=normalise))
        st.markdown("**Per-class report**")
        st.dataframe(evaluation.report, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")})
    else:
        metric_tiles(evaluation.metrics, {"mae": "MAE", "rmse": "RMSE", "r2": "R²", "median_ae": "Median AE",
                                          "max_error": "Max error"})
        left, middle, right = st.columns(3)
        chart_in(left, "Predicted vs actual", charts.predicted_vs_actual_chart(evaluation.predictions))
        chart_in(middle, "Residuals vs predicted", charts.residuals_chart(evaluation.predictions))
        chart_in(right, "Residual distribution", charts.residual_histogram(evaluation.predictions))
        if len(evaluation.predictions) > charts.SCATTER_POINTS:
            st.caption(f"Scatter plots show a random {charts.SCATTER_POINTS:,} rows.")

# ---- global explanations ------------------------------------------------------------------------------------------
output_label = explain.output_label(inp.model, target)
importance = pd.DataFrame({"feature": pd.Series(dtype=str), "importance": pd.Series(dtype=float),
                           "std": pd.Series(dtype=float), "metric": pd.Series(dtype=str)})
with tab_global:
    left, right = st.columns(2)
    with left, guard("Permutation importance"):
        st.markdown("**Permutation importance**")
        with st.spinner("Shuffling each feature…"):
            importance = cached.permutation_importance(tracker, inp, repeats, perm_rows)
        st.altair_chart(charts.permutation_importance_chart(importance), width="stretch")
        st.caption(f"Mean over {repeats} shuffles; the whisker is ± one standard deviation.")
    with right:
        st.markdown("**SHAP: mean |contribution|**")
        try:
            with st.spinner("Computing SHAP values…"):
                shap_result = cached.shap_values(tracker, inp, target, shap_rows, kernel_rows)
        except Exception as exc:  # noqa: BLE001 - an explainer failing must not take the page down
            shap_result = None
            st.warning(f"SHAP values could not be computed: {type(exc).__name__}: {exc}", icon=":material/warning:")
        if shap_result is not None:
            st.altair_chart(charts.shap_importance_chart(shap_result), width="stretch")
            how = ("one-hot columns summed back into their feature" if shap_result.method != "kernel" else
                   "model-agnostic, categories encoded as numbers; raise the sample in a notebook for more rows")
            st.caption(f"{shap_result.method.capitalize()} explainer on {len(shap_result.values):,} test rows; {how}.")
    if shap_result is not None:
        st.markdown("**SHAP summary** (each dot a row; colour: the feature's value, low → high)")
        st.altair_chart(charts.shap_summary_chart(shap_result), width="stretch")
        st.caption("Categorical features have no order: their dots are grey.")

    st.divider()
    left, right = st.columns(2)
    ranked = list(importance["feature"]) or features
    with left, guard("The partial dependence"):
        st.markdown("**Partial dependence with ICE**")
        pdp_feature = st.selectbox("Feature", features, index=features.index(ranked[0]), key="ins.pdp_feature")
        pdp = cached.partial_dependence(tracker, inp, pdp_feature, target, explain_rows)
        st.altair_chart(charts.pdp_chart(pdp.average, feature=pdp_feature, output=pdp.output,
                                         categorical=pdp.categorical, ice=pdp.ice), width="stretch")
        shown_ice = pdp.ice["row"].nunique() if pdp.ice is not None else 0
        st.caption(f"Red: the average over {min(len(inp.X_test), explain_rows):,} rows; grey: individual rows "
                   f"(ICE, {shown_ice} shown).")
    with right, guard("ALE"):
        st.markdown("**Accumulated local effects**")
        if not numeric:
            st.info("ALE needs a numeric feature and this model has none.")
        else:
            ale_feature = st.selectbox("Numeric feature", numeric,
                                       index=numeric.index(ranked[0]) if ranked[0] in numeric else 0,
                                       key="ins.ale_feature")
            try:
                effects = cached.ale(tracker, inp, ale_feature, target, bins)
            except explain.ExplanationError as exc:
                st.info(str(exc), icon=":material/info:")
            else:
                st.altair_chart(charts.ale_chart(effects, feature=ale_feature, output=output_label), width="stretch")
                st.caption("Shaded: 95% confidence band of each bin's local effect. Bins at quantiles.")
        if categorical := [c for c in features if c not in numeric]:
            st.caption(f"Categorical features ({', '.join(categorical)}) have no order to accumulate along: use the "
                       "partial dependence plot for them.")

    st.markdown("**Two-feature partial dependence**")
    if len(features) < 2:
        st.info("The model has a single feature.")
    else:
        with guard("The two-feature partial dependence"):
            c1, c2, _ = st.columns([1, 1, 2])
            f1 = c1.selectbox("First feature", features, index=features.index(ranked[0]), key="ins.pdp2_a")
            others = [f for f in features if f != f1]
            f2 = c2.selectbox("Second feature", others, index=others.index(next(f for f in ranked + others if f != f1)),
                              key="ins.pdp2_b")
            grid = cached.partial_dependence_2d(tracker, inp, (f1, f2), target)
            st.altair_chart(charts.pdp_2d_chart(grid, (f1, f2), output=output_label), width="stretch")

# ---- instances ----------------------------------------------------------------------------------------------------
table = instance_table(inp.X_test, inp.y_test, evaluation)
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
    if numeric:
        st.markdown("**Where the errors are**")
        c1, c2, _ = st.columns([1, 1, 2])
        x_default, y_default = charts.errors_axes(numeric)
        fx = c1.selectbox("x", numeric, index=numeric.index(x_default), key="ins.scatter_x")
        fy = c2.selectbox("y", numeric, index=numeric.index(y_default), key="ins.scatter_y")
        st.altair_chart(charts.errors_chart(table, fx, fy, classifier=classifier), width="stretch")
        if any(geo_role(c) for c in numeric):
            st.markdown("**Error map**")
            st.caption("Longitude / latitude detected: the test rows on a map through the dataset explorer — colour "
                       "by `" + ("correct" if classifier else "residual") + "`, or weight the density by it.")
            st.session_state.setdefault(f"ins.map.{run_id}.view", "Map")
            explorer_ui.explore(instances_file(tracker.uri, run_id, table), key=f"ins.map.{run_id}")

# ---- local explanation --------------------------------------------------------------------------------------------
with tab_local:
    row = int(st.number_input("Test row", 0, len(inp.X_test) - 1, key="ins.row",
                              help="Pick a row here or select it in the Instances tab."))
    st.dataframe(table.loc[[row]], hide_index=True)
    left, right = st.columns([1, 1])
    with left:
        st.markdown("**SHAP waterfall**")
        try:
            local = cached.row_shap(tracker, inp, row, target)
        except Exception as exc:  # noqa: BLE001
            st.warning(f"SHAP values could not be computed: {type(exc).__name__}: {exc}", icon=":material/warning:")
        else:
            st.altair_chart(charts.shap_waterfall_chart(local, row), width="stretch")
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
                    desired = st.selectbox("Desired class", [c for c in inp.classes if c != current],
                                           key="ins.cf_class")
                else:
                    spread = float(inp.y_test.std()) or 1.0
                    d1, d2 = st.columns(2)
                    lo = d1.number_input("Desired prediction from", value=round(float(current) + 0.5 * spread, 3),
                                         key="ins.cf_low")
                    hi = d2.number_input("to", value=round(float(current) + 1.5 * spread, 3), key="ins.cf_high")
                    desired = (float(lo), float(hi))
                submitted = st.form_submit_button("Find counterfactuals", icon=":material/search:")
            request = CounterfactualRequest(row, n_cf, tuple(vary), desired, method)
            if submitted:
                st.session_state["ins.cf_request"] = request
            if st.session_state.get("ins.cf_request") == request:
                try:
                    with st.spinner("Searching counterfactuals with dice-ml…"):
                        cf = cached.counterfactuals(tracker, inp, request)
                except LensError as exc:
                    st.warning(str(exc), icon=":material/search_off:")
                except Exception as exc:  # noqa: BLE001 - dice-ml fails in many ways on unusual models
                    st.warning(f"dice-ml failed: {type(exc).__name__}: {exc}. Try another search method or fewer "
                               "features to vary.", icon=":material/search_off:")
                else:
                    st.dataframe(comparison_table(cf), column_config={"_index": st.column_config.TextColumn("feature")})
                    note = f" ({cf.dropped} proposal(s) dropped: the model did not confirm them)" if cf.dropped else ""
                    st.caption(f"{len(cf.counterfactuals)} counterfactual(s) reaching {cf.desired}, each checked "
                               f"against the model{note}. '·' = unchanged.")
