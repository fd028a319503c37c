"""The gateway's ASGI app: ``/graphql`` (GraphiQL on a browser GET), ``/healthz``, ``/readyz``, ``/metrics``.

The lifespan builds the :class:`~customer_graph.gateway.Gateway` (connectors, their pooled clients, the
store) once and closes it on shutdown; every request gets a fresh :class:`Context` with its own loaders.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.websockets import WebSocket
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from customer_graph.connectors.http import CircuitState
from customer_graph.gateway import Gateway
from customer_graph.schema import schema as default_schema
from customer_graph.schema.context import Context
from customer_graph.server.http import GraphQLHTTPView, Security
from customer_graph.server.metrics import count_graphql_errors, metrics_endpoint
from customer_graph.server.telemetry import TelemetryMiddleware
from customer_graph.writes.executor import retry_forever

GatewayFactory = Callable[[], Awaitable[Gateway]]
JOURNAL_RETRY_INTERVAL = 1.0


class GraphQLView(GraphQLHTTPView):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        gateway: Gateway = request.app.state.gateway
        return Context(gateway=gateway, loaders=gateway.loaders(), request=request, **self.security_context(request))

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        count_graphql_errors(result.errors)
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        # A page of customers is tens of kilobytes: the standard library's encoder was ~1.5% of its CPU.
        return orjson.dumps(data)


def create_app(
    gateway_factory: GatewayFactory,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    graphiql: bool = True,
    schema: Any = None,
    metrics: bool = True,
    security: Security | None = None,
) -> Starlette:
    """The app. ``security`` (authentication, limits, rate limits: ``server.http.Security``) defaults to no
    authentication, for tests and embedding; ``customer-graph serve`` and ``demo`` always give one."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway = await gateway_factory()
        app.state.gateway = gateway
        # Writes a previous process left open (killed mid-write, or providers down) are finished from the
        # journal, then retried in the background until they end.
        journal = asyncio.create_task(journal_worker(gateway), name="journal-worker")
        try:
            yield
        finally:
            journal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await journal
            await gateway.aclose()

    view = GraphQLView(
        schema or default_schema, security=security or Security(), graphql_ide="graphiql" if graphiql else None
    )
    routes: list[BaseRoute] = [
        Route("/graphql", view, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *([Route("/metrics", metrics_endpoint, methods=["GET"])] if metrics else []),
        *extra_routes,
    ]
    known = [route.path for route in routes if isinstance(route, Route)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(TelemetryMiddleware, routes=known)])


async def journal_worker(gateway: Gateway, interval: float = JOURNAL_RETRY_INTERVAL) -> None:
    await retry_forever(gateway.executor, interval, first_round_everything=True)


async def healthz(request: Request) -> Response:
    """The process is up and serving."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the store answers; provider circuits are reported but an open one does not make the
    gateway unready (it still answers with the other providers)."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        await gateway.store.resolve("cus_readiness_probe")
    except Exception:  # any store failure means not ready; the detail is not for this endpoint
        return JSONResponse({"status": "store unavailable"}, status_code=503)
    circuits = {}
    for provider, connector in gateway.connectors.items():
        breaker = getattr(getattr(connector, "http", None), "breaker", None)
        circuits[provider.name] = (breaker.state if breaker else CircuitState.CLOSED).value
    return JSONResponse({"status": "ready", "providers": circuits})
