"""AWS: the SQS client (credentials, endpoints, signed calls made in Rust) and the Lambda handler for SQS event
source mappings (:func:`sqs_handler`, imported on first use: it needs the worker, which needs the sinks, one of
which — the dead-letter queue — needs this package's client)."""

from typing import Any

from streamlake_fast.aws.client import AwsError, SqsClient

__all__ = ["AwsError", "SqsClient", "sqs_handler"]


def __getattr__(name: str) -> Any:
    if name == "sqs_handler":
        from streamlake_fast.aws.lambda_handler import sqs_handler

        return sqs_handler
    raise AttributeError(f"module 'streamlake_fast.aws' has no attribute {name!r}")
