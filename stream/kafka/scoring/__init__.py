"""`tweets.raw` on librdkafka: the scoring hot path, off Faust's per-message stream loop.

One thread (poll.py) owns a confluent-kafka consumer and its own producer: it takes a batch
of records, hands it to a synchronous batch handler (validate, score, build outputs, retry
and isolate a failing batch; no event loop; LiteRT runs without the GIL) and gives the
handled batch to a sender, which produces every output, dead letters included:

- at_least_once.py: outputs fly while the next batch is handled; a partition's offset is
  stored only once every output of every earlier batch is acknowledged;
- exactly_once.py: each batch is one Kafka transaction with its outputs and input offsets;
  a failed transaction rewinds the partitions.

config.py is the consumer's typed configuration (from Settings), batches.py what goes in and
comes out of a handler, handlers.py the pool that handles batches side by side in order, and
lag.py the raw partitions' lag, measured on an interval.
"""

from stream.kafka.scoring.batches import BatchHandler, BatchWork, HandledBatch, RejectedHandler
from stream.kafka.scoring.config import ScoringConfig
from stream.kafka.scoring.poll import ScoringConsumer

__all__ = [
    "BatchHandler",
    "BatchWork",
    "HandledBatch",
    "RejectedHandler",
    "ScoringConfig",
    "ScoringConsumer",
]
