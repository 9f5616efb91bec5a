import shutil
from pathlib import Path

import pytest

from model import SentimentModel
from model.bundle import DEFAULT_BUNDLE
from model.registry import CHAMPION, MODEL_NAME, fetch_champion, set_champion_alias


def test_the_champion_alias_moves_to_the_version_registered_for_a_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL_NAME)
    for bundle in ("bundle-a", "bundle-b", "bundle-a"):  # bundle-a registered twice: the newest
        client.create_model_version(
            MODEL_NAME, str(tmp_path / bundle), tags={"bundle_version": bundle}
        )

    assert set_champion_alias("bundle-a", uri) == "3"
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "3"
    assert set_champion_alias("bundle-b", uri) == "2"
    assert set_champion_alias("never-registered", uri) is None
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "2"


def test_the_fetched_champion_keeps_its_language_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry hands the bundle inside the logged model's folders; its `fr/` comes too."""
    import mlflow.artifacts

    def download_artifacts(artifact_uri: str, dst_path: str) -> str:
        bundle = Path(dst_path) / "model" / "artifacts" / "bundle"
        shutil.copytree(DEFAULT_BUNDLE, bundle)
        return str(Path(dst_path) / "model")

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", download_artifacts)
    fetched = fetch_champion(tmp_path / "fetched", tracking_uri=f"sqlite:///{tmp_path}/m.db")
    served = SentimentModel.load(fetched)
    assert served.languages == {"en", "fr"}
    assert served.version_of("fr") == SentimentModel.load().version_of("fr")
