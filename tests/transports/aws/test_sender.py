"""The edge processor's publisher on SQS: validated and enriched events sent with SendMessageBatch, refused
events reported with their line, path and reason; the CLI's ``publish --queue``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from streamlake_fast import Schema
from streamlake_fast.edge.publisher import Publisher
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:  # noqa: F811
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        out += batch
    return out


def test_publisher_sends_the_valid_events_and_reports_the_rest(sqs: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="pub-valid")["QueueUrl"]
    pairs = list(receipts(1000, seed=3, invalid_fraction=0.02))
    for i, (m, _kind) in enumerate(pairs):  # drop event ids: the publisher adds them
        if i % 3 == 0 and pairs[i][1] is None:
            doc = json.loads(m)
            doc.pop("event_id")
            pairs[i] = (json.dumps(doc).encode(), pairs[i][1])
    ndjson = b"\n".join(m for m, _ in pairs) + b"\n"
    with Publisher(schema=Schema.from_bigquery(RECEIPT_SCHEMA), queue=url) as publisher:
        result = publisher.publish(ndjson)
    # A missing event_id is added by the publisher (enrichment), so only the other invalid kinds are refused.
    bad = [i for i, (_, kind) in enumerate(pairs) if kind not in (None, "missing_event_id")]
    assert sorted(r.index for r in result.rejects) == bad  # line numbers, with path and reason
    assert all(r.message for r in result.rejects)
    assert result.published == len(pairs) - len(bad)
    bodies = [json.loads(m["Body"]) for m in _drain(sqs, url)]
    assert len(bodies) == result.published
    assert all(b["event_id"] for b in bodies) and len({b["event_id"] for b in bodies}) == len(bodies)


def test_an_event_sqs_refuses_is_reported_not_lost_silently(sqs: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="pub-refused", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    events = [b'{"n": 1}', b'{"n": 2, "pad": "' + b"x" * 5000 + b'"}', b'{"n": 3}']
    with Publisher(queue=url, validate=False, enrich=False) as publisher:
        result = publisher.publish(events)
    assert result.published == 2
    [refused] = result.rejects
    assert (refused.index, refused.code) == (1, "refused_by_sink") and "SQS refused" in refused.message
    assert sorted(json.loads(m["Body"])["n"] for m in _drain(sqs, url)) == [1, 3]


def test_cli_publish_to_a_queue(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="pub-cli")["QueueUrl"]
    done = subprocess.run([sys.executable, "-m", "streamlake_fast.cli", "publish", "--queue", url, "--generate", "500",
                           "--invalid-fraction", "0.02"], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))  # fmt: skip
    assert done.returncode == 1, done.stderr  # some events were refused
    assert f"published 492 events to {url}" in done.stdout  # 10 invalid, 2 of them only missing an event_id
    assert len(_drain(sqs, url)) == 492
