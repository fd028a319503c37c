"""Clients with API keys of different scopes, for the tests of authentication, scopes, masking and limits."""

from __future__ import annotations

from typing import Any

import httpx

from customer_graph.schema.access import ADMIN, ALL_SCOPES, PII, READ, WRITE, Principal
from customer_graph.server.auth import ApiKeys, key_digest
from customer_graph.server.http import Security
from tests.graph.conftest import PREFIX, Graph, GraphFactory

# client id -> (key, scopes)
CLIENTS = {
    "everything": ("key-everything-0123456789abcdef", ALL_SCOPES),
    "reader": ("key-reader-0123456789abcdef", frozenset({READ})),
    "writer": ("key-writer-0123456789abcdef", frozenset({READ, WRITE})),
    "writer-only": ("key-writer-only-0123456789abcdef", frozenset({WRITE})),
    "admin": ("key-admin-0123456789abcdef", frozenset({READ, WRITE, ADMIN})),
    "pii-reader": ("key-pii-reader-0123456789abcdef", frozenset({READ, PII})),
}
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def key(client: str) -> str:
    return CLIENTS[client][0]


def api_keys() -> ApiKeys:
    return ApiKeys({key_digest(k): Principal(client, scopes) for client, (k, scopes) in CLIENTS.items()})


async def secured_graph(make_graph: GraphFactory, **security: Any) -> Graph:
    """A graph whose clients authenticate with the API keys above."""
    return await make_graph(security=Security(authenticator=api_keys(), **security))


async def post(
    graph: Graph,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    client: str | None = "everything",
    accept: str | None = GRAPHQL_RESPONSE_JSON,
    **headers: str,
) -> httpx.Response:
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    if client is not None:
        sent["X-API-Key"] = key(client)
    if accept is not None:
        sent["Accept"] = accept
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await graph.client.post("/graphql", json=body, headers=sent)


async def provider_traffic(graph: Graph) -> int:
    """Every request the four simulators received since the last reset, token requests included."""
    total = 0
    for prefix in PREFIX.values():
        total += (await graph.sims.get(f"/{prefix}/__sim/stats")).json()["total"]
    return total


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
