"""``streamlake dead-letters replay --from-table / --from-files``: dead letters kept in the rejects table or in the
lake's rejects files back to the main topic or queue, as their original data and attributes plus ``replayed_from``.

Unlike a subscription, a table or a file is not consumed by reading it: the dead letters stay where they are, so
a second replay sends them again (choose with ``--since``). The replay exits once every stored dead letter was
read (or ``--limit`` was reached), each chunk taken by the target before the next is read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pyarrow.fs as pafs

from streamlake_fast.deadletters.replay import REPLAYED_FROM, ReplayCounts, ReplayFilter
from streamlake_fast.deadletters.targets import Message, Target
from streamlake_fast.sinks.deadletter.record import CUT_MARK
from streamlake_fast.transports.names import parse_table
from streamlake_fast.transports.storage import Root

__all__ = ["file_records", "replay_records", "table_records"]

_CHUNK = 500


def replay_records(
    records: Iterable[dict[str, Any]], target: Target, source: str, flt: ReplayFilter | None = None
) -> ReplayCounts:
    """Send the chosen ``records`` (dead-letter records: ``data``, ``attributes``, ``reason_code``,
    ``rejected_at``) to ``target`` (the main topic or queue) as their original messages, with ``replayed_from`` =
    ``source``."""
    flt = flt or ReplayFilter()
    counts = ReplayCounts()
    chunk: list[Message] = []
    codes: list[str] = []

    def send() -> None:
        if chunk:
            target.send(chunk)
            counts.replayed.update(codes)
            chunk.clear()
            codes.clear()

    try:
        for record in records:
            code = record.get("reason_code") or ""
            at = record.get("rejected_at")
            at = at.isoformat() if isinstance(at, datetime) else at
            full = flt.limit is not None and sum(counts.replayed.values()) + len(chunk) >= flt.limit
            if full or not flt.accepts(code, at):
                counts.left[code] += 1
                continue
            if CUT_MARK in str(record.get("message") or ""):  # the rejects table kept only the data's first 1 MB
                counts.unreplayable[code] += 1
                continue
            attributes = record.get("attributes") or {}
            attrs = dict(json.loads(attributes) if isinstance(attributes, str) else attributes)
            message = (_data(record), {**attrs, REPLAYED_FROM: source})
            if not target.fits(message):
                counts.unreplayable[code] += 1
                continue
            chunk.append(message)
            codes.append(code)
            if len(chunk) >= _CHUNK:
                send()
        send()
    finally:
        target.close()
    return counts


def _data(record: dict[str, Any]) -> bytes:
    if "data_base64" in record:
        return base64.b64decode(record["data_base64"])
    data = record["data"]
    return data if isinstance(data, bytes) else str(data).encode()


def table_records(table: str) -> Iterator[dict[str, Any]]:
    """The rows of a rejects table (``project.dataset.table``), read page by page."""
    from streamlake_fast.transports.gcp.channels import bigquery_client

    project, dataset, name = parse_table(table)
    for row in bigquery_client(project).list_rows(f"{project}.{dataset}.{name}", page_size=10_000):
        yield dict(row.items())


def file_records(root: str) -> Iterator[dict[str, Any]]:
    """The records of the rejects files under ``root/_rejects`` (a path, ``gs://`` or ``s3://`` URI), oldest
    file first."""
    storage = Root(root, "lake root")
    selector = pafs.FileSelector(f"{storage.path}/_rejects", recursive=True, allow_not_found=True)
    infos = [i for i in storage.fs.get_file_info(selector) if i.type == pafs.FileType.File
             and i.base_name.endswith(".ndjson") and not i.base_name.startswith(".")]  # fmt: skip
    for info in sorted(infos, key=lambda i: i.base_name):
        with storage.fs.open_input_stream(info.path) as f:
            for line in f.read().splitlines():
                if line.strip():
                    yield json.loads(line)
