"""Received messages: Pub/Sub wire bytes read in Rust, metadata columns filled in the decode pass, dead-letter
records of the one shape."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from streamlake_fast import METADATA_SCHEMA, Codec, Messages, Schema
from streamlake_fast.exceptions import DecodeError
from streamlake_fast.sinks.deadletter import DEAD_LETTER_FIELDS, DEAD_LETTER_SCHEMA, dead_letter_records

SCHEMA = Schema.from_bigquery([{"name": "n", "type": "INT64", "mode": "REQUIRED"}])


def _pull_response() -> bytes:
    """A real ``PullResponse``, serialized by Google's own client types."""
    from google.cloud.pubsub_v1 import types
    from google.protobuf.timestamp_pb2 import Timestamp

    def received(i: int, data: bytes, attrs: dict[str, str]) -> types.ReceivedMessage:
        msg = types.PubsubMessage(data=data, attributes=attrs, message_id=f"m{i}", ordering_key="k" if i else "",
                                  publish_time=Timestamp(seconds=1_700_000_000 + i, nanos=5000))  # fmt: skip
        return types.ReceivedMessage(ack_id=f"ack{i}", message=msg, delivery_attempt=i + 1)

    response = types.PullResponse(
        received_messages=[
            received(0, b'{"n": 1}', {"source": "pos", "quote": 'a"b'}),
            received(1, b'{"n": "x"}', {}),
            received(2, b'{"n": 3}', {}),
        ]
    )
    return bytes(types.PullResponse.serialize(response))


def test_reads_pubsub_wire_bytes() -> None:
    m = Messages.from_pubsub([_pull_response()])
    assert len(m) == 3 and m.data_bytes == 8 + 10 + 8
    first, second = m.message(0), m.message(1)
    assert first.attributes == {"source": "pos", "quote": 'a"b'}
    assert first.publish_time == datetime(2023, 11, 14, 22, 13, 20, 5, tzinfo=timezone.utc)
    assert (second.message_id, second.ordering_key, second.delivery_attempt) == ("m1", "k", 2)


def test_size_counts_attributes_and_ids_not_only_data() -> None:
    m = Messages.from_pubsub([_pull_response()])
    assert m.data_bytes == 26
    assert m.size_bytes > m.data_bytes + len("source") + len("pos") + 3 * len("ack0") + 3 * len("m0")


def test_malformed_wire_bytes_are_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="malformed Pub/Sub response"):
        Messages.from_pubsub([_pull_response()[:-3]])


def test_metadata_columns_filled_in_the_decode_pass() -> None:
    m = Messages.from_pubsub([_pull_response()])
    result = Codec(SCHEMA).decode(m, metadata=["attributes", "message_id", "publish_time", "subscription_name"],
                                  source="projects/p/subscriptions/s")  # fmt: skip
    assert [r.index for r in result.rejects] == [1]
    b = result.batch
    assert b.schema.names == ["n", "attributes", "message_id", "publish_time", "subscription_name"]
    assert b.schema.field("publish_time").type == METADATA_SCHEMA.field("publish_time").type
    assert b.column("n").to_pylist() == [1, 3]
    assert b.column("message_id").to_pylist() == ["m0", "m2"]
    assert [json.loads(a) for a in b.column("attributes").to_pylist()] == [{"source": "pos", "quote": 'a"b'}, {}]
    assert set(b.column("subscription_name").to_pylist()) == {"projects/p/subscriptions/s"}
    plain = Codec(SCHEMA).decode(m)
    assert plain.batch.equals(b.select(["n"]))


def test_metadata_needs_received_messages_and_known_names() -> None:
    with pytest.raises(DecodeError, match="need received Messages"):
        Codec(SCHEMA).decode([b'{"n": 1}'], metadata=["message_id"])
    with pytest.raises(ValueError, match='unknown metadata column "data"'):
        Codec(SCHEMA).decode(Messages.from_data([b'{"n": 1}']), metadata=["data"])
    with pytest.raises(ValueError, match='metadata column "message_id" named twice'):
        Codec(SCHEMA).decode(Messages.from_data([b'{"n": 1}']), metadata=["message_id", "message_id"])


def test_dead_letter_records_have_the_one_shape() -> None:
    m = Messages.from_pubsub([_pull_response()])
    result = Codec(SCHEMA).decode(m)
    dead = dead_letter_records(m, result.rejects, source="projects/p/subscriptions/s", schema_fingerprint="fp")
    assert dead.schema.equals(DEAD_LETTER_SCHEMA)
    assert dead.schema.names == [f["name"] for f in DEAD_LETTER_FIELDS]
    [row] = dead.to_pylist()
    assert row["data"] == b'{"n": "x"}' and row["message_id"] == "m1" and row["attributes"] == "{}"
    assert (row["reason_code"], row["path"], row["schema_fingerprint"]) == ("invalid_value", "n", "fp")
    assert row["subscription_name"] == "projects/p/subscriptions/s"
    empty = dead_letter_records(m, [], source="s", schema_fingerprint="fp")
    assert empty.num_rows == 0 and empty.schema.equals(DEAD_LETTER_SCHEMA)


def test_concat_keeps_order_without_copying_messages() -> None:
    a = Messages.from_data([b'{"n": 1}', b'{"n": 2}'], first_id=1, publish_time_us=0)
    b = Messages.from_data([b'{"n": 3}'], first_id=3, publish_time_us=0)
    both = Messages.concat([a, b])
    assert len(both) == 3 and both.data_bytes == a.data_bytes + b.data_bytes
    batch = Codec(SCHEMA).decode(both, metadata=["message_id"]).batch
    assert batch.column("message_id").to_pylist() == ["1", "2", "3"]
    assert pa.record_batch(batch).column("n").to_pylist() == [1, 2, 3]


def test_push_envelopes_read_in_rust() -> None:
    import base64
    import json

    def envelope(i: int) -> bytes:
        data = base64.b64encode(b'{"n": %d}' % i).decode()
        message = {"data": data, "attributes": {"k": str(i)}, "messageId": f"id-{i}", "message_id": f"id-{i}",
                   "publishTime": "2026-11-26T10:15:42.5Z"}  # fmt: skip
        return json.dumps({"message": message, "subscription": "projects/p/subscriptions/push"}).encode()

    messages, errors, subscription = Messages.from_push([envelope(0), b"{}", envelope(2), b"nope"])
    assert [i for i, _ in errors] == [1, 3] and subscription == "projects/p/subscriptions/push"
    assert [messages.message(i).data for i in range(len(messages))] == [b'{"n": 0}', b'{"n": 2}']
    m = messages.message(1)
    assert (m.attributes, m.message_id) == ({"k": "2"}, "id-2")
    assert m.publish_time is not None and m.publish_time.microsecond == 500000


def test_messages_group_by_route_key_without_decoding() -> None:
    """One pass in Rust: by an attribute (Pub/Sub's wire bytes) and by a nested field; each group keeps its
    messages' order and metadata, and decodes with its own codec."""
    by_attribute = Messages.from_pubsub([_pull_response()]).by_route(attribute="source")
    assert [(g.key, g.malformed, len(g.messages)) for g in by_attribute] == [("pos", False, 1), (None, False, 2)]
    assert [g.messages.message(i).message_id for g in by_attribute for i in range(len(g.messages))] == [
        "m0", "m1", "m2"
    ]  # fmt: skip
    events = [b'{"kind": {"name": "iot"}, "n": 1}', b'{"kind": {"name": "pay"}, "n": 2}', b'{"kind": {"na',
              b'{"kind": {"name": "iot"}, "n": 3}', b'{"n": 4}']  # fmt: skip
    groups = Messages.from_data(events, first_id=10, publish_time_us=0).by_route(field="kind.name")
    assert [(g.key, g.malformed, list(g.positions)) for g in groups] == [
        ("iot", False, [0, 3]), ("pay", False, [1]), (None, True, [2]), (None, False, [4])
    ]  # fmt: skip
    iot = Schema.from_bigquery([{"name": "kind", "type": "JSON"}, {"name": "n", "type": "INT64"}])
    batch = Codec(iot).decode(groups[0].messages, metadata=["message_id"]).batch
    assert batch.column("n").to_pylist() == [1, 3] and batch.column("message_id").to_pylist() == ["10", "13"]
    [malformed] = Codec(iot).decode(groups[2].messages).rejects
    assert malformed.code == "invalid_json"
    with pytest.raises(ValueError, match="either an attribute or a field"):
        Messages.from_data([b"{}"]).by_route()


def test_messages_group_by_a_formatted_time() -> None:
    """A TIMESTAMP field formatted in UTC (a template's ``{event_time:%Y/%m/%d}``); a value that is no time has
    no key."""
    events = [b'{"t": "2026-12-07T23:00:00-02:00"}', b'{"t": "2026-12-08 00:00:01Z"}', b'{"t": 5}', b"{}"]
    groups = Messages.from_data(events).by_route(field="t", time_format="%Y/%m/%d")
    assert [(g.key, list(g.positions)) for g in groups] == [("2026/12/08", [0, 1]), (None, [2, 3])]
    with pytest.raises(ValueError, match="%x is not one of"):
        Messages.from_data(events).by_route(field="t", time_format="%x")
