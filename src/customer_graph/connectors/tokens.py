"""The shared shape of token-based provider auth, as an ``httpx.Auth`` strategy.

A subclass says how to ask for a token (and, where the provider has one, how to refresh it), how to read
the answer and how to put the token on a request. This base makes sure that:

- a token is fetched before the first call and again shortly before it expires;
- a call refused as unauthenticated (an expired or revoked token) triggers one new token and one retry;
- however many calls are in flight when the token goes stale, exactly one fetch happens: the others wait
  for it and reuse its result.

Token requests are yielded from the auth flow, so they go over the same pooled client as the calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

import httpx

from customer_graph.connectors.errors import ProviderAuthError, ProviderNotFound, ProviderRejected
from customer_graph.connectors.http import status_error
from customer_graph.domain.models import Provider


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_in: float  # seconds
    refresh_token: str | None = None


@dataclass
class _Held:
    token: IssuedToken
    expires_at: float


class RefreshingTokenAuth(httpx.Auth):
    """Base class: fetch, cache, refresh-before-expiry and refresh-once-on-401 for one provider's token."""

    # Refresh this long before the provider's expiry, so that a call never leaves with a dying token.
    refresh_margin_seconds = 5.0

    def __init__(self, provider: Provider, clock: Callable[[], float] = time.monotonic) -> None:
        self.provider = provider
        self._clock = clock
        self._held: _Held | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # token requests made: tests assert one refresh under concurrency

    # -- what a provider supplies ---------------------------------------------------------------------

    def token_request(self) -> httpx.Request:
        """The request that obtains a token from credentials."""
        raise NotImplementedError

    def refresh_request(self, refresh_token: str) -> httpx.Request | None:
        """The request that refreshes a token, where the provider has one (default: log in again)."""
        return None

    def read_token(self, response: httpx.Response) -> IssuedToken:
        """The token in a successful token response (raise ``ProviderError`` if it is not one)."""
        raise NotImplementedError

    def apply(self, request: httpx.Request, token: str) -> None:
        """Put the token on a call."""
        raise NotImplementedError

    def is_unauthenticated(self, response: httpx.Response) -> bool:
        """Whether a call was refused for its token (default: HTTP 401)."""
        return response.status_code == 401

    # -- the flow ---------------------------------------------------------------------------------------

    def _stale(self, held: _Held | None) -> bool:
        return held is None or held.expires_at - self.refresh_margin_seconds <= self._clock()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # Async generators have no ``yield from``: each token fetch below is driven by hand, passing the
        # token requests it yields out to httpx and the responses back in.
        if self._stale(self._held):
            async with self._lock:
                if self._stale(self._held):
                    fetch = self._fetch(refresh=True)
                    try:
                        token_request = await anext(fetch)
                        while True:
                            token_request = await fetch.asend((yield token_request))
                    except StopAsyncIteration:
                        pass
        held = self._held
        assert held is not None
        self.apply(request, held.token.value)
        response = yield request
        if not self.is_unauthenticated(response):
            return
        async with self._lock:
            if self._held is held:  # nobody has replaced the refused token yet: this caller does
                fetch = self._fetch(refresh=False)
                try:
                    token_request = await anext(fetch)
                    while True:
                        token_request = await fetch.asend((yield token_request))
                except StopAsyncIteration:
                    pass
        current = self._held
        assert current is not None
        self.apply(request, current.token.value)
        yield request

    async def _fetch(self, *, refresh: bool) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Yields token requests and stores the token; tries the refresh token first when allowed."""
        attempt = None
        if refresh and self._held is not None and self._held.token.refresh_token:
            attempt = self.refresh_request(self._held.token.refresh_token)
        if attempt is not None:
            self.fetches += 1
            response = yield attempt
            await response.aread()
            if response.is_success:
                self._store(self.read_token(response))
                return
        self.fetches += 1
        response = yield self.token_request()
        await response.aread()
        if not response.is_success:
            # A refusal of our credentials is an auth error; an outage or a 429 of the token endpoint is what it
            # is (retryable, counted by the breaker), not a credentials problem.
            error = status_error(self.provider, "token", response)
            if error is None or isinstance(error, ProviderNotFound | ProviderRejected):
                error = ProviderAuthError(self.provider, "token", status=response.status_code)
            raise error
        self._store(self.read_token(response))

    def _store(self, token: IssuedToken) -> None:
        self._held = _Held(token, self._clock() + token.expires_in)

    def invalidate(self) -> None:
        """Forget the token (the next call fetches a new one)."""
        self._held = None
