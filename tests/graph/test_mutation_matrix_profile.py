"""updateCustomer x each provider: what each simulator received and the state each ends in.

The issue's example: an update of only the city sends Open Loyalty the whole address (read, modify, write),
TWC the whole object (read, modify, PUT), Capillary a PUT on the configured source with no identifiers, and
Martjack an Update of the whole customer carrying a customer access token.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from customer_graph.connectors.martjack.wire import READ_ONLY_MEMBERS
from customer_graph.domain.models import Provider
from tests.graph.conftest import Graph
from tests.graph.matrix import (
    CAP_GET,
    CAP_PUT,
    MJ_GET,
    MJ_SESSION,
    MJ_UPDATE,
    OL_GET,
    OL_PUT,
    OUTCOMES,
    TWC_GET,
    TWC_PUT,
    changes,
    diff,
    in_all_four,
    mutate,
    received,
    received_by_all,
    state,
    subject,
    twc_customer,
)

CAPILLARY, MARTJACK, OPEN_LOYALTY, TWC = Provider.CAPILLARY, Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC
UPDATE = (
    """mutation($id: ID!, $patch: CustomerPatch!, $providers: [Provider!]) {
  updateCustomer(id: $id, patch: $patch, providers: $providers) { %s } }"""
    % OUTCOMES
)


# Members of a read Martjack customer that Update does not take, and the merchant id it adds.
NOT_UPDATED = frozenset(READ_ONLY_MEMBERS | {"merchantId"})


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["provider"], o["status"], o["operation"]) for o in payload["outcomes"]]


def form(request: Any) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


async def test_an_update_of_only_the_city_speaks_each_providers_dialect(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    payload = await mutate(graph, "updateCustomer", UPDATE, {"id": who.id, "patch": {"address": {"city": "Leeds"}}})

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "update"),
        ("MARTJACK", "APPLIED", "Customer/Update"),
        ("OPEN_LOYALTY", "APPLIED", "update customer"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_PUT: 1, CAP_GET: 1},  # the update, then the connector reads the record back
        MARTJACK: {MJ_GET: 1, MJ_SESSION: 1, MJ_UPDATE: 1},  # read, open a customer session, write it whole
        OPEN_LOYALTY: {OL_GET: 2, OL_PUT: 1},  # read the address, PUT it whole, read back
        TWC: {TWC_GET: 1, TWC_PUT: 1},  # read, PUT the whole object
    }
    # Capillary: a PUT on the configured source, no identifiers, only the city among the extended fields.
    [put] = [r for r in graph.sent(CAPILLARY) if r.method == "PUT"]
    assert put.url.params["source"] == "INSTORE"
    assert json.loads(put.content) == {"profiles": [{"source": "INSTORE"}], "extendedFields": {"city": "Leeds"}}
    # Martjack: the whole customer, as read, with the city changed, sent with the guest session's token.
    city = person.address.city
    [update] = [r for r in graph.sent(MARTJACK) if r.url.path.endswith("/Update")]
    assert update.headers["accesstoken"]
    assert diff(before[MARTJACK], json.loads(update.content)["customer"], ignore=NOT_UPDATED) == {
        "City": (before[MARTJACK]["City"], ""),
        "CityName": (city, "Leeds"),
        "OtherCity": ("", "Leeds"),
    }
    # Open Loyalty: read first, then every part of the one address, only the address.
    assert [r.method for r in graph.sent(OPEN_LOYALTY)] == ["GET", "PUT", "GET"]
    [ol_put] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "PUT"]
    held = before[OPEN_LOYALTY]["address"]
    assert form(ol_put) == {f"customer[address][{k}]": v for k, v in {**held, "address2": "", "city": "Leeds"}.items()}
    # TWC: read, then the whole object back with the city changed.
    assert [r.method for r in graph.sent(TWC)] == ["GET", "PUT"]
    [twc_put] = [r for r in graph.sent(TWC) if r.method == "PUT"]
    assert diff(before[TWC], json.loads(twc_put.content)) == {
        "addresses.0.city": (city, "Leeds"),
        "defaultAddress.city": (city, "Leeds"),
    }

    after = await state(graph, who)
    assert changes(before, after) == {
        CAPILLARY: {"extendedFields.city": (city, "Leeds")},
        MARTJACK: {"City": (before[MARTJACK]["City"], ""), "CityName": (city, "Leeds"), "OtherCity": ("", "Leeds")},
        OPEN_LOYALTY: {"address.city": (city, "Leeds")},
        TWC: {"addresses.0.city": (city, "Leeds"), "defaultAddress.city": (city, "Leeds")},
    }


async def test_a_name_set_and_a_birth_date_cleared_at_each_provider(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    payload = await mutate(
        graph, "updateCustomer", UPDATE, {"id": who.id, "patch": {"firstName": " Kate ", "birthDate": None}}
    )

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "update"),
        ("MARTJACK", "APPLIED", "Customer/Update"),
        ("OPEN_LOYALTY", "APPLIED", "update customer"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert {o["provider"]: o["recordId"] for o in payload["outcomes"]} == {p.name: r for p, r in who.records.items()}
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_PUT: 1, CAP_GET: 1},
        MARTJACK: {MJ_GET: 1, MJ_SESSION: 1, MJ_UPDATE: 1},
        OPEN_LOYALTY: {OL_PUT: 1, OL_GET: 1},  # a partial PUT needs no read; the record is read back
        TWC: {TWC_GET: 1, TWC_PUT: 1},
    }
    [put] = [r for r in graph.sent(CAPILLARY) if r.method == "PUT"]
    assert put.url.params["source"] == "INSTORE"
    assert json.loads(put.content) == {
        "profiles": [{"source": "INSTORE", "firstName": "Kate", "fields": {"dateofbirth": ""}}]
    }
    [ol_put] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "PUT"]
    assert form(ol_put) == {"customer[firstName]": "Kate", "customer[birthDate]": ""}

    after = await state(graph, who)
    found = changes(before, after)
    assert found[CAPILLARY] == {
        "profiles.0.firstName": (before[CAPILLARY]["profiles"][0]["firstName"], "Kate"),
        "profiles.0.fields.dateofbirth": (person.capillary.view.birth_date.strftime("%d-%m-%Y"), ""),
    }
    assert before[CAPILLARY]["profiles"][0]["source"] == "INSTORE"  # the configured source, and only it
    # Martjack shows a customer without a birth date as born on 1/1/1900.
    assert found[MARTJACK] == {
        "FirstName": (before[MARTJACK]["FirstName"], "Kate"),
        "BirthDate": (before[MARTJACK]["BirthDate"], "1/1/1900"),
    }
    assert found[OPEN_LOYALTY] == {
        "firstName": (before[OPEN_LOYALTY]["firstName"], "Kate"),
        "birthDate": (before[OPEN_LOYALTY]["birthDate"], None),
    }
    assert found[TWC] == {"firstName": (before[TWC]["firstName"], "Kate"), "dob": (before[TWC]["dob"], None)}


async def test_a_provider_without_a_record_of_the_person_is_skipped_without_a_call(graph: Graph) -> None:
    person = next(p for p in graph.dataset.persons if p.providers == ("twc",))
    who = await subject(graph, person)

    payload = await mutate(graph, "updateCustomer", UPDATE, {"id": who.id, "patch": {"lastName": "Lovelace"}})

    assert statuses(payload) == [
        ("CAPILLARY", "SKIPPED", "updateProfile"),
        ("MARTJACK", "SKIPPED", "updateProfile"),
        ("OPEN_LOYALTY", "SKIPPED", "updateProfile"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    for provider in (CAPILLARY, MARTJACK, OPEN_LOYALTY):
        assert await received(graph, provider) == {}
    assert await received(graph, TWC) == {TWC_GET: 1, TWC_PUT: 1}
    assert (await twc_customer(graph, who.records[TWC]))["lastName"] == "Lovelace"


async def test_an_address_line_set_and_a_postcode_cleared_at_each_provider(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    await mutate(
        graph, "updateCustomer", UPDATE, {"id": who.id, "patch": {"address": {"line1": "9 New Road", "postcode": None}}}
    )

    after = await state(graph, who)
    found = changes(before, after)
    postcode = person.address.postcode
    assert found[CAPILLARY] == {
        "profiles.0.fields.customer_address": (person.address.line1, "9 New Road"),
        "extendedFields.zip": (postcode, ""),
    }
    assert found[MARTJACK] == {
        "Street": (person.address.line1, "9 New Road"),
        "PostalAddress": (person.address.line1, "9 New Road"),
        "Pin": (postcode, ""),
    }
    assert found[OPEN_LOYALTY] == {
        "address.street": (before[OPEN_LOYALTY]["address"]["street"], "New Road"),
        "address.address1": (before[OPEN_LOYALTY]["address"]["address1"], "9"),
        "address.postal": (postcode, None),
    }
    assert found[TWC] == {
        "addresses.0.address1": (person.address.line1, "9 New Road"),
        "addresses.0.postcode": (postcode, None),
        "defaultAddress.address1": (person.address.line1, "9 New Road"),
        "defaultAddress.postcode": (postcode, None),
    }


async def test_an_invalid_address_patch_is_refused_without_a_call(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    for patch, expected in (
        ({"address": None}, [("patch.address", "INVALID")]),
        ({"address": {}}, [("patch.address", "EMPTY_PATCH")]),
        (
            {"address": {"city": "  ", "country": "Britain"}},
            [("patch.address.city", "INVALID"), ("patch.address.country", "INVALID")],
        ),
    ):
        body = await graph.query(UPDATE, {"id": who.id, "patch": patch})
        payload = body["data"]["updateCustomer"]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, patch
        assert payload["outcomes"] == [] and payload["writeId"] is None
    assert await received_by_all(graph) == {provider: {} for provider in Provider}
    assert await graph.gateway.store.open_writes() == []
