"""Where decoded batches go; a write returns only once the rows are durable."""

from streamlake_fast.sinks.base import Sink, SinkError, TransientSinkError
from streamlake_fast.sinks.bigquery import BigQuerySink

__all__ = ["BigQuerySink", "Sink", "SinkError", "TransientSinkError"]
