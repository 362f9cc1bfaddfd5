"""MLflow sqlite stores read directly: short read-only transactions, four long queries, one pivot.

The queries and the pivot are :mod:`.mlflow_sql`'s; this module opens the file through :mod:`.sqlite_io` (the one
SQLite library this process uses on a store). A store at a schema revision we do not read directly is read with
the MLflow client on a private copy, because MLflow's client migrates an older store in place.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
import pyarrow as pa

from lens_core.errors import (
    RunNotFoundError,
    TrackerNotFoundError,
    TrackerWriteError,
    UnsupportedStoreError,
)
from lens_core.paths import cache_dir
from lens_core.trackers import sqlite_io
from lens_core.trackers.base import Tracker
from lens_core.trackers.mlflow_revisions import DIRECT_READ_REVISIONS
from lens_core.trackers.mlflow_sql import (
    LATEST_COLUMNS,
    LATEST_FROM,
    PARAMS_COLUMNS,
    PARAMS_FROM,
    TAGS_COLUMNS,
    TAGS_FROM,
    MlflowSqlTracker,
    run_info,
)

ReadMode = Literal["auto", "direct", "client"]
#: MLflow's limits for tag keys and values (values were 5000 characters before MLflow 2.x).
_MAX_TAG_KEY, _MAX_TAG_VALUE = 250, 8000
T = TypeVar("T")


def read_revision(db_path: Path) -> str:
    """The store's alembic revision; raises TrackerNotFoundError when the file is no MLflow store."""
    try:
        row = sqlite_io.read(db_path, lambda con: con.execute("SELECT version_num FROM alembic_version").fetchone())
    except sqlite3.DatabaseError as exc:
        raise TrackerNotFoundError(
            f"{db_path} is not an MLflow tracking database ({exc}). Point the tracking URI at the mlflow.db "
            "file your team logs to, e.g. sqlite:////path/to/mlflow.db."
        ) from exc
    if row is None:
        raise TrackerNotFoundError(f"{db_path} has an empty alembic_version table: it is not a usable MLflow store.")
    return str(row[0])


class _Session:
    """A :class:`~lens_core.trackers.mlflow_sql.SqlSession` on a sqlite3 connection."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, tuple(params)).fetchall()

    def frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        cursor = self.con.execute(sql, tuple(params))
        return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    def arrow(self, columns: Sequence[sqlite_io.Column], source: str, params: Sequence[object] = ()) -> pa.Table:
        return sqlite_io.arrow_table(self.con, columns, source, params)


class SqliteTracker(MlflowSqlTracker):
    """An MLflow sqlite store. ``mode="auto"`` reads known schema revisions directly, others via the client."""

    kind = "sqlite"

    def __init__(self, db_path: Path, *, mode: ReadMode = "auto", **options: Any) -> None:
        db_path = Path(db_path).expanduser().resolve()
        if not db_path.is_file():
            raise TrackerNotFoundError(
                f"No MLflow database at {db_path}. Check the path in MLFLOW_TRACKING_URI / tracking_uri "
                "(sqlite:////absolute/path/mlflow.db has four slashes)."
            )
        super().__init__(f"sqlite:///{db_path}", **options)
        self.db_path = db_path
        self.revision = read_revision(db_path)
        self.direct = mode == "direct" or (mode == "auto" and self.revision in DIRECT_READ_REVISIONS)
        self._fallback: tuple[Hashable, Tracker] | None = None

    # ---- reading ----------------------------------------------------------------------------------------------
    COLUMNS_SQL = "SELECT name FROM pragma_table_info(?)"

    def _read(self, work: Callable[[_Session], T]) -> T:
        """``work`` in one short read transaction: MLflow's writers wait while we read."""
        return sqlite_io.read(self.db_path, lambda con: work(_Session(con)))

    def _artifact_base(self) -> Path:
        return self.db_path.parent

    def change_token(self, experiment_id: str) -> Hashable:
        stats = []
        for suffix in ("", "-wal"):
            try:
                st = Path(f"{self.db_path}{suffix}").stat()
                stats.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stats.append(None)
        return tuple(stats)

    def _client_tracker(self) -> Tracker:
        """The MLflow client on a private copy of the store, refreshed when the original changes."""
        from lens_core.trackers.mlflow_client import MlflowClientTracker

        token = self.change_token("")
        if self._fallback is None or self._fallback[0] != token:
            copy_dir = cache_dir() / "store-copies" / self.db_path.as_posix().strip("/").replace("/", "_")
            copy_dir.mkdir(parents=True, exist_ok=True)
            copy = copy_dir / "mlflow.db"
            with sqlite_io.connect(self.db_path) as src, sqlite_io.connect(copy, write=True, create=True) as dst:
                src.backup(dst)  # a consistent snapshot even while someone logs
            try:
                tracker = MlflowClientTracker(f"sqlite:///{copy}", ttl_seconds=self._ttl_seconds)
                tracker.experiments()
            except Exception as exc:
                raise UnsupportedStoreError(
                    f"{self.db_path} has schema revision {self.revision}, which this MLflow cannot read ({exc}). "
                    "It was probably written by a newer MLflow: upgrade mlflow in this environment."
                ) from exc
            self._fallback = (token, tracker)
        return self._fallback[1]

    def _long_tables(self, key: tuple[int]) -> tuple[pd.DataFrame, pa.Table, pa.Table, pa.Table]:
        # Two connections read at once (SQLite's aggregation and Arrow's parsing release the GIL). Long-table rows
        # of runs created between the reads are dropped by the pivot, which keys on info.
        with ThreadPoolExecutor(1) as pool:
            texts = pool.submit(self._read, lambda s: (
                run_info(s, key),
                s.arrow(PARAMS_COLUMNS, PARAMS_FROM, key),
                s.arrow(TAGS_COLUMNS, TAGS_FROM, key),
            ))
            metrics = self._read(lambda s: s.arrow(LATEST_COLUMNS, LATEST_FROM, key))
            info, params, tags = texts.result()
        return info, metrics, params, tags

    # ---- writing ----------------------------------------------------------------------------------------------
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Upsert run tags with one short write transaction (last write wins, other tags untouched)."""
        rows = [(key, value, run_id) for key, value in _checked_tags(tags)]

        def upsert(con: sqlite3.Connection) -> None:
            if con.execute("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(f"No run with id {run_id!r} in {self.uri}.")
            con.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?) "
                "ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
                rows,
            )

        self._write(upsert)

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """Upsert experiment tags in one short write transaction, as MLflow's ``set_experiment_tag`` does."""
        self.experiment(experiment_id)  # an unknown or deleted experiment says so
        rows = [(key, value, int(experiment_id)) for key, value in _checked_tags(tags)]

        def upsert(con: sqlite3.Connection) -> None:
            con.executemany(
                "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?) "
                "ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value",
                rows,
            )

        self._write(upsert)

    def _write(self, work: Callable[[sqlite3.Connection], None]) -> None:
        try:
            sqlite_io.write(self.db_path, work)
        except sqlite3.OperationalError as exc:
            raise TrackerWriteError(
                f"Could not save tags to {self.db_path}: {exc}. The file may be read-only or locked by a long "
                "write; try again in a moment."
            ) from exc
        self.forget()


def _checked_tags(tags: Mapping[str, str]) -> list[tuple[str, str]]:
    """Tags as MLflow would accept them, else a message naming the tag."""
    rows = []
    for key, value in tags.items():
        key, value = str(key), str(value)
        if not key or len(key) > _MAX_TAG_KEY:
            raise TrackerWriteError(f"Tag key {key[:40]!r} must have 1–{_MAX_TAG_KEY} characters.")
        if len(value) > _MAX_TAG_VALUE:
            raise TrackerWriteError(
                f"Tag {key!r} is {len(value)} characters long; MLflow keeps at most {_MAX_TAG_VALUE}.")
        rows.append((key, value))
    return rows
