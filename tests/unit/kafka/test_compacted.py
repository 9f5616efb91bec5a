"""Which errors a compacted-topic reader waits out: a moment's trouble, never a refusal."""

from confluent_kafka import KafkaError

from stream.kafka.compacted import passing


def test_a_broker_away_or_a_topic_being_created_is_waited_out_a_refusal_is_not() -> None:
    for code in (
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError._UNKNOWN_PARTITION,
    ):
        assert passing(KafkaError(code)), code
    for code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.SASL_AUTHENTICATION_FAILED):
        assert not passing(KafkaError(code)), code
