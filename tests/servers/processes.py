"""The emulators for the tests: the package's local launchers, with bqemulator started through the test-side
workarounds in ``bqemulator_launch.py`` (run by the emulator's own virtualenv, ``make emulators``)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from streamlake_fast.local import LocalServer as Server
from streamlake_fast.local import ServerUnavailable, free_port, start_pubsub
from streamlake_fast.local import start_bigquery as _start_bigquery

__all__ = ["BQEMULATOR_COMMAND", "Server", "ServerUnavailable", "free_port", "start_bigquery", "start_pubsub"]

ROOT = Path(__file__).resolve().parents[2]
BQEMULATOR_PYTHON = Path(os.environ.get("STREAMLAKE_BQEMULATOR_PYTHON", ROOT / ".venv-bqemu/bin/python"))
LAUNCHER = Path(__file__).with_name("bqemulator_launch.py")
BQEMULATOR_COMMAND = f"{shlex.quote(str(BQEMULATOR_PYTHON))} {shlex.quote(str(LAUNCHER))}"


def start_bigquery(project: str, timeout: float = 90) -> Server:
    if not BQEMULATOR_PYTHON.exists():
        raise ServerUnavailable(f"bqemulator's Python not found at {BQEMULATOR_PYTHON} (run `make emulators`)")
    os.environ.setdefault("STREAMLAKE_BQEMULATOR", BQEMULATOR_COMMAND)
    return _start_bigquery(project, timeout)
