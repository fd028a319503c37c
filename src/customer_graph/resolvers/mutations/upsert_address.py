"""``upsertAddress``: add an address, or replace the one named by ``id``, in each provider's dialect (Open
Loyalty's single address replaced whole, TWC's address endpoint or whole-object PUT, Martjack's
AddShippingAddress, Capillary's extended fields)."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.domain import codec
from customer_graph.domain.models import ADDRESS_PARTS, AddressInput, Provider
from customer_graph.resolvers.mutations.common import (
    MutationKind,
    Plan,
    UserError,
    check_country,
    key_of,
    person_or_error,
    plan_per_record,
    run_mutation,
    target_providers,
)
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import (
    AddressFields,
    UpsertAddressError,
    UpsertAddressErrorCode,
    UpsertAddressPayload,
)

KIND = MutationKind("upsertAddress", UpsertAddressPayload, UpsertAddressError, UpsertAddressErrorCode)


async def upsert_address(
    info: Info,
    id: strawberry.ID,
    address: AddressFields,
    providers: list[Provider] | None = None,
    idempotency_key: str | None = None,
) -> UpsertAddressPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, providers)
    parts = {name: (getattr(address, name) or "").strip() or None for name in ADDRESS_PARTS}

    def validate() -> list[UserError]:
        errors = list(target_errors)
        if not any(parts.values()):
            errors.append(UserError("address", "REQUIRED", "an address needs at least one part"))
        errors += check_country("address.country", parts["country"])
        return errors

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        args = {"address": codec.encode(AddressInput(id=address.id, **parts))}
        return await plan_per_record(info, person, targets, Operation.UPSERT_ADDRESS, lambda record: args)

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "address": address, "providers": targets},
    )
