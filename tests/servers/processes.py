"""The emulators for the tests: the package's local launchers (bqemulator through its launcher in
``streamlake_fast/local/``, with the Python of ``.venv-bqemu``, which ``make emulators`` creates)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from streamlake_fast.exceptions import ServerUnavailable
from streamlake_fast.local import LocalServer as Server
from streamlake_fast.local import free_port, start_pubsub
from streamlake_fast.local import start_bigquery as _start_bigquery

__all__ = ["BQEMULATOR_PYTHON", "Server", "ServerUnavailable", "free_port", "start_bigquery", "start_pubsub"]

ROOT = Path(__file__).resolve().parents[2]
BQEMULATOR_PYTHON = Path(os.environ.get("STREAMLAKE_BQEMULATOR_PYTHON", ROOT / ".venv-bqemu/bin/python"))


def start_bigquery(project: str, timeout: float = 90) -> Server:
    if not BQEMULATOR_PYTHON.exists():
        raise ServerUnavailable(f"bqemulator's Python not found at {BQEMULATOR_PYTHON} (run `make emulators`)")
    os.environ.setdefault("STREAMLAKE_BQEMULATOR_PYTHON", str(BQEMULATOR_PYTHON))
    return _start_bigquery(project, timeout)


def wait_for_http(proc: subprocess.Popen[str], url: str, timeout: float = 60) -> None:
    """Wait until ``proc`` (still running) answers HTTP at ``url``; its stderr in the failure."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, f"{url} did not answer in {timeout:g} s"
            time.sleep(0.3)
