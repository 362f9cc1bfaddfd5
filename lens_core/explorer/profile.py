"""Profiles of dataset files: column kinds, summary statistics, geo / time / entity detection and chart
suggestions — everything the explorer needs to preset its table, charts and maps.

Statistics come from DuckDB (``SUMMARIZE``) over the whole file up to :data:`FULL_SCAN_ROWS` rows, over a uniform
sample above that (``sampled`` says so); the row count is always exact. Wide files are profiled on their first
:data:`MAX_PROFILED_COLUMNS` columns (``Profile.all_columns`` still names every one). A profile that failed (an
error or the time limit) is remembered per file version by :func:`profile_file`, so a rerun does not pay for it again.
"""
from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from lens_core.explorer import query as q

Kind = Literal["numeric", "categorical", "boolean", "datetime", "text"]
#: Above this many rows, statistics are computed on a sample of this size.
FULL_SCAN_ROWS = 200_000
#: A string column with at most this many distinct values (or few relative to the rows) is categorical.
MAX_CATEGORIES = 50
#: Columns profiled at most (the first ones). SUMMARIZE grows faster than linearly with the column count (50 rows,
#: 2 cores: 500 columns ~0.8 s, 1,000 ~1.3 s, 2,000 ~3.6 s; all 10,000 ran out of DuckDB's 1 GB after ~20 s).
MAX_PROFILED_COLUMNS = 500

_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")
_LAT_NAMES = {"lat", "latitude", "lati", "y_lat"}
_LON_NAMES = {"lon", "lng", "long", "longitude", "longi", "x_lon"}
_TIME_WORDS = {"time", "timestamp", "ts", "date", "datetime", "created", "updated", "at", "when", "epoch",
               "start", "end", "recorded", "event"}
_ENTITY_WORDS = {"id", "vehicle", "device", "trip", "user", "driver", "car", "bike", "ship", "vessel", "track",
                 "trajectory", "route", "person", "animal", "entity", "imei", "mmsi", "uuid", "name", "taxi",
                 "bus", "journey", "session", "object", "agent", "unit", "tag"}


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    name: str
    sql_type: str
    kind: Kind
    count: int  # non-null values (in the scanned rows)
    nulls: int
    distinct: int  # approximate
    minimum: object = None
    maximum: object = None
    mean: float | None = None
    std: float | None = None
    q25: float | None = None
    median: float | None = None
    q75: float | None = None
    integer: bool = False
    time_encoding: q.TimeEncoding | None = None  # set when the column holds times

    @property
    def all_null(self) -> bool:
        return self.count == 0

    @property
    def is_time(self) -> bool:
        return self.time_encoding is not None


@dataclass(frozen=True, slots=True)
class GeoPair:
    lat: str
    lon: str
    how: Literal["name", "values"]  # detected by name (and checked by range), or by value range alone


@dataclass(frozen=True, slots=True)
class Suggestion:
    chart: Literal["scatter", "line", "bar", "histogram", "heatmap", "points", "density", "trajectories"]
    title: str
    x: str | None = None
    y: tuple[str, ...] = ()
    color: str | None = None
    agg: q.AggFunc = "count"


@dataclass(frozen=True)
class Profile:
    source: q.Source
    rows: int
    columns: tuple[ColumnProfile, ...]
    sampled: bool
    geo: GeoPair | None
    times: tuple[str, ...]
    entities: tuple[str, ...]
    suggestions: tuple[Suggestion, ...] = field(default=())
    #: Every column of the file, in file order, when only some were profiled (wide files); else empty.
    all_columns: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        """Every column of the file, profiled or not (the table can show them all)."""
        return list(self.all_columns) if self.all_columns else [c.name for c in self.columns]

    @property
    def partial(self) -> bool:
        """Only the first :data:`MAX_PROFILED_COLUMNS` columns were profiled."""
        return len(self.all_columns) > len(self.columns)

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    def names(self, *kinds: Kind) -> list[str]:
        return [c.name for c in self.columns if not kinds or c.kind in kinds]

    @property
    def time(self) -> str | None:
        return self.times[0] if self.times else None

    @property
    def entity(self) -> str | None:
        return self.entities[0] if self.entities else None


# ---- names ---------------------------------------------------------------------------------------------------
def tokens(name: str) -> list[str]:
    """``pickup_Latitude`` → ["pickup", "latitude"], ``startLng`` → ["start", "lng"], ``GPS.lon`` → ["gps", "lon"]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def geo_role(name: str) -> Literal["lat", "lon"] | None:
    """Whether a column's name says latitude or longitude (last word, or the whole name glued: ``pickuplat``)."""
    words = tokens(name)
    if not words:
        return None
    last = words[-1]
    if last in _LAT_NAMES or (len(words) > 1 and words[0] in _LAT_NAMES and last.isdigit()):
        return "lat"
    if last in _LON_NAMES or (len(words) > 1 and words[0] in _LON_NAMES and last.isdigit()):
        return "lon"
    glued = "".join(words)
    if glued.endswith("latitude") or (glued.endswith("lat") and len(glued) <= 12):
        return "lat"
    if glued.endswith("longitude") or (glued.endswith(("lng", "lon")) and len(glued) <= 12):
        return "lon"
    return None


def _prefix(name: str) -> str:
    words = tokens(name)
    return " ".join(words[:-1])


# ---- profiling -------------------------------------------------------------------------------------------------
def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def profile(source: q.Source, *, timeout: float = q.DEFAULT_TIMEOUT,
            max_columns: int | None = None) -> Profile:
    """Profile a file: exact row count, per-column statistics, geo / time / entity columns and suggestions.
    Only the first ``max_columns`` (default :data:`MAX_PROFILED_COLUMNS`) columns are profiled, save that
    latitude / longitude columns further on take the place of the last few."""
    budget = max(1, int(MAX_PROFILED_COLUMNS if max_columns is None else max_columns))
    src, params = q.source_sql(source)
    rows = int(q.sql(f"SELECT count(*) AS n FROM {src}", params, timeout=timeout).iloc[0, 0])
    sampled = rows > FULL_SCAN_ROWS
    types = q.describe(source, timeout=timeout)
    if types.empty:
        return Profile(source, rows, (), False, None, (), (), ())
    names = [str(n) for n in types["column_name"]]
    chosen = _within_budget(names, budget)
    picked = "*" if chosen == names else ", ".join(q.quote(n) for n in chosen)
    scan = f"SELECT {picked} FROM {src}" + (
        f" USING SAMPLE reservoir({FULL_SCAN_ROWS} ROWS) REPEATABLE (7)" if sampled else "")
    summary = q.sql(f"SUMMARIZE {scan}", params, timeout=timeout)
    scanned = min(rows, FULL_SCAN_ROWS)
    columns: list[ColumnProfile] = []
    strings: list[str] = []
    for rec in summary.to_dict("records"):
        name, sql_type = str(rec["column_name"]), str(rec["column_type"]).upper()
        null_pct = _num(rec.get("null_percentage")) or 0.0
        nulls = round(scanned * null_pct / 100.0)
        count = max(0, scanned - nulls)
        distinct = int(_num(rec.get("approx_unique")) or 0)
        base = sql_type.split("(")[0]
        kind: Kind
        encoding: q.TimeEncoding | None = None
        integer = False
        if base in ("BOOLEAN",):
            kind = "boolean"
        elif base.startswith(("TIMESTAMP", "DATE", "TIME")) and base != "TIME":
            kind, encoding = "datetime", "typed"
        elif base in _NUMERIC_TYPES:
            kind = "numeric"
            integer = "INT" in base
            encoding = _epoch_encoding(name, _num(rec.get("min")), _num(rec.get("max")), integer)
            if encoding is not None:
                kind = "datetime"
        elif base == "VARCHAR":
            kind = "categorical" if distinct <= MAX_CATEGORIES or distinct <= 0.05 * max(count, 1) else "text"
            strings.append(name)
        else:
            kind = "text"
        numeric = kind == "numeric"
        columns.append(ColumnProfile(
            name=name, sql_type=sql_type, kind=kind, count=count, nulls=nulls, distinct=distinct,
            minimum=rec.get("min"), maximum=rec.get("max"),
            mean=_num(rec.get("avg")) if numeric else None, std=_num(rec.get("std")) if numeric else None,
            q25=_num(rec.get("q25")) if numeric else None, median=_num(rec.get("q50")) if numeric else None,
            q75=_num(rec.get("q75")) if numeric else None, integer=integer, time_encoding=encoding,
        ))
    if sampled:  # exact extremes over the whole file: bins and map bounds rely on them (one scan)
        columns = _exact_extremes(source, columns, timeout)
    if strings:
        parsed = _string_times(source, strings, timeout)
        columns = [_as_time(c) if c.name in parsed else c for c in columns]
    geo = detect_geo(columns)
    times = detect_times(columns)
    entities = detect_entities(columns, rows, exclude={geo.lat, geo.lon} if geo else set())
    every = tuple(names) if len(names) > budget else ()
    result = Profile(source, rows, tuple(columns), sampled, geo, tuple(times), tuple(entities), (), every)
    return Profile(source, rows, tuple(columns), sampled, geo, tuple(times), tuple(entities), tuple(suggest(result)),
                   every)


# ---- failures, remembered per file version -----------------------------------------------------------------------
Version = tuple[str, float, int]  # path, mtime, size


@dataclass(frozen=True, slots=True)
class Failure:
    """Why profiling a version of a file failed, and when."""

    message: str
    timed_out: bool
    at: float  # time.time()


class ProfileFailedError(q.QueryError):
    """Profiling this version of the file failed (now or on an earlier run, see ``failure.at``)."""

    def __init__(self, failure: Failure, remembered: bool) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.remembered = remembered


#: Failed file versions remembered at most (the oldest forgotten first).
MAX_REMEMBERED_FAILURES = 256
_failures: OrderedDict[Version, Failure] = OrderedDict()
_failures_lock = threading.Lock()


def file_version(path: str | os.PathLike[str]) -> Version:
    """A file's version: its path, modification time and size (raises OSError when it cannot be read)."""
    st = os.stat(path)
    return str(path), st.st_mtime, st.st_size


def remembered_failure(source: q.Source, version: Version | None = None) -> Failure | None:
    """The remembered failure for this version of the source's file, if profiling it failed."""
    version = version or file_version(source.path)
    with _failures_lock:
        return _failures.get(version)


def forget_failure(source: q.Source) -> None:
    """Forget every remembered failure of this file (any version): the next :func:`profile_file` tries again."""
    with _failures_lock:
        for version in [v for v in _failures if v[0] == str(source.path)]:
            del _failures[version]


def profile_file(source: q.Source, version: Version | None = None, *, timeout: float = q.DEFAULT_TIMEOUT,
                 max_columns: int | None = None) -> Profile:
    """:func:`profile`, remembering a failure (an error or the time limit) for this file version: until the file
    changes or :func:`forget_failure` is called, a call raises :class:`ProfileFailedError` at once instead of
    running again."""
    version = version or file_version(source.path)
    if (known := remembered_failure(source, version)) is not None:
        raise ProfileFailedError(known, remembered=True)
    try:
        return profile(source, timeout=timeout, max_columns=max_columns)
    except (q.QueryError, MemoryError) as exc:
        failure = Failure(str(exc) or type(exc).__name__, isinstance(exc, q.QueryTimeoutError), time.time())
        with _failures_lock:
            _failures[version] = failure
            while len(_failures) > MAX_REMEMBERED_FAILURES:
                _failures.popitem(last=False)
        raise ProfileFailedError(failure, remembered=False) from exc


def _exact_extremes(source: q.Source, columns: list[ColumnProfile], timeout: float) -> list[ColumnProfile]:
    from dataclasses import replace

    src, params = q.source_sql(source)
    wanted = [i for i, c in enumerate(columns) if c.kind in ("numeric", "datetime")]
    out = list(columns)
    for start in range(0, len(wanted), 200):
        chunk = wanted[start:start + 200]
        parts = ", ".join(f"min({q.quote(columns[i].name)}) AS a{i}, max({q.quote(columns[i].name)}) AS b{i}"
                          for i in chunk)
        row = q.sql(f"SELECT {parts} FROM {src}", params, timeout=timeout).iloc[0]
        for i in chunk:
            lo, hi = row[f"a{i}"], row[f"b{i}"]
            out[i] = replace(columns[i], minimum=None if pd.isna(lo) else lo, maximum=None if pd.isna(hi) else hi)
    return out


def bounds(p: Profile, column: str) -> tuple[float, float] | None:
    """A numeric column's exact min and max over the file, None when unknown."""
    c = p.column(column)
    if c.kind != "numeric":
        return None
    lo, hi = _num(c.minimum), _num(c.maximum)
    return (lo, hi) if lo is not None and hi is not None else None


def _as_time(c: ColumnProfile) -> ColumnProfile:
    return ColumnProfile(c.name, c.sql_type, "datetime", c.count, c.nulls, c.distinct, c.minimum, c.maximum,
                         time_encoding="string")


def _epoch_encoding(name: str, lo: float | None, hi: float | None, integer: bool) -> q.TimeEncoding | None:
    """Numbers that are Unix times: a time-like name and values between 2001 and 2100 in seconds or ms."""
    words = set(tokens(name))
    if lo is None or hi is None or not (words & _TIME_WORDS):
        return None
    if 1e9 <= lo and hi <= 4.1e9:
        return "epoch_s"
    if 1e12 <= lo and hi <= 4.1e12:
        return "epoch_ms"
    return None


def _string_times(source: q.Source, names: list[str], timeout: float) -> set[str]:
    """String columns whose non-null values (in the first 1,000 rows that have one) nearly all parse as times."""
    src, params = q.source_sql(source)
    found: set[str] = set()
    for start in range(0, len(names), 200):
        chunk = names[start:start + 200]
        parts = []
        for i, n in enumerate(chunk):
            col = q.quote(n)
            parts.append(f"count({col}) AS n{i}, count(TRY_CAST({col} AS TIMESTAMP)) AS t{i}, "
                         f"count(CASE WHEN regexp_matches({col}, '^\\s*-?[0-9.]+\\s*$') THEN 1 END) AS d{i}")
        frame = q.sql(f"SELECT {', '.join(parts)} FROM (SELECT * FROM {src} LIMIT 1000)", params, timeout=timeout)
        row = frame.iloc[0]
        for i, n in enumerate(chunk):
            total, times, digits = int(row[f"n{i}"]), int(row[f"t{i}"]), int(row[f"d{i}"])
            if total and times >= 0.95 * total and digits < total:
                found.add(n)
    return found


def _range_ok(c: ColumnProfile, limit: float) -> bool:
    lo, hi = _num(c.minimum), _num(c.maximum)
    return c.kind == "numeric" and lo is not None and hi is not None and -limit <= lo and hi <= limit


#: Latitude / longitude columns (by name) past the column budget that are profiled anyway: the maps need them.
MAX_GEO_PAST_BUDGET = 4


def _within_budget(names: list[str], budget: int) -> list[str]:
    """The columns a profile covers: all when they fit ``budget``, else the first ones and, in place of the last
    few, the columns past the budget whose names say latitude or longitude."""
    if len(names) <= budget:
        return names
    geo = [n for n in names[budget:] if geo_role(n)][:min(MAX_GEO_PAST_BUDGET, budget // 2)]
    return names[:budget - len(geo)] + geo


def detect_geo(columns: list[ColumnProfile] | tuple[ColumnProfile, ...]) -> GeoPair | None:
    """The latitude / longitude pair: named ones checked against the valid ranges (same prefix preferred:
    ``pickup_lat`` goes with ``pickup_lon``), else two non-integer columns whose values only fit lat / lon."""
    lats = [c for c in columns if geo_role(c.name) == "lat" and _range_ok(c, 90)]
    lons = [c for c in columns if geo_role(c.name) == "lon" and _range_ok(c, 180)]
    if lats and lons:
        for lat in lats:
            for lon in lons:
                if _prefix(lat.name) == _prefix(lon.name):
                    return GeoPair(lat.name, lon.name, "name")
        return GeoPair(lats[0].name, lons[0].name, "name")
    # by values alone: fractional numbers in range, spread like coordinates, named x/y-ish or coordinate-ish
    floats = [c for c in columns if c.kind == "numeric" and not c.integer and not c.all_null]
    hint = {"y": "lat", "x": "lon", "north": "lat", "east": "lon", "northing": "lat", "easting": "lon"}
    named = {hint[tokens(c.name)[-1]]: c for c in floats if tokens(c.name) and tokens(c.name)[-1] in hint}
    if "lat" in named and "lon" in named and _range_ok(named["lat"], 90) and _range_ok(named["lon"], 180):
        return GeoPair(named["lat"].name, named["lon"].name, "values")
    coordish = [c for c in floats if {"coord", "coordinate", "coordinates", "gps", "geo", "position", "pos"}
                & set(tokens(c.name))]
    if len(coordish) == 2:
        a, b = sorted(coordish, key=lambda c: c.name)  # "coord_0, coord_1": latitude first by convention
        if _range_ok(a, 90) and _range_ok(b, 180):
            return GeoPair(a.name, b.name, "values")
        if _range_ok(b, 90) and _range_ok(a, 180):
            return GeoPair(b.name, a.name, "values")
    return None


def detect_times(columns: list[ColumnProfile] | tuple[ColumnProfile, ...]) -> list[str]:
    """Time columns, the likeliest first (typed before parsed, time-like names first, most distinct first)."""
    found = [c for c in columns if c.is_time and not c.all_null]
    rank = {"typed": 0, "epoch_s": 1, "epoch_ms": 1, "string": 2}
    found.sort(key=lambda c: (rank.get(c.time_encoding or "", 3), not (set(tokens(c.name)) & _TIME_WORDS),
                              -c.distinct))
    return [c.name for c in found]


def detect_entities(columns: list[ColumnProfile] | tuple[ColumnProfile, ...], rows: int,
                    exclude: set[str] = frozenset()) -> list[str]:
    """Columns that can name the moving thing of a trajectory: repeated ids (2 … rows/2 distinct values), text or
    integer, id-like names first."""
    found = []
    for c in columns:
        if c.name in exclude or c.all_null or c.is_time or c.kind in ("boolean",):
            continue
        if c.kind == "numeric" and not c.integer:
            continue
        if not (2 <= c.distinct <= max(2, rows // 2)):
            continue
        words = set(tokens(c.name))
        score = (2 if words & _ENTITY_WORDS else 0) + (1 if c.kind in ("categorical", "text") else 0)
        if c.kind == "numeric" and not words & _ENTITY_WORDS:
            continue  # a small integer (heading, count) is not an id unless named like one
        found.append((-score, -c.distinct, c.name))
    return [name for *_, name in sorted(found)]


# ---- suggestions -------------------------------------------------------------------------------------------------
def suggest(p: Profile) -> list[Suggestion]:
    """Charts worth drawing first, from the column kinds."""
    out: list[Suggestion] = []
    geo_cols = {p.geo.lat, p.geo.lon} if p.geo else set()
    numbers = [c for c in p.columns if c.kind == "numeric" and not c.all_null and c.name not in geo_cols]
    # most informative numbers first: more distinct values, not id-like
    numbers.sort(key=lambda c: (bool(set(tokens(c.name)) & {"id", "index", "idx"}), -min(c.distinct, 1000)))
    cats = [c for c in p.columns if c.kind in ("categorical", "boolean") and not c.all_null and c.distinct >= 1]
    cats.sort(key=lambda c: (c.name not in p.entities and c.distinct > 20, c.distinct > 12, c.distinct))
    if p.geo:
        weight = numbers[0].name if numbers else None
        out.append(Suggestion("points", f"Points on a map, coloured by {weight or 'row'}", p.geo.lon, (p.geo.lat,),
                              weight))
        out.append(Suggestion("density", "Density map" + (f" weighted by {weight}" if weight else ""), p.geo.lon,
                              (p.geo.lat,), weight, "sum" if weight else "count"))
        if p.time and p.entity:
            out.append(Suggestion("trajectories", f"Trajectories of each {p.entity} over {p.time}", p.geo.lon,
                                  (p.geo.lat,), p.entity))
    if p.time and numbers:
        ys = tuple(c.name for c in numbers[:2])
        out.append(Suggestion("line", f"{', '.join(ys)} over {p.time}", p.time, ys, None, "avg"))
    if len(numbers) >= 2:
        color = cats[0].name if cats else None
        out.append(Suggestion("scatter", f"{numbers[1].name} against {numbers[0].name}", numbers[0].name,
                              (numbers[1].name,), color))
    if cats:
        if numbers:
            out.append(Suggestion("bar", f"Mean {numbers[0].name} by {cats[0].name}", cats[0].name,
                                  (numbers[0].name,), None, "avg"))
        else:
            out.append(Suggestion("bar", f"Rows by {cats[0].name}", cats[0].name, (), None, "count"))
    if numbers:
        out.append(Suggestion("histogram", f"Distribution of {numbers[0].name}", numbers[0].name))
    if len(cats) >= 2:
        out.append(Suggestion("heatmap", f"{cats[0].name} × {cats[1].name}", cats[0].name, (cats[1].name,)))
    elif cats and numbers:
        out.append(Suggestion("heatmap", f"{cats[0].name} × {numbers[0].name}", cats[0].name, (numbers[0].name,)))
    elif len(numbers) >= 2:
        out.append(Suggestion("heatmap", f"{numbers[0].name} × {numbers[1].name}", numbers[0].name,
                              (numbers[1].name,)))
    return out


def frame_summary(p: Profile) -> pd.DataFrame:
    """One row per column, for the explorer's *Columns* view."""
    def fmt(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        number = _num(value)
        if number is not None and not isinstance(value, str):
            return f"{number:.4g}"
        return str(value)[:40]
    profiled = pd.DataFrame({
        "column": [c.name for c in p.columns],
        "kind": [c.kind + (" (time)" if c.is_time and c.kind != "datetime" else "")
                 + (f" · {c.time_encoding}" if c.time_encoding not in (None, "typed") else "") for c in p.columns],
        "type": [c.sql_type for c in p.columns],
        "nulls": [c.nulls for c in p.columns],
        "distinct≈": [c.distinct for c in p.columns],
        "min": [fmt(c.minimum) for c in p.columns],
        "mean": [fmt(c.mean) for c in p.columns],
        "max": [fmt(c.maximum) for c in p.columns],
    })
    seen = set(profiled["column"])
    rest = [name for name in p.column_names if name not in seen]
    if not rest:
        return profiled
    # Wide files: the columns past the profiling budget are still listed, so a user can find any column by name.
    unprofiled = pd.DataFrame({"column": rest, "kind": "not profiled"}).reindex(columns=profiled.columns)
    unprofiled[["type", "min", "mean", "max"]] = ""
    return pd.concat([profiled, unprofiled], ignore_index=True)
