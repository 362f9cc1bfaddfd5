"""The datasets several runs share by name, and one column's distribution in each, computed in DuckDB.

Numeric columns are binned on *shared* edges (the min and max over every run's file) so the runs' histograms
overlay; other columns are counted per value (the most frequent values over all runs).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from lens_core.confine import dataset_path
from lens_core.explorer import query as q
from lens_core.model import RunDetail

Roots = Sequence[str | Path]

TOP_VALUES = 20


def shared_datasets(details: Sequence[RunDetail], roots: Roots | Callable[[RunDetail], Roots]
                    ) -> dict[str, dict[str, Path]]:
    """Dataset name → {run_id: file} for the datasets at least two of the runs logged with a source the query
    service reads inside ``roots`` (or ``roots(run)``: the store's folders, the data roots, see
    :func:`lens_core.confine.dataset_roots`)."""
    found: dict[str, dict[str, Path]] = {}
    for detail in details:
        allowed = roots(detail) if callable(roots) else roots
        for dataset in detail.inputs:
            path = dataset_path(dataset.source, allowed, quiet=True)
            if path is not None and q.readable_format(path):
                found.setdefault(dataset.name, {})[detail.run_id] = path
    return {name: files for name, files in sorted(found.items()) if len(files) >= 2}


def common_columns(files: Mapping[str, Path]) -> list[str]:
    """Columns every file has, in the first file's order."""
    columns: list[str] | None = None
    for path in files.values():
        names = list(q.run(q.QueryRequest(q.Source.of(path), limit=1)).frame.columns)
        columns = names if columns is None else [c for c in columns if c in set(names)]
    return columns or []


def distribution(files: Mapping[str, Path], column: str, *, bins: int = 30) -> pd.DataFrame:
    """``run_id, value, end, count, share`` per run: bins on shared edges (``value`` the bin start, ``end`` its
    end) for a numeric column, else counts of the most frequent values (``end`` empty)."""
    sources = {run_id: q.Source.of(path) for run_id, path in files.items()}
    first = next(iter(sources.values()))
    numeric = pd.api.types.is_numeric_dtype(
        q.run(q.QueryRequest(first, columns=(column,), filters=(q.Filter(column, "not_null"),), limit=1)).frame[column])
    parts = []
    if numeric:
        ranges = [q.run(q.QueryRequest(s, aggs=(q.Agg("min", column, "lo"), q.Agg("max", column, "hi")))).frame
                  for s in sources.values()]
        lo = min(float(r["lo"].iloc[0]) for r in ranges if pd.notna(r["lo"].iloc[0]))
        hi = max(float(r["hi"].iloc[0]) for r in ranges if pd.notna(r["hi"].iloc[0]))
        for run_id, source in sources.items():
            frame = q.run(q.QueryRequest(source, bins=(q.Bin(column, bins, lo, hi, alias="value"),),
                                         aggs=(q.Agg("count"),))).frame
            parts.append(frame.rename(columns={"value_end": "end"}).assign(run_id=run_id))
    else:
        for run_id, source in sources.items():
            frame = q.run(q.QueryRequest(source, group_by=(column,), aggs=(q.Agg("count"),),
                                         order=(q.Order("count", descending=True),), limit=200)).frame
            parts.append(frame.rename(columns={column: "value"}).assign(run_id=run_id, end=None))
    out = pd.concat(parts, ignore_index=True)
    out["share"] = out["count"] / out.groupby("run_id")["count"].transform("sum")
    if not numeric:
        top = out.groupby("value", dropna=False)["count"].sum().nlargest(TOP_VALUES).index
        out = out[out["value"].isin(top)].assign(value=lambda f: f["value"].astype(str))
    return out[["run_id", "value", "end", "count", "share"]].reset_index(drop=True)
