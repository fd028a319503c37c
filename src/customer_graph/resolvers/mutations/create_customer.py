"""``createCustomer``: register one new person at each chosen provider (design.md, "create")."""

from __future__ import annotations

from datetime import date

from customer_graph.connectors.base import Operation
from customer_graph.domain import codec
from customer_graph.domain.models import AddressInput, CustomerDraft, IdentifierType, Provider, SubscriptionInput
from customer_graph.resolvers.mutations.common import (
    MutationKind,
    Plan,
    UserError,
    check_identifier,
    key_of,
    run_mutation,
    target_providers,
)
from customer_graph.schema.context import Info
from customer_graph.schema.mutation_types import (
    CreateCustomerError,
    CreateCustomerErrorCode,
    CreateCustomerInput,
    CreateCustomerPayload,
)
from customer_graph.writes.executor import PlannedStep

KIND = MutationKind("createCustomer", CreateCustomerPayload, CreateCustomerError, CreateCustomerErrorCode)


async def create_customer(
    info: Info, input: CreateCustomerInput, providers: list[Provider] | None = None, idempotency_key: str | None = None
) -> CreateCustomerPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, providers)
    draft, errors = _draft(input)

    def validate() -> list[UserError]:
        found = [*target_errors, *errors]
        if draft is not None and not found:
            connectors = info.context.gateway.connectors
            for provider in targets:
                for group in connectors[provider].create_requires:
                    if not any(getattr(draft, name) for name in group):
                        found.append(
                            UserError(
                                f"input.{_camel(group[0])}",
                                "REQUIRED",
                                f"{provider.name} needs {' or '.join(_camel(n) for n in group)} to create a customer",
                            )
                        )
        return found

    async def plan() -> Plan:
        assert draft is not None
        args = {"draft": codec.encode(draft)}
        return Plan(None, [PlannedStep(p, Operation.CREATE, args) for p in targets])

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"input": input, "providers": targets},
    )


def _draft(input: CreateCustomerInput) -> tuple[CustomerDraft | None, list[UserError]]:
    errors: list[UserError] = []
    email = mobile = None
    if input.email is not None:
        email, found = check_identifier("input.email", IdentifierType.EMAIL, input.email)
        errors += found
    if input.mobile is not None:
        mobile, found = check_identifier("input.mobile", IdentifierType.MOBILE, input.mobile)
        errors += found
    if input.birth_date is not None and input.birth_date > date.today():
        errors.append(UserError("input.birthDate", "INVALID", "the birth date is in the future"))
    for name in ("first_name", "last_name"):
        value = getattr(input, name)
        if value is not None and not value.strip():
            errors.append(UserError(f"input.{_camel(name)}", "INVALID", "must not be blank"))
    if errors:
        return None, errors
    address = input.address
    return CustomerDraft(
        first_name=_clean(input.first_name),
        last_name=_clean(input.last_name),
        email=email,
        mobile=mobile,
        birth_date=input.birth_date,
        gender=input.gender,
        external_id=_clean(input.external_id),
        card_number=_clean(input.card_number),
        username=_clean(input.username),
        password=input.password,
        address=AddressInput(
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            state=address.state,
            postcode=address.postcode,
            country=address.country,
        )
        if address
        else None,
        subscriptions=tuple(SubscriptionInput(s.channel, s.kind, s.status) for s in input.subscriptions or ()),
    ), []


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
