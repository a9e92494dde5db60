"""Routes: one stream, many event types. Each route says which messages it takes — those whose attribute or field
has a ``value``, or every other one (the default route, no value) — and where they go: its schema, its BigQuery
table, its lake root or prefix, its dead-letter destination; what a route leaves out, it takes from the stream's
settings. A table or a lake path may be a :mod:`template <streamlake_fast.destinations.templates>`.

In TOML::

    [[routes]]
    name = "receipts"
    attribute = "type"
    value = "receipt"
    schema = "schemas/receipt.json"
    table = "shop.analytics.receipts"
    lake = "receipts/{event_time:%Y/%m}"      # under the stream's lake root
"""

from __future__ import annotations

import re

import msgspec

from streamlake_fast.destinations.options import Positive, PositiveSeconds
from streamlake_fast.exceptions import ConfigError

__all__ = ["Route", "RoutingConfig", "check_routes"]

_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class RoutingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The destinations a routed stream keeps open: a BigQuery stream and a lake writer each, opened on first use,
    closed after ``idle_close`` seconds without a row, ``max_open`` at most (the least recently used is made durable
    and closed first)."""

    max_open: Positive = 64
    idle_close: PositiveSeconds = 300.0


class Route(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """One route. ``attribute`` or ``field`` (a dotted path) names the key, ``value`` the key's value this route
    takes; a route with neither takes the messages no other route takes. Every keyed route reads the same key."""

    name: str
    attribute: str | None = None
    field: str | None = None
    value: str | None = None
    schema: str | None = None  # a BigQuery schema JSON file; default: the stream's, else the table's columns
    table: str | None = None  # PROJECT.DATASET.TABLE, a template too
    lake: str | None = None  # a root (a path, gs:// or s3://) or a prefix under the stream's lake root; a template too
    partition_by: str | None = None
    iceberg_table: str | None = None  # NAMESPACE.TABLE in the stream's Iceberg catalog
    dead_letter_topic: str | None = None
    dead_letter_queue: str | None = None
    dead_letter_table: str | None = None
    dead_letter_dir: str | None = None

    @property
    def key(self) -> tuple[str, str] | None:
        """``("attribute", NAME)`` or ``("field", PATH)``; None for the default route."""
        if self.attribute is not None:
            return ("attribute", self.attribute)
        if self.field is not None:
            return ("field", self.field)
        return None

    def check(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(f"route name {self.name!r}: 1 to 64 letters, digits, '_' or '-'")
        if self.attribute is not None and self.field is not None:
            raise ConfigError(f"route {self.name}: match on an attribute or a field, not both")
        if (self.key is None) != (self.value is None):
            raise ConfigError(f"route {self.name}: give a key (attribute or field) and its value, or neither for "
                              "the default route")  # fmt: skip


def check_routes(routes: list[Route]) -> tuple[str, str] | None:
    """Check ``routes`` together (raises :class:`ConfigError`); returns the key they share (None: one default
    route only)."""
    names: set[str] = set()
    keys: set[tuple[str, str]] = set()
    values: set[str] = set()
    defaults = 0
    for route in routes:
        route.check()
        if route.name in names:
            raise ConfigError(f"two routes are named {route.name!r}")
        names.add(route.name)
        if route.key is None:
            defaults += 1
            continue
        keys.add(route.key)
        if route.value in values:
            raise ConfigError(f"two routes take {route.key[0]} {route.key[1]} = {route.value!r}")
        values.add(route.value or "")
    if defaults > 1:
        raise ConfigError("more than one default route (a route with no attribute or field)")
    if len(keys) > 1:
        raise ConfigError(f"every route matches on the same key; these differ: {sorted(keys)}")
    return next(iter(keys), None)
