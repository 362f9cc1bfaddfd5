"""Deterministic MLflow store generator for ExperimentLens benchmarks and tests.

ExperimentLens reads MLflow stores without going through MLflow, so its tests and benchmarks need
stores that look exactly like the ones MLflow writes, including the mess that real stores collect:
NaN metrics, crashed, killed and still-running runs, deleted runs, sparse and unicode keys, repeated
and restarted steps, and `mlruns` folders copied from another machine (artifact URIs that point
elsewhere, empty folders lost to git). Logging thousands of runs through MLflow takes many minutes,
so the runs are planned once (:func:`plan_runs`, the ground truth that tests compare against) and
written directly: rows bulk-inserted into a schema that MLflow itself created, or MLflow's
file-store layout.

CLI::

    python -m benchmarks.generate_store sqlite /tmp/s.db --runs 10000
    python -m benchmarks.generate_store mlruns /tmp/mlruns --runs 1000 --git-stripped \
        --mlflow-major 1
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import yaml

BASE_TIME_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z: fixed so that every store is reproducible
TIME_SPAN_MS = 540 * 86_400_000  # run start times spread over about 18 months
EXPERIMENT_CREATION_MS = BASE_TIME_MS - 86_400_000

# mlflow.entities.RunStatus as the file store persists it (an int enum in meta.yaml).
RUN_STATUS_CODES = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
SOURCE_TYPE_LOCAL = 4  # the file store writes SourceType.LOCAL into every run's meta.yaml
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the dumper MLflow uses

# Artifact roots of a store copied from other machines or a tracking server, cycled per run.
FOREIGN_ARTIFACT_ROOTS = (
    "file:///C:/Users/some%20one/proj/mlruns",
    "/home/someone/proj/mlruns",
    "file:./mlruns",
    "mlflow-artifacts:",
)


@dataclass(frozen=True)
class StoreSpec:
    """Shape of a generated store; every value derives from it, so equal specs give equal runs."""

    n_runs: int = 1000
    n_params: int = 30
    n_metrics: int = 15
    n_steps: int = 5  # history points per metric per run; latest_metrics holds the latest_point
    seed: int = 0
    experiment_name: str = "generated"
    n_experiments: int = 1  # runs split across experiments
    long_history_steps: int = 0  # if > 0, one run's first metric gets this many points


@dataclass(frozen=True)
class MetricPoint:
    timestamp: int
    value: float
    step: int


@dataclass(frozen=True)
class RunPlan:
    """One run as MLflow holds it, independent of the backend it is written to."""

    run_id: str
    experiment_index: int
    name: str
    user: str
    status: str
    start_time: int
    end_time: int | None
    deleted_time: int | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, list[MetricPoint]]
    has_artifacts: bool

    @property
    def lifecycle_stage(self) -> str:
        return "active" if self.deleted_time is None else "deleted"


@dataclass(frozen=True)
class _ParamDef:
    key: str
    scope: str  # "all", "optional" or a model family: which runs log this param
    kind: str  # "family", "float", "int", "bool" or "choice"
    choices: tuple[str, ...] = ()


# Listed first so that even tiny specs get unicode, slash and dot keys and family-specific params.
_SPECIAL_PARAMS = (
    _ParamDef("model_family", "all", "family"),
    _ParamDef("学习率", "all", "float"),
    _ParamDef("größe", "tree", "choice", ("klein", "mittel", "groß")),
    _ParamDef("optimizer/name", "linear", "choice", ("adam", "sgd", "adamw", "lbfgs")),
    _ParamDef("model.depth", "tree", "int"),
    _ParamDef("batch_size", "all", "choice", ("16", "32", "64", "128", "256")),
    _ParamDef("regularization.l2", "linear", "float"),
    _ParamDef("data/augment", "optional", "bool"),
    _ParamDef(
        "notes", "optional", "choice", ("baseline", "Vorlauf für Ü-Test", "第二轮", "no dropout")
    ),
)
_GENERIC_PARAM_SCOPES = ("all", "tree", "linear", "optional")
_GENERIC_PARAM_KINDS = ("float", "int", "choice")
_FAMILIES = ("tree", "linear")

_SPECIAL_METRICS = ("train/loss", "eval.acc", "val/loss", "lr", "精度/top1", "epoch_time_s")

# Shares of the rarer run outcomes; the rest finish normally. "crashed" runs fail before logging
# any param or metric, "diverged" runs fail with a NaN loss.
_RARE_RUN_KINDS = (("running", 0.01), ("killed", 0.03), ("diverged", 0.04), ("crashed", 0.02))
_KIND_STATUS = {
    "finished": "FINISHED",
    "running": "RUNNING",
    "killed": "KILLED",
    "diverged": "FAILED",
    "crashed": "FAILED",
}
_DELETED_SHARE = 0.02

_ADJECTIVES = ("brave", "calm", "eager", "gentle", "jolly", "merry", "quiet", "witty")
_NOUNS = ("otter", "finch", "lynx", "heron", "koala", "mole", "wren", "yak")
_UNICODE_RUN_NAMES = ("größer-batch", "基线-模型")
_USERS = ("alice", "bob", "chen.wei", "józef", "root")
_SOURCES = {
    "LOCAL": ("train.py", "/home/alice/proj/train.py"),
    "NOTEBOOK": ("/Users/józef/notebooks/explore.ipynb",),
    "JOB": ("jobs/nightly_retrain",),
}
_TEAMS = ("vision", "Forschung & Entwicklung", "机器学习组", "nlp")
_DATASETS = ("imagenet-mini", "kunden_2024.csv", "träning-v2")
_HOSTS = ("gpu-01", "gpu-02", "laptop")


# ---------------------------------------------------------------------------------------------
# Planning: backend-independent runs
# ---------------------------------------------------------------------------------------------


def experiment_names(spec: StoreSpec) -> list[str]:
    if spec.n_experiments == 1:
        return [spec.experiment_name]
    return [f"{spec.experiment_name}-{i}" for i in range(spec.n_experiments)]


def plan_runs(spec: StoreSpec) -> Iterator[RunPlan]:
    """Yield the runs of `spec` in start-time order.

    A generator, so that 10k runs with full histories never sit in memory at once. Store-wide
    choices (outcomes, deletions, start times) come from one seeded stream; everything inside a run
    from a stream seeded by (seed, run index).
    """
    rng = random.Random(spec.seed)
    kinds = _run_kinds(spec.n_runs, rng)
    deleted = _deleted_indices(kinds, rng)
    starts = sorted(rng.randrange(TIME_SPAN_MS) for _ in range(spec.n_runs))
    long_history_index = _long_history_index(kinds, deleted) if spec.long_history_steps else None
    params = _param_catalog(spec.n_params)
    metric_keys = _metric_keys(spec.n_metrics)
    earlier_runs: dict[int, list[str]] = {}
    for i, kind in enumerate(kinds):
        experiment_index = i * spec.n_experiments // spec.n_runs
        siblings = earlier_runs.setdefault(experiment_index, [])
        run = _plan_run(
            spec,
            random.Random(f"{spec.seed}/{i}"),
            kind=kind,
            experiment_index=experiment_index,
            start_time=BASE_TIME_MS + starts[i],
            deleted=i in deleted,
            long_history=i == long_history_index,
            params=params,
            metric_keys=metric_keys,
            siblings=siblings,
        )
        siblings.append(run.run_id)
        yield run


def _run_kinds(n_runs: int, rng: random.Random) -> list[str]:
    """Quotas rather than independent draws: even a 40-run store has a run of every kind."""
    kinds: list[str] = []
    for kind, share in _RARE_RUN_KINDS:
        kinds += [kind] * max(1, round(share * n_runs))
    kinds = kinds[:n_runs] + ["finished"] * max(0, n_runs - len(kinds))
    rng.shuffle(kinds)
    return kinds


def _deleted_indices(kinds: list[str], rng: random.Random) -> set[int]:
    """Delete some finished or killed runs, so running, failed and NaN runs all stay visible."""
    candidates = [i for i, kind in enumerate(kinds) if kind in ("finished", "killed")]
    count = min(len(candidates), max(1, round(_DELETED_SHARE * len(kinds))))
    return set(rng.sample(candidates, count))


def _long_history_index(kinds: list[str], deleted: set[int]) -> int | None:
    return next((i for i, k in enumerate(kinds) if k == "finished" and i not in deleted), None)


def _param_catalog(n_params: int) -> list[_ParamDef]:
    defs = list(_SPECIAL_PARAMS[:n_params])
    for i in range(len(defs), n_params):
        scope = _GENERIC_PARAM_SCOPES[i % len(_GENERIC_PARAM_SCOPES)]
        kind = _GENERIC_PARAM_KINDS[i % len(_GENERIC_PARAM_KINDS)]
        defs.append(_ParamDef(f"hp_{i:02d}", scope, kind, ("low", "mid", "high")))
    return defs


def _metric_keys(n_metrics: int) -> list[str]:
    keys = list(_SPECIAL_METRICS[:n_metrics])
    return keys + [f"metric_{i:02d}" for i in range(len(keys), n_metrics)]


def _plan_run(
    spec: StoreSpec,
    rng: random.Random,
    *,
    kind: str,
    experiment_index: int,
    start_time: int,
    deleted: bool,
    long_history: bool,
    params: list[_ParamDef],
    metric_keys: list[str],
    siblings: list[str],
) -> RunPlan:
    run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
    name = _run_name(rng)
    user = rng.choice(_USERS)
    duration = (
        rng.randrange(5_000, 120_000) if kind == "crashed" else rng.randrange(60_000, 6 * 3_600_000)
    )
    end_time = None if kind == "running" else start_time + duration
    deleted_time = end_time + rng.randrange(3_600_000, 30 * 86_400_000) if deleted else None
    tags = _base_tags(name, user, rng)
    run_params: dict[str, str] = {}
    metrics: dict[str, list[MetricPoint]] = {}
    if kind != "crashed":
        tags.update(_custom_tags(rng, siblings))
        family = rng.choice(_FAMILIES)
        run_params = {
            p.key: _param_value(p, family, rng) for p in params if _logs_param(p, family, rng)
        }
        metrics = _run_metrics(
            spec, rng, metric_keys, start_time, duration, kind == "diverged", long_history
        )
    return RunPlan(
        run_id=run_id,
        experiment_index=experiment_index,
        name=name,
        user=user,
        status=_KIND_STATUS[kind],
        start_time=start_time,
        end_time=end_time,
        deleted_time=deleted_time,
        params=run_params,
        tags=tags,
        metrics=metrics,
        has_artifacts=kind != "crashed" and rng.random() < 0.7,
    )


def _run_name(rng: random.Random) -> str:
    """MLflow-style generated names, with duplicates across runs and a few unicode names."""
    if rng.random() < 0.03:
        return rng.choice(_UNICODE_RUN_NAMES)
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randrange(1000)}"


def _base_tags(name: str, user: str, rng: random.Random) -> dict[str, str]:
    """The system tags that mlflow.start_run sets before user code runs."""
    source_type = rng.choices(("LOCAL", "NOTEBOOK", "JOB"), weights=(8, 1, 1))[0]
    tags = {
        "mlflow.runName": name,
        "mlflow.user": user,
        "mlflow.source.name": rng.choice(_SOURCES[source_type]),
        "mlflow.source.type": source_type,
    }
    if source_type == "LOCAL" and rng.random() < 0.8:
        tags["mlflow.source.git.commit"] = f"{rng.getrandbits(160):040x}"
    return tags


def _custom_tags(rng: random.Random, siblings: list[str]) -> dict[str, str]:
    """User tags: unicode keys and values, sparse keys, notes and a few nested (child) runs."""
    tags = {"team": rng.choice(_TEAMS)}
    if rng.random() < 0.8:
        tags["数据集"] = rng.choice(_DATASETS)
    if rng.random() < 0.5:
        tags["env/host"] = rng.choice(_HOSTS)
    if rng.random() < 0.05:
        tags["mlflow.note.content"] = "Läuft schneller mit größerem Batch.\n第二行: 备注"
    if siblings and rng.random() < 0.05:
        tags["mlflow.parentRunId"] = rng.choice(siblings)
    return tags


def _logs_param(param: _ParamDef, family: str, rng: random.Random) -> bool:
    """Params depend on the model family, and optional ones appear on about half the runs."""
    if param.scope == "optional":
        return rng.random() < 0.5
    return param.scope in ("all", family)


def _param_value(param: _ParamDef, family: str, rng: random.Random) -> str:
    """Params are strings in MLflow; floats come in mixed notation and now and then as "None"."""
    if param.kind == "family":
        return family
    if param.kind == "float":
        return "None" if rng.random() < 0.03 else f"{10 ** rng.uniform(-5, -1):.4g}"
    if param.kind == "int":
        return str(rng.randint(2, 12))
    if param.kind == "bool":
        return rng.choice(("True", "False"))
    return rng.choice(param.choices)


def _run_metrics(
    spec: StoreSpec,
    rng: random.Random,
    keys: list[str],
    start_time: int,
    duration: int,
    diverged: bool,
    long_history: bool,
) -> dict[str, list[MetricPoint]]:
    quality = rng.random()  # shared by a run's metrics, so they correlate as in real runs
    metrics = {}
    for position, key in enumerate(keys):
        n_points = spec.long_history_steps if long_history and position == 0 else spec.n_steps
        # a diverged run ends with a NaN loss: the run's first metric is its training loss
        nan_last = diverged and position == 0
        metrics[key] = _metric_history(key, n_points, start_time, duration, quality, nan_last, rng)
    return metrics


def _metric_history(
    key: str,
    n_points: int,
    start_time: int,
    duration: int,
    quality: float,
    nan_last: bool,
    rng: random.Random,
) -> list[MetricPoint]:
    steps = _step_sequence(n_points, rng)
    last_step = max(1, max(steps))
    points = []
    for j, step in enumerate(steps):
        # strictly increasing timestamps: no two points of a series tie on (step, timestamp)
        timestamp = start_time + duration * (j + 1) // (n_points + 1) + j
        if (nan_last and j == n_points - 1) or rng.random() < 0.01:
            value = math.nan
        else:
            value = _curve_value(key, step / last_step, quality, rng)
        points.append(MetricPoint(timestamp, value, step))
    return points


def _step_sequence(n_points: int, rng: random.Random) -> list[int]:
    """Steps as real histories have them, not always 0..n-1.

    A step logged twice (MLflow itself repeats step 0 after log_model), training resumed from a
    checkpoint (steps go back, so the latest value is not the last one logged), or no step at all
    (every point at step 0, the latest decided by timestamp).
    """
    roll = rng.random()
    if n_points < 2 or roll < 0.85:
        return list(range(n_points))
    if roll < 0.92:
        repeated = rng.randrange(n_points - 1)
        steps = list(range(n_points - 1))
        steps.insert(repeated, repeated)
        return steps
    if roll < 0.97:
        crashed_after = rng.randrange(1, n_points)
        checkpoint = rng.randrange(crashed_after)
        return list(range(crashed_after)) + list(
            range(checkpoint, checkpoint + n_points - crashed_after)
        )
    return [0] * n_points


def _curve_value(key: str, progress: float, quality: float, rng: random.Random) -> float:
    noise = rng.gauss(0.0, 0.02)
    if "loss" in key:
        return (2.0 - quality) * math.exp(-3.0 * progress) + 0.1 + abs(noise)
    if "acc" in key or "精度" in key:
        return min(1.0, 0.5 + 0.45 * quality * (1.0 - math.exp(-4.0 * progress)) + noise)
    return 10.0 * quality + progress + noise


def latest_point(points: list[MetricPoint]) -> MetricPoint:
    """MLflow's latest value: the greatest (step, timestamp, value), NaN counting as 0."""
    return max(points, key=lambda p: (p.step, p.timestamp, _stored_value(p.value)))


def _stored_value(value: float) -> float:
    """MLflow's SQL stores cannot hold NaN: they store 0 and set is_nan."""
    return 0.0 if math.isnan(value) else value


# ---------------------------------------------------------------------------------------------
# SQLite store
# ---------------------------------------------------------------------------------------------

_INSERT_RUN = (
    "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
    " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id,"
    " deleted_time) VALUES (?, ?, 'UNKNOWN', '', '', ?, ?, ?, ?, '', ?, ?, ?, ?)"
)
_INSERT_PARAM = "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)"
_INSERT_TAG = "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)"
_INSERT_METRIC = (
    "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_LATEST_METRIC = (
    "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SQLITE_CHUNK_RUNS = 500


def generate_sqlite_store(db_path: Path, spec: StoreSpec) -> str:
    """Write a new SQLite tracking store at `db_path` and return its ``sqlite:///`` URI.

    MLflow creates the schema (every migration) and the experiments; the runs are then
    bulk-inserted in one transaction, exactly as MLflow's SqlAlchemyStore would have stored them.
    Artifacts go to the folder ``<db stem>-artifacts`` beside the database.
    """
    db_path = Path(db_path).resolve()
    if db_path.exists():
        raise FileExistsError(f"{db_path} exists; generated stores are never written over")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{db_path}"
    experiments = _create_sqlite_experiments(
        uri, sqlite_artifact_root(db_path), experiment_names(spec)
    )
    with closing(sqlite3.connect(db_path)) as con, con:
        _pin_experiment_times(con, [experiment_id for experiment_id, _ in experiments])
        for chunk in _chunks(plan_runs(spec), _SQLITE_CHUNK_RUNS):
            _insert_runs(con, chunk, experiments)
            for run in chunk:
                if run.has_artifacts:
                    _write_artifacts(Path(_sqlite_artifact_uri(run, experiments)), run)
    return uri


def sqlite_artifact_root(db_path: Path) -> Path:
    """Where a generated SQLite store keeps its artifacts: beside the database, named after it."""
    return Path(db_path).resolve().with_name(f"{Path(db_path).stem}-artifacts")


def _create_sqlite_experiments(
    uri: str, artifact_root: Path, names: list[str]
) -> list[tuple[int, str]]:
    """Let MLflow build the schema and experiments; return [(experiment_id, artifact_location)]."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(uri, str(artifact_root))
    try:
        ids = [store.create_experiment(name) for name in names]
        return [(int(i), store.get_experiment(i).artifact_location) for i in ids]
    finally:
        store.engine.dispose()


def _pin_experiment_times(con: sqlite3.Connection, experiment_ids: list[int]) -> None:
    """MLflow stamps experiments with the wall clock; a fixed time keeps generated stores equal."""
    con.executemany(
        "UPDATE experiments SET creation_time = ?, last_update_time = ? WHERE experiment_id = ?",
        [(EXPERIMENT_CREATION_MS, EXPERIMENT_CREATION_MS, i) for i in experiment_ids],
    )


def _insert_runs(
    con: sqlite3.Connection, runs: list[RunPlan], experiments: list[tuple[int, str]]
) -> None:
    run_rows, param_rows, tag_rows, metric_rows, latest_rows = _table_rows(runs, experiments)
    con.executemany(_INSERT_RUN, run_rows)
    con.executemany(_INSERT_PARAM, param_rows)
    con.executemany(_INSERT_TAG, tag_rows)
    con.executemany(_INSERT_METRIC, metric_rows)
    con.executemany(_INSERT_LATEST_METRIC, latest_rows)


def _table_rows(
    runs: list[RunPlan], experiments: list[tuple[int, str]]
) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple], list[tuple]]:
    """Rows of runs, params, tags, metrics and latest_metrics, as MLflow's SQL store writes them."""
    run_rows, param_rows, tag_rows, metric_rows, latest_rows = [], [], [], [], []
    for run in runs:
        experiment_id = experiments[run.experiment_index][0]
        run_rows.append(_run_row(run, experiment_id, _sqlite_artifact_uri(run, experiments)))
        param_rows += [(key, value, run.run_id) for key, value in run.params.items()]
        tag_rows += [(key, value, run.run_id) for key, value in run.tags.items()]
        for key, points in run.metrics.items():
            metric_rows += [_metric_row(key, p, run.run_id) for p in points]
            latest_rows.append(_metric_row(key, latest_point(points), run.run_id))
    return run_rows, param_rows, tag_rows, metric_rows, latest_rows


def _sqlite_artifact_uri(run: RunPlan, experiments: list[tuple[int, str]]) -> str:
    """As SqlAlchemyStore.create_run: <experiment artifact_location>/<run id>/artifacts."""
    return f"{experiments[run.experiment_index][1]}/{run.run_id}/artifacts"


def _run_row(run: RunPlan, experiment_id: int, artifact_uri: str) -> tuple:
    return (
        run.run_id,
        run.name,
        run.user,
        run.status,
        run.start_time,
        run.end_time,
        run.lifecycle_stage,
        artifact_uri,
        experiment_id,
        run.deleted_time,
    )


def _metric_row(key: str, point: MetricPoint, run_id: str) -> tuple:
    """Columns (key, value, timestamp, run_uuid, step, is_nan) of metrics and latest_metrics."""
    return (key, _stored_value(point.value), point.timestamp, run_id, point.step, _is_nan(point))


def _is_nan(point: MetricPoint) -> int:
    return int(math.isnan(point.value))


def _chunks(items: Iterable[RunPlan], size: int) -> Iterator[list[RunPlan]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------------------------------------
# PostgreSQL store
# ---------------------------------------------------------------------------------------------

#: COPY column lists of the tables, in the order of the rows :func:`_table_rows` makes.
_POSTGRES_COPY = (
    (
        "runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time,"
        " end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time)"
    ),
    "params (key, value, run_uuid)",
    "tags (key, value, run_uuid)",
    "metrics (key, value, timestamp, run_uuid, step, is_nan)",
    "latest_metrics (key, value, timestamp, run_uuid, step, is_nan)",
)


def generate_postgres_store(uri: str, spec: StoreSpec, artifact_root: Path) -> str:
    """Write the runs of ``spec`` into the empty PostgreSQL database ``uri`` (``postgresql+psycopg://…``) and
    return ``uri``. MLflow creates the schema and the experiments; the rows then go in by COPY (psycopg 3), the
    same rows :func:`generate_sqlite_store` inserts. Artifacts go to ``artifact_root``."""
    import psycopg

    experiments = _create_sqlite_experiments(uri, Path(artifact_root), experiment_names(spec))
    conninfo = "postgresql://" + uri.split("://", 1)[1]
    with psycopg.connect(conninfo) as con, con.cursor() as cur:
        cur.execute(
            "UPDATE experiments SET creation_time = %s, last_update_time = %s WHERE experiment_id = ANY(%s)",
            (EXPERIMENT_CREATION_MS, EXPERIMENT_CREATION_MS, [i for i, _ in experiments]),
        )
        for chunk in _chunks(plan_runs(spec), _SQLITE_CHUNK_RUNS * 4):
            tables = _table_rows(chunk, experiments)
            # the constant source columns of _INSERT_RUN
            tables[0][:] = [row[:2] + ("UNKNOWN", "", "") + row[2:6] + ("",) + row[6:] for row in tables[0]]
            for columns, rows in zip(_POSTGRES_COPY, tables, strict=True):
                boolean_last = columns.endswith("is_nan)")
                with cur.copy(f"COPY {columns} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row[:-1] + (bool(row[-1]),) if boolean_last else row)
            for run in chunk:
                if run.has_artifacts:
                    _write_artifacts(Path(_sqlite_artifact_uri(run, experiments)), run)
    return uri


# ---------------------------------------------------------------------------------------------
# mlruns (file) store
# ---------------------------------------------------------------------------------------------


def generate_mlruns_store(
    root: Path,
    spec: StoreSpec,
    *,
    git_stripped: bool = False,
    foreign_artifact_uris: bool = False,
    mlflow_major: int = 3,
) -> Path:
    """Write a new `mlruns` folder at `root` in the layout of MLflow 3 (or 1.x) and return it.

    `git_stripped` removes every empty folder, as a store committed to git and cloned elsewhere
    has lost them (runs without params lose ``params/``, without artifacts ``artifacts/``).
    `foreign_artifact_uris` writes artifact URIs of other machines and of a tracking server.
    """
    if mlflow_major not in (1, 3):
        raise ValueError(f"mlflow_major must be 1 or 3, not {mlflow_major}")
    root = Path(root).resolve()
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; generated stores are never written over")
    local_root = root.as_uri()
    experiment_ids = _mlruns_experiment_ids(spec, mlflow_major)
    _write_yaml(
        root / "0" / "meta.yaml", _experiment_meta("0", "Default", f"{local_root}/0", mlflow_major)
    )
    names = experiment_names(spec)
    for index, (experiment_id, name) in enumerate(zip(experiment_ids, names, strict=True)):
        base = _artifact_base(local_root, index, foreign_artifact_uris)
        meta = _experiment_meta(experiment_id, name, f"{base}/{experiment_id}", mlflow_major)
        _write_yaml(root / experiment_id / "meta.yaml", meta)
    for index, run in enumerate(plan_runs(spec)):
        base = _artifact_base(local_root, index, foreign_artifact_uris)
        experiment_id = experiment_ids[run.experiment_index]
        artifact_uri = f"{base}/{experiment_id}/{run.run_id}/artifacts"
        _write_run(
            root / experiment_id / run.run_id, run, experiment_id, artifact_uri, mlflow_major
        )
    (root / ".trash").mkdir()
    if git_stripped:
        _remove_empty_dirs(root)
    return root


def _artifact_base(local_root: str, index: int, foreign: bool) -> str:
    """The store's own folder, or (foreign) one of the roots of other machines, by turns."""
    return FOREIGN_ARTIFACT_ROOTS[index % len(FOREIGN_ARTIFACT_ROOTS)] if foreign else local_root


def _mlruns_experiment_ids(spec: StoreSpec, mlflow_major: int) -> list[str]:
    """MLflow 1.x numbered experiments 1, 2, ...; later versions use random 18-digit ids."""
    if mlflow_major == 1:
        return [str(i + 1) for i in range(spec.n_experiments)]
    rng = random.Random(f"{spec.seed}/experiments")
    return [str(rng.randrange(10**17, 10**18)) for _ in range(spec.n_experiments)]


def _experiment_meta(
    experiment_id: str, name: str, artifact_location: str, mlflow_major: int
) -> dict:
    meta = {
        "artifact_location": artifact_location,
        "experiment_id": experiment_id,
        "lifecycle_stage": "active",
        "name": name,
    }
    if mlflow_major == 3:
        meta.update(
            creation_time=EXPERIMENT_CREATION_MS,
            last_update_time=EXPERIMENT_CREATION_MS,
            effective_trace_archival_retention=None,
            trace_location=None,
            workspace="default",
        )
    return meta


def _run_meta(run: RunPlan, experiment_id: str, artifact_uri: str, mlflow_major: int) -> dict:
    """meta.yaml of a run: MLflow 3 has run_name and deleted_time, 1.x had name '' and run_uuid."""
    meta = {
        "artifact_uri": artifact_uri,
        "end_time": run.end_time,
        "entry_point_name": "",
        "experiment_id": experiment_id,
        "lifecycle_stage": run.lifecycle_stage,
        "run_id": run.run_id,
        "source_name": "",
        "source_type": SOURCE_TYPE_LOCAL,
        "source_version": "",
        "start_time": run.start_time,
        "status": RUN_STATUS_CODES[run.status],
        "tags": [],
        "user_id": run.user,
    }
    if mlflow_major == 1:
        meta.update(name="", run_uuid=run.run_id)
    else:
        meta["run_name"] = run.name
        if run.deleted_time is not None:
            meta["deleted_time"] = run.deleted_time
    return meta


def _write_run(
    run_dir: Path, run: RunPlan, experiment_id: str, artifact_uri: str, mlflow_major: int
) -> None:
    """Lay a run out as FileStore.create_run and the log calls do, one file per key."""
    _write_yaml(run_dir / "meta.yaml", _run_meta(run, experiment_id, artifact_uri, mlflow_major))
    for folder in ("metrics", "params", "artifacts"):
        (run_dir / folder).mkdir()
    for key, value in run.params.items():
        _write_text(_key_path(run_dir / "params", key), value)
    for key, value in _mlruns_tags(run, mlflow_major).items():
        _write_text(_key_path(run_dir / "tags", key), value)
    for key, points in run.metrics.items():
        _write_text(_key_path(run_dir / "metrics", key), _metric_lines(points, mlflow_major))
    if run.has_artifacts:
        _write_artifacts(run_dir / "artifacts", run)


def _mlruns_tags(run: RunPlan, mlflow_major: int) -> dict[str, str]:
    """MLflow 1.x set mlflow.runName only when a name was given: about half the runs have none."""
    if mlflow_major == 1 and int(run.run_id, 16) % 2:
        return {k: v for k, v in run.tags.items() if k != "mlflow.runName"}
    return run.tags


def _metric_lines(points: list[MetricPoint], mlflow_major: int) -> str:
    """Lines "timestamp value step"; step-less histories in 1.x stores keep MLflow 0.x's
    two-field lines "timestamp value", which MLflow still reads as step 0."""
    if mlflow_major == 1 and all(p.step == 0 for p in points):
        return "".join(f"{p.timestamp} {p.value}\n" for p in points)
    return "".join(f"{p.timestamp} {p.value} {p.step}\n" for p in points)


def _write_artifacts(artifacts_dir: Path, run: RunPlan) -> None:
    _write_text(artifacts_dir / "notes.txt", f"Run {run.name}\nNotizen: größe, 学习率\n")
    rows = [f"{p.step},{p.value}" for points in islice(run.metrics.values(), 1) for p in points[:5]]
    _write_text(
        artifacts_dir / "data" / "sample.csv", "step,value\n" + "".join(f"{r}\n" for r in rows)
    )


def _key_path(folder: Path, key: str) -> Path:
    """Keys with "/" are nested folders in the file store."""
    return folder.joinpath(*key.split("/"))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_yaml(path: Path, data: dict) -> None:
    """Dumped with the options of mlflow.utils.yaml_utils.write_yaml, so the bytes match."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(
            data,
            f,
            default_flow_style=False,
            allow_unicode=True,
            sort_keys=True,
            Dumper=_YAML_DUMPER,
        )


def _remove_empty_dirs(root: Path) -> None:
    """Drop every empty folder, deepest first, as a git checkout would not have them."""
    for dirpath, _, _ in os.walk(root, topdown=False):
        if not any(os.scandir(dirpath)):
            os.rmdir(dirpath)


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=("sqlite", "mlruns"))
    parser.add_argument("path", type=Path, help="SQLite file or mlruns folder to create")
    defaults = StoreSpec()
    parser.add_argument("--runs", type=int, default=defaults.n_runs)
    parser.add_argument("--params", type=int, default=defaults.n_params)
    parser.add_argument("--metrics", type=int, default=defaults.n_metrics)
    parser.add_argument("--steps", type=int, default=defaults.n_steps)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--experiments", type=int, default=defaults.n_experiments)
    parser.add_argument("--experiment-name", default=defaults.experiment_name)
    parser.add_argument(
        "--long-history", type=int, default=0, help="points in one run's first metric"
    )
    parser.add_argument("--git-stripped", action="store_true", help="mlruns: drop empty folders")
    parser.add_argument(
        "--foreign-artifact-uris", action="store_true", help="mlruns: other machines' URIs"
    )
    parser.add_argument(
        "--mlflow-major", type=int, choices=(1, 3), default=3, help="mlruns layout version"
    )
    parser.add_argument(
        "--force", action="store_true", help="delete an existing store at PATH first"
    )
    parser.add_argument(
        "--time-search-runs", action="store_true", help="time mlflow.search_runs afterwards"
    )
    return parser.parse_args(argv)


def _remove_store(backend: str, path: Path) -> None:
    """For --force: a SQLite store's artifact folder goes with it, so no stale artifacts survive."""
    if backend == "sqlite":
        path.unlink(missing_ok=True)
        shutil.rmtree(sqlite_artifact_root(path), ignore_errors=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _time_search_runs(tracking_uri: str) -> tuple[int, float]:
    """(rows, seconds) of one mlflow.search_runs over every experiment: the baseline to beat."""
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    import mlflow

    experiment_ids = [
        e.experiment_id for e in mlflow.MlflowClient(tracking_uri).search_experiments()
    ]
    mlflow.set_tracking_uri(tracking_uri)
    started = time.perf_counter()
    runs = mlflow.search_runs(experiment_ids=experiment_ids)
    return len(runs), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    args = _parse_args(argv)
    spec = StoreSpec(
        n_runs=args.runs,
        n_params=args.params,
        n_metrics=args.metrics,
        n_steps=args.steps,
        seed=args.seed,
        experiment_name=args.experiment_name,
        n_experiments=args.experiments,
        long_history_steps=args.long_history,
    )
    if args.force:
        _remove_store(args.backend, args.path)
    started = time.perf_counter()
    if args.backend == "sqlite":
        tracking_uri = generate_sqlite_store(args.path, spec)
    else:
        root = generate_mlruns_store(
            args.path,
            spec,
            git_stripped=args.git_stripped,
            foreign_artifact_uris=args.foreign_artifact_uris,
            mlflow_major=args.mlflow_major,
        )
        tracking_uri = root.as_uri()
    print(f"{tracking_uri}: {spec.n_runs} runs generated in {time.perf_counter() - started:.2f} s")
    if args.time_search_runs:
        rows, seconds = _time_search_runs(tracking_uri)
        print(f"mlflow.search_runs: {rows} active runs in {seconds:.2f} s")


if __name__ == "__main__":
    main()
