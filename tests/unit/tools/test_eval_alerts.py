"""`badbuzz eval-alerts`: human-label alerts against the model's, replayed without Kafka."""

from dataclasses import replace

import pytest

from stream.cli import main
from stream.settings import Settings
from stream.tools.eval_alerts import (
    Columns,
    Interval,
    LabelledTweet,
    LabelScorer,
    compare,
    read_labelled_csv,
    replay_alerts,
)
from tests.support import PROJECT_ROOT

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "labelled_airline_tweets.csv"
COLUMNS = Columns(label="airline_sentiment")
SETTINGS = Settings(label_shift=False)


def test_alerts_are_matched_by_scope_and_overlapping_window() -> None:
    human = [Interval("a", 0, 300), Interval("a", 1000, 1300), Interval("b", 0, 300)]
    model = [Interval("a", 120, 420), Interval("b", 600, 900), Interval("c", 0, 300)]
    result = compare(human, model)
    assert (result.reference, result.caught, result.candidate, result.added) == (3, 1, 3, 2)
    assert result.recall == pytest.approx(1 / 3) and result.precision == pytest.approx(1 / 3)


def test_the_fixture_holds_one_bad_buzz_that_complaints_read_as_neutral_still_raise() -> None:
    rows = read_labelled_csv(FIXTURE, COLUMNS)
    assert [r.t for r in rows] == sorted(r.t for r in rows)
    human_alerts = replay_alerts(SETTINGS, LabelScorer(rows), rows, shift=False)
    assert [a.scope for a in human_alerts] == ["smallair"]

    def only_cancellations_negative(otherwise: str) -> list[LabelledTweet]:
        """What a model that only knows cancellations are bad reads: 5 of the 20."""
        return [
            replace(r, label=r.label if "cancelled" in r.text else otherwise)
            if r.human_negative
            else r
            for r in rows
        ]

    # the other 15 read as neutral still count half each (alert_neutral_weight): raised
    neutral = only_cancellations_negative("neutral")
    [alert] = replay_alerts(SETTINGS, LabelScorer(neutral), neutral, shift=False)
    assert alert.scope == "smallair" and 7 <= alert.count <= 5 + 15 * 0.5
    # read as positive they count nothing: 5 complaints are no bad buzz
    positive = only_cancellations_negative("positive")
    assert replay_alerts(SETTINGS, LabelScorer(positive), positive, shift=False) == []


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
