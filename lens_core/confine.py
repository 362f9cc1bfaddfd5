"""One rule for every local file ExperimentLens reads: resolve the real path (symlinks included) and require it
inside an allowed root.

Allowed roots: a run's own artifact folder for its artifacts (and a logged model's own folder for the model);
for dataset sources the store's own folder(s), the run's artifact folder, the artifact cache and the data roots an
operator adds (``[lens] data_roots`` in ``.streamlit/secrets.toml`` → ``open_tracker(..., data_roots=...)``, or
``LENS_DATA_ROOTS``, folders separated by ``:``). Everything else is refused with :class:`OutsideRootsError`,
whose message names no server path.

DuckDB expands ``*``, ``?``, ``[…]`` and ``{…}`` in the file names it is given: :func:`literal_path` hands it a
name without them (an alias in the cache folder pointing at the one file) so a file is always read as itself.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lens_core.errors import OutsideRootsError
from lens_core.paths import cache_dir, local_path_from_uri

DATA_ROOTS_ENV = "LENS_DATA_ROOTS"
#: Characters DuckDB reads as a file pattern.
GLOB_CHARS = frozenset("*?[]{}")
HOW_TO_ALLOW = (
    "An operator can allow its folder: add it to `data_roots` under `[lens]` in `.streamlit/secrets.toml` "
    "(`data_roots = [\"/data\"]`) or to the `LENS_DATA_ROOTS` environment variable."
)


def real(path: str | os.PathLike[str]) -> Path:
    """The absolute path with every symlink and ``..`` resolved (the file need not exist)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def is_inside(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether the real path of ``path`` is one of the roots' real paths or below one of them."""
    target = real(path)
    for root in roots:
        base = real(root)
        if target == base or base in target.parents:
            return True
    return False


def confine(
    path: str | os.PathLike[str],
    roots: Iterable[str | os.PathLike[str]],
    message: str = "This artifact points outside the run's folder.",
) -> Path:
    """The real path of ``path`` when it is inside one of ``roots``; else :class:`OutsideRootsError`."""
    roots = list(roots)
    if not is_inside(path, roots):
        raise OutsideRootsError(message)
    return real(path)


def confine_tree(folder: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]],
                 message: str = "This artifact folder holds a link to a file outside the run's folder.") -> Path:
    """``confine`` for a folder and everything below it (a model folder read as a whole)."""
    roots = list(roots)
    top = confine(folder, roots, message)
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            entry = os.path.join(directory, name)
            if os.path.islink(entry) and not is_inside(entry, roots):
                raise OutsideRootsError(message)
    return top


# ---- roots ------------------------------------------------------------------------------------------------------
def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [p for p in os.fspath(value).split(os.pathsep) if p.strip()]
    return [os.fspath(v) for v in value if str(v).strip()]


def configured_data_roots(tracker: Any = None) -> list[Path]:
    """The operator's data roots: the tracker's ``data_roots`` option, then ``LENS_DATA_ROOTS``."""
    found = _as_list(getattr(tracker, "data_roots", None)) + _as_list(os.environ.get(DATA_ROOTS_ENV))
    return [Path(p.strip()).expanduser() for p in found]


def store_folders(tracker: Any) -> list[Path]:
    """The folders a tracker's store lives in: a sqlite file's folder, an mlruns folder, a TensorBoard logdir;
    none for a server."""
    folders = []
    if (db_path := getattr(tracker, "db_path", None)) is not None:
        folders.append(Path(db_path).parent)
    if (root := getattr(tracker, "root", None)) is not None:
        folders.append(Path(root))
    return folders


def dataset_roots(tracker: Any, run_artifact_uri: str | None = None) -> list[Path]:
    """Where dataset sources may be read from: the store's folder(s), the run's artifact folder (when local),
    the artifact cache and the configured data roots."""
    roots = store_folders(tracker) + configured_data_roots(tracker)
    local = local_path_from_uri(run_artifact_uri or "")
    if local is not None and local.is_absolute():
        roots.append(local)
    try:
        roots.append(cache_dir())
    except OSError:
        pass
    return roots


# ---- dataset sources --------------------------------------------------------------------------------------------
#: The keys of MLflow's JSON dataset sources that name where the data lives, most specific first: local and HTTP
#: sources (``uri``, ``path``, ``url``), then tables (Spark, Delta, Databricks) and anything else named.
SOURCE_KEYS = ("uri", "path", "url", "table_name", "location", "name")


def source_location(source: str) -> str | None:
    """Where a dataset input's source says the data lives: MLflow's JSON (``{"uri": …}``, ``{"path": …}``,
    ``{"url": …}``, ``{"table_name": …}``, …: see :data:`SOURCE_KEYS`) or a plain path / URI. None when it
    names no place. The one reading of a source: for display and for finding the local file."""
    text = (source or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        for key in SOURCE_KEYS:
            if data.get(key):
                return str(data[key])
        return None
    return text if isinstance(data, str) else None


def local_source(source: str) -> Path | None:
    """A dataset source as a local path (``file:`` URIs and plain absolute paths), None for anything else
    (``s3://…``, a table name, a relative path that names nothing in particular)."""
    location = source_location(source)
    if location is None or ("://" in location and not location.startswith("file:")):
        return None
    try:
        path = local_path_from_uri(location)
    except ValueError:
        return None
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else None


def dataset_path(source: str, roots: Sequence[str | os.PathLike[str]], *, quiet: bool = False) -> Path | None:
    """The real path of the local file a dataset input's source names, when it exists inside ``roots``
    (:func:`dataset_roots`). None when the source names no local file, the file is missing or cannot be resolved.
    A file outside the roots raises :class:`OutsideRootsError` (checked first, so nothing is said about files out
    there), whose message says how an operator allows its folder; ``quiet=True`` returns None for it instead, for
    callers that look for usable data and pass over the rest."""
    try:
        path = local_source(source)
        if path is None:
            return None
        resolved = confine(path, roots, f"This dataset's file is outside the folders ExperimentLens may read. "
                           f"{HOW_TO_ALLOW}")
        return resolved if resolved.is_file() else None
    except OutsideRootsError:
        if quiet:
            return None
        raise
    except (OSError, ValueError):  # a name the file system cannot resolve (a NUL byte, a loop of links)
        return None


# ---- literal file names for DuckDB ------------------------------------------------------------------------------
def has_glob(path: str) -> bool:
    return any(c in GLOB_CHARS for c in path)


def literal_path(path: str | os.PathLike[str]) -> str:
    """A name under which DuckDB reads exactly this file: the path itself when it holds no pattern character,
    else an alias in the cache folder (a symlink named by a hash) pointing at the file's real path."""
    text = os.fspath(path)
    if not has_glob(text):
        return text
    from lens_core.errors import LensError

    target = real(text)
    if not target.is_file():
        raise LensError(f"No file {Path(text).name!r} to read.")
    folder = cache_dir() / "literal"
    suffix = "".join(c for c in Path(text).suffix if c.isalnum() or c == ".")
    alias = folder / f"{hashlib.sha256(str(target).encode()).hexdigest()[:32]}{suffix}"
    if has_glob(str(alias)):
        raise LensError("This file's name holds * ? [ or {, which the query engine reads as a pattern, and the "
                        "cache folder's name does too: rename the file to open it.")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if os.path.islink(alias) and os.readlink(alias) == str(target):
            return str(alias)
        tmp = folder / f".{alias.name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        tmp.replace(alias)
    except OSError as exc:
        raise LensError("This file's name holds * ? [ or {, which the query engine reads as a pattern, and no "
                        f"alias could be made for it ({exc.strerror}): rename the file to open it.") from exc
    return str(alias)


# ---- messages ---------------------------------------------------------------------------------------------------
_ABS_PATH = re.compile(r"(?<![\w.:/])(?:/[^\s\"'/<>|]+)+/([^\s\"'/<>|]+)")


def hide_paths(text: str) -> str:
    """Absolute paths in a message shortened to their file name (``…/x.csv``): messages never show where the
    server keeps its files."""
    return _ABS_PATH.sub(lambda m: f"…/{m.group(1)}", text)
