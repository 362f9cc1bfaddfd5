"""The Compare page's Streamlit parts that are more than a widget call: the panel-width meter, the chart export
buttons, the trade-offs (Pareto) section, the runs' models and datasets sections, and the report button. The
computations are in :mod:`lens_core.runs` (compare, compare_metrics, compare_charts, pareto_chart, report); the
page (``pages/1_Compare.py``) lays these out.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from lens_core.errors import LensError
from lens_core.export import chart_png, chart_svg
from lens_core.format import distinct_labels, format_number, plural
from lens_core.insights import charts as insight_charts
from lens_core.runs.compare import md, table_height
from lens_core.runs.compare_charts import DEFAULT_PANEL_WIDTH, chart_config, distribution_chart, picked_run
from lens_core.runs.compare_metrics import MetricChart
from lens_core.runs.defaults import default_metric
from lens_core.runs.pareto import Goal
from lens_core.runs.pareto_chart import PICK, ParetoPoints, draw, pareto_points
from lens_core.trackers import Tracker
from lens_core.ui import cache as cached
from lens_core.ui import links
from lens_core.ui.directions import direction_control

STATE = st.session_state
#: Where a click on a run (chart, table) leaves its id; the page opens the run's page on its next run.
OPEN_RUN = "compare.open_run"
#: Width of a chart exported as SVG or PNG (pixels, y axis included).
EXPORT_WIDTH = 640
#: The cookie remembering the panel's width in this browser, so a new visit draws at the right width at once.
WIDTH_COOKIE = "lens_compare_width"
#: Measures the element's width in the browser and reports it (as ``width``) when it differs from
#: ``data.width`` by more than a few pixels (Vega-Lite cannot size the views of a compound chart to its
#: container, so the page sizes them itself); the width is also kept in a cookie for the next visit.
WIDTH_METER_JS = """
export default function ({ parentElement, data, setStateValue }) {
  const known = (data && data.width) || 0;
  let timer = null;
  const measure = () => {
    const width = Math.round(parentElement.getBoundingClientRect().width);
    clearTimeout(timer);
    if (width > 0) {
      document.cookie = `COOKIE=${width}; path=/; max-age=31536000; SameSite=Lax`;
    }
    if (width > 0 && Math.abs(width - known) > 3) {
      timer = setTimeout(() => setStateValue("width", width), 150);
    }
  };
  const observer = new ResizeObserver(measure);
  observer.observe(parentElement);
  measure();
  return () => { observer.disconnect(); clearTimeout(timer); };
}
""".replace("COOKIE", WIDTH_COOKIE)
_width_meter = st.components.v2.component("experimentlens.panel_width", js=WIDTH_METER_JS, isolate_styles=False)


def hold(key: str, default: object) -> None:
    """Write a widget's value (or ``default``) back into its state before the widget is drawn, on every run: a
    rerun that starts before the browser has mounted a widget (the width measurement reruns the page right
    after the first paint) would otherwise redraw a widget restored from a link at its default, while the page
    uses the restored value."""
    STATE[key] = STATE.get(key, default)


def _plausible_width(value: object) -> int | None:
    try:
        width = int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return width if 200 <= width <= 10_000 else None


def panel_width() -> int:
    """The main panel's width in pixels as the browser lays it out, so the charts fill it: a tiny component
    measures it (a change of more than a few pixels reruns the page). Before the first measurement of this
    session: the width this browser measured last time (a cookie), else the width at a 1400 px window."""
    known = _plausible_width(STATE.get("compare.panel_width"))
    if known is None:
        try:
            known = _plausible_width(st.context.cookies.get(WIDTH_COOKIE))
        except Exception:  # noqa: BLE001 - no browser (AppTest): the default width
            known = None
    known = known or DEFAULT_PANEL_WIDTH
    measured = _width_meter(key="compare_panel_meter", data={"width": known}, default={"width": None},
                            on_width_change=lambda: None, height=1).width
    STATE["compare.panel_width"] = known = _plausible_width(measured) or known
    return known


def section(title: str, toggle_label: str, key: str, **toggle_options: object) -> bool:
    """A divided section headed by its title, with a toggle on the right; returns the toggle's state."""
    st.divider()
    head, right = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader(title)
    return right.toggle(toggle_label, key=key, **toggle_options)


def open_picked_run(chart_key: str) -> None:
    """A click on a run in a chart: remember it; the next run of the script opens the run's page."""
    if run_id := picked_run(STATE.get(chart_key)):
        STATE[OPEN_RUN] = run_id


def open_picked_row(table_key: str, run_ids: tuple[str, ...]) -> None:
    """A row picked in a table of runs: open that run's page on the next run of the script."""
    try:
        rows = STATE[table_key]["selection"]["rows"]
    except (KeyError, TypeError):
        return
    if rows and 0 <= rows[0] < len(run_ids):
        STATE[OPEN_RUN] = run_ids[rows[0]]


def export_buttons(chart: MetricChart) -> None:
    """A metric's CSV, SVG and PNG downloads (images rendered on the server only when clicked, without the
    hover, at a fixed width)."""
    stem = re.sub(r"[^\w.-]+", "_", chart.key)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(f"**{md(chart.key)}**", width="stretch")
        st.download_button(
            "CSV", lambda: chart.export.to_csv(index=False).encode("utf-8"), file_name=stem + ".csv",
            mime="text/csv", icon=":material/download:", type="tertiary", on_click="ignore", key=f"csv_{chart.key}",
            help=f"This chart's data ({plural(len(chart.export), 'row')})",
        )
        if chart.points:
            def figure() -> alt.TopLevelMixin:
                return chart_config(chart.make(width=EXPORT_WIDTH, subtitle=chart.notes, hover=False, listen=False))

            st.download_button("SVG", lambda: chart_svg(figure()), file_name=stem + ".svg", mime="image/svg+xml",
                               type="tertiary", on_click="ignore", key=f"svg_{chart.key}", help="This chart as SVG")
            st.download_button("PNG", lambda: chart_png(figure()), file_name=stem + ".png", mime="image/png",
                               type="tertiary", on_click="ignore", key=f"png_{chart.key}", help="This chart as PNG")


# ---- trade-offs ------------------------------------------------------------------------------------------------
#: The trade-off pickers and the link parameters that hold them.
PARETO_PARAMS = {"compare_pareto_x": "px", "compare_pareto_y": "py", "compare_pareto_c": "pc"}
NO_THIRD = "(none)"


@dataclass(frozen=True)
class TradeOffs:
    """What the trade-offs section showed: its chart (for the report), the points, and the picks."""

    chart: alt.LayerChart
    points: ParetoPoints
    front: tuple[str, ...]
    picks: dict[str, str]


def _default_pair(runs: pd.DataFrame, metrics: Sequence[str]) -> tuple[str, str]:
    """The two metrics most runs have (:func:`lens_core.runs.defaults.default_metric`, twice)."""
    columns = [f"metrics.{m}" for m in metrics]
    first = default_metric(runs, columns) or columns[0]
    second = default_metric(runs, [c for c in columns if c != first]) or columns[1]
    return first.removeprefix("metrics."), second.removeprefix("metrics.")


def trade_offs(tracker: Tracker, runs: pd.DataFrame, labels: Mapping[str, str], metrics: Sequence[str],
               experiment_id: str | None) -> TradeOffs | None:
    """Two metrics (and an optional third as colour) → every selected run on a scatter, the Pareto front
    highlighted and listed; a click on a point or a row opens the run, a button keeps only the front's runs.
    Directions come from the experiment's rule (:mod:`lens_core.ui.directions`), changed right here."""
    if len(metrics) < 2:
        st.caption("Trade-offs need two metrics that these runs logged.")
        return None
    first, second = _default_pair(runs, metrics)
    thirds = [NO_THIRD, *metrics]
    for key, default, options in (("compare_pareto_x", first, metrics), ("compare_pareto_y", second, metrics),
                                  ("compare_pareto_c", NO_THIRD, thirds)):
        links.restore(key, PARETO_PARAMS[key], options=options, label="trade-off metric")
        hold(key, STATE.get(key) if STATE.get(key) in options else default)
    pick_x, pick_y, pick_c = st.columns(3, gap="medium")
    x = pick_x.selectbox("X axis", metrics, key="compare_pareto_x")
    y = pick_y.selectbox("Y axis", metrics, key="compare_pareto_y")
    third = pick_c.selectbox("Third objective (colour)", thirds, key="compare_pareto_c",
                             help="Colours the runs; the highlighted runs are then the front on all three.")
    chosen = [x, y] + ([third] if third != NO_THIRD else [])
    if len(set(chosen)) < len(chosen):
        st.info("Pick different metrics for the axes and the colour.", icon=":material/info:")
        return None
    goals: dict[str, Goal] = {}
    for column, metric in zip((pick_x, pick_y, pick_c), chosen, strict=False):
        with column:
            goals[f"metrics.{metric}"] = direction_control(tracker, experiment_id, metric, key="compare_direction")
    shown = runs.assign(run_label=runs["run_id"].astype(str).map(labels))
    points = pareto_points(shown, f"metrics.{x}", f"metrics.{y}", goals, label_column="run_label",
                           colour=f"metrics.{third}" if third != NO_THIRD else None)
    chart = draw(points, height=340)
    st.altair_chart(chart, width="stretch", key="compare_pareto_chart", on_select=lambda: open_picked_run(
        "compare_pareto_chart"), selection_mode=[PICK])
    front = points.points[points.points["on_front"]].sort_values("x", ascending=goals[f"metrics.{x}"] == "min")
    st.caption(f"{plural(points.front, 'run')} on the front (no other run is at least as good on "
               f"{'all three' if third != NO_THIRD else 'both'} and better on one)"
               + (f" · {points.note}" if points.note else "") + ". Click a point or a row to open the run.")
    table = pd.DataFrame({"run": front["label"], x: distinct_labels(front["x"]), y: distinct_labels(front["y"])})
    if third != NO_THIRD:
        table[third] = [format_number(v) for v in front["colour"]]
    front_ids = tuple(front["run_id"].astype(str))
    st.dataframe(table, hide_index=True, width="stretch", height=table_height(len(table), 300),
                 key="compare_pareto_front", selection_mode="single-row",
                 on_select=lambda: open_picked_row("compare_pareto_front", front_ids))
    if 0 < len(front_ids) < len(runs):
        st.button(f"Compare only the front's {plural(len(front_ids), 'run')}", icon=":material/filter_alt:",
                  key="compare_pareto_only", on_click=_keep_only, args=(front_ids,))
    return TradeOffs(chart, points, front_ids, {"px": x, "py": y, "pc": third})


def _keep_only(run_ids: Sequence[str]) -> None:
    STATE["compare_runs"] = list(run_ids)


# ---- the runs' models and datasets -------------------------------------------------------------------------------
MAX_MODEL_RUNS = 12


def models_section(tracker: Tracker, selected: Sequence[str], labels: Mapping[str, str],
                   colors: Mapping[str, str]) -> None:
    """ROC curves, confusion matrices and one feature's partial dependence of the runs' models."""
    model_runs = tuple(selected[:MAX_MODEL_RUNS])
    if len(selected) > MAX_MODEL_RUNS:
        st.caption(f"The first {MAX_MODEL_RUNS} of {len(selected)} runs.")
    roc = cached.roc_across_runs(tracker, model_runs)
    confusion = cached.confusion_across_runs(tracker, model_runs)
    skipped = {**roc.skipped, **confusion.skipped}
    if skipped:
        with st.expander(f"{plural(len(skipped), 'run')} without a usable classifier"):
            for run_id, why in skipped.items():
                st.caption(f"**{md(labels.get(run_id, run_id))}**: {why}")
    roc_col, pdp_col = st.columns(2)
    with roc_col:
        st.markdown("**ROC curves** (test data of each run)")
        if roc.frame.empty:
            st.caption("No classifier with test data among these runs.")
        else:
            curves = insight_charts.run_curves(roc.frame, selected, labels, colors, score=("roc_auc", "AUC"))
            st.altair_chart(insight_charts.roc_chart(curves.frame, colors=curves.colors), width="stretch")
    with pdp_col:
        st.markdown("**Partial dependence of one feature**")
        if not roc.loaded:  # regressors load too: skipped for the ROC curve, explained here
            st.caption("No run with a model and test data to explain.")
        else:
            features = list(cached.insight_inputs(tracker, roc.loaded[0]).X_test.columns)
            feature = st.selectbox("Feature", features, key="compare_pdp_feature")
            pdp = cached.pdp_across_runs(tracker, roc.loaded, feature)
            if pdp.frame.empty:
                st.caption(f"No run's model uses {feature}.")
            else:
                lines = insight_charts.run_curves(pdp.frame, selected, labels, colors)
                st.altair_chart(insight_charts.pdp_chart(
                    lines.frame, feature=feature, output="Average prediction",
                    categorical=not pd.api.types.is_numeric_dtype(pdp.frame["value"]), colors=lines.colors),
                    width="stretch")
    if not confusion.frame.empty:
        st.markdown("**Confusion matrices** (rows: actual, columns: predicted; share of each actual class)")
        runs_with = [r for r in selected if r in set(confusion.frame["run_id"])]
        per_row = 4
        for start in range(0, len(runs_with), per_row):
            for col, run_id in zip(st.columns(per_row), runs_with[start:start + per_row], strict=False):
                col.caption(md(labels[run_id]))
                col.altair_chart(insight_charts.confusion_chart(
                    confusion.frame[confusion.frame["run_id"] == run_id], normalised=True, height=180),
                    width="stretch")


def datasets_section(tracker: Tracker, selected: Sequence[str], labels: Mapping[str, str],
                     colors: Mapping[str, str]) -> None:
    """One column's distribution per run, for a dataset several runs logged."""
    shared = cached.shared_datasets(tracker, tuple(selected))
    if not shared:
        st.info("No dataset with a readable source is shared by two or more of these runs "
                "(`mlflow.log_input` keeps only metadata; the source file must exist on this machine).",
                icon=":material/dataset:")
        return
    c1, c2 = st.columns([1, 2])
    name = c1.selectbox("Dataset", list(shared), format_func=lambda n: f"{n} · {plural(len(shared[n]), 'run')}",
                        key="compare_dataset")
    files = tuple(sorted((r, str(p)) for r, p in shared[name].items()))
    columns = cached.dataset_columns(files)
    picked_columns = c2.multiselect("Columns", columns, default=columns[:3], key=f"compare_dataset_cols_{name}")
    in_data = [r for r in selected if r in shared[name]]
    for column in picked_columns:
        try:
            distribution = cached.dataset_distribution(files, column)
        except LensError as exc:
            st.warning(f"{column}: {exc}", icon=":material/warning:")
            continue
        st.altair_chart(distribution_chart(distribution, column, labels, in_data, colors), width="stretch",
                        theme=None)
    st.caption("Numeric columns: shared bins over all runs' files; others: the 20 most frequent values.")


# ---- the report --------------------------------------------------------------------------------------------------
_REPORT = "compare.report"  # (the link it was made for, its HTML)
_PREPARE = "compare.prepare_report"


def report_controls(where: st.delta_generator.DeltaGenerator, build: Callable[[], str], link: str) -> None:
    """*Report* in ``where``: a click prepares the HTML (with its progress) and offers it as a download; a report
    is made only when asked, and is dropped when the view changes."""
    made = STATE.get(_REPORT)
    if made is not None and made[0] != link:
        made = STATE[_REPORT] = None
    with where:
        if STATE.pop(_PREPARE, False):
            with st.status("Preparing the report…", expanded=False) as status:
                html = build()
                status.update(label=f"Report ready ({len(html) // 1000:,} kB)", state="complete")
            made = STATE[_REPORT] = (link, html)
        if made is None:
            st.button("Report", icon=":material/description:", key="compare_report_prepare",
                      on_click=lambda: STATE.__setitem__(_PREPARE, True),
                      help="One HTML file with these charts, the statistics and the params: it opens offline, "
                      "in any browser")
        else:
            st.download_button("Download report", made[1].encode("utf-8"), file_name="comparison-report.html",
                               mime="text/html", icon=":material/download:", type="primary", on_click="ignore",
                               key="compare_report_download")
