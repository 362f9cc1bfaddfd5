"""ExperimentLens's PostgreSQL reader against MLflow's client, on a private PostgreSQL cluster it starts itself.

    python -m benchmarks.bench_postgres                    # 10k runs (30 params × 15 metrics × 5 steps)
    python -m benchmarks.bench_postgres --runs 1000 10000
    python -m benchmarks.bench_postgres --uri postgresql+psycopg://user@host/db   # an existing, empty database

Each measurement runs in a fresh Python process (see :mod:`benchmarks.bench_tracker`), the best of ``--repeats``
kept: cold ``t.runs()`` (opening the store, listing experiments, the runs table) against ``mlflow.search_runs`` on
the same experiment, then the ratio. ``--drivers`` also times the candidate drivers
reading the four long tables of the experiment (ADBC into Arrow, psycopg 3 ``COPY … TO STDOUT`` parsed by
Arrow, psycopg 3 row fetch), the measurement behind the choice of ADBC for reads.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_tracker import measure
from benchmarks.generate_store import StoreSpec, generate_postgres_store

DRIVERS = ("adbc", "psycopg-copy", "psycopg-fetch")


def _store(admin_uri: str, database: str, n_runs: int, artifacts: Path) -> str:
    """A new database holding ``n_runs`` generated runs; returns its ``postgresql+psycopg://`` URI."""
    import psycopg

    base, _, _ = admin_uri.rpartition("/")
    with psycopg.connect("postgresql://" + admin_uri.split("://", 1)[1], autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{database}"')
        con.execute(f'CREATE DATABASE "{database}"')
    uri = f"{base}/{database}"
    started = time.perf_counter()
    generate_postgres_store(uri, StoreSpec(n_runs=n_runs, n_params=30, n_metrics=15, n_steps=5, seed=0), artifacts)
    with psycopg.connect("postgresql://" + uri.split("://", 1)[1], autocommit=True) as con:
        con.execute("VACUUM ANALYZE")  # as autovacuum would have by the time anyone reads a store this size
    print(f"generated {n_runs} runs in {time.perf_counter() - started:.1f} s", flush=True)
    return uri


def _driver_child(driver: str, uri: str) -> dict[str, float]:
    """Runs in a fresh process: the four long tables of the generated experiment through one driver."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from lens_core.trackers import mlflow_sql as q
    from lens_core.trackers.mlflow_postgres import _numbered, libpq_uri

    dsn = libpq_uri(uri)
    queries = [(q.INFO_COLUMNS, q.INFO_FROM), (q.LATEST_COLUMNS, q.LATEST_FROM), (q.PARAMS_COLUMNS, q.PARAMS_FROM),
               (q.TAGS_COLUMNS, q.TAGS_FROM)]
    started = time.perf_counter()
    rows = 0
    if driver == "adbc":
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(dsn, autocommit=True) as con, con.cursor() as cur:
            cur.execute("SELECT min(experiment_id) FROM runs")
            experiment_id = cur.fetchone()[0]
            for columns, source in queries:
                cur.execute(_numbered(f"SELECT {', '.join(c.expression for c in columns)} {source}"), (experiment_id,))
                rows += cur.fetch_arrow_table().num_rows
    else:
        import psycopg

        with psycopg.connect(dsn) as con:
            experiment_id = con.execute("SELECT min(experiment_id) FROM runs").fetchone()[0]
            for columns, source in queries:
                sql = f"SELECT {', '.join(c.expression for c in columns)} {source.replace('?', '%s')}"
                if driver == "psycopg-copy":
                    data = bytearray()
                    with con.cursor().copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", (experiment_id,)) as copy:
                        for block in copy:
                            data += block
                    rows += pcsv.read_csv(pa.py_buffer(data), read_options=pcsv.ReadOptions(
                        column_names=[c.name for c in columns])).num_rows
                else:
                    found = con.execute(sql, (experiment_id,)).fetchall()
                    rows += pa.table({c.name: pa.array(v) for c, v in zip(columns, zip(*found), strict=True)}).num_rows
    return {"seconds": time.perf_counter() - started, "rows": rows,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def compare_drivers(uri: str, repeats: int = 3) -> None:
    for driver in DRIVERS:
        results = []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-m", "benchmarks.bench_postgres", "--driver-child", driver, uri],
                                 capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        best = min(r["seconds"] for r in results)
        print(f"{'driver':>10} {driver:<34} {best:>8.3f} {'':>9} {max(r['peak_mb'] for r in results):>8.0f}"
              f"   (best of {repeats}, {results[0]['rows']:,} rows; peak MB is the whole process)", flush=True)


def compare_runs(label: str, uri: str, repeats: int) -> None:
    """Cold and warm ``t.runs()`` and ``search_runs``, each the best of ``repeats`` fresh processes."""
    best = {}
    for kind in ("lens_runs", "mlflow_runs"):
        results = [measure(kind, uri) for _ in range(repeats)]
        assert len({r["rows"] for r in results}) == 1, results
        best[kind] = {key: min(r[key] for r in results) for key in results[0]}
    lens, ref = best["lens_runs"], best["mlflow_runs"]
    assert lens["rows"] == ref["rows"], (lens, ref)
    for name, r in (("t.runs()", lens), ("mlflow.search_runs", ref)):
        print(f"{label:>10} {name:<34} {r['cold_s']:>8.3f} {r['warm_s']:>9.4f} {r['peak_mb']:>8.0f}")
    print(f"{label:>10} {f'ratio (mlflow / lens), best of {repeats}':<34} {ref['cold_s'] / lens['cold_s']:>7.0f}× "
          f"{ref['warm_s'] / lens['warm_s']:>8.0f}× {ref['peak_mb'] / max(lens['peak_mb'], 1):>7.1f}×", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="*", default=[10000], help="store sizes")
    parser.add_argument("--uri", help="an existing server's admin URI (a database per size is created there)")
    parser.add_argument("--drivers", action="store_true", help="also time the candidate drivers")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement (best is kept)")
    parser.add_argument("--driver-child", nargs=2, metavar=("DRIVER", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.driver_child:
        print(json.dumps(_driver_child(*args.driver_child)))
        return
    if args.uri:
        _run(args.uri, args.runs, args.drivers, args.repeats, Path(tempfile.mkdtemp(prefix="lens-pg-artifacts-")))
        return
    from tests.postgres import running_cluster

    with running_cluster() as cluster:
        print(f"PostgreSQL cluster on port {cluster.port} ({cluster.bin})", flush=True)
        _run(cluster.uri("postgres"), args.runs, args.drivers, args.repeats, cluster.folder / "artifacts")


def _run(admin_uri: str, sizes: list[int], drivers: bool, repeats: int, artifacts: Path) -> None:
    stores = {n: _store(admin_uri, f"bench_{n}", n, artifacts / str(n)) for n in sizes}
    print(f"{'store':>10} {'what':<34} {'cold s':>8} {'warm s':>9} {'peak MB':>8}")
    for n_runs, uri in stores.items():
        compare_runs(f"pg {n_runs}", uri, repeats)
        if drivers:
            compare_drivers(uri, repeats)


if __name__ == "__main__":
    main()
