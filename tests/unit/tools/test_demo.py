"""The demo's closing summary, from the messages the worker sent back."""

from __future__ import annotations

import json

from stream.settings import Settings
from stream.tools.demo import DemoTally
from stream.tools.replay import read_tweets


def _message(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_summary_counts_outputs_and_explains_each_alert() -> None:
    settings = Settings()
    tally = DemoTally(settings)
    for label in ("negative", "negative", "positive"):
        line = tally.render(
            settings.topic_sentiment, _message(label=label, p_positive=0.2, text="late again")
        )
        assert label in line
    tally.render(
        settings.topic_deadletter,
        _message(
            reason="empty_text",
            source_topic="tweets.raw",
            partition=0,
            offset=3,
            detail="text is blank",
        ),
    )
    assert not tally.complete(expected_outputs=4), "no alert yet"
    tally.render(
        settings.topic_alerts,
        _message(
            kind="negative_sentiment",
            status="raised",
            scope="airparadis",
            count=21,
            total=34,
            share=21 / 34,
            threshold="negatives>=20 and share>=0.60",
        ),
    )
    assert tally.complete(expected_outputs=4)
    assert not tally.complete(expected_outputs=5)
    summary = tally.summary(ordinary=2, angry=1, bad_inputs=1)
    assert "sentiment events: 3 (negative 2, positive 1)" in summary
    assert "dead letters:     1 (empty_text 1)" in summary
    assert (
        "raised negative_sentiment for airparadis: 21 of 34 tweets (62%) in the window; "
        "rule: negatives>=20 and share>=0.60"
    ) in summary


def test_unreadable_output_is_shown_but_not_counted() -> None:
    settings = Settings()
    tally = DemoTally(settings)
    assert "not json" in tally.render(settings.topic_sentiment, b"not json")
    assert "sentiment events: 0 (none)" in tally.summary(0, 0, 0)


def test_the_demo_finds_its_traffic_files_wherever_it_is_run_from() -> None:
    from stream.tools import demo

    assert demo.BURST_FILE.is_file() and list(read_tweets(demo.BURST_FILE))
    angry = list(demo.burst(demo.BURST_SIZE))
    assert len({tweet["id"] for tweet in angry}) == demo.BURST_SIZE
