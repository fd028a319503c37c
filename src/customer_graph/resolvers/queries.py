"""Root query resolvers: find persons (by id, identifier, provider record or search) and describe providers."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterable

import orjson
import strawberry
from graphql import GraphQLError
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from customer_graph.connectors.base import Operation, Support
from customer_graph.connectors.errors import ProviderError
from customer_graph.connectors.http import CircuitState
from customer_graph.domain.models import Facet, IdentifierKey, IdentifierType, Provider, ProviderRecord, SearchPage
from customer_graph.domain.normalise import InvalidIdentifier, normalise_identifier
from customer_graph.identity.survivorship import DEFAULT_ORDER
from customer_graph.resolvers import customer as fields
from customer_graph.schema.context import Info
from customer_graph.schema.types import (
    Capability,
    Customer,
    CustomerConnection,
    CustomerEdge,
    PageInfo,
    ProviderHealth,
    ProviderInfo,
)
from customer_graph.store.base import RecordKey

MAX_PAGE = 100
# Which selected field needs which facet; every customer read includes PROFILE (identity needs identifiers).
_FIELD_FACETS = {"addresses": Facet.ADDRESSES, "subscriptions": Facet.SUBSCRIPTIONS, "loyaltyPrograms": Facet.LOYALTY}
_HEALTH = {
    CircuitState.CLOSED: ProviderHealth.UP,
    CircuitState.HALF_OPEN: ProviderHealth.DEGRADED,
    CircuitState.OPEN: ProviderHealth.DOWN,
}


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


Selections = Iterable[SelectedField | FragmentSpread | InlineFragment]


def selected_facets(info: Info, selection: Selections | None = None) -> frozenset[Facet]:
    """The facets the current root field's selection needs, read from the query itself."""
    facets = {Facet.PROFILE}

    def walk(selections: Selections) -> None:
        for item in selections:
            if isinstance(item, SelectedField) and item.name in _FIELD_FACETS:
                facets.add(_FIELD_FACETS[item.name])
            walk(item.selections)

    walk(info.selected_fields if selection is None else selection)
    return frozenset(facets)


def _fields(selections: Selections) -> list[SelectedField]:
    """The fields of one selection set, with those of its fragments."""
    found: list[SelectedField] = []
    for item in selections:
        if isinstance(item, SelectedField):
            found.append(item)
        else:
            found.extend(_fields(item.selections))
    return found


def customer_fields(selection: Selections, *path: str) -> set[str]:
    """The names of the fields selected on the customers the root field answers: its own selection, or the
    one at ``path`` below it (``"edges", "node"`` for a connection)."""
    level = [child for root in _fields(selection) for child in _fields(root.selections)]
    for name in path:
        level = [child for item in level if item.name == name for child in _fields(item.selections)]
    return {item.name for item in level}


async def _answer(
    info: Info, selection: Selections, person_id: str | None, facets: frozenset[Facet]
) -> Customer | None:
    """The customer, with what its selected fields read already loaded."""
    if person_id is None:
        return None
    found = Customer.of(person_id, facets)
    await fields.prefetch([found], info, customer_fields(selection))
    return found


def _report(info: Info, errors: Iterable[ProviderError]) -> None:
    info.context.root_errors.extend((info.path.key, error) for error in errors)  # type: ignore[misc]


async def customer(info: Info, id: strawberry.ID) -> Customer | None:
    live = await info.context.gateway.store.resolve(id)
    selection = info.selected_fields
    return await _answer(info, selection, live, selected_facets(info, selection))


async def customer_by_identifier(info: Info, type: IdentifierType, value: str) -> Customer | None:
    try:
        normalised = normalise_identifier(type, value)
    except InvalidIdentifier as exc:
        raise bad_input(str(exc)) from None
    selection = info.selected_fields
    facets = selected_facets(info, selection)
    found = await info.context.gateway.identity.find(info.context.loaders, IdentifierKey(type, normalised), facets)
    _report(info, found.errors)
    return await _answer(info, selection, found.person_id, facets)


async def customer_by_record(info: Info, provider: Provider, record_id: strawberry.ID) -> Customer | None:
    selection = info.selected_fields
    facets = selected_facets(info, selection)
    found = await info.context.gateway.identity.find_by_record(
        info.context.loaders, RecordKey(provider, record_id), facets
    )
    _report(info, found.errors)
    return await _answer(info, selection, found.person_id, facets)


async def node(info: Info, id: strawberry.ID) -> Customer | None:
    return await customer(info, id) if id.startswith("cus_") else None


async def customers(info: Info, search: str, first: int | None = 20, after: str | None = None) -> CustomerConnection:
    first = 20 if first is None else first
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first must be between 1 and {MAX_PAGE}")
    text = search.strip()
    if not text:
        raise bad_input("search must not be empty")
    gateway = info.context.gateway
    offsets = _decode_cursor(after)
    selection = info.selected_fields
    facets = selected_facets(info, selection)
    providers = [
        p
        for p in DEFAULT_ORDER
        if p in gateway.connectors and gateway.connectors[p].capabilities[Operation.SEARCH] is not Support.UNSUPPORTED
    ]
    answers = await asyncio.gather(
        *(gateway.connectors[p].search(text, offsets.get(p.value, 0), first) for p in providers), return_exceptions=True
    )
    pages: dict[Provider, SearchPage] = {}
    for provider, answer in zip(providers, answers, strict=True):
        if isinstance(answer, ProviderError):
            _report(info, [answer])
        elif isinstance(answer, BaseException):
            raise answer
        else:
            pages[provider] = answer
    hits = await _complete(info, pages, facets)
    # Interleave the providers rank by rank, so that each page draws fairly from all of them.
    ranked = [(rank, provider, record) for provider, records in hits.items() for rank, record in enumerate(records)]
    ranked.sort(key=lambda item: (item[0], providers.index(item[1])))
    groups = gateway.identity.group([record for _, _, record in ranked])
    persons = await gateway.identity.link_groups(groups)
    person_of = {
        (r.provider, r.record_id): person for group, person in zip(groups, persons, strict=True) for r in group
    }
    taken: list[str] = []
    consumed = {p.value: 0 for p in pages}
    for _, provider, record in ranked:
        person = person_of[(provider, record.record_id)]
        if person not in taken:
            if len(taken) == first:
                break
            taken.append(person)
        consumed[provider.value] += 1
    next_offsets = {p: offsets.get(p, 0) + n for p, n in consumed.items()}
    has_next = any(_more(pages[Provider(p)], consumed[p]) for p in consumed)
    end_cursor = _encode_cursor(next_offsets)
    edges = [CustomerEdge(cursor=end_cursor, node=Customer.of(person, facets)) for person in taken]
    await fields.prefetch([edge.node for edge in edges], info, customer_fields(selection, "edges", "node"))
    totals = [page.total for page in pages.values()]
    return CustomerConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=bool(after),
            start_cursor=after,
            end_cursor=end_cursor if edges else None,
        ),
        total_count=None if any(t is None for t in totals) else sum(t for t in totals if t is not None),
    )


async def _complete(
    info: Info, pages: dict[Provider, SearchPage], facets: frozenset[Facet]
) -> dict[Provider, list[ProviderRecord]]:
    """Search hits with the facets the query needs. A hit keeps what it carries; only the facets it lacks are
    read (one call where the provider needs one, e.g. Open Loyalty's status for LOYALTY), and the completed
    record is primed into the loaders so that the fields are served without another call."""
    loaders = info.context.loaders

    async def complete(record: ProviderRecord) -> ProviderRecord | ProviderError:
        missing = (facets & loaders.supported[record.provider]) - record.facets
        if missing:
            extra = await loaders.record(record.provider, record.record_id, missing)
            if not isinstance(extra, ProviderRecord):
                return extra
            record = record.completed_by(extra) if record.facets else extra
        loaders.prime(record, facets)
        return record

    # Every provider's hits at once: one round of completion calls for the page, not one round per provider.
    answers = await asyncio.gather(*(asyncio.gather(*(complete(r) for r in page.records)) for page in pages.values()))
    completed: dict[Provider, list[ProviderRecord]] = {}
    for provider, slots in zip(pages, answers, strict=True):
        completed[provider] = [s for s in slots if isinstance(s, ProviderRecord)]
        _report(info, [s for s in slots if isinstance(s, ProviderError)][:1])
    return completed


def _more(page: SearchPage, consumed: int) -> bool:
    if consumed < len(page.records):
        return True
    if page.total is not None:
        return page.offset + consumed < page.total
    return len(page.records) == page.limit


def _encode_cursor(offsets: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(offsets, option=orjson.OPT_SORT_KEYS)).decode()


def _decode_cursor(cursor: str | None) -> dict[str, int]:
    if not cursor:
        return {}
    try:
        offsets = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise bad_input("after is not a cursor this API returned") from None
    if not isinstance(offsets, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in offsets.items()
    ):
        raise bad_input("after is not a cursor this API returned")
    return offsets


def providers(info: Info) -> list[ProviderInfo]:
    result = []
    for provider, connector in info.context.gateway.connectors.items():
        state = getattr(getattr(connector, "http", None), "breaker", None)
        circuit = state.state if state is not None else CircuitState.CLOSED
        result.append(
            ProviderInfo(
                name=provider,
                health=_HEALTH[circuit],
                circuit_state=circuit,
                capabilities=[Capability(operation=op, support=connector.capabilities[op]) for op in Operation],
            )
        )
    return result
