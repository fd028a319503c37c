"""Protections: abusive operations are refused with a typed error before any provider call; introspection,
suggestions, unexpected errors, CSRF and per-client rate limits."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from customer_graph.domain.models import Provider
from customer_graph.schema.limits import Limits
from customer_graph.server.app import create_app
from customer_graph.server.ratelimit import TokenBucket
from customer_graph.server.security import build_security
from customer_graph.settings import parse
from tests.graph.conftest import Graph, GraphFactory
from tests.graph.security import GRAPHQL_RESPONSE_JSON, codes, key, post, provider_traffic, secured_graph


@pytest.fixture
async def graph(make_graph: GraphFactory) -> Graph:
    graph = await secured_graph(make_graph)
    await graph.reset_stats()
    return graph


def lookups(count: int) -> str:
    return "{ %s }" % " ".join(
        f'a{i}: customerByIdentifier(type: EMAIL, value: "p{i}@example.org") {{ id }}' for i in range(count)
    )


async def refused(graph: Graph, query: str, code: str, status: int = 400) -> dict[str, Any]:
    response = await post(graph, query)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body and codes(body) == [code], body
    assert await provider_traffic(graph) == 0, "a refused operation reached a provider"
    return body


async def test_a_query_twenty_levels_deep_is_refused(graph: Graph) -> None:
    deep = '{ customer(id: "cus_x") { ' + "records { " * 18 + "provider" + " }" * 19 + " }"
    body = await refused(graph, deep, "QUERY_TOO_DEEP")
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_DEEP", "depth": 20, "limit": 16}
    # Through fragments, too: customer > records > (fragment) records > ... twenty levels.
    fragments = " ".join(f"fragment F{i} on CustomerRecord {{ source ...F{i + 1} }}" for i in range(17))
    chain = (
        '{ customer(id: "cus_x") { records { ...F0 } } } '
        + fragments
        + " fragment F17 on CustomerRecord { "
        + "a { " * 17
        + "b"
        + " }" * 17
        + " }"
    )
    body = await refused(graph, chain, "QUERY_TOO_DEEP")
    assert body["errors"][0]["extensions"]["depth"] == 20


async def test_a_hundred_aliases_are_refused(graph: Graph) -> None:
    body = await refused(graph, lookups(100), "TOO_MANY_ALIASES")
    assert body["errors"][0]["extensions"]["aliases"] == 100
    assert (await post(graph, lookups(3))).status_code == 200  # a few are fine


async def test_a_one_megabyte_query_is_refused(graph: Graph) -> None:
    megabyte = '{ customers(search: "%s") { totalCount } }' % ("x" * 1_000_000)
    # Its body is too large to be read at all.
    response = await post(graph, megabyte)
    assert response.status_code == 413 and codes(response.json()) == ["REQUEST_TOO_LARGE"]
    # A document over max_query_bytes (32 KiB) in a body under max_body_bytes, or in a URL, is not parsed.
    large = '{ customers(search: "%s") { totalCount } }' % ("x" * 40_000)
    await refused(graph, large, "QUERY_TOO_LARGE", 413)
    got = await graph.client.get("/graphql", params={"query": large}, headers={"X-API-Key": key("reader")})
    assert got.status_code == 413 and codes(got.json()) == ["QUERY_TOO_LARGE"]
    assert await provider_traffic(graph) == 0


async def test_too_many_tokens_are_refused_before_parsing(graph: Graph) -> None:
    await refused(graph, "{ " + "__typename " * 2_500 + "}", "TOO_MANY_TOKENS")


async def test_the_cost_counts_list_sizes(graph: Graph) -> None:
    query = """query($n: Int) { customers(search: "Smith", first: $n) { edges { node {
        identifiers { value } addresses { city } loyaltyPrograms { name points }
        conflicts { field values { value } } } } } }"""
    response = await post(graph, query, {"n": 100})
    body = response.json()
    assert response.status_code == 400 and codes(body) == ["QUERY_TOO_COSTLY"]
    assert body["errors"][0]["extensions"]["cost"] > 10_000
    assert await provider_traffic(graph) == 0
    assert "data" in (await post(graph, query, {"n": 5})).json()  # the same query, a smaller page


async def test_introspection_and_suggestions_off(make_graph: GraphFactory) -> None:
    graph = await secured_graph(make_graph, limits=Limits(introspection=False, field_suggestions=False))
    for query in ("{ __schema { types { name } } }", '{ __type(name: "Customer") { name } }', "{ _service { sdl } }"):
        await refused(graph, query, "INTROSPECTION_DISABLED")
    assert (await post(graph, "{ __typename }")).json() == {"data": {"__typename": "Query"}}
    typo = '{ custmer(id: "x") { id } }'
    hidden = (await post(graph, typo)).json()
    assert hidden["errors"][0]["message"] == "Cannot query field 'custmer' on type 'Query'."
    enum = (
        await post(
            graph, 'query($t: IdentifierType!) { customerByIdentifier(type: $t, value: "x") { id } }', {"t": "EMAL"}
        )
    ).json()
    assert "Did you mean" not in str(enum) and codes(enum) == ["BAD_USER_INPUT"]
    # With suggestions on (development), the same typo is answered with a hint.
    helpful = (await post(await secured_graph(make_graph), typo)).json()
    assert "Did you mean 'customer'" in helpful["errors"][0]["message"]


async def test_production_settings_turn_introspection_graphiql_and_suggestions_off() -> None:
    settings = parse(
        {
            "providers": {},
            "server": {"environment": "production"},
            "auth": {"api_keys": [{"client_id": "c", "scopes": ["customers:read"], "key_sha256": "0" * 64}]},
        }
    )
    assert (settings.server.graphiql, settings.server.introspection, settings.server.field_suggestions) == (
        False,
        False,
        False,
    )
    security = build_security(settings)
    assert (security.limits.introspection, security.limits.field_suggestions) == (False, False)

    async def never() -> Any:
        raise AssertionError("not started")

    app = create_app(never, graphiql=settings.server.graphiql, security=security)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    assert page.status_code == 406


async def test_an_unexpected_error_is_masked_with_a_request_id_and_logged(
    graph: Graph, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(person_id: str) -> str:
        raise RuntimeError("store exploded near jane.doe@example.com")

    monkeypatch.setattr(graph.gateway.store, "resolve", broken)
    with caplog.at_level(logging.ERROR, logger="customer_graph.server.http"):
        response = await post(graph, '{ customer(id: "cus_x") { id } }', **{"X-Request-Id": "req-42"})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["message"] == "internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "exploded" not in response.text
    [record] = [r for r in caplog.records if r.name == "customer_graph.server.http"]
    assert "req-42" in record.getMessage() and record.exc_info is not None
    assert "exploded" in str(record.exc_info[1])
    # Without one from the client, the id is the one the response's X-Request-Id and the log lines carry.
    minted = await post(graph, '{ customer(id: "cus_x") { id } }')
    assert minted.json()["errors"][0]["extensions"]["requestId"] == minted.headers["x-request-id"]


async def test_provider_errors_and_user_errors_keep_their_codes(graph: Graph) -> None:
    await graph.fault(Provider.CAPILLARY, error_rate=1.0, error_status=503)
    body = (await post(graph, '{ customers(search: "Smith", first: 2) { totalCount } }')).json()
    assert "PROVIDER_UNAVAILABLE" in codes(body)
    assert all(e["message"] != "internal server error" for e in body["errors"])
    wrong = (await post(graph, '{ customers(search: "Smith", first: 500) { totalCount } }')).json()
    assert codes(wrong) == ["BAD_USER_INPUT"]


async def test_csrf_simple_requests_need_a_preflight_header(make_graph: GraphFactory) -> None:
    graph = await make_graph()  # no authentication: nothing else would force a browser to preflight
    await graph.reset_stats()
    mutation = 'mutation { setCustomerStatus(id: "cus_x", status: INACTIVE) { writeId } }'
    simple = [
        ("text/plain", '{"query": "%s"}' % mutation.replace('"', '\\"')),
        ("application/x-www-form-urlencoded", "query=x"),
        ("multipart/form-data; boundary=x", ""),
    ]
    for content_type, body in simple:
        response = await graph.client.post("/graphql", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 400 and codes(response.json()) == ["CSRF_PREFLIGHT_REQUIRED"]
        # With a preflight header it is not a CSRF risk, but it is still not JSON.
        preflighted = await graph.client.post(
            "/graphql", content=body, headers={"Content-Type": content_type, "apollo-require-preflight": "true"}
        )
        assert preflighted.status_code == 415
    get = await graph.client.get(
        "/graphql", params={"query": "{ providers { name } }"}, headers={"Accept": GRAPHQL_RESPONSE_JSON}
    )
    assert get.status_code == 400 and codes(get.json()) == ["CSRF_PREFLIGHT_REQUIRED"]
    named = await graph.client.get(
        "/graphql", params={"query": "query P { providers { name } }"}, headers={"x-apollo-operation-name": "P"}
    )
    assert named.status_code == 200
    assert await provider_traffic(graph) == 0
    assert await graph.gateway.store.open_writes() == []


async def test_each_client_has_its_own_rate(make_graph: GraphFactory) -> None:
    graph = await secured_graph(make_graph, rate_limiter=TokenBucket(per_minute=60, burst=2))
    query = "{ providers { name } }"
    assert [(await post(graph, query, client="reader")).status_code for _ in range(2)] == [200, 200]
    limited = await post(graph, query, client="reader")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert codes(limited.json()) == ["RATE_LIMITED"] and limited.json()["errors"][0]["extensions"]["retryAfter"] > 0
    assert (await post(graph, query, client="writer")).status_code == 200  # another client: its own bucket


async def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(per_minute=60, burst=3, clock=lambda: now[0], max_clients=2)
    assert [(await bucket.admit("a")).allowed for _ in range(4)] == [True, True, True, False]
    assert (await bucket.admit("a")).retry_after == pytest.approx(1.0)
    now[0] = 1.0
    assert (await bucket.admit("a")).allowed
    assert not (await bucket.admit("a")).allowed
    await bucket.admit("b")
    await bucket.admit("c")  # three clients, room for two: "a" (least recently seen) is forgotten
    assert (await bucket.admit("a")).allowed
