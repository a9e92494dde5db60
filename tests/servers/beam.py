"""Apache Beam for the tests that need it: they run in Beam's own virtualenv (``make test-beam``), where
``STREAMLAKE_REQUIRE_BEAM=1`` makes a missing Beam a failure; elsewhere (the core environment, which Beam's pins
would hold back) they are skipped."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require_beam() -> ModuleType:
    if os.environ.get("STREAMLAKE_REQUIRE_BEAM") == "1":
        return importlib.import_module("apache_beam")
    return pytest.importorskip("apache_beam", reason="Beam's tests run in .venv-beam: make test-beam")
