"""Opening an Iceberg catalog from one URI: ``sqlite:///PATH`` or another SQLAlchemy URL (``postgresql://…``) — a
SQL catalog, whose ``warehouse`` must be given — or ``http(s)://…``, a REST catalog (its credentials from
``$STREAMLAKE_ICEBERG_CREDENTIAL`` (``client_id:secret``) or ``$STREAMLAKE_ICEBERG_TOKEN``). The warehouse's object
store is reached as the lake's is: an S3 endpoint from ``$AWS_ENDPOINT_URL_S3`` / ``$AWS_ENDPOINT_URL``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog, load_catalog

from streamlake_fast.exceptions import ConfigError

__all__ = ["another_catalog", "open_catalog", "warehouse_uri"]

SQL_SCHEMES = ("sqlite:", "postgresql:", "postgresql+", "mysql:", "mysql+")


def warehouse_uri(warehouse: str) -> str:
    """A warehouse location as a URI: a local path becomes ``file:///ABSOLUTE``."""
    if "://" in warehouse:
        return warehouse.rstrip("/")
    return "file://" + str(Path(warehouse).absolute())


def open_catalog(uri: str, *, warehouse: str | None = None, name: str = "streamlake") -> Catalog:
    """The catalog ``uri`` names (see the module)."""
    props: dict[str, Any] = {"uri": uri}
    if uri.startswith(SQL_SCHEMES):
        if not warehouse:
            raise ConfigError(f"a SQL catalog needs a warehouse: pass --warehouse PATH|s3://…|gs://… with {uri}")
        props |= {"type": "sql", "warehouse": warehouse_uri(warehouse), "init_catalog_tables": "true"}
        if uri.startswith("sqlite:"):
            path = uri.removeprefix("sqlite:///")
            if path and path != uri and not path.startswith(":"):
                Path("/" + path if uri.startswith("sqlite:////") else path).parent.mkdir(parents=True, exist_ok=True)
    elif uri.startswith(("http://", "https://")):
        props["type"] = "rest"
        if warehouse:
            props["warehouse"] = warehouse
        if os.environ.get("STREAMLAKE_ICEBERG_CREDENTIAL"):
            props["credential"] = os.environ["STREAMLAKE_ICEBERG_CREDENTIAL"]
        if os.environ.get("STREAMLAKE_ICEBERG_TOKEN"):
            props["token"] = os.environ["STREAMLAKE_ICEBERG_TOKEN"]
    else:
        raise ConfigError(f"catalog {uri!r}: expected sqlite:///PATH, a SQLAlchemy URL (postgresql://…) or "
                          "http(s):// (a REST catalog)")  # fmt: skip
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        props["s3.endpoint"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        props["s3.region"] = region
    try:
        return load_catalog(name, **props)
    except Exception as e:  # a driver missing, a file it cannot open, a server it cannot reach
        raise ConfigError(f"cannot open catalog {uri.split('@')[-1]}: {e}") from e


def another_catalog(catalog: Catalog) -> Catalog:
    """A second connection to ``catalog`` (same name and properties) for another thread: pyiceberg's catalogs and
    tables are not shared between threads."""
    return load_catalog(catalog.name, **catalog.properties)
