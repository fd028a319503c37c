"""The SQLite store: crosswalk links and merges, the write journal, idempotency keys; reopened from its file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from customer_graph.domain.models import IdentifierKey, IdentifierType, Provider
from customer_graph.store.base import ClaimState, JournalStep, RecordKey, StepStatus, WriteStatus
from customer_graph.store.sqlite import SqliteStore

CAP = RecordKey(Provider.CAPILLARY, "300000001")
TWC = RecordKey(Provider.TWC, "a-b-c")
OL = RecordKey(Provider.OPEN_LOYALTY, "x-y")
EMAIL = IdentifierKey(IdentifierType.EMAIL, "jane@example.com")


async def test_links_identifiers_and_person_merges_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    person = await store.link(None, [TWC, CAP], [(EMAIL, CAP), (EMAIL, TWC)])
    assert person.startswith("cus_")
    assert await store.link(None, [CAP], []) == person  # the id derives from the first record: stable
    other = await store.link(None, [OL], [])
    await store.merge_persons(person, other)
    await store.close()

    store = SqliteStore(path)
    assert await store.resolve(other) == person
    assert await store.records_of(other) == await store.records_of(person)
    assert set(await store.records_of(person)) == {CAP, TWC, OL}
    assert await store.find_identifiers([EMAIL]) == {EMAIL: [CAP, TWC]}
    assert await store.links([CAP, RecordKey(Provider.MARTJACK, "nobody")]) == {CAP: person}
    assert await store.resolve("cus_unknown") is None


async def test_a_provider_merge_moves_the_link_and_identifiers_to_the_survivor_record() -> None:
    store = SqliteStore()
    person = await store.link(None, [CAP], [(EMAIL, CAP)])
    survivor = RecordKey(Provider.CAPILLARY, "300000099")
    await store.replace_record(CAP, survivor)
    assert await store.records_of(person) == [survivor]
    assert await store.find_identifiers([EMAIL]) == {EMAIL: [survivor]}


async def test_the_journal_records_the_plan_and_each_outcome(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    store = SqliteStore(path)
    steps = [JournalStep(0, Provider.CAPILLARY, "create", {"email": "jane@example.com"}),
             JournalStep(1, Provider.TWC, "create", {"email": "jane@example.com"})]
    write = await store.begin("createCustomer", None, steps)
    steps[0].status, steps[0].attempts, steps[0].result = StepStatus.APPLIED, 1, {"recordId": "300000001"}
    await store.update_step(write.id, steps[0])
    steps[1].status, steps[1].error_code = StepStatus.IN_FLIGHT, None
    await store.update_step(write.id, steps[1])
    await store.close()

    store = SqliteStore(path)
    [pending] = await store.open_writes()
    assert pending.id == write.id and pending.mutation == "createCustomer"
    assert [(s.status, s.result) for s in pending.steps] == [(StepStatus.APPLIED, {"recordId": "300000001"}),
                                                             (StepStatus.IN_FLIGHT, None)]
    await store.finish(write.id)
    assert await store.open_writes() == []
    finished = await store.get(write.id)
    assert finished is not None and finished.status is WriteStatus.DONE


async def test_idempotency_claims() -> None:
    store = SqliteStore()
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
