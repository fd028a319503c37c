"""End-to-end fixtures: the gateway app and the four simulators, in-process, spoken to over HTTP semantics
(``httpx.ASGITransport``); provider traffic is counted by the simulators' ``/__sim/stats``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from customer_graph.domain.models import Provider
from customer_graph.gateway import Gateway
from customer_graph.server.app import create_app
from customer_graph.server.demo import demo_settings
from customer_graph.server.http import Security
from customer_graph.server.wiring import build_gateway
from customer_graph.simulators import SimulatorOptions, create_simulators_app
from customer_graph.simulators.dataset import Dataset, generate

PREFIX = {
    Provider.CAPILLARY: "capillary",
    Provider.MARTJACK: "martjack",
    Provider.OPEN_LOYALTY: "openloyalty",
    Provider.TWC: "twc",
}
SEED, CUSTOMERS = 42, 200


class Recorder(httpx.AsyncBaseTransport):
    """The simulators' transport, keeping every request sent through it (body included), so that a test can
    check what a provider received beyond the counts of ``/__sim/stats``: a header, a query, a body."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@dataclass
class Graph:
    client: httpx.AsyncClient
    sims: httpx.AsyncClient
    dataset: Dataset
    gateway: Gateway
    recorder: Recorder

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        # As a legacy client (application/json): every GraphQL answer is a 200, request errors included.
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def stats(self, provider: Provider) -> dict[str, int]:
        calls: dict[str, int] = (await self.sims.get(f"/{PREFIX[provider]}/__sim/stats")).json()["calls"]
        return calls

    async def calls(self, provider: Provider) -> int:
        """Provider calls, not counting token requests."""
        return sum(
            n
            for key, n in (await self.stats(provider)).items()
            if not any(word in key for word in ("token", "Token", "login_check"))
        )

    async def reset_stats(self) -> None:
        for prefix in PREFIX.values():
            (await self.sims.post(f"/{prefix}/__sim/reset")).raise_for_status()
        self.recorder.requests.clear()

    def sent(self, provider: Provider) -> list[httpx.Request]:
        """The requests sent to one provider's simulator since the last ``reset_stats``, in order."""
        prefix = f"/{PREFIX[provider]}/"
        return [r for r in self.recorder.requests if r.url.path.startswith(prefix) and "/__sim/" not in r.url.path]

    async def fault(self, provider: Provider, **faults: Any) -> None:
        (await self.sims.post(f"/{PREFIX[provider]}/__sim/faults", json=faults)).raise_for_status()


GraphFactory = Callable[..., Awaitable[Graph]]


@pytest.fixture
async def make_graph() -> AsyncIterator[GraphFactory]:
    opened: list[tuple[Graph, Any]] = []

    async def make(
        policies: dict[str, dict[str, object]] | None = None,
        seed: int = SEED,
        customers: int = CUSTOMERS,
        security: Security | None = None,
    ) -> Graph:
        dataset = generate(seed, customers)
        sims_app = create_simulators_app(dataset, SimulatorOptions(seed=seed, capillary_rate_limit_per_minute=0))
        policies = {"capillary": {}, **(policies or {})}  # no client-side limit: the simulator's is off too
        settings = demo_settings("http://sim", policies=policies)
        transport = Recorder(httpx.ASGITransport(app=sims_app))
        gateway = build_gateway(settings, transports={p: transport for p in Provider})

        async def factory() -> Gateway:
            return gateway

        app = create_app(factory, security=security)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        graph = Graph(
            client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway"),
            sims=httpx.AsyncClient(transport=transport, base_url="http://sim"),
            dataset=dataset,
            gateway=gateway,
            recorder=transport,
        )
        opened.append((graph, lifespan))
        return graph

    yield make
    for graph, lifespan in opened:
        await graph.client.aclose()
        await graph.sims.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def graph(make_graph: GraphFactory) -> Graph:
    return await make_graph()
