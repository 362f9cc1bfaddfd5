"""A live store: the app reads and rates while two MLflow processes log to the same sqlite file (issue 14).

Before one SQLite library served every read and write, this corrupted the file within 40 s ("database disk
image is malformed") and pages showed raw "database is locked" tracebacks. ``benchmarks/live_store.py`` is the
longer version; this runs its harness for a few seconds.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.live_store import create_store, run_live_store


def test_app_reads_and_ratings_beside_two_mlflow_loggers_keep_the_store_whole(tmp_path: Path):
    db = tmp_path / "mlflow.db"
    experiment_id = create_store(db)

    result = run_live_store(db, experiment_id, seconds=8, loggers=2)

    assert result.integrity == "ok", result.summary()
    assert result.unexpected == (), result.unexpected[:5]
    assert result.reads > 20 and result.rating_writes > 20, result.summary()
    assert result.batches_logged > 20, result.summary()  # the loggers really wrote while the app read
    assert result.ratings_kept == result.ratings_saved, result.summary()
    assert result.batches_kept == result.batches_logged, result.summary()
    assert set(result.app_errors) <= {"StoreBusyError"}, result.summary()
