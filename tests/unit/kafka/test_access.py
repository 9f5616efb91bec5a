"""Start-up against Kafka: which errors are a refusal (exit now) and which a cluster that
cannot answer yet (wait), and how the wait is paced and bounded."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from structlog.testing import capture_logs

from stream.kafka import KafkaAccessError, KafkaConnection, KafkaNotReady
from stream.kafka.access import is_refusal, is_retriable, raise_connection_failure, until_ready

KAFKA = KafkaConnection("127.0.0.1:9092")

WARM_UP = [
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_CONTROLLER,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT,
    KafkaError.REQUEST_TIMED_OUT,
]
REFUSALS = [
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._SSL,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
]


@pytest.mark.parametrize("code", WARM_UP)
def test_a_warming_cluster_is_retried_not_refused(code: int) -> None:
    error = KafkaError(code)  # as admin results carry them: without the retriable flag
    assert not is_refusal(error)
    assert is_retriable(error)
    with pytest.raises(KafkaNotReady) as raised:
        raise_connection_failure([], KAFKA, KafkaException(error))
    assert raised.value.error.code() == code


@pytest.mark.parametrize("code", REFUSALS)
def test_authentication_tls_and_authorisation_failures_are_refusals(code: int) -> None:
    error = KafkaError(code, "refused", retriable=True)  # even when flagged retriable
    assert is_refusal(error)
    assert not is_retriable(error)
    with pytest.raises(KafkaAccessError):
        raise_connection_failure([], KAFKA, KafkaException(error))


def test_a_transport_error_that_says_the_handshake_failed_is_a_refusal() -> None:
    error = KafkaError(KafkaError._TRANSPORT, "SSL handshake failed: certificate verify failed")
    assert is_refusal(error)


def test_the_client_flag_makes_an_unlisted_error_retriable() -> None:
    assert is_retriable(KafkaError(KafkaError.UNSTABLE_OFFSET_COMMIT, "x", retriable=True))
    assert not is_retriable(KafkaError(KafkaError.INVALID_CONFIG))


def test_a_timeout_waiting_for_an_answer_is_not_ready() -> None:
    with pytest.raises(KafkaNotReady) as raised:
        raise_connection_failure([], KAFKA, TimeoutError())
    assert raised.value.error.code() == KafkaError._TIMED_OUT


def test_a_refusal_seen_by_the_error_callback_wins() -> None:
    with pytest.raises(KafkaAccessError, match="wrong password"):
        raise_connection_failure(
            ["wrong password"], KAFKA, KafkaException(KafkaError(KafkaError._TRANSPORT))
        )


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "ready"

    return calls, attempt


def test_not_ready_is_retried_with_growing_pauses_until_it_answers() -> None:
    time = FakeTime()
    calls, attempt = failing(5, KafkaNotReady(KafkaError(KafkaError.NOT_COORDINATOR)))
    with capture_logs() as logs:
        result = until_ready(attempt, 60, clock=time.clock, sleep=time.sleep, max_delay_s=4)
    assert result == "ready"
    assert len(calls) == 6
    assert time.pauses == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [(line["event"], line["error"], line["retriable"]) for line in logs] == [
        ("kafka_not_ready", "NOT_COORDINATOR", True)
    ] * 5


def test_not_ready_past_the_timeout_raises_the_last_error() -> None:
    time = FakeTime()
    error = KafkaNotReady(KafkaError(KafkaError.COORDINATOR_NOT_AVAILABLE))
    calls, attempt = failing(1_000, error)
    with pytest.raises(KafkaNotReady):
        until_ready(attempt, 10, clock=time.clock, sleep=time.sleep)
    assert time.now == pytest.approx(10)  # the last pause is cut to the deadline
    assert len(calls) > 3


def test_a_refusal_is_raised_at_once() -> None:
    time = FakeTime()
    calls, attempt = failing(1, KafkaAccessError("no ACL"))
    with pytest.raises(KafkaAccessError):
        until_ready(attempt, 60, clock=time.clock, sleep=time.sleep)
    assert len(calls) == 1 and time.pauses == []
