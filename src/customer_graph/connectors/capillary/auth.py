"""Capillary's two ways to authenticate (providers/README.md, Capillary v2), as ``httpx.Auth`` strategies.

- :class:`TillBasicAuth`: ``Authorization: Basic base64(tillCode:md5(password))`` on every call.
- :class:`CapillaryOAuth`: ``POST /v3/oauth/token/generate`` with ``{"key","secret"}`` returns a token that
  lives 5 minutes (``ttlSeconds``), sent as ``X-CAP-API-OAUTH-TOKEN``. :class:`RefreshingTokenAuth` refreshes it
  before it expires and once on a 401, with one fetch however many calls are in flight.

The configuration chooses by the kind of credentials it holds (:func:`build_auth`).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx
import orjson
from pydantic import ValidationError

from customer_graph.connectors.capillary.wire import TokenResponse
from customer_graph.connectors.errors import ProviderAuthError, ProviderProtocolError
from customer_graph.connectors.tokens import IssuedToken, RefreshingTokenAuth
from customer_graph.domain.models import Provider

TOKEN_PATH = "/v3/oauth/token/generate"
TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"


@dataclass(frozen=True)
class TillCredentials:
    """A till's code and password (Basic auth). The password never appears in a repr."""

    till_code: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class OAuthCredentials:
    """An OAuth client's key and secret (token auth). The secret never appears in a repr."""

    key: str
    secret: str = field(repr=False)


Credentials = TillCredentials | OAuthCredentials


class TillBasicAuth(httpx.Auth):
    def __init__(self, credentials: TillCredentials) -> None:
        digest = hashlib.md5(credentials.password.encode(), usedforsecurity=False).hexdigest()
        token = base64.b64encode(f"{credentials.till_code}:{digest}".encode()).decode()
        self._header = f"Basic {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class CapillaryOAuth(RefreshingTokenAuth):
    # Tokens live 300 s: leave a margin wide enough for a slow call to finish on the old one.
    refresh_margin_seconds = 15.0

    def __init__(
        self, base_url: str, credentials: OAuthCredentials, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(Provider.CAPILLARY, clock)
        # Token requests leave from the auth flow, outside the client's base URL: they need the whole URL.
        self._url = base_url.rstrip("/") + TOKEN_PATH
        self._credentials = credentials

    def token_request(self) -> httpx.Request:
        return httpx.Request("POST", self._url, json={"key": self._credentials.key, "secret": self._credentials.secret})

    def read_token(self, response: httpx.Response) -> IssuedToken:
        try:
            parsed = TokenResponse.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise ProviderProtocolError(self.provider, "token", status=response.status_code) from exc
        if parsed.data is None:
            raise ProviderAuthError(self.provider, "token", status=response.status_code)
        return IssuedToken(parsed.data.access_token, parsed.data.ttl_seconds)

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers[TOKEN_HEADER] = token


def build_auth(base_url: str, credentials: Credentials) -> httpx.Auth:
    if isinstance(credentials, OAuthCredentials):
        return CapillaryOAuth(base_url, credentials)
    return TillBasicAuth(credentials)
