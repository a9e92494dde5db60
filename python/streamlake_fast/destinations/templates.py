"""Destination templates: a BigQuery table or a lake path with named parts filled from each message —
``{attributes.NAME}``, ``{field.PATH}`` (a top-level or nested field) and a time, ``{event_time:%Y/%m/%d}`` or
``{field.PATH:%Y%m%d}`` (``%Y %m %d %H %M %S %%``, in UTC). Messages are grouped by their parts' values in Rust
(:meth:`~streamlake_fast.codec.messages.Messages.by_route`); a value becomes part of a name only when it passes
:meth:`Template.render`'s checks, so no message can write to another table or outside its path."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from streamlake_fast.exceptions import ConfigError

__all__ = ["MAX_PATH_PART_BYTES", "MAX_TABLE_BYTES", "Part", "Template"]

#: BigQuery's limit on a table's name, in UTF-8 bytes.
MAX_TABLE_BYTES = 1024
#: A path part filled from a message: within every object store's and file system's name limit.
MAX_PATH_PART_BYTES = 255
#: What a value put into a table name may hold: letters, marks, digits, ``_`` and ``-`` (a subset of BigQuery's
#: table-name characters: no spaces).
_TABLE_VALUE = re.compile(r"[\w\-]+")
_BRACED = re.compile(r"\{([^{}]*)\}")
_TIME_DIRECTIVE = re.compile(r"%(.?)")
_TIME_DIRECTIVES = set("YmdHMS%")

PartKind = Literal["attribute", "field", "time"]


@dataclass(frozen=True, slots=True)
class Part:
    """A named part of a template: an attribute's value, a field's value, or a TIMESTAMP field formatted."""

    kind: PartKind
    name: str  # the attribute's name or the field's dotted path
    format: str | None = None  # a time's format

    def __str__(self) -> str:
        if self.kind == "attribute":
            return f"{{attributes.{self.name}}}"
        return f"{{field.{self.name}:{self.format}}}" if self.format else f"{{field.{self.name}}}"

    def group_by(self) -> dict[str, str]:
        """The keywords of :meth:`~streamlake_fast.codec.messages.Messages.by_route` grouping by this part."""
        if self.kind == "attribute":
            return {"attribute": self.name}
        return {"field": self.name, "time_format": self.format} if self.format else {"field": self.name}


@dataclass(frozen=True, slots=True)
class Template:
    """A table or a lake path, literal text and parts; ``kind`` says which checks a value must pass."""

    text: str
    kind: Literal["table", "path"]
    pieces: tuple[str | Part, ...]

    @classmethod
    def parse(cls, text: str, kind: Literal["table", "path"], *, event_time: str = "event_time") -> Template:
        """The template in ``text`` (raises :class:`ConfigError` naming the bad part); ``event_time``: the field
        ``{event_time:FORMAT}`` formats."""
        pieces: list[str | Part] = []
        at = 0
        for m in _BRACED.finditer(text):
            pieces.append(text[at : m.start()])
            pieces.append(_part(m.group(1), text, event_time))
            at = m.end()
        pieces.append(text[at:])
        if "{" in text[at:] or "}" in text[at:] or any("{" in p or "}" in p for p in pieces if isinstance(p, str)):
            raise ConfigError(f"template {text!r}: unbalanced braces")
        template = cls(text, kind, tuple(p for p in pieces if p != ""))
        for part in template.parts:
            if part.format is not None and kind == "table":
                sample = datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc).strftime(part.format)
                if not _TABLE_VALUE.fullmatch(sample):
                    raise ConfigError(f"template {text!r}: {part} gives {sample!r}, not allowed in a table name")
        return template

    @property
    def parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.pieces if isinstance(p, Part))

    def render(self, values: Mapping[Part, str]) -> str:
        """The name with each part's value; raises ``ValueError`` saying why a value may not be part of it."""
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = values[piece]
            if piece.format is None:  # a time's characters come from its format, checked at start
                _check_value(piece, value, self.kind)
            out.append(value)
        name = "".join(out)
        if self.kind == "table" and len(name.encode()) > MAX_TABLE_BYTES:
            raise ValueError(f"table name of {len(name.encode()):,} bytes is over BigQuery's {MAX_TABLE_BYTES:,}")
        return name

    def sample(self) -> str:
        """The template with every part filled with a plain value (to check the rest of the name at start)."""
        time = datetime(2026, 1, 1, tzinfo=timezone.utc)
        return self.render({p: time.strftime(p.format) if p.format else "x" for p in self.parts})


def _part(inner: str, text: str, event_time: str) -> Part:
    name, _, time_format = inner.partition(":")
    if name.startswith("attributes.") and name != "attributes." and not time_format:
        return Part("attribute", name.removeprefix("attributes."))
    if name == "event_time":
        name = f"field.{event_time}"
        if not time_format:
            raise ConfigError(f"template {text!r}: {{event_time}} needs a format, e.g. {{event_time:%Y/%m/%d}}")
    if name.startswith("field.") and all(name.removeprefix("field.").split(".")):
        if time_format:
            for directive in _TIME_DIRECTIVE.findall(time_format):
                if directive not in _TIME_DIRECTIVES:
                    raise ConfigError(f"template {text!r}: %{directive} is not one of %Y %m %d %H %M %S %%")
            return Part("field", name.removeprefix("field."), time_format)
        return Part("field", name.removeprefix("field."))
    raise ConfigError(
        f"template {text!r}: {{{inner}}} is not {{attributes.NAME}}, {{field.PATH}}, {{field.PATH:FORMAT}} "
        "or {event_time:FORMAT}"
    )


def _check_value(part: Part, value: str, kind: str) -> None:
    where = f"{part} = {_preview(value)}"
    if value == "":
        raise ValueError(f"{where}: empty")
    if kind == "table":
        if not _TABLE_VALUE.fullmatch(value):
            raise ValueError(f"{where}: a table name takes letters, digits, '_' and '-' only")
        return
    if len(value.encode()) > MAX_PATH_PART_BYTES:
        raise ValueError(f"{where}: {len(value.encode()):,} bytes, over {MAX_PATH_PART_BYTES} for a path part")
    if "/" in value or "\\" in value or ".." in value:
        raise ValueError(f"{where}: '/', '\\' and '..' are not allowed in a path part")
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise ValueError(f"{where}: control or unassigned characters are not allowed in a path part")


def _preview(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…") + (
        f" ({len(value):,} characters)" if len(value) > limit else ""
    )
