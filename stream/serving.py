"""Which model bundle the worker serves: a directory, the shipped default, or the champion
registered in MLflow (`models:/badbuzz-sentiment@champion`, needs `badbuzz[train]`)."""

from __future__ import annotations

from pathlib import Path

from model import SentimentModel
from model.registry import fetch_champion, registry_uri
from stream.settings import Settings


def load_bundle(settings: Settings, path: Path) -> SentimentModel:
    return SentimentModel.load(path, num_threads=settings.inference_threads)


def load_serving_model(settings: Settings) -> SentimentModel:
    path = settings.model_path
    if settings.model_source == "registry":
        path = fetch_champion(settings.data_dir / "champion", registry_uri())
    return SentimentModel.load(path, num_threads=settings.inference_threads)
