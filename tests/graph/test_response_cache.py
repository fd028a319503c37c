"""The record cache in Redis: a second read of a customer costs no provider call, a write through the gateway
is read back at once, and a Redis outage only costs the cache."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from customer_graph.domain.models import Provider
from customer_graph.gateway import Gateway
from customer_graph.server.app import create_app
from customer_graph.server.demo import demo_settings
from customer_graph.server.wiring import build_gateway
from customer_graph.settings import RedisSettings
from customer_graph.simulators import SimulatorOptions, create_simulators_app
from customer_graph.simulators.dataset import Dataset, generate
from tests.graph.conftest import SEED
from tests.graph.test_observability import sample
from tests.services import require

BY_RECORD = "query($id: ID!) { customerByRecord(provider: TWC, recordId: $id) { id firstName } }"
RENAME = """mutation($id: ID!, $name: String!) { updateCustomer(id: $id, patch: {firstName: $name}, providers: [TWC]) {
  outcomes { provider status } } }"""


@dataclass
class Graph:
    client: httpx.AsyncClient
    sims: httpx.AsyncClient
    dataset: Dataset

    async def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body

    async def twc_reads(self) -> int:
        calls: dict[str, int] = (await self.sims.get("/twc/__sim/stats")).json()["calls"]
        return sum(n for key, n in calls.items() if key.startswith("GET"))

    async def metrics(self) -> str:
        return (await self.client.get("/metrics")).text


CachedGraph = Callable[[str], Awaitable[Graph]]


@pytest.fixture
async def cached_graph() -> AsyncIterator[CachedGraph]:
    prefix = f"test-cache-{secrets.token_hex(4)}"
    opened: list[tuple[Graph, Any]] = []

    async def make(url: str) -> Graph:
        dataset = generate(SEED, 60)
        sims = create_simulators_app(dataset, SimulatorOptions(seed=SEED, capillary_rate_limit_per_minute=0))
        settings = demo_settings("http://sim").model_copy(
            update={"redis": RedisSettings(url=url, key_prefix=prefix, rate_limits=False, cache_ttl_seconds=30)}
        )
        transport = httpx.ASGITransport(app=sims)
        gateway = build_gateway(settings, transports=dict.fromkeys(Provider, transport))

        async def factory() -> Gateway:
            return gateway

        app = create_app(factory)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        graph = Graph(
            client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway"),
            sims=httpx.AsyncClient(transport=transport, base_url="http://sim"),
            dataset=dataset,
        )
        opened.append((graph, lifespan))
        return graph

    yield make
    for graph, lifespan in opened:
        await graph.client.aclose()
        await graph.sims.aclose()
        await lifespan.__aexit__(None, None, None)
    client = aioredis.Redis.from_url(require("redis"))
    keys = await client.keys(f"{prefix}:*")
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_a_second_read_is_served_from_the_cache_and_a_write_is_read_back(cached_graph: CachedGraph) -> None:
    graph = await cached_graph(require("redis"))
    person = next(p for p in graph.dataset.persons if p.twc and len(p.providers) == 1)
    assert person.twc is not None
    before = await graph.metrics()
    first = await graph.query(BY_RECORD, {"id": person.twc.customer_id})
    reads = await graph.twc_reads()
    again = await graph.query(BY_RECORD, {"id": person.twc.customer_id})
    assert again == first and "errors" not in again
    assert await graph.twc_reads() == reads  # no provider call for the second read
    after = await graph.metrics()
    assert (
        sample(after, "customer_graph_cache_requests_total", provider="TWC", result="hit")
        - sample(before, "customer_graph_cache_requests_total", provider="TWC", result="hit")
        >= 1
    )

    customer = first["data"]["customerByRecord"]
    renamed = await graph.query(RENAME, {"id": customer["id"], "name": "Renamed"})
    assert renamed["data"]["updateCustomer"]["outcomes"] == [{"provider": "TWC", "status": "APPLIED"}]
    read_back = await graph.query(BY_RECORD, {"id": person.twc.customer_id})
    assert read_back["data"]["customerByRecord"]["firstName"] == "Renamed"
    # Redis holds the record under a hashed key: no id, e-mail or name in any key.
    client = aioredis.Redis.from_url(require("redis"))
    try:
        keys = [k.decode() for k in await client.keys("test-cache-*")]
    finally:
        await client.aclose()
    assert keys and not any(person.twc.customer_id in k or person.email in k for k in keys)


async def test_a_redis_outage_costs_the_cache_only(cached_graph: CachedGraph) -> None:
    graph = await cached_graph("redis://127.0.0.1:1/0")
    person = next(p for p in graph.dataset.persons if p.twc and len(p.providers) == 1)
    assert person.twc is not None
    before = await graph.metrics()
    for _ in range(2):
        body = await graph.query(BY_RECORD, {"id": person.twc.customer_id})
        assert body["data"]["customerByRecord"]["firstName"] and "errors" not in body
    after = await graph.metrics()
    assert sample(after, "customer_graph_redis_errors_total", use="cache") > sample(
        before, "customer_graph_redis_errors_total", use="cache"
    )
