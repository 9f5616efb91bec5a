"""Distinctive terms and representative examples of a burst (stream/alerts/terms.py)."""

from __future__ import annotations

import json

from stream.alerts.terms import (
    MAX_TERM_CHARS,
    TermCounts,
    dedupe_key,
    distinctive_terms,
    representative_examples,
    tokens,
)
from stream.tools.demo import BURST_FILE
from stream.tools.replay import read_tweets
from tests.support import PROJECT_ROOT

BRAND = "airparadis"


def bag(texts: list[str], capacity: int = 500) -> TermCounts:
    counts = TermCounts(capacity)
    for text in texts:
        counts.add(tokens(text, BRAND))
    return counts


def test_tokens_drop_stop_words_urls_mentions_numbers_and_the_brand() -> None:
    text = "RT @bob: The flight to Nice was CANCELLED!!! 3 hours https://t.co/x #AirParadis"
    assert tokens(text, "AirParadis") == ["flight", "nice", "cancelled", "hours"]
    assert tokens("Vol annulé, l'avion est resté au sol, je suis furieux", "AirParadis") == [
        "vol",
        "annulé",
        "avion",
        "resté",
        "sol",
        "furieux",
    ]
    assert tokens("@AirParadis airparadis Air-Paradis", "Air Paradis") == []
    assert all(len(word) <= MAX_TERM_CHARS for word in tokens("a" * 100 + " ok then", None))


def test_words_common_to_window_and_baseline_are_not_distinctive() -> None:
    baseline = bag(["nice flight, friendly crew, good seat"] * 40)
    angry = ["flight cancelled, refund refused", "crew rude, flight cancelled", "refund refused"]
    window = bag(angry * 3 + ["nice flight, friendly crew"] * 6)
    terms = [term.term for term in distinctive_terms(window, baseline, k=5)]
    assert set(terms[:3]) == {"cancelled", "refund", "refused"}
    assert not {"flight", "crew", "nice", "friendly"} & set(terms)


def test_no_terms_without_evidence() -> None:
    baseline = bag(["nice flight"] * 20)
    assert distinctive_terms(bag(["one odd word"]), baseline, k=5) == []
    assert distinctive_terms(TermCounts(), baseline, k=5) == []
    assert distinctive_terms(bag(["same same words"] * 3), bag([]), k=0) == []


def test_the_demo_burst_is_about_cancellations_refunds_and_lost_luggage() -> None:
    baseline = bag([row["text"] for row in read_tweets(PROJECT_ROOT / "data/demo/tweets.csv")])
    window = bag([row["text"] for row in read_tweets(BURST_FILE)])
    terms = distinctive_terms(window, baseline, k=5)
    names = [term.term for term in terms]
    assert names[0] == "cancelled"
    assert {"refund", "luggage", "lost"} <= set(names)
    assert "flight" not in names  # the word of every airline tweet, angry or not
    assert all(term.z_score >= 1.96 and term.count >= 2 for term in terms)


def test_term_counts_stay_within_capacity_deterministically() -> None:
    counts = TermCounts(capacity=3)
    counts.add(["b", "a", "d", "c", "d"])
    assert counts.counts == {"d": 2.0, "a": 1.0, "b": 1.0}
    again = TermCounts(capacity=3)
    again.add(["d", "c", "a", "b", "d"])
    assert again.counts == counts.counts
    again.add(["e"])  # a newcomer ties with the smallest and loses to the earlier term
    assert again.counts == counts.counts


def test_term_counts_merge_decay_and_round_trip_through_json() -> None:
    one, two = TermCounts(capacity=10), TermCounts(capacity=10)
    one.add(["late", "late", "bag"])
    two.add(["late", "refund"], weight=2.0)
    merged = one.merged(two)
    assert merged.counts == {"late": 4.0, "bag": 1.0, "refund": 2.0}
    decayed = merged.decayed(0.04)
    assert decayed.counts == {"late": 0.16, "refund": 0.08}
    restored = TermCounts.from_dict(json.loads(json.dumps(merged.to_dict())))
    assert restored == merged


def test_the_json_size_bound_holds_for_a_full_bag_of_long_words() -> None:
    counts = TermCounts(capacity=50)
    counts.add([f"\u00e9{n:02d}" + "\u2028" * (MAX_TERM_CHARS - 3) for n in range(80)], 1e9 / 7)
    assert len(counts.counts) == 50
    assert len(json.dumps(counts.to_dict()).encode()) <= counts.max_json_bytes


def test_retweets_and_near_copies_share_a_key() -> None:
    original = "@AirParadis lost my luggage AGAIN!! https://t.co/abc 3 days"
    copies = [
        "RT @someone: @AirParadis lost my luggage again! https://t.co/xyz 4 days",
        "@airparadis LOST my luggage again, http://bit.ly/q 2 days",
        "@AirParadis lost my luggage... again??? 10 days",
    ]
    assert {dedupe_key(copy) for copy in copies} == {dedupe_key(original)}
    assert dedupe_key("@AirParadis lost my passport again") != dedupe_key(original)


def test_examples_cover_the_top_terms_and_skip_copies() -> None:
    newest_first = [
        ("1", "RT @x: flight cancelled, no refund"),
        ("2", "flight cancelled, no refund!!"),
        ("3", "flight cancelled, no refund at all, really"),
        ("4", "so bored at the gate"),
        ("5", "they lost my luggage"),
        ("6", "flight cancelled and my luggage lost"),
    ]
    examples = representative_examples(newest_first, ["cancelled", "luggage", "refund"], k=2)
    assert [tweet_id for tweet_id, _ in examples] == ["6", "1"]
    all_of_them = representative_examples(newest_first, ["cancelled"], k=10)
    assert [tweet_id for tweet_id, _ in all_of_them] == ["1", "6", "4", "5"]
    assert representative_examples(newest_first, [], k=0) == []
