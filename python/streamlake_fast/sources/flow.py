"""Flow control: bound the messages a source has delivered and not yet released, and their bytes as received
(data, attributes and ids — not the data alone, so that large attributes cannot hide past the limit)."""

from __future__ import annotations

import threading

from streamlake_fast.exceptions import ConfigError

__all__ = ["FlowControl"]


class FlowControl:
    """Counts what is outstanding; :meth:`wait_for_room` blocks while either limit is reached."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        if max_messages <= 0 or max_bytes <= 0:
            raise ConfigError("flow-control limits must be positive")
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.messages = 0
        self.bytes = 0
        self._cond = threading.Condition()

    def full(self) -> bool:
        return self.messages >= self.max_messages or self.bytes >= self.max_bytes

    def wait_for_room(self, stop: threading.Event, poll: float = 0.2) -> bool:
        """Block until below both limits (True) or until ``stop`` is set (False)."""
        with self._cond:
            while self.full():
                if stop.is_set():
                    return False
                self._cond.wait(poll)
        return not stop.is_set()

    def acquire(self, messages: int, nbytes: int) -> None:
        """Count a delivery (it may go past a limit: the next :meth:`wait_for_room` then waits)."""
        with self._cond:
            self.messages += messages
            self.bytes += nbytes

    def release(self, messages: int, nbytes: int) -> None:
        with self._cond:
            self.messages -= messages
            self.bytes -= nbytes
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake waiters (e.g. to let them see a stop)."""
        with self._cond:
            self._cond.notify_all()

    def share(self, messages: int, nbytes: int) -> float:
        """What fraction of the window ``messages`` / ``nbytes`` take (the larger of the two)."""
        return max(messages / self.max_messages, nbytes / self.max_bytes)
