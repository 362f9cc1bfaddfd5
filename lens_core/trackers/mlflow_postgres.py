"""MLflow tracking stores in PostgreSQL read directly, the way :mod:`.mlflow_sqlite` reads sqlite stores.

The queries and the pivot are :mod:`.mlflow_sql`'s. Reads go through ADBC's PostgreSQL driver
(``adbc-driver-postgresql``), which hands results over as Arrow: on a 10k-run store the four long tables of an
experiment arrived in 0.17–0.28 s, against 0.25–0.6 s for psycopg 3's ``COPY … TO STDOUT`` parsed by Arrow and
0.75–0.8 s for psycopg's row fetch, with ~60 MB less peak memory (``benchmarks/bench_postgres.py``).

Read-only by construction: every connection sets ``default_transaction_read_only``, every read is one
``REPEATABLE READ READ ONLY`` transaction (one snapshot for the queries of a runs table), and a role with
``SELECT`` on MLflow's tables is all it needs. Connections time out after :data:`CONNECT_TIMEOUT_S`, statements
after :data:`STATEMENT_TIMEOUT_MS`, lock waits after :data:`LOCK_TIMEOUT_MS`; faults become LensErrors here.
Writes (ratings) and stores at schema revisions we do not read directly go through MLflow's own client, which
speaks to PostgreSQL with psycopg 3 (``postgresql+psycopg://``).
"""
from __future__ import annotations

import contextlib
import importlib.util
import re
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from lens_core.errors import (
    LensError,
    StoreBusyError,
    StoreDamagedError,
    TrackerAuthError,
    TrackerNotFoundError,
    TrackerUnreachableError,
    TrackerWriteError,
    UnsupportedStoreError,
)
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
from lens_core.trackers.sqlite_io import Column

#: URI schemes read here: SQLAlchemy's spellings of PostgreSQL, with or without a driver.
SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 5_000
#: A read left open (a crashed thread) is ended by the server after this long.
IDLE_IN_TRANSACTION_MS = 60_000
#: Idle connections kept for the next read (a connection costs a round trip or a TLS handshake).
POOL_SIZE = 4
#: A snapshot id as ``pg_export_snapshot()`` writes it (``00000003-0000001B-1``): checked before it is spliced
#: into ``SET TRANSACTION SNAPSHOT``, which takes no bound parameter.
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")
#: Second connections reading a share of a runs table in the first one's snapshot.
_HELPERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lens-pg-read")
_TYPES: dict[str, pa.DataType] = {"text": pa.string(), "integer": pa.int64(), "real": pa.float64()}
_PLACEHOLDER = re.compile(r"\?")
ReadMode = Literal["auto", "direct", "client"]
T = TypeVar("T")


def is_postgres_uri(uri: str) -> bool:
    return urlsplit(uri).scheme.lower().split("+")[0] in SCHEMES


def libpq_uri(uri: str) -> str:
    """The tracking URI as libpq reads it: no SQLAlchemy driver suffix, our timeouts and read-only defaults
    added (a ``connect_timeout`` or ``options`` in the URI are kept; ours are appended to ``options``)."""
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    query.setdefault("application_name", "experimentlens")
    ours = (f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS} "
            f"-c lock_timeout={LOCK_TIMEOUT_MS} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}")
    query["options"] = f"{query['options']} {ours}" if query.get("options") else ours
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query, quote_via=quote), ""))


def client_uri(uri: str) -> str:
    """The tracking URI for MLflow's client (SQLAlchemy): psycopg 3 unless the URI names a driver that is here
    (``postgresql://`` means psycopg2 to SQLAlchemy, which ExperimentLens does not install)."""
    parts = urlsplit(uri)
    driver = parts.scheme.lower().partition("+")[2]
    if driver and (driver != "psycopg2" or importlib.util.find_spec("psycopg2") is not None):
        return uri
    if not driver and importlib.util.find_spec("psycopg2") is not None:
        return uri
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def where(uri: str) -> str:
    """host:port/database of a PostgreSQL URI, for messages (never the user or password)."""
    parts = urlsplit(uri)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 5432}/{unquote(parts.path.lstrip('/')) or '(default database)'}"


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …`` (our SQL has no ``?`` in literals)."""
    count = iter(range(1, 1 << 16))
    return _PLACEHOLDER.sub(lambda _: f"${next(count)}", sql)


class _Session:
    """A :class:`~lens_core.trackers.mlflow_sql.SqlSession` on an ADBC cursor inside a read transaction."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def _execute(self, sql: str, params: Sequence[object]) -> None:
        self.cursor.execute(_numbered(sql), tuple(params) if params else None)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        self._execute(sql, params)
        return self.cursor.fetchall()

    def frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        found = self.rows(sql, params)
        return pd.DataFrame.from_records(found, columns=[d[0] for d in self.cursor.description])

    def arrow(self, columns: Sequence[Column], source: str, params: Sequence[object] = ()) -> pa.Table:
        inner = ", ".join(f"{c.expression} AS c{i}" for i, c in enumerate(columns))
        self._execute(f"SELECT {inner} {source}", params)
        table = self.cursor.fetch_arrow_table()
        return table.rename_columns([c.name for c in columns]).cast(
            pa.schema([pa.field(c.name, _TYPES[c.kind]) for c in columns]))


class _NotShared(Exception):
    """The read transaction could not export its snapshot."""


class PostgresTracker(MlflowSqlTracker):
    """An MLflow tracking store in PostgreSQL. ``mode="auto"`` reads known schema revisions directly, others
    through MLflow's client; ``mode="client"`` always uses the client."""

    kind = "postgresql"
    COLUMNS_SQL = ("SELECT column_name FROM information_schema.columns "
                   "WHERE table_schema = current_schema() AND table_name = ?")

    def __init__(self, uri: str, *, mode: ReadMode = "auto", **options: Any) -> None:
        super().__init__(uri, **options)
        self.where = where(uri)
        self._dsn = libpq_uri(uri)
        self._pool: list[Any] = []
        self._pool_lock = threading.Lock()
        self._client: Tracker | None = None
        self.revision = self._read_revision()
        self.direct = mode == "direct" or (mode == "auto" and self.revision in DIRECT_READ_REVISIONS)

    # ---- connections ------------------------------------------------------------------------------------------
    def _connect(self) -> Any:
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError as exc:  # a declared dependency; an environment may still lack it
            raise UnsupportedStoreError(
                "Reading PostgreSQL directly needs adbc-driver-postgresql: pip install adbc-driver-postgresql "
                "(or open the store with mode='client')."
            ) from exc
        return adbc.connect(self._dsn, autocommit=True)  # we say where transactions begin and end

    @contextmanager
    def _connection(self) -> Iterator[tuple[Any, bool]]:
        """A connection (and whether it was pooled); back to the pool when the block succeeds, else closed."""
        with self._pool_lock:
            con = self._pool.pop() if self._pool else None
        pooled = con is not None
        if con is None:
            con = self._connect()
        try:
            yield con, pooled
        except BaseException:
            _close(con)
            raise
        with self._pool_lock:
            if len(self._pool) < POOL_SIZE:
                self._pool.append(con)
                return
        _close(con)

    def close(self) -> None:
        """Close the pooled connections (they are reopened on the next read)."""
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for con in pool:
            _close(con)

    def _read(self, work: Callable[[_Session], T]) -> T:
        """``work`` in one ``REPEATABLE READ READ ONLY`` transaction. A pooled connection the server dropped (a
        restart) is replaced once; faults leave as LensErrors."""
        for attempt in (0, 1):
            pooled = False
            try:
                with self._connection() as (con, pooled), con.cursor() as cursor:
                    cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    try:
                        result = work(_Session(cursor))
                    except BaseException:
                        cursor.execute("ROLLBACK")
                        raise
                    cursor.execute("COMMIT")
                    return result
            except LensError:
                raise
            except Exception as exc:
                fault = self._fault(exc)
                if attempt == 0 and pooled and isinstance(fault, TrackerUnreachableError):
                    self.close()  # the server closed idle connections (a restart: all of them)
                    continue  # a new one tells whether it is up
                if fault is None:
                    raise
                raise fault from exc
        raise AssertionError("unreachable")

    def _long_tables(self, key: tuple[int]) -> tuple[pd.DataFrame, pa.Table, pa.Table, pa.Table]:
        """As :meth:`MlflowSqlTracker._long_tables`, with the params (the largest table) read on a second
        connection in the same snapshot (exported by the first transaction) while the first reads the rest: on
        10k runs 0.13–0.17 s instead of 0.25 s. When the snapshot cannot be shared (a server that refuses
        ``pg_export_snapshot``) the first connection reads everything, as for sqlite."""
        def work(s: _Session) -> tuple[pd.DataFrame, pa.Table, pa.Table, pa.Table]:
            try:
                [(snapshot,)] = s.rows("SELECT pg_export_snapshot()")
            except Exception as exc:  # noqa: BLE001 - the transaction is now aborted: start over without sharing
                raise _NotShared from exc
            params: Future[pa.Table] = _HELPERS.submit(self._arrow_in_snapshot, str(snapshot), PARAMS_COLUMNS,
                                                       PARAMS_FROM, key)
            info = run_info(s, key)
            latest, tags = s.arrow(LATEST_COLUMNS, LATEST_FROM, key), s.arrow(TAGS_COLUMNS, TAGS_FROM, key)
            try:
                shared = params.result()
            except Exception:  # noqa: BLE001 - no second connection, or the snapshot refused there: read it here
                shared = s.arrow(PARAMS_COLUMNS, PARAMS_FROM, key)
            return info, latest, shared, tags

        try:
            return self._read(work)
        except _NotShared:
            return super()._long_tables(key)

    def _arrow_in_snapshot(self, snapshot: str, columns: Sequence[Column], source: str,
                           params: Sequence[object]) -> pa.Table:
        """One query on a connection of its own, in the exported ``snapshot`` (the same rows the exporting
        transaction sees, however the store changes meanwhile)."""
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        with self._connection() as (con, _), con.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                return _Session(cursor).arrow(columns, source, params)
            finally:
                cursor.execute("ROLLBACK")

    def _read_revision(self) -> str:
        try:
            found = self._read(lambda s: s.rows("SELECT version_num FROM alembic_version"))
        except StoreDamagedError as exc:
            raise TrackerNotFoundError(
                f"The database {self.where} holds no MLflow tracking store (no alembic_version table). Point the "
                "tracking URI at the database your MLflow server's --backend-store-uri names."
            ) from exc
        if not found:
            raise TrackerNotFoundError(f"The database {self.where} has an empty alembic_version table: it is not a "
                                       "usable MLflow store.")
        return str(found[0][0])

    def _fault(self, exc: BaseException) -> LensError | None:
        """A driver error as the LensError it stands for, or None when it is none we know."""
        state = str(getattr(exc, "sqlstate", "") or "")
        low = str(exc).lower()
        server = f"The PostgreSQL server at {self.where}"
        if state.startswith("28") or "password authentication failed" in low or "no password supplied" in low:
            return TrackerAuthError(f"{server} refused the login. Check the user and password in the tracking URI "
                                    "(or PGPASSWORD / ~/.pgpass).")
        if state == "42501" or "permission denied" in low:
            return TrackerAuthError(f"{server} does not let this role read MLflow's tables. A read-only role is "
                                    "enough: GRANT SELECT ON ALL TABLES IN SCHEMA public TO <role>.")
        if state == "3D000" or ("database" in low and "does not exist" in low):
            return TrackerNotFoundError(f"{server} has no such database. Check the database name in the tracking "
                                        "URI.")
        if state == "42P01" or ("relation" in low and "does not exist" in low):
            return StoreDamagedError(f"The database {self.where} is no longer an MLflow store: MLflow's tables are "
                                     "missing. Point the tracking URI at the database your MLflow server uses.")
        if state == "55P03" or "lock timeout" in low:
            return StoreBusyError(f"{server} kept MLflow's tables locked for over {LOCK_TIMEOUT_MS // 1000} s (a "
                                  "schema upgrade?). Nothing was changed; try again in a moment.")
        if state == "57014" or "statement timeout" in low:
            return TrackerUnreachableError(f"{server} did not finish a read within {STATEMENT_TIMEOUT_MS // 1000} "
                                           "s: it may be overloaded. Try again in a moment.")
        if state.startswith(("08", "57P")) or any(sign in low for sign in _CONNECTION_FAULTS):
            reason = ("connection refused" if "refused" in low else "unknown host" if "translate host" in low
                      else f"nothing within {CONNECT_TIMEOUT_S} s" if "timeout" in low else "connection lost")
            return TrackerUnreachableError(f"{server} does not answer ({reason}). Check that it is running and "
                                           "reachable, then try again.")
        return None

    # ---- the store --------------------------------------------------------------------------------------------
    def change_token(self, experiment_id: str) -> Hashable:
        """The server's transaction snapshot (``xmin:xmax:in-progress``): it changes whenever a write commits
        anywhere on the server, so an unchanged one means nothing we read can have changed."""
        return self._read(lambda s: s.rows("SELECT pg_current_snapshot()::text"))[0][0]

    def _client_tracker(self) -> Tracker:
        """MLflow's client on this store (it checks the schema revision and migrates nothing it did not create)."""
        if self._client is None:
            from lens_core.trackers.mlflow_client import MlflowClientTracker

            try:
                tracker = MlflowClientTracker(client_uri(self.uri), ttl_seconds=self._ttl_seconds)
                tracker.experiments()
            except LensError:
                raise
            except Exception as exc:
                raise UnsupportedStoreError(
                    f"The store at {self.where} has schema revision {self.revision}, which this MLflow cannot "
                    f"read ({type(exc).__name__}). Upgrade mlflow in this environment to the version your server "
                    "runs (or run `mlflow db upgrade` on an older store)."
                ) from exc
            self._client = tracker
        return self._client

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Through MLflow's client, with the tracking URI's role: ratings need INSERT and UPDATE on ``tags``."""
        self._client_write(lambda client: client.set_tags(run_id, tags))

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """Through MLflow's client: needs INSERT and UPDATE on ``experiment_tags``."""
        self._client_write(lambda client: client.set_experiment_tags(experiment_id, tags))

    def _client_write(self, write: Callable[[Tracker], None]) -> None:
        try:
            write(self._client_tracker())
        except TrackerWriteError as exc:
            low = str(exc).lower()
            if "permission denied" in low or "read-only" in low or "read only" in low:
                raise TrackerWriteError(
                    f"The role in the tracking URI may only read {self.where}, so ratings and notes cannot be "
                    "saved. Use a role with INSERT and UPDATE on MLflow's tags table to save them."
                ) from exc
            raise
        finally:
            self.forget()


_CONNECTION_FAULTS = ("failed to connect", "could not connect", "connection refused", "server closed the connection",
                      "terminating connection", "no connection to the server", "timeout expired",
                      "could not translate host", "connection to server", "ssl syscall")


def _close(con: Any) -> None:
    with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
        con.close()
