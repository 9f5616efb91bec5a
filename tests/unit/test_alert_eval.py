"""`badbuzz eval-alerts`: human-label alerts against the model's, replayed without Kafka."""

from dataclasses import replace
from pathlib import Path

import pytest

from stream.cli import main
from stream.settings import Settings
from stream.tools.eval_alerts import (
    Columns,
    Interval,
    LabelScorer,
    compare,
    read_labelled_csv,
    replay_alerts,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "labelled_airline_tweets.csv"
COLUMNS = Columns(label="airline_sentiment")
SETTINGS = Settings(label_shift=False)


def test_alerts_are_matched_by_scope_and_overlapping_window() -> None:
    human = [Interval("a", 0, 300), Interval("a", 1000, 1300), Interval("b", 0, 300)]
    model = [Interval("a", 120, 420), Interval("b", 600, 900), Interval("c", 0, 300)]
    result = compare(human, model)
    assert (result.reference, result.caught, result.candidate, result.added) == (3, 1, 3, 2)
    assert result.recall == pytest.approx(1 / 3) and result.precision == pytest.approx(1 / 3)


def test_the_fixture_holds_one_bad_buzz_that_missed_negatives_would_not_raise() -> None:
    rows = read_labelled_csv(FIXTURE, COLUMNS)
    assert [r.t for r in rows] == sorted(r.t for r in rows)
    human_alerts = replay_alerts(SETTINGS, LabelScorer(rows), rows, shift=False)
    assert [a.scope for a in human_alerts] == ["smallair"]
    # a model that only knows cancellations are bad sees 5 of the burst's 20 complaints
    narrow = [
        replace(r, label=r.label if "cancelled" in r.text else "neutral") if r.human_negative else r
        for r in rows
    ]
    assert replay_alerts(SETTINGS, LabelScorer(narrow), narrow, shift=False) == []


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="'label'"):
        read_labelled_csv(FIXTURE, Columns())


def test_the_command_scores_with_the_served_model_and_prints_recall_and_precision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["eval-alerts", str(FIXTURE), "--label-column", "airline_sentiment"]) == 0
    out = capsys.readouterr().out
    assert "human-label alerts: 1" in out
    assert "caught 1 of 1 (recall 1.00)" in out
    assert "(precision 1.00)" in out
