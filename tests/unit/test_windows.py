"""Window arithmetic on event time, tested directly with hand-made timestamps."""

import json

from stream.alerts.windows import Admission, Observation, ScopeWindow, WindowSpec, clamp_to_arrival

SPEC = WindowSpec(size_s=300, step_s=60, lateness_s=120, baseline_s=600, examples=2)
T0 = 1_700_000_040  # a bucket boundary: 1_700_000_040 % 60 == 0


def obs(t: float, negative: bool = True, tweet_id: str | None = None) -> Observation:
    """A distinct tweet per time unless an id is given."""
    tweet_id = tweet_id or f"at-{t}"
    return Observation(t=t, negative=negative, tweet_id=tweet_id, text=f"text {tweet_id}")


def test_bucket_boundaries_belong_to_the_later_bucket() -> None:
    assert T0 % 60 == 0
    assert SPEC.bucket_of(T0) == T0
    assert SPEC.bucket_of(T0 - 0.001) == T0 - 60
    assert SPEC.bucket_of(T0 + 59.999) == T0


def test_window_covers_exactly_size_seconds_ending_with_the_newest_bucket() -> None:
    window = ScopeWindow()
    window.add(SPEC, obs(T0 - 300))  # one bucket too old for the window ending at T0+60
    window.add(SPEC, obs(T0 - 240, tweet_id="a"))  # first bucket of the window
    window.add(SPEC, obs(T0 + 30, negative=False))
    current = window.current(SPEC)
    assert (current.start, current.end) == (T0 - 240, T0 + 60)
    assert (current.negatives, current.total) == (1, 2)
    assert current.share == 0.5
    assert current.examples == (("a", "text a"),)


def test_late_events_inside_the_allowance_count_and_older_ones_are_dropped() -> None:
    window = ScopeWindow()
    window.add(SPEC, obs(T0 + 500))
    assert window.add(SPEC, obs(T0 + 500 - 120)) is Admission.COUNTED  # exactly at the allowance
    assert window.add(SPEC, obs(T0 + 500 - 121)) is Admission.LATE
    assert window.dropped_late == 1
    assert window.current(SPEC).total == 2
    assert window.watermark == T0 + 500  # a late event never moves time backwards


def test_baseline_is_the_period_just_before_the_window() -> None:
    window = ScopeWindow()
    for minute in range(15):
        window.add(SPEC, obs(T0 + 60 * minute, negative=minute >= 10))
    current, baseline = window.current(SPEC), window.baseline(SPEC)
    assert baseline.end == current.start
    assert baseline.end - baseline.start == SPEC.baseline_s
    assert (current.negatives, current.total) == (5, 5)
    assert (baseline.negatives, baseline.total) == (0, 10)


def test_old_buckets_are_pruned_and_state_round_trips() -> None:
    window = ScopeWindow()
    window.add(SPEC, obs(T0))
    window.add(SPEC, obs(T0 + 5_000, tweet_id="b"))
    assert set(window.buckets) == {SPEC.bucket_of(T0 + 5_000)}
    restored = ScopeWindow.from_dict(window.to_dict())
    assert restored == window
    assert ScopeWindow.from_dict(ScopeWindow().to_dict()) == ScopeWindow()


def test_examples_are_capped_per_bucket() -> None:
    window = ScopeWindow()
    for n in range(5):
        window.add(SPEC, obs(T0 + n, tweet_id=str(n)))
    assert [tweet_id for tweet_id, _ in window.current(SPEC).examples] == ["0", "1"]


def test_each_tweet_id_counts_once_even_with_another_time() -> None:
    window = ScopeWindow()
    assert window.add(SPEC, obs(T0, tweet_id="a")) is Admission.COUNTED
    assert window.add(SPEC, obs(T0, tweet_id="a")) is Admission.DUPLICATE
    # re-sent without created_at: the Kafka timestamp of the copy is later
    assert window.add(SPEC, obs(T0 + 90, tweet_id="a")) is Admission.DUPLICATE
    assert window.add(SPEC, obs(T0, tweet_id="b")) is Admission.COUNTED
    assert (window.current(SPEC).negatives, window.current(SPEC).total) == (2, 2)


def test_a_duplicate_is_not_reported_late_when_a_signal_is_applied_again() -> None:
    window = ScopeWindow()
    signal = [obs(T0), obs(T0 + 200)]  # the second moves the watermark past the first's allowance
    assert [window.add(SPEC, o) for o in signal] == [Admission.COUNTED, Admission.COUNTED]
    assert [window.add(SPEC, o) for o in signal] == [Admission.DUPLICATE, Admission.DUPLICATE]
    assert window.dropped_late == 0


def test_feedback_counts_each_reporters_complaints_once_whatever_the_tweets() -> None:
    window = ScopeWindow()
    reports = [
        Observation(T0 + n, True, f"tweet-{n}", reporter=user)
        for n, user in enumerate(["ann", "bob", "cat", "ann", "bob", "ann"])
    ]
    admitted = [window.add(SPEC, report) for report in reports]
    assert admitted == [Admission.COUNTED] * 3 + [Admission.DUPLICATE] * 3
    assert window.current(SPEC).negatives == 3
    # a report that a prediction was right does not hide the same reporter's complaint
    praise = Observation(T0 + 9, False, "tweet-9", reporter="dan")
    complaint = Observation(T0 + 10, True, "tweet-10", reporter="dan")
    assert [window.add(SPEC, o) for o in (praise, complaint)] == [Admission.COUNTED] * 2


def test_ids_are_forgotten_once_a_copy_would_be_late_anyway() -> None:
    window = ScopeWindow()
    window.add(SPEC, obs(T0, tweet_id="old"))
    # the watermark moves past the window and the lateness allowance of the first bucket
    window.add(SPEC, obs(T0 + SPEC.dedupe_s + SPEC.step_s, tweet_id="new"))
    assert set(window.seen) == {T0 + SPEC.dedupe_s + SPEC.step_s}
    assert window.add(SPEC, obs(T0, tweet_id="old")) is Admission.LATE
    # ids still inside window + lateness are kept
    window.add(SPEC, obs(T0 + SPEC.dedupe_s + 2 * SPEC.step_s, tweet_id="newer"))
    assert window.add(SPEC, obs(T0 + 1_000, tweet_id="new")) is Admission.DUPLICATE


def test_remembered_ids_survive_a_round_trip_and_states_without_them_still_load() -> None:
    window = ScopeWindow()
    for n in range(50):
        window.add(SPEC, obs(T0 + n, tweet_id=f"id-{n}"))
    restored = ScopeWindow.from_dict(json.loads(json.dumps(window.to_dict())))
    assert restored == window
    assert restored.add(SPEC, obs(T0 + 7, tweet_id="id-7")) is Admission.DUPLICATE
    written_before_dedupe = {k: v for k, v in window.to_dict().items() if k != "seen"}
    assert ScopeWindow.from_dict(written_before_dedupe).seen == {}


def test_state_of_a_big_brand_stays_far_below_the_kafka_message_limit() -> None:
    """500 tweets/min for as long as ids are kept (window + lateness), all negative so the
    examples are full too: the state written to the compacted topic on each signal."""
    spec = WindowSpec()  # the defaults: 300 s window, 120 s lateness, 30 s steps
    window = ScopeWindow()
    per_s = 500 / 60
    seconds = spec.dedupe_s + 2 * spec.step_s
    for n in range(int(seconds * per_s)):
        window.add(spec, Observation(T0 + n / per_s, True, f"{10**18 + n}", "x" * 280))
    kept = sum(len(ids) for ids in window.seen.values())
    assert kept <= (spec.dedupe_s + spec.step_s) * per_s
    size = len(json.dumps(window.to_dict()).encode())
    assert size < 64_000, size  # the broker's default message limit is 1 MB


def test_only_event_times_too_far_ahead_are_clamped_to_arrival() -> None:
    assert clamp_to_arrival(T0 + 300, arrival_t=T0, max_ahead_s=300) == T0 + 300
    assert clamp_to_arrival(T0 + 301, arrival_t=T0, max_ahead_s=300) == T0
    assert clamp_to_arrival(T0 - 86_400, arrival_t=T0, max_ahead_s=300) == T0 - 86_400


def test_a_future_watermark_is_moved_back_to_the_newest_bucket_not_ahead() -> None:
    future = SPEC.bucket_of(2_100_000_000)  # 2036
    window = ScopeWindow(
        buckets={T0: [1, 1], future: [1, 1]},
        examples={T0: [["real", "x"]], future: [["2036", "x"]]},
        watermark=2_100_000_000,
        seen={T0: {obs(T0, tweet_id="real").digest}, future: {obs(0, tweet_id="2036").digest}},
    )
    assert window.drop_future(SPEC, limit_t=T0 + 300)
    assert window.watermark == T0
    assert set(window.buckets) == set(window.examples) == set(window.seen) == {T0}
    assert not window.drop_future(SPEC, limit_t=T0 + 300)
    assert window.add(SPEC, obs(T0 + 30)) is Admission.COUNTED


def test_past_the_id_cap_the_oldest_ids_are_forgotten_first() -> None:
    spec = WindowSpec(size_s=300, step_s=60, lateness_s=120, max_ids=4)
    window = ScopeWindow()
    for n, t in enumerate([T0, T0 + 1, T0 + 60, T0 + 61, T0 + 120]):
        window.add(spec, obs(t, tweet_id=f"id-{n}"))
    assert {b: len(ids) for b, ids in window.seen.items()} == {T0 + 60: 2, T0 + 120: 1}
    assert window.add(spec, obs(T0 + 60, tweet_id="id-2")) is Admission.DUPLICATE
    assert window.add(spec, obs(T0, tweet_id="id-0")) is Admission.COUNTED  # forgotten
    for n in range(3):  # newer ids push older buckets out, never past the cap
        window.add(spec, obs(T0 + 180, tweet_id=f"burst-{n}"))
    assert sum(len(ids) for ids in window.seen.values()) == 4
