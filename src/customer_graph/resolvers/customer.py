"""Field resolvers of ``Customer``.

A customer is a person id plus the facets the query asked for. Its records are read through the request's
loaders (so every field of every customer in a response shares one batched read per provider), once per
customer, and only from the providers that can contribute to the field being resolved: asking for
``loyaltyPrograms`` never calls a provider that has no loyalty data.

Each field answers at once when what it reads is already loaded, and with an awaitable only when it is not
(so the fields are plain functions, typed ``Any``: the GraphQL type is the one declared on ``Customer``).
The root resolvers load it up front (:func:`prefetch`), so that a page of fifty customers costs GraphQL no
awaitable, task or gather per field: the same reads, done before the walk instead of during it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeAlias, TypeVar

from customer_graph.domain.models import (
    Facet,
    IdentifierType,
    Provider,
    ProviderRecord,
)
from customer_graph.identity.service import PersonRecords
from customer_graph.identity.survivorship import Profile
from customer_graph.schema.context import Info
from customer_graph.schema.errors import ProviderFieldError

T = TypeVar("T")
MaybeAwaitable: TypeAlias = T | Awaitable[T]

# Which facet's records each field reads (GraphQL names); the profile fields also need survivorship.
PROFILE_FIELDS = frozenset({"firstName", "lastName", "displayName", "birthDate", "gender", "status", "conflicts"})
FIELD_FACETS = {
    "identifiers": Facet.PROFILE,
    "records": Facet.PROFILE,
    "addresses": Facet.ADDRESSES,
    "subscriptions": Facet.SUBSCRIPTIONS,
    "loyaltyPrograms": Facet.LOYALTY,
    **dict.fromkeys(PROFILE_FIELDS, Facet.PROFILE),
}
_PENDING: Any = object()


class CustomerRoot(Protocol):
    person_id: str
    facets: frozenset[Facet]
    memo: dict[object, object]


async def reference(id: str, info: Info) -> Any:
    """The customer a federation reference names (a merged id resolves to the survivor), or None."""
    from customer_graph.resolvers.queries import customer

    return await customer(info, id)  # type: ignore[arg-type]


def _task(root: CustomerRoot, key: object, compute: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
    """Compute once per customer, even when sibling fields ask at the same time."""
    task = root.memo.get(key)
    if task is None:
        task = root.memo[key] = asyncio.ensure_future(compute())
    return task  # type: ignore[return-value]


def _done(root: CustomerRoot, key: object) -> Any:
    """What the memo holds for ``key`` if it is computed (and did not fail), else ``_PENDING``."""
    task = root.memo.get(key)
    if not isinstance(task, asyncio.Future) or not task.done() or task.cancelled() or task.exception():
        return _PENDING
    return task.result()


def _records_key(info: Info, facet: Facet) -> tuple[str, frozenset[Provider]]:
    return ("records", info.context.gateway.providers_for(facet))


def _records_task(root: CustomerRoot, info: Info, facet: Facet) -> asyncio.Future[PersonRecords]:
    key = _records_key(info, facet)
    gateway = info.context.gateway

    async def load() -> PersonRecords:
        found = await gateway.identity.records(info.context.loaders, root.person_id, root.facets, key[1])
        return found or PersonRecords(root.person_id, [])

    return _task(root, key, load)


async def person_records(root: CustomerRoot, info: Info, facet: Facet) -> PersonRecords:
    return await _records_task(root, info, facet)


def _profile_task(root: CustomerRoot, info: Info) -> asyncio.Future[Profile]:
    async def compute() -> Profile:
        records = await _records_task(root, info, Facet.PROFILE)
        return info.context.gateway.identity.survivorship.profile(records.records)

    return _task(root, "profile", compute)


async def profile(root: CustomerRoot, info: Info) -> Profile:
    return await _profile_task(root, info)


async def prefetch(customers: Sequence[CustomerRoot], info: Info, fields: Iterable[str]) -> None:
    """Load what the selected ``Customer`` fields (GraphQL names) read, for every customer, before GraphQL
    walks them: one read of each person's records at the providers those fields need (no other provider is
    asked), shared out to each field's provider set, and the survivors when a profile field is selected. A
    customer whose read fails is left to its fields, which load and raise as they would without this."""
    names = set(fields)
    gateway = info.context.gateway
    sets = {gateway.providers_for(FIELD_FACETS[name]) for name in names if name in FIELD_FACETS}
    if not sets:
        return
    union = frozenset().union(*sets)
    wants_profile = bool(names & PROFILE_FIELDS)
    profile_set = gateway.providers_for(Facet.PROFILE)
    loop = asyncio.get_running_loop()

    def settled(value: Any) -> asyncio.Future[Any]:
        future = loop.create_future()
        future.set_result(value)
        return future

    async def one(customer: CustomerRoot) -> None:
        found = await gateway.identity.records(info.context.loaders, customer.person_id, customer.facets, union)
        found = found or PersonRecords(customer.person_id, [])
        for providers in sets:
            share = PersonRecords(found.person_id, [(k, s) for k, s in found.slots if k.provider in providers])
            customer.memo.setdefault(("records", providers), settled(share))
        if wants_profile:
            task = customer.memo[("records", profile_set)]
            assert isinstance(task, asyncio.Future)
            profile_records: PersonRecords = task.result() if task.done() else await task
            customer.memo.setdefault("profile", settled(gateway.identity.survivorship.profile(profile_records.records)))

    await asyncio.gather(*(one(c) for c in customers), return_exceptions=True)


# -- profile fields ----------------------------------------------------------------------------------------


def _pick(found: Profile, records: PersonRecords, pick: Callable[[Profile], T]) -> T | None:
    value = pick(found)
    if value is None:
        failures = records.failures()
        if failures:  # nobody who answered has it, and someone who might have did not answer
            raise ProviderFieldError(failures[0][1])
    return value


async def _scalar_later(root: CustomerRoot, info: Info, pick: Callable[[Profile], T]) -> T | None:
    found = await profile(root, info)
    return _pick(found, await person_records(root, info, Facet.PROFILE), pick)


def _scalar(root: CustomerRoot, info: Info, pick: Callable[[Profile], T]) -> MaybeAwaitable[T | None]:
    found = _done(root, "profile")
    records = _done(root, _records_key(info, Facet.PROFILE))
    if found is _PENDING or records is _PENDING:
        return _scalar_later(root, info, pick)
    return _pick(found, records, pick)


def first_name(root: CustomerRoot, info: Info) -> Any:
    return _scalar(root, info, lambda p: p.first_name)


def last_name(root: CustomerRoot, info: Info) -> Any:
    return _scalar(root, info, lambda p: p.last_name)


def display_name(root: CustomerRoot, info: Info) -> Any:
    return _scalar(root, info, lambda p: p.display_name)


def birth_date(root: CustomerRoot, info: Info) -> Any:
    return _scalar(root, info, lambda p: p.birth_date)


def gender(root: CustomerRoot, info: Info) -> Any:
    return _scalar(root, info, lambda p: p.gender)


def status(root: CustomerRoot, info: Info) -> Any:
    return _scalar(root, info, lambda p: p.status)


async def _conflicts_later(root: CustomerRoot, info: Info) -> list[Any]:
    return list((await profile(root, info)).conflicts)


def conflicts(root: CustomerRoot, info: Info) -> Any:
    found = _done(root, "profile")
    return _conflicts_later(root, info) if found is _PENDING else list(found.conflicts)


# -- list fields -------------------------------------------------------------------------------------------

Items = Callable[[ProviderRecord], Sequence[object] | None]


def _listed(found: PersonRecords, items: Items) -> list[Any]:
    """Every record's items, in provider order, and one failed slot per provider that did not answer."""
    result: list[Any] = []
    for record in sorted(found.records, key=lambda r: _ORDER[r.provider]):
        result.extend(items(record) or ())
    result.extend(ProviderFieldError(error) for _, error in found.failures())
    return result


async def _items_later(root: CustomerRoot, info: Info, facet: Facet, items: Items) -> list[Any]:
    return _listed(await person_records(root, info, facet), items)


def _items(root: CustomerRoot, info: Info, facet: Facet, items: Items) -> MaybeAwaitable[list[Any]]:
    found = _done(root, _records_key(info, facet))
    return _items_later(root, info, facet, items) if found is _PENDING else _listed(found, items)


def identifiers(root: CustomerRoot, info: Info, types: list[IdentifierType] | None = None) -> Any:
    wanted = set(types) if types else None
    return _items(
        root,
        info,
        Facet.PROFILE,
        lambda r: r.identifiers if wanted is None else [i for i in r.identifiers if i.type in wanted],
    )


def addresses(root: CustomerRoot, info: Info) -> Any:
    return _items(root, info, Facet.ADDRESSES, lambda r: r.addresses)


def subscriptions(root: CustomerRoot, info: Info) -> Any:
    return _items(root, info, Facet.SUBSCRIPTIONS, lambda r: r.subscriptions)


def loyalty_programs(root: CustomerRoot, info: Info) -> Any:
    return _items(root, info, Facet.LOYALTY, lambda r: r.loyalty_programs)


def records(root: CustomerRoot, info: Info) -> Any:
    return _items(root, info, Facet.PROFILE, lambda r: [r])


_ORDER = {provider: index for index, provider in enumerate(Provider)}
