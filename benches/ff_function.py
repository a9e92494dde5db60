"""The push function a Python user writes today for Cloud Run functions: the Functions Framework's HTTP signature,
``json.loads`` of the delivered event, ``insert_rows_json`` into BigQuery.

    TABLE=P.D.T functions-framework --source ff_function.py --target ingest --port PORT
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import functions_framework
from google.cloud import bigquery

TABLE = os.environ["TABLE"]
_client: list[Any] = []


def _bigquery() -> Any:
    emulator = os.environ.get("BIGQUERY_EMULATOR_HOST")
    if not emulator:
        return bigquery.Client(project=TABLE.split(".")[0])
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    options = ClientOptions(api_endpoint=f"http://{emulator}")
    return bigquery.Client(TABLE.split(".")[0], credentials=AnonymousCredentials(), client_options=options)


@functions_framework.http
def ingest(request: Any) -> tuple[str, int]:
    if not _client:  # made in the serving process (after the framework's fork)
        _client.append(_bigquery())
    envelope = request.get_json()
    event = json.loads(base64.b64decode(envelope["message"]["data"]))
    errors = _client[0].insert_rows_json(TABLE, [event])
    if errors:
        return json.dumps(errors), 500
    return "", 204
