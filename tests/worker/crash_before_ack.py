"""``python tests/worker/crash_before_ack.py N run ARGS…``: ``streamlake run`` that dies (exit 137, as kill -9) at its
N-th acknowledgement to Pub/Sub, before sending it — after the rows it covers became durable. The deterministic
form of the crash a kill -9 hits only sometimes."""

from __future__ import annotations

import os
import sys

from streamlake_fast.cli import main
from streamlake_fast.transports.gcp.pull import PubSubSource

if __name__ == "__main__":
    crash_at, calls = int(sys.argv[1]), [0]
    acknowledge = PubSubSource._acknowledge

    def dying(self: PubSubSource, messages: object) -> None:
        calls[0] += 1
        if calls[0] >= crash_at:
            os._exit(137)
        acknowledge(self, messages)  # type: ignore[arg-type]

    PubSubSource._acknowledge = dying  # type: ignore[method-assign]
    sys.exit(main(sys.argv[2:]))
