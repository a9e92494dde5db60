"""Which columns a Parquet file writes with a dictionary.

A column whose values are mostly distinct (ids, amounts, timestamps) gains nothing from a dictionary: hashing every
value into one that ends up as large as the column costs CPU, and the file is no smaller. Judged on a sample — the
first rows of a file, when there are at least ``MIN_SAMPLE_ROWS`` — before the first file and again every
``RELEARN`` files, so a column whose values come to repeat gets its dictionary back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MIN_SAMPLE_ROWS", "RELEARN", "Dictionaries", "leaves"]

#: The columns are judged again on the first rows of every this many files.
RELEARN = 16
#: The fewest rows judged (in fewer, every value looks distinct).
MIN_SAMPLE_ROWS = 1_000


class Dictionaries:
    """What one sink has judged."""

    def __init__(self) -> None:
        #: Leaf column paths written without a dictionary ("event_id", "items.list.element.sku").
        self.plain: frozenset[str] = frozenset()
        self._files = 0
        self._due = True  # judge on the next sample large enough

    def use_dictionary(self, rows: pa.RecordBatch) -> bool | list[str]:
        """``use_dictionary`` for a new file starting with ``rows``: True, or its leaf columns that keep one."""
        self._files += 1
        self._due = self._due or self._files % RELEARN == 0
        columns = list(leaves(rows))
        if self._due and rows.num_rows >= MIN_SAMPLE_ROWS:
            self.plain = frozenset(path for path, values in columns if _mostly_distinct(values))
            self._due = False
        if not self.plain:
            return True
        return [path for path, _ in columns if path not in self.plain]


def leaves(rows: pa.RecordBatch) -> Iterator[tuple[str, pa.Array]]:
    """Each leaf column of ``rows`` with its Parquet path (lists as ``name.list.element``, maps as
    ``name.key_value.key`` / ``.value``) and its values (those under a null parent are nulls here)."""
    for name, column in zip(rows.schema.names, rows.columns, strict=True):
        yield from _leaves(name, column)


def _leaves(path: str, values: pa.Array) -> Iterator[tuple[str, pa.Array]]:
    t = values.type
    if pa.types.is_struct(t):
        for child, field in zip(values.flatten(), t.fields, strict=True):
            yield from _leaves(f"{path}.{field.name}", child)
    elif pa.types.is_map(t):
        yield from _leaves(f"{path}.key_value.key", values.keys)
        yield from _leaves(f"{path}.key_value.value", values.items)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        yield from _leaves(f"{path}.list.element", values.flatten())
    else:
        yield path, values


def _mostly_distinct(values: pa.Array) -> bool:
    present: int = len(values) - values.null_count
    if present == 0:
        return False
    try:
        distinct: int = pc.count_distinct(values).as_py()
    except pa.ArrowNotImplementedError:  # a type with no hash kernel (e.g. dictionary-encoded already): keep it
        return False
    return distinct * 2 > present
