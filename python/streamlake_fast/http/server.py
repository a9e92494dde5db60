"""Running an ASGI app under uvicorn (httptools and uvloop when installed), stopping on SIGTERM/SIGINT after the
requests in flight were answered."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

__all__ = ["default_host", "default_port", "serve_app"]


def default_port() -> int:
    """``$PORT`` (Cloud Run sets it), else 8080."""
    return int(os.environ.get("PORT", "8080"))


def default_host() -> str:
    """Every interface in a container (``$PORT`` set, as on Cloud Run), else loopback only."""
    return "0.0.0.0" if "PORT" in os.environ else "127.0.0.1"  # noqa: S104


def serve_app(app: Any, host: str, port: int, *, graceful_seconds: float = 25.0) -> None:
    import uvicorn

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
    )
