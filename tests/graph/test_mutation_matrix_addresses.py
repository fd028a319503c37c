"""upsertAddress and removeAddress x each provider.

Capillary keeps one address in extended fields (and a street custom field), replaced whole by an Update;
Martjack has shipping addresses (AddShippingAddress: id 0 creates, an id replaces; DeleteShippingAddress);
Open Loyalty has one address, replaced whole by the profile PUT; TWC adds through ``POST .../address`` and
changes or removes one by a PUT of the whole customer.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from customer_graph.domain.models import Address, Facet, Provider, ProviderRecord
from tests.graph.conftest import Graph
from tests.graph.matrix import (
    CAP_GET,
    CAP_PUT,
    MJ_ADD_ADDRESS,
    MJ_DELETE_ADDRESS,
    MJ_GET,
    OL_GET,
    OL_PUT,
    OUTCOMES,
    TWC_ADD_ADDRESS,
    TWC_GET,
    TWC_PUT,
    Subject,
    changes,
    in_all_four,
    martjack_addresses,
    mutate,
    received_by_all,
    state,
    subject,
)

CAPILLARY, MARTJACK, OPEN_LOYALTY, TWC = Provider.CAPILLARY, Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC
UPSERT = (
    """mutation($id: ID!, $address: AddressInput!, $providers: [Provider!]) {
  upsertAddress(id: $id, address: $address, providers: $providers) { %s } }"""
    % OUTCOMES
)
REMOVE = (
    """mutation($id: ID!, $provider: Provider!, $addressId: ID!) {
  removeAddress(id: $id, provider: $provider, addressId: $addressId) { %s } }"""
    % OUTCOMES
)
LEEDS = {"line1": "1 High Street", "line2": "Flat 2", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["provider"], o["status"], o["operation"]) for o in payload["outcomes"]]


async def addresses_at(graph: Graph, who: Subject, provider: Provider) -> tuple[Address, ...]:
    """The provider's addresses of the subject, read through its connector."""
    [record] = await graph.gateway.connectors[provider].get_records(
        [who.records[provider]], frozenset({Facet.PROFILE, Facet.ADDRESSES})
    )
    assert isinstance(record, ProviderRecord)
    return record.addresses or ()


def parts(address: Address) -> dict[str, str | None]:
    return {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "postcode": address.postcode,
        "country": address.country,
    }


async def test_add_an_address_at_each_provider(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    shipping_before = await martjack_addresses(graph, who.records[MARTJACK])
    await graph.reset_stats()

    payload = await mutate(graph, "upsertAddress", UPSERT, {"id": who.id, "address": LEEDS})

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "update extendedFields"),
        ("MARTJACK", "APPLIED", "Customer/AddShippingAddress"),
        ("OPEN_LOYALTY", "APPLIED", "replace address"),
        ("TWC", "APPLIED", "addCustomerAddress"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_PUT: 1, CAP_GET: 1},  # the one address, replaced whole; read back
        MARTJACK: {MJ_GET: 1, MJ_ADD_ADDRESS: 1},  # the recipient's names come from the customer
        OPEN_LOYALTY: {OL_PUT: 1, OL_GET: 1},  # a whole address needs no read first
        TWC: {TWC_ADD_ADDRESS: 1},
    }
    [put] = [r for r in graph.sent(CAPILLARY) if r.method == "PUT"]
    assert put.url.params["source"] == "INSTORE"
    assert json.loads(put.content) == {
        "profiles": [{"source": "INSTORE", "fields": {"customer_address": "1 High Street, Flat 2"}}],
        "extendedFields": {"city": "Leeds", "state": "", "zip": "LS1 1AA", "country_of_residence": "GB"},
    }
    [add] = [r for r in graph.sent(MARTJACK) if r.method == "POST"]
    assert json.loads(add.content)["shippingaddress"]["shippingaddressid"] == "0"  # 0 creates
    [ol_put] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "PUT"]
    assert dict(parse_qsl(ol_put.content.decode(), keep_blank_values=True)) == {
        "customer[address][street]": "High Street",
        "customer[address][address1]": "1",
        "customer[address][address2]": "Flat 2",
        "customer[address][postal]": "LS1 1AA",
        "customer[address][city]": "Leeds",
        "customer[address][province]": "",
        "customer[address][country]": "GB",
    }

    after = await state(graph, who)
    found = changes(before, after)
    assert found[CAPILLARY] == {
        "profiles.0.fields.customer_address": (person.capillary.view.address.line1, "1 High Street, Flat 2"),
        "extendedFields.city": (person.address.city, "Leeds"),
        "extendedFields.state": (person.address.state, ""),
        "extendedFields.zip": (person.address.postcode, "LS1 1AA"),
        "extendedFields.country_of_residence": (person.address.country, "GB"),
    }
    assert found[MARTJACK] == {}  # the customer object: the address is a shipping address of its own
    shipping = await martjack_addresses(graph, who.records[MARTJACK])
    assert shipping[:-1] == shipping_before
    assert {k: shipping[-1][k] for k in ("address1", "address2", "othercity", "pin", "countrycode")} == {
        "address1": "1 High Street",
        "address2": "Flat 2",
        "othercity": "Leeds",
        "pin": "LS1 1AA",
        "countrycode": "GB",
    }
    assert after[OPEN_LOYALTY]["address"] == {
        "street": "High Street",
        "address1": "1",
        "address2": "Flat 2",
        "postal": "LS1 1AA",
        "city": "Leeds",
        "country": "GB",
    }
    assert after[TWC]["addresses"][:-1] == before[TWC]["addresses"]
    assert after[TWC]["defaultAddress"] == before[TWC]["defaultAddress"]
    added = after[TWC]["addresses"][-1]
    assert {k: added.get(k) for k in ("address1", "address2", "city", "postcode", "countryCode")} == {
        "address1": "1 High Street",
        "address2": "Flat 2",
        "city": "Leeds",
        "postcode": "LS1 1AA",
        "countryCode": "GB",
    }


# What replacing the address named by its id sends each provider: (operation, calls).
REPLACE = {
    CAPILLARY: ("update extendedFields", {CAP_PUT: 1, CAP_GET: 1}),
    MARTJACK: ("Customer/AddShippingAddress", {MJ_GET: 1, MJ_ADD_ADDRESS: 1}),  # with that address's id
    OPEN_LOYALTY: ("replace address", {OL_PUT: 1, OL_GET: 1}),
    TWC: ("updateCustomer", {TWC_GET: 1, TWC_PUT: 1}),  # the whole customer, that address changed
}


@pytest.mark.parametrize("provider", list(Provider), ids=lambda p: p.name)
async def test_replace_the_address_named_by_its_id(graph: Graph, provider: Provider) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    [held] = await addresses_at(graph, who, provider)
    await graph.reset_stats()

    payload = await mutate(
        graph,
        "upsertAddress",
        UPSERT,
        {"id": who.id, "address": {**LEEDS, "id": held.id}, "providers": [provider.name]},
    )

    operation, calls = REPLACE[provider]
    assert statuses(payload) == [(provider.name, "APPLIED", operation)]
    assert await received_by_all(graph) == {p: calls if p is provider else {} for p in Provider}
    [replaced] = await addresses_at(graph, who, provider)  # replaced, not added
    assert replaced.id == held.id
    expected = {**LEEDS, "line2": None} if provider is CAPILLARY else LEEDS  # one street field, both lines in it
    assert parts(replaced) == ({**expected, "line1": "1 High Street, Flat 2"} if provider is CAPILLARY else expected)


# What removing the address named by its id sends each provider: (operation, calls).
REMOVE_CALLS = {
    CAPILLARY: ("update extendedFields (blanked)", {CAP_PUT: 1, CAP_GET: 1}),
    MARTJACK: ("Customer/DeleteShippingAddress", {MJ_DELETE_ADDRESS: 1}),
    OPEN_LOYALTY: ("erase address", {OL_PUT: 1, OL_GET: 1}),  # every part sent empty
    TWC: ("updateCustomer", {TWC_GET: 1, TWC_PUT: 1}),  # the whole customer without that address
}


@pytest.mark.parametrize("provider", list(Provider), ids=lambda p: p.name)
async def test_remove_the_address_named_by_its_id(graph: Graph, provider: Provider) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    [held] = await addresses_at(graph, who, provider)
    await graph.reset_stats()

    payload = await mutate(
        graph, "removeAddress", REMOVE, {"id": who.id, "provider": provider.name, "addressId": held.id}
    )

    operation, calls = REMOVE_CALLS[provider]
    assert statuses(payload) == [(provider.name, "APPLIED", operation)]
    assert await received_by_all(graph) == {p: calls if p is provider else {} for p in Provider}
    assert await addresses_at(graph, who, provider) == ()
    after = await state(graph, who)
    found = changes(before, after)
    assert {p: c for p, c in found.items() if c} == ({} if provider is MARTJACK else {provider: found[provider]})
    if provider is CAPILLARY:
        [put] = [r for r in graph.sent(CAPILLARY) if r.method == "PUT"]
        assert json.loads(put.content) == {
            "profiles": [{"source": "INSTORE", "fields": {"customer_address": ""}}],
            "extendedFields": {"city": "", "state": "", "zip": "", "country_of_residence": ""},
        }
        assert {
            k: v
            for k, v in after[CAPILLARY]["extendedFields"].items()
            if k in ("city", "state", "zip", "country_of_residence")
        } == dict.fromkeys(("city", "state", "zip", "country_of_residence"), "")
    elif provider is MARTJACK:
        assert await martjack_addresses(graph, who.records[MARTJACK]) == []
    elif provider is OPEN_LOYALTY:
        assert not any(after[OPEN_LOYALTY].get("address", {}).values())
    else:
        assert after[TWC]["addresses"] == [] and "defaultAddress" not in after[TWC]
