"""Rejects: every code, with the row, the path and the reason; a bad row never costs a valid one."""

from __future__ import annotations

import pyarrow as pa
import pytest

from streamlake_fast import REJECT_CODES, Codec, DecodeError, Schema
from tests.conftest import one_field

SCHEMA = Schema.from_bigquery(
    [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "n", "type": "INT64"},
        {
            "name": "items",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": "qty", "type": "INT64", "mode": "REQUIRED"}],
        },
    ]
)

# (message, code, path, message text)
CASES = [
    (b'{"id": "x", "n": 1', "invalid_json", "", "invalid JSON: expected ',' or '}', got end of input"),
    (b'{"id": "x"} x', "invalid_json", "", 'invalid JSON at byte 12: expected end of input after the top-level object, got "x"'),
    (b'{"id": "\xff"}', "invalid_utf8", "", "invalid UTF-8 at byte 8"),
    (b"[1, 2]", "not_an_object", "", "the message is valid JSON but not an object"),
    (b'{"id": "x", "id": "y"}', "duplicate_key", "id", 'duplicate key "id"'),
    (b'{"id": "x", "color": "red"}', "unknown_field", "color", 'field "color" is not in the schema'),
    (b'{"n": 1}', "missing_required", "id", "required field is missing"),
    (b'{"id": "x", "items": [{"qty": 1}, null]}', "null_element", "items[1]", "null element in a REPEATED field"),
    (b'{"id": "x", "items": [{"qty": 1}, {"qty": "2x"}]}', "invalid_value", "items[1].qty", 'expected an INT64, got "2x"'),
    (b'{"id": "x", "items": [{"qty": true}]}', "type_mismatch", "items[0].qty", "expected INT64, got a boolean"),
    (b'{"id": "x", "n": 99999999999999999999}', "out_of_range", "n", '"99999999999999999999" is out of range for INT64'),
    (b"", "invalid_json", "", "invalid JSON: empty message"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "code", "path", "text"), CASES)
def test_each_reject_names_row_path_and_reason(message: bytes, code: str, path: str, text: str) -> None:
    valid = b'{"id": "ok"}'
    result = Codec(SCHEMA).decode([valid, message, valid])
    assert [(r.index, r.code, r.path, r.message) for r in result.rejects] == [(1, code, path, text)]
    assert result.batch.column("id").to_pylist() == ["ok", "ok"]


#: The codes a sink gives a valid event it will not take (not the codec's): in the same vocabulary.
SINK_CODES = {"row_too_large", "refused_by_sink"}
#: The codes routing gives a message before it is decoded: no route for its key, no destination from its values.
ROUTE_CODES = {"no_route", "invalid_destination"}
#: The codes of an envelope that cannot be opened (tests/codec/test_envelopes.py gives each).
ENVELOPE_CODES = {"bad_envelope", "envelope_too_large", "envelope_too_many_events", "unknown_dictionary"}


def test_codes_are_stable_and_all_covered() -> None:
    covered = {c[1] for c in CASES} | {"message_too_large", "too_deep"}
    assert set(REJECT_CODES) == covered | SINK_CODES | ROUTE_CODES | ENVELOPE_CODES
    assert len(REJECT_CODES) == 20


def test_every_code_the_package_gives_is_a_reject_code() -> None:
    """One vocabulary: each code a sink or the publisher writes into a ``Reject`` or a ``Refusal`` is in
    ``REJECT_CODES`` (``row_too_large`` and ``refused_by_sink`` were not)."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "python" / "streamlake_fast"
    given = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Reject", "Refusal"):
                code = node.args[1] if len(node.args) > 1 else None  # Reject(index, code, …), Refusal(row, code, …)
                if isinstance(code, ast.Constant):
                    given.add(code.value)
    assert given >= SINK_CODES | ROUTE_CODES
    assert given <= set(REJECT_CODES)


def test_reject_str_is_one_readable_line() -> None:
    result = Codec(SCHEMA).decode([b'{"id": "x", "items": [{"qty": "2x"}]}'])
    assert str(result.rejects[0]) == 'row 0 at items[0].qty: invalid_value: expected an INT64, got "2x"'


def test_message_too_large() -> None:
    codec = one_field("STRING", max_message_bytes=20)
    result = codec.decode([b'{"v": "short"}', b'{"v": "' + b"x" * 30 + b'"}'])
    assert result.batch.num_rows == 1
    assert [(r.index, r.code, r.message) for r in result.rejects] == [
        (1, "message_too_large", "message of 39 bytes exceeds max_message_bytes=20")
    ]


def test_too_deep() -> None:
    codec = one_field("JSON", max_depth=3)
    result = codec.decode([b'{"v": [[1]]}', b'{"v": [[[1]]]}'])
    assert result.batch.column(0).to_pylist() == ["[[1]]"]
    assert [(r.index, r.code, r.path) for r in result.rejects] == [(1, "too_deep", "v[0][0]")]
    assert result.rejects[0].message == "JSON nests deeper than the limit of 3 levels"


def test_deep_nesting_is_a_reject_not_a_crash() -> None:
    deep = b'{"v": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    result = one_field("JSON").decode([deep, b'{"v": 1}', b'{"v": ' + b"[" * 200_000 + b"}"])
    assert [r.code for r in result.rejects] == ["too_deep", "invalid_json"]  # malformed, however deep
    assert result.batch.num_rows == 1


def test_unknown_fields_ignore_still_validates_and_detects_duplicates() -> None:
    codec = Codec(SCHEMA, unknown_fields="ignore")
    result = codec.decode(
        [
            b'{"id": "a", "extra": {"deep": [1, 2, {"x": null}]}}',
            b'{"id": "b", "extra": [1,]}',
            b'{"id": "c", "e": 1, "e": 2}',
        ]
    )
    assert result.batch.column("id").to_pylist() == ["a"]
    assert [(r.index, r.code, r.path) for r in result.rejects] == [
        (1, "invalid_json", "extra[1]"),
        (2, "duplicate_key", "e"),
    ]


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match='unknown_fields must be "reject" or "ignore", got "drop"'):
        Codec(SCHEMA, unknown_fields="drop")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"schema must be a streamlake_fast\.Schema"):
        Codec([{"name": "a", "type": "STRING"}])  # type: ignore[arg-type]


def test_non_bytes_message_names_its_position() -> None:
    with pytest.raises(TypeError, match=r"messages\[1\] is str, expected bytes"):
        Codec(SCHEMA).decode([b"{}", '{"id": "x"}'])  # type: ignore[list-item]


def test_ndjson_line_numbers_blank_lines_and_crlf() -> None:
    data = b'{"id": "a"}\r\n\n   \n{"id": 5}\n{"id": "c"}\n'
    result = Codec(SCHEMA).decode(data)
    assert result.batch.column("id").to_pylist() == ["a", "c"]
    assert [(r.index, r.code, r.path) for r in result.rejects] == [(3, "type_mismatch", "id")]


def test_ndjson_and_list_give_the_same_batch(receipts_codec: Codec) -> None:
    from streamlake_fast.local.generate import receipts

    messages = [m for m, _ in receipts(500, invalid_fraction=0.05)]
    as_list = receipts_codec.decode(messages)
    as_ndjson = receipts_codec.decode(b"\n".join(messages))
    assert as_list.batch.equals(as_ndjson.batch)
    assert as_list.rejects == as_ndjson.rejects
    assert len(as_list.rejects) == 25


def test_empty_input_gives_empty_typed_batch(receipts_codec: Codec) -> None:
    result = receipts_codec.decode([])
    assert result.batch.num_rows == 0
    assert result.batch.schema.equals(receipts_codec.schema.to_arrow())
    assert result.rejects == []


def test_all_rows_rejected_gives_empty_batch() -> None:
    result = Codec(SCHEMA).decode([b"nope", b"{}"])
    assert result.batch.num_rows == 0
    assert [r.code for r in result.rejects] == ["invalid_json", "missing_required"]


def test_batch_is_valid_arrow_and_usable_by_other_libraries(receipts_codec: Codec) -> None:
    from streamlake_fast.local.generate import receipts

    result = receipts_codec.decode([m for m, _ in receipts(300, invalid_fraction=0.1)])
    result.batch.validate(full=True)
    table = pa.Table.from_batches([result.batch])
    assert table.num_rows == 270
    assert table.schema.equals(receipts_codec.schema.to_arrow())


def test_decode_error_is_exported() -> None:
    assert issubclass(DecodeError, ValueError)


@pytest.mark.parametrize(("message", "code", "path", "text"), CASES)
def test_redact_values_leaves_values_out_of_reject_messages(message: bytes, code: str, path: str, text: str) -> None:
    secret = b'{"id": "x", "n": "jane.doe@example.com"}'
    result = Codec(SCHEMA, redact_values=True).decode([message, secret])
    (first, second) = result.rejects
    assert (first.code, first.path) == (code, path)  # the same reason and place, without the value
    assert first.message.split('"')[0::2] == text.split('"')[0::2]
    assert (second.code, second.path, second.message) == ("invalid_value", "n", 'expected an INT64, got "…"')
    assert all(v not in r.message for r in result.rejects for v in ("jane", "2x", '"red"', "color", "99999"))


def test_max_depth_is_capped_for_stack_safety() -> None:
    with pytest.raises(ValueError, match="max_depth must be 1 to 1000"):
        one_field("JSON", max_depth=1001)
    with pytest.raises(ValueError, match="max_depth must be 1 to 1000"):
        one_field("JSON", max_depth=0)


def test_the_deepest_nesting_allowed_fits_a_small_thread_stack() -> None:
    import subprocess
    import sys

    script = (
        "import threading\n"
        "from streamlake_fast import Codec, Schema\n"
        "threading.stack_size(512 * 1024)\n"
        "c = Codec(Schema.from_bigquery([{'name': 'j', 'type': 'JSON'}]), max_depth=1000, unknown_fields='ignore')\n"
        "out = []\n"
        "def run():\n"
        "    for key in ('j', 'other'):\n"
        "        m = ('{\"%s\":' % key + '[' * 999 + ']' * 999 + '}').encode()\n"
        "        out.append(c.decode([m]).batch.num_rows)\n"
        "t = threading.Thread(target=run); t.start(); t.join()\n"
        "print(out)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[1, 1]", done.stderr
