"""The ASGI apps the benchmark serves under uvicorn (``uvicorn --factory bench.apps:gateway``).

- :func:`gateway`: customer-graph itself, against the simulators at ``$BENCH_SIM_URL``.
- :func:`floor`: a bare Strawberry app that answers Q2 with the already-merged page held in memory
  (``$BENCH_FLOOR_DATA``, the gateway's own answer saved as JSON): what serving that result costs Strawberry
  when there is nothing to fetch, merge or link. Plain ``strawberry.asgi.GraphQL``, default settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

from customer_graph.domain.models import Channel, IdentifierType, Provider, SubscriptionKind, SubscriptionStatus

# Policy for every provider in the benchmark: no client-side rate limit (the simulator runs with none), and
# enough concurrent calls per provider that a page of 50 completes its hits in one round rather than two.
BENCH_POLICY: dict[str, object] = {"max_concurrency": 64}


def gateway() -> Starlette:
    from customer_graph.gateway import Gateway
    from customer_graph.server.app import create_app
    from customer_graph.server.demo import demo_settings
    from customer_graph.server.wiring import build_gateway

    settings = demo_settings(
        os.environ["BENCH_SIM_URL"],
        policies={name: dict(BENCH_POLICY) for name in ("capillary", "martjack", "openloyalty", "twc")},
    )

    async def factory() -> Gateway:
        return build_gateway(settings)

    return create_app(factory, graphiql=False)


# -- the floor -----------------------------------------------------------------------------------------------

ProviderEnum = strawberry.enum(Provider, name="Provider")
IdentifierTypeEnum = strawberry.enum(IdentifierType, name="IdentifierType")
ChannelEnum = strawberry.enum(Channel, name="Channel")
SubscriptionKindEnum = strawberry.enum(SubscriptionKind, name="SubscriptionKind")
SubscriptionStatusEnum = strawberry.enum(SubscriptionStatus, name="SubscriptionStatus")


@strawberry.type
class Identifier:
    type: IdentifierType
    value: str
    provider: Provider
    source: str | None = None


@strawberry.type
class Address:
    provider: Provider
    id: strawberry.ID | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    is_default: bool = False


@strawberry.type
class Subscription:
    provider: Provider
    channel: Channel
    kind: SubscriptionKind
    status: SubscriptionStatus


@strawberry.type
class LoyaltyProgram:
    provider: Provider
    name: str
    points: float
    tier: str | None = None
    next_tier: str | None = None


@strawberry.type
class CustomerRecord:
    provider: Provider
    record_id: strawberry.ID


@strawberry.type
class Customer:
    id: strawberry.ID
    display_name: str | None
    identifiers: list[Identifier | None]
    addresses: list[Address | None]
    subscriptions: list[Subscription | None]
    loyalty_programs: list[LoyaltyProgram | None]
    records: list[CustomerRecord | None]


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None


@strawberry.type
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    total_count: int | None


@dataclass
class _Page:
    connection: CustomerConnection | None = None


_PAGE = _Page()


@strawberry.type
class Query:
    @strawberry.field
    def customers(self, search: str, first: int | None = 20, after: str | None = None) -> CustomerConnection:
        assert _PAGE.connection is not None
        return _PAGE.connection


_ENUMS: dict[str, type[Enum]] = {
    "type": IdentifierType,
    "provider": Provider,
    "channel": Channel,
    "kind": SubscriptionKind,
    "status": SubscriptionStatus,
}
_FIELDS = {
    "displayName": "display_name",
    "loyaltyPrograms": "loyalty_programs",
    "recordId": "record_id",
    "isDefault": "is_default",
    "nextTier": "next_tier",
    "hasNextPage": "has_next_page",
    "pageInfo": "page_info",
    "totalCount": "total_count",
}


def _build(cls: type, data: dict[str, Any]) -> Any:
    values = {}
    for key, value in data.items():
        name = _FIELDS.get(key, key)
        if name in _ENUMS and isinstance(value, str):
            value = _ENUMS[name][value]
        values[name] = value
    return cls(**values)


def connection_from_json(data: dict[str, Any]) -> CustomerConnection:
    """The typed objects of a ``customers`` answer, built once (the floor serves them as they are)."""
    kinds = {
        "identifiers": Identifier,
        "addresses": Address,
        "subscriptions": Subscription,
        "loyaltyPrograms": LoyaltyProgram,
        "records": CustomerRecord,
    }
    edges = []
    for edge in data["edges"]:
        node = dict(edge["node"])
        for key, cls in kinds.items():
            node[key] = [None if item is None else _build(cls, item) for item in node.get(key, [])]
        node.setdefault("displayName", None)
        edges.append(CustomerEdge(cursor=edge.get("cursor", ""), node=_build(Customer, node)))
    return CustomerConnection(
        edges=edges, page_info=_build(PageInfo, data["pageInfo"]), total_count=data.get("totalCount")
    )


def floor() -> Starlette:
    _PAGE.connection = connection_from_json(orjson.loads(Path(os.environ["BENCH_FLOOR_DATA"]).read_bytes()))
    schema = strawberry.Schema(query=Query)
    return Starlette(routes=[Route("/graphql", GraphQL(schema, graphql_ide=None), methods=["GET", "POST"])])
