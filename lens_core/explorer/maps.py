"""The data explorer's maps, free of Streamlit: the queries behind point, density and trajectory maps (run in
DuckDB through :mod:`lens_core.explorer.query`; the browser receives at most :data:`~.views.POINT_CAP` points or
:data:`MAX_VERTICES` path vertices) and the pydeck decks drawn from them, readable without a basemap (a graticule
and the data's own extent).

As in :mod:`.views`, column names from the user's data never become deck.gl accessors: every map renames its
columns to fixed names and keeps the real ones as titles; tooltips escape them as HTML.
"""
from __future__ import annotations

import html
import math
import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from lens_core.explorer import profile as pr
from lens_core.explorer import query as q
from lens_core.explorer.profile import Profile
from lens_core.explorer.views import (
    HEAT,
    PALETTE,
    POINT_CAP,
    RAMP,
    ChartData,
    is_categorical,
    rows_with_values,
    sample_note,
    time_encoding,
)
from lens_core.format import full_precision

#: Cells along the longer side of a density map.
DENSITY_CELLS = 80
#: Trajectories: entities drawn and vertices in all paths together, at most.
MAX_ENTITIES = 200
MAX_VERTICES = 10_000
OTHER = "#b3b3b3"


# ---- maps: data -------------------------------------------------------------------------------------------------
def _geo_filters(p: Profile, filters: tuple[q.Filter, ...]) -> tuple[q.Filter, ...]:
    assert p.geo is not None
    lat, lon = p.geo.lat, p.geo.lon
    known_lat, known_lon = pr.bounds(p, lat), pr.bounds(p, lon)
    if (known_lat and known_lon and -90 <= known_lat[0] and known_lat[1] <= 90 and -180 <= known_lon[0]
            and known_lon[1] <= 180):  # every value is a valid coordinate: only the empty ones go
        return filters + (q.Filter(lat, "not_null"), q.Filter(lon, "not_null"))
    return filters + (q.Filter(lat, "between", -90, 90), q.Filter(lon, "between", -180, 180))


def points_data(p: Profile, color: str | None, tooltip: tuple[str, ...] = (), filters: tuple[q.Filter, ...] = (),
                cap: int = POINT_CAP) -> ChartData:
    """Up to ``cap`` located rows (a uniform sample above), with the colour and tooltip columns."""
    assert p.geo is not None
    geo = _geo_filters(p, filters)
    if len(geo) == len(filters) + 2 and geo[-1].op == "not_null":  # every coordinate is valid
        total, about = rows_with_values(p, filters, (p.geo.lat, p.geo.lon))
    else:
        total, about = q.count_rows(p.source, geo), False
    cols = tuple(dict.fromkeys((p.geo.lat, p.geo.lon) + ((color,) if color else ()) + tooltip))
    sample = q.Sample(cap) if total > cap else None
    res = q.run(q.QueryRequest(p.source, columns=cols, filters=geo, sample=sample), max_rows=cap)
    notes = (sample_note(len(res.frame), total, about),) if sample else ()
    return ChartData(res.frame, notes, {"total": total})


def density_data(p: Profile, weight: str | None, agg: q.AggFunc = "count", filters: tuple[q.Filter, ...] = (),
                 cells: int = DENSITY_CELLS) -> ChartData:
    """A lat × lon grid aggregated in DuckDB: ``lat, lat_end, lon, lon_end, value`` per non-empty cell."""
    assert p.geo is not None
    geo = _geo_filters(p, filters)
    base, params = q.filtered_sql(p.source, geo)
    lat, lon = q.quote(p.geo.lat), q.quote(p.geo.lon)
    known_lat, known_lon = pr.bounds(p, p.geo.lat), pr.bounds(p, p.geo.lon)
    inside = (known_lat and known_lon and -90 <= known_lat[0] and known_lat[1] <= 90
              and -180 <= known_lon[0] and known_lon[1] <= 180)
    if inside and not filters:
        box = pd.Series({"a": known_lat[0], "b": known_lat[1], "c": known_lon[0], "d": known_lon[1]})
    else:
        box = q.sql(f"SELECT min({lat}) a, max({lat}) b, min({lon}) c, max({lon}) d FROM ({base})", params).iloc[0]
    if pd.isna(box["a"]):
        return ChartData(pd.DataFrame(columns=["lat", "lat_end", "lon", "lon_end", "value", "rows"]))
    lat_span = max(float(box["b"]) - float(box["a"]), 1e-9)
    lon_span = max(float(box["d"]) - float(box["c"]), 1e-9)
    # square-ish cells on the ground: longitude degrees shrink with cos(latitude)
    ground_ratio = lon_span * math.cos(math.radians((float(box["a"]) + float(box["b"])) / 2)) / lat_span
    nx = cells if ground_ratio >= 1 else max(4, round(cells * ground_ratio))
    ny = cells if ground_ratio < 1 else max(4, round(cells / ground_ratio))
    a = q.Agg("count", alias="value") if agg == "count" or not weight else q.Agg(agg, weight, alias="value")
    res = q.run(q.QueryRequest(p.source, filters=geo,
                               bins=(q.Bin(p.geo.lat, ny, float(box["a"]), float(box["b"]), alias="lat"),
                                     q.Bin(p.geo.lon, nx, float(box["c"]), float(box["d"]), alias="lon")),
                               aggs=(a, q.Agg("count", alias="rows"))), max_rows=cells * cells)
    frame = res.frame.dropna(subset=["lat", "lon", "value"])
    note = f"{len(frame):,} grid cells of {nx} × {ny}, aggregated in DuckDB over {int(frame['rows'].sum()):,} rows."
    return ChartData(frame, (note,), {"nx": nx, "ny": ny})


_picks: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_picks_lock = threading.Lock()
#: Entity picks remembered (each at most MAX_ENTITIES-ish rows): least recently used go first.
PICKS_KEPT = 16


def _picked_entities(p: Profile, entity: str, time: str, filters: tuple[q.Filter, ...], keep: int,
                     query) -> pd.DataFrame:
    """``query()``'s entity pick, remembered per file version (path, size, modification time) and request."""
    try:
        stat = os.stat(p.source.path)
    except OSError:
        return query()
    key = (p.source, stat.st_size, stat.st_mtime_ns, entity, time, filters, keep)
    try:
        hash(key)
    except TypeError:  # a filter value that is a list
        return query()
    with _picks_lock:
        if key in _picks:
            _picks.move_to_end(key)
            return _picks[key]
    pick = query()
    with _picks_lock:
        _picks[key] = pick
        while len(_picks) > PICKS_KEPT:
            _picks.popitem(last=False)
    return pick


def trajectory_data(p: Profile, entity: str, time: str, color: str | None = None,
                    filters: tuple[q.Filter, ...] = (), max_entities: int = MAX_ENTITIES,
                    max_vertices: int = MAX_VERTICES) -> ChartData:
    """One path per entity ordered by time; the entities with most points first. Every point when the chosen
    paths hold at most ``max_vertices`` points, else each path's time range cut into equal slices drawn at their
    mean position (an aggregate in DuckDB), so all paths together hold at most ``max_vertices`` vertices. One row per
    entity: ``entity, path ([[lon, lat], …]), start, end, points, color_value``."""
    assert p.geo is not None
    geo = _geo_filters(p, filters + (q.Filter(entity, "not_null"), q.Filter(time, "not_null")))
    base, params = q.filtered_sql(p.source, geo)
    e, lat, lon = q.quote(entity), q.quote(p.geo.lat), q.quote(p.geo.lon)
    t = q.time_expr(time, time_encoding(p, time) or "typed")
    keep = max(1, int(max_entities))
    ev = e if p.column(entity).sql_type.upper() == "VARCHAR" else f"CAST({e} AS VARCHAR)"
    us = f"epoch_us({t})"
    # 1. the entities with most points, their time ranges, and the totals (one grouped scan, remembered: a new
    #    colour or path budget over the same rows draws again without it)
    pick = _picked_entities(p, entity, time, filters, keep, lambda: q.sql(
        f"WITH f AS ({base}), groups AS (SELECT {ev} AS ent, count(*) AS cnt, min({us}) AS t0, "
        f"max({us}) AS t1 FROM f GROUP BY {ev}) "
        f"SELECT *, count(*) OVER () AS n_entities, sum(cnt) OVER () AS n_points FROM groups "
        f"ORDER BY cnt DESC, ent LIMIT {keep}", params))
    n_entities = int(pick["n_entities"].iloc[0]) if len(pick) else 0
    keep = len(pick)
    picked = int(pick["cnt"].sum()) if len(pick) else 0
    colour_sql = f", any_value({q.quote(color)}) AS colour" if color else ""
    names = [str(x) for x in pick["ent"]]
    if picked <= max_vertices:  # 2a. every point, in time order
        colour_row = f", {q.quote(color)} AS colour" if color else ""
        frame = q.sql(
            f"SELECT {ev} AS ent, {t} AS ts, CAST({lat} AS DOUBLE) AS la, CAST({lon} AS DOUBLE) AS lo{colour_row} "
            f"FROM ({base}) WHERE {ev} IN (SELECT unnest(CAST(? AS VARCHAR[]))) ORDER BY ent, ts",
            params + [names])
        averaged = False
    else:  # 2b. each path cut into equal time slices (integer µs), the mean position per slice: a hash aggregate
        per_path = max(2, int(max_vertices) // max(keep, 1))
        frame = q.sql(
            f"WITH f AS ({base}), pick AS (SELECT unnest(CAST(? AS VARCHAR[])) AS ent, "
            f"unnest(CAST(? AS BIGINT[])) AS t0, unnest(CAST(? AS BIGINT[])) AS t1) "
            f"SELECT pick.ent AS ent, least(({us} - pick.t0) * {per_path} // greatest(pick.t1 - pick.t0, 1), "
            f"{per_path - 1}) AS slice, min({t}) AS ts, avg(CAST({lat} AS DOUBLE)) AS la, "
            f"avg(CAST({lon} AS DOUBLE)) AS lo{colour_sql} FROM f JOIN pick ON {ev} = pick.ent "
            f"GROUP BY pick.ent, slice ORDER BY ent, slice",
            params + [names, pick["t0"].astype("int64").tolist(), pick["t1"].astype("int64").tolist()])
        averaged = True
    counts = dict(zip(names, pick["cnt"].astype(int)))
    # one row per entity, vectorised: the frame is sorted by entity, so each path is a contiguous slice
    ents = frame["ent"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, ents[1:] != ents[:-1]]) if len(ents) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(ents)] if len(ents) else starts
    points = np.column_stack([frame["lo"].to_numpy(float).round(6), frame["la"].to_numpy(float).round(6)]).tolist()
    times = pd.to_datetime(frame["ts"]).astype(str).to_numpy() if len(frame) else np.array([], dtype=str)
    colours = frame["colour"].to_numpy() if color else None
    rows = [{
        "entity": ents[a], "path": points[a:b], "start": times[a], "end": times[b - 1], "points": counts[ents[a]],
        **({"color_value": colours[a]} if color else {}),
    } for a, b in zip(starts, ends)]
    out = pd.DataFrame(rows, columns=["entity", "path", "start", "end", "points"] + (["color_value"] if color else []))
    notes = []
    if keep < n_entities:
        notes.append(f"The {keep} {entity} values with the most points, of {n_entities:,}.")
    if averaged:
        notes.append(f"Paths simplified to {len(frame):,} of {picked:,} points: each path's time range is cut into "
                     f"{per_path} slices, drawn at their mean position.")
    return ChartData(out, tuple(notes), {"vertices": len(frame), "entities": n_entities})


# ---- maps: drawing ---------------------------------------------------------------------------------------------
def _hex(color: str) -> list[int]:
    color = color.lstrip("#")
    return [int(color[i:i + 2], 16) for i in (0, 2, 4)]


def ramp(values: pd.Series, stops: list[str] = RAMP, alpha: int = 210) -> tuple[list[list[int]], float, float]:
    """RGBA colours along ``stops`` for numeric values (quantile-clipped 2–98 %), and the range used."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    finite = v[np.isfinite(v)]
    if finite.empty:
        return [[*_hex(OTHER), alpha]] * len(v), 0.0, 0.0
    lo, hi = float(finite.quantile(0.02)), float(finite.quantile(0.98))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    t = ((v - lo) / (hi - lo) if hi > lo else v * 0 + 0.5).clip(0, 1)
    rgb = np.array([_hex(c) for c in stops], dtype=float)
    pos = t.to_numpy() * (len(stops) - 1)
    out = []
    for x in pos:
        if not np.isfinite(x):
            out.append([*_hex(OTHER), alpha])
            continue
        i = min(int(x), len(stops) - 2)
        f = x - i
        c = rgb[i] * (1 - f) + rgb[i + 1] * f
        out.append([int(c[0]), int(c[1]), int(c[2]), alpha])
    return out, lo, hi


def categories(values: pd.Series, alpha: int = 220, top: int = len(PALETTE)) -> tuple[list[list[int]], dict[str, str]]:
    """RGBA colours per category (the most frequent ones get the palette, the rest grey) and the legend."""
    text = values.astype("string").fillna("(null)")
    order = text.value_counts().index.tolist()[:top]
    legend = {str(k): PALETTE[i] for i, k in enumerate(order)}
    return [[*_hex(legend.get(str(x), OTHER)), alpha] for x in text], legend


def view_state(lats: pd.Series | np.ndarray, lons: pd.Series | np.ndarray, width: int = 620, height: int = 500):
    """A pydeck view fitting all points with a margin, unless a few stray points lie far out (then 1–99 % of them,
    so one bad coordinate does not zoom out to the whole world)."""
    import pydeck as pdk

    la = pd.Series(np.asarray(lats, dtype=float)).dropna()
    lo = pd.Series(np.asarray(lons, dtype=float)).dropna()
    if la.empty:
        return pdk.ViewState(latitude=0, longitude=0, zoom=1)

    def extent(v: pd.Series) -> tuple[float, float]:
        a, b = float(v.min()), float(v.max())
        if len(v) > 100:
            qa, qb = (float(x) for x in v.quantile([0.01, 0.99]))
            if b - a > 4 * max(qb - qa, 1e-9):  # stray values: frame the bulk
                a, b = qa, qb
        return a, b

    a, b = extent(la)
    c, d = extent(lo)
    mid_lat = (a + b) / 2
    lat_span = max(b - a, 1e-4) * 1.12 / max(math.cos(math.radians(mid_lat)), 0.1)  # 6 % margin each side
    lon_span = max(d - c, 1e-4) * 1.12
    # deck.gl: the world is 512 px wide at zoom 0
    zoom = min(math.log2(width * 360 / (512 * lon_span)), math.log2(height * 360 / (512 * lat_span)))
    return pdk.ViewState(latitude=float(mid_lat), longitude=float((c + d) / 2), zoom=float(max(0.5, min(zoom, 18))),
                         pitch=0, bearing=0)


def _nice_step(span: float, lines: int = 6) -> float:
    raw = max(span, 1e-9) / lines
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def graticule_layers(lat_min: float, lat_max: float, lon_min: float, lon_max: float) -> list:
    """Faint latitude / longitude lines with degree labels: the frame of reference a map without a basemap needs."""
    import pydeck as pdk

    pad_lat = (lat_max - lat_min) * 0.15 + 1e-3
    pad_lon = (lon_max - lon_min) * 0.15 + 1e-3
    a, b, c, d = lat_min - pad_lat, lat_max + pad_lat, lon_min - pad_lon, lon_max + pad_lon
    step = _nice_step(max(b - a, d - c))
    decimals = max(0, -math.floor(math.log10(step)) + (1 if step / 10 ** math.floor(math.log10(step)) == 2.5 else 0))
    lines, labels = [], []
    lat = math.ceil(a / step) * step
    while lat <= b:
        lines.append({"path": [[c, lat], [d, lat]]})
        if lat_min <= lat <= lat_max:  # labels only beside the data, where they cannot meet the other axis' labels
            labels.append({"pos": [lon_min, lat], "text": f"{abs(lat):.{decimals}f}°{'N' if lat >= 0 else 'S'}",
                           "anchor": "start"})
        lat += step
    lon = math.ceil(c / step) * step
    while lon <= d:
        lines.append({"path": [[lon, a], [lon, b]]})
        if lon_min <= lon <= lon_max:
            labels.append({"pos": [lon, lat_min], "text": f"{abs(lon):.{decimals}f}°{'E' if lon >= 0 else 'W'}",
                           "anchor": "middle"})
        lon += step
    return [
        pdk.Layer("PathLayer", pd.DataFrame(lines), id="graticule", get_path="path", get_color=[110, 120, 135, 150],
                  width_units="'pixels'", get_width=1, pickable=False),
        pdk.Layer("TextLayer", pd.DataFrame(labels), id="graticule-labels", get_position="pos", get_text="text",
                  get_size=12, get_color=[70, 78, 90, 255], get_text_anchor="anchor", background=True,
                  get_background_color=[255, 255, 255, 210], background_padding=[2, 1],
                  get_alignment_baseline="'bottom'", character_set="' 0123456789.-°NSEW'", pickable=False),
    ]


def _tooltip(rows: list[tuple[str, str]]) -> dict[str, Any]:
    """A deck.gl tooltip: ``(label, "{field}")`` pairs, labels escaped."""
    body = "<br/>".join(f"<b>{html.escape(label)}</b>: {value}" for label, value in rows)
    return {"html": body, "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "12px"}}


def _deck(layers: list, view, tooltip: dict[str, Any] | None):
    import pydeck as pdk

    # degree labels on top of the data, so cells and paths never hide them
    layers = [x for x in layers if x.id != "graticule-labels"] + [x for x in layers if x.id == "graticule-labels"]
    return pdk.Deck(layers=layers, initial_view_state=view, map_provider=None, tooltip=tooltip or False,
                    parameters={"cull": False})


def _tooltip_value(v: object) -> str:
    """A value in a map tooltip: the logged value in full (:func:`lens_core.format.full_precision`: integers
    exact, ∞ said so), times as written."""
    return str(v) if isinstance(v, pd.Timestamp) else full_precision(v)


def points_deck(cd: ChartData, p: Profile, color: str | None, tooltip: tuple[str, ...] = ()):
    """Points coloured by a column (a ramp for numbers, a palette for categories), with tooltips."""
    import pydeck as pdk

    assert p.geo is not None
    f = cd.frame
    data = pd.DataFrame({"lon": f[p.geo.lon].astype(float).round(6), "lat": f[p.geo.lat].astype(float).round(6)})
    legend: dict[str, Any] = {}
    if color:
        if is_categorical(p, color):
            data["rgba"], legend["categories"] = categories(f[color])
        else:
            data["rgba"], lo, hi = ramp(f[color])
            legend["range"] = (lo, hi)
    else:
        data["rgba"] = [[*_hex(PALETTE[0]), 200]] * len(f)
    tips = [("latitude", "{lat}"), ("longitude", "{lon}")]
    for i, c in enumerate(dict.fromkeys(((color,) if color else ()) + tooltip)):
        data[f"t{i}"] = [_tooltip_value(v) for v in f[c]]
        tips.append((c, f"{{t{i}}}"))
    radius = 4 if len(data) <= 2000 else 3 if len(data) <= 6000 else 2
    layers = graticule_layers(float(data["lat"].min()), float(data["lat"].max()), float(data["lon"].min()),
                              float(data["lon"].max())) if len(data) else []
    layers.append(pdk.Layer("ScatterplotLayer", data, id="points", get_position=["lon", "lat"], get_fill_color="rgba",
                            radius_units="'pixels'", get_radius=radius, stroked=False, pickable=True,
                            auto_highlight=True))
    return _deck(layers, view_state(data["lat"], data["lon"]), _tooltip(tips)), legend


def density_deck(cd: ChartData, value_label: str):
    """Grid cells as rectangles coloured light → dark by their aggregated value."""
    import pydeck as pdk

    f = cd.frame
    if f.empty:
        return _deck([], view_state([], []), None), {}
    colours, lo, hi = ramp(f["value"], HEAT, alpha=200)
    data = pd.DataFrame({
        "polygon": [[[a, b], [c, b], [c, d], [a, d]] for a, b, c, d in
                    zip(f["lon"].round(6), f["lat"].round(6), f["lon_end"].round(6), f["lat_end"].round(6))],
        "rgba": colours, "v": [_tooltip_value(v) for v in f["value"]], "n": f["rows"].astype(int),
        "clat": ((f["lat"] + f["lat_end"]) / 2).round(5), "clon": ((f["lon"] + f["lon_end"]) / 2).round(5),
    })
    layers = graticule_layers(float(f["lat"].min()), float(f["lat_end"].max()), float(f["lon"].min()),
                              float(f["lon_end"].max()))
    layers.append(pdk.Layer("PolygonLayer", data, id="density", get_polygon="polygon", get_fill_color="rgba",
                            stroked=True, get_line_color=[255, 255, 255, 60], line_width_min_pixels=0.5,
                            filled=True, pickable=True, auto_highlight=True))
    tip = _tooltip([(value_label, "{v}"), ("rows", "{n}"), ("cell centre", "{clat}, {clon}")])
    view = view_state(pd.concat([f["lat"], f["lat_end"]]), pd.concat([f["lon"], f["lon_end"]]))
    return _deck(layers, view, tip), {"range": (lo, hi)}


def trajectories_deck(cd: ChartData, p: Profile, entity: str, color: str | None = None):
    """One path per entity (palette by entity, or a ramp / palette of ``color``), start points marked."""
    import pydeck as pdk

    f = cd.frame
    if f.empty:
        return _deck([], view_state([], []), None), {}
    legend: dict[str, Any] = {}
    if color and "color_value" in f:
        if is_categorical(p, color):
            rgba, legend["categories"] = categories(f["color_value"])
        else:
            rgba, lo, hi = ramp(f["color_value"])
            legend["range"] = (lo, hi)
    else:
        rgba = [[*_hex(PALETTE[i % len(PALETTE)]), 200] for i in range(len(f))]
        legend["categories"] = {e: PALETTE[i % len(PALETTE)] for i, e in enumerate(f["entity"][:len(PALETTE)])}
        legend["more"] = max(0, len(f) - len(PALETTE))
    data = pd.DataFrame({"path": f["path"], "rgba": rgba, "entity": f["entity"], "start": f["start"],
                         "end": f["end"], "points": f["points"]})
    starts = pd.DataFrame({"pos": [path[0] for path in f["path"]], "rgba": rgba, "entity": f["entity"],
                           "start": f["start"], "end": f["end"], "points": f["points"]})
    all_lon = [pt[0] for path in f["path"] for pt in path]
    all_lat = [pt[1] for path in f["path"] for pt in path]
    layers = graticule_layers(min(all_lat), max(all_lat), min(all_lon), max(all_lon))
    layers += [
        pdk.Layer("PathLayer", data, id="trajectories", get_path="path", get_color="rgba", width_units="'pixels'",
                  get_width=1.6, width_min_pixels=1, joint_rounded=True, cap_rounded=True, pickable=True,
                  auto_highlight=True),
        pdk.Layer("ScatterplotLayer", starts, id="starts", get_position="pos", get_fill_color="rgba",
                  get_line_color=[255, 255, 255, 255], stroked=True, line_width_min_pixels=1, radius_units="'pixels'",
                  get_radius=4, pickable=True),
    ]
    tip = _tooltip([(entity, "{entity}"), ("from", "{start}"), ("to", "{end}"), ("points", "{points}")])
    return _deck(layers, view_state(all_lat, all_lon), tip), legend
