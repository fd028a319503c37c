"""An ASGI middleware that gives every request an id, times it, counts it and logs one line about it.

- **Request id**: the client's ``X-Request-Id`` when it is a plain token (letters, digits, ``._:-``, at most
  128), else a fresh one; echoed in the response's ``X-Request-Id`` and carried by every log line written
  while the request runs (:data:`~customer_graph.server.logs.REQUEST_ID`).
- **Metrics**: ``customer_graph_http_requests_total`` and ``..._duration_seconds`` by method, route, status.
- **Log**: ``request`` with method, route, status and duration. The route is the path of a known endpoint
  (``/graphql``) or ``other``: never a query string, a header or a body.
- **Tracing** (when configured): a server span per request, continuing the caller's ``traceparent``; the
  spans still batched are exported when the app shuts down.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from customer_graph.server import tracing
from customer_graph.server.logs import REQUEST_ID
from customer_graph.server.metrics import HTTP_DURATION, HTTP_REQUESTS

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

log = logging.getLogger("customer_graph.server")

HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: DEBUG, not INFO


def new_request_id() -> str:
    return secrets.token_hex(12)


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp, routes: Collection[str]) -> None:
        self.app = app
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._flushing_at_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if _VALID_ID.fullmatch(incoming) else new_request_id()
        route = scope["path"] if scope["path"] in self.routes else "other"
        method = scope["method"] if scope["method"] in {"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE"} else "OTHER"
        status = 500  # unless the app starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(HEADER, request_id)
            await send(message)

        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            current = tracing.tracer()
            if current is None:
                await self.app(scope, receive, send_with_id)
            else:
                await self._traced(current, scope, receive, send_with_id, method, route, lambda: status)
        finally:
            seconds = time.perf_counter() - started
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(seconds)
            log.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "request",
                extra={"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 2)},
            )
            REQUEST_ID.reset(token)

    @staticmethod
    def _flushing_at_shutdown(send: Send) -> Send:
        async def send_after_flush(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                tracing.flush()
            await send(message)

        return send_after_flush

    async def _traced(
        self,
        current: Tracer,
        scope: Scope,
        receive: Receive,
        send: Send,
        method: str,
        route: str,
        status: Callable[[], int],
    ) -> None:
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in (b"traceparent", b"tracestate")
        }
        with current.start_as_current_span(
            f"{method} {route}",
            context=extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
        ) as span:
            await self.app(scope, receive, send)
            code = status()
            span.set_attribute("http.response.status_code", code)
            if code >= 500:
                span.set_status(Status(StatusCode.ERROR))
