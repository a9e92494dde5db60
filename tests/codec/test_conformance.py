"""nst/JSONTestSuite: each document decoded as the value of a JSON column must be accepted (y_), rejected on its
own (n_), or merely survived (i_). The corpus is in ../shared/conformance (beside the checkout, as in CI)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from streamlake_fast import Codec, Schema

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(
    os.environ.get("STREAMLAKE_JSON_TEST_SUITE", ROOT.parent / "shared/conformance/JSONTestSuite/test_parsing")
)
FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
# Accepted by the JSON grammar, rejected by our rules: duplicate keys reject the row.
DUPLICATE_KEYS = {"y_object_duplicated_key.json", "y_object_duplicated_key_and_value.json"}

CODEC = Codec(Schema.from_bigquery([{"name": "v", "type": "JSON"}]))


def test_corpus_is_present() -> None:
    if not FILES:
        if os.environ.get("CI") == "true":
            pytest.fail(f"JSONTestSuite corpus missing at {CORPUS}")
        pytest.skip(f"JSONTestSuite corpus not found at {CORPUS}")
    assert len([f for f in FILES if f.name.startswith("y_")]) == 95


def wrap(doc: bytes) -> bytes:
    return b'{"v": ' + doc + b"}"


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_document(path: Path) -> None:
    doc = path.read_bytes()
    valid = b'{"v": 1}'
    result = CODEC.decode([valid, wrap(doc), valid])
    # Whatever the document, the rows around it survive.
    assert result.batch.column(0).to_pylist()[0] == "1"
    assert result.batch.column(0).to_pylist()[-1] == "1"
    if path.name.startswith("y_"):
        if path.name in DUPLICATE_KEYS:
            assert [r.code for r in result.rejects] == ["duplicate_key"]
            return
        assert result.rejects == [], result.rejects
        text = result.batch.column(0)[1].as_py()
        if json.loads(doc) is None:
            assert text is None  # a JSON null in a NULLABLE column is SQL NULL
        else:
            assert json.loads(text) == json.loads(doc)
            assert json.dumps(json.loads(text), separators=(",", ":")) == json.dumps(
                json.loads(doc), separators=(",", ":")
            )  # compact text carries the same value
    elif path.name.startswith("n_"):
        assert [r.index for r in result.rejects] == [1], (doc[:80], result.batch.column(0).to_pylist())
        assert result.rejects[0].code in {"invalid_json", "invalid_utf8", "too_deep"}
    else:
        assert result.batch.num_rows + len(result.rejects) == 3
