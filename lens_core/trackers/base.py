"""The tracker interface every adapter implements, and the behaviour they share.

Adapters implement the ``_load_*`` / ``_list_*`` hooks; this class adds the local catalog cache (an unchanged
experiment is never read twice: each adapter supplies a cheap change token), history downsampling and id checks.
Every public read and write runs under :func:`lens_core.trackers.faults.translating` (adapters' own methods are
wrapped when the subclass is created), so callers only ever see LensErrors; experiments, runs tables, metric
extremes and runs fall back to the last good data when the tracker stops answering or its store fails.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from lens_core.errors import ExperimentNotFoundError
from lens_core.format import from_mlflow_sentinel, sentinels_to_inf
from lens_core.model import ArtifactRef, Experiment, LoggedModel, RunDetail
from lens_core.redact import redact
from lens_core.trackers import faults, shared_catalog
from lens_core.trackers.faults import LAST_GOOD_ERRORS
from lens_core.trackers.series import HISTORY_COLUMNS, downsample_minmax

#: How long a runs table is trusted when an adapter has no change token (e.g. over HTTP), in seconds.
DEFAULT_TTL_SECONDS = 30.0
#: How many experiments' runs tables one tracker keeps in memory.
CATALOG_SIZE = 8
#: How many runs' details one tracker keeps as last good data.
LAST_RUNS = 64

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

    def __init__(self, uri: str, *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.uri = uri
        self._ttl_seconds = ttl_seconds
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
        the adapter has none, loaded less than ``ttl_seconds`` ago). Least recently used experiments go first.
        When the tracker fails, the frame read last, its ``attrs["lens.stale_error"]`` saying why."""
        what = faults.GUARDED["runs" if check else "metric_extremes"]
        now = time.monotonic()
        with self._lock:
            cached = store.get(experiment_id)
        try:
            with faults.translating(self, what, fail_fast=False):
                token = self.change_token(experiment_id)
            if cached is not None:
                cached_token, loaded_at, frame = cached
                if cached_token == token if token is not None else now - loaded_at < self._ttl_seconds:
                    with self._lock:
                        store.move_to_end(experiment_id)
                    return frame.copy()
            with faults.translating(self, what):
                if check:
                    self._check_experiment(experiment_id)
                kind = "runs" if check else "extremes"
                frame = self._shared(experiment_id, kind, token)
                if frame is None:
                    frame = load(experiment_id)
                    settled = self._settled_token(experiment_id, token)
                    # Shared only under a token any process can take (mlruns watches running runs more closely
                    # than a fresh process can: while some run, the table stays in this process).
                    if token is not None and settled == token and self.shares_catalog:
                        shared_catalog.save(self.uri, experiment_id, kind, token, frame)
                    token = settled
        except LAST_GOOD_ERRORS as exc:
            if cached is None:
                raise
            faults.note_stale(exc)
            stale = cached[2].copy()  # the last good table, labelled: better than an empty page
            stale.attrs["lens.stale_error"] = str(exc)
            return stale
        frame.attrs["lens.loaded_at"] = pd.Timestamp.now(tz="UTC")
        with self._lock:
            store[experiment_id] = (token, now, frame)
            store.move_to_end(experiment_id)
            while len(store) > CATALOG_SIZE:
                store.popitem(last=False)
        return frame.copy()

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
