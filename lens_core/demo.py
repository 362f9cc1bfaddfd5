"""The embedded demo store: a small, realistic MLflow store so ExperimentLens is useful before any setup.

It is built on first use into the user's cache (about half a minute) and never downloaded: the data comes from
scikit-learn's bundled datasets or from numpy generators with fixed seeds, so every build holds the same content;
only run ids and timestamps differ. Four experiments cover what the app has to show: a binary classification grid
with histories, failed runs, a parent sweep and ratings; a multiclass and a regression problem; and a geolocated,
timestamped fleet dataset for the map views.

Everything is written through one ``MlflowClient`` with an explicit tracking URI. The fluent API's process-wide
tracking URI and active run are never touched: other Streamlit sessions of the same process may be using them
while a build runs.
"""
from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lens_core.errors import LensError
from lens_core.paths import cache_dir

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

DEMO_VERSION: int = 2

Progress = Callable[[float, str], None]

_DB_NAME = "mlflow.db"
_SPLIT_SEED = 42
_TEST_SIZE = 0.25
_SAVED_TRAIN_ROWS = 500  # explainability tools need a background sample, not the whole training set
_MLP_EPOCHS = 40
_RF_GROWTH_STEPS = 5
_PIP_REQUIREMENTS = ["scikit-learn", "pandas"]  # spares log_model its 5-6 s requirement inference
_TIMING_SEED = 7


# --------------------------------------------------------------------------------------------------- public API


def demo_store_dir() -> Path:
    """``$LENS_DEMO_DIR`` if set, else a versioned folder in the cache: bumping DEMO_VERSION forces a rebuild."""
    if explicit := os.environ.get("LENS_DEMO_DIR"):
        return Path(explicit)
    return cache_dir() / f"demo-v{DEMO_VERSION}"


def ensure_demo_store(progress: Progress | None = None) -> str:
    """Return the demo store's tracking URI, building it first if needed.

    The store is built under a temporary sibling name and renamed into place, holding a lock file meanwhile: two
    sessions starting together build it once, and nobody ever sees it half-written, so the lock-free existence
    check is enough once it is there. ``progress`` is only called when a build happens.
    """
    final = demo_store_dir().absolute()
    db = final / _DB_NAME
    if not db.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(final.parent / f"{final.name}.lock"):
            if not db.exists():
                _build_and_publish(final, progress)
    return _sqlite_uri(db)


def build_demo_store(target: Path, progress: Progress | None = None) -> Path:
    """Build ``mlflow.db`` and ``artifacts/`` (plus the ``datasets/`` the runs cite) under ``target``.

    Returns the database path. ``progress(fraction, message)`` is called at least once per run and last with 1.0.
    """
    target = Path(target).absolute()
    db = target / _DB_NAME
    if db.exists():
        raise FileExistsError(f"{db} already exists: build the demo store into an empty folder.")
    target.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda fraction, message: None)
    report(0.0, "Creating the demo MLflow store")
    with _quiet():
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=_sqlite_uri(db))
        client.delete_experiment("0")  # the automatic "Default" experiment would point at the current directory
        plans = _experiment_plans()
        writer = _StoreWriter(client, target, sum(plan.run_count for plan in plans), report)
        with tempfile.TemporaryDirectory(prefix="lens-demo-") as staging:
            for plan in plans:
                writer.write_experiment(plan, Path(staging) / plan.name)
    report(1.0, "Demo store ready")
    return db


# ------------------------------------------------------------------------------------------- locking, publishing


def _sqlite_uri(db: Path) -> str:
    return f"sqlite:///{db.absolute()}"


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """flock on a file of our own: threads and processes each open it anew, so they exclude one another."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_and_publish(final: Path, progress: Progress | None) -> None:
    """Build beside ``final`` and rename into place. Call with the lock held: leftovers are then from crashes."""
    for leftover in final.parent.glob(f".{final.name}.building-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists() and any(final.iterdir()):
        raise LensError(
            f"{final} is not empty but holds no demo store ({_DB_NAME} is missing). "
            "Empty or remove that folder, or point LENS_DEMO_DIR somewhere else."
        )
    staging = final.parent / f".{final.name}.building-{uuid.uuid4().hex[:12]}"
    try:
        build_demo_store(staging, progress)
        _relocate(staging, final)
        os.rename(staging, final)  # atomic; replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _relocate(store: Path, new_root: Path) -> None:
    """Rewrite the absolute paths MLflow stored (artifact locations, dataset sources, MLmodel files).

    The staging folder name is unique, so replacing it anywhere it appears as text is safe; JSON columns may hold
    it escaped, hence the second pair.
    """
    pairs = {(str(store), str(new_root)), (json.dumps(str(store))[1:-1], json.dumps(str(new_root))[1:-1])}
    with contextlib.closing(sqlite3.connect(store / _DB_NAME)) as con, con:
        tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]:
                for old, new in pairs:
                    con.execute(
                        f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                        f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                        (old, new, old),
                    )
    for mlmodel in (store / "artifacts").rglob("MLmodel"):
        text = mlmodel.read_text()
        for old, new in pairs:
            text = text.replace(old, new)
        mlmodel.write_text(text)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Mute MLflow's INFO chatter (table creation, the pickle-format warning) and library warnings while building.

    Logger levels and warning filters are process-wide: restore them as found. MLflow sets its loggers' levels
    when first imported, so import it before changing them.
    """
    import mlflow  # noqa: F401

    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# ----------------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class _Task:
    """One supervised problem: the split that every run of an experiment trains and scores on."""

    kind: str  # "binary", "multiclass" or "regression"
    target: str
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    raw: pd.DataFrame | None = None  # source table the runs also keep as data/ artifacts (fleet)


def _split(frame: pd.DataFrame, target: str, kind: str, raw: pd.DataFrame | None = None) -> _Task:
    from sklearn.model_selection import train_test_split

    X, y = frame.drop(columns=target), frame[target]
    stratify = None if kind == "regression" else y
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=_TEST_SIZE, random_state=_SPLIT_SEED, stratify=stratify
    )
    reset = [part.reset_index(drop=True) for part in (X_train, X_test, y_train, y_test)]
    return _Task(kind, target, *reset, raw=raw)


def _churn_task() -> _Task:
    """A telecom customer table whose churn depends on contract, tenure, support calls and a plan interaction."""
    rng = np.random.default_rng(2024)
    n = 2000
    plan = rng.choice(["basic", "standard", "premium"], n, p=[0.45, 0.35, 0.20])
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.20])
    region = rng.choice(["north", "south", "east", "west", "central"], n)
    payment = rng.choice(["credit_card", "bank_transfer", "paypal", "mailed_check"], n, p=[0.35, 0.30, 0.20, 0.15])
    tenure = rng.integers(1, 73, n)
    base_charge = pd.Series(plan).map({"basic": 25.0, "standard": 55.0, "premium": 90.0}).to_numpy()
    charges = np.round(base_charge + rng.normal(0, 8, n), 2)
    support_calls = rng.poisson(np.where(plan == "basic", 2.0, 1.0))
    usage = np.round(rng.gamma(2.0, np.where(plan == "premium", 12.0, 6.0)), 1)
    age = rng.integers(18, 80, n)
    logit = (
        -1.0
        + 1.2 * (contract == "month-to-month")
        - 0.9 * (contract == "two-year")
        - 0.04 * tenure
        + 0.35 * support_calls
        + 0.015 * (charges - 55)
        + 0.5 * (payment == "mailed_check")
        + 0.3 * (region == "south")
        - 0.01 * (age - 45)
        + 0.9 * ((plan == "premium") & (support_calls >= 2))
    )
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({
        "plan": plan,
        "contract": contract,
        "region": region,
        "payment_method": payment,
        "tenure_months": tenure,
        "monthly_charges": charges,
        "support_calls": support_calls,
        "data_usage_gb": usage,
        "age": age,
        "churned": churned,
    })
    return _split(frame, "churned", "binary")


def _wine_task() -> _Task:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    return _split(frame, "cultivar", "multiclass")


def _diabetes_task() -> _Task:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    return _split(frame, "progression", "regression")


_CITY_CENTRE = (48.8566, 2.3522)
_KM_PER_DEGREE = 111.2


def _fleet_trajectories(vehicles: int = 20, points: int = 300) -> pd.DataFrame:
    """One working day of GPS pings around Paris; delays build up in rush hours near the centre."""
    rng = np.random.default_rng(1789)
    day_start = datetime(2025, 6, 3, 6, 0)
    base_speed = {"bus": 22.0, "van": 30.0, "taxi": 34.0}
    rows = []
    for number in range(1, vehicles + 1):
        kind = str(rng.choice(list(base_speed)))
        # each vehicle works its own part of town around a depot, so paths overlap only where areas meet
        depot = (_CITY_CENTRE[0] + rng.normal(0, 0.03), _CITY_CENTRE[1] + rng.normal(0, 0.045))
        lat, lon = depot
        grid = rng.uniform(-20, 20)  # the street grid's angle in this vehicle's part of town
        street = float(rng.integers(0, 4)) * 90  # along a street: paths read as routes, not a random walk
        heading = grid + street
        fuel, delay = rng.uniform(0.5, 1.0), 0.0
        moment = day_start + timedelta(minutes=int(rng.integers(0, 45)))
        for _ in range(points):
            north_km = (lat - _CITY_CENTRE[0]) * _KM_PER_DEGREE
            east_km = (lon - _CITY_CENTRE[1]) * _KM_PER_DEGREE * np.cos(np.radians(lat))
            distance = float(np.hypot(north_km, east_km))
            hour = moment.hour + moment.minute / 60
            rush = np.exp(-(((hour - 8.5) / 1.2) ** 2)) + np.exp(-(((hour - 18.0) / 1.5) ** 2))
            congestion = rush * max(0.0, 1 - distance / 8)
            speed = base_speed[kind] * (1 - 0.6 * congestion) * rng.lognormal(0, 0.15)
            delay = max(0.0, 0.8 * delay + 6 * congestion + (kind == "bus") + rng.normal(0, 1.0))
            rows.append((
                f"V{number:02d}", kind, moment, round(lat, 6), round(lon, 6), round(speed, 1),
                int(heading % 360), round(fuel, 3), round(delay, 1), _district(north_km, east_km),
            ))
            seconds = rng.uniform(150, 210)
            depot_north = (lat - depot[0]) * _KM_PER_DEGREE
            depot_east = (lon - depot[1]) * _KM_PER_DEGREE * np.cos(np.radians(lat))
            if np.hypot(depot_north, depot_east) > 2.5:  # back towards the depot, on the street closest to that way
                home = np.degrees(np.arctan2(-depot_east, -depot_north)) - grid
                street = round(home / 90) * 90
            elif (turn := rng.uniform()) < 0.3:  # a turn at a crossing; rarely back the way it came
                street += 180 if turn < 0.03 else float(rng.choice([-90, 90]))
            heading = grid + street + rng.normal(0, 4)
            step_km = speed * seconds / 3600
            lat += step_km * np.cos(np.radians(heading)) / _KM_PER_DEGREE
            lon += step_km * np.sin(np.radians(heading)) / (_KM_PER_DEGREE * np.cos(np.radians(lat)))
            fuel = 1.0 if fuel < 0.12 else fuel - step_km * 0.004
            moment += timedelta(seconds=float(seconds))
    columns = ["vehicle_id", "vehicle_type", "timestamp", "latitude", "longitude", "speed_kmh", "heading",
               "fuel_level", "delay_min", "district"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["timestamp"] = frame["timestamp"].astype("datetime64[s]")
    return frame


def _district(north_km: float, east_km: float) -> str:
    if np.hypot(north_km, east_km) < 2:
        return "centre"
    if abs(north_km) >= abs(east_km):
        return "north" if north_km > 0 else "south"
    return "east" if east_km > 0 else "west"


def _fleet_task() -> _Task:
    raw = _fleet_trajectories()
    features = raw[["vehicle_type", "district", "latitude", "longitude", "speed_kmh", "heading", "fuel_level"]]
    hour = raw["timestamp"].dt.hour + raw["timestamp"].dt.minute / 60
    frame = features.assign(hour=hour.round(2), delay_min=raw["delay_min"])
    return _split(frame, "delay_min", "regression", raw=raw)


# ---------------------------------------------------------------------------------------------------- the plans


@dataclass(frozen=True)
class _RunSpec:
    name: str
    family: str  # "logreg", "ridge", "rf", "gbm" or "mlp"
    hyper: dict[str, Any]  # constructor arguments of the estimator, logged as params
    seed: int = 1


@dataclass(frozen=True)
class _Session:
    """Runs launched back to back on one day; a sweep session groups them under a parent run of that name."""

    days_ago: int
    start: str  # "HH:MM"
    runs: list[_RunSpec]
    sweep: str | None = None


@dataclass(frozen=True)
class _ExperimentPlan:
    name: str
    description: str
    script: str
    user: str
    make_task: Callable[[], _Task]
    sessions: list[_Session]
    ratings: dict[str, tuple[str, str]] = field(default_factory=dict)  # run name -> (lens.rating, lens.note)

    @property
    def run_count(self) -> int:
        return sum(len(session.runs) + (session.sweep is not None) for session in self.sessions)


def _grid(family: str, name: str, seeds: Sequence[int] = (1,), fixed: dict[str, Any] | None = None,
          **axes: Sequence[Any]) -> list[_RunSpec]:
    """Every combination of ``axes``, once per seed; ``name`` is formatted with the axis values and ``seed``."""
    specs = []
    for values in itertools.product(*axes.values()):
        combo = dict(zip(axes, values, strict=True))
        for seed in seeds:
            label = name.format(seed=seed, **{key: _label(value) for key, value in combo.items()})
            specs.append(_RunSpec(label, family, {**(fixed or {}), **combo}, seed))
    return specs


def _label(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


_SGD_TOO_FAST = {"hidden_layer_sizes": (64, 32), "solver": "sgd", "momentum": 0.99}  # the churn runs that fail


def _experiment_plans() -> list[_ExperimentPlan]:
    """What a small team did over two weeks. The richest experiment is created last: the app opens on the
    most recently created experiment."""
    seeds = (1, 2)
    return [
        _ExperimentPlan(
            "wine-multiclass", "Cultivar classification on the UCI wine data: a quick model comparison.",
            "train_wine.py", "tom", _wine_task,
            [_Session(13, "10:05", [
                *_grid("logreg", "logreg-C{C}", C=[0.1, 1.0]),
                *_grid("rf", "rf-depth{max_depth}", fixed={"n_estimators": 100}, max_depth=[3, 8]),
                *_grid("gbm", "gbm-lr{learning_rate}-depth2",
                       fixed={"n_estimators": 60, "max_depth": 2, "subsample": 0.8}, learning_rate=[0.1, 0.3]),
            ])],
        ),
        _ExperimentPlan(
            "diabetes-regression", "Disease progression one year after baseline (sklearn diabetes data).",
            "train_diabetes.py", "tom", _diabetes_task,
            [_Session(11, "14:20", [
                *_grid("ridge", "ridge-alpha{alpha}", alpha=[0.1, 1.0, 10.0]),
                *_grid("rf", "rf-depth{max_depth}", fixed={"n_estimators": 100, "min_samples_leaf": 3},
                       max_depth=[4, 8]),
                *_grid("gbm", "gbm-lr{learning_rate}-depth3", fixed={"n_estimators": 150, "subsample": 0.8,
                       "max_depth": 3}, learning_rate=[0.05, 0.1, 0.3]),
            ])],
            ratings={"ridge-alpha1.0": ("4", "Simple and as good as the forests.")},
        ),
        _ExperimentPlan(
            "fleet-trajectories", "Predicting delivery delays from GPS pings of 20 vehicles (one day in Paris).",
            "train_fleet_delay.py", "sam", _fleet_task,
            [_Session(2, "11:15", [
                *_grid("ridge", "ridge-alpha{alpha}", alpha=[1.0]),
                *_grid("rf", "rf-depth{max_depth}", fixed={"n_estimators": 60, "min_samples_leaf": 5}, max_depth=[10]),
                *_grid("gbm", "gbm-lr0.1-depth3", fixed={"n_estimators": 120, "subsample": 0.8,
                       "learning_rate": 0.1, "max_depth": 3}),
                *_grid("gbm", "gbm-lr0.05-depth4", fixed={"n_estimators": 120, "subsample": 0.8,
                       "learning_rate": 0.05, "max_depth": 4}),
            ])],
            ratings={"gbm-lr0.1-depth3": ("4", "Rush hour near the centre explains most of the delay.")},
        ),
        _ExperimentPlan(
            "churn-classification", "Which customers will cancel next month? Binary churn model for retention.",
            "train_churn.py", "maya", _churn_task,
            [
                _Session(8, "09:40", _grid("logreg", "logreg-C{C}-s{seed}", seeds, C=[0.1, 1.0, 10.0])),
                _Session(8, "15:10", _grid("rf", "rf-depth{max_depth}-s{seed}", seeds,
                                           fixed={"n_estimators": 100, "min_samples_leaf": 2}, max_depth=[6, 12])),
                _Session(7, "10:25", [
                    *_grid("mlp", "mlp-{hidden_layer_sizes}-a{alpha}-s{seed}", seeds,
                           fixed={"solver": "adam", "learning_rate_init": 0.001},
                           hidden_layer_sizes=[(32,), (64, 32)], alpha=[0.0001, 0.01]),
                    *_grid("mlp", "mlp-sgd-lr{learning_rate_init}-s{seed}", (1, 3), fixed=_SGD_TOO_FAST,
                           learning_rate_init=[2.0]),
                    *_grid("mlp", "mlp-sgd-lr{learning_rate_init}-s{seed}", fixed=_SGD_TOO_FAST,
                           learning_rate_init=[8.0]),
                ]),
                _Session(5, "09:50", _grid("gbm", "gbm-lr{learning_rate}-depth{max_depth}-s{seed}", seeds,
                                           fixed={"n_estimators": 150, "subsample": 0.8},
                                           learning_rate=[0.05, 0.1, 0.3], max_depth=[2, 3]),
                         sweep="gbm-lr-sweep"),
            ],
            ratings={
                "gbm-lr0.1-depth3-s1": ("5", "Best AUC so far; candidate for the retention campaign."),
                "rf-depth6-s2": ("4", "Nearly as good as GBM and faster to retrain."),
                "logreg-C1.0-s1": ("2", "Baseline: misses the premium x support-calls interaction."),
                "mlp-sgd-lr8.0-s1": ("1", "SGD diverges at this learning rate; do not retry."),
            },
        ),
    ]


# ------------------------------------------------------------------------------------------------------ training


@dataclass
class _Fit:
    """A fitted last pipeline step, its learning curve (one value per step and key) and its fit time."""

    model: Any
    steps: list[int] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, step: int, scores: dict[str, float]) -> None:
        self.steps.append(step)
        for key, value in scores.items():
            self.history.setdefault(key, []).append(value)


class _Diverged(Exception):
    """Training blew up. Carries the curve so far, as a crashing script would have logged it."""

    def __init__(self, message: str, fit: _Fit) -> None:
        super().__init__(message)
        self.fit = fit


def _preprocessor(X: pd.DataFrame) -> Any:
    """Scale numbers, one-hot encode text: the usual front of a tabular Pipeline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    parts = [("numeric", StandardScaler(), numeric)]
    if categorical:
        parts.append(("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(parts)


def _estimator(spec: _RunSpec, kind: str) -> Any:
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier

    classes = {
        ("logreg", True): LogisticRegression, ("ridge", False): Ridge,
        ("rf", True): RandomForestClassifier, ("rf", False): RandomForestRegressor,
        ("gbm", True): GradientBoostingClassifier, ("gbm", False): GradientBoostingRegressor,
        ("mlp", True): MLPClassifier,
    }
    cls = classes[spec.family, kind != "regression"]
    extra = {"max_iter": 1000} if spec.family == "logreg" else {}
    if "random_state" in cls().get_params():
        extra["random_state"] = spec.seed
    return cls(**spec.hyper, **extra)


def _step_scores(kind: str, y: np.ndarray, output: np.ndarray, prefix: str) -> dict[str, float]:
    """Cheap numpy scores for learning curves (sklearn's metric checks cost ~1 ms a call, thousands of calls).

    Class labels here are 0..k-1 (churned, cultivar), so they index the probability columns directly.
    """
    if kind == "regression":
        return {f"{prefix}rmse": float(np.sqrt(np.mean((y - output) ** 2)))}
    picked = np.clip(output[np.arange(len(y)), y], 1e-15, 1.0)
    scores = {f"{prefix}log_loss": float(-np.mean(np.log(picked))),
              f"{prefix}accuracy": float(np.mean(output.argmax(axis=1) == y))}
    if kind == "binary":
        scores[f"{prefix}roc_auc"] = _roc_auc(y, output[:, 1])
    return scores


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney form of the ROC AUC, with tied scores sharing their rank."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    positives = int(y.sum())
    negatives = len(y) - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _train(estimator: Any, family: str, task: _Task, X_train: np.ndarray, X_test: np.ndarray) -> _Fit:
    """Fit on preprocessed arrays, recording the curve each family naturally has."""
    y_train, y_test = task.y_train.to_numpy(), task.y_test.to_numpy()
    trainer = {"gbm": _train_staged, "rf": _train_growing, "mlp": _train_epochs}.get(family, _train_once)
    return trainer(estimator, task.kind, X_train, y_train, X_test, y_test)


def _train_once(model: Any, kind: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> _Fit:
    began = time.perf_counter()
    model.fit(X, y)
    return _Fit(model, seconds=time.perf_counter() - began)


def _train_staged(model: Any, kind: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray,
                  y_test: np.ndarray) -> _Fit:
    """Gradient boosting: one curve point per boosting stage."""
    fit = _train_once(model, kind, X, y, X_test, y_test)
    staged = model.staged_predict if kind == "regression" else model.staged_predict_proba
    for stage, (on_train, on_test) in enumerate(zip(staged(X), staged(X_test), strict=True), start=1):
        fit.record(stage, {**_step_scores(kind, y, on_train, "train_"), **_step_scores(kind, y_test, on_test, "test_")})
    return fit


def _train_growing(model: Any, kind: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray,
                   y_test: np.ndarray) -> _Fit:
    """Random forest: grow it with warm_start and score after each batch of trees (step = tree count)."""
    fit = _Fit(model)
    total = model.n_estimators
    for trees in np.linspace(total / _RF_GROWTH_STEPS, total, _RF_GROWTH_STEPS).astype(int):
        model.set_params(n_estimators=int(trees), warm_start=True)
        began = time.perf_counter()
        model.fit(X, y)
        fit.seconds += time.perf_counter() - began
        output = model.predict(X_test) if kind == "regression" else model.predict_proba(X_test)
        fit.record(int(trees), _step_scores(kind, y_test, output, "test_"))
    model.set_params(warm_start=False)
    return fit


def _train_epochs(model: Any, kind: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray,
                  y_test: np.ndarray) -> _Fit:
    """Neural net: partial_fit per epoch, aborting like a careful script when the loss explodes or the net dies."""
    fit = _Fit(model)
    classes = np.unique(y)
    constant_epochs = 0
    for epoch in range(1, _MLP_EPOCHS + 1):
        began = time.perf_counter()
        try:
            model.partial_fit(X, y, classes=classes)
        except ValueError as error:  # sklearn refuses to go on with non-finite weights
            raise _Diverged(f"Training crashed at epoch {epoch}: {error}", fit) from error
        fit.seconds += time.perf_counter() - began
        loss, proba = float(model.loss_), model.predict_proba(X_test)
        fit.record(epoch, {"loss": loss, **_step_scores(kind, y_test, proba, "test_")})
        if not np.isfinite(loss) or loss > 3 * fit.history["loss"][0]:
            raise _Diverged(f"Loss diverged at epoch {epoch} (loss={loss:.3g}); aborted.", fit)
        constant_epochs = constant_epochs + 1 if np.ptp(proba[:, -1]) < 1e-9 else 0
        if constant_epochs == 3:
            raise _Diverged(f"Network collapsed at epoch {epoch}: the same output for every row three epochs "
                            "running (dead ReLU units); aborted.", fit)
    return fit


def _final_scores(kind: str, pipeline: Any, task: _Task) -> dict[str, float]:
    from sklearn import metrics

    X, y = task.X_test, task.y_test
    if kind == "regression":
        predicted = pipeline.predict(X)
        return {"rmse": float(np.sqrt(metrics.mean_squared_error(y, predicted))),
                "mae": float(metrics.mean_absolute_error(y, predicted)),
                "r2": float(metrics.r2_score(y, predicted))}
    proba = pipeline.predict_proba(X)
    classes = pipeline.classes_
    predicted = classes[proba.argmax(axis=1)]
    scores = {"accuracy": float(metrics.accuracy_score(y, predicted)),
              "log_loss": float(metrics.log_loss(y, proba, labels=classes))}
    if kind == "binary":
        scores["roc_auc"] = float(metrics.roc_auc_score(y, proba[:, 1]))
        scores["f1"] = float(metrics.f1_score(y, predicted))
    else:
        scores["f1_macro"] = float(metrics.f1_score(y, predicted, average="macro"))
        per_class = metrics.f1_score(y, predicted, average=None, labels=classes)
        scores.update({f"f1_class_{label}": float(value) for label, value in zip(classes, per_class, strict=True)})
    return scores


_PRIMARY_METRIC = {"binary": ("roc_auc", max), "multiclass": ("accuracy", max), "regression": ("rmse", min)}


# ------------------------------------------------------------------------------------------------------- writing


class _Clock:
    """Simulated wall clock (epoch ms): runs appear over two weeks of working hours, in the order they ran."""

    def __init__(self) -> None:
        self._midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        self._rng = np.random.default_rng(_TIMING_SEED)
        self.now_ms = 0

    def start_session(self, days_ago: int, hhmm: str) -> None:
        hours, minutes = map(int, hhmm.split(":"))
        moment = self._midnight - timedelta(days=days_ago) + timedelta(hours=hours, minutes=minutes)
        self.now_ms = int(moment.timestamp() * 1000) + int(self._rng.integers(0, 60_000))

    def advance(self, low_s: float, high_s: float | None = None) -> int:
        """Move on by ``low_s`` seconds, or a random time in [low_s, high_s]; return the new time."""
        seconds = low_s if high_s is None else self._rng.uniform(low_s, high_s)
        self.now_ms += int(seconds * 1000)
        return self.now_ms


@dataclass(frozen=True)
class _ExperimentContext:
    """What every run of one experiment shares: its id, its data, its dataset inputs and artifact folders."""

    experiment_id: str
    plan: _ExperimentPlan
    task: _Task
    inputs: list[DatasetInput]
    artifact_dirs: list[tuple[Path, str]]  # (local folder, artifact path) logged by every finished run


class _StoreWriter:
    """Writes the planned experiments through one MlflowClient, timestamped by a simulated clock."""

    def __init__(self, client: MlflowClient, root: Path, total_runs: int, report: Progress) -> None:
        self.client = client
        self.root = root
        self.total_runs = total_runs
        self.report = report
        self.clock = _Clock()
        self.runs_done = 0

    def write_experiment(self, plan: _ExperimentPlan, staging: Path) -> None:
        experiment_id = self.client.create_experiment(
            plan.name,
            artifact_location=str(self.root / "artifacts" / plan.name),
            tags={"mlflow.note.content": plan.description, "owner": plan.user},
        )
        task = plan.make_task()
        context = _ExperimentContext(
            experiment_id, plan, task, self._dataset_inputs(plan.name, task), _stage_artifacts(task, staging)
        )
        number = 0
        for session in plan.sessions:
            self.clock.start_session(session.days_ago, session.start)
            parent_id = None
            if session.sweep:
                number += 1
                parent_id = self._start_sweep(context, session.sweep, session.runs, number)
            finished = []
            for spec in session.runs:
                number += 1
                finished.append(self._write_run(context, spec, number, parent_id))
            if parent_id:
                self._finish_sweep(context, parent_id, [s for s in finished if s])

    def _announce(self, plan: _ExperimentPlan, number: int, run_name: str) -> None:
        self.report(self.runs_done / self.total_runs, f"{plan.name}: run {number}/{plan.run_count} ({run_name})")
        self.runs_done += 1

    def _dataset_inputs(self, slug: str, task: _Task) -> list[DatasetInput]:
        """Write the source files the datasets cite under ``datasets/`` and describe them as run inputs."""
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        folder = self.root / "datasets"
        folder.mkdir(exist_ok=True)
        if task.raw is not None:
            sources = {"training": (task.raw, folder / f"{slug}.parquet", None)}
        else:
            sources = {context: (pd.concat([X, y], axis=1), folder / f"{slug}-{part}.csv", task.target)
                       for context, part, X, y in (("training", "train", task.X_train, task.y_train),
                                                   ("test", "test", task.X_test, task.y_test))}
        inputs = []
        for context, (frame, path, targets) in sources.items():
            if path.suffix == ".parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
            dataset = mlflow.data.from_pandas(frame, source=str(path), name=path.stem, targets=targets)
            inputs.append(DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, context)]))
        return inputs

    def _run_tags(self, context: _ExperimentContext, family: str, run_name: str,
                  parent_id: str | None) -> dict[str, str]:
        plan = context.plan
        tags = {"model_family": family, **_source_tags(plan)}
        if parent_id:
            tags["mlflow.parentRunId"] = parent_id
        if run_name in plan.ratings:
            tags["lens.rating"], tags["lens.note"] = plan.ratings[run_name]
        return tags

    def _write_run(self, context: _ExperimentContext, spec: _RunSpec, number: int,
                   parent_id: str | None) -> dict[str, float] | None:
        """One training run as a script would log it. Returns its final scores, None if it failed."""
        from mlflow.entities import Param

        self._announce(context.plan, number, spec.name)
        task, client = context.task, self.client
        run = client.create_run(context.experiment_id, start_time=self.clock.now_ms, run_name=spec.name,
                                tags=self._run_tags(context, spec.family, spec.name, parent_id))
        run_id = run.info.run_id
        estimator = _estimator(spec, task.kind)
        params = {"model": type(estimator).__name__, **spec.hyper, "seed": spec.seed, "test_size": _TEST_SIZE,
                  "split_seed": _SPLIT_SEED, "train_rows": len(task.X_train)}
        if spec.family == "mlp":
            params["epochs"] = _MLP_EPOCHS
        client.log_batch(run_id, params=[Param(key, str(value)) for key, value in params.items()])
        client.log_inputs(run_id, datasets=context.inputs)

        preprocess = _preprocessor(task.X_train).fit(task.X_train)
        train_start = self.clock.advance(3, 12)  # loading data
        try:
            fit = _train(estimator, spec.family, task, preprocess.transform(task.X_train),
                         preprocess.transform(task.X_test))
            failure = None
        except _Diverged as diverged:
            fit, failure = diverged.fit, str(diverged)
        train_end = self.clock.advance(2 + 30 * fit.seconds)  # the real data would be bigger
        self._log_history(run_id, fit, train_start, train_end)

        if failure:
            client.set_tag(run_id, "mlflow.note.content", failure)
            client.set_terminated(run_id, "FAILED", end_time=self.clock.advance(0.5, 2))
            self.clock.advance(20, 90)
            return None

        from sklearn.pipeline import Pipeline

        pipeline = Pipeline([("preprocess", preprocess), ("model", fit.model)])
        model_id = self._log_model(context, run_id, pipeline, params)
        scores = {**_final_scores(task.kind, pipeline, task), "train_time_s": round(fit.seconds, 4)}
        self._log_scores(run_id, scores, self.clock.advance(1, 4), model_id)
        for local, artifact_path in context.artifact_dirs:
            client.log_artifacts(run_id, str(local), artifact_path)
        client.set_terminated(run_id, "FINISHED", end_time=self.clock.advance(1, 5))
        self.clock.advance(*((1, 3) if parent_id else (20, 120)))  # a sweep launches the next run at once
        return scores

    def _log_history(self, run_id: str, fit: _Fit, start_ms: int, end_ms: int) -> None:
        """Curve points spread evenly over the (simulated) training time."""
        from mlflow.entities import Metric

        if not fit.steps:
            return
        span = (end_ms - start_ms) / len(fit.steps)
        metrics = [
            Metric(key, value, int(start_ms + span * (index + 1)), step)
            for key, values in fit.history.items()
            for index, (step, value) in enumerate(zip(fit.steps, values, strict=True))
        ]
        self.client.log_batch(run_id, metrics=metrics)

    def _log_scores(self, run_id: str, scores: dict[str, float], timestamp_ms: int, model_id: str | None) -> None:
        from mlflow.entities import Metric

        self.client.log_batch(run_id, metrics=[
            Metric(key, value, timestamp_ms, 0, model_id=model_id) for key, value in scores.items()
        ])

    def _log_model(self, context: _ExperimentContext, run_id: str, pipeline: Any, params: dict[str, Any]) -> str:
        """What ``mlflow.sklearn.log_model`` does, through our client instead of the global tracking URI.

        Same result: a READY logged model named "model" with the run as source (so ``runs:/<id>/model`` loads),
        the run's model output, cloudpickle format (skops refuses tree models) and no requirement inference.
        """
        import mlflow.sklearn
        from mlflow.entities import LoggedModelOutput
        from mlflow.models import Model, infer_signature

        client = self.client
        logged = client.create_logged_model(context.experiment_id, name="model", source_run_id=run_id,
                                            tags=_source_tags(context.plan),
                                            params={key: str(value) for key, value in params.items()})
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
        sample = context.task.X_test.head(50)
        description = Model(artifact_path=logged.artifact_location, run_id=run_id, model_uuid=logged.model_id,
                            model_id=logged.model_id)
        with tempfile.TemporaryDirectory(prefix="lens-demo-model-") as folder:
            path = os.path.join(folder, "model")
            mlflow.sklearn.save_model(
                pipeline, path, mlflow_model=description, serialization_format="cloudpickle",
                pip_requirements=_PIP_REQUIREMENTS, signature=infer_signature(sample, pipeline.predict(sample)),
            )
            client.log_model_artifacts(logged.model_id, path)
        client.finalize_logged_model(logged.model_id, "READY")
        return logged.model_id

    def _start_sweep(self, context: _ExperimentContext, name: str, runs: list[_RunSpec], number: int) -> str:
        """The parent run of a hyper-parameter sweep: the grid as params, children nest under it."""
        from mlflow.entities import Param

        self._announce(context.plan, number, name)
        run = self.client.create_run(context.experiment_id, start_time=self.clock.now_ms, run_name=name,
                                     tags=self._run_tags(context, runs[0].family, name, None))
        grid: dict[str, set[str]] = {}
        for spec in runs:
            for key, value in {**spec.hyper, "seed": spec.seed}.items():
                grid.setdefault(key, set()).add(str(value))
        params = [Param(f"grid.{key}", ",".join(sorted(values))) for key, values in grid.items()]
        self.client.log_batch(run.info.run_id, params=[*params, Param("n_trials", str(len(runs)))])
        self.clock.advance(2, 5)
        return run.info.run_id

    def _finish_sweep(self, context: _ExperimentContext, parent_id: str, scores: list[dict[str, float]]) -> None:
        key, best = _PRIMARY_METRIC[context.task.kind]
        self._log_scores(parent_id, {f"best_{key}": best(s[key] for s in scores)}, self.clock.now_ms, None)
        self.client.set_terminated(parent_id, "FINISHED", end_time=self.clock.advance(1, 3))
        self.clock.advance(20, 120)


def _source_tags(plan: _ExperimentPlan) -> dict[str, str]:
    """The context tags MLflow's fluent API would have added for the plan's script."""
    return {"mlflow.user": plan.user, "mlflow.source.name": plan.script, "mlflow.source.type": "LOCAL"}


def _stage_artifacts(task: _Task, staging: Path) -> list[tuple[Path, str]]:
    """Files every finished run keeps: the split for explainability and, for the fleet, the trajectories."""
    explainability = staging / "explainability"
    explainability.mkdir(parents=True)
    rows = min(_SAVED_TRAIN_ROWS, len(task.X_train))
    sample = task.X_train.sample(n=rows, random_state=_SPLIT_SEED).index
    task.X_test.to_csv(explainability / "X_test.csv", index=False)
    task.y_test.to_frame().to_csv(explainability / "Y_test.csv", index=False)
    task.X_train.loc[sample].to_csv(explainability / "X_train.csv", index=False)
    task.y_train.loc[sample].to_frame().to_csv(explainability / "Y_train.csv", index=False)
    folders = [(explainability, "explainability")]
    if task.raw is not None:
        data = staging / "data"
        data.mkdir()
        task.raw.to_parquet(data / "trajectories.parquet", index=False)
        task.raw.to_csv(data / "trajectories.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
        folders.append((data, "data"))
    return folders
