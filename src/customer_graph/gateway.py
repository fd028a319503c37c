"""The gateway's long-lived parts, built once at start-up and shared by every request.

Built by the server's lifespan (or a test) from the settings; resolvers reach it through the request
context. It owns the connectors (and so every provider client) and closes them on shutdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from customer_graph.connectors.base import Connector, supported_facets
from customer_graph.domain.models import Facet, Provider
from customer_graph.identity.service import IdentityService
from customer_graph.loaders import RequestLoaders
from customer_graph.store.base import Store
from customer_graph.writes.executor import WriteExecutor


@dataclass
class Gateway:
    connectors: Mapping[Provider, Connector]
    identity: IdentityService
    store: Store
    executor: WriteExecutor
    # Loyalty programs each provider is known to run (for validating enrolments without a call).
    programs: Mapping[Provider, frozenset[str]] = field(default_factory=dict)
    # Other long-lived resources (the Redis client replicas share), closed after the connectors and the store.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def providers_for(self, facet: Facet) -> frozenset[Provider]:
        """Providers that can contribute to a facet (asked by every field of every customer: computed once)."""
        return self._providers[facet]

    def loaders(self) -> RequestLoaders:
        return RequestLoaders(self.connectors, self._supported)

    def __post_init__(self) -> None:
        self._supported = {p: supported_facets(c) for p, c in self.connectors.items()}
        self._providers = {
            facet: frozenset(p for p, facets in self._supported.items() if facet in facets) for facet in Facet
        }

    async def aclose(self) -> None:
        for connector in self.connectors.values():
            await connector.aclose()
        await self.store.close()
        for close in self.closers:
            await close()
