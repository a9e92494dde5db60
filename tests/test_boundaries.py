"""The package's boundaries: the private native module stays behind its wrapper modules, the import graph has no
cycle, and the core imports no cloud client."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRAPPERS = {"codec/schema.py", "codec/codec.py", "codec/messages.py", "codec/transform.py", "codec/envelope.py",
            "transports/gcp/wire.py", "transports/aws/wire.py"}  # fmt: skip
PACKAGE = ROOT / "python" / "streamlake_fast"


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
    package = PACKAGE
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


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module's imports of the package's modules — wherever they stand, in a function too — with the packages
    an import runs first (importing ``a.b.c`` runs ``a.b``'s ``__init__``)."""

    def resolve(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.startswith("streamlake_fast.")}
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("streamlake_fast")
            ):
                names = [f"{node.module}.{a.name}" for a in node.names]
                targets |= {
                    resolve(n if n in modules else str(node.module)) for n in names if not n.endswith("._native")
                }
        for target in list(targets):
            parts = target.split(".")
            targets |= {".".join(parts[:k]) for k in range(2, len(parts)) if not module.startswith(".".join(parts[:k]))}
        graph[module] = targets - {module, "streamlake_fast"}
    return graph


def test_the_import_graph_has_no_cycle() -> None:
    """No module imports, even inside a function, a module that imports it back (the AWS package and the sinks
    once did, worked around with a module ``__getattr__``)."""
    graph = _imports(_modules())
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph.get(module, ())):
            if (cycle := visit(target, [*path, module])) is not None:
                return cycle
        done.add(module)
        return None

    cycles = [c for m in sorted(graph) if (c := visit(m, [])) is not None]
    assert cycles == [], " → ".join(cycles[0])


#: The core: what every runtime runs. None of it imports a cloud client at import time.
CORE = [
    "streamlake_fast", "streamlake_fast.codec", "streamlake_fast.codec.evolution", "streamlake_fast.codec.transform",
    "streamlake_fast.config", "streamlake_fast.destinations", "streamlake_fast.destinations.build",
    "streamlake_fast.sources.memory", "streamlake_fast.sources.polling", "streamlake_fast.worker",
    "streamlake_fast.sinks.lake", "streamlake_fast.sinks.deadletter", "streamlake_fast.transports.retry",
    "streamlake_fast.transports.storage", "streamlake_fast.runtimes.worker", "streamlake_fast.runtimes.lambda_sqs",
]  # fmt: skip
#: (``google`` and ``google.cloud`` alone are namespace packages: looking for an extra imports them, no client.)
CLOUD_CLIENTS = ("grpc", "botocore", "boto3", "apache_beam", "google.api_core", "google.auth", "google.protobuf",
                 "google.cloud.bigquery", "google.cloud.pubsub", "google.pubsub_v1")  # fmt: skip


def test_the_core_imports_no_cloud_client() -> None:
    import subprocess
    import sys

    script = (
        "import importlib, sys\n"
        f"for m in {CORE!r}:\n    importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({CLOUD_CLIENTS!r})))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
