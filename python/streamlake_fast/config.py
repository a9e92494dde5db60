"""Worker configuration: a TOML file validated with msgspec; command-line flags override it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from streamlake_fast.destinations.model import Destinations
from streamlake_fast.destinations.options import CodecConfig, CreateTableConfig, LakeConfig, SchemaUpdateConfig
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.transports.names import check_queue_url, check_subscription

__all__ = [
    "BatchConfig",
    "CodecConfig",
    "CreateTableConfig",
    "Destinations",
    "LakeConfig",
    "PubSubConfig",
    "SchemaUpdateConfig",
    "SqsConfig",
    "WorkerConfig",
    "load_config",
]

Positive = Annotated[int, msgspec.Meta(gt=0)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class BatchConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """When a batch is written: whichever limit comes first."""

    max_rows: Positive = 50_000
    max_bytes: Positive = 8_000_000
    max_latency: PositiveSeconds = 1.0  # seconds from the first pull of a batch to durable


class PubSubConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # "pull": unary Pull calls (concurrent_pulls of max_messages); "streaming": StreamingPull streams, as Google's
    # client receives (less CPU per message at moderate rates; the emulator streams ~2,000 messages/s at most)
    receive: Literal["pull", "streaming"] = "pull"
    streams: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1  # StreamingPull streams open at once
    max_messages: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1000  # Pub/Sub's limit per Pull
    concurrent_pulls: Annotated[int, msgspec.Meta(ge=1, le=64)] = 3
    max_outstanding_messages: Positive = 200_000
    max_outstanding_bytes: Positive = 256 << 20
    ack_deadline: Annotated[int, msgspec.Meta(ge=10, le=600)] = 60  # seconds each lease extension asks for
    max_lease: PositiveSeconds = 3600.0  # seconds a message is held, not yet durable, before it is handed back


class SqsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    concurrent_receives: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8  # ReceiveMessage calls in flight
    wait_time: Annotated[int, msgspec.Meta(ge=0, le=20)] = 20  # long-polling seconds per call
    visibility_timeout: Annotated[int, msgspec.Meta(ge=1, le=43_200)] = 60  # seconds; extended while held
    max_outstanding_messages: Positive = 100_000
    max_outstanding_bytes: Positive = 256 << 20
    # seconds a message is held, not yet durable, before it is handed back: at most SQS's own 12 h, after which a
    # visibility extension is refused and the message comes back anyway
    max_lease: Annotated[float, msgspec.Meta(gt=0, le=43_200)] = 3600.0


class WorkerConfig(Destinations, forbid_unknown_fields=True, kw_only=True):
    """Everything ``streamlake run`` needs: a source, the :class:`Destinations` (their keys at the top level), and
    how the worker runs; see the README for each key."""

    subscription: str = ""  # a Pub/Sub subscription ...
    queue: str = ""  # ... or an SQS queue URL
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    metrics_address: str = "127.0.0.1"  # where the metrics port listens (0.0.0.0: every interface)
    prices: str = ""  # a TOML price list over the defaults (streamlake_fast/cost/prices.toml) for the cost report
    progress_interval: PositiveSeconds = 5.0
    shutdown_timeout: PositiveSeconds = 30.0  # seconds from SIGTERM to exit, whatever the sinks are doing
    exit_when_drained: bool = False
    allow_mixed_endpoints: bool = False  # some clients on emulators, others on Google (tests only)
    batch: BatchConfig = msgspec.field(default_factory=BatchConfig)
    pubsub: PubSubConfig = msgspec.field(default_factory=PubSubConfig)
    sqs: SqsConfig = msgspec.field(default_factory=SqsConfig)

    def validate(self) -> WorkerConfig:
        """Check every setting, however the config was made (TOML, flags, or built in Python)."""
        if not self.subscription and not self.queue:
            raise ConfigError("no source: pass --subscription projects/P/subscriptions/S or --queue SQS_QUEUE_URL")
        if self.subscription and self.queue:
            raise ConfigError("give either a subscription or a queue, not both")
        self.check()
        if self.subscription:
            check_subscription(self.subscription)
        else:
            check_queue_url(self.queue)
        least = self.lake.max_file_age + self.batch.max_latency + 60
        section, max_lease = ("sqs", self.sqs.max_lease) if self.queue else ("pubsub", self.pubsub.max_lease)
        if self.lake.root and max_lease < least:
            raise ConfigError(
                f"{section}.max_lease ({max_lease:g} s) must leave time for a lake file to roll: at least "
                f"lake.max_file_age + batch.max_latency + 60 s ({least:g} s)"
            )
        return self


def load_config(path: str | Path | None) -> WorkerConfig:
    """Read a TOML config (or the defaults when ``path`` is None)."""
    if path is None:
        return WorkerConfig()
    try:
        text = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from e
    try:
        return msgspec.toml.decode(text, type=WorkerConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {e}") from e
    except msgspec.DecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
