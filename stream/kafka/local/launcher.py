"""A single-node KRaft Kafka broker from the official jars, for tests, CI and the demo.

No Docker engine is needed: the pinned Apache Kafka jars are fetched once into a cache
(jars.py), and each broker runs as a plain `java` process (java.py) with its data in a work
directory, so a restart on the same directory keeps data.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from stream.kafka import KafkaConnection
from stream.kafka.local.jars import PACKAGE_DIR, fetch_jars
from stream.kafka.local.java import java_runtime
from stream.kafka.local.tls import BrokerTls

PID_FILE = "broker.pid"


def free_port() -> int:
    """A port the OS just handed out, so parallel brokers and CI jobs do not collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


BROKER_JVM = ("-Xms256m", "-Xmx512m", "-XX:+UseG1GC")
# a tool that runs for a second: no optimising JIT to warm up, no GC threads to start
TOOL_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def _java(libs: Path, jvm_options: tuple[str, ...]) -> list[str]:
    return [
        java_runtime().java,
        *jvm_options,
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{PACKAGE_DIR / 'log4j.properties'}",
        "-cp",
        f"{libs}/*",
    ]


def console_produce(
    bootstrap_servers: str,
    topic: str,
    records: Iterable[tuple[str, str]],
    compression: str = "none",
    linger_ms: int = 50,
    timeout: float = 120.0,
) -> None:
    """Send (key, value) lines with Kafka's own Java console producer, from the pinned jars:
    a client this project did not write, batching and compressing as the Java client does.
    (Kafka 3.9 ships it as `kafka.tools.ConsoleProducer` in kafka_2.13; 4.0 moves it to
    `org.apache.kafka.tools.ConsoleProducer` in kafka-tools.)"""
    lines = []
    for key, value in records:
        if any(char in key + value for char in "\t\r\n"):
            raise ValueError(f"a console producer line cannot hold a tab or newline: {key!r}")
        lines.append(f"{key}\t{value}\n")
    command = [
        *_java(fetch_jars(), TOOL_JVM),
        "kafka.tools.ConsoleProducer",
        f"--bootstrap-server={bootstrap_servers}",
        f"--topic={topic}",
        f"--compression-codec={compression}",
        "--producer-property=acks=all",
        f"--timeout={linger_ms}",
        "--property=parse.key=true",
        "--property=key.separator=\t",
    ]
    result = subprocess.run(  # the console producer reads its lines as UTF-8, whatever the locale
        command,
        input="".join(lines),
        capture_output=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 or " ERROR " in output:  # it logs failed sends, exits with 0
        raise RuntimeError(f"Kafka's console producer failed ({result.returncode}):\n{output}")


def _pid_alive(pid: int) -> bool:
    """True only for a live Kafka broker, so a stale pid file never hits a recycled pid."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    return not cmdline.exists() or b"kafka.Kafka" in cmdline.read_bytes()


ADMIN_USER = "admin"
SCRAM = "SCRAM-SHA-512"


@dataclass(frozen=True, slots=True)
class BrokerSecurity:
    """A secured broker: its only client listener is SASL_SSL with SCRAM-SHA-512, ACLs are
    enforced with nothing allowed by default, and the controller listener takes only the
    broker's own certificate (mutual TLS)."""

    tls: BrokerTls
    admin_password: str  # SCRAM super user `admin`, also the broker's inter-broker identity
    users: Mapping[str, str] = field(default_factory=dict)  # more SCRAM users, made at format

    def properties(self, port: int, controller_port: int) -> str:
        """server.properties lines that override the template's plaintext listeners."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{self.admin_password}";'
        )
        stores = {
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": self.tls.keystore,
            "ssl.keystore.password": self.tls.password,
            "ssl.key.password": self.tls.password,
            "ssl.truststore.type": "PKCS12",
            "ssl.truststore.location": self.tls.truststore,
            "ssl.truststore.password": self.tls.password,
        }
        lines = {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": SCRAM,
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
            "listener.name.controller.ssl.client.auth": "required",
            **stores,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN_USER};{self.tls.broker_principal}",
        }
        return "".join(f"{key}={value}\n" for key, value in lines.items())

    def scram_users(self) -> dict[str, str]:
        return {ADMIN_USER: self.admin_password, **self.users}

    def connection(self, bootstrap_servers: str, user: str = ADMIN_USER) -> KafkaConnection:
        """How a client signs in as `user` (by default the super user)."""
        return KafkaConnection(
            bootstrap_servers,
            security_protocol="SASL_SSL",
            sasl_mechanism=SCRAM,
            sasl_username=user,
            sasl_password=SecretStr(self.scram_users()[user]),
            ssl_ca_file=self.tls.ca_file,
        )


class LocalKafka:
    """One broker process; `start()` again on the same workdir reuses its formatted storage."""

    def __init__(
        self,
        workdir: Path,
        port: int = 9092,
        controller_port: int | None = None,
        security: BrokerSecurity | None = None,
    ):
        self.workdir = workdir.resolve()
        self.port = port
        self.controller_port = controller_port or self._saved_controller_port() or free_port()
        self.security = security
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def connection(self) -> KafkaConnection:
        """An admin's connection: plaintext, or the super user on a secured broker."""
        if self.security is None:
            return KafkaConnection(self.bootstrap_servers)
        return self.security.connection(self.bootstrap_servers)

    @property
    def log_path(self) -> Path:
        return self.workdir / "broker.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / PID_FILE

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> str:
        """Start (or restart) the broker and return its bootstrap servers once it serves."""
        if self.running:
            return self.bootstrap_servers
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                raise RuntimeError(f"cannot start Kafka: 127.0.0.1:{port} is already in use")
        libs = fetch_jars()
        config = self._write_config()
        if not (self.workdir / "data" / "meta.properties").exists():
            self._format(libs, config)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*_java(libs, BROKER_JVM), "kafka.Kafka", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_path.write_text(str(self.process.pid))
        self._wait_until_serving(timeout)
        return self.bootstrap_servers

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM for a clean shutdown, SIGKILL if it takes longer than `timeout`."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
        self.pid_path.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash would; fault tests then `start()` again on the same data."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _saved_controller_port(self) -> int | None:
        saved = self.workdir / "controller.port"
        return int(saved.read_text()) if saved.exists() else None

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "controller.port").write_text(str(self.controller_port))
        template = (PACKAGE_DIR / "server.properties").read_text()
        config = self.workdir / "server.properties"
        text = template.format(
            port=self.port, controller_port=self.controller_port, data_dir=self.workdir / "data"
        )
        if self.security is not None:  # later lines win in a .properties file
            text += self.security.properties(self.port, self.controller_port)
        config.write_text(text)
        return config

    def _format(self, libs: Path, config: Path) -> None:
        """Static quorum (controller.quorum.voters), so 3.9 needs no --standalone."""
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        command = [*_java(libs, BROKER_JVM), "kafka.tools.StorageTool", "format"]
        # `=`: a base64url id may start with "-", which would read as an option
        command += ["--ignore-formatted", f"--cluster-id={cluster_id}", "-c", str(config)]
        if self.security is not None:
            for user, password in self.security.scram_users().items():
                command += ["--add-scram", f"{SCRAM}=[name={user},password={password}]"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")

    def _wait_until_serving(self, timeout: float) -> None:
        """Wait for the port first, so the client does not log every refused connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                self.pid_path.unlink(missing_ok=True)
                raise RuntimeError(f"Kafka exited with code {code}; broker log:\n{self._tail()}")
            if port_in_use(self.port) and self._answers_metadata():
                return
            time.sleep(0.25)
        self.kill()
        self.stop()
        raise RuntimeError(
            f"Kafka did not answer within {timeout:.0f}s; broker log:\n{self._tail()}"
        )

    def _answers_metadata(self) -> bool:
        admin = AdminClient(self.connection.librdkafka({"log_level": 0}))
        try:
            return bool(admin.list_topics(timeout=5).brokers)
        except Exception:
            return False

    def _tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no broker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def up(port: int, workdir: Path) -> str:
    """Start a broker that outlives this process (own session, pid file in workdir)."""
    pid_path = workdir / PID_FILE
    if pid_path.exists() and _pid_alive(int(pid_path.read_text())):
        raise RuntimeError(f"a local Kafka from {workdir} is already running; run `down` first")
    return LocalKafka(workdir, port).start()


def down(workdir: Path, timeout: float = 20.0) -> bool:
    """Stop the broker `up` started in workdir; False when none was running."""
    pid_path = workdir / PID_FILE
    if not pid_path.exists():
        return False
    pid = int(pid_path.read_text())
    pid_path.unlink()
    if not _pid_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return True
