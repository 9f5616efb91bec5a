"""The detect side's input clock: the slowest raw partition decides, idle ones do not hold."""

from stream.alerts.watermarks import FEEDBACK_SOURCE, InputClock, Mark, ScoredEventTimes


def clock_after(*updates: tuple[dict[str, Mark], float], partitions: int = 2) -> InputClock:
    clock = InputClock.empty()
    for marks, at in updates:
        clock.update(marks, partitions, at)
    return clock


def test_the_slowest_partition_decides_and_an_unheard_one_holds() -> None:
    assert clock_after(({"raw/0": Mark(100.0, False)}, 1000.0)).watermark(0) is None
    clock = clock_after(({"raw/0": Mark(100.0, False), "raw/1": Mark(40.0, False)}, 1000.0))
    assert clock.watermark(0) == 40.0


def test_watermarks_never_go_back() -> None:
    clock = clock_after(
        ({"raw/0": Mark(100.0, False), "raw/1": Mark(90.0, False)}, 1000.0),
        ({"raw/0": Mark(None, False), "raw/1": Mark(50.0, False)}, 1001.0),  # a new owner
    )
    assert clock.watermark(0) == 90.0


def test_an_idle_partition_follows_the_clock_from_its_newest_event() -> None:
    clock = clock_after(
        ({"raw/0": Mark(100.0, True), "raw/1": Mark(500.0, False)}, 1000.0),
        ({"raw/0": Mark(100.0, True), "raw/1": Mark(500.0, False)}, 1030.0),
    )
    assert clock.watermark(0) == 130.0  # nothing older than its newest can still come, but late
    assert clock.watermark(10) == 120.0  # idle for 30 s, after a 10 s grace


def test_idleness_counts_from_when_the_partition_was_last_busy() -> None:
    clock = clock_after(
        ({"raw/0": Mark(100.0, False), "raw/1": Mark(500.0, False)}, 1000.0),
        ({"raw/0": Mark(100.0, False), "raw/1": Mark(500.0, False)}, 1020.0),  # a backlog
        ({"raw/0": Mark(100.0, True), "raw/1": Mark(500.0, False)}, 1030.0),
    )
    assert clock.watermark(0) == 110.0


def test_an_idle_partition_that_never_had_an_event_does_not_hold_the_others() -> None:
    clock = clock_after(({"raw/0": Mark(None, True), "raw/1": Mark(70.0, False)}, 1000.0))
    assert clock.watermark(0) == 70.0


def test_with_no_tweet_at_all_feedback_keeps_time() -> None:
    clock = clock_after(
        ({"raw/0": Mark(None, True), "raw/1": Mark(None, True)}, 1000.0),
        ({FEEDBACK_SOURCE: Mark(900.0, True)}, 1000.0),
        ({"raw/0": Mark(None, True), "raw/1": Mark(None, True)}, 1060.0),
    )
    assert clock.watermark(0) == 960.0


def test_the_clock_round_trips() -> None:
    clock = clock_after(({"raw/0": Mark(100.0, True), "raw/1": Mark(5.0, False)}, 1000.0))
    assert InputClock.from_dict(clock.to_dict()) == clock


def test_the_scoring_side_marks_what_it_reads_and_what_it_scored() -> None:
    times = ScoredEventTimes()
    times.observe("raw/0", 10.0)
    times.observe("raw/0", 5.0)
    assert times.marks(["raw/1"], {"raw/1"}) == {
        "raw/0": Mark(10.0, False),
        "raw/1": Mark(None, True),
    }
