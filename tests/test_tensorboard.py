"""The TensorBoard adapter on logdirs written by a real SummaryWriter, and every page on one."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lens_core import open_tracker
from lens_core.trackers import tensorboard as tb
from tests.stores import write_tensorboard_logdir

HOME = str(Path(__file__).resolve().parent.parent / "Home.py")


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    return write_tensorboard_logdir(tmp_path_factory.mktemp("tb") / "logs", n_runs=20)


def test_opened_by_scheme_and_by_plain_path(logdir):
    assert open_tracker(f"tensorboard://{logdir}").kind == "tensorboard"
    assert open_tracker(str(logdir)).kind == "tensorboard"
    assert {e.name for e in open_tracker(logdir).experiments()} == {"sweep-a", "sweep-b"}


def test_hparams_become_params_and_add_hparams_folders_fold_into_their_run(logdir):
    runs = open_tracker(logdir).runs("sweep-a")
    assert len(runs) == 10 and set(runs["run_name"]) == {f"version_{i}" for i in range(1, 20, 2)}
    assert set(runs["params.optimizer"]) <= {"adam", "sgd"} and runs["params.lr"].notna().all()
    assert runs["metrics.val/acc"].between(0.5, 1).all()


def test_lightning_layout_with_hparams_yaml(tmp_path):
    from tensorboardX import SummaryWriter

    run = tmp_path / "lightning_logs" / "version_0"
    writer = SummaryWriter(str(run))
    writer.add_scalar("val_loss", 0.3, 10)
    writer.close()
    (run / "hparams.yaml").write_text("lr: 0.001\nmodel:\n  layers: 4\n  act: relu\n")
    tracker = open_tracker(tmp_path / "lightning_logs")
    (experiment,) = tracker.experiments()
    assert experiment.name == "lightning_logs"
    row = tracker.runs(experiment.experiment_id).iloc[0]
    assert row["run_name"] == "version_0" and row["params.model.layers"] == "4" and row["params.lr"] == "0.001"
    assert row["status"] == "RUNNING"  # just written: a run still logging


def test_warm_reload_parses_nothing(logdir, monkeypatch):
    tracker = open_tracker(logdir)
    tracker.runs("sweep-b")
    tracker.forget()  # even without the catalog, unchanged event files are not parsed again
    monkeypatch.setattr(tb, "parse_event_file", lambda path: pytest.fail(f"re-parsed {path}"))
    assert len(tracker.runs("sweep-b")) == 10
    tracker.metric_history(list(tracker.runs("sweep-b")["run_id"][:3]))


def test_appended_events_show_up(tmp_path):
    from tensorboardX import SummaryWriter

    def latest_loss(tracker, expected: float) -> float | None:
        deadline = time.monotonic() + 10  # the writer flushes from a background thread
        while time.monotonic() < deadline:
            runs = tracker.runs("exp")
            if "metrics.loss" in runs and runs["metrics.loss"].notna().all():
                value = float(runs["metrics.loss"].iloc[0])
                if value == expected:
                    return value
            time.sleep(0.1)
        return None

    writer = SummaryWriter(str(tmp_path / "exp" / "live"), flush_secs=1)
    writer.add_scalar("loss", 1.0, 0)
    writer.flush()
    tracker = open_tracker(tmp_path)
    assert latest_loss(tracker, 1.0) == 1.0
    writer.add_scalar("loss", 0.5, 1)
    writer.flush()
    assert latest_loss(tracker, 0.5) == 0.5
    writer.close()


def test_concurrent_ratings_keep_both(logdir, tmp_path):
    import shutil

    copy = tmp_path / "logs"
    shutil.copytree(logdir, copy)
    first, second = open_tracker(copy), open_tracker(copy)
    ids = list(first.runs("sweep-a")["run_id"])
    threads = [threading.Thread(target=t.set_tags, args=(rid, {"lens.rating": str(i % 5 + 1)}))
               for i, (t, rid) in enumerate(zip([first, second] * 5, ids, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ratings = open_tracker(copy).runs("sweep-a").set_index("run_id")["tags.lens.rating"]
    assert ratings.notna().all() and len(ratings) == 10


@pytest.mark.parametrize("page", ["Home.py", "pages/1_Compare.py", "pages/2_Run.py", "pages/3_Hyperparameters.py"])
def test_every_page_renders_on_a_logdir(page, logdir, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"tensorboard://{logdir}")
    tracker = open_tracker(logdir)
    ids = list(tracker.runs("sweep-a")["run_id"])
    at = AppTest.from_file(HOME, default_timeout=60)
    if page != "Home.py":
        at.switch_page(page)
    at.query_params.update({"Home.py": {"experiment": "sweep-a"}, "pages/1_Compare.py": {"runs": ",".join(ids[:3])},
                            "pages/2_Run.py": {"run": ids[0]},
                            "pages/3_Hyperparameters.py": {"experiment": "sweep-a"}}[page])
    at.run()
    assert not at.exception, at.exception
    if page == "Home.py":
        assert len(at.dataframe[0].value) == 10 and at.title[0].value == "sweep-a"
    if page == "pages/2_Run.py":
        assert any("version_" in t.value for t in at.title)
    if page == "pages/3_Hyperparameters.py":  # 10 runs: too few for a surrogate, said plainly
        assert "a surrogate needs at least 12" in at.warning[0].value
