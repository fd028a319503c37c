"""Puts the observability parts together from ``[observability]``: the call observer every connector reports
to (metrics, and spans when tracing is on), and the process's logging and tracing set-up for ``serve``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from customer_graph.connectors.http import CallObserver, CircuitState
from customer_graph.domain.models import Provider
from customer_graph.server import tracing
from customer_graph.server.logs import configure_logging
from customer_graph.server.metrics import MetricsObserver, set_circuit_state
from customer_graph.settings import ObservabilitySettings


class FanOutObserver:
    """Tells every observer in turn."""

    def __init__(self, observers: Iterable[CallObserver]) -> None:
        self.observers = list(observers)

    def call_finished(self, provider: Provider, operation: str, outcome: str, seconds: float) -> None:
        for observer in self.observers:
            observer.call_finished(provider, operation, outcome, seconds)

    def rate_limit_waited(self, provider: Provider, seconds: float) -> None:
        for observer in self.observers:
            observer.rate_limit_waited(provider, seconds)

    def circuit_changed(self, provider: Provider, state: CircuitState) -> None:
        for observer in self.observers:
            observer.circuit_changed(provider, state)


def call_observer(
    settings: ObservabilitySettings, providers: Iterable[Provider], extra: CallObserver | None = None
) -> CallObserver:
    """Metrics always (``/metrics`` may be off, counting is cheap); spans whenever the process traces."""
    observers: list[CallObserver] = [MetricsObserver(), tracing.TracingObserver()]
    if extra is not None:
        observers.append(extra)
    for provider in providers:  # every configured provider has a circuit state from the start
        set_circuit_state(provider, CircuitState.CLOSED)
    return FanOutObserver(observers)


def configure_process(settings: ObservabilitySettings) -> dict[str, Any]:
    """Logging (and tracing, when configured) for a ``serve`` process; returns uvicorn's logging options:
    uvicorn logs through ours, and its access log (which would carry query strings) is off."""
    configure_logging(settings.log_level, settings.log_format)
    if settings.tracing.enabled:
        tracing.configure_tracing(
            exporter=settings.tracing.exporter,
            endpoint=settings.tracing.endpoint,
            service_name=settings.tracing.service_name,
            sample_ratio=settings.tracing.sample_ratio,
        )
    return {"log_config": None, "access_log": False}
