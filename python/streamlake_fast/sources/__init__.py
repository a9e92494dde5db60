"""Where events come from: the :class:`Source` protocol; the sources themselves live in their modules
(``sources.pubsub`` needs the gcp extra, ``sources.sqs`` the aws extra, ``sources.memory`` nothing)."""

from streamlake_fast.sources.base import Source

__all__ = ["Source"]
