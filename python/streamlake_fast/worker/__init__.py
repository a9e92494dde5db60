"""The worker, in three parts: the :class:`~streamlake_fast.worker.batcher.Batcher` (rows / bytes / latency),
the :class:`~streamlake_fast.worker.fanout.FanOut` writer (one decode, each sink's columns, dead letters) and the
:class:`~streamlake_fast.worker.ledger.AckLedger` (durability watermark across destinations → acks), tied together
by :class:`Worker`."""

from streamlake_fast.worker.loop import Worker
from streamlake_fast.worker.stats import WorkerStats

__all__ = ["Worker", "WorkerStats"]
