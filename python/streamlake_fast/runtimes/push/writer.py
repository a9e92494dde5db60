"""Pub/Sub push deliveries written like pulled messages: concurrent deliveries are gathered (a
:class:`~streamlake_fast.http.microbatch.MicroBatcher`), read in Rust (``Messages.from_push``: the envelope parsed
and the data decoded with no Python object per message), decoded once and written by the worker's own
:class:`~streamlake_fast.worker.fanout.FanOut` — the sinks, then the rejects to the dead-letter destination. A
delivery is answered 2xx only once its row or its dead letter is durable (the lake's files are made visible first),
so an error answer makes Pub/Sub deliver it again and nothing is lost."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streamlake_fast.codec.messages import Messages
from streamlake_fast.exceptions import SinkError, TransientSinkError
from streamlake_fast.sinks.base import Sink
from streamlake_fast.transports.retry import Retry
from streamlake_fast.worker.fanout import FanOut
from streamlake_fast.worker.router import Router

__all__ = ["PUSH_RETRY", "PushDelivery", "PushWriter"]

log = logging.getLogger(__name__)

#: Transient sink failures are retried this long, then the deliveries are answered 503 and Pub/Sub redelivers them
#: (within the push subscription's ack deadline, default 10 s; set it to 60 s or more).
PUSH_RETRY = Retry(initial=0.2, maximum=2.0, deadline=20.0)


@dataclass(frozen=True, slots=True)
class PushDelivery:
    """One push request: the wrapped envelope (``body``), or with ``--push-no-wrapper`` the raw data and the
    ``x-goog-pubsub-*`` metadata headers (``unwrapped``: message id, publish time in µs, attributes)."""

    body: bytes
    unwrapped: tuple[str, int, Mapping[str, str]] | None = None


class PushWriter:
    """Write push deliveries with ``fanout`` (the sinks, then the rejects to the dead-letter destination; or each
    route's destinations); :meth:`write` answers each delivery with an HTTP status: 204 when it is durable (as a row
    or a dead letter), 400 when it is not a push envelope, 503/500 when a destination failed (Pub/Sub will deliver
    it again)."""

    def __init__(self, fanout: FanOut | Router, *, named: bool = False) -> None:
        self._fanout = fanout  # one fan-out writer, or a router for a routed stream
        self._named = named  # the subscription was given: deliveries do not rename the source
        self._lock = threading.Lock()  # the sinks take one batch at a time
        self.written = 0
        self.rows = 0
        self.rejects = 0
        self.failures = 0

    @property
    def sinks(self) -> list[Sink]:
        return self._fanout.sinks

    def write(self, deliveries: Sequence[PushDelivery]) -> list[tuple[int, str]]:
        """``(status, why)`` for each delivery, in order."""
        wrapped = [i for i, d in enumerate(deliveries) if d.unwrapped is None]
        out: list[tuple[int, str]] = [(204, "")] * len(deliveries)
        from_push, errors, subscription = Messages.from_push([deliveries[i].body for i in wrapped])
        for i, why in errors:
            out[wrapped[i]] = (400, why)
        plain = [d for d in deliveries if d.unwrapped is not None]
        parts = [(d.body, dict(d.unwrapped[2]), d.unwrapped[0], d.unwrapped[1], "") for d in plain if d.unwrapped]
        messages = Messages.concat([from_push, Messages.from_parts(parts)]) if parts else from_push
        if not len(messages):
            return out
        written = [i for i in range(len(deliveries)) if out[i][0] == 204]
        with self._lock:
            if subscription and not self._named:
                self._fanout.source = subscription
            try:
                result = self._fanout.write(messages)
                self._fanout.durable(force=True)
            except SinkError as e:
                self.failures += 1
                status = 503 if isinstance(e, TransientSinkError) else 500
                log.error("push: %d deliveries not written (%s); Pub/Sub will deliver them again", len(written), e)
                for i in written:
                    out[i] = (status, f"not written: {e}")
                return out
        self.written += len(messages)
        self.rows += result.num_rows
        self.rejects += len(result.rejects)
        return out

    def close(self) -> None:
        self._fanout.close()
