"""customer-graph's subgraph contract: the committed SDL carries the federation directives, the running server
serves that same SDL as ``_service { sdl }``, and ``_entities`` answers references (an unknown one with null)."""

from __future__ import annotations

import re

import httpx

from customer_graph.simulators.dataset import generate
from tests.federation.conftest import AUTH, ROOT, Service

SCHEMA = ROOT / "schema.graphql"


def test_the_committed_schema_is_a_federation_v2_subgraph() -> None:
    sdl = SCHEMA.read_text()
    link = re.search(
        r'schema @link\(url: "https://specs\.apollo\.dev/federation/v2\.(\d+)", import: \[([^]]*)\]\)', sdl
    )
    assert link, "schema.graphql does not @link the federation v2 spec"
    assert '"@key"' in link.group(2)
    assert re.search(r'^type Customer implements Node @key\(fields: "id"\) \{$', sdl, re.MULTILINE)
    assert "union _Entity = Customer" in sdl
    assert "_entities(representations: [_Any!]!): [_Entity]!" in sdl
    assert "_service: _Service!" in sdl


def test_service_sdl_served_over_http_is_the_committed_schema(customer_graph: Service) -> None:
    response = httpx.post(
        f"{customer_graph.base_url}/graphql", json={"query": "{ _service { sdl } }"}, headers=AUTH, timeout=30
    )
    assert response.status_code == 200, response.text
    served = response.json()["data"]["_service"]["sdl"]
    # Compared token by token: only line breaks and indentation may differ (the file ends with a newline).
    assert served.split() == SCHEMA.read_text().split(), (
        "the SDL customer-graph serves differs from schema.graphql: run `customer-graph schema > schema.graphql`"
    )


def test_entities_resolve_a_known_reference_and_answer_null_for_an_unknown_one(customer_graph: Service) -> None:
    url = f"{customer_graph.base_url}/graphql"
    person = generate().persons[0]
    found = httpx.post(
        url,
        timeout=30,
        headers=AUTH,
        json={
            "query": "query($e: String!) { customerByIdentifier(type: EMAIL, value: $e) { id displayName } }",
            "variables": {"e": person.email},
        },
    ).json()["data"]["customerByIdentifier"]
    assert found is not None
    response = httpx.post(
        url,
        timeout=30,
        headers=AUTH,
        json={
            "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id displayName } } }",
            "variables": {
                "r": [{"__typename": "Customer", "id": found["id"]}, {"__typename": "Customer", "id": "cus_nobody"}]
            },
        },
    ).json()
    assert not response.get("errors"), response["errors"]
    assert response["data"]["_entities"] == [found, None]
