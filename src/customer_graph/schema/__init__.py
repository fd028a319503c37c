"""The GraphQL schema: types, enums and errors (no I/O); resolvers live in ``customer_graph.resolvers``."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, ParserCache
from strawberry.schema.config import StrawberryConfig

from customer_graph.schema.errors import PartialErrors
from customer_graph.schema.limits import OperationGuard
from customer_graph.schema.mutation import Mutation
from customer_graph.schema.query import Query
from customer_graph.schema.types import Customer


def build_schema() -> strawberry.federation.Schema:
    """The schema, as an Apollo Federation v2 subgraph (``Customer @key(fields: "id")``)."""
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        types=[Customer],
        # OperationGuard first: it refuses oversized documents before they are parsed, and it validates (with a
        # cache) after its own cheaper checks, so it stands in for ValidationCache.
        extensions=[OperationGuard, lambda: ParserCache(maxsize=256), PartialErrors],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"


__all__ = ["MaskErrors", "build_schema", "schema", "sdl"]
