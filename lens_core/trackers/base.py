"""The tracker interface every adapter implements, and the behaviour they share.

Adapters implement the ``_load_*`` / ``_list_*`` hooks; this class adds the local catalog cache (an unchanged
experiment is never read twice: each adapter supplies a cheap change token), history downsampling and id checks.
Every public read and write runs under :func:`lens_core.trackers.faults.translating` (adapters' own methods are
wrapped when the subclass is created), so callers only ever see LensErrors; experiments, runs tables, metric
extremes and runs fall back to the last good data when the tracker stops answering or its store fails.
"""
from __future__ import annotations

import functools
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from lens_core.errors import ExperimentNotFoundError
from lens_core.format import from_mlflow_sentinel, sentinels_to_inf
from lens_core.model import ArtifactRef, Experiment, LoggedModel, RunDetail
from lens_core.redact import redact
from lens_core.trackers import faults, progress, shared_catalog
from lens_core.trackers.faults import LAST_GOOD_ERRORS
from lens_core.trackers.http_runs import merge_runs, with_tags
from lens_core.trackers.series import HISTORY_COLUMNS, downsample_minmax

#: How long a runs table is trusted when an adapter has no change token (e.g. over HTTP), in seconds.
DEFAULT_TTL_SECONDS = 30.0
#: How many experiments' runs tables one tracker keeps in memory.
CATALOG_SIZE = 8
#: How many runs' details one tracker keeps as last good data.
LAST_RUNS = 64
#: How long a runs table refreshed incrementally (adapters without a change token: HTTP) goes without a full
#: re-read, in seconds: ``full_refresh_seconds=`` (``[lens] full_refresh_seconds``), else
#: ``LENS_FULL_REFRESH_SECONDS``, else this.
DEFAULT_FULL_REFRESH_SECONDS = 600.0
#: Ratings written through ExperimentLens are remembered this long past a full re-read's interval, to be laid
#: again over a full read that was under way when they were written.
TAG_WRITES_KEPT = 1000
#: The shared-catalog "token" of incrementally refreshed tables (validated by the refresh, not by a token).
INCREMENTAL = ("incremental", 1)
_FULL, _CHECKED, _SAVED = "lens.full_read_epoch", "lens.checked_epoch", "lens.shared_saved_epoch"

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(name: str, method: F) -> F:
    """``method`` with its exceptions translated into LensErrors; ``run`` also serves the last good detail of a
    run, labelled stale in the page run, when the tracker fails."""
    if getattr(method, "__lens_guarded__", False):
        return method
    what = faults.GUARDED[name]

    @functools.wraps(method)
    def call(self: Tracker, *args: Any, **kwargs: Any) -> Any:
        with faults.translating(self, what):
            return method(self, *args, **kwargs)

    @functools.wraps(method)
    def run(self: Tracker, run_id: str, *args: Any, **kwargs: Any) -> Any:
        key = str(run_id)
        try:
            with faults.translating(self, what):
                detail = method(self, run_id, *args, **kwargs)
        except LAST_GOOD_ERRORS as exc:
            with self._lock:
                last = self._last_runs.get(key)
            if last is None:
                raise
            faults.note_stale(exc)
            return last
        detail = replace(detail, metrics={k: from_mlflow_sentinel(v) for k, v in detail.metrics.items()})
        with self._lock:
            self._last_runs[key] = detail
            self._last_runs.move_to_end(key)
            while len(self._last_runs) > LAST_RUNS:
                self._last_runs.popitem(last=False)
        return detail

    wrapped = run if name == "run" else call
    wrapped.__lens_guarded__ = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


class Tracker(ABC):
    """Read-mostly access to one experiment tracker. Thread-safe; one instance serves every app session."""

    uri: str
    #: A short word for the UI: "sqlite", "http", "mlruns".
    kind: str = ""
    #: Runs tables read under a change token are kept in the cache folder for every process
    #: (:mod:`lens_core.trackers.shared_catalog`); ``LENS_SHARED_CATALOG=0`` keeps them in memory only.
    shares_catalog: bool = os.environ.get("LENS_SHARED_CATALOG", "1") != "0"

    #: Whether runs tables are refreshed incrementally (:meth:`_changed_runs`) when there is no change token.
    refreshes_runs: bool = False

    def __init__(self, uri: str, *, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 full_refresh_seconds: float | str | None = None) -> None:
        self.uri = uri
        self._ttl_seconds = ttl_seconds
        self.full_refresh_seconds = _full_refresh_seconds(full_refresh_seconds)
        self._progress = progress.ProgressBoard()
        self._gates: dict[tuple[int, str], threading.Lock] = {}
        self._tag_writes: list[tuple[float, str, dict[str, str]]] = []  # (epoch s, run id, tags) written here
        self._catalog: OrderedDict[str, tuple[Hashable, float, pd.DataFrame]] = OrderedDict()
        self._extremes: OrderedDict[str, tuple[Hashable, float, pd.DataFrame]] = OrderedDict()
        self._lock = threading.Lock()
        self._last_experiments: list[Experiment] | None = None
        self._last_runs: OrderedDict[str, RunDetail] = OrderedDict()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """An adapter's public reads and writes are wrapped: see :func:`_guarded`."""
        super().__init_subclass__(**kwargs)
        for name in faults.GUARDED:
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, _guarded(name, method))

    @property
    def display_uri(self) -> str:
        """The URI without credentials, for pages and messages."""
        return redact(self.uri)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_uri!r})"

    # ---- public API -------------------------------------------------------------------------------------------
    @abstractmethod
    def experiments(self) -> list[Experiment]:
        """Active experiments, ordered by id."""

    def experiments_or_last(self) -> tuple[list[Experiment], str | None]:
        """``(experiments(), None)``; when the tracker stops answering, starts refusing or its store fails after a
        successful read, ``(the experiments read last, the error)`` so pages stay browsable, labelled stale.
        Raises when nothing was read before."""
        try:
            found = self.experiments()
        except LAST_GOOD_ERRORS as exc:
            with self._lock:
                last = getattr(self, "_last_experiments", None)
            if last is None:
                raise
            faults.note_stale(exc)
            return list(last), str(exc)
        with self._lock:
            self._last_experiments = list(found)
        return found, None

    def experiment(self, experiment_id: str) -> Experiment:
        """One active experiment (from the experiments read last when the tracker fails)."""
        for experiment in self.experiments_or_last()[0]:
            if experiment.experiment_id == str(experiment_id):
                return experiment
        raise ExperimentNotFoundError(
            f"No active experiment with id {experiment_id!r} in {self.uri}. "
            "Pick one of the listed experiments; it may have been deleted or the link is from another tracker."
        )

    def runs(self, experiment_id: str) -> pd.DataFrame:
        """The wide runs table of an experiment (see :mod:`lens_core.trackers.runs_table`), served from the catalog
        while the tracker reports no change. Callers get their own copy."""
        return self._cached(self._catalog, str(experiment_id), self._load_runs, check=True)

    def metric_extremes(self, experiment_id: str) -> pd.DataFrame:
        """Minimum and maximum of every metric's history, per active run: ``run_id, key, min, max`` (NaN points
        ignored). Cached like the runs table; used when a table summarises metrics by min or max, not last."""
        return self._cached(self._extremes, str(experiment_id),
                            lambda e: sentinels_to_inf(self._load_extremes(e), ["min", "max"]), check=False)

    def _cached(
        self,
        store: OrderedDict[str, tuple[Hashable, float, pd.DataFrame]],
        experiment_id: str,
        load: Callable[[str], pd.DataFrame],
        *,
        check: bool,
    ) -> pd.DataFrame:
        """``load(experiment_id)`` unless ``store`` holds a frame loaded under the current change token (or, when
        the adapter has none, loaded less than ``ttl_seconds`` ago; adapters that refresh incrementally then
        re-ask only what can have changed, see :meth:`_incremental`). Least recently used experiments go first.
        One thread reads an experiment at a time; the others wait for its table (seeing its progress). When the
        tracker fails, the frame read last, its ``attrs["lens.stale_error"]`` saying why."""
        what = faults.GUARDED["runs" if check else "metric_extremes"]
        now = time.monotonic()
        with self._lock:
            cached = store.get(experiment_id)
        try:
            with faults.translating(self, what, fail_fast=False):
                token = self.change_token(experiment_id)
            if cached is not None and self._still_good(cached, token, now):
                with self._lock:
                    store.move_to_end(experiment_id)
                return cached[2].copy()
            with self._one_reader(store, experiment_id) as waited:
                if waited:  # another thread read it meanwhile
                    with self._lock:
                        cached = store.get(experiment_id)
                    if cached is not None and cached[1] >= now and self._still_good(cached, token, time.monotonic()):
                        return cached[2].copy()
                with faults.translating(self, what):
                    incremental = check and token is None and self.refreshes_runs
                    if check and not incremental:
                        self._check_experiment(experiment_id)  # (an incremental refresh checks it alongside)
                    kind = "runs" if check else "extremes"
                    if incremental:
                        frame = self._incremental(experiment_id, None if cached is None else cached[2])
                    else:
                        frame = self._shared(experiment_id, kind, token)
                        if frame is None:
                            frame = load(experiment_id)
                            settled = self._settled_token(experiment_id, token)
                            shared = self._shareable_token(experiment_id, token, settled)
                            if shared is not None and self.shares_catalog:
                                shared_catalog.save(self.uri, experiment_id, kind, shared, frame)
                            token = settled
                        frame.attrs[_FULL] = time.time()
        except LAST_GOOD_ERRORS as exc:
            if cached is None:
                raise
            faults.note_stale(exc)
            stale = cached[2].copy()  # the last good table, labelled: better than an empty page
            stale.attrs["lens.stale_error"] = str(exc)
            return stale
        frame.attrs["lens.loaded_at"] = pd.Timestamp.now(tz="UTC")
        if _FULL in frame.attrs:
            frame.attrs["lens.full_read_at"] = pd.Timestamp(frame.attrs[_FULL], unit="s", tz="UTC")
        with self._lock:
            store[experiment_id] = (token, time.monotonic(), frame)
            store.move_to_end(experiment_id)
            while len(store) > CATALOG_SIZE:
                store.popitem(last=False)
        return frame.copy()

    def _still_good(self, cached: tuple[Hashable, float, pd.DataFrame], token: Hashable | None, now: float) -> bool:
        cached_token, loaded_at, _ = cached
        return cached_token == token if token is not None else now - loaded_at < self._ttl_seconds

    @contextmanager
    def _one_reader(self, store: OrderedDict, experiment_id: str) -> Iterator[bool]:
        """One thread reads an experiment's table at a time; yields whether this one had to wait (the others show
        the reader's progress meanwhile)."""
        key = (id(store), experiment_id)
        with self._lock:
            gate = self._gates.setdefault(key, threading.Lock())
        waited = False
        if not gate.acquire(blocking=False):
            waited, sink, shown = True, progress.current_sink(), [0.0]
            while not gate.acquire(timeout=progress.EVERY_SECONDS):
                if (state := self._progress.get(experiment_id)) is not None:
                    progress.tell(sink, state, shown)
        try:
            yield waited
        finally:
            gate.release()

    def progress(self, experiment_id: str) -> progress.LoadProgress | None:
        """Where a read of this experiment's runs stands, while one is under way (any thread); else None."""
        return self._progress.get(str(experiment_id))

    # ---- incremental refresh (adapters without a change token) -------------------------------------------------
    def _incremental(self, experiment_id: str, previous: pd.DataFrame | None) -> pd.DataFrame:
        """The runs table brought up to date by re-asking only what can have changed (:meth:`_changed_runs`),
        from the table in memory or the one another process stored in the shared catalog; a full read when there
        is neither, or the last full read is older than ``full_refresh_seconds``."""
        began = time.time()
        base = previous
        if self.shares_catalog:
            meta = shared_catalog.stored_meta(self.uri, experiment_id, "runs", INCREMENTAL)
            if meta is not None and (base is None or _epoch(meta, "lens.saved_at") != base.attrs.get(_SAVED)):
                stored = shared_catalog.read(self.uri, experiment_id, "runs", INCREMENTAL)
                if stored is not None and _epoch(stored[1], "lens.checked_at") >= (
                        base.attrs.get(_CHECKED, 0.0) if base is not None else 0.0):
                    base = _with_meta(stored[0], stored[1])  # newer than ours: another process read it
                    base = self._replay(base, _journal(stored[1]) + self._own_writes(), since=0.0)
        if base is not None and began - base.attrs.get(_FULL, 0.0) < self.full_refresh_seconds:
            with self._progress.reading(experiment_id, "checking"):
                found = self._changed_runs(experiment_id, base, base.attrs.get(_CHECKED, base.attrs.get(_FULL, 0)))
            if found is not None:
                update, gone = found
                frame = merge_runs(base, update, gone)
                if frame is base:
                    frame = base.copy()
                frame.attrs = {**base.attrs, _CHECKED: began}
                if _shared_news(base, update, gone):
                    frame = self._share_runs(experiment_id, frame)
                return frame
        self._check_experiment(experiment_id)
        frame = self._load_runs(experiment_id)
        frame = self._replay(frame, self._own_writes(), since=began)
        frame.attrs[_FULL] = frame.attrs[_CHECKED] = began
        return self._share_runs(experiment_id, frame, full_read_began=began)

    def _share_runs(self, experiment_id: str, frame: pd.DataFrame, *,
                    full_read_began: float | None = None) -> pd.DataFrame:
        """Store an incrementally refreshed table for other processes (unless a fresher one is there), with the
        ratings written through ExperimentLens since its last full read; a full read first gets the ratings other
        processes wrote while it was under way. Returns the table as stored."""
        if not self.shares_catalog:
            return frame
        with shared_catalog.locked(self.uri, experiment_id, "runs"):
            meta = shared_catalog.stored_meta(self.uri, experiment_id, "runs", INCREMENTAL) or {}
            if full_read_began is None and _epoch(meta, "lens.checked_at") > frame.attrs.get(_CHECKED, 0.0):
                return frame  # another process stored a table checked after ours
            journal = _prune_journal(_journal(meta) + self._own_writes(), self.full_refresh_seconds)
            if full_read_began is not None:
                frame = self._replay(frame, journal, since=full_read_began - 60.0)
            saved = time.time()
            shared_catalog.save(self.uri, experiment_id, "runs", INCREMENTAL, frame, extra={
                "lens.full_read_at": repr(frame.attrs.get(_FULL, 0.0)),
                "lens.checked_at": repr(frame.attrs.get(_CHECKED, 0.0)),
                "lens.saved_at": repr(saved),
                "lens.tag_writes": json.dumps(journal),
            })
        frame.attrs[_SAVED] = saved
        return frame

    def _own_writes(self) -> list[list[Any]]:
        with self._lock:
            return [[when, run_id, dict(tags)] for when, run_id, tags in self._tag_writes]

    @staticmethod
    def _replay(frame: pd.DataFrame, writes: Sequence[Sequence[Any]], *, since: float) -> pd.DataFrame:
        """``frame`` with the tag writes made at or after ``since`` laid over it, oldest first."""
        for when, run_id, tags in sorted(writes, key=lambda w: w[0]):
            if when >= since:
                frame = with_tags(frame, str(run_id), {str(k): str(v) for k, v in dict(tags).items()})
        return frame

    def _tags_written(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Tags just written through this tracker: runs tables in memory (and in the shared catalog, for tables
        refreshed incrementally) show them at once, without a re-read."""
        if not self.refreshes_runs:
            self.forget()
            return
        when, tags = time.time(), {str(k): str(v) for k, v in tags.items()}
        touched: list[str] = []
        with self._lock:
            self._tag_writes.append((when, run_id, tags))
            del self._tag_writes[:-TAG_WRITES_KEPT]
            for experiment_id, (token, loaded_at, frame) in list(self._catalog.items()):
                if (frame["run_id"] == run_id).any():
                    self._catalog[experiment_id] = (token, loaded_at, with_tags(frame, run_id, tags))
                    touched.append(experiment_id)
            self._extremes.clear()
        if not self.shares_catalog:
            return
        for experiment_id in touched:
            with shared_catalog.locked(self.uri, experiment_id, "runs"):
                stored = shared_catalog.read(self.uri, experiment_id, "runs", INCREMENTAL)
                if stored is None:
                    continue
                frame, meta = stored
                journal = _prune_journal(_journal(meta) + [[when, run_id, tags]], self.full_refresh_seconds)
                shared_catalog.save(self.uri, experiment_id, "runs", INCREMENTAL, with_tags(frame, run_id, tags),
                                    extra={**meta, "lens.saved_at": repr(time.time()),
                                           "lens.tag_writes": json.dumps(journal)})

    def _changed_runs(self, experiment_id: str, known: pd.DataFrame,
                      checked_at: float) -> tuple[pd.DataFrame, list[str]] | None:
        """Adapters that refresh incrementally: the runs that may have changed since ``known`` was checked (epoch
        seconds), as a runs table, and the ids of known runs that are gone; None to ask for a full read. Also
        checks that the experiment is still there (as :meth:`_check_experiment`)."""
        return None

    def _shareable_token(self, experiment_id: str, token: Hashable | None, settled: Hashable | None
                         ) -> Hashable | None:
        """The token a table just read is stored under for other processes: one any process can take by itself
        (None: the table stays in this process). ``token`` is the probe taken before the read, ``settled`` the one
        that matches what was read (see :meth:`_settled_token`)."""
        return token if token is not None and settled == token else None

    def _shared(self, experiment_id: str, kind: str, token: Hashable | None) -> pd.DataFrame | None:
        """The table another process (or an earlier run of this one) stored under the current token, if any."""
        if token is None or not self.shares_catalog:
            return None
        return shared_catalog.load(self.uri, experiment_id, kind, token)

    def metric_history(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str] | None = None,
        max_points: int | None = None,
    ) -> pd.DataFrame:
        """Long history ``run_id, key, step, timestamp, value`` (timestamp in epoch ms), ordered by run (as
        given), key, then logging order (timestamp, step). ``keys=None`` means every metric of those runs.
        ``max_points`` caps each series, keeping every bucket's minimum and maximum so spikes stay visible."""
        run_ids = list(dict.fromkeys(str(r) for r in run_ids))
        if not run_ids or (keys is not None and len(keys) == 0):
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in HISTORY_COLUMNS.items()})
        with faults.translating(self, faults.GUARDED["metric_history"]):
            history = self._load_history(run_ids, None if keys is None else list(dict.fromkeys(keys)))
        history = _order_history(history, run_ids)
        history["value"] = from_mlflow_sentinel(history["value"])  # MLflow's ±max double back to ±inf
        if max_points is not None:
            history = downsample_minmax(history, max_points)
        return history

    @abstractmethod
    def run(self, run_id: str) -> RunDetail:
        """Params, latest metrics, tags, dataset inputs and child runs of one run (active or deleted)."""

    @abstractmethod
    def logged_models(self, run_id: str) -> tuple[LoggedModel, ...]:
        """The MLflow 3 logged models a run produced (its model outputs and the models naming it as source run),
        newest first, deleted ones left out. Empty for a run without any, for a run id the tracker does not know,
        and for trackers that keep no logged models (MLflow 2, TensorBoard)."""

    @abstractmethod
    def artifacts(self, run_id: str, path: str = "") -> list[ArtifactRef]:
        """The artifacts directly under ``path`` of a run's artifact root, folders first."""

    @abstractmethod
    def fetch_artifact(self, run_id: str, path: str) -> Path:
        """A local file (or folder) holding the artifact; remote artifacts go through the bounded file cache."""

    @abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Write run tags (ratings, notes). With :meth:`set_experiment_tags`, the only writes ExperimentLens
        makes."""

    @abstractmethod
    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """Write experiment tags (a metric's direction, ``lens.direction.<metric>``), other tags untouched."""

    def change_token(self, experiment_id: str) -> Hashable | None:
        """A cheap value that changes whenever the experiment's runs may have changed; ``None`` when the
        adapter cannot tell, in which case a runs table is trusted for ``ttl_seconds``."""
        return None

    def _settled_token(self, experiment_id: str, token: Hashable | None) -> Hashable | None:
        """The change token that describes what ``_load_runs`` just read (by default the one taken before)."""
        return token

    def forget(self) -> None:
        """Drop the catalog: the next ``runs()`` reads the tracker again."""
        with self._lock:
            self._catalog.clear()
            self._extremes.clear()

    # ---- adapter hooks ----------------------------------------------------------------------------------------
    @abstractmethod
    def _load_runs(self, experiment_id: str) -> pd.DataFrame: ...

    @abstractmethod
    def _load_history(self, run_ids: list[str], keys: list[str] | None) -> pd.DataFrame:
        """Rows ``run_id, key, step, timestamp, value`` for those runs (all keys when ``keys`` is None)."""

    def _load_extremes(self, experiment_id: str) -> pd.DataFrame:
        """Default: aggregate the full histories; adapters with a cheaper path override it."""
        run_ids = list(self.runs(experiment_id)["run_id"])
        history = self._load_history(run_ids, None) if run_ids else pd.DataFrame(columns=list(HISTORY_COLUMNS))
        return extremes_of(history)

    def _check_experiment(self, experiment_id: str) -> None:
        self.experiment(experiment_id)


def _full_refresh_seconds(value: float | str | None) -> float:
    for candidate in (value, os.environ.get("LENS_FULL_REFRESH_SECONDS")):
        if candidate is None or str(candidate).strip() == "":
            continue
        try:
            return max(0.0, float(candidate))
        except (TypeError, ValueError):
            continue
    return DEFAULT_FULL_REFRESH_SECONDS


def _epoch(meta: Mapping[str, str], key: str) -> float:
    try:
        return float(meta.get(key, "0") or 0)
    except ValueError:
        return 0.0


def _with_meta(frame: pd.DataFrame, meta: Mapping[str, str]) -> pd.DataFrame:
    frame.attrs[_FULL] = _epoch(meta, "lens.full_read_at")
    frame.attrs[_CHECKED] = _epoch(meta, "lens.checked_at")
    frame.attrs[_SAVED] = _epoch(meta, "lens.saved_at")
    return frame


def _journal(meta: Mapping[str, str]) -> list[list[Any]]:
    try:
        entries = json.loads(meta.get("lens.tag_writes", "[]"))
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, list) and len(e) == 3 and isinstance(e[2], dict)]


def _prune_journal(entries: list[list[Any]], full_refresh_seconds: float) -> list[list[Any]]:
    """Tag writes worth laying over a full read still to come: the last interval's (plus a margin), once each."""
    horizon = time.time() - full_refresh_seconds - 300.0
    unique = {(float(w), str(r), json.dumps(t, sort_keys=True)): [float(w), str(r), t] for w, r, t in entries}
    kept = sorted((e for e in unique.values() if e[0] >= horizon), key=lambda e: e[0])
    return kept[-TAG_WRITES_KEPT:]


def _shared_news(base: pd.DataFrame, update: pd.DataFrame, gone: Sequence[str]) -> bool:
    """Whether a refresh found what another process could not find by itself from the stored table: runs added,
    gone, or with a new status (metrics of running runs change all the time, and every refresh re-reads them)."""
    if len(gone):
        return True
    if not len(update):
        return False
    position = pd.Index(base["run_id"]).get_indexer(update["run_id"])
    if (position < 0).any():
        return True
    return bool((base["status"].to_numpy()[position] != update["status"].to_numpy()).any())


def extremes_of(history: pd.DataFrame) -> pd.DataFrame:
    """``run_id, key, min, max`` of a long history frame, NaN points ignored."""
    if history.empty:
        return pd.DataFrame({"run_id": pd.Series(dtype="str"), "key": pd.Series(dtype="str"),
                             "min": pd.Series(dtype="float64"), "max": pd.Series(dtype="float64")})
    grouped = history.astype({"value": "float64"}).groupby(["run_id", "key"], sort=False)["value"]
    return pd.DataFrame({"min": grouped.min(), "max": grouped.max()}).reset_index()


def _order_history(history: pd.DataFrame, run_ids: list[str]) -> pd.DataFrame:
    history = history.astype(HISTORY_COLUMNS)
    run_order = pd.Categorical(history["run_id"], categories=run_ids, ordered=True)
    return (
        history.assign(_run=run_order)
        .sort_values(["_run", "key", "timestamp", "step", "value"], kind="stable")
        .drop(columns="_run")
        .reset_index(drop=True)
    )
