"""Start and stop the emulators as child processes on free ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PUBSUB_EMULATOR = Path(
    os.environ.get(
        "STREAMLAKE_PUBSUB_EMULATOR",
        "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    )
)
BQEMULATOR_PYTHON = Path(os.environ.get("STREAMLAKE_BQEMULATOR_PYTHON", ROOT / ".venv-bqemu/bin/python"))


class ServerUnavailable(RuntimeError):
    """The server is not installed or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServerUnavailable(f"port {port} not open after {timeout:.0f}s: {log.read_text()[-2000:]}")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    host: str
    workdir: Path
    extra_host: str = ""

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
    out = log.open("wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=env, start_new_session=True)
    return proc, log


def start_pubsub(timeout: float = 60) -> Server:
    """Google's Pub/Sub emulator (Java)."""
    if not PUBSUB_EMULATOR.exists():
        raise ServerUnavailable(f"Pub/Sub emulator not installed at {PUBSUB_EMULATOR}")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pubsub-emu-"))
    proc, log = _spawn([str(PUBSUB_EMULATOR), "--host=127.0.0.1", f"--port={port}"], workdir)
    try:
        wait_for_port(port, proc, timeout, log)
    except ServerUnavailable:
        Server(proc, "", workdir).stop()
        raise
    return Server(proc, f"127.0.0.1:{port}", workdir)


def start_bigquery(project: str, timeout: float = 90) -> Server:
    """bqemulator, REST and gRPC (Storage Write) on free ports; ``host`` is REST, ``extra_host`` gRPC."""
    if not BQEMULATOR_PYTHON.exists():
        raise ServerUnavailable(f"bqemulator's Python not found at {BQEMULATOR_PYTHON} (run `make emulators`)")
    rest, grpc_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bqemu-"))
    env = dict(os.environ, HOME=str(workdir), BQEMU_ENABLE_FORMAT_EXTENSIONS="false")
    launcher = Path(__file__).with_name("bqemulator_launch.py")
    cmd = [str(BQEMULATOR_PYTHON), str(launcher), str(workdir), "--rest-port", str(rest), "--grpc-port",
           str(grpc_port), "--ephemeral", "--project", project, "--log-level", "warning"]  # fmt: skip
    proc, log = _spawn(cmd, workdir, env)
    try:
        wait_for_port(rest, proc, timeout, log)
        wait_for_port(grpc_port, proc, timeout, log)
    except ServerUnavailable:
        Server(proc, "", workdir).stop()
        raise
    return Server(proc, f"127.0.0.1:{rest}", workdir, extra_host=f"127.0.0.1:{grpc_port}")
