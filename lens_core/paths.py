"""Where ExperimentLens keeps its local files (demo store, artifact cache, store copies)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$LENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/experimentlens``, else ``~/.cache/experimentlens``."""
    if explicit := os.environ.get("LENS_CACHE_DIR"):
        root = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "experimentlens"
    root.mkdir(parents=True, exist_ok=True)
    return root
