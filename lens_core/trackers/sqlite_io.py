"""The one SQLite library ExperimentLens uses on MLflow stores: Python's ``sqlite3``, for every read and write.

Why one: SQLite's POSIX locks belong to the process, so two copies of SQLite in one process (``sqlite3`` and the
one bundled in ADBC's driver) drop each other's locks when either closes the file, and a training job's journal
gets rolled back under it — a corrupted store. MLflow's own client (SQLAlchemy) uses ``sqlite3`` too, so this is
the library already in every process that touches the store.

Why it stays fast: a row fetched through ``sqlite3`` costs a Python tuple and a string per cell. The long text
tables (params, tags) are therefore joined into one CSV text by SQLite itself (``group_concat``: C speed, the GIL
released, so it overlaps with other reads) and parsed by Arrow. Floats are fetched as Python floats: SQLite's own
float-to-text conversion is not exact (17 digits printed through long double arithmetic missed 0.2% of random
doubles), and a number on screen must be the logged number.

Every connection has a busy timeout; a read that still finds the store locked is retried a few times, then
raises :class:`StoreBusyError`. Reads never write: connections are ``mode=ro`` with ``query_only``.
"""
from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lens_core.errors import StoreBusyError

#: How long one statement waits for a writer's lock before SQLite reports busy, in seconds. MLflow's writers
#: (SQLAlchemy's default) wait 5 s for us, so our reads stay far shorter than that.
READ_BUSY_TIMEOUT_S = 2.0
WRITE_BUSY_TIMEOUT_S = 10.0
#: Reads that still find the store locked are retried this many times, after these pauses (seconds).
READ_RETRY_PAUSES_S = (0.2, 0.5, 1.0)

T = TypeVar("T")


@contextmanager
def connect(db_path: Path, *, write: bool = False, create: bool = False) -> Iterator[sqlite3.Connection]:
    """A short-lived connection with a busy timeout; read-only unless ``write`` (``create`` makes a new file,
    for private copies only). Closed on exit."""
    mode = "rwc" if create else "rw" if write else "ro"
    con = sqlite3.connect(
        f"file:{quote(str(db_path))}?mode={mode}",
        uri=True,
        timeout=WRITE_BUSY_TIMEOUT_S if write else READ_BUSY_TIMEOUT_S,
        check_same_thread=False,
        isolation_level=None,  # we say where transactions begin and end
    )
    try:
        if not write:
            con.execute("PRAGMA query_only = ON")
        yield con
    finally:
        con.close()


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "locked / busy" (another connection holds a conflicting lock)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def read(db_path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work(connection)`` inside one read transaction (one consistent snapshot), retried while the store is
    busy; :class:`StoreBusyError` when it stays busy."""
    for attempt in range(len(READ_RETRY_PAUSES_S) + 1):
        try:
            with connect(db_path) as con:
                con.execute("BEGIN")
                try:
                    return work(con)
                finally:
                    con.execute("COMMIT")  # a read transaction: ends the snapshot, releases the shared lock
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if attempt == len(READ_RETRY_PAUSES_S):
                raise StoreBusyError(
                    f"The store {db_path.name} is busy: a training job has held a write lock for over "
                    f"{READ_BUSY_TIMEOUT_S * (attempt + 1) + sum(READ_RETRY_PAUSES_S):.0f} s. Nothing was changed; "
                    "try again in a moment."
                ) from exc
            time.sleep(READ_RETRY_PAUSES_S[attempt])
    raise AssertionError("unreachable")


def write(db_path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work(connection)`` in one write transaction, committed when it returns, rolled back when it raises.
    ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy timeout), so the transaction never
    fails half way for a lock."""
    with connect(db_path, write=True) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            result = work(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return result


def rows(con: sqlite3.Connection, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    return con.execute(sql, tuple(params)).fetchall()


ColumnKind = Literal["text", "integer", "real"]
_ARROW_TYPES: dict[str, pa.DataType] = {"text": pa.string(), "integer": pa.int64(), "real": pa.float64()}


@dataclass(frozen=True)
class Column:
    """One column of :func:`arrow_table`: its name, its SQL expression and what it holds (NULL allowed)."""

    name: str
    expression: str
    kind: ColumnKind = "text"
    #: False where the schema says NOT NULL: SQLite then skips the NULL marker and count for this column.
    nullable: bool = True


def arrow_table(con: sqlite3.Connection, columns: Sequence[Column], source: str,
                params: Sequence[object] = ()) -> pa.Table:
    """``SELECT <columns> <source>`` as an Arrow table, in the order the rows come (an ``ORDER BY`` in
    ``source`` is kept). ``source`` is the ``FROM …`` part.

    SQLite joins each column into one text (``group_concat``, split by U+001E, NULL written as U+001F) that Arrow
    splits and converts again: no Python object per cell. Integers are exact as text; reals are written with 21
    significant digits, which give back the stored double where :func:`real_text_is_exact` says so (SQLite's
    shorter forms do not). A value holding either separator would shift the split, which the row and NULL counts
    SQLite reports catch: such a table, like every table where reals are not exact, is read row by row."""
    inner = ", ".join(f"{column.expression} AS c{i}" for i, column in enumerate(columns))
    if any(column.kind == "real" for column in columns) and not real_text_is_exact():
        return _rows_table(con, columns, f"SELECT {inner} {source}", params)
    texts = []
    for i, column in enumerate(columns):
        text = _as_text(f"c{i}", column.kind)
        texts.append(f"count(c{i}), group_concat(iif(c{i} IS NULL, char(31), {text}), char(30))" if column.nullable
                     else f"count(*), group_concat({text}, char(30))")
    try:
        found = con.execute(f"SELECT count(*), {', '.join(texts)} FROM (SELECT {inner} {source})",
                            tuple(params)).fetchone()
    except sqlite3.DataError:  # "string or blob too big": one column's text over SQLite's 1 GB limit
        return _rows_table(con, columns, f"SELECT {inner} {source}", params)
    total = found[0]
    if not total:
        return pa.table({c.name: pa.array([], _ARROW_TYPES[c.kind]) for c in columns})
    arrays = []
    for column, present, text in zip(columns, found[1::2], found[2::2], strict=True):
        values = pc.split_pattern(pa.array([text], pa.large_string()), "\x1e")[0].values
        missing = pc.equal(values, "\x1f") if column.nullable else None
        if len(values) != total or (missing is not None and pc.sum(missing).as_py() != total - present):
            return _rows_table(con, columns, f"SELECT {inner} {source}", params)
        if missing is not None:
            values = pc.if_else(missing, pa.scalar(None, pa.large_string()), values)
        arrays.append(values.cast(_ARROW_TYPES[column.kind]))
    return pa.table({column.name: array for column, array in zip(columns, arrays, strict=True)})


@functools.cache
def real_text_is_exact() -> bool:
    """Whether this SQLite's ``printf('%!.20e')`` gives back every double through Arrow's parser. True with
    80-bit or wider ``long double`` (checked on 4.3 million doubles of every exponent); a build where ``long
    double`` is a plain double fails on large exponents, and then reals are fetched as Python floats."""
    rng = np.random.default_rng(0)
    doubles = rng.integers(0, 2**63 - 1, size=2_000, dtype=np.int64).view(np.float64)
    doubles = np.concatenate([doubles[np.isfinite(doubles)], _HARD_DOUBLES])
    with contextlib.closing(sqlite3.connect(":memory:")) as con:
        con.execute("CREATE TABLE doubles (value REAL)")
        con.executemany("INSERT INTO doubles VALUES (?)", ((float(d),) for d in doubles))
        texts = [con.execute("SELECT group_concat(printf('%!.20e', value), char(30)) FROM doubles").fetchone()[0]]
    back = pc.cast(pc.split_pattern(pa.array(texts, pa.large_string()), "\x1e")[0].values, pa.float64())
    return bool(np.array_equal(back.to_numpy(), doubles))


#: Doubles SQLite's own shorter forms got wrong (15 and 17 digits), subnormals and the extremes.
_HARD_DOUBLES = np.array([
    1.0839415796096641e223, 2.2989234437749522e300, 1.2306631409107213e241, 1.0083147469113263e273,
    3.4694376975045502, 0.1 + 0.2, 1 / 3, 5e-324, 2.225073858507201e-308, 2.2250738585072014e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 97531.0, 0.0,
])


def _as_text(expression: str, kind: ColumnKind) -> str:
    if kind == "real":
        return f"printf('%!.20e', {expression})"
    if kind == "integer":
        return f"CAST({expression} AS TEXT)"
    return expression


def _rows_table(con: sqlite3.Connection, columns: Sequence[Column], sql: str, params: Sequence[object]) -> pa.Table:
    """The same table read row by row: slower, right for any value."""
    found = con.execute(sql, tuple(params)).fetchall()
    values = list(zip(*found)) if found else [()] * len(columns)
    return pa.table({c.name: pa.array(v, _ARROW_TYPES[c.kind]) for c, v in zip(columns, values, strict=True)})
