"""Where ExperimentLens keeps its local files (demo store, artifact cache, store copies), and the local path a URI
names."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse


def cache_dir() -> Path:
    """``$LENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/experimentlens``, else ``~/.cache/experimentlens``."""
    if explicit := os.environ.get("LENS_CACHE_DIR"):
        root = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "experimentlens"
    root.mkdir(parents=True, exist_ok=True)
    return root


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
