"""The edge processor's declarative transform: turn raw events into the schema's events — rename, drop, default,
hash or redact fields, derive ``event_id`` / ``ingest_time`` — applied in Rust, in the same native call that
validates and packs each batch. No per-event Python.

A transform is a ``[transform]`` table in a TOML file (``streamlake serve --transform FILE``, ``streamlake publish
--transform FILE``)::

    [transform]
    rename = { mail = "email", "customer.nm" = "name" }   # arriving name = new name (one level)
    drop = ["debug", "items.internal_note"]
    defaults = { currency = "USD", "customer.tier" = 0 }  # filled when absent or null
    hash = ["email"]                                      # hex SHA-256 (HMAC-SHA256 with hash_key_file)
    hash_key_file = "pii.key"                             # relative to the TOML file
    redact = ["card_number"]                              # becomes null
    derive = ["event_id", "ingest_time"]                  # default: those the schema has

Paths are dotted; a path through an array of records applies to each element. Every path names fields as they
arrive, except the last segment of a ``defaults`` path: the field as it leaves (the schema's name). A hash is of a
string's text, or of any other value's JSON text; ``null`` stays ``null``. The transform is checked against the
schema at start: each error names the path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import msgspec

from streamlake_fast import _native
from streamlake_fast.codec.schema import BigQueryField, Schema
from streamlake_fast.exceptions import ConfigError

__all__ = ["CompiledTransform", "Transform"]

Derived = Literal["event_id", "ingest_time"]
#: The schema type each derived field needs.
DERIVED_TYPES: dict[str, str] = {"event_id": "STRING", "ingest_time": "TIMESTAMP"}


class Transform(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A declarative transform (see the module's documentation for each key)."""

    rename: dict[str, str] = msgspec.field(default_factory=dict)
    drop: list[str] = msgspec.field(default_factory=list)
    defaults: dict[str, Any] = msgspec.field(default_factory=dict)
    hash: list[str] = msgspec.field(default_factory=list)
    hash_key_file: str | None = None
    redact: list[str] = msgspec.field(default_factory=list)
    derive: list[Derived] | None = None  # None: event_id / ingest_time when the schema has them

    @classmethod
    def load(cls, path: str | Path) -> Transform:
        """Read the ``[transform]`` table of a TOML file (``hash_key_file`` is resolved against its directory)."""
        path = Path(path)
        try:
            text = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read transform {path}: {e.strerror or e}") from e
        try:
            t = msgspec.toml.decode(text, type=_TransformFile).transform
        except msgspec.ValidationError as e:
            raise ConfigError(f"{path}: {e}") from e
        except msgspec.DecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from e
        if t is None:
            raise ConfigError(f"{path}: no [transform] table")
        if t.hash_key_file is not None:
            t = msgspec.structs.replace(t, hash_key_file=str(path.parent / t.hash_key_file))
        return t

    def derived(self, schema: Schema) -> set[str]:
        """The fields derived per event: those asked for (checked against the schema), by default those the
        schema has with the right type."""
        types = {f["name"]: f["type"] for f in schema.to_bigquery()}
        if self.derive is None:
            return {name for name, want in DERIVED_TYPES.items() if types.get(name) == want}
        for name in self.derive:
            if types.get(name) != DERIVED_TYPES[name]:
                raise ConfigError(f"transform.derive: {name} needs a {DERIVED_TYPES[name]} field {name!r} "
                                  "in the schema")  # fmt: skip
        return set(self.derive)

    def check(self, schema: Schema) -> None:
        """Raise :class:`ConfigError` naming the path when the transform cannot produce the schema's events."""
        fields = schema.to_bigquery()
        for old, new in self.rename.items():
            parent = old.rpartition(".")[0]
            out = f"{self._out(parent)}.{new}" if parent else new
            if _field(fields, out) is None:
                raise ConfigError(f"transform.rename {old!r} → {new!r}: the schema has no field {out!r}")
        for path in self.drop:
            f = _field(fields, self._out(path))
            if f is not None and f.get("mode") == "REQUIRED":
                raise ConfigError(f"transform.drop {path!r}: the field is REQUIRED in the schema")
        for path in self.hash:
            f = _field(fields, self._out(path))
            if f is None or f["type"] != "STRING" or f.get("mode") == "REPEATED":
                raise ConfigError(f"transform.hash {path!r}: the hash is a hex string: the schema needs a STRING "
                                  f"field {self._out(path)!r}")  # fmt: skip
        for path in self.redact:
            f = _field(fields, self._out(path))
            if f is not None and f.get("mode") == "REQUIRED":
                raise ConfigError(f"transform.redact {path!r}: a redacted field is null; it is REQUIRED in the schema")
        for path in self.defaults:
            parent, _, name = path.rpartition(".")
            out = f"{self._out(parent)}.{name}" if parent else name
            if _field(fields, out) is None:
                raise ConfigError(f"transform.defaults {path!r}: the schema has no field {out!r}")
        self.derived(schema)

    def compile(self) -> CompiledTransform:
        """The transform ready to run (errors name the path): what the publisher applies inside its native call."""
        spec: dict[str, Any] = {"rename": self.rename, "drop": self.drop, "defaults": self.defaults,
                                "hash": self.hash, "redact": self.redact}  # fmt: skip
        if self.hash_key_file is not None:
            try:
                key = Path(self.hash_key_file).read_bytes().strip()
            except OSError as e:
                raise ConfigError(f"transform.hash_key_file: cannot read {self.hash_key_file}: {e.strerror}") from e
            if not key:
                raise ConfigError(f"transform.hash_key_file {self.hash_key_file} is empty")
            spec["hash_key"] = key.hex()
        try:
            return CompiledTransform(_native.Transform(json.dumps(spec)))
        except ValueError as e:
            raise ConfigError(str(e)) from e

    def _out(self, path: str) -> str:
        """A path of arriving names as the schema's names (each prefix renamed where a rename applies)."""
        parts = path.split(".") if path else []
        out: list[str] = []
        for i, part in enumerate(parts):
            out.append(self.rename.get(".".join(parts[: i + 1]), part))
        return ".".join(out)


class _TransformFile(msgspec.Struct):
    transform: Transform | None = None


def _field(fields: list[BigQueryField], path: str) -> BigQueryField | None:
    f: BigQueryField | None = None
    for name in path.split("."):
        f = next((c for c in fields if c["name"] == name), None)
        if f is None:
            return None
        fields = f.get("fields", [])
    return f


class CompiledTransform:
    """A :class:`Transform` compiled: :meth:`apply` it to an event to see what the publisher will send."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.Transform) -> None:
        self._native = native

    def apply(self, event: bytes) -> bytes:
        """The event as the transform rewrites it (raises :class:`~streamlake_fast.exceptions.DecodeError` when
        it is not a JSON object)."""
        return self._native.apply(event)
