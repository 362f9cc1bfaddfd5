"""A run's artifacts on the Run page: how each file is previewed (by its name, or by its first bytes when the name
says nothing) and how JSON is pretty-printed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

ArtifactKindName = Literal["image", "markdown", "json", "yaml", "text", "table", "other"]
#: Text artifacts are previewed up to this many bytes.
TEXT_PREVIEW_BYTES = 256 * 1024
#: Images above this size are not drawn.
IMAGE_PREVIEW_BYTES = 20 * 1024**2

_IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
_TEXT_LANGUAGE = {
    ".txt": None, ".log": None, ".out": None, ".err": None, ".rst": None,
    ".py": "python", ".sh": "bash", ".toml": "toml", ".ini": "ini", ".cfg": "ini", ".sql": "sql",
    ".html": "html", ".xml": "xml", ".r": "r", ".ipynb": "json", ".jsonl": "json", ".ndjson": "json",
}
_KNOWN_NAMES = {"mlmodel": "yaml", "dockerfile": "text", "license": "text", "readme": "text"}


@dataclass(frozen=True, slots=True)
class ArtifactKind:
    kind: ArtifactKindName
    language: str | None = None  # for st.code
    label: str = ""  # "PNG image", "CSV table", …


def artifact_kind(path: str) -> ArtifactKind:
    """How to preview an artifact, from its file name."""
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name).suffix.lower()
    upper = suffix.lstrip(".").upper()
    if suffix in _IMAGE:
        return ArtifactKind("image", None, f"{upper} image")
    if suffix in (".md", ".markdown"):
        return ArtifactKind("markdown", "markdown", "Markdown")
    if suffix == ".json":
        return ArtifactKind("json", "json", "JSON")
    if suffix in (".yaml", ".yml"):
        return ArtifactKind("yaml", "yaml", "YAML")
    if suffix in (".csv", ".tsv", ".parquet", ".pq"):
        return ArtifactKind("table", None, "Parquet table" if suffix in (".parquet", ".pq") else f"{upper} table")
    if suffix in _TEXT_LANGUAGE:
        return ArtifactKind("text", _TEXT_LANGUAGE[suffix], f"{upper} text" if upper else "text")
    known = _KNOWN_NAMES.get(name.lower())
    if known == "yaml":
        return ArtifactKind("yaml", "yaml", f"{name} (YAML)")
    if known:
        return ArtifactKind("text", None, "text")
    return ArtifactKind("other", None, f"{upper} file" if upper else "file")


def looks_like_text(sample: bytes) -> bool:
    """Whether bytes from the start of a file of unknown type read as UTF-8 text."""
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a character cut at the end of the sample
    return True


def pretty_json(text: str) -> str:
    """Indented JSON, or the text unchanged when it is not valid JSON."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text
