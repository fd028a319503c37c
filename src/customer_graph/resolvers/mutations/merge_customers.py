"""``mergeCustomers``: two persons are one. Where both have a record, the provider merges them its own way
(Capillary natively through changeIdentifier; Martjack and Open Loyalty deactivate the victim; TWC copies what
the survivor lacks and deletes the victim). The crosswalk moves the victim's records to the survivor at once,
and the victim's id resolves to the survivor from then on. The audit log records who, when and what."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation, Support
from customer_graph.resolvers.mutations.common import (
    MutationKind,
    Plan,
    Result,
    UserError,
    key_of,
    person_or_error,
    run_mutation,
)
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import MergeCustomersError, MergeCustomersErrorCode, MergeCustomersPayload
from customer_graph.store.base import AuditEvent
from customer_graph.writes.executor import Outcome, PlannedStep

KIND = MutationKind("mergeCustomers", MergeCustomersPayload, MergeCustomersError, MergeCustomersErrorCode)


async def merge_customers(
    info: Info, survivor_id: strawberry.ID, victim_id: strawberry.ID, idempotency_key: str | None = None
) -> MergeCustomersPayload:  # type: ignore[valid-type]
    gateway = info.context.gateway

    def validate() -> list[UserError]:
        if survivor_id == victim_id:
            return [UserError("victimId", "SAME_CUSTOMER", "a customer cannot be merged into itself")]
        return []

    async def plan() -> Plan:
        survivor, errors = await person_or_error(info, survivor_id, "survivorId")
        victim, victim_errors = await person_or_error(info, victim_id, "victimId")
        if survivor is None or victim is None:
            return Plan(None, errors=[*errors, *victim_errors])
        if survivor == victim:
            return Plan(survivor, errors=[UserError("victimId", "SAME_CUSTOMER", "these ids are one customer")])
        kept = {k.provider: k for k in await gateway.store.records_of(survivor)}
        gone = {k.provider: k for k in await gateway.store.records_of(victim)}
        result = Plan(survivor)
        for provider, connector in gateway.connectors.items():
            if provider not in kept or provider not in gone:
                # Only one of them is known there: nothing to merge at the provider; the crosswalk does it.
                record = kept.get(provider) or gone.get(provider)
                result.local.append(
                    Outcome(provider, "SKIPPED", Operation.MERGE.value, record.record_id if record else None)
                )
            elif connector.capabilities.get(Operation.MERGE, Support.UNSUPPORTED) is Support.UNSUPPORTED:
                result.local.append(Outcome(provider, "UNSUPPORTED", Operation.MERGE.value))
            else:
                result.steps.append(
                    PlannedStep(
                        provider,
                        Operation.MERGE,
                        {"survivor_id": kept[provider].record_id, "victim_id": gone[provider].record_id},
                    )
                )
        # The persons are one from now on, whatever the providers answer (their steps are journaled).
        await gateway.store.merge_persons(survivor, victim)
        return result

    async def after(result: Result) -> str | None:
        if result.person_id is not None:
            await gateway.store.audit(
                AuditEvent(
                    action="mergeCustomers",
                    actor=actor_of(info),
                    subjects=(result.person_id, str(victim_id)),
                    write_id=result.write_id,
                    outcome=",".join(f"{o.provider.name}:{o.status}" for o in result.outcomes),
                )
            )
        return result.person_id

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        after=after,
        request={"survivorId": survivor_id, "victimId": victim_id},
    )


def actor_of(info: Info) -> str:
    """Who asked: the authenticated client's id where there is one (never a credential)."""
    principal = getattr(info.context, "principal", None)
    return str(getattr(principal, "client_id", None) or "anonymous")
