"""A PostgreSQL server for the tests (Debian's ``postgresql``): ``initdb`` and ``pg_ctl`` on a free port in a temporary
directory, as the ``postgres`` user when the tests run as root (the server refuses root), stopped at the end."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from streamlake_fast.local import free_port

__all__ = ["Postgres", "postgres"]


@dataclass
class Postgres:
    port: int
    directory: str

    @property
    def url(self) -> str:
        """A SQLAlchemy URL of the ``postgres`` database (trust authentication, local only)."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise FileNotFoundError(f"{name} not found: install Debian's postgresql (make postgres)")
    return found[-1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    try:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    except FileNotFoundError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    directory = tempfile.mkdtemp(prefix="streamlake-pg-")
    data = os.path.join(directory, "data")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(_as_server_user([initdb, "-D", data, "-A", "trust", "-U", "postgres"]), **run)  # type: ignore[call-overload]
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=100"
    subprocess.run(_as_server_user([pg_ctl, "-D", data, "-o", options, "-l", f"{directory}/log", "start", "-w"]),
                   **run)  # type: ignore[call-overload]  # fmt: skip
    try:
        yield Postgres(port, directory)
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", data, "stop", "-m", "fast"]), capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
