"""`badbuzz train retrain --every`: a scheduler's loop that outlives a failed run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from stream.settings import Settings
from training import cli


class Stop(Exception):
    """Ends the otherwise endless loop."""


def test_a_failed_run_is_reported_and_the_next_one_runs_after_the_wait(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs: list[str] = []
    waits: list[float] = []

    def retrain_once(args: argparse.Namespace, settings: Settings) -> int:
        runs.append("run")
        if len(runs) == 1:
            raise ConnectionError("MLflow is away")
        return 0

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise Stop

    monkeypatch.setattr(cli, "_tracking", lambda args: None)
    monkeypatch.setattr(cli, "retrain_once", retrain_once)
    monkeypatch.setattr(cli.time, "sleep", sleep)
    args = cli.build_parser().parse_args(["retrain", "--shadow", "--every", "60"])
    with pytest.raises(Stop):
        args.func(args, Settings())
    assert runs == ["run", "run"] and waits == [60, 60]
    assert "MLflow is away" in capsys.readouterr().err


def test_every_wants_a_positive_number_of_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_tracking", lambda args: None)
    args = cli.build_parser().parse_args(["retrain", "--every", "0"])
    with pytest.raises(SystemExit, match="above 0"):
        args.func(args, Settings())


def test_a_challenger_that_fails_the_offline_rule_is_not_put_in_shadow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stream.models import commands
    from training import retrain

    feedback = tmp_path / "rows.jsonl"
    row = {"tweet_id": "1", "text": "lost my bag", "label": "negative", "source": "http"}
    feedback.write_text(json.dumps(row) + "\n")
    monkeypatch.setattr(cli, "_tracking", lambda args: None)
    monkeypatch.setattr(retrain, "retrain", lambda *args, **kwargs: {"eligible": False})
    monkeypatch.setattr(commands, "publish", lambda *args: pytest.fail("published"))
    argv = ["retrain", "--shadow", "--feedback-file", str(feedback), "--min-new", "1"]
    assert cli.main(argv, Settings()) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["retrained"] and said["shadow"].startswith("not published"), said
