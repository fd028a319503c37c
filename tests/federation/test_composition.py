"""customer-graph composed with a second subgraph under a real federation gateway (@apollo/gateway).

Three processes on loopback: ``customer-graph demo`` (the gateway and the four provider simulators), an
orders subgraph whose ``Order.customer`` only references ``Customer`` by id (``orders_subgraph.py``), and a
Node gateway composing both with ``IntrospectAndCompose`` (``gateway.mjs``), which counts what it sends to
each subgraph. One query for 50 orders with their customers' names and loyalty points must cost
customer-graph one ``_entities`` request, and its providers no more calls than the request's loaders need.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from customer_graph.simulators.dataset import DEFAULT_CUSTOMERS, DEFAULT_SEED, Person, generate
from tests.federation.conftest import API_KEY, AUTH, HERE, SIM_PREFIXES, Service, free_port, running

ORDERS = 50
PROVIDER_OF_PREFIX = {"capillary": "CAPILLARY", "martjack": "MARTJACK", "openloyalty": "OPEN_LOYALTY", "twc": "TWC"}
# Provider calls one record costs when a query asks for a name and loyalty points (facets PROFILE + LOYALTY).
# None of the four has a batch read by ids, so the loaders' floor is one read per distinct record, deduplicated
# across every field and every customer of the request:
#   CAPILLARY     GET /v2/customers/{id}?embed=points,mlp: profile and loyalty in one answer
#   MARTJACK      GET the customer: the profile (Martjack has no loyalty; addresses, a second call, not asked)
#   OPEN_LOYALTY  GET customer/{id} for the profile and GET admin/customer/{id}/status for the points
#   TWC           GET /api/v2/customers/{id}: the profile (TWC has no loyalty)
CALLS_PER_RECORD = {"CAPILLARY": 1, "MARTJACK": 1, "OPEN_LOYALTY": 2, "TWC": 1}
FIELDS = "displayName loyaltyPrograms { points }"
FEDERATED = "{ orders { id customer { %s } } }" % FIELDS


def findable_by_email(person: Person) -> bool:
    """Held, with this e-mail, by a provider that customer-graph can look e-mails up at."""
    return bool(person.capillary or person.twc or (person.openloyalty and person.openloyalty.view.email))


def post(url: str, query: str, variables: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, headers=AUTH, timeout=timeout)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body["errors"]
    return body


def aliased(root: str, arguments: str, selection: str, values: list[str], kind: str) -> tuple[str, dict[str, str]]:
    """One query asking ``root`` once per value, as ``c0``, ``c1``, ...: one request, one set of loaders."""
    declarations = ", ".join(f"$v{i}: {kind}" for i in range(len(values)))
    fields = " ".join(f"c{i}: {root}({arguments % f'$v{i}'}) {{ {selection} }}" for i in range(len(values)))
    return f"query({declarations}) {{ {fields} }}", {f"v{i}": value for i, value in enumerate(values)}


def provider_calls(customer_graph: Service) -> dict[str, int]:
    """Calls each simulated provider received since its last reset, token requests aside."""
    calls = {}
    for prefix in SIM_PREFIXES:
        stats = httpx.get(f"{customer_graph.base_url}/sim/{prefix}/__sim/stats", timeout=10).json()
        calls[PROVIDER_OF_PREFIX[prefix]] = sum(
            n for key, n in stats["calls"].items() if not any(word in key.lower() for word in ("token", "login_check"))
        )
    return calls


def reset_provider_stats(customer_graph: Service) -> None:
    for prefix in SIM_PREFIXES:
        httpx.post(f"{customer_graph.base_url}/sim/{prefix}/__sim/reset", timeout=10).raise_for_status()


def gateway_counts(gateway: Service) -> dict[str, Any]:
    counts: dict[str, Any] = httpx.get(f"{gateway.base_url}/counts", timeout=10).json()
    return counts


@pytest.fixture
def orders_subgraph(customer_ids: list[str], tmp_path: Path) -> Iterator[Service]:
    orders = [{"id": f"ord_{i + 1:03d}", "customerId": customer_id} for i, customer_id in enumerate(customer_ids)]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders))
    port = free_port()
    argv = [sys.executable, str(HERE / "orders_subgraph.py"), "--port", str(port), "--orders", str(path)]
    with running("orders", argv, port=port, ready="/healthz", logs=tmp_path) as service:
        yield service


@pytest.fixture
def customer_ids(customer_graph: Service) -> list[str]:
    """The person ids of 50 persons of the seeded dataset, found (and linked) by e-mail through customer-graph."""
    persons = [p for p in generate(DEFAULT_SEED, DEFAULT_CUSTOMERS).persons if findable_by_email(p)][:ORDERS]
    assert len(persons) == ORDERS
    query, variables = aliased(
        "customerByIdentifier", "type: EMAIL, value: %s", "id", [p.email for p in persons], "String!"
    )
    data = post(f"{customer_graph.base_url}/graphql", query, variables, timeout=120)["data"]
    missing = [p.email for i, p in enumerate(persons) if data[f"c{i}"] is None]
    assert not missing, f"customer-graph found nobody for {missing}"
    ids = [data[f"c{i}"]["id"] for i in range(ORDERS)]
    assert len(set(ids)) == ORDERS, "two of the persons resolved to one customer"
    return ids


@pytest.fixture
def gateway(node: str, customer_graph: Service, orders_subgraph: Service, tmp_path: Path) -> Iterator[Service]:
    port = free_port()
    argv = [
        node,
        str(HERE / "gateway.mjs"),
        "--port",
        str(port),
        "--subgraph",
        f"customer-graph={customer_graph.base_url}/graphql",
        "--subgraph",
        f"orders={orders_subgraph.base_url}/graphql",
    ]
    with running(
        "gateway", argv, port=port, ready="/healthz", logs=tmp_path, cwd=HERE, env={"SUBGRAPH_API_KEY": API_KEY}
    ) as service:
        yield service


def test_fifty_orders_with_their_customers_cost_one_entities_request_and_batched_provider_calls(
    customer_graph: Service, customer_ids: list[str], gateway: Service
) -> None:
    # What customer-graph answers directly for the same 50 customers, in one request, and what that costs.
    query, variables = aliased("customer", "id: %s", f"{FIELDS} records {{ provider recordId }}", customer_ids, "ID!")
    reset_provider_stats(customer_graph)
    direct = post(f"{customer_graph.base_url}/graphql", query, variables)["data"]
    direct_calls = provider_calls(customer_graph)
    expected = {
        customer_ids[i]: {
            "displayName": direct[f"c{i}"]["displayName"],
            "loyaltyPrograms": direct[f"c{i}"]["loyaltyPrograms"],
        }
        for i in range(ORDERS)
    }
    linked = {(r["provider"], r["recordId"]) for i in range(ORDERS) for r in direct[f"c{i}"]["records"]}
    distinct_records = Counter(provider for provider, _ in linked)
    most = {provider: CALLS_PER_RECORD[provider] * distinct_records[provider] for provider in CALLS_PER_RECORD}
    # The data is worth asserting only if it holds names and points from several providers.
    assert all(e["displayName"] for e in expected.values())
    assert sum(1 for e in expected.values() if e["loyaltyPrograms"]) >= ORDERS // 2
    assert all(distinct_records[p] > 0 for p in CALLS_PER_RECORD), distinct_records

    # The same 50 customers through the federation gateway, as 50 orders' customers.
    before = gateway_counts(gateway)
    reset_provider_stats(customer_graph)
    body = post(f"{gateway.base_url}/graphql", FEDERATED)
    federated_calls = provider_calls(customer_graph)
    after = gateway_counts(gateway)

    orders = body["data"]["orders"]
    assert [o["id"] for o in orders] == [f"ord_{i + 1:03d}" for i in range(ORDERS)]
    for order, customer_id in zip(orders, customer_ids, strict=True):
        assert order["customer"] == expected[customer_id], order["id"]

    sent = {
        name: {
            key: after["subgraphs"][name][key] - before["subgraphs"][name][key]
            for key in ("operations", "entities", "representations")
        }
        for name in after["subgraphs"]
    }
    plan = after["log"][len(before["log"]) :]
    # The query plan has two steps: fetch the orders, then every order's customer in one `_entities` fetch.
    assert sent["orders"] == {"operations": 1, "entities": 0, "representations": 0}, plan
    assert sent["customer-graph"] == {"operations": 1, "entities": 1, "representations": ORDERS}, plan

    # 50 references cost what one direct request for the same 50 customers costs, which is no more than one
    # read (two for Open Loyalty) per distinct linked record: the references share the request's loaders.
    assert federated_calls == direct_calls, (federated_calls, direct_calls)
    for provider, calls in federated_calls.items():
        assert calls <= most[provider], (provider, calls, most[provider], dict(distinct_records))
    print(
        f"\n{ORDERS} orders: customer-graph received {sent['customer-graph']}; records per provider "
        f"{dict(distinct_records)}; provider calls {federated_calls} (at most {most})"
    )
