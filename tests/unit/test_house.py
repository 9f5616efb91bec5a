"""The house's rules, checked on the code itself: the streaming runtime never imports the
training package (it needs TensorFlow), and the pure pipeline steps never open a client."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import PROJECT_ROOT

RUNTIME = ("stream", "model", "schemas")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_under(package: str) -> dict[Path, set[str]]:
    return {path: imported_modules(path) for path in sorted((PROJECT_ROOT / package).rglob("*.py"))}


def test_the_runtime_never_imports_training() -> None:
    """`badbuzz train` is the one door: stream/cli.py hands its arguments to training.cli."""
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(m for m in modules if m.startswith("training"))
        for package in RUNTIME
        for path, modules in modules_under(package).items()
        if any(m.startswith("training") for m in modules)
    }
    assert offenders == {"stream/cli.py": ["training.cli"]}


def test_pipeline_steps_and_alert_logic_do_no_io() -> None:
    clients = ("confluent_kafka", "aiokafka", "faust", "socket", "urllib", "aiohttp")
    pure = {**modules_under("stream/pipeline"), **modules_under("stream/alerts")}
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            m for m in modules if m.split(".")[0] in clients
        )
        for path, modules in pure.items()
        if path.name != "store.py"  # the state store is the alert logic's one door to Kafka
    }
    assert {path: found for path, found in offenders.items() if found} == {}
