"""The broker's jars: downloaded once, each checked against its pinned sha256."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest

from stream.kafka.local.jars import (
    COMPLETE,
    LOCK_FILE,
    MAVEN_CENTRAL,
    fetch_jars,
    kafka_version,
    pinned_jars,
)

FILES = {"org.example:one:1.0": b"first jar", "org.example.deep:two:2.1": b"second jar"}


def write_lock(path: Path, files: dict[str, bytes]) -> Path:
    lines = [f"{coords} {hashlib.sha256(data).hexdigest()}" for coords, data in files.items()]
    path.write_text("# a comment\n" + "\n".join(lines) + "\n")
    return path


class Repository:
    """Maven Central as a dict from URL to bytes, recording what was asked."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.by_url = {}
        for coords, data in files.items():
            group, artifact, version = coords.split(":")
            path = f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
            self.by_url[f"{MAVEN_CENTRAL}/{path}"] = data
        self.requested: list[str] = []

    def open(self, url: str) -> io.BytesIO:
        self.requested.append(url)
        if url not in self.by_url:
            raise OSError(f"404 {url}")
        return io.BytesIO(self.by_url[url])


def test_jars_are_downloaded_once_and_kept(tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "jars.lock", FILES)
    repository = Repository(FILES)
    libs = fetch_jars(tmp_path / "libs", lock, repository.open)
    assert sorted(path.name for path in libs.iterdir()) == [COMPLETE, "one-1.0.jar", "two-2.1.jar"]
    assert (libs / "two-2.1.jar").read_bytes() == b"second jar"
    assert repository.requested[1] == f"{MAVEN_CENTRAL}/org/example/deep/two/2.1/two-2.1.jar"
    fetch_jars(tmp_path / "libs", lock, repository.open)
    assert len(repository.requested) == 2


def test_a_jar_that_does_not_match_its_sha256_is_refused_and_not_cached(tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "jars.lock", FILES)
    tampered = Repository({**FILES, "org.example.deep:two:2.1": b"something else"})
    with pytest.raises(RuntimeError, match=r"two-2\.1\.jar does not match its pinned sha256"):
        fetch_jars(tmp_path / "libs", lock, tampered.open)
    assert sorted(path.name for path in (tmp_path / "libs").iterdir()) == ["one-1.0.jar"]


def test_a_changed_lock_fetches_again_and_drops_jars_it_no_longer_lists(tmp_path: Path) -> None:
    libs = fetch_jars(
        tmp_path / "libs", write_lock(tmp_path / "a.lock", FILES), Repository(FILES).open
    )
    newer = {"org.example:one:1.1": b"newer jar"}
    fetch_jars(libs, write_lock(tmp_path / "a.lock", newer), Repository(newer).open)
    assert sorted(path.name for path in libs.glob("*.jar")) == ["one-1.1.jar"]


def test_the_committed_lock_pins_one_kafka_release_from_maven_central() -> None:
    jars = pinned_jars(LOCK_FILE)
    kafka = [jar for jar in jars if jar.group == "org.apache.kafka"]
    assert {jar.version for jar in kafka} == {kafka_version(jars)}
    assert {"kafka_2.13", "kafka-clients", "kafka-server"} <= {jar.artifact for jar in kafka}
    assert len({jar.file_name for jar in jars}) == len(jars)
    assert all(re.fullmatch("[0-9a-f]{64}", jar.sha256) for jar in jars)
    assert all(jar.url.startswith("https://repo1.maven.org/maven2/") for jar in jars)
