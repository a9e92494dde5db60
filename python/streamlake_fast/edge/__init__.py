"""The edge processor: raw events in, validated and transformed, published to Pub/Sub or SQS — the
:class:`~streamlake_fast.edge.publisher.Publisher` and its HTTP face, ``streamlake serve``."""
