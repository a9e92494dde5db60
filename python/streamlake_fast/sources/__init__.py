"""Where events come from."""

from streamlake_fast.sources.base import Source
from streamlake_fast.sources.pubsub import PubSubSource

__all__ = ["PubSubSource", "Source"]
