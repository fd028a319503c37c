"""``setSubscriptions``: consents per channel and kind, in each provider's terms (Capillary OPTIN/OPTOUT x
TRANS/BULK x channel; Martjack IsReceiveOffers; Open Loyalty agreement2/3; TWC accepts_marketing)."""

from __future__ import annotations

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.domain import codec
from customer_graph.domain.models import Provider, SubscriptionInput
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
    SetSubscriptionsError,
    SetSubscriptionsErrorCode,
    SetSubscriptionsPayload,
    SubscriptionFields,
)

KIND = MutationKind("setSubscriptions", SetSubscriptionsPayload, SetSubscriptionsError, SetSubscriptionsErrorCode)


async def set_subscriptions(
    info: Info,
    id: strawberry.ID,
    subscriptions: list[SubscriptionFields],
    providers: list[Provider] | None = None,
    idempotency_key: str | None = None,
) -> SetSubscriptionsPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, providers)
    wanted = [SubscriptionInput(s.channel, s.kind, s.status) for s in subscriptions]

    def validate() -> list[UserError]:
        errors = list(target_errors)
        if not wanted:
            errors.append(UserError("subscriptions", "REQUIRED", "give at least one subscription"))
        pairs = [(s.channel, s.kind) for s in wanted]
        if len(set(pairs)) != len(pairs):
            errors.append(UserError("subscriptions", "DUPLICATE", "one status per channel and kind"))
        return errors

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        args = {"subscriptions": codec.encode(wanted)}
        return await plan_per_record(info, person, targets, Operation.SET_SUBSCRIPTIONS, lambda record: args)

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "subscriptions": subscriptions, "providers": targets},
    )
