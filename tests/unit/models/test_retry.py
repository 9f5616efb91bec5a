"""A bundle whose fetch failed for a passing reason is tried again after a doubling wait,
while it is named."""

from __future__ import annotations

from stream.models.retry import FetchRetries
from tests.unit.models.conftest import Clock

BUNDLE = ("v2", "abc")


def test_the_wait_doubles_up_to_its_cap_and_a_success_forgets_it() -> None:
    clock = Clock()
    retries = FetchRetries(first_s=5, max_s=12, clock=clock)
    assert [retries.failed(BUNDLE) for _ in range(4)] == [5, 10, 12, 12]
    assert retries.waiting(BUNDLE) and not retries.due({BUNDLE})
    clock.now += 12
    assert not retries.waiting(BUNDLE) and retries.due({BUNDLE})
    retries.forget(BUNDLE)
    assert retries.failed(BUNDLE) == 5  # counting from the start again


def test_a_version_no_longer_named_is_not_tried_again() -> None:
    clock = Clock()
    retries = FetchRetries(first_s=5, max_s=60, clock=clock)
    retries.failed(BUNDLE)
    clock.now += 5
    assert not retries.due({("v3", "def")})  # v2 is neither champion nor challenger any more
    assert not retries.due({BUNDLE}) and not retries.waiting(BUNDLE)  # and was forgotten


def test_a_version_published_again_with_other_bytes_drops_the_old_bytes_retry() -> None:
    clock = Clock()
    retries = FetchRetries(first_s=5, max_s=60, clock=clock)
    retries.failed(BUNDLE)
    clock.now += 5
    assert not retries.due({("v2", "fixed")})  # the old bytes are no longer asked for
    assert not retries.due({BUNDLE}) and not retries.waiting(BUNDLE)
