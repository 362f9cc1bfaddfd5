"""How the Run page previews an artifact: its kind by name, text by its first bytes, JSON pretty-printed."""
from __future__ import annotations

import json

import pytest

from lens_core.runs import run_artifacts as ra


@pytest.mark.parametrize(
    ("path", "kind", "language"),
    [
        ("plots/roc.PNG", "image", None), ("a.jpeg", "image", None), ("README.md", "markdown", "markdown"),
        ("metrics.json", "json", "json"), ("conda.yaml", "yaml", "yaml"), ("model/MLmodel", "yaml", "yaml"),
        ("notes/readme.txt", "text", None), ("train.py", "text", "python"), ("data/table.csv", "table", None),
        ("x.parquet", "table", None), ("x.tsv", "table", None), ("model.pkl", "other", None),
        ("noextension", "other", None),
    ],
)
def test_artifact_kind(path, kind, language):
    found = ra.artifact_kind(path)
    assert (found.kind, found.language) == (kind, language) and found.label


def test_looks_like_text():
    assert ra.looks_like_text("héllo\nworld".encode())
    assert not ra.looks_like_text(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert ra.looks_like_text("ab€".encode()[:-1])  # a character cut by the sample's end
    assert not ra.looks_like_text(b"\xff\xfe plain")



def test_pretty_json():
    assert ra.pretty_json('{"a":[1,2]}') == json.dumps({"a": [1, 2]}, indent=2)
    assert ra.pretty_json("not json") == "not json"
