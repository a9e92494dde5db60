"""Worker configuration: a TOML file validated with msgspec; command-line flags override it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from streamlake_fast.exceptions import ConfigError

__all__ = ["BatchConfig", "CodecConfig", "PubSubConfig", "WorkerConfig", "load_config"]


class BatchConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """When a batch is written: whichever limit comes first."""

    max_rows: int = 50_000
    max_bytes: int = 8_000_000
    max_latency: float = 1.0  # seconds from the first pull of a batch to durable


class PubSubConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    max_messages: int = 1000
    concurrent_pulls: int = 3
    max_outstanding_messages: int = 200_000
    max_outstanding_bytes: int = 256 << 20
    ack_deadline: int = 60  # seconds each lease extension asks for


class CodecConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    unknown_fields: Literal["reject", "ignore"] = "reject"
    max_message_bytes: int = 10_000_000
    max_depth: int = 500


class WorkerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Everything ``streamlake run`` needs; see the README for each key."""

    subscription: str = ""
    table: str = ""
    mode: Literal["default", "committed"] = "default"
    dead_letter_topic: str | None = None
    dead_letter_table: str | None = None  # default: "<table>_rejects" when no topic is given
    schema: str | None = None  # a BigQuery schema JSON file; default: the table's own schema
    metrics_port: int | None = None
    progress_interval: float = 5.0
    exit_when_drained: bool = False
    batch: BatchConfig = msgspec.field(default_factory=BatchConfig)
    pubsub: PubSubConfig = msgspec.field(default_factory=PubSubConfig)
    codec: CodecConfig = msgspec.field(default_factory=CodecConfig)

    def validate(self) -> WorkerConfig:
        if not self.subscription:
            raise ConfigError("no subscription: pass --subscription projects/P/subscriptions/S (or set it)")
        if not self.table:
            raise ConfigError("no table: pass --table PROJECT.DATASET.TABLE (or set it in the config)")
        if self.dead_letter_topic and self.dead_letter_table:
            raise ConfigError("give either dead_letter_topic or dead_letter_table, not both")
        if self.batch.max_rows <= 0 or self.batch.max_bytes <= 0 or self.batch.max_latency <= 0:
            raise ConfigError("batch limits must be positive")
        return self


def load_config(path: str | Path | None) -> WorkerConfig:
    """Read a TOML config (or the defaults when ``path`` is None)."""
    if path is None:
        return WorkerConfig()
    try:
        return msgspec.toml.decode(Path(path).read_bytes(), type=WorkerConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {e}") from e
    except msgspec.DecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
