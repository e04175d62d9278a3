"""Prometheus metrics of one app: the projections' progress and the HTTP requests served.

Each app has its own registry (never the library's global one), so several apps can live in
one process (the tests build many). The projections' figures (the views', and the audit log's
tree under the view label ``audit_log``) are read from ``Projections.status(followers=True)``
when Prometheus scrapes, by a custom collector; the request counts and latencies are observed
by the ``RequestContext`` middleware.

Nothing here names a person, a dossier, an account or a token: labels are view names, HTTP
methods, route templates (``/api/v1/dossiers/{dossier_id}``, never the raw path) and statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from infrastructure.views.service import ViewStatus

__all__ = ["CONTENT_TYPE", "UNMATCHED_ROUTE", "Metrics", "ProjectionCollector"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format, which every Prometheus version reads."""
UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (404): raw paths would be unbounded."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

log = structlog.get_logger("khenthuong.api")


class ProjectionCollector(Collector):
    """Per view: position, lag in events and seconds, events applied and errors here."""

    def __init__(self, status: Callable[[], Sequence[ViewStatus]]) -> None:
        self._status = status

    def describe(self) -> Iterable[Metric]:
        return [*_Families().all()]

    def collect(self) -> Iterable[Metric]:
        families = _Families()
        try:
            statuses = list(self._status())
        except Exception as error:  # the store is down: say so, still serve the HTTP figures
            log.warning("metrics_status_failed", error_type=type(error).__name__)
            families.up.add_metric([], 0)
            return [families.up]
        families.up.add_metric([], 1)
        families.head.add_metric([], max((status.head for status in statuses), default=0))
        for status in statuses:
            label = [status.name]
            families.position.add_metric(label, status.position)
            families.lag_events.add_metric(label, status.lag_events)
            families.lag_seconds.add_metric(label, status.lag_seconds)
            families.running.add_metric(label, int(status.running_here))
            families.applied.add_metric(label, status.events_applied)
            families.errors.add_metric(label, status.errors)
        return [*families.all()]


class _Families:
    """The projections' metric families, empty until filled for one scrape."""

    def __init__(self) -> None:
        view = ["view"]
        self.up = GaugeMetricFamily(
            "khenthuong_projections_up",
            "1 when the views' positions could be read from the store, 0 otherwise",
        )
        self.head = GaugeMetricFamily(
            "khenthuong_projection_log_head", "The last position of the stored event log"
        )
        self.position = GaugeMetricFamily(
            "khenthuong_projection_position", "The log position a view has applied", labels=view
        )
        self.lag_events = GaugeMetricFamily(
            "khenthuong_projection_lag_events",
            "How many log positions a view is behind the log's end",
            labels=view,
        )
        self.lag_seconds = GaugeMetricFamily(
            "khenthuong_projection_lag_seconds",
            "Age of the oldest event a view has not applied yet (0 when up to date)",
            labels=view,
        )
        self.running = GaugeMetricFamily(
            "khenthuong_projection_running",
            "1 when this process runs the view (holds its lock), 0 otherwise",
            labels=view,
        )
        self.applied = CounterMetricFamily(
            "khenthuong_projection_events_applied",
            "Events this process has applied to a view",
            labels=view,
        )
        self.errors = CounterMetricFamily(
            "khenthuong_projection_errors",
            "Failed batches of this process's runner for a view",
            labels=view,
        )

    def all(self) -> Iterator[Metric]:
        yield from (self.up, self.head, self.position, self.lag_events, self.lag_seconds)
        yield from (self.running, self.applied, self.errors)


class Metrics:
    """The registry of one app and the request metrics the middleware feeds."""

    def __init__(self, status: Callable[[], Sequence[ViewStatus]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "khenthuong_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "khenthuong_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(ProjectionCollector(status))

    def observe_request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One answered request (called by the middleware once per request)."""
        method = method.upper() if method.upper() in METHODS else "OTHER"
        template = route or UNMATCHED_ROUTE
        self.requests.labels(method, template, str(status)).inc()
        self.latency.labels(method, template).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text format, read now."""
        return generate_latest(self.registry)
