"""Runs tables over MLflow's REST API at any size: adaptive pages, tables straight from the JSON, merges.

``runs/search`` answers in time proportional to the runs it returns (here ~2 ms a run on a loaded 2-core machine,
so a 5,000-run page can take longer than a 15 s request timeout). :class:`AdaptivePager` starts with small pages,
grows them while they come back well within :data:`TARGET_PAGE_SECONDS` and shrinks them after a slow one; each
request's timeout fits the page it asks for (never less than the configured timeout, never the blanket timeout
for a page expected to take longer).

The table is built from the JSON without MLflow's entity objects (:class:`RunsAccumulator`): the same values
``mlflow.search_runs`` shows — MLflow's server writes int64 times as JSON numbers, a NaN metric as the string
"NaN" (±inf are stored by MLflow as ±1.7976931348623157e308 and arrive as that number; "Infinity" is accepted
too), an absent ``end_time`` (0 in the proto) as no end time.

:func:`merge_runs` lays re-read runs over a table read before (incremental refresh): rows replaced by run id, new
rows added, vanished runs dropped, columns kept in the table's order (info, then metrics, params and tags, each
sorted by key).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lens_core.trackers.runs_table import GROUPS, INFO_COLUMNS, build_runs_table, sort_runs, to_utc_times

#: Runs asked for in the first page (before anything is known about the server's speed).
FIRST_PAGE_RUNS = 500
SMALLEST_PAGE_RUNS = 50
#: MLflow's server refuses ``max_results`` above 50,000.
LARGEST_PAGE_RUNS = 50_000
#: How long a page should take: short enough for steady progress and a cheap retry, long enough that the
#: per-request overhead stays small.
TARGET_PAGE_SECONDS = 3.0
#: A page's timeout is at least this many times the time it is expected to take.
TIMEOUT_FACTOR = 4.0


class AdaptivePager:
    """Page size and per-request timeout for the next ``runs/search`` page, learnt from the pages so far."""

    def __init__(self, base_timeout: float, *, first: int = FIRST_PAGE_RUNS, target: float = TARGET_PAGE_SECONDS,
                 smallest: int = SMALLEST_PAGE_RUNS, largest: int = LARGEST_PAGE_RUNS) -> None:
        self.base_timeout = float(base_timeout)
        self.size = max(1, int(first))
        self.target = float(target)
        self.smallest = max(1, min(int(smallest), self.size))
        self.largest = max(int(largest), self.size)
        #: Seconds per run, smoothed over the pages read (None before the first page).
        self.seconds_per_run: float | None = None
        self._overhead = 0.05

    def expected_seconds(self, size: int | None = None) -> float | None:
        if self.seconds_per_run is None:
            return None
        return (self.size if size is None else size) * self.seconds_per_run + self._overhead

    def timeout(self) -> float:
        """The next page's timeout: the configured one, or more for a page expected to take longer than a
        quarter of it."""
        expected = self.expected_seconds()
        if expected is None:
            return self.base_timeout
        return max(self.base_timeout, TIMEOUT_FACTOR * expected + 1.0)

    def record(self, asked: int, got: int, seconds: float) -> None:
        """A page of ``asked`` runs answered ``got`` runs in ``seconds``: learn the speed, size the next page."""
        if got <= 0:
            return
        rate = max(seconds - self._overhead, 0.0) / got
        if got < asked // 4 and self.seconds_per_run is not None:
            return  # a short last page says little about the server's speed
        self.seconds_per_run = rate if self.seconds_per_run is None else 0.5 * self.seconds_per_run + 0.5 * rate
        ideal = self.target / max(self.seconds_per_run, 1e-6)
        if seconds > 2 * self.target:
            size = ideal  # a slow page: shrink to what fits the target
        else:
            size = min(max(ideal, self.size / 2), self.size * 2)  # at most double, at most halve
        self.size = int(min(max(size, self.smallest), self.largest))

    def timed_out(self) -> None:
        """The page did not answer within its timeout although the server is alive: ask a quarter as much, and
        expect it to be slower than thought."""
        self.size = max(self.smallest, self.size // 4)
        if self.seconds_per_run is not None:
            self.seconds_per_run *= 2
        self.base_timeout *= 2


def metric_value(value: Any) -> float:
    """A metric value as MLflow's JSON carries it: a number, or "NaN" / "Infinity" / "-Infinity"."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class RunsAccumulator:
    """Runs of ``runs/search`` answers gathered into the columns of a runs table, page by page. Duplicates (a
    run seen twice while runs are added during paging) keep the first copy."""

    def __init__(self) -> None:
        self.info: dict[str, list[Any]] = {c: [] for c in INFO_COLUMNS}
        self.long: dict[str, tuple[list[str], list[str], list[Any]]] = {g: ([], [], []) for g in GROUPS}
        self.seen: set[str] = set()

    def __len__(self) -> int:
        return len(self.info["run_id"])

    def add(self, runs: Iterable[Mapping[str, Any]]) -> int:
        """Add the runs of one answer; returns how many were new."""
        added = 0
        info, seen = self.info, self.seen
        m_ids, m_keys, m_values = self.long["metrics"]
        p_ids, p_keys, p_values = self.long["params"]
        t_ids, t_keys, t_values = self.long["tags"]
        for run in runs:
            head = run.get("info") or {}
            run_id = head.get("run_id") or head.get("run_uuid") or ""
            if not run_id or run_id in seen:
                continue
            seen.add(run_id)
            added += 1
            info["run_id"].append(run_id)
            info["run_name"].append(head.get("run_name", ""))
            info["experiment_id"].append(str(head.get("experiment_id", "")))
            info["status"].append(head.get("status", "RUNNING"))
            info["artifact_uri"].append(head.get("artifact_uri", ""))
            info["start_time"].append(_epoch(head.get("start_time")))
            end = _epoch(head.get("end_time"))
            info["end_time"].append(end if end else None)  # proto2's 0 means "no end time", as in RunInfo
            data = run.get("data") or {}
            for item in data.get("metrics") or ():
                m_ids.append(run_id)
                m_keys.append(item.get("key", ""))
                m_values.append(metric_value(item.get("value", 0.0)))
            for item in data.get("params") or ():
                p_ids.append(run_id)
                p_keys.append(item.get("key", ""))
                p_values.append(item.get("value", ""))
            for item in data.get("tags") or ():
                t_ids.append(run_id)
                t_keys.append(item.get("key", ""))
                t_values.append(item.get("value", ""))
        return added

    def table(self) -> pd.DataFrame:
        """The runs table of every run added so far (MLflow's order: newest first)."""
        info = pd.DataFrame({
            **{c: self.info[c] for c in ("run_id", "run_name", "experiment_id", "status", "artifact_uri")},
            "start_time": pd.array(self.info["start_time"], dtype="Int64"),
            "end_time": pd.array(self.info["end_time"], dtype="Int64"),
        })

        def long(group: str) -> pd.DataFrame:
            ids, keys, values = self.long[group]
            if group == "metrics":
                column: Any = np.asarray(values, dtype="float64")
            else:
                column = pd.Series(values, dtype=object)
            return pd.DataFrame({"run_id": pd.Series(ids, dtype=object), "key": pd.Series(keys, dtype=object),
                                 "value": column})

        return build_runs_table(sort_runs(info), long("metrics"), long("params"), long("tags"))


def _epoch(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---- incremental refresh ------------------------------------------------------------------------------------------
def merge_runs(old: pd.DataFrame, update: pd.DataFrame, gone: Sequence[str] = ()) -> pd.DataFrame:
    """``old`` with the runs of ``update`` replacing theirs (or added), runs in ``gone`` removed; the same
    layout and dtypes a full read gives. ``attrs`` of ``old`` are kept."""
    drop = set(update["run_id"]) | set(gone)
    if not drop:
        return old
    if (fast := _replace_rows(old, update, gone)) is not None:
        return fast
    kept = old[~old["run_id"].isin(drop)] if len(old) else old
    parts = [p for p in (kept, update) if len(p)]
    if not parts:
        merged = old.iloc[0:0]
    else:
        times = {c: pd.concat([_epoch_ms(p[c]) for p in parts], ignore_index=True) for c in ("start_time", "end_time")}
        merged = pd.concat([p.drop(columns=["start_time", "end_time"]) for p in parts], ignore_index=True)
        for name, values in times.items():
            merged[name] = values
        merged = merged.sort_values(["start_time", "run_id"], ascending=[False, True], na_position="last",
                                    kind="stable").reset_index(drop=True)
        for name in ("start_time", "end_time"):
            converted = to_utc_times(merged[name])
            merged[name] = converted.to_numpy() if isinstance(converted, pd.Series) else pd.Series(
                converted, dtype=object)
    merged = merged[_column_order(merged.columns)]
    for name in merged.columns:
        if name.startswith("metrics."):
            merged[name] = merged[name].astype("float64")
        elif name.startswith(("params.", "tags.")):
            merged[name] = merged[name].astype("str")
    merged.attrs = dict(old.attrs)
    return merged


def _replace_rows(old: pd.DataFrame, update: pd.DataFrame, gone: Sequence[str]) -> pd.DataFrame | None:
    """The common refresh — running runs re-read, nothing added or removed, no new column, start times as they
    were — by overwriting those rows in place of a rebuild; None when the refresh is not that simple."""
    if len(gone) or not len(update) or not set(update.columns) <= set(old.columns):
        return None
    position = pd.Index(old["run_id"]).get_indexer(update["run_id"])
    if (position < 0).any() or len(set(position)) != len(position):
        return None
    if not update["start_time"].reset_index(drop=True).equals(old["start_time"].iloc[position].reset_index(drop=True)):
        return None
    if not pd.api.types.is_datetime64_any_dtype(old["end_time"]) and update["end_time"].notna().any():
        return None  # the first end time in a table without any: the column's type changes, rebuild
    changed: dict[str, Any] = {}
    for name in old.columns:
        column = old[name]
        if name in update.columns:
            values = update[name]
            if name == "end_time" and not pd.api.types.is_datetime64_any_dtype(column):
                continue  # both all missing
            if values.dtype != column.dtype:
                values = values.astype(column.dtype)
        else:
            values = pd.Series([None] * len(update), dtype=column.dtype)
        if column.iloc[position].reset_index(drop=True).equals(values.reset_index(drop=True)):
            continue  # re-read as it was (params and tags of running runs, mostly): the column is kept
        array = column.array.copy()
        array[position] = values.array
        changed[name] = array
    if not changed:
        return old
    out = old.copy()
    for name, array in changed.items():
        out[name] = array  # no Series: its first Mapping check costs ~0.1 s in a fresh process with mlflow loaded
    out.attrs = dict(old.attrs)
    return out


def _epoch_ms(column: pd.Series) -> pd.Series:
    """Times of a runs table column (datetimes, or None throughout) as nullable epoch milliseconds."""
    if pd.api.types.is_datetime64_any_dtype(column):
        missing = column.isna().to_numpy()
        raw = column.dt.tz_localize(None).dt.as_unit("ms").to_numpy().view("int64")
        return pd.Series(pd.array(np.where(missing, 0, raw), dtype="Int64").copy()).mask(missing)
    return pd.Series(pd.array([None] * len(column), dtype="Int64"))


def _column_order(columns: Iterable[str]) -> list[str]:
    names = list(columns)
    order = [c for c in INFO_COLUMNS if c in names]
    for group in GROUPS:
        prefix = f"{group}."
        order += sorted((c for c in names if c.startswith(prefix)), key=lambda c: c[len(prefix):])
    return order + [c for c in names if c not in set(order)]


def with_tags(frame: pd.DataFrame, run_id: str, tags: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with tags set on one run (a rating written through ExperimentLens); new tag columns go where a
    full read would put them."""
    rows = frame.index[frame["run_id"] == run_id]
    if len(rows) == 0 or not tags:
        return frame
    out = frame.copy()
    for key, value in tags.items():
        name = f"tags.{key}"
        if name not in out.columns:
            out[name] = pd.Series([None] * len(out), dtype="str", index=out.index)
        out.loc[rows, name] = str(value)
    if "mlflow.runName" in tags:
        out.loc[rows, "run_name"] = str(tags["mlflow.runName"])
    out = out[_column_order(out.columns)]
    out.attrs = dict(frame.attrs)
    return out
