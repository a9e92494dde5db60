"""AWS (extra ``[aws]``): the SQS client (credentials from botocore, calls signed and sent in Rust), the SQS wire
format, the send sender and the receive source."""
