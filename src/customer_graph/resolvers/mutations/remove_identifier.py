"""``removeIdentifier``: take an identifier away where the provider allows (the crosswalk forgets it too)."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.domain.models import Provider
from customer_graph.resolvers.mutations.add_identifier import change_identifier
from customer_graph.resolvers.mutations.common import MutationKind
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import (
    IdentifierInput,
    RemoveIdentifierError,
    RemoveIdentifierErrorCode,
    RemoveIdentifierPayload,
)

KIND = MutationKind("removeIdentifier", RemoveIdentifierPayload, RemoveIdentifierError, RemoveIdentifierErrorCode)


async def remove_identifier(
    info: Info,
    id: strawberry.ID,
    identifier: IdentifierInput,
    providers: list[Provider] | None = None,
    idempotency_key: str | None = None,
) -> RemoveIdentifierPayload:  # type: ignore[valid-type]
    return await change_identifier(info, KIND, Operation.REMOVE_IDENTIFIER, id, identifier, providers, idempotency_key)
