"""A local S3-compatible server (moto's ``moto_server``) for the lake's object-store path: a real HTTP server that
pyarrow's S3 client talks to through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests.servers.processes import Server, ServerUnavailable, free_port

BUCKET = "streamlake-lake"


def start_s3(timeout: float = 30) -> Server:
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        raise ServerUnavailable(f"moto_server not found beside {sys.executable} (pip install 'moto[server]')")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="s3-"))
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    server = Server(proc, f"127.0.0.1:{port}", workdir)
    fs = pafs.S3FileSystem(endpoint_override=f"http://{server.host}", access_key="test", secret_key="test",
                           region="us-east-1", allow_bucket_creation=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        try:
            fs.create_dir(BUCKET)
            return server
        except OSError as e:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise ServerUnavailable(f"moto_server did not start: {e}") from e
            time.sleep(0.2)


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh S3 server with one bucket; yields ``s3://BUCKET``."""
    try:
        server = start_s3()
    except ServerUnavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    for key, value in {"AWS_ENDPOINT_URL": f"http://{server.host}", "AWS_ACCESS_KEY_ID": "test",
                       "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    yield f"s3://{BUCKET}"
    server.stop()
