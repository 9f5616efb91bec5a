"""Fixtures for tests that run real worker processes against the session's broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from stream.kafka import KafkaConnection
from stream.kafka.topics import ensure_topics
from tests.support import WorkerProcess, topic_env


@pytest.fixture
def unique_env(kafka_bootstrap: str) -> dict[str, str]:
    """Settings for one test: its own topics and consumer group, so tests never interfere."""
    env = topic_env(kafka_bootstrap, suffix=uuid.uuid4().hex[:8])
    ensure_topics(
        KafkaConnection(kafka_bootstrap),
        [
            value
            for key, value in env.items()
            # the model topics are the worker's to create: one partition, compacted
            if key.startswith("BADBUZZ_TOPIC_") and not key.startswith("BADBUZZ_TOPIC_MODEL")
        ],
        partitions=3,
    )
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(
        env: dict[str, str],
        name: str = "worker",
        cwd: Path | None = None,
        python_path: Sequence[Path] = (),
    ) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / name, cwd=cwd, python_path=python_path)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
