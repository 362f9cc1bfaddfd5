"""The DuckDB query service on generated files: results checked against pandas, hostile names and values."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens_core.explorer import query as q

NASTY = ['a"; DROP TABLE t; --', "it's", "with space", "ünïcødé ✓", 'x"y', "100%_off", "back\\slash", "select"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    return pd.DataFrame({
        "id": np.arange(n),
        "x": rng.normal(10, 3, n),
        "y": rng.integers(0, 100, n).astype(float),
        "cat": rng.choice(["a", "b", "c"], n),
        'we"ird; DROP TABLE x; --': rng.choice(NASTY, n),
        "with space": rng.choice(["p q", "r"], n),
        "ünï": rng.uniform(0, 1, n),
        "t": pd.date_range("2025-01-01", periods=n, freq="37s"),
        "maybe": np.where(np.arange(n) % 4 == 0, np.nan, rng.normal(size=n)),
        "nothing": pd.Series([None] * n, dtype="float64"),
    })


@pytest.fixture(scope="module", params=["parquet", "csv", "tsv", "json"])
def source(request, data: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> q.Source:
    folder = tmp_path_factory.mktemp("query")
    fmt = request.param
    path = folder / f"it's a \"file\"; --.{ {'json': 'jsonl'}.get(fmt, fmt) }"
    if fmt == "parquet":
        data.to_parquet(path, index=False)
    elif fmt == "csv":
        data.to_csv(path, index=False)
    elif fmt == "tsv":
        data.to_csv(path, index=False, sep="\t")
    else:
        data.assign(t=data["t"].dt.strftime("%Y-%m-%dT%H:%M:%S")).to_json(path, orient="records", lines=True)
    return q.Source.of(path)


def test_source_formats_from_suffix(tmp_path: Path) -> None:
    assert q.Source.of(tmp_path / "a.PARQUET").format == "parquet"
    assert q.Source.of(tmp_path / "a.tsv").format == "tsv"
    assert q.Source.of(tmp_path / "a.ndjson").format == "json"
    with pytest.raises(q.QueryError, match="Cannot tell"):
        q.Source.of(tmp_path / "a.xlsx")


def test_quote_doubles_quotes_and_refuses_empty() -> None:
    assert q.quote('a"b') == '"a""b"'
    with pytest.raises(q.QueryError):
        q.quote("")


@pytest.mark.parametrize("value", NASTY)
def test_injection_like_names_and_values_are_data(source: q.Source, data: pd.DataFrame, value: str) -> None:
    column = 'we"ird; DROP TABLE x; --'
    for op, expected in (("eq", data[column] == value), ("ne", data[column] != value),
                         ("contains", data[column].str.contains(value, regex=False, case=False)),
                         ("starts", data[column].str.lower().str.startswith(value.lower())),
                         ("ends", data[column].str.lower().str.endswith(value.lower()))):
        res = q.run(q.QueryRequest(source, columns=("id", column), filters=(q.Filter(column, op, value),),
                                   order=(q.Order("id"),), with_total=True), max_rows=5000)
        assert res.total == int(expected.sum()), (op, value)
        assert res.frame["id"].tolist() == data.loc[expected, "id"].tolist()
    # the file is still there and whole
    assert q.count_rows(source) == len(data)


def test_like_wildcards_are_literal(source: q.Source, data: pd.DataFrame) -> None:
    column = 'we"ird; DROP TABLE x; --'
    assert q.count_rows(source, [q.Filter(column, "contains", "%")]) == int((data[column] == "100%_off").sum())
    assert q.count_rows(source, [q.Filter(column, "contains", "_")]) == int((data[column] == "100%_off").sum())


def test_filters_match_pandas(source: q.Source, data: pd.DataFrame) -> None:
    cases = [
        (q.Filter("cat", "in", ("a", "c")), data["cat"].isin(["a", "c"])),
        (q.Filter("cat", "not_in", ("a",)), ~data["cat"].isin(["a"])),
        (q.Filter("x", "between", 8.0, 12.0), data["x"].between(8, 12)),
        (q.Filter("x", "between", None, 9.0), data["x"] <= 9),
        (q.Filter("y", "gt", 50), data["y"] > 50),
        (q.Filter("y", "le", 10), data["y"] <= 10),
        (q.Filter("with space", "eq", "p q"), data["with space"] == "p q"),
        (q.Filter("maybe", "is_null"), data["maybe"].isna()),
        (q.Filter("maybe", "not_null"), data["maybe"].notna()),
        (q.Filter("nothing", "is_null"), data["nothing"].isna()),
        (q.Filter("cat", "in", ()), data["cat"] != data["cat"]),
    ]
    for f, mask in cases:
        assert q.count_rows(source, [f]) == int(mask.sum()), f


def test_aggregations_match_pandas(source: q.Source, data: pd.DataFrame) -> None:
    aggs = (q.Agg("count"), q.Agg("sum", "x"), q.Agg("avg", "x"), q.Agg("min", "y"), q.Agg("max", "y"),
            q.Agg("median", "x"), q.Agg("std", "x"), q.Agg("quantile", "x", q=0.9), q.Agg("count", "maybe"),
            q.Agg("count_distinct", "cat"), q.Agg("avg", "ünï", alias="mean ü"))
    res = q.run(q.QueryRequest(source, group_by=("cat",), aggs=aggs, order=(q.Order("cat"),)))
    f = res.frame.set_index("cat")
    g = data.groupby("cat")
    assert f["count"].tolist() == g.size().tolist()
    np.testing.assert_allclose(f["sum(x)"], g["x"].sum(), rtol=1e-9)
    np.testing.assert_allclose(f["avg(x)"], g["x"].mean(), rtol=1e-9)
    np.testing.assert_allclose(f["median(x)"], g["x"].median(), rtol=1e-9)
    np.testing.assert_allclose(f["std(x)"], g["x"].std(), rtol=1e-9)
    np.testing.assert_allclose(f["q0.9(x)"], g["x"].quantile(0.9), rtol=1e-9)
    np.testing.assert_allclose(f["min(y)"], g["y"].min())
    np.testing.assert_allclose(f["max(y)"], g["y"].max())
    assert f["count(maybe)"].tolist() == g["maybe"].count().tolist()
    assert f["count_distinct(cat)"].tolist() == [1, 1, 1]
    np.testing.assert_allclose(f["mean ü"], g["ünï"].mean(), rtol=1e-9)


def test_paging_order_and_total(source: q.Source, data: pd.DataFrame) -> None:
    res = q.run(q.QueryRequest(source, columns=("id", "x"), order=(q.Order("x", True),), limit=25, offset=50,
                               with_total=True))
    expected = data.sort_values("x", ascending=False)["id"].iloc[50:75].tolist()
    assert res.frame["id"].tolist() == expected and res.total == len(data) and not res.capped


def test_row_cap(source: q.Source) -> None:
    res = q.run(q.QueryRequest(source, columns=("id",)), max_rows=100)
    assert len(res.frame) == 100 and res.capped
    res = q.run(q.QueryRequest(source, columns=("id",), limit=10), max_rows=100)
    assert len(res.frame) == 10 and not res.capped


def test_one_d_and_two_d_bins(source: q.Source, data: pd.DataFrame) -> None:
    res = q.run(q.QueryRequest(source, bins=(q.Bin("y", 10, 0, 100),), aggs=(q.Agg("count"),),
                               order=(q.Order("y"),)))
    counts, edges = np.histogram(data["y"], bins=10, range=(0, 100))
    assert res.frame["count"].tolist() == counts.tolist()
    np.testing.assert_allclose(res.frame["y"], edges[:-1])
    np.testing.assert_allclose(res.frame["y_end"], edges[1:])
    # data-driven bounds: every row lands in a bin, the maximum in the last one
    res = q.run(q.QueryRequest(source, bins=(q.Bin("x", 7),), aggs=(q.Agg("count"),)))
    assert res.frame["count"].sum() == len(data) and len(res.frame) <= 7
    grid = q.run(q.QueryRequest(source, bins=(q.Bin("x", 5, alias="bx"), q.Bin("ünï", 4, alias="bu")),
                                aggs=(q.Agg("count"), q.Agg("avg", "y"))))
    assert grid.frame["count"].sum() == len(data) and len(grid.frame) <= 20
    assert {"bx", "bx_end", "bu", "bu_end"} <= set(grid.frame.columns)


def test_time_buckets(source: q.Source, data: pd.DataFrame) -> None:
    encoding = "string" if source.format == "json" else "typed"
    res = q.run(q.QueryRequest(source, time_bucket=q.TimeBucket("t", "1 hour", encoding), aggs=(q.Agg("count"),),
                               order=(q.Order("t"),)))
    expected = data.groupby(data["t"].dt.floor("h")).size()
    assert res.frame["count"].tolist() == expected.tolist()
    assert pd.to_datetime(res.frame["t"]).tolist() == expected.index.tolist()
    with pytest.raises(q.QueryError, match="Unknown time bucket"):
        q.run(q.QueryRequest(source, time_bucket=q.TimeBucket("t", "1 hour; DROP"), aggs=(q.Agg("count"),)))


def test_epoch_time_buckets(tmp_path: Path) -> None:
    times = pd.date_range("2025-03-01", periods=500, freq="5min")
    path = tmp_path / "epoch.parquet"
    seconds = (times - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    pd.DataFrame({"ts": seconds, "ms": seconds * 1000}).to_parquet(path)
    src = q.Source.of(path)
    for col, enc in (("ts", "epoch_s"), ("ms", "epoch_ms")):
        res = q.run(q.QueryRequest(src, time_bucket=q.TimeBucket(col, "1 day", enc), aggs=(q.Agg("count"),),
                                   order=(q.Order(col),)))
        assert res.frame["count"].tolist() == [288, 212]


@pytest.mark.parametrize("every", [b for b in q.BUCKETS if q.bucket_seconds(b) <= 86400])
def test_fixed_width_buckets_equal_time_bucket_also_before_1970(tmp_path: Path, every: str) -> None:
    rng = np.random.default_rng(5)
    stamps = pd.Timestamp("1969-12-30") + pd.to_timedelta(rng.integers(0, 4 * 86400 * 10**6, 400), unit="us")
    path = tmp_path / "around-1970.parquet"
    pd.DataFrame({"t": stamps}).to_parquet(path)
    src = q.Source.of(path)
    res = q.run(q.QueryRequest(src, time_bucket=q.TimeBucket("t", every), aggs=(q.Agg("count"),),
                               order=(q.Order("t"),)))
    reference = q.sql("SELECT time_bucket(CAST(? AS INTERVAL), t) AS t, count(*) AS count FROM read_parquet(?) "
                      "GROUP BY 1 ORDER BY 1", [every, str(path)])
    assert pd.to_datetime(res.frame["t"]).tolist() == pd.to_datetime(reference["t"]).tolist()
    assert res.frame["count"].tolist() == reference["count"].tolist()


def test_epoch_columns_do_not_shift_with_the_session_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "epoch.parquet"
    pd.DataFrame({"s": [0, 3600], "ms": [0, 3_600_000]}).to_parquet(path)
    cur = q.cursor()
    cur.execute("SET TimeZone = 'Asia/Kolkata'")
    for col, enc in (("s", "epoch_s"), ("ms", "epoch_ms")):
        got = cur.execute(f"SELECT {q.time_expr(col, enc)} AS t FROM read_parquet(?)", [str(path)]).df()["t"]
        assert pd.to_datetime(got).tolist() == [pd.Timestamp("1970-01-01 00:00"), pd.Timestamp("1970-01-01 01:00")]


def test_sampling(source: q.Source) -> None:
    res = q.run(q.QueryRequest(source, columns=("id",), sample=q.Sample(300, seed=1)))
    assert len(res.frame) == 300 and res.sampled and res.frame["id"].is_unique
    again = q.run(q.QueryRequest(source, columns=("id",), sample=q.Sample(300, seed=1)))
    assert sorted(again.frame["id"]) == sorted(res.frame["id"])  # reproducible


def test_all_null_column(source: q.Source) -> None:
    res = q.run(q.QueryRequest(source, aggs=(q.Agg("avg", "nothing"), q.Agg("count", "nothing"), q.Agg("count"))))
    row = res.frame.iloc[0]
    assert pd.isna(row["avg(nothing)"]) and row["count(nothing)"] == 0 and row["count"] == 2000


def test_unknown_column_is_a_clear_error(source: q.Source) -> None:
    with pytest.raises(q.QueryError, match="no_such"):
        q.run(q.QueryRequest(source, columns=("no_such",)))


def test_empty_dataset(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pd.DataFrame({"a": pd.Series(dtype=float), "b": pd.Series(dtype=str)}).to_parquet(path)
    src = q.Source.of(path)
    res = q.run(q.QueryRequest(src, with_total=True, limit=10))
    assert res.total == 0 and res.frame.empty and list(res.frame.columns) == ["a", "b"]
    assert q.run(q.QueryRequest(src, bins=(q.Bin("a", 10),), aggs=(q.Agg("count"),))).frame["count"].sum() == 0
    csv = tmp_path / "header-only.csv"
    csv.write_text("a,b\n")
    assert q.count_rows(q.Source.of(csv)) == 0


def test_thousand_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(200, 1000)), columns=[f"c {i}\"" for i in range(1000)])
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)
    src = q.Source.of(path)
    assert len(q.describe(src)) == 1000
    res = q.run(q.QueryRequest(src, columns=('c 999"', 'c 0"'), filters=(q.Filter('c 500"', "gt", 0.0),),
                               with_total=True))
    assert res.total == int((frame['c 500"'] > 0).sum()) and list(res.frame.columns) == ['c 999"', 'c 0"']
    whole = q.run(q.QueryRequest(src, limit=5))
    assert whole.frame.shape == (5, 1000)


def test_timeout_interrupts(tmp_path: Path) -> None:
    began = time.perf_counter()
    with pytest.raises(q.QueryTimeoutError, match="stopped after 0.5 s"):
        q.sql("SELECT sum(hash(i)) FROM range(?) t(i)", [10**12], timeout=0.5)  # hours of work
    assert time.perf_counter() - began < 10
    assert q.sql("SELECT 1 AS one").iloc[0, 0] == 1  # the shared connection still works


def test_export_csv(source: q.Source, data: pd.DataFrame) -> None:
    import io

    body = q.export_csv(q.QueryRequest(source, columns=("id", "cat"), filters=(q.Filter("cat", "eq", "b"),),
                                       order=(q.Order("id"),), limit=5))
    frame = pd.read_csv(io.BytesIO(body))
    assert frame["id"].tolist() == data.loc[data["cat"] == "b", "id"].tolist()  # paging is ignored


def test_cursors_from_threads(source: q.Source) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: q.count_rows(source), range(16)))
    assert counts == [2000] * 16


def test_auto_bucket() -> None:
    assert q.auto_bucket(3600, 100) == "1 minute"
    assert q.auto_bucket(86400 * 365, 500) == "1 day"
    assert q.auto_bucket(0) == "1 second"
