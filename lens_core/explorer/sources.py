"""The files the explorer reads and the one DuckDB connection that reads them.

A :class:`Source` is a local data file and its format; :func:`file_sql` is the table function that reads it (the
path a bound parameter); :func:`connection` is the process-wide in-memory DuckDB database every query and every
local copy (:mod:`lens_core.explorer.extracts`) goes through. :mod:`lens_core.explorer.query` builds on these and
re-exports them.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lens_core.errors import LensError

if TYPE_CHECKING:
    import duckdb

Format = Literal["csv", "tsv", "parquet", "json"]

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet", ".json": "json",
    ".jsonl": "json", ".ndjson": "json",
}


class QueryError(LensError):
    """A query could not run: an unreadable file, a column that does not exist, a bad request."""


@dataclass(frozen=True, slots=True)
class Source:
    """A local data file and how to read it."""

    path: str
    format: Format

    @staticmethod
    def of(path: str | Path, format: Format | None = None) -> Source:
        """The source for a file, its format from the suffix unless given."""
        path = str(path)
        if format is None:
            format = _SUFFIXES.get(Path(path).suffix.lower())
            if format is None:
                raise QueryError(f"Cannot tell how to read {Path(path).name!r}: expected a .csv, .tsv, .parquet, "
                                 ".json, .jsonl or .ndjson file.")
        return Source(path, format)


def readable_format(path: str | Path) -> Format | None:
    """The format the query service reads this file as, None when it does not."""
    return _SUFFIXES.get(Path(str(path)).suffix.lower())


def file_sql(source: Source) -> tuple[str, list[Any]]:
    """The table function reading a source file, with the path as a bound parameter. DuckDB reads ``*``, ``?``,
    ``[…]`` and ``{…}`` in a path as a pattern: a name holding them is passed as a literal alias of the one file
    (:func:`lens_core.confine.literal_path`), so no other file is ever read."""
    from lens_core.confine import literal_path

    try:
        path = literal_path(source.path)
    except LensError as exc:
        raise QueryError(str(exc)) from exc
    if source.format == "parquet":
        return "read_parquet(?)", [path]
    if source.format == "csv":
        return "read_csv(?, header = true, sample_size = 20480)", [path]
    if source.format == "tsv":
        return "read_csv(?, delim = '\t', header = true, sample_size = 20480)", [path]
    if source.format == "json":
        return "read_json_auto(?)", [path]
    raise QueryError(f"Unknown format {source.format!r}")


# ---- the connection -----------------------------------------------------------------------------------------------
_lock = threading.Lock()
_connection = None


def connection() -> duckdb.DuckDBPyConnection:
    """The process-wide in-memory DuckDB connection; use :func:`cursor` for queries."""
    global _connection
    with _lock:
        if _connection is None:
            import duckdb

            from lens_core.paths import cache_dir

            # bounded, so one big query cannot take a small host's memory (it spills to the cache folder instead)
            _connection = duckdb.connect(":memory:", config={
                "enable_external_access": True,
                "memory_limit": os.environ.get("LENS_DUCKDB_MEMORY", "1GB"),
                "temp_directory": str(cache_dir() / "duckdb-spill"),
            })
        return _connection


def cursor() -> duckdb.DuckDBPyConnection:
    """A new cursor (its own connection to the shared database): one per query and thread."""
    return connection().cursor()
