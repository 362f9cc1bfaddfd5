"""The fast mlruns reader (lens_core/trackers/mlruns_files.py): its metric-file and meta.yaml parsers against the
line-by-line reading and YAML they replace, odd files and folders, change tokens that agree between the probe and
the read, and the helper processes that read a share of the run folders."""
from __future__ import annotations

import math
import os
import random
import shutil
import string
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks.generate_store import generate_mlruns_store
from lens_core import open_tracker
from lens_core.trackers import mlruns, mlruns_files
from lens_core.trackers.mlruns_files import metric_summary, parse_meta, read_run, read_runs, read_runs_parallel
from tests.test_generated_stores import SPEC, experiment_ids
from tests.test_trackers import assert_same_as_mlflow, search_runs


def reference_summary(text: str) -> tuple[float, float, float] | None:
    """What the reader did before the fast path: every line parsed, MLflow's latest rule, NaN-free extremes."""
    points = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) not in (2, 3, 5):
            continue
        try:
            points.append((int(parts[0]), float(parts[1]), int(parts[2]) if len(parts) >= 3 else 0))
        except ValueError:
            continue
    if not points:
        return None
    latest = max(points, key=lambda p: (p[2], p[0], p[1]))[1]
    values = [v for _, v, _ in points if not math.isnan(v)]
    return latest, min(values, default=math.nan), max(values, default=math.nan)


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return all((x == y and math.copysign(1, x) == math.copysign(1, y)) or (math.isnan(x) and math.isnan(y))
               for x, y in zip(a, b, strict=True))


# ---- metric files -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("", None),  # an empty metric file: no value, the metric is absent for the run
    ("\n\n", None),
    ("1 0.5 0\n2 0.25 1", (0.25, 0.25, 0.5)),  # no newline after the last line
    ("1 0.5 0\n2 0.25 1\n", (0.25, 0.25, 0.5)),
    ("1 0.5\n2 0.75\n", (0.75, 0.5, 0.75)),  # MLflow 0.x / 1.x lines without a step: step 0, latest by time
    ("1 nan 0\n2 NaN 1\n", (math.nan, math.nan, math.nan)),  # only NaN: the latest is NaN, no extremes
    ("1 3.0 0\n2 nan 1\n", (math.nan, 3.0, 3.0)),  # NaN latest, extremes of the rest
    ("1 inf 0\n2 -Infinity 1\n3 2.5 2\n", (2.5, -math.inf, math.inf)),  # inf as text, inf beside -inf
    ("1 1.7976931348623157e308 0\n", (1.7976931348623157e308, 1.7976931348623157e308, 1.7976931348623157e308)),
    ("1 0.5 3\n2 0.7 1\n", (0.5, 0.5, 0.7)),  # training resumed from a checkpoint: the greatest step wins
    ("1 0.5 0\ngarbage\n2 x 1\n3 0.9 2 extra\n4 0.1 1\n", (0.1, 0.1, 0.5)),  # bad lines are skipped
    ("1 0.5 0 7 8\n", (0.5, 0.5, 0.5)),  # an old 5-field line reads its first three
    ("1\t0.5\t0\r\n2  0.6  1\r\n", (0.6, 0.5, 0.6)),  # other whitespace and CRLF: the slow path, same answer
    ("1 -0.0 0\n2 0.0 0\n", (0.0, -0.0, -0.0)),  # ties keep the first point, as max() and min() do
    # a Git LFS pointer left where the file was (a clone without LFS): no point, as before
    ("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 12345\n", None),
])
def test_metric_summary(text, expected):
    got = metric_summary(text.encode())
    assert same(got, expected), (got, expected)
    assert same(got, reference_summary(text))


def test_metric_summary_is_the_line_by_line_reading_on_random_files():
    rng = random.Random(7)
    words = ["nan", "inf", "-inf", "Infinity", "1e308", "-0.0", "x", "1_0", "", "0x1"]
    for _ in range(3000):
        lines = []
        for _ in range(rng.randrange(0, 8)):
            fields = [str(rng.randrange(0, 5)), rng.choice([*words, str(rng.uniform(-3, 3))] * 1),
                      str(rng.randrange(0, 4))][:rng.choice([2, 3, 3, 3, 1, 4])]
            lines.append((" " if rng.random() < 0.9 else "  ").join(fields))
        text = "\n".join(lines) + ("\n" if rng.random() < 0.7 else "")
        assert same(metric_summary(text.encode()), reference_summary(text)), text
    assert metric_summary(b"\xff\xfe 1 2\n") is None  # not text: the metric is absent, as before


def test_a_huge_history_is_read_whole(tmp_path):
    lines = [f"{1_000 + i} {math.sin(i)} {i}" for i in range(200_000)]  # ~6 MB: many reads of one file
    run = tmp_path / "mlruns" / "1" / "r1"
    (run / "metrics").mkdir(parents=True)
    (run / "metrics" / "loss").write_text("\n".join(lines) + "\n")
    (run / "meta.yaml").write_text("experiment_id: '1'\nrun_id: r1\nstatus: 3\n")
    files = read_run(str(run), str(tmp_path))
    keys, latest, lows, highs = files[4]
    assert keys == ["loss"] and latest == [math.sin(199_999)]
    assert lows == [min(math.sin(i) for i in range(200_000))] and highs == [max(math.sin(i) for i in range(200_000))]


# ---- meta.yaml ------------------------------------------------------------------------------------------------------
def dump(data: dict) -> str:
    """As mlflow.utils.yaml_utils.write_yaml writes it."""
    return yaml.dump(data, default_flow_style=False, allow_unicode=True, sort_keys=True,
                     Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def by_yaml(text: str) -> dict | None:
    data = yaml.safe_load(text)
    return {k: v for k, v in data.items() if k in mlruns_files.META_KEYS} if isinstance(data, dict) else None


def test_meta_of_generated_stores_is_parsed_without_yaml(tmp_path):
    for major in (1, 3):
        root = generate_mlruns_store(tmp_path / f"m{major}", SPEC, mlflow_major=major)
        for meta in root.glob("*/*/meta.yaml"):
            text = meta.read_text()
            assert parse_meta(text) == by_yaml(text), text


@pytest.mark.parametrize("value", [
    "", "''", "it's", "0", "007", "42", "-3", "1.5", "1e5", "1_000", "0x1f", "0b101", "0b10a", "true", "True", "yes",
    "No", "off", "null", "Null", "~", "nULL", "größer-batch", "基线-模型", "a b", "a: b", "a #b", "#x", "- x",
    "[1]", "{a: 1}", "x" * 200, "C:/Users/some one/x", "file:///tmp/a b/c", "mlflow-artifacts:/1/2/artifacts",
    "2024-01-02", "12:30", "=", "<<", "a\\b", 'say "hi"', "tab\there", " lead", "trail ", "%x", "@x", "`x", "!x",
    "&x", "*x", "|", ">", "?", ",", "0123abc", "00ff", "1e3abc", "deadbeef" * 4, "0b1" * 3,
])
def test_meta_values_read_as_yaml_reads_them(value):
    meta = {"run_id": value, "run_name": value, "experiment_id": value, "artifact_uri": value, "status": 3,
            "start_time": 1_700_000_000_000, "end_time": None, "lifecycle_stage": "active", "tags": [],
            "user_id": value, "source_name": value}
    text = dump(meta)
    parsed = parse_meta(text)
    assert parsed is None or parsed == by_yaml(text), (text, parsed)


def test_meta_with_random_text_values_matches_yaml():
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + " -_./:'\"#%@!&*?,[]{}|>~=+\\äß学"
    parsed_fast = 0
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        text = dump({"run_name": value, "experiment_id": str(rng.randrange(10)), "status": rng.randrange(1, 6),
                     "start_time": rng.choice([None, rng.randrange(10**12, 10**13)]), "run_id": value})
        parsed = parse_meta(text)
        if parsed is not None:
            parsed_fast += 1
            assert parsed == by_yaml(text), text
    assert parsed_fast > 1000  # the usual values take the fast path


@pytest.mark.parametrize("text", [
    "run_id: a\ntags:\n- key: x\n  value: y\nstatus: 3\n",  # an old tags list: not a key the table reads
    "---\nrun_id: a\n",  # a document marker
    "run_name: long\n  continued\n",  # folded text of a key the table reads
    "run_id: a # comment\n",
    "run_id: a\r\nstatus: 3\r\n",  # CRLF
    "- a\n- b\n",  # not a mapping
    "",
])
def test_odd_meta_is_left_to_yaml_or_read_as_yaml(text):
    parsed = parse_meta(text)
    if parsed is not None:
        assert parsed == by_yaml(text)


# ---- odd run folders ----------------------------------------------------------------------------------------------
@pytest.fixture()
def odd_store(mlruns_store, tmp_path):
    """A copy of the reference mlruns folder whose first run holds odd files."""
    root, ids = mlruns_store
    copy = tmp_path / "mlruns"
    shutil.copytree(root, copy)
    run = copy / ids["main"] / ids["first_run"]
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET")
    (run / "params" / "empty").write_text("")  # an empty value is a value
    (run / "params" / "latin1").write_bytes(b"gr\xf6\xdfe")  # not UTF-8: skipped
    (run / "params" / "leak").symlink_to(outside)  # a link out of the store: never read
    (run / "params" / "dangling").symlink_to(tmp_path / "missing")
    (run / "params" / "inside").symlink_to(run / "params" / "empty")  # a link inside the store: read
    (run / "params" / "folder-link").symlink_to(run / "metrics")  # a link to a folder: not a value
    os.mkfifo(run / "params" / "fifo")  # reading it would block forever
    (run / "metrics" / "empty").write_text("")
    (run / "metrics" / "no-newline").write_text("1 0.5 0\n2 0.25 1")
    (run / "metrics" / "texts").write_text("1 inf 0\n2 nan 1\n3 -Infinity 2\n")
    (run / "metrics" / "binary").write_bytes(b"\x00\xff\x10garbage")
    (run / "tags" / "nested").mkdir()
    (run / "tags" / "nested" / "key").write_text("v")
    return copy, ids, run


def test_odd_files_give_a_table_not_a_traceback(odd_store):
    copy, ids, _ = odd_store
    tracker = open_tracker(copy)
    table = tracker.runs(ids["main"]).set_index("run_id")
    row = table.loc[ids["first_run"]]
    assert row["params.empty"] == "" and row["params.inside"] == ""
    assert "SECRET" not in table.to_string()
    for absent in ("params.leak", "params.dangling", "params.fifo", "params.latin1", "params.folder-link",
                   "metrics.empty", "metrics.binary"):
        assert absent not in table.columns or pd.isna(row[absent]), absent
    assert row["metrics.no-newline"] == 0.25
    assert row["metrics.texts"] == -math.inf
    assert row["tags.nested/key"] == "v"
    extremes = tracker.metric_extremes(ids["main"]).set_index(["run_id", "key"])
    assert tuple(extremes.loc[(ids["first_run"], "texts")]) == (-math.inf, math.inf)


def test_probe_and_read_agree_so_nothing_is_read_twice(odd_store, monkeypatch):
    """The token the stat probe takes equals the one the read takes, odd files included: an unchanged folder is
    never parsed again (else it would be re-read on every probe and never shared)."""
    copy, ids, _ = odd_store
    tracker = open_tracker(copy)
    tracker.runs(ids["main"])
    reads: list[str] = []
    original = mlruns.read_runs_parallel
    monkeypatch.setattr(mlruns, "read_runs_parallel", lambda dirs, *a: reads.extend(dirs) or original(dirs, *a))
    tracker.forget()
    tracker.runs(ids["main"])
    assert reads == []
    for run_dir in [p for p in (copy / ids["main"]).iterdir() if p.is_dir() and p.name != "tags"]:
        files = read_run(str(run_dir), str(copy))
        if files is None or files[2] is None:
            continue
        live = files[2].get("status") not in (3, 4, 5)
        probe = mlruns_files.run_token(str(run_dir), str(copy), live)
        assert probe == (files[0] + (files[1],) if live else files[0])


@pytest.mark.parametrize("change", ["tag rewritten in place", "nested tag added", "nested tag renamed",
                                    "param added", "meta rewritten", "metric appended while running"])
def test_every_change_changes_the_token(odd_store, change):
    copy, ids, run = odd_store
    tracker = open_tracker(copy)
    experiment_id = ids["main"]
    if change == "metric appended while running":
        run = copy / experiment_id / ids["running_run"]
    before = tracker.change_token(experiment_id)
    tracker.runs(experiment_id)
    settled = tracker.change_token(experiment_id)
    assert settled == tracker.change_token(experiment_id)
    if change == "tag rewritten in place":
        path = run / "tags" / "mlflow.runName"
        stat, text = path.stat(), path.read_text()
        with open(path, "r+") as f:  # same size, as MLflow's set_tag rewrites the file
            f.write(text.upper())
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))  # a tick later, however coarse the clock
    elif change == "nested tag added":
        (run / "tags" / "nested" / "other").write_text("w")
    elif change == "nested tag renamed":
        (run / "tags" / "nested" / "key").rename(run / "tags" / "nested" / "yek")
    elif change == "param added":
        (run / "params" / "late").write_text("1")
    elif change == "meta rewritten":
        meta = run / "meta.yaml"
        meta.write_text(meta.read_text() + "\n")
    else:
        metric = next(p for p in (run / "metrics").rglob("*") if p.is_file())
        with open(metric, "a") as f:
            f.write("9999999999999 0.5 99\n")
    assert tracker.change_token(experiment_id) not in (before, settled)


# ---- helper processes -----------------------------------------------------------------------------------------------
def run_dirs(root: Path) -> list[str]:
    return sorted(str(p) for p in root.glob("*/*") if p.is_dir() and p.parent.name not in ("0", ".trash")
                  and p.name not in ("tags", "datasets"))


@pytest.mark.parametrize("workers", [2, 3])
def test_helpers_read_what_this_process_reads(tmp_path, workers):
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC)
    dirs = run_dirs(root)
    assert repr(read_runs_parallel(dirs, str(root), workers)) == repr(read_runs(dirs, str(root)))  # NaN as text


def test_a_helper_that_cannot_start_leaves_its_share_to_this_process(tmp_path, monkeypatch):
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC)
    dirs = run_dirs(root)
    expected = repr(read_runs(dirs, str(root)))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    assert repr(read_runs_parallel(dirs, str(root), 3)) == expected
    monkeypatch.setattr(sys, "executable", shutil.which("false") or "/bin/false")  # starts, then fails
    assert repr(read_runs_parallel(dirs, str(root), 2)) == expected


@pytest.mark.parametrize("mlflow_major", [1, 3])
def test_generated_mlruns_read_by_helpers_equals_search_runs(tmp_path, monkeypatch, mlflow_major):
    monkeypatch.setattr(mlruns, "PARALLEL_FROM", 1)
    monkeypatch.setenv("LENS_MLRUNS_WORKERS", "3")
    root = generate_mlruns_store(tmp_path / "mlruns", SPEC, mlflow_major=mlflow_major)
    tracker = open_tracker(root)
    for experiment_id in experiment_ids(tracker):
        assert_same_as_mlflow(tracker.runs(experiment_id), search_runs(root.as_uri(), experiment_id))


def test_metric_extremes_follow_a_change_without_a_second_probe(odd_store, monkeypatch):
    copy, ids, run = odd_store
    tracker = open_tracker(copy)
    tracker.runs(ids["main"])
    assert "late" not in set(tracker.metric_extremes(ids["main"])["key"])
    (run / "metrics" / "late").write_text("1 4.0 0\n2 -2.0 1\n")
    probes: list[str] = []
    original = tracker.change_token
    monkeypatch.setattr(tracker, "change_token", lambda e: probes.append(e) or original(e))
    extremes = tracker.metric_extremes(ids["main"]).set_index(["run_id", "key"])
    assert tuple(extremes.loc[(ids["first_run"], "late")]) == (-2.0, 4.0)
    assert probes == [ids["main"]]
    assert tracker.runs(ids["main"]).set_index("run_id").loc[ids["first_run"], "metrics.late"] == -2.0
