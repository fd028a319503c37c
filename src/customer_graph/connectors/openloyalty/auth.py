"""Open Loyalty's admin JWT: ``login_check`` for a token, ``token/refresh`` to renew it.

providers/README.md, "Open Loyalty": ``POST /api/admin/login_check`` with ``_username``/``_password`` returns
``{"token", "refresh_token"}``; ``POST /api/token/refresh`` with ``refresh_token`` returns a new token. A call
without a token is a 401; a call with a rejected (expired or invalid) token is a **403** whose body names
the JWT (``Expired JWT Token`` / ``Invalid JWT Token``), which is what tells it from a 403 for a missing
permission. Only the former is worth a new token.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncGenerator, Callable

import httpx
import orjson
from pydantic import ValidationError

from customer_graph.connectors.errors import ProviderProtocolError
from customer_graph.connectors.tokens import IssuedToken, RefreshingTokenAuth
from customer_graph.domain.models import Provider

from . import wire

# lexik_jwt_authentication's default token_ttl, used when a token's payload does not say.
DEFAULT_TOKEN_TTL_SECONDS = 86400.0


class OpenLoyaltyAuth(RefreshingTokenAuth):
    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(Provider.OPEN_LOYALTY, clock)
        self._base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._wall_clock = wall_clock

    def token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self._base_url}/api/admin/login_check",
            data={"_username": self._username, "_password": self._password},
        )

    def refresh_request(self, refresh_token: str) -> httpx.Request | None:
        return httpx.Request("POST", f"{self._base_url}/api/token/refresh", data={"refresh_token": refresh_token})

    def read_token(self, response: httpx.Response) -> IssuedToken:
        try:
            body = wire.TokenResponse.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise ProviderProtocolError(self.provider, "token", status=response.status_code) from exc
        return IssuedToken(body.token, self._expires_in(body.token), body.refresh_token)

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"

    def is_unauthenticated(self, response: httpx.Response) -> bool:
        if response.status_code == 401:
            return True
        if response.status_code != 403:
            return False
        try:
            body = wire.ErrorBody.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValidationError):
            return False
        return "jwt" in body.text.lower()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # ``is_unauthenticated`` reads a 403's body, which httpx has not read yet when it hands the response
        # to the flow: read it here, then drive the base flow unchanged.
        flow = super().async_auth_flow(request)
        try:
            outgoing = await anext(flow)
            while True:
                response = yield outgoing
                if response.status_code == 403:
                    await response.aread()
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    def _expires_in(self, token: str) -> float:
        """Seconds until the JWT's ``exp``; the provider's default lifetime when the payload does not say."""
        parts = token.split(".")
        if len(parts) == 3:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            try:
                payload = wire.JwtPayload.model_validate(orjson.loads(base64.urlsafe_b64decode(padded)))
            except (ValueError, ValidationError):
                payload = wire.JwtPayload()
            if payload.exp is not None:
                return max(0.0, payload.exp - self._wall_clock())
        return DEFAULT_TOKEN_TTL_SECONDS
