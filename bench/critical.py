"""The providers' critical path for a query, measured on the same simulators the gateway is measured on.

1. Record: an in-process gateway answers the query once with a transport that records every provider request
   as sent (method, path and query, headers with the auth already applied, body).
2. Group: the calls that need only the query's input (lookups, searches) are round 1; every other call needs an
   id that round 1 answers and is round 2 (for a known person, every call is round 1). ``queries.first_round``
   says which is which, and ``queries.CRITICAL_ROUNDS`` how many rounds each query needs at the least.
3. Replay: send each round's requests all at once on already-open keep-alive connections, round after round,
   from a client that does nothing else, and time it. The median of many replays is the critical path: the
   added latency of each round plus what the simulators take to answer that many calls at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.loadgen import Connection, percentile
from bench.queries import first_round, is_token_call


@dataclass(frozen=True)
class Recorded:
    provider: str
    method: str
    path: str
    raw: bytes
    status: int


class RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.inner = httpx.AsyncHTTPTransport()
        self.recording = False
        self.log: list[Recorded] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        response = await self.inner.handle_async_request(request)
        if self.recording:
            head = f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1\r\n".encode()
            head += b"".join(name + b": " + value + b"\r\n" for name, value in request.headers.raw)
            self.log.append(
                Recorded(
                    self.provider, request.method, request.url.path, head + b"\r\n" + content, response.status_code
                )
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Recorder:
    transports: dict[Any, RecordingTransport]
    client: httpx.AsyncClient
    rounds: dict[str, list[list[Recorded]]] = field(default_factory=dict)

    async def record(self, name: str, body: bytes) -> dict[str, Any]:
        for transport in self.transports.values():
            transport.log.clear()
            transport.recording = True
        try:
            response = await self.client.post("/graphql", content=body, headers={"content-type": "application/json"})
        finally:
            for transport in self.transports.values():
                transport.recording = False
        calls = [r for t in self.transports.values() for r in t.log if not is_token_call(r.path)]
        first = [r for r in calls if first_round(r.provider, r.method, r.path)]
        rest = [r for r in calls if not first_round(r.provider, r.method, r.path)]
        self.rounds[name] = [first, rest] if first else [rest]
        answer: dict[str, Any] = response.json()
        return answer


@asynccontextmanager
async def recorder(sim_url: str, policies: dict[str, dict[str, object]]) -> AsyncIterator[Recorder]:
    """An in-process gateway (fresh crosswalk) whose provider traffic can be recorded."""
    from customer_graph.domain.models import Provider
    from customer_graph.gateway import Gateway
    from customer_graph.server.app import create_app
    from customer_graph.server.demo import demo_settings
    from customer_graph.server.wiring import build_gateway

    prefixes = {
        Provider.CAPILLARY: "capillary",
        Provider.MARTJACK: "martjack",
        Provider.OPEN_LOYALTY: "openloyalty",
        Provider.TWC: "twc",
    }
    transports = {p: RecordingTransport(prefix) for p, prefix in prefixes.items()}
    gateway = build_gateway(demo_settings(sim_url, policies=policies), transports=dict(transports))

    async def factory() -> Gateway:
        return gateway

    app = create_app(factory, graphiql=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=60) as client,
    ):
        yield Recorder(transports, client)


@dataclass
class Replay:
    rounds: int
    calls: list[int]
    p50_ms: float
    min_ms: float
    replays: int
    bad_statuses: int


async def replay(host: str, port: int, rounds: list[list[Recorded]], times: int) -> Replay:
    width = max(len(r) for r in rounds)
    connections = [await Connection.open(host, port) for _ in range(width)]
    durations: list[float] = []
    bad = 0
    try:
        for _ in range(times + 2):  # the first two open the simulators' caches and are not counted
            started = time.perf_counter()
            for calls in rounds:
                answers = await asyncio.gather(*(c.send(r.raw) for c, r in zip(connections, calls, strict=False)))
                bad += sum(1 for (status, _), r in zip(answers, calls, strict=True) if status != r.status)
            durations.append(time.perf_counter() - started)
    finally:
        for connection in connections:
            connection.close()
    counted = durations[2:]
    return Replay(
        rounds=len(rounds),
        calls=[len(r) for r in rounds],
        p50_ms=1000 * (percentile(counted, 0.5) or 0.0),
        min_ms=1000 * min(counted),
        replays=len(counted),
        bad_statuses=bad,
    )
