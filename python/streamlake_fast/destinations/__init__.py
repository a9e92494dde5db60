"""The one destination model: :class:`Destinations` describes where decoded events go (sinks, dead letters, their
options); :func:`streamlake_fast.destinations.build.build` makes them, for every runtime."""

from streamlake_fast.destinations.model import DEAD_LETTER_KINDS, DeadLetter, Destinations
from streamlake_fast.destinations.options import (
    CodecConfig,
    CreateTableConfig,
    IcebergConfig,
    LakeConfig,
    SchemaUpdateConfig,
)

__all__ = [
    "DEAD_LETTER_KINDS",
    "CodecConfig",
    "CreateTableConfig",
    "DeadLetter",
    "Destinations",
    "IcebergConfig",
    "LakeConfig",
    "SchemaUpdateConfig",
]
