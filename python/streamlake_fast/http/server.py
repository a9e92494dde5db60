"""Running an ASGI app under uvicorn (httptools and uvloop when installed), stopping on SIGTERM/SIGINT after the
requests in flight were answered."""

from __future__ import annotations

import importlib.util
import os
import signal
from typing import Any

__all__ = ["default_host", "default_port", "require_server", "serve_app"]


def default_port() -> int:
    """``$PORT`` (Cloud Run sets it), else 8080."""
    return int(os.environ.get("PORT", "8080"))


def default_host() -> str:
    """Every interface in a container (``$PORT`` set, as on Cloud Run), else loopback only."""
    return "0.0.0.0" if "PORT" in os.environ else "127.0.0.1"


def require_server() -> None:
    """The HTTP server's packages are installed (raises :class:`MissingExtra` naming the http extra)."""
    from streamlake_fast.extras import needs_extra

    with needs_extra():
        import httptools  # noqa: F401
        import uvicorn  # noqa: F401


def serve_app(app: Any, host: str, port: int, *, graceful_seconds: float = 25.0) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then answer the requests in flight (``graceful_seconds`` at most) and
    return."""
    import uvicorn

    # uvicorn raises the signal it stopped on again once it has shut down; handled here, the process exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(graceful_seconds),
        backlog=2048,
        proxy_headers=False,  # nothing here reads the client's address
        server_header=False,
        date_header=False,
    )
