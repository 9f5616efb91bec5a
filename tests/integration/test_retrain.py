"""`badbuzz train retrain --shadow` end to end on a real broker: it trains on the labelled
feedback, publishes the challenger and names it on the control topic, where a running worker
picks it up in shadow and scores French tweets with the challenger's own French route; a
failed run leaves the feedback new, a run with nothing new does nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from model import SentimentModel
from model.bundle import read_metadata
from model.scorer import BINARY_CLASSES
from stream.kafka import KafkaConnection
from stream.models import commands
from stream.settings import Settings
from tests.support import TRAINING_DATA, WorkerProcess, produce, tweet_payload, wait_for
from training import cli
from training.retrain import FeedbackMarker

pytestmark = pytest.mark.integration

TEXTS = ["the crew lost my bag and shrugged", "smooth flight, lovely crew", "forged praise"]
FRENCH = ["Vol annulé sans la moindre explication, c'est une honte", "Merci pour ce vol parfait"]


def send_feedback(bootstrap: str, topic: str, rows: list[dict[str, str]]) -> None:
    produce(
        bootstrap, topic, [(row["tweet_id"].encode(), json.dumps(row).encode()) for row in rows]
    )


def printed(capsys: pytest.CaptureFixture[str]) -> dict:
    """The JSON a command printed last, after its other lines."""
    lines = capsys.readouterr().out.splitlines()
    start = max(n for n, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def shadow_scored(worker: WorkerProcess, version: str) -> float:
    return sum(
        value
        for name, value in worker.metrics().items()
        if name.startswith("badbuzz_shadow_scored_total{") and f'version="{version}"' in name
    )


def new_feedback(settings: Settings, kafka: KafkaConnection) -> int:
    marker = FeedbackMarker(kafka, settings.topic_feedback_labelled, settings.retrain_group)
    try:
        return marker.read().new
    finally:
        marker.close()


@pytest.mark.timeout(180)
def test_retrain_shadow_publishes_the_challenger_a_worker_shadows_it_and_marks_its_feedback(
    unique_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        **unique_env,
        "BADBUZZ_RETRAIN_GROUP": f"retrain-{unique_env['BADBUZZ_APP_ID']}",
        "BADBUZZ_SHADOW_EVERY": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings()
    kafka = KafkaConnection(env["KAFKA_BOOTSTRAP_SERVERS"])
    worker = start_worker(env)  # starts while the challenger trains
    send_feedback(
        env["KAFKA_BOOTSTRAP_SERVERS"],
        settings.topic_feedback_labelled,
        [
            {"tweet_id": "1", "text": TEXTS[0], "label": "negative", "source": "http"},
            {"tweet_id": "2", "text": TEXTS[1], "label": "positive", "source": "kafka:User:app"},
            {"tweet_id": "3", "text": TEXTS[2], "label": "positive", "source": "unknown"},
        ],
    )
    out = tmp_path / "challenger"
    tiny = ["--limit", "300", "--mlflow-dir", str(tmp_path / "mlflow"), "--min-new", "2"]
    tiny += ["--recall-floor", "0", "--min-tweets-per-s", "0"]  # a tiny run passes the rule
    retrain = ["retrain", "--shadow", "--out", str(out), *tiny]

    with pytest.raises(FileNotFoundError):  # fails before it trains: the marker stays put
        cli.main([*retrain, "--data-dir", str(tmp_path / "no-data")], settings)
    assert new_feedback(settings, kafka) == 2
    capsys.readouterr()

    assert cli.main([*retrain, "--data-dir", str(TRAINING_DATA)], settings) == 0
    result = printed(capsys)
    version = read_metadata(out)["version"]
    assert result["retrained"] and result["new_feedback"] == 2 and result["feedback_rows"] == 2
    assert result["eligible"] and not result["promoted"]
    challenger = SentimentModel.load(out)  # binary, with a French route of its classes
    assert challenger.languages == {"en", "fr"}
    assert challenger.routes["fr"].classes == BINARY_CLASSES
    assert result["french"]["version"] == challenger.version_of("fr")
    assert f"{version} is in shadow" in result["shadow"]
    state = commands.ControlTopic(settings, kafka).state
    assert state.challenger == version and state.champion is None
    assert version in state.bundles
    assert new_feedback(settings, kafka) == 0

    assert cli.main([*retrain, "--out", str(tmp_path / "again")], settings) == 0
    said = printed(capsys)
    assert not said["retrained"] and said["new_feedback"] == 0, said
    assert not (tmp_path / "again").exists()

    worker.wait_ready(timeout=90)
    wait_for(
        lambda: any(
            line.get("event") == "model_shadow_started" and line.get("version") == version
            for line in worker.log_lines()
        ),
        30,
        [worker],
    )
    # only French tweets: a challenger without a French route would score none of them
    produce(
        env["KAFKA_BOOTSTRAP_SERVERS"],
        settings.topic_raw,
        (tweet_payload(f"fr-{n}", FRENCH[n % 2], lang="fr") for n in range(40)),
    )
    wait_for(lambda: shadow_scored(worker, version) > 0, 30, [worker])
