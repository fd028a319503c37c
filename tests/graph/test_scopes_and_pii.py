"""Scopes: each operation needs its scope, checked before any provider call; without customers:pii no e-mail
address, phone number, birth date or address reaches the client, through any field, payload or error."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from customer_graph.domain.models import Provider
from customer_graph.simulators.dataset import Person
from tests.graph.conftest import Graph, GraphFactory
from tests.graph.security import GRAPHQL_RESPONSE_JSON, codes, post, provider_traffic, secured_graph

CUSTOMER_FIELDS = """id displayName firstName lastName birthDate
    identifiers { type value provider source }
    addresses { provider id line1 line2 city state postcode country isDefault }
    conflicts { field values { provider value } }
    records { provider recordId source account }"""
STATUS = "mutation($id: ID!) { setCustomerStatus(id: $id, status: INACTIVE) { writeId userErrors { code } } }"


@pytest.fixture
async def graph(make_graph: GraphFactory) -> Graph:
    graph = await secured_graph(make_graph)
    await graph.reset_stats()
    return graph


def everywhere(graph: Graph) -> Person:
    """A person in all four providers, with an address and a birth date on which two of them disagree."""
    return next(
        p
        for p in graph.dataset.persons
        if len(p.providers) == 4 and p.openloyalty is not None and p.openloyalty.view.email is not None
    )


async def test_a_mutation_without_customers_write_is_forbidden_before_any_call(graph: Graph) -> None:
    for accept, status in ((GRAPHQL_RESPONSE_JSON, 403), ("application/json", 200)):
        response = await post(graph, STATUS, {"id": "cus_anyone"}, client="reader", accept=accept)
        assert response.status_code == status
        body = response.json()
        assert "data" not in body and codes(body) == ["FORBIDDEN"]
        assert body["errors"][0]["extensions"]["missingScopes"] == ["customers:write"]
    assert await provider_traffic(graph) == 0
    assert await graph.gateway.store.open_writes() == []


async def test_merge_and_erase_need_customers_admin(graph: Graph) -> None:
    merge = 'mutation { mergeCustomers(survivorId: "cus_a", victimId: "cus_b") { userErrors { code } } }'
    erase = 'mutation { eraseCustomer(id: "cus_a") { userErrors { code } } }'
    for mutation in (merge, erase):
        refused = (await post(graph, mutation, client="writer")).json()
        assert codes(refused) == ["FORBIDDEN"]
        assert refused["errors"][0]["extensions"]["missingScopes"] == ["customers:admin"]
    # One forbidden field refuses the whole operation, the allowed one included.
    both = (
        'mutation { a: setCustomerStatus(id: "cus_a", status: INACTIVE) { writeId }'
        ' b: eraseCustomer(id: "cus_a") { writeId } }'
    )
    assert codes((await post(graph, both, client="writer")).json()) == ["FORBIDDEN"]
    assert await provider_traffic(graph) == 0
    allowed = (await post(graph, merge, client="admin")).json()
    assert allowed["data"]["mergeCustomers"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_queries_need_customers_read_but_introspection_does_not(graph: Graph) -> None:
    refused = (await post(graph, "{ providers { name } }", client="writer-only")).json()
    assert codes(refused) == ["FORBIDDEN"] and refused["errors"][0]["extensions"]["missingScopes"] == ["customers:read"]
    assert (await post(graph, "{ __typename }", client="writer-only")).json() == {"data": {"__typename": "Query"}}
    assert "data" in (await post(graph, "{ __schema { queryType { name } } }", client="writer-only")).json()


def personal_values(person: Person) -> list[str]:
    """Every spelling of the person's e-mail addresses, phone numbers, birth date and address in any provider."""
    values = {person.email, person.mobile, person.mobile.lstrip("+"), person.birth_date.isoformat()}
    for address in (person.address, person.previous_address):
        values |= {address.line1, address.postcode}
    for provider in person.providers:
        view = getattr(person, provider).view
        values |= {v for v in (view.email, view.mobile) if v}
        if view.birth_date is not None:
            values.add(view.birth_date.isoformat())
        if view.address is not None:
            values |= {view.address.line1, view.address.postcode}
    national = re.sub(r"\D", "", person.mobile)[-10:]  # the number without its country code
    return sorted({*values, national})


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [str(value)]


def leaks(body: Any, person: Person) -> list[str]:
    """Personal values found in any string of the response, also as bare digits (however a phone is spelled)."""
    values = personal_values(person)
    numbers = [re.sub(r"\D", "", v) for v in values if re.fullmatch(r"[\d\s()+.-]{8,}", v)]
    found = []
    for text in strings(body):
        found += [v for v in values if v.lower() in text.lower()]
        found += [n for n in numbers if n in re.sub(r"\D", "", text)]
    return found


async def test_without_customers_pii_no_email_phone_birth_date_or_address_reaches_the_client(graph: Graph) -> None:
    person = everywhere(graph)
    by_email = '{ customerByIdentifier(type: EMAIL, value: "%s") { %s } }' % (person.email, CUSTOMER_FIELDS)

    # The control: with the scope, the same query shows them (so this test can fail).
    shown = (await post(graph, by_email, client="everything")).json()
    assert person.email in json.dumps(shown) and person.mobile in json.dumps(shown)
    person_id = shown["data"]["customerByIdentifier"]["id"]

    answers: list[Any] = []

    async def ask(query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        response = await post(graph, query, variables, client="writer", **headers)
        body: dict[str, Any] = response.json()
        answers.append(body)
        return body

    masked = await ask(by_email)
    customer = masked["data"]["customerByIdentifier"]
    assert customer["birthDate"] is None
    contacts = [i["value"] for i in customer["identifiers"] if i["type"] in ("EMAIL", "MOBILE")]
    assert contacts and all("***" in value for value in contacts)
    assert customer["addresses"] and all(
        a["line1"] is None and a["postcode"] is None and a["city"] is None for a in customer["addresses"] if a
    )
    await ask('{ customerByIdentifier(type: MOBILE, value: "%s") { %s } }' % (person.mobile, CUSTOMER_FIELDS))
    await ask('{ customer(id: "%s") { %s } }' % (person_id, CUSTOMER_FIELDS))
    await ask('{ customers(search: "%s", first: 5) { edges { node { %s } } } }' % (person.email, CUSTOMER_FIELDS))
    await ask('{ customers(search: "%s", first: 5) { edges { node { %s } } } }' % (person.last_name, CUSTOMER_FIELDS))
    await ask(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { %s } } }" % CUSTOMER_FIELDS,
        {"r": [{"__typename": "Customer", "id": person_id}]},
    )
    # Errors that quote what the client sent: a variable of the wrong type, a malformed identifier.
    await ask('query($t: IdentifierType!) { customerByIdentifier(type: $t, value: "x") { id } }', {"t": person.email})
    await ask('query($n: Int) { customers(search: "x", first: $n) { totalCount } }', {"n": person.mobile})
    await ask('{ customerByIdentifier(type: MOBILE, value: "%s-%s") { id } }' % (person.mobile, person.email))
    # Mutation payloads: the customer after the change, and its outcomes.
    await ask(
        'mutation($id: ID!) { updateCustomer(id: $id, patch: {firstName: "Kit"}) { customer { %s }'
        " outcomes { provider status error { code message } } userErrors { field code message } } }" % CUSTOMER_FIELDS,
        {"id": person_id},
    )
    await ask(
        "mutation($id: ID!, $v: String!) { addIdentifier(id: $id, identifier: {type: EMAIL, value: $v}) {"
        " customer { %s } userErrors { field code message } } }" % CUSTOMER_FIELDS,
        {"id": person_id, "v": person.email},
    )
    # A provider failing in the middle: its error, and everything the others still answer.
    await graph.fault(Provider.TWC, error_rate=1.0, error_status=500)
    await ask('{ customer(id: "%s") { %s } }' % (person_id, CUSTOMER_FIELDS))
    await ask('{ customers(search: "%s", first: 5) { edges { node { %s } } } }' % (person.email, CUSTOMER_FIELDS))

    assert all("errors" in a or "data" in a for a in answers)
    assert any("errors" in a for a in answers)  # the error paths were exercised
    for body in answers:
        assert leaks(body, person) == [], body


async def test_idempotency_keys_belong_to_their_client(graph: Graph) -> None:
    create = """mutation { createCustomer(idempotencyKey: "shared-key", providers: [TWC], input: {
        firstName: "Key", lastName: "Owner", email: "key.owner@example.org"}) {
        outcomes { provider status } userErrors { code } } }"""
    first = (await post(graph, create, client="everything")).json()["data"]["createCustomer"]
    assert first["outcomes"] == [{"provider": "TWC", "status": "APPLIED"}]
    # Another client with the same key neither replays the first client's answer nor is refused for it:
    # its request runs as its own (and TWC refuses the e-mail the first one took).
    second = (await post(graph, create, client="writer")).json()["data"]["createCustomer"]
    assert second["outcomes"] == [{"provider": "TWC", "status": "FAILED"}]
    replay = (await post(graph, create, client="everything")).json()["data"]["createCustomer"]
    assert replay == first
