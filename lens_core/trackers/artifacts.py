"""Artifact access shared by the adapters: local artifact roots, remote repositories, a bounded file cache."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from lens_core.confine import confine, confine_tree, is_inside, real
from lens_core.errors import ArtifactNotFoundError, ArtifactsOnServerError
from lens_core.model import ArtifactRef
from lens_core.paths import cache_dir

#: Upper bound of the artifact download cache; least recently used entries go first.
CACHE_LIMIT_BYTES = 2 * 1024**3
#: Where an ``mlflow server --artifacts-destination`` folder is on this machine (also ``[lens]
#: artifacts_destination`` in secrets.toml, passed to ``open_tracker(..., artifacts_destination=...)``).
ARTIFACTS_DESTINATION_ENV = "LENS_ARTIFACTS_DESTINATION"
#: The folder ``mlflow server`` keeps proxied artifacts in by default (relative to where it was started).
DEFAULT_DESTINATION = "mlartifacts"
SERVER_KEPT = (
    "Artifacts are kept by the MLflow server that logged this run (its artifact URI is mlflow-artifacts:/…); set "
    "`artifacts_destination` under `[lens]` in `.streamlit/secrets.toml` (or the `LENS_ARTIFACTS_DESTINATION` "
    "environment variable) to the folder that server stores them in (its `--artifacts-destination`, by default "
    "`mlartifacts/` where it was started) to read them, or open the server's URL instead of its database."
)
OUTSIDE = "This artifact points outside the run's folder."
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_artifact_path(path: str) -> str:
    """``path`` unchanged when it stays inside an artifact folder; :class:`ArtifactNotFoundError` for ``..``
    segments, absolute paths, drive letters and NUL bytes — also once or twice percent-decoded, and with
    backslashes read as separators. Every adapter calls it before any I/O."""
    text = "" if path is None else str(path)
    variants = {text, unquote(text), unquote(unquote(text))}
    for variant in variants:
        slashed = variant.replace("\\", "/")
        parts = slashed.split("/")
        if ("\x00" in variant or slashed.startswith("/") or any(p.strip() == ".." for p in parts)
                or _DRIVE.match(slashed)):
            raise ArtifactNotFoundError(
                f"Artifact path {text!r} leaves the run's artifact folder: `..` and absolute paths are refused."
            )
    return text


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative`` refusing paths that climb out of ``root`` (by their text; :func:`fetch_local` and
    :func:`list_local` also resolve symlinks)."""
    parts = PurePosixPath(check_artifact_path(relative).replace("\\", "/")).parts
    return root.joinpath(*parts)


def list_local(root: Path, path: str) -> list[ArtifactRef]:
    """The artifacts directly under ``path`` of a local artifact folder. A folder reached through a symlink out of
    ``root`` is refused; entries that are symlinks out of it are listed without a size (opening them is refused)."""
    folder = safe_join(root, path)
    if not os.path.lexists(folder):
        return []
    folder = confine(folder, [root], OUTSIDE)
    if not folder.is_dir():
        if folder.exists():
            return [ArtifactRef(path=path, is_dir=False, file_size=folder.stat().st_size)]
        return []
    base = real(root)
    prefix = path.strip("/")
    refs = []
    for entry in os.scandir(folder):
        rel = f"{prefix}/{entry.name}" if prefix else entry.name
        if entry.is_symlink() and not is_inside(entry.path, [base]):
            refs.append(ArtifactRef(path=rel, is_dir=False, file_size=None))
            continue
        try:
            is_dir = entry.is_dir()
            refs.append(ArtifactRef(path=rel, is_dir=is_dir, file_size=None if is_dir else entry.stat().st_size))
        except OSError:  # a dangling link
            refs.append(ArtifactRef(path=rel, is_dir=False, file_size=None))
    return sort_refs(refs)


def fetch_local(root: Path, path: str, run_id: str) -> Path:
    """The real path of an artifact under a local artifact folder, refused when it resolves outside the folder
    (a symlinked file, or a folder holding a link out of it)."""
    target = safe_join(root, path)
    if not os.path.lexists(target):
        raise ArtifactNotFoundError(f"Run {run_id} has no artifact {path!r}.")
    resolved = confine(target, [root], OUTSIDE)
    if not resolved.exists():
        raise ArtifactNotFoundError(f"Run {run_id} has no artifact {path!r}.")
    if resolved.is_dir():
        confine_tree(resolved, [root], "This artifact folder holds a link to a file outside the run's folder.")
    return resolved


def artifacts_destinations(tracker: Any, beside: Path | None) -> list[Path]:
    """Where ``mlflow-artifacts:`` files may be on this machine: the configured destination (the tracker's
    ``artifacts_destination`` option, else ``LENS_ARTIFACTS_DESTINATION``), then ``mlartifacts/`` in ``beside``
    (the folder holding the store)."""
    found = []
    configured = getattr(tracker, "artifacts_destination", None) or os.environ.get(ARTIFACTS_DESTINATION_ENV, "")
    if str(configured).strip():
        found.append(Path(str(configured).strip()).expanduser())
    if beside is not None:
        found.append(beside / DEFAULT_DESTINATION)
    return found


def is_mlflow_artifacts(uri: str) -> bool:
    return urlparse(uri or "").scheme == "mlflow-artifacts"


def mlflow_artifacts_local(uri: str, destinations: Sequence[Path]) -> Path | None:
    """``mlflow-artifacts:/<exp>/<run>/artifacts`` (also ``mlflow-artifacts://host:port/…``) as
    ``<destination>/<exp>/<run>/artifacts`` under the first destination folder that exists; None when none does."""
    relative = unquote(urlparse(uri).path).lstrip("/")
    check_artifact_path(relative)
    for destination in destinations:
        if destination.is_dir():
            return destination.joinpath(*PurePosixPath(relative).parts)
    return None


def server_kept_error() -> ArtifactsOnServerError:
    return ArtifactsOnServerError(SERVER_KEPT)


def sort_refs(refs: list[ArtifactRef]) -> list[ArtifactRef]:
    return sorted(refs, key=lambda r: (not r.is_dir, r.path.lower()))


class ArtifactCache:
    """Downloaded artifacts under ``cache_dir()/artifacts``, bounded in total size (LRU by access time)."""

    def __init__(self, root: Path | None = None, limit_bytes: int = CACHE_LIMIT_BYTES) -> None:
        self.root = root or cache_dir() / "artifacts"
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()

    def get(self, key: str, download: Callable[[Path], Path]) -> Path:
        """The cached copy for ``key``; ``download(dst_dir)`` fills an empty folder and returns the file."""
        slot = self.root / hashlib.sha256(key.encode()).hexdigest()[:32]
        with self._lock:
            if slot.exists() and (found := self._entry(slot)) is not None:
                os.utime(slot)
                return found
            shutil.rmtree(slot, ignore_errors=True)
            slot.mkdir(parents=True)
            try:
                result = download(slot)
            except Exception:
                shutil.rmtree(slot, ignore_errors=True)
                raise
            if not is_inside(result, [slot]):
                shutil.rmtree(slot, ignore_errors=True)
                raise ArtifactNotFoundError("The downloaded artifact points outside the artifact cache.")
            (slot / ".lens-entry").write_text(str(Path(result).relative_to(slot)))
            self._evict(keep=slot)
            return Path(result)

    @staticmethod
    def _entry(slot: Path) -> Path | None:
        marker = slot / ".lens-entry"
        if not marker.exists():
            return None
        path = slot / marker.read_text()
        if not path.exists() or not is_inside(path, [slot]):
            return None
        return path

    def _evict(self, keep: Path) -> None:
        slots = [p for p in self.root.iterdir() if p.is_dir()]
        sizes = {p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in slots}
        total = sum(sizes.values())
        for slot in sorted(slots, key=lambda p: p.stat().st_mtime):
            if total <= self.limit_bytes:
                break
            if slot != keep:
                shutil.rmtree(slot, ignore_errors=True)
                total -= sizes[slot]


def download_remote(artifact_uri: str, path: str, tracking_uri: str | None, cache: ArtifactCache) -> Path:
    """Fetch ``path`` under a remote artifact root through MLflow's artifact repositories, via the cache."""

    check_artifact_path(path)
    if is_mlflow_artifacts(artifact_uri) and not str(tracking_uri or "").startswith(("http://", "https://")):
        raise server_kept_error()  # MLflow would advise a localhost:5000 tracking URI

    def download(dst: Path) -> Path:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo = get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
        return Path(repo.download_artifacts(path, dst_path=str(dst)))

    return cache.get(f"{artifact_uri}|{path}", download)


def list_remote(artifact_uri: str, path: str, tracking_uri: str | None) -> list[ArtifactRef]:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    check_artifact_path(path)
    if is_mlflow_artifacts(artifact_uri) and not str(tracking_uri or "").startswith(("http://", "https://")):
        raise server_kept_error()
    repo = get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
    return sort_refs(
        [ArtifactRef(path=f.path, is_dir=f.is_dir, file_size=f.file_size) for f in repo.list_artifacts(path or None)]
    )
