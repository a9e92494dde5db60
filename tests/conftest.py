"""Shared fixtures: schemas and codecs used across the test modules."""

from __future__ import annotations

import pytest

from streamlake_fast import Codec, Schema
from streamlake_fast.local.generate import receipt_schema

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture(scope="session")
def receipts_schema() -> Schema:
    return receipt_schema()


@pytest.fixture(scope="session")
def receipts_codec(receipts_schema: Schema) -> Codec:
    return Codec(receipts_schema)


def one_field(bq_type: str, mode: str = "NULLABLE", **codec_options: object) -> Codec:
    """A codec for a one-column table ``v``."""
    return Codec(Schema.from_bigquery([{"name": "v", "type": bq_type, "mode": mode}]), **codec_options)  # type: ignore[arg-type]
