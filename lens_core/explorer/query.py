"""The DuckDB query service over dataset files: a typed, frozen request becomes one SQL statement with quoted
identifiers and bound parameters only.

User text never reaches the SQL text: column names are quoted (``"`` doubled), every value — file paths, filter
values, bin bounds, quantile levels, time-bucket widths — is a ``?`` parameter. The only numbers written into the
SQL are ones this module produced itself from ``int()`` (row limits, sample sizes, bin counts), which DuckDB does not
accept as parameters.

Each query runs on its own cursor of a process-wide in-memory connection (a DuckDB connection is not shared across
threads), under a time limit: past it the cursor is interrupted and :class:`QueryTimeoutError` says so. Results are
capped at ``max_rows``; :class:`QueryResult` says when a result was capped or sampled so the UI can tell the user.
"""
from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from lens_core.explorer import extracts
from lens_core.explorer.sources import Format as Format  # the request types and the connection, for callers
from lens_core.explorer.sources import QueryError as QueryError
from lens_core.explorer.sources import Source as Source
from lens_core.explorer.sources import connection as connection
from lens_core.explorer.sources import cursor as cursor
from lens_core.explorer.sources import file_sql as file_sql
from lens_core.explorer.sources import readable_format as readable_format

FilterOp = Literal["eq", "ne", "in", "not_in", "between", "lt", "le", "gt", "ge", "contains", "starts", "ends",
                   "is_null", "not_null"]
AggFunc = Literal["count", "count_distinct", "sum", "avg", "min", "max", "median", "std", "quantile"]
TimeEncoding = Literal["typed", "string", "epoch_s", "epoch_ms"]

#: Seconds a query may run before it is interrupted.
DEFAULT_TIMEOUT = 30.0
#: Rows a query may return at most (the browser never needs more).
DEFAULT_MAX_ROWS = 10_000
#: Bin counts are clamped to this range.
MAX_BINS = 1000

#: Time-bucket widths a request may name (the width itself is bound as a parameter).
BUCKETS: tuple[str, ...] = ("1 second", "10 seconds", "1 minute", "5 minutes", "15 minutes", "30 minutes",
                            "1 hour", "3 hours", "6 hours", "12 hours", "1 day", "7 days", "1 month", "3 months",
                            "1 year")
_BUCKET_SECONDS = {"1 second": 1, "10 seconds": 10, "1 minute": 60, "5 minutes": 300, "15 minutes": 900,
                   "30 minutes": 1800, "1 hour": 3600, "3 hours": 10800, "6 hours": 21600, "12 hours": 43200,
                   "1 day": 86400, "7 days": 604800, "1 month": 2_629_746, "3 months": 7_889_238,
                   "1 year": 31_556_952}


#: The window column carrying an aggregated result's group count (dropped from the frame returned).
TOTAL_COLUMN = "__lens_total"


class QueryTimeoutError(QueryError):
    """A query ran past its time limit and was stopped."""


# ---- the request ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Filter:
    """One condition. ``value`` is a scalar, or a tuple for ``in`` / ``not_in``; ``between`` uses ``value`` and
    ``value2`` (either may be None for an open end). ``contains`` / ``starts`` / ``ends`` match text literally
    (no wildcards), case-insensitively unless ``case`` is set."""

    column: str
    op: FilterOp
    value: Any = None
    value2: Any = None
    case: bool = False


@dataclass(frozen=True, slots=True)
class Agg:
    """An aggregation; ``column`` None counts rows. ``q`` is the level of a ``quantile``."""

    func: AggFunc
    column: str | None = None
    alias: str | None = None
    q: float = 0.5

    @property
    def name(self) -> str:
        if self.alias:
            return self.alias
        if self.func == "count" and self.column is None:
            return "count"
        if self.func == "quantile":
            return f"q{self.q:g}({self.column})"
        return f"{self.func}({self.column})"


@dataclass(frozen=True, slots=True)
class Bin:
    """Equal-width bins of a numeric column as a grouping key: the output has ``alias`` (bin start) and
    ``alias + "_end"``. ``lo`` / ``hi`` default to the filtered data's min / max."""

    column: str
    bins: int = 30
    lo: float | None = None
    hi: float | None = None
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or self.column


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """A time column cut into buckets of ``every`` (one of :data:`BUCKETS`) as a grouping key."""

    column: str
    every: str = "1 hour"
    encoding: TimeEncoding = "typed"
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or self.column


@dataclass(frozen=True, slots=True)
class Order:
    """Sort by an output column (a column, a group key's name or an aggregation's name)."""

    column: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Sample:
    """A uniform random sample of ``rows`` rows (reservoir, reproducible with ``seed``), taken after filtering."""

    rows: int
    seed: int = 42


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """What to read. Without group keys or aggregations it selects rows (``columns``, all when empty);
    with them it aggregates (group keys: ``group_by`` columns, ``bins``, ``time_bucket``)."""

    source: Source
    columns: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    group_by: tuple[str, ...] = ()
    bins: tuple[Bin, ...] = ()
    time_bucket: TimeBucket | None = None
    aggs: tuple[Agg, ...] = ()
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int = 0
    sample: Sample | None = None
    with_total: bool = False  # also count the result's rows before limit / offset

    @property
    def aggregating(self) -> bool:
        return bool(self.group_by or self.bins or self.time_bucket or self.aggs)


@dataclass(frozen=True)
class QueryResult:
    frame: pd.DataFrame
    total: int | None  # rows before limit / offset (with_total), else None
    capped: bool  # more rows matched than were returned because of the row cap
    sampled: bool  # the rows are a sample of the filtered data
    seconds: float
    sql: str = field(repr=False, default="")
    params: tuple[Any, ...] = field(repr=False, default=())


# ---- compiling --------------------------------------------------------------------------------------------------
def quote(identifier: str) -> str:
    """A SQL identifier, double-quoted with inner quotes doubled: ``a"b`` → ``"a""b"``."""
    if not isinstance(identifier, str) or identifier == "" or "\x00" in identifier:
        raise QueryError(f"Not a column name: {identifier!r}")
    return '"' + identifier.replace('"', '""') + '"'


def source_sql(source: Source) -> tuple[str, list[Any]]:
    """What a query reads a source from: its local DuckDB copy when one is ready (big files, see
    :mod:`lens_core.explorer.extracts`), else the file itself."""
    if (table := extracts.table_sql(source)) is not None:
        return table, []
    return file_sql(source)


def filtered_sql(source: Source, filters: Sequence[Filter] = ()) -> tuple[str, list[Any]]:
    """``SELECT * FROM <source> WHERE <filters>`` and its parameters, to build other statements on."""
    src, params = source_sql(source)
    where, where_params = [], []
    for f in filters:
        clause, p = _filter_sql(f)
        where.append(f"({clause})")
        where_params += p
    return f"SELECT * FROM {src}" + (f" WHERE {' AND '.join(where)}" if where else ""), params + where_params


def _float_literal(value: Any) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise QueryError(f"A bin bound must be a finite number, not {value!r}.")
    return f"CAST({number!r} AS DOUBLE)"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filter_sql(f: Filter) -> tuple[str, list[Any]]:
    col = quote(f.column)
    simple = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if f.op in simple:
        if f.value is None:
            raise QueryError(f"The filter {f.op} on {f.column!r} needs a value.")
        return f"{col} {simple[f.op]} ?", [f.value]
    if f.op in ("in", "not_in"):
        values = list(f.value) if isinstance(f.value, (list, tuple, set, frozenset)) else [f.value]
        present = [v for v in values if v is not None]
        parts = []
        params: list[Any] = []
        if present:
            parts.append(f"{col} IN ({', '.join('?' * len(present))})")
            params += present
        if len(present) < len(values):
            parts.append(f"{col} IS NULL")
        if not parts:
            return ("TRUE" if f.op == "not_in" else "FALSE"), []
        clause = "(" + " OR ".join(parts) + ")"
        return (f"NOT {clause}" if f.op == "not_in" else clause), params
    if f.op == "between":
        parts, params = [], []
        if f.value is not None:
            parts.append(f"{col} >= ?")
            params.append(f.value)
        if f.value2 is not None:
            parts.append(f"{col} <= ?")
            params.append(f.value2)
        return (" AND ".join(parts) or "TRUE"), params
    if f.op in ("contains", "starts", "ends"):
        text = _escape_like(str(f.value if f.value is not None else ""))
        pattern_sql = {"contains": "'%' || ? || '%'", "starts": "? || '%'", "ends": "'%' || ?"}[f.op]
        like = "LIKE" if f.case else "ILIKE"
        return f"CAST({col} AS VARCHAR) {like} {pattern_sql} ESCAPE '\\'", [text]
    if f.op == "is_null":
        return f"{col} IS NULL", []
    if f.op == "not_null":
        return f"{col} IS NOT NULL", []
    raise QueryError(f"Unknown filter operator {f.op!r}")


def time_expr(column: str, encoding: TimeEncoding = "typed") -> str:
    """A TIMESTAMP expression for a time column in any of the encodings profile detects."""
    col = quote(column)
    if encoding == "string":
        return f"TRY_CAST({col} AS TIMESTAMP)"
    # make_timestamp(µs) is a plain TIMESTAMP; to_timestamp()::TIMESTAMP would shift by the session's time zone
    if encoding == "epoch_s":
        return f"make_timestamp(CAST(round(CAST({col} AS DOUBLE) * 1000000) AS BIGINT))"
    if encoding == "epoch_ms":
        return f"make_timestamp(CAST(round(CAST({col} AS DOUBLE) * 1000) AS BIGINT))"
    return f"CAST({col} AS TIMESTAMP)"


def _agg_sql(a: Agg) -> tuple[str, list[Any]]:
    if a.func == "count":
        return ("count(*)" if a.column is None else f"count({quote(a.column)})"), []
    if a.column is None:
        raise QueryError(f"The aggregation {a.func} needs a column.")
    col = quote(a.column)
    if a.func == "count_distinct":
        return f"count(DISTINCT {col})", []
    if a.func in ("min", "max"):
        return f"{a.func}({col})", []
    num = f"TRY_CAST({col} AS DOUBLE)"  # an all-empty CSV column is text: its sum is NULL, not an error
    if a.func in ("sum", "avg"):
        return f"{a.func}({num})", []
    if a.func == "median":
        return f"median({num})", []
    if a.func == "std":
        return f"stddev_samp({num})", []
    if a.func == "quantile":
        q = float(a.q)
        if not 0.0 <= q <= 1.0:
            raise QueryError(f"A quantile level is between 0 and 1, not {a.q!r}.")
        return f"quantile_cont({num}, ?)", [q]
    raise QueryError(f"Unknown aggregation {a.func!r}")


def compile_request(req: QueryRequest, *, max_rows: int = DEFAULT_MAX_ROWS
                    ) -> tuple[str, list[Any], str | None, list[Any]]:
    """``(sql, params, count_sql, count_params)``: the statement for the rows (at most ``max_rows + 1``, to see
    whether the cap cut it) and, with ``with_total``, the one counting them."""
    base, base_params = filtered_sql(req.source, req.filters)
    if req.sample is not None:
        rows = max(1, int(req.sample.rows))
        base = f"SELECT * FROM ({base}) USING SAMPLE reservoir({rows} ROWS) REPEATABLE ({int(req.sample.seed)})"

    ctes = [f"filtered AS ({base})"]
    cte_params = list(base_params)
    if not req.aggregating:
        cols = ", ".join(quote(c) for c in req.columns) if req.columns else "*"
        body = f"SELECT {cols} FROM filtered"
        body_params: list[Any] = []
    else:
        keyed, keyed_params = [], []  # key columns computed once per row, grouped on by name
        keys: list[str] = []
        select: list[str] = []
        agg_params: list[Any] = []
        from_sql = "filtered"
        scanned = [i for i, b in enumerate(req.bins) if b.lo is None or b.hi is None]
        if scanned:  # bounds from the filtered data: one aggregate over it, joined to every row
            bound_parts, bound_params = [], []
            for i in scanned:
                b, col = req.bins[i], quote(req.bins[i].column)
                bound_parts.append(f"coalesce(CAST(? AS DOUBLE), min(CAST({col} AS DOUBLE))) AS __lens_lo{i}, "
                                   f"coalesce(CAST(? AS DOUBLE), max(CAST({col} AS DOUBLE))) AS __lens_hi{i}")
                bound_params += [b.lo, b.hi]
            ctes.append(f"bounds AS (SELECT {', '.join(bound_parts)} FROM filtered)")
            cte_params += bound_params
            from_sql = "filtered CROSS JOIN bounds"
        for c in req.group_by:
            keys.append(quote(c))
            select.append(quote(c))
        for i, b in enumerate(req.bins):
            n = max(1, min(int(b.bins), MAX_BINS))
            if i in scanned:
                lo, hi = f"__lens_lo{i}", f"__lens_hi{i}"
            else:  # known bounds are written as numbers (float() of the request's values, never text)
                lo, hi = _float_literal(b.lo), _float_literal(b.hi)
            col = f"CAST({quote(b.column)} AS DOUBLE)"
            width = f"(CASE WHEN {hi} > {lo} THEN ({hi} - {lo}) / {n} ELSE 1.0 END)"
            if i in scanned:
                scale = f"(CASE WHEN {hi} > {lo} THEN {n} / ({hi} - {lo}) ELSE 0.0 END)"
            else:  # a constant: multiplying beats dividing on every row
                span = float(b.hi) - float(b.lo)
                scale = _float_literal(n / span if span > 0 else 0.0)
            # values outside [lo, hi] and NULLs get no bin; an integer key groups faster than a double
            keyed.append(f"(CASE WHEN {col} BETWEEN {lo} AND {hi} THEN "
                         f"least(CAST(floor(({col} - {lo}) * {scale}) AS BIGINT), {n - 1}) END) AS __lens_b{i}")
            keys.append(f"__lens_b{i}")
            lo_sel, width_sel = (f"any_value({lo})", f"any_value({width})") if i in scanned else (lo, width)
            select.append(f"{lo_sel} + __lens_b{i} * {width_sel} AS {quote(b.name)}")
            select.append(f"{lo_sel} + (__lens_b{i} + 1) * {width_sel} AS {quote(b.name + '_end')}")
        if (tb := req.time_bucket) is not None:
            if tb.every not in BUCKETS:
                raise QueryError(f"Unknown time bucket {tb.every!r}; use one of {', '.join(BUCKETS)}.")
            t = time_expr(tb.column, tb.encoding)
            if (seconds := _BUCKET_SECONDS[tb.every]) <= 86400:
                # widths that divide a day: integer arithmetic on epoch microseconds, floored (also before 1970),
                # aligned like time_bucket's default origin and several times faster than it
                w = int(seconds) * 1_000_000
                keyed.append(f"(epoch_us({t}) - ((epoch_us({t}) % {w}) + {w}) % {w}) AS __lens_t")
                select.append(f"make_timestamp(__lens_t) AS {quote(tb.name)}")
            else:  # weeks, months, years: calendar buckets
                keyed.append(f"time_bucket(CAST(? AS INTERVAL), {t}) AS __lens_t")
                keyed_params.append(tb.every)
                select.append(f"__lens_t AS {quote(tb.name)}")
            keys.append("__lens_t")
        for a in req.aggs:
            expr, p = _agg_sql(a)
            select.append(f"{expr} AS {quote(a.name)}")
            agg_params += p
        if not select:
            raise QueryError("Nothing to select.")
        if keyed:
            ctes.append(f"keyed AS (SELECT *, {', '.join(keyed)} FROM {from_sql})")
            cte_params += keyed_params
            from_sql = "keyed"
        body = f"SELECT {', '.join(select)} FROM {from_sql}"
        body_params = agg_params
        if keys:
            body += f" GROUP BY {', '.join(keys)}"
    order_sql = ""
    if req.order:
        order_sql = " ORDER BY " + ", ".join(
            f"{quote(o.column)} {'DESC' if o.descending else 'ASC'} NULLS LAST" for o in req.order)
    cap = max(0, int(max_rows))
    limit = cap if req.limit is None else max(0, min(int(req.limit), cap))
    offset = max(0, int(req.offset))
    with_sql = "WITH " + ", ".join(ctes) + " "
    all_params = cte_params + body_params
    if req.with_total and req.aggregating:  # groups are few: count them in the same pass
        sql = (f"{with_sql}SELECT *, count(*) OVER () AS {TOTAL_COLUMN} FROM ({body}) AS result{order_sql} "
               f"LIMIT {limit + 1} OFFSET {offset}")
        return sql, all_params, None, []
    sql = f"{with_sql}SELECT * FROM ({body}) AS result{order_sql} LIMIT {limit + 1} OFFSET {offset}"
    count_sql = f"{with_sql}SELECT count(*) FROM ({body}) AS result" if req.with_total else None
    return sql, all_params, count_sql, (list(all_params) if count_sql else [])


# ---- running ----------------------------------------------------------------------------------------------------
def _execute(sql: str, params: Sequence[Any], timeout: float, *, arrow: bool = False):
    cur = cursor()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        cur.interrupt()

    timer = threading.Timer(timeout, stop)
    timer.daemon = True
    timer.start()
    try:
        result = cur.execute(sql, list(params))
        if not arrow:
            return result.df()
        with warnings.catch_warnings():  # "an extra copy": fine for an export
            warnings.simplefilter("ignore")
            return result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.arrow()
    except Exception as exc:  # duckdb raises its own hierarchy; turn it into one the page can show
        if timed_out.is_set() or "INTERRUPT" in type(exc).__name__.upper():
            raise QueryTimeoutError(
                f"The query was stopped after {timeout:g} s. Narrow it with filters, fewer groups or a sample."
            ) from exc
        raise QueryError(_clean_message(exc)) from exc
    finally:
        timer.cancel()
        cur.close()


def _clean_message(exc: Exception) -> str:
    """DuckDB's first paragraph, without the server's folders (a file is named by its name only)."""
    from lens_core.confine import hide_paths

    text = str(exc).strip()
    first = text.split("\n\n")[0]
    return hide_paths(first)[:600]


def run(req: QueryRequest, *, timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS) -> QueryResult:
    """Run a request: at most ``max_rows`` rows (``capped`` says when more matched), within ``timeout`` seconds."""
    sql, params, count_sql, count_params = compile_request(req, max_rows=max_rows)
    began = time.perf_counter()
    frame = _execute(sql, params, timeout)
    cap = max(0, int(max_rows))
    limit = cap if req.limit is None else max(0, min(int(req.limit), cap))
    capped = False
    if len(frame) > limit:
        frame = frame.iloc[:limit]
        capped = req.limit is None or int(req.limit) > cap
    total = None
    if req.with_total and req.aggregating:
        if TOTAL_COLUMN in frame.columns:
            total = int(frame[TOTAL_COLUMN].iloc[0]) if len(frame) else (
                0 if req.offset == 0 else int(_execute(f"SELECT count(*) FROM ({sql.rsplit(' LIMIT ', 1)[0]})",
                                                        params, timeout).iloc[0, 0]))
            frame = frame.drop(columns=[TOTAL_COLUMN])
        capped = capped or (req.limit is not None and int(req.limit) > cap and (total or 0) - req.offset > cap)
    if count_sql is not None:
        left = max(0.5, timeout - (time.perf_counter() - began))
        total = int(_execute(count_sql, count_params, left).iloc[0, 0])
        capped = capped or (req.limit is not None and int(req.limit) > cap and total - req.offset > cap)
    return QueryResult(frame.reset_index(drop=True), total, capped, req.sample is not None,
                       time.perf_counter() - began, sql, tuple(params))


def sql(statement: str, params: Sequence[Any] = (), *, timeout: float = DEFAULT_TIMEOUT) -> pd.DataFrame:
    """Run a statement this package wrote (never user text) with bound parameters, under the time limit."""
    return _execute(statement, params, timeout)


def count_rows(source: Source, filters: Sequence[Filter] = (), *, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Rows of a source that pass the filters."""
    req = QueryRequest(source, filters=tuple(filters), aggs=(Agg("count"),))
    return int(run(req, timeout=timeout).frame.iloc[0, 0])


def describe(source: Source, *, timeout: float = DEFAULT_TIMEOUT) -> pd.DataFrame:
    """The columns of a source and their DuckDB types: ``column_name, column_type``."""
    src, params = source_sql(source)
    frame = _execute(f"DESCRIBE SELECT * FROM {src}", params, timeout)
    return frame[["column_name", "column_type"]]


def export_csv(req: QueryRequest, *, max_rows: int = 1_000_000, timeout: float = 120.0) -> bytes:
    """The request's rows (filters, columns and order, no paging) as CSV bytes, at most ``max_rows`` rows."""
    import io

    import pyarrow.csv as pacsv

    plain = replace(req, limit=None, offset=0, with_total=False)
    sql_text, params, _, _ = compile_request(plain, max_rows=max_rows)
    table = _execute(sql_text, params, timeout, arrow=True)
    table = table.slice(0, max_rows)
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return buffer.getvalue()


def auto_bucket(span_seconds: float, max_buckets: int = 500) -> str:
    """The finest bucket width in :data:`BUCKETS` giving at most ``max_buckets`` buckets over a span."""
    if not span_seconds or not math.isfinite(span_seconds) or span_seconds <= 0:
        return "1 second"
    for every in BUCKETS:
        if span_seconds / _BUCKET_SECONDS[every] <= max_buckets:
            return every
    return BUCKETS[-1]


def bucket_seconds(every: str) -> int:
    return _BUCKET_SECONDS[every]
