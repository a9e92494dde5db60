"""The HTTP services: ``streamlake serve`` (the edge processor: events in, published to Pub/Sub) and the Pub/Sub
push handler (deliveries in, written to BigQuery and/or the lake). Both are plain ASGI apps run by uvicorn, and
both hand concurrent requests to a :class:`~streamlake_fast.http.microbatch.MicroBatcher`, so requests arriving
together share one native call and one ``Publish`` or append."""
