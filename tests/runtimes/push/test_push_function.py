"""``streamlake_fast.push.function`` under the Functions Framework (the runtime of Cloud Run functions), as a real
``functions-framework`` process driven over HTTP: wrapped push deliveries and Eventarc CloudEvents (structured and
binary mode) land in bqemulator, rejects in the rejects table, a body that is no push delivery is refused."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.servers.fixtures import Cloud
from tests.servers.processes import free_port, wait_for_http
from tests.worker.helpers import table_rows

MAIN = """
import os
from streamlake_fast.push import function
ingest = function(table=os.environ["TABLE"])
"""


def envelope(data: bytes, i: int) -> dict[str, object]:
    message = {"data": base64.b64encode(data).decode(), "attributes": {"till": str(i)}, "messageId": f"m-{i}",
               "publishTime": "2026-11-26T10:00:00.123456789Z"}  # fmt: skip
    return {"message": message, "subscription": "projects/streamlake-test/subscriptions/receipts-push"}


def test_the_function_under_the_functions_framework(cloud: Cloud, tmp_path: Path) -> None:
    framework = shutil.which("functions-framework", path=str(Path(sys.executable).parent))
    if framework is None:
        pytest.fail("functions-framework is not installed (the bench extra)")
    table = cloud.create_table(RECEIPT_SCHEMA)
    (tmp_path / "main.py").write_text(MAIN)
    port = free_port()
    proc = subprocess.Popen([framework, "--target", "ingest", "--source", "main.py", "--port", str(port)],
                            cwd=tmp_path, env={**os.environ, **cloud.env, "TABLE": table},
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    pairs = list(receipts(200, seed=11, invalid_fraction=0.05))
    try:
        wait_for_http(proc, url)
        bodies = []
        for i, (data, _) in enumerate(pairs):
            env = envelope(data, i)
            if i % 3 == 1:  # a structured-mode CloudEvent (Eventarc) holding the envelope
                env = {"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
                       "source": "//pubsub.googleapis.com/x", "id": str(i), "data": env}  # fmt: skip
            bodies.append(json.dumps(env).encode())
        with httpx.Client(timeout=60) as c, ThreadPoolExecutor(8) as pool:  # binary mode: the envelope is the body
            answers = list(pool.map(lambda b: c.post(url, content=b, headers={"ce-specversion": "1.0"}), bodies))
            bad = c.post(url, content=b'{"not": "a delivery"}')
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert [a.status_code for a in answers] == [204] * len(pairs)
    assert bad.status_code == 400 and 'no "message"' in bad.text
    rows = table_rows(cloud, table)
    want = sorted(json.loads(d)["event_id"] for d, kind in pairs if kind is None)
    assert sorted(rows.column("event_id").to_pylist()) == want
    rejects = table_rows(cloud, f"{table}_rejects").to_pylist()
    assert len(rejects) == sum(kind is not None for _, kind in pairs)
    assert all(json.loads(r["attributes"])["till"] == r["message_id"][2:] for r in rejects)
    assert {str(r["publish_time"]) for r in rejects} == {"2026-11-26 10:00:00.123456+00:00"}
