"""The private native module stays behind its wrapper modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRAPPERS = {"schema.py", "codec.py", "messages.py", "pubsub_wire.py", "sqs_wire.py"}


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
