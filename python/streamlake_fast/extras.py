"""The optional extras: which one brings each third-party package the package imports only on some paths, so that
using a path whose extra is missing fails with one line naming it (``pip install 'streamlake_fast[gcp]'``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from streamlake_fast.exceptions import MissingExtra

__all__ = ["EXTRA_OF", "missing_extra", "needs_extra"]

#: The top-level module of each optional dependency → the extra that installs it.
EXTRA_OF = {
    "grpc": "gcp",
    "grpc_status": "gcp",
    "google": "gcp",
    "prometheus_client": "gcp",
    "botocore": "aws",
    "uvicorn": "http",
    "httptools": "http",
    "uvloop": "http",
    "zstandard": "http",
    "apache_beam": "beam",
    "pyiceberg": "iceberg",
    "sqlalchemy": "iceberg",
}


def missing_extra(error: ImportError) -> MissingExtra | None:
    """The :class:`MissingExtra` that ``error`` (a failed import) means, or None if it is not an extra's."""
    if isinstance(error, MissingExtra):
        return error
    name = error.name or ""
    extra = EXTRA_OF.get(name.split(".")[0])
    if extra is None:
        return None
    return MissingExtra(
        f"{name} is not installed; this needs the {extra} extra: pip install 'streamlake_fast[{extra}]'"
    )


@contextmanager
def needs_extra() -> Iterator[None]:
    """Imports inside the block that fail for a missing extra raise :class:`MissingExtra` naming it."""
    try:
        yield
    except ModuleNotFoundError as e:
        missing = missing_extra(e)
        if missing is None:
            raise
        raise missing from e
