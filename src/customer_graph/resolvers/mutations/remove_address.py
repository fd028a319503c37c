"""``removeAddress``: remove one provider's address (addresses are per provider: the id is that provider's)."""

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
from customer_graph.schema.mutation_types import RemoveAddressError, RemoveAddressErrorCode, RemoveAddressPayload

KIND = MutationKind("removeAddress", RemoveAddressPayload, RemoveAddressError, RemoveAddressErrorCode)


async def remove_address(
    info: Info, id: strawberry.ID, provider: Provider, address_id: strawberry.ID, idempotency_key: str | None = None
) -> RemoveAddressPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, [provider])

    def validate() -> list[UserError]:
        errors = list(target_errors)
        if not str(address_id).strip():
            errors.append(UserError("addressId", "INVALID", "must not be empty"))
        return errors

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        return await plan_per_record(
            info, person, targets, Operation.REMOVE_ADDRESS, lambda record: {"address_id": str(address_id)}
        )

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "provider": provider, "addressId": address_id},
    )
