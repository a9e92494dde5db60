"""Google credentials and Google-signed tokens that work offline, through google-auth's public paths only.

A service-account key file made here (an RSA key of the test's own) whose ``token_uri`` is a local OAuth 2.0 token
endpoint: a real HTTP server on a free port that checks each JWT-bearer grant's signature (with the key's public
half) and audience and hands out access tokens. ``GOOGLE_APPLICATION_CREDENTIALS`` pointing at the file makes
``google.auth.default()`` — and so every Google client that a library builds for itself (Beam's among them) —
authenticate against it, with no patching of anyone's internals.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["OidcIssuer", "RsaKey", "TokenServer", "oidc_issuer", "token_server"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: google-auth addresses every service-account grant to Google's token endpoint, whatever the file's token_uri.
GRANT_AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class RsaKey:
    """An RSA key pair made for one test run: the private half as PEM (what a service-account file holds)."""

    private_pem: str
    public_pem: str

    @classmethod
    def generate(cls) -> RsaKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private.decode(), public.decode())


@dataclass
class TokenServer:
    """The local token endpoint and the key file that names it."""

    url: str
    key_file: Path
    granted: list[str] = field(default_factory=list)  # the service-account emails given a token, in order


def _handler(server: TokenServer, key: RsaKey) -> type[BaseHTTPRequestHandler]:
    from google.auth import jwt

    class Token(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
            try:
                if form.get("grant_type") != [JWT_BEARER]:
                    raise ValueError(f"unsupported grant {form.get('grant_type')}")
                claims = jwt.decode(form["assertion"][0], certs=key.public_pem, audience=GRANT_AUDIENCE)
            except (ValueError, KeyError) as e:
                self._answer(400, {"error": "invalid_grant", "error_description": str(e)})
                return
            server.granted.append(str(claims["iss"]))
            self._answer(200, {"access_token": f"local-{len(server.granted)}", "expires_in": 3600,
                               "token_type": "Bearer"})  # fmt: skip

        def _answer(self, status: int, body: dict[str, object]) -> None:
            _answer_json(self, status, body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Token


def _answer_json(
    handler: BaseHTTPRequestHandler, status: int, body: object, headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    for name, value in {
        "Content-Type": "application/json",
        "Content-Length": str(len(data)),
        **(headers or {}),
    }.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def _serving(http: ThreadingHTTPServer, name: str) -> Iterator[None]:
    """``http`` serving on its own thread while the block runs."""
    thread = threading.Thread(target=http.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        http.shutdown()
        http.server_close()


@contextmanager
def token_server(directory: Path, project: str) -> Iterator[TokenServer]:
    """A token endpoint on a free loopback port and a service-account key file for ``project`` that uses it."""
    key = RsaKey.generate()
    http = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{http.server_address[1]}/token"
    key_file = directory / "service-account.json"
    server = TokenServer(url, key_file)
    http.RequestHandlerClass = _handler(server, key)
    email = f"tests@{project}.iam.gserviceaccount.com"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "local", "private_key": key.private_pem,
        "client_email": email, "client_id": "1", "token_uri": url,
    }))  # fmt: skip
    with _serving(http, "token-server"):
        yield server


@dataclass
class OidcIssuer:
    """Google's side of Pub/Sub push authentication, made locally: signing keys (each with a self-signed
    certificate, as Google publishes them) served as a certs document at ``certs_url``, and tokens signed the way
    Pub/Sub signs a push's (RS256, ``iss`` accounts.google.com, ``aud``, ``email``, ``email_verified``)."""

    certs_url: str
    keys: dict[str, RsaKey] = field(default_factory=dict)
    certs: dict[str, str] = field(default_factory=dict)
    fetches: int = 0

    def add_key(self, kid: str) -> None:
        """A new signing key, published from now on (Google rotates its keys)."""
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        key = RsaKey.generate()
        private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kid)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2)).sign(private, hashes.SHA256()))  # fmt: skip
        self.keys[kid] = key
        self.certs[kid] = cert.public_bytes(serialization.Encoding.PEM).decode()

    def token(self, kid: str, *, audience: str, email: str, lifetime: int = 3600, issuer: str = "https://accounts.google.com",
              verified: bool = True, issued: float | None = None) -> str:  # fmt: skip
        import time

        from google.auth import crypt, jwt

        now = int(issued if issued is not None else time.time())
        signer = crypt.RSASigner.from_string(self.keys[kid].private_pem, key_id=kid)
        claims = {"iss": issuer, "aud": audience, "azp": "1", "sub": "1", "email": email,
                  "email_verified": verified, "iat": now, "exp": now + lifetime}  # fmt: skip
        return jwt.encode(signer, claims).decode()  # type: ignore[no-untyped-call]


@contextmanager
def oidc_issuer() -> Iterator[OidcIssuer]:
    """A certs endpoint on a free loopback port with one key, ``k1``."""
    http = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = OidcIssuer(f"http://127.0.0.1:{http.server_address[1]}/oauth2/v1/certs")
    issuer.add_key("k1")

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.fetches += 1
            _answer_json(self, 200, issuer.certs, {"Cache-Control": "public, max-age=3600"})

        def log_message(self, format: str, *args: object) -> None:
            pass

    http.RequestHandlerClass = Certs
    with _serving(http, "oidc-certs"):
        yield issuer
