"""The Faust application object: transport and commit settings live here, agents elsewhere."""

from __future__ import annotations

import faust

from stream.kafka import KafkaConnection
from stream.kafka.faust_transport import Transport, UndecodableHandler
from stream.settings import Settings


def create_app(
    settings: Settings, kafka: KafkaConnection, on_undecodable: UndecodableHandler
) -> faust.App:
    """A Faust app that treats every payload as raw bytes, so decoding errors are ours to
    dead-letter instead of Faust's to log and skip; a record batch its consumer cannot
    decode goes to `on_undecodable` (stream/kafka/faust_transport.py). No agent runs on the
    leader only, so the leader-election topic is off: one internal topic (and Create ACL)
    fewer."""
    app = faust.App(
        settings.app_id,
        broker=kafka.faust_broker_url,
        broker_credentials=kafka.faust_credentials(),
        topic_disable_leader=True,
        autodiscover=False,
        datadir=str(settings.data_dir),
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 4,
        web_enabled=True,
        web_bind=settings.web_host,  # web_host only names the URL; web_bind is the listen address
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        web_application_options={"client_max_size": settings.web_max_body_bytes},
        web_router_enabled=False,  # Faust's table router and table reader: unused, and they
        web_tables_enabled=False,  # would publish the cluster layout to anyone on the port
    )
    app.transport = Transport(app.conf.broker_consumer, app, on_undecodable)
    return app


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw")
