"""What a run moved and called, counted as the services bill it, and its cost in dollars per million events next
to what the same events would cost through Pub/Sub's BigQuery and Cloud Storage subscriptions.

Counted: Pub/Sub delivery — each message's data, attribute keys and values, 20 bytes of timestamp and message id,
at least :data:`MIN_REQUEST_BYTES` per pull (a delivery is one pull); SQS requests — a receive per 64 KiB of payload
and a delete per ten messages; BigQuery Storage Write — the Arrow bytes appended; object writes — the lake's files
on GCS or S3 (local disk costs nothing here); compute — the process's CPU seconds. The managed path bills every
event as a plain message (its bytes counted the same way) once per export subscription, for the destinations this
run wrote (BigQuery, the lake).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamlake_fast.cost.prices import Prices

__all__ = ["Cost", "Usage", "transport_of"]

TIB, GIB = float(1 << 40), float(1 << 30)
#: Pub/Sub bills at least this many bytes per publish, pull or push request; SQS a request per 64 KiB of payload.
MIN_REQUEST_BYTES, SQS_CHUNK = 1000, 64 << 10


def transport_of(source: str) -> str:
    """``"pubsub"`` for a subscription (``projects/P/subscriptions/S``), ``"sqs"`` for a queue URL, else ``""``."""
    return "pubsub" if source.startswith("projects/") else "sqs" if source.startswith(("http://", "https://")) else ""


@dataclass
class Cost:
    """Dollars by service, and the managed path's for the same events."""

    events: int
    services: dict[str, float]
    managed: float

    @property
    def total(self) -> float:
        return sum(self.services.values())

    def per_million(self, dollars: float) -> float:
        return dollars / self.events * 1e6 if self.events else 0.0

    def line(self) -> str:
        parts = " · ".join(f"{name} {self.per_million(d):.4f}" for name, d in self.services.items() if d)
        ratio = f" ({self.managed / self.total:.1f} times this)" if self.total > 0 else ""
        return (f"cost: ${self.per_million(self.total):.4f} per million events ({parts or 'nothing billed'}); "
                f"through Pub/Sub's export subscriptions: ${self.per_million(self.managed):.4f}{ratio}")  # fmt: skip


@dataclass
class Usage:
    """Counters of what a run was billed for (see the module)."""

    events: int = 0
    pubsub_requests: int = 0
    pubsub_bytes: int = 0  # the messages' billed bytes
    pubsub_billed: int = 0  # with each pull's minimum
    plain_bytes: int = 0  # the events' billed bytes as plain messages (the managed path's)
    sqs_requests: int = 0
    storage_write_bytes: int = 0
    gcs_writes: int = 0
    s3_writes: int = 0
    cpu_seconds: float = 0.0
    destinations: set[str] = field(default_factory=set)  # the kinds written: bigquery, lake, iceberg

    def wrote(self, sink: str, arrow_bytes: int) -> None:
        """A batch of ``arrow_bytes`` handed to the sink named ``sink`` (``bigquery:…``, ``lake:…``, …)."""
        kind = sink.partition(":")[0]
        self.destinations.add(kind)
        if kind == "bigquery":
            self.storage_write_bytes += arrow_bytes

    def files(self, sink: str, n: int) -> None:
        """``n`` files the sink named ``sink`` wrote (objects, on GCS or S3)."""
        where = sink.partition(":")[2]
        if where.startswith("gs://"):
            self.gcs_writes += n
        elif where.startswith("s3://"):
            self.s3_writes += n

    def request(self, billed_bytes: int) -> None:
        """One Pub/Sub publish, pull or push request of messages of ``billed_bytes``."""
        self.pubsub_requests += 1
        self.pubsub_bytes += billed_bytes
        self.pubsub_billed += max(billed_bytes, MIN_REQUEST_BYTES)

    def sent_sqs(self, request_bytes: int) -> None:
        """One ``SendMessageBatch`` of ``request_bytes``: a request per 64 KiB."""
        self.sqs_requests += max(1, -(-request_bytes // SQS_CHUNK))

    def received_sqs(self, messages: int, payload_bytes: int) -> None:
        """One SQS receive of ``messages`` (``payload_bytes`` of them), and their deletes in batches of ten."""
        self.sqs_requests += max(1, -(-payload_bytes // SQS_CHUNK)) + -(-messages // 10)

    @property
    def export_subscriptions(self) -> int:
        """The managed path's subscriptions for what this run wrote: a BigQuery one, a Cloud Storage one."""
        return ("bigquery" in self.destinations) + bool(self.destinations & {"lake", "iceberg"})

    def cost(self, prices: Prices, *, export_subscriptions: int | None = None) -> Cost:
        """Dollars by service (``export_subscriptions``: the managed path's; default those this run wrote)."""
        if export_subscriptions is None:
            export_subscriptions = self.export_subscriptions
        services = {
            "Pub/Sub": self.pubsub_billed / TIB * prices.pubsub_per_tib,
            "SQS": self.sqs_requests * prices.sqs_request,
            "Storage Write": self.storage_write_bytes / GIB * prices.storage_write_per_gib,
            "objects": self.gcs_writes * prices.gcs_write + self.s3_writes * prices.s3_write,
            "compute": self.cpu_seconds / 3600 * prices.vcpu_hour,
        }
        managed = export_subscriptions * self.plain_bytes / TIB * prices.export_per_tib
        return Cost(self.events, services, managed)
