"""Dead letters always fit the dead-letter topic, losslessly: long reasons, colliding attribute names and rejects
near Pub/Sub's 10 MB limit (on the real emulator)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.servers.fixtures import Cloud
from tests.worker.helpers import pull_all, run_worker


@pytest.mark.slow  # ~25-40 s: run by make test-slow and CI
def test_every_dead_letter_fits_and_keeps_everything(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    dlq, dlq_sub = pubsub_only.create_topic_and_subscription("dlq")
    valid = [m for m, kind in receipts(20, seed=3) if kind is None]
    long_key = b'{"' + b"k" * 2000 + b'": 1}'  # unknown_field: a path of 2,000 characters
    huge = b'{"' + b"x" * 9_000_000 + b'": 1}'  # a reject of 9 MB: with its reasons, over the limit as is
    publisher = pubsub_only.publisher()
    futures = [publisher.publish(topic, m) for m in valid]
    futures.append(publisher.publish(topic, long_key))
    futures.append(publisher.publish(topic, b'{"oops": true}', reason_code="mine", path="theirs"))
    futures.append(publisher.publish(topic, b"not json", source="pos"))
    futures.append(publisher.publish(topic, huge))
    for f in futures:
        f.result(timeout=120)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))

    done = run_worker(pubsub_only, "--subscription", subscription, "--lake", str(tmp_path / "lake"), "--schema",
                      str(schema), "--dead-letter-topic", dlq, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    dead = {m.message.attributes["message_id"]: m.message for m in pull_all(pubsub_only, dlq_sub)}
    assert len(dead) == 4
    by_kind: dict[str, object] = {}
    for m in dead.values():
        attrs = m.attributes
        assert len(attrs) <= 100 and all(len(v.encode()) <= 1024 for v in attrs.values())
        assert len(m.data) <= 10_000_000
        if attrs.get("envelope") == "json":
            record = json.loads(m.data)
            by_kind[record.get("path") or record["reason_code"]] = (attrs, record)
        else:
            by_kind["plain"] = (attrs, m.data)

    attrs, data = by_kind["plain"]  # type: ignore[misc]
    assert data == b"not json" and attrs["source"] == "pos" and attrs["reason_code"] == "invalid_json"

    attrs, record = by_kind["k" * 2000]  # type: ignore[misc]
    assert len(attrs["path"]) == 1024 and record["path"] == "k" * 2000  # cut in the attribute, whole in the data
    assert record["data"].encode() == long_key

    attrs, record = by_kind["oops"]  # type: ignore[misc]
    assert attrs["reason_code"] == "unknown_field"  # the worker's reason ...
    assert record["attributes"] == {"reason_code": "mine", "path": "theirs"}  # ... and the producer's, both kept

    [(attrs, record)] = [v for k, v in by_kind.items() if k.startswith("x")]  # type: ignore[misc]
    assert record["data_truncated"] is True and record["data_size"] == len(huge)
    assert record["data_sha256"] == hashlib.sha256(huge).hexdigest()
    assert huge.startswith(base64.b64decode(record["data_base64"]))
    assert pull_all(pubsub_only, subscription, idle_seconds=3) == []  # everything acknowledged
