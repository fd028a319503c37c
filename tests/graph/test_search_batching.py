"""A page of search results costs no more provider calls than the providers' APIs force."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from customer_graph.domain.models import Provider
from tests.graph.conftest import Graph

PAGE = """{ customers(search: "%s", first: 20) {
  totalCount pageInfo { hasNextPage }
  edges { node { id identifiers { type value provider } addresses { city provider }
                 subscriptions { channel status provider } loyaltyPrograms { points provider }
                 records { provider recordId } } } } }"""

# The fewest calls each provider's API allows for a page with identifiers, addresses, subscriptions and
# loyalty, as a function of the number of records its search returned:
MINIMUM = {
    # Search answers names only, and there is no batch read: one GET (embed=points,subscriptions,mlp) per hit.
    Provider.CAPILLARY: lambda hits: 1 + hits,
    # Search answers whole customers; shipping addresses are one call per customer.
    Provider.MARTJACK: lambda hits: 1 + hits,
    # The list answers customers with address and consents; points and level are one status call per customer.
    Provider.OPEN_LOYALTY: lambda hits: 1 + hits,
    # No free-text search: one search by first name and one by last name, both answering whole customers.
    Provider.TWC: lambda hits: 2,
}


@pytest.mark.parametrize("text", ["Smith", "White", "Patel"])
async def test_a_page_with_every_facet_makes_the_minimum_calls(graph: Graph, text: str) -> None:
    body = await graph.query(PAGE % text)
    assert "errors" not in body, body.get("errors")
    edges = body["data"]["customers"]["edges"]
    assert edges and not body["data"]["customers"]["pageInfo"]["hasNextPage"]
    hits = Counter(r["provider"] for e in edges for r in e["node"]["records"])
    for provider, minimum in MINIMUM.items():
        assert await graph.calls(provider) == minimum(hits[provider.name]), (provider, await graph.stats(provider))


async def test_asking_only_for_names_does_not_read_addresses_or_loyalty(graph: Graph) -> None:
    body = await graph.query('{ customers(search: "Smith", first: 20) { edges { node { displayName } } } }')
    assert body["data"]["customers"]["edges"]
    for provider in (Provider.MARTJACK, Provider.OPEN_LOYALTY, Provider.TWC):
        stats = await graph.stats(provider)
        assert not any("ShippingAddress" in key or "status" in key or "{id}" in key for key in stats), stats


async def test_a_page_searched_again_writes_nothing_to_the_crosswalk(graph: Graph) -> None:
    store = graph.gateway.store
    writes = []
    link = store.link

    async def counted(*args: object, **kwargs: object) -> str:
        writes.append(args)
        return await link(*args, **kwargs)  # type: ignore[arg-type]

    store.link = counted  # type: ignore[method-assign]
    first = await graph.query(PAGE % "Smith")
    linked = len(writes)
    assert linked > 0
    again = await graph.query(PAGE % "Smith")
    assert again == first
    assert len(writes) == linked  # every group was linked already, identifiers included


async def test_every_provider_completes_its_hits_in_the_same_round(graph: Graph) -> None:
    latency = 0.25
    for provider in Provider:
        await graph.fault(provider, latency_ms=int(latency * 1000))
    started = time.perf_counter()
    body = await graph.query(PAGE % "Smith")
    elapsed = time.perf_counter() - started
    assert body["data"]["customers"]["edges"]
    # Token calls, the searches, then one round of completion reads for all providers at once (Capillary's
    # GETs, Martjack's addresses, Open Loyalty's status): not one round after another per provider.
    assert elapsed < 4 * latency, elapsed
