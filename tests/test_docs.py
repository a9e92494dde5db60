"""The README's Python example and the package docstring run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import streamlake_fast

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, str(README), "exec"), namespace)
    result = namespace["result"]
    assert str(result.rejects[0]) == 'row 1 at items[0].qty: invalid_value: expected an INT64, got "two"'  # type: ignore[attr-defined]
    assert result.batch.num_rows == 1  # type: ignore[attr-defined]


def test_package_docstring_examples() -> None:
    failures, tried = doctest.testmod(streamlake_fast)
    assert tried > 0
    assert failures == 0
