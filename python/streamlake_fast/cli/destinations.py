"""The destination flags every runtime's command shares (``run``, ``push-handler``): one set of dead-letter
choices, named the same everywhere."""

from __future__ import annotations

import argparse
import os

__all__ = ["dead_letter_arguments"]


def dead_letter_arguments(p: argparse.ArgumentParser) -> None:
    """``--dead-letter-topic/-queue/-table/-dir`` (each also from ``$STREAMLAKE_DEAD_LETTER_…``); at most one."""
    env = os.environ.get
    p.add_argument("--dead-letter-topic", default=env("STREAMLAKE_DEAD_LETTER_TOPIC"), help="projects/P/topics/T")
    p.add_argument("--dead-letter-queue", default=env("STREAMLAKE_DEAD_LETTER_QUEUE"), help="an SQS queue URL")
    p.add_argument("--dead-letter-table", default=env("STREAMLAKE_DEAD_LETTER_TABLE"),
                   help="PROJECT.DATASET.TABLE (default with --table: <table>_rejects)")  # fmt: skip
    p.add_argument("--dead-letter-dir", default=env("STREAMLAKE_DEAD_LETTER_DIR"),
                   help="NDJSON files under DIR/_rejects/: a path, gs:// or s3:// (default without a table: the "
                   "lake's)")  # fmt: skip
