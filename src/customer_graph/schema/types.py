"""The GraphQL types. Declarative: fields and their thin resolvers; the work happens in ``resolvers``.

Provider-owned list items (identifiers, addresses, subscriptions, loyalty programs, records) are nullable:
when a provider that holds part of a customer fails, its share of each list is one ``null`` item with an
error at exactly that path, and everything the other providers said is still there.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from customer_graph.connectors.base import Operation, Support
from customer_graph.connectors.http import CircuitState
from customer_graph.domain.models import (
    Channel,
    CustomerStatus,
    Facet,
    Gender,
    IdentifierType,
    Provider,
    SubscriptionKind,
    SubscriptionStatus,
)
from customer_graph.resolvers import customer as fields
from customer_graph.schema.context import Info
from customer_graph.schema.masking import MaskConflictValues, MaskIdentifierValue, NullWithoutPii

# The domain enums, exposed under their own names (GraphQL values are the member names).
ProviderEnum = strawberry.enum(Provider, name="Provider", description="A customer data provider.")
IdentifierTypeEnum = strawberry.enum(IdentifierType, name="IdentifierType")
GenderEnum = strawberry.enum(Gender, name="Gender")
CustomerStatusEnum = strawberry.enum(CustomerStatus, name="CustomerStatus")
ChannelEnum = strawberry.enum(Channel, name="Channel")
SubscriptionKindEnum = strawberry.enum(SubscriptionKind, name="SubscriptionKind")
SubscriptionStatusEnum = strawberry.enum(SubscriptionStatus, name="SubscriptionStatus")
OperationEnum = strawberry.enum(
    Operation, name="Operation", description="A read or write operation, as in design.md's write table."
)
SupportEnum = strawberry.enum(Support, name="Support")
CircuitStateEnum = strawberry.enum(CircuitState, name="CircuitState")


@strawberry.enum(description="A provider's health as the gateway sees it, from its circuit breaker.")
class ProviderHealth(Enum):
    UP = "UP"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"


@strawberry.interface(description="An object with a globally unique id.")
class Node:
    id: strawberry.ID


@strawberry.type(description="An identifier one provider holds for the customer, normalised.")
class Identifier:
    type: IdentifierType
    value: str = strawberry.field(
        extensions=[MaskIdentifierValue()],
        description=(
            "Masked for e-mail, mobile, username, WeChat and LINE identifiers without the customers:pii scope."
        ),
    )
    provider: Provider
    source: str | None = strawberry.field(description="The Capillary source holding it, where it applies.")


@strawberry.type(description="Lines, city, state and postcode are null without the customers:pii scope.")
class Address:
    provider: Provider
    id: strawberry.ID | None
    line1: str | None = strawberry.field(extensions=[NullWithoutPii()])
    line2: str | None = strawberry.field(extensions=[NullWithoutPii()])
    city: str | None = strawberry.field(extensions=[NullWithoutPii()])
    state: str | None = strawberry.field(extensions=[NullWithoutPii()])
    postcode: str | None = strawberry.field(extensions=[NullWithoutPii()])
    country: str | None
    is_default: bool


@strawberry.type
class Subscription:
    provider: Provider
    channel: Channel
    kind: SubscriptionKind
    status: SubscriptionStatus


@strawberry.type
class LoyaltyProgram:
    provider: Provider
    program_id: strawberry.ID
    name: str
    points: float
    lifetime_points: float | None
    redeemed_points: float | None
    expired_points: float | None
    tier: str | None
    next_tier: str | None
    points_expiry: date | None


@strawberry.type(description="One provider's record linked to the customer.")
class CustomerRecord:
    provider: Provider
    record_id: strawberry.ID
    source: str | None
    account: str | None
    fetched_at: datetime


@strawberry.type
class ConflictValue:
    provider: Provider
    value: str


@strawberry.type(description="A field on which the providers disagree; the unified field shows the survivor.")
class Conflict:
    field: str
    values: list[ConflictValue] = strawberry.field(
        extensions=[MaskConflictValues()], description="Masked for birthDate without the customers:pii scope."
    )


@strawberry.federation.type(keys=["id"], description="A person, unified across every provider that knows them.")
class Customer(Node):
    id: strawberry.ID
    person_id: strawberry.Private[str]
    facets: strawberry.Private[frozenset[Facet]]
    memo: strawberry.Private[dict[object, object]]

    first_name: str | None = strawberry.field(resolver=fields.first_name)
    last_name: str | None = strawberry.field(resolver=fields.last_name)
    display_name: str | None = strawberry.field(resolver=fields.display_name)
    birth_date: date | None = strawberry.field(
        resolver=fields.birth_date, extensions=[NullWithoutPii()], description="Null without the customers:pii scope."
    )
    gender: Gender | None = strawberry.field(resolver=fields.gender)
    status: CustomerStatus | None = strawberry.field(resolver=fields.status)
    identifiers: list[Identifier | None] = strawberry.field(resolver=fields.identifiers)
    addresses: list[Address | None] = strawberry.field(resolver=fields.addresses)
    subscriptions: list[Subscription | None] = strawberry.field(resolver=fields.subscriptions)
    loyalty_programs: list[LoyaltyProgram | None] = strawberry.field(resolver=fields.loyalty_programs)
    records: list[CustomerRecord | None] = strawberry.field(resolver=fields.records)
    conflicts: list[Conflict] = strawberry.field(resolver=fields.conflicts)

    @classmethod
    def of(cls, person_id: str, facets: frozenset[Facet]) -> Customer:
        return cls(id=strawberry.ID(person_id), person_id=person_id, facets=facets, memo={})

    @classmethod
    async def resolve_reference(cls, id: strawberry.ID, info: Info) -> Customer | None:
        """Federation ``_entities``: N references cost no calls here; their fields load through the same
        per-request loaders as any other customers, so they are batched together."""
        customer: Customer | None = await fields.reference(id, info)
        return customer


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="Matching records across the providers searched: an upper bound on distinct customers "
        "(a person found in two providers counts twice); null when a provider does not say."
    )


@strawberry.type
class Capability:
    operation: Operation
    support: Support


@strawberry.type
class ProviderInfo:
    name: Provider
    health: ProviderHealth
    circuit_state: CircuitState
    capabilities: list[Capability]
