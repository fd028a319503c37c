"""The second subgraph of the composition test: an orders service that owns ``Order`` and only references
``Customer`` by id, the way a team that owns orders would. It cannot resolve a customer itself
(``@key(fields: "id", resolvable: false)``), so the gateway must ask customer-graph for every customer field.

    python tests/federation/orders_subgraph.py --port 4001 --orders orders.json

``orders.json`` is a list of ``{"id": ..., "customerId": ...}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Customer:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID
    customer: Customer


def build_schema(orders: list[dict[str, str]]) -> strawberry.federation.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def orders(self) -> list[Order]:
            return [
                Order(id=strawberry.ID(o["id"]), customer=Customer(id=strawberry.ID(o["customerId"]))) for o in orders
            ]

    return strawberry.federation.Schema(query=Query)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(orders: list[dict[str, str]]) -> Starlette:
    return Starlette(
        routes=[Route("/graphql", GraphQL(build_schema(orders)), methods=["GET", "POST"]), Route("/healthz", healthz)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--orders", type=Path, required=True)
    args = parser.parse_args()
    orders = json.loads(args.orders.read_text())
    uvicorn.run(create_app(orders), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
