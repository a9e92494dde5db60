"""Routes on Beam's DirectRunner: four event types mixed in one input (``PubsubMessage`` s with a ``type``
attribute), 1% invalid, some of a type no route takes → ``DecodeEvents(routes=…)`` → ``WriteToLake()`` keyed by
destination, a prefix per type; the unknown ones ``no_route`` and the invalid ones ``unknown_field`` dead letters,
each in its route's dead-letter destination; hostile template values dead-lettered, never written elsewhere."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from streamlake_fast import ConfigError
from streamlake_fast.destinations import Destinations
from streamlake_fast.destinations.options import LakeConfig
from streamlake_fast.destinations.routes import Route
from streamlake_fast.local.mixed import MIXED_TYPES, UNKNOWN_TYPE, MixedEvent, mixed_events
from tests.servers.beam import require_beam
from tests.sinks.lake.helpers import read_lake
from tests.worker.routes import schema_files

beam = require_beam()

from apache_beam.io.gcp.pubsub import PubsubMessage  # noqa: E402

from streamlake_fast.beam import DecodeEvents, WriteDeadLetters, WriteToLake  # noqa: E402

PUBLISHED = datetime(2026, 12, 7, 10, tzinfo=timezone.utc)


def _pubsub(events: list[MixedEvent]) -> list[Any]:
    return [PubsubMessage(e.data, e.attributes, message_id=f"m{i}", publish_time=PUBLISHED)
            for i, e in enumerate(events)]  # fmt: skip


def _dead_letters(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in root.rglob("*.ndjson") for line in p.read_text().splitlines()]


def _run(d: Destinations, messages: list[Any], *, max_batch_size: int = 500) -> None:
    with beam.Pipeline(runner="DirectRunner") as p:
        out = p | beam.Create(messages, reshuffle=False) | DecodeEvents(routes=d, max_batch_size=max_batch_size)
        out.valid | WriteToLake()
        out.rejects | WriteDeadLetters()


def test_four_types_in_one_input_each_to_its_prefix_and_dead_letters_to_their_route(tmp_path: Path) -> None:
    schemas = schema_files(tmp_path)
    lake, iot_dead = tmp_path / "lake", tmp_path / "iot-dead"
    routes = [Route(name=k, attribute="type", value=k, schema=schemas[k]) for k in MIXED_TYPES]
    routes[1] = Route(name="iot", attribute="type", value="iot", schema=schemas["iot"], dead_letter_dir=str(iot_dead))
    d = Destinations(lake=LakeConfig(root=str(lake)), routes=routes)
    events = mixed_events(4_000, invalid_fraction=0.01, unknown_fraction=0.01)
    _run(d, _pubsub(events))

    for kind in MIXED_TYPES:
        want = Counter(f"m{i}" for i, e in enumerate(events) if e.type == kind and e.valid)
        got = Counter(read_lake(lake / kind).column("message_id").to_pylist())
        assert got == want, f"{kind}: {len(set(want) - set(got))} missing, {len(set(got) - set(want))} stray"
    stream_dead = _dead_letters(lake / "_rejects")
    by_code: dict[str, set[str]] = {}
    for r in stream_dead:
        by_code.setdefault(r["reason_code"], set()).add(r["message_id"])
    assert by_code.pop("no_route") == {f"m{i}" for i, e in enumerate(events) if e.type == UNKNOWN_TYPE}
    invalid = {f"m{i}": e.type for i, e in enumerate(events) if not e.valid and e.type != UNKNOWN_TYPE}
    assert by_code.pop("unknown_field") == {m for m, t in invalid.items() if t != "iot"}
    assert not by_code
    iot = _dead_letters(iot_dead)  # the iot route's own dead-letter destination
    assert {r["message_id"] for r in iot} == {m for m, t in invalid.items() if t == "iot"}
    assert {r["reason_code"] for r in iot} == {"unknown_field"}
    assert all(r["schema_fingerprint"] for r in iot)
    no_route = next(r for r in stream_dead if r["reason_code"] == "no_route")
    assert no_route["message"] == f"no route for attribute 'type' is '{UNKNOWN_TYPE}', and no default route"


def test_hostile_template_values_are_dead_lettered_never_written_elsewhere(tmp_path: Path) -> None:
    schema = schema_files(tmp_path)["receipt"]
    lake = tmp_path / "lake"
    d = Destinations(lake=LakeConfig(root=f"{lake}/{{attributes.shop}}"), schema=schema)
    receipt = next(e.data for e in mixed_events(4) if e.type == "receipt")
    shops = ["berlin", "../x", "a/b", "x" * 2_000, "tab\there", "", "paris"]
    messages = [PubsubMessage(receipt, {"shop": s}, message_id=f"m{i}", publish_time=PUBLISHED)
                for i, s in enumerate(shops)]  # fmt: skip
    messages.append(PubsubMessage(receipt, {}, message_id="m-none", publish_time=PUBLISHED))
    _run(d, messages)
    assert sorted(p.name for p in lake.iterdir()) == ["_rejects", "berlin", "paris"]
    assert not list(tmp_path.glob("x*")) and not (lake / "a").exists()
    dead = {r["message_id"]: r for r in _dead_letters(lake / "_rejects")}
    assert set(dead) == {"m1", "m2", "m3", "m4", "m5", "m-none"}
    assert {r["reason_code"] for r in dead.values()} == {"invalid_destination"}
    assert "'..'" in dead["m1"]["message"] and "has no value" in dead["m-none"]["message"]


def test_decode_events_checks_routes_at_construction(tmp_path: Path) -> None:
    d = Destinations(lake=LakeConfig(root=str(tmp_path)), routes=[Route(name="r", attribute="type", value="x")])
    with pytest.raises(ConfigError, match="schema"):
        DecodeEvents(routes=d)
    with pytest.raises(ConfigError, match="unknown_fields"):
        DecodeEvents(routes=Destinations(lake=LakeConfig(root=str(tmp_path)), schema=schema_files(tmp_path)["iot"]),
                     unknown_fields="ignore")  # fmt: skip
    with pytest.raises(ConfigError, match="schema"):
        DecodeEvents()
