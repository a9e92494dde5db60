"""The lake's schema history: ``ROOT/_schemas/<fingerprint>.json`` records each schema the lake's files have had
(its BigQuery columns and when a writer first used it), written whole before the first file of that schema is
visible. Files carry their schema's fingerprint in their footer, so ``lake verify`` can show which files have which
schema, and what each change added."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from streamlake_fast.codec.evolution import added_columns, narrowing
from streamlake_fast.codec.schema import BigQueryField, Schema
from streamlake_fast.transports.storage import Root

__all__ = ["SCHEMAS_DIR", "SchemaEntry", "describe_change", "read_history", "record_schema"]

SCHEMAS_DIR = "_schemas"


@dataclass(frozen=True)
class SchemaEntry:
    fingerprint: str
    first_used: str  # ISO 8601, UTC, microseconds
    fields: list[BigQueryField]


def record_schema(root: Root, schema: pa.Schema, fingerprint: str, spool_dir: Path) -> bool:
    """Record ``schema`` in the history unless it is there; True when this call recorded it."""
    final = f"{root.path}/{SCHEMAS_DIR}/{fingerprint}.json"
    if root.fs.get_file_info(final).type == pafs.FileType.File:
        return False
    if root.local:
        Path(final).parent.mkdir(parents=True, exist_ok=True)
    body = {
        "fingerprint": fingerprint,
        "first_used": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "fields": Schema.from_arrow(schema).to_bigquery(),
    }
    root.write_whole(final, json.dumps(body, indent=1).encode(), spool_dir)
    return True


def read_history(root: Root) -> list[SchemaEntry]:
    """Every recorded schema, oldest first."""
    infos = root.fs.get_file_info(pafs.FileSelector(f"{root.path}/{SCHEMAS_DIR}", allow_not_found=True))
    entries = []
    for info in infos:
        if info.type != pafs.FileType.File or not info.base_name.endswith(".json") or info.base_name[0] == ".":
            continue
        with root.fs.open_input_stream(info.path) as f:
            body = json.loads(f.read())
        entries.append(SchemaEntry(body["fingerprint"], body["first_used"], body["fields"]))
    return sorted(entries, key=lambda e: (e.first_used, e.fingerprint))


def describe_change(before: SchemaEntry | None, after: SchemaEntry) -> str:
    """``after`` as a change from ``before``: the columns added, or what else changed."""
    if before is None:
        return f"{len(after.fields)} columns"
    added = added_columns(before.fields, after.fields)
    other = narrowing(before.fields, after.fields)
    parts = ([f"added {', '.join(added)}"] if added else []) + other
    return "; ".join(parts) or "modes relaxed"
