"""Per-request loaders: one per provider x key kind x facet set, deduplicating and batching provider reads.

Created fresh for every request (a loader that outlived its request would serve stale data to the next one).
Each loader's batch goes to one connector call, which matches results to keys by value and answers every
key with a record, ``None`` (nobody found) or the ``ProviderError`` for that key. The loaders hand those
slots back as values: a provider failure is data here, for the layers above to place on the right field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiodataloader import DataLoader

from customer_graph.connectors.base import Connector, LookupSlot, RecordSlot, supported_facets
from customer_graph.connectors.errors import ProviderError
from customer_graph.domain.models import Facet, IdentifierKey, Provider, ProviderRecord


class _Slot:
    """Boxes a slot so that aiodataloader returns errors as values instead of raising them."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class RecordByIdLoader(DataLoader[str, "_Slot"]):
    def __init__(self, connector: Connector, facets: frozenset[Facet]) -> None:
        super().__init__()
        self.connector = connector
        self.facets = facets

    async def batch_load_fn(self, record_ids: Sequence[str]) -> list[_Slot]:
        try:
            slots = await self.connector.get_records(list(record_ids), self.facets)
        except ProviderError as exc:  # a connector should not raise for a batch, but one error is one answer
            return [_Slot(exc) for _ in record_ids]
        return [_Slot(slot) for slot in slots]


class RecordByIdentifierLoader(DataLoader[IdentifierKey, "_Slot"]):
    def __init__(self, connector: Connector, facets: frozenset[Facet]) -> None:
        super().__init__()
        self.connector = connector
        self.facets = facets

    async def batch_load_fn(self, keys: Sequence[IdentifierKey]) -> list[_Slot]:
        try:
            slots = await self.connector.find_by_identifiers(list(keys), self.facets)
        except ProviderError as exc:
            return [_Slot(exc) for _ in keys]
        return [_Slot(slot) for slot in slots]


class RequestLoaders:
    """The loaders of one request, made on first use.

    Facets a provider cannot serve at all are dropped from its keys, so that asking a provider without loyalty
    data for ``{PROFILE, LOYALTY}`` shares the loader (and the cache) of ``{PROFILE}``.
    """

    def __init__(
        self, connectors: Mapping[Provider, Connector], supported: Mapping[Provider, frozenset[Facet]] | None = None
    ) -> None:
        self.connectors = connectors
        self.supported = supported or {p: supported_facets(c) for p, c in connectors.items()}
        self._by_id: dict[tuple[Provider, frozenset[Facet]], RecordByIdLoader] = {}
        self._by_identifier: dict[tuple[Provider, frozenset[Facet]], RecordByIdentifierLoader] = {}
        # Loads ask with the query's facets, many times per request: remembered as asked, so that the usual
        # case is one dict lookup instead of a set intersection and a hash of the new set.
        self._id_asked: dict[tuple[Provider, frozenset[Facet]], RecordByIdLoader] = {}

    def _id_loader(self, provider: Provider, facets: frozenset[Facet]) -> RecordByIdLoader:
        asked = (provider, facets)
        loader = self._id_asked.get(asked)
        if loader is None:
            served = facets & self.supported[provider]
            loader = self._by_id.get((provider, served))
            if loader is None:
                loader = self._by_id[(provider, served)] = RecordByIdLoader(self.connectors[provider], served)
            self._id_asked[asked] = loader
        return loader

    def _identifier_loader(self, provider: Provider, facets: frozenset[Facet]) -> RecordByIdentifierLoader:
        facets = facets & self.supported[provider]
        loader = self._by_identifier.get((provider, facets))
        if loader is None:
            loader = RecordByIdentifierLoader(self.connectors[provider], facets)
            self._by_identifier[(provider, facets)] = loader
        return loader

    async def record(self, provider: Provider, record_id: str, facets: frozenset[Facet]) -> RecordSlot:
        slot: _Slot = await self._id_loader(provider, facets).load(record_id)
        value: RecordSlot = slot.value
        return value

    async def lookup(self, provider: Provider, key: IdentifierKey, facets: frozenset[Facet]) -> LookupSlot:
        slot: _Slot = await self._identifier_loader(provider, facets).load(key)
        value: LookupSlot = slot.value
        if isinstance(value, ProviderRecord):
            self.prime(value, facets)  # the fields of the person found are served from it, not read again
        return value

    def prime(self, record: ProviderRecord, facets: frozenset[Facet], *, force: bool = False) -> None:
        """Make a record already in hand (a search hit, a lookup result) answer later loads of its id.
        ``force`` primes even where the record lacks a facet (a stored answer being replayed as it was)."""
        if force or facets & self.supported[record.provider] <= record.facets:
            self._id_loader(record.provider, facets).prime(record.record_id, _Slot(record))
