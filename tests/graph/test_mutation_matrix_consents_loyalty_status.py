"""setSubscriptions, enrollInLoyaltyProgram and setCustomerStatus x each provider.

Subscriptions: Capillary's subscriptions endpoint (OPTIN/OPTOUT x TRANS/BULK x channel, SMS written MOBILE);
Martjack's one ``IsReceiveOffers`` flag through a whole-object Update; Open Loyalty's ``agreement2``/``agreement3``;
TWC's ``accepts_marketing`` through a whole-object PUT. Loyalty: Capillary's ``loyaltyProgramEnrollments``,
Open Loyalty's level assignment; none at Martjack and TWC. Status: Martjack (De)Activation, Open Loyalty
activate/deactivate, TWC ``active`` through a PUT; Capillary has no status it can change or read back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from customer_graph.domain.models import Provider
from customer_graph.simulators.openloyalty.store import LEVELS_BY_NAME
from tests.graph.conftest import Graph
from tests.graph.matrix import (
    CAP_GET,
    CAP_PUT,
    CAP_SUBSCRIPTIONS,
    MJ_ACTIVATE,
    MJ_DEACTIVATE,
    MJ_GET,
    MJ_SESSION,
    MJ_UPDATE,
    OL_ACTIVATE,
    OL_DEACTIVATE,
    OL_GET,
    OL_LEVEL,
    OL_PUT,
    OL_STATUS,
    OUTCOMES,
    TWC_GET,
    TWC_PUT,
    capillary_customer,
    changes,
    everyone_in_all_four,
    in_all_four,
    martjack_login_code,
    mutate,
    openloyalty_customer,
    openloyalty_raw,
    received_by_all,
    state,
    subject,
)

CAPILLARY, MARTJACK, OPEN_LOYALTY, TWC = Provider.CAPILLARY, Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC
SUBSCRIBE = (
    """mutation($id: ID!, $subscriptions: [SubscriptionInput!]!) {
  setSubscriptions(id: $id, subscriptions: $subscriptions) { %s } }"""
    % OUTCOMES
)
ENROLL = (
    """mutation($id: ID!, $provider: Provider!, $program: ID!) {
  enrollInLoyaltyProgram(id: $id, provider: $provider, programId: $program) { %s } }"""
    % OUTCOMES
)
STATUS = (
    """mutation($id: ID!, $status: CustomerStatusInput!) {
  setCustomerStatus(id: $id, status: $status) { %s } }"""
    % OUTCOMES
)


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["provider"], o["status"], o["operation"]) for o in payload["outcomes"]]


async def test_opt_in_to_email_and_sms_marketing_at_each_provider(graph: Graph) -> None:
    # Someone opted out everywhere, so that every provider has something to change.
    person = next(
        p
        for p in everyone_in_all_four(graph.dataset)
        if not p.martjack.receive_offers
        and not p.twc.accepts_marketing  # type: ignore[union-attr]
        and not p.openloyalty.marketing_email
        and not p.openloyalty.marketing_sms
    )  # type: ignore[union-attr]
    who = await subject(graph, person)
    before = await state(graph, who)
    before_capillary = await capillary_customer(graph, who.records[CAPILLARY], "subscriptions")
    await graph.reset_stats()

    payload = await mutate(
        graph,
        "setSubscriptions",
        SUBSCRIBE,
        {
            "id": who.id,
            "subscriptions": [
                {"channel": "EMAIL", "kind": "MARKETING", "status": "OPT_IN"},
                {"channel": "SMS", "kind": "MARKETING", "status": "OPT_IN"},
            ],
        },
    )

    assert statuses(payload) == [
        ("CAPILLARY", "APPLIED", "subscriptions"),
        ("MARTJACK", "APPLIED", "Customer/Update"),
        ("OPEN_LOYALTY", "APPLIED", "update consents"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {CAP_SUBSCRIPTIONS: 1, CAP_GET: 1},
        MARTJACK: {MJ_GET: 1, MJ_SESSION: 1, MJ_UPDATE: 1},
        OPEN_LOYALTY: {OL_PUT: 1, OL_GET: 1},
        TWC: {TWC_GET: 1, TWC_PUT: 1},
    }
    [post] = [r for r in graph.sent(CAPILLARY) if r.method == "POST"]
    assert [(s["channel"], s["priority"], s["type"]) for s in json.loads(post.content)["subscriptions"]] == [
        ("EMAIL", "BULK", "OPTIN"),
        ("MOBILE", "BULK", "OPTIN"),
    ]
    [update] = [r for r in graph.sent(MARTJACK) if r.url.path.endswith("/Update")]
    assert update.headers["accesstoken"] and json.loads(update.content)["customer"]["IsReceiveOffers"] is True
    [put] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "PUT"]
    assert put.content.decode() == "customer%5Bagreement2%5D=1&customer%5Bagreement3%5D=1"

    after = await state(graph, who)
    found = changes(before, after)
    assert found[MARTJACK] == {"IsReceiveOffers": (False, True)}
    assert found[OPEN_LOYALTY] == {"agreement2": (False, True), "agreement3": (False, True)}
    assert found[TWC] == {"accepts_marketing": (False, True), "marketing_optin_level": (None, "single_opt_in")}
    subscribed = await capillary_customer(graph, who.records[CAPILLARY], "subscriptions")

    def bulk(customer: dict[str, Any]) -> dict[str, str]:
        return {
            s["channel"]: s["type"] for s in customer["subscriptionInfo"]["subscriptions"] if s["priority"] == "BULK"
        }

    assert bulk(subscribed) == {**bulk(before_capillary), "EMAIL": "OPTIN", "SMS": "OPTIN"}


# What enrolling sends each provider: (program, status, operation, calls).
ENROLMENT = {
    CAPILLARY: ("1017", "APPLIED", "loyaltyProgramEnrollments", {CAP_PUT: 1, CAP_GET: 1}),
    MARTJACK: ("1017", "UNSUPPORTED", "enrollInLoyaltyProgram", {}),
    OPEN_LOYALTY: (
        LEVELS_BY_NAME["level3"].level_id,
        "APPLIED",
        "assign level",
        {OL_LEVEL: 1, OL_GET: 1, OL_STATUS: 1},
    ),
    TWC: ("1017", "UNSUPPORTED", "enrollInLoyaltyProgram", {}),
}


@pytest.mark.parametrize("provider", list(Provider), ids=lambda p: p.name)
async def test_enrol_in_a_loyalty_program(graph: Graph, provider: Provider) -> None:
    # Someone in Capillary's first program only, below Open Loyalty's top level.
    person = next(
        p
        for p in everyone_in_all_four(graph.dataset)
        if [b.program_id for b in p.capillary.programs] == [1016]  # type: ignore[union-attr]
        and p.openloyalty.level_name != "level3"
    )  # type: ignore[union-attr]
    who = await subject(graph, person)
    before = await state(graph, who)
    await graph.reset_stats()

    program, status, operation, calls = ENROLMENT[provider]
    payload = await mutate(
        graph, "enrollInLoyaltyProgram", ENROLL, {"id": who.id, "provider": provider.name, "program": program}
    )

    assert statuses(payload) == [(provider.name, status, operation)]
    assert await received_by_all(graph) == {p: calls if p is provider else {} for p in Provider}
    after = await state(graph, who)
    found = {p: c for p, c in changes(before, after).items() if c}
    if provider is CAPILLARY:
        [put] = [r for r in graph.sent(CAPILLARY) if r.method == "PUT"]
        assert json.loads(put.content) == {
            "profiles": [{"source": "INSTORE"}],
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "loyaltyProgramEnrollments": [{"programId": 1017, "tierNumber": 1, "loyaltyPoints": 0}],
        }
        programs = (await capillary_customer(graph, who.records[CAPILLARY], "mlp"))["loyaltyProgramDetails"]
        assert sorted(p["programId"] for p in programs) == [1016, 1017]
    elif provider is OPEN_LOYALTY:
        [post] = [r for r in graph.sent(OPEN_LOYALTY) if r.method == "POST"]
        assert post.content.decode() == f"levelId={program}"
        assert found[OPEN_LOYALTY]["levelId"] == (before[OPEN_LOYALTY]["levelId"], program)
        status_body = (await openloyalty_raw(graph, f"admin/customer/{who.records[OPEN_LOYALTY]}/status")).json()
        assert (status_body["levelName"], status_body["level"]) == ("level3", "15.00%")
    else:
        assert found == {}  # no loyalty at Martjack or TWC: nothing asked, nothing changed


async def test_deactivate_then_reactivate_at_each_provider(graph: Graph) -> None:
    [person] = in_all_four(graph.dataset)
    who = await subject(graph, person)
    before = await state(graph, who)
    assert await martjack_login_code(graph, person) == "1004"
    await graph.reset_stats()

    payload = await mutate(graph, "setCustomerStatus", STATUS, {"id": who.id, "status": "INACTIVE"})

    assert statuses(payload) == [
        ("CAPILLARY", "UNSUPPORTED", "setStatus"),
        ("MARTJACK", "APPLIED", "Customer/DeActivation"),
        ("OPEN_LOYALTY", "APPLIED", "deactivate"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {},
        MARTJACK: {MJ_DEACTIVATE: 1},
        OPEN_LOYALTY: {OL_DEACTIVATE: 1, OL_GET: 1},
        TWC: {TWC_GET: 1, TWC_PUT: 1},
    }
    inactive = await state(graph, who)
    found = changes(before, inactive)
    assert found[CAPILLARY] == {} and found[MARTJACK] == {}  # Martjack's customer object shows no status
    assert await martjack_login_code(graph, person) == "1042"  # a deactivated account cannot log in
    assert found[OPEN_LOYALTY] == {"active": (True, False), "status.type": ("active", "blocked")}
    assert found[TWC] == {"active": (True, False)}

    await graph.reset_stats()
    payload = await mutate(graph, "setCustomerStatus", STATUS, {"id": who.id, "status": "ACTIVE"})

    assert statuses(payload) == [
        ("CAPILLARY", "UNSUPPORTED", "setStatus"),
        ("MARTJACK", "APPLIED", "Customer/Activation"),
        ("OPEN_LOYALTY", "APPLIED", "activate"),
        ("TWC", "APPLIED", "updateCustomer"),
    ]
    assert await received_by_all(graph) == {
        CAPILLARY: {},
        MARTJACK: {MJ_ACTIVATE: 1},
        OPEN_LOYALTY: {OL_ACTIVATE: 1, OL_GET: 1},
        TWC: {TWC_GET: 1, TWC_PUT: 1},
    }
    assert changes(before, await state(graph, who)) == {provider: {} for provider in Provider}
    assert await martjack_login_code(graph, person) == "1004"
    assert (await openloyalty_customer(graph, who.records[OPEN_LOYALTY]))["active"] is True
