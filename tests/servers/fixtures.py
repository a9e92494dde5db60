"""pytest fixtures for the emulators; under CI=true a server that cannot start is a failure, not a skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.servers.processes import Server, ServerUnavailable, start_bigquery, start_pubsub

PROJECT = "streamlake-test"


def _unavailable(what: str, e: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} could not start: {e}")
    pytest.skip(f"{what} unavailable: {e}")


@pytest.fixture(scope="session")
def pubsub_server() -> Iterator[Server]:
    try:
        server = start_pubsub()
    except ServerUnavailable as e:
        _unavailable("Pub/Sub emulator", e)
        raise
    yield server
    server.stop()


@pytest.fixture
def bigquery_server() -> Iterator[Server]:
    """A fresh bqemulator per test: it keeps a snapshot per write, so memory grows with every call."""
    try:
        server = start_bigquery(PROJECT)
    except ServerUnavailable as e:
        _unavailable("bqemulator", e)
        raise
    yield server
    server.stop()


@dataclass
class Cloud:
    """Clients and unique resource names on the emulators for one test."""

    pubsub_host: str
    bigquery_host: str
    bigquery_grpc_host: str
    suffix: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "PUBSUB_EMULATOR_HOST": self.pubsub_host,
            "BIGQUERY_EMULATOR_HOST": self.bigquery_host,
            "BIGQUERY_STORAGE_EMULATOR_HOST": self.bigquery_grpc_host,
        }

    def name(self, kind: str) -> str:
        return f"{kind}-{self.suffix}"

    def topic(self, kind: str = "events") -> str:
        return f"projects/{PROJECT}/topics/{self.name(kind)}"

    def subscription(self, kind: str = "events") -> str:
        return f"projects/{PROJECT}/subscriptions/{self.name(kind)}"

    def publisher(self) -> Any:
        from google.cloud import pubsub_v1

        return pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=1000, max_bytes=5_000_000, max_latency=0.05)
        )

    def subscriber(self) -> Any:
        """A subscriber client on the emulator that can receive messages up to Pub/Sub's 10 MB (the client's
        default limit is 4 MB)."""
        import grpc
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        channel = grpc.insecure_channel(self.pubsub_host, options=[("grpc.max_receive_message_length", 64 << 20)])
        return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))

    def create_topic_and_subscription(self, kind: str = "events", ack_deadline: int = 60) -> tuple[str, str]:
        self.publisher().create_topic(name=self.topic(kind))
        self.subscriber().create_subscription(
            name=self.subscription(kind), topic=self.topic(kind), ack_deadline_seconds=ack_deadline
        )
        return self.topic(kind), self.subscription(kind)

    def bigquery(self) -> Any:
        from streamlake_fast.transports.gcp.channels import bigquery_client

        return bigquery_client(PROJECT)

    def create_table(self, fields: list[dict[str, Any]], name: str = "receipts") -> str:
        from google.cloud import bigquery

        client = self.bigquery()
        dataset = f"ds_{self.suffix.replace('-', '_')}"
        client.create_dataset(dataset, exists_ok=True)
        table = f"{PROJECT}.{dataset}.{name}"
        client.create_table(bigquery.Table(table, schema=[bigquery.SchemaField.from_api_repr(f) for f in fields]))
        return table


@pytest.fixture
def cloud(pubsub_server: Server, bigquery_server: Server, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    c = Cloud(pubsub_server.host, bigquery_server.host, bigquery_server.extra_host, uuid.uuid4().hex[:8])
    for k, v in c.env.items():
        monkeypatch.setenv(k, v)
    return c


@pytest.fixture
def pubsub_only(pubsub_server: Server, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """Pub/Sub alone (no bqemulator start): for the publisher and lake-only workers."""
    c = Cloud(pubsub_server.host, "", "", uuid.uuid4().hex[:8])
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", c.pubsub_host)
    return c
