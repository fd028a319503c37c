"""/graphql follows the GraphQL-over-HTTP specification: media types, GET, status codes."""

from __future__ import annotations

import pytest

from customer_graph.domain.models import Provider
from customer_graph.server.http import negotiate
from tests.graph.conftest import Graph, GraphFactory
from tests.graph.security import GRAPHQL_RESPONSE_JSON, codes, key, post, provider_traffic, secured_graph

PROVIDERS = "{ providers { name } }"
FOUR = {"providers": [{"name": p.name} for p in Provider]}


@pytest.fixture
async def secured(make_graph: GraphFactory) -> Graph:
    return await secured_graph(make_graph)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, GRAPHQL_RESPONSE_JSON),
        ("", GRAPHQL_RESPONSE_JSON),
        ("*/*", GRAPHQL_RESPONSE_JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/*", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=iso-8859-1, application/json", "application/json"),
        ("text/html", None),
        ("application/json;q=0", None),
    ],
)
def test_media_type_negotiation(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


async def test_the_response_has_the_media_type_the_client_accepts(secured: Graph) -> None:
    for accept, media in [
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("application/json", "application/json"),
        (None, GRAPHQL_RESPONSE_JSON),
    ]:
        response = await post(secured, PROVIDERS, accept=accept)
        assert response.status_code == 200
        assert response.headers["content-type"] == f"{media}; charset=utf-8"
        assert response.json() == {"data": FOUR}


async def test_nothing_acceptable_is_406(secured: Graph) -> None:
    response = await post(secured, PROVIDERS, accept="text/html")
    assert response.status_code == 406
    assert codes(response.json()) == ["NOT_ACCEPTABLE"]


async def test_a_query_over_get(secured: Graph) -> None:
    response = await secured.client.get(
        "/graphql", params={"query": PROVIDERS}, headers={"X-API-Key": key("reader"), "Accept": GRAPHQL_RESPONSE_JSON}
    )
    assert response.status_code == 200
    assert response.json() == {"data": FOUR}
    named = await secured.client.get(
        "/graphql",
        params={
            "query": "query P($n: String!) { customers(search: $n, first: 1) { totalCount } } query Q { __typename }",
            "operationName": "Q",
            "variables": '{"n": "x"}',
        },
        headers={"X-API-Key": key("reader")},
    )
    assert named.json() == {"data": {"__typename": "Query"}}


async def test_a_mutation_over_get_is_405_and_runs_nothing(secured: Graph) -> None:
    await secured.reset_stats()
    mutation = 'mutation { setCustomerStatus(id: "cus_x", status: INACTIVE) { writeId } }'
    for accept in (GRAPHQL_RESPONSE_JSON, "application/json"):
        response = await secured.client.get(
            "/graphql", params={"query": mutation}, headers={"X-API-Key": key("everything"), "Accept": accept}
        )
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert codes(response.json()) == ["METHOD_NOT_ALLOWED"]
    assert await provider_traffic(secured) == 0


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ providers { name }", "GRAPHQL_PARSE_FAILED"),
        ("{ providers { nom } }", "GRAPHQL_VALIDATION_FAILED"),
        ('query($n: Int!) { customers(search: "x", first: $n) { totalCount } }', "BAD_USER_INPUT"),  # $n missing
    ],
)
async def test_a_request_error_has_no_data_and_is_400_with_graphql_response_json(
    secured: Graph, query: str, code: str
) -> None:
    await secured.reset_stats()
    strict = await post(secured, query, accept=GRAPHQL_RESPONSE_JSON)
    assert strict.status_code == 400
    assert "data" not in strict.json() and codes(strict.json()) == [code]
    legacy = await post(secured, query, accept="application/json")
    assert legacy.status_code == 200  # application/json: a well-formed request is answered 200
    assert legacy.json() == strict.json()
    assert await provider_traffic(secured) == 0


async def test_an_unknown_operation_name_is_a_request_error(secured: Graph) -> None:
    response = await secured.client.post(
        "/graphql", json={"query": PROVIDERS, "operationName": "Nope"}, headers={"X-API-Key": key("reader")}
    )
    assert response.status_code == 400 and "data" not in response.json()


async def test_an_execution_error_is_200_with_data(secured: Graph) -> None:
    person = next(p for p in secured.dataset.persons if p.openloyalty is not None and p.capillary is not None)
    query = '{ customerByIdentifier(type: MOBILE, value: "%s") { loyaltyPrograms { name } } }' % person.mobile
    assert (await post(secured, query)).status_code == 200  # linked: the next lookup needs no fan-out
    await secured.fault(Provider.OPEN_LOYALTY, error_rate=1.0, error_status=503)
    response = await post(secured, query)
    assert response.status_code == 200
    body = response.json()
    assert None in body["data"]["customerByIdentifier"]["loyaltyPrograms"]  # Open Loyalty's share
    assert "PROVIDER_UNAVAILABLE" in codes(body)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"query": ', "application/json", 400, "BAD_REQUEST"),
        (b'{"query": "{ providers { name } }", "variables": [1]}', "application/json", 400, "BAD_REQUEST"),
        (b'[{"query": "{ providers { name } }"}]', "application/json", 400, "BAD_REQUEST"),
        (b'{"variables": {}}', "application/json", 400, "BAD_REQUEST"),
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{ __typename }", "application/graphql", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
async def test_malformed_requests(secured: Graph, body: bytes, content_type: str, status: int, code: str) -> None:
    response = await secured.client.post(
        "/graphql",
        content=body,
        headers={"Content-Type": content_type, "X-API-Key": key("reader"), "Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == status, response.text
    assert codes(response.json()) == [code]
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"


async def test_other_methods_are_405(secured: Graph) -> None:
    response = await secured.client.put("/graphql", json={"query": PROVIDERS}, headers={"X-API-Key": key("reader")})
    assert response.status_code == 405
