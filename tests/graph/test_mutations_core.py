"""Mutations end to end: validation before any call, per-provider outcomes, idempotency, the journal."""

from __future__ import annotations

import asyncio
from typing import Any

from customer_graph.domain.models import Provider
from tests.graph.conftest import Graph

CREATE = """mutation($input: CreateCustomerInput!, $providers: [Provider!], $key: String) {
  createCustomer(input: $input, providers: $providers, idempotencyKey: $key) {
    writeId
    customer { id firstName lastName records { provider recordId } identifiers(types: [EMAIL]) { value provider } }
    outcomes { provider status operation recordId error { code retryable message } }
    userErrors { field code message }
  } }"""

NEW = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": " Ada.Lovelace@Example.org ",
    "mobile": "+44 7911 123456",
    "password": "S3cret-pass",
    "birthDate": "1990-12-10",
}


async def create(graph: Graph, **variables: Any) -> dict[str, Any]:
    body = await graph.query(CREATE, {"input": NEW, **variables})
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["createCustomer"]
    return payload


async def provider_calls(graph: Graph) -> dict[Provider, int]:
    return {p: await graph.calls(p) for p in Provider}


async def test_create_at_every_provider_links_one_customer(graph: Graph) -> None:
    payload = await create(graph)
    assert payload["userErrors"] == []
    assert [(o["provider"], o["status"]) for o in payload["outcomes"]] == [
        ("CAPILLARY", "APPLIED"),
        ("MARTJACK", "APPLIED"),
        ("OPEN_LOYALTY", "APPLIED"),
        ("TWC", "APPLIED"),
    ]
    customer = payload["customer"]
    assert {r["provider"] for r in customer["records"]} == {"CAPILLARY", "MARTJACK", "OPEN_LOYALTY", "TWC"}
    assert {i["value"] for i in customer["identifiers"]} == {"ada.lovelace@example.org"}
    # The new person is found by its e-mail from the crosswalk, without a fan-out.
    await graph.reset_stats()
    found = await graph.query('{ customerByIdentifier(type: EMAIL, value: "ada.lovelace@example.org") { id } }')
    assert found["data"]["customerByIdentifier"]["id"] == customer["id"]
    assert all(n == 0 for n in (await provider_calls(graph)).values())


async def test_invalid_input_is_refused_with_typed_errors_and_no_call(graph: Graph) -> None:
    body = await graph.query(CREATE, {"input": {**NEW, "email": "not-an-email", "mobile": "12"}})
    payload = body["data"]["createCustomer"]
    assert {(e["field"], e["code"]) for e in payload["userErrors"]} == {
        ("input.email", "INVALID_EMAIL"),
        ("input.mobile", "INVALID_MOBILE"),
    }
    assert payload["outcomes"] == [] and payload["writeId"] is None and payload["customer"] is None
    missing = await graph.query(
        CREATE,
        {"input": {"firstName": "No", "lastName": "Password", "email": "np@example.org"}, "providers": ["MARTJACK"]},
    )
    assert missing["data"]["createCustomer"]["userErrors"] == [
        {"field": "input.password", "code": "REQUIRED", "message": "MARTJACK needs password to create a customer"}
    ]
    assert all(n == 0 for n in (await provider_calls(graph)).values())
    assert await graph.gateway.store.open_writes() == []


async def test_the_same_key_replays_the_result_without_calling_any_provider(graph: Graph) -> None:
    first = await create(graph, key="create-ada-1")
    calls = await provider_calls(graph)
    again = await create(graph, key="create-ada-1")
    assert again == first
    assert await provider_calls(graph) == calls
    other = await graph.query(CREATE, {"input": {**NEW, "firstName": "Augusta"}, "key": "create-ada-1"})
    assert other["data"]["createCustomer"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await provider_calls(graph) == calls


async def test_two_concurrent_requests_with_one_key_execute_once(graph: Graph) -> None:
    first, second = await asyncio.gather(create(graph, key="k-concurrent"), create(graph, key="k-concurrent"))
    assert first == second
    stats = await graph.stats(Provider.TWC)
    assert stats.get("POST /api/v2/customers") == 1


async def test_a_provider_down_leaves_a_pending_step_that_the_journal_finishes(graph: Graph) -> None:
    await graph.fault(Provider.TWC, error_rate=1.0, error_status=503)
    payload = await create(graph)
    twc = next(o for o in payload["outcomes"] if o["provider"] == "TWC")
    assert twc["status"] == "PENDING" and twc["error"]["code"] == "PROVIDER_UNAVAILABLE" and twc["error"]["retryable"]
    [open_write] = await graph.gateway.store.open_writes()
    assert open_write.id == payload["writeId"]
    await graph.sims.delete("/twc/__sim/faults")
    outcomes = await graph.gateway.executor.resume(open_write, only_due=False)
    assert [o.status for o in outcomes] == ["APPLIED"] * 4
    assert await graph.gateway.store.open_writes() == []
    read = await graph.query(
        "query($id: ID!) { customer(id: $id) { records { provider } } }", {"id": payload["customer"]["id"]}
    )
    assert {r["provider"] for r in read["data"]["customer"]["records"]} == {
        "CAPILLARY",
        "MARTJACK",
        "OPEN_LOYALTY",
        "TWC",
    }


async def test_an_emulated_merge_leaves_one_record_per_provider(graph: Graph) -> None:
    people = []
    for n in (1, 2):
        body = await graph.query(
            CREATE,
            {
                "input": {
                    "firstName": "Twin",
                    "lastName": f"Number{n}",
                    "email": f"twin{n}@example.org",
                    "password": "Pa55-word",
                },
                "providers": ["MARTJACK", "OPEN_LOYALTY", "TWC"],
            },
        )
        people.append(body["data"]["createCustomer"]["customer"]["id"])
    merged = await graph.query(
        """mutation($s: ID!, $v: ID!) { mergeCustomers(survivorId: $s, victimId: $v) {
        customer { id records { provider recordId } } outcomes { provider status operation } userErrors { code } } }""",
        {"s": people[0], "v": people[1]},
    )
    payload = merged["data"]["mergeCustomers"]
    assert {o["provider"]: o["status"] for o in payload["outcomes"]} == {
        "CAPILLARY": "SKIPPED",
        "MARTJACK": "APPLIED",
        "OPEN_LOYALTY": "APPLIED",
        "TWC": "APPLIED",
    }
    providers = [r["provider"] for r in payload["customer"]["records"]]
    assert sorted(providers) == ["MARTJACK", "OPEN_LOYALTY", "TWC"]  # the victims' records are let go
    victim = await graph.query("query($id: ID!) { customer(id: $id) { id } }", {"id": people[1]})
    assert victim["data"]["customer"]["id"] == people[0]


async def test_an_added_identifier_is_found_from_the_crosswalk(graph: Graph) -> None:
    created = await create(graph)
    person = created["customer"]["id"]
    added = await graph.query(
        """mutation($id: ID!) { addIdentifier(id: $id, identifier: {type: EMAIL,
        value: "second.address@example.org"}, providers: [TWC]) { outcomes { provider status } } }""",
        {"id": person},
    )
    assert [o["status"] for o in added["data"]["addIdentifier"]["outcomes"]] == ["APPLIED"]
    await graph.reset_stats()
    found = await graph.query('{ customerByIdentifier(type: EMAIL, value: "second.address@example.org") { id } }')
    assert found["data"]["customerByIdentifier"]["id"] == person
    assert all(n == 0 for n in (await provider_calls(graph)).values())


async def test_the_journal_does_not_keep_a_password_once_the_create_landed(graph: Graph) -> None:
    payload = await create(graph)
    write = await graph.gateway.store.get(payload["writeId"])
    assert write is not None
    assert [s.args["draft"]["password"] for s in write.steps] == [None] * 4
    assert "S3cret-pass" not in str(write)
