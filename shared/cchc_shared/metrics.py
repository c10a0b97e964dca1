"""Prometheus metrics shared by every CCHC process (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "cchc_http_requests_total", "HTTP requests answered", ["service", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "cchc_http_request_seconds",
    "HTTP request latency",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PUBLISHED = Counter("cchc_outbox_published_total", "Outbox events published", ["table"])
EVENTS_CONSUMED = Counter(
    "cchc_events_consumed_total", "Events applied by a consumer", ["consumer"]
)
EVENTS_DEAD_LETTERED = Counter(
    "cchc_events_dead_lettered_total", "Events a consumer gave up on", ["consumer"]
)
