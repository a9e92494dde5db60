"""Cloud clients that honour the local emulators.

With ``PUBSUB_EMULATOR_HOST``, ``BIGQUERY_EMULATOR_HOST`` (REST, host:port) and ``BIGQUERY_STORAGE_EMULATOR_HOST``
(gRPC, host:port) set, every client talks to those endpoints with anonymous credentials over plain connections;
unset, Google's normal credentials chain and TLS apply.
"""

from __future__ import annotations

import os
from typing import Any

import grpc

__all__ = ["RETRYABLE_CODES", "bigquery_client", "bigquery_write_client", "pubsub_channel", "pubsub_publisher"]

#: gRPC status codes worth retrying with backoff on Pub/Sub calls.
RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNKNOWN,
    }
)
_PUBSUB_HOST = "pubsub.googleapis.com:443"
_BIGQUERY_STORAGE_HOST = "bigquerystorage.googleapis.com:443"
_GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
    ("grpc.keepalive_time_ms", 30_000),
    # Reconnect within seconds after an outage (gRPC's default backoff grows to two minutes).
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]


def _secure_channel(target: str, scopes: list[str]) -> grpc.Channel:
    import google.auth
    import google.auth.transport.grpc
    import google.auth.transport.requests

    credentials, _ = google.auth.default(scopes=scopes)
    request = google.auth.transport.requests.Request()
    channel: grpc.Channel = google.auth.transport.grpc.secure_authorized_channel(
        credentials, request, target, options=_GRPC_OPTIONS
    )
    return channel


def pubsub_channel() -> grpc.Channel:
    """A gRPC channel to Pub/Sub (or its emulator)."""
    emulator = os.environ.get("PUBSUB_EMULATOR_HOST")
    if emulator:
        return grpc.insecure_channel(emulator, options=_GRPC_OPTIONS)
    return _secure_channel(_PUBSUB_HOST, ["https://www.googleapis.com/auth/pubsub"])


def pubsub_publisher(**batch_settings: Any) -> Any:
    """A ``google.cloud.pubsub_v1.PublisherClient`` (the client honours ``PUBSUB_EMULATOR_HOST`` itself)."""
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    settings = pubsub_v1.types.BatchSettings(**batch_settings) if batch_settings else pubsub_v1.types.BatchSettings()
    return pubsub_v1.PublisherClient(batch_settings=settings)


def bigquery_client(project: str) -> Any:
    """A ``google.cloud.bigquery.Client`` for ``project`` (or the emulator's REST endpoint)."""
    from google.cloud import bigquery

    emulator = os.environ.get("BIGQUERY_EMULATOR_HOST")
    if emulator:
        from google.auth.credentials import AnonymousCredentials

        endpoint = emulator if emulator.startswith("http") else f"http://{emulator}"
        return bigquery.Client(
            project=project, credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint}
        )
    return bigquery.Client(project=project)


def bigquery_write_client() -> Any:
    """A ``BigQueryWriteClient`` for the Storage Write API (or the emulator's gRPC endpoint)."""
    from google.cloud.bigquery_storage_v1 import BigQueryWriteClient
    from google.cloud.bigquery_storage_v1.services.big_query_write.transports import BigQueryWriteGrpcTransport

    emulator = os.environ.get("BIGQUERY_STORAGE_EMULATOR_HOST")
    if emulator:
        channel = grpc.insecure_channel(emulator, options=_GRPC_OPTIONS)
    else:
        channel = _secure_channel(_BIGQUERY_STORAGE_HOST, ["https://www.googleapis.com/auth/bigquery"])
    return BigQueryWriteClient(transport=BigQueryWriteGrpcTransport(channel=channel))
