"""MLflow sqlite stores read directly: short read-only transactions, four long queries, one pivot.

``mlflow.search_runs`` materialises a Python object per run, param, metric and tag; at 10k runs that costs
seconds and a gigabyte. Reading MLflow's own tables into Arrow (:mod:`.sqlite_io`, the one SQLite library this
process uses on a store) returns the same table ~35× faster. The direct path is used only for schema revisions we
know (:mod:`.mlflow_revisions`); any other store is read with the MLflow client on a private copy, because
MLflow's client migrates an older store in place.
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
from lens_core.model import ArtifactRef, DatasetInput, Experiment, LoggedModel, RunDetail
from lens_core.paths import cache_dir, local_path_from_uri
from lens_core.trackers import sqlite_io
from lens_core.trackers.artifacts import (
    ArtifactCache,
    download_remote,
    list_local,
    list_remote,
)
from lens_core.trackers.base import Tracker
from lens_core.trackers.mlflow_revisions import DIRECT_READ_REVISIONS
from lens_core.trackers.runs_table import build_runs_table, sort_runs, to_utc_times

ReadMode = Literal["auto", "direct", "client"]
#: SQLite's bound-parameter limit is 32766 in current builds, 999 in old ones.
_ID_CHUNK = 900
#: MLflow's limits for tag keys and values (values were 5000 characters before MLflow 2.x).
_MAX_TAG_KEY, _MAX_TAG_VALUE = 250, 8000

_RUN_FILTER = "r.experiment_id = ? AND r.lifecycle_stage = 'active'"
_INFO_COLUMNS = (
    sqlite_io.Column("run_id", "r.run_uuid", nullable=False),
    sqlite_io.Column("run_name", "r.name"),
    sqlite_io.Column("experiment_id", "CAST(r.experiment_id AS TEXT)"),
    sqlite_io.Column("status", "r.status"),
    sqlite_io.Column("artifact_uri", "r.artifact_uri"),
    sqlite_io.Column("start_time", "r.start_time", "integer"),
    sqlite_io.Column("end_time", "r.end_time", "integer"),
)
_INFO_FROM = f"FROM runs r WHERE {_RUN_FILTER}"
#: Latest metrics in table order: ``+`` keeps SQLite from the run_uuid index, so rows come in rowid order with no
#: sort, the same order for the floats and for their ids.
_LATEST_COLUMNS = (
    sqlite_io.Column("run_id", "m.run_uuid", nullable=False),
    sqlite_io.Column("key", "m.key", nullable=False),
    sqlite_io.Column("value", "iif(m.is_nan, NULL, m.value)", "real"),
)
_LATEST_FROM = f"FROM latest_metrics m JOIN runs r ON r.run_uuid = m.run_uuid WHERE {_RUN_FILTER}"
_PARAMS_COLUMNS = (
    sqlite_io.Column("run_id", "p.run_uuid", nullable=False),
    sqlite_io.Column("key", "p.key", nullable=False),
    sqlite_io.Column("value", "p.value", nullable=False),
)
_TAGS_COLUMNS = (
    sqlite_io.Column("run_id", "t.run_uuid", nullable=False),
    sqlite_io.Column("key", "t.key", nullable=False),
    sqlite_io.Column("value", "t.value"),
)
_HISTORY_COLUMNS = (
    sqlite_io.Column("run_id", "run_uuid", nullable=False),
    sqlite_io.Column("key", "key", nullable=False),
    sqlite_io.Column("step", "step", "integer", nullable=False),
    sqlite_io.Column("timestamp", "timestamp", "integer", nullable=False),
    sqlite_io.Column("value", "iif(is_nan, NULL, value)", "real"),
)
_EXTREMES_COLUMNS = (
    sqlite_io.Column("run_id", "m.run_uuid", nullable=False),
    sqlite_io.Column("key", "m.key", nullable=False),
    sqlite_io.Column("min", "min(iif(m.is_nan, NULL, m.value))", "real"),
    sqlite_io.Column("max", "max(iif(m.is_nan, NULL, m.value))", "real"),
)
_PARAMS_FROM = f"FROM params p JOIN runs r ON r.run_uuid = p.run_uuid WHERE {_RUN_FILTER}"
_TAGS_FROM = f"FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid WHERE {_RUN_FILTER}"
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


def _records(con: sqlite3.Connection, sql: str, params: Sequence[object]) -> pd.DataFrame:
    cursor = con.execute(sql, tuple(params))
    return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def _run_info(con: sqlite3.Connection, params: Sequence[object]) -> pd.DataFrame:
    """The runs' attribute columns (INFO_COLUMNS, times as epoch milliseconds) in MLflow's order."""
    return sort_runs(sqlite_io.arrow_table(con, _INFO_COLUMNS, _INFO_FROM, params).to_pandas())


class SqliteTracker(Tracker):
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
        self._cache = ArtifactCache()
        self._fallback: tuple[Hashable, Tracker] | None = None
        self._columns: dict[str, set[str]] = {}

    # ---- reading ----------------------------------------------------------------------------------------------
    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in one short read transaction: MLflow's writers wait while we read."""
        return sqlite_io.read(self.db_path, work)

    def _frames(self, queries: Sequence[tuple[str, Sequence[object]]]) -> list[pd.DataFrame]:
        """Run queries in one read transaction (one consistent snapshot)."""
        return self._read(lambda con: [_records(con, sql, params) for sql, params in queries])

    def _table_columns(self, table: str) -> set[str]:
        if table not in self._columns:
            found = self._read(lambda con: con.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall())
            self._columns[table] = {r[0] for r in found}
        return self._columns[table]

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

    def experiments(self) -> list[Experiment]:
        if not self.direct:
            return self._client_tracker().experiments()
        has_created = "creation_time" in self._table_columns("experiments")
        created = "creation_time" if has_created else "NULL"
        sql = f"""SELECT CAST(experiment_id AS TEXT) AS experiment_id, name, artifact_location,
                  {created} AS creation_time FROM experiments WHERE lifecycle_stage = 'active'
                  ORDER BY experiment_id"""
        tags_sql = "SELECT CAST(experiment_id AS TEXT) AS experiment_id, key, value FROM experiment_tags"
        queries: list[tuple[str, Sequence[object]]] = [(sql, ())]
        has_tags = bool(self._table_columns("experiment_tags"))
        if has_tags:
            queries.append((tags_sql, ()))
        frames = self._frames(queries)
        tags: dict[str, dict[str, str]] = {}
        if has_tags:
            for exp_id, key, value in frames[1].itertuples(index=False):
                tags.setdefault(exp_id, {})[key] = value
        created_at = to_utc_times(frames[0]["creation_time"])
        return [
            Experiment(
                experiment_id=row.experiment_id,
                name=row.name,
                artifact_location=row.artifact_location or "",
                creation_time=None if pd.isna(created_at[i]) else created_at[i],
                tags=tags.get(row.experiment_id, {}),
            )
            for i, row in enumerate(frames[0].itertuples(index=False))
        ]

    def _load_runs(self, experiment_id: str) -> pd.DataFrame:
        if not self.direct:
            return self._client_tracker().runs(experiment_id)
        key = (int(experiment_id),)
        # Two connections read at once (SQLite's aggregation and Arrow's parsing release the GIL). Long-table rows
        # of runs created between the reads are dropped by the pivot, which keys on info.
        with ThreadPoolExecutor(1) as pool:
            texts = pool.submit(self._read, lambda con: (
                _run_info(con, key),
                sqlite_io.arrow_table(con, _PARAMS_COLUMNS, _PARAMS_FROM, key),
                sqlite_io.arrow_table(con, _TAGS_COLUMNS, _TAGS_FROM, key),
            ))
            metrics = self._read(lambda con: sqlite_io.arrow_table(con, _LATEST_COLUMNS, _LATEST_FROM, key))
            info, params, tags = texts.result()
        return build_runs_table(info, metrics, params, tags)

    def _check_experiment(self, experiment_id: str) -> None:
        if not experiment_id.isdigit():
            super()._check_experiment(experiment_id)  # raises the clear message
        if self.direct:
            row = self._read(lambda con: con.execute(
                "SELECT 1 FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'active'",
                (int(experiment_id),),
            ).fetchone())
            if row is None:
                super()._check_experiment(experiment_id)

    def _load_history(self, run_ids: list[str], keys: list[str] | None) -> pd.DataFrame:
        if not self.direct:
            return self._client_tracker().metric_history(run_ids, keys)
        tables = []
        for start in range(0, len(run_ids), _ID_CHUNK):
            chunk = run_ids[start : start + _ID_CHUNK]
            source = f"FROM metrics WHERE run_uuid IN ({', '.join('?' * len(chunk))})"
            params: list[object] = list(chunk)
            if keys is not None:
                source += f" AND key IN ({', '.join('?' * len(keys))})"
                params += keys
            tables.append(self._read(
                lambda con, source=source, params=params: sqlite_io.arrow_table(con, _HISTORY_COLUMNS, source, params)
            ))
        return pa.concat_tables(tables).to_pandas()

    def _load_extremes(self, experiment_id: str) -> pd.DataFrame:
        if not self.direct:
            return self._client_tracker().metric_extremes(experiment_id)
        source = f"FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid WHERE {_RUN_FILTER} GROUP BY m.run_uuid, m.key"
        params = (int(experiment_id),)
        return self._read(lambda con: sqlite_io.arrow_table(con, _EXTREMES_COLUMNS, source, params)).to_pandas()

    def run(self, run_id: str) -> RunDetail:
        if not self.direct:
            return self._client_tracker().run(run_id)
        info_sql = """SELECT run_uuid AS run_id, name AS run_name, CAST(experiment_id AS TEXT) AS experiment_id,
                      status, artifact_uri, start_time, end_time, user_id, lifecycle_stage
                      FROM runs WHERE run_uuid = ?"""
        queries: list[tuple[str, Sequence[object]]] = [
            (info_sql, (run_id,)),
            ("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)),
            ("SELECT key, iif(is_nan, NULL, value) AS value FROM latest_metrics WHERE run_uuid = ?", (run_id,)),
            ("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)),
            ("""SELECT t.run_uuid FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid
                WHERE t.key = 'mlflow.parentRunId' AND t.value = ? AND r.lifecycle_stage = 'active'
                ORDER BY r.start_time""", (run_id,)),
        ]
        has_inputs = bool(self._table_columns("inputs")) and bool(self._table_columns("input_tags"))
        if has_inputs:
            queries.append((
                """SELECT d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema,
                          d.dataset_profile, COALESCE(it.value, '') AS context
                   FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
                   LEFT JOIN input_tags it ON it.input_uuid = i.input_uuid AND it.name = 'mlflow.data.context'
                   WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = ?
                   ORDER BY d.name""",
                (run_id,),
            ))
        frames = self._frames(queries)
        info = frames[0]
        if info.empty:
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.uri}.")
        row = info.iloc[0]
        tags = dict(frames[3].itertuples(index=False))
        inputs = ()
        if has_inputs:
            inputs = tuple(
                DatasetInput(name=n, digest=d, source_type=st, source=s, schema=sc or "", profile=p or "", context=c)
                for n, d, st, s, sc, p, c in frames[5].itertuples(index=False)
            )
        times = to_utc_times([row["start_time"], row["end_time"]])
        return RunDetail(
            run_id=row["run_id"],
            experiment_id=row["experiment_id"],
            run_name=(row["run_name"] if isinstance(row["run_name"], str) else None) or tags.get("mlflow.runName", ""),
            status=row["status"],
            start_time=None if pd.isna(times[0]) else times[0],
            end_time=None if pd.isna(times[1]) else times[1],
            user_id=row["user_id"] if isinstance(row["user_id"], str) else tags.get("mlflow.user", ""),
            artifact_uri=row["artifact_uri"] or "",
            lifecycle_stage=row["lifecycle_stage"],
            params=dict(frames[1].itertuples(index=False)),
            metrics={k: float("nan") if v is None else float(v) for k, v in frames[2].itertuples(index=False)},
            tags=tags,
            inputs=inputs,
            child_run_ids=tuple(frames[4]["run_uuid"]),
        )

    def logged_models(self, run_id: str) -> tuple[LoggedModel, ...]:
        if not self.direct:
            return self._client_tracker().logged_models(run_id)
        if not self._table_columns("logged_models"):
            return ()  # MLflow 2 stores have no logged models
        outputs = ""
        if self._table_columns("inputs"):  # MLflow 3 records a run's models as its outputs, too
            outputs = ("OR model_id IN (SELECT destination_id FROM inputs WHERE source_type = 'RUN_OUTPUT' "
                       "AND source_id = ? AND destination_type = 'MODEL_OUTPUT')")
        sql = ("SELECT model_id, name, artifact_location FROM logged_models WHERE (source_run_id = ? "
               f"{outputs}) AND (lifecycle_stage IS NULL OR lifecycle_stage != 'deleted') "
               "ORDER BY creation_timestamp_ms DESC")
        rows = self._read(lambda con: con.execute(sql, (run_id, run_id) if outputs else (run_id,)).fetchall())
        return tuple(LoggedModel(str(model_id), str(name or ""), str(location or ""))
                     for model_id, name, location in rows)

    # ---- artifacts --------------------------------------------------------------------------------------------
    def _artifact_root(self, run_id: str) -> tuple[str, Path | None]:
        sql = "SELECT artifact_uri FROM runs WHERE run_uuid = ?"
        row = self._read(lambda con: con.execute(sql, (run_id,)).fetchone())
        if row is None:
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.uri}.")
        uri = row[0] or ""
        local = local_path_from_uri(uri)
        if local is not None and not local.is_absolute():
            local = self.db_path.parent / local
        if local is None:  # a server's proxied artifacts: its --artifacts-destination folder, when it is here
            from lens_core.trackers import artifacts as arts

            if arts.is_mlflow_artifacts(uri):
                local = arts.mlflow_artifacts_local(uri, arts.artifacts_destinations(self, self.db_path.parent))
                if local is None:
                    raise arts.server_kept_error()
        return uri, local

    def artifacts(self, run_id: str, path: str = "") -> list[ArtifactRef]:
        from lens_core.trackers.artifacts import check_artifact_path

        check_artifact_path(path)
        uri, local = self._artifact_root(run_id)
        if local is not None:
            return list_local(local, path)
        return list_remote(uri, path, self.uri)

    def fetch_artifact(self, run_id: str, path: str) -> Path:
        from lens_core.trackers.artifacts import check_artifact_path, fetch_local

        check_artifact_path(path)
        uri, local = self._artifact_root(run_id)
        if local is None:
            return download_remote(uri, path, self.uri, self._cache)
        return fetch_local(local, path, run_id)

    # ---- writing ----------------------------------------------------------------------------------------------
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Upsert run tags with one short write transaction (last write wins, other tags untouched)."""
        rows = []
        for key, value in tags.items():
            key, value = str(key), str(value)
            if not key or len(key) > _MAX_TAG_KEY:
                raise TrackerWriteError(f"Tag key {key[:40]!r} must have 1–{_MAX_TAG_KEY} characters.")
            if len(value) > _MAX_TAG_VALUE:
                raise TrackerWriteError(
                    f"Tag {key!r} is {len(value)} characters long; MLflow keeps at most {_MAX_TAG_VALUE}.")
            rows.append((key, value, run_id))

        def upsert(con: sqlite3.Connection) -> None:
            if con.execute("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(f"No run with id {run_id!r} in {self.uri}.")
            con.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?) "
                "ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
                rows,
            )

        try:
            sqlite_io.write(self.db_path, upsert)
        except sqlite3.OperationalError as exc:
            raise TrackerWriteError(
                f"Could not save tags to {self.db_path}: {exc}. The file may be read-only or locked by a long "
                "write; try again in a moment."
            ) from exc
        self.forget()
