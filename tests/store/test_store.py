"""The store on each backend: crosswalk links and merges, the write journal and its locks, idempotency keys,
the audit log; reopened from what it kept."""

from __future__ import annotations

import asyncio

from customer_graph.domain.models import IdentifierKey, IdentifierType, Provider
from customer_graph.store.base import AuditEvent, ClaimState, JournalStep, RecordKey, StepStatus, WriteStatus
from tests.store.conftest import StoreFactory

CAP = RecordKey(Provider.CAPILLARY, "300000001")
TWC = RecordKey(Provider.TWC, "a-b-c")
OL = RecordKey(Provider.OPEN_LOYALTY, "x-y")
EMAIL = IdentifierKey(IdentifierType.EMAIL, "jane@example.com")


async def test_links_identifiers_and_person_merges_survive_a_reopen(open_store: StoreFactory) -> None:
    store = open_store()
    person = await store.link(None, [TWC, CAP], [(EMAIL, CAP), (EMAIL, TWC)])
    assert person.startswith("cus_")
    assert await store.link(None, [CAP], []) == person  # the id derives from the first record: stable
    other = await store.link(None, [OL], [])
    await store.merge_persons(person, other)
    await store.close()

    store = open_store()
    assert await store.resolve(other) == person
    assert await store.records_of(other) == await store.records_of(person)
    assert set(await store.records_of(person)) == {CAP, TWC, OL}
    assert await store.find_identifiers([EMAIL]) == {EMAIL: [CAP, TWC]}
    assert await store.links([CAP, RecordKey(Provider.MARTJACK, "nobody")]) == {CAP: person}
    assert await store.resolve("cus_unknown") is None


async def test_a_provider_merge_moves_the_link_and_identifiers_to_the_survivor_record(open_store: StoreFactory) -> None:
    store = open_store()
    person = await store.link(None, [CAP], [(EMAIL, CAP)])
    survivor = RecordKey(Provider.CAPILLARY, "300000099")
    await store.replace_record(CAP, survivor)
    assert await store.records_of(person) == [survivor]
    assert await store.find_identifiers([EMAIL]) == {EMAIL: [survivor]}


async def test_unindex_and_unlink_forget_a_record(open_store: StoreFactory) -> None:
    store = open_store()
    person = await store.link(None, [CAP, TWC], [(EMAIL, CAP), (EMAIL, TWC)])
    await store.unindex(EMAIL, CAP)
    assert await store.find_identifiers([EMAIL]) == {EMAIL: [TWC]}
    await store.unlink(TWC)
    assert await store.find_identifiers([EMAIL]) == {}
    assert await store.records_of(person) == [CAP]


async def test_the_journal_records_the_plan_and_each_outcome(open_store: StoreFactory) -> None:
    store = open_store()
    steps = [
        JournalStep(0, Provider.CAPILLARY, "create", {"email": "jane@example.com"}),
        JournalStep(1, Provider.TWC, "create", {"email": "jane@example.com"}),
    ]
    write = await store.begin("createCustomer", None, steps)
    steps[0].status, steps[0].attempts, steps[0].result = StepStatus.APPLIED, 1, {"recordId": "300000001"}
    await store.update_step(write.id, steps[0])
    steps[1].status, steps[1].error_code = StepStatus.IN_FLIGHT, None
    await store.update_step(write.id, steps[1])
    await store.set_person(write.id, "cus_1")
    await store.close()

    store = open_store()
    [pending] = await store.open_writes()
    assert pending.id == write.id and pending.mutation == "createCustomer" and pending.person_id == "cus_1"
    assert [(s.status, s.result) for s in pending.steps] == [
        (StepStatus.APPLIED, {"recordId": "300000001"}),
        (StepStatus.IN_FLIGHT, None),
    ]
    assert pending.steps[0].args == {"email": "jane@example.com"}
    await store.finish(write.id)
    assert await store.open_writes() == []
    finished = await store.get(write.id)
    assert finished is not None and finished.status is WriteStatus.DONE
    assert await store.get("wr_unknown") is None


async def test_a_write_lock_is_held_by_one_holder_at_a_time(open_store: StoreFactory) -> None:
    store = open_store()
    write = await store.begin("createCustomer", None, [], write_id="wr_locked")
    assert write.id == "wr_locked"
    async with store.lock_write(write.id) as held:
        assert held
        async with store.lock_write(write.id) as again:
            assert not again  # not re-entrant, even in the process that holds it
    async with store.lock_write(write.id) as held:
        assert held  # released


async def test_idempotency_claims(open_store: StoreFactory) -> None:
    store = open_store()
    assert (await store.claim("k1", "h1", 60)).state is ClaimState.NEW
    assert (await store.claim("k1", "h1", 60)).state is ClaimState.IN_PROGRESS
    assert (await store.claim("k1", "h2", 60)).state is ClaimState.MISMATCH
    await store.complete("k1", {"data": 1})
    done = await store.claim("k1", "h1", 60)
    assert (done.state, done.response) == (ClaimState.DONE, {"data": 1})
    await store.release("k1")  # a completed key is kept
    assert (await store.claim("k1", "h1", 60)).state is ClaimState.DONE
    assert (await store.claim("k2", "h", 0.05)).state is ClaimState.NEW
    await asyncio.sleep(0.1)
    assert (await store.claim("k2", "other", 60)).state is ClaimState.NEW  # expired keys are forgotten
    await store.release("k2")
    assert (await store.claim("k2", "third", 60)).state is ClaimState.NEW  # a released key is free


async def test_concurrent_claims_of_one_key_make_one_owner(open_store: StoreFactory) -> None:
    store = open_store()
    claims = await asyncio.gather(*(store.claim("shared", "h", 60) for _ in range(8)))
    assert sorted(c.state.value for c in claims) == ["IN_PROGRESS"] * 7 + ["NEW"]


async def test_the_audit_log_keeps_events_newest_first(open_store: StoreFactory) -> None:
    store = open_store()
    await store.audit(AuditEvent("createCustomer", "key:ops", ("cus_1",), "wr_1", "APPLIED", at=100.0))
    await store.audit(AuditEvent("mergeCustomers", "key:ops", ("cus_1", "cus_2"), None, "APPLIED", at=200.0))
    events = await store.audit_events()
    assert [(e.action, e.subjects, e.at) for e in events] == [
        ("mergeCustomers", ("cus_1", "cus_2"), 200.0),
        ("createCustomer", ("cus_1",), 100.0),
    ]
