"""Any MLflow tracking URI through MLflow's own client: the path for ``mlflow server`` over HTTP(S), for SQL
stores we do not read directly, and the reference the direct readers are tested against."""
from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from lens_core.confine import hide_paths
from lens_core.errors import (
    ArtifactNotFoundError,
    LensError,
    NotMlflowApiError,
    RunNotFoundError,
    TrackerAuthError,
    TrackerNotFoundError,
    TrackerUnreachableError,
    TrackerWriteError,
)
from lens_core.model import ArtifactRef, DatasetInput, Experiment, LoggedModel, RunDetail
from lens_core.paths import local_path_from_uri
from lens_core.trackers import http_runs
from lens_core.trackers.artifacts import (
    ArtifactCache,
    check_artifact_path,
    download_remote,
    fetch_local,
    list_local,
    list_remote,
)
from lens_core.trackers.base import Tracker
from lens_core.trackers.faults import WEB_PAGE, classify
from lens_core.trackers.http_runs import AdaptivePager, RunsAccumulator
from lens_core.trackers.progress import EVERY_SECONDS
from lens_core.trackers.runs_table import build_runs_table, sort_runs, to_utc_times

#: Seconds the opening probe of a server may take before we call it unreachable.
PROBE_TIMEOUT_SECONDS = 5
#: Seconds a server that has been quiet for ``ALIVE_SECONDS`` may take to answer a one-row request before a read:
#: a server that hangs (accepts, never answers) is declared stale in this time, not after the request timeout.
ALIVE_TIMEOUT_SECONDS = 5
ALIVE_SECONDS = 2.0
_PAGE_RUNS = 5_000  # runs per search request through MLflow's client (SQL stores read through it)
#: HTTP: a runs table is re-checked (incrementally: new, running and just-finished runs) after this many seconds.
HTTP_TTL_SECONDS = 10.0
#: Incremental refresh looks this far before the newest known start time and the last check (client clocks
#: differ; MLflow sets a run's start time on the machine that logs it).
REFRESH_MARGIN_MS = 60_000
#: Incremental refresh re-reads the running runs that started within this many days; older ones (crashed jobs
#: never end their run) when they end, and at the full re-read.
RUNNING_WINDOW_DAYS = 7
_IDS_PER_QUERY = 100  # run ids per ``attributes.run_id IN (…)`` filter
_SEARCH = "/api/2.0/mlflow/runs/search"
_BULK_RUN_IDS = 100  # ajax-api metrics/get-history-bulk accepts at most 100 runs …
_BULK_MAX_POINTS = 25_000  # … and returns at most 25,000 points per call
_RUN_ID = re.compile(r"^[0-9A-Za-z_\-]{1,64}$")


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # MLflow's defaults (120 s, 7 retries) keep a page waiting for minutes on a server that hangs. A server quiet
    # for a while is first asked a one-row question (ALIVE_TIMEOUT_SECONDS), so a hung server is caught in
    # seconds; a request still hanging mid-way gives up after 15 s, once (no retry: 15 s in all, not 30). Requests
    # are kept small enough to fit (see _PAGE_RUNS); a page's Retry stands in for MLflow's retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")


def _request_timeout() -> float:
    try:
        return float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "15"))
    except ValueError:
        return 15.0


class MlflowClientTracker(Tracker):
    kind = "mlflow"

    def __init__(self, uri: str, **options: Any) -> None:
        _quiet_mlflow()
        self.is_http = uri.startswith(("http://", "https://"))
        if self.is_http:
            options.setdefault("ttl_seconds", HTTP_TTL_SECONDS)
        super().__init__(uri, **options)
        from mlflow import MlflowClient

        self.kind = "http" if self.is_http else "mlflow"
        self.refreshes_runs = self.is_http  # no change token over HTTP: incremental refresh instead
        self.pages: list[tuple[int, int, float, float]] = []  # (asked, got, seconds, timeout) of the last read
        self._alive_at = float("-inf")
        if self.is_http:
            if urlparse(uri).query:
                raise NotMlflowApiError(
                    f"The tracking URL {self.display_uri} has a query string (?…), which MLflow's client cannot use: "
                    "it puts its API paths after it, so the URL answers with a web page, not the MLflow API. Use "
                    "the API URL without the query, and a token in MLFLOW_TRACKING_TOKEN (or "
                    "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)."
                )
            self._probe()
        self.client = MlflowClient(tracking_uri=uri)
        self._cache = ArtifactCache()
        self._artifact_uris: dict[str, str] = {}  # run id → artifact URI (fixed when the run is created)

    # ---- errors -----------------------------------------------------------------------------------------------
    def _probe(self, *, mid_session: bool = False) -> None:
        """One quick request without retries, so a wrong URL fails in seconds with a precise message; mid-session
        (:meth:`_check_alive`), a server that stopped answering is said to have stopped."""
        import requests
        from mlflow.exceptions import MlflowException
        from mlflow.utils.credentials import get_default_host_creds
        from mlflow.utils.rest_utils import http_request

        timeout = ALIVE_TIMEOUT_SECONDS if mid_session else PROBE_TIMEOUT_SECONDS
        try:
            response = http_request(
                get_default_host_creds(self.uri),
                "/api/2.0/mlflow/experiments/search",
                "GET",
                max_retries=0,
                timeout=timeout,
                raise_on_status=False,
                params={"max_results": 1},
            )
        except (MlflowException, requests.exceptions.RequestException, OSError) as exc:
            if mid_session:
                raise TrackerUnreachableError(
                    f"The MLflow server at {self.display_uri} stopped answering (nothing within {timeout} s, "
                    f"{type(exc).__name__}). It may be overloaded, paused or restarting; try again in a moment."
                ) from exc
            raise TrackerUnreachableError(
                f"The MLflow server at {self.uri} did not answer within {timeout} s ({type(exc).__name__}). "
                "Check that it is running and that the URL, port and network are right."
            ) from exc
        if mid_session and response.status_code >= 500:
            raise TrackerUnreachableError(
                f"The MLflow server at {self.display_uri} stopped answering (HTTP {response.status_code}). It may be "
                "restarting or overloaded; try again in a moment."
            )
        _raise_for_status(self.uri, response.status_code, response.text)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise NotMlflowApiError(f"The tracking URL {self.display_uri} {WEB_PAGE}")

    def _check_alive(self) -> None:
        """Before a read, a server quiet for ``ALIVE_SECONDS`` answers a one-row request within
        ``ALIVE_TIMEOUT_SECONDS``, or the read fails at once (instead of after the request timeout)."""
        if self.is_http and time.monotonic() - self._alive_at > ALIVE_SECONDS:
            self._probe(mid_session=True)
            self._alive_at = time.monotonic()

    @contextmanager
    def _errors(self, what: str = "", run_id: str | None = None) -> Iterator[None]:
        """Requests to the tracker: a run id it does not know is RunNotFoundError; transport faults (see
        :func:`lens_core.trackers.faults.classify`) are LensErrors; any other refusal goes to the caller."""
        from mlflow.exceptions import MlflowException, RestException

        try:
            self._check_alive()
            yield
        except LensError:
            self._alive_at = float("-inf")
            raise
        except Exception as exc:
            if run_id is not None and isinstance(exc, MlflowException):
                text = str(exc).lower()
                codes = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE")
                if exc.error_code in codes if isinstance(exc, RestException) else (
                        "not found" in text or exc.error_code == "RESOURCE_DOES_NOT_EXIST"):
                    raise RunNotFoundError(f"No run with id {run_id!r} on {self.uri}.") from exc
            if (fault := classify(exc, self, what or "reading")) is not None:
                self._alive_at = float("-inf")
                raise fault from exc
            raise  # a request the server refused (unknown id, bad value): the caller decides what it means
        else:
            self._alive_at = time.monotonic()

    # ---- reading ----------------------------------------------------------------------------------------------
    def experiments(self) -> list[Experiment]:
        from mlflow.entities import ViewType

        out: list[Experiment] = []
        token = None
        with self._errors("listing experiments"):
            while True:
                page = self.client.search_experiments(
                    view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token
                )
                for e in page:
                    created = to_utc_times([e.creation_time])[0] if e.creation_time else None
                    out.append(Experiment(e.experiment_id, e.name, e.artifact_location or "", created, dict(e.tags)))
                token = page.token
                if not token:
                    break
        return sorted(out, key=lambda e: (len(e.experiment_id), e.experiment_id))

    def _search_all(self, experiment_id: str, filter_string: str = "") -> list[Any]:
        from mlflow.entities import ViewType

        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string, ViewType.ACTIVE_ONLY, _PAGE_RUNS, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _load_runs(self, experiment_id: str) -> pd.DataFrame:
        if self.is_http:
            with self._errors("reading runs"), self._progress.reading(experiment_id) as update:
                found = self._search_json(experiment_id, "", update)
            return found.table()
        with self._errors("reading runs"):
            runs = self._search_all(experiment_id)
        info = pd.DataFrame(
            {
                "run_id": [r.info.run_id for r in runs],
                "run_name": [r.info.run_name for r in runs],
                "experiment_id": [r.info.experiment_id for r in runs],
                "status": [r.info.status for r in runs],
                "artifact_uri": [r.info.artifact_uri for r in runs],
                "start_time": pd.array([r.info.start_time for r in runs], dtype="Int64"),
                "end_time": pd.array([r.info.end_time for r in runs], dtype="Int64"),
            }
        )

        def long(attr: str) -> pd.DataFrame:
            rows = [(r.info.run_id, k, v) for r in runs for k, v in getattr(r.data, attr).items()]
            return pd.DataFrame(rows, columns=["run_id", "key", "value"])

        return build_runs_table(sort_runs(info), long("metrics"), long("params"), long("tags"))

    # ---- HTTP: runs/search straight from the JSON -------------------------------------------------------------
    def _search_json(self, experiment_id: str, filter_string: str = "",
                     update: Callable[..., None] | None = None, into: Any = None) -> Any:
        """Every active run of the experiment matching ``filter_string``, paged by an :class:`AdaptivePager`;
        ``update(runs_read=…, pages=…)`` after each page and as a heartbeat while one is on its way. A page that
        times out while the server still answers the liveness probe is asked again, smaller (twice at most)."""
        pager = AdaptivePager(_request_timeout(), first=http_runs.FIRST_PAGE_RUNS,
                              smallest=http_runs.SMALLEST_PAGE_RUNS, largest=http_runs.LARGEST_PAGE_RUNS)
        found = into if into is not None else RunsAccumulator()
        token: str | None = None
        pages, retries = 0, 0
        log: list[tuple[int, int, float, float]] = []
        if into is None:
            self.pages = log  # the pages of the last full read (benchmarks print them)
        while True:
            body: dict[str, Any] = {"experiment_ids": [str(experiment_id)], "filter": filter_string,
                                    "run_view_type": "ACTIVE_ONLY", "max_results": pager.size}
            if token:
                body["page_token"] = token
            asked, timeout, began = pager.size, pager.timeout(), time.monotonic()
            try:
                answer = self._post_search(body, timeout, update)
            except Exception as exc:
                if not _timed_out(exc) or retries >= 2:
                    raise
                self._probe(mid_session=True)  # a hung server fails here, within ALIVE_TIMEOUT_SECONDS
                pager.timed_out()
                retries += 1
                continue
            retries = 0
            runs = answer.get("runs") or []
            took = time.monotonic() - began
            log.append((asked, len(runs), took, timeout))
            pager.record(asked, len(runs), took)
            found.add(runs)
            pages += 1
            if update is not None and pages == 1 and into is None and answer.get("next_page_token"):
                update(runs_read=len(found), pages=pages, preview=found.table())  # the newest runs, to show at once
            elif update is not None:
                update(runs_read=len(found), pages=pages)
            token = answer.get("next_page_token") or None
            if not token or not runs:
                return found

    def _post_search(self, body: dict[str, Any], timeout: float,
                     update: Callable[..., None] | None) -> dict[str, Any]:
        """One ``runs/search`` request (no retries) in a helper thread, so the caller can report progress while
        it waits; errors as MLflow's client raises them."""
        from mlflow.utils.credentials import get_default_host_creds
        from mlflow.utils.rest_utils import http_request, verify_rest_response

        outcome: dict[str, Any] = {}

        def ask() -> None:
            try:
                response = http_request(get_default_host_creds(self.uri), _SEARCH, "POST", json=body,
                                        max_retries=0, timeout=timeout, raise_on_status=False)
                verify_rest_response(response, _SEARCH)
                outcome["answer"] = json.loads(response.text)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                outcome["error"] = exc

        worker = threading.Thread(target=ask, name="lens-http-page", daemon=True)
        worker.start()
        while True:
            worker.join(EVERY_SECONDS)
            if not worker.is_alive():
                break
            if update is not None:
                update()  # heartbeat: the elapsed time moves on
        if "error" in outcome:
            raise outcome["error"]
        answer = outcome.get("answer")
        if not isinstance(answer, dict):
            raise NotMlflowApiError(f"The tracking URL {self.display_uri} {WEB_PAGE}")
        return answer

    def _changed_runs(self, experiment_id: str, known: pd.DataFrame,
                      checked_at: float) -> tuple[pd.DataFrame, list[str]] | None:
        """What can have changed since ``checked_at`` (epoch s), in three cheap filtered searches sent together
        (MLflow's search has no "changed since" and no OR): runs started since the newest known start (new runs),
        runs RUNNING now that started within :data:`RUNNING_WINDOW_DAYS` (their metrics move; resumed runs), and
        runs that ended since the last check (any age: a forgotten running run that is finally killed); then the
        known recent running runs none of these returned, by id (those not found were deleted). Left to the next
        full read: tag edits on finished runs by other tools, deleted finished runs, and the metrics of runs
        still running after a week (usually crashed jobs that never ended their run)."""
        if not self.is_http or known.empty:
            return None
        starts = known["start_time"]
        if not pd.api.types.is_datetime64_any_dtype(starts) or starts.isna().all():
            return None
        newest = int(starts.max().timestamp() * 1000)
        since = int(checked_at * 1000)
        recent = int(time.time() * 1000) - RUNNING_WINDOW_DAYS * 86_400_000
        filters = [f"attributes.start_time >= {newest - REFRESH_MARGIN_MS}",
                   f"attributes.status = 'RUNNING' AND attributes.start_time >= {recent}",
                   f"attributes.end_time >= {since - REFRESH_MARGIN_MS}"]
        found = RunsAccumulator()
        with self._errors("checking for new runs"):
            self._search_together(experiment_id, filters, found, also=lambda: self._check_experiment(experiment_id))
            running = known.loc[(known["status"] == "RUNNING") & (starts >= pd.Timestamp(recent, unit="ms", tz="UTC")),
                                "run_id"]
            missing = [r for r in running if r not in found.seen and _RUN_ID.match(r)]
            by_id = [f"attributes.run_id IN ({', '.join(repr(str(r)) for r in missing[i:i + _IDS_PER_QUERY])})"
                     for i in range(0, len(missing), _IDS_PER_QUERY)]
            self._search_together(experiment_id, by_id, found)
        gone = [r for r in missing if r not in found.seen]
        return found.table(), gone

    def _search_together(self, experiment_id: str, filters: list[str], found: RunsAccumulator,
                         also: Callable[[], None] | None = None) -> None:
        """Several small searches (and ``also``) at once — the server answers them in parallel — gathered in
        order."""
        answers = [_RawRuns() for _ in filters]
        tasks: list[Callable[[], Any]] = [functools.partial(self._search_json, experiment_id, f, None, answer)
                                          for f, answer in zip(filters, answers, strict=True)]
        tasks += [also] if also is not None else []
        if len(tasks) == 1:
            tasks[0]()
        elif tasks:
            with ThreadPoolExecutor(max_workers=min(4, len(tasks)), thread_name_prefix="lens-http-check") as pool:
                for future in [pool.submit(task) for task in tasks]:
                    future.result()
        for answer in answers:
            found.add(answer.runs)

    def _check_experiment(self, experiment_id: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            with self._errors("checking the experiment"):
                experiment = self.client.get_experiment(experiment_id)
        except MlflowException:
            experiment = None
        if experiment is None or experiment.lifecycle_stage != "active":
            super()._check_experiment(experiment_id)

    def _load_history(self, run_ids: list[str], keys: list[str] | None) -> pd.DataFrame:
        rows: list[tuple[str, str, int, int, float]] = []
        with self._errors("reading metric histories"):
            if keys is None:
                keys_of = {r: list(self.client.get_run(r).data.metrics) for r in run_ids}
            else:
                keys_of = {r: keys for r in run_ids}
            for key in dict.fromkeys(k for ks in keys_of.values() for k in ks):
                wanted = [r for r in run_ids if key in keys_of[r]]
                rows += self._history_of_key(wanted, key)
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"])

    def _history_of_key(self, run_ids: list[str], key: str) -> list[tuple[str, str, int, int, float]]:
        rows: list[tuple[str, str, int, int, float]] = []
        remaining = list(run_ids)
        if self.is_http:  # the UI's bulk endpoint: one request for up to 100 runs
            remaining = []
            for start in range(0, len(run_ids), _BULK_RUN_IDS):
                chunk = run_ids[start : start + _BULK_RUN_IDS]
                points = self._bulk_history(chunk, key)
                if points is None or len(points) >= _BULK_MAX_POINTS:
                    remaining += chunk  # truncated or unavailable: page through the public API instead
                    continue
                rows += [(p["run_id"], key, int(p.get("step", 0)), int(p["timestamp"]), float(p["value"]))
                         for p in points]
        for run_id in remaining:
            for m in self.client.get_metric_history(run_id, key):
                rows.append((run_id, key, m.step, m.timestamp, m.value))
        return rows

    def _bulk_history(self, run_ids: list[str], key: str) -> list[dict[str, Any]] | None:
        from mlflow.utils.credentials import get_default_host_creds
        from mlflow.utils.rest_utils import http_request

        response = http_request(
            get_default_host_creds(self.uri),
            "/ajax-api/2.0/mlflow/metrics/get-history-bulk",
            "GET",
            raise_on_status=False,
            params={"run_id": run_ids, "metric_key": key, "max_results": _BULK_MAX_POINTS},
        )
        if response.status_code != 200:
            return None
        return response.json().get("metrics", [])

    def run(self, run_id: str) -> RunDetail:
        _check_run_id(run_id)
        with self._errors("reading a run", run_id=run_id):
            run = self.client.get_run(run_id)
            children = self._search_all(run.info.experiment_id, f"tags.mlflow.parentRunId = '{run_id}'")
        inputs = tuple(
            DatasetInput(
                name=d.dataset.name,
                digest=d.dataset.digest,
                source_type=d.dataset.source_type,
                source=d.dataset.source,
                schema=d.dataset.schema or "",
                profile=d.dataset.profile or "",
                context=next((t.value for t in d.tags if t.key == "mlflow.data.context"), ""),
            )
            for d in sorted(run.inputs.dataset_inputs if run.inputs else [], key=lambda d: d.dataset.name)
        )
        times = to_utc_times([run.info.start_time, run.info.end_time])
        return RunDetail(
            run_id=run.info.run_id,
            experiment_id=run.info.experiment_id,
            run_name=run.info.run_name or run.data.tags.get("mlflow.runName", ""),
            status=run.info.status,
            start_time=None if pd.isna(times[0]) else times[0],
            end_time=None if pd.isna(times[1]) else times[1],
            user_id=run.info.user_id or "",
            artifact_uri=run.info.artifact_uri or "",
            lifecycle_stage=run.info.lifecycle_stage,
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
            tags=dict(run.data.tags),
            inputs=inputs,
            child_run_ids=tuple(r.info.run_id for r in sorted(children, key=lambda r: r.info.start_time or 0)),
        )

    def logged_models(self, run_id: str) -> tuple[LoggedModel, ...]:
        from mlflow.exceptions import MlflowException

        if not _RUN_ID.match(str(run_id)):
            return ()  # no run has this id, and it must not reach the filter string
        try:
            with self._errors("reading a run's logged models"):
                run = self.client.get_run(run_id)
                found = {m.model_id: m for m in self.client.search_logged_models(
                    experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")}
        except MlflowException:  # an unknown run, or an MLflow 2 server: no logged models
            return ()
        for output in run.outputs.model_outputs if run.outputs else []:
            if output.model_id not in found:  # a model the run produced from another run's source
                try:
                    with self._errors("reading a run's logged models"):
                        found[output.model_id] = self.client.get_logged_model(output.model_id)
                except MlflowException:  # deleted since
                    continue
        models = sorted(found.values(), key=lambda m: -(m.creation_timestamp or 0))
        return tuple(LoggedModel(m.model_id, m.name or "", m.artifact_location or "") for m in models)

    def _artifact_root(self, run_id: str) -> tuple[str, Path | None]:
        """The run's artifact URI, and the folder it names when it is a local path (read here directly, under the
        same confinement as a local store, rather than through MLflow's local repository, which follows links)."""
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            with self._errors("reading a run", run_id=run_id):
                uri = self.client.get_run(run_id).info.artifact_uri or ""
            self._artifact_uris[run_id] = uri
        local = local_path_from_uri(uri)
        return uri, None if local is None else local.absolute()

    def artifacts(self, run_id: str, path: str = "") -> list[ArtifactRef]:
        from mlflow.exceptions import MlflowException

        _check_run_id(run_id)
        check_artifact_path(path)
        uri, local = self._artifact_root(run_id)
        if local is not None:
            return list_local(local, path)
        try:
            with self._errors("listing artifacts"):
                return list_remote(uri, path, self.uri)
        except (OSError, MlflowException) as exc:
            raise ArtifactNotFoundError(f"The artifacts of run {run_id} under {path!r} could not be listed: "
                                        f"{hide_paths(str(exc))[:300]}") from exc

    def fetch_artifact(self, run_id: str, path: str) -> Path:
        from mlflow.exceptions import MlflowException

        _check_run_id(run_id)
        check_artifact_path(path)
        uri, local = self._artifact_root(run_id)
        if local is not None:
            return fetch_local(local, path, run_id)
        try:
            with self._errors("downloading an artifact"):
                return download_remote(uri, path, self.uri, self._cache)
        except (OSError, MlflowException) as exc:
            raise ArtifactNotFoundError(
                f"Run {run_id} has no readable artifact {path!r}: {hide_paths(str(exc))[:300]}") from exc

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag
        from mlflow.exceptions import MlflowException

        _check_run_id(run_id)
        try:
            with self._errors("saving tags", run_id=run_id):
                self.client.log_batch(run_id, tags=[RunTag(str(k), str(v)) for k, v in tags.items()])
        except MlflowException as exc:
            raise TrackerWriteError(f"Could not save tags on run {run_id}: {exc}") from exc
        self._tags_written(run_id, tags)  # HTTP: the tables in memory and the shared catalog get them at once

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.exceptions import MlflowException

        self.experiment(experiment_id)
        try:
            with self._errors("saving experiment tags"):
                for key, value in tags.items():
                    self.client.set_experiment_tag(str(experiment_id), str(key), str(value))
        except MlflowException as exc:
            raise TrackerWriteError(f"Could not save tags on experiment {experiment_id}: {exc}") from exc
        self.forget()


class _RawRuns:
    """The runs of a search as the server sent them (gathered in a helper thread)."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.runs)

    def add(self, runs: list[dict[str, Any]]) -> int:
        self.runs.extend(runs)
        return len(runs)


def _timed_out(exc: BaseException) -> bool:
    """Whether a request failed by its read timeout (not by a refused or broken connection)."""
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        timeout = isinstance(seen, requests.exceptions.Timeout)
        if isinstance(seen, requests.exceptions.ReadTimeout) or (
                timeout and not isinstance(seen, requests.exceptions.ConnectTimeout)):
            return True
        if "read timed out" in str(seen).lower():  # urllib3 without retries: MaxRetryError(ReadTimeoutError)
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_run_id(run_id: str) -> None:
    if not _RUN_ID.match(str(run_id)):
        raise RunNotFoundError(f"{run_id!r} is not a run id (expected 32 hexadecimal characters).")


def _raise_for_status(uri: str, status: int, body: str) -> None:
    if status in (401, 403):
        raise TrackerAuthError(
            f"The MLflow server at {uri} refused access (HTTP {status}). Set MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) to an account that can read this server."
        )
    if status == 404:
        raise TrackerNotFoundError(
            f"{uri} answered 404 for MLflow's REST API: it is not an MLflow tracking server, or the URL needs "
            "a path prefix (e.g. https://host/mlflow)."
        )
    if status >= 400:
        raise TrackerUnreachableError(f"The MLflow server at {uri} answered HTTP {status}: {body[:200]}")
