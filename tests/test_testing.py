"""The shipped in-memory parts (:mod:`streamlake_fast.testing`) do what their documentation shows."""

from __future__ import annotations

import doctest

import streamlake_fast.testing
from streamlake_fast.exceptions import SinkError
from streamlake_fast.testing import MemorySink


def test_the_documented_example_runs() -> None:
    result = doctest.testmod(streamlake_fast.testing)
    assert result.attempted > 0 and result.failed == 0


def test_a_lagging_sink_is_durable_only_when_told_and_can_fail() -> None:
    import pyarrow as pa

    sink = MemorySink("lake", lagging=True)
    batch = pa.record_batch({"message_id": ["1", "2"]})
    sink.write(batch)
    sink.write(batch)
    assert (sink.durable_batches, sink.rows_written) == (0, 4)
    sink.advance(1)
    assert sink.durable_batches == 1 and sink.durable_ids() == {"1", "2"}
    sink.flush()
    assert sink.durable_batches == 2 and sink.table().num_rows == 4
    sink.fail = True
    try:
        sink.write(batch)
    except SinkError as e:
        assert "lake: refused" in str(e)
    else:
        raise AssertionError("a failing sink wrote")
