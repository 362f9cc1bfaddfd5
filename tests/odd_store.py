"""A store with issue 17's oddities, logged by MLflow's own client: the numbers a page shows must be the ones logged.

``log_odd_runs(uri)`` returns ``{"odd": id, "grid": id}``:

- ``odd`` — 30 finished runs lasting 2–5 seconds: integer params above 10⁴ (``seed`` 97531…) and 10⁹ (``rows``
  1234567890…), a param beyond 2**53 (``big_id``), ``lr`` / ``depth`` / ``optimizer``; nine metrics every run has
  (``acc``, ``f1``, ``precision``, ``recall``, ``neg_log_loss``, ``latency_ms``, ``mape``, ``val_loss``,
  ``throughput``), all logged at step 0 only; ``val_loss`` is +inf (MLflow's 1.797e308 sentinel) in two runs; a
  sparse ``test_auc`` only 7 runs have (the metric the old defaults opened on); five legacy runs without a name.
- ``grid`` — 12 runs, one per combination of ``lr`` {0.01, 0.1} × ``depth`` {3, 5} × ``optimizer``
  {adam, sgd, rmsprop}: a complete grid, nothing left to suggest among the values tried.
"""
from __future__ import annotations

import itertools
import math
import sqlite3

SEED, ROWS, BIG_ID = 97531, 1_234_567_890, 2**53 + 1
N_ODD, UNNAMED, SPARSE, INFINITE = 30, (0, 7, 14, 21, 28), 7, (3, 11)
COMPLETE = ("acc", "f1", "precision", "recall", "neg_log_loss", "latency_ms", "mape", "val_loss", "throughput")
T0 = 1_700_000_000_000


def log_odd_runs(uri: str) -> dict[str, str]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=uri)
    odd = client.create_experiment("issue 17 oddities")
    unnamed: list[str] = []
    for i in range(N_ODD):
        start = T0 + i * 60_000
        run = client.create_run(odd, start_time=start, run_name=f"odd-{i:02d}")
        run_id = run.info.run_id
        lr, depth, optimizer = [0.01, 0.03, 0.1][i % 3], [3, 5, 8][i // 3 % 3], ["adam", "sgd"][i % 2]
        quality = 0.9 - abs(math.log10(lr) + 1.5) * 0.1 - (0.02 if optimizer == "sgd" else 0) + depth * 0.003
        values = {"acc": quality, "f1": quality - 0.03, "precision": quality + 0.01, "recall": quality - 0.05,
                  "neg_log_loss": -(1 - quality), "latency_ms": 20 + depth * 3 + i % 4, "mape": 0.2 - quality / 10,
                  "val_loss": math.inf if i in INFINITE else 1 - quality + i / 1000, "throughput": 900 - depth * 10}
        metrics = [Metric(k, float(v), start + 1000, 0) for k, v in values.items()]
        if i < SPARSE:
            metrics.append(Metric("test_auc", quality + 0.02, start + 1000, 0))
        params = [Param("seed", str(SEED + i)), Param("rows", str(ROWS + i * 1000)), Param("big_id", str(BIG_ID + i)),
                  Param("lr", str(lr)), Param("depth", str(depth)), Param("optimizer", optimizer)]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, end_time=start + 2000 + (i % 4) * 1000)
        if i in UNNAMED:
            unnamed.append(run_id)
    _make_legacy(uri, unnamed)

    grid = client.create_experiment("complete grid")
    for i, (lr, depth, optimizer) in enumerate(itertools.product([0.01, 0.1], [3, 5], ["adam", "sgd", "rmsprop"])):
        run = client.create_run(grid, start_time=T0 + i * 60_000, run_name=f"grid-{i:02d}")
        loss = abs(math.log10(lr) + 1.5) + depth / 10 + {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.1}[optimizer]
        client.log_batch(run.info.run_id, metrics=[Metric("val_loss", loss, T0, 0)],
                         params=[Param("lr", str(lr)), Param("depth", str(depth)), Param("optimizer", optimizer)])
        client.set_terminated(run.info.run_id, end_time=T0 + i * 60_000 + 90_000)
    return {"odd": odd, "grid": grid}


def _make_legacy(uri: str, run_ids: list[str]) -> None:
    """Runs as MLflow 1.x logged them: no name, no mlflow.runName tag."""
    with sqlite3.connect(uri.removeprefix("sqlite:///")) as con:
        marks = ",".join("?" * len(run_ids))
        con.execute(f"UPDATE runs SET name = '' WHERE run_uuid IN ({marks})", run_ids)
        con.execute(f"DELETE FROM tags WHERE key = 'mlflow.runName' AND run_uuid IN ({marks})", run_ids)
