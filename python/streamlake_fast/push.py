"""The public name of the Pub/Sub push handlers (:mod:`streamlake_fast.runtimes.push`): ``function`` for Cloud Run
functions (the Functions Framework), ``asgi_app`` for any ASGI server, ``writer`` and ``authenticator``."""

from streamlake_fast.runtimes.push import asgi_app, authenticator, function, writer

__all__ = ["asgi_app", "authenticator", "function", "writer"]
