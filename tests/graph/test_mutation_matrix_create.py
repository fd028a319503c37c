"""createCustomer x each provider: one new person registered at all four, each in its own dialect."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from customer_graph.domain.models import Provider
from customer_graph.store.base import RecordKey
from tests.graph.conftest import Graph
from tests.graph.matrix import (
    CAP_GET,
    CAP_REGISTER,
    CAP_SUBSCRIPTIONS,
    MJ_ADD_ADDRESS,
    MJ_CREATE,
    OL_GET,
    OL_REGISTER,
    OUTCOMES,
    TWC_CREATE,
    capillary_customer,
    capillary_identifiers,
    martjack_addresses,
    martjack_customer,
    mutate,
    openloyalty_customer,
    received_by_all,
    twc_customer,
)

CAPILLARY, MARTJACK, OPEN_LOYALTY, TWC = Provider.CAPILLARY, Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC
CREATE = (
    """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } %s } }"""
    % OUTCOMES
)
ADA = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "Ada.Lovelace@Example.org",
    "mobile": "+44 7911 123456",
    "password": "S3cret-pass",
    "birthDate": "1990-12-10",
    "address": {"line1": "12 St James's Square", "city": "London", "postcode": "SW1Y 4JH", "country": "GB"},
    "subscriptions": [{"channel": "EMAIL", "kind": "MARKETING", "status": "OPT_IN"}],
}
EMAIL, MOBILE = "ada.lovelace@example.org", "+447911123456"


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["provider"], o["status"], o["operation"]) for o in payload["outcomes"]]


async def test_create_at_each_provider(graph: Graph) -> None:
    await graph.reset_stats()

    payload = await mutate(graph, "createCustomer", CREATE, {"input": ADA})

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "register"),
        ("MARTJACK", "APPLIED", "Customer/Create"),
        ("OPEN_LOYALTY", "APPLIED", "register"),
        ("TWC", "APPLIED", "createCustomer"),
    ]
    ids = {Provider[o["provider"]]: o["recordId"] for o in payload["outcomes"]}
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_REGISTER: 1, CAP_SUBSCRIPTIONS: 1, CAP_GET: 1},  # register, then the consent; read back
        MARTJACK: {MJ_CREATE: 1, MJ_ADD_ADDRESS: 1},  # the address is a shipping address of its own
        OPEN_LOYALTY: {OL_REGISTER: 1, OL_GET: 1},  # form-encoded; the answer is only the id: read back
        TWC: {TWC_CREATE: 1},  # TWC answers with the whole customer
    }
    [register] = [r for r in graph.sent(CAPILLARY) if r.method == "POST" and r.url.path.endswith("/customers")]
    assert register.url.params["source"] == "INSTORE"
    [create] = [r for r in graph.sent(MARTJACK) if r.url.path.endswith("/Create")]
    sent = json.loads(create.content)["customer"]
    assert (sent["UserName"], sent["Password"]) == (EMAIL, "S3cret-pass")
    [form] = [dict(parse_qsl(r.content.decode())) for r in graph.sent(OPEN_LOYALTY) if r.url.path.endswith("/register")]
    assert (form["customer[email]"], form["customer[firstName]"], form["customer[agreement2]"]) == (EMAIL, "Ada", "1")

    capillary = await capillary_customer(graph, ids[CAPILLARY])
    assert [p["source"] for p in capillary["profiles"]] == ["INSTORE"]
    assert capillary_identifiers(capillary) == {("email", EMAIL), ("mobile", MOBILE.lstrip("+"))}
    assert capillary["extendedFields"]["city"] == "London"
    martjack = await martjack_customer(graph, ids[MARTJACK])
    assert (martjack["UserName"], martjack["FirstName"], martjack["MobileNo"], martjack["IsReceiveOffers"]) == (
        EMAIL,
        "Ada",
        MOBILE.lstrip("+"),
        True,
    )
    [shipping] = await martjack_addresses(graph, ids[MARTJACK])
    assert (shipping["address1"], shipping["othercity"], shipping["pin"]) == (
        "12 St James's Square",
        "London",
        "SW1Y 4JH",
    )
    openloyalty = await openloyalty_customer(graph, ids[OPEN_LOYALTY])
    assert (openloyalty["email"], openloyalty["firstName"], openloyalty["agreement2"]) == (EMAIL, "Ada", True)
    assert openloyalty["address"]["city"] == "London" and openloyalty["birthDate"].startswith("1990-12-10")
    twc = await twc_customer(graph, ids[TWC])
    assert (twc["email"], twc["mobile"], twc["dob"], twc["accepts_marketing"]) == (EMAIL, MOBILE, "10-12-1990", True)
    assert [a["city"] for a in twc["addresses"]] == ["London"]
    # One person, linked to the four new records.
    person = payload["customer"]["id"]
    assert set(await graph.gateway.store.records_of(person)) == {RecordKey(p, r) for p, r in ids.items()}
