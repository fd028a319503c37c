"""The shared call policy: deadline, retries (reads only), Retry-After, rate limit, concurrency, breaker.

Driven through ``ProviderHttp.request`` against an in-process provider (``httpx.MockTransport``) whose
behaviour each test scripts, counting what the provider received.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from customer_graph.connectors.errors import (
    CircuitOpen,
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from customer_graph.connectors.http import CircuitState, Policy, ProviderHttp, TokenBucket
from customer_graph.domain.models import Provider

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class ScriptedProvider:
    """Answers from a list of (status, headers) in order, then repeats the last; counts calls in flight."""

    def __init__(self, *script: int | tuple[int, dict[str, str]], delay: float = 0.0) -> None:
        self.script = [s if isinstance(s, tuple) else (s, {}) for s in script] or [(200, {})]
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            status, headers = self.script[min(self.calls - 1, len(self.script) - 1)]
            return httpx.Response(status, json={"ok": status < 400}, headers=headers)
        finally:
            self.in_flight -= 1


class Observer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.waits: list[float] = []
        self.states: list[CircuitState] = []

    def call_finished(self, provider: Provider, operation: str, outcome: str, seconds: float) -> None:
        self.calls.append((operation, outcome))

    def rate_limit_waited(self, provider: Provider, seconds: float) -> None:
        self.waits.append(seconds)

    def circuit_changed(self, provider: Provider, state: CircuitState) -> None:
        self.states.append(state)


def make_http(handler: Handler, observer: Observer | None = None, **policy: object) -> ProviderHttp:
    defaults: dict[str, object] = {"deadline": 2.0, "backoff_base": 0.01, "backoff_max": 0.02}
    return ProviderHttp.create(
        Provider.TWC,
        "http://provider.test",
        Policy(**{**defaults, **policy}),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
        observer=observer,
    )


async def test_a_read_is_retried_through_5xx_and_succeeds() -> None:
    provider = ScriptedProvider(503, 502, 200)
    http = make_http(provider, max_retries=2)
    response = await http.request("get", "GET", "/customers/1", idempotent=True)
    assert response.status_code == 200
    assert provider.calls == 3


async def test_retries_exhausted_raise_unavailable_with_a_data_free_message() -> None:
    provider = ScriptedProvider(503)
    http = make_http(provider, max_retries=2)
    with pytest.raises(ProviderUnavailable) as caught:
        await http.request("get", "GET", "/customers?email=secret%40example.com&token=abc", idempotent=True)
    assert provider.calls == 3
    assert caught.value.retryable and caught.value.status == 503
    assert str(caught.value) == "twc get: provider unavailable (HTTP 503)"


async def test_a_create_is_never_retried() -> None:
    provider = ScriptedProvider(503, 200)
    http = make_http(provider, max_retries=3)
    with pytest.raises(ProviderUnavailable):
        await http.request("create", "POST", "/customers", idempotent=False, json={"email": "x@example.com"})
    assert provider.calls == 1


async def test_429_is_retried_after_retry_after_for_reads() -> None:
    provider = ScriptedProvider((429, {"Retry-After": "0.3"}), 200)
    http = make_http(provider)
    started = time.perf_counter()
    assert (await http.request("get", "GET", "/c/1", idempotent=True)).status_code == 200
    assert time.perf_counter() - started >= 0.3
    assert provider.calls == 2


async def test_429_past_the_deadline_raises_rate_limited_with_retry_after() -> None:
    provider = ScriptedProvider((429, {"Retry-After": "30"}))
    http = make_http(provider, deadline=1.0)
    started = time.perf_counter()
    with pytest.raises(ProviderRateLimited) as caught:
        await http.request("get", "GET", "/c/1", idempotent=True)
    assert caught.value.retry_after == 30
    assert time.perf_counter() - started < 0.5  # no point waiting 30 s inside a 1 s deadline
    assert provider.calls == 1


async def test_a_hanging_provider_costs_at_most_the_deadline() -> None:
    provider = ScriptedProvider(200, delay=30)
    observer = Observer()
    http = make_http(provider, observer, deadline=0.3)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout):
        await http.request("get", "GET", "/c/1", idempotent=True)
    assert time.perf_counter() - started < 0.3 + 0.2
    assert observer.calls == [("get", "PROVIDER_TIMEOUT")]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, ProviderAuthError), (403, ProviderAuthError), (404, ProviderNotFound), (500, ProviderUnavailable)],
)
async def test_statuses_map_onto_the_error_tree(status: int, error: type[ProviderError]) -> None:
    http = make_http(ScriptedProvider(status), max_retries=0)
    with pytest.raises(error):
        await http.request("get", "GET", "/c/1", idempotent=True)


async def test_connection_errors_become_unavailable() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused to http://provider.test/?token=secret")

    with pytest.raises(ProviderUnavailable) as caught:
        await make_http(refuse, max_retries=1).request("get", "GET", "/c/1", idempotent=True)
    assert "secret" not in str(caught.value) and "provider.test" not in str(caught.value)


async def test_a_malformed_body_is_a_protocol_error() -> None:
    async def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"data": [tru')

    http = make_http(garbage)
    response = await http.request("get", "GET", "/c/1", idempotent=True)
    with pytest.raises(ProviderProtocolError):
        http.json(response, "get")


async def test_concurrency_is_bounded() -> None:
    provider = ScriptedProvider(200, delay=0.05)
    http = make_http(provider, max_concurrency=3)
    await asyncio.gather(*(http.request("get", "GET", f"/c/{i}", idempotent=True) for i in range(12)))
    assert provider.calls == 12
    assert provider.max_in_flight == 3


async def test_the_circuit_opens_fails_fast_probes_and_closes() -> None:
    provider = ScriptedProvider(503, 503, 503, 200)
    observer = Observer()
    http = make_http(provider, observer, max_retries=0, breaker_failure_threshold=3, breaker_open_seconds=0.2)
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await http.request("get", "GET", "/c/1", idempotent=True)
    assert http.breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpen):
        await http.request("get", "GET", "/c/1", idempotent=True)
    assert provider.calls == 3  # failed fast: the provider saw nothing
    await asyncio.sleep(0.25)
    assert (await http.request("get", "GET", "/c/1", idempotent=True)).status_code == 200
    assert http.breaker.state is CircuitState.CLOSED
    assert observer.states == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]


async def test_a_failed_probe_reopens_the_circuit() -> None:
    provider = ScriptedProvider(503)
    http = make_http(provider, max_retries=0, breaker_failure_threshold=1, breaker_open_seconds=0.1)
    with pytest.raises(ProviderUnavailable):
        await http.request("get", "GET", "/c/1", idempotent=True)
    await asyncio.sleep(0.15)
    with pytest.raises(ProviderUnavailable):
        await http.request("get", "GET", "/c/1", idempotent=True)
    assert http.breaker.state is CircuitState.OPEN
    assert provider.calls == 2


async def test_not_found_does_not_count_against_the_circuit() -> None:
    http = make_http(ScriptedProvider(404), max_retries=0, breaker_failure_threshold=2)
    for _ in range(5):
        with pytest.raises(ProviderNotFound):
            await http.request("get", "GET", "/c/1", idempotent=True)
    assert http.breaker.state is CircuitState.CLOSED


async def test_the_token_bucket_never_lets_a_minute_see_more_than_the_limit() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(per_minute=120, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(600):
        await bucket.acquire()
        stamps.append(now[0])
    # Every sliding 60-second window holds at most 120 calls, and the bucket is not needlessly slow.
    assert max(sum(1 for t in stamps if start <= t < start + 60) for start in stamps) <= 120
    assert stamps[-1] <= 5 * 60 / 0.9  # sustained throughput within 10 % of the limit


async def test_rate_limit_waits_are_reported() -> None:
    observer = Observer()
    http = make_http(ScriptedProvider(200), observer, rate_limit_per_minute=600, rate_limit_burst=1)
    for _ in range(3):
        await http.request("get", "GET", "/c/1", idempotent=True)
    assert len(observer.waits) == 2 and all(w > 0 for w in observer.waits)


async def test_a_deadline_spent_waiting_for_the_rate_limiter_does_not_open_the_circuit() -> None:
    provider = ScriptedProvider(200)
    http = make_http(provider, deadline=0.2, rate_limit_per_minute=60, rate_limit_burst=1, breaker_failure_threshold=1)
    await http.request("get", "GET", "/c/1", idempotent=True)
    with pytest.raises(ProviderTimeout):  # the next token is a second away
        await http.request("get", "GET", "/c/2", idempotent=True)
    assert http.breaker.state is CircuitState.CLOSED
    assert provider.calls == 1


async def test_a_provider_hanging_past_the_deadline_counts_against_the_circuit() -> None:
    http = make_http(ScriptedProvider(200, delay=5), deadline=0.2, breaker_failure_threshold=1)
    with pytest.raises(ProviderTimeout):
        await http.request("get", "GET", "/c/1", idempotent=True)
    assert http.breaker.state is CircuitState.OPEN


async def test_a_rate_limit_wait_cut_short_by_the_deadline_is_reported() -> None:
    observer = Observer()
    http = make_http(ScriptedProvider(200), observer, deadline=0.2, rate_limit_per_minute=60, rate_limit_burst=1)
    await http.request("get", "GET", "/c/1", idempotent=True)
    with pytest.raises(ProviderTimeout):
        await http.request("get", "GET", "/c/2", idempotent=True)
    assert len(observer.waits) == 1 and 0.15 < observer.waits[0] < 0.5
