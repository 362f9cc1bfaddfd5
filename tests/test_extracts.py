"""Local DuckDB copies of big dataset files: same answers as the file, rebuilt when it changes, bounded, and never
in the way (a file that cannot be copied, or a broken copy, is read directly)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens_core.explorer import extracts
from lens_core.explorer import query as q


@pytest.fixture
def copy_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LENS_EXTRACT_MIN_MB", "0")
    monkeypatch.delenv("LENS_EXTRACTS", raising=False)
    return tmp_path


def frame(rows: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(rows), "kind": rng.choice(["a", "b", "c"], rows), "x": rng.normal(0, 1, rows),
        "t": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 3, rows), unit="s"),
        'odd "name"': rng.integers(0, 5, rows),
    })


REQUESTS = [
    lambda s: q.QueryRequest(s, columns=("id", "kind", "x"), limit=40, offset=100, with_total=True),
    lambda s: q.QueryRequest(s, filters=(q.Filter("kind", "in", ("a", "c")), q.Filter("x", "gt", 0.5)),
                             group_by=("kind",), aggs=(q.Agg("count"), q.Agg("avg", "x")), order=(q.Order("kind"),)),
    lambda s: q.QueryRequest(s, bins=(q.Bin("x", 12),), aggs=(q.Agg("count"),), order=(q.Order("x"),)),
    lambda s: q.QueryRequest(s, time_bucket=q.TimeBucket("t", "3 hours"), aggs=(q.Agg("sum", 'odd "name"'),),
                             order=(q.Order("t"),)),
]


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_copy_answers_like_the_file(copy_everything: Path, suffix: str) -> None:
    path = copy_everything / f"data.{suffix}"
    data = frame()
    data.to_parquet(path) if suffix == "parquet" else data.to_csv(path, index=False)
    source = q.Source.of(path)
    assert extracts.table_sql(source) is None  # the first query reads the file and starts the copy
    from_file = [q.run(make(source)) for make in REQUESTS]
    assert extracts.wait(source) == "ready"
    table, params = q.source_sql(source)
    assert table.startswith("lens_extract_") and params == []
    from_copy = [q.run(make(source)) for make in REQUESTS]
    for a, b in zip(from_file, from_copy):
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.total == b.total
    assert "lens_extract_" in from_copy[0].sql and "read_" not in from_copy[0].sql


def test_a_changed_file_gets_a_new_copy(copy_everything: Path) -> None:
    path = copy_everything / "data.parquet"
    frame(seed=1).to_parquet(path)
    source = q.Source.of(path)
    extracts.wait(source)
    first = q.run(q.QueryRequest(source, aggs=(q.Agg("sum", "x"),))).frame.iloc[0, 0]
    frame(rows=500, seed=2).to_parquet(path)
    assert q.source_sql(source)[0] == "read_parquet(?)"  # the old copy is not used for the new file
    extracts.wait(source)
    res = q.run(q.QueryRequest(source, aggs=(q.Agg("count"), q.Agg("sum", "x"))))
    assert res.frame.iloc[0, 0] == 500 and res.frame.iloc[0, 1] != first
    assert res.sql.count("lens_extract_") == 1


def test_copies_stay_under_the_limit(copy_everything: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = []
    for i in range(3):
        path = copy_everything / f"d{i}.parquet"
        frame(rows=20000, seed=i).to_parquet(path)
        sources.append(q.Source.of(path))
    extracts.wait(sources[0])
    one = extracts._path(extracts.key(sources[0])).stat().st_size
    monkeypatch.setenv("LENS_EXTRACT_CACHE_MB", str(one * 1.5 / 1024**2))
    for s in sources[1:]:
        extracts.wait(s)
    kept = list(extracts.root().glob("*.duckdb"))
    assert kept == [extracts._path(extracts.key(sources[2]))]
    # an evicted copy is detached: its file is read again, and the answer does not change
    res = q.run(q.QueryRequest(sources[0], aggs=(q.Agg("count"),)))
    assert res.frame.iloc[0, 0] == 20000


def test_small_files_and_switched_off(copy_everything: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_everything / "small.parquet"
    frame(rows=10).to_parquet(path)
    source = q.Source.of(path)
    monkeypatch.setenv("LENS_EXTRACT_MIN_MB", "1")
    assert extracts.status(source) == "small" and extracts.table_sql(source) is None
    monkeypatch.setenv("LENS_EXTRACT_MIN_MB", "0")
    monkeypatch.setenv("LENS_EXTRACTS", "0")
    assert extracts.status(source) == "off" and q.source_sql(source)[0] == "read_parquet(?)"
    assert not list(extracts.root().glob("*"))


def test_an_unreadable_file_is_read_directly_with_its_own_error(copy_everything: Path) -> None:
    path = copy_everything / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet" * 100)
    source = q.Source.of(path)
    assert extracts.wait(source) == "failed"
    with pytest.raises(q.QueryError):
        q.run(q.QueryRequest(source, aggs=(q.Agg("count"),)))
    assert not list(extracts.root().glob("*.partial*"))


def test_a_broken_copy_is_dropped_and_the_file_read(copy_everything: Path) -> None:
    path = copy_everything / "data.parquet"
    frame().to_parquet(path)
    source = q.Source.of(path)
    copy = extracts._path(extracts.key(source))
    copy.write_bytes(b"not a duckdb file" * 100)
    res = q.run(q.QueryRequest(source, aggs=(q.Agg("count"),)))
    assert res.frame.iloc[0, 0] == 3000 and "read_parquet" in res.sql
    assert not copy.exists() and extracts.status(source) == "failed"


def test_no_writable_cache_folder_reads_the_file(copy_everything: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_everything / "data.parquet"
    frame().to_parquet(path)
    blocker = copy_everything / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LENS_CACHE_DIR", str(blocker / "cache"))
    source = q.Source.of(path)
    res = q.run(q.QueryRequest(source, aggs=(q.Agg("count"),)))
    assert res.frame.iloc[0, 0] == 3000 and "read_parquet" in res.sql
