"""mergeCustomers and eraseCustomer x each provider, end to end, and a write left PENDING by a provider outage
that the journal finishes.

Merge: native at Capillary (one of the victim's identifiers is added to the survivor; the victim then answers
8069 and its points are the survivor's); Martjack and Open Loyalty deactivate the victim; TWC copies what the
survivor lacks and deletes the victim. Erase: Capillary offers none (UNSUPPORTED, reported); Martjack
deactivates, Open Loyalty anonymizes, TWC deletes; the crosswalk forgets every erased record.
"""

from __future__ import annotations

import json
from typing import Any

from customer_graph.domain.models import IdentifierKey, IdentifierType, Provider
from customer_graph.store.base import RecordKey
from tests.graph.conftest import Graph
from tests.graph.matrix import (
    CAP_CHANGE_IDENTIFIER,
    CAP_GET,
    MJ_DEACTIVATE,
    MJ_GET,
    OL_ANONYMIZE,
    OL_DEACTIVATE,
    OL_GET,
    OUTCOMES,
    TWC_DELETE,
    TWC_GET,
    TWC_PUT,
    capillary_customer,
    capillary_identifiers,
    capillary_raw,
    changes,
    in_all_four,
    martjack_login_code,
    mutate,
    openloyalty_customer,
    received,
    received_by_all,
    state,
    subject,
    twc_customer,
    twc_raw,
)

CAPILLARY, MARTJACK, OPEN_LOYALTY, TWC = Provider.CAPILLARY, Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC
MERGE = (
    """mutation($survivor: ID!, $victim: ID!) {
  mergeCustomers(survivorId: $survivor, victimId: $victim) { %s } }"""
    % OUTCOMES
)
ERASE = "mutation($id: ID!) { eraseCustomer(id: $id) { customer { id } %s } }" % OUTCOMES
UPDATE = (
    """mutation($id: ID!, $patch: CustomerPatch!) {
  updateCustomer(id: $id, patch: $patch) { %s } }"""
    % OUTCOMES
)


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["provider"], o["status"], o["operation"]) for o in payload["outcomes"]]


def points(customer: dict[str, Any]) -> dict[int, float]:
    return {p["programId"]: p["loyaltyPoints"] for p in customer["loyaltyProgramDetails"]}


async def test_merge_two_persons_at_each_provider(graph: Graph) -> None:
    # Capillary keeps the older account, whichever the identifier is added to: make it ours too.
    older, newer = sorted(in_all_four(graph.dataset, 2), key=lambda p: p.capillary.view.registered_at)  # type: ignore
    survivor, victim = await subject(graph, older), await subject(graph, newer)
    kept, gone = await state(graph, survivor), await state(graph, victim)
    kept_points = points(await capillary_customer(graph, survivor.records[CAPILLARY], "mlp"))
    gone_points = points(await capillary_customer(graph, victim.records[CAPILLARY], "mlp"))
    await graph.reset_stats()

    payload = await mutate(graph, "mergeCustomers", MERGE, {"survivor": survivor.id, "victim": victim.id})

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "changeIdentifier"),
        ("MARTJACK", "APPLIED", "deactivate victim"),
        ("OPEN_LOYALTY", "APPLIED", "deactivate victim"),
        ("TWC", "APPLIED", "copy missing fields to survivor, delete victim"),
    ]
    assert {o["provider"]: o["recordId"] for o in payload["outcomes"]} == {
        p.name: r for p, r in survivor.records.items()
    }
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_GET: 2, CAP_CHANGE_IDENTIFIER: 1},  # both read; a victim's identifier added to the survivor
        MARTJACK: {MJ_GET: 1, MJ_DEACTIVATE: 1},  # the survivor must exist; the victim is switched off
        OPEN_LOYALTY: {OL_GET: 2, OL_DEACTIVATE: 1},
        TWC: {TWC_GET: 2, TWC_PUT: 2, TWC_DELETE: 1},  # release the victim's unique values, fill the survivor
    }
    [change] = [r for r in graph.sent(CAPILLARY) if r.method == "POST"]
    assert change.url.path.endswith(f"/{survivor.records[CAPILLARY]}/changeIdentifier")
    [(added_type, added_value)] = [(i["type"], i["value"]) for i in json.loads(change.content)["add"]]
    assert (added_type, added_value) in capillary_identifiers(gone[CAPILLARY])

    # Capillary: the victim answers 8069; the survivor holds the points of both.
    answer = await capillary_raw(graph, victim.records[CAPILLARY])
    assert answer.status_code == 404 and [e["code"] for e in answer.json()["errors"]] == [8069]
    merged = points(await capillary_customer(graph, survivor.records[CAPILLARY], "mlp"))
    assert merged == {
        program: kept_points.get(program, 0) + gone_points.get(program, 0) for program in kept_points | gone_points
    }
    # Martjack and Open Loyalty: the victim is deactivated, the survivor untouched.
    assert await martjack_login_code(graph, newer) == "1042" and await martjack_login_code(graph, older) == "1004"
    assert (await openloyalty_customer(graph, victim.records[OPEN_LOYALTY]))["active"] is False
    after = await state(graph, survivor)
    found = changes(kept, after)
    assert found[MARTJACK] == {} and found[OPEN_LOYALTY] == {}
    # TWC: the victim is gone; the survivor gained what it lacked, and kept what it had.
    assert (await twc_raw(graph, victim.records[TWC])).status_code == 404
    assert all(
        path.startswith(("addresses", "customerRef", "alternateCustomerRef", "phone", "mobile")) for path in found[TWC]
    )
    assert after[TWC]["addresses"][: len(kept[TWC]["addresses"])] == kept[TWC]["addresses"]
    assert after[TWC]["email"] == kept[TWC]["email"]

    # The crosswalk: the victim's id is the survivor's, with one Capillary record, and points counted once.
    body = await graph.query(
        "query($id: ID!) { customer(id: $id) { id records { provider recordId } "
        "loyaltyPrograms { provider programId points } } }",
        {"id": victim.id},
    )
    customer = body["data"]["customer"]
    assert customer["id"] == survivor.id
    assert [r["recordId"] for r in customer["records"] if r["provider"] == "CAPILLARY"] == [survivor.records[CAPILLARY]]
    assert {(p["programId"], p["points"]) for p in customer["loyaltyPrograms"] if p["provider"] == "CAPILLARY"} == {
        (str(program), float(n)) for program, n in merged.items()
    }
    assert len([p for p in customer["loyaltyPrograms"] if p["provider"] == "CAPILLARY"]) == len(merged)
    # The audit log: who, when and what, with ids and statuses only.
    [event] = [e for e in await graph.gateway.store.audit_events() if e.action == "mergeCustomers"]
    assert event.subjects == (survivor.id, victim.id) and event.write_id == payload["writeId"] and event.at > 0
    assert event.outcome == "CAPILLARY:APPLIED,MARTJACK:APPLIED,OPEN_LOYALTY:APPLIED,TWC:APPLIED"
    for person in (older, newer):
        for secret in (person.email, person.mobile, person.mobile.lstrip("+"), person.last_name):
            assert secret not in repr(event)


async def test_erase_at_each_provider_and_forget_the_erased_records(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    payload = await mutate(graph, "eraseCustomer", ERASE, {"id": who.id})

    assert statuses(payload) == [
        ("CAPILLARY", "UNSUPPORTED", "erase"),
        ("MARTJACK", "APPLIED", "Customer/DeActivation"),
        ("OPEN_LOYALTY", "APPLIED", "anonymize"),
        ("TWC", "APPLIED", "deleteCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {},  # no erasure through this API: reported, not attempted
        MARTJACK: {MJ_DEACTIVATE: 1},
        OPEN_LOYALTY: {OL_ANONYMIZE: 1, OL_GET: 1},
        TWC: {TWC_DELETE: 1},
    }
    # What is left of the person is its Capillary record, for someone to erase there.
    assert payload["customer"] == {"id": who.id}
    assert await graph.gateway.store.records_of(who.id) == [RecordKey(CAPILLARY, who.records[CAPILLARY])]
    index = await graph.gateway.store.find_identifiers(
        [IdentifierKey(IdentifierType.EMAIL, person.email), IdentifierKey(IdentifierType.MOBILE, person.mobile)]
    )
    assert {record for found in index.values() for record in found} == {RecordKey(CAPILLARY, who.records[CAPILLARY])}

    assert await capillary_customer(graph, who.records[CAPILLARY]) == before[CAPILLARY]
    assert await martjack_login_code(graph, person) == "1042"
    anonymized = await openloyalty_customer(graph, who.records[OPEN_LOYALTY])
    for field in ("firstName", "lastName", "email", "phone"):
        assert anonymized.get(field) != before[OPEN_LOYALTY][field]
    assert person.email not in repr(anonymized) and person.last_name not in repr(anonymized)
    assert (await twc_raw(graph, who.records[TWC])).status_code == 404

    [event] = await graph.gateway.store.audit_events()
    assert (event.action, event.subjects, event.write_id) == ("eraseCustomer", (who.id,), payload["writeId"])
    assert event.outcome == "CAPILLARY:UNSUPPORTED,MARTJACK:APPLIED,OPEN_LOYALTY:APPLIED,TWC:APPLIED"
    assert person.email not in repr(event) and person.mobile not in repr(event)


async def test_erasing_a_person_not_at_capillary_leaves_nothing(graph: Graph) -> None:
    person = next(p for p in graph.dataset.persons if p.providers == ("twc",))
    who = await subject(graph, person)

    payload = await mutate(graph, "eraseCustomer", ERASE, {"id": who.id})

    assert statuses(payload) == [
        ("CAPILLARY", "UNSUPPORTED", "erase"),
        ("MARTJACK", "SKIPPED", "erase"),
        ("OPEN_LOYALTY", "SKIPPED", "erase"),
        ("TWC", "APPLIED", "deleteCustomer"),
    ]
    assert await received_by_all(graph) == {CAPILLARY: {}, MARTJACK: {}, OPEN_LOYALTY: {}, TWC: {TWC_DELETE: 1}}
    assert payload["customer"] is None  # nothing of it remains anywhere
    assert await graph.gateway.store.records_of(who.id) == []
    assert (await twc_raw(graph, who.records[TWC])).status_code == 404


async def test_a_retryable_failure_stays_pending_until_the_journal_finishes_it(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    await graph.fault(TWC, error_rate=1.0, error_status=503)

    payload = await mutate(graph, "updateCustomer", UPDATE, {"id": who.id, "patch": {"lastName": "Lovelace"}})

    assert [(o["provider"], o["status"]) for o in payload["outcomes"]] == [
        ("CAPILLARY", "APPLIED"),
        ("MARTJACK", "APPLIED"),
        ("OPEN_LOYALTY", "APPLIED"),
        ("TWC", "PENDING"),
    ]
    [twc] = [o for o in payload["outcomes"] if o["provider"] == "TWC"]
    assert twc["error"]["code"] == "PROVIDER_UNAVAILABLE" and twc["error"]["retryable"] is True
    assert TWC_PUT not in await received(graph, TWC)  # the read failed: nothing was written
    [pending] = await graph.gateway.store.open_writes()
    assert pending.id == payload["writeId"]

    await graph.sims.delete("/twc/__sim/faults")
    await graph.reset_stats()
    assert await graph.gateway.executor.resume_all(only_due=False) == 1

    # Only the pending step ran: the three applied ones were not sent again.
    assert await received_by_all(graph) == {
        CAPILLARY: {},
        MARTJACK: {},
        OPEN_LOYALTY: {},
        TWC: {TWC_GET: 1, TWC_PUT: 1},
    }
    assert await graph.gateway.store.open_writes() == []
    finished = await graph.gateway.store.get(payload["writeId"])
    assert finished is not None and [s.status.value for s in finished.steps] == ["APPLIED"] * 4
    assert (await twc_customer(graph, who.records[TWC]))["lastName"] == "Lovelace"
