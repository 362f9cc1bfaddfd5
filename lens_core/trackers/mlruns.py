"""MLflow ``mlruns`` folders (the file store, MLflow 1.x–3.x) read straight from the files.

Teams commit these folders to git and copy them between machines, which breaks MLflow's own reader in two
ways we repair: git drops empty ``metrics/``, ``params/`` and ``artifacts/`` folders (MLflow's ``get_run`` then
says "Run not found"), and ``artifact_uri`` points at the machine that logged the run (``file:///C:/Users/…``,
``/home/someone/…``, ``mlflow-artifacts:/…``); we fall back to the run folder's own ``artifacts/``. Reading
the files directly, without MLflow's per-entity objects, is also much faster than ``mlflow.search_runs``.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import yaml

from lens_core.confine import hide_paths
from lens_core.errors import ArtifactNotFoundError, RunNotFoundError, TrackerWriteError
from lens_core.model import ArtifactRef, DatasetInput, Experiment, LoggedModel, RunDetail
from lens_core.paths import local_path_from_uri
from lens_core.trackers import shared_catalog
from lens_core.trackers.artifacts import (
    artifacts_destinations,
    check_artifact_path,
    fetch_local,
    is_mlflow_artifacts,
    list_local,
    mlflow_artifacts_local,
    safe_join,
)
from lens_core.trackers.base import Tracker
from lens_core.trackers.mlruns_files import RunFiles, read_runs_parallel, run_token
from lens_core.trackers.runs_table import build_runs_table, sort_runs, to_utc_times
from lens_core.trackers.shared_catalog import token_digest

_RESERVED = {"tags", "datasets", "traces", "models", ".trash"}
#: MLflow's RunStatus enum as the file store persists it.
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_LIVE = ("RUNNING", "SCHEDULED")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def looks_like_mlruns(path: Path) -> bool:
    return (path / "0" / "meta.yaml").is_file() or any(
        (child / "meta.yaml").is_file() for child in _subdirs(path) if child.name not in _RESERVED
    )


def _subdirs(path: Path) -> Iterator[Path]:
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir():
                    yield Path(entry.path)
    except (FileNotFoundError, NotADirectoryError):
        return


def _read_yaml(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _keyed_files(folder: str, prefix: str = "") -> list[tuple[str, os.DirEntry[str]]]:
    """Files below ``folder`` with their key: the relative path joined by "/" (keys may contain "/")."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    with entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                out += _keyed_files(entry.path, f"{prefix}{entry.name}/")
            else:
                out.append((f"{prefix}{entry.name}", entry))
    return out


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_key_files(folder: Path | str) -> dict[str, str]:
    """Files under ``folder`` as {key: content}: params and tags, whose keys may hold "/"."""
    out = {}
    for key, entry in _keyed_files(str(folder)):
        if (text := _read_text(entry.path)) is not None:
            out[key] = text
    return out


def _metric_files(folder: Path | str) -> dict[str, str]:
    return {key: entry.path for key, entry in _keyed_files(str(folder))}


def _parse_metric_lines(path: str) -> list[tuple[int, float, int]]:
    """(timestamp, value, step) per line; lines of 2 fields (MLflow 1.x) have step 0; bad lines are skipped."""
    text = _read_text(path) or ""
    points = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) not in (2, 3, 5):
            continue
        try:
            points.append((int(parts[0]), float(parts[1]), int(parts[2]) if len(parts) >= 3 else 0))
        except ValueError:
            continue
    return points


def _latest(points: list[tuple[int, float, int]]) -> float:
    # MLflow's rule: the point with the largest (step, timestamp, value)
    return max(points, key=lambda p: (p[2], p[0], p[1]))[1]


@dataclass(frozen=True, slots=True)
class _ParsedRun:
    """One run folder read into table columns, kept until the folder's stats change."""

    token: tuple[object, ...]
    active: bool
    running: bool
    info: tuple[object, ...]
    metric_keys: Sequence[str]
    metric_values: Sequence[float]  # latest value
    metric_min: Sequence[float]  # extremes of the history
    metric_max: Sequence[float]
    param_keys: Sequence[str]
    param_values: Sequence[str]
    tag_keys: Sequence[str]
    tag_values: Sequence[str]


#: The shared catalog's note naming the run folders a fresh process's probe watches (see ``_remember_running``).
_WATCHED = "watched"
#: Run folders read in helper processes (besides this one) when this many or more changed at once.
PARALLEL_FROM = 400


def _workers() -> int:
    """Processes that read run folders: ``LENS_MLRUNS_WORKERS``, else the cores this process may use (≤ 4)."""
    explicit = os.environ.get("LENS_MLRUNS_WORKERS", "").strip()
    if explicit.isdigit():
        return max(1, int(explicit))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _long(run_ids: list[str], keys: list[str], values: list[object], *, metric: bool) -> pa.Table:
    """A long ``run_id, key, value`` table straight from columns (no row objects)."""
    return pa.table({
        "run_id": pa.array(run_ids, type=pa.string()),
        "key": pa.array(keys, type=pa.string()),
        "value": pa.array(values, type=pa.float64() if metric else pa.string()),
    })


class MlrunsTracker(Tracker):
    kind = "mlruns"

    def __init__(self, root: Path, **options: Any) -> None:
        root = Path(root).expanduser().resolve()
        super().__init__(root.as_uri(), **options)
        self.root = root
        self._run_dirs: dict[str, Path | str] = {}
        self._parsed: dict[str, _ParsedRun] = {}  # run folder -> rows, while its token holds
        # the latest change probe (tokens per run folder, their digest), reused by a load
        self._scans: dict[str, tuple[dict[str, tuple[object, ...]], str]] = {}
        self._loaded_digests: dict[str, str | None] = {}  # the digest of the probe each experiment was loaded with
        self._loaded: dict[str, dict[str, tuple[object, ...]]] = {}  # the probe each experiment was loaded with
        # run folder names whose metric files the probe watches before they are parsed here: those running at the
        # last read (by this process or, through the shared catalog's note, another one)
        self._watched: dict[str, frozenset[str]] = {}

    # ---- experiments and run folders --------------------------------------------------------------------------
    def _experiment_dirs(self) -> dict[str, tuple[Path, dict[str, Any]]]:
        found = {}
        for folder in _subdirs(self.root):
            if folder.name in _RESERVED:
                continue
            meta = _read_yaml(folder / "meta.yaml")
            if meta is None or meta.get("lifecycle_stage", "active") != "active":
                continue
            found[str(meta.get("experiment_id", folder.name))] = (folder, meta)
        return found

    def experiments(self) -> list[Experiment]:
        out = []
        for exp_id, (folder, meta) in self._experiment_dirs().items():
            created = meta.get("creation_time")
            out.append(
                Experiment(
                    experiment_id=exp_id,
                    name=str(meta.get("name", exp_id)),
                    artifact_location=str(meta.get("artifact_location") or ""),
                    creation_time=to_utc_times([created])[0] if created else None,
                    tags=_read_key_files(folder / "tags"),
                )
            )
        return sorted(out, key=lambda e: (len(e.experiment_id), e.experiment_id))

    def _experiment_dir(self, experiment_id: str) -> Path:
        dirs = self._experiment_dirs()
        if experiment_id not in dirs:
            self.experiment(experiment_id)  # raises ExperimentNotFoundError with the message
        return dirs[experiment_id][0]

    def _run_metas(self, experiment_id: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        for run_dir in _subdirs(self._experiment_dir(experiment_id)):
            if run_dir.name in _RESERVED:
                continue
            meta = _read_yaml(run_dir / "meta.yaml")
            if meta is None or str(meta.get("experiment_id")) != experiment_id:
                continue  # MLflow ignores malformed runs and runs recorded under another experiment
            self._run_dirs[run_dir.name] = run_dir
            yield run_dir, meta

    def _find_run(self, run_id: str) -> tuple[Path, dict[str, Any]]:
        known = self._run_dirs.get(run_id)
        run_dir = None if known is None else Path(known)
        if run_dir is None and run_id and "/" not in run_id and run_id not in (".", ".."):
            for exp_dir in _subdirs(self.root):
                candidate = exp_dir / run_id
                if (candidate / "meta.yaml").is_file():
                    run_dir = self._run_dirs[run_id] = candidate
                    break
        meta = _read_yaml(run_dir / "meta.yaml") if run_dir is not None else None
        if run_dir is None or meta is None:
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.root}.")
        return run_dir, meta

    def _scan(self, experiment_id: str) -> dict[str, tuple[object, ...]]:
        """Token of every run folder of the experiment (stats only, no file is read)."""
        tokens = {}
        root = str(self.root)
        watched = self._watched_names(experiment_id)
        with os.scandir(self._experiment_dir(experiment_id)) as entries:
            for entry in entries:
                if entry.name not in _RESERVED and entry.is_dir():
                    key = entry.path
                    previous = self._parsed.get(key)
                    watch = previous.running if previous is not None else entry.name in watched
                    tokens[key] = run_token(key, root, watch)
        return tokens

    def _watched_names(self, experiment_id: str) -> frozenset[str]:
        if experiment_id not in self._watched:
            note = shared_catalog.read_note(self.uri, experiment_id, _WATCHED) if self.shares_catalog else None
            self._watched[experiment_id] = frozenset(note.split("\n")) - {""} if note else frozenset()
        return self._watched[experiment_id]

    def _remember_running(self, experiment_id: str, run_dirs: Sequence[str]) -> None:
        """The run folders found running: watched from now on, here and (through the note) by fresh processes,
        whose probe then matches the token this read is stored under."""
        running = frozenset(os.path.basename(d) for d in run_dirs
                            if (p := self._parsed.get(d)) is not None and p.running)
        if running != self._watched_names(experiment_id):
            self._watched[experiment_id] = running
            if self.shares_catalog:
                shared_catalog.save_note(self.uri, experiment_id, _WATCHED, "\n".join(sorted(running)))

    def _shareable_token(self, experiment_id: str, token: Hashable | None, settled: Hashable | None
                         ) -> Hashable | None:
        """The settled token: a fresh process takes it too, watching the running runs the note names."""
        return settled if token is not None else None

    def change_token(self, experiment_id: str) -> Hashable:
        try:
            tokens = self._scan(experiment_id)
        except Exception:
            return None
        digest = token_digest(tuple(sorted(tokens.items())))
        self._scans[experiment_id] = (tokens, digest)
        return digest

    def _settled_token(self, experiment_id: str, token: Hashable | None) -> Hashable | None:
        """Running runs are watched more closely once parsed: the probe that matches them is computed now."""
        tokens = self._loaded.get(experiment_id)
        if tokens is None:
            return token
        settled = {d: p.token if (p := self._parsed.get(d)) is not None else t for d, t in tokens.items()}
        digest = self._loaded_digests.get(experiment_id)
        if digest is not None and settled == tokens:  # nothing read differs from the probe: its digest holds
            return digest
        return token_digest(tuple(sorted(settled.items())))

    def _load_runs(self, experiment_id: str) -> pd.DataFrame:
        """Re-read only the run folders whose token changed since the last load (many at once: in parallel)."""
        tokens, digest = self._scans.pop(experiment_id, None) or (self._scan(experiment_id), None)
        self._loaded[experiment_id] = tokens
        self._loaded_digests[experiment_id] = digest
        changed = [d for d, t in tokens.items() if (p := self._parsed.get(d)) is None or p.token != t]
        if changed:
            workers = _workers() if len(changed) >= PARALLEL_FROM else 1
            for run_dir, files in zip(changed, read_runs_parallel(changed, str(self.root), workers)):
                parsed = self._parse_run(run_dir, experiment_id, files)
                if parsed is None:
                    self._parsed.pop(run_dir, None)
                else:
                    self._parsed[run_dir] = parsed
        self._remember_running(experiment_id, list(tokens))
        info_rows: list[tuple[object, ...]] = []
        long: dict[str, tuple[list[str], list[str], list[object]]] = {g: ([], [], []) for g in ("m", "p", "t")}
        for run_dir in tokens:
            parsed = self._parsed.get(run_dir)
            if parsed is None or not parsed.active:
                continue
            run_id = parsed.info[0]
            info_rows.append(parsed.info)
            for group, keys, values in (("m", parsed.metric_keys, parsed.metric_values),
                                        ("p", parsed.param_keys, parsed.param_values),
                                        ("t", parsed.tag_keys, parsed.tag_values)):
                ids, key_column, value_column = long[group]
                ids += [run_id] * len(keys)
                key_column += keys
                value_column += values
        info = pd.DataFrame(
            info_rows,
            columns=["run_id", "run_name", "experiment_id", "status", "artifact_uri", "start_time", "end_time"],
        ).astype({"start_time": "Int64", "end_time": "Int64"})
        return build_runs_table(sort_runs(info), *(_long(*long[g], metric=g == "m") for g in ("m", "p", "t")))

    def _parse_run(self, run_dir: str, experiment_id: str, files: RunFiles | None) -> _ParsedRun | None:
        """Table columns of one run folder from what :func:`read_run` found in it."""
        if files is None:
            return None
        token, metric_stats, meta, meta_text, metrics, params, tags = files
        if meta is None:  # a meta.yaml the small parser leaves to YAML
            try:
                meta = yaml.load(meta_text, Loader=_Loader)
            except yaml.YAMLError:
                return None
        if not isinstance(meta, dict) or str(meta.get("experiment_id")) != experiment_id:
            return None  # MLflow ignores malformed runs and runs recorded under another experiment
        run_id = str(meta.get("run_id") or meta.get("run_uuid") or os.path.basename(run_dir))
        self._run_dirs[run_id] = run_dir
        status = _status(meta.get("status"))
        running = status in _LIVE
        if running:  # from now on, watch its metric files too
            token = (*token, metric_stats)
        run_name = meta.get("run_name") or (dict(zip(*tags))["mlflow.runName"] if "mlflow.runName" in tags[0] else None)
        return _ParsedRun(
            token=tuple(token),
            active=meta.get("lifecycle_stage", "active") == "active",
            running=running,
            info=(run_id, run_name, experiment_id, status, meta.get("artifact_uri"), meta.get("start_time"),
                  meta.get("end_time")),
            metric_keys=metrics[0],
            metric_values=metrics[1],
            metric_min=metrics[2],
            metric_max=metrics[3],
            param_keys=params[0],
            param_values=params[1],
            tag_keys=tags[0],
            tag_values=tags[1],
        )

    def _load_extremes(self, experiment_id: str) -> pd.DataFrame:
        """Gathered while the run folders were parsed: no file is read again (nor probed: the probe just taken for
        the extremes says which folders changed since)."""
        scanned = self._scans.get(experiment_id)
        if scanned is None:
            self.runs(experiment_id)
        if experiment_id not in self._loaded or (scanned is not None and scanned[0] != self._loaded[experiment_id]):
            self._load_runs(experiment_id)  # never parsed here (the table came from the shared catalog), or changed
        ids: list[str] = []
        keys: list[str] = []
        lows: list[float] = []
        highs: list[float] = []
        for run_dir in self._loaded.get(experiment_id, {}):
            parsed = self._parsed.get(run_dir)
            if parsed is not None and parsed.active:
                ids += [parsed.info[0]] * len(parsed.metric_keys)
                keys += parsed.metric_keys
                lows += parsed.metric_min
                highs += parsed.metric_max
        return pd.DataFrame({
            "run_id": pd.Series(ids, dtype="str"),
            "key": pd.Series(keys, dtype="str"),
            "min": pd.Series(lows, dtype="float64"),
            "max": pd.Series(highs, dtype="float64"),
        })

    def _load_history(self, run_ids: list[str], keys: list[str] | None) -> pd.DataFrame:
        rows = []
        for run_id in run_ids:
            run_dir, _ = self._find_run(run_id)
            for key, path in _metric_files(run_dir / "metrics").items():
                if keys is None or key in keys:
                    rows += [(run_id, key, step, ts, value) for ts, value, step in _parse_metric_lines(path)]
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"])

    def run(self, run_id: str) -> RunDetail:
        run_dir, meta = self._find_run(run_id)
        tags = _read_key_files(run_dir / "tags")
        metrics = {}
        for key, path in _metric_files(run_dir / "metrics").items():
            if points := _parse_metric_lines(path):
                metrics[key] = _latest(points)
        experiment_id = str(meta.get("experiment_id"))
        children = []
        for child_dir, child_meta in self._run_metas(experiment_id):
            parent = child_dir / "tags" / "mlflow.parentRunId"
            if child_meta.get("lifecycle_stage", "active") == "active" and parent.is_file():
                if parent.read_text(encoding="utf-8").strip() == run_id:
                    children.append((child_meta.get("start_time") or 0, child_dir.name))
        times = to_utc_times([meta.get("start_time"), meta.get("end_time")])
        return RunDetail(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=meta.get("run_name") or tags.get("mlflow.runName", ""),
            status=_status(meta.get("status")),
            start_time=None if pd.isna(times[0]) else times[0],
            end_time=None if pd.isna(times[1]) else times[1],
            user_id=str(meta.get("user_id") or tags.get("mlflow.user", "")),
            artifact_uri=str(meta.get("artifact_uri") or ""),
            lifecycle_stage=str(meta.get("lifecycle_stage", "active")),
            params=_read_key_files(run_dir / "params"),
            metrics=metrics,
            tags=tags,
            inputs=self._inputs(run_dir),
            child_run_ids=tuple(run for _, run in sorted(children)),
        )

    def _inputs(self, run_dir: Path) -> tuple[DatasetInput, ...]:
        datasets_dir = run_dir.parent / "datasets"
        out = []
        for input_dir in _subdirs(run_dir / "inputs"):
            meta = _read_yaml(input_dir / "meta.yaml") or {}
            if str(meta.get("source_type")) not in ("2", "DATASET"):
                continue
            dataset = _read_yaml(datasets_dir / str(meta.get("source_id")) / "meta.yaml")
            if dataset is None:
                continue
            out.append(
                DatasetInput(
                    name=str(dataset.get("name", "")),
                    digest=str(dataset.get("digest", "")),
                    source_type=str(dataset.get("source_type", "")),
                    source=str(dataset.get("source", "")),
                    schema=str(dataset.get("schema") or ""),
                    profile=str(dataset.get("profile") or ""),
                    context=str((meta.get("tags") or {}).get("mlflow.data.context", "")),
                )
            )
        return tuple(sorted(out, key=lambda d: d.name))

    def logged_models(self, run_id: str) -> tuple[LoggedModel, ...]:
        """Models under ``<experiment>/models/<model_id>/`` whose source is the run or that the run lists among its
        ``outputs/``; a recorded location that is not here (a folder copied from another machine) falls back to
        the model folder's own ``artifacts/``."""
        try:
            outputs = {folder.name for folder in _subdirs(self._find_run(run_id)[0] / "outputs")}
        except RunNotFoundError:
            return ()
        found = []
        for meta_file in self.root.glob("*/models/*/meta.yaml"):
            meta = _read_yaml(meta_file)
            if meta is None or meta.get("lifecycle_stage") == "deleted":
                continue
            model_id = str(meta.get("model_id") or meta_file.parent.name)
            if meta.get("source_run_id") != run_id and model_id not in outputs:
                continue
            location = str(meta.get("artifact_location") or "")
            local = local_path_from_uri(location)
            if local is None or not local.is_dir():
                location = str(meta_file.parent / "artifacts")
            found.append((meta.get("creation_timestamp") or 0,
                          LoggedModel(model_id, str(meta.get("name") or ""), location)))
        return tuple(model for _, model in sorted(found, key=lambda pair: -pair[0]))

    # ---- artifacts --------------------------------------------------------------------------------------------
    def _artifact_root(self, run_id: str) -> Path:
        """The recorded artifact location when it exists here (``mlflow-artifacts:`` URIs under the configured
        artifacts destination or an ``mlartifacts/`` folder beside the mlruns folder), else the run folder's own
        ``artifacts/``."""
        run_dir, meta = self._find_run(run_id)
        uri = str(meta.get("artifact_uri") or "")
        recorded = local_path_from_uri(uri)
        if recorded is not None:
            if not recorded.is_absolute():
                recorded = self.root.parent / recorded
        elif is_mlflow_artifacts(uri):
            try:
                recorded = mlflow_artifacts_local(uri, artifacts_destinations(self, self.root.parent))
            except ArtifactNotFoundError:
                recorded = None
        if recorded is not None and recorded.is_dir():
            return recorded
        return run_dir / "artifacts"

    def artifacts(self, run_id: str, path: str = "") -> list[ArtifactRef]:
        check_artifact_path(path)
        return list_local(self._artifact_root(run_id), path)

    def fetch_artifact(self, run_id: str, path: str) -> Path:
        check_artifact_path(path)
        return fetch_local(self._artifact_root(run_id), path, run_id)

    # ---- writing ----------------------------------------------------------------------------------------------
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """One file per tag, replaced atomically, as MLflow's file store writes them."""
        run_dir, _ = self._find_run(run_id)
        self._write_tag_files(run_dir / "tags", tags, f"run {run_id}")

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """As for runs: ``<experiment>/tags/<key>``, one file per tag."""
        self._write_tag_files(self._experiment_dir(str(experiment_id)) / "tags", tags, f"experiment {experiment_id}")

    def _write_tag_files(self, folder: Path, tags: Mapping[str, str], what: str) -> None:
        try:
            for key, value in tags.items():
                target = safe_join(folder, str(key))
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".lens-")
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(str(value))
                os.replace(tmp, target)
        except (OSError, ArtifactNotFoundError) as exc:
            raise TrackerWriteError(f"Could not save tags on {what}: {hide_paths(str(exc))}") from exc
        self.forget()


def _status(value: object) -> str:
    if isinstance(value, int):
        return _STATUS.get(value, "RUNNING")
    if isinstance(value, str) and value:
        return value
    return "RUNNING"  # MLflow's default when meta.yaml records none
