"""The crosswalk store's contract: which provider records belong to which person.

The store is deliberately dumb: it keeps links and an identifier index and answers set lookups. Deciding
*what* to link (match rules, merges) is the identity layer's job.

- A **person** has an opaque id (``cus_…``). A person merged into another keeps resolving to the survivor.
- A **link** ties one provider record ``(provider, record_id)`` to exactly one person.
- The **identifier index** remembers which record carried which normalised identifier, so that a lookup the
  crosswalk has seen before needs no provider fan-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from customer_graph.domain.models import IdentifierKey, Provider


@dataclass(frozen=True, slots=True, order=True)
class RecordKey:
    provider: Provider
    record_id: str


class CrosswalkStore(Protocol):
    async def links(self, records: Sequence[RecordKey]) -> dict[RecordKey, str]:
        """The person of each record that is linked (unlinked records are absent)."""

    async def records_of(self, person_id: str) -> list[RecordKey]:
        """Every record linked to this person (after following merges), in a stable order."""

    async def resolve(self, person_id: str) -> str | None:
        """The live person id for this id (following merges), or None when unknown."""

    async def find_identifiers(self, keys: Sequence[IdentifierKey]) -> dict[IdentifierKey, list[RecordKey]]:
        """Records known to carry each identifier."""

    async def link(self, person_id: str | None, records: Sequence[RecordKey],
                   identifiers: Sequence[tuple[IdentifierKey, RecordKey]]) -> str:
        """Link records (not yet linked elsewhere) to ``person_id``, creating a person when None; index the
        identifiers. Returns the person id."""

    async def merge_persons(self, survivor_id: str, victim_id: str) -> None:
        """Move the victim's records to the survivor; the victim's id resolves to the survivor from now on."""

    async def replace_record(self, old: RecordKey, new: RecordKey) -> None:
        """A provider merged ``old`` into ``new`` (e.g. a Capillary victim): the person now holds ``new``."""

    async def close(self) -> None: ...
