"""The workflow (run) page's logic, free of Streamlit: what a run's tree holds, where a metric stands among the
experiment's runs, how a param is distributed, how an artifact is previewed, and which tags a rating writes.

Everything here takes plain values (a :class:`~lens_core.model.RunDetail`, the wide runs table, tag mappings)
and returns plain values, so the page only lays them out.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Literal

import numpy as np
import pandas as pd

from lens_core.confine import source_location
from lens_core.model import DatasetInput, RunDetail

# ---- tree items -------------------------------------------------------------------------------------------------
#: The kinds of item the tree offers, in the order the tree shows them.
ITEM_KINDS: tuple[str, ...] = ("param", "metric", "dataset", "artifact")
ItemKind = Literal["param", "metric", "dataset", "artifact"]


@dataclass(frozen=True, slots=True)
class Item:
    """One selectable tree item, written in the URL as ``kind:name`` (``?item=param:lr``).

    Artifacts use their path; a folder ends with ``/`` and the artifact root is the empty path
    (``artifact:``, ``artifact:plots/``, ``artifact:plots/roc.png``)."""

    kind: ItemKind
    name: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_folder(self) -> bool:
        return self.kind == "artifact" and (self.name == "" or self.name.endswith("/"))


def parse_item(text: str | None) -> Item | None:
    """``"param:lr"`` → ``Item("param", "lr")``; None for anything that is not ``<known kind>:<name>``."""
    if not text or ":" not in text:
        return None
    kind, name = text.split(":", 1)
    if kind not in ITEM_KINDS or (not name and kind != "artifact"):
        return None
    return Item(kind, name)  # type: ignore[arg-type]


def dataset_item_names(inputs: Sequence[DatasetInput]) -> list[str]:
    """A stable, readable name per dataset input: its name, with ``@context`` when a name repeats
    (``train@training``, ``train@evaluation``), and ``#n`` when even that repeats."""
    counts: dict[str, int] = {}
    for d in inputs:
        counts[d.name] = counts.get(d.name, 0) + 1
    names: list[str] = []
    for d in inputs:
        name = d.name if counts[d.name] == 1 else f"{d.name}@{d.context or 'no context'}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}#{n}", n + 1
        names.append(name)
    return names


def default_item(detail: RunDetail) -> Item:
    """What the page shows before anything is picked: the first metric, else the first param, else the
    first dataset, else the artifact root."""
    if detail.metrics:
        return Item("metric", min(detail.metrics))
    if detail.params:
        return Item("param", min(detail.params))
    if detail.inputs:
        return Item("dataset", dataset_item_names(detail.inputs)[0])
    return Item("artifact", "")


def item_exists(item: Item, detail: RunDetail) -> bool:
    """Whether the run has this param, metric or dataset (artifacts are checked when listed)."""
    if item.kind == "param":
        return item.name in detail.params
    if item.kind == "metric":
        return item.name in detail.metrics
    if item.kind == "dataset":
        return item.name in dataset_item_names(detail.inputs)
    return True


def artifact_folder(item: Item | None) -> str:
    """The folder the tree lists for a selection: the folder itself, a file's folder, else the root ("")."""
    if item is None or item.kind != "artifact":
        return ""
    if item.is_folder:
        return item.name
    parent = str(PurePosixPath(item.name).parent)
    return "" if parent in ("", ".") else f"{parent}/"


def parent_folder(folder: str) -> str:
    """``"a/b/"`` → ``"a/"``, ``"a/"`` → ``""``."""
    parent = str(PurePosixPath(folder.rstrip("/")).parent)
    return "" if parent in ("", ".") else f"{parent}/"


# ---- metrics ------------------------------------------------------------------------------------------------
Direction = Literal["lower", "higher"]
_LOWER = {
    "loss", "error", "err", "errors", "rmse", "mse", "mae", "mape", "smape", "rmsle", "msle", "nll", "logloss",
    "perplexity", "ppl", "wer", "cer", "latency", "fpr", "fnr", "brier", "deviance",
}
_HIGHER = {
    "acc", "accuracy", "auc", "roc", "f1", "f2", "fscore", "precision", "recall", "r2", "score", "iou", "miou",
    "dice", "bleu", "rouge", "ndcg", "map", "mrr", "hit", "hits", "tpr", "tnr", "specificity", "sensitivity",
    "kappa", "mcc", "top1", "top5", "reward", "return",
}


def better_direction(metric: str) -> Direction | None:
    """A guess from the metric's name of which direction is better: "lower" for losses and errors
    (``train/loss``, ``val_rmse``, ``error_rate``), "higher" for accuracies and scores (``test_roc_auc``), None
    when the name says nothing. sklearn's ``neg_…`` scorers flip the guess."""
    tokens = [t for t in re.split(r"[^a-z0-9]+|_", metric.lower()) if t]
    flip = "neg" in tokens or "negative" in tokens
    guess: Direction | None = None
    for token in reversed(tokens):  # the last word usually names the quantity: "loss_acc" is rare, "acc_loss" too
        if token in _LOWER or token.endswith("loss"):
            guess = "lower"
            break
        if token in _HIGHER:
            guess = "higher"
            break
    if guess is None:
        return None
    if flip:
        return "higher" if guess == "lower" else "lower"
    return guess


@dataclass(frozen=True, slots=True)
class MetricStanding:
    """Where one run's latest value of a metric stands among the experiment's runs (finite values only)."""

    metric: str
    value: float | None  # this run's latest value, None when it has none in the table
    count: int  # runs with a finite value
    missing: int  # runs of the experiment without one (never logged, NaN or ±inf)
    minimum: float | None = None
    mean: float | None = None
    maximum: float | None = None
    lowest_run_id: str | None = None
    highest_run_id: str | None = None
    rank_lowest: int | None = None  # 1 = this run has the lowest value (ties share a rank)
    rank_highest: int | None = None  # 1 = this run has the highest value
    values: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["run_id", "run_name", "value"]))

    def rank(self, direction: Direction) -> int | None:
        return self.rank_lowest if direction == "lower" else self.rank_highest

    def best_run_id(self, direction: Direction) -> str | None:
        return self.lowest_run_id if direction == "lower" else self.highest_run_id

    def worst_run_id(self, direction: Direction) -> str | None:
        return self.highest_run_id if direction == "lower" else self.lowest_run_id


def metric_standing(runs: pd.DataFrame, metric: str, run_id: str, value: float | None = None) -> MetricStanding:
    """Rank, min / mean / max and the extreme runs of ``metrics.<metric>`` in a wide runs table.

    ``value`` is this run's own latest value (from its RunDetail); it is used when the run is not in the table
    (a deleted run), so the rank still says where it would stand."""
    column = f"metrics.{metric}"
    if column not in runs or runs.empty:
        own = value if value is not None and math.isfinite(value) else None
        return MetricStanding(metric, own, 0, len(runs))
    frame = pd.DataFrame({
        "run_id": runs["run_id"].astype(str).to_numpy(),
        "run_name": runs["run_name"].fillna("").astype(str).to_numpy() if "run_name" in runs else "",
        "value": pd.to_numeric(runs[column], errors="coerce").astype(float).to_numpy(),
    })
    finite = frame[np.isfinite(frame["value"])].reset_index(drop=True)
    mine = frame.loc[frame["run_id"] == run_id, "value"]
    own = float(mine.iloc[0]) if len(mine) else value
    if own is not None and not math.isfinite(own):
        own = None
    base = MetricStanding(metric, own, len(finite), len(frame) - len(finite), values=finite)
    if finite.empty:
        return base
    values = finite["value"].to_numpy()
    rank_lowest = rank_highest = None
    if own is not None:
        rank_lowest = int((values < own).sum()) + 1
        rank_highest = int((values > own).sum()) + 1
    return MetricStanding(
        metric=metric,
        value=own,
        count=len(finite),
        missing=len(frame) - len(finite),
        minimum=float(values.min()),
        mean=float(values.mean()),
        maximum=float(values.max()),
        lowest_run_id=str(finite.loc[int(np.argmin(values)), "run_id"]),
        highest_run_id=str(finite.loc[int(np.argmax(values)), "run_id"]),
        rank_lowest=rank_lowest,
        rank_highest=rank_highest,
        values=finite,
    )


def history_axis(history: pd.DataFrame) -> Literal["step", "timestamp"]:
    """Plot a history against its steps, unless every point has the same step (then against time)."""
    if len(history) > 1 and history["step"].nunique() == 1 and history["timestamp"].nunique() > 1:
        return "timestamp"
    return "step"


# ---- params -------------------------------------------------------------------------------------------------
#: A numeric param with more distinct values than this is drawn as a histogram, otherwise as counts per value
#: (unless most of its values are unique: a bar of height 1 per run says nothing).
HISTOGRAM_MIN_DISTINCT = 12
#: At most this many bars in a categorical distribution; the rarest values are grouped.
MAX_CATEGORIES = 30


@dataclass(frozen=True, slots=True)
class ParamDistribution:
    """How a param is distributed over an experiment's runs.

    ``kind`` is "histogram" (``table``: ``bin_start, bin_end, count, this``) or "counts" (``table``:
    ``value, count, this``, in the order to draw them; a last row ``label`` "… n other values" groups rare ones).
    ``this`` marks the bar holding this run's value."""

    param: str
    value: str
    kind: Literal["histogram", "counts"]
    table: pd.DataFrame
    numeric: bool
    total: int  # runs in the experiment
    missing: int  # runs that never set the param
    same_value_run_ids: list[str]
    log_scale: bool = False
    unset_values: int = 0  # runs whose value reads "None", "null", "NaN" or "": left out of a histogram


#: Strings MLflow users log for "no value" (``mlflow.log_param("x", None)`` stores "None").
_NULL_LIKE = {"none", "null", "nan", ""}


def _as_numbers(values: pd.Series) -> pd.Series | None:
    numbers = pd.to_numeric(values, errors="coerce")
    if len(values) == 0 or numbers.isna().any() or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        return None
    return numbers.astype(float)


def param_distribution(runs: pd.DataFrame, param: str, value: str) -> ParamDistribution:
    column = f"params.{param}"
    total = len(runs)
    if column not in runs or runs.empty:
        empty = pd.DataFrame({"value": pd.Series(dtype=str), "count": pd.Series(dtype=int),
                              "this": pd.Series(dtype=bool)})
        return ParamDistribution(param, value, "counts", empty, False, total, total, [])
    strings = runs[column]
    present = strings.notna()
    values = strings[present].astype(str)
    same = runs.loc[present & (strings.astype(str) == value), "run_id"].astype(str).tolist()
    unset = values.str.strip().str.lower().isin(_NULL_LIKE)
    numbers = _as_numbers(values[~unset]) if (~unset).any() else None
    numeric = numbers is not None
    missing = total - len(values)
    distinct = values[~unset].nunique()
    mostly_unique = distinct > 6 and distinct > len(values) / 2
    if numeric and (distinct > HISTOGRAM_MIN_DISTINCT or mostly_unique):
        own = float(value) if _as_numbers(pd.Series([value])) is not None else None
        bins = int(min(20, max(5, round(2 * math.sqrt(len(numbers))))))
        table, log_scale = _histogram(numbers.to_numpy(), own, bins)
        return ParamDistribution(param, value, "histogram", table, True, total, missing, same, log_scale,
                                 int(unset.sum()))
    counts = values.value_counts(sort=False).rename_axis("value").reset_index(name="count")
    counts["value"] = counts["value"].astype(str)
    if numeric:  # numbers in order, "None" and the like last
        keys = pd.to_numeric(counts["value"], errors="coerce").astype(float)
        counts = counts.assign(_key=keys).sort_values(["_key", "value"], na_position="last").drop(columns="_key")
    else:
        counts = counts.sort_values(["count", "value"], ascending=[False, True], kind="stable")
    counts = counts.reset_index(drop=True)
    if len(counts) > MAX_CATEGORIES:
        own = counts.index[counts["value"] == value]
        keep = counts.nlargest(MAX_CATEGORIES - 1, "count", keep="first").index.union(own)
        rest = counts.drop(index=keep)
        counts = counts.loc[sorted(keep)]
        other = pd.DataFrame({"value": [f"… {len(rest)} other values"], "count": [int(rest["count"].sum())]})
        counts = pd.concat([counts, other], ignore_index=True)
    counts["count"] = counts["count"].astype(int)
    counts["this"] = counts["value"] == value
    return ParamDistribution(param, value, "counts", counts.reset_index(drop=True), numeric, total, missing, same)


def _histogram(numbers: np.ndarray, own: float | None, bins: int = 20) -> tuple[pd.DataFrame, bool]:
    lo, hi = float(numbers.min()), float(numbers.max())
    log_scale = lo > 0 and hi / lo >= 1000  # learning rates, regularisation strengths
    if log_scale:
        edges = np.logspace(np.log10(lo), np.log10(hi), bins + 1)
        edges[0], edges[-1] = lo, hi
    else:
        edges = np.histogram_bin_edges(numbers, bins=bins)
    counts, edges = np.histogram(numbers, bins=edges)
    this = np.zeros(len(counts), dtype=bool)
    if own is not None and edges[0] <= own <= edges[-1]:
        index = min(int(np.searchsorted(edges, own, side="right")) - 1, len(counts) - 1)
        this[max(index, 0)] = True
    table = pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "count": counts.astype(int), "this": this})
    return table, log_scale


# ---- artifacts ----------------------------------------------------------------------------------------------
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


def format_bytes(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def pretty_json(text: str) -> str:
    """Indented JSON, or the text unchanged when it is not valid JSON."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


# ---- datasets -----------------------------------------------------------------------------------------------
def dataset_source(dataset: DatasetInput) -> str:
    """Where the data lives (:func:`lens_core.confine.source_location`), or the source's raw text."""
    return source_location(dataset.source) or dataset.source


def dataset_schema(dataset: DatasetInput) -> pd.DataFrame | None:
    """The columns of an MLflow schema (``mlflow_colspec`` or ``mlflow_tensorspec``) as a table ``column,
    type, required``; None when the schema is empty or in another shape."""
    try:
        schema = json.loads(dataset.schema) if dataset.schema else None
    except ValueError:
        return None
    if not isinstance(schema, dict):
        return None
    spec = schema.get("mlflow_colspec")
    if isinstance(spec, str):  # some writers double-encode
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = None
    if isinstance(spec, list) and all(isinstance(c, dict) for c in spec):
        return pd.DataFrame({
            "column": [str(c.get("name", f"#{i}")) for i, c in enumerate(spec)],
            "type": [str(c.get("type", "")) for c in spec],
            "required": [bool(c.get("required", True)) for c in spec],
        })
    tensors = schema.get("mlflow_tensorspec")
    if isinstance(tensors, dict):
        features = tensors.get("features")
        if isinstance(features, str):
            try:
                features = json.loads(features)
            except ValueError:
                features = None
        if isinstance(features, list):
            return pd.DataFrame({
                "column": [str(f.get("name", f"#{i}")) for i, f in enumerate(features)],
                "type": [f"{f.get('type', '')} {f.get('tensor-spec', '')}".strip() for f in features],
                "required": [True] * len(features),
            })
    return None


def dataset_profile(dataset: DatasetInput) -> dict[str, object]:
    """MLflow's profile (``{"num_rows": …, "num_elements": …}``) as a dict; empty when absent or unreadable."""
    try:
        profile = json.loads(dataset.profile) if dataset.profile else {}
    except ValueError:
        return {}
    return profile if isinstance(profile, dict) else {}


# ---- run header ---------------------------------------------------------------------------------------------
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "FINISHED": ("green", ":material/check_circle:"),
    "RUNNING": ("blue", ":material/autorenew:"),
    "SCHEDULED": ("violet", ":material/schedule:"),
    "FAILED": ("red", ":material/error:"),
    "KILLED": ("orange", ":material/cancel:"),
}


def status_style(status: str) -> tuple[str, str]:
    """Badge colour and icon of a run status."""
    return STATUS_STYLE.get(str(status).upper(), ("gray", ":material/help:"))


def format_duration(seconds: float | None) -> str:
    """``0.35`` → "350 ms", ``4.2`` → "4.2 s", ``200`` → "3 min 20 s", ``3725`` → "1 h 02 min",
    ``190000`` → "2 d 4 h"."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def run_duration(start: pd.Timestamp | None, end: pd.Timestamp | None, now: pd.Timestamp | None = None) -> float | None:
    """Seconds from start to end, or to ``now`` while the run has no end; None without a start."""
    if start is None or pd.isna(start):
        return None
    stop = end if end is not None and not pd.isna(end) else now
    if stop is None:
        return None
    return (pd.Timestamp(stop) - pd.Timestamp(start)).total_seconds()


def format_time(ts: pd.Timestamp | None, reference: pd.Timestamp | None = None) -> str:
    """"Nov 14 2023, 22:13 UTC"; only the time when ``reference`` is on the same day."""
    if ts is None or pd.isna(ts):
        return "—"
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if reference is not None and not pd.isna(reference):
        ref = pd.Timestamp(reference)
        ref = ref.tz_localize("UTC") if ref.tzinfo is None else ref.tz_convert("UTC")
        if ref.date() == ts.date():
            return f"{ts:%H:%M:%S} UTC"
    return f"{ts:%b %d %Y, %H:%M} UTC"


def format_number(value: float | None) -> str:
    """A metric value for people: 4 significant digits, thousands separated, "—" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and abs(value) >= 1e4:
        return f"{value:,.0f}" if abs(value) < 1e12 else f"{value:.3e}"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value:.4g}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---- rating -------------------------------------------------------------------------------------------------
RATING_TAG, NOTE_TAG, RATED_BY_TAG, RATED_AT_TAG = "lens.rating", "lens.note", "lens.rated_by", "lens.rated_at"
#: MLflow keeps at most 5,000 characters in a tag value on older servers (8,000 on newer ones).
MAX_NOTE_CHARS = 5000


def stored_rating(tags: Mapping[str, str]) -> int | None:
    """The 1–5 rating in a run's tags (``"4"``, ``"4.0"``), None when absent, empty or out of range."""
    text = str(tags.get(RATING_TAG, "") or "").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if not value.is_integer() or not 1 <= value <= 5:
        return None
    return int(value)


def rating_tags(
    current: Mapping[str, str],
    *,
    rating: int | None,
    note: str,
    who: str,
    now: datetime,
) -> dict[str, str]:
    """The tags to write for a rating and note: only what changed against ``current`` (the run's tags as
    the tracker has them now), plus who and when; empty when nothing changed. A cleared rating is written as
    an empty ``lens.rating`` (tags cannot be deleted through every tracker)."""
    if rating is not None and not 1 <= int(rating) <= 5:
        raise ValueError(f"A rating is 1 to 5 stars, not {rating!r}.")
    changes: dict[str, str] = {}
    had_rating = bool(str(current.get(RATING_TAG, "") or ""))
    if rating != stored_rating(current) and (rating is not None or had_rating):
        changes[RATING_TAG] = "" if rating is None else str(int(rating))
    new_note = (note or "").strip()
    if new_note != str(current.get(NOTE_TAG, "") or "").strip():
        changes[NOTE_TAG] = new_note[:MAX_NOTE_CHARS]
    if changes:
        changes[RATED_BY_TAG] = who
        changes[RATED_AT_TAG] = iso_utc(now)
    return changes


def iso_utc(moment: datetime) -> str:
    """``2026-11-27T14:05:09Z`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rater_identity(user: Mapping[str, object]) -> str | None:
    """Who is rating, from Streamlit's ``st.user`` claims when a user is logged in: "Name <email>", the name,
    the email or the subject; None when nobody is logged in (authentication not configured)."""
    if not user.get("is_logged_in"):
        return None
    name = str(user.get("name") or "").strip()
    email = str(user.get("email") or "").strip()
    if name and email:
        return f"{name} <{email}>"
    return name or email or (str(user.get("sub") or "").strip() or None)


#: Node fill of a run status in the child-run DAG.
DAG_FILL = {"FINISHED": "#d3f9d8", "FAILED": "#ffe3e3", "KILLED": "#e9ecef", "RUNNING": "#dbe4ff",
            "SCHEDULED": "#fff3bf"}


def children_dot(parent: tuple[str, str, str], children: Sequence[tuple[str, str, str]], *, limit: int = 60) -> str:
    """Graphviz DOT of a run and its nested runs, ``(run_id, name, status)`` each: the parent fans out to its
    children as tasks, each node filled by status. Names are escaped; beyond ``limit`` children one "… n more"
    node stands for the rest."""

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'

    def node(run_id: str, name: str, status: str, shape: str) -> str:
        fill = DAG_FILL.get(status.upper(), "#f1f3f5")
        return (f"  {quoted(run_id)} [label={quoted(name or run_id[:8])}, shape={shape}, style=\"rounded,filled\", "
                f"fillcolor=\"{fill}\", tooltip={quoted(f'{name} · {status.lower()}')}];")

    lines = ["digraph runs {", "  rankdir=LR; bgcolor=transparent;",
             '  node [fontname="Helvetica", fontsize=11, color="#adb5bd"]; edge [color="#868e96"];',
             node(*parent, shape="box")]
    for run_id, name, status in children[:limit]:
        lines.append(node(run_id, name, status, shape="box"))
        lines.append(f"  {quoted(parent[0])} -> {quoted(run_id)};")
    if len(children) > limit:
        lines.append(f'  more [label="… {len(children) - limit} more", shape=plaintext];')
        lines.append(f"  {quoted(parent[0])} -> more;")
    lines.append("}")
    return "\n".join(lines)
