import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from stream.observability.logs import configure_logging

MISSING = "/nonexistent/badbuzz/var/worker"


@pytest.fixture
def json_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def lines_of(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines()]


def assert_names_the_error(line: dict) -> None:
    assert line["error_type"] == "builtins.FileNotFoundError"
    assert MISSING in line["error_message"]
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "in open_missing" in line["exception"]
    assert (
        f"FileNotFoundError: [Errno 2] No such file or directory: '{MISSING}'"
        in (line["exception"])
    )
    assert "exc_info" not in line


def open_missing() -> None:
    open(MISSING)  # noqa: SIM115 - raising is the point


def test_a_library_error_logged_through_the_stdlib_carries_type_message_and_traceback(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    try:
        open_missing()
    except OSError:
        logging.getLogger("faust.app").error("Crashed reason=%r", "x", exc_info=True)
    (line,) = lines_of(capsys.readouterr().err)
    assert (line["event"], line["level"], line["logger"]) == (
        "Crashed reason='x'",
        "error",
        "faust.app",
    )
    assert_names_the_error(line)


@pytest.mark.parametrize("how", ["exception", "exc_info_instance"])
def test_our_own_error_events_carry_type_message_and_traceback(
    how: str, json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    log = structlog.get_logger("stream.test")
    try:
        open_missing()
    except OSError as error:
        if how == "exception":
            log.exception("processing_failed", agent="detect")
        else:
            log.error("processing_failed", agent="detect", exc_info=error)
    (line,) = lines_of(capsys.readouterr().err)
    assert (line["event"], line["agent"]) == ("processing_failed", "detect")
    assert_names_the_error(line)


def test_lines_without_an_error_have_no_error_fields(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    structlog.get_logger("stream.test").info("batch_done", consumed=3)
    logging.getLogger("aiokafka").warning("Heartbeat failed")
    lines = lines_of(capsys.readouterr().err)
    assert [line["event"] for line in lines] == ["batch_done", "Heartbeat failed"]
    assert not any({"error_type", "exception"} & line.keys() for line in lines)
