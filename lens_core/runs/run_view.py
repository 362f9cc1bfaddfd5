"""What the Run page shows, as values and text: the run's siblings, the header's lines, the tree's entries and
the item a link selects. The page lays these out; :mod:`lens_core.runs.workflow` holds the rules they follow."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lens_core.format import format_bytes, format_duration, format_number, format_time, labels_by_id, plural, run_label
from lens_core.model import ArtifactRef, RunDetail
from lens_core.runs import run_artifacts as ra
from lens_core.runs import run_ratings as rr
from lens_core.runs import workflow as wf
from lens_core.runs.direction import Direction

#: Tree entries are cut to this many characters.
TREE_WIDTH = 26


@dataclass(frozen=True, slots=True)
class Siblings:
    """The runs of a run's experiment: the wide runs table (empty when it could not be read), each run's label
    (:func:`lens_core.format.run_labels`: name, else short id; unique) and status by id."""

    runs: pd.DataFrame
    labels: Mapping[str, str]
    statuses: Mapping[str, str]

    @staticmethod
    def of(runs: pd.DataFrame, run: RunDetail) -> Siblings:
        labels = labels_by_id(runs) if len(runs) else {}
        statuses = dict(zip(runs["run_id"], runs["status"])) if len(runs) else {}
        return Siblings(runs, {run.run_id: run_label(run.run_name, run.run_id), **labels}, statuses)

    def label(self, run_id: str) -> str:
        """The run's label: its name, else the start of its id."""
        return self.labels.get(run_id) or run_label(None, run_id)


# ---- header ---------------------------------------------------------------------------------------------------
def header_lines(run: RunDetail, now: pd.Timestamp) -> str:
    """When the run started, ended and how long it took; who ran it and from which source (Markdown)."""
    seconds = wf.run_duration(run.start_time, run.end_time, now)
    ended = (f"ended {format_time(run.end_time, run.start_time)}" if run.end_time is not None
             else "still running" if run.status in ("RUNNING", "SCHEDULED") else "no end time")
    when = [
        f":material/schedule: started {format_time(run.start_time)} · {ended}",
        f":material/timer: **{format_duration(seconds)}**" + (" so far" if run.end_time is None else ""),
    ]
    who = [f":material/person: {run.user_id}"] if run.user_id else []
    if source := run.tags.get("mlflow.source.name"):
        commit = run.tags.get("mlflow.source.git.commit", "")
        who.append(f":material/code: `{source}`" + (f" @ `{commit[:8]}`" if commit else ""))
    return "  ·  ".join(when) + ("  \n" + "  ·  ".join(who) if who else "")


def rating_caption(tags: Mapping[str, str]) -> str:
    """Who rated last and when, or what the rating is when nobody has yet."""
    if by := tags.get(rr.RATED_BY_TAG):
        when = pd.to_datetime(tags.get(rr.RATED_AT_TAG, ""), errors="coerce", utc=True)
        return f"Last rated by {by}" + ("" if pd.isna(when) else f" · {format_time(when)}")
    if rr.stored_rating(tags) is not None or tags.get(rr.NOTE_TAG):
        return "Rated before ExperimentLens recorded who rated and when."
    return "Not rated yet. Ratings and notes are saved as run tags any MLflow tool can read."


# ---- a metric -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RankSummary:
    """The rank a metric view shows (``label``, ``value``, ``help`` of its number) and the caption under it."""

    label: str
    value: str
    help: str
    caption: str = ""


def rank_summary(standing: wf.MetricStanding, direction: Direction) -> RankSummary:
    """Where the run ranks among the runs with a finite value (1 = best in ``direction``), a dash when this run or
    every other run lacks one; the caption says which runs the statistics leave out."""
    better = "Higher" if direction == "max" else "Lower"
    if standing.value is not None and not standing.own_is_finite:
        rank = RankSummary("Rank", "—", f"This run logged {format_number(standing.value)}: only finite values "
                           "are ranked.")
    elif standing.value is None or standing.count <= 1:
        rank = RankSummary("Rank", "—", "Ranks need a finite value on this run and on at least one other run.")
    else:
        rank = RankSummary(f"Rank of {standing.count:,}", f"{standing.rank(direction):,}",
                           f"{better} is better. 1 = the best run.")
    left_out = [plural(standing.non_finite, "run") + " logged ±inf or NaN"] if standing.non_finite else []
    left_out += [plural(standing.missing, "run") + " never logged it"] if standing.missing else []
    caption = (":material/info: Min, mean, max, ranks and the chart use finite values only: "
               + " and ".join(left_out) + ".") if left_out else ""
    return RankSummary(rank.label, rank.value, rank.help, caption)


# ---- the tree -------------------------------------------------------------------------------------------------
def short(value: str, limit: int = 28) -> str:
    """``value`` on one line, cut to ``limit`` characters with an ellipsis."""
    value = value.replace("\n", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def tree_label(name: str, detail_text: str, width: int = TREE_WIDTH) -> str:
    """``name · detail`` cut to fit one line of the tree (the name keeps at least two thirds)."""
    name = short(name, max(width * 2 // 3, width - len(detail_text) - 3))
    return f"{name} · :gray[{short(detail_text, max(width - len(name) - 3, 5))}]"


def param_entries(run: RunDetail) -> dict[str, str]:
    """Item id → tree label (name · value) of each param, by name."""
    return {wf.Item("param", k).id: tree_label(k, v) for k, v in sorted(run.params.items())}


def metric_entries(run: RunDetail) -> dict[str, str]:
    """Item id → tree label (name · latest value) of each metric, by name."""
    return {wf.Item("metric", k).id: tree_label(k, format_number(v)) for k, v in sorted(run.metrics.items())}


def dataset_entries(run: RunDetail) -> tuple[dict[str, str], list[str]]:
    """Item id → name of each dataset input, and a caption per dataset (context · digest)."""
    entries = {wf.Item("dataset", n).id: n for n in wf.dataset_item_names(run.inputs)}
    captions = [" · ".join(x for x in (d.context or "no context", d.digest) if x) for d in run.inputs]
    return entries, captions


def artifact_entries(folder: str, listing: list[ArtifactRef] | None) -> dict[str, str]:
    """Item id → tree label of an artifact folder's view: the folder itself, the way up, then its folders and
    files (with their sizes). An empty root has no entry: it is "None logged", not a folder to open."""
    entries: dict[str, str] = {}
    if folder or listing:
        entries[wf.Item("artifact", folder).id] = f":material/folder_open: **{folder.rstrip('/') or 'all artifacts'}**"
    if folder:
        entries[wf.Item("artifact", wf.parent_folder(folder)).id] = ":material/arrow_upward: up"
    for ref in listing or []:
        name = ref.path.rstrip("/").rsplit("/", 1)[-1]
        if ref.is_dir:
            entries[wf.Item("artifact", ref.path.rstrip("/") + "/").id] = f":material/folder: {name}"
        else:
            label = tree_label(name, format_bytes(ref.file_size), TREE_WIDTH - 3)
            entries[wf.Item("artifact", ref.path).id] = f":material/draft: {label}"
    return entries


# ---- artifacts ------------------------------------------------------------------------------------------------
def folder_table(listing: list[ArtifactRef]) -> pd.DataFrame:
    """``name, kind, size`` of a folder's entries (folders end with "/")."""
    return pd.DataFrame({
        "name": [r.path.rstrip("/").rsplit("/", 1)[-1] + ("/" if r.is_dir else "") for r in listing],
        "kind": ["folder" if r.is_dir else ra.artifact_kind(r.path).label for r in listing],
        "size": ["" if r.is_dir else format_bytes(r.file_size) for r in listing],
    })


def preview_kind(path: str, local: Path, size: int) -> ra.ArtifactKindName:
    """How to preview a fetched artifact: its kind by name, or "text" for a small file of unknown kind whose
    first bytes read as text."""
    kind = ra.artifact_kind(path).kind
    if kind == "other" and size <= ra.TEXT_PREVIEW_BYTES * 4:
        with local.open("rb") as fh:
            if ra.looks_like_text(fh.read(8192)):
                return "text"
    return kind


def read_text_preview(local: Path) -> tuple[str, bool]:
    """The first ``TEXT_PREVIEW_BYTES`` of a text file, decoded, and whether the file is longer."""
    with local.open("rb") as fh:
        raw = fh.read(ra.TEXT_PREVIEW_BYTES + 1)
    return raw[: ra.TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace"), len(raw) > ra.TEXT_PREVIEW_BYTES


# ---- the selection --------------------------------------------------------------------------------------------
Listing = tuple[list[ArtifactRef] | None, str | None]


@dataclass(frozen=True, slots=True)
class Selection:
    """What the page shows: the item, the artifact folder the tree lists (its listing, or why it could not be
    listed) and a notice when the link asked for something the run does not have."""

    item: wf.Item
    folder: str
    listing: list[ArtifactRef] | None
    listing_error: str | None = None
    notice: str | None = None
    refs: Mapping[str, ArtifactRef] = field(default_factory=dict)


def select(run: RunDetail, asked: str, list_artifacts: Callable[[str], Listing]) -> Selection:
    """The item a link's ``item=`` asks for when the run has it, else the run's default item (with a notice);
    ``list_artifacts(folder)`` lists the folder the tree shows. A folder named without its trailing "/" opens as
    the folder; an artifact the folder does not hold falls back to the folder."""
    requested = wf.parse_item(asked)
    notice = None
    if requested is not None and wf.item_exists(requested, run):
        item = requested
    else:
        item = wf.default_item(run)
        if asked:
            notice = f"This run has no {asked!r}; showing {item.kind} {item.name or 'artifacts'!r} instead."
    folder = wf.artifact_folder(item)
    listing, error = list_artifacts(folder)
    refs = {r.path: r for r in listing or []}
    if item.kind == "artifact" and not item.is_folder and listing is not None:
        ref = refs.get(item.name)
        if ref is not None and ref.is_dir:
            item = wf.Item("artifact", item.name + "/")
            folder = item.name
            listing, error = list_artifacts(folder)
            refs = {r.path: r for r in listing or []}
        elif ref is None:
            notice = f"This run has no artifact {item.name!r}; showing its folder."
            item = wf.Item("artifact", folder)
    return Selection(item, folder, listing, error, notice, refs)
