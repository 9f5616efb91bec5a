"""Window arithmetic on event time, tested directly with hand-made timestamps."""

from stream.windows import Observation, ScopeWindow, WindowSpec

SPEC = WindowSpec(size_s=300, step_s=60, lateness_s=120, baseline_s=600, examples=2)
T0 = 1_700_000_040  # a bucket boundary: 1_700_000_040 % 60 == 0


def obs(t: float, negative: bool = True, tweet_id: str = "t") -> Observation:
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
    assert window.add(SPEC, obs(T0 + 500 - 120))  # exactly at the allowance
    assert not window.add(SPEC, obs(T0 + 500 - 121))
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
