"""TWC auth: Keycloak client credentials per tenant realm, a Bearer token and ``X-TWC-Tenant`` on every call.

providers/README.md, TWC: ``POST /auth/realms/{tenant}/protocol/openid-connect/token`` with the form
``grant_type=client_credentials``, ``client_id``, ``client_secret`` answers ``access_token`` and ``expires_in``
(no refresh token for this grant: a stale token is replaced by logging in again). An expired or unknown token
is a 401 (Spring's resource server); a token of another tenant is a 403, which no new token would fix.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from customer_graph.connectors.errors import ProviderProtocolError
from customer_graph.connectors.tokens import IssuedToken, RefreshingTokenAuth
from customer_graph.connectors.twc.wire import TokenResponse
from customer_graph.domain.models import Provider

TENANT_HEADER = "X-TWC-Tenant"
TOKEN_PATH = "/auth/realms/{tenant}/protocol/openid-connect/token"


class TwcAuth(RefreshingTokenAuth):
    def __init__(self, token_url: str, tenant: str, client_id: str, client_secret: str) -> None:
        super().__init__(Provider.TWC)
        self._token_url = token_url
        self._tenant = tenant
        self._client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:  # never the secret
        return f"TwcAuth(tenant={self._tenant!r}, client_id={self._client_id!r})"

    def token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
        )

    def read_token(self, response: httpx.Response) -> IssuedToken:
        try:
            token = TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProviderProtocolError(self.provider, "token", status=response.status_code) from exc
        return IssuedToken(token.access_token, token.expires_in)

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"
        request.headers[TENANT_HEADER] = self._tenant
