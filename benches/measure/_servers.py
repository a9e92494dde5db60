"""Shared by the measurement scripts: the emulators (through ``tests/servers`` when importable) and small helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path("/tmp/measure")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:  # the tests' helpers (they set STREAMLAKE_BQEMULATOR_PYTHON to .venv-bqemu themselves)
    from tests.servers.processes import Server, start_bigquery, start_pubsub
except ImportError:  # the same launchers, from the package
    os.environ.setdefault("STREAMLAKE_BQEMULATOR_PYTHON", str(ROOT / ".venv-bqemu/bin/python"))
    from streamlake_fast.local import LocalServer as Server
    from streamlake_fast.local import start_bigquery, start_pubsub

__all__ = [
    "OUT",
    "ROOT",
    "Server",
    "code_under_test",
    "create_topic_and_subscription",
    "rss_kb",
    "start_bigquery",
    "start_pubsub",
    "tree_rss_kb",
]


def code_under_test() -> str:
    """Where streamlake_fast is imported from (``PYTHONPATH`` may point at a snapshot of a commit)."""
    import streamlake_fast

    return f"streamlake_fast {streamlake_fast.__version__} from {Path(streamlake_fast.__file__).parent}"


def create_topic_and_subscription(topic: str, subscription: str, ack_deadline: int) -> None:
    """On the emulator named by ``PUBSUB_EMULATOR_HOST``."""
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    pubsub_v1.PublisherClient().create_topic(name=topic)
    subscriber: Any = pubsub_v1.SubscriberClient()
    subscriber.create_subscription(name=subscription, topic=topic, ack_deadline_seconds=ack_deadline)


def rss_kb(pid: int | str = "self", key: str = "VmRSS") -> int:
    """A ``/proc/PID/status`` memory line in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (the emulators run Java under a shell script)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss_kb(p)
        todo.extend(children.get(p, []))
    return total
