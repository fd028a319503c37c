"""addIdentifier and removeIdentifier x each provider, and an e-mail change made of the two.

Capillary changes identifiers with changeIdentifier ``{add}`` / ``{remove}`` (a removal goes to every source
profile holding the value); Open Loyalty and TWC hold one value per type, set or erased as a field (TWC reads
and PUTs the whole object); Martjack's UserName cannot change: UNSUPPORTED, and Martjack is not called.
"""

from __future__ import annotations

import json
from typing import Any

from customer_graph.domain.models import Provider
from tests.graph.conftest import Graph
from tests.graph.matrix import (
    CAP_CHANGE_IDENTIFIER,
    CAP_GET,
    OL_GET,
    OL_PUT,
    OUTCOMES,
    TWC_GET,
    TWC_PUT,
    capillary_identifiers,
    changes,
    in_all_four,
    mutate,
    received_by_all,
    state,
    subject,
)

CAPILLARY, MARTJACK, OPEN_LOYALTY, TWC = Provider.CAPILLARY, Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC
ADD = (
    """mutation($id: ID!, $type: IdentifierType!, $value: String!) {
  addIdentifier(id: $id, identifier: {type: $type, value: $value}) { %s } }"""
    % OUTCOMES
)
REMOVE = (
    """mutation($id: ID!, $type: IdentifierType!, $value: String!) {
  removeIdentifier(id: $id, identifier: {type: $type, value: $value}) { %s } }"""
    % OUTCOMES
)
NEW_EMAIL = "new.address@example.org"


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["provider"], o["status"], o["operation"]) for o in payload["outcomes"]]


def bodies(graph: Graph, provider: Provider, method: str) -> list[tuple[str | None, Any]]:
    """(source, JSON body) of each request with this method, in order."""
    return [(r.url.params.get("source"), json.loads(r.content)) for r in graph.sent(provider) if r.method == method]


async def test_add_an_email_at_each_provider(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    payload = await mutate(
        graph, "addIdentifier", ADD, {"id": who.id, "type": "EMAIL", "value": " New.Address@Example.ORG"}
    )

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "changeIdentifier add"),
        ("MARTJACK", "UNSUPPORTED", "addIdentifier"),
        ("OPEN_LOYALTY", "APPLIED", "set EMAIL"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_CHANGE_IDENTIFIER: 1, CAP_GET: 1},  # the change, then the record read back
        MARTJACK: {},  # UserName cannot change: not even asked
        OPEN_LOYALTY: {OL_PUT: 1, OL_GET: 1},  # the e-mail field alone, then read back
        TWC: {TWC_GET: 1, TWC_PUT: 1},  # read, PUT the whole object
    }
    assert bodies(graph, CAPILLARY, "POST") == [("INSTORE", {"add": [{"type": "email", "value": NEW_EMAIL}]})]
    [put] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "PUT"]
    assert put.content.decode() == "customer%5Bemail%5D=new.address%40example.org"

    after = await state(graph, who)
    assert capillary_identifiers(after[CAPILLARY], "INSTORE") == (
        capillary_identifiers(before[CAPILLARY], "INSTORE") | {("email", NEW_EMAIL)}
    )
    found = changes(before, after)
    assert found[MARTJACK] == {}
    assert found[OPEN_LOYALTY] == {"email": (person.email, NEW_EMAIL)}  # one e-mail: the new one replaces it
    assert found[TWC] == {"email": (person.email, NEW_EMAIL)}


async def test_remove_a_mobile_at_each_provider(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    payload = await mutate(graph, "removeIdentifier", REMOVE, {"id": who.id, "type": "MOBILE", "value": person.mobile})

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "changeIdentifier remove"),
        ("MARTJACK", "UNSUPPORTED", "removeIdentifier"),
        ("OPEN_LOYALTY", "APPLIED", "erase MOBILE"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_GET: 2, CAP_CHANGE_IDENTIFIER: 1},  # which profiles hold it; remove there; read back
        MARTJACK: {},
        OPEN_LOYALTY: {OL_GET: 2, OL_PUT: 1},  # read (erase only the value named), erase, read back
        TWC: {TWC_GET: 1, TWC_PUT: 1},
    }
    wire_mobile = person.mobile.lstrip("+")
    assert bodies(graph, CAPILLARY, "POST") == [("INSTORE", {"remove": [{"type": "mobile", "value": wire_mobile}]})]
    [put] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "PUT"]
    assert put.content.decode() == "customer%5Bphone%5D="

    after = await state(graph, who)
    assert capillary_identifiers(after[CAPILLARY]) == capillary_identifiers(before[CAPILLARY]) - {
        ("mobile", wire_mobile)
    }
    found = changes(before, after)
    assert found[MARTJACK] == {}
    assert found[OPEN_LOYALTY] == {"phone": (before[OPEN_LOYALTY]["phone"], None)}
    assert found[TWC] == {"mobile": (person.mobile, None)}


async def test_an_email_change_is_an_add_then_a_remove(graph: Graph) -> None:
    """Capillary: changeIdentifier add, then remove from every source holding the old address; Open Loyalty
    and TWC: a field update that replaces the old address, after which the removal finds nothing to do;
    Martjack: UNSUPPORTED twice, never called."""
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    sources_holding_old = [
        p["source"]
        for p in before[CAPILLARY]["profiles"]
        if ("email", person.email) in capillary_identifiers({"profiles": [p]})
    ]
    assert len(sources_holding_old) == 2  # INSTORE and ECOMMERCE: both lose it
    await graph.reset_stats()

    added = await mutate(graph, "addIdentifier", ADD, {"id": who.id, "type": "EMAIL", "value": NEW_EMAIL})
    removed = await mutate(graph, "removeIdentifier", REMOVE, {"id": who.id, "type": "EMAIL", "value": person.email})

    assert [o["status"] for o in added["outcomes"]] == ["APPLIED", "UNSUPPORTED", "APPLIED", "APPLIED"]
    assert statuses(removed) == [
        ("CAPILLARY", "APPLIED", "changeIdentifier remove"),
        ("MARTJACK", "UNSUPPORTED", "removeIdentifier"),
        ("OPEN_LOYALTY", "SKIPPED", "none"),
        ("TWC", "SKIPPED", "unchanged"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_CHANGE_IDENTIFIER: 1 + len(sources_holding_old), CAP_GET: 3},
        MARTJACK: {},
        OPEN_LOYALTY: {OL_PUT: 1, OL_GET: 2},  # set; then the removal reads and finds the new address
        TWC: {TWC_GET: 2, TWC_PUT: 1},  # read, PUT; then the removal reads and finds the new address
    }
    assert bodies(graph, CAPILLARY, "POST") == [
        ("INSTORE", {"add": [{"type": "email", "value": NEW_EMAIL}]}),
        *((source, {"remove": [{"type": "email", "value": person.email}]}) for source in sources_holding_old),
    ]

    after = await state(graph, who)
    held = capillary_identifiers(after[CAPILLARY])
    assert ("email", NEW_EMAIL) in held and ("email", person.email) not in held
    found = changes(before, after)
    assert found[MARTJACK] == {} and after[MARTJACK]["UserName"] == person.martjack.user_name
    assert found[OPEN_LOYALTY] == {"email": (person.email, NEW_EMAIL)}
    assert found[TWC] == {"email": (person.email, NEW_EMAIL)}
    # The person is found by the new address; the old one is still Martjack's UserName, and finds it there.
    for email in (NEW_EMAIL, person.email):
        body = await graph.query(
            "query($v: String!) { customerByIdentifier(type: EMAIL, value: $v) { id "
            "identifiers(types: [EMAIL]) { provider value } } }",
            {"v": email},
        )
        customer = body["data"]["customerByIdentifier"]
        assert customer["id"] == who.id
        assert {i["provider"] for i in customer["identifiers"] if i["value"] == person.email} == {"MARTJACK"}
