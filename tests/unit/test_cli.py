"""What a newcomer sees from `badbuzz`: help on every option, every setting described, and
one clear line (no traceback, no model loaded, no Kafka dialled) for an unusable input file."""

from __future__ import annotations

import argparse
import csv
import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream import cli
from stream.settings import Settings, environment_variable
from tests.support import PROJECT_ROOT
from training import cli as training_cli


def _parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_every_command_and_option_has_help() -> None:
    missing = []
    parsers = [*_parsers(cli.build_parser()), *_parsers(training_cli.build_parser())]
    for prog, parser in parsers:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [
                    f"{prog} {choice.dest}" for choice in action._choices_actions if not choice.help
                ]
            elif not action.help:
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_top_level_help_speaks_to_users(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Air Paradis" in out and "make demo" in out
    assert "parses arguments" not in out
    for command in ("worker", "settings", "score", "replay", "demo"):
        assert command in out


def _assert_lists_every_setting(text: str) -> None:
    for name, field in Settings.model_fields.items():
        assert f"{environment_variable(name)}=" in text, name
        assert " ".join(str(field.description).split()) in " ".join(text.split()), name
    assert "BADBUZZ_BATCH_SIZE=256" in text
    assert "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092" in text
    assert "BADBUZZ_MODEL_PATH=(unset)" in text


def test_every_setting_has_a_description() -> None:
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_settings_command_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["settings"]) == 0
    _assert_lists_every_setting(capsys.readouterr().out)


def test_worker_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["worker", "--help"])
    _assert_lists_every_setting(capsys.readouterr().out)


@pytest.fixture
def nothing_heavy_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """An input error must be reported before the model loads or a producer is made."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("reached past the input check")

    monkeypatch.setattr(cli, "_load_model", fail)
    monkeypatch.setattr("stream.tools.replay.replay", fail)


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


UNUSABLE = {
    "missing": (lambda d: d / "nope.csv", "nope.csv: no such file"),
    "directory": (lambda d: d, "not a file"),
    "empty": (lambda d: _write(d / "empty.csv", b""), "the file is empty"),
    "empty jsonl": (lambda d: _write(d / "empty.jsonl", b"\n  \n"), "the file is empty"),
    "no text column": (
        lambda d: _write(d / "cols.csv", b"id,tweet,user\n1,hello,bob\n"),
        "no column 'text' (columns found: 'id', 'tweet', 'user'); name the right one with "
        "--text-column",
    ),
    "latin-1": (
        lambda d: _write(d / "latin.csv", "id,text\n1,ok\n2,café\n".encode("latin-1")),
        "line 3 is not UTF-8 text",
    ),
    "latin-1 gzip": (
        lambda d: _write(d / "latin.csv.gz", gzip.compress("id,text\n1,é\n".encode("latin-1"))),
        "line 2 is not UTF-8 text",
    ),
    "not gzip": (lambda d: _write(d / "bad.csv.gz", b"plain"), "cannot be read"),
}


@pytest.mark.usefixtures("nothing_heavy_runs")
@pytest.mark.parametrize("command", ["score", "replay"])
@pytest.mark.parametrize("case", list(UNUSABLE))
def test_an_unusable_file_is_one_line_on_stderr(
    command: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, message = UNUSABLE[case]
    path = make(tmp_path)
    argv = [command, str(path)] + (["-o", str(tmp_path / "out.csv")] if command == "score" else [])
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"badbuzz {command}: {path}: ")
    assert message in captured.err


@pytest.mark.usefixtures("nothing_heavy_runs")
def test_score_sends_json_lines_to_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "tweets.jsonl", b'{"id": 1, "text": "hi"}\n')
    assert cli.main(["score", str(path), "-o", str(tmp_path / "out.csv")]) == 2
    assert "`score` reads CSV; JSON lines go to `replay`" in capsys.readouterr().err


def test_the_installed_entry_point_exits_non_zero_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stream.cli", "score", str(tmp_path / "x.csv"), "-o", "y.csv"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == f"badbuzz score: {tmp_path / 'x.csv'}: no such file\n"


def test_score_flags_blank_text_instead_of_scoring_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(
        tmp_path / "in.csv",
        b"id,body\n1,what a lovely flight\n2,   \n3,\n4,lost my bag and nobody cares\n",
    )
    out = tmp_path / "out.csv"
    assert cli.main(["score", str(source), "-o", str(out), "--text-column", "body"]) == 0
    assert "scored 2 rows" in capsys.readouterr().out
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert [row["error"] for row in rows] == ["", "empty_text", "empty_text", ""]
    assert [row["label"] for row in rows] == ["positive", "", "", "negative"]
    assert rows[1]["p_positive"] == rows[2]["p_positive"] == ""
    assert 0.0 <= float(rows[0]["p_positive"]) <= 1.0


def test_train_commands_reach_trainings_own_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "badbuzz train" in out
    for command in ("baseline", "bilstm", "transformer", "promote", "retrain", "report"):
        assert command in out
