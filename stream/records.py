"""The records that cross between Kafka and the pipeline, free of any client's types: what
was consumed, what could not be decoded, and what is to be produced."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The parts of a consumed Kafka message that processing needs."""

    topic: str
    partition: int
    offset: int
    timestamp: float | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class UndecodableBatch:
    """A fetched record batch the consumer could not decode (codec missing, corrupt data)."""

    topic: str
    partition: int
    first_offset: int
    last_offset: int
    error: Exception


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to produce; `inputs` are the consumed records it was made from, to be
    dead-lettered if Kafka refuses it for good (too large, invalid)."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int = -1  # librdkafka's "unassigned": the key's hash chooses
    inputs: tuple[RawRecord, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(
        cls,
        topic: str,
        key: str | None,
        message: BaseModel,
        inputs: tuple[RawRecord, ...] = (),
    ) -> Outgoing:
        """A schema message as JSON, keyed by a string."""
        value = message.model_dump_json().encode()
        return cls(topic, None if key is None else key.encode(), value, inputs=inputs)
