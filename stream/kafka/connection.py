"""The one place that turns the `BADBUZZ_KAFKA_*` settings into client configurations.

Faust's aiokafka clients take `broker_credentials`; every librdkafka client (producer,
consumers, admin) takes `librdkafka(...)`. Commands, the benchmark and the tests all build
their clients from a `KafkaConnection`, so a secured cluster is reached the same way by all.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError
from pydantic import SecretStr

from stream.settings import Settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT


class KafkaAccessError(RuntimeError):
    """The brokers refused us (credentials, certificate, ACLs): retrying will not help."""


class KafkaNotReady(RuntimeError):
    """The brokers could not answer yet (starting, electing a leader, loading a group
    coordinator, unreachable): the same request may succeed a moment later."""

    def __init__(self, error: KafkaError, detail: str = "") -> None:
        super().__init__(detail or error.str())
        self.error = error


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_file: Path | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        """Reads the password file here, at start, so a rotated secret needs a restart."""
        password = settings.kafka_sasl_password
        if settings.kafka_sasl_password_file is not None:
            password = SecretStr(settings.kafka_sasl_password_file.read_text().rstrip("\r\n"))
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=password,
            ssl_ca_file=settings.kafka_ssl_ca_file,
            ssl_cert_file=settings.kafka_ssl_cert_file,
            ssl_key_file=settings.kafka_ssl_key_file,
        )

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def principal(self) -> str:
        """How the brokers' ACLs name us, for error messages (SASL user, else the protocol)."""
        if self.uses_sasl:
            return f"User:{self.sasl_username}"
        return f"the {self.security_protocol} client"

    def librdkafka(self, client: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A confluent-kafka client config: connection and security, then the client's own."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.uses_sasl:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self._password()
        if self.uses_tls:
            config["ssl.endpoint.identification.algorithm"] = "https"
            if self.ssl_ca_file is not None:
                config["ssl.ca.location"] = str(self.ssl_ca_file)
            if self.ssl_cert_file is not None and self.ssl_key_file is not None:
                config["ssl.certificate.location"] = str(self.ssl_cert_file)
                config["ssl.key.location"] = str(self.ssl_key_file)
        return {**config, **(client or {})}

    @property
    def faust_broker_url(self) -> str:
        """Faust spells a broker list as `kafka://a:1;kafka://b:2`."""
        hosts = [h.strip() for h in self.bootstrap_servers.split(",") if h.strip()]
        return ";".join(f"kafka://{host}" for host in hosts)

    def faust_credentials(self) -> CredentialsT | None:
        """Faust's `broker_credentials`: aiokafka supports PLAIN and both SCRAMs over SASL.
        Faust is imported here so librdkafka-only processes (the bench peers) need not have it."""
        import faust

        context = self.ssl_context() if self.uses_tls else None
        if self.uses_sasl:
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self._password(),
                mechanism=self.sasl_mechanism,
                ssl_context=context,
            )
        if context is not None:
            return faust.SSLCredentials(context)
        return None

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the brokers' certificates and host names, as librdkafka does."""
        context = ssl.create_default_context(
            cafile=str(self.ssl_ca_file) if self.ssl_ca_file is not None else None
        )
        if self.ssl_cert_file is not None and self.ssl_key_file is not None:
            context.load_cert_chain(str(self.ssl_cert_file), str(self.ssl_key_file))
        return context

    def _password(self) -> str | None:
        return None if self.sasl_password is None else self.sasl_password.get_secret_value()
