"""A comparison as one self-contained HTML file: charts as embedded Vega-Lite (drawn by the Vega libraries inlined
in the file), tables as HTML, a link back to the live view. It opens offline, from disk, in any browser: nothing
is fetched, so it can be attached to a chat or a ticket.

The tracker is named by its display URI (credentials redacted by the caller's :attr:`Tracker.display_uri`); the
caller decides what goes in, in what order.
"""
from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lens_core.redact import redact


@dataclass(frozen=True)
class ReportSection:
    """One heading with a chart and/or a table and a short note (plain text)."""

    title: str
    chart: Any | None = None  # an Altair chart
    table: pd.DataFrame | Any | None = None  # a DataFrame or a pandas Styler
    note: str = ""


@dataclass(frozen=True)
class Report:
    title: str
    tracker: str  # display URI, redacted again here to be sure
    link: str  # the live view this report was made from
    created: pd.Timestamp
    sections: tuple[ReportSection, ...] = field(default=())
    summary: str = ""


@functools.cache
def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script (vl-convert ships them; built once per process)."""
    import vl_convert

    return vl_convert.javascript_bundle()


def _every_row():
    """Altair refuses to inline more than 5,000 rows by default; a report holds the charts' data whatever its size."""
    import altair as alt

    return alt.data_transformers.disable_max_rows()


def _script_safe(text: str) -> str:
    """JSON inside <script>: no sequence that could close the tag or open a comment."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _table_html(table: pd.DataFrame | Any) -> str:
    if isinstance(table, pd.DataFrame):
        shown = table.astype(object).where(table.notna(), "—")  # a missing value is said, not left blank
        return shown.to_html(index=False, border=0, classes="lens-table", escape=True)
    return table.hide(axis="index").to_html() if hasattr(table, "hide") else table.to_html()


def render(report: Report) -> str:
    """The report as one HTML document (UTF-8 text)."""
    specs: list[str] = []
    body: list[str] = []
    for i, section in enumerate(report.sections):
        body.append(f'<section><h2>{html.escape(section.title)}</h2>')
        if section.note:
            body.append(f'<p class="note">{html.escape(section.note)}</p>')
        if section.chart is not None:
            with _every_row():
                spec = section.chart.to_dict()
            spec.setdefault("config", {}).setdefault("background", "white")
            # drawn as SVG whatever the page used (a canvas chart prints blurred and cannot be searched)
            spec.get("usermeta", {}).get("embedOptions", {}).pop("renderer", None)
            specs.append(json.dumps({"id": f"chart-{i}", "spec": spec}, default=str))
            body.append(f'<div class="chart" id="chart-{i}" data-lens-chart="{i}"></div>')
        if section.table is not None:
            body.append(f'<div class="table">{_table_html(section.table)}</div>')
        body.append("</section>")
    when = report.created.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC") if report.created.tzinfo else str(
        report.created)
    link = html.escape(report.link, quote=True)
    head = (
        f"<h1>{html.escape(report.title)}</h1>"
        f'<p class="meta">Tracker <code>{html.escape(redact(report.tracker))}</code> · made {when} · '
        f'<a href="{link}">open the live view</a></p>'
        + (f'<p>{html.escape(report.summary)}</p>' if report.summary else "")
    )
    charts = _script_safe("[" + ",".join(specs) + "]")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ExperimentLens">
<title>{html.escape(report.title)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1.5rem; color: #1f2933; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; }}
.meta, .note {{ color: #52606d; font-size: .9rem; }}
.chart {{ margin: .5rem 0 1rem; overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }}
th, td {{ border-bottom: 1px solid #e4e7eb; padding: .3rem .6rem; text-align: left; }}
th {{ background: #f5f7fa; }}
</style>
<script>{_vega_bundle()}</script>
</head><body>
{head}
{"".join(body)}
<script type="application/json" id="lens-charts">{charts}</script>
<script>
for (const item of JSON.parse(document.getElementById("lens-charts").textContent)) {{
  vegaEmbed("#" + item.id, item.spec, {{renderer: "svg", actions: {{export: true, source: false, compiled: false,
    editor: false}}}}).catch(err => {{
      document.getElementById(item.id).textContent = "This chart could not be drawn: " + err;
  }});
}}
</script>
</body></html>
"""
