"""What model insights need from a run: its model and a test split, found where people already log them.

Looked for in this order (the first that is there wins, and :attr:`InsightInputs.source` says what was used):

model
    1. an MLflow logged model of the run: MLflow 3 keeps it outside the run (``models:/m-…``, found through the
       run's outputs / ``source_run_id``); MLflow 2 kept it in the run's artifacts (a folder holding ``MLmodel``);
    2. ``explainability/model.pkl`` (pickle / cloudpickle / joblib).
test data
    1. an ``mlflow.log_input`` dataset with context ``test`` / ``evaluation`` / ``eval`` / ``validation`` whose
       source is a readable table (csv / parquet / json) holding the model's inputs and exactly one more column
       (the target);
    2. ``explainability/X_test.csv`` + ``Y_test.csv``.
training data (optional: counterfactuals and background samples)
    ``explainability/X_train.csv`` + ``Y_train.csv``, else a ``training`` dataset input (capped).

Models are loaded from a local path (downloaded first when the artifact store is remote), never through
``runs:/`` URIs, which MLflow 3.17 resolves with the process-wide tracking URI. Loading unpickles: it runs code
from the tracker you configured.
"""
from __future__ import annotations

import contextlib
import importlib.util
import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lens_core.confine import HOW_TO_ALLOW, confine_tree, dataset_path, dataset_roots, hide_paths, is_inside
from lens_core.errors import LensError, OutsideRootsError
from lens_core.paths import local_path_from_uri
from lens_core.trackers.artifacts import ArtifactCache, download_remote

Task = Literal["binary", "multiclass", "regression"]

TEST_CONTEXTS = ("test", "testing", "evaluation", "eval", "validation", "holdout")
TRAIN_CONTEXTS = ("training", "train")
#: Rows of a training dataset input kept as the background / counterfactual search sample.
MAX_TRAIN_ROWS = 5000
FOLDER = "explainability"

SNIPPET = """\
import mlflow
from lens_core.insights import log_insights

with mlflow.start_run() as run:
    model.fit(X_train, y_train)
    log_insights(model, X_test, y_test, X_train=X_train, y_train=y_train)
    # writes explainability/model.pkl, X_test.csv, Y_test.csv, X_train.csv, Y_train.csv, Y_pred.csv"""


class InsightInputsError(LensError):
    """A run lacks what model insights need. ``missing`` names it; ``snippet`` shows how to log it."""

    def __init__(self, message: str, missing: tuple[str, ...] = (), snippet: str = SNIPPET) -> None:
        super().__init__(message)
        self.missing = missing
        self.snippet = snippet


class ModelLoadError(InsightInputsError):
    """The model is there but cannot be loaded here (missing library, incompatible pickle)."""


@dataclass(frozen=True)
class InsightInputs:
    """A run's model and data, ready for :mod:`lens_core.insights` functions.

    ``source`` maps ``model`` / ``test`` / ``train`` to a sentence saying where each came from.
    """

    run_id: str
    model: Any
    X_test: pd.DataFrame
    y_test: pd.Series
    task: Task
    X_train: pd.DataFrame | None = None
    y_train: pd.Series | None = None
    source: dict[str, str] = field(default_factory=dict)
    classes: tuple[Any, ...] = ()

    @property
    def target(self) -> str:
        return str(self.y_test.name)

    @cached_property
    def digest(self) -> str:
        """A short fingerprint of the test data (cache keys; computed once)."""
        values = pd.util.hash_pandas_object(pd.concat([self.X_test, self.y_test], axis=1), index=False)
        return f"{int(values.sum()) & 0xFFFFFFFFFFFF:012x}"

    @property
    def summary(self) -> str:
        """One line on what is explained: "GradientBoostingClassifier · binary classifier · target `churn` ·
        1,000 test rows × 8 features" (the last step's name for a pipeline)."""
        estimator = self.model.steps[-1][1] if hasattr(self.model, "steps") else self.model
        kind = {"binary": "binary classifier", "multiclass": f"{len(self.classes)}-class classifier",
                "regression": "regressor"}[self.task]
        return (f"{type(estimator).__name__} · {kind} · target `{self.target}` · {len(self.X_test):,} test rows × "
                f"{self.X_test.shape[1]} features")


# ---------------------------------------------------------------------------------------------------- public API


def load_inputs(tracker: Any, run_id: str) -> InsightInputs:
    """Find and load a run's model, test split and (optional) training split. Raises :class:`InsightInputsError`
    naming what is missing, with a snippet that logs it."""
    detail = tracker.run(run_id)
    model, model_source = load_model(tracker, run_id)
    features = model_features(model)
    test = _dataset_split(tracker, detail, TEST_CONTEXTS, features) or _layout_split(tracker, run_id, "test")
    if test is None:
        raise InsightInputsError(
            f"Run {run_id} has a model ({model_source}) but no test data: log a dataset input with context "
            "'test' whose source is a readable table, or explainability/X_test.csv and Y_test.csv."
            + (f" {outside}" if (outside := outside_test_data(tracker, detail)) else ""),
            missing=("test data",),
        )
    X_test, y_test, test_source = test
    train = _layout_split(tracker, run_id, "train") or _dataset_split(tracker, detail, TRAIN_CONTEXTS, features)
    X_train = y_train = None
    train_source = "none (counterfactuals need explainability/X_train.csv and Y_train.csv)"
    if train is not None:
        X_train, y_train, train_source = train
        if len(X_train) > MAX_TRAIN_ROWS:
            keep = X_train.sample(n=MAX_TRAIN_ROWS, random_state=0).index
            X_train, y_train = X_train.loc[keep].reset_index(drop=True), y_train.loc[keep].reset_index(drop=True)
            train_source += f" (random {MAX_TRAIN_ROWS} rows)"
        X_train = X_train[[c for c in X_test.columns if c in X_train.columns]]
    task, classes = infer_task(model, y_test)
    return InsightInputs(run_id, model, X_test, y_test, task, X_train, y_train,
                         {"model": model_source, "test": test_source, "train": train_source}, classes)


def infer_task(model: Any, y: pd.Series) -> tuple[Task, tuple[Any, ...]]:
    classes = getattr(model, "classes_", None)
    if classes is not None and hasattr(model, "predict_proba"):
        classes = tuple(np.asarray(classes).tolist())
        return ("binary" if len(classes) == 2 else "multiclass"), classes
    return "regression", ()


def model_features(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def load_model(tracker: Any, run_id: str) -> tuple[Any, str]:
    """The run's model and a sentence saying where it came from: the first model folder that loads (an
    ``explainer/`` logged by ``mlflow.shap.log_explainer`` next to ``model/`` is tried last, not in its way), else
    ``explainability/model.pkl``. When nothing loads, the first folder's problem is raised."""
    first_problem: ModelLoadError | None = None
    for folder, label in _mlflow_model_folders(tracker, run_id):
        try:
            return _load_mlflow_model(folder, label), label
        except ModelLoadError as exc:
            first_problem = first_problem or exc
    try:
        path = tracker.fetch_artifact(run_id, f"{FOLDER}/model.pkl")
    except Exception:  # noqa: BLE001 - absent, whatever the adapter raises
        path = None
    if path is not None:
        try:
            return _unpickle(path), f"artifact {FOLDER}/model.pkl"
        except ModelLoadError as exc:
            first_problem = first_problem or exc
    if first_problem is not None:
        raise first_problem
    raise InsightInputsError(
        f"Run {run_id} has no model ExperimentLens can load: no MLflow logged model (mlflow.sklearn.log_model / "
        f"mlflow.pyfunc.log_model) and no {FOLDER}/model.pkl artifact.",
        missing=("model",),
    )


def log_insights(model: Any, X_test: pd.DataFrame, y_test: Any, X_train: pd.DataFrame | None = None,
                 y_train: Any = None, *, run_id: str | None = None, tracking_uri: str | None = None,
                 max_train_rows: int = MAX_TRAIN_ROWS, random_state: int = 0) -> str:
    """Log what model insights read best into a run's ``explainability/`` folder: ``model.pkl`` (cloudpickle),
    ``X_test.csv``, ``Y_test.csv``, ``Y_pred.csv`` and, when given, ``X_train.csv`` / ``Y_train.csv`` (a random
    ``max_train_rows`` sample). ``run_id`` defaults to the active run; returns the run id."""
    import tempfile

    import cloudpickle
    import mlflow
    from mlflow import MlflowClient

    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise LensError("log_insights needs a run: call it inside `with mlflow.start_run():` or pass run_id=.")
        run_id = active.info.run_id
    X_test = pd.DataFrame(X_test)
    y_test = pd.Series(np.asarray(y_test).ravel(), name=getattr(y_test, "name", None) or "target")
    with tempfile.TemporaryDirectory(prefix="lens-insights-") as folder:
        out = Path(folder)
        with open(out / "model.pkl", "wb") as handle:
            cloudpickle.dump(model, handle)
        X_test.to_csv(out / "X_test.csv", index=False)
        y_test.to_frame().to_csv(out / "Y_test.csv", index=False)
        try:
            predicted = np.asarray(model.predict(X_test)).ravel()
        except Exception as exc:
            raise LensError(f"The model cannot predict on X_test ({type(exc).__name__}: {str(exc).strip()[:300]}). "
                            "Log the test split with the columns the model was trained on.") from exc
        pd.Series(predicted, name=y_test.name).to_frame().to_csv(out / "Y_pred.csv", index=False)
        if X_train is not None and y_train is not None:
            X_train = pd.DataFrame(X_train).reset_index(drop=True)
            y_train = pd.Series(np.asarray(y_train).ravel(), name=y_test.name)
            if len(X_train) > max_train_rows:
                keep = X_train.sample(n=max_train_rows, random_state=random_state).index
                X_train, y_train = X_train.loc[keep], y_train.loc[keep]
            X_train.to_csv(out / "X_train.csv", index=False)
            y_train.to_frame().to_csv(out / "Y_train.csv", index=False)
        MlflowClient(tracking_uri=tracking_uri).log_artifacts(run_id, folder, FOLDER)
    return run_id


# ------------------------------------------------------------------------------------------------------- models
_CACHE: ArtifactCache | None = None


def _artifact_cache() -> ArtifactCache:
    global _CACHE
    if _CACHE is None:
        _CACHE = ArtifactCache()
    return _CACHE


def _mlflow_model_folders(tracker: Any, run_id: str) -> Iterator[tuple[Path, str]]:
    """Local folders holding an ``MLmodel`` file: the run's logged models first, then models in its artifacts."""
    for logged in tracker.logged_models(run_id):
        local = local_path_from_uri(logged.artifact_location)
        if local is not None:
            if (local / "MLmodel").is_file():
                # a model folder is read whole: every file in it must be its own, no link out of it
                yield confine_tree(local, [local], f"The logged model {logged.model_id} holds a link to a file "
                                   "outside its folder: it is not loaded."), f"logged model {logged.model_id}"
            continue
        try:
            folder = download_remote(logged.artifact_location, "", tracker.uri, _artifact_cache())
        except Exception:  # noqa: BLE001, S112 - unreadable remote: try the next place
            continue
        if (folder / "MLmodel").is_file():
            yield folder, f"logged model {logged.model_id}"
    for path in _artifact_model_paths(tracker, run_id):
        yield tracker.fetch_artifact(run_id, path), f"model artifact {path}/"


def _artifact_model_paths(tracker: Any, run_id: str, top: list[Any] | None = None) -> list[str]:
    """Top-level artifact folders holding an ``MLmodel`` file, explainers (a folder named like one) last. ``top``:
    the run's top-level listing when the caller has it."""
    if top is None:
        try:
            top = tracker.artifacts(run_id)
        except Exception:  # noqa: BLE001
            top = []
    found: list[str] = []
    for ref in top:
        if not ref.is_dir or ref.path == FOLDER:
            continue
        try:
            names = {r.path.rsplit("/", 1)[-1] for r in tracker.artifacts(run_id, ref.path)}
        except Exception:  # noqa: BLE001, S112
            continue
        if "MLmodel" in names:
            found.append(ref.path)
    return sorted(found, key=lambda path: "explainer" in path.lower())


def _load_mlflow_model(folder: Path, label: str) -> Any:
    if pointer := lfs_pointer_in(folder):
        raise ModelLoadError(lfs_message(label, pointer), missing=("the model's files (Git LFS)",),
                             snippet="git lfs pull")
    flavors = read_flavors(folder / "MLmodel")
    if is_explainer(flavors):
        raise ModelLoadError(explainer_message(label), missing=("a model",))
    if unsupported := unsupported_flavors(flavors):
        raise ModelLoadError(unsupported_message(label, unsupported), missing=("a sklearn or pyfunc model",))
    if package := missing_package(flavors):
        raise _missing_package_error(label, flavors, package, folder)
    try:
        if "sklearn" in flavors:
            import mlflow.sklearn

            return mlflow.sklearn.load_model(str(folder))
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(folder))
        try:
            raw = pyfunc.get_raw_model()
        except Exception:  # noqa: BLE001
            raw = None
        if raw is not None and hasattr(raw, "predict"):
            return raw
        return PyfuncModel(pyfunc)
    except ModuleNotFoundError as exc:
        raise _missing_package_error(label, flavors, exc.name or "", folder) from exc
    except Exception as exc:
        raise ModelLoadError(f"The {label} could not be loaded: {type(exc).__name__}: {hide_paths(str(exc))}",
                             missing=("a loadable model",)) from exc


def _missing_package_error(label: str, flavors: dict[str, Any], module: str, folder: Path) -> ModelLoadError:
    flavor = ", ".join(f for f in flavors if f != "python_function") or "pyfunc"
    install = install_command(module, model_requirements(folder))
    return ModelLoadError(
        f"The {label} ({flavor} flavor) needs the Python package {module!r}, which is not installed here: "
        f"`{install}`" + (" (the version the model was logged with)" if "==" in install else ""),
        missing=(f"package {module}",), snippet=install,
    )


# ---- what a model folder says about itself ------------------------------------------------------------------------
#: The first line of a Git LFS pointer file: a clone without ``git lfs pull`` holds these in place of the files.
LFS_POINTER_START = b"version https://git-lfs.github.com/spec/v1"
_LFS_POINTER_MAX_BYTES = 1024
#: Python package (pip name) of the module an MLflow flavor's loader imports, where the names differ.
_PIP_NAMES = {"sklearn": "scikit-learn", "torch": "torch", "cv2": "opencv-python", "yaml": "pyyaml"}
#: The package each non-pyfunc flavor needs.
_FLAVOR_MODULES = {"keras": "keras", "tensorflow": "tensorflow", "pytorch": "torch", "xgboost": "xgboost",
                   "lightgbm": "lightgbm", "catboost": "catboost", "onnx": "onnxruntime", "statsmodels": "statsmodels",
                   "prophet": "prophet", "spacy": "spacy", "transformers": "transformers"}


def is_explainer(flavors: dict[str, Any]) -> bool:
    """Whether an MLmodel describes a SHAP explainer (``mlflow.shap.log_explainer``), which sits next to the model
    it explains and is not itself the model."""
    return "shap" in flavors


def explainer_message(label: str) -> str:
    return (f"The {label} is a SHAP explainer (mlflow.shap.log_explainer), not a model: ExperimentLens computes its "
            "own explanations from the model.")


def is_lfs_pointer(path: Path) -> bool:
    """Whether a file is a Git LFS pointer (a ~130-byte text file naming the real file's hash and size)."""
    try:
        if not path.is_file() or path.stat().st_size > _LFS_POINTER_MAX_BYTES:
            return False
        with path.open("rb") as handle:
            return handle.read(len(LFS_POINTER_START)) == LFS_POINTER_START
    except OSError:
        return False


def lfs_pointer_in(location: Path) -> Path | None:
    """A Git LFS pointer file standing for a model file: ``location`` itself, or a file in its folder (its first
    levels)."""
    if location.is_file():
        return location if is_lfs_pointer(location) else None
    for path in sorted(location.rglob("*")) if location.is_dir() else []:
        if len(path.relative_to(location).parts) <= 3 and is_lfs_pointer(path):
            return path
    return None


def lfs_message(label: str, pointer: Path) -> str:
    size = pointer.stat().st_size
    return (f"The {label} is a Git LFS pointer, not the model: `{pointer.name}` is a {size}-byte text file that names "
            "the real file, which was never downloaded (the store was cloned without Git LFS). Run `git lfs pull` in "
            "the store's repository (after `git lfs install`), then reopen this page.")


def read_flavors(mlmodel: Path) -> dict[str, Any]:
    """The ``flavors`` of an MLmodel file; empty when the file is unreadable or not a mapping."""
    import yaml

    try:
        content = yaml.safe_load(mlmodel.read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    flavors = content.get("flavors") if isinstance(content, dict) else None
    return flavors if isinstance(flavors, dict) else {}


def missing_package(flavors: dict[str, Any]) -> str | None:
    """The module a model's flavors need that is not installed here (its loader module's package, or the
    flavor's library), else None."""
    loader = str(((flavors or {}).get("python_function") or {}).get("loader_module") or "")
    if "sklearn" in flavors:
        return None
    wanted = [_FLAVOR_MODULES[f] for f in flavors if f in _FLAVOR_MODULES]
    if loader and not loader.startswith("mlflow."):
        wanted.insert(0, loader.split(".")[0])
    return next((m for m in wanted if importlib.util.find_spec(m) is None), None)


def model_requirements(folder: Path) -> dict[str, str]:
    """Package (lower case, ``_`` as ``-``) → its requirement line, from the model folder's ``requirements.txt``,
    else the pip section of ``conda.yaml``: ``{"keras": "keras==3.4.1"}``."""
    import yaml

    lines: list[str] = []
    try:
        lines = (folder / "requirements.txt").read_text().splitlines()
    except OSError:
        try:
            conda = yaml.safe_load((folder / "conda.yaml").read_text()) or {}
            for dep in conda.get("dependencies", []) if isinstance(conda, dict) else []:
                if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                    lines += [str(x) for x in dep["pip"]]
        except (OSError, ValueError, yaml.YAMLError):
            return {}
    out: dict[str, str] = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        name = re.split(r"[<>=!~;\[ ]", text, maxsplit=1)[0].strip()
        if name and not text.startswith("-"):
            out[name.lower().replace("_", "-")] = text
    return out


def install_command(module: str, requirements: dict[str, str]) -> str:
    """``pip install <requirement>`` for a missing module: the model's own requirement line (with its version)
    when it lists the package, else the package name."""
    package = _PIP_NAMES.get(module, module)
    key = package.lower().replace("_", "-")
    return f"pip install {requirements.get(key, package)}"


def unsupported_flavors(flavors: Any) -> tuple[str, ...]:
    """The flavors of an MLmodel file when none of them is one ExperimentLens loads (sklearn, python_function);
    empty when the model is loadable (or when the file names no flavor: loading then says what is wrong)."""
    names = tuple(str(f) for f in (flavors or {})) if isinstance(flavors, dict) else ()
    return () if not names or {"sklearn", "python_function"} & set(names) else names


def unsupported_message(label: str, flavors: tuple[str, ...]) -> str:
    return (f"The {label} has only the {', '.join(flavors)} flavor{'s' if len(flavors) > 1 else ''}, which "
            "ExperimentLens cannot load: it reads sklearn and python_function (pyfunc) models. Log the model with "
            "mlflow.sklearn.log_model or mlflow.pyfunc.log_model, or as explainability/model.pkl.")


class PyfuncModel:
    """A pyfunc model seen as an estimator: ``predict`` only (explanations then treat it as a regressor)."""

    def __init__(self, pyfunc: Any) -> None:
        self.pyfunc = pyfunc

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pyfunc.predict(X)).ravel()


def _unpickle(path: Path) -> Any:
    if is_lfs_pointer(path):
        raise ModelLoadError(lfs_message(f"artifact {FOLDER}/model.pkl", path),
                             missing=("the model's files (Git LFS)",), snippet="git lfs pull")
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except ModuleNotFoundError as exc:
        raise ModelLoadError(f"{FOLDER}/model.pkl needs the Python package {exc.name!r}: pip install {exc.name}",
                             missing=(f"package {exc.name}",), snippet=f"pip install {exc.name}") from exc
    except Exception:  # noqa: BLE001 - maybe joblib's format
        try:
            import joblib

            return joblib.load(path)
        except Exception as exc:
            raise ModelLoadError(f"{FOLDER}/model.pkl could not be unpickled: {type(exc).__name__}: "
                                 f"{hide_paths(str(exc))}",
                                 missing=("a loadable model",)) from exc


# --------------------------------------------------------------------------------------------------------- data


def read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl"):
        return pd.read_json(path, lines=suffix == ".jsonl")
    return pd.read_csv(path)


def _layout_split(tracker: Any, run_id: str, part: str) -> tuple[pd.DataFrame, pd.Series, str] | None:
    try:
        X = read_table(tracker.fetch_artifact(run_id, f"{FOLDER}/X_{part}.csv"))
        Y = read_table(tracker.fetch_artifact(run_id, f"{FOLDER}/Y_{part}.csv"))
    except Exception:  # noqa: BLE001 - absent
        return None
    if len(X) != len(Y) or Y.shape[1] < 1:
        return None
    y = Y.iloc[:, 0]
    if y.name is None or str(y.name).startswith("Unnamed"):
        y = y.rename("target")
    return X, y, f"artifacts {FOLDER}/X_{part}.csv + Y_{part}.csv ({len(X):,} rows)"


def _dataset_split(tracker: Any, detail: Any, contexts: tuple[str, ...], features: list[str] | None
                   ) -> tuple[pd.DataFrame, pd.Series, str] | None:
    for dataset in detail.inputs:
        if (dataset.context or "").lower() not in contexts:
            continue
        path = dataset_path(dataset.source, dataset_roots(tracker, getattr(detail, "artifact_uri", "")), quiet=True)
        if path is None:
            continue
        try:
            frame = read_table(path)
        except Exception:  # noqa: BLE001, S112 - unreadable: try the next
            continue
        target = _target_column(frame, features)
        if target is None:
            continue
        X = frame.drop(columns=target)
        if features is not None:
            X = X[features]
        return X, frame[target], f"dataset input {dataset.name!r} (context {dataset.context}) from {path.name}"
    return None


def outside_test_data(tracker: Any, detail: Any) -> str | None:
    """A sentence naming the run's test dataset inputs whose files lie outside the folders ExperimentLens may
    read (skipped when test data is looked for), and how an operator allows them; None when there are none."""
    roots = dataset_roots(tracker, getattr(detail, "artifact_uri", ""))
    outside = []
    for dataset in detail.inputs:
        if (dataset.context or "").lower() in TEST_CONTEXTS:
            try:
                dataset_path(dataset.source, roots)
            except OutsideRootsError:
                outside.append(repr(dataset.name))
    if not outside:
        return None
    return (f"Its test dataset input {', '.join(outside)} was skipped: the file is outside the folders "
            f"ExperimentLens may read. {HOW_TO_ALLOW}")


def _target_column(frame: pd.DataFrame, features: list[str] | None) -> str | None:
    if features is None or not set(features) <= set(frame.columns):
        return None
    rest = [c for c in frame.columns if c not in features]
    return rest[0] if len(rest) == 1 else None


@dataclass(frozen=True)
class Availability:
    """What a run offers for model insights, found without loading anything (a few listings and one query)."""

    model: str | None  # where the model is, or None
    test_data: str | None  # where the test data is, or None
    problem: str | None = None  # a model is there but cannot be loaded (e.g. an unsupported flavor)
    outside: str | None = None  # no test data because the run's test dataset is outside the readable folders

    @property
    def ready(self) -> bool:
        return self.model is not None and self.test_data is not None and self.problem is None

    @property
    def missing(self) -> str:
        """A sentence naming what to log (or what is wrong with the model), empty when ready."""
        parts = [what for what, found in (("logged model (mlflow.sklearn.log_model or a pyfunc model)",
                                           self.model or self.problem),
                                          (("test data (a dataset input with context 'test', or "
                                            "explainability/X_test.csv + Y_test.csv)"), self.test_data)) if not found]
        text = "This run has no " + " and no ".join(parts) + "." if parts else ""
        return " ".join(x for x in (self.problem, text, None if self.test_data else self.outside) if x)


def availability(tracker: Any, detail: Any) -> Availability:
    """Whether ``load_inputs`` can succeed for a run, cheaply: logged models by query, a model folder (an
    ``MLmodel`` file) or ``explainability/model.pkl`` among the artifacts; a test dataset input with a readable
    source or ``explainability/X_test.csv``."""
    run_id = detail.run_id
    model = problem = None
    try:
        if logged := tracker.logged_models(run_id):
            model = f"logged model {logged[0].model_id}"
            local = local_path_from_uri(logged[0].artifact_location)
            mlmodel = local / "MLmodel" if local is not None else None
            problem = _flavor_problem(mlmodel if mlmodel is not None and is_inside(mlmodel, [local]) else None, model)
    except Exception:  # noqa: BLE001 - an unreadable store just means "look elsewhere"
        model = None
    try:
        top = tracker.artifacts(run_id)
    except Exception:  # noqa: BLE001
        top = []
    names = {ref.path for ref in top}
    layout: dict[str, int | None] = {}  # file name -> size in explainability/
    if FOLDER in names:
        try:
            layout = {ref.path.rsplit("/", 1)[-1]: ref.file_size for ref in tracker.artifacts(run_id, FOLDER)}
        except Exception:  # noqa: BLE001
            layout = {}
    if model is None or problem is not None:  # the first model folder that loads wins, as in load_model
        for path in _artifact_model_paths(tracker, run_id, top):
            try:
                found = _flavor_problem(tracker.fetch_artifact(run_id, f"{path}/MLmodel"), f"model artifact {path}/")
            except Exception:  # noqa: BLE001, S112
                continue
            if model is None or found is None:
                model, problem = f"model artifact {path}/", found
            if found is None:
                break
    if model is None and "model.pkl" in layout:
        model = f"{FOLDER}/model.pkl"
        size = layout["model.pkl"]
        if size is not None and size <= _LFS_POINTER_MAX_BYTES:  # small enough to be a Git LFS pointer: look
            with contextlib.suppress(Exception):
                pointer = lfs_pointer_in(tracker.fetch_artifact(run_id, f"{FOLDER}/model.pkl"))
                problem = lfs_message(f"artifact {model}", pointer) if pointer else None
    roots = dataset_roots(tracker, getattr(detail, "artifact_uri", ""))
    test = next((f"dataset input {d.name!r}" for d in detail.inputs if (d.context or "").lower() in TEST_CONTEXTS
                 and dataset_path(d.source, roots, quiet=True) is not None), None)
    if test is None and {"X_test.csv", "Y_test.csv"} <= layout.keys():
        test = f"{FOLDER}/X_test.csv"
    return Availability(model, test, problem, None if test else outside_test_data(tracker, detail))


def _flavor_problem(mlmodel: Path | None, label: str) -> str | None:
    """What keeps the model an MLmodel file describes from loading here, read from its folder: Git LFS pointers in
    place of its files, flavors ExperimentLens does not load, a package that is not installed."""
    if mlmodel is None:
        return None
    if pointer := lfs_pointer_in(mlmodel.parent if mlmodel.name == "MLmodel" else mlmodel):
        return lfs_message(label, pointer)
    if not mlmodel.is_file():
        return None
    flavors = read_flavors(mlmodel)
    if is_explainer(flavors):
        return explainer_message(label)
    if unsupported := unsupported_flavors(flavors):
        return unsupported_message(label, unsupported)
    if package := missing_package(flavors):
        return str(_missing_package_error(label, flavors, package, mlmodel.parent))
    return None
