"""The comparison report: one HTML file, every chart's spec inside, text escaped, the tracker redacted, no fetch."""
from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd

from lens_core.runs.report import Report, ReportSection, render


def sample_report() -> Report:
    frame = pd.DataFrame({"step": [0, 1, 2], "loss": [0.9, 0.5, 0.4], "run": ["a", "a", "a"]})
    chart = alt.Chart(frame).mark_line().encode(x="step", y="loss")
    return Report(
        title="Compare <3> runs", tracker="https://ann:s3cret@mlflow.example.com", created=pd.Timestamp("2026-12-04", tz="UTC"),
        link="http://lens.example.com/Compare?runs=a,b&x=\"q\"",
        sections=(ReportSection("loss </script><script>alert(1)</script>", chart, None, "3 points"),
                  ReportSection("params", None, pd.DataFrame({"param": ["lr"], "a": ["0.1"], "b": [None]})),
                  ReportSection("acc", chart.mark_bar())),
    )


def test_every_chart_is_embedded_and_every_title_escaped():
    text = render(sample_report())
    charts = json.loads(re.search(r'<script type="application/json" id="lens-charts">(.*?)</script>', text, re.S)
                        .group(1).replace("<\\/", "</"))
    assert [c["id"] for c in charts] == ["chart-0", "chart-2"]
    assert all(f'id="{c["id"]}"' in text for c in charts)
    assert charts[0]["spec"]["mark"]["type"] == "line" and charts[1]["spec"]["mark"]["type"] == "bar"
    assert "<script>alert(1)" not in text and "Compare &lt;3&gt; runs" in text
    assert "<td>—</td>" in text  # a missing param value is said, not blank


def test_the_tracker_is_redacted_and_nothing_is_fetched():
    text = render(sample_report())
    assert "s3cret" not in text and "mlflow.example.com" in text
    assert not re.search(r'<script[^>]+src=|<link[^>]+href=|@import', text)  # every library is inline
    assert 'href="http://lens.example.com/Compare?runs=a,b&amp;x=&quot;q&quot;"' in text
