"""Peer: a Quix Streams app doing the worker's job one message at a time, the natural
shape for its dataframe API. The model runs with batch 1 (input resized) so a message is
not padded to 64. Usage: python -m bench.quix_app RAW OUT GROUP (side venv; the broker and
its security come from the settings' environment)."""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime

from ai_edge_litert.interpreter import Interpreter
from quixstreams import Application
from quixstreams.kafka.configuration import ConnectionConfig

from model import SentimentModel
from schemas import Label, RawTweet, SentimentEvent
from stream.kafka import KafkaConnection
from stream.pipeline.intake import parse_tweet
from stream.settings import Settings

MAX_PAYLOAD = 16_384


class SingleScorer:
    """The bundle's model with a batch dimension of 1."""

    def __init__(self, model: SentimentModel) -> None:
        self.model = model
        self.interpreter = Interpreter(model_path=str(model.bundle / "model.tflite"))
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.interpreter.resize_tensor_input(self.input, [1, model.vocabulary.max_len])
        self.interpreter.allocate_tensors()

    def event(self, value: bytes) -> bytes | None:
        tweet = parse_tweet(value, MAX_PAYLOAD)
        if not isinstance(tweet, RawTweet):
            return None
        self.interpreter.set_tensor(self.input, self.model.vocabulary.encode([tweet.text]))
        self.interpreter.invoke()
        p = float(self.interpreter.get_tensor(self.output).reshape(-1)[0])
        now = datetime.now(UTC)
        return (
            SentimentEvent(
                tweet_id=tweet.id,
                label=Label.POSITIVE if p >= self.model.threshold else Label.NEGATIVE,
                p_positive=p,
                model_version=self.model.version,
                scored_at=now,
                event_time=tweet.created_at or now,
                created_at=tweet.created_at,
                brand=tweet.brand,
                text=tweet.text,
            )
            .model_dump_json()
            .encode()
        )


def main(raw: str, out: str, group: str) -> None:
    scorer = SingleScorer(SentimentModel.load())
    kafka = KafkaConnection.from_settings(Settings())
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(kafka.librdkafka()),
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        state_dir=tempfile.mkdtemp(prefix="quix-state-"),
        loglevel="WARNING",
    )
    source = app.topic(raw, value_deserializer="bytes", key_deserializer="bytes")
    sink = app.topic(out, value_serializer="bytes", key_serializer="bytes")
    sdf = app.dataframe(source).apply(scorer.event).filter(lambda value: value is not None)
    # Quix stamps outputs with the input's timestamp by default; stamp when it was scored.
    sdf = sdf.set_timestamp(lambda value, key, timestamp, headers: time.time_ns() // 1_000_000)
    sdf.to_topic(sink)
    app.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
