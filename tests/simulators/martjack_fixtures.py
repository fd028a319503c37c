"""Driving the Martjack simulator: a validating client with merchant auth, and OAuth 1.0 signing."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from starlette.applications import Starlette

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.dataset import Dataset, MartjackPart, Person
from customer_graph.simulators.martjack import DEMO_APP, DEMO_MERCHANT_ID, create_app
from customer_graph.simulators.martjack.auth import oauth1_signature
from tests.simulators.openapi_contract import validating_client

M = DEMO_MERCHANT_ID
C = "/developerapi/Customer"
TOKEN_PATH = f"/developerapi/OAuth/Token/{DEMO_APP.public_key}"


async def served_spec(app: Starlette) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as raw:
        spec: dict[str, Any] = (await raw.get("/openapi.json")).json()
    return spec


@asynccontextmanager
async def client_for(
    dataset: Dataset, *, authenticated: bool = True, **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that validates every response against the served OpenAPI document, signed in with a JWT."""
    app = create_app(dataset, SimulatorOptions(seed=dataset.seed, **options))
    async with await validating_client(app, await served_spec(app)) as client:
        if authenticated:
            client.headers["Authorization"] = f"Bearer {await merchant_jwt(client)}"
        yield client


async def merchant_jwt(client: httpx.AsyncClient) -> str:
    response = await client.get(TOKEN_PATH, headers={"Authorization": ""})
    assert response.json()["messageCode"] == "1004", response.text
    return str(response.json()["Token"]["AccessToken"])


def martjack_persons(dataset: Dataset) -> list[tuple[Person, MartjackPart]]:
    return [(p, p.martjack) for p in dataset.in_provider("martjack") if p.martjack is not None]


def oauth_params(
    method: str,
    url: str,
    *,
    secret: str = DEMO_APP.secret,
    body: dict[str, str] | None = None,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The oauth_* parameters (signature included) for a call to ``url`` (query included)."""
    params = {
        "oauth_consumer_key": DEMO_APP.public_key,
        "oauth_nonce": nonce or secrets.token_hex(8),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "oauth_version": "1.0",
    }
    parts = urlsplit(url)
    signed = [*parse_qsl(parts.query), *params.items(), *(body or {}).items()]
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    params["oauth_signature"] = oauth1_signature(method, base, signed, secret)
    return params


def signed_url(method: str, url: str, **kwargs: Any) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode(oauth_params(method, url, **kwargs))
