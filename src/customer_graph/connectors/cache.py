"""A short-lived cache of provider record reads, shared by replicas: :class:`CachingConnector`.

It wraps a connector and answers ``get_records`` from a :class:`RecordCache` (Redis, in
``store/redis.py``) for a few seconds, asking the provider only for the records it does not hold. It keeps
reads of the same customer from costing a provider call each when many requests (or replicas) ask at once.

- Only successful reads are kept, per record and per set of facets asked; a failure or a not-found is never
  cached, so a provider that recovers is seen at once.
- Every write through the connector drops what is cached of the records it touched, after the call
  (whatever its outcome), so a mutation reads back what it wrote. A write made elsewhere (another system,
  the provider's own console) is seen when the entry expires: keep ``ttl`` short.
- A cache that fails is a miss (and ``on_error`` is told): the provider is asked, as without a cache.
- Cached records hold customer data; the cache keys do not (the record id is hashed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

import orjson

from customer_graph.connectors.base import Capabilities, Connector, LookupSlot, RecordSlot
from customer_graph.domain import codec
from customer_graph.domain.models import (
    AddressInput,
    CustomerDraft,
    Facet,
    Identifier,
    IdentifierKey,
    IdentifierType,
    MergeResult,
    ProfilePatch,
    Provider,
    ProviderRecord,
    SearchPage,
    SubscriptionInput,
    WriteResult,
)


class CacheUnavailable(Exception):
    """The cache could not answer (its server is down, timed out): the caller goes on without it."""


class RecordCache(Protocol):
    """Bytes under (record key, variant), dropped a record at a time; failures raise ``CacheUnavailable``."""

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[bytes | None]: ...

    async def put_many(self, items: Sequence[tuple[str, str, bytes]], ttl_seconds: float) -> None: ...

    async def drop(self, records: Sequence[str]) -> None: ...


class CachingConnector:
    def __init__(
        self,
        inner: Connector,
        cache: RecordCache,
        ttl_seconds: float,
        *,
        on_lookup: Callable[[bool], None] = lambda hit: None,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.ttl_seconds = ttl_seconds
        self._on_lookup = on_lookup
        self._on_error = on_error
        # What the rest of the gateway reads off a connector: the wrapped one's.
        self.provider: Provider = inner.provider
        self.capabilities: Capabilities = inner.capabilities
        self.lookup_types: frozenset[IdentifierType] = inner.lookup_types
        self.record_facets: frozenset[Facet] = inner.record_facets
        self.create_requires: tuple[tuple[str, ...], ...] = inner.create_requires

    def __getattr__(self, name: str) -> object:  # e.g. ``http`` (the readiness probe reads its breaker)
        return getattr(self.inner, name)

    def _record_key(self, record_id: str) -> str:
        return f"{self.inner.provider.name}:{hashlib.sha256(record_id.encode()).hexdigest()[:32]}"

    # -- reads ------------------------------------------------------------------------------------------

    async def get_records(self, record_ids: Sequence[str], facets: frozenset[Facet]) -> list[RecordSlot]:
        variant = ",".join(sorted(f.value for f in facets))
        keys = [(self._record_key(record_id), variant) for record_id in record_ids]
        try:
            cached = await self.cache.get_many(keys)
        except CacheUnavailable:  # a miss, never a failed read
            self._on_error()
            cached = [None] * len(keys)
        slots: list[RecordSlot | None] = []
        for blob in cached:
            record = None
            if blob is not None:
                record = codec.decode(ProviderRecord, orjson.loads(blob))
            self._on_lookup(record is not None)
            slots.append(record)
        missing = [i for i, slot in enumerate(slots) if slot is None]
        if missing:
            fetched = await self.inner.get_records([record_ids[i] for i in missing], facets)
            fresh: list[tuple[str, str, bytes]] = []
            for i, slot in zip(missing, fetched, strict=True):
                slots[i] = slot
                if isinstance(slot, ProviderRecord):
                    fresh.append((*keys[i], orjson.dumps(codec.encode(slot))))
            if fresh:
                try:
                    await self.cache.put_many(fresh, self.ttl_seconds)
                except CacheUnavailable:
                    self._on_error()
        return [slot for slot in slots if slot is not None]

    async def find_by_identifiers(self, keys: Sequence[IdentifierKey], facets: frozenset[Facet]) -> list[LookupSlot]:
        return await self.inner.find_by_identifiers(keys, facets)

    async def search(self, text: str, offset: int, limit: int) -> SearchPage:
        return await self.inner.search(text, offset, limit)

    # -- writes: each drops what is cached of the records it touches -------------------------------------

    async def _forget(self, *record_ids: str) -> None:
        try:
            await self.cache.drop([self._record_key(record_id) for record_id in record_ids])
        except CacheUnavailable:
            self._on_error()

    async def create(self, draft: CustomerDraft) -> WriteResult:
        return await self.inner.create(draft)

    async def update_profile(self, record_id: str, patch: ProfilePatch) -> WriteResult:
        try:
            return await self.inner.update_profile(record_id, patch)
        finally:
            await self._forget(record_id)

    async def add_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        try:
            return await self.inner.add_identifier(record_id, identifier)
        finally:
            await self._forget(record_id)

    async def remove_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        try:
            return await self.inner.remove_identifier(record_id, identifier)
        finally:
            await self._forget(record_id)

    async def upsert_address(self, record_id: str, address: AddressInput) -> WriteResult:
        try:
            return await self.inner.upsert_address(record_id, address)
        finally:
            await self._forget(record_id)

    async def remove_address(self, record_id: str, address_id: str) -> WriteResult:
        try:
            return await self.inner.remove_address(record_id, address_id)
        finally:
            await self._forget(record_id)

    async def set_subscriptions(self, record_id: str, subscriptions: Sequence[SubscriptionInput]) -> WriteResult:
        try:
            return await self.inner.set_subscriptions(record_id, subscriptions)
        finally:
            await self._forget(record_id)

    async def enroll_in_loyalty_program(self, record_id: str, program_id: str) -> WriteResult:
        try:
            return await self.inner.enroll_in_loyalty_program(record_id, program_id)
        finally:
            await self._forget(record_id)

    async def merge(self, survivor_id: str, victim_id: str) -> MergeResult:
        try:
            return await self.inner.merge(survivor_id, victim_id)
        finally:
            await self._forget(survivor_id, victim_id)

    async def set_status(self, record_id: str, active: bool) -> WriteResult:
        try:
            return await self.inner.set_status(record_id, active)
        finally:
            await self._forget(record_id)

    async def erase(self, record_id: str) -> WriteResult:
        try:
            return await self.inner.erase(record_id)
        finally:
            await self._forget(record_id)

    async def aclose(self) -> None:
        await self.inner.aclose()
