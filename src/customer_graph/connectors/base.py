"""The ``Connector`` protocol: one provider, in domain terms.

A connector speaks its provider's dialect (wire models, mapper, auth, error rules) over the shared
:class:`~customer_graph.connectors.http.ProviderHttp` policy and offers the operations below in the unified
model. It never imports GraphQL, the server or the settings: it is configured by whoever builds it.

Contract for every connector:

- Batch reads (``get_records``, ``find_by_identifiers``) return one slot per key, **in key order**, holding
  the result or the :class:`ProviderError` for that key (``ProviderNotFound`` for a missing record,
  ``None`` for a lookup that found nobody). One key's failure never raises for the whole batch; a failure of
  the whole call (provider down) fills every slot with that error.
- Results are matched to keys by value, never by position in the provider's answer.
- ``facets`` says what the caller needs; a connector fetches no more than that needs (asking for
  ``LOYALTY`` must not fetch addresses where they cost a call of their own).
- A read of a merge victim resolves to its survivor: the record returned carries the survivor's
  ``record_id`` and ``requested_id`` set to the victim's id.
- Writes raise :class:`ProviderError` subclasses; an operation the provider cannot do raises
  ``ProviderUnsupported`` and is declared ``UNSUPPORTED`` in ``capabilities``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from customer_graph.connectors.errors import ProviderError, ProviderUnsupported
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


class Operation(StrEnum):
    # reads
    GET_RECORDS = "getRecords"
    FIND_BY_IDENTIFIER = "findByIdentifier"
    SEARCH = "search"
    ADDRESSES = "addresses"
    SUBSCRIPTIONS = "subscriptions"
    LOYALTY = "loyaltyPrograms"
    # writes (design.md, "Write semantics per provider")
    CREATE = "create"
    UPDATE_PROFILE = "updateProfile"
    ADD_IDENTIFIER = "addIdentifier"
    REMOVE_IDENTIFIER = "removeIdentifier"
    UPSERT_ADDRESS = "upsertAddress"
    REMOVE_ADDRESS = "removeAddress"
    SET_SUBSCRIPTIONS = "setSubscriptions"
    ENROLL_LOYALTY = "enrollInLoyaltyProgram"
    MERGE = "merge"
    SET_STATUS = "setStatus"
    ERASE = "erase"


class Support(StrEnum):
    NATIVE = "NATIVE"  # the provider has an endpoint for it
    EMULATED = "EMULATED"  # done with other endpoints (read-modify-write, deactivate instead of merge, ...)
    UNSUPPORTED = "UNSUPPORTED"


Capabilities = Mapping[Operation, Support]
RecordSlot = ProviderRecord | ProviderError
LookupSlot = ProviderRecord | None | ProviderError


@runtime_checkable
class Connector(Protocol):
    """One provider behind the unified model. See the module docstring for the contract."""

    provider: Provider
    capabilities: Capabilities
    # Identifier types ``find_by_identifiers`` can look up at this provider.
    lookup_types: frozenset[IdentifierType]
    # Facets that come with the record itself (no extra call): the loader layer asks ``get_records`` for them.
    record_facets: frozenset[Facet]
    # What ``create`` needs, checked before any call: each group names draft fields of which one must be set.
    create_requires: tuple[tuple[str, ...], ...]

    # -- reads --------------------------------------------------------------------------------------
    async def get_records(self, record_ids: Sequence[str], facets: frozenset[Facet]) -> list[RecordSlot]: ...

    async def find_by_identifiers(
        self, keys: Sequence[IdentifierKey], facets: frozenset[Facet]
    ) -> list[LookupSlot]: ...

    async def search(self, text: str, offset: int, limit: int) -> SearchPage: ...

    # -- writes -------------------------------------------------------------------------------------
    async def create(self, draft: CustomerDraft) -> WriteResult: ...

    async def update_profile(self, record_id: str, patch: ProfilePatch) -> WriteResult: ...

    async def add_identifier(self, record_id: str, identifier: Identifier) -> WriteResult: ...

    async def remove_identifier(self, record_id: str, identifier: Identifier) -> WriteResult: ...

    async def upsert_address(self, record_id: str, address: AddressInput) -> WriteResult: ...

    async def remove_address(self, record_id: str, address_id: str) -> WriteResult: ...

    async def set_subscriptions(self, record_id: str, subscriptions: Sequence[SubscriptionInput]) -> WriteResult: ...

    async def enroll_in_loyalty_program(self, record_id: str, program_id: str) -> WriteResult: ...

    async def merge(self, survivor_id: str, victim_id: str) -> MergeResult: ...

    async def set_status(self, record_id: str, active: bool) -> WriteResult: ...

    async def erase(self, record_id: str) -> WriteResult: ...

    async def aclose(self) -> None: ...


# Which read operation serves each facet (PROFILE comes with every record).
FACET_OPERATIONS = {
    Facet.ADDRESSES: Operation.ADDRESSES,
    Facet.SUBSCRIPTIONS: Operation.SUBSCRIPTIONS,
    Facet.LOYALTY: Operation.LOYALTY,
}


def supported_facets(connector: Connector) -> frozenset[Facet]:
    """The facets this connector can read at all; asking it for others would be asking for nothing."""
    return frozenset(
        f
        for f in Facet
        if f not in FACET_OPERATIONS
        or connector.capabilities.get(FACET_OPERATIONS[f], Support.UNSUPPORTED) is not Support.UNSUPPORTED
    )


K = TypeVar("K")
V = TypeVar("V")


async def per_key(keys: Sequence[K], answer: Callable[[K], Awaitable[V]]) -> list[V]:
    """For providers without batch reads: one concurrent call per distinct key (duplicates share it), the
    answers in key order."""
    distinct = list(dict.fromkeys(keys))
    answers = dict(zip(distinct, await asyncio.gather(*(answer(key) for key in distinct)), strict=True))
    return [answers[key] for key in keys]


def unsupported(provider: Provider, operation: Operation) -> ProviderError:
    """The error a connector raises for an operation its ``capabilities`` declare ``UNSUPPORTED``."""
    return ProviderUnsupported(provider, operation.value)
