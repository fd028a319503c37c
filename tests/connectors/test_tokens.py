"""Token auth shared by the providers: one fetch under concurrency, refresh before expiry, retry once on 401."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from customer_graph.connectors.errors import ProviderAuthError
from customer_graph.connectors.http import Policy, ProviderHttp
from customer_graph.connectors.tokens import IssuedToken, RefreshingTokenAuth
from customer_graph.domain.models import Provider


class TokenServer:
    """A provider that issues numbered tokens and accepts only the newest one."""

    def __init__(self, expires_in: float = 60) -> None:
        self.expires_in = expires_in
        self.issued = 0
        self.refreshed = 0
        self.calls = 0
        self.refuse_credentials = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # let concurrent callers pile up behind one fetch
        if request.url.path == "/token":
            if self.refuse_credentials:
                return httpx.Response(401, json={"error": "invalid_client"})
            self.issued += 1
            return httpx.Response(
                200, json={"token": f"t{self.issued}", "refresh": f"r{self.issued}", "expires_in": self.expires_in}
            )
        if request.url.path == "/refresh":
            self.refreshed += 1
            self.issued += 1
            return httpx.Response(200, json={"token": f"t{self.issued}", "expires_in": self.expires_in})
        self.calls += 1
        if request.headers.get("Authorization") != f"Bearer t{self.issued}":
            return httpx.Response(401, json={"message": "expired"})
        return httpx.Response(200, json={"ok": True})


class DemoAuth(RefreshingTokenAuth):
    def __init__(self, *, with_refresh: bool = False) -> None:
        super().__init__(Provider.OPEN_LOYALTY)
        self.with_refresh = with_refresh

    def token_request(self) -> httpx.Request:
        return httpx.Request("POST", "http://p.test/token")

    def refresh_request(self, refresh_token: str) -> httpx.Request | None:
        return httpx.Request("POST", "http://p.test/refresh") if self.with_refresh else None

    def read_token(self, response: httpx.Response) -> IssuedToken:
        body = response.json()
        return IssuedToken(body["token"], body["expires_in"], body.get("refresh"))

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"


def make(server: TokenServer, auth: DemoAuth) -> ProviderHttp:
    return ProviderHttp.create(
        Provider.OPEN_LOYALTY, "http://p.test", Policy(max_retries=0), auth=auth, transport=httpx.MockTransport(server)
    )


async def test_fifty_concurrent_first_calls_fetch_one_token() -> None:
    server, auth = TokenServer(), DemoAuth()
    http = make(server, auth)
    responses = await asyncio.gather(*(http.request("get", "GET", "/c", idempotent=True) for _ in range(50)))
    assert {r.status_code for r in responses} == {200}
    assert (server.issued, auth.fetches, server.calls) == (1, 1, 50)


async def test_a_token_revoked_under_fifty_concurrent_calls_is_refetched_once() -> None:
    server, auth = TokenServer(), DemoAuth()
    http = make(server, auth)
    await http.request("get", "GET", "/c", idempotent=True)
    server.issued += 1  # the provider forgets t1: every call with it is now refused
    responses = await asyncio.gather(*(http.request("get", "GET", "/c", idempotent=True) for _ in range(50)))
    assert {r.status_code for r in responses} == {200}
    assert auth.fetches == 2 and server.issued == 3


async def test_a_token_near_expiry_is_refreshed_with_the_refresh_token_before_use() -> None:
    server, auth = TokenServer(expires_in=6), DemoAuth(with_refresh=True)
    auth.refresh_margin_seconds = 10  # every token is already "about to expire" after its first use
    http = make(server, auth)
    await http.request("get", "GET", "/c", idempotent=True)
    await asyncio.gather(*(http.request("get", "GET", "/c", idempotent=True) for _ in range(20)))
    assert server.refreshed >= 1
    assert server.calls == 21  # no call was refused and retried


async def test_refused_credentials_are_an_auth_error() -> None:
    server, auth = TokenServer(), DemoAuth()
    server.refuse_credentials = True
    with pytest.raises(ProviderAuthError):
        await make(server, auth).request("get", "GET", "/c", idempotent=True)
    assert server.calls == 0


async def test_an_outage_of_the_token_endpoint_is_unavailable_not_an_auth_error() -> None:
    from customer_graph.connectors.errors import ProviderUnavailable

    async def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "maintenance"})

    http = ProviderHttp.create(
        Provider.OPEN_LOYALTY,
        "http://p.test",
        Policy(max_retries=1, backoff_base=0.01),
        auth=DemoAuth(),
        transport=httpx.MockTransport(down),
    )
    with pytest.raises(ProviderUnavailable):
        await http.request("get", "GET", "/c", idempotent=True)
