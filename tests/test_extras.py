"""Each extra alone: with the other extras' packages made unimportable (``sys.modules[name] = None``, in a fresh
interpreter), the paths an extra is for still import and run, and a path whose extra is missing fails with one
line naming it. (``make wheel-smoke`` checks the same from the built wheel in real virtualenvs.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamlake_fast.exceptions import MissingExtra, StreamlakeError
from streamlake_fast.extras import EXTRA_OF, missing_extra

ROOT = Path(__file__).resolve().parents[1]


def _without(extras: set[str], code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where every package of ``extras`` fails to import."""
    blocked = sorted(module for module, extra in EXTRA_OF.items() if extra in extras)
    prelude = f"import sys\nfor m in {blocked!r}:\n    sys.modules[m] = None\n"
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    return subprocess.run([sys.executable, "-c", prelude + code, *argv], capture_output=True, text=True, cwd=ROOT,
                          env=env)  # fmt: skip


def _cli(extras: set[str], *args: str) -> subprocess.CompletedProcess[str]:
    return _without(extras, "from streamlake_fast.cli import main; sys.exit(main(sys.argv[1:]))", *args)


def test_missing_extra_names_the_extra() -> None:
    error = missing_extra(ModuleNotFoundError("No module named 'grpc'", name="grpc"))
    assert isinstance(error, MissingExtra) and isinstance(error, StreamlakeError) and isinstance(error, ImportError)
    assert str(error) == "grpc is not installed; this needs the gcp extra: pip install 'streamlake_fast[gcp]'"
    assert missing_extra(ModuleNotFoundError("No module named 'left_pad'", name="left_pad")) is None


@pytest.mark.parametrize(
    ("extras", "args", "extra"),
    [
        ({"gcp", "http", "beam"}, ["run", "--subscription", "projects/p/subscriptions/s", "--lake", "x"], "gcp"),
        ({"aws", "http", "beam"}, ["run", "--queue", "http://127.0.0.1:1/123456789012/q", "--lake", "x"], "aws"),
        ({"http"}, ["serve", "--topic", "projects/p/topics/t"], "http"),
    ],
)
def test_the_cli_names_the_missing_extra_in_one_line(
    extras: set[str], args: list[str], extra: str, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps([{"name": "id", "type": "STRING"}]))
    done = _cli(extras, *args, "--schema", str(schema))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamlake: error: "), done.stderr
    assert f"pip install 'streamlake_fast[{extra}]'" in done.stderr


def test_the_lambda_handler_needs_no_google_package(tmp_path: Path) -> None:
    """Into a local lake, dead letters as files: the aws extra's path imports nothing of gcp, http or beam."""
    code = f"""
from streamlake_fast.aws import sqs_handler
handler = sqs_handler(schema=[{{"name": "id", "type": "STRING", "mode": "REQUIRED"}}], lake={str(tmp_path)!r})
records = [{{"messageId": "a", "body": '{{"id": "x"}}'}}, {{"messageId": "b", "body": '{{"id": 1}}'}}]
print(handler({{"Records": records}}, None))
"""
    done = _without({"gcp", "http", "beam"}, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'batchItemFailures': []}"
    assert list(tmp_path.glob("dt=*/*.parquet")) and list(tmp_path.glob("_rejects/dt=*/*.ndjson"))


def test_the_sqs_worker_is_built_without_google_packages(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps([{"name": "id", "type": "STRING"}]))
    code = f"""
import msgspec
from streamlake_fast.runtimes.worker import build_worker
from streamlake_fast.config import WorkerConfig
config = msgspec.convert({{"queue": "http://127.0.0.1:1/123456789012/q", "schema": {str(schema)!r},
                          "lake": {{"root": {str(tmp_path / "lake")!r}}}}}, WorkerConfig)
print(type(build_worker(config)).__name__)
"""
    done = _without({"gcp", "http", "beam"}, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Worker"


@pytest.mark.parametrize(
    ("extras", "code", "extra"),
    [
        ({"gcp"}, "from streamlake_fast.push import asgi_app; asgi_app(table='p.d.t')", "gcp"),
        ({"gcp"}, "from streamlake_fast.sinks.bigquery import BigQuerySink", "gcp"),
        ({"aws"}, "from streamlake_fast.aws import SqsClient; SqsClient()", "aws"),
        ({"beam"}, "from streamlake_fast.beam import DecodeEvents", "beam"),
    ],
)
def test_the_python_api_names_the_missing_extra(extras: set[str], code: str, extra: str) -> None:
    done = _without(extras, code)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("streamlake_fast.exceptions.MissingExtra:"), done.stderr
    assert f"pip install 'streamlake_fast[{extra}]'" in last


def test_serve_on_a_queue_needs_no_google_package(tmp_path: Path) -> None:
    """``[http,aws]``: ``serve --queue`` gets as far as checking the queue (refused here: nothing listens), not to a
    missing gcp extra."""
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps([{"name": "id", "type": "STRING"}]))
    done = _cli({"gcp", "beam"}, "serve", "--queue", "http://127.0.0.1:1/123456789012/q", "--schema", str(schema))
    assert done.returncode == 2 and "streamlake: error:" in done.stderr, done.stderr
    assert "gcp" not in done.stderr and "123456789012/q" in done.stderr, done.stderr
