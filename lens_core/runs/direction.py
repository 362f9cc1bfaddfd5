"""Whether a metric is better high or low: one rule for every page.

A metric's direction is, in order:

1. the experiment tag ``lens.direction.<metric>`` = ``"max"`` / ``"min"`` when set (any MLflow tool can read and
   write it; ExperimentLens writes it when a user overrides the guess);
2. a guess from the metric's name (:func:`guess_direction`): losses, errors, costs, times, sizes and memory are
   ``"min"`` (sklearn's negated scorers ``neg_*`` are ``"max"``); everything else — accuracy, AUC, F1, R², …
   — is ``"max"``.

The name is split into words on ``_ . / - :``, spaces and camelCase, case-insensitively, so path prefixes
(``val/``, ``test_``, ``eval.``) do not matter.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Direction = Literal["max", "min"]
#: Where a direction came from: the experiment's tag, a word of the name, or the default (the name said nothing).
DirectionSource = Literal["tag", "name", "default"]

TAG_PREFIX = "lens.direction."
_METRIC_COLUMN_PREFIX = "metrics."  # the runs table's column prefix

# Words inside a token that make a metric a loss ("val_logloss", "trainloss", "mean_squared_error").
_BAD_SUBSTRINGS = ("loss", "error", "perplexity", "cost", "regret", "deviance", "divergence")
# Whole tokens that name an error measure.
_BAD_TOKENS = frozenset({
    "err", "mae", "mse", "rmse", "rmsle", "msle", "mape", "smape", "wape", "medae", "mad", "nll", "bpc", "bpd",
    "ppl", "wer", "cer", "ter", "eer", "fpr", "fnr", "fdr", "far", "frr", "brier", "fid", "kl", "kld",
})
# Resources: less is better, unless counted per unit of time (bytes_per_sec is a throughput).
_RESOURCE_SUBSTRINGS = ("latency", "duration", "size", "bytes", "memory")
_RESOURCE_TOKENS = frozenset({"time", "times", "timing", "elapsed", "mem", "byte", "kb", "mb", "gb", "kib", "mib",
                              "gib", "ram", "vram"})
# A rate per unit of time is a throughput (samples_per_sec); a name ending in a duration unit is a time.
_TIME_UNITS = frozenset({"ms", "us", "ns", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute",
                         "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days"})
_DURATION_SUFFIXES = frozenset({"ms", "us", "ns", "sec", "secs", "seconds", "mins", "minutes", "hrs", "hours"})
_NOT_TIMES = ("lifetime", "uptime")
_PER_TIME_SLASH = re.compile(r"/(?=(?:ms|s|sec|secs|second|seconds|min|minute|h|hr|hour)$)", re.IGNORECASE)
# Words keep trailing digits ("f1", "r2", "top1", "bleu4"); camelCase and acronyms split ("valRMSE", "ROCAuc").
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+", re.ASCII)
# Scores known to be better high: they change no guess ("max" is the default) but let pages say the name
# decided it rather than "assumed".
_GOOD_WORDS = frozenset({
    "acc", "accuracy", "auc", "roc", "auroc", "auprc", "f", "fscore", "fbeta", "precision", "recall", "r", "score",
    "iou", "miou", "dice", "jaccard", "bleu", "rouge", "rougel", "chrf", "meteor", "ndcg", "map", "ap", "mrr", "hit",
    "hits", "tpr", "tnr", "specificity", "sensitivity", "kappa", "mcc", "top", "reward", "return", "returns",
    "throughput", "likelihood", "psnr", "ssim", "spearman", "pearson", "correlation", "silhouette", "explained",
})


@dataclass(frozen=True, slots=True)
class MetricDirection:
    """A metric's direction and where it came from (pages say "guessed from the name" or "set for the
    experiment", and "assumed" when the name said nothing)."""

    metric: str
    direction: Direction
    source: DirectionSource

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "max"


def metric_words(metric: str) -> list[str]:
    """``"val/trainLoss_ms"`` → ``["val", "train", "loss", "ms"]``: lower-case words of a metric name."""
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", metric):
        words += [w.lower() for w in _WORDS.findall(part)]
    return words


def guess_direction(metric: str) -> Direction:
    """``"min"`` for losses, errors, costs, times, sizes and memory; ``"max"`` otherwise.

    >>> guess_direction("val/loss"), guess_direction("neg_log_loss"), guess_direction("test_roc_auc")
    ('min', 'max', 'max')
    """
    return _guess(_guess_words(metric))[0]


def _guess_words(metric: str) -> list[str]:
    # "tokens/sec", "it/s": a slash before a final time unit reads "per" (elsewhere a slash is a path separator)
    return metric_words(_PER_TIME_SLASH.sub(" per ", metric.removeprefix(_METRIC_COLUMN_PREFIX)))


def _guess(words: list[str]) -> tuple[Direction, bool]:
    """The direction and whether a word of the name decided it."""
    if "likelihood" in words and ("negative" in words or "neg" in words):  # negative log-likelihood: a loss
        return "min", True
    if _negated(words):  # sklearn's scorers negate losses so that greater is better
        return "max", True
    if any(_is_bad(w) for w in words):
        return "min", True
    if "per" in words:  # X per second is a throughput; otherwise X per sample is as good as X
        cut = words.index("per")
        numerator, denominator = words[:cut], words[cut + 1:]
        if denominator and denominator[0] in _TIME_UNITS:
            return "max", True
        return _guess(numerator) if numerator else ("max", False)
    if any(_is_resource(w) for w in words) or (len(words) > 1 and words[-1] in _DURATION_SUFFIXES):
        return "min", True
    return "max", any(w.rstrip("0123456789") in _GOOD_WORDS for w in words)


def _negated(words: list[str]) -> bool:
    # "neg" as sklearn's prefix, not "false_neg" / "true_neg" (counts of negatives)
    return any(w == "neg" and (i == 0 or words[i - 1] not in ("false", "true")) for i, w in enumerate(words))


def _is_bad(word: str) -> bool:
    return (word.rstrip("0123456789") in _BAD_TOKENS or word.endswith("err") or word == "false"
            or any(s in word for s in _BAD_SUBSTRINGS))


def _is_resource(word: str) -> bool:
    return (word in _RESOURCE_TOKENS or (word.endswith("time") and word not in _NOT_TIMES)
            or any(s in word for s in _RESOURCE_SUBSTRINGS))


# ---- the experiment tag --------------------------------------------------------------------------------------
def direction_tag(metric: str) -> str:
    """The experiment tag key that overrides the guess for ``metric``: ``lens.direction.<metric>``."""
    return TAG_PREFIX + metric.removeprefix(_METRIC_COLUMN_PREFIX)


def parse_direction(text: str | None) -> Direction | None:
    """A tag value as a direction: "max"/"min" (also "maximize"/"minimize", "higher"/"lower", any case);
    None for anything else, so a mistyped tag falls back to the guess."""
    word = (text or "").strip().lower()
    if word in ("max", "maximize", "maximise", "higher", "up"):
        return "max"
    if word in ("min", "minimize", "minimise", "lower", "down"):
        return "min"
    return None


def directions_from_tags(tags: Mapping[str, str]) -> dict[str, Direction]:
    """Metric → direction for every valid ``lens.direction.<metric>`` tag of an experiment."""
    out: dict[str, Direction] = {}
    for key, value in tags.items():
        if key.startswith(TAG_PREFIX) and len(key) > len(TAG_PREFIX) and (direction := parse_direction(value)):
            out[key[len(TAG_PREFIX):]] = direction
    return out


def resolve_direction(metric: str, experiment_tags: Mapping[str, str] | None = None) -> MetricDirection:
    """The direction of ``metric`` (a metric key or a ``metrics.<key>`` column) and its source: the
    experiment's tag wins over the name."""
    name = metric.removeprefix(_METRIC_COLUMN_PREFIX)
    tagged = parse_direction((experiment_tags or {}).get(direction_tag(name)))
    if tagged is not None:
        return MetricDirection(name, tagged, "tag")
    guessed, decided = _guess(_guess_words(name))
    return MetricDirection(name, guessed, "name" if decided else "default")


def direction_for(metric: str, experiment_tags: Mapping[str, str] | None = None) -> Direction:
    """``"max"`` or ``"min"`` for ``metric``: the experiment's ``lens.direction.<metric>`` tag, else the guess."""
    return resolve_direction(metric, experiment_tags).direction
