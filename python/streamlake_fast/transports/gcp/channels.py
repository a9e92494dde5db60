"""Cloud clients that honour the local emulators.

With ``PUBSUB_EMULATOR_HOST``, ``BIGQUERY_EMULATOR_HOST`` (REST, host:port) and ``BIGQUERY_STORAGE_EMULATOR_HOST``
(gRPC, host:port) set, every client talks to those endpoints with anonymous credentials over plain connections;
unset, Google's normal credentials chain and TLS apply.
"""

from __future__ import annotations

import os
from typing import Any

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.extras import needs_extra

with needs_extra():  # the gcp extra
    import grpc

__all__ = [
    "EMULATOR_HOSTS",
    "RETRYABLE_CODES",
    "bigquery_client",
    "bigquery_write_client",
    "check_endpoints",
    "is_retryable",
    "pubsub_channel",
    "status_code",
]

#: gRPC status codes worth retrying with backoff (Pub/Sub and BigQuery calls alike).
RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNKNOWN,
    }
)


def check_endpoints(services: list[str], *, allow_mixed: bool = False) -> list[str]:
    """One line per service saying where its client connects (and how); raises :class:`ConfigError` when some of
    ``services`` would talk to an emulator (plaintext, no credentials) and others to Google, unless
    ``allow_mixed`` — a stray ``*_EMULATOR_HOST`` must not send real events in plaintext."""
    emulated = [s for s in services if os.environ.get(EMULATOR_HOSTS[s])]
    if emulated and len(emulated) != len(services) and not allow_mixed:
        real = [s for s in services if s not in emulated]
        raise ConfigError(
            f"{' and '.join(EMULATOR_HOSTS[s] for s in emulated)} set but not "
            f"{' and '.join(EMULATOR_HOSTS[s] for s in real)}: {', '.join(emulated)} would use an emulator "
            f"(plaintext, no credentials) and {', '.join(real)} Google; set all or none (or allow_mixed_endpoints)"
        )
    lines = []
    for s in services:
        host = os.environ.get(EMULATOR_HOSTS[s])
        where = f"emulator at {host} (plaintext, anonymous)" if host else f"{_REAL_HOSTS[s]} (TLS, Google credentials)"
        lines.append(f"{s}: {where}")
    return lines


def is_retryable(e: BaseException) -> bool:
    """A gRPC or Google API error whose status is in :data:`RETRYABLE_CODES`."""
    if isinstance(e, grpc.RpcError) and hasattr(e, "code"):
        return e.code() in RETRYABLE_CODES
    code = getattr(e, "grpc_status_code", None)  # google.api_core.exceptions.GoogleAPICallError
    return code in RETRYABLE_CODES


def status_code(value: int) -> grpc.StatusCode | None:
    """The gRPC status for a ``google.rpc.Code`` number."""
    return next((c for c in grpc.StatusCode if c.value[0] == value), None)


_PUBSUB_HOST = "pubsub.googleapis.com:443"
_BIGQUERY_STORAGE_HOST = "bigquerystorage.googleapis.com:443"
#: The environment variable that points each service's client at a local emulator.
EMULATOR_HOSTS = {
    "Pub/Sub": "PUBSUB_EMULATOR_HOST",
    "BigQuery": "BIGQUERY_EMULATOR_HOST",
    "BigQuery Storage Write": "BIGQUERY_STORAGE_EMULATOR_HOST",
}
_REAL_HOSTS = {
    "Pub/Sub": _PUBSUB_HOST,
    "BigQuery": "bigquery.googleapis.com:443",
    "BigQuery Storage Write": _BIGQUERY_STORAGE_HOST,
}


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
    import google.auth.exceptions
    import google.auth.transport.grpc
    import google.auth.transport.requests

    try:
        credentials, _ = google.auth.default(scopes=scopes)
    except google.auth.exceptions.DefaultCredentialsError as e:
        raise ConfigError(
            f"no Google credentials for {target} (run `gcloud auth application-default login`, or point "
            "PUBSUB_EMULATOR_HOST / BIGQUERY_*_EMULATOR_HOST at local emulators)"
        ) from e
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
