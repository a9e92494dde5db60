"""Wire a worker from its configuration: the source, and the destinations built by
:func:`~streamlake_fast.destinations.build.build`."""

from __future__ import annotations

import logging
from functools import partial

from streamlake_fast.config import WorkerConfig
from streamlake_fast.cost import load_prices
from streamlake_fast.destinations.build import build
from streamlake_fast.sources.base import Source
from streamlake_fast.worker import Worker

__all__ = ["build_worker", "endpoints"]

log = logging.getLogger(__name__)


def _source(config: WorkerConfig) -> Source:
    if config.queue:
        from streamlake_fast.transports.aws.sqs import SqsSource

        sqs = config.sqs
        return SqsSource(config.queue, concurrent_receives=sqs.concurrent_receives, wait_time=sqs.wait_time,
                         visibility_timeout=sqs.visibility_timeout,
                         max_outstanding_messages=sqs.max_outstanding_messages,
                         max_outstanding_bytes=sqs.max_outstanding_bytes, max_lease=sqs.max_lease)  # fmt: skip
    from streamlake_fast.transports.gcp.pull import PubSubSource
    from streamlake_fast.transports.gcp.streaming import StreamingPubSubSource

    pubsub = config.pubsub
    if pubsub.receive == "streaming":
        return StreamingPubSubSource(config.subscription, streams=pubsub.streams,
                                     max_outstanding_messages=pubsub.max_outstanding_messages,
                                     max_outstanding_bytes=pubsub.max_outstanding_bytes,
                                     ack_deadline=pubsub.ack_deadline, max_lease=pubsub.max_lease)  # fmt: skip
    return PubSubSource(config.subscription, max_messages=pubsub.max_messages,
                        concurrent_pulls=pubsub.concurrent_pulls,
                        max_outstanding_messages=pubsub.max_outstanding_messages,
                        max_outstanding_bytes=pubsub.max_outstanding_bytes, ack_deadline=pubsub.ack_deadline,
                        max_lease=pubsub.max_lease)  # fmt: skip


def endpoints(config: WorkerConfig) -> list[str]:
    """Where each client of the worker connects, one line each (raises :class:`ConfigError` on a mix of emulators
    and Google's services)."""
    dead = config.dead_letter()
    routes = [config.for_route(r) for r in config.route_list()] or [config]
    services = [] if config.queue and all(r.dead_letter().kind != "topic" for r in routes) else ["Pub/Sub"]
    if any(r.table or r.dead_letter().kind == "table" for r in routes) or dead.kind == "table":
        services += ["BigQuery", "BigQuery Storage Write"]
    lines: list[str] = []
    if services:  # the gcp clients are imported only when a Google service is used
        from streamlake_fast.transports.gcp.channels import check_endpoints

        lines = check_endpoints(services, allow_mixed=config.allow_mixed_endpoints)
    if config.queue or any(r.dead_letter_queue for r in routes):
        lines.append(_sqs_endpoint())
    return lines


def _sqs_endpoint() -> str:
    from streamlake_fast.transports.aws.client import SqsClient

    return SqsClient().describe()


def build_worker(config: WorkerConfig) -> Worker:
    """A ready-to-run worker for ``config`` (raises :class:`ConfigError` on anything inconsistent)."""
    config.validate()
    endpoints(config)
    source = _source(config)
    make = partial(
        Worker,
        max_rows=config.batch.max_rows,
        max_bytes=config.batch.max_bytes,
        max_latency=config.batch.max_latency,
        progress_interval=config.progress_interval,
        exit_when_drained=config.exit_when_drained,
        metrics_port=config.metrics_port,
        metrics_address=config.metrics_address,
        shutdown_timeout=config.shutdown_timeout,
        prices=load_prices(config.prices or None),
    )
    if config.routed:
        log.info("worker: %s → %d routes: %s", source.name, len(config.route_list()),
                 ", ".join(r.name for r in config.route_list()))  # fmt: skip
        return make(source, routes=config)
    d = build(config)
    log.info("worker: %s → %s, dead letters → %s", source.name, ", ".join(s.name for s in d.sinks),
             d.dead_letter.name)  # fmt: skip
    return make(source, d.sinks, d.codec, dead_letter=d.dead_letter, schema_watch=d.schema_watch)
