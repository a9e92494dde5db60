"""The envelope flags the publishing commands share: defaults per target, and each wrong value named."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamlake_fast.cli.envelope import QUEUE_BYTES, TOPIC_BYTES, envelope_arguments, envelope_of
from streamlake_fast.exceptions import ConfigError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    envelope_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_follow_the_target() -> None:
    assert envelope_of(_args(), queue=False) is None
    topic = envelope_of(_args("--envelope", "zstd"), queue=False)
    queue = envelope_of(_args("--envelope", "zstd"), queue=True)
    assert topic is not None and queue is not None
    assert (topic.max_bytes, queue.max_bytes, topic.level) == (TOPIC_BYTES, QUEUE_BYTES, 3)


@pytest.mark.parametrize(
    ("argv", "queue", "words"),
    [
        (["--envelope-bytes", "1000"], False, "--envelope-bytes needs --envelope zstd"),
        (["--envelope", "zstd", "--envelope-bytes", "0"], False, "--envelope-bytes must be at least 1, got 0"),
        (["--envelope", "zstd", "--envelope-bytes", "400000"], True, "too many for SQS"),
        (["--envelope", "zstd", "--envelope-level", "30"], False, "level must be between -7 and 22"),
        (["--envelope-dictionary", "d.dict"], False, "--envelope-dictionary needs --envelope zstd"),
        (["--envelope", "zstd", "--envelope-dictionary", "/nonexistent/d"], False, "cannot read the envelope dict"),
    ],
)
def test_a_wrong_value_is_named(argv: list[str], queue: bool, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        envelope_of(_args(*argv), queue=queue)


def test_dictionary_train_names_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from streamlake_fast.cli import main

    assert main(["dictionary", "train", "--from", str(tmp_path / "none.ndjson"), "--out", str(tmp_path / "d")]) == 2
    assert "cannot read" in capsys.readouterr().err
    events = tmp_path / "events.ndjson"
    events.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert main(["dictionary", "train", "--from", str(events), "--out", str(tmp_path / "d")]) == 2
    assert "training a dictionary needs at least 10 events, got 2" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
