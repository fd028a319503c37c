"""One provider step of a write: what it calls, with arguments that survive a trip through the journal.

A step's ``args`` are plain JSON (the journal stores them before the first provider call), and ``run``
turns them back into domain values and calls the connector. ``reconcile`` answers, for a step whose outcome
was lost (the process died while it was in flight), whether the provider already applied it, so that a
resumed write never applies anything twice: a create is looked for by its identifiers before it is resent;
the other steps set state (the same address, the same consent, the same status) and are safe to resend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from customer_graph.connectors.base import Connector, Operation, Support
from customer_graph.domain import codec
from customer_graph.domain.models import (
    AddressInput,
    AddressPatch,
    CustomerDraft,
    Facet,
    Gender,
    Identifier,
    IdentifierKey,
    IdentifierType,
    ProfilePatch,
    ProviderRecord,
    SubscriptionInput,
    WriteResult,
)

Args = dict[str, Any]


@dataclass(frozen=True)
class StepResult:
    operation: str  # what the provider did, as the connector names it
    record_id: str | None = None
    details: dict[str, str] | None = None
    changed: bool = True  # False: the provider already stood as asked, nothing was written

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# -- domain values <-> journal JSON (``domain.codec``; a patch keeps only the fields it sets) ---------------


def encode_patch(patch: ProfilePatch) -> Args:
    changed = patch.changed()
    if isinstance(patch.address, AddressPatch):
        changed["address"] = patch.address.changed()
    encoded: Args = codec.encode(changed)
    return encoded


def decode_patch(data: Args) -> ProfilePatch:
    hints: dict[str, Any] = {"first_name": str, "last_name": str, "birth_date": date, "gender": Gender}
    values: dict[str, Any] = {k: codec.decode(hints[k] | None, v) for k, v in data.items() if k != "address"}
    if "address" in data:  # parts are strings, or None to clear
        values["address"] = AddressPatch(**{k: v if isinstance(v, str) else None for k, v in data["address"].items()})
    return ProfilePatch(**values)


# -- running a step ----------------------------------------------------------------------------------------


def _result(write: WriteResult, record_id: str | None = None) -> StepResult:
    rid = record_id or (write.record.record_id if write.record else None)
    return StepResult(write.operation, rid, dict(write.details) or None, write.changed)


def forget_secrets(args: Args) -> Args:
    """A step's arguments once it has landed: a create never runs again, so the password it carried (Martjack
    needs one) is not kept in the journal a moment longer than the write needs it."""
    draft = args.get("draft")
    if isinstance(draft, dict) and draft.get("password") is not None:
        return {**args, "draft": {**draft, "password": None}}
    return args


async def run_step(connector: Connector, operation: str, args: Args) -> StepResult:
    """Perform one journaled step at its provider."""
    op = Operation(operation)
    if op is Operation.CREATE:
        return _result(await connector.create(codec.decode(CustomerDraft, args["draft"])))
    if op is Operation.MERGE:
        merged = await connector.merge(args["survivor_id"], args["victim_id"])
        # A provider that merges natively decides which account survives, and the other one answers as it from
        # now on: say which, so that the crosswalk keeps one record of the person there, not two.
        native = connector.capabilities.get(Operation.MERGE) is Support.NATIVE
        return StepResult(merged.operation, merged.survivor_id, {"absorbed": merged.victim_id} if native else None)
    record_id: str = args["record_id"]
    if op is Operation.UPDATE_PROFILE:
        return _result(await connector.update_profile(record_id, decode_patch(args["patch"])), record_id)
    if op is Operation.ADD_IDENTIFIER:
        identifier = codec.decode(Identifier, args["identifier"])
        return _result(await connector.add_identifier(record_id, identifier), record_id)
    if op is Operation.REMOVE_IDENTIFIER:
        identifier = codec.decode(Identifier, args["identifier"])
        return _result(await connector.remove_identifier(record_id, identifier), record_id)
    if op is Operation.UPSERT_ADDRESS:
        address = codec.decode(AddressInput, args["address"])
        return _result(await connector.upsert_address(record_id, address), record_id)
    if op is Operation.REMOVE_ADDRESS:
        return _result(await connector.remove_address(record_id, args["address_id"]), record_id)
    if op is Operation.SET_SUBSCRIPTIONS:
        subscriptions = codec.decode(list[SubscriptionInput], args["subscriptions"])
        return _result(await connector.set_subscriptions(record_id, subscriptions), record_id)
    if op is Operation.ENROLL_LOYALTY:
        return _result(await connector.enroll_in_loyalty_program(record_id, args["program_id"]), record_id)
    if op is Operation.SET_STATUS:
        return _result(await connector.set_status(record_id, bool(args["active"])), record_id)
    if op is Operation.ERASE:
        return _result(await connector.erase(record_id), record_id)
    raise ValueError(f"no step runs {operation}")


async def reconcile_step(connector: Connector, operation: str, args: Args) -> StepResult | None:
    """For a step whose outcome was lost: the result if the provider already applied it, else None.

    Only a create can be applied twice by resending it; it is looked for by the identifiers it carried.
    """
    if Operation(operation) is not Operation.CREATE:
        return None
    draft = codec.decode(CustomerDraft, args["draft"])
    keys = [
        IdentifierKey(t, v)
        for t, v in (
            (IdentifierType.EMAIL, draft.email),
            (IdentifierType.MOBILE, draft.mobile),
            (IdentifierType.EXTERNAL_ID, draft.external_id),
            (IdentifierType.USERNAME, draft.username),
        )
        if v and t in connector.lookup_types
    ]
    if not keys:
        return None
    slots = await connector.find_by_identifiers(keys, frozenset({Facet.PROFILE}))
    for slot in slots:
        if isinstance(slot, ProviderRecord):
            return StepResult("create (found after an interrupted call)", slot.record_id)
        if isinstance(slot, Exception):
            raise slot
    return None
