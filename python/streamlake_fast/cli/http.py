"""``streamlake serve`` (the edge processor over HTTP) and ``streamlake push-handler`` (Pub/Sub push deliveries
to BigQuery and/or the lake)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from streamlake_fast.cli.destinations import dead_letter_arguments
from streamlake_fast.cli.envelope import envelope_arguments, envelope_of

log = logging.getLogger("streamlake_fast.runtimes.push")

__all__ = ["add_parsers", "push_handler", "serve"]


def add_parsers(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the edge processor over HTTP: POST events, published to Pub/Sub or SQS")
    to = serve.add_mutually_exclusive_group(required=True)
    to.add_argument("--topic", help="projects/P/topics/T")
    to.add_argument("--queue", help="an SQS queue URL (instead of a topic)")
    serve.add_argument("--schema", required=True, help="the events' BigQuery schema JSON")
    serve.add_argument("--transform", help="a TOML file whose [transform] table renames, drops, defaults, hashes or "
                       "redacts fields before validation")  # fmt: skip
    _common(serve)
    serve.add_argument("--max-body-bytes", type=int, default=8_000_000,
                       help="the most bytes of a body, before and after decompression (default 8,000,000)")  # fmt: skip
    serve.add_argument("--max-events", type=int, default=1000,
                       help="the most events in one request (default and at most 1,000: one Publish call)")  # fmt: skip
    serve.add_argument("--linger", type=float, default=0.002, help="under load, seconds to wait after a publish "
                       "before the next: larger batches and envelopes, fewer calls (default 0.002)")  # fmt: skip
    envelope_arguments(serve)
    serve.add_argument("--prices", type=Path, help="a TOML price list over the defaults, for the cost line at exit")
    serve.add_argument("--retry-deadline", "--publish-timeout", type=float, default=10.0, action=Renamed,
                       dest="retry_deadline",
                       help="seconds to retry an unavailable Pub/Sub or SQS before a 503 (default 10)")  # fmt: skip

    push = sub.add_parser("push-handler", help="receive Pub/Sub push deliveries; write them to BigQuery / the lake")
    push.add_argument("--table", default="", help="PROJECT.DATASET.TABLE")
    push.add_argument("--lake", default="", help="lake root: a path, gs://B/prefix or s3://B/prefix")
    push.add_argument("--schema", help="the events' BigQuery schema JSON (required with --lake alone)")
    push.add_argument("--partition-by", help="lake: a TIMESTAMP/DATE column naming the partition")
    dead_letter_arguments(push)
    push.add_argument("--subscription", default="", help="the subscription_name column (default: each delivery's)")
    push.add_argument("--retry-deadline", "--write-deadline", type=float, default=20.0, action=Renamed,
                      dest="retry_deadline",
                      help="seconds to retry an unavailable destination before answering 503 (default 20; keep it "
                      "under the push subscription's ack deadline)")  # fmt: skip
    push.add_argument("--push-no-wrapper", action="store_true",
                      help="the subscription delivers raw data (--push-no-wrapper, metadata in headers)")  # fmt: skip
    push.add_argument("--push-attribute-header", action="append", default=[], metavar="NAME",
                      help="with --push-no-wrapper: a header to keep as a message attribute (Pub/Sub writes the "
                      "attributes as plain headers among the HTTP ones; repeat for each)")  # fmt: skip
    push.add_argument("--push-audience", help="verify Pub/Sub's OIDC token: the audience the subscription names")
    push.add_argument("--push-service-account", help="verify Pub/Sub's OIDC token: the push service account's email")
    push.add_argument("--push-certs-url", help="where the token signing keys are published (default Google's)")
    _common(push)


class Renamed(argparse.Action):
    """A flag with a new name whose old one still works, saying the new one when it is used."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:  # fmt: skip
        if option_string is not None and option_string != self.option_strings[0]:
            print(f"streamlake: {option_string} is now {self.option_strings[0]}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _common(p: argparse.ArgumentParser) -> None:
    from streamlake_fast.http.server import default_host, default_port

    p.add_argument("--port", type=int, default=default_port(), help="default $PORT, else 8080")
    p.add_argument("--host", default=default_host(), help="default 0.0.0.0 when $PORT is set, else 127.0.0.1")
    p.add_argument("--auth-token-file", help="require Authorization: Bearer <the file's token>")
    p.add_argument(
        "--max-inflight-requests",
        type=int,
        default=1024,
        help="requests read or handled at once; more are answered 503 + Retry-After (default 1024)",
    )
    p.add_argument(
        "--max-inflight-bytes",
        type=int,
        default=512 << 20,
        help="their body bytes (by Content-Length); more are answered 503 + Retry-After (default 512 MiB)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds a request body may take to arrive; later is answered 408 (default 30)",
    )
    p.add_argument("-v", "--verbose", action="store_true")


def _logging(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)  # fmt: skip


def _limits(args: argparse.Namespace) -> Any:
    from streamlake_fast.exceptions import ConfigError
    from streamlake_fast.http.admission import Limits

    if args.max_inflight_requests < 1 or args.max_inflight_bytes < 1 or args.body_timeout <= 0:
        raise ConfigError("--max-inflight-requests, --max-inflight-bytes and --body-timeout must be positive")
    return Limits(args.max_inflight_requests, args.max_inflight_bytes, args.body_timeout)


def _auth(args: argparse.Namespace) -> Any:
    from streamlake_fast.http.auth import BearerAuth

    return BearerAuth.from_file(args.auth_token_file) if args.auth_token_file else None


def serve(args: argparse.Namespace) -> int:
    from streamlake_fast.codec.schema import Schema
    from streamlake_fast.codec.transform import Transform
    from streamlake_fast.edge.publisher import Publisher
    from streamlake_fast.edge.serve import ProcessorApp
    from streamlake_fast.exceptions import ConfigError
    from streamlake_fast.http.server import require_server, serve_app
    from streamlake_fast.transports.retry import Retry

    require_server()
    _logging(args)
    if not 1 <= args.max_events <= 1000:
        raise ConfigError("--max-events must be 1 to 1,000 (one Publish call takes 1,000 messages)")
    if not 1 <= args.max_body_bytes <= 8_000_000:
        raise ConfigError("--max-body-bytes must be 1 to 8,000,000 (one Publish call takes 10 MB)")
    schema = Schema.from_bigquery(args.schema)
    transform = Transform.load(args.transform) if args.transform else None
    if args.topic:
        _check_topic(args.topic)
    else:
        _check_queue(args.queue)
    retry = Retry(initial=0.1, maximum=1.0, deadline=args.retry_deadline)
    if not 0 <= args.linger <= 10:
        raise ConfigError("--linger must be 0 to 10 seconds")
    envelope = envelope_of(args, queue=args.queue is not None)
    publisher = Publisher(args.topic, schema, queue=args.queue, retry=retry, timeout=args.retry_deadline,
                          max_in_flight=8, transform=transform, envelope=envelope)  # fmt: skip
    app = ProcessorApp(publisher, auth=_auth(args), max_body_bytes=args.max_body_bytes, max_events=args.max_events,
                       limits=_limits(args), linger=args.linger)  # fmt: skip
    destination = args.topic or args.queue
    print(f"streamlake serve: http://{args.host}:{args.port}/v1/events → {destination}", file=sys.stderr, flush=True)
    serve_app(app, args.host, args.port)
    from streamlake_fast.cli.pipeline import publish_cost_line

    print(publish_cost_line(publisher, args.prices), file=sys.stderr)
    return 0


def _check_topic(topic: str) -> None:
    """The topic exists and can be reached (a clear error at start rather than 503 on every request)."""
    from google.api_core import exceptions as gexc
    from google.pubsub_v1.services.publisher import PublisherClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    from streamlake_fast.exceptions import ConfigError
    from streamlake_fast.transports.gcp.channels import pubsub_channel
    from streamlake_fast.transports.names import check_topic

    check_topic(topic)
    client = PublisherClient(transport=PublisherGrpcTransport(channel=pubsub_channel()))
    try:
        client.get_topic(topic=topic, timeout=30)
    except gexc.NotFound as e:
        raise ConfigError(f"topic {topic} does not exist") from e
    except gexc.GoogleAPICallError as e:
        raise ConfigError(f"cannot reach topic {topic}: {e}") from e


def _check_queue(url: str) -> None:
    """The queue exists and can be reached."""
    from streamlake_fast.exceptions import ConfigError
    from streamlake_fast.transports.aws.client import AwsError, SqsClient
    from streamlake_fast.transports.names import check_queue_url

    check_queue_url(url)
    try:
        SqsClient().call_json("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
    except AwsError as e:
        raise ConfigError(f"cannot use queue {url}: {e}") from e
    except ConnectionError as e:
        raise ConfigError(f"cannot reach queue {url}: {e}") from e


def push_handler(args: argparse.Namespace) -> int:
    from streamlake_fast.exceptions import ConfigError
    from streamlake_fast.http.server import require_server, serve_app
    from streamlake_fast.runtimes.push import authenticator, writer
    from streamlake_fast.runtimes.push.app import PushApp
    from streamlake_fast.transports.retry import Retry

    require_server()
    _logging(args)
    w = writer(table=args.table, lake=args.lake, schema=args.schema, partition_by=args.partition_by,
               dead_letter_topic=args.dead_letter_topic, dead_letter_queue=args.dead_letter_queue,
               dead_letter_table=args.dead_letter_table, dead_letter_dir=args.dead_letter_dir,
               subscription=args.subscription,
               retry=Retry(initial=0.2, maximum=2.0, deadline=args.retry_deadline))  # fmt: skip
    auth = _auth(args)
    if args.push_audience or args.push_service_account:
        if auth is not None:
            raise ConfigError("give --auth-token-file or --push-audience/--push-service-account, not both")
        auth = authenticator(push_audience=args.push_audience, push_service_account=args.push_service_account,
                             push_certs_url=args.push_certs_url)  # fmt: skip
    elif auth is None:
        log.warning("push-handler: requests are not authenticated (give --push-audience and --push-service-account "
                    "to verify Pub/Sub's OIDC token); the message ids, publish times and subscription names in the "
                    "bodies are whatever the caller sent")  # fmt: skip
    if args.push_attribute_header and not args.push_no_wrapper:
        raise ConfigError("--push-attribute-header is for --push-no-wrapper (a wrapped delivery has its attributes)")
    app = PushApp(w, auth=auth, unwrapped=args.push_no_wrapper, attribute_headers=args.push_attribute_header,
                  limits=_limits(args))  # fmt: skip
    print(f"streamlake push-handler: http://{args.host}:{args.port}/ → {', '.join(s.name for s in w.sinks)}",
          file=sys.stderr, flush=True)  # fmt: skip
    serve_app(app, args.host, args.port)
    return 0
