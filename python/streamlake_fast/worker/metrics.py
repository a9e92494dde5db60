"""Prometheus metrics for the worker (optional: needs ``prometheus-client``, in the ``gcp`` extra)."""

from __future__ import annotations

from typing import Any

from streamlake_fast.exceptions import ConfigError

__all__ = ["MetricsExporter"]

# stats attribute → (metric name, help); counters only grow, gauges go up and down.
_COUNTERS = {
    "events": ("streamlake_events", "Messages pulled and handled (written or dead-lettered)"),
    "acked": ("streamlake_acked", "Messages acknowledged (durable in every sink)"),
    "rows": ("streamlake_rows_written", "Rows made durable in the sinks"),
    "rejects": ("streamlake_rejects", "Messages sent to the dead-letter destination"),
    "sink_retries": ("streamlake_sink_retries", "Transient sink failures retried"),
    "cpu": ("streamlake_cpu_seconds", "Process CPU seconds"),
    "decode_cpu": ("streamlake_decode_cpu_seconds", "CPU seconds spent in the codec"),
    "duplicates_skipped": (
        "streamlake_duplicates_skipped",
        "Rows of redelivered messages a lake or Iceberg table already held, not written again",
    ),
}
_GAUGES = {
    "in_flight": ("streamlake_in_flight", "Messages being written now"),
    "awaiting_durable": ("streamlake_awaiting_durable", "Messages written, waiting for a sink to make them durable"),
    "ack_lag_max": (
        "streamlake_ack_lag_max_seconds",
        "Longest time from durable everywhere to acknowledged: a crash within it rewrites those rows",
    ),
}


class MetricsExporter:
    """Serve the worker's counters at ``http://HOST:PORT/metrics``; :meth:`update` copies them from the stats."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        try:
            import prometheus_client as prom
        except ImportError as e:  # depends on the install
            raise ConfigError("metrics_port needs prometheus-client (pip install 'streamlake_fast[gcp]')") from e
        self.registry = prom.CollectorRegistry()
        self._counters = {k: prom.Counter(n, h, registry=self.registry) for k, (n, h) in _COUNTERS.items()}
        self._gauges = {k: prom.Gauge(n, h, registry=self.registry) for k, (n, h) in _GAUGES.items()}
        self._last = dict.fromkeys(_COUNTERS, 0.0)
        # A routed stream's figures by route (and reject code): the same counters with labels.
        self._route_events = prom.Counter("streamlake_route_events", "Messages handled, by route", ["route"],
                                          registry=self.registry)  # fmt: skip
        self._route_rows = prom.Counter("streamlake_route_rows_written", "Rows written, by route", ["route"],
                                        registry=self.registry)  # fmt: skip
        self._route_rejects = prom.Counter("streamlake_route_rejects", "Messages dead-lettered, by route and code",
                                           ["route", "code"], registry=self.registry)  # fmt: skip
        self._route_last: dict[tuple[str, ...], int] = {}
        self._cost = prom.Gauge("streamlake_cost_dollars_per_million_events",
                                "What the run has cost per million events, by service (list prices)", ["service"],
                                registry=self.registry)  # fmt: skip
        self._managed = prom.Gauge("streamlake_export_subscriptions_cost_dollars_per_million_events",
                                   "What the same events would cost through Pub/Sub's BigQuery and Cloud Storage "
                                   "subscriptions", registry=self.registry)  # fmt: skip
        self._server, self._thread = prom.start_http_server(port, addr=host, registry=self.registry)
        self.port = int(self._server.server_port)

    def update(self, stats: Any) -> None:
        for key, counter in self._counters.items():
            value = float(getattr(stats, key))
            if value > self._last[key]:
                counter.inc(value - self._last[key])
                self._last[key] = value
        for key, gauge in self._gauges.items():
            gauge.set(getattr(stats, key))
        for name, route in getattr(stats, "routes", {}).items():
            self._grow(self._route_events, (name,), route.events)
            self._grow(self._route_rows, (name,), route.rows)
            for code, n in route.rejects.items():
                self._grow(self._route_rejects, (name, code), n)

    def update_cost(self, cost: Any) -> None:
        """The run's cost so far (a :class:`~streamlake_fast.cost.usage.Cost`)."""
        for service, dollars in cost.services.items():
            self._cost.labels(service).set(cost.per_million(dollars))
        self._cost.labels("total").set(cost.per_million(cost.total))
        self._managed.set(cost.per_million(cost.managed))

    def _grow(self, counter: Any, labels: tuple[str, ...], value: int) -> None:
        key = (str(id(counter)), *labels)
        if value > self._route_last.get(key, 0):
            counter.labels(*labels).inc(value - self._route_last.get(key, 0))
            self._route_last[key] = value

    def close(self) -> None:
        self._server.shutdown()
