"""Model bundles as bytes on a compacted Kafka topic: packed, checksummed, cut in chunks
under the broker's default message size, and put back together and verified by a worker.

Why Kafka and not MLflow's artifact store: the workers already reach the brokers, with
their credentials and ACLs; the runtime needs no MLflow client, no artifact-store
credentials, no TensorFlow. A bundle's chunks (its size: docs/models.md) stay on the
compacted topic under keys of their own, so every version ever published can be fetched
again.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from model.bundle import read_metadata
from stream.kafka.compacted import passing, reader_group
from stream.kafka.connection import KafkaConnection
from stream.models.control import BundleRef

CHUNK_BYTES = 512 * 1024  # under the 1 MB a broker accepts by default, with room to spare
ROUTE_DEPTH = 2  # path parts of a sub-bundle's file: "fr/head.npz" (model/scorer.py routes)


class BundleRefused(Exception):
    """A bundle that cannot be served: missing chunks, wrong checksum, unreadable files."""


class BundleUnavailable(Exception):
    """A bundle not fetched for a passing reason (chunks not read in time, a broker away):
    worth fetching again later."""


def bundle_files(bundle: Path) -> list[Path]:
    """The bundle's files and its sub-bundles' (a language route's folder, one level down),
    relative to it, sorted."""
    return sorted(
        path.relative_to(bundle)
        for path in bundle.rglob("*")
        if path.is_file() and len(path.relative_to(bundle).parts) <= ROUTE_DEPTH
    )


def pack(bundle: Path) -> bytes:
    """The bundle's files as a tar, the same bytes for the same files (sorted, no times nor
    owners), so its sha256 names its content."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for relative in bundle_files(bundle):
            data = (bundle / relative).read_bytes()
            info = tarfile.TarInfo(relative.as_posix())
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks(data: bytes, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def chunk_key(version: str, digest: str, index: int) -> bytes:
    return f"{version}/{digest}/{index}".encode()


def verified(ref: BundleRef, data: bytes) -> bytes:
    if len(data) != ref.size or sha256(data) != ref.sha256:
        raise BundleRefused(
            f"{ref.version}: {len(data)} bytes with sha256 {sha256(data)[:12]}, "
            f"announced {ref.size} bytes with sha256 {ref.sha256[:12]}"
        )
    return data


def unpack(data: bytes, into: Path) -> Path:
    """The tar's files in `into` (replaced whole); only plain files, at the top or in a
    sub-bundle's folder one level down, no other paths."""
    into.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=into.parent, prefix=".unpacking-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar.getmembers():
                path = PurePosixPath(member.name)
                parts = path.parts
                if (
                    not member.isfile()
                    or not 1 <= len(parts) <= ROUTE_DEPTH
                    or path.is_absolute()
                    or any(part in (".", "..") for part in parts)
                ):
                    raise BundleRefused(f"unexpected entry {member.name!r} in the bundle")
                source = tar.extractfile(member)
                assert source is not None  # a regular file has content
                target = scratch.joinpath(*parts)
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(source.read())
        read_metadata(scratch)
        shutil.rmtree(into, ignore_errors=True)
        scratch.rename(into)
    except (tarfile.TarError, OSError, ValueError, KeyError) as exc:
        raise BundleRefused(f"unreadable bundle: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return into


def publish_bundle(kafka: KafkaConnection, topic: str, bundle: Path, timeout_s: float) -> BundleRef:
    """Writes the bundle's chunks to `topic`'s partition 0 and says where they are."""
    version = str(read_metadata(bundle)["version"])
    data = pack(bundle)
    digest = sha256(data)
    offsets: list[int] = []
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(error)
        else:
            offsets.append(message.offset() or 0)

    producer = Producer(kafka.librdkafka({"acks": "all", "enable.idempotence": True}))
    for index, chunk in enumerate(chunks(data)):
        producer.produce(topic, chunk, chunk_key(version, digest, index), 0, on_delivery=delivered)
        producer.poll(0)
    left = producer.flush(timeout_s)
    if failures or left:
        raise KafkaException(failures[0] if failures else KafkaError(KafkaError._TIMED_OUT))
    offsets.sort()
    if offsets != list(range(offsets[0], offsets[0] + len(offsets))):
        raise BundleRefused(f"{version}: chunks not consecutive on {topic}, publish it again")
    return BundleRef(version, digest, len(data), topic, 0, offsets[0], len(offsets))


def fetch_bundle(kafka: KafkaConnection, ref: BundleRef, timeout_s: float) -> bytes:
    """The bundle's bytes, read from where `ref` says and checked against its sha256."""
    consumer = Consumer(
        kafka.librdkafka({"group.id": reader_group(ref.topic), "enable.auto.commit": False})
    )
    parts: list[bytes] = []
    try:
        consumer.assign([TopicPartition(ref.topic, ref.partition, ref.offset)])
        deadline = time.monotonic() + timeout_s
        while len(parts) < ref.chunks:
            if time.monotonic() > deadline:
                raise BundleUnavailable(f"{ref.version}: {len(parts)} of {ref.chunks} chunks read")
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                failure = BundleUnavailable if passing(error) else BundleRefused
                raise failure(f"{ref.version}: {error}")
            expected = chunk_key(ref.version, ref.sha256, len(parts))
            if message.key() != expected:  # compacted away, or written over
                raise BundleRefused(f"{ref.version}: chunk {len(parts)} missing at {ref.location}")
            parts.append(message.value() or b"")
    finally:
        consumer.close()
    return verified(ref, b"".join(parts))
