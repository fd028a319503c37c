"""The root ``Mutation`` type: one field per mutation, each resolved by its own module."""

from __future__ import annotations

import strawberry

from customer_graph.resolvers.mutations.add_identifier import add_identifier
from customer_graph.resolvers.mutations.create_customer import create_customer
from customer_graph.resolvers.mutations.enroll_in_loyalty_program import enroll_in_loyalty_program
from customer_graph.resolvers.mutations.erase_customer import erase_customer
from customer_graph.resolvers.mutations.merge_customers import merge_customers
from customer_graph.resolvers.mutations.remove_address import remove_address
from customer_graph.resolvers.mutations.remove_identifier import remove_identifier
from customer_graph.resolvers.mutations.set_customer_status import set_customer_status
from customer_graph.resolvers.mutations.set_subscriptions import set_subscriptions
from customer_graph.resolvers.mutations.update_customer import update_customer
from customer_graph.resolvers.mutations.upsert_address import upsert_address

_KEY = (
    "Every mutation takes an idempotencyKey (or the Idempotency-Key header): the same key with the same input "
    "returns the stored result without calling any provider; with a different input it is refused."
)


@strawberry.type(description=_KEY)
class Mutation:
    create_customer = strawberry.mutation(
        resolver=create_customer, description="Create one person at each chosen provider (default: all)."
    )
    update_customer = strawberry.mutation(
        resolver=update_customer, description="Change profile fields; left out: unchanged; null: cleared."
    )
    add_identifier = strawberry.mutation(resolver=add_identifier)
    remove_identifier = strawberry.mutation(resolver=remove_identifier)
    upsert_address = strawberry.mutation(resolver=upsert_address)
    remove_address = strawberry.mutation(resolver=remove_address)
    set_subscriptions = strawberry.mutation(resolver=set_subscriptions)
    enroll_in_loyalty_program = strawberry.mutation(resolver=enroll_in_loyalty_program)
    set_customer_status = strawberry.mutation(resolver=set_customer_status)
    merge_customers = strawberry.mutation(
        resolver=merge_customers, description="Merge the victim into the survivor (admin)."
    )
    erase_customer = strawberry.mutation(resolver=erase_customer, description="GDPR erasure at every provider (admin).")
