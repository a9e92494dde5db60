"""Authentication for the HTTP services: the :class:`Authenticator` hook, and a static bearer token
(``--auth-token-file``). Pub/Sub push's Google-signed OIDC tokens are :mod:`~streamlake_fast.http.oidc`'s.

Behind Cloud Run with IAM (``--no-allow-unauthenticated``), Google checks the caller's Google-signed ID token
before a request reaches the container, so the service needs no token of its own there; a token file is for
anywhere else (or both)."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Protocol

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.http.asgi import HttpError, Scope, header

__all__ = ["Authenticator", "BearerAuth"]


class Authenticator(Protocol):
    def check(self, scope: Scope) -> None:
        """Raises :class:`HttpError` (401, 403) unless the request may go on."""

    def check_header(self, value: str | None) -> None:
        """The same for an ``Authorization`` header's value (the Functions Framework's requests)."""


class BearerAuth:
    """Requests must carry ``Authorization: Bearer <token>``: 401 without one, 403 with another."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ConfigError("the auth token is empty")
        self._token = token.encode()

    @classmethod
    def from_file(cls, path: str) -> BearerAuth:
        try:
            return cls(Path(path).read_text(encoding="utf-8").strip())
        except OSError as e:
            raise ConfigError(f"cannot read the auth token file {path}: {e.strerror or e}") from e

    def check(self, scope: Scope) -> None:
        value = header(scope, b"authorization")
        self.check_header(value.decode("latin-1") if value is not None else None)

    def check_header(self, value: str | None) -> None:
        if value is None or not value[:7].lower() == "bearer ":
            raise HttpError(401, "a bearer token is required", headers=[(b"www-authenticate", b"Bearer")])
        if not hmac.compare_digest(value[7:].strip().encode("latin-1"), self._token):
            raise HttpError(403, "the bearer token is not accepted")
