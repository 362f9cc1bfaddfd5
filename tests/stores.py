"""Small reference stores logged through MLflow's own client, with the awkward cases real stores have."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd


def log_reference_runs(uri: str, artifact_root: Path | None) -> dict[str, str]:
    """Log ~14 runs into ``uri``; returns experiment ids {"main", "empty", "deleted_exp"}.

    Covers: NaN and inf metrics, repeated and restarted steps, params on only some runs, unicode and slashed
    keys, a RUNNING run without end time, FAILED/KILLED runs, deleted runs, nested runs, artifacts in folders,
    a dataset input, and a rating tag.
    """
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=uri)
    location = (artifact_root / "main").as_uri() if artifact_root else None
    main = client.create_experiment("reference ü", artifact_location=location)
    empty = client.create_experiment("empty", artifact_location=(artifact_root / "empty").as_uri() if artifact_root else None)
    gone = client.create_experiment("deleted experiment")
    client.delete_experiment(gone)

    t0 = 1_700_000_000_000
    run_ids = []
    for i in range(12):
        run = client.create_run(main, start_time=t0 + i * 60_000, run_name=f"run-{i:02d}" if i != 3 else "naïve 学习")
        rid = run.info.run_id
        run_ids.append(rid)
        params = [Param("lr", str(0.1 / (i + 1))), Param("model", ["gbm", "mlp", "logreg"][i % 3])]
        if i % 3 == 0:
            params.append(Param("depth", str(i + 2)))
        if i == 5:
            params.append(Param("größe/学习率", "ünïcode"))
        metrics = []
        for step in range(4):
            value = 1.0 / (i + step + 1)
            metrics.append(Metric("train/loss", value, t0 + i * 60_000 + step * 1000, step))
        if i == 2:  # restarted steps within one run, and a repeated step
            metrics += [Metric("train/loss", 0.9, t0 + i * 60_000 + 9000, 0), Metric("train/loss", 0.8, t0 + i * 60_000 + 9000, 0)]
        metrics.append(Metric("eval.acc", float("nan") if i == 4 else 0.5 + i / 100, t0 + i * 60_000 + 5000, 0))
        if i == 6:
            metrics.append(Metric("weird", math.inf, t0, 0))
        tags = [RunTag("team", "vision" if i % 2 else "nlp"), RunTag("project", "lens")]
        if i == 1:
            tags += [RunTag("lens.rating", "4"), RunTag("lens.note", "good baseline")]
        client.log_batch(rid, metrics=metrics, params=params, tags=tags)
        if i in (0, 1):
            client.log_text(rid, f"notes for run {i}", "notes/readme.txt")
            client.log_text(rid, "a,b\n1,2\n", "data/table.csv")
        status = {7: "FAILED", 8: "KILLED", 9: None}.get(i, "FINISHED")
        if status is not None:
            client.set_terminated(rid, status=status, end_time=t0 + i * 60_000 + 30_000)
    # nested runs under run-00
    for j in range(2):
        child = client.create_run(main, start_time=t0 + 20 * 60_000 + j, run_name=f"child-{j}",
                                  tags={"mlflow.parentRunId": run_ids[0], "project": "lens"})
        client.log_metric(child.info.run_id, "train/loss", 0.3 + j, timestamp=t0, step=0)
        client.set_terminated(child.info.run_id, end_time=t0 + 21 * 60_000)
    # deleted runs never show
    for k in range(2):
        doomed = client.create_run(main, start_time=t0 + 30 * 60_000 + k, run_name=f"deleted-{k}")
        client.log_param(doomed.info.run_id, "only_on_deleted", "x")
        client.delete_run(doomed.info.run_id)
    # a dataset input on run-00
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    source = str(artifact_root / "train.csv") if artifact_root else "/tmp/train.csv"
    dataset = mlflow.data.from_pandas(frame, source=source, name="train", targets="y")
    from mlflow.entities import DatasetInput, InputTag

    client.log_inputs(
        run_ids[0],
        datasets=[DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")])],
    )
    contract = log_contract_runs(uri)
    return {"main": main, "empty": empty, "deleted_exp": gone, "first_run": run_ids[0], "running_run": run_ids[9],
            "contract": contract}


#: The logical runs every adapter must return identically (tests/test_contract.py): name, params, loss per step,
#: final accuracy.
CONTRACT_RUNS = (
    ("alpha", {"lr": "0.1", "optimizer": "adam"}, (0.9, 0.5, 0.3, 0.2, 0.15), 0.81),
    ("beta", {"lr": "0.01", "optimizer": "sgd"}, (1.0, 0.8, 0.7, 0.65, 0.6), 0.7),
    ("gamma", {"lr": "0.001", "optimizer": "adam"}, (1.2, 1.1, 1.05, 1.0, 0.98), 0.55),
)
CONTRACT_T0 = 1_700_100_000_000
#: MLflow 3 logged models of the contract runs, by run name (no model artifacts: only the trackers' records).
CONTRACT_MODELS = {"alpha": ("model",), "beta": (), "gamma": ("exported",)}


def log_contract_runs(uri: str) -> str:
    """The contract runs through MLflow's client; returns the experiment id. Alpha is the source of a logged model
    (and of a deleted one); gamma lists, as its output, a model logged without a source run."""
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput, Metric, Param

    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("contract")
    for i, (name, params, losses, acc) in enumerate(CONTRACT_RUNS):
        start = CONTRACT_T0 + i * 600_000
        run = client.create_run(experiment_id, start_time=start, run_name=name)
        metrics = [Metric("loss", v, start + 1000 * (s + 1), s) for s, v in enumerate(losses)]
        metrics.append(Metric("acc", acc, start + 10_000, len(losses) - 1))
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
        client.log_text(run.info.run_id, f"notes of {name}", "notes.txt")
        if name == "alpha":
            model = client.create_logged_model(experiment_id, name="model", source_run_id=run.info.run_id)
            client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, step=0)])
            discarded = client.create_logged_model(experiment_id, name="discarded", source_run_id=run.info.run_id)
            client.delete_logged_model(discarded.model_id)
        if name == "gamma":
            exported = client.create_logged_model(experiment_id, name="exported")
            client.log_outputs(run.info.run_id, [LoggedModelOutput(exported.model_id, step=0)])
        client.set_terminated(run.info.run_id, end_time=start + 20_000)
    return experiment_id


def write_contract_logdir(logdir: Path) -> str:
    """The contract runs as TensorBoard event files written by tensorboardX's SummaryWriter (hparams through the
    HParams plugin, as PyTorch's and tensorboardX's add_hparams write them); returns the experiment id."""
    import time as _time

    from tensorboardX import SummaryWriter

    experiment = logdir / "contract"
    for i, (name, params, losses, acc) in enumerate(CONTRACT_RUNS):
        start = (CONTRACT_T0 + i * 600_000) / 1000
        writer = SummaryWriter(str(experiment / name))
        for step, value in enumerate(losses):
            writer.add_scalar("loss", value, step, walltime=start + step + 1)
        writer.add_scalar("acc", acc, len(losses) - 1, walltime=start + 10)
        writer.add_hparams(dict(params), {}, name=f"{start:.6f}")
        writer.close()
        (experiment / name / "notes.txt").write_text(f"notes of {name}")
        old = start + 20  # finished long ago: the files' times say so
        for path in (experiment / name).rglob("*"):
            os.utime(path, (old, old))
    _time.sleep(0)  # event files are closed
    return "contract"


def write_tensorboard_logdir(logdir: Path, n_runs: int, n_steps: int = 20, seed: int = 0) -> Path:
    """A generated logdir of ``n_runs`` runs in two experiments, with hparams, for page tests and benchmarks."""
    import random

    from tensorboardX import SummaryWriter

    rng = random.Random(seed)
    for i in range(n_runs):
        experiment = "sweep-a" if i % 2 else "sweep-b"
        lr = rng.choice([0.1, 0.03, 0.01, 0.003])
        optimizer = rng.choice(["adam", "sgd"])
        writer = SummaryWriter(str(logdir / experiment / f"version_{i}"))
        quality = rng.random()
        for step in range(n_steps):
            writer.add_scalar("train/loss", (1 - quality / 2) / (1 + step * lr * 10) + rng.random() * 0.02, step,
                              walltime=1_700_000_000 + i * 3600 + step * 10)
        writer.add_scalar("val/acc", 0.5 + quality / 2, n_steps - 1, walltime=1_700_000_000 + i * 3600 + n_steps * 10)
        writer.add_hparams({"lr": lr, "optimizer": optimizer, "batch_size": rng.choice([32, 64])}, {},
                           name=f"{1_700_000_000 + i:.6f}")
        writer.close()
        old = 1_700_000_000 + i * 3600 + n_steps * 10 + 5
        for path in (logdir / experiment / f"version_{i}").rglob("*"):
            os.utime(path, (old, old))
    return logdir
