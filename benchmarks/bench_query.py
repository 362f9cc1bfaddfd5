"""The data explorer's queries on a generated 10M-row Parquet file, each beside a bare DuckDB
``SELECT count(*), avg(x)`` over the same file (goal: at most 2×), with the rows each chart sends to the browser
(goal: at most 10,000).

    python -m benchmarks.bench_query [--rows 10000000] [--folder /tmp/lens-bench] [--repeat 3]

The file (numeric, categorical, lat / lon, timestamp and a vehicle id) is generated once and reused. Times are the
median of ``--repeat`` warm runs in this process, through the same functions the explorer page calls (no Streamlit
cache in between). The explorer copies a big file into a local DuckDB database in the background and queries the
copy once it is ready (:mod:`lens_core.explorer.extracts`): the main column is that steady state, the ``file`` column the
same query while the copy is still being built (the first seconds after a dataset is opened).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def generate(path: Path, rows: int, chunk: int = 1_000_000, seed: int = 11) -> None:
    """``rows`` GPS-like rows in row groups of ``chunk``: 2,000 vehicles moving around a city for a month."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    schema = pa.schema([("vehicle_id", pa.string()), ("kind", pa.string()), ("ts", pa.timestamp("s")),
                        ("lat", pa.float64()), ("lon", pa.float64()), ("x", pa.float64()), ("y", pa.float64()),
                        ("n", pa.int64())])
    kinds = np.array(["bus", "van", "taxi", "bike", "truck"])
    vehicles = np.array([f"V{i:04d}" for i in range(2000)])
    start = np.datetime64("2025-06-01T00:00:00", "s")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            v = rng.integers(0, len(vehicles), n)
            table = pa.table({
                "vehicle_id": vehicles[v], "kind": kinds[v % len(kinds)],
                "ts": start + rng.integers(0, 30 * 86400, n).astype("timedelta64[s]"),
                "lat": 48.85 + rng.normal(0, 0.05, n) + (v % 50) * 0.002,
                "lon": 2.35 + rng.normal(0, 0.08, n) - (v % 40) * 0.002,
                "x": rng.gamma(2.0, 10.0, n), "y": rng.normal(0, 1, n), "n": rng.integers(0, 1000, n),
            }, schema=schema)
            writer.write_table(table)
            done += n
    tmp.rename(path)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/lens-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from lens_core.explorer import extracts, maps
    from lens_core.explorer import profile as pr
    from lens_core.explorer import query as q
    from lens_core.explorer import views as ex

    path = args.folder / f"fleet-{args.rows}.parquet"
    if not path.is_file():
        began = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - began:.1f} s")
    source = q.Source.of(path)
    src, params = q.file_sql(source)  # the bare query always reads the file itself
    q.sql(f"SELECT count(*) FROM {src}", params)  # warm the file cache
    os.environ["LENS_EXTRACT_CACHE_MB"] = str(max(4096, 3 * path.stat().st_size // 2**20))
    began = time.perf_counter()
    state = extracts.wait(source)
    copy = extracts._path(extracts.key(source))
    print(f"local DuckDB copy: {state}, built or found in {time.perf_counter() - began:.1f} s "
          f"({copy.stat().st_size / 1e6:.0f} MB, file {path.stat().st_size / 1e6:.0f} MB)")

    base, _ = timed(lambda: q.sql(f"SELECT count(*), avg(x) FROM {src}", params), args.repeat)
    prof_t, p = timed(lambda: pr.profile(source), 1)
    print(f"{args.rows:,} rows · bare DuckDB SELECT count(*), avg(x): {base * 1000:.0f} ms · "
          f"profile (once, sampled={p.sampled}): {prof_t * 1000:.0f} ms")
    assert p.geo is not None and p.time == "ts" and p.entity == "vehicle_id", (p.geo, p.times, p.entities)

    cases: list[tuple[str, Callable[[], object]]] = [
        ("table page (50 rows + count)", lambda: ex.table_page(p, ("vehicle_id", "ts", "x"), (), (), 3, 50)),
        ("table page sorted by x", lambda: ex.table_page(p, ("vehicle_id", "ts", "x"), (), (q.Order("x", True),), 1, 50)),
        ("scatter x×y colour kind", lambda: ex.scatter_data(p, "x", "y", "kind")),
        ("line avg(x), avg(y) over ts", lambda: ex.line_data(p, "ts", ("x", "y"), "avg")),
        ("bar avg(x) by vehicle_id", lambda: ex.bar_data(p, "vehicle_id", "x", "avg")),
        ("bar count by kind", lambda: ex.bar_data(p, "kind", None, "count")),
        ("histogram x (30 bins)", lambda: ex.histogram_data(p, "x", 30)),
        ("heatmap kind × n (bins)", lambda: ex.heatmap_data(p, "kind", "n")),
        ("heatmap x × y (30×30 bins)", lambda: ex.heatmap_data(p, "x", "y")),
        ("map points colour x", lambda: maps.points_data(p, "x", ("vehicle_id",))),
        ("map density sum(x) 80×80", lambda: maps.density_data(p, "x", "sum", cells=80)),
        # first draw of a dataset's paths (the entity pick is forgotten before each run), then a redraw in
        # another colour, which reuses the pick
        ("map trajectories (200 paths)", lambda: (maps._picks.clear(), maps.trajectory_data(p, "vehicle_id", "ts"))[1]),
        ("map trajectories, recoloured", lambda: maps.trajectory_data(p, "vehicle_id", "ts", "kind")),
        ("filtered: bar by kind where x>30", lambda: ex.bar_data(p, "kind", "y", "avg", (q.Filter("x", "gt", 30.0),))),
    ]
    # hand-written SQL reading the same columns, for the cost of the columns themselves (no service around it)
    refs = {
        "table page sorted by x": f"SELECT vehicle_id, ts, x FROM {src} ORDER BY x DESC LIMIT 50",
        "scatter x×y colour kind": f"SELECT x, y, kind FROM {src} USING SAMPLE reservoir(5000 ROWS)",
        "line avg(x), avg(y) over ts": f"SELECT time_bucket(INTERVAL '1 hour', ts) AS t, avg(x), avg(y) FROM {src} GROUP BY t",
        "histogram x (30 bins)": f"SELECT floor(x / 10) AS b, count(*) FROM {src} GROUP BY b",
        "heatmap x × y (30×30 bins)": f"SELECT floor(x / 10) AS a, floor(y * 4) AS b, count(*) FROM {src} GROUP BY a, b",
        "map points colour x": f"SELECT lat, lon, x, vehicle_id FROM {src} USING SAMPLE reservoir(10000 ROWS)",
        "map density sum(x) 80×80": f"SELECT floor(lat * 200) AS a, floor(lon * 200) AS b, sum(x), count(*) FROM {src} GROUP BY a, b",
        "map trajectories (200 paths)": f"SELECT vehicle_id, count(*), min(ts), max(ts) FROM {src} GROUP BY vehicle_id",
        "map trajectories, recoloured": f"SELECT vehicle_id, avg(lat), avg(lon) FROM {src} GROUP BY vehicle_id",
    }
    print(f"\n{'query':36} {'time':>9} {'bare':>8} {'× bare':>7} {'rows to browser':>16} {'file':>9} {'× bare':>7} "
          f"{'hand-written SQL on the file':>29}")
    worst = 0.0
    def bare() -> object:
        return q.sql(f"SELECT count(*), avg(x) FROM {src}", params)

    for name, fn in cases:
        # interleaved with the bare query, so a busy machine slows both alike
        case_times, base_times, result = [], [], None
        for _ in range(args.repeat):
            base_times.append(timed(bare, 1)[0])
            seconds, result = timed(fn, 1)
            case_times.append(seconds)
        seconds, base = statistics.median(case_times), statistics.median(base_times)
        if isinstance(result, ex.ChartData):
            sent = int(result.extra.get("vertices", result.rows_sent))
        else:
            sent = len(result.frame)  # a table page
        ratio = seconds / base
        worst = max(worst, ratio)
        os.environ["LENS_EXTRACTS"] = "0"  # the same query on the file, as while the copy is being built
        file_seconds = statistics.median([timed(fn, 1)[0] for _ in range(args.repeat)])
        os.environ.pop("LENS_EXTRACTS")
        flag = "" if ratio <= 2 and sent <= 10_000 else "  ← over goal"
        ref = ""
        if name in refs:
            statement = refs[name]
            ref_times = [timed(lambda s=statement: q.sql(s, params), 1)[0] for _ in range(args.repeat)]
            ref = f"{statistics.median(ref_times) * 1000:6.0f} ms"
        print(f"{name:36} {seconds * 1000:7.0f} ms {base * 1000:5.0f} ms {ratio:6.1f}× {sent:16,} "
              f"{file_seconds * 1000:6.0f} ms {file_seconds / base:6.1f}× {ref:>29}{flag}")
    print(f"\nworst ratio {worst:.1f}× (goal ≤ 2×); browser rows goal ≤ 10,000")


if __name__ == "__main__":
    main()
