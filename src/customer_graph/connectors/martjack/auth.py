"""Martjack's two credentials: the merchant app's JWT on every call, and a customer session for Update.

Merchant (providers/README.md, Martjack: "OAuth 1.0 HMAC-SHA1 signing (consumer key/secret) or a JWT from
``/OAuth/Token/{PublicKey}``"): :class:`MerchantTokenAuth` fetches the JWT, signing that one request with
OAuth 1.0 HMAC-SHA1 (harmless where the public key alone suffices, required where it does not), and sends it
as ``Authorization: Bearer``. The token response carries no lifetime; the JWT's own ``exp - iat`` gives it.
A refused JWT is ``1003`` with HTTP 401: one new token, one retry (the base class's default rule; the
response body is not read in the auth flow, and a ``1003`` with HTTP 200 would be classified as an auth
error without a retry).

Customer session: Update Customer Details needs an ``accesstoken`` header naming a customer session.
``Customer/GetAccessToken`` opens a guest session, which is how a merchant back end acts for any customer;
:class:`CustomerSession` holds one, shared by every call, opened once however many callers need it, and
replaced when Martjack answers ``440`` (session expired) or it reaches its configured age.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from customer_graph.connectors.errors import ProviderAuthError, ProviderProtocolError
from customer_graph.connectors.martjack.wire import TokenResponse
from customer_graph.connectors.tokens import IssuedToken, RefreshingTokenAuth
from customer_graph.domain.models import Provider

PROVIDER = Provider.MARTJACK
# When a JWT does not say how long it lives: short enough to be safe, and a 401 refreshes it anyway.
DEFAULT_TOKEN_SECONDS = 900.0


class SessionExpired(ProviderAuthError):
    """Martjack's ``440``: the customer session (``accesstoken``) is expired, logged out or unknown."""

    reason = "customer session expired"


class MerchantTokenAuth(RefreshingTokenAuth):
    """The merchant JWT from ``OAuth/Token/{PublicKey}``, sent as ``Authorization: Bearer``."""

    def __init__(
        self, base_url: str, public_key: str, secret: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(PROVIDER, clock)
        self._token_url = f"{base_url.rstrip('/')}/OAuth/Token/{quote(public_key, safe='')}"
        self._public_key = public_key
        self._secret = secret

    def token_request(self) -> httpx.Request:
        request = httpx.Request("GET", self._token_url)
        request.headers["Authorization"] = oauth1_authorization("GET", self._token_url, self._public_key, self._secret)
        return request

    def read_token(self, response: httpx.Response) -> IssuedToken:
        try:
            body = TokenResponse.model_validate_json(response.content)
        except ValidationError:
            raise ProviderProtocolError(self.provider, "token", status=response.status_code) from None
        if body.failed:
            raise ProviderAuthError(self.provider, "token", status=response.status_code, detail=f"code {body.code}")
        return IssuedToken(body.token.access_token, jwt_lifetime(body.token.access_token))

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"


def jwt_lifetime(token: str) -> float:
    """Seconds a JWT lives by its own claims (``exp - iat``, so that clock skew does not matter)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        lifetime = float(claims["exp"]) - float(claims["iat"])
    except (IndexError, ValueError, KeyError, TypeError):
        return DEFAULT_TOKEN_SECONDS
    return lifetime if lifetime > 0 else DEFAULT_TOKEN_SECONDS


def oauth1_authorization(
    method: str,
    url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """An ``Authorization: OAuth ...`` header, one-legged HMAC-SHA1 (RFC 5849, section 3.4) over ``url``.

    Only URL query parameters and the oauth ones are signed: the calls signed here have no form body.
    """
    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "oauth_version": "1.0",
    }
    parsed = httpx.URL(url)
    params = [*parsed.params.multi_items(), *oauth.items()]
    normalised = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
    port = f":{parsed.port}" if parsed.port else ""
    base_uri = f"{parsed.scheme.lower()}://{parsed.host.lower()}{port}{parsed.path}"
    base_string = "&".join((method.upper(), _pct(base_uri), _pct(normalised)))
    key = f"{_pct(consumer_secret)}&".encode()
    oauth["oauth_signature"] = base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()
    return "OAuth " + ", ".join(f'{k}="{_pct(v)}"' for k, v in oauth.items())


def _pct(value: str) -> str:
    return quote(value, safe="~")


class CustomerSession:
    """One shared guest session: opened on first need, reused, replaced when refused or too old.

    ``open_session`` makes the GetAccessToken call and returns the ``AccessToken``. However many callers
    need a session at once, one call opens it; a caller whose session was refused with ``440`` calls
    :meth:`invalidate` with the token it sent, so that only the first of them makes the next one open.
    """

    def __init__(
        self,
        open_session: Callable[[], Awaitable[str]],
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open = open_session
        self._max_age = max_age_seconds
        self._clock = clock
        self._held: tuple[str, float] | None = None  # token, opened at
        self._lock = asyncio.Lock()
        self.opened = 0  # sessions opened: tests assert one per expiry

    def _fresh(self) -> str | None:
        if self._held is None or self._clock() - self._held[1] >= self._max_age:
            return None
        return self._held[0]

    async def token(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()
            if token is None:
                opened_at = self._clock()
                token = await self._open()
                self.opened += 1
                self._held = (token, opened_at)
            return token

    def invalidate(self, token: str) -> None:
        if self._held is not None and self._held[0] == token:
            self._held = None
