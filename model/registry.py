"""The champion bundle in MLflow's model registry (`models:/badbuzz-sentiment@champion`).

Training registers and promotes it (training/tracking.py); the worker downloads it when
`BADBUZZ_MODEL_SOURCE=registry`. MLflow is an optional dependency (`badbuzz[train]`), imported
here only when a bundle is fetched, so serving the shipped bundle never needs it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from model.bundle import read_metadata

MODEL_NAME = "badbuzz-sentiment"
CHAMPION = "champion"
DEFAULT_ROOT = Path("var/mlflow")


def registry_uri(tracking_uri: str | None = None, root: Path | None = None) -> str:
    """The argument, else MLFLOW_TRACKING_URI, else a SQLite file under `root`
    (BADBUZZ_MLFLOW_DIR, default var/mlflow), created if needed."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri is not None:
        return uri
    root = (root or Path(os.environ.get("BADBUZZ_MLFLOW_DIR", DEFAULT_ROOT))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlruns.db'}"


def fetch_champion(dest_dir: Path, tracking_uri: str | None = None) -> Path:
    """Downloads the champion and copies its bundle, route folders included, into `dest_dir`
    (existing files of the same name are replaced), for the worker to load. Without
    `tracking_uri`, from the registry MLflow is already set to (training's `configure`)."""
    import mlflow

    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{MODEL_NAME}@{CHAMPION}", dst_path=scratch
            )
        )
        bundle = next(path.parent for path in local.rglob("model.tflite"))
        read_metadata(bundle)
        shutil.copytree(bundle, dest_dir, dirs_exist_ok=True)  # its language routes' folders too
    return dest_dir


def set_champion_alias(bundle_version: str, tracking_uri: str | None = None) -> str | None:
    """Points `champion` at the registered version of that bundle (training tags each with
    its `bundle_version`); returns the registry's version number, None when none is tagged."""
    from mlflow import MlflowClient

    client = MlflowClient(
        tracking_uri=registry_uri(tracking_uri), registry_uri=registry_uri(tracking_uri)
    )
    found = client.search_model_versions(
        f"name='{MODEL_NAME}' and tags.bundle_version='{bundle_version}'"
    )
    if not found:
        return None
    number = str(max(int(version.version) for version in found))
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, number)
    return number
