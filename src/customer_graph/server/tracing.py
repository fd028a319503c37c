"""Optional OpenTelemetry tracing: a server span per request and a client span per provider call.

Only when ``[observability.tracing] enabled = true`` and the ``tracing`` extra is installed
(``pip install 'customer-graph[tracing]'``); otherwise nothing here imports OpenTelemetry.

Span names and attributes are routes, provider and operation names, outcomes and statuses: never a URL with
its query, a header, a variable or a body. Provider-call spans are made by :class:`TracingObserver` from the
call's measured start and end, as children of whatever span is current in the caller (the request's).
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from typing import TYPE_CHECKING, Any

from customer_graph.connectors.http import CircuitState
from customer_graph.domain.models import Provider

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

_state: dict[str, Any] = {"tracer": None, "provider": None}


def available() -> bool:
    """Whether the ``tracing`` extra (the OpenTelemetry SDK) is installed."""
    return importlib.util.find_spec("opentelemetry.sdk") is not None


def configure_tracing(*, exporter: str, endpoint: str, service_name: str, sample_ratio: float) -> TracerProvider:
    """Install a process-wide tracer provider exporting in batches; returns it (to shut down on exit)."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}), sampler=ParentBased(TraceIdRatioBased(sample_ratio))
    )
    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    else:  # "otlp": from the extra's exporter package, imported by name (it is optional)
        module = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
        span_exporter = module.OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    use_tracer(provider.get_tracer("customer_graph"))
    _state["provider"] = provider
    return provider


def flush() -> None:
    """Export the spans still batched: at shutdown, since uvicorn ends the process by re-raising the signal
    that stopped it, and an exit by signal runs no ``atexit`` hook (where the SDK would flush)."""
    provider: TracerProvider | None = _state.get("provider")
    if provider is not None:
        provider.force_flush(timeout_millis=5000)


def use_tracer(tracer: Tracer | None) -> None:
    """The tracer that server spans and provider-call spans go to (None: tracing off)."""
    _state["tracer"] = tracer


def tracer() -> Tracer | None:
    result: Tracer | None = _state["tracer"]
    return result


class TracingObserver:
    """A :class:`~customer_graph.connectors.http.CallObserver` that records a client span per provider call."""

    def call_finished(self, provider: Provider, operation: str, outcome: str, seconds: float) -> None:
        current = tracer()
        if current is None:
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode

        from customer_graph.server.metrics import label

        end = time.time_ns()
        span = current.start_span(
            f"{provider.name} {label(operation)}",
            kind=SpanKind.CLIENT,
            start_time=end - int(seconds * 1e9),
            attributes={
                "customer_graph.provider": provider.name,
                "customer_graph.operation": label(operation),
                "customer_graph.outcome": label(outcome),
            },
        )
        if outcome != "OK":
            span.set_status(Status(StatusCode.ERROR, label(outcome)))
        span.end(end_time=end)

    def rate_limit_waited(self, provider: Provider, seconds: float) -> None:
        pass

    def circuit_changed(self, provider: Provider, state: CircuitState) -> None:
        pass
