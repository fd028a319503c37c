"""The shared simulator machinery: counting, every fault kind, the rate limit, tokens and control routes.

Driven through a minimal provider app built with the same ``simulator_app`` every simulator uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from customer_graph.simulators.control import SimulatorState, simulator_app


class EchoDialect:
    def error_response(self, status: int) -> Response:
        return JSONResponse({"error": "injected", "status": status}, status_code=status)

    def rate_limited_response(self, retry_after_seconds: int) -> Response:
        return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": str(retry_after_seconds)})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    reseeds: list[int] = []
    state = SimulatorState(name="echo", dialect=EchoDialect(), reseed=lambda: reseeds.append(1), seed=1)

    async def item(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"], "reseeds": len(reseeds)})

    app = simulator_app(state, [state.route("/items/{id}", item, ["GET", "PUT"])], {"openapi": "3.1.0"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


async def test_calls_are_counted_by_method_and_path_template(client: httpx.AsyncClient) -> None:
    await client.get("/items/1")
    await client.get("/items/2")
    await client.put("/items/2")
    stats = (await client.get("/__sim/stats")).json()
    assert stats["total"] == 3
    assert stats["calls"] == {"GET /items/{id}": 2, "PUT /items/{id}": 1}


async def test_reset_clears_counters_and_reseeds_only_when_asked(client: httpx.AsyncClient) -> None:
    await client.get("/items/1")
    assert (await client.post("/__sim/reset")).json() == {"reset": True, "data": False}
    assert (await client.get("/__sim/stats")).json()["total"] == 0
    assert (await client.get("/items/1")).json()["reseeds"] == 0
    await client.post("/__sim/reset?data=1")
    assert (await client.get("/items/1")).json()["reseeds"] == 1


async def test_latency_and_jitter_delay_each_call(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"latency_ms": 150, "jitter_ms": 50})
    started = time.perf_counter()
    assert (await client.get("/items/1")).status_code == 200
    elapsed = time.perf_counter() - started
    assert 0.15 <= elapsed < 0.5


async def test_error_rate_one_answers_every_call_with_the_error_status(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"error_rate": 1.0, "error_status": 503})
    responses = [await client.get(f"/items/{i}") for i in range(5)]
    assert {r.status_code for r in responses} == {503}
    assert responses[0].json() == {"error": "injected", "status": 503}


async def test_error_rate_half_fails_some_and_passes_some(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"error_rate": 0.5})
    statuses = [(await client.get(f"/items/{i}")).status_code for i in range(40)]
    assert 0 < statuses.count(500) < 40
    assert statuses.count(200) + statuses.count(500) == 40


async def test_malformed_keeps_the_status_but_breaks_the_body(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"malformed": True})
    response = await client.get("/items/1")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_hang_never_answers_within_the_client_deadline(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"hang": True})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get("/items/1"), timeout=0.3)
    await client.delete("/__sim/faults")
    assert (await client.get("/items/1")).status_code == 200


async def test_rate_limit_answers_429_with_retry_after_past_the_limit(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"rate_limit_per_minute": 3})
    statuses = [(await client.get("/items/1")).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = await client.get("/items/1")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # The provider saw every call, refused ones included.
    assert (await client.get("/__sim/stats")).json()["total"] == 6


async def test_config_sets_a_standing_rate_limit(client: httpx.AsyncClient) -> None:
    config = await client.post("/__sim/config", json={"rate_limit_per_minute": 1, "token_ttl_seconds": 5})
    assert config.json() == {"rate_limit_per_minute": 1, "token_ttl_seconds": 5}
    assert (await client.get("/items/1")).status_code == 200
    assert (await client.get("/items/1")).status_code == 429
    await client.post("/__sim/config", json={"rate_limit_per_minute": 0})
    await client.post("/__sim/reset")
    assert (await client.get("/items/1")).status_code == 200


async def test_invalid_faults_are_refused_and_change_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post("/__sim/faults", json={"error_rate": 2, "explode": True})
    assert response.status_code == 400
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("error_rate",), ("explode",)}
    assert (await client.get("/__sim/faults")).json()["error_rate"] == 0.0
    assert (await client.get("/items/1")).status_code == 200


async def test_tokens_expire_after_their_lifetime_and_on_demand() -> None:
    from customer_graph.simulators.control import TokenStore

    now = [100.0]
    store = TokenStore(ttl_seconds=10, clock=lambda: now[0])
    token = store.issue("till")
    assert store.lookup(token.value) is not None
    now[0] += 10
    assert store.lookup(token.value) is None
    fresh = store.issue("till")
    assert store.lookup(fresh.value, kind="refresh") is None
    store.expire_all()
    assert store.lookup(fresh.value) is None
    assert store.known(fresh.value)
