"""Pub/Sub push to BigQuery and the lake, for Cloud Run, Cloud Run functions (the Functions Framework) and any
ASGI or WSGI server.

Cloud Run functions / the Functions Framework (HTTP signature)::

    # main.py — deploy with --entry-point ingest (a push subscription, or an Eventarc Pub/Sub trigger, pointing at it)
    from streamlake_fast.runtimes.push import function
    ingest = function(table="my-project.shop.receipts", dead_letter_topic="projects/my-project/topics/receipts-dlq")

Any ASGI server (uvicorn, hypercorn, granian)::

    from streamlake_fast.runtimes.push import asgi_app
    app = asgi_app(table="my-project.shop.receipts")

Each delivery is answered 2xx only once its row is in BigQuery (and/or its lake file is visible) or its dead letter
is durable; any other answer makes Pub/Sub deliver it again. Concurrent deliveries are decoded and written
together. ``streamlake push-handler`` runs the ASGI app under uvicorn.
"""

from __future__ import annotations

import threading
from typing import Any

from streamlake_fast.destinations import Destinations
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.extras import needs_extra

with needs_extra():
    from streamlake_fast.http.auth import Authenticator, BearerAuth
    from streamlake_fast.runtimes.push.app import PushApp, push_function
    from streamlake_fast.runtimes.push.writer import PUSH_RETRY, PushWriter
from streamlake_fast.transports.retry import Retry
from streamlake_fast.worker.router import fan_out

__all__ = ["asgi_app", "authenticator", "function", "writer"]


def writer(
    destinations: Destinations | None = None,
    *,
    subscription: str = "",
    retry: Retry = PUSH_RETRY,
    config: Destinations | None = None,
    **settings: Any,
) -> PushWriter:
    """The writer behind the handlers, writing to ``destinations`` — or to the ``settings`` of
    :meth:`Destinations.of <streamlake_fast.destinations.Destinations.of>`: BigQuery ``table`` and/or the ``lake``
    root (its events' ``schema`` file is then needed), dead letters to a topic, a queue, a table or files
    (``<table>_rejects`` by default, else the lake's ``_rejects/``). ``config``: a
    :class:`~streamlake_fast.config.WorkerConfig` (its source settings are ignored). ``subscription`` fills the
    ``subscription_name`` column (default: the one each delivery names); ``retry``: how long an unavailable
    destination is retried before the deliveries are answered 503 (Pub/Sub delivers them again)."""
    d = _destinations(destinations or config, settings)
    return PushWriter(fan_out(d, source=subscription or "push", abort=threading.Event(), retry=retry),
                      named=bool(subscription))  # fmt: skip


def _destinations(given: Destinations | None, settings: dict[str, Any]) -> Destinations:
    """The destinations given, or made of the keyword settings; checked."""
    if given is not None and settings:
        raise ConfigError(f"give the destinations or their settings, not both ({', '.join(sorted(settings))})")
    try:
        d = given or Destinations.of(**settings)
    except TypeError as e:
        raise ConfigError(f"push: {e}") from None
    d.check()
    return d


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
    *, unwrapped: bool = False, attribute_headers: tuple[str, ...] = (), max_messages: int = 1000,
    auth_token: str | None = None, push_audience: str | None = None, push_service_account: str | None = None,
    push_certs_url: str | None = None, **destinations: Any,
) -> Any:  # fmt: skip
    """A Functions Framework HTTP function writing push deliveries (``destinations``: as :func:`writer`);
    ``unwrapped`` for a subscription with ``--push-no-wrapper`` (and ``--push-no-wrapper-write-metadata``), the
    headers named in ``attribute_headers`` then taken as the message's attributes; authentication as
    :func:`authenticator`. The settings are checked now; the clients are made on the first delivery (after the
    framework's server forked)."""
    settings = {k: v for k, v in destinations.items() if k not in ("subscription", "retry", "destinations", "config")}
    _destinations(destinations.get("destinations") or destinations.get("config"), settings)  # checked now
    auth = authenticator(auth_token=auth_token, push_audience=push_audience, push_service_account=push_service_account,
                         push_certs_url=push_certs_url)  # fmt: skip
    return push_function(lambda: writer(**destinations), auth=auth, unwrapped=unwrapped,
                         attribute_headers=attribute_headers, max_messages=max_messages)  # fmt: skip


def asgi_app(
    *, auth_token: str | None = None, push_audience: str | None = None, push_service_account: str | None = None,
    push_certs_url: str | None = None, unwrapped: bool = False, attribute_headers: tuple[str, ...] = (),
    max_messages: int = 1000, **destinations: Any,
) -> PushApp:  # fmt: skip
    """An ASGI app writing push deliveries posted to ``/`` (``destinations``: as :func:`writer`; authentication as
    :func:`authenticator`)."""
    auth = authenticator(auth_token=auth_token, push_audience=push_audience, push_service_account=push_service_account,
                         push_certs_url=push_certs_url)  # fmt: skip
    return PushApp(writer(**destinations), auth=auth, unwrapped=unwrapped, attribute_headers=attribute_headers,
                   max_messages=max_messages)  # fmt: skip
