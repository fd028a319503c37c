"""One resilience policy for every provider call, configured per provider.

``ProviderHttp.request`` wraps one logical call (``operation``) to one provider:

    deadline ─┬─ circuit breaker ── rate limiter ── concurrency bound ── httpx (pooled keep-alive client)
              └─ retries with jittered backoff, reads only, honouring Retry-After

- The **deadline** bounds the whole call, retries and waits included, not only httpx's inactivity timeout.
- **Retries** only when the caller says the call is idempotent (reads; never a create), only for retryable
  errors, and never past the deadline.
- The **rate limiter** is a token bucket sized so that no 60-second window ever sees more calls than the
  provider's per-minute limit; waits are reported to the observer.
- The **circuit breaker** opens after consecutive failures (5xx, timeouts, connection errors), fails fast
  while open, lets probe calls through after a pause (half-open) and closes on a success.
- Every failure leaves here as a :mod:`~customer_graph.connectors.errors` error: ``httpx`` exceptions are
  translated, and the provider's ``classify`` rule turns error responses into errors. Messages carry the
  provider, the operation and a status, never a URL, query string, header or body.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from customer_graph.connectors.errors import (
    CircuitOpen,
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from customer_graph.connectors.transport import PooledTransport
from customer_graph.domain.models import Provider

Model = TypeVar("Model", bound=BaseModel)
# Turns a response into the error it means, or None when it is a success. Providers that answer errors
# with HTTP 200 (Martjack) read their envelope here.
Classifier = Callable[[httpx.Response, str], ProviderError | None]


@dataclass(frozen=True)
class Policy:
    """How calls to one provider behave. Times in seconds."""

    deadline: float = 5.0
    connect_timeout: float = 2.0
    max_retries: int = 2
    backoff_base: float = 0.05
    backoff_max: float = 1.0
    rate_limit_per_minute: int | None = None
    rate_limit_burst: int | None = None  # default: a twentieth of the per-minute limit
    max_concurrency: int = 32
    breaker_failure_threshold: int = 5
    breaker_open_seconds: float = 10.0
    breaker_half_open_probes: int = 1


class CircuitState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CallObserver(Protocol):
    """Metrics hooks. Labels are provider and operation names only, never data."""

    def call_finished(self, provider: Provider, operation: str, outcome: str, seconds: float) -> None: ...

    def rate_limit_waited(self, provider: Provider, seconds: float) -> None: ...

    def circuit_changed(self, provider: Provider, state: CircuitState) -> None: ...


class NullObserver:
    def call_finished(self, provider: Provider, operation: str, outcome: str, seconds: float) -> None:
        pass

    def rate_limit_waited(self, provider: Provider, seconds: float) -> None:
        pass

    def circuit_changed(self, provider: Provider, state: CircuitState) -> None:
        pass


class RateLimiter(Protocol):
    async def acquire(self) -> float:
        """Wait for permission to make one call; return the seconds waited."""


class TokenBucket:
    """Local token bucket: capacity ``burst``, refilled so that ``burst + 60 s * rate == per_minute``.

    Starting full and refilling at ``(per_minute - burst) / 60`` per second means any 60-second window holds
    at most ``per_minute`` acquisitions, which is what a provider's per-minute limit counts.
    """

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be positive")
        self.capacity = max(1, min(per_minute, burst if burst is not None else per_minute // 20))
        self.rate = max(per_minute - self.capacity, 1) / 60.0
        self._tokens = float(self.capacity)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> float:
        # The lock makes waiters queue in order; the one holding it sleeps until its token is there.
        async with self._lock:
            self._refill()
            waited = 0.0
            if self._tokens < 1:
                waited = (1 - self._tokens) / self.rate
                await self._sleep(waited)
                self._refill()
            self._tokens -= 1
            return waited


class CircuitBreaker:
    """Consecutive-failure breaker: CLOSED → OPEN after ``threshold`` failures → HALF_OPEN after
    ``open_seconds`` (up to ``probes`` calls through) → CLOSED on a success, OPEN again on a failure."""

    def __init__(
        self,
        provider: Provider,
        threshold: int,
        open_seconds: float,
        probes: int,
        observer: CallObserver,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.threshold = threshold
        self.open_seconds = open_seconds
        self.probes = probes
        self._observer = observer
        self._clock = clock
        self.state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes_in_flight = 0

    def before_call(self, operation: str) -> None:
        if self.state is CircuitState.OPEN:
            if self._clock() - self._opened_at < self.open_seconds:
                raise CircuitOpen(self.provider, operation)
            self._set(CircuitState.HALF_OPEN)
        if self.state is CircuitState.HALF_OPEN:
            if self._probes_in_flight >= self.probes:
                raise CircuitOpen(self.provider, operation)
            self._probes_in_flight += 1

    def release_probe(self) -> None:
        """A probe that ended without an outcome (cancelled by its deadline) gives its slot back."""
        if self.state is CircuitState.HALF_OPEN:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)

    def record(self, *, failure: bool) -> None:
        if self.state is CircuitState.HALF_OPEN:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
        if not failure:
            self._failures = 0
            if self.state is not CircuitState.CLOSED:
                self._set(CircuitState.CLOSED)
            return
        self._failures += 1
        if self.state is CircuitState.HALF_OPEN or self._failures >= self.threshold:
            self._opened_at = self._clock()
            self._set(CircuitState.OPEN)

    def _set(self, state: CircuitState) -> None:
        if state is not self.state:
            self.state = state
            self._observer.circuit_changed(self.provider, state)


def _proxied(base_url: str) -> bool:
    """Whether the environment routes this URL through a proxy: then httpx's own transport, which honours
    ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``, carries the calls (the pooled transport speaks direct only)."""
    proxies = httpx._utils.get_environment_proxies()
    url = httpx.URL(base_url)
    return any(
        pattern.matches(url) and proxy
        for pattern, proxy in ((httpx._utils.URLPattern(key), value) for key, value in proxies.items())
    )


def default_classify(provider: Provider) -> Classifier:
    """Status-code rules shared by providers that use HTTP statuses plainly."""

    def classify(response: httpx.Response, operation: str) -> ProviderError | None:
        return status_error(provider, operation, response)

    return classify


def status_error(provider: Provider, operation: str, response: httpx.Response) -> ProviderError | None:
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        return ProviderAuthError(provider, operation, status=status)
    if status == 404:
        return ProviderNotFound(provider, operation, status=status)
    if status == 429:
        return ProviderRateLimited(provider, operation, retry_after=retry_after_seconds(response))
    if status >= 500:
        return ProviderUnavailable(provider, operation, status=status)
    return ProviderRejected(provider, operation, status=status)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: rare from these providers, and backoff covers it


# Waits for the rate limiter shorter than this are bookkeeping, not waits.
RATE_LIMIT_WAIT_REPORTED = 0.001

# Failures that say the provider is unwell (the breaker counts them); a 404 or a 4xx says it is fine.
_BREAKER_FAILURES = (ProviderUnavailable, ProviderTimeout)


class ProviderHttp:
    """The shared call policy for one provider around one pooled ``httpx.AsyncClient``."""

    def __init__(
        self,
        provider: Provider,
        client: httpx.AsyncClient,
        policy: Policy,
        *,
        classify: Classifier | None = None,
        observer: CallObserver | None = None,
        limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        # With the client's own transport in hand (``create``), calls take the short way (``_send``).
        self._transport = transport
        self._base = str(client.base_url).rstrip("/") + "/"  # joined as httpx joins: base path + relative path
        self._headers = client.headers
        self._timeout = client.timeout.as_dict()
        self.policy = policy
        self.classify = classify or default_classify(provider)
        self.observer: CallObserver = observer or NullObserver()
        if limiter is None and policy.rate_limit_per_minute:
            limiter = TokenBucket(policy.rate_limit_per_minute, policy.rate_limit_burst)
        self.limiter = limiter
        self.breaker = CircuitBreaker(
            provider,
            policy.breaker_failure_threshold,
            policy.breaker_open_seconds,
            policy.breaker_half_open_probes,
            self.observer,
        )
        self._slots = asyncio.Semaphore(policy.max_concurrency)

    @classmethod
    def create(
        cls,
        provider: Provider,
        base_url: str,
        policy: Policy,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        classify: Classifier | None = None,
        observer: CallObserver | None = None,
        limiter: RateLimiter | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ProviderHttp:
        """A policy with its own keep-alive client, sized to the policy's concurrency (``transport`` replaces
        the connection pool, e.g. with an in-process app in tests)."""
        if transport is None and not _proxied(base_url):
            transport = PooledTransport(max_connections=policy.max_concurrency, connect_timeout=policy.connect_timeout)
        client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            transport=transport,
            headers=dict(headers or {}),
            # The deadline in ``request`` bounds every call as a whole; a read timer of its own per call would
            # only ever fire after it, and costs a timer per call.
            timeout=httpx.Timeout(None, connect=policy.connect_timeout),
            limits=httpx.Limits(
                max_connections=policy.max_concurrency, max_keepalive_connections=policy.max_concurrency
            ),
        )
        return cls(provider, client, policy, classify=classify, observer=observer, limiter=limiter, transport=transport)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        classify: Classifier | None = None,
    ) -> httpx.Response:
        """Send one call under the policy; return a successful response or raise a ``ProviderError``."""
        started = time.perf_counter()
        outcome = "OK"
        try:
            async with asyncio.timeout(self.policy.deadline):
                return await self._attempts(
                    operation,
                    method,
                    url,
                    idempotent=idempotent,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    classify=classify or self.classify,
                    started=started,
                )
        except TimeoutError:
            outcome = ProviderTimeout.code
            raise ProviderTimeout(self.provider, operation, detail=f"after {self.policy.deadline:g}s") from None
        except ProviderError as exc:
            outcome = exc.code
            raise
        finally:
            self.observer.call_finished(self.provider, operation, outcome, time.perf_counter() - started)

    async def _attempts(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        classify: Classifier,
        started: float,
    ) -> httpx.Response:
        attempt = 0
        while True:
            self.breaker.before_call(operation)
            error: ProviderError | None
            try:
                if self.limiter is not None:
                    asked = time.perf_counter()
                    try:
                        await self.limiter.acquire()
                    finally:  # a wait the deadline cut short is a wait too
                        waited = time.perf_counter() - asked
                        if waited > RATE_LIMIT_WAIT_REPORTED:
                            self.observer.rate_limit_waited(self.provider, waited)
                async with self._slots:
                    try:
                        response = await self._send(method, url, params=params, json=json, data=data, headers=headers)
                    except asyncio.CancelledError:
                        # The deadline passed while the provider had the call: that counts against it (a wait
                        # for the rate limiter or a concurrency slot does not).
                        self.breaker.record(failure=True)
                        raise
                error = classify(response, operation)
            except ProviderError as exc:  # raised by an auth flow (token endpoint refused us)
                error = exc
            except httpx.TimeoutException:
                error = ProviderTimeout(self.provider, operation, detail="transport timeout")
            except httpx.TransportError as exc:
                error = ProviderUnavailable(self.provider, operation, detail=type(exc).__name__)
            except BaseException:
                # Cancelled by the deadline (recorded as a failure by ``request``) or a bug: either way a
                # half-open probe slot must not leak.
                self.breaker.release_probe()
                raise
            self.breaker.record(failure=isinstance(error, _BREAKER_FAILURES))
            if error is None:
                return response
            delay = self._retry_delay(error, attempt, idempotent)
            remaining = self.policy.deadline - (time.perf_counter() - started)
            if delay is None or delay >= remaining:
                raise error
            await asyncio.sleep(delay)
            attempt += 1

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        """One request and its auth flow, read whole: what ``AsyncClient.request`` does for a provider call,
        without what none of them uses (redirects, event hooks, cookies, per-request logging), which cost about
        as much again as the transport. Same URL joining, headers, body encoding and ``httpx.Auth`` flows."""
        if self._transport is None:
            return await self.client.request(method, url, params=params, json=json, data=data, headers=headers)
        if headers:
            merged = httpx.Headers(self._headers)
            merged.update(headers)
        target = url if url.startswith(("http://", "https://")) else self._base + url.lstrip("/")
        request = httpx.Request(
            method,
            target,
            params=params,
            headers=merged if headers else self._headers,
            json=json,
            data=data,
            extensions={"timeout": self._timeout},
        )
        auth = self.client.auth
        response = await (self._exchange(request) if auth is None else self._authenticated(request, auth))
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        assert self._transport is not None
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    async def _authenticated(self, request: httpx.Request, auth: httpx.Auth) -> httpx.Response:
        flow = auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self._exchange(request)
                try:
                    try:
                        request = await flow.asend(response)
                    except StopAsyncIteration:
                        return response
                    await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
        finally:
            await flow.aclose()

    def _retry_delay(self, error: ProviderError, attempt: int, idempotent: bool) -> float | None:
        if not idempotent or not error.retryable or isinstance(error, CircuitOpen):
            return None
        if attempt >= self.policy.max_retries:
            return None
        if isinstance(error, ProviderRateLimited) and error.retry_after is not None:
            return error.retry_after
        # Full jitter: spreads retries of many callers so that they do not arrive together.
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * math.pow(2, attempt))
        return random.uniform(0, ceiling)

    def parse(self, response: httpx.Response, model: type[Model], operation: str) -> Model:
        """Parse a response body into its wire model, or raise ``ProviderProtocolError``."""
        try:
            return model.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise ProviderProtocolError(self.provider, operation, status=response.status_code) from exc

    def json(self, response: httpx.Response, operation: str) -> Any:
        """The decoded JSON body, or ``ProviderProtocolError`` when it is not JSON."""
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise ProviderProtocolError(self.provider, operation, status=response.status_code) from exc
