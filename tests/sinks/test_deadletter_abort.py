"""A stop reaches the dead-letter sinks' own retries: a dead-letter queue that cannot be reached no longer holds the
worker's stop until the shutdown watchdog's deadline (SQS's retry has none: it waited for ever)."""

from __future__ import annotations

import threading
import time

import pytest

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.exceptions import SinkError
from streamlake_fast.sinks.deadletter.queue import DeadLetterQueue
from streamlake_fast.testing import MemorySink
from streamlake_fast.transports.aws.client import SqsClient
from streamlake_fast.worker.fanout import FanOut
from tests.servers.processes import free_port

SCHEMA = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}])


def test_the_worker_stop_ends_a_dead_letter_queue_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(key, value)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens: every call fails to connect, a transient failure
    queue = f"{nobody}/123456789012/dlq"
    dead = DeadLetterQueue(queue, client=SqsClient(region="us-east-1", endpoint_url=nobody, timeout=1))
    abort = threading.Event()
    fanout = FanOut(Codec(SCHEMA), [MemorySink("rows")], dead, source="s", abort=abort)
    failure: list[BaseException] = []

    def write() -> None:
        try:
            fanout.write(Messages.from_data([b'{"id": "a"}', b'{"id": 1}']))  # one reject: a dead letter to send
        except BaseException as e:
            failure.append(e)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    time.sleep(1.5)
    assert writer.is_alive()  # retrying, as it should while not stopped
    stopped = time.monotonic()
    abort.set()
    writer.join(10)
    assert not writer.is_alive(), "the dead-letter queue kept retrying after the stop"
    assert time.monotonic() - stopped < 5
    assert failure and isinstance(failure[0], SinkError), failure
