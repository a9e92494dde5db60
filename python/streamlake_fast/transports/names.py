"""Resource names, checked before anything connects: a malformed one is a :class:`ConfigError` naming it."""

from __future__ import annotations

from streamlake_fast.exceptions import ConfigError

__all__ = ["check_queue_url", "check_subscription", "check_topic", "parse_table"]


def _check_path(value: str, kind: str) -> str:
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != kind or not parts[1] or not parts[3]:
        singular = kind[:-1]
        raise ConfigError(f"{singular} must look like projects/PROJECT/{kind}/NAME, got {value!r}")
    return value


def check_subscription(subscription: str) -> str:
    """``projects/P/subscriptions/S``, returned unchanged."""
    return _check_path(subscription, "subscriptions")


def check_topic(topic: str) -> str:
    """``projects/P/topics/T``, returned unchanged."""
    return _check_path(topic, "topics")


def check_queue_url(url: str) -> str:
    """An SQS queue URL, ``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`` (or a local server's
    ``http://HOST:PORT/ACCOUNT/NAME``), returned unchanged."""
    scheme, _, rest = url.partition("://")
    parts = rest.split("/")
    if scheme not in ("http", "https") or len(parts) != 3 or not all(parts):
        raise ConfigError(f"queue must be a URL like https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, got {url!r}")
    return url


def parse_table(table: str) -> tuple[str, str, str]:
    """``project.dataset.table`` (or ``project:dataset.table``) → its three parts."""
    parts = table.replace(":", ".").split(".")
    if len(parts) != 3 or not all(parts):
        raise ConfigError(f"table must look like PROJECT.DATASET.TABLE, got {table!r}")
    return parts[0], parts[1], parts[2]
