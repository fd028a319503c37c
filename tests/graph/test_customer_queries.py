"""The unified graph end to end: one person across four providers, partial results, identity traps."""

from __future__ import annotations

import time
from typing import Any

from customer_graph.domain.models import Provider
from customer_graph.simulators.dataset import Dataset, Person
from tests.graph.conftest import Graph, GraphFactory

EVERYTHING = """
  id firstName lastName displayName birthDate gender status
  identifiers { type value provider source }
  addresses { provider city postcode country }
  subscriptions { provider channel kind status }
  loyaltyPrograms { provider name points tier nextTier }
  records { provider recordId source fetchedAt }
  conflicts { field values { provider value } }
"""
BY_EMAIL = "query($v: String!) { customerByIdentifier(type: EMAIL, value: $v) { %s } }" % EVERYTHING
BY_ID = "query($id: ID!) { customer(id: $id) { %s } }" % EVERYTHING


def everywhere(dataset: Dataset) -> Person:
    """A person seeded in all four providers with an e-mail in each."""
    return next(
        p
        for p in dataset.persons
        if len(p.providers) == 4
        and p.openloyalty
        and p.openloyalty.view.email
        and p.capillary
        and not p.capillary.victims
    )


def record_ids(person: Person) -> dict[str, str]:
    ids = {}
    if person.capillary:
        ids["CAPILLARY"] = str(person.capillary.customer_id)
    if person.martjack:
        ids["MARTJACK"] = person.martjack.user_id
    if person.openloyalty:
        ids["OPEN_LOYALTY"] = person.openloyalty.customer_id
    if person.twc:
        ids["TWC"] = person.twc.customer_id
    return ids


async def test_a_person_in_all_four_providers_is_one_customer_with_four_records(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    body = await graph.query(BY_EMAIL, {"v": person.email.upper()})
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customerByIdentifier"]
    assert {r["provider"]: r["recordId"] for r in customer["records"]} == record_ids(person)
    assert customer["birthDate"] == person.birth_date.isoformat()
    assert customer["displayName"] == f"{customer['firstName']} {customer['lastName']}"
    emails = {(i["provider"], i["value"]) for i in customer["identifiers"] if i["type"] == "EMAIL"}
    assert ("CAPILLARY", person.email) in emails and ("TWC", person.email) in emails
    mobiles = {i["value"] for i in customer["identifiers"] if i["type"] == "MOBILE"}
    assert mobiles <= {person.mobile}
    programs = {(p["provider"], p["name"]) for p in customer["loyaltyPrograms"]}
    assert {prov for prov, _ in programs} == {"CAPILLARY", "OPEN_LOYALTY"}
    assert {a["provider"] for a in customer["addresses"]} >= {"TWC", "MARTJACK"}
    # The same person by id: the same answer, from the crosswalk.
    again = await graph.query(BY_ID, {"id": customer["id"]})
    assert again["data"]["customer"]["records"] == customer["records"] or (
        {r["recordId"] for r in again["data"]["customer"]["records"]} == set(record_ids(person).values())
    )
    assert again["data"]["customer"]["identifiers"] == customer["identifiers"]


async def test_a_known_person_is_served_from_the_crosswalk_and_loaders_without_repeat_calls(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    first = await graph.query(BY_EMAIL, {"v": person.email})
    await graph.reset_stats()
    await graph.query(BY_ID, {"id": first["data"]["customerByIdentifier"]["id"]})
    # One read per record, whatever the number of fields: lookups are not repeated.
    for provider in (Provider.TWC, Provider.OPEN_LOYALTY, Provider.CAPILLARY):
        stats = await graph.stats(provider)
        assert not any("search" in key or "lookup" in key for key in stats), (provider, stats)


async def test_asking_for_loyalty_only_calls_only_loyalty_providers(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    found = await graph.query(BY_EMAIL, {"v": person.email})
    await graph.reset_stats()
    body = await graph.query(
        "query($id: ID!) { customer(id: $id) { loyaltyPrograms { provider points } } }",
        {"id": found["data"]["customerByIdentifier"]["id"]},
    )
    assert {p["provider"] for p in body["data"]["customer"]["loyaltyPrograms"]} == {"CAPILLARY", "OPEN_LOYALTY"}
    assert await graph.calls(Provider.TWC) == 0
    assert await graph.calls(Provider.MARTJACK) == 0
    assert await graph.calls(Provider.CAPILLARY) >= 1


def null_paths(node: Any, path: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    found: set[tuple[Any, ...]] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found |= null_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if value is None:
                found.add((*path, index))
            else:
                found |= null_paths(value, (*path, index))
    return found


async def test_a_failing_provider_nulls_only_its_own_items_with_typed_errors(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    healthy = (await graph.query(BY_EMAIL, {"v": person.email}))["data"]["customerByIdentifier"]
    await graph.fault(Provider.OPEN_LOYALTY, error_rate=1.0, error_status=503)
    body = await graph.query(BY_ID, {"id": healthy["id"]})
    customer = body["data"]["customer"]
    failed = {("customer", *p) for p in null_paths(customer)}
    # Exactly one null item per Open Loyalty list, and one error on exactly each of those paths.
    assert {path[1] for path in failed} == {"identifiers", "addresses", "subscriptions", "loyaltyPrograms", "records"}
    assert {tuple(e["path"]) for e in body["errors"]} == failed
    assert len(body["errors"]) == len(failed)
    for error in body["errors"]:
        assert error["extensions"] == {"code": "PROVIDER_UNAVAILABLE", "provider": "OPEN_LOYALTY", "retryable": True}
        assert person.email not in error["message"]
    # Everything the other providers hold is still there.
    assert {r["provider"] for r in customer["records"] if r} == {"CAPILLARY", "MARTJACK", "TWC"}
    assert [p for p in customer["loyaltyPrograms"] if p and p["provider"] == "CAPILLARY"]
    assert customer["firstName"] == healthy["firstName"]


async def test_a_provider_down_during_a_first_lookup_is_reported_and_the_rest_answers(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    await graph.fault(Provider.OPEN_LOYALTY, error_rate=1.0, error_status=500)
    body = await graph.query(BY_EMAIL, {"v": person.email})
    customer = body["data"]["customerByIdentifier"]
    assert {r["provider"] for r in customer["records"]} == {"CAPILLARY", "MARTJACK", "TWC"}
    assert [e["extensions"]["provider"] for e in body["errors"]] == ["OPEN_LOYALTY"]
    assert body["errors"][0]["path"] == ["customerByIdentifier"]


async def test_a_hanging_provider_costs_at_most_its_deadline(make_graph: GraphFactory) -> None:
    deadline = 0.6
    graph = await make_graph(policies={"openloyalty": {"deadline": deadline, "max_retries": 0}})
    person = everywhere(graph.dataset)
    found = (await graph.query(BY_EMAIL, {"v": person.email}))["data"]["customerByIdentifier"]
    await graph.fault(Provider.OPEN_LOYALTY, hang=True)
    started = time.perf_counter()
    body = await graph.query(BY_ID, {"id": found["id"]})
    elapsed = time.perf_counter() - started
    assert elapsed < deadline + 0.4
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"PROVIDER_TIMEOUT"}
    assert {r["provider"] for r in body["data"]["customer"]["records"] if r} == {"CAPILLARY", "MARTJACK", "TWC"}


async def test_two_strangers_with_one_name_stay_two_customers(graph: Graph) -> None:
    a, b = (graph.dataset.person(key) for key in graph.dataset.namesakes)
    first = (await graph.query(BY_EMAIL, {"v": a.email}))["data"]["customerByIdentifier"]
    second = (await graph.query(BY_EMAIL, {"v": b.email}))["data"]["customerByIdentifier"]
    assert first["id"] != second["id"]
    assert (first["firstName"], first["lastName"]) == (second["firstName"], second["lastName"])
    assert {r["provider"] for r in first["records"]} == {"CAPILLARY", "TWC"}
    assert {r["provider"] for r in second["records"]} == {"MARTJACK", "OPEN_LOYALTY"}
    page = await graph.query('{ customers(search: "%s", first: 50) { edges { node { id lastName } } } }' % a.last_name)
    ids = {e["node"]["id"] for e in page["data"]["customers"]["edges"]}
    assert {first["id"], second["id"]} <= ids


async def test_a_capillary_merge_victim_resolves_to_its_survivor(graph: Graph) -> None:
    person = next(p for p in graph.dataset.persons if p.capillary and p.capillary.victims)
    assert person.capillary is not None
    victim = person.capillary.victims[0].customer_id
    body = await graph.query(
        '{ customerByRecord(provider: CAPILLARY, recordId: "%s") { id records { provider recordId } } }' % victim
    )
    assert "errors" not in body, body
    records = {r["provider"]: r["recordId"] for r in body["data"]["customerByRecord"]["records"]}
    assert records["CAPILLARY"] == str(person.capillary.customer_id)
    assert record_ids(person).items() >= records.items()


async def test_an_invalid_identifier_is_a_typed_error_and_calls_no_provider(graph: Graph) -> None:
    body = await graph.query('{ customerByIdentifier(type: EMAIL, value: "not-an-email") { id } }')
    assert body["data"] == {"customerByIdentifier": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not-an-email" not in body["errors"][0]["message"]
    for provider in Provider:
        assert await graph.calls(provider) == 0


async def test_an_unknown_person_is_null_without_errors(graph: Graph) -> None:
    body = await graph.query('{ customerByIdentifier(type: EMAIL, value: "nobody@nowhere.example") { id } }')
    assert body == {"data": {"customerByIdentifier": None}}
    assert (await graph.query('{ customer(id: "cus_unknown") { id } }')) == {"data": {"customer": None}}


async def test_a_first_lookup_reads_each_record_once(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    await graph.query(BY_EMAIL, {"v": person.email})
    capillary = await graph.stats(Provider.CAPILLARY)
    assert capillary["GET /v2/customers/{id}"] == 1
    openloyalty = await graph.stats(Provider.OPEN_LOYALTY)
    assert openloyalty["GET /api/{storeCode}/admin/customer/{customer}/status"] == 1
