"""The routed end-to-end tests' parts: the mixed stream published with its ``type`` attributes, the routes' config
(a table created per route — the payments lake-only — and a lake prefix per type), and the check of what landed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from streamlake_fast.local.mixed import MIXED_SCHEMAS, MIXED_TYPES, UNKNOWN_TYPE, MixedEvent
from tests.servers.fixtures import Cloud
from tests.sinks.lake.helpers import read_lake
from tests.worker.helpers import table_rows

__all__ = ["check_routed", "publish_mixed", "routes_config", "schema_files"]


def schema_files(tmp_path: Path) -> dict[str, str]:
    """Each mixed type's schema as a file under ``tmp_path``: type → path."""
    out = {}
    for kind, fields in MIXED_SCHEMAS.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(fields))
        out[kind] = str(path)
    return out


def publish_mixed(cloud: Cloud, topic: str, events: list[MixedEvent]) -> list[str]:
    publisher = cloud.publisher()
    futures = [publisher.publish(topic, e.data, **e.attributes) for e in events]
    return [f.result(timeout=120) for f in futures]


def routes_config(cloud: Cloud, tmp_path: Path, subscription: str) -> tuple[Path, dict[str, str]]:
    tables = {}
    lines = [f'subscription = "{subscription}"', f'lake = {{ root = "{tmp_path / "lake"}" }}',
             "create_table = { enabled = true, metadata_columns = [\"message_id\"] }", ""]  # fmt: skip
    dataset = cloud.create_table([{"name": "x", "type": "STRING"}], "unused").rsplit(".", 1)[0]
    for kind in MIXED_TYPES:
        schema = tmp_path / f"{kind}.json"
        schema.write_text(json.dumps(MIXED_SCHEMAS[kind]))
        # bqemulator cannot create a BIGNUMERIC column (500): the payments go to the lake only here.
        tables[kind] = f"{dataset}.{kind}s" if kind != "payment" else ""
        lines += ["[[routes]]", f'name = "{kind}"', 'attribute = "type"', f'value = "{kind}"',
                  f'schema = "{schema}"', f'table = "{tables[kind]}"', ""]  # fmt: skip
    path = tmp_path / "routes.toml"
    path.write_text("\n".join(lines))
    return path, tables


def check_routed(cloud: Cloud, tmp_path: Path, tables: dict[str, str], events: list[MixedEvent], ids: list[str],
                  *, exactly_once: bool) -> None:  # fmt: skip
    for kind in MIXED_TYPES:
        want = Counter(i for i, e in zip(ids, events, strict=True) if e.type == kind and e.valid)
        landed_in = [("lake", read_lake(tmp_path / "lake" / kind))]
        if tables[kind]:
            landed_in.append(("table", table_rows(cloud, tables[kind])))
        for where, landed in landed_in:
            got = Counter(landed.column("message_id").to_pylist())
            assert set(got) == set(want), f"{kind} {where}: {len(set(want) - set(got))} missing, " \
                                          f"{len(set(got) - set(want))} not of this type"  # fmt: skip
            if exactly_once:
                assert got == want, f"{kind} {where}: duplicates"
    dead = [json.loads(line) for p in (tmp_path / "lake" / "_rejects").rglob("*.ndjson")
            for line in p.read_text().splitlines()]  # fmt: skip
    by_code: dict[str, set[str]] = {}
    for r in dead:
        by_code.setdefault(str(r["reason_code"]), set()).add(str(r["message_id"]))
    assert by_code["no_route"] == {i for i, e in zip(ids, events, strict=True) if e.type == UNKNOWN_TYPE}
    assert by_code["unknown_field"] == {i for i, e in zip(ids, events, strict=True)
                                        if not e.valid and e.type != UNKNOWN_TYPE}  # fmt: skip
