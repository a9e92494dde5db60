"""The publisher (edge processor) against the real Pub/Sub emulator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamlake_fast import Schema
from streamlake_fast.edge.publisher import Publisher, PublishError
from tests.servers.fixtures import Cloud
from tests.worker.helpers import pull_all

SCHEMA = Schema.from_bigquery(
    [
        {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "ingest_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "device", "type": "STRING", "mode": "REQUIRED"},
        {"name": "reading", "type": "FLOAT64", "mode": "NULLABLE"},
    ]
)
NDJSON = b"""{"device": "d1", "reading": 1.5}
{"device": "d2", "reading": "high"}
{"event_id": "mine", "device": "d3"}

{"device": "d4", "reading": 2
{"device": "d5", "ingest_time": "2026-01-01T00:00:00Z"}
"""


def test_publish_validates_enriches_and_refuses_with_line_and_path(pubsub_only: Cloud) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    with Publisher(topic, SCHEMA) as publisher:
        result = publisher.publish(NDJSON)
    assert result.published == 3
    assert [(r.index, r.code, r.path) for r in result.rejects] == [
        (1, "invalid_value", "reading"),
        (4, "invalid_json", ""),
    ]

    got = {
        json.loads(m.message.data)["device"]: json.loads(m.message.data) for m in pull_all(pubsub_only, subscription)
    }
    assert sorted(got) == ["d1", "d3", "d5"]
    assert re.fullmatch(r"[0-9a-f]{32}", got["d1"]["event_id"])
    assert got["d3"]["event_id"] == "mine"  # present: kept
    assert got["d5"]["ingest_time"] == "2026-01-01T00:00:00Z"  # present: kept
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", got["d1"]["ingest_time"])
    assert got["d1"]["event_id"][:16] == got["d5"]["event_id"][:16]  # one publisher, one prefix, a sequence


def test_publish_list_without_validation_sends_everything_unchanged(pubsub_only: Cloud) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    events = [b'{"device": "x"}', b"not json", b"{}"] * 700  # three Publish requests
    with Publisher(topic, validate=False, enrich=False) as publisher:
        result = publisher.publish(events)
    assert (result.published, result.rejects) == (2100, [])
    assert sorted(m.message.data for m in pull_all(pubsub_only, subscription)) == sorted(events)


def test_publishing_cost_is_counted_as_pub_sub_bills_it_plain_and_in_envelopes(pubsub_only: Cloud) -> None:
    """Hand-computed: a plain message bills its data + 20 + a 16-digit id, a request at least 1,000 bytes."""
    from streamlake_fast.codec.envelope import Envelope
    from streamlake_fast.cost import load_prices

    topic, subscription = pubsub_only.create_topic_and_subscription()
    tib, price = 1 << 40, load_prices().pubsub_per_tib
    events = [b'{"device": "x"}'] * 10  # 15 bytes each
    with Publisher(topic, validate=False, enrich=False) as plain:
        plain.publish(events)
        plain.publish(events * 100)  # 1,000 messages: one request of 1,000 x 51 bytes
    assert (plain.usage.pubsub_requests, plain.usage.pubsub_billed) == (2, 1_000 + 51_000)
    cost = plain.cost()
    assert cost.total == pytest.approx(52_000 / tib * price)
    assert cost.managed == pytest.approx(1_010 * 51 / tib * price)  # the same events as plain messages
    with Publisher(topic, validate=False, enrich=False, envelope=Envelope()) as sealed:
        sealed.publish(events * 100)
    (message,) = [m.message for m in pull_all(pubsub_only, subscription) if m.message.attributes]
    size = len(message.data) + sum(len(k) + len(v) for k, v in message.attributes.items()) + 36
    assert size < 1_000 and sealed.usage.pubsub_billed == 1_000  # one envelope: the request minimum
    assert sealed.cost().managed / sealed.cost().total == pytest.approx(1_000 * 51 / 1_000)


def test_publish_to_a_missing_topic_is_a_clear_error(pubsub_only: Cloud) -> None:
    with Publisher(pubsub_only.topic("missing"), SCHEMA) as publisher, pytest.raises(PublishError, match="NOT_FOUND"):
        publisher.publish([b'{"device": "x"}'])


def test_cli_publish_generated_and_file(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    env = {"PUBSUB_EMULATOR_HOST": pubsub_only.pubsub_host, "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "streamlake_fast.cli", "publish", "--topic", topic]
    done = subprocess.run([*cli, "--generate", "3000", "--invalid-fraction", "0.01"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr  # some events were refused
    # 30 invalid receipts; the 4 missing only their event_id get one at the edge and are published.
    assert "published 2,974 events" in done.stdout and "refused 26" in done.stdout
    assert re.search(r"cost: \$[0-9.]+ per million events published \(Pub/Sub\); as plain messages: \$", done.stdout)
    assert re.search(r"refused event \d+: invalid_value at items\[0\]\.qty", done.stderr)
    assert "missing_required" not in done.stderr

    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA.to_bigquery()))
    data = tmp_path / "events.ndjson"
    data.write_bytes(NDJSON)
    rejects = tmp_path / "refused.ndjson"
    done = subprocess.run([*cli, str(data), "--schema", str(schema), "--rejects", str(rejects)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "published 3 events" in done.stdout, done.stderr
    # One reject shape everywhere (the HTTP answer's): the 0-based index of the event in the input (line 2 is 1).
    refused = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["index"] for r in refused] == [1, 4]
    assert set(refused[0]) == {"index", "code", "path", "message"}
    assert len(pull_all(pubsub_only, subscription)) == 2974 + 3


def test_cli_publish_checks_events_against_the_table(cloud: Cloud, tmp_path: Path) -> None:
    """With --table the publisher validates against the table's event columns (metadata columns left out), as
    the worker will; a --schema that disagrees with the table is refused before anything is sent."""
    topic, subscription = cloud.create_topic_and_subscription()
    table = cloud.create_table([*SCHEMA.to_bigquery(), {"name": "message_id", "type": "STRING", "mode": "NULLABLE"}])
    data = tmp_path / "events.ndjson"
    data.write_bytes(b'{"device": "d1", "reading": 1.5}\n{"device": "d2", "colour": "red"}\n')
    cli = [sys.executable, "-m", "streamlake_fast.cli", "publish", "--topic", topic, "--table", table, str(data)]
    env = {**cloud.env, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "published 1 events" in done.stdout, done.stderr
    assert "refused event 2: unknown_field at colour" in done.stderr or "line 2: unknown_field" in done.stderr
    assert len(pull_all(cloud, subscription)) == 1

    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"name": "device", "type": "INT64", "mode": "REQUIRED"}]))
    done = subprocess.run([*cli, "--schema", str(other)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "does not match table" in done.stderr and "'device'" in done.stderr, done.stderr


def test_a_fault_in_one_send_fails_that_call_alone_with_its_outcome_unknown() -> None:
    """A sender that raises something other than PublishError does not turn the other calls' results into
    failures (it was: every body of the micro-batch answered 500, published ones included)."""
    from concurrent.futures import ThreadPoolExecutor

    from streamlake_fast.exceptions import PublishError, outcomes

    def send(n: int) -> int:
        if n == 2:
            raise KeyError("a bug")
        return n

    with ThreadPoolExecutor(2) as pool:
        got = outcomes([pool.submit(send, n) for n in (1, 2, 3)])
    assert got[0] == 1 and got[2] == 3
    assert isinstance(got[1], PublishError) and got[1].maybe_published and "KeyError" in str(got[1])
