"""What every provider simulator shares: call counting, fault injection, rate limiting, tokens, and the
``/__sim`` control surface that tests and benchmarks drive.

A simulator is a Starlette app built by :func:`simulator_app` from the provider's own routes (made with
:meth:`SimulatorState.route`) and a :class:`Dialect` that says how that provider spells an error. Every
provider route passes through :meth:`SimulatorState.handle`, which in this order:

1. counts the call under ``"<METHOD> <path template>"`` (so ``/__sim/stats`` shows what the provider saw,
   including calls it refused);
2. refuses it with the provider's 429 if the per-minute limit is exhausted (a sliding 60-second window);
3. applies the injected faults: added latency and jitter, a hang (until the client goes away), a random
   error status, a malformed body.

The control surface (not part of any provider API) under each prefix:

- ``GET  /__sim/stats``   ``{"total": n, "calls": {"GET /v2/customers/{id}": n, ...}}``
- ``POST /__sim/reset``   clears counters and faults; ``?data=1`` also reseeds the data
- ``POST /__sim/faults``  any subset of :class:`Faults` as JSON; ``DELETE /__sim/faults`` clears them
- ``POST /__sim/config``  any subset of ``{"token_ttl_seconds": float, "rate_limit_per_minute": int}``
- ``POST /__sim/tokens/expire``  expires every token issued so far (exercises refresh paths)
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

Endpoint = Callable[[Request], Awaitable[Response]]

# A hang ends when the client disconnects or after this long, so a forgotten fault cannot pin a server forever.
MAX_HANG_SECONDS = 300.0
DISCONNECT_POLL_SECONDS = 0.05
MALFORMED_BODY = b'{"data": [{"id": 1, "firstName": "trunc'


class Faults(BaseModel):
    """Faults injected into every provider call of one simulator (validated input of ``POST /__sim/faults``)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    jitter_ms: int = Field(default=0, ge=0, le=600_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = Field(default=500, ge=400, le=599)
    hang: bool = False
    malformed: bool = False
    rate_limit_per_minute: int | None = Field(default=None, ge=1)


class SimConfig(BaseModel):
    """Run-time settings of one simulator (validated input of ``POST /__sim/config``)."""

    model_config = ConfigDict(extra="forbid")

    token_ttl_seconds: float | None = Field(default=None, gt=0)
    rate_limit_per_minute: int | None = Field(default=None, ge=0)


class Dialect(Protocol):
    """How one provider answers when the simulator, not the endpoint, has to answer."""

    def error_response(self, status: int) -> Response:
        """The provider's body for an injected error status (5xx or 4xx)."""

    def rate_limited_response(self, retry_after_seconds: int) -> Response:
        """The provider's 429, carrying ``Retry-After``."""


@dataclass
class Token:
    value: str
    subject: str
    expires_at: float
    kind: str = "access"


class TokenStore:
    """Opaque tokens with a lifetime; expiry is checked on use so that refresh paths get exercised."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._tokens: dict[str, Token] = {}
        self.issued: Counter[str] = Counter()

    def issue(self, subject: str, *, kind: str = "access", ttl_seconds: float | None = None, prefix: str = "") -> Token:
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        token = Token(prefix + secrets.token_urlsafe(24), subject, self._clock() + ttl, kind)
        self._tokens[token.value] = token
        self.issued[kind] += 1
        return token

    def lookup(self, value: str | None, *, kind: str = "access") -> Token | None:
        """The live token with this value and kind, or None when unknown, revoked or expired."""
        if not value:
            return None
        token = self._tokens.get(value)
        if token is None or token.kind != kind:
            return None
        if token.expires_at <= self._clock():
            return None
        return token

    def known(self, value: str | None) -> bool:
        """Whether this value was ever issued (and not revoked), expired or not."""
        return bool(value) and value in self._tokens

    def revoke(self, value: str) -> bool:
        return self._tokens.pop(value, None) is not None

    def expire_all(self) -> int:
        now = self._clock()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)
        return len(self._tokens)

    def clear(self) -> None:
        self._tokens.clear()
        self.issued.clear()


class SlidingWindowLimiter:
    """At most ``limit`` calls in any 60 seconds; answers how long until the next call would be allowed."""

    WINDOW_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._calls: deque[float] = deque()

    def acquire(self, limit: int | None) -> float:
        """Record a call and return 0, or return the seconds to wait when the limit is exhausted."""
        now = self._clock()
        while self._calls and self._calls[0] <= now - self.WINDOW_SECONDS:
            self._calls.popleft()
        if limit and len(self._calls) >= limit:
            return self._calls[0] + self.WINDOW_SECONDS - now
        self._calls.append(now)
        return 0.0

    def clear(self) -> None:
        self._calls.clear()


@dataclass
class SimulatorState:
    """Counters, faults, limits and tokens of one simulator; ``reseed`` rebuilds its data from the dataset."""

    name: str
    dialect: Dialect
    reseed: Callable[[], None]
    token_ttl_seconds: float = 3600.0
    rate_limit_per_minute: int | None = None
    seed: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    faults: Faults = field(default_factory=Faults)
    limiter: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter)
    tokens: TokenStore = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenStore(self.token_ttl_seconds)
        self.rng = random.Random(self.seed)

    def route(self, path: str, endpoint: Endpoint, methods: list[str]) -> Route:
        """A provider route whose calls are counted and subject to limits and faults."""

        async def counted(request: Request) -> Response:
            return await self.handle(f"{request.method} {path}", request, endpoint)

        return Route(path, counted, methods=methods, name=endpoint.__name__)

    async def handle(self, key: str, request: Request, endpoint: Endpoint) -> Response:
        self.calls[key] += 1
        limit = self.faults.rate_limit_per_minute or self.rate_limit_per_minute
        wait = self.limiter.acquire(limit)
        if wait > 0:
            return self.dialect.rate_limited_response(max(1, math.ceil(wait)))
        faults = self.faults
        delay_ms = faults.latency_ms + (self.rng.uniform(0, faults.jitter_ms) if faults.jitter_ms else 0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if faults.hang:
            await _wait_for_disconnect(request)
            return Response(status_code=504)
        if faults.error_rate and self.rng.random() < faults.error_rate:
            return self.dialect.error_response(faults.error_status)
        response = await endpoint(request)
        if faults.malformed:
            return Response(MALFORMED_BODY, status_code=response.status_code, media_type="application/json")
        return response

    def reset(self, *, data: bool) -> None:
        self.calls.clear()
        self.faults = Faults()
        self.limiter.clear()
        if data:
            self.tokens.clear()
            self.reseed()

    # -- the /__sim control surface ---------------------------------------------------------------

    def control_routes(self) -> list[BaseRoute]:
        return [
            Route("/__sim/stats", self._stats, methods=["GET"]),
            Route("/__sim/reset", self._reset, methods=["POST"]),
            Route("/__sim/faults", self._faults, methods=["GET", "POST", "DELETE"]),
            Route("/__sim/config", self._config, methods=["GET", "POST"]),
            Route("/__sim/tokens/expire", self._expire_tokens, methods=["POST"]),
        ]

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(
            {
                "total": sum(self.calls.values()),
                "calls": dict(sorted(self.calls.items())),
                "tokens_issued": dict(self.tokens.issued),
            }
        )

    async def _reset(self, request: Request) -> Response:
        data = request.query_params.get("data") in {"1", "true", "yes"}
        self.reset(data=data)
        return JSONResponse({"reset": True, "data": data})

    async def _faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults = Faults()
        elif request.method == "POST":
            try:
                self.faults = Faults.model_validate(await _json_object(request))
            except (ValidationError, ValueError) as exc:
                return _control_error(exc)
        return JSONResponse(self.faults.model_dump())

    async def _config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                config = SimConfig.model_validate(await _json_object(request))
            except (ValidationError, ValueError) as exc:
                return _control_error(exc)
            if config.token_ttl_seconds is not None:
                self.token_ttl_seconds = self.tokens.ttl_seconds = config.token_ttl_seconds
            if "rate_limit_per_minute" in config.model_fields_set:
                self.rate_limit_per_minute = config.rate_limit_per_minute or None
        return JSONResponse(
            {"token_ttl_seconds": self.token_ttl_seconds, "rate_limit_per_minute": self.rate_limit_per_minute}
        )

    async def _expire_tokens(self, request: Request) -> Response:
        return JSONResponse({"expired": self.tokens.expire_all()})


def simulator_app(state: SimulatorState, routes: list[BaseRoute], openapi: dict[str, Any]) -> Starlette:
    """One provider's app: its own routes, ``/openapi.json`` and the ``/__sim`` control surface."""

    async def openapi_document(request: Request) -> Response:
        return JSONResponse(openapi)

    app = Starlette(
        routes=[*routes, Route("/openapi.json", openapi_document, methods=["GET"]), *state.control_routes()]
    )
    app.state.simulator = state
    return app


async def _wait_for_disconnect(request: Request) -> None:
    deadline = time.monotonic() + MAX_HANG_SECONDS
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _control_error(exc: Exception) -> Response:
    if isinstance(exc, ValidationError):
        detail: Any = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    else:
        detail = str(exc)
    return JSONResponse({"error": "invalid control request", "detail": detail}, status_code=400)
