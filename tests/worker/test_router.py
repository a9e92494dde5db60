"""Routes on the worker, end to end to a real lake on disk: one stream of four event types, each to its own prefix
with its own schema; unknown types and hostile template values dead-lettered with the reason; the destinations kept
open bounded in number."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from streamlake_fast import ConfigError, Messages
from streamlake_fast.destinations import Destinations
from streamlake_fast.destinations.options import LakeConfig
from streamlake_fast.destinations.routes import Route, RoutingConfig
from streamlake_fast.local.mixed import MIXED_TYPES, UNKNOWN_TYPE, MixedEvent, mixed_events
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker import Worker
from tests.sinks.lake.helpers import read_lake
from tests.worker.routes import schema_files


def _messages(events: list[MixedEvent], size: int) -> list[Messages]:
    parts = [(e.data, e.attributes, f"m{i}", 1_700_000_000_000_000, "") for i, e in enumerate(events)]
    return [Messages.from_parts(parts[i : i + size]) for i in range(0, len(parts), size)]


def _run(d: Destinations, batches: list[Messages]) -> tuple[Worker, MemorySource]:
    source = MemorySource(batches)
    worker = Worker(source, routes=d, exit_when_drained=True, progress_interval=60, max_rows=1000)
    worker.run()
    return worker, source


def _dead_letters(root: Path) -> list[dict[str, object]]:
    return [
        json.loads(line) for p in sorted((root / "_rejects").rglob("*.ndjson")) for line in p.read_text().splitlines()
    ]


def test_four_types_on_one_stream_land_each_in_its_own_prefix(tmp_path: Path) -> None:
    events = mixed_events(4_000, invalid_fraction=0.01, unknown_fraction=0.01)
    schemas = schema_files(tmp_path)
    root = tmp_path / "lake"
    routes = [Route(name=kind, attribute="type", value=kind, schema=schemas[kind]) for kind in MIXED_TYPES]
    d = Destinations(lake=LakeConfig(root=str(root)), routes=routes)
    worker, source = _run(d, _messages(events, 500))

    assert source.acked == len(events) and source.nacked == 0
    for kind in MIXED_TYPES:
        table = read_lake(root / kind)
        want = [e.data for e in events if e.type == kind and e.valid]
        assert table.num_rows == len(want), kind
        assert sorted(table.column("message_id").to_pylist()) == sorted(
            f"m{i}" for i, e in enumerate(events) if e.type == kind and e.valid)  # fmt: skip
    dead = _dead_letters(root)
    codes = Counter(r["reason_code"] for r in dead)
    assert codes == {"no_route": sum(e.type == UNKNOWN_TYPE for e in events),
                     "unknown_field": sum(not e.valid and e.type != UNKNOWN_TYPE for e in events)}  # fmt: skip
    no_route = next(r for r in dead if r["reason_code"] == "no_route")
    assert no_route["message"] == "no route for attribute 'type' is 'clickstream', and no default route"
    stats = worker.stats.routes
    assert sum(s.events for s in stats.values()) + codes["no_route"] == len(events)
    assert {k: s.rows for k, s in stats.items()} == {k: read_lake(root / k).num_rows for k in MIXED_TYPES}
    assert "route receipt:" in worker.stats.totals()


def test_a_default_route_takes_what_no_other_route_does(tmp_path: Path) -> None:
    events = mixed_events(400, invalid_fraction=0, unknown_fraction=0)
    schemas = schema_files(tmp_path)
    routes = [Route(name="iot", attribute="type", value="iot", schema=schemas["iot"]),
              Route(name="rest", schema=schemas["receipt"])]  # fmt: skip
    root = tmp_path / "lake"
    _worker, source = _run(Destinations(lake=LakeConfig(root=str(root)), routes=routes), _messages(events, 100))
    assert source.acked == 400
    assert read_lake(root / "iot").num_rows == 100
    assert read_lake(root / "rest").num_rows == 100  # the receipts; the other types fail the receipt schema
    assert Counter(r["reason_code"] for r in _dead_letters(root))["unknown_field"] == 200


def test_templated_paths_fan_out_within_the_open_limit(tmp_path: Path) -> None:
    """A lake path per store and month: every row in its own prefix, at most ``max_open`` destinations open."""
    events = [e for e in mixed_events(2_000, invalid_fraction=0) if e.type == "receipt"]
    schemas = schema_files(tmp_path)
    root = tmp_path / "lake"
    d = Destinations(schema=schemas["receipt"], routing=RoutingConfig(max_open=3),
                     lake=LakeConfig(root=f"{root}/{{field.store_id}}/{{event_time:%Y-%m}}"))  # fmt: skip
    worker, source = _run(d, _messages(events, 100))
    assert source.acked == len(events)
    router = worker.fanout
    stores = {json.loads(e.data)["store_id"] for e in events}
    assert len(stores) > 3
    total = 0
    for store in stores:
        for month in (root / store).iterdir():
            table = read_lake(month)
            assert set(table.column("store_id").to_pylist()) == {store}
            assert {t.strftime("%Y-%m") for t in table.column("event_time").to_pylist()} == {month.name}
            total += table.num_rows
    assert total == len(events)
    assert len(router.cache) <= 3 and router.cache.opened >= len(stores)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("../x", "'/', '\\' and '..' are not allowed in a path part"),
        ("a/b", "'/', '\\' and '..' are not allowed in a path part"),
        ("x" * 2_000, "2,000 bytes, over 255 for a path part"),
        ("tab\there", "control or unassigned characters"),
        ("", "empty"),
    ],
)
def test_hostile_template_values_are_dead_lettered_never_written_elsewhere(
    tmp_path: Path, value: str, why: str
) -> None:
    schemas = schema_files(tmp_path)
    root = tmp_path / "lake"
    d = Destinations(schema=schemas["iot"], lake=LakeConfig(root=f"{root}/by_site/{{attributes.site}}"))
    good = b'{"device_id":"d-1","ts":"2026-12-01T00:00:00Z"}'
    batch = Messages.from_parts([(good, {"site": value}, "bad", 0, ""), (good, {"site": "ok"}, "good", 0, "")])
    _, source = _run(d, [batch])
    assert source.acked == 2
    assert read_lake(root / "by_site" / "ok").num_rows == 1
    assert sorted(p.relative_to(root).parts[:2] for p in root.rglob("*.parquet")) == [("by_site", "ok")]
    [dead] = _dead_letters(root / "by_site")  # the template's literal start
    assert dead["reason_code"] == "invalid_destination" and dead["message_id"] == "bad"
    assert why in dead["message"] and "{attributes.site}" in dead["message"]


def test_routes_are_checked_before_anything_runs(tmp_path: Path) -> None:
    schemas = schema_files(tmp_path)
    lake = LakeConfig(root=str(tmp_path))
    cases = [
        ([Route(name="a", attribute="type", value="x"), Route(name="a", attribute="type", value="y")],
         "two routes are named"),
        ([Route(name="a", attribute="type", value="x"), Route(name="b", field="kind", value="y")], "the same key"),
        ([Route(name="a", attribute="type")], "give a key (attribute or field) and its value"),
        ([Route(name="a b")], "route name 'a b'"),
        ([Route(name="a", lake="x/{attributes}")], "is not {attributes.NAME}"),
        ([Route(name="a", table="p.d.t_{event_time:%Y/%m}", schema=schemas["iot"])], "not allowed in a table name"),
        ([Route(name="a", attribute="type", value="x")], "route a: without a table the schema must be given"),
    ]  # fmt: skip
    for routes, message in cases:
        with pytest.raises(ConfigError) as e:
            Destinations(lake=lake, routes=routes).check()
        assert message in str(e.value), (routes, str(e.value))


def test_batch_rows_are_never_written_to_the_wrong_type(tmp_path: Path) -> None:
    """Payments routed by a nested field: each method's prefix holds only that method's payments."""
    _, data = __import__("streamlake_fast.local.shapes", fromlist=["payments"]).payments(300, 1)
    schemas = schema_files(tmp_path)
    root = tmp_path / "lake"
    d = Destinations(schema=schemas["payment"], lake=LakeConfig(root=f"{root}/{{field.method}}"))
    _run(d, [Messages.from_data(data)])
    methods = Counter(json.loads(m)["method"] for m in data)
    for method, n in methods.items():
        table: pa.Table = read_lake(root / method)
        assert table.num_rows == n and set(table.column("method").to_pylist()) == {method}
