"""Field resolvers of ``Customer``.

A customer is a person id plus the facets the query asked for. Its records are read through the request's
loaders (so every field of every customer in a response shares one batched read per provider), once per
customer, and only from the providers that can contribute to the field being resolved: asking for
``loyaltyPrograms`` never calls a provider that has no loyalty data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar

from customer_graph.domain.models import (
    CustomerStatus,
    Facet,
    Gender,
    IdentifierType,
    Provider,
    ProviderRecord,
)
from customer_graph.identity.service import PersonRecords
from customer_graph.identity.survivorship import Profile
from customer_graph.schema.context import Info
from customer_graph.schema.errors import ProviderFieldError

T = TypeVar("T")


class CustomerRoot(Protocol):
    person_id: str
    facets: frozenset[Facet]
    memo: dict[object, object]


async def reference(id: str, info: Info) -> Any:
    """The customer a federation reference names (a merged id resolves to the survivor), or None."""
    from customer_graph.resolvers.queries import customer

    return await customer(info, id)  # type: ignore[arg-type]


async def _memo(root: CustomerRoot, key: object, compute: Callable[[], Any]) -> Any:
    """Compute once per customer, even when sibling fields ask at the same time."""
    task = root.memo.get(key)
    if task is None:
        task = root.memo[key] = asyncio.ensure_future(compute())
    return await task  # type: ignore[misc]


async def person_records(root: CustomerRoot, info: Info, facet: Facet) -> PersonRecords:
    gateway = info.context.gateway
    providers = gateway.providers_for(facet)

    async def load() -> PersonRecords:
        found = await gateway.identity.records(info.context.loaders, root.person_id, root.facets, providers)
        return found or PersonRecords(root.person_id, [])

    result: PersonRecords = await _memo(root, ("records", providers), load)
    return result


async def profile(root: CustomerRoot, info: Info) -> Profile:
    async def compute() -> Profile:
        records = await person_records(root, info, Facet.PROFILE)
        return info.context.gateway.identity.survivorship.profile(records.records)

    result: Profile = await _memo(root, "profile", compute)
    return result


async def _scalar(root: CustomerRoot, info: Info, pick: Callable[[Profile], T]) -> T | None:
    value = pick(await profile(root, info))
    if value is None:
        failures = (await person_records(root, info, Facet.PROFILE)).failures()
        if failures:  # nobody who answered has it, and someone who might have did not answer
            raise ProviderFieldError(failures[0][1])
    return value


async def first_name(root: CustomerRoot, info: Info) -> str | None:
    return await _scalar(root, info, lambda p: p.first_name)


async def last_name(root: CustomerRoot, info: Info) -> str | None:
    return await _scalar(root, info, lambda p: p.last_name)


async def display_name(root: CustomerRoot, info: Info) -> str | None:
    return await _scalar(root, info, lambda p: p.display_name)


async def birth_date(root: CustomerRoot, info: Info) -> date | None:
    return await _scalar(root, info, lambda p: p.birth_date)


async def gender(root: CustomerRoot, info: Info) -> Gender | None:
    return await _scalar(root, info, lambda p: p.gender)


async def status(root: CustomerRoot, info: Info) -> CustomerStatus | None:
    return await _scalar(root, info, lambda p: p.status)


async def conflicts(root: CustomerRoot, info: Info) -> list[Any]:
    return list((await profile(root, info)).conflicts)


async def _items(root: CustomerRoot, info: Info, facet: Facet,
                 items: Callable[[ProviderRecord], Sequence[object] | None]) -> list[Any]:
    """Every record's items, in provider order, and one failed slot per provider that did not answer."""
    found = await person_records(root, info, facet)
    result: list[Any] = []
    for record in sorted(found.records, key=lambda r: _ORDER[r.provider]):
        result.extend(items(record) or ())
    result.extend(ProviderFieldError(error) for _, error in found.failures())
    return result


async def identifiers(root: CustomerRoot, info: Info, types: list[IdentifierType] | None = None) -> list[Any]:
    wanted = set(types) if types else None
    return await _items(root, info, Facet.PROFILE,
                        lambda r: [i for i in r.identifiers if wanted is None or i.type in wanted])


async def addresses(root: CustomerRoot, info: Info) -> list[Any]:
    return await _items(root, info, Facet.ADDRESSES, lambda r: r.addresses)


async def subscriptions(root: CustomerRoot, info: Info) -> list[Any]:
    return await _items(root, info, Facet.SUBSCRIPTIONS, lambda r: r.subscriptions)


async def loyalty_programs(root: CustomerRoot, info: Info) -> list[Any]:
    return await _items(root, info, Facet.LOYALTY, lambda r: r.loyalty_programs)


async def records(root: CustomerRoot, info: Info) -> list[Any]:
    return await _items(root, info, Facet.PROFILE, lambda r: [r])


_ORDER = {provider: index for index, provider in enumerate(Provider)}
