"""AWS: the SQS client (credentials, endpoints, signed calls made in Rust) and the Lambda handler for SQS event
source mappings."""

from streamlake_fast.aws.client import AwsError, SqsClient
from streamlake_fast.aws.lambda_handler import sqs_handler

__all__ = ["AwsError", "SqsClient", "sqs_handler"]
