"""moto's server, a real HTTP server on a free port serving S3 (the lake's object-store path; pyarrow's S3 client
reaches it through ``AWS_ENDPOINT_URL``) and SQS (the SQS source, publisher and dead-letter queue), started through
``streamlake_fast.local.moto_launch`` (its SQS patched for speed at test volumes)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from streamlake_fast.local import start_moto
from tests.servers.processes import Server, ServerUnavailable

BUCKET = "streamlake-lake"


REPO = Path(__file__).resolve().parents[2]


def start_s3(timeout: float = 30) -> Server:
    """moto's server with the lake's bucket (``BUCKET``) created."""
    server = start_moto(timeout)
    fs = pafs.S3FileSystem(endpoint_override=f"http://{server.host}", access_key="test", secret_key="test",
                           region="us-east-1", allow_bucket_creation=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        try:
            fs.create_dir(BUCKET)
            return server
        except OSError as e:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise ServerUnavailable(f"moto_server did not start: {e}") from e
            time.sleep(0.2)


def _aws_env(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ENDPOINT_URL": f"http://{server.host}", "AWS_ACCESS_KEY_ID": "test",
                       "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)


def _start() -> Server:
    try:
        return start_s3()
    except ServerUnavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh S3 server with one bucket; yields ``s3://BUCKET``."""
    server = _start()
    _aws_env(server, monkeypatch)
    yield f"s3://{BUCKET}"
    server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Server]:
    """One moto server for the session's SQS tests (each test makes its own queues)."""
    server = _start()
    yield server
    server.stop()


@pytest.fixture
def sqs(moto_server: Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 SQS client of the session's moto server, with the AWS environment pointing at it."""
    import boto3

    _aws_env(moto_server, monkeypatch)
    return boto3.client("sqs", endpoint_url=f"http://{moto_server.host}", region_name="us-east-1")
