"""TensorBoard log directories through the tracker interface.

A run is a directory holding ``events.out.tfevents.*`` files; scalars become metric histories; hyperparameters
come from the HParams plugin's ``session_start_info`` (as TensorBoard's HParams dashboard reads them) and from a
Lightning-style ``hparams.yaml`` beside the events. ``SummaryWriter.add_hparams`` of PyTorch and tensorboardX
writes the hparams into a timestamp-named sub-directory: such a directory is folded into its parent run.
Experiments are the top-level folders of the logdir; runs lying directly in the logdir form one experiment named
after it. Ratings and notes, which TensorBoard cannot store, live in a sidecar file the adapter owns
(``.experimentlens-tags.json`` in the logdir).

Event files are parsed with TensorBoard's own reader (``EventFileLoader``); parses are kept per file while its
size and modification time are unchanged, so a warm reload re-parses nothing.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from lens_core.errors import RunNotFoundError, TrackerNotFoundError, TrackerWriteError
from lens_core.model import ArtifactRef, Experiment, LoggedModel, RunDetail
from lens_core.trackers.artifacts import check_artifact_path, fetch_local, list_local
from lens_core.trackers.base import Tracker
from lens_core.trackers.runs_table import build_runs_table, sort_runs, to_utc_times

EVENT_PREFIX = "events.out.tfevents."
SIDECAR = ".experimentlens-tags.json"
ROOT_EXPERIMENT = "."
#: A run whose newest event was written less than this many seconds ago counts as RUNNING.
RUNNING_WITHIN_SECONDS = 120
_HPARAMS_PLUGIN = "hparams"
_STATUS_BY_HPARAMS = {1: "FINISHED", 2: "FAILED", 3: "RUNNING", 0: "FINISHED"}


def looks_like_logdir(path: Path, limit: int = 20_000) -> bool:
    """True when an event file lies somewhere below ``path`` (looks at no more than ``limit`` entries)."""
    seen = 0
    for _, _, files in os.walk(path):
        if any(f.startswith(EVENT_PREFIX) for f in files):
            return True
        seen += len(files) + 1
        if seen > limit:
            return False
    return False


def run_id_of(relative: str) -> str:
    """A stable 32-hex id for a run directory (paths make poor URL ids)."""
    return hashlib.sha1(relative.encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True)
class _EventFile:
    """What one event file holds; kept while its (mtime, size) stamp is unchanged."""

    stamp: tuple[int, int]
    scalars: list[tuple[str, int, int, float]] = field(default_factory=list)  # tag, step, wall ms, value
    hparams: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    first_ms: int | None = None
    last_ms: int | None = None


def _value_text(value: Any) -> str:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return str(int(number)) if float(number).is_integer() else repr(number)
    if kind == "bool_value":
        return str(value.bool_value)
    if kind == "string_value":
        return value.string_value
    return "None"


def parse_event_file(path: str) -> _EventFile:
    # The legacy loader yields events as written; the migrating EventFileLoader turns every simple_value into a
    # tensor proto first, which costs more than the rest of the parse together.
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
    from tensorboard.plugins.hparams import metadata as hp_metadata

    st = os.stat(path)
    parsed = _EventFile(stamp=(st.st_mtime_ns, st.st_size))
    for event in LegacyEventFileLoader(path).Load():
        ms = int(round(event.wall_time * 1000))
        parsed.first_ms = ms if parsed.first_ms is None else min(parsed.first_ms, ms)
        parsed.last_ms = ms if parsed.last_ms is None else max(parsed.last_ms, ms)
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            plugin = value.metadata.plugin_data.plugin_name
            if plugin == _HPARAMS_PLUGIN:
                content = value.metadata.plugin_data.content
                if value.tag == hp_metadata.SESSION_START_INFO_TAG:
                    info = hp_metadata.parse_session_start_info_plugin_data(content)
                    parsed.hparams.update({k: _value_text(v) for k, v in info.hparams.items()})
                elif value.tag == hp_metadata.SESSION_END_INFO_TAG:
                    end = hp_metadata.parse_session_end_info_plugin_data(content)
                    parsed.status = _STATUS_BY_HPARAMS.get(int(end.status), "FINISHED")
                continue
            if value.HasField("simple_value"):
                parsed.scalars.append((value.tag, int(event.step), ms, float(value.simple_value)))
            elif value.HasField("tensor") and plugin == "scalars":  # TF2 / torch writers
                number = _scalar_of(value.tensor)
                if number is not None:
                    parsed.scalars.append((value.tag, int(event.step), ms, number))
    return parsed


def _scalar_of(tensor: Any) -> float | None:
    """The number a one-element tensor proto holds, without building an ndarray for the common encodings."""
    for field_name in ("float_val", "double_val", "int64_val", "int_val"):
        values = getattr(tensor, field_name)
        if len(values) == 1:
            return float(values[0])
    from tensorboard.util import tensor_util

    array = tensor_util.make_ndarray(tensor)
    if array.size == 1 and np.issubdtype(array.dtype, np.number):
        return float(array.reshape(-1)[0])
    return None


@dataclass(frozen=True, slots=True)
class _Run:
    run_id: str
    relative: str  # path from the logdir, "/"-separated
    experiment_id: str
    directory: Path
    event_files: tuple[str, ...]  # including those of folded hparams sub-directories


class TensorBoardTracker(Tracker):
    kind = "tensorboard"

    def __init__(self, logdir: Path, **options: Any) -> None:
        logdir = Path(logdir).expanduser().resolve()
        if not logdir.is_dir():
            raise TrackerNotFoundError(f"No TensorBoard log directory at {logdir}.")
        super().__init__(f"tensorboard://{logdir}", **options)
        self.root = logdir
        self._files: dict[str, _EventFile] = {}
        self._files_lock = threading.Lock()

    # ---- discovery --------------------------------------------------------------------------------------------
    def _discover(self) -> dict[str, _Run]:
        """Every run directory of the logdir, keyed by run id."""
        event_dirs: dict[str, list[str]] = {}
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            events = sorted(os.path.join(directory, f) for f in files if f.startswith(EVENT_PREFIX))
            if events:
                event_dirs[os.path.relpath(directory, self.root).replace(os.sep, "/")] = events
        folded: dict[str, list[str]] = {}
        for relative, events in event_dirs.items():
            parent = _parent(relative)
            if parent in event_dirs and _is_hparams_dir(relative):
                folded.setdefault(parent, []).extend(events)  # add_hparams' timestamp sub-directory
        runs: dict[str, _Run] = {}
        for relative, events in event_dirs.items():
            if _parent(relative) in event_dirs and _is_hparams_dir(relative):
                continue
            experiment_id = relative.split("/", 1)[0] if "/" in relative else ROOT_EXPERIMENT
            run_id = run_id_of(relative)
            runs[run_id] = _Run(run_id, relative, experiment_id, self.root / relative,
                                tuple(events + folded.get(relative, [])))
        return runs

    def experiments(self) -> list[Experiment]:
        found = sorted({r.experiment_id for r in self._discover().values()})
        tags = self._sidecar_file().get("experiments", {})
        return [
            Experiment(experiment_id=e, name=self.root.name if e == ROOT_EXPERIMENT else e,
                       artifact_location=str(self.root if e == ROOT_EXPERIMENT else self.root / e),
                       tags=dict(tags.get(e, {})))
            for e in found
        ]

    def _runs_of(self, experiment_id: str) -> list[_Run]:
        return [r for r in self._discover().values() if r.experiment_id == experiment_id]

    def _run(self, run_id: str) -> _Run:
        run = self._discover().get(str(run_id))
        if run is None:
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.root}.")
        return run

    # ---- parsing with a per-file cache ------------------------------------------------------------------------
    def _parsed(self, path: str) -> _EventFile:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size)
        with self._files_lock:
            cached = self._files.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        parsed = parse_event_file(path)
        with self._files_lock:
            self._files[path] = parsed
        return parsed

    def _summary(self, run: _Run) -> dict[str, Any]:
        files = [self._parsed(p) for p in run.event_files]
        params = {k: v for f in files for k, v in f.hparams.items()}
        params.update(_hparams_yaml(run.directory))
        latest: dict[str, tuple[int, int, float]] = {}
        for f in files:
            for tag, step, ms, value in f.scalars:
                if tag not in latest or (step, ms, value) > latest[tag]:
                    latest[tag] = (step, ms, value)  # MLflow's rule: largest (step, time, value)
        # a run spans its logged points; file headers and add_hparams' events carry the writer's clock instead
        scalar_times = [ms for f in files for _, _, ms, _ in f.scalars]
        firsts = [min(scalar_times)] if scalar_times else [f.first_ms for f in files if f.first_ms is not None]
        lasts = [max(scalar_times)] if scalar_times else [f.last_ms for f in files if f.last_ms is not None]
        ended = [f.status for f in files if f.status]
        newest_write = max((f.stamp[0] for f in files), default=0) / 1e9
        if ended:
            status = ended[-1]
        elif time.time() - newest_write < RUNNING_WITHIN_SECONDS:
            status = "RUNNING"
        else:
            status = "FINISHED"
        return {
            "params": params,
            "metrics": {tag: v for tag, (_, _, v) in latest.items()},
            "start_ms": min(firsts) if firsts else None,
            "end_ms": None if status == "RUNNING" or not lasts else max(lasts),
            "status": status,
        }

    def change_token(self, experiment_id: str) -> Hashable:
        stamps = []
        for run in self._runs_of(experiment_id):
            for path in (*run.event_files, str(run.directory / "hparams.yaml")):
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                stamps.append((path, st.st_mtime_ns, st.st_size))
        try:
            st = os.stat(self.root / SIDECAR)
            stamps.append((SIDECAR, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            pass
        # RUNNING turns into FINISHED with time alone: the minute is part of the token while anything is recent
        return hash((tuple(stamps), int(time.time() // 60)))

    # ---- reading ----------------------------------------------------------------------------------------------
    def _load_runs(self, experiment_id: str) -> pd.DataFrame:
        tags = self._sidecar()
        info, metrics, params, tag_rows = [], [], [], []
        for run in self._runs_of(experiment_id):
            summary = self._summary(run)
            name = run.relative if experiment_id == ROOT_EXPERIMENT else run.relative.split("/", 1)[1]
            info.append((run.run_id, name, experiment_id, summary["status"], run.directory.as_uri(),
                         summary["start_ms"], summary["end_ms"]))
            metrics += [(run.run_id, k, v) for k, v in summary["metrics"].items()]
            params += [(run.run_id, k, v) for k, v in summary["params"].items()]
            tag_rows += [(run.run_id, k, v) for k, v in tags.get(run.run_id, {}).items()]
        columns = ["run_id", "key", "value"]
        frame = pd.DataFrame(info, columns=["run_id", "run_name", "experiment_id", "status", "artifact_uri",
                                            "start_time", "end_time"])
        frame = frame.astype({"start_time": "Int64", "end_time": "Int64"})
        return build_runs_table(sort_runs(frame), pd.DataFrame(metrics, columns=columns),
                                pd.DataFrame(params, columns=columns), pd.DataFrame(tag_rows, columns=columns))

    def _load_history(self, run_ids: list[str], keys: list[str] | None) -> pd.DataFrame:
        runs = self._discover()
        rows = []
        for run_id in run_ids:
            run = runs.get(run_id)
            if run is None:
                raise RunNotFoundError(f"No run with id {run_id!r} in {self.root}.")
            for path in run.event_files:
                rows += [(run_id, tag, step, ms, value) for tag, step, ms, value in self._parsed(path).scalars
                         if keys is None or tag in keys]
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"])

    def run(self, run_id: str) -> RunDetail:
        run = self._run(run_id)
        summary = self._summary(run)
        times = to_utc_times([summary["start_ms"], summary["end_ms"]])
        tags = dict(self._sidecar().get(run.run_id, {}))
        return RunDetail(
            run_id=run.run_id,
            experiment_id=run.experiment_id,
            run_name=run.relative if run.experiment_id == ROOT_EXPERIMENT else run.relative.split("/", 1)[1],
            status=summary["status"],
            start_time=None if pd.isna(times[0]) else times[0],
            end_time=None if pd.isna(times[1]) else times[1],
            user_id="",
            artifact_uri=run.directory.as_uri(),
            lifecycle_stage="active",
            params=summary["params"],
            metrics=summary["metrics"],
            tags=tags,
        )

    def logged_models(self, run_id: str) -> tuple[LoggedModel, ...]:
        """TensorBoard keeps no models."""
        return ()

    def artifacts(self, run_id: str, path: str = "") -> list[ArtifactRef]:
        """The run directory's own files (event files, hparams.yaml, checkpoints …)."""
        check_artifact_path(path)
        return list_local(self._run(run_id).directory, path)

    def fetch_artifact(self, run_id: str, path: str) -> Path:
        check_artifact_path(path)
        return fetch_local(self._run(run_id).directory, path, run_id)

    # ---- ratings and notes in the sidecar ---------------------------------------------------------------------
    def _sidecar_file(self) -> dict[str, dict[str, dict[str, str]]]:
        """The sidecar's sections: ``runs`` (run id → tags) and ``experiments`` (experiment id → tags)."""
        try:
            data = json.loads((self.root / SIDECAR).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {s: data[s] for s in ("runs", "experiments") if isinstance(data.get(s), dict)}

    def _sidecar(self) -> dict[str, dict[str, str]]:
        return self._sidecar_file().get("runs", {})

    @contextmanager
    def _sidecar_lock(self) -> Iterator[None]:
        with open(self.root / f"{SIDECAR}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Merge tags into the sidecar under a file lock; the file is replaced atomically (last write wins)."""
        run = self._run(run_id)
        self._merge_sidecar("runs", run.run_id, tags)

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """Experiment tags live in the sidecar too (section ``experiments``)."""
        self.experiment(experiment_id)
        self._merge_sidecar("experiments", str(experiment_id), tags)

    def _merge_sidecar(self, section: str, key: str, tags: Mapping[str, str]) -> None:
        try:
            with self._sidecar_lock():
                whole = self._sidecar_file()
                whole.setdefault(section, {}).setdefault(key, {}).update({str(k): str(v) for k, v in tags.items()})
                fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".lens-")
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"format": 1, **whole}, f, ensure_ascii=False, indent=1)
                os.replace(tmp, self.root / SIDECAR)
        except OSError as exc:
            raise TrackerWriteError(f"Could not save tags in {self.root / SIDECAR}: {exc}") from exc
        self.forget()


def _parent(relative: str) -> str | None:
    """"a/b" → "a", "a" → "." (the logdir), "." → None."""
    if relative == ".":
        return None
    return relative.rsplit("/", 1)[0] if "/" in relative else "."


def _is_hparams_dir(relative: str) -> bool:
    """add_hparams' sub-directory: named by a float timestamp, e.g. ``1795792676.263021``."""
    name = relative.rsplit("/", 1)[-1]
    try:
        float(name)
    except ValueError:
        return False
    return True


def _hparams_yaml(directory: Path) -> dict[str, str]:
    """PyTorch Lightning's ``hparams.yaml``, flattened with dotted keys."""
    path = directory / "hparams.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}

    def flatten(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                flatten(f"{prefix}{key}.", inner)
        else:
            out[prefix[:-1]] = str(value)

    if isinstance(data, dict):
        flatten("", data)
    return out
