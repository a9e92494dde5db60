"""The extension's allocator keeps freed pages for the next batch (rust/src/allocator.rs), unless the environment
says otherwise. Each case loads the extension in a new process: the setting is made when it loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _delay(env: dict[str, str]) -> str:
    code = "from streamlake_fast import _native; print(_native.ALLOCATOR_PURGE_DELAY_MS)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}
    return subprocess.run([sys.executable, "-c", code], env=clean | env, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


@pytest.mark.parametrize(("env", "expected"), [({}, "10000"), ({"MIMALLOC_PURGE_DELAY": "2500"}, "2500"),
                                               ({"MIMALLOC_PURGE_DELAY": "-1"}, "-1")])  # fmt: skip
def test_freed_pages_are_kept_unless_the_environment_sets_the_delay(env: dict[str, str], expected: str) -> None:
    assert _delay(env) == expected
