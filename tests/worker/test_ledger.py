"""The ack ledger with the fan-out writer over in-memory sinks: a message is acknowledged if and only if every
destination holds it durably, never twice, and never after being handed back."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlake_fast import Codec, Delivery, Messages, Schema
from streamlake_fast.exceptions import SinkError
from streamlake_fast.sinks.deadletter import DEAD_LETTER_SCHEMA
from streamlake_fast.worker.fanout import FanOut
from streamlake_fast.worker.ledger import AckLedger
from tests.worker.memory_sinks import LaggingSink, Recorder

SCHEMA = Schema.from_bigquery([{"name": "n", "type": "INT64", "mode": "REQUIRED"}])


def _fanout(n_sinks: int) -> tuple[FanOut, list[LaggingSink], LaggingSink]:
    rows = pa.schema([*SCHEMA.to_arrow(), pa.field("message_id", pa.string())])
    sinks = [LaggingSink(f"sink{i}", rows) for i in range(n_sinks)]
    dead = LaggingSink("dead", DEAD_LETTER_SCHEMA)
    return FanOut(Codec(SCHEMA), sinks, dead, source="test", abort=threading.Event()), sinks, dead


def _delivery(recorder: Recorder, first_id: int, size: int, bad_every: int) -> Delivery:
    data = [b'{"n": "x"}' if bad_every and (first_id + i) % bad_every == 0 else b'{"n": 1}' for i in range(size)]
    return Delivery(Messages.from_data(data, first_id=first_id), recorder)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(1, 3), st.integers(1, 5)),  # deliveries, messages each
        st.tuples(st.just("advance"), st.integers(0, 4), st.integers(0, 3)),  # which sink (last: dead letters), k
        st.tuples(st.just("fail"), st.integers(0, 4), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(n_sinks=st.integers(1, 3), bad_every=st.integers(0, 4), plan=steps)
def test_acked_iff_durable_everywhere_and_never_twice(n_sinks: int, bad_every: int, plan: list) -> None:  # type: ignore[type-arg]
    fanout, sinks, dead = _fanout(n_sinks)
    everywhere = [*sinks, dead]
    ledger, recorder = AckLedger(), Recorder()
    next_id, failed = 1, False
    written: dict[str, bool] = {}  # message id -> valid (True) or rejected (False)
    for action, a, b in plan:
        if failed:
            break
        if action == "write":
            deliveries = []
            for _ in range(a):
                deliveries.append(_delivery(recorder, next_id, b, bad_every))
                next_id += b
            messages = Messages.concat([d.messages for d in deliveries])
            try:
                result = fanout.write(messages)
            except SinkError:
                for d in deliveries:
                    d.nack()
                ledger.nack_all()
                failed = True
                continue
            rejected = {r.index for r in result.rejects}
            for i in range(len(messages)):
                written[messages.message(i).message_id] = i not in rejected
            ledger.add(deliveries)
        elif action == "advance":
            everywhere[a % len(everywhere)].advance(b)
        else:
            everywhere[a % len(everywhere)].fail = True
        ledger.settle(fanout.durable())

        durable_rows = set.intersection(*(s.durable_ids() for s in sinks))
        dead_durable = dead.durable_ids()
        for mid, valid in written.items():
            # acknowledged ⇒ durable in every destination that holds it
            if recorder.acks[mid]:
                assert (mid in durable_rows) if valid else (mid in dead_durable)
        assert all(c == 1 for c in recorder.acks.values()), "acknowledged twice"
        assert not set(recorder.acks) & set(recorder.nacks), "acknowledged and handed back"
        # ... and a batch durable everywhere is acknowledged by that settle.
        min_durable = min(s.durable_batches for s in everywhere)
        for sink in everywhere:
            for batch in sink.batches[:min_durable]:
                assert all(recorder.acks[m] == 1 for m in batch.column("message_id").to_pylist())
    settled = sum(1 for _ in recorder.acks) + sum(1 for _ in recorder.nacks)
    assert settled == len(set(recorder.acks) | set(recorder.nacks))


def test_settle_acks_in_order_and_nack_all_hands_back_the_rest() -> None:
    recorder = Recorder()
    ledger = AckLedger()
    first = [_delivery(recorder, 1, 1, 0), _delivery(recorder, 2, 1, 0)]  # one batch, one ack call
    second = [_delivery(recorder, 3, 3, 0)]
    assert (ledger.add(first), ledger.add(second)) == (0, 1)
    assert ledger.held_messages == 5
    assert ledger.held_bytes == sum(d.messages.size_bytes for d in [*first, *second]) > 5 * len(b'{"n": 1}')
    assert recorder.released == 0
    assert ledger.settle(0) == 0
    assert ledger.settle(1) == 2
    assert set(recorder.acks) == {"1", "2"}
    assert recorder.calls == 1
    assert ledger.nack_all() == 3
    assert set(recorder.nacks) == {"3", "4", "5"}
    assert ledger.held_messages == 0 and len(ledger) == 0
    assert recorder.released == 3  # every delivery released once
    with pytest.raises(RuntimeError, match="already settled"):
        first[0].nack()


def test_a_failed_acknowledgement_is_logged_and_the_worker_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class FailingAcks(Recorder):
        def ack(self, deliveries: Sequence[Delivery]) -> None:
            raise ConnectionError("Acknowledge: UNAVAILABLE after 8 attempts")

    recorder = FailingAcks()
    ledger = AckLedger()
    batch = [_delivery(recorder, 1, 4, 0)]
    ledger.add(batch)
    assert ledger.settle(1) == 4  # durable everywhere: counted as done; the messages may come back (a duplicate)
    assert "acknowledge failed" in caplog.text and "4 messages will be redelivered" in caplog.text
    assert recorder.released == 1 and batch[0].settled == "ack"
