"""CPU per SQS message of the receive-and-delete loop: boto3 against streamlake's client (SigV4 and HTTP in Rust,
responses read in Rust), same machine, same local server (moto's, through ``streamlake_fast.local.moto_launch``).

    .venv/bin/python benches/measure/sqs_client_cost.py [--events 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streamlake_fast.aws import SqsClient
from streamlake_fast.codec.messages import Messages
from streamlake_fast.local.generate import receipts
from streamlake_fast.transports.aws.wire import batch_failures, batch_requests
from tests.servers.aws import start_s3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    n = parser.parse_args().events
    server = start_s3()
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://{server.host}")  # fmt: skip
    try:
        import boto3

        sqs = boto3.client("sqs")
        bodies = [m.decode() for m, _ in receipts(n, seed=1)]

        def fill(name: str) -> str:
            url: str = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
            for i in range(0, n, 10):
                entries = [{"Id": str(j), "MessageBody": b,
                            "MessageAttributes": {"shop": {"DataType": "String", "StringValue": "x"}}}
                           for j, b in enumerate(bodies[i : i + 10])]  # fmt: skip
                sqs.send_message_batch(QueueUrl=url, Entries=entries)
            return url

        boto_url, ours_url = fill("boto"), fill("ours")
        cpu, got = time.process_time(), 0
        while got < n:
            msgs = sqs.receive_message(QueueUrl=boto_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                       AttributeNames=["All"]).get("Messages", [])  # fmt: skip
            got += len(msgs)
            if msgs:
                sqs.delete_message_batch(QueueUrl=boto_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])  # fmt: skip
        boto = (time.process_time() - cpu) / n * 1e6

        client = SqsClient()
        request = json.dumps(
            {
                "QueueUrl": ours_url,
                "MaxNumberOfMessages": 10,
                "MessageAttributeNames": ["All"],
                "MessageSystemAttributeNames": ["SentTimestamp", "ApproximateReceiveCount"],
            }
        ).encode()
        cpu, got, receiving = time.process_time(), 0, 0.0
        while got < n:
            start = time.process_time()
            messages = Messages.from_sqs([client.call("ReceiveMessage", request)])
            receiving += time.process_time() - start
            got += len(messages)
            for body in batch_requests(messages, ours_url):
                batch_failures(client.call("DeleteMessageBatch", body))
        ours = (time.process_time() - cpu) / n * 1e6
        print(f"{n:,} receipts, receive + delete, CPU µs per message (this process):")
        print(f"  boto3 receive_message + delete_message_batch (dicts per message): {boto:.1f}")
        print(f"  streamlake SqsClient + Messages.from_sqs + batch_requests:         {ours:.1f} "
              f"(receiving {receiving / n * 1e6:.1f})  → {boto / ours:.1f}x less")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
