"""Bearer-token authentication for the HTTP services (``--auth-token-file``).

Behind Cloud Run with IAM (``--no-allow-unauthenticated``), Google checks the caller's Google-signed ID token
before a request reaches the container, so the service needs no token of its own there; a token file is for
anywhere else (or both)."""

from __future__ import annotations

import hmac
from pathlib import Path

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.http.asgi import HttpError, Scope, header

__all__ = ["BearerAuth"]


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
        if value is None or not value[:7].lower() == b"bearer ":
            raise HttpError(401, "a bearer token is required", headers=[(b"www-authenticate", b"Bearer")])
        if not hmac.compare_digest(value[7:].strip(), self._token):
            raise HttpError(403, "the bearer token is not accepted")
