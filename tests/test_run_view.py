"""What the Run page shows as values: siblings, header lines, tree entries and the selection a link asks for."""
from __future__ import annotations

import pandas as pd

from lens_core.model import ArtifactRef, DatasetInput, RunDetail
from lens_core.runs import run_artifacts as ra
from lens_core.runs import run_ratings as rr
from lens_core.runs import run_view as rv
from lens_core.runs import workflow as wf

RUN = RunDetail(
    "r1", "1", "first", "FINISHED", pd.Timestamp("2024-01-01 10:00", tz="UTC"),
    pd.Timestamp("2024-01-01 10:05", tz="UTC"), "ann", "", "active", {"lr": "0.1"}, {"loss": 0.25},
    {"mlflow.source.name": "train.py", "mlflow.source.git.commit": "abcdef0123"},
    inputs=(DatasetInput("train", "d1", "local", "{}", "training"),),
)
LISTING = [ArtifactRef("plots", True), ArtifactRef("notes.txt", False, 1200)]


def test_siblings_name_runs_and_fall_back_to_the_id():
    runs = pd.DataFrame({"run_id": ["r1", "r2", "r3" * 16], "run_name": ["first", "second", None],
                         "status": ["FINISHED", "FAILED", "FINISHED"]})
    siblings = rv.Siblings.of(runs, RUN)
    assert siblings.label("r1") == "first" and siblings.label("r2") == "second"
    assert siblings.label("r3" * 16) == "r3r3r3r3"
    assert siblings.label("0123456789") == "01234567" and siblings.statuses["r2"] == "FAILED"
    assert rv.Siblings.of(pd.DataFrame(), RUN).label("r1") == "first"


def test_header_lines_say_when_who_and_from_where():
    text = rv.header_lines(RUN, pd.Timestamp("2024-01-02", tz="UTC"))
    assert "started Jan 01 2024, 10:00 UTC · ended 10:05:00 UTC" in text and "**5 min**" in text
    assert ":material/person: ann" in text and "`train.py` @ `abcdef01`" in text


def test_rating_caption():
    assert rv.rating_caption({}).startswith("Not rated yet")
    assert rv.rating_caption({rr.RATING_TAG: "4"}).startswith("Rated before")
    assert rv.rating_caption({rr.RATED_BY_TAG: "ann"}) == "Last rated by ann"


def test_tree_entries():
    assert rv.param_entries(RUN) == {"param:lr": "lr · :gray[0.1]"}
    assert list(rv.metric_entries(RUN)) == ["metric:loss"]
    assert rv.dataset_entries(RUN) == ({"dataset:train": "train"}, ["training · d1"])
    entries = rv.artifact_entries("", LISTING)
    assert list(entries) == ["artifact:", "artifact:plots/", "artifact:notes.txt"]
    assert list(rv.artifact_entries("plots/", [])) == ["artifact:plots/", "artifact:"]  # the folder, and up
    assert rv.artifact_entries("", []) == {}  # an empty root is "None logged"
    assert rv.short("a\nlong value", 6) == "a lon…"


def test_selection_follows_the_link_or_falls_back_with_a_notice():
    listings = {"": (LISTING, None), "plots/": ([ArtifactRef("plots/roc.png", False, 10)], None)}
    asked: list[str] = []

    def list_artifacts(folder: str) -> tuple[list[ArtifactRef] | None, str | None]:
        asked.append(folder)
        return listings[folder]

    assert rv.select(RUN, "param:lr", list_artifacts).item == wf.Item("param", "lr")
    missing = rv.select(RUN, "param:nope", list_artifacts)
    assert missing.item == wf.Item("metric", "loss") and "no 'param:nope'" in missing.notice
    folder = rv.select(RUN, "artifact:plots", list_artifacts)  # a folder named without its "/"
    assert folder.item == wf.Item("artifact", "plots/") and folder.folder == "plots/" and "plots/roc.png" in folder.refs
    gone = rv.select(RUN, "artifact:gone.txt", list_artifacts)
    assert gone.item == wf.Item("artifact", "") and "no artifact 'gone.txt'" in gone.notice


def test_rank_summary():
    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "run_name": ["a", "b", "c"], "metrics.val/loss": [0.3, 0.1, 0.2]})
    lower = rv.rank_summary(wf.metric_standing(runs, "val/loss", "c"), "min")
    assert (lower.label, lower.value) == ("Rank of 3", "2") and "Lower is better" in lower.help and not lower.caption
    higher = rv.rank_summary(wf.metric_standing(runs, "val/loss", "c"), "max")
    assert higher.value == "2" and "Higher is better" in higher.help
    alone = rv.rank_summary(wf.metric_standing(runs.head(1), "val/loss", "a"), "min")
    assert alone.value == "—"


def test_rank_summary_says_which_runs_the_statistics_leave_out():
    runs = pd.DataFrame({"run_id": list("abcd"), "run_name": list("abcd"),
                         "metrics.loss": [0.3, float("inf"), 0.2, float("nan")]})
    inf_run = rv.rank_summary(wf.metric_standing(runs, "loss", "b"), "min")
    assert inf_run.value == "—" and "∞" in inf_run.help
    assert "1 run logged ±inf or NaN and 1 run never logged it" in inf_run.caption


def test_artifact_previews(tmp_path):
    assert list(rv.folder_table(LISTING)["name"]) == ["plots/", "notes.txt"]
    (tmp_path / "run.out2").write_text("plain words")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01")
    assert rv.preview_kind("run.out2", tmp_path / "run.out2", 11) == "text"
    assert rv.preview_kind("blob.bin", tmp_path / "blob.bin", 2) == "other"
    (tmp_path / "big.txt").write_text("x" * (ra.TEXT_PREVIEW_BYTES + 5))
    text, cut = rv.read_text_preview(tmp_path / "big.txt")
    assert cut and len(text) == ra.TEXT_PREVIEW_BYTES
