"""``streamlake dead-letters replay`` on the Pub/Sub emulator: dead letters written by the worker's own dead-letter
sink go back to the main topic as their original messages; the others stay on the dead-letter subscription."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.deadletters.replay import REPLAYED_FROM, original_message
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sinks.deadletter import (
    DEAD_LETTER_FIELDS,
    DeadLetterFiles,
    DeadLetterTable,
    DeadLetterTopic,
    dead_letter_records,
)
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)
from tests.servers.fixtures import Cloud
from tests.worker.helpers import pull_all

OLD = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}])


def _dead_letters(cloud: Cloud, topic: str, sink: Sink | None = None) -> list[tuple[bytes, dict[str, str]]]:
    """Originals rejected by the old schema and published as dead letters (one in envelope form: an original
    attribute has a record field's name), or written to ``sink``."""
    originals = [
        (b'{"id": "a", "loyalty_tier": "gold"}', {"source": "till-1"}),
        (b'{"id": "b", "n": "x"}', {"source": "till-2"}),
        (b'{"id": "c", "loyalty_tier": "silver"}', {"source": "till-3", "reason_code": "mine"}),
        (b'{"id": "d", "loyalty_tier": "none"}', {}),
    ]
    messages = Messages.from_parts([(d, a, f"m-{i}", 1_700_000_000_000_000, "") for i, (d, a) in enumerate(originals)])
    result = Codec(OLD).decode(messages)
    assert [r.code for r in result.rejects] == ["unknown_field", "invalid_value", "unknown_field", "unknown_field"]
    records = dead_letter_records(messages, result.rejects, source="projects/p/subscriptions/events",
                                  schema_fingerprint=OLD.fingerprint)  # fmt: skip
    sink = sink or DeadLetterTopic(topic)
    sink.write(records)
    sink.close()
    return originals


def test_envelope_and_plain_dead_letters_give_back_the_original() -> None:
    record = {"data": "{}", "attributes": {"k": "v"}, "reason_code": "unknown_field"}
    assert original_message(json.dumps(record).encode(), {"envelope": "json"}) == (b"{}", {"k": "v"})
    plain = {"k": "v", "reason_code": "x", "path": "p", "message": "m", "message_id": "1", "rejected_at": "t"}
    assert original_message(b"{}", plain) == (b"{}", {"k": "v"})
    assert original_message(json.dumps({**record, "data_truncated": True}).encode(), {"envelope": "json"}) is None


def test_replay_brings_chosen_dead_letters_home_and_leaves_the_rest(pubsub_only: Cloud) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    dlq_topic, dlq_sub = pubsub_only.create_topic_and_subscription("dlq")
    originals = _dead_letters(pubsub_only, dlq_topic)
    cli = [sys.executable, "-m", "streamlake_fast.cli", "dead-letters", "replay", "--from-subscription", dlq_sub,
           "--to-topic", topic, "--code", "unknown_field"]  # fmt: skip
    done = subprocess.run(cli, env={"PUBSUB_EMULATOR_HOST": pubsub_only.pubsub_host, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "replayed 3 dead letters" in done.stdout and "replayed: unknown_field 3" in done.stdout, done.stdout
    assert "left: invalid_value 1" in done.stdout

    home = {m.message.data: dict(m.message.attributes) for m in pull_all(pubsub_only, subscription)}
    want = {d: {**a, REPLAYED_FROM: dlq_sub} for d, a in originals if b"loyalty_tier" in d}
    assert home == want  # original data and attributes (the envelope's "reason_code" attribute too), once each
    still = pull_all(pubsub_only, dlq_sub)
    assert [m.message.data for m in still] == [originals[1][0]]  # the invalid one, handed back


@pytest.mark.slow  # ~25-40 s: run by make test-slow and CI
def test_replay_limit_and_since(pubsub_only: Cloud) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    dlq_topic, dlq_sub = pubsub_only.create_topic_and_subscription("dlq")
    _dead_letters(pubsub_only, dlq_topic)
    env = {"PUBSUB_EMULATOR_HOST": pubsub_only.pubsub_host, "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "streamlake_fast.cli", "dead-letters", "replay", "--from-subscription", dlq_sub,
            "--to-topic", topic]  # fmt: skip
    future = subprocess.run([*base, "--since", "2999-01-01T00:00:00Z"], env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert future.returncode == 0 and "replayed 0 dead letters" in future.stdout, future.stderr
    two = subprocess.run([*base, "--limit", "2"], env=env, capture_output=True, text=True, timeout=120)
    assert two.returncode == 0 and "replayed 2 dead letters" in two.stdout, two.stderr
    assert len(pull_all(pubsub_only, subscription)) == 2
    assert len(pull_all(pubsub_only, dlq_sub)) == 2
    bad = subprocess.run([*base, "--since", "yesterday"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--since must be an ISO 8601 time" in bad.stderr


def _replay_stored(cloud: Cloud, *origin: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    topic, subscription = cloud.create_topic_and_subscription()
    cli = [sys.executable, "-m", "streamlake_fast.cli", "dead-letters", "replay", *origin, "--to-topic", topic,
           "--code", "unknown_field"]  # fmt: skip
    done = subprocess.run(cli, env={**os.environ, **cloud.env}, capture_output=True, text=True, timeout=120)
    return subscription, done


def _check_home(cloud: Cloud, subscription: str, done: subprocess.CompletedProcess[str],
                originals: list[tuple[bytes, dict[str, str]]], source: str) -> None:  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "replayed: unknown_field 3" in done.stdout and "left: invalid_value 1" in done.stdout, done.stdout
    home = {m.message.data: dict(m.message.attributes) for m in pull_all(cloud, subscription)}
    assert home == {d: {**a, REPLAYED_FROM: source} for d, a in originals if b"loyalty_tier" in d}


def test_replay_from_the_rejects_files(pubsub_only: Cloud, tmp_path: Path) -> None:
    originals = _dead_letters(pubsub_only, "", DeadLetterFiles(str(tmp_path)))
    subscription, done = _replay_stored(pubsub_only, "--from-files", str(tmp_path))
    _check_home(pubsub_only, subscription, done, originals, str(tmp_path))


def test_replay_from_the_rejects_table(cloud: Cloud) -> None:
    table = cloud.create_table(DEAD_LETTER_FIELDS, name="receipts_rejects")
    originals = _dead_letters(cloud, "", DeadLetterTable(table))
    subscription, done = _replay_stored(cloud, "--from-table", table)
    _check_home(cloud, subscription, done, originals, table)


def test_a_cut_row_of_the_rejects_table_is_not_replayed(cloud: Cloud) -> None:
    """The rejects table keeps only the first 1 MB of a larger message: replaying that would publish a truncated
    event as if it were the original, so it is counted "not replayable" and left where it is."""
    table = cloud.create_table(DEAD_LETTER_FIELDS, name="receipts_rejects")
    big = json.dumps({"id": "big", "loyalty_tier": "x" * 1_200_000}).encode()
    small = b'{"id": "e", "loyalty_tier": "gold"}'
    messages = Messages.from_parts([(big, {}, "m-big", 1_700_000_000_000_000, ""),
                                    (small, {}, "m-e", 1_700_000_000_000_000, "")])  # fmt: skip
    result = Codec(OLD).decode(messages)
    records = dead_letter_records(messages, result.rejects, source="s", schema_fingerprint=OLD.fingerprint)
    sink = DeadLetterTable(table)
    sink.write(records)
    sink.close()
    subscription, done = _replay_stored(cloud, "--from-table", table)
    assert done.returncode == 0, done.stderr
    assert "replayed: unknown_field 1" in done.stdout and "not replayable: unknown_field 1" in done.stdout, done.stdout
    assert [m.message.data for m in pull_all(cloud, subscription)] == [small]


def test_dead_letters_being_republished_stay_leased(pubsub_only: Cloud) -> None:
    """A republish slower than the dead-letter subscription's ack deadline (a 10 s deadline, the topic's endpoint
    hung for 14 s): the dead letters being replayed are leased for the publish, so nobody else gets them meanwhile
    (with the subscription's own 10 s they came back and a second replay published them twice)."""
    import threading

    import grpc

    from streamlake_fast.deadletters.replay import replay_subscription
    from tests.servers.tcp_proxy import TcpProxy

    topic, _ = pubsub_only.create_topic_and_subscription()
    dlq_topic, dlq_sub = pubsub_only.create_topic_and_subscription("dlq", ack_deadline=10)
    _dead_letters(pubsub_only, dlq_topic)
    proxy = TcpProxy(pubsub_only.pubsub_host)
    proxy.stall()
    result: list[object] = []
    replay = threading.Thread(target=lambda: result.append(replay_subscription(
        dlq_sub, topic, channel=grpc.insecure_channel(proxy.host))))  # fmt: skip
    replay.start()
    try:
        time.sleep(12)  # past the subscription's ack deadline, the publish still hanging
        others = pubsub_only.subscriber().pull(subscription=dlq_sub, max_messages=10, timeout=5, retry=None)
        got = [m.message.data for m in others.received_messages]
        assert not [d for d in got if b"loyalty_tier" in d], "dead letters handed out while being replayed"
    finally:
        time.sleep(2)
        proxy.restore()
        replay.join(120)
        proxy.close()
    assert sum(result[0].replayed.values()) == 4  # type: ignore[attr-defined]


def test_replay_across_transports(pubsub_only: Cloud, sqs: Any) -> None:  # noqa: F811
    """From a dead-letter queue (SQS) to the main topic (Pub/Sub), and from a dead-letter subscription to the main
    queue: the same originals, chosen the same way, the ones left handed back."""
    from streamlake_fast.sinks.deadletter.queue import DeadLetterQueue

    env = dict(os.environ)
    topic, subscription = pubsub_only.create_topic_and_subscription()
    dlq = sqs.create_queue(QueueName="replay-dlq")["QueueUrl"]
    originals = _dead_letters(pubsub_only, "", DeadLetterQueue(dlq))
    cli = [sys.executable, "-m", "streamlake_fast.cli", "dead-letters", "replay", "--code", "unknown_field"]
    done = subprocess.run([*cli, "--from-queue", dlq, "--to-topic", topic], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "replayed: unknown_field 3" in done.stdout and "left: invalid_value 1" in done.stdout, done.stdout
    home = {m.message.data: dict(m.message.attributes) for m in pull_all(pubsub_only, subscription)}
    assert home == {d: {**a, REPLAYED_FROM: dlq} for d, a in originals if b"loyalty_tier" in d}
    left = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert [json.loads(m["Body"])["data"] for m in left] == [originals[1][0].decode()]  # handed back at once

    dlq_topic, dlq_sub = pubsub_only.create_topic_and_subscription("dlq")
    _dead_letters(pubsub_only, dlq_topic)
    main = sqs.create_queue(QueueName="replay-main")["QueueUrl"]
    done = subprocess.run([*cli, "--from-subscription", dlq_sub, "--to-queue", main], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    sent = {m["Body"].encode(): {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()} for m in got}
    assert sent == {d: {**a, REPLAYED_FROM: dlq_sub} for d, a in originals if b"loyalty_tier" in d}
