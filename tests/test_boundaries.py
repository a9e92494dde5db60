"""The private native module stays behind its wrapper modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRAPPERS = {"schema.py", "codec.py", "messages.py", "pubsub_wire.py", "sqs_wire.py", "transform.py"}


def _uses_native(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and "_native" in node.module:
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "_native" for a in node.names):
            return True
        if isinstance(node, ast.Import) and any("_native" in a.name for a in node.names):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "_native":
            return True
    return False


def test_only_the_wrapper_modules_touch_native() -> None:
    package = ROOT / "python" / "streamlake_fast"
    files = [*package.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "benches").rglob("*.py")]
    users = {str(p.relative_to(ROOT)) for p in files if _uses_native(p) and p != Path(__file__)}
    assert users == {f"python/streamlake_fast/{w}" for w in WRAPPERS}


def test_every_module_imports_first() -> None:
    """Each module imports in a fresh interpreter as the first import (an import cycle shows up only in some
    orders: e.g. the worker → the dead-letter queue → the AWS package → the Lambda handler → the worker)."""
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    package = ROOT / "python" / "streamlake_fast"
    modules = sorted(
        "streamlake_fast." + ".".join(p.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
        for p in package.rglob("*.py")
        if "local" not in p.relative_to(package).parts and p.name != "__main__.py"
    )
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"

    def first_import(module: str) -> str | None:  # one interpreter each: every module gets to be the first one
        done = subprocess.run([sys.executable, "-c", script, module], capture_output=True, text=True)
        if done.returncode == 0:
            return None
        last = done.stderr.strip().splitlines()[-1]
        # An extra this environment lacks (Beam's modules in the core environment; make test-beam imports them)
        return None if last.startswith("streamlake_fast.exceptions.MissingExtra:") else f"{module}: {last}"

    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        failed = [f for f in pool.map(first_import, modules) if f is not None]
    assert failed == []
