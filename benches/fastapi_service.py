"""The service a Python user writes today for the edge processor: FastAPI, the receipt's pydantic model, and
google-cloud-pubsub's ``PublisherClient``, under uvicorn. ``POST /v1/events`` takes one JSON event or NDJSON,
validates each event, adds ``event_id``/``ingest_time``, publishes and answers once every publish resolved.

    TOPIC=projects/P/topics/T uvicorn fastapi_service:app --port PORT   (run from benches/)
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timezone

from baseline_pipeline import Receipt
from fastapi import FastAPI, Request
from google.cloud import pubsub_v1
from pydantic import ValidationError

TOPIC = os.environ["TOPIC"]
app = FastAPI()
publisher = pubsub_v1.PublisherClient()


class Enriched(Receipt):
    event_id: str = ""  # filled when absent
    ingest_time: datetime | None = None


@app.post("/v1/events")
async def events(request: Request) -> dict[str, object]:
    body = await request.body()
    ndjson = request.headers.get("content-type", "").startswith("application/x-ndjson")
    lines = [line for line in body.splitlines() if line.strip()] if ndjson else [body]
    now = datetime.now(timezone.utc)
    accepted, rejected = [], []
    for i, line in enumerate(lines):
        try:
            event = Enriched.model_validate_json(line)
        except ValidationError as e:
            rejected.append({"index": i, "message": str(e)})
            continue
        event.event_id = event.event_id or uuid.uuid4().hex
        event.ingest_time = now
        accepted.append(event.model_dump_json().encode())
    futures = [publisher.publish(TOPIC, data) for data in accepted]
    await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    return {"accepted": len(accepted), "rejected": rejected}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
