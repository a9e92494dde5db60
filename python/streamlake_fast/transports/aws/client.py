"""AWS the way AWS tools expect it: botocore resolves the region, the endpoint (``AWS_ENDPOINT_URL_SQS``,
``AWS_ENDPOINT_URL``, the config file) and the credentials (the default chain, refreshed as botocore refreshes
them); the calls themselves are signed and sent in Rust
(:class:`~streamlake_fast.transports.aws.wire.AwsJsonClient`)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from streamlake_fast.exceptions import ConfigError, StreamlakeError
from streamlake_fast.transports.aws.wire import AwsJsonClient
from streamlake_fast.transports.retry import Retry

__all__ = ["AwsError", "SqsClient"]

log = logging.getLogger(__name__)

#: SQS error codes worth retrying (besides HTTP 5xx and dropped connections).
_RETRYABLE_CODES = frozenset({"ThrottlingException", "RequestThrottled", "ServiceUnavailable", "InternalError",
                              "InternalFailure", "OverLimit", "KmsThrottled", "RequestTimeout"})  # fmt: skip
#: How often the credentials are read again from botocore (which refreshes temporary ones itself).
CREDENTIALS_CHECK_SECONDS = 60.0
#: After a failed refresh, how soon it is tried again.
CREDENTIALS_RETRY_SECONDS = 5.0
#: SQS calls: retried while transient, with backoff, until they succeed or the caller aborts.
SQS_RETRY = Retry(initial=0.1, maximum=10.0)


class AwsError(StreamlakeError):
    """An AWS call failed: ``code`` is AWS's error type (``QueueDoesNotExist``, ``AccessDenied``, ...)."""

    def __init__(self, message: str, code: str = "", status: int = 0, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable


def is_retryable(e: BaseException) -> bool:
    """Whether an SQS call's failure is worth retrying (throttling, 5xx, a dropped connection)."""
    return isinstance(e, ConnectionError) or (isinstance(e, AwsError) and e.retryable)


def _error(action: str, status: int, body: bytes) -> AwsError:
    try:
        doc = json.loads(body)
        code = str(doc.get("__type", "")).rsplit("#", 1)[-1]
        message = str(doc.get("message") or doc.get("Message") or "")
    except (ValueError, AttributeError):
        code, message = "", body[:200].decode("utf-8", "replace")
    retryable = status >= 500 or status == 429 or code in _RETRYABLE_CODES
    return AwsError(f"SQS {action} failed ({status} {code}): {message}", code, status, retryable=retryable)


class SqsClient:
    """SQS calls: ``call(action, body) -> response body`` (raises :class:`AwsError`).

    :param region: default: botocore's (``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the config file).
    :param endpoint_url: default: botocore's (``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL``, or AWS's own).
    :param credentials: botocore credentials to sign with (default: botocore's chain, refreshed as it refreshes
        them). A refresh that fails keeps the credentials in hand and is tried again shortly; only a call made
        without any fails (retryably).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        timeout: float = 60.0,
        max_connections: int = 16,
        credentials: Any = None,
    ) -> None:
        from streamlake_fast.extras import needs_extra

        with needs_extra():  # the aws extra
            import botocore.session  # type: ignore[import-untyped]
        session = botocore.session.get_session()
        try:
            client: Any = session.create_client("sqs", region_name=region, endpoint_url=endpoint_url)
        except Exception as e:  # botocore's NoRegionError and friends
            raise ConfigError(f"SQS: {e} (set AWS_REGION)") from e
        self.region: str = client.meta.region_name
        self.endpoint_url: str = client.meta.endpoint_url
        self.emulated = endpoint_url is not None or not self.endpoint_url.endswith(".amazonaws.com")
        self._credentials = credentials or session.get_credentials()
        if self._credentials is None:
            raise ConfigError("SQS: no AWS credentials found (environment, config files, instance role, ...)")
        self._http = AwsJsonClient(self.endpoint_url, self.region, "sqs", "AmazonSQS", timeout=timeout,
                                     max_connections=max_connections)  # fmt: skip
        self._lock = threading.Lock()
        self._frozen: Any = None
        self._checked = 0.0
        self._refresh()

    def _refresh(self) -> None:
        with self._lock:
            try:
                frozen = self._credentials.get_frozen_credentials()
            except Exception as e:  # botocore's refresh (an instance role, SSO, a process) failed
                if self._frozen is None:
                    raise AwsError(f"SQS: cannot get AWS credentials: {e}", retryable=True) from e
                log.warning("SQS: refreshing the AWS credentials failed (%s); signing with the current ones, trying "
                            "again in %g s", e, CREDENTIALS_RETRY_SECONDS)  # fmt: skip
                self._checked = time.monotonic() - CREDENTIALS_CHECK_SECONDS + CREDENTIALS_RETRY_SECONDS
                return
            if frozen != self._frozen:
                self._http.set_credentials(frozen.access_key, frozen.secret_key, frozen.token)
                self._frozen = frozen
            self._checked = time.monotonic()

    def call(self, action: str, body: bytes) -> bytes:
        """One signed call; raises :class:`AwsError` (``retryable`` set for throttling and 5xx) or
        ``ConnectionError``."""
        if time.monotonic() - self._checked > CREDENTIALS_CHECK_SECONDS:
            self._refresh()
        status, data = self._http.call(action, body)
        if status == 200:
            return data
        raise _error(action, status, data)

    def call_json(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        """A call with a JSON request and response, for the calls off the hot path."""
        result: dict[str, Any] = json.loads(self.call(action, json.dumps(request).encode()) or b"{}")
        return result

    def describe(self) -> str:
        where = f"{'local server' if self.emulated else 'AWS'} at {self.endpoint_url}"
        return f"SQS: {where} (region {self.region})"
