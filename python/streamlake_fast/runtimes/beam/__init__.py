"""Apache Beam transforms around the codec, for Dataflow (extra ``[beam]``).

```python
with beam.Pipeline(options=options) as p:
    messages = p | beam.io.ReadFromPubSub(subscription=..., with_attributes=True)
    decoded = messages | DecodeEvents(schema)
    refused = decoded.valid | WriteToBigQueryArrow("project.dataset.table")
    decoded.valid | WriteToLake("gs://bucket/lake", schema)
    (decoded.rejects, refused) | beam.Flatten() | WriteDeadLetters(table="project.dataset.table_rejects")
```

A routed stream (``DecodeEvents(routes=destinations)``) gives ``(Destination, batch)`` pairs, which
``WriteToBigQueryArrow()``, ``WriteToLake()`` and ``WriteDeadLetters()`` without a fixed destination take.

``python -m streamlake_fast.beam`` runs that pipeline from the command line
(:mod:`streamlake_fast.runtimes.beam.pipeline`).
"""

from streamlake_fast.extras import needs_extra

with needs_extra():
    from streamlake_fast.runtimes.beam.bigquery import WriteToBigQueryArrow
    from streamlake_fast.runtimes.beam.deadletter import WriteDeadLetters
    from streamlake_fast.runtimes.beam.decode import REJECTS, VALID, DecodeEvents, messages_of
    from streamlake_fast.runtimes.beam.lake import WriteToLake
    from streamlake_fast.runtimes.beam.routed import Destination

__all__ = [
    "REJECTS",
    "VALID",
    "DecodeEvents",
    "Destination",
    "WriteDeadLetters",
    "WriteToBigQueryArrow",
    "WriteToLake",
    "messages_of",
]
