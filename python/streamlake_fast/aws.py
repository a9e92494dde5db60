"""The public name of the AWS pieces: the Lambda handler for SQS event source mappings
(:mod:`streamlake_fast.runtimes.lambda_sqs`) and the SQS client (:mod:`streamlake_fast.transports.aws.client`)."""

from streamlake_fast.runtimes.lambda_sqs import sqs_handler
from streamlake_fast.transports.aws.client import AwsError, SqsClient

__all__ = ["AwsError", "SqsClient", "sqs_handler"]
