"""Prometheus metrics: what the gateway and its providers are doing, served at ``/metrics``.

Every label value is a name from a small closed set (a route, an HTTP status, an error code, a provider,
an operation, an outcome). Nothing a client or a provider sends becomes a label: values that do not look
like a name are counted as ``other``, so a label can never carry an e-mail, a phone number or a token.

Metrics are module-level on one registry, as ``prometheus_client`` intends: every app in a process (a test
may build several) counts into the same series.

================================================  =========  ===============================================
metric                                            type       labels
================================================  =========  ===============================================
customer_graph_http_requests_total                counter    method, route, status
customer_graph_http_request_duration_seconds      histogram  method, route
customer_graph_graphql_errors_total               counter    code (``extensions.code``)
customer_graph_provider_call_duration_seconds     histogram  provider, operation, outcome (OK or error code)
customer_graph_provider_circuit_state             gauge      provider, state (1 for the current state)
customer_graph_provider_circuit_transitions_total counter    provider, state
customer_graph_rate_limit_wait_seconds            histogram  provider
customer_graph_cache_requests_total               counter    provider, result (hit, miss)
customer_graph_redis_errors_total                 counter    use (rate_limit, cache)
================================================  =========  ===============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.requests import Request
from starlette.responses import Response

from customer_graph.connectors.http import CircuitState
from customer_graph.domain.models import Provider

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "customer_graph_http_requests_total",
    "HTTP requests by route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "customer_graph_http_request_duration_seconds",
    "HTTP request duration.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
GRAPHQL_ERRORS = Counter(
    "customer_graph_graphql_errors_total",
    "Errors in GraphQL responses by extensions.code (UNCLASSIFIED when it has none).",
    ["code"],
    registry=REGISTRY,
)
PROVIDER_CALLS = Histogram(
    "customer_graph_provider_call_duration_seconds",
    "Provider calls (retries and waits included) by outcome: OK or the error code.",
    ["provider", "operation", "outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
CIRCUIT_STATE = Gauge(
    "customer_graph_provider_circuit_state",
    "Circuit breaker state per provider: 1 for the current state, 0 for the others.",
    ["provider", "state"],
    registry=REGISTRY,
)
CIRCUIT_TRANSITIONS = Counter(
    "customer_graph_provider_circuit_transitions_total",
    "Circuit breaker transitions per provider, by the state entered.",
    ["provider", "state"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Histogram(
    "customer_graph_rate_limit_wait_seconds",
    "Waits for a provider's rate limit (count: calls that waited).",
    ["provider"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
CACHE_REQUESTS = Counter(
    "customer_graph_cache_requests_total",
    "Response cache look-ups by result.",
    ["provider", "result"],
    registry=REGISTRY,
)
REDIS_ERRORS = Counter(
    "customer_graph_redis_errors_total",
    "Redis failures that made the gateway fall back (local rate limit, no cache).",
    ["use"],
    registry=REGISTRY,
)

# A label value is a name: letters, digits and a few separators, starting with a letter, at most 64 long.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:/{}-]{0,63}")
# No '@', '+', spaces or long digit runs: ids, e-mails and phone numbers never look like a name.
_DIGITS = re.compile(r"\d{5,}")


def label(value: object) -> str:
    """``value`` as a safe label value, or ``other``."""
    text = str(value)
    if _NAME.fullmatch(text) and not _DIGITS.search(text):
        return text
    return "other"


class MetricsObserver:
    """The :class:`~customer_graph.connectors.http.CallObserver` that feeds the provider metrics."""

    def call_finished(self, provider: Provider, operation: str, outcome: str, seconds: float) -> None:
        PROVIDER_CALLS.labels(provider.name, label(operation), label(outcome)).observe(seconds)

    def rate_limit_waited(self, provider: Provider, seconds: float) -> None:
        RATE_LIMIT_WAITS.labels(provider.name).observe(seconds)

    def circuit_changed(self, provider: Provider, state: CircuitState) -> None:
        CIRCUIT_TRANSITIONS.labels(provider.name, state.value).inc()
        set_circuit_state(provider, state)


def set_circuit_state(provider: Provider, state: CircuitState) -> None:
    for each in CircuitState:
        CIRCUIT_STATE.labels(provider.name, each.value).set(1 if each is state else 0)


def count_graphql_errors(errors: Iterable[Any] | None) -> None:
    """Count the errors of one GraphQL result (``GraphQLError`` objects) by ``extensions.code``."""
    for error in errors or ():
        code = (getattr(error, "extensions", None) or {}).get("code") or "UNCLASSIFIED"
        GRAPHQL_ERRORS.labels(label(code)).inc()


def cache_lookup(provider: Provider, hit: bool) -> None:
    CACHE_REQUESTS.labels(provider.name, "hit" if hit else "miss").inc()


def redis_error(use: str) -> None:
    REDIS_ERRORS.labels(use).inc()


def render() -> bytes:
    return generate_latest(REGISTRY)


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics`` in the Prometheus text format."""
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
