"""The public name of the Apache Beam transforms (:mod:`streamlake_fast.runtimes.beam`, extra ``[beam]``);
``python -m streamlake_fast.beam`` runs the pipeline (:mod:`streamlake_fast.runtimes.beam.pipeline`)."""

from streamlake_fast.runtimes.beam import (
    REJECTS,
    VALID,
    DecodeEvents,
    WriteDeadLetters,
    WriteToBigQueryArrow,
    WriteToLake,
    messages_of,
)
from streamlake_fast.runtimes.beam.pipeline import main

__all__ = [
    "REJECTS",
    "VALID",
    "DecodeEvents",
    "WriteDeadLetters",
    "WriteToBigQueryArrow",
    "WriteToLake",
    "main",
    "messages_of",
]

if __name__ == "__main__":
    main()
