"""The SQS → lake loop an AWS Python user writes today: boto3 ``receive_message`` → ``json.loads`` → a pydantic
model → ``pa.Table.from_pylist`` → one Parquet file per batch → ``delete_message_batch``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from baseline_pipeline import Receipt
from pydantic import ValidationError


def run_sqs_baseline(sqs: Any, url: str, n: int, out: Path, batch_rows: int = 5000) -> dict[str, int]:
    """Consume ``n`` messages into Parquet files under ``out``; invalid events are logged and dropped."""
    counts = {"handled": 0, "rows": 0, "invalid": 0}
    rows: list[dict[str, Any]] = []
    handles: list[str] = []

    def flush() -> None:
        if rows:
            pq.write_table(pa.Table.from_pylist(rows), out / f"part-{uuid.uuid4().hex}.parquet", compression="zstd")
            counts["rows"] += len(rows)
            rows.clear()
        for i in range(0, len(handles), 10):
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "ReceiptHandle": h}
                                                            for j, h in enumerate(handles[i : i + 10])])  # fmt: skip
        handles.clear()

    while counts["handled"] < n:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     MessageAttributeNames=["All"], AttributeNames=["All"])  # fmt: skip
        messages = answer.get("Messages", [])
        for m in messages:
            counts["handled"] += 1
            handles.append(m["ReceiptHandle"])
            try:
                rows.append(Receipt.model_validate(json.loads(m["Body"])).model_dump(mode="json"))
            except (ValueError, ValidationError):
                counts["invalid"] += 1
        if len(rows) >= batch_rows:
            flush()
    flush()
    return counts
