"""Local stand-ins for the cloud, for the demo and the tests: Google's Pub/Sub emulator, bqemulator and moto's server
(SQS and S3), each a child process on a free port, stopped with :meth:`LocalServer.stop`.

Where they are: ``STREAMLAKE_PUBSUB_EMULATOR`` (default: the Google Cloud SDK's install path) and, for
bqemulator, ``STREAMLAKE_BQEMULATOR`` (a whole command) or ``STREAMLAKE_BQEMULATOR_PYTHON`` (a Python with
bqemulator installed; default ``.venv-bqemu/bin/python`` under the current directory, which ``make emulators``
creates), run with :mod:`bqemulator_launch <streamlake_fast.local.bqemulator_launch>` (its offline start and its
known bugs worked around), else ``bqemulator start`` from ``PATH``. The command is run with ``--rest-port``,
``--grpc-port``, ``--ephemeral`` and ``--project`` appended and ``HOME`` set to a private directory. moto's
server runs in this Python (``pip install 'moto[server]'``) through :mod:`moto_launch
<streamlake_fast.local.moto_launch>`, which makes its SQS usable at volume.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from streamlake_fast.exceptions import ServerUnavailable

__all__ = ["LocalServer", "bqemulator_command", "free_port", "start_bigquery", "start_moto", "start_pubsub"]

DEFAULT_PUBSUB_EMULATOR = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
LAUNCHER = Path(__file__).with_name("bqemulator_launch.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServerUnavailable(f"port {port} not open after {timeout:.0f}s: {log.read_text(errors='replace')[-2000:]}")


@dataclass
class LocalServer:
    proc: subprocess.Popen[bytes]
    host: str  # host:port (bqemulator: REST)
    workdir: Path
    extra_host: str = ""  # bqemulator: gRPC (Storage Write)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _spawn(cmd: list[str], workdir: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=env, start_new_session=True)
    return proc, log


def pubsub_emulator_path() -> Path:
    return Path(os.environ.get("STREAMLAKE_PUBSUB_EMULATOR", DEFAULT_PUBSUB_EMULATOR))


def start_pubsub(timeout: float = 60) -> LocalServer:
    """Google's Pub/Sub emulator (Java); clients find it through ``PUBSUB_EMULATOR_HOST``."""
    path = pubsub_emulator_path()
    if not path.exists():
        raise ServerUnavailable(f"Pub/Sub emulator not installed at {path} (gcloud components install pubsub-emulator)")
    port = free_port()
    return _start_on(port, [str(path), "--host=127.0.0.1", f"--port={port}"], "pubsub-emu-", timeout)


def _start_on(port: int, command: list[str], prefix: str, timeout: float) -> LocalServer:
    """Run ``command`` in a fresh working directory and wait until it listens on ``port``."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    proc, log = _spawn(command, workdir)
    try:
        _wait_for_port(port, proc, timeout, log)
    except ServerUnavailable:
        LocalServer(proc, "", workdir).stop()
        raise
    return LocalServer(proc, f"127.0.0.1:{port}", workdir)


def bqemulator_command() -> list[str] | None:
    """The command that starts bqemulator, or None when it is not installed."""
    configured = os.environ.get("STREAMLAKE_BQEMULATOR")
    if configured:
        return shlex.split(configured)
    python = Path(os.environ.get("STREAMLAKE_BQEMULATOR_PYTHON", ".venv-bqemu/bin/python"))
    if python.exists():
        return [str(python.absolute()), str(LAUNCHER)]
    found = shutil.which("bqemulator")
    return [found, "start"] if found else None


def start_bigquery(project: str, timeout: float = 90) -> LocalServer:
    """bqemulator with REST (``host``) and gRPC (``extra_host``) on free ports."""
    cmd = bqemulator_command()
    if cmd is None:
        raise ServerUnavailable("bqemulator not installed (`make emulators`, or set STREAMLAKE_BQEMULATOR_PYTHON)")
    rest, grpc_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bqemu-"))
    env = dict(os.environ, HOME=str(workdir), BQEMU_ENABLE_FORMAT_EXTENSIONS="false")
    args = ["--rest-port", str(rest), "--grpc-port", str(grpc_port), "--ephemeral", "--project", project,
            "--log-level", "warning"]  # fmt: skip
    proc, log = _spawn([*cmd, *args], workdir, env)
    try:
        _wait_for_port(rest, proc, timeout, log)
        _wait_for_port(grpc_port, proc, timeout, log)
    except ServerUnavailable:
        LocalServer(proc, "", workdir).stop()
        raise
    return LocalServer(proc, f"127.0.0.1:{rest}", workdir, extra_host=f"127.0.0.1:{grpc_port}")


def start_moto(timeout: float = 30) -> LocalServer:
    """moto's server (SQS and S3 on one port, any credentials accepted); clients find it through
    ``AWS_ENDPOINT_URL``."""
    try:
        import moto.server  # noqa: F401
    except ImportError as e:
        raise ServerUnavailable(f"moto's server is not installed (pip install 'moto[server]'): {e}") from e
    port = free_port()
    command = [sys.executable, "-m", "streamlake_fast.local.moto_launch", "-H", "127.0.0.1", "-p", str(port)]
    return _start_on(port, command, "moto-", timeout)
