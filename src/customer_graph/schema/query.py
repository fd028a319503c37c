"""The root ``Query`` type."""

from __future__ import annotations

import strawberry

from customer_graph.resolvers import queries
from customer_graph.schema.types import Customer, CustomerConnection, Node, ProviderInfo


@strawberry.type
class Query:
    customer: Customer | None = strawberry.field(
        resolver=queries.customer, description="A customer by its id (a merged id resolves to the survivor)."
    )
    customer_by_identifier: Customer | None = strawberry.field(
        resolver=queries.customer_by_identifier,
        description="The customer holding this identifier at any provider. An identifier the gateway has not "
        "seen is looked up at every provider, and what is found is linked.",
    )
    customer_by_record: Customer | None = strawberry.field(
        resolver=queries.customer_by_record,
        description="The customer holding this provider record (a provider's merge victim resolves to its survivor).",
    )
    customers: CustomerConnection = strawberry.field(
        resolver=queries.customers,
        description="Customers whose names or identifiers match the search text at any provider.",
    )
    node: Node | None = strawberry.field(resolver=queries.node)
    providers: list[ProviderInfo] = strawberry.field(resolver=queries.providers)
