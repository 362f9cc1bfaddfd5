"""Model insights: evaluation and explanations of one run's logged model on its test data, computed on demand.

URL: ``?run=<run id>`` plus the view: ``tab`` (evaluation, global, local, instances), ``class`` (the explained class),
``threshold``, ``normalise``, ``pdp`` / ``ale`` / ``pair`` (features), ``row`` (the explained test row), ``wrong``,
``x`` / ``y`` (the error plot) and the budgets (``rows``, ``perm_rows``, ``repeats``, ``shap_rows``, ``kernel_rows``,
``bins``). Only the open tab is computed. Results are cached per (tracker, run, test-data digest, method, options)
and shared by every session (:mod:`lens_core.ui.cache`); long computations run in cached pieces behind a progress
bar. The charts are :mod:`lens_core.insights.charts`. Without ``run`` the page offers a picker.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import altair as alt
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lens_core.errors import LensError, RunNotFoundError
from lens_core.explorer.profile import geo_role
from lens_core.format import format_number, full_precision, plural, run_label
from lens_core.insights import charts, explain
from lens_core.insights.counterfactual import CounterfactualRequest, comparison_table
from lens_core.insights.inputs import InsightInputsError, ModelLoadError
from lens_core.insights.instances import instance_table, instances_file
from lens_core.ui import cache as cached
from lens_core.ui import explorer as explorer_ui
from lens_core.ui import links, shell
from lens_core.ui.progress import reserve, steps
from lens_core.ui.tiles import Tile, tiles

st.set_page_config(page_title="Model insights · ExperimentLens", page_icon=":material/insights:", layout="wide")

TABS = {"evaluation": ":material/fact_check: Evaluation", "global": ":material/public: Global explanations",
        "local": ":material/person_search: Local explanation", "instances": ":material/table_rows: Instances"}
CLASSIFIER_TILES = {"accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "precision": "Precision",
                    "recall": "Recall", "f1": "F1", "f1_macro": "F1 (macro)", "roc_auc": "ROC AUC",
                    "roc_auc_macro": "ROC AUC (macro)", "log_loss": "Log loss"}
REGRESSOR_TILES = {"mae": "MAE", "rmse": "RMSE", "r2": "R²", "median_ae": "Median AE", "max_error": "Max error"}
KEPT = "ins.kept."  # widget values kept while their tab is closed (Streamlit forgets widgets it did not draw)
DEFAULTS: dict[str, Any] = {}  # widget key -> its default in this run: the link leaves defaults out

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


def state(key: str, param: str, default: Any, *, options: Sequence[Any] | None = None,
          parse: Callable[[str], Any] | None = None, label: str | None = None) -> None:
    """Seed a widget's value: from the link when it is new, else as kept while its tab was closed, else the
    default. Values that no longer fit the options fall back to the default."""
    DEFAULTS[key] = default
    links.restore(key, param, options=options, parse=parse, label=label)
    value = st.session_state.get(key, st.session_state.get(KEPT + key, default))
    st.session_state[key] = value if options is None or value in options else default


def keep(*keys: str) -> None:
    for key in keys:
        if key in st.session_state:
            st.session_state[KEPT + key] = st.session_state[key]


def kept(key: str) -> Any:
    return st.session_state.get(key, st.session_state.get(KEPT + key))


def in_range(low: float, high: float, kind: type = float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value
    return parse


def metric_tiles(scores: dict[str, float], names: dict[str, str]) -> None:
    tiles([Tile(label, format_number(scores[key]), full_precision(scores[key])) for key, label in names.items()
           if key in scores])


def chart_in(where: DeltaGenerator, title: str, chart: alt.TopLevelMixin) -> None:
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

st.title(f":material/insights: {run_label(detail.run_name, run_id)} · model insights", anchor=False)
head = st.columns([4, 1], vertical_alignment="center")
head[0].page_link(shell.RUN_PAGE, label="Back to the run", icon=":material/arrow_back:", query_params={"run": run_id})
notes_slot = st.empty()  # what of an opened link no longer applies, said at the top once the page knows
try:
    with st.spinner("Loading the model and test data…"):
        inp = cached.insight_inputs(tracker, run_id)
except ModelLoadError as exc:
    st.error(f"**The model cannot be loaded here.** {exc}", icon=":material/error:")
    st.code(exc.snippet, language="bash")
    st.stop()
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
last_row = len(inp.X_test) - 1

# ---- the explained output and the budgets -------------------------------------------------------------------------
BUDGETS = {  # key: (URL param, label, min, max, default, step)
    "ins.rows": ("rows", "Rows for PDP / ICE", 50, 20_000, explain.PDP_ROWS, 100),
    "ins.perm_rows": ("perm_rows", "Rows for permutation importance", 100, 50_000, explain.PERMUTATION_ROWS, 500),
    "ins.shap_rows": ("shap_rows", "Rows for SHAP (tree / linear models)", 20, 10_000, explain.SHAP_TREE_ROWS, 50),
    "ins.kernel_rows": ("kernel_rows", "Rows for SHAP (other models)", 5, 500, explain.SHAP_AGNOSTIC_ROWS, 5),
}
with st.sidebar:
    st.markdown("**Model insights**")
    target = None
    if inp.task == "multiclass":
        state("ins.target", "class", inp.classes[-1], options=list(inp.classes), parse=type(inp.classes[0]),
              label="class")
        target = st.selectbox("Explain the probability of class", list(inp.classes), key="ins.target")
    elif inp.task == "binary":
        st.caption(f"Explanations show the probability of class **{inp.classes[1]}**.")
    with st.expander("Budgets", icon=":material/speed:"):
        budget: dict[str, int] = {}
        for key, (param, label, low, high, default, step) in BUDGETS.items():
            state(key, param, default, parse=in_range(low, high, int), label=label.lower())
            budget[key] = int(st.number_input(label, low, high, step=step, key=key))
        state("ins.repeats", "repeats", 5, parse=in_range(1, 20, int), label="permutation repeats")
        repeats = int(st.slider("Permutation repeats", 1, 20, key="ins.repeats"))
        state("ins.bins", "bins", 20, parse=in_range(5, 50, int), label="ALE bins")
        bins = int(st.slider("ALE bins", 5, 50, key="ins.bins"))

state("ins.tab", "tab", TABS["evaluation"], options=list(TABS.values()),
      parse=lambda text: TABS.get(text, text), label="tab")
tab_eval, tab_global, tab_local, tab_rows = st.tabs(list(TABS.values()), key="ins.tab", on_change="rerun")
state("ins.threshold", "threshold", 0.5, parse=in_range(0.0, 1.0), label="threshold")
threshold = float(kept("ins.threshold")) if inp.task == "binary" else None
state("ins.row", "row", 0, parse=in_range(0, last_row, int), label="test row")  # also picked on the Instances tab


def evaluation_now() -> Any:
    try:
        return cached.evaluation(tracker, inp, threshold)
    except Exception as exc:  # noqa: BLE001 - without predictions nothing else can be shown
        st.error(f"The model could not score its test data: {type(exc).__name__}: {exc}", icon=":material/error:")
        st.stop()


# ---- evaluation ---------------------------------------------------------------------------------------------------
if tab_eval.open:
    with tab_eval:
        if inp.task == "binary":
            threshold = st.slider(f"Decision threshold on P(class {inp.classes[1]})", 0.0, 1.0, step=0.01,
                                  key="ins.threshold",
                                  help="Rows at or above it are predicted positive. Moves the matrix and the scores.")
        evaluation = evaluation_now()
        if classifier:
            metric_tiles(evaluation.metrics, CLASSIFIER_TILES)
            left, middle, right = st.columns(3)
            if evaluation.roc is not None and evaluation.pr is not None and evaluation.auc is not None:
                chart_in(left, "ROC curve", charts.roc_chart(
                    charts.class_curves(evaluation.roc, evaluation.auc, "roc_auc"), legend_title="class · AUC"))
                chart_in(middle, "Precision–recall curve", charts.pr_chart(
                    charts.class_curves(evaluation.pr, evaluation.auc, "average_precision"),
                    legend_title="class · AP"))
            state("ins.normalise", "normalise", False, parse=lambda t: t == "1", label="normalisation")
            normalise = right.toggle("Normalise by actual class", key="ins.normalise")
            chart_in(right, "Confusion matrix", charts.confusion_chart(evaluation.confusion, normalised=normalise))
            st.markdown("**Per-class report**")
            st.dataframe(evaluation.report, hide_index=True, column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")})
        else:
            metric_tiles(evaluation.metrics, REGRESSOR_TILES)
            left, middle, right = st.columns(3)
            chart_in(left, "Predicted vs actual", charts.predicted_vs_actual_chart(evaluation.predictions))
            chart_in(middle, "Residuals vs predicted", charts.residuals_chart(evaluation.predictions))
            chart_in(right, "Residual distribution", charts.residual_histogram(evaluation.predictions))
            if len(evaluation.predictions) > charts.SCATTER_POINTS:
                st.caption(f"Scatter plots show a random {charts.SCATTER_POINTS:,} rows.")

# ---- global explanations ------------------------------------------------------------------------------------------
if tab_global.open:
    with tab_global:
        output_label = explain.output_label(inp.model, target)
        top = st.columns(2)
        importance_slot, shap_slot = reserve(320, top[0]), reserve(320, top[1])
        summary_slot = reserve(260)
        middle = st.columns(2)
        pdp_slot, ale_slot = reserve(380, middle[0]), reserve(380, middle[1])
        pair_slot = reserve(360)

        ranked = features
        with importance_slot.container(), guard("Permutation importance"):
            st.markdown("**Permutation importance**")
            with steps(f"Shuffling each of {plural(len(features), 'feature')}", "repeat") as report:
                importance = cached.permutation_importance(tracker, inp, repeats, budget["ins.perm_rows"], report)
            ranked = list(importance["feature"]) or features
            st.altair_chart(charts.permutation_importance_chart(importance), width="stretch")
            st.caption(f"Mean over {plural(repeats, 'shuffle')}; the whisker is ± one standard deviation.")
        shap_result = None
        with shap_slot.container(), guard("SHAP values"):
            st.markdown("**SHAP: mean |contribution|**")
            with steps("SHAP values", "test row") as report:
                shap_result = cached.shap_values(tracker, inp, target, budget["ins.shap_rows"],
                                                 budget["ins.kernel_rows"], report)
            st.altair_chart(charts.shap_importance_chart(shap_result), width="stretch")
            how = ("one-hot columns summed back into their feature" if shap_result.method != "kernel" else
                   "model-agnostic, categories encoded as numbers; raise the sample in a notebook for more rows")
            st.caption(f"{shap_result.method.capitalize()} explainer on {len(shap_result.values):,} test rows; {how}.")
        with summary_slot.container():
            if shap_result is not None:
                st.markdown("**SHAP summary** (each dot a row; colour: the feature's value, low → high)")
                st.altair_chart(charts.shap_summary_chart(shap_result), width="stretch")
                st.caption("Categorical features have no order: their dots are grey.")

        with pdp_slot.container(), guard("The partial dependence"):
            st.markdown("**Partial dependence with ICE**")
            state("ins.pdp_feature", "pdp", ranked[0], options=features, label="partial-dependence feature")
            pdp_feature = st.selectbox("Feature", features, key="ins.pdp_feature")
            with steps(f"Partial dependence of {pdp_feature}", "grid point") as report:
                pdp = cached.partial_dependence(tracker, inp, pdp_feature, target, budget["ins.rows"], report)
            st.altair_chart(charts.pdp_chart(pdp.average, feature=pdp_feature, output=pdp.output,
                                             categorical=pdp.categorical, ice=pdp.ice), width="stretch")
            shown_ice = pdp.ice["row"].nunique() if pdp.ice is not None else 0
            st.caption(f"Red: the average over {min(len(inp.X_test), budget['ins.rows']):,} rows; grey: individual "
                       f"rows (ICE, {shown_ice} shown).")
        with ale_slot.container(), guard("ALE"):
            st.markdown("**Accumulated local effects**")
            if not numeric:
                st.info("ALE needs a numeric feature and this model has none.")
            else:
                state("ins.ale_feature", "ale", ranked[0] if ranked[0] in numeric else numeric[0], options=numeric,
                      label="ALE feature")
                ale_feature = st.selectbox("Numeric feature", numeric, key="ins.ale_feature")
                rows = min(len(inp.X_test), explain.ALE_ROWS)
                try:
                    with st.spinner(f"ALE of {ale_feature}: predicting {2 * rows:,} rows (each row at the edges of "
                                    f"its bin, {bins} bins)…"):
                        effects = cached.ale(tracker, inp, ale_feature, target, bins)
                except explain.ExplanationError as exc:
                    st.info(str(exc), icon=":material/info:")
                else:
                    st.altair_chart(charts.ale_chart(effects, feature=ale_feature, output=output_label),
                                    width="stretch")
                    st.caption("Shaded: 95% confidence band of each bin's local effect. Bins at quantiles.")
            if categorical := [c for c in features if c not in numeric]:
                st.caption(f"Categorical features ({', '.join(categorical)}) have no order to accumulate along: use "
                           "the partial dependence plot for them.")
        with pair_slot.container():
            st.markdown("**Two-feature partial dependence**")
            if len(features) < 2:
                st.info("The model has a single feature.")
            else:
                with guard("The two-feature partial dependence"):
                    c1, c2, _ = st.columns([1, 1, 2])
                    state("ins.pdp2_a", "pair_a", ranked[0], options=features, label="first feature")
                    f1 = c1.selectbox("First feature", features, key="ins.pdp2_a")
                    others = [f for f in features if f != f1]
                    state("ins.pdp2_b", "pair_b", next(f for f in ranked + others if f != f1), options=others,
                          label="second feature")
                    f2 = c2.selectbox("Second feature", others, key="ins.pdp2_b")
                    with steps(f"Partial dependence of {f1} × {f2}", "value", "values of " + f1) as report:
                        grid = cached.partial_dependence_2d(tracker, inp, (f1, f2), target, report)
                    st.altair_chart(charts.pdp_2d_chart(grid, (f1, f2), output=output_label), width="stretch")

# ---- instances ----------------------------------------------------------------------------------------------------
if tab_rows.open or tab_local.open:
    table = instance_table(inp.X_test, inp.y_test, evaluation_now())
if tab_rows.open:
    with tab_rows:
        if classifier:
            state("ins.only_wrong", "wrong", False, parse=lambda t: t == "1", label="misclassified filter")
            only_wrong = st.toggle("Only misclassified rows", key="ins.only_wrong")
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
                st.session_state["ins.picked"] = st.session_state[KEPT + "ins.row"] = picked_row
                st.session_state["ins.row"] = picked_row
            st.caption(f"Row {picked_row} selected: see the *Local explanation* tab.")
        if numeric:
            st.markdown("**Where the errors are**")
            c1, c2, _ = st.columns([1, 1, 2])
            x_default, y_default = charts.errors_axes(numeric)
            state("ins.scatter_x", "x", x_default, options=numeric, label="error plot's x")
            state("ins.scatter_y", "y", y_default, options=numeric, label="error plot's y")
            fx = c1.selectbox("x", numeric, key="ins.scatter_x")
            fy = c2.selectbox("y", numeric, key="ins.scatter_y")
            st.altair_chart(charts.errors_chart(table, fx, fy, classifier=classifier), width="stretch")
            if any(geo_role(c) for c in numeric):
                st.markdown("**Error map**")
                shade = "correct" if classifier else "residual"
                st.caption("Longitude / latitude detected: the test rows on a map through the dataset explorer — "
                           f"colour by `{shade}`, or weight the density by it.")
                st.session_state.setdefault(f"ins.map.{run_id}.view", "Map")
                explorer_ui.explore(instances_file(tracker.uri, run_id, table), key=f"ins.map.{run_id}")

# ---- local explanation --------------------------------------------------------------------------------------------
if tab_local.open:
    with tab_local:
        row = int(st.number_input("Test row", 0, last_row, key="ins.row",
                                  help="Pick a row here or select it in the Instances tab."))
        st.dataframe(table.loc[[row]], hide_index=True)
        left, right = st.columns([1, 1])
        with left:
            st.markdown("**SHAP waterfall**")
            try:
                with st.spinner(f"SHAP values of row {row}…"):
                    local = cached.row_shap(tracker, inp, row, target)
            except Exception as exc:  # noqa: BLE001
                st.warning(f"SHAP values could not be computed: {type(exc).__name__}: {exc}",
                           icon=":material/warning:")
            else:
                st.altair_chart(charts.shap_waterfall_chart(local, row), width="stretch")
                st.caption(f"From the base value {format_number(local.base_value)} (average over the background) to "
                           f"{format_number(float(local.prediction[0]))} for this row ({local.output}; "
                           f"{local.method} explainer).")
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
                        lo = d1.number_input("Desired prediction from",
                                             value=round(float(current) + 0.5 * spread, 3), key="ins.cf_low")
                        hi = d2.number_input("to", value=round(float(current) + 1.5 * spread, 3), key="ins.cf_high")
                        desired = (float(lo), float(hi))
                    submitted = st.form_submit_button("Find counterfactuals", icon=":material/search:")
                request = CounterfactualRequest(row, n_cf, tuple(vary), desired, method)
                if submitted:
                    st.session_state["ins.cf_request"] = request
                if st.session_state.get("ins.cf_request") == request:
                    try:
                        with st.spinner(f"Searching {plural(n_cf, 'counterfactual')} for row {row} with dice-ml "
                                        f"({method} search over {len(inp.X_train):,} training rows), then checking "
                                        "each against the model…"):
                            cf = cached.counterfactuals(tracker, inp, request)
                    except LensError as exc:
                        st.warning(str(exc), icon=":material/search_off:")
                    except Exception as exc:  # noqa: BLE001 - dice-ml fails in many ways on unusual models
                        st.warning(f"dice-ml failed: {type(exc).__name__}: {exc}. Try another search method or fewer "
                                   "features to vary.", icon=":material/search_off:")
                    else:
                        st.dataframe(comparison_table(cf),
                                     column_config={"_index": st.column_config.TextColumn("feature")})
                        note = f" ({plural(cf.dropped, 'proposal')} dropped: the model did not confirm them)" \
                            if cf.dropped else ""
                        st.caption(f"{len(cf.counterfactuals)} counterfactual(s) reaching {cf.desired}, each checked "
                                   f"against the model{note}. '·' = unchanged.")

# ---- the link -----------------------------------------------------------------------------------------------------
VIEW = {"tab": "ins.tab", "class": "ins.target", "threshold": "ins.threshold", "normalise": "ins.normalise",
        "pdp": "ins.pdp_feature", "ale": "ins.ale_feature", "pair_a": "ins.pdp2_a", "pair_b": "ins.pdp2_b",
        "row": "ins.row", "wrong": "ins.only_wrong", "x": "ins.scatter_x", "y": "ins.scatter_y",
        "repeats": "ins.repeats", "bins": "ins.bins", **{param: key for key, (param, *_) in BUDGETS.items()}}
keep(*VIEW.values())
shown_tab = next((name for name, label in TABS.items() if label == kept("ins.tab")), "evaluation")
links.publish({param: shown_tab if param == "tab" else kept(key) for param, key in VIEW.items()},
              {"tab": "evaluation"} | {param: DEFAULTS.get(key) for param, key in VIEW.items() if param != "tab"})
with head[1]:
    links.copy_link_button(key="ins.copy_link")
with notes_slot.container():
    links.fallback_notes()
