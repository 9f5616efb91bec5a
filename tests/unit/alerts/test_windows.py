"""Buckets, hourly roll-ups, lateness against the evaluated horizon, and bounded state."""

import json

from stream.alerts.detector import window_spec_from
from stream.alerts.windows import Admission, Observation, ScopeWindow, clamp_to_arrival, hour_of
from stream.settings import Settings

SPEC = window_spec_from(Settings())  # 300 s windows in 30 s steps, a day's baseline
T0 = 1_700_000_000 - 1_700_000_000 % 3600  # on the hour


def test_a_window_sums_the_buckets_it_covers_and_keeps_its_complaints_newest_first() -> None:
    window = ScopeWindow()
    for n in range(12):
        window.add(SPEC, Observation(T0 + 30 * n, n % 2, f"t{n}", f"text {n}"), None)
    counts = window.window(SPEC, T0 + 300)
    assert (counts.start, counts.negatives, counts.total) == (T0, 5.0, 10)
    assert [i for i, _ in counts.examples] == ["t9", "t7", "t5", "t3", "t1"]


def test_weights_are_summed_as_floats() -> None:
    window = ScopeWindow()
    window.add(SPEC, Observation(T0, 0.25, "a"), None)
    window.add(SPEC, Observation(T0 + 1, True, "b"), None)
    assert window.window(SPEC, T0 + 30).negatives == 1.25


def test_an_observation_in_a_window_already_decided_is_late_and_a_copy_is_a_duplicate() -> None:
    window = ScopeWindow()
    assert window.add(SPEC, Observation(T0 + 10, 1, "a"), T0) is Admission.COUNTED
    assert window.add(SPEC, Observation(T0 + 10, 1, "a"), T0 + 60) is Admission.DUPLICATE
    assert window.add(SPEC, Observation(T0 + 10, 1, "b"), T0 + 30) is Admission.LATE
    assert window.add(SPEC, Observation(T0 + 30, 1, "c"), T0 + 30) is Admission.COUNTED
    assert window.dropped_late == 1


def test_the_history_is_the_same_before_and_after_buckets_roll_into_hours() -> None:
    window = ScopeWindow()
    for n in range(0, 6 * 3600, 45):
        window.add(SPEC, Observation(T0 + n, n % 90 == 0, f"t{n}"), None)
    end = T0 + 5 * 3600 + 600
    before = window.history(SPEC, end)
    window.roll_up(SPEC, end - 30)
    assert window.hours and min(window.buckets) >= hour_of(end - 30 - SPEC.size_s)
    assert window.history(SPEC, end) == before
    assert before.start == T0  # the scope's first bucket: five hours of history, not a day
    assert ScopeWindow.from_dict(json.loads(json.dumps(window.to_dict()))) == window


def test_hours_older_than_the_baseline_are_dropped() -> None:
    window = ScopeWindow()
    window.add(SPEC, Observation(T0, 1, "old"), None)
    window.roll_up(SPEC, T0 + SPEC.baseline_s + 2 * 3600)
    assert window.buckets == {} and window.hours == {}


def test_hostile_input_keeps_the_state_far_below_kafkas_message_limit() -> None:
    """60 complaints of 16 KB non-ASCII text, then 10,000 distinct ids, in one scope."""
    window = ScopeWindow()
    for n in range(60):
        window.add(SPEC, Observation(T0 + 60 * n, 1, f"long-{n}", "é€" * 8192), None)
    for n in range(10_000):
        window.add(SPEC, Observation(T0 + n % 3600, 1, f"id-{n}", "ø" * 300), None)
    stored = json.dumps(window.to_dict(), ensure_ascii=False).encode()
    assert len(stored) < 512_000
    assert all(len(text) <= SPEC.example_chars for es in window.examples.values() for _, text in es)
    assert sum(len(es) for es in window.examples.values()) <= SPEC.max_examples


def test_past_the_id_cap_the_oldest_ids_are_forgotten_first() -> None:
    spec = window_spec_from(Settings(alert_dedupe_max_ids=4))
    window = ScopeWindow()
    for n in range(6):
        window.add(spec, Observation(T0 + 30 * n, 0, f"t{n}"), None)
    assert sum(len(ids) for ids in window.seen.values()) == 4
    assert window.add(spec, Observation(T0 + 150, 0, "t5"), None) is Admission.DUPLICATE
    assert window.add(spec, Observation(T0, 0, "t0"), None) is Admission.COUNTED


def test_only_event_times_too_far_ahead_are_clamped_to_arrival() -> None:
    assert clamp_to_arrival(1000.0 + 300, 1000.0, 300) == 1300.0
    assert clamp_to_arrival(1000.0 + 301, 1000.0, 300) == 1000.0


def test_feedback_counts_each_reporters_complaints_once_whatever_the_tweets() -> None:
    window = ScopeWindow()
    reports = [
        Observation(T0 + n, True, f"tweet-{n}", reporter=user)
        for n, user in enumerate(["ann", "bob", "cat", "ann", "bob", "ann"])
    ]
    admitted = [window.add(SPEC, report, None) for report in reports]
    assert admitted == [Admission.COUNTED] * 3 + [Admission.DUPLICATE] * 3
    assert window.window(SPEC, T0 + 30).negatives == 3
    # a report that a prediction was right does not hide the same reporter's complaint
    praise = Observation(T0 + 9, False, "tweet-9", reporter="dan")
    complaint = Observation(T0 + 10, True, "tweet-10", reporter="dan")
    assert [window.add(SPEC, o, None) for o in (praise, complaint)] == [Admission.COUNTED] * 2
