"""Column kinds, geo / time / entity detection and chart suggestions over several naming styles and encodings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens_core.explorer import profile as pr
from lens_core.explorer import query as q


def write(frame: pd.DataFrame, path: Path) -> q.Source:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    else:
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    return q.Source.of(path)


def track(n: int = 600, entities: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "ids": np.repeat([f"T{i:02d}" for i in range(entities)], n // entities),
        "lat": 40.7 + rng.normal(0, 0.05, n),
        "lon": -74.0 + rng.normal(0, 0.05, n),
        "t": pd.date_range("2024-05-01 08:00", periods=n, freq="30s"),
        "speed": rng.gamma(2, 10, n),
        "kind": rng.choice(["car", "bike", "walk"], n),
    }


@pytest.mark.parametrize("lat,lon", [
    ("lat", "lon"), ("latitude", "longitude"), ("Latitude", "Longitude"), ("LAT", "LNG"), ("lat", "long"),
    ("pickup_latitude", "pickup_longitude"), ("start_lat", "start_lng"), ("startLat", "startLng"),
    ("gps.lat", "gps.lon"), ("Start Latitude", "Start Longitude"), ("pickuplat", "pickuplon"),
])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_geo_by_name(tmp_path: Path, lat: str, lon: str, suffix: str) -> None:
    d = track()
    frame = pd.DataFrame({"speed": d["speed"], lat: d["lat"], lon: d["lon"]})
    p = pr.profile(write(frame, tmp_path / f"geo{suffix}"))
    assert p.geo == pr.GeoPair(lat, lon, "name")
    assert any(s.chart == "points" for s in p.suggestions) and any(s.chart == "density" for s in p.suggestions)


def test_geo_prefers_matching_prefixes(tmp_path: Path) -> None:
    d = track()
    frame = pd.DataFrame({"pickup_lat": d["lat"], "dropoff_lat": d["lat"] + 0.01,
                          "dropoff_lon": d["lon"] + 0.01, "pickup_lon": d["lon"]})
    p = pr.profile(write(frame, tmp_path / "taxi.parquet"))
    assert (p.geo.lat, p.geo.lon) == ("pickup_lat", "pickup_lon")


def test_geo_names_checked_against_value_ranges(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    # "lat" holding values outside [-90, 90] is not a latitude (a lattice index, say)
    frame = pd.DataFrame({"lat": rng.uniform(100, 500, 50), "lon": rng.uniform(-10, 10, 50)})
    assert pr.profile(write(frame, tmp_path / "bad.parquet")).geo is None
    # longitudes up to 180 are fine, latitudes are not
    frame = pd.DataFrame({"latitude": rng.uniform(-80, 80, 50), "longitude": rng.uniform(-179, 179, 50)})
    assert pr.profile(write(frame, tmp_path / "world.parquet")).geo is not None


def test_geo_by_values_when_names_say_x_y_or_coordinates(tmp_path: Path) -> None:
    d = track()
    frame = pd.DataFrame({"pos_x": d["lon"], "pos_y": d["lat"], "value": d["speed"]})
    p = pr.profile(write(frame, tmp_path / "xy.parquet"))
    assert p.geo == pr.GeoPair("pos_y", "pos_x", "values")
    frame = pd.DataFrame({"gps_coord_1": d["lon"], "gps_coord_0": d["lat"]})
    p = pr.profile(write(frame, tmp_path / "coords.parquet"))
    assert p.geo is not None and p.geo.lat == "gps_coord_0" and p.geo.how == "values"
    # two unrelated numbers in range are not coordinates
    frame = pd.DataFrame({"score": d["speed"] / 100, "ratio": d["speed"] / 50})
    assert pr.profile(write(frame, tmp_path / "plain.parquet")).geo is None


@pytest.mark.parametrize("encoding", ["typed", "iso", "space", "date", "epoch_s", "epoch_ms"])
@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_time_columns(tmp_path: Path, encoding: str, suffix: str) -> None:
    d = track()
    t = pd.Series(d["t"])
    seconds = (t - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    values = {"typed": t, "iso": t.dt.strftime("%Y-%m-%dT%H:%M:%S"), "space": t.dt.strftime("%Y-%m-%d %H:%M:%S"),
              "date": t.dt.strftime("%Y-%m-%d"), "epoch_s": seconds, "epoch_ms": seconds * 1000}[encoding]
    name = {"epoch_s": "ts", "epoch_ms": "event_time_ms"}.get(encoding, "recorded_at")
    frame = pd.DataFrame({"value": d["speed"], name: values, "code": np.arange(len(t)) + 10**9})
    p = pr.profile(write(frame, tmp_path / f"times{suffix}"))
    assert p.time == name, (encoding, suffix, [(c.name, c.kind, c.time_encoding) for c in p.columns])
    assert p.column(name).kind == "datetime"
    if encoding.startswith("epoch"):
        assert p.column(name).time_encoding == encoding
    assert "code" not in p.times  # a big integer without a time-like name is not a time
    # the query service reads each encoding as times
    res = q.run(q.QueryRequest(p.source, time_bucket=q.TimeBucket(name, "1 day", p.column(name).time_encoding),
                               aggs=(q.Agg("count"),)))
    assert res.frame["count"].sum() == len(t) and len(res.frame) == 1
    assert any(s.chart == "line" and s.x == name for s in p.suggestions)


def test_text_that_is_not_time(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": ["hello", "world", "12", "2024-01-01"] * 10, "n": range(40)})
    p = pr.profile(write(frame, tmp_path / "notes.csv"))
    assert p.times == () and p.column("note").kind == "categorical"


def test_kinds_and_stats(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 500
    frame = pd.DataFrame({
        "x": rng.normal(5, 2, n), "k": rng.integers(0, 4, n), "flag": rng.random(n) > 0.5,
        "cat": rng.choice(["a", "b"], n), "free": [f"text {i} {rng.random()}" for i in range(n)],
        "when": pd.date_range("2020-01-01", periods=n, freq="h"), "empty": pd.Series([None] * n, dtype="float64"),
    })
    p = pr.profile(write(frame, tmp_path / "kinds.parquet"))
    kinds = {c.name: c.kind for c in p.columns}
    assert kinds == {"x": "numeric", "k": "numeric", "flag": "boolean", "cat": "categorical", "free": "text",
                     "when": "datetime", "empty": "numeric"}
    x = p.column("x")
    assert x.count == n and x.nulls == 0 and abs(x.mean - frame["x"].mean()) < 1e-9
    assert abs(x.std - frame["x"].std()) < 1e-6 and x.minimum is not None
    assert p.column("empty").all_null and p.column("empty").nulls == n
    assert p.column("k").integer and p.rows == n and not p.sampled
    summary = pr.frame_summary(p)
    assert list(summary["column"]) == list(frame.columns)


def test_entities_and_trajectory_suggestion(tmp_path: Path) -> None:
    d = track()
    frame = pd.DataFrame({"vehicle_id": d["ids"], "kind": d["kind"], "timestamp": d["t"], "lat": d["lat"],
                          "lon": d["lon"], "heading": np.arange(len(d["t"])) % 360, "speed": d["speed"]})
    p = pr.profile(write(frame, tmp_path / "fleet.parquet"))
    assert p.entity == "vehicle_id" and "heading" not in p.entities
    charts = [s.chart for s in p.suggestions]
    assert charts[:3] == ["points", "density", "trajectories"]
    assert {"line", "scatter", "bar", "histogram", "heatmap"} <= set(charts)
    traj = next(s for s in p.suggestions if s.chart == "trajectories")
    assert traj.color == "vehicle_id"


def test_integer_ids_named_like_ids(tmp_path: Path) -> None:
    d = track()
    frame = pd.DataFrame({"device": np.repeat(np.arange(6), 100), "lat": d["lat"], "lon": d["lon"],
                          "time": d["t"], "count": np.arange(600) % 7})
    p = pr.profile(write(frame, tmp_path / "devices.csv"))
    assert p.entity == "device" and "count" not in p.entities


def test_suggestions_without_geo(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100), "g": rng.choice(list("xyz"), 100),
                          "h": rng.choice(list("pq"), 100)})
    p = pr.profile(write(frame, tmp_path / "plain.parquet"))
    charts = {s.chart: s for s in p.suggestions}
    assert set(charts) == {"scatter", "bar", "histogram", "heatmap"}
    assert charts["heatmap"].x in ("g", "h") and charts["heatmap"].y[0] in ("g", "h")
    assert charts["scatter"].color in ("g", "h")


def test_empty_and_wide_files(tmp_path: Path) -> None:
    p = pr.profile(write(pd.DataFrame({"a": pd.Series(dtype=float)}), tmp_path / "empty.parquet"))
    assert p.rows == 0 and p.column("a").all_null and p.geo is None
    wide = pd.DataFrame(np.random.default_rng(5).normal(size=(50, 1000)), columns=[f"f{i}" for i in range(1000)])
    p = pr.profile(write(wide, tmp_path / "wide.parquet"))
    assert len(p.column_names) == 1000 and len(p.columns) == pr.MAX_PROFILED_COLUMNS < 1000 and p.suggestions


def test_big_files_are_profiled_on_a_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pr, "FULL_SCAN_ROWS", 1000)
    frame = pd.DataFrame({"x": np.arange(5000, dtype=float)})
    p = pr.profile(write(frame, tmp_path / "big.parquet"))
    assert p.rows == 5000 and p.sampled and p.column("x").count == 1000


@pytest.mark.parametrize("name,role", [("lat", "lat"), ("pickup_latitude", "lat"), ("startLng", "lon"),
                                       ("LONGITUDE", "lon"), ("long", "lon"), ("latency", None), ("along", None),
                                       ("plateau", None), ("longest_run", None), ("lat_2", "lat")])
def test_geo_roles(name: str, role: str | None) -> None:
    assert pr.geo_role(name) == role


def wide_parquet(path: Path, columns: int = 10_000, rows: int = 50) -> q.Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = np.random.default_rng(3).normal(size=(columns, rows))
    pq.write_table(pa.Table.from_arrays(list(values), names=[f"c{i}" for i in range(columns)]), path)
    return q.Source.of(path)


def test_wide_files_are_profiled_on_a_column_budget(tmp_path: Path) -> None:
    import time

    source = wide_parquet(tmp_path / "wide.parquet")
    began = time.perf_counter()
    p = pr.profile(source)
    seconds = time.perf_counter() - began
    assert p.rows == 50 and p.partial
    assert [c.name for c in p.columns] == [f"c{i}" for i in range(pr.MAX_PROFILED_COLUMNS)]
    assert len(p.column_names) == 10_000 and p.column_names[-1] == "c9999"
    assert p.column("c0").kind == "numeric" and p.column("c0").count == 50 and p.suggestions
    assert seconds < 15, seconds  # ~2 s here; all 10,000 columns ran out of memory after ~20 s
    # a narrow file names its columns through the profile alone
    narrow = pr.profile(write(pd.DataFrame({"a": [1.0], "b": [2.0]}), tmp_path / "narrow.parquet"))
    assert not narrow.partial and narrow.column_names == ["a", "b"] and narrow.all_columns == ()


def test_a_failed_profile_is_remembered_per_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    source = write(pd.DataFrame({"x": [1.0, 2.0]}), tmp_path / "slow.parquet")
    calls: list[str] = []

    def too_slow(src: q.Source, **kwargs) -> pr.Profile:
        calls.append(src.path)
        raise q.QueryTimeoutError("The query was stopped after 30 s.")

    monkeypatch.setattr(pr, "profile", too_slow)
    with pytest.raises(pr.ProfileFailedError) as first:
        pr.profile_file(source)
    assert first.value.failure.timed_out and not first.value.remembered and len(calls) == 1
    with pytest.raises(pr.ProfileFailedError) as again:  # a rerun: the remembered failure, nothing run
        pr.profile_file(source)
    assert again.value.remembered and again.value.failure == first.value.failure and len(calls) == 1
    assert pr.remembered_failure(source) == first.value.failure

    stat = os.stat(source.path)  # a new version of the file is tried again
    os.utime(source.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(pr.ProfileFailedError) as changed:
        pr.profile_file(source)
    assert not changed.value.remembered and len(calls) == 2

    pr.forget_failure(source)  # Retry: tried again, and a success is not remembered as a failure
    monkeypatch.undo()
    assert pr.profile_file(source).rows == 2 and pr.remembered_failure(source) is None


def test_latitude_and_longitude_past_the_column_budget_are_profiled(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(4)
    names = [f"c{i}" for i in range(80)] + ["latitude", "longitude"]
    arrays = [rng.normal(size=30) for _ in range(80)] + [rng.uniform(40, 50, 30), rng.uniform(-5, 5, 30)]
    pq.write_table(pa.Table.from_arrays(arrays, names=names), tmp_path / "wide_geo.parquet")
    p = pr.profile(q.Source.of(tmp_path / "wide_geo.parquet"), max_columns=20)
    assert p.partial and len(p.columns) == 20
    assert [c.name for c in p.columns][-2:] == ["latitude", "longitude"]  # in place of c18, c19
    assert p.geo is not None and (p.geo.lat, p.geo.lon) == ("latitude", "longitude")
    assert any(s.chart == "points" for s in p.suggestions)
