"""The broker's classpath: the pinned Apache Kafka jars, downloaded once from Maven Central
over HTTPS, each checked against its sha256 in kafka-jars.lock, and cached."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PACKAGE_DIR = Path(__file__).resolve().parent
LOCK_FILE = PACKAGE_DIR / "kafka-jars.lock"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
COMPLETE = ".complete"  # holds the digest of the lock the folder was filled from

UrlOpener = Callable[[str], BinaryIO]


@dataclass(frozen=True, slots=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def url(self) -> str:
        path = "/".join([*self.group.split("."), self.artifact, self.version, self.file_name])
        return f"{MAVEN_CENTRAL}/{path}"


def pinned_jars(lock: Path = LOCK_FILE) -> list[Jar]:
    jars = []
    for line in lock.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            coordinates, sha256 = line.split()
            group, artifact, version = coordinates.split(":")
            jars.append(Jar(group, artifact, version, sha256))
    return jars


def kafka_version(jars: Iterable[Jar]) -> str:
    """The lock is the one place the Kafka version is pinned."""
    for jar in jars:
        if jar.artifact == "kafka_2.13":
            return jar.version
    raise RuntimeError(f"{LOCK_FILE} does not pin kafka_2.13")


KAFKA_VERSION = kafka_version(pinned_jars())
DEFAULT_CACHE = Path.home() / ".cache" / "badbuzz" / f"kafka-{KAFKA_VERSION}" / "libs"


def _open_url(url: str) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=60)  # HTTPS, certificate verified


def _download(jar: Jar, libs: Path, open_url: UrlOpener) -> None:
    """Into a temporary file first, so the cache never holds a partial or unverified jar."""
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=libs, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, open_url(jar.url) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != jar.sha256:
            raise RuntimeError(
                f"{jar.url} does not match its pinned sha256 in {LOCK_FILE.name}: "
                f"expected {jar.sha256}, got {digest.hexdigest()}"
            )
        os.replace(temporary, libs / jar.file_name)
    finally:
        Path(temporary).unlink(missing_ok=True)


def fetch_jars(
    cache_dir: Path | None = None, lock: Path = LOCK_FILE, open_url: UrlOpener = _open_url
) -> Path:
    """The folder holding exactly the pinned jars; downloads what is missing the first time,
    and again whenever the lock changes."""
    libs = cache_dir or DEFAULT_CACHE
    marker = libs / COMPLETE
    lock_digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == lock_digest:
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    jars = pinned_jars(lock)
    for stale in set(libs.glob("*.jar")) - {libs / jar.file_name for jar in jars}:
        stale.unlink()
    for jar in jars:
        try:
            _download(jar, libs, open_url)
        except OSError as error:
            raise RuntimeError(f"could not download {jar.url}: {error}") from error
    marker.write_text(lock_digest)
    return libs
