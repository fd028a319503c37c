"""``setCustomerStatus``: activate or deactivate the person's records (Martjack Activation/DeActivation, Open
Loyalty activate/deactivate, TWC ``active`` via PUT; Capillary has no such operation)."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.domain.models import Provider
from customer_graph.resolvers.mutations.common import (
    MutationKind,
    Plan,
    UserError,
    key_of,
    person_or_error,
    plan_per_record,
    run_mutation,
    target_providers,
)
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import (
    CustomerStatusInput,
    SetCustomerStatusError,
    SetCustomerStatusErrorCode,
    SetCustomerStatusPayload,
)

KIND = MutationKind("setCustomerStatus", SetCustomerStatusPayload, SetCustomerStatusError, SetCustomerStatusErrorCode)


async def set_customer_status(
    info: Info,
    id: strawberry.ID,
    status: CustomerStatusInput,
    providers: list[Provider] | None = None,
    idempotency_key: str | None = None,
) -> SetCustomerStatusPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, providers)

    def validate() -> list[UserError]:
        return list(target_errors)

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        args = {"active": status is CustomerStatusInput.ACTIVE}
        return await plan_per_record(info, person, targets, Operation.SET_STATUS, lambda record: args)

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "status": status, "providers": targets},
    )
