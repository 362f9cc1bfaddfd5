"""Exceptions a user can act on. Every message says what is wrong and what to do."""
from __future__ import annotations


class LensError(Exception):
    """Base class of every error ExperimentLens raises on purpose. Its message never carries credentials."""

    def __str__(self) -> str:
        from lens_core.redact import redact

        return redact(super().__str__())


class UnknownTrackerSchemeError(LensError):
    """The tracking URI names a scheme no adapter handles."""


class TrackerNotFoundError(LensError):
    """The tracking URI points at a file or folder that does not exist or is not a tracker store."""


class TrackerUnreachableError(LensError):
    """A tracking server did not answer in time."""


class TrackerAuthError(LensError):
    """A tracking server refused our credentials (HTTP 401/403)."""


class UnsupportedStoreError(LensError):
    """The store exists but was written by a tracker version we cannot read."""


class ExperimentNotFoundError(LensError, KeyError):
    """No active experiment has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        from lens_core.redact import redact

        return redact(str(self.args[0])) if self.args else ""


class RunNotFoundError(LensError, KeyError):
    """No run has this id."""

    def __str__(self) -> str:
        from lens_core.redact import redact

        return redact(str(self.args[0])) if self.args else ""


class ArtifactNotFoundError(LensError, FileNotFoundError):
    """A run has no artifact at this path."""


class ArtifactsOnServerError(ArtifactNotFoundError):
    """A run's artifacts are ``mlflow-artifacts:`` URIs kept by the MLflow server that logged it, and no folder
    on this machine holds them (no ``mlartifacts/`` beside the store, no ``artifacts_destination`` configured)."""


class OutsideRootsError(ArtifactNotFoundError):
    """A file read was refused: its real path (symlinks resolved) is outside the folders ExperimentLens may read
    (the run's artifact folder, the store's folders, the artifact cache, the configured data roots)."""


class TrackerWriteError(LensError):
    """Writing tags back to the tracker failed."""


class TrackerFaultError(LensError):
    """The tracker failed in a way that may pass or that the user can fix: a store file that is locked, damaged
    or gone, a server answering something other than the MLflow API. Pages keep the last good data and offer
    Retry."""


class StoreBusyError(TrackerFaultError):
    """A sqlite store stayed locked by a writer longer than the busy timeout and the bounded retries."""


class StoreDamagedError(TrackerFaultError):
    """A sqlite store file was replaced by something that is not a database, truncated, emptied or deleted."""


class NotMlflowApiError(TrackerFaultError):
    """A tracking URL answered with a web page (e.g. a login proxy), not MLflow's JSON API."""
