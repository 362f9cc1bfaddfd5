"""Pick the adapter for a tracking URI. Adapters are imported on first use (MLflow alone costs ~1.3 s)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lens_core.errors import TrackerNotFoundError, UnknownTrackerSchemeError
from lens_core.trackers.base import Tracker

SUPPORTED = (
    "sqlite:////path/to/mlflow.db, postgresql://user:password@host:port/database, http(s)://host:port of an "
    "`mlflow server`, file:///path/to/mlruns or a plain "
    "path to an mlruns folder or a .db file, tensorboard:///path/to/logdir (or a plain path holding event files), "
    "or nothing for the built-in demo store"
)
_CLIENT_SCHEMES = ("mysql", "mssql", "databricks")


def open_tracker(
    uri: str | os.PathLike[str] | None = None,
    *,
    artifacts_destination: str | os.PathLike[str] | None = None,
    data_roots: str | os.PathLike[str] | list[str] | tuple[str, ...] | None = None,
    **options: Any,
) -> Tracker:
    """Open the tracker a URI names.

    ``None`` (or "") opens the embedded demo store, building it on first use. Options go to the adapter
    (e.g. ``mode="client"`` for sqlite, ``ttl_seconds=…``). ``artifacts_destination`` is the folder an
    ``mlflow server --artifacts-destination`` keeps ``mlflow-artifacts:`` files in, for a store read without its
    server (default: ``$LENS_ARTIFACTS_DESTINATION``, then ``mlartifacts/`` beside the store); ``data_roots``
    are folders dataset sources may be read from besides the store's own (added to ``$LENS_DATA_ROOTS``).

    >>> t = open_tracker("sqlite:////data/mlflow.db")      # doctest: +SKIP
    >>> t.runs(t.experiments()[0].experiment_id).shape    # doctest: +SKIP
    """
    tracker = _open_tracker(uri, options)
    tracker.artifacts_destination = str(artifacts_destination) if artifacts_destination else None  # type: ignore[attr-defined]
    if isinstance(data_roots, (str, os.PathLike)):
        data_roots = [str(data_roots)]
    tracker.data_roots = tuple(str(r) for r in data_roots or ())  # type: ignore[attr-defined]
    return tracker


def _open_tracker(uri: str | os.PathLike[str] | None, options: dict[str, Any]) -> Tracker:
    if uri is None or str(uri).strip() == "":
        from lens_core.demo import ensure_demo_store

        uri = ensure_demo_store()
    text = str(uri).strip()
    scheme = urlparse(text).scheme.lower()
    if scheme == "sqlite":
        return _sqlite(_sqlite_path(text), options)
    if scheme == "tensorboard":
        from lens_core.trackers.tensorboard import TensorBoardTracker

        return TensorBoardTracker(Path(unquote(urlparse(text).path)).expanduser(), **options)
    if scheme in ("http", "https"):
        from lens_core.trackers.mlflow_client import MlflowClientTracker

        return MlflowClientTracker(text.rstrip("/"), **options)
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        from lens_core.trackers.mlflow_postgres import PostgresTracker

        return PostgresTracker(text, **options)
    if scheme.split("+")[0] in _CLIENT_SCHEMES:
        from lens_core.trackers.mlflow_client import MlflowClientTracker

        return MlflowClientTracker(text, **options)
    if scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        path = Path(unquote(urlparse(text).path) if scheme == "file" else text).expanduser()
        return _local(path, options)
    raise UnknownTrackerSchemeError(f"ExperimentLens cannot open {text!r}: unknown scheme {scheme!r}. Use {SUPPORTED}.")


def _sqlite_path(uri: str) -> Path:
    # sqlite:////abs/path → /abs/path ; sqlite:///relative.db → relative.db (SQLAlchemy's convention)
    rest = uri[len("sqlite:") :]
    if rest.startswith("///"):
        rest = rest[3:]
    elif rest.startswith("//"):
        rest = rest[2:]
    return Path(unquote(rest.split("?")[0])).expanduser()


def _sqlite(path: Path, options: dict[str, Any]) -> Tracker:
    from lens_core.trackers.mlflow_sqlite import SqliteTracker

    return SqliteTracker(path, **options)


def _local(path: Path, options: dict[str, Any]) -> Tracker:
    if path.is_file():
        return _sqlite(path, options)
    if path.is_dir():
        from lens_core.trackers.mlruns import MlrunsTracker, looks_like_mlruns

        if looks_like_mlruns(path):
            return MlrunsTracker(path, **options)
        if (path / "mlflow.db").is_file():
            return _sqlite(path / "mlflow.db", options)
        if (path / "mlruns").is_dir() and looks_like_mlruns(path / "mlruns"):
            return MlrunsTracker(path / "mlruns", **options)
        from lens_core.trackers.tensorboard import TensorBoardTracker, looks_like_logdir

        if looks_like_logdir(path):
            return TensorBoardTracker(path, **options)
        raise TrackerNotFoundError(
            f"{path} is a folder but holds no MLflow experiments (no <id>/meta.yaml), no mlflow.db and no "
            "TensorBoard event files. Point at the mlruns folder or the TensorBoard logdir itself."
        )
    raise TrackerNotFoundError(f"Nothing at {path}. Check the path; use {SUPPORTED}.")


__all__ = ["Tracker", "open_tracker", "SUPPORTED"]
