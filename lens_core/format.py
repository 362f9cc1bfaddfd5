"""Numbers and labels as people read them: the one formatter for tables, tiles, axis ticks, tooltips and captions.

Rules, in one place:

- **Integers read exactly** (``97,531``, ``1,234,567,890``): Python and numpy ints, and whole floats below 2**53
  (every integer a float column holds exactly), with thousands separators.
- **Floats** get ``digits`` significant digits (4 by default) and never read misleadingly: a value that is not
  whole never reads as whole (``0.99999`` is "0.99999", not "1"); large values keep every integer digit
  (``123,456.7``, never "1.235e+05"); only magnitudes below 1e-4 or from 1e15 up use an exponent (``1.5e-7``).
- **Non-finite**: ±inf reads "∞" / "−∞"; MLflow's ±1.7976931348623157e308 sentinel is the same infinity (see
  :data:`MLFLOW_INF`); NaN and None read :data:`MISSING`.
- **Params are text**: MLflow stores every param as a string, so a ``str`` is shown verbatim ("97531", "1e-3",
  "0.10" stay as logged). Only metrics (and values a page computed) are formatted as numbers.
- Negative numbers use ASCII "-" so copied values parse; only the infinity mark uses the typographic "−".

Also here: the d3-format strings for Altair axes and tooltips, durations, times, plurals and run labels.
Nothing here imports streamlit.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import NamedTuple, TypeVar

import numpy as np
import pandas as pd

#: The one marker for "no value" (never logged, NaN, None) in tables, tiles and captions.
MISSING = "—"
INFINITY, NEGATIVE_INFINITY = "∞", "−∞"
#: MLflow's SQL and file stores save +inf / -inf as ± the largest double; read back, that is an infinity.
MLFLOW_INF = 1.7976931348623157e308
DEFAULT_DIGITS = 4
MAX_DIGITS = 17  # 17 significant digits tell every pair of distinct doubles apart
SHORT_ID_LENGTH = 8
_EXACT_INTEGER_LIMIT = 2**53  # whole floats below this are exact integers
_PLAIN_LOW, _PLAIN_HIGH = 1e-4, 1e15  # outside this magnitude range floats use an exponent

ArrayLike = TypeVar("ArrayLike", float, np.ndarray, pd.Series)


# ---- numbers -------------------------------------------------------------------------------------------------
def format_number(value: object, *, digits: int | None = None) -> str:
    """``value`` as text: integers exact with thousands separators, floats to ``digits`` significant digits
    (default 4) without misleading cuts, "∞"/"−∞" for infinities (and MLflow's sentinel), :data:`MISSING` for
    NaN/None/NA, booleans as "True"/"False" (as MLflow logs them), strings verbatim (params are text).

    >>> format_number(97531), format_number(0.996123), format_number(float("inf")), format_number(None)
    ('97,531', '0.9961', '∞', '—')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return _format_float(float(value), DEFAULT_DIGITS if digits is None else max(1, digits))
    return str(value)


def _format_float(x: float, digits: int) -> str:
    if math.isnan(x):
        return MISSING
    if math.isinf(x) or abs(x) >= MLFLOW_INF:
        return INFINITY if x > 0 else NEGATIVE_INFINITY
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < _EXACT_INTEGER_LIMIT:
        return f"{int(x):,}"
    if not _PLAIN_LOW <= abs(x) < _PLAIN_HIGH:
        return _exponent_text(x, digits)
    integer_digits = math.floor(math.log10(abs(x))) + 1  # 0.05 → -1, 7.2 → 1, 123.4 → 3
    decimals = max(0, digits - integer_digits)
    text = _trim(f"{x:,.{decimals}f}")
    while "." not in text and decimals < MAX_DIGITS - integer_digits:  # not whole: must not read whole
        decimals += 1
        text = _trim(f"{x:,.{decimals}f}")
    return text


def _exponent_text(x: float, digits: int) -> str:
    """``1.5e-7``, ``6.022e23``: d3's style (no "+", no leading zeros in the exponent)."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def significant_digits(values: Iterable[float], *, minimum: int = DEFAULT_DIGITS) -> int:
    """The fewest significant digits (``minimum``..17) at which the distinct finite ``values`` read distinct."""
    finite = {float(v) for v in values if _is_finite_number(v)}
    for digits in range(max(1, minimum), MAX_DIGITS):
        if len({_format_float(v, digits) for v in finite}) == len(finite):
            return digits
    return MAX_DIGITS


def distinct_labels(values: Iterable[object], *, minimum_digits: int = DEFAULT_DIGITS) -> list[str]:
    """Labels for a set of values (bars, legend entries, ticks) with one shared number of significant digits, the
    fewest (at least ``minimum_digits``, at most 17) that keeps distinct values distinct: 0.99612 and 0.99615
    read "0.99612" and "0.99615", not both "0.9961". Non-finite values read as :func:`format_number` says."""
    items = list(values)
    digits = significant_digits((v for v in items if isinstance(v, numbers.Real)), minimum=minimum_digits)
    return [format_number(v, digits=digits) for v in items]


def full_precision(value: object) -> str:
    """The value exactly as stored (the shortest text that reads back as the same double, thousands separated),
    for tooltips and copies; anything else as :func:`format_number` writes it."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral | bool | np.bool_):
        x = float(value)
        if math.isfinite(x) and abs(x) < MLFLOW_INF and not (x.is_integer() and abs(x) < _EXACT_INTEGER_LIMIT):
            text = format(x, ",")
            if "e" in text:
                mantissa, exponent = text.split("e")
                text = f"{mantissa}e{int(exponent)}"
            return text
    return format_number(value)


def column_printf(values: Iterable[float]) -> str:
    """A printf format for a numeric table column (``st.column_config.NumberColumn(format=...)``): ``"%d"`` when
    every finite value is an exact integer (so seeds and sizes read exactly), else ``"%.<p>g"`` with enough
    digits to keep distinct values distinct and every integer digit of the largest value, plus one (no
    "9.753e+04")."""
    finite = [float(v) for v in values if _is_finite_number(v)]
    if all(v.is_integer() and abs(v) < _EXACT_INTEGER_LIMIT for v in finite):
        return "%d"
    largest = max((abs(v) for v in finite), default=0.0)
    integer_digits = math.floor(math.log10(largest)) + 1 if largest >= 1 else 0
    # one digit past the integer digits, so that 97531.5 does not read as the integer 97532
    digits = max(significant_digits(finite), min(integer_digits + 1, 15))
    return f"%.{digits}g"


def _is_finite_number(value: object) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
            and math.isfinite(float(value)) and abs(float(value)) < MLFLOW_INF)


# ---- Altair / d3 formats -------------------------------------------------------------------------------------
def axis_format(values: Iterable[float]) -> str:
    """A d3 format for a quantitative axis over ``values``.

    No precision is given on purpose: Vega then derives it from the tick step, so ticks read "10 … 60" and
    "0.9961 … 0.9965". (``~g`` is what wrote "1e+1 … 6e+1": Vega gives it the step's one significant digit.)
    ``,~r`` (thousands separated) for ordinary ranges, ``~s`` (SI: "2M", "1.5G") from a million up, ``~e`` when
    every value is below 1e-3."""
    magnitudes = np.abs(_finite_array(values))
    magnitudes = magnitudes[magnitudes > 0]
    if not len(magnitudes):
        return ",~r"
    if magnitudes.max() >= 1e6:
        return "~s"
    if magnitudes.max() < 1e-3:
        return "~e"
    return ",~r"


def tooltip_format(values: Iterable[float]) -> str:
    """A d3 format that shows every value in full: the fewest significant digits (≤ 17) at which each finite
    value reads back as itself, thousands separated, trailing zeros trimmed (``,.5~g`` for 97531)."""
    digits = 1
    for value in _finite_array(values):
        while digits < MAX_DIGITS and float(f"{value:.{digits}g}") != value:
            digits += 1
    return f",.{digits}~g"


def _finite_array(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values) if not isinstance(values, np.ndarray | pd.Series) else values, dtype="float64")
    return array[np.isfinite(array) & (np.abs(array) < MLFLOW_INF)]


# ---- non-finite values ---------------------------------------------------------------------------------------
class FiniteValues(NamedTuple):
    """The values a chart or statistic can use, and how many it left out (NaN, ±inf, MLflow's sentinel)."""

    values: pd.Series
    dropped: int


def from_mlflow_sentinel(values: ArrayLike) -> ArrayLike:
    """MLflow's ±1.7976931348623157e308 (and anything at or beyond it) as ±inf; other values unchanged.
    Works on a float, a numpy array or a pandas Series (returns the same kind; the input is not modified)."""
    if isinstance(values, pd.Series):
        return values.mask(values.abs() >= MLFLOW_INF, np.sign(values) * np.inf)
    if isinstance(values, np.ndarray):
        array = values.astype("float64", copy=True)
        beyond = np.abs(array) >= MLFLOW_INF
        array[beyond] = np.copysign(np.inf, array[beyond])
        return array
    x = float(values)
    return math.copysign(math.inf, x) if abs(x) >= MLFLOW_INF else x


def sentinels_to_inf(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` whose numeric ``columns`` (default: every float column) hold ±inf where MLflow wrote
    its sentinel. Non-numeric and absent columns are left alone."""
    chosen = [c for c in (columns if columns is not None else frame.columns) if c in frame]
    numeric = [c for c in chosen if pd.api.types.is_float_dtype(frame[c])]
    return frame.assign(**{c: from_mlflow_sentinel(frame[c]) for c in numeric}) if numeric else frame.copy()


def finite_only(values: Sequence[float] | np.ndarray | pd.Series) -> FiniteValues:
    """The finite values (index kept for a Series) and the count of the others, so a chart can say
    ":func:`not_drawn_note`" instead of silently drawing fewer points."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype="float64"))
    numbers_ = pd.to_numeric(series, errors="coerce").astype("float64")
    keep = np.isfinite(numbers_) & (numbers_.abs() < MLFLOW_INF)
    return FiniteValues(numbers_[keep], int((~keep).sum()))


def not_drawn_note(dropped: int, what: str = "non-finite value") -> str:
    """"3 non-finite values not drawn", or "" when none were left out."""
    return f"{plural(dropped, what)} not drawn" if dropped else ""


# ---- durations, times, counts --------------------------------------------------------------------------------
def format_duration(seconds: float | None) -> str:
    """"420 ms", "4.2 s", "42 s", "3 min 10 s", "2 h 5 min", "3 d 4 h" — two units at most, never "0.0 min";
    :data:`MISSING` for None/NaN."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING if seconds is None or math.isnan(seconds) else INFINITY
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0 s"
    if seconds < 0.0005:
        return "< 1 ms"
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)} ms"
    if round(seconds, 1) < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    # The larger unit applies when the value, rounded to its second unit, reaches it (3599.7 s is "1 h").
    for unit, size, sub_unit, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        in_sub_units = round(whole / sub_size)
        if in_sub_units * sub_size >= size:
            count, rest = divmod(in_sub_units, size // sub_size)
            return f"{count:,} {unit}" + (f" {rest} {sub_unit}" if rest else "")
    return f"{whole} s"


def format_bytes(size: int | None) -> str:
    """"512 B", "1.5 kB", "3.2 MB", "12.0 GB" (decimal units, as file browsers show); "" for None (a folder
    has no size: blank, not missing)."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_time(ts: pd.Timestamp | None, reference: pd.Timestamp | None = None) -> str:
    """"Nov 14 2023, 22:13 UTC"; only the time ("22:13:05 UTC") when ``reference`` is on the same day."""
    if ts is None or pd.isna(ts):
        return MISSING
    ts = _utc(ts)
    if reference is not None and not pd.isna(reference) and _utc(reference).date() == ts.date():
        return f"{ts:%H:%M:%S} UTC"
    return f"{ts:%b %d %Y, %H:%M} UTC"


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def plural(n: int, word: str, plural: str | None = None) -> str:
    """"1 run", "2 runs", "1,204 runs"; ``plural`` for irregular words (``plural(2, "entry", "entries")``)."""
    return f"{int(n):,} {word if n == 1 else plural or word + 's'}"


# ---- run labels ----------------------------------------------------------------------------------------------
def short_id(run_id: str) -> str:
    """The first 8 characters of a run id: enough to tell runs apart at a glance, as MLflow's UI does."""
    return str(run_id)[:SHORT_ID_LENGTH]


def run_label(name: object, run_id: str) -> str:
    """A run as every table, chart, legend and picker names it: its name, else its short id (legacy runs have
    no name; a blank label would make rows impossible to tell apart)."""
    text = name.strip() if isinstance(name, str) else ""
    return text or short_id(run_id)


def run_labels(run_ids: Sequence[str], names: Sequence[object]) -> dict[str, str]:
    """:func:`run_label` per run id, made unique where labels collide (legends and pickers need one entry per
    run): colliding runs read ``name · <id prefix>``, the prefix as short as tells them apart (at least 6)."""
    labels = {str(r): run_label(n, str(r)) for r, n in zip(run_ids, names, strict=True)}
    groups: dict[str, list[str]] = {}
    for run_id, label in labels.items():
        groups.setdefault(label, []).append(run_id)
    for label, members in groups.items():
        if len(members) > 1:
            width = 6
            while width < max(map(len, members)) and len({m[:width] for m in members}) < len(members):
                width += 2
            labels.update({m: f"{label} · {m[:width]}" for m in members})
    return labels


def labels_by_id(runs: pd.DataFrame) -> dict[str, str]:
    """:func:`run_labels` of a runs table (columns ``run_id``, ``run_name``)."""
    return run_labels(runs["run_id"].astype(str).tolist(), runs["run_name"].tolist())
