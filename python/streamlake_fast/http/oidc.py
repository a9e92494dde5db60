"""Pub/Sub push authentication: the Google-signed OIDC token each authenticated push carries, verified as Google
says to verify it — RS256 signature against Google's published keys, expiry, the audience the push subscription
names, an issuer of ``accounts.google.com``, and the push service account's verified email.

Keys are fetched from ``certs_url`` (Google's by default) and kept for the ``Cache-Control: max-age`` of the
answer; a token signed with a key id not among them (Google rotated its keys) fetches them again, at most every
``REFETCH_SECONDS``. A token that verified is remembered until it expires (Pub/Sub sends the same token for up to
an hour), so most deliveries cost a dictionary look-up, not an RSA verification.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.http.asgi import HttpError, Scope, header

__all__ = ["GOOGLE_CERTS_URL", "PushTokenVerifier"]

log = logging.getLogger(__name__)

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
#: Least seconds between two key fetches caused by an unknown key id.
REFETCH_SECONDS = 30.0
#: Keys are kept this long when the answer names no max-age.
DEFAULT_KEYS_SECONDS = 3600.0
#: Verified tokens remembered (each until it expires).
MAX_REMEMBERED_TOKENS = 1024
_MAX_AGE = re.compile(r"max-age=(\d+)")
_UNAUTHORIZED = [(b"www-authenticate", b'Bearer error="invalid_token"')]


class PushTokenVerifier:
    """Checks each request's ``Authorization: Bearer <OIDC token>``: 401 when it is missing or does not verify
    (signature, expiry, audience), 403 when it verifies but is not the push service account's.

    :param audience: the audience the push subscription's ``oidc_token`` names (by default its push endpoint URL).
    :param service_account: the email of the service account the subscription pushes as.
    :param certs_url: where the signing keys are published (a JSON object of key id → PEM certificate).
    """

    def __init__(
        self,
        audience: str,
        service_account: str,
        *,
        certs_url: str = GOOGLE_CERTS_URL,
        issuers: tuple[str, ...] = GOOGLE_ISSUERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not audience or not service_account:
            raise ConfigError("push authentication needs the audience and the push service account's email")
        self.audience = audience
        self.service_account = service_account
        self.certs_url = certs_url
        self.issuers = issuers
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._certs_until = 0.0
        self._refetched_at = float("-inf")  # the last fetch an unknown key id caused
        self._verified: OrderedDict[str, float] = OrderedDict()  # token → its expiry
        self.fetches = 0

    def check(self, scope: Scope) -> None:
        """The ASGI services' hook."""
        value = header(scope, b"authorization")
        self.check_header(value.decode("latin-1") if value is not None else None)

    def check_header(self, value: str | None) -> None:
        """Checks an ``Authorization`` header's value (raises :class:`HttpError` 401/403)."""
        if value is None or value[:7].lower() != "bearer ":
            raise HttpError(401, "a Google-signed OIDC token is required", headers=_UNAUTHORIZED)
        token = value[7:].strip()
        now = self._clock()
        with self._lock:
            expiry = self._verified.get(token)
            if expiry is not None and now < expiry:
                self._verified.move_to_end(token)
                return
        claims = self._decode(token)
        if claims.get("iss") not in self.issuers:
            raise HttpError(403, f"the token's issuer {claims.get('iss')!r} is not Google's")
        if claims.get("email") != self.service_account or claims.get("email_verified") is not True:
            raise HttpError(403, f"the token is not the push service account's ({claims.get('email')!r})")
        with self._lock:
            self._verified[token] = float(claims["exp"])
            while len(self._verified) > MAX_REMEMBERED_TOKENS:
                self._verified.popitem(last=False)

    def _decode(self, token: str) -> Mapping[str, Any]:
        from google.auth import jwt

        certs = self._keys(_key_id(token))
        try:
            claims: Mapping[str, Any] = jwt.decode(token, certs=certs, audience=self.audience,  # type: ignore[no-untyped-call]
                                                   clock_skew_in_seconds=10)  # fmt: skip
        except ValueError as e:
            raise HttpError(401, f"the OIDC token does not verify: {e}", headers=_UNAUTHORIZED) from e
        return claims

    def _keys(self, key_id: str | None) -> dict[str, str]:
        """The signing keys: fetched when stale, or when ``key_id`` is not among them (Google rotated its keys;
        at most every ``REFETCH_SECONDS``)."""
        now = self._clock()
        with self._lock:
            stale = now >= self._certs_until
            unknown = not stale and key_id is not None and key_id not in self._certs
            unknown = unknown and now - self._refetched_at >= REFETCH_SECONDS
            if unknown:
                self._refetched_at = now
            if stale or unknown:
                try:
                    self._certs, max_age = self._fetch()
                except (OSError, ValueError) as e:
                    if not self._certs:
                        raise HttpError(503, f"cannot fetch the token signing keys from {self.certs_url}: {e}",
                                        headers=[(b"retry-after", b"10")]) from e  # fmt: skip
                    log.warning("cannot refresh the token signing keys from %s: %s", self.certs_url, e)
                    max_age = REFETCH_SECONDS
                self._certs_until = now + max_age
            return self._certs

    def _fetch(self) -> tuple[dict[str, str], float]:
        with urllib.request.urlopen(self.certs_url, timeout=10) as answer:
            body = json.loads(answer.read())
            cache = answer.headers.get("Cache-Control", "")
        self.fetches += 1
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise ValueError("the keys document is not an object of key id → PEM certificate")
        match = _MAX_AGE.search(cache)
        return {str(k): v for k, v in body.items()}, float(match.group(1)) if match else DEFAULT_KEYS_SECONDS


def _key_id(token: str) -> str | None:
    """The ``kid`` of a JWT's header (unverified: it only picks the key to verify with)."""
    import base64

    head = token.split(".", 1)[0]
    try:
        header_json = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return None
    kid = header_json.get("kid") if isinstance(header_json, dict) else None
    return kid if isinstance(kid, str) else None
