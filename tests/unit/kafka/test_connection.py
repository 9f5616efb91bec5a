"""Security settings: validated combinations, and the client configs built from them."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from stream.cli import build_parser
from stream.kafka import KafkaConnection
from stream.settings import Settings

SECRET = "S3cret-Do-Not-Print"


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    """Settings only check that the file exists; TLS reads it when a client connects."""
    path = tmp_path / "ca.pem"
    path.write_text("not parsed by settings\n")
    return path


def sasl_ssl(ca_file: Path, **extra: object) -> Settings:
    return Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="worker",
        kafka_sasl_password=SECRET,
        kafka_ssl_ca_file=ca_file,
        **extra,
    )


def test_plaintext_is_the_default_and_carries_no_security() -> None:
    config = KafkaConnection.from_settings(Settings()).librdkafka({"linger.ms": 5})
    assert config == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "PLAINTEXT",
        "linger.ms": 5,
    }
    assert KafkaConnection.from_settings(Settings()).faust_credentials() is None


def test_sasl_ssl_reaches_librdkafka_and_faust(ca_file: Path) -> None:
    kafka = KafkaConnection.from_settings(sasl_ssl(ca_file))
    assert kafka.librdkafka() == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "worker",
        "sasl.password": SECRET,
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(ca_file),
    }


def test_faust_gets_scram_over_tls_with_a_verifying_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda *args, **kwargs: None)
    kafka = KafkaConnection("b:9093", "SASL_SSL", "SCRAM-SHA-256", "worker", None, Path("/ca.pem"))
    auth = credentials_to_aiokafka_auth(kafka.faust_credentials())
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-256"
    assert auth["sasl_plain_username"] == "worker"
    assert auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert auth["ssl_context"].check_hostname


def test_the_password_can_come_from_a_file(tmp_path: Path, ca_file: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(SECRET + "\n")
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="worker",
        kafka_sasl_password_file=secret,
    )
    assert KafkaConnection.from_settings(settings).librdkafka()["sasl.password"] == SECRET


def test_mutual_tls_sends_the_client_certificate(tmp_path: Path, ca_file: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=ca_file,
        kafka_ssl_cert_file=cert,
        kafka_ssl_key_file=key,
    )
    config = KafkaConnection.from_settings(settings).librdkafka()
    assert config["ssl.certificate.location"] == str(cert)
    assert config["ssl.key.location"] == str(key)
    assert "sasl.password" not in config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "SASL_SSL needs BADBUZZ_KAFKA_SASL_MECHANISM"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN"},
            "needs BADBUZZ_KAFKA_SASL_PASSWORD or BADBUZZ_KAFKA_SASL_PASSWORD_FILE",
        ),
        ({"kafka_sasl_password": SECRET}, "SASL settings are set but the protocol is PLAINTEXT"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": __file__}, "needs both"),
        ({"kafka_ssl_ca_file": __file__}, "TLS files are set but the protocol is PLAINTEXT"),
    ],
)
def test_bad_combinations_fail_with_one_message_and_no_secret(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**settings)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_settings_and_connections_never_show_the_password(ca_file: Path) -> None:
    settings = sasl_ssl(ca_file)
    kafka = KafkaConnection.from_settings(settings)
    plain = KafkaConnection("b:9092", "SASL_PLAINTEXT", "PLAIN", "worker", kafka.sasl_password)
    shown = [
        repr(settings),
        str(settings),
        repr(kafka),
        repr(plain.faust_credentials()),
        build_parser().format_help(),
    ]
    assert not [text for text in shown if SECRET in text]
