"""A throwaway certificate authority and broker certificate, made with Java's `keytool`
(from the same Java runtime as the broker), for secured local brokers in tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from stream.kafka.local.java import java_runtime

BROKER_DNAME = "CN=badbuzz-broker"
HOST_NAMES = "SAN=dns:localhost,ip:127.0.0.1"


@dataclass(frozen=True, slots=True)
class BrokerTls:
    ca_file: Path  # PEM, for clients
    keystore: Path  # PKCS12: the broker's key and certificate signed by the CA
    truststore: Path  # PKCS12: the CA, to check the certificates presented to the controller
    password: str  # of both stores

    @property
    def broker_principal(self) -> str:
        """How the broker's certificate authenticates on the mutual-TLS controller listener."""
        return f"User:{BROKER_DNAME}"


def _keytool(*args: str) -> None:
    result = subprocess.run(
        [java_runtime().keytool, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed: {result.stdout}{result.stderr}")


def make_ca(directory: Path, password: str, name: str = "badbuzz-test-ca") -> Path:
    """A self-signed CA in `directory/<name>.p12`; returns its certificate as PEM."""
    directory.mkdir(parents=True, exist_ok=True)
    store, pem = directory / f"{name}.p12", directory / f"{name}.pem"
    common = ["-keystore", str(store), "-storepass", password, "-storetype", "PKCS12"]
    _keytool(
        "-genkeypair",
        "-alias",
        "ca",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        f"CN={name}",
        "-ext",
        "bc:c",
        "-validity",
        "2",
        *common,
    )
    _keytool("-exportcert", "-rfc", "-alias", "ca", "-file", str(pem), *common)
    return pem


def make_broker_tls(directory: Path, password: str) -> BrokerTls:
    """A CA, and a broker certificate it signed for localhost and 127.0.0.1."""
    ca_pem = make_ca(directory, password)
    ca_store = ["-keystore", str(directory / "badbuzz-test-ca.p12"), "-storepass", password]
    keystore, truststore = directory / "broker.p12", directory / "truststore.p12"
    broker = ["-keystore", str(keystore), "-storepass", password, "-storetype", "PKCS12"]
    request, signed = directory / "broker.csr", directory / "broker.pem"
    _keytool(
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        BROKER_DNAME,
        "-ext",
        HOST_NAMES,
        "-validity",
        "2",
        *broker,
    )
    _keytool("-certreq", "-alias", "broker", "-file", str(request), *broker)
    _keytool(
        "-gencert",
        "-alias",
        "ca",
        "-infile",
        str(request),
        "-outfile",
        str(signed),
        "-rfc",
        "-ext",
        HOST_NAMES,
        "-validity",
        "2",
        *ca_store,
    )
    _keytool("-importcert", "-noprompt", "-alias", "ca", "-file", str(ca_pem), *broker)
    _keytool("-importcert", "-noprompt", "-alias", "broker", "-file", str(signed), *broker)
    _keytool(
        "-importcert",
        "-noprompt",
        "-alias",
        "ca",
        "-file",
        str(ca_pem),
        "-keystore",
        str(truststore),
        "-storepass",
        password,
        "-storetype",
        "PKCS12",
    )
    return BrokerTls(ca_pem, keystore, truststore, password)
