"""``eraseCustomer`` (GDPR erasure): each provider's own erasure (Open Loyalty anonymize, TWC delete, Martjack
deactivation; Capillary offers none: UNSUPPORTED, reported so that it can be handled there). The crosswalk
forgets every erased record and its identifiers; the audit log keeps who, when and what, without data."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.resolvers.mutations.common import (
    MutationKind,
    Plan,
    Result,
    UserError,
    key_of,
    person_or_error,
    plan_per_record,
    run_mutation,
)
from customer_graph.resolvers.mutations.merge_customers import actor_of
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import EraseCustomerError, EraseCustomerErrorCode, EraseCustomerPayload
from customer_graph.store.base import AuditEvent

KIND = MutationKind("eraseCustomer", EraseCustomerPayload, EraseCustomerError, EraseCustomerErrorCode)


async def erase_customer(info: Info, id: strawberry.ID, idempotency_key: str | None = None) -> EraseCustomerPayload:  # type: ignore[valid-type]
    gateway = info.context.gateway

    def validate() -> list[UserError]:
        return []

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        return await plan_per_record(info, person, list(gateway.connectors), Operation.ERASE, lambda record: {})

    async def after(result: Result) -> str | None:
        if result.person_id is not None:
            await gateway.store.audit(
                AuditEvent(
                    action="eraseCustomer",
                    actor=actor_of(info),
                    subjects=(result.person_id,),
                    write_id=result.write_id,
                    outcome=",".join(f"{o.provider.name}:{o.status}" for o in result.outcomes),
                )
            )
        remaining = await gateway.store.records_of(result.person_id) if result.person_id else []
        return result.person_id if remaining else None

    return await run_mutation(
        info, KIND, key=key_of(info, idempotency_key), validate=validate, plan=plan, after=after, request={"id": id}
    )
