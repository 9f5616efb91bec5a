import json
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Label
from stream.pipeline.labelshift import LabelShift
from stream.pipeline.scoring import process_batch, record_time
from stream.records import RawRecord
from tests.support import hostile_payloads

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAX_AHEAD_S = 300


class KeywordScorer:
    """Deterministic stand-in for the model: the batching logic is what is under test."""

    version = "keyword-1"
    threshold = 0.5
    classes = ("negative", "positive")
    train_prior = np.array([0.5, 0.5])
    language = "en"
    languages = frozenset({"en", "fr"})

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.langs: list[list[str] | None] = []

    def languages_of(self, texts: Sequence[str], claimed: Sequence[str | None]) -> list[str]:
        """The producer's word, else English."""
        return [lang or "en" for lang in claimed]

    def version_of(self, lang: str) -> str:
        return self.version if lang == self.language else f"keyword-{lang}-1"

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        self.calls.append(list(texts))
        self.langs.append(None if langs is None else list(langs))
        p_positive = np.array([0.9 if "love" in t else 0.6 if "ok" in t else 0.1 for t in texts])
        return np.column_stack([1 - p_positive, p_positive])


class ThreeClassScorer(KeywordScorer):
    """Calibrated like G2's three-class bundle: (negative, neutral, positive)."""

    classes = ("negative", "neutral", "positive")
    train_prior = np.array([1 / 3, 1 / 3, 1 / 3])

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        rows = {"love": [0.1, 0.2, 0.7], "time": [0.3, 0.6, 0.1]}
        return np.array([rows.get(t.split()[-1], [0.8, 0.15, 0.05]) for t in texts])


def record(
    offset: int, value: bytes | None, timestamp: float | None = 1_772_366_400.0
) -> RawRecord:
    return RawRecord("tweets.raw", 0, offset, timestamp, value)


def tweet(tweet_id: str, text: str, **extra: str) -> bytes:
    return json.dumps({"id": tweet_id, "text": text, **extra}).encode()


def shift_for(scorer: KeywordScorer, pseudo_count: float = 10.0) -> LabelShift:
    return LabelShift(
        scorer.classes,
        scorer.train_prior,
        window=1000,
        scope_window=200,
        min_scope_samples=50,
        max_scopes=10,
        pseudo_count=pseudo_count,
    )


def run(
    records: list[RawRecord],
    scorer: KeywordScorer | None = None,
    shift: LabelShift | None = None,
):
    return process_batch(
        records,
        scorer or KeywordScorer(),
        shift,
        max_payload_bytes=4096,
        deadletter_payload_bytes=64,
        now=NOW,
        event_time_max_ahead_s=MAX_AHEAD_S,
    )


def test_valid_tweets_are_scored_in_one_call_and_keep_their_order() -> None:
    scorer = KeywordScorer()
    outcome = run(
        [record(0, tweet("a", "I love it")), record(1, b"{bad"), record(2, tweet("b", "awful"))],
        scorer,
    )
    assert scorer.calls == [["I love it", "awful"]]
    assert [(e.tweet_id, e.label) for e in outcome.events] == [
        ("a", Label.POSITIVE),
        ("b", Label.NEGATIVE),
    ]
    assert [d.offset for d in outcome.dead_letters] == [1]
    assert outcome.events[0].model_version == "keyword-1"
    assert outcome.events[0].scored_at == NOW


def test_event_time_prefers_created_at_then_kafka_timestamp_then_now() -> None:
    outcome = run(
        [
            record(0, tweet("a", "x", created_at="2025-05-05T10:00:00Z")),
            record(1, tweet("b", "y"), timestamp=1_700_000_000.0),
            record(2, tweet("c", "z"), timestamp=None),
        ]
    )
    times = [e.event_time for e in outcome.events]
    assert times == [
        datetime(2025, 5, 5, 10, 0, tzinfo=UTC),
        datetime.fromtimestamp(1_700_000_000.0, tz=UTC),
        NOW,
    ]


def test_an_event_time_too_far_ahead_becomes_the_arrival_time_and_the_claim_is_kept() -> None:
    ahead = NOW.timestamp() + MAX_AHEAD_S
    outcome = run(
        [
            record(0, tweet("2036", "x", created_at="2036-01-01T00:00:00Z")),
            record(1, tweet("skewed-broker", "y"), timestamp=ahead + 1),
            record(
                2, tweet("within", "z", created_at=datetime.fromtimestamp(ahead, UTC).isoformat())
            ),
        ]
    )
    assert [e.event_time for e in outcome.events] == [
        NOW,
        NOW,
        datetime.fromtimestamp(ahead, tz=UTC),
    ]
    assert outcome.events[0].created_at == datetime(2036, 1, 1, tzinfo=UTC)
    assert outcome.clamped == 2


def test_brand_and_created_at_are_carried_over() -> None:
    outcome = run([record(0, tweet("a", "x", brand="airparadis", created_at="2025-05-05"))])
    event = outcome.events[0]
    assert event.brand == "airparadis"
    assert event.created_at == datetime(2025, 5, 5, tzinfo=UTC)


def test_an_all_bad_batch_never_calls_the_model() -> None:
    scorer = KeywordScorer()
    outcome = run([record(0, None), record(1, b"[]")], scorer)
    assert scorer.calls == []
    assert [d.reason for d in outcome.dead_letters] == ["empty_payload", "not_an_object"]


def test_without_correction_events_carry_the_training_prior_and_both_probabilities() -> None:
    event = run([record(0, tweet("a", "I love it"))]).events[0]
    assert (event.p_positive, event.p_negative) == pytest.approx((0.9, 0.1))
    assert event.prior == {"negative": 0.5, "positive": 0.5}


def test_traffic_full_of_complaints_moves_the_prior_and_a_borderline_tweet_to_negative() -> None:
    scorer = KeywordScorer()
    shift = shift_for(scorer)
    borderline = [record(0, tweet("b0", "ok I guess"))]
    assert run(borderline, scorer, shift).events[0].label is Label.POSITIVE  # 0.6 at 50/50
    complaints = [record(n, tweet(f"c{n}", "awful")) for n in range(1, 301)]
    run(complaints, scorer, shift)
    event = run([record(400, tweet("b1", "ok I guess"))], scorer, shift).events[0]
    assert event.prior is not None and event.prior["negative"] > 0.9
    assert event.label is Label.NEGATIVE
    assert event.p_negative is not None and event.p_negative > 0.5
    assert event.p_positive == pytest.approx(1 - event.p_negative)


def test_three_class_scores_are_labelled_by_the_most_likely_class() -> None:
    outcome = run(
        [record(0, tweet("a", "flight on time")), record(1, tweet("b", "so love"))],
        ThreeClassScorer(),
    )
    assert [e.label for e in outcome.events] == [Label.NEUTRAL, Label.POSITIVE]
    assert outcome.events[0].p_negative == 0.3
    # drift sees p(positive) against negative, the score the bundle's reference histogram is of
    assert outcome.model_p_positive == pytest.approx([0.1 / (0.1 + 0.3), 0.7 / (0.7 + 0.1)])


def test_each_tweet_carries_its_language_and_is_read_by_that_languages_model() -> None:
    scorer = KeywordScorer()
    outcome = run(
        [
            record(0, tweet("1", "love it")),
            record(1, tweet("2", "j'adore ok", lang="fr")),
            record(2, tweet("3", "hate it", lang="en")),
        ],
        scorer,
    )

    assert [e.lang for e in outcome.events] == ["en", "fr", "en"]
    assert scorer.langs == [["en", "fr", "en"]]
    assert [e.model_version for e in outcome.events] == ["keyword-1", "keyword-fr-1", "keyword-1"]
    assert [e.label for e in outcome.events] == [Label.POSITIVE, Label.POSITIVE, Label.NEGATIVE]
    # the drift reference is the English model's: French scores stay out of it
    assert outcome.model_p_positive == pytest.approx([0.9, 0.1])


def test_a_language_no_model_reads_is_flagged_not_scored() -> None:
    scorer = KeywordScorer()
    shift = shift_for(scorer)
    outcome = run(
        [record(0, tweet("1", "me encanta love", lang="es")), record(1, tweet("2", "love it"))],
        scorer,
        shift,
    )

    flagged, scored = outcome.events
    assert flagged.label is Label.UNSUPPORTED_LANGUAGE
    assert (flagged.lang, flagged.scored, flagged.p_positive, flagged.p_negative) == (
        "es",
        False,
        None,
        None,
    )
    assert flagged.prior is None
    assert scored.scored and scored.label is Label.POSITIVE
    assert scorer.calls == [["love it"]]  # the Spanish tweet never reached a model
    assert shift.overall.samples == 1


def test_a_batch_of_unsupported_languages_only_scores_nothing() -> None:
    scorer = KeywordScorer()
    outcome = run(
        [record(0, tweet("1", "hallo", lang="de")), record(1, tweet("2", "ciao", lang="it"))],
        scorer,
        shift_for(scorer),  # the live prior's correction of no rows at all
    )

    assert [e.label for e in outcome.events] == [Label.UNSUPPORTED_LANGUAGE] * 2
    assert outcome.model_p_positive == []


@pytest.mark.parametrize(
    "timestamp", [9.2e12, -0.001, -1.0, float("nan"), float("inf"), -float("inf"), 1e300]
)
def test_a_kafka_timestamp_no_datetime_can_hold_means_arrival_time(timestamp: float) -> None:
    """9.2e12 s is 9.2e15 ms, past year 9999; Kafka's -1 means no timestamp at all."""
    assert record_time(record(0, None, timestamp), NOW) == NOW
    [event] = run([record(0, tweet("t", "fine"), timestamp)]).events
    assert event.event_time == NOW


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            hostile_payloads,
            st.none() | st.floats() | st.sampled_from([9.2e12, -1.0, 0.0, 1_772_366_400.0]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_batch_is_scored_or_dead_lettered_whole_and_every_output_can_be_produced(
    batch: list[tuple[bytes, float | None]],
) -> None:
    outcome = run([record(n, value, timestamp) for n, (value, timestamp) in enumerate(batch)])
    assert len(outcome.events) + len(outcome.dead_letters) == len(batch)
    for message in (*outcome.events, *outcome.dead_letters):
        message.model_dump_json()
