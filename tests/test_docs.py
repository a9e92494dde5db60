"""The README's Python example and the package docstring run as written."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pytest

import streamlake_fast
from streamlake_fast.local.generate import RECEIPT_SCHEMA
from tests.servers.fixtures import Cloud
from tests.worker.helpers import pull_all

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(pubsub_only: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks run in order in one namespace; the publisher's gets a topic on the emulator and two events; the
    Lambda handler's is made (its clients come at the first batch) and answers an empty batch. The Dataflow
    pipeline's block needs Google Cloud: it is compiled, not run (tests/runtimes/beam runs the same transforms)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    dataflow = [b for b in blocks if "beam.Pipeline(options=options)" in b]
    assert len(dataflow) == 1
    compile(dataflow[0], str(README), "exec")
    blocks = [b for b in blocks if b not in dataflow]
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    (tmp_path / "receipts.json").write_text(json.dumps(RECEIPT_SCHEMA))
    topic, subscription = pubsub_only.create_topic_and_subscription()
    events = [b'{"event_time": "2026-11-26T10:15:42Z", "items": []}', b'{"event_time": "never"}']
    namespace: dict[str, object] = {"topic": topic, "events": events}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    sent = namespace["sent"]
    assert sent.published == 1 and sent.rejects[0].code == "invalid_value"  # type: ignore[attr-defined]
    [message] = pull_all(pubsub_only, subscription)
    assert json.loads(message.message.data)["event_id"]  # added at the edge
    result = namespace["result"]
    assert str(result.rejects[0]) == 'row 1 at items[0].qty: invalid_value: expected an INT64, got "two"'  # type: ignore[attr-defined]
    assert result.batch.num_rows == 1  # type: ignore[attr-defined]
    handler = namespace["handler"]
    assert handler({"Records": []}, None) == {"batchItemFailures": []}  # type: ignore[operator]
    assert callable(namespace["ingest"])  # the push function: settings checked, clients made at the first delivery


def test_package_docstring_examples() -> None:
    failures, tried = doctest.testmod(streamlake_fast)
    assert tried > 0
    assert failures == 0


def test_dockerfile_copies_what_exists_and_installs_extras_that_exist() -> None:
    """The image is not built in CI (no Docker daemon there); what it relies on in the tree is checked here."""
    import re

    import tomllib

    root = Path(__file__).resolve().parents[1]
    text = (root / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        *sources, _ = line.split()
        assert all((root / s).exists() for s in sources), line
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    wanted = re.search(r"\[([a-z,]+)\]\"", text)
    assert wanted is not None and set(wanted.group(1).split(",")) <= set(extras)
    assert 'ENTRYPOINT ["streamlake"]' in text
