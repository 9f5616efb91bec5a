"""The processes under test: our worker and the two peers, each a child with its own log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.memory import status_mb
from model.bundle import DEFAULT_BUNDLE, copy_as_version
from stream.kafka import KafkaConnection
from stream.kafka.local import free_port
from stream.models import commands
from stream.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
QUIX_VERSION = "3.28.1"
# quixstreams 3.x caps confluent-kafka<2.13 and pydantic<2.14, below this project's pins,
# so it cannot share the project venv: it gets a side venv with its own supported versions.
QUIX_VENV = Path.home() / ".cache" / "badbuzz" / f"bench-quix-{QUIX_VERSION}"
QUIX_REQUIREMENTS = (
    f"quixstreams=={QUIX_VERSION}",
    "ai-edge-litert==2.3.0",
    "numpy==2.4.6",
    "tokenizers==0.23.3",
)
Guarantee = Literal["at_least_once", "exactly_once"]


@dataclass
class Topics:
    raw: str
    out: str
    group: str


@dataclass
class Child:
    """A contender process; VmHWM and CPU time are read from /proc before it is stopped."""

    name: str
    command: list[str]
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "process.log").open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def peak_rss_mb(self) -> float:
        return status_mb("VmHWM", self.pid)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "process.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@dataclass
class Group:
    """Several workers in one consumer group, measured as one contender (Kafka's way of
    scaling out): CPU adds up, peak RSS is the largest member's."""

    name: str
    members: list[Child]

    def start(self) -> None:
        for member in self.members:
            member.start()

    @property
    def alive(self) -> bool:
        return all(member.alive for member in self.members)

    def peak_rss_mb(self) -> float:
        return max(member.peak_rss_mb() for member in self.members)

    def cpu_seconds(self) -> float:
        return sum(member.cpu_seconds() for member in self.members)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(member.log_tail(lines) for member in self.members)

    def stop(self, timeout: float = 30.0) -> None:
        for member in self.members:
            member.stop(timeout)


@dataclass(frozen=True)
class WorkerConfig:
    batch: int
    wait_ms: int
    guarantee: Guarantee = "at_least_once"
    shadow: bool = False  # a challenger (the same weights, another version) in shadow

    @property
    def label(self) -> str:
        suffix = " exactly-once" if self.guarantee == "exactly_once" else ""
        return f"{self.batch}/{self.wait_ms}ms{suffix}{' with shadow' if self.shadow else ''}"


def worker_group(
    kafka: KafkaConnection, topics: Topics, partitions: int, config: WorkerConfig, workdir: Path
) -> Group:
    members = [
        worker(kafka, topics, partitions, config, workdir / f"member-{index}") for index in range(2)
    ]
    return Group(f"badbuzz 2 workers {config.label}", members)


def worker(
    kafka: KafkaConnection, topics: Topics, partitions: int, config: WorkerConfig, workdir: Path
) -> Child:
    """`badbuzz worker` exactly as operators (and tests/support.py) run it; the security
    settings, if any, come with the environment it inherits."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "BADBUZZ_APP_ID": topics.group,
        "BADBUZZ_TOPIC_RAW": topics.raw,
        "BADBUZZ_TOPIC_SENTIMENT": topics.out,
        "BADBUZZ_TOPIC_FEEDBACK": f"{topics.raw}.feedback",
        "BADBUZZ_TOPIC_FEEDBACK_LABELLED": f"{topics.raw}.feedback.labelled",
        "BADBUZZ_TOPIC_ALERTS": f"{topics.raw}.alerts",
        "BADBUZZ_TOPIC_DEADLETTER": f"{topics.raw}.deadletter",
        "BADBUZZ_TOPIC_MODELS": f"{topics.raw}.models",
        "BADBUZZ_TOPIC_MODEL_BUNDLES": f"{topics.raw}.model-bundles",
        "BADBUZZ_TOPIC_PARTITIONS": str(partitions),
        "BADBUZZ_BATCH_SIZE": str(config.batch),
        "BADBUZZ_BATCH_MAX_WAIT_MS": str(config.wait_ms),
        "BADBUZZ_PROCESSING_GUARANTEE": config.guarantee,
        "BADBUZZ_DATA_DIR": str(workdir / "data"),
        "BADBUZZ_WEB_PORT": str(free_port()),
        "BADBUZZ_WEB_HOST": "127.0.0.1",
    }
    if config.shadow:
        put_in_shadow(kafka, env, workdir)
    command = [sys.executable, "-m", "stream.cli", "worker"]
    return Child(f"badbuzz worker {config.label}", command, env, workdir)


def put_in_shadow(kafka: KafkaConnection, env: dict[str, str], workdir: Path) -> None:
    """The default bundle under another version, published as the challenger on the
    worker's own control topic before it starts (stream/models/)."""
    topics = Settings(
        topic_models=env["BADBUZZ_TOPIC_MODELS"],
        topic_model_bundles=env["BADBUZZ_TOPIC_MODEL_BUNDLES"],
        topic_partitions=int(env["BADBUZZ_TOPIC_PARTITIONS"]),
    )
    challenger = copy_as_version(DEFAULT_BUNDLE, workdir / "challenger", "bench-challenger")
    commands.publish(commands.ControlTopic(topics, kafka), challenger, "challenger")


def plain_loop(kafka: KafkaConnection, topics: Topics, batch: int, workdir: Path) -> Child:
    command = [sys.executable, "-m", "bench.plain_loop", topics.raw, topics.out]
    command += [topics.group, str(batch)]
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers}
    return Child(f"confluent-kafka loop {batch}", command, env, workdir)


def quix_app(kafka: KafkaConnection, topics: Topics, workdir: Path) -> Child:
    command = [str(ensure_quix_venv()), "-m", "bench.quix_app", topics.raw]
    command += [topics.out, topics.group]
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers}
    return Child(f"quixstreams {QUIX_VERSION}", command, env, workdir)


def ensure_quix_venv() -> Path:
    """Create the side venv on first use, and again when the pins change (pip, pinned
    versions); returns its python."""
    python = QUIX_VENV / "bin" / "python"
    marker = QUIX_VENV / ".complete"
    wanted = "\n".join(QUIX_REQUIREMENTS)
    if not marker.exists() or marker.read_text() != wanted:
        venv.create(QUIX_VENV, with_pip=True, clear=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", *QUIX_REQUIREMENTS]
        subprocess.run(pip, check=True)
        marker.write_text(wanted)
    return python
