"""Benchmark shape families: deterministic JSON events of five shapes, each with its BigQuery schema.

Each family is a function ``(n, seed, **variation) -> (schema_fields, messages)``: the same arguments always give the
same bytes, and every event is valid for the schema. The variation parameters (field counts, string lengths, escape
density, nesting depth, array lengths, null fractions, UTC offsets) default to the sizes quoted in each docstring, so
that the benchmark is not tuned to one data set; change them to explore.

Used by ``benches/test_shapes_bench.py`` (``.venv/bin/python -m pytest benches/test_shapes_bench.py -q -s``) and
by the mixed stream (:mod:`streamlake_fast.local.mixed`).

Arrays (REPEATED fields) are always written, empty or not: the codec reads a missing array as ``[]`` while
pyarrow.json and DuckDB read it as NULL, which would make the peers' tables differ for a reason unrelated to speed.
A NULL scalar is written either as ``null`` or by leaving the key out (both mean NULL for every reader).
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["SHAPES", "Fields", "Generator", "iot", "logs", "payments", "telemetry", "wide"]

Fields = list[dict[str, Any]]
Generator = Callable[..., tuple[Fields, list[bytes]]]

_EPOCH = datetime(2026, 11, 1, tzinfo=timezone.utc)
_SPAN_US = 30 * 86_400 * 1_000_000
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ALNUM = string.ascii_letters + string.digits + "  -_."


def _field(name: str, type_: str, mode: str = "NULLABLE", fields: Fields | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": type_, "mode": mode}
    if fields is not None:
        out["fields"] = fields
    return out


def _dumps(event: dict[str, Any]) -> bytes:
    return _ENCODER.encode(event).encode()


def _offset_minutes(offset: str) -> int:
    if offset == "Z":
        return 0
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = offset[1:].split(":")
    return sign * (int(hours) * 60 + int(minutes))


def _timestamp(rng: random.Random, offsets: Sequence[str] = ("Z",), fractions: Sequence[int] = (0, 3, 6)) -> str:
    """An RFC 3339 timestamp within 30 days of the epoch, written in local time at one of ``offsets``."""
    micros = rng.randrange(_SPAN_US)
    digits = rng.choice(fractions)
    micros -= micros % 10 ** (6 - digits)
    offset = rng.choice(offsets)
    local = _EPOCH + timedelta(microseconds=micros, minutes=_offset_minutes(offset))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += f".{local.microsecond:06d}"[: digits + 1]
    return text + offset


def _text(rng: random.Random, length: tuple[int, int]) -> str:
    return "".join(rng.choices(_ALNUM, k=rng.randint(*length)))


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _decimal(rng: random.Random, int_digits: tuple[int, int], scale: tuple[int, int]) -> str:
    """Exact decimal text: ``int_digits`` digits before the point (no leading zeros), ``scale`` after it."""
    digits = rng.randint(*int_digits)
    whole = str(rng.randrange(10 ** (digits - 1), 10**digits)) if digits > 1 else str(rng.randrange(10))
    places = rng.randint(*scale)
    fraction = f".{rng.randrange(10**places):0{places}d}" if places else ""
    sign = "-" if rng.random() < 0.2 else ""
    return f"{sign}{whole}{fraction}"


def _maybe(rng: random.Random, null_fraction: float, event: dict[str, Any], key: str, value: Any) -> None:
    """Set a NULLABLE ``key``: now and then NULL instead, written as ``null`` or by leaving the key out."""
    if rng.random() >= null_fraction:
        event[key] = value
    elif rng.random() < 0.5:
        event[key] = None


def iot(
    n: int, seed: int, *, devices: int = 20_000, null_fraction: float = 0.05, extra_metrics: int = 0
) -> tuple[Fields, list[bytes]]:
    """Tiny IoT readings (~120 bytes/event): device id, TIMESTAMP, two floats, an INT64, a BOOL, some NULLs.

    ``extra_metrics`` adds that many more NULLABLE FLOAT64 readings.
    """
    fields = [
        _field("device_id", "STRING", "REQUIRED"),
        _field("ts", "TIMESTAMP", "REQUIRED"),
        _field("temp_c", "FLOAT64"),
        _field("humidity", "FLOAT64"),
        _field("battery_mv", "INT64"),
        _field("door_open", "BOOL"),
        *(_field(f"metric_{i}", "FLOAT64") for i in range(extra_metrics)),
    ]
    rng = random.Random(seed)
    messages = []
    for _ in range(n):
        event: dict[str, Any] = {"device_id": f"d-{rng.randrange(devices):05d}", "ts": _timestamp(rng, ("Z",), (3,))}
        _maybe(rng, null_fraction, event, "temp_c", round(rng.gauss(21.0, 6.0), 1))
        _maybe(rng, null_fraction, event, "humidity", round(rng.uniform(5.0, 95.0), 1))
        _maybe(rng, null_fraction, event, "battery_mv", rng.randint(2_900, 4_200))
        _maybe(rng, null_fraction, event, "door_open", rng.random() < 0.1)
        for i in range(extra_metrics):
            _maybe(rng, null_fraction, event, f"metric_{i}", round(rng.uniform(-1_000.0, 1_000.0), 3))
        messages.append(_dumps(event))
    return fields, messages


_WIDE_TYPES = ("STRING", "INT64", "FLOAT64", "BOOL", "TIMESTAMP", "NUMERIC")
_WIDE_WEIGHTS = (30, 20, 20, 10, 10, 10)


def _wide_value(rng: random.Random, type_: str, string_length: tuple[int, int]) -> Any:
    if type_ == "STRING":
        return _text(rng, string_length)
    if type_ == "INT64":
        if rng.random() < 0.05:
            return rng.randrange(-(2**63), 2**63)
        return rng.randrange(-(10 ** rng.randint(1, 12)), 10**9)
    if type_ == "FLOAT64":
        return rng.choice((round(rng.gauss(0.0, 100.0), 3), rng.random() * 1e6, rng.uniform(-1.0, 1.0) * 1e-7))
    if type_ == "BOOL":
        return rng.random() < 0.5
    if type_ == "TIMESTAMP":
        return _timestamp(rng)
    # NUMERIC: exact decimal text as a JSON string, or a number with two decimals (Python writes it exactly)
    return _decimal(rng, (1, 12), (0, 9)) if rng.random() < 0.5 else round(rng.uniform(-1e7, 1e7), 2)


def wide(
    n: int,
    seed: int,
    *,
    columns: int = 80,
    null_fraction: float = 0.1,
    string_length: tuple[int, int] = (8, 80),
    required_every: int = 8,
) -> tuple[Fields, list[bytes]]:
    """~80 flat columns of mixed types (STRING, INT64, FLOAT64, BOOL, TIMESTAMP, NUMERIC) with NULLs (~2,800 bytes).

    The column types are drawn from the seed; one column in ``required_every`` is REQUIRED, the rest NULLABLE.
    """
    rng = random.Random(seed)
    types = rng.choices(_WIDE_TYPES, _WIDE_WEIGHTS, k=columns)
    fields = [
        _field(f"{t.lower()}_{i:03d}", t, "REQUIRED" if i % required_every == 0 else "NULLABLE")
        for i, t in enumerate(types)
    ]
    messages = []
    for _ in range(n):
        event: dict[str, Any] = {}
        for f in fields:
            value = _wide_value(rng, f["type"], string_length)
            if f["mode"] == "REQUIRED":
                event[f["name"]] = value
            else:
                _maybe(rng, null_fraction, event, f["name"], value)
        messages.append(_dumps(event))
    return fields, messages


_LOG_WORDS = (
    "request", "handled", "in", "ms", "user", "session", "cache", "miss", "hit", "retrying", "upstream", "timeout",
    "connection", "reset", "by", "peer", "GET", "POST", "/api/v2/orders", "status=200", "status=503", "bytes=5120",
    "order", "created", "payment", "declined", "queue", "depth", "worker", "started", "shutdown", "db", "query",
    "took", "rows", "the", "a", "of", "to", "for", "with", "from", "id=", "region=eu-west-1", "attempt", "error",
)  # fmt: skip
_LOG_NON_ASCII = (
    "café", "naïve", "Zürich", "São Paulo", "Kraków", "Ærøskøbing", "東京", "错误", "データベース", "ошибка",
    "Ελλάδα", "שלום", "مرحبا", "°C", "€42", "£7", "™", "→", "✅", "😀", "🚀", "🔥", "👍🏽", "🇩🇪",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",  # "Unicode" in Fraktur letters
)  # fmt: skip
# ASCII text JSON must escape, as producers write it (quotes, backslashes, newlines of stack traces, escaped slashes).
_LOG_SPECIAL = ('"quoted"', "C:\\temp\\app.log", "\n  at handler (app.js:42)", "\tcol", "https:\\/\\/example.com\\/x")
_LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR")
_SERVICES = ("checkout", "search", "auth", "inventory", "payments-gateway", "notifications", "edge-proxy")


def _escape_char(ch: str, upper: bool) -> str:
    """``ch`` as ``\\uXXXX`` (a surrogate pair above the BMP)."""
    code = ord(ch)
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    return "".join(f"\\u{u:04X}" if upper else f"\\u{u:04x}" for u in units)


def _escape_some(token: str, rng: random.Random, escape_density: float) -> str:
    """JSON string text of ``token``: each non-ASCII character escaped with probability ``escape_density``."""
    upper = rng.random() < 0.5
    return "".join(_escape_char(ch, upper) if ord(ch) > 0x7F and rng.random() < escape_density else ch for ch in token)


def _log_message(
    rng: random.Random, esc: random.Random, length: int, non_ascii: float, escape_density: float, specials: float
) -> str:
    """The JSON string text (without quotes) of a message of about ``length`` characters."""
    parts: list[str] = []
    size = 0
    while size < length:
        roll = rng.random()
        if roll < non_ascii:
            token = rng.choice(_LOG_NON_ASCII)
            text = _escape_some(token, esc, escape_density)
        elif roll < non_ascii + specials:
            token = rng.choice(_LOG_SPECIAL)
            text = json.dumps(token)[1:-1] if "\\/" not in token else token
        else:
            token = rng.choice(_LOG_WORDS) if rng.random() < 0.85 else str(rng.randrange(100_000))
            text = token
        parts.append(text)
        size += len(token) + 1
    return " ".join(parts)


def logs(
    n: int,
    seed: int,
    *,
    message_length: tuple[int, int] = (150, 2_000),
    non_ascii_fraction: float = 0.06,
    escape_density: float = 0.5,
    special_fraction: float = 0.01,
    null_fraction: float = 0.2,
) -> tuple[Fields, list[bytes]]:
    """Log lines (~1,000 bytes/event): a long message plus level, service, host and trace ids.

    The message is ``message_length`` characters (skewed toward the short end); ``non_ascii_fraction`` of its words
    are non-ASCII (accents, CJK, RTL scripts, emoji above the BMP) and each of their characters is written as a
    ``\\uXXXX`` escape (a surrogate pair for emoji) with probability ``escape_density``, the rest as raw UTF-8.
    ``special_fraction`` of the words need ASCII escapes (quotes, backslashes, newlines, tabs, ``\\/``). The escape
    choices come from a random stream of their own, so the decoded text depends only on ``seed``, not on
    ``escape_density``.
    """
    fields = [
        _field("ts", "TIMESTAMP", "REQUIRED"),
        _field("level", "STRING", "REQUIRED"),
        _field("service", "STRING", "REQUIRED"),
        _field("host", "STRING"),
        _field("trace_id", "STRING"),
        _field("span_id", "STRING"),
        _field("message", "STRING", "REQUIRED"),
    ]
    rng = random.Random(seed)
    esc = random.Random(seed ^ 0x5EED)
    low, high = message_length
    messages = []
    for _ in range(n):
        ts = _timestamp(rng, ("Z",), (6,))
        head = f'{{"ts":"{ts}","level":"{rng.choice(_LEVELS)}","service":"{rng.choice(_SERVICES)}"'
        optional = {
            "host": f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}",
            "trace_id": _hex(rng, 32),
            "span_id": _hex(rng, 16),
        }
        for key, value in optional.items():
            roll = rng.random()
            if roll >= null_fraction:
                head += f',"{key}":"{value}"'
            elif roll < null_fraction / 2:
                head += f',"{key}":null'
        length = round(rng.triangular(low, high, low))
        text = _log_message(rng, esc, length, non_ascii_fraction, escape_density, special_fraction)
        messages.append(f'{head},"message":"{text}"}}'.encode())
    return fields, messages


_LEVEL_NAMES = ("players", "actions", "hits", "effects", "ticks", "samples")
_ACTION_KINDS = ("move", "jump", "shoot", "reload", "use", "chat", "emote", "spawn", "die")


def _telemetry_fields(depth: int, level: int = 1) -> Fields:
    fields = [
        _field("id", "STRING", "REQUIRED"),
        _field("kind", "STRING"),
        _field("t_ms", "INT64", "REQUIRED"),
        _field("value", "FLOAT64"),
        _field("flag", "BOOL"),
        _field("pos", "RECORD", "NULLABLE", [_field("x", "FLOAT64"), _field("y", "FLOAT64"), _field("z", "FLOAT64")]),
    ]
    if level == 1:
        fields.append(_field("tags", "STRING", "REPEATED"))
    if level < depth:
        name = _LEVEL_NAMES[level] if level < len(_LEVEL_NAMES) else f"level_{level + 1}"
        fields.append(_field(name, "RECORD", "REPEATED", _telemetry_fields(depth, level + 1)))
    return fields


def _telemetry_record(
    rng: random.Random, depth: int, level: int, array_length: tuple[int, int], null_fraction: float
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": f"{'p' if level == 1 else 'e'}{rng.randrange(1_000_000)}"}
    _maybe(rng, null_fraction, record, "kind", rng.choice(_ACTION_KINDS))
    record["t_ms"] = rng.randrange(3_600_000)
    _maybe(rng, null_fraction, record, "value", round(rng.uniform(0.0, 250.0), 3))
    _maybe(rng, null_fraction, record, "flag", rng.random() < 0.3)
    pos = {"x": round(rng.uniform(-500.0, 500.0), 2), "y": round(rng.uniform(-500.0, 500.0), 2)}
    _maybe(rng, null_fraction, pos, "z", round(rng.uniform(0.0, 50.0), 2))
    _maybe(rng, null_fraction, record, "pos", pos)
    if level == 1:
        record["tags"] = rng.sample(("vip", "party", "mic", "bot", "new", "ranked", "mobile"), rng.randint(0, 3))
    if level < depth:
        name = _LEVEL_NAMES[level] if level < len(_LEVEL_NAMES) else f"level_{level + 1}"
        count = rng.randint(*array_length)
        record[name] = [_telemetry_record(rng, depth, level + 1, array_length, null_fraction) for _ in range(count)]
    return record


def _telemetry_payload(rng: random.Random, keys: int) -> Any:
    """A JSON value for the JSON column: usually an object of ``keys`` keys, now and then an array, scalar or NULL.

    Written as Python writes JSON (compact, numbers in shortest round-trip form, raw UTF-8).
    """
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.08:
        return rng.choice((rng.randrange(1_000), "legacy-client", True, [1, 2, 3]))
    makers: tuple[Callable[[], Any], ...] = (
        lambda: round(rng.uniform(20.0, 240.0), 1),
        lambda: rng.randrange(5, 300),
        lambda: rng.choice(("rtx-3060", "rx-6700", "m2", "adreno-740")),
        lambda: {"vsync": rng.random() < 0.5, "quality": rng.choice(("low", "mid", "high", "ultra"))},
        lambda: [rng.randrange(100) for _ in range(rng.randint(0, 4))],
        lambda: None,
    )
    return {f"k{i}": makers[(i + rng.randrange(3)) % len(makers)]() for i in range(keys)}


def telemetry(
    n: int,
    seed: int,
    *,
    depth: int = 3,
    array_length: tuple[int, int] = (0, 3),
    players: tuple[int, int] = (1, 3),
    json_keys: int = 8,
    null_fraction: float = 0.05,
) -> tuple[Fields, list[bytes]]:
    """Game telemetry (~1,400 bytes/event): REPEATED RECORDs nested ``depth`` levels deep, each record holding a
    RECORD (``pos``), plus a JSON column (``payload``).

    ``players`` has ``players`` elements, each nested array ``array_length`` (inclusive ranges); ``payload`` objects
    have ``json_keys`` keys.
    """
    fields = [
        _field("match_id", "STRING", "REQUIRED"),
        _field("server_time", "TIMESTAMP", "REQUIRED"),
        _field("build", "INT64", "REQUIRED"),
        _field("map", "STRING"),
        _field("mode", "STRING"),
        _field("payload", "JSON"),
        _field("players", "RECORD", "REPEATED", _telemetry_fields(depth)),
    ]
    rng = random.Random(seed)
    messages = []
    for _ in range(n):
        event: dict[str, Any] = {
            "match_id": f"m-{_hex(rng, 12)}",
            "server_time": _timestamp(rng, ("Z",), (3, 6)),
            "build": rng.randrange(10_000, 11_000),
        }
        _maybe(rng, null_fraction, event, "map", rng.choice(("dust", "harbor", "summit", "canals")))
        _maybe(rng, null_fraction, event, "mode", rng.choice(("ranked", "casual", "arena")))
        event["payload"] = _telemetry_payload(rng, json_keys)
        count = rng.randint(*players)
        event["players"] = [_telemetry_record(rng, depth, 1, array_length, null_fraction) for _ in range(count)]
        messages.append(_dumps(event))
    return fields, messages


_OFFSETS = ("Z", "Z", "+00:00", "+05:30", "-08:00", "+09:00", "-03:30", "+05:45", "+01:00")
_CURRENCIES = ("EUR", "USD", "GBP", "JPY", "INR", "BRL", "CHF")
_METHODS = ("card", "card", "sepa_debit", "wallet", "bank_transfer")
_STATUSES = ("authorized", "captured", "refunded", "settled", "disputed")


def payments(
    n: int,
    seed: int,
    *,
    string_fraction: float = 0.5,
    offsets: Sequence[str] = _OFFSETS,
    numeric_digits: tuple[int, int] = (1, 12),
    bignumeric_digits: tuple[int, int] = (1, 20),
    bignumeric_scale: tuple[int, int] = (0, 38),
    null_fraction: float = 0.15,
) -> tuple[Fields, list[bytes]]:
    """Payments (~345 bytes/event): NUMERIC and BIGNUMERIC values, TIMESTAMPs at various UTC offsets.

    Each decimal is written as a JSON string with probability ``string_fraction``, else as a JSON number (exact text
    either way, trailing zeros kept); NUMERIC values have ``numeric_digits`` digits before the point and 0-9 after,
    BIGNUMERIC ones ``bignumeric_digits`` and ``bignumeric_scale``. Timestamps carry one of ``offsets``.
    """
    fields = [
        _field("payment_id", "STRING", "REQUIRED"),
        _field("created_at", "TIMESTAMP", "REQUIRED"),
        _field("captured_at", "TIMESTAMP"),
        _field("merchant_id", "STRING", "REQUIRED"),
        _field("currency", "STRING", "REQUIRED"),
        _field("status", "STRING", "REQUIRED"),
        _field("method", "STRING", "REQUIRED"),
        _field("amount", "NUMERIC", "REQUIRED"),
        _field("fee", "NUMERIC"),
        _field("tax", "NUMERIC"),
        _field("fx_rate", "BIGNUMERIC"),
        _field("ledger_balance", "BIGNUMERIC", "REQUIRED"),
    ]
    rng = random.Random(seed)

    def number(int_digits: tuple[int, int], scale: tuple[int, int]) -> str:
        text = _decimal(rng, int_digits, scale)
        return f'"{text}"' if rng.random() < string_fraction else text

    messages = []
    for _ in range(n):
        pairs = [
            ("payment_id", f'"pay_{_hex(rng, 24)}"'),
            ("created_at", f'"{_timestamp(rng, offsets)}"'),
            ("captured_at", f'"{_timestamp(rng, offsets)}"' if rng.random() >= null_fraction else "null"),
            ("merchant_id", f'"mch_{rng.randrange(100_000):05d}"'),
            ("currency", f'"{rng.choice(_CURRENCIES)}"'),
            ("status", f'"{rng.choice(_STATUSES)}"'),
            ("method", f'"{rng.choice(_METHODS)}"'),
            ("amount", number(numeric_digits, (0, 9))),
            ("fee", number((1, 4), (2, 4))),
            ("tax", number((1, 6), (2, 2))),
            ("fx_rate", number((1, 4), bignumeric_scale)),
            ("ledger_balance", number(bignumeric_digits, bignumeric_scale)),
        ]
        kept = [(k, v) for k, v in pairs if not (k in ("fee", "tax", "fx_rate") and rng.random() < null_fraction)]
        messages.append(("{" + ",".join(f'"{k}":{v}' for k, v in kept) + "}").encode())
    return fields, messages


SHAPES: dict[str, Generator] = {
    "iot": iot,
    "wide": wide,
    "logs": logs,
    "telemetry": telemetry,
    "payments": payments,
}
