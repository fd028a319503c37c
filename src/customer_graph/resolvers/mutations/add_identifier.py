"""``addIdentifier``: give the person a new identifier where the provider can hold it (Capillary's
changeIdentifier, which may merge; Open Loyalty and TWC field updates; Martjack's UserName cannot change)."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.domain.models import Provider
from customer_graph.resolvers.mutations.common import (
    MutationKind,
    Plan,
    UserError,
    check_identifier,
    key_of,
    person_or_error,
    plan_per_record,
    run_mutation,
    target_providers,
)
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import (
    AddIdentifierError,
    AddIdentifierErrorCode,
    AddIdentifierPayload,
    IdentifierInput,
)

KIND = MutationKind("addIdentifier", AddIdentifierPayload, AddIdentifierError, AddIdentifierErrorCode)


async def add_identifier(
    info: Info,
    id: strawberry.ID,
    identifier: IdentifierInput,
    providers: list[Provider] | None = None,
    idempotency_key: str | None = None,
) -> AddIdentifierPayload:  # type: ignore[valid-type]
    return await change_identifier(info, KIND, Operation.ADD_IDENTIFIER, id, identifier, providers, idempotency_key)


async def change_identifier(
    info: Info,
    kind: MutationKind,
    operation: Operation,
    id: strawberry.ID,
    identifier: IdentifierInput,
    providers: list[Provider] | None,
    idempotency_key: str | None,
) -> object:
    """Shared by add and remove: the same validation and plan, a different operation."""
    targets, target_errors = target_providers(info, providers)
    value, value_errors = check_identifier("identifier.value", identifier.type, identifier.value)

    def validate() -> list[UserError]:
        return [*target_errors, *value_errors]

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        return await plan_per_record(
            info,
            person,
            targets,
            operation,
            lambda record: {
                "identifier": {
                    "type": identifier.type.value,
                    "value": value,
                    "provider": record.provider.value,
                    "source": None,
                }
            },
        )

    return await run_mutation(
        info,
        kind,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "identifier": identifier, "providers": targets},
    )
