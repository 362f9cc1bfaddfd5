"""Artifact access shared by the adapters: local artifact roots, remote repositories, a bounded file cache."""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from lens_core.errors import ArtifactNotFoundError
from lens_core.model import ArtifactRef
from lens_core.paths import cache_dir

#: Upper bound of the artifact download cache; least recently used entries go first.
CACHE_LIMIT_BYTES = 2 * 1024**3


def local_path_from_uri(uri: str) -> Path | None:
    """The local path an artifact URI names, or None for remote schemes (s3:, mlflow-artifacts:, http:, …).

    Handles ``file:///abs``, ``file:/abs``, ``file:./relative``, percent-escapes and plain paths. Whether the
    path exists on this machine is the caller's question: folders copied from another machine keep URIs such
    as ``file:///C:/Users/…``.
    """
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        if parsed.scheme == "file":
            text = unquote(parsed.path)
            if parsed.netloc and parsed.netloc not in ("", "localhost"):
                text = f"//{parsed.netloc}{text}"
            if uri.startswith("file:") and not uri.startswith("file:/"):
                text = unquote(uri[len("file:"):])  # file:./mlruns/... is relative
        else:
            text = uri
        return Path(text)
    return None


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative`` refusing paths that climb out of ``root``."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if any(part == ".." for part in parts) or (parts and parts[0] == "/"):
        raise ArtifactNotFoundError(f"Artifact path {relative!r} leaves the run's artifact folder.")
    return root.joinpath(*parts)


def list_local(root: Path, path: str) -> list[ArtifactRef]:
    folder = safe_join(root, path)
    if not folder.is_dir():
        if folder.exists():
            return [ArtifactRef(path=path, is_dir=False, file_size=folder.stat().st_size)]
        return []
    prefix = path.strip("/")
    refs = []
    for entry in os.scandir(folder):
        rel = f"{prefix}/{entry.name}" if prefix else entry.name
        is_dir = entry.is_dir()
        refs.append(ArtifactRef(path=rel, is_dir=is_dir, file_size=None if is_dir else entry.stat().st_size))
    return sort_refs(refs)


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
            (slot / ".lens-entry").write_text(str(Path(result).relative_to(slot)))
            self._evict(keep=slot)
            return Path(result)

    @staticmethod
    def _entry(slot: Path) -> Path | None:
        marker = slot / ".lens-entry"
        if not marker.exists():
            return None
        path = slot / marker.read_text()
        return path if path.exists() else None

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

    def download(dst: Path) -> Path:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo = get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
        return Path(repo.download_artifacts(path, dst_path=str(dst)))

    return cache.get(f"{artifact_uri}|{path}", download)


def list_remote(artifact_uri: str, path: str, tracking_uri: str | None) -> list[ArtifactRef]:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
    return sort_refs(
        [ArtifactRef(path=f.path, is_dir=f.is_dir, file_size=f.file_size) for f in repo.list_artifacts(path or None)]
    )
