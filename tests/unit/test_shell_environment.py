"""The tests run on the settings' defaults whatever the shell exported (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

# A test module that builds its Settings when imported, as some of ours do.
PROBE = """
import os

from stream.settings import Settings

AT_IMPORT = Settings()


def test_the_shell_settings_are_gone():
    assert not [name for name in os.environ if name.startswith(("BADBUZZ_", "KAFKA_"))]
    for name in ("kafka_bootstrap_servers", "kafka_security_protocol", "alert_min_negatives"):
        assert getattr(AT_IMPORT, name) == Settings.model_fields[name].default
"""


def test_a_shell_with_a_secured_clusters_settings_does_not_reach_the_tests(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    shell = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-1.example.internal:9093",
        "BADBUZZ_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BADBUZZ_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "BADBUZZ_ALERT_MIN_NEGATIVES": "1000",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*pytest, "-p", "tests.conftest", "--rootdir", str(tmp_path), "test_probe.py"],
        cwd=tmp_path,
        env=shell,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
