"""The data explorer's Streamlit component: ``explore(path, key=...)`` draws a paged, filterable table, a chart
builder and maps for one CSV / TSV / Parquet / JSON file.

Part of the Streamlit side (:mod:`lens_core.ui`): it only lays widgets out. The queries, charts and maps come from
:mod:`lens_core.explorer.views`, which runs everything in DuckDB, so the browser only ever receives aggregated or
capped rows; a caption says whenever what is shown is sampled or capped.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

from lens_core.explorer import extracts, maps, views
from lens_core.explorer import profile as pr
from lens_core.explorer import query as q
from lens_core.ui import links

P = ParamSpec("P")
R = TypeVar("R")

CHARTS = ("Scatter", "Line", "Bar", "Histogram", "Heatmap")
MAPS = ("Points", "Density", "Trajectories")
AGGS: tuple[q.AggFunc, ...] = ("avg", "sum", "min", "max", "median", "std", "count")
PAGE_SIZES = (25, 50, 100, 250)
EXPORT_ROWS = 1_000_000
NONE = "—"
MATCHES = {"contains": "contains", "starts with": "starts", "ends with": "ends", "equals": "eq"}  # label -> op
EMPTIES = ("keep empty", "drop empty", "only empty")


# ---- cached calls ------------------------------------------------------------------------------------------------
@st.cache_data(show_spinner="Profiling the data…", max_entries=32)
def _profile(path: str, fmt: str, stamp: tuple[float, int]) -> pr.Profile:
    # a failure is not cached here (Streamlit caches results only): profile_file remembers it per file version
    return pr.profile_file(q.Source(path, fmt), (path, *stamp))  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=256)
def _view(name: str, path: str, stamp: tuple[float, int], args: tuple, kwargs: tuple,
          _compute: Callable[..., Any], _p: pr.Profile) -> Any:
    """``_compute(profile, *args, **kwargs)``, cached by its ``name``, the file (path, mtime, size) and the
    arguments (the function and the profile are not hashed: the name and the file version stand for them)."""
    return _compute(_p, *args, **dict(kwargs))


class CachedViews:
    """The :mod:`lens_core.explorer.views` queries over one version of one file, each result cached:
    ``query(views.scatter_data, x, y, color, filters)`` is ``views.scatter_data(profile, x, y, color, filters)``."""

    def __init__(self, p: pr.Profile, stamp: tuple[float, int]) -> None:
        self.p, self.stamp = p, stamp

    def __call__(self, compute: Callable[Concatenate[pr.Profile, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        name = f"{compute.__module__}.{compute.__qualname__}"
        return _view(name, self.p.source.path, self.stamp, args, tuple(sorted(kwargs.items())),
                     _compute=compute, _p=self.p)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _note(*notes: str) -> None:
    for text in notes:
        st.caption(f":material/info: {text}")


def _index(options: list, value: object, default: int = 0) -> int:
    return options.index(value) if value in options else default


def _suggestion(p: pr.Profile, chart: str) -> pr.Suggestion | None:
    return next((s for s in p.suggestions if s.chart == chart), None)


# ---- the view as a link -----------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """A widget value as JSON: tuples as lists, times as ISO text, missing values as null, numpy scalars as
    Python numbers."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


class ViewLink:
    """The explorer's view (view, filters, table columns and order, chart and map picks) packed into one query
    parameter, so a link reopens the same view. Each widget is seeded through :meth:`seed` just before it is
    drawn: a value from a link new to this session replaces the default when it still fits the data (an option
    that exists, a number in range), else the default stays and a note says so. :meth:`publish` writes the values
    that differ from their defaults."""

    def __init__(self, key: str, param: str | None) -> None:
        self.key, self.param = key, param
        self.pending = (links.restore_packed(param, label="data view") or {}) if param else {}
        self.defaults: dict[str, Any] = {}

    def seed(self, name: str, default: Any, *, options: list | None = None, bounds: tuple[Any, Any] | None = None,
             multi: bool = False, label: str | None = None) -> str:
        """The widget key of ``name``; seeds its value from the link. ``options``: the choices (every one for
        ``multi``); ``bounds``: (low, high) of a number, a time, or a (low, high) pair."""
        wkey = f"{self.key}.{name}"
        self.defaults[name] = _jsonable(default)
        if name not in self.pending:
            return wkey
        raw = self.pending.pop(name)
        try:
            value = self._fit(raw, options, bounds, multi)
        except (ValueError, TypeError, KeyError, OverflowError):  # OverflowError: a link's Infinity as an int
            links.note(f"The link's {label or name.rsplit('.', 1)[-1]} “{raw}” no longer fits this data; "
                       "showing the default.")
        else:
            st.session_state[wkey] = value
        return wkey

    @staticmethod
    def _fit(raw: Any, options: list | None, bounds: tuple[Any, Any] | None, multi: bool) -> Any:
        if options is not None:
            by_json = {json.dumps(_jsonable(o)): o for o in options}
            return [by_json[json.dumps(v)] for v in raw] if multi else by_json[json.dumps(raw)]
        if bounds is None:
            if not isinstance(raw, (str, bool)):
                raise TypeError(raw)
            return raw
        low, high = bounds
        convert: Callable[[Any], Any]
        if isinstance(low, dt.datetime):
            def convert(v: Any) -> Any:
                return pd.Timestamp(v).to_pydatetime()
        else:
            kind = type(low)

            def convert(v: Any) -> Any:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise TypeError(v)
                return kind(v)
        values = [convert(v) for v in raw] if isinstance(raw, list) else [convert(raw)]
        if isinstance(raw, list) and len(values) != 2:
            raise ValueError(raw)
        if not all(low <= v <= high for v in values):
            raise ValueError(raw)
        return tuple(values) if isinstance(raw, list) else values[0]

    def publish(self) -> None:
        if not self.param:
            return
        current = {}
        for name, default in self.defaults.items():
            wkey = f"{self.key}.{name}"
            if wkey in st.session_state and (value := _jsonable(st.session_state[wkey])) != default:
                current[name] = value
        links.publish({self.param: current}, packed=(self.param,))


# ---- the component ---------------------------------------------------------------------------------------------
def explore(path: Path, *, key: str, link: str | None = None) -> None:
    """The explorer for one local data file. ``key`` keeps its widgets apart from others on the page; ``link``:
    the query parameter that holds the view, so a link reopens it (one explorer per page may have one)."""
    path = Path(path)
    try:
        source = q.Source.of(path)
        stat = path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        p = _profile(source.path, source.format, stamp)
    except pr.ProfileFailedError as exc:
        _profile_failed(source, exc, key)
        return
    except q.QueryError as exc:
        st.warning(f"This file could not be read as a table: {exc}", icon=":material/table_view:")
        return
    except OSError as exc:  # its strerror, not the server's path
        st.warning(f"This file could not be read as a table: {exc.strerror or type(exc).__name__}.",
                   icon=":material/table_view:")
        return
    if not p.columns:
        st.info("This file holds no columns.")
        return

    query = CachedViews(p, stamp)
    view_link = ViewLink(key, link)
    notes_slot = st.empty()  # what of an opened link no longer fits this data, once the widgets have said
    shown_views = ["Table", "Chart"] + (["Map"] if p.geo else []) + ["Columns"]
    facts = [_plural(p.rows, "row"), _plural(len(p.column_names), "column")]
    if p.geo:
        facts.append(f":material/location_on: {p.geo.lat} / {p.geo.lon}"
                     + (" (guessed from the values)" if p.geo.how == "values" else ""))
    if p.time:
        facts.append(f":material/schedule: {p.time}")
    copy = extracts.status(source)
    if copy in ("pending", "building"):
        facts.append(":material/hourglass_top: making a local copy for faster queries")
    elif copy == "ready":
        facts.append(":material/bolt: fast local copy")
    top = st.columns([3, 2], vertical_alignment="center")
    view = top[0].radio("View", shown_views, horizontal=True, label_visibility="collapsed",
                        key=view_link.seed("view", shown_views[0], options=shown_views, label="view"))
    top[1].caption(" · ".join(facts))
    if p.partial:
        _note(f"Profiled {len(p.columns):,} of {len(p.column_names):,} columns (the first ones, to keep this fast): "
              "filters, charts and maps use those; the table's column chooser and the Columns view list all "
              f"{len(p.column_names):,}.")
    filters = _filters(p, view_link, query)
    try:
        if view == "Table":
            _table(p, view_link, filters, query)
        elif view == "Chart":
            _chart(p, view_link, filters, query)
        elif view == "Map":
            _map(p, view_link, filters, query)
        else:
            _columns(p)
    except q.QueryTimeoutError as exc:
        st.error(f"**Too slow.** {exc}", icon=":material/timer_off:")
    except q.QueryError as exc:
        st.error(f"**The query failed.** {exc}", icon=":material/error:")
    view_link.publish()
    if link:
        with notes_slot.container():
            links.fallback_notes()


def _profile_failed(source: q.Source, exc: pr.ProfileFailedError, key: str) -> None:
    """Why profiling failed, remembered for this version of the file, and a way to try again."""
    failure = exc.failure
    when = time.strftime("%H:%M:%S", time.localtime(failure.at))
    head = ("**Profiling this file took too long.**" if failure.timed_out
            else "This file could not be read as a table:")
    st.warning(f"{head} {failure.message}\n\nThis failed at {when} and is remembered for this version of the file: "
               "it is not tried again on every rerun, only when the file changes or you retry.",
               icon=":material/timer_off:" if failure.timed_out else ":material/table_view:")
    st.button("Retry profiling", key=f"{key}.retry_profile", icon=":material/refresh:",
              on_click=pr.forget_failure, args=(source,))


# ---- filters ---------------------------------------------------------------------------------------------------
def _filters(p: pr.Profile, link: ViewLink, query: CachedViews) -> tuple[q.Filter, ...]:
    names = [c.name for c in p.columns]
    on_key = link.seed("filter_on", [], options=names, multi=True, label="filter columns")
    chosen = st.session_state.get(on_key) or []
    label = "Filters" + (f" · {len(chosen)}" if chosen else "")
    out: list[q.Filter] = []
    with st.expander(label, icon=":material/filter_alt:", expanded=bool(chosen)):
        chosen = st.multiselect("Filter on", names, key=on_key, placeholder="Choose columns to filter on")
        for name in chosen:
            c = p.column(name)
            left, right = st.columns([4, 1], vertical_alignment="bottom")
            wkey = f"{link.key}.filter.{name}"
            with left:
                if c.kind == "numeric" and not c.all_null:
                    lo, hi = float(pr._num(c.minimum) or 0), float(pr._num(c.maximum) or 0)
                    if hi > lo:
                        step = None if not c.integer else 1.0
                        a, b = st.slider(name, lo, hi, (lo, hi), step=step,
                                         key=link.seed(f"filter.{name}", (lo, hi), bounds=(lo, hi), label=name))
                        if (a, b) != (lo, hi):
                            out.append(q.Filter(name, "between", a, b))
                    else:
                        st.caption(f"{name}: every value is {lo:g}")
                elif c.kind in ("categorical", "boolean") and not c.all_null:
                    values = query(views.top_values, name, limit=200)["value"].tolist()
                    picked = st.multiselect(name, values, placeholder="Any value",
                                            key=link.seed(f"filter.{name}", [], options=values, multi=True,
                                                          label=name),
                                            format_func=lambda v: "(empty)" if v is None or v is pd.NA else str(v))
                    if picked:
                        out.append(q.Filter(name, "in", tuple(None if v is pd.NA else v for v in picked)))
                elif c.kind == "datetime" and c.time_encoding == "typed" and not c.all_null:
                    lo_t, hi_t = pd.Timestamp(str(c.minimum)), pd.Timestamp(str(c.maximum))
                    if hi_t > lo_t:
                        span = (lo_t.to_pydatetime(), hi_t.to_pydatetime())
                        a, b = st.slider(name, *span, span, key=link.seed(f"filter.{name}", span, bounds=span,
                                                                           label=name))
                        if (pd.Timestamp(a), pd.Timestamp(b)) != (lo_t, hi_t):
                            out.append(q.Filter(name, "between", pd.Timestamp(a).to_pydatetime(),
                                                pd.Timestamp(b).to_pydatetime()))
                    else:
                        st.caption(f"{name}: a single time")
                else:
                    mode_key = link.seed(f"filter.{name}.mode", "contains", options=list(MATCHES), label="match")
                    mode = st.session_state.get(mode_key, "contains")
                    text = st.text_input(f"{name} {mode}", key=link.seed(f"filter.{name}", ""), placeholder="text")
                    if text:
                        out.append(q.Filter(name, MATCHES[mode], text))
            with right:
                if c.kind not in ("numeric", "categorical", "boolean", "datetime") or c.all_null or (
                        c.kind == "datetime" and c.time_encoding != "typed"):
                    st.selectbox("match", list(MATCHES), key=f"{wkey}.mode", label_visibility="collapsed")
                nulls = st.selectbox("Empty values", list(EMPTIES), label_visibility="collapsed",
                                     key=link.seed(f"filter.{name}.nulls", EMPTIES[0], options=list(EMPTIES),
                                                   label="empty values"),
                                     help=f"Rows where {name} has no value")
                if nulls == "drop empty":
                    out.append(q.Filter(name, "not_null"))
                elif nulls == "only empty":
                    out.append(q.Filter(name, "is_null"))
    return tuple(out)


# ---- table -----------------------------------------------------------------------------------------------------
def _table(p: pr.Profile, link: ViewLink, filters: tuple[q.Filter, ...], query: CachedViews) -> None:
    names = p.column_names  # every column, also those a wide file's profile left out
    default = names if len(names) <= 40 else names[:40]
    with st.expander("Columns and order", icon=":material/view_column:",
                     expanded=False):
        shown = st.multiselect("Columns", names, default=default, placeholder="All columns",
                               key=link.seed("columns", default, options=names, multi=True, label="columns"))
        a, b = st.columns([3, 1], vertical_alignment="bottom")
        sort = a.selectbox("Sort by", [NONE] + names,
                           key=link.seed("sort", NONE, options=[NONE] + names, label="sort column"))
        descending = b.toggle("Descending", key=link.seed("desc", False, options=[False, True]))
    shown = shown or names
    order = (q.Order(sort, descending),) if sort != NONE else ()
    size_key = link.seed("page_size", 50, options=list(PAGE_SIZES), label="rows per page")
    page_key = link.seed("page", 1, bounds=(1, 10**9), label="page")
    page_size = int(st.session_state.get(size_key, 50))
    page = int(st.session_state.get(page_key, 1) or 1)
    res = query(views.table_page, tuple(shown), filters, order, page, page_size)
    total = int(res.total or 0)
    pages = max(1, math.ceil(total / page_size))
    if page > pages:  # filters shrank the result
        page = 1
        st.session_state[page_key] = 1
        res = query(views.table_page, tuple(shown), filters, order, page, page_size)
    st.dataframe(res.frame, hide_index=True, width="stretch", height=min(38 + 35 * max(len(res.frame), 1), 460))
    filtered = f" (filtered from {p.rows:,})" if filters else ""
    cols = st.columns([4, 1.2, 1.2, 1.3], vertical_alignment="center")
    cols[0].caption(f"{_plural(total, 'row')}{filtered} · {_plural(len(shown), 'column')} · page {page:,} of "
                    f"{pages:,}")
    cols[1].selectbox("Rows per page", PAGE_SIZES, index=_index(list(PAGE_SIZES), page_size, 1), key=size_key,
                      label_visibility="collapsed", format_func=lambda n: f"{n} / page")
    cols[2].number_input("Page", min_value=1, max_value=pages, value=min(page, pages), step=1, key=page_key,
                         label_visibility="collapsed")
    request = q.QueryRequest(p.source, columns=tuple(shown), filters=filters, order=order)
    capped = total > EXPORT_ROWS
    cols[3].download_button(
        "CSV", data=lambda: q.export_csv(request, max_rows=EXPORT_ROWS),
        file_name=f"{Path(p.source.path).stem}{'-filtered' if filters else ''}.csv", mime="text/csv",
        icon=":material/download:", on_click="ignore", key=f"{link.key}.export",
        help=f"The filtered rows and chosen columns ({total:,} rows)" + (
            f"; the first {EXPORT_ROWS:,} only" if capped else ""))


def _columns(p: pr.Profile) -> None:
    st.dataframe(pr.frame_summary(p), hide_index=True, width="stretch",
                 height=min(38 + 35 * len(p.columns), 560))
    if p.sampled:
        _note(f"Statistics from a uniform sample of {pr.FULL_SCAN_ROWS:,} of {p.rows:,} rows; the row count is exact.")


# ---- charts ----------------------------------------------------------------------------------------------------
def _chart(p: pr.Profile, link: ViewLink, filters: tuple[q.Filter, ...], query: CachedViews) -> None:
    numeric = p.names("numeric")
    cats = p.names("categorical", "boolean")
    times = list(p.times)
    everything = [c.name for c in p.columns]
    first = next((s for s in p.suggestions if s.chart in ("line", "scatter", "bar", "histogram", "heatmap")), None)
    default_kind = first.chart.title() if first else "Bar"
    kind = st.radio("Chart", CHARTS, index=_index(list(CHARTS), default_kind), horizontal=True,
                    key=link.seed("chart", default_kind, options=list(CHARTS), label="chart"),
                    label_visibility="collapsed")
    s = _suggestion(p, kind.lower())
    c = st.columns([1, 2, 1, 1] if kind == "Line" else 4)  # several y columns need room for their chips
    if kind == "Scatter":
        if len(numeric) < 2:
            st.info("A scatter chart needs two numeric columns.")
            return
        x = c[0].selectbox("x", numeric, index=(i := _index(numeric, s.x if s else None)),
                           key=link.seed("sc.x", numeric[i], options=numeric, label="x"))
        y = c[1].selectbox("y", numeric, index=(i := _index(numeric, s.y[0] if s and s.y else None, 1)),
                           key=link.seed("sc.y", numeric[i], options=numeric, label="y"))
        opts = [NONE] + everything
        color = c[2].selectbox("colour", opts, index=(i := _index(opts, s.color if s else None)),
                               key=link.seed("sc.color", opts[i], options=opts, label="colour"))
        color = None if color == NONE else color
        cd = query(views.scatter_data, x, y, color, filters)
        st.altair_chart(views.scatter_chart(cd, x, y, color, p), width="stretch")
    elif kind == "Line":
        xs = times + numeric
        if not xs or not numeric:
            st.info("A line chart needs a time or numeric axis and a numeric column.")
            return
        x = c[0].selectbox("x (time)", xs, index=(i := _index(xs, s.x if s else None)),
                           key=link.seed("ln.x", xs[i], options=xs, label="x"))
        y_options = [n for n in numeric if n != x]
        y_default = [y for y in (s.y if s else numeric[:1]) if y in numeric and y != x]
        ys = c[1].multiselect("y", y_options, default=y_default,
                              key=link.seed("ln.y", y_default, options=y_options, multi=True, label="y"))
        agg = c[2].selectbox("aggregate", AGGS,
                             key=link.seed("ln.agg", AGGS[0], options=list(AGGS), label="aggregate"))
        if not ys:
            st.info("Choose one or more y columns.")
            return
        cd = query(views.line_data, x, tuple(ys), agg, filters)
        st.altair_chart(views.line_chart(cd, x, tuple(ys), x in times, agg), width="stretch")
    elif kind == "Bar":
        groups = cats + [n for n in everything if n not in cats]
        x = c[0].selectbox("group by", groups, index=(i := _index(groups, s.x if s else None)),
                           key=link.seed("bar.x", groups[i], options=groups, label="group by"))
        agg = c[1].selectbox("aggregate", AGGS, index=(i := _index(list(AGGS), s.agg if s else "count")),
                             key=link.seed("bar.agg", AGGS[i], options=list(AGGS), label="aggregate"))
        ys = [n for n in numeric if n != x]
        y = None
        if agg != "count":
            if not ys:
                st.info("No numeric column to aggregate: showing row counts.")
                agg = "count"
            else:
                y = c[2].selectbox("of", ys, index=(i := _index(ys, s.y[0] if s and s.y else None)),
                                   key=link.seed("bar.y", ys[i], options=ys, label="of"))
        cd = query(views.bar_data, x, y, agg, filters)
        st.altair_chart(views.bar_chart(cd, x, y, agg), width="stretch")
    elif kind == "Histogram":
        xs = numeric + [t for t in times if p.column(t).time_encoding == "typed" or p.column(t).kind == "datetime"]
        if not xs:
            st.info("A histogram needs a numeric or time column.")
            return
        x = c[0].selectbox("column", xs, index=(i := _index(xs, s.x if s else None)),
                           key=link.seed("hist.x", xs[i], options=xs, label="column"))
        bins = c[1].slider("bins", 5, 100, 30, key=link.seed("hist.bins", 30, bounds=(5, 100), label="bins"))
        opts = [NONE] + cats
        color = c[2].selectbox("stack by", opts, key=link.seed("hist.color", NONE, options=opts, label="stack by"))
        color = None if color == NONE or x in times else color
        cd = query(views.histogram_data, x, bins, filters, color=color)
        st.altair_chart(views.histogram_chart(cd, x, color), width="stretch")
    else:
        x = c[0].selectbox("x", everything, index=(i := _index(everything, s.x if s else None)),
                           key=link.seed("hm.x", everything[i], options=everything, label="x"))
        rest = [n for n in everything if n != x]
        y = c[1].selectbox("y", rest, index=(i := _index(rest, s.y[0] if s and s.y else None)),
                           key=link.seed("hm.y", rest[i], options=rest, label="y"))
        heat_aggs = ["count", *AGGS[:-1]]
        agg = c[2].selectbox("aggregate", heat_aggs,
                             key=link.seed("hm.agg", "count", options=heat_aggs, label="aggregate"))
        z = None
        if agg != "count" and numeric:
            z = c[3].selectbox("of", numeric, key=link.seed("hm.z", numeric[0], options=numeric, label="of"))
        elif agg != "count":
            agg = "count"
        cd = query(views.heatmap_data, x, y, agg, z, filters)
        st.altair_chart(views.heatmap_chart(cd, x, y, agg, z), width="stretch")
    _note(*cd.notes)
    st.caption(f"{_plural(cd.rows_sent, 'row')} sent to the browser · computed in DuckDB over "
               f"{'the filtered' if filters else 'all'} {p.rows:,} rows.")


# ---- maps ------------------------------------------------------------------------------------------------------
def _legend(legend: dict[str, Any], label: str | None) -> None:
    if cats := legend.get("categories"):
        items = " ".join(f'<span style="white-space:nowrap;margin-right:12px"><span style="color:{colour};'
                         f'font-size:1.1em">●</span> {html.escape(str(name))}</span>'
                         for name, colour in list(cats.items())[:18])
        if (more := int(legend.get("more", 0)) + max(0, len(cats) - 18)) > 0:
            items += f'<span style="white-space:nowrap;color:#6b7280">… and {more:,} more</span>'
        st.markdown(f'<div style="font-size:0.85em;line-height:1.8">{html.escape(label or "")}'
                    f'{": " if label else ""}{items}</div>', unsafe_allow_html=True)
    elif rng := legend.get("range"):
        lo, hi = rng
        stops = legend.get("stops", views.RAMP)
        st.markdown(
            f'<div style="display:flex;align-items:center;gap:8px;font-size:0.85em">'
            f'<span>{html.escape(label or "")}</span><span>{lo:.4g}</span>'
            f'<span style="display:inline-block;width:180px;height:10px;border-radius:3px;'
            f'background:linear-gradient(90deg,{",".join(stops)})"></span><span>{hi:.4g}</span></div>',
            unsafe_allow_html=True)


def _map(p: pr.Profile, link: ViewLink, filters: tuple[q.Filter, ...], query: CachedViews) -> None:
    assert p.geo is not None
    everything = [c.name for c in p.columns]
    numeric = [n for n in p.names("numeric") if n not in (p.geo.lat, p.geo.lon)]
    can_trace = bool(p.times and p.entities)
    kind = st.radio("Map", MAPS, horizontal=True, label_visibility="collapsed",
                    key=link.seed("map", MAPS[0], options=list(MAPS), label="map"))
    c = st.columns([1, 2, 1, 1] if kind == "Points" else 4)  # room for the tooltip columns' chips
    if kind == "Points":
        s = _suggestion(p, "points")
        opts = [NONE] + [n for n in everything if n not in (p.geo.lat, p.geo.lon)]
        color = c[0].selectbox("colour by", opts, index=(i := _index(opts, s.color if s else None)),
                               key=link.seed("pt.color", opts[i], options=opts, label="colour by"))
        color = None if color == NONE else color
        tip_default = [n for n in (p.entity, p.time) if n]
        tip_options = [n for n in everything if n not in (p.geo.lat, p.geo.lon)]
        tips = c[1].multiselect("tooltip", tip_options, default=tip_default,
                                key=link.seed("pt.tips", tip_default, options=tip_options, multi=True,
                                              label="tooltip"))
        cd = query(maps.points_data, color, tuple(tips), filters)
        deck, legend = maps.points_deck(cd, p, color, tuple(tips))
        st.pydeck_chart(deck, height=540, key=f"{link.key}.deck.points")
        _legend(legend, color)
    elif kind == "Density":
        opts = ["rows (count)"] + numeric
        s = _suggestion(p, "density")
        weight = c[0].selectbox("weight", opts, index=0,
                                key=link.seed("dn.weight", opts[0], options=opts, label="weight"))
        agg = "count"
        if weight != opts[0]:
            density_aggs = ["sum", "avg", "max", "min", "median"]
            agg = c[1].selectbox("aggregate", density_aggs,
                                 key=link.seed("dn.agg", "sum", options=density_aggs, label="aggregate"))
        default_cells = int(min(80, max(16, math.sqrt(max(p.rows, 1)) / 2)))
        cells = c[2].slider("cells across", 10, 150, default_cells,
                            key=link.seed("dn.cells", default_cells, bounds=(10, 150), label="cells across"))
        w = None if weight == opts[0] else weight
        cd = query(maps.density_data, w, agg, filters, cells=cells)
        label = "rows" if w is None else f"{agg}({w})"
        deck, legend = maps.density_deck(cd, label)
        st.pydeck_chart(deck, height=540, key=f"{link.key}.deck.density")
        legend["stops"] = views.HEAT
        _legend(legend, label)
    else:
        if not can_trace:
            st.info("Trajectories need a time column and a column naming each moving thing (a vehicle or device "
                    "id); none was detected in this data.", icon=":material/route:")
            return
        entities, times = list(p.entities), list(p.times)
        entity = c[0].selectbox("one path per", entities,
                                key=link.seed("tr.entity", entities[0], options=entities, label="path column"))
        time = c[1].selectbox("ordered by", times,
                              key=link.seed("tr.time", times[0], options=times, label="order column"))
        opts = [f"each {entity}"] + [n for n in everything if n not in (p.geo.lat, p.geo.lon, entity)]
        color = c[2].selectbox("colour by", opts, key=link.seed("tr.color", opts[0], options=opts,
                                                                 label="colour by"))
        color = None if color == opts[0] else color
        most = c[3].number_input("at most", 1, 5000, maps.MAX_ENTITIES,
                                 key=link.seed("tr.max", maps.MAX_ENTITIES, bounds=(1, 5000), label="at most"),
                                 help="paths drawn (the entities with the most points)")
        cd = query(maps.trajectory_data, entity, time, color, filters, max_entities=int(most))
        deck, legend = maps.trajectories_deck(cd, p, entity, color)
        st.pydeck_chart(deck, height=540, key=f"{link.key}.deck.trajectories")
        _legend(legend, color or entity)
        tip = (f" Many paths overlap: pick a few {entity} values under *Filters* to follow them."
               if len(cd.frame) > 8 and not filters else "")
        st.caption(f":material/trip_origin: marks where each path starts ({_plural(len(cd.frame), 'path')}, "
                   f"{cd.extra.get('vertices', 0):,} points).{tip}")
    _note(*cd.notes)
    sent = cd.extra.get("vertices", cd.rows_sent)
    st.caption(f"{sent:,} {'points' if kind != 'Density' else 'cells'} sent to the browser · no basemap: the grey "
               "lines are latitude / longitude.")


# ---- what the explorer opens -------------------------------------------------------------------------------------
def is_table_file(path: Path) -> bool:
    """Whether the explorer opens this file: CSV / TSV / Parquet, or JSON holding records (an array of objects or
    one object per line), not a single JSON document such as a config."""
    fmt = q.readable_format(path)
    if fmt is None:
        return False
    if fmt != "json":
        return True
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(65536).decode("utf-8", errors="replace")
    except OSError:
        return False
    text = head.lstrip()
    if text.startswith("["):
        return text[1:].lstrip().startswith("{")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) >= 2 and all(line.startswith("{") for line in lines[:2])
