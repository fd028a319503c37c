"""Inputs and payloads of the mutations.

Every mutation answers with its own payload: the resulting ``customer``, one ``ProviderOutcome`` per provider
(what each was asked to do and what happened), the journal's ``writeId`` when providers were called, and
``userErrors`` of the mutation's own error type, whose ``code`` enum lists exactly what can go wrong with
that mutation's input. Invalid input changes nothing anywhere and calls no provider.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, cast

import strawberry

from customer_graph.domain.models import (
    Channel,
    Gender,
    IdentifierType,
    Provider,
    SubscriptionKind,
    SubscriptionStatus,
)
from customer_graph.schema.types import Customer


@strawberry.enum(description="What happened at one provider.")
class OutcomeStatus(Enum):
    APPLIED = "APPLIED"
    SKIPPED = "SKIPPED"  # nothing to do there (no record of this customer, or no change)
    UNSUPPORTED = "UNSUPPORTED"  # the provider has no way to do it (see providers { capabilities })
    FAILED = "FAILED"  # refused for good; see error
    PENDING = "PENDING"  # failed for now, retried in the background (journal); see error


@strawberry.type
class ProviderOutcomeError:
    code: str
    retryable: bool
    message: str


@strawberry.type
class ProviderOutcome:
    provider: Provider
    status: OutcomeStatus
    operation: str | None = strawberry.field(description="The provider operation performed or planned.")
    record_id: strawberry.ID | None
    error: ProviderOutcomeError | None


@strawberry.input(name="AddressInput")
class AddressFields:
    id: strawberry.ID | None = strawberry.field(default=None, description="The provider's address id, to replace one.")
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2")


@strawberry.input(name="SubscriptionInput")
class SubscriptionFields:
    channel: Channel
    kind: SubscriptionKind
    status: SubscriptionStatus


@strawberry.input
class IdentifierInput:
    type: IdentifierType
    value: str


@strawberry.input
class CreateCustomerInput:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    birth_date: date | None = None
    gender: Gender | None = None
    external_id: str | None = None
    card_number: str | None = None
    username: str | None = None
    password: str | None = strawberry.field(default=None, description="Martjack needs one; never stored or logged.")
    address: AddressFields | None = None
    subscriptions: list[SubscriptionFields] | None = None


@strawberry.input(
    name="AddressPatch",
    description="Parts of the customer's own address at each provider (Capillary's "
    "extended fields, Martjack's customer address, Open Loyalty's one address, TWC's default "
    "address): a part left out is unchanged; an explicit null clears it.",
)
class AddressPatchFields:
    line1: str | None = strawberry.UNSET
    line2: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    state: str | None = strawberry.UNSET
    postcode: str | None = strawberry.UNSET
    country: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 3166-1 alpha-2")


@strawberry.input(description="A field left out is unchanged; an explicit null clears it.")
class CustomerPatch:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    birth_date: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    address: AddressPatchFields | None = strawberry.UNSET


@strawberry.enum
class CustomerStatusInput(Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


def _payload(name: str, codes: list[str], description: str) -> tuple[type, type, type]:
    """The error code enum, error type and payload type of one mutation."""
    code_enum: Any = cast(Any, strawberry.enum)(Enum(f"{name}ErrorCode", {c: c for c in codes}))
    error = strawberry.type(
        type(
            f"{name}Error",
            (),
            {
                "__annotations__": {"field": "str | None", "code": code_enum, "message": str},
                "__module__": __name__,
            },
        ),
        description=f"Why the input of {name[0].lower()}{name[1:]} was refused.",
    )
    payload = strawberry.type(
        type(
            f"{name}Payload",
            (),
            {
                "__annotations__": {
                    "customer": Customer | None,
                    "outcomes": list[ProviderOutcome],
                    "user_errors": list[error],  # type: ignore[valid-type]  # made just above
                    "write_id": strawberry.ID | None,
                },
                "__module__": __name__,
            },
        ),
        description=description,
    )
    return code_enum, error, payload


_COMMON = ["NOT_FOUND", "PROVIDER_NOT_CONFIGURED", "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE"]

CreateCustomerErrorCode, CreateCustomerError, CreateCustomerPayload = _payload(
    "CreateCustomer",
    ["REQUIRED", "INVALID_EMAIL", "INVALID_MOBILE", "INVALID", *_COMMON],
    "The customer created, with what each chosen provider did.",
)
UpdateCustomerErrorCode, UpdateCustomerError, UpdateCustomerPayload = _payload(
    "UpdateCustomer", ["INVALID", "EMPTY_PATCH", *_COMMON], "The customer after the update."
)
AddIdentifierErrorCode, AddIdentifierError, AddIdentifierPayload = _payload(
    "AddIdentifier", ["INVALID_EMAIL", "INVALID_MOBILE", "INVALID", *_COMMON], "The customer after the change."
)
RemoveIdentifierErrorCode, RemoveIdentifierError, RemoveIdentifierPayload = _payload(
    "RemoveIdentifier", ["INVALID_EMAIL", "INVALID_MOBILE", "INVALID", *_COMMON], "The customer after the change."
)
UpsertAddressErrorCode, UpsertAddressError, UpsertAddressPayload = _payload(
    "UpsertAddress", ["REQUIRED", "INVALID", *_COMMON], "The customer after the change."
)
RemoveAddressErrorCode, RemoveAddressError, RemoveAddressPayload = _payload(
    "RemoveAddress", ["INVALID", *_COMMON], "The customer after the change."
)
SetSubscriptionsErrorCode, SetSubscriptionsError, SetSubscriptionsPayload = _payload(
    "SetSubscriptions", ["REQUIRED", "DUPLICATE", *_COMMON], "The customer after the change."
)
EnrollInLoyaltyProgramErrorCode, EnrollInLoyaltyProgramError, EnrollInLoyaltyProgramPayload = _payload(
    "EnrollInLoyaltyProgram", ["UNKNOWN_PROGRAM", *_COMMON], "The customer after the enrolment."
)
SetCustomerStatusErrorCode, SetCustomerStatusError, SetCustomerStatusPayload = _payload(
    "SetCustomerStatus", [*_COMMON], "The customer after the change."
)
MergeCustomersErrorCode, MergeCustomersError, MergeCustomersPayload = _payload(
    "MergeCustomers", ["SAME_CUSTOMER", *_COMMON], "The surviving customer; the victim's id now resolves to it."
)
EraseCustomerErrorCode, EraseCustomerError, EraseCustomerPayload = _payload(
    "EraseCustomer", [*_COMMON], "What each provider erased; customer is null once nothing of it remains."
)
