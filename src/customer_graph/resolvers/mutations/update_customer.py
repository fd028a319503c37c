"""``updateCustomer``: change profile fields wherever the person has a record (a field left out is unchanged,
an explicit null clears it). Each provider gets its own dialect: a Capillary PUT on the configured source,
Martjack's whole-object Update with a customer access token, Open Loyalty's partial PUT, TWC's read-modify-write
of the whole customer. ``address`` changes parts of the customer's own address: an update of only the city
sends Open Loyalty the whole address (read, modify, write), TWC the whole customer, Capillary the city alone
in its extended fields, Martjack the whole customer."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry

from customer_graph.connectors.base import Operation
from customer_graph.domain.models import ADDRESS_PARTS, AddressPatch, ProfilePatch, Provider
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
    CustomerPatch,
    UpdateCustomerError,
    UpdateCustomerErrorCode,
    UpdateCustomerPayload,
)
from customer_graph.writes.steps import encode_patch

KIND = MutationKind("updateCustomer", UpdateCustomerPayload, UpdateCustomerError, UpdateCustomerErrorCode)


async def update_customer(
    info: Info,
    id: strawberry.ID,
    patch: CustomerPatch,
    providers: list[Provider] | None = None,
    idempotency_key: str | None = None,
) -> UpdateCustomerPayload:  # type: ignore[valid-type]
    targets, target_errors = target_providers(info, providers)
    values = {
        name: getattr(patch, name)
        for name in ("first_name", "last_name", "birth_date", "gender")
        if getattr(patch, name) is not strawberry.UNSET
    }
    address = patch.address
    parts = {
        name: getattr(address, name)
        for name in ADDRESS_PARTS
        if address and getattr(address, name) is not strawberry.UNSET
    }

    def validate() -> list[UserError]:
        errors = list(target_errors)
        if address is None:
            errors.append(
                UserError("patch.address", "INVALID", "send the parts to clear as null, or use removeAddress")
            )
        elif address is not strawberry.UNSET and not parts:
            errors.append(UserError("patch.address", "EMPTY_PATCH", "the address patch changes nothing"))
        if not values and address is strawberry.UNSET:
            errors.append(UserError("patch", "EMPTY_PATCH", "the patch changes nothing"))
        blank = [
            f"patch.{name.replace('_n', 'N')}"
            for name in ("first_name", "last_name")
            if isinstance(values.get(name), str) and not values[name].strip()
        ]
        blank += [
            f"patch.address.{name}" for name, value in parts.items() if isinstance(value, str) and not value.strip()
        ]
        errors += [UserError(field, "INVALID", "must not be blank (send null to clear it)") for field in blank]
        birth = values.get("birth_date")
        if isinstance(birth, date) and birth > date.today():
            errors.append(UserError("patch.birthDate", "INVALID", "the birth date is in the future"))
        country = parts.get("country")
        errors += check_country("patch.address.country", country if isinstance(country, str) else None)
        return errors

    async def plan() -> Plan:
        person, errors = await person_or_error(info, id)
        if person is None:
            return Plan(None, errors=errors)
        cleaned: dict[str, Any] = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
        if parts:
            cleaned["address"] = AddressPatch(**{k: v.strip() if isinstance(v, str) else v for k, v in parts.items()})
        args = {"patch": encode_patch(ProfilePatch(**cleaned))}
        return await plan_per_record(info, person, targets, Operation.UPDATE_PROFILE, lambda record: args)

    return await run_mutation(
        info,
        KIND,
        key=key_of(info, idempotency_key),
        validate=validate,
        plan=plan,
        request={"id": id, "patch": {**values, "address": parts} if parts else values, "providers": targets},
    )
