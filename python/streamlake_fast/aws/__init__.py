"""AWS: the SQS client (credentials, endpoints, signed calls made in Rust)."""

from streamlake_fast.aws.client import AwsError, SqsClient

__all__ = ["AwsError", "SqsClient"]
