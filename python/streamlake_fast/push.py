"""Pub/Sub push to BigQuery and the lake, for Cloud Run, Cloud Run functions (the Functions Framework) and any
ASGI or WSGI server.

Cloud Run functions / the Functions Framework (HTTP signature)::

    # main.py — deploy with --entry-point ingest (a push subscription, or an Eventarc Pub/Sub trigger, pointing at it)
    from streamlake_fast.push import function
    ingest = function(table="my-project.shop.receipts", dead_letter_topic="projects/my-project/topics/receipts-dlq")

Any ASGI server (uvicorn, hypercorn, granian)::

    from streamlake_fast.push import asgi_app
    app = asgi_app(table="my-project.shop.receipts")

Each delivery is answered 2xx only once its row is in BigQuery (and/or its lake file is visible) or its dead letter
is durable; any other answer makes Pub/Sub deliver it again. Concurrent deliveries are decoded and written
together. ``streamlake push-handler`` runs the ASGI app under uvicorn.
"""

from __future__ import annotations

from typing import Any, Literal

from streamlake_fast.extras import needs_extra

with needs_extra():
    from streamlake_fast.app import build_destinations
    from streamlake_fast.config import LakeConfig, WorkerConfig
    from streamlake_fast.http.auth import Authenticator, BearerAuth
    from streamlake_fast.http.push_app import PushApp, push_function
    from streamlake_fast.http.push_writer import PUSH_RETRY, PushWriter
from streamlake_fast.retry import Retry

__all__ = ["asgi_app", "authenticator", "function", "writer"]


def _config(
    table: str, lake: str, schema: str | None, partition_by: str | None, dead_letter_topic: str | None,
    dead_letter_table: str | None, mode: Literal["default", "committed"], config: WorkerConfig | None,
) -> WorkerConfig:  # fmt: skip
    if config is None:
        config = WorkerConfig(table=table, schema=schema, dead_letter_topic=dead_letter_topic,
                              dead_letter_table=dead_letter_table, mode=mode,
                              lake=LakeConfig(root=lake, partition_by=partition_by))  # fmt: skip
    return config.validate(source=False)


def writer(
    *,
    table: str = "",
    lake: str = "",
    schema: str | None = None,
    partition_by: str | None = None,
    dead_letter_topic: str | None = None,
    dead_letter_table: str | None = None,
    mode: Literal["default", "committed"] = "default",
    subscription: str = "",
    config: WorkerConfig | None = None,
    retry: Retry = PUSH_RETRY,
) -> PushWriter:
    """The writer behind the handlers: BigQuery ``table`` and/or the ``lake`` root (its events' ``schema`` file is
    then needed), dead letters to a topic, a table (``<table>_rejects`` by default) or the lake's ``_rejects/``. A
    full :class:`~streamlake_fast.config.WorkerConfig` may be given instead (its source settings are ignored).
    ``subscription`` fills the ``subscription_name`` column (default: the one each delivery names); ``retry``: how
    long an unavailable destination is retried before the deliveries are answered 503 (Pub/Sub delivers them
    again)."""
    config = _config(table, lake, schema, partition_by, dead_letter_topic, dead_letter_table, mode, config)
    d = build_destinations(config)
    return PushWriter(d.codec, d.sinks, d.dead_letter, source=subscription, retry=retry, schema_watch=d.schema_watch)


def authenticator(
    *, auth_token: str | None = None, push_audience: str | None = None, push_service_account: str | None = None,
    push_certs_url: str | None = None,
) -> Authenticator | None:  # fmt: skip
    """How push requests are authenticated: Pub/Sub's Google-signed OIDC token (``push_audience`` and
    ``push_service_account``, as the push subscription names them), or a static ``auth_token``; None for none."""
    if push_audience or push_service_account:
        from streamlake_fast.http.oidc import GOOGLE_CERTS_URL, PushTokenVerifier

        return PushTokenVerifier(push_audience or "", push_service_account or "",
                                 certs_url=push_certs_url or GOOGLE_CERTS_URL)  # fmt: skip
    return BearerAuth(auth_token) if auth_token else None


def function(
    *, unwrapped: bool = False, max_messages: int = 1000, auth_token: str | None = None,
    push_audience: str | None = None, push_service_account: str | None = None, **destinations: Any,
) -> Any:  # fmt: skip
    """A Functions Framework HTTP function writing push deliveries (``destinations``: as :func:`writer`);
    ``unwrapped`` for a subscription with ``--push-no-wrapper`` (and ``--push-no-wrapper-write-metadata``);
    authentication as :func:`authenticator`. The settings are checked now; the clients are made on the first
    delivery (after the framework's server forked)."""
    settings = {k: v for k, v in destinations.items() if k not in ("subscription", "retry", "push_certs_url")}
    _config(**{**_DEFAULTS, **settings})
    auth = authenticator(auth_token=auth_token, push_audience=push_audience, push_service_account=push_service_account,
                         push_certs_url=destinations.pop("push_certs_url", None))  # fmt: skip
    return push_function(lambda: writer(**destinations), auth=auth, unwrapped=unwrapped, max_messages=max_messages)


_DEFAULTS: dict[str, Any] = {"table": "", "lake": "", "schema": None, "partition_by": None, "dead_letter_topic": None,
                             "dead_letter_table": None, "mode": "default", "config": None}  # fmt: skip


def asgi_app(
    *, auth_token: str | None = None, push_audience: str | None = None, push_service_account: str | None = None,
    push_certs_url: str | None = None, unwrapped: bool = False, max_messages: int = 1000, **destinations: Any,
) -> PushApp:  # fmt: skip
    """An ASGI app writing push deliveries posted to ``/`` (``destinations``: as :func:`writer`; authentication as
    :func:`authenticator`)."""
    auth = authenticator(auth_token=auth_token, push_audience=push_audience, push_service_account=push_service_account,
                         push_certs_url=push_certs_url)  # fmt: skip
    return PushApp(writer(**destinations), auth=auth, unwrapped=unwrapped, max_messages=max_messages)
