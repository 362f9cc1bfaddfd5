"""MLflow's SQL schema read directly: the queries and the pivot the sqlite and PostgreSQL readers share.

``mlflow.search_runs`` materialises a Python object per run, param, metric and tag; at 10k runs that costs
seconds and a gigabyte. Reading MLflow's own tables into Arrow returns the same table 30–60× faster. Each store
kind says how it opens a read transaction (:meth:`MlflowSqlTracker._read`, handing ``work`` a
:class:`SqlSession`); the SQL below is the same for both (``?`` placeholders, no dialect functions). The direct
path is used only for schema revisions we know (:mod:`.mlflow_revisions`); other stores go through MLflow's client.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pandas as pd
import pyarrow as pa

from lens_core.errors import RunNotFoundError
from lens_core.model import ArtifactRef, DatasetInput, Experiment, LoggedModel, RunDetail
from lens_core.paths import local_path_from_uri
from lens_core.trackers.artifacts import ArtifactCache, download_remote, list_local, list_remote
from lens_core.trackers.base import Tracker
from lens_core.trackers.runs_table import build_runs_table, sort_runs, to_utc_times
from lens_core.trackers.sqlite_io import Column

#: Bound parameters per history query (SQLite's limit is 32766 in current builds, 999 in old ones).
ID_CHUNK = 900
#: A metric value as MLflow means it: SQL stores keep NaN as 0 with is_nan set.
_VALUE = "CASE WHEN {t}is_nan THEN NULL ELSE {t}value END"

RUN_FILTER = "r.experiment_id = ? AND r.lifecycle_stage = 'active'"
INFO_COLUMNS = (
    Column("run_id", "r.run_uuid", nullable=False),
    Column("run_name", "r.name"),
    Column("experiment_id", "CAST(r.experiment_id AS TEXT)"),
    Column("status", "r.status"),
    Column("artifact_uri", "r.artifact_uri"),
    Column("start_time", "r.start_time", "integer"),
    Column("end_time", "r.end_time", "integer"),
)
INFO_FROM = f"FROM runs r WHERE {RUN_FILTER}"
LATEST_COLUMNS = (
    Column("run_id", "m.run_uuid", nullable=False),
    Column("key", "m.key", nullable=False),
    Column("value", _VALUE.format(t="m."), "real"),
)
LATEST_FROM = f"FROM latest_metrics m JOIN runs r ON r.run_uuid = m.run_uuid WHERE {RUN_FILTER}"
PARAMS_COLUMNS = (
    Column("run_id", "p.run_uuid", nullable=False),
    Column("key", "p.key", nullable=False),
    Column("value", "p.value", nullable=False),
)
PARAMS_FROM = f"FROM params p JOIN runs r ON r.run_uuid = p.run_uuid WHERE {RUN_FILTER}"
TAGS_COLUMNS = (
    Column("run_id", "t.run_uuid", nullable=False),
    Column("key", "t.key", nullable=False),
    Column("value", "t.value"),
)
TAGS_FROM = f"FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid WHERE {RUN_FILTER}"
HISTORY_COLUMNS = (
    Column("run_id", "run_uuid", nullable=False),
    Column("key", "key", nullable=False),
    Column("step", "step", "integer", nullable=False),
    Column("timestamp", "timestamp", "integer", nullable=False),
    Column("value", _VALUE.format(t=""), "real"),
)
EXTREMES_COLUMNS = (
    Column("run_id", "m.run_uuid", nullable=False),
    Column("key", "m.key", nullable=False),
    Column("min", f"min({_VALUE.format(t='m.')})", "real"),
    Column("max", f"max({_VALUE.format(t='m.')})", "real"),
)
EXTREMES_FROM = f"FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid WHERE {RUN_FILTER} GROUP BY m.run_uuid, m.key"
T = TypeVar("T")


class SqlSession(Protocol):
    """One read transaction on a store (``?`` placeholders in every statement)."""

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """The result with its column names (small results: a Python object per cell)."""

    def arrow(self, columns: Sequence[Column], source: str, params: Sequence[object] = ()) -> pa.Table:
        """``SELECT <columns> <source>`` as Arrow, typed as the columns say, in the order the rows come."""


def run_info(session: SqlSession, params: Sequence[object]) -> pd.DataFrame:
    """The runs' attribute columns (INFO_COLUMNS, times as epoch milliseconds) in MLflow's order."""
    return sort_runs(session.arrow(INFO_COLUMNS, INFO_FROM, params).to_pandas())


class MlflowSqlTracker(Tracker):
    """An MLflow SQL store read directly when its schema revision is known (``direct``), else through
    :meth:`_client_tracker`. Subclasses open read transactions (:meth:`_read`) and write tags."""

    direct: bool
    #: The columns of a table, for optional tables and columns of older schema revisions.
    COLUMNS_SQL: str

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri, **options)
        self._cache = ArtifactCache()
        self._columns: dict[str, set[str]] = {}

    # ---- what each store kind supplies ------------------------------------------------------------------------
    def _read(self, work: Callable[[SqlSession], T]) -> T:
        """``work`` in one short read-only transaction (one consistent snapshot)."""
        raise NotImplementedError

    def _client_tracker(self) -> Tracker:
        """MLflow's client on this store, for schema revisions we do not read directly."""
        raise NotImplementedError

    def _artifact_base(self) -> Path | None:
        """The folder relative local artifact URIs are relative to (None: as they are)."""
        return None

    # ---- reading ----------------------------------------------------------------------------------------------
    def _frames(self, queries: Sequence[tuple[str, Sequence[object]]]) -> list[pd.DataFrame]:
        """Run queries in one read transaction (one consistent snapshot)."""
        return self._read(lambda s: [s.frame(sql, params) for sql, params in queries])

    def _table_columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = {r[0] for r in self._read(lambda s: s.rows(self.COLUMNS_SQL, (table,)))}
        return self._columns[table]

    def experiments(self) -> list[Experiment]:
        if not self.direct:
            return self._client_tracker().experiments()
        created = "creation_time" if "creation_time" in self._table_columns("experiments") else "NULL"
        sql = f"""SELECT CAST(experiment_id AS TEXT) AS experiment_id, name, artifact_location,
                  {created} AS creation_time FROM experiments WHERE lifecycle_stage = 'active'
                  ORDER BY experiment_id"""
        queries: list[tuple[str, Sequence[object]]] = [(sql, ())]
        has_tags = bool(self._table_columns("experiment_tags"))
        if has_tags:
            queries.append(("SELECT CAST(experiment_id AS TEXT) AS experiment_id, key, value FROM experiment_tags", ()))
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
        return build_runs_table(*self._long_tables((int(experiment_id),)))

    def _long_tables(self, key: tuple[int]) -> tuple[pd.DataFrame, pa.Table, pa.Table, pa.Table]:
        """Info, latest metrics, params and tags of an experiment's active runs, in one read transaction."""
        return self._read(lambda s: (
            run_info(s, key),
            s.arrow(LATEST_COLUMNS, LATEST_FROM, key),
            s.arrow(PARAMS_COLUMNS, PARAMS_FROM, key),
            s.arrow(TAGS_COLUMNS, TAGS_FROM, key),
        ))

    def _check_experiment(self, experiment_id: str) -> None:
        if not experiment_id.isdigit():
            super()._check_experiment(experiment_id)  # raises the clear message
        if self.direct:
            found = self._read(lambda s: s.rows(
                "SELECT 1 FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'active'",
                (int(experiment_id),),
            ))
            if not found:
                super()._check_experiment(experiment_id)

    def _load_history(self, run_ids: list[str], keys: list[str] | None) -> pd.DataFrame:
        if not self.direct:
            return self._client_tracker().metric_history(run_ids, keys)
        tables = []
        for start in range(0, len(run_ids), ID_CHUNK):
            chunk = run_ids[start : start + ID_CHUNK]
            source = f"FROM metrics WHERE run_uuid IN ({', '.join('?' * len(chunk))})"
            params: list[object] = list(chunk)
            if keys is not None:
                source += f" AND key IN ({', '.join('?' * len(keys))})"
                params += keys
            tables.append(self._read(lambda s, source=source, params=params: s.arrow(HISTORY_COLUMNS, source, params)))
        return pa.concat_tables(tables).to_pandas()

    def _load_extremes(self, experiment_id: str) -> pd.DataFrame:
        if not self.direct:
            return self._client_tracker().metric_extremes(experiment_id)
        return self._read(lambda s: s.arrow(EXTREMES_COLUMNS, EXTREMES_FROM, (int(experiment_id),))).to_pandas()

    def run(self, run_id: str) -> RunDetail:
        if not self.direct:
            return self._client_tracker().run(run_id)
        info_sql = """SELECT run_uuid AS run_id, name AS run_name, CAST(experiment_id AS TEXT) AS experiment_id,
                      status, artifact_uri, start_time, end_time, user_id, lifecycle_stage
                      FROM runs WHERE run_uuid = ?"""
        queries: list[tuple[str, Sequence[object]]] = [
            (info_sql, (run_id,)),
            ("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)),
            (f"SELECT key, {_VALUE.format(t='')} AS value FROM latest_metrics WHERE run_uuid = ?", (run_id,)),
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
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.display_uri}.")
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
            metrics={k: float("nan") if v is None or pd.isna(v) else float(v)
                     for k, v in frames[2].itertuples(index=False)},
            tags=tags,
            inputs=inputs,
            child_run_ids=tuple(frames[4]["run_uuid"]),
        )

    # ---- artifacts --------------------------------------------------------------------------------------------
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
        rows = self._read(lambda s: s.rows(sql, (run_id, run_id) if outputs else (run_id,)))
        return tuple(LoggedModel(str(model_id), str(name or ""), str(location or ""))
                     for model_id, name, location in rows)

    def _artifact_root(self, run_id: str) -> tuple[str, Path | None]:
        found = self._read(lambda s: s.rows("SELECT artifact_uri FROM runs WHERE run_uuid = ?", (run_id,)))
        if not found:
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.display_uri}.")
        uri = found[0][0] or ""
        local = local_path_from_uri(uri)
        if local is not None and not local.is_absolute() and (base := self._artifact_base()) is not None:
            local = base / local
        if local is None:  # a server's proxied artifacts: its --artifacts-destination folder, when it is here
            from lens_core.trackers import artifacts as arts

            if arts.is_mlflow_artifacts(uri):
                local = arts.mlflow_artifacts_local(uri, arts.artifacts_destinations(self, self._artifact_base()))
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
