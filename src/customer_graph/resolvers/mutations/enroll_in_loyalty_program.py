"""``enrollInLoyaltyProgram``: enrol the person in one provider's program (Capillary's
loyaltyProgramEnrollments; Open Loyalty's level assignment). Unknown programs are refused without a call."""

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
    EnrollInLoyaltyProgramError,
    EnrollInLoyaltyProgramErrorCode,
    EnrollInLoyaltyProgramPayload,
)

KIND = MutationKind(
    "enrollInLoyaltyProgram",
    EnrollInLoyaltyProgramPayload,
    EnrollInLoyaltyProgramError,
    EnrollInLoyaltyProgramErrorCode,
)


async def enroll_in_loyalty_program(
    info: Info, id: strawberry.ID, provider: Provider, program_id: strawberry.ID, idempotency_key: str | None = None
) -> EnrollInLoyaltyProgramPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, [provider])

    def validate() -> list[UserError]:
        errors = list(target_errors)
        known = info.context.gateway.programs.get(provider)
        if known is not None and str(program_id) not in known:
            errors.append(UserError("programId", "UNKNOWN_PROGRAM", f"{provider.name} runs no such program"))
        return errors

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        return await plan_per_record(
            info, person, targets, Operation.ENROLL_LOYALTY, lambda record: {"program_id": str(program_id)}
        )

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "provider": provider, "programId": program_id},
    )
