"""The pipeline a typical user writes today: google-cloud-pubsub streaming pull with a callback → json.loads →
a pydantic model → ``insert_rows_json`` in batches of 500 → ack."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

# NUMERIC's limits, as a careful user declares them (otherwise insertAll fails the whole request on such a row).
Numeric = Annotated[Decimal, Field(max_digits=38, decimal_places=9)]


class Payment(BaseModel):
    method: str
    card_last4: str | None = None
    amount: Numeric


class Item(BaseModel):
    sku: str
    name: str | None = None
    qty: int
    unit_price: Numeric


class Receipt(BaseModel, extra="forbid"):
    event_id: str
    event_time: datetime
    customer_id: int
    store_id: str
    currency: str
    total: Numeric
    payment: Payment
    items: list[Item] = []
    coupon: str | None = None


def run_baseline(subscription: str, table: str, n: int, bigquery_client: Any, timeout: float = 900) -> dict[str, int]:
    """Consume ``n`` messages; returns counts. Invalid events are logged and dropped, as such pipelines do."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    table_ref = bigquery_client.get_table(table)
    lock = threading.Lock()
    pending: list[tuple[dict[str, Any], Any]] = []
    counts = {"handled": 0, "rows": 0, "invalid": 0}
    finished = threading.Event()

    def flush(batch: list[tuple[dict[str, Any], Any]]) -> None:
        errors = bigquery_client.insert_rows_json(table_ref, [row for row, _ in batch])
        if errors:
            raise RuntimeError(f"insert_rows_json: {errors[:3]}")
        for _, message in batch:
            message.ack()
        done(len(batch), rows=len(batch))

    def done(k: int, rows: int = 0, invalid: int = 0) -> None:
        with lock:
            counts["handled"] += k
            counts["rows"] += rows
            counts["invalid"] += invalid
            if counts["handled"] >= n:
                finished.set()

    def take(limit: int) -> list[tuple[dict[str, Any], Any]]:
        with lock:
            if len(pending) < limit:
                return []
            batch = pending[:]
            pending.clear()
            return batch

    def callback(message: Any) -> None:
        try:
            row = Receipt(**json.loads(message.data)).model_dump(mode="json")
        except (ValueError, ValidationError):
            message.ack()
            done(1, invalid=1)
            return
        with lock:
            pending.append((row, message))
        if batch := take(500):
            flush(batch)

    def flusher() -> None:  # the tail that never reaches 500
        while not finished.wait(1.0):
            if batch := take(1):
                flush(batch)

    threading.Thread(target=flusher, daemon=True).start()
    future = subscriber.subscribe(subscription, callback, flow_control=pubsub_v1.types.FlowControl(max_messages=2000))
    try:
        if not finished.wait(timeout):
            raise TimeoutError(f"baseline handled {counts} of {n} in {timeout}s; {len(pending)} pending")
    finally:
        future.cancel()
        time.sleep(0.5)
    return counts
