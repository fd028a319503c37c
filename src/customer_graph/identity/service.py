"""Identity resolution: from an identifier, a person id, or a page of search hits to persons and their
provider records, linking what is found in the crosswalk as it goes.

- A lookup the crosswalk knows is answered from it, with no provider fan-out.
- A lookup it does not know fans out to every provider that can answer it (and every translation the match
  rules allow), then follows the rules from what was found (a Capillary ``martjackId`` leads to the Martjack
  record, an e-mail to TWC, ...) until nothing new turns up; everything found is linked as one person.
- Every read goes through the request's loaders, with the facets the query needs, so that the records found
  while resolving are the same ones the fields are served from: no second call.
- A provider that fails while resolving is reported, and the rest of the answer stands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from customer_graph.connectors.base import LookupSlot, RecordSlot
from customer_graph.connectors.errors import ProviderError, ProviderNotFound
from customer_graph.domain.models import Facet, IdentifierKey, Provider, ProviderRecord
from customer_graph.identity.rules import MatchRules, Probe
from customer_graph.identity.survivorship import Survivorship
from customer_graph.loaders import RequestLoaders
from customer_graph.store.base import CrosswalkStore, RecordKey

MAX_ROUNDS = 3


@dataclass
class Resolution:
    person_id: str | None
    errors: list[ProviderError] = field(default_factory=list)


@dataclass
class PersonRecords:
    """A person's linked records, each with what its provider answered (a record or an error)."""

    person_id: str
    slots: list[tuple[RecordKey, RecordSlot]]

    @property
    def records(self) -> list[ProviderRecord]:
        return [slot for _, slot in self.slots if isinstance(slot, ProviderRecord)]

    def failures(self) -> list[tuple[RecordKey, ProviderError]]:
        return [
            (key, slot)
            for key, slot in self.slots
            if isinstance(slot, ProviderError) and not isinstance(slot, ProviderNotFound)
        ]


class IdentityService:
    def __init__(self, store: CrosswalkStore, rules: MatchRules, survivorship: Survivorship) -> None:
        self.store = store
        self.rules = rules
        self.survivorship = survivorship

    # -- lookups --------------------------------------------------------------------------------------

    async def find(self, loaders: RequestLoaders, key: IdentifierKey, facets: frozenset[Facet]) -> Resolution:
        known = (await self.store.find_identifiers([key])).get(key)
        if known:
            links = await self.store.links(known)
            if links:
                return Resolution(next(iter(sorted(links.values()))))
        records, errors = await self._closure(loaders, self.rules.probes_for_key(key), facets)
        if not records:
            return Resolution(None, errors)
        [person_id] = await self.link_groups([records])
        return Resolution(person_id, errors)

    async def find_by_record(self, loaders: RequestLoaders, record: RecordKey, facets: frozenset[Facet]) -> Resolution:
        """The person holding a provider record; an unknown record is read and linked like a lookup."""
        links = await self.store.links([record])
        if record in links:
            return Resolution(links[record])
        slot = await loaders.record(record.provider, record.record_id, facets)
        if isinstance(slot, ProviderNotFound):
            return Resolution(None)
        if isinstance(slot, ProviderError):
            return Resolution(None, [slot])
        if slot.record_id != record.record_id:  # a merge victim answered by its survivor
            links = await self.store.links([RecordKey(slot.provider, slot.record_id)])
            if links:
                return Resolution(next(iter(links.values())))
        probes = self.rules.probes_for_record(slot)
        records, errors = await self._closure(loaders, probes, facets, start=[slot])
        [person_id] = await self.link_groups([records])
        return Resolution(person_id, errors)

    async def _closure(
        self,
        loaders: RequestLoaders,
        probes: Sequence[Probe],
        facets: frozenset[Facet],
        start: Sequence[ProviderRecord] = (),
    ) -> tuple[list[ProviderRecord], list[ProviderError]]:
        found: dict[Provider, ProviderRecord] = {r.provider: r for r in start}
        errors: dict[Provider, ProviderError] = {}
        tried: set[Probe] = set()
        for _ in range(MAX_ROUNDS):
            fresh = [p for p in dict.fromkeys(probes) if p not in tried and p.provider not in found]
            if not fresh:
                break
            tried.update(fresh)
            slots = await asyncio.gather(*(self._probe(loaders, p, facets) for p in fresh))
            new: list[ProviderRecord] = []
            for probe, slot in zip(fresh, slots, strict=True):
                if isinstance(slot, ProviderNotFound) or slot is None:
                    continue
                if isinstance(slot, ProviderError):
                    errors.setdefault(probe.provider, slot)
                elif slot.provider not in found:  # one record per provider per person: the first probe wins
                    found[slot.provider] = slot
                    new.append(slot)
            probes = [q for record in new for q in self.rules.probes_for_record(record)]
        for provider in found:
            errors.pop(provider, None)  # another probe of the same provider answered
        return list(found.values()), list(errors.values())

    async def _probe(self, loaders: RequestLoaders, probe: Probe, facets: frozenset[Facet]) -> LookupSlot:
        if probe.record_id is not None:
            return await loaders.record(probe.provider, probe.record_id, facets)
        assert probe.key is not None
        return await loaders.lookup(probe.provider, probe.key, facets)

    # -- linking ----------------------------------------------------------------------------------------

    def group(self, records: Sequence[ProviderRecord]) -> list[list[ProviderRecord]]:
        """Split records into persons by the match rules (records sharing a rule value are one person)."""
        parent = list(range(len(records)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[tuple[str, str], int] = {}
        for index, record in enumerate(records):
            for token in self.rules.tokens(record):
                if token in owner:
                    parent[root(index)] = root(owner[token])
                else:
                    owner[token] = index
        groups: dict[int, list[ProviderRecord]] = {}
        for index, record in enumerate(records):
            groups.setdefault(root(index), []).append(record)
        return list(groups.values())

    async def link_groups(self, groups: Sequence[Sequence[ProviderRecord]]) -> list[str]:
        """Link each group of records as one person (joining a person that already holds any of them, or
        any of their identifiers); returns the person id of each group."""
        persons = []
        for records in groups:
            keys = [RecordKey(r.provider, r.record_id) for r in records]
            identifiers = [(ik, RecordKey(r.provider, r.record_id)) for r in records for ik in self.rules.keys_of(r)]
            links = await self.store.links(keys)
            person_id = next((links[k] for k in keys if k in links), None)
            if len(links) == len(keys) and len(set(links.values())) == 1:
                # Linked already (a page searched again): write nothing unless an identifier is new.
                known = await self.store.find_identifiers([ik for ik, _ in identifiers])
                if all(rk in known.get(ik, ()) for ik, rk in identifiers):
                    persons.append(links[keys[0]])
                    continue
            if person_id is None:
                known = await self.store.find_identifiers([ik for ik, _ in identifiers])
                holders = await self.store.links([k for ks in known.values() for k in ks])
                person_id = next(iter(sorted(holders.values())), None)
            unlinked = [k for k in keys if k not in links]
            persons.append(await self.store.link(person_id, unlinked, identifiers))
        return persons

    # -- a person's records -----------------------------------------------------------------------------

    async def records(
        self,
        loaders: RequestLoaders,
        person_id: str,
        facets: frozenset[Facet],
        providers: frozenset[Provider] | None = None,
    ) -> PersonRecords | None:
        """The person's records at ``providers`` (default: all), read with ``facets``."""
        live = await self.store.resolve(person_id)
        if live is None:
            return None
        keys = [k for k in await self.store.records_of(live) if providers is None or k.provider in providers]
        slots = await asyncio.gather(*(loaders.record(k.provider, k.record_id, facets) for k in keys))
        for key, slot in zip(keys, slots, strict=True):
            if isinstance(slot, ProviderRecord) and slot.record_id != key.record_id:
                # The provider merged this record into another (a Capillary victim): follow it for good.
                await self.store.replace_record(key, RecordKey(slot.provider, slot.record_id))
        return PersonRecords(live, list(zip(keys, slots, strict=True)))
