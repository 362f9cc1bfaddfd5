"""The data explorer's tables and charts, free of Streamlit: the queries behind each table page and chart (all run in
DuckDB through :mod:`lens_core.explorer.query`, so the browser only receives aggregated or capped rows), the Altair
charts drawn from them, and the notes that say when data shown is sampled or capped. Maps: :mod:`.maps`.

Column names from the user's data never become Vega-Lite field names or deck.gl accessors directly (a dot or a
bracket in a name means nested access there): every chart and map renames its columns to fixed names and keeps
the real ones as titles; tooltips escape them as HTML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lens_core.explorer import profile as pr
from lens_core.explorer import query as q
from lens_core.explorer.profile import Profile

#: Rows a scatter chart or point map shows at most (a uniform sample above this).
POINT_CAP = 10_000
SCATTER_CAP = 5_000
#: Categories a bar chart or a heatmap axis shows at most (the largest ones).
TOP_CATEGORIES = 40
HEATMAP_BINS = 30
#: Buckets a line chart draws per series at most.
LINE_BUCKETS = 400

PALETTE = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
           "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
#: A perceptually ordered ramp (viridis-like) for numeric colours.
RAMP = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"]
#: Light to dark for densities (readable on a white page).
HEAT = ["#fff5b8", "#fed976", "#fd8d3c", "#f03b20", "#bd0026", "#67000d"]


@dataclass(frozen=True)
class ChartData:
    """Rows for one chart or map and what the user should be told about them."""

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_sent(self) -> int:
        return len(self.frame)


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def is_categorical(p: Profile, name: str) -> bool:
    return p.column(name).kind in ("categorical", "boolean", "text")


def time_encoding(p: Profile, name: str) -> q.TimeEncoding | None:
    return p.column(name).time_encoding


def _bin(p: Profile, column: str, bins: int, alias: str, filters: tuple[q.Filter, ...]) -> q.Bin:
    """Bins over the profile's exact bounds when nothing is filtered (one scan), else over the filtered data's."""
    known = pr.bounds(p, column) if not filters else None
    if known is not None:
        return q.Bin(column, bins, known[0], known[1], alias=alias)
    return q.Bin(column, bins, alias=alias)


def _span_seconds(p: Profile, column: str, filters: tuple[q.Filter, ...]) -> float:
    c = p.column(column)
    lo = hi = None
    if c.time_encoding == "typed" and c.minimum is not None and c.maximum is not None:
        lo, hi = pd.Timestamp(str(c.minimum)), pd.Timestamp(str(c.maximum))
    elif c.time_encoding in ("epoch_s", "epoch_ms") and c.minimum is not None:
        unit = "s" if c.time_encoding == "epoch_s" else "ms"
        lo, hi = pd.Timestamp(float(c.minimum), unit=unit), pd.Timestamp(float(c.maximum), unit=unit)
    if lo is None or hi is None or filters:
        lo, hi = time_span(p, column, filters)
    return (hi - lo).total_seconds() if lo is not None and hi is not None else 0.0


# ---- table -----------------------------------------------------------------------------------------------------
def table_page(p: Profile, columns: tuple[str, ...], filters: tuple[q.Filter, ...] = (),
               order: tuple[q.Order, ...] = (), page: int = 1, page_size: int = 50) -> q.QueryResult:
    """One page of the filtered rows, with the filtered row count as ``total``."""
    page_size = max(1, min(int(page_size), 1000))
    return q.run(q.QueryRequest(p.source, columns=columns, filters=filters, order=order, limit=page_size,
                                offset=(max(1, int(page)) - 1) * page_size, with_total=True))


def top_values(p: Profile, column: str, filters: tuple[q.Filter, ...] = (),
               limit: int = TOP_CATEGORIES) -> pd.DataFrame:
    """The most frequent values of a column (``value, count``)."""
    res = q.run(q.QueryRequest(p.source, filters=filters, group_by=(column,), aggs=(q.Agg("count", alias="count"),),
                               order=(q.Order("count", True), q.Order(column)), limit=limit))
    return res.frame.rename(columns={column: "value"})


# ---- charts: data ----------------------------------------------------------------------------------------------
def sample_note(shown: int, total: int, about: bool = False) -> str:
    return f"Showing a uniform random sample of {_fmt_int(shown)} of {'about ' if about else ''}{_fmt_int(total)} rows."


def rows_with_values(p: Profile, filters: tuple[q.Filter, ...], columns: tuple[str, ...]) -> tuple[int, bool]:
    """Rows with a value in every one of ``columns``: from the profile when nothing is filtered and the profile saw
    no empty value in them (``about`` is then True when the profile was sampled), else counted."""
    if not filters and all(p.column(c).nulls == 0 for c in columns):
        return p.rows, p.sampled
    return q.count_rows(p.source, filters + tuple(q.Filter(c, "not_null") for c in columns)), False


def scatter_data(p: Profile, x: str, y: str, color: str | None, filters: tuple[q.Filter, ...] = (),
                 cap: int = SCATTER_CAP) -> ChartData:
    cols = tuple(dict.fromkeys(c for c in (x, y, color) if c))
    nonnull = filters + (q.Filter(x, "not_null"), q.Filter(y, "not_null"))
    total, about = rows_with_values(p, filters, (x, y))
    sample = q.Sample(cap) if total > cap else None
    res = q.run(q.QueryRequest(p.source, columns=cols, filters=nonnull, sample=sample), max_rows=cap)
    frame = pd.DataFrame({"x": res.frame[x], "y": res.frame[y]})
    if color:
        frame["color"] = res.frame[color]
    notes = (sample_note(len(frame), total, about),) if sample else ()
    return ChartData(frame, notes, {"total": total})


def time_span(p: Profile, column: str, filters: tuple[q.Filter, ...] = ()
              ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    base, params = q.filtered_sql(p.source, filters)
    expr = q.time_expr(column, time_encoding(p, column) or "typed")
    frame = q.sql(f"SELECT min({expr}) AS lo, max({expr}) AS hi FROM ({base})", params)
    lo, hi = frame.iloc[0]["lo"], frame.iloc[0]["hi"]
    return (None if pd.isna(lo) else pd.Timestamp(lo)), (None if pd.isna(hi) else pd.Timestamp(hi))


def line_data(p: Profile, x: str, ys: tuple[str, ...], agg: q.AggFunc = "avg", filters: tuple[q.Filter, ...] = (),
              buckets: int = LINE_BUCKETS) -> ChartData:
    """Several y over a time axis (bucketed) or a numeric axis (binned), aggregated per bucket: long format
    ``x, series, value``."""
    if not ys:
        return ChartData(pd.DataFrame(columns=["x", "series", "value"]))
    aggs = tuple(q.Agg(agg, y, alias=f"v{i}") for i, y in enumerate(ys))
    encoding = time_encoding(p, x)
    notes: list[str] = []
    if encoding is not None:
        every = q.auto_bucket(_span_seconds(p, x, filters), buckets)
        req = q.QueryRequest(p.source, filters=filters, time_bucket=q.TimeBucket(x, every, encoding, alias="x"),
                             aggs=aggs, order=(q.Order("x"),))
        notes.append(f"{agg} per {every} bucket.")
    else:
        req = q.QueryRequest(p.source, filters=filters + (q.Filter(x, "not_null"),),
                             bins=(_bin(p, x, buckets, "x", filters),), aggs=aggs, order=(q.Order("x"),))
        notes.append(f"{agg} per bin of {x} ({buckets} bins).")
    res = q.run(req)
    frame = res.frame.dropna(subset=["x"])
    long = frame.melt(id_vars=["x"], value_vars=[f"v{i}" for i in range(len(ys))], var_name="series",
                      value_name="value")
    long["series"] = long["series"].map({f"v{i}": y for i, y in enumerate(ys)})
    return ChartData(long[["x", "series", "value"]], tuple(notes))


def bar_data(p: Profile, x: str, y: str | None, agg: q.AggFunc = "count", filters: tuple[q.Filter, ...] = (),
             top: int = TOP_CATEGORIES) -> ChartData:
    """One bar per value of ``x`` (the ``top`` largest), height ``agg(y)`` (or the row count)."""
    a = q.Agg("count", alias="value") if agg == "count" or not y else q.Agg(agg, y, alias="value")
    res = q.run(q.QueryRequest(p.source, filters=filters, group_by=(x,), aggs=(a,),
                               order=(q.Order("value", True), q.Order(x)), limit=top, with_total=True))
    frame = pd.DataFrame({"x": res.frame[x].astype("string").fillna("(null)"), "value": res.frame["value"]})
    notes = (f"The {top} largest of {_fmt_int(res.total)} groups.",) if (res.total or 0) > top else ()
    return ChartData(frame, notes, {"groups": res.total})


def histogram_data(p: Profile, x: str, bins: int = 30, filters: tuple[q.Filter, ...] = (),
                   color: str | None = None) -> ChartData:
    encoding = time_encoding(p, x)
    if encoding not in (None,) and p.column(x).kind == "datetime" and encoding != "epoch_s" and encoding != "epoch_ms":
        every = q.auto_bucket(_span_seconds(p, x, filters), bins)
        res = q.run(q.QueryRequest(p.source, filters=filters, time_bucket=q.TimeBucket(x, every, encoding, alias="x"),
                                   aggs=(q.Agg("count", alias="count"),), order=(q.Order("x"),)))
        frame = res.frame.dropna(subset=["x"])
        step = pd.Timedelta(seconds=q.bucket_seconds(every))
        return ChartData(pd.DataFrame({"x": frame["x"], "x_end": frame["x"] + step, "count": frame["count"]}),
                         (f"Rows per {every}.",), {"temporal": True})
    group = (color,) if color else ()
    res = q.run(q.QueryRequest(p.source, filters=filters + (q.Filter(x, "not_null"),), group_by=group,
                               bins=(_bin(p, x, bins, "x", filters),), aggs=(q.Agg("count", alias="count"),),
                               order=(q.Order("x"),)))
    frame = pd.DataFrame({"x": res.frame["x"], "x_end": res.frame["x_end"], "count": res.frame["count"]})
    if color:
        frame["color"] = res.frame[color].astype("string").fillna("(null)")
    nulls = p.column(x).nulls
    notes = (f"{_fmt_int(nulls)} rows without a value are left out.",) if nulls else ()
    return ChartData(frame, notes, {"temporal": False})


def _axis_key(p: Profile, column: str, alias: str, filters: tuple[q.Filter, ...], bins: int,
              notes: list[str]) -> tuple[dict[str, Any], tuple[q.Filter, ...]]:
    """How a heatmap axis groups: categories (the top ones) or numeric bins."""
    if is_categorical(p, column) or p.column(column).kind == "datetime":
        if p.column(column).distinct <= TOP_CATEGORIES // 2:  # few values (approximate count): all of them
            return {"group_by": (column,)}, ()
        top = top_values(p, column, filters)
        extra: tuple[q.Filter, ...] = ()
        if p.column(column).distinct > len(top):
            extra = (q.Filter(column, "in", tuple(top["value"].tolist())),)
            notes.append(f"{column}: the {len(top)} most frequent values.")
        return {"group_by": (column,)}, extra
    return {"bins": (_bin(p, column, bins, alias, filters),)}, (q.Filter(column, "not_null"),)


def heatmap_data(p: Profile, x: str, y: str, agg: q.AggFunc = "count", z: str | None = None,
                 filters: tuple[q.Filter, ...] = (), bins: int = HEATMAP_BINS) -> ChartData:
    """Counts (or ``agg(z)``) over a grid of two columns: categories or numeric bins on each axis."""
    notes: list[str] = []
    kx, fx = _axis_key(p, x, "x", filters, bins, notes)
    ky, fy = _axis_key(p, y, "y", filters, bins, notes) if y != x else ({}, ())
    group_by = kx.get("group_by", ()) + ky.get("group_by", ())
    binning = kx.get("bins", ()) + ky.get("bins", ())
    a = q.Agg("count", alias="value") if agg == "count" or not z else q.Agg(agg, z, alias="value")
    res = q.run(q.QueryRequest(p.source, filters=filters + fx + fy, group_by=group_by, bins=binning, aggs=(a,)))
    f = res.frame
    out = pd.DataFrame({"value": f["value"]})
    for axis, column, spec in (("x", x, kx), ("y", y, ky)):
        if "group_by" in spec:
            out[axis] = f[column].astype("string").fillna("(null)")
        else:
            out[axis], out[axis + "_end"] = f[axis], f[axis + "_end"]
    return ChartData(out, tuple(notes), {"x_binned": "bins" in kx, "y_binned": "bins" in ky})


# ---- charts: drawing -------------------------------------------------------------------------------------------
def _title(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _base(data: pd.DataFrame):
    import altair as alt

    return alt.Chart(data).properties(height=380, usermeta={"embedOptions": {"renderer": "canvas"}})


def scatter_chart(cd: ChartData, x: str, y: str, color: str | None, p: Profile):
    import altair as alt

    enc: dict[str, Any] = {
        "x": alt.X("x:Q", title=_title(x), scale=alt.Scale(zero=False)),
        "y": alt.Y("y:Q", title=_title(y), scale=alt.Scale(zero=False)),
        "tooltip": [alt.Tooltip("x:Q", title=x), alt.Tooltip("y:Q", title=y)],
    }
    if color:
        if is_categorical(p, color):
            enc["color"] = alt.Color("color:N", title=_title(color, 24), scale=alt.Scale(range=PALETTE))
        else:
            enc["color"] = alt.Color("color:Q", title=_title(color, 24), scale=alt.Scale(range=RAMP))
        enc["tooltip"].append(alt.Tooltip("color", title=color))
    size = 30 if len(cd.frame) < 2000 else 12
    return _base(cd.frame).mark_circle(size=size, opacity=0.7).encode(**enc)


def line_chart(cd: ChartData, x: str, ys: tuple[str, ...], temporal: bool, agg: str):
    import altair as alt

    xt = "x:T" if temporal else "x:Q"
    panels = []
    height = 340 if len(ys) == 1 else max(110, 360 // len(ys))
    for i, y in enumerate(ys):
        data = cd.frame[cd.frame["series"] == y]
        last = i == len(ys) - 1
        panels.append(alt.Chart(data).mark_line(strokeWidth=1.8, color=PALETTE[i % len(PALETTE)]).encode(
            x=alt.X(xt, title=_title(x) if last else None, axis=alt.Axis(labels=last, ticks=last)),
            y=alt.Y("value:Q", title=f"{agg}({_title(y, 24)})", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip(xt, title=x), alt.Tooltip("value:Q", title=f"{agg}({y})", format=".4g")],
        ).properties(height=height, width="container"))
    if len(panels) == 1:
        return panels[0].properties(usermeta={"embedOptions": {"renderer": "canvas"}})
    return alt.vconcat(*panels, spacing=6).properties(usermeta={"embedOptions": {"renderer": "canvas"}})


def bar_chart(cd: ChartData, x: str, y: str | None, agg: str):
    import altair as alt

    value_title = "rows" if agg == "count" or not y else f"{agg}({_title(y, 30)})"
    step = 26 if len(cd.frame) <= 20 else 18  # a band per category, so every label has room
    return alt.Chart(cd.frame).mark_bar(color=PALETTE[0]).encode(
        y=alt.Y("x:N", title=_title(x), sort="-x", axis=alt.Axis(labelLimit=220)),
        x=alt.X("value:Q", title=value_title),
        tooltip=[alt.Tooltip("x:N", title=x), alt.Tooltip("value:Q", title=value_title, format=",.4g")],
    ).properties(height=alt.Step(step), usermeta={"embedOptions": {"renderer": "canvas"}})


def histogram_chart(cd: ChartData, x: str, color: str | None = None):
    import altair as alt

    temporal = bool(cd.extra.get("temporal"))
    t = "T" if temporal else "Q"
    enc: dict[str, Any] = {
        "x": alt.X(f"x:{t}", title=_title(x), bin="binned"),
        "x2": alt.X2("x_end"),
        "y": alt.Y("count:Q", title="rows", stack=True if color else None),
        "tooltip": [alt.Tooltip(f"x:{t}", title="from"), alt.Tooltip(f"x_end:{t}", title="to"),
                    alt.Tooltip("count:Q", format=",")],
    }
    if color:
        enc["color"] = alt.Color("color:N", title=_title(color, 24), scale=alt.Scale(range=PALETTE))
        enc["tooltip"].append(alt.Tooltip("color:N", title=color))
    mark = _base(cd.frame).mark_bar(color=PALETTE[0], stroke="white", strokeWidth=0.5)
    return mark.encode(**enc)


def heatmap_chart(cd: ChartData, x: str, y: str, agg: str, z: str | None):
    import altair as alt

    value_title = "rows" if agg == "count" or not z else f"{agg}({_title(z, 30)})"
    enc: dict[str, Any] = {"color": alt.Color("value:Q", title=value_title, scale=alt.Scale(range=HEAT[:5])),
                           "tooltip": [alt.Tooltip("value:Q", title=value_title, format=",.4g")]}
    for axis, name in (("x", x), ("y", y)):
        channel = alt.X if axis == "x" else alt.Y
        if cd.extra.get(f"{axis}_binned"):
            enc[axis] = channel(f"{axis}:Q", title=_title(name), bin="binned", scale=alt.Scale(zero=False))
            enc[axis + "2"] = (alt.X2 if axis == "x" else alt.Y2)(f"{axis}_end")
            enc["tooltip"] += [alt.Tooltip(f"{axis}:Q", title=f"{name} from", format=".4g"),
                               alt.Tooltip(f"{axis}_end:Q", title="to", format=".4g")]
        else:
            many = cd.frame[axis].nunique() > 12
            enc[axis] = channel(f"{axis}:N", title=_title(name),
                                axis=alt.Axis(labelLimit=160, labelAngle=(-40 if many else 0) if axis == "x" else 0))
            enc["tooltip"].append(alt.Tooltip(f"{axis}:N", title=name))
    height = 380
    if not cd.extra.get("y_binned"):
        height = max(240, min(36 * cd.frame["y"].nunique(), 800))
    chart = alt.Chart(cd.frame).mark_rect(stroke="white", strokeWidth=0.5).encode(**enc).properties(height=height)
    small = not cd.extra.get("x_binned") and not cd.extra.get("y_binned") and len(cd.frame) <= 150
    if small:  # few cells: write the values in them
        text = alt.Chart(cd.frame).mark_text(fontSize=11).encode(
            x=enc["x"], y=enc["y"], text=alt.Text("value:Q", format=",.3~r"),  # 104,000 rather than 1.04e+5
            color=alt.condition(f"datum.value > {float(cd.frame['value'].quantile(0.6)) if len(cd.frame) else 0}",
                                alt.value("white"), alt.value("#1f2937")))
        chart = chart + text
    return chart.properties(usermeta={"embedOptions": {"renderer": "canvas"}})
