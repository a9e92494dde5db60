"""Where decoded rows go: each sink reports which of the batches written to it are durable (at once, like a
BigQuery append, or later, like a lake file that becomes visible when it rolls). Dead-letter destinations are
sinks too, written with dead-letter records."""

from streamlake_fast.sinks.base import Refusal, Sink, WriteIsDurable

__all__ = ["Refusal", "Sink", "WriteIsDurable"]
