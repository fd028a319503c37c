"""What applied write steps mean for the crosswalk, recorded as each step lands (also when a write is resumed
after a crash, so that a record created then is linked too): a created record joins its person, a removed
identifier or an erased record is forgotten, an added one is indexed, and a merge leaves the person one record per
provider: the account a native merge absorbed gives way to the one that survived it, the victim of an emulated merge
is let go."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from customer_graph.connectors.base import Operation
from customer_graph.domain.models import IdentifierKey, IdentifierType
from customer_graph.domain.normalise import try_normalise
from customer_graph.store.base import JournalStep, JournalWrite, RecordKey, Store
from customer_graph.writes.executor import AppliedHook
from customer_graph.writes.steps import StepResult


def crosswalk_hook(store: Store) -> AppliedHook:
    # Steps of one write land concurrently; the first created record makes the person, the others join it.
    locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def on_applied(write: JournalWrite, step: JournalStep, result: StepResult) -> None:
        operation = Operation(step.operation)
        if operation is Operation.CREATE and result.record_id:
            record = RecordKey(step.provider, result.record_id)
            keys = _draft_keys(step.args.get("draft") or {})
            async with locks[write.id]:
                person = await store.link(write.person_id, [record], [(k, record) for k in keys])
                if write.person_id is None:
                    write.person_id = person
                    await store.set_person(write.id, person)
        elif operation is Operation.ADD_IDENTIFIER and step.args.get("record_id"):
            # Index the new value, so that a lookup by it is answered from the crosswalk without a fan-out.
            identifier = step.args["identifier"]
            record = RecordKey(step.provider, step.args["record_id"])
            links = await store.links([record])
            if record in links:
                await store.link(
                    links[record],
                    [],
                    [(IdentifierKey(IdentifierType(identifier["type"]), identifier["value"]), record)],
                )
        elif operation is Operation.REMOVE_IDENTIFIER and step.args.get("record_id"):
            identifier = step.args["identifier"]
            await store.unindex(
                IdentifierKey(IdentifierType(identifier["type"]), identifier["value"]),
                RecordKey(step.provider, step.args["record_id"]),
            )
        elif operation is Operation.ERASE and step.args.get("record_id"):
            await store.unlink(RecordKey(step.provider, step.args["record_id"]))
        elif operation is Operation.MERGE and result.record_id:
            # A native merge: the absorbed account answers as the surviving one; the person keeps only that.
            absorbed = (result.details or {}).get("absorbed")
            if absorbed and absorbed != result.record_id:
                await store.replace_record(
                    RecordKey(step.provider, absorbed), RecordKey(step.provider, result.record_id)
                )
            elif step.args.get("victim_id") and step.args["victim_id"] != result.record_id:
                # An emulated merge left the victim's record deactivated or deleted at the provider: the person
                # keeps one record per provider, the survivor's.
                await store.unlink(RecordKey(step.provider, step.args["victim_id"]))

    return on_applied


def _draft_keys(draft: dict[str, object]) -> list[IdentifierKey]:
    keys = []
    for identifier_type, field in ((IdentifierType.EMAIL, "email"), (IdentifierType.MOBILE, "mobile")):
        value = draft.get(field)
        normalised = try_normalise(identifier_type, value) if isinstance(value, str) else None
        if normalised:
            keys.append(IdentifierKey(identifier_type, normalised))
    return keys
